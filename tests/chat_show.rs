//! End to end: a viewer question arrives mid-sentence in a rendered show (chat replay file).
//! `between_sentences`: the sentence on air finishes, the answer starts at the next sentence
//! boundary, then the rundown resumes with the sentence that was next. `immediately`: the
//! sentence on air is cut where the question came in, the host says a bridge line and the
//! answer, then says the interrupted sentence again from its start. Checked on the lip-sync
//! track (what was spoken, when) and the event log (chat_reply with its latency).

mod common;

use common::*;
use serde_json::Value;

const QUESTION_AT: f64 = 6.0;

struct Spoken {
    start: f64,
    end: f64,
    text: String,
}

fn render(policy: &str) -> (Vec<Spoken>, Vec<Value>) {
    let dir = common::tempdir().unwrap();
    let script = dir.path().join("show.yaml");
    let yaml = std::fs::read_to_string(repo("tests/fixtures/shows/chat-zh.yaml")).unwrap();
    std::fs::write(
        &script,
        yaml.replace("answer: between_sentences", &format!("answer: {policy}")),
    )
    .unwrap();
    let replay = dir.path().join("chat.jsonl");
    std::fs::write(
        &replay,
        format!(
            r#"{{"at": {QUESTION_AT}, "user": "u1", "name": "小美", "text": "这个多少钱呀？"}}"#
        ),
    )
    .unwrap();
    let mp4 = dir.path().join("show.mp4");
    let o = run(anchor()
        .args(["render"])
        .arg(&script)
        .arg("-o")
        .arg(&mp4)
        .arg("--chat-replay")
        .arg(&replay)
        .args([
            "--width",
            "320",
            "--height",
            "180",
            "--out-width",
            "320",
            "--out-height",
            "180",
        ]));
    assert!(o.status.success(), "render failed:\n{}", stderr(&o));
    let track: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("show.lipsync.json")).unwrap())
            .unwrap();
    let spoken = track["speech"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Spoken {
            start: s["start"].as_f64().unwrap(),
            end: s["end"].as_f64().unwrap(),
            text: s["text"].as_str().unwrap().to_owned(),
        })
        .collect();
    let events = std::fs::read_to_string(dir.path().join("show.events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (spoken, events)
}

fn reply(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| e["type"] == "chat_reply")
        .expect("a chat_reply event")
}

#[test]
fn reply_between_sentences_then_the_rundown_resumes() {
    let (spoken, events) = render("between_sentences");
    let r = reply(&events);
    assert_eq!(r["intent"], "price");
    assert_eq!(r["verdict"], "answer");
    assert!(r["text"].as_str().unwrap().contains("99.9"));
    let pts = r["pts"].as_f64().unwrap();
    // The sentence on air when the question came in.
    let on_air = spoken
        .iter()
        .position(|s| s.start <= QUESTION_AT && QUESTION_AT < s.end)
        .expect("a sentence on air at the question");
    // It finished (not cut), and the reply started at the next boundary: after it, before the
    // next rundown sentence.
    assert!(
        pts >= spoken[on_air].end - 1e-6,
        "reply at {pts}, sentence ended {}",
        spoken[on_air].end
    );
    let answer = &spoken[on_air + 1];
    assert!(answer.text.contains("99.9"), "next spoken: {}", answer.text);
    let gap = answer.start - spoken[on_air].end;
    assert!(
        (0.1..0.5).contains(&gap),
        "a breath before the answer, got {gap:.3} s"
    );
    assert!((r["latency"].as_f64().unwrap() - (pts - QUESTION_AT)).abs() < 1e-6);
    // The rundown resumes with the sentence that was next, said once.
    let rundown: Vec<&str> = [
        "这款口红的颜色非常正，黄皮也能轻松驾驭。",
        "质地像丝绒一样顺滑，涂上去很舒服。",
        "持妆时间也很长，吃饭喝水都不太掉色。",
        "包装也很精致，送人自己用都合适。",
    ]
    .to_vec();
    let said: Vec<&str> = spoken.iter().map(|s| s.text.as_str()).collect();
    let i = rundown
        .iter()
        .position(|t| *t == spoken[on_air].text)
        .expect("a rundown sentence");
    if i + 1 < rundown.len() {
        assert_eq!(
            said[on_air + 2],
            rundown[i + 1],
            "resumed at the next sentence: {said:?}"
        );
    }
    for t in &rundown {
        assert_eq!(
            said.iter().filter(|s| *s == t).count(),
            1,
            "{t} said once: {said:?}"
        );
    }
}

#[test]
fn reply_immediately_interrupts_and_says_the_sentence_again() {
    let (spoken, events) = render("immediately");
    let r = reply(&events);
    let pts = r["pts"].as_f64().unwrap();
    let latency = r["latency"].as_f64().unwrap();
    assert!(latency < 0.5, "answer {latency:.3} s after the question");
    let cut = spoken
        .iter()
        .position(|s| s.start <= QUESTION_AT && QUESTION_AT < s.end)
        .expect("the sentence on air at the question");
    // It was cut: the next thing spoken starts right after the question (bridge), not at the
    // sentence's natural end.
    let next = &spoken[cut + 1];
    assert!(
        next.start < spoken[cut].end,
        "bridge at {} while the sentence ran to {}",
        next.start,
        spoken[cut].end
    );
    assert!(next.text.contains("稍等"), "bridge: {}", next.text);
    assert!(next.start >= pts - 1e-6);
    assert!(
        spoken[cut + 2].text.contains("99.9"),
        "answer: {}",
        spoken[cut + 2].text
    );
    // Then the interrupted sentence again, from its start.
    assert_eq!(spoken[cut + 3].text, spoken[cut].text);
}
