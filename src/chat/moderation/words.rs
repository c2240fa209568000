//! Word lists compiled into automata: exact matches on the compact text, pinyin matches
//! (typed pinyin and homophones) on the pinyin text, allowed words that cancel a match.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::normalize::{Compact, PinyinText, Plain, fold_str, is_han, is_word, pinyin_readings};
use crate::words::jieba;

/// Which list a word is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum List {
    Profanity,
    Banned,
    AdLaw,
}

/// How a word was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How {
    /// As listed (after case, width and traditional folding): `最好`, `ＢＥＳＴ`, `獨家`.
    Plain,
    /// With separators, zero-width marks or a stretched letter inside: `最 好`, `f*ck`, `第\u200b一`.
    Spaced,
    /// In typed pinyin (possibly mixed with Han): `zui hao`, `zui好`.
    Pinyin,
    /// Han homophones: `醉好`, `煞笔`.
    Homophone,
}

impl How {
    pub fn describe(self) -> &'static str {
        match self {
            How::Plain => "as is",
            How::Spaced => "with separators",
            How::Pinyin => "in pinyin",
            How::Homophone => "as a homophone",
        }
    }
}

/// A listed word found in a text.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub list: List,
    /// The entry as listed.
    pub word: String,
    /// Compact units.
    pub units: Range<usize>,
    /// Raw bytes.
    pub raw: Range<usize>,
    pub how: How,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Word(List),
    /// Cancels the words of these lists inside it.
    Allowed {
        profanity: bool,
    },
}

#[derive(Debug)]
struct Entry {
    role: Role,
    /// The entry as listed.
    word: String,
    /// The entry folded (invisible characters removed): how a plain use reads.
    folded: String,
    /// Unit offsets inside the compact pattern where the entry has its own word breaks.
    splits: Vec<usize>,
    /// Whether the compact pattern starts / ends with a Latin letter or digit.
    latin_start: bool,
    latin_end: bool,
}

/// One compact pattern and every entry that compacts to it.
#[derive(Debug, Default)]
struct Pattern {
    entries: Vec<Entry>,
}

/// The compiled lists. Built once per script; searching allocates only the hits.
pub(super) struct WordIndex {
    exact: Option<AhoCorasick>,
    exact_patterns: Vec<Pattern>,
    pinyin: Option<AhoCorasick>,
    /// Per pinyin pattern, every entry spelled that way.
    pinyin_patterns: Vec<Vec<PinyinEntry>>,
}

/// A Han entry spelled in pinyin.
#[derive(Debug)]
struct PinyinEntry {
    role: Role,
    /// The entry as listed.
    word: String,
    /// Its compact (Han) form.
    han: String,
    /// Byte offsets of its syllable boundaries in the pinyin pattern.
    bounds: Vec<usize>,
}

/// The compact form of an entry and its own word breaks.
fn compact_entry(word: &str) -> (String, Vec<usize>) {
    let plain = Plain::new(word);
    let compact = Compact::new(&plain);
    let splits = compact
        .units
        .iter()
        .enumerate()
        .filter(|(i, u)| *i > 0 && u.sep != super::normalize::Sep::None)
        .map(|(i, _)| i)
        .collect();
    (compact.text, splits)
}

impl WordIndex {
    /// `lists`: (list, entries); `allowed`: words that cancel ad-law and banned words;
    /// `profanity_allowed`: words that cancel profanity.
    pub fn new(
        lists: &[(List, Vec<String>)],
        allowed: &[&str],
        profanity_allowed: &[&str],
    ) -> WordIndex {
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut pinyin_by_text: HashMap<String, usize> = HashMap::new();
        let mut pinyin_patterns: Vec<Vec<PinyinEntry>> = Vec::new();
        let mut pinyin_texts: Vec<String> = Vec::new();

        let mut add = |role: Role, word: &str| {
            let (text, splits) = compact_entry(word);
            if text.is_empty() {
                return;
            }
            let chars: Vec<char> = text.chars().collect();
            let entry = Entry {
                role,
                word: word.to_string(),
                folded: fold_str(word),
                splits,
                latin_start: chars.first().is_some_and(|&c| is_word(c)),
                latin_end: chars.last().is_some_and(|&c| is_word(c)),
            };
            let i = *by_text.entry(text.clone()).or_insert_with(|| {
                patterns.push(Pattern::default());
                texts.push(text.clone());
                patterns.len() - 1
            });
            if !patterns[i]
                .entries
                .iter()
                .any(|e| e.role == role && e.folded == entry.folded)
            {
                patterns[i].entries.push(entry);
            }
            // Pinyin: Han-only entries of two or more syllables (one syllable sounds like too
            // much: 最 = zui = 醉, 嘴, 罪).
            if chars.len() >= 2 && chars.iter().all(|&c| is_han(c)) {
                // Every reading of a polyphone (`便宜`: bian/pian), at most 8 spellings.
                let mut spellings: Vec<(String, Vec<usize>)> = vec![(String::new(), Vec::new())];
                for &c in &chars {
                    let readings = pinyin_readings(c);
                    if readings.is_empty() {
                        return;
                    }
                    let mut next = Vec::new();
                    for (py, bounds) in &spellings {
                        for r in &readings {
                            if next.len() >= 8 {
                                break;
                            }
                            let mut bounds = bounds.clone();
                            if !py.is_empty() {
                                bounds.push(py.len());
                            }
                            next.push((format!("{py}{r}"), bounds));
                        }
                    }
                    spellings = next;
                }
                for (py, bounds) in spellings {
                    let j = *pinyin_by_text.entry(py.clone()).or_insert_with(|| {
                        pinyin_patterns.push(Vec::new());
                        pinyin_texts.push(py.clone());
                        pinyin_patterns.len() - 1
                    });
                    pinyin_patterns[j].push(PinyinEntry {
                        role,
                        word: word.to_string(),
                        han: text.clone(),
                        bounds,
                    });
                }
            }
        };
        for (list, words) in lists {
            for w in words {
                add(Role::Word(*list), w);
            }
        }
        for w in allowed {
            add(Role::Allowed { profanity: false }, w);
        }
        for w in profanity_allowed {
            add(Role::Allowed { profanity: true }, w);
        }
        let build = |texts: &[String]| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(texts)
        };
        // Patterns are short literal strings: building fails only past size limits these
        // lists never approach. Should it fail, the error is logged and nothing matches.
        let build_logged = |texts: &[String]| {
            build(texts)
                .map_err(|e| tracing::error!("moderation: word automaton failed to build: {e}"))
                .ok()
        };
        let exact = build_logged(&texts);
        let pinyin = build_logged(&pinyin_texts);
        WordIndex {
            exact,
            exact_patterns: patterns,
            pinyin,
            pinyin_patterns,
        }
    }

    /// Every listed word in the text, outside allowed words, longest first at a place.
    pub fn find(&self, raw: &str, compact: &Compact, pinyin: &PinyinText) -> Vec<Hit> {
        let mut hits: Vec<Hit> = Vec::new();
        // (unit range, covers profanity?) of allowed words.
        let mut allowed: Vec<(Range<usize>, bool)> = Vec::new();
        for m in self
            .exact
            .iter()
            .flat_map(|ac| ac.find_overlapping_iter(&compact.text))
        {
            let units = compact.units_of(m.start()..m.end());
            if units.is_empty() {
                continue;
            }
            for e in &self.exact_patterns[m.pattern().as_usize()].entries {
                if e.latin_start && !compact.word_start(units.start) {
                    continue;
                }
                if e.latin_end && !compact.word_end(units.end) {
                    continue;
                }
                if !compact.spaces_ok(&units, &e.splits) {
                    continue;
                }
                match e.role {
                    Role::Allowed { profanity } => allowed.push((units.clone(), profanity)),
                    Role::Word(list) => {
                        let raw_range = compact.raw_of(&units);
                        let as_written = fold_str(&raw[raw_range.clone()]);
                        let how = if as_written.contains(&e.folded) {
                            How::Plain
                        } else {
                            How::Spaced
                        };
                        hits.push(Hit {
                            list,
                            word: e.word.clone(),
                            units: units.clone(),
                            raw: raw_range,
                            how,
                        });
                    }
                }
            }
        }
        // jieba runs once per Han homophone candidate; past this many in one text every further
        // candidate counts as a hit (fail closed, bounded work).
        const MAX_SEGMENTATIONS: usize = 64;
        let mut segmentations = 0;
        if let Some(ac) = &self.pinyin {
            for m in ac.find_overlapping_iter(&pinyin.text) {
                let Some(units) = pinyin.units_of(&(m.start()..m.end())) else {
                    continue;
                };
                let written: String = compact.units[units.clone()].iter().map(|u| u.c).collect();
                for PinyinEntry {
                    role,
                    word,
                    han,
                    bounds,
                } in &self.pinyin_patterns[m.pattern().as_usize()]
                {
                    if &written == han {
                        continue; // an exact match, found above
                    }
                    let all_han = written.chars().all(is_han);
                    if !all_han && !pinyin_spaces_ok(compact, pinyin, m.start()..m.end(), bounds) {
                        continue;
                    }
                    if all_han {
                        segmentations += 1;
                        if segmentations <= MAX_SEGMENTATIONS
                            && !homophone_stands_alone(compact, &units)
                        {
                            continue;
                        }
                    }
                    match role {
                        Role::Allowed { profanity } => allowed.push((units.clone(), *profanity)),
                        Role::Word(list) => hits.push(Hit {
                            list: *list,
                            word: word.clone(),
                            units: units.clone(),
                            raw: compact.raw_of(&units),
                            how: if all_han { How::Homophone } else { How::Pinyin },
                        }),
                    }
                }
            }
        }
        // Drop hits inside an allowed word of their group: allowed spans sorted by start, with
        // the furthest end reached so far, so each hit is one binary search.
        let mut keep = vec![true; hits.len()];
        for group in [true, false] {
            let mut spans: Vec<Range<usize>> = allowed
                .iter()
                .filter(|(_, prof)| *prof == group)
                .map(|(r, _)| r.clone())
                .collect();
            if spans.is_empty() {
                continue;
            }
            spans.sort_by_key(|r| r.start);
            let mut reach = Vec::with_capacity(spans.len());
            let mut max_end = 0;
            for r in &spans {
                max_end = max_end.max(r.end);
                reach.push(max_end);
            }
            for (k, h) in hits.iter().enumerate() {
                if (h.list == List::Profanity) != group {
                    continue;
                }
                let n = spans.partition_point(|r| r.start <= h.units.start);
                if n > 0 && reach[n - 1] >= h.units.end {
                    keep[k] = false;
                }
            }
        }
        let mut k = 0;
        hits.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        // By list, then place, longest first; drop a hit inside an earlier one of its list.
        hits.sort_by(|a, b| {
            (a.list, a.units.start, std::cmp::Reverse(a.units.end)).cmp(&(
                b.list,
                b.units.start,
                std::cmp::Reverse(b.units.end),
            ))
        });
        let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
        for h in hits {
            if let Some(last) = out.last()
                && last.list == h.list
                && h.units.end <= last.units.end
            {
                continue;
            }
            out.push(h);
        }
        out
    }
}

/// Whitespace inside typed pinyin falls on syllable boundaries (`zui hao`), or every piece is
/// one letter (`z u i h a o`).
fn pinyin_spaces_ok(
    compact: &Compact,
    pinyin: &PinyinText,
    bytes: Range<usize>,
    bounds: &[usize],
) -> bool {
    let mut single = true;
    let mut bad = false;
    let mut piece = 0;
    let mut prev_unit = None;
    for b in bytes.clone() {
        let (u, _, _) = pinyin.at[b];
        let u = u as usize;
        if prev_unit == Some(u) {
            continue; // the rest of one Han syllable
        }
        let unit = &compact.units[u];
        if let Some(p) = prev_unit
            && unit.sep != super::normalize::Sep::None
        {
            let latin_pair = is_word(unit.c) && is_word(compact.units[p].c);
            if latin_pair
                && unit.sep == super::normalize::Sep::Space
                && !bounds.contains(&(b - bytes.start))
            {
                bad = true;
            }
            if piece > 1 {
                single = false;
            }
            piece = 0;
        }
        piece += 1;
        prev_unit = Some(u);
    }
    if piece > 1 {
        single = false;
    }
    !bad || single
}

/// A Han homophone of a listed word counts only where it stands as words of its own: it must
/// start and end on jieba word boundaries, and not be one dictionary word (`地衣` is lichen, not
/// `第一`; `鸡汁` is not `极致`; `低一点` splits as 低|一点).
fn homophone_stands_alone(compact: &Compact, units: &Range<usize>) -> bool {
    // The run of Han characters around the match, at most 12 on each side.
    let mut start = units.start;
    while start > 0 && units.start - start < 12 && is_han(compact.units[start - 1].c) {
        start -= 1;
    }
    let mut end = units.end;
    while end < compact.units.len() && end - units.end < 12 && is_han(compact.units[end].c) {
        end += 1;
    }
    let run: String = compact.units[start..end].iter().map(|u| u.c).collect();
    let mut at = start;
    let mut starts_ok = false;
    let mut ends_ok = false;
    for tok in jieba().cut(&run, false) {
        let n = tok.chars().count();
        if at == units.start && at + n == units.end && n > 1 {
            return false; // one dictionary word
        }
        if at == units.start {
            starts_ok = true;
        }
        if at + n == units.end {
            ends_ok = true;
        }
        at += n;
    }
    starts_ok && ends_ok
}
