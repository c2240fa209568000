//! The decoding ffmpeg, its supervisor and reader threads, and the operator's handle.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{
    AUDIO_BACKLOG, AUDIO_BUFFER, FRAME_BUFFER, HostConfig, HostError, HostSource, LISTEN_RESTART,
    PULL_BACKOFF_CAP, PULL_BACKOFF_START, PULL_HEALTHY,
};
use crate::media::SAMPLE_RATE;

/// The child's descriptor that carries the decoded audio.
const AUDIO_FD: i32 = 3;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data behind the locks: keep going after a panic elsewhere.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the host input is doing, for operators (and the control endpoint).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HostStatus {
    /// A feed is connected and decoding.
    pub connected: bool,
    /// Decoded frames so far (all sessions).
    pub frames: u64,
    /// Feeds accepted or pulled so far.
    pub sessions: u64,
    /// Whether the current (or last) feed has audio; `None` before the first feed.
    pub has_audio: Option<bool>,
    /// The operator's override (see [`HostControl::set_operator`]).
    pub operator: Option<bool>,
    /// The last decoder failure, if any (ffmpeg's last log line).
    pub last_error: Option<String>,
}

/// Thread-safe handle on the host input: the operator's override and the status. Cheap to
/// clone; create it before the show (the HTTP server gets a clone).
#[derive(Debug, Clone, Default)]
pub struct HostControl {
    status: Arc<Mutex<HostStatus>>,
}

impl HostControl {
    pub fn new() -> HostControl {
        HostControl::default()
    }

    /// `Some(false)`: the avatar has the show whatever the feed does; `Some(true)`: the host has
    /// it whenever frames arrive (no stability wait, no takeover on a dropped feed); `None`:
    /// follow the feed.
    pub fn set_operator(&self, say: Option<bool>) {
        let mut s = lock(&self.status);
        if s.operator != say {
            tracing::info!(operator = ?say, "host: operator override");
        }
        s.operator = say;
    }

    pub fn operator(&self) -> Option<bool> {
        lock(&self.status).operator
    }

    pub fn status(&self) -> HostStatus {
        lock(&self.status).clone()
    }

    fn update(&self, f: impl FnOnce(&mut HostStatus)) {
        f(&mut lock(&self.status));
    }
}

/// Buffers between the reader threads and the frame loop.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    frames: Mutex<VecDeque<Vec<u8>>>,
    audio: Mutex<VecDeque<f32>>,
}

/// The running host input (see the module doc). Dropping it stops the decoder.
#[derive(Debug)]
pub struct HostInput {
    shared: Arc<Shared>,
    control: HostControl,
    supervisor: Option<JoinHandle<()>>,
}

impl HostInput {
    /// Starts listening for (or pulling) the feed. Fails only when the configuration is
    /// unusable or ffmpeg is missing; a feed that is not there yet is waited for.
    pub fn start(cfg: HostConfig, control: HostControl) -> Result<HostInput, HostError> {
        if cfg.width < 64
            || cfg.height < 64
            || !cfg.width.is_multiple_of(2)
            || !cfg.height.is_multiple_of(2)
            || !(1..=120).contains(&cfg.fps)
        {
            return Err(HostError::InvalidFormat {
                width: cfg.width,
                height: cfg.height,
                fps: cfg.fps,
            });
        }
        // Fail early and clearly when ffmpeg is missing.
        match Command::new(&cfg.ffmpeg)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(HostError::FfmpegNotFound {
                    program: cfg.ffmpeg.clone(),
                });
            }
            Err(e) => return Err(HostError::Io(e)),
            Ok(_) => {}
        }
        let shared = Arc::new(Shared::default());
        let supervisor = {
            let shared = shared.clone();
            let control = control.clone();
            std::thread::Builder::new()
                .name("anchor-host".into())
                .spawn(move || supervise(&cfg, &shared, &control))?
        };
        Ok(HostInput {
            shared,
            control,
            supervisor: Some(supervisor),
        })
    }

    /// The next decoded frame (RGBA8, the configured size), or `None` when no new frame arrived
    /// since the last call.
    pub fn next_frame(&self) -> Option<Vec<u8>> {
        lock(&self.shared.frames).pop_front()
    }

    /// Exactly `n` samples of host audio (mono f32, 48 kHz), padded with silence when the feed
    /// has none (or not enough yet). Audio older than [`AUDIO_BACKLOG`] beyond `n` is dropped
    /// first, so the host's sound stays with its picture.
    pub fn take_audio(&self, n: usize) -> Vec<f32> {
        let backlog = (AUDIO_BACKLOG.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        let mut out: Vec<f32> = {
            let mut q = lock(&self.shared.audio);
            let excess = q.len().saturating_sub(n + backlog);
            q.drain(..excess);
            let k = n.min(q.len());
            q.drain(..k).collect()
        };
        out.resize(n, 0.0);
        out
    }

    pub fn control(&self) -> &HostControl {
        &self.control
    }
}

impl Drop for HostInput {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.supervisor.take() {
            let _ = h.join();
        }
    }
}

/// The ffmpeg arguments that decode `source` to the show's format.
fn ffmpeg_args(cfg: &HostConfig) -> Vec<OsString> {
    let (w, h, fps) = (cfg.width, cfg.height, cfg.fps);
    let mut a: Vec<String> = [
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "info",
        "-fflags",
        "nobuffer",
        "-analyzeduration",
        "1000000",
        "-probesize",
        "1000000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let url = match &cfg.source {
        HostSource::Listen(url) if url.to_ascii_lowercase().starts_with("srt://") => {
            if url.contains("mode=listener") {
                url.clone()
            } else if url.contains('?') {
                format!("{url}&mode=listener")
            } else {
                format!("{url}?mode=listener")
            }
        }
        HostSource::Listen(url) => {
            a.extend(["-listen".into(), "1".into()]);
            url.clone()
        }
        HostSource::Pull(url) => {
            if url.contains("://") && !url.starts_with("file:") {
                a.extend(["-rw_timeout".into(), "5000000".into()]);
            } else {
                // A file plays at its own pace, like a live feed.
                a.push("-re".into());
            }
            url.clone()
        }
    };
    a.extend(["-i".into(), url]);
    let vf = format!(
        "scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:black,setsar=1,fps={fps},format=rgba"
    );
    for s in [
        "-map",
        "0:v:0",
        "-map",
        "0:a:0?",
        "-vf",
        &vf,
        "-af",
        "aresample=48000",
        "-ac",
        "1",
        "-ar",
        "48000",
        "-c:v",
        "rawvideo",
        "-c:a",
        "pcm_f32le",
        // A feed without audio: the audio side has no stream, fails to open and is ignored;
        // the frame loop hears silence.
        "-f",
        "tee",
        "[select=v:f=rawvideo]pipe:1|[select=a:f=f32le:onfail=ignore]pipe:3",
    ] {
        a.push(s.to_owned());
    }
    a.into_iter().map(OsString::from).collect()
}

/// Runs the decoder again and again until stopped.
fn supervise(cfg: &HostConfig, shared: &Shared, control: &HostControl) {
    let listen = matches!(cfg.source, HostSource::Listen(_));
    let frame_bytes = (cfg.width * cfg.height * 4) as usize;
    let mut backoff = PULL_BACKOFF_START;
    tracing::info!(
        url = cfg.source.url(),
        listen,
        "host input: waiting for the feed"
    );
    while !shared.stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let frames_before = control.status().frames;
        match session(cfg, shared, control, frame_bytes) {
            Ok(()) => {}
            Err(e) => {
                tracing::error!("host input: cannot run the decoder: {e}");
                control.update(|s| s.last_error = Some(e.to_string()));
            }
        }
        lock(&shared.frames).clear();
        lock(&shared.audio).clear();
        let got_frames = control.status().frames > frames_before;
        control.update(|s| s.connected = false);
        if got_frames {
            tracing::warn!(url = cfg.source.url(), "host input: the feed ended");
        }
        let wait = if listen {
            LISTEN_RESTART
        } else {
            if started.elapsed() >= PULL_HEALTHY {
                backoff = PULL_BACKOFF_START;
            }
            let w = backoff;
            backoff = (backoff * 2).min(PULL_BACKOFF_CAP);
            let why = control.status().last_error.unwrap_or_default();
            tracing::info!(
                "host input: pulling {} again in {w:?} (last: {why})",
                cfg.source.url()
            );
            w
        };
        sleep_unless_stopped(shared, wait);
    }
}

fn sleep_unless_stopped(shared: &Shared, d: Duration) {
    let end = Instant::now() + d;
    while !shared.stop.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// One decoder process, from start to exit (or stop).
fn session(
    cfg: &HostConfig,
    shared: &Shared,
    control: &HostControl,
    frame_bytes: usize,
) -> io::Result<()> {
    let (audio_r, mut audio_w) = io::pipe()?;
    // The write end must not sit on 0..=2 (the child's stdio setup overwrites those before
    // pre_exec runs); try_clone duplicates to the lowest free fd >= 3.
    if audio_w.as_raw_fd() < 3 {
        audio_w = audio_w.try_clone()?;
    }
    let write_fd = audio_w.as_raw_fd();
    let parent = std::process::id();
    let mut cmd = Command::new(&cfg.ffmpeg);
    cmd.args(ffmpeg_args(cfg))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: runs in the forked child before exec; it calls only the async-signal-safe
    // prctl/dup2/fcntl on a descriptor that is open (we hold `audio_w` until spawn returns)
    // and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            // A listening decoder never sees an EOF: if anchor dies (a crash, SIGKILL) it must
            // die too, or it keeps the host port and the restarted show cannot listen. The
            // signal follows the thread that spawned it, the supervisor, which outlives it.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() as u32 != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH)); // anchor is gone
            }
            if write_fd == AUDIO_FD {
                let flags = libc::fcntl(write_fd, libc::F_GETFD);
                if flags < 0 || libc::fcntl(write_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0
                {
                    return Err(io::Error::last_os_error());
                }
            } else if libc::dup2(write_fd, AUDIO_FD) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    // Our copy of the write end goes, so the reader sees EOF when ffmpeg exits.
    drop(audio_w);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill(&mut child);
        return Err(io::Error::other("ffmpeg started without its pipes"));
    };
    let video = {
        std::thread::scope(|scope| {
            let v = scope.spawn(move || read_frames(stdout, frame_bytes, shared, control));
            let a = scope.spawn(|| read_audio(audio_r, shared));
            let l = scope.spawn(|| read_log(stderr, control));
            // Wait for the child, killing it when the show stops.
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        tracing::debug!(%status, "host decoder exited");
                        break;
                    }
                    Ok(None) if shared.stop.load(Ordering::Relaxed) => {
                        kill(&mut child);
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                    Err(e) => {
                        tracing::warn!("host decoder: {e}");
                        kill(&mut child);
                        break;
                    }
                }
            }
            let _ = a.join();
            let _ = l.join();
            v.join()
        })
    };
    if video.is_err() {
        tracing::error!("host input: the video reader panicked (a bug)");
    }
    Ok(())
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn read_frames(mut stdout: impl Read, frame_bytes: usize, shared: &Shared, control: &HostControl) {
    loop {
        let mut frame = vec![0u8; frame_bytes];
        if stdout.read_exact(&mut frame).is_err() {
            return; // EOF: the feed ended
        }
        {
            let mut q = lock(&shared.frames);
            if q.len() >= FRAME_BUFFER {
                q.pop_front();
            }
            q.push_back(frame);
        }
        control.update(|s| {
            if !s.connected {
                tracing::info!("host input: frames are arriving");
            }
            s.connected = true;
            s.frames += 1;
        });
    }
}

fn read_audio(mut pipe: impl Read, shared: &Shared) {
    let cap = (AUDIO_BUFFER.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
    let mut buf = [0u8; 8192];
    let mut carry: Vec<u8> = Vec::with_capacity(4);
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        carry.extend_from_slice(&buf[..n]);
        let whole = carry.len() / 4 * 4;
        let mut q = lock(&shared.audio);
        for c in carry[..whole].chunks_exact(4) {
            let s = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            q.push_back(if s.is_finite() { s } else { 0.0 });
        }
        let excess = q.len().saturating_sub(cap);
        q.drain(..excess);
        drop(q);
        carry.drain(..whole);
    }
}

/// ffmpeg's log: to tracing, and what it says about the feed into the status.
fn read_log(stderr: impl Read, control: &HostControl) {
    let mut in_input = false;
    let mut last = String::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let t = line.trim();
        if !t.is_empty() {
            last = t.to_owned();
        }
        if t.starts_with("Input #0") {
            in_input = true;
            control.update(|s| {
                s.sessions += 1;
                s.has_audio = Some(false);
            });
            tracing::info!("host input: feed accepted: {t}");
        } else if t.starts_with("Output #0") || t.starts_with("Stream mapping") {
            in_input = false;
        } else if in_input && t.starts_with("Stream #0:") {
            tracing::info!("host input: {t}");
            if t.contains(": Audio:") {
                control.update(|s| s.has_audio = Some(true));
            }
        } else if t.contains("rror") || t.contains("failed") {
            tracing::warn!(target: "anchor::host::ffmpeg", "{t}");
            control.update(|s| s.last_error = Some(t.to_owned()));
        } else {
            tracing::debug!(target: "anchor::host::ffmpeg", "{t}");
        }
    }
    // Why the feed ended, as ffmpeg last said it ("Connection refused", "End of file", ...).
    if !last.is_empty() {
        control.update(|s| s.last_error = Some(last));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(source: HostSource) -> HostConfig {
        HostConfig {
            source,
            width: 640,
            height: 360,
            fps: 30,
            ffmpeg: "ffmpeg".into(),
        }
    }

    fn args(c: &HostConfig) -> Vec<String> {
        ffmpeg_args(c)
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn decoder_scales_pads_and_resamples_to_the_show_format() {
        let a = args(&cfg(HostSource::Listen(
            "rtmp://127.0.0.1:1936/live/h".into(),
        )));
        let joined = a.join(" ");
        assert!(
            joined.contains("-listen 1 -i rtmp://127.0.0.1:1936/live/h"),
            "{joined}"
        );
        assert!(joined.contains("scale=640:360:force_original_aspect_ratio=decrease,pad=640:360"));
        assert!(joined.contains("fps=30,format=rgba"));
        assert!(joined.contains("-ac 1 -ar 48000"));
        assert!(joined.contains("onfail=ignore]pipe:3"));
        let srt = args(&cfg(HostSource::Listen("srt://127.0.0.1:9000".into())));
        assert!(srt.contains(&"srt://127.0.0.1:9000?mode=listener".to_owned()));
        let pull = args(&cfg(HostSource::Pull("rtmp://cdn.example/live/x".into())));
        assert!(pull.contains(&"-rw_timeout".to_owned()) && !pull.contains(&"-listen".to_owned()));
    }

    #[test]
    fn take_audio_pads_with_silence_and_caps_the_backlog() {
        let shared = Arc::new(Shared::default());
        let input = HostInput {
            shared: shared.clone(),
            control: HostControl::new(),
            supervisor: None,
        };
        assert_eq!(input.take_audio(1600), vec![0.0; 1600]);
        lock(&shared.audio).extend((0..48_000).map(|i| i as f32));
        let got = input.take_audio(1600);
        // 1 s queued: all but the newest 1600 + 120 ms are dropped first.
        let backlog = (AUDIO_BACKLOG.as_secs_f64() * 48_000.0) as usize;
        assert_eq!(got[0], (48_000 - 1600 - backlog) as f32);
        assert_eq!(got.len(), 1600);
    }

    #[test]
    fn operator_override_is_shared_between_clones() {
        let c = HostControl::new();
        let d = c.clone();
        d.set_operator(Some(false));
        assert_eq!(c.operator(), Some(false));
        assert_eq!(c.status().operator, Some(false));
        c.set_operator(None);
        assert_eq!(d.operator(), None);
    }
}
