//! `GET /metrics`: what a town's monitoring (Prometheus, Grafana, Zabbix)
//! scrapes, in the OpenMetrics text format written by `prometheus-client`:
//! base units (`_seconds`, `_bytes`), `# HELP`/`# TYPE` on every family,
//! `guichet_build_info`, the process (memory, CPU, open files), answers by
//! status and mode, retrieval and answer times, answer slots, the index and
//! rate-limit rejections.
//!
//! Counters and histograms live in [`Metrics`] and are updated where the
//! work happens; the rest is read at scrape time. `[server] metrics_token`
//! restricts the route to a bearer token (Prometheus: `authorization:` in
//! the scrape config).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::AppState;
use crate::{Error, Result};

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0];

/// Labels of an answer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AnswerLabels {
    /// What became of it (`answered`, `not_found`…).
    pub status: String,
    /// How it was written (`extractive`, `generative`…).
    pub mode: String,
}

/// Labels of a refused request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// `overloaded` (every answer slot taken) or `rate_limited`.
    pub reason: String,
}

/// The counters and histograms of the service.
#[derive(Debug)]
pub struct Metrics {
    answers: Family<AnswerLabels, Counter>,
    rejected: Family<ReasonLabels, Counter>,
    failed: Counter,
    answer: Histogram,
    first_text: Histogram,
    retrieval: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let histogram = || Histogram::new(LATENCY_BUCKETS);
        Self {
            answers: Family::default(),
            rejected: Family::default(),
            failed: Counter::default(),
            answer: histogram(),
            first_text: histogram(),
            retrieval: histogram(),
        }
    }
}

impl Metrics {
    /// Counts an answer and its times.
    pub fn answered(&self, answer: &crate::rag::Answer) {
        self.answers
            .get_or_create(&AnswerLabels {
                status: answer.status.as_str().into(),
                mode: answer.mode.as_str().into(),
            })
            .inc();
        let t = &answer.timings;
        self.answer.observe(t.total_ms as f64 / 1000.0);
        self.first_text.observe(t.first_token_ms as f64 / 1000.0);
        self.retrieval.observe(t.retrieval_ms as f64 / 1000.0);
    }

    /// Counts an answer that failed or timed out.
    pub fn failed(&self) {
        self.failed.inc();
    }

    /// Counts a request refused for `reason` (`overloaded`, `rate_limited`).
    pub fn rejected(&self, reason: &str) {
        self.rejected
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc();
    }
}

/// What is read at scrape time: the engine, the limiter, the process.
#[derive(Debug, Default)]
struct Snapshot {
    in_progress: i64,
    slots: i64,
    limiter_addresses: i64,
    documents: Option<i64>,
    chunks: Option<i64>,
    generator: Option<(u64, u64, u64)>,
    outbox: Option<crate::referents::notifications::OutboxCounts>,
    process: Process,
}

/// The process's own figures, from `/proc/self` (Linux; zero elsewhere).
#[derive(Debug, Default)]
struct Process {
    resident_bytes: i64,
    virtual_bytes: i64,
    cpu_seconds: f64,
    open_fds: i64,
    max_fds: i64,
    start_time_seconds: i64,
}

impl Process {
    fn read() -> Self {
        let mut p = Process::default();
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let kb = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse::<i64>().ok())
                    .map_or(0, |k| k * 1024)
            };
            p.resident_bytes = kb("VmRSS:");
            p.virtual_bytes = kb("VmSize:");
        }
        // Fields 14 and 15 (user and system time) and 22 (start time) of
        // /proc/self/stat are in clock ticks, which Linux fixes at 100 a
        // second for user space (USER_HZ).
        const TICKS: f64 = 100.0;
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // The command name (field 2) may hold spaces: count from its ')'.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let field = |n: usize| {
                f.get(n - 3)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            p.cpu_seconds = (field(14) + field(15)) / TICKS;
            let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<f64>().ok())
            });
            if let Some(boot) = boot {
                p.start_time_seconds = (boot + field(22) / TICKS) as i64;
            }
        }
        p.open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64);
        p.max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Max open files"))
                    .and_then(|l| l.split_whitespace().nth(3))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0);
        p
    }
}

impl Snapshot {
    fn of(state: &AppState) -> Self {
        let mut s = Snapshot {
            in_progress: state.admission.in_use() as i64,
            slots: state.settings.limits.queue as i64,
            limiter_addresses: state.limiter.tracked() as i64,
            process: Process::read(),
            ..Snapshot::default()
        };
        if let Ok(e) = state.engine() {
            if let Ok(kb) = e.kb() {
                s.documents = kb.store().document_count().ok();
                s.chunks = kb.store().chunk_count().ok();
            }
            if state.notices.is_some() {
                s.outbox = e.referents().ok().and_then(|r| r.outbox_counts().ok());
            }
            if let Some(g) = e.assistant.generator() {
                let st = g.stats();
                s.generator = Some((
                    st.generations.load(Ordering::Relaxed),
                    st.cancelled.load(Ordering::Relaxed),
                    st.tokens.load(Ordering::Relaxed),
                ));
            }
        }
        s
    }
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: i64,
) -> std::fmt::Result {
    let g = ConstGauge::new(value);
    g.encode(enc.encode_descriptor(name, help, unit, g.metric_type())?)
}

fn counter<N>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: N,
) -> std::fmt::Result
where
    ConstCounter<N>: EncodeMetric,
{
    let c = ConstCounter::new(value);
    c.encode(enc.encode_descriptor(name, help, unit, c.metric_type())?)
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let e = &mut enc;
        gauge(
            e,
            "guichet_answers_in_progress",
            "Answers being written or waiting for a slot.",
            None,
            self.in_progress,
        )?;
        gauge(
            e,
            "guichet_answer_slots",
            "Answers allowed at once ([limits] queue); past them, 503.",
            None,
            self.slots,
        )?;
        gauge(
            e,
            "guichet_rate_limited_addresses",
            "Client addresses the rate limiter holds state for.",
            None,
            self.limiter_addresses,
        )?;
        if let Some(d) = self.documents {
            gauge(
                e,
                "guichet_index_documents",
                "Documents in the knowledge base.",
                None,
                d,
            )?;
        }
        if let Some(c) = self.chunks {
            gauge(
                e,
                "guichet_index_chunks",
                "Chunks (searchable passages) in the knowledge base.",
                None,
                c,
            )?;
        }
        if let Some(o) = self.outbox {
            let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            gauge(
                e,
                "guichet_notices_pending",
                "Notices to référents waiting for delivery or a retry.",
                None,
                n(o.pending),
            )?;
            counter(
                e,
                "guichet_notices_sent",
                "Notices to référents delivered (e-mails and webhook calls).",
                None,
                o.sent,
            )?;
            counter(
                e,
                "guichet_notices_failed",
                "Notices to référents given up after [notify] max_attempts tries.",
                None,
                o.failed,
            )?;
        }
        if let Some((generations, cancelled, tokens)) = self.generator {
            counter(
                e,
                "guichet_generations",
                "Generations finished, whatever the reason.",
                None,
                generations,
            )?;
            counter(
                e,
                "guichet_generations_cancelled",
                "Generations stopped by the caller (client gone, time limit).",
                None,
                cancelled,
            )?;
            counter(
                e,
                "guichet_generated_tokens",
                "Tokens generated.",
                None,
                tokens,
            )?;
        }
        let p = &self.process;
        gauge(
            e,
            "process_resident_memory",
            "Resident memory size.",
            Some(&Unit::Bytes),
            p.resident_bytes,
        )?;
        gauge(
            e,
            "process_virtual_memory",
            "Virtual memory size.",
            Some(&Unit::Bytes),
            p.virtual_bytes,
        )?;
        counter(
            e,
            "process_cpu",
            "User and system CPU time spent.",
            Some(&Unit::Seconds),
            p.cpu_seconds,
        )?;
        gauge(
            e,
            "process_open_fds",
            "Open file descriptors.",
            None,
            p.open_fds,
        )?;
        gauge(
            e,
            "process_max_fds",
            "The limit on open file descriptors.",
            None,
            p.max_fds,
        )?;
        gauge(
            e,
            "process_start_time",
            "Start time since the Unix epoch.",
            Some(&Unit::Seconds),
            p.start_time_seconds,
        )?;
        Ok(())
    }
}

/// Whether `headers` carry the configured metrics token (none configured:
/// open, as on a loopback-only bind).
fn allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let want = &state.settings.server.metrics_token;
    if want.is_empty() {
        return true;
    }
    super::auth::bearer_token(headers)
        .is_some_and(|token| crate::referents::constant_time_eq(token, want))
}

/// `GET /metrics`: the service's figures in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", security((), ("bearer" = [])),
    responses((status = 200, description = "OpenMetrics text format"), (status = 401, body = super::error::ErrorBody)))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if !allowed(&state, &headers) {
        return Err(Error::Unauthorized);
    }
    let m = &state.metrics;
    let mut r = Registry::default();
    r.register(
        "guichet_answers",
        "Answers given, by status and mode.",
        m.answers.clone(),
    );
    r.register(
        "guichet_rejected",
        "Requests refused, by reason.",
        m.rejected.clone(),
    );
    r.register(
        "guichet_answers_failed",
        "Answers that failed or timed out.",
        m.failed.clone(),
    );
    r.register_with_unit(
        "guichet_answer_duration",
        "Time to the whole answer.",
        Unit::Seconds,
        m.answer.clone(),
    );
    r.register_with_unit(
        "guichet_answer_first_text",
        "Time to the first piece of answer text.",
        Unit::Seconds,
        m.first_text.clone(),
    );
    r.register_with_unit(
        "guichet_retrieval_duration",
        "Time to retrieve and assess the sources.",
        Unit::Seconds,
        m.retrieval.clone(),
    );
    let s = &state.settings;
    r.register(
        "guichet_build",
        "The running version and configuration.",
        Info::new(vec![
            ("version", env!("CARGO_PKG_VERSION").to_string()),
            ("answer_mode", format!("{:?}", s.answer.mode).to_lowercase()),
        ]),
    );
    r.register_collector(Box::new(Snapshot::of(&state)));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &r)
        .map_err(|e| Error::Unavailable(format!("metrics: {e}")))?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
