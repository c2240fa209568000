//! The front door: a schedule of speech, gestures and emotions on the media timeline, and
//! [`Animator::pose_at`], a pure function of that schedule and a time.

use glam::Quat;

use crate::voice::{Emphasis, SpeechChunk};

use super::curves::bump;
use super::emotion::EmotionTrack;
use super::gestures::{self, Library};
use super::idle::Idle;
use super::visemes::{self, SpeechTrack};
use super::{Emotion, Expression, Gesture, HumanBone, Pose, blink};

/// Head nod on a stressed syllable: peak pitch (degrees), and its duration (seconds, starting
/// [`STRESS_NOD_LEAD`] before the syllable).
pub const STRESS_NOD_DEG: f32 = 3.0;
pub const STRESS_NOD_SECS: f64 = 0.4;
pub const STRESS_NOD_LEAD: f64 = 0.08;
/// Summed stress nods saturate softly at this pitch (degrees).
const STRESS_NOD_MAX_DEG: f32 = 4.5;

#[derive(Debug, Clone)]
struct ScheduledGesture {
    start: f64,
    gesture: Gesture,
    emphasis: Emphasis,
}

/// Turns a schedule (speech chunks, gestures, emotion changes, all at media times in seconds)
/// into a [`Pose`] for any media time.
///
/// Contract: `pose_at` is pure: for the same seed and schedule it returns the same pose for the
/// same time, whatever the order or number of calls, so a frame can be re-rendered or rendered
/// ahead. Entries may be added in any order. `forget_before(t)` drops what ended before `t`; poses
/// asked for before `t` afterwards may differ (the show never looks back).
#[derive(Debug, Clone)]
pub struct Animator {
    seed: u64,
    idle: Idle,
    library: Library,
    speech: Vec<SpeechTrack>,
    gestures: Vec<ScheduledGesture>,
    emotion: EmotionTrack,
}

impl Animator {
    /// A new animator; `seed` picks blink times and idle phases (deterministic per seed).
    pub fn new(seed: u64) -> Self {
        Animator {
            seed,
            idle: Idle::new(seed),
            library: Library::new(),
            speech: Vec::new(),
            gestures: Vec::new(),
            emotion: EmotionTrack::new(),
        }
    }

    /// Schedules a speech chunk whose first sample plays at `start_secs`. Computes the chunk's
    /// loudness envelope once, here. Phoneme times are relative to the chunk start.
    pub fn add_speech(&mut self, start_secs: f64, chunk: &SpeechChunk) {
        if !start_secs.is_finite() {
            tracing::warn!(
                start_secs,
                "motion: speech with a non-finite start time ignored"
            );
            return;
        }
        let _span = tracing::debug_span!(
            "motion_add_speech",
            start_secs,
            phonemes = chunk.phonemes.len()
        )
        .entered();
        let track = SpeechTrack::new(start_secs, chunk);
        let i = self.speech.partition_point(|t| t.start <= start_secs);
        self.speech.insert(i, track);
    }

    /// Schedules `gesture` to start at `start_secs`; it lasts [`Animator::gesture_duration`].
    /// A later gesture overlapping an earlier one wins on the bones both drive, crossfading over
    /// [`gestures::BLEND`].
    pub fn add_gesture(&mut self, start_secs: f64, gesture: Gesture, emphasis: Emphasis) {
        if !start_secs.is_finite() {
            tracing::warn!(
                start_secs,
                "motion: gesture with a non-finite start time ignored"
            );
            return;
        }
        let i = self.gestures.partition_point(|g| g.start <= start_secs);
        self.gestures.insert(
            i,
            ScheduledGesture {
                start: start_secs,
                gesture,
                emphasis,
            },
        );
    }

    /// From `start_secs` on, the face moves to `emotion`'s expression over
    /// [`super::emotion::TRANSITION`]. Before any call the emotion is [`Emotion::Neutral`].
    pub fn set_emotion(&mut self, start_secs: f64, emotion: Emotion) {
        self.emotion.set(start_secs, emotion);
    }

    /// Length of a gesture clip in seconds (blend in and out included).
    pub fn gesture_duration(g: Gesture) -> f64 {
        gestures::duration(g)
    }

    /// The pose at media time `t_secs`.
    pub fn pose_at(&self, t_secs: f64) -> Pose {
        let _span = tracing::trace_span!("motion_pose_at", t_secs).entered();
        let t = t_secs;
        let idle = self.idle.bones_at(t);
        let mut bones = idle;

        // Gestures, in start order: each blends over what is below it (later wins).
        for (k, g) in self.gestures.iter().enumerate() {
            let local = t - g.start;
            if local <= 0.0 || local >= gestures::duration(g.gesture) {
                continue;
            }
            // Interrupting a gesture that is still playing: a longer crossfade.
            let interrupts = self.gestures[..k].iter().any(|e| {
                e.start < g.start
                    && e.start + gestures::duration(e.gesture) > g.start + gestures::BLEND
            });
            let blend_in = if interrupts {
                gestures::OVERLAP_BLEND
            } else {
                gestures::BLEND
            };
            if let Some(clip) = self.library.clip(g.gesture, g.emphasis) {
                clip.apply(local, blend_in, &idle, &mut bones);
            }
        }

        // Small nods on stressed syllables, on top of everything.
        let nod = self.stress_nod_deg(t);
        if nod != 0.0 {
            let neck = HumanBone::Neck.index();
            let head = HumanBone::Head.index();
            bones[neck] *= Quat::from_rotation_x(0.3 * nod.to_radians());
            bones[head] *= Quat::from_rotation_x(0.7 * nod.to_radians());
        }

        let lips = visemes::lips_at(self.speech.iter(), t);

        let mut expressions = self.emotion.weights_at(t);
        let (bl, br) = blink::blink_at(self.seed, t);
        expressions[Expression::BlinkLeft.index()] = bl;
        expressions[Expression::BlinkRight.index()] = br;

        Pose {
            bones,
            visemes: lips.visemes,
            expressions,
            mouth_open: lips.mouth_open,
        }
    }

    /// Head pitch (degrees) from stressed syllables near `t`.
    fn stress_nod_deg(&self, t: f64) -> f32 {
        let mut sum = 0.0f64;
        for tr in &self.speech {
            if t < tr.start - STRESS_NOD_LEAD || t > tr.end + STRESS_NOD_SECS {
                continue;
            }
            let lo = tr
                .stresses
                .partition_point(|&s| s - STRESS_NOD_LEAD + STRESS_NOD_SECS < t);
            for &s in &tr.stresses[lo..] {
                let x = (t - (s - STRESS_NOD_LEAD)) / STRESS_NOD_SECS;
                if x < 0.0 {
                    break;
                }
                sum += bump(x);
            }
        }
        if sum == 0.0 {
            return 0.0;
        }
        let raw = STRESS_NOD_DEG * sum as f32;
        STRESS_NOD_MAX_DEG * (raw / STRESS_NOD_MAX_DEG).tanh()
    }

    /// Ends all speech at `t_secs` (the audio was cut there: an interruption). Gestures and
    /// emotion continue.
    pub fn cut_speech(&mut self, t_secs: f64) {
        self.speech.retain(|s| s.start < t_secs);
        for s in &mut self.speech {
            s.truncate(t_secs);
        }
    }

    /// Drops speech, gestures and emotion changes that ended before `t_secs`, so memory stays
    /// bounded over a night on air.
    pub fn forget_before(&mut self, t_secs: f64) {
        let margin = visemes::RELEASE.max(STRESS_NOD_SECS) + 0.1;
        self.speech.retain(|s| s.end + margin >= t_secs);
        self.gestures
            .retain(|g| g.start + gestures::duration(g.gesture) >= t_secs);
        self.emotion.forget_before(t_secs);
    }

    /// Number of schedule entries held (speech chunks + gestures + emotion changes).
    pub fn scheduled_len(&self) -> usize {
        self.speech.len() + self.gestures.len() + self.emotion.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::motion::emotion::{TRANSITION, preset};
    use crate::motion::rig::{fingertip, joint_position};
    use crate::motion::visemes::tests::{chunk, sample_segments};
    use glam::Vec3;

    fn max_bone_jump(a: &Pose, b: &Pose) -> f32 {
        a.bones
            .iter()
            .zip(b.bones.iter())
            .map(|(x, y)| x.angle_between(*y).to_degrees())
            .fold(0.0, f32::max)
    }

    #[test]
    fn animator_can_move_between_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Animator>();
        send_sync::<Pose>();
    }

    #[test]
    fn pose_is_pure_and_deterministic() {
        let mk = || {
            let mut a = Animator::new(11);
            a.add_speech(1.0, &chunk(&sample_segments(), 2.4));
            a.add_gesture(1.5, Gesture::Wave, Emphasis::Normal);
            a.set_emotion(0.5, Emotion::Happy);
            a
        };
        let a = mk();
        let b = mk();
        for t in [0.0, 1.3, 2.0, 2.77, 3.5, 100.0] {
            assert_eq!(a.pose_at(t), b.pose_at(t));
        }
        // Query order does not matter.
        let p = a.pose_at(2.0);
        let _ = a.pose_at(50.0);
        assert_eq!(a.pose_at(2.0), p);
        // Another seed blinks / breathes differently.
        let c = Animator::new(12);
        assert!(
            (0..100)
                .any(|i| c.pose_at(i as f64 * 0.1) != Animator::new(11).pose_at(i as f64 * 0.1))
        );
    }

    #[test]
    fn cut_speech_closes_the_mouth_after_the_cut() {
        let mk = || {
            let mut a = Animator::new(3);
            a.add_speech(1.0, &chunk(&sample_segments(), 2.4));
            a
        };
        let full = mk();
        let mut cut = mk();
        cut.cut_speech(1.5);
        // Before the cut nothing changes; well after it the mouth rests.
        assert_eq!(cut.pose_at(1.2).mouth_open, full.pose_at(1.2).mouth_open);
        let open_after = |a: &Animator| {
            (0..40)
                .map(|i| a.pose_at(1.8 + i as f64 * 0.02).mouth_open)
                .fold(0.0f32, f32::max)
        };
        assert!(open_after(&full) > 0.1, "the uncut sentence goes on");
        assert!(open_after(&cut) < 0.02, "{}", open_after(&cut));
    }

    #[test]
    fn idle_arms_down_and_wave_peak_up() {
        let mut a = Animator::new(5);
        let idle = a.pose_at(0.5);
        let sh = joint_position(&idle, HumanBone::LeftUpperArm);
        assert!(joint_position(&idle, HumanBone::LeftHand).y < sh.y - 0.35);
        assert!(fingertip(&idle, true).y < sh.y - 0.35);
        a.add_gesture(10.0, Gesture::Wave, Emphasis::Normal);
        let peak = (0..100)
            .map(|i| {
                let p = a.pose_at(10.0 + i as f64 * 0.024);
                joint_position(&p, HumanBone::RightHand).y
                    - joint_position(&p, HumanBone::RightUpperArm).y
            })
            .fold(f32::MIN, f32::max);
        assert!(peak > 0.15, "wave peak {peak} m above the shoulder");
    }

    #[test]
    fn overlapping_gestures_crossfade_without_jumps() {
        let mut a = Animator::new(1);
        a.add_gesture(1.0, Gesture::PresentProduct, Emphasis::Strong);
        a.add_gesture(2.2, Gesture::Point, Emphasis::Normal);
        a.add_gesture(2.5, Gesture::Nod, Emphasis::Normal);
        a.add_gesture(3.0, Gesture::Wave, Emphasis::Strong);
        let mut prev = a.pose_at(0.0);
        let mut worst = 0.0f32;
        for i in 1..(8 * 30) {
            let cur = a.pose_at(i as f64 / 30.0);
            worst = worst.max(max_bone_jump(&prev, &cur));
            prev = cur;
        }
        assert!(worst < 15.0, "max bone rotation between frames {worst}°");
        // The later gesture wins: at 3.2 s the point (which started later) drives the left arm.
        let p = a.pose_at(3.0);
        let tip = fingertip(&p, true);
        let sh = joint_position(&p, HumanBone::LeftUpperArm);
        assert!(tip.y < sh.y - 0.1 && tip.x > sh.x + 0.3, "{tip} {sh}");
    }

    #[test]
    fn stressed_syllables_nod_the_head_a_little() {
        let mut a = Animator::new(2);
        let plain = a.pose_at(10.36 + 0.12);
        a.add_speech(10.0, &chunk(&sample_segments(), 2.4));
        // First stressed syllable at 10.36 s: nod peaks ~0.12 s after it.
        let p = a.pose_at(10.36 + 0.12);
        let dip = plain.bones[HumanBone::Head.index()]
            .angle_between(p.bones[HumanBone::Head.index()])
            .to_degrees();
        assert!(dip > 1.0 && dip < 5.0, "{dip}°");
        let face = crate::motion::rig::world_transforms(&p)[HumanBone::Head.index()].0 * Vec3::Z;
        let face0 =
            crate::motion::rig::world_transforms(&plain)[HumanBone::Head.index()].0 * Vec3::Z;
        assert!(face.y < face0.y, "nod goes down");
        let mut prev = a.pose_at(9.0);
        for i in 1..(4 * 60) {
            let cur = a.pose_at(9.0 + i as f64 / 60.0);
            assert!(max_bone_jump(&prev, &cur) < 2.0);
            prev = cur;
        }
    }

    #[test]
    fn lips_and_face_come_through() {
        let mut a = Animator::new(3);
        a.add_speech(2.0, &chunk(&sample_segments(), 2.4));
        a.set_emotion(0.0, Emotion::Happy);
        a.set_emotion(3.0, Emotion::Serious);
        let p = a.pose_at(2.46);
        assert!(p.mouth_open > 0.3 && p.visemes[crate::voice::Viseme::Aa.index()] > 0.9);
        assert!(a.pose_at(1.0).mouth_open < 1e-4);
        assert!(a.pose_at(2.0 + 1.05).mouth_open < 0.05);
        let happy = a.pose_at(TRANSITION + 0.01).expressions;
        assert!(
            (happy[Expression::Happy.index()] - preset(Emotion::Happy)[Expression::Happy.index()])
                .abs()
                < 1e-6
        );
        let serious = a.pose_at(3.0 + TRANSITION).expressions;
        assert!((serious[Expression::Angry.index()] - 0.2).abs() < 1e-6);
        assert_eq!(serious[Expression::Happy.index()], 0.0);
        // Blinks reach the blink expressions.
        let blinked = (0..2000)
            .any(|i| a.pose_at(i as f64 * 0.005).expressions[Expression::BlinkLeft.index()] > 0.9);
        assert!(blinked);
    }

    #[test]
    fn forget_keeps_memory_bounded_and_future_intact() {
        let mut a = Animator::new(4);
        let c = chunk(&sample_segments(), 2.4);
        for k in 0..200 {
            let t = k as f64 * 3.0;
            a.add_speech(t, &c);
            a.add_gesture(t + 0.5, Gesture::ALL[k % 4], Emphasis::Normal);
            a.set_emotion(t, Emotion::ALL[k % 7]);
            // The show keeps ~1 s of lookahead and forgets the past.
            a.forget_before(t - 1.0);
            assert!(
                a.scheduled_len() <= 9,
                "{} entries at {t}",
                a.scheduled_len()
            );
        }
        let mut b = Animator::new(4);
        for k in 195..200 {
            let t = k as f64 * 3.0;
            b.add_speech(t, &c);
            b.add_gesture(t + 0.5, Gesture::ALL[k % 4], Emphasis::Normal);
        }
        let mut full = Animator::new(4);
        for k in 0..200 {
            let t = k as f64 * 3.0;
            full.add_speech(t, &c);
            full.add_gesture(t + 0.5, Gesture::ALL[k % 4], Emphasis::Normal);
            full.set_emotion(t, Emotion::ALL[k % 7]);
        }
        for t in [597.0, 597.5, 598.7, 599.9] {
            assert_eq!(a.pose_at(t), full.pose_at(t), "t={t}");
            assert_eq!(a.pose_at(t).bones, b.pose_at(t).bones);
        }
    }
}
