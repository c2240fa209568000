//! Control endpoints: the operator steers the show over HTTP. The server does not own the
//! show: each handler checks the request, sends one [`ControlCommand`] on
//! [`AppState::control`](super::AppState::control) and answers `202 {"accepted":"<command>"}`;
//! what the show then does is visible in the event stream (the handler emits nothing).
//!
//! | route | body | command |
//! |---|---|---|
//! | `POST /api/host` | `{"online": bool}` | [`ControlCommand::HostOnline`] |
//! | `POST /api/product` | `{"id": "lipstick-01"}` | [`ControlCommand::SwitchProduct`] |
//! | `POST /api/pause` | none (or `{}`) | [`ControlCommand::Pause`] |
//! | `POST /api/resume` | none (or `{}`) | [`ControlCommand::Resume`] |
//! | `POST /api/say` | `{"text": "...", "now": bool}` (`now` optional, default false) | [`ControlCommand::Say`] |
//!
//! Answers: `401` without the control token (see `auth.rs`; checked first, nothing is sent);
//! `400 {"error": ...}` for a body that is not that JSON, an empty id or text, a text over
//! [`MAX_SAY_BYTES`], or a product id not in [`AppState::products`] (when set: `anchor run` sets it
//! from the script and the show replaces it with every accepted edit); `503` when no
//! show takes control commands (no sender, or its receiver is gone).

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;

/// Longest text `POST /api/say` takes, in bytes of UTF-8.
pub const MAX_SAY_BYTES: usize = 2000;

/// What the operator asks the show to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCommand {
    /// The human host is (`true`) or is not (`false`) on air: `false` makes the avatar take
    /// over, `true` hands back at a sentence boundary.
    HostOnline(bool),
    /// Switch to this product (its id in the script).
    SwitchProduct(String),
    /// Pause the show (the stream goes on, see the show's docs for what is on air).
    Pause,
    /// Resume after [`ControlCommand::Pause`].
    Resume,
    /// Say this line: at the next sentence boundary, or at once when `now`.
    Say { text: String, now: bool },
}

impl ControlCommand {
    /// Short name for answers and logs: `host`, `product`, `pause`, `resume`, `say`.
    pub fn name(&self) -> &'static str {
        match self {
            ControlCommand::HostOnline(_) => "host",
            ControlCommand::SwitchProduct(_) => "product",
            ControlCommand::Pause => "pause",
            ControlCommand::Resume => "resume",
            ControlCommand::Say { .. } => "say",
        }
    }
}

/// The product ids the show knows, for `POST /api/product` to refuse unknown ones with `400`.
/// Shared so the show can replace it when a script edit is accepted.
pub type ProductIds = Arc<RwLock<BTreeSet<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostBody {
    online: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductBody {
    id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SayBody {
    text: String,
    #[serde(default)]
    now: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

fn bad_request(msg: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": msg })),
    )
        .into_response()
}

/// The body as `T`, or a `400` answer saying what was expected.
fn parse<T: DeserializeOwned>(body: &[u8], expected: &str) -> Result<T, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(bad_request(format!("expected a JSON body {expected}: {e}"))))
}

/// Sends the command; 202, or 503 when nobody takes it.
fn send(state: &AppState, cmd: ControlCommand) -> Response {
    let name = cmd.name();
    let Some(tx) = &state.control else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "this show takes no control commands"})),
        )
            .into_response();
    };
    match tx.send(cmd) {
        Ok(()) => {
            tracing::info!(command = name, "control command accepted");
            (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({ "accepted": name })),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "the show has stopped taking control commands"})),
        )
            .into_response(),
    }
}

/// `POST /api/host`.
pub(super) async fn host(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    match parse::<HostBody>(&body, r#"{"online": true|false}"#) {
        Ok(b) => send(&state, ControlCommand::HostOnline(b.online)),
        Err(r) => *r,
    }
}

/// `POST /api/product`.
pub(super) async fn product(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let b = match parse::<ProductBody>(&body, r#"{"id": "<product id>"}"#) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let id = b.id.trim().to_owned();
    if id.is_empty() {
        return bad_request("the product id is empty: send {\"id\": \"<product id>\"}".into());
    }
    if let Some(known) = &state.products {
        let known = known
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !known.contains(&id) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            return bad_request(format!(
                "unknown product `{id}`; the script has: {}",
                list.join(", ")
            ));
        }
    }
    send(&state, ControlCommand::SwitchProduct(id))
}

/// `POST /api/pause`.
pub(super) async fn pause(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    no_body(&state, &body, ControlCommand::Pause)
}

/// `POST /api/resume`.
pub(super) async fn resume(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    no_body(&state, &body, ControlCommand::Resume)
}

fn no_body(state: &AppState, body: &[u8], cmd: ControlCommand) -> Response {
    if !body.iter().all(u8::is_ascii_whitespace)
        && let Err(r) = parse::<Empty>(body, "(none, or {})")
    {
        return *r;
    }
    send(state, cmd)
}

/// `POST /api/say`.
pub(super) async fn say(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let b = match parse::<SayBody>(&body, r#"{"text": "...", "now": false}"#) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let text = b.text.trim().to_owned();
    if text.is_empty() {
        return bad_request("the text is empty: send {\"text\": \"what to say\"}".into());
    }
    if text.len() > MAX_SAY_BYTES {
        return bad_request(format!(
            "the text is {} bytes; at most {MAX_SAY_BYTES} (split it into several lines)",
            text.len()
        ));
    }
    send(&state, ControlCommand::Say { text, now: b.now })
}
