//! What the encoder is asked to produce ([`StreamConfig`], [`Outputs`]) and how ffmpeg is found
//! and run ([`EncoderOptions`]), plus the checks done before any process is started.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::StreamError;
use super::push::PushUrl;

/// Environment variable naming the ffmpeg program (a path, or a name looked up on `PATH`).
pub const FFMPEG_ENV: &str = "ANCHOR_FFMPEG";
/// Program run when [`FFMPEG_ENV`] is not set.
pub const DEFAULT_FFMPEG: &str = "ffmpeg";
/// HLS segment length. Equal to the keyframe interval, so every segment starts on a keyframe.
pub const HLS_SEGMENT_SECS: u32 = 2;
/// Segments kept in the live playlist (and on disk, plus one): a 20 s sliding window.
pub const HLS_LIST_SIZE: u32 = 10;
/// How long `push` waits for ffmpeg to take a frame before reporting [`StreamError::Stalled`].
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// AAC bitrate, bits per second.
pub const AUDIO_BITRATE: u32 = 128_000;
/// First wait before a failed push output is retried; it doubles per failure up to
/// [`PUSH_BACKOFF_CAP`], each wait jittered to 50–100 % of its value.
pub const PUSH_BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest wait between two attempts of a failing push output.
pub const PUSH_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// A push that stayed connected this long counts as healthy again: its next wait restarts at
/// [`PUSH_BACKOFF_START`].
pub const PUSH_HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// FLV tags queued per push output (about 6 s of 30 fps video + AAC). When full, the output
/// drops tags up to the next keyframe (whole GOPs); the encoder never waits for an output.
pub const PUSH_QUEUE_TAGS: usize = 512;

/// Video bitrate at 1280x720, 30 fps; other sizes scale with the pixel count (see [`video_bitrate`]).
pub const VIDEO_BITRATE_720P30: u32 = 2_500_000;

/// What to encode: the frames we push and what ffmpeg makes of them.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// Width of the RGBA8 frames given to [`super::Encoder::push`].
    pub frame_width: u32,
    /// Height of the RGBA8 frames given to [`super::Encoder::push`].
    pub frame_height: u32,
    /// Encoded width (even); ffmpeg scales (bicubic) when it differs from the frame size.
    pub out_width: u32,
    /// Encoded height (even).
    pub out_height: u32,
    /// Video frames per second; frame `n` is shown at `MediaTime::of_frame(n, fps)`.
    pub fps: u32,
    /// Where the encoded stream goes.
    pub outputs: Outputs,
    /// Stream title (container `title`, MPEG-TS `service_name`).
    pub title: String,
    /// AI-content disclosure, written into the container metadata (`comment`, `ai_label`,
    /// `ai_generated=1`; MPEG-TS `service_provider`). Must not be empty.
    pub ai_label: String,
}

/// Where the one encoded stream is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outputs {
    /// On air: an HLS preview (`hls_dir/index.m3u8`, 2 s segments, 20 s sliding window, old
    /// segments deleted), a fragmented MP4 recording that stays playable if the process dies,
    /// and any number of pushes (RTMP/RTMPS/SRT), each retried on its own (see the module doc).
    /// A failing HLS output or recording (disk full) is dropped with an alarm without stopping
    /// the other outputs.
    Live {
        hls_dir: PathBuf,
        recording: PathBuf,
        pushes: Vec<PushUrl>,
    },
    /// A normal MP4 (moov at the front, `+faststart`), for `render` mode.
    File { path: PathBuf },
}

/// How ffmpeg is run. `Default` reads [`FFMPEG_ENV`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderOptions {
    /// The ffmpeg program: a path, or a name searched on `PATH` (or on `search_path`).
    pub ffmpeg: PathBuf,
    /// `PATH` used to find and run ffmpeg; `None` inherits ours.
    pub search_path: Option<OsString>,
    /// Also append ffmpeg's stderr to this file (it always goes to `tracing`, target
    /// `anchor::stream::ffmpeg`, and the last lines are kept for error messages).
    pub stderr_log: Option<PathBuf>,
    /// How long `push` may block on a full pipe before giving up with [`StreamError::Stalled`].
    pub stall_timeout: Duration,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        let ffmpeg = std::env::var_os(FFMPEG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FFMPEG));
        EncoderOptions {
            ffmpeg,
            search_path: None,
            stderr_log: None,
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

impl StreamConfig {
    /// Bytes in one pushed frame (`frame_width * frame_height * 4`).
    pub fn frame_bytes(&self) -> usize {
        self.frame_width as usize * self.frame_height as usize * 4
    }

    /// Checks sizes, rate and label, then creates the output directories and makes sure they are
    /// writable — so these errors come from us in one clear line, not from ffmpeg later.
    pub(crate) fn validate(&self) -> Result<(), StreamError> {
        let bad = |field: &'static str, problem: String| {
            Err(StreamError::InvalidConfig { field, problem })
        };
        if self.frame_width == 0 || self.frame_height == 0 {
            return bad(
                "frame_width/frame_height",
                format!("{}x{} is empty", self.frame_width, self.frame_height),
            );
        }
        if self.frame_width > 8192 || self.frame_height > 8192 {
            return bad(
                "frame_width/frame_height",
                format!(
                    "{}x{} is larger than 8192",
                    self.frame_width, self.frame_height
                ),
            );
        }
        if self.out_width < 2
            || self.out_height < 2
            || !self.out_width.is_multiple_of(2)
            || !self.out_height.is_multiple_of(2)
        {
            return bad(
                "out_width/out_height",
                format!(
                    "{}x{}: H.264 4:2:0 needs even sizes of at least 2",
                    self.out_width, self.out_height
                ),
            );
        }
        if self.out_width > 8192 || self.out_height > 8192 {
            return bad(
                "out_width/out_height",
                format!("{}x{} is larger than 8192", self.out_width, self.out_height),
            );
        }
        if self.fps == 0 || self.fps > 240 {
            return bad("fps", format!("{} is outside 1..=240", self.fps));
        }
        if self.ai_label.trim().is_empty() {
            return bad(
                "ai_label",
                "the AI-content disclosure label must not be empty".to_owned(),
            );
        }
        match &self.outputs {
            Outputs::File { path } => prepare_file(path)?,
            Outputs::Live {
                hls_dir, recording, ..
            } => {
                check_path_chars(hls_dir, "outputs.hls_dir")?;
                prepare_dir(hls_dir)?;
                prepare_file(recording)?;
            }
        }
        Ok(())
    }
}

/// Video bitrate (bits/s): 2.5 Mb/s at 720p30, proportional to pixels, growing with the square
/// root of the frame rate, kept within 300 kb/s ..= 12 Mb/s.
pub fn video_bitrate(width: u32, height: u32, fps: u32) -> u32 {
    let pixels = f64::from(width) * f64::from(height) / (1280.0 * 720.0);
    let rate = (f64::from(fps) / 30.0).sqrt();
    let bits = f64::from(VIDEO_BITRATE_720P30) * pixels * rate;
    // Round to whole kb/s so the command line reads well.
    ((bits.clamp(300_000.0, 12_000_000.0) / 1000.0).round() as u32) * 1000
}

/// The HLS muxer expands `%` in segment names and the playlist is a text file of lines.
fn check_path_chars(path: &Path, field: &'static str) -> Result<(), StreamError> {
    let s = path.to_string_lossy();
    if s.contains(['%', '\n', '\r']) {
        return Err(StreamError::InvalidConfig {
            field,
            problem: format!("{}: must not contain '%' or line breaks", path.display()),
        });
    }
    Ok(())
}

fn prepare_file(path: &Path) -> Result<(), StreamError> {
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return Err(StreamError::InvalidConfig {
            field: "output path",
            problem: format!("{:?} names no file", path),
        });
    }
    if path.is_dir() {
        return Err(StreamError::InvalidConfig {
            field: "output path",
            problem: format!("{} is a directory", path.display()),
        });
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    prepare_dir(parent)
}

/// Creates `dir` (and parents) and proves it writable by creating and removing a probe file.
fn prepare_dir(dir: &Path) -> Result<(), StreamError> {
    let not_writable = |source| StreamError::OutputNotWritable {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    let probe = dir.join(format!(".anchor-write-test-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .map_err(not_writable)?;
    // The probe file is ours; failing to remove it is harmless.
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
