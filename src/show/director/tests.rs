use std::path::Path;

use super::*;
use crate::voice::Emphasis;

fn script(yaml: &str) -> Script {
    Script::parse(yaml, Path::new("t.yaml")).expect("test script")
}

fn clock(at: &str) -> ShowClock {
    ShowClock {
        start: at.parse().expect("timestamp"),
    }
}

const RUNDOWN: &str = r#"
version: 1
show: { title: t, language: zh-CN, loop: true, disclosure_every: 0s }
persona: { name: 小林, greeting: 欢迎来到直播间！ }
products:
  - { id: a, name: 口红, price: 99, link: "https://x/a", faq: [] }
  - { id: b, name: 面霜, faq: [] }
segments:
  - say: "{persona.greeting}"
  - product: a
    lines:
      - say: 口红一。口红二。
      - say: 口红三。
      - cue: link
  - product: b
    lines:
      - say: 面霜一。
"#;

/// What the frame loop sees: each step goes on air when the previous one ends.
struct Sim {
    t: f64,
    /// Produced, not yet on air (the clip channel).
    queue: VecDeque<Planned>,
}

fn duration(item: &Item) -> f64 {
    match item {
        Item::Speak { text, .. } => 0.25 * text.chars().count() as f64,
        Item::Silence(d) => d.as_secs_f64(),
        Item::Mark(_) => 0.0,
    }
}

impl Sim {
    fn new() -> Sim {
        Sim {
            t: 0.0,
            queue: VecDeque::new(),
        }
    }

    /// Keeps `ahead` steps produced, plays one; `None` at the end of the show.
    fn step(&mut self, d: &Director, ahead: usize) -> Option<(f64, Item)> {
        loop {
            while self.queue.len() < ahead {
                match d.next() {
                    Some(p) => self.queue.push_back(p),
                    None => break,
                }
            }
            let p = self.queue.pop_front()?;
            if p.epoch < d.epoch() {
                continue; // taken back by a rewind
            }
            d.started(p.seq, self.t);
            let at = self.t;
            self.t += duration(&p.item);
            return Some((at, p.item));
        }
    }

    fn run(&mut self, d: &Director, steps: usize) -> Vec<(f64, Item)> {
        (0..steps).map_while(|_| self.step(d, 3)).collect()
    }
}

fn said(items: &[(f64, Item)]) -> Vec<String> {
    items
        .iter()
        .filter_map(|(_, i)| match i {
            Item::Speak { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn marks(items: &[(f64, Item)]) -> Vec<Mark> {
    items
        .iter()
        .filter_map(|(_, i)| match i {
            Item::Mark(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn opens_on_air_with_disclosure_then_the_rundown_in_order() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let items = Sim::new().run(&d, 1000);
    assert_eq!(
        said(&items),
        [
            "本直播间由AI数字人主播讲解",
            "欢迎来到直播间！",
            "口红一。",
            "口红二。",
            "口红三。",
            "3、2、1，",
            "上链接！",
            "面霜一。"
        ],
        "the rundown opens with the greeting, so it is not said twice"
    );
    assert_eq!(
        marks(&items),
        [
            Mark::OnAir,
            Mark::Disclosure("本直播间由AI数字人主播讲解".into()),
            Mark::ProductStarted("a".into()),
            Mark::ProductEnded("a".into()),
            Mark::ProductStarted("b".into()),
            Mark::ProductEnded("b".into()),
        ]
    );
    // Media time only moves forward.
    assert!(items.windows(2).all(|w| w[0].0 <= w[1].0));
    // Not looping (the caller did not allow it): the show ends.
    assert!(d.next().is_none());
}

#[test]
fn looping_replays_the_rundown_from_the_top() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), true);
    let items = Sim::new().run(&d, 200);
    let s = said(&items);
    let firsts = s.iter().filter(|t| *t == "口红一。").count();
    assert!(firsts >= 3, "looped {firsts} times");
    // Each pass starts at the first segment (the greeting) right after the last one.
    let i = s.iter().position(|t| t == "面霜一。").expect("end of pass");
    assert_eq!(s[i + 1], "欢迎来到直播间！");
    // The disclosure is only said at the start (disclosure_every: 0s).
    assert_eq!(s.iter().filter(|t| t.contains("AI")).count(), 1);
}

#[test]
fn disclosure_is_repeated_at_the_next_segment_boundary_after_the_interval() {
    let yaml = RUNDOWN.replace("disclosure_every: 0s", "disclosure_every: 10s");
    let d = Director::new(script(&yaml), ShowClock::now(), true);
    let items = Sim::new().run(&d, 400);
    let times: Vec<f64> = items
        .iter()
        .filter(|(_, i)| matches!(i, Item::Mark(Mark::Disclosure(_))))
        .map(|(t, _)| *t)
        .collect();
    assert!(times.len() >= 3, "{times:?}");
    for w in times.windows(2) {
        // At least the interval apart; at most the interval plus one segment (~5 s here) and
        // the producer's lead.
        assert!(w[1] - w[0] >= 10.0 - 1e-9, "{times:?}");
        assert!(w[1] - w[0] < 20.0, "{times:?}");
    }
    // Repeats come with the greeting, at a segment boundary (never inside a product).
    let s = said(&items);
    let greet_then_disclose = s
        .windows(2)
        .filter(|w| w[0] == "欢迎来到直播间！" && w[1].contains("AI"))
        .count();
    assert!(greet_then_disclose >= 2);
}

#[test]
fn schedule_window_across_midnight_opens_and_closes_the_show() {
    let yaml = RUNDOWN.replace(
        "disclosure_every: 0s }",
        "disclosure_every: 0s, schedule: [{ days: [sat], from: \"23:59\", to: \"00:01\", tz: Asia/Shanghai }] }",
    );
    // Saturday 2026-11-21 23:58:50 in Beijing: off air for 10 s, then on air from 23:59 until
    // Sunday 00:01 (130 s in).
    let d = Director::new(script(&yaml), clock("2026-11-21T23:58:50+08:00"), true);
    let mut sim = Sim::new();
    let items = sim.run(&d, 400);
    let m = marks(&items);
    assert_eq!(
        m[0],
        Mark::OffAir {
            until: Some("2026-11-21T23:59:00+08:00".into())
        }
    );
    let on = items
        .iter()
        .find(|(_, i)| *i == Item::Mark(Mark::OnAir))
        .expect("goes on air")
        .0;
    assert!((10.0..12.0).contains(&on), "on air at {on}");
    // Before that, only silence.
    assert!(
        items
            .iter()
            .take_while(|(t, _)| *t < on)
            .all(|(_, i)| !matches!(i, Item::Speak { .. }))
    );
    // The window closes at 00:01 (130 s in), at the next segment boundary.
    let off = items
        .iter()
        .skip(1)
        .find(|(_, i)| matches!(i, Item::Mark(Mark::OffAir { .. })))
        .expect("goes off air after midnight")
        .0;
    assert!((130.0..142.0).contains(&off), "off air at {off}");
    assert!(
        items
            .iter()
            .skip_while(|(t, _)| *t <= off)
            .all(|(_, i)| !matches!(i, Item::Speak { .. })),
        "nothing is said off air"
    );
}

#[test]
fn insert_at_next_sentence_resumes_at_the_following_sentence() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    // Play up to "口红一。".
    while let Some((_, item)) = sim.step(&d, 4) {
        if matches!(&item, Item::Speak { text, .. } if text == "口红一。") {
            break;
        }
    }
    let epoch = d.epoch();
    d.insert(
        timeline::utterance(
            "好多姐妹问价格。",
            crate::voice::Language::ZhCn,
            Emphasis::Normal,
            None,
            None,
        ),
        InsertAt::NextSentence,
    );
    assert!(d.epoch() > epoch, "queued clips are taken back");
    assert!(!d.take_cut(), "no cut between sentences");
    let rest = said(&sim.run(&d, 40));
    assert_eq!(rest[..2], ["好多姐妹问价格。", "口红二。"]);
    assert_eq!(rest.iter().filter(|t| *t == "口红一。").count(), 0);
}

#[test]
fn insert_now_interrupts_and_says_the_sentence_again() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    while let Some((_, item)) = sim.step(&d, 4) {
        if matches!(&item, Item::Speak { text, .. } if text == "口红二。") {
            break;
        }
    }
    d.insert(
        timeline::utterance(
            "稍等，我先回答一下这位姐妹。",
            crate::voice::Language::ZhCn,
            Emphasis::Normal,
            None,
            None,
        ),
        InsertAt::Now,
    );
    assert!(d.take_cut(), "the sentence on air is cut");
    assert!(!d.take_cut(), "once");
    let rest = said(&sim.run(&d, 40));
    assert_eq!(
        rest[..3],
        ["稍等，我先回答一下这位姐妹。", "口红二。", "口红三。"]
    );
}

#[test]
fn text_fix_takes_effect_at_the_next_line() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    while let Some((_, item)) = sim.step(&d, 4) {
        if matches!(&item, Item::Speak { text, .. } if text == "口红一。") {
            break;
        }
    }
    let fixed = RUNDOWN
        .replace("口红二。", "口红二改。")
        .replace("口红三。", "口红三改。");
    assert_eq!(d.reload(script(&fixed)), ReloadKind::Line);
    let rest = sim.run(&d, 60);
    // The line on air finishes as it was; the next line is the new text.
    assert_eq!(said(&rest)[..2], ["口红二。", "口红三改。"]);
}

#[test]
fn structural_edit_takes_effect_at_the_segment_boundary_without_replaying() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    while let Some((_, item)) = sim.step(&d, 4) {
        if matches!(&item, Item::Speak { text, .. } if text == "口红三。") {
            break;
        }
    }
    // New product c before a, b moved before a, a new closing line.
    let edited = RUNDOWN
        .replace(
            "  - { id: b, name: 面霜, faq: [] }",
            "  - { id: b, name: 面霜, faq: [] }\n  - { id: c, name: 粉底, faq: [] }",
        )
        .replace(
            "segments:\n  - say: \"{persona.greeting}\"\n",
            "segments:\n  - say: \"{persona.greeting}\"\n  - product: c\n    lines:\n      - say: 粉底一。\n",
        )
        .replace("      - say: 面霜一。\n", "      - say: 面霜一。\n  - say: 晚安。\n");
    assert_eq!(d.reload(script(&edited)), ReloadKind::Segment);
    let rest = sim.run(&d, 80);
    let s = said(&rest);
    // Product a finishes as it was (the link push included), then the rundown continues
    // after a: b and the new closing line. c comes before a in the new rundown: not this pass.
    assert_eq!(s, ["3、2、1，", "上链接！", "面霜一。", "晚安。"]);
    assert!(!s.contains(&"粉底一。".to_string()));
}

#[test]
fn reload_from_top_restarts_the_rundown_when_asked() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    while let Some((_, item)) = sim.step(&d, 4) {
        if matches!(&item, Item::Speak { text, .. } if text == "口红三。") {
            break;
        }
    }
    let fixed = RUNDOWN.replace("口红一。", "口红一改。");
    assert_eq!(d.reload_with(script(&fixed), true), ReloadKind::Segment);
    let s = said(&sim.run(&d, 80));
    // Product a finishes, then the new rundown from its first segment.
    assert_eq!(
        s[..4],
        ["3、2、1，", "上链接！", "欢迎来到直播间！", "口红一改。"]
    );
}

#[test]
fn a_one_pass_render_ignores_a_closed_schedule() {
    let yaml = RUNDOWN.replace(
        "disclosure_every: 0s }",
        "disclosure_every: 0s, schedule: [{ days: [mon], from: \"01:00\", to: \"02:00\", tz: UTC }] }",
    );
    // Saturday noon: closed. Looping (on air): silence only; one pass: the rundown.
    let closed = clock("2026-11-21T12:00:00Z");
    let on_air = Director::new(script(&yaml), closed, true);
    assert!(said(&Sim::new().run(&on_air, 50)).is_empty());
    let render = Director::new(script(&yaml), closed, false);
    assert_eq!(said(&Sim::new().run(&render, 1000)).len(), 8);
}

/// A two-sentence chat reply as the desk builds it.
fn reply(id: u64) -> Vec<Item> {
    let info = timeline::ReplyInfo {
        id,
        question: "主播好".into(),
        intent: "greeting".into(),
        product: None,
        faq: None,
        verdict: "answer".into(),
        text: "欢迎欢迎。有问题尽管问。".into(),
        arrived: 0.0,
        asked_by: 1,
    };
    let mut items = vec![
        Item::Silence(timeline::SENTENCE_GAP),
        Item::Mark(Mark::Reply(Box::new(info))),
    ];
    items.extend(timeline::utterance(
        "欢迎欢迎。有问题尽管问。",
        crate::voice::Language::ZhCn,
        Emphasis::Normal,
        None,
        None,
    ));
    items.push(Item::Mark(Mark::ReplyEnd(id)));
    items.push(Item::Silence(timeline::LINE_GAP));
    items
}

fn play_until(sim: &mut Sim, d: &Director, text: &str) {
    while let Some((_, item)) = sim.step(d, 4) {
        if matches!(&item, Item::Speak { text: t, .. } if t == text) {
            return;
        }
    }
    panic!("{text} never went on air");
}

#[test]
fn withdrawing_a_reply_on_air_cuts_it_and_resumes_the_rundown() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    play_until(&mut sim, &d, "口红一。");
    d.insert(reply(7), InsertAt::NextSentence);
    play_until(&mut sim, &d, "欢迎欢迎。");
    assert!(d.withdraw_reply(7));
    assert!(d.take_cut(), "the reply's sentence on air is cut");
    let rest = sim.run(&d, 40);
    assert_eq!(said(&rest)[..2], ["口红二。", "口红三。"]);
    assert!(!marks(&rest).contains(&Mark::ReplyEnd(7)));
    assert_eq!(d.replies_done(), 0);
}

#[test]
fn withdrawing_a_reply_not_yet_on_air_drops_it_without_a_cut() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    play_until(&mut sim, &d, "口红一。");
    d.insert(reply(3), InsertAt::NextSentence);
    assert!(d.withdraw_reply(3));
    assert!(!d.take_cut(), "the rundown sentence on air goes on");
    let rest = sim.run(&d, 40);
    assert_eq!(said(&rest)[..2], ["口红二。", "口红三。"]);
    assert!(!d.withdraw_reply(3), "nothing left the second time");
}

#[test]
fn pause_takes_back_what_is_not_on_air_and_next_waits_until_resume() {
    let d = Arc::new(Director::new(script(RUNDOWN), ShowClock::now(), false));
    let mut sim = Sim::new();
    play_until(&mut sim, &d, "口红一。");
    let epoch = d.epoch();
    d.pause();
    assert!(d.is_paused());
    assert!(d.epoch() > epoch, "queued clips are taken back");
    assert!(!d.take_cut(), "the sentence on air is left to finish");
    // The voice thread waits in `next` while paused.
    let waiter = {
        let d = d.clone();
        std::thread::spawn(move || d.next())
    };
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished(), "next must wait while paused");
    d.insert(
        timeline::utterance(
            "主播暂时离开，小林来陪大家。",
            crate::voice::Language::ZhCn,
            Emphasis::Normal,
            None,
            None,
        ),
        InsertAt::NextSentence,
    );
    d.resume();
    let first = waiter.join().expect("no panic").expect("more show");
    assert!(
        matches!(&first.item, Item::Speak { text, .. } if text == "主播暂时离开，小林来陪大家。"),
        "{first:?}"
    );
    sim.queue.push_back(first);
    let rest = said(&sim.run(&d, 40));
    assert_eq!(rest[..2], ["主播暂时离开，小林来陪大家。", "口红二。"]);
    assert_eq!(rest.iter().filter(|t| *t == "口红一。").count(), 0);
}

#[test]
fn close_ends_a_next_waiting_in_a_pause() {
    let d = Arc::new(Director::new(script(RUNDOWN), ShowClock::now(), false));
    d.pause();
    let waiter = {
        let d = d.clone();
        std::thread::spawn(move || d.next())
    };
    d.close();
    assert!(waiter.join().expect("no panic").is_none());
}

#[test]
fn switch_product_jumps_to_its_segment_after_the_sentence_on_air() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    play_until(&mut sim, &d, "口红一。");
    assert!(!d.switch_product("nope"), "an unknown product is refused");
    assert!(d.switch_product("b"));
    assert!(!d.take_cut(), "the sentence on air finishes");
    let rest = sim.run(&d, 40);
    assert_eq!(said(&rest)[0], "面霜一。", "{:?}", said(&rest));
    assert!(
        !said(&rest).iter().any(|t| t == "口红二。"),
        "the rest of product a was taken back: {:?}",
        said(&rest)
    );
    assert!(
        marks(&rest)
            .iter()
            .any(|m| matches!(m, Mark::ProductStarted(p) if p == "b"))
    );
}

#[test]
fn switching_to_a_product_an_edit_adds_applies_the_edit_at_once() {
    let d = Director::new(script(RUNDOWN), ShowClock::now(), false);
    let mut sim = Sim::new();
    play_until(&mut sim, &d, "口红一。");
    assert!(!d.switch_product("c"), "not in the script yet");
    let edited = RUNDOWN
        .replace("segments:", "  - { id: c, name: 精华, faq: [] }\nsegments:")
        .replace(
            "      - say: 面霜一。",
            "      - say: 面霜一。\n  - product: c\n    lines:\n      - say: 精华一。",
        );
    assert_eq!(d.reload(script(&edited)), ReloadKind::Segment);
    // The edit waits for a segment boundary; the jump is one.
    assert!(d.switch_product("c"));
    let rest = sim.run(&d, 40);
    assert_eq!(said(&rest)[0], "精华一。", "{:?}", said(&rest));
    assert!(
        marks(&rest)
            .iter()
            .any(|m| matches!(m, Mark::ProductStarted(p) if p == "c"))
    );
}
