//! timbre: measure a voice, and make the built-in voice sound like it.
//!
//! In: speech. [`analyze`] takes clips (mono `f32` in `[-1, 1]`, any rate from 8 to 192 kHz) and
//! returns a [`VoiceProfile`]: F0 statistics and contour habits, formants F1–F3 and a
//! vocal-tract length, speaking rate, integrated loudness. [`builtin_profile`] is the same
//! measurement of [`DefaultVoice`] on a fixed set of sentences (once per language and process).
//!
//! Out: [`TimbreMatch::apply`] rewrites a [`SpeechChunk`] in place so that speech measured as
//! `source` comes out measured as `target`: median F0 and F0 range, formants, speaking rate
//! and loudness. Phoneme and word timings are scaled with the audio. [`Matched`] wraps any
//! [`Synthesizer`] and applies one match per language (each language of the inner engine has
//! its own source profile; all map to the one target, so English and Chinese lines come out
//! in the same voice).
//!
//! The DSP is TD-PSOLA on pitch marks tracked by waveform cross-correlation, with each grain
//! resampled by the formant factor (a uniform vocal-tract-length warp, independent of the
//! pitch), plain overlap-add for unvoiced stretches, and an EBU R128 gain with a smooth peak
//! limiter. Analysis is YIN (F0), Burg LPC + polynomial roots (formants), and intensity-peak
//! syllable nuclei (rate). No model files, no FFT.
//!
//! Files: `analysis.rs` ([`analyze`]), `pitch.rs` (YIN F0 track, contour habits), `marks.rs`
//! (pitch marks), `formants.rs` (LPC formants, vocal-tract length), `rate.rs` (syllable
//! nuclei), `loudness.rs` (R128 meter, gain, limiter), `psola.rs` (the resynthesis),
//! `matching.rs` ([`TimbreMatch`], [`Matched`]), `builtin.rs` ([`builtin_profile`]), `dsp.rs`
//! (small shared helpers).

mod analysis;
mod builtin;
mod dsp;
mod formants;
mod loudness;
mod marks;
mod matching;
mod pitch;
mod psola;
mod rate;

pub use analysis::{analyze, f0_contour};
pub use builtin::{EN_SENTENCES, ZH_SENTENCES, builtin_profile};
pub use matching::{
    FORMANT_FACTOR_RANGE, LOUDNESS_RANGE_LUFS, MAX_FINAL_RISE_ADJUST_ST, MAX_PITCH_SHIFT_ST,
    MAX_SLOPE_ADJUST_ST_PER_S, Matched, RANGE_SCALE_RANGE, RATE_FACTOR_RANGE, STRONG_EMPHASIS_LU,
    TimbreMatch, formant_scale,
};

#[allow(unused_imports)] // for the doc links above
use super::{DefaultVoice, SpeechChunk, Synthesizer, voicefile::VoiceProfile};

/// Errors of the timbre stage.
#[derive(Debug, thiserror::Error)]
pub enum TimbreError {
    /// A clip's (or chunk's) sample rate is outside 8–192 kHz. Not recoverable for that audio:
    /// resample it first.
    #[error("unsupported sample rate {0} Hz (the timbre stage takes 8000–192000 Hz)")]
    SampleRate(u32),
    /// Audio holding NaN or infinite samples. Not recoverable for that audio.
    #[error("clip {clip} holds non-finite samples")]
    NonFinite {
        /// Index of the clip (0 for a chunk).
        clip: usize,
    },
    /// Too little voiced speech to measure a voice. Recoverable: give more (or cleaner,
    /// louder) speech.
    #[error(
        "only {voiced_secs:.2} s of voiced speech found; at least {needed_secs:.1} s are needed to measure a voice"
    )]
    TooLittleSpeech {
        /// Voiced speech found in all clips together.
        voiced_secs: f32,
        /// The least [`analyze`] accepts.
        needed_secs: f32,
    },
    /// Resampling, or synthesis of the built-in voice's reference sentences, failed (see
    /// [`VoiceError`](super::VoiceError) for which are recoverable).
    #[error(transparent)]
    Voice(#[from] super::VoiceError),
    /// The EBU R128 meter failed (out of memory). Not recoverable.
    #[error("loudness meter: {0}")]
    Loudness(#[from] ebur128::Error),
}
