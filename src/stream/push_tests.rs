//! Push outputs against a real RTMP server: nginx with Debian's libnginx-mod-rtmp, started from
//! a private config under the test's temp dir, killed and restarted; the stream is read back
//! with ffprobe. Assertions are on counts, order and media time only.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::events::{Event, EventKind, Events};
use crate::media::{MediaTime, SAMPLE_RATE};
use crate::testutil::ffprobe_json;

const FPS: u32 = 30;
const W: u32 = 160;
const H: u32 = 90;
const LABEL: &str = "AI-generated virtual host / 本直播由AI数字人主持";
/// The test server accepts only stream keys that start with this.
const KEY_PREFIX: &str = "sk-live-";
const GOOD_KEY: &str = "sk-live-7f3a9c";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// nginx with the RTMP module on 127.0.0.1: app `live`, publishing allowed only with
/// a key starting with [`KEY_PREFIX`] (checked by `on_publish` against nginx's own http server), `meta copy` so the
/// publisher's onMetaData (AI label) reaches players, `idle_streams off` so players are
/// disconnected when the publisher leaves (ffprobe then ends and flushes what it read).
struct Nginx {
    dir: PathBuf,
    rtmp_port: u16,
    child: Option<Child>,
}

impl Nginx {
    fn start(dir: &Path) -> Nginx {
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let (rtmp_port, http_port) = (free_port(), free_port());
        let module = ["/usr/lib/nginx/modules/ngx_rtmp_module.so"]
            .into_iter()
            .find(|m| Path::new(m).is_file())
            .expect("libnginx-mod-rtmp is not installed: run scripts/setup.sh (apt-get install nginx libnginx-mod-rtmp)");
        let d = dir.display();
        let conf = format!(
            r#"load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log info;
events {{ worker_connections 64; }}
rtmp {{
  server {{
    listen 127.0.0.1:{rtmp_port};
    application live {{
      live on;
      meta copy;
      wait_key on;
      wait_video on;
      idle_streams off;
      notify_method get;
      on_publish http://127.0.0.1:{http_port}/auth;
    }}
  }}
}}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{http_port};
    location /auth {{
      if ($arg_name ~ "^{KEY_PREFIX}") {{ return 204; }}
      return 403;
    }}
  }}
}}
"#
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let mut n = Nginx {
            dir: dir.to_path_buf(),
            rtmp_port,
            child: None,
        };
        n.restart();
        n
    }

    /// Starts nginx (again) and waits until it accepts connections.
    fn restart(&mut self) {
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx is not installed: run scripts/setup.sh (apt-get install nginx libnginx-mod-rtmp)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.rtmp_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start; see {}",
                self.dir.join("logs/error.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills nginx as a crash would (SIGKILL).
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.rtmp_port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One video packet read back: pts in ms, keyframe flag.
type Packet = (i64, bool);

/// `ffprobe -show_packets` on a live RTMP stream, collecting the video packets as they come.
struct Reader {
    child: Child,
    packets: Arc<Mutex<Vec<Packet>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    fn start(url: &str) -> Reader {
        let mut child = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "packet=pts,flags",
                "-of",
                "csv=p=0",
                url,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffprobe runs");
        let out = child.stdout.take().unwrap();
        let packets = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let packets = Arc::clone(&packets);
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let mut parts = line.split(',');
                    if let (Some(pts), Some(flags)) = (parts.next(), parts.next())
                        && let Ok(pts) = pts.parse::<i64>()
                    {
                        packets.lock().unwrap().push((pts, flags.starts_with('K')));
                    }
                }
            })
        };
        Reader {
            child,
            packets,
            thread: Some(thread),
        }
    }

    /// Waits (bounded) for ffprobe to end on its own, then returns what it read.
    fn finish(mut self) -> Vec<Packet> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.packets.lock().unwrap().clone()
    }
}

fn frame(n: u64) -> Vec<u8> {
    let mut v = vec![0u8; (W * H * 4) as usize];
    for (i, px) in v.chunks_exact_mut(4).enumerate() {
        let x = (i as u32 % W) as u64;
        px.copy_from_slice(&[(x * 255 / u64::from(W)) as u8, (n * 7 % 256) as u8, 90, 255]);
    }
    v
}

fn audio(n: u64) -> Vec<f32> {
    let (a, b) = (
        MediaTime::of_frame(n, FPS).0,
        MediaTime::of_frame(n + 1, FPS).0,
    );
    (a..b)
        .map(|i| {
            (0.3 * (i as f64 * 440.0 * std::f64::consts::TAU / f64::from(SAMPLE_RATE)).sin()) as f32
        })
        .collect()
}

fn live_config(dir: &Path, pushes: Vec<PushUrl>) -> StreamConfig {
    StreamConfig {
        frame_width: W,
        frame_height: H,
        out_width: W,
        out_height: H,
        fps: FPS,
        outputs: Outputs::Live {
            hls_dir: dir.join("hls"),
            recording: dir.join("rec.mp4"),
            pushes,
        },
        title: "push test".into(),
        ai_label: LABEL.into(),
    }
}

/// Every event so far (the bus keeps the recent ones).
fn events_of(events: &Events, output: &str) -> Vec<EventKind> {
    events
        .recent()
        .into_iter()
        .map(|e: Event| e.kind)
        .filter(|k| match k {
            EventKind::OutputUp { output: o } | EventKind::OutputDown { output: o, .. } => {
                o == output
            }
            _ => false,
        })
        .collect()
}

fn ups(events: &Events, output: &str) -> usize {
    events_of(events, output)
        .iter()
        .filter(|k| matches!(k, EventKind::OutputUp { .. }))
        .count()
}

/// Pushes frames paced to the wall clock (the relays and the server see a live stream),
/// calling `at(frame)` before each frame so the test can inject faults at media times.
fn push_live(enc: &mut Encoder, frames: u64, mut at: impl FnMut(u64)) {
    let start = Instant::now();
    for n in 0..frames {
        at(n);
        let due = start + Duration::from_secs_f64(n as f64 / f64::from(FPS));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        enc.push(&frame(n), &audio(n)).expect("push");
    }
}

/// Waits (bounded, in wall time) until `cond` holds; the assertions that follow say what failed.
fn wait_for(mut cond: impl FnMut() -> bool, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_monotonic(packets: &[Packet], what: &str) {
    for w in packets.windows(2) {
        assert!(
            w[1].0 > w[0].0,
            "{what}: pts goes from {} to {}",
            w[0].0,
            w[1].0
        );
    }
}

/// The largest step between consecutive packets, ms of media time.
fn largest_gap(packets: &[Packet]) -> i64 {
    packets
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .max()
        .unwrap_or(0)
}

#[test]
fn pushes_survive_a_server_restart_and_bad_outputs_never_stop_the_others() {
    let dir = crate::testutil::tempdir().unwrap();
    let mut a = Nginx::start(&dir.path().join("nginx-a"));
    let b = Nginx::start(&dir.path().join("nginx-b"));
    let dead_port = free_port();
    let urls = [
        a.url(GOOD_KEY),
        b.url(GOOD_KEY),
        b.url("wrong-key-42"),
        format!("rtmp://127.0.0.1:{dead_port}/live/{GOOD_KEY}"),
    ];
    let pushes: Vec<PushUrl> = urls.iter().map(|u| PushUrl::parse(u).unwrap()).collect();
    let cfg = live_config(dir.path(), pushes);
    let events = Events::new();
    let mut enc = Encoder::start_with_events(&cfg, &EncoderOptions::default(), &events).unwrap();
    let names: Vec<String> = enc.outputs().into_iter().map(|o| o.name).collect();
    assert_eq!(
        names[2],
        format!("#3 rtmp://127.0.0.1:{}/live/****", b.rtmp_port)
    );

    let total = u64::from(16 * FPS);
    let (kill_at, restart_at) = (u64::from(5 * FPS), u64::from(7 * FPS));
    let mut readers: Vec<(&str, Reader)> = Vec::new();
    let mut label_probe: Option<Child> = None;
    push_live(&mut enc, total, |n| {
        // Once both good outputs are up, read them back (and the metadata of B once).
        if readers.is_empty()
            && n < kill_at
            && ups(&events, &names[0]) == 1
            && ups(&events, &names[1]) == 1
        {
            readers.push(("a1", Reader::start(&urls[0])));
            readers.push(("b", Reader::start(&urls[1])));
            label_probe = Some(
                Command::new("ffprobe")
                    .args(["-v", "error", "-show_format", "-of", "json", &urls[1]])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            );
        }
        if n == kill_at {
            a.kill();
        }
        if n == restart_at {
            a.restart();
        }
        if n > restart_at && readers.len() == 2 && ups(&events, &names[0]) == 2 {
            readers.push(("a2", Reader::start(&urls[0])));
        }
    });
    let stats = enc.finish().unwrap();
    let outputs = enc_outputs_after(&stats, &events);
    let label_probe: serde_json::Value = label_probe
        .map(|mut c| {
            // It ends after probing (a few seconds of media); kill it if it did not.
            wait_for(|| c.try_wait().is_ok_and(|s| s.is_some()), 10);
            let _ = c.kill();
            let out = c.wait_with_output().unwrap();
            serde_json::from_slice(&out.stdout).unwrap_or_default()
        })
        .unwrap_or_default();
    let mut read: std::collections::HashMap<&str, Vec<Packet>> =
        readers.into_iter().map(|(k, r)| (k, r.finish())).collect();
    let (a1, a2, bb) = (
        read.remove("a1").unwrap_or_default(),
        read.remove("a2").unwrap_or_default(),
        read.remove("b").unwrap_or_default(),
    );

    // The restarted server's output went down, was retried and came back.
    let a_events = events_of(&events, &names[0]);
    assert!(
        matches!(
            a_events.as_slice(),
            [
                EventKind::OutputUp { .. },
                EventKind::OutputDown {
                    retry_in_s: Some(_),
                    ..
                },
                ..,
                EventKind::OutputUp { .. }
            ]
        ),
        "events of A: {a_events:?}"
    );
    // The pulled stream resumed, and its timestamps continue where it stopped (media time).
    assert!(
        a1.len() > 30 && a2.len() > 30,
        "read back from A: {} then {} video packets",
        a1.len(),
        a2.len()
    );
    assert!(a2[0].1, "A resumes on a keyframe");
    assert_monotonic(&a1, "A before the restart");
    assert_monotonic(&a2, "A after the restart");
    assert!(
        a2[0].0 > a1[a1.len() - 1].0,
        "A's timestamps went back: {} before, {} after the restart",
        a1[a1.len() - 1].0,
        a2[0].0
    );
    // What the relay sent: the last tag before the failure, the first after the reconnect (a
    // keyframe: the GOP kept while A was down).
    let a_status = &outputs[0];
    let (failed, resumed) = (a_status.failed_at_ms[0], a_status.resumed_at_ms[1]);
    eprintln!(
        "A killed at {} ms, restarted at {} ms: sent up to {failed:?} ms, resumed at {resumed} ms",
        kill_at * 1000 / u64::from(FPS),
        restart_at * 1000 / u64::from(FPS),
    );
    assert!(failed.is_some_and(|f| resumed > f), "{a_status:?}");

    // B never went down and has no hole while A was down.
    assert_eq!(
        events_of(&events, &names[1]).len(),
        1,
        "{:?}",
        events_of(&events, &names[1])
    );
    assert_monotonic(&bb, "B");
    assert!(
        bb[0].0 < 5000 && bb[bb.len() - 1].0 > 15_000,
        "B covers {}..{} ms",
        bb[0].0,
        bb[bb.len() - 1].0
    );
    assert!(
        largest_gap(&bb) <= 100,
        "B has a {} ms hole",
        largest_gap(&bb)
    );
    // The AI label travels in onMetaData to the RTMP server's players.
    assert_eq!(
        label_probe["format"]["tags"]["ai_label"], LABEL,
        "metadata read from the server: {label_probe}"
    );

    // Wrong key and unreachable server: down again and again, never up, backoff growing.
    for (name, want) in [(&names[2], ""), (&names[3], "Connection refused")] {
        let evs = events_of(&events, name);
        let waits: Vec<f64> = evs
            .iter()
            .filter_map(|k| match k {
                EventKind::OutputDown {
                    retry_in_s, error, ..
                } => {
                    assert!(error.contains(want), "{name}: {error}");
                    *retry_in_s
                }
                _ => None,
            })
            .collect();
        assert!(waits.len() >= 3, "{name}: {evs:?}");
        assert_eq!(ups(&events, name), 0, "{name}: {evs:?}");
        assert!(
            waits[1] >= waits[0] && waits[2] >= waits[1],
            "{name}: waits {waits:?}"
        );
    }
    // No stream key in any event.
    for e in events.recent() {
        let json = e.to_json();
        assert!(
            !json.contains(GOOD_KEY) && !json.contains("wrong-key-42"),
            "{json}"
        );
    }
    assert_eq!(outputs.len(), 4);

    // The recording has every frame: no gap while outputs were failing.
    let probe = ffprobe_json(
        &["-count_packets", "-show_streams", "-show_format"],
        &dir.path().join("rec.mp4"),
    );
    let video = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .unwrap()
        .clone();
    assert_eq!(video["nb_read_packets"], total.to_string().as_str());
    let d: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((d - 16.0).abs() < 0.1, "recording lasts {d} s");
    assert_eq!(stats.frames, total);
}

/// An SRT listener (ffmpeg, as an SRT ingest) recording what it receives to an MPEG-TS file.
fn srt_listener(port: u16, out: &Path) -> Child {
    Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        // Probe 1 s of stream, not 5: the file starts before the ingest is killed.
        .args(["-analyzeduration", "1000000", "-i"])
        .arg(format!("srt://127.0.0.1:{port}?mode=listener"))
        // -copyts: the file keeps the timestamps the ingest received.
        .args([
            "-c",
            "copy",
            "-copyts",
            "-flush_packets",
            "1",
            "-f",
            "mpegts",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg (install it with scripts/setup.sh)")
}

/// (pts ms, keyframe) of the video packets of a transport stream file.
fn ts_video(path: &Path) -> Vec<Packet> {
    let v = ffprobe_json(
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "packet=pts_time,flags",
        ],
        path,
    );
    v["packets"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|p| {
                    let t: f64 = p["pts_time"].as_str()?.parse().ok()?;
                    let key = p["flags"].as_str().is_some_and(|f| f.starts_with('K'));
                    Some(((t * 1000.0).round() as i64, key))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// SRT push: the ingest (an ffmpeg SRT listener) gets H.264 + AAC in MPEG-TS; it dies (SIGKILL)
/// and another listener takes the port: the output goes down, is retried, and the new ingest
/// gets a stream that starts on a keyframe with timestamps after the ones before.
#[test]
fn srt_push_reaches_the_ingest_and_survives_its_restart() {
    let dir = crate::testutil::tempdir().unwrap();
    let port = free_port();
    let (first, second) = (dir.path().join("srt-1.ts"), dir.path().join("srt-2.ts"));
    let mut ingest = srt_listener(port, &first);
    std::thread::sleep(Duration::from_millis(300));
    let url = PushUrl::parse(&format!("srt://127.0.0.1:{port}?latency=120000")).unwrap();
    let cfg = live_config(dir.path(), vec![url]);
    let events = Events::new();
    let mut enc = Encoder::start_with_events(&cfg, &EncoderOptions::default(), &events).unwrap();
    let name = enc.outputs()[0].name.clone();
    let (kill_at, restart_at, total) =
        (u64::from(5 * FPS), u64::from(6 * FPS), u64::from(19 * FPS));
    push_live(&mut enc, total, |n| {
        if n == kill_at {
            let _ = ingest.kill();
            let _ = ingest.wait();
        }
        if n == restart_at {
            ingest = srt_listener(port, &second);
        }
    });
    enc.finish().unwrap();
    // The relay's end closes the connection: the listener flushes its file and exits.
    wait_for(|| ingest.try_wait().is_ok_and(|s| s.is_some()), 10);
    let _ = ingest.kill();
    let _ = ingest.wait();

    let kinds = events_of(&events, &name);
    assert!(
        matches!(
            kinds.as_slice(),
            [
                EventKind::OutputUp { .. },
                EventKind::OutputDown { .. },
                ..,
                EventKind::OutputUp { .. }
            ]
        ),
        "events of the SRT output: {kinds:?}"
    );
    let streams = ffprobe_json(&["-show_entries", "stream=codec_name"], &second);
    let codecs: Vec<&str> = streams["streams"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["codec_name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        codecs.contains(&"h264") && codecs.contains(&"aac"),
        "{codecs:?}"
    );
    let (a, b) = (ts_video(&first), ts_video(&second));
    assert!(
        a.len() > 2 * FPS as usize && b.len() > 2 * FPS as usize,
        "video packets: {} before the restart, {} after",
        a.len(),
        b.len()
    );
    eprintln!(
        "SRT ingest killed at {} ms, back at {} ms: {} ms of media between the last packet before and the first after",
        kill_at * 1000 / u64::from(FPS),
        restart_at * 1000 / u64::from(FPS),
        b[0].0 - a[a.len() - 1].0
    );
    assert!(b[0].1, "the new ingest's stream starts on a keyframe");
    assert_monotonic(&a, "SRT before the restart");
    assert_monotonic(&b, "SRT after the restart");
    assert!(
        b[0].0 > a[a.len() - 1].0,
        "timestamps went back: {} before, {} after the restart",
        a[a.len() - 1].0,
        b[0].0
    );
    assert!(
        largest_gap(&b) <= 1000 / i64::from(FPS) + 1,
        "a hole of {} ms after the restart",
        largest_gap(&b)
    );
}

/// The final status of the outputs, with a line per output for the test log.
fn enc_outputs_after(stats: &StreamStats, events: &Events) -> Vec<OutputStatus> {
    for e in events.recent() {
        eprintln!("event {}", e.to_json());
    }
    stats.outputs.clone()
}

#[test]
fn a_full_disk_stops_only_the_recording_with_an_alarm_and_it_continues_in_parts() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::testutil::tempdir().unwrap();
    // ffmpeg under a 400 kB file-size limit (the kernel refuses larger writes with EFBIG, as
    // a full disk refuses with ENOSPC): the recording outgrows it, HLS segments do not.
    let wrapper = dir.path().join("ffmpeg-limited");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nulimit -f 800\ntrap '' XFSZ\nexec ffmpeg \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = EncoderOptions {
        ffmpeg: wrapper,
        ..EncoderOptions::default()
    };
    let cfg = live_config(dir.path(), vec![]);
    let events = Events::new();
    let mut enc = Encoder::start_with_events(&cfg, &opts, &events).unwrap();
    let total = u64::from(20 * FPS);
    for n in 0..total {
        enc.push(&frame(n), &audio(n)).unwrap();
    }
    let stats = enc
        .finish()
        .expect("the encoder goes on without its recording");
    assert_eq!(stats.frames, total);
    let alarm = events
        .recent()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::RecordingFailed { path, error } => Some((e.pts, path, error)),
            _ => None,
        })
        .expect("a recording_failed event");
    assert!(
        alarm.1.ends_with("rec.mp4") && alarm.2.contains("File too large"),
        "{alarm:?}"
    );
    // The preview went on to the end: its newest segment is one of the last ones.
    let playlist = std::fs::read_to_string(dir.path().join("hls").join(HLS_PLAYLIST)).unwrap();
    let last = playlist.lines().rfind(|l| l.ends_with(".ts")).unwrap();
    let number: u32 = last
        .trim_start_matches("seg_")
        .trim_end_matches(".ts")
        .parse()
        .unwrap();
    assert!(number >= 8, "HLS stopped at {last}:\n{playlist}");
    // What was recorded before the disk filled up still plays.
    let d: f64 = ffprobe_json(&["-show_format"], &dir.path().join("rec.mp4"))["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(d > 1.0 && d < 20.0, "recording lasts {d} s");
    // The recording goes on in part 2 (from the GOP on air when it stopped), which plays and
    // starts on a keyframe at 0; the relay writing it was up.
    let part2 = dir.path().join("rec.part2.mp4");
    let v = ffprobe_json(
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "packet=pts_time,flags",
        ],
        &part2,
    );
    let packets = v["packets"].as_array().expect("video packets in part 2");
    assert!(
        packets.len() > 30,
        "part 2 has {} video packets",
        packets.len()
    );
    assert!(
        packets[0]["flags"]
            .as_str()
            .is_some_and(|f| f.starts_with('K')),
        "{}",
        packets[0]
    );
    eprintln!(
        "recording stopped after {d:.2} s (alarm at {:.2} s); part 2 has {} frames",
        alarm.0,
        packets.len()
    );
    assert!(
        events
            .recent()
            .iter()
            .any(|e| matches!(&e.kind, EventKind::OutputUp { output } if output == "recording")),
        "no output_up for the recording's continuation"
    );
}

/// Reconnect cost and encoder speed with pushes. Run with:
/// `cargo test --release --no-default-features --lib stream::push_tests::push_bench -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; prints figures"]
fn push_bench() {
    let dir = crate::testutil::tempdir().unwrap();
    let mut server = Nginx::start(&dir.path().join("nginx"));
    // Encoder speed (960x540 frames scaled to 1280x720, 10 s, unpaced) with 0, 1, 3 pushes.
    let (fw, fh) = (960u32, 540u32);
    let frames: Vec<Vec<u8>> = (0..30)
        .map(|n| {
            let mut v = vec![0u8; (fw * fh * 4) as usize];
            for (i, px) in v.chunks_exact_mut(4).enumerate() {
                let (x, y) = (i as u32 % fw, i as u32 / fw);
                px.copy_from_slice(&[
                    (x * 255 / fw) as u8,
                    (y * 255 / fh) as u8,
                    (n * 8) as u8,
                    255,
                ]);
            }
            v
        })
        .collect();
    for pushes in [0usize, 1, 3] {
        let urls: Vec<PushUrl> = (0..pushes)
            .map(|i| PushUrl::parse(&server.url(&format!("{KEY_PREFIX}bench{i}"))).unwrap())
            .collect();
        let mut cfg = live_config(&dir.path().join(format!("rt{pushes}")), urls);
        (
            cfg.frame_width,
            cfg.frame_height,
            cfg.out_width,
            cfg.out_height,
        ) = (fw, fh, 1280, 720);
        let events = Events::new();
        let mut enc =
            Encoder::start_with_events(&cfg, &EncoderOptions::default(), &events).unwrap();
        for n in 0..u64::from(10 * FPS) {
            enc.push(&frames[(n % 30) as usize], &audio(n)).unwrap();
        }
        let stats = enc.finish().unwrap();
        let sent: Vec<String> = stats
            .outputs
            .iter()
            .map(|o| {
                format!(
                    "up {} dropped {} last {:?} ms",
                    o.connects, o.dropped_tags, o.last_ts_ms
                )
            })
            .collect();
        println!(
            "960x540 -> 1280x720, {pushes} pushes: {:.2}x realtime ({:.1} s media in {:.2} s); {sent:?}",
            stats.realtime_factor(),
            stats.duration.secs(),
            stats.wall.as_secs_f64()
        );
    }

    // Reconnect after a server restart, paced live at 640x360 with one push.
    let url = PushUrl::parse(&server.url(&format!("{KEY_PREFIX}reconnect"))).unwrap();
    let mut cfg = live_config(&dir.path().join("rc"), vec![url.clone()]);
    (
        cfg.frame_width,
        cfg.frame_height,
        cfg.out_width,
        cfg.out_height,
    ) = (W, H, 640, 360);
    let events = Events::new();
    let mut enc = Encoder::start_with_events(&cfg, &EncoderOptions::default(), &events).unwrap();
    let mut restarted = None;
    let mut up_again = None;
    push_live(&mut enc, u64::from(14 * FPS), |n| {
        if n == u64::from(4 * FPS) {
            server.kill();
            server.restart();
            restarted = Some(Instant::now());
        }
        if restarted.is_some()
            && up_again.is_none()
            && ups(&events, &format!("#1 {}", url.redacted())) == 2
        {
            up_again = restarted.map(|t| t.elapsed());
        }
    });
    let stats = enc.finish().unwrap();
    let o = &stats.outputs[0];
    let lost = match (o.failed_at_ms.first(), o.resumed_at_ms.get(1)) {
        (Some(Some(failed)), Some(resumed)) => f64::from(resumed - failed) / 1000.0,
        _ => f64::NAN,
    };
    println!(
        "server restart: back up {:?} (wall) after the restart; media lost on that output {lost:.2} s (last tag before {:?} ms, resumed at {:?} ms); failures {}, connects {}",
        up_again, o.failed_at_ms, o.resumed_at_ms, o.failures, o.connects
    );
}
