//! espeak-ng phoneme mnemonics → Oculus visemes.
//!
//! Covers the mnemonics of the `en-us` voice (Kirshenbaum-like: `p b t d k g f v T D s z S Z h
//! m n N l r w j tS dZ`, vowels `a A: @ 3: aI aU e eI E I i: O: OI oU U u: V 0 ...`) and of the
//! `cmn-latn-pinyin` voice (`p ph t th k kh ts tsh ts. ts.h s. z. tS; tS;h S; X m n N l w j ;`,
//! vowels `a A & @ o o- u y i i. i[ E e ...` and diphthongs such as `Au aI iE yE @r`).
//! Unknown symbols fall back on their first letter so a new mnemonic never panics.

use super::Viseme;

/// True for espeak-ng's pause mnemonics (`_`, `_:`, `_!`, `_;` ...) and empty names.
pub fn is_pause(ph: &str) -> bool {
    ph.is_empty() || ph.starts_with('_')
}

/// True when the mnemonic is a vowel (or a syllabic/diphthong nucleus).
pub fn is_vowel(ph: &str) -> bool {
    matches!(
        viseme_for(ph),
        Viseme::Aa | Viseme::E | Viseme::Ih | Viseme::Oh | Viseme::Ou
    ) && !matches!(core(ph), "w" | "j" | ";" | "W")
}

/// Strips stress marks (`'` `,`) that transcriptions carry (digits are part of names: `0`, `3:`).
fn core(ph: &str) -> &str {
    ph.trim_matches(|c: char| c == '\'' || c == ',' || c == '%' || c == '=')
}

/// Maps one espeak-ng phoneme mnemonic to a viseme.
pub fn viseme_for(ph: &str) -> Viseme {
    let p = core(ph);
    if is_pause(p) {
        return Viseme::Sil;
    }
    // Exact consonant and special-vowel names first.
    match p {
        "p" | "b" | "m" | "ph" | "p#" | "b#" | "m-" => return Viseme::PP,
        "f" | "v" => return Viseme::FF,
        "T" | "D" => return Viseme::TH,
        "t" | "d" | "th" | "t#" | "d#" | "?" | "t2" | "d2" | "*" => return Viseme::DD,
        "n" | "n-" | "l" | "l-" | "L" | "@L" | "l/" | "l/2" => return Viseme::Nn,
        "k" | "g" | "kh" | "N" | "x" | "X" | "h" | "h#" | "g#" | "k#" | "Nh" => return Viseme::Kk,
        "tS" | "dZ" | "S" | "Z" | "tS;" | "tS;h" | "S;" | "ts." | "ts.h" | "s." | "z." | "tc"
        | "tch" | "c" => {
            return Viseme::CH;
        }
        "ts" | "tsh" | "dz" | "s" | "z" | "s#" | "z#" => return Viseme::SS,
        "r" | "r-" | "R" | "r/" | "3" | "3:" | "@r" | "3:r" | "r." => return Viseme::RR,
        "w" | "W" | "u" | "u:" | "U" | "y" | "Y" | "u@" | "U@" => {
            return Viseme::Ou;
        }
        "j" | ";" | "i" | "i:" | "I" | "I2" | "I#" | "i." | "i[" | "i@" | "i@3" => {
            return Viseme::Ih;
        }
        "o-" | "@" | "@-" | "@2" | "@5" | "a#" | "e" | "e@" | "eI" | "E" | "E2" | "E3" | "ei" => {
            return Viseme::E;
        }
        "o" | "O" | "O:" | "O@" | "OI" | "oU" | "0" | "o@" | "ou" | "Ou" | "oU#" => {
            return Viseme::Oh;
        }
        _ => {}
    }
    // Pinyin compound finals (`iA`, `iE`, `iou`, `uai`, `uo`, `yE`): the lips follow the
    // nucleus, not the glide.
    let mut cs = p.chars();
    if let (Some('i' | 'u' | 'y'), Some(second)) = (cs.next(), cs.next()) {
        if "aA&@eEoOuU".contains(second) {
            return viseme_for(&p[1..]);
        }
    }
    // Fallback on the first character: vowels by quality, consonants by place.
    match p.chars().next().unwrap_or('_') {
        'a' | 'A' | '&' | 'V' => Viseme::Aa,
        'e' | 'E' | '@' => Viseme::E,
        'i' | 'I' | 'j' | ';' => Viseme::Ih,
        'o' | 'O' | '0' => Viseme::Oh,
        'u' | 'U' | 'y' | 'Y' | 'w' | 'W' => Viseme::Ou,
        'p' | 'b' | 'm' => Viseme::PP,
        'f' | 'v' => Viseme::FF,
        'T' | 'D' => Viseme::TH,
        't' | 'd' => Viseme::DD,
        'n' | 'l' | 'L' => Viseme::Nn,
        'k' | 'g' | 'N' | 'x' | 'X' | 'h' | 'q' | 'G' => Viseme::Kk,
        'S' | 'Z' | 'c' | 'J' => Viseme::CH,
        's' | 'z' => Viseme::SS,
        'r' | 'R' | '3' => Viseme::RR,
        _ => Viseme::Sil,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vowels_open_the_mouth_and_lips_close_on_bilabials() {
        for (ph, v) in [
            ("a", Viseme::Aa),
            ("A:", Viseme::Aa),
            ("aI", Viseme::Aa),
            ("Au", Viseme::Aa),
            ("E", Viseme::E),
            ("@", Viseme::E),
            ("o-", Viseme::E),
            ("i:", Viseme::Ih),
            ("i.", Viseme::Ih),
            ("I", Viseme::Ih),
            ("oU", Viseme::Oh),
            ("0", Viseme::Oh),
            ("3:", Viseme::RR),
            ("iA", Viseme::Aa),
            ("iE", Viseme::E),
            ("iou", Viseme::Oh),
            ("uai", Viseme::Aa),
            ("yE", Viseme::E),
            ("O:", Viseme::Oh),
            ("u:", Viseme::Ou),
            ("y", Viseme::Ou),
            ("p", Viseme::PP),
            ("m", Viseme::PP),
            ("f", Viseme::FF),
            ("T", Viseme::TH),
            ("tS;", Viseme::CH),
            ("ts.h", Viseme::CH),
            ("ts", Viseme::SS),
            ("n", Viseme::Nn),
            ("k", Viseme::Kk),
            ("r", Viseme::RR),
            ("_", Viseme::Sil),
            ("_:", Viseme::Sil),
        ] {
            assert_eq!(viseme_for(ph), v, "{ph}");
        }
        assert!(is_vowel("a") && is_vowel("i.") && !is_vowel("w") && !is_vowel("t"));
    }
}
