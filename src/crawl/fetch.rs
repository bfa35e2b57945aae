//! HTTP for the crawler: one request at a time per host, spaced by the
//! source's delay (or the robots.txt `Crawl-delay`), each with a time
//! limit and a size limit, conditional when the page was fetched before,
//! redirects handed back to the caller (which checks each hop against the
//! scope and robots.txt), and the robots.txt of each host read once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use texting_robots::Robot;
use url::Url;

/// What the crawler says it is, in requests and to robots.txt rules.
pub const USER_AGENT: &str = concat!(
    "GuichetBot/",
    env!("CARGO_PKG_VERSION"),
    " (assistant municipal ; lecture des pages publiques de la commune)"
);

/// The token robots.txt groups are matched on (`User-agent: GuichetBot`).
const ROBOTS_TOKEN: &str = "GuichetBot";

/// The longest `Crawl-delay` obeyed: past it a site would take days.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(30);

/// One answer to a request.
#[derive(Debug)]
pub enum Reply {
    /// 2xx with its body.
    Body {
        /// The body (within the size limit).
        bytes: Vec<u8>,
        /// The media type, lowercase, without parameters.
        media_type: String,
        /// `ETag`, if given.
        etag: Option<String>,
        /// `Last-Modified`, if given.
        last_modified: Option<String>,
    },
    /// 304: the stored version is current.
    NotModified,
    /// 3xx with a `Location`.
    Redirect(String),
    /// 404 or 410: the page is gone.
    Gone,
    /// Anything else, in French: the page is kept as stored.
    Failed(String),
}

/// The rules of one host's robots.txt.
enum Rules {
    /// No robots.txt (4xx): everything allowed.
    All,
    /// The parsed file.
    Robot(Box<Robot>),
    /// robots.txt unreachable (5xx, network): nothing allowed (RFC 9309
    /// §2.3.1.4), with the reason.
    Nothing(String),
}

/// The crawler's HTTP side.
pub struct Fetcher {
    agent: ureq::Agent,
    max_bytes: u64,
    delay: Duration,
    /// A host's robots.txt `Crawl-delay`, when longer than `delay`.
    delays: HashMap<String, Duration>,
    last: HashMap<String, Instant>,
    robots: HashMap<String, Rules>,
}

/// `scheme://host:port`, the unit of robots.txt and of politeness.
fn origin(u: &Url) -> String {
    u.origin().ascii_serialization()
}

impl Fetcher {
    /// A fetcher whose requests take at most `timeout` each and whose
    /// bodies are at most `max_bytes`, spacing requests to one host by
    /// `delay`.
    pub fn new(timeout: Duration, max_bytes: u64, delay: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .build()
            .into();
        Self {
            agent,
            max_bytes,
            delay,
            delays: HashMap::new(),
            last: HashMap::new(),
            robots: HashMap::new(),
        }
    }

    /// Whether robots.txt lets the crawler fetch `u` (read on the first
    /// URL of each host). `Err` names why a host's robots.txt could not
    /// be read, in which case nothing there is fetched.
    pub fn allowed(&mut self, u: &Url) -> Result<bool, String> {
        let key = origin(u);
        if !self.robots.contains_key(&key) {
            let rules = self.read_robots(u);
            self.robots.insert(key.clone(), rules);
        }
        match self.robots.get(&key) {
            Some(Rules::Robot(r)) => Ok(r.allowed(u.as_str())),
            Some(Rules::Nothing(why)) => Err(why.clone()),
            Some(Rules::All) | None => Ok(true),
        }
    }

    /// The sitemaps robots.txt names for `u`'s host (after [`allowed`]).
    ///
    /// [`allowed`]: Fetcher::allowed
    pub fn robots_sitemaps(&self, u: &Url) -> Vec<String> {
        match self.robots.get(&origin(u)) {
            Some(Rules::Robot(r)) => r.sitemaps.clone(),
            _ => Vec::new(),
        }
    }

    fn read_robots(&mut self, u: &Url) -> Rules {
        let Ok(robots_url) = u.join("/robots.txt") else {
            return Rules::All;
        };
        match self.get(&robots_url, None, None) {
            Reply::Body { bytes, .. } => match Robot::new(ROBOTS_TOKEN, &bytes) {
                Ok(r) => {
                    if let Some(d) = r.delay.filter(|d| d.is_finite() && *d > 0.0) {
                        let asked = Duration::from_secs_f32(d).min(MAX_CRAWL_DELAY);
                        self.delays.insert(origin(u), asked);
                    }
                    Rules::Robot(Box::new(r))
                }
                // An unreadable file sets no rule (RFC 9309 §2.2: parse
                // what can be parsed; this parser gives up as a whole).
                Err(_) => Rules::All,
            },
            Reply::Gone | Reply::NotModified => Rules::All,
            Reply::Redirect(_) => Rules::All,
            Reply::Failed(why) if why.starts_with("HTTP 4") => Rules::All,
            Reply::Failed(why) => Rules::Nothing(format!("robots.txt illisible ({why})")),
        }
    }

    /// GET `u`, conditional on `etag` / `last_modified` when given, after
    /// waiting for the host's turn.
    pub fn get(&mut self, u: &Url, etag: Option<&str>, last_modified: Option<&str>) -> Reply {
        let key = origin(u);
        if let Some(last) = self.last.get(&key) {
            let delay = self
                .delays
                .get(&key)
                .map_or(self.delay, |d| self.delay.max(*d));
            let wait = delay.saturating_sub(last.elapsed());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
        let mut req = self.agent.get(u.as_str());
        if let Some(e) = etag {
            req = req.header("If-None-Match", e);
        }
        if let Some(m) = last_modified {
            req = req.header("If-Modified-Since", m);
        }
        let reply = match req.call() {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let header = |name: &str| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                match status {
                    200..=299 => {
                        let media_type = header("content-type")
                            .and_then(|t| {
                                t.split(';').next().map(|m| m.trim().to_ascii_lowercase())
                            })
                            .unwrap_or_default();
                        let (etag, last_modified) = (header("etag"), header("last-modified"));
                        match resp
                            .body_mut()
                            .with_config()
                            .limit(self.max_bytes)
                            .read_to_vec()
                        {
                            Ok(bytes) => Reply::Body {
                                bytes,
                                media_type,
                                etag,
                                last_modified,
                            },
                            Err(ureq::Error::BodyExceedsLimit(_)) => Reply::Failed(format!(
                                "trop volumineux (plus de {} Mo)",
                                self.max_bytes / (1024 * 1024)
                            )),
                            Err(e) => Reply::Failed(describe(&e)),
                        }
                    }
                    304 => Reply::NotModified,
                    300..=399 => match header("location") {
                        Some(l) => Reply::Redirect(l),
                        None => Reply::Failed(format!("HTTP {status} sans Location")),
                    },
                    404 | 410 => Reply::Gone,
                    _ => Reply::Failed(format!("HTTP {status}")),
                }
            }
            Err(e) => Reply::Failed(describe(&e)),
        };
        self.last.insert(key, Instant::now());
        reply
    }
}

/// A transport error in French, for the summary.
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "délai dépassé".into(),
        ureq::Error::HostNotFound => "nom d'hôte inconnu".into(),
        ureq::Error::ConnectionFailed => "connexion impossible".into(),
        other => format!("erreur réseau : {other}"),
    }
}
