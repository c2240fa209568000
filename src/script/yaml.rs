//! YAML text → a tree of located nodes (saphyr-parser events, every node keeps its line:col).
//!
//! Scalars keep their text and style; typing (number, bool, null) is decided later by what the
//! script field asks for (see `de.rs`). Aliases are expanded, with limits on the values and the
//! text they expand to (against "billion laughs" alias bombs, whether many small values or one
//! long text repeated); duplicate keys are reported and the later one dropped. Nesting deeper
//! than [`MAX_DEPTH`] is an error, so nothing later recurses deeply.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::diagnostics::{Loc, Problem};

/// Deepest nesting accepted (a show script needs about 6).
const MAX_DEPTH: usize = 64;
/// Most nodes after alias expansion.
const MAX_NODES: usize = 2_000_000;
/// Most scalar text (bytes) that aliases may add: a 16 MiB script plus this much repetition.
const MAX_ALIAS_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Scalar { text: String, style: ScalarStyle },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A plain `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, style: ScalarStyle::Plain }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// How the node reads in an error message: "a mapping", "the text `abc`", ...
    pub fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Map(_) => "a mapping".to_string(),
            NodeKind::Seq(_) => "a list".to_string(),
            NodeKind::Scalar { .. } if self.is_null() => "nothing".to_string(),
            NodeKind::Scalar { text, style } => {
                let short: String = text.chars().take(40).collect();
                let ell = if short.len() < text.len() { "…" } else { "" };
                if *style == ScalarStyle::Plain && (text.parse::<f64>().is_ok()) {
                    format!("the number `{short}`")
                } else if *style == ScalarStyle::Plain && matches!(text.as_str(), "true" | "false")
                {
                    format!("`{text}`")
                } else {
                    format!("the text `{short}{ell}`")
                }
            }
        }
    }

    /// The value under `key` if this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find_map(|(k, v)| match &k.kind {
                NodeKind::Scalar { text, .. } if text == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }
}

pub(crate) fn loc_of(span: &Span, file: u32) -> Loc {
    Loc {
        file,
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        start: span.start.index(),
        end: span.end.index(),
    }
}

/// Parses the single YAML document in `src`. `Ok(None)`: no document (empty or comments only).
/// The `Vec<Problem>` holds recoverable problems (duplicate keys).
/// Locations carry `file` (the index of this file in the load's file table).
pub(crate) fn parse(src: &str, file: u32) -> Result<(Option<Node>, Vec<Problem>), Problem> {
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        file,
        anchors: HashMap::new(),
        nodes: 0,
        tree_nodes: 0,
        bytes: 0,
        copied_bytes: 0,
        problems: Vec::new(),
    };
    let mut doc: Option<Node> = None;
    loop {
        let (ev, span) = b.next()?;
        match ev {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                let (ev, span) = b.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    continue;
                }
                let node = b.node(ev, span, 0)?;
                if doc.is_some() {
                    return Err(Problem::new(
                        node.loc,
                        "a script holds one YAML document, found a second one",
                    )
                    .help("remove the `---` line, or split the file"));
                }
                doc = Some(node);
            }
            other => {
                return Err(Problem::new(
                    loc_of(&span, b.file),
                    format!("unexpected YAML event {other:?}"),
                ));
            }
        }
    }
    Ok((doc, b.problems))
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    file: u32,
    /// Anchored values with their size (nodes, scalar bytes).
    anchors: HashMap<usize, (Node, usize, usize)>,
    /// Nodes in memory: the tree (aliases expanded) and the copies kept for anchors.
    nodes: usize,
    /// Nodes of the tree so far (aliases expanded).
    tree_nodes: usize,
    /// Scalar bytes of the tree so far (aliases expanded).
    bytes: usize,
    /// Scalar bytes copied for anchors and aliases.
    copied_bytes: usize,
    problems: Vec<Problem>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Problem> {
        match self.parser.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(e)) => {
                let m = e.marker();
                let loc = Loc {
                    file: self.file,
                    line: u32::try_from(m.line()).unwrap_or(u32::MAX),
                    col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
                    start: m.index(),
                    end: m.index(),
                };
                let mut p = Problem::new(loc, format!("YAML syntax error: {}", e.info()));
                p.help = syntax_help(e.info()).map(str::to_string);
                Err(p)
            }
            None => Err(Problem::new(
                Loc {
                    file: self.file,
                    ..Loc::default()
                },
                "YAML syntax error: unexpected end of input",
            )),
        }
    }

    /// Accounts for `n` nodes of the tree.
    fn count(&mut self, n: usize, loc: Loc) -> Result<(), Problem> {
        self.tree_nodes = self.tree_nodes.saturating_add(n);
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Problem::new(
                loc,
                format!("the document expands to more than {MAX_NODES} values (aliases?)"),
            ));
        }
        Ok(())
    }

    /// Accounts for a copy of `nodes` nodes holding `bytes` of text, before it is made.
    fn copy(&mut self, nodes: usize, bytes: usize, loc: Loc) -> Result<(), Problem> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(Problem::new(
                loc,
                format!("the document expands to more than {MAX_NODES} values (aliases?)"),
            ));
        }
        self.copied_bytes = self.copied_bytes.saturating_add(bytes);
        if self.copied_bytes > MAX_ALIAS_BYTES {
            return Err(Problem::new(
                loc,
                format!(
                    "the document expands to more than {} MiB of text (aliases?)",
                    MAX_ALIAS_BYTES / 1024 / 1024
                ),
            ));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, span: Span, depth: usize) -> Result<Node, Problem> {
        let loc = loc_of(&span, self.file);
        if depth > MAX_DEPTH {
            return Err(Problem::new(
                loc,
                format!("values are nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        // Size of this subtree = what the counters grow by while it is built.
        let (tree_nodes0, bytes0) = (self.tree_nodes, self.bytes);
        self.count(1, loc)?;
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                self.bytes = self.bytes.saturating_add(text.len());
                (
                    Node {
                        kind: NodeKind::Scalar {
                            text: text.into_owned(),
                            style,
                        },
                        loc,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let Some((_, nodes, bytes)) = self.anchors.get(&id) else {
                    return Err(Problem::new(loc, "alias to an unknown anchor"));
                };
                let (nodes, bytes) = (*nodes, *bytes);
                // Counted before copying: the copy itself is what a bomb attacks. It becomes
                // part of the tree.
                self.copy(nodes, bytes, loc)?;
                self.tree_nodes = self.tree_nodes.saturating_add(nodes);
                self.bytes = self.bytes.saturating_add(bytes);
                let Some((target, _, _)) = self.anchors.get(&id) else {
                    return Err(Problem::new(loc, "alias to an unknown anchor"));
                };
                // The alias points here; its value is the anchored one.
                let mut copy = target.clone();
                copy.loc = loc;
                return Ok(copy);
            }
            Event::SequenceStart(anchor, _tag) => {
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, span, depth + 1)?);
                }
                (
                    Node {
                        kind: NodeKind::Seq(items),
                        loc,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _tag) => {
                let mut entries: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(ev, span, depth + 1)?;
                    let (ev, span) = self.next()?;
                    let value = self.node(ev, span, depth + 1)?;
                    let dup = match &key.kind {
                        NodeKind::Scalar { text, .. } => {
                            entries.iter().find_map(|(k, _)| match &k.kind {
                                NodeKind::Scalar { text: t, .. } if t == text => {
                                    Some((text.clone(), k.loc))
                                }
                                _ => None,
                            })
                        }
                        _ => None,
                    };
                    if let Some((text, first)) = dup {
                        self.problems.push(
                            Problem::new(key.loc, format!("duplicate key `{text}`")).help(format!(
                                "it is already set at line {}:{}",
                                first.line, first.col
                            )),
                        );
                        continue;
                    }
                    entries.push((key, value));
                }
                (
                    Node {
                        kind: NodeKind::Map(entries),
                        loc,
                    },
                    anchor,
                )
            }
            other => {
                return Err(Problem::new(
                    loc,
                    format!("unexpected YAML event {other:?}"),
                ));
            }
        };
        if anchor > 0 {
            // The anchor keeps its own copy: charged too, or nested anchors on a big value
            // would copy it once per level.
            let nodes = self.tree_nodes - tree_nodes0;
            let bytes = self.bytes - bytes0;
            self.copy(nodes, bytes, loc)?;
            self.anchors.insert(anchor, (node.clone(), nodes, bytes));
        }
        Ok(node)
    }
}

/// How to fix the common YAML mistakes, by saphyr-parser's message.
fn syntax_help(info: &str) -> Option<&'static str> {
    let i = info.to_ascii_lowercase();
    Some(if i.contains("tab") {
        "indent with spaces: YAML does not allow tabs for indentation"
    } else if i.contains("quoted scalar") || i.contains("double-quoted") {
        "check that the quoted text starting here has its closing quote on the same line"
    } else if i.contains("flow") || i.contains("',' or ']'") || i.contains("',' or '}'") {
        "check that every `[` and `{` opened above is closed with `]` / `}`"
    } else if i.contains("mapping values are not allowed") {
        "put a space after `key:`, and quote text that contains `: `"
    } else if i.contains("anchor") || i.contains("alias") {
        "`&name` defines an anchor and `*name` repeats it; quote text starting with `&` or `*`"
    } else if i.contains("indentation") || i.contains("did not find expected key") {
        "line up keys of the same mapping at the same indentation (spaces)"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(node: &Node) -> (u32, u32) {
        (node.loc.line, node.loc.col)
    }

    #[test]
    fn nested_keys_are_located_in_block_and_flow_style() {
        let src =
            "show:\n  title: 晚间\nproducts:\n  - { id: a, facts: {色号: 正红色, 净含量: 3g} }\n";
        let (doc, problems) = parse(src, 0).unwrap();
        assert!(problems.is_empty());
        let doc = doc.unwrap();
        assert_eq!(at(doc.get("show").unwrap().get("title").unwrap()), (2, 10));
        let NodeKind::Seq(items) = &doc.get("products").unwrap().kind else {
            panic!()
        };
        let facts = items[0].get("facts").unwrap();
        assert_eq!(at(facts.get("净含量").unwrap()), (4, 36));
        let NodeKind::Map(entries) = &facts.kind else {
            panic!()
        };
        assert_eq!(at(&entries[1].0), (4, 31));
    }

    #[test]
    fn aliases_expand_and_bombs_are_refused() {
        let (doc, _) = parse("a: &x [1, 2]\nb: *x\n", 0).unwrap();
        assert!(matches!(&doc.unwrap().get("b").unwrap().kind, NodeKind::Seq(v) if v.len() == 2));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse(&bomb, 0).unwrap_err();
        assert!(err.message.contains("expands"), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let (_, problems) = parse("a: 1\nb: 2\na: 3\n", 0).unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].loc.line, problems[0].loc.col), (3, 1));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let src = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&src, 0).is_err());
    }
}
