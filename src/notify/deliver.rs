//! Delivery of the queued notices: e-mail through the town's relay
//! (`lettre`, STARTTLS or TLS with `rustls`) and a JSON POST signed with
//! HMAC-SHA256 (`ureq`), by one background thread that retries a failed
//! delivery with a doubling delay and gives up after `max_attempts`.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use sha2::Sha256;

use crate::referents::notifications::{Channel, Outgoing};
use crate::referents::Referents;
use crate::settings::{NotifySettings, SmtpTls};
use crate::{Error, Result};

/// The signature of a webhook body sent at `timestamp` (Unix seconds):
/// `sha256=` and the hex HMAC-SHA256 of `TIMESTAMP.BODY` under `secret`.
/// The receiver recomputes it and refuses an old timestamp (a replay).
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", guichet_text::hex(&mac.finalize().into_bytes()))
}

/// What delivers: the relay's transport and the webhook's client, built
/// once from `[notify]` (a bad setting fails at start-up, not at the first
/// notice).
pub struct Sender {
    smtp: Option<(SmtpTransport, Mailbox)>,
    http: ureq::Agent,
    secret: String,
}

fn config_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Usage(format!("notify.{what}: {e}"))
}

impl Sender {
    /// Builds the channels `[notify]` configures.
    pub fn new(n: &NotifySettings) -> Result<Self> {
        let ca = if n.ca_file.is_empty() {
            None
        } else {
            Some(std::fs::read(&n.ca_file).map_err(|source| Error::Io {
                path: PathBuf::from(&n.ca_file),
                source,
            })?)
        };
        let smtp = if n.smtp_host.trim().is_empty() {
            None
        } else {
            let host = n.smtp_host.trim().to_string();
            let tls = |host: &str| -> Result<TlsParameters> {
                let mut b = TlsParameters::builder(host.to_string());
                if let Some(pem) = &ca {
                    b = b.add_root_certificate(
                        Certificate::from_pem(pem).map_err(|e| config_error("ca_file", e))?,
                    );
                }
                b.build_rustls().map_err(|e| config_error("smtp_tls", e))
            };
            let mut b = SmtpTransport::builder_dangerous(&host)
                .port(n.port())
                .timeout(Some(Duration::from_secs(30)))
                .tls(match n.smtp_tls {
                    SmtpTls::Starttls => Tls::Required(tls(&host)?),
                    SmtpTls::Tls => Tls::Wrapper(tls(&host)?),
                    SmtpTls::None => Tls::None,
                });
            if !n.smtp_user.is_empty() {
                b = b.credentials(Credentials::new(
                    n.smtp_user.clone(),
                    n.smtp_password.clone(),
                ));
            }
            let from: Mailbox = n.from.parse().map_err(|e| config_error("from", e))?;
            for to in &n.to {
                to.parse::<Mailbox>()
                    .map_err(|e| config_error("to", format!("{to:?}: {e}")))?;
            }
            Some((b.build(), from))
        };
        let mut http = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .max_redirects(0);
        if let Some(pem) = &ca {
            let cert =
                ureq::tls::Certificate::from_pem(pem).map_err(|e| config_error("ca_file", e))?;
            http = http.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]))
                    .build(),
            );
        }
        Ok(Self {
            smtp,
            http: http.build().into(),
            secret: n.webhook_secret.clone(),
        })
    }

    /// Delivers one notice; the error says why, for the log and the retry.
    pub fn deliver(&self, o: &Outgoing) -> std::result::Result<(), String> {
        match o.channel {
            Channel::Email => {
                let (transport, from) = self
                    .smtp
                    .as_ref()
                    .ok_or("e-mail is no longer configured ([notify] smtp_host)")?;
                let to: Mailbox = o
                    .recipient
                    .parse()
                    .map_err(|e| format!("recipient {:?}: {e}", o.recipient))?;
                let mail = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&o.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(o.body.clone())
                    .map_err(|e| format!("building the e-mail: {e}"))?;
                transport
                    .send(&mail)
                    .map(|_| ())
                    .map_err(|e| format!("SMTP: {e}"))
            }
            Channel::Webhook => {
                let ts = crate::time::now_secs();
                let mut req = self
                    .http
                    .post(&o.recipient)
                    .header("Content-Type", "application/json")
                    .header("X-Guichet-Event", &o.event)
                    .header("X-Guichet-Delivery", o.id.to_string())
                    .header("X-Guichet-Timestamp", ts.to_string());
                if !self.secret.is_empty() {
                    req = req.header("X-Guichet-Signature", signature(&self.secret, ts, &o.body));
                }
                let resp = req.send(&o.body).map_err(|e| format!("webhook: {e}"))?;
                let status = resp.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("webhook answered {status}"))
                }
            }
        }
    }
}

/// Wakes the delivery thread when a notice is queued, so it goes at once
/// rather than at the next poll. Dropping every waker stops the thread.
#[derive(Clone)]
pub struct Waker(mpsc::Sender<()>);

impl Waker {
    /// Asks for a delivery round now.
    pub fn wake(&self) {
        // The thread gone (shutting down): the notice stays queued.
        let _ = self.0.send(());
    }
}

/// The delay before retry number `attempt` (1 for the first retry):
/// `retry_secs` doubled each time, at most an hour.
pub fn backoff(retry_secs: u64, attempt: u32) -> u64 {
    let doubled = retry_secs.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
    doubled.min(3600).max(retry_secs.min(3600))
}

/// Starts the delivery thread over the database at `db`; `None` when no
/// channel is configured. Fails on a bad `[notify]` setting.
pub fn start(db: PathBuf, n: &NotifySettings) -> Result<Option<Waker>> {
    if !n.enabled() {
        return Ok(None);
    }
    let sender = Sender::new(n)?;
    let store = Referents::open(&db)?;
    let (tx, rx) = mpsc::channel::<()>();
    let n = n.clone();
    std::thread::Builder::new()
        .name("guichet-notify".into())
        .spawn(move || run(&store, &sender, &n, &rx))
        .map_err(|e| Error::Unavailable(format!("notification thread: {e}")))?;
    Ok(Some(Waker(tx)))
}

fn run(store: &Referents, sender: &Sender, n: &NotifySettings, wake: &mpsc::Receiver<()>) {
    let poll = Duration::from_secs(n.retry_secs.clamp(1, 10));
    loop {
        match wake.recv_timeout(poll) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if let Err(e) = round(store, sender, n) {
            tracing::error!("notifications: {e}");
        }
    }
}

/// Delivers what is due now.
fn round(store: &Referents, sender: &Sender, n: &NotifySettings) -> Result<()> {
    loop {
        let now = crate::time::now_secs();
        let due = store.due_notices(&crate::time::utc(now), 20)?;
        if due.is_empty() {
            return Ok(());
        }
        for o in &due {
            match sender.deliver(o) {
                Ok(()) => {
                    store.notice_sent(o.id)?;
                    tracing::info!(
                        "notice {} ({}) sent to {}",
                        o.reference,
                        o.event,
                        o.recipient
                    );
                }
                Err(e) => {
                    let attempt = o.attempts + 1;
                    if attempt >= n.max_attempts {
                        tracing::error!(
                            "notice {} to {} given up after {attempt} tries: {e}",
                            o.reference,
                            o.recipient
                        );
                        store.notice_failed(o.id, &e, None)?;
                    } else {
                        let wait = backoff(n.retry_secs, attempt);
                        tracing::warn!(
                            "notice {} to {} failed (try {attempt}), retried in {wait} s: {e}",
                            o.reference,
                            o.recipient
                        );
                        let at = crate::time::utc(crate::time::now_secs() + wait);
                        store.notice_failed(o.id, &e, Some(&at))?;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_change_with_the_key_the_time_and_the_body() {
        let s = signature("k", 1_700_000_000, "{}");
        assert!(
            s.starts_with("sha256=") && s.len() == "sha256=".len() + 64,
            "{s}"
        );
        assert_eq!(s, signature("k", 1_700_000_000, "{}"));
        assert_ne!(s, signature("k", 1_700_000_001, "{}"));
        assert_ne!(s, signature("l", 1_700_000_000, "{}"));
        assert_ne!(s, signature("k", 1_700_000_000, "{ }"));
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_an_hour() {
        assert_eq!(backoff(30, 1), 30);
        assert_eq!(backoff(30, 2), 60);
        assert_eq!(backoff(30, 4), 240);
        assert_eq!(backoff(30, 30), 3600);
        assert_eq!(backoff(1, 1), 1);
    }
}
