//! [`PiperVoice`]: a Piper model and its config, speaking sentence by sentence.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::config::{PiperConfig, Settings};
use super::model::PiperModel;
use super::phonemize::{self, PhonemizedSentence};
use super::{PiperError, timing};
use crate::voice::voicefile::Engine;
use crate::voice::{
    Emphasis, Language, SpeechChunk, Synthesizer, Utterance, VoiceError, resample::resample,
};

/// Silence [`Synthesizer::synthesize`] puts between sentences, seconds (Piper's default
/// `sentence_silence`).
pub const SENTENCE_SILENCE_S: f32 = 0.2;
/// `length_scale` factor for [`Emphasis::Strong`] (faster, like the default voice's +12 % rate).
pub const STRONG_LENGTH_FACTOR: f32 = 0.9;
/// Peak level of a sentence after normalization (Piper normalizes each sentence to full scale;
/// anchor leaves headroom, more for normal delivery than for strong).
const NORMAL_PEAK: f32 = 0.8;
const STRONG_PEAK: f32 = 0.95;
/// Below this peak the model output is taken as silence and not amplified.
const SILENCE_PEAK: f32 = 1e-4;

/// Where a voice's phoneme timings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimingSource {
    /// The model's own per-phoneme durations (a second output): exact.
    ModelDurations,
    /// Derived from the audio's voiced span and phoneme weights: an estimate.
    Derived,
}

/// Progress counters, shared (see [`PiperVoice::counters`]) so a caller can watch a stream.
#[derive(Debug, Default)]
pub struct PiperCounters {
    /// Sentences phonemized since the voice was loaded.
    pub sentences_phonemized: AtomicUsize,
    /// Sentences run through the model since the voice was loaded.
    pub sentences_synthesized: AtomicUsize,
}

/// A Piper voice: `model.onnx` + `model.onnx.json`, ready to speak.
///
/// Audio comes at [`crate::media::SAMPLE_RATE`]; timings are seconds from the start of each
/// chunk. Inference runs on the calling thread (call it off the async workers).
pub struct PiperVoice {
    config: PiperConfig,
    settings: Settings,
    model: PiperModel,
    model_path: PathBuf,
    speaker: Option<i64>,
    counters: Arc<PiperCounters>,
}

impl std::fmt::Debug for PiperVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperVoice")
            .field("model", &self.model_path)
            .field("espeak_voice", &self.settings.espeak_voice)
            .field("sample_rate", &self.settings.sample_rate)
            .field("speaker", &self.speaker)
            .finish()
    }
}

impl PiperVoice {
    /// Loads `model` with its config (`config`, else `<model>.json` beside it, as Piper looks
    /// for it) and checks both: the config parses and has Piper's symbols, the model has
    /// Piper's inputs, `speaker` exists, espeak-ng has the voices the phonemizer needs.
    ///
    /// `speaker`: id for a multi-speaker model (`None` = speaker 0, as Piper); an error for a
    /// single-speaker model.
    pub fn load(
        model: &Path,
        config: Option<&Path>,
        speaker: Option<i64>,
    ) -> Result<PiperVoice, PiperError> {
        if !model.is_file() {
            return Err(PiperError::ModelMissing(model.to_path_buf()));
        }
        let config_path = match config {
            Some(c) => c.to_path_buf(),
            None => {
                let mut p = model.as_os_str().to_owned();
                p.push(".json");
                PathBuf::from(p)
            }
        };
        if !config_path.is_file() {
            return Err(PiperError::ConfigMissing {
                path: config_path,
                model: model.to_path_buf(),
            });
        }
        let cfg = PiperConfig::load(&config_path)?;
        let settings = cfg.validate(&config_path)?;
        let speaker_err = |requested: i64, reason: String| PiperError::Speaker {
            path: config_path.clone(),
            requested,
            reason,
        };
        match speaker {
            Some(id) if settings.num_speakers <= 1 => {
                return Err(speaker_err(
                    id,
                    "the voice has one speaker; remove `speaker` from voice.yaml".into(),
                ));
            }
            Some(id) if id < 0 || id as usize >= settings.num_speakers => {
                return Err(speaker_err(
                    id,
                    format!(
                        "the voice has {} speakers (0 to {})",
                        settings.num_speakers,
                        settings.num_speakers - 1
                    ),
                ));
            }
            _ => {}
        }
        let model_box = PiperModel::load(model)?;
        let sig = |reason: &str| PiperError::Signature {
            path: model.to_path_buf(),
            reason: reason.to_string(),
        };
        if settings.num_speakers > 1 && !model_box.has_sid() {
            return Err(sig(
                "its config says several speakers but the model has no `sid` input",
            ));
        }
        if settings.num_speakers <= 1 && model_box.has_sid() {
            return Err(sig(
                "the model has a `sid` input but its config says num_speakers 1",
            ));
        }
        // Start the espeak-ng worker now and check the voices the phonemizer will use.
        let en = phonemize::english_voice(&settings);
        crate::voice::espeak::text_to_ipa(vec![crate::voice::espeak::IpaItem {
            voice: en,
            text: "a".into(),
        }])?;
        crate::voice::zh::warm_up();
        if settings.language.is_none() {
            tracing::warn!(
                voice = %settings.espeak_voice,
                "Piper voice language is neither English nor Mandarin; anchor phonemizes zh-CN and en-US text only"
            );
        }
        Ok(PiperVoice {
            config: cfg,
            settings,
            model: model_box,
            model_path: model.to_path_buf(),
            speaker,
            counters: Arc::new(PiperCounters::default()),
        })
    }

    /// The voice a voice folder's `voice.yaml` names: `Some` for `engine: { kind: piper }`
    /// (paths relative to `voice_dir`), `None` for the built-in engine.
    pub fn from_engine(
        voice_dir: &Path,
        engine: &Engine,
    ) -> Result<Option<PiperVoice>, PiperError> {
        match engine {
            Engine::Builtin => Ok(None),
            Engine::Piper {
                model,
                config,
                speaker,
            } => {
                let model = voice_dir.join(model);
                let config = config.as_ref().map(|c| voice_dir.join(c));
                PiperVoice::load(&model, config.as_deref(), *speaker).map(Some)
            }
        }
    }

    /// The config as loaded.
    pub fn config(&self) -> &PiperConfig {
        &self.config
    }

    /// The model's own output rate (before resampling to 48 kHz).
    pub fn model_sample_rate(&self) -> u32 {
        self.settings.sample_rate
    }

    /// Where phoneme timings come from with this model.
    pub fn timing_source(&self) -> TimingSource {
        if self.model.has_durations() {
            TimingSource::ModelDurations
        } else {
            TimingSource::Derived
        }
    }

    /// Progress counters, shared: read them from a stream callback.
    pub fn counters(&self) -> Arc<PiperCounters> {
        Arc::clone(&self.counters)
    }

    /// The model's `scales` for an utterance: the config's, with `length_scale` shortened for
    /// strong delivery.
    pub fn scales_for(&self, emphasis: Emphasis) -> [f32; 3] {
        let mut s = self.settings.scales;
        if emphasis == Emphasis::Strong {
            s.length_scale *= STRONG_LENGTH_FACTOR;
        }
        s.to_array()
    }

    /// Phonemizes a whole utterance without synthesizing (for checks and dry runs).
    pub fn phonemize(&self, u: &Utterance) -> Result<Vec<PhonemizedSentence>, PiperError> {
        phonemize::sentences(&u.text, u.language)
            .iter()
            .map(|s| phonemize::phonemize(s, u.language, &self.settings))
            .collect()
    }

    /// Synthesizes one phonemized sentence: audio at 48 kHz with its timings.
    pub fn synthesize_sentence(
        &mut self,
        sentence: &PhonemizedSentence,
        emphasis: Emphasis,
    ) -> Result<SpeechChunk, PiperError> {
        let out_rate = crate::media::SAMPLE_RATE;
        if sentence.phones.is_empty() {
            return Ok(SpeechChunk {
                pcm: Vec::new(),
                sample_rate: out_rate,
                phonemes: Vec::new(),
                words: Vec::new(),
            });
        }
        let span = tracing::debug_span!("piper_sentence", chars = sentence.text.chars().count());
        let _enter = span.enter();
        let started = Instant::now();
        let sid = if self.model.has_sid() {
            Some(self.speaker.unwrap_or(0))
        } else {
            None
        };
        let inference = self
            .model
            .infer(&sentence.ids, self.scales_for(emphasis), sid)?;
        self.counters
            .sentences_synthesized
            .fetch_add(1, Ordering::SeqCst);
        let rate = self.settings.sample_rate;
        let (phonemes, words) = match &inference.frames_per_id {
            Some(frames) => timing::from_durations(
                sentence,
                frames,
                self.settings.hop_length,
                inference.audio.len(),
                rate,
            ),
            None => timing::derived(sentence, &inference.audio, rate),
        };
        let mut pcm = to_output_rate(&inference.audio, rate, out_rate)
            .map_err(|e| PiperError::Inference(e.to_string()))?;
        let peak = pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        if peak > SILENCE_PEAK {
            let target = match emphasis {
                Emphasis::Normal => NORMAL_PEAK,
                Emphasis::Strong => STRONG_PEAK,
            };
            let g = target / peak;
            pcm.iter_mut().for_each(|s| *s *= g);
        }
        let chunk = SpeechChunk {
            pcm,
            sample_rate: out_rate,
            phonemes,
            words,
        };
        tracing::debug!(
            audio_s = chunk.duration_secs(),
            wall_s = started.elapsed().as_secs_f64(),
            ids = sentence.ids.len(),
            "piper sentence synthesized"
        );
        Ok(chunk)
    }

    /// Speaks `u` sentence by sentence: each sentence is phonemized, synthesized and handed to
    /// `on_sentence` before the next one is phonemized, so the first audio is ready after one
    /// sentence's work. Chunks carry no silence between sentences (see
    /// [`SENTENCE_SILENCE_S`]). Sentences that produce no audio (punctuation only) are skipped.
    pub fn synthesize_stream(
        &mut self,
        u: &Utterance,
        on_sentence: &mut dyn FnMut(SpeechChunk),
    ) -> Result<(), VoiceError> {
        let span = tracing::debug_span!(
            "piper_synthesize",
            lang = u.language.tag(),
            chars = u.text.chars().count()
        );
        let _enter = span.enter();
        if self.settings.language.is_some_and(|l| l != u.language) {
            tracing::debug!(
                voice = %self.settings.espeak_voice,
                text_language = u.language.tag(),
                "text language differs from the voice's; phonemes the voice lacks are dropped"
            );
        }
        for sentence in phonemize::sentences(&u.text, u.language) {
            let p = phonemize::phonemize(&sentence, u.language, &self.settings)?;
            self.counters
                .sentences_phonemized
                .fetch_add(1, Ordering::SeqCst);
            let chunk = self.synthesize_sentence(&p, u.emphasis)?;
            if !chunk.pcm.is_empty() {
                on_sentence(chunk);
            }
        }
        Ok(())
    }

    /// The language the voice was trained on, when anchor knows it.
    pub fn language(&self) -> Option<Language> {
        self.settings.language
    }
}

/// Resamples to the output rate.
fn to_output_rate(audio: &[f32], from: u32, to: u32) -> Result<Vec<f32>, VoiceError> {
    Ok(resample(audio, from, to)?)
}

/// Joins sentence chunks with [`SENTENCE_SILENCE_S`] between them, shifting their timings.
fn join(chunks: Vec<SpeechChunk>) -> SpeechChunk {
    let rate = crate::media::SAMPLE_RATE;
    let gap = (SENTENCE_SILENCE_S * rate as f32) as usize;
    let mut out = SpeechChunk {
        pcm: Vec::new(),
        sample_rate: rate,
        phonemes: Vec::new(),
        words: Vec::new(),
    };
    for (i, c) in chunks.into_iter().enumerate() {
        if i > 0 {
            out.pcm.extend(std::iter::repeat_n(0.0f32, gap));
        }
        let offset = out.pcm.len() as f32 / rate as f32;
        out.pcm.extend_from_slice(&c.pcm);
        out.phonemes.extend(c.phonemes.into_iter().map(|mut p| {
            p.start += offset;
            p.end += offset;
            p
        }));
        out.words.extend(c.words.into_iter().map(|mut w| {
            w.start += offset;
            w.end += offset;
            w
        }));
    }
    out
}

impl Synthesizer for PiperVoice {
    /// The whole utterance as one chunk: the streamed sentences joined with
    /// [`SENTENCE_SILENCE_S`] of silence.
    fn synthesize(&mut self, utterance: &Utterance) -> Result<SpeechChunk, VoiceError> {
        let mut chunks = Vec::new();
        self.synthesize_stream(utterance, &mut |c| chunks.push(c))?;
        Ok(join(chunks))
    }
}
