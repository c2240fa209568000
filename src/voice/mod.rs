//! voice: text in, speech out.
//!
//! In: an [`Utterance`] (text, language, delivery). Out: a [`SpeechChunk`]: mono PCM at
//! [`crate::media::SAMPLE_RATE`] plus phoneme and word timings relative to the chunk start,
//! each phoneme already mapped to one of the 15 Oculus [`Viseme`]s (the lips need them).
//!
//! Engines implement [`Synthesizer`]. The default engine needs no model files: espeak-ng
//! through its C library, with our own Mandarin front end (normalization, segmentation,
//! pinyin with tones) feeding espeak-ng's `cmn-latn-pinyin` voice, and `en-us` for English.
//!
//! Files: `espeak.rs` (the [`DefaultVoice`] engine and its worker thread), `zh/` (Mandarin
//! normalization, segmentation, pinyin), `visemes.rs` (espeak-ng phoneme → viseme),
//! `resample.rs` (rubato, exact length, no delay: utterances and streams), `split.rs` ([`split_sentences`]), `wav.rs` ([`write_wav`]).

pub mod engine;
pub mod enroll;
mod espeak;
pub mod piper;
pub mod report;
pub mod resample;
pub mod speaker;
mod split;
pub mod timbre;
pub mod visemes;
pub mod voicefile;
mod wav;
pub mod zh;

pub use espeak::{DefaultVoice, EN_VOICE, ZH_VOICE};
pub use split::split_sentences;
pub use wav::write_wav;

/// Spoken language of an utterance (BCP-47 in scripts: `zh-CN`, `en-US`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Language {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en-US")]
    EnUs,
}

impl Language {
    /// Parses a BCP-47 tag; `zh`, `zh-CN`, `zh-Hans`, `cmn` → Mandarin; `en`, `en-US`, `en-GB` → English.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let lower = tag.to_ascii_lowercase();
        let primary = lower.split(['-', '_']).next().unwrap_or("");
        match primary {
            "zh" | "cmn" => Some(Language::ZhCn),
            "en" => Some(Language::EnUs),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::EnUs => "en-US",
        }
    }
}

/// How lively a line is delivered (script `emphasis:`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Emphasis {
    #[default]
    Normal,
    Strong,
}

/// One thing to say.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    pub text: String,
    pub language: Language,
    pub emphasis: Emphasis,
}

/// The 15 Oculus/ARKit-style visemes, in the canonical order `sil PP FF TH DD kk CH SS nn RR aa E ih oh ou`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Viseme {
    Sil,
    PP,
    FF,
    TH,
    DD,
    Kk,
    CH,
    SS,
    Nn,
    RR,
    Aa,
    E,
    Ih,
    Oh,
    Ou,
}

impl Viseme {
    pub const ALL: [Viseme; 15] = [
        Viseme::Sil,
        Viseme::PP,
        Viseme::FF,
        Viseme::TH,
        Viseme::DD,
        Viseme::Kk,
        Viseme::CH,
        Viseme::SS,
        Viseme::Nn,
        Viseme::RR,
        Viseme::Aa,
        Viseme::E,
        Viseme::Ih,
        Viseme::Oh,
        Viseme::Ou,
    ];

    /// The Oculus name (`sil`, `PP`, ..., `ou`), as used for morph target names `viseme_<name>`.
    pub fn name(self) -> &'static str {
        [
            "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh",
            "ou",
        ][self.index()]
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A phoneme as spoken, times in seconds from the start of its [`SpeechChunk`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PhonemeTiming {
    /// The engine's phoneme symbol (espeak-ng mnemonic for the default engine).
    pub phoneme: String,
    pub viseme: Viseme,
    pub start: f32,
    pub end: f32,
    /// Carries primary stress (English) or a full tone on a stressed syllable (Mandarin).
    pub stressed: bool,
}

/// A word (English) or a character/word (Mandarin) as spoken, times in seconds from the chunk start.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WordTiming {
    pub text: String,
    pub start: f32,
    pub end: f32,
}

/// Synthesized speech for one utterance.
#[derive(Debug, Clone, Default)]
pub struct SpeechChunk {
    /// Mono samples at `sample_rate`, in `[-1, 1]`.
    pub pcm: Vec<f32>,
    pub sample_rate: u32,
    pub phonemes: Vec<PhonemeTiming>,
    pub words: Vec<WordTiming>,
}

impl SpeechChunk {
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.pcm.len() as f64 / f64::from(self.sample_rate)
    }
}

/// A text-to-speech engine. Implementations own their engine (one worker thread for C
/// libraries that are not thread-safe) and return audio already at
/// [`crate::media::SAMPLE_RATE`].
pub trait Synthesizer: Send {
    fn synthesize(&mut self, utterance: &Utterance) -> Result<SpeechChunk, VoiceError>;
}

/// Errors of the voice stage.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// espeak-ng could not be initialised (library or data missing). Not recoverable: install
    /// `espeak-ng` (scripts/setup.sh does).
    #[error(
        "espeak-ng failed to start ({0}); install it with `sudo apt-get install espeak-ng libespeak-ng-dev` (scripts/setup.sh does this)"
    )]
    EngineInit(String),
    /// espeak-ng has no voice of this name installed. Not recoverable for that language.
    #[error(
        "espeak-ng has no voice `{0}`; install Debian's espeak-ng-data (scripts/setup.sh does this)"
    )]
    MissingVoice(String),
    /// Synthesis of one utterance failed; the show skips the line and goes on.
    #[error("speech synthesis failed: {0}")]
    Synthesis(String),
    /// A voice named in a script or on the command line cannot be used (not enrolled, no
    /// profile, a broken voice.yaml). Not recoverable: the message says what to do.
    #[error("cannot use the voice: {0}")]
    Voice(String),
    /// Writing a WAV file failed.
    #[error("cannot write {path}: {source}")]
    Wav {
        path: std::path::PathBuf,
        source: hound::Error,
    },
}
