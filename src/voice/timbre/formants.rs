//! Formants by linear prediction, as Praat does it: resample to 11 kHz (formants up to
//! 5.5 kHz), pre-emphasis from 50 Hz, 25 ms Hamming frames every 10 ms, Burg's method of order
//! 10, roots of the predictor polynomial (Aberth iteration) → frequencies and bandwidths.
//! Vocal-tract length from the formant spacing of a uniform tube closed at the glottis:
//! `F_n = (n - ½) · c / 2L`.

use super::dsp::{quantile, sorted};
use super::pitch::F0Track;

/// Analysis rate of the formant tracker (formants up to half of it).
pub(crate) const RATE: u32 = 11_000;
const ORDER: usize = 10;
const WIN: usize = 275;
const HOP: usize = 110;
const PRE_EMPHASIS_HZ: f64 = 50.0;
/// Poles wider than this (Hz) shape the spectral tilt, not a formant.
const MAX_BANDWIDTH_HZ: f64 = 700.0;
/// A pole wider than this, with a pole of less than half its bandwidth within
/// [`SPARE_NEIGHBOUR_HZ`], is a spare pole.
const SPARE_BANDWIDTH_HZ: f64 = 350.0;
const SPARE_NEIGHBOUR_HZ: f64 = 700.0;
const MIN_FORMANT_HZ: f64 = 150.0;
/// Frames quieter than this (dB) below the loud voiced frames (90th percentile) are skipped:
/// formants are read in vowel nuclei, not in consonant transitions and weak offsets.
const QUIET_DB: f32 = 12.0;
/// Speed of sound in the warm, humid vocal tract (cm/s).
pub(crate) const SPEED_OF_SOUND_CM_S: f32 = 35_000.0;
/// The mean envelope: LPC order (higher than for formants, so that the envelope keeps every
/// formant peak of a long vocal tract, 6 or 7 below 5.5 kHz) and its log-spaced grid.
const ENVELOPE_ORDER: usize = 14;
pub(crate) const ENVELOPE_BINS: usize = 96;
const ENVELOPE_LO_HZ: f64 = 150.0;
const ENVELOPE_HI_HZ: f64 = 5000.0;
/// Envelopes are compared over this band (formants F1–F4 of most voices; the ends of the
/// grid are left as room for the shift).
const COMPARE_LO_HZ: f64 = 250.0;
const COMPARE_HI_HZ: f64 = 4000.0;
/// The envelope scales searched (ln of the factor, either way) and the step.
const MAX_LN_SCALE: f64 = 0.4;
const LN_SCALE_STEP: f64 = 0.0025;
/// Below this correlation, two envelopes are too unlike to say how one scales to the other.
const MIN_ALIGNMENT: f64 = 0.6;

/// What [`frames`] measures: F1–F3 (Hz) of each loud voiced frame, and the sum of their
/// envelopes (dB, each frame's mean removed, on the [`ENVELOPE_BINS`] grid).
#[derive(Debug, Default)]
pub(crate) struct FrameStats {
    pub formants: Vec<[f32; 3]>,
    pub envelope_sum: Vec<f64>,
    pub envelope_frames: usize,
}

impl FrameStats {
    /// Adds another clip's frames.
    pub fn merge(&mut self, o: FrameStats) {
        self.formants.extend(o.formants);
        if self.envelope_sum.is_empty() {
            self.envelope_sum = o.envelope_sum;
        } else if !o.envelope_sum.is_empty() {
            for (a, b) in self.envelope_sum.iter_mut().zip(o.envelope_sum) {
                *a += b;
            }
        }
        self.envelope_frames += o.envelope_frames;
    }

    /// The mean envelope (empty when no frame was measured).
    pub fn envelope(&self) -> Vec<f32> {
        if self.envelope_frames == 0 {
            return Vec::new();
        }
        let n = self.envelope_frames as f64;
        self.envelope_sum.iter().map(|v| (v / n) as f32).collect()
    }
}

/// Frequency (Hz) of envelope bin `i`.
fn envelope_hz(i: usize) -> f64 {
    let step = (ENVELOPE_HI_HZ / ENVELOPE_LO_HZ).ln() / (ENVELOPE_BINS - 1) as f64;
    ENVELOPE_LO_HZ * (step * i as f64).exp()
}

/// The LPC envelope of predictor `d` at rate `fs` on the envelope grid (dB, mean removed).
fn envelope_of(d: &[f64], fs: f64) -> Vec<f64> {
    let mut e: Vec<f64> = (0..ENVELOPE_BINS)
        .map(|i| {
            let w = 2.0 * std::f64::consts::PI * envelope_hz(i) / fs;
            // A(e^jw) = 1 - Σ d_k e^{-jwk}
            let (mut re, mut im) = (1.0f64, 0.0f64);
            for (k, dk) in d.iter().enumerate().skip(1) {
                re -= dk * (w * k as f64).cos();
                im += dk * (w * k as f64).sin();
            }
            -10.0 * (re * re + im * im).max(1e-30).log10()
        })
        .collect();
    let mean = e.iter().sum::<f64>() / e.len() as f64;
    e.iter_mut().for_each(|v| *v -= mean);
    e
}

/// The factor by which envelope `from` is scaled in frequency to look most like `to` (>1:
/// `to` has higher formants, a shorter vocal tract): the scale, within ×e^±0.4, that maximizes
/// the correlation of the two (each with its linear tilt removed) over 250–4000 Hz. `None`
/// when either envelope is missing or the best correlation is under 0.6.
pub(crate) fn envelope_scale(from: &[f32], to: &[f32]) -> Option<f32> {
    if from.len() != ENVELOPE_BINS || to.len() != ENVELOPE_BINS {
        return None;
    }
    let step = (ENVELOPE_HI_HZ / ENVELOPE_LO_HZ).ln() / (ENVELOPE_BINS - 1) as f64;
    // `from` at log-frequency position `u` (in bins), linearly interpolated.
    let at = |u: f64| -> Option<f64> {
        if u < 0.0 || u > (ENVELOPE_BINS - 1) as f64 {
            return None;
        }
        let i = (u.floor() as usize).min(ENVELOPE_BINS - 2);
        let f = u - i as f64;
        Some(f64::from(from[i]) * (1.0 - f) + f64::from(from[i + 1]) * f)
    };
    let bins: Vec<usize> = (0..ENVELOPE_BINS)
        .filter(|&i| (COMPARE_LO_HZ..=COMPARE_HI_HZ).contains(&envelope_hz(i)))
        .collect();
    let target: Vec<f64> = bins.iter().map(|&i| f64::from(to[i])).collect();
    let target = detrended(&target);
    let steps = (MAX_LN_SCALE / LN_SCALE_STEP).round() as i64;
    let mut best: Option<(f64, f64)> = None;
    for s in -steps..=steps {
        let ln_scale = s as f64 * LN_SCALE_STEP;
        // to(f) ≈ from(f / scale): bin i of `to` reads `from` ln_scale/step bins lower.
        let Some(src) = bins
            .iter()
            .map(|&i| at(i as f64 - ln_scale / step))
            .collect::<Option<Vec<f64>>>()
        else {
            continue;
        };
        let r = correlation(&detrended(&src), &target);
        if best.is_none_or(|(_, b)| r > b) {
            best = Some((ln_scale, r));
        }
    }
    let (ln_scale, r) = best?;
    (r >= MIN_ALIGNMENT).then(|| ln_scale.exp() as f32)
}

/// `v` minus its least-squares line.
fn detrended(v: &[f64]) -> Vec<f64> {
    let n = v.len() as f64;
    let mx = (n - 1.0) / 2.0;
    let my = v.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in v.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (y - my);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    v.iter()
        .enumerate()
        .map(|(i, y)| y - my - slope * (i as f64 - mx))
        .collect()
}

/// Pearson correlation of two zero-mean series.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let ab: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let aa: f64 = a.iter().map(|x| x * x).sum();
    let bb: f64 = b.iter().map(|x| x * x).sum();
    if aa <= 0.0 || bb <= 0.0 {
        return 0.0;
    }
    ab / (aa * bb).sqrt()
}

/// F1–F3 and the envelope of each loud voiced frame of `x` (mono at [`RATE`]); `track` says
/// which frames are voiced.
pub(crate) fn frames(x: &[f32], track: &F0Track) -> FrameStats {
    let mut stats = FrameStats {
        envelope_sum: vec![0.0; ENVELOPE_BINS],
        ..FrameStats::default()
    };
    if x.len() < WIN {
        return stats;
    }
    let a = (-2.0 * std::f64::consts::PI * PRE_EMPHASIS_HZ / f64::from(RATE)).exp();
    let mut y = Vec::with_capacity(x.len());
    let mut prev = 0.0f64;
    for &s in x {
        let s = f64::from(s);
        y.push(s - a * prev);
        prev = s;
    }
    let window: Vec<f64> = (0..WIN)
        .map(|n| 0.54 - 0.46 * (2.0 * std::f64::consts::PI * n as f64 / (WIN - 1) as f64).cos())
        .collect();
    // Voiced frame starts with their energy.
    let mut cands: Vec<(usize, f32)> = Vec::new();
    let mut start = 0;
    while start + WIN <= y.len() {
        let centre = (start + WIN / 2) as f64 / f64::from(RATE);
        if track.at(centre).is_some() {
            let e: f64 = y[start..start + WIN].iter().map(|v| v * v).sum::<f64>() / WIN as f64;
            cands.push((start, 10.0 * (e + 1e-20).log10() as f32));
        }
        start += HOP;
    }
    let levels: Vec<f32> = cands.iter().map(|c| c.1).collect();
    let loud = quantile(&sorted(&levels), 0.9);
    let mut buf = vec![0.0f64; WIN];
    for &(start, level) in &cands {
        if level < loud - QUIET_DB {
            continue;
        }
        for ((b, s), w) in buf.iter_mut().zip(&y[start..start + WIN]).zip(&window) {
            *b = s * w;
        }
        let Some(coefs) = burg(&buf, ORDER) else {
            continue;
        };
        if let Some(f) = formants_of(&coefs, f64::from(RATE)) {
            stats.formants.push(f);
        }
        if let Some(coefs) = burg(&buf, ENVELOPE_ORDER) {
            for (a, e) in stats
                .envelope_sum
                .iter_mut()
                .zip(envelope_of(&coefs, f64::from(RATE)))
            {
                *a += e;
            }
            stats.envelope_frames += 1;
        }
    }
    stats
}

/// Burg's method: predictor coefficients `d` with `x[n] ≈ Σ d[k] x[n-k]`, k = 1..=order
/// (`d[0]` unused). `None` for a silent frame.
pub(crate) fn burg(x: &[f64], order: usize) -> Option<Vec<f64>> {
    let n = x.len();
    if n <= order + 1 {
        return None;
    }
    let mut d = vec![0.0f64; order + 1];
    let mut wkm = vec![0.0f64; order + 1];
    let mut wk1: Vec<f64> = x[..n - 1].to_vec();
    let mut wk2: Vec<f64> = x[1..].to_vec();
    for k in 1..=order {
        let len = n - k;
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for j in 0..len {
            num += wk1[j] * wk2[j];
            den += wk1[j] * wk1[j] + wk2[j] * wk2[j];
        }
        if den <= 1e-30 {
            return None;
        }
        d[k] = 2.0 * num / den;
        for i in 1..k {
            d[i] = wkm[i] - d[k] * wkm[k - i];
        }
        if k == order {
            break;
        }
        wkm[1..=k].copy_from_slice(&d[1..=k]);
        for j in 0..(n - k - 1) {
            wk1[j] -= wkm[k] * wk2[j];
            wk2[j] = wk2[j + 1] - wkm[k] * wk1[j + 1];
        }
    }
    Some(d)
}

/// The three lowest formants (Hz) of predictor `d` at rate `fs`; `None` when fewer than
/// three poles qualify.
pub(crate) fn formants_of(d: &[f64], fs: f64) -> Option<[f32; 3]> {
    // z^p - d1 z^(p-1) - ... - dp
    let mut poly = vec![1.0f64];
    poly.extend(d[1..].iter().map(|v| -v));
    let roots = roots(&poly);
    let mut poles: Vec<(f64, f64)> = roots
        .iter()
        .filter(|z| z.im > 1e-9)
        .filter_map(|z| {
            let freq = z.im.atan2(z.re) * fs / (2.0 * std::f64::consts::PI);
            let bw = -z.abs().ln() * fs / std::f64::consts::PI;
            (freq >= MIN_FORMANT_HZ && freq <= fs / 2.0 - MIN_FORMANT_HZ && bw <= MAX_BANDWIDTH_HZ)
                .then_some((freq, bw))
        })
        .collect();
    poles.sort_by(|a, b| a.0.total_cmp(&b.0));
    // A wide pole next to a much narrower one is the predictor's spare pole shaping the
    // spectrum between two formants, not a formant.
    let spare = |i: usize| {
        let (f, bw) = poles[i];
        bw > SPARE_BANDWIDTH_HZ
            && poles.iter().enumerate().any(|(j, &(g, bw2))| {
                j != i && (g - f).abs() < SPARE_NEIGHBOUR_HZ && bw2 < 0.5 * bw
            })
    };
    let f: Vec<f64> = (0..poles.len())
        .filter(|&i| !spare(i))
        .map(|i| poles[i].0)
        .collect();
    (f.len() >= 3).then(|| [f[0] as f32, f[1] as f32, f[2] as f32])
}

/// Vocal-tract length (cm) from formants `f` (F1, F2, F3...): least-squares spacing `ΔF` with
/// `F_n = (n - ½) ΔF`, then `L = c / 2ΔF`. 0 when no formant is known.
pub(crate) fn vocal_tract_cm(f: &[f32]) -> f32 {
    let (mut num, mut den) = (0.0f32, 0.0f32);
    for (i, &fi) in f.iter().enumerate() {
        if fi > 0.0 {
            let k = i as f32 + 0.5;
            num += k * fi;
            den += k * k;
        }
    }
    if num <= 0.0 {
        return 0.0;
    }
    let spacing = num / den;
    SPEED_OF_SOUND_CM_S / (2.0 * spacing)
}

/// A complex number (just what root finding needs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct C64 {
    pub re: f64,
    pub im: f64,
}

impl C64 {
    const fn new(re: f64, im: f64) -> C64 {
        C64 { re, im }
    }
    fn add(self, o: C64) -> C64 {
        C64::new(self.re + o.re, self.im + o.im)
    }
    fn sub(self, o: C64) -> C64 {
        C64::new(self.re - o.re, self.im - o.im)
    }
    fn mul(self, o: C64) -> C64 {
        C64::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
    fn div(self, o: C64) -> C64 {
        let n = o.re * o.re + o.im * o.im;
        if n == 0.0 {
            return C64::new(f64::INFINITY, 0.0);
        }
        C64::new(
            (self.re * o.re + self.im * o.im) / n,
            (self.im * o.re - self.re * o.im) / n,
        )
    }
    pub(crate) fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
}

/// All roots of the monic polynomial `poly[0] z^n + poly[1] z^(n-1) + ... + poly[n]`
/// (`poly[0] = 1`), by Aberth–Ehrlich iteration.
pub(crate) fn roots(poly: &[f64]) -> Vec<C64> {
    let n = poly.len().saturating_sub(1);
    if n == 0 {
        return Vec::new();
    }
    // Start on a circle inside the unit circle (LPC roots live there), off the real axis.
    let mut z: Vec<C64> = (0..n)
        .map(|k| {
            let a = 2.0 * std::f64::consts::PI * k as f64 / n as f64 + 0.4;
            C64::new(0.9 * a.cos(), 0.9 * a.sin())
        })
        .collect();
    let eval = |x: C64| -> (C64, C64) {
        let mut p = C64::new(poly[0], 0.0);
        let mut dp = C64::new(0.0, 0.0);
        for &c in &poly[1..] {
            dp = dp.mul(x).add(p);
            p = p.mul(x).add(C64::new(c, 0.0));
        }
        (p, dp)
    };
    for _ in 0..200 {
        let mut moved = 0.0f64;
        for k in 0..n {
            let (p, dp) = eval(z[k]);
            if p.abs() == 0.0 {
                continue;
            }
            let ratio = p.div(dp);
            let mut sum = C64::new(0.0, 0.0);
            for j in 0..n {
                if j != k {
                    sum = sum.add(C64::new(1.0, 0.0).div(z[k].sub(z[j])));
                }
            }
            let w = ratio.div(C64::new(1.0, 0.0).sub(ratio.mul(sum)));
            if w.re.is_finite() && w.im.is_finite() {
                z[k] = z[k].sub(w);
                moved = moved.max(w.abs());
            }
        }
        if moved < 1e-12 {
            break;
        }
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_of_a_known_polynomial() {
        // (z - 0.5)(z + 0.25)(z^2 - 2·0.9cos(0.7) z + 0.81)
        let (r, th) = (0.9f64, 0.7f64);
        let q = [1.0, -2.0 * r * th.cos(), r * r];
        let l = [1.0, -0.25, -0.125]; // (z - 0.5)(z + 0.25)
        let mut p = [0.0; 5];
        for (i, a) in l.iter().enumerate() {
            for (j, b) in q.iter().enumerate() {
                p[i + j] += a * b;
            }
        }
        let z = roots(&p);
        let upper = z.iter().find(|c| c.im > 0.1).expect("complex root");
        assert!((upper.abs() - r).abs() < 1e-9 && (upper.im.atan2(upper.re) - th).abs() < 1e-9);
        assert!(
            z.iter()
                .any(|c| (c.re - 0.5).abs() < 1e-9 && c.im.abs() < 1e-9)
        );
        assert!(
            z.iter()
                .any(|c| (c.re + 0.25).abs() < 1e-9 && c.im.abs() < 1e-9)
        );
    }

    #[test]
    fn envelope_scale_finds_a_shift_of_the_formants() {
        // Formant bumps of a uniform tube (500, 1500, ... Hz), scaled by `k`, on a tilt.
        let env = |k: f64| -> Vec<f32> {
            (0..ENVELOPE_BINS)
                .map(|i| {
                    let f = envelope_hz(i);
                    let bumps: f64 = (0..6)
                        .map(|n| {
                            let d = (f / (k * (500.0 + 1000.0 * n as f64))).ln() / 0.08;
                            12.0 * (-0.5 * d * d).exp()
                        })
                        .sum();
                    (bumps - 6.0 * (f / 1000.0).log2()) as f32
                })
                .collect()
        };
        for k in [0.8f64, 0.9, 1.0, 1.12, 1.25] {
            let got = envelope_scale(&env(1.0), &env(k)).expect("aligned");
            assert!((f64::from(got) / k - 1.0).abs() < 0.01, "×{k}: {got}");
        }
        assert_eq!(envelope_scale(&env(1.0), &[]), None);
        let flat = vec![0.0f32; ENVELOPE_BINS];
        assert_eq!(envelope_scale(&env(1.0), &flat), None);
    }

    #[test]
    fn vocal_tract_of_a_uniform_tube() {
        // 17.5 cm: ΔF = 1000 Hz → 500, 1500, 2500 Hz.
        let l = vocal_tract_cm(&[500.0, 1500.0, 2500.0]);
        assert!((l - 17.5).abs() < 1e-3, "{l}");
    }
}
