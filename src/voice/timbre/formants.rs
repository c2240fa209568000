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
const MAX_BANDWIDTH_HZ: f64 = 600.0;
const MIN_FORMANT_HZ: f64 = 150.0;
/// Frames quieter than this (dB) below the loud voiced frames are skipped (consonant
/// transitions, weak offsets).
const QUIET_DB: f32 = 20.0;
/// Speed of sound in the warm, humid vocal tract (cm/s).
pub(crate) const SPEED_OF_SOUND_CM_S: f32 = 35_000.0;

/// F1–F3 (Hz) of each loud voiced frame of `x` (mono at [`RATE`]); `track` says which
/// frames are voiced.
pub(crate) fn frames(x: &[f32], track: &F0Track) -> Vec<[f32; 3]> {
    if x.len() < WIN {
        return Vec::new();
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
    let mut out = Vec::new();
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
            out.push(f);
        }
    }
    out
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
    let mut f: Vec<f64> = roots
        .iter()
        .filter(|z| z.im > 1e-9)
        .filter_map(|z| {
            let freq = z.im.atan2(z.re) * fs / (2.0 * std::f64::consts::PI);
            let bw = -z.abs().ln() * fs / std::f64::consts::PI;
            (freq >= MIN_FORMANT_HZ && freq <= fs / 2.0 - MIN_FORMANT_HZ && bw <= MAX_BANDWIDTH_HZ)
                .then_some(freq)
        })
        .collect();
    f.sort_by(f64::total_cmp);
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
    fn vocal_tract_of_a_uniform_tube() {
        // 17.5 cm: ΔF = 1000 Hz → 500, 1500, 2500 Hz.
        let l = vocal_tract_cm(&[500.0, 1500.0, 2500.0]);
        assert!((l - 17.5).abs() < 1e-3, "{l}");
    }
}
