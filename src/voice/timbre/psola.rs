//! TD-PSOLA resynthesis with a formant warp.
//!
//! Output time `t` maps to input time `t / time_scale`. Where that input time is voiced, the
//! grain is the input around the nearest pitch mark, windowed by an asymmetric Hann window
//! reaching the neighbouring marks (a little further when the output period is longer, so
//! that lowered pitch or raised formants leave no gaps); it is placed at `t`, and the next
//! grain one *output* period later (the new pitch). Where it is unvoiced, grains of 5 ms Hann halves follow at a
//! constant hop, read continuously from the input (so overlapping grains hold the same noise)
//! and re-synchronized with the time map whenever they drift more than 12 ms from it.
//!
//! Formant warp: every grain is read from the input at `alpha` samples per output sample
//! (windowed-sinc interpolation, low-passed below the new Nyquist when `alpha` > 1), which scales its spectral envelope by `alpha` — a uniform change
//! of vocal-tract length — while the pitch comes only from the grain spacing. Grains are
//! scaled by `sqrt(alpha * P_out / P_in)` so that the local power is kept when the overlap
//! changes.

use super::dsp::SincReader;
use super::marks::Marks;

/// How far (in periods) a voiced grain may reach into the neighbouring period to fill a gap
/// between output grains: the neighbour's pulse then sits where the Hann window is below
/// 2% (-34 dB).
const GRAIN_REACH: f64 = 1.1;
/// Hop and half-window of unvoiced grains (s).
const UNVOICED_HOP_S: f64 = 0.005;
/// Unvoiced grains read the input continuously until they drift this far (s) from the time
/// map.
const UNVOICED_DRIFT_S: f64 = 0.012;

/// What the resynthesis changes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Warp {
    /// Spectral-envelope scale (>1 raises formants).
    pub alpha: f64,
    /// Output duration / input duration.
    pub time_scale: f64,
}

/// Resynthesizes `x` (at `rate`) with pitch marks `marks`. `period_out(t_in_s, p_in)` gives
/// the output period (samples) for a grain taken at input time `t_in_s` seconds whose input
/// period is `p_in` samples.
pub(crate) fn resynthesize(
    x: &[f32],
    rate: u32,
    marks: &Marks,
    warp: Warp,
    mut period_out: impl FnMut(f64, f64) -> f64,
) -> Vec<f32> {
    let fs = f64::from(rate);
    let ts = warp.time_scale;
    let alpha = warp.alpha;
    let out_len = (x.len() as f64 * ts).round() as usize;
    let mut y = vec![0.0f32; out_len];
    let hop_u = UNVOICED_HOP_S * fs;
    let reader = SincReader::new(0.96 * (1.0 / alpha).min(1.0));
    let drift_max = UNVOICED_DRIFT_S * fs;
    // Input centre of the last unvoiced grain, while in an unvoiced stretch.
    let mut read: Option<f64> = None;
    let mut t = 0.0f64;
    while t < out_len as f64 {
        let t_in = t / ts;
        match marks.nearest(t_in) {
            Some((r, k)) => {
                read = None;
                let (l, rr) = marks.halves(r, k);
                let p_in = 0.5 * (l + rr);
                let p_out = period_out(t_in / fs, p_in).clamp(p_in / 2.5, p_in * 2.5);
                let g = (alpha * p_out / p_in).sqrt() as f32;
                // Each half reaches the neighbouring mark (classic TD-PSOLA); where that
                // leaves a gap before the next output grain (pitch lowered, formants
                // raised) it stretches toward one output period, reading at most
                // GRAIN_REACH of the way to the mark after next.
                let half = |d: f64| (d / alpha).max(p_out.min(GRAIN_REACH * d / alpha));
                add_grain(
                    &mut y,
                    x,
                    &reader,
                    t,
                    marks.pos[k] as f64,
                    half(l),
                    half(rr),
                    alpha,
                    g,
                );
                t += p_out;
            }
            None => {
                // Keep reading where the last grain left off, so that overlapping grains
                // hold the same noise (no 200 Hz flutter from cross-fading unrelated noise);
                // jump back to the time map only when the drift grows too large.
                let centre = match read {
                    Some(c) if (c + hop_u * alpha - t_in).abs() <= drift_max => c + hop_u * alpha,
                    _ => t_in,
                };
                read = Some(centre);
                add_grain(&mut y, x, &reader, t, centre, hop_u, hop_u, alpha, 1.0);
                t += hop_u;
            }
        }
    }
    y
}

/// Adds to `y`, centred at output position `at`, the input around `centre` read at `alpha`
/// input samples per output sample, under a Hann window of half-widths `left`/`right`
/// (output samples), times `g`.
#[allow(clippy::too_many_arguments)]
fn add_grain(
    y: &mut [f32],
    x: &[f32],
    reader: &SincReader,
    at: f64,
    centre: f64,
    left: f64,
    right: f64,
    alpha: f64,
    g: f32,
) {
    let n0 = (at - left).ceil().max(0.0) as usize;
    let n1 = ((at + right).floor().max(0.0) as usize).min(y.len().saturating_sub(1));
    if y.is_empty() || n0 > n1 {
        return;
    }
    for (n, out) in y.iter_mut().enumerate().take(n1 + 1).skip(n0) {
        let j = n as f64 - at;
        let w = if j < 0.0 {
            0.5 * (1.0 + (std::f64::consts::PI * j / left).cos())
        } else {
            0.5 * (1.0 + (std::f64::consts::PI * j / right).cos())
        };
        *out += g * w as f32 * reader.at(x, centre + j * alpha);
    }
}
