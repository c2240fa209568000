//! Resampling whole utterances (espeak-ng's 22 050 Hz → [`crate::media::SAMPLE_RATE`]).

use rubato::{FftFixedIn, Resampler};

use super::VoiceError;

const CHUNK: usize = 1024;

/// Resamples mono `input` from `from` Hz to `to` Hz. The output has exactly
/// `round(len * to / from)` samples and no added delay, so times in seconds are unchanged.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, VoiceError> {
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let err = |e: &dyn std::fmt::Display| {
        VoiceError::Synthesis(format!("resampling {from} → {to} Hz: {e}"))
    };
    let mut rs =
        FftFixedIn::<f32>::new(from as usize, to as usize, CHUNK, 2, 1).map_err(|e| err(&e))?;
    let expected = (input.len() as f64 * f64::from(to) / f64::from(from)).round() as usize;
    let delay = rs.output_delay();
    let mut out: Vec<f32> = Vec::with_capacity(expected + delay + CHUNK * 3);
    let mut pos = 0;
    while input.len() - pos >= rs.input_frames_next() {
        let n = rs.input_frames_next();
        let block = rs
            .process(&[&input[pos..pos + n]], None)
            .map_err(|e| err(&e))?;
        pos += n;
        out.extend_from_slice(block.first().map(Vec::as_slice).unwrap_or(&[]));
    }
    // The rest, then zeros until the delayed tail is out.
    let rest = &input[pos..];
    let block = rs
        .process_partial(Some(&[rest]), None)
        .map_err(|e| err(&e))?;
    out.extend_from_slice(block.first().map(Vec::as_slice).unwrap_or(&[]));
    while out.len() < expected + delay {
        let block = rs
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| err(&e))?;
        let Some(b) = block.first() else { break };
        if b.is_empty() {
            break;
        }
        out.extend_from_slice(b);
    }
    let mut out = out.split_off(delay.min(out.len()));
    out.resize(expected, 0.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_keeps_its_time_and_level() {
        // 0.5 s of 440 Hz starting at 0.25 s, at 22 050 Hz.
        let from = 22_050u32;
        let input: Vec<f32> = (0..from as usize)
            .map(|i| {
                let t = i as f32 / from as f32;
                if (0.25..0.75).contains(&t) {
                    0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let out = resample(&input, from, 48_000).expect("resample");
        assert_eq!(out.len(), 48_000);
        // Energy starts near 0.25 s (no delay added) and the level is kept.
        let first_loud = out.iter().position(|s| s.abs() > 0.1).expect("some signal");
        assert!(
            (11_900..12_200).contains(&first_loud),
            "onset at sample {first_loud}"
        );
        let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!((0.45..0.56).contains(&peak), "peak {peak}");
    }
}
