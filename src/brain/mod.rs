//! brain: a viewer's question in, the host's reply out.
//!
//! **In**: the checked [`Script`] (once, at [`Brain::new`]; rebuilt on hot reload) and, per
//! question, the moderated, cleaned viewer text plus a [`ShowContext`] (the product on air, how
//! many viewers asked the same thing, the viewer's sanitized name). [`is_question`] tells the
//! chat stage which lines to send; [`question_key`] is its dedupe key.
//!
//! **Out**: a [`Reply`]: [`Verdict::Answer`] with the text to speak, the product and FAQ entry
//! it came from, its [`Intent`], a gesture and an emotion; or [`Verdict::Fallback`] with the
//! script's `chat.fallback`. The text is only ever script text (FAQ answers, facts, product
//! fields) or a built-in template in the script's language — never the viewer's words, so a
//! viewer cannot make the host say anything. It still goes through the compliance filter
//! downstream like every line.
//!
//! **Understanding**, in order:
//! 1. A direct question about the host ("你是真人吗", "are you a bot?") gets the honest AI
//!    disclosure, naming the persona.
//! 2. Price, shipping and how-to-order questions (keywords, zh and en) are answered from the
//!    product's FAQ entry of that kind (the best-matching one), else a fact of that kind, else
//!    a template from the product's fields ("{name}今天到手价{price}元"), else the fallback.
//! 3. Anything else is retrieved over every FAQ entry and fact of every product.
//! 4. Greetings and thanks that are not questions get a short friendly reply.
//!
//! The product asked about is the one the question names (its name, head noun, id word or
//! category in either language: "面霜多少钱" while the lipstick is on is about the cream), else
//! the current one.
//!
//! **Scoring** (retrieval). Documents: each FAQ question (with its answer and the product's
//! names as weaker fields) and each fact (key, value, product names). Terms: jieba words plus
//! Han character bigrams (Chinese), stemmed lowercase words (English), stop words removed; a
//! question is first cut into the index's own words (longest first), so jieba's cut of chat
//! text still meets the documents'. Built-in synonym groups (掉色 ~ 持久, weigh ~ size) match
//! at 0.8.
//! - lexical, in [0, 1]: the IDF-weighted share of the question's words a document holds, each
//!   earning its field's credit (question or fact key 1, fact value 0.6, answer 0.4, a word
//!   naming the product 1 but never alone), times `0.85 + 0.15 * bm25 / best_bm25` (BM25 with
//!   k1 = 1.2, b = 0.75 over the weighted fields orders equally covering documents). A word no
//!   document holds weighs most, so questions about what the script does not cover score low.
//! - semantic, in [0, 1]: cosine similarity of sentence embeddings (BERT, mean pooling,
//!   L2-normalized; all-MiniLM-L6-v2 by default) of the question and each FAQ question, answer
//!   (× 0.9) and fact ("KEY: VALUE" and "What is the KEY of NAME?"), mapped from [0.25, 0.75].
//!   Used when the model covers the question's language (MiniLM: English; Chinese is lexical
//!   unless [`BrainConfig::embedder`] names a Chinese BERT).
//! - score = `max(lexical, (1 - w) * lexical + w * semantic)` with `w` = [`EMBEDDING_WEIGHT`]
//!   (semantics confirm a weak word match, never veto a strong one), times the document weight
//!   (FAQ 1.0, fact 0.95).
//!
//! The search covers the product asked about: the one the question names (by its name, head
//! noun, id word or category), else the one on air (plus one it names only by another word of
//! its name, ranked + [`MENTION_BONUS`]), else all. The best entry answers if its score reaches
//! [`BrainConfig::threshold`] (a FAQ answer that states the best fact's value answers instead of
//! it when it scores ≥ [`FAQ_OVER_FACT`] of it); else the fallback (intent `unknown` with the
//! product when the question names one or another product's entry would answer, else
//! `off_topic`).
//!
//! [`evaluate`] scores a labelled question set (tests/fixtures/chat/questions.jsonl) per
//! category, with retrieval times: `anchor bench chat`.

mod bm25;
mod compose;
mod embed;
mod eval;
mod intent;
mod knowledge;
pub mod llm;
mod text;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::motion::{Emotion, Gesture};
use crate::script::Script;
use crate::voice::Language;

pub use embed::MODEL_FILES;
pub use eval::{CategoryScore, EvalFailure, EvalReport, evaluate, evaluate_with};
pub use text::{is_question, question_key};

use embed::Embedder;
use intent::Commerce;
use knowledge::{Knowledge, STRONG_MENTION, Scored, Source};

/// The embedding model used when [`BrainConfig::embedder`] is `None`: a folder of
/// [`crate::models::dir`] fetched by scripts/setup.sh.
pub const DEFAULT_EMBEDDER: &str = "all-minilm-l6-v2";
/// [`BrainConfig::threshold`] when not set: the combined score a retrieved answer needs.
pub const DEFAULT_THRESHOLD: f32 = 0.5;
/// Share of the semantic score in the combined score when embeddings apply.
pub const EMBEDDING_WEIGHT: f32 = 0.5;
/// Added to the ranking score of a product named weakly (a non-head word of its name), which
/// is searched besides the product on air (not to the score compared with the threshold).
pub const MENTION_BONUS: f32 = 0.15;
/// A FAQ answer that states a fact answers instead of the fact when it scores at least this
/// share of the fact's score.
pub const FAQ_OVER_FACT: f32 = 0.8;
/// From this many viewers asking the same question on, the answer opens with "好多姐妹问…".
pub const MANY_ASKED: usize = 3;

/// Settings of the brain (user settings; the index is runtime state inside [`Brain`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BrainConfig {
    /// Folder with `config.json`, `model.safetensors` and `tokenizer.json` of a BERT-family
    /// sentence-embedding model. `None`: `models/all-minilm-l6-v2` if present, else lexical
    /// matching only (with a warning).
    pub embedder: Option<PathBuf>,
    /// Combined score in [0, 1] a retrieved FAQ entry or fact needs to be said; below it the
    /// host says `chat.fallback`.
    pub threshold: f32,
    /// Optional local LLM ([`llm`]): rephrases retrieved answers in the persona's voice and
    /// answers open questions about a product from its facts; every output must pass
    /// [`llm::grounded`] (else the retrieved answer stays) and then the compliance filter.
    pub llm: Option<llm::LlmConfig>,
}

impl Default for BrainConfig {
    fn default() -> Self {
        BrainConfig {
            embedder: None,
            threshold: DEFAULT_THRESHOLD,
            llm: None,
        }
    }
}

/// Errors building a [`Brain`] or running [`evaluate`]. All are recoverable for a show on air:
/// keep the previous brain (or build one without `embedder`) and report the error.
#[derive(Debug, thiserror::Error)]
pub enum BrainError {
    /// The configured LLM could not be loaded.
    #[error("local LLM: {0}")]
    Llm(#[from] llm::LlmError),
    /// The configured embedding model folder, or one of its files, does not exist.
    #[error("{}", missing_message(dir, *file))]
    EmbedderMissing {
        /// The folder as configured.
        dir: PathBuf,
        /// The missing file; `None`: the folder itself is missing.
        file: Option<&'static str>,
    },
    /// A model file exists but cannot be used (not JSON, not a BERT config, weights that do
    /// not match, a tokenizer that does not load, a model that does not run).
    #[error(
        "cannot load the embedding model file {}: {reason} — re-fetch it with scripts/setup.sh, or point `embedder` at another BERT model folder (config.json, model.safetensors, tokenizer.json)",
        path.display()
    )]
    EmbedderBroken {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The model loaded but embedding the script's FAQ and facts failed.
    #[error("cannot embed the script's FAQ and facts with {}: {reason}", dir.display())]
    Embed {
        /// The model folder.
        dir: PathBuf,
        /// The tokenizer's or model's error.
        reason: String,
    },
    /// [`evaluate`]: the question set cannot be read.
    #[error("cannot read question set {}: {source}", path.display())]
    EvalSetIo {
        path: PathBuf,
        source: std::io::Error,
    },
    /// [`evaluate`]: a line of the question set is not a valid labelled question.
    #[error("{}:{line}: {reason}", path.display())]
    EvalSetLine {
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        reason: String,
    },
    /// [`evaluate`]: a script named in the question set does not load.
    #[error("question set {}: script {}: {source}", set.display(), script.display())]
    EvalScript {
        set: PathBuf,
        script: PathBuf,
        /// Boxed: a script error is large and this variant is rare.
        source: Box<crate::script::ScriptError>,
    },
}

fn missing_message(dir: &Path, file: Option<&str>) -> String {
    let what = match file {
        None => "does not exist".to_string(),
        Some(f) => format!("has no {f}"),
    };
    format!(
        "the embedder folder {} {what} — point `embedder` at a folder with config.json, model.safetensors and tokenizer.json of a BERT-family model (scripts/setup.sh fetches all-MiniLM-L6-v2 into models/{DEFAULT_EMBEDDER}), or leave it unset to match questions by words only",
        dir.display()
    )
}

/// What the show knows when a question comes in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowContext {
    /// The id of the product on air, if any.
    pub current_product: Option<String>,
    /// How many viewers asked this question (same [`question_key`]) since it was last answered;
    /// from [`MANY_ASKED`] on, the answer says so instead of addressing one viewer.
    pub asked_by: usize,
    /// The asking viewer's sanitized display name (may be used to address them).
    pub viewer: Option<String>,
}

/// Whether the host answers or says the fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// An answer from the script (FAQ, facts, product fields) or a built-in reply.
    Answer,
    /// Nothing in the script answers it: the text is the script's `chat.fallback`.
    Fallback,
}

/// What a question was understood to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// 你好 / 主播好 / hi.
    Greeting,
    /// 谢谢 / thanks.
    Thanks,
    /// 你是真人吗 / are you a bot: answered with the AI disclosure.
    AreYouReal,
    /// 多少钱 / 优惠 / how much (also a FAQ entry whose questions ask the price).
    Price,
    /// 发货 / 包邮 / shipping.
    Shipping,
    /// 怎么买 / 链接 / how to buy.
    HowToOrder,
    /// Answered by a FAQ entry.
    Faq,
    /// Answered from a product fact.
    Fact,
    /// Nothing in the script is about it, or there is nothing to go on (fallback).
    OffTopic,
    /// About a product (it names one, or another product's FAQ or facts would answer it), but
    /// nothing the script says about that product answers it (fallback).
    Unknown,
}

impl From<Commerce> for Intent {
    fn from(c: Commerce) -> Self {
        match c {
            Commerce::Price => Intent::Price,
            Commerce::Shipping => Intent::Shipping,
            Commerce::HowToOrder => Intent::HowToOrder,
        }
    }
}

impl Intent {
    /// The gesture that goes with an answer of this kind.
    pub fn gesture(self) -> Option<Gesture> {
        match self {
            Intent::Price => Some(Gesture::ShowPrice),
            Intent::Faq | Intent::Fact => Some(Gesture::PresentProduct),
            Intent::Thanks => Some(Gesture::Heart),
            Intent::AreYouReal => Some(Gesture::Nod),
            Intent::Greeting => Some(Gesture::Wave),
            Intent::Shipping | Intent::HowToOrder => Some(Gesture::PointDown),
            Intent::OffTopic | Intent::Unknown => None,
        }
    }

    /// The emotion that goes with an answer of this kind (`None`: the line's default).
    pub fn emotion(self) -> Option<Emotion> {
        match self {
            Intent::Greeting | Intent::Thanks => Some(Emotion::Happy),
            _ => None,
        }
    }
}

/// The host's reply to one question.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reply {
    pub verdict: Verdict,
    /// The product the reply is about (its id).
    pub product: Option<String>,
    /// Index into that product's `faq` when a FAQ entry answered.
    pub faq: Option<usize>,
    pub intent: Intent,
    /// What the host will say: script text or a built-in template, never the viewer's words.
    pub text: String,
    pub gesture: Option<Gesture>,
    pub emotion: Option<Emotion>,
    /// How sure the brain is, in [0, 1]: the retrieval score, or a fixed level for keyword
    /// intents (0.9 with a FAQ entry of that kind, 0.8 from a fact, 0.7 from a template).
    pub confidence: f32,
}

/// The brain of one show: the script's knowledge, indexed. Built once per script (rebuilt on
/// hot reload); answering is read-only, so one `Brain` serves every question from any thread.
#[derive(Debug)]
pub struct Brain {
    language: Language,
    persona: String,
    persona_terms: Vec<String>,
    fallback: String,
    products: Vec<crate::script::Product>,
    knowledge: Knowledge,
    embedder: Option<Arc<Embedder>>,
    threshold: f32,
    phraser: Option<Arc<llm::Phraser>>,
}

impl Brain {
    /// Indexes the script's FAQ and facts (and embeds them when a model is available).
    /// Errors only for a configured [`BrainConfig::embedder`] that is missing or broken; a
    /// missing or broken default model means lexical matching, with a warning.
    pub fn new(script: &Script, cfg: &BrainConfig) -> Result<Brain, BrainError> {
        let embedder = match &cfg.embedder {
            Some(dir) => Some(load_embedder(dir)?),
            None => {
                let dir = crate::models::dir().join(DEFAULT_EMBEDDER);
                if dir.join("model.safetensors").is_file() {
                    match load_embedder(&dir) {
                        Ok(e) => Some(e),
                        Err(e) => {
                            tracing::warn!("chat answers match words only (no embeddings): {e}");
                            None
                        }
                    }
                } else {
                    tracing::warn!(
                        "chat answers match words only: no embedding model at {} (run scripts/setup.sh to fetch all-MiniLM-L6-v2)",
                        dir.display()
                    );
                    None
                }
            }
        };
        let mut brain = Brain::with_embedder(script, cfg.threshold, embedder)?;
        if let Some(llm) = &cfg.llm {
            brain.phraser = Some(Arc::new(llm::Phraser::load(llm)?));
        }
        Ok(brain)
    }

    /// A brain with the given embedder (or none: lexical matching only).
    fn with_embedder(
        script: &Script,
        threshold: f32,
        embedder: Option<Arc<Embedder>>,
    ) -> Result<Brain, BrainError> {
        let knowledge =
            Knowledge::new(script, embedder.as_deref()).map_err(|e| BrainError::Embed {
                dir: embedder
                    .as_ref()
                    .map(|m| m.dir().to_path_buf())
                    .unwrap_or_default(),
                reason: e.to_string(),
            })?;
        tracing::info!(
            entries = knowledge.entries.len(),
            embeddings = embedder.is_some(),
            "chat brain ready"
        );
        Ok(Brain {
            language: script.show.language,
            persona: script.persona.name.clone(),
            persona_terms: text::terms(&script.persona.name),
            fallback: script.chat.fallback.clone(),
            products: script.products.clone(),
            knowledge,
            embedder,
            threshold,
            phraser: None,
        })
    }

    /// The embedding model in use, if any.
    pub fn embedder(&self) -> Option<&Path> {
        self.embedder.as_deref().map(Embedder::dir)
    }

    /// Answers one question (already moderated and cleaned). Never fails: a question nothing
    /// answers gets the fallback; an embedding failure costs only the semantic score.
    pub fn answer(&self, question: &str, ctx: &ShowContext) -> Reply {
        let reply = self.retrieve(question, ctx);
        match &self.phraser {
            Some(p) => self.phrase(p, question, reply),
            None => reply,
        }
    }

    /// The LLM's wording of a reply, when it stays grounded in the answer and the facts.
    fn phrase(&self, p: &llm::Phraser, question: &str, mut reply: Reply) -> Reply {
        let facts = reply
            .product
            .as_ref()
            .and_then(|id| self.products.iter().find(|x| &x.id == id))
            .map(|x| x.facts.clone())
            .unwrap_or_default();
        let mut req = llm::PhraseRequest {
            persona: &self.persona,
            language: self.language.tag(),
            question,
            answer: None,
            facts: &facts,
        };
        let out = match reply.verdict {
            Verdict::Answer => {
                req.answer = Some(&reply.text);
                p.rephrase(&req)
            }
            // An open question about a product the script has facts for.
            Verdict::Fallback if !facts.is_empty() => p.open_answer(&req),
            Verdict::Fallback => return reply,
        };
        match out {
            Ok(text) if llm::grounded(&text, &req) => {
                reply.text = text;
                reply.verdict = Verdict::Answer;
            }
            Ok(text) => {
                tracing::info!("LLM output not grounded, kept the retrieved answer: {text:?}")
            }
            Err(e) => tracing::warn!("LLM phrasing failed, kept the retrieved answer: {e}"),
        }
        reply
    }

    /// The retrieved (or template) reply, without LLM phrasing.
    fn retrieve(&self, question: &str, ctx: &ShowContext) -> Reply {
        let _span = tracing::debug_span!("brain_answer").entered();
        let norm = text::normalize(question);
        let hits = intent::detect(&norm);
        let viewer = compose::viewer_name(ctx.viewer.as_deref());
        let current = ctx
            .current_product
            .as_deref()
            .and_then(|id| self.products.iter().position(|p| p.id == id));
        let mention = self.knowledge.mentioned(&norm);
        let strong = mention.filter(|m| m.1 >= STRONG_MENTION).map(|m| m.0);
        let asks = is_question(question);
        let out = Out {
            brain: self,
            question,
            viewer,
            many: ctx.asked_by >= MANY_ASKED,
        };

        if hits.are_you_real {
            return out.disclosure();
        }
        let terms: Vec<String> = self
            .knowledge
            .query_terms(question)
            .into_iter()
            .filter(|t| !self.persona_terms.contains(t))
            .collect();
        let scored = self.score(question, &terms);

        if let Some(c) = hits.commerce() {
            let named = strong.or(mention.map(|m| m.0));
            return self.commerce(c, &scored, named, current, &out);
        }
        if !asks && (hits.thanks || hits.greeting) {
            return out.social(&hits);
        }
        let weak = mention.filter(|m| m.1 < STRONG_MENTION).map(|m| m.0);
        let entries = &self.knowledge.entries;
        // The product asked about: the one named, else the one on air (or one named weakly).
        let in_scope = |s: &Scored| {
            let p = entries[s.entry].product;
            match (strong, current) {
                (Some(named), _) => p == named,
                (None, Some(on_air)) => p == on_air || Some(p) == weak,
                (None, None) => true,
            }
        };
        if let Some(best) = self.best(&scored, in_scope, weak) {
            tracing::debug!(
                entry = ?entries[best.entry].source,
                product = %self.products[entries[best.entry].product].id,
                lexical = best.lexical,
                semantic = ?best.semantic,
                score = best.score,
                "best match"
            );
            if best.score >= self.threshold {
                let best = self.prefer_faq(&scored, best);
                return out.entry(&entries[best.entry], best.score, None);
            }
        }
        if hits.mentions_ai && asks {
            return out.disclosure();
        }
        if hits.thanks || hits.greeting {
            return out.social(&hits);
        }
        let best = scored.iter().map(|s| s.score).fold(0.0, f32::max);
        // Another product knows the answer: the question is about the product asked about,
        // which does not. Else it is about nothing the script covers.
        let known_elsewhere = best >= self.threshold;
        let about = strong.or(weak).or(current.filter(|_| known_elsewhere));
        let intent = if about.is_some() {
            Intent::Unknown
        } else {
            Intent::OffTopic
        };
        out.fallback(intent, about, best)
    }

    /// Retrieval scores of every entry for a question.
    fn score(&self, question: &str, terms: &[String]) -> Vec<Scored> {
        let emb = self
            .embedder
            .as_ref()
            .filter(|m| !text::has_han(question) || m.covers_chinese());
        let query_emb = emb.and_then(|m| match m.embed(&[question]) {
            Ok(mut v) => v.pop(),
            Err(e) => {
                tracing::warn!("embedding a question failed, matching words only: {e}");
                None
            }
        });
        let weight = if query_emb.is_some() {
            EMBEDDING_WEIGHT
        } else {
            0.0
        };
        self.knowledge.score(terms, query_emb.as_deref(), weight)
    }

    /// The best-ranked entry among those `keep` accepts; entries of the `favour`ed product
    /// (named weakly) get [`MENTION_BONUS`] in the ranking.
    fn best(
        &self,
        scored: &[Scored],
        keep: impl Fn(&Scored) -> bool,
        favour: Option<usize>,
    ) -> Option<Scored> {
        let entries = &self.knowledge.entries;
        let rank = |s: &Scored| {
            let bonus = if Some(entries[s.entry].product) == favour {
                MENTION_BONUS
            } else {
                0.0
            };
            s.score + bonus
        };
        scored
            .iter()
            .filter(|s| keep(s))
            .max_by(|a, b| rank(a).total_cmp(&rank(b)))
            .copied()
    }

    /// A fact that a FAQ answer of the same product states (the answer uses `{facts.KEY}`) is
    /// better said with the merchant's own answer, when that answer matched nearly as well.
    fn prefer_faq(&self, scored: &[Scored], best: Scored) -> Scored {
        let entries = &self.knowledge.entries;
        let e = &entries[best.entry];
        let Source::Fact(fi) = e.source else {
            return best;
        };
        let product = &self.products[e.product];
        let value = &product.facts[fi].1;
        scored
            .iter()
            .filter(|s| {
                let x = &entries[s.entry];
                x.product == e.product
                    && matches!(x.source, Source::Faq(i) if product.faq[i].answer.contains(value.as_str()))
                    && s.score >= FAQ_OVER_FACT * best.score
                    && s.score >= self.threshold
            })
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .copied()
            .unwrap_or(best)
    }

    /// A price, shipping or how-to-order question.
    fn commerce(
        &self,
        c: Commerce,
        scored: &[Scored],
        named: Option<usize>,
        current: Option<usize>,
        out: &Out<'_>,
    ) -> Reply {
        let entries = &self.knowledge.entries;
        let single = (self.products.len() == 1).then_some(0);
        // The product the question names (even weakly: "丝绒的多少钱"), else the one on air.
        let target = named.or(current).or(single);
        // The product's FAQ entry of this kind, else its fact of this kind.
        let tagged = |s: &Scored| {
            entries[s.entry].commerce.contains(&c)
                && target.is_none_or(|p| entries[s.entry].product == p)
        };
        let faq_first = |s: &Scored| tagged(s) && matches!(entries[s.entry].source, Source::Faq(_));
        let pick = self
            .best(scored, faq_first, None)
            .or_else(|| self.best(scored, tagged, None));
        if let Some(s) = pick {
            let level: f32 = match entries[s.entry].source {
                Source::Faq(_) => 0.9,
                Source::Fact(_) => 0.8,
            };
            return out.entry(&entries[s.entry], level.max(s.score), Some(c));
        }
        // No entry of this kind: a template from the product's fields.
        let target = target.or_else(|| {
            // No product on air and none named: the best match overall, if any matched.
            self.best(scored, |s| s.score > 0.0, None)
                .map(|s| entries[s.entry].product)
        });
        if let Some(p) = target {
            let product = &self.products[p];
            let text = match c {
                Commerce::Price => compose::price(self.language, product),
                Commerce::HowToOrder => compose::how_to_order(self.language, product),
                // Shipping terms are the merchant's to state; never made up.
                Commerce::Shipping => None,
            };
            if let Some(text) = text {
                return out.answer(
                    Intent::from(c),
                    Some(p),
                    None,
                    text,
                    0.7,
                    out.commerce_topic(c),
                );
            }
        }
        out.fallback(Intent::from(c), target, 0.0)
    }
}

/// Builds replies for one question.
struct Out<'a> {
    brain: &'a Brain,
    question: &'a str,
    viewer: Option<&'a str>,
    many: bool,
}

impl Out<'_> {
    fn lang(&self) -> Language {
        self.brain.language
    }

    /// An answer: opened with "好多姐妹问{topic}，" when many asked (the topic never repeats
    /// the viewer's words), else addressed to the viewer by name when known.
    fn answer(
        &self,
        intent: Intent,
        product: Option<usize>,
        faq: Option<usize>,
        text: String,
        confidence: f32,
        topic: String,
    ) -> Reply {
        let text = if self.many {
            let key = question_key(self.question);
            let echoes =
                !key.is_empty() && (topic.contains(&key) || text::normalize(&topic).contains(&key));
            let topic = if echoes || topic.is_empty() {
                compose::generic_topic(self.lang()).to_string()
            } else {
                topic
            };
            format!("{}{text}", compose::many_asked(self.lang(), &topic))
        } else if let Some(v) = self.viewer {
            format!("{}{text}", compose::address(self.lang(), v))
        } else {
            text
        };
        Reply {
            verdict: Verdict::Answer,
            product: product.map(|p| self.brain.products[p].id.clone()),
            faq,
            intent,
            text,
            gesture: intent.gesture(),
            emotion: intent.emotion(),
            confidence: confidence.clamp(0.0, 1.0),
        }
    }

    /// The answer held by an entry (a FAQ answer, or a fact put in a sentence).
    fn entry(&self, e: &knowledge::Entry, score: f32, asked: Option<Commerce>) -> Reply {
        let lang = self.lang();
        let product = &self.brain.products[e.product];
        let kind = asked.or_else(|| e.commerce.first().copied());
        match e.source {
            Source::Faq(i) => {
                let faq = &product.faq[i];
                let intent = kind.map(Intent::from).unwrap_or(Intent::Faq);
                let topic = match kind {
                    Some(c) => self.commerce_topic(c),
                    None => faq_topic(lang, product, &faq.questions),
                };
                self.answer(
                    intent,
                    Some(e.product),
                    Some(i),
                    faq.answer.clone(),
                    score,
                    topic,
                )
            }
            Source::Fact(i) => {
                let (key, value) = &product.facts[i];
                let intent = kind.map(Intent::from).unwrap_or(Intent::Fact);
                let topic = match lang {
                    Language::ZhCn => key.clone(),
                    Language::EnUs => format!("the {key}"),
                };
                let text = compose::fact(lang, product, key, value);
                self.answer(intent, Some(e.product), None, text, score, topic)
            }
        }
    }

    fn commerce_topic(&self, c: Commerce) -> String {
        match (self.lang(), c) {
            (Language::ZhCn, Commerce::Price) => "价格",
            (Language::ZhCn, Commerce::Shipping) => "发货",
            (Language::ZhCn, Commerce::HowToOrder) => "怎么下单",
            (Language::EnUs, Commerce::Price) => "the price",
            (Language::EnUs, Commerce::Shipping) => "shipping",
            (Language::EnUs, Commerce::HowToOrder) => "how to order",
        }
        .to_string()
    }

    fn disclosure(&self) -> Reply {
        let topic = match self.lang() {
            Language::ZhCn => "我是不是真人",
            Language::EnUs => "whether I'm a real person",
        };
        let text = compose::disclosure(self.lang(), &self.brain.persona);
        self.answer(
            Intent::AreYouReal,
            None,
            None,
            text,
            0.95,
            topic.to_string(),
        )
    }

    fn social(&self, hits: &intent::Hits) -> Reply {
        let (intent, text) = if hits.thanks {
            (Intent::Thanks, compose::thanks(self.lang(), self.viewer))
        } else {
            (
                Intent::Greeting,
                compose::greeting(self.lang(), &self.brain.persona, self.viewer),
            )
        };
        Reply {
            verdict: Verdict::Answer,
            product: None,
            faq: None,
            intent,
            text,
            gesture: intent.gesture(),
            emotion: intent.emotion(),
            confidence: 0.9,
        }
    }

    fn fallback(&self, intent: Intent, product: Option<usize>, best: f32) -> Reply {
        let text = match self.viewer {
            Some(v) if !self.many => {
                format!(
                    "{}{}",
                    compose::address(self.lang(), v),
                    self.brain.fallback
                )
            }
            _ => self.brain.fallback.clone(),
        };
        Reply {
            verdict: Verdict::Fallback,
            product: product.map(|p| self.brain.products[p].id.clone()),
            faq: None,
            intent,
            text,
            gesture: None,
            emotion: None,
            confidence: best.clamp(0.0, 1.0),
        }
    }
}

/// The topic of a FAQ entry for "好多姐妹问{topic}": its shortest question without particles
/// (script text, e.g. "持久") when short, else the product.
fn faq_topic(lang: Language, product: &crate::script::Product, questions: &[String]) -> String {
    match lang {
        Language::ZhCn => questions
            .iter()
            .filter(|q| text::has_han(q))
            .map(|q| question_key(q))
            .filter(|k| k.chars().count() <= 8 && !k.contains(' '))
            .min_by_key(|k| k.chars().count())
            .unwrap_or_else(|| product.name.clone()),
        Language::EnUs => format!("the {}", product.name),
    }
}

/// Loads an embedding model, sharing one already loaded by a live brain (a hot reload builds
/// the new brain while the old one still runs).
fn load_embedder(dir: &Path) -> Result<Arc<Embedder>, BrainError> {
    /// Models loaded by live brains, by canonical folder.
    type Loaded = Vec<(PathBuf, Weak<Embedder>)>;
    static CACHE: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    // A poisoned lock only means another load panicked; the list itself stays consistent.
    let mut list = cache.lock().unwrap_or_else(|p| p.into_inner());
    list.retain(|(_, w)| w.strong_count() > 0);
    if let Some(e) = list
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(e);
    }
    let e = Arc::new(Embedder::load(dir)?);
    list.push((key, Arc::downgrade(&e)));
    Ok(e)
}

#[cfg(test)]
mod tests;
