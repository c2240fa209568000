//! anchor — a runtime for virtual anchors (数字人主播) in live-stream e-commerce.
//!
//! The modules follow the pipeline, one front door each:
//!
//! ```text
//! script (YAML) ─▶ show (timeline, pacing) ─▶ voice (text → speech + timings)
//!        ─▶ motion (timings → pose) ─▶ render (Bevy, offscreen) ─▶ stream (ffmpeg: HLS + MP4)
//! ```
//!
//! `avatar` holds the avatar manifest and the generator of the default avatar; `media` the
//! clock every stage shares; `words` the Chinese word segmentation they share. Chat and brain (viewer questions) plug into `show` later.

pub mod avatar;
pub mod brain;
pub mod chat;
pub mod events;
pub mod home;
pub mod host;
pub mod media;
pub mod models;
pub mod motion;
#[cfg(feature = "render")]
pub mod render;
pub mod room;
pub mod script;
pub mod server;
pub mod show;
pub mod soak;
pub mod stream;
pub mod voice;
pub mod words;

#[cfg(test)]
pub(crate) mod testutil;
