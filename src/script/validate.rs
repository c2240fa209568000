//! Raw serde types → checked runtime types: defaults, ids, names, durations, templates.
//! Every problem is collected with its location; nothing stops at the first.

use std::collections::HashMap;
use std::time::Duration;

use saphyr_parser::ScalarStyle;

use super::de::Spanned;
use super::diagnostics::{Loc, Problem, suggest};
use super::raw::{RawChat, RawFaq, RawLine, RawPersona, RawProduct, RawScript, RawShow};
use super::template::{self, ProductVars, Scope};
use super::yaml::{Node, NodeKind};
use super::{
    ChatSettings, Cue, DEFAULT_AVATAR, DEFAULT_COUNTDOWN, DEFAULT_VOICE, Faq, Line, MAX_COUNTDOWN,
    Persona, Product, SUPPORTED_VERSION, ScheduleWindow, Segment, ShowSettings, TimeOfDay, Weekday,
    duration,
};
use crate::motion::{Emotion, Gesture};
use crate::voice::{Emphasis, Language};

/// The checked parts of a script (the path is added by the caller).
pub(crate) struct Checked {
    pub show: ShowSettings,
    pub persona: Persona,
    pub products: Vec<Product>,
    pub segments: Vec<Segment>,
    pub chat: ChatSettings,
}

/// `version:` is checked first and alone: a script for another version is not worth
/// reporting field by field.
pub(crate) fn check_version(doc: &Node) -> Result<(), Problem> {
    let Some(v) = doc.get("version") else {
        return Err(Problem::new(doc.loc, "missing key `version`").help(format!(
            "start the script with `version: {SUPPORTED_VERSION}`"
        )));
    };
    let n = match &v.kind {
        NodeKind::Scalar {
            text,
            style: ScalarStyle::Plain,
        } => text.parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(SUPPORTED_VERSION) => Ok(()),
        Some(other) => Err(
            Problem::new(v.loc, format!("unsupported script version {other}")).help(format!(
                "this anchor reads version {SUPPORTED_VERSION} scripts"
            )),
        ),
        None => Err(Problem::new(
            v.loc,
            format!("expected a version number, found {}", v.describe()),
        )
        .help(format!("write `version: {SUPPORTED_VERSION}`"))),
    }
}

pub(crate) struct Validator<'s> {
    src: &'s str,
    problems: Vec<Problem>,
}

impl<'s> Validator<'s> {
    pub fn new(src: &'s str) -> Self {
        Validator {
            src,
            problems: Vec::new(),
        }
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    fn err(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Checks everything; `None` when a whole section could not be read (already reported).
    pub fn script(&mut self, raw: RawScript) -> Option<Checked> {
        let show = raw.show.0.and_then(|s| self.show(s));
        let language = show.as_ref().map_or(Language::default(), |s| s.language);
        let persona = match raw.persona {
            Some(item) => item.0.map(|p| self.persona(p)),
            None => Some(Persona::default()),
        };
        let persona_ok = persona.is_some();
        let persona = persona.unwrap_or_default();

        let raw_products = raw.products.0;
        let products_complete = raw_products
            .as_ref()
            .is_some_and(|ps| ps.iter().all(|p| p.0.is_some()));
        let mut products = Vec::new();
        let mut seen: HashMap<String, Loc> = HashMap::new();
        for raw_p in raw_products.into_iter().flatten().flat_map(|p| p.0) {
            let id_loc = raw_p.id.loc;
            let id = raw_p.id.value.clone();
            if let Some(first) = seen.get(&id) {
                self.err(
                    Problem::new(id_loc, format!("duplicate product id `{id}`")).help(format!(
                        "it is already used at line {}:{}; ids must be unique",
                        first.line, first.col
                    )),
                );
                continue;
            }
            seen.insert(id, id_loc);
            if let Some(p) = self.product(raw_p, language, &persona) {
                products.push(p);
            }
        }

        let mut segments = Vec::new();
        match raw.segments.0 {
            Some(Spanned {
                loc: segments_loc,
                value: items,
            }) => {
                let lines = RundownCtx {
                    products: &products,
                    products_complete: products_complete && persona_ok,
                };
                if items.is_empty() {
                    self.err(
                        Problem::new(segments_loc, "`segments` is empty")
                            .help("the rundown needs at least one `say:` line"),
                    );
                }
                for item in items.into_iter().flat_map(|i| i.0) {
                    if let Some(seg) = self.segment(item, &lines, &persona) {
                        segments.push(seg);
                    }
                }
            }
            None => return None,
        }
        let chat = match raw.chat {
            Some(item) => item.0.and_then(|c| self.chat(c, language))?,
            None => ChatSettings::defaults(language),
        };
        Some(Checked {
            show: show?,
            persona,
            products,
            segments,
            chat,
        })
    }

    fn show(&mut self, raw: RawShow) -> Option<ShowSettings> {
        let language = match Language::from_tag(&raw.language.value) {
            Some(l) => l,
            None => {
                self.err(
                    Problem::new(
                        raw.language.loc,
                        format!("unsupported language `{}`", raw.language.value),
                    )
                    .help("use `zh-CN` or `en-US`"),
                );
                return None;
            }
        };
        let disclosure = match raw.disclosure {
            Some(d) if d.value.trim().is_empty() => {
                self.err(Problem::new(d.loc, "`disclosure` is empty").help(
                    "the AI disclosure is always shown; leave the key out to use the default",
                ));
                d.value
            }
            Some(d) => d.value,
            None => super::default_disclosure(language).to_string(),
        };
        let mut schedule = Vec::new();
        for w in raw.schedule.into_iter().flat_map(|w| w.0) {
            let from = self.time_of_day(&w.from, false);
            let to = self.time_of_day(&w.to, true);
            if let (Some(from), Some(to)) = (from, to) {
                schedule.push(ScheduleWindow {
                    days: w.days.unwrap_or_else(|| Weekday::ALL.to_vec()),
                    from,
                    to,
                    tz: w.tz,
                });
            }
        }
        Some(ShowSettings {
            title: raw.title,
            language,
            avatar: raw.avatar.unwrap_or_else(|| DEFAULT_AVATAR.to_string()),
            voice: raw.voice.unwrap_or_else(|| DEFAULT_VOICE.to_string()),
            disclosure,
            looping: raw.looping.unwrap_or(false),
            schedule,
        })
    }

    fn time_of_day(&mut self, t: &Spanned<String>, is_end: bool) -> Option<TimeOfDay> {
        let parsed = t.value.split_once(':').and_then(|(h, m)| {
            let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?);
            (m < 60 && (h < 24 || (is_end && h == 24 && m == 0)) && t.value.len() <= 5)
                .then_some(TimeOfDay { hour: h, minute: m })
        });
        if parsed.is_none() {
            self.err(
                Problem::new(t.loc, format!("invalid time `{}`", t.value))
                    .help("write 24-hour `HH:MM`, e.g. `23:00`"),
            );
        }
        parsed
    }

    fn persona(&mut self, raw: RawPersona) -> Persona {
        let name = raw.name.unwrap_or_default();
        let greeting = match raw.greeting {
            Some(g) => {
                let scope = Scope {
                    persona_name: (!name.is_empty()).then_some(name.as_str()),
                    persona_greeting: None,
                    product: None,
                };
                self.render(&g, &scope).unwrap_or_default()
            }
            None => String::new(),
        };
        Persona { name, greeting }
    }

    fn product(
        &mut self,
        raw: RawProduct,
        language: Language,
        persona: &Persona,
    ) -> Option<Product> {
        let id = raw.id.value;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            let fixed: String = id
                .to_lowercase()
                .chars()
                .map(|c| {
                    if c.is_ascii_lowercase() || c.is_ascii_digit() {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            let help = if fixed.is_empty() || fixed.chars().all(|c| c == '-') {
                "ids use lowercase letters, digits and `-`, e.g. `lipstick-01`".to_string()
            } else {
                format!("ids use lowercase letters, digits and `-`: try `{fixed}`")
            };
            self.err(Problem::new(raw.id.loc, format!("invalid product id `{id}`")).help(help));
        }
        let price = match raw.price {
            Some(p) if p.value < 0.0 => {
                self.err(Problem::new(p.loc, format!("negative price {}", p.value)));
                None
            }
            Some(p) => Some(p.value),
            None => None,
        };
        let mut product = Product {
            id,
            name: raw.name,
            price,
            currency: raw
                .currency
                .unwrap_or_else(|| super::default_currency(language).to_string()),
            link: raw.link,
            facts: raw.facts.0.into_iter().map(|(k, v)| (k.value, v)).collect(),
            selling_points: raw.selling_points,
            faq: Vec::new(),
        };
        let mut faq = Vec::new();
        for entry in raw.faq.into_iter().flat_map(|f| f.0) {
            if let Some(f) = self.faq(entry, &product, persona) {
                faq.push(f);
            }
        }
        product.faq = faq;
        Some(product)
    }

    fn faq(&mut self, raw: RawFaq, product: &Product, persona: &Persona) -> Option<Faq> {
        let questions: Vec<String> = raw
            .q
            .value
            .0
            .into_iter()
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty())
            .collect();
        if questions.is_empty() {
            self.err(
                Problem::new(raw.q.loc, "`q:` has no question")
                    .help("list the ways viewers ask it, e.g. `q: [多少钱, 价格]`"),
            );
        }
        let answer = self.render(&raw.a, &product_scope(product, persona))?;
        if answer.trim().is_empty() {
            self.err(Problem::new(raw.a.loc, "`a:` is empty"));
        }
        Some(Faq { questions, answer })
    }

    fn chat(&mut self, raw: RawChat, language: Language) -> Option<ChatSettings> {
        let d = ChatSettings::defaults(language);
        let max_queue = match raw.max_queue {
            Some(q) if q.value == 0 => {
                self.err(Problem::new(q.loc, "`max_queue` must be at least 1"));
                d.max_queue
            }
            Some(q) => q.value,
            None => d.max_queue,
        };
        let per_user_cooldown = match raw.per_user_cooldown {
            Some(c) => self.duration(&c).unwrap_or(d.per_user_cooldown),
            None => d.per_user_cooldown,
        };
        Some(ChatSettings {
            answer: raw.answer.unwrap_or(d.answer),
            max_queue,
            per_user_cooldown,
            banned_words: raw
                .banned_words
                .into_iter()
                .filter(|w| !w.trim().is_empty())
                .collect(),
            fallback: raw.fallback.unwrap_or(d.fallback),
        })
    }

    fn duration(&mut self, d: &Spanned<String>) -> Option<Duration> {
        match duration::parse(&d.value) {
            Ok(v) => Some(v),
            Err(message) => {
                let help = if d.value.trim().parse::<f64>().is_ok() {
                    format!("add a unit: did you mean `{}s`?", d.value.trim())
                } else {
                    duration::ACCEPTED.to_string()
                };
                self.err(Problem::new(d.loc, message).help(help));
                None
            }
        }
    }

    fn segment(
        &mut self,
        raw: Spanned<RawLine>,
        ctx: &RundownCtx<'_>,
        persona: &Persona,
    ) -> Option<Segment> {
        let item_loc = raw.loc;
        let raw = raw.value;
        if let Some(id) = &raw.product {
            if !self.only_one(&raw, item_loc) {
                return None;
            }
            self.not_with(&raw.gesture, "gesture", "say");
            self.not_with(&raw.emotion, "emotion", "say");
            self.not_with(&raw.emphasis, "emphasis", "say");
            self.not_with(&raw.countdown, "countdown", "cue");
            let product = ctx.products.iter().find(|p| p.id == id.value);
            if product.is_none() {
                // A product that failed to parse would make this a false alarm.
                if ctx.products_complete {
                    let help = suggest(&id.value, ctx.products.iter().map(|p| p.id.as_str()));
                    self.err(
                        Problem::new(id.loc, format!("unknown product id `{}`", id.value))
                            .help(help),
                    );
                }
                return None;
            }
            let mut lines = Vec::new();
            for item in raw
                .lines
                .map(|l| l.value)
                .unwrap_or_default()
                .into_iter()
                .flat_map(|i| i.0)
            {
                let loc = item.loc;
                if item.value.product.is_some() {
                    self.err(
                        Problem::new(loc, "a `product:` segment cannot be inside `lines:`").help(
                            "close this product's `lines:` and start a new item in `segments:`",
                        ),
                    );
                    continue;
                }
                if let Some(line) = self.line(item, product, persona) {
                    lines.push(line);
                }
            }
            return Some(Segment::Product {
                product: id.value.clone(),
                lines,
            });
        }
        self.line(
            Spanned {
                loc: item_loc,
                value: raw,
            },
            None,
            persona,
        )
        .map(Segment::Line)
    }

    /// Exactly one of say / product / pause / cue.
    fn only_one(&mut self, raw: &RawLine, item_loc: Loc) -> bool {
        let kinds: Vec<(&str, Loc)> = [
            ("say", raw.say.as_ref().map(|s| s.loc)),
            ("product", raw.product.as_ref().map(|s| s.loc)),
            ("pause", raw.pause.as_ref().map(|s| s.loc)),
            ("cue", raw.cue.as_ref().map(|s| s.loc)),
        ]
        .into_iter()
        .filter_map(|(k, l)| l.map(|l| (k, l)))
        .collect();
        match kinds.as_slice() {
            [] => {
                self.err(
                    Problem::new(
                        item_loc,
                        "this item has none of `say:`, `product:`, `pause:`, `cue:`",
                    )
                    .help("each item of `segments:` / `lines:` is exactly one of them"),
                );
                false
            }
            [_] => true,
            [(first, _), (second, loc), ..] => {
                self.err(
                    Problem::new(
                        *loc,
                        format!("this item has both `{first}:` and `{second}:`"),
                    )
                    .help("split it into two items"),
                );
                false
            }
        }
    }

    fn not_with<T>(&mut self, field: &Option<Spanned<T>>, name: &str, belongs: &str) {
        if let Some(f) = field {
            self.err(
                Problem::new(f.loc, format!("`{name}:` only goes with `{belongs}:`"))
                    .help(format!("move it to a `{belongs}:` item")),
            );
        }
    }

    fn line(
        &mut self,
        raw: Spanned<RawLine>,
        product: Option<&Product>,
        persona: &Persona,
    ) -> Option<Line> {
        let item_loc = raw.loc;
        let raw = raw.value;
        if !self.only_one(&raw, item_loc) {
            return None;
        }
        if let Some(l) = &raw.lines {
            self.err(
                Problem::new(l.loc, "`lines:` only goes with `product:`")
                    .help("move these lines under a `product:` item"),
            );
        }
        if let Some(say) = &raw.say {
            self.not_with(&raw.countdown, "countdown", "cue");
            let scope = match product {
                Some(p) => product_scope(p, persona),
                None => Scope {
                    persona_name: non_empty(&persona.name),
                    persona_greeting: non_empty(&persona.greeting),
                    product: None,
                },
            };
            let text = self.render(say, &scope);
            if text.as_ref().is_some_and(|t| t.trim().is_empty()) {
                self.err(
                    Problem::new(say.loc, "`say:` is empty")
                        .help("write what to say, or remove the item"),
                );
            }
            let gesture = raw.gesture.as_ref().and_then(|g| {
                let found = Gesture::from_name(&g.value);
                if found.is_none() {
                    let help = suggest(&g.value, Gesture::ALL.iter().map(|g| g.name()));
                    self.err(
                        Problem::new(g.loc, format!("unknown gesture `{}`", g.value)).help(help),
                    );
                }
                found
            });
            let emotion = raw.emotion.as_ref().and_then(|e| {
                let found = Emotion::from_name(&e.value);
                if found.is_none() {
                    let help = suggest(&e.value, Emotion::ALL.iter().map(|e| e.name()));
                    self.err(
                        Problem::new(e.loc, format!("unknown emotion `{}`", e.value)).help(help),
                    );
                }
                found
            });
            let emphasis = raw.emphasis.map_or(Emphasis::default(), |e| e.value);
            return Some(Line::Say {
                text: text?,
                gesture,
                emotion,
                emphasis,
            });
        }
        self.not_with(&raw.gesture, "gesture", "say");
        self.not_with(&raw.emotion, "emotion", "say");
        self.not_with(&raw.emphasis, "emphasis", "say");
        if let Some(p) = &raw.pause {
            self.not_with(&raw.countdown, "countdown", "cue");
            return self.duration(p).map(Line::Pause);
        }
        let cue = raw.cue.as_ref()?;
        if cue.value != "link" {
            let help = suggest(&cue.value, ["link"]);
            self.err(Problem::new(cue.loc, format!("unknown cue `{}`", cue.value)).help(help));
            return None;
        }
        let countdown = match &raw.countdown {
            Some(c) if c.value > MAX_COUNTDOWN => {
                self.err(
                    Problem::new(c.loc, format!("countdown {} is too long", c.value))
                        .help(format!("at most {MAX_COUNTDOWN} seconds")),
                );
                return None;
            }
            Some(c) => c.value,
            None => DEFAULT_COUNTDOWN,
        };
        match product {
            None => {
                self.err(Problem::new(cue.loc, "`cue: link` outside a product").help(
                    "put it in a `product:` segment's `lines:`; it pushes that product's link",
                ));
                None
            }
            Some(p) if p.link.is_none() => {
                self.err(
                    Problem::new(
                        cue.loc,
                        format!("`cue: link` but product `{}` has no `link`", p.id),
                    )
                    .help("add `link:` to the product"),
                );
                None
            }
            Some(_) => Some(Line::Cue(Cue::Link { countdown })),
        }
    }

    /// Resolves the templates of a located text, reporting each problem at its own column.
    fn render(&mut self, text: &Spanned<String>, scope: &Scope<'_>) -> Option<String> {
        match template::render(&text.value, scope) {
            Ok(s) => Some(s),
            Err(errors) => {
                let mut from = text.loc.start;
                for e in errors {
                    let loc = self.find_in_source(text.loc, from, &e.token);
                    from = loc.start + 1;
                    self.err(Problem {
                        loc,
                        message: e.message,
                        help: e.help,
                    });
                }
                None
            }
        }
    }

    /// Where `token` is written inside the node at `node` (searching from char index `from`);
    /// the node's own start when it cannot be found (escapes in quoted text, folded lines).
    fn find_in_source(&self, node: Loc, from: usize, token: &str) -> Loc {
        let byte_of = |ci: usize| {
            self.src
                .char_indices()
                .nth(ci)
                .map_or(self.src.len(), |(b, _)| b)
        };
        let (start_b, end_b) = (
            byte_of(from.max(node.start)),
            byte_of(node.end.max(node.start)),
        );
        let Some(hay) = self.src.get(start_b..end_b) else {
            return node;
        };
        let Some(off) = hay.find(token) else {
            return node;
        };
        let abs = start_b + off;
        let before = &self.src[..abs];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.src[line_start..abs].chars().count() + 1;
        Loc {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
            start: before.chars().count(),
            end: before.chars().count() + token.chars().count(),
        }
    }
}

struct RundownCtx<'a> {
    products: &'a [Product],
    /// Every product parsed: an unknown id is really unknown.
    products_complete: bool,
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn product_scope<'a>(p: &'a Product, persona: &'a Persona) -> Scope<'a> {
    Scope {
        persona_name: non_empty(&persona.name),
        persona_greeting: non_empty(&persona.greeting),
        product: Some(ProductVars {
            id: &p.id,
            name: &p.name,
            price: p.price,
            currency: &p.currency,
            facts: &p.facts,
            selling_points: &p.selling_points,
        }),
    }
}
