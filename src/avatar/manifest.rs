//! `avatar.yaml`: the serde file types (`Raw*`, `deny_unknown_fields`) and the validated
//! runtime [`AvatarManifest`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use glam::Vec3;
use serde::Deserialize;

use super::AvatarError;
use super::glb::{ModelNames, read_glb};
use crate::motion::{Expression, HumanBone};
use crate::voice::Viseme;

/// File name of the manifest inside an avatar folder.
pub const AVATAR_FILE_NAME: &str = "avatar.yaml";

/// A morph target on one mesh node: `(mesh node name, morph target name)`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MorphRef {
    /// Name of the glTF node that carries the mesh.
    pub mesh: String,
    /// Morph target name, as in the mesh's `extras.targetNames`.
    pub morph: String,
}

/// Camera framing. Pixels are 16:9; the renderer uses a perspective camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Camera position in model space (metres, +Y up, the avatar faces +Z).
    pub position: Vec3,
    /// Point the camera looks at.
    pub target: Vec3,
    /// Vertical field of view in degrees.
    pub fov_y_deg: f32,
}

/// The key (directional) light and the ambient fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyLight {
    /// Unit direction the light travels (from the light into the scene).
    pub direction: Vec3,
    /// Key light color, linear RGB.
    pub color: [f32; 3],
    /// Ambient fill color, linear RGB (what fully shaded parts get added).
    pub ambient: [f32; 3],
}

/// MToon-like toon colors for one material: lit parts use the model's base color, parts facing
/// away from the key light use `shade`, and a rim (Fresnel) term adds `rim`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToonShade {
    /// Shade color, linear RGB.
    pub shade: [f32; 3],
    /// Rim light color, linear RGB (black = no rim).
    pub rim: [f32; 3],
    /// Drawn flat at its base color, without lighting (set pieces: walls, floor, light panels).
    /// Much cheaper on a CPU rasterizer, where the backdrop covers most of the frame.
    pub unlit: bool,
}

/// A validated avatar: every name in it exists in the model file.
#[derive(Debug, Clone, PartialEq)]
pub struct AvatarManifest {
    /// The avatar folder.
    pub dir: PathBuf,
    /// The model file (`dir` joined with `model:`), a `.glb` or `.vrm`.
    pub model: PathBuf,
    /// Node name of each bone, indexed by [`HumanBone::index`]; see [`AvatarManifest::bone`].
    pub bones: [String; HumanBone::ALL.len()],
    /// Morph target of each viseme, indexed by [`Viseme::index`].
    pub visemes: [MorphRef; Viseme::ALL.len()],
    /// Morph target of each expression, indexed by [`Expression::index`].
    pub expressions: [MorphRef; Expression::ALL.len()],
    /// Morph target that opens the jaw (driven by `Pose::mouth_open`).
    pub jaw_open: MorphRef,
    /// Camera framing: a 16:9 medium shot of the host with the product stand in view.
    pub camera: Camera,
    /// Key light and ambient.
    pub light: KeyLight,
    /// Clear color behind the set, linear RGB.
    pub background: [f32; 3],
    /// Toon shade colors by glTF material name. Materials not listed get a shade derived from
    /// their base color by the renderer.
    pub materials: BTreeMap<String, ToonShade>,
}

impl AvatarManifest {
    /// Node name of `bone` in the model.
    pub fn bone(&self, bone: HumanBone) -> &str {
        &self.bones[bone.index()]
    }

    /// Morph target for `viseme`.
    pub fn viseme(&self, viseme: Viseme) -> &MorphRef {
        &self.visemes[viseme.index()]
    }

    /// Morph target for `expression`.
    pub fn expression(&self, expression: Expression) -> &MorphRef {
        &self.expressions[expression.index()]
    }

    /// Reads `dir/avatar.yaml`, validates it and checks every node, morph target and material
    /// name it uses against the model file.
    pub fn load(dir: &Path) -> Result<AvatarManifest, AvatarError> {
        let path = dir.join(AVATAR_FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AvatarError::MissingManifest { path });
            }
            Err(source) => return Err(AvatarError::Io { path, source }),
        };
        let raw: RawManifest =
            serde_norway::from_str(&text).map_err(|source| AvatarError::Yaml {
                path: path.clone(),
                source,
            })?;
        let manifest = raw.validate(dir, &path)?;
        manifest.check_model(&path)?;
        Ok(manifest)
    }

    /// Checks the names against the model file.
    fn check_model(&self, manifest_path: &Path) -> Result<(), AvatarError> {
        let bytes = match std::fs::read(&self.model) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AvatarError::MissingModel {
                    path: self.model.clone(),
                    manifest: manifest_path.to_owned(),
                });
            }
            Err(source) => {
                return Err(AvatarError::Io {
                    path: self.model.clone(),
                    source,
                });
            }
        };
        let (json, _) = read_glb(&bytes).map_err(|message| AvatarError::BadModel {
            path: self.model.clone(),
            message,
        })?;
        let names = ModelNames::from_json(&json);
        let mismatch = |message: String| AvatarError::ModelMismatch {
            path: manifest_path.to_owned(),
            message,
        };
        let model = self.model.display();

        for bone in HumanBone::ALL {
            let node = self.bone(bone);
            if !names.nodes.iter().any(|n| n == node) {
                return Err(mismatch(format!(
                    "bones.{}: node `{node}` not found in {model}; map the bone to one of the model's node names",
                    bone.vrm_name()
                )));
            }
        }
        let morphs = Viseme::ALL
            .iter()
            .map(|v| (format!("visemes.{}", v.name()), self.viseme(*v)))
            .chain(
                Expression::ALL
                    .iter()
                    .map(|e| (format!("expressions.{}", e.vrm_name()), self.expression(*e))),
            )
            .chain(std::iter::once(("jaw_open".to_owned(), &self.jaw_open)));
        for (key, morph) in morphs {
            let Some((_, targets)) = names.morphs.iter().find(|(node, _)| *node == morph.mesh)
            else {
                return Err(mismatch(format!(
                    "{key}: no node `{}` with a mesh in {model}; `mesh:` must name the node that carries the morph targets",
                    morph.mesh
                )));
            };
            if !targets.contains(&morph.morph) {
                return Err(mismatch(format!(
                    "{key}: mesh node `{}` has no morph target `{}` in {model} (it has: {}); morph target names are read from mesh.extras.targetNames",
                    morph.mesh,
                    morph.morph,
                    if targets.is_empty() {
                        "none".to_owned()
                    } else {
                        targets.join(", ")
                    }
                )));
            }
        }
        for material in self.materials.keys() {
            if !names.materials.iter().any(|m| m == material) {
                return Err(mismatch(format!(
                    "materials.{material}: no material `{material}` in {model} (it has: {}); remove the entry or fix the name",
                    names.materials.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// `avatar.yaml` as written. Colors are sRGB hex strings `"#rrggbb"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    /// Model file, relative to the avatar folder.
    model: PathBuf,
    /// VRM bone name → node name.
    bones: BTreeMap<String, String>,
    /// Viseme name (`sil`, `PP`, ... `ou`) → morph target.
    visemes: BTreeMap<String, MorphRef>,
    /// VRM expression preset name → morph target.
    expressions: BTreeMap<String, MorphRef>,
    jaw_open: MorphRef,
    camera: RawCamera,
    light: RawLight,
    background: String,
    #[serde(default)]
    materials: BTreeMap<String, RawShade>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCamera {
    position: [f32; 3],
    target: [f32; 3],
    fov_y_deg: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLight {
    direction: [f32; 3],
    color: String,
    ambient: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShade {
    shade: String,
    rim: String,
    #[serde(default)]
    unlit: bool,
}

impl RawManifest {
    fn validate(self, dir: &Path, path: &Path) -> Result<AvatarManifest, AvatarError> {
        let invalid = |message: String| AvatarError::Invalid {
            path: path.to_owned(),
            message,
        };

        let bones = map_all(
            "bones",
            &self.bones,
            &HumanBone::ALL.map(HumanBone::vrm_name),
            |s: &String| s.clone(),
        )
        .map_err(invalid)?;
        let viseme_names = Viseme::ALL.map(Viseme::name);
        let visemes =
            map_all("visemes", &self.visemes, &viseme_names, MorphRef::clone).map_err(invalid)?;
        let expressions = map_all(
            "expressions",
            &self.expressions,
            &Expression::ALL.map(Expression::vrm_name),
            MorphRef::clone,
        )
        .map_err(invalid)?;

        let position = Vec3::from(self.camera.position);
        let target = Vec3::from(self.camera.target);
        if !position.is_finite() || !target.is_finite() || position.distance(target) < 1e-3 {
            return Err(invalid(
                "camera: position and target must be finite and apart".into(),
            ));
        }
        let fov_y_deg = self.camera.fov_y_deg;
        if !(fov_y_deg > 1.0 && fov_y_deg < 170.0) {
            return Err(invalid(format!(
                "camera.fov_y_deg: {fov_y_deg} is not a vertical field of view in degrees (1..170)"
            )));
        }
        let direction = Vec3::from(self.light.direction);
        if !direction.is_finite() || direction.length() < 1e-6 {
            return Err(invalid("light.direction: must be a non-zero vector".into()));
        }
        let color =
            |key: &str, hex: &str| parse_color(hex).map_err(|e| invalid(format!("{key}: {e}")));
        let mut materials = BTreeMap::new();
        for (name, shade) in &self.materials {
            materials.insert(
                name.clone(),
                ToonShade {
                    shade: color(&format!("materials.{name}.shade"), &shade.shade)?,
                    rim: color(&format!("materials.{name}.rim"), &shade.rim)?,
                    unlit: shade.unlit,
                },
            );
        }
        Ok(AvatarManifest {
            dir: dir.to_owned(),
            model: dir.join(&self.model),
            bones,
            visemes,
            expressions,
            jaw_open: self.jaw_open,
            camera: Camera {
                position,
                target,
                fov_y_deg,
            },
            light: KeyLight {
                direction: direction.normalize(),
                color: color("light.color", &self.light.color)?,
                ambient: color("light.ambient", &self.light.ambient)?,
            },
            background: color("background", &self.background)?,
            materials,
        })
    }
}

/// Turns a name-keyed map into an array in vocabulary order; every name must be known and
/// present.
fn map_all<T, U, const N: usize>(
    section: &str,
    map: &BTreeMap<String, T>,
    names: &[&'static str; N],
    convert: impl Fn(&T) -> U,
) -> Result<[U; N], String> {
    if let Some(unknown) = map.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(format!(
            "{section}.{unknown}: unknown name; expected one of: {}",
            names.join(", ")
        ));
    }
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !map.contains_key(*n))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{section}: {} not mapped; all {N} {section} are required, add an entry for each",
            missing.join(", "),
        ));
    }
    // Every name is present (checked above), so each lookup succeeds.
    let mut out = Vec::with_capacity(N);
    for name in names {
        match map.get(*name) {
            Some(value) => out.push(convert(value)),
            None => return Err(format!("{section}.{name}: not mapped")),
        }
    }
    out.try_into()
        .map_err(|_| format!("{section}: wrong number of entries"))
}

/// `"#rrggbb"` (sRGB) → linear RGB.
fn parse_color(hex: &str) -> Result<[f32; 3], String> {
    let digits = hex.strip_prefix('#').unwrap_or(hex);
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{hex}` is not a color; write sRGB hex like \"#ffcc99\""
        ));
    }
    let channel = |i: usize| -> Result<f32, String> {
        let byte = u8::from_str_radix(&digits[i..i + 2], 16).map_err(|e| e.to_string())?;
        Ok(srgb_to_linear(f32::from(byte) / 255.0))
    };
    Ok([channel(0)?, channel(2)?, channel(4)?])
}

pub(crate) fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(super::super::DEFAULT_AVATAR_DIR)
    }

    #[test]
    fn loads_the_default_avatar() {
        let m = AvatarManifest::load(&default_dir()).expect("default avatar loads");
        assert_eq!(m.bone(HumanBone::LeftUpperArm), "leftUpperArm");
        assert_eq!(m.viseme(Viseme::Aa).morph, "viseme_aa");
        assert_eq!(m.expression(Expression::BlinkLeft).morph, "blinkLeft");
        assert_eq!(m.jaw_open.morph, "jawOpen");
        assert!(m.materials.contains_key("skin"));
        assert!(m.model.ends_with("avatar.glb"));
    }

    fn with_yaml(edit: impl Fn(String) -> String) -> Result<AvatarManifest, AvatarError> {
        let tmp = crate::testutil::tempdir().unwrap();
        let src = default_dir();
        std::fs::copy(src.join("avatar.glb"), tmp.path().join("avatar.glb")).unwrap();
        let yaml = std::fs::read_to_string(src.join(AVATAR_FILE_NAME)).unwrap();
        std::fs::write(tmp.path().join(AVATAR_FILE_NAME), edit(yaml)).unwrap();
        AvatarManifest::load(tmp.path())
    }

    #[test]
    fn missing_manifest_is_a_clear_error() {
        let tmp = crate::testutil::tempdir().unwrap();
        let err = AvatarManifest::load(tmp.path()).unwrap_err();
        assert!(matches!(err, AvatarError::MissingManifest { .. }));
        assert!(err.to_string().contains("avatar.yaml"), "{err}");
    }

    #[test]
    fn missing_model_names_the_file() {
        let err = with_yaml(|y| y.replace("model: avatar.glb", "model: nope.glb")).unwrap_err();
        assert!(matches!(err, AvatarError::MissingModel { .. }), "{err}");
        assert!(err.to_string().contains("nope.glb"), "{err}");
    }

    #[test]
    fn unknown_bone_name_is_rejected() {
        let err =
            with_yaml(|y| y.replace("  hips: hips", "  hips: hips\n  tail: hips")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bones.tail: unknown name"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn unmapped_bone_is_rejected() {
        let err = with_yaml(|y| y.replace("  leftFoot: leftFoot\n", "")).unwrap_err();
        assert!(err.to_string().contains("leftFoot not mapped"), "{err}");
    }

    #[test]
    fn node_missing_from_model_is_rejected() {
        let err = with_yaml(|y| y.replace("  head: head", "  head: Head_J")).unwrap_err();
        assert!(matches!(err, AvatarError::ModelMismatch { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("bones.head: node `Head_J` not found"),
            "{err}"
        );
    }

    #[test]
    fn morph_missing_from_model_is_rejected() {
        let err = with_yaml(|y| y.replace("morph: viseme_aa", "morph: A")).unwrap_err();
        assert!(
            err.to_string()
                .contains("visemes.aa: mesh node `face` has no morph target `A`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_field_and_bad_color_are_rejected() {
        let err = with_yaml(|y| y.replace("background:", "backgorund:")).unwrap_err();
        assert!(matches!(err, AvatarError::Yaml { .. }), "{err}");
        let err = with_yaml(|y| {
            let at = y.find("background: ").unwrap();
            let end = at + y[at..].find('\n').unwrap();
            format!("{}background: \"pink\"{}", &y[..at], &y[end..])
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("background: `pink` is not a color"),
            "{err}"
        );
    }

    #[test]
    fn colors_are_srgb_hex() {
        assert_eq!(parse_color("#ffffff").unwrap(), [1.0, 1.0, 1.0]);
        assert_eq!(parse_color("#000000").unwrap(), [0.0, 0.0, 0.0]);
        assert!((parse_color("#808080").unwrap()[0] - 0.2158).abs() < 1e-3);
        assert!(parse_color("#12345").is_err());
    }
}
