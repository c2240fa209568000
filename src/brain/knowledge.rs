//! What the host knows: every FAQ entry and every fact of every product, indexed for hybrid
//! retrieval (word coverage + BM25 over terms, and sentence embeddings), and the names viewers
//! call each product by (for "面霜多少钱" while the lipstick is on). The scoring is described in
//! the brain's module docs.

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::bm25::Bm25;
use super::embed::{Embedder, cosine};
use super::intent::{self, Commerce};
use super::text::{self, has_han, is_han, normalize, stem, synonyms, terms, words};
use crate::script::{Product, Script};
use crate::voice::Language;

/// Field weights: in BM25 a term occurrence counts this much, and in the coverage score a
/// question's word found (only) in this field earns this share of its weight.
/// A FAQ question's own words.
const W_QUESTION: f32 = 1.0;
/// The FAQ answer's words (an answer mentions what it is about, less reliably).
const W_ANSWER: f32 = 0.4;
/// A fact's key ("净含量").
const W_FACT_KEY: f32 = 1.0;
/// A fact's value ("3.5g").
const W_FACT_VALUE: f32 = 0.6;
/// The product's name and aliases, added to each of its documents: in BM25 at this weight; in
/// coverage a word naming the product counts fully (the product is the one asked about) but
/// a document needs some other word to match as well.
const W_NAME: f32 = 0.3;
/// A synonym matches at this fraction of the word itself.
const W_SYNONYM: f32 = 0.8;
/// Share of the lexical score that comes from BM25 relative to the best document; the rest is
/// coverage. BM25 orders documents that cover a question equally well.
const BM25_SHARE: f32 = 0.15;
/// Document weights: a FAQ entry is the merchant's own answer; a fact answer is assembled.
const DOC_WEIGHT_FAQ: f32 = 1.0;
const DOC_WEIGHT_FACT: f32 = 0.95;
/// An embedding of a FAQ answer counts this much of a question's.
const EMB_ANSWER_FACTOR: f32 = 0.9;
/// Cosine similarities are mapped to [0, 1] linearly between these (below: unrelated).
pub(crate) const COS_FLOOR: f32 = 0.25;
pub(crate) const COS_CEIL: f32 = 0.75;
/// A product mention this strong (its head noun, category, id word or full name) restricts
/// the answer to that product; weaker ones (another word of its name) only favour it.
pub(crate) const STRONG_MENTION: f32 = 2.0;

/// Product categories viewers name in either language; a product whose name (or id) holds one
/// member is also called by the others ("口红" ↔ "lipstick" ↔ "唇膏").
const CATEGORIES: &[&[&str]] = &[
    &[
        "口红", "唇膏", "唇釉", "唇彩", "唇泥", "lipstick", "lip", "lipgloss",
    ],
    &[
        "面霜",
        "乳霜",
        "保湿霜",
        "霜",
        "cream",
        "moisturizer",
        "moisturiser",
        "moisturizing cream",
    ],
    &["精华", "精华液", "serum", "essence"],
    &["面膜", "mask", "sheet mask"],
    &["粉底", "粉底液", "foundation"],
    &["洗面奶", "洁面", "cleanser", "face wash"],
    &["防晒", "防晒霜", "sunscreen", "sunblock", "spf"],
    &["香水", "perfume", "fragrance"],
    &["眼霜", "eye cream"],
    &["爽肤水", "化妆水", "toner"],
    &["眼影", "eyeshadow", "eye shadow"],
    &["睫毛膏", "mascara"],
    &["洗发水", "shampoo"],
    &["护手霜", "hand cream"],
];

/// Where an entry's answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Index into the product's `faq`.
    Faq(usize),
    /// Index into the product's `facts`.
    Fact(usize),
}

/// One answerable thing.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Index into the script's products.
    pub product: usize,
    pub source: Source,
    /// The commerce intents its questions (or fact key) show: a price FAQ answers price
    /// questions.
    pub commerce: Vec<Commerce>,
    /// Document weight.
    pub weight: f32,
}

/// How a product is named in questions.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// (alias, weight): Han aliases match as substrings, Latin ones as whole (stemmed) words.
    pub aliases: Vec<(String, f32)>,
}

/// Scores of one entry for one question.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub entry: usize,
    /// Lexical score in [0, 1]: IDF-weighted, field-credited coverage of the question's words,
    /// ordered by BM25.
    pub lexical: f32,
    /// Embedding score in [0, 1], if embeddings were used for this question.
    pub semantic: Option<f32>,
    /// The combined score, document weight applied: what the threshold is compared with.
    pub score: f32,
}

/// A document's terms for the coverage score.
#[derive(Debug)]
struct DocFields {
    /// Each field's terms and the credit a word found there earns.
    fields: Vec<(HashSet<String>, f32)>,
    /// The terms naming the document's product.
    name: HashSet<String>,
}

/// The index built from a script.
#[derive(Debug)]
pub(crate) struct Knowledge {
    pub entries: Vec<Entry>,
    pub names: Vec<Names>,
    bm25: Bm25,
    /// BM25 document → entry.
    doc_entry: Vec<usize>,
    /// Per document: its fields for the coverage score.
    doc_fields: Vec<DocFields>,
    /// The index's Han words (and synonyms, aliases), longest first: a question is cut into
    /// these before jieba cuts the rest, so it meets the documents' words.
    vocab: AhoCorasick,
    vocab_words: Vec<String>,
    /// Embedding rows (unit vectors) and, per row, (entry, factor).
    emb_rows: Vec<Vec<f32>>,
    emb_entry: Vec<(usize, f32)>,
}

impl Knowledge {
    /// Indexes the script's FAQ entries and facts; embeds them when an embedder is given.
    pub(crate) fn new(
        script: &Script,
        embedder: Option<&Embedder>,
    ) -> Result<Knowledge, super::embed::EmbedError> {
        let lang = script.show.language;
        let mut entries = Vec::new();
        let mut docs: Vec<Vec<(Vec<String>, f32)>> = Vec::new();
        let names = name_aliases(&script.products);
        let mut doc_entry = Vec::new();
        let mut emb_texts: Vec<String> = Vec::new();
        let mut emb_entry = Vec::new();
        for (pi, p) in script.products.iter().enumerate() {
            let mut name_terms = terms(&p.name);
            name_terms.extend(names[pi].aliases.iter().map(|(a, _)| a.clone()));
            for (fi, faq) in p.faq.iter().enumerate() {
                let e = entries.len();
                let mut commerce = Vec::new();
                for q in &faq.questions {
                    if let Some(c) = intent::detect(&normalize(q)).commerce()
                        && !commerce.contains(&c)
                    {
                        commerce.push(c);
                    }
                }
                entries.push(Entry {
                    product: pi,
                    source: Source::Faq(fi),
                    commerce,
                    weight: DOC_WEIGHT_FAQ,
                });
                let answer_terms = terms(&faq.answer);
                for q in &faq.questions {
                    docs.push(vec![
                        (terms(q), W_QUESTION),
                        (answer_terms.clone(), W_ANSWER),
                        (name_terms.clone(), W_NAME),
                    ]);
                    doc_entry.push(e);
                    emb_texts.push(q.clone());
                    emb_entry.push((e, 1.0));
                }
                emb_texts.push(faq.answer.clone());
                emb_entry.push((e, EMB_ANSWER_FACTOR));
            }
            for (fi, (key, value)) in p.facts.iter().enumerate() {
                let e = entries.len();
                let commerce = intent::detect(&normalize(key))
                    .commerce()
                    .into_iter()
                    .collect();
                entries.push(Entry {
                    product: pi,
                    source: Source::Fact(fi),
                    commerce,
                    weight: DOC_WEIGHT_FACT,
                });
                docs.push(vec![
                    (terms(key), W_FACT_KEY),
                    (terms(value), W_FACT_VALUE),
                    (name_terms.clone(), W_NAME),
                ]);
                doc_entry.push(e);
                emb_texts.push(format!("{key}: {value}"));
                emb_entry.push((e, 1.0));
                emb_texts.push(match lang {
                    Language::ZhCn => format!("{}的{key}是多少？", p.name),
                    Language::EnUs => format!("What is the {key} of the {}?", p.name),
                });
                emb_entry.push((e, 1.0));
            }
        }
        // Only texts in a language the model covers are embedded (MiniLM gives Chinese text
        // vectors that are close to everything and mean nothing).
        let (emb_texts, emb_entry): (Vec<String>, Vec<(usize, f32)>) = emb_texts
            .into_iter()
            .zip(emb_entry)
            .filter(|(t, _)| embedder.is_some_and(|m| m.covers_chinese() || !has_han(t)))
            .unzip();
        let emb_rows = match embedder {
            Some(m) if !emb_texts.is_empty() => {
                let refs: Vec<&str> = emb_texts.iter().map(String::as_str).collect();
                m.embed(&refs)?
            }
            _ => Vec::new(),
        };
        // Coverage fields (the name field last) and the vocabulary of the documents' words.
        let mut vocab: HashSet<String> = HashSet::new();
        let doc_fields = docs
            .iter()
            .map(|fields| {
                let n = fields.len();
                let mut sets = Vec::new();
                let mut name = HashSet::new();
                for (i, (t, w)) in fields.iter().enumerate() {
                    let set: HashSet<String> = t.iter().cloned().collect();
                    if i + 1 == n {
                        name = set;
                    } else {
                        sets.push((set, *w));
                    }
                }
                DocFields { fields: sets, name }
            })
            .collect();
        for p in &script.products {
            vocab.extend(words(&p.name));
            for faq in &p.faq {
                for q in &faq.questions {
                    vocab.extend(words(q));
                }
                vocab.extend(words(&faq.answer));
            }
            for (k, v) in &p.facts {
                vocab.extend(words(k));
                vocab.extend(words(v));
            }
        }
        for n in &names {
            vocab.extend(n.aliases.iter().map(|(a, _)| a.clone()));
        }
        vocab.extend(synonyms().keys().cloned());
        let mut vocab_words: Vec<String> = vocab
            .into_iter()
            .filter(|w| w.chars().count() >= 2 && w.chars().all(is_han))
            .collect();
        vocab_words.sort();
        let vocab = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&vocab_words)
            .map_err(|e| super::embed::EmbedError::new(format!("vocabulary: {e}")))?;
        Ok(Knowledge {
            entries,
            names,
            bm25: Bm25::new(docs),
            doc_entry,
            doc_fields,
            vocab,
            vocab_words,
            emb_entry: if emb_rows.is_empty() {
                Vec::new()
            } else {
                emb_entry
            },
            emb_rows,
        })
    }

    /// The words of a question as the index sees them: first the index's own Han words
    /// (longest first, so "敏感肌" is not cut into "敏感" + "肌能"), then jieba words of the rest
    /// and English words; unknown single Han characters are dropped (mostly verbs and particles
    /// of chat: 涂, 掉, 大). Words naming the persona are removed by the caller.
    pub(crate) fn query_terms(&self, question: &str) -> Vec<String> {
        let norm = normalize(question);
        let mut out: Vec<String> = Vec::new();
        let mut at = 0;
        let gap = |text: &str, out: &mut Vec<String>| {
            for w in words(text) {
                let single_han = w.chars().count() == 1 && w.chars().all(is_han);
                if !single_han || self.bm25.knows(&w) {
                    out.push(w);
                }
            }
        };
        for m in self.vocab.find_iter(&norm) {
            gap(&norm[at..m.start()], &mut out);
            let w = &self.vocab_words[m.pattern().as_usize()];
            if !text::is_zh_stop(w) {
                out.push(w.clone());
            }
            at = m.end();
        }
        gap(&norm[at..], &mut out);
        let mut seen = HashSet::new();
        out.retain(|t| seen.insert(t.clone()));
        out
    }

    /// Scores every entry for a question's [`Knowledge::query_terms`]. `query_emb` is the
    /// question's embedding and `emb_weight` its share of the combined score (0 without
    /// embeddings).
    pub(crate) fn score(
        &self,
        query_terms: &[String],
        query_emb: Option<&[f32]>,
        emb_weight: f32,
    ) -> Vec<Scored> {
        let mut lexical = vec![0.0f32; self.entries.len()];
        let q = self.weighted_query(query_terms);
        let bm25: Vec<f32> = (0..self.bm25.len())
            .map(|d| self.bm25.score(query_terms, d))
            .collect();
        let top = bm25.iter().copied().fold(0.0f32, f32::max);
        for (d, &b) in bm25.iter().enumerate() {
            let rel = if top > 0.0 { b / top } else { 0.0 };
            let s = self.coverage(&q, d) * (1.0 - BM25_SHARE + BM25_SHARE * rel);
            let e = self.doc_entry[d];
            lexical[e] = lexical[e].max(s);
        }
        let semantic: Option<Vec<f32>> =
            query_emb.filter(|_| !self.emb_rows.is_empty()).map(|qe| {
                let mut best = vec![0.0f32; self.entries.len()];
                for (row, &(e, factor)) in self.emb_rows.iter().zip(&self.emb_entry) {
                    let s = semantic_score(cosine(qe, row)) * factor;
                    best[e] = best[e].max(s);
                }
                best
            });
        (0..self.entries.len())
            .map(|e| {
                let sem = semantic.as_ref().map(|s| s[e]);
                // Semantics can confirm a weak lexical match, never veto a strong one (MiniLM
                // rates "How much does it weigh?" far from "size: 3.5 grams").
                let combined = match sem {
                    Some(s) => lexical[e].max((1.0 - emb_weight) * lexical[e] + emb_weight * s),
                    None => lexical[e],
                };
                Scored {
                    entry: e,
                    lexical: lexical[e],
                    semantic: sem,
                    score: combined * self.entries[e].weight,
                }
            })
            .collect()
    }

    /// The question's terms, each with its IDF weight and its alternatives (itself, then its
    /// synonyms at [`W_SYNONYM`]).
    fn weighted_query(&self, query_terms: &[String]) -> Vec<(f32, Vec<(String, f32)>)> {
        let mut out = Vec::new();
        for t in query_terms {
            let mut alts = vec![(t.clone(), 1.0)];
            if let Some(syn) = synonyms().get(t) {
                alts.extend(syn.iter().map(|s| (s.clone(), W_SYNONYM)));
            }
            // A word the script never uses but whose synonym it does weighs like that synonym.
            let idf = if self.bm25.knows(t) {
                self.bm25.idf(t)
            } else {
                alts.iter()
                    .filter(|(a, _)| self.bm25.knows(a))
                    .map(|(a, _)| self.bm25.idf(a))
                    .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.max(x))))
                    .unwrap_or_else(|| self.bm25.idf(t))
            };
            out.push((idf, alts));
        }
        out
    }

    /// IDF-weighted share of the question's terms that document `d` holds, each earning its
    /// field's credit (question or fact key 1, value 0.6, answer 0.4; a synonym 0.8 of that;
    /// a word naming the document's product 1). A document that matches only the product's
    /// name scores 0. In [0, 1].
    fn coverage(&self, q: &[(f32, Vec<(String, f32)>)], d: usize) -> f32 {
        let DocFields { fields, name } = &self.doc_fields[d];
        let mut num = 0.0;
        let mut den = 0.0;
        let mut beyond_name = false;
        for (idf, alts) in q {
            den += idf;
            // A word naming the document's product is satisfied by it, whatever else holds it
            // ("面霜多少钱" holds 面霜, but "面霜有多重" does not ask the price).
            if alts.iter().any(|(a, w)| *w >= 1.0 && name.contains(a)) {
                num += idf;
                continue;
            }
            let mut best = 0.0f32;
            for (a, w) in alts {
                for (set, credit) in fields {
                    if set.contains(a) {
                        best = best.max(w * credit);
                    }
                }
            }
            beyond_name |= best > 0.0;
            num += idf * best;
        }
        if den > 0.0 && beyond_name {
            num / den
        } else {
            0.0
        }
    }

    /// Which product a question names, with how strongly; `None` when it names none (or two
    /// equally).
    pub(crate) fn mentioned(&self, norm: &str) -> Option<(usize, f32)> {
        let words: Vec<String> = text::latin_words(norm).iter().map(|w| stem(w)).collect();
        let joined = format!(" {} ", words.join(" "));
        let mut scores: Vec<(usize, f32)> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let s: f32 = n
                    .aliases
                    .iter()
                    .filter(|(a, _)| {
                        if a.chars().any(is_han) {
                            norm.contains(a.as_str())
                        } else {
                            joined.contains(&format!(" {a} "))
                        }
                    })
                    .map(|(_, w)| *w)
                    .fold(0.0, f32::max);
                (i, s)
            })
            .filter(|&(_, s)| s > 0.0)
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        match scores.as_slice() {
            [] => None,
            [one] => Some(*one),
            [a, b, ..] if a.1 > b.1 => Some(*a),
            _ => None,
        }
    }
}

/// Cosine similarity → [0, 1].
pub(crate) fn semantic_score(cos: f32) -> f32 {
    ((cos - COS_FLOOR) / (COS_CEIL - COS_FLOOR)).clamp(0.0, 1.0)
}

/// The names each product is called by: its full name (weight 3), its head noun (the last
/// word of the name, or the last two Han characters; 2), the words of its id (`lipstick-01` →
/// lipstick; 2), the other members of its category (口红 ↔ lipstick; 2) and the other words of
/// its name (1). An alias two products share is dropped (it names neither).
fn name_aliases(products: &[Product]) -> Vec<Names> {
    let mut all: Vec<HashMap<String, f32>> = Vec::new();
    for p in products {
        let mut a: HashMap<String, f32> = HashMap::new();
        fn add_to(a: &mut HashMap<String, f32>, alias: String, w: f32) {
            let alias = alias.trim().to_string();
            if alias.chars().count() < 2 && !alias.chars().any(is_han) {
                return;
            }
            let e = a.entry(alias).or_insert(0.0);
            *e = e.max(w);
        }
        let name = normalize(&p.name);
        if has_han(&name) {
            add_to(&mut a, name.clone(), 3.0);
            let han: Vec<char> = name.chars().filter(|c| is_han(*c)).collect();
            if han.len() >= 2 {
                add_to(&mut a, han[han.len() - 2..].iter().collect(), 2.0);
            }
            let words: Vec<&str> = crate::words::jieba()
                .cut(&name, false)
                .into_iter()
                .filter(|w| w.chars().count() >= 2 && w.chars().all(is_han) && !text::is_zh_stop(w))
                .collect();
            let n = words.len();
            for (i, w) in words.into_iter().enumerate() {
                add_to(&mut a, w.to_string(), if i + 1 == n { 2.0 } else { 1.0 });
            }
        }
        let latin: Vec<String> = text::latin_words(&name)
            .into_iter()
            .filter(|w| !text::is_en_stop(w) && w.chars().any(|c| c.is_ascii_alphabetic()))
            .map(|w| stem(&w))
            .collect();
        if !latin.is_empty() {
            add_to(&mut a, latin.join(" "), 3.0);
            let n = latin.len();
            for (i, w) in latin.iter().enumerate() {
                add_to(&mut a, w.clone(), if i + 1 == n { 2.0 } else { 1.0 });
            }
        }
        for part in p.id.split('-') {
            if part.len() >= 3 && part.chars().all(|c| c.is_ascii_alphabetic()) {
                add_to(&mut a, stem(part), 2.0);
            }
        }
        // Category members.
        let current: Vec<String> = a.keys().cloned().collect();
        for group in CATEGORIES {
            let members: Vec<String> = group.iter().map(|m| alias_form(m)).collect();
            if members.iter().any(|m| current.contains(m)) {
                for m in members {
                    add_to(&mut a, m, 2.0);
                }
            }
        }
        all.push(a);
    }
    // Drop aliases shared by two products (full names are unique by nature).
    let mut count: HashMap<String, usize> = HashMap::new();
    for a in &all {
        for k in a.keys() {
            *count.entry(k.clone()).or_default() += 1;
        }
    }
    all.into_iter()
        .map(|a| Names {
            aliases: {
                let mut v: Vec<(String, f32)> =
                    a.into_iter().filter(|(k, _)| count[k] == 1).collect();
                v.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
                v
            },
        })
        .collect()
}

/// How an alias is stored: Han as written, Latin as stemmed words.
fn alias_form(word: &str) -> String {
    if word.chars().any(is_han) {
        word.to_string()
    } else {
        text::latin_words(&normalize(word))
            .iter()
            .map(|w| stem(w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
