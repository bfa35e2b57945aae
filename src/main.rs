//! The `guichet` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;

/// glibc malloc settings for model inference. candle allocates a fresh
/// buffer for every tensor operation; by default glibc serves each large one
/// with a new `mmap` and unmaps it on free, so every layer of every batch
/// page-faults its memory in again. Keeping freed memory in the heap made
/// embedding 1.5× faster here (see models/README.md), for a resident size
/// that stays at the peak of the largest batch.
const MALLOC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296";

/// glibc reads its tunables only at process start: re-execute ourselves once
/// with them set, unless the user set `GLIBC_TUNABLES` (theirs win) or
/// `GUICHET_NO_MALLOC_TUNING`. If the re-exec fails we simply go on.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("GLIBC_TUNABLES").is_some()
        || std::env::var_os("GUICHET_NO_MALLOC_TUNING").is_some()
    {
        return;
    }
    if let Ok(exe) = std::env::current_exe() {
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("GLIBC_TUNABLES", MALLOC_TUNABLES)
            .exec();
        eprintln!("note: could not re-execute with malloc tuning ({err}); going on without it");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn main() -> ExitCode {
    // A parse worker reads no configuration and keeps glibc's defaults.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(code) = guichet::parse::worker::main_if_worker(&args) {
        return code;
    }
    tune_malloc();
    let args = guichet::cli::Args::parse();
    guichet::cli::init_tracing(&args);
    match guichet::cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let e = anyhow::Error::from(e);
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
