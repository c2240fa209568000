//! Resemblyzer's `wav_to_mel_spectrogram`: `librosa.feature.melspectrogram(y, sr=16000,
//! n_fft=400, hop_length=160, n_mels=40)` with librosa 0.11's defaults — periodic Hann window
//! (scipy `get_window("hann", 400, fftbins=True)`), `center=True` with zero padding
//! (`pad_mode="constant"`), power 2, Slaney mel scale with Slaney area normalization — as
//! float32 frames of 40 bands. Not a log-mel: the network takes the power values.
//!
//! Precision follows librosa: the windowed frame and its DFT are float64 and the DFT is stored
//! as complex64; `|X|` is `hypotf` and its square float32; the filterbank is float32. The mel
//! product is summed in float64 and rounded once (librosa's float32 BLAS product rounds at
//! each step, a difference of a few float32 ulps).

use std::f64::consts::PI;
use std::sync::OnceLock;

use super::hparams::{HOP_LENGTH, MEL_N_CHANNELS, N_FFT, SAMPLING_RATE};

/// FFT bins of one frame (`1 + n_fft / 2`).
pub const N_BINS: usize = N_FFT / 2 + 1;

/// One mel frame: the power in each of the 40 bands.
pub type MelFrame = [f32; MEL_N_CHANNELS];

/// The fixed tables: window, DFT basis, mel filterbank.
struct Tables {
    window: [f64; N_FFT],
    /// cos(2π·k·n/N), row k, column n.
    cos: Vec<f64>,
    /// sin(2π·k·n/N), row k, column n.
    sin: Vec<f64>,
    /// Each mel filter: the first bin it covers and its float32 weights from there.
    filters: Vec<(usize, Vec<f32>)>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut cos = vec![0.0; N_BINS * N_FFT];
        let mut sin = vec![0.0; N_BINS * N_FFT];
        for k in 0..N_BINS {
            for n in 0..N_FFT {
                let phase = 2.0 * PI * ((k * n) % N_FFT) as f64 / N_FFT as f64;
                cos[k * N_FFT + n] = phase.cos();
                sin[k * N_FFT + n] = phase.sin();
            }
        }
        let filters = mel_filterbank()
            .into_iter()
            .map(|row| {
                let first = row.iter().position(|w| *w != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|w| *w != 0.0).map_or(first, |l| l + 1);
                (first, row[first..last].to_vec())
            })
            .collect();
        Tables {
            window: hann_periodic(),
            cos,
            sin,
            filters,
        }
    })
}

/// `scipy.signal.get_window("hann", N_FFT, fftbins=True)`: `general_cosine(N + 1, [0.5, 0.5])`
/// over `linspace(-π, π, N + 1)`, last point dropped.
fn hann_periodic() -> [f64; N_FFT] {
    let m = N_FFT + 1;
    let step = (PI - -PI) / (m - 1) as f64;
    let mut w = [0.0; N_FFT];
    for (n, w) in w.iter_mut().enumerate() {
        let fac = n as f64 * step + -PI;
        *w = 0.5 + 0.5 * fac.cos();
    }
    w
}

/// librosa's `hz_to_mel(htk=False)` (Slaney): linear below 1 kHz, logarithmic above.
fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

/// librosa's `mel_to_hz(htk=False)`.
fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        0.0 + f_sp * mel
    }
}

/// `librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)` (fmin 0, fmax sr/2, Slaney scale,
/// `norm="slaney"`, float32): 40 rows of `N_BINS` weights.
pub fn mel_filterbank() -> Vec<[f32; N_BINS]> {
    // fft_frequencies: np.fft.rfftfreq(n_fft, d=1/sr).
    let val = 1.0 / (N_FFT as f64 * (1.0 / f64::from(SAMPLING_RATE)));
    let fftfreqs: Vec<f64> = (0..N_BINS).map(|k| k as f64 * val).collect();
    // mel_frequencies(n_mels + 2): np.linspace(min_mel, max_mel) mapped back to Hz.
    let n = MEL_N_CHANNELS + 2;
    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(f64::from(SAMPLING_RATE) / 2.0);
    let step = (max_mel - min_mel) / (n - 1) as f64;
    let mel_f: Vec<f64> = (0..n)
        .map(|i| {
            let m = if i == n - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            mel_to_hz(m)
        })
        .collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
    let mut weights = vec![[0f32; N_BINS]; MEL_N_CHANNELS];
    for (i, row) in weights.iter_mut().enumerate() {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (k, w) in row.iter_mut().enumerate() {
            let lower = -(mel_f[i] - fftfreqs[k]) / fdiff[i];
            let upper = (mel_f[i + 2] - fftfreqs[k]) / fdiff[i + 1];
            let tri = 0f64.max(lower.min(upper)) as f32;
            *w = (f64::from(tri) * enorm) as f32;
        }
    }
    weights
}

/// Frames of `wav` (16 kHz): `1 + len / 160` of them, frame `t` centred on sample `160·t`.
pub fn mel_spectrogram(wav: &[f32]) -> Vec<MelFrame> {
    let t = tables();
    let half = (N_FFT / 2) as isize;
    let n_frames = 1 + wav.len() / HOP_LENGTH;
    let mut out = Vec::with_capacity(n_frames);
    let mut frame = [0f64; N_FFT];
    let mut power = [0f32; N_BINS];
    for f in 0..n_frames {
        let start = (f * HOP_LENGTH) as isize - half;
        for (n, x) in frame.iter_mut().enumerate() {
            let i = start + n as isize;
            let sample = if i >= 0 && (i as usize) < wav.len() {
                f64::from(wav[i as usize])
            } else {
                0.0
            };
            *x = t.window[n] * sample;
        }
        for (k, p) in power.iter_mut().enumerate() {
            let cos = &t.cos[k * N_FFT..(k + 1) * N_FFT];
            let sin = &t.sin[k * N_FFT..(k + 1) * N_FFT];
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for n in 0..N_FFT {
                re += frame[n] * cos[n];
                im -= frame[n] * sin[n];
            }
            let magnitude = (re as f32).hypot(im as f32);
            *p = magnitude * magnitude;
        }
        let mut mel = [0f32; MEL_N_CHANNELS];
        for (m, (first, w)) in mel.iter_mut().zip(&t.filters) {
            let sum: f64 = w
                .iter()
                .zip(&power[*first..])
                .map(|(w, p)| f64::from(*w) * f64::from(*p))
                .sum();
            *m = sum as f32;
        }
        out.push(mel);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filterbank_is_slaney_normalized_triangles() {
        let fb = mel_filterbank();
        assert_eq!(fb.len(), 40);
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)[0, :3] (librosa 0.11):
        // [-0., 0.00739021, 0.01240452]; band 0 covers bins 1..=3, band 2 bins 4..=7.
        assert_eq!(fb[0][0], 0.0);
        assert!((fb[0][1] - 0.007_390_21).abs() < 1e-8, "{}", fb[0][1]);
        assert!((fb[0][2] - 0.012_404_52).abs() < 1e-8, "{}", fb[0][2]);
        assert_eq!(fb[0][4], 0.0);
        assert!(fb[2][4] > 0.0 && fb[2][7] > 0.0 && fb[2][8] == 0.0);
        for row in &fb {
            assert!(row.iter().any(|w| *w > 0.0));
        }
    }

    #[test]
    fn a_tone_lands_in_its_band() {
        // 1 kHz at 16 kHz: Slaney mel of 1 kHz is 15, bands 1.10 mel apart → band 13 (librosa
        // agrees: 13, holding 53% of the frame's mel power).
        let wav: Vec<f32> = (0..16_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin() * 0.5)
            .collect();
        let mel = mel_spectrogram(&wav);
        assert_eq!(mel.len(), 101);
        let mid = &mel[50];
        let peak = (0..40)
            .max_by(|a, b| mid[*a].total_cmp(&mid[*b]))
            .unwrap_or(0);
        assert_eq!(peak, 13);
        let total: f32 = mid.iter().sum();
        assert!(
            (mid[peak] / total - 0.533).abs() < 0.01,
            "{}",
            mid[peak] / total
        );
    }
}
