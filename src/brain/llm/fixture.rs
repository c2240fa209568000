//! Test fixtures: a tiny Qwen2 GGUF (2 layers, hidden 32, 2 heads, 1 KV head, 300 rows) written
//! with candle's GGUF writer, and a matching byte-level BPE `tokenizer.json` built with the
//! tokenizers crate (ids 0–255 the bytes, then `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`,
//! the same layout as Qwen's, only smaller).
//!
//! Two sets of weights: [`Weights::Random`] (seeded: the same seed writes the same file) and
//! [`Weights::SaysHi`], hand-set so that after any prompt the model says `Hi!` then `<|im_end|>`.

use std::path::{Path, PathBuf};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use super::{END_OF_TEXT, IM_END, IM_START, LlmConfig};
use crate::testutil::{TempDir, tempdir};

pub(crate) const HIDDEN: usize = 32;
pub(crate) const FFN: usize = 64;
pub(crate) const LAYERS: usize = 2;
pub(crate) const HEADS: usize = 2;
pub(crate) const KV_HEADS: usize = 1;
/// Rows of the embedding: the tokenizer's 259 ids, padded (as real GGUF vocabularies are).
pub(crate) const VOCAB: usize = 300;
pub(crate) const END_OF_TEXT_ID: u32 = 256;
pub(crate) const IM_START_ID: u32 = 257;
pub(crate) const IM_END_ID: u32 = 258;

/// The weights written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weights {
    /// Uniform random weights from this seed; the rows of the special tokens are zero so the
    /// model (practically) never stops before the token limit.
    Random(u64),
    /// Every layer zero, so the last hidden state is the last token's embedding; embeddings and
    /// output rows chain `any → H → i → ! → <|im_end|>`.
    SaysHi,
}

/// What [`write_gguf`] writes.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// `general.architecture`; the metadata keys use it as their prefix.
    pub architecture: &'static str,
    pub context: u32,
    /// Rows of `token_embd.weight` and `output.weight`.
    pub vocab: usize,
    pub weights: Weights,
    /// A metadata key left out.
    pub skip_key: Option<&'static str>,
    /// Write `tokenizer.ggml.tokens` with `<|im_start|>` and `<|im_end|>` swapped.
    pub swap_chat_tokens: bool,
}

impl Spec {
    pub(crate) fn qwen2(weights: Weights) -> Spec {
        Spec {
            architecture: "qwen2",
            context: 2048,
            vocab: VOCAB,
            weights,
            skip_key: None,
            swap_chat_tokens: false,
        }
    }
}

/// GPT-2's byte-to-character map, used by byte-level BPE (Qwen's tokenizer included).
pub(crate) fn byte_char(byte: u8) -> char {
    let printable = |b: u8| matches!(b, 33..=126 | 161..=172 | 174..=255);
    if printable(byte) {
        return char::from(byte);
    }
    let index = (0..byte).filter(|&b| !printable(b)).count() as u32;
    char::from_u32(256 + index).unwrap_or('?')
}

/// The token at an id, as the GGUF token list and the tokenizer name it.
fn token_name(id: usize) -> String {
    match id {
        0..=255 => byte_char(id as u8).to_string(),
        256 => END_OF_TEXT.to_owned(),
        257 => IM_START.to_owned(),
        258 => IM_END.to_owned(),
        _ => format!("[PAD{id}]"),
    }
}

/// A matrix `(rows, cols)` in Q8_0 (`cols` a multiple of 32) or a vector in F32.
fn qtensor(data: Vec<f32>, dims: &[usize]) -> anyhow::Result<QTensor> {
    let tensor = Tensor::from_vec(data, dims, &Device::Cpu)?;
    let dtype = if dims.len() == 2 {
        GgmlDType::Q8_0
    } else {
        GgmlDType::F32
    };
    Ok(QTensor::quantize(&tensor, dtype)?)
}

fn one_hot(len: usize, at: usize, value: f32) -> Vec<f32> {
    let mut v = vec![0.0; len];
    v[at] = value;
    v
}

/// Writes a tiny GGUF model.
pub(crate) fn write_gguf(path: &Path, spec: &Spec) -> anyhow::Result<()> {
    let head_dim = HIDDEN / HEADS;
    let kv_dim = KV_HEADS * head_dim;
    let arch = spec.architecture;
    let mut rng = rand::rngs::StdRng::seed_from_u64(match spec.weights {
        Weights::Random(seed) => seed,
        Weights::SaysHi => 0,
    });
    let random = spec.weights != Weights::SaysHi;
    let mut fill = |len: usize, scale: f32| -> Vec<f32> {
        if random {
            (0..len).map(|_| rng.random_range(-scale..scale)).collect()
        } else {
            vec![0.0; len]
        }
    };

    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    // Embedding and output head.
    let (embedding, output) = if random {
        let embedding = fill(spec.vocab * HIDDEN, 1.0);
        let mut output = fill(spec.vocab * HIDDEN, 1.0);
        for id in END_OF_TEXT_ID as usize..=IM_END_ID as usize {
            if id < spec.vocab {
                output[id * HIDDEN..(id + 1) * HIDDEN].fill(0.0);
            }
        }
        (embedding, output)
    } else {
        // Hidden state e_k after token t: 'H' → e1, 'i' → e2, '!' → e3, others → e0.
        // Output row r scores e_k: 'H' scores e0, 'i' e1, '!' e2, <|im_end|> e3.
        let mut embedding = Vec::with_capacity(spec.vocab * HIDDEN);
        for id in 0..spec.vocab {
            let dim = match id {
                72 => 1,  // 'H'
                105 => 2, // 'i'
                33 => 3,  // '!'
                _ => 0,
            };
            embedding.extend(one_hot(HIDDEN, dim, 1.0));
        }
        let mut output = vec![0.0; spec.vocab * HIDDEN];
        let scored = [
            b'H' as usize,
            b'i' as usize,
            b'!' as usize,
            IM_END_ID as usize,
        ];
        for (dim, next) in scored.into_iter().enumerate() {
            output[next * HIDDEN + dim] = 10.0;
        }
        (embedding, output)
    };
    tensors.push((
        "token_embd.weight".into(),
        qtensor(embedding, &[spec.vocab, HIDDEN])?,
    ));
    tensors.push((
        "output_norm.weight".into(),
        qtensor(vec![1.0; HIDDEN], &[HIDDEN])?,
    ));
    tensors.push((
        "output.weight".into(),
        qtensor(output, &[spec.vocab, HIDDEN])?,
    ));
    for layer in 0..LAYERS {
        let p = format!("blk.{layer}");
        let w = 0.3;
        let list = [
            (
                "attn_q.weight",
                fill(HIDDEN * HIDDEN, w),
                vec![HIDDEN, HIDDEN],
            ),
            (
                "attn_k.weight",
                fill(kv_dim * HIDDEN, w),
                vec![kv_dim, HIDDEN],
            ),
            (
                "attn_v.weight",
                fill(kv_dim * HIDDEN, w),
                vec![kv_dim, HIDDEN],
            ),
            ("attn_q.bias", fill(HIDDEN, 0.1), vec![HIDDEN]),
            ("attn_k.bias", fill(kv_dim, 0.1), vec![kv_dim]),
            ("attn_v.bias", fill(kv_dim, 0.1), vec![kv_dim]),
            (
                "attn_output.weight",
                fill(HIDDEN * HIDDEN, w),
                vec![HIDDEN, HIDDEN],
            ),
            ("ffn_gate.weight", fill(FFN * HIDDEN, w), vec![FFN, HIDDEN]),
            ("ffn_up.weight", fill(FFN * HIDDEN, w), vec![FFN, HIDDEN]),
            ("ffn_down.weight", fill(HIDDEN * FFN, w), vec![HIDDEN, FFN]),
            ("attn_norm.weight", vec![1.0; HIDDEN], vec![HIDDEN]),
            ("ffn_norm.weight", vec![1.0; HIDDEN], vec![HIDDEN]),
        ];
        for (name, data, dims) in list {
            tensors.push((format!("{p}.{name}"), qtensor(data, &dims)?));
        }
    }

    let mut tokens: Vec<gguf_file::Value> = (0..spec.vocab)
        .map(|id| gguf_file::Value::String(token_name(id)))
        .collect();
    if spec.swap_chat_tokens {
        tokens.swap(IM_START_ID as usize, IM_END_ID as usize);
    }
    let u32v = |n: usize| gguf_file::Value::U32(n as u32);
    let metadata: Vec<(String, gguf_file::Value)> = vec![
        (
            "general.architecture".into(),
            gguf_file::Value::String(arch.into()),
        ),
        (
            "general.name".into(),
            gguf_file::Value::String("anchor tiny test model".into()),
        ),
        (
            format!("{arch}.context_length"),
            gguf_file::Value::U32(spec.context),
        ),
        (format!("{arch}.embedding_length"), u32v(HIDDEN)),
        (format!("{arch}.block_count"), u32v(LAYERS)),
        (format!("{arch}.feed_forward_length"), u32v(FFN)),
        (format!("{arch}.attention.head_count"), u32v(HEADS)),
        (format!("{arch}.attention.head_count_kv"), u32v(KV_HEADS)),
        (
            format!("{arch}.attention.layer_norm_rms_epsilon"),
            gguf_file::Value::F32(1e-6),
        ),
        (
            format!("{arch}.rope.freq_base"),
            gguf_file::Value::F32(1_000_000.0),
        ),
        (
            "tokenizer.ggml.model".into(),
            gguf_file::Value::String("gpt2".into()),
        ),
        (
            "tokenizer.ggml.tokens".into(),
            gguf_file::Value::Array(tokens),
        ),
        (
            "tokenizer.ggml.eos_token_id".into(),
            gguf_file::Value::U32(IM_END_ID),
        ),
        (
            "tokenizer.ggml.bos_token_id".into(),
            gguf_file::Value::U32(END_OF_TEXT_ID),
        ),
    ];
    let metadata: Vec<(&str, &gguf_file::Value)> = metadata
        .iter()
        .filter(|(k, _)| Some(k.as_str()) != spec.skip_key)
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = std::fs::File::create(path)?;
    gguf_file::write(&mut file, &metadata, &tensors)?;
    Ok(())
}

/// Writes `tokenizer.json` into `dir`: byte-level BPE over the 256 bytes (no merges), then the
/// three special tokens when `specials`, then `extra` plain added tokens.
pub(crate) fn write_tokenizer(
    dir: &Path,
    name: &str,
    specials: bool,
    extra: usize,
) -> anyhow::Result<PathBuf> {
    let vocab: serde_json::Map<String, serde_json::Value> = (0..=255u8)
        .map(|b| (byte_char(b).to_string(), serde_json::Value::from(b)))
        .collect();
    let vocab_path = dir.join(format!("{name}.vocab.json"));
    let merges_path = dir.join(format!("{name}.merges.txt"));
    std::fs::write(&vocab_path, serde_json::to_string(&vocab)?)?;
    std::fs::write(&merges_path, "#version: 0.2\n")?;
    let bpe = BPE::from_file(
        &vocab_path.to_string_lossy(),
        &merges_path.to_string_lossy(),
    )
    .build()
    .map_err(|e| anyhow::anyhow!("bpe: {e}"))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevel::default()));
    if specials {
        let added = [END_OF_TEXT, IM_START, IM_END].map(|t| AddedToken::from(t, true));
        tokenizer.add_special_tokens(&added);
    }
    let extra: Vec<AddedToken> = (0..extra)
        .map(|i| AddedToken::from(format!("extra{i}"), false))
        .collect();
    tokenizer.add_tokens(&extra);
    let path = dir.join(format!("{name}.json"));
    tokenizer
        .save(&path, false)
        .map_err(|e| anyhow::anyhow!("save tokenizer: {e}"))?;
    Ok(path)
}

/// A model and its tokenizer in a temp dir (removed on drop).
pub(crate) struct Tiny {
    pub dir: TempDir,
    pub model: PathBuf,
    pub tokenizer: PathBuf,
}

impl Tiny {
    /// Greedy, 24 new tokens, seed 7.
    pub(crate) fn config(&self) -> LlmConfig {
        LlmConfig {
            model: self.model.clone(),
            tokenizer: self.tokenizer.clone(),
            max_new_tokens: 24,
            temperature: 0.0,
            seed: 7,
        }
    }
}

/// Writes `model.gguf` per `spec` and `tokenizer.json` (with the special tokens).
pub(crate) fn tiny(spec: &Spec) -> anyhow::Result<Tiny> {
    let dir = tempdir()?;
    let model = dir.path().join("model.gguf");
    write_gguf(&model, spec)?;
    let tokenizer = write_tokenizer(dir.path(), "tokenizer", true, 0)?;
    Ok(Tiny {
        dir,
        model,
        tokenizer,
    })
}
