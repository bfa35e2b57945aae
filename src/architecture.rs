//! The root crate's layers, checked: every module of `src/` belongs to one
//! layer of `ARCHITECTURE.md` and names (`use crate::…`, or a `crate::…`
//! path in code) only modules of lower layers, so a store never reaches
//! into the answering engine and the engine never into HTTP.
//!
//! The layers are read from `ARCHITECTURE.md` itself (its numbered list
//! under "## Layers"), so the document and the check cannot drift apart.
//! The error type and the crate root's items (`crate::Error`,
//! `crate::Result`, `crate::EmbedTexts`) may be named from anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layer of each module, from `ARCHITECTURE.md`: a numbered line
/// ("3. `settings` …", or several modules "6. `kb`, `referents` …") gives
/// the backticked names before the first `:` or `—` their number.
fn layers(doc: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Layers";
            continue;
        }
        let t = line.trim_start();
        let Some((num, rest)) = t.split_once(". ") else {
            continue;
        };
        let Ok(n) = num.parse::<usize>() else {
            continue;
        };
        if !inside || line.len() != t.len() {
            continue;
        }
        let head = rest.split([':', '—']).next().unwrap_or("");
        for (i, part) in head.split('`').enumerate() {
            if i % 2 == 1
                && !part.is_empty()
                && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                out.insert(part.to_string(), n);
            }
        }
    }
    out
}

/// The top-level module a file of `src/` belongs to (`None` for the crate
/// root, the binary and this check).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs");
    // This check itself is a test of the crate, in no layer.
    (!matches!(name, "lib" | "main" | "architecture")).then(|| name.to_string())
}

/// The top-level modules a line of code names through `crate::`: plain
/// paths (`crate::kb::store`) and groups (`crate::{kb::X, rag}`).
fn named(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group, nested braces skipped.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    _ if depth == 0 && at_start && !name.is_empty() => {
                        out.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                out.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out.retain(|n| n.chars().next().is_some_and(|c| c.is_ascii_lowercase()));
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every backward or sideways `crate::` reference, as "file:line: a -> b".
fn violations(src: &Path, layers: &BTreeMap<String, usize>) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Some(module) = module_of(src, &f) else {
            continue;
        };
        let Some(&own) = layers.get(&module) else {
            out.push(format!("{}: module {module} has no layer", f.display()));
            continue;
        };
        let text = std::fs::read_to_string(&f).expect("source files are UTF-8");
        let mut joined = String::new();
        // A `use crate::{…}` group may span lines: read statements whole.
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            joined.push_str(code);
            let open = joined.matches('{').count() > joined.matches('}').count();
            if joined.trim_start().starts_with("use ") && open {
                joined.push(' ');
                continue;
            }
            for target in named(&joined) {
                if target == module || target == "error" {
                    continue;
                }
                match layers.get(&target) {
                    Some(&t) if t < own => {}
                    Some(&t) => out.push(format!(
                        "{}:{}: {module} (layer {own}) names {target} (layer {t})",
                        f.display(),
                        n + 1
                    )),
                    None => out.push(format!(
                        "{}:{}: {module} names {target}, which has no layer",
                        f.display(),
                        n + 1
                    )),
                }
            }
            joined.clear();
        }
    }
    out
}

#[test]
fn no_module_names_a_module_of_its_own_layer_or_above() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let layers = layers(&doc);
    assert!(
        layers.len() >= 10 && layers.get("time") < layers.get("api"),
        "ARCHITECTURE.md's layer list was not read: {layers:?}"
    );
    let bad = violations(&root.join("src"), &layers);
    assert!(
        bad.is_empty(),
        "imports against ARCHITECTURE.md's layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_reader_sees_groups_paths_and_layers() {
    assert_eq!(
        named("use crate::{kb::{store, Chunk}, rag, Error};"),
        ["kb", "rag"]
    );
    assert_eq!(named("let x = crate::time::now(); mycrate::foo"), ["time"]);
    let doc = "## Layers\n\n1. `time` (clocks)\n2. `kb`, `rag`: x `api`\n\n## Other\n3. `cli`\n";
    let l = layers(doc);
    assert_eq!(l.get("time"), Some(&1));
    assert_eq!(l.get("rag"), Some(&2));
    assert!(!l.contains_key("api") && !l.contains_key("cli"));
    // A backward import in a scratch tree is found.
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(dir.path().join("kb")).expect("mkdir");
    std::fs::write(
        dir.path().join("kb/mod.rs"),
        "use crate::{rag::Assistant, time};\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("time.rs"), "// crate::rag in a comment\n").expect("write");
    let l = layers("## Layers\n1. `time`\n2. `kb`\n3. `rag`\n");
    let bad = violations(dir.path(), &l);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("kb (layer 2) names rag (layer 3)"));
}
