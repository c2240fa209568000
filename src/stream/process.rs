//! The ffmpeg child process: spawning it with the audio pipe on fd 3, the two pipe writer
//! threads, and the stderr reader that logs through `tracing` and keeps the last lines.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, BufReader, PipeReader, PipeWriter, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::StreamError;
use super::command::{AUDIO_FD, FLV_FD};

/// Lines of ffmpeg's stderr kept for error messages.
const TAIL_LINES: usize = 20;

/// The last lines ffmpeg wrote to stderr, shared with the reader thread.
#[derive(Debug, Default)]
pub(crate) struct StderrTail(Mutex<VecDeque<String>>);

impl StderrTail {
    pub(crate) fn push(&self, line: String) {
        // A poisoned lock only means a reader panicked mid-push; the lines are still usable.
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, oldest first, joined with newlines; a placeholder when there are none.
    pub(crate) fn text(&self) -> String {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.is_empty() {
            "(ffmpeg wrote nothing to stderr)".to_owned()
        } else {
            Vec::from(lines.clone()).join("\n")
        }
    }
}

/// A started ffmpeg with its two input pipes (and the FLV output pipe when asked for).
pub(crate) struct Spawned {
    pub child: Child,
    pub video: ChildStdin,
    pub audio: PipeWriter,
    /// Read end of ffmpeg's fd [`FLV_FD`] (the tee's FLV slave), when requested.
    pub flv: Option<PipeReader>,
    pub stderr_thread: JoinHandle<()>,
    pub tail: Arc<StderrTail>,
}

/// Called with every stderr line of the encoder (to notice a tee slave failing).
pub(crate) type LineWatch = Box<dyn FnMut(&str) + Send>;

/// Lowest descriptor number our pipe ends may have before being moved onto 3 and 4 in the
/// child, so that neither `dup2` can overwrite the source of the other.
const FIRST_FREE_FD: i32 = 5;

/// `end` moved (if needed) to a close-on-exec descriptor >= [`FIRST_FREE_FD`].
fn lift<T: From<OwnedFd> + Into<OwnedFd> + AsRawFd>(end: T) -> io::Result<T> {
    if end.as_raw_fd() >= FIRST_FREE_FD {
        return Ok(end);
    }
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a descriptor we own returns a new descriptor (or -1);
    // the new one is owned by nobody else, so wrapping it in an OwnedFd is sound.
    let fd = unsafe { libc::fcntl(end.as_raw_fd(), libc::F_DUPFD_CLOEXEC, FIRST_FREE_FD) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    drop(end);
    // SAFETY: see above; `fd` is valid and unowned.
    Ok(T::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Starts `program args…` with video on stdin, audio on fd [`AUDIO_FD`], stderr captured, and
/// with `flv` the write end of a pipe on fd [`FLV_FD`] (its read end is returned).
pub(crate) fn spawn(
    program: &Path,
    search_path: Option<&OsStr>,
    args: &[OsString],
    stderr_log: Option<&Path>,
    flv: bool,
    watch: Option<LineWatch>,
) -> Result<Spawned, StreamError> {
    let (audio_r, audio_w) = io::pipe()?;
    // Both ends are close-on-exec, so no other child inherits them. The child-side ends are
    // moved above fd 4 so the dup2 calls below cannot clobber each other (or stdio).
    let audio_r = lift(audio_r)?;
    let (flv_r, flv_w) = if flv {
        let (r, w) = io::pipe()?;
        (Some(r), Some(lift(w)?))
    } else {
        (None, None)
    };
    let audio_fd = audio_r.as_raw_fd();
    let flv_fd = flv_w.as_ref().map(AsRawFd::as_raw_fd);

    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(path) = search_path {
        cmd.env("PATH", path);
    }
    // SAFETY: runs in the forked child before exec; it calls only the async-signal-safe dup2
    // on descriptors that are open (we hold them until spawn returns) and allocates nothing
    // (last_os_error reads errno). dup2's copy is not close-on-exec, so ffmpeg inherits it.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(audio_fd, AUDIO_FD) < 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(fd) = flv_fd
                && libc::dup2(fd, FLV_FD) < 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => StreamError::FfmpegNotFound {
            program: program.to_path_buf(),
        },
        _ => StreamError::Spawn {
            program: program.to_path_buf(),
            source,
        },
    })?;
    drop(audio_r);
    drop(flv_w);
    // Invariant: both were requested as Stdio::piped() above, so spawn returned them.
    let (Some(video), Some(stderr)) = (child.stdin.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(StreamError::Io(io::Error::other(
            "ffmpeg started without its stdin/stderr pipes",
        )));
    };
    let log_file = match stderr_log {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot open the ffmpeg log file; logging to tracing only");
                None
            }
        },
        None => None,
    };
    let tail = Arc::new(StderrTail::default());
    let stderr_thread = std::thread::Builder::new()
        .name("ffmpeg-stderr".into())
        .spawn({
            let tail = Arc::clone(&tail);
            move || read_stderr(stderr, &tail, log_file, watch)
        })
        .inspect_err(|_| {
            let _ = child.kill();
            let _ = child.wait();
        })?;
    Ok(Spawned {
        child,
        video,
        audio: audio_w,
        flv: flv_r,
        stderr_thread,
        tail,
    })
}

/// Logs each stderr line at the level ffmpeg gave it (`-loglevel level+info`), keeps the tail.
fn read_stderr(
    stderr: ChildStderr,
    tail: &StderrTail,
    mut log_file: Option<std::fs::File>,
    mut watch: Option<LineWatch>,
) {
    let mut reader = BufReader::new(stderr);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(target: "anchor::stream::ffmpeg", error = %e, "stderr read failed");
                break;
            }
        }
        if let Some(f) = log_file.as_mut() {
            let _ = f.write_all(&raw);
        }
        for line in String::from_utf8_lossy(&raw).split(['\r', '\n']) {
            let line = line.trim_end();
            if line.is_empty() {
                continue;
            }
            if line.contains("[fatal]") || line.contains("[error]") {
                tracing::error!(target: "anchor::stream::ffmpeg", "{line}");
            } else if line.contains("[warning]") {
                tracing::warn!(target: "anchor::stream::ffmpeg", "{line}");
            } else {
                tracing::debug!(target: "anchor::stream::ffmpeg", "{line}");
            }
            if let Some(w) = watch.as_mut() {
                w(line);
            }
            tail.push(line.to_owned());
        }
    }
}

/// Writes whole RGBA frames to ffmpeg's stdin; hands used buffers back for reuse. Returns when
/// the sender is dropped (then closing stdin tells ffmpeg the video ended) or a write fails.
pub(crate) fn write_video(
    rx: Receiver<Vec<u8>>,
    recycle: Sender<Vec<u8>>,
    mut out: ChildStdin,
) -> io::Result<()> {
    for frame in rx {
        out.write_all(&frame)?;
        // Pool full or gone: the buffer is simply freed.
        let _ = recycle.try_send(frame);
    }
    out.flush()
}

/// Writes samples as f32 little-endian to the audio pipe; non-finite samples become 0.
pub(crate) fn write_audio(rx: Receiver<Vec<f32>>, mut out: PipeWriter) -> io::Result<()> {
    let mut bytes = Vec::new();
    for samples in rx {
        bytes.clear();
        bytes.reserve(samples.len() * 4);
        for s in samples {
            let s = if s.is_finite() { s } else { 0.0 };
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        out.write_all(&bytes)?;
    }
    out.flush()
}

/// Waits up to `timeout` for the child to exit, then kills it. Returns its status.
pub(crate) fn wait_or_kill(
    child: &mut Child,
    timeout: Duration,
) -> io::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                pid = child.id(),
                "ffmpeg did not exit in {timeout:?}; killing it"
            );
            let _ = child.kill();
            return child.wait();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
