//! A reference skeleton with assumed proportions (metres, T-pose rest, +Y up, facing +Z, the
//! avatar's left is +X) and forward kinematics over it. Motion uses it to check what a viewer
//! would see (hands down at idle, hand above the shoulder in a wave); renderers use their own
//! model's offsets, the rotations in [`Pose`] are the same.

use glam::{Quat, Vec3};

use super::{HumanBone, Pose};

/// Rest offset of each bone's joint from its parent's joint (the hips: from the ground origin),
/// for an adult of about 1.65 m.
pub fn rest_offset(bone: HumanBone) -> Vec3 {
    use HumanBone::*;
    match bone {
        Hips => Vec3::new(0.0, 0.95, 0.0),
        Spine => Vec3::new(0.0, 0.10, 0.0),
        Chest => Vec3::new(0.0, 0.17, 0.0),
        Neck => Vec3::new(0.0, 0.20, 0.0),
        Head => Vec3::new(0.0, 0.09, 0.0),
        LeftShoulder => Vec3::new(0.03, 0.16, 0.0),
        LeftUpperArm => Vec3::new(0.13, 0.0, 0.0),
        LeftLowerArm => Vec3::new(0.28, 0.0, 0.0),
        LeftHand => Vec3::new(0.25, 0.0, 0.0),
        LeftFingers => Vec3::new(0.09, 0.0, 0.0),
        RightShoulder => Vec3::new(-0.03, 0.16, 0.0),
        RightUpperArm => Vec3::new(-0.13, 0.0, 0.0),
        RightLowerArm => Vec3::new(-0.28, 0.0, 0.0),
        RightHand => Vec3::new(-0.25, 0.0, 0.0),
        RightFingers => Vec3::new(-0.09, 0.0, 0.0),
        LeftUpperLeg => Vec3::new(0.09, -0.05, 0.0),
        LeftLowerLeg => Vec3::new(0.0, -0.42, 0.0),
        LeftFoot => Vec3::new(0.0, -0.40, 0.0),
        RightUpperLeg => Vec3::new(-0.09, -0.05, 0.0),
        RightLowerLeg => Vec3::new(0.0, -0.42, 0.0),
        RightFoot => Vec3::new(0.0, -0.40, 0.0),
    }
}

/// World rotation and joint position of every bone for `pose` on the reference skeleton
/// (rest rotations are identity, so world = product of the pose rotations down the chain).
pub fn world_transforms(pose: &Pose) -> [(Quat, Vec3); HumanBone::ALL.len()] {
    let mut out = [(Quat::IDENTITY, Vec3::ZERO); HumanBone::ALL.len()];
    // HumanBone::ALL lists every parent before its children.
    for bone in HumanBone::ALL {
        let local = pose.bones[bone.index()];
        out[bone.index()] = match bone.parent() {
            None => (local, rest_offset(bone)),
            Some(p) => {
                let (pr, pp) = out[p.index()];
                (pr * local, pp + pr * rest_offset(bone))
            }
        };
    }
    out
}

/// World position of `bone`'s joint (its origin) for `pose` on the reference skeleton.
pub fn joint_position(pose: &Pose, bone: HumanBone) -> Vec3 {
    world_transforms(pose)[bone.index()].1
}

/// World position of the left or right fingertip (end of the finger bone).
pub fn fingertip(pose: &Pose, left: bool) -> Vec3 {
    let w = world_transforms(pose);
    let (fingers, tip) = if left {
        (HumanBone::LeftFingers, Vec3::new(0.08, 0.0, 0.0))
    } else {
        (HumanBone::RightFingers, Vec3::new(-0.08, 0.0, 0.0))
    };
    let (r, p) = w[fingers.index()];
    p + r * tip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_in_all() {
        for (i, b) in HumanBone::ALL.iter().enumerate() {
            assert_eq!(b.index(), i);
            if let Some(p) = b.parent() {
                assert!(p.index() < i, "{b:?}");
            }
        }
    }

    #[test]
    fn rest_pose_is_a_t_pose() {
        let pose = Pose::default();
        let sh = joint_position(&pose, HumanBone::LeftUpperArm);
        let hand = joint_position(&pose, HumanBone::LeftHand);
        assert!((hand.y - sh.y).abs() < 1e-6);
        assert!(hand.x > sh.x + 0.5);
    }
}
