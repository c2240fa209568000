//! `include:` — other files whose `products:` are merged before the script's own.
//!
//! An included file is a mapping with `products:` and optionally its own `include:` (a shared
//! product catalogue). Paths are relative to the including file. Each file is read once (a
//! catalogue included by two others is merged once); a file that includes itself, directly or
//! not, is an error at the entry that closes the cycle. The catalogue roots come back in merge
//! order: a file's includes (recursively, in the order written) before the file itself.

use std::path::{Path, PathBuf};

use super::diagnostics::{Loc, Problem};
use super::source::{self, ReadError, Source};
use super::yaml::{self, Node, NodeKind};
use super::{MAX_INCLUDE_DEPTH, MAX_SCRIPT_BYTES};

/// The files of one load: index 0 is the script itself.
pub(crate) struct Files {
    /// As shown in messages (the script's path as given; included paths joined onto its folder).
    pub paths: Vec<PathBuf>,
    pub sources: Vec<Source>,
    /// `canonicalize`d, to recognise a file reached twice; `None` if that failed.
    canonical: Vec<Option<PathBuf>>,
}

impl Files {
    pub fn new(path: &Path, text: String) -> Files {
        Files {
            paths: vec![path.to_path_buf()],
            sources: vec![Source::new(text)],
            canonical: vec![std::fs::canonicalize(path).ok()],
        }
    }

    fn add(&mut self, path: PathBuf, canonical: PathBuf, text: String) -> u32 {
        self.paths.push(path);
        self.sources.push(Source::new(text));
        self.canonical.push(Some(canonical));
        u32::try_from(self.paths.len() - 1).unwrap_or(u32::MAX)
    }

    /// How a file is named in a chain of includes: relative to the script's folder if inside it.
    fn short(&self, id: usize) -> String {
        let p = &self.paths[id];
        let base = self.paths[0].parent().unwrap_or(Path::new(""));
        match p.strip_prefix(base) {
            Ok(rel) if !base.as_os_str().is_empty() => rel.display().to_string(),
            _ => p.display().to_string(),
        }
    }
}

/// Loads every file `doc` (the script, file 0) includes. Returns the catalogue roots in merge
/// order; problems (in whichever file they are) go to `problems`.
pub(crate) fn resolve(doc: &Node, files: &mut Files, problems: &mut Vec<Problem>) -> Vec<Node> {
    let mut out = Vec::new();
    let mut chain = vec![0usize];
    visit(doc, files, &mut chain, &mut out, problems);
    out
}

/// The entries of an `include:` value: a path or a list of paths, each located.
fn entries(inc: &Node, problems: &mut Vec<Problem>) -> Vec<(String, Loc)> {
    let expected = "expected a path or a list of paths, e.g. `include: products.yaml`";
    let one = |n: &Node, problems: &mut Vec<Problem>| match &n.kind {
        NodeKind::Scalar { text, .. } if !n.is_null() && !text.trim().is_empty() => {
            Some((text.clone(), n.loc))
        }
        _ => {
            problems.push(Problem::new(
                n.loc,
                format!("{expected}, found {}", n.describe()),
            ));
            None
        }
    };
    match &inc.kind {
        NodeKind::Seq(items) => items.iter().filter_map(|n| one(n, problems)).collect(),
        _ if inc.is_null() => Vec::new(),
        _ => one(inc, problems).into_iter().collect(),
    }
}

fn visit(
    node: &Node,
    files: &mut Files,
    chain: &mut Vec<usize>,
    out: &mut Vec<Node>,
    problems: &mut Vec<Problem>,
) {
    let Some(inc) = node.get("include") else {
        return;
    };
    let Some(&current) = chain.last() else {
        return;
    };
    for (entry, loc) in entries(inc, problems) {
        let dir = files.paths[current]
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let joined = dir.join(&entry);
        let shown = source::normalize(&joined);
        if chain.len() > MAX_INCLUDE_DEPTH {
            problems.push(
                Problem::new(
                    loc,
                    format!("includes are nested more than {MAX_INCLUDE_DEPTH} levels deep"),
                )
                .help(
                    "include the catalogues from fewer levels (a flat list under `include:` works)",
                ),
            );
            continue;
        }
        let canonical = match std::fs::canonicalize(&joined) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(
                    Problem::new(loc, format!("included file not found: {}", shown.display()))
                        .help(format!(
                            "paths are relative to the including file ({})",
                            files.paths[current].display()
                        )),
                );
                continue;
            }
            Err(e) => {
                problems.push(Problem::new(
                    loc,
                    format!("cannot read included file {}: {e}", shown.display()),
                ));
                continue;
            }
        };
        if let Some(pos) = chain
            .iter()
            .position(|&id| files.canonical[id].as_ref() == Some(&canonical))
        {
            let mut names: Vec<String> = chain[pos..].iter().map(|&id| files.short(id)).collect();
            names.push(files.short(chain[pos]));
            problems.push(
                Problem::new(loc, format!("circular include: {}", names.join(" → ")))
                    .help("remove this entry; a file cannot include itself, directly or not"),
            );
            continue;
        }
        if files
            .canonical
            .iter()
            .any(|c| c.as_ref() == Some(&canonical))
        {
            // Already merged (a catalogue shared by two included files): once is enough.
            continue;
        }
        // Only regular files: a FIFO or a device would block or never end.
        if !std::fs::metadata(&canonical).is_ok_and(|m| m.is_file()) {
            problems.push(Problem::new(
                loc,
                format!("included path is not a regular file: {}", shown.display()),
            ));
            continue;
        }
        let text = match source::read_text(&joined) {
            Ok(t) => t,
            Err(e) => {
                let what = match e {
                    ReadError::NotFound => format!("included file not found: {}", shown.display()),
                    ReadError::Io(e) => {
                        format!("cannot read included file {}: {e}", shown.display())
                    }
                    ReadError::TooLarge => format!(
                        "included file {} is larger than {} MiB; a product catalogue is a few hundred KiB",
                        shown.display(),
                        MAX_SCRIPT_BYTES / 1024 / 1024
                    ),
                    ReadError::NotText { line, col, byte } => format!(
                        "included file {} is not UTF-8 text: invalid UTF-8 at {line}:{col} (byte {byte})",
                        shown.display()
                    ),
                };
                problems
                    .push(Problem::new(loc, what).help("include a UTF-8 YAML product catalogue"));
                continue;
            }
        };
        let src = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
        let id = files.add(shown.clone(), canonical, src);
        let parsed = yaml::parse(&files.sources[id as usize].text, id);
        let root = match parsed {
            Err(p) => {
                problems.push(p);
                continue;
            }
            Ok((None, _)) => {
                problems.push(
                    Problem::new(loc, format!("included file {} is empty", shown.display()))
                        .help("an included file holds `products:` (a list of products)"),
                );
                continue;
            }
            Ok((Some(root), dups)) => {
                problems.extend(dups);
                root
            }
        };
        if !matches!(root.kind, NodeKind::Map(_)) {
            problems.push(
                Problem::new(
                    root.loc,
                    format!(
                        "an included file is a mapping with `products:`, found {}",
                        root.describe()
                    ),
                )
                .help("write `products:` and the list of products under it"),
            );
            continue;
        }
        chain.push(id as usize);
        visit(&root, files, chain, out, problems);
        chain.pop();
        out.push(root);
    }
}
