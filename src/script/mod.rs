//! script: the show script (YAML) in, a checked [`Script`] out.
//!
//! In: a path to a YAML file in the format of docs/script-format.md. Out: a [`Script`] whose
//! every name is resolved (gestures, emotions, product ids), every duration parsed and every
//! template variable (`{price}`, `{facts.色号}`, `{persona.name}`, ...) already substituted, so
//! the show director never meets an unchecked value; or a [`ScriptError`] whose problems each
//! name `file:line:col`, say what was expected and suggest the closest valid name.
//!
//! Two steps (conventions #7): the YAML is parsed into a tree of located nodes (saphyr-parser),
//! `include:`d product catalogues are loaded (`include.rs`), everything is deserialized into
//! the serde types of `raw.rs` (`deny_unknown_fields`) by our own located deserializer
//! (`de.rs`), then checked and turned into the runtime types by `validate.rs`, which also runs
//! the lint rules of `lint.rs` (`ad-law`, `banned-word`, `breath`, `faq-collision`). Problems
//! are collected across all files: one run lists them all, each with its file, line and
//! column. Errors fail the load; warnings come with the loaded [`Script`].
//!
//! [`json_schema`] describes the same format for editors.
//!
//! All [`ScriptError`]s are recoverable for a running show: keep playing the last good script.

mod de;
mod diagnostics;
mod duration;
mod include;
mod lint;
mod raw;
mod schema;
mod source;
mod synthetic;
mod template;
mod validate;
mod yaml;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use lint::{
    AD_LAW_ALLOWED, AD_LAW_WORDS, BREATH_MAX_HAN, BREATH_MAX_WORDS, RULE_AD_LAW, RULE_BANNED_WORD,
    RULE_BREATH, RULE_FAQ_COLLISION,
};
pub use schema::{catalogue_json_schema, json_schema};
pub use synthetic::synthetic_catalogue;

use crate::motion::{Emotion, Gesture};
use crate::voice::{Emphasis, Language};

/// The only script `version:` this build reads.
pub const SUPPORTED_VERSION: u64 = 1;
/// Scripts (and included files) larger than this are refused (a show script is a few KiB).
pub const MAX_SCRIPT_BYTES: u64 = 16 * 1024 * 1024;
/// Deepest chain of `include:`s (the script includes a file that includes a file ...).
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// `show.language` values accepted (exactly as written here).
pub const LANGUAGE_TAGS: &[&str] = &["zh-CN", "en-US", "zh", "zh-Hans", "en", "en-GB"];
/// `show.disclosure_every` when not set.
pub const DEFAULT_DISCLOSURE_EVERY: Duration = Duration::from_secs(30 * 60);
/// `events.webhook_retries` when not set.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 5;
/// Most `events.webhook_retries` accepted.
pub const MAX_WEBHOOK_RETRIES: u32 = 20;
/// `show.avatar` when not set.
pub const DEFAULT_AVATAR: &str = "avatars/default";
/// `show.voice` when not set.
pub const DEFAULT_VOICE: &str = "default";
/// `countdown:` of a `cue: link` when not set, in seconds.
pub const DEFAULT_COUNTDOWN: u32 = 3;
/// Longest accepted `countdown:`, in seconds.
pub const MAX_COUNTDOWN: u32 = 60;
/// `chat.max_queue` when not set.
pub const DEFAULT_MAX_QUEUE: u32 = 20;
/// `chat.per_user_cooldown` when not set.
pub const DEFAULT_PER_USER_COOLDOWN: Duration = Duration::from_secs(30);

/// The AI disclosure shown (and spoken at the start) when `show.disclosure` is not set.
pub fn default_disclosure(language: Language) -> &'static str {
    match language {
        Language::ZhCn => "本直播间由AI数字人主播讲解",
        Language::EnUs => "This live stream is hosted by an AI digital human",
    }
}

/// `currency:` of a product when not set.
pub fn default_currency(language: Language) -> &'static str {
    match language {
        Language::ZhCn => "CNY",
        Language::EnUs => "USD",
    }
}

/// `chat.fallback` when not set: what the host says to a question it cannot answer.
pub fn default_fallback(language: Language) -> &'static str {
    match language {
        Language::ZhCn => "这个问题我记下了，稍后由客服为您解答~",
        Language::EnUs => {
            "Good question! I've noted it, and our support team will get back to you soon."
        }
    }
}

/// Errors of the script stage. All are recoverable for a show on air: it keeps the last good
/// script and reports the error (hot reload); `anchor check` prints it and exits non-zero.
/// (Problems in an included file are located there and come as [`ScriptError::Invalid`].)
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The script file does not exist.
    #[error("script not found: {}", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory, I/O error).
    #[error("cannot read script {}: {source}", path.display())]
    Io {
        /// The path as given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_SCRIPT_BYTES`]; probably not a script.
    #[error("{}: error: the file is larger than {} MiB; a show script is a few KiB — is this the right file?", path.display(), MAX_SCRIPT_BYTES / 1024 / 1024)]
    TooLarge {
        /// The path as given.
        path: PathBuf,
    },
    /// The file is not UTF-8 text (binary data, or another encoding such as GBK).
    #[error("{}:{line}:{col}: error: not a text file: invalid UTF-8 at byte {byte} — save the script as UTF-8 YAML", path.display())]
    NotText {
        /// The path as given.
        path: PathBuf,
        /// 1-based line of the first bad byte.
        line: u32,
        /// 1-based column (characters) of the first bad byte.
        col: u32,
        /// Offset of the first bad byte.
        byte: usize,
    },
    /// The YAML itself is malformed (bad indentation, unclosed bracket or quote, ...).
    #[error("{0}")]
    Syntax(Diagnostic),
    /// The YAML is well formed but the script is not valid: one or more located problems
    /// (unknown keys, wrong types, unknown names, bad durations, template variables, lint
    /// errors, problems in included files, ...). Sorted by file (the script first, then the
    /// included files in the order they were reached), line and column; holds the warnings
    /// found too.
    #[error("{0}")]
    Invalid(Diagnostics),
}

impl ScriptError {
    /// The located problems of this error (empty for file-level errors such as [`ScriptError::NotFound`]).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ScriptError::Syntax(d) => std::slice::from_ref(d),
            ScriptError::Invalid(ds) => &ds.0,
            _ => &[],
        }
    }

    /// Every problem as a [`Diagnostic`], file-level errors included (those have line and
    /// column 0, except [`ScriptError::NotText`], which knows where the bad byte is).
    pub fn to_diagnostics(&self) -> Vec<Diagnostic> {
        let whole =
            |path: &Path, line: u32, col: u32, message: String, help: Option<&str>| Diagnostic {
                file: path.to_path_buf(),
                line,
                col,
                severity: Severity::Error,
                rule: None,
                message,
                help: help.map(str::to_string),
            };
        match self {
            ScriptError::NotFound { path } => {
                vec![whole(path, 0, 0, "script not found".into(), None)]
            }
            ScriptError::Io { path, source } => {
                vec![whole(
                    path,
                    0,
                    0,
                    format!("cannot read script: {source}"),
                    None,
                )]
            }
            ScriptError::TooLarge { path } => vec![whole(
                path,
                0,
                0,
                format!(
                    "the file is larger than {} MiB",
                    MAX_SCRIPT_BYTES / 1024 / 1024
                ),
                Some("a show script is a few KiB — is this the right file?"),
            )],
            ScriptError::NotText {
                path,
                line,
                col,
                byte,
            } => vec![whole(
                path,
                *line,
                *col,
                format!("not a text file: invalid UTF-8 at byte {byte}"),
                Some("save the script as UTF-8 YAML"),
            )],
            ScriptError::Syntax(d) => vec![d.clone()],
            ScriptError::Invalid(ds) => ds.0.clone(),
        }
    }
}

/// What `anchor check` reports about one script; `anchor check --format json` prints it:
/// `{"ok": bool, "file": "...", "errors": N, "warnings": N, "problems": [Diagnostic...]}`
/// (see [`Diagnostic`] for the shape of a problem).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// No errors (warnings allowed): exit code 0.
    pub ok: bool,
    /// The script checked.
    #[serde(serialize_with = "path_as_text")]
    pub file: PathBuf,
    pub errors: usize,
    pub warnings: usize,
    /// Errors and warnings, sorted by file, line and column.
    pub problems: Vec<Diagnostic>,
}

fn path_as_text<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&path.display())
}

impl CheckReport {
    /// The report of a load of `path` (by [`Script::load`]).
    pub fn new(path: &Path, result: &Result<Script, ScriptError>) -> CheckReport {
        let problems = match result {
            Ok(script) => script.warnings.clone(),
            Err(e) => e.to_diagnostics(),
        };
        let errors = problems.iter().filter(|d| d.is_error()).count();
        CheckReport {
            ok: result.is_ok(),
            file: path.to_path_buf(),
            errors,
            warnings: problems.len() - errors,
            problems,
        }
    }
}

/// A checked show script. Text is final: templates are resolved, names are enums.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// The files it includes, directly or not, in the order they were reached (a hot reload
    /// watches these too). Paths as in messages: joined onto the including file's folder.
    pub includes: Vec<PathBuf>,
    pub show: ShowSettings,
    pub persona: Persona,
    /// Included products first (in include order), then the script's own; ids are unique.
    pub products: Vec<Product>,
    /// The rundown, played in order (and again from the top when `show.looping`).
    pub segments: Vec<Segment>,
    pub chat: ChatSettings,
    pub events: EventSettings,
    /// Lint warnings (`breath`, `faq-collision`), sorted by file, line and column. A script
    /// with errors does not load; one with warnings does.
    pub warnings: Vec<Diagnostic>,
}

/// `show:` — settings of the whole stream.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowSettings {
    pub title: String,
    pub language: Language,
    /// Avatar folder (holds avatar.yaml). Not checked for existence here.
    pub avatar: String,
    /// `"default"` or a folder made by `anchor voice enroll`. Not checked for existence here.
    pub voice: String,
    /// The AI disclosure: on screen for the whole stream, spoken (after the greeting) at the
    /// start. Never empty.
    pub disclosure: String,
    /// `disclosure_every:` — the greeting and the disclosure are spoken again at the first
    /// segment boundary after this much time on air (default [`DEFAULT_DISCLOSURE_EVERY`]);
    /// `None` (`0s`): only at the start.
    pub disclosure_every: Option<Duration>,
    /// `loop:` — replay the rundown until stopped.
    pub looping: bool,
    /// When the avatar is on air. Parsed and checked; not acted on yet.
    pub schedule: Vec<ScheduleWindow>,
}

/// One `schedule:` window. `to` earlier than `from` means it runs past midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleWindow {
    /// Days the window starts on (all days when not given).
    pub days: Vec<Weekday>,
    pub from: TimeOfDay,
    /// May be 24:00.
    pub to: TimeOfDay,
    /// IANA time zone, as the database bundled in jiff names it (`Asia/Shanghai`); `None`:
    /// the machine's local time.
    pub tz: Option<String>,
}

/// A day of the week, written `mon` .. `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
}

/// A wall-clock time `HH:MM` (24-hour; 24:00 allowed as an end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

/// `persona:` — who the host is. Empty strings when not set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Persona {
    pub name: String,
    /// `{persona.name}` already resolved in it.
    pub greeting: String,
}

/// One product of `products:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Unique, `[a-z0-9-]+`.
    pub id: String,
    pub name: String,
    /// As written (`99.9`); see [`Product::price_text`].
    pub price: Option<f64>,
    /// Default per language: CNY (zh-CN), USD (en-US).
    pub currency: String,
    /// Sent with the link-push event of `cue: link`.
    pub link: Option<String>,
    /// In the order written.
    pub facts: Vec<(String, String)>,
    pub selling_points: Vec<String>,
    pub faq: Vec<Faq>,
}

impl Product {
    /// A fact by key.
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The price as `{price}` renders it: `99.9`, `199` (never `199.0`).
    pub fn price_text(&self) -> Option<String> {
        self.price.map(template::format_price)
    }
}

/// One `faq:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faq {
    /// The ways viewers ask it (at least one).
    pub questions: Vec<String>,
    /// Templates resolved with the product's fields.
    pub answer: String,
}

/// One item of the rundown.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// A line outside any product (`say:` or `pause:`).
    Line(Line),
    /// `product: ID` — makes it the current product (event + chapter mark), then its lines.
    Product {
        /// A valid id of [`Script::products`].
        product: String,
        lines: Vec<Line>,
    },
}

/// Something the host does on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Speak `text` (templates resolved; the voice front end normalizes numbers and prices).
    Say {
        text: String,
        gesture: Option<Gesture>,
        emotion: Option<Emotion>,
        emphasis: Emphasis,
    },
    /// Silence (idle motion continues).
    Pause(Duration),
    /// A cue on the timeline.
    Cue(Cue),
}

/// Cues a line may give (`cue:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// Count down `countdown` seconds ("3、2、1，上链接"), then push the current product's link.
    /// Only inside a product whose `link` is set.
    Link { countdown: u32 },
}

/// `chat:` — how viewer questions are handled. Parsed and checked; the chat stage uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSettings {
    pub answer: AnswerPolicy,
    /// Questions waiting at most; at least 1.
    pub max_queue: u32,
    pub per_user_cooldown: Duration,
    /// Added to the built-in advertising-law list.
    pub banned_words: Vec<String>,
    /// Said to a question the host cannot answer.
    pub fallback: String,
}

impl ChatSettings {
    /// The settings of a script without `chat:`.
    pub fn defaults(language: Language) -> ChatSettings {
        ChatSettings {
            answer: AnswerPolicy::default(),
            max_queue: DEFAULT_MAX_QUEUE,
            per_user_cooldown: DEFAULT_PER_USER_COOLDOWN,
            banned_words: Vec::new(),
            fallback: default_fallback(language).to_string(),
        }
    }
}

/// `events:` — where show events (product changes, link pushes, ...) are also posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// An `http://` or `https://` URL each event is POSTed to; `None`: no webhook.
    pub webhook: Option<String>,
    /// Attempts after a failed POST, at most [`MAX_WEBHOOK_RETRIES`].
    pub webhook_retries: u32,
}

impl Default for EventSettings {
    fn default() -> Self {
        EventSettings {
            webhook: None,
            webhook_retries: DEFAULT_WEBHOOK_RETRIES,
        }
    }
}

/// When viewer questions are answered (`chat.answer`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AnswerPolicy {
    /// At the next sentence boundary of the script.
    #[default]
    BetweenSentences,
    /// Interrupt the current line.
    Immediately,
    /// Do not answer.
    Never,
}

impl Script {
    /// Reads and checks the script at `path`, and the files it includes.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let text = source::read_text(path).map_err(|e| {
            let path = path.to_path_buf();
            match e {
                source::ReadError::NotFound => ScriptError::NotFound { path },
                source::ReadError::Io(source) => ScriptError::Io { path, source },
                source::ReadError::TooLarge => ScriptError::TooLarge { path },
                source::ReadError::NotText { line, col, byte } => ScriptError::NotText {
                    path,
                    line,
                    col,
                    byte,
                },
            }
        })?;
        Script::parse(&text, path)
    }

    /// Checks a script already in memory; `path` is used in messages, kept in [`Script::path`],
    /// and its folder is where `include:` paths start (included files are read from disk).
    pub fn parse(source: &str, path: &Path) -> Result<Script, ScriptError> {
        let src = source.strip_prefix('\u{feff}').unwrap_or(source);
        let mut files = include::Files::new(path, src.to_string());
        let invalid = |files: &include::Files, problems: Vec<diagnostics::Problem>| {
            ScriptError::Invalid(Diagnostics(sorted(problems, &files.paths)))
        };
        let parsed = yaml::parse(&files.sources[0].text, 0);
        let (doc, mut problems) =
            parsed.map_err(|p| ScriptError::Syntax(p.into_diagnostic(&files.paths)))?;
        let start = diagnostics::Loc::default();
        let Some(doc) = doc else {
            return Err(invalid(
                &files,
                vec![
                    diagnostics::Problem::new(start, "the script is empty").help(
                        "expected a mapping with `version`, `show`, `products` and `segments`",
                    ),
                ],
            ));
        };
        if !matches!(doc.kind, yaml::NodeKind::Map(_)) {
            return Err(invalid(
                &files,
                vec![diagnostics::Problem::new(
                    doc.loc,
                    format!(
                        "expected a mapping with `version`, `show`, `products` and `segments`, found {}",
                        doc.describe()
                    ),
                )],
            ));
        }
        validate::check_version(&doc).map_err(|p| invalid(&files, vec![p]))?;

        let before = problems.len();
        let catalogues = include::resolve(&doc, &mut files, &mut problems);
        let mut included = validate::Included {
            products: Vec::new(),
            complete: problems.len() == before,
            any: doc.get("include").is_some(),
        };
        let ctx = de::Ctx::default();
        for cat in &catalogues {
            match de::from_node::<raw::RawCatalogue>(cat, &ctx) {
                Ok(c) => match c.products {
                    Some(de::Item(Some(list))) => {
                        included.complete &= list.iter().all(|p| p.0.is_some());
                        included.products.extend(list);
                    }
                    Some(de::Item(None)) => included.complete = false,
                    None => {}
                },
                Err(p) => {
                    problems.push(p);
                    included.complete = false;
                }
            }
        }
        let raw = de::from_node::<raw::RawScript>(&doc, &ctx);
        problems.extend(ctx.problems.into_inner());
        let checked = match raw {
            Ok(raw) => {
                let mut v = validate::Validator::new(&files);
                let checked = v.script(raw, doc.loc, included);
                problems.extend(v.into_problems());
                checked
            }
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let has_errors = problems
            .iter()
            .any(|p| p.severity == diagnostics::Severity::Error);
        match checked {
            Some(c) if !has_errors => Ok(Script {
                path: path.to_path_buf(),
                includes: files.paths[1..].to_vec(),
                show: c.show,
                persona: c.persona,
                products: c.products,
                segments: c.segments,
                chat: c.chat,
                events: c.events,
                warnings: sorted(problems, &files.paths),
            }),
            _ if !has_errors => {
                // Unreachable by construction (a section is `None` only after an error was
                // recorded); reported rather than panicking.
                problems.push(diagnostics::Problem::new(
                    start,
                    "the script could not be read",
                ));
                Err(invalid(&files, problems))
            }
            _ => Err(invalid(&files, problems)),
        }
    }

    /// The product with this id.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
}

/// Checks the script at `path` (what `anchor check` runs): the same as [`Script::load`].
pub fn check(path: &Path) -> Result<Script, ScriptError> {
    Script::load(path)
}

/// Problems → diagnostics sorted by file (load order), line and column, duplicates dropped.
fn sorted(mut problems: Vec<diagnostics::Problem>, files: &[PathBuf]) -> Vec<Diagnostic> {
    problems.sort_by_key(|p| (p.loc.file, p.loc.line, p.loc.col));
    let mut ds: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| p.into_diagnostic(files))
        .collect();
    ds.dedup();
    ds
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
