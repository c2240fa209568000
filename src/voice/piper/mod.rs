//! Piper: a merchant's own neural voice (VITS, exported by Piper's trainer) in a folder.
//!
//! In: an [`Utterance`](super::Utterance) and a voice folder holding `model.onnx` and its
//! `model.onnx.json` ([`PiperConfig`]). Out: one [`SpeechChunk`](super::SpeechChunk) per
//! sentence ([`PiperVoice::synthesize_stream`]) or one for the whole utterance
//! ([`Synthesizer::synthesize`](super::Synthesizer::synthesize)): mono f32 at
//! [`crate::media::SAMPLE_RATE`], phoneme timings with visemes, word timings.
//!
//! The steps, as Piper does them (piper-phonemize / piper1-gpl), one sentence at a time:
//!
//! 1. **Sentences**: [`split_sentences`](super::split_sentences). The first sentence is
//!    phonemized, synthesized and handed over before the next one is phonemized.
//! 2. **Phonemes** (`phonemize.rs`): espeak-ng's IPA (`espeak_TextToPhonemes`, IPA mode) from the
//!    process's one espeak-ng worker (`voice::espeak`). English goes to espeak-ng as text in the
//!    voice's `espeak.voice` (`en-us` unless the voice names another English variant). Mandarin
//!    goes through our own front end (`voice::zh`: normalization, jieba words, pinyin with
//!    polyphones, neutral tones and sandhi) and reaches espeak-ng as tone-numbered pinyin, one
//!    word per dictionary word, in the `cmn-latn-pinyin` voice: the same phoneme table as
//!    espeak-ng's `cmn` voice a Piper `cmn` model was trained on, without that voice's Debian
//!    dictionary gaps. Latin words inside Chinese are transcribed in `en-us` (Piper's `cmn`
//!    voice switches to English for them too). Language-switch flags are dropped, each clause
//!    gets its punctuation (`,` `.` `?` `!` `:` `;`) as a phoneme, like Piper.
//! 3. **Ids**: every IPA code point (decomposed like Unicode NFD for the letters espeak-ng
//!    writes; `phoneme_map` and `vowel_clusters` applied) through `phoneme_id_map`: `^` first,
//!    `$` last, the pad `_` after every symbol. Symbols the map lacks are dropped and reported
//!    ([`PhonemizedSentence::missing`]), as Piper drops them.
//! 4. **Inference** (`model.rs`): ONNX Runtime through `ort`, inputs `input`, `input_lengths`,
//!    `scales` = [noise_scale, length_scale, noise_w] and `sid` for multi-speaker models.
//! 5. **Audio**: resampled from `audio.sample_rate` to 48 kHz (rubato), peak-normalized per
//!    sentence like Piper (to 0.8, 0.95 for [`Emphasis::Strong`](super::Emphasis::Strong)).
//! 6. **Timings** (`timing.rs`): from the model's per-phoneme durations when it exposes them
//!    (a second output, e.g. piper1-gpl's `patch_voice_with_alignment`: frames per id ×
//!    `hop_length` samples) — exact; otherwise *derived*: the voiced span of the audio is
//!    found (10 ms energy frames), pauses inside it are matched to the clause punctuation in
//!    order, and each stretch is shared among its phonemes in proportion to fixed weights
//!    (vowels 1.0, long vowels and diphthongs 1.3–1.4, consonants 0.6). Derived timings are an
//!    estimate, good to a few tens of milliseconds per phoneme on the test model.
//!
//! Delivery: [`Emphasis::Strong`](super::Emphasis::Strong) multiplies `length_scale` by 0.9.
//! Between sentences [`Synthesizer::synthesize`](super::Synthesizer::synthesize) puts 0.2 s of
//! silence (Piper's default `sentence_silence`); streamed chunks carry none.
//!
//! Files: `config.rs` ([`PiperConfig`], the JSON mirror, and its validated runtime form),
//! `phonemize.rs` (text → [`PhonemizedSentence`]), `ipa.rs` (IPA → visemes, weights),
//! `model.rs` (the ONNX session and its signature check), `timing.rs`, `voice.rs`
//! ([`PiperVoice`]).

mod config;
mod ipa;
mod model;
mod phonemize;
mod timing;
mod voice;

use std::path::PathBuf;

pub use config::{
    AudioConfig, DEFAULT_HOP_LENGTH, DEFAULT_LENGTH_SCALE, DEFAULT_NOISE_SCALE, DEFAULT_NOISE_W,
    EspeakConfig, InferenceConfig, LanguageConfig, PhonemeType, PiperConfig,
};
pub use ipa::{is_vowel as ipa_is_vowel, viseme_for as ipa_viseme};
pub use phonemize::{Phone, PhoneKind, PhonemizedSentence, WordSpan};
pub use voice::{
    PiperCounters, PiperVoice, SENTENCE_SILENCE_S, STRONG_LENGTH_FACTOR, TimingSource,
};

use super::VoiceError;

/// Errors of the Piper engine. Loading errors ([`PiperError::ModelMissing`] through
/// [`PiperError::Speaker`]) are not recoverable for that voice: fix the folder and reload.
/// [`PiperError::Inference`] and [`PiperError::Phonemizer`] concern one sentence; the show
/// skips the line and goes on.
#[derive(Debug, thiserror::Error)]
pub enum PiperError {
    /// The model file is not there.
    #[error(
        "Piper model not found at {0}: put the voice's model.onnx in its voice folder and name it in voice.yaml (`engine: {{ kind: piper, model: model.onnx }}`)"
    )]
    ModelMissing(PathBuf),
    /// The JSON config is not beside the model (nor where `config` says).
    #[error(
        "Piper voice config not found at {path}: a Piper voice is model.onnx plus model.onnx.json; copy the .onnx.json exported with {model} beside it (or set `config:` in voice.yaml)"
    )]
    ConfigMissing { path: PathBuf, model: PathBuf },
    /// The config file exists but cannot be read.
    #[error("cannot read Piper voice config {path}: {source}")]
    ConfigRead {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config is not valid JSON or lacks a required field (`audio.sample_rate`,
    /// `espeak.voice`, `phoneme_id_map`).
    #[error(
        "{path} is not a valid Piper voice config ({source}); use the model.onnx.json exported with the model (it needs audio.sample_rate, espeak.voice and phoneme_id_map)"
    )]
    ConfigParse {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The config parses but cannot work (no pad/BOS/EOS symbol, a zero sample rate, ...).
    #[error("Piper voice config {path} is unusable: {reason}")]
    ConfigInvalid { path: PathBuf, reason: String },
    /// The config asks for a phonemizer anchor does not have (`text`, `pinyin`).
    #[error(
        "Piper voice config {path} has phoneme_type `{phoneme_type}`; anchor phonemizes with espeak-ng only (phoneme_type `espeak`): re-export the voice from an espeak-based Piper checkpoint"
    )]
    UnsupportedPhonemeType { path: PathBuf, phoneme_type: String },
    /// ONNX Runtime is missing or would not load (run scripts/setup.sh).
    #[error(transparent)]
    Runtime(#[from] crate::models::ModelError),
    /// ONNX Runtime rejected the model file.
    #[error("ONNX Runtime cannot open {path}: {reason}; is it a Piper model.onnx?")]
    Onnx { path: PathBuf, reason: String },
    /// The model's inputs or outputs are not Piper's.
    #[error(
        "{path} is not a Piper/VITS voice model: {reason}. A Piper model takes `input` (int64 [1, N]), `input_lengths` (int64 [1]), `scales` (float32 [3]) and, with several speakers, `sid` (int64 [1]), and gives `output` (float32 audio); export it with Piper's export_onnx"
    )]
    Signature { path: PathBuf, reason: String },
    /// The speaker id does not fit the model.
    #[error("speaker {requested} does not exist in {path}: {reason}")]
    Speaker {
        path: PathBuf,
        requested: i64,
        reason: String,
    },
    /// espeak-ng could not phonemize (not installed, voice missing, worker stopped).
    #[error("phonemizing for Piper: {0}")]
    Phonemizer(#[from] VoiceError),
    /// Running the model failed for one sentence.
    #[error("Piper inference failed: {0}")]
    Inference(String),
}

impl From<PiperError> for VoiceError {
    fn from(e: PiperError) -> Self {
        match e {
            PiperError::Phonemizer(v) => v,
            other => VoiceError::Synthesis(other.to_string()),
        }
    }
}
