//! The script as written: serde types mirroring the YAML, `deny_unknown_fields` everywhere.
//! Checked and turned into the runtime types by `validate.rs`. The JSON Schema of the format
//! (`schema.rs`) is written by hand; a test checks it names exactly the keys of these types.

use serde::Deserialize;

use super::de::{Item, OneOrMany, Ordered, Spanned};
use crate::voice::Emphasis;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScript {
    /// Checked before anything else (see `validate::check_version`).
    #[allow(dead_code)]
    pub version: serde::de::IgnoredAny,
    /// Resolved on the YAML tree before deserializing (see `include.rs`).
    #[allow(dead_code)]
    pub include: Option<serde::de::IgnoredAny>,
    pub show: Item<RawShow>,
    #[serde(default)]
    pub persona: Option<Item<RawPersona>>,
    /// Required unless `include:` brings the products.
    #[serde(default)]
    pub products: Option<Item<Vec<Item<RawProduct>>>>,
    pub segments: Item<Spanned<Vec<Item<Spanned<RawLine>>>>>,
    #[serde(default)]
    pub chat: Option<Item<RawChat>>,
    #[serde(default)]
    pub events: Option<Item<RawEvents>>,
}

/// An included file: a product catalogue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCatalogue {
    /// Resolved on the YAML tree (see `include.rs`).
    #[allow(dead_code)]
    pub include: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub products: Option<Item<Vec<Item<RawProduct>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawShow {
    pub title: Spanned<String>,
    pub language: Spanned<String>,
    pub avatar: Option<String>,
    pub voice: Option<String>,
    pub disclosure: Option<Spanned<String>>,
    pub disclosure_every: Option<Spanned<String>>,
    #[serde(rename = "loop")]
    pub looping: Option<bool>,
    #[serde(default)]
    pub schedule: Vec<Item<RawSchedule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSchedule {
    pub days: Option<Vec<super::Weekday>>,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub tz: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPersona {
    pub name: Option<Spanned<String>>,
    pub greeting: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProduct {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    pub price: Option<Spanned<f64>>,
    pub currency: Option<String>,
    pub link: Option<Spanned<String>>,
    #[serde(default)]
    pub facts: Ordered<Spanned<String>>,
    #[serde(default)]
    pub selling_points: Vec<Spanned<String>>,
    pub faq: Vec<Item<RawFaq>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaq {
    pub q: Spanned<OneOrMany>,
    pub a: Spanned<String>,
}

/// One item of `segments:` or of a product's `lines:`. Exactly one of `say`, `product`,
/// `pause`, `cue` must be set; the others belong to one of them (checked in validate).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLine {
    pub say: Option<Spanned<String>>,
    pub gesture: Option<Spanned<String>>,
    pub emotion: Option<Spanned<String>>,
    pub emphasis: Option<Spanned<Emphasis>>,
    pub product: Option<Spanned<String>>,
    pub lines: Option<Spanned<Vec<Item<Spanned<RawLine>>>>>,
    pub pause: Option<Spanned<String>>,
    pub cue: Option<Spanned<String>>,
    pub countdown: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChat {
    pub answer: Option<super::AnswerPolicy>,
    pub max_queue: Option<Spanned<u32>>,
    pub per_user_cooldown: Option<Spanned<String>>,
    #[serde(default)]
    pub banned_words: Vec<String>,
    pub fallback: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvents {
    pub webhook: Option<Spanned<String>>,
    pub webhook_retries: Option<Spanned<u32>>,
}
