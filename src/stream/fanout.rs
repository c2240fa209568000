//! The push fan-out: the encoder's FLV copy (fd 4 of its ffmpeg) is read by one hub thread and
//! handed to one thread per push output, each feeding its own relay ffmpeg (`-c copy`); and to
//! one more, the recording's continuation, which sleeps until the encoder's own recording
//! fails (a full disk) and then writes `NAME.part2.mp4`, `NAME.part3.mp4`, ... (a new part per
//! attempt, with the same backoff), so the night is not lost once the disk has room again.
//!
//! Hub: parses tags, keeps the FLV header, onMetaData and the AVC/AAC sequence headers, and
//! offers every audio/video tag to each output's bounded queue ([`PUSH_QUEUE_TAGS`]) with a
//! non-blocking send. A full queue makes that output drop tags until the next keyframe (whole
//! GOPs), so a slow or dead output never holds the encoder back.
//!
//! Output: keeps the tags of the current GOP (from the newest keyframe), starts its relay and
//! writes the FLV header, onMetaData and the sequence headers, then that GOP and the tags after
//! it, with their original timestamps (`-copyts`): after every reconnect the platform's
//! timeline continues at the media time where the stream resumed, and a reconnect does not wait
//! for the next keyframe. When the relay fails (refused, closed, reset, exited), the output is
//! down: `output_down` with the (redacted) error and the wait, tags are dropped while waiting,
//! and after the wait a new relay starts from the current GOP (or from the next keyframe, if
//! the current GOP's keyframe was already sent before the failure). The wait starts at
//! [`PUSH_BACKOFF_START`], doubles up to [`PUSH_BACKOFF_CAP`], is jittered to 50–100 %, and
//! starts over once a connection lasted [`PUSH_HEALTHY_AFTER`].

use std::ffi::OsString;
use std::io::{BufRead, BufReader, PipeReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::command::{recording_relay_args, relay_args};
use super::config::{PUSH_BACKOFF_CAP, PUSH_BACKOFF_START, PUSH_HEALTHY_AFTER, PUSH_QUEUE_TAGS};
use super::flv::{FILE_HEADER_LEN, FlvReader, Tag, TagKind};
use super::process::{StderrTail, wait_or_kill};
use super::push::PushUrl;
use crate::events::{EventKind, Events};

/// How long a closing relay may take to flush before it is killed.
const RELAY_CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for a failed relay's exit status (and its last log lines).
const RELAY_FAIL_WAIT: Duration = Duration::from_secs(2);
/// How often an idle output checks whether its relay is still alive.
const POLL: Duration = Duration::from_millis(200);
/// Tags of the current GOP an output keeps for a reconnect (a 2 s GOP at 30 fps with AAC is
/// about 155); a longer GOP is not kept.
const GOP_CACHE_TAGS: usize = 1024;

/// What one push output is doing, for status pages, tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputStatus {
    /// `#N` (1-based `--push` order) and the redacted URL, as in logs and events.
    pub name: String,
    /// The relay is connected (its ffmpeg wrote the output header).
    pub up: bool,
    /// Connections made so far.
    pub connects: u32,
    /// Failures so far (refused, closed, reset, relay exited).
    pub failures: u32,
    /// Tags this output did not send (queue full or output down).
    pub dropped_tags: u64,
    /// Timestamp (ms, media time) of the last tag written to the relay.
    pub last_ts_ms: Option<u32>,
    /// Timestamp (ms) of the first tag of each connection, in order: where the platform's
    /// timeline resumed.
    pub resumed_at_ms: Vec<u32>,
    /// Timestamp (ms) of the last tag before each failure.
    pub failed_at_ms: Vec<Option<u32>>,
    /// The last failure, redacted.
    pub last_error: Option<String>,
}

/// What the relays need from the encoder.
#[derive(Clone)]
pub(crate) struct RelayContext {
    pub ffmpeg: PathBuf,
    pub search_path: Option<std::ffi::OsString>,
    pub events: Option<Events>,
}

/// Header, metadata and sequence headers: what a (re)connecting output writes first.
#[derive(Default)]
struct Preamble {
    file_header: Option<[u8; FILE_HEADER_LEN]>,
    meta: Option<Tag>,
    video_seq: Option<Tag>,
    audio_seq: Option<Tag>,
}

struct Shared {
    preamble: Mutex<Preamble>,
    /// Timestamp of the newest tag the hub read (ms).
    hub_ts: AtomicU32,
}

/// One output as the hub sees it.
struct Lane {
    tx: Sender<Tag>,
    status: Arc<Mutex<OutputStatus>>,
    /// Dropping until the next keyframe.
    skipping: bool,
}

/// Where an output's relay writes.
#[derive(Clone)]
enum Target {
    Push(PushUrl),
    /// The recording's continuation: dormant until `armed`, then part `part + 1` of `base`
    /// at each connection.
    Recording {
        base: PathBuf,
        armed: Arc<AtomicBool>,
        part: u32,
    },
}

impl Target {
    /// The relay's arguments for the next connection.
    fn next_args(&mut self) -> Vec<OsString> {
        match self {
            Target::Push(p) => relay_args(p),
            Target::Recording { base, part, .. } => {
                *part += 1;
                let path = part_path(base, *part);
                tracing::warn!(path = %path.display(), "ALARM: the recording continues in a new part");
                recording_relay_args(&path)
            }
        }
    }

    /// Whether the output should be sending now.
    fn active(&self) -> bool {
        match self {
            Target::Push(_) => true,
            Target::Recording { armed, .. } => armed.load(Ordering::Relaxed),
        }
    }

    /// A log line or error without secrets.
    fn scrub(&self, text: &str) -> String {
        match self {
            Target::Push(p) => p.scrub(text),
            Target::Recording { .. } => text.to_owned(),
        }
    }
}

/// Part `n` of a recording: `NAME.mp4` → `NAME.partN.mp4`.
pub(crate) fn part_path(base: &Path, n: u32) -> PathBuf {
    base.with_extension(format!("part{n}.mp4"))
}

/// The running fan-out: the hub thread and one thread per output.
pub(crate) struct Fanout {
    hub: Option<JoinHandle<()>>,
    /// The push outputs, in `--push` order.
    outputs: Vec<(Arc<Mutex<OutputStatus>>, JoinHandle<()>)>,
    /// The recording's continuation, if any.
    recording: Option<JoinHandle<()>>,
}

impl Fanout {
    /// Starts the hub on `flv` (the encoder's FLV pipe), one output thread per push and, with
    /// `recording` (the encoder's recording and the flag its failure sets), the recording's
    /// continuation.
    pub(crate) fn start(
        flv: PipeReader,
        pushes: &[PushUrl],
        recording: Option<(PathBuf, Arc<AtomicBool>)>,
        ctx: &RelayContext,
    ) -> std::io::Result<Fanout> {
        let shared = Arc::new(Shared {
            preamble: Mutex::new(Preamble::default()),
            hub_ts: AtomicU32::new(0),
        });
        let mut lanes = Vec::new();
        let mut spawn = |name: String, target: Target| -> std::io::Result<_> {
            let (tx, rx) = bounded::<Tag>(PUSH_QUEUE_TAGS);
            let status = Arc::new(Mutex::new(OutputStatus {
                name: name.clone(),
                ..OutputStatus::default()
            }));
            let out = Output {
                name,
                target,
                ctx: ctx.clone(),
                shared: Arc::clone(&shared),
                status: Arc::clone(&status),
                rx,
                backoff: Backoff::new(),
            };
            let handle = std::thread::Builder::new()
                .name("anchor-push".into())
                .spawn(move || out.run())?;
            lanes.push(Lane {
                tx,
                status: Arc::clone(&status),
                skipping: false,
            });
            Ok((status, handle))
        };
        let mut outputs = Vec::new();
        for (i, push) in pushes.iter().enumerate() {
            outputs.push(spawn(output_name(i, push), Target::Push(push.clone()))?);
        }
        let recording = match recording {
            Some((base, armed)) => {
                let target = Target::Recording {
                    base,
                    armed,
                    part: 1,
                };
                Some(spawn("recording".to_owned(), target)?.1)
            }
            None => None,
        };
        let hub = std::thread::Builder::new()
            .name("anchor-push-hub".into())
            .spawn(move || hub(flv, &shared, lanes))?;
        Ok(Fanout {
            hub: Some(hub),
            outputs,
            recording,
        })
    }

    /// A snapshot of every output.
    pub(crate) fn status(&self) -> Vec<OutputStatus> {
        self.outputs.iter().map(|(s, _)| lock(s).clone()).collect()
    }

    /// Waits for the hub (it ends when the encoder's ffmpeg closes the pipe), then for every
    /// output to close its relay. Returns the final status of each output.
    pub(crate) fn finish(mut self) -> Vec<OutputStatus> {
        if let Some(hub) = self.hub.take() {
            let _ = hub.join();
        }
        if let Some(r) = self.recording.take() {
            let _ = r.join();
        }
        let outputs = std::mem::take(&mut self.outputs);
        outputs
            .into_iter()
            .map(|(status, handle)| {
                let _ = handle.join();
                lock(&status).clone()
            })
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked mid-update; the value is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads the encoder's FLV and offers each tag to every lane without ever blocking.
fn hub(flv: PipeReader, shared: &Shared, mut lanes: Vec<Lane>) {
    let mut reader = FlvReader::new(flv);
    let result = (|| -> std::io::Result<()> {
        let header = reader.read_header()?;
        lock(&shared.preamble).file_header = Some(header);
        while let Some(tag) = reader.next_tag()? {
            shared.hub_ts.store(tag.ts_ms, Ordering::Relaxed);
            match (tag.kind, tag.sequence_header) {
                (TagKind::Script, _) => {
                    lock(&shared.preamble).meta = Some(tag);
                    continue;
                }
                (TagKind::Video, true) => {
                    lock(&shared.preamble).video_seq = Some(tag);
                    continue;
                }
                (TagKind::Audio, true) => {
                    lock(&shared.preamble).audio_seq = Some(tag);
                    continue;
                }
                (TagKind::Audio | TagKind::Video, false) => {}
                (TagKind::Other(_), _) => continue,
            }
            for lane in &mut lanes {
                if lane.skipping && !tag.keyframe {
                    lock(&lane.status).dropped_tags += 1;
                    continue;
                }
                match lane.tx.try_send(tag.clone()) {
                    Ok(()) => lane.skipping = false,
                    Err(TrySendError::Full(_)) => {
                        if !lane.skipping {
                            tracing::debug!(output = %lock(&lane.status).name, ts_ms = tag.ts_ms, "push queue full; dropping up to the next keyframe");
                        }
                        lane.skipping = true;
                        lock(&lane.status).dropped_tags += 1;
                    }
                    // The output thread ended (it only does at shutdown).
                    Err(TrySendError::Disconnected(_)) => {}
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        tracing::error!(error = %e, "push hub: cannot read the encoder's FLV; the pushes stop (the recording and preview go on)");
        // Keep draining so the encoder's ffmpeg never blocks on this pipe.
        drop(lanes);
        let _ = std::io::copy(&mut reader.into_inner(), &mut std::io::sink());
    }
}

/// How an output is named in status, logs and events: `#2 rtmp://host/app/****`.
fn output_name(index: usize, push: &PushUrl) -> String {
    format!("#{} {}", index + 1, push.redacted())
}

/// Jittered exponential backoff.
struct Backoff {
    next: Duration,
    rng: SmallRng,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            next: PUSH_BACKOFF_START,
            rng: SmallRng::from_os_rng(),
        }
    }

    /// The wait before the next attempt (50–100 % of the current step); doubles the step.
    fn next_delay(&mut self) -> Duration {
        let d = self.next.mul_f64(self.rng.random_range(0.5..=1.0));
        self.next = (self.next * 2).min(PUSH_BACKOFF_CAP);
        d
    }

    fn reset(&mut self) {
        self.next = PUSH_BACKOFF_START;
    }
}

/// A running relay ffmpeg.
struct Relay {
    child: Child,
    stdin: ChildStdin,
    stderr_thread: JoinHandle<()>,
    tail: Arc<StderrTail>,
    started: Instant,
}

/// One push output's thread.
struct Output {
    /// `#N` (1-based `--push` order) and the redacted URL: unique even when two pushes differ
    /// only in their keys.
    name: String,
    target: Target,
    ctx: RelayContext,
    shared: Arc<Shared>,
    status: Arc<Mutex<OutputStatus>>,
    rx: Receiver<Tag>,
    backoff: Backoff,
}

impl Output {
    fn run(mut self) {
        let mut relay: Option<Relay> = None;
        let mut retry_at: Option<Instant> = None;
        let mut wrote_in_this_connection = false;
        // The current GOP: a reconnect starts from its keyframe.
        let mut gop: Vec<Tag> = Vec::new();
        loop {
            let tag = match self.rx.recv_timeout(POLL) {
                Ok(t) => Some(t),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Some(r) = relay.as_mut()
                && matches!(r.child.try_wait(), Ok(Some(_)))
            {
                let r = relay.take();
                retry_at = Some(self.fail(r, "the relay exited"));
            }
            let Some(tag) = tag else { continue };
            if tag.keyframe || gop.len() >= GOP_CACHE_TAGS {
                gop.clear();
            }
            if tag.keyframe || !gop.is_empty() {
                gop.push(tag.clone());
            }
            if !self.target.active() {
                continue;
            }
            let mut batch = vec![tag];
            if relay.is_none() {
                let waiting = retry_at.is_some_and(|t| Instant::now() < t);
                // Start from the GOP's keyframe unless it went out before the failure (the
                // platform's timestamps must keep going forward).
                let last = lock(&self.status).last_ts_ms;
                let fresh = gop
                    .first()
                    .is_some_and(|k| k.keyframe && last.is_none_or(|l| k.ts_ms > l));
                if waiting || !fresh {
                    lock(&self.status).dropped_tags += 1;
                    continue;
                }
                match self.connect() {
                    Ok(r) => {
                        relay = Some(r);
                        retry_at = None;
                        wrote_in_this_connection = false;
                        batch = gop.clone();
                        let mut s = lock(&self.status);
                        s.dropped_tags = s.dropped_tags.saturating_sub(batch.len() as u64 - 1);
                    }
                    Err(e) => {
                        retry_at = Some(self.fail(None, &e.to_string()));
                        continue;
                    }
                }
            }
            for tag in batch {
                let Some(r) = relay.as_mut() else { break };
                match r.stdin.write_all(&tag.bytes) {
                    Ok(()) => {
                        let mut s = lock(&self.status);
                        if !wrote_in_this_connection {
                            s.resumed_at_ms.push(tag.ts_ms);
                            wrote_in_this_connection = true;
                        }
                        s.last_ts_ms = Some(tag.ts_ms);
                    }
                    Err(e) => {
                        let r = relay.take();
                        retry_at = Some(self.fail(r, &format!("writing to the relay: {e}")));
                    }
                }
            }
        }
        // The encoder finished: let the relay flush and close the connection.
        if let Some(r) = relay {
            let Relay {
                mut child,
                stdin,
                stderr_thread,
                ..
            } = r;
            drop(stdin);
            let _ = wait_or_kill(&mut child, RELAY_CLOSE_WAIT);
            let _ = stderr_thread.join();
            lock(&self.status).up = false;
        }
        tracing::info!(output = %self.name, "push output closed");
    }

    /// Starts a relay and writes the FLV header, onMetaData and sequence headers.
    fn connect(&mut self) -> std::io::Result<Relay> {
        let mut cmd = Command::new(&self.ctx.ffmpeg);
        cmd.args(self.target.next_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(path) = &self.ctx.search_path {
            cmd.env("PATH", path);
        }
        tracing::info!(output = %self.name, "push output connecting");
        let mut child = cmd.spawn()?;
        let (Some(stdin), Some(stderr)) = (child.stdin.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other("relay started without its pipes"));
        };
        let tail = Arc::new(StderrTail::default());
        let stderr_thread = {
            let tail = Arc::clone(&tail);
            let target = self.target.clone();
            let name = self.name.clone();
            let status = Arc::clone(&self.status);
            let events = self.ctx.events.clone();
            let shared = Arc::clone(&self.shared);
            std::thread::Builder::new()
                .name("anchor-push-log".into())
                .spawn(move || {
                    relay_log(
                        stderr,
                        &target,
                        &name,
                        &tail,
                        &status,
                        events.as_ref(),
                        &shared,
                    )
                })
        };
        let stderr_thread = match stderr_thread {
            Ok(t) => t,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let mut relay = Relay {
            child,
            stdin,
            stderr_thread,
            tail,
            started: Instant::now(),
        };
        let preamble = {
            let p = lock(&self.shared.preamble);
            let mut bytes = Vec::new();
            if let Some(h) = p.file_header {
                bytes.extend_from_slice(&h);
            }
            for t in [&p.meta, &p.video_seq, &p.audio_seq].into_iter().flatten() {
                bytes.extend_from_slice(&t.bytes);
            }
            bytes
        };
        if let Err(e) = relay.stdin.write_all(&preamble) {
            let reason = format!("writing to the relay: {e}");
            let _ = self.fail(Some(relay), &reason);
            return Err(std::io::Error::other(reason));
        }
        Ok(relay)
    }

    /// Ends a failed relay, records and announces the failure, and says when to retry.
    fn fail(&mut self, relay: Option<Relay>, fallback: &str) -> Instant {
        let mut reason = fallback.to_owned();
        let mut lasted = Duration::ZERO;
        if let Some(r) = relay {
            let Relay {
                mut child,
                stdin,
                stderr_thread,
                tail,
                started,
            } = r;
            drop(stdin);
            let status = wait_or_kill(&mut child, RELAY_FAIL_WAIT);
            let _ = stderr_thread.join();
            lasted = started.elapsed();
            reason = last_error_line(&tail.text())
                .or_else(|| status.ok().map(|s| format!("the relay exited ({s})")))
                .unwrap_or(reason);
        }
        let reason = self.target.scrub(&reason);
        if lasted >= PUSH_HEALTHY_AFTER {
            self.backoff.reset();
        }
        let delay = self.backoff.next_delay();
        let hub_ts = self.shared.hub_ts.load(Ordering::Relaxed);
        {
            let mut s = lock(&self.status);
            s.up = false;
            s.failures += 1;
            s.last_error = Some(reason.clone());
            let last = s.last_ts_ms;
            s.failed_at_ms.push(last);
        }
        tracing::warn!(output = %self.name, error = %reason, retry_in_s = delay.as_secs_f64(), "push output down; retrying");
        if let Some(events) = &self.ctx.events {
            events.emit(
                f64::from(hub_ts) / 1000.0,
                EventKind::OutputDown {
                    output: self.name.clone(),
                    error: reason,
                    retry_in_s: Some((delay.as_secs_f64() * 1000.0).round() / 1000.0),
                },
            );
        }
        Instant::now() + delay
    }
}

/// The relay's stderr: logged (redacted), tail kept, and "Output #0" marks the connection up.
fn relay_log(
    stderr: std::process::ChildStderr,
    target: &Target,
    name: &str,
    tail: &StderrTail,
    status: &Mutex<OutputStatus>,
    events: Option<&Events>,
    shared: &Shared,
) {
    let mut reader = BufReader::new(stderr);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = target.scrub(String::from_utf8_lossy(&raw).trim_end());
        if line.is_empty() {
            continue;
        }
        // The failure itself is logged once, as a warning, by `Output::fail`.
        tracing::debug!(target: "anchor::stream::relay", output = name, "{line}");
        if line.contains("Output #0,") {
            let pts = {
                let mut s = lock(status);
                s.up = true;
                s.connects += 1;
                s.last_ts_ms
                    .unwrap_or_else(|| shared.hub_ts.load(Ordering::Relaxed))
            };
            tracing::info!(output = name, "push output up");
            if let Some(events) = events {
                events.emit(
                    f64::from(pts) / 1000.0,
                    EventKind::OutputUp {
                        output: name.to_owned(),
                    },
                );
            }
        }
        tail.push(line);
    }
}

/// The most telling line of a relay's log: its last error, without the `[error]` tag.
fn last_error_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| l.contains("[error]") || l.contains("[fatal]"))
        .map(|l| {
            l.replace("[error] ", "")
                .replace("[fatal] ", "")
                .trim()
                .to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_1s_to_30s_with_jitter_and_resets() {
        let mut b = Backoff::new();
        let waits: Vec<f64> = (0..8).map(|_| b.next_delay().as_secs_f64()).collect();
        let steps = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0];
        for (w, s) in waits.iter().zip(steps) {
            assert!(*w >= s * 0.5 && *w <= s, "waits {waits:?}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn the_last_error_line_is_the_reason() {
        let text = "[info] Input #0\n[error] rtmp://h/app/****: Input/output error\n[info] done";
        assert_eq!(
            last_error_line(text).as_deref(),
            Some("rtmp://h/app/****: Input/output error")
        );
        assert_eq!(last_error_line("[info] x"), None);
    }
}
