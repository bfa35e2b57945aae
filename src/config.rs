//! Settings shared by every subcommand: command-line flags with environment
//! overrides (`GUICHET_*`), validated into a [`Config`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use guichet_models::fetch::default_model;
use guichet_models::{
    BertEmbedder, E5Embedder, Embedder, GeneratorOptions, GgufGenerator, WeightMode,
};

use crate::settings::Settings;
use crate::{Error, Result};

/// Global options, accepted before or after any subcommand. Each one also
/// has a key in the configuration file (`--config`); a flag or its
/// environment variable wins over the file, the file over the default.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// The configuration file (TOML; see guichet.example.toml). Default:
    /// `guichet.toml` in the current folder when there is one.
    #[arg(long, env = "GUICHET_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Folder holding the model files. `guichet models fetch` fills it
    /// (default: the repository's git-ignored `models/weights/`).
    #[arg(long, env = "GUICHET_MODELS", global = true)]
    pub models_dir: Option<PathBuf>,

    /// CPU threads for model inference (default: every core). Sets candle's
    /// CANDLE_NUM_THREADS, which is read once, at the first model call.
    #[arg(long, env = "GUICHET_THREADS", global = true)]
    pub threads: Option<usize>,

    /// Embedding model: `e5` (multilingual-e5-small, the French-capable
    /// default), `minilm` (all-MiniLM-L6-v2, English only), the path of a
    /// packed e5 `.bin` file, or a folder with config.json,
    /// model.safetensors and tokenizer.json (any BERT-family model).
    #[arg(long, env = "GUICHET_EMBEDDING_MODEL", global = true)]
    pub embedding_model: Option<String>,

    /// How the e5 encoder runs its 4-bit weights: `int8` (requantized to 7
    /// bits, integer kernels: the fastest, see models/README.md), `f32`
    /// (dequantised once, candle's f32 GEMM) or `q4` (candle's int8 × int4
    /// kernels, about 85 MB less memory).
    #[arg(
        long,
        env = "GUICHET_E5_WEIGHTS",
        default_value = "int8",
        global = true
    )]
    pub e5_weights: WeightMode,

    /// Generation model: `gemma3` (Gemma 3 270M, the default), `smollm2`
    /// (SmolLM2-135M-Instruct), or the path of any GGUF file of a supported
    /// architecture (gemma3, llama, qwen2, qwen3, phi3).
    #[arg(long, env = "GUICHET_GENERATION_MODEL", global = true)]
    pub generation_model: Option<String>,

    /// Tokens of context for generation (prompt and answer; default 4,096,
    /// which fits the sources of an answer with room to spare; larger costs
    /// memory: Gemma 3 270M takes about 37 KB of key/value cache per token).
    #[arg(long, env = "GUICHET_CONTEXT", global = true)]
    pub context: Option<usize>,

    /// Folder of the knowledge base (SQLite database and vector index;
    /// default `data/`). Created if absent; back it up to keep the town's
    /// documents.
    #[arg(long, env = "GUICHET_DATA", global = true)]
    pub data_dir: Option<PathBuf>,
}

/// Which embedding model to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingModel {
    /// A packed multilingual-e5 file.
    E5(PathBuf),
    /// A BERT-family folder in safetensors.
    Bert(PathBuf),
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder of model files.
    pub models_dir: PathBuf,
    /// Inference threads, if set.
    pub threads: Option<usize>,
    /// The embedding model.
    pub embedding_model: EmbeddingModel,
    /// e5 weight mode.
    pub e5_weights: WeightMode,
    /// The generation model's GGUF file.
    pub generation_model: PathBuf,
    /// Generation context, in tokens.
    pub context: usize,
    /// Knowledge base folder.
    pub data_dir: PathBuf,
    /// The embedding model as given (`e5`, `minilm` or a path).
    pub embedding_spec: String,
    /// The generation model as given (`gemma3`, `smollm2` or a path).
    pub generation_spec: String,
    /// Everything else of the configuration file (town, answers, limits),
    /// with the flags above already folded in.
    pub settings: Settings,
}

impl Config {
    /// Validates the global arguments over the configuration file and the
    /// environment.
    pub fn from_args(args: &GlobalArgs) -> Result<Self> {
        let settings = settings(args)?;
        let embedding_model = resolve_embedding_model(&settings.models, &settings.embedding_model)?;
        let generation_model =
            resolve_generation_model(&settings.models, &settings.generation_model)?;
        Ok(Self {
            generation_model,
            context: settings.context,
            data_dir: settings.data.clone(),
            embedding_spec: settings.embedding_model.clone(),
            generation_spec: settings.generation_model.clone(),
            models_dir: settings.models.clone(),
            threads: Some(settings.threads).filter(|&n| n > 0),
            embedding_model,
            e5_weights: args.e5_weights,
            settings,
        })
    }

    /// Applies process-wide settings (inference threads). Call before any
    /// model is used.
    pub fn apply_threads(&self) {
        if let Some(n) = self.threads {
            // Read by candle when its thread pools start; no model call has
            // happened yet, and no other thread reads the environment now.
            std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
            std::env::set_var("RAYON_NUM_THREADS", n.to_string());
        }
    }

    /// Fetches the configured embedding model first when it is a default
    /// one (`e5`, `minilm`) whose files are absent: the commands that run
    /// the main job (`ingest`, `search`) work on a fresh machine by
    /// themselves. Progress goes to stderr.
    pub fn ensure_default_embedder(&self) -> Result<()> {
        if let Some(m) = default_model(&self.embedding_spec) {
            guichet_models::fetch::ensure(&self.models_dir, &[m], |ev| {
                if let guichet_models::fetch::FetchEvent::Downloading { model, .. } = ev {
                    eprintln!(
                        "fetching the {model} model into {}",
                        self.models_dir.display()
                    );
                }
            })?;
        }
        Ok(())
    }

    /// Loads the configured embedder.
    pub fn load_embedder(&self) -> Result<Arc<dyn Embedder>> {
        load_embedder(&self.embedding_model, self.e5_weights)
    }

    /// The document parser: worker processes of this very binary, under
    /// the `[ingest]` limits. Workers start on the first file.
    pub fn parser(&self) -> Result<crate::parse::Parser> {
        self.parser_with_workers(crate::parse::default_workers(self.settings.ingest.workers))
    }

    /// [`Config::parser`] with `workers` processes (benchmarks pin one).
    pub fn parser_with_workers(&self, workers: usize) -> Result<crate::parse::Parser> {
        let program = std::env::current_exe().map_err(|source| Error::Io {
            path: PathBuf::from("/proc/self/exe"),
            source,
        })?;
        Ok(crate::parse::Parser::isolated(
            program,
            self.settings.ingest.parse_limits(),
            workers,
        ))
    }

    /// How ingestion files documents, with the configured limits.
    pub fn ingest_options(&self) -> crate::kb::ingest::IngestOptions {
        crate::kb::ingest::IngestOptions {
            max_chunks: self.settings.ingest.max_chunks,
            ..Default::default()
        }
    }
}

/// The configuration file (`--config`, else `./guichet.toml` when present)
/// with the environment and the global flags folded in.
pub fn settings(args: &GlobalArgs) -> Result<Settings> {
    let file = match &args.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from("guichet.toml")).filter(|p| p.is_file()),
    };
    let mut settings = Settings::load(file.as_deref(), &|k| std::env::var(k).ok())?;
    if let Some(v) = &args.models_dir {
        settings.models = v.clone();
    }
    if let Some(v) = &args.data_dir {
        settings.data = v.clone();
    }
    if let Some(v) = &args.embedding_model {
        settings.embedding_model = v.clone();
    }
    if let Some(v) = &args.generation_model {
        settings.generation_model = v.clone();
    }
    if let Some(v) = args.context {
        settings.context = v;
    }
    if let Some(v) = args.threads {
        if v == 0 {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        settings.threads = v;
    }
    Ok(settings)
}

/// Turns `e5`, `minilm` or a path into an [`EmbeddingModel`].
pub fn resolve_embedding_model(models_dir: &Path, spec: &str) -> Result<EmbeddingModel> {
    if let Some(m) = default_model(spec) {
        let path = m.main_path(models_dir);
        return match spec {
            "e5" => Ok(EmbeddingModel::E5(path)),
            "minilm" => Ok(EmbeddingModel::Bert(path)),
            _ => Err(Error::Usage(format!(
                "{spec} is a generation model, not an embedding model"
            ))),
        };
    }
    let path = PathBuf::from(spec);
    if path.is_dir() {
        Ok(EmbeddingModel::Bert(path))
    } else if path.is_file() {
        Ok(EmbeddingModel::E5(path))
    } else {
        Err(Error::ModelNotFound { path })
    }
}

/// The default models that generate (the others embed).
pub const GENERATION_MODELS: &[&str] = &["gemma3", "smollm2", "qwen2.5-1.5b", "qwen2.5-0.5b"];

/// Turns `gemma3`, `smollm2`, `qwen2.5-1.5b`, `qwen2.5-0.5b` or a path into
/// the GGUF file to load. The file
/// need not exist yet (`models fetch` may come later); loading checks.
pub fn resolve_generation_model(models_dir: &Path, spec: &str) -> Result<PathBuf> {
    match default_model(spec) {
        Some(m) if GENERATION_MODELS.contains(&spec) => Ok(m.main_path(models_dir)),
        Some(_) => Err(Error::Usage(format!(
            "{spec} is an embedding model, not a generation model"
        ))),
        None => Ok(PathBuf::from(spec)),
    }
}

/// Loads a GGUF generator, with a clear message when the file is missing.
pub fn load_generator(path: &Path, opts: &GeneratorOptions) -> Result<GgufGenerator> {
    if !path.is_file() {
        return Err(Error::ModelNotFound {
            path: path.to_owned(),
        });
    }
    Ok(GgufGenerator::load(path, opts)?)
}

/// Loads an embedder, with a clear message when its files are missing.
pub fn load_embedder(model: &EmbeddingModel, mode: WeightMode) -> Result<Arc<dyn Embedder>> {
    match model {
        EmbeddingModel::E5(path) => {
            if !path.exists() {
                return Err(Error::ModelNotFound { path: path.clone() });
            }
            Ok(Arc::new(E5Embedder::load(path, mode)?))
        }
        EmbeddingModel::Bert(dir) => {
            if !dir.join("model.safetensors").exists() {
                return Err(Error::ModelNotFound { path: dir.clone() });
            }
            Ok(Arc::new(BertEmbedder::load(dir)?))
        }
    }
}
