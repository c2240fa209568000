//! Voice activity detection: Silero VAD (v5/v6 ONNX, `models/silero-vad/silero_vad.onnx`)
//! through ONNX Runtime, plus the per-window measurements the quality report needs.
//!
//! The model (checked against the file: inputs `input` f32 [batch, samples], `state` f32
//! [2, batch, 128], `sr` i64 scalar; outputs `output` [batch, 1], `stateN`) takes windows of
//! [`WINDOW`] samples at 16 kHz, each preceded by the last [`CONTEXT`] samples of the window
//! before (576 in all), and carries its recurrent state from window to window. One
//! probability per 32 ms window.
//!
//! Long runs of near-digital silence skip the model (probability 0, state reset), which is
//! what the model would answer and costs nothing.

use std::path::Path;

use ort::session::Session;
use ort::value::TensorRef;

use super::EnrollError;

/// Samples per VAD window at 16 kHz (32 ms).
pub(crate) const WINDOW: usize = 512;
/// Samples of the previous window the model sees before each window.
pub(crate) const CONTEXT: usize = 64;
/// The VAD's sample rate.
pub(crate) const RATE: u32 = 16_000;
/// Seconds per window.
pub(crate) const WINDOW_S: f64 = WINDOW as f64 / RATE as f64;
/// Sub-frames per window for boundary refinement (8 ms each).
pub(crate) const SUBS: usize = 4;
pub(crate) const SUB_S: f64 = WINDOW_S / SUBS as f64;
/// Speech starts at this probability (Silero's default threshold).
pub(crate) const THRESHOLD: f32 = 0.5;
/// ... and ends below this one (Silero's `threshold - 0.15`).
pub(crate) const NEG_THRESHOLD: f32 = 0.35;
/// Silence shorter than this does not end a region (Silero's `min_silence_duration_ms`).
const MIN_SILENCE_S: f64 = 0.1;
/// Regions shorter than this are dropped (Silero's `min_speech_duration_ms`).
const MIN_SPEECH_S: f64 = 0.25;
/// Windows quieter than this (dBFS RMS) are near-digital silence.
const SKIP_DB: f32 = -75.0;
/// Silent windows in a row after which the model is skipped.
const SKIP_AFTER: u32 = 8;
/// Loud non-speech windows get a periodicity measurement (every n-th one).
const PERIODICITY_EVERY: u32 = 4;
const LOUD_DB: f32 = -50.0;

/// What one 32 ms window looked like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowFeat {
    /// Speech probability.
    pub prob: f32,
    /// RMS level (dBFS).
    pub db: f32,
    /// RMS level of each 8 ms sub-frame (dBFS).
    pub sub_db: [f32; SUBS],
    /// Level above 4.5 kHz relative to the whole band (dB), measured on speech windows
    /// (probability ≥ [`THRESHOLD`]); NaN elsewhere.
    pub high_band_db: f32,
    /// Normalized autocorrelation peak at 50–800 Hz (tonal music ≈ 1, noise ≈ 0); NaN when
    /// not measured.
    pub periodicity: f32,
}

/// The Silero model with its recurrent state.
pub(crate) struct Silero {
    session: Session,
    state: Vec<f32>,
    input: Vec<f32>,
}

impl Silero {
    /// Loads the model (ONNX Runtime from [`crate::models::onnx_environment`]).
    pub(crate) fn load(path: &Path) -> Result<Silero, EnrollError> {
        if !path.is_file() {
            return Err(crate::models::ModelError::Missing(path.to_path_buf()).into());
        }
        let env = crate::models::onnx_environment()?;
        let model_err = |source: ort::Error| EnrollError::VadModel {
            path: path.to_path_buf(),
            source,
        };
        let session = Session::builder(&env)
            .and_then(|b| b.with_intra_threads(1).map_err(ort::Error::from))
            .and_then(|b| b.with_inter_threads(1).map_err(ort::Error::from))
            .and_then(|mut b| b.commit_from_file(path))
            .map_err(model_err)?;
        let names: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        if names != ["input", "state", "sr"] {
            return Err(model_err(ort::Error::new(format!(
                "expected Silero VAD v5/v6 inputs [input, state, sr], found {names:?}"
            ))));
        }
        Ok(Silero {
            session,
            state: vec![0.0; 2 * 128],
            input: vec![0.0; CONTEXT + WINDOW],
        })
    }

    /// Forgets the past (start of a stream).
    pub(crate) fn reset(&mut self) {
        self.state.iter_mut().for_each(|s| *s = 0.0);
        self.input.iter_mut().for_each(|s| *s = 0.0);
    }

    /// Speech probability of the next window of [`WINDOW`] samples.
    pub(crate) fn prob(&mut self, window: &[f32]) -> Result<f32, EnrollError> {
        debug_assert_eq!(window.len(), WINDOW);
        // Context: the last CONTEXT samples of the previous window.
        self.input.copy_within(WINDOW.., 0);
        self.input[CONTEXT..].copy_from_slice(window);
        let sr = [i64::from(RATE)];
        let input = TensorRef::from_array_view(([1usize, CONTEXT + WINDOW], &self.input[..]))?;
        let state = TensorRef::from_array_view(([2usize, 1, 128], &self.state[..]))?;
        let sr = TensorRef::from_array_view(((), &sr[..]))?;
        let outputs = self.session.run(ort::inputs![input, state, sr])?;
        let (_, p) = outputs["output"].try_extract_tensor::<f32>()?;
        let p = p.first().copied().unwrap_or(0.0);
        let (_, next) = outputs["stateN"].try_extract_tensor::<f32>()?;
        if next.len() == self.state.len() {
            self.state.copy_from_slice(next);
        }
        Ok(p)
    }
}

/// Share of a window's energy above 4.5 kHz, from a 512-point FFT (Hann window).
struct Spectrum {
    hann: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    re: Vec<f32>,
    im: Vec<f32>,
}

/// FFT bins (31.25 Hz each at 16 kHz): the band measured, 100 Hz–7.8 kHz, and its high part
/// from 4.5 kHz.
const BIN_LO: usize = 3;
const BIN_HIGH: usize = 144;
const BIN_HI: usize = 250;

impl Spectrum {
    fn new() -> Spectrum {
        let n = WINDOW;
        let tau = 2.0 * std::f32::consts::PI;
        Spectrum {
            hann: (0..n)
                .map(|i| 0.5 - 0.5 * (tau * i as f32 / n as f32).cos())
                .collect(),
            cos: (0..n / 2)
                .map(|k| (tau * k as f32 / n as f32).cos())
                .collect(),
            sin: (0..n / 2)
                .map(|k| -(tau * k as f32 / n as f32).sin())
                .collect(),
            re: vec![0.0; n],
            im: vec![0.0; n],
        }
    }

    /// Level of 4.5–7.8 kHz relative to 100 Hz–7.8 kHz (dB, floored at -120).
    fn high_band_db(&mut self, w: &[f32]) -> f32 {
        let n = WINDOW;
        let bits = n.trailing_zeros();
        for (i, (&x, h)) in w.iter().zip(&self.hann).enumerate() {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            self.re[j] = x * h;
            self.im[j] = 0.0;
        }
        let mut len = 2;
        while len <= n {
            let step = n / len;
            for start in (0..n).step_by(len) {
                for k in 0..len / 2 {
                    let (c, s) = (self.cos[k * step], self.sin[k * step]);
                    let (a, b) = (start + k, start + k + len / 2);
                    let tr = self.re[b] * c - self.im[b] * s;
                    let ti = self.re[b] * s + self.im[b] * c;
                    self.re[b] = self.re[a] - tr;
                    self.im[b] = self.im[a] - ti;
                    self.re[a] += tr;
                    self.im[a] += ti;
                }
            }
            len *= 2;
        }
        let power = |k: usize| f64::from(self.re[k] * self.re[k] + self.im[k] * self.im[k]);
        let all: f64 = (BIN_LO..BIN_HI).map(power).sum();
        let high: f64 = (BIN_HIGH..BIN_HI).map(power).sum();
        if all <= 1e-20 {
            return -120.0;
        }
        (10.0 * (high / all).max(1e-12).log10()) as f32
    }
}

/// Turns a 16 kHz stream into [`WindowFeat`]s.
pub(crate) struct VadStream {
    pending: Vec<f32>,
    spectrum: Spectrum,
    silent_run: u32,
    loud_nonspeech: u32,
    /// Windows the model actually ran on.
    pub model_windows: u64,
}

impl VadStream {
    pub(crate) fn new() -> VadStream {
        VadStream {
            pending: Vec::with_capacity(WINDOW * 4),
            spectrum: Spectrum::new(),
            silent_run: 0,
            loud_nonspeech: 0,
            model_windows: 0,
        }
    }

    /// Adds 16 kHz samples; appends one [`WindowFeat`] per complete window to `out`.
    pub(crate) fn push(
        &mut self,
        vad: &mut Silero,
        samples: &[f32],
        out: &mut Vec<WindowFeat>,
    ) -> Result<(), EnrollError> {
        self.pending.extend_from_slice(samples);
        let mut pos = 0;
        while self.pending.len() - pos >= WINDOW {
            let window: [f32; WINDOW] = {
                let mut w = [0.0f32; WINDOW];
                w.copy_from_slice(&self.pending[pos..pos + WINDOW]);
                w
            };
            pos += WINDOW;
            let feat = self.window(vad, &window)?;
            out.push(feat);
        }
        self.pending.drain(..pos);
        Ok(())
    }

    /// Pads the last partial window with silence and measures it.
    pub(crate) fn finish(
        &mut self,
        vad: &mut Silero,
        out: &mut Vec<WindowFeat>,
    ) -> Result<(), EnrollError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut w = [0.0f32; WINDOW];
        w[..self.pending.len()].copy_from_slice(&self.pending);
        self.pending.clear();
        let feat = self.window(vad, &w)?;
        out.push(feat);
        Ok(())
    }

    fn window(&mut self, vad: &mut Silero, w: &[f32; WINDOW]) -> Result<WindowFeat, EnrollError> {
        let sub_len = WINDOW / SUBS;
        let mut sub_db = [0.0f32; SUBS];
        let mut total = 0.0f64;
        for (k, sub) in w.chunks_exact(sub_len).enumerate() {
            let e: f64 = sub.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
            total += e;
            sub_db[k] = super::decode::db_power(e / sub_len as f64) as f32;
        }
        let db = super::decode::db_power(total / WINDOW as f64) as f32;
        let prob = if db < SKIP_DB {
            self.silent_run += 1;
            if self.silent_run > SKIP_AFTER {
                if self.silent_run == SKIP_AFTER + 1 {
                    vad.reset();
                }
                0.0
            } else {
                self.model_windows += 1;
                vad.prob(w)?
            }
        } else {
            self.silent_run = 0;
            self.model_windows += 1;
            vad.prob(w)?
        };
        let high_band_db = if prob >= THRESHOLD {
            self.spectrum.high_band_db(w)
        } else {
            f32::NAN
        };
        let mut periodicity = f32::NAN;
        if prob < NEG_THRESHOLD && db > LOUD_DB {
            self.loud_nonspeech += 1;
            if self.loud_nonspeech % PERIODICITY_EVERY == 1 {
                periodicity = autocorrelation_peak(w);
            }
        }
        Ok(WindowFeat {
            prob,
            db,
            sub_db,
            high_band_db,
            periodicity,
        })
    }
}

/// Highest normalized autocorrelation at lags of 50–800 Hz.
fn autocorrelation_peak(w: &[f32]) -> f32 {
    let energy: f32 = w.iter().map(|s| s * s).sum();
    if energy <= 1e-9 {
        return 0.0;
    }
    let min_lag = (RATE / 800) as usize;
    let max_lag = (RATE / 50) as usize;
    let mut best = 0.0f32;
    for lag in min_lag..=max_lag.min(w.len() / 2) {
        let n = w.len() - lag;
        let mut num = 0.0f32;
        let mut e1 = 0.0f32;
        let mut e2 = 0.0f32;
        for i in 0..n {
            num += w[i] * w[i + lag];
            e1 += w[i] * w[i];
            e2 += w[i + lag] * w[i + lag];
        }
        let r = num / (e1 * e2).sqrt().max(1e-9);
        best = best.max(r);
    }
    best
}

/// A stretch of speech, in window indices (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub start: usize,
    pub end: usize,
}

/// Silero's `get_speech_timestamps` state machine, fed one window at a time.
#[derive(Debug, Default)]
pub(crate) struct RegionDetector {
    start: Option<usize>,
    temp_end: Option<usize>,
}

impl RegionDetector {
    fn min_silence() -> usize {
        (MIN_SILENCE_S / WINDOW_S).ceil() as usize
    }

    fn min_speech() -> usize {
        (MIN_SPEECH_S / WINDOW_S).ceil() as usize
    }

    /// Start of the region in progress, if any.
    pub(crate) fn open_start(&self) -> Option<usize> {
        self.start
    }

    /// Window `index` had probability `p`; returns a region that just ended.
    pub(crate) fn push(&mut self, index: usize, p: f32) -> Option<Region> {
        if p >= THRESHOLD {
            self.temp_end = None;
            if self.start.is_none() {
                self.start = Some(index);
            }
            return None;
        }
        let start = self.start?;
        if p < NEG_THRESHOLD {
            let te = *self.temp_end.get_or_insert(index);
            if index - te >= Self::min_silence() {
                self.start = None;
                self.temp_end = None;
                if te - start >= Self::min_speech() {
                    return Some(Region { start, end: te });
                }
            }
        }
        None
    }

    /// Ends the stream at window `len`.
    pub(crate) fn finish(&mut self, len: usize) -> Option<Region> {
        let start = self.start.take()?;
        let end = self.temp_end.take().unwrap_or(len);
        (end > start && end - start >= Self::min_speech()).then_some(Region { start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_follow_silero_rules() {
        let mut d = RegionDetector::default();
        let mut probs = vec![0.0f32; 10];
        probs.extend(vec![0.9; 20]); // speech 10..30
        probs.extend(vec![0.4; 2]); // between thresholds: still speech
        probs.extend(vec![0.9; 5]); // 32..37
        probs.extend(vec![0.1; 2]); // short dip: not a pause
        probs.extend(vec![0.9; 5]); // 39..44
        probs.extend(vec![0.0; 20]); // silence
        probs.extend(vec![0.9; 3]); // too short (3 windows < 250 ms)
        probs.extend(vec![0.0; 20]);
        let mut regions = Vec::new();
        for (i, p) in probs.iter().enumerate() {
            regions.extend(d.push(i, *p));
        }
        regions.extend(d.finish(probs.len()));
        assert_eq!(regions, vec![Region { start: 10, end: 44 }]);
    }

    #[test]
    fn a_tone_is_periodic_and_noise_is_not() {
        let tone: Vec<f32> = (0..WINDOW)
            .map(|i| (2.0 * std::f32::consts::PI * 220.0 * i as f32 / RATE as f32).sin())
            .collect();
        assert!(autocorrelation_peak(&tone) > 0.9);
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let noise: Vec<f32> = (0..WINDOW).map(|_| rng.random_range(-1.0..1.0)).collect();
        assert!(autocorrelation_peak(&noise) < 0.3);
    }

    #[test]
    fn the_high_band_is_measured_without_leakage() {
        let tone = |f: f32| -> Vec<f32> {
            (0..WINDOW)
                .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / RATE as f32).sin())
                .collect()
        };
        let mut sp = Spectrum::new();
        assert!(
            sp.high_band_db(&tone(6000.0)) > -0.5,
            "6 kHz is all high band"
        );
        // A 3.4 kHz tone (the top of the telephone band) does not leak into it.
        assert!(
            sp.high_band_db(&tone(3400.0)) < -60.0,
            "{}",
            sp.high_band_db(&tone(3400.0))
        );
        let mixed: Vec<f32> = tone(1000.0)
            .iter()
            .zip(tone(5000.0))
            .map(|(a, b)| a + b)
            .collect();
        assert!((sp.high_band_db(&mixed) + 3.0).abs() < 0.5);
    }
}
