//! End-to-end tests against the real ffmpeg/ffprobe: they assert what a viewer would notice.

use std::process::Command;

use super::*;
use crate::media::{MediaTime, SAMPLE_RATE};
use crate::testutil::{decode_audio, ffprobe_json};

const FPS: u32 = 30;

fn config(frame: (u32, u32), out: (u32, u32), outputs: Outputs) -> StreamConfig {
    StreamConfig {
        frame_width: frame.0,
        frame_height: frame.1,
        out_width: out.0,
        out_height: out.1,
        fps: FPS,
        outputs,
        title: "测试直播 test show".into(),
        ai_label: "AI-generated virtual host / 本直播由AI数字人主持".into(),
    }
}

/// Red grows left→right, green top→bottom, blue moves with time.
fn gradient(w: u32, h: u32, n: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    let b = blue_of(n);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&[(x * 255 / (w - 1)) as u8, (y * 255 / (h - 1)) as u8, b, 255]);
        }
    }
    v
}

fn blue_of(n: u64) -> u8 {
    (128.0 + 100.0 * (n as f64 * 0.1).sin()) as u8
}

/// 440 Hz at amplitude 0.5, silent (exact zeros) during media second [1, 2).
fn tone_for_frame(n: u64) -> Vec<f32> {
    let (a, b) = (
        MediaTime::of_frame(n, FPS).0,
        MediaTime::of_frame(n + 1, FPS).0,
    );
    (a..b)
        .map(|i| {
            let t = i as f64 / f64::from(SAMPLE_RATE);
            if (1.0..2.0).contains(&t) {
                0.0
            } else {
                (0.5 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as f32
            }
        })
        .collect()
}

fn encode(cfg: &StreamConfig, secs: u32) -> StreamStats {
    let mut enc = Encoder::start(cfg).expect("start");
    for n in 0..u64::from(secs * FPS) {
        enc.push(
            &gradient(cfg.frame_width, cfg.frame_height, n),
            &tone_for_frame(n),
        )
        .expect("push");
    }
    enc.finish().expect("finish")
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

fn rms(s: &[f32]) -> f64 {
    (s.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / s.len() as f64).sqrt()
}

fn window(s: &[f32], from: f64, to: f64) -> &[f32] {
    &s[(from * 48_000.0) as usize..(to * 48_000.0) as usize]
}

#[test]
fn file_output_is_h264_aac_3s_with_2s_keyframes_and_real_silence() {
    let dir = crate::testutil::tempdir().unwrap();
    let path = dir.path().join("out/show.mp4");
    let cfg = config((320, 180), (640, 360), Outputs::File { path: path.clone() });
    let stats = encode(&cfg, 3);
    assert_eq!(stats.frames, 90);
    assert_eq!(stats.audio_samples, 3 * 48_000);

    let probe = ffprobe_json(&["-show_format", "-show_streams"], &path);
    let streams = probe["streams"].as_array().unwrap();
    let v = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("video stream");
    let a = streams
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .expect("audio stream");
    assert_eq!(v["codec_name"], "h264");
    assert_eq!(v["pix_fmt"], "yuv420p");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(640), Some(360))
    );
    assert_eq!(v["avg_frame_rate"], "30/1");
    assert_eq!(v["nb_frames"], "90");
    assert_eq!(a["codec_name"], "aac");
    assert_eq!(a["sample_rate"], "48000");
    assert_eq!(a["channels"].as_u64(), Some(1));
    let frame = 1.0 / f64::from(FPS);
    assert!(
        (f(&v["duration"]) - 3.0).abs() <= frame,
        "video duration {}",
        v["duration"]
    );
    assert!(
        (f(&probe["format"]["duration"]) - 3.0).abs() <= frame,
        "duration {}",
        probe["format"]["duration"]
    );
    let tags = &probe["format"]["tags"];
    assert_eq!(tags["title"], cfg.title.as_str());
    assert_eq!(tags["comment"], cfg.ai_label.as_str());
    assert_eq!(tags["ai_label"], cfg.ai_label.as_str());
    assert_eq!(tags["ai_generated"], "1");

    // Keyframes exactly every 2 s.
    let keys = ffprobe_json(
        &[
            "-select_streams",
            "v:0",
            "-skip_frame",
            "nokey",
            "-show_entries",
            "frame=pts_time",
        ],
        &path,
    );
    let times: Vec<f64> = keys["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| f(&k["pts_time"]))
        .collect();
    assert_eq!(times.len(), 2, "keyframes at {times:?}");
    assert!(
        times[0].abs() < 1e-3 && (times[1] - 2.0).abs() < 1e-3,
        "keyframes at {times:?}"
    );

    // The silent second stays silent, the tone is there on both sides.
    let pcm = decode_audio(&path);
    assert!(
        (pcm.len() as f64 / 48_000.0 - 3.0).abs() < 0.05,
        "decoded {} samples",
        pcm.len()
    );
    for (from, to) in [(0.1, 0.9), (2.1, 2.9)] {
        let r = rms(window(&pcm, from, to));
        assert!(
            (r - 0.5 / 2f64.sqrt()).abs() < 0.03,
            "tone RMS {r} in {from}..{to}"
        );
    }
    let quiet = rms(window(&pcm, 1.1, 1.9));
    assert!(quiet < 1e-3, "silent second has RMS {quiet}");

    // The picture is the gradient we pushed (frame 45, scaled ×2): red grows to the right,
    // green downwards, blue as generated.
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args([
            "-vf",
            "select=eq(n\\,45)",
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.stdout.len(),
        640 * 360 * 3,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (x, y) in [(20u32, 20u32), (320, 180), (620, 340), (100, 300)] {
        let i = ((y * 640 + x) * 3) as usize;
        let got = &out.stdout[i..i + 3];
        let want = [
            (x * 255 / 639) as i32,
            (y * 255 / 359) as i32,
            i32::from(blue_of(45)),
        ];
        for c in 0..3 {
            assert!(
                (i32::from(got[c]) - want[c]).abs() <= 12,
                "pixel ({x},{y}) = {got:?}, want {want:?}"
            );
        }
    }
}

#[test]
fn live_output_writes_hls_and_a_playable_recording() {
    let dir = crate::testutil::tempdir().unwrap();
    let hls_dir = dir.path().join("hls");
    let recording = dir.path().join("rec/show.mp4");
    let cfg = config(
        (320, 180),
        (320, 180),
        Outputs::Live {
            hls_dir: hls_dir.clone(),
            recording: recording.clone(),
            pushes: vec![],
        },
    );
    encode(&cfg, 5);

    let playlist = std::fs::read_to_string(hls_dir.join(HLS_PLAYLIST)).expect("index.m3u8");
    let segments: Vec<&str> = playlist.lines().filter(|l| l.ends_with(".ts")).collect();
    assert!(segments.len() >= 2, "playlist:\n{playlist}");
    assert!(playlist.contains("#EXT-X-TARGETDURATION:2"), "{playlist}");
    assert!(
        playlist.contains("#EXT-X-INDEPENDENT-SEGMENTS")
            && playlist.contains("#EXT-X-PROGRAM-DATE-TIME")
    );
    for s in &segments {
        assert!(hls_dir.join(s).is_file(), "segment {s} missing");
    }
    let seg = ffprobe_json(
        &["-show_programs", "-show_streams"],
        &hls_dir.join(segments[0]),
    );
    let provider = seg["programs"][0]["tags"]["service_provider"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        provider.contains(&cfg.ai_label),
        "segment program tags: {}",
        seg["programs"][0]["tags"]
    );

    let probe = ffprobe_json(&["-show_format", "-show_streams"], &recording);
    let d = f(&probe["format"]["duration"]);
    assert!((d - 5.0).abs() < 0.1, "recording duration {d}");
    assert_eq!(probe["streams"].as_array().map(Vec::len), Some(2));
    assert_eq!(probe["format"]["tags"]["ai_generated"], "1");
}

#[test]
fn live_playlist_is_a_sliding_window_and_old_segments_are_deleted() {
    let dir = crate::testutil::tempdir().unwrap();
    let hls_dir = dir.path().join("hls");
    let cfg = config(
        (64, 36),
        (64, 36),
        Outputs::Live {
            hls_dir: hls_dir.clone(),
            recording: dir.path().join("r.mp4"),
            pushes: vec![],
        },
    );
    encode(&cfg, 40); // 20 segments
    let playlist = std::fs::read_to_string(hls_dir.join(HLS_PLAYLIST)).unwrap();
    let listed = playlist.lines().filter(|l| l.ends_with(".ts")).count();
    assert_eq!(listed, HLS_LIST_SIZE as usize, "{playlist}");
    assert!(!playlist.contains("seg_000000.ts"), "{playlist}");
    let on_disk = std::fs::read_dir(&hls_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "ts")
        })
        .count();
    assert!(
        on_disk <= HLS_LIST_SIZE as usize + 2,
        "{on_disk} segments left on disk"
    );
}

#[test]
fn recording_survives_an_ffmpeg_crash() {
    let dir = crate::testutil::tempdir().unwrap();
    let recording = dir.path().join("rec.mp4");
    let cfg = config(
        (320, 180),
        (320, 180),
        Outputs::Live {
            hls_dir: dir.path().join("hls"),
            recording: recording.clone(),
            pushes: vec![],
        },
    );
    let mut enc = Encoder::start(&cfg).unwrap();
    for n in 0..(5 * u64::from(FPS)) {
        enc.push(&gradient(320, 180, n), &tone_for_frame(n))
            .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(1500)); // let ffmpeg catch up
    enc.kill_ffmpeg();
    let mut n = 5 * u64::from(FPS);
    let err = loop {
        match enc.push(&gradient(320, 180, n), &tone_for_frame(n)) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
        assert!(n < 1000, "pushing into a dead ffmpeg kept succeeding");
    };
    assert!(matches!(err, StreamError::FfmpegExited { .. }), "{err}");
    assert!(!err.is_recoverable());
    assert!(matches!(
        enc.push(&gradient(320, 180, n), &tone_for_frame(n)),
        Err(StreamError::Closed { .. })
    ));
    // Fragments up to the last keyframe (4 s) are on disk and play.
    let d = f(&ffprobe_json(&["-show_format"], &recording)["format"]["duration"]);
    assert!(d >= 3.9, "recording after crash lasts {d} s");
}

#[test]
fn wrong_frame_or_audio_size_is_a_recoverable_error() {
    let dir = crate::testutil::tempdir().unwrap();
    let cfg = config(
        (64, 36),
        (64, 36),
        Outputs::File {
            path: dir.path().join("x.mp4"),
        },
    );
    let mut enc = Encoder::start(&cfg).unwrap();
    let err = enc.push(&[0u8; 100], &tone_for_frame(0)).unwrap_err();
    assert!(
        matches!(
            err,
            StreamError::FrameSize {
                expected: 9216,
                got: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_recoverable());
    let err = enc.push(&gradient(64, 36, 0), &[0.0; 10]).unwrap_err();
    assert!(
        matches!(
            err,
            StreamError::AudioLength {
                expected: 1600,
                got: 10,
                ..
            }
        ),
        "{err}"
    );
    for n in 0..30 {
        enc.push(&gradient(64, 36, n), &tone_for_frame(n)).unwrap();
    }
    assert_eq!(enc.finish().unwrap().frames, 30);
}

#[test]
fn missing_ffmpeg_gives_one_clear_line() {
    let dir = crate::testutil::tempdir().unwrap();
    let empty = dir.path().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let cfg = config(
        (64, 36),
        (64, 36),
        Outputs::File {
            path: dir.path().join("x.mp4"),
        },
    );
    let opts = EncoderOptions {
        ffmpeg: "ffmpeg".into(),
        search_path: Some(empty.into_os_string()),
        ..EncoderOptions::default()
    };
    let err = Encoder::start_with(&cfg, &opts).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StreamError::FfmpegNotFound { .. }), "{msg}");
    assert!(
        msg.starts_with("ffmpeg not found on PATH")
            && msg.contains("sudo apt-get install ffmpeg")
            && !msg.contains('\n')
    );
}

#[test]
fn ffmpeg_exiting_early_reports_its_last_lines() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::testutil::tempdir().unwrap();
    let fake = dir.path().join("fake-ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'line one' >&2\necho 'Unknown encoder libx264' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = config(
        (64, 36),
        (64, 36),
        Outputs::File {
            path: dir.path().join("x.mp4"),
        },
    );
    let opts = EncoderOptions {
        ffmpeg: fake,
        ..EncoderOptions::default()
    };
    let mut enc = Encoder::start_with(&cfg, &opts).unwrap();
    let mut result = Ok(());
    for n in 0..300 {
        result = enc.push(&gradient(64, 36, n), &tone_for_frame(n));
        if result.is_err() {
            break;
        }
    }
    let err = match result {
        Err(e) => e,
        Ok(()) => enc.finish().unwrap_err(),
    };
    let msg = err.to_string();
    assert!(matches!(err, StreamError::FfmpegExited { .. }), "{msg}");
    assert!(
        msg.contains("Unknown encoder libx264") && msg.contains("exit status: 1"),
        "{msg}"
    );
}

#[test]
fn unwritable_output_dir_is_a_clear_error() {
    let dir = crate::testutil::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let cfg = config(
        (64, 36),
        (64, 36),
        Outputs::File {
            path: blocker.join("x.mp4"),
        },
    );
    let err = Encoder::start(&cfg).unwrap_err();
    assert!(
        matches!(&err, StreamError::OutputNotWritable { path, .. } if path == &blocker),
        "{err}"
    );
    let live = config(
        (64, 36),
        (64, 36),
        Outputs::Live {
            hls_dir: blocker.join("hls"),
            recording: dir.path().join("r.mp4"),
            pushes: vec![],
        },
    );
    assert!(matches!(
        Encoder::start(&live),
        Err(StreamError::OutputNotWritable { .. })
    ));
}

#[test]
fn odd_output_size_and_empty_label_are_refused() {
    let dir = crate::testutil::tempdir().unwrap();
    let mut cfg = config(
        (64, 36),
        (65, 36),
        Outputs::File {
            path: dir.path().join("x.mp4"),
        },
    );
    assert!(matches!(
        Encoder::start(&cfg),
        Err(StreamError::InvalidConfig { .. })
    ));
    cfg.out_width = 64;
    cfg.ai_label = " ".into();
    assert!(matches!(
        Encoder::start(&cfg),
        Err(StreamError::InvalidConfig {
            field: "ai_label",
            ..
        })
    ));
}

#[test]
fn output_paths_with_tee_special_characters_work() {
    let dir = crate::testutil::tempdir().unwrap();
    let odd = dir.path().join("a b:c|d'e[f]");
    let cfg = config(
        (64, 36),
        (64, 36),
        Outputs::Live {
            hls_dir: odd.join("hls"),
            recording: odd.join("rec:1.mp4"),
            pushes: vec![],
        },
    );
    encode(&cfg, 1);
    assert!(odd.join("hls").join(HLS_PLAYLIST).is_file());
    assert!(odd.join("rec:1.mp4").metadata().unwrap().len() > 1000);
}

/// Encode speed, media seconds per wall second. Run with:
/// `cargo test --release --no-default-features --lib stream::tests::realtime_factor -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; prints figures"]
fn realtime_factor() {
    let dir = crate::testutil::tempdir().unwrap();
    for (frame, out) in [
        ((960, 540), (1280, 720)),
        ((640, 360), (640, 360)),
        ((960, 540), (640, 360)),
    ] {
        let cfg = config(
            frame,
            out,
            Outputs::File {
                path: dir.path().join(format!("bench-{}x{}.mp4", out.0, out.1)),
            },
        );
        // Pre-made frames so the figure is the encoder's, not the gradient generator's.
        let frames: Vec<Vec<u8>> = (0..60).map(|n| gradient(frame.0, frame.1, n)).collect();
        let audio: Vec<Vec<f32>> = (0..30).map(tone_for_frame).collect();
        let mut enc = Encoder::start(&cfg).unwrap();
        for n in 0..(10 * FPS as usize) {
            enc.push(&frames[n % 60], &audio[n % 30]).unwrap();
        }
        let stats = enc.finish().unwrap();
        println!(
            "{}x{} -> {}x{}: {:.1} s media in {:.2} s wall = {:.2}x realtime",
            frame.0,
            frame.1,
            out.0,
            out.1,
            stats.duration.secs(),
            stats.wall.as_secs_f64(),
            stats.realtime_factor()
        );
    }
}
