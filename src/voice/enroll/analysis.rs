//! File-level judgement from the VAD windows: noise floor and SNR, band limitation, music or
//! noise, long silences, and the file's verdict.

use super::report::{Background, Silence, Verdict};
use super::vad::{Region, THRESHOLD, WINDOW_S, WindowFeat};

/// A sample must last this long (seconds).
pub const MIN_FILE_S: f64 = 3.0;
/// Below this peak window level (dBFS) a file is silent.
const SILENT_DBFS: f64 = -60.0;
/// Less speech than this (seconds) is no speech.
const MIN_SPEECH_S: f64 = 1.0;
/// Sources below this rate are band-limited by construction.
const MIN_WIDEBAND_RATE: u32 = 16_000;
/// High band (4.5–8 kHz) relative level, 90th percentile over loud speech windows, below
/// which speech is telephone-band. Wideband speech measures about -10 to -25 dB.
const BAND_LIMITED_DB: f64 = -40.0;
/// Silences reported as long (seconds).
pub const LONG_SILENCE_S: f64 = 5.0;
/// Windows around speech not used for the noise floor.
const MARGIN_WINDOWS: usize = 3;
/// A window this far below the speech level or further is quiet, not background.
const BACKGROUND_BELOW_SPEECH_DB: f64 = 25.0;
/// Level above which a non-speech window is loud (dBFS).
const LOUD_DBFS: f64 = -50.0;
/// Median periodicity above which loud non-speech is music rather than noise.
const MUSIC_PERIODICITY: f64 = 0.5;

/// What the windows of one file say.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileStats {
    pub duration_s: f64,
    pub speech_s: f64,
    pub peak_db: Option<f64>,
    pub noise_db: Option<f64>,
    pub snr_db: Option<f64>,
    pub high_band_db: Option<f64>,
    pub loud_nonspeech_s: f64,
    pub nonspeech_s: f64,
    pub periodicity: Option<f64>,
    pub long_silences: Vec<Silence>,
}

fn power(db: f32) -> f64 {
    10f64.powf(f64::from(db) / 10.0)
}

fn percentile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let idx = ((values.len() - 1) as f64 * q).round() as usize;
    values.get(idx).copied()
}

/// Mean power (dBFS) of the windows `range` with speech probability ≥ threshold.
pub(crate) fn speech_level(feats: &[WindowFeat], range: std::ops::Range<usize>) -> Option<f64> {
    let (sum, n) = feats[range.start.min(feats.len())..range.end.min(feats.len())]
        .iter()
        .filter(|f| f.prob >= THRESHOLD)
        .fold((0.0, 0usize), |(s, n), f| (s + power(f.db), n + 1));
    (n > 0).then(|| 10.0 * (sum / n as f64).max(1e-12).log10())
}

impl FileStats {
    /// Measures `feats` given the speech `regions` (window indices, in order).
    pub(crate) fn measure(feats: &[WindowFeat], regions: &[Region], duration_s: f64) -> FileStats {
        let n = feats.len();
        let mut in_speech = vec![false; n];
        let mut near_speech = vec![false; n];
        for r in regions {
            for w in r.start.min(n)..r.end.min(n) {
                in_speech[w] = true;
            }
            for w in r.start.saturating_sub(MARGIN_WINDOWS).min(n)..(r.end + MARGIN_WINDOWS).min(n)
            {
                near_speech[w] = true;
            }
        }
        let speech_s = regions
            .iter()
            .fold(0.0, |s, r| s + (r.end - r.start) as f64 * WINDOW_S);
        let peak_db = feats
            .iter()
            .map(|f| f64::from(f.db))
            .fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))));
        // Speech level: mean power of the speech windows.
        let (sum, cnt) = feats
            .iter()
            .zip(&in_speech)
            .filter(|(f, s)| **s && f.prob >= THRESHOLD)
            .fold((0.0, 0usize), |(s, c), (f, _)| (s + power(f.db), c + 1));
        let speech_db = (cnt > 0).then(|| 10.0 * (sum / cnt as f64).max(1e-12).log10());
        // Noise floor: median level away from speech; with too few such windows, the 5th
        // percentile of everything.
        let mut quiet: Vec<f64> = feats
            .iter()
            .zip(&near_speech)
            .filter(|(_, near)| !**near)
            .map(|(f, _)| f64::from(f.db))
            .collect();
        let nonspeech_s = quiet.len() as f64 * WINDOW_S;
        let noise_db = if quiet.len() >= 16 {
            percentile(&mut quiet, 0.5)
        } else {
            let mut all: Vec<f64> = feats.iter().map(|f| f64::from(f.db)).collect();
            percentile(&mut all, 0.05)
        };
        let snr_db = match (speech_db, noise_db) {
            (Some(s), Some(n)) => Some(s - n),
            _ => None,
        };
        // High band over the loud speech windows.
        let mut hb: Vec<f64> = feats
            .iter()
            .zip(&in_speech)
            .filter(|(f, s)| {
                **s && !f.high_band_db.is_nan()
                    && speech_db.is_some_and(|sd| f64::from(f.db) > sd - 20.0)
            })
            .map(|(f, _)| f64::from(f.high_band_db))
            .collect();
        let high_band_db = percentile(&mut hb, 0.9);
        // Loud where nobody speaks: background.
        let loud_floor = speech_db.map_or(LOUD_DBFS, |s| {
            (s - BACKGROUND_BELOW_SPEECH_DB).max(LOUD_DBFS)
        });
        let loud_nonspeech = feats
            .iter()
            .zip(&near_speech)
            .filter(|(f, near)| !**near && f64::from(f.db) > loud_floor)
            .count();
        let mut periodic: Vec<f64> = feats
            .iter()
            .zip(&near_speech)
            .filter(|(f, near)| !**near && !f.periodicity.is_nan())
            .map(|(f, _)| f64::from(f.periodicity))
            .collect();
        let periodicity = percentile(&mut periodic, 0.5);
        // Long silences: the gaps between regions, the file's edges included.
        let mut long_silences = Vec::new();
        let mut prev = 0.0f64;
        let bounds = regions
            .iter()
            .map(|r| (r.start as f64 * WINDOW_S, r.end as f64 * WINDOW_S))
            .chain(std::iter::once((duration_s, duration_s)));
        for (s, e) in bounds {
            if s - prev >= LONG_SILENCE_S {
                long_silences.push(Silence {
                    start_s: prev,
                    end_s: s.min(duration_s),
                });
            }
            prev = e;
        }
        FileStats {
            duration_s,
            speech_s,
            peak_db,
            noise_db,
            snr_db,
            high_band_db,
            loud_nonspeech_s: loud_nonspeech as f64 * WINDOW_S,
            nonspeech_s,
            periodicity,
            long_silences,
        }
    }

    /// Music or noise where nobody speaks, if there is much of it.
    pub(crate) fn background(&self) -> Option<Background> {
        let much = if self.speech_s < MIN_SPEECH_S {
            self.loud_nonspeech_s >= 0.5 * self.duration_s
        } else {
            self.loud_nonspeech_s >= 3.0 && self.loud_nonspeech_s >= 0.3 * self.nonspeech_s
        };
        if !much {
            return None;
        }
        if self.periodicity.is_some_and(|p| p >= MUSIC_PERIODICITY) {
            Some(Background::Music)
        } else {
            Some(Background::Noise)
        }
    }

    /// The file's verdict before clips are judged (`Used` = go on with the clips).
    pub(crate) fn verdict(&self, source_rate: u32) -> Verdict {
        if self.duration_s < MIN_FILE_S {
            return Verdict::TooShort {
                seconds: self.duration_s,
            };
        }
        match self.peak_db {
            Some(p) if p >= SILENT_DBFS => {}
            other => {
                return Verdict::Silent {
                    peak_dbfs: other.unwrap_or(-120.0).max(-120.0),
                };
            }
        }
        if self.speech_s < MIN_SPEECH_S {
            let bg = self.background();
            return Verdict::NoSpeech {
                music_suspected: bg == Some(Background::Music),
                noise_suspected: bg == Some(Background::Noise),
            };
        }
        if source_rate < MIN_WIDEBAND_RATE {
            return Verdict::BandLimited {
                detail: format!(
                    "recorded at {source_rate} Hz, so nothing above {} Hz",
                    source_rate / 2
                ),
            };
        }
        if let Some(hb) = self.high_band_db.filter(|hb| *hb < BAND_LIMITED_DB) {
            return Verdict::BandLimited {
                detail: format!(
                    "almost nothing above 4.5 kHz ({hb:.0} dB under the full band): telephone or 8 kHz audio"
                ),
            };
        }
        Verdict::Used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feat(prob: f32, db: f32) -> WindowFeat {
        WindowFeat {
            prob,
            db,
            sub_db: [db; 4],
            high_band_db: -15.0,
            periodicity: f32::NAN,
        }
    }

    #[test]
    fn snr_and_long_silences_from_windows() {
        // 10 s: speech -20 dBFS in 1–3 s and 9–10 s, noise at -60 elsewhere.
        let n = (10.0 / WINDOW_S) as usize;
        let w = |s: f64| (s / WINDOW_S) as usize;
        let regions = [
            Region {
                start: w(1.0),
                end: w(3.0),
            },
            Region {
                start: w(9.0),
                end: n,
            },
        ];
        let feats: Vec<WindowFeat> = (0..n)
            .map(|i| {
                if regions.iter().any(|r| (r.start..r.end).contains(&i)) {
                    feat(0.9, -20.0)
                } else {
                    feat(0.01, -60.0)
                }
            })
            .collect();
        let st = FileStats::measure(&feats, &regions, 10.0);
        assert!((st.snr_db.expect("snr") - 40.0).abs() < 0.5);
        assert_eq!(st.long_silences.len(), 1);
        assert!((st.long_silences[0].start_s - 3.0).abs() < 0.05);
        assert_eq!(st.verdict(48_000), Verdict::Used);
        assert!(matches!(st.verdict(8_000), Verdict::BandLimited { .. }));
        assert_eq!(st.background(), None);
    }
}
