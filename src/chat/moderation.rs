//! The compliance filter: the host never says what it must not.
//!
//! One [`Moderator`] per script (built by [`Moderator::new`] from the script's
//! `chat.banned_words`; `Send + Sync`, shared read-only) screens three things:
//!
//! - [`Moderator::incoming`]: a viewer message, before anything else looks at it →
//!   [`Incoming::Clean`] (cleaned text), [`Incoming::Masked`] (personal data replaced by
//!   `[手机号]`, `[微信号]`, ...; answerable, never read aloud) or [`Incoming::Blocked`].
//! - [`Moderator::spoken`]: every line the host is about to say (replies, LLM output,
//!   fallbacks) → `Ok(())` or the first [`Violation`]. Callers pass every line through it.
//! - [`Moderator::display_name`]: a viewer name made safe to say aloud (`谢谢小美的支持`), or
//!   `None`.
//!
//! # What is caught
//!
//! | kind | incoming | spoken |
//! |------|----------|--------|
//! | [`Profanity`](ViolationKind::Profanity): built-in zh + en list, any spelling | blocked | error |
//! | [`Injection`](ViolationKind::Injection): `ignore previous instructions`, `repeat after me`, `跟我念`, `忽略之前的指令`, `你现在是…`, role-play hijacks | blocked | error |
//! | [`BannedWord`](ViolationKind::BannedWord): the script's `chat.banned_words` | blocked when disguised or bait | error |
//! | [`AdLaw`](ViolationKind::AdLaw): [`crate::script::AD_LAW_WORDS`] minus [`crate::script::AD_LAW_ALLOWED`] | blocked when disguised or bait | error |
//! | [`PersonalData`](ViolationKind::PersonalData): phones, IDs, bank cards, emails, WeChat/QQ ids, addresses | masked; blocked when nothing else is left or with spam cues | error |
//! | [`Garbage`](ViolationKind::Garbage): empty, emoji or punctuation only | blocked | — |
//! | [`TooLong`](ViolationKind::TooLong): over [`MAX_MESSAGE_BYTES`] raw (not scanned) | blocked | error |
//!
//! **Advertising-law and banned words in viewer text.** A viewer may *ask about* a listed
//! word: `What's the best way to apply it?`, `这是全网最低价吗`, `秒杀价是多少` are questions and
//! come out clean; the reply is what must not contain the word, and [`Moderator::spoken`]
//! rejects it there. A listed word is blocked in incoming text when it is **disguised**
//! (separators, zero-width marks, pinyin, homophones: nobody asks an honest question as
//! `z u i h a o`) or used as **bait**: a cue that asks the host to say it (`你就说是全网最低`,
//! `喊一声第一`, `say it's the best`, `admit you're No.1`, `say "best"`). Full-width letters,
//! upper case and traditional characters are folded, not counted as disguise.
//! English `best` follows the same rule: allowed in questions, never in spoken text (except the
//! allowed phrases `do our best`, `best wishes`, ...).
//!
//! **Repetition.** The host never repeats viewer text verbatim: that is the brain's job (it
//! answers from the script's FAQ and facts, and an LLM gets the question as data). This
//! filter also blocks messages that try to make it (`repeat after me`, `say exactly`, `跟我念`,
//! `照着说`, `请说出："…"`).
//!
//! # Normalization (see `moderation/normalize.rs`)
//!
//! Every word is matched on normalized text, built once per message:
//!
//! 1. invisible characters removed (controls, zero-width, bidi overrides, variation selectors,
//!    combining strokes);
//! 2. each character folded: full-width → half-width, lower case, look-alike letters
//!    (Cyrillic, math bold, circled, regional indicators), traditional → simplified (a table
//!    of the list characters and common ones) — the *plain* text, where personal data is
//!    found (digits may be spaced, dashed, full-width or `幺三八…` numerals);
//! 3. separators between characters removed (spaces, `.`, `-`, `_`, `*`, `|`, `/`, quotes,
//!    brackets, emoji and symbols, zero-width marks) while clause punctuation (`,!?;:。、`)
//!    stays a stop no word crosses, and `fuuuck` → `fuck` — the *compact* text, where words are
//!    found with one Aho-Corasick automaton (all lists and allowed words, built in `new`);
//! 4. Han characters replaced by their toneless pinyin — the *pinyin* text, where the pinyin of
//!    every listed Han word of two or more characters is searched with a second automaton:
//!    `zui hao`, `zuihao`, `zui好`, `醉好`, `嘴好` all spell `最好`.
//!
//! Boundaries keep ordinary text clean: Latin entries match whole words only (`best` is not in
//! `bestow`); spaces inside a Latin match must be the entry's own (`lowest price`) or fall
//! between single letters (`b e s t`), so `a hole` never reads as one word; typed pinyin must
//! start and end on syllables; a Han homophone counts only where jieba segments it as words
//! of its own and it is not one dictionary word (`地衣` is lichen, `鸡汁` is not `极致`,
//! `低一点` splits as `低|一点`); allowed words (`最近`, `第一次`, `去死皮`) cancel the words
//! inside them.
//!
//! # Cost
//!
//! Measured with the ignored test `moderation::tests::bench` (release build, 2-core dev
//! container; numbers, not assertions): 2–8 µs per short message through
//! [`Moderator::incoming`] or [`Moderator::spoken`] (about 15 µs when personal data is
//! masked), about 1 ms for a 10 KB message and a few ms for hostile 10 KB ones (work per text
//! is capped: ids are read at most 26 characters, at most 64 homophone segmentations);
//! [`Moderator::new`] about 1.5 ms plus jieba's dictionary (about 0.2 s, once per process).

mod inject;
mod lists;
mod normalize;
mod pii;
mod words;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::script::{AD_LAW_ALLOWED, AD_LAW_WORDS};

use inject::{Phrases, Scan, Words};
use lists::{CONTACT_FILLER, NAME_CONTACT_WORDS, PROFANITY, PROFANITY_ALLOWED, SPAM_CUES};
use normalize::{Compact, PinyinText, Plain, clean, is_han};
use pii::Pii;
use words::{Hit, How, List, WordIndex};

/// A viewer message longer than this (bytes, raw) is blocked as [`ViolationKind::TooLong`]
/// without being scanned; so is host text.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024;
/// Cleaned incoming text is cut to this many characters.
pub const MAX_CLEAN_CHARS: usize = 200;
/// A display name is cut to this width: a Han character counts 2, anything else 1 (8 Han or
/// 16 Latin characters).
pub const MAX_NAME_WIDTH: usize = 16;
/// Raw characters of a name looked at, at most.
const MAX_NAME_INPUT_CHARS: usize = 256;

/// What rule a text broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// A word of the script's `chat.banned_words`.
    BannedWord,
    /// A word China's Advertising Law forbids in ads (`最好`, `第一`, `best`, ...).
    AdLaw,
    /// A phone number, ID or bank-card number, email, WeChat/QQ id or street address.
    PersonalData,
    /// An insult or obscenity.
    Profanity,
    /// Instructions smuggled in chat (`ignore previous instructions`, `跟我念`).
    Injection,
    /// Nothing to answer: empty, emoji or punctuation only.
    Garbage,
    /// Longer than [`MAX_MESSAGE_BYTES`].
    TooLong,
}

impl ViolationKind {
    /// The snake_case name it serializes as (`"banned_word"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::BannedWord => "banned_word",
            ViolationKind::AdLaw => "ad_law",
            ViolationKind::PersonalData => "personal_data",
            ViolationKind::Profanity => "profanity",
            ViolationKind::Injection => "injection",
            ViolationKind::Garbage => "garbage",
            ViolationKind::TooLong => "too_long",
        }
    }
}

impl std::fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text was blocked or may not be said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct Violation {
    pub kind: ViolationKind,
    /// The offending text as written (invisible characters removed). Personal data is
    /// redacted here (`138****5678`) so logs never hold it.
    pub matched: String,
    /// What rule, in words, for logs and operators.
    pub detail: String,
}

/// The verdict on a viewer message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Incoming {
    /// Safe to answer. `text` is cleaned (control chars, RTL/zero-width marks removed,
    /// whitespace collapsed, truncated to [`MAX_CLEAN_CHARS`] chars).
    Clean { text: String },
    /// Answerable, but personal data was masked (phone → `[手机号]` etc.); never read aloud.
    Masked { text: String, found: Vec<Violation> },
    /// Not answered (profanity, banned/ad-law words used to bait the host, injection,
    /// garbage, too long, contact spam).
    Blocked(Violation),
}

impl Incoming {
    /// The text to hand on, unless blocked.
    pub fn text(&self) -> Option<&str> {
        match self {
            Incoming::Clean { text } | Incoming::Masked { text, .. } => Some(text),
            Incoming::Blocked(_) => None,
        }
    }

    /// The violation that blocked it.
    pub fn blocked(&self) -> Option<&Violation> {
        match self {
            Incoming::Blocked(v) => Some(v),
            _ => None,
        }
    }
}

/// The compliance filter, built once per script.
pub struct Moderator {
    words: WordIndex,
    phrases: Phrases,
    /// [`SPAM_CUES`] in compact form.
    spam_cues: Vec<String>,
}

impl std::fmt::Debug for Moderator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Moderator").finish_non_exhaustive()
    }
}

/// One text, normalized every way the rules need.
struct Analysis<'a> {
    raw: &'a str,
    plain: Plain,
    compact: Compact,
    words: Words,
    hits: Vec<Hit>,
    scan: Scan,
}

impl Moderator {
    /// Built-in lists (advertising-law words from [`crate::script::AD_LAW_WORDS`] with
    /// [`crate::script::AD_LAW_ALLOWED`], profanity zh + en, injection patterns) plus the
    /// script's `chat.banned_words`. Empty or whitespace-only banned words are ignored.
    pub fn new(script_banned: &[String]) -> Moderator {
        let banned: Vec<String> = script_banned
            .iter()
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty())
            .collect();
        let lists = [
            (
                List::Profanity,
                PROFANITY.iter().map(|w| w.to_string()).collect(),
            ),
            (List::Banned, banned),
            (
                List::AdLaw,
                AD_LAW_WORDS.iter().map(|w| w.to_string()).collect(),
            ),
        ];
        // Load the segmenter now, not on the first homophone on air.
        let _ = crate::words::jieba();
        Moderator {
            words: WordIndex::new(&lists, AD_LAW_ALLOWED, PROFANITY_ALLOWED),
            phrases: Phrases::new(),
            spam_cues: SPAM_CUES
                .iter()
                .map(|c| Compact::new(&Plain::new(c)).text)
                .filter(|c| !c.is_empty())
                .collect(),
        }
    }

    fn analyze<'a>(&self, raw: &'a str) -> Analysis<'a> {
        let plain = Plain::new(raw);
        let compact = Compact::new(&plain);
        let pinyin = PinyinText::new(&compact);
        let words = Words::new(&compact);
        let hits = self.words.find(raw, &compact, &pinyin);
        let scan = self.phrases.scan(&compact, &words);
        Analysis {
            raw,
            plain,
            compact,
            words,
            hits,
            scan,
        }
    }

    /// A viewer message, before anything else looks at it.
    pub fn incoming(&self, text: &str) -> Incoming {
        if let Some(v) = too_long(text) {
            return Incoming::Blocked(v);
        }
        if !text
            .chars()
            .any(|c| c.is_alphanumeric() && !normalize::is_invisible(c))
        {
            return Incoming::Blocked(Violation {
                kind: ViolationKind::Garbage,
                matched: clean(text, 20),
                detail:
                    "nothing to answer: empty, or only emoji, punctuation or control characters"
                        .into(),
            });
        }
        let a = self.analyze(text);
        if let Some(v) = a.injection() {
            return Incoming::Blocked(v);
        }
        if let Some(h) = a.first(List::Profanity) {
            return Incoming::Blocked(a.word_violation(h, None));
        }
        for list in [List::Banned, List::AdLaw] {
            for h in a.hits.iter().filter(|h| h.list == list) {
                if h.how != How::Plain {
                    return Incoming::Blocked(a.word_violation(h, Some("disguised")));
                }
                if a.scan.is_bait(&a.compact, &a.words, h) {
                    return Incoming::Blocked(a.word_violation(h, Some("asked to be said")));
                }
            }
        }
        let pii = pii::find(&a.plain);
        if pii.is_empty() {
            return Incoming::Clean {
                text: clean(text, MAX_CLEAN_CHARS),
            };
        }
        let found: Vec<Violation> = pii.iter().map(pii_violation).collect();
        let masked = mask(text, &pii);
        if is_contact_spam(&a, &pii, &masked, &self.spam_cues) {
            let mut v = found[0].clone();
            v.detail = format!(
                "{} with nothing else to answer, or with ad/spam wording",
                v.detail
            );
            return Incoming::Blocked(v);
        }
        Incoming::Masked {
            text: clean(&masked, MAX_CLEAN_CHARS),
            found,
        }
    }

    /// Text the host is about to say (every reply, every LLM output). Err: must not be said.
    /// Every listed word counts here however it is written, allowed words excepted.
    pub fn spoken(&self, text: &str) -> Result<(), Violation> {
        if let Some(v) = too_long(text) {
            return Err(v);
        }
        let a = self.analyze(text);
        if let Some(v) = a.injection() {
            return Err(v);
        }
        for list in [List::Profanity, List::Banned, List::AdLaw] {
            if let Some(h) = a.first(list) {
                return Err(a.word_violation(h, None));
            }
        }
        if let Some(p) = pii::find(&a.plain).first() {
            return Err(pii_violation(p));
        }
        Ok(())
    }

    /// A display name safe to say aloud (`谢谢小美的支持`): sanitized (no personal data, no
    /// listed words, no URLs or digit runs, at most 8 Han / 16 Latin characters, control, RTL
    /// and zero-width characters removed), or `None` when nothing safe is left. A name with a
    /// listed word or an instruction in it is refused whole (`None`), not trimmed.
    pub fn display_name(&self, raw: &str) -> Option<String> {
        let cleaned = clean(raw, MAX_NAME_INPUT_CHARS);
        let no_urls = strip_urls(&cleaned);
        let a = self.analyze(&no_urls);
        if a.injection().is_some() || !a.hits.is_empty() {
            return None;
        }
        let pii = pii::find(&a.plain);
        // A name that advertises a contact (`加我vx…`, `小美qq12345`) is refused whole.
        let contact_word = NAME_CONTACT_WORDS.iter().any(|k| {
            let k = Compact::new(&Plain::new(k)).text;
            let at = a.compact.text.find(&k);
            // Latin ones at a word start (`qq12345` counts, `aqq` does not).
            at.is_some_and(|b| {
                let u = a.compact.units_of(b..b + k.len());
                !k.starts_with(|c: char| c.is_ascii_alphanumeric()) || a.compact.word_start(u.start)
            })
        });
        if contact_word {
            return None;
        }
        let mut kept = String::with_capacity(no_urls.len());
        let mut from = 0;
        for p in &pii {
            kept.push_str(&no_urls[from..p.raw.start]);
            kept.push(' ');
            from = p.raw.end;
        }
        kept.push_str(&no_urls[from..]);
        let name = tidy_name(&kept);
        // Nothing left to call them by (or a stray Latin letter: `u` from `u241`).
        if !name.chars().any(char::is_alphabetic) || (name.is_ascii() && name.chars().count() < 2) {
            return None;
        }
        // Removing emoji and digits can join what was apart: check what will be said.
        if self.spoken(&name).is_err() {
            return None;
        }
        Some(name)
    }
}

impl Analysis<'_> {
    fn first(&self, list: List) -> Option<&Hit> {
        self.hits.iter().find(|h| h.list == list)
    }

    fn injection(&self) -> Option<Violation> {
        let i = self.scan.injection.as_ref()?;
        let raw = self.compact.raw_of(&i.units);
        Some(Violation {
            kind: ViolationKind::Injection,
            matched: clean(&self.raw[raw], 80),
            detail: format!(
                "instructions smuggled in chat (`{}`): the host does not obey or repeat viewers",
                i.phrase
            ),
        })
    }

    fn word_violation(&self, h: &Hit, why: Option<&str>) -> Violation {
        let (kind, what) = match h.list {
            List::Profanity => (ViolationKind::Profanity, "profanity"),
            List::Banned => (
                ViolationKind::BannedWord,
                "in the script's chat.banned_words",
            ),
            List::AdLaw => (
                ViolationKind::AdLaw,
                "an advertising-law word (《广告法》第九条第三项)",
            ),
        };
        let matched = clean(&self.raw[h.raw.clone()], 80);
        let mut detail = format!("`{}` is {what}, written {}", h.word, h.how.describe());
        if let Some(why) = why {
            detail.push_str(&format!(" ({why})"));
        }
        Violation {
            kind,
            matched,
            detail,
        }
    }
}

fn too_long(text: &str) -> Option<Violation> {
    (text.len() > MAX_MESSAGE_BYTES).then(|| Violation {
        kind: ViolationKind::TooLong,
        matched: clean(text, 20),
        detail: format!("{} bytes; at most {MAX_MESSAGE_BYTES}", text.len()),
    })
}

fn pii_violation(p: &Pii) -> Violation {
    let name = p.kind.label().trim_matches(['[', ']']);
    Violation {
        kind: ViolationKind::PersonalData,
        matched: p.redacted(),
        detail: format!("personal data ({name})"),
    }
}

/// The raw text with each piece of personal data replaced by its label.
fn mask(raw: &str, pii: &[Pii]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut from = 0;
    for p in pii {
        out.push_str(&raw[from..p.raw.start]);
        out.push_str(p.kind.label());
        from = p.raw.end;
    }
    out.push_str(&raw[from..]);
    out
}

/// Personal data is all there is (besides filler such as `我的手机号`, `加我微信`), or comes with
/// ad/spam wording (`兼职日结`, `私聊`): blocked, not masked.
fn is_contact_spam(a: &Analysis<'_>, pii: &[Pii], masked: &str, spam_cues: &[String]) -> bool {
    let spam = spam_cues
        .iter()
        .any(|cue| a.compact.text.contains(cue.as_str()));
    if spam && pii.iter().any(|p| p.kind.is_contact()) {
        return true;
    }
    let mut rest = normalize::fold_str(masked);
    for p in pii {
        rest = rest.replace(p.kind.label(), " ");
    }
    for f in CONTACT_FILLER {
        rest = rest.replace(f, " ");
    }
    let meaningful = rest
        .chars()
        .filter(|&c| is_han(c) || c.is_ascii_alphabetic())
        .count();
    meaningful < 3
}

/// Removes URLs: each run of ASCII URL characters that holds `://`, starts with `www.` or
/// ends its host in a common TLD (`shop.com`, `x.cn/y`) becomes a space.
fn strip_urls(s: &str) -> String {
    const TLDS: &[&str] = &[
        "com", "cn", "net", "org", "io", "cc", "top", "xyz", "me", "tv", "vip", "shop", "co",
        "app", "link", "info", "live", "site", "club",
    ];
    let url_char = |c: char| c.is_ascii_graphic();
    let is_url = |run: &str| {
        let lower = run.to_ascii_lowercase();
        let host = lower.split(['/', '?', '#']).next().unwrap_or("");
        lower.contains("://")
            || lower.starts_with("www.")
            || host
                .rsplit('.')
                .next()
                .is_some_and(|tld| host.contains('.') && TLDS.contains(&tld))
    };
    let mut out = String::with_capacity(s.len());
    let mut run_start: Option<usize> = None;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        if i < s.len() && url_char(c) {
            run_start.get_or_insert(i);
            continue;
        }
        if let Some(r) = run_start.take() {
            if is_url(&s[r..i]) {
                out.push(' ');
            } else {
                out.push_str(&s[r..i]);
            }
        }
        if i < s.len() {
            out.push(c);
        }
    }
    out
}

/// Letters (Han, Latin) and short numbers only, full-width folded to half-width, separators
/// as single spaces (none between Han characters), digit runs of three or more removed,
/// cut to [`MAX_NAME_WIDTH`].
fn tidy_name(s: &str) -> String {
    let mut chars: Vec<char> = Vec::with_capacity(s.len());
    for c in s.chars() {
        let u = u32::from(c);
        let c = match u {
            0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        };
        let latin = c.is_ascii_alphanumeric()
            || (matches!(u32::from(c), 0xC0..=0x24F) && c.is_alphabetic());
        chars.push(if is_han(c) || latin { c } else { ' ' });
    }
    // Digit runs of three or more go.
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j - i >= 3 {
                chars[i..j].fill(' ');
            }
            i = j;
        } else {
            i += 1;
        }
    }
    let mut out = String::new();
    let mut width = 0;
    let mut pending_space = false;
    let mut last: Option<char> = None;
    for c in chars {
        if c == ' ' {
            pending_space = last.is_some();
            continue;
        }
        let w = if is_han(c) { 2 } else { 1 };
        let space = pending_space && !(is_han(c) && last.is_some_and(is_han));
        if width + w + usize::from(space) > MAX_NAME_WIDTH {
            // Cut inside a Latin word: drop the piece of it, if something comes before.
            if !space && c.is_alphanumeric() && !is_han(c) && last.is_some_and(|l| !is_han(l)) {
                let cut = out
                    .char_indices()
                    .rev()
                    .find(|&(_, l)| l == ' ' || is_han(l))
                    .map(|(k, l)| if l == ' ' { k } else { k + l.len_utf8() });
                if let Some(k) = cut.filter(|&k| k > 0) {
                    out.truncate(k);
                }
            }
            break;
        }
        if space {
            out.push(' ');
            width += 1;
        }
        out.push(c);
        width += w;
        pending_space = false;
        last = Some(c);
    }
    out.trim().to_string()
}
