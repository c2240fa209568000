//! The toon material (MToon-like): lit/shade colors with a soft terminator, specular, rim.

use bevy::asset::embedded_asset;
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, ShaderType};
use bevy::render::storage::ShaderBuffer;
use bevy::shader::ShaderRef;

/// Uniform block of `toon.wgsl` (linear colors).
#[derive(Debug, Clone, Copy, ShaderType)]
pub struct ToonParams {
    pub base: Vec4,
    pub shade: Vec4,
    /// rgb: rim color, a: rim strength.
    pub rim: Vec4,
    /// xyz: direction toward the key light, w: terminator position in `[0, 1]`.
    pub light_dir: Vec4,
    /// rgb: key light color, a: specular strength.
    pub light_color: Vec4,
    /// rgb: ambient fill, a: 1 = unlit (emissive panels).
    pub ambient: Vec4,
}

/// The parameters live in a small storage buffer (a [`ToonParams`] each): with a uniform
/// buffer binding instead, Mesa's lavapipe leaked memory on every draw (≈0.4 MB per draw per
/// frame, measured), which an all-night stream cannot afford.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct ToonMaterial {
    #[storage(0, read_only)]
    pub params: Handle<ShaderBuffer>,
}

impl Material for ToonMaterial {
    fn fragment_shader() -> ShaderRef {
        "embedded://anchor/render/toon.wgsl".into()
    }

    // No depth prepass and no shadow maps: both cost more than they give on a CPU rasterizer.
    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }
}

/// Registers [`ToonMaterial`] and its embedded shader.
pub struct ToonPlugin;

impl Plugin for ToonPlugin {
    fn build(&self, app: &mut App) {
        embedded_asset!(app, "toon.wgsl");
        app.add_plugins(MaterialPlugin::<ToonMaterial>::default());
    }
}
