//! Sentence splitting for sentence-by-sentence synthesis.

use super::Language;

/// Clauses longer than this (in characters) are also split at `;` / `；`.
const LONG_CLAUSE_CHARS: usize = 24;

/// Splits `text` into sentences, keeping each sentence's closing punctuation.
///
/// Sentence ends: `。！？!?…` (a run such as `？！` or `……` stays together) and, for English,
/// `.` followed by whitespace or the end (so `99.9` and `e.g.x` are not split). A `;`/`；` also
/// ends a piece when the piece is already long (over 24 characters). Closing quotes and
/// brackets right after the end mark stay with their sentence. Empty pieces are dropped;
/// whitespace around pieces is trimmed.
pub fn split_sentences(text: &str, language: Language) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        cur.push(c);
        let next = chars.get(i + 1).copied();
        let is_end = match c {
            '。' | '！' | '？' | '!' | '?' | '…' => true,
            '.' => {
                // A full stop ends an English sentence only before whitespace or the end;
                // in Chinese text an ASCII '.' between digits is a decimal point.
                match next {
                    None => true,
                    Some(n) => {
                        n.is_whitespace()
                            || (language == Language::ZhCn && !n.is_ascii_alphanumeric())
                    }
                }
            }
            ';' | '；' => cur.chars().count() > LONG_CLAUSE_CHARS,
            _ => false,
        };
        if is_end {
            // Keep runs of end marks and closing quotes/brackets with this sentence.
            while let Some(&n) = chars.get(i + 1) {
                if matches!(
                    n,
                    '。' | '！'
                        | '？'
                        | '!'
                        | '?'
                        | '…'
                        | '.'
                        | '”'
                        | '’'
                        | '"'
                        | '\''
                        | '）'
                        | ')'
                        | '」'
                        | '』'
                        | '】'
                ) {
                    cur.push(n);
                    i += 1;
                } else {
                    break;
                }
            }
            push_piece(&mut out, &mut cur);
        }
        i += 1;
    }
    push_piece(&mut out, &mut cur);
    out
}

fn push_piece(out: &mut Vec<String>, cur: &mut String) {
    let piece = cur.trim();
    if !piece.is_empty() {
        out.push(piece.to_string());
    }
    cur.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_sentences_split_at_end_marks() {
        let s = split_sentences("家人们好！今天到手价99.9元。要不要？？冲……", Language::ZhCn);
        assert_eq!(
            s,
            vec!["家人们好！", "今天到手价99.9元。", "要不要？？", "冲……"]
        );
    }

    #[test]
    fn english_keeps_decimals_and_splits_sentences() {
        let s = split_sentences("It costs 9.99 dollars. Buy now! Really?", Language::EnUs);
        assert_eq!(s, vec!["It costs 9.99 dollars.", "Buy now!", "Really?"]);
    }

    #[test]
    fn long_clauses_split_at_semicolons_short_ones_do_not() {
        let short = split_sentences("一；二。", Language::ZhCn);
        assert_eq!(short, vec!["一；二。"]);
        let long_clause =
            "这款面霜的质地非常轻薄，涂在脸上一下子就吸收了，一点也不油腻，特别适合夏天用；";
        let text = format!("{long_clause}而且价格也很便宜。");
        let s = split_sentences(&text, Language::ZhCn);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0], long_clause);
    }

    #[test]
    fn quotes_stay_with_their_sentence_and_blank_text_gives_nothing() {
        assert_eq!(
            split_sentences("他说：“好！”然后走了。", Language::ZhCn),
            vec!["他说：“好！”", "然后走了。"]
        );
        assert!(split_sentences("   ", Language::EnUs).is_empty());
    }
}
