//! The parse worker: the `guichet` binary started as
//! `guichet __parse-worker LIMITS_JSON` by the parent's pool. It confines
//! itself (`confine`), then answers requests from stdin until stdin
//! closes: one file in, one reply out, each parse on a fresh thread with a
//! large stack and a CPU-time budget of its own.

use std::ffi::OsString;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

use nix::sys::resource::{getrusage, setrlimit, Resource, UsageWho};

use super::protocol::{self, REPLY_DOCUMENT, REPLY_REFUSED};
use super::ParseLimits;

/// The first argument that makes `guichet` a parse worker. Not a clap
/// subcommand: a worker must start without reading any configuration.
pub const WORKER_ARG: &str = "__parse-worker";

/// Exit status of a worker whose command line or input is not ours.
const BAD_INVOCATION: u8 = 2;

/// Runs the worker if the command line asks for one (`args` without the
/// program name), returning its exit status; `None` for any other command.
pub fn main_if_worker(args: &[OsString]) -> Option<ExitCode> {
    if args.first().and_then(|a| a.to_str()) != Some(WORKER_ARG) {
        return None;
    }
    let limits = args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(|a| serde_json::from_str::<ParseLimits>(a).ok());
    let Some(limits) = limits else {
        eprintln!("{WORKER_ARG}: expected the limits as JSON");
        return Some(ExitCode::from(BAD_INVOCATION));
    };
    Some(run(&limits))
}

/// The worker's loop.
fn run(limits: &ParseLimits) -> ExitCode {
    // Replies go to a private copy of stdout; stdout itself then points to
    // stderr, so that a stray `println!` in a parser cannot corrupt them.
    let replies = match nix::unistd::dup(std::io::stdout()) {
        Ok(fd) => std::fs::File::from(fd),
        Err(e) => {
            eprintln!("{WORKER_ARG}: cannot duplicate stdout: {e}");
            return ExitCode::from(BAD_INVOCATION);
        }
    };
    if let Err(e) = nix::unistd::dup2_stdout(std::io::stderr()) {
        eprintln!("{WORKER_ARG}: cannot redirect stdout: {e}");
        return ExitCode::from(BAD_INVOCATION);
    }
    confine(limits);
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut out = BufWriter::new(replies);
    loop {
        let request = match protocol::read_request(&mut input, limits.load.max_bytes) {
            Ok(Some(r)) => r,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{WORKER_ARG}: bad request: {e}");
                return ExitCode::from(BAD_INVOCATION);
            }
        };
        set_cpu_budget(limits.budget_secs(&request.bytes));
        let (tag, payload) = parse(request, limits);
        if protocol::write_reply(&mut out, tag, &payload).is_err() {
            // The parent is gone.
            return ExitCode::SUCCESS;
        }
    }
}

/// Parses one request on a thread with the configured stack.
fn parse(request: protocol::Request, limits: &ParseLimits) -> (u8, Vec<u8>) {
    let load = limits.load.clone();
    let spawned = std::thread::Builder::new()
        .name("parse".into())
        .stack_size(limits.stack_bytes)
        .spawn(move || guichet_ingest::load_bytes_with(&request.name, &request.bytes, &load));
    let result = match spawned {
        Ok(handle) => handle.join(),
        Err(e) => {
            return (
                REPLY_REFUSED,
                format!("cannot start the parse: {e}").into_bytes(),
            )
        }
    };
    match result {
        Ok(Ok(doc)) => match serde_json::to_vec(&doc) {
            Ok(json) => (REPLY_DOCUMENT, json),
            Err(e) => (
                REPLY_REFUSED,
                format!("cannot encode the document: {e}").into_bytes(),
            ),
        },
        Ok(Err(e)) => (REPLY_REFUSED, e.to_string().into_bytes()),
        // The panic message went to stderr; the reply says what it means.
        Err(_) => (
            REPLY_REFUSED,
            "le programme d'analyse a rencontré une erreur interne sur ce fichier"
                .as_bytes()
                .to_vec(),
        ),
    }
}

/// Limits the worker before it reads any file. Each step is best effort
/// but logged: a kernel without user namespaces still gets the resource
/// limits, which are what stop the attacks seen so far.
///
/// - `RLIMIT_AS`: the address space, so that a bomb fails an allocation
///   (an abort the parent reports) instead of swapping the server;
/// - `RLIMIT_FSIZE` 0: no file can be written (a write raises `SIGXFSZ`);
/// - `RLIMIT_CORE` 0: no core dump of a crashed parse left on disk;
/// - `RLIMIT_NOFILE`: a handful of descriptors, stdin, stdout and stderr
///   being all it needs;
/// - a new, empty network namespace (with a user namespace when not
///   privileged): no address to connect to;
/// - death with the parent (`PR_SET_DEATHSIG`), so that no worker outlives
///   a killed ingestion.
fn confine(limits: &ParseLimits) {
    let mut notes = Vec::new();
    let mut limit = |resource: Resource, value: u64, what: &str| {
        if let Err(e) = setrlimit(resource, value, value) {
            notes.push(format!("{what}: {e}"));
        }
    };
    limit(Resource::RLIMIT_AS, limits.memory_bytes, "address space");
    limit(Resource::RLIMIT_FSIZE, 0, "file size");
    limit(Resource::RLIMIT_CORE, 0, "core dumps");
    limit(Resource::RLIMIT_NOFILE, 16, "open files");
    if let Err(e) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL) {
        notes.push(format!("parent-death signal: {e}"));
    }
    use nix::sched::{unshare, CloneFlags};
    if unshare(CloneFlags::CLONE_NEWNET).is_err()
        && unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).is_err()
    {
        notes.push("network namespace: not permitted here".to_string());
    }
    if !notes.is_empty() && std::env::var_os("GUICHET_WORKER_QUIET").is_none() {
        eprintln!("{WORKER_ARG}: partly confined ({})", notes.join("; "));
    }
}

/// Sets the CPU-time limit to `secs` more than what the worker used so
/// far: `RLIMIT_CPU` counts the whole process life, and a reused worker
/// must get the same budget for every file. Past it the kernel sends
/// `SIGXCPU`, which ends the worker; the parent reports a timeout.
fn set_cpu_budget(secs: u64) {
    let used = getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| {
            // Whole seconds, rounded up.
            let t = |tv: nix::sys::time::TimeVal| {
                tv.tv_sec().max(0) as u64 + u64::from(tv.tv_usec() > 0)
            };
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(0);
    let soft = used.saturating_add(secs.max(1));
    // The hard limit stays where it is, so that the next file can raise
    // the soft one again.
    let hard = nix::sys::resource::getrlimit(Resource::RLIMIT_CPU)
        .map(|(_, h)| h)
        .unwrap_or(nix::sys::resource::RLIM_INFINITY);
    let _ = setrlimit(Resource::RLIMIT_CPU, soft.min(hard), hard);
}
