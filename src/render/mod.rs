//! render: per-frame avatar [`Pose`]s in, RGBA frames out.
//!
//! A Bevy app with no window, driven one frame at a time by [`Renderer::render`]: the caller
//! passes the pose for the media time the frame will be shown at, so lips and sound cannot
//! drift apart. The avatar is a glTF model mapped by its manifest; it is drawn with a toon
//! material (MToon-like; no PBR uber-shader, no MSAA, no shadow maps: they are far too slow
//! on a CPU rasterizer), and the AI-disclosure label is composited onto every frame.

mod overlay;
mod scene;
mod toon;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use glam::Vec3;

pub use overlay::{Card, Overlay, load_font};
pub use toon::{ToonMaterial, ToonParams};

use crate::avatar::AvatarManifest;
use crate::motion::{Expression, HumanBone, Pose};
use crate::voice::Viseme;

/// Default render size on a CPU machine (the stream scales to its output size).
pub const DEFAULT_WIDTH: u32 = 960;
pub const DEFAULT_HEIGHT: u32 = 540;

/// A morph target the motion layer drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MorphTarget {
    Viseme(Viseme),
    Expression(Expression),
    /// Driven by [`Pose::mouth_open`].
    JawOpen,
}

/// Camera framing: position, look-at target, vertical field of view.
#[derive(Debug, Clone, Copy)]
pub struct CameraSpec {
    pub position: Vec3,
    pub target: Vec3,
    pub fov_deg: f32,
}

/// The key light of the toon shader.
#[derive(Debug, Clone, Copy)]
pub struct LightSpec {
    /// Direction toward the light (world space).
    pub direction: Vec3,
    pub color: [f32; 3],
    pub ambient: [f32; 3],
    /// Where lit turns to shade, `[0, 1]` of half-Lambert.
    pub terminator: f32,
}

/// Toon parameters of one named material.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaterialSpec {
    pub shade: Option<[f32; 3]>,
    /// rgb + strength.
    pub rim: Option<[f32; 4]>,
    pub specular: f32,
    /// Drawn at its base color, no lighting (light panels, screens).
    pub unlit: bool,
}

/// Everything the renderer needs (built from an avatar manifest by [`RenderConfig::new`]).
#[derive(Debug, Clone)]
pub struct RenderConfig {
    pub width: u32,
    pub height: u32,
    pub avatar_dir: PathBuf,
    /// Model file, relative to `avatar_dir`.
    pub model_file: String,
    pub bones: Vec<(HumanBone, String)>,
    /// (target, node name, morph target name)
    pub morphs: Vec<(MorphTarget, String, String)>,
    pub camera: CameraSpec,
    pub light: LightSpec,
    /// Linear RGB clear color.
    pub background: [f32; 3],
    pub materials: HashMap<String, MaterialSpec>,
    /// AI-disclosure text shown on screen for the whole stream.
    pub label: String,
}

/// One rendered frame, RGBA8 sRGB, rows tightly packed.
#[derive(Debug, Clone)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// Errors of the render stage. None is recoverable inside the stage: the show reports them.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// No Vulkan driver: on a CPU machine Mesa's lavapipe provides one.
    #[error(
        "no Vulkan driver found ({0}); install one with `sudo apt-get install mesa-vulkan-drivers libvulkan1` (scripts/setup.sh does this)"
    )]
    NoVulkan(String),
    /// The avatar model could not be read or loaded.
    #[error("cannot load avatar model {path}: {reason}")]
    Model { path: PathBuf, reason: String },
    /// The manifest names a node or morph target the model lacks.
    #[error("avatar manifest does not match the model: {0}")]
    Rig(String),
    /// No font with CJK glyphs for the on-screen label.
    #[error(
        "no CJK font found (tried {0} and the usual Debian paths); install one with `sudo apt-get install fonts-noto-cjk` or set ANCHOR_FONT=/path/to/font.ttc"
    )]
    Font(PathBuf),
    /// The GPU (or lavapipe) failed while rendering or reading back a frame.
    #[error("rendering failed: {0}")]
    Gpu(String),
    /// Invalid size.
    #[error("invalid render size {0}x{1}: width and height must be even and at least 64")]
    Size(u32, u32),
}

impl RenderConfig {
    /// The render setup for an avatar at `width`x`height` with the AI label `label`.
    pub fn new(avatar: &AvatarManifest, width: u32, height: u32, label: &str) -> RenderConfig {
        let model_file = avatar
            .model
            .strip_prefix(&avatar.dir)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| {
                avatar
                    .model
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let bones = HumanBone::ALL
            .iter()
            .map(|b| (*b, avatar.bone(*b).to_owned()))
            .collect();
        let mut morphs: Vec<(MorphTarget, String, String)> = Vec::new();
        for v in Viseme::ALL {
            let r = avatar.viseme(v);
            morphs.push((MorphTarget::Viseme(v), r.mesh.clone(), r.morph.clone()));
        }
        for e in Expression::ALL {
            let r = avatar.expression(e);
            morphs.push((MorphTarget::Expression(e), r.mesh.clone(), r.morph.clone()));
        }
        morphs.push((
            MorphTarget::JawOpen,
            avatar.jaw_open.mesh.clone(),
            avatar.jaw_open.morph.clone(),
        ));
        let materials = avatar
            .materials
            .iter()
            .map(|(name, t)| {
                let rim_on = t.rim.iter().any(|c| *c > 0.0);
                let spec = MaterialSpec {
                    shade: Some(t.shade),
                    rim: Some([
                        t.rim[0],
                        t.rim[1],
                        t.rim[2],
                        if rim_on { 0.35 } else { 0.0 },
                    ]),
                    specular: 0.12,
                    unlit: t.unlit,
                };
                (name.clone(), spec)
            })
            .collect();
        // Bevy resolves relative asset roots against the executable's folder: make it absolute.
        let avatar_dir = std::path::absolute(&avatar.dir).unwrap_or_else(|_| avatar.dir.clone());
        RenderConfig {
            width,
            height,
            avatar_dir,
            model_file,
            bones,
            morphs,
            camera: CameraSpec {
                position: avatar.camera.position,
                target: avatar.camera.target,
                fov_deg: avatar.camera.fov_y_deg,
            },
            light: LightSpec {
                direction: -avatar.light.direction,
                color: avatar.light.color,
                ambient: avatar.light.ambient,
                terminator: 0.5,
            },
            background: avatar.background,
            materials,
            label: label.to_owned(),
        }
    }
}

/// The offscreen renderer. Owns a Bevy app; not `Send` across threads mid-frame: create it on
/// the thread that drives it.
pub struct Renderer {
    stage: scene::Stage,
    overlay: Overlay,
    font: ab_glyph::FontVec,
    /// The product card for the next submitted frame, and for the frame in flight.
    card: Option<Arc<Overlay>>,
    card_in_flight: Option<Arc<Overlay>>,
    width: u32,
    height: u32,
}

impl Renderer {
    /// Starts Bevy, loads the avatar and binds its rig. Takes a second or two.
    pub fn new(cfg: &RenderConfig) -> Result<Renderer, RenderError> {
        if cfg.width < 64 || cfg.height < 64 || cfg.width % 2 != 0 || cfg.height % 2 != 0 {
            return Err(RenderError::Size(cfg.width, cfg.height));
        }
        check_vulkan()?;
        let font = overlay::load_font()?;
        let overlay = Overlay::disclosure_label(&cfg.label, cfg.width, cfg.height, &font);
        let _span =
            tracing::info_span!("render_init", width = cfg.width, height = cfg.height).entered();
        let mut stage = scene::Stage::new(cfg)?;
        // The first frames after loading can come out before the avatar's meshes and toon
        // pipelines reach the GPU: render until the picture has content, so frame 0 of the
        // stream already shows the host.
        let mut shown = false;
        for _ in 0..WARM_UP_FRAMES {
            if let Some(frame) = stage.submit(&Pose::default())?
                && !is_uniform(&frame)
            {
                shown = true;
                break;
            }
        }
        stage.flush()?;
        if !shown {
            return Err(RenderError::Model {
                path: cfg.avatar_dir.join(&cfg.model_file),
                reason: "nothing of the model is visible from the manifest's camera".into(),
            });
        }
        Ok(Renderer {
            stage,
            overlay,
            font,
            card: None,
            card_in_flight: None,
            width: cfg.width,
            height: cfg.height,
        })
    }

    /// Renders the avatar in `pose`. Readback is pipelined one frame deep (the CPU rasterizer
    /// and Bevy's next update overlap the copy): this returns the frame of the *previous* call,
    /// with the label composited, and `None` on the first call; [`Renderer::flush`] returns the
    /// last one. Callers pair frames with their audio in submission order.
    pub fn submit(&mut self, pose: &Pose) -> Result<Option<Frame>, RenderError> {
        let _span = tracing::trace_span!("render_frame").entered();
        let rgba = self.stage.submit(pose)?;
        let card = std::mem::replace(&mut self.card_in_flight, self.card.clone());
        rgba.map(|r| self.finish(r, card.as_deref())).transpose()
    }

    /// The last submitted frame, if one is still in flight.
    pub fn flush(&mut self) -> Result<Option<Frame>, RenderError> {
        let rgba = self.stage.flush()?;
        let card = self.card_in_flight.take();
        rgba.map(|r| self.finish(r, card.as_deref())).transpose()
    }

    /// Shows `card` (or none) from the next submitted frame on.
    pub fn set_card(&mut self, card: Option<&Card>) {
        self.card = card.map(|c| Arc::new(Overlay::card(c, self.width, self.height, &self.font)));
    }

    fn finish(&self, mut rgba: Vec<u8>, card: Option<&Overlay>) -> Result<Frame, RenderError> {
        let expected = (self.width * self.height * 4) as usize;
        if rgba.len() != expected {
            return Err(RenderError::Gpu(format!(
                "readback gave {} bytes, expected {expected}",
                rgba.len()
            )));
        }
        self.overlay.apply(&mut rgba, self.width, self.height);
        if let Some(card) = card {
            card.apply(&mut rgba, self.width, self.height);
        }
        Ok(Frame {
            width: self.width,
            height: self.height,
            rgba,
        })
    }
}

/// Frames rendered at start-up, at most, until the avatar shows.
const WARM_UP_FRAMES: usize = 30;

/// Is every pixel the same color (only the clear color)?
fn is_uniform(rgba: &[u8]) -> bool {
    rgba.chunks_exact(4).all(|p| p == &rgba[0..4])
}

/// Checks for a Vulkan loader and an ICD before Bevy starts (Bevy would panic without one).
pub fn check_vulkan() -> Result<(), RenderError> {
    // SAFETY: dlopen with a valid NUL-terminated name; the handle is closed right away.
    let handle = unsafe {
        libc::dlopen(
            c"libvulkan.so.1".as_ptr(),
            libc::RTLD_NOW | libc::RTLD_LOCAL,
        )
    };
    if handle.is_null() {
        return Err(RenderError::NoVulkan(
            "libvulkan.so.1 is not installed".into(),
        ));
    }
    // SAFETY: `handle` is a non-null handle returned by dlopen above.
    unsafe { libc::dlclose(handle) };
    for var in ["VK_DRIVER_FILES", "VK_ICD_FILENAMES"] {
        if let Some(list) = std::env::var_os(var) {
            let missing: Vec<PathBuf> = std::env::split_paths(&list)
                .filter(|p| !p.is_file())
                .collect();
            return match missing.first() {
                None => Ok(()),
                Some(p) => Err(RenderError::NoVulkan(format!(
                    "{var} names {}, which does not exist",
                    p.display()
                ))),
            };
        }
    }
    let dirs = [
        "/usr/share/vulkan/icd.d",
        "/etc/vulkan/icd.d",
        "/usr/local/share/vulkan/icd.d",
    ];
    let any_icd = dirs.iter().any(|d| {
        std::fs::read_dir(d)
            .map(|mut it| {
                it.any(|e| {
                    e.map(|e| e.path().extension().is_some_and(|x| x == "json"))
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false)
    });
    if any_icd {
        Ok(())
    } else {
        Err(RenderError::NoVulkan(
            "no ICD in /usr/share/vulkan/icd.d".into(),
        ))
    }
}
