//! Issue 6: self-hosting with containers. `docker/compose.yml` is valid for
//! the compose CLI (`docker compose config` needs no Docker engine; CI
//! installs the plugin with `.ci/install-compose`), and `docker/Dockerfile`
//! runs the same build and serve commands as the README.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `docker compose ARGS`, or `docker-compose ARGS` where the v2 plugin
/// is missing, in the repository root.
fn compose(args: &[&str]) -> Output {
    let plugin = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let mut cmd = if plugin {
        let mut c = Command::new("docker");
        c.arg("compose");
        c
    } else {
        Command::new("docker-compose")
    };
    cmd.args(args)
        .current_dir(root())
        .output()
        .expect("run `docker compose` or `docker-compose` (.ci/install-compose installs it)")
}

#[test]
fn compose_file_is_valid() {
    let out = compose(&["-f", "docker/compose.yml", "config"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for want in [
        "  guichet:",
        "/readyz",
        "guichet-data",
        "guichet-models",
        "/var/lib/guichet/data",
        "/var/lib/guichet/models",
        "/etc/guichet/guichet.toml",
        "127.0.0.1",
        // Confinement (issue 21).
        "read_only: true",
        "no-new-privileges:true",
        "- ALL",
        "memory: \"3221225472\"",
    ] {
        assert!(stdout.contains(want), "no {want:?} in:\n{stdout}\n{stderr}");
    }
}

#[test]
fn dockerfile_runs_the_readme_commands() {
    let read = |rel: &str| {
        std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let dockerfile = read("docker/Dockerfile");
    let readme = read("README.md");
    for command in [
        "cargo build --release --locked",
        "guichet models fetch",
        "guichet serve",
    ] {
        assert!(
            dockerfile.contains(command),
            "docker/Dockerfile lacks `{command}`"
        );
        assert!(readme.contains(command), "README.md lacks `{command}`");
    }
}

#[test]
fn the_runtime_image_has_no_pip_python_or_compiler_and_carries_the_models() {
    let dockerfile = std::fs::read_to_string(root().join("docker/Dockerfile")).unwrap();
    let runtime = dockerfile
        .split_once("AS runtime")
        .expect("a runtime stage")
        .1;
    let installs: Vec<&str> = runtime
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    for banned in ["pip", "python", "gcc", "cargo", "build-essential"] {
        assert!(
            !installs.iter().any(|l| l.contains(banned)),
            "the runtime stage mentions {banned}"
        );
    }
    assert!(runtime.contains("COPY --from=models"), "{runtime}");
    assert!(!runtime.contains("FROM ${RUST_IMAGE}"));
}
