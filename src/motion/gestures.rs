//! Gesture layer: keyframed clips of bone rotations (eased slerp between keys), blended in and
//! out over [`BLEND`] on top of the idle layer. Arm tracks are absolute local rotations
//! authored as body-frame aims (see [`ArmAim`]); head / neck / chest tracks are additive on
//! the idle motion, so breathing and drift go on underneath.
//!
//! Sides: the product stand is on the avatar's left (+X, screen right for a viewer facing it),
//! so `present_product` and `point` use the left arm; `wave`, `show_price` and `point_down`
//! (to the shopping cart below the host) use the right arm; `bow` and `heart` use both.

use glam::{EulerRot, Quat, Vec3};

use crate::voice::Emphasis;

use super::curves::{slerp, smoothstep_f32};
use super::idle::{ArmAim, arm_locals, relaxed_arm};
use super::{Gesture, HumanBone};

/// Blend-in and blend-out time of every gesture (seconds), capped at a third of the clip.
pub const BLEND: f64 = 0.3;
/// Blend-in time of a gesture that starts while another is still playing (seconds).
pub const OVERLAP_BLEND: f64 = 0.5;
/// Amplitude factor for [`Emphasis::Strong`].
pub const STRONG_AMPLITUDE: f32 = 1.35;

/// Length of a gesture clip in seconds (the same for both emphases).
pub fn duration(g: Gesture) -> f64 {
    match g {
        Gesture::Wave => 2.6,
        Gesture::PresentProduct => 3.0,
        Gesture::Nod => 1.0,
        Gesture::Point => 2.2,
        Gesture::Bow => 2.0,
        Gesture::Heart => 2.6,
        Gesture::ShowPrice => 2.4,
        Gesture::PointDown => 2.2,
    }
}

/// One bone's keyframes: `(seconds from clip start, rotation)`, sorted.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    pub(crate) bone: HumanBone,
    /// `true`: the rotation is applied on top of the idle bone (`idle * key`); `false`: it
    /// replaces the idle bone.
    pub(crate) additive: bool,
    keys: Vec<(f32, Quat)>,
}

impl Track {
    fn sample(&self, t: f32) -> Quat {
        let Some(first) = self.keys.first() else {
            return Quat::IDENTITY;
        };
        if t <= first.0 {
            return first.1;
        }
        for w in self.keys.windows(2) {
            let ((t0, q0), (t1, q1)) = (w[0], w[1]);
            if t <= t1 {
                let s = if t1 > t0 {
                    smoothstep_f32((t - t0) / (t1 - t0))
                } else {
                    1.0
                };
                return slerp(q0, q1, s);
            }
        }
        self.keys.last().map_or(Quat::IDENTITY, |k| k.1)
    }
}

/// A gesture clip.
#[derive(Debug, Clone)]
pub(crate) struct Clip {
    pub(crate) duration: f64,
    pub(crate) tracks: Vec<Track>,
}

impl Clip {
    /// Blend weight at `local` seconds into the clip: 0 → 1 over the first [`BLEND`], 1 → 0
    /// over the last; 0 outside the clip.
    ///
    /// `blend_in` overrides the blend-in time (a gesture that interrupts another crossfades
    /// over [`OVERLAP_BLEND`]).
    pub(crate) fn weight(&self, local: f64, blend_in: f64) -> f32 {
        let b = BLEND.min(self.duration / 3.0);
        if local <= 0.0 || local >= self.duration {
            return 0.0;
        }
        let w_in = super::curves::smoothstep(local / blend_in.min(self.duration / 2.0).max(1e-3));
        let w_out = super::curves::smoothstep((self.duration - local) / b);
        (w_in * w_out) as f32
    }

    /// Applies the clip at `local` seconds over `bones`, blending against `idle`.
    pub(crate) fn apply(
        &self,
        local: f64,
        blend_in: f64,
        idle: &[Quat; HumanBone::ALL.len()],
        bones: &mut [Quat; HumanBone::ALL.len()],
    ) {
        let w = self.weight(local, blend_in);
        if w <= 0.0 {
            return;
        }
        for tr in &self.tracks {
            let k = tr.sample(local as f32);
            let i = tr.bone.index();
            let target = if tr.additive { idle[i] * k } else { k };
            bones[i] = slerp(bones[i], target, w);
        }
    }
}

/// Both emphases of every gesture, built once.
#[derive(Debug, Clone)]
pub(crate) struct Library {
    clips: Vec<(Gesture, Emphasis, Clip)>,
}

impl Library {
    pub(crate) fn new() -> Library {
        let mut clips = Vec::new();
        for g in Gesture::ALL {
            for (e, amp) in [
                (Emphasis::Normal, 1.0),
                (Emphasis::Strong, STRONG_AMPLITUDE),
            ] {
                clips.push((g, e, build(g, amp)));
            }
        }
        Library { clips }
    }

    pub(crate) fn clip(&self, g: Gesture, e: Emphasis) -> Option<&Clip> {
        self.clips
            .iter()
            .find(|(cg, ce, _)| *cg == g && *ce == e)
            .map(|(_, _, c)| c)
    }
}

fn build(g: Gesture, amp: f32) -> Clip {
    let tracks = match g {
        Gesture::Wave => wave(amp),
        Gesture::PresentProduct => present_product(amp),
        Gesture::Nod => nod(amp),
        Gesture::Point => point(amp),
        Gesture::Bow => bow(amp),
        Gesture::Heart => heart(amp),
        Gesture::ShowPrice => show_price(amp),
        Gesture::PointDown => point_down(amp),
    };
    Clip {
        duration: duration(g),
        tracks,
    }
}

const LEFT_ARM: [HumanBone; 4] = [
    HumanBone::LeftUpperArm,
    HumanBone::LeftLowerArm,
    HumanBone::LeftHand,
    HumanBone::LeftFingers,
];
const RIGHT_ARM: [HumanBone; 4] = [
    HumanBone::RightUpperArm,
    HumanBone::RightLowerArm,
    HumanBone::RightHand,
    HumanBone::RightFingers,
];

/// Four absolute tracks for one arm from `(time, aim)` keys.
fn arm_tracks(left: bool, keys: &[(f32, ArmAim)]) -> Vec<Track> {
    let bones = if left { LEFT_ARM } else { RIGHT_ARM };
    let locals: Vec<(f32, [Quat; 4])> = keys
        .iter()
        .map(|(t, a)| (*t, arm_locals(a, left)))
        .collect();
    bones
        .iter()
        .enumerate()
        .map(|(j, &bone)| Track {
            bone,
            additive: false,
            keys: locals.iter().map(|(t, q)| (*t, q[j])).collect(),
        })
        .collect()
}

/// An additive track of yaw / pitch / roll keys in degrees (pitch > 0 tips forward / down).
fn euler_track(bone: HumanBone, keys: &[(f32, f32, f32, f32)]) -> Track {
    Track {
        bone,
        additive: true,
        keys: keys
            .iter()
            .map(|&(t, yaw, pitch, roll)| {
                (
                    t,
                    Quat::from_euler(
                        EulerRot::YXZ,
                        yaw.to_radians(),
                        pitch.to_radians(),
                        roll.to_radians(),
                    ),
                )
            })
            .collect(),
    }
}

fn v(x: f32, y: f32, z: f32) -> Vec3 {
    Vec3::new(x, y, z)
}

/// Right hand raised beside the head, palm to the camera, forearm swinging side to side.
fn wave(amp: f32) -> Vec<Track> {
    let rest = relaxed_arm();
    let lift = 0.2 + 0.25 * (amp - 1.0);
    let raised = |swing: f32| ArmAim {
        upper: (v(0.75, lift, 0.4), v(0.0, 0.0, 1.0)),
        lower: (v(0.15 + swing, 0.95, 0.2), v(0.0, 0.0, 1.0)),
        hand: (v(0.15 + 1.3 * swing, 0.95, 0.2), v(0.0, 0.0, 1.0)),
        curl: 0.05,
    };
    let s = 0.32 * amp;
    let mut tracks = arm_tracks(
        false,
        &[
            (0.0, rest),
            (0.6, raised(0.0)),
            (0.82, raised(s)),
            (1.06, raised(-s)),
            (1.3, raised(s)),
            (1.54, raised(-s)),
            (1.76, raised(0.5 * s)),
            (1.9, raised(0.0)),
            (2.45, rest),
            (2.6, rest),
        ],
    );
    // A friendly head tilt toward the waving hand.
    tracks.push(euler_track(
        HumanBone::Head,
        &[
            (0.0, 0.0, 0.0, 0.0),
            (0.5, -3.0 * amp, -2.0, 4.0 * amp),
            (1.9, -3.0 * amp, -2.0, 4.0 * amp),
            (2.45, 0.0, 0.0, 0.0),
            (2.6, 0.0, 0.0, 0.0),
        ],
    ));
    tracks
}

/// Left arm reaches out toward the product stand (+X, forward), palm up; chest and head turn to it.
fn present_product(amp: f32) -> Vec<Track> {
    let rest = relaxed_arm();
    let reach = |dy: f32| ArmAim {
        upper: (
            v(0.55, -0.55 + 0.35 * (amp - 1.0) + dy, 0.5),
            v(0.2, 0.3, 0.9),
        ),
        lower: (
            v(0.55, -0.12 + 0.3 * (amp - 1.0) + dy, 0.82),
            v(0.0, 1.0, 0.1),
        ),
        hand: (
            v(0.65, -0.05 + 0.3 * (amp - 1.0) + dy, 0.75),
            v(-0.1, 1.0, 0.0),
        ),
        curl: 0.1,
    };
    let mut tracks = arm_tracks(
        true,
        &[
            (0.0, rest),
            (0.6, reach(0.0)),
            (1.6, reach(0.06)),
            (2.3, reach(0.02)),
            (2.85, rest),
            (3.0, rest),
        ],
    );
    tracks.push(euler_track(
        HumanBone::Chest,
        &[
            (0.0, 0.0, 0.0, 0.0),
            (0.6, 7.0 * amp, 0.0, 0.0),
            (2.3, 7.0 * amp, 0.0, 0.0),
            (2.85, 0.0, 0.0, 0.0),
            (3.0, 0.0, 0.0, 0.0),
        ],
    ));
    tracks.push(euler_track(
        HumanBone::Head,
        &[
            (0.0, 0.0, 0.0, 0.0),
            (0.5, 14.0 * amp, 6.0, 2.0),
            (1.5, 12.0 * amp, 5.0, 2.0),
            (1.9, 0.0, 0.0, 0.0),
            (3.0, 0.0, 0.0, 0.0),
        ],
    ));
    tracks
}

/// Two dips of the head and neck (about +X), the second smaller.
fn nod(amp: f32) -> Vec<Track> {
    let d = 10.0 * amp;
    vec![
        euler_track(
            HumanBone::Head,
            &[
                (0.0, 0.0, 0.0, 0.0),
                (0.25, 0.0, d, 0.0),
                (0.5, 0.0, -0.15 * d, 0.0),
                (0.72, 0.0, 0.7 * d, 0.0),
                (1.0, 0.0, 0.0, 0.0),
            ],
        ),
        euler_track(
            HumanBone::Neck,
            &[
                (0.0, 0.0, 0.0, 0.0),
                (0.25, 0.0, 0.5 * d, 0.0),
                (0.5, 0.0, 0.0, 0.0),
                (0.72, 0.0, 0.35 * d, 0.0),
                (1.0, 0.0, 0.0, 0.0),
            ],
        ),
    ]
}

/// Left index toward the product stand and down toward the link area, two small taps.
fn point(amp: f32) -> Vec<Track> {
    let rest = relaxed_arm();
    let at = |dy: f32| ArmAim {
        upper: (v(0.6, -0.45, 0.6), v(-0.6, -0.8, 0.2)),
        lower: (v(0.55, -0.4 - dy, 0.75), v(-0.8, -0.5, 0.1)),
        hand: (v(0.55, -0.45 - 1.5 * dy, 0.72), v(-0.8, -0.5, 0.1)),
        curl: 0.0,
    };
    let tap = 0.12 * amp;
    let mut tracks = arm_tracks(
        true,
        &[
            (0.0, rest),
            (0.5, at(0.0)),
            (0.75, at(tap)),
            (1.0, at(0.0)),
            (1.25, at(tap)),
            (1.55, at(0.0)),
            (2.1, rest),
            (2.2, rest),
        ],
    );
    tracks.push(euler_track(
        HumanBone::Head,
        &[
            (0.0, 0.0, 0.0, 0.0),
            (0.5, 12.0 * amp, 8.0, 0.0),
            (1.55, 12.0 * amp, 8.0, 0.0),
            (2.1, 0.0, 0.0, 0.0),
            (2.2, 0.0, 0.0, 0.0),
        ],
    ));
    tracks
}

/// Both arms with the same aims (the right side mirrored).
fn both_arms(keys: &[(f32, ArmAim)]) -> Vec<Track> {
    let mut tracks = arm_tracks(true, keys);
    tracks.extend(arm_tracks(false, keys));
    tracks
}

/// A polite bow from the waist (spine, chest and head tip forward) with the hands together
/// in front of the belly.
fn bow(amp: f32) -> Vec<Track> {
    let rest = relaxed_arm();
    let together = ArmAim {
        upper: (v(0.2, -0.95, 0.22), v(-1.0, -0.2, 0.0)),
        lower: (v(-0.45, -0.5, 0.75), v(-0.6, 0.0, -0.3)),
        hand: (v(-0.55, -0.45, 0.7), v(-0.7, 0.0, -0.3)),
        curl: 0.3,
    };
    let mut tracks = both_arms(&[
        (0.0, rest),
        (0.45, together),
        (1.35, together),
        (1.85, rest),
        (2.0, rest),
    ]);
    let bend = |bone, deg: f32| {
        euler_track(
            bone,
            &[
                (0.0, 0.0, 0.0, 0.0),
                (0.5, 0.0, deg * amp, 0.0),
                (1.2, 0.0, deg * amp, 0.0),
                (1.8, 0.0, 0.0, 0.0),
                (2.0, 0.0, 0.0, 0.0),
            ],
        )
    };
    tracks.push(bend(HumanBone::Spine, 9.0));
    tracks.push(bend(HumanBone::Chest, 8.0));
    tracks.push(bend(HumanBone::Head, 10.0));
    tracks
}

/// 比心: forearms rise toward the middle so the curled hands meet in front of the chest, with
/// a head tilt and a small pulse while held.
fn heart(amp: f32) -> Vec<Track> {
    let rest = relaxed_arm();
    let lift = 0.08 * (amp - 1.0);
    let held = |dz: f32| ArmAim {
        upper: (v(0.35, -0.8, 0.45 + dz), v(-0.8, -0.2, 0.4)),
        lower: (v(-0.75, 0.4 + lift, 0.5), v(-0.5, -0.3, 0.6)),
        hand: (v(-0.75, 0.55 + lift, 0.35), v(-0.6, -0.2, 0.6)),
        curl: 0.9,
    };
    let mut tracks = both_arms(&[
        (0.0, rest),
        (0.8, held(0.0)),
        (1.3, held(0.06)),
        (1.8, held(0.0)),
        (2.45, rest),
        (2.6, rest),
    ]);
    tracks.push(euler_track(
        HumanBone::Head,
        &[
            (0.0, 0.0, 0.0, 0.0),
            (0.8, 0.0, 3.0, -7.0 * amp),
            (1.8, 0.0, 3.0, -7.0 * amp),
            (2.45, 0.0, 0.0, 0.0),
            (2.6, 0.0, 0.0, 0.0),
        ],
    ));
    tracks
}

/// The right hand comes up in front of the shoulder, palm to the camera and fingers open, with
/// a small forward push on the price; the head leans in.
fn show_price(amp: f32) -> Vec<Track> {
    let rest = relaxed_arm();
    let up = |push: f32| ArmAim {
        upper: (v(0.3, -0.65, 0.7 + push), v(-0.3, -0.4, 0.85)),
        lower: (
            v(-0.05, 0.75 + 0.1 * (amp - 1.0), 0.55 + push),
            v(0.0, -0.4, 0.9),
        ),
        hand: (v(0.05, 0.95, 0.25), v(0.0, -0.25, 1.0)),
        curl: 0.05,
    };
    let p = 0.12 * amp;
    let mut tracks = arm_tracks(
        false,
        &[
            (0.0, rest),
            (0.7, up(0.0)),
            (0.95, up(p)),
            (1.25, up(0.0)),
            (1.75, up(0.0)),
            (2.3, rest),
            (2.4, rest),
        ],
    );
    tracks.push(euler_track(
        HumanBone::Head,
        &[
            (0.0, 0.0, 0.0, 0.0),
            (0.6, -5.0 * amp, 4.0, 2.0),
            (1.7, -5.0 * amp, 4.0, 2.0),
            (2.25, 0.0, 0.0, 0.0),
            (2.4, 0.0, 0.0, 0.0),
        ],
    ));
    tracks
}

/// The right index points forward and down toward the link / shopping cart at the bottom of
/// the picture, two taps; the head looks down at it.
fn point_down(amp: f32) -> Vec<Track> {
    let rest = relaxed_arm();
    let at = |dy: f32| ArmAim {
        upper: (v(0.15, -0.55, 0.8), v(-0.8, -0.4, 0.3)),
        lower: (v(-0.3, -0.5 - dy, 0.8), v(-0.9, -0.3, 0.2)),
        hand: (v(-0.2, -0.9 - dy, 0.4), v(-0.9, 0.0, 0.4)),
        curl: 0.0,
    };
    let tap = 0.15 * amp;
    let mut tracks = arm_tracks(
        false,
        &[
            (0.0, rest),
            (0.5, at(0.0)),
            (0.75, at(tap)),
            (1.0, at(0.0)),
            (1.25, at(tap)),
            (1.55, at(0.0)),
            (2.05, rest),
            (2.2, rest),
        ],
    );
    tracks.push(euler_track(
        HumanBone::Head,
        &[
            (0.0, 0.0, 0.0, 0.0),
            (0.5, -4.0, 12.0 * amp, 0.0),
            (1.55, -4.0, 12.0 * amp, 0.0),
            (2.05, 0.0, 0.0, 0.0),
            (2.2, 0.0, 0.0, 0.0),
        ],
    ));
    tracks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::Pose;
    use crate::motion::idle::stance;
    use crate::motion::rig::{fingertip, joint_position};

    fn posed(g: Gesture, e: Emphasis, local: f64) -> Pose {
        let lib = Library::new();
        let idle = stance();
        let mut bones = idle;
        lib.clip(g, e)
            .unwrap()
            .apply(local, BLEND, &idle, &mut bones);
        Pose {
            bones,
            ..Pose::default()
        }
    }

    #[test]
    fn clips_start_and_end_at_the_stance() {
        let lib = Library::new();
        let idle = stance();
        for g in Gesture::ALL {
            let c = lib.clip(g, Emphasis::Strong).unwrap();
            for tr in &c.tracks {
                for local in [0.0f32, c.duration as f32] {
                    let k = tr.sample(local);
                    let expect = if tr.additive {
                        Quat::IDENTITY
                    } else {
                        idle[tr.bone.index()]
                    };
                    assert!(
                        k.angle_between(expect) < 1e-3,
                        "{g:?} {:?} at {local}",
                        tr.bone
                    );
                }
            }
        }
    }

    #[test]
    fn wave_raises_right_hand_above_shoulder() {
        let peak = posed(Gesture::Wave, Emphasis::Normal, 1.0);
        let sh = joint_position(&peak, HumanBone::RightUpperArm);
        let hand = joint_position(&peak, HumanBone::RightHand);
        assert!(hand.y > sh.y + 0.15, "hand {hand} shoulder {sh}");
        assert!(fingertip(&peak, false).y > sh.y + 0.2);
        // The left hand stays down.
        assert!(joint_position(&peak, HumanBone::LeftHand).y < sh.y - 0.3);
        // Strong waves higher.
        let strong = posed(Gesture::Wave, Emphasis::Strong, 1.0);
        assert!(joint_position(&strong, HumanBone::RightHand).y > hand.y);
    }

    #[test]
    fn wave_swings_side_to_side() {
        let xs: Vec<f32> = [0.82, 1.06, 1.3, 1.54]
            .iter()
            .map(|&t| fingertip(&posed(Gesture::Wave, Emphasis::Normal, t), false).x)
            .collect();
        assert!(
            (xs[0] - xs[1]).abs() > 0.08 && (xs[2] - xs[3]).abs() > 0.08,
            "{xs:?}"
        );
    }

    #[test]
    fn present_product_reaches_toward_plus_x() {
        let p = posed(Gesture::PresentProduct, Emphasis::Normal, 1.2);
        let sh = joint_position(&p, HumanBone::LeftUpperArm);
        let hand = joint_position(&p, HumanBone::LeftHand);
        assert!(hand.x > sh.x + 0.3, "hand {hand} shoulder {sh}");
        assert!(hand.z > 0.25);
        // Palm up: the hand's palm normal (rest -Y) points up.
        let w = crate::motion::rig::world_transforms(&p);
        let palm = w[HumanBone::LeftHand.index()].0 * Vec3::NEG_Y;
        assert!(palm.y > 0.7, "palm {palm}");
        // Head turned toward the product (+X).
        let face = w[HumanBone::Head.index()].0 * Vec3::Z;
        assert!(face.x > 0.15, "face {face}");
    }

    #[test]
    fn point_aims_out_and_down_on_the_left() {
        let p = posed(Gesture::Point, Emphasis::Normal, 0.5);
        let sh = joint_position(&p, HumanBone::LeftUpperArm);
        let tip = fingertip(&p, true);
        assert!(
            tip.x > sh.x + 0.3 && tip.y < sh.y - 0.2 && tip.z > 0.3,
            "tip {tip} shoulder {sh}"
        );
    }

    #[test]
    fn nod_dips_head_forward() {
        let p = posed(Gesture::Nod, Emphasis::Normal, 0.25);
        let w = crate::motion::rig::world_transforms(&p);
        let face = w[HumanBone::Head.index()].0 * Vec3::Z;
        assert!(face.y < -0.2, "face {face}");
        let s = posed(Gesture::Nod, Emphasis::Strong, 0.25);
        let fs = crate::motion::rig::world_transforms(&s)[HumanBone::Head.index()].0 * Vec3::Z;
        assert!(fs.y < face.y);
    }

    #[test]
    fn bow_tips_forward_with_the_hands_together() {
        let p = posed(Gesture::Bow, Emphasis::Normal, 0.9);
        let w = crate::motion::rig::world_transforms(&p);
        let face = w[HumanBone::Head.index()].0 * Vec3::Z;
        assert!(face.y < -0.35, "face {face}");
        let chest = w[HumanBone::Chest.index()].0 * Vec3::Y;
        assert!(chest.z > 0.15, "chest up axis {chest} leans forward");
        let gap = |p: &Pose| {
            joint_position(p, HumanBone::LeftHand).distance(joint_position(p, HumanBone::RightHand))
        };
        let rest = posed(Gesture::Bow, Emphasis::Normal, 0.0);
        assert!(
            gap(&p) < 0.6 * gap(&rest),
            "hands {} vs {}",
            gap(&p),
            gap(&rest)
        );
    }

    #[test]
    fn heart_meets_the_hands_in_front_of_the_chest() {
        let p = posed(Gesture::Heart, Emphasis::Normal, 1.2);
        let l = joint_position(&p, HumanBone::LeftHand);
        let r = joint_position(&p, HumanBone::RightHand);
        assert!(l.distance(r) < 0.16, "hands {l} {r}");
        let chest = joint_position(&p, HumanBone::Chest);
        let neck = joint_position(&p, HumanBone::Neck);
        let mid = (l + r) / 2.0;
        assert!(
            mid.y > chest.y && mid.y < neck.y + 0.05,
            "mid {mid} chest {chest} neck {neck}"
        );
        assert!(mid.z > 0.2 && mid.x.abs() < 0.05, "mid {mid}");
    }

    #[test]
    fn show_price_holds_the_right_palm_up_to_the_camera() {
        let p = posed(Gesture::ShowPrice, Emphasis::Normal, 1.4);
        let sh = joint_position(&p, HumanBone::RightUpperArm);
        let hand = joint_position(&p, HumanBone::RightHand);
        assert!(
            hand.y > sh.y - 0.12 && hand.z > 0.2,
            "hand {hand} shoulder {sh}"
        );
        let w = crate::motion::rig::world_transforms(&p);
        let palm = w[HumanBone::RightHand.index()].0 * Vec3::NEG_Y;
        assert!(palm.z > 0.6, "palm {palm}");
        // The left arm stays at rest.
        assert!(joint_position(&p, HumanBone::LeftHand).y < sh.y - 0.3);
    }

    #[test]
    fn point_down_aims_the_right_index_forward_and_down() {
        let p = posed(Gesture::PointDown, Emphasis::Normal, 1.0);
        let hand = joint_position(&p, HumanBone::RightHand);
        let tip = fingertip(&p, false);
        let dir = (tip - hand).normalize();
        assert!(
            dir.y < -0.6 && tip.z > 0.3,
            "tip {tip} hand {hand} dir {dir}"
        );
        let w = crate::motion::rig::world_transforms(&p);
        let face = w[HumanBone::Head.index()].0 * Vec3::Z;
        assert!(face.y < -0.15, "looks down: face {face}");
    }

    /// At 30 fps no bone turns more than this between two frames (450°/s: a brisk arm raise).
    const MAX_DEG_PER_FRAME: f32 = 15.0;

    #[test]
    fn blend_in_and_out_is_continuous() {
        for g in Gesture::ALL {
            for e in [Emphasis::Normal, Emphasis::Strong] {
                let d = duration(g);
                let mut prev = posed(g, e, -0.1);
                let mut t = -0.1;
                while t < d + 0.1 {
                    t += 1.0 / 30.0;
                    let cur = posed(g, e, t);
                    for (a, b) in prev.bones.iter().zip(cur.bones.iter()) {
                        let jump = a.angle_between(*b).to_degrees();
                        assert!(
                            jump < MAX_DEG_PER_FRAME,
                            "{g:?} {e:?} jumps {jump:.1}° at {t:.3}"
                        );
                    }
                    prev = cur;
                }
                // Weight 0 outside, 1 in the middle.
                let c = Library::new().clip(g, e).unwrap().clone();
                assert_eq!(c.weight(-0.01, BLEND), 0.0);
                assert_eq!(c.weight(d + 0.01, BLEND), 0.0);
                assert!((c.weight(d / 2.0, BLEND) - 1.0).abs() < 1e-6);
            }
        }
    }
}
