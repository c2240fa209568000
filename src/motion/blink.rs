//! Blink layer: natural random blinks, a pure function of `(seed, time)`.
//!
//! Blink `n` is placed at `n·PERIOD + JITTER·j(n)` with `j(n)` uniform in `[-1, 1]`, so two
//! consecutive blinks are `PERIOD ± 2·JITTER` = 2–6 s apart, and any time can be evaluated
//! in O(1) without replaying the night. A blink is sometimes doubled; each closes fast and opens
//! a little slower; the right eye lags the left by a few milliseconds.

use super::curves::{Dice, smoothstep};

/// Mean spacing of blinks (seconds).
pub const PERIOD: f64 = 4.0;
/// Each blink's offset from its slot, at most ± this (seconds).
pub const JITTER: f64 = 1.0;
/// Probability that a blink is followed by a second one.
pub const DOUBLE_PROB: f64 = 0.15;
/// Blink duration range (seconds).
pub const DURATION: (f64, f64) = (0.12, 0.18);
/// Share of a blink spent closing.
const CLOSE_SHARE: f64 = 0.4;
/// Right eye lags the left by up to this (seconds).
const MAX_EYE_LAG: f64 = 0.015;
const STREAM: u64 = 0xB11C;

/// One blink (both eyes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Blink {
    pub(crate) start: f64,
    pub(crate) duration: f64,
    pub(crate) right_lag: f64,
    /// Start of the second blink of a double blink.
    pub(crate) double: Option<f64>,
}

/// Blink number `n` for `seed`.
pub(crate) fn blink(seed: u64, n: i64) -> Blink {
    let mut d = Dice::new(seed, STREAM, n);
    let start = n as f64 * PERIOD + JITTER * d.range(-1.0, 1.0);
    let duration = d.range(DURATION.0, DURATION.1);
    let right_lag = d.range(0.0, MAX_EYE_LAG);
    let double = (d.unit() < DOUBLE_PROB).then(|| start + duration + d.range(0.08, 0.16));
    Blink {
        start,
        duration,
        right_lag,
        double,
    }
}

/// Lid closure `[0, 1]` of one blink shape starting at `start`.
fn shape(t: f64, start: f64, duration: f64) -> f64 {
    let x = t - start;
    if x <= 0.0 || x >= duration {
        return 0.0;
    }
    let close = duration * CLOSE_SHARE;
    if x < close {
        smoothstep(x / close)
    } else {
        1.0 - smoothstep((x - close) / (duration - close))
    }
}

/// `(left, right)` blink weights at `t`.
pub(crate) fn blink_at(seed: u64, t: f64) -> (f32, f32) {
    let n = (t / PERIOD).floor() as i64;
    let (mut l, mut r) = (0.0f64, 0.0f64);
    for k in n - 1..=n + 1 {
        let b = blink(seed, k);
        for s in std::iter::once(b.start).chain(b.double) {
            l = l.max(shape(t, s, b.duration));
            r = r.max(shape(t, s + b.right_lag, b.duration));
        }
    }
    (l as f32, r as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Onsets (left eye crossing 0.5 upward) sampled at 1 kHz over `[0, secs)`.
    fn onsets(seed: u64, secs: f64) -> Vec<f64> {
        let mut out = Vec::new();
        let mut prev = 0.0;
        for i in 0..(secs * 1000.0) as i64 {
            let t = i as f64 / 1000.0;
            let (l, _) = blink_at(seed, t);
            if prev < 0.5 && l >= 0.5 {
                out.push(t);
            }
            prev = l;
        }
        out
    }

    #[test]
    fn blink_intervals_are_natural() {
        let on = onsets(42, 600.0);
        // Group double blinks (second within 0.5 s of the first).
        let mut groups: Vec<f64> = Vec::new();
        let mut doubles = 0;
        for t in on {
            match groups.last() {
                Some(&g) if t - g < 0.5 => doubles += 1,
                _ => groups.push(t),
            }
        }
        let n = groups.len();
        assert!((130..=170).contains(&n), "{n} blinks in 10 minutes");
        for w in groups.windows(2) {
            let dt = w[1] - w[0];
            assert!((1.9..=6.1).contains(&dt), "blinks {dt:.3} s apart");
        }
        assert!(doubles > 5 && doubles < 50, "{doubles} double blinks");
    }

    #[test]
    fn blink_duration_and_eye_offset() {
        for n in 0..200 {
            let b = blink(7, n);
            assert!((0.12..=0.18).contains(&b.duration));
            assert!(b.right_lag >= 0.0 && b.right_lag <= 0.015);
            // Fully closed at the bottom of the blink.
            let (l, _) = blink_at(7, b.start + b.duration * CLOSE_SHARE);
            assert!(l > 0.99);
        }
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(onsets(1, 60.0), onsets(1, 60.0));
        assert_ne!(onsets(1, 60.0), onsets(2, 60.0));
    }
}
