//! What the process holds right now, from `/proc/self` (Linux).

use serde::{Deserialize, Serialize};

/// One reading of the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// Resident set size (MiB; `VmRSS`).
    pub rss_mib: f64,
    /// Open file descriptors (entries of `/proc/self/fd`).
    pub fds: u32,
    /// Threads (`Threads` of `/proc/self/status`).
    pub threads: u32,
}

/// Reads `/proc/self`; `None` where it is not there (not Linux).
pub fn sample() -> Option<ProcessSample> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
    Some(ProcessSample {
        rss_mib: field("VmRSS:")? / 1024.0,
        // The directory listing itself holds one descriptor while it is read.
        fds: fds.saturating_sub(1) as u32,
        threads: field("Threads:")? as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_new_file_and_a_new_thread() {
        let before = sample().expect("/proc/self");
        assert!(before.rss_mib > 1.0 && before.threads >= 1, "{before:?}");
        let f = std::fs::File::open("/proc/self/status").expect("open");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv().ok());
        let during = sample().expect("/proc/self");
        // Other tests run threads and open files too: at least ours are seen.
        assert!(during.fds >= 1 && during.threads >= 2, "{during:?}");
        drop(f);
        tx.send(()).ok();
        t.join().ok();
    }
}
