//! show: a loaded [`Script`] in, a stream out. The director of the pipeline.
//!
//! The rundown becomes [`timeline`] plans, and the [`Director`] decides step by step what
//! comes next (loop, `schedule` windows, the repeated AI disclosure, chat inserts, hot
//! reloads from [`reload`]). A voice thread asks it for steps and synthesizes them sentence by
//! sentence into a bounded channel (capacity [`AHEAD_CLIPS`]; it blocks when full, so memory
//! stays bounded all night). The driving thread owns the clock:
//! audio is the master, frame `n` covers samples `[of_frame(n), of_frame(n+1))`; for each frame
//! it poses the avatar for that media time ([`crate::motion`]), renders it
//! ([`crate::render`]) and hands frame + its exact audio to the encoder ([`crate::stream`]).
//! `Live` paces that loop to the wall clock (at most [`LIVE_LOOKAHEAD`] ahead); `Render` runs
//! as fast as the machine allows — the same code path otherwise.
//!
//! Events (product changes, link pushes at the exact media time the host says 上链接, the
//! disclosure, reloads) go to the [`crate::events`] bus with their pts; the frame loop shows
//! the current product as a card and, at the end, writes the product chapters next to the
//! recording (WebVTT + JSON, and inside the MP4).
//!
//! Chat replies (the brain) enter through [`Director::insert`]: at the next sentence boundary
//! or at once (the sentence on air fades out and is said again after the reply).
//!
//! With a human host ([`ShowOptions::host`], [`crate::host`]) the frame loop polls the host's
//! feed every frame and [`handover`] decides whose picture and sound go out, before the
//! encoder, so the one encoder's size, frame rate and audio format never change. While the
//! host has the show the avatar is not rendered and the [`Director`] is paused; when the feed
//! stops the picture switches to the idle avatar within [`handover::FREEZE_LIMIT`], and after
//! the grace period the avatar takes over with a hand-off line and continues the rundown; when
//! the host is back and stable, the avatar finishes its sentence and hands back. Switches of
//! the sound are crossfaded ([`handover::CROSSFADE`]). Events: `host_online`, `host_offline`,
//! `takeover`, `hand_back`.

pub mod bench;
pub mod director;
pub mod handover;
#[cfg(feature = "render")]
mod pipeline;
pub mod reload;
pub mod schedule;
pub mod sidecar;
pub mod timeline;

use std::path::PathBuf;
use std::time::Duration;

pub use director::{Director, InsertAt, ReloadKind};
pub use handover::Handover;
#[cfg(feature = "render")]
pub use pipeline::{run, sidecar_path};
pub use schedule::{Schedule, ShowClock};
pub use sidecar::LipsyncTrack;

use crate::avatar::AvatarError;
#[cfg(feature = "render")]
use crate::render::RenderError;
use crate::stream::{Outputs, StreamError};
use crate::voice::VoiceError;

/// Synthesized clips the voice thread may hold ready ahead of the renderer.
pub const AHEAD_CLIPS: usize = 6;
/// Fade applied when a sentence is interrupted ([`InsertAt::Now`]).
pub const CUT_FADE: Duration = Duration::from_millis(60);
/// Live mode: media produced at most this far ahead of the wall clock.
pub const LIVE_LOOKAHEAD: Duration = Duration::from_millis(200);

/// Default frame rate and sizes for a CPU machine.
pub const DEFAULT_FPS: u32 = 30;
pub const DEFAULT_OUT_WIDTH: u32 = 1280;
pub const DEFAULT_OUT_HEIGHT: u32 = 720;

/// Pacing of the frame loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Paced to the wall clock.
    Live,
    /// As fast as possible.
    Render,
}

#[derive(Debug, Clone)]
pub struct ShowOptions {
    pub mode: Mode,
    /// Render size.
    pub width: u32,
    pub height: u32,
    /// Encoded size (ffmpeg scales).
    pub out_width: u32,
    pub out_height: u32,
    pub fps: u32,
    pub outputs: Outputs,
    /// Stop after this much media time; `None`: one pass (or forever for looping live shows).
    pub seconds: Option<f64>,
    /// Write the per-frame lip-sync track here.
    pub lipsync: Option<PathBuf>,
    /// Seed of the motion randomness (blinks, idle), so renders are reproducible.
    pub seed: u64,
    /// Media time 0 on the wall clock (for `schedule` windows); `--clock-start` simulates a
    /// night in a render.
    pub clock: ShowClock,
    /// Watch this script file and reload it on edits (hot reload).
    pub watch: Option<PathBuf>,
    /// An accepted edit restarts the rundown from the top (default: continue where it was,
    /// never replaying what was said in this pass).
    pub restart_on_edit: bool,
    /// Viewer chat to answer (None: no chat).
    pub chat: Option<ChatOptions>,
    /// Render mode: at most this many media seconds per wall second (`None`: as fast as the
    /// machine goes; with a host feed: exactly this many, default 1). `anchor soak --speed`.
    pub pace: Option<f64>,
    /// What was handed to the encoder so far, kept up to date while the show runs, for a
    /// watcher on another thread (`anchor soak` samples the process at media times by it).
    pub progress: Option<std::sync::Arc<Progress>>,
    /// The operator's commands (`POST /api/pause`, ...; the HTTP server holds the sender),
    /// applied at the next frame.
    pub control: Option<crossbeam_channel::Receiver<crate::server::ControlCommand>>,
    /// The product ids `POST /api/product` accepts: replaced with each accepted script edit.
    pub product_ids: Option<crate::server::ProductIds>,
    /// The human host's feed (None: the avatar alone). With a host input the frame loop is
    /// paced to the wall clock in both modes (the feed is live); in render mode at `pace` ×
    /// real time (the soak pushes its test feed at that rate).
    pub host: Option<HostOptions>,
}

/// The human host's feed and the hand-over settings (see [`handover`]).
#[derive(Debug, Clone)]
pub struct HostOptions {
    pub source: crate::host::HostSource,
    /// How long the host may be gone before the avatar takes over (default
    /// [`crate::host::DEFAULT_GRACE`]).
    pub grace: Duration,
    /// The operator's override and the feed's status (the HTTP server holds a clone).
    pub control: crate::host::HostControl,
}

/// Where the show's chat comes from and how it is understood.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions {
    /// Live sources (HTTP, WebSocket, stdin) write here.
    pub inbox: Option<crate::chat::Inbox>,
    /// A replay file's messages, delivered at their media times.
    pub replay: Option<crate::chat::Replay>,
    pub brain: crate::brain::BrainConfig,
}

/// Video frames and audio samples handed to the encoder so far (updated every frame, read
/// together).
#[derive(Debug, Default)]
pub struct Progress(std::sync::Mutex<(u64, u64)>);

impl Progress {
    pub fn set(&self, frames: u64, audio_samples: u64) {
        if let Ok(mut p) = self.0.lock() {
            *p = (frames, audio_samples);
        }
    }

    /// (frames, audio samples).
    pub fn get(&self) -> (u64, u64) {
        self.0.lock().map_or((0, 0), |p| *p)
    }

    /// Media seconds of video handed over.
    pub fn media_secs(&self, fps: u32) -> f64 {
        self.get().0 as f64 / f64::from(fps.max(1))
    }

    /// Audio handed over minus video handed over (ms; + is audio ahead): the A/V drift at the
    /// encoder's input. 0 in a show whose every frame carries exactly its audio.
    pub fn av_drift_ms(&self, fps: u32) -> f64 {
        let (frames, samples) = self.get();
        1000.0
            * (samples as f64 / f64::from(crate::media::SAMPLE_RATE)
                - frames as f64 / f64::from(fps.max(1)))
    }
}

/// What a show did, for the CLI and benchmarks.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ShowReport {
    pub frames: u64,
    pub media_secs: f64,
    pub wall_secs: f64,
    /// Wall seconds spent in speech synthesis, and the speech seconds it produced.
    pub tts_wall_secs: f64,
    pub tts_audio_secs: f64,
    /// Wall seconds spent rendering and encoding frames.
    pub render_wall_secs: f64,
    pub encode_wall_secs: f64,
    /// Frames for which the voice was late and silence was sent instead (live only).
    pub underruns: u64,
    /// (media seconds, event type) in order, as sent to the event bus.
    pub events: Vec<(f64, String)>,
    /// The product chapters of the recording.
    pub chapters: Vec<crate::stream::Chapter>,
    /// What the chat desk did (when chat was on).
    pub chat: Option<crate::chat::DeskStats>,
}

/// Errors that stop a show. A single line failing to synthesize does not: it is logged and
/// skipped.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    #[error(transparent)]
    Avatar(#[from] AvatarError),
    #[error(transparent)]
    Voice(#[from] VoiceError),
    #[cfg(feature = "render")]
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The host input could not start (bad `--host-input`, no ffmpeg).
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
    /// The build has no renderer (built with `--no-default-features`).
    #[error("this anchor was built without the renderer; rebuild with default features")]
    NoRenderer,
    /// The chat desk could not start (its answers index or model).
    #[error("chat: {0}")]
    Chat(String),
    /// Writing the lip-sync sidecar failed.
    #[error("cannot write {path}: {source}")]
    Sidecar {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Without the renderer there is no show to run.
#[cfg(not(feature = "render"))]
pub fn run(
    _script: &crate::script::Script,
    _avatar: &crate::avatar::AvatarManifest,
    _opts: &ShowOptions,
    _events: &crate::events::Events,
    _stop: &std::sync::atomic::AtomicBool,
) -> Result<ShowReport, ShowError> {
    Err(ShowError::NoRenderer)
}
