//! Text → [`PhonemizedSentence`]: espeak-ng IPA the way Piper builds it, plus which phonemes
//! belong to which written word (for word timings).

use std::ops::Range;

use super::PiperError;
use super::config::Settings;
use super::ipa;
use crate::voice::espeak::{self, EN_VOICE, IpaClause, IpaItem, ZH_VOICE};
use crate::voice::zh::{self, ZhToken};
use crate::voice::{Language, split_sentences};

/// What a [`Phone`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PhoneKind {
    /// A speech sound (IPA, marks attached).
    Phoneme,
    /// The space between words (Piper's ` ` symbol).
    WordBreak,
    /// Clause punctuation kept as a symbol (`,` `.` `?` `!` `:` `;`).
    Pause,
}

/// One entry of a sentence's phoneme sequence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Phone {
    /// IPA as espeak-ng writes it (`ˈoʊ`, `tɕ`, `ˈiɜ`), ` `, or the punctuation.
    pub symbol: String,
    pub kind: PhoneKind,
}

/// A written word and the phones it was read as.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WordSpan {
    /// As written (English word trimmed of punctuation; Mandarin dictionary word).
    pub text: String,
    /// Indices into [`PhonemizedSentence::phones`].
    pub phones: Range<usize>,
}

/// One sentence ready for the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PhonemizedSentence {
    /// The sentence as split from the utterance.
    pub text: String,
    pub phones: Vec<Phone>,
    pub words: Vec<WordSpan>,
    /// The model's `input`: `^`, then each symbol's ids followed by the pad, then `$`.
    pub ids: Vec<i64>,
    /// For each phone, the range of [`Self::ids`] it produced (its ids and the pads after
    /// them; empty for symbols the map lacks).
    pub id_spans: Vec<Range<usize>>,
    /// Symbols not in `phoneme_id_map`, dropped (Piper drops them too). Empty for a voice
    /// trained on the same espeak-ng phoneme set.
    pub missing: Vec<String>,
}

/// One espeak-ng request of a sentence: a stretch of text in one voice and its written words.
#[derive(Debug)]
struct Segment {
    voice: String,
    text: String,
    /// (as written, as sent to espeak-ng alone).
    words: Vec<(String, String)>,
}

/// Splits an utterance's text into sentences (phonemized one at a time by [`phonemize`]).
pub(crate) fn sentences(text: &str, language: Language) -> Vec<String> {
    split_sentences(text, language)
}

/// The espeak-ng voice for English text with this Piper voice: its own voice when it is an
/// English one (`en-gb-x-rp`), else `en-us`.
pub(crate) fn english_voice(settings: &Settings) -> String {
    if settings.language == Some(Language::EnUs) {
        settings.espeak_voice.clone()
    } else {
        EN_VOICE.to_string()
    }
}

/// Phonemizes one sentence (one round trip to the espeak-ng worker).
pub(crate) fn phonemize(
    sentence: &str,
    language: Language,
    settings: &Settings,
) -> Result<PhonemizedSentence, PiperError> {
    let segments = match language {
        Language::EnUs => english_segments(sentence, &english_voice(settings)),
        Language::ZhCn => mandarin_segments(sentence),
    };
    // One item for each segment's text, then one per written word (to count how many phonemes
    // each word is, for word timings when espeak-ng joins or splits words).
    let mut items = Vec::new();
    for seg in &segments {
        items.push(IpaItem {
            voice: seg.voice.clone(),
            text: seg.text.clone(),
        });
        for (_, spoken) in &seg.words {
            items.push(IpaItem {
                voice: seg.voice.clone(),
                text: spoken.clone(),
            });
        }
    }
    let mut results = espeak::text_to_ipa(items)?.into_iter();
    let mut phones: Vec<Phone> = Vec::new();
    let mut words: Vec<WordSpan> = Vec::new();
    for seg in &segments {
        let clauses = results.next().unwrap_or_default();
        let counts: Vec<usize> = seg
            .words
            .iter()
            .map(|_| {
                results
                    .next()
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|c| &c.words)
                    .map(Vec::len)
                    .sum()
            })
            .collect();
        if !phones.is_empty()
            && phones
                .last()
                .is_some_and(|p| p.kind != PhoneKind::WordBreak)
        {
            phones.push(word_break());
        }
        let seg_phonemes = push_clauses(&mut phones, &clauses);
        words.extend(word_spans(&seg.words, &counts, &seg_phonemes));
    }
    let (ids, id_spans, missing) = to_ids(&phones, settings);
    if !missing.is_empty() {
        tracing::warn!(
            sentence,
            ?missing,
            "phonemes missing from the voice's phoneme_id_map were dropped"
        );
    }
    Ok(PhonemizedSentence {
        text: sentence.to_string(),
        phones,
        words,
        ids,
        id_spans,
        missing,
    })
}

fn word_break() -> Phone {
    Phone {
        symbol: " ".into(),
        kind: PhoneKind::WordBreak,
    }
}

/// Appends the clauses' phones; returns the indices of the phoneme phones added.
fn push_clauses(phones: &mut Vec<Phone>, clauses: &[IpaClause]) -> Vec<usize> {
    let mut added = Vec::new();
    for (ci, clause) in clauses.iter().enumerate() {
        for (wi, word) in clause.words.iter().enumerate() {
            if wi > 0 {
                phones.push(word_break());
            }
            for ph in word {
                added.push(phones.len());
                phones.push(Phone {
                    symbol: ph.clone(),
                    kind: PhoneKind::Phoneme,
                });
            }
        }
        match terminator(&clause.text) {
            Some(p) => {
                phones.push(Phone {
                    symbol: p.to_string(),
                    kind: PhoneKind::Pause,
                });
                // Piper: a space after a clause that does not end the sentence.
                if matches!(p, ',' | ':' | ';') {
                    phones.push(word_break());
                }
            }
            // A clause espeak-ng ended without punctuation (a line break): keep the words
            // apart. (Piper would glue them; that is a Piper bug, not a training condition.)
            None if ci + 1 < clauses.len() && !clause.words.is_empty() => phones.push(word_break()),
            None => {}
        }
    }
    added
}

/// The punctuation a clause ends with, as Piper writes it, read from the text espeak-ng
/// consumed for it (closing quotes and brackets skipped).
fn terminator(text: &str) -> Option<char> {
    let last = text
        .trim_end()
        .trim_end_matches(['"', '\'', '”', '’', ')', '）', '」', '』', '】', ']'])
        .trim_end()
        .chars()
        .last()?;
    match last {
        '.' | '。' | '…' => Some('.'),
        '?' | '？' => Some('?'),
        '!' | '！' => Some('!'),
        ',' | '，' | '、' => Some(','),
        ':' | '：' => Some(':'),
        ';' | '；' => Some(';'),
        _ => None,
    }
}

/// Assigns each written word its phones: word k gets the segment's phonemes from its share of
/// the cumulative per-word phoneme counts (exact when the counts add up to the segment's
/// phonemes; scaled when espeak-ng joined or changed words in context).
fn word_spans(
    words: &[(String, String)],
    counts: &[usize],
    seg_phonemes: &[usize],
) -> Vec<WordSpan> {
    let total: usize = counts.iter().sum();
    let p = seg_phonemes.len();
    if total == 0 || p == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cum = 0usize;
    for ((text, _), &c) in words.iter().zip(counts) {
        let from = (cum * p + total / 2) / total;
        cum += c;
        let to = (cum * p + total / 2) / total;
        if to > from {
            let first = seg_phonemes[from];
            let last = seg_phonemes[to - 1];
            out.push(WordSpan {
                text: text.clone(),
                phones: first..last + 1,
            });
        }
    }
    out
}

/// Phones → model ids, Piper's way: `^ _ (ids _)* $`.
fn to_ids(phones: &[Phone], s: &Settings) -> (Vec<i64>, Vec<Range<usize>>, Vec<String>) {
    let mut ids: Vec<i64> = s.bos.clone();
    ids.extend(&s.pad);
    let mut spans = Vec::with_capacity(phones.len());
    let mut missing: Vec<String> = Vec::new();
    for phone in phones {
        let start = ids.len();
        for key in symbol_keys(&phone.symbol, s) {
            match s.ids.get(&key) {
                Some(v) => {
                    ids.extend(v);
                    ids.extend(&s.pad);
                }
                None => {
                    if !missing.contains(&key) {
                        missing.push(key);
                    }
                }
            }
        }
        spans.push(start..ids.len());
    }
    ids.extend(&s.eos);
    (ids, spans, missing)
}

/// The id-map keys of one phone: its code points (NFD-decomposed), through `phoneme_map`,
/// with `vowel_clusters` merged.
fn symbol_keys(symbol: &str, s: &Settings) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for c in symbol.chars() {
        match ipa::decompose(c) {
            Some(d) => keys.extend(d.chars().map(String::from)),
            None => keys.push(c.to_string()),
        }
    }
    if !s.phoneme_map.is_empty() {
        keys = keys
            .into_iter()
            .flat_map(|k| s.phoneme_map.get(&k).cloned().unwrap_or_else(|| vec![k]))
            .collect();
    }
    if s.vowel_clusters.is_empty() {
        return keys;
    }
    let mut merged = Vec::with_capacity(keys.len());
    let mut i = 0;
    while i < keys.len() {
        let hit = s
            .vowel_clusters
            .iter()
            .filter(|c| keys.len() - i >= c.len() && keys[i..i + c.len()] == c[..])
            .max_by_key(|c| c.len());
        match hit {
            Some(c) => {
                merged.push(c.concat());
                i += c.len();
            }
            None => {
                merged.push(keys[i].clone());
                i += 1;
            }
        }
    }
    merged
}

/// English: the sentence as one espeak-ng text; written words are its whitespace tokens
/// holding a letter or digit.
fn english_segments(sentence: &str, voice: &str) -> Vec<Segment> {
    let text = sentence.split_whitespace().collect::<Vec<_>>().join(" ");
    let words = text
        .split(' ')
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(|t| (display_word(t), t.to_string()))
        .collect();
    vec![Segment {
        voice: voice.to_string(),
        text,
        words,
    }]
}

/// A token as a word timing shows it: without surrounding punctuation.
fn display_word(token: &str) -> String {
    token
        .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
        .to_string()
}

/// Mandarin: our front end's words as tone-numbered pinyin, one espeak-ng word per dictionary
/// word (`jin1tian1`: espeak-ng stresses its last syllable, as its `cmn` voice does for a
/// dictionary word); pauses as `,` / `.`; Latin runs as separate `en-us` segments. The
/// sentence's closing mark (dropped by the front end) is put back so the clause ends as in
/// Piper.
fn mandarin_segments(sentence: &str) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut cur = Segment {
        voice: ZH_VOICE.to_string(),
        text: String::new(),
        words: Vec::new(),
    };
    let flush = |cur: &mut Segment, segments: &mut Vec<Segment>| {
        if !cur.words.is_empty() {
            segments.push(std::mem::replace(
                cur,
                Segment {
                    voice: ZH_VOICE.to_string(),
                    text: String::new(),
                    words: Vec::new(),
                },
            ));
        } else {
            cur.text.clear();
        }
    };
    for tok in zh::analyze(sentence) {
        match tok {
            ZhToken::Word { text, syllables } => {
                let spoken = syllables.concat();
                if !cur.text.is_empty() {
                    cur.text.push(' ');
                }
                cur.text.push_str(&spoken);
                cur.words.push((text, spoken));
            }
            ZhToken::Pause { long } => {
                if !cur.words.is_empty() {
                    cur.text.push_str(if long { " ." } else { " ," });
                }
            }
            ZhToken::Latin(latin) => {
                flush(&mut cur, &mut segments);
                let spoken = espeak::spell_acronyms(&latin);
                segments.push(Segment {
                    voice: EN_VOICE.to_string(),
                    words: latin
                        .split_whitespace()
                        .map(|w| (w.to_string(), espeak::spell_acronyms(w)))
                        .collect(),
                    text: spoken,
                });
            }
        }
    }
    flush(&mut cur, &mut segments);
    let mark = sentence
        .trim_end()
        .trim_end_matches(['"', '”', '’', '）', ')', '」', '』', '】'])
        .chars()
        .last()
        .and_then(|c| match c {
            '。' | '.' | '…' => Some(" ."),
            '！' | '!' => Some(" !"),
            '？' | '?' => Some(" ?"),
            _ => None,
        });
    if let (Some(m), Some(last)) = (mark, segments.last_mut()) {
        last.text.push_str(m);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clause_punctuation_is_read_from_the_consumed_text() {
        assert_eq!(terminator("Hello everyone, "), Some(','));
        assert_eq!(terminator("He said \"hi!\" "), Some('!'));
        assert_eq!(terminator("jin1tian1 ."), Some('.'));
        assert_eq!(terminator("Really？"), Some('?'));
        assert_eq!(terminator("no end"), None);
    }

    #[test]
    fn words_take_their_share_of_phonemes() {
        let words: Vec<(String, String)> = ["in", "the", "house"]
            .iter()
            .map(|w| (w.to_string(), w.to_string()))
            .collect();
        // "ɪnðə hˈaʊs": 4 + 3 phonemes at phone indices 0..4 and 5..8 (4 is the space).
        let seg = [0, 1, 2, 3, 5, 6, 7];
        let spans = word_spans(&words, &[2, 2, 3], &seg);
        let r: Vec<Range<usize>> = spans.iter().map(|w| w.phones.clone()).collect();
        assert_eq!(r, vec![0..2, 2..4, 5..8]);
    }

    #[test]
    fn mandarin_words_become_pinyin_words_and_latin_goes_to_english() {
        let segs = mandarin_segments("这款iPhone手机VIP专享！");
        let voices: Vec<&str> = segs.iter().map(|s| s.voice.as_str()).collect();
        assert_eq!(
            voices,
            vec![ZH_VOICE, EN_VOICE, ZH_VOICE, EN_VOICE, ZH_VOICE]
        );
        assert!(segs[3].text.contains("V I P"), "{segs:?}");
        assert!(segs[4].text.ends_with(" !"), "{segs:?}");
        assert!(
            !segs[0].text.contains(' ') || segs[0].words.len() > 1,
            "{segs:?}"
        );
    }
}
