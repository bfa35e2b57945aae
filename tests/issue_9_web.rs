//! Issue 9: the citizen page, the embeddable widget and the référent
//! console in a real browser — Debian's chromium driven by Playwright
//! (`tests/web/e2e.mjs`) against `guichet serve` on 127.0.0.1 with the real
//! models. Screenshots land in `target/web-artifacts/`.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{free_port, service_kb, token, Server};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Installs the pinned npm packages (`tests/web/package-lock.json`) once.
fn npm_ci() {
    let web = root().join("tests/web");
    if web
        .join("node_modules/playwright-core/package.json")
        .exists()
        && web.join("node_modules/axe-core/axe.min.js").exists()
    {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&web)
        .output()
        .expect("npm is needed for the browser tests (Debian: apt install npm)");
    assert!(
        out.status.success(),
        "npm ci failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn citizens_and_referents_use_the_pages_in_a_real_browser() {
    npm_ci();
    let embed_port = free_port();
    let origins = format!("[\"http://127.0.0.1:{embed_port}\"]");
    let server = Server::start(
        &service_kb(),
        &[
            ("GUICHET_WIDGET_EMBED_ORIGINS", origins.as_str()),
            ("GUICHET_LIMITS_RATE_PER_MINUTE", "0"),
        ],
    );
    let t = token(&server, "alice", "referent");
    let admin = token(&server, "dgs", "admin");
    let artifacts = root().join("target/web-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    let out = Command::new("node")
        .arg(root().join("tests/web/e2e.mjs"))
        .current_dir(root())
        .env("GUICHET_URL", &server.url)
        .env("GUICHET_TOKEN", &t)
        .env("GUICHET_ADMIN_TOKEN", &admin)
        .env("GUICHET_EMBED_PORT", embed_port.to_string())
        .env("GUICHET_ARTIFACTS", &artifacts)
        .output()
        .expect("run node tests/web/e2e.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser tests failed:\n{stdout}\n{stderr}"
    );
    let shots: Vec<_> = std::fs::read_dir(&artifacts)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
        .collect();
    assert!(shots.len() >= 4, "screenshots: {}", shots.len());
}
