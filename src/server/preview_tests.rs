//! The preview page end to end: a real HLS stream written by the project's [`Encoder`] in
//! live mode, served by a real [`Server`], read back by ffprobe and played by Debian's
//! headless Chromium driven over the DevTools protocol (on a pipe: `--remote-debugging-pipe`,
//! NUL-separated JSON on the child's fds 3 and 4). Needs `ffmpeg` and `chromium`
//! (scripts/setup.sh installs both).
//!
//! Set `ANCHOR_PREVIEW_SHOT=/path/shot.png` to keep the screenshot.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::events::EventKind;
use crate::stream::{Encoder, Outputs, StreamConfig};
use crate::testutil::TempDir;

/// Safety net for each wait: a broken page fails the test instead of hanging it.
const WAIT: Duration = Duration::from_secs(30);
const LABEL: &str = "本直播由AI数字人主持 / AI-generated host";
const CHAT_TOKEN: &str = "chat-token-for-the-page";
const CONTROL_TOKEN: &str = "control-token-unused";
const W: u32 = 640;
const H: u32 = 360;

/// `secs` of a moving test picture with a tone, written by the live encoder to `DIR/live`.
fn hls_fixture(secs: u64) -> (TempDir, PathBuf) {
    let dir = crate::testutil::tempdir().unwrap();
    let hls = dir.path().join("live");
    let cfg = StreamConfig {
        frame_width: W,
        frame_height: H,
        out_width: W,
        out_height: H,
        fps: 30,
        outputs: Outputs::Live {
            hls_dir: hls.clone(),
            recording: dir.path().join("rec.mp4"),
            pushes: Vec::new(),
        },
        title: "preview test".into(),
        ai_label: LABEL.into(),
    };
    let mut enc = Encoder::start(&cfg).unwrap();
    let mut sample = 0u64;
    for n in 0..secs * 30 {
        let frame = picture(n);
        let len = enc.next_audio_len();
        let audio: Vec<f32> = (0..len as u64)
            .map(|i| {
                let t = (sample + i) as f32 / crate::media::SAMPLE_RATE as f32;
                0.2 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
            })
            .collect();
        sample += len as u64;
        enc.push(&frame, &audio).unwrap();
    }
    enc.finish().unwrap();
    (dir, hls)
}

/// Colour bars that scroll, with a white square that moves: never blank, always changing.
fn picture(n: u64) -> Vec<u8> {
    let mut f = vec![0u8; (W * H * 4) as usize];
    let bars: [[u8; 3]; 7] = [
        [235, 235, 235],
        [235, 235, 16],
        [16, 235, 235],
        [16, 235, 16],
        [235, 16, 235],
        [235, 16, 16],
        [16, 16, 235],
    ];
    let (bx, by) = ((n * 4) % (W as u64 - 60), 40 + (n * 2) % (H as u64 - 140));
    for y in 0..H as u64 {
        for x in 0..W as u64 {
            let i = ((y * W as u64 + x) * 4) as usize;
            let c = if (bx..bx + 60).contains(&x) && (by..by + 60).contains(&y) {
                [255, 255, 255]
            } else {
                let bar = ((x + n * 3) * 7 / W as u64) % 7;
                let shade = (y * 255 / H as u64) as u16;
                let b = bars[bar as usize];
                [
                    ((b[0] as u16 * (255 - shade / 2)) / 255) as u8,
                    ((b[1] as u16 * (255 - shade / 2)) / 255) as u8,
                    ((b[2] as u16 * (255 - shade / 2)) / 255) as u8,
                ]
            };
            f[i..i + 4].copy_from_slice(&[c[0], c[1], c[2], 255]);
        }
    }
    f
}

fn serve(hls: &Path, events: &Events, inbox: Option<crate::chat::Inbox>) -> Server {
    let mut state = AppState::new(events.clone());
    state.chat = inbox;
    state.auth = Auth {
        control: Some(CONTROL_TOKEN.into()),
        chat: Some(CHAT_TOKEN.into()),
    };
    state.preview = Preview {
        hls_dir: Some(hls.to_path_buf()),
        ai_label: LABEL.into(),
    };
    // As off loopback: the event stream and the state need the token, so the page's cards and
    // pop-ups below show that it sends it.
    state.guard_reads = true;
    Server::start_with(
        ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        state,
    )
    .unwrap()
}

#[test]
fn the_served_playlist_carries_the_ai_label_and_ffprobe_reads_it() {
    let (_dir, hls) = hls_fixture(4);
    let events = Events::new();
    let server = serve(&hls, &events, None);
    let url = format!("http://{}/live/index.m3u8", server.local_addr());
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(&url)
        .output()
        .expect("ffprobe runs (apt-get install ffmpeg)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "ffprobe: {stderr}"
    );
    let probe: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(probe["format"]["format_name"], "hls");
    let codecs: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap_or(""))
        .collect();
    assert!(
        codecs.contains(&"h264") && codecs.contains(&"aac"),
        "{codecs:?}"
    );

    let raw = std::fs::read_to_string(hls.join("index.m3u8")).unwrap();
    assert!(!raw.contains("EXT-X-DATERANGE"), "ffmpeg wrote none itself");
    let mut resp = ureq::get(&url).call().unwrap();
    assert_eq!(resp.status(), 200);
    let served = resp.body_mut().read_to_string().unwrap();
    let tag = served
        .lines()
        .find(|l| l.starts_with("#EXT-X-DATERANGE:"))
        .unwrap_or_else(|| panic!("no date range in:\n{served}"));
    assert!(tag.contains("CLASS=\"cn.ai-generated\""), "{tag}");
    assert!(tag.contains(&format!("X-AI-LABEL=\"{LABEL}\"")), "{tag}");
    assert!(tag.contains("X-AI-GENERATED=\"1\""), "{tag}");
    // The same segments, in the same order, as ffmpeg wrote them.
    let segs = |p: &str| -> Vec<String> {
        p.lines()
            .filter(|l| l.ends_with(".ts"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(segs(&served), segs(&raw));
    server.shutdown().unwrap();
}

/// Chromium driven over `--remote-debugging-pipe`.
struct Browser {
    child: Child,
    to: std::io::PipeWriter,
    from: Receiver<Value>,
    next_id: u64,
    session: Option<String>,
    log: PathBuf,
}

impl Browser {
    fn launch(profile: &Path) -> Browser {
        let program = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromium is not installed: sudo apt-get install chromium (scripts/setup.sh does it)");
        let (cmd_r, cmd_w) = std::io::pipe().unwrap();
        let (resp_r, resp_w) = std::io::pipe().unwrap();
        let (a, b) = (cmd_r.as_raw_fd(), resp_w.as_raw_fd());
        assert!(a > 2 && b > 2);
        let log = profile.join("chromium.log");
        let mut cmd = Command::new(program);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--mute-audio",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1280,800",
            "--remote-debugging-pipe",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
        // SAFETY: in the forked child before exec: only fcntl/dup2 on descriptors we hold open.
        // Both are first copied above 10 so that neither dup2 can clobber the other.
        unsafe {
            cmd.pre_exec(move || {
                let a2 = libc::fcntl(a, libc::F_DUPFD, 10);
                let b2 = libc::fcntl(b, libc::F_DUPFD, 10);
                if a2 < 0 || b2 < 0 || libc::dup2(a2, 3) < 0 || libc::dup2(b2, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop((cmd_r, resp_w));
        let (tx, from) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(resp_r);
            let mut buf = Vec::new();
            while reader.read_until(0, &mut buf).unwrap_or(0) > 0 {
                if buf.last() == Some(&0) {
                    buf.pop();
                }
                if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                    && tx.send(v).is_err()
                {
                    return;
                }
                buf.clear();
            }
        });
        Browser {
            child,
            to: cmd_w,
            from,
            next_id: 1,
            session: None,
            log,
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from.recv_timeout(left) {
                Ok(v) if v["id"] == json!(id) => {
                    assert!(
                        v.get("error").is_none(),
                        "{method}: {}\n{}",
                        v["error"],
                        self.log_tail()
                    );
                    return v["result"].clone();
                }
                Ok(_) => continue, // an event
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{method}: no answer in {WAIT:?}\n{}", self.log_tail())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{method}: chromium closed the pipe\n{}", self.log_tail())
                }
            }
        }
    }

    /// Opens `url` in a new tab and talks to that tab from now on.
    fn open(&mut self, url: &str) {
        let target = self.call("Target.createTarget", json!({"url": "about:blank"}));
        let attached = self.call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        self.session = attached["sessionId"].as_str().map(str::to_owned);
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}),
        );
        self.call("Page.enable", json!({}));
        self.call("Page.navigate", json!({ "url": url }));
    }

    /// The value of a JavaScript expression in the tab.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Waits until `expr` is true; panics with `what` and the page state after [`WAIT`].
    fn wait_for(&mut self, expr: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            // Until the page has loaded, the expression may throw: not yet.
            let guarded = format!(
                "(() => {{ try {{ return !!({expr}); }} catch (e) {{ return false; }} }})()"
            );
            if self.eval(&guarded) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let state = self.eval(
            "JSON.stringify({data: Object.assign({}, document.body.dataset), t: document.getElementById('video').currentTime, err: String(document.getElementById('video').error && document.getElementById('video').error.message)})",
        );
        panic!(
            "{what}: not within {WAIT:?}; page: {state}\n{}",
            self.log_tail()
        );
    }

    fn screenshot(&mut self) -> Vec<u8> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        base64(r["data"].as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.session = None;
        let id = self.next_id;
        let mut bytes = serde_json::to_vec(&json!({"id": id, "method": "Browser.close"})).unwrap();
        bytes.push(0);
        let _ = self.to.write_all(&bytes);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

/// Luma standard deviation and the number of distinct colours (in 4-bit-per-channel bins)
/// of a rectangle of a PNG, decoded by ffmpeg.
fn region_stats(png: &Path, x: u32, y: u32, w: u32, h: u32) -> (f64, usize) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(png)
        .args([
            "-vf",
            &format!("crop={w}:{h}:{x}:{y}"),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let px = out.stdout;
    assert_eq!(px.len(), (w * h * 3) as usize);
    let luma: Vec<f64> = px
        .chunks(3)
        .map(|p| 0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64)
        .collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let var = luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    let colours: std::collections::HashSet<(u8, u8, u8)> = px
        .chunks(3)
        .map(|p| (p[0] >> 4, p[1] >> 4, p[2] >> 4))
        .collect();
    (var.sqrt(), colours.len())
}

fn product(id: &str, name: &str, price: f64) -> EventKind {
    EventKind::ProductStarted {
        product: id.into(),
        name: name.into(),
        price: Some(price),
        currency: "CNY".into(),
        link: Some(format!("https://shop.example/{id}")),
    }
}

#[test]
fn the_preview_page_plays_the_live_hls_in_headless_chromium() {
    let (_fixture, hls) = hls_fixture(12);
    let events = Events::new();
    let inbox = crate::chat::Inbox::new();
    events.emit(0.0, EventKind::OnAir);
    // Before the page opens: a page opened late still shows the product on air.
    events.emit(0.5, product("rose-01", "玫瑰精华水", 59.0));
    let server = serve(&hls, &events, Some(inbox.clone()));
    let addr = server.local_addr();
    let dir = crate::testutil::tempdir().unwrap();
    let mut browser = Browser::launch(dir.path());
    browser.open(&format!("http://{addr}/?token={CHAT_TOKEN}"));

    // The player: hls.js, playing, time advancing, the picture decoded.
    browser.wait_for(
        "document.body.dataset.player === 'playing' && document.getElementById('video').currentTime > 2",
        "the video plays",
    );
    assert_eq!(
        browser.eval("document.body.dataset.engine"),
        json!(if has_hls_js() { "hls.js" } else { "native" })
    );
    assert_eq!(
        browser.eval("[document.getElementById('video').videoWidth, document.getElementById('video').videoHeight]"),
        json!([W, H])
    );
    if has_hls_js() {
        // The AI label reached the player through the playlist's EXT-X-DATERANGE.
        browser.wait_for(
            "document.body.dataset.hlsLabel !== undefined",
            "the HLS label",
        );
        assert_eq!(browser.eval("document.body.dataset.hlsLabel"), json!(LABEL));
    }
    assert_eq!(
        browser.eval("document.getElementById('ai-text').textContent"),
        json!(LABEL)
    );
    assert_eq!(browser.eval("document.body.dataset.air"), json!("live"));
    // The token left the address bar.
    assert_eq!(browser.eval("location.search"), json!(""));

    // The card of the product on air before the page opened (replayed by the event stream).
    browser.wait_for(
        "!document.getElementById('card').hidden && document.querySelector('#card .name').textContent === '玫瑰精华水'",
        "the product card from before the page opened",
    );
    assert_eq!(
        browser.eval("document.querySelector('#card .price').textContent"),
        json!("¥59.00")
    );

    // Live events: a new product, then its link push (3, 2, 1, then the link).
    events.emit(3.0, product("serum-02", "修护精华", 129.5));
    browser.wait_for(
        "document.querySelector('#card .name').textContent === '修护精华'",
        "the new product card",
    );
    assert_eq!(
        browser.eval("document.querySelector('#card .price').textContent"),
        json!("¥129.50")
    );
    events.emit(
        4.0,
        EventKind::LinkPushed {
            product: "serum-02".into(),
            link: "https://shop.example/serum-02?from=live".into(),
        },
    );
    browser.wait_for(
        "document.getElementById('pop').dataset.state === 'counting'",
        "the link pop-up counts down",
    );
    browser.wait_for(
        "document.getElementById('pop').dataset.state === 'shown'",
        "the link pop-up shows the link",
    );
    assert_eq!(
        browser.eval("document.querySelector('#pop a').href"),
        json!("https://shop.example/serum-02?from=live")
    );
    assert!(
        browser
            .eval("document.querySelector('#pop .title').textContent")
            .as_str()
            .unwrap()
            .contains("修护精华")
    );

    // The chat box posts with the token the page was opened with.
    browser.eval(
        "document.getElementById('name').value = '小美'; document.getElementById('text').value = '包邮吗？'; document.querySelector('#chat button').click(); true",
    );
    browser.wait_for(
        "document.getElementById('chat-status').textContent === 'sent'",
        "the chat message is sent",
    );
    let m = inbox
        .receiver()
        .try_recv()
        .expect("the page's chat message arrived");
    assert_eq!(
        (m.name.as_str(), m.text.as_str(), m.platform.as_str()),
        ("小美", "包邮吗？", "preview")
    );

    // The screenshot: the video area is a picture, not a blank box.
    let rect = browser.eval(
        "(() => { const r = document.getElementById('video').getBoundingClientRect(); return [r.x, r.y, r.width, r.height].map(Math.round); })()",
    );
    let r: Vec<u32> = rect
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let png = browser.screenshot();
    assert_eq!(&png[1..4], b"PNG");
    let shot = dir.path().join("preview.png");
    std::fs::write(&shot, &png).unwrap();
    if let Some(keep) = std::env::var_os("ANCHOR_PREVIEW_SHOT") {
        std::fs::copy(&shot, &keep).unwrap();
    }
    // A band of the video clear of the overlays (badges at the top, card and pop-up at the
    // bottom, the unmute button in the middle).
    let (x, y, w, h) = (
        r[0] + r[2] / 5,
        r[1] + r[3] * 15 / 100,
        r[2] * 3 / 5,
        r[3] / 4,
    );
    let (std_dev, colours) = region_stats(&shot, x, y, w, h);
    assert!(
        std_dev > 20.0 && colours > 20,
        "video area {r:?} looks blank: luma std dev {std_dev:.1}, {colours} colours"
    );
    eprintln!(
        "preview screenshot {} ({} bytes): video {r:?}, luma std dev {std_dev:.1}, {colours} colours",
        shot.display(),
        png.len()
    );
    // A blank page for comparison: the same measure on the page's own background.
    let (bg_dev, _) = region_stats(&shot, 0, r[1] + r[3] + 2, 12, 12.min(800 - r[1] - r[3] - 2));
    assert!(
        bg_dev < 1.0,
        "the measure sees a flat area as flat ({bg_dev})"
    );
    drop(browser);
    server.shutdown().unwrap();
}
