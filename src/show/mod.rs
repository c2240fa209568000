//! show: a loaded [`Script`] in, a stream out. The director of the pipeline.
//!
//! The rundown becomes a [`timeline`] of items. A voice thread walks it ahead of time,
//! synthesizing sentence by sentence into a bounded channel (capacity [`AHEAD_CLIPS`]; it
//! blocks when full, so memory stays bounded all night). The driving thread owns the clock:
//! audio is the master, frame `n` covers samples `[of_frame(n), of_frame(n+1))`; for each frame
//! it poses the avatar for that media time ([`crate::motion`]), renders it
//! ([`crate::render`]) and hands frame + its exact audio to the encoder ([`crate::stream`]).
//! `Live` paces that loop to the wall clock (at most [`LIVE_LOOKAHEAD`] ahead); `Render` runs
//! as fast as the machine allows — the same code path otherwise.
//!
//! Chat replies (the brain) will enter as extra items between sentences: the seam is the
//! clip channel the voice thread feeds.

mod pipeline;
pub mod sidecar;
pub mod timeline;

use std::path::PathBuf;
use std::time::Duration;

pub use pipeline::run;
pub use sidecar::LipsyncTrack;

use crate::avatar::AvatarError;
#[cfg(feature = "render")]
use crate::render::RenderError;
use crate::stream::{Outputs, StreamError};
use crate::voice::VoiceError;

/// Synthesized clips the voice thread may hold ready ahead of the renderer.
pub const AHEAD_CLIPS: usize = 6;
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
    /// (media seconds, event) in order: product changes and link pushes.
    pub events: Vec<(f64, String)>,
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
    /// The build has no renderer (built with `--no-default-features`).
    #[error("this anchor was built without the renderer; rebuild with default features")]
    NoRenderer,
    /// Writing the lip-sync sidecar failed.
    #[error("cannot write {path}: {source}")]
    Sidecar {
        path: PathBuf,
        source: std::io::Error,
    },
}
