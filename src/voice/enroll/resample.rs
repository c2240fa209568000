//! Streaming resampling (rubato's FFT resampler) with no added delay and an exact length:
//! after [`StreamResampler::finish`] the output holds `round(n_in * to / from)` samples, and
//! output sample `k` sits at time `k / to` like input sample `j` sits at `j / from`. Memory is
//! one FFT chunk, whatever the length of the stream.

use rubato::{FftFixedIn, Resampler};

use super::EnrollError;

/// Input frames per FFT chunk.
const CHUNK: usize = 1024;

/// Mono resampler from `from` Hz to `to` Hz, fed block by block. Passes audio through
/// untouched when the rates are equal.
pub(crate) struct StreamResampler {
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
    pub(crate) fn new(from: u32, to: u32) -> Result<StreamResampler, EnrollError> {
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
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), EnrollError> {
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
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), EnrollError> {
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

/// Resamples a whole buffer (a clip) in one go.
pub(crate) fn resample_all(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, EnrollError> {
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
        let out = resample_all(&input, 16_000, 16_000).expect("resample");
        assert_eq!(out, input);
    }
}
