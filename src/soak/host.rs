//! The soak's human host: a real ffmpeg test-pattern push (320x240 at 25 fps with a tone, H.264
//! and AAC over RTMP: another size, rate and audio format than the show's) into the show's
//! host input, started and killed (SIGKILL, as a dropped connection) at the plan's media times.
//! It is read at the soak's pace (`-readrate`), so the feed arrives at the show's media rate.

use std::process::{Child, Command, Stdio};

use super::SoakError;

/// The host's feed (stopped on drop).
#[derive(Debug)]
pub struct HostFeed {
    url: String,
    rate: f64,
    child: Option<Child>,
}

impl HostFeed {
    /// A feed for a show listening on a free 127.0.0.1 port, read at `rate` × real time.
    pub fn new(rate: f64) -> Result<HostFeed, SoakError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| SoakError::Show(format!("no free port for the host feed: {e}")))?;
        Ok(HostFeed {
            url: format!("rtmp://127.0.0.1:{port}/live/host"),
            rate,
            child: None,
        })
    }

    /// Where the show listens for the host (`--host-input`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The host goes live: starts pushing (a running push is killed first).
    pub fn start(&mut self) -> Result<(), SoakError> {
        self.stop();
        let rate = format!("{:.3}", self.rate);
        let child = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-v", "error"])
            .args(["-readrate", &rate, "-f", "lavfi", "-i"])
            .arg("testsrc2=size=320x240:rate=25")
            .args(["-readrate", &rate, "-f", "lavfi", "-i"])
            .arg("sine=frequency=330:sample_rate=44100")
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
            ])
            .args([
                "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
            ])
            .args(["-f", "flv"])
            .arg(&self.url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                SoakError::Show(format!(
                    "cannot start ffmpeg for the host feed (install ffmpeg): {e}"
                ))
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// The host's connection drops.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for HostFeed {
    fn drop(&mut self) {
        self.stop();
    }
}
