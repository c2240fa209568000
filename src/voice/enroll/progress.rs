//! Progress bars (indicatif), one per stage, in minutes of audio. The stages run interleaved
//! over a stream, so their bars advance together; each shows its own speed (× real time).

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::report::StageTimes;

/// Names of the streaming stages, in order.
pub(crate) const STAGES: [&str; 5] = ["decode", "resample", "loudness", "vad", "segment"];

pub(crate) struct Progress {
    mp: MultiProgress,
    bars: Vec<ProgressBar>,
    transcribe: Option<ProgressBar>,
    enabled: bool,
    last: Option<Instant>,
    total_s: f64,
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>10} [{bar:32}] {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress {
    /// `total_s`: audio to process, as far as known (bars grow when it was not).
    pub(crate) fn new(enabled: bool, total_s: f64) -> Progress {
        let mp = if enabled {
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        let len = (total_s * 1000.0).max(1.0) as u64;
        let bars: Vec<ProgressBar> = STAGES
            .iter()
            .map(|name| {
                let b = mp.add(ProgressBar::new(len));
                b.set_style(style());
                b.set_prefix(*name);
                b
            })
            .collect();
        Progress {
            mp,
            bars,
            transcribe: None,
            enabled,
            last: None,
            total_s,
        }
    }

    /// Media seconds each streaming stage has done (all files so far), and the time each took.
    pub(crate) fn update(&mut self, done_s: [f64; 5], times: &StageTimes, force: bool) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if !force
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(150))
        {
            return;
        }
        self.last = Some(now);
        let secs = [
            times.decode,
            times.resample,
            times.loudness,
            times.vad,
            times.segment,
        ];
        for ((bar, done), spent) in self.bars.iter().zip(done_s).zip(secs) {
            if done > self.total_s {
                self.total_s = done;
            }
            bar.set_length((self.total_s * 1000.0) as u64);
            bar.set_position((done * 1000.0) as u64);
            let speed = if spent > 0.0 { done / spent } else { 0.0 };
            bar.set_message(format!(
                "{:.1}/{:.1} min · {:.0}× real time",
                done / 60.0,
                self.total_s / 60.0,
                speed
            ));
        }
    }

    /// All audio is through the streaming stages.
    pub(crate) fn streaming_done(&mut self, done_s: [f64; 5], times: &StageTimes) {
        self.total_s = done_s[0];
        self.update(done_s, times, true);
        for b in &self.bars {
            b.finish();
        }
    }

    pub(crate) fn start_transcribe(&mut self, clips: usize) {
        let bar = self.mp.add(ProgressBar::new(clips as u64));
        bar.set_style(style());
        bar.set_prefix("transcribe");
        bar.set_message(format!("0/{clips} clips"));
        self.transcribe = Some(bar);
    }

    pub(crate) fn transcribed(&self, done: usize, clips: usize) {
        if let Some(bar) = &self.transcribe {
            bar.set_position(done as u64);
            bar.set_message(format!("{done}/{clips} clips"));
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.transcribe {
            bar.finish();
        }
    }
}
