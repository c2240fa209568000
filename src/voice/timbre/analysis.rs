//! [`analyze`]: clips in, a [`VoiceProfile`] out.

use super::dsp::{self, quantile, semitones, sorted};
use super::{TimbreError, formants, loudness, pitch, rate};
use crate::voice::voicefile::VoiceProfile;

/// The least voiced speech (s) a profile is measured on.
pub(crate) const MIN_VOICED_S: f32 = 0.5;

/// Measures a voice over all `clips` (mono `f32` samples in `[-1, 1]` with their rate,
/// 8–192 kHz): F0 statistics (median, p5/p95, range in semitones, contour habits: slope,
/// final rise), formants F1–F3 (LPC), a vocal-tract-length estimate and the mean spectral
/// envelope, speaking rate
/// (syllable nuclei per second of speech), integrated loudness.
///
/// Statistics pool the frames of all clips (a long clip weighs more). Loudness is the
/// duration-weighted energy mean of the clips' integrated loudness (clips shorter than 0.4 s
/// have none and are skipped for it).
///
/// Errors: [`TimbreError::SampleRate`] / [`TimbreError::NonFinite`] for a bad clip,
/// [`TimbreError::TooLittleSpeech`] below half a second of voiced speech.
pub fn analyze(clips: &[(&[f32], u32)]) -> Result<VoiceProfile, TimbreError> {
    let span = tracing::debug_span!("timbre_analyze", clips = clips.len());
    let _enter = span.enter();
    let mut f0s: Vec<f32> = Vec::new();
    let mut habits: Vec<(f32, f32, f32)> = Vec::new();
    let mut frames = formants::FrameStats::default();
    let mut syllables = 0usize;
    let mut speech_secs = 0.0f64;
    let mut energy = 0.0f64;
    let mut loud_secs = 0.0f64;
    for (i, &(pcm, rate)) in clips.iter().enumerate() {
        dsp::check(pcm, rate, i)?;
        if pcm.is_empty() {
            continue;
        }
        let x16 = dsp::resample(pcm, rate, pitch::RATE)?;
        let track = pitch::track(&x16);
        f0s.extend(track.voiced().map(|v| v.1));
        habits.extend(pitch::contour_habits(&track));
        let x11 = dsp::resample(pcm, rate, formants::RATE)?;
        frames.merge(formants::frames(&x11, &track));
        let n = rate::nuclei(&x16, &track);
        syllables += n.count;
        speech_secs += n.speech_secs;
        if let Some(l) = loudness::integrated(pcm, rate)? {
            let secs = pcm.len() as f64 / f64::from(rate);
            energy += secs * 10f64.powf(l / 10.0);
            loud_secs += secs;
        }
    }
    let voiced_secs = f0s.len() as f32 * pitch::F0Track::HOP_S as f32;
    if voiced_secs < MIN_VOICED_S {
        return Err(TimbreError::TooLittleSpeech {
            voiced_secs,
            needed_secs: MIN_VOICED_S,
        });
    }
    let f0 = sorted(&f0s);
    let (p5, p50, p95) = (quantile(&f0, 0.05), quantile(&f0, 0.5), quantile(&f0, 0.95));
    // Contour habits weighted by phrase length.
    let w: f32 = habits.iter().map(|h| h.2).sum();
    let (slope, rise) = if w > 0.0 {
        (
            habits.iter().map(|h| h.0 * h.2).sum::<f32>() / w,
            habits.iter().map(|h| h.1 * h.2).sum::<f32>() / w,
        )
    } else {
        (0.0, 0.0)
    };
    let formant =
        |k: usize| trimmed_log_mean(&frames.formants.iter().map(|f| f[k]).collect::<Vec<_>>());
    let formants_hz = [formant(0), formant(1), formant(2)];
    let profile = VoiceProfile {
        f0_median_hz: p50,
        f0_p5_hz: p5,
        f0_p95_hz: p95,
        f0_range_semitones: semitones(p5, p95),
        f0_slope_st_per_s: slope,
        f0_final_rise_st: rise,
        formants_hz,
        vocal_tract_cm: formants::vocal_tract_cm(&formants_hz),
        speaking_rate: if speech_secs > 0.0 {
            (syllables as f64 / speech_secs) as f32
        } else {
            0.0
        },
        loudness_lufs: if loud_secs > 0.0 {
            (10.0 * (energy / loud_secs).log10()) as f32
        } else {
            0.0
        },
        voiced_secs,
        speech_secs: speech_secs as f32,
        envelope_db: frames.envelope(),
    };
    tracing::debug!(
        ?profile,
        formant_frames = frames.formants.len(),
        "voice analyzed"
    );
    Ok(profile)
}

/// The F0 contour of one clip as [`analyze`] sees it: one value per 5 ms frame (frame `i` at
/// `i * 0.005` s), in Hz, 0 where unvoiced or silent.
pub fn f0_contour(pcm: &[f32], rate: u32) -> Result<Vec<f32>, TimbreError> {
    dsp::check(pcm, rate, 0)?;
    if pcm.is_empty() {
        return Ok(Vec::new());
    }
    let x16 = dsp::resample(pcm, rate, pitch::RATE)?;
    Ok(pitch::track(&x16).f0)
}

/// Geometric mean of the middle 80% (the lowest and highest 10% dropped): a typical
/// formant frequency over many vowels. (A median jumps between vowel clusters when a few
/// frames change sides; this does not.)
fn trimmed_log_mean(v: &[f32]) -> f32 {
    let s = sorted(v);
    let cut = s.len() / 10;
    let mid = &s[cut..s.len() - cut];
    if mid.is_empty() {
        return 0.0;
    }
    (mid.iter().map(|f| f64::from(*f).ln()).sum::<f64>() / mid.len() as f64).exp() as f32
}
