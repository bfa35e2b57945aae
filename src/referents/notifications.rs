//! The outbox of notices to référents (see `crate::notify`): one row per
//! delivery (an e-mail recipient or the webhook), `pending` until sent,
//! retried at `next_attempt_at`, `failed` once given up.

use rusqlite::params;

use super::Referents;
use crate::Result;

/// How a notice is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An e-mail through the configured relay.
    Email,
    /// A signed JSON POST.
    Webhook,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// `handoff` or `flagged`.
    pub event: String,
    /// The citizen's reference or the answer's id.
    pub reference: String,
    /// How.
    pub channel: Channel,
    /// An address or a URL.
    pub recipient: String,
    /// The e-mail's subject (empty for the webhook).
    pub subject: String,
    /// The e-mail's text or the webhook's JSON.
    pub body: String,
}

/// A queued delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its row.
    pub id: i64,
    /// `handoff` or `flagged`.
    pub event: String,
    /// The citizen's reference or the answer's id.
    pub reference: String,
    /// How.
    pub channel: Channel,
    /// An address or a URL.
    pub recipient: String,
    /// The e-mail's subject.
    pub subject: String,
    /// The e-mail's text or the webhook's JSON.
    pub body: String,
    /// Deliveries tried so far.
    pub attempts: u32,
}

/// Deliveries by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting for a first try or a retry.
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Given up.
    pub failed: u64,
}

impl Referents {
    /// Queues deliveries, all or none.
    pub fn enqueue_notices(&self, rows: &[NewNotice]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for r in rows {
            tx.execute(
                "INSERT INTO notifications(event, reference, channel, recipient, subject, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    r.event,
                    r.reference,
                    r.channel.as_str(),
                    r.recipient,
                    r.subject,
                    r.body
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Pending deliveries due at `now` (RFC 3339 UTC), oldest first.
    pub fn due_notices(&self, now: &str, limit: usize) -> Result<Vec<Outgoing>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, event, reference, channel, recipient, subject, body, attempts
             FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?1
             ORDER BY id LIMIT ?2",
        )?;
        let rows = st.query_map(params![now, limit as i64], |r| {
            let channel: String = r.get(3)?;
            Ok(Outgoing {
                id: r.get(0)?,
                event: r.get(1)?,
                reference: r.get(2)?,
                channel: if channel == "webhook" {
                    Channel::Webhook
                } else {
                    Channel::Email
                },
                recipient: r.get(4)?,
                subject: r.get(5)?,
                body: r.get(6)?,
                attempts: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Marks a delivery done.
    pub fn notice_sent(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE notifications SET status = 'sent', attempts = attempts + 1, last_error = NULL,
                sent_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Records a failed try: retried at `retry_at` (RFC 3339 UTC), or
    /// given up when `None`.
    pub fn notice_failed(&self, id: i64, error: &str, retry_at: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE notifications SET attempts = attempts + 1, last_error = ?2,
                status = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END,
                next_attempt_at = COALESCE(?3, next_attempt_at) WHERE id = ?1",
            params![id, error, retry_at],
        )?;
        Ok(())
    }

    /// Deliveries by state.
    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let mut c = OutboxCounts::default();
        let mut st = self
            .conn
            .prepare_cached("SELECT status, COUNT(*) FROM notifications GROUP BY status")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "pending" => c.pending = n,
                "sent" => c.sent = n,
                _ => c.failed += n,
            }
        }
        Ok(c)
    }
}
