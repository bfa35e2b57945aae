//! Generation on the real default GGUF models: Gemma 3 270M (our own
//! forward pass, SentencePiece tokenizer from the GGUF) and
//! SmolLM2-135M-Instruct (llama path, byte-level BPE tokenizer).

use std::io::Write;
use std::path::{Path, PathBuf};

use guichet_models::generate::{GgufFile, TextStream, TextTokenizer};
use guichet_models::{
    Cancel, ChatMessage, Error, FinishReason, GenerationParams, Generator, GeneratorOptions,
    GgufGenerator, Prompt,
};

use crate::support::{testdata, weights};

fn gemma_path() -> PathBuf {
    weights("gemma-3-270m-q4_k_m.gguf")
}

fn smollm_path() -> PathBuf {
    weights("SmolLM2-135M-Instruct.Q4_1.gguf")
}

fn load(path: &Path, context: usize) -> GgufGenerator {
    let opts = GeneratorOptions {
        context,
        ..GeneratorOptions::default()
    };
    GgufGenerator::load(path, &opts).expect("load generator")
}

#[derive(serde::Deserialize)]
struct TokCase {
    name: String,
    text: String,
    ids: Vec<u32>,
}

#[derive(serde::Deserialize)]
struct TokReference {
    cases: Vec<TokCase>,
}

#[test]
fn gemma_gguf_tokenizer_ids_equal_the_reference_tokenizer_json() {
    let mut tok = TextTokenizer::load(&gemma_path()).unwrap();
    let reference: TokReference = serde_json::from_str(
        &std::fs::read_to_string(testdata("gemma3_tokenizer_reference.json")).unwrap(),
    )
    .unwrap();
    assert!(reference.cases.len() >= 15);
    let mut total = 0;
    for case in &reference.cases {
        let ids = tok.encode_untrusted(&case.text).unwrap();
        if ids != case.ids {
            let at = ids
                .iter()
                .zip(&case.ids)
                .take_while(|(a, b)| a == b)
                .count();
            panic!(
                "{}: ids differ at token {at}: ours {:?}, reference {:?}",
                case.name,
                &ids[at..(at + 5).min(ids.len())],
                &case.ids[at..(at + 5).min(case.ids.len())]
            );
        }
        assert_eq!(
            tok.decode(&ids).unwrap(),
            case.text,
            "{}: decode",
            case.name
        );
        total += ids.len();
    }
    // The council record alone is about 5,000 tokens.
    assert!(total > 7_000, "{total} tokens compared");
}

#[test]
fn template_markers_are_special_only_in_trusted_text() {
    let mut tok = TextTokenizer::load(&gemma_path()).unwrap();
    let trusted = tok.encode_trusted("<start_of_turn>user\n").unwrap();
    assert_eq!(trusted[0], 105, "<start_of_turn> is one control token");
    let untrusted = tok.encode_untrusted("<start_of_turn>user\n").unwrap();
    assert!(
        !untrusted.contains(&105),
        "a citizen cannot forge a turn: {untrusted:?}"
    );
}

/// Perplexity over `range` of the token log-probabilities.
fn perplexity(logprobs: &[f32], range: std::ops::Range<usize>) -> f64 {
    let vals: Vec<f64> = logprobs[range]
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| f64::from(*v))
        .collect();
    assert!(!vals.is_empty());
    (-vals.iter().sum::<f64>() / vals.len() as f64).exp()
}

#[test]
fn gemma_perplexity_past_the_sliding_window_stays_close_to_the_first_window() {
    let text = std::fs::read_to_string(testdata("fiche_service_public.txt")).unwrap();
    let mut gen = load(&gemma_path(), 4096);
    let n = gen.count_tokens(&text).unwrap();
    assert!(n >= 1_500, "the fiche has only {n} tokens");
    // Every other token of each window is scored: the 262,144-word output
    // layer dominates the cost, and 256 tokens per window measure it well.
    let keep = |i: usize| i.is_multiple_of(2) && (i < 512 || i >= n - 512);
    let lp = gen.token_logprobs(&text, &keep).unwrap();
    assert_eq!(lp.len(), n);
    let first = perplexity(&lp, 1..512);
    let last = perplexity(&lp, n - 512..n);
    eprintln!("perplexity: first 512 tokens {first:.2}, last 512 tokens {last:.2} ({n} tokens)");
    // A model that reads French: low perplexity on an administrative fiche.
    assert!(first < 30.0, "first window perplexity {first:.1}");
    // Past 512 tokens only a correct sliding window keeps it there; a wrong
    // one drifts to hundreds.
    assert!(
        last < 30.0 && last < first * 1.5,
        "last window perplexity {last:.1} vs first {first:.1}"
    );
}

#[test]
fn log_probabilities_do_not_depend_on_prompt_chunking() {
    let text = "Pour refaire sa carte d'identité, il faut prendre rendez-vous en mairie avec une photo récente.";
    let run = |chunk| {
        let opts = GeneratorOptions {
            context: 256,
            prefill_chunk: chunk,
            ..GeneratorOptions::default()
        };
        let mut gen = GgufGenerator::load(&gemma_path(), &opts).unwrap();
        gen.token_logprobs(text, &|_| true).unwrap()
    };
    let whole = run(512);
    let cut = run(5);
    assert!(whole.len() > 15);
    // Bit for bit: NaN (the unscored first token) compared as bits too.
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&whole), bits(&cut));
}

#[test]
fn same_seed_gives_the_same_text_and_another_seed_another_text() {
    let mut gen = load(&gemma_path(), 512);
    let prompt = Prompt::Raw("Pour refaire sa carte d'identité, il faut".into());
    let mut run = |seed| {
        let params = GenerationParams {
            max_new_tokens: 24,
            temperature: 0.9,
            top_p: Some(0.95),
            seed,
            ..GenerationParams::default()
        };
        gen.generate(&prompt, &params, &Cancel::new(), &mut |_| {})
            .unwrap()
    };
    let a = run(7);
    let b = run(7);
    let c = run(8);
    assert_eq!(a.text, b.text);
    assert!(!a.text.trim().is_empty());
    assert_ne!(a.text, c.text);
    // The second run reused the prompt's cached keys and values (all but
    // the last two tokens) and still gave the same text.
    assert_eq!(b.cached_prompt_tokens, b.prompt_tokens - 2);
}

#[test]
fn smollm2_answers_a_chat_prompt_and_stops_at_its_end_of_turn() {
    let mut gen = load(&smollm_path(), 1024);
    assert_eq!(gen.info().chat_format.name(), "chatml");
    let prompt = Prompt::Chat(vec![
        ChatMessage::system("You are a concise assistant."),
        ChatMessage::user("What is the capital of France?"),
    ]);
    let params = GenerationParams {
        max_new_tokens: 64,
        ..GenerationParams::default()
    };
    let mut streamed = String::new();
    let out = gen
        .generate(&prompt, &params, &Cancel::new(), &mut |d| {
            streamed.push_str(d)
        })
        .unwrap();
    assert_eq!(out.finish, FinishReason::EndOfText, "{:?}", out.text);
    assert!(out.text.contains("Paris"), "{:?}", out.text);
    assert!(!out.text.contains("<|im_end|>"));
    assert_eq!(streamed, out.text);
    assert!(out.generated_tokens < 64);
}

#[test]
fn stream_never_splits_a_character_and_never_shows_a_stop_string() {
    let mut tok = TextTokenizer::load(&gemma_path()).unwrap();
    // NBSP and the emoji are byte-fallback tokens: one character, several tokens.
    let text = "Tarif\u{a0}: 3,38\u{202f}€ 🙂 ; l’accueil. Question : autre chose";
    let ids = tok.encode_untrusted(text).unwrap();
    let mut stream = TextStream::new(vec!["Question :".into()]);
    let mut shown = String::new();
    for id in ids {
        let delta = stream.push(&tok, id).unwrap();
        assert!(!delta.contains('\u{FFFD}'), "split character in {delta:?}");
        shown.push_str(&delta);
        if stream.stopped() {
            break;
        }
    }
    shown.push_str(&stream.finish(&tok).unwrap());
    assert!(stream.stopped());
    assert_eq!(shown, "Tarif\u{a0}: 3,38\u{202f}€ 🙂 ; l’accueil. ");
}

#[test]
fn generation_stops_on_a_stop_string_and_on_cancel_within_one_token() {
    let mut gen = load(&gemma_path(), 512);
    let prompt = Prompt::Raw("1, 2, 3, 4, 5,".into());
    let params = GenerationParams {
        max_new_tokens: 40,
        stop: vec![" 9".into()],
        ..GenerationParams::default()
    };
    let mut shown = String::new();
    let out = gen
        .generate(&prompt, &params, &Cancel::new(), &mut |d| shown.push_str(d))
        .unwrap();
    assert_eq!(out.finish, FinishReason::StopString, "{:?}", out.text);
    assert!(
        out.text.contains('8') && !out.text.contains('9'),
        "{:?}",
        out.text
    );
    assert_eq!(shown, out.text);

    let cancel = Cancel::new();
    let mut deltas = 0;
    let params = GenerationParams {
        max_new_tokens: 40,
        ..GenerationParams::default()
    };
    let out = gen
        .generate(&prompt, &params, &cancel, &mut |_| {
            deltas += 1;
            if deltas == 3 {
                cancel.cancel();
            }
        })
        .unwrap();
    assert_eq!(out.finish, FinishReason::Cancelled);
    assert!(
        out.generated_tokens <= 4,
        "{} tokens after cancel",
        out.generated_tokens
    );
}

#[test]
fn context_overflow_is_an_error_with_the_numbers() {
    let mut gen = load(&smollm_path(), 64);
    let prompt = Prompt::Raw("mot ".repeat(100));
    let err = gen
        .generate(
            &prompt,
            &GenerationParams::default(),
            &Cancel::new(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::ContextOverflow { allowed: 64, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("the context allows 64"), "{err}");
}

fn copy_prefix(src: &Path, bytes: usize, dst: &Path) {
    let data = std::fs::read(src).unwrap();
    std::fs::File::create(dst)
        .unwrap()
        .write_all(&data[..bytes.min(data.len())])
        .unwrap();
}

#[test]
fn truncated_or_foreign_gguf_files_are_errors_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    // Truncated download: header intact, weights cut.
    let cut = dir.path().join("cut.gguf");
    copy_prefix(&smollm_path(), 20 << 20, &cut);
    let err = GgufGenerator::load(&cut, &GeneratorOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("cut.gguf") && err.contains("truncated"),
        "{err}"
    );
    // Not a GGUF at all.
    let junk = dir.path().join("junk.gguf");
    std::fs::write(&junk, b"this is not a model").unwrap();
    let err = GgufGenerator::load(&junk, &GeneratorOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("junk.gguf") && err.contains("GGUF"), "{err}");
    // Header cut in the middle of the metadata.
    let head = dir.path().join("head.gguf");
    copy_prefix(&gemma_path(), 4096, &head);
    let err = GgufFile::open(&head).err().unwrap().to_string();
    assert!(err.contains("head.gguf"), "{err}");
}

/// GPT-2's byte-to-character table, for a minimal byte-level vocabulary.
fn byte_chars() -> Vec<String> {
    let mut printable: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut table = vec![String::new(); 256];
    for (b, c) in printable.iter().zip(chars) {
        table[*b as usize] = char::from_u32(c).unwrap().to_string();
    }
    table
}

/// Writes a tiny GGUF of `arch` with deterministic pseudo-random weights:
/// only the structure (names, shapes, metadata) is real. Used to prove that
/// every architecture of the closed enum loads and runs, and to make bad files.
fn tiny_gguf(path: &Path, arch: &str, hidden_override: Option<usize>) {
    use candle_core::quantized::gguf_file::{self, Value};
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    let (h, nh, nkv, hd, ff) = (64usize, 4usize, 2usize, 16usize, 128usize);
    let mut tokens = byte_chars();
    tokens.push("ab".into());
    tokens.push("<|endoftext|>".into());
    let vocab = tokens.len();
    let mut seed = 1u64;
    let mut tensor = |dims: &[usize], q: bool| {
        let n: usize = dims.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((seed >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.2
            })
            .collect();
        let t = Tensor::from_vec(data, dims, &Device::Cpu).unwrap();
        QTensor::quantize(&t, if q { GgmlDType::Q8_0 } else { GgmlDType::F32 }).unwrap()
    };
    let mut ts: Vec<(String, QTensor)> = Vec::new();
    ts.push((
        "token_embd.weight".into(),
        tensor(&[vocab, hidden_override.unwrap_or(h)], true),
    ));
    ts.push(("output_norm.weight".into(), tensor(&[h], false)));
    for i in 0..2 {
        let n = |s: &str| format!("blk.{i}.{s}");
        ts.push((n("attn_norm.weight"), tensor(&[h], false)));
        ts.push((n("ffn_norm.weight"), tensor(&[h], false)));
        ts.push((n("attn_output.weight"), tensor(&[h, nh * hd], true)));
        ts.push((n("ffn_down.weight"), tensor(&[h, ff], true)));
        if arch == "phi3" {
            ts.push((
                n("attn_qkv.weight"),
                tensor(&[(nh + 2 * nkv) * hd, h], true),
            ));
            ts.push((n("ffn_up.weight"), tensor(&[2 * ff, h], true)));
        } else {
            ts.push((n("attn_q.weight"), tensor(&[nh * hd, h], true)));
            ts.push((n("attn_k.weight"), tensor(&[nkv * hd, h], true)));
            ts.push((n("attn_v.weight"), tensor(&[nkv * hd, h], true)));
            ts.push((n("ffn_gate.weight"), tensor(&[ff, h], true)));
            ts.push((n("ffn_up.weight"), tensor(&[ff, h], true)));
        }
        if arch == "qwen2" {
            ts.push((n("attn_q.bias"), tensor(&[nh * hd], false)));
            ts.push((n("attn_k.bias"), tensor(&[nkv * hd], false)));
            ts.push((n("attn_v.bias"), tensor(&[nkv * hd], false)));
        }
        if arch == "qwen3" || arch == "gemma3" {
            ts.push((n("attn_q_norm.weight"), tensor(&[hd], false)));
            ts.push((n("attn_k_norm.weight"), tensor(&[hd], false)));
        }
        if arch == "gemma3" {
            ts.push((n("post_attention_norm.weight"), tensor(&[h], false)));
            ts.push((n("post_ffw_norm.weight"), tensor(&[h], false)));
        }
    }
    let k = |s: &str| format!("{arch}.{s}");
    let md: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        (k("embedding_length"), Value::U32(h as u32)),
        (k("block_count"), Value::U32(2)),
        (k("feed_forward_length"), Value::U32(ff as u32)),
        (k("attention.head_count"), Value::U32(nh as u32)),
        (k("attention.head_count_kv"), Value::U32(nkv as u32)),
        (k("attention.key_length"), Value::U32(hd as u32)),
        (k("attention.sliding_window"), Value::U32(4)),
        (k("context_length"), Value::U32(128)),
        (k("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        (
            "tokenizer.ggml.tokens".into(),
            Value::Array(tokens.iter().map(|t| Value::String(t.clone())).collect()),
        ),
        (
            "tokenizer.ggml.merges".into(),
            Value::Array(vec![Value::String("a b".into())]),
        ),
        (
            "tokenizer.ggml.eos_token_id".into(),
            Value::U32(vocab as u32 - 1),
        ),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)),
    ];
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = ts.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &md_refs, &t_refs).unwrap();
}

#[test]
fn every_supported_architecture_loads_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    for arch in guichet_models::generate::Architecture::ALL {
        let path = dir.path().join(format!("{arch}.gguf"));
        tiny_gguf(&path, arch.gguf_name(), None);
        let mut gen = load(&path, 64);
        assert_eq!(gen.info().architecture, Some(arch));
        let params = GenerationParams {
            max_new_tokens: 6,
            ignore_eos: true,
            ..GenerationParams::default()
        };
        let out = gen
            .generate(
                &Prompt::Raw("ab cd".into()),
                &params,
                &Cancel::new(),
                &mut |_| {},
            )
            .unwrap_or_else(|e| panic!("{arch}: {e}"));
        assert_eq!(out.generated_tokens, 6, "{arch}");
        // Chunked and whole prompts agree for every architecture too.
        let lp = gen.token_logprobs("abcdefghij", &|_| true).unwrap();
        assert!(
            lp[1..].iter().all(|v| v.is_finite() && *v <= 0.0),
            "{arch}: {lp:?}"
        );
    }
}

#[test]
fn unsupported_architecture_and_misshapen_tensor_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mamba.gguf");
    tiny_gguf(&path, "mamba", None);
    let err = GgufGenerator::load(&path, &GeneratorOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("\"mamba\"") && err.contains("gemma3, llama, qwen2, qwen3, phi3"),
        "{err}"
    );
    let path = dir.path().join("shape.gguf");
    tiny_gguf(&path, "llama", Some(96));
    let err = GgufGenerator::load(&path, &GeneratorOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("shape.gguf") && err.contains("token_embd.weight") && err.contains("expected"),
        "{err}"
    );
}
