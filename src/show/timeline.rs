//! The rundown as plans of steps: speak a sentence, keep silent, mark a product. One
//! [`SegmentPlan`] per top-level segment of the script, so the [`super::Director`] can switch
//! scripts at a segment boundary (or at a line boundary for text fixes) and loop the rundown.

use std::time::Duration;

use crate::motion::{Emotion, Gesture};
use crate::script::{Cue, Line, Script, Segment};
use crate::voice::{Emphasis, Language, split_sentences};

/// Silence after each sentence and after each line, as a host breathes between them.
pub const SENTENCE_GAP: Duration = Duration::from_millis(220);
pub const LINE_GAP: Duration = Duration::from_millis(380);
/// The beat between the countdown ("3、2、1，") and the call ("上链接！").
pub const COUNTDOWN_BEAT: Duration = Duration::from_millis(150);

/// One step of the show.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// Speak one sentence. `gesture` and `emotion` start with it. With `link`, this sentence is
    /// the call of a link push: the product's link goes up when its first word starts.
    Speak {
        text: String,
        emphasis: Emphasis,
        gesture: Option<Gesture>,
        emotion: Option<Emotion>,
        link: Option<String>,
    },
    /// Real silence (the host keeps breathing and blinking).
    Silence(Duration),
    /// Something that happens at this point of the timeline (an event, a chapter mark).
    Mark(Mark),
}

/// Points on the timeline that the world is told about.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// A product segment starts: it becomes the current product (card, chapter start).
    ProductStarted(String),
    /// The product segment ends (chapter end).
    ProductEnded(String),
    /// The AI disclosure is spoken (at the start and every `show.disclosure_every`).
    Disclosure(String),
    /// The schedule opened: the avatar is on air.
    OnAir,
    /// The schedule closed; `until` is the next opening (RFC 3339), if any.
    OffAir { until: Option<String> },
    /// A chat reply starts here (the chat seam): what was asked and what is answered.
    Reply(Box<ReplyInfo>),
    /// The chat reply with this id has been said.
    ReplyEnd(u64),
}

/// A chat reply as the timeline carries it (for the `chat_reply` event and latency).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReplyInfo {
    pub id: u64,
    /// The viewer's question after moderation (for operators; never spoken).
    pub question: String,
    pub intent: String,
    pub product: Option<String>,
    pub faq: Option<usize>,
    /// `answer` or `fallback`.
    pub verdict: String,
    /// What is spoken.
    pub text: String,
    /// Media time the question arrived.
    pub arrived: f64,
    /// Viewers who asked it.
    pub asked_by: usize,
}

/// Identifies a segment across script edits: a product segment by its product, a loose line by
/// its text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SegmentKey {
    Product(String),
    Line(String),
}

/// A planned step and the line of its segment it comes from (for line-boundary reloads).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub item: Item,
    /// Index of the line within the segment (0 for a loose line).
    pub line: usize,
    /// True for the first step of its line.
    pub line_start: bool,
}

/// The steps of one top-level segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentPlan {
    pub key: SegmentKey,
    pub steps: Vec<Step>,
}

/// One plan per segment of the rundown, in order.
pub fn plan(script: &Script) -> Vec<SegmentPlan> {
    let lang = script.show.language;
    script
        .segments
        .iter()
        .map(|segment| {
            let mut steps = Vec::new();
            let key = match segment {
                Segment::Line(line) => {
                    push_line(&mut steps, 0, line, lang, None);
                    SegmentKey::Line(line_key(line))
                }
                Segment::Product { product, lines } => {
                    steps.push(Step {
                        item: Item::Mark(Mark::ProductStarted(product.clone())),
                        line: 0,
                        line_start: false,
                    });
                    for (i, line) in lines.iter().enumerate() {
                        push_line(&mut steps, i, line, lang, Some(product));
                    }
                    steps.push(Step {
                        item: Item::Mark(Mark::ProductEnded(product.clone())),
                        line: lines.len(),
                        line_start: true,
                    });
                    SegmentKey::Product(product.clone())
                }
            };
            SegmentPlan { key, steps }
        })
        .collect()
}

/// The greeting (when set) and the spoken AI disclosure, as said at the start of the show and
/// again every `show.disclosure_every`.
pub fn greeting_and_disclosure(script: &Script, with_greeting: bool) -> Vec<Item> {
    let lang = script.show.language;
    let mut items = Vec::new();
    let greeting = script.persona.greeting.trim();
    if with_greeting && !greeting.is_empty() {
        speech(
            &mut items,
            greeting,
            lang,
            Emphasis::Normal,
            Some(Gesture::Wave),
            None,
            None,
        );
        items.push(Item::Silence(LINE_GAP.saturating_sub(SENTENCE_GAP)));
    }
    let disclosure = script.show.disclosure.trim();
    if !disclosure.is_empty() {
        items.push(Item::Mark(Mark::Disclosure(disclosure.to_owned())));
        speech(
            &mut items,
            disclosure,
            lang,
            Emphasis::Normal,
            None,
            None,
            None,
        );
        items.push(Item::Silence(LINE_GAP.saturating_sub(SENTENCE_GAP)));
    }
    items
}

/// Whether the rundown itself opens with the greeting (then the show does not greet twice).
pub fn opens_with_greeting(script: &Script) -> bool {
    let greeting = script.persona.greeting.trim();
    !greeting.is_empty()
        && matches!(script.segments.first(),
            Some(Segment::Line(Line::Say { text, .. })) if text.trim() == greeting)
}

/// A reply or any other text to say outside the rundown (the chat seam), as items.
pub fn utterance(
    text: &str,
    lang: Language,
    emphasis: Emphasis,
    gesture: Option<Gesture>,
    emotion: Option<Emotion>,
) -> Vec<Item> {
    let mut items = Vec::new();
    speech(&mut items, text, lang, emphasis, gesture, emotion, None);
    items
}

fn line_key(line: &Line) -> String {
    match line {
        Line::Say { text, .. } => text.clone(),
        Line::Pause(d) => format!("pause {d:?}"),
        Line::Cue(c) => format!("{c:?}"),
    }
}

fn push_line(
    steps: &mut Vec<Step>,
    index: usize,
    line: &Line,
    lang: Language,
    product: Option<&str>,
) {
    let mut items = Vec::new();
    match line {
        Line::Say {
            text,
            gesture,
            emotion,
            emphasis,
        } => {
            speech(&mut items, text, lang, *emphasis, *gesture, *emotion, None);
            items.push(Item::Silence(LINE_GAP.saturating_sub(SENTENCE_GAP)));
        }
        Line::Pause(d) => items.push(Item::Silence(*d)),
        Line::Cue(Cue::Link { countdown }) => {
            let (count, call) = match lang {
                Language::ZhCn => (countdown_zh(*countdown), "上链接！"),
                Language::EnUs => (countdown_en(*countdown), "The link is up!"),
            };
            items.push(Item::Speak {
                text: count,
                emphasis: Emphasis::Strong,
                gesture: Some(Gesture::Point),
                emotion: Some(Emotion::Happy),
                link: None,
            });
            items.push(Item::Silence(COUNTDOWN_BEAT));
            items.push(Item::Speak {
                text: call.to_owned(),
                emphasis: Emphasis::Strong,
                gesture: Some(Gesture::PresentProduct),
                emotion: None,
                link: product.map(str::to_owned),
            });
            items.push(Item::Silence(LINE_GAP));
        }
    }
    steps.extend(items.into_iter().enumerate().map(|(i, item)| Step {
        item,
        line: index,
        line_start: i == 0,
    }));
}

fn speech(
    items: &mut Vec<Item>,
    text: &str,
    lang: Language,
    emphasis: Emphasis,
    gesture: Option<Gesture>,
    emotion: Option<Emotion>,
    link: Option<String>,
) {
    for (i, sentence) in split_sentences(text, lang).into_iter().enumerate() {
        let first = i == 0;
        items.push(Item::Speak {
            text: sentence,
            emphasis,
            gesture: if first { gesture } else { None },
            emotion: if first { emotion } else { None },
            link: link.clone(),
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
    use std::path::Path;

    fn script(yaml: &str) -> Script {
        Script::parse(yaml, Path::new("t.yaml")).expect("test script")
    }

    const TWO_PRODUCTS: &str = r#"
version: 1
show: { title: t, language: zh-CN }
persona: { name: 小林, greeting: 欢迎来到直播间！ }
products:
  - { id: a, name: 口红, price: 99, link: "https://x/a", faq: [] }
  - { id: b, name: 面霜, faq: [] }
segments:
  - say: "{persona.greeting}"
  - product: a
    lines:
      - say: 开场句。接着说！
        emphasis: strong
        gesture: present_product
      - pause: 2s
      - cue: link
  - product: b
    lines:
      - say: 面霜来了。
"#;

    fn texts(items: &[&Item]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Speak { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn countdowns_read_down_to_one() {
        assert_eq!(countdown_zh(3), "3、2、1，");
        assert_eq!(countdown_en(3), "3, 2, 1,");
    }

    #[test]
    fn plans_follow_the_rundown_in_order() {
        let s = script(TWO_PRODUCTS);
        let plans = plan(&s);
        assert_eq!(plans.len(), 3);
        assert_eq!(plans[0].key, SegmentKey::Line("欢迎来到直播间！".into()));
        assert_eq!(plans[1].key, SegmentKey::Product("a".into()));
        let a: Vec<&Item> = plans[1].steps.iter().map(|s| &s.item).collect();
        assert_eq!(
            a.first(),
            Some(&&Item::Mark(Mark::ProductStarted("a".into())))
        );
        assert_eq!(a.last(), Some(&&Item::Mark(Mark::ProductEnded("a".into()))));
        assert_eq!(texts(&a), ["开场句。", "接着说！", "3、2、1，", "上链接！"]);
        assert!(opens_with_greeting(&s));
    }

    #[test]
    fn pause_is_exact_silence_and_emphasis_carries_to_every_sentence() {
        let plans = plan(&script(TWO_PRODUCTS));
        let steps = &plans[1].steps;
        let pause: Vec<&Step> = steps.iter().filter(|s| s.line == 1).collect();
        assert_eq!(pause.len(), 1);
        assert_eq!(pause[0].item, Item::Silence(Duration::from_secs(2)));
        let said: Vec<(Emphasis, Option<Gesture>)> = steps
            .iter()
            .filter(|s| s.line == 0)
            .filter_map(|s| match &s.item {
                Item::Speak {
                    emphasis, gesture, ..
                } => Some((*emphasis, *gesture)),
                _ => None,
            })
            .collect();
        // Both sentences are strong; the gesture starts with the first only.
        assert_eq!(
            said,
            [
                (Emphasis::Strong, Some(Gesture::PresentProduct)),
                (Emphasis::Strong, None)
            ]
        );
    }

    #[test]
    fn link_cue_marks_only_the_call_after_a_beat() {
        let plans = plan(&script(TWO_PRODUCTS));
        let cue: Vec<&Item> = plans[1]
            .steps
            .iter()
            .filter(|s| s.line == 2)
            .map(|s| &s.item)
            .collect();
        assert!(matches!(
            cue[0],
            Item::Speak {
                link: None,
                gesture: Some(Gesture::Point),
                ..
            }
        ));
        assert_eq!(cue[1], &Item::Silence(COUNTDOWN_BEAT));
        assert!(
            matches!(cue[2], Item::Speak { text, link: Some(p), .. } if text == "上链接！" && p == "a")
        );
        assert!(
            plans[1]
                .steps
                .iter()
                .filter(|s| s.line == 2)
                .next()
                .unwrap()
                .line_start
        );
    }

    #[test]
    fn greeting_and_disclosure_mark_the_disclosure() {
        let s = script(TWO_PRODUCTS);
        let items = greeting_and_disclosure(&s, true);
        let refs: Vec<&Item> = items.iter().collect();
        assert_eq!(texts(&refs)[0], "欢迎来到直播间！");
        assert!(items.contains(&Item::Mark(Mark::Disclosure(
            "本直播间由AI数字人主播讲解".into()
        ))));
        let without = greeting_and_disclosure(&s, false);
        assert!(
            !texts(&without.iter().collect::<Vec<_>>()).contains(&"欢迎来到直播间！".to_string())
        );
    }
}
