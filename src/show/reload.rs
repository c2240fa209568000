//! Hot reload: watch the script file while on air and hand every valid edit to the director.
//!
//! Editors save in many ways (write in place, write a temp file and rename over, delete and
//! create), so the folder holding the script is watched (notify, not recursive) and any change
//! to the script's path (or a file it includes) triggers a reload after the writes settle
//! ([`SETTLE`]). An unchanged file (same bytes) is ignored. A valid script goes to
//! [`Director::reload`] (it takes effect at the next line or segment boundary); an invalid one
//! is logged with every `file:line:col` and sent as a `script_rejected` event, and the show
//! keeps playing the last good script.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use std::sync::mpsc::{RecvTimeoutError, channel};

use super::director::Director;
use crate::events::{EventKind, Events};
use crate::script::Script;

/// Quiet time after the last change before the file is read (editors write in bursts).
pub const SETTLE: Duration = Duration::from_millis(250);

/// A running watcher; dropping it (or [`ReloadWatcher::stop`]) ends it.
pub struct ReloadWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReloadWatcher {
    /// Watches `script` (and the files it includes) for edits. `from_top`: each accepted edit
    /// restarts the rundown from its first segment (see [`Director::reload_with`]);
    /// `product_ids` (the HTTP server's check of `POST /api/product`) gets its products.
    pub fn start(
        script: &Path,
        director: Arc<Director>,
        events: Events,
        from_top: bool,
        product_ids: Option<crate::server::ProductIds>,
    ) -> Result<ReloadWatcher, notify::Error> {
        let (tx, rx) = channel();
        let mut watcher = notify::recommended_watcher(tx)?;
        let path = std::path::absolute(script).unwrap_or_else(|_| script.to_path_buf());
        let mut files = watched_files(&path, &director.script());
        let mut watching = folders(&files);
        for dir in &watching {
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("anchor-reload".into())
                .spawn(move || {
                    let mut watcher = watcher; // lives as long as the thread
                    let mut last = contents(&files);
                    while !stop.load(Ordering::Relaxed) {
                        match rx.recv_timeout(Duration::from_millis(200)) {
                            Ok(Ok(ev)) if ev.paths.iter().any(|p| files.contains(p)) => {}
                            Ok(_) | Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                        // Let the burst of writes settle.
                        while rx.recv_timeout(SETTLE).is_ok() {}
                        let now = contents(&files);
                        if now == last {
                            continue;
                        }
                        if let Some(script) = reload(&path, &director, &events, from_top) {
                            if let Some(ids) = &product_ids
                                && let Ok(mut ids) = ids.write()
                            {
                                *ids = script.products.iter().map(|p| p.id.clone()).collect();
                            }
                            files = watched_files(&path, &script);
                            for dir in folders(&files).difference(&watching.clone()) {
                                match watcher.watch(dir, RecursiveMode::NonRecursive) {
                                    Ok(()) => {
                                        watching.insert(dir.clone());
                                    }
                                    Err(e) => tracing::warn!(
                                        "cannot watch {} for edits: {e}",
                                        dir.display()
                                    ),
                                }
                            }
                        }
                        last = contents(&files);
                    }
                })
                .map_err(|e| notify::Error::generic(&e.to_string()))?
        };
        Ok(ReloadWatcher {
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ReloadWatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Loads the edited script and hands it to the director, or reports why not.
fn reload(path: &Path, director: &Director, events: &Events, from_top: bool) -> Option<Script> {
    let shown = path.display().to_string();
    match Script::load(path) {
        Ok(script) => {
            for w in &script.warnings {
                tracing::warn!("{w}");
            }
            let kind = director.reload_with(script.clone(), from_top);
            tracing::info!(
                script = %shown,
                "script edit accepted: takes effect at the next {}",
                kind.name()
            );
            Some(script)
        }
        Err(e) => {
            let errors: Vec<String> = e.to_string().lines().map(str::to_owned).collect();
            for line in &errors {
                tracing::error!(
                    "script edit rejected, still playing the last good version: {line}"
                );
            }
            events.emit(
                director.now_pts(),
                EventKind::ScriptRejected {
                    script: shown,
                    errors,
                },
            );
            None
        }
    }
}

/// The script and the files it includes, as absolute paths.
fn watched_files(path: &Path, script: &Script) -> HashSet<PathBuf> {
    let mut files: HashSet<PathBuf> = script
        .includes
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    files.insert(path.to_path_buf());
    files
}

fn folders(files: &HashSet<PathBuf>) -> HashSet<PathBuf> {
    files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect()
}

/// The bytes of every watched file, in path order (to skip events that changed nothing).
fn contents(files: &HashSet<PathBuf>) -> Vec<Option<Vec<u8>>> {
    let mut paths: Vec<&PathBuf> = files.iter().collect();
    paths.sort();
    paths.into_iter().map(|p| std::fs::read(p).ok()).collect()
}
