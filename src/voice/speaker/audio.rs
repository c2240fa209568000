//! Resemblyzer's `preprocess_wav` (`resemblyzer/audio.py`): resample to 16 kHz,
//! `normalize_volume(-30 dBFS, increase_only=True)`, `trim_long_silences` (WebRTC VAD).
//!
//! The arithmetic follows numpy on float32 input: the RMS is a float32 pairwise sum (numpy's
//! algorithm), `log10`/`powf` are float32. One known difference: numpy's float32 `log10` is
//! its own SIMD code on AVX-512 CPUs and can differ from libm's by an ulp, so on such a CPU
//! the gain of a quiet clip may differ by one float32 ulp (≈6e-8 relative) from Resemblyzer's.

use super::SpeakerError;
use super::hparams::{
    AUDIO_NORM_TARGET_DBFS, SAMPLING_RATE, VAD_MAX_SILENCE_LENGTH, VAD_MOVING_AVERAGE_WIDTH,
    VAD_WINDOW,
};
use super::vad::{FRAME_16KHZ, Mode, Vad};

const INT16_MAX: f32 = 32767.0;

/// A clip after `preprocess_wav`, with what each step decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    /// Mono 16 kHz samples: resampled, volume-normalized, long silences cut.
    pub wav: Vec<f32>,
    /// Samples after resampling to 16 kHz, before trimming.
    pub resampled_len: usize,
    /// Factor `normalize_volume` applied (1.0 when the clip was already at or above −30 dBFS).
    pub gain: f32,
    /// The raw WebRTC VAD decision of each 30 ms window, before smoothing.
    pub vad_flags: Vec<bool>,
    /// Which windows were kept after smoothing and dilation.
    pub kept_windows: Vec<bool>,
}

/// `preprocess_wav(pcm, source_sr=sample_rate)`.
///
/// Errors: [`SpeakerError::InvalidAudio`] for a zero sample rate or non-finite samples,
/// [`SpeakerError::NoSpeech`] when the clip is empty, digitally silent, or the VAD finds no
/// speech in it (recoverable: record again), [`SpeakerError::Resample`].
pub fn preprocess(pcm: &[f32], sample_rate: u32) -> Result<Preprocessed, SpeakerError> {
    if sample_rate == 0 {
        return Err(SpeakerError::InvalidAudio("sample rate 0"));
    }
    if pcm.iter().any(|s| !s.is_finite()) {
        return Err(SpeakerError::InvalidAudio("a sample is NaN or infinite"));
    }
    let secs = pcm.len() as f64 / f64::from(sample_rate);
    let no_speech = || SpeakerError::NoSpeech { secs };
    let mut wav = resample_to_16k(pcm, sample_rate)?;
    let resampled_len = wav.len();
    if wav.iter().all(|s| *s == 0.0) {
        // Resemblyzer divides by a zero RMS here and gets NaNs.
        return Err(no_speech());
    }
    let gain = normalize_volume(&mut wav, AUDIO_NORM_TARGET_DBFS);
    let (wav, vad_flags, kept_windows) = trim_long_silences(&wav);
    if wav.is_empty() {
        return Err(no_speech());
    }
    Ok(Preprocessed {
        wav,
        resampled_len,
        gain,
        vad_flags,
        kept_windows,
    })
}

/// `librosa.resample(wav, orig_sr=sample_rate, target_sr=16000)`, which Resemblyzer does with
/// soxr's "HQ" filter; here rubato's FFT resampler (not sample-exact with soxr). Output length
/// `ceil(len · 16000 / sample_rate)` as librosa's.
fn resample_to_16k(pcm: &[f32], sample_rate: u32) -> Result<Vec<f32>, SpeakerError> {
    if sample_rate == SAMPLING_RATE {
        return Ok(pcm.to_vec());
    }
    let mut out =
        crate::voice::resample::resample(pcm, sample_rate, SAMPLING_RATE).map_err(|source| {
            SpeakerError::Resample {
                from: sample_rate,
                source: source.into(),
            }
        })?;
    let len = (pcm.len() as u64 * u64::from(SAMPLING_RATE)).div_ceil(u64::from(sample_rate));
    out.resize(len as usize, 0.0);
    Ok(out)
}

/// `normalize_volume(wav, target_dbfs, increase_only=True)` in place; returns the gain.
fn normalize_volume(wav: &mut [f32], target_dbfs: f32) -> f32 {
    // rms = np.sqrt(np.mean((wav * int16_max) ** 2)), all float32 (the mean divides in f64).
    let squares: Vec<f32> = wav
        .iter()
        .map(|w| {
            let x = w * INT16_MAX;
            x * x
        })
        .collect();
    let mean = (f64::from(pairwise_sum(&squares)) / wav.len() as f64) as f32;
    let rms = mean.sqrt();
    let wave_dbfs = 20.0f32 * (rms / INT16_MAX).log10();
    let dbfs_change = target_dbfs - wave_dbfs;
    if dbfs_change < 0.0 {
        return 1.0;
    }
    let gain = 10.0f32.powf(dbfs_change / 20.0);
    for w in wav.iter_mut() {
        *w *= gain;
    }
    gain
}

/// numpy's `pairwise_sum` for float32 (`np.add.reduce` of a contiguous array): blocks of at
/// most 128 summed with 8 accumulators, halves split at a multiple of 8.
fn pairwise_sum(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        let mut res = 0f32;
        for x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0f32; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for x in &a[i..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `np.round(wav * int16_max).astype(np.int16)` on x86-64: round half to even, then a C cast
/// (through a 32-bit integer, keeping the low 16 bits: 40000 → −25536; out of int32 → 0).
fn to_int16(w: f32) -> i16 {
    let v = (w * INT16_MAX).round_ties_even();
    if (-2_147_483_648.0..2_147_483_648.0).contains(&v) {
        (v as i32) as i16
    } else {
        0
    }
}

/// `trim_long_silences`: (kept samples, raw VAD flags, kept windows).
fn trim_long_silences(wav: &[f32]) -> (Vec<f32>, Vec<bool>, Vec<bool>) {
    const _: () = assert!(VAD_WINDOW == FRAME_16KHZ);
    let usable = wav.len() - wav.len() % VAD_WINDOW;
    let pcm: Vec<i16> = wav[..usable].iter().map(|w| to_int16(*w)).collect();
    let (frames, _) = pcm.as_chunks::<FRAME_16KHZ>();
    let mut vad = Vad::new(Mode::VeryAggressive);
    let flags: Vec<bool> = frames.iter().map(|f| vad.is_speech(f)).collect();

    // moving_average(flags, width): zero-padded (width-1)/2 before and width/2 after.
    let width = VAD_MOVING_AVERAGE_WIDTH;
    let before = (width - 1) / 2;
    let n = flags.len();
    let smoothed: Vec<bool> = (0..n)
        .map(|i| {
            let lo = i.saturating_sub(before);
            let hi = (i + width - before).min(n);
            let voiced = flags[lo..hi].iter().filter(|f| **f).count();
            (voiced as f64 / width as f64).round_ties_even() != 0.0
        })
        .collect();

    // binary_dilation with np.ones(max_silence + 1), centred.
    let size = VAD_MAX_SILENCE_LENGTH + 1;
    let left = size / 2;
    let right = size - 1 - left;
    let kept: Vec<bool> = (0..n)
        .map(|i| {
            let lo = i.saturating_sub(right);
            let hi = (i + left + 1).min(n);
            smoothed[lo..hi].iter().any(|m| *m)
        })
        .collect();

    let trimmed = wav[..usable]
        .chunks_exact(VAD_WINDOW)
        .zip(&kept)
        .filter(|(_, k)| **k)
        .flat_map(|(c, _)| c.iter().copied())
        .collect();
    (trimmed, flags, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_splits_like_numpy() {
        // 0.1 summed 1000 times: numpy's float32 np.add.reduce gives 100.000015.
        let a = vec![0.1f32; 1000];
        assert_eq!(pairwise_sum(&a), 100.000_015);
        assert_eq!(pairwise_sum(&[1.0, 2.0, 3.0]), 6.0);
    }

    #[test]
    fn int16_conversion_wraps_like_numpy_on_x86() {
        assert_eq!(to_int16(0.5), 16384); // 16383.5 rounds to even
        assert_eq!(to_int16(-1.0), -32767);
        assert_eq!(to_int16(40_000.0 / 32_767.0), -25536);
        assert_eq!(to_int16(1e6), 0);
    }

    #[test]
    fn quiet_clips_are_raised_to_minus_30_dbfs_and_loud_ones_kept() {
        let mut quiet: Vec<f32> = (0..16_000)
            .map(|i| 0.001 * (i as f32 * 0.05).sin())
            .collect();
        let gain = normalize_volume(&mut quiet, -30.0);
        let rms = (quiet.iter().map(|s| s * s).sum::<f32>() / quiet.len() as f32).sqrt();
        assert!((20.0 * rms.log10() - -30.0).abs() < 0.01, "rms {rms}");
        assert!(gain > 40.0);
        let mut loud: Vec<f32> = (0..16_000).map(|i| 0.5 * (i as f32 * 0.05).sin()).collect();
        let before = loud.clone();
        assert_eq!(normalize_volume(&mut loud, -30.0), 1.0);
        assert_eq!(loud, before);
    }

    #[test]
    fn long_silences_are_cut_short_ones_kept() {
        // 1 s buzz, 2 s silence, 1 s buzz: the silence shrinks to the dilation margin.
        let buzz = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let t = i as f32 / 16_000.0;
                    (1..=20)
                        .map(|h| {
                            (2.0 * std::f32::consts::PI * 140.0 * h as f32 * t).sin() / h as f32
                        })
                        .sum::<f32>()
                        * 0.2
                })
                .collect()
        };
        let mut wav = buzz(16_000);
        wav.extend(std::iter::repeat_n(0.0, 32_000));
        wav.extend(buzz(16_000));
        let (trimmed, flags, kept) = trim_long_silences(&wav);
        assert_eq!(flags.len(), 64_000 / 480);
        assert_eq!(trimmed.len(), kept.iter().filter(|k| **k).count() * 480);
        assert!(
            trimmed.len() > 30_000 && trimmed.len() < 40_000,
            "{}",
            trimmed.len()
        );
    }
}
