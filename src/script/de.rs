//! A serde `Deserializer` over the located YAML tree, so the raw types can stay plain serde
//! structs with `deny_unknown_fields` and every error still knows its line:col.
//!
//! Three extras beyond a plain deserializer:
//! - [`Spanned<T>`]: a value plus where it was written (for errors found after parsing).
//! - [`Item<T>`]: an error inside is recorded and the item becomes `None`, so one run reports
//!   problems in several products / lines instead of stopping at the first.
//! - unknown keys are recorded and skipped, never fatal, for the same reason.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use saphyr_parser::ScalarStyle;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Visitor};

use super::diagnostics::{Loc, Problem, suggest};
use super::yaml::{Node, NodeKind};

const SPANNED: &str = "$anchor::Spanned";
const ITEM: &str = "$anchor::Item";
/// Message of the error that unwinds to the enclosing [`Item`] after recording the real one.
const RECORDED: &str = "$anchor::recorded";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Other,
    MissingField,
    /// Already recorded in the context; only unwinds to the enclosing [`Item`].
    Recorded,
}

/// A deserialization error, located once it passes through the node it concerns.
#[derive(Debug)]
pub(crate) struct DeError {
    kind: Kind,
    loc: Option<Loc>,
    message: String,
    help: Option<String>,
}

impl DeError {
    fn new(message: impl Into<String>) -> DeError {
        DeError {
            kind: Kind::Other,
            loc: None,
            message: message.into(),
            help: None,
        }
    }

    fn with_help(mut self, help: impl Into<String>) -> DeError {
        self.help = Some(help.into());
        self
    }

    fn or_at(mut self, loc: Loc) -> DeError {
        if self.loc.is_none() {
            self.loc = Some(loc);
        }
        self
    }

    pub fn into_problem(self) -> Problem {
        let mut p = Problem::new(self.loc.unwrap_or_default(), self.message);
        p.help = self.help;
        p
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::new(format!("expected {exp}, found {unexp}"))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::new(format!("invalid value {unexp}, expected {exp}"))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(format!("unknown key `{field}`"))
            .with_help(suggest(field, expected.iter().copied()))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(format!("unknown value `{variant}`"))
            .with_help(suggest(variant, expected.iter().copied()))
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = DeError::new(format!("missing key `{field}`"));
        e.kind = Kind::MissingField;
        e
    }

    fn duplicate_field(field: &'static str) -> Self {
        DeError::new(format!("duplicate key `{field}`"))
    }
}

/// Shared state of one deserialization run: the problems recorded so far.
#[derive(Default)]
pub(crate) struct Ctx {
    pub problems: RefCell<Vec<Problem>>,
}

impl Ctx {
    fn record(&self, e: DeError) {
        if e.kind != Kind::Recorded {
            self.problems.borrow_mut().push(e.into_problem());
        }
    }
}

/// Deserializes `T` from `node`; problems recorded along the way are in `ctx`.
pub(crate) fn from_node<'de, T: de::Deserialize<'de>>(
    node: &Node,
    ctx: &Ctx,
) -> Result<T, Problem> {
    T::deserialize(NodeDe {
        node,
        ctx,
        catch: false,
    })
    .map_err(|e| e.or_at(node.loc).into_problem())
}

#[derive(Clone, Copy)]
struct NodeDe<'a> {
    node: &'a Node,
    ctx: &'a Ctx,
    /// This node is the content of an [`Item`]: record errors, answer `Recorded`.
    catch: bool,
}

impl<'a> NodeDe<'a> {
    fn child(&self, node: &'a Node) -> NodeDe<'a> {
        NodeDe {
            node,
            ctx: self.ctx,
            catch: false,
        }
    }

    fn done<T>(self, r: Result<T, DeError>) -> Result<T, DeError> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                let e = e.or_at(self.node.loc);
                if self.catch && e.kind != Kind::Recorded {
                    self.ctx.record(e);
                    Err(DeError {
                        kind: Kind::Recorded,
                        loc: None,
                        message: RECORDED.to_string(),
                        help: None,
                    })
                } else {
                    Err(e)
                }
            }
        }
    }

    fn mismatch(&self, expected: &str) -> DeError {
        DeError::new(format!(
            "expected {expected}, found {}",
            self.node.describe()
        ))
    }

    /// The scalar text, for anything but null, mappings and lists.
    fn text(&self, expected: &str) -> Result<&'a str, DeError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } if !self.node.is_null() => Ok(text.as_str()),
            _ => Err(self.mismatch(expected)),
        }
    }

    /// A plain (unquoted) scalar's text: numbers and bools must not be quoted.
    fn plain(&self, expected: &str) -> Result<&'a str, DeError> {
        match &self.node.kind {
            NodeKind::Scalar {
                text,
                style: ScalarStyle::Plain,
            } if !self.node.is_null() => Ok(text.as_str()),
            _ => Err(self.mismatch(expected)),
        }
    }

    fn int<T: TryFrom<i128>>(&self) -> Result<T, DeError> {
        let t = self.plain("a whole number")?;
        let digits = t.replace('_', "");
        let out_of_range = || {
            let short: String = t.chars().take(40).collect();
            let ell = if short.len() < t.len() { "…" } else { "" };
            DeError::new(format!("the number {short}{ell} is out of range"))
        };
        let v: i128 = match digits.parse() {
            Ok(v) => v,
            Err(_) => {
                let d = digits.strip_prefix(['-', '+']).unwrap_or(&digits);
                if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(out_of_range());
                }
                return Err(self.mismatch("a whole number"));
            }
        };
        T::try_from(v).map_err(|_| out_of_range())
    }

    fn float(&self) -> Result<f64, DeError> {
        let t = self.plain("a number")?;
        let v: f64 = match t {
            ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN" => f64::NAN,
            _ => t.parse().map_err(|_| self.mismatch("a number"))?,
        };
        if !v.is_finite() {
            return Err(DeError::new(format!("`{t}` is not a usable number")));
        }
        Ok(v)
    }

    fn boolean(&self) -> Result<bool, DeError> {
        match self.plain("true or false")? {
            "true" | "True" | "TRUE" => Ok(true),
            "false" | "False" | "FALSE" => Ok(false),
            other => Err(self.mismatch("true or false").with_help(match other {
                "yes" | "on" | "y" => "write `true`",
                "no" | "off" | "n" => "write `false`",
                _ => "write `true` or `false`",
            })),
        }
    }
}

macro_rules! ints {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let r = self.int::<$t>().and_then(|v| visitor.$visit(v));
            self.done(r)
        }
    )*};
}

impl<'de, 'a> Deserializer<'de> for NodeDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                de: self,
                iter: entries.iter(),
                value: None,
                fields: None,
                name: "",
            }),
            NodeKind::Seq(items) => visitor.visit_seq(SeqDe {
                de: self,
                iter: items.iter(),
            }),
            NodeKind::Scalar { .. } if self.node.is_null() => visitor.visit_unit(),
            NodeKind::Scalar { text, style } => {
                if *style != ScalarStyle::Plain {
                    visitor.visit_str(text)
                } else if let Ok(b) = self.boolean() {
                    visitor.visit_bool(b)
                } else if let Ok(i) = text.parse::<i64>() {
                    visitor.visit_i64(i)
                } else if let Ok(f) = text.parse::<f64>() {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_str(text)
                }
            }
        };
        self.done(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = self.boolean().and_then(|b| visitor.visit_bool(b));
        self.done(r)
    }

    ints!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
          deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
          deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = self.float().and_then(|f| visitor.visit_f64(f));
        self.done(r)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = self.text("text").and_then(|t| visitor.visit_str(t));
        self.done(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self.child(self.node))
        };
        self.done(r)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = if self.node.is_null() {
            visitor.visit_unit()
        } else {
            Err(self.mismatch("nothing"))
        };
        self.done(r)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match name {
            SPANNED => visitor.visit_seq(SpannedSeq {
                de: self.child(self.node),
                step: 0,
            }),
            ITEM => visitor.visit_newtype_struct(NodeDe {
                node: self.node,
                ctx: self.ctx,
                catch: true,
            }),
            _ => visitor.visit_newtype_struct(self.child(self.node)),
        };
        self.done(r)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            NodeKind::Seq(items) => visitor.visit_seq(SeqDe {
                de: self,
                iter: items.iter(),
            }),
            _ => Err(self.mismatch("a list")),
        };
        self.done(r)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.kind {
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                de: self,
                iter: entries.iter(),
                value: None,
                fields: None,
                name: "",
            }),
            _ => Err(self.mismatch("a mapping (`key: value` lines)")),
        };
        self.done(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let what = describe_struct(name);
        let r = match &self.node.kind {
            NodeKind::Map(entries) => visitor.visit_map(MapDe {
                de: self,
                iter: entries.iter(),
                value: None,
                fields: Some(fields),
                name,
            }),
            _ => Err(self.mismatch(&format!("a mapping ({what})"))),
        };
        let r = r.map_err(|mut e| {
            if e.kind == Kind::MissingField && e.loc.is_none() {
                e.message = format!("{} in {what}", e.message);
            }
            e
        });
        self.done(r)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match self.text("text") {
            Ok(t) => visitor.visit_enum(t.into_deserializer()),
            Err(_) => {
                let all: Vec<String> = variants.iter().map(|v| format!("`{v}`")).collect();
                Err(self.mismatch(&format!("one of {}", all.join(", "))))
            }
        };
        self.done(r)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

/// How a raw struct is named in "missing key `x` in ..." messages.
fn describe_struct(name: &str) -> &'static str {
    match name {
        "RawScript" => "the script",
        "RawShow" => "`show`",
        "RawSchedule" => "this schedule window",
        "RawPersona" => "`persona`",
        "RawProduct" => "this product",
        "RawFaq" => "this FAQ entry (`q:` questions, `a:` answer)",
        "RawLine" => "this line",
        "RawChat" => "`chat`",
        "RawEvents" => "`events`",
        "RawCatalogue" => "an included file",
        _ => "this mapping",
    }
}

struct SeqDe<'a, I> {
    de: NodeDe<'a>,
    iter: I,
}

impl<'de, 'a, I: Iterator<Item = &'a Node>> de::SeqAccess<'de> for SeqDe<'a, I> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            Some(node) => seed.deserialize(self.de.child(node)).map(Some),
            None => Ok(None),
        }
    }
}

struct MapDe<'a, I> {
    de: NodeDe<'a>,
    iter: I,
    value: Option<&'a Node>,
    /// For structs: the keys they accept; others are recorded as unknown and skipped.
    fields: Option<&'static [&'static str]>,
    /// For structs: the struct's name (`RawProduct`).
    name: &'static str,
}

impl<'de, 'a, I: Iterator<Item = &'a (Node, Node)>> de::MapAccess<'de> for MapDe<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        for (key, value) in self.iter.by_ref() {
            if let (Some(fields), NodeKind::Scalar { text, .. }) = (self.fields, &key.kind)
                && !fields.contains(&text.as_str())
            {
                // Recorded and skipped: the other keys of this mapping are still checked.
                let e = if self.name == "RawCatalogue" {
                    catalogue_key(text, fields)
                } else {
                    <DeError as de::Error>::unknown_field(text, fields)
                };
                self.de.ctx.record(e.or_at(key.loc));
                continue;
            }
            self.value = Some(value);
            return seed.deserialize(self.de.child(key)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(node) => seed.deserialize(self.de.child(node)),
            None => Err(DeError::new(
                "internal error: value asked for before its key",
            )),
        }
    }
}

/// An included file holds a product catalogue only.
fn catalogue_key(field: &str, fields: &'static [&'static str]) -> DeError {
    let help = match super::diagnostics::closest(field, fields.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!(
            "an included file holds only `products:` (and its own `include:`); move `{field}` to the main script"
        ),
    };
    DeError::new(format!("unknown key `{field}` in an included file")).with_help(help)
}

/// Feeds a [`Spanned`] visitor: file, line, col, start, end, then the value.
struct SpannedSeq<'a> {
    de: NodeDe<'a>,
    step: u8,
}

impl<'de, 'a> de::SeqAccess<'de> for SpannedSeq<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let loc = self.de.node.loc;
        let step = self.step;
        self.step += 1;
        let n: u64 = match step {
            0 => u64::from(loc.file),
            1 => u64::from(loc.line),
            2 => u64::from(loc.col),
            3 => loc.start as u64,
            4 => loc.end as u64,
            5 => return seed.deserialize(self.de).map(Some),
            _ => return Ok(None),
        };
        seed.deserialize(n.into_deserializer()).map(Some)
    }
}

/// A value and where it was written in the script.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned<T> {
    pub loc: Loc,
    pub value: T,
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Spanned<T>, A::Error> {
                let mut num = || -> Result<u64, A::Error> {
                    seq.next_element::<u64>()?
                        .ok_or_else(|| de::Error::custom("internal error: span"))
                };
                let (file, line, col, start, end) = (num()?, num()?, num()?, num()?, num()?);
                let value = seq
                    .next_element::<T>()?
                    .ok_or_else(|| de::Error::custom("internal error: span value"))?;
                let loc = Loc {
                    file: u32::try_from(file).unwrap_or(0),
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    col: u32::try_from(col).unwrap_or(u32::MAX),
                    start: usize::try_from(start).unwrap_or(usize::MAX),
                    end: usize::try_from(end).unwrap_or(usize::MAX),
                };
                Ok(Spanned { loc, value })
            }
        }
        d.deserialize_newtype_struct(SPANNED, V(PhantomData))
    }
}

/// A part of the script parsed on its own: `None` when it had errors (already recorded).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item<T>(pub Option<T>);

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Item<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Item<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Item<T>, D::Error> {
                T::deserialize(d).map(|v| Item(Some(v)))
            }
        }
        match d.deserialize_newtype_struct(ITEM, V(PhantomData)) {
            Ok(item) => Ok(item),
            Err(e) if e.to_string() == RECORDED => Ok(Item(None)),
            Err(e) => Err(e),
        }
    }
}

/// A mapping kept in the order it was written (`facts:`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ordered<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, V: de::Deserialize<'de>> de::Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: de::Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    out.push((k, map.next_value::<V>()?));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

/// One string or a list of strings (`q: 多少钱` or `q: [多少钱, 价格]`). Each item is located;
/// a single string is located by the enclosing [`Spanned`] (its own `loc` is left at line 0).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct OneOrMany(pub Vec<Spanned<String>>);

impl<'de> de::Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        fn one(v: String) -> OneOrMany {
            OneOrMany(vec![Spanned {
                loc: Loc::default(),
                value: v,
            }])
        }
        impl<'de> Visitor<'de> for Vis {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a question or a list of questions")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(one(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(one(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<OneOrMany, E> {
                Ok(one(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<OneOrMany, E> {
                Ok(one(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Spanned<String>>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(Vis)
    }
}
