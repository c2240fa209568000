//! espeak-ng IPA phonemes → Oculus visemes, vowel detection, timing weights, and the code
//! point decomposition Piper applies before id lookup.
//!
//! Phonemes arrive as espeak-ng writes them in IPA mode, one phoneme per string with its
//! marks attached: stress (`ˈoʊ`), length (`ɑː`), Mandarin tones (digits, and `ɜ` for tone 2:
//! espeak-ng 1.51 writes Chao tone numbers through its ASCII→IPA table, so `35` becomes `ɜ`),
//! and the `.` of espeak-ng's retroflex mnemonics its `cmn` table has no IPA for (`ts.` ʈʂ,
//! `s.` ʂ, `z.` ʐ, `i.` the apical vowel ɨ).

use crate::voice::Viseme;

/// Marks that never change the lips: stress, length, tone letters and digits.
fn is_mark(c: char) -> bool {
    matches!(
        c,
        'ˈ' | 'ˌ' | 'ː' | 'ˑ' | '˥' | '˦' | '˧' | '˨' | '˩' | '\'' | '-'
    ) || c.is_ascii_digit()
        || ('\u{0300}'..='\u{036f}').contains(&c)
        || matches!(c, 'ʰ' | 'ʲ' | 'ʷ' | 'ˤ' | '˞')
}

fn is_vowel_char(c: char) -> bool {
    "aɑɐæʌeɛəɚɜɝɘøœɵiɪɨyʏᵻoɔɒuʊɯɤɶ".contains(c)
}

/// The phoneme without its marks; a trailing `ɜ` after another vowel is a Mandarin tone
/// (see the module doc) and goes too.
fn core(ph: &str) -> String {
    let mut s: String = ph.chars().filter(|&c| !is_mark(c)).collect();
    let n = s.chars().count();
    if n >= 2 && s.ends_with('ɜ') {
        let before = s.chars().nth(n - 2).unwrap_or(' ');
        if is_vowel_char(before) || before == '.' {
            s.pop();
        }
    }
    s
}

/// True for espeak-ng punctuation/pause symbols that Piper keeps as phonemes.
pub fn is_pause(ph: &str) -> bool {
    !ph.is_empty()
        && ph
            .chars()
            .all(|c| matches!(c, ',' | '.' | '?' | '!' | ':' | ';' | ' ' | '—' | '…'))
}

/// True when the phoneme has a vowel nucleus (vowels, diphthongs, r-coloured vowels).
fn has_nucleus(ph: &str) -> bool {
    let c = core(ph);
    let c = c.trim_end_matches('.');
    c.chars().any(is_vowel_char)
}

/// True when the phoneme is a vowel that opens the mouth (or a diphthong / compound final):
/// one mapped to `aa E ih oh ou`. R-coloured vowels (`ɚ`, `ɜː`) map to `RR`, as espeak-ng's
/// `3:` does in the default voice's table, and do not count here.
pub fn is_vowel(ph: &str) -> bool {
    has_nucleus(ph)
        && matches!(
            viseme_for(ph),
            Viseme::Aa | Viseme::E | Viseme::Ih | Viseme::Oh | Viseme::Ou
        )
}

/// Maps one espeak-ng IPA phoneme to a viseme.
pub fn viseme_for(ph: &str) -> Viseme {
    if is_pause(ph) {
        return Viseme::Sil;
    }
    let c = core(ph);
    let c = c.as_str();
    if c.is_empty() {
        return Viseme::Sil;
    }
    // Retroflex sibilants written with espeak-ng's mnemonic dot, and the apical vowel.
    if c.contains('.') {
        return match c.chars().next() {
            Some('i') => Viseme::Ih,
            Some('t' | 's' | 'z' | 'ʈ' | 'ʂ' | 'ʐ') => Viseme::CH,
            Some('r' | 'ɻ') => Viseme::RR,
            _ => viseme_for(&c.replace('.', "")),
        };
    }
    match c {
        "tʃ" | "dʒ" | "tɕ" | "dʑ" | "tɕh" | "ʈʂ" | "ɖʐ" | "ʈʂh" => return Viseme::CH,
        "ts" | "dz" | "tsh" | "ʦ" => return Viseme::SS,
        "th" | "t" | "d" | "ɾ" | "ʔ" | "ɗ" | "ʈ" | "ɖ" => return Viseme::DD,
        "ph" | "p" | "b" | "m" | "ɓ" | "ɱ" => {
            return if c == "ɱ" { Viseme::FF } else { Viseme::PP };
        }
        "kh" | "k" | "g" | "ɡ" | "ŋ" | "x" | "χ" | "h" | "ɣ" | "q" | "ɢ" | "ʁ" | "ɦ" => {
            return Viseme::Kk;
        }
        _ => {}
    }
    let mut chars = c.chars();
    let first = chars.next().unwrap_or('_');
    // Compound finals (`iɛ`, `iɑu`, `uai`, `uo`, `yɛ`): the lips follow the nucleus.
    if matches!(first, 'i' | 'u' | 'y')
        && let Some(second) = chars.next()
        && is_vowel_char(second)
        && second != first
    {
        return viseme_for(&c[first.len_utf8()..]);
    }
    match first {
        'a' | 'ɑ' | 'ɐ' | 'æ' | 'ʌ' | 'ɶ' => Viseme::Aa,
        'e' | 'ɛ' | 'ə' | 'ɘ' | 'ø' | 'œ' | 'ɵ' | 'ɤ' => Viseme::E,
        'ɚ' | 'ɜ' | 'ɝ' => Viseme::RR,
        'i' | 'ɪ' | 'ɨ' | 'ᵻ' | 'j' | 'ç' | 'ʝ' | 'ɥ' => Viseme::Ih,
        'o' | 'ɔ' | 'ɒ' => Viseme::Oh,
        'u' | 'ʊ' | 'ɯ' | 'y' | 'ʏ' | 'w' | 'ʍ' | 'ʉ' => Viseme::Ou,
        'p' | 'b' | 'm' => Viseme::PP,
        'f' | 'v' | 'ɸ' | 'β' | 'ʋ' => Viseme::FF,
        'θ' | 'ð' => Viseme::TH,
        't' | 'd' | 'ɾ' | 'ʔ' => Viseme::DD,
        'n' | 'l' | 'ɫ' | 'ɬ' | 'ɮ' | 'ɲ' | 'ɳ' | 'ʎ' | 'ɭ' => Viseme::Nn,
        'k' | 'g' | 'ɡ' | 'ŋ' | 'x' | 'χ' | 'h' | 'ɣ' | 'q' | 'ɢ' | 'ʁ' | 'ɦ' | 'ħ' => {
            Viseme::Kk
        }
        'ʃ' | 'ʒ' | 'ɕ' | 'ʑ' | 'ʂ' | 'ʐ' | 'c' | 'ɟ' => Viseme::CH,
        's' | 'z' => Viseme::SS,
        'ɹ' | 'r' | 'ɻ' | 'ʀ' | 'ɺ' | 'ɽ' => Viseme::RR,
        _ => Viseme::Sil,
    }
}

/// Extra weight per symbol beyond a phoneme's first (stress and length marks, tone digits,
/// the second letter of a diphthong): a VITS model gives every symbol id its own duration.
const EXTRA_SYMBOL_WEIGHT: f32 = 0.35;

/// Relative length of a phoneme for derived timings: vowels (r-coloured too) 1.0, long 1.4,
/// diphthongs and compound finals 1.3, consonants 0.6, plus [`EXTRA_SYMBOL_WEIGHT`] for every
/// symbol after the first; pauses 0 (they get the silences found in the audio).
pub fn weight(ph: &str) -> f32 {
    if is_pause(ph) {
        return 0.0;
    }
    let c = core(ph);
    let class = if c.is_empty() {
        0.0
    } else if has_nucleus(ph) {
        let nuclei = c.chars().filter(|&ch| is_vowel_char(ch)).count();
        if ph.contains('ː') {
            1.4
        } else if nuclei >= 2 {
            1.3
        } else {
            1.0
        }
    } else {
        0.6
    };
    let extra = ph.chars().count().saturating_sub(1) as f32;
    class + EXTRA_SYMBOL_WEIGHT * extra
}

/// True when the phoneme is a nucleus carrying primary stress (`ˈ`).
pub fn is_stressed(ph: &str) -> bool {
    ph.contains('ˈ') && has_nucleus(ph)
}

/// The phoneme's name for [`crate::voice::PhonemeTiming::phoneme`]: the IPA without stress marks.
pub fn display(ph: &str) -> String {
    ph.chars().filter(|&c| c != 'ˈ' && c != 'ˌ').collect()
}

/// Canonical decomposition (Unicode NFD) of the precomposed letters espeak-ng's IPA can
/// contain, as Piper decomposes before id lookup (`unicodedata.normalize("NFD", ...)`). IPA
/// letters themselves (ə, ɛ, ʃ ...) have no decomposition; only Latin letters with diacritics
/// do, and espeak-ng uses few of them (ç; nasal and toned vowels in some languages).
pub fn decompose(c: char) -> Option<&'static str> {
    Some(match c {
        'ç' => "c\u{327}",
        'ñ' => "n\u{303}",
        'ã' => "a\u{303}",
        'õ' => "o\u{303}",
        'ĩ' => "i\u{303}",
        'ũ' => "u\u{303}",
        'ẽ' => "e\u{303}",
        'ỹ' => "y\u{303}",
        'á' => "a\u{301}",
        'é' => "e\u{301}",
        'í' => "i\u{301}",
        'ó' => "o\u{301}",
        'ú' => "u\u{301}",
        'à' => "a\u{300}",
        'è' => "e\u{300}",
        'ì' => "i\u{300}",
        'ò' => "o\u{300}",
        'ù' => "u\u{300}",
        'â' => "a\u{302}",
        'ê' => "e\u{302}",
        'î' => "i\u{302}",
        'ô' => "o\u{302}",
        'û' => "u\u{302}",
        'ä' => "a\u{308}",
        'ë' => "e\u{308}",
        'ï' => "i\u{308}",
        'ö' => "o\u{308}",
        'ü' => "u\u{308}",
        'ǎ' => "a\u{30c}",
        'ě' => "e\u{30c}",
        'ǐ' => "i\u{30c}",
        'ǒ' => "o\u{30c}",
        'ǔ' => "u\u{30c}",
        'ā' => "a\u{304}",
        'ē' => "e\u{304}",
        'ī' => "i\u{304}",
        'ō' => "o\u{304}",
        'ū' => "u\u{304}",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_mandarin_ipa_reach_the_right_lips() {
        for (ph, v) in [
            ("ˈoʊ", Viseme::Oh),
            ("ə", Viseme::E),
            ("ˈɛ", Viseme::E),
            ("ɪ", Viseme::Ih),
            ("ˈaɪ", Viseme::Aa),
            ("ˈɑː", Viseme::Aa),
            ("ɚ", Viseme::RR),
            ("ɜː", Viseme::RR),
            ("uː", Viseme::Ou),
            ("h", Viseme::Kk),
            ("l", Viseme::Nn),
            ("p", Viseme::PP),
            ("m", Viseme::PP),
            ("f", Viseme::FF),
            ("ð", Viseme::TH),
            ("θ", Viseme::TH),
            ("tʃ", Viseme::CH),
            ("dʒ", Viseme::CH),
            ("ɹ", Viseme::RR),
            ("w", Viseme::Ou),
            ("j", Viseme::Ih),
            ("ŋ", Viseme::Kk),
            // Mandarin through cmn-latn-pinyin.
            ("ˈiɜ", Viseme::Ih),
            ("ˈɑu2", Viseme::Aa),
            ("ˈiɛ5", Viseme::E),
            ("ˈiou2", Viseme::Oh),
            ("ˈuai5", Viseme::Aa),
            ("tɕ", Viseme::CH),
            ("th", Viseme::DD),
            ("kh", Viseme::Kk),
            ("ts.", Viseme::CH),
            ("s.", Viseme::CH),
            ("ˈi.ɜ", Viseme::Ih),
            ("χ", Viseme::Kk),
            ("ˈy2", Viseme::Ou),
            ("ˈəɜ", Viseme::E),
            (",", Viseme::Sil),
            (".", Viseme::Sil),
        ] {
            assert_eq!(viseme_for(ph), v, "{ph}");
        }
        assert!(is_vowel("ˈiɜ") && is_vowel("ˈoʊ") && is_vowel("i.ɜ"));
        assert!(!is_vowel("ts.") && !is_vowel("w") && !is_vowel("j") && !is_vowel("tɕ"));
        assert!(weight("ˈɑː") > weight("ə") && weight("ə") > weight("t"));
        assert_eq!(display("ˈoʊ"), "oʊ");
        assert_eq!(decompose('ç'), Some("c\u{327}"));
    }
}
