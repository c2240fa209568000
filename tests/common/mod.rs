//! Helpers shared by the integration tests: run the binary, probe and decode media with ffmpeg.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn anchor() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_anchor"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the anchor binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `ffprobe -show_streams -show_format` as JSON.
pub fn ffprobe(path: &Path) -> serde_json::Value {
    ffprobe_json(&["-show_streams", "-show_format"], path)
}

/// One video frame at `t` seconds as RGB24 (width, height, pixels).
pub fn frame_at(path: &Path, t: f64, width: u32, height: u32) -> Vec<u8> {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{t}"), "-i"])
        .arg(path)
        .args([
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            &format!("{width}x{height}"),
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        o.status.success(),
        "ffmpeg frame grab failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.stdout.len(), (width * height * 3) as usize);
    o.stdout
}

pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

#[path = "../../src/testutil.rs"]
mod testutil;
#[allow(unused_imports)]
pub use testutil::{decode_audio, ffprobe_json, tempdir};

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// An HTTP client for the built-in server: 5 s per request, every status an answer.
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Waits (up to 2 minutes) until `base`/api/health answers 200.
pub fn wait_for_health(agent: &ureq::Agent, base: &str) {
    let t0 = std::time::Instant::now();
    while agent
        .get(&format!("{base}/api/health"))
        .call()
        .map_or(true, |r| r.status() != 200)
    {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(120),
            "the server comes up"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
