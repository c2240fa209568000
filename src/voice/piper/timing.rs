//! Phoneme and word timings of one synthesized sentence: exact from the model's durations
//! when it gives them, otherwise derived from the audio (see the module doc of `piper`).

use std::ops::Range;

use super::ipa;
use super::phonemize::{PhoneKind, PhonemizedSentence};
use crate::voice::{PhonemeTiming, Viseme, WordTiming};

/// Energy frame for voicing detection, seconds.
const FRAME_S: f64 = 0.010;
/// A frame is voiced above this fraction of the loudest frame's RMS (about −30 dB).
const VOICED_REL: f32 = 0.03;
/// And above this absolute RMS.
const VOICED_ABS: f32 = 1e-4;
/// Shortest silence inside speech taken for a clause pause, seconds.
const MIN_PAUSE_S: f64 = 0.08;
/// Weight of a clause pause when no silence was found for it (vowel = 1).
const PAUSE_WEIGHT: f32 = 1.5;

/// Timings in samples at the model's rate, per phone of the sentence.
type Spans = Vec<Option<(f64, f64)>>;

/// Timings from the model's frames per id (`hop` samples each). If the frames do not add up
/// to the audio (another hop length), they are scaled to it.
pub(crate) fn from_durations(
    s: &PhonemizedSentence,
    frames_per_id: &[f32],
    hop: usize,
    audio_len: usize,
    rate: u32,
) -> (Vec<PhonemeTiming>, Vec<WordTiming>) {
    let samples: Vec<f64> = frames_per_id
        .iter()
        .map(|&f| f64::from(f.max(0.0)) * hop as f64)
        .collect();
    let total: f64 = samples.iter().sum();
    let scale = if total > 0.0 {
        audio_len as f64 / total
    } else {
        1.0
    };
    if (scale - 1.0).abs() > 0.02 {
        tracing::debug!(scale, "model durations scaled to the audio length");
    }
    let mut cum = Vec::with_capacity(samples.len() + 1);
    cum.push(0.0);
    for d in &samples {
        let last = cum.last().copied().unwrap_or(0.0);
        cum.push(last + d * scale);
    }
    let at = |i: usize| cum.get(i).copied().unwrap_or(audio_len as f64);
    let spans: Spans = s
        .id_spans
        .iter()
        .map(|r: &Range<usize>| (!r.is_empty()).then(|| (at(r.start), at(r.end))))
        .collect();
    build(s, &spans, audio_len, rate)
}

/// Timings derived from the audio: the voiced span, pauses in it matched to the clause
/// punctuation, phonemes in proportion to [`ipa::weight`] within each stretch.
pub(crate) fn derived(
    s: &PhonemizedSentence,
    audio: &[f32],
    rate: u32,
) -> (Vec<PhonemeTiming>, Vec<WordTiming>) {
    let frame = ((f64::from(rate) * FRAME_S) as usize).max(1);
    let rms: Vec<f32> = audio
        .chunks(frame)
        .map(|c| (c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32).sqrt())
        .collect();
    let peak = rms.iter().copied().fold(0.0f32, f32::max);
    let threshold = (peak * VOICED_REL).max(VOICED_ABS);
    let voiced: Vec<bool> = rms.iter().map(|&r| r > threshold).collect();
    let len = audio.len() as f64;
    let (vs, ve) = match (
        voiced.iter().position(|&v| v),
        voiced.iter().rposition(|&v| v),
    ) {
        (Some(a), Some(b)) => ((a * frame) as f64, (((b + 1) * frame) as f64).min(len)),
        _ => (0.0, len),
    };
    // Silences inside the voiced span: (start, end) in samples.
    let min_frames = ((MIN_PAUSE_S / FRAME_S).round() as usize).max(1);
    let mut gaps: Vec<(f64, f64)> = Vec::new();
    let first = (vs as usize) / frame;
    let last = ((ve as usize) / frame).min(voiced.len());
    let mut k = first;
    while k < last {
        if voiced[k] {
            k += 1;
            continue;
        }
        let start = k;
        while k < last && !voiced[k] {
            k += 1;
        }
        if k - start >= min_frames {
            gaps.push(((start * frame) as f64, (k * frame) as f64));
        }
    }
    // Clause pauses inside the sentence (punctuation with speech after it).
    let last_phoneme = s.phones.iter().rposition(|p| p.kind == PhoneKind::Phoneme);
    let inner_pauses: Vec<usize> = s
        .phones
        .iter()
        .enumerate()
        .filter(|(i, p)| p.kind == PhoneKind::Pause && last_phoneme.is_some_and(|l| *i < l))
        .map(|(i, _)| i)
        .collect();
    let end_of_speech = last_phoneme.map_or(0, |l| l + 1);
    let mut spans: Spans = vec![None; s.phones.len()];
    let weight_of = |i: usize, pause_weight: f32| -> f32 {
        let p = &s.phones[i];
        match p.kind {
            PhoneKind::Phoneme => ipa::weight(&p.symbol),
            PhoneKind::Pause => pause_weight,
            PhoneKind::WordBreak => 0.0,
        }
    };
    let spread = |idx: &[usize], from: f64, to: f64, pause_weight: f32, spans: &mut Spans| {
        let total: f32 = idx.iter().map(|&i| weight_of(i, pause_weight)).sum();
        if total <= 0.0 || to <= from {
            return;
        }
        let mut t = from;
        for &i in idx {
            let w = weight_of(i, pause_weight);
            if w <= 0.0 {
                continue;
            }
            let d = (to - from) * f64::from(w / total);
            spans[i] = Some((t, t + d));
            t += d;
        }
    };
    let n = inner_pauses.len();
    if n > 0 && gaps.len() >= n {
        // The n longest silences, in time order, are the n clause pauses.
        let mut chosen = gaps.clone();
        chosen.sort_by(|a, b| (b.1 - b.0).total_cmp(&(a.1 - a.0)));
        chosen.truncate(n);
        chosen.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut from_phone = 0usize;
        let mut from_t = vs;
        for (p, gap) in inner_pauses.iter().zip(&chosen) {
            let idx: Vec<usize> = (from_phone..*p).collect();
            spread(&idx, from_t, gap.0, 0.0, &mut spans);
            spans[*p] = Some(*gap);
            from_phone = p + 1;
            from_t = gap.1;
        }
        let idx: Vec<usize> = (from_phone..end_of_speech).collect();
        spread(&idx, from_t, ve, 0.0, &mut spans);
    } else {
        let idx: Vec<usize> = (0..end_of_speech).collect();
        spread(&idx, vs, ve, PAUSE_WEIGHT, &mut spans);
    }
    // Sentence-final punctuation: the silence after the speech.
    if let Some(i) = (end_of_speech..s.phones.len()).find(|&i| s.phones[i].kind == PhoneKind::Pause)
        && len > ve
    {
        spans[i] = Some((ve, len));
    }
    build(s, &spans, audio.len(), rate)
}

/// Phoneme timings (phonemes and pauses, in order, clamped into the audio) and word timings.
fn build(
    s: &PhonemizedSentence,
    spans: &Spans,
    audio_len: usize,
    rate: u32,
) -> (Vec<PhonemeTiming>, Vec<WordTiming>) {
    let secs = |x: f64| (x.clamp(0.0, audio_len as f64) / f64::from(rate)) as f32;
    let mut phonemes = Vec::new();
    let mut last_start = 0.0f32;
    for (phone, span) in s.phones.iter().zip(spans) {
        let Some((a, b)) = span else { continue };
        let (start, end) = (secs(*a).max(last_start), secs(*b));
        if end <= start {
            continue;
        }
        let (name, viseme, stressed) = match phone.kind {
            PhoneKind::Phoneme => (
                ipa::display(&phone.symbol),
                ipa::viseme_for(&phone.symbol),
                ipa::is_stressed(&phone.symbol),
            ),
            PhoneKind::Pause => (phone.symbol.clone(), Viseme::Sil, false),
            PhoneKind::WordBreak => continue,
        };
        last_start = start;
        phonemes.push(PhonemeTiming {
            phoneme: name,
            viseme,
            start,
            end,
            stressed,
        });
    }
    let mut words = Vec::new();
    for w in &s.words {
        let mut range: Option<(f64, f64)> = None;
        for i in w.phones.clone() {
            if s.phones.get(i).map(|p| p.kind) != Some(PhoneKind::Phoneme) {
                continue;
            }
            if let Some(Some((a, b))) = spans.get(i) {
                let r = range.get_or_insert((*a, *b));
                r.0 = r.0.min(*a);
                r.1 = r.1.max(*b);
            }
        }
        if let Some((a, b)) = range {
            let (start, end) = (secs(a), secs(b));
            if end > start {
                words.push(WordTiming {
                    text: w.text.clone(),
                    start,
                    end,
                });
            }
        }
    }
    (phonemes, words)
}
