//! The generation worker: one dedicated thread owns the model and takes
//! generation jobs from a bounded queue. Model inference never runs on an
//! async worker, and the queue's bound turns overload into an immediate,
//! typed refusal instead of an ever-growing wait. A model behind a server
//! gets a pool of such threads, one per request allowed in flight
//! ([`GenerationWorker::spawn_pool`]).
//!
//! The caller blocks on its own thread (a blocking task), receiving text
//! pieces as the model writes them, so streaming needs no `Send` callback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use guichet_models::{
    Cancel, FinishReason, Generation, GenerationParams, Generator, GeneratorInfo, Prompt,
};

use crate::{Error, Result};

enum Piece {
    Text(String),
    Done(Result<Generation, String>),
    Scores(Result<Vec<f32>, String>),
}

/// What a job asks of the model.
enum Task {
    /// Generate text.
    Generate(GenerationParams),
    /// Score these one-token choices as the first token after the prompt.
    Choose(Vec<String>),
}

struct Job {
    prompt: Prompt,
    task: Task,
    cancel: Cancel,
    out: mpsc::Sender<Piece>,
    span: tracing::Span,
}

/// Counters of the worker, for `/metrics`.
#[derive(Debug, Default)]
pub struct WorkerStats {
    /// Generations finished (any reason).
    pub generations: AtomicU64,
    /// Generations stopped because the caller cancelled (client gone,
    /// time limit).
    pub cancelled: AtomicU64,
    /// Tokens generated.
    pub tokens: AtomicU64,
}

/// A handle to the generation thread; cheap to share.
pub struct GenerationWorker {
    tx: SyncSender<Job>,
    info: GeneratorInfo,
    stats: Arc<WorkerStats>,
    _threads: Arc<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for GenerationWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenerationWorker")
            .field("model", &self.info.id)
            .finish()
    }
}

impl GenerationWorker {
    /// Starts the thread; at most `queue` jobs wait behind the running one.
    pub fn spawn(generator: Box<dyn Generator>, queue: usize) -> Result<Self> {
        Self::spawn_pool(vec![generator], queue)
    }

    /// Starts one thread per generator (the same model, for a server that
    /// takes several requests at once), all taking jobs from one queue of
    /// at most `queue` waiting jobs.
    pub fn spawn_pool(generators: Vec<Box<dyn Generator>>, queue: usize) -> Result<Self> {
        let info = generators
            .first()
            .ok_or_else(|| Error::Unavailable("no generator to run".into()))?
            .info()
            .clone();
        let (tx, rx): (SyncSender<Job>, Receiver<Job>) = mpsc::sync_channel(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let stats = Arc::new(WorkerStats::default());
        let mut threads = Vec::new();
        for (i, generator) in generators.into_iter().enumerate() {
            let (rx, st) = (rx.clone(), stats.clone());
            let thread = std::thread::Builder::new()
                .name(format!("guichet-generation-{i}"))
                .spawn(move || serve(generator, &rx, &st))
                .map_err(|e| {
                    Error::Unavailable(format!("cannot start the generation thread: {e}"))
                })?;
            threads.push(thread);
        }
        Ok(Self {
            tx,
            info,
            stats,
            _threads: Arc::new(threads),
        })
    }

    /// What the thread runs.
    pub fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    /// The worker's counters.
    pub fn stats(&self) -> &Arc<WorkerStats> {
        &self.stats
    }

    /// Generates, calling `on_text` on this thread with each piece; blocks
    /// until the generation ends. A full queue is [`Error::Overloaded`].
    pub fn generate(
        &self,
        prompt: Prompt,
        params: GenerationParams,
        cancel: &Cancel,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let pieces = self.submit(prompt, Task::Generate(params), cancel)?;
        for piece in pieces {
            match piece {
                Piece::Text(t) => on_text(&t),
                Piece::Done(Ok(g)) => return Ok(g),
                Piece::Done(Err(e)) if cancel.is_cancelled() => {
                    return Err(Error::Cancelled(e));
                }
                Piece::Done(Err(e)) | Piece::Scores(Err(e)) => return Err(Error::Generation(e)),
                Piece::Scores(Ok(_)) => {}
            }
        }
        Err(Error::Unavailable(
            "the generation thread has stopped".into(),
        ))
    }

    /// The log-probability of each of `choices` (one-token strings) as the
    /// model's first token after `prompt` ([`Generator::choice_logprobs`]);
    /// blocks until scored.
    pub fn choose(
        &self,
        prompt: Prompt,
        choices: Vec<String>,
        cancel: &Cancel,
    ) -> Result<Vec<f32>> {
        let pieces = self.submit(prompt, Task::Choose(choices), cancel)?;
        for piece in pieces {
            match piece {
                Piece::Scores(Ok(s)) => return Ok(s),
                Piece::Done(Err(e)) if cancel.is_cancelled() => {
                    return Err(Error::Cancelled(e));
                }
                Piece::Scores(Err(e)) | Piece::Done(Err(e)) => return Err(Error::Generation(e)),
                Piece::Text(_) | Piece::Done(Ok(_)) => {}
            }
        }
        Err(Error::Unavailable(
            "the generation thread has stopped".into(),
        ))
    }

    /// Queues a job; a full queue is [`Error::Overloaded`].
    fn submit(&self, prompt: Prompt, task: Task, cancel: &Cancel) -> Result<Receiver<Piece>> {
        let (out, pieces) = mpsc::channel();
        let job = Job {
            prompt,
            task,
            cancel: cancel.clone(),
            out,
            span: tracing::Span::current(),
        };
        match self.tx.try_send(job) {
            Ok(()) => Ok(pieces),
            Err(TrySendError::Full(_)) => Err(Error::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(Error::Unavailable(
                "the generation thread has stopped".into(),
            )),
        }
    }
}

impl Clone for GenerationWorker {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            info: self.info.clone(),
            stats: self.stats.clone(),
            _threads: self._threads.clone(),
        }
    }
}

/// One generation thread: takes jobs until the queue closes.
fn serve(mut generator: Box<dyn Generator>, rx: &Mutex<Receiver<Job>>, st: &WorkerStats) {
    loop {
        // The lock is held only while taking a job, never while generating.
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        let _enter = job.span.enter();
        if job.cancel.is_cancelled() {
            st.cancelled.fetch_add(1, Ordering::Relaxed);
            let _ = job.out.send(Piece::Done(Err("cancelled".into())));
            continue;
        }
        let params = match &job.task {
            Task::Generate(p) => p,
            Task::Choose(choices) => {
                let r = generator.choice_logprobs(&job.prompt, choices);
                let _ = job.out.send(Piece::Scores(r.map_err(|e| e.to_string())));
                continue;
            }
        };
        let out = job.out.clone();
        let r = generator.generate(&job.prompt, params, &job.cancel, &mut |t| {
            let _ = out.send(Piece::Text(t.to_string()));
        });
        st.generations.fetch_add(1, Ordering::Relaxed);
        if let Ok(g) = &r {
            st.tokens
                .fetch_add(g.generated_tokens as u64, Ordering::Relaxed);
            if g.finish == FinishReason::Cancelled {
                st.cancelled.fetch_add(1, Ordering::Relaxed);
                tracing::info!("generation cancelled after {} tokens", g.generated_tokens);
            }
        }
        let _ = job.out.send(Piece::Done(r.map_err(|e| e.to_string())));
    }
}
