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
use bevy::mesh::morph::MorphWeights;
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{PollType, TextureFormat};
use bevy::render::renderer::RenderDevice;
use bevy::render::view::screenshot::{CapturedScreenshots, Screenshot};
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
    target: Handle<Image>,
    rig: Rig,
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
        let image =
            Image::new_target_texture(cfg.width, cfg.height, TextureFormat::Rgba8UnormSrgb, None);
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
        Ok(Stage { app, target, rig })
    }

    /// Poses the avatar, renders one frame and reads it back (RGBA8, sRGB, tightly packed).
    pub(super) fn render(&mut self, pose: &Pose) -> Result<Vec<u8>, RenderError> {
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
            if let Some(mut m) = world.get_mut::<MorphWeights>(*entity) {
                if let Some(slot) = m.weights_mut().get_mut(*index) {
                    *slot = w.clamp(0.0, 1.0);
                }
            }
        }
        let shot = world.spawn(Screenshot::image(self.target.clone())).id();
        let receiver = world.resource::<CapturedScreenshots>().0.clone();
        // One update renders the frame; after the device poll, Bevy's readback task (on the
        // async compute pool) copies it out and sends it on this channel. Wait for it here,
        // before the next update's `trigger_screenshots` could take it.
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
        let deadline = std::time::Instant::now() + READBACK_TIMEOUT;
        let rx = receiver
            .lock()
            .map_err(|_| RenderError::Gpu("screenshot channel poisoned".into()))?;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok((entity, image)) if entity == shot => {
                    drop(rx);
                    self.app.world_mut().despawn(shot);
                    return image
                        .data
                        .ok_or_else(|| RenderError::Gpu("screenshot without data".into()));
                }
                Ok(_) => continue,
                Err(_) => return Err(RenderError::Gpu("frame readback did not complete".into())),
            }
        }
    }
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
