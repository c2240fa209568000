//! Emotion layer: each [`Emotion`] is a preset of VRM expression weights; a change of emotion
//! moves every weight from wherever it is to the new preset along a smoothstep of [`TRANSITION`].

use super::curves::ramp;
use super::{Emotion, Expression};

/// Time to move from one emotion's expression to the next (seconds).
pub const TRANSITION: f64 = 0.4;

/// Expression weights of an emotion, in [`Expression::ALL`] order (blinks always 0 here).
pub fn preset(e: Emotion) -> [f32; Expression::ALL.len()] {
    let mut w = [0.0; Expression::ALL.len()];
    let mut set = |x: Expression, v: f32| w[x.index()] = v;
    match e {
        // A host at rest still looks friendly.
        Emotion::Neutral => set(Expression::Relaxed, 0.15),
        Emotion::Happy => set(Expression::Happy, 0.8),
        Emotion::Surprised => set(Expression::Surprised, 0.7),
        // Serious: a hint of a frown, no smile.
        Emotion::Serious => set(Expression::Angry, 0.2),
        Emotion::Sad => set(Expression::Sad, 0.7),
        Emotion::Angry => set(Expression::Angry, 0.7),
        Emotion::Relaxed => set(Expression::Relaxed, 0.7),
    }
    w
}

/// Scheduled emotion changes and the weights in force before the first one.
#[derive(Debug, Clone)]
pub(crate) struct EmotionTrack {
    /// Weights before `changes[0]` (after `forget_before`, the state the dropped changes left).
    initial: [f32; Expression::ALL.len()],
    /// Sorted by start time; a change at the same time as an earlier one replaces it.
    changes: Vec<(f64, Emotion)>,
}

impl EmotionTrack {
    pub(crate) fn new() -> EmotionTrack {
        EmotionTrack {
            initial: preset(Emotion::Neutral),
            changes: Vec::new(),
        }
    }

    pub(crate) fn set(&mut self, start: f64, e: Emotion) {
        if !start.is_finite() {
            return;
        }
        let i = self.changes.partition_point(|c| c.0 <= start);
        if i > 0 && self.changes[i - 1].0 == start {
            self.changes[i - 1].1 = e;
        } else {
            self.changes.insert(i, (start, e));
        }
    }

    /// Weights at `t`: each change blends from the value in force at its start.
    pub(crate) fn weights_at(&self, t: f64) -> [f32; Expression::ALL.len()] {
        let mut from = self.initial;
        let mut cur = self.initial;
        for (k, &(start, e)) in self.changes.iter().enumerate() {
            if start > t {
                break;
            }
            // Value in force at the next change (or at t).
            let until = self.changes.get(k + 1).map_or(t, |n| n.0.min(t));
            let s = ramp(until, start, start + TRANSITION) as f32;
            let target = preset(e);
            for i in 0..cur.len() {
                cur[i] = from[i] + (target[i] - from[i]) * s;
            }
            from = cur;
        }
        cur
    }

    /// Drops changes whose successor has finished its transition before `t`.
    pub(crate) fn forget_before(&mut self, t: f64) {
        while self.changes.len() >= 2 && self.changes[1].0 + TRANSITION <= t {
            let next = self.changes[1].0;
            // The value in force at the second change's start becomes the initial state; the
            // first change is then folded in by replaying from it.
            let at_next = {
                let first = EmotionTrack {
                    initial: self.initial,
                    changes: vec![self.changes[0]],
                };
                first.weights_at(next)
            };
            self.initial = at_next;
            self.changes.remove(0);
            // The (new) first change now blends from `initial`, exactly as before.
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.changes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaches_target_smoothly() {
        let mut tr = EmotionTrack::new();
        tr.set(1.0, Emotion::Happy);
        assert_eq!(tr.weights_at(0.5), preset(Emotion::Neutral));
        let mid = tr.weights_at(1.2)[Expression::Happy.index()];
        assert!(mid > 0.2 && mid < 0.6, "{mid}");
        assert_eq!(tr.weights_at(1.0 + TRANSITION), preset(Emotion::Happy));
        let mut prev = tr.weights_at(0.9);
        for i in 1..100 {
            let cur = tr.weights_at(0.9 + i as f64 * 0.01);
            for (a, b) in prev.iter().zip(cur.iter()) {
                assert!((a - b).abs() < 0.04);
            }
            prev = cur;
        }
    }

    #[test]
    fn interrupted_transition_is_continuous_and_forget_keeps_values() {
        let mut tr = EmotionTrack::new();
        tr.set(1.0, Emotion::Happy);
        tr.set(1.2, Emotion::Sad);
        tr.set(5.0, Emotion::Serious);
        let before = tr.weights_at(1.2 - 1e-6);
        let after = tr.weights_at(1.2 + 1e-6);
        for (a, b) in before.iter().zip(after.iter()) {
            assert!((a - b).abs() < 1e-3);
        }
        let probe = [1.3, 2.0, 5.1, 5.3, 9.0];
        let want: Vec<_> = probe.iter().map(|&t| tr.weights_at(t)).collect();
        tr.forget_before(5.0);
        assert_eq!(tr.len(), 2);
        for (t, w) in probe.iter().zip(want.iter()).skip(2) {
            let got = tr.weights_at(*t);
            for (a, b) in got.iter().zip(w.iter()) {
                assert!((a - b).abs() < 1e-6, "t={t}");
            }
        }
        tr.forget_before(100.0);
        assert_eq!(tr.len(), 1);
        assert_eq!(tr.weights_at(100.0), preset(Emotion::Serious));
    }
}
