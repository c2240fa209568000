//! Text normalization for matching: what a viewer typed → one folded character per unit, each
//! remembering where it came from in the raw text.
//!
//! 1. **Invisible** characters go: controls (tab/newline become spaces), zero-width and
//!    bidi marks (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, U+061C, U+FEFF, U+2060),
//!    variation selectors, combining marks (`b̶e̶s̶t̶`), keycaps, tag characters.
//! 2. **Folding**, one character to one: full-width → half-width (`ＡＢＣ１２３`, `，！？`),
//!    lower case, look-alikes (Cyrillic `а`, math bold `𝐛`, circled `Ⓑ`, enclosed `①`,
//!    regional indicators), traditional → simplified ([`TRAD_SIMP`]: the characters of the
//!    word lists and common ones).
//!    The result is the **plain** text ([`Plain`]): personal data is found here.
//! 3. **Compacting**: separators between characters are removed and remembered (spaces, `.`,
//!    `-`, `_`, `*`, `|`, `/`, quotes, brackets, emoji and symbols; zero-width marks count as
//!    separators too), clause punctuation (`, ! ? ; :` and `。、`) stays as a hard stop that no
//!    word crosses, and a run of three or more of one Latin letter becomes one (`fuuuck`).
//!    The result is the **compact** text ([`Compact`]): words are found here.
//! 4. **Pinyin**: every Han character of the compact text is replaced by its toneless pinyin
//!    (Latin letters stay, anything else is a stop): [`PinyinText`]. Homophones and typed
//!    pinyin of the listed words are found here.

use std::ops::Range;
use std::sync::OnceLock;

use pinyin::{ToPinyin, ToPinyinMulti};

/// How a character takes part in matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    /// Part of words: letters, digits, Han, `%`, `#`, `@`.
    Keep,
    /// Whitespace between characters: removed, remembered as [`Sep::Space`].
    Space,
    /// Punctuation, symbols, emoji, zero-width marks between characters: removed, remembered as
    /// [`Sep::Mark`].
    Mark,
    /// Clause punctuation: kept in the compact text; no word crosses it.
    Hard,
}

/// What was removed right before a compact unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sep {
    None,
    /// Only whitespace.
    Space,
    /// At least one non-space separator (`.`, `*`, emoji, a zero-width mark, ...).
    Mark,
}

/// A character that is never seen: it is dropped without leaving a separator.
pub(super) fn is_dropped(c: char) -> bool {
    matches!(u32::from(c),
        0x0300..=0x036F      // combining diacritics (strike-through letters)
        | 0x1AB0..=0x1AFF
        | 0x20D0..=0x20FF    // combining marks for symbols, keycap U+20E3
        | 0xFE00..=0xFE0F    // variation selectors
        | 0xFE20..=0xFE2F
        | 0xE0000..=0xE007F  // tags
        | 0xE0100..=0xE01EF  // variation selectors supplement
    )
}

/// Zero-width, bidi and other format characters (removed from clean text; a separator for
/// matching).
pub(super) fn is_invisible(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0x3164 | 0xFEFF | 0xFFA0 | 0xFFF9..=0xFFFB
    )
}

/// A control character other than whitespace.
pub(super) fn is_control(c: char) -> bool {
    c.is_control() && !c.is_whitespace()
}

/// A Han character (CJK unified ideographs and extensions).
pub(super) fn is_han(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// A Latin letter or digit (after folding): the characters of an English word.
pub(super) fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// The class of a folded character.
pub(super) fn class(c: char) -> Class {
    if c.is_alphanumeric() || matches!(c, '%' | '#' | '@') {
        return Class::Keep;
    }
    if c.is_whitespace() {
        return Class::Space;
    }
    match c {
        ',' | '!' | '?' | ';' | ':' | '。' | '、' | '｡' | '､' | '¡' | '¿' => Class::Hard,
        _ => Class::Mark,
    }
}

/// Traditional → simplified for the characters of the word lists and common ones, as pairs.
#[rustfmt::skip]
const TRAD_SIMP: &str = concat!(
    "優优強强網网價价殺杀獨独頂顶級级極极緻致國国選选萬万絕绝對对無无敵敌歷历證证媽妈幹干賤贱",
    "貨货騷骚腦脑殘残廢废癡痴雞鸡滾滚雜杂種种臥卧瑪玛設设規规則则詞词現现讀读說说説说話话複复",
    "請请裝装統统開开發发獄狱輸输條条號号碼码電电聯联繫系係系區区縣县鎮镇鄉乡樓楼棟栋單单層层",
    "門门郵邮銀银這这個个們们來来時时為为麼么嗎吗與与會会買买賣卖錢钱貴贵點点後后氣气東东麗丽",
    "愛爱關关專专業业產产質质問问題题還还沒没見见長长實实顏颜運运費费動动態态體体驗验試试興兴",
    "學学當当應应給给讓让聽听歡欢謝谢適适膚肤乾干濕湿潤润護护寶宝禮礼親亲隻只雙双紅红綠绿藍蓝",
    "黃黄約约總总數数準准確确認认識识語语講讲寫写聲声頭头臉脸髮发顯显傳传據据聞闻訂订購购車车",
    "廠厂場场漲涨熱热線线紙纸務务視视覺觉夠够壞坏髒脏鬆松緊紧輕轻邊边裡里裏里麵面鹹咸纖纤維维",
    "絲丝頸颈腳脚臟脏變变舊旧錯错辦办處处員员師师齊齐擁拥觸触續续鐘钟鍾钟隨随難难離离際际團团",
    "搶抢貝贝評评論论讚赞贊赞誇夸雖虽纔才遞递滅灭彈弹槍枪顆颗騙骗屍尸豬猪龜龟兒儿記记從从絡络",
    "職职結结賺赚羣群領领機机廣广蘇苏滬沪雲云灣湾臺台遼辽寧宁陝陕晉晋魯鲁粵粤瓊琼幣币標标準准",
    "勝胜獎奖劃划嚴严錄录鍵键餘余盡尽蓋盖隊队懷怀戶户廳厅義义藝艺術术鮮鲜魚鱼鳥鸟馬马驢驴蟲虫",
    "蠶蚕範范歲岁圍围園园圓圆環环備备傷伤價价優优勢势嘩哗喪丧嚇吓奮奋婦妇孫孙寵宠憂忧戲戏戰战",
    "擊击據据擇择斷断暫暂樣样檢检歸归淨净滿满漢汉瀏浏燈灯爛烂獲获環环癢痒皺皱盤盘縮缩罰罚聖圣",
    "腎肾臨临艱艰蘭兰處处號号補补襯衬訊讯討讨訴诉詢询該该誠诚誤误調调談谈謊谎證证豐丰負负貼贴",
    "賠赔賞赏贈赠趕赶躍跃軟软輛辆農农鄰邻醫医針针錶表鏡镜長长閃闪閱阅陰阴陽阳隱隐雜杂靈灵響响",
    "頁页順顺預预頻频願愿飛飞飯饭飲饮餅饼館馆騎骑驚惊髮发鬧闹鬥斗麥麦齒齿龍龙婊婊屌屌蠢蠢畜畜",
);

fn trad_table() -> &'static [(char, char)] {
    static TABLE: OnceLock<Vec<(char, char)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let chars: Vec<char> = TRAD_SIMP.chars().collect();
        let mut v: Vec<(char, char)> = chars
            .chunks_exact(2)
            .map(|p| (p[0], p[1]))
            .filter(|(t, s)| t != s)
            .collect();
        v.sort_unstable();
        v.dedup_by_key(|p| p.0);
        v
    })
}

/// The simplified form of a traditional character in the table, else the character.
pub(super) fn simplify(c: char) -> char {
    let t = trad_table();
    match t.binary_search_by_key(&c, |p| p.0) {
        Ok(i) => t[i].1,
        Err(_) => c,
    }
}

/// Look-alike letters from other scripts that evaders use for Latin.
fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'а' | 'А' | 'α' => 'a',
        'е' | 'Е' | 'ε' => 'e',
        'о' | 'О' | 'ο' | 'Ο' => 'o',
        'р' | 'Р' | 'ρ' => 'p',
        'с' | 'С' => 'c',
        'у' | 'У' => 'y',
        'х' | 'Х' | 'χ' => 'x',
        'к' | 'К' | 'κ' => 'k',
        'М' => 'm',
        'Т' | 'τ' => 't',
        'В' | 'β' => 'b',
        'Н' => 'h',
        'і' | 'І' | 'ι' => 'i',
        'ѕ' | 'Ѕ' => 's',
        'ј' | 'Ј' => 'j',
        'ν' => 'v',
        _ => return None,
    })
}

/// A Latin letter with a diacritic → the bare letter (`zuì jiā` is typed pinyin; `ü` → `v`
/// as pinyin keyboards write it).
fn strip_diacritic(c: char) -> Option<char> {
    const TABLE: &[(&str, char)] = &[
        ("àáâãäåāăąǎ", 'a'),
        ("èéêëēĕėęě", 'e'),
        ("ìíîïĩīĭįǐ", 'i'),
        ("òóôõöøōŏőǒ", 'o'),
        ("ùúûũūŭůűųǔ", 'u'),
        ("üǖǘǚǜ", 'v'),
        ("ñńņňǹ", 'n'),
        ("çćĉċč", 'c'),
        ("ýÿŷ", 'y'),
        ("śŝşš", 's'),
        ("źżž", 'z'),
        ("ğĝġģ", 'g'),
        ("ďđ", 'd'),
        ("ĺļľŀł", 'l'),
        ("ŕŗř", 'r'),
        ("ţťŧ", 't'),
    ];
    if !matches!(u32::from(c), 0xE0..=0x1FF) {
        return None;
    }
    TABLE
        .iter()
        .find(|(set, _)| set.contains(c))
        .map(|&(_, b)| b)
}

/// One character folded: width, look-alikes, case, diacritics, traditional → simplified.
pub(super) fn fold(c: char) -> char {
    let u = u32::from(c);
    let c = match u {
        0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        0xFF61 => '。',
        0xFF64 => '、',
        0xFFE0 => '¢',
        0xFFE1 => '£',
        0xFFE5 => '¥',
        // Mathematical alphanumerics: 13 styles of A–Z a–z, then 5 of 0–9.
        0x1D400..=0x1D6A3 => {
            let i = (u - 0x1D400) % 52;
            char::from_u32(if i < 26 { 0x41 + i } else { 0x61 + i - 26 }).unwrap_or(c)
        }
        0x1D7CE..=0x1D7FF => char::from_u32(0x30 + (u - 0x1D7CE) % 10).unwrap_or(c),
        // ①–⑨, ⓪; Ⓐ–Ⓩ, ⓐ–ⓩ; squared, circled and negative letters; regional indicators.
        0x2460..=0x2468 => char::from_u32(0x31 + u - 0x2460).unwrap_or(c),
        0x24EA => '0',
        0x2776..=0x277E => char::from_u32(0x31 + u - 0x2776).unwrap_or(c),
        0x24B6..=0x24CF => char::from_u32(0x61 + u - 0x24B6).unwrap_or(c),
        0x24D0..=0x24E9 => char::from_u32(0x61 + u - 0x24D0).unwrap_or(c),
        0x1F130..=0x1F149 => char::from_u32(0x61 + u - 0x1F130).unwrap_or(c),
        0x1F150..=0x1F169 => char::from_u32(0x61 + u - 0x1F150).unwrap_or(c),
        0x1F170..=0x1F189 => char::from_u32(0x61 + u - 0x1F170).unwrap_or(c),
        0x1F1E6..=0x1F1FF => char::from_u32(0x61 + u - 0x1F1E6).unwrap_or(c),
        _ => c,
    };
    if let Some(h) = homoglyph(c) {
        return h;
    }
    let c = if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if c.is_uppercase() {
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    } else {
        c
    };
    if let Some(b) = strip_diacritic(c) {
        return b;
    }
    if u32::from(c) >= 0x3400 {
        simplify(c)
    } else {
        c
    }
}

/// Folds a short text (a list entry, a slice of raw text) without removing anything but the
/// invisible characters: what "as written" means when telling a plain use of a word from an
/// evasion.
pub(super) fn fold_str(s: &str) -> String {
    s.chars().filter(|&c| !is_dropped(c)).map(fold).collect()
}

/// The plain text: invisible characters removed, every other character folded.
#[derive(Debug, Default)]
pub(super) struct Plain {
    /// Folded characters.
    pub chars: Vec<char>,
    /// The raw byte range each came from.
    pub raw: Vec<Range<usize>>,
    /// An invisible character (zero-width, bidi, control) was removed right before it.
    pub invisible_before: Vec<bool>,
}

impl Plain {
    pub fn new(raw: &str) -> Plain {
        let mut p = Plain {
            chars: Vec::with_capacity(raw.len()),
            raw: Vec::with_capacity(raw.len()),
            invisible_before: Vec::with_capacity(raw.len()),
        };
        let mut invisible = false;
        for (i, c) in raw.char_indices() {
            if is_dropped(c) {
                // Attach to the previous character so spans stay whole.
                if let Some(last) = p.raw.last_mut() {
                    last.end = i + c.len_utf8();
                }
                continue;
            }
            if is_invisible(c) || is_control(c) {
                invisible = true;
                continue;
            }
            p.chars.push(fold(c));
            p.raw.push(i..i + c.len_utf8());
            p.invisible_before.push(invisible);
            invisible = false;
        }
        p
    }

    /// The folded text as a string (for tests and details).
    #[cfg(test)]
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }
}

/// One character of the compact text.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub c: char,
    /// Raw byte range (several raw characters when a letter run was squeezed).
    pub raw: Range<usize>,
    /// What was removed right before this unit.
    pub sep: Sep,
}

/// The compact text: separators removed, clause punctuation kept, letter runs squeezed.
#[derive(Debug, Default)]
pub(super) struct Compact {
    pub units: Vec<Unit>,
    pub text: String,
    /// Unit index of each byte offset of `text` that starts a character, and of `text.len()`.
    at_byte: Vec<u32>,
}

impl Compact {
    pub fn new(plain: &Plain) -> Compact {
        let mut units: Vec<Unit> = Vec::with_capacity(plain.chars.len());
        let mut sep = Sep::None;
        for (k, &c) in plain.chars.iter().enumerate() {
            if plain.invisible_before[k] {
                sep = Sep::Mark;
            }
            match class(c) {
                Class::Space => {
                    if sep == Sep::None {
                        sep = Sep::Space;
                    }
                }
                Class::Mark => sep = Sep::Mark,
                Class::Keep | Class::Hard => {
                    units.push(Unit {
                        c,
                        raw: plain.raw[k].clone(),
                        sep,
                    });
                    sep = Sep::None;
                }
            }
        }
        // Squeeze runs of three or more of one Latin letter (no separator inside) into one.
        let mut squeezed: Vec<Unit> = Vec::with_capacity(units.len());
        let mut i = 0;
        while i < units.len() {
            let c = units[i].c;
            let mut j = i + 1;
            if c.is_ascii_alphabetic() {
                while j < units.len() && units[j].c == c && units[j].sep == Sep::None {
                    j += 1;
                }
            }
            if j - i >= 3 {
                let mut u = units[i].clone();
                u.raw.end = units[j - 1].raw.end;
                squeezed.push(u);
            } else {
                squeezed.extend(units[i..j].iter().cloned());
            }
            i = j;
        }
        let mut text = String::with_capacity(squeezed.len() * 3);
        let mut at_byte = Vec::new();
        for (k, u) in squeezed.iter().enumerate() {
            at_byte.resize(text.len(), u32::MAX);
            at_byte.push(k as u32);
            text.push(u.c);
        }
        at_byte.resize(text.len(), u32::MAX);
        at_byte.push(squeezed.len() as u32);
        Compact {
            units: squeezed,
            text,
            at_byte,
        }
    }

    /// The unit range of a byte range of `text` (both ends on character boundaries).
    pub fn units_of(&self, bytes: Range<usize>) -> Range<usize> {
        self.at_byte[bytes.start] as usize..self.at_byte[bytes.end] as usize
    }

    /// The raw byte range covered by a unit range (non-empty).
    pub fn raw_of(&self, units: &Range<usize>) -> Range<usize> {
        self.units[units.start].raw.start..self.units[units.end - 1].raw.end
    }

    /// A Latin word may start at unit `u`: nothing Latin glued before it.
    pub fn word_start(&self, u: usize) -> bool {
        u == 0 || !is_word(self.units[u - 1].c) || self.units[u].sep != Sep::None
    }

    /// A Latin word may end before unit `u`.
    pub fn word_end(&self, u: usize) -> bool {
        u >= self.units.len() || !is_word(self.units[u].c) || self.units[u].sep != Sep::None
    }

    /// Whitespace inside `units` between two Latin characters is acceptable for an entry
    /// whose own word breaks are at `splits` (unit offsets from the start of the match):
    /// `lowest price` may be typed with its space, `b e s t` letter by letter, but `a hole`
    /// is not `ahole`.
    pub fn spaces_ok(&self, units: &Range<usize>, splits: &[usize]) -> bool {
        let mut pieces_single = true;
        let mut bad_split = false;
        let mut piece_len = 0;
        for u in units.clone() {
            let unit = &self.units[u];
            let latin_split = u > units.start
                && unit.sep == Sep::Space
                && is_word(unit.c)
                && is_word(self.units[u - 1].c);
            if latin_split {
                if !splits.contains(&(u - units.start)) {
                    bad_split = true;
                }
                if piece_len > 1 {
                    pieces_single = false;
                }
                piece_len = 0;
            } else if u > units.start && unit.sep != Sep::None {
                if piece_len > 1 {
                    pieces_single = false;
                }
                piece_len = 0;
            }
            piece_len += 1;
        }
        if piece_len > 1 {
            pieces_single = false;
        }
        !bad_split || pieces_single
    }
}

/// The toneless pinyin of a Han character (the most common reading; `ü` as `v`).
pub(super) fn pinyin_of(c: char) -> Option<&'static str> {
    let p = c.to_pinyin()?.plain();
    // `plain()` writes ü as `ü` in a handful of syllables (nü, lü); typed pinyin uses `v`.
    Some(match p {
        "nü" => "nv",
        "lü" => "lv",
        "nüe" => "nve",
        "lüe" => "lve",
        _ => p,
    })
}

/// Every toneless reading of a Han character (`便`: `bian`, `pian`), most common first.
pub(super) fn pinyin_readings(c: char) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    if let Some(first) = pinyin_of(c) {
        out.push(first);
    }
    if let Some(multi) = c.to_pinyin_multi() {
        for p in multi {
            let p = match p.plain() {
                "nü" => "nv",
                "lü" => "lv",
                "nüe" => "nve",
                "lüe" => "lve",
                p => p,
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The compact text spelled in pinyin: Han characters as toneless syllables, Latin letters as
/// themselves, everything else as a stop (`|`).
#[derive(Debug, Default)]
pub(super) struct PinyinText {
    pub text: String,
    /// For each byte of `text`: (compact unit, a syllable starts here, a syllable ends here).
    pub at: Vec<(u32, bool, bool)>,
}

impl PinyinText {
    pub fn new(compact: &Compact) -> PinyinText {
        let mut text = String::with_capacity(compact.text.len() * 2);
        let mut at = Vec::with_capacity(compact.text.len() * 2);
        for (k, u) in compact.units.iter().enumerate() {
            let k = k as u32;
            if is_han(u.c)
                && let Some(py) = pinyin_of(u.c)
            {
                let n = py.len();
                for (i, b) in py.bytes().enumerate() {
                    text.push(char::from(b));
                    at.push((k, i == 0, i + 1 == n));
                }
            } else if u.c.is_ascii_lowercase() {
                text.push(u.c);
                at.push((
                    k,
                    compact.word_start(k as usize),
                    compact.word_end(k as usize + 1),
                ));
            } else {
                text.push('|');
                at.push((k, false, false));
            }
        }
        PinyinText { text, at }
    }

    /// The compact unit range of a match `bytes`, if it starts and ends on syllable (or word)
    /// boundaries.
    pub fn units_of(&self, bytes: &Range<usize>) -> Option<Range<usize>> {
        let (first, start_ok, _) = self.at[bytes.start];
        let (last, _, end_ok) = self.at[bytes.end - 1];
        if !start_ok || !end_ok {
            return None;
        }
        Some(first as usize..last as usize + 1)
    }
}

/// Text for the brain: control, zero-width and bidi characters removed, whitespace collapsed
/// to single spaces and trimmed, at most `max_chars` characters.
pub(super) fn clean(raw: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max_chars * 4));
    let mut n = 0;
    let mut space = false;
    for c in raw.chars() {
        if is_invisible(c) || is_control(c) || matches!(u32::from(c), 0xE0000..=0xE007F) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if n >= max_chars {
            break;
        }
        if space {
            if n + 1 >= max_chars {
                break;
            }
            out.push(' ');
            n += 1;
            space = false;
        }
        out.push(c);
        n += 1;
    }
    out
}
