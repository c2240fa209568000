//! Utterance segmentation: VAD regions → clips of [`MIN_CLIP_S`]–[`MAX_CLIP_S`] seconds cut
//! in the middle of pauses.
//!
//! Region edges are first refined from the VAD's 32 ms windows to 8 ms sub-frames with the
//! signal level. Regions then join into a clip while the pauses between them are short; a
//! pause of [`LONG_PAUSE_S`] always ends a clip, a pause of [`PHRASE_PAUSE_S`] ends one that
//! already has [`TARGET_S`] of speech, and a clip that would grow past the maximum is split
//! at its longest pause. Each clip keeps up to [`PAD_S`] of the pause on either side (never
//! more than half the pause).

use super::report::DropReason;
use super::vad::{Region, SUB_S, SUBS, WindowFeat};

/// Shortest clip kept (seconds, pads included).
pub const MIN_CLIP_S: f64 = 1.0;
/// Longest clip kept (seconds, pads included).
pub const MAX_CLIP_S: f64 = 15.0;
/// Pause kept before and after the speech of a clip (at most).
pub const PAD_S: f64 = 0.15;
/// A pause this long always ends a clip.
pub const LONG_PAUSE_S: f64 = 0.7;
/// A pause this long ends a clip that already holds [`TARGET_S`] of speech.
pub const PHRASE_PAUSE_S: f64 = 0.3;
pub const TARGET_S: f64 = 6.0;
/// Speech span that still fits in [`MAX_CLIP_S`] with both pads.
const MAX_SPAN_S: f64 = MAX_CLIP_S - 2.0 * PAD_S;
/// How far before a VAD start the refined start may move (seconds).
pub(crate) const REFINE_BEFORE_S: f64 = 8.0 * super::vad::WINDOW_S;
/// Level below the region's peak that still counts as speech at the edges (dB).
const EDGE_BELOW_PEAK_DB: f32 = 40.0;
/// Level above the local floor that counts as speech at the edges (dB).
const EDGE_ABOVE_FLOOR_DB: f32 = 10.0;
/// Sub-frames in a row above the edge level that make an onset (24 ms).
const EDGE_RUN: usize = 3;

/// Refines region `r` to sub-frame precision; returns (start, end) in seconds.
pub(crate) fn refine(feats: &[WindowFeat], r: Region) -> (f64, f64) {
    let db = |s: usize| feats[s / SUBS].sub_db[s % SUBS];
    let n_sub = feats.len() * SUBS;
    let (rs, re) = (r.start * SUBS, (r.end * SUBS).min(n_sub));
    if re <= rs {
        return (
            r.start as f64 * super::vad::WINDOW_S,
            r.end as f64 * super::vad::WINDOW_S,
        );
    }
    let peak = (rs..re).map(db).fold(f32::NEG_INFINITY, f32::max);
    let floor_of = |range: std::ops::Range<usize>| {
        if range.is_empty() {
            -120.0
        } else {
            range.map(db).fold(f32::INFINITY, f32::min)
        }
    };
    // Start: the first run of EDGE_RUN loud sub-frames from 256 ms before the VAD start.
    let lo = r.start.saturating_sub(8) * SUBS;
    let hi = ((r.start + 4) * SUBS).min(re);
    let thr = (peak - EDGE_BELOW_PEAK_DB).max(floor_of(lo..rs) + EDGE_ABOVE_FLOOR_DB);
    let start = (lo..hi)
        .find(|&s| s + EDGE_RUN <= n_sub && (s..s + EDGE_RUN).all(|k| db(k) >= thr))
        .unwrap_or(rs);
    // End: the last run of loud sub-frames up to 96 ms after the VAD end.
    let hi2 = ((r.end + 3) * SUBS).min(n_sub);
    let lo2 = (r.end.saturating_sub(4) * SUBS).max(start + 1);
    let thr2 = (peak - EDGE_BELOW_PEAK_DB).max(floor_of(re..hi2) + EDGE_ABOVE_FLOOR_DB);
    let end = (lo2..hi2)
        .rev()
        .find(|&s| s + 1 >= EDGE_RUN && (s + 1 - EDGE_RUN..=s).all(|k| db(k) >= thr2))
        .map(|s| s + 1)
        .unwrap_or(re)
        .max(start + 1);
    (start as f64 * SUB_S, end as f64 * SUB_S)
}

/// A clip to cut: the speech inside it and the cut points (seconds in the file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ClipSpan {
    pub speech_start: f64,
    pub speech_end: f64,
    pub cut_start: f64,
    pub cut_end: f64,
}

impl ClipSpan {
    pub(crate) fn len(&self) -> f64 {
        self.cut_end - self.cut_start
    }
}

/// What the segmenter decided about a stretch of speech.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cut {
    Clip(ClipSpan),
    Drop {
        start: f64,
        end: f64,
        reason: DropReason,
    },
}

/// Online segmenter: regions go in (in order), cuts come out.
#[derive(Debug)]
pub(crate) struct Segmenter {
    group: Vec<(f64, f64)>,
    prev_end: f64,
    out: Vec<Cut>,
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter {
            group: Vec::new(),
            prev_end: f64::NEG_INFINITY,
            out: Vec::new(),
        }
    }
}

impl Segmenter {
    /// Cuts decided so far (taken).
    pub(crate) fn take(&mut self) -> Vec<Cut> {
        std::mem::take(&mut self.out)
    }

    /// The earliest time (seconds) a future cut may start at.
    pub(crate) fn earliest_needed(&self) -> Option<f64> {
        self.group.first().map(|g| g.0 - PAD_S)
    }

    /// A refined region `(start, end)` in seconds.
    pub(crate) fn push(&mut self, r: (f64, f64)) {
        if let (Some(first), Some(last)) = (self.group.first().copied(), self.group.last().copied())
        {
            let gap = r.0 - last.1;
            let span = last.1 - first.0;
            if gap >= LONG_PAUSE_S || (gap >= PHRASE_PAUSE_S && span >= TARGET_S) {
                let group = std::mem::take(&mut self.group);
                self.emit(&group, r.0, f64::INFINITY);
            }
        }
        self.group.push(r);
        self.split_until_fits();
    }

    /// The file ended at `end` seconds.
    pub(crate) fn finish(&mut self, end: f64) {
        let group = std::mem::take(&mut self.group);
        if !group.is_empty() {
            self.emit(&group, f64::INFINITY, end);
        }
    }

    fn split_until_fits(&mut self) {
        loop {
            let (Some(first), Some(last)) =
                (self.group.first().copied(), self.group.last().copied())
            else {
                return;
            };
            if last.1 - first.0 <= MAX_SPAN_S {
                return;
            }
            // Candidate cuts after group[i], prefix fitting; prefer long enough prefixes,
            // then the longest pause, then the latest.
            let mut best: Option<(bool, f64, usize)> = None;
            for i in 0..self.group.len() - 1 {
                let prefix = self.group[i].1 - first.0;
                if prefix > MAX_SPAN_S {
                    break;
                }
                let gap = self.group[i + 1].0 - self.group[i].1;
                let long_enough = prefix + 2.0 * PAD_S.min(gap / 2.0) >= MIN_CLIP_S;
                let key = (long_enough, gap, i);
                let better = match best {
                    None => true,
                    Some((le, g, _)) => (long_enough, gap) >= (le, g),
                };
                if better {
                    best = Some(key);
                }
            }
            match best {
                Some((_, _, i)) => {
                    let rest = self.group.split_off(i + 1);
                    let prefix = std::mem::replace(&mut self.group, rest);
                    let next = self.group.first().map(|g| g.0).unwrap_or(f64::INFINITY);
                    self.emit(&prefix, next, f64::INFINITY);
                }
                None => {
                    // The first region alone is longer than a clip may be: no pause to cut at.
                    let r = self.group.remove(0);
                    self.out.push(Cut::Drop {
                        start: r.0,
                        end: r.1,
                        reason: DropReason::TooLong { seconds: r.1 - r.0 },
                    });
                    self.prev_end = r.1;
                }
            }
        }
    }

    /// Emits `group` as one cut; `next_start` is where the next speech starts, `limit` the end
    /// of the file.
    fn emit(&mut self, group: &[(f64, f64)], next_start: f64, limit: f64) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            return;
        };
        let (s, e) = (first.0, last.1);
        let before = PAD_S.min((s - self.prev_end) / 2.0).max(0.0);
        let after = PAD_S.min((next_start - e) / 2.0).max(0.0);
        let span = ClipSpan {
            speech_start: s,
            speech_end: e,
            cut_start: (s - before).max(0.0),
            cut_end: (e + after).min(limit).max(e),
        };
        self.prev_end = e;
        if span.len() < MIN_CLIP_S {
            self.out.push(Cut::Drop {
                start: s,
                end: e,
                reason: DropReason::TooShort {
                    seconds: span.len(),
                },
            });
        } else {
            self.out.push(Cut::Clip(span));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(regions: &[(f64, f64)], end: f64) -> Vec<Cut> {
        let mut s = Segmenter::default();
        let mut out = Vec::new();
        for r in regions {
            s.push(*r);
            out.extend(s.take());
        }
        s.finish(end);
        out.extend(s.take());
        out
    }

    fn clips(cuts: &[Cut]) -> Vec<ClipSpan> {
        cuts.iter()
            .filter_map(|c| match c {
                Cut::Clip(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn long_pauses_cut_and_short_ones_join() {
        // Two phrases 0.2 s apart, then a 1 s pause, then one sentence.
        let cuts = run(&[(1.0, 2.5), (2.7, 4.0), (5.0, 7.0)], 9.0);
        let c = clips(&cuts);
        assert_eq!(c.len(), 2, "{cuts:?}");
        assert_eq!((c[0].speech_start, c[0].speech_end), (1.0, 4.0));
        assert_eq!((c[0].cut_start, c[0].cut_end), (1.0 - PAD_S, 4.0 + PAD_S));
        assert_eq!((c[1].speech_start, c[1].speech_end), (5.0, 7.0));
    }

    #[test]
    fn pads_never_take_more_than_half_a_pause() {
        let c = clips(&run(&[(0.05, 2.0), (2.8, 4.0)], 4.1));
        assert_eq!(c[0].cut_start, 0.0);
        assert!((c[0].cut_end - 2.15).abs() < 1e-9);
        assert!((c[1].cut_start - 2.65).abs() < 1e-9);
        assert!((c[1].cut_end - 4.1).abs() < 1e-9);
    }

    #[test]
    fn running_speech_is_split_at_its_longest_pause_and_every_clip_fits() {
        // 2 s phrases with 0.2 s pauses, one 0.5 s pause at 9 s: 25 s in all.
        let mut regions = Vec::new();
        let mut t = 0.5;
        while t < 25.0 {
            regions.push((t, t + 2.0));
            t += if (8.0..9.0).contains(&(t + 2.0)) {
                2.5
            } else {
                2.2
            };
        }
        let cuts = run(&regions, 30.0);
        let c = clips(&cuts);
        assert!(c.len() >= 2);
        for clip in &c {
            assert!(
                clip.len() <= MAX_CLIP_S && clip.len() >= MIN_CLIP_S,
                "{clip:?}"
            );
        }
        // Every region ends up in exactly one clip.
        let covered: usize = regions
            .iter()
            .filter(|r| {
                c.iter()
                    .any(|k| k.speech_start <= r.0 && r.1 <= k.speech_end)
            })
            .count();
        assert_eq!(covered, regions.len());
    }

    #[test]
    fn too_short_and_too_long_are_dropped_with_reasons() {
        let cuts = run(&[(1.0, 1.4), (5.0, 25.0)], 30.0);
        assert!(
            matches!(
                cuts[0],
                Cut::Drop {
                    reason: DropReason::TooShort { .. },
                    ..
                }
            ),
            "{cuts:?}"
        );
        assert!(
            matches!(
                cuts[1],
                Cut::Drop {
                    reason: DropReason::TooLong { .. },
                    ..
                }
            ),
            "{cuts:?}"
        );
        assert_eq!(cuts.len(), 2);
    }
}
