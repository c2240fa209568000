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
            (5, 1),
            "`include:` is not supported yet",
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
