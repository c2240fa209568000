//! Host takeover end to end, with real components: `anchor run --host-input` listens for RTMP;
//! a real ffmpeg test-pattern push is the human host. The push starts (the avatar hands the
//! show to the host), is killed (the picture goes to the avatar, then the avatar takes over
//! with the hand-off line), and starts again (hand-back). Checked on the files an operator
//! has: the event log, the lip-sync track (every spoken sentence with its media time) and the
//! recording (decoded with ffmpeg: the longest frozen run, the picture around the switches,
//! constant size / frame rate / audio format). Takeover and hand-back times are printed in
//! media time (the bench figures). A second show takes a 1280x720@60 feed without audio into
//! a 960x540@30 show.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const FPS: f64 = 30.0;

/// The shows run one at a time (each needs the CPU to keep real time).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A temp folder, kept when ANCHOR_KEEP_TEST_OUTPUT is set (to look at the frames).
fn scratch() -> (Option<impl Drop>, PathBuf) {
    let dir = tempdir().unwrap();
    let path = dir.path().to_path_buf();
    if std::env::var_os("ANCHOR_KEEP_TEST_OUTPUT").is_some() {
        std::mem::forget(dir);
        return (None, path);
    }
    (Some(dir), path)
}

/// A real host: ffmpeg pushing a test pattern (and a 440 Hz tone when `audio`) in real time.
fn push(port: u16, size: &str, rate: u32, audio: bool) -> Child {
    let mut c = Command::new("ffmpeg");
    c.args(["-v", "error", "-nostdin", "-re", "-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={size}:rate={rate}"));
    if audio {
        c.args(["-f", "lavfi", "-i", "sine=f=440:sample_rate=48000"]);
    }
    c.args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        &(rate * 2).to_string(),
        "-pix_fmt",
        "yuv420p",
    ]);
    if audio {
        c.args(["-c:a", "aac", "-b:a", "64k"]);
    }
    c.args(["-f", "flv"])
        .arg(format!("rtmp://127.0.0.1:{port}/live/host"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg push starts")
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `anchor run` with the host input; returns the process.
fn anchor_run(out: &Path, port: u16, size: (u32, u32), lipsync: &Path) -> Child {
    let (w, h) = (size.0.to_string(), size.1.to_string());
    anchor()
        .args(["run", "tests/fixtures/shows/host-zh.yaml", "--out"])
        .arg(out)
        .args([
            "--seconds",
            "75",
            "--http",
            "off",
            "--no-watch",
            "--no-chat",
        ])
        .args([
            "--width",
            &w,
            "--height",
            &h,
            "--out-width",
            &w,
            "--out-height",
            &h,
        ])
        .args(["--fps", "30", "--host-grace", "5", "--host-input"])
        .arg(format!("rtmp://127.0.0.1:{port}/live/host"))
        .arg("--lipsync")
        .arg(lipsync)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("anchor run starts")
}

/// Ctrl-C: the show stops cleanly and closes the recording.
fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

fn finish(mut child: Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            assert!(status.success(), "anchor run failed:\n{err}");
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("anchor run did not stop after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn recording(out: &Path) -> PathBuf {
    let dir = out.join("recordings");
    std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "mp4"))
        .unwrap_or_else(|| dir.join("none.mp4"))
}

fn events(out: &Path) -> Vec<Value> {
    let log = recording(out).with_extension("events.jsonl");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn of_type<'a>(ev: &'a [Value], t: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["type"] == t).collect()
}

/// Waits until the event log holds `count` events of type `t` (or panics after `secs`).
fn wait_for(out: &Path, t: &str, count: usize, secs: u64, anchor: &mut Child) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let ev = events(out);
        if of_type(&ev, t).len() >= count {
            return ev;
        }
        if let Ok(Some(status)) = anchor.try_wait() {
            panic!("anchor run exited ({status}) before {count} x {t}; events: {ev:?}");
        }
        assert!(
            Instant::now() < deadline,
            "no {count} x {t} within {secs} s; events: {ev:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pts(e: &Value) -> f64 {
    e["pts"].as_f64().expect("pts")
}

/// Small RGB pictures of all frames of the recording (160x90: enough to tell the test pattern
/// from the avatar and motion from a still).
fn small_frames(file: &Path) -> Vec<Vec<u8>> {
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args([
            "-map", "0:v:0", "-s", "160x90", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
        .chunks_exact(160 * 90 * 3)
        .map(<[u8]>::to_vec)
        .collect()
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

/// Mean spread between the RGB channels: the test pattern is far more colourful than the
/// avatar's studio.
fn colourfulness(rgb: &[u8]) -> f64 {
    rgb.chunks_exact(3)
        .map(|p| {
            let max = p.iter().max().copied().unwrap_or(0);
            let min = p.iter().min().copied().unwrap_or(0);
            f64::from(max - min)
        })
        .sum::<f64>()
        / (rgb.len() / 3) as f64
}

/// What each frame of the recording shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shows {
    /// The host's test pattern, moving (differs from the frame before).
    Host,
    /// The host's picture repeated (a frozen frame: only the encoder refining a still).
    FrozenHost,
    Avatar,
}

fn classify(frames: &[Vec<u8>]) -> Vec<Shows> {
    let host_level = 40.0;
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if colourfulness(f) < host_level {
                Shows::Avatar
            } else if i > 0 && mean_abs_diff(f, &frames[i - 1]) < 1.0 {
                Shows::FrozenHost
            } else {
                Shows::Host
            }
        })
        .collect()
}

/// Runs of frozen host frames: (first index, length).
fn frozen_runs(shows: &[Shows]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < shows.len() {
        if shows[i] == Shows::FrozenHost {
            let start = i;
            while i < shows.len() && shows[i] == Shows::FrozenHost {
                i += 1;
            }
            runs.push((start, i - start));
        } else {
            i += 1;
        }
    }
    runs
}

/// Frame params per video frame and audio params per audio frame must be one set each.
fn assert_constant_format(file: &Path, w: u32, h: u32) {
    let v = ffprobe_json(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "frame=width,height:stream=r_frame_rate,avg_frame_rate",
        ],
        file,
    );
    let frames = v["frames"].as_array().expect("video frames");
    assert!(frames.len() > 100);
    for f in frames {
        assert_eq!(
            (f["width"].as_u64(), f["height"].as_u64()),
            (Some(w.into()), Some(h.into()))
        );
    }
    assert_eq!(v["streams"][0]["r_frame_rate"], "30/1");
    let a = ffprobe_json(
        &[
            "-select_streams",
            "a:0",
            "-show_entries",
            "frame=channels,nb_samples:stream=sample_rate",
        ],
        file,
    );
    assert_eq!(a["streams"][0]["sample_rate"], "48000");
    let frames = a["frames"].as_array().expect("audio frames");
    assert!(frames.len() > 100);
    for f in frames {
        assert_eq!(f["channels"].as_u64(), Some(1));
        assert_eq!(
            f["nb_samples"].as_u64(),
            Some(1024),
            "AAC frames of 1024 samples"
        );
    }
}

/// Writes the frame at `t` as a PNG next to the recording (to look at).
fn png(file: &Path, t: f64, name: &str) -> PathBuf {
    let out = file.with_file_name(name);
    let o = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-ss", &format!("{t:.3}"), "-i"])
        .arg(file)
        .args(["-frames:v", "1"])
        .arg(&out)
        .output()
        .expect("ffmpeg runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn takeover_and_hand_back_on_a_real_host_push() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, path) = scratch();
    let out = path.join("out");
    let lipsync = path.join("lipsync.json");
    let port = free_port();
    let mut anchor = anchor_run(&out, port, (640, 360), &lipsync);
    wait_for(&out, "show_started", 1, 60, &mut anchor);

    // The host goes live: the avatar hands over at a sentence boundary.
    let host = push(port, "640x360", 25, true);
    wait_for(&out, "hand_back", 1, 30, &mut anchor);
    std::thread::sleep(Duration::from_secs(3));
    // The host's connection drops.
    stop(host);
    let ev = wait_for(&out, "takeover", 1, 30, &mut anchor);
    assert_eq!(of_type(&ev, "takeover")[0]["reason"], "feed_lost");
    std::thread::sleep(Duration::from_secs(2));
    // The host reconnects: the listener accepts them again.
    let host = push(port, "640x360", 25, true);
    wait_for(&out, "hand_back", 2, 30, &mut anchor);
    std::thread::sleep(Duration::from_secs(2));
    interrupt(&anchor);
    let log = finish(anchor);
    stop(host);

    let file = recording(&out);
    let ev = events(&out);
    let types: Vec<&str> = ev
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| ["host_online", "host_offline", "takeover", "hand_back"].contains(t))
        .collect();
    assert_eq!(
        types,
        [
            "host_online",
            "hand_back",
            "host_offline",
            "takeover",
            "host_online",
            "hand_back"
        ],
        "{log}"
    );
    let offline = of_type(&ev, "host_offline")[0];
    let takeover = of_type(&ev, "takeover")[0];
    let backs = of_type(&ev, "hand_back");
    let onlines = of_type(&ev, "host_online");
    let since = offline["since"].as_f64().unwrap();
    let text = takeover["text"].as_str().expect("the hand-off line");
    assert_eq!(text, "主播暂时离开，小林来陪大家！");
    // Grace: the avatar takes over 5 s after the last host frame (media time, ±1 frame).
    assert!(
        (pts(takeover) - since - 5.0).abs() <= 1.5 / FPS,
        "{takeover} {since}"
    );

    // The hand-off line was said, after the takeover (lip-sync track: every spoken sentence).
    let track: Value = serde_json::from_str(&std::fs::read_to_string(&lipsync).unwrap()).unwrap();
    let said = track["speech"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["text"] == text)
        .expect("the hand-off line in the spoken sentences");
    let line_start = said["start"].as_f64().unwrap();
    assert!(line_start >= pts(takeover) - 1e-6 && line_start < pts(backs[1]));
    let first_word = said["words"][0]["start"].as_f64().unwrap_or(line_start);
    // Hand-back at a sentence boundary: no sentence is on air across a hand-back, and none is
    // said while the host has the show.
    for s in track["speech"].as_array().unwrap() {
        let (a, b) = (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap());
        for back in &backs {
            assert!(
                !(a < pts(back) && pts(back) < b - 1e-6),
                "{s} across {back}"
            );
        }
        assert!(
            !(a >= pts(backs[0]) && a < pts(takeover)),
            "{s} said while the host was on"
        );
    }

    // The recording: one size, one frame rate, one audio format all through.
    assert_constant_format(&file, 640, 360);
    let frames = small_frames(&file);
    let shows = classify(&frames);
    let runs = frozen_runs(&shows);
    let longest = runs.iter().map(|r| r.1).max().unwrap_or(0);
    assert!(
        (longest as f64) < 2.0 * FPS,
        "a frozen picture of {longest} frames (> one 2 s keyframe interval): {runs:?}"
    );
    // At the drop: the last moving host frame, then frozen ones, then the avatar.
    let first_avatar_i = (((since * FPS).round() as usize)..shows.len())
        .find(|&i| shows[i] == Shows::Avatar)
        .expect("the avatar after the drop");
    let last_moving_i = (0..first_avatar_i)
        .rev()
        .find(|&i| shows[i] == Shows::Host)
        .expect("the host before the drop");
    let first_avatar = first_avatar_i as f64 / FPS;
    let frozen_at_drop = (first_avatar_i - last_moving_i - 1) as f64 / FPS;
    assert!(frozen_at_drop < 2.0, "{frozen_at_drop}");
    // The host's picture while the host has the show (after each hand-back).
    for back in &backs {
        let i = ((pts(back) + 1.0) * FPS) as usize;
        assert_ne!(shows[i], Shows::Avatar, "host picture 1 s after {back}");
    }
    assert_eq!(
        shows[(2.0 * FPS) as usize],
        Shows::Avatar,
        "the avatar opens the show"
    );
    let host_t = pts(backs[0]) + 1.0;
    for (t, name) in [
        (host_t, "1-host.png"),
        (since - 0.1, "2-last-host-frame.png"),
        (first_avatar, "3-first-avatar-frame.png"),
        (pts(takeover) + 1.0, "4-takeover.png"),
        (pts(backs[1]) + 0.5, "5-host-again.png"),
    ] {
        eprintln!("frame at {t:.2} s: {}", png(&file, t, name).display());
    }
    // Host audio (the 440 Hz tone) on air while the host has the show.
    let pcm = decode_audio(&file);
    let at = |t: f64| &pcm[(t * 48_000.0) as usize..((t + 0.5) * 48_000.0) as usize];
    assert!(rms(at(host_t)) > 0.05, "the host's tone is on air");

    println!(
        "takeover (media time): host frames stop at {since:.3} s -> picture to the avatar at {:.3} s (event) / in the recording: last moving host frame {:.3} s, first avatar frame {first_avatar:.3} s (frozen {frozen_at_drop:.3} s); takeover at {:.3} s (+{:.3} s); hand-off line starts at {line_start:.3} s (+{:.3} s), first word +{:.3} s",
        pts(offline),
        last_moving_i as f64 / FPS,
        pts(takeover),
        pts(takeover) - since,
        line_start - since,
        first_word - since,
    );
    println!(
        "hand-back (media time): host online at {:.3} s -> hand_back at {:.3} s (+{:.3} s, stable {} s + sentence boundary); first: online {:.3} -> back {:.3} (+{:.3} s); longest frozen run {longest} frames",
        pts(onlines[1]),
        pts(backs[1]),
        pts(backs[1]) - pts(onlines[1]),
        3,
        pts(onlines[0]),
        pts(backs[0]),
        pts(backs[0]) - pts(onlines[0]),
    );
    eprintln!("recording: {}", file.display());
}

#[test]
fn a_1280x720_60fps_feed_without_audio_into_a_960x540_30fps_show() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, path) = scratch();
    let out = path.join("out");
    let lipsync = path.join("lipsync.json");
    let port = free_port();
    let mut anchor = anchor_run(&out, port, (960, 540), &lipsync);
    wait_for(&out, "show_started", 1, 60, &mut anchor);
    let host = push(port, "1280x720", 60, false);
    let ev = wait_for(&out, "hand_back", 1, 30, &mut anchor);
    std::thread::sleep(Duration::from_secs(3));
    interrupt(&anchor);
    finish(anchor);
    stop(host);

    let file = recording(&out);
    assert_constant_format(&file, 960, 540);
    let back = pts(of_type(&ev, "hand_back")[0]);
    let host_t = back + 1.0;
    let shows = classify(&small_frames(&file));
    assert_eq!(shows[(0.5 * FPS) as usize], Shows::Avatar);
    assert_ne!(
        shows[(host_t * FPS) as usize],
        Shows::Avatar,
        "the host's picture"
    );
    let frozen = frozen_runs(&shows).iter().map(|r| r.1).max().unwrap_or(0);
    assert!((frozen as f64) < 2.0 * FPS, "{frozen} frozen frames");
    eprintln!(
        "host frame: {}",
        png(&file, host_t, "host-720p60.png").display()
    );
    // No audio in the feed: silence while the host has the show (no noise, no stall).
    let pcm = decode_audio(&file);
    let host_audio = &pcm[(host_t * 48_000.0) as usize..((host_t + 1.0) * 48_000.0) as usize];
    assert!(
        rms(host_audio) < 0.005,
        "silence, got rms {}",
        rms(host_audio)
    );
}

/// A show that dies (SIGKILL, a crash) takes its host decoder with it: the decoder listening on
/// the host port would otherwise outlive it, and the restarted show could not listen there.
#[test]
fn a_killed_show_frees_the_host_port() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, path) = scratch();
    let out = path.join("out");
    let port = free_port();
    let mut anchor = anchor_run(&out, port, (320, 180), &path.join("lipsync.json"));
    wait_for(&out, "show_started", 1, 60, &mut anchor);
    let bindable = || std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    let deadline = Instant::now() + Duration::from_secs(20);
    while bindable() {
        assert!(Instant::now() < deadline, "the host input never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    anchor.kill().expect("SIGKILL");
    let _ = anchor.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !bindable() {
        assert!(
            Instant::now() < deadline,
            "port {port} still held 5 s after the show died: an orphaned decoder"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
