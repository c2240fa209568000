//! `model.onnx.json`: a Piper voice's config as Piper's trainer writes it ([`PiperConfig`]),
//! and its validated runtime form ([`Settings`]).
//!
//! Unknown keys are accepted (kept in [`PiperConfig::other`]): the file comes from Piper's
//! trainer, not from us, and trainers add keys (`key`, `model_card`, ...) that change nothing
//! for inference. Rejecting them would refuse working voices.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::PiperError;
use crate::voice::Language;

/// `inference.noise_scale` when the file has none (piper1-gpl DEFAULT_NOISE_SCALE).
pub const DEFAULT_NOISE_SCALE: f32 = 0.667;
/// `inference.length_scale` when the file has none.
pub const DEFAULT_LENGTH_SCALE: f32 = 1.0;
/// `inference.noise_w` when the file has none.
pub const DEFAULT_NOISE_W: f32 = 0.8;
/// Audio samples per model frame when the file has no `hop_length` (VITS's 256).
pub const DEFAULT_HOP_LENGTH: usize = 256;

/// Padding symbol put after every phoneme's ids (piper `PAD`).
pub(crate) const PAD: &str = "_";
/// Beginning of sentence (piper `BOS`).
pub(crate) const BOS: &str = "^";
/// End of sentence (piper `EOS`).
pub(crate) const EOS: &str = "$";

/// `model.onnx.json`, field for field (names as in the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PiperConfig {
    /// `audio`: output format of the model.
    pub audio: AudioConfig,
    /// `espeak`: the espeak-ng voice the training data was phonemized with.
    pub espeak: EspeakConfig,
    /// `inference`: default scales.
    #[serde(default)]
    pub inference: InferenceConfig,
    /// `phoneme_type`: `espeak` (the default; the only one anchor runs), `text` or `pinyin`.
    #[serde(default)]
    pub phoneme_type: PhonemeType,
    /// `phoneme_map`: phoneme → phonemes substituted before id lookup (usually empty).
    #[serde(default)]
    pub phoneme_map: BTreeMap<String, Vec<String>>,
    /// `phoneme_id_map`: phoneme (one code point, or a vowel cluster) → model ids.
    pub phoneme_id_map: BTreeMap<String, Vec<i64>>,
    /// `num_symbols`: size of the model's symbol table.
    #[serde(default)]
    pub num_symbols: Option<usize>,
    /// `num_speakers`: speakers of a multi-speaker model (1 otherwise).
    #[serde(default = "one")]
    pub num_speakers: usize,
    /// `speaker_id_map`: speaker name → id.
    #[serde(default)]
    pub speaker_id_map: BTreeMap<String, i64>,
    /// `hop_length`: audio samples per frame, the unit of an alignment output (piper1-gpl).
    #[serde(default)]
    pub hop_length: Option<usize>,
    /// `vowel_clusters`: code point sequences merged into one phoneme before lookup (piper1-gpl).
    #[serde(default)]
    pub vowel_clusters: Vec<Vec<String>>,
    /// `language`: the voice's language (informative).
    #[serde(default)]
    pub language: Option<LanguageConfig>,
    /// `dataset`: the training dataset's name (informative).
    #[serde(default)]
    pub dataset: Option<String>,
    /// `piper_version`: the trainer's version (informative).
    #[serde(default)]
    pub piper_version: Option<String>,
    /// Any other key of the file; not used.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn one() -> usize {
    1
}

/// `audio` of [`PiperConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioConfig {
    /// `sample_rate`: Hz of the model's output (22 050 for medium/high, 16 000 for low/x_low).
    pub sample_rate: u32,
    /// `quality`: `x_low`, `low`, `medium`, `high` (informative).
    #[serde(default)]
    pub quality: Option<String>,
}

/// `espeak` of [`PiperConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EspeakConfig {
    /// `voice`: espeak-ng voice name (`en-us`, `cmn`, ...).
    pub voice: String,
}

/// `inference` of [`PiperConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InferenceConfig {
    /// `noise_scale`: generator noise.
    #[serde(default = "default_noise_scale")]
    pub noise_scale: f32,
    /// `length_scale`: phoneme length (> 1 slower).
    #[serde(default = "default_length_scale")]
    pub length_scale: f32,
    /// `noise_w`: duration noise.
    #[serde(default = "default_noise_w")]
    pub noise_w: f32,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            noise_scale: DEFAULT_NOISE_SCALE,
            length_scale: DEFAULT_LENGTH_SCALE,
            noise_w: DEFAULT_NOISE_W,
        }
    }
}

fn default_noise_scale() -> f32 {
    DEFAULT_NOISE_SCALE
}
fn default_length_scale() -> f32 {
    DEFAULT_LENGTH_SCALE
}
fn default_noise_w() -> f32 {
    DEFAULT_NOISE_W
}

/// `phoneme_type` of [`PiperConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhonemeType {
    /// espeak-ng IPA (every released Piper voice but the g2pW Chinese ones).
    #[default]
    Espeak,
    /// Unicode code points of the text itself.
    Text,
    /// piper1-gpl's g2pW pinyin front end for Chinese.
    Pinyin,
}

impl PhonemeType {
    fn name(self) -> &'static str {
        match self {
            PhonemeType::Espeak => "espeak",
            PhonemeType::Text => "text",
            PhonemeType::Pinyin => "pinyin",
        }
    }
}

/// `language` of [`PiperConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageConfig {
    /// `code`: `en_US`, `zh_CN`, ...
    pub code: String,
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub name_native: Option<String>,
    #[serde(default)]
    pub name_english: Option<String>,
    #[serde(default)]
    pub country_english: Option<String>,
}

/// Delivery scales passed to the model (`scales` input), in the model's order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scales {
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
}

impl Scales {
    pub fn to_array(self) -> [f32; 3] {
        [self.noise_scale, self.length_scale, self.noise_w]
    }
}

/// What the engine runs on, checked: [`PiperConfig::validate`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub sample_rate: u32,
    /// `espeak.voice` as given.
    pub espeak_voice: String,
    /// The language the voice was trained on, when anchor knows it (`en*` → English,
    /// `cmn`/`zh*` → Mandarin).
    pub language: Option<Language>,
    pub scales: Scales,
    pub ids: HashMap<String, Vec<i64>>,
    pub pad: Vec<i64>,
    pub bos: Vec<i64>,
    pub eos: Vec<i64>,
    pub phoneme_map: HashMap<String, Vec<String>>,
    pub vowel_clusters: Vec<Vec<String>>,
    pub num_speakers: usize,
    pub hop_length: usize,
}

impl PiperConfig {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<PiperConfig, PiperError> {
        let text = std::fs::read_to_string(path).map_err(|source| PiperError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let config: PiperConfig =
            serde_json::from_str(&text).map_err(|source| PiperError::ConfigParse {
                path: path.to_path_buf(),
                source,
            })?;
        if !config.other.is_empty() {
            let keys: Vec<&str> = config.other.keys().map(String::as_str).collect();
            tracing::debug!(config = %path.display(), ?keys, "Piper config keys not used");
        }
        Ok(config)
    }

    /// Checks the config can drive the engine; `path` is for messages.
    pub(crate) fn validate(&self, path: &Path) -> Result<Settings, PiperError> {
        let invalid = |reason: String| PiperError::ConfigInvalid {
            path: path.to_path_buf(),
            reason,
        };
        if self.phoneme_type != PhonemeType::Espeak {
            return Err(PiperError::UnsupportedPhonemeType {
                path: path.to_path_buf(),
                phoneme_type: self.phoneme_type.name().to_string(),
            });
        }
        if !(4_000..=192_000).contains(&self.audio.sample_rate) {
            return Err(invalid(format!(
                "audio.sample_rate {} is not an audio rate",
                self.audio.sample_rate
            )));
        }
        if self.espeak.voice.trim().is_empty() {
            return Err(invalid("espeak.voice is empty".into()));
        }
        let inf = self.inference;
        for (name, v) in [
            ("noise_scale", inf.noise_scale),
            ("length_scale", inf.length_scale),
            ("noise_w", inf.noise_w),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(invalid(format!("inference.{name} = {v} is not a scale")));
            }
        }
        if inf.length_scale <= 0.0 {
            return Err(invalid("inference.length_scale must be above 0".into()));
        }
        if self.num_speakers == 0 {
            return Err(invalid("num_speakers is 0".into()));
        }
        let get = |sym: &str, what: &str| -> Result<Vec<i64>, PiperError> {
            match self.phoneme_id_map.get(sym) {
                Some(ids) if !ids.is_empty() => Ok(ids.clone()),
                _ => Err(invalid(format!(
                    "phoneme_id_map has no `{sym}` ({what}); it is not a Piper espeak voice map"
                ))),
            }
        };
        let pad = get(PAD, "the pad")?;
        let bos = get(BOS, "beginning of sentence")?;
        let eos = get(EOS, "end of sentence")?;
        if let Some(n) = self.num_symbols {
            let bad = self
                .phoneme_id_map
                .iter()
                .find(|(_, ids)| ids.iter().any(|&i| i < 0 || i as usize >= n));
            if let Some((sym, ids)) = bad {
                return Err(invalid(format!(
                    "phoneme_id_map[{sym:?}] = {ids:?} is outside num_symbols {n}"
                )));
            }
        }
        let hop_length = self.hop_length.unwrap_or(DEFAULT_HOP_LENGTH);
        if hop_length == 0 {
            return Err(invalid("hop_length is 0".into()));
        }
        let v = self.espeak.voice.to_ascii_lowercase();
        let language = if v.starts_with("en") {
            Some(Language::EnUs)
        } else if v.starts_with("cmn") || v.starts_with("zh") {
            Some(Language::ZhCn)
        } else {
            None
        };
        Ok(Settings {
            sample_rate: self.audio.sample_rate,
            espeak_voice: self.espeak.voice.clone(),
            language,
            scales: Scales {
                noise_scale: inf.noise_scale,
                length_scale: inf.length_scale,
                noise_w: inf.noise_w,
            },
            ids: self
                .phoneme_id_map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            pad,
            bos,
            eos,
            phoneme_map: self
                .phoneme_map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            vowel_clusters: self
                .vowel_clusters
                .iter()
                .filter(|c| c.len() > 1)
                .cloned()
                .collect(),
            num_speakers: self.num_speakers,
            hop_length,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
        "audio": {"sample_rate": 22050},
        "espeak": {"voice": "en-us"},
        "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], "a": [14]},
        "key": "trainer-specific"
    }"#;

    #[test]
    fn upstream_defaults_fill_what_the_file_leaves_out() {
        let c: PiperConfig = serde_json::from_str(MINIMAL).expect("parses");
        assert_eq!(c.inference, InferenceConfig::default());
        assert_eq!(c.num_speakers, 1);
        assert_eq!(c.phoneme_type, PhonemeType::Espeak);
        assert!(c.other.contains_key("key"));
        let s = c.validate(Path::new("m.json")).expect("valid");
        assert_eq!(
            (s.pad.clone(), s.bos.clone(), s.eos.clone()),
            (vec![0], vec![1], vec![2])
        );
        assert_eq!(s.hop_length, DEFAULT_HOP_LENGTH);
        assert_eq!(s.language, Some(Language::EnUs));
    }

    #[test]
    fn unusable_configs_say_why() {
        let mut c: PiperConfig = serde_json::from_str(MINIMAL).expect("parses");
        c.phoneme_id_map.remove("^");
        let e = c.validate(Path::new("m.json")).expect_err("no BOS");
        assert!(e.to_string().contains("`^`"), "{e}");
        let mut c: PiperConfig = serde_json::from_str(MINIMAL).expect("parses");
        c.phoneme_type = PhonemeType::Text;
        let e = c.validate(Path::new("m.json")).expect_err("text phonemes");
        assert!(e.to_string().contains("espeak"), "{e}");
    }
}
