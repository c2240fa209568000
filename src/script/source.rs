//! The files of one load (the script and what it includes): reading them safely, and turning
//! byte offsets into `line:col` without rescanning the file for every message.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use super::MAX_SCRIPT_BYTES;
use super::diagnostics::Loc;

/// Why a file could not be read as script text.
#[derive(Debug)]
pub(crate) enum ReadError {
    NotFound,
    Io(std::io::Error),
    TooLarge,
    /// Not UTF-8, or holds a NUL byte: 1-based line and column, and the byte offset.
    NotText {
        line: u32,
        col: u32,
        byte: usize,
    },
}

/// Reads `path` as UTF-8 text of at most [`MAX_SCRIPT_BYTES`] without a NUL byte.
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_SCRIPT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(ReadError::TooLarge);
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let byte = e.utf8_error().valid_up_to();
            let (line, col) = line_col(&e.as_bytes()[..byte]);
            return Err(ReadError::NotText { line, col, byte });
        }
    };
    if let Some(byte) = text.find('\0') {
        let (line, col) = line_col(&text.as_bytes()[..byte]);
        return Err(ReadError::NotText { line, col, byte });
    }
    Ok(text)
}

/// 1-based line and column (characters) just after `before`. Lines end at `\n`, `\r\n` or
/// a lone `\r` (as in YAML, and as editors count them).
pub(crate) fn line_col(before: &[u8]) -> (u32, u32) {
    let text = String::from_utf8_lossy(before);
    let starts = line_starts(&text);
    let last = starts.last().copied().unwrap_or(0);
    let col = text[last..].chars().count() + 1;
    (
        u32::try_from(starts.len()).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// Byte offsets where lines start: 0, and after each `\n`, `\r\n` or lone `\r`.
pub(crate) fn line_starts(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = vec![0];
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            out.push(i + 1);
        }
    }
    out
}

/// `a/./b/../c` → `a/c`, without touching the file system (for messages only).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.iter().collect()
}

/// Characters between checkpoints of [`Source::char_to_byte`].
const CHECKPOINT: usize = 256;

/// One file's text with lazily built indexes (line starts, char → byte checkpoints).
pub(crate) struct Source {
    pub text: String,
    line_starts: OnceLock<Vec<usize>>,
    checkpoints: OnceLock<Vec<usize>>,
}

impl Source {
    pub fn new(text: String) -> Source {
        Source {
            text,
            line_starts: OnceLock::new(),
            checkpoints: OnceLock::new(),
        }
    }

    fn checkpoints(&self) -> &[usize] {
        self.checkpoints.get_or_init(|| {
            self.text
                .char_indices()
                .step_by(CHECKPOINT)
                .map(|(b, _)| b)
                .collect()
        })
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| line_starts(&self.text))
    }

    /// Byte offset of character `ci` (the text's length past the end).
    pub fn char_to_byte(&self, ci: usize) -> usize {
        let cps = self.checkpoints();
        let Some(&b) = cps.get(ci / CHECKPOINT) else {
            return self.text.len();
        };
        self.text[b..]
            .char_indices()
            .nth(ci % CHECKPOINT)
            .map_or(self.text.len(), |(i, _)| b + i)
    }

    /// Character index of byte offset `b` (a char boundary).
    pub fn byte_to_char(&self, b: usize) -> usize {
        let cps = self.checkpoints();
        let k = cps.partition_point(|&x| x <= b).saturating_sub(1);
        let from = cps.get(k).copied().unwrap_or(0);
        k * CHECKPOINT + self.text.get(from..b).map_or(0, |s| s.chars().count())
    }

    /// The location of `len_chars` characters starting at byte `b` of this file.
    pub fn loc_at(&self, file: u32, b: usize, len_chars: usize) -> Loc {
        let b = b.min(self.text.len());
        let ls = self.line_starts();
        let line = ls.partition_point(|&x| x <= b).max(1);
        let start_of_line = ls.get(line - 1).copied().unwrap_or(0);
        let col = self
            .text
            .get(start_of_line..b)
            .map_or(0, |s| s.chars().count())
            + 1;
        let start = self.byte_to_char(b);
        Loc {
            file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
            start,
            end: start + len_chars,
        }
    }

    /// The source text of a node (character range `loc.start..loc.end`), if in range.
    pub fn slice(&self, loc: Loc) -> Option<(usize, &str)> {
        let (a, b) = (
            self.char_to_byte(loc.start),
            self.char_to_byte(loc.end.max(loc.start)),
        );
        self.text.get(a..b).map(|s| (a, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_locations_agree_with_a_plain_scan() {
        let text: String = (0..2000)
            .map(|i| {
                if i % 7 == 0 {
                    "口红\n".to_string()
                } else {
                    format!("a{i}")
                }
            })
            .collect();
        let s = Source::new(text.clone());
        for (ci, (b, _)) in text.char_indices().enumerate().step_by(37) {
            assert_eq!(s.char_to_byte(ci), b);
            assert_eq!(s.byte_to_char(b), ci);
            let loc = s.loc_at(0, b, 1);
            let (line, col) = line_col(&text.as_bytes()[..b]);
            assert_eq!((loc.line, loc.col, loc.start), (line, col, ci));
        }
        assert_eq!(s.char_to_byte(text.chars().count()), text.len());
    }

    #[test]
    fn carriage_returns_end_lines_like_in_yaml() {
        assert_eq!(line_starts("a\r\nb\rc\n"), [0, 3, 5, 7]);
        assert_eq!(line_col(b"a\rbc"), (2, 3));
        assert_eq!(line_col(b"a\r\nbc"), (2, 3));
        let s = Source::new("x: 1\ry: 2\r\nz: 3".to_string());
        let loc = s.loc_at(0, "x: 1\ry: 2\r\n".len(), 1);
        assert_eq!((loc.line, loc.col), (3, 1));
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(
            normalize(Path::new("scripts/./shared/../cat.yaml")),
            PathBuf::from("scripts/cat.yaml")
        );
        assert_eq!(
            normalize(Path::new("../x.yaml")),
            PathBuf::from("../x.yaml")
        );
    }
}
