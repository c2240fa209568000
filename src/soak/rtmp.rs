//! A private RTMP server for the soak: nginx with Debian's libnginx-mod-rtmp, run from a
//! config in the soak's folder, killed (SIGKILL, as a crash) and restarted by the soak. It
//! records every publish session to its own FLV file, so the pushed stream can be read back
//! afterwards: timestamps across the reconnect and the media lost.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::SoakError;

const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// The server (stopped on drop).
#[derive(Debug)]
pub struct RtmpServer {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RtmpServer {
    /// Whether nginx and its RTMP module are installed (scripts/setup.sh installs both).
    pub fn available() -> bool {
        Path::new(MODULE).is_file()
            && Command::new("nginx")
                .arg("-v")
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// Writes the config under `dir` and starts the server on a free 127.0.0.1 port.
    pub fn start(dir: &Path) -> Result<RtmpServer, SoakError> {
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).map_err(|e| SoakError::Write(rec.clone(), e))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| SoakError::Show(format!("no free port for the RTMP server: {e}")))?;
        let d = dir.display();
        let conf = format!(
            "load_module {MODULE};\ndaemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\nrtmp {{\n  server {{\n    listen 127.0.0.1:{port};\n    application live {{\n      live on;\n      record all;\n      record_path {};\n      record_unique on;\n    }}\n  }}\n}}\n",
            rec.display()
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).map_err(|e| SoakError::Write(path, e))?;
        let mut s = RtmpServer {
            dir: dir.to_path_buf(),
            port,
            child: None,
        };
        s.restart()?;
        Ok(s)
    }

    /// Where the soak pushes.
    pub fn url(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live/soak", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn restart(&mut self) -> Result<(), SoakError> {
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&self.dir)
            .arg("-e")
            .arg(self.dir.join("error.log"))
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                SoakError::Show(format!(
                    "cannot start nginx (scripts/setup.sh installs it): {e}"
                ))
            })?;
        self.child = Some(child);
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if t0.elapsed() > Duration::from_secs(10) {
                return Err(SoakError::Show(format!(
                    "nginx did not start; see {}",
                    self.dir.join("error.log").display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Kills the server as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// The recorded sessions, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut v: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(self.dir.join("rec"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "flv"))
            .map(|e| {
                let t = e
                    .metadata()
                    .and_then(|m| m.created().or_else(|_| m.modified()))
                    .unwrap_or(std::time::UNIX_EPOCH);
                (t, e.path())
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, p)| p).collect()
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the RTMP server received, session by session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushReadBack {
    /// Publish sessions (1 + reconnects).
    pub sessions: usize,
    /// Video seconds received in each session (packets / fps).
    pub session_secs: Vec<f64>,
    /// Media seconds sent but not received (outage and reconnect): media − received.
    pub lost_s: f64,
    /// Packets whose timestamp is not after the previous one's, within a session.
    pub non_monotonic: u64,
}

/// Reads the recorded sessions back with ffprobe (video packets); `media_s` is what was sent.
pub fn read_back(files: &[PathBuf], fps: u32, media_s: f64) -> PushReadBack {
    let mut r = PushReadBack::default();
    let mut received = 0.0;
    for f in files {
        let Ok(out) = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "packet=dts_time",
            ])
            .args(["-of", "csv=p=0"])
            .arg(f)
            .output()
        else {
            continue;
        };
        let ts: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
            .collect();
        if ts.is_empty() {
            continue;
        }
        r.non_monotonic += ts.windows(2).filter(|w| w[1] <= w[0]).count() as u64;
        let secs = ts.len() as f64 / f64::from(fps.max(1));
        received += secs;
        r.session_secs.push(secs);
        r.sessions += 1;
    }
    r.lost_s = (media_s - received).max(0.0);
    r
}
