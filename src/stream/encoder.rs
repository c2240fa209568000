//! [`Encoder`]: one ffmpeg process fed through two pipes by two writer threads.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, bounded};

use super::StreamError;
use super::command::{TEE_FLV, TEE_HLS, TEE_RECORDING, ffmpeg_args};
use super::config::{EncoderOptions, Outputs, StreamConfig};
use super::fanout::{Fanout, OutputStatus, RelayContext};
use super::process::{self, LineWatch, StderrTail};
use crate::events::{EventKind, Events};
use crate::media::MediaTime;

/// Frames queued for the video writer (each one `frame_bytes`; 3 at 1280x720 ≈ 11 MB).
const VIDEO_QUEUE: usize = 3;
/// Seconds of audio queued for the audio writer (cheap: 192 kB/s), so a video pipe that ffmpeg
/// is slow to read never holds back audio it is waiting for.
const AUDIO_QUEUE_SECS: usize = 2;
/// How long dropping an unfinished encoder waits for ffmpeg before killing it.
const DROP_WAIT: Duration = Duration::from_secs(10);
/// How long to wait for ffmpeg's exit status after a pipe broke.
const FAILED_WAIT: Duration = Duration::from_secs(5);

/// What an encode produced, from our counts (what was handed to ffmpeg and accepted).
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStats {
    /// Video frames written.
    pub frames: u64,
    /// Audio samples written (48 kHz mono).
    pub audio_samples: u64,
    /// Media duration: `MediaTime::of_frame(frames, fps)`.
    pub duration: MediaTime,
    /// Wall time from `start` to the end of `finish`.
    pub wall: Duration,
    /// The push outputs at the end, in `--push` order.
    pub outputs: Vec<OutputStatus>,
}

impl StreamStats {
    /// Media seconds encoded per wall second (above 1: faster than real time).
    pub fn realtime_factor(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall > 0.0 {
            self.duration.secs() / wall
        } else {
            f64::INFINITY
        }
    }
}

/// The parts that exist while ffmpeg runs.
struct Running {
    child: std::process::Child,
    video_tx: Sender<Vec<u8>>,
    audio_tx: Sender<Vec<f32>>,
    video_thread: JoinHandle<std::io::Result<()>>,
    audio_thread: JoinHandle<std::io::Result<()>>,
    stderr_thread: JoinHandle<()>,
    /// The push outputs, when there are any.
    fanout: Option<Fanout>,
}

/// Encodes pushed RGBA frames and their audio once (H.264 + AAC) with one ffmpeg process and
/// writes the [`super::Outputs`].
///
/// Contract: call [`Encoder::push`] once per video frame, in order, with that frame's RGBA8
/// pixels (`frame_width * frame_height * 4` bytes, rows top to bottom) and exactly the audio
/// samples of its interval, `MediaTime::of_frame(n + 1, fps) - MediaTime::of_frame(n, fps)`
/// (mono f32 at 48 kHz, nominally in `[-1, 1]`; NaN/inf are written as 0). Timestamps come from
/// these counts only, never from the wall clock, so pacing (live) or its absence (render) does
/// not change the output. `push` blocks while ffmpeg is behind (bounded queues: 3 frames, 2 s of
/// audio; nothing is dropped) and fails with [`StreamError::Stalled`] after
/// [`EncoderOptions::stall_timeout`]. Call [`Encoder::finish`] to flush and close the files;
/// dropping an unfinished encoder closes the pipes too (the files are still finalized) but
/// reports nothing.
pub struct Encoder {
    running: Option<Running>,
    recycle_rx: Receiver<Vec<u8>>,
    tail: Arc<StderrTail>,
    frame_bytes: usize,
    fps: u32,
    frames: u64,
    samples: u64,
    started: Instant,
    stall_timeout: Duration,
    /// Why the encoder stopped, once it has.
    failure: Option<String>,
    /// Media time (ms) of the next frame, for events raised off the push path.
    media_ms: Arc<AtomicU64>,
    /// The push outputs' last status, once the encoder has finished.
    final_outputs: Vec<OutputStatus>,
}

impl Encoder {
    /// Validates `cfg`, prepares the output directories and starts ffmpeg (found through
    /// [`EncoderOptions::default`]: `$ANCHOR_FFMPEG` or `ffmpeg` on `PATH`).
    pub fn start(cfg: &StreamConfig) -> Result<Encoder, StreamError> {
        Encoder::start_with(cfg, &EncoderOptions::default())
    }

    /// [`Encoder::start`] with explicit options.
    pub fn start_with(cfg: &StreamConfig, opts: &EncoderOptions) -> Result<Encoder, StreamError> {
        Encoder::start_inner(cfg, opts, None)
    }

    /// [`Encoder::start_with`], announcing output failures and reconnects on `events`
    /// (`output_up`, `output_down`, `recording_failed`; pts = media time when it happened).
    pub fn start_with_events(
        cfg: &StreamConfig,
        opts: &EncoderOptions,
        events: &Events,
    ) -> Result<Encoder, StreamError> {
        Encoder::start_inner(cfg, opts, Some(events.clone()))
    }

    fn start_inner(
        cfg: &StreamConfig,
        opts: &EncoderOptions,
        events: Option<Events>,
    ) -> Result<Encoder, StreamError> {
        cfg.validate()?;
        let args = ffmpeg_args(cfg);
        let media_ms = Arc::new(AtomicU64::new(0));
        // Live: the tee's FLV copy feeds the pushes and, once the recording failed (`armed`),
        // the recording's continuation.
        let (pushes, continuation, watch) = match &cfg.outputs {
            Outputs::Live {
                recording, pushes, ..
            } => {
                let armed = Arc::new(AtomicBool::new(false));
                let watch = slave_watch(
                    recording.clone(),
                    events.clone(),
                    Arc::clone(&media_ms),
                    Arc::clone(&armed),
                );
                (
                    pushes.clone(),
                    Some((recording.clone(), armed)),
                    Some(watch),
                )
            }
            Outputs::File { .. } => (Vec::new(), None, None),
        };
        tracing::info!(
            ffmpeg = %opts.ffmpeg.display(),
            args = %args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
            "starting encoder"
        );
        let spawned = process::spawn(
            &opts.ffmpeg,
            opts.search_path.as_deref(),
            &args,
            opts.stderr_log.as_deref(),
            continuation.is_some(),
            watch,
        )?;
        let (video_tx, video_rx) = bounded::<Vec<u8>>(VIDEO_QUEUE);
        let (audio_tx, audio_rx) = bounded::<Vec<f32>>(AUDIO_QUEUE_SECS * cfg.fps as usize);
        let (recycle_tx, recycle_rx) = bounded::<Vec<u8>>(VIDEO_QUEUE + 1);
        let mut child = spawned.child;
        let video = spawned.video;
        let audio = spawned.audio;
        let fanout = match spawned.flv {
            Some(flv) => {
                let ctx = RelayContext {
                    ffmpeg: opts.ffmpeg.clone(),
                    search_path: opts.search_path.clone(),
                    events,
                };
                match Fanout::start(flv, &pushes, continuation, &ctx) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(StreamError::Io(e));
                    }
                }
            }
            None => None,
        };
        let threads = std::thread::Builder::new()
            .name("ffmpeg-video-in".into())
            .spawn(move || process::write_video(video_rx, recycle_tx, video))
            .and_then(|v| {
                std::thread::Builder::new()
                    .name("ffmpeg-audio-in".into())
                    .spawn(move || process::write_audio(audio_rx, audio))
                    .map(|a| (v, a))
            });
        let (video_thread, audio_thread) = match threads {
            Ok(t) => t,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StreamError::Io(e));
            }
        };
        Ok(Encoder {
            running: Some(Running {
                child,
                video_tx,
                audio_tx,
                video_thread,
                audio_thread,
                stderr_thread: spawned.stderr_thread,
                fanout,
            }),
            media_ms,
            recycle_rx,
            tail: spawned.tail,
            frame_bytes: cfg.frame_bytes(),
            fps: cfg.fps,
            frames: 0,
            samples: 0,
            started: Instant::now(),
            stall_timeout: opts.stall_timeout,
            failure: None,
            final_outputs: Vec::new(),
        })
    }

    /// Frames pushed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Audio samples pushed so far.
    pub fn audio_samples(&self) -> u64 {
        self.samples
    }

    /// Media time of the next frame to push.
    pub fn next_pts(&self) -> MediaTime {
        MediaTime::of_frame(self.frames, self.fps)
    }

    /// Audio samples expected with the next frame.
    pub fn next_audio_len(&self) -> usize {
        (MediaTime::of_frame(self.frames + 1, self.fps).0
            - MediaTime::of_frame(self.frames, self.fps).0) as usize
    }

    /// Queues one video frame and the audio of its interval (see the type's contract).
    /// A wrong-sized frame or audio slice is refused before anything is written.
    pub fn push(&mut self, frame_rgba: &[u8], audio: &[f32]) -> Result<(), StreamError> {
        let _span = tracing::trace_span!("stream_push", frame = self.frames).entered();
        if let Some(reason) = &self.failure {
            return Err(StreamError::Closed {
                reason: reason.clone(),
            });
        }
        if frame_rgba.len() != self.frame_bytes {
            return Err(StreamError::FrameSize {
                frame: self.frames,
                expected: self.frame_bytes,
                got: frame_rgba.len(),
            });
        }
        let expected = self.next_audio_len();
        if audio.len() != expected {
            return Err(StreamError::AudioLength {
                frame: self.frames,
                expected,
                got: audio.len(),
            });
        }
        let Some(running) = self.running.as_ref() else {
            return Err(StreamError::Closed {
                reason: "the encoder was already finished".to_owned(),
            });
        };
        let mut buf = self.recycle_rx.try_recv().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(frame_rgba);
        let sent = running
            .audio_tx
            .send_timeout(audio.to_vec(), self.stall_timeout)
            .map_err(|e| matches!(e, SendTimeoutError::Timeout(_)))
            .and_then(|()| {
                running
                    .video_tx
                    .send_timeout(buf, self.stall_timeout)
                    .map_err(|e| matches!(e, SendTimeoutError::Timeout(_)))
            });
        match sent {
            Ok(()) => {
                self.frames += 1;
                self.samples += audio.len() as u64;
                self.media_ms.store(
                    (self.next_pts().secs() * 1000.0) as u64,
                    AtomicOrdering::Relaxed,
                );
                Ok(())
            }
            Err(timed_out) => Err(self.fail(timed_out)),
        }
    }

    /// Closes the pipes, waits for ffmpeg to finalize the outputs and reports what was written.
    pub fn finish(mut self) -> Result<StreamStats, StreamError> {
        if let Some(reason) = self.failure.take() {
            return Err(StreamError::Closed { reason });
        }
        let Some(running) = self.running.take() else {
            return Err(StreamError::Closed {
                reason: "the encoder was already finished".to_owned(),
            });
        };
        let Running {
            mut child,
            video_tx,
            audio_tx,
            video_thread,
            audio_thread,
            stderr_thread,
            fanout,
        } = running;
        drop((video_tx, audio_tx));
        let video = join_writer(video_thread);
        let audio = join_writer(audio_thread);
        let status = child.wait()?;
        let _ = stderr_thread.join();
        if let Some(f) = fanout {
            self.final_outputs = f.finish();
        }
        if !status.success() {
            return Err(StreamError::FfmpegExited {
                status: status.to_string(),
                log_tail: self.tail.text(),
            });
        }
        video?;
        audio?;
        let stats = StreamStats {
            frames: self.frames,
            audio_samples: self.samples,
            duration: MediaTime::of_frame(self.frames, self.fps),
            wall: self.started.elapsed(),
            outputs: std::mem::take(&mut self.final_outputs),
        };
        tracing::info!(
            frames = stats.frames,
            media_s = stats.duration.secs(),
            wall_s = stats.wall.as_secs_f64(),
            realtime = stats.realtime_factor(),
            "encoder finished"
        );
        Ok(stats)
    }

    /// A pipe stopped accepting data: find out why, stop everything, remember the reason.
    fn fail(&mut self, timed_out: bool) -> StreamError {
        let Some(mut running) = self.running.take() else {
            return StreamError::Closed {
                reason: "the encoder was already finished".to_owned(),
            };
        };
        let err = if timed_out {
            match running.child.try_wait() {
                Ok(Some(status)) => StreamError::FfmpegExited {
                    status: status.to_string(),
                    log_tail: self.tail.text(),
                },
                _ => StreamError::Stalled {
                    waited: self.stall_timeout,
                    log_tail: self.tail.text(),
                },
            }
        } else {
            // A writer ended: ffmpeg closed its end (it exited) or a write failed.
            match process::wait_or_kill(&mut running.child, FAILED_WAIT) {
                Ok(status) => StreamError::FfmpegExited {
                    status: status.to_string(),
                    log_tail: self.tail.text(),
                },
                Err(e) => StreamError::Io(e),
            }
        };
        shutdown(running, Duration::ZERO);
        // Re-read the tail now that stderr is fully drained.
        let err = match err {
            StreamError::FfmpegExited { status, .. } => StreamError::FfmpegExited {
                status,
                log_tail: self.tail.text(),
            },
            other => other,
        };
        tracing::error!(error = %err, "encoder stopped");
        self.failure = Some(err.to_string());
        err
    }

    /// What each push output is doing (in `--push` order); after [`Encoder::finish`] see
    /// [`StreamStats::outputs`].
    pub fn outputs(&self) -> Vec<OutputStatus> {
        self.running
            .as_ref()
            .and_then(|r| r.fanout.as_ref())
            .map(Fanout::status)
            .unwrap_or_default()
    }

    /// Test hook: kill ffmpeg as a crash would.
    #[cfg(test)]
    pub(crate) fn kill_ffmpeg(&mut self) {
        if let Some(r) = self.running.as_mut() {
            let _ = r.child.kill();
        }
    }
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("running", &self.running.is_some())
            .field("frames", &self.frames)
            .field("samples", &self.samples)
            .field("fps", &self.fps)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            tracing::warn!(
                frames = self.frames,
                "encoder dropped without finish(); closing ffmpeg"
            );
            shutdown(running, DROP_WAIT);
        }
    }
}

/// Closes the pipes, waits up to `wait` for ffmpeg (then kills it), joins every thread.
fn shutdown(running: Running, wait: Duration) {
    let Running {
        mut child,
        video_tx,
        audio_tx,
        video_thread,
        audio_thread,
        stderr_thread,
        fanout,
    } = running;
    drop((video_tx, audio_tx));
    if let Err(e) = process::wait_or_kill(&mut child, wait) {
        tracing::warn!(error = %e, "waiting for ffmpeg failed");
    }
    // ffmpeg is gone, so the writers' pipes are closed and the threads end; the FLV pipe is
    // closed too, so the push hub ends and the relays are closed.
    let _ = join_writer(video_thread);
    let _ = join_writer(audio_thread);
    let _ = stderr_thread.join();
    if let Some(f) = fanout {
        f.finish();
    }
}

fn join_writer(handle: JoinHandle<std::io::Result<()>>) -> std::io::Result<()> {
    handle
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("pipe writer thread panicked")))
}

/// Watches the encoder's log for a tee slave giving up ("Slave muxer #N failed: ERR,
/// continuing with ..."): the recording (disk full) raises `recording_failed` and sets
/// `recording_failed` (its continuation starts), the preview or the push pipe `output_down`
/// without retry. The stream goes on either way.
fn slave_watch(
    recording: PathBuf,
    events: Option<Events>,
    media_ms: Arc<AtomicU64>,
    recording_failed: Arc<AtomicBool>,
) -> LineWatch {
    Box::new(move |line: &str| {
        let Some(rest) = line.split("Slave muxer #").nth(1) else {
            return;
        };
        let Some((index, tail)) = rest.split_once(" failed: ") else {
            return;
        };
        let Ok(index) = index.trim().parse::<u32>() else {
            return;
        };
        let error = tail
            .split(", continuing with")
            .next()
            .unwrap_or(tail)
            .trim()
            .to_owned();
        let pts = media_ms.load(AtomicOrdering::Relaxed) as f64 / 1000.0;
        let kind = match index {
            TEE_RECORDING => {
                recording_failed.store(true, AtomicOrdering::Relaxed);
                tracing::error!(
                    path = %recording.display(),
                    %error,
                    pts,
                    "ALARM: the recording stopped being written; the stream and pushes go on. Free disk space: the recording continues in {} (then .part3, ...) as soon as the disk takes it",
                    super::fanout::part_path(&recording, 2).display()
                );
                EventKind::RecordingFailed {
                    path: recording.display().to_string(),
                    error,
                }
            }
            TEE_HLS | TEE_FLV => {
                let output = if index == TEE_HLS { "hls" } else { "push-hub" };
                tracing::error!(output, %error, pts, "output stopped; the other outputs go on");
                EventKind::OutputDown {
                    output: output.to_owned(),
                    error,
                    retry_in_s: None,
                }
            }
            _ => return,
        };
        if let Some(events) = &events {
            events.emit(pts, kind);
        }
    })
}
