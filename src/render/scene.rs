//! The Bevy world: an offscreen camera, the avatar glTF with toon materials, and the rig that
//! maps motion's vocabulary onto the model's nodes and morph targets. Driven frame by frame.

use std::collections::HashMap;
use std::path::Path;

use bevy::app::PluginsState;
use bevy::asset::{AssetMetaCheck, LoadState};
use bevy::camera::RenderTarget;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::gltf::{GltfAssetLabel, GltfMaterialName};
use bevy::image::Image;
use bevy::light::cluster::GlobalClusterSettings;
use bevy::mesh::morph::MorphWeights;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{PollType, TextureFormat, TextureUsages};
use bevy::render::renderer::RenderDevice;
use bevy::render::storage::ShaderBuffer;
use bevy::window::ExitCondition;
use bevy::world_serialization::WorldAssetRoot;

use super::toon::{ToonMaterial, ToonParams, ToonPlugin};
use super::{MorphTarget, RenderConfig, RenderError};
use crate::motion::{HumanBone, Pose};

/// Updates allowed for the avatar to load before giving up (each update is one frame).
const MAX_LOAD_UPDATES: u32 = 2_000;
/// How long a frame's readback may take (a 1080p frame on lavapipe takes well under this).
const READBACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Where each piece of the pose goes in the world.
struct Rig {
    /// (bone, entity, rest rotation)
    bones: Vec<(HumanBone, Entity, Quat)>,
    /// (target, entity holding MorphWeights, index)
    morphs: Vec<(MorphTarget, Entity, usize)>,
}

pub(super) struct Stage {
    app: App,
    rig: Rig,
    /// Frames read back from the render target, in render order (one per update).
    frames: crossbeam_channel::Receiver<Vec<u8>>,
    /// Frames submitted and not yet received.
    in_flight: usize,
    /// Frames rendered by `flush` whose readback is still to come (and be dropped).
    stale: usize,
    width: u32,
    height: u32,
}

impl Stage {
    pub(super) fn new(cfg: &RenderConfig) -> Result<Stage, RenderError> {
        let mut app = App::new();
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: None,
                    exit_condition: ExitCondition::DontExit,
                    ..default()
                })
                .set(RenderPlugin {
                    synchronous_pipeline_compilation: true,
                    ..default()
                })
                .set(AssetPlugin {
                    file_path: cfg.avatar_dir.to_string_lossy().into_owned(),
                    meta_check: AssetMetaCheck::Never,
                    ..default()
                })
                .disable::<PipelinedRenderingPlugin>()
                .disable::<bevy::log::LogPlugin>(),
        )
        .add_plugins(ToonPlugin);
        while app.plugins_state() == PluginsState::Adding {
            bevy::tasks::tick_global_task_pools_on_main_thread();
        }
        app.finish();
        app.cleanup();

        let world = app.world_mut();
        // CPU light clustering. Bevy 0.19.1's GPU clustering keeps a handle to every frame's
        // metadata staging buffer in a list it never empties (`metadata_staging_pending_buffers`
        // in bevy_pbr's cluster/gpu.rs): about 6 MiB/h at 30 fps, which a show on air all night
        // cannot afford. Our scene has a few lights, so the CPU path also saves a compute pass
        // and a readback per frame.
        if let Some(mut clusters) = world.get_resource_mut::<GlobalClusterSettings>() {
            clusters.gpu_clustering = None;
        }
        let image =
            Image::new_target_texture(cfg.width, cfg.height, TextureFormat::Rgba8UnormSrgb, None);
        let mut image = image;
        // The readback copies out of the target.
        image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
        let target = world.resource_mut::<Assets<Image>>().add(image);
        let bg = cfg.background;
        world.spawn((
            Camera3d::default(),
            Camera {
                clear_color: ClearColorConfig::Custom(Color::linear_rgb(bg[0], bg[1], bg[2])),
                ..default()
            },
            RenderTarget::Image(target.clone().into()),
            Tonemapping::None,
            Msaa::Off,
            Projection::Perspective(PerspectiveProjection {
                fov: cfg.camera.fov_deg.to_radians(),
                ..default()
            }),
            Transform::from_translation(cfg.camera.position).looking_at(cfg.camera.target, Vec3::Y),
        ));
        let scene = world
            .resource::<AssetServer>()
            .load(GltfAssetLabel::Scene(0).from_asset(cfg.model_file.clone()));
        world.spawn(WorldAssetRoot(scene.clone()));

        let hips = bone_node(cfg, HumanBone::Hips);
        let mut ready = false;
        for _ in 0..MAX_LOAD_UPDATES {
            app.update();
            let world = app.world_mut();
            if let LoadState::Failed(e) = world.resource::<AssetServer>().load_state(&scene) {
                return Err(RenderError::Model {
                    path: cfg.avatar_dir.join(&cfg.model_file),
                    reason: e.to_string(),
                });
            }
            let mut names = world.query::<&Name>();
            let has_hips = names.iter(world).any(|n| n.as_str() == hips);
            let mut mats = world.query::<&MeshMaterial3d<StandardMaterial>>();
            if has_hips && mats.iter(world).next().is_some() {
                ready = true;
                break;
            }
        }
        if !ready {
            return Err(RenderError::Model {
                path: cfg.avatar_dir.join(&cfg.model_file),
                reason: format!("no node named `{hips}` appeared after loading"),
            });
        }
        let world = app.world_mut();
        apply_toon_materials(world, cfg);
        let rig = bind_rig(world, cfg)?;
        // A persistent readback of the target: every update copies the frame it rendered into
        // a pooled buffer (no per-frame allocation); the data arrives during the next update.
        let (tx, frames) = crossbeam_channel::unbounded();
        world
            .spawn(Readback::texture(target))
            .observe(move |mut done: On<ReadbackComplete>| {
                // Take the pixels rather than copying 2 MB a frame.
                let _ = tx.send(std::mem::take(&mut done.data));
            });
        Ok(Stage {
            app,
            rig,
            frames,
            in_flight: 0,
            stale: 0,
            width: cfg.width,
            height: cfg.height,
        })
    }

    /// Poses the avatar and renders one frame. Readback is pipelined one frame deep: this
    /// returns the frame of the previous call (RGBA8 sRGB, rows tightly packed), `None` on the
    /// first call. [`Stage::flush`] returns the last one.
    pub(super) fn submit(&mut self, pose: &Pose) -> Result<Option<Vec<u8>>, RenderError> {
        let world = self.app.world_mut();
        for (bone, entity, rest) in &self.rig.bones {
            if let Some(mut t) = world.get_mut::<Transform>(*entity) {
                t.rotation = *rest * pose.bones[bone.index()];
            }
        }
        for (target, entity, index) in &self.rig.morphs {
            let w = match target {
                MorphTarget::Viseme(v) => pose.visemes[v.index()],
                MorphTarget::Expression(e) => pose.expressions[e.index()],
                MorphTarget::JawOpen => pose.mouth_open,
            };
            if let Some(mut m) = world.get_mut::<MorphWeights>(*entity)
                && let Some(slot) = m.weights_mut().get_mut(*index)
            {
                *slot = w.clamp(0.0, 1.0);
            }
        }
        self.step()
    }

    /// Renders once more (the same pose) to receive the last submitted frame.
    pub(super) fn flush(&mut self) -> Result<Option<Vec<u8>>, RenderError> {
        if self.in_flight == 0 {
            return Ok(None);
        }
        let frame = self.step()?;
        // The extra frame rendered here arrives during the next update: drop it there.
        self.in_flight = 0;
        self.stale += 1;
        Ok(frame)
    }

    fn step(&mut self) -> Result<Option<Vec<u8>>, RenderError> {
        let t0 = std::time::Instant::now();
        self.app.update();
        self.app
            .world()
            .resource::<RenderDevice>()
            .wgpu_device()
            .poll(PollType::Wait {
                submission_index: None,
                timeout: None,
            })
            .map_err(|e| RenderError::Gpu(e.to_string()))?;
        tracing::trace!(frame_ms = t0.elapsed().as_secs_f64() * 1e3, "rendered");
        while self.stale > 0 {
            self.frames
                .recv_timeout(READBACK_TIMEOUT)
                .map_err(|_| RenderError::Gpu("frame readback did not complete".into()))?;
            self.stale -= 1;
        }
        self.in_flight += 1;
        if self.in_flight < 2 {
            return Ok(None);
        }
        let data = self
            .frames
            .recv_timeout(READBACK_TIMEOUT)
            .map_err(|_| RenderError::Gpu("frame readback did not complete".into()))?;
        self.in_flight -= 1;
        Ok(Some(unpad_rows(data, self.width, self.height)))
    }
}

/// Readback rows are padded to 256 bytes; strip the padding.
fn unpad_rows(data: Vec<u8>, width: u32, height: u32) -> Vec<u8> {
    let row = width as usize * 4;
    let padded = row.div_ceil(256) * 256;
    if padded == row {
        return data;
    }
    let mut out = Vec::with_capacity(row * height as usize);
    for r in data.chunks(padded).take(height as usize) {
        out.extend_from_slice(&r[..row.min(r.len())]);
    }
    out
}

fn bone_node(cfg: &RenderConfig, bone: HumanBone) -> &str {
    cfg.bones
        .iter()
        .find(|(b, _)| *b == bone)
        .map(|(_, n)| n.as_str())
        .unwrap_or(bone.vrm_name())
}

/// Swaps the glTF's StandardMaterials for toon materials keyed by material name.
fn apply_toon_materials(world: &mut World, cfg: &RenderConfig) {
    let mut q = world.query::<(
        Entity,
        &MeshMaterial3d<StandardMaterial>,
        Option<&GltfMaterialName>,
    )>();
    let found: Vec<(Entity, Handle<StandardMaterial>, Option<String>)> = q
        .iter(world)
        .map(|(e, m, n)| (e, m.0.clone(), n.map(|n| n.0.clone())))
        .collect();
    let mut cache: HashMap<(AssetId<StandardMaterial>, Option<String>), Handle<ToonMaterial>> =
        HashMap::new();
    for (entity, std_handle, name) in found {
        let key = (std_handle.id(), name.clone());
        let handle = if let Some(h) = cache.get(&key) {
            h.clone()
        } else {
            let base = world
                .resource::<Assets<StandardMaterial>>()
                .get(&std_handle)
                .map(|m| m.base_color.to_linear())
                .unwrap_or(LinearRgba::WHITE);
            let params = toon_params(cfg, name.as_deref(), base);
            let params = world
                .resource_mut::<Assets<ShaderBuffer>>()
                .add(ShaderBuffer::from(params));
            let h = world
                .resource_mut::<Assets<ToonMaterial>>()
                .add(ToonMaterial { params });
            cache.insert(key, h.clone());
            h
        };
        world
            .entity_mut(entity)
            .remove::<MeshMaterial3d<StandardMaterial>>()
            .insert(MeshMaterial3d(handle));
    }
}

fn toon_params(cfg: &RenderConfig, material: Option<&str>, base: LinearRgba) -> ToonParams {
    let spec = material.and_then(|m| cfg.materials.get(m));
    let base_v = Vec4::new(base.red, base.green, base.blue, 1.0);
    let shade = spec
        .and_then(|s| s.shade)
        .map(|c| Vec4::new(c[0], c[1], c[2], 1.0))
        .unwrap_or(base_v * Vec4::new(0.62, 0.55, 0.62, 1.0));
    let rim = spec
        .and_then(|s| s.rim)
        .map(|c| Vec4::new(c[0], c[1], c[2], c[3]))
        .unwrap_or(Vec4::new(1.0, 0.95, 0.9, 0.25));
    let unlit = spec.map(|s| s.unlit).unwrap_or(false);
    let l = &cfg.light;
    ToonParams {
        base: base_v,
        shade,
        rim,
        light_dir: l.direction.normalize_or_zero().extend(l.terminator),
        light_color: Vec4::new(
            l.color[0],
            l.color[1],
            l.color[2],
            spec.map(|s| s.specular).unwrap_or(0.15),
        ),
        ambient: Vec4::new(
            l.ambient[0],
            l.ambient[1],
            l.ambient[2],
            if unlit { 1.0 } else { 0.0 },
        ),
    }
}

/// Finds the entities for every mapped bone and morph target.
fn bind_rig(world: &mut World, cfg: &RenderConfig) -> Result<Rig, RenderError> {
    let mut by_name: HashMap<String, Entity> = HashMap::new();
    let mut q = world.query::<(Entity, &Name)>();
    for (e, n) in q.iter(world) {
        by_name.entry(n.as_str().to_owned()).or_insert(e);
    }
    let mut bones = Vec::new();
    for (bone, node) in &cfg.bones {
        let entity = *by_name.get(node).ok_or_else(|| {
            RenderError::Rig(format!(
                "bone {:?} maps to node `{node}`, which the model does not have",
                bone
            ))
        })?;
        let rest = world
            .get::<Transform>(entity)
            .map(|t| t.rotation)
            .unwrap_or(Quat::IDENTITY);
        bones.push((*bone, entity, rest));
    }
    let target_names = read_morph_target_names(&cfg.avatar_dir.join(&cfg.model_file))?;
    let mut morphs = Vec::new();
    for (target, node, morph) in &cfg.morphs {
        let entity = *by_name.get(node).ok_or_else(|| {
            RenderError::Rig(format!(
                "morph {morph} is on node `{node}`, which the model does not have"
            ))
        })?;
        let names = target_names
            .get(node)
            .ok_or_else(|| RenderError::Rig(format!("node `{node}` has no morph targets")))?;
        let index = names.iter().position(|n| n == morph).ok_or_else(|| {
            RenderError::Rig(format!("node `{node}` has no morph target `{morph}`"))
        })?;
        if world.get::<MorphWeights>(entity).is_none() {
            return Err(RenderError::Rig(format!(
                "node `{node}` did not load with morph weights"
            )));
        }
        morphs.push((*target, entity, index));
    }
    Ok(Rig { bones, morphs })
}

/// Reads `mesh.extras.targetNames` per node name from a .glb's JSON chunk.
fn read_morph_target_names(path: &Path) -> Result<HashMap<String, Vec<String>>, RenderError> {
    let bad = |reason: String| RenderError::Model {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    if bytes.len() < 20 || &bytes[0..4] != b"glTF" || &bytes[16..20] != b"JSON" {
        return Err(bad("not a binary glTF (.glb) file".into()));
    }
    let len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let json: serde_json::Value = bytes
        .get(20..20 + len)
        .ok_or_else(|| bad("truncated JSON chunk".into()))
        .and_then(|b| serde_json::from_slice(b).map_err(|e| bad(e.to_string())))?;
    let mut out = HashMap::new();
    let meshes = json["meshes"].as_array().cloned().unwrap_or_default();
    for node in json["nodes"].as_array().into_iter().flatten() {
        let (Some(name), Some(mesh)) = (node["name"].as_str(), node["mesh"].as_u64()) else {
            continue;
        };
        let Some(names) = meshes
            .get(mesh as usize)
            .and_then(|m| m["extras"]["targetNames"].as_array())
        else {
            continue;
        };
        out.insert(
            name.to_owned(),
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
        );
    }
    Ok(out)
}
