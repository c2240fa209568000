//! The JSON Schema (draft-07) of the script format, for editors: with yaml-language-server
//! (VS Code: redhat.vscode-yaml) it gives completion, hover docs and red squiggles.
//!
//! Written by hand so that it can say what the parser checks beyond the serde types (one of
//! `say` / `pause` / `cue` / `product` per item, patterns of durations, times and ids, enums
//! of gestures, emotions and time zones). The tests below keep it honest: its keys are
//! exactly the raw types' keys, its enums are the runtime names, its patterns accept exactly
//! what the parser accepts (on samples), and the sample scripts validate against it.
//!
//! What the schema cannot say (the parser still checks it): template variables, product ids
//! used in `segments` exist, `cue: link` needs the product's `link`, durations are at most a
//! day, lint rules.

use serde_json::{Map, Value, json};

use super::{
    AnswerPolicy, DEFAULT_AVATAR, DEFAULT_COUNTDOWN, DEFAULT_MAX_QUEUE, DEFAULT_VOICE,
    DEFAULT_WEBHOOK_RETRIES, LANGUAGE_TAGS, MAX_COUNTDOWN, MAX_WEBHOOK_RETRIES, SUPPORTED_VERSION,
    Weekday, validate,
};
use crate::motion::{Emotion, Gesture};
use crate::voice::Emphasis;

/// A number (`2`, `1.5`) in a duration.
const NUM: &str = r"[0-9]+(\.[0-9]+)?";
/// `HH:MM` from 00:00 to 23:59.
pub(crate) const TIME_PATTERN: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";
/// `HH:MM` from 00:00 to 24:00.
pub(crate) const END_TIME_PATTERN: &str = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";
/// Product ids.
pub(crate) const ID_PATTERN: &str = r"^[a-z0-9-]+$";
/// `events.webhook`.
pub(crate) const URL_PATTERN: &str = r"^https?://[^\s/?#]+\S*$";

/// Durations: units h, m, s, ms, largest first, each at most once, at least one.
pub(crate) fn duration_pattern() -> String {
    let (h, m, s, ms) = (
        format!("{NUM}h"),
        format!("{NUM}m"),
        format!("{NUM}s"),
        format!("{NUM}ms"),
    );
    format!("^({h}({m})?({s})?({ms})?|{m}({s})?({ms})?|{s}({ms})?|{ms})$")
}

fn text(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn duration(description: &str, default: &str, examples: &[&str]) -> Value {
    json!({
        "type": "string",
        "description": format!("{description} A duration: a number with a unit, largest unit first: `2s`, `500ms`, `1.5s`, `1m30s`, `1h` (units h, m, s, ms; at most a day)."),
        "pattern": duration_pattern(),
        "default": default,
        "examples": examples,
    })
}

fn names<T: serde::Serialize>(values: &[T]) -> Vec<Value> {
    values
        .iter()
        .map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
        .collect()
}

fn object(description: &str, required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "description": description,
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

fn definitions() -> Value {
    let gestures: Vec<&str> = Gesture::ALL.iter().map(|g| g.name()).collect();
    let emotions: Vec<&str> = Emotion::ALL.iter().map(|e| e.name()).collect();
    let say_props = json!({
        "say": {
            "type": "string",
            "minLength": 1,
            "description": "What the host says. Template variables: `{persona.name}`, `{persona.greeting}` everywhere; `{name}`, `{price}`, `{currency}`, `{facts.KEY}`, `{selling_points[i]}` inside a product's `lines:`. `{{` and `}}` are literal braces. Checked by the lint rules (ad-law, banned-word, breath).",
            "examples": ["姐妹们看过来！这款{name}真的是我的心头好。"],
        },
        "gesture": {
            "description": "A gesture to make while saying it.",
            "enum": gestures,
        },
        "emotion": {
            "description": "The facial expression and tone while saying it. Default: the previous one eases back to neutral.",
            "enum": emotions,
        },
        "emphasis": {
            "description": "`strong`: a bigger gesture and a livelier delivery.",
            "enum": names(&[Emphasis::Normal, Emphasis::Strong]),
            "default": "normal",
        },
    });
    let say_line = object("Speak a line.", &["say"], say_props);
    let pause_line = object(
        "Silence (the idle motion continues).",
        &["pause"],
        json!({ "pause": duration("How long to pause.", "1s", &["2s", "1.5s", "500ms"]) }),
    );
    let cue_line = object(
        "A cue inside a product's `lines:`: `cue: link` counts down, then pushes the product's link (the product needs `link:`).",
        &["cue"],
        json!({
            "cue": { "description": "The cue: `link` (\"3、2、1，上链接\").", "enum": ["link"] },
            "countdown": {
                "type": "integer",
                "description": format!("Seconds to count down before the link is pushed (at most {MAX_COUNTDOWN})."),
                "minimum": 0,
                "maximum": MAX_COUNTDOWN,
                "default": DEFAULT_COUNTDOWN,
            },
        }),
    );
    let product_segment = object(
        "Make a product the current one (product-change event and chapter mark), then play its lines.",
        &["product"],
        json!({
            "product": {
                "type": "string",
                "description": "The id of a product in `products:` (or an included catalogue).",
                "pattern": ID_PATTERN,
            },
            "lines": {
                "type": "array",
                "description": "What the host does for this product, in order: `say:`, `pause:` or `cue: link` items.",
                "items": { "$ref": "#/definitions/line" },
            },
        }),
    );
    let product = object(
        "A product: what the host knows about it and the questions viewers ask.",
        &["id", "name", "faq"],
        json!({
            "id": {
                "type": "string",
                "description": "Unique id: lowercase letters, digits and `-` (used by `product:` segments and events).",
                "pattern": ID_PATTERN,
                "examples": ["lipstick-01"],
            },
            "name": {
                "type": "string",
                "minLength": 1,
                "description": "The name the host says (`{name}`). Checked by the ad-law and banned-word rules.",
            },
            "price": {
                "type": "number",
                "minimum": 0,
                "description": "The price as a number (`99.9`); `{price}` writes it naturally (`99.9`, `199`) and the voice says it the way a host does (九十九块九).",
            },
            "currency": text("ISO 4217 code. Default: CNY for zh-CN, USD for en-US."),
            "link": text("The product page, sent with the link-push event of `cue: link`."),
            "facts": {
                "type": "object",
                "description": "Facts as `key: value` (order kept): `{facts.KEY}` in text, and answers to viewers.",
                "additionalProperties": { "type": ["string", "number", "boolean"] },
                "examples": [{ "色号": "正红色", "净含量": "3.5g" }],
            },
            "selling_points": {
                "type": "array",
                "description": "Selling points (`{selling_points[0]}`, 0-based).",
                "items": { "type": "string" },
            },
            "faq": {
                "type": "array",
                "description": "Questions viewers ask and the answer to give (may be `[]`).",
                "items": { "$ref": "#/definitions/faq" },
            },
        }),
    );
    let faq = object(
        "One FAQ entry.",
        &["q", "a"],
        json!({
            "q": {
                "description": "The ways viewers ask it: one question or a list. The same question in two products is a `faq-collision` warning.",
                "anyOf": [
                    { "type": "string" },
                    { "type": "array", "items": { "type": "string" }, "minItems": 1 },
                ],
            },
            "a": {
                "type": "string",
                "minLength": 1,
                "description": "The answer; the product's template variables work here (`{price}`).",
            },
        }),
    );
    let schedule_window = object(
        "A window when the avatar is on air. `to` earlier than `from` runs past midnight.",
        &["from", "to"],
        json!({
            "days": {
                "type": "array",
                "description": "Days the window starts on. Default: every day.",
                "items": { "enum": names(&Weekday::ALL) },
            },
            "from": {
                "type": "string",
                "description": "Start, 24-hour `HH:MM` (quote it: `\"23:00\"`).",
                "pattern": TIME_PATTERN,
            },
            "to": {
                "type": "string",
                "description": "End, 24-hour `HH:MM`; `24:00` is the end of the day. Not equal to `from`.",
                "pattern": END_TIME_PATTERN,
            },
            "tz": {
                "type": "string",
                "description": "IANA time zone (`Asia/Shanghai`), exactly as written in the time zone database. Default: the machine's local time.",
                "enum": validate::time_zone_names(),
            },
        }),
    );
    let show = object(
        "Settings of the whole stream.",
        &["title", "language"],
        json!({
            "title": text("The stream's title. Checked by the ad-law rule."),
            "language": {
                "type": "string",
                "description": "BCP-47 language of the show: `zh-CN` (Mandarin) or `en-US` (English).",
                "enum": LANGUAGE_TAGS,
            },
            "avatar": {
                "type": "string",
                "description": "Avatar folder (holds avatar.yaml).",
                "default": DEFAULT_AVATAR,
            },
            "voice": {
                "type": "string",
                "description": "`default`, or a folder made by `anchor voice enroll`.",
                "default": DEFAULT_VOICE,
            },
            "disclosure": {
                "type": "string",
                "minLength": 1,
                "description": "The AI disclosure, on screen for the whole stream and spoken after the greeting. Default: 本直播间由AI数字人主播讲解 (zh-CN), This live stream is hosted by an AI digital human (en-US).",
            },
            "disclosure_every": duration(
                "The greeting and the disclosure are spoken at the start and again at the first segment boundary after this long on air; `0s`: only at the start.",
                "30m",
                &["30m", "1h", "0s"],
            ),
            "loop": {
                "type": "boolean",
                "description": "Replay the rundown until stopped (overnight).",
                "default": false,
            },
            "schedule": {
                "type": "array",
                "description": "When the avatar is on air when no host is live.",
                "items": { "$ref": "#/definitions/schedule_window" },
                "default": [],
            },
        }),
    );
    let persona = object(
        "Who the host is.",
        &[],
        json!({
            "name": text("The host's name (`{persona.name}`)."),
            "greeting": text("Said at the start (and with the disclosure every `disclosure_every`): `{persona.greeting}`. May use `{persona.name}`."),
        }),
    );
    let chat = object(
        "How viewer questions are handled.",
        &[],
        json!({
            "answer": {
                "description": "When questions are answered: at the next sentence boundary, at once (interrupting), or never.",
                "enum": names(&[AnswerPolicy::BetweenSentences, AnswerPolicy::Immediately, AnswerPolicy::Never]),
                "default": "between_sentences",
            },
            "max_queue": {
                "type": "integer",
                "minimum": 1,
                "description": "Questions waiting at most.",
                "default": DEFAULT_MAX_QUEUE,
            },
            "per_user_cooldown": duration("How long a viewer waits between two answered questions.", "30s", &["30s", "1m"]),
            "banned_words": {
                "type": "array",
                "description": "Words never to say, added to the built-in advertising-law list: found in the script's own text they are `banned-word` errors.",
                "items": { "type": "string" },
            },
            "fallback": text("Said to a question the host cannot answer. Default per language."),
        }),
    );
    let events = object(
        "Where show events are posted besides the local event stream.",
        &[],
        json!({
            "webhook": {
                "type": "string",
                "description": "An `http://` or `https://` URL each event is POSTed to (JSON).",
                "pattern": URL_PATTERN,
                "examples": ["https://hooks.example.com/anchor"],
            },
            "webhook_retries": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_WEBHOOK_RETRIES,
                "description": format!("Attempts after a failed POST (at most {MAX_WEBHOOK_RETRIES})."),
                "default": DEFAULT_WEBHOOK_RETRIES,
            },
        }),
    );
    let include = json!({
        "description": "Other files whose `products:` are merged before this file's own (a shared product catalogue). Paths are relative to this file.",
        "anyOf": [
            { "type": "string", "minLength": 1 },
            { "type": "array", "items": { "type": "string", "minLength": 1 } },
        ],
        "examples": ["products.yaml", ["shared/catalogue.yaml", "extra.yaml"]],
    });
    let products = json!({
        "type": "array",
        "description": "The products (may be `[]`).",
        "items": { "$ref": "#/definitions/product" },
    });
    let catalogue = json!({
        "type": "object",
        "description": "An included file: a product catalogue.",
        "additionalProperties": false,
        "properties": {
            "include": { "$ref": "#/definitions/include" },
            "products": { "$ref": "#/definitions/products" },
        },
    });
    json!({
        "include": include,
        "products": products,
        "catalogue": catalogue,
        "show": show,
        "schedule_window": schedule_window,
        "persona": persona,
        "product": product,
        "faq": faq,
        "say_line": say_line,
        "pause_line": pause_line,
        "cue_line": cue_line,
        "product_segment": product_segment,
        "segment": {
            "description": "One item of the rundown: `say:`, `pause:` or `product:`.",
            "oneOf": [
                { "$ref": "#/definitions/say_line" },
                { "$ref": "#/definitions/pause_line" },
                { "$ref": "#/definitions/product_segment" },
            ],
        },
        "line": {
            "description": "One item of a product's `lines:`: `say:`, `pause:` or `cue: link`.",
            "oneOf": [
                { "$ref": "#/definitions/say_line" },
                { "$ref": "#/definitions/pause_line" },
                { "$ref": "#/definitions/cue_line" },
            ],
        },
        "chat": chat,
        "events": events,
    })
}

/// The JSON Schema (draft-07) of a show script, as `anchor schema` prints it. Every field has a
/// `description`; unknown keys are refused (`additionalProperties: false`).
pub fn json_schema() -> Value {
    let mut root = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "anchor show script",
        "description": "A show script for anchor (virtual live-stream host). Reference: docs/script-format.md. Check with `anchor check FILE`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["version", "show", "segments"],
        "anyOf": [
            { "required": ["products"] },
            { "required": ["include"] },
        ],
        "properties": {
            "version": {
                "type": "integer",
                "description": format!("The script format version: {SUPPORTED_VERSION}."),
                "enum": [SUPPORTED_VERSION],
            },
            "include": { "$ref": "#/definitions/include" },
            "show": { "$ref": "#/definitions/show" },
            "persona": { "$ref": "#/definitions/persona" },
            "products": {
                "$ref": "#/definitions/products",
                "description": "The products (may be `[]`); required unless `include:` brings them. Included products come first.",
            },
            "segments": {
                "type": "array",
                "description": "The rundown, played in order (at least one item).",
                "minItems": 1,
                "items": { "$ref": "#/definitions/segment" },
            },
            "chat": { "$ref": "#/definitions/chat" },
            "events": { "$ref": "#/definitions/events" },
        },
    });
    if let Some(m) = root.as_object_mut() {
        m.insert("definitions".into(), definitions());
    }
    root
}

/// The JSON Schema of an included file (a product catalogue): the same definitions, with the
/// catalogue at the root.
pub fn catalogue_json_schema() -> Value {
    let defs = definitions();
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    root.insert("title".into(), json!("anchor product catalogue"));
    if let Some(cat) = defs.get("catalogue").and_then(Value::as_object) {
        for (k, v) in cat {
            root.insert(k.clone(), v.clone());
        }
    }
    root.insert("definitions".into(), defs);
    Value::Object(root)
}

#[cfg(test)]
mod tests;
