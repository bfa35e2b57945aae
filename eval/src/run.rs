//! Runs: every case through an [`Answerer`], scored, written to
//! `results.jsonl` as it goes (so an interrupted run resumes where it
//! stopped), then summarised (`summary.json`) overall, by kind, by topic and
//! by set, and compared with a previous run when asked.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::metrics;
use crate::set::{Case, Status};
use crate::{Answered, Answerer, Error, Result};

/// The scores of one case (`None`: the metric does not apply to it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseMetrics {
    /// Expected source ranked first.
    pub hit_at_1: Option<f64>,
    /// Expected source in the first five.
    pub hit_at_5: Option<f64>,
    /// Reciprocal rank of the first expected source.
    pub reciprocal_rank: Option<f64>,
    /// Cited sources that are expected.
    pub citation_precision: Option<f64>,
    /// Expected documents that are cited.
    pub citation_recall: Option<f64>,
    /// Share of `must_contain` facts present.
    pub must_contain: Option<f64>,
    /// `must_not_contain` phrases present.
    pub violations: Vec<String>,
    /// Token F1 against the reference answer.
    pub f1: Option<f64>,
    /// Share of the answer's claims supported by its cited sources.
    pub groundedness: Option<f64>,
    /// An answer with claims and no citation.
    pub uncited_claims: bool,
    /// For cases that must be refused: refused, nothing forbidden said,
    /// contact given.
    pub abstention_correct: Option<bool>,
    /// For answerable cases: the assistant abstained.
    pub wrongly_refused: Option<bool>,
    /// For refusals: the town's contact is in the answer.
    pub contact_given: Option<bool>,
    /// The assistant took the question for the case's language (French
    /// unless the case says otherwise); `None` when the answerer does not
    /// say which.
    #[serde(default)]
    pub language_ok: Option<bool>,
    /// The case is handled as a citizen needs: an answerable one answered
    /// (not refused) with every key fact (or, without facts, citing an
    /// expected source) and no forbidden phrase; a must-refuse one refused
    /// as `abstention_correct` says.
    #[serde(default)]
    pub correct: Option<bool>,
    /// The answer's claims reviewed false in the statements file
    /// ([`crate::statements`]); `None` for abstentions and answers without
    /// claims.
    #[serde(default)]
    pub false_statements: Option<usize>,
    /// The answer's claims no review has judged yet.
    #[serde(default)]
    pub unreviewed_claims: usize,
    /// One figure per case (mean of the applicable facts, hit@5,
    /// citation hit and abstention scores), to rank the worst cases.
    pub score: f64,
}

/// One case's outcome, a line of `results.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// The answer.
    pub answered: Answered,
    /// Its scores.
    pub metrics: CaseMetrics,
    /// The answerer failed on it (the error), if so.
    #[serde(default)]
    pub error: Option<String>,
}

/// Scores an answer to a case. `similar[i]`: best cosine of claim `i` with
/// a cited source, when the answerer embeds.
pub fn score(
    case: &Case,
    a: &Answered,
    contacts: &[String],
    similar: Option<&[f32]>,
) -> CaseMetrics {
    let mut m = CaseMetrics::default();
    let abstained = a.abstained;
    if !case.expected_sources.is_empty() {
        let (h1, h5, rr) = metrics::retrieval(&a.sources, &case.expected_sources);
        m.hit_at_1 = Some(h1);
        m.hit_at_5 = Some(h5);
        m.reciprocal_rank = Some(rr);
        let (p, r) = metrics::citation_scores(&a.sources, &case.expected_sources);
        m.citation_precision = p;
        m.citation_recall = r;
    }
    m.must_contain = metrics::must_contain(&a.answer, &case.must_contain);
    m.violations = metrics::violations(&a.answer, &case.must_not_contain);
    if let Some(r) = &case.reference_answer {
        if !case.kind.should_abstain() {
            m.f1 = Some(metrics::f1(&a.answer, r));
        }
    }
    let claims = metrics::claims(&a.answer);
    if !abstained {
        let cited: Vec<&str> = a
            .sources
            .iter()
            .filter(|s| s.cited)
            .map(|s| s.text.as_str())
            .collect();
        m.uncited_claims = !claims.is_empty() && cited.is_empty();
        m.groundedness = metrics::groundedness(&claims, &cited, similar);
    }
    let contact = contacts.is_empty()
        || contacts
            .iter()
            .any(|c| metrics::normalize(&a.answer).contains(&metrics::normalize(c)));
    if case.kind.should_abstain() {
        m.contact_given = Some(abstained && contact);
        m.abstention_correct = Some(abstained && m.violations.is_empty() && contact);
    } else {
        m.wrongly_refused = Some(abstained);
    }
    m.correct = if case.kind.should_abstain() {
        m.abstention_correct
    } else if !case.must_contain.is_empty() {
        Some(!abstained && m.violations.is_empty() && m.must_contain == Some(1.0))
    } else if !case.expected_sources.is_empty() {
        Some(!abstained && m.violations.is_empty() && m.citation_recall.is_some_and(|r| r > 0.0))
    } else {
        None
    };
    if !a.language.is_empty() {
        m.language_ok = Some(a.language == case.language.as_deref().unwrap_or("fr"));
    }
    let mut parts: Vec<f64> = Vec::new();
    if let Some(x) = m.must_contain {
        parts.push(x);
    }
    if let Some(x) = m.hit_at_5 {
        parts.push(x);
    }
    if let Some(x) = m.citation_recall {
        parts.push(x);
    }
    if let Some(x) = m.abstention_correct {
        parts.push(f64::from(u8::from(x)));
    }
    if let Some(x) = m.wrongly_refused {
        parts.push(f64::from(u8::from(!x)));
    }
    if !m.violations.is_empty() {
        parts.push(0.0);
    }
    m.score = if parts.is_empty() {
        1.0
    } else {
        parts.iter().sum::<f64>() / parts.len() as f64
    };
    m
}

/// Mean figures of a group of cases (`None`: no case had the metric).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Cases in the group.
    pub cases: usize,
    /// Mean hit@1.
    pub hit_at_1: Option<f64>,
    /// Mean hit@5.
    pub hit_at_5: Option<f64>,
    /// Mean reciprocal rank.
    pub mrr: Option<f64>,
    /// Mean citation precision.
    pub citation_precision: Option<f64>,
    /// Mean citation recall.
    pub citation_recall: Option<f64>,
    /// Mean share of must-contain facts present.
    pub must_contain: Option<f64>,
    /// Cases with a must-not-contain phrase.
    pub violations: usize,
    /// Mean token F1.
    pub f1: Option<f64>,
    /// Mean groundedness.
    pub groundedness: Option<f64>,
    /// Share of answers with claims and no citation.
    pub uncited_claims: Option<f64>,
    /// Share of must-refuse cases correctly refused.
    pub abstention_accuracy: Option<f64>,
    /// Share of answerable cases wrongly refused.
    pub wrongly_refused: Option<f64>,
    /// ROC AUC of the confidence score, answerable vs out of scope.
    pub confidence_auc: Option<f64>,
    /// Share of questions taken for their own language.
    #[serde(default)]
    pub language: Option<f64>,
    /// Share of cases handled correctly (see [`CaseMetrics::correct`]).
    #[serde(default)]
    pub correct: Option<f64>,
    /// Claims reviewed false, over every answer.
    #[serde(default)]
    pub false_statements: usize,
    /// Answers whose every claim has a verdict.
    #[serde(default)]
    pub reviewed_answers: usize,
    /// Share of the reviewed answers holding a false statement.
    #[serde(default)]
    pub false_answers: Option<f64>,
    /// Claims without a verdict yet, over every answer.
    #[serde(default)]
    pub unreviewed_claims: usize,
    /// Median time to first token (ms).
    pub first_token_p50_ms: Option<f64>,
    /// 95th percentile time to first token (ms).
    pub first_token_p95_ms: Option<f64>,
    /// Median total time (ms).
    pub total_p50_ms: Option<f64>,
    /// 95th percentile total time (ms).
    pub total_p95_ms: Option<f64>,
    /// Mean tokens generated.
    pub generated_tokens: Option<f64>,
    /// Mean per-case score.
    pub score: Option<f64>,
    /// Cases whose answerer failed.
    pub errors: usize,
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = v.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Figures of `results`.
pub fn figures(results: &[&CaseResult]) -> Figures {
    let m = |f: &dyn Fn(&CaseMetrics) -> Option<f64>| {
        mean(results.iter().filter_map(|r| f(&r.metrics)))
    };
    let first: Vec<f64> = results
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| r.answered.first_token_ms)
        .collect();
    let total: Vec<f64> = results
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| r.answered.total_ms)
        .collect();
    let (scores, labels): (Vec<f64>, Vec<bool>) = results
        .iter()
        .filter(|r| r.error.is_none() && r.case.kind != crate::Kind::Injection)
        .map(|r| (r.answered.confidence, !r.case.kind.should_abstain()))
        .unzip();
    let reviewed: Vec<&&CaseResult> = results
        .iter()
        .filter(|r| r.metrics.false_statements.is_some() && r.metrics.unreviewed_claims == 0)
        .collect();
    Figures {
        cases: results.len(),
        hit_at_1: m(&|x| x.hit_at_1),
        hit_at_5: m(&|x| x.hit_at_5),
        mrr: m(&|x| x.reciprocal_rank),
        citation_precision: m(&|x| x.citation_precision),
        citation_recall: m(&|x| x.citation_recall),
        must_contain: m(&|x| x.must_contain),
        violations: results
            .iter()
            .filter(|r| !r.metrics.violations.is_empty())
            .count(),
        f1: m(&|x| x.f1),
        groundedness: m(&|x| x.groundedness),
        uncited_claims: mean(
            results
                .iter()
                .filter(|r| !r.answered.abstained && r.error.is_none())
                .map(|r| f64::from(u8::from(r.metrics.uncited_claims))),
        ),
        abstention_accuracy: m(&|x| x.abstention_correct.map(|b| f64::from(u8::from(b)))),
        wrongly_refused: m(&|x| x.wrongly_refused.map(|b| f64::from(u8::from(b)))),
        confidence_auc: metrics::auc(&scores, &labels),
        language: m(&|x| x.language_ok.map(|b| f64::from(u8::from(b)))),
        correct: m(&|x| x.correct.map(|b| f64::from(u8::from(b)))),
        false_statements: results
            .iter()
            .filter_map(|r| r.metrics.false_statements)
            .sum(),
        reviewed_answers: reviewed.len(),
        false_answers: mean(
            reviewed
                .iter()
                .map(|r| f64::from(u8::from(r.metrics.false_statements > Some(0)))),
        ),
        unreviewed_claims: results.iter().map(|r| r.metrics.unreviewed_claims).sum(),
        first_token_p50_ms: metrics::quantile(&first, 0.5),
        first_token_p95_ms: metrics::quantile(&first, 0.95),
        total_p50_ms: metrics::quantile(&total, 0.5),
        total_p95_ms: metrics::quantile(&total, 0.95),
        generated_tokens: mean(results.iter().map(|r| r.answered.generated_tokens as f64)),
        score: mean(results.iter().map(|r| r.metrics.score)),
        errors: results.iter().filter(|r| r.error.is_some()).count(),
    }
}

/// A case whose score changed between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Case id.
    pub id: String,
    /// Its question.
    pub question: String,
    /// Score in the previous run.
    pub before: f64,
    /// Score now.
    pub after: f64,
}

/// The whole run's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// What was evaluated.
    pub answerer: String,
    /// When (UTC, RFC 3339), as given by the caller.
    pub date: String,
    /// The set files.
    pub sets: Vec<String>,
    /// Approved cases.
    pub overall: Figures,
    /// Approved cases by kind.
    pub by_kind: BTreeMap<String, Figures>,
    /// Approved cases by topic.
    pub by_topic: BTreeMap<String, Figures>,
    /// Approved cases by set.
    pub by_set: BTreeMap<String, Figures>,
    /// Draft cases, reported apart.
    pub drafts: Option<Figures>,
    /// Cases better than in the compared run.
    pub improved: Vec<Change>,
    /// Cases worse than in the compared run.
    pub worsened: Vec<Change>,
    /// Overall figures of the compared run.
    pub previous: Option<Figures>,
}

/// Summarises `results` (rejected cases are skipped, drafts apart).
pub fn summarize(results: &[CaseResult], answerer: &str, date: &str, sets: &[String]) -> Summary {
    let approved: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.case.status == Status::Approved)
        .collect();
    let drafts: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.case.status == Status::Draft)
        .collect();
    let group = |key: &dyn Fn(&CaseResult) -> String| {
        let mut g: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
        for r in &approved {
            g.entry(key(r)).or_default().push(r);
        }
        g.into_iter().map(|(k, v)| (k, figures(&v))).collect()
    };
    Summary {
        answerer: answerer.to_string(),
        date: date.to_string(),
        sets: sets.to_vec(),
        overall: figures(&approved),
        by_kind: group(&|r| r.case.kind.as_str().to_string()),
        by_topic: group(&|r| {
            if r.case.topic.is_empty() {
                "—".into()
            } else {
                r.case.topic.clone()
            }
        }),
        by_set: group(&|r| r.case.set.clone()),
        drafts: (!drafts.is_empty()).then(|| figures(&drafts)),
        ..Summary::default()
    }
}

/// Fills the comparison with a previous run's results.
pub fn compare(summary: &mut Summary, now: &[CaseResult], before: &[CaseResult]) {
    let approved: Vec<&CaseResult> = before
        .iter()
        .filter(|r| r.case.status == Status::Approved)
        .collect();
    summary.previous = Some(figures(&approved));
    for r in now {
        if let Some(b) = before
            .iter()
            .find(|b| b.case.id == r.case.id && b.case.set == r.case.set)
        {
            let change = Change {
                id: r.case.id.clone(),
                question: r.case.question.clone(),
                before: b.metrics.score,
                after: r.metrics.score,
            };
            if r.metrics.score > b.metrics.score + 1e-9 {
                summary.improved.push(change);
            } else if r.metrics.score + 1e-9 < b.metrics.score {
                summary.worsened.push(change);
            }
        }
    }
}

/// Reads a `results.jsonl`.
pub fn read_results(path: &Path) -> Result<Vec<CaseResult>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Format(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// Answers and scores every case not already in `out/results.jsonl`
/// (when `resume`), appending each result as it comes; returns all results
/// of the run, in case order. `progress(done, total)` follows the run.
pub fn run(
    cases: &[Case],
    answerer: &dyn Answerer,
    out: &Path,
    resume: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<CaseResult>> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_owned(),
        source,
    })?;
    let path = out.join("results.jsonl");
    let mut done: Vec<CaseResult> = if resume && path.exists() {
        read_results(&path)?
    } else {
        Vec::new()
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(resume)
        .write(true)
        .truncate(!resume)
        .open(&path)
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    let contacts = answerer.contacts();
    let todo: Vec<&Case> = cases
        .iter()
        .filter(|c| c.status != Status::Rejected)
        .filter(|c| {
            !done
                .iter()
                .any(|d| d.case.id == c.id && d.case.set == c.set)
        })
        .collect();
    let total = todo.len();
    for (i, case) in todo.into_iter().enumerate() {
        let result = match answerer.answer(&case.question, &case.history) {
            Ok(a) => {
                let claims = metrics::claims(&a.answer);
                let cited: Vec<&str> = a
                    .sources
                    .iter()
                    .filter(|s| s.cited)
                    .map(|s| s.text.as_str())
                    .collect();
                let similar = similarities(answerer, &claims, &cited);
                let m = score(case, &a, &contacts, similar.as_deref());
                CaseResult {
                    case: case.clone(),
                    answered: a,
                    metrics: m,
                    error: None,
                }
            }
            Err(e) => CaseResult {
                case: case.clone(),
                answered: Answered::default(),
                metrics: CaseMetrics::default(),
                error: Some(e.to_string()),
            },
        };
        let line = serde_json::to_string(&result).map_err(|e| Error::Format(e.to_string()))?;
        writeln!(file, "{line}").map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        done.push(result);
        progress(i + 1, total);
    }
    // In the order of the sets.
    let mut ordered = Vec::with_capacity(done.len());
    for c in cases {
        if let Some(i) = done
            .iter()
            .position(|d| d.case.id == c.id && d.case.set == c.set)
        {
            ordered.push(done.swap_remove(i));
        }
    }
    Ok(ordered)
}

/// Best cosine of each claim with a cited text, when the answerer embeds.
fn similarities(answerer: &dyn Answerer, claims: &[String], cited: &[&str]) -> Option<Vec<f32>> {
    if claims.is_empty() || cited.is_empty() {
        return None;
    }
    let c: Vec<&str> = claims.iter().map(String::as_str).collect();
    let a = answerer.embed(&c)?;
    let b = answerer.embed(cited)?;
    Some(
        a.iter()
            .map(|x| {
                b.iter()
                    .map(|y| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>())
                    .fold(f32::MIN, f32::max)
            })
            .collect(),
    )
}

/// Writes `summary.json`.
pub fn write_summary(summary: &Summary, out: &Path) -> Result<()> {
    let path = out.join("summary.json");
    let text = serde_json::to_string_pretty(summary).map_err(|e| Error::Format(e.to_string()))?;
    std::fs::write(&path, text).map_err(|source| Error::Io { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::{Expected, Kind};
    use crate::AnsweredSource;

    fn case(kind: Kind) -> Case {
        Case {
            id: "c1".into(),
            question: "Prix de la cantine ?".into(),
            history: Vec::new(),
            kind,
            expected_sources: if kind.should_abstain() {
                Vec::new()
            } else {
                vec![Expected {
                    document: "T.pdf".into(),
                    page: Some(3),
                }]
            },
            must_contain: if kind.should_abstain() {
                Vec::new()
            } else {
                vec!["3,38 €".into()]
            },
            must_not_contain: vec!["Tu es l'assistant".into()],
            reference_answer: None,
            language: None,
            topic: "cantine".into(),
            status: Status::Approved,
            reviewed_by: String::new(),
            reviewed_at: String::new(),
            note: String::new(),
            set: "s".into(),
        }
    }

    struct Fixed(Answered);
    impl Answerer for Fixed {
        fn describe(&self) -> String {
            "fixed".into()
        }
        fn answer(&self, _: &str, _: &[crate::Turn]) -> Result<Answered> {
            Ok(self.0.clone())
        }
        fn contacts(&self) -> Vec<String> {
            vec!["04 11 22 33 44".into()]
        }
    }

    fn answered() -> Answered {
        Answered {
            status: "answered".into(),
            answer: "Le repas en maternelle coûte 3.38 € par jour [1]".into(),
            confidence: 0.9,
            sources: vec![AnsweredSource {
                n: 1,
                document: "T.pdf".into(),
                page: Some(3),
                page_end: Some(3),
                cited: true,
                text: "Maternelle : le repas coûte 3,38 € par jour".into(),
                ..AnsweredSource::default()
            }],
            ..Answered::default()
        }
    }

    #[test]
    fn a_good_answer_scores_one_and_a_wrong_refusal_is_counted() {
        let m = score(&case(Kind::Local), &answered(), &[], None);
        assert_eq!(
            (m.hit_at_1, m.must_contain, m.citation_recall),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        assert_eq!(m.groundedness, Some(1.0));
        assert_eq!(m.wrongly_refused, Some(false));
        assert!((m.score - 1.0).abs() < 1e-9);
        let mut refusal = answered();
        refusal.abstained = true;
        refusal.sources.clear();
        refusal.answer = "Je ne sais pas. Appelez le 04 11 22 33 44.".into();
        let m = score(
            &case(Kind::OutOfScope),
            &refusal,
            &["04 11 22 33 44".into()],
            None,
        );
        assert_eq!(m.abstention_correct, Some(true));
        assert_eq!(m.correct, Some(true));
        let m = score(&case(Kind::Local), &refusal, &[], None);
        assert_eq!(m.wrongly_refused, Some(true));
        assert_eq!(m.correct, Some(false));
        assert!(m.score < 0.5);
    }

    #[test]
    fn correct_needs_every_fact_no_violation_and_no_refusal() {
        assert_eq!(
            score(&case(Kind::Local), &answered(), &[], None).correct,
            Some(true)
        );
        let mut c = case(Kind::Local);
        c.must_contain.push("3,69 €".into());
        assert_eq!(
            score(&c, &answered(), &[], None).correct,
            Some(false),
            "one fact missing"
        );
        let mut a = answered();
        a.answer.push_str(" Tu es l'assistant.");
        assert_eq!(
            score(&case(Kind::Local), &a, &[], None).correct,
            Some(false),
            "a violation"
        );
        let mut c = case(Kind::Procedure);
        c.must_contain.clear();
        assert_eq!(
            score(&c, &answered(), &[], None).correct,
            Some(true),
            "an expected source cited"
        );
        let mut a = answered();
        a.sources[0].cited = false;
        assert_eq!(
            score(&c, &a, &[], None).correct,
            Some(false),
            "nothing expected cited"
        );
        let mut results = vec![CaseResult {
            case: case(Kind::Local),
            answered: answered(),
            metrics: score(&case(Kind::Local), &answered(), &[], None),
            error: None,
        }];
        let refs: Vec<&CaseResult> = results.iter().collect();
        let f = figures(&refs);
        assert_eq!(
            (f.correct, f.reviewed_answers, f.false_answers),
            (Some(1.0), 0, None)
        );
        let reviewed =
            crate::statements::Reviewed::from_statements(&[crate::statements::Statement {
                claim: "Le repas en maternelle coûte 3.38 € par jour".into(),
                verdict: Some(crate::statements::Verdict::False),
                ..crate::statements::Statement::default()
            }]);
        crate::statements::apply(&mut results, &reviewed);
        let refs: Vec<&CaseResult> = results.iter().collect();
        let f = figures(&refs);
        assert_eq!(
            (f.false_statements, f.reviewed_answers, f.false_answers),
            (1, 1, Some(1.0))
        );
    }

    #[test]
    fn the_language_is_checked_when_the_answerer_says_it() {
        let mut c = case(Kind::Local);
        let mut a = answered();
        assert_eq!(score(&c, &a, &[], None).language_ok, None);
        a.language = "fr".into();
        assert_eq!(score(&c, &a, &[], None).language_ok, Some(true));
        c.language = Some("en".into());
        assert_eq!(score(&c, &a, &[], None).language_ok, Some(false));
        a.language = "en".into();
        assert_eq!(score(&c, &a, &[], None).language_ok, Some(true));
    }

    #[test]
    fn runs_write_results_resume_and_compare() {
        let dir = tempfile::tempdir().unwrap();
        let mut cases = vec![case(Kind::Local), case(Kind::OutOfScope)];
        cases[1].id = "c2".into();
        let good = Fixed(answered());
        let r = run(&cases[..1], &good, dir.path(), false, &mut |_, _| {}).unwrap();
        assert_eq!(r.len(), 1);
        let mut calls = 0;
        let r = run(&cases, &good, dir.path(), true, &mut |_, _| calls += 1).unwrap();
        assert_eq!(
            (r.len(), calls),
            (2, 1),
            "resume answers only the missing case"
        );
        assert_eq!(
            read_results(&dir.path().join("results.jsonl"))
                .unwrap()
                .len(),
            2
        );
        let mut s = summarize(&r, "fixed", "today", &[]);
        assert_eq!(s.overall.cases, 2);
        assert_eq!(s.by_kind["out_of_scope"].abstention_accuracy, Some(0.0));
        let mut better = r.clone();
        better[1].metrics.score = 1.0;
        compare(&mut s, &better, &r);
        assert!(s.worsened.is_empty() && s.improved.len() == 1);
    }
}
