//! Our Mandarin front end: text → normalized text → words (jieba) → tone-numbered pinyin
//! with polyphones, neutral tones and sandhi, plus pauses and embedded Latin runs.
//!
//! The output ([`ZhToken`]s) is what the espeak-ng engine speaks: pinyin syllables go to the
//! `cmn-latn-pinyin` voice, Latin runs to `en-us`.

pub mod normalize;
pub mod pinyin;

use crate::words::jieba;

pub use normalize::normalize;

/// One unit of a Mandarin utterance after the front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZhToken {
    /// A segmented Chinese word and its syllables (tone-numbered pinyin, one per character
    /// that has a reading).
    Word {
        text: String,
        syllables: Vec<String>,
    },
    /// Latin letters/words embedded in Chinese text (`iPhone`, `VIP`), spoken in English.
    Latin(String),
    /// A pause from punctuation: `short` for ，、；：, long for 。！？….
    Pause { long: bool },
}

/// Loads the segmentation dictionary now rather than on the first utterance.
pub fn warm_up() {
    let _ = jieba();
}

fn is_han(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

fn pause_of(c: char) -> Option<bool> {
    match c {
        '，' | '、' | '；' | '：' | ',' | ';' | ':' | '—' | '-' | '（' | '）' | '(' | ')' => {
            Some(false)
        }
        '。' | '！' | '？' | '!' | '?' | '…' | '.' | '\n' => Some(true),
        _ => None,
    }
}

/// Runs the whole front end on one utterance of Mandarin text.
pub fn analyze(text: &str) -> Vec<ZhToken> {
    let norm = normalize(text);
    // Phrases: runs of Han words between pauses / Latin, so sandhi never crosses a pause.
    let mut tokens: Vec<ZhToken> = Vec::new();
    let mut phrase: Vec<&str> = Vec::new();
    let mut latin = String::new();
    let flush_phrase = |phrase: &mut Vec<&str>, tokens: &mut Vec<ZhToken>| {
        if phrase.is_empty() {
            return;
        }
        let mut sylls: Vec<Vec<(char, String)>> = (0..phrase.len())
            .map(|i| {
                pinyin::word_pinyin(
                    phrase[i],
                    i.checked_sub(1).map(|p| phrase[p]),
                    phrase.get(i + 1).copied(),
                )
            })
            .collect();
        pinyin::sandhi(&mut sylls);
        for (w, s) in phrase.iter().zip(sylls) {
            if s.is_empty() {
                tracing::debug!(word = %w, "no pinyin for word; skipped");
                continue;
            }
            tokens.push(ZhToken::Word {
                text: (*w).to_string(),
                syllables: s.into_iter().map(|(_, p)| p).collect(),
            });
        }
        phrase.clear();
    };
    let flush_latin = |latin: &mut String, tokens: &mut Vec<ZhToken>| {
        let t = latin.trim();
        if !t.is_empty() {
            tokens.push(ZhToken::Latin(t.to_string()));
        }
        latin.clear();
    };
    for piece in jieba().cut(&norm, true) {
        if piece.chars().any(is_han) {
            flush_latin(&mut latin, &mut tokens);
            // Keep only Han characters of mixed pieces (jieba keeps Han runs apart anyway).
            if piece.chars().all(is_han) {
                phrase.push(piece);
            } else {
                flush_phrase(&mut phrase, &mut tokens);
                tracing::debug!(piece, "mixed piece; Han characters read alone");
                let own: Vec<char> = piece.chars().filter(|c| is_han(*c)).collect();
                for c in own {
                    let py = pinyin::default_pinyin(c);
                    if !py.is_empty() {
                        tokens.push(ZhToken::Word {
                            text: c.to_string(),
                            syllables: vec![py],
                        });
                    }
                }
            }
        } else if piece.chars().any(|c| c.is_ascii_alphanumeric()) {
            flush_phrase(&mut phrase, &mut tokens);
            if !latin.is_empty() {
                latin.push(' ');
            }
            latin.push_str(piece.trim());
        } else if let Some(long) = piece.chars().filter_map(pause_of).reduce(|a, b| a || b) {
            flush_phrase(&mut phrase, &mut tokens);
            flush_latin(&mut latin, &mut tokens);
            // Merge consecutive pauses into the longest.
            if let Some(ZhToken::Pause { long: prev }) = tokens.last_mut() {
                *prev = *prev || long;
            } else if !tokens.is_empty() {
                tokens.push(ZhToken::Pause { long });
            }
        }
        // Spaces, quotes and other symbols: nothing to say.
    }
    flush_phrase(&mut phrase, &mut tokens);
    flush_latin(&mut latin, &mut tokens);
    if matches!(tokens.last(), Some(ZhToken::Pause { .. })) {
        tokens.pop();
    }
    tokens
}

/// The front end's result as one line: syllables separated by spaces, `,` / `.` for pauses,
/// Latin runs in `[...]`. Handy for tests and `anchor say --dry-run`-style debugging.
pub fn pinyin_line(text: &str) -> String {
    analyze(text)
        .iter()
        .map(|t| match t {
            ZhToken::Word { syllables, .. } => syllables.join(" "),
            ZhToken::Latin(s) => format!("[{s}]"),
            ZhToken::Pause { long } => if *long { "." } else { "," }.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyphones_are_read_in_context() {
        for (text, expect) in [
            ("银行", "yin2 hang2"),
            ("银行卡", "yin2 hang2 ka3"),
            ("行走", "xing2 zou3"),
            ("还有", "hai2 you3"),
            ("还钱", "huan2 qian2"),
            ("长大", "zhang3 da4"),
            ("很长", "hen3 chang2"),
            ("重新", "chong2 xin1"),
            ("很重", "hen3 zhong4"),
            ("了解", "liao2 jie3"), // 3-3 sandhi on the table reading
            ("便宜", "pian2 yi5"),
            ("首都", "shou3 du1"),
            ("爱好", "ai4 hao4"),
        ] {
            let line = pinyin_line(text);
            assert_eq!(line, expect, "{text}");
        }
    }

    #[test]
    fn neutral_tones_on_particles_and_suffixes() {
        let line = pinyin_line("我的孩子们好吗");
        assert!(line.contains("de5"), "{line}");
        assert!(line.contains("zi5"), "{line}");
        assert!(line.contains("men5"), "{line}");
        assert!(line.ends_with("ma5"), "{line}");
        assert!(pinyin_line("买了").ends_with("le5"));
    }

    #[test]
    fn sandhi_in_running_text() {
        assert_eq!(pinyin_line("你好"), "ni2 hao3");
        assert_eq!(pinyin_line("一个"), "yi2 ge4");
        assert_eq!(pinyin_line("不是"), "bu2 shi4");
    }

    #[test]
    fn prices_become_pinyin_and_punctuation_pauses() {
        let line = pinyin_line("今天直播间到手价99.9元，家人们！");
        assert!(line.contains("jiu3 shi2 jiu3 kuai4 jiu3"), "{line}");
        assert!(line.contains(" , "), "{line}");
        assert!(!line.ends_with('.'), "trailing pause dropped: {line}");
    }

    #[test]
    fn latin_words_survive_in_chinese_text() {
        let toks = analyze("这款iPhone手机VIP专享OK吗");
        let latin: Vec<&str> = toks
            .iter()
            .filter_map(|t| {
                if let ZhToken::Latin(s) = t {
                    Some(s.as_str())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(latin, vec!["iPhone", "VIP", "OK"], "{toks:?}");
        assert!(
            toks.iter()
                .any(|t| matches!(t, ZhToken::Word { text, .. } if text == "手机"))
        );
    }
}
