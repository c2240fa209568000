//! Hot reload during `anchor run` (live, paced to the wall clock): a valid edit takes effect
//! (the new line is spoken, a script_reloaded event), an invalid edit is refused with its
//! file:line:col (script_rejected event) while the old script keeps playing, and the stream
//! never breaks: the HLS playlist has no discontinuity and contiguous segments whose
//! timestamps follow each other, and the recording's video and audio timestamps advance by
//! exactly one frame / one packet with no jump.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const SCRIPT: &str = r#"
version: 1
show: { title: 热更新测试, language: zh-CN, disclosure: AI主播讲解, loop: true }
persona: { name: 小林, greeting: 大家好！ }
products:
  - { id: lipstick-01, name: 丝绒口红, price: 99.9, faq: [] }
segments:
  - say: "{persona.greeting}"
  - product: lipstick-01
    lines:
      - say: 这款口红颜色很正。
      - say: 质地很顺滑。
      - pause: 1s
"#;

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn read_events(dir: &std::path::Path) -> Vec<Value> {
    let Some(log) = std::fs::read_dir(dir).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".events.jsonl"))
    }) else {
        return Vec::new();
    };
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn has(events: &[Value], t: &str) -> bool {
    events.iter().any(|e| e["type"] == t)
}

#[test]
fn valid_and_invalid_edits_while_on_air() {
    let dir = common::tempdir().unwrap();
    let script = dir.path().join("show.yaml");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = dir.path().join("out");
    let lipsync = dir.path().join("lipsync.json");
    let child = anchor()
        .args(["run"])
        .arg(&script)
        .arg("--out")
        .arg(&out)
        .args(["--seconds", "30", "--http", "off", "--lipsync"])
        .arg(&lipsync)
        .args([
            "--width",
            "640",
            "--height",
            "360",
            "--out-width",
            "640",
            "--out-height",
            "360",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let recordings = out.join("recordings");
    wait_for("the first product", Duration::from_secs(60), || {
        has(&read_events(&recordings), "product_started")
    });

    // A valid edit: a new line in the product (a rundown change → next segment boundary).
    let edited = SCRIPT.replace(
        "      - pause: 1s\n",
        "      - pause: 1s\n      - say: 新加的一句话。\n",
    );
    std::fs::write(&script, &edited).unwrap();
    wait_for("script_reloaded", Duration::from_secs(20), || {
        has(&read_events(&recordings), "script_reloaded")
    });

    // An invalid edit: the show keeps the last good script and reports where the problem is.
    std::fs::write(
        &script,
        edited.replace("say: 质地很顺滑。", "say: [质地很顺滑。"),
    )
    .unwrap();
    wait_for("script_rejected", Duration::from_secs(10), || {
        has(&read_events(&recordings), "script_rejected")
    });

    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "run failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let ev = read_events(&recordings);
    let rejected = ev.iter().find(|e| e["type"] == "script_rejected").unwrap();
    let first = rejected["errors"][0].as_str().unwrap();
    assert!(first.contains("show.yaml:"), "{first}");
    let loc: Vec<&str> = first.split(':').collect();
    assert!(
        loc.len() > 3 && loc[1].parse::<u32>().is_ok() && loc[2].parse::<u32>().is_ok(),
        "file:line:col in {first}"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("rejected"),
        "the error is logged:\n{stderr}"
    );
    // The new line went on air, after the reload.
    let reloaded = ev.iter().find(|e| e["type"] == "script_reloaded").unwrap();
    let track: Value = serde_json::from_slice(&std::fs::read(&lipsync).unwrap()).unwrap();
    let new_line = track["speech"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["text"] == "新加的一句话。")
        .expect("the added line was spoken");
    assert!(new_line["start"].as_f64().unwrap() >= reloaded["pts"].as_f64().unwrap());
    // And the show went on after the bad edit (it ran its full 30 s).
    assert_eq!(ev.last().unwrap()["type"], "show_ended");
    assert!(ev.last().unwrap()["pts"].as_f64().unwrap() >= 29.9);

    // HLS: no discontinuity; contiguous segments whose timestamps follow each other.
    let playlist = std::fs::read_to_string(out.join("live/index.m3u8")).unwrap();
    assert!(!playlist.contains("DISCONTINUITY"), "{playlist}");
    let segments: Vec<&str> = playlist.lines().filter(|l| l.ends_with(".ts")).collect();
    assert!(segments.len() >= 5, "{playlist}");
    let mut prev_end: Option<f64> = None;
    for seg in &segments {
        let p = ffprobe_json(&["-show_format"], &out.join("live").join(seg));
        let start: f64 = p["format"]["start_time"].as_str().unwrap().parse().unwrap();
        let dur: f64 = p["format"]["duration"].as_str().unwrap().parse().unwrap();
        if let Some(end) = prev_end {
            assert!(
                (start - end).abs() < 0.1,
                "{seg}: starts at {start}, previous ended at {end}"
            );
        }
        prev_end = Some(start + dur);
    }

    // The recording: video frames exactly 1/30 s apart, audio packets contiguous.
    let rec = std::fs::read_dir(&recordings)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "mp4"))
        .expect("a recording");
    for (stream, step) in [("v:0", 1.0 / 30.0), ("a:0", 1024.0 / 48000.0)] {
        let p = ffprobe_json(
            &[
                "-select_streams",
                stream,
                "-show_entries",
                "packet=pts_time",
            ],
            &rec,
        );
        let mut pts: Vec<f64> = p["packets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pts_time"].as_str().unwrap().parse().unwrap())
            .collect();
        pts.sort_by(f64::total_cmp);
        assert!(pts.len() > 100);
        // The first video frame may start up to one AAC priming delay (1024 samples) early:
        // the muxer shifts timestamps so none is negative. After it, every step is one frame.
        let priming = 1024.0 / 48000.0;
        assert!(
            pts[1] - pts[0] < step + priming + 1e-3,
            "{stream}: first step {}",
            pts[1] - pts[0]
        );
        let worst = pts[1..]
            .windows(2)
            .map(|w| w[1] - w[0])
            .fold(0.0f64, f64::max);
        assert!(
            worst < step * 1.5,
            "{stream}: largest step {worst:.4} s (expected {step:.4})"
        );
    }
}
