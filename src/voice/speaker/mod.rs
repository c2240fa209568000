//! speaker: who is speaking, as a GE2E speaker embedding (Resemblyzer's `VoiceEncoder`).
//!
//! In: mono PCM (`&[f32]` in `[-1, 1]`, any sample rate) of one utterance, or several clips of
//! one speaker. Out: a 256-d L2-normalized embedding; [`cosine`] compares two (higher is more
//! alike; the values are non-negative, so cosines are ≥ 0). For scale, tests/voice_speaker.rs
//! measures 0.87 between two sentences of espeak-ng's en-us voice and 0.64–0.72 between one of
//! them and the other played with a ×0.8 / ×1.25 vocal tract; no threshold is implied here.
//!
//! The pipeline is Resemblyzer 0.1.4's, reproduced stage by stage (tests/voice_speaker.rs checks
//! each against Resemblyzer run by scripts/ge2e_reference.py):
//! 1. [`preprocess`] (`audio.rs`, `vad.rs`): resample to 16 kHz, raise quiet clips to −30 dBFS,
//!    cut what WebRTC's VAD calls silence (mode 3, 30 ms windows, decisions smoothed over 8
//!    windows, then widened by 3 windows each side; the VAD is a Rust port of its fixed-point
//!    C code).
//! 2. [`mel_spectrogram`] (`mel.rs`): librosa's 40-band power mel spectrogram, 25 ms windows,
//!    10 ms hop.
//! 3. [`partial_slices`] (`partials.rs`): 160-frame (1.6 s) partial utterances, 1.3 per second.
//! 4. The network (`encoder.rs`): 3-layer LSTM (256) → linear 256 → ReLU → L2 norm per
//!    partial; the utterance embedding is the L2-normalized mean of its partials, a speaker's
//!    the L2-normalized mean of its utterances.
//!
//! Weights: `models/resemblyzer/pretrained.pt` (PyTorch legacy format, read by
//! `checkpoint.rs`; scripts/setup.sh fetches it from PyPI's Resemblyzer wheel). Inference runs
//! on the CPU and blocks (about 25 ms per second of audio on 2 cores): call it off async
//! workers. For 16 kHz input the result matches Resemblyzer to float32 rounding (≈1e-7 per
//! component); other rates go through rubato instead of soxr (see [`preprocess`]).

mod audio;
mod checkpoint;
mod encoder;
pub mod hparams;
mod mel;
mod partials;
mod vad;

use std::ops::Range;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

pub use audio::{Preprocessed, preprocess};
pub use checkpoint::CheckpointError;
pub use encoder::{Config, VoiceEncoder};
pub use mel::{MelFrame, mel_filterbank, mel_spectrogram};
pub use partials::partial_slices;

use hparams::{HOP_LENGTH, MEL_N_CHANNELS, PARTIALS_N_FRAMES};

/// Size of an embedding.
pub const EMBEDDING_SIZE: usize = 256;

/// Errors of the speaker stage.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    /// The weights file is not there. Not recoverable: run scripts/setup.sh.
    #[error(
        "GE2E speaker encoder weights not found at {0}; run scripts/setup.sh (it fetches models/resemblyzer/pretrained.pt from PyPI's Resemblyzer wheel)"
    )]
    MissingWeights(PathBuf),
    /// The weights file could not be read. Not recoverable.
    #[error("cannot read {path}: {source}")]
    ReadWeights {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a readable PyTorch legacy checkpoint (corrupt or a different file). Not
    /// recoverable: delete it and run scripts/setup.sh again.
    #[error(
        "{path} is not a valid Resemblyzer checkpoint ({source}); delete it and run scripts/setup.sh again"
    )]
    Checkpoint {
        path: PathBuf,
        source: CheckpointError,
    },
    /// The checkpoint lacks a tensor the network needs, or one has the wrong shape (a
    /// different model). Not recoverable.
    #[error(
        "{path} does not hold Resemblyzer's GE2E weights ({source}); delete it and run scripts/setup.sh again"
    )]
    Weights {
        path: PathBuf,
        source: candle_core::Error,
    },
    /// Unusable input: sample rate 0 or non-finite samples. The caller's bug.
    #[error("invalid audio for the speaker encoder: {0}")]
    InvalidAudio(&'static str),
    /// Nothing is left once silences are cut: the clip is empty, silent or not speech.
    /// Recoverable: record (or pick) a clip with speech.
    #[error("no speech found in {secs:.2} s of audio")]
    NoSpeech { secs: f64 },
    /// [`SpeakerEncoder::embed_speaker`] got no clips.
    #[error("no clips to embed")]
    NoClips,
    /// Resampling to 16 kHz failed.
    #[error("resampling {from} Hz → 16 kHz failed: {source}")]
    Resample {
        from: u32,
        source: crate::voice::VoiceError,
    },
    /// A tensor operation failed during inference (a bug, or out of memory).
    #[error("speaker encoder inference failed: {0}")]
    Inference(#[from] candle_core::Error),
    /// The network gave an all-zero (or non-finite) embedding; cannot be normalized.
    #[error("the speaker encoder produced a degenerate embedding")]
    Degenerate,
}

/// An utterance embedding with its parts, as Resemblyzer's `embed_utterance(...,
/// return_partials=True)` gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct UtteranceEmbedding {
    /// 256 values, L2-normalized.
    pub embedding: Vec<f32>,
    /// One L2-normalized embedding per partial utterance.
    pub partials: Vec<Vec<f32>>,
    /// Mel-frame range of each partial (× 160 for samples of the preprocessed wav).
    pub slices: Vec<Range<usize>>,
}

/// The GE2E speaker encoder with its weights loaded (CPU). Cheap to share by reference; `Send`
/// and `Sync`.
#[derive(Debug, Clone)]
pub struct SpeakerEncoder {
    model: VoiceEncoder,
    device: Device,
}

/// Where [`SpeakerEncoder::load_default`] looks: `models/resemblyzer/pretrained.pt`.
pub fn default_weights_path() -> PathBuf {
    crate::models::dir().join("resemblyzer/pretrained.pt")
}

impl SpeakerEncoder {
    /// Loads Resemblyzer's `pretrained.pt` (its `model_state`).
    ///
    /// Errors: [`SpeakerError::MissingWeights`] (run scripts/setup.sh),
    /// [`SpeakerError::ReadWeights`], [`SpeakerError::Checkpoint`] (corrupt file),
    /// [`SpeakerError::Weights`] (not these weights).
    pub fn load(path: &Path) -> Result<SpeakerEncoder, SpeakerError> {
        if !path.is_file() {
            return Err(SpeakerError::MissingWeights(path.to_path_buf()));
        }
        let bytes = std::fs::read(path).map_err(|source| SpeakerError::ReadWeights {
            path: path.to_path_buf(),
            source,
        })?;
        let tensors = checkpoint::read_state_dict(&bytes, "model_state").map_err(|source| {
            SpeakerError::Checkpoint {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let device = Device::Cpu;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = VoiceEncoder::load(vb, &Config::resemblyzer()).map_err(|source| {
            SpeakerError::Weights {
                path: path.to_path_buf(),
                source,
            }
        })?;
        tracing::info!(path = %path.display(), "GE2E speaker encoder loaded");
        Ok(SpeakerEncoder { model, device })
    }

    /// [`SpeakerEncoder::load`] of [`default_weights_path`].
    pub fn load_default() -> Result<SpeakerEncoder, SpeakerError> {
        SpeakerEncoder::load(&default_weights_path())
    }

    /// `embed_utterance(preprocess_wav(pcm, sample_rate))`: 256 values, L2-normalized.
    /// Blocks (CPU) for about 25 ms per second of audio.
    pub fn embed_utterance(&self, pcm: &[f32], sample_rate: u32) -> Result<Vec<f32>, SpeakerError> {
        let span = tracing::debug_span!(
            "embed_utterance",
            secs = pcm.len() as f64 / f64::from(sample_rate.max(1))
        );
        let _enter = span.enter();
        let pre = preprocess(pcm, sample_rate)?;
        Ok(self.embed_preprocessed(&pre.wav)?.embedding)
    }

    /// `embed_speaker`: the L2-normalized mean of the clips' utterance embeddings.
    pub fn embed_speaker(&self, clips: &[(&[f32], u32)]) -> Result<Vec<f32>, SpeakerError> {
        if clips.is_empty() {
            return Err(SpeakerError::NoClips);
        }
        let embeddings = clips
            .iter()
            .map(|(pcm, rate)| self.embed_utterance(pcm, *rate))
            .collect::<Result<Vec<_>, _>>()?;
        normalized_mean(&embeddings)
    }

    /// `embed_utterance(wav, return_partials=True)` of an already preprocessed 16 kHz wav
    /// ([`Preprocessed::wav`]).
    pub fn embed_preprocessed(&self, wav: &[f32]) -> Result<UtteranceEmbedding, SpeakerError> {
        if wav.is_empty() {
            return Err(SpeakerError::NoSpeech { secs: 0.0 });
        }
        let slices = partial_slices(wav.len());
        let needed = slices.last().map_or(0, |s| s.end * HOP_LENGTH);
        let mel = if needed > wav.len() {
            let mut padded = wav.to_vec();
            padded.resize(needed, 0.0);
            mel_spectrogram(&padded)
        } else {
            mel_spectrogram(wav)
        };
        let mut batch: Vec<f32> =
            Vec::with_capacity(slices.len() * PARTIALS_N_FRAMES * MEL_N_CHANNELS);
        for s in &slices {
            // Invariant: the wav was padded to the end of the last slice, so `mel` has
            // `1 + end` frames; the error cannot happen.
            let frames = mel.get(s.clone()).ok_or(SpeakerError::Degenerate)?;
            batch.extend(frames.iter().flatten());
        }
        let mels = Tensor::from_vec(
            batch,
            (slices.len(), PARTIALS_N_FRAMES, MEL_N_CHANNELS),
            &self.device,
        )?;
        let partials: Vec<Vec<f32>> = self.model.forward(&mels)?.to_vec2()?;
        let embedding = normalized_mean(&partials)?;
        Ok(UtteranceEmbedding {
            embedding,
            partials,
            slices,
        })
    }
}

/// `mean / ‖mean‖₂` of equally long vectors, as Resemblyzer computes it on float32 arrays.
fn normalized_mean(rows: &[Vec<f32>]) -> Result<Vec<f32>, SpeakerError> {
    let first = rows.first().ok_or(SpeakerError::NoClips)?;
    let mut sum = first.clone();
    for row in &rows[1..] {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    }
    let n = rows.len() as f64;
    let mean: Vec<f32> = sum.iter().map(|s| (f64::from(*s) / n) as f32).collect();
    let norm = mean
        .iter()
        .map(|v| f64::from(*v) * f64::from(*v))
        .sum::<f64>()
        .sqrt() as f32;
    if !(norm.is_finite() && norm > 0.0) {
        return Err(SpeakerError::Degenerate);
    }
    Ok(mean.iter().map(|v| v / norm).collect())
}

/// Cosine similarity of two embeddings, in `[-1, 1]` (GE2E embeddings are non-negative, so
/// `[0, 1]` for them). 0.0 when the lengths differ or either vector is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-7);
        assert!(cosine(&[1.0, 0.0], &[0.0, 2.0]).abs() < 1e-7);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn mean_of_embeddings_is_renormalized() {
        let m = normalized_mean(&[vec![1.0, 0.0], vec![0.0, 1.0]]).expect("mean");
        assert!((m[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((m[1] - m[0]).abs() < 1e-7);
        assert!(matches!(
            normalized_mean(&[vec![0.0, 0.0]]),
            Err(SpeakerError::Degenerate)
        ));
        assert!(matches!(normalized_mean(&[]), Err(SpeakerError::NoClips)));
    }
}
