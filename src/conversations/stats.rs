//! Live statistics for the town: what citizens ask, what the assistant
//! answers, where it abstains, so that référents see the gaps in their
//! documents. Computed from the stored (masked) questions; a group of
//! unanswered questions smaller than `min_group` is counted but never
//! listed verbatim, so statistics do not expose one person's question.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::time::days_since_epoch as days;
use crate::Result;

/// The figures of one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Period {
    /// First day of the period (YYYY-MM-DD; weeks start on Monday).
    pub start: String,
    /// Questions asked.
    pub questions: u64,
    /// Answered from the documents.
    pub answered: u64,
    /// Abstentions (not found, out of scope, refused).
    pub abstained: u64,
    /// Curated answers served.
    pub curated: u64,
    /// Handoffs to a person (requests and tickets).
    pub handed_off: u64,
    /// Thumbs up.
    pub thumbs_up: u64,
    /// Thumbs down.
    pub thumbs_down: u64,
    /// Median total answer time (ms).
    pub median_ms: Option<f64>,
}

/// Statistics over a date range.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stats {
    /// First day (YYYY-MM-DD).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// `day` or `week`.
    pub granularity: String,
    /// The whole range.
    pub total: Period,
    /// Period by period.
    pub periods: Vec<Period>,
    /// Questions per municipal topic, most asked first.
    pub topics: Vec<(String, u64)>,
    /// The most asked questions the assistant could not answer (grouped
    /// by normalised text; groups smaller than the privacy minimum are
    /// left out).
    pub top_unanswered: Vec<(String, u64)>,
    /// Every unanswered question with its count, grouped by normalised
    /// text only and not filtered (for [`group_similar`]; never sent).
    #[serde(skip)]
    #[schema(ignore)]
    pub unanswered_groups: Vec<(String, u64)>,
}

/// Two unanswered questions whose embeddings are at least this close are
/// counted as one. Measured with e5-small on a handful of pairs: the same
/// question reworded scored 0.962–0.986 ("Quels sont les horaires de la
/// piscine municipale ?", "Horaires de la piscine municipale ?", "À quelle
/// heure ouvre la piscine municipale ?"; adopting a cat at the shelter in
/// three wordings: 0.966–0.982), another question on the same subject
/// 0.90–0.95 (the pool's prices, the shelter's hours), unrelated 0.75–0.78.
/// Provisional, like the curated answers' threshold.
pub const UNANSWERED_SIMILARITY: f32 = 0.96;

/// Groups at most this many distinct unanswered questions by similarity
/// (the most asked first); the rest stay grouped by text.
const MAX_EMBEDDED: usize = 500;

/// Merges the unanswered questions of `groups` (text, count) that ask the
/// same thing in other words ([`UNANSWERED_SIMILARITY`] between their
/// embeddings from `embed`), each group named by its most asked wording;
/// then keeps the groups asked at least `min_group` times (privacy), most
/// asked first, 20 at most.
pub fn group_similar(
    mut groups: Vec<(String, u64)>,
    embed: crate::EmbedTexts<'_>,
    min_group: u64,
) -> Result<Vec<(String, u64)>> {
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let n = groups.len().min(MAX_EMBEDDED);
    let texts: Vec<String> = groups[..n].iter().map(|g| g.0.clone()).collect();
    let vectors = if texts.is_empty() {
        Vec::new()
    } else {
        embed(&texts)?
    };
    let mut merged: Vec<(String, u64, Option<Vec<f32>>)> = Vec::new();
    for (i, (q, count)) in groups.into_iter().enumerate() {
        let v = vectors.get(i).cloned();
        let close = v.as_ref().and_then(|v| {
            merged.iter().position(|(_, _, m)| {
                m.as_ref()
                    .is_some_and(|m| guichet_models::cosine(m, v) >= UNANSWERED_SIMILARITY)
            })
        });
        match close {
            Some(j) => merged[j].1 += count,
            None => merged.push((q, count, v)),
        }
    }
    let mut top: Vec<(String, u64)> = merged
        .into_iter()
        .filter(|(_, n, _)| *n >= min_group)
        .map(|(q, n, _)| (q, n))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(20);
    Ok(top)
}

/// The period start of a day: itself, or the Monday of its week.
fn period_start(date: &str, week: bool) -> String {
    match (week, days(date)) {
        (true, Some(n)) => {
            // 1970-01-01 was a Thursday: Monday is 3 days before.
            let monday = n - (n + 3).rem_euclid(7);
            crate::time::utc((monday * 86_400).max(0) as u64)[..10].to_string()
        }
        _ => date.to_string(),
    }
}

fn normalise(q: &str) -> String {
    guichet_text::folded_phrase(q)
}

/// Validates a date parameter (`YYYY-MM-DD`, a day of the calendar).
pub fn check_date(d: &str) -> bool {
    days(d).is_some()
}

/// The stored UTC dates that may fall on the local days `from..=to` (a
/// day either side: no zone is more than 14 hours from UTC), for the SQL
/// filter; the local day of each row is then computed exactly.
fn utc_range(from: &str, to: &str) -> (String, String) {
    let shift = |d: &str, by: i64| {
        days(d).map_or(d.to_string(), |n| {
            crate::time::utc(((n + by) * 86_400).max(0) as u64)[..10].to_string()
        })
    };
    (shift(from, -1), shift(to, 1))
}

/// Computes the statistics of the local days `from..=to` (in `tz`, the
/// town's zone: an answer given at 23:30 UTC in summer counts for the next
/// French day) from the database behind `conn`.
pub fn compute(
    conn: &Connection,
    from: &str,
    to: &str,
    week: bool,
    min_group: u64,
    tz: &crate::time::TimeZone,
) -> Result<Stats> {
    let (utc_from, utc_to) = utc_range(from, to);
    let local = |stored: &str| {
        crate::time::local_date_of(tz, stored).filter(|d| d.as_str() >= from && d.as_str() <= to)
    };
    let mut periods: BTreeMap<String, (Period, Vec<f64>)> = BTreeMap::new();
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    let mut unanswered: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut st = conn.prepare(
        "SELECT created_at, status, topic, question, timings FROM answers
         WHERE substr(created_at, 1, 10) BETWEEN ?1 AND ?2",
    )?;
    let rows = st.query_map(params![utc_from, utc_to], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    for row in rows {
        let (at, status, topic, question, timings) = row?;
        let Some(day) = local(&at) else {
            continue;
        };
        let key = period_start(&day, week);
        let (p, times) = periods.entry(key.clone()).or_default();
        p.start = key;
        p.questions += 1;
        match status.as_str() {
            "answered" => p.answered += 1,
            "curated" => p.curated += 1,
            "handoff_suggested" => p.handed_off += 1,
            _ => p.abstained += 1,
        }
        if let Some(ms) = serde_json::from_str::<serde_json::Value>(&timings)
            .ok()
            .and_then(|t| t["total_ms"].as_f64())
        {
            times.push(ms);
        }
        *topics
            .entry(topic.unwrap_or_else(|| "autre".into()))
            .or_default() += 1;
        if matches!(status.as_str(), "not_found" | "out_of_scope") {
            let e = unanswered
                .entry(normalise(&question))
                .or_insert((question.clone(), 0));
            e.1 += 1;
        }
    }
    let mut fb = conn.prepare(
        "SELECT f.created_at, f.rating FROM feedback f
         WHERE substr(f.created_at, 1, 10) BETWEEN ?1 AND ?2",
    )?;
    for row in fb.query_map(params![utc_from, utc_to], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (at, rating) = row?;
        let Some(day) = local(&at) else {
            continue;
        };
        let key = period_start(&day, week);
        let (p, _) = periods.entry(key.clone()).or_default();
        p.start = key;
        if rating == "up" {
            p.thumbs_up += 1;
        } else {
            p.thumbs_down += 1;
        }
    }
    let mut hs = conn.prepare(
        "SELECT created_at FROM handoffs WHERE substr(created_at, 1, 10) BETWEEN ?1 AND ?2",
    )?;
    for row in hs.query_map(params![utc_from, utc_to], |r| r.get::<_, String>(0))? {
        let Some(day) = local(&row?) else {
            continue;
        };
        let key = period_start(&day, week);
        let (p, _) = periods.entry(key.clone()).or_default();
        p.start = key;
        p.handed_off += 1;
    }
    let mut total = Period {
        start: from.to_string(),
        ..Period::default()
    };
    let mut all_times = Vec::new();
    let mut out = Vec::new();
    for (_, (mut p, mut times)) in periods {
        total.questions += p.questions;
        total.answered += p.answered;
        total.abstained += p.abstained;
        total.curated += p.curated;
        total.handed_off += p.handed_off;
        total.thumbs_up += p.thumbs_up;
        total.thumbs_down += p.thumbs_down;
        all_times.extend(&times);
        p.median_ms = median(&mut times);
        out.push(p);
    }
    total.median_ms = median(&mut all_times);
    let mut topics: Vec<(String, u64)> = topics.into_iter().collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let all: Vec<(String, u64)> = unanswered.into_values().collect();
    let mut top: Vec<(String, u64)> = all
        .iter()
        .filter(|(_, n)| *n >= min_group)
        .cloned()
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(20);
    Ok(Stats {
        from: from.to_string(),
        to: to.to_string(),
        granularity: if week { "week" } else { "day" }.into(),
        total,
        periods: out,
        topics,
        top_unanswered: top,
        unanswered_groups: all,
    })
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_weeks() {
        assert_eq!(days("1970-01-01"), Some(0));
        assert_eq!(days("2026-12-01"), Some(1_796_083_200 / 86_400));
        assert_eq!(period_start("2026-12-03", true), "2026-11-30");
        assert_eq!(period_start("2026-11-30", true), "2026-11-30");
        assert_eq!(period_start("2026-12-03", false), "2026-12-03");
        assert!(!check_date("2026-13-01") && !check_date("hier") && check_date("2026-02-28"));
        assert!(!check_date("2026-02-30"));
    }

    #[test]
    fn answers_count_for_the_towns_day_across_the_clock_change() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        let conn = crate::schema::open(&db).unwrap();
        conn.execute("INSERT INTO conversations(id) VALUES ('c')", [])
            .unwrap();
        // 28 March 2026, 23:30 UTC is 00:30 on the 29th in Paris (winter
        // time, UTC+1); 29 March 21:30 UTC is 23:30 that day (summer time
        // since 02:00, UTC+2); 22:30 UTC is already the 30th.
        for (i, at) in [
            "2026-03-28T22:30:00.000Z",
            "2026-03-28T23:30:00.000Z",
            "2026-03-29T21:30:00.000Z",
            "2026-03-29T22:30:00.000Z",
        ]
        .iter()
        .enumerate()
        {
            conn.execute(
                "INSERT INTO answers(id, conversation_id, ordinal, question, standalone, answer, status,
                    confidence, mode, model, sources, timings, prompt_tokens, generated_tokens, channel, created_at)
                 VALUES (?1, 'c', ?2, 'q', 'q', 'a', 'answered', 0.9, 'extractive', 'm', '[]', '{}', 0, 0, 'api', ?3)",
                params![format!("a{i}"), i as i64, at],
            )
            .unwrap();
        }
        let paris = crate::time::zone("Europe/Paris").unwrap();
        let s = compute(&conn, "2026-03-28", "2026-03-30", false, 1, &paris).unwrap();
        let by_day: Vec<(String, u64)> = s
            .periods
            .iter()
            .map(|p| (p.start.clone(), p.questions))
            .collect();
        assert_eq!(
            by_day,
            [
                ("2026-03-28".to_string(), 1),
                ("2026-03-29".to_string(), 2),
                ("2026-03-30".to_string(), 1)
            ]
        );
        // Only the 29th: its two answers, none of its UTC neighbours.
        let s = compute(&conn, "2026-03-29", "2026-03-29", false, 1, &paris).unwrap();
        assert_eq!(s.total.questions, 2);
        let utc = compute(
            &conn,
            "2026-03-29",
            "2026-03-29",
            false,
            1,
            &crate::time::TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(utc.total.questions, 2, "21:30 and 22:30 UTC");
    }
}
