//! script: the show script (YAML) in, a checked [`Script`] out.
//!
//! In: a path to a YAML file in the format of docs/script-format.md. Out: a [`Script`] whose
//! every name is resolved (gestures, emotions, product ids), every duration parsed and every
//! template variable (`{price}`, `{facts.色号}`, `{persona.name}`, ...) already substituted, so
//! the show director never meets an unchecked value; or a [`ScriptError`] whose problems each
//! name `file:line:col`, say what was expected and suggest the closest valid name.
//!
//! Two steps (conventions #7): the YAML is parsed into a tree of located nodes (saphyr-parser),
//! deserialized into the serde types of `raw.rs` (`deny_unknown_fields`) by our own located
//! deserializer (`de.rs`), then checked and turned into the runtime types here by
//! `validate.rs`. Problems are collected across the whole file: one run lists them all.
//!
//! All [`ScriptError`]s are recoverable for a running show: keep playing the last good script.

mod de;
mod diagnostics;
mod duration;
mod raw;
mod template;
mod validate;
mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use diagnostics::{Diagnostic, Diagnostics};

use crate::motion::{Emotion, Gesture};
use crate::voice::{Emphasis, Language};

/// The only script `version:` this build reads.
pub const SUPPORTED_VERSION: u64 = 1;
/// Scripts larger than this are refused (a show script is a few KiB).
pub const MAX_SCRIPT_BYTES: u64 = 16 * 1024 * 1024;
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
    /// (unknown keys, wrong types, unknown names, bad durations, template variables, ...).
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
}

/// A checked show script. Text is final: templates are resolved, names are enums.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Where it was loaded from.
    pub path: PathBuf,
    pub show: ShowSettings,
    pub persona: Persona,
    /// In the order written; ids are unique.
    pub products: Vec<Product>,
    /// The rundown, played in order (and again from the top when `show.looping`).
    pub segments: Vec<Segment>,
    pub chat: ChatSettings,
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
    /// The AI disclosure: on screen for the whole stream, spoken at the start. Never empty.
    pub disclosure: String,
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
    /// IANA time zone (`Asia/Shanghai`); `None`: the machine's local time. Not validated yet.
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
    /// Reads and checks the script at `path`.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let file = std::fs::File::open(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ScriptError::NotFound {
                path: path.to_path_buf(),
            },
            _ => ScriptError::Io {
                path: path.to_path_buf(),
                source,
            },
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_SCRIPT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| ScriptError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if bytes.len() as u64 > MAX_SCRIPT_BYTES {
            return Err(ScriptError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let byte = e.utf8_error().valid_up_to();
                let (line, col) = line_col(&e.as_bytes()[..byte]);
                return Err(ScriptError::NotText {
                    path: path.to_path_buf(),
                    line,
                    col,
                    byte,
                });
            }
        };
        if let Some(byte) = text.find('\0') {
            let (line, col) = line_col(&text.as_bytes()[..byte]);
            return Err(ScriptError::NotText {
                path: path.to_path_buf(),
                line,
                col,
                byte,
            });
        }
        Script::parse(&text, path)
    }

    /// Checks a script already in memory; `path` is used in messages and kept in [`Script::path`].
    pub fn parse(source: &str, path: &Path) -> Result<Script, ScriptError> {
        let src = source.strip_prefix('\u{feff}').unwrap_or(source);
        let diag = |p: diagnostics::Problem| p.into_diagnostic(path);
        let invalid = |problems: Vec<diagnostics::Problem>| {
            let mut ds: Vec<Diagnostic> = problems
                .into_iter()
                .map(|p| p.into_diagnostic(path))
                .collect();
            ds.sort_by_key(|d| (d.line, d.col));
            ds.dedup();
            ScriptError::Invalid(Diagnostics(ds))
        };
        let (doc, mut problems) = yaml::parse(src).map_err(|p| ScriptError::Syntax(diag(p)))?;
        let start = diagnostics::Loc {
            line: 1,
            col: 1,
            start: 0,
            end: 0,
        };
        let Some(doc) = doc else {
            return Err(invalid(vec![
                diagnostics::Problem::new(start, "the script is empty")
                    .help("expected a mapping with `version`, `show`, `products` and `segments`"),
            ]));
        };
        if !matches!(doc.kind, yaml::NodeKind::Map(_)) {
            return Err(invalid(vec![diagnostics::Problem::new(
                doc.loc,
                format!(
                    "expected a mapping with `version`, `show`, `products` and `segments`, found {}",
                    doc.describe()
                ),
            )]));
        }
        validate::check_version(&doc).map_err(|p| invalid(vec![p]))?;

        let ctx = de::Ctx::default();
        let raw = de::from_node::<raw::RawScript>(&doc, &ctx);
        problems.extend(ctx.problems.into_inner());
        let checked = match raw {
            Ok(raw) => {
                let mut v = validate::Validator::new(src);
                let checked = v.script(raw);
                problems.extend(v.into_problems());
                checked
            }
            Err(p) => {
                problems.push(p);
                None
            }
        };
        match checked {
            Some(c) if problems.is_empty() => Ok(Script {
                path: path.to_path_buf(),
                show: c.show,
                persona: c.persona,
                products: c.products,
                segments: c.segments,
                chat: c.chat,
            }),
            _ if problems.is_empty() => {
                // Unreachable by construction (a section is `None` only after an error was
                // recorded); reported rather than panicking.
                Err(invalid(vec![diagnostics::Problem::new(
                    start,
                    "the script could not be read",
                )]))
            }
            _ => Err(invalid(problems)),
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

/// 1-based line and column (characters) just after `before`.
fn line_col(before: &[u8]) -> (u32, u32) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests;
