//! Speaking rate: syllable nuclei per second of speech (after de Jong & Wempe 2009).
//!
//! Intensity (dB) of the 150–3500 Hz band in 40 ms Hann frames every 10 ms; a nucleus is an
//! intensity peak above the silence threshold (25 dB below the 99th percentile), voiced, and
//! separated from the previous nucleus by a dip of at least 2 dB on both sides. Speech time is
//! the time above the silence threshold, counting pauses shorter than 250 ms as speech.

use super::dsp::{Biquad, quantile, sorted};
use super::pitch::{F0Track, RATE};

const WIN: usize = 640;
const HOP: usize = 160;
const SILENCE_DB: f32 = 25.0;
const MIN_DIP_DB: f32 = 2.0;
/// Pauses at least this long (s) are not speech time.
const PAUSE_S: f64 = 0.25;

/// Syllable nuclei and speech time of one clip.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Nuclei {
    pub count: usize,
    pub speech_secs: f64,
}

/// Counts syllable nuclei in `x` (mono at [`RATE`]).
pub(crate) fn nuclei(x: &[f32], track: &F0Track) -> Nuclei {
    if x.len() < WIN {
        return Nuclei::default();
    }
    let band = Biquad::lowpass(3500.0, RATE).run(&Biquad::highpass(150.0, RATE).run(x));
    let window: Vec<f32> = (0..WIN)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * n as f32 / WIN as f32).cos())
        .collect();
    let mut db = Vec::new();
    let mut start = 0;
    while start + WIN <= band.len() {
        let e: f32 = band[start..start + WIN]
            .iter()
            .zip(&window)
            .map(|(s, w)| (s * w) * (s * w))
            .sum::<f32>()
            / WIN as f32;
        db.push(10.0 * (e + 1e-12).log10());
        start += HOP;
    }
    // Light smoothing (3 frames).
    let smooth: Vec<f32> = (0..db.len())
        .map(|i| {
            let lo = i.saturating_sub(1);
            let hi = (i + 2).min(db.len());
            db[lo..hi].iter().sum::<f32>() / (hi - lo) as f32
        })
        .collect();
    let threshold = quantile(&sorted(&smooth), 0.99) - SILENCE_DB;
    let hop_s = HOP as f64 / f64::from(RATE);
    let centre = |i: usize| (i * HOP + WIN / 2) as f64 / f64::from(RATE);
    // Speech time: frames above the threshold, short pauses included.
    let mut speech_frames = 0usize;
    let mut pause = 0usize;
    let mut started = false;
    let pause_frames = (PAUSE_S / hop_s).ceil() as usize;
    for &v in &smooth {
        if v > threshold {
            if started && pause < pause_frames {
                speech_frames += pause;
            }
            speech_frames += 1;
            pause = 0;
            started = true;
        } else if started {
            pause += 1;
        }
    }
    // Peaks above the threshold.
    let peaks: Vec<usize> = (1..smooth.len().saturating_sub(1))
        .filter(|&i| {
            smooth[i] > threshold && smooth[i] >= smooth[i - 1] && smooth[i] > smooth[i + 1]
        })
        .collect();
    // Merge peaks not separated by a dip of MIN_DIP_DB on both sides.
    let mut kept: Vec<usize> = Vec::new();
    let mut current: Option<usize> = None;
    for &p in &peaks {
        match current {
            None => current = Some(p),
            Some(c) => {
                let dip = smooth[c..=p].iter().copied().fold(f32::MAX, f32::min);
                if smooth[c] - dip >= MIN_DIP_DB && smooth[p] - dip >= MIN_DIP_DB {
                    kept.push(c);
                    current = Some(p);
                } else if smooth[p] > smooth[c] {
                    current = Some(p);
                }
            }
        }
    }
    kept.extend(current);
    let voiced = |i: usize| {
        let t = centre(i);
        [-0.01, 0.0, 0.01].iter().any(|d| track.at(t + d).is_some())
    };
    Nuclei {
        count: kept.into_iter().filter(|&i| voiced(i)).count(),
        speech_secs: speech_frames as f64 * hop_s,
    }
}
