//! room: the room config file (`anchor run SCRIPT --room room.yaml`): where the stream goes,
//! where the human host comes in, and who may control the show. Everything in it can also be
//! given on the command line; flags add to (`--push`) or override (the rest) the file.
//!
//! ```yaml
//! push:                                   # outputs besides the HLS preview and the recording
//!   - rtmp://live-push.example.com/live/STREAM-KEY
//!   - srt://ingest.example.com:9000?streamid=KEY
//! host:
//!   input: rtmp://127.0.0.1:1936/live/host  # the host pushes here (or a URL to pull)
//!   grace: 5                               # seconds without the host before the avatar takes over
//! http:
//!   bind: 127.0.0.1:8686
//!   control_token: change-me               # Bearer token for /api/host, /api/pause, ...
//!   chat_token: change-me-too              # Bearer token for /api/chat
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The room config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    #[serde(default)]
    pub push: Vec<String>,
    #[serde(default)]
    pub host: Option<HostConfig>,
    #[serde(default)]
    pub http: Option<HttpConfig>,
}

/// The human host's feed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    pub input: String,
    /// Seconds without the host's frames before the avatar takes the show over.
    #[serde(default)]
    pub grace: Option<f64>,
}

/// The built-in HTTP server.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `ADDR:PORT` or `off`.
    #[serde(default)]
    pub bind: Option<String>,
    #[serde(default)]
    pub control_token: Option<String>,
    #[serde(default)]
    pub chat_token: Option<String>,
}

/// A room file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("cannot read room config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason} (see `anchor run --help` and the room section of the README)", path.display())]
    Invalid { path: PathBuf, reason: String },
}

impl Room {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Room, RoomError> {
        let text = std::fs::read_to_string(path).map_err(|source| RoomError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Room::parse(&text).map_err(|reason| RoomError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses and checks a room file's text; the error says where and what.
    pub fn parse(text: &str) -> Result<Room, String> {
        let room: Room = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        for url in &room.push {
            let scheme = url.split("://").next().unwrap_or_default();
            if !url.contains("://") || !matches!(scheme, "rtmp" | "rtmps" | "srt") {
                return Err(format!(
                    "push `{}`: not an rtmp://, rtmps:// or srt:// URL",
                    redact(url)
                ));
            }
        }
        if let Some(host) = &room.host {
            if host.input.trim().is_empty() {
                return Err(
                    "host.input is empty: give the URL the host pushes to or that is pulled".into(),
                );
            }
            if host.grace.is_some_and(|g| !(g.is_finite() && g > 0.0)) {
                return Err("host.grace must be a positive number of seconds".into());
            }
        }
        for (name, token) in room.http.iter().flat_map(|h| {
            [
                ("control_token", &h.control_token),
                ("chat_token", &h.chat_token),
            ]
        }) {
            if token.as_ref().is_some_and(|t| t.trim().len() < 8) {
                return Err(format!(
                    "http.{name} is shorter than 8 characters: use a long random token"
                ));
            }
        }
        Ok(room)
    }
}

/// `url` with its stream key (the last path segment and any query) hidden, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_room_parses() {
        let r = Room::parse(
            "push: [rtmp://a.example/live/KEY, 'srt://b.example:9000?streamid=K']\nhost: {input: rtmp://127.0.0.1:1936/live/host, grace: 3}\nhttp: {bind: 0.0.0.0:8686, control_token: abcdefgh12, chat_token: ijklmnop34}\n",
        )
        .expect("room");
        assert_eq!(r.push.len(), 2);
        assert_eq!(r.host.as_ref().and_then(|h| h.grace), Some(3.0));
        assert_eq!(
            r.http.and_then(|h| h.control_token).as_deref(),
            Some("abcdefgh12")
        );
    }

    #[test]
    fn mistakes_are_named_and_keys_never_printed() {
        let e = Room::parse("pushes: []\n").expect_err("unknown key");
        assert!(e.contains("pushes"), "{e}");
        let e = Room::parse("push: [http://x.example/live/SECRET]\n").expect_err("scheme");
        assert!(e.contains("rtmp://") && !e.contains("SECRET"), "{e}");
        let e = Room::parse("http: {control_token: abc}\n").expect_err("short token");
        assert!(e.contains("control_token"), "{e}");
        let e = Room::parse("host: {input: x, grace: -1}\n").expect_err("grace");
        assert!(e.contains("grace"), "{e}");
        assert_eq!(
            redact("rtmp://a.example:1935/live/KEY?x=1"),
            "rtmp://a.example:1935/…"
        );
    }
}
