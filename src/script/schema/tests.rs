//! The schema against the parser: same keys, same names, same patterns, and the sample scripts
//! valid. A minimal JSON Schema validator and regex matcher (the subset the schema uses) live
//! here so the check needs no extra crate.

use std::cell::Cell;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde_json::Value;

use super::super::raw::{
    RawCatalogue, RawChat, RawEvents, RawFaq, RawLine, RawPersona, RawProduct, RawSchedule,
    RawScript, RawShow,
};
use super::super::validate::{is_http_url, is_valid_id, parse_time};
use super::super::yaml::{self, Node, NodeKind};
use super::super::{duration, synthetic_catalogue};
use super::*;

// ---- a minimal regex matcher: ^ $ literals \d \s \S \. classes [..] groups | ? * + {n,m} ----

#[derive(Debug, Clone)]
enum Re {
    Start,
    End,
    Char(char),
    Class(Vec<(char, char)>, bool),
    Digit,
    Space(bool),
    Group(Vec<Vec<Re>>),
    Repeat(Box<Re>, usize, usize),
}

struct ReParser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl ReParser<'_> {
    fn alternatives(&mut self) -> Vec<Vec<Re>> {
        let mut alts = vec![Vec::new()];
        while let Some(&c) = self.chars.peek() {
            match c {
                ')' => break,
                '|' => {
                    self.chars.next();
                    alts.push(Vec::new());
                }
                _ => {
                    let atom = self.atom();
                    let atom = self.quantified(atom);
                    alts.last_mut().unwrap().push(atom);
                }
            }
        }
        alts
    }

    fn escape(&mut self) -> Re {
        match self.chars.next().expect("escape") {
            'd' => Re::Digit,
            's' => Re::Space(true),
            'S' => Re::Space(false),
            c => Re::Char(c),
        }
    }

    fn atom(&mut self) -> Re {
        match self.chars.next().unwrap() {
            '^' => Re::Start,
            '$' => Re::End,
            '\\' => self.escape(),
            '(' => {
                let g = self.alternatives();
                assert_eq!(self.chars.next(), Some(')'), "unclosed group");
                Re::Group(g)
            }
            '[' => {
                let negated = self.chars.peek() == Some(&'^');
                if negated {
                    self.chars.next();
                }
                let mut ranges = Vec::new();
                let mut space = false;
                loop {
                    let c = self.chars.next().expect("unclosed class");
                    if c == ']' {
                        break;
                    }
                    let c = if c == '\\' {
                        match self.chars.next().unwrap() {
                            's' => {
                                space = true;
                                continue;
                            }
                            c => c,
                        }
                    } else {
                        c
                    };
                    let mut it = self.chars.clone();
                    if it.next() == Some('-') && it.peek().is_some_and(|&n| n != ']') {
                        self.chars.next();
                        let hi = self.chars.next().unwrap();
                        ranges.push((c, hi));
                    } else {
                        ranges.push((c, c));
                    }
                }
                if space {
                    for w in [' ', '\t', '\n', '\r', '\u{b}', '\u{c}'] {
                        ranges.push((w, w));
                    }
                }
                Re::Class(ranges, negated)
            }
            c => Re::Char(c),
        }
    }

    fn quantified(&mut self, atom: Re) -> Re {
        let (min, max) = match self.chars.peek() {
            Some('?') => (0, 1),
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('{') => {
                self.chars.next();
                let spec: String = self.chars.by_ref().take_while(|&c| c != '}').collect();
                let (a, b) = spec.split_once(',').unwrap_or((&spec, &spec));
                let min = a.parse().unwrap();
                let max = if b.is_empty() {
                    usize::MAX
                } else {
                    b.parse().unwrap()
                };
                return Re::Repeat(Box::new(atom), min, max);
            }
            _ => return atom,
        };
        self.chars.next();
        Re::Repeat(Box::new(atom), min, max)
    }
}

fn one(re: &Re, s: &[char], i: usize) -> Option<usize> {
    let c = *s.get(i)?;
    let ok = match re {
        Re::Char(x) => c == *x,
        Re::Digit => c.is_ascii_digit(),
        Re::Space(yes) => c.is_whitespace() == *yes,
        Re::Class(ranges, neg) => ranges.iter().any(|&(a, b)| a <= c && c <= b) != *neg,
        _ => unreachable!(),
    };
    ok.then_some(i + 1)
}

fn seq(res: &[Re], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    let Some((first, rest)) = res.split_first() else {
        return k(i);
    };
    match first {
        Re::Start => i == 0 && seq(rest, s, i, k),
        Re::End => i == s.len() && seq(rest, s, i, k),
        Re::Group(alts) => alts
            .iter()
            .any(|alt| seq(alt, s, i, &mut |j| seq(rest, s, j, k))),
        Re::Repeat(atom, min, max) => {
            repeat(atom, *min, *max, 0, s, i, &mut |j| seq(rest, s, j, k))
        }
        atom => one(atom, s, i).is_some_and(|j| seq(rest, s, j, k)),
    }
}

fn repeat(
    atom: &Re,
    min: usize,
    max: usize,
    count: usize,
    s: &[char],
    i: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if count < max
        && seq(std::slice::from_ref(atom), s, i, &mut |j| {
            j != i && repeat(atom, min, max, count + 1, s, j, k)
        })
    {
        return true;
    }
    count >= min && k(i)
}

/// `true` if `pattern` matches somewhere in `text` (JSON Schema semantics: unanchored unless
/// the pattern says `^` / `$`).
fn regex_match(pattern: &str, text: &str) -> bool {
    let mut p = ReParser {
        chars: pattern.chars().peekable(),
    };
    let alts = p.alternatives();
    assert!(p.chars.next().is_none(), "unbalanced `)` in {pattern}");
    let re = vec![Re::Group(alts)];
    let s: Vec<char> = text.chars().collect();
    (0..=s.len()).any(|start| seq(&re, &s, start, &mut |_| true))
}

#[test]
fn regex_matcher_works_on_the_forms_used() {
    assert!(regex_match("^a(b|cd)?e$", "ae"));
    assert!(regex_match("^a(b|cd)?e$", "acde"));
    assert!(!regex_match("^a(b|cd)?e$", "abcde"));
    assert!(regex_match("^[a-z0-9-]+$", "lip-01"));
    assert!(!regex_match("^[a-z0-9-]+$", "Lip_01"));
    assert!(!regex_match("^[a-z0-9-]+$", ""));
    assert!(regex_match(r"^https?://[^\s/?#]+\S*$", "https://x.y/z?q=1"));
    assert!(!regex_match(r"^https?://[^\s/?#]+\S*$", "https://x y"));
    assert!(regex_match("b+", "abbbc"));
    assert!(regex_match("^x{2,3}$", "xxx"));
    assert!(!regex_match("^x{2,3}$", "xxxx"));
    assert!(regex_match(r"^\d\.\d$", "1.5"));
}

// ---- a minimal JSON Schema validator: the keywords the schema uses ----

/// Keywords the validator understands (or, for annotations, may ignore).
const KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "pattern",
    "items",
    "oneOf",
    "anyOf",
    "minimum",
    "maximum",
    "minLength",
    "minItems",
];
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "title",
    "description",
    "default",
    "examples",
    "definitions",
];

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/definitions/").expect("local $ref");
            let target = &root["definitions"][name];
            assert!(!target.is_null(), "dangling $ref {r}");
            resolve(root, target)
        }
        None => schema,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        other => panic!("unknown type {other}"),
    }
}

fn validate(root: &Value, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let schema = resolve(root, schema);
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
            _ => panic!("bad type"),
        };
        if !ok {
            errs.push(format!("{path}: expected {t}, found {v}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{path}: {v} is not one of the enum"));
    }
    if let (Some(p), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str())
        && !regex_match(p, s)
    {
        errs.push(format!("{path}: `{s}` does not match {p}"));
    }
    if let (Some(n), Some(s)) = (schema.get("minLength").and_then(Value::as_u64), v.as_str())
        && (s.chars().count() as u64) < n
    {
        errs.push(format!("{path}: shorter than {n}"));
    }
    if let (Some(n), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64())
        && x < n
    {
        errs.push(format!("{path}: {x} < minimum {n}"));
    }
    if let (Some(n), Some(x)) = (schema.get("maximum").and_then(Value::as_f64), v.as_f64())
        && x > n
    {
        errs.push(format!("{path}: {x} > maximum {n}"));
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                errs.push(format!("{path}: missing required `{r}`"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            let sub = format!("{path}/{k}");
            match (
                props.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => validate(root, s, val, &sub, errs),
                (None, Some(Value::Bool(false))) => errs.push(format!("{sub}: unknown key")),
                (None, Some(s)) if s.is_object() => validate(root, s, val, &sub, errs),
                _ => {}
            }
        }
    }
    if let Some(arr) = v.as_array() {
        if let Some(n) = schema.get("minItems").and_then(Value::as_u64)
            && (arr.len() as u64) < n
        {
            errs.push(format!("{path}: fewer than {n} items"));
        }
        if let Some(items) = schema.get("items") {
            for (i, x) in arr.iter().enumerate() {
                validate(root, items, x, &format!("{path}/{i}"), errs);
            }
        }
    }
    let passes = |s: &Value| {
        let mut e = Vec::new();
        validate(root, s, v, path, &mut e);
        e.is_empty()
    };
    if let Some(all) = schema.get("oneOf").and_then(Value::as_array) {
        let n = all.iter().filter(|s| passes(s)).count();
        if n != 1 {
            errs.push(format!("{path}: matches {n} of oneOf (must be exactly 1)"));
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(passes)
    {
        errs.push(format!("{path}: matches none of anyOf"));
    }
}

fn errors(schema: &Value, v: &Value) -> Vec<String> {
    let mut e = Vec::new();
    validate(schema, schema, v, "", &mut e);
    e
}

/// YAML → JSON with the YAML 1.2 core schema (what yaml-language-server does).
fn to_json(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match &k.kind {
                        NodeKind::Scalar { text, .. } => text.clone(),
                        _ => format!("{:?}", k.kind),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        NodeKind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        NodeKind::Scalar { text, style } => {
            if *style != saphyr_parser::ScalarStyle::Plain {
                return Value::String(text.clone());
            }
            if node.is_null() {
                return Value::Null;
            }
            match text.as_str() {
                "true" | "True" | "TRUE" => return Value::Bool(true),
                "false" | "False" | "FALSE" => return Value::Bool(false),
                _ => {}
            }
            if let Ok(i) = text.parse::<i64>() {
                return Value::from(i);
            }
            let numeric = text
                .trim_start_matches(['-', '+'])
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
                && text.chars().any(|c| c.is_ascii_digit());
            match text.parse::<f64>() {
                Ok(f) if numeric && f.is_finite() => Value::from(f),
                _ => Value::String(text.clone()),
            }
        }
    }
}

fn yaml_file(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let src = std::fs::read_to_string(&path).unwrap();
    let (doc, _) = yaml::parse(&src, 0).unwrap();
    to_json(&doc.unwrap())
}

fn yaml_text(src: &str) -> Value {
    let (doc, _) = yaml::parse(src, 0).unwrap();
    to_json(&doc.unwrap())
}

// ---- the field lists of the raw types, as serde sees them ----

type Captured = Cell<Option<(&'static str, &'static [&'static str])>>;

struct Capture<'a>(&'a Captured);

impl<'de> Deserializer<'de> for Capture<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.set(Some((name, fields)));
        Err(de::Error::custom("captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The keys a raw type accepts (what `deny_unknown_fields` and did-you-mean use).
fn fields_of<T: de::DeserializeOwned>() -> Vec<&'static str> {
    let cell = Cell::new(None);
    let _ = T::deserialize(Capture(&cell));
    let (_, fields) = cell.get().expect("a struct");
    let mut v = fields.to_vec();
    v.sort_unstable();
    v
}

fn keys_of(schema: &Value, def: &Value) -> Vec<String> {
    let def = resolve(schema, def);
    let mut v: Vec<String> = def["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties: {def}"))
        .keys()
        .cloned()
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn def<'a>(schema: &'a Value, name: &str) -> &'a Value {
    &schema["definitions"][name]
}

// ---- the tests ----

#[test]
fn schema_is_draft07_json_with_the_top_level_keys() {
    let schema = json_schema();
    let text = serde_json::to_string_pretty(&schema).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, schema);
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    for k in [
        "version", "include", "show", "persona", "products", "segments", "chat", "events",
    ] {
        assert!(schema["properties"].get(k).is_some(), "{k}");
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["version", "show", "segments"]);
    let cat = catalogue_json_schema();
    assert_eq!(cat["additionalProperties"], false);
    assert_eq!(keys_of(&cat, &cat), ["include", "products"]);
}

/// Every keyword is one the validator here implements, every object forbids unknown keys and
/// every property has a description (what editors show on hover).
#[test]
fn schema_uses_known_keywords_and_documents_every_field() {
    fn walk(root: &Value, s: &Value, path: &str) {
        let Some(obj) = s.as_object() else {
            return;
        };
        for k in obj.keys() {
            assert!(
                KEYWORDS.contains(&k.as_str()) || ANNOTATIONS.contains(&k.as_str()),
                "{path}: keyword `{k}` not understood by the test validator"
            );
        }
        if obj.get("type") == Some(&Value::from("object")) {
            assert!(
                obj.contains_key("additionalProperties"),
                "{path}: additionalProperties"
            );
        }
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (k, p) in props {
                let target = resolve(root, p);
                assert!(
                    p.get("description").is_some() || target.get("description").is_some(),
                    "{path}/{k} has no description"
                );
                walk(root, p, &format!("{path}/{k}"));
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(sub) = obj.get(key) {
                walk(root, sub, &format!("{path}/{key}"));
            }
        }
        for key in ["oneOf", "anyOf"] {
            for (i, sub) in obj
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                walk(root, sub, &format!("{path}/{key}/{i}"));
            }
        }
        if let Some(defs) = obj.get("definitions").and_then(Value::as_object) {
            for (k, d) in defs {
                assert!(d.get("description").is_some(), "definition {k}");
                walk(root, d, &format!("#/definitions/{k}"));
            }
        }
    }
    let schema = json_schema();
    walk(&schema, &schema, "");
}

/// The schema names exactly the keys the parser accepts: they cannot drift apart.
#[test]
fn schema_keys_are_the_raw_types_keys() {
    let s = json_schema();
    let check = |fields: Vec<&str>, defs: &[&Value]| {
        let mut keys: Vec<String> = defs.iter().flat_map(|d| keys_of(&s, d)).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys, fields, "schema vs raw type");
    };
    check(fields_of::<RawScript>(), &[&s]);
    check(fields_of::<RawCatalogue>(), &[def(&s, "catalogue")]);
    check(fields_of::<RawShow>(), &[def(&s, "show")]);
    check(fields_of::<RawSchedule>(), &[def(&s, "schedule_window")]);
    check(fields_of::<RawPersona>(), &[def(&s, "persona")]);
    check(fields_of::<RawProduct>(), &[def(&s, "product")]);
    check(fields_of::<RawFaq>(), &[def(&s, "faq")]);
    check(
        fields_of::<RawLine>(),
        &[
            def(&s, "say_line"),
            def(&s, "pause_line"),
            def(&s, "cue_line"),
            def(&s, "product_segment"),
        ],
    );
    check(fields_of::<RawChat>(), &[def(&s, "chat")]);
    check(fields_of::<RawEvents>(), &[def(&s, "events")]);
}

#[test]
fn schema_enums_are_the_runtime_names() {
    let s = json_schema();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let say = &def(&s, "say_line")["properties"];
    // The names src/motion gives (and the parser resolves).
    assert_eq!(
        strings(&say["gesture"]["enum"]),
        [
            "wave",
            "present_product",
            "nod",
            "point",
            "bow",
            "heart",
            "show_price",
            "point_down"
        ]
    );
    assert_eq!(
        strings(&say["gesture"]["enum"]),
        Gesture::ALL.map(|g| g.name().to_string())
    );
    assert_eq!(
        strings(&say["emotion"]["enum"]),
        Emotion::ALL.map(|e| e.name().to_string())
    );
    for name in strings(&say["emotion"]["enum"]) {
        assert!(Emotion::from_name(&name).is_some(), "{name}");
    }
    assert_eq!(strings(&say["emphasis"]["enum"]), ["normal", "strong"]);
    assert_eq!(
        strings(&def(&s, "show")["properties"]["language"]["enum"]),
        LANGUAGE_TAGS
    );
    assert_eq!(
        strings(&def(&s, "chat")["properties"]["answer"]["enum"]),
        ["between_sentences", "immediately", "never"]
    );
    assert_eq!(
        strings(&def(&s, "schedule_window")["properties"]["days"]["items"]["enum"]),
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    );
    let tz = strings(&def(&s, "schedule_window")["properties"]["tz"]["enum"]);
    assert!(tz.iter().any(|t| t == "Asia/Shanghai") && tz.iter().any(|t| t == "America/New_York"));
}

/// The patterns accept what the parser accepts, on the forms people write.
#[test]
fn schema_patterns_agree_with_the_parser() {
    let d = duration_pattern();
    for t in [
        "2s",
        "500ms",
        "1.5s",
        "1m",
        "1m30s",
        "1h",
        "1s500ms",
        "1h30m",
        "0s",
        "2h15m10s250ms",
        "1m500ms",
        "2 minutes",
        "2",
        "",
        "s",
        "1.2.3s",
        "30s1m",
        "1m1m",
        "-2s",
        "2sec",
        "2 s",
        "1d",
        ".5s",
        "1.s",
        " 2s",
        "ms",
        "1ms2s",
        "1hms",
    ] {
        assert_eq!(
            regex_match(&d, t),
            duration::parse(t).is_ok(),
            "duration `{t}`"
        );
    }
    for t in [
        "00:00", "08:05", "23:59", "24:00", "8:5", "8pm", "25:00", "23:60", "12:3", "1200",
        "12:00 ", "", "ab:cd", "-1:00",
    ] {
        assert_eq!(
            regex_match(TIME_PATTERN, t),
            parse_time(t, false).is_ok(),
            "from `{t}`"
        );
        assert_eq!(
            regex_match(END_TIME_PATTERN, t),
            parse_time(t, true).is_ok(),
            "to `{t}`"
        );
    }
    for id in ["lipstick-01", "a", "-", "Lip_1", "", "口红", "a b"] {
        assert_eq!(regex_match(ID_PATTERN, id), is_valid_id(id), "id `{id}`");
    }
    for url in [
        "https://hooks.example.com/anchor",
        "http://localhost:8080/x?y=1",
        "ftp://x",
        "https://",
        "https:///path",
        "hooks.example.com",
        "https://a b",
        "HTTPS://x",
    ] {
        assert_eq!(
            regex_match(URL_PATTERN, url),
            is_http_url(url),
            "url `{url}`"
        );
    }
}

#[test]
fn sample_scripts_are_valid_against_the_schema() {
    let s = json_schema();
    for f in [
        "scripts/demo.yaml",
        "scripts/demo-en.yaml",
        "tests/fixtures/shows/short-zh.yaml",
    ] {
        let e = errors(&s, &yaml_file(f));
        assert!(e.is_empty(), "{f}: {e:#?}");
    }
    let e = errors(&s, &yaml_text(&synthetic_catalogue(20)));
    assert!(e.is_empty(), "{e:#?}");
    let cat = catalogue_json_schema();
    let e = errors(
        &cat,
        &yaml_file("tests/fixtures/scripts/include/catalogue.yaml"),
    );
    assert!(e.is_empty(), "{e:#?}");
}

#[test]
fn broken_scripts_are_invalid_against_the_schema_where_the_parser_says() {
    let s = json_schema();
    let e = errors(&s, &yaml_file("tests/fixtures/scripts/unknown-key.yaml"));
    assert!(
        e.iter()
            .any(|e| e == "/products/0/selling_ponts: unknown key"),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|e| e.starts_with("/segments/0: matches 0 of oneOf")),
        "{e:#?}"
    );
    let e = errors(&s, &yaml_file("tests/fixtures/scripts/bad-duration.yaml"));
    assert_eq!(
        e.iter()
            .filter(|e| e.contains("matches 0 of oneOf"))
            .count(),
        2,
        "{e:#?}"
    );
    let e = errors(&s, &yaml_file("tests/fixtures/scripts/bad-time.yaml"));
    assert!(
        e.iter()
            .any(|e| e.contains("/show/schedule/0/from: `8pm` does not match")),
        "{e:#?}"
    );
    let e = errors(&s, &yaml_file("tests/fixtures/scripts/version-2.yaml"));
    assert_eq!(e, ["/version: 2 is not one of the enum"]);
    let e = errors(
        &s,
        &yaml_text("version: 1\nshow: {title: T, language: zh-CN}\nsegments: [{say: x}]\n"),
    );
    assert_eq!(e, [": matches none of anyOf"], "products or include");
    let e = errors(&s, &yaml_file("tests/fixtures/scripts/bad-webhook.yaml"));
    assert!(
        e.iter().any(|e| e.starts_with("/events/webhook: `ftp://")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|e| e.starts_with("/events/webhook_retries: 50")),
        "{e:#?}"
    );
}
