//! Transcription of clips with whisper.cpp (whisper-rs) and a ggml model the user brings.

use std::path::Path;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::EnrollError;
use crate::voice::Language;

/// Whisper's input rate.
pub(crate) const RATE: u32 = 16_000;

/// A loaded model with its decoding state.
pub(crate) struct Transcriber {
    // Field order: the state is dropped before the context it came from.
    state: WhisperState,
    _ctx: WhisperContext,
    language: &'static str,
}

impl Transcriber {
    /// Loads `model` (whisper.cpp ggml). whisper.cpp's own log lines are silenced.
    pub(crate) fn load(model: &Path, language: Language) -> Result<Transcriber, EnrollError> {
        if !model.is_file() {
            return Err(EnrollError::WhisperModelMissing(model.to_path_buf()));
        }
        whisper_rs::install_logging_hooks();
        let err = |source| EnrollError::WhisperModel {
            path: model.to_path_buf(),
            source,
        };
        let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
            .map_err(err)?;
        let state = ctx.create_state().map_err(err)?;
        Ok(Transcriber {
            state,
            _ctx: ctx,
            language: match language {
                Language::ZhCn => "zh",
                Language::EnUs => "en",
            },
        })
    }

    /// The text of one clip (mono, 16 kHz), whitespace-trimmed; empty when nothing was heard.
    pub(crate) fn transcribe(&mut self, pcm16k: &[f32], clip: &str) -> Result<String, EnrollError> {
        let _span = tracing::debug_span!("transcribe", clip).entered();
        // whisper.cpp wants at least 1 s; clips are at least that, but pad to be safe.
        let mut padded;
        let input = if pcm16k.len() < RATE as usize + RATE as usize / 10 {
            padded = pcm16k.to_vec();
            padded.resize(RATE as usize + RATE as usize / 10, 0.0);
            &padded[..]
        } else {
            pcm16k
        };
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        params.set_n_threads(threads as i32);
        params.set_language(Some(self.language));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_single_segment(true);
        params.set_no_timestamps(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_nst(true);
        self.state
            .full(params, input)
            .map_err(|source| EnrollError::Transcribe {
                clip: clip.to_owned(),
                source,
            })?;
        let mut text = String::new();
        for seg in self.state.as_iter() {
            if let Ok(t) = seg.to_str_lossy() {
                text.push_str(&t);
            }
        }
        Ok(text.trim().to_owned())
    }
}
