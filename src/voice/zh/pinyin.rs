//! Segmented Mandarin → tone-numbered pinyin: polyphones resolved in context, neutral tones,
//! tone sandhi (3-3 → 2-3, 一 and 不).
//!
//! Syllables are written the way espeak-ng's `cmn-latn-pinyin` voice reads them: ASCII, tone
//! digit last (`1`–`4`, `5` = neutral), `v` for ü (`lv4`).

use pinyin::ToPinyin;

/// Whole words whose reading differs from the per-character default (polyphones and neutral
/// tones). Looked up before any per-character rule.
const PHRASES: &[(&str, &str)] = &[
    // 行 háng
    ("银行", "yin2 hang2"),
    ("行业", "hang2 ye4"),
    ("行情", "hang2 qing2"),
    ("排行", "pai2 hang2"),
    ("排行榜", "pai2 hang2 bang3"),
    ("同行", "tong2 hang2"),
    ("内行", "nei4 hang2"),
    ("外行", "wai4 hang2"),
    ("行家", "hang2 jia1"),
    // 还 huán
    ("还钱", "huan2 qian2"),
    ("归还", "gui1 huan2"),
    ("还款", "huan2 kuan3"),
    ("偿还", "chang2 huan2"),
    ("退还", "tui4 huan2"),
    ("还原", "huan2 yuan2"),
    ("还是", "hai2 shi4"),
    ("还有", "hai2 you3"),
    ("还要", "hai2 yao4"),
    // 长 zhǎng
    ("长大", "zhang3 da4"),
    ("成长", "cheng2 zhang3"),
    ("生长", "sheng1 zhang3"),
    ("校长", "xiao4 zhang3"),
    ("店长", "dian4 zhang3"),
    ("家长", "jia1 zhang3"),
    ("班长", "ban1 zhang3"),
    ("部长", "bu4 zhang3"),
    ("增长", "zeng1 zhang3"),
    ("长得", "zhang3 de5"),
    ("长辈", "zhang3 bei4"),
    // 重 chóng
    ("重新", "chong2 xin1"),
    ("重复", "chong2 fu4"),
    ("重来", "chong2 lai2"),
    ("重叠", "chong2 die2"),
    ("重播", "chong2 bo1"),
    ("重庆", "chong2 qing4"),
    // 了 liǎo
    ("了解", "liao3 jie3"),
    ("了不起", "liao3 bu5 qi3"),
    ("受不了", "shou4 bu5 liao3"),
    ("少不了", "shao3 bu5 liao3"),
    ("明了", "ming2 liao3"),
    ("为了", "wei4 le5"),
    ("除了", "chu2 le5"),
    // 得 dé / děi
    ("得到", "de2 dao4"),
    ("获得", "huo4 de2"),
    ("取得", "qu3 de2"),
    ("赢得", "ying2 de2"),
    ("心得", "xin1 de2"),
    ("难得", "nan2 de2"),
    ("值得", "zhi2 de5"),
    ("觉得", "jue2 de5"),
    ("记得", "ji4 de5"),
    ("懂得", "dong3 de5"),
    ("舍得", "she3 de5"),
    // 为 wéi / wèi
    ("认为", "ren4 wei2"),
    ("作为", "zuo4 wei2"),
    ("成为", "cheng2 wei2"),
    ("以为", "yi3 wei2"),
    ("行为", "xing2 wei2"),
    ("为止", "wei2 zhi3"),
    ("因为", "yin1 wei4"),
    ("为什么", "wei4 shen2 me5"),
    // 好 hào
    ("爱好", "ai4 hao4"),
    ("好奇", "hao4 qi2"),
    ("好客", "hao4 ke4"),
    ("喜好", "xi3 hao4"),
    ("好学", "hao4 xue2"),
    // 都 dū
    ("首都", "shou3 du1"),
    ("都市", "du1 shi4"),
    ("成都", "cheng2 du1"),
    ("古都", "gu3 du1"),
    // 便 pián
    ("便宜", "pian2 yi5"),
    ("方便", "fang1 bian4"),
    ("随便", "sui2 bian4"),
    // others common in live commerce
    ("的确", "di2 que4"),
    ("目的", "mu4 di4"),
    ("空调", "kong1 tiao2"),
    ("调整", "tiao2 zheng3"),
    ("调节", "tiao2 jie2"),
    ("调料", "tiao2 liao4"),
    ("调味", "tiao2 wei4"),
    ("弹性", "tan2 xing4"),
    ("干货", "gan1 huo4"),
    ("饼干", "bing3 gan1"),
    ("差不多", "cha4 bu5 duo1"),
    ("长款", "chang2 kuan3"),
    ("长度", "chang2 du4"),
    ("音乐", "yin1 yue4"),
    ("干净", "gan1 jing4"),
    ("干燥", "gan1 zao4"),
    ("头发", "tou2 fa5"),
    ("好处", "hao3 chu4"),
    ("处理", "chu3 li3"),
    ("应该", "ying1 gai1"),
    ("着急", "zhao2 ji2"),
    ("睡着", "shui4 zhao2"),
    ("划算", "hua2 suan4"),
    ("暖和", "nuan3 huo5"),
    ("结实", "jie1 shi5"),
    ("东西", "dong1 xi5"),
    ("什么", "shen2 me5"),
    ("怎么", "zen3 me5"),
    ("这么", "zhe4 me5"),
    ("那么", "na4 me5"),
    ("多少", "duo1 shao3"),
    ("朋友", "peng2 you5"),
    ("衣服", "yi1 fu5"),
    ("漂亮", "piao4 liang5"),
    ("喜欢", "xi3 huan5"),
    ("时候", "shi2 hou5"),
    ("宝贝", "bao3 bei4"),
    ("一只", "yi4 zhi1"),
    ("两只", "liang3 zhi1"),
    ("假期", "jia4 qi1"),
    ("放假", "fang4 jia4"),
    ("酒吧", "jiu3 ba1"),
    ("电子", "dian4 zi3"),
    ("原子", "yuan2 zi3"),
    ("男子", "nan2 zi3"),
    ("女子", "nv3 zi3"),
    ("分子", "fen1 zi3"),
    ("地方", "di4 fang5"),
    ("数据", "shu4 ju4"),
];

/// Reduplicated kinship/baby words: the second syllable is neutral (妈妈 ma1 ma5).
const REDUP_NEUTRAL: &str = "爸妈哥姐弟妹奶爷宝星谢";

/// Sentence-final and structural particles that are always neutral.
const NEUTRAL_PARTICLES: &str = "的吗呢吧啊呀啦嘛哒";

/// Pinyin of one segmented word, before sandhi. `prev`/`next` are the neighbouring words
/// of the same phrase (for single-character polyphones such as 还, 得).
pub fn word_pinyin(word: &str, prev: Option<&str>, next: Option<&str>) -> Vec<(char, String)> {
    let chars: Vec<char> = word.chars().collect();
    if let Some((_, py)) = PHRASES.iter().find(|(w, _)| *w == word) {
        let sylls: Vec<&str> = py.split(' ').collect();
        if sylls.len() == chars.len() {
            return chars
                .iter()
                .zip(sylls)
                .map(|(c, s)| (*c, s.to_string()))
                .collect();
        }
    }
    let n = chars.len();
    // Table phrases inside longer words (银行卡 ⊃ 银行): their readings win per character.
    let mut fixed: Vec<Option<&str>> = vec![None; n];
    for (w, py) in PHRASES {
        let wc: Vec<char> = w.chars().collect();
        let sylls: Vec<&str> = py.split(' ').collect();
        if wc.len() >= n || sylls.len() != wc.len() {
            continue;
        }
        for start in 0..=n - wc.len() {
            if chars[start..start + wc.len()] == wc[..]
                && fixed[start..start + wc.len()].iter().all(Option::is_none)
            {
                for (k, s) in sylls.iter().enumerate() {
                    fixed[start + k] = Some(s);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for (i, &c) in chars.iter().enumerate() {
        let last = i + 1 == n;
        if let Some(f) = fixed[i] {
            out.push((c, f.to_string()));
            continue;
        }
        let mut py = default_pinyin(c);
        let single = n == 1;
        match c {
            '还' if single => {
                let verb = next
                    .and_then(|w| w.chars().next())
                    .is_some_and(|f| "钱款贷书给".contains(f));
                py = if verb { "huan2" } else { "hai2" }.to_string();
            }
            '行' if single => py = "xing2".to_string(),
            // The crate's default for 长 is zhǎng; outside the phrase table it is cháng (很长, 长款).
            '长' => py = "chang2".to_string(),
            '弹' if single => py = "tan2".to_string(),
            '重' if single => py = "zhong4".to_string(),
            '好' if single => py = "hao3".to_string(),
            '都' if single => py = "dou1".to_string(),
            '为' if single => py = "wei4".to_string(),
            '着' if single => py = "zhe5".to_string(),
            '了' if single || last => py = "le5".to_string(),
            '得' if single => {
                let must = prev.is_some_and(|w| {
                    ["还", "就", "也", "都", "可", "总", "必须", "非"].contains(&w)
                });
                py = if must { "dei3" } else { "de5" }.to_string();
            }
            '得' if last => py = "de5".to_string(),
            '们' | '么' if i > 0 => py = format!("{}5", base(&py)),
            '子' if last && !single => py = "zi5".to_string(),
            _ if NEUTRAL_PARTICLES.contains(c) && (single || last) => {
                py = format!("{}5", base(&py))
            }
            _ if i > 0 && n == 2 && chars[0] == c && REDUP_NEUTRAL.contains(c) => {
                py = format!("{}5", base(&py))
            }
            _ => {}
        }
        if !py.is_empty() {
            out.push((c, py));
        }
    }
    out
}

/// The `pinyin` crate's most common reading, tone digit last, `v` for ü; neutral gets `5`.
/// Empty for characters without a reading.
pub fn default_pinyin(c: char) -> String {
    let Some(p) = c.to_pinyin() else {
        return String::new();
    };
    let mut s = p.with_tone_num_end().replace('ü', "v");
    if !s.ends_with(|d: char| d.is_ascii_digit()) {
        s.push('5');
    }
    s
}

/// The syllable without its tone digit.
pub fn base(py: &str) -> &str {
    py.trim_end_matches(|d: char| d.is_ascii_digit())
}

/// The tone digit (1–5) of a syllable; 5 when missing.
pub fn tone(py: &str) -> u8 {
    py.chars()
        .last()
        .and_then(|d| d.to_digit(10))
        .map_or(5, |d| d as u8)
}

fn set_tone(py: &mut String, t: u8) {
    let b = base(py).to_string();
    *py = format!("{b}{t}");
}

const NUMERALS: &str = "零一二三四五六七八九十两";

/// Applies tone sandhi to one phrase (words between pauses), in place.
///
/// - 一: yi1 alone, at the end, after 第, or as a digit inside a number (十一, 二零一九); before
///   a 4th/neutral tone yi2 (一个, 一样), before other tones yi4 (一天, 一起).
/// - 不: bu2 before a 4th tone (不是), else unchanged.
/// - 3-3: inside a word every 3rd tone before another 3rd becomes 2nd (你好 → ni2 hao3); across
///   words the last syllable of a word before a word starting with a 3rd tone does too.
pub fn sandhi(words: &mut [Vec<(char, String)>]) {
    // Flattened positions (word, syllable) for neighbour look-ups.
    let pos: Vec<(usize, usize)> = words
        .iter()
        .enumerate()
        .flat_map(|(w, s)| (0..s.len()).map(move |k| (w, k)))
        .collect();
    let orig: Vec<(char, String)> = pos.iter().map(|&(w, k)| words[w][k].clone()).collect();
    for (idx, &(w, k)) in pos.iter().enumerate() {
        let (c, _) = orig[idx];
        let prev = idx.checked_sub(1).map(|p| &orig[p]);
        let next = orig.get(idx + 1);
        match c {
            '一' => {
                let word_len = words[w].len();
                let t = match next {
                    None => 1,
                    _ if prev.is_some_and(|(p, _)| *p == '第') => 1,
                    _ if word_len > 1 && k + 1 == word_len => 1, // 统一, 唯一
                    Some((n, _)) if NUMERALS.contains(*n) => 1,  // 一一, 一二
                    _ if prev.is_some_and(|(p, _)| NUMERALS.contains(*p))
                        && !next.is_some_and(|(n, _)| "百千万亿".contains(*n)) =>
                    {
                        1 // 十一, 二十一
                    }
                    Some((_, npy)) if matches!(tone(npy), 4 | 5) => 2,
                    Some(_) => 4,
                };
                set_tone(&mut words[w][k].1, t);
            }
            '不' => {
                if next.is_some_and(|(_, npy)| tone(npy) == 4) {
                    set_tone(&mut words[w][k].1, 2);
                }
            }
            _ => {}
        }
    }
    // 3-3 inside words.
    for word in words.iter_mut() {
        for k in 0..word.len().saturating_sub(1) {
            if tone(&word[k].1) == 3 && tone(&word[k + 1].1) == 3 {
                set_tone(&mut word[k].1, 2);
            }
        }
    }
    // 3-3 across word boundaries.
    for w in 0..words.len().saturating_sub(1) {
        let next_first = words[w + 1].first().map(|(_, p)| tone(p));
        if let Some(last) = words[w].last_mut() {
            if tone(&last.1) == 3 && next_first == Some(3) {
                set_tone(&mut last.1, 2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(words: &[&str]) -> String {
        let mut ws: Vec<Vec<(char, String)>> = (0..words.len())
            .map(|i| {
                word_pinyin(
                    words[i],
                    i.checked_sub(1).map(|p| words[p]),
                    words.get(i + 1).copied(),
                )
            })
            .collect();
        sandhi(&mut ws);
        ws.iter()
            .flatten()
            .map(|(_, p)| p.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn defaults_have_tone_digits_and_v_for_u_umlaut() {
        assert_eq!(default_pinyin('中'), "zhong1");
        assert_eq!(default_pinyin('绿'), "lv4");
        assert_eq!(tone("de5"), 5);
        assert_eq!(base("hang2"), "hang");
    }

    #[test]
    fn sandhi_of_third_tone_yi_and_bu() {
        assert_eq!(line(&["你好"]), "ni2 hao3");
        assert_eq!(line(&["一个"]), "yi2 ge4");
        assert_eq!(line(&["一", "个"]), "yi2 ge4");
        assert_eq!(line(&["不是"]), "bu2 shi4");
        assert_eq!(line(&["不", "好"]), "bu4 hao3");
        assert_eq!(line(&["一起"]), "yi4 qi3");
        assert_eq!(line(&["一天"]), "yi4 tian1");
        assert_eq!(line(&["第一"]), "di4 yi1");
        assert_eq!(line(&["十一"]), "shi2 yi1");
        assert_eq!(line(&["一百"]), "yi4 bai3");
        assert_eq!(line(&["很", "好"]), "hen2 hao3");
        assert_eq!(line(&["宝宝"]), "bao3 bao5");
    }
}
