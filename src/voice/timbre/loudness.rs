//! Integrated loudness (EBU R128 / ITU-R BS.1770, gated), gain, and a smooth peak limiter.

use ebur128::{EbuR128, Mode};

use super::TimbreError;

/// Highest sample magnitude after the gain (the built-in voice keeps 0.95 too).
pub(crate) const PEAK_CEILING: f32 = 0.95;
/// The limiter's gain changes take at least this long (s) on each side of a peak.
const LIMITER_HOLD_S: f32 = 0.003;

/// Integrated loudness (LUFS) of mono `x` at `rate`; `None` for silence or audio shorter than
/// one 400 ms gating block.
pub(crate) fn integrated(x: &[f32], rate: u32) -> Result<Option<f64>, TimbreError> {
    let mut meter = EbuR128::new(1, rate, Mode::I)?;
    meter.add_frames_f32(x)?;
    let l = meter.loudness_global()?;
    Ok((l.is_finite() && l > -70.0).then_some(l))
}

/// Multiplies `x` by `10^(db/20)`, then limits peaks to [`PEAK_CEILING`].
pub(crate) fn gain(x: &mut [f32], db: f32, rate: u32) {
    let g = 10f32.powf(db / 20.0);
    x.iter_mut().for_each(|s| *s *= g);
    limit(x, PEAK_CEILING, rate);
}

/// Smooth peak limiter: the gain needed at each sample, spread by a moving minimum over
/// ±2h and smoothed by two box filters of ±h, so it never exceeds what any sample needs and
/// changes over milliseconds, not samples (no clicks, no clipping).
pub(crate) fn limit(x: &mut [f32], ceiling: f32, rate: u32) {
    let peak = x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak <= ceiling {
        return;
    }
    let h = ((LIMITER_HOLD_S * rate as f32) as usize).max(1);
    let need: Vec<f32> = x
        .iter()
        .map(|s| {
            if s.abs() > ceiling {
                ceiling / s.abs()
            } else {
                1.0
            }
        })
        .collect();
    let held = moving_min(&need, 2 * h);
    let smooth = boxcar(&boxcar(&held, h), h);
    for (s, g) in x.iter_mut().zip(&smooth) {
        *s *= g;
    }
}

/// Minimum over `[i - r, i + r]` (monotonic deque, O(n)).
fn moving_min(v: &[f32], r: usize) -> Vec<f32> {
    let n = v.len();
    let mut out = vec![0.0f32; n];
    let mut dq: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut next = 0usize;
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (i + r).min(n - 1);
        while next <= hi {
            while dq.back().is_some_and(|&b| v[b] >= v[next]) {
                dq.pop_back();
            }
            dq.push_back(next);
            next += 1;
        }
        while dq.front().is_some_and(|&f| f + r < i) {
            dq.pop_front();
        }
        *o = dq.front().map_or(1.0, |&f| v[f]);
    }
    out
}

/// Mean over `[i - r, i + r]`, the ends extended with the edge values (so the mean only
/// ever mixes values that bound the ones it replaces).
fn boxcar(v: &[f32], r: usize) -> Vec<f32> {
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0.0f64);
    let mut acc = 0.0f64;
    for &s in v {
        acc += f64::from(s);
        prefix.push(acc);
    }
    let (first, last) = (f64::from(v[0]), f64::from(v[n - 1]));
    (0..n)
        .map(|i| {
            let below = r.saturating_sub(i);
            let above = (i + r + 1).saturating_sub(n);
            let lo = i.saturating_sub(r);
            let hi = (i + r + 1).min(n);
            let sum = prefix[hi] - prefix[lo] + below as f64 * first + above as f64 * last;
            (sum / (2 * r + 1) as f64) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_reads_minus_three_lufs_and_the_limiter_holds_the_ceiling() {
        let rate = 48_000;
        let sine: Vec<f32> = (0..rate * 2)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin())
            .collect();
        let l = integrated(&sine, rate as u32)
            .expect("meter")
            .expect("loud");
        assert!((l + 3.01).abs() < 0.1, "{l}");
        let mut x = sine.clone();
        gain(&mut x, 6.0, rate as u32);
        let peak = x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak <= PEAK_CEILING + 1e-4, "{peak}");
        assert!(peak > 0.9, "{peak}");
        assert!(
            integrated(&vec![0.0; 48_000], 48_000)
                .expect("meter")
                .is_none()
        );
    }
}
