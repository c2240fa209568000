//! F0 tracking (YIN, de Cheveigné & Kawahara 2002) at 16 kHz, and contour habits.

use super::dsp::{Biquad, dot, median, quantile, semitones, sorted};

/// Analysis rate of the F0 tracker.
pub(crate) const RATE: u32 = 16_000;
/// Frame hop: 5 ms.
pub(crate) const HOP: usize = 80;
/// Integration window: 25 ms.
const WIN: usize = 160;
/// Lowest and highest F0 searched (Hz).
pub(crate) const F0_MIN: f32 = 50.0;
pub(crate) const F0_MAX: f32 = 550.0;
/// YIN absolute threshold on the cumulative-mean-normalized difference.
const THRESHOLD: f32 = 0.15;
/// A dip is taken for the period when it is this close to the deepest dip.
const DIP_TOLERANCE: f32 = 0.02;
/// Frames whose best normalized difference stays above this are unvoiced.
const VOICED_MAX: f32 = 0.3;
/// Frames this far (dB) below the loud frames (99th percentile) are silence.
const SILENCE_DB: f32 = 45.0;
/// Absolute silence floor (dBFS of the frame's mean square).
const FLOOR_DB: f32 = -75.0;
/// The tracker looks at the signal below this (Hz).
const LOWPASS_HZ: f64 = 1000.0;
const HIGHPASS_HZ: f64 = 40.0;
/// Frames further than this (semitones) from the F0 around them, and not an octave off,
/// are unvoiced.
const MAX_JUMP_ST: f32 = 7.0;
/// Voiced runs shorter than this (frames) are dropped.
const MIN_RUN: usize = 6;

/// An F0 contour: one value per [`HOP`] at [`RATE`] (frame `i` centred at `i * HOP`), 0 where
/// unvoiced.
#[derive(Debug, Clone, Default)]
pub(crate) struct F0Track {
    pub f0: Vec<f32>,
}

impl F0Track {
    /// Seconds between frames.
    pub(crate) const HOP_S: f64 = HOP as f64 / RATE as f64;

    /// F0 at `t` seconds: linear between voiced frames, `None` where the nearest frame is
    /// unvoiced.
    pub(crate) fn at(&self, t: f64) -> Option<f32> {
        if t < 0.0 {
            return None;
        }
        let pos = t / Self::HOP_S;
        let i = pos.round() as usize;
        let here = *self.f0.get(i)?;
        if here <= 0.0 {
            return None;
        }
        let lo = pos.floor() as usize;
        let (a, b) = (
            self.f0.get(lo).copied().unwrap_or(0.0),
            self.f0.get(lo + 1).copied().unwrap_or(0.0),
        );
        if a > 0.0 && b > 0.0 {
            let w = (pos - lo as f64) as f32;
            Some(a * (1.0 - w) + b * w)
        } else {
            Some(here)
        }
    }

    /// Voiced frames as `(seconds, Hz)`.
    pub(crate) fn voiced(&self) -> impl Iterator<Item = (f64, f32)> + '_ {
        self.f0
            .iter()
            .enumerate()
            .filter(|(_, f)| **f > 0.0)
            .map(|(i, f)| (i as f64 * Self::HOP_S, *f))
    }

    /// Runs of voiced frames, `[start, end)` frame indices.
    pub(crate) fn runs(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &f) in self.f0.iter().chain(std::iter::once(&0.0)).enumerate() {
            match (f > 0.0, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        out
    }
}

/// Tracks F0 in `x` (mono at [`RATE`]).
pub(crate) fn track(x: &[f32]) -> F0Track {
    let (raw, _, _) = raw_track(x);
    F0Track { f0: clean(raw) }
}

/// Per frame: raw F0 (0 = unvoiced), best normalized difference, level (dB).
pub(crate) fn raw_track(x: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // Low-pass first: the difference function then follows the strong low harmonics, not
    // formant ringing that decorrelates as soon as F0 glides (Mandarin tones do, fast).
    // High-pass too: DC steps and drifts (the built-in voice has some) look like very low
    // periods.
    let lp = Biquad::lowpass(LOWPASS_HZ, RATE);
    let hp = Biquad::highpass(HIGHPASS_HZ, RATE);
    let x = &lp.run(&lp.run(&hp.run(x)))[..];
    let tau_min = (RATE as f32 / F0_MAX).floor() as usize;
    let tau_max = (RATE as f32 / F0_MIN).ceil() as usize;
    let frames = x.len() / HOP + 1;
    // Frame i: window a = x[i*HOP - WIN/2 ..][..WIN], compared with a shifted by 1..=tau_max.
    let pad_l = WIN / 2;
    let mut xp = vec![0.0f32; pad_l + x.len() + WIN + tau_max + 1];
    xp[pad_l..pad_l + x.len()].copy_from_slice(x);
    // Prefix sums of squares (f64: differences of large sums).
    let mut sq = Vec::with_capacity(xp.len() + 1);
    sq.push(0.0f64);
    let mut acc = 0.0f64;
    for &s in &xp {
        acc += f64::from(s) * f64::from(s);
        sq.push(acc);
    }
    let energy = |from: usize, len: usize| (sq[from + len] - sq[from]) as f32;
    let mut db = Vec::with_capacity(frames);
    let mut raw = vec![0.0f32; frames];
    let mut best_dn = vec![1.0f32; frames];
    let mut d = vec![0.0f32; tau_max + 1];
    let mut dn = vec![1.0f32; tau_max + 1];
    for (i, (out, bd)) in raw.iter_mut().zip(best_dn.iter_mut()).enumerate() {
        let start = i * HOP;
        let e0 = energy(start, WIN);
        let frame_db = 10.0 * (e0 / WIN as f32 + 1e-12).log10();
        db.push(frame_db);
        if frame_db < FLOOR_DB {
            continue;
        }
        let a = &xp[start..start + WIN];
        for tau in 1..=tau_max {
            let b = &xp[start + tau..start + tau + WIN];
            d[tau] = (e0 + energy(start + tau, WIN) - 2.0 * dot(a, b)).max(0.0);
        }
        let mut cum = 0.0f32;
        for tau in 1..=tau_max {
            cum += d[tau];
            dn[tau] = if cum > 0.0 {
                d[tau] * tau as f32 / cum
            } else {
                1.0
            };
        }
        // Dips (local minima) of the normalized difference. YIN takes the first dip under
        // the threshold; a first dip much shallower than the deepest is a formant ringing at
        // a fraction of the period (F1 near 3·F0 after the low-pass), not the period. So:
        // the first dip within DIP_TOLERANCE of the deepest one.
        let deepest = (tau_min..tau_max)
            .filter(|&t| dn[t] <= dn[t - 1] && dn[t] < dn[t + 1])
            .map(|t| dn[t])
            .fold(f32::MAX, f32::min);
        if deepest > VOICED_MAX {
            *bd = deepest.min(1.0);
            continue;
        }
        // Weakly periodic frames (no dip under the threshold) take the deepest dip.
        let limit = if deepest < THRESHOLD {
            THRESHOLD
        } else {
            deepest
        };
        let Some(tau) = (tau_min..tau_max).find(|&t| {
            dn[t] <= dn[t - 1]
                && dn[t] < dn[t + 1]
                && dn[t] <= limit
                && dn[t] <= deepest + DIP_TOLERANCE
        }) else {
            continue;
        };
        *bd = dn[tau];
        // A minimum at the end of the lag range is a slope (a voice bar, a low hum), not a
        // period.
        if tau + 1 >= tau_max {
            continue;
        }
        // Parabolic refinement of the minimum.
        let refined = if tau > 1 && tau < tau_max {
            let (l, c, r) = (dn[tau - 1], dn[tau], dn[tau + 1]);
            let den = l - 2.0 * c + r;
            if den > 1e-9 {
                tau as f32 + (0.5 * (l - r) / den).clamp(-0.5, 0.5)
            } else {
                tau as f32
            }
        } else {
            tau as f32
        };
        *out = RATE as f32 / refined;
    }
    // Silence gate relative to the loud frames.
    let loud = quantile(&sorted(&db), 0.99);
    for (f, &e) in raw.iter_mut().zip(&db) {
        if e < loud - SILENCE_DB {
            *f = 0.0;
        }
    }
    (raw, best_dn, db)
}

/// Octave-jump repair, median smoothing, short-run removal, gap filling.
fn clean(mut f0: Vec<f32>) -> Vec<f32> {
    let n = f0.len();
    // Octave slips and strays against the local median (±125 ms).
    let snapshot = f0.clone();
    for i in 0..n {
        if f0[i] <= 0.0 {
            continue;
        }
        let lo = i.saturating_sub(25);
        let hi = (i + 26).min(n);
        let around: Vec<f32> = snapshot[lo..hi]
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .collect();
        if around.len() < 5 {
            continue;
        }
        let m = median(&around);
        let r = f0[i] / m;
        if (1.8..2.25).contains(&r) {
            f0[i] /= 2.0;
        } else if (0.44..0.56).contains(&r) {
            f0[i] *= 2.0;
        } else if semitones(m, f0[i]).abs() > MAX_JUMP_ST {
            // Not an octave slip: something else periodic (formant ringing after the last
            // glottal pulse, a hum) took over.
            f0[i] = 0.0;
        }
    }
    // 5-point median over voiced neighbours.
    let snapshot = f0.clone();
    for i in 0..n {
        if snapshot[i] <= 0.0 {
            continue;
        }
        let lo = i.saturating_sub(2);
        let hi = (i + 3).min(n);
        let around: Vec<f32> = snapshot[lo..hi]
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .collect();
        f0[i] = median(&around);
    }
    // Fill gaps of up to 2 frames between close values.
    let mut i = 1;
    while i < n {
        if f0[i] <= 0.0 && f0[i - 1] > 0.0 {
            let gap_end = (i..n).find(|&k| f0[k] > 0.0);
            if let Some(e) = gap_end
                && e - i <= 2
                && semitones(f0[i - 1], f0[e]).abs() < 3.0
            {
                let (a, b) = (f0[i - 1], f0[e]);
                for k in i..e {
                    let w = (k - i + 1) as f32 / (e - i + 1) as f32;
                    f0[k] = a * (1.0 - w) + b * w;
                }
                i = e;
            }
        }
        i += 1;
    }
    // Drop short voiced runs.
    let track = F0Track { f0 };
    let mut f0 = track.f0.clone();
    for (a, b) in track.runs() {
        if b - a < MIN_RUN {
            f0[a..b].iter_mut().for_each(|v| *v = 0.0);
        }
    }
    f0
}

/// Contour habits of one track: per phrase (voiced stretches joined across pauses shorter
/// than [`PHRASE_GAP_S`]), the F0 slope (semitones per second, least squares) and the final
/// rise (mean semitones of the last [`FINAL_S`] of voicing minus the [`BEFORE_FINAL_S`]
/// before it). Returns `(slope, rise, phrase seconds)` per phrase long enough to tell.
pub(crate) fn contour_habits(track: &F0Track) -> Vec<(f32, f32, f32)> {
    const PHRASE_GAP_S: f64 = 0.3;
    const MIN_PHRASE_VOICED_S: f64 = 0.5;
    const FINAL_S: f64 = 0.12;
    const BEFORE_FINAL_S: f64 = 0.4;
    let voiced: Vec<(f64, f32)> = track.voiced().collect();
    let mut phrases: Vec<&[(f64, f32)]> = Vec::new();
    let mut start = 0;
    for k in 1..=voiced.len() {
        if k == voiced.len() || voiced[k].0 - voiced[k - 1].0 > PHRASE_GAP_S {
            phrases.push(&voiced[start..k]);
            start = k;
        }
    }
    let mut out = Vec::new();
    for p in phrases {
        if (p.len() as f64) * F0Track::HOP_S < MIN_PHRASE_VOICED_S {
            continue;
        }
        let reference = p[0].1;
        let pts: Vec<(f64, f64)> = p
            .iter()
            .map(|&(t, f)| (t, f64::from(semitones(reference, f))))
            .collect();
        let n = pts.len() as f64;
        let mt = pts.iter().map(|q| q.0).sum::<f64>() / n;
        let ms = pts.iter().map(|q| q.1).sum::<f64>() / n;
        let sxx: f64 = pts.iter().map(|q| (q.0 - mt).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|q| (q.0 - mt) * (q.1 - ms)).sum();
        if sxx <= 0.0 {
            continue;
        }
        let slope = sxy / sxx;
        let end = pts[pts.len() - 1].0;
        let mean_in = |from: f64, to: f64| {
            let v: Vec<f64> = pts
                .iter()
                .filter(|q| q.0 > from && q.0 <= to)
                .map(|q| q.1)
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let rise = match (
            mean_in(end - FINAL_S, end + 1e-9),
            mean_in(end - FINAL_S - BEFORE_FINAL_S, end - FINAL_S),
        ) {
            (Some(f), Some(b)) => f - b,
            _ => 0.0,
        };
        let secs = (end - pts[0].0) as f32;
        out.push((slope as f32, rise as f32, secs));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulses(f0: impl Fn(f32) -> f32, secs: f32) -> Vec<f32> {
        // A band-limited pulse train (sum of harmonics with 1/k roll-off).
        let n = (secs * RATE as f32) as usize;
        let mut phase = 0.0f32;
        (0..n)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                let f = f0(t);
                phase += f / RATE as f32;
                let mut s = 0.0;
                let mut k = 1;
                while (k as f32) * f < 4000.0 {
                    s += (2.0 * std::f32::consts::PI * k as f32 * phase).sin() / k as f32;
                    k += 1;
                }
                0.2 * s
            })
            .collect()
    }

    #[test]
    #[ignore]
    fn debug_dump() {
        let path = std::env::var("DUMP_WAV").unwrap_or_else(|_| "/tmp/timbre/zh_in.wav".into());
        let mut r = hound::WavReader::open(path).expect("wav");
        let x: Vec<f32> = r
            .samples::<i16>()
            .map(|s| f32::from(s.expect("s")) / 32768.0)
            .collect();
        let x16 = crate::voice::timbre::dsp::resample(&x, 48_000, RATE).expect("rs");
        let (raw, dn, db) = raw_track(&x16);
        let clean = track(&x16).f0;
        for i in 0..raw.len() {
            println!(
                "{:.3} raw {:.1} dn {:.3} db {:.1} clean {:.1}",
                i as f64 * F0Track::HOP_S,
                raw[i],
                dn[i],
                db[i],
                clean[i]
            );
        }
    }

    #[test]
    fn tracks_steady_and_gliding_tones() {
        for f in [80.0f32, 130.0, 220.0, 400.0] {
            let t = track(&pulses(|_| f, 1.0));
            let v: Vec<f32> = t.voiced().map(|p| p.1).collect();
            assert!(v.len() > 150, "{f} Hz: {} voiced frames", v.len());
            let m = median(&v);
            assert!((m / f - 1.0).abs() < 0.01, "{f} Hz measured {m}");
        }
        // A glide 150 → 300 Hz over 2 s: one octave up; slope 6 st/s.
        let t = track(&pulses(|t| 150.0 * 2f32.powf(t / 2.0), 2.0));
        let habits = contour_habits(&t);
        assert_eq!(habits.len(), 1, "{habits:?}");
        assert!((habits[0].0 - 6.0).abs() < 0.3, "{habits:?}");
        // Silence is unvoiced.
        let t = track(&vec![0.0; 16_000]);
        assert_eq!(t.voiced().count(), 0);
    }
}
