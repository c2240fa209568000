//! Replay chapters (回放分段): where each product segment lies in a recording, so a replay can
//! jump to a product.
//!
//! In: the recording's path and one [`Chapter`] per product segment — `start`/`end` in media
//! seconds (the shared clock of [`crate::media`]; 0 = the recording's first frame), rounded to
//! whole milliseconds everywhere they are written. Out, next to `show.mp4`:
//!
//! - `show.chapters.vtt` ([`write_chapter_files`]): a WebVTT chapters track. `WEBVTT`, a blank
//!   line, then one cue per chapter: the cue id `<n>-<product>` (n from 1), the times
//!   `HH:MM:SS.mmm --> HH:MM:SS.mmm` and the title, UTF-8, with `&`, `<`, `>` written as
//!   `&amp;`, `&lt;`, `&gt;` (so a title can never hold the `-->` the format forbids).
//! - `show.chapters.json` ([`write_chapter_files`]): a [`ChapterIndex`],
//!   `{"recording":"show.mp4","chapters":[{"product":"lipstick-01","title":"丝绒哑光口红","start":12.34,"end":56.78}]}`
//!   (pretty-printed), times in seconds rounded to milliseconds.
//! - chapters inside the MP4 ([`embed_chapters`]): the recording is remuxed (stream copy, nothing
//!   re-encoded) with an ffmetadata file (`;FFMETADATA1`, one `[CHAPTER]` per chapter with
//!   `TIMEBASE=1/1000`, `START`, `END`, `title=`), which ffmpeg's MP4 muxer writes as a
//!   QuickTime chapter track (a `text` track referenced by `chap`) and a Nero `chpl` atom.
//!   Global metadata (`title`, `comment`, `ai_label`, `ai_generated`, …) is kept; the result is a
//!   normal `+faststart` MP4 also when the input was the fragmented live recording.
//!
//! Input rules (checked on the millisecond values, before anything is written): times finite
//! and not negative, `end > start`, chapters sorted by `start` and not overlapping (a chapter may
//! start exactly where the previous one ends); `product` and `title` not blank and without
//! control characters (line breaks, tabs, NUL); `product` without `-->`. A list that breaks a
//! rule is **rejected** with [`StreamError::InvalidConfig`] (`field: "chapters"`) naming the
//! chapter — never silently clipped: overlapping product segments mean the show's timeline is
//! wrong, and clipping would hide that.
//!
//! What the MP4 can and cannot say (ffmpeg 5.1): a chapter track has no holes and starts at 0 —
//! each chapter lasts until the next one starts. So [`embed_chapters`] fills every gap before
//! and between products with an untitled chapter (`title` empty); without these fillers the
//! first product would appear to start at 0 and every product would run on to the next. The
//! sidecars carry only the products. A chapter track longer than the media lengthens the file,
//! so chapters are clipped to the duration ffmpeg reports for the recording (floored to 10 ms);
//! a chapter starting after that end is left out of the MP4 (logged). ffprobe lists the chapter
//! track as one extra `data` stream (`bin_data`, handler `SubtitleHandler`); video and audio
//! streams are copied unchanged. Embedding again replaces the chapters (the old chapter track
//! is dropped, not copied).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::StreamError;
use super::config::EncoderOptions;

/// Lines of ffmpeg's stderr kept in error messages.
const LOG_TAIL_LINES: usize = 20;
/// Handler name of the chapter text track ffmpeg's MP4 muxer writes (and its demuxer reports).
const CHAPTER_TRACK_HANDLER: &str = "SubtitleHandler";

/// One product segment of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    /// Product id from the script (`lipstick-01`).
    pub product: String,
    /// What a viewer sees: the product name (`丝绒哑光口红`).
    pub title: String,
    /// Media seconds where the segment starts (0 = the recording's first frame).
    pub start: f64,
    /// Media seconds where it ends; more than `start`.
    pub end: f64,
}

/// The JSON sidecar, `<recording stem>.chapters.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChapterIndex {
    /// File name of the recording (no folder), e.g. `show.mp4`.
    pub recording: String,
    /// The chapters, times rounded to milliseconds.
    pub chapters: Vec<Chapter>,
}

/// Where the sidecars of a recording are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChapterFiles {
    /// `<recording without extension>.chapters.vtt`
    pub vtt: PathBuf,
    /// `<recording without extension>.chapters.json`
    pub json: PathBuf,
}

impl ChapterFiles {
    /// The sidecar paths of `recording` (`rec/show.mp4` → `rec/show.chapters.vtt`, `.json`).
    pub fn for_recording(recording: &Path) -> ChapterFiles {
        ChapterFiles {
            vtt: recording.with_extension("chapters.vtt"),
            json: recording.with_extension("chapters.json"),
        }
    }
}

/// Writes `<recording without extension>.chapters.vtt` and `.chapters.json` next to
/// `recording` (which need not exist yet). Each file is written to a temporary name and renamed,
/// so a reader never sees half a file. Zero chapters give a VTT with only its header and an
/// empty JSON list.
///
/// Errors: chapters breaking the rules of the module docs give `ErrorKind::InvalidInput` (its
/// inner error is the [`StreamError::InvalidConfig`] that names the chapter) and nothing is
/// written; otherwise the file system's error.
pub fn write_chapter_files(recording: &Path, chapters: &[Chapter]) -> io::Result<ChapterFiles> {
    let ms = validate(chapters).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let name = recording
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{:?} names no file", recording),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let files = ChapterFiles::for_recording(recording);
    let index = ChapterIndex {
        recording: name,
        chapters: ms.iter().map(MsChapter::rounded).collect(),
    };
    let mut json = serde_json::to_string_pretty(&index).map_err(io::Error::other)?;
    json.push('\n');
    write_atomic(&files.vtt, webvtt(&ms).as_bytes())?;
    write_atomic(&files.json, json.as_bytes())?;
    tracing::info!(
        vtt = %files.vtt.display(),
        json = %files.json.display(),
        chapters = ms.len(),
        "wrote chapter sidecars"
    );
    Ok(files)
}

/// Adds `chapters` to the MP4 `recording` in place: one ffmpeg stream-copy remux into a
/// temporary file in the same folder, then an atomic rename over the original (a symlink is
/// followed; the original's permissions are kept). Every video/audio/subtitle stream and every
/// global metadata tag (`title`, `comment`, `ai_label`, `ai_generated`, …) is kept; the result
/// is a normal MP4 with the index at the front (`+faststart`), also when the input was
/// fragmented. See the module docs for the untitled filler chapters, clipping to the duration
/// and the extra chapter track. Call it after the encoder has finished the file.
///
/// Zero chapters: nothing is done (no remux). On any failure the original file is left
/// untouched and the temporary files are removed. Errors (none recoverable by retrying the same
/// call): [`StreamError::InvalidConfig`] for bad chapters (`field: "chapters"`) or a recording
/// that is missing or not an MP4 (`field: "recording"`); [`StreamError::FfmpegNotFound`] /
/// [`StreamError::Spawn`]; [`StreamError::FfmpegExited`] with ffmpeg's last lines when it cannot
/// read or write the file; [`StreamError::OutputNotWritable`] when the folder takes no
/// temporary file or the rename fails.
pub fn embed_chapters(
    recording: &Path,
    chapters: &[Chapter],
    opts: &EncoderOptions,
) -> Result<(), StreamError> {
    let ms = validate(chapters)?;
    if ms.is_empty() {
        tracing::debug!(recording = %recording.display(), "no chapters; recording left as is");
        return Ok(());
    }
    let bad_recording = |problem: String| StreamError::InvalidConfig {
        field: "recording",
        problem,
    };
    let original = fs::canonicalize(recording)
        .map_err(|e| bad_recording(format!("{}: {e}", recording.display())))?;
    let meta = fs::metadata(&original)
        .map_err(|e| bad_recording(format!("{}: {e}", original.display())))?;
    if !meta.is_file() {
        return Err(bad_recording(format!(
            "{} is not a file",
            original.display()
        )));
    }

    let probe = probe(&original, opts)?;
    if !probe.formats.split(',').any(|f| f == "mp4") {
        return Err(bad_recording(format!(
            "{} is not an MP4 (ffmpeg reads it as `{}`)",
            original.display(),
            probe.formats
        )));
    }
    let track = mp4_chapters(&ms, probe.duration_ms, &original);
    if !track.iter().any(|c| c.title.is_some()) {
        tracing::warn!(
            recording = %original.display(),
            "every chapter starts after the end of the recording; nothing embedded"
        );
        return Ok(());
    }

    let dir = match original.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temps = TempFiles::new(&dir);
    let not_writable = |source| StreamError::OutputNotWritable {
        path: dir.clone(),
        source,
    };
    write_new(&temps.ffmetadata, ffmetadata(&track).as_bytes()).map_err(not_writable)?;

    let args = remux_args(&original, &temps.ffmetadata, &temps.mp4);
    let out = run_ffmpeg(opts, &args)?;
    if !out.status.success() {
        return Err(StreamError::FfmpegExited {
            status: out.status.to_string(),
            log_tail: out.log_tail,
        });
    }
    // The original's mode (it may have been made read-only for viewers, or group-writable).
    if let Err(e) = fs::set_permissions(&temps.mp4, meta.permissions()) {
        tracing::warn!(error = %e, "could not copy the recording's permissions");
    }
    File::open(&temps.mp4)
        .and_then(|f| f.sync_all())
        .map_err(not_writable)?;
    fs::rename(&temps.mp4, &original).map_err(not_writable)?;
    // The rename is done; syncing the folder only makes it durable sooner.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    tracing::info!(
        recording = %original.display(),
        products = track.iter().filter(|c| c.title.is_some()).count(),
        untitled = track.iter().filter(|c| c.title.is_none()).count(),
        "embedded chapters"
    );
    Ok(())
}

/// A checked chapter in whole milliseconds.
#[derive(Debug, Clone, PartialEq)]
struct MsChapter<'a> {
    product: &'a str,
    title: &'a str,
    start: u64,
    end: u64,
}

impl MsChapter<'_> {
    fn rounded(&self) -> Chapter {
        Chapter {
            product: self.product.to_owned(),
            title: self.title.to_owned(),
            start: self.start as f64 / 1000.0,
            end: self.end as f64 / 1000.0,
        }
    }
}

/// Applies the input rules of the module docs; returns the chapters in milliseconds.
fn validate(chapters: &[Chapter]) -> Result<Vec<MsChapter<'_>>, StreamError> {
    let bad = |n: usize, c: &Chapter, problem: String| StreamError::InvalidConfig {
        field: "chapters",
        problem: format!("chapter {n} ({:?}): {problem}", c.product),
    };
    let mut out: Vec<MsChapter<'_>> = Vec::with_capacity(chapters.len());
    for (i, c) in chapters.iter().enumerate() {
        let n = i + 1;
        for (what, text) in [("product", &c.product), ("title", &c.title)] {
            if text.trim().is_empty() {
                return Err(bad(n, c, format!("{what} is empty")));
            }
            if text.chars().any(char::is_control) {
                return Err(bad(
                    n,
                    c,
                    format!("{what} {text:?} contains a control character (line break, tab, NUL…)"),
                ));
            }
        }
        if c.product.contains("-->") {
            return Err(bad(n, c, "product must not contain \"-->\"".to_owned()));
        }
        for (what, t) in [("start", c.start), ("end", c.end)] {
            if !t.is_finite() || t < 0.0 {
                return Err(bad(
                    n,
                    c,
                    format!("{what} {t} is not a time of at least 0 s"),
                ));
            }
        }
        let (start, end) = (to_ms(c.start), to_ms(c.end));
        if end <= start {
            return Err(bad(
                n,
                c,
                format!(
                    "ends at {} (rounded to ms), not after its start {}",
                    vtt_time(end),
                    vtt_time(start)
                ),
            ));
        }
        if let Some(prev) = out.last() {
            if start < prev.start {
                return Err(bad(
                    n,
                    c,
                    format!(
                        "starts at {}, before chapter {} ({:?}) at {}: chapters must be sorted by start",
                        vtt_time(start),
                        n - 1,
                        prev.product,
                        vtt_time(prev.start)
                    ),
                ));
            }
            if start < prev.end {
                return Err(bad(
                    n,
                    c,
                    format!(
                        "starts at {}, before chapter {} ({:?}) ends at {}: chapters must not overlap",
                        vtt_time(start),
                        n - 1,
                        prev.product,
                        vtt_time(prev.end)
                    ),
                ));
            }
        }
        out.push(MsChapter {
            product: &c.product,
            title: &c.title,
            start,
            end,
        });
    }
    Ok(out)
}

/// Seconds (finite, not negative) to whole milliseconds, rounded half away from zero.
fn to_ms(secs: f64) -> u64 {
    // Saturates for absurd values; the order checks still hold.
    (secs * 1000.0).round() as u64
}

/// `HH:MM:SS.mmm` (hours grow past two digits when needed).
fn vtt_time(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{h:02}:{m:02}:{s:02}.{milli:03}")
}

/// WebVTT cue text: `&`, `<`, `>` as character references.
fn escape_vtt(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The `.chapters.vtt` text.
fn webvtt(chapters: &[MsChapter<'_>]) -> String {
    let mut out = String::from("WEBVTT\n");
    for (i, c) in chapters.iter().enumerate() {
        out.push_str(&format!(
            "\n{}-{}\n{} --> {}\n{}\n",
            i + 1,
            c.product,
            vtt_time(c.start),
            vtt_time(c.end),
            escape_vtt(c.title)
        ));
    }
    out
}

/// One chapter of the MP4's chapter track; `title: None` fills a gap.
#[derive(Debug, Clone, PartialEq)]
struct TrackChapter<'a> {
    title: Option<&'a str>,
    start: u64,
    end: u64,
}

/// The chapter track for the MP4: the products clipped to `duration_ms` (when known), with an
/// untitled chapter in every gap from 0 to the last product.
fn mp4_chapters<'a>(
    chapters: &[MsChapter<'a>],
    duration_ms: Option<u64>,
    recording: &Path,
) -> Vec<TrackChapter<'a>> {
    let limit = duration_ms.unwrap_or(u64::MAX);
    let mut track = Vec::with_capacity(chapters.len() * 2);
    let mut at = 0;
    for c in chapters {
        if c.start >= limit {
            tracing::warn!(
                recording = %recording.display(),
                product = c.product,
                start = %vtt_time(c.start),
                duration = %vtt_time(limit),
                "chapter starts after the end of the recording; left out of the MP4"
            );
            continue;
        }
        if c.start > at {
            track.push(TrackChapter {
                title: None,
                start: at,
                end: c.start,
            });
        }
        let end = c.end.min(limit);
        if end < c.end {
            tracing::debug!(
                product = c.product,
                end = %vtt_time(c.end),
                clipped = %vtt_time(end),
                "chapter end clipped to the recording's duration"
            );
        }
        track.push(TrackChapter {
            title: Some(c.title),
            start: c.start,
            end,
        });
        at = end;
    }
    track
}

/// ffmetadata value escaping: `=`, `;`, `#`, `\` and line breaks take a backslash.
fn escape_ffmetadata(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '=' | ';' | '#' | '\\' | '\n' | '\r') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The ffmetadata file given to ffmpeg as its second input. Every chapter gets a `title=` line
/// (empty for fillers): ffmpeg 5.1 writes a garbled chapter list when one lacks it.
fn ffmetadata(track: &[TrackChapter<'_>]) -> String {
    let mut out = String::from(";FFMETADATA1\n");
    for c in track {
        out.push_str(&format!(
            "\n[CHAPTER]\nTIMEBASE=1/1000\nSTART={}\nEND={}\ntitle={}\n",
            c.start,
            c.end,
            escape_ffmetadata(c.title.unwrap_or(""))
        ));
    }
    out
}

/// What `ffmpeg -i recording` says about its input.
#[derive(Debug, Clone, PartialEq)]
struct Probe {
    /// The demuxer's names, `mov,mp4,m4a,3gp,3g2,mj2` for MP4.
    formats: String,
    /// `Duration:` floored to 10 ms; `None` when ffmpeg prints `N/A`.
    duration_ms: Option<u64>,
}

/// Runs `ffmpeg -i recording` (no output, so it exits 1 after describing the input).
fn probe(recording: &Path, opts: &EncoderOptions) -> Result<Probe, StreamError> {
    let args = vec![
        "-hide_banner".into(),
        "-nostdin".into(),
        "-i".into(),
        file_url(recording),
    ];
    let out = run_ffmpeg(opts, &args)?;
    parse_probe(&out.stderr).ok_or_else(|| StreamError::FfmpegExited {
        status: out.status.to_string(),
        log_tail: out.log_tail,
    })
}

/// Reads `Input #0, <formats>, from '…':` and `  Duration: HH:MM:SS.cc, …` from ffmpeg's log.
fn parse_probe(stderr: &str) -> Option<Probe> {
    let mut lines = stderr.lines();
    let formats = lines.find_map(|l| {
        let rest = l.strip_prefix("Input #0, ")?;
        Some(rest.split(", from ").next()?.to_owned())
    })?;
    let duration = lines.find_map(|l| l.trim_start().strip_prefix("Duration: "))?;
    let duration = duration.split(',').next()?.trim();
    Some(Probe {
        formats,
        duration_ms: parse_hms_centis(duration),
    })
}

/// `HH:MM:SS.cc` → milliseconds.
fn parse_hms_centis(s: &str) -> Option<u64> {
    let mut parts = s.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let (secs, frac) = parts.next()?.split_once('.')?;
    if parts.next().is_some() || frac.is_empty() || frac.len() > 3 {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let frac_ms = frac.parse::<u64>().ok()? * 10u64.pow(3 - frac.len() as u32);
    Some(((h * 60 + m) * 60 + secs) * 1000 + frac_ms)
}

/// The remux: both inputs, all streams but an old chapter track, global metadata minus the
/// input's file-type brands (they would be written as tags and contradict the new `ftyp`),
/// chapters from the ffmetadata file, stream copy, faststart, custom tags kept.
fn remux_args(recording: &Path, ffmeta: &Path, output: &Path) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = [
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "level+warning",
        "-y",
        "-i",
    ]
    .iter()
    .map(Into::into)
    .collect();
    a.push(file_url(recording));
    a.extend(["-f", "ffmetadata", "-i"].iter().map(Into::into));
    a.push(file_url(ffmeta));
    let drop_old_chapters = format!("-0:d:m:handler_name:{CHAPTER_TRACK_HANDLER}?");
    a.extend(
        [
            "-map",
            "0",
            "-map",
            &drop_old_chapters,
            "-map_metadata",
            "0",
            "-metadata",
            "major_brand=",
            "-metadata",
            "minor_version=",
            "-metadata",
            "compatible_brands=",
            "-map_chapters",
            "1",
            "-c",
            "copy",
            "-movflags",
            "+faststart+use_metadata_tags",
            "-f",
            "mp4",
        ]
        .iter()
        .map(Into::into),
    );
    a.push(file_url(output));
    a
}

/// `file:<path>`, so that no path is read as an option (`-x.mp4`) or a protocol (`http:…`).
fn file_url(path: &Path) -> std::ffi::OsString {
    let mut s = std::ffi::OsString::from("file:");
    s.push(path.as_os_str());
    s
}

/// A finished ffmpeg run.
struct FfmpegRun {
    status: std::process::ExitStatus,
    stderr: String,
    log_tail: String,
}

/// Runs ffmpeg to the end with its stderr captured (also appended to
/// [`EncoderOptions::stderr_log`] and logged at debug level).
fn run_ffmpeg(
    opts: &EncoderOptions,
    args: &[std::ffi::OsString],
) -> Result<FfmpegRun, StreamError> {
    tracing::debug!(
        ffmpeg = %opts.ffmpeg.display(),
        args = %args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
        "running ffmpeg for chapters"
    );
    let mut cmd = Command::new(&opts.ffmpeg);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(path) = &opts.search_path {
        cmd.env("PATH", path);
    }
    let out = cmd.output().map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => StreamError::FfmpegNotFound {
            program: opts.ffmpeg.clone(),
        },
        _ => StreamError::Spawn {
            program: opts.ffmpeg.clone(),
            source,
        },
    })?;
    if let Some(path) = &opts.stderr_log {
        let appended = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(&out.stderr));
        if let Err(e) = appended {
            tracing::warn!(
                path = %path.display(),
                error = %e,
                "cannot append to the ffmpeg log file"
            );
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    for line in &lines {
        tracing::debug!(target: "anchor::stream::ffmpeg", "{line}");
    }
    let log_tail = if lines.is_empty() {
        "(ffmpeg wrote nothing to stderr)".to_owned()
    } else {
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    };
    Ok(FfmpegRun {
        status: out.status,
        stderr,
        log_tail,
    })
}

/// Temporary files of one embed, in the recording's folder; removed on drop (a renamed one is
/// simply gone already).
struct TempFiles {
    ffmetadata: PathBuf,
    mp4: PathBuf,
}

impl TempFiles {
    fn new(dir: &Path) -> TempFiles {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let stem = format!(
            ".anchor-chapters-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        TempFiles {
            ffmetadata: dir.join(format!("{stem}.ffmetadata")),
            mp4: dir.join(format!("{stem}.mp4")),
        }
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.ffmetadata);
        let _ = fs::remove_file(&self.mp4);
    }
}

/// Creates `path` (which must not exist) with `bytes`.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    let written = write_new(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
#[path = "chapters_tests.rs"]
mod tests;
