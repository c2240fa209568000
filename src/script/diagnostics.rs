//! Located messages (`file:line:col: error: message — help`,
//! `file:line:col: warning[breath]: message — help`) and did-you-mean.

use std::fmt;
use std::path::{Path, PathBuf};

/// A position in the script source: 1-based line and column (columns count characters, not
/// bytes, so a line of Chinese text is counted the way an editor shows it), plus the character
/// range of the node it came from, and the file it is in (a script may include others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    /// Index of the file in the load's file table: 0 is the script itself, then the included
    /// files in the order they were reached.
    pub file: u32,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
    /// Character index of the node's first character in the source.
    pub start: usize,
    /// Character index just past the node's last character.
    pub end: usize,
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The script is not loaded (`anchor check` exits 1).
    Error,
    /// The script loads; worth fixing (listed in [`Script::warnings`](super::Script::warnings)).
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a script, pointing at the offending key or value.
///
/// Serialized (for `anchor check --format json`) as
/// `{"file", "line", "col", "severity": "error"|"warning", "rule": null|"ad-law"|..., "message", "help": null|"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The file the problem is in: the script, or a file it includes.
    #[serde(serialize_with = "path_as_text")]
    pub file: PathBuf,
    /// 1-based line (0 only for problems with the file as a whole, such as a missing file).
    pub line: u32,
    /// 1-based column, in characters (0 like `line`).
    pub col: u32,
    pub severity: Severity,
    /// The lint rule (`ad-law`, `banned-word`, `breath`, `faq-collision`); `None` for format
    /// errors (unknown keys, wrong types, ...).
    pub rule: Option<&'static str>,
    /// What is wrong and what was expected.
    pub message: String,
    /// How to fix it, e.g. "did you mean `selling_points`?".
    pub help: Option<String>,
}

fn path_as_text<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.severity
        )?;
        if let Some(rule) = self.rule {
            write!(f, "[{rule}]")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, " — {help}")?;
        }
        Ok(())
    }
}

/// All the problems found in one load, in source order. Displays one line per problem.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The problems, in source order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// A problem before the file name is attached (validation works on located values only).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub loc: Loc,
    pub message: String,
    pub help: Option<String>,
    pub severity: Severity,
    pub rule: Option<&'static str>,
}

impl Problem {
    /// An error (no rule).
    pub fn new(loc: Loc, message: impl Into<String>) -> Problem {
        Problem {
            loc,
            message: message.into(),
            help: None,
            severity: Severity::Error,
            rule: None,
        }
    }

    /// A problem found by a lint rule.
    pub fn lint(
        loc: Loc,
        severity: Severity,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            severity,
            rule: Some(rule),
            ..Problem::new(loc, message)
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    /// `files[loc.file]` names the file (the script itself when out of range).
    pub fn into_diagnostic(self, files: &[PathBuf]) -> Diagnostic {
        let file = files
            .get(self.loc.file as usize)
            .or(files.first())
            .cloned()
            .unwrap_or_default();
        Diagnostic {
            file,
            line: self.loc.line.max(1),
            col: self.loc.col.max(1),
            severity: self.severity,
            rule: self.rule,
            message: self.message,
            help: self.help,
        }
    }
}

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let input_len = input.chars().count();
    let mut best: Option<(usize, &'a str)> = None;
    for cand in candidates {
        if cand.eq_ignore_ascii_case(input) {
            return Some(cand);
        }
        let dist = strsim::damerau_levenshtein(input, cand);
        let len = input_len.max(cand.chars().count());
        // One edit for short words, about a third of the letters for long ones.
        let allowed = (len / 3).max(1);
        if dist <= allowed && best.is_none_or(|(d, _)| dist < d) {
            best = Some((dist, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate, or "expected one of: ..." when none is close.
pub(crate) fn suggest<'a, I>(input: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    match closest(input, candidates.clone()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => {
            let all: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            format!("expected one of {}", all.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_but_not_unrelated_words() {
        let keys = ["id", "name", "price", "selling_points", "faq"];
        assert_eq!(closest("selling_ponts", keys), Some("selling_points"));
        assert_eq!(closest("nmae", keys), Some("name"));
        assert_eq!(closest("Price", keys), Some("price"));
        assert_eq!(closest("colour", keys), None);
    }

    #[test]
    fn diagnostic_display_is_one_line_with_help() {
        let d = Diagnostic {
            file: "s.yaml".into(),
            line: 3,
            col: 5,
            severity: Severity::Error,
            rule: None,
            message: "unknown key `selling_ponts`".into(),
            help: Some("did you mean `selling_points`?".into()),
        };
        assert_eq!(
            d.to_string(),
            "s.yaml:3:5: error: unknown key `selling_ponts` — did you mean `selling_points`?"
        );
        let w = Diagnostic {
            severity: Severity::Warning,
            rule: Some("breath"),
            help: None,
            message: "long".into(),
            ..d.clone()
        };
        assert_eq!(w.to_string(), "s.yaml:3:5: warning[breath]: long");
        let e = Diagnostic {
            rule: Some("ad-law"),
            ..d
        };
        assert!(
            e.to_string()
                .starts_with("s.yaml:3:5: error[ad-law]: unknown key")
        );
    }

    #[test]
    fn diagnostic_serializes_with_severity_and_rule() {
        let d = Diagnostic {
            file: "dir/s.yaml".into(),
            line: 3,
            col: 5,
            severity: Severity::Warning,
            rule: Some("breath"),
            message: "m".into(),
            help: None,
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"file": "dir/s.yaml", "line": 3, "col": 5, "severity": "warning",
                "rule": "breath", "message": "m", "help": null})
        );
    }
}
