//! Text handling shared by the brain: normalization, question detection, dedupe keys and the
//! terms the lexical index is built from (jieba words + Han character bigrams for Chinese,
//! stemmed lowercased words for English), with stop words and synonym groups.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::words::jieba;

/// Full-width ASCII → ASCII, ideographic space → space, lowercase, whitespace collapsed, trimmed.
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A Han (CJK unified ideograph) character.
pub(crate) fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Whether the text is mostly Chinese (any Han character counts: viewers mix in Latin letters).
pub(crate) fn has_han(text: &str) -> bool {
    text.chars().any(is_han)
}

/// Sentence-final particles that carry tone, not meaning (stripped by [`question_key`]).
const FINAL_PARTICLES: &[char] = &[
    '吗', '呢', '呀', '啊', '吖', '哦', '噢', '啦', '嘛', '哈', '鸭', '捏', '呐', '哇', '吧', '咩',
    '么', '嘞', '~', '～',
];

/// Address words viewers open with ("主播，多少钱"): stripped by [`question_key`].
const LEADING_ADDRESS: &[&str] = &[
    "请问一下",
    "请问",
    "问一下",
    "想问一下",
    "想问",
    "主播主播",
    "主播",
    "小姐姐",
    "姐妹们",
    "姐妹",
    "宝宝们",
    "宝宝",
    "家人们",
    "亲亲",
    "亲",
    "你好",
    "您好",
    "hi",
    "hello",
    "hey",
    "excuse me",
    "so",
];

/// A normalized key for dedupe: "多少钱？？" == "多少钱" == "多少钱呀" == "主播，多少钱～";
/// "How much is it?" == "how much is it". Full-width forms, case, spaces, punctuation, leading
/// address words (请问/主播/姐妹/hi) and sentence-final particles (吗/呢/呀/啊/~) are removed.
/// A text that is nothing but those keeps its bare normalized form (so "你好" has a key).
pub fn question_key(text: &str) -> String {
    let norm = normalize(text);
    // Words: keep letters, digits and Han characters; everything else separates.
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in norm.chars() {
        if c.is_alphanumeric() {
            cur.push(c);
        } else if !cur.is_empty() && (c == '\'' || c == '’') {
            // "what's" stays one word.
            cur.push('\'');
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let bare: String = words.join(" ");
    let mut key = bare.clone();
    // Leading address words, repeatedly ("请问主播，...").
    loop {
        let before = key.len();
        for lead in LEADING_ADDRESS {
            if let Some(rest) = key.strip_prefix(lead) {
                let ascii = lead.is_ascii();
                // An English word must end at a word boundary ("hi" but not "high").
                if ascii && !(rest.is_empty() || rest.starts_with(' ')) {
                    continue;
                }
                key = rest.trim_start().to_string();
                break;
            }
        }
        if key.len() == before {
            break;
        }
    }
    // Trailing English politeness.
    for tail in [" please", " pls", " plz", " thanks", " thx"] {
        if let Some(rest) = key.strip_suffix(tail) {
            key = rest.to_string();
        }
    }
    // Sentence-final particles, repeatedly ("多少钱呀呀", "包邮吗呢").
    while let Some(c) = key.chars().last() {
        if FINAL_PARTICLES.contains(&c) && key.chars().count() > 1 {
            key.pop();
            key = key.trim_end().to_string();
        } else {
            break;
        }
    }
    // Spaces between Han characters carry nothing ("多少 钱").
    let key = join_han_spaces(&key);
    if key.is_empty() { bare } else { key }
}

/// Removes spaces that have a Han character on either side.
fn join_han_spaces(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            if prev.is_some_and(is_han) || next.is_some_and(is_han) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Chinese question markers found anywhere in the text.
const ZH_QUESTION_WORDS: &[&str] = &[
    "多少",
    "怎么",
    "怎样",
    "怎么样",
    "如何",
    "什么",
    "啥",
    "咋",
    "哪",
    "为什么",
    "为啥",
    "能不能",
    "有没有",
    "是不是",
    "会不会",
    "可不可以",
    "可以吗",
    "行不行",
    "要不要",
    "好不好",
    "用不用",
    "几天",
    "几个",
    "几号",
    "几克",
    "几块",
    "几元",
    "几岁",
    "多久",
    "多大",
    "多长",
    "多重",
    "请问",
    "想问",
    "问一下",
    "想知道",
    "求",
    "咨询",
    "是否",
];

/// Chinese sentence-final question particles (the text ends with one, maybe followed by
/// punctuation or `~`).
const ZH_FINAL_QUESTION: &[char] = &['吗', '呢', '么', '嘛', '没', '不', '咩', '伐'];

/// English words that open a question.
const EN_QUESTION_OPENERS: &[&str] = &[
    "what", "what's", "whats", "how", "how's", "when", "where", "where's", "why", "who", "who's",
    "which", "whose", "can", "could", "is", "are", "am", "do", "does", "did", "will", "would",
    "should", "shall", "may", "any", "has", "have", "isn't", "aren't", "doesn't", "don't", "won't",
    "wanna", "pls", "please", "tell",
];

/// Request words that make a chat line a question even without a question form ("价格",
/// "求链接", "price?", "link pls").
const REQUEST_WORDS_ZH: &[&str] = &[
    "价格",
    "价钱",
    "多少钱",
    "优惠",
    "包邮",
    "发货",
    "快递",
    "运费",
    "链接",
    "怎么买",
    "怎么拍",
    "尺码",
    "色号",
];
const REQUEST_WORDS_EN: &[&str] = &["price", "link", "shipping", "discount", "coupon"];

/// Whether a chat line asks something (the chat stage answers questions and skips chatter).
/// True for a `?`/`？`, Chinese question words (多少/怎么/什么/哪/能不能/有没有/是不是…, an
/// A-不-A form such as 好不好), a final particle (吗/呢/么/没/不), English lines opening
/// with what/how/can/is/do…, and bare requests (价格, 求链接, price, link). Greetings, thanks and
/// exclamations ("主播好美", "哈哈哈", "how cute!") are not questions.
pub fn is_question(text: &str) -> bool {
    let norm = normalize(text);
    if norm.contains('?') {
        return true;
    }
    if has_han(&norm) {
        if ZH_QUESTION_WORDS.iter().any(|w| {
            norm.match_indices(w).any(|(i, _)| {
                // "好几个" is not a question.
                !(w.starts_with('几') && norm[..i].ends_with('好'))
            })
        }) {
            return true;
        }
        if REQUEST_WORDS_ZH.iter().any(|w| norm.contains(w)) {
            return true;
        }
        let han: Vec<char> = norm.chars().collect();
        // A-不-A / A-没-A: 好不好, 买不买, 有没有.
        if han
            .windows(3)
            .any(|w| is_han(w[0]) && w[0] == w[2] && (w[1] == '不' || w[1] == '没'))
        {
            return true;
        }
        let last = norm
            .chars()
            .rev()
            .find(|c| c.is_alphanumeric() || is_han(*c));
        if let Some(c) = last
            && ZH_FINAL_QUESTION.contains(&c)
        {
            // "包邮不" asks; a lone "不" or "没" is an answer.
            return norm.chars().filter(|c| is_han(*c)).count() >= 2;
        }
        // An English question typed in a Chinese room ("how much 口红") still counts below.
    }
    let words = latin_words(&norm);
    if let Some(first) = words.first() {
        let exclaims = norm.trim_end().ends_with('!');
        if EN_QUESTION_OPENERS.contains(&first.as_str()) && !(first == "how" && exclaims) {
            // "is" / "do" also open statements rarely; "how cute!" is an exclamation.
            return words.len() >= 2 || first != "is";
        }
    }
    words.iter().any(|w| REQUEST_WORDS_EN.contains(&w.as_str()))
}

/// Lowercased Latin/digit words of a normalized text (apostrophes kept inside words).
pub(crate) fn latin_words(norm: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for c in norm.chars() {
        if c.is_ascii_alphanumeric()
            || (c == '.' && cur.chars().all(|c| c.is_ascii_digit()) && !cur.is_empty())
        {
            cur.push(c);
        } else if (c == '\'' || c == '’') && !cur.is_empty() {
            cur.push('\'');
        } else if !cur.is_empty() {
            words.push(
                std::mem::take(&mut cur)
                    .trim_end_matches(['.', '\''])
                    .to_string(),
            );
        }
    }
    if !cur.is_empty() {
        words.push(cur.trim_end_matches(['.', '\'']).to_string());
    }
    words.retain(|w| !w.is_empty());
    words
}

/// Whether `kw` occurs in the normalized `text`: Han keywords as substrings, Latin ones as whole
/// words (a Han character or punctuation is a boundary: "你是ai吗" has "ai", "said" does not).
pub(crate) fn contains_keyword(text: &str, kw: &str) -> bool {
    if !kw.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return text.contains(kw);
    }
    let bytes = text.as_bytes();
    text.match_indices(kw).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + kw.len()).copied();
        let boundary = |b: Option<u8>| b.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'\''));
        boundary(before) && boundary(after)
    })
}

/// A tiny English stemmer: enough that "lasts"/"lasting", "fades"/"fading"/"faded" and
/// "shades"/"shade" meet. Not Porter; both sides of a comparison go through it.
pub(crate) fn stem(word: &str) -> String {
    let mut w = word
        .trim_end_matches("'s")
        .trim_end_matches('\'')
        .to_string();
    let n = w.chars().count();
    if n >= 5 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if n >= 6 && w.ends_with("ing") {
        w.truncate(w.len() - 3);
    } else if n >= 5 && w.ends_with("ed") && !w.ends_with("eed") {
        w.truncate(w.len() - 2);
    } else if n >= 4 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        w.truncate(w.len() - 1);
    }
    if w.chars().count() >= 4 && w.ends_with('e') {
        w.pop();
    }
    // "running" → "runn" → "run": a doubled final consonant left by -ing/-ed.
    let b = w.as_bytes();
    if b.len() >= 4 && b[b.len() - 1] == b[b.len() - 2] && !b"aeiouls".contains(&b[b.len() - 1]) {
        w.pop();
    }
    w
}

/// Chinese words that carry no content for retrieval: grammar, chat filler, address words,
/// interrogatives (the question form is not what is asked about).
const ZH_STOP: &[&str] = &[
    "的",
    "了",
    "吗",
    "呢",
    "啊",
    "呀",
    "吧",
    "哦",
    "噢",
    "嘛",
    "么",
    "啦",
    "哈",
    "哇",
    "呐",
    "嘞",
    "是",
    "有",
    "在",
    "我",
    "你",
    "您",
    "它",
    "他",
    "她",
    "我们",
    "你们",
    "大家",
    "这",
    "那",
    "这个",
    "那个",
    "这款",
    "那款",
    "这支",
    "那支",
    "这瓶",
    "这罐",
    "这种",
    "一下",
    "一个",
    "到底",
    "真的",
    "就",
    "都",
    "也",
    "还",
    "和",
    "跟",
    "与",
    "或",
    "或者",
    "还是",
    "很",
    "太",
    "挺",
    "比较",
    "非常",
    "特别",
    "吗",
    "不",
    "没",
    "没有",
    "会",
    "能",
    "可以",
    "可",
    "要",
    "想",
    "请问",
    "请",
    "问",
    "问问",
    "想问",
    "主播",
    "姐妹",
    "姐妹们",
    "宝宝",
    "宝宝们",
    "家人们",
    "亲",
    "亲亲",
    "小姐姐",
    "什么",
    "怎么",
    "怎么样",
    "怎样",
    "如何",
    "多少",
    "几",
    "哪",
    "哪个",
    "哪里",
    "啥",
    "咋",
    "为什么",
    "为啥",
    "能不能",
    "有没有",
    "是不是",
    "会不会",
    "可不可以",
    "行不行",
    "用",
    "吃",
    "说",
    "知道",
    "看看",
    "告诉",
    "下",
    "个",
    "款",
    "支",
    "把",
    "被",
    "给",
    "让",
    "对",
    "又",
    "再",
    "呗",
    "嗯",
    "哎",
    "诶",
    "额",
    "呃",
    "么么",
    "你好",
    "您好",
    "谢谢",
    "好",
    "多",
    "一",
    "多大",
    "多久",
    "多重",
    "多长",
    "几天",
    "几个",
    "几年",
    "几次",
    "多少次",
    "怎么办",
    "一点",
    "有点",
    "这是",
    "那是",
    "不会",
    "不能",
    "不是",
    "容易",
    "效果",
    "能用",
    "可以用",
    "用着",
    "涂",
    "严重",
    "现在",
    "今天",
];

/// English words that carry no content for retrieval.
const EN_STOP: &[&str] = &[
    "a", "an", "the", "is", "are", "am", "was", "were", "be", "been", "being", "do", "does", "did",
    "doe", "i", "me", "my", "you", "your", "u", "it", "its", "it's", "this", "that", "these",
    "those", "there", "what", "what's", "whats", "how", "when", "where", "why", "who", "which",
    "can", "could", "will", "would", "should", "shall", "may", "might", "must", "to", "of", "in",
    "on", "at", "for", "with", "and", "or", "but", "so", "if", "any", "some", "there", "please",
    "pls", "plz", "hi", "hey", "hello", "thanks", "thank", "tell", "about", "have", "has", "had",
    "get", "got", "one", "just", "really", "very", "much", "many", "also", "too", "we", "us",
    "our", "they", "them", "their", "he", "she", "her", "his", "im", "i'm", "you're", "we're",
    "let", "know", "want", "like", "would", "wonder", "question", "guys", "girls", "host", "okay",
    "ok", "yes", "no", "not", "don't", "doesn't", "isn't", "by", "from", "as", "than", "then",
    "into", "up", "out", "all", "again", "more", "most", "some", "such", "only", "own", "same",
    "other", "kind", "sort", "thing", "stuff", "use", "using", "used", "off", "quite", "pretty",
    "super", "tonight", "today", "now", "right", "lol", "omg", "yeah", "well",
];

fn zh_stop() -> &'static std::collections::HashSet<&'static str> {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| ZH_STOP.iter().copied().collect())
}

fn en_stop() -> &'static std::collections::HashSet<String> {
    static SET: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        EN_STOP
            .iter()
            .flat_map(|w| [w.to_string(), stem(w)])
            .collect()
    })
}

/// Whether a Chinese word is a stop word (whole-word match).
pub(crate) fn is_zh_stop(word: &str) -> bool {
    zh_stop().contains(word)
}

/// Whether an English word (raw or stemmed) is a stop word.
pub(crate) fn is_en_stop(word: &str) -> bool {
    en_stop().contains(word)
}

/// The retrieval terms of a text: its [`words`], then the character bigrams of the Han runs
/// between stop words (so a phrase jieba cuts differently in a question still meets the
/// document). A term may repeat (term frequency counts).
pub(crate) fn terms(text: &str) -> Vec<String> {
    let (mut words, bigrams) = split(text);
    words.extend(bigrams);
    words
}

/// The words of a text: jieba words with stop words and final particles removed, and stemmed
/// lowercase English words.
pub(crate) fn words(text: &str) -> Vec<String> {
    split(text).0
}

fn split(text: &str) -> (Vec<String>, Vec<String>) {
    let norm = normalize(text);
    let mut out = Vec::new();
    let mut bigrams = Vec::new();
    // Han stretches go to jieba; everything else is read as English words (jieba would cut
    // "what's" into "what", "'", "s").
    let mut start = 0;
    let mut han_run = false;
    let mut pieces: Vec<(bool, &str)> = Vec::new();
    for (i, c) in norm.char_indices() {
        let h = is_han(c);
        if h != han_run && i > start {
            pieces.push((han_run, &norm[start..i]));
            start = i;
        }
        if i == start {
            han_run = h;
        }
    }
    if start < norm.len() {
        pieces.push((han_run, &norm[start..]));
    }
    for (han, piece) in pieces {
        if han {
            split_han(piece, &mut out, &mut bigrams);
            continue;
        }
        for w in latin_words(piece) {
            let s = stem(&w);
            if w.chars().count() >= 2 && !is_en_stop(&w) && !is_en_stop(&s) && !s.is_empty() {
                out.push(s);
            }
        }
    }
    (out, bigrams)
}

/// jieba words of a Han stretch (stop words and final particles removed) and the character
/// bigrams of its runs between stop words.
fn split_han(piece: &str, out: &mut Vec<String>, bigrams: &mut Vec<String>) {
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, bigrams: &mut Vec<String>| {
        if run.len() >= 2 {
            for w in run.windows(2) {
                bigrams.push(w.iter().collect());
            }
        }
        run.clear();
    };
    for word in jieba().cut(piece, true) {
        if is_zh_stop(word) {
            flush(&mut run, bigrams);
            continue;
        }
        // Particles glued to a word by jieba ("掉色吗" is cut well, but be safe).
        let trimmed = word.trim_end_matches(FINAL_PARTICLES);
        if trimmed.is_empty() || is_zh_stop(trimmed) {
            flush(&mut run, bigrams);
            continue;
        }
        out.push(trimmed.to_string());
        run.extend(trimmed.chars());
        if trimmed.len() != word.len() {
            flush(&mut run, bigrams);
        }
    }
    flush(&mut run, bigrams);
}

/// Synonym groups for retrieval: a query term also matches the other members of its groups
/// (at a lower weight). Everyday live-commerce vocabulary, zh and en (English members are
/// stemmed when the table is built).
const SYNONYMS: &[&[&str]] = &[
    // lasting / fading
    &[
        "持久",
        "持妆",
        "掉色",
        "褪色",
        "脱色",
        "掉妆",
        "脱妆",
        "保持",
        "持续",
        "留色",
        "沾杯",
        "粘杯",
        "维持",
        "持妆",
        "last",
        "lasting",
        "fade",
        "wear",
        "stay",
        "smudge",
        "transfer",
        "budge",
        "long",
        "durable",
        "hour",
        "day",
        "一整天",
        "整天",
        "小时",
    ],
    // colour
    &[
        "颜色", "色号", "色系", "显白", "显黑", "黄皮", "白皮", "肤色", "色调", "shade", "color",
        "colour", "tone", "hue", "flatter", "red",
    ],
    // price
    &[
        "价格",
        "价钱",
        "多少钱",
        "售价",
        "优惠",
        "便宜",
        "折扣",
        "打折",
        "划算",
        "到手价",
        "贵",
        "price",
        "cost",
        "cheap",
        "discount",
        "deal",
        "coupon",
        "expensive",
        "dollar",
    ],
    // skin type
    &[
        "肤质",
        "油皮",
        "干皮",
        "混油",
        "混干",
        "敏感肌",
        "油性",
        "干性",
        "皮肤",
        "肌肤",
        "痘痘肌",
        "混合皮",
        "skin",
        "oily",
        "dry",
        "sensitive",
        "combination",
        "type",
    ],
    // shelf life
    &[
        "保质期",
        "有效期",
        "过期",
        "保存",
        "能放",
        "放多久",
        "shelf",
        "life",
        "expire",
        "expiration",
        "expiry",
        "keep",
    ],
    // size / net content
    &[
        "净含量",
        "容量",
        "克数",
        "几克",
        "分量",
        "重量",
        "规格",
        "含量",
        "多少克",
        "克",
        "g",
        "size",
        "weight",
        "weigh",
        "gram",
        "grams",
        "volume",
        "ml",
        "ounce",
        "oz",
        "big",
        "net",
        "heavy",
        "amount",
    ],
    // ingredients
    &[
        "成分",
        "配方",
        "添加",
        "ingredient",
        "formula",
        "contain",
        "made",
    ],
    // moisture
    &[
        "保湿",
        "滋润",
        "拔干",
        "干燥",
        "水润",
        "补水",
        "hydrate",
        "hydrating",
        "moisture",
        "moisturizing",
        "moisturising",
    ],
    // scent
    &[
        "香味",
        "味道",
        "香精",
        "气味",
        "香",
        "scent",
        "smell",
        "fragrance",
        "perfume",
    ],
    // alcohol / irritation
    &[
        "酒精", "刺激", "过敏", "alcohol", "irritat", "allergy", "allergic", "gentle",
    ],
];

/// Term → the other terms of its synonym groups.
pub(crate) fn synonyms() -> &'static HashMap<String, Vec<String>> {
    static MAP: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for group in SYNONYMS {
            let members: Vec<String> = group
                .iter()
                .map(|w| if w.is_ascii() { stem(w) } else { w.to_string() })
                .collect();
            for m in &members {
                let entry = map.entry(m.clone()).or_default();
                for other in &members {
                    if other != m && !entry.contains(other) {
                        entry.push(other.clone());
                    }
                }
            }
        }
        map
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_keys_match_across_punctuation_particles_and_address() {
        let k = question_key("多少钱");
        assert_eq!(k, "多少钱");
        for q in [
            "多少钱？？",
            "多少钱呀",
            "多少钱~",
            "主播，多少钱呀～",
            "请问 多少钱?",
            "多少钱！！",
        ] {
            assert_eq!(question_key(q), k, "{q}");
        }
        assert_eq!(
            question_key("ＨＯＷ much is it??"),
            question_key("how much is it")
        );
        assert_eq!(question_key("Hi, how much is it? please"), "how much is it");
        // A key is never empty for a non-empty text.
        assert_eq!(question_key("你好"), "你好");
        assert_eq!(question_key("吗"), "吗");
        // Different questions stay different.
        assert_ne!(question_key("面霜多少钱"), question_key("口红多少钱"));
        assert_ne!(question_key("high price"), question_key("price"));
    }

    #[test]
    fn detects_questions_and_skips_chatter() {
        for q in [
            "多少钱",
            "持久吗",
            "这个色号显白么",
            "包邮不",
            "发货了没",
            "好不好用",
            "有没有小样",
            "能不能便宜点",
            "怎么买",
            "口红什么颜色",
            "价格",
            "求链接",
            "净含量多少？",
            "几天到",
            "How much is it",
            "can I use it on dry lips",
            "is it waterproof",
            "price?",
            "link pls",
            "what shade is this",
        ] {
            assert!(is_question(q), "{q} should be a question");
        }
        for s in [
            "主播好美",
            "哈哈哈哈",
            "666",
            "买了",
            "已拍",
            "来了来了",
            "买了好几个",
            "谢谢主播",
            "主播好",
            "love it",
            "how cute!",
            "this is great",
            "",
            "不",
        ] {
            assert!(!is_question(s), "{s} should not be a question");
        }
    }

    #[test]
    fn terms_drop_stop_words_and_add_bigrams() {
        let t = terms("主播，这个口红持久吗？");
        assert!(t.contains(&"口红".to_string()), "{t:?}");
        assert!(t.contains(&"持久".to_string()), "{t:?}");
        assert!(
            !t.iter()
                .any(|w| w.contains('吗') || w == "主播" || w == "这个"),
            "{t:?}"
        );
        let e = terms("Does it fade? How long does it last");
        assert!(
            e.contains(&"fad".to_string()) && e.contains(&"last".to_string()),
            "{e:?}"
        );
        assert!(
            !e.contains(&"does".to_string()) && !e.contains(&"it".to_string()),
            "{e:?}"
        );
        assert_eq!(stem("fading"), stem("fades"));
        assert_eq!(stem("shades"), stem("shade"));
        assert_eq!(stem("lasting"), "last");
    }

    #[test]
    fn keywords_match_whole_latin_words() {
        assert!(contains_keyword("你是ai吗", "ai"));
        assert!(contains_keyword("are you ai?", "ai"));
        assert!(!contains_keyword("she said so", "ai"));
        assert!(contains_keyword("多少钱啊", "多少钱"));
    }
}
