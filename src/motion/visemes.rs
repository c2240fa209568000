//! Lip layer: viseme weights with coarticulation, and `mouth_open` from viseme open-ness and a
//! loudness envelope of the chunk's PCM.
//!
//! Each phoneme's viseme ramps in [`ANTICIPATION`] before its start (reaching full weight
//! [`ATTACK_HOLD`] after it), holds, and releases from [`RELEASE_LEAD`] before its end to
//! [`RELEASE`] after it; neighbours overlap and are blended (per-viseme max, normalised so the
//! weights sum to 1 with `sil` taking the rest). All ramps are smoothsteps, so weights are
//! continuous with a bounded slope: no popping at any frame rate.

use crate::voice::{SpeechChunk, Viseme};

use super::curves::{ramp, smoothstep};

/// A viseme starts to form this long before its phoneme starts (seconds).
pub const ANTICIPATION: f64 = 0.05;
/// ... and is fully formed this long after the phoneme start.
pub const ATTACK_HOLD: f64 = 0.02;
/// A viseme starts to release this long before its phoneme ends.
pub const RELEASE_LEAD: f64 = 0.02;
/// ... and is gone this long after the phoneme end.
pub const RELEASE: f64 = 0.06;
/// Loudness envelope frame rate (Hz); RMS over a window of two hops.
pub const ENVELOPE_HZ: f64 = 100.0;
/// Stressed syllables closer than this to the previous nod do not nod again (seconds).
const STRESS_MIN_GAP: f64 = 0.3;

/// How far each viseme opens the mouth, `[0, 1]`, in [`Viseme::ALL`] order.
pub const VISEME_OPENNESS: [f32; 15] = [
    0.0,  // sil
    0.0,  // PP
    0.12, // FF
    0.3,  // TH
    0.35, // DD
    0.4,  // kk
    0.35, // CH
    0.2,  // SS
    0.3,  // nn
    0.4,  // RR
    1.0,  // aa
    0.7,  // E
    0.5,  // ih
    0.8,  // oh
    0.45, // ou
];

#[derive(Debug, Clone)]
struct Ph {
    start: f64,
    end: f64,
    viseme: Viseme,
}

/// One scheduled speech chunk, reduced to what the lips and head need (absolute media times).
#[derive(Debug, Clone)]
pub(crate) struct SpeechTrack {
    pub(crate) start: f64,
    /// End of audio or of the last phoneme, whichever is later.
    pub(crate) end: f64,
    /// Sorted by start; durations forced positive.
    phonemes: Vec<Ph>,
    /// Running max of phoneme ends (for binary search over overlapping phonemes).
    max_end: Vec<f64>,
    /// Absolute times of stressed syllables (thinned by `STRESS_MIN_GAP`).
    pub(crate) stresses: Vec<f64>,
    /// Normalised loudness `[0, 1]` at `ENVELOPE_HZ`, frame `i` centred at `start + i / ENVELOPE_HZ`.
    envelope: Vec<f32>,
}

impl SpeechTrack {
    pub(crate) fn new(start: f64, chunk: &SpeechChunk) -> SpeechTrack {
        let mut phonemes: Vec<Ph> = chunk
            .phonemes
            .iter()
            .filter(|p| p.start.is_finite() && p.end.is_finite())
            .map(|p| {
                let s = start + f64::from(p.start);
                let e = (start + f64::from(p.end)).max(s + 0.01);
                Ph {
                    start: s,
                    end: e,
                    viseme: p.viseme,
                }
            })
            .collect();
        phonemes.sort_by(|a, b| a.start.total_cmp(&b.start));
        let mut max_end = Vec::with_capacity(phonemes.len());
        let mut m = f64::NEG_INFINITY;
        for p in &phonemes {
            m = m.max(p.end);
            max_end.push(m);
        }
        let mut stresses = Vec::new();
        let mut stressed: Vec<f64> = chunk
            .phonemes
            .iter()
            .filter(|p| p.stressed && p.viseme != Viseme::Sil && p.start.is_finite())
            .map(|p| start + f64::from(p.start))
            .collect();
        stressed.sort_by(f64::total_cmp);
        for s in stressed {
            if stresses
                .last()
                .is_none_or(|&l: &f64| s - l >= STRESS_MIN_GAP)
            {
                stresses.push(s);
            }
        }
        let envelope = envelope(chunk);
        let audio_end = start + chunk.duration_secs();
        let end = audio_end.max(m).max(start);
        SpeechTrack {
            start,
            end,
            phonemes,
            max_end,
            stresses,
            envelope,
        }
    }

    /// Stops the track at `t` (an interrupted sentence): later phonemes, stresses and
    /// loudness are dropped, so the mouth closes with the faded-out audio.
    pub(crate) fn truncate(&mut self, t: f64) {
        if t >= self.end {
            return;
        }
        let keep = self.phonemes.partition_point(|p| p.start < t);
        self.phonemes.truncate(keep);
        for p in &mut self.phonemes {
            p.end = p.end.min(t.max(p.start + 0.01));
        }
        self.max_end.clear();
        let mut m = f64::NEG_INFINITY;
        for p in &self.phonemes {
            m = m.max(p.end);
            self.max_end.push(m);
        }
        self.stresses.retain(|s| *s < t);
        let frames = ((t - self.start).max(0.0) * ENVELOPE_HZ).ceil() as usize;
        self.envelope.truncate(frames);
        self.end = t.max(self.start);
    }

    /// Loudness `[0, 1]` at `t`, linear between envelope frames; `None` when the chunk had no audio.
    fn loudness(&self, t: f64) -> Option<f32> {
        if self.envelope.is_empty() {
            return None;
        }
        let x = (t - self.start) * ENVELOPE_HZ;
        if x <= -1.0 || x >= self.envelope.len() as f64 {
            return Some(0.0);
        }
        // Frames outside the chunk are silent, so the envelope ramps to 0 over one hop at both ends.
        let at = |i: i64| -> f32 {
            if i < 0 || i as usize >= self.envelope.len() {
                0.0
            } else {
                self.envelope[i as usize]
            }
        };
        let i = x.floor() as i64;
        let f = (x - i as f64) as f32;
        Some(at(i) * (1.0 - f) + at(i + 1) * f)
    }

    /// Adds this track's raw viseme activations at `t` into `act` (per-viseme max).
    fn activations(&self, t: f64, act: &mut [f32; 15]) {
        // Phonemes that can be active: start - ANTICIPATION <= t and end + RELEASE >= t.
        let hi = self
            .phonemes
            .partition_point(|p| p.start - ANTICIPATION <= t);
        let lo = self.max_end.partition_point(|&e| e + RELEASE < t);
        for p in self.phonemes.get(lo..hi).unwrap_or(&[]) {
            let a = activation(p.start, p.end, t) as f32;
            let slot = &mut act[p.viseme.index()];
            if a > *slot {
                *slot = a;
            }
        }
    }
}

/// Raw activation of one phoneme at `t`: a smooth trapezoid.
fn activation(start: f64, end: f64, t: f64) -> f64 {
    let on = ramp(t, start - ANTICIPATION, start + ATTACK_HOLD);
    let off = 1.0 - ramp(t, end - RELEASE_LEAD, end + RELEASE);
    on * off
}

/// RMS loudness of `chunk.pcm` at [`ENVELOPE_HZ`], normalised by the chunk's 90th-percentile
/// frame and compressed (`^0.6`) into `[0, 1]`. Computed once per chunk.
fn envelope(chunk: &SpeechChunk) -> Vec<f32> {
    if chunk.sample_rate == 0 || chunk.pcm.is_empty() {
        return Vec::new();
    }
    let hop = (f64::from(chunk.sample_rate) / ENVELOPE_HZ)
        .round()
        .max(1.0) as usize;
    let n = chunk.pcm.len().div_ceil(hop);
    let mut rms: Vec<f32> = (0..n)
        .map(|i| {
            let centre = i * hop;
            let lo = centre.saturating_sub(hop);
            let hi = (centre + hop).min(chunk.pcm.len());
            let s = &chunk.pcm[lo..hi];
            if s.is_empty() {
                return 0.0;
            }
            (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt()
        })
        .collect();
    let mut sorted: Vec<f32> = rms.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    let p90 = sorted.get(sorted.len() * 9 / 10).copied().unwrap_or(0.0);
    let norm = p90.max(1e-3);
    let floor = 0.02 * norm; // below 2 % of the typical level counts as silence
    for x in &mut rms {
        let v = if x.is_finite() {
            ((*x - floor) / (norm - floor)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        *x = v.powf(0.6);
    }
    rms
}

/// The lip layer's output at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lips {
    pub(crate) visemes: [f32; 15],
    pub(crate) mouth_open: f32,
}

/// Blends all speech tracks at `t`.
pub(crate) fn lips_at<'a>(tracks: impl Iterator<Item = &'a SpeechTrack>, t: f64) -> Lips {
    let mut act = [0.0f32; 15];
    // Loudness of the chunks that have phoneme timings / of those that have none.
    let mut loud_timed: f32 = 0.0;
    let mut have_timed_audio = false;
    let mut loud_untimed: f32 = 0.0;
    for tr in tracks {
        if t < tr.start - ANTICIPATION - 0.01 || t > tr.end + RELEASE + 0.01 {
            continue;
        }
        if tr.phonemes.is_empty() {
            loud_untimed = loud_untimed.max(tr.loudness(t).unwrap_or(0.0));
        } else {
            tr.activations(t, &mut act);
            if let Some(l) = tr.loudness(t) {
                have_timed_audio = true;
                loud_timed = loud_timed.max(l);
            }
        }
    }
    // Chunks without timings still move the lips: an open vowel following the loudness.
    if loud_untimed > 0.0 {
        let a = &mut act[Viseme::Aa.index()];
        *a = a.max(0.7 * loud_untimed);
    }
    let total: f32 = act.iter().sum();
    let mut visemes = act;
    if total > 1.0 {
        for w in &mut visemes {
            *w /= total;
        }
    }
    let speech: f32 = visemes[1..].iter().sum::<f32>().clamp(0.0, 1.0);
    visemes[Viseme::Sil.index()] = (1.0 - speech).clamp(0.0, 1.0);

    let openness: f32 = visemes
        .iter()
        .zip(VISEME_OPENNESS)
        .map(|(w, o)| w * o)
        .sum();
    let loud = if have_timed_audio { loud_timed } else { 0.7 };
    // Lips: viseme open-ness scaled by loudness; jaw: loudness alone while speaking (so
    // consonants in loud speech do not snap shut); combined as a soft OR.
    let lips = openness * (0.5 + 0.5 * loud);
    let jaw = speech * loud * 0.3;
    let mut mouth_open = 1.0 - (1.0 - lips.clamp(0.0, 1.0)) * (1.0 - jaw.clamp(0.0, 1.0));
    if loud_untimed > 0.0 {
        mouth_open = mouth_open.max(smoothstep(f64::from(loud_untimed)) as f32 * 0.8);
    }
    Lips {
        visemes,
        mouth_open: mouth_open.clamp(0.0, 1.0),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::voice::PhonemeTiming;

    /// A synthetic chunk: `segments` of (viseme, start, end, stressed); the PCM is a 200 Hz
    /// tone during non-`sil` segments and silence elsewhere, at 16 kHz.
    pub(crate) fn chunk(segments: &[(Viseme, f32, f32, bool)], total: f32) -> SpeechChunk {
        let sr = 16_000u32;
        let n = (total * sr as f32) as usize;
        let mut pcm = vec![0.0f32; n];
        for &(v, s, e, _) in segments {
            if v == Viseme::Sil {
                continue;
            }
            let (a, b) = ((s * sr as f32) as usize, ((e * sr as f32) as usize).min(n));
            for (i, x) in pcm[a..b].iter_mut().enumerate() {
                *x = 0.5 * (std::f32::consts::TAU * 200.0 * i as f32 / sr as f32).sin();
            }
        }
        SpeechChunk {
            pcm,
            sample_rate: sr,
            phonemes: segments
                .iter()
                .map(|&(viseme, start, end, stressed)| PhonemeTiming {
                    phoneme: viseme.name().to_string(),
                    viseme,
                    start,
                    end,
                    stressed,
                })
                .collect(),
            words: Vec::new(),
        }
    }

    /// "ma-pa-ta" with a pause: syllables of consonant + vowel.
    pub(crate) fn sample_segments() -> Vec<(Viseme, f32, f32, bool)> {
        use Viseme::*;
        vec![
            (Nn, 0.30, 0.36, false),
            (Aa, 0.36, 0.56, true),
            (PP, 0.56, 0.62, false),
            (Aa, 0.62, 0.80, false),
            (Sil, 0.80, 1.30, false),
            (DD, 1.30, 1.35, false),
            (Oh, 1.35, 1.60, true),
            (Kk, 1.60, 1.65, false),
            (E, 1.65, 1.70, false),
            (Ih, 1.70, 1.74, false),
            (SS, 1.74, 1.80, false),
            (Ou, 1.80, 2.00, false),
        ]
    }

    fn track() -> SpeechTrack {
        SpeechTrack::new(10.0, &chunk(&sample_segments(), 2.4))
    }

    #[test]
    fn silence_is_sil_and_closed() {
        let tr = track();
        for t in [0.0, 9.9, 10.1, 11.2, 12.2, 12.4, 20.0] {
            let l = lips_at(std::iter::once(&tr), t);
            assert!(l.visemes[0] > 0.999, "t={t} {:?}", l.visemes);
            assert!(l.mouth_open < 1e-4, "t={t} {}", l.mouth_open);
        }
    }

    #[test]
    fn weights_sum_to_one_and_vowel_dominates() {
        let tr = track();
        let l = lips_at(std::iter::once(&tr), 10.46);
        assert!((l.visemes.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(l.visemes[Viseme::Aa.index()] > 0.95);
        let l = lips_at(std::iter::once(&tr), 11.5);
        assert!(l.visemes[Viseme::Oh.index()] > 0.95);
        assert!((l.visemes.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn viseme_anticipates_the_phoneme() {
        let tr = track();
        // 30 ms before the first phoneme the mouth is already shaping the `nn`.
        let l = lips_at(std::iter::once(&tr), 10.27);
        assert!(l.visemes[Viseme::Nn.index()] > 0.05, "{:?}", l.visemes);
        assert!(l.visemes[Viseme::Nn.index()] < 0.9);
    }

    #[test]
    fn no_popping_at_1khz_or_30fps() {
        let tr = track();
        // Bound: at most 0.05 weight per millisecond (a full 0 → 1 change takes ≥ 20 ms).
        let per_ms = 0.05f32;
        let mut prev = lips_at(std::iter::once(&tr), 9.9);
        let mut worst = 0.0f32;
        for i in 1..=2600 {
            let t = 9.9 + i as f64 * 0.001;
            let cur = lips_at(std::iter::once(&tr), t);
            for v in 0..15 {
                worst = worst.max((cur.visemes[v] - prev.visemes[v]).abs());
            }
            worst = worst.max((cur.mouth_open - prev.mouth_open).abs());
            prev = cur;
        }
        assert!(worst <= per_ms, "max change per ms {worst}");
        // At 30 fps every transition spans at least two frames: no viseme swings more than
        // 0.75 between consecutive frames.
        let mut prev = lips_at(std::iter::once(&tr), 9.9);
        for i in 1..80 {
            let t = 9.9 + i as f64 / 30.0;
            let cur = lips_at(std::iter::once(&tr), t);
            for v in 0..15 {
                let d = (cur.visemes[v] - prev.visemes[v]).abs();
                assert!(d <= 0.75, "frame {i} viseme {v} jumped {d}");
            }
            prev = cur;
        }
    }

    #[test]
    fn mouth_open_during_speech_closed_in_pauses() {
        let tr = track();
        let fps = 30.0;
        let frame = 1.0 / fps;
        // Voiced stretches (chunk-relative) and pauses, from `sample_segments`.
        let voiced = [(0.30, 0.80), (1.30, 2.00)];
        let pauses = [(0.0, 0.30), (0.80, 1.30), (2.00, 2.4)];
        for i in 0..(2.4 * fps) as i32 {
            let rel = i as f64 * frame;
            let m = lips_at(std::iter::once(&tr), 10.0 + rel).mouth_open;
            // Give ±2 frames around every boundary.
            let inside = |(a, b): (f64, f64)| rel >= a + 2.0 * frame && rel <= b - 2.0 * frame;
            if voiced.iter().copied().any(inside) {
                assert!(m > 0.15, "t={rel:.3}: mouth_open {m} during speech");
            }
            if pauses.iter().copied().any(inside) {
                assert!(m < 0.05, "t={rel:.3}: mouth_open {m} in a pause");
            }
        }
        // Closed within 100 ms after the speech ends.
        assert!(lips_at(std::iter::once(&tr), 12.1).mouth_open < 0.05);
        assert!(lips_at(std::iter::once(&tr), 10.9).mouth_open < 0.05);
    }

    /// Dense speech: 300 phonemes of 30–120 ms with random visemes, consonants and vowels
    /// alternating, a 400 ms pause every 40 phonemes.
    fn dense_segments() -> Vec<(Viseme, f32, f32, bool)> {
        let mut d = crate::motion::curves::Dice::new(99, 5, 0);
        let consonants = [
            Viseme::PP,
            Viseme::FF,
            Viseme::TH,
            Viseme::DD,
            Viseme::Kk,
            Viseme::CH,
            Viseme::SS,
            Viseme::Nn,
            Viseme::RR,
        ];
        let vowels = [Viseme::Aa, Viseme::E, Viseme::Ih, Viseme::Oh, Viseme::Ou];
        let mut t = 0.2f32;
        let mut out = Vec::new();
        for i in 0..300 {
            if i % 40 == 39 {
                out.push((Viseme::Sil, t, t + 0.4, false));
                t += 0.4;
                continue;
            }
            let (v, dur) = if i % 2 == 0 {
                (consonants[(d.unit() * 9.0) as usize], d.range(0.03, 0.08))
            } else {
                (vowels[(d.unit() * 5.0) as usize], d.range(0.06, 0.12))
            };
            out.push((v, t, t + dur as f32, d.unit() < 0.2));
            t += dur as f32;
        }
        out
    }

    #[test]
    fn dense_speech_no_popping_and_mostly_open() {
        let segs = dense_segments();
        let total = segs.last().map_or(1.0, |s| s.2) + 0.3;
        let tr = SpeechTrack::new(0.0, &chunk(&segs, total));
        let mut prev = lips_at(std::iter::once(&tr), 0.0);
        let mut worst = 0.0f32;
        for i in 1..(total * 1000.0) as i32 {
            let cur = lips_at(std::iter::once(&tr), i as f64 / 1000.0);
            for v in 0..15 {
                worst = worst.max((cur.visemes[v] - prev.visemes[v]).abs());
            }
            worst = worst.max((cur.mouth_open - prev.mouth_open).abs());
            prev = cur;
        }
        assert!(worst <= 0.05, "max change per ms {worst}");
        // At 30 fps, inside voiced runs (2 frames from any pause), the mouth is open.
        let (mut n, mut open, mut sum) = (0, 0, 0.0);
        for i in 0..(total * 30.0) as i32 {
            let t = i as f32 / 30.0;
            let voiced = segs
                .iter()
                .any(|s| s.0 != Viseme::Sil && t >= s.1 && t < s.2);
            let near_pause = segs
                .iter()
                .any(|s| s.0 == Viseme::Sil && t > s.1 - 2.0 / 30.0 && t < s.2 + 2.0 / 30.0)
                || t < segs[0].1 + 2.0 / 30.0
                || t > segs.last().map_or(0.0, |s| s.2) - 2.0 / 30.0;
            if voiced && !near_pause {
                let m = lips_at(std::iter::once(&tr), f64::from(t)).mouth_open;
                n += 1;
                sum += m;
                if m > 0.15 {
                    open += 1;
                }
            }
        }
        let share = open as f32 / n as f32;
        assert!(share > 0.85, "open in {share:.2} of speech frames");
        assert!(sum / n as f32 > 0.3, "mean mouth_open {}", sum / n as f32);
    }

    #[test]
    fn chunk_without_timings_follows_loudness() {
        let mut c = chunk(&sample_segments(), 2.4);
        c.phonemes.clear();
        let tr = SpeechTrack::new(0.0, &c);
        assert!(lips_at(std::iter::once(&tr), 0.45).mouth_open > 0.3);
        assert!(lips_at(std::iter::once(&tr), 1.05).mouth_open < 0.05);
    }

    #[test]
    fn envelope_is_normalised() {
        let c = chunk(&sample_segments(), 2.4);
        let e = envelope(&c);
        assert_eq!(e.len(), 240);
        assert!(e.iter().all(|x| (0.0..=1.0).contains(x)));
        assert!(e[45] > 0.9 && e[100] == 0.0);
    }
}
