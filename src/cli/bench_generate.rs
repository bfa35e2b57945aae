//! `guichet bench generate`: the generation figures llama.cpp's llama-bench
//! reports (pp512, tg128), plus time to first token and peak memory, for
//! each model in its own process (so peak memory is the model's own).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use clap::Args;
use guichet_models::{
    Cancel, GenerationParams, Generator, GeneratorOptions, GgufGenerator, Prompt,
};

use super::bench::status_kib;
use crate::config::{load_generator, resolve_generation_model, Config};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct GenerateBenchArgs {
    /// Models to measure: default names (gemma3, smollm2) or GGUF paths.
    #[arg(long, value_delimiter = ',', default_values_t = ["gemma3".to_owned(), "smollm2".to_owned()])]
    models: Vec<String>,
    /// French text the prompts are cut from (at least 600 tokens).
    #[arg(long, default_value = "models/testdata/fiche_service_public.txt")]
    text: PathBuf,
    /// Repetitions of each measure; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// llama.cpp reference: a llama-bench output file (markdown, as printed
    /// by ../shared/tools/llama-bench.sh), or that script itself, which is
    /// then run on each model in this run. Rows are matched to models by
    /// architecture. Repeatable.
    #[arg(long)]
    llama_bench: Vec<PathBuf>,
    /// Measure one model in this process (used internally: each model runs
    /// in a child process so its peak memory is its own).
    #[arg(long, hide = true)]
    child: bool,
}

/// The figures of one model.
struct Figures {
    pp512: f64,
    tg128: f64,
    ttft_600: f64,
    peak_mib: Option<f64>,
}

/// A prefix of `text` of about `n` tokens (never more).
fn prompt_of(gen: &GgufGenerator, text: &str, n: usize) -> Result<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let end = chars.get(mid).map_or(text.len(), |c| c.0);
        if gen.count_tokens(&text[..end])? <= n {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let end = chars.get(lo).map_or(text.len(), |c| c.0);
    Ok(text[..end].to_owned())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(path: &Path, text: &str, repeat: usize) -> Result<Figures> {
    // Room for the 600-token prompt and 128 new tokens.
    let opts = GeneratorOptions {
        context: 1024,
        ..GeneratorOptions::default()
    };
    let mut gen = load_generator(path, &opts)?;
    let p512 = Prompt::Raw(prompt_of(&gen, text, 508)?);
    let p600 = Prompt::Raw(prompt_of(&gen, text, 602)?);
    let cancel = Cancel::new();
    let one = GenerationParams {
        max_new_tokens: 1,
        ..GenerationParams::default()
    };
    let tg = GenerationParams {
        max_new_tokens: 128,
        ignore_eos: true,
        repeat_penalty: 1.0,
        ..GenerationParams::default()
    };
    // Warm-up (page faults, thread pools).
    gen.generate(&Prompt::Raw("Bonjour".into()), &one, &cancel, &mut |_| {})?;
    let (mut pp, mut tgs, mut ttft) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..repeat.max(1) {
        // A different first token each time defeats the prefix cache.
        let fresh = |tag: &str, p: &Prompt| match p {
            Prompt::Raw(t) => Prompt::Raw(format!("{tag}{i} {t}")),
            other => other.clone(),
        };
        let out = gen.generate(&fresh("A", &p512), &one, &cancel, &mut |_| {})?;
        pp.push(out.prompt_tokens as f64 / out.prompt_seconds);
        let start = Instant::now();
        let mut first = None;
        gen.generate(&fresh("B", &p600), &one, &cancel, &mut |_| {
            first.get_or_insert_with(|| start.elapsed().as_secs_f64());
        })?;
        ttft.push(first.unwrap_or_else(|| start.elapsed().as_secs_f64()));
        let out = gen.generate(&Prompt::Raw(format!("{i}")), &tg, &cancel, &mut |_| {})?;
        tgs.push(out.generated_tokens as f64 / out.generation_seconds);
    }
    Ok(Figures {
        pp512: median(pp),
        tg128: median(tgs),
        ttft_600: median(ttft),
        peak_mib: status_kib("VmHWM:").map(|k| k / 1024.0),
    })
}

/// llama-bench rows: (architecture, test, tokens/s).
fn parse_llama_bench(out: &str) -> Vec<(String, String, f64)> {
    out.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('|').map(str::trim).collect();
            if cols.len() < 8 {
                return None;
            }
            let test = cols[cols.len() - 3];
            let ts: f64 = cols[cols.len() - 2]
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            let arch = cols[1].split_whitespace().next()?.to_owned();
            Some((arch, test.to_owned(), ts))
        })
        .collect()
}

fn llama_reference(
    sources: &[PathBuf],
    model: &Path,
    threads: usize,
) -> Result<Vec<(String, String, f64)>> {
    let mut rows = Vec::new();
    for src in sources {
        let text = if src.extension().is_some_and(|e| e == "sh") {
            let out = Command::new("bash")
                .arg(src)
                .arg(model)
                .arg(threads.to_string())
                .output()
                .map_err(|source| Error::Io {
                    path: src.clone(),
                    source,
                })?;
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            std::fs::read_to_string(src).map_err(|source| Error::Io {
                path: src.clone(),
                source,
            })?
        };
        rows.extend(parse_llama_bench(&text));
    }
    Ok(rows)
}

pub(super) fn run(config: &Config, args: GenerateBenchArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.text).map_err(|source| Error::Io {
        path: args.text.clone(),
        source,
    })?;
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if args.child {
        let path = resolve_generation_model(&config.models_dir, &args.models[0])?;
        let f = measure(&path, &text, args.repeat)?;
        println!(
            "FIGURES {} {} {} {}",
            f.pp512,
            f.tg128,
            f.ttft_600,
            f.peak_mib.unwrap_or(f64::NAN)
        );
        return Ok(());
    }
    println!(
        "generation benchmark: {threads} threads, greedy, median of {} runs",
        args.repeat
    );
    println!(
        "{:<34} {:>12} {:>12} {:>14} {:>10}",
        "model", "pp512 tok/s", "tg128 tok/s", "TTFT 600 tok", "peak MiB"
    );
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        path: PathBuf::from("current executable"),
        source,
    })?;
    for spec in &args.models {
        let path = resolve_generation_model(&config.models_dir, spec)?;
        let out = Command::new(&exe)
            .args(["--models-dir", &config.models_dir.to_string_lossy()])
            .args(["--threads", &threads.to_string()])
            .args([
                "bench",
                "generate",
                "--child",
                "--models",
                &path.to_string_lossy(),
            ])
            .args(["--repeat", &args.repeat.to_string()])
            .args(["--text", &args.text.to_string_lossy()])
            .output()
            .map_err(|source| Error::Io {
                path: exe.clone(),
                source,
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("FIGURES ")) else {
            return Err(Error::Usage(format!(
                "benchmark of {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            )));
        };
        let v: Vec<f64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let [pp, tg, ttft, peak] = v[..] else {
            return Err(Error::Usage(format!("unreadable figures: {line}")));
        };
        let name = path
            .file_name()
            .map_or_else(|| spec.clone(), |n| n.to_string_lossy().into_owned());
        println!(
            "{name:<34} {pp:>12.1} {tg:>12.1} {:>12.2} s {peak:>10.0}",
            ttft
        );
        if args.llama_bench.is_empty() {
            continue;
        }
        let arch = guichet_models::generate::GgufFile::open(&path)?
            .summary()
            .architecture;
        let rows = llama_reference(&args.llama_bench, &path, threads)?;
        let find = |test: &str| {
            rows.iter()
                .find(|r| r.0 == arch && r.1 == test)
                .map(|r| r.2)
        };
        if let (Some(lpp), Some(ltg)) = (find("pp512"), find("tg128")) {
            println!(
                "{:<34} {lpp:>12.1} {ltg:>12.1}   (llama.cpp llama-bench, same file)",
                ""
            );
            println!(
                "{:<34} {:>11.2}x {:>11.2}x   (Guichet / llama.cpp)",
                "",
                pp / lpp,
                tg / ltg
            );
        }
    }
    Ok(())
}
