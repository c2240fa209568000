//! `anchor check` on the broken-script corpus (tests/fixtures/scripts/*.yaml): for every file,
//! the exit code and each problem's exact `file:line:col`, severity and rule, and the key words
//! of its message, in the text and the JSON format; never a panic. Then cases generated here
//! and never committed: a file over 16 MiB, a 10,000-product catalogue (valid, and with one
//! error near the end), nesting thousands of levels deep.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::Value;

const CORPUS: &str = "tests/fixtures/scripts";

/// One expected problem: where (`line:col` in the checked file, or `other.yaml:line:col` for a
/// file it includes, relative to the corpus folder), its kind as printed (`error`,
/// `error[ad-law]`, `warning[breath]`, ...) and words its message or help must contain.
struct P(&'static str, &'static str, &'static [&'static str]);

struct Case {
    file: &'static str,
    /// Exit code: 0 (loads, maybe with warnings) or 1.
    code: i32,
    problems: &'static [P],
}

const AD: &str = "error[ad-law]";
const LAW: &str = "《广告法》第九条第三项";

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { file: "ad-law-en.yaml", code: 1, problems: &[
        P("8:26", AD, &["`cheapest`", LAW, "reword it"]),
        P("11:18", AD, &["`guaranteed`"]),
        P("11:38", AD, &["`number one`"]),
        P("13:42", AD, &["`BEST`"]),
        P("13:57", AD, &["`No.1`"]),
    ]},
    Case { file: "ad-law.yaml", code: 1, problems: &[
        P("3:10", AD, &["`全网最低`", LAW]),
        P("5:20", AD, &["`国家级`"]),
        P("8:23", AD, &["`最懂`"]),
        P("11:11", AD, &["`顶级`"]),
        P("13:29", AD, &["`史上最`"]),
        P("16:12", AD, &["`绝对`"]),
        P("16:17", AD, &["`100%有效`"]),
        P("18:23", AD, &["`最好`", "很受欢迎"]),
        P("21:24", AD, &["`第一`"]),
        P("21:27", AD, &["`独家`"]),
    ]},
    Case { file: "alias-bomb.yaml", code: 1, problems: &[
        P("8:5", "error", &["expands to more than", "aliases"]),
    ]},
    Case { file: "bad-disclosure-every.yaml", code: 1, problems: &[
        P("5:15", "error", &["`disclosure` is empty"]),
        P("6:21", "error", &["invalid duration `30 minutes`", "`1m30s`"]),
        P("11:22", "error", &["invalid duration `30`", "did you mean `30s`?"]),
        P("12:14", "error", &["`max_queue` must be at least 1"]),
    ]},
    Case { file: "bad-duration.yaml", code: 1, problems: &[
        P("6:12", "error", &["invalid duration `2 minutes`", "units h, m, s, ms"]),
        P("7:12", "error", &["invalid duration `2`", "did you mean `2s`?"]),
    ]},
    Case { file: "bad-language.yaml", code: 1, problems: &[
        P("4:13", "error", &["unsupported language `en-us`", "did you mean `en-US`?"]),
    ]},
    Case { file: "bad-time.yaml", code: 1, problems: &[
        P("6:33", "error", &["invalid time `8pm`", "`20:00`"]),
        P("6:42", "error", &["invalid time `25:00`", "hour 25 is out of range"]),
        P("7:15", "error", &["invalid time `8:5`", "`08:05`"]),
        P("8:15", "error", &["invalid time `24:00`", "only allowed as `to`"]),
        P("9:28", "error", &["the window is empty", "`23:00`"]),
    ]},
    Case { file: "bad-tz.yaml", code: 1, problems: &[
        P("6:41", "error", &["unknown time zone `Asia/Shangai`", "did you mean `Asia/Shanghai`?"]),
        P("7:41", "error", &["unknown time zone `asia/shanghai`", "did you mean `Asia/Shanghai`?"]),
        P("8:41", "error", &["unknown time zone `Beijing Time`", "IANA"]),
    ]},
    Case { file: "bad-webhook.yaml", code: 1, problems: &[
        P("9:12", "error", &["invalid webhook URL `ftp://hooks.example.com/anchor`", "`https://`"]),
        P("10:20", "error", &["`webhook_retries` 50 is too many", "at most 20"]),
    ]},
    Case { file: "banned-word.yaml", code: 1, problems: &[
        P("10:20", "error[banned-word]", &["`秒杀`", "`chat.banned_words`"]),
        P("12:21", "error[banned-word]", &["`爆表`"]),
        P("12:24", "error[banned-word]", &["`秒杀`"]),
    ]},
    Case { file: "binary-garbage.yaml", code: 1, problems: &[
        P("1:1", "error", &["not a text file", "invalid UTF-8 at byte 0", "save the script as UTF-8"]),
    ]},
    Case { file: "countdown-too-long.yaml", code: 1, problems: &[
        P("15:20", "error", &["countdown 90 is too long", "at most 60 seconds"]),
        P("17:20", "error", &["the number -1 is out of range"]),
    ]},
    Case { file: "cue-link-without-link.yaml", code: 1, problems: &[
        P("10:10", "error", &["`cue: link` outside a product"]),
        P("14:14", "error", &["product `lipstick-01` has no `link`", "add `link:`"]),
        P("16:14", "error", &["unknown cue `lnk`", "did you mean `link`?"]),
    ]},
    Case { file: "duplicate-key.yaml", code: 1, problems: &[
        P("9:5", "error", &["duplicate key `price`", "line 8:5"]),
    ]},
    Case { file: "duplicate-product.yaml", code: 1, problems: &[
        P("9:11", "error", &["duplicate product id `lipstick-01`", "line 6:9"]),
    ]},
    Case { file: "empty-product.yaml", code: 1, problems: &[
        P("6:5", "error", &["missing key `id` in this product"]),
        P("7:5", "error", &["missing key `name` in this product"]),
        P("10:11", "error", &["`name` is empty"]),
    ]},
    Case { file: "empty.yaml", code: 1, problems: &[
        P("1:1", "error", &["the script is empty", "`version`"]),
    ]},
    Case { file: "include-bad-keys.yaml", code: 1, problems: &[
        P("include/bad-keys.yaml:2:1", "error", &["unknown key `version` in an included file", "move `version` to the main script"]),
        P("include/bad-keys.yaml:3:1", "error", &["unknown key `product` in an included file", "did you mean `products`?"]),
        P("include/bad-keys.yaml:7:1", "error", &["unknown key `segments` in an included file"]),
    ]},
    Case { file: "include-cycle.yaml", code: 1, problems: &[
        P("include/cycle-b.yaml:2:11", "error", &["circular include: include-cycle.yaml → include/cycle-b.yaml → include-cycle.yaml"]),
    ]},
    Case { file: "include-duplicate-id.yaml", code: 1, problems: &[
        P("7:9", "error", &["duplicate product id `cream-02`", "tests/fixtures/scripts/include/catalogue.yaml:12:9"]),
        P("13:24", "error", &["unknown template variable `{prise}`", "did you mean `{price}`?"]),
    ]},
    Case { file: "include-missing.yaml", code: 1, problems: &[
        P("4:5", "error", &["included file not found: tests/fixtures/scripts/include/no-such-catalogue.yaml"]),
    ]},
    Case { file: "include-ok.yaml", code: 0, problems: &[] },
    Case { file: "lint-warnings.yaml", code: 0, problems: &[
        P("12:13", "warning[faq-collision]", &["`多少钱？`", "asked twice", "line 10:13"]),
        P("17:20", "warning[faq-collision]", &["`价格`", "both `lipstick-01` and `cream-02`"]),
        P("20:10", "warning[breath]", &["41 characters", "one breath", "add a comma (，) after `久显色不拔干`"]),
        P("21:10", "warning[breath]", &["28 words", "add a comma after `stays on all day`"]),
    ]},
    Case { file: "missing-required.yaml", code: 1, problems: &[
        P("1:1", "error", &["missing key `show` in the script"]),
    ]},
    Case { file: "not-a-mapping.yaml", code: 1, problems: &[
        P("1:1", "error", &["expected a mapping with `version`", "found a list"]),
    ]},
    Case { file: "not-utf8-gbk.yaml", code: 1, problems: &[
        P("3:10", "error", &["not a text file", "invalid UTF-8 at byte 26"]),
    ]},
    Case { file: "number-out-of-range.yaml", code: 1, problems: &[
        P("8:12", "error", &["`1e999` is not a usable number"]),
        P("15:20", "error", &["the number 99999999999999999999999 is out of range"]),
        P("17:14", "error", &["the number 4294967296 is out of range"]),
    ]},
    Case { file: "syntax-error.yaml", code: 1, problems: &[
        P("7:1", "error", &["YAML syntax error", "flow construct", "`[`"]),
    ]},
    Case { file: "syntax-tab-indent.yaml", code: 1, problems: &[
        P("3:10", "error", &["YAML syntax error", "tab", "indent with spaces"]),
    ]},
    Case { file: "syntax-unclosed-quote.yaml", code: 1, problems: &[
        P("3:10", "error", &["YAML syntax error", "quoted scalar", "closing quote"]),
    ]},
    Case { file: "unknown-gesture.yaml", code: 1, problems: &[
        P("8:14", "error", &["unknown gesture `wav`", "did you mean `wave`?"]),
        P("9:14", "error", &["unknown emotion `hapy`", "did you mean `happy`?"]),
    ]},
    Case { file: "unknown-key.yaml", code: 1, problems: &[
        P("8:5", "error", &["unknown key `selling_ponts`", "did you mean `selling_points`?"]),
        P("12:5", "error", &["unknown key `gestur`", "did you mean `gesture`?"]),
    ]},
    Case { file: "unknown-product.yaml", code: 1, problems: &[
        P("10:14", "error", &["unknown product id `lipstick-1`", "did you mean `lipstick-01`?"]),
    ]},
    Case { file: "unknown-variable.yaml", code: 1, problems: &[
        P("14:15", "error", &["unknown template variable `{prise}`", "did you mean `{price}`?"]),
        P("16:12", "error", &["`{persona.nam}`", "did you mean `{persona.name}`?"]),
        P("19:27", "error", &["`{facts.色}`", "did you mean `{facts.色号}`?"]),
    ]},
    Case { file: "version-2.yaml", code: 1, problems: &[
        P("2:10", "error", &["unsupported script version 2", "version 1"]),
    ]},
    Case { file: "wrong-type-list.yaml", code: 1, problems: &[
        P("5:13", "error", &["expected a list, found the text `weekdays`"]),
        P("9:21", "error", &["expected a list, found the text `long lasting`"]),
        P("12:5", "error", &["expected a mapping", "found the text `Hello everyone!`"]),
        P("13:10", "error", &["expected text, found a list"]),
    ]},
    Case { file: "wrong-type.yaml", code: 1, problems: &[
        P("5:9", "error", &["expected true or false, found the text `yes`", "write `true`"]),
        P("9:12", "error", &["expected a number, found the text `九十九`"]),
    ]},
];

/// A problem as printed: (`file:line:col`, kind, the rest of the line).
fn located_lines(stderr: &str) -> Vec<(String, String, String)> {
    stderr
        .lines()
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .filter(|l| l.starts_with(CORPUS) || l.starts_with('/'))
        .filter_map(|l| {
            // path:line:col: kind: rest (the path has no `: `).
            let (loc, rest) = l.split_once(": ")?;
            let (kind, rest) = rest.split_once(": ")?;
            Some((loc.to_string(), kind.to_string(), rest.to_string()))
        })
        .collect()
}

fn expected_at(case: &Case, p: &P) -> String {
    if p.0.contains(".yaml:") {
        format!("{CORPUS}/{}", p.0)
    } else {
        format!("{CORPUS}/{}:{}", case.file, p.0)
    }
}

fn no_panic(o: &Output, what: &str) {
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{what}: panicked:\n{err}");
    let code = o.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{what}: exit code {code:?} (101 is a panic)\n{err}"
    );
}

fn check_text(case: &Case) {
    let path = format!("{CORPUS}/{}", case.file);
    let o = run(anchor().args(["check", &path]));
    no_panic(&o, &path);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(case.code), "{path}:\n{err}");
    let got = located_lines(&err);
    assert_eq!(
        got.len(),
        case.problems.len(),
        "{path}: one line per problem:\n{err}"
    );
    for ((loc, kind, rest), p) in got.iter().zip(case.problems) {
        assert_eq!(*loc, expected_at(case, p), "{path}:\n{err}");
        assert_eq!(kind, p.1, "{path} {loc}:\n{err}");
        for w in p.2 {
            assert!(rest.contains(w), "{path} {loc}: `{w}` in: {rest}");
        }
    }
    if case.code == 0 {
        assert!(
            stdout(&o).starts_with(&format!("{path}: ok (")),
            "{path}: {}",
            stdout(&o)
        );
    }
}

/// The report of `check --format json`; `None` for errors with the file as a whole when the
/// CLI prints those as an `error:` line instead (binary or non-UTF-8 files).
fn check_json(case: &Case) {
    let path = format!("{CORPUS}/{}", case.file);
    let o = run(anchor().args(["check", "--format", "json", &path]));
    no_panic(&o, &path);
    assert_eq!(o.status.code(), Some(case.code), "{path}: {}", stderr(&o));
    let out = stdout(&o);
    if out.trim().is_empty() {
        // A file that is not text at all: reported like any other CLI error, still located.
        assert!(
            case.file.contains("garbage") || case.file.contains("utf8"),
            "{path}: no JSON on stdout; stderr:\n{}",
            stderr(&o)
        );
        let got = located_lines(&stderr(&o));
        assert_eq!(got.len(), 1, "{}", stderr(&o));
        assert_eq!(got[0].0, expected_at(case, &case.problems[0]));
        return;
    }
    let v: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {out}"));
    assert_eq!(v["ok"], case.code == 0, "{path}: {v}");
    assert_eq!(v["file"], path.as_str());
    let problems = v["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), case.problems.len(), "{path}: {v:#}");
    let errors = case
        .problems
        .iter()
        .filter(|p| p.1.starts_with("error"))
        .count();
    assert_eq!(v["errors"], errors, "{path}");
    assert_eq!(v["warnings"], case.problems.len() - errors, "{path}");
    for (d, p) in problems.iter().zip(case.problems) {
        let at = format!("{}:{}:{}", d["file"].as_str().unwrap(), d["line"], d["col"]);
        assert_eq!(at, expected_at(case, p), "{path}: {d}");
        let (severity, rule) = match p.1.split_once('[') {
            Some((s, r)) => (s, Value::from(r.trim_end_matches(']'))),
            None => (p.1, Value::Null),
        };
        assert_eq!(d["severity"], severity, "{path}: {d}");
        assert_eq!(d["rule"], rule, "{path}: {d}");
        let text = format!(
            "{} — {}",
            d["message"].as_str().unwrap(),
            d["help"].as_str().unwrap_or("")
        );
        for w in p.2 {
            assert!(text.contains(w), "{path}: `{w}` in {text}");
        }
    }
}

#[test]
fn every_corpus_file_is_listed_and_there_are_enough() {
    let mut files: Vec<String> = std::fs::read_dir(repo(CORPUS))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let listed: Vec<String> = CASES.iter().map(|c| c.file.to_string()).collect();
    assert_eq!(files, listed, "each corpus file has its expectations here");
    assert!(files.len() >= 25);
}

#[test]
fn corpus_text_output() {
    for case in CASES {
        check_text(case);
    }
}

#[test]
fn corpus_json_output() {
    for case in CASES {
        check_json(case);
    }
}

#[test]
fn samples_check_ok() {
    for s in ["scripts/demo.yaml", "scripts/demo-en.yaml"] {
        let o = run(anchor().args(["check", s]));
        no_panic(&o, s);
        assert_eq!(o.status.code(), Some(0), "{s}: {}", stderr(&o));
        // Warnings (if any) are warnings, never errors.
        for (_, kind, rest) in located_lines(&stderr(&o)) {
            assert!(kind.starts_with("warning["), "{s}: {kind}: {rest}");
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// A 10,000-product catalogue loads; with one typo near the end, that typo is the one error,
/// at its exact line and column.
#[test]
fn ten_thousand_products() {
    let dir = tempdir().unwrap();
    let src = anchor::script::synthetic_catalogue(10_000);
    let ok = write(dir.path(), "catalogue.yaml", &src);
    let o = run(anchor().args(["check", &ok]));
    no_panic(&o, "catalogue");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok (10000 products"), "{}", stdout(&o));

    // Product 9,990 (0-based 9,989) starts at line 11 + 12 × 9,989; its first FAQ answer is
    // 9 lines further.
    let line = 11 + 12 * 9_989 + 9;
    let mut lines: Vec<&str> = src.lines().collect();
    assert_eq!(
        lines[line - 1],
        "        a: 9990号商品今天到手价{price}元。"
    );
    lines[line - 1] = "        a: 9990号商品今天到手价{prise}元。";
    let bad = write(dir.path(), "catalogue-bad.yaml", &lines.join("\n"));
    for json in [false, true] {
        let mut cmd = anchor();
        cmd.arg("check");
        if json {
            cmd.args(["--format", "json"]);
        }
        let o = run(cmd.arg(&bad));
        no_panic(&o, "catalogue-bad");
        assert_eq!(o.status.code(), Some(1));
        if json {
            let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
            assert_eq!(v["errors"], 1, "{v}");
            assert_eq!(
                (
                    v["problems"][0]["line"].as_u64(),
                    v["problems"][0]["col"].as_u64()
                ),
                (Some(line as u64), Some(24))
            );
        } else {
            let err = stderr(&o);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with(&format!(
                    "{bad}:{line}:24: error: unknown template variable `{{prise}}` — did you mean `{{price}}`?"
                )),
                "{err}"
            );
        }
    }
}

#[test]
fn a_file_over_16_mib_is_refused() {
    let dir = tempdir().unwrap();
    let src = anchor::script::synthetic_catalogue(45_000);
    assert!(src.len() > 16 * 1024 * 1024);
    let path = write(dir.path(), "huge.yaml", &src);
    let o = run(anchor().args(["check", &path]));
    no_panic(&o, "huge");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("huge.yaml") && err.contains("larger than 16 MiB"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let dir = tempdir().unwrap();
    for (name, src) in [
        (
            "flow.yaml",
            format!(
                "version: 1\nshow: {}{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        ("block.yaml", {
            let mut s = String::from("version: 1\nshow:\n");
            for i in 0..5_000 {
                s.push_str(&" ".repeat(i + 1));
                s.push_str("- \n");
            }
            s
        }),
    ] {
        let path = write(dir.path(), name, &src);
        let o = run(anchor().args(["check", &path]));
        no_panic(&o, name);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.contains(&format!("{name}:")), "{err}");
    }
}
