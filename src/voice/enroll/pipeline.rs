//! One sample file through the streaming stages: decode → resample → loudness → VAD →
//! segmentation, block by block. Nothing holds the whole file: the clip rate audio lives in a
//! ring that keeps only what a future clip may still need (about 30 s), the VAD windows keep
//! a few numbers per 32 ms (about 4 MB per hour).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::analysis::{self, FileStats};
use super::decode::{self, Downmix, OpenError};
use super::loudness::{self, Meter, Normalized};
use super::progress::Progress;
use super::report::{DropReason, DroppedClip, FileReport, StageTimes, Verdict};
use super::segment::{self, ClipSpan, Cut, Segmenter};
use super::vad::{self, Region, RegionDetector, Silero, VadStream, WindowFeat};
use super::{CLIP_SAMPLE_RATE, EnrollError, MIN_SNR_DB};
use crate::voice::resample::StreamResampler;

/// A clip cut, normalized and written, waiting for the file's verdict.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Where it was written (a temporary name in the staging `clips/`).
    pub path: PathBuf,
    pub file: usize,
    pub span: ClipSpan,
    pub norm: Normalized,
    pub snr_db: f64,
}

/// What one file gave.
pub(crate) struct FileOutcome {
    pub report: FileReport,
    pub kept: Vec<Candidate>,
    pub dropped: Vec<DroppedClip>,
    /// Frames decoded and clipped samples (for the overall clipping figure), used files only.
    pub frames: u64,
    pub clipped: u64,
    pub snr_weight: Option<(f64, f64)>,
}

/// State shared by all files of one enrollment.
pub(crate) struct Runner {
    pub vad: Silero,
    pub clips_dir: PathBuf,
    pub progress: Progress,
    pub times: StageTimes,
    /// Media seconds done per streaming stage (all files so far).
    pub done: [f64; 5],
    pub next_cut: usize,
}

/// Clip-rate audio with an absolute start, trimmed from the front.
struct Ring {
    base: u64,
    buf: VecDeque<f32>,
}

impl Ring {
    fn extend(&mut self, s: &[f32]) {
        self.buf.extend(s.iter().copied());
    }

    /// Samples `from..to` (absolute); parts no longer (or not yet) held are silence.
    fn copy(&self, from: u64, to: u64) -> Vec<f32> {
        (from..to)
            .map(|i| {
                i.checked_sub(self.base)
                    .and_then(|k| self.buf.get(k as usize))
                    .copied()
                    .unwrap_or(0.0)
            })
            .collect()
    }

    /// Forgets everything before `keep_from` (in steps of a second, to drain in bulk).
    fn trim(&mut self, keep_from: u64) {
        let n = keep_from.saturating_sub(self.base);
        if n >= u64::from(CLIP_SAMPLE_RATE) {
            let n = (n as usize).min(self.buf.len());
            self.buf.drain(..n);
            self.base += n as u64;
        }
    }
}

/// Per-file streaming state.
struct FileRun {
    index: usize,
    work_rs: StreamResampler,
    vad_rs: StreamResampler,
    meter: Meter,
    ring: Ring,
    vad_stream: VadStream,
    feats: Vec<WindowFeat>,
    detector: RegionDetector,
    regions: Vec<Region>,
    segmenter: Segmenter,
    candidates: Vec<Candidate>,
    dropped: Vec<DroppedClip>,
    w22: Vec<f32>,
    w16: Vec<f32>,
}

fn write_clip(path: &Path, pcm: &[f32], rate: u32) -> Result<(), EnrollError> {
    let wav_err = |source| EnrollError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(wav_err)?;
    {
        let mut w16 = w.get_i16_writer(pcm.len() as u32);
        for &s in pcm {
            w16.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16);
        }
        w16.flush().map_err(wav_err)?;
    }
    w.finalize().map_err(wav_err)
}

impl FileRun {
    /// Mono audio at the source rate → all streaming stages.
    fn feed(&mut self, mono: &[f32], r: &mut Runner, src_rate: u32) -> Result<(), EnrollError> {
        let t = Instant::now();
        self.w22.clear();
        self.w16.clear();
        self.work_rs.push(mono, &mut self.w22)?;
        self.vad_rs.push(mono, &mut self.w16)?;
        let _ = src_rate;
        self.after_resample(r, t)
    }

    /// The resamplers' tails (end of file).
    fn flush(&mut self, r: &mut Runner) -> Result<(), EnrollError> {
        let t = Instant::now();
        self.w22.clear();
        self.w16.clear();
        self.work_rs.finish(&mut self.w22)?;
        self.vad_rs.finish(&mut self.w16)?;
        self.after_resample(r, t)?;
        let first = self.feats.len();
        let t = Instant::now();
        self.vad_stream.finish(&mut r.vad, &mut self.feats)?;
        r.times.vad += t.elapsed().as_secs_f64();
        self.detect(first, r)?;
        let t = Instant::now();
        if let Some(region) = self.detector.finish(self.feats.len()) {
            self.region(region);
        }
        let duration = self.ring.base as f64 / f64::from(CLIP_SAMPLE_RATE)
            + self.ring.buf.len() as f64 / f64::from(CLIP_SAMPLE_RATE);
        self.segmenter.finish(duration);
        r.times.segment += t.elapsed().as_secs_f64();
        self.cuts(r)
    }

    fn after_resample(&mut self, r: &mut Runner, t: Instant) -> Result<(), EnrollError> {
        r.times.resample += t.elapsed().as_secs_f64();
        let rate22 = f64::from(CLIP_SAMPLE_RATE);
        r.done[1] += self.w22.len() as f64 / rate22;

        let t = Instant::now();
        self.meter.add(&self.w22)?;
        r.times.loudness += t.elapsed().as_secs_f64();
        r.done[2] += self.w22.len() as f64 / rate22;

        let t = Instant::now();
        self.ring.extend(&self.w22);
        r.times.segment += t.elapsed().as_secs_f64();

        let first = self.feats.len();
        let t = Instant::now();
        self.vad_stream
            .push(&mut r.vad, &self.w16, &mut self.feats)?;
        r.times.vad += t.elapsed().as_secs_f64();
        r.done[3] += (self.feats.len() - first) as f64 * vad::WINDOW_S;

        self.detect(first, r)?;
        r.done[4] = r.done[3];
        Ok(())
    }

    /// Runs the region detector over windows `first..`, segments, cuts.
    fn detect(&mut self, first: usize, r: &mut Runner) -> Result<(), EnrollError> {
        let t = Instant::now();
        for i in first..self.feats.len() {
            if let Some(region) = self.detector.push(i, self.feats[i].prob) {
                self.region(region);
            }
        }
        r.times.segment += t.elapsed().as_secs_f64();
        self.cuts(r)?;
        // Keep only what a future clip may need.
        let now_s = self.feats.len() as f64 * vad::WINDOW_S;
        let mut keep_s = now_s - segment::REFINE_BEFORE_S;
        if let Some(s) = self.segmenter.earliest_needed() {
            keep_s = keep_s.min(s);
        }
        if let Some(w) = self.detector.open_start() {
            let open_s = w as f64 * vad::WINDOW_S;
            // A region open for longer than a clip may last is dropped when it ends.
            if now_s - open_s <= segment::MAX_CLIP_S + 1.0 {
                keep_s = keep_s.min(open_s - segment::REFINE_BEFORE_S - segment::PAD_S);
            }
        }
        let keep = ((keep_s - 0.1).max(0.0) * f64::from(CLIP_SAMPLE_RATE)) as u64;
        self.ring.trim(keep);
        Ok(())
    }

    fn region(&mut self, region: Region) {
        self.regions.push(region);
        let refined = segment::refine(&self.feats, region);
        self.segmenter.push(refined);
    }

    /// Cuts, normalizes and writes the clips the segmenter decided on.
    fn cuts(&mut self, r: &mut Runner) -> Result<(), EnrollError> {
        for cut in self.segmenter.take() {
            match cut {
                Cut::Drop { start, end, reason } => self.dropped.push(DroppedClip {
                    file: self.index,
                    start_s: start,
                    end_s: end,
                    reason,
                }),
                Cut::Clip(span) => {
                    let t = Instant::now();
                    let rate = f64::from(CLIP_SAMPLE_RATE);
                    let from = (span.cut_start * rate).round() as u64;
                    let to = (span.cut_end * rate).round() as u64;
                    let mut pcm = self.ring.copy(from, to);
                    r.times.segment += t.elapsed().as_secs_f64();
                    let t = Instant::now();
                    let norm = loudness::normalize(&mut pcm, CLIP_SAMPLE_RATE)?;
                    r.times.loudness += t.elapsed().as_secs_f64();
                    let Some(norm) = norm else {
                        self.dropped.push(DroppedClip {
                            file: self.index,
                            start_s: span.cut_start,
                            end_s: span.cut_end,
                            reason: DropReason::LowSnr { snr_db: -120.0 },
                        });
                        continue;
                    };
                    let t = Instant::now();
                    let path = r.clips_dir.join(format!(".cut-{:06}.wav", r.next_cut));
                    r.next_cut += 1;
                    write_clip(&path, &pcm, CLIP_SAMPLE_RATE)?;
                    r.times.segment += t.elapsed().as_secs_f64();
                    self.candidates.push(Candidate {
                        path,
                        file: self.index,
                        span,
                        norm,
                        snr_db: 0.0,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Runs one file; file problems become its verdict, only enrollment-level failures (disk,
/// runtime) are errors.
pub(crate) fn process_file(
    r: &mut Runner,
    index: usize,
    path: &Path,
    shown: &str,
) -> Result<FileOutcome, EnrollError> {
    let _span = tracing::info_span!("enroll_file", file = shown).entered();
    let t = Instant::now();
    let opened = decode::open(path);
    r.times.decode += t.elapsed().as_secs_f64();
    let mut source = match opened {
        Ok(s) => s,
        Err(e) => {
            let verdict = match e {
                OpenError::Empty => Verdict::Empty,
                OpenError::Unreadable(reason) => Verdict::Unreadable { reason },
                OpenError::Io(err) => Verdict::Missing {
                    reason: err.to_string(),
                },
            };
            tracing::info!(verdict = %verdict.describe(), "sample rejected");
            return Ok(FileOutcome {
                report: FileReport::new(shown, verdict),
                kept: Vec::new(),
                dropped: Vec::new(),
                frames: 0,
                clipped: 0,
                snr_weight: None,
            });
        }
    };
    let info = source.info.clone();
    let src_rate = info.sample_rate;
    let mut downmix = Downmix::new(info.channels, src_rate, vad::WINDOW_S);
    let mut run = FileRun {
        index,
        work_rs: StreamResampler::new(src_rate, CLIP_SAMPLE_RATE)?,
        vad_rs: StreamResampler::new(src_rate, vad::RATE)?,
        meter: Meter::new(CLIP_SAMPLE_RATE)?,
        ring: Ring {
            base: 0,
            buf: VecDeque::with_capacity(CLIP_SAMPLE_RATE as usize * 40),
        },
        vad_stream: VadStream::new(),
        feats: Vec::new(),
        detector: RegionDetector::default(),
        regions: Vec::new(),
        segmenter: Segmenter::default(),
        candidates: Vec::new(),
        dropped: Vec::new(),
        w22: Vec::new(),
        w16: Vec::new(),
    };
    r.vad.reset();
    let rate = f64::from(src_rate);
    loop {
        let t = Instant::now();
        let Some((block, channels)) = source.next_block() else {
            r.times.decode += t.elapsed().as_secs_f64();
            break;
        };
        let before = downmix.frames();
        let mono = downmix.push(block, channels);
        r.times.decode += t.elapsed().as_secs_f64();
        if !mono.is_empty() {
            run.feed(mono, r, src_rate)?;
        }
        r.done[0] += (downmix.frames() - before) as f64 / rate;
        r.progress.update(r.done, &r.times, false);
    }
    let t = Instant::now();
    let tail = downmix.finish().to_vec();
    r.times.decode += t.elapsed().as_secs_f64();
    if !tail.is_empty() {
        run.feed(&tail, r, src_rate)?;
    }
    run.flush(r)?;
    r.progress.update(r.done, &r.times, false);

    let frames = downmix.frames();
    let duration_s = frames as f64 / rate;
    let mut report = FileReport::new(shown, Verdict::Used);
    report.format = Some(format!("{} ({})", info.format, info.codec));
    report.sample_rate = Some(src_rate);
    report.channels = Some(info.channels);
    report.duration_s = duration_s;
    notes(&mut report, path, &source, &downmix, frames);

    if frames == 0 {
        report.verdict = if source.bad_packets > 0 || source.stopped.is_some() {
            Verdict::Unreadable {
                reason: format!(
                    "damaged: no audio could be decoded{}",
                    source
                        .stopped
                        .as_deref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default()
                ),
            }
        } else {
            Verdict::Empty
        };
        return Ok(FileOutcome {
            report,
            kept: Vec::new(),
            dropped: Vec::new(),
            frames: 0,
            clipped: 0,
            snr_weight: None,
        });
    }

    let stats = FileStats::measure(&run.feats, &run.regions, duration_s);
    report.speech_s = stats.speech_s;
    report.loudness_lufs = run.meter.integrated();
    report.peak_dbfs = stats.peak_db;
    report.snr_db = stats.snr_db;
    report.noise_floor_dbfs = stats.noise_db;
    report.high_band_db = stats.high_band_db;
    report.clipped_samples = downmix.clipped_total;
    report.background = stats.background();
    report.long_silences = stats.long_silences.clone();
    if let Some(l) = report.loudness_lufs.filter(|l| *l < -40.0) {
        report.notes.push(format!(
            "very quiet recording ({l:.0} LUFS): normalizing raises the noise with the voice"
        ));
    }
    if report.background.is_some() && stats.speech_s >= 1.0 {
        report.notes.push(match report.background {
            Some(super::report::Background::Music) => {
                "music suspected between the phrases: clips with music under the voice are dropped as noisy".into()
            }
            _ => "steady noise between the phrases: clips with too much of it are dropped as noisy".into(),
        });
    }
    report.verdict = stats.verdict(src_rate);

    let mut kept = Vec::new();
    let mut dropped = run.dropped;
    if report.verdict.is_used() {
        let noise = stats.noise_db.unwrap_or(-120.0);
        for mut c in run.candidates {
            let w = |s: f64| (s / vad::WINDOW_S).floor().max(0.0) as usize;
            let clipped: u64 = downmix
                .clipped
                .get(
                    w(c.span.cut_start).min(downmix.clipped.len())
                        ..(w(c.span.cut_end) + 1).min(downmix.clipped.len()),
                )
                .map(|s| s.iter().map(|&x| u64::from(x)).sum())
                .unwrap_or(0);
            let level = analysis::speech_level(
                &run.feats,
                w(c.span.speech_start)..w(c.span.speech_end) + 1,
            );
            c.snr_db = level.map_or(0.0, |l| l - noise);
            let reason = if clipped > 0 {
                Some(DropReason::Clipped { samples: clipped })
            } else if c.snr_db < MIN_SNR_DB {
                Some(DropReason::LowSnr { snr_db: c.snr_db })
            } else {
                None
            };
            match reason {
                Some(reason) => {
                    remove(&c.path)?;
                    dropped.push(DroppedClip {
                        file: index,
                        start_s: c.span.cut_start,
                        end_s: c.span.cut_end,
                        reason,
                    });
                }
                None => kept.push(c),
            }
        }
        if kept.is_empty() {
            report.verdict = Verdict::NoUsableClips;
        }
    } else {
        for c in &run.candidates {
            remove(&c.path)?;
        }
        dropped.clear();
    }
    report.kept_clips = kept.len();
    report.kept_speech_s = kept
        .iter()
        .fold(0.0, |s, c| s + c.span.speech_end - c.span.speech_start);
    report.dropped_clips = dropped.len();
    dropped.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    // Debug: the verdicts go into the report (and `anchor voice enroll` prints them); an info
    // line here would be drawn through the progress bars.
    tracing::debug!(
        verdict = %report.verdict.describe(),
        duration_s,
        speech_s = stats.speech_s,
        kept = kept.len(),
        dropped = dropped.len(),
        "sample done"
    );
    let used = report.verdict.is_used();
    Ok(FileOutcome {
        kept,
        dropped,
        frames: if used {
            frames * info.channels as u64
        } else {
            0
        },
        clipped: if used { downmix.clipped_total } else { 0 },
        snr_weight: if used {
            stats.snr_db.map(|s| (s, report.kept_speech_s))
        } else {
            None
        },
        report,
    })
}

fn remove(path: &Path) -> Result<(), EnrollError> {
    std::fs::remove_file(path).map_err(|source| EnrollError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Notes on the format, the channels and damage.
fn notes(
    report: &mut FileReport,
    path: &Path,
    source: &decode::Source,
    downmix: &Downmix,
    frames: u64,
) {
    let info = &source.info;
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        let ext = ext.to_ascii_lowercase();
        if !info.extensions.is_empty() && !info.extensions.contains(&ext.as_str()) {
            report.notes.push(format!(
                "named `.{ext}` but the content is {}: read as {}",
                info.format, info.format
            ));
        }
    }
    if info.channels > 1 {
        let (used, unused) = downmix.used_channels();
        let levels = downmix.channel_levels_db();
        let list = |v: &[usize]| {
            v.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !unused.is_empty() {
            report.notes.push(format!(
                "channel {} silent: used channel {} only",
                list(&unused),
                list(&used)
            ));
            let later = unused.iter().any(|&c| {
                let loudest = levels.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                levels
                    .get(c - 1)
                    .is_some_and(|l| *l > loudest - 30.0 && *l > -70.0)
            });
            if later {
                report.notes.push(format!(
                    "channel {} was silent in the first {:.0} s but carries sound later; it was left out",
                    list(&unused),
                    decode::LOOKAHEAD_S
                ));
            }
        } else {
            report
                .notes
                .push(format!("{} channels mixed to mono", info.channels));
        }
    }
    if source.bad_packets > 0 {
        report.notes.push(format!(
            "{} damaged packet(s) skipped ({} decoded)",
            source.bad_packets, source.good_packets
        ));
    }
    if let Some(why) = &source.stopped {
        report.notes.push(format!(
            "decoding stopped at {:.1} s: {why}; the audio before it was used",
            frames as f64 / f64::from(info.sample_rate)
        ));
    }
    if let Some(n) = info.n_frames.filter(|n| *n > 0 && frames < n * 9 / 10) {
        report.notes.push(format!(
            "the header announces {:.1} s but only {:.1} s could be read (truncated?)",
            n as f64 / f64::from(info.sample_rate),
            frames as f64 / f64::from(info.sample_rate)
        ));
    }
    if downmix.clipped_total > 0 {
        report.notes.push(format!(
            "{} clipped samples (distortion at full scale): clips containing them were dropped",
            downmix.clipped_total
        ));
    }
}
