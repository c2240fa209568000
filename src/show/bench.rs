//! Reload-to-effect latency, in media time: how long after an edit is accepted the first step of
//! the new script goes on air. Runs the director with the real voice (so sentence lengths are
//! real) and the same look-ahead as the show ([`super::AHEAD_CLIPS`] synthesized clips), without
//! rendering: media time advances by each clip's length.

use std::collections::VecDeque;

use super::director::{Director, ReloadKind};
use super::schedule::ShowClock;
use super::timeline::Item;
use crate::media::SAMPLE_RATE;
use crate::script::Script;
use crate::voice::{DefaultVoice, Synthesizer, Utterance, VoiceError};

/// One measured reload.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ReloadSample {
    pub kind: ReloadKind,
    /// Media time the edit was accepted.
    pub requested: f64,
    /// Media time its first step went on air.
    pub effective: f64,
}

impl ReloadSample {
    pub fn latency(&self) -> f64 {
        self.effective - self.requested
    }
}

/// Plays `script` (looping) for `seconds` of media time and, every `every` seconds, alternately
/// reloads `edit` and `script` (so each reload is a real change). Returns one sample per reload
/// that took effect.
pub fn reload_latency(
    script: &Script,
    edit: &Script,
    seconds: f64,
    every: f64,
) -> Result<Vec<ReloadSample>, VoiceError> {
    let mut voice = DefaultVoice::new()?;
    let director = Director::new(script.clone(), ShowClock::now(), true);
    let mut queue: VecDeque<(u64, u64, f64)> = VecDeque::new(); // seq, epoch, secs
    let mut t = 0.0;
    let mut next_edit = every;
    let mut flip = false;
    let mut waiting: Option<(ReloadKind, f64)> = None;
    let mut samples = Vec::new();
    while t < seconds {
        while queue.len() < super::AHEAD_CLIPS {
            let Some(p) = director.next() else { break };
            let secs = media_secs(&mut voice, &director, &p.item)?;
            queue.push_back((p.seq, p.epoch, secs));
        }
        let Some((seq, epoch, secs)) = queue.pop_front() else {
            break;
        };
        if epoch < director.epoch() {
            continue;
        }
        if director.started(seq, t).reload_applied.is_some()
            && let Some((kind, requested)) = waiting.take()
        {
            samples.push(ReloadSample {
                kind,
                requested,
                effective: t,
            });
        }
        // The edit lands in the middle of what is on air.
        let mid = t + secs / 2.0;
        if mid >= next_edit && waiting.is_none() {
            flip = !flip;
            let next = if flip { edit } else { script };
            waiting = Some((director.reload(next.clone()), mid));
            next_edit = mid + every;
        }
        t += secs;
    }
    Ok(samples)
}

/// How long `item` lasts on air: speech is synthesized with the real voice (in the language of
/// the director's script), silence is its length, marks take no time.
pub fn media_secs(
    voice: &mut DefaultVoice,
    director: &Director,
    item: &Item,
) -> Result<f64, VoiceError> {
    Ok(match item {
        Item::Speak { text, emphasis, .. } => {
            let chunk = voice.synthesize(&Utterance {
                text: text.clone(),
                language: director.script().show.language,
                emphasis: *emphasis,
            })?;
            chunk.pcm.len() as f64 / f64::from(SAMPLE_RATE)
        }
        Item::Silence(d) => d.as_secs_f64(),
        Item::Mark(_) => 0.0,
    })
}
