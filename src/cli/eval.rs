//! `guichet eval run` and `guichet eval sample`: the answer-quality
//! benchmark on référent-reviewed sets (see `eval/README.md`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use guichet_eval::{gate, report, run, set, statements, Answerer};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::settings::AnswerMode;
use crate::{Error, Result};

#[derive(Debug, Subcommand)]
pub(super) enum EvalCommand {
    /// Answer every case of the sets, score it, and write results.jsonl,
    /// summary.json and report.html; exits non-zero when a gate of
    /// --thresholds falls short.
    Run(RunArgs),
    /// Draw stored citizen questions (masked) into a draft set for
    /// référents to review.
    Sample(SampleArgs),
    /// Write a run's claims that no review has judged yet, with their
    /// question and cited texts, as drafts for a reviewer to give a
    /// verdict (then append them to the statements file).
    Statements(StatementsArgs),
    /// Write the cases made from the référents' review verdicts into a set
    /// file: approved when the answer was confirmed or corrected, draft
    /// when it was only marked incorrect.
    ImportReviews {
        /// Where to write the set (JSONL).
        #[arg(long, default_value = "eval/sets/reviews.jsonl")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Evaluation sets (JSONL).
    #[arg(required = true)]
    sets: Vec<PathBuf>,
    /// Evaluate a running server (its OpenAI-compatible endpoint) instead
    /// of the assistant in this process.
    #[arg(long)]
    server: Option<String>,
    /// Output folder (default: eval/runs/run-<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A previous run's folder: report the cases that got better or worse.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Gates (TOML, see eval/thresholds.toml).
    #[arg(long)]
    thresholds: Option<PathBuf>,
    /// Answer mode for the in-process assistant (default: the
    /// configuration's).
    #[arg(long)]
    mode: Option<AnswerMode>,
    /// Tokens of candidate units the reader mode offers the model
    /// (default: the configuration's `answer.reader_tokens`).
    #[arg(long)]
    reader_tokens: Option<usize>,
    /// Keep the cases already in OUT/results.jsonl and answer the rest.
    #[arg(long)]
    resume: bool,
    /// Reviewed statements (JSONL): the verdicts that count false
    /// statements; a missing default file counts none.
    #[arg(long, default_value = DEFAULT_STATEMENTS)]
    statements: PathBuf,
}

/// Where the reviewed statements live.
const DEFAULT_STATEMENTS: &str = "eval/statements.jsonl";

#[derive(Debug, Args)]
pub(super) struct StatementsArgs {
    /// A run's folder (its results.jsonl).
    run: PathBuf,
    /// Reviewed statements already judged (JSONL).
    #[arg(long, default_value = DEFAULT_STATEMENTS)]
    statements: PathBuf,
    /// At most this many answers contribute claims (every claim of each,
    /// so each becomes a reviewed answer).
    #[arg(short, default_value_t = 100)]
    n: usize,
    /// Where to write the drafts (default: RUN/statements-draft.jsonl).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(super) struct SampleArgs {
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// Last day (YYYY-MM-DD), included.
    #[arg(long)]
    to: String,
    /// How many questions.
    #[arg(short, default_value_t = 50)]
    n: usize,
    /// Where to write the draft set (JSONL).
    #[arg(long, default_value = "eval/sets/sampled-draft.jsonl")]
    out: PathBuf,
}

fn eval_err(e: guichet_eval::Error) -> Error {
    Error::Usage(e.to_string())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

pub(super) fn run(config: &Config, cmd: EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Run(a) => run_sets(config, a),
        EvalCommand::Sample(a) => sample(config, a),
        EvalCommand::Statements(a) => statement_drafts(&a),
        EvalCommand::ImportReviews { out } => import_reviews(config, &out),
    }
}

/// The reviewed statements of `path`: none when it is the default file and
/// absent (a fresh set folder), an error when a given file is missing.
fn reviewed(path: &Path) -> Result<statements::Reviewed> {
    if !path.exists() && path == Path::new(DEFAULT_STATEMENTS) {
        return Ok(statements::Reviewed::default());
    }
    statements::Reviewed::load(path).map_err(eval_err)
}

fn statement_drafts(args: &StatementsArgs) -> Result<()> {
    let reviewed = reviewed(&args.statements)?;
    let results = run::read_results(&args.run.join("results.jsonl")).map_err(eval_err)?;
    let drafts = statements::drafts(&results, &reviewed, args.n);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.run.join("statements-draft.jsonl"));
    let mut text = String::new();
    for d in &drafts {
        text.push_str(&serde_json::to_string(d).map_err(|e| Error::Usage(e.to_string()))?);
        text.push('\n');
    }
    write(&out, &text)?;
    println!(
        "{} claim(s) to review written to {} ({} already reviewed in {})",
        drafts.len(),
        out.display(),
        reviewed.len(),
        args.statements.display()
    );
    Ok(())
}

fn run_sets(config: &Config, args: RunArgs) -> Result<()> {
    let now = crate::time::now_secs();
    let date = crate::time::utc(now);
    let mut cases = Vec::new();
    for s in &args.sets {
        cases.extend(set::load(s).map_err(eval_err)?);
    }
    let thresholds = args
        .thresholds
        .as_deref()
        .map(gate::load)
        .transpose()
        .map_err(eval_err)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("eval/runs/run-{now}")));
    let answerer: Box<dyn Answerer> = match &args.server {
        Some(url) => Box::new(guichet_eval::http::HttpAnswerer::new(url)),
        None => {
            let mut config = config.clone();
            if let Some(m) = args.mode {
                config.settings.answer.mode = m;
            }
            if let Some(t) = args.reader_tokens {
                config.settings.answer.reader_tokens = t;
            }
            let engine = crate::engine::load(&config)?;
            Box::new(crate::evaluation::InProcess::new(engine.assistant))
        }
    };
    eprintln!("evaluating {} cases: {}", cases.len(), answerer.describe());
    let pb = ProgressBar::new(cases.len() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed_precise} ~{eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message("cases");
    let reviewed = reviewed(&args.statements)?;
    let mut results = run::run(
        &cases,
        answerer.as_ref(),
        &out,
        args.resume,
        &mut |done, total| {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        },
    )
    .map_err(eval_err)?;
    pb.finish_and_clear();
    statements::apply(&mut results, &reviewed);
    let names: Vec<String> = args.sets.iter().map(|p| p.display().to_string()).collect();
    let mut summary = run::summarize(&results, &answerer.describe(), &date, &names);
    if let Some(prev) = &args.compare {
        let before = run::read_results(&prev.join("results.jsonl")).map_err(eval_err)?;
        run::compare(&mut summary, &results, &before);
    }
    run::write_summary(&summary, &out).map_err(eval_err)?;
    write(&out.join("report.html"), &report::html(&summary, &results))?;
    print_summary(&summary);
    println!("results in {}", out.display());
    if let Some(t) = thresholds {
        let failures = gate::evaluate(&summary, &t);
        if !failures.is_empty() {
            for f in &failures {
                eprintln!("gate: {f}");
            }
            return Err(Error::Usage(format!(
                "{} gate(s) fell short (see above)",
                failures.len()
            )));
        }
        println!("gates: all passed");
    }
    Ok(())
}

fn print_summary(s: &run::Summary) {
    let p = |v: Option<f64>| v.map_or("     —".to_string(), |x| format!("{:>6.3}", x));
    println!(
        "{:<16} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8}",
        "", "cases", "hit@5", "MRR", "facts", "ground", "refuse", "wrong", "cprec", "p50 ms"
    );
    let line = |name: &str, f: &run::Figures| {
        println!(
            "{name:<16} {:>5} {} {} {} {} {} {} {} {:>8}",
            f.cases,
            p(f.hit_at_5),
            p(f.mrr),
            p(f.must_contain),
            p(f.groundedness),
            p(f.abstention_accuracy),
            p(f.wrongly_refused),
            p(f.citation_precision),
            f.total_p50_ms.map_or("—".into(), |x| format!("{x:.0}"))
        );
    };
    line("all", &s.overall);
    for (k, f) in &s.by_kind {
        line(k, f);
    }
    for (k, f) in &s.by_set {
        line(&format!("set {k}"), f);
    }
    if let Some(a) = s.overall.confidence_auc {
        println!("confidence ROC AUC (answerable vs out of scope): {a:.3}");
    }
    if let Some(l) = s.overall.language {
        println!("questions taken for their own language: {l:.3}");
    }
    let o = &s.overall;
    println!(
        "correct: {}; false statements: {} in {} reviewed answer(s), answers with one: {}; claims not reviewed yet: {}",
        p(o.correct).trim(),
        o.false_statements,
        o.reviewed_answers,
        p(o.false_answers).trim(),
        o.unreviewed_claims
    );
}

fn sample(config: &Config, args: SampleArgs) -> Result<()> {
    let db = config.data_dir.join("guichet.db");
    if !db.exists() {
        return Err(Error::Usage(format!(
            "no knowledge base in {}",
            config.data_dir.display()
        )));
    }
    let conv = crate::conversations::Conversations::open(&db, false)?;
    let rows = conv.sample(&args.from, &args.to, args.n)?;
    let mut out = String::new();
    for r in &rows {
        let kind = match r.status.as_str() {
            "refused" => "injection",
            "not_found" | "out_of_scope" => "out_of_scope",
            _ => "procedure",
        };
        let expected: Vec<serde_json::Value> = r
            .cited
            .iter()
            .filter_map(|s| Path::new(s).file_name())
            .map(|f| serde_json::json!({ "document": f.to_string_lossy() }))
            .collect();
        let case = serde_json::json!({
            "id": format!("sample-{}", &r.answer_id[..12.min(r.answer_id.len())]),
            "question": r.question,
            "kind": kind,
            "expected_sources": expected,
            "must_contain": [],
            "topic": "",
            "status": "draft",
            "reviewed_by": "",
            "reviewed_at": "",
            "note": format!(
                "sampled from conversation {} ({}), answered {}; kind and expected sources proposed from that answer: check them, add must_contain",
                r.conversation_id, r.created_at, r.status
            ),
        });
        out.push_str(&case.to_string());
        out.push('\n');
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    write(&args.out, &out)?;
    println!(
        "{} draft case(s) written to {}",
        rows.len(),
        args.out.display()
    );
    Ok(())
}

fn import_reviews(config: &Config, out: &Path) -> Result<()> {
    let db = config.data_dir.join("guichet.db");
    if !db.exists() {
        return Err(Error::Usage(format!(
            "no knowledge base in {}",
            config.data_dir.display()
        )));
    }
    let cases = crate::durability::reviewed::cases(&db)?;
    let n = cases.len();
    let mut text = String::new();
    for case in cases {
        text.push_str(&case.to_string());
        text.push('\n');
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    write(out, &text)?;
    println!(
        "{n} case(s) from review verdicts written to {}",
        out.display()
    );
    Ok(())
}
