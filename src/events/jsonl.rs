//! The JSONL event log: one JSON line per event, appended.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::Receiver;

use super::{Event, Events, EventsError};

/// Events the log's queue holds while its thread writes. A burst beyond this (far more than a
/// show emits) drops the newest events with an error log rather than block the show.
pub const JSONL_QUEUE: usize = 65_536;

/// Appends every event emitted after [`JsonlLog::start`] to a file, one JSON object per line
/// (the wire format of [`crate::events`]), from its own thread. Each line is handed to the
/// operating system as soon as it is written (no user-space buffer), so a crash of the process
/// loses nothing already emitted. An existing file is appended to.
///
/// Dropping a `JsonlLog` without [`JsonlLog::finish`] stops feeding it; its thread still
/// writes what was queued, detached.
pub struct JsonlLog {
    events: Events,
    tap: u64,
    path: PathBuf,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<Outcome>>,
}

/// What a [`JsonlLog`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonlStats {
    /// Lines written.
    pub written: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
}

struct Outcome {
    written: u64,
    failed: u64,
    first_error: Option<std::io::Error>,
}

impl JsonlLog {
    /// Creates the parent folders and opens `path` for appending, then starts the writer
    /// thread. Events emitted from now on are logged.
    pub fn start(events: &Events, path: &Path) -> Result<JsonlLog, EventsError> {
        let open_err = |source| EventsError::LogOpen {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(open_err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(open_err)?;
        let tap = events.tap("jsonl log", JSONL_QUEUE, false);
        let rx = tap.rx;
        let thread_path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("anchor-events-jsonl".into())
            .spawn(move || write_lines(rx, file, &thread_path));
        let thread = match thread {
            Ok(t) => t,
            Err(source) => {
                events.untap(tap.id);
                return Err(EventsError::Spawn {
                    sink: "jsonl log",
                    source,
                });
            }
        };
        tracing::info!(path = %path.display(), "event log");
        Ok(JsonlLog {
            events: events.clone(),
            tap: tap.id,
            path: path.to_path_buf(),
            dropped: tap.dropped,
            thread: Some(thread),
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops taking new events, writes every event emitted before this call and joins the
    /// thread. Errors if a line could not be written (the first error, with the count).
    pub fn finish(mut self) -> Result<JsonlStats, EventsError> {
        self.events.untap(self.tap);
        let thread = self.thread.take();
        let outcome = thread
            .map(|t| t.join())
            .transpose()
            .map_err(|_| EventsError::Panicked { sink: "jsonl log" })?;
        let Some(outcome) = outcome else {
            return Ok(JsonlStats::default());
        };
        if let Some(source) = outcome.first_error {
            return Err(EventsError::LogWrite {
                path: self.path.clone(),
                failed: outcome.failed,
                source,
            });
        }
        Ok(JsonlStats {
            written: outcome.written,
            dropped: self.dropped.load(Ordering::Relaxed),
        })
    }
}

impl Drop for JsonlLog {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.events.untap(self.tap);
        }
    }
}

impl std::fmt::Debug for JsonlLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlLog")
            .field("path", &self.path)
            .finish()
    }
}

/// The writer thread: one `write` per line until the tap is closed and drained.
fn write_lines(rx: Receiver<Arc<Event>>, mut file: File, path: &Path) -> Outcome {
    let mut outcome = Outcome {
        written: 0,
        failed: 0,
        first_error: None,
    };
    let mut line = String::new();
    for event in rx.iter() {
        line.clear();
        line.push_str(&event.to_json());
        line.push('\n');
        match file.write_all(line.as_bytes()) {
            Ok(()) => outcome.written += 1,
            Err(e) => {
                outcome.failed += 1;
                if outcome.first_error.is_none() {
                    tracing::error!(path = %path.display(), id = event.id, "cannot write event log: {e}");
                    outcome.first_error = Some(e);
                }
            }
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    fn read_events(path: &Path) -> Vec<Event> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_burst_of_10000_events_is_logged_completely_in_order() {
        let dir = crate::testutil::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/events.jsonl");
        let events = Events::new();
        let log = JsonlLog::start(&events, &path).unwrap();
        for i in 0..10_000u64 {
            events.emit(
                i as f64 / 30.0,
                EventKind::LinkPushed {
                    product: format!("p{}", i % 7),
                    link: format!("https://shop.example/{i}"),
                },
            );
        }
        let stats = log.finish().unwrap();
        assert_eq!(
            stats,
            JsonlStats {
                written: 10_000,
                dropped: 0
            }
        );
        let logged = read_events(&path);
        assert_eq!(logged.len(), 10_000);
        for (i, e) in logged.iter().enumerate() {
            assert_eq!(e.id, i as u64 + 1);
            assert_eq!(
                e.kind,
                EventKind::LinkPushed {
                    product: format!("p{}", i % 7),
                    link: format!("https://shop.example/{i}"),
                }
            );
        }
    }

    #[test]
    fn appends_to_an_existing_log_and_only_logs_events_after_start() {
        let dir = crate::testutil::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
        let events = Events::new();
        events.emit(0.0, EventKind::OnAir); // before start: not logged
        let log = JsonlLog::start(&events, &path).unwrap();
        let e = events.emit(1.25, EventKind::Disclosure { text: "AI".into() });
        log.finish().unwrap();
        events.emit(2.0, EventKind::OnAir); // after finish: not logged
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], "{\"earlier\":true}");
        assert_eq!(lines[1], e.to_json());
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn unwritable_path_is_a_clear_error_at_start() {
        let dir = crate::testutil::tempdir().unwrap();
        // A file where a folder should be.
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let err = JsonlLog::start(&Events::new(), &blocker.join("events.jsonl")).unwrap_err();
        assert!(matches!(err, EventsError::LogOpen { .. }), "{err:?}");
        assert!(err.to_string().contains("not-a-dir"), "{err}");
    }
}
