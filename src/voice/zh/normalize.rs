//! Mandarin text normalization: numbers, prices, percentages, units, times and ranges
//! written out as a live host says them (`¥99.9` → 九十九块九, `50%` → 百分之五十).
//!
//! The output keeps Han characters, Chinese and ASCII punctuation and Latin letters as they
//! were; only digits and the symbols around them are rewritten.

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Measure words after which a bare `2` is read 两 (两件, 两瓶).
const MEASURES: &str =
    "个件瓶盒包支套斤块元只双条张次位款种份台片颗粒袋罐桶箱杯碗天周年月点小分秒层步倍";

/// Latin unit symbols after a number → what a host says. Matched on the whole letter run.
const UNITS: &[(&str, &str)] = &[
    ("g", "克"),
    ("kg", "公斤"),
    ("KG", "公斤"),
    ("Kg", "公斤"),
    ("mg", "毫克"),
    ("ml", "毫升"),
    ("mL", "毫升"),
    ("ML", "毫升"),
    ("l", "升"),
    ("L", "升"),
    ("cm", "厘米"),
    ("CM", "厘米"),
    ("mm", "毫米"),
    ("m", "米"),
    ("km", "公里"),
    ("h", "小时"),
    ("min", "分钟"),
    ("s", "秒"),
    ("ms", "毫秒"),
    ("W", "瓦"),
    ("w", "瓦"),
    ("kW", "千瓦"),
    ("mAh", "毫安时"),
    ("V", "伏"),
    ("Hz", "赫兹"),
    ("cc", "CC"),
];

/// Rewrites numbers and the symbols around them as spoken Mandarin.
pub fn normalize(text: &str) -> String {
    let chars: Vec<char> = text.chars().map(fold_width).collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let currency =
            matches!(c, '¥' | '￥' | '$') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit());
        if c.is_ascii_digit() || currency {
            i = number(&chars, i, &mut out);
            continue;
        }
        match c {
            '%' => out.push_str("百分号"),
            '℃' => out.push_str("摄氏度"),
            '&' => out.push('和'),
            '+' => out.push('加'),
            '~' | '～' => out.push('，'),
            '\u{3000}' | '\t' | '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Full-width digits, letters and `％．` to ASCII (Chinese punctuation is kept).
fn fold_width(c: char) -> char {
    match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '％' | '．' => {
            char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
        }
        _ => c,
    }
}

/// A parsed number: integer digits and fraction digits (both ASCII).
struct Num {
    int: String,
    frac: Option<String>,
}

fn parse_num(chars: &[char], mut i: usize) -> (Num, usize) {
    let mut int = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            int.push(c);
            i += 1;
        } else if c == ',' && !int.is_empty() && is_three_digit_group(chars, i + 1) {
            i += 1; // thousands separator: 1,299
        } else {
            break;
        }
    }
    let mut frac = None;
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
        let mut f = String::new();
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            f.push(chars[i]);
            i += 1;
        }
        frac = Some(f);
    }
    (Num { int, frac }, i)
}

fn is_three_digit_group(chars: &[char], i: usize) -> bool {
    (0..3).all(|k| chars.get(i + k).is_some_and(|d| d.is_ascii_digit()))
        && !chars.get(i + 3).is_some_and(|d| d.is_ascii_digit())
}

/// Reads one number starting at `i` (maybe with a currency sign) and what follows it.
fn number(chars: &[char], mut i: usize, out: &mut String) -> usize {
    let currency = match chars[i] {
        '¥' | '￥' => {
            i += 1;
            Some("元")
        }
        '$' => {
            i += 1;
            Some("美元")
        }
        _ => None,
    };
    let (num, mut j) = parse_num(chars, i);
    let next = chars.get(j).copied();
    let after = chars.get(j + 1).copied();

    // Percent: 50% → 百分之五十.
    if currency.is_none() && next == Some('%') {
        out.push_str("百分之");
        out.push_str(&plain(&num));
        return j + 1;
    }
    // Prices: ¥99.9, 99.9元, 99.9块.
    if let Some(unit) = currency {
        let has_yuan = matches!(next, Some('元' | '块'));
        out.push_str(&price(&num, if unit == "美元" { "美元" } else { "元" }));
        return if has_yuan && unit == "元" { j + 1 } else { j };
    }
    if matches!(next, Some('元' | '块')) {
        out.push_str(&price(&num, "元"));
        return j + 1;
    }
    // Clock time: 8:00 → 八点, 20:30 → 二十点半.
    if num.frac.is_none() && matches!(next, Some(':' | '：')) {
        let (min, k) = parse_num(chars, j + 1);
        if min.frac.is_none() && min.int.len() == 2 {
            if let (Ok(h), Ok(m)) = (num.int.parse::<u64>(), min.int.parse::<u64>()) {
                if h <= 24 && m < 60 {
                    out.push_str(&if h == 2 {
                        "两".to_string()
                    } else {
                        int_to_zh(h)
                    });
                    out.push('点');
                    match m {
                        0 => {}
                        30 => out.push('半'),
                        1..=9 => {
                            out.push('零');
                            out.push(DIGITS[m as usize]);
                        }
                        _ => out.push_str(&int_to_zh(m)),
                    }
                    return k;
                }
            }
        }
    }
    // Range: 3-5天 → 三到五天 (the unit after the second number is read there).
    if matches!(next, Some('-' | '~' | '～' | '—')) && after.is_some_and(|d| d.is_ascii_digit())
    {
        out.push_str(&with_liang(&num, true));
        out.push('到');
        return j + 1;
    }
    // Fraction: 1/2 → 二分之一.
    if num.frac.is_none() && next == Some('/') && after.is_some_and(|d| d.is_ascii_digit()) {
        let (den, k) = parse_num(chars, j + 1);
        if den.frac.is_none() {
            out.push_str(&plain(&den));
            out.push_str("分之");
            out.push_str(&plain(&num));
            return k;
        }
    }
    // Year: 2024年 → 二零二四年.
    if num.frac.is_none() && num.int.len() == 4 && next == Some('年') {
        out.push_str(&digit_by_digit(&num.int));
        return j;
    }
    // Latin unit: 3.5g → 三点五克 (only when the whole letter run is a known unit).
    let mut k = j;
    while k < chars.len() && chars[k].is_ascii_alphabetic() {
        k += 1;
    }
    if k > j {
        let run: String = chars[j..k].iter().collect();
        if let Some((_, spoken)) = UNITS.iter().find(|(sym, _)| *sym == run) {
            out.push_str(&with_liang(&num, true));
            out.push_str(spoken);
            j = k;
            return j;
        }
    }
    let before_measure = next.is_some_and(|c| MEASURES.contains(c));
    out.push_str(&with_liang(&num, before_measure));
    j
}

/// Digits read one by one (phone numbers, years, fraction digits).
fn digit_by_digit(digits: &str) -> String {
    digits
        .chars()
        .filter_map(|d| d.to_digit(10))
        .map(|d| DIGITS[d as usize])
        .collect()
}

/// A number read plainly: 99.9 → 九十九点九, 0.5 → 零点五.
fn plain(num: &Num) -> String {
    with_liang(num, false)
}

/// Like [`plain`], but a lone 2 before a measure word is 两.
fn with_liang(num: &Num, before_measure: bool) -> String {
    let mut s = int_digits(&num.int);
    if before_measure && num.frac.is_none() && s == "二" {
        s = "两".to_string();
    }
    if let Some(f) = &num.frac {
        s.push('点');
        s.push_str(&digit_by_digit(f));
    }
    s
}

/// Integer digits: up to 16 digits read as a number, longer ones (codes) digit by digit;
/// numbers with leading zeros (`007`) digit by digit too.
fn int_digits(int: &str) -> String {
    if (int.len() > 1 && int.starts_with('0')) || int.len() > 16 {
        return digit_by_digit(int);
    }
    int.parse::<u64>()
        .map(int_to_zh)
        .unwrap_or_else(|_| digit_by_digit(int))
}

/// A price as a host says it: 99.9 → 九十九块九, 199 → 一百九十九元, 0.5 → 五毛.
fn price(num: &Num, unit: &str) -> String {
    let int = int_digits(&num.int);
    let int = if int == "二" { "两".to_string() } else { int };
    let frac: Vec<usize> = num
        .frac
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter_map(|d| d.to_digit(10))
        .map(|d| d as usize)
        .collect();
    let jiao = frac.first().copied().unwrap_or(0);
    let fen = frac.get(1).copied().unwrap_or(0);
    if unit != "元" || (jiao == 0 && fen == 0) {
        // Dollars and whole prices: read plainly with the unit.
        let mut s = if unit == "元" { int } else { plain(num) };
        s.push_str(unit);
        return s;
    }
    let mut s = String::new();
    let zero_int = num.int.trim_start_matches('0').is_empty();
    if zero_int {
        if jiao != 0 {
            s.push(DIGITS[jiao]);
            s.push('毛');
        }
        if fen != 0 {
            s.push(DIGITS[fen]);
            s.push('分');
        }
        return s;
    }
    s.push_str(&int);
    s.push('块');
    match (jiao, fen) {
        (j, 0) => s.push(DIGITS[j]),
        (0, f) => {
            s.push('零');
            s.push(DIGITS[f]);
        }
        (j, f) => {
            s.push(DIGITS[j]);
            s.push('毛');
            s.push(DIGITS[f]);
        }
    }
    s
}

/// An integer in Chinese: 10000 → 一万, 2000 → 两千, 100010 → 十万零一十, 15 → 十五.
pub fn int_to_zh(n: u64) -> String {
    if n == 0 {
        return "零".to_string();
    }
    const BIG: [&str; 4] = ["", "万", "亿", "万亿"];
    let mut groups = Vec::new();
    let mut m = n;
    while m > 0 {
        groups.push((m % 10_000) as usize);
        m /= 10_000;
    }
    let mut out = String::new();
    let mut pending_zero = false;
    for (gi, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            pending_zero = !out.is_empty();
            continue;
        }
        if !out.is_empty() && (pending_zero || g < 1000) {
            out.push('零');
        }
        let mut group = group_to_zh(g);
        // Colloquial 两 at the head of a group: 两千, 两百, 两万 (一亿两千万).
        if (gi > 0 && group == "二") || group.starts_with("二千") || group.starts_with("二百")
        {
            group = format!("两{}", &group['二'.len_utf8()..]);
        }
        out.push_str(&group);
        out.push_str(BIG[gi.min(3)]);
        pending_zero = false;
    }
    if let Some(rest) = out.strip_prefix("一十") {
        out = format!("十{rest}");
    }
    out
}

/// 1..=9999 without leading zero: 1205 → 一千二百零五.
fn group_to_zh(g: usize) -> String {
    const NAMES: [&str; 4] = ["千", "百", "十", ""];
    let digits = [g / 1000 % 10, g / 100 % 10, g / 10 % 10, g % 10];
    let mut s = String::new();
    let mut started = false;
    let mut zero = false;
    for (d, name) in digits.iter().zip(NAMES) {
        if *d == 0 {
            zero = started;
        } else {
            if zero {
                s.push('零');
                zero = false;
            }
            s.push(DIGITS[*d]);
            s.push_str(name);
            started = true;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_numbers_and_units_as_a_host_says_them() {
        for (input, spoken) in [
            ("99.9元", "九十九块九"),
            ("¥99.9", "九十九块九"),
            ("￥99.9", "九十九块九"),
            ("99.9", "九十九点九"),
            ("199元", "一百九十九元"),
            ("¥1299", "一千二百九十九元"),
            ("¥1,299", "一千二百九十九元"),
            ("到手价99.99元", "到手价九十九块九毛九"),
            ("9.05元", "九块零五"),
            ("0.5元", "五毛"),
            ("0.5", "零点五"),
            ("50%", "百分之五十"),
            ("12.5%", "百分之十二点五"),
            ("3.5g", "三点五克"),
            ("500ml", "五百毫升"),
            ("2kg", "两公斤"),
            ("30cm", "三十厘米"),
            ("24h", "二十四小时"),
            ("10000", "一万"),
            ("100010", "十万零一十"),
            ("120000000", "一亿两千万"),
            ("2000", "两千"),
            ("20000", "两万"),
            ("1200", "一千二百"),
            ("200", "两百"),
            ("15", "十五"),
            ("1205", "一千二百零五"),
            ("2件", "两件"),
            ("晚上8:00开播", "晚上八点开播"),
            ("20:30", "二十点半"),
            ("9:05", "九点零五"),
            ("3-5天", "三到五天"),
            ("1/2", "二分之一"),
            ("2024年", "二零二四年"),
            ("ＶＩＰ１号", "VIP一号"),
            ("iPhone 15 Pro", "iPhone 十五 Pro"),
        ] {
            assert_eq!(normalize(input), spoken, "{input}");
        }
    }
}
