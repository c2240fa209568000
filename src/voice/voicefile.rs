//! A merchant voice on disk: `voices/NAME/voice.yaml` (the profile) beside the enrollment
//! report and the reference clips. `anchor voice enroll` writes it; `anchor say --voice NAME`,
//! `anchor voice report NAME` and the show read it.
//!
//! ```yaml
//! version: 1
//! name: lin
//! engine: { kind: builtin }            # or { kind: piper, model: model.onnx }
//! enrollment: { speech_minutes: 31.2, clips: 412, sources: [sample.wav] }
//! profile: { f0_median_hz: 212.0, ... }
//! speaker_embedding: [0.01, ...]       # GE2E, 256 values
//! reference_clips: [clips/0001.wav, ...]   # best first
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file name inside a voice folder.
pub const VOICE_FILE: &str = "voice.yaml";

/// `voices/NAME/voice.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceFile {
    pub version: u32,
    pub name: String,
    /// Which engine speaks in this voice.
    #[serde(default)]
    pub engine: Engine,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment: Option<Enrollment>,
    /// How the merchant's voice sounds (pitch, formants, rate, loudness): the target of timbre
    /// matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<VoiceProfile>,
    /// GE2E speaker embedding of the reference clips (256 values, L2-normalized).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speaker_embedding: Vec<f32>,
    /// Reference clips, relative to the voice folder, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_clips: Vec<PathBuf>,
}

/// The engine of a voice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Engine {
    /// The built-in espeak-ng voice, matched to [`VoiceFile::profile`] by the timbre stage.
    #[default]
    Builtin,
    /// A VITS/Piper voice: `model` (model.onnx) with `model.onnx.json` beside it (or `config`).
    /// Paths are relative to the voice folder.
    Piper {
        model: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<PathBuf>,
        /// Speaker id for multi-speaker models.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        speaker: Option<i64>,
    },
}

/// What enrollment found (the full report is `report.md` / `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    pub speech_minutes: f64,
    pub clips: usize,
    /// The sample files, as given.
    pub sources: Vec<String>,
    /// RFC 3339.
    pub created: String,
    /// `wavs/` + `metadata.csv` in the LJSpeech/Piper layout, when transcribed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<PathBuf>,
}

/// Measured voice characteristics (of the enrollment clips, or of synthesized speech), as
/// [`crate::voice::timbre::analyze`] measures them. A value of 0 means "not measured" (the
/// timbre stage then leaves that aspect of the voice alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct VoiceProfile {
    /// Median fundamental frequency of voiced frames (Hz; YIN, 5 ms frames).
    pub f0_median_hz: f32,
    /// 5th and 95th percentile of F0 (Hz).
    pub f0_p5_hz: f32,
    pub f0_p95_hz: f32,
    /// Spread of F0 in semitones (p95 / p5).
    pub f0_range_semitones: f32,
    /// Contour habits, per phrase (voicing joined across pauses under 0.3 s), weighted by
    /// phrase length: mean F0 slope (semitones per second, least squares; negative =
    /// declination) and mean rise at phrase ends (semitones: the last 120 ms of voicing
    /// against the 400 ms before).
    pub f0_slope_st_per_s: f32,
    pub f0_final_rise_st: f32,
    /// Typical formant frequencies F1..F3 of loud voiced frames (Hz; Burg LPC, order 10 at
    /// 11 kHz; geometric mean of the middle 80% of frames).
    pub formants_hz: [f32; 3],
    /// Vocal-tract length estimated from the formant spacing of F1..F3 (cm; uniform tube
    /// closed at the glottis, c = 350 m/s).
    pub vocal_tract_cm: f32,
    /// Syllable nuclei (voiced intensity peaks) per second of speech, pauses of 0.25 s or
    /// more excluded.
    pub speaking_rate: f32,
    /// Integrated loudness (LUFS, EBU R128).
    pub loudness_lufs: f32,
    /// Seconds of voiced speech the profile was measured on (0 in files written before it
    /// was recorded).
    #[serde(default)]
    pub voiced_secs: f32,
    /// Seconds of speech (pauses of 0.25 s or more excluded) the profile was measured on.
    #[serde(default)]
    pub speech_secs: f32,
    /// Mean spectral envelope of loud voiced frames (dB, each frame's mean removed; LPC order
    /// 14 at 11 kHz) at log-spaced frequencies from 150 to 5000 Hz: how the vowels of this
    /// voice sit in frequency. Matching aligns two of them to find the formant factor. Empty
    /// in files written before it was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub envelope_db: Vec<f32>,
}

/// Errors reading or writing a voice.
#[derive(Debug, thiserror::Error)]
pub enum VoiceFileError {
    #[error(
        "no voice `{name}` in {dir}: enroll one with `anchor voice enroll SAMPLE --name {name}`"
    )]
    NotFound { name: String, dir: PathBuf },
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The folder voices live in: `dir` when given (`--voices-dir`), else `voices/` under
/// [`crate::home::home`].
pub fn voices_dir(dir: Option<&Path>) -> PathBuf {
    dir.map(Path::to_path_buf)
        .unwrap_or_else(|| crate::home::home().join("voices"))
}

impl VoiceFile {
    pub fn new(name: &str) -> VoiceFile {
        VoiceFile {
            version: 1,
            name: name.to_owned(),
            engine: Engine::Builtin,
            enrollment: None,
            profile: None,
            speaker_embedding: Vec::new(),
            reference_clips: Vec::new(),
        }
    }

    /// Loads voice `name` from `voices` (see [`voices_dir`]).
    pub fn load(voices: &Path, name: &str) -> Result<(VoiceFile, PathBuf), VoiceFileError> {
        let dir = voices.join(name);
        let path = dir.join(VOICE_FILE);
        if !path.is_file() {
            return Err(VoiceFileError::NotFound {
                name: name.to_owned(),
                dir: voices.to_path_buf(),
            });
        }
        let read_err = |reason: String| VoiceFileError::Read {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| read_err(e.to_string()))?;
        let file = serde_norway::from_str(&text).map_err(|e| read_err(e.to_string()))?;
        Ok((file, dir))
    }

    /// Writes `dir/voice.yaml` atomically (a temp file renamed over it).
    pub fn save(&self, dir: &Path) -> Result<(), VoiceFileError> {
        let path = dir.join(VOICE_FILE);
        let write_err = |source: std::io::Error| VoiceFileError::Write {
            path: path.clone(),
            source,
        };
        let text =
            serde_norway::to_string(self).map_err(|e| write_err(std::io::Error::other(e)))?;
        let tmp = dir.join(".voice.yaml.tmp");
        std::fs::write(&tmp, text).map_err(write_err)?;
        std::fs::rename(&tmp, &path).map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_finds_nothing_where_nothing_is() {
        let tmp = std::env::temp_dir().join(format!("anchor-voicefile-{}", std::process::id()));
        let dir = tmp.join("lin");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut v = VoiceFile::new("lin");
        v.engine = Engine::Piper {
            model: "model.onnx".into(),
            config: None,
            speaker: Some(2),
        };
        v.profile = Some(VoiceProfile {
            f0_median_hz: 210.0,
            ..VoiceProfile::default()
        });
        v.speaker_embedding = vec![0.5; 4];
        v.save(&dir).expect("save");
        let (back, at) = VoiceFile::load(&tmp, "lin").expect("load");
        assert_eq!(back, v);
        assert_eq!(at, dir);
        let err = VoiceFile::load(&tmp, "nobody").expect_err("missing voice");
        assert!(err.to_string().contains("anchor voice enroll"), "{err}");
        std::fs::remove_dir_all(&tmp).ok();
    }
}
