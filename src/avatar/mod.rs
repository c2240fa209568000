//! avatar: an avatar folder on disk in, a validated [`AvatarManifest`] out.
//!
//! An avatar is a folder `avatars/NAME/` holding `avatar.yaml` (the manifest) and a glTF binary
//! model (`.glb`, or a VRM file, which is a `.glb` too). The manifest maps the motion
//! vocabulary ([`crate::motion::HumanBone`], [`crate::motion::Expression`],
//! [`crate::voice::Viseme`] and `jawOpen`) to the model's own node and morph target names, and
//! carries the look of the show: camera framing, key light, background and per-material toon
//! shade colors. [`AvatarManifest::load`] checks all of it against the model file, so a renderer
//! that gets a manifest can trust every name in it.
//!
//! [`generate_default`] writes the built-in default avatar (`avatars/default/`): a stylized,
//! toon-shaded host in T-pose plus a small studio set, byte-reproducible so the committed files
//! can be checked by a test.
//!
//! Model conventions (glTF / VRM 1.0): +Y up, metres, the avatar faces +Z, the avatar's left is
//! +X, the rest pose is a T-pose and every joint's rest rotation is identity, so a pose's bone
//! rotations apply directly as local rotations relative to rest.

mod generate;
mod glb;
mod manifest;

use std::path::PathBuf;

pub use generate::{DEFAULT_AVATAR_DIR, generate_default};
pub use manifest::{AVATAR_FILE_NAME, AvatarManifest, Camera, KeyLight, MorphRef, ToonShade};

/// Everything that can go wrong loading or generating an avatar. None of these is recoverable
/// by retrying: each one names the file and what to change. A show that cannot load its avatar
/// should fall back to the default avatar.
#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    /// The avatar folder has no `avatar.yaml`.
    #[error(
        "{path}: avatar manifest not found; an avatar folder needs an avatar.yaml (see avatars/README.md; avatars/default is the reference)"
    )]
    MissingManifest { path: PathBuf },

    /// The model file named by `model:` in the manifest does not exist.
    #[error(
        "{path}: model file not found (named by `model:` in {manifest}); put the .glb/.vrm next to avatar.yaml or fix the path"
    )]
    MissingModel { path: PathBuf, manifest: PathBuf },

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `avatar.yaml` is not valid YAML or has fields of the wrong type or unknown fields.
    #[error("{path}: {source}")]
    Yaml {
        path: PathBuf,
        #[source]
        source: serde_norway::Error,
    },

    /// The manifest is well-formed YAML but says something invalid: an unknown bone, viseme or
    /// expression name, a missing mapping, a bad color, a degenerate camera.
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },

    /// The manifest names a node, morph target or material the model does not have.
    #[error("{path}: {message}")]
    ModelMismatch { path: PathBuf, message: String },

    /// The model file is not a glTF binary this loader can read.
    #[error("{path}: not a readable glTF binary (.glb/.vrm): {message}")]
    BadModel { path: PathBuf, message: String },

    /// Writing the JSON chunk of a generated model failed.
    #[error("serializing glTF JSON: {0}")]
    Json(#[from] serde_json::Error),
}
