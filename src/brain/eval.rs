//! Accuracy of the brain on a labelled question set, per category, with retrieval times
//! (`anchor bench chat`). The tests run it on tests/fixtures/chat/questions.jsonl (the set the
//! brain was tuned on) and questions-holdout.jsonl (written afterwards, never tuned on).
//!
//! The set is JSON Lines, one labelled question a line (blank lines and lines starting with
//! `//` are skipped):
//!
//! ```json
//! {"script": "scripts/demo.yaml", "current": "lipstick-01", "question": "会不会沾杯",
//!  "product": "lipstick-01", "faq": 0, "intent": "faq", "category": "faq_paraphrase"}
//! ```
//!
//! `script` is relative to the working directory or the anchor home; `current`, `product` and
//! `faq` may be `null`; `verdict` (`answer` | `fallback`) may be given, else it is `fallback`
//! for the intents `off_topic` and `unknown` and `answer` otherwise. A reply is correct when
//! its verdict, product, FAQ index and intent all match.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Brain, BrainConfig, BrainError, Intent, ShowContext, Verdict};
use crate::script::Script;

/// One labelled question.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Labelled {
    script: PathBuf,
    current: Option<String>,
    question: String,
    product: Option<String>,
    faq: Option<usize>,
    intent: Intent,
    category: String,
    #[serde(default)]
    verdict: Option<Verdict>,
    /// How many viewers asked (default 1).
    #[serde(default)]
    asked_by: Option<usize>,
}

/// Accuracy of one category (or of all).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CategoryScore {
    pub category: String,
    /// Questions.
    pub n: usize,
    /// Answered as labelled.
    pub correct: usize,
    /// `correct / n` (0 when empty).
    pub accuracy: f64,
    /// Mean time of [`Brain::answer`] for these questions, microseconds.
    pub mean_micros: f64,
}

/// A question answered other than labelled.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalFailure {
    /// 1-based line in the set.
    pub line: usize,
    pub category: String,
    pub question: String,
    /// `verdict product faq intent`, as labelled and as answered.
    pub expected: String,
    pub got: String,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalReport {
    /// The question set.
    pub set: PathBuf,
    /// The embedding model used (`None`: lexical matching only).
    pub embedder: Option<PathBuf>,
    /// Per category, sorted by name.
    pub categories: Vec<CategoryScore>,
    /// All questions.
    pub overall: CategoryScore,
    /// Mean time of [`Brain::answer`] per question, microseconds.
    pub mean_micros: f64,
    /// Slowest [`Brain::answer`], microseconds.
    pub max_micros: u64,
    /// Questions answered (verdict `answer`) other than labelled: a wrong product, entry or
    /// intent, or an answer where the fallback was expected. The costly mistakes.
    pub wrong_answers: usize,
    /// Questions that got the fallback where an answer was expected (safe but unhelpful).
    pub missed: usize,
    pub failures: Vec<EvalFailure>,
}

impl EvalReport {
    /// The accuracy of a category, if the set has it.
    pub fn category(&self, name: &str) -> Option<&CategoryScore> {
        self.categories.iter().find(|c| c.category == name)
    }
}

impl std::fmt::Display for EvalReport {
    /// A table: category, n, correct, accuracy; then timing and the failures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "question set: {}", self.set.display())?;
        match &self.embedder {
            Some(d) => writeln!(f, "embeddings:   {}", d.display())?,
            None => writeln!(f, "embeddings:   none (lexical matching only)")?,
        }
        writeln!(
            f,
            "{:<16} {:>5} {:>8} {:>9} {:>10}",
            "category", "n", "correct", "accuracy", "mean µs"
        )?;
        for c in self.categories.iter().chain([&self.overall]) {
            writeln!(
                f,
                "{:<16} {:>5} {:>8} {:>8.1}% {:>10.0}",
                c.category,
                c.n,
                c.correct,
                c.accuracy * 100.0,
                c.mean_micros
            )?;
        }
        writeln!(
            f,
            "wrong answers: {}, missed (fallback instead of an answer): {}",
            self.wrong_answers, self.missed
        )?;
        writeln!(
            f,
            "answer time: mean {:.0} µs, max {} µs per question",
            self.mean_micros, self.max_micros
        )?;
        for x in &self.failures {
            writeln!(
                f,
                "  miss line {} [{}] {:?}: expected {}, got {}",
                x.line, x.category, x.question, x.expected, x.got
            )?;
        }
        Ok(())
    }
}

/// Evaluates the default brain ([`BrainConfig::default`]) on a question set.
pub fn evaluate(set_path: &Path) -> Result<EvalReport, BrainError> {
    evaluate_with(set_path, &BrainConfig::default())
}

/// Evaluates a brain built with `cfg` on a question set (one brain per script named in it).
pub fn evaluate_with(set_path: &Path, cfg: &BrainConfig) -> Result<EvalReport, BrainError> {
    run(set_path, |script| Brain::new(script, cfg))
}

/// Evaluates brains made by `build` (one per script named in the set).
pub(crate) fn run(
    set_path: &Path,
    build: impl Fn(&Script) -> Result<Brain, BrainError>,
) -> Result<EvalReport, BrainError> {
    let text = std::fs::read_to_string(set_path).map_err(|source| BrainError::EvalSetIo {
        path: set_path.to_path_buf(),
        source,
    })?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let item: Labelled = serde_json::from_str(line).map_err(|e| BrainError::EvalSetLine {
            path: set_path.to_path_buf(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        items.push((i + 1, item));
    }
    let mut brains: BTreeMap<PathBuf, Brain> = BTreeMap::new();
    for (_, item) in &items {
        if brains.contains_key(&item.script) {
            continue;
        }
        let path = resolve(&item.script);
        let script = Script::load(&path).map_err(|source| BrainError::EvalScript {
            set: set_path.to_path_buf(),
            script: path.clone(),
            source: Box::new(source),
        })?;
        brains.insert(item.script.clone(), build(&script)?);
    }
    // Per category: questions, correct, total microseconds.
    let mut per: BTreeMap<String, (usize, usize, u128)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut total_micros = 0u128;
    let mut max_micros = 0u64;
    let mut embedder = None;
    let (mut wrong_answers, mut missed) = (0, 0);
    for (line, item) in &items {
        let brain = &brains[&item.script];
        embedder = embedder.or_else(|| brain.embedder().map(Path::to_path_buf));
        let ctx = ShowContext {
            current_product: item.current.clone(),
            asked_by: item.asked_by.unwrap_or(1),
            viewer: None,
        };
        let start = Instant::now();
        let reply = brain.answer(&item.question, &ctx);
        let micros = start.elapsed().as_micros();
        total_micros += micros;
        max_micros = max_micros.max(micros as u64);
        let verdict = item.verdict.unwrap_or(match item.intent {
            Intent::OffTopic | Intent::Unknown => Verdict::Fallback,
            _ => Verdict::Answer,
        });
        let ok = reply.verdict == verdict
            && reply.product == item.product
            && reply.faq == item.faq
            && reply.intent == item.intent;
        let e = per.entry(item.category.clone()).or_default();
        e.0 += 1;
        e.2 += micros;
        if ok {
            e.1 += 1;
        } else {
            if reply.verdict == Verdict::Answer {
                wrong_answers += 1;
            } else if verdict == Verdict::Answer {
                missed += 1;
            }
            let show = |v: Verdict, p: &Option<String>, f: Option<usize>, i: Intent| {
                format!(
                    "{} {} {} {}",
                    json_name(&v),
                    p.as_deref().unwrap_or("-"),
                    f.map_or("-".to_string(), |f| f.to_string()),
                    json_name(&i)
                )
            };
            failures.push(super::EvalFailure {
                line: *line,
                category: item.category.clone(),
                question: item.question.clone(),
                expected: show(verdict, &item.product, item.faq, item.intent),
                got: format!(
                    "{} ({:.2}: {})",
                    show(reply.verdict, &reply.product, reply.faq, reply.intent),
                    reply.confidence,
                    reply.text
                ),
            });
        }
    }
    let score = |category: String, (n, correct, micros): (usize, usize, u128)| CategoryScore {
        category,
        n,
        correct,
        accuracy: if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        mean_micros: if n == 0 {
            0.0
        } else {
            micros as f64 / n as f64
        },
    };
    let n: usize = per.values().map(|v| v.0).sum();
    let correct: usize = per.values().map(|v| v.1).sum();
    Ok(EvalReport {
        set: set_path.to_path_buf(),
        embedder,
        categories: per.into_iter().map(|(k, v)| score(k, v)).collect(),
        overall: score("overall".to_string(), (n, correct, total_micros)),
        mean_micros: if n == 0 {
            0.0
        } else {
            total_micros as f64 / n as f64
        },
        max_micros,
        wrong_answers,
        missed,
        failures,
    })
}

/// A script path of the set: as is if it exists, else under the anchor home.
fn resolve(p: &Path) -> PathBuf {
    if p.is_absolute() || p.exists() {
        p.to_path_buf()
    } else {
        crate::home::home().join(p)
    }
}

/// The serde name of a unit enum value (`off_topic`).
fn json_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
