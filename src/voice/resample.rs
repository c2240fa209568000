//! Resampling (rubato's FFT resampler) with no added delay and an exact length: the output
//! of `n_in` input samples holds `round(n_in * to / from)` samples, and output sample `k` sits
//! at time `k / to` like input sample `j` sits at `j / from`. [`StreamResampler`] takes a
//! stream block by block (memory is one FFT chunk, whatever the length: enrollment), and
//! [`resample`] a whole utterance (espeak-ng's 22 050 Hz → [`crate::media::SAMPLE_RATE`],
//! Piper voices, the timbre and speaker analyses).

use rubato::{FftFixedIn, Resampler};

use super::VoiceError;

/// Errors of rubato (a rate it cannot handle, or an internal buffer error).
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("resampler setup: {0}")]
    Setup(#[from] rubato::ResamplerConstructionError),
    #[error("resampling: {0}")]
    Process(#[from] rubato::ResampleError),
}

impl From<ResampleError> for VoiceError {
    fn from(e: ResampleError) -> VoiceError {
        VoiceError::Synthesis(e.to_string())
    }
}

/// Input frames per FFT chunk.
const CHUNK: usize = 1024;

/// Mono resampler from `from` Hz to `to` Hz, fed block by block. Passes audio through
/// untouched when the rates are equal.
pub struct StreamResampler {
    inner: Option<FftFixedIn<f32>>,
    from: u32,
    to: u32,
    /// Input not yet given to rubato (less than one chunk between calls).
    pending: Vec<f32>,
    in_total: u64,
    out_total: u64,
    /// Output samples still to drop (rubato's delay).
    skip: usize,
    out_buf: Vec<Vec<f32>>,
}

impl StreamResampler {
    pub fn new(from: u32, to: u32) -> Result<StreamResampler, ResampleError> {
        let (inner, skip, out_buf) = if from == to {
            (None, 0, Vec::new())
        } else {
            let rs = FftFixedIn::<f32>::new(from as usize, to as usize, CHUNK, 2, 1)?;
            let skip = rs.output_delay();
            let out_buf = rs.output_buffer_allocate(true);
            (Some(rs), skip, out_buf)
        };
        Ok(StreamResampler {
            inner,
            from,
            to,
            pending: Vec::with_capacity(CHUNK * 2),
            in_total: 0,
            out_total: 0,
            skip,
            out_buf,
        })
    }

    /// Output samples the input so far will make in total.
    fn expected(&self) -> u64 {
        (self.in_total as f64 * f64::from(self.to) / f64::from(self.from)).round() as u64
    }

    /// Resamples `input`, appending what is ready to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        self.in_total += input.len() as u64;
        let Some(rs) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            self.out_total += input.len() as u64;
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut pos = 0;
        loop {
            let need = rs.input_frames_next();
            if self.pending.len() - pos < need {
                break;
            }
            let (_, produced) =
                rs.process_into_buffer(&[&self.pending[pos..pos + need]], &mut self.out_buf, None)?;
            pos += need;
            emit(
                &self.out_buf[0][..produced],
                &mut self.skip,
                &mut self.out_total,
                out,
            );
        }
        self.pending.drain(..pos);
        Ok(())
    }

    /// Flushes the tail: afterwards the total output is exactly `round(n_in * to / from)`.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), ResampleError> {
        let expected = self.expected();
        let Some(rs) = self.inner.as_mut() else {
            return Ok(());
        };
        let rest = std::mem::take(&mut self.pending);
        let mut first = true;
        // Feed the rest, then zeros, until the delayed tail is out (bounded: the delay is
        // less than two FFT chunks).
        for _ in 0..64 {
            if self.out_total >= expected {
                break;
            }
            // (rubato reads an empty channel as "inactive": give no input rather than none.)
            let input: Option<&[&[f32]]> = if first && !rest.is_empty() {
                Some(&[&rest[..]])
            } else {
                None
            };
            first = false;
            let (_, produced) = rs.process_partial_into_buffer(input, &mut self.out_buf, None)?;
            if produced == 0 {
                break;
            }
            let before = out.len();
            emit(
                &self.out_buf[0][..produced],
                &mut self.skip,
                &mut self.out_total,
                out,
            );
            // Never more than the exact length.
            if self.out_total > expected {
                let extra = (self.out_total - expected) as usize;
                let keep = (out.len() - before).saturating_sub(extra);
                out.truncate(before + keep);
                self.out_total = expected;
            }
        }
        while self.out_total < expected {
            out.push(0.0);
            self.out_total += 1;
        }
        Ok(())
    }
}

fn emit(block: &[f32], skip: &mut usize, total: &mut u64, out: &mut Vec<f32>) {
    let drop = (*skip).min(block.len());
    *skip -= drop;
    out.extend_from_slice(&block[drop..]);
    *total += (block.len() - drop) as u64;
}

/// Resamples mono `input` from `from` Hz to `to` Hz in one go: exactly `round(len * to / from)`
/// samples, no added delay, so times in seconds are unchanged.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    let mut rs = StreamResampler::new(from, to)?;
    let mut out = Vec::with_capacity(
        (input.len() as u64 * u64::from(to) / u64::from(from.max(1))) as usize + 16,
    );
    rs.push(input, &mut out)?;
    rs.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, secs: f32, onset: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| {
                let t = i as f32 / rate as f32;
                if t >= onset {
                    0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn streamed_in_odd_blocks_keeps_length_time_and_level() {
        let input = tone(48_000, 2.0, 0.5);
        for to in [22_050u32, 16_000] {
            let mut rs = StreamResampler::new(48_000, to).expect("resampler");
            let mut out = Vec::new();
            for block in input.chunks(777) {
                rs.push(block, &mut out).expect("push");
            }
            rs.finish(&mut out).expect("finish");
            assert_eq!(out.len(), (2.0 * to as f64) as usize, "length at {to} Hz");
            let onset = out.iter().position(|s| s.abs() > 0.1).expect("signal");
            let expected = (0.5 * to as f64) as usize;
            assert!(
                onset.abs_diff(expected) < (to / 500) as usize,
                "onset {onset} vs {expected}"
            );
            let peak = out.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!((0.45..0.56).contains(&peak), "peak {peak}");
        }
    }

    #[test]
    fn equal_rates_pass_through() {
        let input = tone(16_000, 0.3, 0.0);
        let out = resample(&input, 16_000, 16_000).expect("resample");
        assert_eq!(out, input);
    }
}

#[cfg(test)]
mod utterance_tests {
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

#[cfg(test)]
mod block_edge_tests {
    use super::*;

    /// Inputs whose length is a whole number of blocks leave nothing for the partial call;
    /// the output must still be complete: the right length, the tone to the very end.
    #[test]
    fn whole_blocks_and_one_sample_more_come_out_complete() {
        for len in [
            CHUNK,
            2 * CHUNK,
            8 * CHUNK,
            8 * CHUNK + 1,
            8 * CHUNK - 1,
            1,
            7,
        ] {
            let input: Vec<f32> = (0..len)
                .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 300.0 * i as f32 / 22_050.0).sin())
                .collect();
            let out = resample(&input, 22_050, 48_000).expect("resample");
            let expected = (len as f64 * 48_000.0 / 22_050.0).round() as usize;
            assert_eq!(out.len(), expected, "len {len}");
            if len >= CHUNK {
                // The last 5 ms still carry the tone (no zero-padded tail).
                let tail = &out[out.len() - 240..out.len() - 40];
                let peak = tail.iter().fold(0.0f32, |m, s| m.max(s.abs()));
                assert!(peak > 0.3, "len {len}: tail peak {peak}");
            }
        }
    }
}
