//! Reviewed statements: what the `false_statements` metric counts.
//!
//! A false statement is an answer's sentence that contradicts its source or
//! states a fact no source holds. Groundedness only estimates that (shared
//! words, cosine): a sentence can share every word with its source and
//! still give a child's price as an adult's. So a reviewer reads answer
//! claims against their cited sources once, and the verdicts are kept in a
//! statements file (`eval/statements.jsonl`, one [`Statement`] per
//! line). A verdict is keyed by the claim's normalised text
//! ([`metrics::normalize`]), so it holds for every later run,
//! configuration and question that produces the same claim: the review
//! reruns by itself, and only new claims need reading.
//!
//! A run counts, per answer, its claims reviewed false and its claims
//! nobody reviewed yet ([`apply`]); an answer whose every claim is reviewed
//! is a *reviewed answer*, and the share of reviewed answers holding a
//! false statement is the headline figure. `guichet eval statements RUN`
//! writes a run's unreviewed claims as drafts ([`drafts`]), each with its
//! question and cited texts, for the reviewer to give a verdict.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::metrics;
use crate::run::CaseResult;
use crate::{Error, Result};

/// A reviewer's judgement of one claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// What its cited source says, in the case the answer states.
    Supported,
    /// Contradicts its source (a number, a date, a polarity, the case it
    /// holds for) or states what no source holds.
    False,
}

/// One claim as the statements file keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// The claim, as [`metrics::claims`] cut it from the answer.
    pub claim: String,
    /// The verdict; absent on a draft not reviewed yet.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Why it is false (what the source says instead), or a note.
    #[serde(default)]
    pub reason: String,
    /// The case it was first read in (`set:id`).
    #[serde(default)]
    pub case: String,
    /// That case's question.
    #[serde(default)]
    pub question: String,
    /// The documents the answer cited.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The cited texts, on drafts only: what the reviewer checks against.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cited: Vec<String>,
    /// Who reviewed it.
    #[serde(default)]
    pub reviewed_by: String,
    /// When (`YYYY-MM-DD`).
    #[serde(default)]
    pub reviewed_at: String,
}

/// The verdicts of a statements file, by normalised claim.
#[derive(Debug, Clone, Default)]
pub struct Reviewed {
    verdicts: HashMap<String, Verdict>,
}

impl Reviewed {
    /// Reads a statements file; drafts (no verdict) are skipped. Two
    /// verdicts on the same claim must agree.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut verdicts = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = || format!("{}:{}", path.display(), i + 1);
            let s: Statement =
                serde_json::from_str(line).map_err(|e| Error::Format(format!("{}: {e}", at())))?;
            let Some(v) = s.verdict else { continue };
            if s.claim.trim().is_empty() {
                return Err(Error::Format(format!("{}: empty claim", at())));
            }
            match verdicts.insert(key(&s.claim), v) {
                Some(old) if old != v => {
                    return Err(Error::Format(format!(
                        "{}: this claim is already reviewed with the other verdict",
                        at()
                    )))
                }
                _ => {}
            }
        }
        Ok(Self { verdicts })
    }

    /// Verdicts from a list (tests, tools).
    pub fn from_statements(statements: &[Statement]) -> Self {
        Self {
            verdicts: statements
                .iter()
                .filter_map(|s| s.verdict.map(|v| (key(&s.claim), v)))
                .collect(),
        }
    }

    /// The verdict on `claim`, if it was reviewed.
    pub fn verdict(&self, claim: &str) -> Option<Verdict> {
        self.verdicts.get(&key(claim)).copied()
    }

    /// Reviewed claims.
    pub fn len(&self) -> usize {
        self.verdicts.len()
    }

    /// No claim reviewed.
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
    }
}

/// What a verdict is keyed by: the claim normalised like facts (case,
/// accents, spaces and number forms do not count).
fn key(claim: &str) -> String {
    metrics::normalize(claim)
}

/// The claims a citizen reads as the town's word: those of answers, not of
/// abstentions (the town's configured text).
fn read_claims(r: &CaseResult) -> Vec<String> {
    if r.error.is_some() || r.answered.abstained {
        return Vec::new();
    }
    metrics::claims(&r.answered.answer)
}

/// Sets each result's `false_statements` and `unreviewed_claims` from
/// `reviewed` (after a run, and again on `--resume` once more claims are
/// reviewed).
pub fn apply(results: &mut [CaseResult], reviewed: &Reviewed) {
    for r in results {
        let claims = read_claims(r);
        let mut false_ = 0;
        let mut unreviewed = 0;
        for c in &claims {
            match reviewed.verdict(c) {
                Some(Verdict::False) => false_ += 1,
                Some(Verdict::Supported) => {}
                None => unreviewed += 1,
            }
        }
        r.metrics.false_statements = (!claims.is_empty()).then_some(false_);
        r.metrics.unreviewed_claims = unreviewed;
    }
}

/// The unreviewed claims of `results`' answers, once each, in case order,
/// as drafts carrying the question and the cited texts; at most
/// `max_answers` answers contribute (their claims all, so each becomes a
/// reviewed answer once its drafts are judged).
pub fn drafts(results: &[CaseResult], reviewed: &Reviewed, max_answers: usize) -> Vec<Statement> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut answers = 0;
    for r in results {
        if answers >= max_answers {
            break;
        }
        let new: Vec<String> = read_claims(r)
            .into_iter()
            .filter(|c| reviewed.verdict(c).is_none())
            .collect();
        if new.is_empty() {
            continue;
        }
        answers += 1;
        let cited: Vec<&crate::AnsweredSource> =
            r.answered.sources.iter().filter(|s| s.cited).collect();
        for claim in new {
            if !seen.insert(key(&claim)) {
                continue;
            }
            out.push(Statement {
                claim,
                verdict: None,
                reason: String::new(),
                case: format!("{}:{}", r.case.set, r.case.id),
                question: r.case.question.clone(),
                sources: cited.iter().map(|s| s.document.clone()).collect(),
                cited: cited.iter().map(|s| s.text.clone()).collect(),
                reviewed_by: String::new(),
                reviewed_at: String::new(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{CaseMetrics, CaseResult};
    use crate::{Answered, AnsweredSource, Case};

    fn result(id: &str, answer: &str, abstained: bool) -> CaseResult {
        let case: Case = serde_json::from_value(serde_json::json!({
            "id": id, "question": "Combien coûte le passeport ?", "kind": "fact",
            "expected_sources": [], "must_contain": [], "topic": "t",
            "status": "approved", "reviewed_by": "x", "reviewed_at": "2026-12-03", "note": ""
        }))
        .unwrap();
        CaseResult {
            case,
            answered: Answered {
                answer: answer.into(),
                abstained,
                sources: vec![AnsweredSource {
                    n: 1,
                    document: "F1.xml".into(),
                    cited: true,
                    text: "Le passeport coûte 86 € pour un majeur.".into(),
                    ..AnsweredSource::default()
                }],
                ..Answered::default()
            },
            metrics: CaseMetrics::default(),
            error: None,
        }
    }

    fn statement(claim: &str, verdict: Option<Verdict>) -> Statement {
        Statement {
            claim: claim.into(),
            verdict,
            reviewed_by: "r".into(),
            reviewed_at: "2026-12-03".into(),
            ..Statement::default()
        }
    }

    #[test]
    fn verdicts_count_per_answer_whatever_the_spacing_and_accents() {
        let reviewed = Reviewed::from_statements(&[
            statement(
                "Le passeport coûte 86 € pour un majeur",
                Some(Verdict::Supported),
            ),
            statement(
                "Le passeport coûte 42 € pour un majeur",
                Some(Verdict::False),
            ),
            statement("Une draft sans verdict encore", None),
        ]);
        assert_eq!(reviewed.len(), 2);
        let mut results = vec![
            result(
                "a",
                "Le  passeport coute 86 € pour un majeur [1].\nLe passeport coûte 42,00 € pour un majeur [1].\nIl faut aussi une photo récente.",
                false,
            ),
            result("b", "Je ne trouve pas la réponse dans nos documents.", true),
        ];
        apply(&mut results, &reviewed);
        assert_eq!(results[0].metrics.false_statements, Some(1));
        assert_eq!(results[0].metrics.unreviewed_claims, 1);
        assert_eq!(
            results[1].metrics.false_statements, None,
            "an abstention is the town's text"
        );
        let d = drafts(&results, &reviewed, 10);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].claim, "Il faut aussi une photo récente");
        assert_eq!(d[0].case, ":a");
        assert_eq!(
            d[0].cited,
            vec!["Le passeport coûte 86 € pour un majeur.".to_string()]
        );
        assert!(drafts(&results, &reviewed, 0).is_empty());
    }

    #[test]
    fn a_file_with_two_verdicts_on_one_claim_is_refused_and_drafts_are_skipped() {
        let dir = std::env::temp_dir().join(format!("guichet-statements-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("statements.jsonl");
        let line = |s: &Statement| serde_json::to_string(s).unwrap();
        let ok = statement("Le passeport coûte 86 €", Some(Verdict::Supported));
        let draft = statement("À relire", None);
        std::fs::write(&path, format!("{}\n\n{}\n", line(&ok), line(&draft))).unwrap();
        let r = Reviewed::load(&path).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            r.verdict("le passeport coute 86 €"),
            Some(Verdict::Supported)
        );
        let bad = statement("Le passeport coûte 86 €", Some(Verdict::False));
        std::fs::write(&path, format!("{}\n{}\n", line(&ok), line(&bad))).unwrap();
        let e = Reviewed::load(&path).unwrap_err().to_string();
        assert!(e.contains("statements.jsonl:2"), "{e}");
        std::fs::write(&path, "{\"claim\": 3}\n").unwrap();
        assert!(Reviewed::load(&path)
            .unwrap_err()
            .to_string()
            .contains(":1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
