//! End to end: a rendered show with two products and a link push. Checks, from the files a
//! replay or an operator would use: the event log next to the recording (link_pushed at the
//! media time the host starts saying 上链接, ±1 frame, measured on the decoded audio), the
//! product chapters (JSON, WebVTT and inside the MP4) matching the product segments, and the
//! product card on screen during a product and not before.

mod common;

use common::*;
use serde_json::Value;

const FPS: f64 = 30.0;
const W: u32 = 640;
const H: u32 = 360;

fn events(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("event log next to the recording")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

/// RMS of the audio in 10 ms windows.
fn rms_windows(pcm: &[f32]) -> Vec<f32> {
    pcm.chunks(480)
        .map(|c| (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32).sqrt())
        .collect()
}

#[test]
fn link_push_events_chapters_and_card() {
    let dir = common::tempdir().unwrap();
    let mp4 = dir.path().join("show.mp4");
    let o = run(anchor()
        .args(["render", "tests/fixtures/shows/link-zh.yaml", "-o"])
        .arg(&mp4)
        .args([
            "--width",
            "640",
            "--height",
            "360",
            "--out-width",
            "640",
            "--out-height",
            "360",
        ]));
    assert!(o.status.success(), "render failed:\n{}", stderr(&o));

    // Event log: ids contiguous, pts non-decreasing, the show's story in order.
    let ev = events(&dir.path().join("show.events.jsonl"));
    for (i, e) in ev.iter().enumerate() {
        assert_eq!(e["id"].as_u64(), Some(i as u64 + 1), "{e}");
    }
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"show_started"));
    assert_eq!(types.last(), Some(&"show_ended"));
    let story: Vec<&str> = types
        .iter()
        .copied()
        .filter(|t| t.starts_with("product") || *t == "link_pushed")
        .collect();
    assert_eq!(
        story,
        [
            "product_started",
            "link_pushed",
            "product_ended",
            "product_started",
            "product_ended"
        ]
    );
    let link = of_type(&ev, "link_pushed")[0];
    assert_eq!(link["product"], "lipstick-01");
    assert_eq!(link["link"], "https://item.example.com/lipstick-01");
    let pts = link["pts"].as_f64().unwrap();

    // The link goes up when the host starts saying 上链接: the onset after the last pause
    // before it in the decoded audio (the countdown "3、2、1，" ends, a beat, then the call).
    let pcm = decode_audio(&mp4);
    let rms = rms_windows(&pcm);
    let at = |t: f64| ((t * 100.0) as usize).min(rms.len() - 1);
    let silent = |i: usize| rms[i] < 0.01;
    // Walk back from shortly after the event to the start of the pause before the call.
    let mut i = at(pts + 0.15);
    while i > 0 && !silent(i) {
        i -= 1;
    }
    let onset = (i + 1) as f64 / 100.0;
    assert!(
        (pts - onset).abs() <= 1.0 / FPS + 0.01,
        "link_pushed at {pts:.3} s, speech of 上链接 starts at {onset:.3} s"
    );
    // And it is really the call: the countdown before it, speech right after it.
    assert!(
        (at(pts)..at(pts + 0.3)).any(|i| rms[i] > 0.02),
        "speech after the event"
    );
    let lipsync: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("show.lipsync.json")).unwrap())
            .unwrap();
    let call = lipsync["speech"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["text"] == "上链接！")
        .expect("the call is spoken");
    let word0 = call["words"][0]["start"].as_f64().unwrap();
    assert!(
        (pts - word0).abs() <= 1.0 / FPS,
        "event {pts} vs first word {word0}"
    );

    // Chapters: one per product segment, matching the events, in JSON, WebVTT and the MP4.
    let started = of_type(&ev, "product_started");
    let ended = of_type(&ev, "product_ended");
    let json: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("show.chapters.json")).expect("chapters JSON"),
    )
    .unwrap();
    let chapters = json["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), 2);
    for (c, (s, e)) in chapters.iter().zip(started.iter().zip(&ended)) {
        assert_eq!(c["product"], s["product"]);
        assert!((c["start"].as_f64().unwrap() - s["pts"].as_f64().unwrap()).abs() < 0.002);
        assert!((c["end"].as_f64().unwrap() - e["pts"].as_f64().unwrap()).abs() < 0.002);
    }
    assert_eq!(chapters[0]["title"], "丝绒口红");
    let vtt = std::fs::read_to_string(dir.path().join("show.chapters.vtt")).expect("WebVTT");
    assert!(vtt.starts_with("WEBVTT"));
    assert!(vtt.contains("丝绒口红") && vtt.contains("保湿面霜"));
    let probe = ffprobe_json(&["-show_chapters"], &mp4);
    // The MP4 chapter track has no gaps: untitled filler chapters cover the time between
    // products.
    let mp4_chapters: Vec<&Value> = probe["chapters"]
        .as_array()
        .expect("chapters in the MP4")
        .iter()
        .filter(|c| c["tags"]["title"].as_str().is_some_and(|t| !t.is_empty()))
        .collect();
    assert_eq!(mp4_chapters.len(), 2, "{probe}");
    for (m, c) in mp4_chapters.iter().zip(chapters) {
        let start: f64 = m["start_time"].as_str().unwrap().parse().unwrap();
        assert!((start - c["start"].as_f64().unwrap()).abs() < 0.002, "{m}");
        assert_eq!(m["tags"]["title"], c["title"]);
    }

    // The product card: the bottom-left corner changes while a product is presented.
    let before = started[0]["pts"].as_f64().unwrap() - 0.3;
    let during = started[0]["pts"].as_f64().unwrap() + 0.5;
    let corner = |t: f64| -> Vec<u8> {
        let f = frame_at(&mp4, t, W, H);
        let mut px = Vec::new();
        for y in (H * 3 / 4)..(H - 20) {
            let row = (y * W * 3) as usize;
            px.extend_from_slice(&f[row + 20 * 3..row + (W as usize / 4) * 3]);
        }
        px
    };
    let (a, b) = (corner(before.max(0.0)), corner(during));
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / a.len() as f64;
    assert!(diff > 12.0, "card region mean change {diff:.1} (0-255)");
}
