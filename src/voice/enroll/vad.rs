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
use std::sync::Mutex;

use ort::environment::Environment;
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
    /// RMS level above 4.5 kHz (dBFS).
    pub hf_db: f32,
    /// Normalized autocorrelation peak at 50–800 Hz (tonal music ≈ 1, noise ≈ 0); NaN when
    /// not measured.
    pub periodicity: f32,
}

/// The process's ONNX Runtime environment. `ort` allows one per process, so it is built once
/// and kept.
fn environment() -> Result<Environment, EnrollError> {
    static ENV: Mutex<Option<Environment>> = Mutex::new(None);
    let mut guard = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = guard.as_ref() {
        return Ok(env.clone());
    }
    let env = crate::models::onnx_environment()?;
    *guard = Some(env.clone());
    Ok(env)
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
        let env = environment()?;
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

/// A direct-form-I biquad.
#[derive(Debug, Clone, Copy, Default)]
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl Biquad {
    /// Butterworth-family high-pass section (RBJ cookbook) with quality `q`.
    fn highpass(rate: f32, f0: f32, q: f32) -> Biquad {
        let w0 = 2.0 * std::f32::consts::PI * f0 / rate;
        let (s, c) = w0.sin_cos();
        let alpha = s / (2.0 * q);
        let a0 = 1.0 + alpha;
        Biquad {
            b: [(1.0 + c) / 2.0 / a0, -(1.0 + c) / a0, (1.0 + c) / 2.0 / a0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
            ..Default::default()
        }
    }

    fn run(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

/// Turns a 16 kHz stream into [`WindowFeat`]s.
pub(crate) struct VadStream {
    pending: Vec<f32>,
    hf: [Biquad; 2],
    silent_run: u32,
    loud_nonspeech: u32,
    /// Windows the model actually ran on.
    pub model_windows: u64,
}

impl VadStream {
    pub(crate) fn new() -> VadStream {
        // 4th-order Butterworth high-pass at 4.5 kHz: two sections, Q = 0.541 and 1.307.
        let r = RATE as f32;
        VadStream {
            pending: Vec::with_capacity(WINDOW * 4),
            hf: [Biquad::highpass(r, 4500.0, 0.541_196), Biquad::highpass(r, 4500.0, 1.306_563)],
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
        let mut hf_e = 0.0f64;
        for &s in w.iter() {
            let a = self.hf[0].run(s);
            let y = self.hf[1].run(a);
            hf_e += f64::from(y) * f64::from(y);
        }
        let hf_db = super::decode::db_power(hf_e / WINDOW as f64) as f32;
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
            hf_db,
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
    fn the_high_pass_keeps_high_and_stops_low() {
        let level = |f: f32| {
            let mut s = VadStream::new();
            let mut e = 0.0f32;
            for i in 0..16_000 {
                let x = (2.0 * std::f32::consts::PI * f * i as f32 / RATE as f32).sin();
                let a = s.hf[0].run(x);
                let y = s.hf[1].run(a);
                if i > 8000 {
                    e += y * y;
                }
            }
            10.0 * (e / 8000.0).log10()
        };
        assert!(level(6000.0) > -4.5, "6 kHz passes");
        assert!(level(1000.0) < -45.0, "1 kHz stops");
    }
}
