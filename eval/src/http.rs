//! The answerer over HTTP: a running Guichet server, through its
//! OpenAI-compatible endpoint (history passes as messages) whose extra
//! `guichet` field carries the whole answer. Sources carry their extract
//! only, so groundedness is checked against extracts (in process it is
//! checked against whole chunks).

use std::time::Duration;

use crate::{Answered, AnsweredSource, Answerer, Error, Result, Turn};

/// A server at `base` (`http://127.0.0.1:8080`).
#[derive(Debug, Clone)]
pub struct HttpAnswerer {
    base: String,
    agent: ureq::Agent,
}

impl HttpAnswerer {
    /// A client of the server at `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(600)))
                .build()
                .into(),
        }
    }
}

/// The file name of a source path or URL.
fn file_name(source: &str) -> String {
    source
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(source)
        .to_string()
}

/// Reads the answer object of the API (`/api/chat`'s, or the `guichet`
/// field of `/v1/chat/completions`).
pub fn from_api(v: &serde_json::Value) -> Answered {
    let sources = v["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| AnsweredSource {
            n: s["n"].as_u64().unwrap_or(0) as usize,
            document: file_name(s["source"].as_str().unwrap_or("")),
            title: s["title"].as_str().unwrap_or("").to_string(),
            page: s["page"].as_u64().map(|p| p as u32),
            page_end: s["page_end"].as_u64().map(|p| p as u32),
            cited: s["cited"].as_bool().unwrap_or(false),
            text: s["extract"].as_str().unwrap_or("").to_string(),
        })
        .collect();
    Answered {
        status: v["status"].as_str().unwrap_or("").to_string(),
        answer: v["answer"].as_str().unwrap_or("").to_string(),
        abstained: v["abstained"].as_bool().unwrap_or(false),
        confidence: v["confidence"].as_f64().unwrap_or(0.0),
        sources,
        first_token_ms: v["timings"]["first_token_ms"].as_f64().unwrap_or(0.0),
        total_ms: v["timings"]["total_ms"].as_f64().unwrap_or(0.0),
        generated_tokens: v["generated_tokens"].as_u64().unwrap_or(0) as usize,
        model: v["model"].as_str().unwrap_or("").to_string(),
        mode: v["mode"].as_str().unwrap_or("").to_string(),
        language: v["language"].as_str().unwrap_or("").to_string(),
    }
}

impl Answerer for HttpAnswerer {
    fn describe(&self) -> String {
        format!("server {}", self.base)
    }

    fn answer(&self, question: &str, history: &[Turn]) -> Result<Answered> {
        let mut messages: Vec<serde_json::Value> = history
            .iter()
            .map(|t| serde_json::json!({ "role": t.role, "content": t.content }))
            .collect();
        messages.push(serde_json::json!({ "role": "user", "content": question }));
        let body = serde_json::json!({ "model": "guichet", "messages": messages });
        let mut r = self
            .agent
            .post(format!("{}/v1/chat/completions", self.base))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .map_err(|e| Error::Answer(format!("{}: {e}", self.base)))?;
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .read_to_string()
            .map_err(|e| Error::Answer(e.to_string()))?;
        if status != 200 {
            return Err(Error::Answer(format!("HTTP {status}: {text}")));
        }
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::Answer(format!("bad JSON: {e}")))?;
        Ok(from_api(&v["guichet"]))
    }
}
