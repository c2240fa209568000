//! Idle layer: the relaxed standing stance (the rest pose is a T-pose, so the arms are lowered
//! here) plus breathing, weight-shift sway and a slow head drift; all sums of sines with
//! seed-dependent phases, so the pose is a smooth pure function of time.

use std::f64::consts::TAU;

use glam::{EulerRot, Quat, Vec3};

use super::HumanBone;
use super::curves::{Dice, aim};

/// Breathing rate (Hz): one breath every 4 s.
pub const BREATH_HZ: f64 = 0.25;
/// Weight-shift sway rate (Hz).
pub const SWAY_HZ: f64 = 0.07;
const STREAM: u64 = 0x1D1E;

/// Body-frame direction and palm normal of each arm segment (avatar's left side; the right
/// side mirrors x). Used to author the stance and the gesture keyframes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArmAim {
    pub(crate) upper: (Vec3, Vec3),
    pub(crate) lower: (Vec3, Vec3),
    pub(crate) hand: (Vec3, Vec3),
    /// Finger curl (radians, about the hand's palm axis).
    pub(crate) curl: f32,
}

/// Local rotations `[upper, lower, hand, fingers]` for an arm aimed as `a` in the chest frame.
/// `left` selects the side; for the right side pass the left-side description, it is mirrored.
pub(crate) fn arm_locals(a: &ArmAim, left: bool) -> [Quat; 4] {
    let m = |v: Vec3| if left { v } else { Vec3::new(-v.x, v.y, v.z) };
    let rest = if left { Vec3::X } else { Vec3::NEG_X };
    let palm = Vec3::NEG_Y; // T-pose: palms down
    let wu = aim(rest, palm, m(a.upper.0), m(a.upper.1));
    let wl = aim(rest, palm, m(a.lower.0), m(a.lower.1));
    let wh = aim(rest, palm, m(a.hand.0), m(a.hand.1));
    // Fingers curl toward the palm: about the hand's local Z (+Z for the left hand bends +X
    // toward -Y, i.e. toward the palm); mirrored on the right.
    let curl = Quat::from_rotation_z(if left { -a.curl } else { a.curl });
    [wu, wu.inverse() * wl, wl.inverse() * wh, curl]
}

/// The relaxed stance of the left arm: upper arm ~72° below horizontal and slightly forward,
/// elbow bent ~35° so the hands rest in front of the hips, palms toward the body.
pub(crate) fn relaxed_arm() -> ArmAim {
    ArmAim {
        upper: (Vec3::new(0.30, -0.95, 0.06), Vec3::new(-1.0, -0.3, 0.0)),
        lower: (Vec3::new(0.14, -0.80, 0.55), Vec3::new(-1.0, 0.0, 0.2)),
        hand: (Vec3::new(0.08, -0.80, 0.55), Vec3::new(-1.0, 0.0, 0.1)),
        curl: 0.35,
    }
}

/// Bones of the static stance (no time dependence): what gestures are authored against.
pub(crate) fn stance() -> [Quat; HumanBone::ALL.len()] {
    let mut b = [Quat::IDENTITY; HumanBone::ALL.len()];
    let arm = relaxed_arm();
    let l = arm_locals(&arm, true);
    let r = arm_locals(&arm, false);
    use HumanBone::*;
    for (bone, q) in [LeftUpperArm, LeftLowerArm, LeftHand, LeftFingers]
        .into_iter()
        .zip(l)
    {
        b[bone.index()] = q;
    }
    for (bone, q) in [RightUpperArm, RightLowerArm, RightHand, RightFingers]
        .into_iter()
        .zip(r)
    {
        b[bone.index()] = q;
    }
    b
}

/// Seed-dependent phases of the idle oscillators.
#[derive(Debug, Clone)]
pub(crate) struct Idle {
    phase: [f64; 8],
    stance: [Quat; HumanBone::ALL.len()],
}

impl Idle {
    pub(crate) fn new(seed: u64) -> Idle {
        let mut d = Dice::new(seed, STREAM, 0);
        let mut phase = [0.0; 8];
        for p in &mut phase {
            *p = d.range(0.0, TAU);
        }
        Idle {
            phase,
            stance: stance(),
        }
    }

    /// Idle bone rotations at `t`.
    pub(crate) fn bones_at(&self, t: f64) -> [Quat; HumanBone::ALL.len()] {
        use HumanBone::*;
        let p = &self.phase;
        let s = |hz: f64, ph: f64| (TAU * hz * t + ph).sin() as f32;
        let deg = |x: f32| x.to_radians();
        let mut b = self.stance;

        // Breathing: inhale lifts the chest back a touch and raises the shoulders.
        let breath = s(BREATH_HZ, p[0]);
        let chest = Quat::from_rotation_x(deg(-0.8) * breath);
        let shoulder = deg(1.2) * (0.5 + 0.5 * breath);
        b[LeftShoulder.index()] = Quat::from_rotation_z(shoulder);
        b[RightShoulder.index()] = Quat::from_rotation_z(-shoulder);

        // Weight shift: the hips roll and turn slowly; the spine counters most of it so the
        // head stays level; the legs counter the hips so the feet stay planted.
        let roll = deg(1.5) * s(SWAY_HZ, p[1]);
        let yaw = deg(2.0) * s(SWAY_HZ * 0.73, p[2]);
        let hips = Quat::from_euler(EulerRot::YXZ, yaw, 0.0, roll);
        b[Hips.index()] = hips;
        b[Spine.index()] = Quat::from_euler(EulerRot::YXZ, -0.5 * yaw, 0.0, -0.7 * roll);
        b[Chest.index()] = chest;
        b[LeftUpperLeg.index()] = hips.inverse();
        b[RightUpperLeg.index()] = hips.inverse();

        // Head drift: two incommensurate sines per axis, a few degrees.
        let hy = deg(2.5) * s(0.053, p[3]) + deg(1.2) * s(0.131, p[4]);
        let hp = deg(1.5) * s(0.071, p[5]) + deg(0.6) * s(0.173, p[6]);
        let hr = deg(1.2) * s(0.061, p[7]);
        b[Neck.index()] = Quat::from_euler(EulerRot::YXZ, 0.4 * hy, 0.4 * hp, 0.4 * hr);
        b[Head.index()] = Quat::from_euler(EulerRot::YXZ, 0.6 * hy, 0.6 * hp, 0.6 * hr);

        // The arms breathe a little too (about the body's forward axis).
        let arm = Quat::from_rotation_z(deg(0.8) * breath);
        b[LeftUpperArm.index()] = arm * self.stance[LeftUpperArm.index()];
        b[RightUpperArm.index()] = arm.inverse() * self.stance[RightUpperArm.index()];
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::Pose;
    use crate::motion::rig::{fingertip, joint_position};

    fn pose(bones: [Quat; HumanBone::ALL.len()]) -> Pose {
        Pose {
            bones,
            ..Pose::default()
        }
    }

    #[test]
    fn arms_are_down_at_idle() {
        let idle = Idle::new(3);
        for i in 0..200 {
            let p = pose(idle.bones_at(i as f64 * 0.37));
            for left in [true, false] {
                let (sh, el, hand) = if left {
                    (
                        HumanBone::LeftUpperArm,
                        HumanBone::LeftLowerArm,
                        HumanBone::LeftHand,
                    )
                } else {
                    (
                        HumanBone::RightUpperArm,
                        HumanBone::RightLowerArm,
                        HumanBone::RightHand,
                    )
                };
                let s = joint_position(&p, sh);
                let e = joint_position(&p, el);
                let h = joint_position(&p, hand);
                let tip = fingertip(&p, left);
                // Hands well below the shoulders, in front of the body, near the hips.
                assert!(h.y < s.y - 0.35, "hand {h} shoulder {s}");
                assert!(tip.y < s.y - 0.35);
                assert!(h.z > 0.05, "hand not in front: {h}");
                assert!(
                    h.x.abs() < 0.45 && h.x.abs() > 0.1,
                    "hand too far out/in: {h}"
                );
                // Upper arm 65–78° below horizontal.
                let d = (e - s).normalize();
                let below = (-d.y).asin().to_degrees();
                assert!((65.0..=78.0).contains(&below), "upper arm {below}° down");
                // Slight elbow bend (20–60°).
                let f = (h - e).normalize();
                let bend = d.dot(f).clamp(-1.0, 1.0).acos().to_degrees();
                assert!((20.0..=60.0).contains(&bend), "elbow {bend}°");
            }
        }
    }

    #[test]
    fn idle_breathes_and_is_smooth() {
        let idle = Idle::new(9);
        let chest = |t: f64| idle.bones_at(t)[HumanBone::Chest.index()];
        // The chest moves over a breath and returns after one period.
        assert!(
            chest(0.0).angle_between(chest(2.0)) > 0.005
                || chest(1.0).angle_between(chest(3.0)) > 0.005
        );
        assert!(chest(0.3).angle_between(chest(0.3 + 1.0 / BREATH_HZ)) < 1e-3);
        let mut prev = idle.bones_at(0.0);
        for i in 1..3000 {
            let cur = idle.bones_at(i as f64 / 30.0);
            for (a, b) in prev.iter().zip(cur.iter()) {
                assert!(a.angle_between(*b) < 0.5f32.to_radians());
            }
            prev = cur;
        }
    }

    #[test]
    fn stance_is_mirrored() {
        let p = pose(stance());
        let l = joint_position(&p, HumanBone::LeftHand);
        let r = joint_position(&p, HumanBone::RightHand);
        assert!((l.x + r.x).abs() < 1e-4 && (l.y - r.y).abs() < 1e-4 && (l.z - r.z).abs() < 1e-4);
    }
}
