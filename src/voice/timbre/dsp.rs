//! Small DSP helpers shared by the analysis and the resynthesis.

use super::TimbreError;

/// Lowest and highest sample rates the stage takes.
pub(crate) const MIN_RATE: u32 = 8_000;
pub(crate) const MAX_RATE: u32 = 192_000;

/// Checks a clip: a supported rate and finite samples.
pub(crate) fn check(pcm: &[f32], rate: u32, clip: usize) -> Result<(), TimbreError> {
    if !(MIN_RATE..=MAX_RATE).contains(&rate) {
        return Err(TimbreError::SampleRate(rate));
    }
    if pcm.iter().any(|s| !s.is_finite()) {
        return Err(TimbreError::NonFinite { clip });
    }
    Ok(())
}

/// Resamples mono audio (band-limited, no delay: times in seconds are kept).
pub(crate) fn resample(x: &[f32], from: u32, to: u32) -> Result<Vec<f32>, TimbreError> {
    Ok(crate::voice::resample::resample(x, from, to).map_err(crate::voice::VoiceError::from)?)
}

/// Dot product over the common length, in 8 lanes (the compiler vectorizes it).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut acc = [0.0f32; 8];
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Value at quantile `q` (0–1) of sorted values, interpolated; 0 when empty.
pub(crate) fn quantile(sorted: &[f32], q: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f32;
    let i = pos.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    let t = pos - i as f32;
    sorted[i] * (1.0 - t) + sorted[j] * t
}

/// Sorted copy (NaN-free input).
pub(crate) fn sorted(v: &[f32]) -> Vec<f32> {
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    s
}

/// Median of values; 0 when empty.
pub(crate) fn median(v: &[f32]) -> f32 {
    quantile(&sorted(v), 0.5)
}

/// Band-limited fractional-delay reader: a Kaiser-windowed sinc (8 zero crossings each side,
/// β = 8), tabulated at 512 fractional phases with linear interpolation between phases
/// (stop band below -80 dB). `cutoff` is the pass band as a fraction of Nyquist; below 1 the
/// kernel widens so that reading faster than one input sample per output sample does not
/// alias.
#[derive(Debug, Clone)]
pub(crate) struct SincReader {
    /// Taps on each side of the read position.
    half: usize,
    /// `(PHASES + 1)` rows of `2 * half` taps.
    table: Vec<f32>,
}

impl SincReader {
    const PHASES: usize = 512;
    const ZEROS: f64 = 8.0;
    const BETA: f64 = 8.0;

    pub(crate) fn new(cutoff: f64) -> SincReader {
        let fc = cutoff.clamp(0.2, 1.0);
        let support = Self::ZEROS / fc;
        let half = support.ceil() as usize;
        let taps = 2 * half;
        let i0_beta = bessel_i0(Self::BETA);
        let mut table = Vec::with_capacity((Self::PHASES + 1) * taps);
        for p in 0..=Self::PHASES {
            let frac = p as f64 / Self::PHASES as f64;
            for k in 0..taps {
                // Distance from the read position to tap k (taps start at floor(pos) - half + 1).
                let t = k as f64 - (half as f64 - 1.0) - frac;
                let r = t / support;
                let w = if r.abs() >= 1.0 {
                    0.0
                } else {
                    bessel_i0(Self::BETA * (1.0 - r * r).sqrt()) / i0_beta
                };
                let arg = std::f64::consts::PI * fc * t;
                let sinc = if arg.abs() < 1e-12 {
                    1.0
                } else {
                    arg.sin() / arg
                };
                table.push((fc * sinc * w) as f32);
            }
        }
        SincReader { half, table }
    }

    /// `x` at fractional position `pos` (zero outside the signal).
    #[inline]
    pub(crate) fn at(&self, x: &[f32], pos: f64) -> f32 {
        let taps = 2 * self.half;
        let fl = pos.floor();
        let frac = pos - fl;
        let pf = frac * Self::PHASES as f64;
        let p = (pf as usize).min(Self::PHASES - 1);
        let w = (pf - p as f64) as f32;
        let row0 = &self.table[p * taps..(p + 1) * taps];
        let row1 = &self.table[(p + 1) * taps..(p + 2) * taps];
        let first = fl as isize - self.half as isize + 1;
        let mut acc = 0.0f32;
        if first >= 0 && (first as usize) + taps <= x.len() {
            let xs = &x[first as usize..first as usize + taps];
            for ((s, a), b) in xs.iter().zip(row0).zip(row1) {
                acc += s * (a + w * (b - a));
            }
        } else {
            for k in 0..taps {
                let i = first + k as isize;
                if i >= 0
                    && let Some(s) = x.get(i as usize)
                {
                    acc += s * (row0[k] + w * (row1[k] - row0[k]));
                }
            }
        }
        acc
    }
}

/// Modified Bessel function of the first kind, order 0 (series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-16 {
            break;
        }
    }
    sum
}

/// Semitones from `from` Hz to `to` Hz.
pub(crate) fn semitones(from: f32, to: f32) -> f32 {
    12.0 * (to / from).log2()
}

/// A second-order IIR section (RBJ cookbook), direct form I.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
}

impl Biquad {
    fn from_raw(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Biquad {
        Biquad {
            b: [(b0 / a0) as f32, (b1 / a0) as f32, (b2 / a0) as f32],
            a: [(a1 / a0) as f32, (a2 / a0) as f32],
        }
    }

    /// High-pass at `f` Hz, Q 0.707.
    pub(crate) fn highpass(f: f64, rate: u32) -> Biquad {
        let w = 2.0 * std::f64::consts::PI * f / f64::from(rate);
        let (c, al) = (w.cos(), w.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2));
        Biquad::from_raw(
            (1.0 + c) / 2.0,
            -(1.0 + c),
            (1.0 + c) / 2.0,
            1.0 + al,
            -2.0 * c,
            1.0 - al,
        )
    }

    /// Low-pass at `f` Hz, Q 0.707.
    pub(crate) fn lowpass(f: f64, rate: u32) -> Biquad {
        let w = 2.0 * std::f64::consts::PI * f / f64::from(rate);
        let (c, al) = (w.cos(), w.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2));
        Biquad::from_raw(
            (1.0 - c) / 2.0,
            1.0 - c,
            (1.0 - c) / 2.0,
            1.0 + al,
            -2.0 * c,
            1.0 - al,
        )
    }

    /// Filters `x` (zero initial state).
    pub(crate) fn run(&self, x: &[f32]) -> Vec<f32> {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        x.iter()
            .map(|&s| {
                let y = self.b[0] * s + self.b[1] * x1 + self.b[2] * x2
                    - self.a[0] * y1
                    - self.a[1] * y2;
                x2 = x1;
                x1 = s;
                y2 = y1;
                y1 = y;
                y
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_agree_with_direct_formulas() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.1).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.02).collect();
        let direct: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - direct).abs() < 1e-3);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert!((semitones(100.0, 200.0) - 12.0).abs() < 1e-5);
    }

    #[test]
    fn resampling_takes_whole_blocks() {
        let x = vec![0.1f32; 2048];
        let y = resample(&x, 48_000, 16_000).expect("resample");
        assert_eq!(y.len(), 683);
    }

    #[test]
    fn sinc_reader_is_exact_on_samples_and_clean_between() {
        let r = SincReader::new(1.0);
        let x: Vec<f32> = (0..400).map(|i| (i as f32 * 0.3).sin()).collect();
        assert!((r.at(&x, 200.0) - x[200]).abs() < 1e-4);
        for k in 0..20 {
            let pos = 150.0 + k as f64 * 0.37;
            let want = (pos as f32 * 0.3).sin();
            assert!(
                (r.at(&x, pos) - want).abs() < 2e-3,
                "{pos}: {} vs {want}",
                r.at(&x, pos)
            );
        }
    }
}
