//! Loudness (EBU R128 through `ebur128`): the whole file is metered as it streams by, and each
//! clip is normalized to [`TARGET_LUFS`] integrated loudness, with the gain capped so the true
//! peak stays under [`TRUE_PEAK_CEILING_DBTP`].
//!
//! Why per clip: a training set wants every utterance at the same level whatever the
//! microphone distance was; the spread before normalization is reported (a wide spread means
//! an inconsistent recording). -23 LUFS is the EBU R128 broadcast target; speech at -23 LUFS
//! peaks well under -1 dBTP, so the ceiling rarely acts (when it does, the clip is marked
//! `peak_limited` and stays quieter than the target rather than being distorted by a limiter).

use ebur128::{EbuR128, Mode};

use super::EnrollError;

/// Integrated loudness every clip is normalized to (LUFS).
pub const TARGET_LUFS: f64 = -23.0;
/// True-peak ceiling after normalization (dBTP).
pub const TRUE_PEAK_CEILING_DBTP: f64 = -1.0;

/// Streaming meter of a file's integrated loudness.
pub(crate) struct Meter {
    inner: EbuR128,
}

impl Meter {
    pub(crate) fn new(rate: u32) -> Result<Meter, EnrollError> {
        Ok(Meter {
            inner: EbuR128::new(1, rate, Mode::I)?,
        })
    }

    pub(crate) fn add(&mut self, mono: &[f32]) -> Result<(), EnrollError> {
        self.inner.add_frames_f32(mono)?;
        Ok(())
    }

    /// Integrated loudness so far (LUFS); `None` when everything was gated out (silence).
    pub(crate) fn integrated(&self) -> Option<f64> {
        self.inner.loudness_global().ok().filter(|l| l.is_finite())
    }
}

/// Integrated loudness (LUFS, `None` for silence) and true peak (dBTP) of mono `pcm`.
pub fn measure(pcm: &[f32], rate: u32) -> Result<(Option<f64>, f64), EnrollError> {
    let mut m = EbuR128::new(1, rate, Mode::I | Mode::TRUE_PEAK)?;
    m.add_frames_f32(pcm)?;
    let l = m.loudness_global()?;
    let tp = m.true_peak(0)?;
    Ok((l.is_finite().then_some(l), 20.0 * tp.max(1e-10).log10()))
}

/// What normalization did to a clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Normalized {
    /// Before (LUFS).
    pub loudness_lufs: f64,
    pub gain_db: f64,
    /// After (dBTP).
    pub true_peak_dbtp: f64,
    pub peak_limited: bool,
}

/// Normalizes `pcm` in place; `None` (untouched) when it is silent.
pub(crate) fn normalize(pcm: &mut [f32], rate: u32) -> Result<Option<Normalized>, EnrollError> {
    let (Some(l), tp) = measure(pcm, rate)? else {
        return Ok(None);
    };
    let mut gain = TARGET_LUFS - l;
    let mut limited = false;
    if tp + gain > TRUE_PEAK_CEILING_DBTP {
        gain = TRUE_PEAK_CEILING_DBTP - tp;
        limited = true;
    }
    let g = 10f32.powf(gain as f32 / 20.0);
    pcm.iter_mut().for_each(|s| *s *= g);
    Ok(Some(Normalized {
        loudness_lufs: l,
        gain_db: gain,
        true_peak_dbtp: tp + gain,
        peak_limited: limited,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_tone_lands_on_target_and_a_peaky_one_under_the_ceiling() {
        let rate = 22_050;
        // 1 kHz sine at -30 dBFS peak, 3 s.
        let mut pcm: Vec<f32> = (0..rate * 3)
            .map(|i| 0.0316 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin())
            .collect();
        let n = normalize(&mut pcm, rate)
            .expect("normalize")
            .expect("not silent");
        assert!(!n.peak_limited);
        let (after, _) = measure(&pcm, rate).expect("measure");
        assert!(
            (after.expect("loud") - TARGET_LUFS).abs() < 0.1,
            "{after:?}"
        );

        // Sparse clicks: very peaky, the ceiling decides.
        let mut clicks = vec![0.0f32; rate as usize * 3];
        for k in (0..clicks.len()).step_by(2205) {
            clicks[k] = 0.05;
        }
        let n = normalize(&mut clicks, rate)
            .expect("normalize")
            .expect("not silent");
        assert!(n.peak_limited);
        let (_, tp) = measure(&clicks, rate).expect("measure");
        assert!(tp <= TRUE_PEAK_CEILING_DBTP + 0.1, "true peak {tp}");
    }

    #[test]
    fn silence_is_left_alone() {
        let mut pcm = vec![0.0f32; 22_050];
        assert!(normalize(&mut pcm, 22_050).expect("normalize").is_none());
    }
}
