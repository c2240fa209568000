//! [`TimbreMatch`] (one voice toward another, per chunk) and [`Matched`] (a synthesizer
//! whose every chunk is matched).

use std::ops::RangeInclusive;

use super::psola::{self, Warp};
use super::{TimbreError, builtin_profile, dsp, formants, loudness, marks, pitch};
use crate::voice::voicefile::VoiceProfile;
use crate::voice::{
    DefaultVoice, Emphasis, Language, SpeechChunk, Synthesizer, Utterance, VoiceError,
};

/// Largest pitch shift (semitones, either way).
pub const MAX_PITCH_SHIFT_ST: f32 = 12.0;
/// Scale of the F0 range (target range / source range, in semitones).
pub const RANGE_SCALE_RANGE: RangeInclusive<f32> = 0.5..=2.0;
/// Formant (spectral-envelope) factor: source vocal-tract length / target's. 0.8–1.25 is
/// about ±4 semitones of formant shift, a child-to-adult-male span stays out of reach on
/// purpose: beyond it a uniform warp sounds like a cartoon, not like a person.
pub const FORMANT_FACTOR_RANGE: RangeInclusive<f32> = 0.8..=1.25;
/// Speaking-rate factor (target rate / source rate; >1 is faster).
pub const RATE_FACTOR_RANGE: RangeInclusive<f32> = 0.7..=1.4;
/// Target integrated loudness (LUFS). Peaks are limited to 0.95 either way.
pub const LOUDNESS_RANGE_LUFS: RangeInclusive<f32> = -30.0..=-14.0;
/// Largest change of the F0 declination slope (semitones per second).
pub const MAX_SLOPE_ADJUST_ST_PER_S: f32 = 2.0;
/// Largest change of the final rise (semitones).
pub const MAX_FINAL_RISE_ADJUST_ST: f32 = 3.0;
/// Loudness added by [`Matched`] to lines with [`Emphasis::Strong`] after matching (every
/// chunk is otherwise brought to the one target; the built-in voice says strong lines
/// 1.3–2.0 LU louder than normal ones).
pub const STRONG_EMPHASIS_LU: f32 = 1.5;
/// The slope adjustment never moves a point more than this (semitones) from the chunk's
/// voiced midpoint, however long the chunk.
const MAX_SLOPE_SPAN_ST: f32 = 2.5;
/// The final-rise adjustment ramps in over the last this-many seconds of voicing.
const FINAL_RISE_S: f64 = 0.3;
/// Below these the DSP is skipped (only loudness is matched): no audible change to make.
const IDENTITY_ST: f32 = 0.05;
const IDENTITY_FACTOR: f32 = 0.003;

/// How much higher (>1) or lower the formants of `to` sit than those of `from`: the
/// frequency scale that best aligns their mean spectral envelopes
/// ([`VoiceProfile::envelope_db`]). `None` when either profile has no envelope or the two
/// envelopes are too unlike to align.
///
/// This is what matching uses for the formant factor: aligning whole envelopes holds up where
/// picking formants does not (a low voice has more formants below 5.5 kHz than the
/// predictor has poles, and F1 is lost between harmonics).
pub fn formant_scale(from: &VoiceProfile, to: &VoiceProfile) -> Option<f32> {
    formants::envelope_scale(&from.envelope_db, &to.envelope_db)
}

/// A mapping from one measured voice to another, applied to chunks of speech.
///
/// Built from two [`VoiceProfile`]s; every aspect whose profile value is 0 ("not measured")
/// on either side is left alone. Factors are clamped to the ranges above.
#[derive(Debug, Clone, PartialEq)]
pub struct TimbreMatch {
    source: VoiceProfile,
    target: VoiceProfile,
    strength: f32,
    pitch_shift_st: f32,
    range_scale: f32,
    formant_factor: f32,
    rate_factor: f32,
    loudness_lufs: Option<f32>,
    slope_adjust: f32,
    final_rise_adjust: f32,
}

impl TimbreMatch {
    /// Maps speech with profile `source` toward `target` (strength 1.0 = all the way, clamped
    /// to safe ranges): median F0 shift within ±[`MAX_PITCH_SHIFT_ST`], F0 range scale in
    /// [`RANGE_SCALE_RANGE`], formant factor ([`formant_scale`] of the two envelopes, or the
    /// vocal-tract length ratio when a profile has no envelope) in
    /// [`FORMANT_FACTOR_RANGE`], rate factor in [`RATE_FACTOR_RANGE`], loudness in
    /// [`LOUDNESS_RANGE_LUFS`], declination-slope change within
    /// ±[`MAX_SLOPE_ADJUST_ST_PER_S`], final-rise change within ±[`MAX_FINAL_RISE_ADJUST_ST`].
    pub fn new(source: &VoiceProfile, target: &VoiceProfile) -> TimbreMatch {
        TimbreMatch::with_strength(source, target, 1.0)
    }

    /// As [`TimbreMatch::new`], going `strength` (0–1) of the way (geometric for factors,
    /// linear for semitones and LUFS).
    pub fn with_strength(
        source: &VoiceProfile,
        target: &VoiceProfile,
        strength: f32,
    ) -> TimbreMatch {
        let k = if strength.is_finite() {
            strength.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let known = |v: f32| v.is_finite() && v > 0.0;
        let factor = |ratio: f32, range: &RangeInclusive<f32>| -> f32 {
            if ratio.is_finite() && ratio > 0.0 {
                ratio.clamp(*range.start(), *range.end()).powf(k)
            } else {
                1.0
            }
        };
        let pitched = known(source.f0_median_hz) && known(target.f0_median_hz);
        let pitch_shift_st = if pitched {
            dsp::semitones(source.f0_median_hz, target.f0_median_hz)
                .clamp(-MAX_PITCH_SHIFT_ST, MAX_PITCH_SHIFT_ST)
                * k
        } else {
            0.0
        };
        let range_scale = if known(source.f0_range_semitones) && known(target.f0_range_semitones) {
            factor(
                target.f0_range_semitones / source.f0_range_semitones,
                &RANGE_SCALE_RANGE,
            )
        } else {
            1.0
        };
        let formant_factor = match formant_scale(source, target) {
            Some(scale) => factor(scale, &FORMANT_FACTOR_RANGE),
            None if known(source.vocal_tract_cm) && known(target.vocal_tract_cm) => factor(
                source.vocal_tract_cm / target.vocal_tract_cm,
                &FORMANT_FACTOR_RANGE,
            ),
            None => 1.0,
        };
        let rate_factor = if known(source.speaking_rate) && known(target.speaking_rate) {
            factor(
                target.speaking_rate / source.speaking_rate,
                &RATE_FACTOR_RANGE,
            )
        } else {
            1.0
        };
        let loud = |v: f32| v.is_finite() && v < 0.0;
        let loudness_lufs = loud(target.loudness_lufs).then(|| {
            let from = if loud(source.loudness_lufs) {
                source.loudness_lufs
            } else {
                target.loudness_lufs
            };
            (from + (target.loudness_lufs - from) * k)
                .clamp(*LOUDNESS_RANGE_LUFS.start(), *LOUDNESS_RANGE_LUFS.end())
        });
        let (slope_adjust, final_rise_adjust) = if pitched {
            (
                ((target.f0_slope_st_per_s - range_scale * source.f0_slope_st_per_s)
                    .clamp(-MAX_SLOPE_ADJUST_ST_PER_S, MAX_SLOPE_ADJUST_ST_PER_S))
                    * k,
                ((target.f0_final_rise_st - range_scale * source.f0_final_rise_st)
                    .clamp(-MAX_FINAL_RISE_ADJUST_ST, MAX_FINAL_RISE_ADJUST_ST))
                    * k,
            )
        } else {
            (0.0, 0.0)
        };
        TimbreMatch {
            source: source.clone(),
            target: target.clone(),
            strength: k,
            pitch_shift_st,
            range_scale,
            formant_factor,
            rate_factor,
            loudness_lufs,
            slope_adjust,
            final_rise_adjust,
        }
    }

    /// Median F0 shift (semitones; + is higher).
    pub fn pitch_shift_semitones(&self) -> f32 {
        self.pitch_shift_st
    }
    /// F0 range scale (1 = unchanged).
    pub fn range_scale(&self) -> f32 {
        self.range_scale
    }
    /// Formant factor (>1 raises formants: a shorter vocal tract).
    pub fn formant_factor(&self) -> f32 {
        self.formant_factor
    }
    /// Speaking-rate factor (>1 is faster; durations scale by its inverse).
    pub fn rate_factor(&self) -> f32 {
        self.rate_factor
    }
    /// Integrated loudness every chunk is brought to, when the target has one.
    pub fn loudness_target_lufs(&self) -> Option<f32> {
        self.loudness_lufs
    }
    /// Change of the F0 declination slope (semitones per second).
    pub fn slope_adjust_st_per_s(&self) -> f32 {
        self.slope_adjust
    }
    /// Change of the final rise (semitones).
    pub fn final_rise_adjust_st(&self) -> f32 {
        self.final_rise_adjust
    }
    /// How far toward the target (0–1).
    pub fn strength(&self) -> f32 {
        self.strength
    }
    pub fn source(&self) -> &VoiceProfile {
        &self.source
    }
    pub fn target(&self) -> &VoiceProfile {
        &self.target
    }

    /// True when nothing but loudness changes.
    fn dsp_is_identity(&self) -> bool {
        self.pitch_shift_st.abs() < IDENTITY_ST
            && (self.range_scale - 1.0).abs() < IDENTITY_FACTOR
            && (self.formant_factor - 1.0).abs() < IDENTITY_FACTOR
            && (self.rate_factor - 1.0).abs() < IDENTITY_FACTOR
            && self.slope_adjust.abs() < IDENTITY_ST
            && self.final_rise_adjust.abs() < IDENTITY_ST
    }

    /// Applies pitch shift + range scaling, formant warp, rate (time-scale; the phoneme and
    /// word timings are scaled accordingly) and loudness to one chunk, in place.
    ///
    /// The chunk keeps its sample rate; its duration becomes `duration / rate_factor`.
    /// Loudness: the processed chunk is brought to the target's integrated loudness (chunks
    /// shorter than one 400 ms gating block get the profiles' loudness difference instead);
    /// peaks are limited to 0.95 by a smooth limiter. Unvoiced stretches (consonants,
    /// silence) are only time-scaled and formant-warped.
    ///
    /// Errors: [`TimbreError::SampleRate`] / [`TimbreError::NonFinite`] for bad audio (the
    /// chunk is left untouched), [`TimbreError::Voice`] if resampling fails.
    pub fn apply(&self, chunk: &mut SpeechChunk) -> Result<(), TimbreError> {
        if chunk.pcm.is_empty() {
            return Ok(());
        }
        let rate = chunk.sample_rate;
        dsp::check(&chunk.pcm, rate, 0)?;
        let span = tracing::debug_span!("timbre_apply", secs = chunk.duration_secs());
        let _enter = span.enter();
        if !self.dsp_is_identity() {
            let x16 = dsp::resample(&chunk.pcm, rate, pitch::RATE)?;
            let track = pitch::track(&x16);
            let marks = marks::find(&chunk.pcm, rate, &track);
            let reference = if self.source.f0_median_hz > 0.0 {
                self.source.f0_median_hz
            } else {
                dsp::median(&track.voiced().map(|v| v.1).collect::<Vec<_>>()).max(1.0)
            };
            let first = track.voiced().next().map_or(0.0, |v| v.0);
            let last = track.voiced().last().map_or(0.0, |v| v.0);
            let mid = 0.5 * (first + last);
            let fs = f64::from(rate);
            let map = |t: f64, p_in: f64| -> f64 {
                let f_in = track.at(t).unwrap_or((fs / p_in) as f32);
                let st_in = dsp::semitones(reference, f_in);
                let mut st = self.pitch_shift_st + self.range_scale * st_in;
                st += (self.slope_adjust * (t - mid) as f32)
                    .clamp(-MAX_SLOPE_SPAN_ST, MAX_SLOPE_SPAN_ST);
                let ramp = ((t - (last - FINAL_RISE_S)) / FINAL_RISE_S).clamp(0.0, 1.0) as f32;
                st += self.final_rise_adjust * ramp * ramp * (3.0 - 2.0 * ramp);
                let f_out = (reference * 2f32.powf(st / 12.0)).clamp(50.0, 700.0);
                p_in * f64::from(f_in / f_out)
            };
            let time_scale = 1.0 / f64::from(self.rate_factor);
            let warp = Warp {
                alpha: f64::from(self.formant_factor),
                time_scale,
            };
            chunk.pcm = psola::resynthesize(&chunk.pcm, rate, &marks, warp, map);
            let dur = chunk.duration_secs() as f32;
            let ts = time_scale as f32;
            for p in &mut chunk.phonemes {
                p.start = (p.start * ts).min(dur);
                p.end = (p.end * ts).min(dur);
            }
            chunk.phonemes.retain(|p| p.end > p.start);
            for w in &mut chunk.words {
                w.start = (w.start * ts).min(dur);
                w.end = (w.end * ts).min(dur);
            }
            tracing::trace!(marks = marks.pos.len(), "timbre resynthesized");
        }
        if let Some(target) = self.loudness_lufs {
            let db = match loudness::integrated(&chunk.pcm, rate)? {
                Some(now) => target - now as f32,
                None if self.source.loudness_lufs < 0.0 => target - self.source.loudness_lufs,
                None => 0.0,
            };
            loudness::gain(&mut chunk.pcm, db, rate);
            // The limiter may have taken a little off; one correction pass.
            if let Some(now) = loudness::integrated(&chunk.pcm, rate)? {
                let rest = target - now as f32;
                if rest.abs() > 0.05 {
                    loudness::gain(&mut chunk.pcm, rest, rate);
                }
            }
        }
        Ok(())
    }
}

/// A [`Synthesizer`] that wraps another and applies a [`TimbreMatch`] to every chunk: one
/// match per language (the inner engine's Mandarin and English voices are measured apart and
/// both mapped to the one target, so all lines come out in the same voice).
pub struct Matched<S: Synthesizer> {
    inner: S,
    zh: TimbreMatch,
    en: TimbreMatch,
}

impl<S: Synthesizer> Matched<S> {
    /// Wraps `inner`; `zh` matches its Mandarin lines, `en` its English ones.
    pub fn new(inner: S, zh: TimbreMatch, en: TimbreMatch) -> Matched<S> {
        Matched { inner, zh, en }
    }

    /// The match used for `language`.
    pub fn matching(&self, language: Language) -> &TimbreMatch {
        match language {
            Language::ZhCn => &self.zh,
            Language::EnUs => &self.en,
        }
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl Matched<DefaultVoice> {
    /// The built-in voice matched to `target`: measures [`builtin_profile`] for both
    /// languages (once per process) and matches each to `target` at `strength` (0–1).
    pub fn builtin(
        mut voice: DefaultVoice,
        target: &VoiceProfile,
        strength: f32,
    ) -> Result<Matched<DefaultVoice>, TimbreError> {
        let zh = builtin_profile(&mut voice, Language::ZhCn)?;
        let en = builtin_profile(&mut voice, Language::EnUs)?;
        Ok(Matched::new(
            voice,
            TimbreMatch::with_strength(&zh, target, strength),
            TimbreMatch::with_strength(&en, target, strength),
        ))
    }
}

impl<S: Synthesizer> Synthesizer for Matched<S> {
    /// The inner engine's chunk, matched; lines with [`Emphasis::Strong`] then get
    /// [`STRONG_EMPHASIS_LU`] more loudness (when the match sets loudness). A matching
    /// failure is [`VoiceError::Synthesis`] (the show skips the line).
    fn synthesize(&mut self, utterance: &Utterance) -> Result<SpeechChunk, VoiceError> {
        let span = tracing::debug_span!("matched_synthesize", lang = utterance.language.tag());
        let _enter = span.enter();
        let mut chunk = self.inner.synthesize(utterance)?;
        let matching = self.matching(utterance.language);
        matching
            .apply(&mut chunk)
            .map_err(|e| VoiceError::Synthesis(format!("timbre matching: {e}")))?;
        if utterance.emphasis == Emphasis::Strong && matching.loudness_lufs.is_some() {
            loudness::gain(&mut chunk.pcm, STRONG_EMPHASIS_LU, chunk.sample_rate);
        }
        Ok(chunk)
    }
}
