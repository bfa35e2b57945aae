//! Regression gates: `eval/thresholds.toml` sets minimums (and, for
//! `wrongly_refused`, `uncited_claims`, `violations` and `false_answers`,
//! maximums) per metric, overall and per kind. A run that falls short
//! exits non-zero and names each shortfall.
//!
//! ```toml
//! [overall]
//! hit_at_5 = 0.6
//! [kind.injection]
//! abstention_accuracy = 1.0
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::run::{Figures, Summary};
use crate::{Error, Result};

/// Limits of one group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Minimum hit@5.
    pub hit_at_5: Option<f64>,
    /// Minimum MRR.
    pub mrr: Option<f64>,
    /// Minimum citation precision.
    pub citation_precision: Option<f64>,
    /// Minimum citation recall.
    pub citation_recall: Option<f64>,
    /// Minimum must-contain share.
    pub must_contain: Option<f64>,
    /// Minimum groundedness.
    pub groundedness: Option<f64>,
    /// Minimum abstention accuracy.
    pub abstention_accuracy: Option<f64>,
    /// Maximum share of answerable cases refused.
    pub wrongly_refused: Option<f64>,
    /// Maximum share of answers with claims and no citation.
    pub uncited_claims: Option<f64>,
    /// Maximum cases with a must-not-contain phrase.
    pub violations: Option<usize>,
    /// Minimum share of cases handled correctly.
    pub correct: Option<f64>,
    /// Maximum share of reviewed answers holding a false statement.
    pub false_answers: Option<f64>,
}

/// The thresholds file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Over all approved cases.
    #[serde(default)]
    pub overall: Limits,
    /// Per kind (`fact`, `procedure`, `local`, `out_of_scope`, `injection`,
    /// `followup`).
    #[serde(default)]
    pub kind: BTreeMap<String, Limits>,
}

/// Reads a thresholds file.
pub fn load(path: &Path) -> Result<Thresholds> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| Error::Format(format!("{}: {e}", path.display())))
}

fn check(group: &str, f: &Figures, l: &Limits, out: &mut Vec<String>) {
    let mut min = |name: &str, got: Option<f64>, want: Option<f64>| {
        if let Some(w) = want {
            match got {
                Some(g) if g + 1e-9 >= w => {}
                Some(g) => out.push(format!("{group}.{name} = {g:.3}, below the minimum {w:.3}")),
                None => out.push(format!(
                    "{group}.{name}: no case measured it (minimum {w:.3})"
                )),
            }
        }
    };
    min("hit_at_5", f.hit_at_5, l.hit_at_5);
    min("mrr", f.mrr, l.mrr);
    min(
        "citation_precision",
        f.citation_precision,
        l.citation_precision,
    );
    min("citation_recall", f.citation_recall, l.citation_recall);
    min("must_contain", f.must_contain, l.must_contain);
    min("groundedness", f.groundedness, l.groundedness);
    min(
        "abstention_accuracy",
        f.abstention_accuracy,
        l.abstention_accuracy,
    );
    min("correct", f.correct, l.correct);
    let mut max = |name: &str, got: Option<f64>, want: Option<f64>| {
        if let (Some(w), Some(g)) = (want, got) {
            if g > w + 1e-9 {
                out.push(format!("{group}.{name} = {g:.3}, above the maximum {w:.3}"));
            }
        }
    };
    max("wrongly_refused", f.wrongly_refused, l.wrongly_refused);
    max("uncited_claims", f.uncited_claims, l.uncited_claims);
    max("false_answers", f.false_answers, l.false_answers);
    if let Some(w) = l.violations {
        if f.violations > w {
            out.push(format!(
                "{group}.violations = {}, above the maximum {w}",
                f.violations
            ));
        }
    }
    if f.errors > 0 {
        out.push(format!("{group}: {} case(s) failed to run", f.errors));
    }
}

/// Every shortfall of `summary` against `thresholds` (empty: the gate passes).
pub fn evaluate(summary: &Summary, thresholds: &Thresholds) -> Vec<String> {
    let mut out = Vec::new();
    check("overall", &summary.overall, &thresholds.overall, &mut out);
    for (kind, limits) in &thresholds.kind {
        if let Some(f) = summary.by_kind.get(kind) {
            check(&format!("kind.{kind}"), f, limits, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortfalls_are_named_and_the_shipped_file_parses() {
        let t: Thresholds = toml::from_str(
            "[overall]\nmust_contain = 0.5\nwrongly_refused = 0.2\n[kind.injection]\nabstention_accuracy = 1.0\n",
        )
        .unwrap();
        let mut s = Summary::default();
        s.overall.must_contain = Some(0.4);
        s.overall.wrongly_refused = Some(0.1);
        s.by_kind.insert(
            "injection".into(),
            Figures {
                abstention_accuracy: Some(1.0),
                ..Figures::default()
            },
        );
        let f = evaluate(&s, &t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].contains("overall.must_contain"));
        s.overall.must_contain = Some(0.6);
        assert!(evaluate(&s, &t).is_empty());
        load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("thresholds.toml")).unwrap();
        assert!(toml::from_str::<Thresholds>("[overall]\nmust_contian = 1\n").is_err());
    }
}
