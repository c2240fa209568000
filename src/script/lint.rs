//! Lint rules on what the host says or shows: word lists (`ad-law`, `banned-word`), clause
//! length (`breath`) and FAQ question normalization (`faq-collision`). Pure text functions;
//! `validate.rs` locates and reports what they find.

/// Rule name: words 《广告法》第九条第三项 forbids in ad copy (an error).
pub const RULE_AD_LAW: &str = "ad-law";
/// Rule name: a word of the script's own `chat.banned_words` (an error).
pub const RULE_BANNED_WORD: &str = "banned-word";
/// Rule name: a clause too long to say in one breath (a warning).
pub const RULE_BREATH: &str = "breath";
/// Rule name: the same FAQ question twice (a warning).
pub const RULE_FAQ_COLLISION: &str = "faq-collision";

/// Absolute terms China's Advertising Law (《广告法》第九条第三项: 不得使用"国家级"、"最高级"、
/// "最佳"等用语) forbids in ads, searched in everything the host says or shows. English matches
/// are case-insensitive whole words. Longer entries win over shorter ones at the same place.
#[rustfmt::skip]
pub const AD_LAW_WORDS: &[&str] = &[
    "最", "最佳", "最好", "最高", "最低", "最便宜", "最优", "最强", "全网最低", "史上最", "第一", "唯一", "顶级", "极品",
    "极致", "国家级", "世界级", "独家", "首选", "万能", "绝对", "100%有效", "无敌", "best", "No.1", "No. 1", "#1",
    "number one", "cheapest", "world-class", "guaranteed", "100% effective", "lowest price",
];

/// Ordinary words that contain a listed word but make no claim: time words (`最近`, `最后`),
/// limits (`最多买两件`), ordinals (`第一次`, `第一个亮点`) and set phrases (`do my best`).
/// A listed word (or a banned word) inside one of these is not reported.
#[rustfmt::skip]
pub const AD_LAW_ALLOWED: &[&str] = &[
    "最近", "最后", "最初", "最终", "最早", "最晚", "最多", "最少", "第一次", "第一步", "第一天", "第一个", "第一件", "第一眼",
    "第一时间", "第一轮", "第一批", "第一期", "第一种", "第一点", "all the best", "best wishes", "best regards",
    "do my best", "do our best", "try my best", "try our best",
];

/// Longest clause, in Han characters, before `breath` warns.
pub const BREATH_MAX_HAN: usize = 30;
/// Longest clause, in words, before `breath` warns.
pub const BREATH_MAX_WORDS: usize = 25;

/// Where a clause ends (a pause in speech).
pub(crate) fn is_pause(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '！'
            | '？'
            | '；'
            | '：'
            | '、'
            | ','
            | '.'
            | '!'
            | '?'
            | ';'
            | ':'
            | '…'
            | '～'
            | '~'
            | '\n'
            | '\r'
    )
}

/// `text` with every template variable (`{name}`) blanked out byte for byte, so words inside
/// variable names are not matched and byte offsets stay valid. `{{` / `}}` are kept.
pub(crate) fn mask_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                out.push_str("{{");
            }
            '{' => match text[i + 1..].find(['}', '{']) {
                Some(j) if text[i + 1 + j..].starts_with('}') => {
                    let len = j + 2;
                    out.extend(std::iter::repeat_n(' ', len));
                    let end = i + len;
                    while chars.peek().is_some_and(|&(k, _)| k < end) {
                        chars.next();
                    }
                }
                _ => out.push('{'),
            },
            c => out.push(c),
        }
    }
    out
}

/// A listed word found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// Byte offset in the text.
    pub byte: usize,
    /// The text as written there.
    pub text: String,
    /// The list entry it matched.
    pub word: String,
}

fn ascii_word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// A word list (and its allowed words) ready to search many texts: entries are lowercased
/// once and indexed by their first character.
pub(crate) struct WordMatcher<'w> {
    /// (first char, lowercased entry, entry as listed), sorted by first char.
    words: Vec<(char, String, &'w str)>,
    allowed: Vec<(char, String, &'w str)>,
}

fn index<'w>(list: &[&'w str]) -> Vec<(char, String, &'w str)> {
    let mut v: Vec<(char, String, &'w str)> = list
        .iter()
        .filter_map(|w| {
            let lower = w.to_ascii_lowercase();
            lower.chars().next().map(|c| (c, lower, *w))
        })
        .collect();
    v.sort_by_key(|e| e.0);
    v
}

/// Pushes `(start, end, entry)` for each place an entry of `index` is found in `lower`
/// (ASCII-lowercased text), whole-word where the entry starts or ends with a letter or digit.
fn scan<'w>(
    lower: &str,
    index: &[(char, String, &'w str)],
    out: &mut Vec<(usize, usize, &'w str)>,
) {
    let mut prev: Option<char> = None;
    for (at, c) in lower.char_indices() {
        let from = index.partition_point(|e| e.0 < c);
        for (_, w, orig) in index[from..].iter().take_while(|e| e.0 == c) {
            if !lower[at..].starts_with(w.as_str()) {
                continue;
            }
            let end = at + w.len();
            let after = lower[end..].chars().next();
            let left_ok = !(c.is_ascii_alphanumeric() && ascii_word_char(prev));
            let right_ok = !(ascii_word_char(w.chars().next_back()) && ascii_word_char(after));
            if left_ok && right_ok {
                out.push((at, end, *orig));
            }
        }
        prev = Some(c);
    }
}

impl<'w> WordMatcher<'w> {
    pub fn new(list: &[&'w str], allowed: &[&'w str]) -> WordMatcher<'w> {
        WordMatcher {
            words: index(list),
            allowed: index(allowed),
        }
    }

    /// The entries found in `text` (templates masked), outside the allowed words, in order;
    /// at one place the longest entry wins and overlapping finds are dropped.
    pub fn find(&self, text: &str) -> Vec<Found> {
        if self.words.is_empty() {
            return Vec::new();
        }
        let masked = mask_templates(text);
        let lower = masked.to_ascii_lowercase();
        let mut hits: Vec<(usize, usize, &str)> = Vec::new();
        scan(&lower, &self.words, &mut hits);
        if hits.is_empty() {
            return Vec::new();
        }
        let mut allowed = Vec::new();
        scan(&lower, &self.allowed, &mut allowed);
        hits.retain(|&(s, _, _)| !allowed.iter().any(|&(a, e, _)| a <= s && s < e));
        longest_first(text, hits)
    }
}

/// [`WordMatcher::find`] for one text.
#[cfg(test)]
pub(crate) fn find_words(text: &str, list: &[&str], allowed: &[&str]) -> Vec<Found> {
    WordMatcher::new(list, allowed).find(text)
}

fn longest_first(text: &str, mut hits: Vec<(usize, usize, &str)>) -> Vec<Found> {
    // By position, longest first; then drop what overlaps an earlier find.
    hits.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<Found> = Vec::new();
    let mut covered = 0;
    for (s, e, w) in hits {
        if s < covered {
            continue;
        }
        covered = e;
        let mut shown = text[s..e].to_string();
        // A bare `最` reads better with the word it makes superlative: `最美`.
        if w == "最"
            && let Some(c) = text[e..].chars().next()
            && is_han(c)
        {
            shown.push(c);
        }
        out.push(Found {
            byte: s,
            text: shown,
            word: (*w).to_string(),
        });
    }
    out
}

/// A CJK ideograph.
pub(crate) fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// A clause too long for one breath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LongClause {
    /// Byte offset of the clause in the text (after leading spaces).
    pub byte: usize,
    pub clause: String,
    /// Han characters (zh) in it.
    pub han: usize,
    /// Words (en) in it.
    pub words: usize,
    /// About halfway: the text up to where a comma would go (its last few characters).
    pub split_after: String,
}

/// Clauses of `text` (split at pauses, see [`is_pause`]) longer than [`BREATH_MAX_HAN`] Han
/// characters or [`BREATH_MAX_WORDS`] words.
pub(crate) fn long_clauses(text: &str) -> Vec<LongClause> {
    let mut out = Vec::new();
    let mut start = 0;
    let ends = text
        .char_indices()
        .filter(|&(_, c)| is_pause(c))
        .map(|(i, c)| (i, i + c.len_utf8()))
        .chain(std::iter::once((text.len(), text.len())));
    for (end, next) in ends {
        let clause = &text[start..end];
        let han = clause.chars().filter(|&c| is_han(c)).count();
        let words: Vec<(usize, usize)> = word_spans(clause);
        if han > BREATH_MAX_HAN || words.len() > BREATH_MAX_WORDS {
            let cut = if han > BREATH_MAX_HAN {
                zh_split(clause, han)
            } else {
                en_split(clause, &words)
            };
            let before = &clause[..cut];
            let tail: Vec<char> = before.trim_end().chars().collect();
            let keep = if han > BREATH_MAX_HAN { 6 } else { 20 };
            let mut split_after: String = tail[tail.len().saturating_sub(keep)..].iter().collect();
            if han <= BREATH_MAX_HAN
                && tail.len() > keep
                && let Some(sp) = split_after.find(' ')
            {
                // Whole words.
                split_after = split_after[sp + 1..].to_string();
            }
            let lead = clause.len() - clause.trim_start().len();
            out.push(LongClause {
                byte: start + lead,
                clause: clause[lead..].to_string(),
                han,
                words: words.len(),
                split_after,
            });
        }
        start = next;
    }
    out
}

/// Words a Chinese clause is naturally split before (a comma goes in front of them).
#[rustfmt::skip]
const ZH_CONNECTIVES: &[&str] = &[
    "而且", "并且", "但是", "所以", "因为", "如果", "还有", "同时", "不过", "然后", "而", "还", "也", "让", "就",
];
/// Words an English clause is naturally split before.
#[rustfmt::skip]
const EN_CONNECTIVES: &[&str] = &[
    "and", "but", "so", "because", "which", "while", "even", "or", "that", "when", "if",
    "with",
];

/// Where to put a comma in a long Chinese clause (a byte offset): before the connective
/// nearest the middle if one is in the middle half, else after the middle Han character.
fn zh_split(clause: &str, han: usize) -> usize {
    let han_at: Vec<usize> = clause
        .char_indices()
        .filter(|&(_, c)| is_han(c))
        .map(|(i, _)| i)
        .collect();
    let middle = han / 2;
    let best = ZH_CONNECTIVES
        .iter()
        .flat_map(|w| clause.match_indices(w).map(|(i, _)| i))
        .filter_map(|b| han_at.iter().position(|&h| h == b).map(|k| (k, b)))
        .filter(|&(k, _)| k >= han / 4 && k <= han * 3 / 4)
        .min_by_key(|&(k, _)| k.abs_diff(middle));
    match best {
        Some((_, b)) => b,
        None => han_at.get(middle).copied().unwrap_or(clause.len()),
    }
}

/// Where to put a comma in a long English clause (a byte offset, at the end of a word).
fn en_split(clause: &str, words: &[(usize, usize)]) -> usize {
    let n = words.len();
    let middle = n / 2;
    let best = (n / 4..=n * 3 / 4)
        .filter(|&k| k > 0 && k < n)
        .filter(|&k| {
            let (s, e) = words[k];
            EN_CONNECTIVES.contains(&clause[s..e].to_ascii_lowercase().as_str())
        })
        .min_by_key(|&k| k.abs_diff(middle));
    let k = best.unwrap_or(middle).max(1);
    words[k - 1].1
}

/// Byte ranges of the words (runs of ASCII letters, digits and apostrophes) of `text`.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let w = c.is_ascii_alphanumeric() || c == '\'' || c == '’';
        match (w, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// A question as compared by `faq-collision`: full-width forms folded to ASCII, lowercase,
/// spaces and punctuation dropped (`多少钱？`, `多少钱`, `ＨＯＷ much` are the same).
pub(crate) fn normalize_question(q: &str) -> String {
    q.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        find_words(text, AD_LAW_WORDS, AD_LAW_ALLOWED)
            .into_iter()
            .map(|f| f.text)
            .collect()
    }

    #[test]
    fn ad_law_words_are_found_longest_first() {
        assert_eq!(words("全网最低价，史上最强"), ["全网最低", "史上最"]);
        assert_eq!(words("这是最好的口红，第一名"), ["最好", "第一"]);
        assert_eq!(words("最美的颜色"), ["最美"]);
        assert_eq!(words("100%有效，绝对好用"), ["100%有效", "绝对"]);
        assert_eq!(
            words("The BEST lipstick, No.1 in town, guaranteed! Number one."),
            ["BEST", "No.1", "guaranteed", "Number one"]
        );
    }

    #[test]
    fn ordinary_words_are_allowed() {
        assert!(words("最近很火，最后一件，每人最多两件，第一次用，第一个亮点").is_empty());
        assert!(words("I'll do my best. Best wishes! bestow, No.10").is_empty());
        // Template variables are not text.
        assert!(words("{facts.最佳搭配} {{x}}").is_empty());
    }

    #[test]
    fn masking_keeps_offsets() {
        let t = "今天{price}元最低";
        let m = mask_templates(t);
        assert_eq!(m.len(), t.len());
        assert_eq!(m.find("最低"), t.find("最低"));
        assert_eq!(mask_templates("{{a}} {x"), "{{a}} {x");
    }

    #[test]
    fn long_clauses_are_found_and_split_in_the_middle() {
        let long = "这款口红采用了全新升级的丝绒哑光配方持久显色不拔干而且非常适合秋冬季节使用";
        let found = long_clauses(&format!("短句，{long}。好"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].byte, "短句，".len());
        assert!(found[0].han > BREATH_MAX_HAN);
        // Before the connective nearest the middle (而且), not in the middle of a word.
        assert_eq!(found[0].split_after, "久显色不拔干");
        assert!(long_clauses("持妆8小时，喝水吃饭也不容易掉色。").is_empty());
        let en = "this lipstick has a brand new velvet matte formula that stays on all day and never dries your lips even in the coldest winter months of the year";
        let found = long_clauses(en);
        assert_eq!(found.len(), 1);
        assert!(found[0].words > BREATH_MAX_WORDS);
        assert!(en.contains(&format!("{} and never", found[0].split_after)));
        // No connective in the middle half: after the middle character / word.
        let plain = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二";
        assert_eq!(long_clauses(plain)[0].split_after, "一二三四五六");
    }

    #[test]
    fn questions_normalize() {
        assert_eq!(normalize_question("多少钱？"), normalize_question("多少钱"));
        assert_eq!(
            normalize_question("ＨＯＷ much  is it?"),
            normalize_question("how much is it")
        );
        assert_ne!(normalize_question("多少钱"), normalize_question("多少克"));
    }
}
