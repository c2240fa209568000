//! WAV output of a [`SpeechChunk`].

use std::path::Path;

use super::{SpeechChunk, VoiceError};

/// Writes `chunk` as a mono 16-bit PCM WAV at the chunk's sample rate. Samples outside
/// `[-1, 1]` are clipped.
pub fn write_wav(path: impl AsRef<Path>, chunk: &SpeechChunk) -> Result<(), VoiceError> {
    let path = path.as_ref();
    let wav_err = |source: hound::Error| VoiceError::Wav {
        path: path.to_path_buf(),
        source,
    };
    if chunk.sample_rate == 0 {
        return Err(wav_err(hound::Error::Unsupported));
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: chunk.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(wav_err)?;
    for &s in &chunk.pcm {
        let v = (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16;
        writer.write_sample(v).map_err(wav_err)?;
    }
    writer.finalize().map_err(wav_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_length_rate_and_level() {
        let dir = crate::testutil::tempdir().expect("tempdir");
        let path = dir.path().join("tone.wav");
        let pcm: Vec<f32> = (0..4800).map(|i| 0.5 * (i as f32 * 0.05).sin()).collect();
        let chunk = SpeechChunk {
            pcm,
            sample_rate: 48_000,
            ..Default::default()
        };
        write_wav(&path, &chunk).expect("write");
        let reader = hound::WavReader::open(&path).expect("open");
        assert_eq!(reader.spec().sample_rate, 48_000);
        assert_eq!(reader.spec().channels, 1);
        let samples: Vec<i16> = reader
            .into_samples::<i16>()
            .map(|s| s.expect("sample"))
            .collect();
        assert_eq!(samples.len(), 4800);
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!((16000..=16500).contains(&peak), "peak {peak}");
    }

    #[test]
    fn unwritable_path_is_an_error_naming_the_path() {
        let chunk = SpeechChunk {
            pcm: vec![0.0; 10],
            sample_rate: 48_000,
            ..Default::default()
        };
        let err = write_wav("/nonexistent-dir/x.wav", &chunk).expect_err("must fail");
        assert!(err.to_string().contains("/nonexistent-dir/x.wav"));
    }
}
