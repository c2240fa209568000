//! Raw serde types → checked runtime types: defaults, ids, names, durations, templates, time
//! zones; then the lint rules over everything the host says or shows. Every problem is
//! collected with its location; nothing stops at the first.

use std::collections::HashMap;
use std::time::Duration;

use saphyr_parser::ScalarStyle;

use super::de::{Item, Spanned};
use super::diagnostics::{Loc, Problem, Severity, closest, suggest};
use super::include::Files;
use super::lint;
use super::raw::{
    RawChat, RawEvents, RawFaq, RawLine, RawPersona, RawProduct, RawSchedule, RawScript, RawShow,
};
use super::template::{self, ProductVars, Scope};
use super::yaml::{Node, NodeKind};
use super::{
    ChatSettings, Cue, DEFAULT_AVATAR, DEFAULT_COUNTDOWN, DEFAULT_DISCLOSURE_EVERY, DEFAULT_VOICE,
    EventSettings, Faq, LANGUAGE_TAGS, Line, MAX_COUNTDOWN, MAX_WEBHOOK_RETRIES, Persona, Product,
    SUPPORTED_VERSION, ScheduleWindow, Segment, ShowSettings, TimeOfDay, Weekday, duration,
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
    pub events: EventSettings,
}

/// Products brought by `include:`, in merge order.
pub(crate) struct Included {
    pub products: Vec<Item<RawProduct>>,
    /// Every included product (and file) could be read: an unknown id is really unknown.
    pub complete: bool,
    /// The script has an `include:` key (then its own `products:` may be left out).
    pub any: bool,
}

/// A text the host says or shows, for the lint rules.
struct Spoken {
    /// Where it is written.
    loc: Loc,
    /// As written (templates unresolved).
    raw: String,
    /// As spoken (templates resolved), for `breath`; `None`: only shown, or not resolvable.
    spoken: Option<String>,
}

/// A `faq:` question seen so far, for `faq-collision`.
struct SeenQuestion {
    product: String,
    loc: Loc,
}

/// `true` for `http://host...` / `https://host...` without spaces (what `events.webhook` takes).
pub(crate) fn is_http_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
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
    files: &'s Files,
    problems: Vec<Problem>,
    spoken: Vec<Spoken>,
    questions: HashMap<String, SeenQuestion>,
}

impl<'s> Validator<'s> {
    pub fn new(files: &'s Files) -> Self {
        Validator {
            files,
            problems: Vec::new(),
            spoken: Vec::new(),
            questions: HashMap::new(),
        }
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    fn err(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Where `loc` is, for a message about another place: `line 6:9` in the same file,
    /// `catalogue.yaml:6:9` in another.
    fn place(&self, loc: Loc, from: Loc) -> String {
        if loc.file == from.file {
            format!("line {}:{}", loc.line, loc.col)
        } else {
            let file = self
                .files
                .paths
                .get(loc.file as usize)
                .map_or(String::new(), |p| p.display().to_string());
            format!("{file}:{}:{}", loc.line, loc.col)
        }
    }

    /// Checks everything; `None` when a whole section could not be read (already reported).
    /// `root` is where the script's mapping starts.
    pub fn script(&mut self, raw: RawScript, root: Loc, included: Included) -> Option<Checked> {
        let show = raw.show.0.and_then(|s| self.show(s));
        let language = show.as_ref().map_or(Language::default(), |s| s.language);
        let chat = match raw.chat {
            Some(item) => item.0.and_then(|c| self.chat(c, language)),
            None => Some(ChatSettings::defaults(language)),
        };
        let persona = match raw.persona {
            Some(item) => item.0.map(|p| self.persona(p)),
            None => Some(Persona::default()),
        };
        let persona_ok = persona.is_some();
        let persona = persona.unwrap_or_default();

        let own = match raw.products {
            Some(Item(Some(list))) => Some(list),
            Some(Item(None)) => None,
            None if included.any => Some(Vec::new()),
            None => {
                self.err(
                    Problem::new(root, "missing key `products` in the script").help(
                        "add `products:` (a list, may be `[]`), or `include:` a product catalogue",
                    ),
                );
                None
            }
        };
        let products_complete = included.complete
            && own
                .as_ref()
                .is_some_and(|ps| ps.iter().all(|p| p.0.is_some()));
        let mut products = Vec::new();
        let mut seen: HashMap<String, Loc> = HashMap::new();
        let all = included
            .products
            .into_iter()
            .chain(own.into_iter().flatten());
        for raw_p in all.flat_map(|p| p.0) {
            let id_loc = raw_p.id.loc;
            let id = raw_p.id.value.clone();
            if let Some(&first) = seen.get(&id) {
                let place = self.place(first, id_loc);
                self.err(
                    Problem::new(id_loc, format!("duplicate product id `{id}`"))
                        .help(format!("it is already used at {place}; ids must be unique")),
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
            None => {
                self.lint(chat.as_ref(), language);
                return None;
            }
        }
        let events = match raw.events {
            Some(item) => item.0.map(|e| self.events(e)),
            None => Some(EventSettings::default()),
        };
        self.lint(chat.as_ref(), language);
        Some(Checked {
            show: show?,
            persona,
            products,
            segments,
            chat: chat?,
            events: events?,
        })
    }

    fn events(&mut self, raw: RawEvents) -> EventSettings {
        let d = EventSettings::default();
        let webhook = raw.webhook.and_then(|w| {
            if is_http_url(&w.value) {
                Some(w.value)
            } else {
                self.err(
                    Problem::new(w.loc, format!("invalid webhook URL `{}`", w.value)).help(
                        "use an `http://` or `https://` URL without spaces, e.g. `https://hooks.example.com/anchor`",
                    ),
                );
                None
            }
        });
        let webhook_retries = match raw.webhook_retries {
            Some(r) if r.value > MAX_WEBHOOK_RETRIES => {
                self.err(
                    Problem::new(r.loc, format!("`webhook_retries` {} is too many", r.value))
                        .help(format!("at most {MAX_WEBHOOK_RETRIES}")),
                );
                d.webhook_retries
            }
            Some(r) => r.value,
            None => d.webhook_retries,
        };
        EventSettings {
            webhook,
            webhook_retries,
        }
    }

    /// Records a text the host says or shows, for the lint rules.
    fn spoken(&mut self, text: &Spanned<String>, spoken: Option<String>) {
        self.spoken.push(Spoken {
            loc: text.loc,
            raw: text.value.clone(),
            spoken,
        });
    }

    /// `ad-law`, `banned-word` and `breath` over everything recorded by [`Self::spoken`].
    fn lint(&mut self, chat: Option<&ChatSettings>, language: Language) {
        let banned: Vec<&str> = chat
            .map(|c| c.banned_words.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let reword = match language {
            Language::ZhCn => {
                "reword it without the absolute claim, e.g. `很受欢迎`、`口碑很好`, or state a checkable fact (`持妆8小时`)"
            }
            Language::EnUs => {
                "reword it without the superlative, e.g. `popular`, `loved by many`, or state a checkable fact (`lasts 8 hours`)"
            }
        };
        let ad_law = lint::WordMatcher::new(lint::AD_LAW_WORDS, lint::AD_LAW_ALLOWED);
        let banned = lint::WordMatcher::new(&banned, lint::AD_LAW_ALLOWED);
        for s in std::mem::take(&mut self.spoken) {
            let ad = ad_law.find(&s.raw);
            let mut from = s.loc.start;
            for f in &ad {
                let loc = self.locate(s.loc, &s.raw, f.byte, &f.text, from);
                from = loc.start + 1;
                self.err(
                    Problem::lint(
                        loc,
                        Severity::Error,
                        lint::RULE_AD_LAW,
                        format!(
                            "advertising-law word `{}`: 《广告法》第九条第三项 forbids 国家级、最高级、最佳 and similar absolute terms in ads",
                            f.text
                        ),
                    )
                    .help(reword),
                );
            }
            {
                let mut from = s.loc.start;
                for f in banned.find(&s.raw) {
                    let end = f.byte + f.word.len();
                    if ad
                        .iter()
                        .any(|a| a.byte < end && f.byte < a.byte + a.word.len())
                    {
                        // Already reported as an advertising-law word.
                        continue;
                    }
                    let loc = self.locate(s.loc, &s.raw, f.byte, &f.text, from);
                    from = loc.start + 1;
                    self.err(
                        Problem::lint(
                            loc,
                            Severity::Error,
                            lint::RULE_BANNED_WORD,
                            format!("`{}` is in `chat.banned_words`", f.text),
                        )
                        .help("reword it, or take the word out of `chat.banned_words`"),
                    );
                }
            }
            let Some(spoken) = &s.spoken else {
                continue;
            };
            for c in lint::long_clauses(spoken) {
                let loc = if *spoken == s.raw {
                    let first: String = c.clause.chars().take(1).collect();
                    self.locate(s.loc, &s.raw, c.byte, &first, s.loc.start)
                } else {
                    let head: String = c.clause.trim_start().chars().take(6).collect();
                    self.find_in_source(s.loc, s.loc.start, &head)
                };
                let (message, help) = if c.han > lint::BREATH_MAX_HAN {
                    (
                        format!(
                            "this clause has {} characters without a pause: too long to say in one breath (at most {})",
                            c.han,
                            lint::BREATH_MAX_HAN
                        ),
                        format!("add a comma (，) after `{}`", c.split_after),
                    )
                } else {
                    (
                        format!(
                            "this clause has {} words without a pause: too long to say in one breath (at most {})",
                            c.words,
                            lint::BREATH_MAX_WORDS
                        ),
                        format!("add a comma after `{}`", c.split_after),
                    )
                };
                self.err(
                    Problem::lint(loc, Severity::Warning, lint::RULE_BREATH, message).help(help),
                );
            }
        }
    }

    /// Where byte `byte` of the value `value` (written at `node`) is in the source: exact for
    /// values written as they read (plain or quoted without escapes), else the next place
    /// `token` is written in the node (from char index `from`), else the node itself.
    fn locate(&self, node: Loc, value: &str, byte: usize, token: &str, from: usize) -> Loc {
        if let Some(src) = self.files.sources.get(node.file as usize)
            && let Some((start, slice)) = src.slice(node)
        {
            let inner = if slice == value {
                Some(start)
            } else {
                let b = slice.as_bytes();
                let quoted = b.len() >= 2
                    && (b[0] == b'"' || b[0] == b'\'')
                    && b[b.len() - 1] == b[0]
                    && slice.get(1..slice.len() - 1) == Some(value);
                quoted.then_some(start + 1)
            };
            if let Some(at) = inner {
                return src.loc_at(node.file, at + byte, token.chars().count());
            }
        }
        self.find_in_source(node, from, token)
    }

    fn show(&mut self, raw: RawShow) -> Option<ShowSettings> {
        let tag = raw.language.value.as_str();
        let language = match Language::from_tag(tag).filter(|_| LANGUAGE_TAGS.contains(&tag)) {
            Some(l) => l,
            None => {
                let help = closest(tag, LANGUAGE_TAGS.iter().copied())
                    .map_or("use `zh-CN` or `en-US`".to_string(), |c| {
                        format!("did you mean `{c}`?")
                    });
                self.err(
                    Problem::new(raw.language.loc, format!("unsupported language `{tag}`"))
                        .help(help),
                );
                return None;
            }
        };
        self.spoken(&raw.title, None);
        let disclosure = match raw.disclosure {
            Some(d) if d.value.trim().is_empty() => {
                self.err(Problem::new(d.loc, "`disclosure` is empty").help(
                    "the AI disclosure is always shown; leave the key out to use the default",
                ));
                d.value
            }
            Some(d) => {
                self.spoken(&d, Some(d.value.clone()));
                d.value
            }
            None => super::default_disclosure(language).to_string(),
        };
        let disclosure_every = match &raw.disclosure_every {
            Some(d) => self.duration(d).unwrap_or(DEFAULT_DISCLOSURE_EVERY),
            None => DEFAULT_DISCLOSURE_EVERY,
        };
        let mut schedule = Vec::new();
        for w in raw.schedule.into_iter().flat_map(|w| w.0) {
            if let Some(w) = self.window(w) {
                schedule.push(w);
            }
        }
        Some(ShowSettings {
            title: raw.title.value,
            language,
            avatar: raw.avatar.unwrap_or_else(|| DEFAULT_AVATAR.to_string()),
            voice: raw.voice.unwrap_or_else(|| DEFAULT_VOICE.to_string()),
            disclosure,
            disclosure_every: (!disclosure_every.is_zero()).then_some(disclosure_every),
            looping: raw.looping.unwrap_or(false),
            schedule,
        })
    }

    fn window(&mut self, w: RawSchedule) -> Option<ScheduleWindow> {
        let from = self.time_of_day(&w.from, false);
        let to = self.time_of_day(&w.to, true);
        let tz = match &w.tz {
            Some(t) => Some(self.time_zone(t)?),
            None => None,
        };
        let (from, to) = (from?, to?);
        if from == to {
            self.err(
                Problem::new(
                    w.to.loc,
                    format!(
                        "the window is empty: `from` and `to` are both `{}`",
                        w.to.value
                    ),
                )
                .help("for the whole day write `from: \"00:00\"` and `to: \"24:00\"`"),
            );
            return None;
        }
        Some(ScheduleWindow {
            days: w.days.unwrap_or_else(|| Weekday::ALL.to_vec()),
            from,
            to,
            tz,
        })
    }

    /// `HH:MM`, two digits each, 00:00–23:59; `24:00` only as an end.
    fn time_of_day(&mut self, t: &Spanned<String>, is_end: bool) -> Option<TimeOfDay> {
        match parse_time(&t.value, is_end) {
            Ok(time) => Some(time),
            Err(help) => {
                self.err(Problem::new(t.loc, format!("invalid time `{}`", t.value)).help(help));
                None
            }
        }
    }

    /// An IANA time zone name, exactly as the bundled database writes it.
    fn time_zone(&mut self, t: &Spanned<String>) -> Option<String> {
        let names = time_zone_names();
        if names.contains(&t.value) {
            return Some(t.value.clone());
        }
        let help = closest(&t.value, names.iter().map(String::as_str)).map_or_else(
            || {
                "use an IANA time zone name such as `Asia/Shanghai` or `America/New_York`"
                    .to_string()
            },
            |c| format!("did you mean `{c}`?"),
        );
        self.err(Problem::new(t.loc, format!("unknown time zone `{}`", t.value)).help(help));
        None
    }

    fn persona(&mut self, raw: RawPersona) -> Persona {
        let name = match raw.name {
            Some(n) => {
                self.spoken(&n, None);
                n.value
            }
            None => String::new(),
        };
        let greeting = match raw.greeting {
            Some(g) => {
                let scope = Scope {
                    persona_name: (!name.is_empty()).then_some(name.as_str()),
                    persona_greeting: None,
                    product: None,
                };
                let text = self.render(&g, &scope);
                self.spoken(&g, text.clone());
                text.unwrap_or_default()
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
        if !is_valid_id(&id) {
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
        if raw.name.value.trim().is_empty() {
            self.err(
                Problem::new(raw.name.loc, "`name` is empty")
                    .help("write the product name the host says, e.g. `丝绒哑光口红`"),
            );
        }
        self.spoken(&raw.name, None);
        for (_, v) in &raw.facts.0 {
            self.spoken(v, None);
        }
        for sp in &raw.selling_points {
            self.spoken(sp, None);
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
            name: raw.name.value,
            price,
            currency: raw
                .currency
                .unwrap_or_else(|| super::default_currency(language).to_string()),
            link: raw.link.map(|l| l.value),
            facts: raw
                .facts
                .0
                .into_iter()
                .map(|(k, v)| (k.value, v.value))
                .collect(),
            selling_points: raw.selling_points.into_iter().map(|s| s.value).collect(),
            faq: Vec::new(),
        };
        let mut faq = Vec::new();
        let mut own: HashMap<String, Loc> = HashMap::new();
        for entry in raw.faq.into_iter().flat_map(|f| f.0) {
            if let Some(f) = self.faq(entry, &product, persona, &mut own) {
                faq.push(f);
            }
        }
        product.faq = faq;
        Some(product)
    }

    fn faq(
        &mut self,
        raw: RawFaq,
        product: &Product,
        persona: &Persona,
        own: &mut HashMap<String, Loc>,
    ) -> Option<Faq> {
        let mut questions = Vec::new();
        for q in raw.q.value.0 {
            let text = q.value.trim();
            if text.is_empty() {
                continue;
            }
            // A single string is located by `q:` itself.
            let loc = if q.loc.line == 0 { raw.q.loc } else { q.loc };
            self.faq_collision(text, loc, &product.id, own);
            questions.push(text.to_string());
        }
        if questions.is_empty() {
            self.err(
                Problem::new(raw.q.loc, "`q:` has no question")
                    .help("list the ways viewers ask it, e.g. `q: [多少钱, 价格]`"),
            );
        }
        let answer = self.render(&raw.a, &product_scope(product, persona));
        self.spoken(&raw.a, answer.clone());
        let answer = answer?;
        if answer.trim().is_empty() {
            self.err(Problem::new(raw.a.loc, "`a:` is empty"));
        }
        Some(Faq { questions, answer })
    }

    /// `faq-collision`: the same question twice in one product, or in two products.
    fn faq_collision(
        &mut self,
        question: &str,
        loc: Loc,
        product: &str,
        own: &mut HashMap<String, Loc>,
    ) {
        let key = lint::normalize_question(question);
        if key.is_empty() {
            return;
        }
        if let Some(&first) = own.get(&key) {
            let place = self.place(first, loc);
            self.err(
                Problem::lint(
                    loc,
                    Severity::Warning,
                    lint::RULE_FAQ_COLLISION,
                    format!("the question `{question}` is asked twice in the FAQ of `{product}`"),
                )
                .help(format!("it is already at {place}; keep one")),
            );
            return;
        }
        own.insert(key.clone(), loc);
        match self.questions.get(&key) {
            Some(first) if first.product != product => {
                let (first_product, place) = (first.product.clone(), self.place(first.loc, loc));
                self.err(
                    Problem::lint(
                        loc,
                        Severity::Warning,
                        lint::RULE_FAQ_COLLISION,
                        format!(
                            "the question `{question}` is in the FAQ of both `{first_product}` and `{product}`"
                        ),
                    )
                    .help(format!(
                        "asked without naming a product, it is answered for the product on air, from anywhere else it is ambiguous (the first is at {place}): name the product in the question, or keep it in one FAQ"
                    )),
                );
            }
            Some(_) => {}
            None => {
                self.questions.insert(
                    key,
                    SeenQuestion {
                        product: product.to_string(),
                        loc,
                    },
                );
            }
        }
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
        if let Some(f) = &raw.fallback {
            self.spoken(f, Some(f.value.clone()));
        }
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
            fallback: raw.fallback.map_or(d.fallback, |f| f.value),
        })
    }

    fn duration(&mut self, d: &Spanned<String>) -> Option<Duration> {
        match duration::parse(&d.value) {
            Ok(v) => Some(v),
            Err(message) => {
                let help = if d.value.trim().parse::<f64>().is_ok_and(f64::is_finite)
                    && d.value
                        .trim()
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b'.')
                {
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
            self.spoken(say, text.clone());
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
                    let mut p = Problem::new(loc, e.message);
                    p.help = e.help;
                    self.err(p);
                }
                None
            }
        }
    }

    /// Where `token` is written inside the node at `node` (searching from char index `from`);
    /// the node's own start when it cannot be found (escapes in quoted text, folded lines).
    fn find_in_source(&self, node: Loc, from: usize, token: &str) -> Loc {
        let Some(src) = self.files.sources.get(node.file as usize) else {
            return node;
        };
        if token.is_empty() {
            return node;
        }
        let (start_b, end_b) = (
            src.char_to_byte(from.max(node.start)),
            src.char_to_byte(node.end.max(node.start)),
        );
        let Some(hay) = src.text.get(start_b..end_b) else {
            return node;
        };
        let Some(off) = hay.find(token) else {
            return node;
        };
        src.loc_at(node.file, start_b + off, token.chars().count())
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

/// `HH:MM`, two digits each, 00:00–23:59; `24:00` only when `is_end`. The error is the help
/// to show (how to write it).
pub(crate) fn parse_time(v: &str, is_end: bool) -> Result<TimeOfDay, String> {
    let b = v.as_bytes();
    let strict =
        b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit());
    if !strict {
        return Err(match loose_time(v) {
            Some((h, m, true)) => format!("write 24-hour `HH:MM`: `{h:02}:{m:02}`"),
            Some((h, m, false)) => {
                format!("write two digits for hours and minutes: `{h:02}:{m:02}`")
            }
            None => "write 24-hour `HH:MM` (quoted), e.g. `\"23:00\"`".to_string(),
        });
    }
    let (h, m) = (
        (b[0] - b'0') * 10 + (b[1] - b'0'),
        (b[3] - b'0') * 10 + (b[4] - b'0'),
    );
    if h == 24 && m == 0 {
        if is_end {
            return Ok(TimeOfDay {
                hour: 24,
                minute: 0,
            });
        }
        return Err(
            "`24:00` is only allowed as `to`; a window that starts at midnight starts at `00:00`"
                .into(),
        );
    }
    if h > 23 {
        return Err(format!(
            "hour {h} is out of range: hours are 00–23 (`24:00` only as `to`)"
        ));
    }
    if m > 59 {
        return Err(format!("minute {m} is out of range: minutes are 00–59"));
    }
    Ok(TimeOfDay { hour: h, minute: m })
}

/// The IANA time zone names of the database bundled in jiff (`Asia/Shanghai`, ...).
pub(crate) fn time_zone_names() -> Vec<String> {
    jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .collect()
}

/// Product ids: lowercase ASCII letters, digits and `-`, at least one character.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A time written loosely (`8:5`, `8pm`, `8:30 am`, `2000`): hour, minute, and whether it was a
/// 12-hour time. `None` when it is not a time at all or out of range.
fn loose_time(v: &str) -> Option<(u32, u32, bool)> {
    let t = v.trim().to_ascii_lowercase();
    let (t, pm) = if let Some(r) = t.strip_suffix("pm") {
        (r.trim().to_string(), Some(true))
    } else if let Some(r) = t.strip_suffix("am") {
        (r.trim().to_string(), Some(false))
    } else {
        (t, None)
    };
    let (h, m) = match t.split_once([':', '.', '：']) {
        Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None if pm.is_some() => (t.parse::<u32>().ok()?, 0),
        None if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) => {
            (t[..2].parse().ok()?, t[2..].parse().ok()?)
        }
        None => return None,
    };
    let h = match pm {
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(true) if h == 12 => 12,
        Some(true) => h + 12,
        Some(false) if h == 12 => 0,
        _ => h,
    };
    (h < 24 && m < 60).then_some((h, m, pm.is_some()))
}
