//! The configuration file, `guichet.toml`: everything a town sets once
//! (where the data lives, which models, the town's name and contact
//! details, the service's limits), with an environment override for every
//! key so that containers and tests need no file at all.
//!
//! Precedence, highest first: command-line flag, `GUICHET_*` environment
//! variable, the file, the built-in default. The variable of a key is
//! `GUICHET_<SECTION>_<KEY>` in upper case (`GUICHET_TOWN_PHONE`,
//! `GUICHET_SERVER_BIND`), or `GUICHET_<KEY>` for a top-level key
//! (`GUICHET_DATA`, `GUICHET_MODELS`). `guichet.example.toml` at the
//! repository root documents every key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The whole configuration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Knowledge base folder (SQLite database, vector index, conversations).
    pub data: PathBuf,
    /// Folder of the model files.
    pub models: PathBuf,
    /// Embedding model: `e5`, `minilm` or a path.
    pub embedding_model: String,
    /// Generation model: `gemma3`, `smollm2` or the path of a GGUF file.
    pub generation_model: String,
    /// Tokens of generation context.
    pub context: usize,
    /// Inference threads (0: every core).
    pub threads: usize,
    /// The HTTP service.
    pub server: ServerSettings,
    /// The town: named in answers and given as the human contact.
    pub town: TownSettings,
    /// How answers are made.
    pub answer: AnswerSettings,
    /// Where the generation model runs (in this process or on a server).
    pub generation: GenerationSettings,
    /// Protection of the service.
    pub limits: LimitSettings,
    /// Personal data in stored questions.
    pub privacy: PrivacySettings,
    /// The citizen widget and the référent console.
    pub widget: WidgetSettings,
    /// Scheduled backups taken by the server.
    pub backup: BackupSettings,
    /// Limits on the documents ingested.
    pub ingest: IngestSettings,
    /// Référents told by e-mail or webhook when a citizen needs a person.
    pub notify: NotifySettings,
    /// What the logs look like.
    pub log: LogSettings,
    /// Websites crawled into the knowledge base (`[[sources]]`).
    pub sources: Vec<SourceSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data: PathBuf::from("data"),
            models: PathBuf::from("models/weights"),
            embedding_model: "e5".into(),
            generation_model: "gemma3".into(),
            context: 4096,
            threads: 0,
            server: ServerSettings::default(),
            town: TownSettings::default(),
            answer: AnswerSettings::default(),
            generation: GenerationSettings::default(),
            limits: LimitSettings::default(),
            privacy: PrivacySettings::default(),
            widget: WidgetSettings::default(),
            backup: BackupSettings::default(),
            ingest: IngestSettings::default(),
            notify: NotifySettings::default(),
            log: LogSettings::default(),
            sources: Vec::new(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port to listen on. Loopback by default: put a reverse
    /// proxy (TLS) in front, or set `0.0.0.0:8080` in a container.
    pub bind: String,
    /// Documents ingested at start-up when the knowledge base is empty, so
    /// a fresh installation answers at once ("" to start empty).
    pub demo_corpus: String,
    /// Origins (the town's web site) allowed to call the API from a
    /// browser. Empty: same origin only.
    pub cors_origins: Vec<String>,
    /// Reverse proxies (addresses or CIDR blocks, e.g. `127.0.0.1`,
    /// `10.0.0.0/8`) whose `X-Forwarded-For` / `Forwarded` headers are
    /// believed: behind them, each citizen is rate-limited on their own
    /// address instead of the proxy's. Empty: the headers are ignored (a
    /// client could write anything there).
    pub trusted_proxies: Vec<String>,
    /// When set, `/metrics` answers only to `Authorization: Bearer` this
    /// token (Prometheus: `authorization: { credentials: … }`). Empty: open
    /// to whoever reaches the server (keep it on loopback or behind the
    /// proxy's `allow`).
    pub metrics_token: String,
}

impl ServerSettings {
    /// [`Self::trusted_proxies`] parsed (validated at load).
    pub fn trusted_networks(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| parse_network(p))
            .collect()
    }
}

/// An address (`192.0.2.1`, `::1`) or a CIDR block (`10.0.0.0/8`).
fn parse_network(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            demo_corpus: "ingest/demo/documents".into(),
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            metrics_token: String::new(),
        }
    }
}

/// `[town]`: the contact details given when the assistant cannot answer.
/// They are also the only phone numbers, e-mail addresses and links an
/// answer may contain besides those of its sources.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TownSettings {
    /// The town hall's name, as citizens know it.
    pub name: String,
    /// Reception phone number.
    pub phone: String,
    /// Reception e-mail address.
    pub email: String,
    /// Postal address of the town hall.
    pub address: String,
    /// Opening hours, in words.
    pub hours: String,
    /// The town's web site.
    pub website: String,
    /// When référents answer a handoff request, in words (told to the
    /// citizen with the ticket's reference).
    pub handoff_delay: String,
    /// The town's time zone (IANA name): when its days start for the daily
    /// question cap, the statistics by day and week, and the expiry of
    /// curated answers. `Europe/Paris` for metropolitan France;
    /// `Indian/Reunion`, `America/Guadeloupe`… overseas.
    pub time_zone: String,
}

impl TownSettings {
    /// The configured time zone (validated at load; UTC if it was not).
    pub fn zone(&self) -> crate::time::TimeZone {
        crate::time::zone(&self.time_zone).unwrap_or(crate::time::TimeZone::UTC)
    }
}

impl Default for TownSettings {
    fn default() -> Self {
        Self {
            name: "Mairie de Démo".into(),
            phone: "01 23 45 67 89".into(),
            email: "accueil@mairie-demo.fr".into(),
            address: "1 place de la Mairie, 00000 Démo".into(),
            hours: "du lundi au vendredi, de 8 h 30 à 17 h".into(),
            website: "https://www.mairie-demo.fr".into(),
            handoff_delay: "en général sous deux jours ouvrés".into(),
            time_zone: crate::time::DEFAULT_ZONE.into(),
        }
    }
}

impl TownSettings {
    /// The contact paragraph of abstentions and handoffs, in French.
    pub fn contact_text(&self) -> String {
        let mut parts = Vec::new();
        if !self.phone.is_empty() {
            parts.push(format!("par téléphone au {}", self.phone));
        }
        if !self.email.is_empty() {
            parts.push(format!("par courriel à {}", self.email));
        }
        let mut s = format!("Vous pouvez contacter {}", self.name);
        if !parts.is_empty() {
            s.push(' ');
            s.push_str(&parts.join(" ou "));
        }
        if !self.address.is_empty() {
            s.push_str(&format!(", ou vous rendre au {}", self.address));
        }
        if !self.hours.is_empty() {
            s.push_str(&format!(" ({})", self.hours));
        }
        s.push('.');
        if !self.website.is_empty() {
            s.push_str(&format!(" Site internet : {}.", self.website));
        }
        s
    }
}

/// How answers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMode {
    /// The sentences of the sources that answer, with citations; no LLM.
    Extractive,
    /// The LLM writes from numbered sources; the extractive answer is the
    /// fallback when its citations do not check.
    Generative,
    /// The LLM reads the candidate units and says which answer (or that
    /// none does); the answer quotes those units verbatim.
    Reader,
}

impl std::str::FromStr for AnswerMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "extractive" => Ok(Self::Extractive),
            "generative" => Ok(Self::Generative),
            "reader" => Ok(Self::Reader),
            _ => Err(format!(
                "unknown answer mode {s}: extractive, generative or reader"
            )),
        }
    }
}

/// Where the generation model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenerationBackend {
    /// The GGUF file of `generation_model`, in this process (the default:
    /// one binary, no other service).
    Local,
    /// An OpenAI-compatible server (`llama-server`, vLLM, a hosted
    /// endpoint such as the State's Albert API), for a deployment that
    /// already runs one, on a GPU or for many communes.
    Openai,
}

/// `[generation]`: the generation model's engine. The prompts, the
/// attribution of sentences and the output checks are the same for both
/// backends; only where the tokens come from differs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerationSettings {
    /// `local` (default) or `openai`.
    pub backend: GenerationBackend,
    /// The server's API root, `/v1` included
    /// (`http://127.0.0.1:8081/v1`).
    pub base_url: String,
    /// The model the server is asked for (`model` of the request; a
    /// single-model `llama-server` takes any name).
    pub model_name: String,
    /// Bearer token sent to the server (empty: none). Better set as
    /// `GUICHET_GENERATION_API_KEY` than written in the file.
    pub api_key: String,
    /// Most requests sent to the server at once; more wait in the queue
    /// (`limits.queue`), and past that a citizen is told to retry.
    pub max_in_flight: usize,
    /// Seconds to open a connection to the server.
    pub connect_timeout_secs: u64,
    /// Seconds a whole reply may take; past that (or when the server is
    /// down) the citizen gets the extractive answer.
    pub timeout_secs: u64,
}

impl Default for GenerationSettings {
    fn default() -> Self {
        Self {
            backend: GenerationBackend::Local,
            base_url: String::new(),
            model_name: "guichet".into(),
            api_key: String::new(),
            max_in_flight: 4,
            connect_timeout_secs: 3,
            timeout_secs: 60,
        }
    }
}

/// `[answer]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerSettings {
    /// `extractive` (default: the small default models copy well and
    /// answer badly) or `generative`.
    pub mode: AnswerMode,
    /// Chunks retrieved and numbered as sources.
    pub sources: usize,
    /// At most this many sources from one document.
    pub per_document: usize,
    /// Confidence under which the assistant abstains (0-1; calibrated,
    /// see `docs/answering.md`, "Abstention calibration").
    pub abstain_below: f64,
    /// Most tokens of a generated answer.
    pub max_new_tokens: usize,
    /// About how many tokens of source text the model reads (each source
    /// cut at a sentence end to its share): the prompt's size, hence the
    /// time to the first text on a small CPU.
    pub source_tokens: usize,
    /// About how many tokens of candidate units the reader mode offers
    /// the model: its prompt's size, hence its time on a small CPU.
    pub reader_tokens: usize,
    /// Sampling temperature (0: greedy, reproducible).
    pub temperature: f64,
    /// Let the LLM rewrite follow-up questions (otherwise the previous
    /// question's key terms are carried over).
    pub rewrite_with_model: bool,
    /// A file of extra acronyms (`ACRONYM<TAB>expansion` lines) added to
    /// the built-in lexicon ("": none).
    pub lexicon: String,
    /// Source priorities: `{ "mairie" = 0.3 }` multiplies the fused
    /// retrieval score of chunks whose collection is `mairie`, or whose
    /// file path contains `mairie`, by 1.3 — the town's own documents
    /// before national fiches for local rules. Empty: no priority.
    pub priorities: std::collections::BTreeMap<String, f64>,
}

/// The default abstention threshold on the calibrated confidence score
/// (applied in `rag::confidence::abstains`, fitted with its weights by
/// `guichet bench calibrate`).
pub const DEFAULT_ABSTAIN_BELOW: f64 = 0.4;

/// The default of `ingest.max_chunks`: the text limit's 10 million
/// characters make about 8,000 chunks of 300 tokens.
pub const DEFAULT_MAX_CHUNKS: usize = 10_000;

impl Default for AnswerSettings {
    fn default() -> Self {
        Self {
            mode: AnswerMode::Extractive,
            sources: 5,
            per_document: 2,
            abstain_below: DEFAULT_ABSTAIN_BELOW,
            max_new_tokens: 256,
            source_tokens: 800,
            reader_tokens: 400,
            temperature: 0.0,
            rewrite_with_model: false,
            lexicon: String::new(),
            priorities: std::collections::BTreeMap::new(),
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Longest citizen message, in characters (longer: 413).
    pub max_message_chars: usize,
    /// Answers in progress or waiting at once; past it, 503 with
    /// `Retry-After` at once rather than a hanging request.
    pub queue: usize,
    /// Seconds an answer may take before it is cancelled.
    pub request_timeout_secs: u64,
    /// Chat requests per minute from one client address (0: no limit).
    pub rate_per_minute: u32,
    /// Largest request body, in bytes (chat and JSON endpoints).
    pub max_body_bytes: usize,
    /// Largest uploaded document, in bytes (413 past it).
    pub max_upload_bytes: usize,
    /// Largest upload request (several documents), in bytes.
    pub max_upload_request_bytes: usize,
    /// Questions one conversation may ask (0: no limit): a page stuck in a
    /// loop stops there, and a citizen starts a new conversation.
    pub questions_per_conversation: u64,
    /// Questions the whole service answers per day (0: no limit), so a
    /// runaway page on the town's site cannot monopolise the server.
    pub questions_per_day: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_message_chars: 2000,
            queue: 8,
            request_timeout_secs: 120,
            rate_per_minute: 30,
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 50 * 1024 * 1024,
            max_upload_request_bytes: 200 * 1024 * 1024,
            questions_per_conversation: 50,
            questions_per_day: 5000,
        }
    }
}

/// `[privacy]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacySettings {
    /// Keep the unmasked question beside the masked one (off by default:
    /// e-mail addresses, phone numbers, social security numbers and IBANs
    /// are masked before anything is stored).
    pub keep_original_questions: bool,
    /// Statistics list a question verbatim only when at least this many
    /// citizens asked it.
    pub min_group_size: u64,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            keep_original_questions: false,
            min_group_size: 3,
        }
    }
}

/// `[widget]`: how the citizen page and the embeddable widget look, and
/// where they may run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    /// The assistant's name in the page header.
    pub title: String,
    /// The first message citizens see.
    pub welcome: String,
    /// Main colour (`#rrggbb`). Text on it is white, so it must be dark
    /// enough for WCAG AA contrast (4.5:1): checked at start-up.
    pub color: String,
    /// The town's logo (path of a PNG, SVG, JPEG or WebP file; empty: a
    /// neutral built-in mark).
    pub logo: String,
    /// Origins of the sites allowed to embed the widget
    /// (`https://www.ville.fr`). The widget's page is served with a
    /// `frame-ancestors` policy listing them, and `widget.js` does nothing
    /// elsewhere. Empty: only this server's own pages.
    pub embed_origins: Vec<String>,
    /// Folder of evaluation runs (`guichet eval run --out`); the console
    /// shows the newest one's figures and report.
    pub eval_runs: String,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            title: "Assistant de la mairie".into(),
            welcome: "Bonjour ! Posez votre question sur les démarches et les services de la commune. Je réponds à partir des documents officiels, en citant mes sources.".into(),
            color: "#000091".into(),
            logo: String::new(),
            embed_origins: Vec::new(),
            eval_runs: "eval/runs".into(),
        }
    }
}

/// `[backup]`: archives the server writes on its own (`guichet backup`
/// does the same by hand or from cron).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Hours between two backups (0: no scheduled backup; decimals
    /// allowed). The first is taken this long after start-up.
    pub every_hours: f64,
    /// Archives kept; older ones are removed (0: keep all).
    pub keep: usize,
    /// Folder of the archives (empty: `DATA/backups`). Put it on another
    /// disk: a backup on the failing disk protects from little.
    pub folder: String,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            every_hours: 0.0,
            keep: 7,
            folder: String::new(),
        }
    }
}

/// One `[[sources]]` entry: a website the town publishes, crawled into
/// the knowledge base by `guichet crawl` and, when `every_hours` is set,
/// by the server on a schedule. Its pages are documents whose source is
/// their URL; a page gone from the site is removed at the next crawl.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceSettings {
    /// A short name (`site`, `agenda`): the crawl's documents carry it, and
    /// `guichet crawl --source NAME` picks it.
    pub name: String,
    /// Where to start: the home page, a section's page.
    pub start: Vec<String>,
    /// Host names that may be fetched (empty: the start URLs' hosts).
    pub hosts: Vec<String>,
    /// Path prefixes that may be fetched (empty: all), e.g. `/demarches/`.
    pub paths: Vec<String>,
    /// Path prefixes never fetched, e.g. `/agenda/archives/`.
    pub exclude: Vec<String>,
    /// Links followed from a start page or sitemap entry (0: those pages
    /// only).
    pub depth: u32,
    /// Most pages fetched in one crawl; a crawl stopped by it removes
    /// nothing.
    pub max_pages: usize,
    /// Milliseconds between two requests to one host (a robots.txt
    /// `Crawl-delay` that asks for more wins, up to 30 s).
    pub delay_ms: u64,
    /// Seconds one request may take, body included.
    pub timeout_secs: u64,
    /// Hours between two crawls by the server (0: only by hand).
    pub every_hours: f64,
    /// Collection the pages are filed under.
    pub collection: String,
    /// Read the `sitemap.xml` (and those robots.txt names) first.
    pub sitemaps: bool,
}

impl Default for SourceSettings {
    fn default() -> Self {
        Self {
            name: String::new(),
            start: Vec::new(),
            hosts: Vec::new(),
            paths: Vec::new(),
            exclude: Vec::new(),
            depth: 5,
            max_pages: 2_000,
            delay_ms: 1_000,
            timeout_secs: 30,
            every_hours: 0.0,
            collection: "site".into(),
            sitemaps: true,
        }
    }
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (colours only on a terminal).
    Text,
    /// One JSON object per line, for log collectors (Loki, Graylog,
    /// journald's JSON export…).
    Json,
}

/// `[log]`: logs go to stderr (the journal under systemd, `docker logs`).
/// `RUST_LOG` sets the levels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// One line per HTTP request at `info`: method, route (the path's
    /// pattern, never a query string or a question), status, duration.
    pub requests: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            requests: true,
        }
    }
}

/// How the e-mail relay is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS before anything is sent
    /// (port 587 by default); refused when the relay cannot upgrade.
    Starttls,
    /// TLS from the first byte (SMTPS, port 465 by default).
    Tls,
    /// No encryption: only for a relay on the same machine (port 25).
    None,
}

/// `[notify]`: when a citizen asks for a person (a handoff) or flags an
/// answer, the référents are told by e-mail and/or a signed webhook.
/// Notices are queued in the database and delivered by a background task
/// with retries, so a slow or absent relay never delays the citizen.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// The e-mail relay's host name (empty: no e-mail).
    pub smtp_host: String,
    /// Its port (0: 587 with STARTTLS, 465 with TLS, 25 without).
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`.
    pub smtp_tls: SmtpTls,
    /// User name for the relay (empty: no authentication).
    pub smtp_user: String,
    /// Its password (better set as `GUICHET_NOTIFY_SMTP_PASSWORD`).
    pub smtp_password: String,
    /// A certificate authority (PEM file) to trust for the relay and the
    /// webhook, for an internal CA (empty: the public roots).
    pub ca_file: String,
    /// The sender, e.g. `Guichet <guichet@ville.fr>`.
    pub from: String,
    /// Addresses told of every notice, besides the users whose topics
    /// match (see `guichet users add --email --topics`).
    pub to: Vec<String>,
    /// A URL that receives each notice as a JSON POST (empty: none).
    pub webhook_url: String,
    /// Key of the HMAC-SHA256 signature of the webhook's body (header
    /// `X-Guichet-Signature`); empty: unsigned.
    pub webhook_secret: String,
    /// Also tell when a citizen rates an answer down.
    pub on_flagged: bool,
    /// Put the citizen's contact details in the notice; off by default,
    /// the référent reads them in the console.
    pub include_contact: bool,
    /// The console's public address, linked from every notice (empty: no
    /// link).
    pub console_url: String,
    /// Seconds before the first retry of a failed delivery; each retry
    /// waits twice as long, up to an hour.
    pub retry_secs: u64,
    /// Deliveries tried before a notice is given up (then logged and
    /// counted in /metrics).
    pub max_attempts: u32,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: 0,
            smtp_tls: SmtpTls::Starttls,
            smtp_user: String::new(),
            smtp_password: String::new(),
            ca_file: String::new(),
            from: String::new(),
            to: Vec::new(),
            webhook_url: String::new(),
            webhook_secret: String::new(),
            on_flagged: true,
            include_contact: false,
            console_url: String::new(),
            retry_secs: 30,
            max_attempts: 10,
        }
    }
}

impl NotifySettings {
    /// Whether any channel is configured.
    pub fn enabled(&self) -> bool {
        !self.smtp_host.trim().is_empty() || !self.webhook_url.trim().is_empty()
    }

    /// The relay's port, with the default of its security mode.
    pub fn port(&self) -> u16 {
        match (self.smtp_port, self.smtp_tls) {
            (0, SmtpTls::Starttls) => 587,
            (0, SmtpTls::Tls) => 465,
            (0, SmtpTls::None) => 25,
            (p, _) => p,
        }
    }
}

/// `[ingest]`: what one document may cost. Documents are parsed in worker
/// processes under these limits (see [`crate::parse`]); a file past one of
/// them is refused alone, with its name and the limit, and the others go
/// on. The defaults let every document of the shared municipal corpus
/// through with a wide margin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSettings {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest total of decompressed bytes (PDF streams, DOCX/ODT parts).
    pub max_uncompressed_bytes: u64,
    /// Most pages of a PDF.
    pub max_pages: usize,
    /// Most characters of text in one document.
    pub max_text_chars: usize,
    /// Most chunks (passages) one document may give.
    pub max_chunks: usize,
    /// Deepest nesting of elements, arrays or dictionaries.
    pub max_depth: usize,
    /// Seconds one file may take to parse (wall clock and CPU).
    pub timeout_secs: u64,
    /// Memory (address space) of each parse worker, in MiB.
    pub worker_memory_mib: u64,
    /// Parse workers (0: one per core, at most 4); ingestion prepares as
    /// many documents side by side.
    pub workers: usize,
    /// OCR of scanned PDF pages: `auto` (when Tesseract and its French data
    /// are installed) or `off`.
    pub ocr: OcrMode,
    /// Most pages of one PDF read by OCR.
    pub ocr_max_pages: usize,
    /// Seconds added to a PDF's time limit for each page OCR may read
    /// (Tesseract takes 2 to 5 s a page on one core).
    pub ocr_page_secs: u64,
}

/// `[ingest] ocr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OcrMode {
    /// Read scanned pages when Tesseract is installed.
    Auto,
    /// Never: a scanned PDF is refused with that reason.
    Off,
}

impl Default for IngestSettings {
    fn default() -> Self {
        let parse = crate::parse::ParseLimits::default();
        Self {
            max_file_bytes: parse.load.max_bytes,
            max_uncompressed_bytes: parse.load.max_uncompressed,
            max_pages: parse.load.max_pages,
            max_text_chars: parse.load.max_text_chars,
            max_chunks: DEFAULT_MAX_CHUNKS,
            max_depth: parse.load.max_depth,
            timeout_secs: parse.timeout_secs,
            worker_memory_mib: parse.memory_bytes / (1024 * 1024),
            workers: 0,
            ocr: OcrMode::Auto,
            ocr_max_pages: parse.load.ocr.max_pages,
            ocr_page_secs: parse.ocr_page_secs,
        }
    }
}

impl IngestSettings {
    /// The limits the parse workers apply.
    pub fn parse_limits(&self) -> crate::parse::ParseLimits {
        let defaults = crate::parse::ParseLimits::default();
        crate::parse::ParseLimits {
            load: guichet_ingest::LoadOptions {
                max_bytes: self.max_file_bytes,
                max_uncompressed: self.max_uncompressed_bytes,
                max_pages: self.max_pages,
                max_text_chars: self.max_text_chars,
                max_depth: self.max_depth,
                ocr: guichet_ingest::OcrOptions {
                    enabled: self.ocr == OcrMode::Auto,
                    max_pages: self.ocr_max_pages,
                    ..defaults.load.ocr
                },
                ..defaults.load
            },
            timeout_secs: self.timeout_secs,
            ocr_page_secs: self.ocr_page_secs,
            memory_bytes: self.worker_memory_mib.saturating_mul(1024 * 1024),
            // A parsed document's JSON is a few times its text at most.
            max_output_bytes: (self.max_text_chars as u64)
                .saturating_mul(8)
                .max(defaults.max_output_bytes),
            ..defaults
        }
    }
}

/// WCAG relative luminance contrast of `#rrggbb` against white, `None`
/// when the colour is malformed.
pub fn contrast_with_white(color: &str) -> Option<f64> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| -> Option<f64> {
        let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).ok()?) / 255.0;
        Some(if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        })
    };
    let l = 0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?;
    Some(1.05 / (l + 0.05))
}

impl Settings {
    /// Reads `path` (when given), applies `GUICHET_*` overrides from
    /// `env`, and checks the result.
    pub fn load(path: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let mut table = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| Error::Io {
                    path: p.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| Error::Usage(format!("{}: {e}", p.display())))?
            }
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Settings::default())
            .map_err(|e| Error::Usage(format!("default settings: {e}: this is a bug")))?;
        apply_env(&mut table, &defaults, "GUICHET", env)?;
        let settings: Settings = table.try_into().map_err(|e| {
            let origin = path.map_or("the environment".to_string(), |p| p.display().to_string());
            Error::Usage(format!("{origin}: {e}"))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Usage(m.to_string()));
        if let Some(bad) = self
            .server
            .trusted_proxies
            .iter()
            .find(|p| parse_network(p).is_none())
        {
            return Err(Error::Usage(format!(
                "server.trusted_proxies: {bad} is neither an address nor a CIDR block"
            )));
        }
        if let Err(e) = crate::time::zone(&self.town.time_zone) {
            return Err(Error::Usage(format!("town.time_zone: {e}")));
        }
        if self.answer.sources == 0 {
            return bad("answer.sources must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.answer.abstain_below) {
            return bad("answer.abstain_below must be between 0 and 1");
        }
        if self
            .answer
            .priorities
            .values()
            .any(|p| !(0.0..=10.0).contains(p))
        {
            return bad("answer.priorities must be between 0 and 10");
        }
        let i = &self.ingest;
        if i.max_file_bytes == 0
            || i.max_uncompressed_bytes == 0
            || i.max_pages == 0
            || i.max_text_chars == 0
            || i.max_chunks == 0
            || i.max_depth == 0
            || i.timeout_secs == 0
        {
            return bad("the [ingest] limits must be at least 1");
        }
        if i.worker_memory_mib < 128 {
            return bad("ingest.worker_memory_mib must be at least 128 (the worker program itself needs some)");
        }
        if !(0.0..=24.0 * 366.0).contains(&self.backup.every_hours) {
            return bad("backup.every_hours must be between 0 and a year");
        }
        let mut names = std::collections::HashSet::new();
        for src in &self.sources {
            let name = src.name.trim();
            if name.is_empty() || !names.insert(name) {
                return bad("each [[sources]] needs a name of its own");
            }
            if src.start.is_empty() {
                return Err(Error::Usage(format!("sources {name}: start needs a URL")));
            }
            if let Some(u) = src.start.iter().find(|u| {
                !matches!(url::Url::parse(u), Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some())
            }) {
                return Err(Error::Usage(format!(
                    "sources {name}: {u:?} is not an http:// or https:// URL"
                )));
            }
            if src.max_pages == 0 || src.timeout_secs == 0 {
                return Err(Error::Usage(format!(
                    "sources {name}: max_pages and timeout_secs must be at least 1"
                )));
            }
            if !(0.0..=24.0 * 366.0).contains(&src.every_hours) {
                return Err(Error::Usage(format!(
                    "sources {name}: every_hours must be between 0 and a year"
                )));
            }
        }
        let g = &self.generation;
        if g.backend == GenerationBackend::Openai {
            let url = g.base_url.trim();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad("generation.base_url must be the server's http:// or https:// API root (such as http://127.0.0.1:8081/v1) when generation.backend = \"openai\"");
            }
            if g.max_in_flight == 0 || g.timeout_secs == 0 || g.connect_timeout_secs == 0 {
                return bad("generation.max_in_flight, generation.timeout_secs and generation.connect_timeout_secs must be at least 1");
            }
        }
        if self.limits.queue == 0 {
            return bad("limits.queue must be at least 1");
        }
        if self.limits.max_message_chars == 0 {
            return bad("limits.max_message_chars must be at least 1");
        }
        match contrast_with_white(&self.widget.color) {
            None => {
                return Err(Error::Usage(format!(
                    "widget.color {:?} is not a #rrggbb colour",
                    self.widget.color
                )))
            }
            Some(c) if c < 4.5 => {
                return Err(Error::Usage(format!(
                    "widget.color {} gives a contrast of {c:.1}:1 with white text; WCAG AA needs 4.5:1, choose a darker colour",
                    self.widget.color
                )))
            }
            Some(_) => {}
        }
        let origin = regex::Regex::new(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
            .map_err(|e| Error::Usage(format!("origin pattern: {e}")))?;
        if let Some(o) = self
            .widget
            .embed_origins
            .iter()
            .find(|o| !origin.is_match(o))
        {
            return Err(Error::Usage(format!(
                "widget.embed_origins: {o:?} is not an origin such as https://www.ville.fr (scheme and host, no path)"
            )));
        }
        let n = &self.notify;
        if !n.smtp_host.trim().is_empty() && n.from.trim().is_empty() {
            return bad(
                "notify.from is needed to send e-mail (e.g. \"Guichet <guichet@ville.fr>\")",
            );
        }
        let url = n.webhook_url.trim();
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return bad("notify.webhook_url must be an http:// or https:// URL");
        }
        if n.max_attempts == 0 || n.retry_secs == 0 {
            return bad("notify.max_attempts and notify.retry_secs must be at least 1");
        }
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(Error::Usage(format!(
                "server.bind {:?} is not an address:port such as 127.0.0.1:8080",
                self.server.bind
            )));
        }
        Ok(())
    }
}

/// Walks the keys of `defaults` (which has every key) and sets those whose
/// `PREFIX_KEY` variable is set. A value is read as TOML when it parses as
/// the key's type (numbers, booleans, arrays), else as a string.
fn apply_env(
    table: &mut toml::Table,
    defaults: &toml::Table,
    prefix: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    for (key, default) in defaults {
        let name = format!("{prefix}_{}", key.to_uppercase());
        if let toml::Value::Table(sub) = default {
            // A map-valued key (`answer.priorities`) is set whole, as an
            // inline table: `GUICHET_ANSWER_PRIORITIES='{ mairie = 1.3 }'`.
            if let Some(raw) = env(&name) {
                let value = format!("v = {raw}")
                    .parse::<toml::Table>()
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .filter(toml::Value::is_table)
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "{name}={raw}: not an inline table such as {{ key = 1.0 }}"
                        ))
                    })?;
                table.insert(key.clone(), value);
                continue;
            }
            let entry = table
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                apply_env(t, sub, &name, env)?;
            }
            continue;
        }
        let Some(raw) = env(&name) else { continue };
        let value = match default {
            toml::Value::String(_) => toml::Value::String(raw),
            _ => format!("v = {raw}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .ok_or_else(|| Error::Usage(format!("{name}={raw}: not a valid value")))?,
        };
        table.insert(key.clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guichet.toml");
        std::fs::write(
            &path,
            "data = \"/srv/guichet\"\n[town]\nname = \"Mairie de Sète\"\nphone = \"04 00 00 00 00\"\n[limits]\nqueue = 3\n",
        )
        .unwrap();
        let env = |k: &str| match k {
            "GUICHET_TOWN_PHONE" => Some("04 99 99 99 99".to_string()),
            "GUICHET_LIMITS_RATE_PER_MINUTE" => Some("5".to_string()),
            "GUICHET_SERVER_CORS_ORIGINS" => Some("[\"https://sete.fr\"]".to_string()),
            _ => None,
        };
        let s = Settings::load(Some(&path), &env).unwrap();
        assert_eq!(s.data, PathBuf::from("/srv/guichet"));
        assert_eq!(s.town.name, "Mairie de Sète");
        assert_eq!(s.town.phone, "04 99 99 99 99");
        assert_eq!(s.limits.queue, 3);
        assert_eq!(s.limits.rate_per_minute, 5);
        assert_eq!(s.server.cors_origins, vec!["https://sete.fr".to_string()]);
        assert_eq!(s.answer.mode, AnswerMode::Extractive);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guichet.toml");
        std::fs::write(&path, "[town]\nnmae = \"x\"\n").unwrap();
        let e = Settings::load(Some(&path), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nmae"), "{e}");
        let env = |k: &str| (k == "GUICHET_LIMITS_QUEUE").then(|| "beaucoup".to_string());
        let e = Settings::load(None, &env).unwrap_err().to_string();
        assert!(e.contains("GUICHET_LIMITS_QUEUE"), "{e}");
        let env = |k: &str| (k == "GUICHET_SERVER_BIND").then(|| "localhost".to_string());
        let e = Settings::load(None, &env).unwrap_err().to_string();
        assert!(e.contains("server.bind"), "{e}");
    }

    #[test]
    fn the_example_source_block_is_valid_and_has_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("guichet.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let block: String = text
            .lines()
            .skip_while(|l| l.trim() != "# [[sources]]")
            .map_while(|l| l.strip_prefix("# "))
            .map(|l| format!("{l}\n"))
            .collect();
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("guichet.toml");
        std::fs::write(&file, &block).unwrap();
        let s = Settings::load(Some(&file), &|_| None).unwrap();
        assert_eq!(s.sources.len(), 1, "{block}");
        let got = &s.sources[0];
        let want = SourceSettings {
            name: "site".into(),
            start: vec!["https://www.ville.fr/".into()],
            every_hours: 24.0,
            ..SourceSettings::default()
        };
        assert_eq!(
            toml::Table::try_from(got).unwrap(),
            toml::Table::try_from(&want).unwrap()
        );
        std::fs::write(&file, block.replace("https://www.ville.fr/", "ftp://x")).unwrap();
        let e = Settings::load(Some(&file), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an http"), "{e}");
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("guichet.example.toml");
        let s = Settings::load(Some(&path), &|_| None).unwrap();
        let d = Settings::default();
        assert_eq!(
            toml::Table::try_from(&s).unwrap(),
            toml::Table::try_from(&d).unwrap()
        );
    }
}
