//! Operator control on a live show (`anchor run`, paced to the wall clock): the control routes
//! refuse a request without the token, and with it the show carries out each command at the
//! next frame — product switch, a line to say, pause and resume, a host override without a
//! host input (refused by the show, with the reason) — each visible as an `operator` event. A
//! product the script does not have is refused (`400`) until a script edit adds it.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const SCRIPT: &str = r#"
version: 1
show: { title: 控制测试, language: zh-CN, disclosure: AI主播讲解, loop: true }
persona: { name: 小林, greeting: 大家好！ }
products:
  - { id: lipstick-01, name: 丝绒口红, price: 99.9, faq: [] }
  - { id: cream-02, name: 面霜, price: 159, faq: [] }
segments:
  - product: lipstick-01
    lines:
      - say: 这款口红的颜色非常正。
      - say: 质地像丝绒一样顺滑。
      - say: 上嘴以后一整天都很舒服。
      - say: 黄皮白皮都可以放心选择。
      - say: 今天直播间还送一支小样。
      - say: 喜欢的朋友可以先加购物车。
  - product: cream-02
    lines:
      - say: 这款面霜很滋润。
"#;

const TOKEN: &str = "control-token-1234";

#[test]
fn operator_commands_are_carried_out_and_a_missing_token_changes_nothing() {
    let dir = common::tempdir().unwrap();
    let script = dir.path().join("show.yaml");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = dir.path().join("out");
    let lipsync = dir.path().join("lipsync.json");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = anchor()
        .args(["run"])
        .arg(&script)
        .arg("--out")
        .arg(&out)
        .args(["--seconds", "30", "--no-chat"])
        .args(["--http", &format!("127.0.0.1:{port}")])
        .args(["--control-token", TOKEN])
        .args(["--width", "320", "--height", "180"])
        .args(["--out-width", "320", "--out-height", "180"])
        .arg("--lipsync")
        .arg(&lipsync)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("run.log")).unwrap())
        .spawn()
        .unwrap();
    let agent = http_agent();
    wait_for_health(&agent, &base);
    std::thread::sleep(Duration::from_secs(3));
    let post = |path: &str, body: Value, token: Option<&str>| -> u16 {
        let mut req = agent
            .post(&format!("{base}{path}"))
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        req.send(body.to_string())
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    // Without the token: refused, and (checked below) nothing happens.
    assert_eq!(post("/api/pause", json!({}), None), 401);
    assert_eq!(
        post(
            "/api/product",
            json!({"id": "cream-02"}),
            Some("wrong-token-99")
        ),
        401
    );
    // With it.
    assert_eq!(
        post("/api/product", json!({"id": "cream-02"}), Some(TOKEN)),
        202
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        post("/api/say", json!({"text": "今晚十点有抽奖。"}), Some(TOKEN)),
        202
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(post("/api/pause", json!({}), Some(TOKEN)), 202);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(post("/api/resume", json!({}), Some(TOKEN)), 202);
    assert_eq!(
        post("/api/host", json!({"online": false}), Some(TOKEN)),
        202
    );
    // Not in the script: refused. Then a script edit adds it (hot reload), and it is taken.
    assert_eq!(
        post("/api/product", json!({"id": "serum-03"}), Some(TOKEN)),
        400
    );
    let edited = SCRIPT
        .replace(
            "segments:",
            "  - { id: serum-03, name: 精华, price: 199, faq: [] }\nsegments:",
        )
        .replace(
            "      - say: 这款面霜很滋润。",
            "      - say: 这款面霜很滋润。\n  - product: serum-03\n    lines:\n      - say: 这款精华很好吸收。",
        );
    std::fs::write(&script, edited).unwrap();
    let mut accepted = 0;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(100));
        accepted = post("/api/product", json!({"id": "serum-03"}), Some(TOKEN));
        if accepted == 202 {
            break;
        }
    }
    assert_eq!(accepted, 202, "serum-03 refused after the edit");
    let status = child.wait().unwrap();
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap_or_default();
    assert!(status.success(), "anchor run failed:\n{log}");

    let jsonl = std::fs::read_dir(out.join("recordings"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".events.jsonl"))
        .expect("an events log");
    let events: Vec<Value> = std::fs::read_to_string(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<(&str, bool)> = events
        .iter()
        .filter(|e| e["type"] == "operator")
        .map(|e| (e["command"].as_str().unwrap(), e["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("product", true),
            ("say", true),
            ("pause", true),
            ("resume", true),
            ("host", false),
            ("product", true)
        ],
        "{log}"
    );
    // The product switch: cream-02 starts after the command, before the rundown would have
    // reached it (six lipstick lines take longer than that).
    let op_pts = events
        .iter()
        .find(|e| e["type"] == "operator" && e["command"] == "product")
        .unwrap()["pts"]
        .as_f64()
        .unwrap();
    let cream = events
        .iter()
        .find(|e| e["type"] == "product_started" && e["product"] == "cream-02")
        .expect("cream-02 started");
    let cream_pts = cream["pts"].as_f64().unwrap();
    assert!(
        cream_pts >= op_pts && cream_pts < op_pts + 6.0,
        "switch at {op_pts}, cream-02 at {cream_pts}"
    );
    // The line was said.
    let track = std::fs::read_to_string(&lipsync).unwrap();
    assert!(
        track.contains("今晚十点有抽奖"),
        "the operator's line is not in the lip-sync track"
    );
}
