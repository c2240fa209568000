//! Sentence embeddings with a BERT-family model on the CPU (candle): token embeddings of the
//! last layer, mean-pooled over the real (non-padding) tokens, L2-normalized, so the dot product
//! of two embeddings is their cosine similarity. all-MiniLM-L6-v2 (English, 384 dims) by
//! default; any folder with `config.json`, `model.safetensors` and `tokenizer.json` of a BERT
//! model works (a Chinese BERT makes the embeddings useful for Chinese questions too).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::BrainError;

/// The files an embedding model folder must hold.
pub const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// Longest input in tokens (questions and FAQ entries are short).
const MAX_TOKENS: usize = 128;

/// A vocabulary with at least this many entries holding Han characters is taken to cover
/// Chinese (bert-base-chinese has about 20 000; the English MiniLM has 488, single characters
/// it barely learned).
const CHINESE_VOCAB_MIN: usize = 3000;

/// A loaded embedding model. Read-only after loading: `Send + Sync`, shared by all questions.
pub(crate) struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dir: PathBuf,
    dims: usize,
    chinese: bool,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dir", &self.dir)
            .field("dims", &self.dims)
            .field("chinese", &self.chinese)
            .finish()
    }
}

impl Embedder {
    /// Loads the model in `dir`. Every failure names the file and what to do.
    pub(crate) fn load(dir: &Path) -> Result<Embedder, BrainError> {
        if !dir.is_dir() {
            return Err(BrainError::EmbedderMissing {
                dir: dir.to_path_buf(),
                file: None,
            });
        }
        for file in MODEL_FILES {
            if !dir.join(file).is_file() {
                return Err(BrainError::EmbedderMissing {
                    dir: dir.to_path_buf(),
                    file: Some(file),
                });
            }
        }
        let bad = |file: &str, reason: String| BrainError::EmbedderBroken {
            path: dir.join(file),
            reason,
        };
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| bad("config.json", e.to_string()))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| {
            bad(
                "config.json",
                format!("not the config of a BERT model: {e}"),
            )
        })?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| bad("tokenizer.json", e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id: config.pad_token_id as u32,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..TruncationParams::default()
            }))
            .map_err(|e| bad("tokenizer.json", e.to_string()))?;
        let device = Device::Cpu;
        let weights = dir.join("model.safetensors");
        // SAFETY: the weights are memory-mapped only while the model is built; candle copies
        // every tensor into its own CPU storage (`BertModel::load` reads them all), and the map
        // is dropped with the VarBuilder at the end of this function. Model files are not
        // rewritten while anchor runs (setup writes them before).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| bad("model.safetensors", e.to_string()))?;
        let model = BertModel::load(vb, &config).map_err(|e| {
            bad(
                "model.safetensors",
                format!("the weights do not match config.json (is this a BERT model?): {e}"),
            )
        })?;
        let chinese = tokenizer
            .get_vocab(false)
            .keys()
            .filter(|k| k.chars().any(super::text::is_han))
            .count()
            >= CHINESE_VOCAB_MIN;
        let embedder = Embedder {
            model,
            tokenizer,
            device,
            dir: dir.to_path_buf(),
            dims: config.hidden_size,
            chinese,
        };
        // Prove the model runs before the show relies on it.
        embedder
            .embed(&["hello"])
            .map_err(|e| bad("model.safetensors", format!("the model does not run: {e}")))?;
        Ok(embedder)
    }

    /// The folder the model was loaded from.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the model's vocabulary covers Chinese (else Chinese questions use lexical scores
    /// only).
    pub(crate) fn covers_chinese(&self) -> bool {
        self.chinese
    }

    /// Embeds texts in one batch: unit vectors of the model's hidden size.
    pub(crate) fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = if texts.len() == 1 {
            // One question: no thread pool for a single encode.
            vec![
                self.tokenizer
                    .encode(texts[0], true)
                    .map_err(|e| EmbedError(e.to_string()))?,
            ]
        } else {
            self.tokenizer
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| EmbedError(e.to_string()))?
        };
        let n = encodings.len();
        let len = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &encodings {
            let mut row_ids = e.get_ids().to_vec();
            let mut row_mask = e.get_attention_mask().to_vec();
            row_ids.resize(len, 0);
            row_mask.resize(len, 0);
            ids.extend(row_ids);
            mask.extend(row_mask);
        }
        let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
        let type_ids = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?; // (n, len, dims)
        let maskf = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
        let summed = hidden.broadcast_mul(&maskf)?.sum(1)?; // (n, dims)
        let counts = maskf.sum(1)?.clamp(1e-9, f64::MAX)?; // (n, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        let unit = mean.broadcast_div(&norm)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}

/// A failure while embedding (tokenizer or model). At `Brain::new` it is a [`BrainError`]; for
/// a question it only costs the embedding score (the answer uses lexical scores).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct EmbedError(String);

impl EmbedError {
    pub(crate) fn new(reason: String) -> EmbedError {
        EmbedError(reason)
    }
}

impl From<candle_core::Error> for EmbedError {
    fn from(e: candle_core::Error) -> Self {
        EmbedError(e.to_string())
    }
}

/// Cosine similarity of two unit vectors.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_sentences_are_closer_than_unrelated_ones() {
        let dir = crate::models::dir().join(super::super::DEFAULT_EMBEDDER);
        if !dir.join("model.safetensors").is_file() {
            eprintln!(
                "SKIPPED embeddings test: {} not found (run scripts/setup.sh); the lexical path is tested elsewhere",
                dir.display()
            );
            return;
        }
        let e = Embedder::load(&dir).expect("MiniLM loads");
        assert!(!e.covers_chinese(), "MiniLM is English-only");
        let v = e
            .embed(&[
                "How long does the lipstick last?",
                "Will this lipstick stay on all day?",
                "Do you ship to Canada?",
            ])
            .expect("embeds");
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].len(), 384);
        let norm: f32 = v[0].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "unit vectors: {norm}");
        let close = cosine(&v[0], &v[1]);
        let far = cosine(&v[0], &v[2]);
        assert!(close > far + 0.2, "similar {close} vs unrelated {far}");
        // One text alone embeds the same as in a batch (padding is masked out).
        let single = e
            .embed(&["Will this lipstick stay on all day?"])
            .expect("embeds");
        assert!(cosine(&single[0], &v[1]) > 0.999);
    }

    #[test]
    fn a_missing_or_broken_model_folder_is_a_clear_error() {
        let tmp = std::env::temp_dir().join(format!("anchor-brain-embed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let err = Embedder::load(&tmp).unwrap_err().to_string();
        assert!(
            err.contains("does not exist") && err.contains("embedder"),
            "{err}"
        );
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::write(tmp.join("config.json"), "{}").unwrap();
        let err = Embedder::load(&tmp).unwrap_err().to_string();
        assert!(err.contains("model.safetensors"), "{err}");
        std::fs::write(tmp.join("model.safetensors"), b"not weights").unwrap();
        std::fs::write(tmp.join("tokenizer.json"), b"{}").unwrap();
        let err = Embedder::load(&tmp).unwrap_err().to_string();
        assert!(err.contains("config.json") && err.contains("BERT"), "{err}");
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
