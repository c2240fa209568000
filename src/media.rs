//! The one output timeline. Audio is the master clock: media time is counted in output audio
//! samples, and video frame `n` is shown at `n * SAMPLE_RATE / fps` samples.

/// Output audio sample rate (Hz), mono `f32` in `[-1, 1]`. Every stage resamples to this.
pub const SAMPLE_RATE: u32 = 48_000;

/// A presentation time on the output timeline, in output audio samples since the stream began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MediaTime(pub u64);

impl MediaTime {
    pub const ZERO: MediaTime = MediaTime(0);

    /// Media time of video frame `frame` at `fps` frames per second.
    pub fn of_frame(frame: u64, fps: u32) -> MediaTime {
        MediaTime(frame * u64::from(SAMPLE_RATE) / u64::from(fps))
    }

    pub fn from_secs(secs: f64) -> MediaTime {
        MediaTime((secs.max(0.0) * f64::from(SAMPLE_RATE)).round() as u64)
    }

    pub fn secs(self) -> f64 {
        self.0 as f64 / f64::from(SAMPLE_RATE)
    }
}
