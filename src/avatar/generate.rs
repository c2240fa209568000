//! The default avatar, built from parametric shapes and written as a glTF 2.0 binary.
//!
//! Everything here is deterministic: fixed tessellations, no hash-map iteration, no clock, no
//! randomness, and every float is rounded to a fixed grid before it is written, so two runs
//! give the same bytes (the committed `avatars/default/avatar.glb` is checked by a test).
//!
//! Layout of the file: scene roots `avatar` (skinned meshes `body` and `face`, and the
//! skeleton from `hips`, one node per [`HumanBone`] named by [`HumanBone::vrm_name`]),
//! `studio` (backdrop, panels, light strips, floor) and `product_stand` (pedestal, lipstick and
//! its box). Morph targets live on the `face` mesh only, names in `mesh.extras.targetNames`.

use std::f64::consts::{PI, TAU};
use std::path::Path;

use glam::DVec3 as V;
use serde_json::{Value, json};

use super::AvatarError;
use super::glb::write_glb;
use super::manifest::{AVATAR_FILE_NAME, srgb_to_linear};
use crate::motion::{Expression, HumanBone};
use crate::voice::Viseme;

/// Where the default avatar lives, relative to the repository root.
pub const DEFAULT_AVATAR_DIR: &str = "avatars/default";

/// File name of the generated model.
const MODEL_FILE_NAME: &str = "avatar.glb";

/// Writes `avatar.glb` and `avatar.yaml` of the default avatar into `out_dir` (created if
/// missing). The output is byte-identical on every run.
pub fn generate_default(out_dir: &Path) -> Result<(), AvatarError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| AvatarError::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let glb = build_glb()?;
    let model = out_dir.join(MODEL_FILE_NAME);
    std::fs::write(&model, glb).map_err(io(&model))?;
    let yaml = out_dir.join(AVATAR_FILE_NAME);
    std::fs::write(&yaml, manifest_yaml()).map_err(io(&yaml))?;
    Ok(())
}

// ───────────────────────────── palette ─────────────────────────────

/// (material name, base color, shade color, rim color), sRGB hex. The base color goes into the
/// glTF material; shade and rim into the manifest (the renderer's toon material).
/// Set pieces drawn flat (no lighting): the backdrop covers most of the frame, and unlit it costs
/// far less on a CPU rasterizer (measured +10–20% frames per second with lavapipe).
const UNLIT_MATERIALS: [&str; 4] = ["backdrop", "panel", "floor", "light_strip"];

const MATERIALS: &[(&str, &str, &str, &str)] = &[
    ("skin", "#ffe6d8", "#f3b7a6", "#3a2422"),
    ("hair", "#6e4034", "#43241f", "#4a3038"),
    ("hair_shine", "#a87462", "#6e4034", "#2a1a1a"),
    ("brow", "#4e2c24", "#3a1e19", "#000000"),
    ("lash", "#2c1a1c", "#20120f", "#000000"),
    ("eye_white", "#ffffff", "#e4e4f0", "#000000"),
    ("iris", "#7b4fa8", "#4d2d78", "#000000"),
    ("pupil", "#2a1638", "#1c0d26", "#000000"),
    ("highlight", "#ffffff", "#ffffff", "#000000"),
    ("blush", "#ffb0b4", "#f79aa0", "#000000"),
    ("mouth", "#8c2f3e", "#6a1f2c", "#000000"),
    ("teeth", "#ffffff", "#e8e4ea", "#000000"),
    ("tongue", "#e5717f", "#c85563", "#000000"),
    ("lips", "#f2a0a4", "#e08890", "#000000"),
    ("cloth_top", "#fbf8f6", "#d9d0e4", "#3a3440"),
    ("cloth_skirt", "#f28fb3", "#c8688e", "#40202c"),
    ("accent", "#ff5c8d", "#d63d6d", "#301018"),
    ("shoes", "#6a3b48", "#472430", "#201014"),
    ("backdrop", "#fde6ee", "#f2c8d8", "#000000"),
    ("panel", "#fff7fa", "#f0dbe4", "#000000"),
    ("light_strip", "#fffbef", "#fff3dc", "#000000"),
    ("floor", "#eadff0", "#cfc0dc", "#000000"),
    ("stand", "#ffffff", "#ddd3e8", "#202020"),
    ("product", "#e9c27c", "#b48a4c", "#302818"),
    ("product_accent", "#d91f52", "#a0103a", "#200810"),
    ("product_box", "#ffc2d8", "#e894b4", "#302028"),
];

const BACKGROUND: &str = "#f8dce8";
const LIGHT_COLOR: &str = "#fff6ee";
const AMBIENT_COLOR: &str = "#8a8296";
const LIGHT_DIRECTION: [f64; 3] = [0.45, -0.55, -0.70];
const CAMERA_POSITION: [f64; 3] = [0.20, 1.34, 2.40];
const CAMERA_TARGET: [f64; 3] = [0.20, 1.225, 0.0];
const CAMERA_FOV_Y_DEG: f64 = 19.5;

fn material_index(name: &str) -> usize {
    MATERIALS.iter().position(|m| m.0 == name).unwrap_or(0)
}

fn hex_linear(hex: &str) -> [f64; 3] {
    let c = |i: usize| {
        let byte = u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
        f64::from(srgb_to_linear(f32::from(byte) / 255.0))
    };
    [c(1), c(3), c(5)]
}

// ───────────────────────────── skeleton ─────────────────────────────

/// Rest (T-pose) world position of each bone joint.
fn joint_position(bone: HumanBone) -> V {
    use HumanBone::*;
    let side = |x: f64, y: f64| V::new(x, y, 0.0);
    match bone {
        Hips => V::new(0.0, 0.92, 0.0),
        Spine => V::new(0.0, 1.00, 0.0),
        Chest => V::new(0.0, 1.12, 0.0),
        Neck => V::new(0.0, 1.30, 0.0),
        Head => V::new(0.0, 1.385, 0.0),
        LeftShoulder => side(0.03, 1.25),
        LeftUpperArm => side(0.13, 1.25),
        LeftLowerArm => side(0.37, 1.25),
        LeftHand => side(0.585, 1.25),
        LeftFingers => side(0.665, 1.25),
        RightShoulder => side(-0.03, 1.25),
        RightUpperArm => side(-0.13, 1.25),
        RightLowerArm => side(-0.37, 1.25),
        RightHand => side(-0.585, 1.25),
        RightFingers => side(-0.665, 1.25),
        LeftUpperLeg => side(0.085, 0.88),
        LeftLowerLeg => side(0.085, 0.48),
        LeftFoot => side(0.085, 0.085),
        RightUpperLeg => side(-0.085, 0.88),
        RightLowerLeg => side(-0.085, 0.48),
        RightFoot => side(-0.085, 0.085),
    }
}

// ───────────────────────────── geometry ─────────────────────────────

type Weights = Vec<(HumanBone, f64)>;

/// Skin weights of a vertex from its rest position.
type WeightFn = fn(V) -> Weights;

/// (material name, shape, skin weights).
type SkinnedPart = (&'static str, Part, WeightFn);

fn smoothstep(e0: f64, e1: f64, x: f64) -> f64 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Weights along a chain: `joints[i]` up to `edges[i].0`, blending into `joints[i + 1]` by
/// `edges[i].1`.
fn chain(s: f64, joints: &[HumanBone], edges: &[(f64, f64)]) -> Weights {
    for (i, &(a, b)) in edges.iter().enumerate() {
        if s <= a {
            return vec![(joints[i], 1.0)];
        }
        if s < b {
            let t = smoothstep(a, b, s);
            return vec![(joints[i], 1.0 - t), (joints[i + 1], t)];
        }
    }
    vec![(joints[edges.len()], 1.0)]
}

fn mix(a: Weights, b: Weights, t: f64) -> Weights {
    let mut out: Weights = Vec::new();
    for (bone, w) in a
        .into_iter()
        .map(|(j, w)| (j, w * (1.0 - t)))
        .chain(b.into_iter().map(|(j, w)| (j, w * t)))
    {
        match out.iter_mut().find(|(j, _)| *j == bone) {
            Some(entry) => entry.1 += w,
            None => out.push((bone, w)),
        }
    }
    out.retain(|(_, w)| *w > 1e-6);
    out
}

/// How a part's triangles should face.
#[derive(Clone, Copy)]
enum Facing {
    /// Away from the part's own centroid (closed shapes).
    Out,
    /// Towards a direction (open sheets: face decals, walls).
    Toward(V),
}

/// One shape: positions and triangles, with normals computed from the rest positions.
#[derive(Clone, Default)]
struct Part {
    pos: Vec<V>,
    idx: Vec<u32>,
}

impl Part {
    /// A (nu × nv) grid of `f(u, v)`, u and v in [0, 1]; `closed_u` wraps u (u = 1 is u = 0).
    fn grid(nu: usize, nv: usize, closed_u: bool, f: impl Fn(f64, f64) -> V) -> Part {
        let cols = if closed_u { nu } else { nu + 1 };
        let mut pos = Vec::with_capacity(cols * (nv + 1));
        for j in 0..=nv {
            for i in 0..cols {
                pos.push(f(i as f64 / nu as f64, j as f64 / nv as f64));
            }
        }
        let mut idx = Vec::with_capacity(nu * nv * 6);
        for j in 0..nv {
            for i in 0..nu {
                let i1 = if closed_u { (i + 1) % nu } else { i + 1 };
                let a = (j * cols + i) as u32;
                let b = (j * cols + i1) as u32;
                let c = ((j + 1) * cols + i1) as u32;
                let d = ((j + 1) * cols + i) as u32;
                idx.extend_from_slice(&[a, b, c, a, c, d]);
            }
        }
        Part { pos, idx }
    }

    fn tri_normal(&self, t: usize) -> V {
        let [a, b, c] = [0, 1, 2].map(|k| self.pos[self.idx[t * 3 + k] as usize]);
        (b - a).cross(c - a)
    }

    /// Flips the winding if most of the area faces the wrong way.
    fn orient(mut self, facing: Facing) -> Part {
        let centroid = self.pos.iter().copied().sum::<V>() / self.pos.len().max(1) as f64;
        let mut score = 0.0;
        for t in 0..self.idx.len() / 3 {
            let n = self.tri_normal(t);
            let mid = (0..3)
                .map(|k| self.pos[self.idx[t * 3 + k] as usize])
                .sum::<V>()
                / 3.0;
            score += match facing {
                Facing::Out => n.dot(mid - centroid),
                Facing::Toward(d) => n.dot(d),
            };
        }
        if score < 0.0 {
            for tri in self.idx.chunks_mut(3) {
                tri.swap(1, 2);
            }
        }
        self
    }

    /// Smooth vertex normals: area-weighted face normals, shared by vertices at the same spot
    /// (seams and poles).
    fn normals(&self) -> Vec<V> {
        let mut acc = vec![V::ZERO; self.pos.len()];
        for t in 0..self.idx.len() / 3 {
            let n = self.tri_normal(t);
            for k in 0..3 {
                acc[self.idx[t * 3 + k] as usize] += n;
            }
        }
        let key = |p: V| {
            (
                (p.x * 1e6).round() as i64,
                (p.y * 1e6).round() as i64,
                (p.z * 1e6).round() as i64,
            )
        };
        let mut order: Vec<usize> = (0..self.pos.len()).collect();
        order.sort_by_key(|&i| (key(self.pos[i]), i));
        let mut out = acc.clone();
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            while end < order.len() && key(self.pos[order[end]]) == key(self.pos[order[start]]) {
                end += 1;
            }
            if end - start > 1 {
                let sum: V = order[start..end].iter().map(|&i| acc[i]).sum();
                for &i in &order[start..end] {
                    out[i] = sum;
                }
            }
            start = end;
        }
        out.into_iter()
            .map(|n| n.try_normalize().unwrap_or(V::Y))
            .collect()
    }
}

/// Ellipsoid around `c` with radii `r`.
fn ellipsoid(c: V, r: V, nu: usize, nv: usize) -> Part {
    Part::grid(nu, nv, true, |u, v| {
        let (th, ph) = (TAU * u, PI * v);
        c + V::new(
            r.x * ph.sin() * th.sin(),
            r.y * ph.cos(),
            r.z * ph.sin() * th.cos(),
        )
    })
    .orient(Facing::Out)
}

/// A tube from `a` to `b` with rounded ends: radius `radius(t)` along t in [0, 1], elliptical
/// section scaled by `squash` along `up` (1 = round).
fn capsule(
    a: V,
    b: V,
    up: V,
    squash: f64,
    nu: usize,
    nv: usize,
    radius: impl Fn(f64) -> f64,
) -> Part {
    let axis = (b - a).normalize();
    let side = up.cross(axis).normalize();
    let up = axis.cross(side).normalize();
    let len = (b - a).length();
    let (r0, r1) = (radius(0.0), radius(1.0));
    Part::grid(nu, nv, true, |u, v| {
        let th = TAU * u;
        // v: first fifth is the cap at a, last fifth the cap at b.
        let (along, r) = if v < 0.2 {
            let ang = (v / 0.2) * PI / 2.0;
            (-r0 * ang.cos(), r0 * ang.sin())
        } else if v > 0.8 {
            let ang = ((1.0 - v) / 0.2) * PI / 2.0;
            (len + r1 * ang.cos(), r1 * ang.sin())
        } else {
            let t = (v - 0.2) / 0.6;
            (t * len, radius(t))
        };
        a + axis * along + side * (r * th.cos()) + up * (r * squash * th.sin())
    })
    .orient(Facing::Out)
}

/// A vertical lathe: rings from `y0` (v = 0) to `y1`; `section(t, angle) -> (x, z)`.
fn lathe(y0: f64, y1: f64, nu: usize, nv: usize, section: impl Fn(f64, f64) -> (f64, f64)) -> Part {
    Part::grid(nu, nv, true, |u, v| {
        let (x, z) = section(v, TAU * u);
        V::new(x, y0 + (y1 - y0) * v, z)
    })
}

/// A cylinder standing on `base`, with caps (three parts so the rims stay crisp).
fn cylinder(base: V, r: f64, h: f64, nu: usize) -> Vec<Part> {
    let side = Part::grid(nu, 1, true, |u, v| {
        base + V::new(r * (TAU * u).sin(), h * v, r * (TAU * u).cos())
    })
    .orient(Facing::Out);
    let cap = |y: f64, dir: V| {
        Part::grid(nu, 1, true, |u, v| {
            base + V::new(r * v * (TAU * u).sin(), y, r * v * (TAU * u).cos())
        })
        .orient(Facing::Toward(dir))
    };
    vec![side, cap(h, V::Y), cap(0.0, -V::Y)]
}

/// An axis-aligned box as six flat quads.
fn cuboid(min: V, max: V) -> Vec<Part> {
    let c = (min + max) / 2.0;
    let h = (max - min) / 2.0;
    let mut parts = Vec::new();
    for axis in 0..3 {
        for sign in [-1.0, 1.0] {
            let (a1, a2) = ((axis + 1) % 3, (axis + 2) % 3);
            let part = Part::grid(1, 1, false, |u, v| {
                let mut p = [0.0; 3];
                p[axis] = sign;
                p[a1] = 2.0 * u - 1.0;
                p[a2] = 2.0 * v - 1.0;
                c + V::new(p[0], p[1], p[2]) * h
            });
            let mut dir = [0.0; 3];
            dir[axis] = sign;
            parts.push(part.orient(Facing::Toward(V::from_array(dir))));
        }
    }
    parts
}

// ───────────────────────────── the face ─────────────────────────────

/// Centre and radii of the head ellipsoid.
const HEAD_C: V = V::new(0.0, 1.47, 0.005);
const HEAD_R: V = V::new(0.090, 0.110, 0.095);
const EYE_X: f64 = 0.037;
const EYE_Y: f64 = 1.455;
const EYE_A: f64 = 0.019;
const EYE_B: f64 = 0.022;
const MOUTH_Y: f64 = 1.398;
/// How far `jawOpen` at 1 drops the chin (m).
const JAW_DROP: f64 = 0.020;

/// Narrowing of the lower face (the anime V jaw), as a factor on x at height `sy` (-1..1).
fn jaw_narrow(sy: f64) -> f64 {
    1.0 - 0.35 * sy.min(0.0).powi(2)
}

/// How much the jaw moves a point of the lower face at height `y`, front factor `sz` (-1..1).
fn jaw_weight(y: f64, sz: f64) -> f64 {
    smoothstep(MOUTH_Y - 0.002, MOUTH_Y - 0.028, y) * smoothstep(-0.3, 0.4, sz)
}

fn jaw_offset(y: f64, sz: f64, jaw: f64) -> V {
    let w = jaw_weight(y, sz) * jaw;
    V::new(0.0, -JAW_DROP * w, -0.006 * w)
}

/// Front surface of the face at (x, y), rest shape.
fn face_z(x: f64, y: f64) -> f64 {
    let sy = ((y - HEAD_C.y) / HEAD_R.y).clamp(-1.0, 1.0);
    let ux = x / jaw_narrow(sy) / HEAD_R.x;
    HEAD_C.z + HEAD_R.z * (1.0 - ux * ux - sy * sy).max(0.0).sqrt()
}

/// A point on the face at (x, y), lifted `layer` metres along the surface normal, following
/// the jaw when `jaw` > 0.
fn face_point(x: f64, y: f64, layer: f64, jaw: f64) -> V {
    // Undo the jaw drop to find where on the rest face this point came from.
    let w = jaw_weight(y, 1.0) * jaw;
    let y0 = y + JAW_DROP * w;
    let e = 1e-4;
    let z = face_z(x, y0);
    let n = V::new(
        -(face_z(x + e, y0) - face_z(x - e, y0)) / (2.0 * e),
        -(face_z(x, y0 + e) - face_z(x, y0 - e)) / (2.0 * e),
        1.0,
    )
    .normalize();
    V::new(x, y, z - 0.006 * w) + n * layer
}

#[derive(Clone, Copy)]
struct Eye {
    /// 1 = open, 0 = closed, > 1 = wide.
    open: f64,
    /// Curve of the closed lid line: < 0 droops (‿, a blink), > 0 arches (^, a smile).
    bend: f64,
}

#[derive(Clone, Copy, Default)]
struct Brow {
    raise: f64,
    /// Vertical offset of the inner end (m): < 0 angry, > 0 sad/worried.
    inner: f64,
}

#[derive(Clone, Copy)]
struct Mouth {
    half_w: f64,
    /// Opening above / below the lip line (m).
    top: f64,
    bottom: f64,
    /// Corner lift (m): > 0 smile, < 0 frown.
    smile: f64,
    /// Forward push of the lips (m), for rounded vowels.
    pucker: f64,
    /// Lower lip raised and tucked under the upper teeth (m), for f/v.
    lip_in: f64,
    /// Lip thickness factor (pressed lips are thinner).
    lips: f64,
    /// Tongue raised towards the teeth (0..1), for th/l/n.
    tongue: f64,
}

const MOUTH_REST: Mouth = Mouth {
    half_w: 0.013,
    top: 0.0006,
    bottom: 0.0012,
    smile: 0.0025,
    pucker: 0.0,
    lip_in: 0.0,
    lips: 1.0,
    tongue: 0.0,
};

#[derive(Clone, Copy)]
struct Face {
    /// [left (+X), right].
    eyes: [Eye; 2],
    brows: [Brow; 2],
    mouth: Mouth,
    jaw: f64,
    /// Cheek (blush) lift, 0..1.
    cheek: f64,
}

const EYE_OPEN: Eye = Eye {
    open: 1.0,
    bend: -0.35,
};

const FACE_REST: Face = Face {
    eyes: [EYE_OPEN; 2],
    brows: [Brow {
        raise: 0.0,
        inner: 0.0,
    }; 2],
    mouth: MOUTH_REST,
    jaw: 0.0,
    cheek: 0.0,
};

fn mouth(half_w: f64, top: f64, bottom: f64, smile: f64, pucker: f64, jaw: f64) -> Face {
    Face {
        mouth: Mouth {
            half_w,
            top,
            bottom,
            smile,
            pucker,
            ..MOUTH_REST
        },
        jaw,
        ..FACE_REST
    }
}

/// The morph targets of the `face` mesh: name and the face at weight 1.
fn face_targets() -> Vec<(String, Face)> {
    let viseme = |v: Viseme| -> Face {
        match v {
            Viseme::Sil => FACE_REST,
            Viseme::PP => Face {
                mouth: Mouth {
                    half_w: 0.0120,
                    top: 0.0,
                    bottom: 0.0,
                    smile: 0.0005,
                    pucker: 0.002,
                    lips: 0.55,
                    ..MOUTH_REST
                },
                ..FACE_REST
            },
            Viseme::FF => Face {
                mouth: Mouth {
                    half_w: 0.0140,
                    top: 0.0045,
                    bottom: 0.0,
                    smile: 0.001,
                    lip_in: 0.0025,
                    lips: 0.8,
                    ..MOUTH_REST
                },
                jaw: 0.1,
                ..FACE_REST
            },
            Viseme::TH => Face {
                mouth: Mouth {
                    half_w: 0.0145,
                    top: 0.004,
                    bottom: 0.007,
                    smile: 0.001,
                    tongue: 1.0,
                    ..MOUTH_REST
                },
                jaw: 0.25,
                ..FACE_REST
            },
            Viseme::DD => mouth(0.0150, 0.004, 0.010, 0.0015, 0.0, 0.35),
            Viseme::Kk => mouth(0.0150, 0.004, 0.012, 0.001, 0.0, 0.45),
            Viseme::CH => mouth(0.0115, 0.005, 0.007, 0.0, 0.004, 0.25),
            Viseme::SS => mouth(0.0175, 0.003, 0.004, 0.002, 0.0, 0.1),
            Viseme::Nn => Face {
                mouth: Mouth {
                    half_w: 0.0140,
                    top: 0.003,
                    bottom: 0.006,
                    smile: 0.0015,
                    tongue: 0.7,
                    ..MOUTH_REST
                },
                jaw: 0.2,
                ..FACE_REST
            },
            Viseme::RR => mouth(0.0115, 0.005, 0.010, 0.0, 0.003, 0.35),
            Viseme::Aa => mouth(0.0195, 0.008, 0.026, 0.002, 0.0, 1.0),
            Viseme::E => mouth(0.0205, 0.006, 0.011, 0.004, 0.0, 0.4),
            Viseme::Ih => mouth(0.0190, 0.005, 0.008, 0.003, 0.0, 0.3),
            Viseme::Oh => mouth(0.0115, 0.009, 0.020, -0.001, 0.004, 0.75),
            Viseme::Ou => mouth(0.0080, 0.005, 0.008, -0.0005, 0.007, 0.3),
        }
    };
    let expression = |e: Expression| -> Face {
        let mut f = FACE_REST;
        match e {
            Expression::BlinkLeft => {
                f.eyes[0] = Eye {
                    open: 0.0,
                    bend: -0.35,
                }
            }
            Expression::BlinkRight => {
                f.eyes[1] = Eye {
                    open: 0.0,
                    bend: -0.35,
                }
            }
            Expression::Happy => {
                f.eyes = [Eye {
                    open: 0.0,
                    bend: 0.9,
                }; 2];
                f.brows = [Brow {
                    raise: 0.003,
                    inner: 0.0,
                }; 2];
                f.mouth = Mouth {
                    half_w: 0.0165,
                    top: 0.002,
                    bottom: 0.010,
                    smile: 0.007,
                    ..MOUTH_REST
                };
                f.jaw = 0.3;
                f.cheek = 1.0;
            }
            Expression::Angry => {
                f.eyes = [Eye {
                    open: 0.72,
                    bend: 0.0,
                }; 2];
                f.brows = [Brow {
                    raise: 0.0,
                    inner: -0.008,
                }; 2];
                f.mouth = Mouth {
                    half_w: 0.0125,
                    top: 0.0006,
                    bottom: 0.0015,
                    smile: -0.0045,
                    ..MOUTH_REST
                };
            }
            Expression::Sad => {
                f.eyes = [Eye {
                    open: 0.78,
                    bend: -0.6,
                }; 2];
                f.brows = [Brow {
                    raise: 0.0,
                    inner: 0.008,
                }; 2];
                f.mouth = Mouth {
                    half_w: 0.0115,
                    top: 0.0006,
                    bottom: 0.0015,
                    smile: -0.005,
                    ..MOUTH_REST
                };
            }
            Expression::Relaxed => {
                f.eyes = [Eye {
                    open: 0.45,
                    bend: -0.2,
                }; 2];
                f.brows = [Brow {
                    raise: 0.002,
                    inner: 0.002,
                }; 2];
                f.mouth = Mouth {
                    smile: 0.0045,
                    half_w: 0.0145,
                    ..MOUTH_REST
                };
                f.cheek = 0.5;
            }
            Expression::Surprised => {
                f.eyes = [Eye {
                    open: 1.18,
                    bend: 0.0,
                }; 2];
                f.brows = [Brow {
                    raise: 0.009,
                    inner: 0.002,
                }; 2];
                f.mouth = Mouth {
                    half_w: 0.0095,
                    top: 0.006,
                    bottom: 0.013,
                    smile: -0.001,
                    pucker: 0.002,
                    ..MOUTH_REST
                };
                f.jaw = 0.5;
            }
        }
        f
    };
    let mut targets: Vec<(String, Face)> = Viseme::ALL
        .iter()
        .map(|&v| (format!("viseme_{}", v.name()), viseme(v)))
        .collect();
    targets.push((
        "jawOpen".to_owned(),
        Face {
            mouth: Mouth {
                top: 0.004,
                bottom: 0.020,
                ..MOUTH_REST
            },
            jaw: 1.0,
            ..FACE_REST
        },
    ));
    targets.extend(
        Expression::ALL
            .iter()
            .map(|&e| (e.vrm_name().to_owned(), expression(e))),
    );
    targets
}

/// All parts of the face for one face state, as (material, part). The topology never depends
/// on `f`, so the difference between two states is a morph target.
fn face_parts(f: &Face) -> Vec<(&'static str, Part)> {
    let mut parts: Vec<(&'static str, Part)> = Vec::new();

    // Head skin: an ellipsoid with a V jaw; the lower front follows the jaw.
    let head = Part::grid(56, 36, true, |u, v| {
        let (th, ph) = (TAU * u, PI * v);
        let (sx, sy, sz) = (ph.sin() * th.sin(), ph.cos(), ph.sin() * th.cos());
        let p = HEAD_C + V::new(HEAD_R.x * sx * jaw_narrow(sy), HEAD_R.y * sy, HEAD_R.z * sz);
        p + jaw_offset(p.y, sz, f.jaw)
    });
    parts.push(("skin", head));
    // Ears (mostly under the hair) and a small nose.
    for s in [-1.0, 1.0] {
        parts.push((
            "skin",
            ellipsoid(
                V::new(s * 0.086, 1.452, -0.005),
                V::new(0.010, 0.020, 0.014),
                12,
                8,
            ),
        ));
    }
    let nose_z = face_z(0.0, 1.423);
    parts.push((
        "skin",
        ellipsoid(
            V::new(0.0, 1.423, nose_z - 0.003),
            V::new(0.0055, 0.007, 0.006),
            12,
            8,
        ),
    ));

    // Blush.
    for s in [-1.0, 1.0] {
        let (cx, cy) = (s * 0.052, 1.428 + 0.004 * f.cheek);
        let blush = Part::grid(20, 3, true, |u, v| {
            let a = TAU * u;
            face_point(
                cx + 0.014 * v * a.cos(),
                cy + 0.0065 * v * a.sin(),
                0.0006,
                0.0,
            )
        });
        parts.push(("blush", blush.orient(Facing::Toward(V::Z))));
    }

    // Eyes: index 0 is the avatar's left (+X).
    for (i, s) in [1.0f64, -1.0].into_iter().enumerate() {
        let eye = f.eyes[i];
        let cx = s * EYE_X;
        let close_y = EYE_Y - 0.5 * EYE_B;
        // Squash a local eye point towards the closing line.
        let squash = |lx: f64, ly: f64| -> (f64, f64) {
            let y = EYE_Y + ly;
            let arch = (1.0 - eye.open).max(0.0)
                * eye.bend
                * EYE_B
                * 0.5
                * (1.0 - (lx / (EYE_A * 1.1)).powi(2)).max(0.0);
            (cx + lx, close_y + (y - close_y) * eye.open + arch)
        };
        let disc = |ax: f64, by: f64, ox: f64, oy: f64, layer: f64, rings: usize| {
            Part::grid(28, rings, true, |u, v| {
                let a = TAU * u;
                let (x, y) = squash(ox + ax * v * a.cos(), oy + by * v * a.sin());
                face_point(x, y, layer, 0.0)
            })
            .orient(Facing::Toward(V::Z))
        };
        // Eye white: flatter on top, a soft almond.
        let white = Part::grid(32, 3, true, |u, v| {
            let a = TAU * u;
            let by = if a.sin() > 0.0 { EYE_B * 0.92 } else { EYE_B };
            let (x, y) = squash(EYE_A * v * a.cos(), by * v * a.sin());
            face_point(x, y, 0.0008, 0.0)
        })
        .orient(Facing::Toward(V::Z));
        parts.push(("eye_white", white));
        parts.push(("iris", disc(0.0145, 0.0190, 0.0, -0.0015, 0.0016, 4)));
        parts.push(("pupil", disc(0.0062, 0.0088, 0.0, -0.0025, 0.0024, 2)));
        parts.push((
            "highlight",
            disc(0.0045, 0.0050, -0.0045, 0.0075, 0.0032, 2),
        ));
        parts.push((
            "highlight",
            disc(0.0022, 0.0022, 0.0055, -0.0095, 0.0032, 1),
        ));
        // Upper lash line: a thick arc with a flick at the outer corner (outer = +X for the
        // left eye). u runs from the outer corner to the inner one.
        let lash = Part::grid(24, 1, false, |u, v| {
            let lx_unit = 1.12 - 2.12 * u; // 1.12 (outer, past the corner) .. -1.0 (inner)
            let th = lx_unit.clamp(-1.0, 1.0).acos();
            let ly_open = EYE_B * 0.92 * th.sin()
                - if lx_unit > 1.0 {
                    (lx_unit - 1.0) * 0.02
                } else {
                    0.0
                };
            let lx = s * EYE_A * lx_unit;
            let y_open = EYE_Y + ly_open;
            let bend = eye.bend * EYE_B * 0.5 * (1.0 - lx_unit.powi(2)).max(0.0);
            let y = close_y + (y_open - close_y) * eye.open + (1.0 - eye.open).max(0.0) * bend;
            let thick = 0.0014
                + 0.0026 * (PI * u.clamp(0.0, 1.0)).sin().sqrt()
                + if u < 0.15 {
                    0.0015 * (1.0 - u / 0.15)
                } else {
                    0.0
                };
            face_point(cx + lx, y + (v - 0.35) * thick, 0.0036, 0.0)
        })
        .orient(Facing::Toward(V::Z));
        parts.push(("lash", lash));
        // Lower lash: a thin short line.
        let lower = Part::grid(12, 1, false, |u, v| {
            let a = PI * (1.2 + 0.45 * u);
            let (x, y) = squash(
                EYE_A * 0.95 * a.cos() * s,
                EYE_B * a.sin() - 0.0004 + v * 0.0009,
            );
            face_point(x, y, 0.0036, 0.0)
        })
        .orient(Facing::Toward(V::Z));
        parts.push(("lash", lower));

        // Brow: u from the inner end (0) to the outer end (1).
        let brow = f.brows[i];
        let brow_part = Part::grid(16, 1, false, |u, v| {
            let lx = s * (-0.014 + 0.030 * u);
            let y = EYE_Y
                + 0.031
                + brow.raise
                + 0.0035 * (PI * (0.2 + 0.8 * u)).sin()
                + brow.inner * (1.0 - u).powi(2);
            let thick = 0.0030 * (1.0 - 0.6 * u);
            face_point(cx + lx, y + (v - 0.5) * thick, 0.0009, 0.0)
        })
        .orient(Facing::Toward(V::Z));
        parts.push(("brow", brow_part));
    }

    // Mouth: an outline around the lip line, opened by `top` / `bottom`.
    let m = f.mouth;
    let outline = |a: f64, r: f64| -> V {
        let x = r * m.half_w * a.cos();
        let open = if a.sin() >= 0.0 { m.top } else { m.bottom };
        let corner = (x / m.half_w.max(1e-6)).powi(2);
        let y = MOUTH_Y + r * open * a.sin() + m.smile * corner;
        face_point(x, y, 0.0, f.jaw) + V::new(0.0, 0.0, m.pucker * (1.0 - corner))
    };
    let lift = |p: V, layer: f64| p + V::new(0.0, 0.0, layer);
    let inner = Part::grid(32, 4, true, |u, v| lift(outline(TAU * u, v), 0.0012));
    parts.push(("mouth", inner.orient(Facing::Toward(V::Z))));
    let teeth = Part::grid(16, 1, false, |u, v| {
        let a = PI * (0.1 + 0.8 * u);
        lift(outline(a, 0.98 - 0.30 * v), 0.0016)
    });
    parts.push(("teeth", teeth.orient(Facing::Toward(V::Z))));
    let tongue = Part::grid(16, 2, false, |u, v| {
        let a = PI * (1.12 + 0.76 * u);
        let p = outline(a, 0.92 - 0.55 * v);
        let raise = m.tongue * (m.top + m.bottom) * 0.45 * (1.0 - v * 0.3);
        lift(p + V::new(0.0, raise, 0.0), 0.0016)
    });
    parts.push(("tongue", tongue.orient(Facing::Toward(V::Z))));
    // Lips: upper along the top edge, lower along the bottom edge, thicker in the middle.
    let upper = Part::grid(24, 2, false, |u, v| {
        let a = PI * u;
        let p = outline(a, 1.0);
        let t = 0.0021 * m.lips * (0.35 + 0.65 * a.sin());
        lift(
            p + V::new(
                p.x.signum() * 0.0008 * v * a.cos().abs(),
                t * v - 0.0004,
                0.0,
            ),
            0.0020,
        )
    });
    parts.push(("lips", upper.orient(Facing::Toward(V::Z))));
    let lower = Part::grid(24, 2, false, |u, v| {
        let a = PI * (1.0 + u);
        let p = outline(a, 1.0);
        let t = 0.0030 * m.lips * (0.35 + 0.65 * (-a.sin()));
        let tuck = m.lip_in * (-a.sin());
        lift(
            p + V::new(
                p.x.signum() * 0.0008 * v * a.cos().abs(),
                -t * v + 0.0004 + tuck,
                -0.3 * tuck,
            ),
            0.0020,
        )
    });
    parts.push(("lips", lower.orient(Facing::Toward(V::Z))));

    // The head was built without `orient` (its topology must match across states); orient
    // every part by the rest state only, so all states share one winding.
    parts
}

// ───────────────────────────── the body ─────────────────────────────

/// Half-widths of the torso at height y: (x, z front, z back).
fn torso_profile(y: f64) -> (f64, f64, f64) {
    const KEYS: &[(f64, f64, f64, f64)] = &[
        (0.84, 0.118, 0.085, 0.085),
        (0.92, 0.120, 0.082, 0.082),
        (0.98, 0.098, 0.066, 0.068),
        (1.05, 0.100, 0.072, 0.070),
        (1.11, 0.112, 0.095, 0.074),
        (1.17, 0.120, 0.090, 0.076),
        (1.23, 0.126, 0.070, 0.070),
        (1.275, 0.110, 0.055, 0.060),
        (1.305, 0.060, 0.040, 0.045),
        (1.32, 0.035, 0.032, 0.035),
    ];
    let last = KEYS.len() - 1;
    if y <= KEYS[0].0 {
        return (KEYS[0].1, KEYS[0].2, KEYS[0].3);
    }
    for w in KEYS.windows(2) {
        let (a, b) = (w[0], w[1]);
        if y <= b.0 {
            let t = smoothstep(a.0, b.0, y);
            let l = |p: f64, q: f64| p + (q - p) * t;
            return (l(a.1, b.1), l(a.2, b.2), l(a.3, b.3));
        }
    }
    (KEYS[last].1, KEYS[last].2, KEYS[last].3)
}

fn torso_point(y: f64, a: f64, grow: f64) -> (f64, f64) {
    let (rx, rzf, rzb) = torso_profile(y);
    let rz = if a.cos() > 0.0 { rzf } else { rzb };
    ((rx + grow) * a.sin(), (rz + grow) * a.cos() + 0.002)
}

fn torso_weights(p: V) -> Weights {
    use HumanBone::*;
    let base = chain(
        p.y,
        &[Hips, Spine, Chest, Neck],
        &[(0.95, 1.03), (1.08, 1.16), (1.28, 1.32)],
    );
    let shoulder = if p.x > 0.0 {
        LeftShoulder
    } else {
        RightShoulder
    };
    let t = 0.6 * smoothstep(0.06, 0.12, p.x.abs()) * smoothstep(1.15, 1.23, p.y);
    mix(base, vec![(shoulder, 1.0)], t)
}

fn arm_weights(p: V) -> Weights {
    use HumanBone::*;
    let j = if p.x > 0.0 {
        [
            LeftShoulder,
            LeftUpperArm,
            LeftLowerArm,
            LeftHand,
            LeftFingers,
        ]
    } else {
        [
            RightShoulder,
            RightUpperArm,
            RightLowerArm,
            RightHand,
            RightFingers,
        ]
    };
    chain(
        p.x.abs(),
        &j,
        &[(0.11, 0.18), (0.345, 0.395), (0.57, 0.60), (0.655, 0.675)],
    )
}

fn leg_weights(p: V) -> Weights {
    use HumanBone::*;
    let j = if p.x > 0.0 {
        [LeftFoot, LeftLowerLeg, LeftUpperLeg, Hips]
    } else {
        [RightFoot, RightLowerLeg, RightUpperLeg, Hips]
    };
    chain(p.y, &j, &[(0.08, 0.11), (0.455, 0.505), (0.86, 0.93)])
}

fn neck_weights(p: V) -> Weights {
    use HumanBone::*;
    chain(p.y, &[Chest, Neck, Head], &[(1.27, 1.31), (1.36, 1.40)])
}

fn head_weights(_: V) -> Weights {
    vec![(HumanBone::Head, 1.0)]
}

fn hips_weights(_: V) -> Weights {
    vec![(HumanBone::Hips, 1.0)]
}

fn chest_weights(_: V) -> Weights {
    vec![(HumanBone::Chest, 1.0)]
}

/// A strand of hair: a flattened tube along `path(t)`, half-width `width(t)` along `side`,
/// half-thickness `thick(t)` along the surface normal `normal(t)`.
fn strand(
    nv: usize,
    path: impl Fn(f64) -> V,
    normal: impl Fn(f64) -> V,
    width: impl Fn(f64) -> f64,
    thick: impl Fn(f64) -> f64,
) -> Part {
    Part::grid(10, nv, true, |u, t| {
        let a = TAU * u;
        let c = path(t);
        let tangent = (path((t + 0.01).min(1.0)) - path((t - 0.01).max(0.0))).normalize_or_zero();
        let n = normal(t);
        let side = tangent.cross(n).try_normalize().unwrap_or(V::X);
        let n = side.cross(tangent).normalize_or_zero();
        c + side * (width(t) * a.cos()) + n * (thick(t) * a.sin())
    })
    .orient(Facing::Out)
}

const HAIR_C: V = V::new(0.0, 1.476, 0.0);
const HAIR_R: V = V::new(0.103, 0.121, 0.108);

/// A point above the scalp at (x, y), `off` metres out from the hair shell, front side.
fn scalp_front(x: f64, y: f64, off: f64) -> (V, V) {
    let r = HAIR_R + V::splat(off - 0.012);
    let ux = x / r.x;
    let uy = (y - HAIR_C.y) / r.y;
    let uz = (1.0 - ux * ux - uy * uy).max(0.04).sqrt();
    let p = HAIR_C + V::new(x, y - HAIR_C.y, uz * r.z);
    let n = V::new(ux / r.x, uy / r.y, uz / r.z).normalize();
    (p, n)
}

fn hair_parts() -> Vec<(&'static str, Part)> {
    let mut parts = Vec::new();
    // Cap: top of the head down to a hairline that is high at the front and low at the back.
    parts.push((
        "hair",
        Part::grid(56, 22, true, |u, v| {
            let th = TAU * u; // 0 = front (+Z)
            let back = ((1.0 - th.cos()) / 2.0).powf(0.8);
            let ph_max = PI * (0.30 + 0.56 * back);
            let ph = v * ph_max;
            HAIR_C
                + V::new(
                    HAIR_R.x * ph.sin() * th.sin(),
                    HAIR_R.y * ph.cos(),
                    HAIR_R.z * ph.sin() * th.cos(),
                )
        })
        .orient(Facing::Out),
    ));
    // Bangs over the forehead, fanning out, the outer ones longer.
    for k in 0..7 {
        let x0 = (k as f64 - 3.0) * 0.024;
        let sway = [-0.004, 0.006, -0.006, 0.0, 0.006, -0.006, 0.004][k];
        let tip_y = 1.500 - 0.12 * x0.abs().powf(1.2) * 3.0;
        let root_y = 1.588 - 0.5 * x0.abs();
        let path = move |t: f64| {
            let x = x0 * (1.0 + 0.25 * t) + sway * t * t;
            let y = root_y + (tip_y - root_y) * t;
            scalp_front(x, y, 0.010 - 0.003 * t).0
        };
        let normal = move |t: f64| {
            let x = x0 * (1.0 + 0.25 * t);
            let y = root_y + (tip_y - root_y) * t;
            scalp_front(x, y, 0.01).1
        };
        parts.push((
            "hair",
            strand(
                14,
                path,
                normal,
                |t| 0.016 * (1.0 - t).powf(0.6) + 0.0005,
                |t| 0.0045 * (1.0 - 0.6 * t) + 0.0005,
            ),
        ));
    }
    // Side locks in front of the ears, down to the collarbones.
    for s in [-1.0, 1.0] {
        let p0 = V::new(s * 0.082, 1.545, 0.050);
        let p1 = V::new(s * 0.104, 1.430, 0.040);
        let p2 = V::new(s * 0.096, 1.285, 0.052);
        let path = move |t: f64| p0 * (1.0 - t).powi(2) + p1 * (2.0 * t * (1.0 - t)) + p2 * (t * t);
        parts.push((
            "hair",
            strand(
                16,
                path,
                move |_| V::new(s * 0.5, 0.0, 1.0).normalize(),
                |t| 0.017 * (1.0 - t).powf(0.5) + 0.002,
                |_| 0.006,
            ),
        ));
    }
    // Long back hair down to the shoulder blades: a flattened mass behind head and neck.
    parts.push((
        "hair",
        lathe(1.52, 1.06, 40, 16, |t, a| {
            let zc = -0.005 - 0.085 * t;
            let rx =
                0.100 + 0.030 * (PI * t.min(0.6) / 1.2).sin() - 0.070 * smoothstep(0.6, 1.0, t);
            let rzb = 0.095 - 0.050 * t;
            let rzf = 0.040 - 0.030 * t;
            let rz = if a.cos() > 0.0 { rzf } else { rzb };
            let wave = 1.0 + 0.04 * (9.0 * a).sin() * t;
            (rx * a.sin() * wave, zc + rz * a.cos() * wave)
        })
        .orient(Facing::Out),
    ));
    // A shine band (the "angel ring") on the crown.
    parts.push((
        "hair_shine",
        Part::grid(40, 1, false, |u, v| {
            let th = PI * (-0.42 + 0.84 * u);
            let ph = PI * (0.20 + 0.05 * v);
            HAIR_C
                + (V::new(
                    HAIR_R.x * ph.sin() * th.sin(),
                    HAIR_R.y * ph.cos(),
                    HAIR_R.z * ph.sin() * th.cos(),
                ) * 1.012)
        })
        .orient(Facing::Toward(V::new(0.0, 0.6, 1.0))),
    ));
    parts
}

/// Body parts as (material, part, weights).
fn body_parts() -> Vec<SkinnedPart> {
    let mut out: Vec<SkinnedPart> = Vec::new();
    // Torso: blouse up to the neckline, skin above.
    out.push((
        "cloth_top",
        lathe(0.84, 1.262, 40, 24, |t, a| {
            torso_point(0.84 + t * (1.262 - 0.84), a, 0.0)
        })
        .orient(Facing::Out),
        torso_weights,
    ));
    out.push((
        "skin",
        lathe(1.25, 1.33, 40, 6, |t, a| {
            torso_point(1.25 + t * 0.08, a, -0.001)
        })
        .orient(Facing::Out),
        torso_weights,
    ));
    // Collar: a white band around the neckline.
    out.push((
        "cloth_top",
        lathe(1.245, 1.268, 40, 2, |t, a| {
            let (x, z) = torso_point(1.245 + t * 0.023, a, 0.004);
            (x, z)
        })
        .orient(Facing::Out),
        torso_weights,
    ));
    out.push((
        "skin",
        capsule(
            V::new(0.0, 1.27, 0.0),
            V::new(0.0, 1.42, 0.0),
            V::Z,
            1.0,
            16,
            10,
            |_| 0.029,
        ),
        neck_weights,
    ));
    // Skirt: a pleated flare from the waist.
    out.push((
        "cloth_skirt",
        lathe(1.0, 0.60, 48, 14, |t, a| {
            let (x0, z0) = torso_point(1.0 - 0.06 * t, a, 0.006);
            let flare = 1.0 + 1.6 * t;
            let pleat = 1.0 + 0.035 * (16.0 * a).sin() * t;
            (x0 * flare * pleat, z0 * flare * pleat)
        })
        .orient(Facing::Out),
        hips_weights,
    ));
    // Waist ribbon and chest bow.
    out.push((
        "accent",
        lathe(0.975, 1.005, 40, 2, |t, a| {
            torso_point(0.975 + 0.03 * t, a, 0.009)
        })
        .orient(Facing::Out),
        hips_weights,
    ));
    let bow_c = V::new(0.0, 1.215, torso_profile(1.215).1 + 0.012);
    for s in [-1.0, 1.0] {
        out.push((
            "accent",
            ellipsoid(
                bow_c + V::new(s * 0.020, 0.002, 0.0),
                V::new(0.020, 0.012, 0.007),
                14,
                8,
            ),
            chest_weights,
        ));
        out.push((
            "accent",
            capsule(
                bow_c + V::new(s * 0.006, -0.006, 0.0),
                bow_c + V::new(s * 0.016, -0.040, 0.001),
                V::Z,
                0.4,
                8,
                6,
                |t| 0.007 - 0.003 * t,
            ),
            chest_weights,
        ));
    }
    out.push((
        "accent",
        ellipsoid(
            bow_c + V::new(0.0, 0.0, 0.004),
            V::new(0.007, 0.008, 0.006),
            10,
            6,
        ),
        chest_weights,
    ));

    for s in [-1.0, 1.0] {
        // Arm along ±X: upper arm, elbow, forearm, wrist.
        let arm = capsule(
            V::new(s * 0.115, 1.25, 0.0),
            V::new(s * 0.595, 1.25, 0.0),
            V::Y,
            1.0,
            16,
            28,
            |t| {
                let x = 0.115 + t * 0.48;
                if x < 0.37 {
                    0.034 - 0.006 * smoothstep(0.115, 0.37, x)
                } else {
                    0.028 - 0.007 * smoothstep(0.37, 0.595, x)
                }
            },
        );
        out.push(("skin", arm, arm_weights));
        // Puffed short sleeve.
        out.push((
            "cloth_top",
            capsule(
                V::new(s * 0.105, 1.252, 0.0),
                V::new(s * 0.235, 1.25, 0.0),
                V::Y,
                1.0,
                20,
                10,
                |t| 0.047 + 0.006 * (PI * t).sin(),
            ),
            arm_weights,
        ));
        out.push((
            "accent",
            capsule(
                V::new(s * 0.232, 1.25, 0.0),
                V::new(s * 0.246, 1.25, 0.0),
                V::Y,
                1.0,
                20,
                5,
                |_| 0.046,
            ),
            arm_weights,
        ));
        // Hand: palm, fingers, thumb (palm down in the T-pose).
        out.push((
            "skin",
            ellipsoid(
                V::new(s * 0.625, 1.25, 0.0),
                V::new(0.040, 0.014, 0.030),
                14,
                8,
            ),
            arm_weights,
        ));
        out.push((
            "skin",
            ellipsoid(
                V::new(s * 0.690, 1.247, -0.002),
                V::new(0.036, 0.011, 0.027),
                14,
                8,
            ),
            arm_weights,
        ));
        out.push((
            "skin",
            capsule(
                V::new(s * 0.605, 1.248, 0.022),
                V::new(s * 0.640, 1.245, 0.042),
                V::Y,
                0.8,
                8,
                6,
                |_| 0.009,
            ),
            arm_weights,
        ));
        // Leg.
        let leg = capsule(
            V::new(s * 0.085, 0.88, 0.0),
            V::new(s * 0.085, 0.07, 0.0),
            V::Z,
            1.0,
            16,
            28,
            |t| {
                let y = 0.88 - t * 0.81;
                if y > 0.48 {
                    0.040 + 0.012 * smoothstep(0.48, 0.86, y)
                } else {
                    0.026 + 0.014 * smoothstep(0.10, 0.48, y)
                }
            },
        );
        out.push(("skin", leg, leg_weights));
        // Shoe.
        out.push((
            "shoes",
            ellipsoid(
                V::new(s * 0.085, 0.040, 0.030),
                V::new(0.040, 0.042, 0.095),
                18,
                10,
            ),
            leg_weights,
        ));
    }
    // Hair and a hair clip, rigid on the head.
    for (material, p) in hair_parts() {
        out.push((material, p, head_weights));
    }
    let clip = V::new(0.098, 1.535, 0.035);
    out.push((
        "accent",
        ellipsoid(
            clip + V::new(0.0, 0.010, 0.004),
            V::new(0.006, 0.014, 0.012),
            10,
            6,
        ),
        head_weights,
    ));
    out.push((
        "accent",
        ellipsoid(
            clip + V::new(0.0, -0.010, 0.010),
            V::new(0.006, 0.014, 0.012),
            10,
            6,
        ),
        head_weights,
    ));
    out
}

// ───────────────────────────── the set ─────────────────────────────

fn studio_parts() -> Vec<(&'static str, Part)> {
    let mut out = Vec::new();
    out.push((
        "floor",
        Part::grid(1, 1, false, |u, v| {
            V::new(-3.5 + 7.0 * u, 0.0, 2.8 - 4.8 * v)
        })
        .orient(Facing::Toward(V::Y)),
    ));
    // Curved back wall: an arc of a cylinder around the host.
    let (wc, wr) = (V::new(0.15, 0.0, 1.6), 3.1);
    let wall = |a0: f64, a1: f64, y0: f64, y1: f64, inset: f64, nu: usize| {
        Part::grid(nu, 1, false, move |u, v| {
            let a = a0 + (a1 - a0) * u;
            wc + V::new(
                (wr - inset) * a.sin(),
                y0 + (y1 - y0) * v,
                -(wr - inset) * a.cos(),
            )
        })
        .orient(Facing::Toward(V::Z))
    };
    out.push(("backdrop", wall(-1.0, 1.0, 0.0, 3.2, 0.0, 48)));
    // Panels left and right, light strips between them, a halo panel behind the head.
    for (a0, a1) in [(-0.42, -0.18), (0.20, 0.44)] {
        out.push(("panel", wall(a0, a1, 0.55, 2.35, 0.01, 8)));
    }
    for a in [-0.47, -0.13, 0.15, 0.49] {
        out.push(("light_strip", wall(a, a + 0.012, 0.35, 2.55, 0.02, 1)));
    }
    let halo_c =
        wc + V::new(wr * (-0.02f64).sin(), 1.45, -wr * (-0.02f64).cos()) + V::new(0.0, 0.0, 0.07);
    out.push((
        "panel",
        Part::grid(40, 2, true, |u, v| {
            halo_c + V::new(0.55 * v * (TAU * u).cos(), 0.55 * v * (TAU * u).sin(), 0.0)
        })
        .orient(Facing::Toward(V::Z)),
    ));
    out
}

fn stand_parts() -> Vec<(&'static str, Part)> {
    let mut out = Vec::new();
    let base = V::new(0.56, 0.0, 0.16);
    for p in cylinder(base, 0.16, 0.03, 32) {
        out.push(("stand", p));
    }
    for p in cylinder(base + V::new(0.0, 0.03, 0.0), 0.085, 0.86, 24) {
        out.push(("stand", p));
    }
    for p in cylinder(base + V::new(0.0, 0.89, 0.0), 0.17, 0.035, 32) {
        out.push(("stand", p));
    }
    let top = 0.925;
    // Lipstick: gold case, red bullet with a slanted tip.
    let lip = V::new(0.515, top, 0.19);
    for p in cylinder(lip, 0.016, 0.075, 20) {
        out.push(("product", p));
    }
    for p in cylinder(lip + V::new(0.0, 0.075, 0.0), 0.012, 0.008, 20) {
        out.push(("product", p));
    }
    let bullet = Part::grid(20, 4, true, |u, v| {
        let a = TAU * u;
        let (x, z) = (0.0105 * a.sin(), 0.0105 * a.cos());
        let h = 0.018 + 0.014 * (0.5 + 0.5 * a.sin()) * v.min(1.0);
        lip + V::new(x, 0.083 + h * v, z)
    })
    .orient(Facing::Out);
    out.push(("product_accent", bullet));
    let tip = Part::grid(20, 1, true, |u, v| {
        let a = TAU * u;
        let r = 0.0105 * (1.0 - v);
        let h = 0.018 + 0.014 * (0.5 + 0.5 * a.sin());
        lip + V::new(r * a.sin(), 0.083 + h, r * a.cos())
    })
    .orient(Facing::Toward(V::Y));
    out.push(("product_accent", tip));
    // Its box, standing behind.
    for p in cuboid(V::new(0.565, top, 0.11), V::new(0.625, top + 0.13, 0.16)) {
        out.push(("product_box", p));
    }
    for p in cuboid(
        V::new(0.567, top + 0.055, 0.1595),
        V::new(0.623, top + 0.075, 0.1605),
    ) {
        out.push(("product_accent", p));
    }
    out
}

// ───────────────────────────── glTF writing ─────────────────────────────

/// Rounds to a fixed grid so the bytes do not depend on the last bits of libm.
fn q(x: f64, grid: f64) -> f32 {
    ((x * grid).round() / grid) as f32
}

#[derive(Default)]
struct Prim {
    material: usize,
    pos: Vec<V>,
    nrm: Vec<V>,
    idx: Vec<u32>,
    weights: Vec<Weights>,
    targets: Vec<Vec<V>>,
}

impl Prim {
    fn add(&mut self, part: &Part, weights: Option<WeightFn>) {
        let base = self.pos.len() as u32;
        self.nrm.extend(part.normals());
        self.pos.extend_from_slice(&part.pos);
        self.idx.extend(part.idx.iter().map(|i| i + base));
        if let Some(w) = weights {
            self.weights.extend(part.pos.iter().map(|&p| w(p)));
        }
    }
}

struct MeshOut {
    name: &'static str,
    prims: Vec<Prim>,
    target_names: Vec<String>,
}

/// Groups parts by material, in order of first appearance.
fn group(parts: Vec<(&'static str, Part, Option<WeightFn>)>) -> Vec<Prim> {
    let mut prims: Vec<Prim> = Vec::new();
    for (material, part, weights) in parts {
        let m = material_index(material);
        let at = match prims.iter().position(|p| p.material == m) {
            Some(at) => at,
            None => {
                prims.push(Prim {
                    material: m,
                    ..Prim::default()
                });
                prims.len() - 1
            }
        };
        prims[at].add(&part, weights);
    }
    prims
}

fn face_mesh() -> MeshOut {
    // Windings come from the rest state (every face part but the head orients itself; the
    // head is oriented here); targets only contribute positions.
    let mut rest = face_parts(&FACE_REST);
    if let Some((_, head)) = rest.first_mut() {
        *head = std::mem::take(head).orient(Facing::Out);
    }
    let mut prims = group(
        rest.iter()
            .map(|(m, p)| (*m, p.clone(), Some(head_weights as WeightFn)))
            .collect(),
    );
    let targets = face_targets();
    for (_, face) in &targets {
        let state = face_parts(face);
        // Same grouping as the rest state: material order of first appearance.
        let mut deltas: Vec<Vec<V>> = vec![Vec::new(); prims.len()];
        for ((material, part), (_, rest_part)) in state.iter().zip(&rest) {
            let m = material_index(material);
            let at = prims.iter().position(|p| p.material == m).unwrap_or(0);
            deltas[at].extend(part.pos.iter().zip(&rest_part.pos).map(|(a, b)| *a - *b));
        }
        for (prim, d) in prims.iter_mut().zip(deltas) {
            prim.targets.push(d);
        }
    }
    MeshOut {
        name: "face",
        prims,
        target_names: targets.into_iter().map(|(n, _)| n).collect(),
    }
}

struct Writer {
    bin: Vec<u8>,
    views: Vec<Value>,
    accessors: Vec<Value>,
}

const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;

impl Writer {
    fn view(&mut self, bytes: &[u8], target: Option<u32>, stride: Option<usize>) -> usize {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        let mut v = json!({ "buffer": 0, "byteOffset": self.bin.len(), "byteLength": bytes.len() });
        if let Some(t) = target {
            v["target"] = json!(t);
        }
        if let Some(s) = stride {
            v["byteStride"] = json!(s);
        }
        self.bin.extend_from_slice(bytes);
        self.views.push(v);
        self.views.len() - 1
    }

    fn accessor(&mut self, v: Value) -> usize {
        self.accessors.push(v);
        self.accessors.len() - 1
    }

    fn vec3(&mut self, data: &[[f32; 3]], min_max: bool) -> usize {
        let bytes: Vec<u8> = data
            .iter()
            .flatten()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let view = self.view(&bytes, Some(ARRAY_BUFFER), None);
        let mut acc = json!({ "bufferView": view, "componentType": 5126, "count": data.len(), "type": "VEC3" });
        if min_max {
            let mut min = [f32::INFINITY; 3];
            let mut max = [f32::NEG_INFINITY; 3];
            for p in data {
                for k in 0..3 {
                    min[k] = min[k].min(p[k]);
                    max[k] = max[k].max(p[k]);
                }
            }
            acc["min"] = json!(min);
            acc["max"] = json!(max);
        }
        self.accessor(acc)
    }

    fn prim(&mut self, prim: &Prim, zero: &mut Option<usize>) -> Value {
        let pos: Vec<[f32; 3]> = prim
            .pos
            .iter()
            .map(|p| [q(p.x, 1e5), q(p.y, 1e5), q(p.z, 1e5)])
            .collect();
        let nrm: Vec<[f32; 3]> = prim
            .nrm
            .iter()
            .map(|n| [q(n.x, 1e5), q(n.y, 1e5), q(n.z, 1e5)])
            .collect();
        let mut attributes =
            json!({ "POSITION": self.vec3(&pos, true), "NORMAL": self.vec3(&nrm, false) });
        if !prim.weights.is_empty() {
            let mut joints = Vec::with_capacity(prim.weights.len() * 4);
            let mut weights = Vec::with_capacity(prim.weights.len() * 16);
            for w in &prim.weights {
                let mut w = w.clone();
                w.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                w.truncate(4);
                let total: f64 = w.iter().map(|x| x.1).sum();
                // Quantize and put the rounding remainder on the largest weight: sums are 1.
                let mut qs: Vec<f32> = w.iter().map(|x| q(x.1 / total, 1e4)).collect();
                let rest: f32 = qs.iter().skip(1).sum();
                qs[0] = 1.0 - rest;
                for k in 0..4 {
                    joints.push(w.get(k).map_or(0, |x| x.0.index() as u8));
                    weights.extend_from_slice(&qs.get(k).copied().unwrap_or(0.0).to_le_bytes());
                }
            }
            let jv = self.view(&joints, Some(ARRAY_BUFFER), None);
            let ja = self.accessor(json!({ "bufferView": jv, "componentType": 5121, "count": prim.weights.len(), "type": "VEC4" }));
            let wv = self.view(&weights, Some(ARRAY_BUFFER), None);
            let wa = self.accessor(json!({ "bufferView": wv, "componentType": 5126, "count": prim.weights.len(), "type": "VEC4" }));
            attributes["JOINTS_0"] = json!(ja);
            attributes["WEIGHTS_0"] = json!(wa);
        }
        let indices = if prim.pos.len() <= u16::MAX as usize {
            let bytes: Vec<u8> = prim
                .idx
                .iter()
                .flat_map(|&i| (i as u16).to_le_bytes())
                .collect();
            let v = self.view(&bytes, Some(ELEMENT_ARRAY_BUFFER), None);
            self.accessor(json!({ "bufferView": v, "componentType": 5123, "count": prim.idx.len(), "type": "SCALAR" }))
        } else {
            let bytes: Vec<u8> = prim.idx.iter().flat_map(|&i| i.to_le_bytes()).collect();
            let v = self.view(&bytes, Some(ELEMENT_ARRAY_BUFFER), None);
            self.accessor(json!({ "bufferView": v, "componentType": 5125, "count": prim.idx.len(), "type": "SCALAR" }))
        };
        let mut out = json!({ "attributes": attributes, "indices": indices, "material": prim.material, "mode": 4 });
        if !prim.targets.is_empty() {
            let mut targets = Vec::new();
            *zero = None;
            for d in &prim.targets {
                let d: Vec<[f32; 3]> = d
                    .iter()
                    .map(|p| [q(p.x, 1e5), q(p.y, 1e5), q(p.z, 1e5)])
                    .collect();
                let acc = if d.iter().all(|p| *p == [0.0; 3]) {
                    // Targets that leave this primitive alone share one zero accessor.
                    match *zero {
                        Some(acc) => acc,
                        None => {
                            let acc = self.vec3(&d, true);
                            *zero = Some(acc);
                            acc
                        }
                    }
                } else {
                    self.vec3(&d, true)
                };
                targets.push(json!({ "POSITION": acc }));
            }
            out["targets"] = json!(targets);
        }
        out
    }

    fn mesh(&mut self, mesh: &MeshOut) -> Value {
        let mut zero = None;
        let prims: Vec<Value> = mesh.prims.iter().map(|p| self.prim(p, &mut zero)).collect();
        let mut out = json!({ "name": mesh.name, "primitives": prims });
        if !mesh.target_names.is_empty() {
            out["weights"] = json!(vec![0.0; mesh.target_names.len()]);
            out["extras"] = json!({ "targetNames": mesh.target_names });
        }
        out
    }
}

fn build_glb() -> Result<Vec<u8>, AvatarError> {
    let unskinned = |parts: Vec<(&'static str, Part)>| {
        group(parts.into_iter().map(|(m, p)| (m, p, None)).collect())
    };
    let body = MeshOut {
        name: "body",
        prims: group(
            body_parts()
                .into_iter()
                .map(|(m, p, w)| (m, p, Some(w)))
                .collect(),
        ),
        target_names: Vec::new(),
    };
    let face = face_mesh();
    let studio = MeshOut {
        name: "studio",
        prims: unskinned(studio_parts()),
        target_names: Vec::new(),
    };
    let stand = MeshOut {
        name: "product_stand",
        prims: unskinned(stand_parts()),
        target_names: Vec::new(),
    };

    let mut w = Writer {
        bin: Vec::new(),
        views: Vec::new(),
        accessors: Vec::new(),
    };
    let meshes: Vec<Value> = [&body, &face, &studio, &stand]
        .iter()
        .map(|m| w.mesh(m))
        .collect();

    // Nodes: 0 avatar, 1..=21 bones in HumanBone::ALL order, then body, face, studio, stand.
    let bone_node = |b: HumanBone| 1 + b.index();
    let n_bones = HumanBone::ALL.len();
    let (body_node, face_node, studio_node, stand_node) =
        (1 + n_bones, 2 + n_bones, 3 + n_bones, 4 + n_bones);
    let mut nodes = vec![
        json!({ "name": "avatar", "children": [bone_node(HumanBone::Hips), body_node, face_node] }),
    ];
    for bone in HumanBone::ALL {
        let world = joint_position(bone);
        let local = world - bone.parent().map_or(V::ZERO, joint_position);
        let mut node = json!({ "name": bone.vrm_name(), "translation": [q(local.x, 1e5), q(local.y, 1e5), q(local.z, 1e5)] });
        let children: Vec<usize> = HumanBone::ALL
            .iter()
            .filter(|c| c.parent() == Some(bone))
            .map(|c| bone_node(*c))
            .collect();
        if !children.is_empty() {
            node["children"] = json!(children);
        }
        nodes.push(node);
    }
    nodes.push(json!({ "name": "body", "mesh": 0, "skin": 0 }));
    nodes.push(json!({ "name": "face", "mesh": 1, "skin": 0 }));
    nodes.push(json!({ "name": "studio", "mesh": 2 }));
    nodes.push(json!({ "name": "product_stand", "mesh": 3 }));

    // Inverse bind matrices: joints are pure translations, so each is a translation by -world.
    let mut ibm = Vec::with_capacity(n_bones * 64);
    for bone in HumanBone::ALL {
        let p = joint_position(bone);
        let m: [f32; 16] = [
            1.0,
            0.0,
            0.0,
            0.0,
            0.0,
            1.0,
            0.0,
            0.0,
            0.0,
            0.0,
            1.0,
            0.0,
            -q(p.x, 1e5),
            -q(p.y, 1e5),
            -q(p.z, 1e5),
            1.0,
        ];
        ibm.extend(m.iter().flat_map(|f| f.to_le_bytes()));
    }
    let ibm_view = w.view(&ibm, None, None);
    let ibm_acc = w.accessor(
        json!({ "bufferView": ibm_view, "componentType": 5126, "count": n_bones, "type": "MAT4" }),
    );

    let materials: Vec<Value> = MATERIALS
        .iter()
        .map(|(name, base, _, _)| {
            let [r, g, b] = hex_linear(base).map(|c| q(c, 1e4));
            json!({
                "name": name,
                "pbrMetallicRoughness": { "baseColorFactor": [r, g, b, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.85 },
            })
        })
        .collect();

    while !w.bin.len().is_multiple_of(4) {
        w.bin.push(0);
    }
    let doc = json!({
        "asset": { "version": "2.0", "generator": "anchor avatar generator (src/avatar/generate.rs)" },
        "scene": 0,
        "scenes": [{ "name": "default", "nodes": [0, studio_node, stand_node] }],
        "nodes": nodes,
        "skins": [{ "name": "humanoid", "joints": HumanBone::ALL.iter().map(|b| bone_node(*b)).collect::<Vec<_>>(), "skeleton": bone_node(HumanBone::Hips), "inverseBindMatrices": ibm_acc }],
        "meshes": meshes,
        "materials": materials,
        "accessors": w.accessors,
        "bufferViews": w.views,
        "buffers": [{ "byteLength": w.bin.len() }],
    });
    let json = serde_json::to_vec(&doc)?;
    Ok(write_glb(&json, &w.bin))
}

// ───────────────────────────── the manifest ─────────────────────────────

fn manifest_yaml() -> String {
    let v3 = |a: [f64; 3]| format!("[{}, {}, {}]", a[0], a[1], a[2]);
    let mut y = String::new();
    y.push_str("# Default avatar of anchor. Written by src/avatar/generate.rs (generate_default); do not edit by\n");
    y.push_str("# hand, change the generator. Field reference: avatars/README.md.\n\n");
    y.push_str(&format!("model: {MODEL_FILE_NAME}\n\n"));
    y.push_str("# VRM 1.0 humanoid bone -> node name. Rest pose: T-pose, identity rotations.\n");
    y.push_str("bones:\n");
    for b in HumanBone::ALL {
        y.push_str(&format!("  {}: {}\n", b.vrm_name(), b.vrm_name()));
    }
    y.push_str("\n# Oculus viseme -> (mesh node, morph target).\nvisemes:\n");
    for v in Viseme::ALL {
        y.push_str(&format!(
            "  {}: {{ mesh: face, morph: viseme_{} }}\n",
            v.name(),
            v.name()
        ));
    }
    y.push_str("\n# VRM 1.0 expression preset -> (mesh node, morph target).\nexpressions:\n");
    for e in Expression::ALL {
        y.push_str(&format!(
            "  {}: {{ mesh: face, morph: {} }}\n",
            e.vrm_name(),
            e.vrm_name()
        ));
    }
    y.push_str("\njaw_open: { mesh: face, morph: jawOpen }\n\n");
    y.push_str(
        "# 16:9 medium shot: the host from the thighs up, the product stand at screen right.\n",
    );
    y.push_str(&format!(
        "camera:\n  position: {}\n  target: {}\n  fov_y_deg: {CAMERA_FOV_Y_DEG}\n\n",
        v3(CAMERA_POSITION),
        v3(CAMERA_TARGET)
    ));
    y.push_str("# Direction the key light travels; colors are sRGB hex.\n");
    y.push_str(&format!(
        "light:\n  direction: {}\n  color: \"{LIGHT_COLOR}\"\n  ambient: \"{AMBIENT_COLOR}\"\n\n",
        v3(LIGHT_DIRECTION)
    ));
    y.push_str(&format!("background: \"{BACKGROUND}\"\n\n"));
    y.push_str("# Toon shading per glTF material: lit = the model's base color, shade, rim (sRGB hex);\n# unlit: flat base color (set pieces).\nmaterials:\n");
    for (name, _, shade, rim) in MATERIALS {
        let unlit = if UNLIT_MATERIALS.contains(name) {
            ", unlit: true"
        } else {
            ""
        };
        y.push_str(&format!(
            "  {name}: {{ shade: \"{shade}\", rim: \"{rim}\"{unlit} }}\n"
        ));
    }
    y
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::glb::read_glb;
    use super::*;

    fn committed() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_AVATAR_DIR)
    }

    #[test]
    fn generator_reproduces_the_committed_files() {
        let tmp = crate::testutil::tempdir().unwrap();
        generate_default(tmp.path()).unwrap();
        let again = crate::testutil::tempdir().unwrap();
        generate_default(again.path()).unwrap();
        for file in [MODEL_FILE_NAME, AVATAR_FILE_NAME] {
            let a = std::fs::read(tmp.path().join(file)).unwrap();
            let b = std::fs::read(again.path().join(file)).unwrap();
            assert!(a == b, "{file}: two runs differ");
            let c = std::fs::read(committed().join(file)).unwrap_or_default();
            assert!(
                a == c,
                "{file}: generator output differs from the committed {DEFAULT_AVATAR_DIR}/{file}; \
                 regenerate with `ANCHOR_REGENERATE_AVATAR=1 cargo test --release --no-default-features --lib avatar::`"
            );
        }
    }

    /// Regenerates the committed files when `ANCHOR_REGENERATE_AVATAR=1`.
    #[test]
    fn regenerate_when_asked() {
        if std::env::var("ANCHOR_REGENERATE_AVATAR").as_deref() == Ok("1") {
            generate_default(&committed()).unwrap();
        }
    }

    fn load() -> (Value, Vec<u8>) {
        let bytes = build_glb().unwrap();
        let (json, bin) = read_glb(&bytes).unwrap();
        (json, bin.to_vec())
    }

    fn accessor_f32s(json: &Value, bin: &[u8], acc: usize) -> Vec<f32> {
        let a = &json["accessors"][acc];
        let v = &json["bufferViews"][a["bufferView"].as_u64().unwrap() as usize];
        let off = v["byteOffset"].as_u64().unwrap() as usize;
        let comps = match a["type"].as_str().unwrap() {
            "VEC3" => 3,
            "VEC4" => 4,
            "MAT4" => 16,
            _ => 1,
        };
        let n = a["count"].as_u64().unwrap() as usize * comps;
        (0..n)
            .map(|i| f32::from_le_bytes(bin[off + i * 4..off + i * 4 + 4].try_into().unwrap()))
            .collect()
    }

    fn indices(json: &Value, bin: &[u8], acc: usize) -> Vec<u32> {
        let a = &json["accessors"][acc];
        let v = &json["bufferViews"][a["bufferView"].as_u64().unwrap() as usize];
        let off = v["byteOffset"].as_u64().unwrap() as usize;
        let n = a["count"].as_u64().unwrap() as usize;
        match a["componentType"].as_u64().unwrap() {
            5123 => (0..n)
                .map(|i| u16::from_le_bytes([bin[off + 2 * i], bin[off + 2 * i + 1]]) as u32)
                .collect(),
            _ => (0..n)
                .map(|i| u32::from_le_bytes(bin[off + 4 * i..off + 4 * i + 4].try_into().unwrap()))
                .collect(),
        }
    }

    #[test]
    fn skeleton_has_every_vrm_bone_in_t_pose() {
        let (json, bin) = load();
        let nodes = json["nodes"].as_array().unwrap();
        let skin = &json["skins"][0];
        let joints: Vec<usize> = skin["joints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(joints.len(), HumanBone::ALL.len());
        for (k, bone) in HumanBone::ALL.iter().enumerate() {
            let node = &nodes[joints[k]];
            assert_eq!(node["name"], bone.vrm_name());
            assert!(
                node.get("rotation").is_none() && node.get("scale").is_none(),
                "{}: rest must be translation only",
                bone.vrm_name()
            );
        }
        let ibm = accessor_f32s(
            &json,
            &bin,
            skin["inverseBindMatrices"].as_u64().unwrap() as usize,
        );
        assert_eq!(ibm.len(), 16 * HumanBone::ALL.len());
        for (k, bone) in HumanBone::ALL.iter().enumerate() {
            let p = joint_position(*bone);
            let m = &ibm[k * 16..k * 16 + 16];
            assert_eq!(m[0], 1.0);
            assert!((m[12] + p.x as f32).abs() < 1e-5 && (m[13] + p.y as f32).abs() < 1e-5);
        }
        // T-pose: arms along ±X at shoulder height, feet at the floor, ~1.6 m tall.
        let hand = joint_position(HumanBone::LeftHand);
        assert!(hand.x > 0.5 && (hand.y - 1.25).abs() < 0.01);
        assert!(joint_position(HumanBone::RightHand).x < -0.5);
        for name in ["studio", "product_stand", "body", "face"] {
            assert!(nodes.iter().any(|n| n["name"] == name), "{name}");
        }
    }

    #[test]
    fn meshes_are_well_formed() {
        let (json, bin) = load();
        let mut triangles = 0;
        let (mut min_y, mut max_y) = (f32::MAX, f32::MIN);
        for mesh in json["meshes"].as_array().unwrap() {
            let names: Vec<&str> = mesh["extras"]["targetNames"]
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
                .unwrap_or_default();
            for prim in mesh["primitives"].as_array().unwrap() {
                let attrs = &prim["attributes"];
                let pos_acc = attrs["POSITION"].as_u64().unwrap() as usize;
                let count = json["accessors"][pos_acc]["count"].as_u64().unwrap() as u32;
                assert!(
                    json["accessors"][pos_acc]["min"].is_array()
                        && json["accessors"][pos_acc]["max"].is_array()
                );
                let nrm = accessor_f32s(
                    &json,
                    &bin,
                    attrs["NORMAL"]
                        .as_u64()
                        .expect("normals on every primitive") as usize,
                );
                for n in nrm.chunks(3) {
                    assert!((n[0] * n[0] + n[1] * n[1] + n[2] * n[2] - 1.0).abs() < 1e-3);
                }
                let idx = indices(&json, &bin, prim["indices"].as_u64().unwrap() as usize);
                assert!(idx.iter().all(|&i| i < count), "indices in range");
                triangles += idx.len() / 3;
                let targets = prim["targets"].as_array().map(|t| t.len()).unwrap_or(0);
                assert_eq!(
                    targets,
                    names.len(),
                    "{}: every primitive carries every target",
                    mesh["name"]
                );
                if mesh["name"] == "body" || mesh["name"] == "face" {
                    let w =
                        accessor_f32s(&json, &bin, attrs["WEIGHTS_0"].as_u64().unwrap() as usize);
                    for v in w.chunks(4) {
                        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-3);
                    }
                    let pos = accessor_f32s(&json, &bin, pos_acc);
                    for p in pos.chunks(3) {
                        min_y = min_y.min(p[1]);
                        max_y = max_y.max(p[1]);
                    }
                }
            }
        }
        assert!(triangles < 60_000, "{triangles} triangles");
        assert!(min_y > -0.01 && min_y < 0.01, "feet at y = 0, got {min_y}");
        assert!(
            max_y > 1.55 && max_y < 1.65,
            "about 1.6 m tall, got {max_y}"
        );
    }

    #[test]
    fn face_has_every_morph_target_and_visemes_differ() {
        let (json, bin) = load();
        let face = json["meshes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "face")
            .unwrap();
        let names: BTreeSet<&str> = face["extras"]["targetNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let mut wanted: Vec<String> = Viseme::ALL
            .iter()
            .map(|v| format!("viseme_{}", v.name()))
            .collect();
        wanted.push("jawOpen".into());
        wanted.extend(Expression::ALL.iter().map(|e| e.vrm_name().to_owned()));
        for w in &wanted {
            assert!(names.contains(w.as_str()), "missing morph target {w}");
        }
        // The aa viseme opens the mouth by centimetres; blinks close the eyes.
        let order: Vec<&str> = face["extras"]["targetNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let max_shift = |name: &str| -> f32 {
            let k = order.iter().position(|n| *n == name).unwrap();
            face["primitives"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let acc = p["targets"][k]["POSITION"].as_u64().unwrap() as usize;
                    accessor_f32s(&json, &bin, acc)
                        .chunks(3)
                        .map(|d| d[1].abs())
                        .fold(0.0, f32::max)
                })
                .fold(0.0, f32::max)
        };
        assert!(max_shift("viseme_aa") > 0.02);
        assert!(max_shift("blinkLeft") > 0.01);
        assert!(max_shift("viseme_sil") == 0.0);
        for t in &wanted[1..] {
            assert!(max_shift(t) > 0.001, "{t} moves something");
        }
    }

    #[test]
    fn generated_manifest_loads() {
        let tmp = crate::testutil::tempdir().unwrap();
        generate_default(tmp.path()).unwrap();
        let m = super::super::AvatarManifest::load(tmp.path()).unwrap();
        assert_eq!(m.materials.len(), MATERIALS.len());
        assert!((m.camera.fov_y_deg - CAMERA_FOV_Y_DEG as f32).abs() < 1e-6);
    }
}
