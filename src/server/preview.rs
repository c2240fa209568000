//! The preview page and the live HLS it plays.
//!
//! - `GET /` — the page (`preview.html`, built into the binary): the video (muted autoplay,
//!   click to unmute), the product card, link-push pop-ups, the AI label, on-air state and a
//!   chat box, all from `/api/events` (a page opened late gets the current product first).
//!   The chat box posts to `/api/chat`; when a chat token is set, open the page as
//!   `/?token=<chat token>`: the page keeps it in the tab's session storage, removes it from
//!   the address bar and sends it as `Authorization: Bearer`. The server never writes a token
//!   into a page.
//! - `GET /assets/hls.min.js` — hls.js (from npm, embedded by `build.rs`); `404` when the binary
//!   was built without it, and the page then uses the browser's native HLS playback.
//! - `GET /live/<file>` — the files of [`Preview::hls_dir`] (`index.m3u8`, `seg_000001.ts`, …;
//!   plain names with the extensions `m3u8`, `ts`, `m4s`, `mp4`, `aac`, `vtt` only). The
//!   playlist is served with `Cache-Control: no-store` and with the AI label added as
//!   `#EXT-X-DATERANGE:ID="ai-label-…",CLASS="cn.ai-generated",START-DATE="…",X-AI-GENERATED="1",X-AI-LABEL="<label>"`
//!   after its first `#EXT-X-PROGRAM-DATE-TIME` (ffmpeg's HLS muxer cannot write it; HLS
//!   requires a program date time in any playlist with a date range, so a playlist without
//!   one is served as it is). `START-DATE` is the first program date time this server saw
//!   for the stream, so the range is the same in every reload (a new stream, seen as the
//!   media sequence going back, gets a new one).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The page, with `/*CONFIG*/null` and `<!--HLSJS-->` filled in per request.
const PAGE: &str = include_str!("preview.html");
/// hls.js, or empty when the build did not find it (see `build.rs`).
const HLS_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hls.min.js"));
/// `CLASS` of the AI-label date range in the served playlist.
pub const AI_LABEL_CLASS: &str = "cn.ai-generated";
/// Name of the playlist in the HLS folder.
const PLAYLIST: &str = "index.m3u8";

/// What the preview shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// The folder the show writes its live HLS to (`OUT/live`); `None`: the page has no video.
    pub hls_dir: Option<PathBuf>,
    /// The AI label: on the page and in the served playlist. Empty: [`DEFAULT_AI_LABEL`].
    pub ai_label: String,
}

/// The label used when none is configured.
pub const DEFAULT_AI_LABEL: &str = "本直播由AI数字人主持 / AI-generated virtual host";

impl Preview {
    fn label(&self) -> &str {
        let l = self.ai_label.trim();
        if l.is_empty() { DEFAULT_AI_LABEL } else { l }
    }
}

/// Whether hls.js is built in.
pub fn has_hls_js() -> bool {
    !HLS_JS.is_empty()
}

/// The date range's start, remembered per stream.
#[derive(Debug, Default)]
pub(crate) struct LabelRange {
    /// `START-DATE` of the current stream.
    start: Option<String>,
    /// Highest `#EXT-X-MEDIA-SEQUENCE` seen with it.
    sequence: u64,
}

pub(crate) type SharedLabelRange = Arc<Mutex<LabelRange>>;

/// `GET /`.
pub(super) async fn page(State(state): State<AppState>) -> Response {
    let cfg = serde_json::json!({
        "hls": state.preview.hls_dir.as_ref().map(|_| format!("/live/{PLAYLIST}")),
        "hlsjs": has_hls_js(),
        "ai_label": state.preview.label(),
        "ai_class": AI_LABEL_CLASS,
        "chat": state.chat.is_some(),
        "chat_token": state.auth.chat.is_some(),
    });
    // `<` escaped so no value can close the <script> element it sits in.
    let cfg = cfg.to_string().replace('<', "\\u003c");
    let script = if has_hls_js() {
        r#"<script src="/assets/hls.min.js"></script>"#
    } else {
        ""
    };
    let html = PAGE
        .replacen("/*CONFIG*/null", &cfg, 1)
        .replacen("<!--HLSJS-->", script, 1);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // The page's URL may hold the chat token: never send it to the product links.
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; media-src 'self' blob:; worker-src 'self' blob:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

/// `GET /assets/hls.min.js`.
pub(super) async fn hls_js() -> Response {
    if !has_hls_js() {
        return not_found("hls.js is not built into this binary: run scripts/setup.sh and rebuild");
    }
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        HLS_JS,
    )
        .into_response()
}

fn not_found(msg: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": msg })),
    )
        .into_response()
}

/// Content type of a file we serve from the HLS folder; `None`: not served.
fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1;
    Some(match ext {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "m4s" => "video/iso.segment",
        "mp4" => "video/mp4",
        "aac" => "audio/aac",
        "vtt" => "text/vtt; charset=utf-8",
        _ => return None,
    })
}

/// A plain file name: letters, digits, `_`, `-`, `.`, not starting with a dot.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `GET /live/{file}`.
pub(super) async fn live(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(dir) = &state.preview.hls_dir else {
        return not_found("this server has no HLS folder (it runs without a live show)");
    };
    let Some(ctype) = content_type(&file).filter(|_| plain_name(&file)) else {
        return not_found("no such file in the HLS folder");
    };
    let bytes = match tokio::fs::read(dir.join(&file)).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return not_found(if file == PLAYLIST {
                "no live playlist yet: the show is not on air (the page retries)"
            } else {
                "no such segment (it left the live window)"
            });
        }
        Err(e) => {
            tracing::warn!(file, "cannot read HLS file: {e}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({ "error": format!("cannot read {file}: {e}") })),
            )
                .into_response();
        }
    };
    if file == PLAYLIST {
        let text = String::from_utf8_lossy(&bytes);
        let body = {
            let mut range = state
                .label_range
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            with_ai_label(&text, state.preview.label(), &mut range)
        };
        let mut resp = ([(header::CONTENT_TYPE, ctype)], body).into_response();
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store, no-cache, must-revalidate"),
        );
        return resp;
    }
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response()
}

/// The playlist with the AI-label `#EXT-X-DATERANGE` after its first program date time.
pub(crate) fn with_ai_label(playlist: &str, label: &str, range: &mut LabelRange) -> String {
    let Some(pdt_line) = playlist
        .lines()
        .position(|l| l.starts_with("#EXT-X-PROGRAM-DATE-TIME:"))
    else {
        return playlist.to_owned();
    };
    if playlist.contains("#EXT-X-DATERANGE:") && playlist.contains(AI_LABEL_CLASS) {
        return playlist.to_owned();
    }
    let lines: Vec<&str> = playlist.lines().collect();
    let pdt = lines[pdt_line]["#EXT-X-PROGRAM-DATE-TIME:".len()..].trim();
    let sequence = lines
        .iter()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if range.start.is_none() || sequence < range.sequence {
        range.start = Some(iso_date(pdt));
        range.sequence = sequence;
    }
    range.sequence = range.sequence.max(sequence);
    let start = range.start.as_deref().unwrap_or(pdt);
    let tag = format!(
        "#EXT-X-DATERANGE:ID=\"ai-label-{start}\",CLASS=\"{AI_LABEL_CLASS}\",START-DATE=\"{start}\",X-AI-GENERATED=\"1\",X-AI-LABEL=\"{}\"",
        quoted(label)
    );
    let mut out = String::with_capacity(playlist.len() + tag.len() + 2);
    for (i, l) in lines.iter().enumerate() {
        out.push_str(l);
        out.push('\n');
        if i == pdt_line {
            out.push_str(&tag);
            out.push('\n');
        }
    }
    out
}

/// A value for an HLS quoted-string: no `"`, CR or LF.
fn quoted(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\r' | '\n' => ' ',
            c => c,
        })
        .collect()
}

/// ffmpeg writes `2026-11-22T00:53:52.123+0000`; ISO 8601 / RFC 3339 players want `+00:00`.
fn iso_date(pdt: &str) -> String {
    let b = pdt.as_bytes();
    let n = b.len();
    if n > 5
        && matches!(b[n - 5], b'+' | b'-')
        && b[n - 4..].iter().all(u8::is_ascii_digit)
        && pdt.contains('T')
    {
        format!("{}:{}", &pdt[..n - 2], &pdt[n - 2..])
    } else {
        pdt.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAYLIST_TEXT: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-PROGRAM-DATE-TIME:2026-11-22T00:53:52.123+0000\n#EXTINF:2.000000,\nseg_000004.ts\n#EXT-X-PROGRAM-DATE-TIME:2026-11-22T00:53:54.123+0000\n#EXTINF:2.000000,\nseg_000005.ts\n";

    #[test]
    fn the_label_goes_after_the_first_program_date_time_and_stays_the_same() {
        let mut range = LabelRange::default();
        let out = with_ai_label(PLAYLIST_TEXT, "AI \"host\"\n数字人", &mut range);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[6],
            "#EXT-X-DATERANGE:ID=\"ai-label-2026-11-22T00:53:52.123+00:00\",CLASS=\"cn.ai-generated\",START-DATE=\"2026-11-22T00:53:52.123+00:00\",X-AI-GENERATED=\"1\",X-AI-LABEL=\"AI 'host' 数字人\""
        );
        assert_eq!(lines.len(), PLAYLIST_TEXT.lines().count() + 1);
        assert_eq!(out.matches("#EXT-X-DATERANGE").count(), 1);
        // The window slides: same range (same ID and START-DATE), now before segment 5.
        let slid = PLAYLIST_TEXT
            .replace("SEQUENCE:4", "SEQUENCE:5")
            .replace("#EXT-X-PROGRAM-DATE-TIME:2026-11-22T00:53:52.123+0000\n#EXTINF:2.000000,\nseg_000004.ts\n", "");
        let out2 = with_ai_label(&slid, "AI", &mut range);
        assert!(
            out2.contains("START-DATE=\"2026-11-22T00:53:52.123+00:00\""),
            "{out2}"
        );
        // A new stream (sequence back to 0) gets its own range.
        let restarted = PLAYLIST_TEXT
            .replace("SEQUENCE:4", "SEQUENCE:0")
            .replace("00:53:52.123", "01:10:00.000");
        let out3 = with_ai_label(&restarted, "AI", &mut range);
        assert!(
            out3.contains("START-DATE=\"2026-11-22T01:10:00.000+00:00\""),
            "{out3}"
        );
        // Without a program date time there is no date range (HLS forbids it).
        let bare = "#EXTM3U\n#EXTINF:2.0,\nseg_000000.ts\n";
        assert_eq!(with_ai_label(bare, "AI", &mut LabelRange::default()), bare);
    }

    #[test]
    fn only_plain_hls_files_are_served() {
        assert_eq!(
            content_type("index.m3u8"),
            Some("application/vnd.apple.mpegurl")
        );
        assert_eq!(content_type("seg_000001.ts"), Some("video/mp2t"));
        assert_eq!(content_type("index.m3u8.tmp"), None);
        assert_eq!(content_type("README"), None);
        assert!(plain_name("seg_000001.ts"));
        assert!(!plain_name("../secret.ts"));
        assert!(!plain_name(".hidden.ts"));
        assert!(!plain_name("a/b.ts"));
        assert!(!plain_name("a%2fb.ts"));
    }
}
