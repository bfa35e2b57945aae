//! `guichet generate`: stream an answer from the generation model, to try a
//! model or a prompt by hand.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use guichet_models::{
    Cancel, ChatMessage, FinishReason, GenerationParams, Generator, GeneratorOptions, Prompt,
};

use crate::config::{load_generator, resolve_generation_model, Config};
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct GenerateArgs {
    /// The prompt: the user's message (chat) or the text to continue (--raw).
    #[arg(long)]
    prompt: String,
    /// A system prompt (instructions) for chat mode.
    #[arg(long)]
    system: Option<String>,
    /// The GGUF file or default model name; the global
    /// --generation-model when absent.
    #[arg(long)]
    model: Option<String>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Sampler seed: the same seed and settings give the same text.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Sampling temperature; 0 is greedy (deterministic).
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Sample among the k most likely tokens only.
    #[arg(long)]
    top_k: Option<usize>,
    /// Sample within the top-p probability mass only.
    #[arg(long)]
    top_p: Option<f64>,
    /// Penalty on recently seen tokens (1.0 = none).
    #[arg(long, default_value_t = 1.1)]
    repeat_penalty: f32,
    /// Stop before this string (repeatable).
    #[arg(long)]
    stop: Vec<String>,
    /// Use the model's chat template even if the file has none (base
    /// models get a plain completion prompt by default).
    #[arg(long, conflicts_with = "raw")]
    chat: bool,
    /// Continue the prompt text as is, without any template.
    #[arg(long)]
    raw: bool,
    /// A Hugging Face tokenizer.json to use instead of the GGUF's own.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
}

pub(super) fn run(config: &Config, args: GenerateArgs) -> Result<()> {
    let path = match &args.model {
        Some(spec) => resolve_generation_model(&config.models_dir, spec)?,
        None => config.generation_model.clone(),
    };
    let opts = GeneratorOptions {
        context: config.context,
        chat: args.chat.then_some(true),
        tokenizer_json: args.tokenizer.clone(),
        ..GeneratorOptions::default()
    };
    let mut gen = load_generator(&path, &opts)?;
    let prompt = if args.raw {
        if args.system.is_some() {
            return Err(Error::Usage("--system needs chat mode (drop --raw)".into()));
        }
        Prompt::Raw(args.prompt)
    } else {
        let mut messages = Vec::new();
        if let Some(s) = args.system {
            messages.push(ChatMessage::system(s));
        }
        messages.push(ChatMessage::user(args.prompt));
        Prompt::Chat(messages)
    };
    let params = GenerationParams {
        max_new_tokens: args.max_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        repeat_penalty: args.repeat_penalty,
        seed: args.seed,
        stop: args.stop,
        ..GenerationParams::default()
    };
    let info = gen.info().clone();
    eprintln!(
        "[{} ({}), {} format, context {}]",
        info.id,
        info.architecture.map_or("?".to_string(), |a| a.to_string()),
        info.chat_format.name(),
        info.context
    );
    let mut stdout = std::io::stdout().lock();
    let out = gen.generate(&prompt, &params, &Cancel::new(), &mut |delta| {
        let _ = stdout.write_all(delta.as_bytes());
        let _ = stdout.flush();
    })?;
    let _ = writeln!(stdout);
    let finish = match out.finish {
        FinishReason::EndOfText => "end of text",
        FinishReason::StopString => "stop string",
        FinishReason::Length => "max tokens",
        FinishReason::Cancelled => "cancelled",
    };
    eprintln!(
        "[prompt {} tokens ({} reused) in {:.2} s ({:.0} tok/s); {} tokens in {:.2} s ({:.1} tok/s); {finish}]",
        out.prompt_tokens,
        out.cached_prompt_tokens,
        out.prompt_seconds,
        (out.prompt_tokens - out.cached_prompt_tokens) as f64 / out.prompt_seconds.max(1e-9),
        out.generated_tokens,
        out.generation_seconds,
        out.generated_tokens as f64 / out.generation_seconds.max(1e-9),
    );
    Ok(())
}
