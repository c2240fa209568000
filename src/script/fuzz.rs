//! A deterministic mutation fuzzer for the loader: the samples and the broken-script corpus,
//! mangled (byte flips, YAML punctuation, multi-byte text, lines deleted / duplicated /
//! swapped, indentation changed, truncation, anchors and aliases, deep nesting, huge numbers),
//! must give located diagnostics and never panic. Fixed seeds: a failure names its case (and
//! writes its input to the temp dir), `FUZZ_CASE=n` reruns only that one, and `FUZZ_CASES=n`
//! runs more than the default.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{Diagnostic, Script, ScriptError, synthetic_catalogue};

/// Cases per run (a few seconds in release).
const CASES: u64 = 5_000;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The texts mutations start from.
fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    for f in [
        "scripts/demo.yaml",
        "scripts/demo-en.yaml",
        "tests/fixtures/shows/short-zh.yaml",
    ] {
        if let Ok(t) = std::fs::read_to_string(repo(f)) {
            out.push(t);
        }
    }
    for dir in ["tests/fixtures/scripts", "tests/fixtures/scripts/include"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(repo(dir))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "yaml")
                && let Ok(t) = std::fs::read_to_string(&f)
            {
                out.push(t);
            }
        }
    }
    out.push(synthetic_catalogue(3));
    assert!(out.len() >= 30, "seeds: {}", out.len());
    out
}

const PUNCTUATION: &[&str] = &[
    ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "\"", "'", "&", "*", "!", "|", ">", "\t", "\n",
    "#", "%", "@", "`", "? ", "\\", "口红", "最", "：", "，", "\u{feff}", "\r\n", "\0", "&a ",
    "*a", "!!str ", "!!int ", "---\n", "...\n", "|-\n", ">+\n", "{{", "}}", "{name}", "{",
    "\u{200b}", "𠀀", "é",
];

/// Something that may blow up a careless loader.
fn bomb(rng: &mut SmallRng) -> String {
    match rng.random_range(0..6) {
        0 => "[".repeat(rng.random_range(1..200)),
        1 => "99999999999999999999999999999999999999999999".to_string(),
        2 => "1e999".to_string(),
        3 => "x".repeat(rng.random_range(1..5000)),
        4 => "&b [*b]".to_string(),
        _ => "- ".repeat(rng.random_range(1..100)),
    }
}

fn char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(src: &str, rng: &mut SmallRng) -> String {
    let mut s = src.to_string();
    for _ in 0..rng.random_range(1..=4) {
        let len = s.len();
        match rng.random_range(0..10) {
            // Byte flip (the result may not be UTF-8: read it as the loader's caller would).
            0 if len > 0 => {
                let mut b = s.into_bytes();
                let i = rng.random_range(0..len);
                b[i] ^= 1 << rng.random_range(0..8);
                s = String::from_utf8_lossy(&b).into_owned();
            }
            // YAML punctuation or multi-byte text somewhere.
            1 | 2 => {
                let at = char_boundary(&s, rng.random_range(0..=len));
                let p = PUNCTUATION[rng.random_range(0..PUNCTUATION.len())];
                s.insert_str(at, p);
            }
            // Delete, duplicate or swap lines.
            3 | 4 => {
                let mut lines: Vec<&str> = s.split_inclusive('\n').collect();
                if !lines.is_empty() {
                    let i = rng.random_range(0..lines.len());
                    match rng.random_range(0..3) {
                        0 => {
                            lines.remove(i);
                        }
                        1 => lines.insert(i, lines[i]),
                        _ => {
                            let j = rng.random_range(0..lines.len());
                            lines.swap(i, j);
                        }
                    }
                }
                s = lines.concat();
            }
            // Indentation changed on a line.
            5 => {
                let lines: Vec<&str> = s.split_inclusive('\n').collect();
                if !lines.is_empty() {
                    let i = rng.random_range(0..lines.len());
                    let mut out = String::with_capacity(s.len() + 4);
                    for (k, l) in lines.iter().enumerate() {
                        if k == i {
                            if rng.random_bool(0.5) {
                                out.push_str(&" ".repeat(rng.random_range(1..=4)));
                                out.push_str(l);
                            } else {
                                out.push_str(l.trim_start_matches(' '));
                            }
                        } else {
                            out.push_str(l);
                        }
                    }
                    s = out;
                }
            }
            // Truncated.
            6 => {
                let at = char_boundary(&s, rng.random_range(0..=len));
                s.truncate(at);
            }
            // Anchors and aliases.
            7 => {
                let at = char_boundary(&s, rng.random_range(0..=len));
                let a = ["&x ", "*x", "<<: *x\n", "x: &x [1, 2]\ny: [*x, *x, *x]\n"]
                    [rng.random_range(0..4)];
                s.insert_str(at, a);
            }
            // A bomb.
            8 => {
                let at = char_boundary(&s, rng.random_range(0..=len));
                s.insert_str(at, &bomb(rng));
            }
            // A scalar value replaced (keeps the structure, breaks the types).
            _ => {
                if let Some(colon) = s
                    .match_indices(": ")
                    .map(|(i, _)| i)
                    .nth(rng.random_range(0..s.matches(": ").count().max(1)))
                {
                    let from = colon + 2;
                    let to = s[from..].find('\n').map_or(s.len(), |e| from + e);
                    let with = [
                        "",
                        "~",
                        "[]",
                        "{}",
                        "-1",
                        "yes",
                        "0x1F",
                        "1e999",
                        "'",
                        "\"a\\u0\"",
                    ][rng.random_range(0..10)];
                    s.replace_range(from..to, with);
                }
            }
        }
    }
    s
}

/// Characters in each line of a text (lines end at `\n`, `\r\n` or a lone `\r`, as in YAML).
fn shape(text: &str) -> Vec<usize> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n")
        .split(['\n', '\r'])
        .map(|l| l.chars().count())
        .collect()
}

fn check_located(d: &Diagnostic, main: &Path, main_shape: &[usize]) -> Result<(), String> {
    let other;
    let shape = if d.file == main {
        main_shape
    } else {
        let text = std::fs::read(&d.file).map_err(|e| format!("{}: {e}", d.file.display()))?;
        other = shape(&String::from_utf8_lossy(&text));
        &other
    };
    let lines = shape.len();
    if d.line < 1 || d.line as usize > lines + 1 {
        return Err(format!("line {} not in 1..={}: {d}", d.line, lines + 1));
    }
    if d.col < 1 {
        return Err(format!("col {} < 1: {d}", d.col));
    }
    if let Some(&chars) = shape.get(d.line as usize - 1)
        && d.col as usize > chars + 1
    {
        return Err(format!(
            "col {} past the end of line {} ({chars} chars): {d}",
            d.col, d.line
        ));
    }
    if d.message.trim().is_empty() {
        return Err(format!("empty message: {d}"));
    }
    Ok(())
}

/// How a case ended (to check the mutations reach every part of the loader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    Loaded,
    Syntax,
    Invalid,
}

fn run_case(case: u64, seeds: &[String], path: &Path) -> Result<Outcome, String> {
    let mut rng = SmallRng::seed_from_u64(0x5C1E_0000 + case);
    let seed = &seeds[rng.random_range(0..seeds.len())];
    let src = mutate(seed, &mut rng);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let r = Script::parse(&src, path);
        // Formatting must not panic either.
        let _ = match &r {
            Ok(s) => s.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            Err(e) => vec![e.to_string()],
        };
        r
    }));
    let fail = |why: String| {
        let dump = std::env::temp_dir().join(format!("anchor-fuzz-case-{case}.yaml"));
        let _ = std::fs::write(&dump, &src);
        Err(format!("case {case} ({}): {why}", dump.display()))
    };
    let result = match outcome {
        Ok(r) => r,
        Err(_) => return fail("panicked".into()),
    };
    let main_shape = shape(&src);
    let diags: Vec<Diagnostic> = match &result {
        Ok(s) => s.warnings.clone(),
        Err(ScriptError::Syntax(d)) => vec![d.clone()],
        Err(ScriptError::Invalid(ds)) => ds.0.clone(),
        Err(other) => return fail(format!("unexpected error kind for text input: {other}")),
    };
    if result.is_err() && diags.is_empty() {
        return fail("an error without a located problem".into());
    }
    for d in &diags {
        if let Err(why) = check_located(d, path, &main_shape) {
            return fail(why);
        }
    }
    Ok(match result {
        Ok(_) => Outcome::Loaded,
        Err(ScriptError::Syntax(_)) => Outcome::Syntax,
        Err(_) => Outcome::Invalid,
    })
}

#[test]
fn mutated_scripts_give_located_errors_and_never_panic() {
    let seeds = seeds();
    // In the corpus folder, so `include:` entries of mutated fixtures resolve.
    let path = repo("tests/fixtures/scripts/fuzz-case.yaml");
    let only: Option<u64> = std::env::var("FUZZ_CASE").ok().and_then(|v| v.parse().ok());
    let total: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    let cases: Vec<u64> = match only {
        Some(n) => vec![n],
        None => (0..total).collect(),
    };
    let mut failures = Vec::new();
    let mut outcomes: std::collections::HashMap<Outcome, usize> = Default::default();
    for c in cases {
        match run_case(c, &seeds, &path) {
            Ok(o) => *outcomes.entry(o).or_default() += 1,
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    if only.is_none() {
        // The mutations reach the YAML parser, the validator and the happy path alike.
        // (Most seeds are broken fixtures: few mutants load.)
        for (o, at_least) in [
            (Outcome::Loaded, total / 100),
            (Outcome::Syntax, total / 10),
            (Outcome::Invalid, total / 10),
        ] {
            let n = outcomes.get(&o).copied().unwrap_or(0) as u64;
            assert!(n >= at_least, "{o:?}: {n} of {total} ({outcomes:?})");
        }
    }
}
