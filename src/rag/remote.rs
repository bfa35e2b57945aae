//! Generation on an OpenAI-compatible server (`[generation] backend =
//! "openai"`): `llama-server`, vLLM or a hosted endpoint such as the
//! State's Albert API, for a deployment that already runs one (a GPU box,
//! many communes on one model).
//!
//! [`OpenAiGenerator`] implements the same [`Generator`] trait as the
//! in-process model, so the prompts, the attribution of every sentence and
//! the output checks are the ones of the local backend: only where the
//! tokens come from differs. Replies are streamed (`stream: true`, Server-
//! Sent Events) and handed on piece by piece; a cancelled generation
//! closes the connection, which stops the server's work too. Every failure
//! (refused connection, timeout, an error status, a reply that is not an
//! OpenAI one) is a [`guichet_models::Error::Server`], on which the
//! answering stages give the extractive answer instead.
//!
//! A generic server does not tokenize for us, so token counts (for the
//! context budget) are estimated from the text's length, on the high side.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use guichet_models::generate::ChatFormat;
use guichet_models::{
    Cancel, Error, FinishReason, Generation, GenerationParams, Generator, GeneratorInfo, Prompt,
    Result,
};
use serde_json::{json, Value};

use crate::settings::GenerationSettings;

/// Characters per token assumed when estimating a count: French text runs
/// at 3.5–4.5 characters per token in the tokenizers of the shipped
/// models, so 3 over-counts and a budget never overflows a context.
const CHARS_PER_TOKEN: usize = 3;

/// How many alternatives of the first token are asked for when scoring
/// choices (`top_logprobs`; OpenAI's maximum is 20).
const TOP_LOGPROBS: usize = 20;

/// The log-probability given to a choice the server did not list among its
/// most likely first tokens: far below any listed one.
const UNLISTED_LOGPROB: f32 = -30.0;

/// A generator whose model runs on an OpenAI-compatible server.
#[derive(Clone)]
pub struct OpenAiGenerator {
    agent: ureq::Agent,
    completions: String,
    model: String,
    api_key: Option<String>,
    info: GeneratorInfo,
}

impl std::fmt::Debug for OpenAiGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the API key.
        f.debug_struct("OpenAiGenerator")
            .field("completions", &self.completions)
            .field("model", &self.model)
            .finish()
    }
}

impl OpenAiGenerator {
    /// A generator for the server of `settings`, with a context of
    /// `context` tokens (what the server's model is run with: the budget of
    /// prompt and answer). Nothing is sent until the first generation: a
    /// server started after Guichet is used as soon as it is up.
    pub fn new(settings: &GenerationSettings, context: usize) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(settings.connect_timeout_secs)))
            .timeout_global(Some(Duration::from_secs(settings.timeout_secs)))
            .build()
            .into();
        let base = settings.base_url.trim().trim_end_matches('/');
        let key = settings.api_key.trim();
        Self {
            agent,
            completions: format!("{base}/chat/completions"),
            model: settings.model_name.clone(),
            api_key: (!key.is_empty()).then(|| key.to_string()),
            info: GeneratorInfo {
                id: format!("{} ({base})", settings.model_name),
                architecture: None,
                context,
                trained_context: context,
                chat_format: ChatFormat::Server,
                tokenizer: "server".into(),
            },
        }
    }

    /// Sends `body` and returns the reply when its status is 200.
    fn post(&self, body: &Value) -> Result<ureq::http::Response<ureq::Body>> {
        let mut request = self
            .agent
            .post(&self.completions)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut reply = request
            .send(body.to_string())
            .map_err(|e| Error::Server(format!("{}: {e}", self.completions)))?;
        let status = reply.status().as_u16();
        if status != 200 {
            let text = reply
                .body_mut()
                .with_config()
                .limit(4096)
                .read_to_string()
                .unwrap_or_default();
            return Err(Error::Server(format!(
                "{} answered {status}: {}",
                self.completions,
                text.trim()
            )));
        }
        Ok(reply)
    }
}

/// The messages of `prompt` as the chat API takes them; a raw prompt is
/// one user message.
fn messages(prompt: &Prompt) -> Value {
    match prompt {
        Prompt::Raw(text) => json!([{ "role": "user", "content": text }]),
        Prompt::Chat(messages) => Value::Array(
            messages
                .iter()
                .map(|m| json!({ "role": m.role.name(), "content": m.content }))
                .collect(),
        ),
    }
}

/// The length of `prompt`'s text, in estimated tokens.
fn estimate(prompt: &Prompt) -> usize {
    let chars = match prompt {
        Prompt::Raw(text) => text.chars().count(),
        // A few tokens of markup per message.
        Prompt::Chat(messages) => messages
            .iter()
            .map(|m| m.content.chars().count() + 4 * CHARS_PER_TOKEN)
            .sum(),
    };
    chars.div_ceil(CHARS_PER_TOKEN)
}

/// The request body of a streamed generation.
fn request(model: &str, prompt: &Prompt, params: &GenerationParams) -> Value {
    let mut body = json!({
        "model": model,
        "messages": messages(prompt),
        "stream": true,
        "stream_options": { "include_usage": true },
        "max_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "seed": params.seed,
    });
    if let Some(p) = params.top_p {
        body["top_p"] = json!(p);
    }
    if !params.stop.is_empty() {
        // OpenAI takes at most four stop strings.
        body["stop"] = json!(params.stop.iter().take(4).collect::<Vec<_>>());
    }
    body
}

/// What one `data:` line of the stream says.
#[derive(Debug, Default, PartialEq)]
struct Chunk {
    text: String,
    finish: Option<FinishReason>,
    prompt_tokens: Option<usize>,
    cached_tokens: Option<usize>,
    generated_tokens: Option<usize>,
    done: bool,
}

/// Reads one `data:` payload of a chat-completion stream.
fn parse_chunk(data: &str) -> Result<Chunk> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(Chunk {
            done: true,
            ..Chunk::default()
        });
    }
    let v: Value = serde_json::from_str(data)
        .map_err(|e| Error::Server(format!("a stream event is not JSON ({e}): {data:.200}")))?;
    if let Some(e) = v.get("error") {
        return Err(Error::Server(format!("the server reported: {e}")));
    }
    let mut chunk = Chunk::default();
    if let Some(choice) = v["choices"].get(0) {
        if let Some(t) = choice["delta"]["content"].as_str() {
            chunk.text = t.to_string();
        }
        chunk.finish = match choice["finish_reason"].as_str() {
            Some("length") => Some(FinishReason::Length),
            Some("stop") => Some(FinishReason::EndOfText),
            Some(_) => Some(FinishReason::EndOfText),
            None => None,
        };
    }
    let count = |v: &Value| v.as_u64().map(|n| n as usize);
    let usage = &v["usage"];
    chunk.prompt_tokens = count(&usage["prompt_tokens"]);
    chunk.generated_tokens = count(&usage["completion_tokens"]);
    chunk.cached_tokens = count(&usage["prompt_tokens_details"]["cached_tokens"])
        // llama-server says it in its own timings.
        .or_else(|| count(&v["timings"]["cache_n"]));
    Ok(chunk)
}

impl Generator for OpenAiGenerator {
    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn prompt_tokens(&mut self, prompt: &Prompt) -> Result<usize> {
        Ok(estimate(prompt))
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(text.chars().count().div_ceil(CHARS_PER_TOKEN))
    }

    fn generate(
        &mut self,
        prompt: &Prompt,
        params: &GenerationParams,
        cancel: &Cancel,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let started = Instant::now();
        let mut reply = self.post(&request(&self.model, prompt, params))?;
        let mut text = String::new();
        let mut finish = None;
        let mut first = None;
        let (mut prompt_tokens, mut cached, mut generated) = (None, None, None);
        let reader = BufReader::new(reply.body_mut().as_reader());
        for line in reader.lines() {
            if cancel.is_cancelled() {
                // Dropping the reply closes the connection: the server stops.
                finish = Some(FinishReason::Cancelled);
                break;
            }
            let line = line.map_err(|e| Error::Server(format!("the stream broke off: {e}")))?;
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let chunk = parse_chunk(data)?;
            if chunk.done {
                break;
            }
            if !chunk.text.is_empty() {
                first.get_or_insert_with(|| started.elapsed());
                text.push_str(&chunk.text);
                on_text(&chunk.text);
            }
            finish = chunk.finish.or(finish);
            prompt_tokens = chunk.prompt_tokens.or(prompt_tokens);
            cached = chunk.cached_tokens.or(cached);
            generated = chunk.generated_tokens.or(generated);
        }
        let Some(finish) = finish else {
            return Err(Error::Server(
                "the stream ended without a finish reason".into(),
            ));
        };
        let total = started.elapsed().as_secs_f64();
        let prompt_seconds = first.map_or(total, |d| d.as_secs_f64());
        Ok(Generation {
            generated_tokens: generated
                .unwrap_or_else(|| text.chars().count().div_ceil(CHARS_PER_TOKEN)),
            text,
            finish,
            prompt_tokens: prompt_tokens.unwrap_or_else(|| estimate(prompt)),
            cached_prompt_tokens: cached.unwrap_or(0),
            prompt_seconds,
            generation_seconds: total - prompt_seconds,
        })
    }

    /// One token generated greedily with the `TOP_LOGPROBS` most likely
    /// first tokens and their log-probabilities; a choice not among them
    /// gets `UNLISTED_LOGPROB`.
    fn choice_logprobs(&mut self, prompt: &Prompt, choices: &[String]) -> Result<Vec<f32>> {
        let body = json!({
            "model": self.model,
            "messages": messages(prompt),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": true,
            "top_logprobs": TOP_LOGPROBS,
        });
        let mut reply = self.post(&body)?;
        let v: Value = reply
            .body_mut()
            .read_json()
            .map_err(|e| Error::Server(format!("the reply is not JSON: {e}")))?;
        let top = v["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            .as_array()
            .ok_or_else(|| {
                Error::Server(
                    "the reply has no top_logprobs: the server cannot score choices".into(),
                )
            })?;
        let listed: Vec<(&str, f32)> = top
            .iter()
            .filter_map(|t| Some((t["token"].as_str()?, t["logprob"].as_f64()? as f32)))
            .collect();
        Ok(choices
            .iter()
            .map(|c| {
                // Tokenizers differ on a leading space: both spellings of
                // the choice count, the likelier one wins.
                listed
                    .iter()
                    .filter(|(t, _)| t.trim() == c.trim())
                    .map(|(_, l)| *l)
                    .fold(UNLISTED_LOGPROB, f32::max)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guichet_models::ChatMessage;

    #[test]
    fn stream_events_give_text_finish_and_usage() {
        let c = parse_chunk(r#" {"choices":[{"delta":{"content":"Bon"},"finish_reason":null}]}"#)
            .unwrap();
        assert_eq!(c.text, "Bon");
        assert_eq!(c.finish, None);
        let c = parse_chunk(
            r#"{"choices":[{"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":3},"timings":{"cache_n":8}}"#,
        )
        .unwrap();
        assert_eq!(c.finish, Some(FinishReason::Length));
        assert_eq!(
            (c.prompt_tokens, c.generated_tokens, c.cached_tokens),
            (Some(12), Some(3), Some(8))
        );
        assert!(parse_chunk("[DONE]").unwrap().done);
        assert!(matches!(
            parse_chunk(r#"{"error":{"message":"overloaded"}}"#),
            Err(Error::Server(m)) if m.contains("overloaded")
        ));
        assert!(matches!(parse_chunk("<html>"), Err(Error::Server(_))));
    }

    #[test]
    fn requests_carry_the_messages_and_at_most_four_stops() {
        let prompt = Prompt::Chat(vec![
            ChatMessage::system("Réponds en français."),
            ChatMessage::user("Où déclarer une naissance ?"),
        ]);
        let params = GenerationParams {
            max_new_tokens: 7,
            stop: (0..6).map(|i| format!("stop{i}")).collect(),
            ..GenerationParams::default()
        };
        let body = request("qwen", &prompt, &params);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(
            body["messages"][1]["content"],
            "Où déclarer une naissance ?"
        );
        assert_eq!(body["max_tokens"], 7);
        assert_eq!(body["stop"].as_array().unwrap().len(), 4);
        assert_eq!(body["stream"], true);
    }

    #[test]
    fn estimates_over_count_french_tokens() {
        // 48 characters: 16 tokens estimated, where the shipped tokenizers
        // take 11 to 14.
        let p = Prompt::Raw("Le passeport est valable dix ans pour un majeur.".into());
        assert_eq!(estimate(&p), 16);
    }

    #[test]
    fn a_server_that_is_not_there_is_a_server_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = GenerationSettings {
            base_url: format!("http://127.0.0.1:{port}/v1/"),
            ..GenerationSettings::default()
        };
        let mut g = OpenAiGenerator::new(&settings, 2048);
        assert_eq!(
            g.completions,
            format!("http://127.0.0.1:{port}/v1/chat/completions")
        );
        let r = g.generate(
            &Prompt::Raw("Bonjour".into()),
            &GenerationParams::default(),
            &Cancel::new(),
            &mut |_| {},
        );
        assert!(matches!(r, Err(Error::Server(_))), "{r:?}");
    }
}
