//! Small continuous curves, easing and a portable hash-based random source shared by the layers.

use glam::{Quat, Vec3};

/// `0` below `0`, `1` above `1`, the cubic `3x² − 2x³` between: C¹, max slope 1.5.
pub(crate) fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// `smoothstep` for `f32`.
pub(crate) fn smoothstep_f32(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Linear ramp from 0 at `a` to 1 at `b` (eased with [`smoothstep`]); a step if `b <= a`.
pub(crate) fn ramp(t: f64, a: f64, b: f64) -> f64 {
    if b <= a {
        return if t >= a { 1.0 } else { 0.0 };
    }
    smoothstep((t - a) / (b - a))
}

/// A raised-cosine bump on `[0, 1]`: 0 at both ends, 1 in the middle, C¹.
pub(crate) fn bump(x: f64) -> f64 {
    if !(0.0..=1.0).contains(&x) {
        return 0.0;
    }
    0.5 - 0.5 * (std::f64::consts::TAU * x).cos()
}

/// SplitMix64 finaliser: a well-mixed 64-bit hash. Used instead of an RNG *type* so that the
/// random streams are a pure function of `(seed, index)` and stay the same across `rand`
/// releases (`SmallRng`'s algorithm is explicitly not portable between versions).
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic stream of uniform numbers keyed by `(seed, stream, index)`.
#[derive(Debug, Clone)]
pub(crate) struct Dice {
    state: u64,
}

impl Dice {
    pub(crate) fn new(seed: u64, stream: u64, index: i64) -> Dice {
        let s =
            mix64(seed ^ mix64(stream.wrapping_mul(0xA24B_AED4_963E_E407) ^ mix64(index as u64)));
        Dice { state: s }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.state = mix64(self.state);
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Slerp that always takes the short way (glam's does too; kept explicit for clarity).
pub(crate) fn slerp(a: Quat, b: Quat, s: f32) -> Quat {
    let b = if a.dot(b) < 0.0 { -b } else { b };
    a.slerp(b, s.clamp(0.0, 1.0)).normalize()
}

/// The rotation that takes the frame `(rest_dir, rest_up)` onto `(dir, up)`; `up` is
/// orthogonalised against `dir` (falls back to the shortest arc if they are parallel).
pub(crate) fn aim(rest_dir: Vec3, rest_up: Vec3, dir: Vec3, up: Vec3) -> Quat {
    let d = dir.normalize_or_zero();
    if d == Vec3::ZERO {
        return Quat::IDENTITY;
    }
    let u = (up - d * up.dot(d)).normalize_or_zero();
    let rd = rest_dir.normalize();
    let ru = (rest_up - rd * rest_up.dot(rd)).normalize();
    if u == Vec3::ZERO {
        return Quat::from_rotation_arc(rd, d);
    }
    let rest = glam::Mat3::from_cols(rd, ru, rd.cross(ru));
    let target = glam::Mat3::from_cols(d, u, d.cross(u));
    Quat::from_mat3(&(target * rest.transpose())).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_is_deterministic_and_uniformish() {
        let a: Vec<f64> = (0..5).map(|i| Dice::new(7, 1, i).unit()).collect();
        let b: Vec<f64> = (0..5).map(|i| Dice::new(7, 1, i).unit()).collect();
        assert_eq!(a, b);
        let mean = (0..10_000).map(|i| Dice::new(3, 2, i).unit()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }

    #[test]
    fn aim_maps_rest_frame_onto_target() {
        let q = aim(Vec3::X, Vec3::NEG_Y, Vec3::new(0.3, -0.9, 0.2), Vec3::NEG_X);
        let d = q * Vec3::X;
        assert!(d.dot(Vec3::new(0.3, -0.9, 0.2).normalize()) > 0.9999);
        let u = q * Vec3::NEG_Y;
        assert!(u.dot(d).abs() < 1e-5);
        assert!(u.x < -0.9);
    }
}
