//! Okapi BM25 over weighted fields: a document is a bag of terms where each occurrence counts
//! with its field's weight (a FAQ question counts 1, its answer less), so one index ranks
//! questions, answers and facts together.

use std::collections::HashMap;

/// BM25 term-frequency saturation.
pub(crate) const K1: f32 = 1.2;
/// BM25 length normalization.
pub(crate) const B: f32 = 0.75;

/// An index of documents built once; scoring is read-only.
#[derive(Debug, Default)]
pub(crate) struct Bm25 {
    /// Per document: term → weighted term frequency.
    docs: Vec<HashMap<String, f32>>,
    /// Per document: weighted length.
    lens: Vec<f32>,
    avg_len: f32,
    /// Term → number of documents holding it.
    df: HashMap<String, usize>,
}

impl Bm25 {
    /// Builds the index; each document is a list of `(terms, weight)` fields.
    pub(crate) fn new(docs: Vec<Vec<(Vec<String>, f32)>>) -> Bm25 {
        let mut index = Bm25::default();
        for fields in docs {
            let mut tf: HashMap<String, f32> = HashMap::new();
            let mut len = 0.0;
            for (terms, weight) in fields {
                for t in terms {
                    *tf.entry(t).or_default() += weight;
                    len += weight;
                }
            }
            for t in tf.keys() {
                *index.df.entry(t.clone()).or_default() += 1;
            }
            index.docs.push(tf);
            index.lens.push(len);
        }
        let n = index.docs.len().max(1) as f32;
        index.avg_len = (index.lens.iter().sum::<f32>() / n).max(1.0);
        index
    }

    /// Number of documents.
    pub(crate) fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether any document holds the term.
    pub(crate) fn knows(&self, term: &str) -> bool {
        self.df.contains_key(term)
    }

    /// Inverse document frequency (the BM25+ form, never negative). A term no document holds
    /// gets the highest value: an unknown word in a question is a strong sign it asks about
    /// something the script does not cover.
    pub(crate) fn idf(&self, term: &str) -> f32 {
        let n = self.docs.len() as f32;
        let df = self.df.get(term).copied().unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// BM25 contribution of one term to one document.
    pub(crate) fn term_score(&self, term: &str, doc: usize) -> f32 {
        let Some(&tf) = self.docs.get(doc).and_then(|d| d.get(term)) else {
            return 0.0;
        };
        let norm = 1.0 - B + B * self.lens[doc] / self.avg_len;
        self.idf(term) * tf * (K1 + 1.0) / (tf + K1 * norm)
    }

    /// Classic BM25 score of a query (its terms, repeats counted once) against a document.
    pub(crate) fn score(&self, query: &[String], doc: usize) -> f32 {
        let mut seen: Vec<&str> = Vec::new();
        let mut s = 0.0;
        for t in query {
            if seen.contains(&t.as_str()) {
                continue;
            }
            seen.push(t);
            s += self.term_score(t, doc);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn ranks_by_rare_matching_terms() {
        let idx = Bm25::new(vec![
            vec![(t(&["口红", "持久"]), 1.0)],
            vec![(t(&["口红", "价格"]), 1.0)],
            vec![(t(&["面霜", "价格"]), 1.0)],
        ]);
        let q = t(&["口红", "持久"]);
        let scores: Vec<f32> = (0..3).map(|d| idx.score(&q, d)).collect();
        assert!(scores[0] > scores[1] && scores[1] > scores[2], "{scores:?}");
        assert_eq!(scores[2], 0.0);
        // Rarer terms weigh more; unknown terms weigh most.
        assert!(idx.idf("持久") > idx.idf("口红"));
        assert!(idx.idf("退货") > idx.idf("持久"));
        assert!(idx.knows("面霜") && !idx.knows("退货"));
    }

    #[test]
    fn field_weights_and_length_normalization() {
        let idx = Bm25::new(vec![
            vec![(t(&["持久"]), 1.0)],
            vec![(t(&["持久"]), 0.3)],
            vec![(t(&["持久", "a", "b", "c", "d", "e", "f"]), 1.0)],
        ]);
        let q = t(&["持久"]);
        let s: Vec<f32> = (0..3).map(|d| idx.score(&q, d)).collect();
        // A question match beats an answer match; a short document beats a long one.
        assert!(s[0] > s[1], "{s:?}");
        assert!(s[0] > s[2], "{s:?}");
        // Repeated query terms count once.
        assert_eq!(idx.score(&t(&["持久", "持久"]), 0), s[0]);
    }
}
