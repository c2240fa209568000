//! Personal data in folded text ([`Plain`]): phone numbers, ID and bank-card numbers, emails,
//! WeChat/QQ ids and street addresses. Digits may be spaced, dashed, full-width or written as
//! a run of Han numerals (`幺三八…`).

use std::ops::Range;

use super::lists::{CONTACT_QQ, CONTACT_WECHAT};
use super::normalize::{Class, Plain, class, is_han};

/// What kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PiiKind {
    Mobile,
    Landline,
    IdCard,
    BankCard,
    Email,
    WeChat,
    Qq,
    Address,
}

impl PiiKind {
    /// What replaces it in masked text.
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::Mobile => "[手机号]",
            PiiKind::Landline => "[电话]",
            PiiKind::IdCard => "[身份证号]",
            PiiKind::BankCard => "[银行卡号]",
            PiiKind::Email => "[邮箱]",
            PiiKind::WeChat => "[微信号]",
            PiiKind::Qq => "[QQ号]",
            PiiKind::Address => "[地址]",
        }
    }

    /// A way to reach someone (as opposed to an identity or an account number).
    pub fn is_contact(self) -> bool {
        matches!(
            self,
            PiiKind::Mobile | PiiKind::Landline | PiiKind::Email | PiiKind::WeChat | PiiKind::Qq
        )
    }
}

/// Personal data found.
#[derive(Debug, Clone)]
pub(super) struct Pii {
    pub kind: PiiKind,
    /// Plain character range.
    pub chars: Range<usize>,
    /// Raw byte range.
    pub raw: Range<usize>,
    /// The data as folded, for a redacted report.
    pub text: String,
}

impl Pii {
    /// The data with its middle starred out (`138****5678`), safe for logs.
    pub fn redacted(&self) -> String {
        let chars: Vec<char> = self.text.chars().filter(|c| !c.is_whitespace()).collect();
        let n = chars.len();
        match self.kind {
            PiiKind::Email => {
                let at = chars.iter().position(|&c| c == '@').unwrap_or(0);
                let first: String = chars.iter().take(1.min(at)).collect();
                let domain: String = chars[at..].iter().collect();
                format!("{first}***{domain}")
            }
            PiiKind::Address => {
                let head: String = chars.iter().take(4).collect();
                format!("{head}…")
            }
            _ => {
                let keep_head = if n >= 7 { 3 } else { 1.min(n) };
                let keep_tail = if n >= 7 { 4.min(n - keep_head) } else { 0 };
                let head: String = chars[..keep_head].iter().collect();
                let tail: String = chars[n - keep_tail..].iter().collect();
                format!("{head}{}{tail}", "*".repeat(n - keep_head - keep_tail))
            }
        }
    }
}

fn han_numeral(c: char) -> Option<u8> {
    Some(match c {
        '〇' | '零' => 0,
        '一' | '壹' | '幺' => 1,
        '二' | '贰' | '貳' | '两' => 2,
        '三' | '叁' | '參' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' | '陸' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// A character allowed between the digits of one number (`138-1234 5678`, `(010)`).
fn is_digit_gap(c: char) -> bool {
    c != '+' && matches!(class(c), Class::Space | Class::Mark)
}

/// Digit value of each plain character: ASCII digits, and Han numerals in runs of seven or
/// more (a number spelled out to dodge a filter; `一二三` alone is ordinary text).
fn digit_values(chars: &[char]) -> Vec<Option<u8>> {
    let mut out: Vec<Option<u8>> = chars
        .iter()
        .map(|c| c.to_digit(10).map(|d| d as u8))
        .collect();
    let mut i = 0;
    while i < chars.len() {
        if han_numeral(chars[i]).is_none() {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut count = 0;
        let mut last = i;
        while j < chars.len() {
            if han_numeral(chars[j]).is_some() || chars[j].is_ascii_digit() {
                count += 1;
                last = j;
            } else if !is_digit_gap(chars[j]) {
                break;
            }
            j += 1;
        }
        if count >= 7 {
            for k in i..=last {
                if let Some(d) = han_numeral(chars[k]) {
                    out[k] = Some(d);
                }
            }
        }
        i = last + 1;
    }
    out
}

/// A run of digits, possibly spaced or dashed.
struct DigitRun {
    digits: String,
    /// Plain char range, including a trailing `x` of an ID number and a leading `+`.
    chars: Range<usize>,
}

fn digit_runs(chars: &[char], values: &[Option<u8>]) -> Vec<DigitRun> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if values[i].is_none() {
            i += 1;
            continue;
        }
        let start = if i > 0 && chars[i - 1] == '+' {
            i - 1
        } else {
            i
        };
        let mut digits = String::new();
        let mut end = i;
        let mut j = i;
        while j < chars.len() {
            if let Some(d) = values[j] {
                digits.push(char::from(b'0' + d));
                end = j + 1;
                j += 1;
                continue;
            }
            // Up to two gap characters, then a digit.
            let mut k = j;
            while k < chars.len() && k - j < 2 && is_digit_gap(chars[k]) {
                k += 1;
            }
            if k > j && k < chars.len() && values[k].is_some() {
                j = k;
                continue;
            }
            break;
        }
        if digits.len() == 17 && end < chars.len() && chars[end] == 'x' {
            digits.push('x');
            end += 1;
        }
        runs.push(DigitRun {
            digits,
            chars: start..end,
        });
        i = end.max(i + 1);
    }
    runs
}

fn plausible_birth_date(d: &[u8]) -> bool {
    let num = |s: &[u8]| s.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0'));
    if d.len() < 14 || !d[6..14].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (y, m, day) = (num(&d[6..10]), num(&d[10..12]), num(&d[12..14]));
    (1900..=2030).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&day)
}

fn classify(digits: &str) -> Option<PiiKind> {
    let d = digits.as_bytes();
    let distinct = {
        let mut seen = [false; 11];
        for &b in d {
            seen[if b == b'x' { 10 } else { usize::from(b - b'0') }] = true;
        }
        seen.iter().filter(|&&s| s).count()
    };
    if distinct <= 2 {
        return None; // 66666666666, 1010101010: cheering, not a number
    }
    let mobile = |d: &[u8]| d.len() == 11 && d[0] == b'1' && (b'3'..=b'9').contains(&d[1]);
    if mobile(d)
        || (d.len() == 13 && d.starts_with(b"86") && mobile(&d[2..]))
        || (d.len() == 15 && d.starts_with(b"0086") && mobile(&d[4..]))
    {
        return Some(PiiKind::Mobile);
    }
    if d.len() == 18
        && d[0] != b'0'
        && d[..17].iter().all(u8::is_ascii_digit)
        && plausible_birth_date(d)
    {
        return Some(PiiKind::IdCard);
    }
    if (10..=12).contains(&d.len()) && d[0] == b'0' && d[1] != b'0' {
        return Some(PiiKind::Landline);
    }
    if d.len() == 10 && (d.starts_with(b"400") || d.starts_with(b"800")) {
        return Some(PiiKind::Landline);
    }
    if (16..=19).contains(&d.len()) && d.iter().all(u8::is_ascii_digit) {
        return Some(PiiKind::BankCard);
    }
    None
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Occurrences of `keyword` in `chars` (Latin keywords as whole words at their start).
fn keyword_at(chars: &[char], i: usize, keyword: &str) -> Option<usize> {
    let mut j = i;
    for k in keyword.chars() {
        if j >= chars.len() || chars[j] != k {
            return None;
        }
        j += 1;
    }
    let first = keyword.chars().next()?;
    if is_latin(first) && i > 0 && is_latin(chars[i - 1]) {
        return None;
    }
    Some(j)
}

/// After a contact keyword: skip `号`, `:`, `是`, spaces... then read an id.
fn contact_id(
    chars: &[char],
    values: &[Option<u8>],
    from: usize,
    qq: bool,
) -> Option<Range<usize>> {
    const FILLER: &[char] = &[
        '号', '码', '是', '为', '搜', '加', '我', '的', '账', '户', '名', '叫', '私',
    ];
    let mut i = from;
    let mut skipped = 0;
    while i < chars.len() && skipped < 8 {
        let c = chars[i];
        let latin_filler =
            (c == 'i' || c == 'd') && i + 1 < chars.len() && chars[i..].starts_with(&['i', 'd']);
        if latin_filler {
            i += 2;
            skipped += 2;
            continue;
        }
        if FILLER.contains(&c) || (!is_latin(c) && !is_han(c) && values[i].is_none()) {
            i += 1;
            skipped += 1;
            continue;
        }
        break;
    }
    let start = i;
    // An id is at most 24 characters: stop reading a little past that (bounded work).
    while i < chars.len()
        && i - start <= 25
        && (is_latin(chars[i]) || chars[i] == '_' || chars[i] == '-' || values[i].is_some())
    {
        i += 1;
    }
    let id: Vec<char> = chars[start..i].to_vec();
    let digits = id.iter().filter(|c| c.is_ascii_digit()).count()
        + (start..i)
            .filter(|&k| !chars[k].is_ascii_digit() && values[k].is_some())
            .count();
    let n = id.len();
    let ok = if qq {
        digits == n && (5..=11).contains(&n)
    } else {
        (5..=24).contains(&n)
            && (digits > 0 || id.iter().any(|&c| c == '_' || c == '-'))
            && id.first().is_some_and(|c| c.is_ascii_alphanumeric())
    };
    ok.then_some(start..i)
}

fn find_emails(chars: &[char], out: &mut Vec<(PiiKind, Range<usize>)>) {
    let local = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let domain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
    for (at, &c) in chars.iter().enumerate() {
        if c != '@' {
            continue;
        }
        let mut s = at;
        if s > 0 && chars[s - 1] == ' ' {
            s -= 1;
        }
        let local_end = s;
        while s > 0 && local(chars[s - 1]) {
            s -= 1;
        }
        if s == local_end {
            continue;
        }
        let mut e = at + 1;
        if e < chars.len() && chars[e] == ' ' {
            e += 1;
        }
        let dom_start = e;
        while e < chars.len() && domain(chars[e]) {
            e += 1;
        }
        while e > dom_start && chars[e - 1] == '.' {
            e -= 1;
        }
        let dom: String = chars[dom_start..e].iter().collect();
        let Some(dot) = dom.rfind('.') else { continue };
        let tld = &dom[dot + 1..];
        if dot == 0 || tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        out.push((PiiKind::Email, s..e));
    }
}

fn is_num(c: char) -> bool {
    c.is_ascii_digit() || "一二三四五六七八九十百零〇两".contains(c)
}

/// Street addresses, one clause at a time: `…路88号`, `3栋2单元501室`, `阳光小区3栋`, or an
/// administrative chain (`广东省深圳市`, `深圳市南山区`) with a house number. The whole clause is
/// the address.
fn find_addresses(chars: &[char], out: &mut Vec<(PiiKind, Range<usize>)>) {
    let mut start = 0;
    for end in 0..=chars.len() {
        let stop = end == chars.len() || class(chars[end]) == Class::Hard || chars[end] == '\n';
        if !stop {
            continue;
        }
        if end > start && clause_is_address(&chars[start..end]) {
            let mut s = start + address_prefix(&chars[start..end]);
            let mut e = start + address_end(&chars[start..end]);
            while s < e && chars[s].is_whitespace() {
                s += 1;
            }
            while e > s && chars[e - 1].is_whitespace() {
                e -= 1;
            }
            out.push((PiiKind::Address, s..e));
        }
        start = end + 1;
    }
}

/// Leading words of a clause that are not the address (`寄到`, `我家在`).
fn address_prefix(c: &[char]) -> usize {
    const PREFIXES: &[&str] = &[
        "收货地址是",
        "收货地址",
        "地址是",
        "地址",
        "我家在",
        "我家住",
        "我住在",
        "我在",
        "寄到",
        "送到",
        "发到",
        "寄去",
        "送去",
        "住在",
        "在",
    ];
    let mut at = 0;
    while at < c.len() && c[at].is_whitespace() {
        at += 1;
    }
    let mut moved = true;
    while moved {
        moved = false;
        for p in PREFIXES {
            let p: Vec<char> = p.chars().collect();
            if c[at..].starts_with(&p) {
                at += p.len();
                while at < c.len() && (c[at].is_whitespace() || matches!(class(c[at]), Class::Mark))
                {
                    at += 1;
                }
                moved = true;
                break;
            }
        }
    }
    at
}

/// Where the address of a clause ends: after its last house-number marker (`…501室`, `…88号`,
/// `5号楼1203`), or at the clause end.
fn address_end(c: &[char]) -> usize {
    const MARKERS: &[&str] = &[
        "号楼", "单元", "栋", "幢", "室", "户", "号", "楼", "层", "座", "弄", "组",
    ];
    let mut end = None;
    let mut i = 0;
    while i < c.len() {
        if !is_num(c[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < c.len() && is_num(c[j]) {
            j += 1;
        }
        let num_end = j;
        if j + 1 < c.len() && c[j] == ' ' {
            j += 1;
        }
        if let Some(m) = MARKERS.iter().find(|m| {
            let m: Vec<char> = m.chars().collect();
            c[j..].starts_with(&m)
        }) {
            let mut e = j + m.chars().count();
            // A room number right after (`号楼1203`).
            let digits = c[e..].iter().take_while(|d| d.is_ascii_digit()).count();
            if digits >= 3 {
                e += digits;
            }
            end = Some(e);
            i = e;
            continue;
        }
        i = num_end;
    }
    end.unwrap_or(c.len())
}

fn clause_is_address(c: &[char]) -> bool {
    // Numbers followed by a unit marker.
    const STRONG: &[&str] = &["号楼", "栋", "幢", "单元", "室", "户"];
    const WEAK: &[&str] = &["号", "楼", "层", "座", "弄", "组"];
    let mut markers = 0;
    let mut strong = false;
    let mut room_after_strong = false;
    let mut i = 0;
    while i < c.len() {
        if !is_num(c[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < c.len() && is_num(c[j]) {
            j += 1;
        }
        let num_end = j;
        if j + 1 < c.len() && c[j] == ' ' {
            j += 1; // `100 号`
        }
        let rest: String = c[j..c.len().min(j + 2)].iter().collect();
        if let Some(m) = STRONG.iter().find(|m| rest.starts_with(**m)) {
            markers += 1;
            strong = true;
            let after = j + m.chars().count();
            let digits_after = c[after..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits_after >= 3 {
                room_after_strong = true;
            }
        } else if WEAK.iter().any(|m| rest.starts_with(*m)) {
            markers += 1;
        }
        i = num_end;
    }
    if (markers >= 2 && strong) || room_after_strong {
        return true;
    }
    let has_number_marker = markers > 0;
    // A street with a number: 中山路88号.
    for street in ["路", "街", "大道", "巷", "胡同"] {
        let street: Vec<char> = street.chars().collect();
        for ci in 1..c.len() {
            if !c[ci..].starts_with(&street) || !is_han(c[ci - 1]) {
                continue;
            }
            let mut j = ci + street.len();
            if j < c.len() && c[j] == ' ' {
                j += 1;
            }
            let n = c[j..].iter().take_while(|&&d| is_num(d)).count();
            let mut m = j + n;
            if c.get(m) == Some(&' ') {
                m += 1;
            }
            if n > 0
                && c.get(m)
                    .is_some_and(|&m| m == '号' || m == '弄' || m == '巷')
            {
                return true;
            }
        }
    }
    // An estate with a building number: 阳光小区3栋.
    for estate in ["小区", "花园", "公寓", "大厦", "家园", "新村", "社区", "苑"] {
        let estate: Vec<char> = estate.chars().collect();
        for k in 0..c.len() {
            if !c[k..].starts_with(&estate) {
                continue;
            }
            let after = k + estate.len();
            let mut j = after;
            while j < c.len() && j - after < 2 && !is_num(c[j]) {
                j += 1;
            }
            let n = c[j..].iter().take_while(|&&d| is_num(d)).count();
            if n > 0
                && c.get(j + n)
                    .is_some_and(|&m| "号栋幢单元楼座室".contains(m))
            {
                return true;
            }
        }
    }
    // 省/市 … 市/区/县 with a house number somewhere in the clause.
    if has_number_marker {
        for (k, &ch) in c.iter().enumerate() {
            if !(ch == '省' || ch == '市') || k < 2 || !is_han(c[k - 1]) || !is_han(c[k - 2]) {
                continue;
            }
            let tail = &c[k + 1..c.len().min(k + 8)];
            if let Some(p) = tail
                .iter()
                .position(|&t| t == '市' || t == '区' || t == '县')
                && p >= 2
                && tail[..p].iter().all(|&t| is_han(t))
            {
                return true;
            }
        }
    }
    false
}

/// All personal data in the text, in order, without overlaps (the longer find wins).
pub(super) fn find(plain: &Plain) -> Vec<Pii> {
    let chars = &plain.chars;
    let values = digit_values(chars);
    let mut found: Vec<(PiiKind, Range<usize>)> = Vec::new();

    // Contact ids after a keyword; QQ numbers are digits only.
    for i in 0..chars.len() {
        for (list, qq) in [(CONTACT_WECHAT, false), (CONTACT_QQ, true)] {
            for kw in list {
                if let Some(end) = keyword_at(chars, i, kw)
                    && let Some(id) = contact_id(chars, &values, end, qq)
                {
                    found.push((if qq { PiiKind::Qq } else { PiiKind::WeChat }, id));
                }
            }
        }
    }
    find_emails(chars, &mut found);
    for run in digit_runs(chars, &values) {
        if let Some(kind) = classify(&run.digits) {
            found.push((kind, run.chars));
        }
    }
    find_addresses(chars, &mut found);

    // Longest first, then drop overlaps.
    found.sort_by(|a, b| a.1.start.cmp(&b.1.start).then(b.1.end.cmp(&a.1.end)));
    let mut out: Vec<Pii> = Vec::new();
    for (kind, r) in found {
        if r.is_empty() {
            continue;
        }
        if let Some(last) = out.last_mut()
            && r.start < last.chars.end
        {
            // Overlap: keep the wider span (an address swallows the number inside it).
            if r.end > last.chars.end {
                last.chars.end = r.end;
                last.raw.end = plain.raw[r.end - 1].end;
                last.text = chars[last.chars.clone()].iter().collect();
            }
            continue;
        }
        out.push(Pii {
            kind,
            raw: plain.raw[r.start].start..plain.raw[r.end - 1].end,
            text: chars[r.clone()].iter().collect(),
            chars: r,
        });
    }
    out
}
