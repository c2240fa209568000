//! How close the host sounds to the merchant: `anchor voice report NAME`.
//!
//! A fixed set of [`SENTENCES`] (10 Mandarin, 10 English) is synthesized twice: by the
//! built-in voice as it is ("before") and by the voice's own engine (built-in + timbre
//! matching, or its Piper model: "after"). Each rendition is compared with the enrolled voice:
//! GE2E speaker similarity (cosine to `voice.yaml`'s `speaker_embedding`), median-F0 error in
//! semitones and speaking-rate error in percent (against `voice.yaml`'s `profile`).

use std::path::Path;

use serde::Serialize;

use super::speaker::{SpeakerEncoder, cosine};
use super::timbre::analyze;
use super::voicefile::VoiceFile;
use super::{DefaultVoice, Emphasis, Language, SpeechChunk, Synthesizer, Utterance, VoiceError};

/// The fixed sentences of the report (not the ones the built-in profile is measured on).
pub const SENTENCES: [(&str, Language); 20] = [
    ("大家晚上好，欢迎来到今晚的直播间。", Language::ZhCn),
    ("这款羊毛围巾摸起来特别柔软，一点都不扎。", Language::ZhCn),
    ("今天下单的朋友，我们都会送一份小礼物。", Language::ZhCn),
    ("有什么问题可以在评论区留言，我马上回答。", Language::ZhCn),
    ("这个颜色在自然光下看起来更加温柔。", Language::ZhCn),
    ("库存不多了，喜欢的朋友抓紧时间。", Language::ZhCn),
    ("我们支持七天无理由退换，大家放心购买。", Language::ZhCn),
    ("这款面膜一盒有十片，每天晚上敷一片。", Language::ZhCn),
    ("点一下下方的小黄车，就能看到今天的优惠。", Language::ZhCn),
    ("谢谢大家的支持，明天晚上八点我们不见不散。", Language::ZhCn),
    (
        "Good evening everyone, and welcome to tonight's show.",
        Language::EnUs,
    ),
    (
        "This wool scarf feels incredibly soft on the skin.",
        Language::EnUs,
    ),
    (
        "Everyone who orders today gets a small gift from us.",
        Language::EnUs,
    ),
    (
        "Leave your questions in the chat and I will answer them.",
        Language::EnUs,
    ),
    (
        "The color looks even warmer in natural light.",
        Language::EnUs,
    ),
    (
        "We only have a few left, so grab yours while you can.",
        Language::EnUs,
    ),
    (
        "Returns are free for seven days, so shop with confidence.",
        Language::EnUs,
    ),
    (
        "Each box has ten masks, one for every evening.",
        Language::EnUs,
    ),
    (
        "Tap the cart below to see tonight's special price.",
        Language::EnUs,
    ),
    (
        "Thank you all, see you tomorrow night at eight.",
        Language::EnUs,
    ),
];

/// One sentence, before and after.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub text: String,
    pub language: Language,
    /// GE2E cosine to the enrolled voice.
    pub similarity_before: f32,
    pub similarity_after: f32,
    /// Median F0 (Hz).
    pub f0_before_hz: f32,
    pub f0_after_hz: f32,
    /// Speaking rate (syllables per second).
    pub rate_before: f32,
    pub rate_after: f32,
}

/// The whole report (also saved as `similarity.json` in the voice folder).
#[derive(Debug, Clone, Serialize)]
pub struct SimilarityReport {
    pub voice: String,
    pub engine: String,
    /// The enrolled voice's median F0 (Hz) and speaking rate.
    pub target_f0_hz: f32,
    pub target_rate: f32,
    pub rows: Vec<Row>,
    pub mean_similarity_before: f32,
    pub mean_similarity_after: f32,
    /// Mean absolute median-F0 error (semitones).
    pub f0_error_before_st: f32,
    pub f0_error_after_st: f32,
    /// Mean absolute speaking-rate error (percent).
    pub rate_error_before_pct: f32,
    pub rate_error_after_pct: f32,
}

fn semitones(a: f32, b: f32) -> f32 {
    if a > 0.0 && b > 0.0 {
        12.0 * (a / b).log2()
    } else {
        0.0
    }
}

fn mean(v: impl Iterator<Item = f32>) -> f32 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f32 }
}

/// Measures voice `file` (in `dir`) on [`SENTENCES`]. Needs the enrolled `profile` and
/// `speaker_embedding`.
pub fn similarity(
    file: &VoiceFile,
    dir: &Path,
    encoder: &SpeakerEncoder,
) -> Result<SimilarityReport, VoiceError> {
    let fail = |what: String| VoiceError::Voice(format!("{}: {what}", file.name));
    let Some(profile) = &file.profile else {
        return Err(fail(
            "voice.yaml has no profile: enroll the voice again".into(),
        ));
    };
    if file.speaker_embedding.is_empty() {
        return Err(fail(
            "voice.yaml has no speaker_embedding: enroll the voice again".into(),
        ));
    }
    let mut before = DefaultVoice::new()?;
    let mut after = super::engine::open_file(file, dir)?;
    let measure = |chunk: &SpeechChunk| -> Result<(f32, f32, f32), VoiceError> {
        let emb = encoder
            .embed_utterance(&chunk.pcm, chunk.sample_rate)
            .map_err(|e| fail(format!("speaker embedding: {e}")))?;
        let p = analyze(&[(&chunk.pcm, chunk.sample_rate)])
            .map_err(|e| fail(format!("analysis: {e}")))?;
        Ok((
            cosine(&emb, &file.speaker_embedding),
            p.f0_median_hz,
            p.speaking_rate,
        ))
    };
    let mut rows = Vec::with_capacity(SENTENCES.len());
    for (text, language) in SENTENCES {
        let u = Utterance {
            text: text.to_owned(),
            language,
            emphasis: Emphasis::Normal,
        };
        let (sb, fb, rb) = measure(&before.synthesize(&u)?)?;
        let (sa, fa, ra) = measure(&after.synthesize(&u)?)?;
        rows.push(Row {
            text: text.to_owned(),
            language,
            similarity_before: sb,
            similarity_after: sa,
            f0_before_hz: fb,
            f0_after_hz: fa,
            rate_before: rb,
            rate_after: ra,
        });
    }
    let f0_err = |f: f32| semitones(f, profile.f0_median_hz).abs();
    let rate_err = |r: f32| {
        if profile.speaking_rate > 0.0 {
            100.0 * (r / profile.speaking_rate - 1.0).abs()
        } else {
            0.0
        }
    };
    Ok(SimilarityReport {
        voice: file.name.clone(),
        engine: match &file.engine {
            super::voicefile::Engine::Builtin => "builtin + timbre matching".into(),
            super::voicefile::Engine::Piper { model, .. } => {
                format!("piper ({})", model.display())
            }
        },
        target_f0_hz: profile.f0_median_hz,
        target_rate: profile.speaking_rate,
        mean_similarity_before: mean(rows.iter().map(|r| r.similarity_before)),
        mean_similarity_after: mean(rows.iter().map(|r| r.similarity_after)),
        f0_error_before_st: mean(rows.iter().map(|r| f0_err(r.f0_before_hz))),
        f0_error_after_st: mean(rows.iter().map(|r| f0_err(r.f0_after_hz))),
        rate_error_before_pct: mean(rows.iter().map(|r| rate_err(r.rate_before))),
        rate_error_after_pct: mean(rows.iter().map(|r| rate_err(r.rate_after))),
        rows,
    })
}

impl std::fmt::Display for SimilarityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "voice {} ({}): target F0 {:.0} Hz, rate {:.1} syll/s",
            self.voice, self.engine, self.target_f0_hz, self.target_rate
        )?;
        writeln!(
            f,
            "{:<5} {:>9} {:>9} {:>8} {:>8} {:>7} {:>7}  sentence",
            "lang", "sim bef", "sim aft", "F0 bef", "F0 aft", "rate b", "rate a"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<5} {:>9.3} {:>9.3} {:>8.0} {:>8.0} {:>7.1} {:>7.1}  {}",
                r.language.tag(),
                r.similarity_before,
                r.similarity_after,
                r.f0_before_hz,
                r.f0_after_hz,
                r.rate_before,
                r.rate_after,
                r.text
            )?;
        }
        writeln!(
            f,
            "mean GE2E similarity: {:.3} before → {:.3} after",
            self.mean_similarity_before, self.mean_similarity_after
        )?;
        writeln!(
            f,
            "median-F0 error: {:.2} → {:.2} semitones; speaking-rate error: {:.1}% → {:.1}%",
            self.f0_error_before_st,
            self.f0_error_after_st,
            self.rate_error_before_pct,
            self.rate_error_after_pct
        )
    }
}
