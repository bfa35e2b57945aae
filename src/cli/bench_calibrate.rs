//! `guichet bench calibrate`: how well the confidence score separates
//! questions the knowledge base answers from those it does not, and the
//! logistic weights and threshold that separate them best.
//!
//! Answerable: evaluation cases (JSONL, see `eval/sets/README.md`) whose
//! expected document is in the knowledge base. Unanswerable: the
//! `out_of_scope` cases, questions sampled from a SQuAD-format file (PIAF's
//! Wikipedia questions), and — reported apart as the hard case — cases
//! whose expected document is *not* in the knowledge base (a real
//! Service-Public question the town's documents do not cover).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;

use crate::config::Config;
use crate::kb::KnowledgeBase;
use crate::rag::confidence::{Weights, CALIBRATED};
use crate::rag::{Assistant, Features, Lexicon};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct CalibrateBenchArgs {
    /// Evaluation sets (JSONL).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "eval/sets/service-public.jsonl,eval/sets/montpellier.jsonl,eval/sets/out-of-scope.jsonl"
    )]
    sets: Vec<PathBuf>,
    /// A SQuAD-format file of general questions (unanswerable here).
    #[arg(long, default_value = "../shared/data/piaf-v1.1/piaf-v1.1.json")]
    squad: PathBuf,
    /// How many of its questions to use (every k-th, deterministic).
    #[arg(long, default_value_t = 200)]
    squad_n: usize,
    /// Also write each question's features as TSV (set, group, dense,
    /// coverage, question) for analysis.
    #[arg(long)]
    features_out: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct Case {
    question: String,
    kind: String,
    #[serde(default)]
    expected_sources: Vec<Expected>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    history: Vec<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct Expected {
    document: String,
}

/// ROC AUC of `scores` for `labels` (NaN without both classes).
fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    guichet_eval::metrics::auc(scores, labels).unwrap_or(f64::NAN)
}

/// Fits weighted logistic regression on (dense, coverage); `weights`
/// balance the sets (each set of a class weighs the same in total).
fn fit(x: &[Features], y: &[bool], weights: &[f64]) -> Weights {
    let n = x.len() as f64;
    let mean = |f: &dyn Fn(&Features) -> f64| x.iter().map(f).sum::<f64>() / n;
    let (md, mc) = (mean(&|f| f.dense), mean(&|f| f.coverage));
    let sd = |f: &dyn Fn(&Features) -> f64, m: f64| {
        (x.iter().map(|v| (f(v) - m).powi(2)).sum::<f64>() / n)
            .sqrt()
            .max(1e-9)
    };
    let (sdd, sdc) = (sd(&|f| f.dense, md), sd(&|f| f.coverage, mc));
    let (mut b, mut wd, mut wc) = (0.0, 0.0, 0.0);
    for _ in 0..5000 {
        let (mut gb, mut gd, mut gc) = (0.0, 0.0, 0.0);
        for ((f, &l), &w) in x.iter().zip(y).zip(weights) {
            let (d, c) = ((f.dense - md) / sdd, (f.coverage - mc) / sdc);
            let p = 1.0 / (1.0 + (-(b + wd * d + wc * c)).exp());
            let e = w * (p - if l { 1.0 } else { 0.0 });
            gb += e;
            gd += e * d;
            gc += e * c;
        }
        b -= 0.5 * gb / n;
        wd -= 0.5 * (gd / n + 1e-3 * wd);
        wc -= 0.5 * (gc / n + 1e-3 * wc);
    }
    Weights {
        bias: b - wd * md / sdd - wc * mc / sdc,
        dense: wd / sdd,
        coverage: wc / sdc,
    }
}

fn rate(v: &[f64], pred: impl Fn(f64) -> bool) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().filter(|s| pred(**s)).count() as f64 / v.len() as f64
}

pub(super) fn run(config: &Config, args: CalibrateBenchArgs) -> Result<()> {
    config.ensure_default_embedder()?;
    let embedder = config.load_embedder()?;
    let kb = KnowledgeBase::open(&config.data_dir, embedder.clone(), &mut |_| {})?;
    let in_kb: HashSet<String> = kb
        .store()
        .documents()?
        .iter()
        .filter_map(|d| {
            std::path::Path::new(&d.source)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .collect();
    if in_kb.is_empty() {
        return Err(Error::Usage(format!(
            "the knowledge base in {} is empty: ingest documents first",
            config.data_dir.display()
        )));
    }
    let assistant = Assistant::new(
        Arc::new(Mutex::new(kb)),
        Arc::clone(&embedder),
        None,
        config.settings.answer.clone(),
        config.settings.town.clone(),
        Lexicon::builtin(),
    )?;
    // (question, group, set): group 0 answerable, 1 out of scope, 2 uncovered.
    let mut questions: Vec<(String, u8, String)> = Vec::new();
    for set in &args.sets {
        let text = std::fs::read_to_string(set).map_err(|source| Error::Io {
            path: set.clone(),
            source,
        })?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let c: Case = serde_json::from_str(line)
                .map_err(|e| Error::Usage(format!("{}:{}: {e}", set.display(), i + 1)))?;
            if c.status != "approved" || !c.history.is_empty() || c.kind == "injection" {
                continue;
            }
            let group = if c.kind == "out_of_scope" {
                1
            } else if c
                .expected_sources
                .iter()
                .any(|e| in_kb.contains(&e.document))
            {
                0
            } else {
                2
            };
            let name = set
                .file_stem()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned());
            questions.push((c.question, group, name));
        }
    }
    if args.squad.is_file() && args.squad_n > 0 {
        let text = std::fs::read_to_string(&args.squad).map_err(|source| Error::Io {
            path: args.squad.clone(),
            source,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("{}: {e}", args.squad.display())))?;
        let mut all = Vec::new();
        for art in v["data"].as_array().into_iter().flatten() {
            for p in art["paragraphs"].as_array().into_iter().flatten() {
                for q in p["qas"].as_array().into_iter().flatten() {
                    if let Some(s) = q["question"].as_str() {
                        all.push(s.to_string());
                    }
                }
            }
        }
        let step = (all.len() / args.squad_n).max(1);
        questions.extend(
            all.into_iter()
                .step_by(step)
                .take(args.squad_n)
                .map(|q| (q, 1, "squad".to_string())),
        );
    }
    let mut feats = Vec::with_capacity(questions.len());
    for (q, g, _) in &questions {
        let a = assistant.assess(q)?;
        feats.push((
            a.features.unwrap_or(Features {
                dense: 0.0,
                coverage: 0.0,
            }),
            *g,
        ));
    }
    if let Some(p) = &args.features_out {
        let mut tsv = String::from("set\tgroup\tdense\tcoverage\tquestion\n");
        for ((q, g, set), (f, _)) in questions.iter().zip(&feats) {
            tsv.push_str(&format!(
                "{set}\t{g}\t{:.5}\t{:.5}\t{q}\n",
                f.dense, f.coverage
            ));
        }
        std::fs::write(p, tsv).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?;
    }
    let count = |g: u8| feats.iter().filter(|f| f.1 == g).count();
    println!(
        "questions: {} answerable, {} out of scope, {} uncovered (expected document not in the knowledge base)",
        count(0),
        count(1),
        count(2)
    );
    // Fit on answerable vs out of scope, each set of a class weighing the
    // same (title-like Service-Public questions would otherwise drown the
    // hand-written local ones); report the uncovered apart.
    let train: Vec<(Features, bool, &str)> = feats
        .iter()
        .zip(&questions)
        .filter(|(f, _)| f.1 != 2)
        .map(|(f, q)| (f.0, f.1 == 0, q.2.as_str()))
        .collect();
    let x: Vec<Features> = train.iter().map(|t| t.0).collect();
    let y: Vec<bool> = train.iter().map(|t| t.1).collect();
    let sample_weights: Vec<f64> = train
        .iter()
        .map(|t| {
            let in_set = train.iter().filter(|u| u.1 == t.1 && u.2 == t.2).count() as f64;
            let mut sets: Vec<&str> = train.iter().filter(|u| u.1 == t.1).map(|u| u.2).collect();
            sets.sort_unstable();
            sets.dedup();
            train.len() as f64 / (2.0 * sets.len() as f64 * in_set)
        })
        .collect();
    let fitted = fit(&x, &y, &sample_weights);
    let score_of = |w: &Weights, g: u8| -> Vec<f64> {
        feats
            .iter()
            .filter(|f| f.1 == g)
            .map(|f| w.score(&f.0))
            .collect()
    };
    println!("\nROC AUC, answerable vs out of scope (vs uncovered):");
    let hard_y: Vec<bool> = feats
        .iter()
        .filter(|f| f.1 != 1)
        .map(|f| f.1 == 0)
        .collect();
    let hard_x: Vec<Features> = feats.iter().filter(|f| f.1 != 1).map(|f| f.0).collect();
    for (name, s) in [
        (
            "best cosine alone",
            &(|f: &Features| f.dense) as &dyn Fn(&Features) -> f64,
        ),
        ("term coverage alone", &|f: &Features| f.coverage),
        ("calibrated score (in use)", &|f: &Features| {
            CALIBRATED.score(f)
        }),
        ("score fitted now", &|f: &Features| fitted.score(f)),
    ] {
        let a = auc(&x.iter().map(s).collect::<Vec<_>>(), &y);
        let h = auc(&hard_x.iter().map(s).collect::<Vec<_>>(), &hard_y);
        println!("  {name:<28} {a:.3}  ({h:.3})");
    }
    println!(
        "\nfitted weights: bias {:.2}, dense {:.2}, coverage {:.2} (in use: {:.2}, {:.2}, {:.2})",
        fitted.bias,
        fitted.dense,
        fitted.coverage,
        CALIBRATED.bias,
        CALIBRATED.dense,
        CALIBRATED.coverage
    );
    // Threshold maximising Youden's J (answered share − wrongly answered
    // share) on the weights in use.
    let (pos, neg, hard) = (
        score_of(&CALIBRATED, 0),
        score_of(&CALIBRATED, 1),
        score_of(&CALIBRATED, 2),
    );
    let mut best = (0.0, f64::MIN);
    for i in 1..100 {
        let t = f64::from(i) / 100.0;
        let j = rate(&pos, |s| s >= t) - rate(&neg, |s| s >= t);
        if j > best.1 {
            best = (t, j);
        }
    }
    println!("\nwith the weights in use, at threshold t:");
    println!(
        "  {:>5}  {:>18}  {:>22}  {:>20}",
        "t", "answerable answered", "out of scope refused", "uncovered refused"
    );
    let threshold = config.settings.answer.abstain_below;
    let mut ts = vec![0.3, 0.4, 0.5, 0.6, 0.7, best.0, threshold];
    ts.sort_by(f64::total_cmp);
    ts.dedup();
    for t in ts {
        let mark = if (t - threshold).abs() < 1e-9 {
            " (configured)"
        } else if (t - best.0).abs() < 1e-9 {
            " (best J)"
        } else {
            ""
        };
        println!(
            "  {t:>5.2}  {:>18.3}  {:>22.3}  {:>20.3}{mark}",
            rate(&pos, |s| s >= t),
            rate(&neg, |s| s < t),
            rate(&hard, |s| s < t)
        );
    }
    // Answerable questions set by set: title-like Service-Public
    // questions are easy; hand-written local questions are the real test.
    println!("\nanswerable share answered at the configured threshold, by set:");
    let mut sets: Vec<&str> = questions
        .iter()
        .filter(|q| q.1 == 0)
        .map(|q| q.2.as_str())
        .collect();
    sets.sort();
    sets.dedup();
    for name in sets {
        let v: Vec<f64> = questions
            .iter()
            .zip(&feats)
            .filter(|(q, _)| q.1 == 0 && q.2 == name)
            .map(|(_, f)| CALIBRATED.score(&f.0))
            .collect();
        let neg: Vec<f64> = feats
            .iter()
            .filter(|f| f.1 == 1)
            .map(|f| CALIBRATED.score(&f.0))
            .collect();
        let mut all = v.clone();
        all.extend(&neg);
        let labels: Vec<bool> = (0..all.len()).map(|i| i < v.len()).collect();
        println!(
            "  {name:<20} {:>4} questions  answered {:.3}  AUC vs out of scope {:.3}",
            v.len(),
            rate(&v, |s| s >= threshold),
            auc(&all, &labels)
        );
    }
    Ok(())
}
