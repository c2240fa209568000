//! [`builtin_profile`]: the built-in voice measured on fixed sentences, once per process.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::{TimbreError, analyze};
use crate::voice::voicefile::VoiceProfile;
use crate::voice::{DefaultVoice, Emphasis, Language, Synthesizer, Utterance};

/// The Mandarin sentences the built-in voice is measured on (live-commerce lines, normal
/// emphasis; 150 syllables).
pub const ZH_SENTENCES: &[&str] = &[
    "欢迎来到我们的直播间，今天给大家带来几款好物。",
    "这款保温杯采用双层不锈钢，保温十二个小时。",
    "家人们看一下这个颜色，真的非常显白。",
    "现在下单还送一个同款杯套，数量有限。",
    "我们的面膜补水效果特别好，敏感肌也可以用。",
    "有问题的朋友可以在评论区留言，我来一一回答。",
    "今天的价格是全年最低，错过就要等明年了。",
    "喜欢主播的可以点个关注，我们每天晚上八点开播。",
];

/// The English sentences the built-in voice is measured on (normal emphasis).
pub const EN_SENTENCES: &[&str] = &[
    "Welcome to the live room, today we have some great picks for you.",
    "This bottle keeps your coffee hot for twelve hours.",
    "Look at this color, it really brightens your face.",
    "Order now and you get a free matching sleeve while stocks last.",
    "The mask is gentle enough for sensitive skin.",
    "If you have a question, leave it in the comments and I will answer.",
    "This is the lowest price of the year, so do not miss it.",
    "Follow the channel, we go live every evening at eight.",
];

/// The built-in voice's own profile for a language, measured once on a fixed set of
/// sentences ([`ZH_SENTENCES`], [`EN_SENTENCES`]) synthesized by [`DefaultVoice`] (cached per
/// process: espeak-ng is deterministic).
///
/// Errors: [`TimbreError::Voice`] when synthesis fails.
pub fn builtin_profile(
    voice: &mut DefaultVoice,
    lang: Language,
) -> Result<VoiceProfile, TimbreError> {
    static CACHE: OnceLock<Mutex<HashMap<Language, VoiceProfile>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(p) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&lang)
    {
        return Ok(p.clone());
    }
    let sentences = match lang {
        Language::ZhCn => ZH_SENTENCES,
        Language::EnUs => EN_SENTENCES,
    };
    let mut chunks = Vec::with_capacity(sentences.len());
    for text in sentences {
        chunks.push(voice.synthesize(&Utterance {
            text: (*text).to_owned(),
            language: lang,
            emphasis: Emphasis::Normal,
        })?);
    }
    let clips: Vec<(&[f32], u32)> = chunks
        .iter()
        .map(|c| (c.pcm.as_slice(), c.sample_rate))
        .collect();
    let profile = analyze(&clips)?;
    tracing::info!(lang = lang.tag(), ?profile, "built-in voice measured");
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(lang, profile.clone());
    Ok(profile)
}
