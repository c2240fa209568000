//! Smuggled instructions (`ignore previous instructions`, `跟我念`, `你现在是…`) and bait cues
//! (`你就说是全网最低`, `say it's the best`), found on the compact text and on its Latin words.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::lists::{
    BAIT_EN_OBJECTS, BAIT_EN_VERBS, BAIT_ZH, BAIT_ZH_NOT_AFTER, BAIT_ZH_VERBS, INJECTION_EN,
    INJECTION_EN_GAP, INJECTION_EN_TARGETS, INJECTION_EN_TRIGGERS, INJECTION_ZH, INJECTION_ZH_GAP,
    INJECTION_ZH_TARGETS, INJECTION_ZH_TRIGGERS, PLAY_ROLE_ZH, PLEASE_SAY, YOU_ARE_NOW_EN,
    YOU_ARE_NOW_OBJECTS, YOU_ARE_NOW_ZH,
};
use super::normalize::{Class, Compact, Sep, class, is_word};
use super::words::Hit;

/// The Latin words of a compact text (a word ends at any separator or non-Latin character).
pub(super) struct Words {
    /// (word, compact unit range)
    pub words: Vec<(String, Range<usize>)>,
    /// `" w1 w2 … "`: phrases are searched with a space on each side.
    pub joined: String,
    /// Byte offset in `joined` of each word.
    starts: Vec<usize>,
}

impl Words {
    pub fn new(compact: &Compact) -> Words {
        let mut words: Vec<(String, Range<usize>)> = Vec::new();
        let mut cur: Option<(String, usize)> = None;
        for (k, u) in compact.units.iter().enumerate() {
            let glued = u.sep == Sep::None;
            if is_word(u.c) {
                match &mut cur {
                    Some((w, _)) if glued => w.push(u.c),
                    _ => {
                        if let Some((w, s)) = cur.take() {
                            words.push((w, s..k));
                        }
                        cur = Some((u.c.to_string(), k));
                    }
                }
            } else if let Some((w, s)) = cur.take() {
                words.push((w, s..k));
            }
        }
        if let Some((w, s)) = cur.take() {
            words.push((w, s..compact.units.len()));
        }
        let mut joined = String::from(" ");
        let mut starts = Vec::with_capacity(words.len());
        for (w, _) in &words {
            starts.push(joined.len());
            joined.push_str(w);
            joined.push(' ');
        }
        Words {
            words,
            joined,
            starts,
        }
    }

    /// The index of the word starting at byte `b` of `joined`.
    fn word_at(&self, b: usize) -> Option<usize> {
        self.starts.binary_search(&b).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zh {
    Inject,
    Trigger,
    Target,
    PleaseSay,
    YouAreNow,
    PlayRole,
    Bait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum En {
    Inject,
    Trigger,
    Target,
    BaitVerb,
    BaitObject,
}

/// An instruction found: the phrase as matched (compact units).
#[derive(Debug, Clone)]
pub(super) struct Injection {
    pub units: Range<usize>,
    pub phrase: String,
}

/// Compiled phrase lists.
pub(super) struct Phrases {
    zh: Option<AhoCorasick>,
    zh_roles: Vec<Vec<Zh>>,
    en: Option<AhoCorasick>,
    en_roles: Vec<Vec<En>>,
}

fn build<R: Copy + PartialEq>(entries: Vec<(String, R)>) -> (Option<AhoCorasick>, Vec<Vec<R>>) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut texts: Vec<String> = Vec::new();
    let mut roles: Vec<Vec<R>> = Vec::new();
    for (t, r) in entries {
        let i = *index.entry(t.clone()).or_insert_with(|| {
            texts.push(t.clone());
            roles.push(Vec::new());
            texts.len() - 1
        });
        if !roles[i].contains(&r) {
            roles[i].push(r);
        }
    }
    let ac = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(&texts)
        .map_err(|e| tracing::error!("moderation: phrase automaton failed to build: {e}"))
        .ok();
    (ac, roles)
}

/// A list entry as it reads in the compact text (folded, separators removed).
fn compact_form(s: &str) -> String {
    let plain = super::normalize::Plain::new(s);
    Compact::new(&plain).text
}

impl Phrases {
    pub fn new() -> Phrases {
        let mut zh: Vec<(String, Zh)> = Vec::new();
        let mut add_zh = |list: &[&str], role: Zh| {
            for w in list {
                zh.push((compact_form(w), role));
            }
        };
        add_zh(INJECTION_ZH, Zh::Inject);
        add_zh(INJECTION_ZH_TRIGGERS, Zh::Trigger);
        add_zh(INJECTION_ZH_TARGETS, Zh::Target);
        add_zh(&[PLEASE_SAY], Zh::PleaseSay);
        add_zh(&[YOU_ARE_NOW_ZH], Zh::YouAreNow);
        add_zh(&[PLAY_ROLE_ZH], Zh::PlayRole);
        add_zh(BAIT_ZH, Zh::Bait);

        let mut en: Vec<(String, En)> = Vec::new();
        let spaced = |s: &str| format!(" {s} ");
        for p in INJECTION_EN {
            en.push((spaced(p), En::Inject));
        }
        for p in YOU_ARE_NOW_EN {
            for o in YOU_ARE_NOW_OBJECTS {
                en.push((spaced(&format!("{p} {o}")), En::Inject));
            }
        }
        for t in INJECTION_EN_TRIGGERS {
            en.push((spaced(t), En::Trigger));
        }
        for t in INJECTION_EN_TARGETS {
            en.push((spaced(t), En::Target));
        }
        for v in BAIT_EN_VERBS {
            en.push((spaced(v), En::BaitVerb));
        }
        for o in BAIT_EN_OBJECTS {
            en.push((spaced(o), En::BaitObject));
        }
        let (zh_ac, zh_roles) = build(zh);
        let (en_ac, en_roles) = build(en);
        Phrases {
            zh: zh_ac,
            zh_roles,
            en: en_ac,
            en_roles,
        }
    }

    /// Scans once; the result answers both "is this an injection" and "is this bait".
    pub fn scan(&self, compact: &Compact, words: &Words) -> Scan {
        let mut scan = Scan::default();
        let units = &compact.units;
        let text_from = |k: usize, n: usize| -> String {
            units[k..units.len().min(k + n)]
                .iter()
                .map(|u| u.c)
                .collect()
        };
        let mut triggers: Vec<Range<usize>> = Vec::new();
        let mut targets: Vec<Range<usize>> = Vec::new();
        for m in self
            .zh
            .iter()
            .flat_map(|ac| ac.find_overlapping_iter(&compact.text))
        {
            let r = compact.units_of(m.start()..m.end());
            let phrase: String = units[r.clone()].iter().map(|u| u.c).collect();
            for role in &self.zh_roles[m.pattern().as_usize()] {
                let hit = |scan: &mut Scan| {
                    scan.injection.get_or_insert(Injection {
                        units: r.clone(),
                        phrase: phrase.clone(),
                    });
                };
                match role {
                    Zh::Inject => hit(&mut scan),
                    Zh::Trigger => triggers.push(r.clone()),
                    Zh::Target => targets.push(r.clone()),
                    Zh::PleaseSay => {
                        let next = units.get(r.end);
                        let quoted = next.is_some_and(|u| u.c == ':' || u.sep == Sep::Mark);
                        let what = text_from(r.end, 3);
                        if quoted
                            || ["这句", "以下", "下面", "我说", "我的话"]
                                .iter()
                                .any(|p| what.starts_with(p))
                        {
                            hit(&mut scan);
                        }
                    }
                    Zh::YouAreNow => {
                        let clause_end = (r.end..units.len())
                            .find(|&k| class(units[k].c) == Class::Hard && units[k].c != ':')
                            .unwrap_or(units.len());
                        let clause: String = units[r.end..clause_end].iter().map(|u| u.c).collect();
                        let question_mark = units.get(clause_end).is_some_and(|u| u.c == '?');
                        let asks = [
                            "吗",
                            "么",
                            "呢",
                            "谁",
                            "什么",
                            "哪",
                            "几",
                            "多少",
                            "怎么",
                            "否",
                            "还是",
                            "是不是",
                        ]
                        .iter()
                        .any(|q| clause.contains(q));
                        if !question_mark && !asks {
                            hit(&mut scan);
                        }
                    }
                    Zh::PlayRole => {
                        let what = text_from(r.end, 2);
                        if ["我", "一个", "一名", "成", "个", "只"]
                            .iter()
                            .any(|p| what.starts_with(p))
                        {
                            hit(&mut scan);
                        }
                    }
                    Zh::Bait => {
                        let after_excluded = phrase.starts_with('说')
                            && r.start > 0
                            && BAIT_ZH_NOT_AFTER.contains(&units[r.start - 1].c);
                        if !after_excluded {
                            scan.bait_zh = true;
                        }
                    }
                }
            }
        }
        for t in &triggers {
            if let Some(g) = targets
                .iter()
                .find(|g| g.start >= t.end && g.start - t.end <= INJECTION_ZH_GAP)
            {
                let r = t.start..g.end;
                scan.injection.get_or_insert(Injection {
                    phrase: units[r.clone()].iter().map(|u| u.c).collect(),
                    units: r,
                });
            }
        }

        let mut en_triggers: Vec<usize> = Vec::new();
        let mut en_targets: Vec<usize> = Vec::new();
        for m in self
            .en
            .iter()
            .flat_map(|ac| ac.find_overlapping_iter(&words.joined))
        {
            // The match starts with the space before its first word.
            let Some(first) = words.word_at(m.start() + 1) else {
                continue;
            };
            let n_words = words.joined[m.start()..m.end()].split_whitespace().count();
            let last = first + n_words.saturating_sub(1);
            for role in &self.en_roles[m.pattern().as_usize()] {
                match role {
                    En::Inject => {
                        let r = words.words[first].1.start..words.words[last].1.end;
                        scan.injection.get_or_insert(Injection {
                            phrase: words.joined[m.start()..m.end()].trim().to_string(),
                            units: r,
                        });
                    }
                    En::Trigger => en_triggers.push(first),
                    En::Target => en_targets.push(first),
                    En::BaitVerb => scan.en_verbs.push(first),
                    En::BaitObject => scan.en_objects.push(first),
                }
            }
        }
        for &t in &en_triggers {
            if let Some(&g) = en_targets
                .iter()
                .find(|&&g| g > t && g - t <= INJECTION_EN_GAP + 1)
            {
                let r = words.words[t].1.start..words.words[g].1.end;
                scan.injection.get_or_insert(Injection {
                    phrase: words.words[t..=g]
                        .iter()
                        .map(|(w, _)| w.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    units: r,
                });
            }
        }
        scan
    }
}

/// What one scan found.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The first instruction found.
    pub injection: Option<Injection>,
    /// A Han bait cue anywhere in the message.
    bait_zh: bool,
    /// Word indices of English bait verbs and objects.
    en_verbs: Vec<usize>,
    en_objects: Vec<usize>,
}

impl Scan {
    /// Whether a listed word is asked to be said rather than asked about: a Han cue anywhere
    /// (`你就说…`), a Han verb right before it (`说最好`, `喊个第一`), or an English verb before
    /// an object (`say it's…`, `admit you're…`) or before the word itself (`say "best"`).
    pub fn is_bait(&self, compact: &Compact, words: &Words, hit: &Hit) -> bool {
        if self.bait_zh {
            return true;
        }
        let u = hit.units.start;
        let before = |k: usize| (u >= k).then(|| compact.units[u - k].c);
        if before(1).is_some_and(|c| BAIT_ZH_VERBS.contains(&c))
            || (before(1).is_some_and(|c| "个句声出是".contains(c))
                && before(2).is_some_and(|c| BAIT_ZH_VERBS.contains(&c)))
        {
            return true;
        }
        self.en_verbs.iter().any(|&v| {
            let next = v + 1;
            let tell_me = words.words[v].0 == "tell"
                && words
                    .words
                    .get(next)
                    .is_some_and(|(w, _)| w == "me" || w == "us");
            !tell_me
                && (self.en_objects.contains(&next)
                    || words
                        .words
                        .get(next)
                        .is_some_and(|(_, r)| r.start == hit.units.start))
        })
    }
}
