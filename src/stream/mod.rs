//! stream: encode once, write the outputs.
//!
//! In: per video frame, one RGBA8 frame (`frame_width x frame_height`) and exactly the audio of
//! that frame's interval on the shared clock ([`crate::media`]: mono f32 at 48 kHz; frame `n`
//! is shown at `MediaTime::of_frame(n, fps)`). Out: one ffmpeg process encoding H.264
//! (libx264 veryfast/zerolatency, High profile, BT.709 4:2:0, a keyframe exactly every 2 s,
//! CBR-like rate scaled to the output size: 2.5 Mb/s at 720p30) + AAC-LC 128 kb/s 48 kHz mono,
//! written to [`Outputs`]:
//! - [`Outputs::Live`]: one `tee` muxer (each stream mapped once) writes the HLS preview
//!   `hls_dir/index.m3u8` (2 s segments, 20 s sliding window, old segments deleted,
//!   `EXT-X-PROGRAM-DATE-TIME`, independent segments), a fragmented MP4 recording that stays
//!   playable if the process is killed, and an FLV copy on a pipe (pushes, recording continuation)
//!   (fd 4). Every tee slave has `onfail=ignore`: a slave that fails is dropped and the others
//!   go on; the encoder's log line "Slave muxer #N failed" raises `recording_failed` (the alarm
//!   for a full disk: `ALARM` in the log) or `output_down` for the preview.
//! - [`Outputs::File`]: a normal MP4 with the index at the front (`+faststart`).
//!
//! Push fan-out (`--push`, [`PushUrl`]: `rtmp://`, `rtmps://` via GnuTLS, `srt://` via libsrt,
//! all in Debian 12's ffmpeg 5.1): a hub thread parses the FLV pipe into tags and offers each to
//! every push output's bounded queue ([`PUSH_QUEUE_TAGS`]) without blocking; a full queue drops
//! whole GOPs for that output only, so no output can slow the encoder. Each output feeds its own
//! relay ffmpeg (`-c copy -copyts`; FLV for RTMP/RTMPS, MPEG-TS for SRT), starting every
//! connection with the FLV header, onMetaData and the AVC/AAC sequence headers, then the tags
//! from the current GOP's keyframe (kept while the output was down; the next keyframe if that
//! one went out before the failure) with their original timestamps: after a reconnect the
//! platform's timeline continues at the media time where the stream resumed (monotonic). The
//! same hub feeds the recording's continuation: when the tee's recording fails (a full disk),
//! a relay writes `NAME.part2.mp4` from the GOP on air (a new part per attempt, with the same
//! backoff) until the show ends. A failed output
//! (unreachable, refused key, server restart, relay exit) is retried after a jittered
//! exponential backoff ([`PUSH_BACKOFF_START`] 1 s, doubling to [`PUSH_BACKOFF_CAP`] 30 s,
//! 50–100 % jitter, back to 1 s after [`PUSH_HEALTHY_AFTER`] connected), without touching the
//! other outputs or the recording. Events (with [`Encoder::start_with_events`]): `output_up`,
//! `output_down {output, error, retry_in_s}`, `recording_failed {path, error}`. Outputs are
//! named `#N` + the URL with its stream key, password and query values as `****`, in events
//! and logs alike (the relays' log lines are scrubbed too). [`Encoder::outputs`] and
//! [`StreamStats::outputs`] give each push's status ([`OutputStatus`]).
//!
//! Video goes to ffmpeg's stdin and audio to a second pipe on its fd 3, each from its own writer
//! thread behind a bounded queue, so neither pipe can block the other. Timestamps come from the
//! frame and sample counts only. ffmpeg's stderr goes to `tracing` (target
//! `anchor::stream::ffmpeg`; relays: `anchor::stream::relay`) and its last lines into errors.
//!
//! Metadata: `title`, `comment` = AI label, `ai_label`, `ai_generated=1` in the MP4 (`udta`/
//! `mdta` keys: `ffprobe -show_format` shows all four) and in the FLV `onMetaData` of every
//! RTMP push (a server must pass it on: nginx-rtmp needs `meta copy`; its default `meta on`
//! rebuilds onMetaData from the codec data); in the HLS segments the MPEG-TS `service_name`
//! (title) and `service_provider` ("AI-generated: " + label), which ffprobe shows as program
//! tags. TODO: HLS-level timed metadata (ID3 / `EXT-X-DATERANGE`) is not written; ffmpeg 5.1's
//! HLS muxer has no option for it.

mod chapters;
mod command;
mod config;
mod encoder;
mod fanout;
mod flv;
mod process;
mod push;
#[cfg(test)]
mod push_tests;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

pub use chapters::{Chapter, ChapterFiles, ChapterIndex, embed_chapters, write_chapter_files};
pub use command::{HLS_PLAYLIST, HLS_SEGMENT_PATTERN};
pub use config::{
    AUDIO_BITRATE, DEFAULT_FFMPEG, DEFAULT_STALL_TIMEOUT, EncoderOptions, FFMPEG_ENV,
    HLS_LIST_SIZE, HLS_SEGMENT_SECS, Outputs, PUSH_BACKOFF_CAP, PUSH_BACKOFF_START,
    PUSH_HEALTHY_AFTER, PUSH_QUEUE_TAGS, StreamConfig, VIDEO_BITRATE_720P30, video_bitrate,
};
pub use encoder::{Encoder, StreamStats};
pub use fanout::OutputStatus;
pub use push::{PushProtocol, PushUrl};

/// Errors of the stream stage. [`StreamError::is_recoverable`] says whether the same
/// [`Encoder`] can keep going.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The ffmpeg program could not be found. Not recoverable: install ffmpeg.
    #[error(
        "ffmpeg not found on PATH (tried `{}`); install it with `sudo apt-get install ffmpeg` (scripts/setup.sh does this) or set ANCHOR_FFMPEG",
        program.display()
    )]
    FfmpegNotFound { program: PathBuf },
    /// ffmpeg exists but could not be started (permissions, resources). Not recoverable.
    #[error("could not start {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    /// The configuration is unusable (sizes, fps, empty AI label, path characters). Not
    /// recoverable: fix the config.
    #[error("invalid stream config: {field}: {problem}")]
    InvalidConfig {
        field: &'static str,
        problem: String,
    },
    /// An output directory could not be created or written. Not recoverable: fix the path or
    /// its permissions.
    #[error("output directory {} is not writable: {source}", path.display())]
    OutputNotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A pushed frame had the wrong number of bytes. Recoverable: nothing was written; push a
    /// correct frame.
    #[error("frame {frame}: expected {expected} bytes of RGBA8, got {got}")]
    FrameSize {
        frame: u64,
        expected: usize,
        got: usize,
    },
    /// A frame came with the wrong number of audio samples. Recoverable: nothing was written.
    #[error("frame {frame}: expected {expected} audio samples for its interval, got {got}")]
    AudioLength {
        frame: u64,
        expected: usize,
        got: usize,
    },
    /// ffmpeg exited before we were done (or with an error at the end). Not recoverable for
    /// this encoder; a fragmented recording written so far stays playable. Start a new one.
    #[error("ffmpeg exited early ({status}); last lines of its log:\n{log_tail}")]
    FfmpegExited { status: String, log_tail: String },
    /// ffmpeg took no data for the stall timeout while still running; it was killed. Not
    /// recoverable for this encoder.
    #[error("ffmpeg accepted no data for {waited:?}; last lines of its log:\n{log_tail}")]
    Stalled { waited: Duration, log_tail: String },
    /// The encoder stopped after an earlier error (given) and takes no more data. Not
    /// recoverable.
    #[error("encoder is closed: {reason}")]
    Closed { reason: String },
    /// An operating-system error around the process or its pipes. Not recoverable.
    #[error("stream i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl StreamError {
    /// True when the encoder that returned this error can still take frames.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            StreamError::FrameSize { .. } | StreamError::AudioLength { .. }
        )
    }
}
