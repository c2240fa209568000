//! Pitch marks: one point per glottal period in voiced stretches, at the same place in each
//! period, so that grains cut around them overlap in phase.
//!
//! Each voiced run of the F0 track starts at its strongest peak; marks then step one period
//! at a time forward and backward, each placed where the waveform around it best matches the
//! one around the previous mark (normalized cross-correlation over one period, searched in
//! 0.7–1.4 expected periods). Matching shapes rather than picking peaks keeps the marks
//! consistent when two peaks per period compete.

use super::dsp::dot;
use super::pitch::F0Track;

/// Below this normalized cross-correlation, two periods do not match.
const MIN_NCC: f32 = 0.4;

/// Pitch marks of one signal, in samples, grouped by voiced region.
#[derive(Debug, Clone, Default)]
pub(crate) struct Marks {
    /// Mark positions, increasing.
    pub pos: Vec<usize>,
    /// Regions as `[start, end)` index ranges into `pos`, each with at least 2 marks.
    pub regions: Vec<(usize, usize)>,
}

impl Marks {
    /// Half-widths (samples) of the grain at mark `k` of region `r`: the distances to the
    /// previous and next marks (the one that exists, at region edges).
    pub(crate) fn halves(&self, r: usize, k: usize) -> (f64, f64) {
        let (a, b) = self.regions[r];
        let left = (k > a).then(|| (self.pos[k] - self.pos[k - 1]) as f64);
        let right = (k + 1 < b).then(|| (self.pos[k + 1] - self.pos[k]) as f64);
        match (left, right) {
            (Some(l), Some(r)) => (l, r),
            (Some(l), None) => (l, l),
            (None, Some(r)) => (r, r),
            (None, None) => (1.0, 1.0),
        }
    }

    /// The region covering input position `t` (samples) and its mark nearest to `t`. A
    /// region covers half a period beyond its first and last marks.
    pub(crate) fn nearest(&self, t: f64) -> Option<(usize, usize)> {
        // The region whose first mark is the last one at or before t + half a period.
        let r = self
            .regions
            .partition_point(|&(a, _)| (self.pos[a] as f64) <= t + self.edge(a, true))
            .checked_sub(1)?;
        let (a, b) = self.regions[r];
        let last = b - 1;
        if t > self.pos[last] as f64 + self.edge(last, false) {
            return None;
        }
        let slice = &self.pos[a..b];
        let i = slice.partition_point(|&p| (p as f64) < t);
        let k = match i {
            0 => 0,
            i if i >= slice.len() => slice.len() - 1,
            i => {
                if t - slice[i - 1] as f64 <= slice[i] as f64 - t {
                    i - 1
                } else {
                    i
                }
            }
        };
        Some((r, a + k))
    }

    /// Half the period at a region's first (`first`) or last mark.
    fn edge(&self, k: usize, first: bool) -> f64 {
        let d = if first {
            self.pos.get(k + 1).map(|n| n - self.pos[k])
        } else {
            k.checked_sub(1).map(|p| self.pos[k] - self.pos[p])
        };
        d.unwrap_or(0) as f64 / 2.0
    }
}

/// Finds pitch marks in `x` (mono at `rate`) from its F0 track.
pub(crate) fn find(x: &[f32], rate: u32, track: &F0Track) -> Marks {
    let fs = f64::from(rate);
    let mut marks = Marks::default();
    for (a, b) in track.runs() {
        let t0 = (a as f64 - 0.5) * F0Track::HOP_S;
        let t1 = (b as f64 - 0.5) * F0Track::HOP_S;
        let lo = ((t0 * fs).max(0.0) as usize).min(x.len());
        let hi = ((t1 * fs) as usize).min(x.len());
        if hi <= lo + 2 {
            continue;
        }
        let run_f0: Vec<f32> = track.f0[a..b].to_vec();
        let fallback = super::dsp::median(&run_f0).max(super::pitch::F0_MIN);
        let period = |n: usize| -> f64 {
            let f = track.at(n as f64 / fs).unwrap_or(fallback);
            fs / f64::from(f)
        };
        let region = &x[lo..hi];
        // Anchor: the strongest sample; its sign is the polarity tracked.
        let Some((anchor, _)) = region
            .iter()
            .enumerate()
            .max_by(|p, q| p.1.abs().total_cmp(&q.1.abs()))
        else {
            continue;
        };
        let anchor = lo + anchor;
        let polarity = if x[anchor] < 0.0 { -1.0 } else { 1.0 };
        let mut pos = vec![anchor];
        for dir in [1isize, -1] {
            let mut m = anchor;
            loop {
                let p = period(m);
                let Some(next) = step(x, m, p, dir, lo, hi, polarity) else {
                    break;
                };
                if dir > 0 {
                    pos.push(next);
                } else {
                    pos.insert(0, next);
                }
                m = next;
            }
        }
        if pos.len() >= 2 {
            let start = marks.pos.len();
            // Regions never overlap (runs are disjoint), but keep positions increasing.
            if let Some(&last) = marks.pos.last()
                && pos[0] <= last
            {
                pos.retain(|&p| p > last);
                if pos.len() < 2 {
                    continue;
                }
            }
            marks.pos.extend_from_slice(&pos);
            marks.regions.push((start, marks.pos.len()));
        }
    }
    marks
}

/// The mark one period from `m` in direction `dir`, inside `[lo, hi)`; `None` past the edge.
fn step(
    x: &[f32],
    m: usize,
    period: f64,
    dir: isize,
    lo: usize,
    hi: usize,
    polarity: f32,
) -> Option<usize> {
    let half = (period / 2.0).round().max(2.0) as usize;
    let near = (period * 0.7).round() as usize;
    let far = (period * 1.4).round() as usize;
    // The search may look past the region (voicing detection trims its ends); the mark
    // found must lie inside it.
    let (c0, c1) = if dir > 0 {
        (m + near, m + far)
    } else {
        (m.checked_sub(far)?, m.checked_sub(near)?)
    };
    if c0 < half || c1 + half > x.len() || m < half || m + half > x.len() {
        return None;
    }
    let inside = |c: usize| (lo..hi).contains(&c);
    let reference = &x[m - half..m + half];
    let e_ref = dot(reference, reference);
    if e_ref <= 1e-12 {
        return None;
    }
    let ncc_at = |c: usize| -> (f32, f32) {
        let cand = &x[c - half..c + half];
        let e = dot(cand, cand);
        if e <= 1e-12 {
            return (-1.0, 1e-6);
        }
        (dot(reference, cand) / (e_ref * e).sqrt(), e)
    };
    let score = |c: usize| -> f32 {
        let (ncc, e) = ncc_at(c);
        // Mild preference for the expected period and for the tracked polarity's peaks.
        let dev = ((c as f64 - m as f64).abs() - period).abs() / period;
        let peak = polarity * x[c] / (e / (2 * half) as f32).sqrt().max(1e-9);
        ncc - 0.1 * dev as f32 + 0.02 * peak
    };
    // Coarse search every other sample, then refine around the best.
    let mut best = (f32::MIN, c0);
    let mut c = c0;
    while c <= c1 {
        let s = score(c);
        if s > best.0 {
            best = (s, c);
        }
        c += 2;
    }
    let (from, to) = (best.1.saturating_sub(2).max(c0), (best.1 + 2).min(c1));
    for c in from..=to {
        let s = score(c);
        if s > best.0 {
            best = (s, c);
        }
    }
    let found = best.1;
    // A real period match is an interior maximum of a good correlation.
    if ncc_at(found).0 >= MIN_NCC && found > c0 && found < c1 {
        return inside(found).then_some(found);
    }
    // The shape changed too much to match (a new phoneme, a glitch): take the strongest peak
    // of the tracked polarity near one period on, if that is still inside the region.
    let expected = if dir > 0 {
        m as f64 + period
    } else {
        m as f64 - period
    };
    if !inside(expected as usize) {
        return None;
    }
    let (p0, p1) = (
        (expected - 0.2 * period).max(0.0) as usize,
        ((expected + 0.2 * period) as usize).min(x.len() - 1),
    );
    (p0..=p1)
        .filter(|&p| inside(p))
        .max_by(|&p, &q| (polarity * x[p]).total_cmp(&(polarity * x[q])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_fall_once_per_period_at_the_same_phase() {
        // 150 Hz pulse train with decaying ringing, at 48 kHz, voiced throughout.
        let fs = 48_000u32;
        let period = 320usize;
        let x: Vec<f32> = (0..fs as usize / 2)
            .map(|n| {
                let k = n % period;
                let t = k as f32 / fs as f32;
                0.5 * (-t * 400.0).exp() * (2.0 * std::f32::consts::PI * 700.0 * t).cos()
            })
            .collect();
        let x16 = crate::voice::timbre::dsp::resample(&x, fs, 16_000).expect("resample");
        let track = super::super::pitch::track(&x16);
        let marks = find(&x, fs, &track);
        assert_eq!(marks.regions.len(), 1);
        assert!(marks.pos.len() > 60, "{} marks", marks.pos.len());
        let phases: Vec<usize> = marks.pos.iter().map(|p| p % period).collect();
        assert!(
            phases.windows(2).all(|w| w[0].abs_diff(w[1]) <= 1),
            "{phases:?}"
        );
        let gaps: Vec<usize> = marks.pos.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| g.abs_diff(period) <= 1), "{gaps:?}");
        let (r, k) = marks.nearest(marks.pos[10] as f64 + 3.0).expect("voiced");
        assert_eq!((r, k), (0, 10));
        assert!(marks.nearest(1e9).is_none());
    }
}
