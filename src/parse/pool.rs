//! The parent's side: a pool of parse workers, started when needed and
//! reused, each watched for time, output size and death.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use guichet_ingest::Document;

use super::protocol::{self, Reply, REPLY_DOCUMENT};
use super::{FailureKind, ParseFailure, ParseLimits, WORKER_ARG};

/// How much of a worker's stderr is kept to explain its death.
const STDERR_TAIL: usize = 8 * 1024;

/// Seconds granted past the time limit before the parent kills a worker:
/// the worker's own CPU limit usually fires first.
const GRACE_SECS: u64 = 2;

/// Up to `size` workers; callers beyond that wait for one to be free.
pub(super) struct Pool {
    program: PathBuf,
    limits: ParseLimits,
    size: usize,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Default)]
struct State {
    idle: Vec<Worker>,
    /// Workers out of the pool (parsing), or slots being started.
    busy: usize,
}

impl Pool {
    pub(super) fn new(program: PathBuf, limits: ParseLimits, size: usize) -> Self {
        Self {
            program,
            limits,
            size,
            state: Mutex::new(State::default()),
            freed: Condvar::new(),
        }
    }

    pub(super) fn size(&self) -> usize {
        self.size
    }

    pub(super) fn limits(&self) -> &ParseLimits {
        &self.limits
    }

    /// Parses in a free worker; a worker that died or was killed is not
    /// returned to the pool (the next parse starts a fresh one).
    pub(super) fn parse(&self, name: &str, bytes: &[u8]) -> Result<Document, ParseFailure> {
        let unavailable = |e: std::io::Error| {
            self.checkin(None);
            ParseFailure::new(
                name,
                FailureKind::Unavailable,
                format!("impossible de lancer le programme d'analyse : {e}"),
            )
        };
        let mut worker = match self.checkout() {
            Some(w) => w,
            None => Worker::spawn(&self.program, &self.limits).map_err(unavailable)?,
        };
        let mut outcome = worker.parse(name, bytes, &self.limits);
        if let Outcome::DeadBeforeRequest = outcome {
            // Found dead before it read anything (killed while idle): the
            // file is not to blame, a fresh worker takes it.
            drop(worker);
            worker = Worker::spawn(&self.program, &self.limits).map_err(unavailable)?;
            outcome = worker.parse(name, bytes, &self.limits);
        }
        let (result, alive) = match outcome {
            Outcome::Done(r, alive) => (r, alive),
            Outcome::DeadBeforeRequest => (Err(worker.death(name, &self.limits)), false),
        };
        self.checkin(alive.then_some(worker));
        result
    }

    /// An idle worker, or `None` when the caller should start one (a slot
    /// is reserved for it); waits while every slot is busy.
    fn checkout(&self) -> Option<Worker> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(w) = state.idle.pop() {
                state.busy += 1;
                return Some(w);
            }
            if state.busy < self.size {
                state.busy += 1;
                return None;
            }
            state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn checkin(&self, worker: Option<Worker>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.busy = state.busy.saturating_sub(1);
        if let Some(w) = worker {
            state.idle.push(w);
        }
        self.freed.notify_one();
    }
}

/// What one exchange with a worker gave.
enum Outcome {
    /// A result, and whether the worker can be reused.
    Done(Result<Document, ParseFailure>, bool),
    /// The request could not even be written: the worker was already dead.
    DeadBeforeRequest,
}

/// One worker process and the threads reading its stdout and stderr.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: Receiver<std::io::Result<Reply>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl Worker {
    fn spawn(program: &PathBuf, limits: &ParseLimits) -> std::io::Result<Self> {
        let limits_json = serde_json::to_string(limits).map_err(std::io::Error::other)?;
        let mut child = Command::new(program)
            .arg(WORKER_ARG)
            .arg(limits_json)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // The server's malloc tuning keeps freed memory for models;
            // a worker should give it back between files, and use few
            // arenas, since its address space is limited.
            .env_remove("GLIBC_TUNABLES")
            .env("GUICHET_NO_MALLOC_TUNING", "1")
            .env("MALLOC_ARENA_MAX", "2")
            .env_remove("RUST_BACKTRACE")
            .spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
        let mut stderr_pipe = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("no stderr pipe"))?;
        let max_output = limits.max_output_bytes;
        let (tx, replies) = mpsc::channel();
        std::thread::Builder::new()
            .name("parse-replies".into())
            .spawn(move || loop {
                match protocol::read_reply(&mut stdout, max_output) {
                    Ok(Some(r)) => {
                        let too_large = matches!(r, Reply::TooLarge(_));
                        if tx.send(Ok(r)).is_err() || too_large {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            })?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let tail = stderr.clone();
        let stderr_reader = std::thread::Builder::new()
            .name("parse-stderr".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stderr_pipe.read(&mut buf) {
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    t.extend_from_slice(&buf[..n]);
                    if t.len() > STDERR_TAIL {
                        let cut = t.len() - STDERR_TAIL;
                        t.drain(..cut);
                    }
                }
            })?;
        Ok(Self {
            child,
            stdin,
            replies,
            stderr,
            stderr_reader: Some(stderr_reader),
        })
    }

    fn parse(&mut self, name: &str, bytes: &[u8], limits: &ParseLimits) -> Outcome {
        let Some(stdin) = self.stdin.as_mut() else {
            return Outcome::DeadBeforeRequest;
        };
        if protocol::write_request(stdin, name, bytes).is_err() {
            // Dead before the request, or died while reading it.
            return match self.child.try_wait() {
                Ok(Some(_)) if self.stderr_is_empty() => Outcome::DeadBeforeRequest,
                _ => Outcome::Done(Err(self.death(name, limits)), false),
            };
        }
        let budget = limits.budget_secs(bytes);
        let wait = Duration::from_secs(budget.saturating_add(GRACE_SECS));
        let failure = |kind, reason: String| ParseFailure::new(name, kind, reason);
        match self.replies.recv_timeout(wait) {
            Ok(Ok(Reply::Frame { tag, payload })) if tag == REPLY_DOCUMENT => {
                match serde_json::from_slice::<Document>(&payload) {
                    Ok(doc) => Outcome::Done(Ok(doc), true),
                    Err(e) => Outcome::Done(
                        Err(failure(
                            FailureKind::Crashed,
                            format!("réponse illisible du programme d'analyse ({e})"),
                        )),
                        false,
                    ),
                }
            }
            Ok(Ok(Reply::Frame { payload, .. })) => {
                let message = String::from_utf8_lossy(&payload);
                Outcome::Done(Err(ParseFailure::refused(name, &message)), true)
            }
            Ok(Ok(Reply::TooLarge(n))) => {
                self.kill();
                Outcome::Done(
                    Err(failure(
                        FailureKind::OutputTooLarge,
                        format!(
                            "texte extrait trop volumineux ({} Mo, limite {} Mo)",
                            n / 1_000_000,
                            limits.max_output_bytes / 1_000_000
                        ),
                    )),
                    false,
                )
            }
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Outcome::Done(
                    Err(failure(
                        FailureKind::Timeout,
                        format!("délai dépassé (plus de {budget} s d'analyse)"),
                    )),
                    false,
                )
            }
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {
                Outcome::Done(Err(self.death(name, limits)), false)
            }
        }
    }

    fn stderr_is_empty(&self) -> bool {
        self.stderr.lock().map(|t| t.is_empty()).unwrap_or(true)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        self.reap();
    }

    /// Waits for the process and its stderr reader.
    fn reap(&mut self) -> Option<std::process::ExitStatus> {
        self.stdin = None;
        let status = self.child.wait().ok();
        if let Some(h) = self.stderr_reader.take() {
            let _ = h.join();
        }
        status
    }

    /// Why the worker died, from its exit status and the end of its stderr.
    fn death(&mut self, name: &str, limits: &ParseLimits) -> ParseFailure {
        let status = self.reap();
        let tail = self
            .stderr
            .lock()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        let (kind, reason) = classify(status, &tail, limits);
        if kind == FailureKind::Crashed {
            tracing::warn!("parse worker died on {name}: {status:?}: {}", tail.trim());
        }
        ParseFailure::new(name, kind, reason)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin ends an idle worker; a busy one is killed.
        self.stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The failure a worker's end means.
fn classify(
    status: Option<std::process::ExitStatus>,
    stderr: &str,
    limits: &ParseLimits,
) -> (FailureKind, String) {
    const SIGXCPU: i32 = 24;
    const SIGKILL: i32 = 9;
    if stderr.contains("has overflowed its stack") {
        return (
            FailureKind::TooComplex,
            "fichier trop complexe (imbrication trop profonde)".into(),
        );
    }
    if stderr.contains("memory allocation of") || stderr.contains("out of memory") {
        return (
            FailureKind::OutOfMemory,
            format!(
                "mémoire dépassée (limite {} Mo) : contenu décompressé trop volumineux",
                limits.memory_bytes / (1024 * 1024)
            ),
        );
    }
    let signal = status.and_then(|s| s.signal());
    match signal {
        Some(SIGXCPU) => (
            FailureKind::Timeout,
            format!("délai dépassé (plus de {} s d'analyse)", limits.timeout_secs),
        ),
        Some(SIGKILL) => (
            FailureKind::Crashed,
            "analyse interrompue (processus arrêté par le signal 9 : mémoire du serveur insuffisante, ou arrêt manuel)".into(),
        ),
        Some(sig) => (
            FailureKind::Crashed,
            format!("le programme d'analyse s'est arrêté sur ce fichier (signal {sig})"),
        ),
        None => (
            FailureKind::Crashed,
            match status.and_then(|s| s.code()) {
                Some(code) => {
                    format!("le programme d'analyse s'est arrêté sur ce fichier (code {code})")
                }
                None => "le programme d'analyse s'est arrêté sur ce fichier".into(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deaths_are_told_apart() {
        let limits = ParseLimits::default();
        let status = |raw| Some(std::process::ExitStatus::from_raw(raw));
        let (k, r) = classify(
            status(6),
            "thread 'parse' has overflowed its stack\nfatal runtime error: stack overflow",
            &limits,
        );
        assert_eq!(k, FailureKind::TooComplex, "{r}");
        assert!(r.contains("imbrication"));
        let (k, r) = classify(
            status(6),
            "memory allocation of 4294967296 bytes failed",
            &limits,
        );
        assert_eq!(k, FailureKind::OutOfMemory);
        assert!(r.contains("décompressé"), "{r}");
        assert_eq!(classify(status(24), "", &limits).0, FailureKind::Timeout);
        let (k, r) = classify(status(11), "", &limits);
        assert_eq!(k, FailureKind::Crashed);
        assert!(r.contains("signal 11"), "{r}");
        let (_, r) = classify(status(3 << 8), "", &limits);
        assert!(r.contains("code 3"), "{r}");
    }
}
