//! YAML text → a tree of located nodes (saphyr-parser events, every node keeps its line:col).
//!
//! Scalars keep their text and style; typing (number, bool, null) is decided later by what the
//! script field asks for (see `de.rs`). Aliases are expanded (with a size limit against alias
//! bombs); duplicate keys are reported and the later one dropped.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::diagnostics::{Loc, Problem};

/// Deepest nesting accepted (a show script needs about 6).
const MAX_DEPTH: usize = 64;
/// Most nodes after alias expansion.
const MAX_NODES: usize = 2_000_000;

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

pub(crate) fn loc_of(span: &Span) -> Loc {
    Loc {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        start: span.start.index(),
        end: span.end.index(),
    }
}

/// Parses the single YAML document in `src`. `Ok(None)`: no document (empty or comments only).
/// The `Vec<Problem>` holds recoverable problems (duplicate keys).
pub(crate) fn parse(src: &str) -> Result<(Option<Node>, Vec<Problem>), Problem> {
    let mut b = Builder {
        parser: Parser::new_from_str(src),
        anchors: HashMap::new(),
        nodes: 0,
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
                    loc_of(&span),
                    format!("unexpected YAML event {other:?}"),
                ));
            }
        }
    }
    Ok((doc, b.problems))
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    problems: Vec<Problem>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), Problem> {
        match self.parser.next_event() {
            Some(Ok(pair)) => Ok(pair),
            Some(Err(e)) => {
                let m = e.marker();
                let loc = Loc {
                    line: u32::try_from(m.line()).unwrap_or(u32::MAX),
                    col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
                    start: m.index(),
                    end: m.index(),
                };
                Err(Problem::new(
                    loc,
                    format!("YAML syntax error: {}", e.info()),
                ))
            }
            None => Err(Problem::new(
                Loc::default(),
                "YAML syntax error: unexpected end of input",
            )),
        }
    }

    fn count(&mut self, n: usize, loc: Loc) -> Result<(), Problem> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(Problem::new(
                loc,
                format!("the document expands to more than {MAX_NODES} values (aliases?)"),
            ));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, span: Span, depth: usize) -> Result<Node, Problem> {
        let loc = loc_of(&span);
        if depth > MAX_DEPTH {
            return Err(Problem::new(
                loc,
                format!("values are nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.count(1, loc)?;
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, _tag) => (
                Node {
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        style,
                    },
                    loc,
                },
                anchor,
            ),
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id) else {
                    return Err(Problem::new(loc, "alias to an unknown anchor"));
                };
                let target = target.clone();
                self.count(size(&target), loc)?;
                return Ok(target);
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
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }
}

fn size(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
    }
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
        let (doc, problems) = parse(src).unwrap();
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
        let (doc, _) = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        assert!(matches!(&doc.unwrap().get("b").unwrap().kind, NodeKind::Seq(v) if v.len() == 2));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("expands"), "{}", err.message);
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let (_, problems) = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].loc.line, problems[0].loc.col), (3, 1));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let src = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&src).is_err());
    }
}
