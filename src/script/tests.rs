//! Tests of the script stage against tests/fixtures/scripts and scripts/*.yaml.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn fixture(name: &str) -> PathBuf {
    repo(&format!("tests/fixtures/scripts/{name}"))
}

/// `(line, col, message, help)` of every problem the fixture produces.
fn problems(name: &str) -> Vec<(u32, u32, String, Option<String>)> {
    let err = Script::load(&fixture(name)).expect_err("fixture must not load");
    let ds = err.diagnostics();
    assert!(
        !ds.is_empty(),
        "{name}: expected located problems, got: {err}"
    );
    for d in ds {
        assert!(d.file.ends_with(name), "{}", d.file.display());
    }
    ds.iter()
        .map(|d| (d.line, d.col, d.message.clone(), d.help.clone()))
        .collect()
}

fn p(line: u32, col: u32, msg: &str, help: Option<&str>) -> (u32, u32, String, Option<String>) {
    (line, col, msg.to_string(), help.map(str::to_string))
}

fn parse(src: &str) -> Result<Script, ScriptError> {
    Script::parse(src, Path::new("test.yaml"))
}

/// `(line, col, rule, message)` of every problem (errors and warnings) of a fixture.
fn lints(name: &str) -> Vec<(u32, u32, Option<&'static str>, String)> {
    let ds = match Script::load(&fixture(name)) {
        Ok(s) => s.warnings,
        Err(e) => e.diagnostics().to_vec(),
    };
    ds.iter()
        .map(|d| (d.line, d.col, d.rule, d.message.clone()))
        .collect()
}

const ZH_MINIMAL: &str =
    "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{say: 你好}]\n";

#[test]
fn demo_zh_loads_with_everything_resolved() {
    let s = Script::load(&repo("scripts/demo.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.show.language, Language::ZhCn);
    assert!(s.show.looping);
    assert_eq!(s.show.disclosure, "本直播间由AI数字人主播讲解");
    assert_eq!(s.show.schedule.len(), 1);
    assert_eq!(
        s.show.schedule[0].from,
        TimeOfDay {
            hour: 23,
            minute: 0
        }
    );
    assert_eq!(s.persona.greeting, "欢迎来到直播间，我是数字人小林！");
    let lip = s.product("lipstick-01").unwrap();
    assert_eq!(lip.price_text().as_deref(), Some("99.9"));
    assert_eq!(lip.facts[0], ("色号".to_string(), "正红色".to_string()));
    assert_eq!(lip.fact("保质期"), Some("3年"));
    assert_eq!(lip.faq[1].answer, "今天直播间到手价99.9元，下单还送小样！");
    assert_eq!(
        s.product("cream-02").unwrap().price_text().as_deref(),
        Some("159")
    );
    let Segment::Line(Line::Say { text, gesture, .. }) = &s.segments[0] else {
        panic!("{:?}", s.segments[0])
    };
    assert_eq!(text, "欢迎来到直播间，我是数字人小林！");
    assert_eq!(*gesture, Some(Gesture::Wave));
    let Segment::Product { product, lines } = &s.segments[2] else {
        panic!()
    };
    assert_eq!(product, "lipstick-01");
    assert!(lines.contains(&Line::Cue(Cue::Link { countdown: 3 })));
    assert!(lines.contains(&Line::Pause(Duration::from_millis(1500))));
    assert!(lines.iter().any(|l| matches!(l, Line::Say { text, emphasis: Emphasis::Strong, .. } if text.contains("持妆8小时不掉色"))));
    for seg in &s.segments {
        let lines = match seg {
            Segment::Line(l) => std::slice::from_ref(l),
            Segment::Product { lines, .. } => lines.as_slice(),
        };
        for l in lines {
            if let Line::Say { text, .. } = l {
                assert!(
                    !text.contains('{') && !text.contains('}'),
                    "unresolved template: {text}"
                );
            }
        }
    }
    assert_eq!(s.chat.per_user_cooldown, Duration::from_secs(30));
    assert_eq!(s.chat.banned_words, vec!["最好", "第一"]);
}

/// Characters of speech in one loop, to keep the demo at roughly 60–90 s.
fn speech_chars(s: &Script) -> usize {
    let mut n = 0;
    for seg in &s.segments {
        let lines = match seg {
            Segment::Line(l) => std::slice::from_ref(l),
            Segment::Product { lines, .. } => lines.as_slice(),
        };
        for l in lines {
            if let Line::Say { text, .. } = l {
                n += text.chars().count();
            }
        }
    }
    n
}

#[test]
fn demos_have_about_a_minute_of_speech_and_the_same_rundown() {
    let zh = Script::load(&repo("scripts/demo.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let en = Script::load(&repo("scripts/demo-en.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(en.show.language, Language::EnUs);
    assert_eq!(
        en.product("lipstick-01").unwrap().price_text().as_deref(),
        Some("14.99")
    );
    // Mandarin at ~4.5 characters/s, English at ~14 characters/s (150 words/min).
    let zh_secs = speech_chars(&zh) as f64 / 4.5;
    let en_secs = speech_chars(&en) as f64 / 14.0;
    assert!((55.0..=95.0).contains(&zh_secs), "zh: {zh_secs:.0} s");
    assert!((55.0..=95.0).contains(&en_secs), "en: {en_secs:.0} s");
    assert_eq!(zh.segments.len(), en.segments.len());
}

#[test]
fn defaults_per_language() {
    let s = parse("version: 1\nshow: {title: T, language: en-US}\nproducts:\n  - {id: a, name: A, price: 199.0, faq: []}\nsegments:\n  - say: hi\n  - product: a\n    lines: [{cue: link}]\n")
        .err()
        .unwrap();
    // `cue: link` without a link is an error, at the cue's value.
    assert_eq!(
        s.diagnostics()[0].message,
        "`cue: link` but product `a` has no `link`"
    );
    assert_eq!((s.diagnostics()[0].line, s.diagnostics()[0].col), (8, 19));

    let s = parse("version: 1\nshow: {title: T, language: en-US}\nproducts:\n  - {id: a, name: A, price: 199.0, link: 'https://x', faq: []}\nsegments:\n  - product: a\n    lines:\n      - say: only {price}\n      - cue: link\n").unwrap();
    assert_eq!(s.show.avatar, DEFAULT_AVATAR);
    assert_eq!(s.show.voice, DEFAULT_VOICE);
    assert_eq!(
        s.show.disclosure,
        "This live stream is hosted by an AI digital human"
    );
    assert!(!s.show.looping);
    assert_eq!(s.products[0].currency, "USD");
    assert_eq!(s.chat, ChatSettings::defaults(Language::EnUs));
    let Segment::Product { lines, .. } = &s.segments[0] else {
        panic!()
    };
    assert_eq!(
        lines[0],
        Line::Say {
            text: "only 199".into(),
            gesture: None,
            emotion: None,
            emphasis: Emphasis::Normal
        }
    );
    assert_eq!(
        lines[1],
        Line::Cue(Cue::Link {
            countdown: DEFAULT_COUNTDOWN
        })
    );

    let s = parse("version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments:\n  - say: 你好 {{不是变量}}\n").unwrap();
    assert_eq!(s.show.disclosure, "本直播间由AI数字人主播讲解");
    assert_eq!(
        s.segments[0],
        Segment::Line(Line::Say {
            text: "你好 {不是变量}".into(),
            gesture: None,
            emotion: None,
            emphasis: Emphasis::Normal
        })
    );
}

#[test]
fn fixture_syntax_error() {
    let err = Script::load(&fixture("syntax-error.yaml")).unwrap_err();
    assert!(matches!(err, ScriptError::Syntax(_)), "{err}");
    let d = &err.diagnostics()[0];
    assert!(
        d.message.starts_with("YAML syntax error: "),
        "{}",
        d.message
    );
    assert_eq!((d.line, d.col), (7, 1), "{err}");
    assert_eq!(
        d.message,
        "YAML syntax error: invalid indentation in flow construct"
    );
}

#[test]
fn fixture_wrong_type() {
    assert_eq!(
        problems("wrong-type.yaml"),
        vec![
            p(
                5,
                9,
                "expected true or false, found the text `yes`",
                Some("write `true`")
            ),
            p(9, 12, "expected a number, found the text `九十九`", None),
        ]
    );
}

#[test]
fn fixture_unknown_key() {
    assert_eq!(
        problems("unknown-key.yaml"),
        vec![
            p(
                8,
                5,
                "unknown key `selling_ponts`",
                Some("did you mean `selling_points`?")
            ),
            p(
                12,
                5,
                "unknown key `gestur`",
                Some("did you mean `gesture`?")
            ),
        ]
    );
}

#[test]
fn fixture_bad_duration() {
    assert_eq!(
        problems("bad-duration.yaml"),
        vec![
            p(
                6,
                12,
                "invalid duration `2 minutes`",
                Some(duration::ACCEPTED)
            ),
            p(
                7,
                12,
                "invalid duration `2`",
                Some("add a unit: did you mean `2s`?")
            ),
        ]
    );
}

#[test]
fn fixture_unknown_gesture() {
    assert_eq!(
        problems("unknown-gesture.yaml"),
        vec![
            p(8, 14, "unknown gesture `wav`", Some("did you mean `wave`?")),
            p(
                9,
                14,
                "unknown emotion `hapy`",
                Some("did you mean `happy`?")
            ),
        ]
    );
}

#[test]
fn fixture_unknown_variable() {
    assert_eq!(
        problems("unknown-variable.yaml"),
        vec![
            p(
                14,
                15,
                "unknown template variable `{prise}`",
                Some("did you mean `{price}`?")
            ),
            p(
                16,
                12,
                "unknown template variable `{persona.nam}`",
                Some("did you mean `{persona.name}`?")
            ),
            p(
                19,
                27,
                "unknown template variable `{facts.色}`",
                Some("did you mean `{facts.色号}`?")
            ),
        ]
    );
}

#[test]
fn fixture_unknown_product() {
    assert_eq!(
        problems("unknown-product.yaml"),
        vec![p(
            10,
            14,
            "unknown product id `lipstick-1`",
            Some("did you mean `lipstick-01`?")
        )]
    );
}

#[test]
fn fixture_duplicate_product() {
    assert_eq!(
        problems("duplicate-product.yaml"),
        vec![p(
            9,
            11,
            "duplicate product id `lipstick-01`",
            Some("it is already used at line 6:9; ids must be unique")
        )]
    );
}

#[test]
fn fixture_version_2() {
    assert_eq!(
        problems("version-2.yaml"),
        vec![p(
            2,
            10,
            "unsupported script version 2",
            Some("this anchor reads version 1 scripts")
        )]
    );
}

#[test]
fn fixture_empty() {
    assert_eq!(
        problems("empty.yaml"),
        vec![p(
            1,
            1,
            "the script is empty",
            Some("expected a mapping with `version`, `show`, `products` and `segments`")
        )]
    );
}

#[test]
fn fixture_binary_garbage() {
    let err = Script::load(&fixture("binary-garbage.yaml")).unwrap_err();
    assert!(
        matches!(
            err,
            ScriptError::NotText {
                line: 1,
                col: 1,
                byte: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("binary-garbage.yaml:1:1: error: not a text file: invalid UTF-8 at byte 0 — save the script as UTF-8 YAML"), "{err}");
}

#[test]
fn display_prints_one_located_line_per_problem() {
    let err = Script::load(&fixture("unknown-key.yaml")).unwrap_err();
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].ends_with("unknown-key.yaml:8:5: error: unknown key `selling_ponts` — did you mean `selling_points`?"), "{text}");
}

#[test]
fn missing_file_is_one_line() {
    let err = Script::load(Path::new("/nonexistent/show.yaml")).unwrap_err();
    assert!(matches!(err, ScriptError::NotFound { .. }));
    assert_eq!(err.to_string(), "script not found: /nonexistent/show.yaml");
}

#[test]
fn huge_file_is_refused() {
    let dir = crate::testutil::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_SCRIPT_BYTES + 1).unwrap();
    let err = Script::load(&path).unwrap_err();
    assert!(matches!(err, ScriptError::TooLarge { .. }), "{err}");
}

#[test]
fn nested_flow_and_block_errors_are_located() {
    let src = "version: 1\nshow: {title: T, language: zh-CN, lop: true}\nproducts:\n  - {id: a, name: A, faq: [{q: [x], a: '{nme}'}]}\nsegments:\n  - say: hi\n    emotion: [happy]\n";
    let err = parse(src).unwrap_err();
    let got: Vec<_> = err
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, 35, "unknown key `lop`"),
            (4, 41, "unknown template variable `{nme}`"),
            (7, 14, "expected text, found a list"),
        ],
        "{err}"
    );
}

#[test]
fn structure_errors() {
    let cases: &[(&str, (u32, u32), &str)] = &[
        (
            "- a\n- b\n",
            (1, 1),
            "expected a mapping with `version`, `show`, `products` and `segments`, found a list",
        ),
        (
            "show: {title: T, language: zh-CN}\n",
            (1, 1),
            "missing key `version`",
        ),
        (
            "version: '1'\n",
            (1, 10),
            "expected a version number, found the text `1`",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\n",
            (1, 1),
            "missing key `segments` in the script",
        ),
        (
            "version: 1\nshow: {title: T, language: fr-FR}\nproducts: []\nsegments: [{say: x}]\n",
            (2, 28),
            "unsupported language `fr-FR`",
        ),
        (
            "version: 1\nshow: {language: zh-CN}\nproducts: []\nsegments: [{say: x}]\n",
            (2, 7),
            "missing key `title` in `show`",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: []\n",
            (4, 11),
            "`segments` is empty",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{say: x, pause: 1s}]\n",
            (4, 28),
            "this item has both `say:` and `pause:`",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{gesture: wave}]\n",
            (4, 12),
            "this item has none of `say:`, `product:`, `pause:`, `cue:`",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{say: '{price}'}]\n",
            (4, 19),
            "`{price}` is a product variable, not available outside a product",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: [{id: Lip_1, name: x, faq: []}]\nsegments: [{say: x}]\n",
            (3, 17),
            "invalid product id `Lip_1`",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{say: x, emphasis: loud}]\n",
            (4, 31),
            "unknown value `loud`",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{say: x}]\nchat: {answer: later}\n",
            (5, 16),
            "unknown value `later`",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{say: x}]\ninclude: [a.yaml]\n",
            (5, 11),
            "included file not found: a.yaml",
        ),
        (
            "version: 1\nshow: {title: T, language: zh-CN}\nproducts: []\nsegments: [{say: x}]\nversion: 1\n",
            (5, 1),
            "duplicate key `version`",
        ),
    ];
    for (src, (line, col), msg) in cases {
        let err = parse(src).unwrap_err();
        let d = err
            .diagnostics()
            .first()
            .unwrap_or_else(|| panic!("{src}: {err}"));
        assert_eq!(
            (d.line, d.col, d.message.as_str()),
            (*line, *col, *msg),
            "{src}\n{err}"
        );
    }
}

#[test]
fn several_problems_in_one_run() {
    let src = "version: 1\nshow: {title: T, language: zh-CN, colour: red}\nproducts:\n  - {id: a, name: A, faq: [], prise: 1}\n  - {id: b, name: B, faq: []}\nsegments:\n  - say: x\n    gesture: wavy\n  - pause: soon\n  - product: b\n    lines: [{say: '{nam}'}]\n";
    let err = parse(src).unwrap_err();
    assert_eq!(err.diagnostics().len(), 5, "{err}");
}

#[test]
fn mangled_input_gives_errors_never_panics() {
    let src = std::fs::read_to_string(repo("scripts/demo.yaml")).unwrap();
    let cuts: Vec<usize> = src.char_indices().map(|(i, _)| i).step_by(3).collect();
    for &cut in &cuts {
        // Truncated anywhere, and with a stray character inserted anywhere.
        let _ = parse(&src[..cut]);
        for junk in ["{", "]", ":", "\t", "- ", "'", "\n  x: 1\n"] {
            let _ = parse(&format!("{}{junk}{}", &src[..cut], &src[cut..]));
        }
    }
}

#[test]
fn demos_load_with_only_faq_collision_warnings() {
    for f in ["scripts/demo.yaml", "scripts/demo-en.yaml"] {
        let s = Script::load(&repo(f)).unwrap_or_else(|e| panic!("{e}"));
        for w in &s.warnings {
            assert_eq!(w.severity, Severity::Warning, "{w}");
            assert_eq!(w.rule, Some(RULE_FAQ_COLLISION), "{w}");
        }
        assert_eq!(s.show.disclosure_every, Some(DEFAULT_DISCLOSURE_EVERY));
        assert_eq!(s.events, EventSettings::default());
        assert!(s.includes.is_empty());
    }
    let zh = Script::load(&repo("scripts/demo.yaml")).unwrap();
    assert_eq!(zh.show.schedule[0].tz.as_deref(), Some("Asia/Shanghai"));
    let en = Script::load(&repo("scripts/demo-en.yaml")).unwrap();
    assert_eq!(en.show.schedule[0].tz.as_deref(), Some("America/New_York"));
}

#[test]
fn disclosure_every_and_events() {
    let s = parse(ZH_MINIMAL).unwrap();
    assert_eq!(s.show.disclosure_every, Some(Duration::from_secs(1800)));
    assert_eq!(
        s.events,
        EventSettings {
            webhook: None,
            webhook_retries: 5
        }
    );
    let with = |extra: &str| {
        parse(&format!(
            "version: 1\nshow: {{title: T, language: zh-CN, {extra}}}\nproducts: []\nsegments: [{{say: 你好}}]\n"
        ))
    };
    assert_eq!(
        with("disclosure_every: 0s").unwrap().show.disclosure_every,
        None
    );
    assert_eq!(
        with("disclosure_every: 1h").unwrap().show.disclosure_every,
        Some(Duration::from_secs(3600))
    );
    let s = parse(&format!(
        "{ZH_MINIMAL}events: {{webhook: 'https://hooks.example.com/a?b=1', webhook_retries: 20}}\n"
    ))
    .unwrap();
    assert_eq!(
        s.events,
        EventSettings {
            webhook: Some("https://hooks.example.com/a?b=1".into()),
            webhook_retries: 20
        }
    );
    let err = parse(&format!("{ZH_MINIMAL}events: {{webhok: x}}\n")).unwrap_err();
    assert_eq!(err.diagnostics()[0].message, "unknown key `webhok`");
    assert_eq!(
        err.diagnostics()[0].help.as_deref(),
        Some("did you mean `webhook`?")
    );
}

#[test]
fn fixture_bad_webhook() {
    assert_eq!(
        problems("bad-webhook.yaml"),
        vec![
            p(
                9,
                12,
                "invalid webhook URL `ftp://hooks.example.com/anchor`",
                Some(
                    "use an `http://` or `https://` URL without spaces, e.g. `https://hooks.example.com/anchor`"
                )
            ),
            p(
                10,
                20,
                "`webhook_retries` 50 is too many",
                Some("at most 20")
            ),
        ]
    );
}

#[test]
fn fixture_bad_time() {
    assert_eq!(
        problems("bad-time.yaml"),
        vec![
            p(
                6,
                33,
                "invalid time `8pm`",
                Some("write 24-hour `HH:MM`: `20:00`")
            ),
            p(
                6,
                42,
                "invalid time `25:00`",
                Some("hour 25 is out of range: hours are 00–23 (`24:00` only as `to`)")
            ),
            p(
                7,
                15,
                "invalid time `8:5`",
                Some("write two digits for hours and minutes: `08:05`")
            ),
            p(
                8,
                15,
                "invalid time `24:00`",
                Some(
                    "`24:00` is only allowed as `to`; a window that starts at midnight starts at `00:00`"
                )
            ),
            p(
                9,
                28,
                "the window is empty: `from` and `to` are both `23:00`",
                Some("for the whole day write `from: \"00:00\"` and `to: \"24:00\"`")
            ),
        ]
    );
}

#[test]
fn fixture_bad_tz() {
    assert_eq!(
        problems("bad-tz.yaml"),
        vec![
            p(
                6,
                41,
                "unknown time zone `Asia/Shangai`",
                Some("did you mean `Asia/Shanghai`?")
            ),
            p(
                7,
                41,
                "unknown time zone `asia/shanghai`",
                Some("did you mean `Asia/Shanghai`?")
            ),
            p(
                8,
                41,
                "unknown time zone `Beijing Time`",
                Some("use an IANA time zone name such as `Asia/Shanghai` or `America/New_York`")
            ),
        ]
    );
}

#[test]
fn fixture_empty_product() {
    assert_eq!(
        problems("empty-product.yaml"),
        vec![
            p(6, 5, "missing key `id` in this product", None),
            p(7, 5, "missing key `name` in this product", None),
            p(
                10,
                11,
                "`name` is empty",
                Some("write the product name the host says, e.g. `丝绒哑光口红`")
            ),
        ]
    );
}

#[test]
fn fixture_ad_law_words_are_located_at_the_word() {
    let got = lints("ad-law.yaml");
    let want: Vec<(u32, u32, &str)> = vec![
        (3, 10, "全网最低"),  // show.title
        (5, 20, "国家级"),    // show.disclosure
        (8, 23, "最懂"),      // persona.greeting (a bare 最 and the word it makes superlative)
        (11, 11, "顶级"),     // product name
        (13, 29, "史上最"),   // a selling point
        (16, 12, "绝对"),     // a FAQ answer
        (16, 17, "100%有效"), // the same answer
        (18, 23, "最好"),     // say (最近 and 第一次 in the same line are ordinary words)
        (21, 24, "第一"),     // say, quoted, after a template variable
        (21, 27, "独家"),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for ((line, col, rule, msg), (wl, wc, word)) in got.iter().zip(&want) {
        assert_eq!((*line, *col, *rule), (*wl, *wc, Some(RULE_AD_LAW)), "{msg}");
        assert!(
            msg.starts_with(&format!("advertising-law word `{word}`")),
            "{msg}"
        );
        assert!(msg.contains("《广告法》第九条第三项"), "{msg}");
    }
    let err = Script::load(&fixture("ad-law.yaml")).unwrap_err();
    assert!(err.diagnostics().iter().all(|d| {
        d.is_error()
            && d.help
                .as_deref()
                .is_some_and(|h| h.starts_with("reword it"))
    }));
    assert!(
        err.to_string()
            .lines()
            .next()
            .unwrap()
            .contains("ad-law.yaml:3:10: error[ad-law]: advertising-law word `全网最低`")
    );
}

#[test]
fn fixture_ad_law_english() {
    let got: Vec<(u32, u32)> = lints("ad-law-en.yaml")
        .iter()
        .map(|(l, c, rule, _)| {
            assert_eq!(*rule, Some(RULE_AD_LAW));
            (*l, *c)
        })
        .collect();
    // cheapest, guaranteed, number one, BEST (not "do my best"), No.1
    assert_eq!(got, vec![(8, 26), (11, 18), (11, 38), (13, 42), (13, 57)]);
}

#[test]
fn fixture_banned_words() {
    let got = lints("banned-word.yaml");
    assert_eq!(
        got,
        vec![
            (
                10,
                20,
                Some(RULE_BANNED_WORD),
                "`秒杀` is in `chat.banned_words`".to_string()
            ),
            (
                12,
                21,
                Some(RULE_BANNED_WORD),
                "`爆表` is in `chat.banned_words`".to_string()
            ),
            (
                12,
                24,
                Some(RULE_BANNED_WORD),
                "`秒杀` is in `chat.banned_words`".to_string()
            ),
        ],
        "`第一个亮点` (line 13) is an ordinal, allowed"
    );
}

#[test]
fn a_word_both_banned_and_ad_law_is_reported_once() {
    let err = parse(
        &ZH_MINIMAL
            .replace("你好", "这是最好的")
            .replace("segments", "chat: {banned_words: [最好]}\nsegments"),
    )
    .unwrap_err();
    let rules: Vec<_> = err.diagnostics().iter().map(|d| d.rule).collect();
    assert_eq!(rules, vec![Some(RULE_AD_LAW)], "{err}");
}

#[test]
fn fixture_lint_warnings_load_with_warnings() {
    let s = Script::load(&fixture("lint-warnings.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<_> = s
        .warnings
        .iter()
        .map(|w| {
            (
                w.line,
                w.col,
                w.severity,
                w.rule.unwrap(),
                w.help.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (12, 13, Severity::Warning, RULE_FAQ_COLLISION, "it is already at line 10:13; keep one".to_string()),
            (17, 20, Severity::Warning, RULE_FAQ_COLLISION, "asked without naming a product, it is answered for the product on air, from anywhere else it is ambiguous (the first is at line 10:18): name the product in the question, or keep it in one FAQ".to_string()),
            (20, 10, Severity::Warning, RULE_BREATH, "add a comma (，) after `久显色不拔干`".to_string()),
            (21, 10, Severity::Warning, RULE_BREATH, "add a comma after `stays on all day`".to_string()),
        ]
    );
    assert_eq!(
        s.warnings[1].message,
        "the question `价格` is in the FAQ of both `lipstick-01` and `cream-02`"
    );
    assert!(
        s.warnings[2]
            .message
            .starts_with("this clause has 41 characters without a pause"),
        "{}",
        s.warnings[2].message
    );
    assert!(
        s.warnings[3]
            .message
            .starts_with("this clause has 28 words without a pause")
    );
    assert_eq!(
        s.warnings[2].to_string(),
        format!(
            "{}:20:10: warning[breath]: {} — add a comma (，) after `久显色不拔干`",
            fixture("lint-warnings.yaml").display(),
            s.warnings[2].message
        )
    );
}

#[test]
fn breath_points_at_the_clause_itself() {
    let long = "this lipstick has a brand new velvet matte formula that stays on all day and never dries your lips even in the coldest winter months of the year";
    let src = format!(
        "version: 1\nshow: {{title: T, language: en-US}}\nproducts: []\nsegments:\n  - say: Hello there. {long}\n"
    );
    let s = parse(&src).unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    // After "  - say: Hello there. ": the clause's first word.
    assert_eq!((s.warnings[0].line, s.warnings[0].col), (5, 23));
}

#[test]
fn breath_in_a_template_line_points_at_the_line() {
    let src = "version: 1\nshow: {title: T, language: zh-CN}\nproducts:\n  - id: a\n    name: 口红\n    selling_points: [采用全新升级的丝绒哑光配方持久显色不拔干]\n    faq: []\nsegments:\n  - product: a\n    lines:\n      - say: 这款口红{selling_points[0]}非常适合秋冬季节使用\n";
    let s = parse(src).unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert_eq!((s.warnings[0].line, s.warnings[0].col), (11, 14));
    assert_eq!(s.warnings[0].rule, Some(RULE_BREATH));
}

#[test]
fn includes_merge_products_before_the_scripts_own() {
    let s = Script::load(&fixture("include-ok.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = s.products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["lipstick-01", "cream-02"]);
    assert_eq!(s.includes, vec![fixture("include/catalogue.yaml")]);
    assert_eq!(
        s.product("lipstick-01").unwrap().faq[0].answer,
        "今天直播间到手价99.9元。"
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // Nested and shared catalogues: each file once, includes first, then the file's own.
    let dir = crate::testutil::tempdir().unwrap();
    let w = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let product = |id: &str| format!("  - {{id: {id}, name: 商品{id}, faq: []}}\n");
    w("shared.yaml", &format!("products:\n{}", product("s")));
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    w(
        "sub/b.yaml",
        &format!("include: ../shared.yaml\nproducts:\n{}", product("b")),
    );
    w(
        "a.yaml",
        &format!("include: [shared.yaml]\nproducts:\n{}", product("a")),
    );
    w(
        "show.yaml",
        &format!(
            "version: 1\ninclude: [a.yaml, sub/b.yaml]\nshow: {{title: T, language: zh-CN}}\nproducts:\n{}segments: [{{product: s}}, {{product: b}}]\n",
            product("own")
        ),
    );
    let s = Script::load(&dir.path().join("show.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = s.products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["s", "a", "b", "own"]);
    assert_eq!(s.includes.len(), 3);
}

#[test]
fn include_problems_are_located_in_the_file_they_are_in() {
    let err = Script::load(&fixture("include-cycle.yaml")).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!(err.diagnostics().len(), 1, "{err}");
    assert_eq!(d.file, fixture("include/cycle-b.yaml"));
    assert_eq!((d.line, d.col), (2, 11));
    assert_eq!(
        d.message,
        "circular include: include-cycle.yaml → include/cycle-b.yaml → include-cycle.yaml"
    );

    let err = Script::load(&fixture("include-missing.yaml")).unwrap_err();
    let ds = err.diagnostics();
    assert_eq!(
        ds.len(),
        1,
        "{err}: no false `unknown product` for serum-09"
    );
    assert_eq!((ds[0].line, ds[0].col), (4, 5));
    assert_eq!(
        ds[0].message,
        format!(
            "included file not found: {}",
            fixture("include/no-such-catalogue.yaml").display()
        )
    );

    let err = Script::load(&fixture("include-bad-keys.yaml")).unwrap_err();
    let got: Vec<_> = err
        .diagnostics()
        .iter()
        .map(|d| {
            (
                d.file.clone(),
                d.line,
                d.col,
                d.message.as_str(),
                d.help.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let bad = fixture("include/bad-keys.yaml");
    assert_eq!(got[0].0, bad);
    assert_eq!(
        got.iter().map(|g| (g.1, g.2, g.3)).collect::<Vec<_>>(),
        vec![
            (2, 1, "unknown key `version` in an included file"),
            (3, 1, "unknown key `product` in an included file"),
            (7, 1, "unknown key `segments` in an included file"),
        ]
    );
    assert_eq!(got[1].4, "did you mean `products`?");
    assert!(got[2].4.contains("move `segments` to the main script"));

    let err = Script::load(&fixture("include-duplicate-id.yaml")).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!((d.line, d.col), (7, 9));
    assert_eq!(d.file, fixture("include-duplicate-id.yaml"));
    assert_eq!(d.message, "duplicate product id `cream-02`");
    assert_eq!(
        d.help.as_deref(),
        Some(
            format!(
                "it is already used at {}:12:9; ids must be unique",
                fixture("include/catalogue.yaml").display()
            )
            .as_str()
        )
    );
}

#[test]
fn include_depth_is_limited() {
    let dir = crate::testutil::tempdir().unwrap();
    let n = MAX_INCLUDE_DEPTH + 1;
    for i in 1..=n {
        let next = if i < n {
            format!("include: c{}.yaml\n", i + 1)
        } else {
            String::new()
        };
        std::fs::write(
            dir.path().join(format!("c{i}.yaml")),
            format!("{next}products: [{{id: p{i}, name: P, faq: []}}]\n"),
        )
        .unwrap();
    }
    let main = dir.path().join("show.yaml");
    std::fs::write(
        &main,
        "version: 1\ninclude: c1.yaml\nshow: {title: T, language: zh-CN}\nsegments: [{say: 你好}]\n",
    )
    .unwrap();
    let err = Script::load(&main).unwrap_err();
    let ds = err.diagnostics();
    assert_eq!(ds.len(), 1, "{err}");
    assert_eq!(
        ds[0].file,
        dir.path().join(format!("c{MAX_INCLUDE_DEPTH}.yaml"))
    );
    assert_eq!((ds[0].line, ds[0].col), (1, 10));
    assert_eq!(
        ds[0].message,
        "includes are nested more than 16 levels deep"
    );
    // One level less is fine.
    std::fs::write(
        dir.path().join(format!("c{MAX_INCLUDE_DEPTH}.yaml")),
        "products: []\n",
    )
    .unwrap();
    let s = Script::load(&main).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.products.len(), MAX_INCLUDE_DEPTH - 1);
}

#[test]
fn included_file_syntax_errors_and_encoding_are_located() {
    let dir = crate::testutil::tempdir().unwrap();
    std::fs::write(dir.path().join("cat.yaml"), "products: [\n  {id: a\n").unwrap();
    std::fs::write(dir.path().join("gbk.yaml"), b"products: []\n# \xd6\xd0\n").unwrap();
    let main = dir.path().join("show.yaml");
    std::fs::write(
        &main,
        "version: 1\ninclude: [cat.yaml, gbk.yaml]\nshow: {title: T, language: zh-CN}\nsegments: [{say: 你好}]\n",
    )
    .unwrap();
    let err = Script::load(&main).unwrap_err();
    let ds = err.diagnostics();
    assert_eq!(ds.len(), 2, "{err}");
    assert_eq!(ds[0].file, main);
    assert_eq!((ds[0].line, ds[0].col), (2, 21));
    assert!(
        ds[0]
            .message
            .contains("is not UTF-8 text: invalid UTF-8 at 2:3"),
        "{}",
        ds[0].message
    );
    assert_eq!(ds[1].file, dir.path().join("cat.yaml"));
    assert!(
        ds[1].message.starts_with("YAML syntax error"),
        "{}",
        ds[1].message
    );
}

#[test]
fn check_report_serializes_errors_and_warnings() {
    let path = fixture("lint-warnings.yaml");
    let r = CheckReport::new(&path, &Script::load(&path));
    assert!(r.ok);
    assert_eq!((r.errors, r.warnings), (0, 4));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["problems"][2]["severity"], "warning");
    assert_eq!(v["problems"][2]["rule"], "breath");
    assert_eq!(v["problems"][2]["line"], 20);

    let path = fixture("unknown-key.yaml");
    let v = serde_json::to_value(CheckReport::new(&path, &Script::load(&path))).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"], 2);
    assert_eq!(
        v["problems"][0],
        serde_json::json!({
            "file": path.display().to_string(), "line": 8, "col": 5, "severity": "error",
            "rule": null, "message": "unknown key `selling_ponts`",
            "help": "did you mean `selling_points`?"
        })
    );
    let missing = Path::new("/nonexistent/show.yaml");
    let v = serde_json::to_value(CheckReport::new(missing, &Script::load(missing))).unwrap();
    assert_eq!(v["problems"][0]["message"], "script not found");
    assert_eq!(
        (
            v["problems"][0]["line"].as_u64(),
            v["problems"][0]["col"].as_u64()
        ),
        (Some(0), Some(0))
    );
}

#[test]
fn synthetic_catalogue_is_valid_and_laid_out_as_documented() {
    for n in [0, 1, 2, 50] {
        let src = synthetic_catalogue(n);
        let s = parse(&src).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(s.products.len(), n);
        assert!(s.warnings.is_empty(), "{n}: {:?}", s.warnings);
        assert!(
            s.products
                .iter()
                .all(|p| p.faq.len() == 2 && p.facts.len() == 3 && p.selling_points.len() == 2)
        );
    }
    let src = synthetic_catalogue(50);
    let lines: Vec<&str> = src.lines().collect();
    for i in [0, 17, 49] {
        assert_eq!(
            lines[synthetic::PRODUCTS_START - 1 + i * synthetic::LINES_PER_PRODUCT],
            format!("  - id: item-{:05}", i + 1)
        );
    }
}

/// A 10,000-product catalogue with one deliberate typo near the end: found at its exact line.
#[test]
fn ten_thousand_products_with_one_error_near_the_end() {
    let src = synthetic_catalogue(10_000);
    let ok = parse(&src).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.products.len(), 10_000);
    assert!(ok.warnings.is_empty());
    // Product 9,990's FAQ answer uses `{prise}`.
    let first = synthetic::PRODUCTS_START + 9_989 * synthetic::LINES_PER_PRODUCT;
    let answer_line = first + 9; // id, name, price, currency, link, facts, selling_points, faq, q, a
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    assert_eq!(
        lines[answer_line - 1],
        "        a: 9990号商品今天到手价{price}元。"
    );
    lines[answer_line - 1] = "        a: 9990号商品今天到手价{prise}元。".to_string();
    let err = parse(&lines.join("\n")).unwrap_err();
    let ds = err.diagnostics();
    assert_eq!(ds.len(), 1, "{err}");
    assert_eq!((ds[0].line, ds[0].col), (answer_line as u32, 24));
    assert_eq!(answer_line, 119_888);
    assert_eq!(ds[0].message, "unknown template variable `{prise}`");
}

#[test]
fn huge_generated_script_over_the_limit_is_refused_without_reading_it_all() {
    let dir = crate::testutil::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    // Valid YAML all the way, just too big: a real catalogue blown past 16 MiB.
    let mut src = synthetic_catalogue(45_000);
    assert!(src.len() as u64 > MAX_SCRIPT_BYTES, "{}", src.len());
    src.push('\n');
    std::fs::write(&path, &src).unwrap();
    let err = Script::load(&path).unwrap_err();
    assert!(matches!(err, ScriptError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("larger than 16 MiB"), "{err}");
}

#[test]
fn aliases_cannot_blow_up_memory() {
    let err = Script::load(&fixture("alias-bomb.yaml")).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!((d.line, d.col), (8, 5));
    assert!(d.message.contains("expands to more than"), "{}", d.message);
    // One long text repeated: few values, many bytes.
    let long = "x".repeat(1 << 20);
    let mut src = format!("version: 1\na: &a \"{long}\"\nb: [");
    for _ in 0..200 {
        src.push_str("*a, ");
    }
    src.push_str("]\n");
    let err = parse(&src).unwrap_err();
    assert!(err.to_string().contains("MiB of text (aliases?)"), "{err}");
    // Nested anchors on a big value are not copied once per level.
    let mut src = String::from("version: 1\nx: ");
    for i in 0..60 {
        src.push_str(&format!("&n{i} ["));
    }
    src.push_str(&"y, ".repeat(200_000));
    src.push_str(&"]".repeat(60));
    src.push('\n');
    let err = parse(&src).unwrap_err();
    assert!(err.to_string().contains("expands to more than"), "{err}");
}

#[test]
fn language_tags_are_exact() {
    for ok in LANGUAGE_TAGS {
        let src = ZH_MINIMAL.replace("zh-CN", ok);
        assert!(parse(&src).is_ok(), "{ok}");
    }
    let err = parse(&ZH_MINIMAL.replace("zh-CN", "zh-cn")).unwrap_err();
    assert_eq!(
        err.diagnostics()[0].help.as_deref(),
        Some("did you mean `zh-CN`?")
    );
}

#[test]
fn yaml_syntax_errors_say_how_to_fix_them() {
    let err = Script::load(&fixture("syntax-tab-indent.yaml")).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!((d.line, d.col), (3, 10));
    assert_eq!(
        d.help.as_deref(),
        Some("indent with spaces: YAML does not allow tabs for indentation")
    );
    let err = Script::load(&fixture("syntax-unclosed-quote.yaml")).unwrap_err();
    let d = &err.diagnostics()[0];
    assert_eq!((d.line, d.col), (3, 10));
    assert!(d.help.as_deref().unwrap().contains("closing quote"));
}
