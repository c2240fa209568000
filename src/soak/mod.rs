//! soak: a long show under faults, measured (`anchor soak --hours H --speed X`).
//!
//! In: [`SoakOptions`] (a script, media hours, a pace) and the caller's way to run a show
//! ([`run`] hands it a [`SoakShow`]: a copy of the script to run and watch, the recording's
//! path, the chat to replay, the pace, a [`Progress`] to keep up to date, where to listen for
//! the host). The show runs in render mode, as fast as the machine goes or at `speed` × real
//! time.
//!
//! While it runs, a sampler thread reads the process at fixed media times (RSS, open file
//! descriptors, threads: [`probe`]; A/V drift at the encoder's input) and causes the faults of [`plan`] at their media times: two
//! chat floods of 3,000 messages in 3 s (chatter, abuse, injections) on top of a viewer message
//! every 15–45 s, and a bad script edit (invalid YAML written over the watched script) fixed
//! 60 s later; with `push_fault`, the stream is also pushed to a private RTMP server
//! ([`rtmp`]: nginx) that is killed at 40% and restarted a minute later; with `host_flap` (and a
//! pace), the human host's feed ([`host`]: a real ffmpeg push into the show's host input)
//! comes and goes in cycles: live, a blip shorter than the grace period, live, gone.
//! Afterwards the recording is read back ([`recording`]): timestamp continuity of both streams
//! and the A/V drift at the end; what the RTMP server recorded, session by session; and the
//! hand-over times, from the show's events.
//!
//! Out: a [`SoakReport`], written as `OUT/soak.json`, `OUT/soak.md` and a plot `OUT/soak.png`
//! ([`plot`]), with the goals of issue 6: RSS growth after warm-up < 5%, A/V drift at the end
//! ≤ 1 frame, descriptors and threads flat.

mod host;
mod plan;
mod plot;
mod probe;
mod recording;
mod rtmp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use host::HostFeed;
pub use plan::{BROKEN_EDIT_SECS, FLOOD_MESSAGES, Fault, FaultKind};
pub use probe::{ProcessSample, sample as sample_process};
pub use recording::Continuity;
pub use rtmp::{PushReadBack, RtmpServer};

use crate::chat::Replay;
use crate::show::{Progress, ShowReport};

/// Share of the media time treated as warm-up (caches, the embedder, the first product
/// images): RSS growth is measured from its end.
pub const WARMUP_SHARE: f64 = 0.10;
/// Goal: RSS growth after warm-up, percent.
pub const RSS_GROWTH_GOAL_PCT: f64 = 5.0;
/// The stream's keyframe interval (s): the avatar must take the picture within one.
pub const KEYFRAME_SECS: f64 = 2.0;
/// A host back this long (media s) must have been handed the show: connecting (about 2 s),
/// [`crate::show::handover::HAND_BACK_STABLE`] and the avatar's sentence on air (up to ~15 s).
pub const HOST_RETURN_SECS: f64 = 20.0;

/// Errors of a soak.
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    #[error("the soak needs a positive number of hours (got {0})")]
    Hours(f64),
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("the show failed: {0}")]
    Show(String),
    #[error("cannot read the recording back: {0}")]
    Probe(String),
    #[error("cannot draw the plot: {0}")]
    Plot(String),
}

/// What to soak.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub script: PathBuf,
    /// Media hours.
    pub hours: f64,
    /// Media seconds per wall second (`None`: as fast as the machine goes).
    pub speed: Option<f64>,
    /// Output folder (recording, copy of the script, report, plot).
    pub out: PathBuf,
    pub fps: u32,
    /// Seed of the scripted chat.
    pub seed: u64,
    /// Also push to a private RTMP server (nginx) that is killed and restarted mid-soak.
    pub push_fault: bool,
    /// Flap the human host's feed (a real ffmpeg push into the show's host input, at `speed`).
    pub host_flap: bool,
}

/// What the caller's show gets.
#[derive(Debug)]
pub struct SoakShow {
    /// The copy of the script to run, with hot reload on (the soak breaks and fixes it).
    pub script: PathBuf,
    /// The recording to write (MP4).
    pub recording: PathBuf,
    /// Media seconds to run.
    pub seconds: f64,
    /// Render pace (media seconds per wall second), if any.
    pub pace: Option<f64>,
    /// Keep this up to date with what was encoded.
    pub progress: Arc<Progress>,
    /// The audience's chat and the floods, at their media times.
    pub chat: Replay,
    /// Push the stream here too (the soak's RTMP server), with the HLS preview in `hls_dir`.
    pub push: Option<String>,
    pub hls_dir: PathBuf,
    /// Listen for the human host's feed here (`--host-input`); the soak pushes to it.
    pub host: Option<String>,
}

/// One reading, at a media time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub media_s: f64,
    pub wall_s: f64,
    pub process: ProcessSample,
    /// Audio − video handed to the encoder by this media time (ms; [`Progress::av_drift_ms`]).
    pub av_drift_ms: f64,
}

/// What a soak measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakReport {
    pub media_hours: f64,
    pub wall_secs: f64,
    /// Media seconds per wall second achieved.
    pub speed: f64,
    pub fps: u32,
    pub frames: u64,
    pub samples: Vec<Sample>,
    /// The faults, at the media time they were caused.
    pub faults: Vec<Fault>,
    /// RSS at the end of warm-up, at the end, and its growth in between (percent).
    pub rss_warm_mib: f64,
    pub rss_end_mib: f64,
    pub rss_max_mib: f64,
    pub rss_growth_pct: f64,
    /// Smallest and largest after warm-up.
    pub fds: (u32, u32),
    pub threads: (u32, u32),
    /// Largest |A/V drift| over the samples (ms).
    pub drift_max_ms: f64,
    pub continuity: Continuity,
    /// Events of the show, by type.
    pub events: BTreeMap<String, usize>,
    /// Chat messages replayed (audience + floods).
    pub chat_messages: usize,
    /// What the RTMP server received across its restart (`None`: no push fault).
    pub push: Option<PushReadBack>,
    /// Why the push fault was not run, if it was asked for and was not.
    pub push_skipped: Option<String>,
    /// What the show did each time the host's feed dropped or came back (`None`: no flapping).
    pub host: Option<HostFlaps>,
    /// Why the host feed did not flap, if it was asked for and did not.
    pub host_skipped: Option<String>,
}

/// The hand-over, read from the show's events against the times the soak dropped and
/// restarted the host's push (media seconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostFlaps {
    pub drops: Vec<HostDrop>,
    pub returns: Vec<HostReturn>,
}

/// One return of the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReturn {
    /// When the push was started.
    pub at: f64,
    /// How long it ran before it was dropped again (or the soak ended).
    pub live_s: f64,
    /// Back after a blip: the avatar never took the show, so there is nothing to hand back
    /// (the host's picture returns with their frames).
    pub after_blip: bool,
    /// Seconds from the push starting to the feed being live again (`host_online`).
    pub online_s: Option<f64>,
    /// Seconds from the push starting to `hand_back` (`None`: not handed back while it ran).
    pub hand_back_s: Option<f64>,
}

/// One drop of the host's feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostDrop {
    /// When the push was killed.
    pub at: f64,
    /// Shorter than the grace period: the host came back before the avatar may take over.
    pub blip: bool,
    /// Seconds from the kill to the picture switching to the avatar (`host_offline`).
    pub picture_s: Option<f64>,
    /// Seconds from the kill to the avatar taking over (`takeover`).
    pub takeover_s: Option<f64>,
}

impl HostFlaps {
    /// Pairs each host fault with the first matching event before the next host fault.
    fn read(faults: &[Fault], events: &[(f64, String)], grace: f64, end: f64) -> HostFlaps {
        let host: Vec<&Fault> = faults
            .iter()
            .filter(|f| matches!(f.kind, FaultKind::HostOnline | FaultKind::HostOffline))
            .collect();
        let mut r = HostFlaps::default();
        let mut blip = false;
        for (i, f) in host.iter().enumerate() {
            let until = host.get(i + 1).map_or(end, |n| n.at);
            let first = |kind: &str| {
                events
                    .iter()
                    .find(|(t, k)| k == kind && *t > f.at && *t <= until)
                    .map(|(t, _)| t - f.at)
            };
            match f.kind {
                FaultKind::HostOffline => {
                    blip = until - f.at < grace;
                    r.drops.push(HostDrop {
                        at: f.at,
                        blip,
                        picture_s: first("host_offline"),
                        takeover_s: first("takeover"),
                    });
                }
                _ => r.returns.push(HostReturn {
                    at: f.at,
                    live_s: until - f.at,
                    after_blip: blip,
                    online_s: first("host_online"),
                    hand_back_s: first("hand_back"),
                }),
            }
        }
        r
    }

    /// The goal: every drop switches the picture within one keyframe interval, every drop
    /// longer than the grace period is taken over within grace + one keyframe interval, no
    /// blip is, every return that stays [`HOST_RETURN_SECS`] after a takeover is handed back,
    /// and every return brings the host's picture back (`host_online`).
    fn goal(&self, grace: f64) -> (String, bool) {
        let range = |v: Vec<f64>| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            if v.is_empty() {
                "none".to_owned()
            } else {
                format!("{lo:.2}–{hi:.2} s")
            }
        };
        let picture: Vec<Option<f64>> = self.drops.iter().map(|d| d.picture_s).collect();
        let long: Vec<&HostDrop> = self.drops.iter().filter(|d| !d.blip).collect();
        let takeover: Vec<Option<f64>> = long.iter().map(|d| d.takeover_s).collect();
        let blips_taken = self
            .drops
            .iter()
            .filter(|d| d.blip && d.takeover_s.is_some())
            .count();
        let due: Vec<&HostReturn> = self
            .returns
            .iter()
            .filter(|r| !r.after_blip && r.live_s >= HOST_RETURN_SECS)
            .collect();
        let online: Vec<Option<f64>> = self.returns.iter().map(|r| r.online_s).collect();
        let handed = due.iter().filter(|r| r.hand_back_s.is_some()).count();
        let ok = picture
            .iter()
            .all(|p| p.is_some_and(|s| s <= KEYFRAME_SECS))
            && takeover
                .iter()
                .all(|t| t.is_some_and(|s| s <= grace + KEYFRAME_SECS))
            && blips_taken == 0
            && handed == due.len()
            && online.iter().all(Option::is_some);
        (
            format!(
                "host feed dropped {} times ({} blips): picture to the avatar {} after the drop (goal ≤ {KEYFRAME_SECS} s), takeover {} (goal ≤ grace {grace} s + {KEYFRAME_SECS} s), {blips_taken} blips taken over (goal 0), handed back {handed} of {} returns after a takeover that stayed ≥ {HOST_RETURN_SECS} s ({} returns in all, the host's picture back after {}), after {}",
                self.drops.len(),
                self.drops.len() - long.len(),
                range(picture.iter().flatten().copied().collect()),
                range(takeover.iter().flatten().copied().collect()),
                due.len(),
                self.returns.len(),
                range(online.iter().flatten().copied().collect()),
                range(self.returns.iter().filter_map(|r| r.hand_back_s).collect()),
            ),
            ok,
        )
    }
}

impl SoakReport {
    /// The goals of issue 6, each with whether it was met.
    pub fn goals(&self) -> Vec<(String, bool)> {
        let frame_ms = 1000.0 / f64::from(self.fps.max(1));
        vec![
            (
                format!(
                    "RSS growth after warm-up {:+.1}% (goal < {RSS_GROWTH_GOAL_PCT}%)",
                    self.rss_growth_pct
                ),
                self.rss_growth_pct < RSS_GROWTH_GOAL_PCT,
            ),
            (
                format!(
                    "A/V drift at the end {:+.1} ms (goal ≤ 1 frame = {frame_ms:.1} ms)",
                    self.continuity.drift_end_ms
                ),
                self.continuity.drift_end_ms.abs() <= frame_ms,
            ),
            (
                format!(
                    "file descriptors after warm-up {}–{} (flat: within 8)",
                    self.fds.0, self.fds.1
                ),
                self.fds.1 - self.fds.0 <= 8,
            ),
            (
                format!(
                    "threads after warm-up {}–{} (flat: within 4)",
                    self.threads.0, self.threads.1
                ),
                self.threads.1 - self.threads.0 <= 4,
            ),
            (
                format!(
                    "recording continuous: {} video gaps, {} audio gaps, {} non-monotonic",
                    self.continuity.video_gaps,
                    self.continuity.audio_gaps,
                    self.continuity.non_monotonic
                ),
                self.continuity.video_gaps + self.continuity.audio_gaps == 0
                    && self.continuity.non_monotonic == 0,
            ),
        ]
        .into_iter()
        .chain(self.push.as_ref().map(|p| {
            (
                format!(
                    "RTMP push survived the server restart: {} sessions, {:.1} s of media lost (server down {:.0} s), {} non-monotonic",
                    p.sessions,
                    p.lost_s,
                    self.outage_s(),
                    p.non_monotonic
                ),
                p.sessions >= 2 && p.non_monotonic == 0,
            )
        }))
        .chain(
            self.host
                .as_ref()
                .map(|h| h.goal(crate::host::DEFAULT_GRACE.as_secs_f64())),
        )
        .collect()
    }

    /// Media seconds the RTMP server was down (killed → restarted).
    fn outage_s(&self) -> f64 {
        let at = |k: FaultKind| self.faults.iter().find(|f| f.kind == k).map(|f| f.at);
        match (at(FaultKind::RtmpKilled), at(FaultKind::RtmpRestarted)) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "# Soak: {:.2} h of media in {:.0} s ({:.2}× real time, {} fps, {} frames)\n\n",
            self.media_hours, self.wall_secs, self.speed, self.fps, self.frames
        );
        s.push_str("## Goals\n\n");
        for (g, ok) in self.goals() {
            s.push_str(&format!("- {} {g}\n", if ok { "met:" } else { "NOT MET:" }));
        }
        s.push_str(&format!(
            "\nRSS {:.1} MiB after warm-up → {:.1} MiB at the end (max {:.1}); largest |A/V drift| at the encoder's input over the samples {:.1} ms; recording {:.1} s video, {:.1} s audio, audio start − video start {:+.1} ms (the AAC priming, constant).\n\n",
            self.rss_warm_mib,
            self.rss_end_mib,
            self.rss_max_mib,
            self.drift_max_ms,
            self.continuity.video_secs,
            self.continuity.audio_secs,
            self.continuity.start_offset_ms
        ));
        s.push_str("## Faults\n\n| media time | fault |\n|---|---|\n");
        for f in &self.faults {
            s.push_str(&format!("| {} | {:?} |\n", clock(f.at), f.kind));
        }
        s.push_str(&format!(
            "\n{} chat messages replayed.\n\n## Events\n\n",
            self.chat_messages
        ));
        for (k, n) in &self.events {
            s.push_str(&format!("- {k}: {n}\n"));
        }
        if let Some(why) = &self.push_skipped {
            s.push_str(&format!("\nRTMP push fault skipped: {why}\n"));
        }
        if let Some(why) = &self.host_skipped {
            s.push_str(&format!("\nHost feed flapping skipped: {why}\n"));
        }
        s.push_str("\nPlot: soak.png (RSS, descriptors, threads, A/V drift; faults in orange).\n");
        s
    }
}

fn clock(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Media seconds between samples: about 480 samples, every 2–60 s.
fn sample_every(secs: f64) -> f64 {
    (secs / 480.0).clamp(2.0, 60.0)
}

/// Runs a soak: `show` runs the show it is given and returns its report.
pub fn run<F>(opts: &SoakOptions, show: F) -> Result<SoakReport, SoakError>
where
    F: FnOnce(SoakShow) -> Result<ShowReport, Box<dyn std::error::Error + Send + Sync>>,
{
    if !(opts.hours.is_finite() && opts.hours > 0.0) {
        return Err(SoakError::Hours(opts.hours));
    }
    let secs = opts.hours * 3600.0;
    std::fs::create_dir_all(&opts.out).map_err(|e| SoakError::Write(opts.out.clone(), e))?;
    let script = copy_script(&opts.script, &opts.out.join("script"))?;
    let original =
        std::fs::read_to_string(&script).map_err(|e| SoakError::Read(script.clone(), e))?;
    let mut push_skipped = None;
    let server = if !opts.push_fault {
        None
    } else if !RtmpServer::available() {
        push_skipped = Some(
            "nginx with libnginx-mod-rtmp is not installed (scripts/setup.sh installs it)"
                .to_owned(),
        );
        None
    } else {
        match RtmpServer::start(&opts.out.join("nginx")) {
            Ok(s) => Some(s),
            Err(e) => {
                push_skipped = Some(e.to_string());
                None
            }
        }
    };
    let push = server.as_ref().map(RtmpServer::url);
    let mut host_skipped = None;
    let feed = match opts.speed {
        _ if !opts.host_flap => None,
        None => {
            host_skipped = Some(
                "the host's feed is pushed in real time × the soak's pace: give --speed (e.g. --speed 1.5)"
                    .to_owned(),
            );
            None
        }
        Some(rate) => Some(HostFeed::new(rate)?),
    };
    let host = feed.as_ref().map(|f| f.url().to_owned());
    let faults = plan::faults(secs, server.is_some(), feed.is_some());
    let chat = plan::chat(secs, &faults, opts.seed);
    let chat_messages = chat.len();
    let recording = opts.out.join("soak.mp4");
    let progress = Arc::new(Progress::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let sampler = {
        let (progress, stop, script) = (progress.clone(), stop.clone(), script.clone());
        let (fps, faults) = (opts.fps, faults.clone());
        std::thread::Builder::new()
            .name("anchor-soak".into())
            .spawn(move || {
                let (mut server, mut feed) = (server, feed);
                let r = sampler(
                    &progress,
                    &stop,
                    fps,
                    secs,
                    &faults,
                    &script,
                    &original,
                    started,
                    server.as_mut(),
                    feed.as_mut(),
                );
                drop(feed);
                (r, server)
            })
            .map_err(|e| SoakError::Show(format!("cannot start the sampler thread: {e}")))?
    };
    let result = show(SoakShow {
        script,
        recording: recording.clone(),
        seconds: secs,
        pace: opts.speed,
        progress,
        chat: Replay::from_messages(chat),
        push,
        hls_dir: opts.out.join("live"),
        host: host.clone(),
    });
    stop.store(true, Ordering::Relaxed);
    let ((samples, done), server) = sampler
        .join()
        .map_err(|_| SoakError::Show("the sampler thread panicked".into()))?;
    let wall_secs = started.elapsed().as_secs_f64();
    let report = result.map_err(|e| SoakError::Show(e.to_string()))?;
    let continuity = recording::analyze(&recording, opts.fps)?;
    let push = server.map(|mut s| {
        s.kill();
        rtmp::read_back(&s.recordings(), opts.fps, report.media_secs)
    });
    let flaps = host.map(|_| {
        HostFlaps::read(
            &done,
            &report.events,
            crate::host::DEFAULT_GRACE.as_secs_f64(),
            report.media_secs,
        )
    });
    let mut r = summarize(
        opts,
        report,
        samples,
        done,
        continuity,
        wall_secs,
        chat_messages,
    );
    r.push = push;
    r.push_skipped = push_skipped;
    r.host = flaps;
    r.host_skipped = host_skipped;
    write(&opts.out, &r)?;
    Ok(r)
}

/// Copies the script's folder (YAML, JSON lines, Markdown: the script and its includes) into
/// `to`, so the soak can break and fix its copy; returns the copy of the script.
fn copy_script(script: &Path, to: &Path) -> Result<PathBuf, SoakError> {
    let from = script.parent().unwrap_or(Path::new("."));
    let name = script.file_name().ok_or_else(|| {
        SoakError::Read(script.to_path_buf(), std::io::ErrorKind::NotFound.into())
    })?;
    copy_dir(from, to, 3)?;
    let copy = to.join(name);
    if !copy.is_file() {
        return Err(SoakError::Read(
            script.to_path_buf(),
            std::io::ErrorKind::NotFound.into(),
        ));
    }
    Ok(copy)
}

fn copy_dir(from: &Path, to: &Path, depth: u32) -> Result<(), SoakError> {
    std::fs::create_dir_all(to).map_err(|e| SoakError::Write(to.to_path_buf(), e))?;
    let entries = std::fs::read_dir(from).map_err(|e| SoakError::Read(from.to_path_buf(), e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            if depth > 0 {
                copy_dir(&path, &target, depth - 1)?;
            }
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "jsonl" | "md"))
        {
            std::fs::copy(&path, &target).map_err(|e| SoakError::Write(target.clone(), e))?;
        }
    }
    Ok(())
}

/// The sampler thread: samples at media times, causes the script faults; returns the
/// samples and the faults as caused.
#[allow(clippy::too_many_arguments)]
fn sampler(
    progress: &Progress,
    stop: &AtomicBool,
    fps: u32,
    secs: f64,
    faults: &[Fault],
    script: &Path,
    original: &str,
    started: Instant,
    mut server: Option<&mut RtmpServer>,
    mut feed: Option<&mut HostFeed>,
) -> (Vec<Sample>, Vec<Fault>) {
    let every = sample_every(secs);
    let mut samples = Vec::new();
    let mut done = Vec::new();
    let mut next_sample = 0.0f64;
    let mut next_fault = 0usize;
    let take = |media_s: f64, av_drift_ms: f64, samples: &mut Vec<Sample>| {
        if let Some(process) = probe::sample() {
            samples.push(Sample {
                media_s,
                wall_s: started.elapsed().as_secs_f64(),
                process,
                av_drift_ms,
            });
        }
    };
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let media = progress.media_secs(fps);
        // The last sample is one interval before the end, while the show still runs.
        while media >= next_sample && next_sample < secs {
            take(media, progress.av_drift_ms(fps), &mut samples);
            next_sample += every;
        }
        while let Some(f) = faults.get(next_fault).filter(|f| media >= f.at) {
            next_fault += 1;
            let write = match f.kind {
                FaultKind::BadScriptEdit => Some(plan::broken(original)),
                FaultKind::ScriptFixed => Some(original.to_owned()),
                FaultKind::ChatFlood => None, // in the replay
                FaultKind::RtmpKilled => {
                    if let Some(s) = server.as_deref_mut() {
                        s.kill();
                    }
                    None
                }
                FaultKind::RtmpRestarted => {
                    if let Some(s) = server.as_deref_mut()
                        && let Err(e) = s.restart()
                    {
                        tracing::warn!("soak: {e}");
                    }
                    None
                }
                FaultKind::HostOnline => {
                    if let Some(h) = feed.as_deref_mut()
                        && let Err(e) = h.start()
                    {
                        tracing::warn!("soak: {e}");
                    }
                    None
                }
                FaultKind::HostOffline => {
                    if let Some(h) = feed.as_deref_mut() {
                        h.stop();
                    }
                    None
                }
            };
            if let Some(text) = write
                && let Err(e) = std::fs::write(script, text)
            {
                tracing::warn!(path = %script.display(), error = %e, "soak: cannot edit the script");
            }
            tracing::info!(fault = ?f.kind, media_s = media, "soak: fault");
            done.push(Fault {
                at: media,
                kind: f.kind,
            });
        }
        // (No sample at the stop: the show is being torn down by then.)
        if stopping {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (samples, done)
}

fn summarize(
    opts: &SoakOptions,
    show: ShowReport,
    samples: Vec<Sample>,
    faults: Vec<Fault>,
    continuity: Continuity,
    wall_secs: f64,
    chat_messages: usize,
) -> SoakReport {
    let media = show.media_secs;
    let warm_end = WARMUP_SHARE * media;
    let after: Vec<&Sample> = samples.iter().filter(|s| s.media_s >= warm_end).collect();
    let warm = after.first().map_or(0.0, |s| s.process.rss_mib);
    let end = samples.last().map_or(0.0, |s| s.process.rss_mib);
    let range = |f: fn(&Sample) -> u32| {
        after
            .iter()
            .map(|s| f(s))
            .fold((u32::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let fix = |r: (u32, u32)| if r.0 > r.1 { (0, 0) } else { r };
    let mut events = BTreeMap::new();
    for (_, kind) in &show.events {
        *events.entry(kind.clone()).or_insert(0) += 1;
    }
    SoakReport {
        media_hours: media / 3600.0,
        wall_secs,
        speed: media / wall_secs.max(1e-9),
        fps: opts.fps,
        frames: show.frames,
        rss_warm_mib: warm,
        rss_end_mib: end,
        rss_max_mib: samples.iter().fold(0.0, |m, s| m.max(s.process.rss_mib)),
        rss_growth_pct: if warm > 0.0 {
            100.0 * (end - warm) / warm
        } else {
            0.0
        },
        fds: fix(range(|s| s.process.fds)),
        threads: fix(range(|s| s.process.threads)),
        drift_max_ms: samples.iter().fold(0.0, |m, s| m.max(s.av_drift_ms.abs())),
        samples,
        faults,
        continuity,
        events,
        chat_messages,
        push: None,
        push_skipped: None,
        host: None,
        host_skipped: None,
    }
}

fn write(out: &Path, r: &SoakReport) -> Result<(), SoakError> {
    let json = out.join("soak.json");
    let text =
        serde_json::to_string_pretty(r).map_err(|e| SoakError::Write(json.clone(), e.into()))?;
    std::fs::write(&json, text).map_err(|e| SoakError::Write(json, e))?;
    let md = out.join("soak.md");
    std::fs::write(&md, r.markdown()).map_err(|e| SoakError::Write(md, e))?;
    plot::draw(&out.join("soak.png"), &r.samples, &r.faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(at: f64, kind: FaultKind) -> Fault {
        Fault { at, kind }
    }

    fn events(list: &[(f64, &str)]) -> Vec<(f64, String)> {
        list.iter().map(|(t, k)| (*t, (*k).to_owned())).collect()
    }

    /// A host cycle as the 1.5 h soak ran it: live, a blip, live again, gone.
    #[test]
    fn a_host_cycle_is_read_from_the_events() {
        use FaultKind::{HostOffline, HostOnline};
        let faults = [
            fault(540.0, HostOnline),
            fault(600.0, HostOffline),
            fault(602.0, HostOnline),
            fault(632.0, HostOffline),
        ];
        let ok = events(&[
            (542.5, "host_online"),
            (547.7, "hand_back"),
            (601.0, "host_offline"),
            (603.4, "host_online"),
            (633.1, "host_offline"),
            (637.1, "takeover"),
        ]);
        let h = HostFlaps::read(&faults, &ok, 5.0, 900.0);
        assert_eq!(h.drops.len(), 2);
        assert!(h.drops[0].blip && !h.drops[1].blip);
        assert!((h.drops[1].takeover_s.unwrap() - 5.1).abs() < 1e-9);
        assert!(h.returns[1].after_blip && h.returns[1].hand_back_s.is_none());
        let (line, met) = h.goal(5.0);
        assert!(met, "{line}");
        // The blip taken over, or no picture back: not met.
        let mut bad = ok.clone();
        bad.push((601.5, "takeover".to_owned()));
        bad.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(!HostFlaps::read(&faults, &bad, 5.0, 900.0).goal(5.0).1);
        let lost: Vec<_> = ok.iter().filter(|e| e.0 != 603.4).cloned().collect();
        assert!(!HostFlaps::read(&faults, &lost, 5.0, 900.0).goal(5.0).1);
    }
}
