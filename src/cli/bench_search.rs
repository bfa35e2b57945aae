//! `guichet bench retrieval`: retrieval quality of the knowledge base on
//! question sets whose gold answer is a Service-Public fiche, for lexical
//! only, dense only and hybrid search; and search latency.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::kb::{Filters, KnowledgeBase, SearchMode};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct RetrievalBenchArgs {
    /// Questions: a JSON list of `[fiche_id, question, ...]` (PIAF's
    /// questions_spf.json format).
    #[arg(
        long,
        default_value = "../shared/data/piaf-ml-service-public-qa/questions_spf.json"
    )]
    questions: PathBuf,
    /// Depth of the ranking examined (hit@k is reported for 1 and 5).
    #[arg(long, default_value_t = 10)]
    depth: usize,
}

/// The fiche id at the end of a Service-Public URL (`.../vosdroits/F1965`).
fn fiche_id(url: Option<&str>) -> Option<&str> {
    url?.rsplit('/').next()
}

pub(super) fn run(kb: &KnowledgeBase, args: RetrievalBenchArgs) -> Result<()> {
    let raw = std::fs::read_to_string(&args.questions).map_err(|source| Error::Io {
        path: args.questions.clone(),
        source,
    })?;
    let list: Vec<Vec<serde_json::Value>> = serde_json::from_str(&raw)
        .map_err(|e| Error::Usage(format!("{}: {e}", args.questions.display())))?;
    // Only questions whose fiche is in the knowledge base can be answered.
    let stored: std::collections::HashMap<String, String> = kb
        .store()
        .documents()?
        .into_iter()
        .filter_map(|d| Some((fiche_id(d.url.as_deref())?.to_owned(), d.title)))
        .collect();
    let cases: Vec<(String, String)> = list
        .iter()
        .filter_map(|q| {
            Some((
                q.first()?.as_str()?.to_owned(),
                q.get(1)?.as_str()?.to_owned(),
            ))
        })
        .filter(|(id, _)| stored.contains_key(id))
        .collect();
    // Many of these questions are the fiche's own title, which is indexed:
    // the reworded ones are reported apart, as the harder measure.
    let same =
        |a: &str, b: &str| crate::kb::lexical::normalize(a) == crate::kb::lexical::normalize(b);
    let reworded: Vec<(String, String)> = cases
        .iter()
        .filter(|(id, q)| !same(q, &stored[id]))
        .cloned()
        .collect();
    println!(
        "{} of {} questions have their fiche in the knowledge base ({} documents)",
        cases.len(),
        list.len(),
        kb.store().documents()?.len()
    );
    if cases.is_empty() {
        return Ok(());
    }
    println!(
        "{:<10} {:<8} {:>5} {:>7} {:>7} {:>7} {:>10} {:>10}",
        "questions", "mode", "n", "hit@1", "hit@5", "MRR", "p50 ms", "p99 ms"
    );
    for (label, cases) in [("all", &cases), ("reworded", &reworded)] {
        if cases.is_empty() {
            continue;
        }
        for mode in [SearchMode::Lexical, SearchMode::Dense, SearchMode::Hybrid] {
            let filters = Filters {
                mode,
                max_per_document: 1,
                ..Filters::default()
            };
            let (mut h1, mut h5, mut mrr) = (0usize, 0usize, 0f64);
            let mut times = Vec::with_capacity(cases.len());
            for (gold, q) in cases.iter() {
                let t = Instant::now();
                let hits = kb.search(q, args.depth, &filters)?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                if let Some(rank) = hits
                    .iter()
                    .position(|h| fiche_id(h.chunk.url.as_deref()) == Some(gold.as_str()))
                {
                    h1 += usize::from(rank == 0);
                    h5 += usize::from(rank < 5);
                    mrr += 1.0 / (rank as f64 + 1.0);
                }
            }
            times.sort_by(f64::total_cmp);
            let n = cases.len() as f64;
            let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
            println!(
                "{label:<10} {:<8} {:>5} {:>7.3} {:>7.3} {:>7.3} {:>10.1} {:>10.1}",
                format!("{mode:?}").to_lowercase(),
                cases.len(),
                h1 as f64 / n,
                h5 as f64 / n,
                mrr / n,
                pct(0.5),
                pct(0.99)
            );
        }
    }
    Ok(())
}
