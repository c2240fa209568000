//! host: the human host's feed, decoded to the show's frame format, and the operator's say.
//!
//! In: a feed the human host pushes to the runtime (RTMP or SRT on a local address: the
//! runtime listens, e.g. `rtmp://127.0.0.1:1936/live/host`, `srt://0.0.0.0:9000`) or a URL the
//! runtime pulls (any other address: `rtmp://`, `srt://`, `http(s)://…m3u8`, a file), at any
//! resolution and frame rate, with or without audio; and the operator's override
//! ([`HostControl::set_operator`]).
//!
//! Out ([`HostInput`]): RGBA8 frames of exactly the show's frame size (scaled and padded to keep
//! the aspect ratio) at exactly the show's frame rate, and mono f32 audio at 48 kHz (silence when
//! the feed has none), pulled by the frame loop once per tick ([`HostInput::next_frame`],
//! [`HostInput::take_audio`]). A fresh frame means the host is live; the show decides what goes
//! on air (see `crate::show` and its hand-over).
//!
//! One ffmpeg process decodes the feed (`-listen 1` or `mode=listener` for a pushed feed), video
//! to its stdout and audio to a pipe on its fd 3, each read by its own thread into a small
//! buffer: at most [`FRAME_BUFFER`] frames (the oldest are dropped) and [`AUDIO_BUFFER`] of
//! audio (the oldest dropped), so a stalled frame loop never grows memory and the host's
//! latency stays low. When the feed ends (the host disconnected, the URL failed) the process is
//! started again: at once for a listener, so a reconnecting host is accepted, and with backoff
//! ([`PULL_BACKOFF_START`] doubling to [`PULL_BACKOFF_CAP`]) for a pulled URL. A feed failing
//! never stops the show.

mod input;

use std::path::PathBuf;
use std::time::Duration;

pub use input::{HostControl, HostInput, HostStatus};

/// Default time the host may be gone before the avatar takes over the show.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// Decoded frames held for the frame loop; older ones are dropped.
pub const FRAME_BUFFER: usize = 4;
/// Decoded host audio held for the frame loop; older audio is dropped.
pub const AUDIO_BUFFER: Duration = Duration::from_millis(500);
/// Audio backlog the frame loop keeps at most when taking host audio (latency cap).
pub const AUDIO_BACKLOG: Duration = Duration::from_millis(120);
/// Pause before a listener is started again after its host disconnected.
pub const LISTEN_RESTART: Duration = Duration::from_millis(200);
/// Backoff of a pulled feed that failed: doubles from the start to the cap; reset after a
/// feed that ran for [`PULL_HEALTHY`].
pub const PULL_BACKOFF_START: Duration = Duration::from_secs(1);
pub const PULL_BACKOFF_CAP: Duration = Duration::from_secs(30);
pub const PULL_HEALTHY: Duration = Duration::from_secs(10);

/// Where the host's feed comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSource {
    /// The host pushes to this local address; the runtime listens.
    Listen(String),
    /// The runtime pulls this URL (or file).
    Pull(String),
}

impl HostSource {
    /// `rtmp://` and `srt://` URLs on a local address (127.0.0.1, localhost, 0.0.0.0, ::,
    /// [::1]) are listened on; anything else is pulled.
    pub fn parse(url: &str) -> Result<HostSource, HostError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(HostError::InvalidSource {
                url: url.to_owned(),
                problem: "empty".into(),
            });
        }
        if url.chars().any(char::is_whitespace) {
            return Err(HostError::InvalidSource {
                url: url.to_owned(),
                problem: "contains spaces".into(),
            });
        }
        let lower = url.to_ascii_lowercase();
        let listenable = ["rtmp://", "srt://"]
            .iter()
            .find_map(|p| lower.strip_prefix(p));
        if let Some(rest) = listenable {
            let authority = rest.split(['/', '?']).next().unwrap_or("");
            let host = match authority.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(""),
                None => authority.split(':').next().unwrap_or(""),
            };
            if host.is_empty() {
                return Err(HostError::InvalidSource {
                    url: url.to_owned(),
                    problem: "no host address".into(),
                });
            }
            if matches!(host, "127.0.0.1" | "localhost" | "0.0.0.0" | "::" | "::1") {
                return Ok(HostSource::Listen(url.to_owned()));
            }
        }
        Ok(HostSource::Pull(url.to_owned()))
    }

    pub fn url(&self) -> &str {
        match self {
            HostSource::Listen(u) | HostSource::Pull(u) => u,
        }
    }
}

/// The host input of a show: the source and the frame format to decode to.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub source: HostSource,
    /// The show's frame size (what the encoder takes) and frame rate.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// The ffmpeg program (default: `ANCHOR_FFMPEG` or `ffmpeg`).
    pub ffmpeg: PathBuf,
}

/// Errors of the host input. Only starting can fail; a feed that fails later is restarted and
/// logged, never an error of the show.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The `--host-input` value is unusable. Not recoverable: fix the flag.
    #[error(
        "invalid host input `{url}`: {problem}; use e.g. rtmp://127.0.0.1:1936/live/host (the host pushes to it) or a URL to pull"
    )]
    InvalidSource { url: String, problem: String },
    /// Invalid frame size or rate. Not recoverable: fix the show's video settings.
    #[error(
        "invalid host frame format {width}x{height}@{fps}: sizes must be even and at least 64, fps 1..=120"
    )]
    InvalidFormat { width: u32, height: u32, fps: u32 },
    /// ffmpeg was not found. Not recoverable: install it.
    #[error(
        "ffmpeg not found (tried `{}`); install it with `sudo apt-get install ffmpeg` or set ANCHOR_FFMPEG",
        program.display()
    )]
    FfmpegNotFound { program: PathBuf },
    /// A thread or pipe could not be created. Not recoverable.
    #[error("host input: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_rtmp_and_srt_are_listened_on_other_urls_pulled() {
        for url in [
            "rtmp://127.0.0.1:1936/live/host",
            "rtmp://0.0.0.0:1936/live/host",
            "srt://127.0.0.1:9000?mode=listener",
            "srt://[::1]:9000",
            "RTMP://localhost/live/x",
        ] {
            assert_eq!(
                HostSource::parse(url).unwrap(),
                HostSource::Listen(url.to_owned())
            );
        }
        for url in [
            "rtmp://live.example.com/app/key",
            "srt://10.0.0.2:9000",
            "https://cdn.example.com/host/index.m3u8",
            "/tmp/host.mp4",
        ] {
            assert_eq!(
                HostSource::parse(url).unwrap(),
                HostSource::Pull(url.to_owned())
            );
        }
    }

    #[test]
    fn bad_sources_are_refused_with_what_to_do() {
        for url in ["", "rtmp:///live", "rtmp://127.0.0.1/a b"] {
            let e = HostSource::parse(url).unwrap_err().to_string();
            assert!(e.contains("use e.g. rtmp://"), "{e}");
        }
    }
}
