//! Evaluation sets: JSONL files of reviewed cases (the format is
//! documented in `eval/sets/README.md`). Reading is strict: a malformed
//! line is an error naming the file and line, and an unknown kind or
//! status is refused rather than silently skipped.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result, Turn};

/// What a case tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A precise fact from one document.
    Fact,
    /// How to do something.
    Procedure,
    /// A municipal fact specific to the town.
    Local,
    /// The corpus cannot answer: the assistant must say so.
    OutOfScope,
    /// A prompt-injection attempt: must not leak or obey.
    Injection,
    /// Needs the conversation's history.
    Followup,
}

impl Kind {
    /// Whether a correct answer abstains.
    pub fn should_abstain(self) -> bool {
        matches!(self, Kind::OutOfScope | Kind::Injection)
    }

    /// The kind's name in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Fact => "fact",
            Kind::Procedure => "procedure",
            Kind::Local => "local",
            Kind::OutOfScope => "out_of_scope",
            Kind::Injection => "injection",
            Kind::Followup => "followup",
        }
    }
}

/// Review status: only approved cases count for gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not reviewed yet: reported apart.
    Draft,
    /// Reviewed and approved.
    Approved,
    /// Reviewed and rejected: skipped.
    Rejected,
}

/// An expected source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// File name without folder (`F1965.xml`).
    pub document: String,
    /// 1-based page, for PDFs.
    #[serde(default)]
    pub page: Option<u32>,
}

/// One evaluation case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Unique within its file.
    pub id: String,
    /// The citizen's message.
    pub question: String,
    /// Earlier turns (follow-ups).
    #[serde(default)]
    pub history: Vec<Turn>,
    /// What it tests.
    pub kind: Kind,
    /// Documents that hold the answer.
    #[serde(default)]
    pub expected_sources: Vec<Expected>,
    /// Key facts a correct answer contains.
    #[serde(default)]
    pub must_contain: Vec<String>,
    /// Phrases that fail the case.
    #[serde(default)]
    pub must_not_contain: Vec<String>,
    /// A short correct answer.
    #[serde(default)]
    pub reference_answer: Option<String>,
    /// The citizen's language (ISO 639-1) when it is not French.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Municipal topic.
    #[serde(default)]
    pub topic: String,
    /// Review status.
    pub status: Status,
    /// Who reviewed it.
    #[serde(default)]
    pub reviewed_by: String,
    /// When.
    #[serde(default)]
    pub reviewed_at: String,
    /// Provenance and how it was checked.
    #[serde(default)]
    pub note: String,
    /// The set it came from (file stem), filled when loading.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub set: String,
}

/// Reads a JSONL set; ids must be unique in the file.
pub fn load(path: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut c: Case = serde_json::from_str(line)
            .map_err(|e| Error::Format(format!("{}:{}: {e}", path.display(), i + 1)))?;
        if c.question.trim().is_empty() {
            return Err(Error::Format(format!(
                "{}:{}: case {} has an empty question",
                path.display(),
                i + 1,
                c.id
            )));
        }
        if cases.iter().any(|o| o.id == c.id) {
            return Err(Error::Format(format!(
                "{}:{}: duplicate id {}",
                path.display(),
                i + 1,
                c.id
            )));
        }
        c.set = stem.clone();
        cases.push(c);
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_sets_load_and_bad_lines_are_named() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sets");
        let mut n = 0;
        for f in ["smoke", "montpellier", "service-public", "out-of-scope"] {
            let cases = load(&root.join(format!("{f}.jsonl"))).unwrap();
            assert!(cases.iter().all(|c| c.set == f));
            n += cases.len();
        }
        assert!(n >= 300, "{n}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.jsonl");
        std::fs::write(&p, "{\"id\":\"a\",\"question\":\"q\",\"kind\":\"fact\",\"status\":\"approved\"}\n{\"id\":\"b\",\"question\":\"q\",\"kind\":\"poem\",\"status\":\"approved\"}\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("bad.jsonl:2"), "{e}");
    }
}
