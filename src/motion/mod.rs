//! motion: speech timings, gestures, emotion and time in; a per-frame avatar [`Pose`] out.
//!
//! Pure Rust, no Bevy types. [`Animator`] is the front door: schedule speech chunks
//! ([`Animator::add_speech`]), gestures and emotion changes on the media timeline (seconds),
//! then ask for [`Animator::pose_at`] any media time; the pose is a pure function of the seed,
//! the schedule and the time, so frames can be rendered in any order.
//!
//! Layers (one file each), bottom to top:
//! - `idle`: relaxed stance (the rig's rest pose is a T-pose; the stance lowers the arms),
//!   breathing, weight shift, head drift;
//! - `gestures`: keyframed clips (wave, present_product, nod, point) crossfaded over idle;
//! - stress nods: small head dips on stressed syllables while speaking;
//! - `visemes`: coarticulated viseme weights and `mouth_open` (viseme open-ness × loudness);
//! - `emotion`: expression presets with smooth transitions; `blink`: seeded random blinks.
//!
//! Coordinates: glTF / VRM 1.0 normalized rig, +Y up, the avatar faces +Z, its left is +X,
//! rest rotations identity; `Pose::bones` are local rotations relative to rest. `rig` has a
//! reference skeleton and forward kinematics used to check what a viewer would see.
//!
//! The vocabulary here ([`HumanBone`] with VRM 1.0 humanoid names,
//! [`Expression`] with VRM preset names, the 15 visemes of [`crate::voice::Viseme`]) is the
//! contract with avatars: an avatar's `avatar.yaml` maps each name to its own node / morph
//! target, so any rigged model plugs in.

use glam::Quat;

use crate::voice::Viseme;

mod animator;
mod blink;
mod curves;
pub mod emotion;
pub mod gestures;
mod idle;
pub mod rig;
pub mod visemes;

pub use animator::Animator;

/// VRM 1.0 humanoid bones the motion layer drives (a subset of the VRM list; fingers as one
/// bone each side).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum HumanBone {
    Hips,
    Spine,
    Chest,
    Neck,
    Head,
    LeftShoulder,
    LeftUpperArm,
    LeftLowerArm,
    LeftHand,
    LeftFingers,
    RightShoulder,
    RightUpperArm,
    RightLowerArm,
    RightHand,
    RightFingers,
    LeftUpperLeg,
    LeftLowerLeg,
    LeftFoot,
    RightUpperLeg,
    RightLowerLeg,
    RightFoot,
}

impl HumanBone {
    pub const ALL: [HumanBone; 21] = [
        HumanBone::Hips,
        HumanBone::Spine,
        HumanBone::Chest,
        HumanBone::Neck,
        HumanBone::Head,
        HumanBone::LeftShoulder,
        HumanBone::LeftUpperArm,
        HumanBone::LeftLowerArm,
        HumanBone::LeftHand,
        HumanBone::LeftFingers,
        HumanBone::RightShoulder,
        HumanBone::RightUpperArm,
        HumanBone::RightLowerArm,
        HumanBone::RightHand,
        HumanBone::RightFingers,
        HumanBone::LeftUpperLeg,
        HumanBone::LeftLowerLeg,
        HumanBone::LeftFoot,
        HumanBone::RightUpperLeg,
        HumanBone::RightLowerLeg,
        HumanBone::RightFoot,
    ];

    /// VRM 1.0 humanoid bone name (`hips`, `leftUpperArm`, ...). Fingers use
    /// `leftIndexProximal` / `rightIndexProximal` as the one finger bone per hand.
    pub fn vrm_name(self) -> &'static str {
        match self {
            HumanBone::Hips => "hips",
            HumanBone::Spine => "spine",
            HumanBone::Chest => "chest",
            HumanBone::Neck => "neck",
            HumanBone::Head => "head",
            HumanBone::LeftShoulder => "leftShoulder",
            HumanBone::LeftUpperArm => "leftUpperArm",
            HumanBone::LeftLowerArm => "leftLowerArm",
            HumanBone::LeftHand => "leftHand",
            HumanBone::LeftFingers => "leftIndexProximal",
            HumanBone::RightShoulder => "rightShoulder",
            HumanBone::RightUpperArm => "rightUpperArm",
            HumanBone::RightLowerArm => "rightLowerArm",
            HumanBone::RightHand => "rightHand",
            HumanBone::RightFingers => "rightIndexProximal",
            HumanBone::LeftUpperLeg => "leftUpperLeg",
            HumanBone::LeftLowerLeg => "leftLowerLeg",
            HumanBone::LeftFoot => "leftFoot",
            HumanBone::RightUpperLeg => "rightUpperLeg",
            HumanBone::RightLowerLeg => "rightLowerLeg",
            HumanBone::RightFoot => "rightFoot",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Parent bone in the VRM hierarchy (`None` for the root, the hips).
    pub fn parent(self) -> Option<HumanBone> {
        use HumanBone::*;
        Some(match self {
            Hips => return None,
            Spine => Hips,
            Chest => Spine,
            Neck => Chest,
            Head => Neck,
            LeftShoulder | RightShoulder => Chest,
            LeftUpperArm => LeftShoulder,
            LeftLowerArm => LeftUpperArm,
            LeftHand => LeftLowerArm,
            LeftFingers => LeftHand,
            RightUpperArm => RightShoulder,
            RightLowerArm => RightUpperArm,
            RightHand => RightLowerArm,
            RightFingers => RightHand,
            LeftUpperLeg | RightUpperLeg => Hips,
            LeftLowerLeg => LeftUpperLeg,
            LeftFoot => LeftLowerLeg,
            RightLowerLeg => RightUpperLeg,
            RightFoot => RightLowerLeg,
        })
    }
}

/// Facial expressions beyond visemes: blinks and the VRM 1.0 emotion presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Expression {
    BlinkLeft,
    BlinkRight,
    Happy,
    Angry,
    Sad,
    Relaxed,
    Surprised,
}

impl Expression {
    pub const ALL: [Expression; 7] = [
        Expression::BlinkLeft,
        Expression::BlinkRight,
        Expression::Happy,
        Expression::Angry,
        Expression::Sad,
        Expression::Relaxed,
        Expression::Surprised,
    ];

    /// VRM 1.0 expression preset name.
    pub fn vrm_name(self) -> &'static str {
        match self {
            Expression::BlinkLeft => "blinkLeft",
            Expression::BlinkRight => "blinkRight",
            Expression::Happy => "happy",
            Expression::Angry => "angry",
            Expression::Sad => "sad",
            Expression::Relaxed => "relaxed",
            Expression::Surprised => "surprised",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Gestures a script line may ask for (`gesture:`), each a keyframed clip blended in and out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gesture {
    Wave,
    PresentProduct,
    Nod,
    Point,
    /// A small bow with the hands together (thanks).
    Bow,
    /// 比心: both hands form a heart in front of the chest (thanks, love).
    Heart,
    /// The right hand held up, palm to the camera, as the price is said.
    ShowPrice,
    /// The right index points down to the link / shopping cart below the host.
    PointDown,
}

impl Gesture {
    pub const ALL: [Gesture; 8] = [
        Gesture::Wave,
        Gesture::PresentProduct,
        Gesture::Nod,
        Gesture::Point,
        Gesture::Bow,
        Gesture::Heart,
        Gesture::ShowPrice,
        Gesture::PointDown,
    ];

    /// The name used in scripts.
    pub fn name(self) -> &'static str {
        match self {
            Gesture::Wave => "wave",
            Gesture::PresentProduct => "present_product",
            Gesture::Nod => "nod",
            Gesture::Point => "point",
            Gesture::Bow => "bow",
            Gesture::Heart => "heart",
            Gesture::ShowPrice => "show_price",
            Gesture::PointDown => "point_down",
        }
    }

    pub fn from_name(name: &str) -> Option<Gesture> {
        Gesture::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// Emotion of a line (`emotion:`), shown through the expression presets and delivery.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Emotion {
    #[default]
    Neutral,
    Happy,
    Surprised,
    Serious,
    Sad,
    Angry,
    Relaxed,
}

impl Emotion {
    pub const ALL: [Emotion; 7] = [
        Emotion::Neutral,
        Emotion::Happy,
        Emotion::Surprised,
        Emotion::Serious,
        Emotion::Sad,
        Emotion::Angry,
        Emotion::Relaxed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Emotion::Neutral => "neutral",
            Emotion::Happy => "happy",
            Emotion::Surprised => "surprised",
            Emotion::Serious => "serious",
            Emotion::Sad => "sad",
            Emotion::Angry => "angry",
            Emotion::Relaxed => "relaxed",
        }
    }

    pub fn from_name(name: &str) -> Option<Emotion> {
        Emotion::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// The avatar's state at one media time: local bone rotations relative to the rest pose, and
/// morph weights in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pose {
    /// Indexed by [`HumanBone::index`]; `Quat::IDENTITY` = rest pose.
    pub bones: [Quat; HumanBone::ALL.len()],
    /// Indexed by [`Viseme::index`].
    pub visemes: [f32; Viseme::ALL.len()],
    /// Indexed by [`Expression::index`].
    pub expressions: [f32; Expression::ALL.len()],
    /// How far the mouth is open, `[0, 1]` (jaw layer + open visemes); also the lip-sync sidecar value.
    pub mouth_open: f32,
}

impl Default for Pose {
    fn default() -> Self {
        Pose {
            bones: [Quat::IDENTITY; HumanBone::ALL.len()],
            visemes: [0.0; Viseme::ALL.len()],
            expressions: [0.0; Expression::ALL.len()],
            mouth_open: 0.0,
        }
    }
}
