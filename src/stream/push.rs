//! [`PushUrl`]: one `--push` destination, checked, with its secrets known so that logs and
//! events only ever show the redacted form.

use std::fmt;

use super::StreamError;

/// The protocols a push output can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushProtocol {
    /// `rtmp://host[:port]/app/key`: FLV over RTMP (H.264 + AAC).
    Rtmp,
    /// `rtmps://`: RTMP over TLS (Debian's ffmpeg uses GnuTLS).
    Rtmps,
    /// `srt://host:port?streamid=...`: MPEG-TS over SRT (Debian's ffmpeg has libsrt).
    Srt,
}

impl PushProtocol {
    /// The ffmpeg muxer that feeds this protocol.
    pub(crate) fn muxer(self) -> &'static str {
        match self {
            PushProtocol::Rtmp | PushProtocol::Rtmps => "flv",
            PushProtocol::Srt => "mpegts",
        }
    }
}

/// A push destination (`rtmp://`, `rtmps://` or `srt://`). `Display` and [`PushUrl::redacted`]
/// hide the stream key, passwords and query values; only [`PushUrl::secret_url`] gives the
/// real URL (for ffmpeg's command line).
#[derive(Clone, PartialEq, Eq)]
pub struct PushUrl {
    url: String,
    protocol: PushProtocol,
    redacted: String,
    secrets: Vec<String>,
}

/// Query keys whose values are settings, not secrets, and are shown in logs.
const PUBLIC_QUERY_KEYS: [&str; 6] = [
    "mode",
    "latency",
    "pkt_size",
    "transtype",
    "timeout",
    "connect_timeout",
];

impl PushUrl {
    /// Checks the scheme and the host; works out what to hide.
    pub fn parse(url: &str) -> Result<PushUrl, StreamError> {
        let bad = |problem: String| StreamError::InvalidConfig {
            field: "push",
            problem,
        };
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad(format!(
                "`{}` is not a URL; use rtmp://host/app/key, rtmps://host/app/key or srt://host:port",
                redact_all(url)
            )));
        };
        let protocol = match scheme.to_ascii_lowercase().as_str() {
            "rtmp" => PushProtocol::Rtmp,
            "rtmps" => PushProtocol::Rtmps,
            "srt" => PushProtocol::Srt,
            other => {
                return Err(bad(format!(
                    "unsupported scheme `{other}://`; use rtmp://, rtmps:// or srt://"
                )));
            }
        };
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "the URL contains spaces or control characters; percent-encode them".to_owned(),
            ));
        }
        let (before_query, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (before_query, None),
        };
        let mut secrets = Vec::new();
        let host = match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                secrets.push(userinfo.to_owned());
                if let Some((_, pass)) = userinfo.split_once(':') {
                    secrets.push(pass.to_owned());
                }
                host
            }
            None => authority,
        };
        if host.is_empty() || host.starts_with(':') {
            return Err(bad(format!(
                "`{scheme}://` URL has no host; e.g. {scheme}://live.example.com/app/key"
            )));
        }
        let mut redacted = format!("{scheme}://");
        if authority.contains('@') {
            redacted.push_str("****@");
        }
        redacted.push_str(host);
        if let Some(path) = path {
            // rtmp://host/app/KEY: the application is public, everything after it is the key.
            let mut parts = path.splitn(2, '/');
            let app = parts.next().unwrap_or_default();
            redacted.push('/');
            redacted.push_str(app);
            if let Some(key) = parts.next() {
                if !key.is_empty() {
                    secrets.push(key.to_owned());
                    redacted.push_str("/****");
                }
            } else if protocol != PushProtocol::Srt && query.is_none() {
                return Err(bad(format!(
                    "`{}` has no stream key; expected {scheme}://host/app/key",
                    redacted
                )));
            }
        } else if protocol != PushProtocol::Srt {
            return Err(bad(format!(
                "`{redacted}` has no application and stream key; expected {scheme}://host/app/key"
            )));
        }
        if let Some(query) = query {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if PUBLIC_QUERY_KEYS.contains(&k) => format!("{k}={v}"),
                    Some((k, v)) => {
                        if !v.is_empty() {
                            secrets.push(v.to_owned());
                        }
                        format!("{k}=****")
                    }
                    None => {
                        if !pair.is_empty() {
                            secrets.push(pair.to_owned());
                        }
                        "****".to_owned()
                    }
                })
                .collect();
            redacted.push('?');
            redacted.push_str(&pairs.join("&"));
        }
        if protocol == PushProtocol::Srt && !host.contains(':') && !host.ends_with(']') {
            return Err(bad(format!(
                "`{redacted}` has no port; SRT needs one, e.g. srt://host:9000?streamid=..."
            )));
        }
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Ok(PushUrl {
            url: url.to_owned(),
            protocol,
            redacted,
            secrets,
        })
    }

    /// The protocol.
    pub fn protocol(&self) -> PushProtocol {
        self.protocol
    }

    /// The URL with the stream key, password and query values replaced by `****`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The real URL, secrets included: only for ffmpeg's command line.
    pub fn secret_url(&self) -> &str {
        &self.url
    }

    /// `text` with every secret part of this URL replaced by `****` (for ffmpeg's log lines).
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.url, &self.redacted);
        for s in &self.secrets {
            if s.len() >= 3 {
                out = out.replace(s.as_str(), "****");
            }
        }
        out
    }
}

impl fmt::Display for PushUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for PushUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PushUrl({})", self.redacted)
    }
}

impl std::str::FromStr for PushUrl {
    type Err = StreamError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PushUrl::parse(s)
    }
}

/// For error messages about something that is not a URL at all: show only its first chars.
fn redact_all(s: &str) -> String {
    let shown: String = s.chars().take(8).collect();
    if s.chars().count() > 8 {
        format!("{shown}…")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_passwords_and_query_values_are_hidden() {
        let u =
            PushUrl::parse("rtmp://live-push.example.com/live/stream-KEY123?auth=abc999").unwrap();
        assert_eq!(u.protocol(), PushProtocol::Rtmp);
        assert_eq!(
            u.redacted(),
            "rtmp://live-push.example.com/live/****?auth=****"
        );
        assert_eq!(format!("{u}"), u.redacted());
        assert_eq!(format!("{u:?}"), format!("PushUrl({})", u.redacted()));
        let line = "rtmp://live-push.example.com/live/stream-KEY123?auth=abc999: Input/output error; key stream-KEY123";
        let scrubbed = u.scrub(line);
        assert!(
            !scrubbed.contains("KEY123") && !scrubbed.contains("abc999"),
            "{scrubbed}"
        );

        let s = PushUrl::parse("srt://ingest.example.com:9000?streamid=#!::r=live/k,m=publish&passphrase=supersecret&latency=200").unwrap();
        assert_eq!(s.protocol().muxer(), "mpegts");
        assert_eq!(
            s.redacted(),
            "srt://ingest.example.com:9000?streamid=****&passphrase=****&latency=200"
        );
        let t = PushUrl::parse("rtmps://user:pw1234@a.example.com:443/app/k-9").unwrap();
        assert_eq!(t.redacted(), "rtmps://****@a.example.com:443/app/****");
        assert!(!t.scrub("pw1234 k-9").contains("pw1234"));
    }

    #[test]
    fn bad_urls_say_what_to_write() {
        for (url, want) in [
            ("http://x/app/k", "unsupported scheme"),
            ("live.example.com/app/k", "not a URL"),
            ("rtmp://host", "no application and stream key"),
            ("rtmp://host/app", "no stream key"),
            ("rtmp:///app/k", "no host"),
            ("srt://host?streamid=x", "no port"),
            ("rtmp://host/app/k y", "spaces"),
        ] {
            let e = PushUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(want), "{url}: {e}");
        }
    }
}
