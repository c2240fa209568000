//! Which engine speaks: `show.voice` in a script, `--voice` on the command line.
//!
//! - `default`: the built-in espeak-ng voice as it is;
//! - a voice name (a folder under `voices/`, or under `--voices-dir`) or a path to a voice
//!   folder made by `anchor voice enroll`: its `voice.yaml` says the engine —
//!   `builtin` (the built-in voice matched to the merchant's profile by the timbre stage) or
//!   `piper` (a VITS/Piper model in the folder).

use std::path::{Path, PathBuf};

use super::piper::PiperVoice;
use super::timbre::Matched;
use super::voicefile::{Engine, VoiceFile, voices_dir};
use super::{DefaultVoice, Synthesizer, VoiceError};

/// `show.voice` meaning the built-in voice.
pub const DEFAULT_VOICE: &str = "default";

/// Finds voice `voice` (see the module doc): `None` for [`DEFAULT_VOICE`], else its file and
/// folder. A relative path is looked up beside the script first.
pub fn find(
    voice: &str,
    script_dir: Option<&Path>,
    voices: Option<&Path>,
) -> Result<Option<(VoiceFile, PathBuf)>, VoiceError> {
    if voice == DEFAULT_VOICE {
        return Ok(None);
    }
    let as_path = Path::new(voice);
    let candidates: Vec<PathBuf> = [
        script_dir.map(|d| d.join(as_path)),
        Some(as_path.to_path_buf()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let folder = candidates
        .iter()
        .find(|c| c.join(super::voicefile::VOICE_FILE).is_file());
    let loaded = match folder {
        Some(dir) => {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let parent = dir.parent().unwrap_or(Path::new("."));
            VoiceFile::load(parent, &name)
        }
        None => VoiceFile::load(&voices_dir(voices), voice),
    };
    loaded
        .map(Some)
        .map_err(|e| VoiceError::Voice(e.to_string()))
}

/// Opens the engine for `voice` (see [`find`]).
pub fn open(
    voice: &str,
    script_dir: Option<&Path>,
    voices: Option<&Path>,
) -> Result<Box<dyn Synthesizer>, VoiceError> {
    match find(voice, script_dir, voices)? {
        None => Ok(Box::new(DefaultVoice::new()?)),
        Some((file, dir)) => open_file(&file, &dir),
    }
}

/// Opens the engine a loaded `voice.yaml` names (`dir`: its folder).
pub fn open_file(file: &VoiceFile, dir: &Path) -> Result<Box<dyn Synthesizer>, VoiceError> {
    match &file.engine {
        Engine::Builtin => {
            let base = DefaultVoice::new()?;
            match &file.profile {
                Some(profile) => Ok(Box::new(
                    Matched::builtin(base, profile, 1.0)
                        .map_err(|e| VoiceError::Voice(format!("{}: {e}", file.name)))?,
                )),
                None => {
                    tracing::warn!(
                        "voice {} has no profile (enrolled without one?): speaking with the built-in voice as is",
                        file.name
                    );
                    Ok(Box::new(base))
                }
            }
        }
        Engine::Piper {
            model,
            config,
            speaker,
        } => {
            let config = config.as_ref().map(|c| dir.join(c));
            Ok(Box::new(PiperVoice::load(
                &dir.join(model),
                config.as_deref(),
                *speaker,
            )?))
        }
    }
}
