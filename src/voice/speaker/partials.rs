//! `VoiceEncoder.compute_partial_slices`: where an utterance is cut into partial utterances of
//! `PARTIALS_N_FRAMES` mel frames, `PARTIALS_RATE` per second.

use std::ops::Range;

use super::hparams::{
    HOP_LENGTH, PARTIALS_MIN_COVERAGE, PARTIALS_N_FRAMES, PARTIALS_RATE, SAMPLING_RATE,
};

/// Mel-frame ranges of the partial utterances of a preprocessed wav of `n_samples` samples
/// (multiply by 160 for sample ranges). Always at least one; the last may reach past the end
/// of the wav, which is then zero-padded, as Resemblyzer does.
pub fn partial_slices(n_samples: usize) -> Vec<Range<usize>> {
    let samples_per_frame = HOP_LENGTH;
    let n_frames = (n_samples + 1).div_ceil(samples_per_frame);
    let frame_step = ((f64::from(SAMPLING_RATE) / PARTIALS_RATE) / samples_per_frame as f64)
        .round_ties_even() as usize;
    let steps = (n_frames + frame_step + 1)
        .saturating_sub(PARTIALS_N_FRAMES)
        .max(1);
    let mut slices: Vec<Range<usize>> = (0..steps)
        .step_by(frame_step.max(1))
        .map(|i| i..i + PARTIALS_N_FRAMES)
        .collect();
    if let Some(last) = slices.last() {
        let start = (last.start * samples_per_frame) as f64;
        let coverage = (n_samples as f64 - start) / (PARTIALS_N_FRAMES * samples_per_frame) as f64;
        if coverage < PARTIALS_MIN_COVERAGE && slices.len() > 1 {
            slices.pop();
        }
    }
    slices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_match_resemblyzer() {
        // Values from VoiceEncoder.compute_partial_slices(n, 1.3, 0.75).
        assert_eq!(partial_slices(0), vec![0..160]);
        assert_eq!(partial_slices(16_000), vec![0..160]);
        // A second partial would cover 52% of its frames: dropped.
        assert_eq!(partial_slices(25_600), vec![0..160]);
        assert_eq!(partial_slices(48_000), vec![0..160, 77..237, 154..314]);
        // The third would cover 60%: dropped.
        assert_eq!(partial_slices(40_000), vec![0..160, 77..237]);
        assert_eq!(
            partial_slices(60_480),
            vec![0..160, 77..237, 154..314, 231..391]
        );
    }
}
