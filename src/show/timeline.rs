//! The rundown as one ordered list of things to do: speak a sentence, keep silent, mark a
//! product. Built from the script; the pipeline walks it (and loops it for overnight shows).

use std::time::Duration;

use crate::motion::{Emotion, Gesture};
use crate::script::{Cue, Line, Script, Segment};
use crate::voice::{Emphasis, Language, split_sentences};

/// Silence after each sentence and after each line, as a host breathes between them.
pub const SENTENCE_GAP: Duration = Duration::from_millis(220);
pub const LINE_GAP: Duration = Duration::from_millis(380);

/// One step of the show.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Speak one sentence. `gesture` and `emotion` start with it.
    Speak {
        text: String,
        emphasis: Emphasis,
        gesture: Option<Gesture>,
        emotion: Option<Emotion>,
    },
    /// Real silence (the host keeps breathing and blinking).
    Silence(Duration),
    /// This product is now presented (chapter mark, product card, event).
    Product(String),
    /// The link-push moment: the countdown has been spoken, the link goes up now.
    LinkPushed(String),
}

/// The items of one pass through the script: spoken disclosure, then the rundown.
pub fn build(script: &Script) -> Vec<Item> {
    let lang = script.show.language;
    let mut items = Vec::new();
    if !script.show.disclosure.trim().is_empty() {
        push_speech(
            &mut items,
            &script.show.disclosure,
            lang,
            Emphasis::Normal,
            None,
            None,
        );
        items.push(Item::Silence(LINE_GAP));
    }
    let mut current_product: Option<String> = None;
    for segment in &script.segments {
        match segment {
            Segment::Line(line) => push_line(&mut items, line, lang, current_product.as_deref()),
            Segment::Product { product, lines } => {
                items.push(Item::Product(product.clone()));
                current_product = Some(product.clone());
                for line in lines {
                    push_line(&mut items, line, lang, Some(product));
                }
            }
        }
    }
    items
}

fn push_line(items: &mut Vec<Item>, line: &Line, lang: Language, product: Option<&str>) {
    match line {
        Line::Say {
            text,
            gesture,
            emotion,
            emphasis,
        } => {
            push_speech(items, text, lang, *emphasis, *gesture, *emotion);
            items.push(Item::Silence(LINE_GAP.saturating_sub(SENTENCE_GAP)));
        }
        Line::Pause(d) => items.push(Item::Silence(*d)),
        Line::Cue(Cue::Link { countdown }) => {
            let (count, sep, up) = match lang {
                Language::ZhCn => (countdown_zh(*countdown), "", "上链接！"),
                Language::EnUs => (countdown_en(*countdown), " ", "the link is up!"),
            };
            push_speech(
                items,
                &format!("{count}{sep}{up}"),
                lang,
                Emphasis::Strong,
                Some(Gesture::Point),
                Some(Emotion::Happy),
            );
            items.push(Item::LinkPushed(product.unwrap_or_default().to_owned()));
        }
    }
}

fn push_speech(
    items: &mut Vec<Item>,
    text: &str,
    lang: Language,
    emphasis: Emphasis,
    gesture: Option<Gesture>,
    emotion: Option<Emotion>,
) {
    for (i, sentence) in split_sentences(text, lang).into_iter().enumerate() {
        let first = i == 0;
        items.push(Item::Speak {
            text: sentence,
            emphasis,
            gesture: if first { gesture } else { None },
            emotion: if first { emotion } else { None },
        });
        items.push(Item::Silence(SENTENCE_GAP));
    }
}

fn countdown_zh(n: u32) -> String {
    (1..=n.min(10))
        .rev()
        .map(|i| format!("{i}、"))
        .collect::<String>()
        .trim_end_matches('、')
        .to_owned()
        + "，"
}

fn countdown_en(n: u32) -> String {
    (1..=n.min(10))
        .rev()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
        + ","
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_down_to_one() {
        assert_eq!(countdown_zh(3), "3、2、1，");
        assert_eq!(countdown_en(3), "3, 2, 1,");
    }
}
