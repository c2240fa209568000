//! Bearer tokens for the routes that change something: control (`/api/host`, `/api/product`,
//! `/api/pause`, `/api/resume`, `/api/say`) and chat ingest (`/api/chat`, `/api/chat/ws`).
//!
//! - A route whose token is configured needs `Authorization: Bearer <token>` (the WebSocket
//!   also takes `?token=<token>`, since browsers cannot set headers on it); anything else is
//!   `401` with a `WWW-Authenticate: Bearer` header, and the request goes no further (nothing
//!   is queued or sent). Tokens are compared in constant time.
//! - A route whose token is not configured is open; [`super::Server::start_with`] allows that
//!   only on a loopback address.
//! - The event stream and the state (`/api/events`, `/api/state`) take either token, only when
//!   the server binds an address that is not loopback (`AppState.guard_reads`).
//! - Every guarded request that carries an `Origin` header (browsers add it) must come from a
//!   page of this server (`Origin` = `http://<Host>`), else `403`: a web page elsewhere cannot
//!   drive a loopback server without tokens through the visitor's browser.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Environment variable read by `anchor run` for the control token (`--control-token` wins).
pub const CONTROL_TOKEN_ENV: &str = "ANCHOR_CONTROL_TOKEN";
/// Environment variable read by `anchor run` for the chat token (`--chat-token` wins).
pub const CHAT_TOKEN_ENV: &str = "ANCHOR_CHAT_TOKEN";

/// The server's tokens. `None`: that group of routes is open (allowed on loopback only).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// Token of the control endpoints.
    pub control: Option<String>,
    /// Token of chat ingest.
    pub chat: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret.
        let set = |t: &Option<String>| if t.is_some() { "set" } else { "none" };
        f.debug_struct("Auth")
            .field("control", &set(&self.control))
            .field("chat", &set(&self.chat))
            .finish()
    }
}

/// A token that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid {which} token: {problem}; use a random string of letters and digits, e.g. `openssl rand -hex 16`"
)]
pub struct InvalidToken {
    /// `control` or `chat`.
    pub which: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl Auth {
    /// Tokens from flags, falling back to [`CONTROL_TOKEN_ENV`] / [`CHAT_TOKEN_ENV`] values
    /// (pass `std::env::var(..).ok()`); each must be printable ASCII without spaces, at least
    /// 8 characters.
    pub fn from_sources(
        control_flag: Option<String>,
        control_env: Option<String>,
        chat_flag: Option<String>,
        chat_env: Option<String>,
    ) -> Result<Auth, InvalidToken> {
        let pick = |which, flag: Option<String>, env: Option<String>| {
            let token = flag.or(env.filter(|v| !v.is_empty()));
            match token {
                None => Ok(None),
                Some(t) => check(which, &t).map(|()| Some(t)),
            }
        };
        Ok(Auth {
            control: pick("control", control_flag, control_env)?,
            chat: pick("chat", chat_flag, chat_env)?,
        })
    }

    /// The names of the tokens not configured, e.g. `["control", "chat"]`.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.control.is_none() {
            m.push("control");
        }
        if self.chat.is_none() {
            m.push("chat");
        }
        m
    }
}

fn check(which: &'static str, token: &str) -> Result<(), InvalidToken> {
    let bad = |problem| Err(InvalidToken { which, problem });
    if token.is_empty() {
        return bad("it is empty");
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("it may only hold printable ASCII characters without spaces");
    }
    if token.len() < 8 {
        return bad("it is shorter than 8 characters");
    }
    Ok(())
}

/// Equal without an early exit: the time taken depends on the lengths only, not on where the
/// first difference is.
pub(crate) fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(0);
        diff |= std::hint::black_box(g ^ e);
    }
    diff == 0
}

/// Which token a guarded route takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Guard {
    Control,
    Chat,
    /// Reading the show: either token (off loopback only).
    View,
}

impl Guard {
    fn name(self) -> &'static str {
        match self {
            Guard::Control => "control",
            Guard::Chat => "chat",
            Guard::View => "control or chat",
        }
    }

    /// The tokens this route takes (none: it is open).
    fn tokens(self, state: &AppState) -> Vec<&str> {
        let auth = &state.auth;
        match self {
            Guard::Control => auth.control.as_deref().into_iter().collect(),
            Guard::Chat => auth.chat.as_deref().into_iter().collect(),
            Guard::View if state.guard_reads => [auth.control.as_deref(), auth.chat.as_deref()]
                .into_iter()
                .flatten()
                .collect(),
            Guard::View => Vec::new(),
        }
    }

    fn how(self) -> &'static str {
        match self {
            Guard::Control => {
                "send `Authorization: Bearer <control token>` (--control-token / ANCHOR_CONTROL_TOKEN)"
            }
            Guard::Chat => {
                "send `Authorization: Bearer <chat token>` (--chat-token / ANCHOR_CHAT_TOKEN), or open the preview page as /?token=<chat token>"
            }
            Guard::View => {
                "off loopback the show's events and state need `Authorization: Bearer <control or chat token>` or `?token=`; open the preview page as /?token=<chat token>"
            }
        }
    }
}

/// Middleware of the control routes.
pub(crate) async fn control(State(state): State<AppState>, req: Request, next: Next) -> Response {
    guard(Guard::Control, &state, req, next).await
}

/// Middleware of the chat routes.
pub(crate) async fn chat(State(state): State<AppState>, req: Request, next: Next) -> Response {
    guard(Guard::Chat, &state, req, next).await
}

/// Middleware of the event stream and the state.
pub(crate) async fn view(State(state): State<AppState>, req: Request, next: Next) -> Response {
    guard(Guard::View, &state, req, next).await
}

async fn guard(which: Guard, state: &AppState, req: Request, next: Next) -> Response {
    if let Err(origin) = same_origin(req.headers()) {
        tracing::warn!(route = %req.uri().path(), %origin, "cross-site request refused");
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": format!("cross-site request from {origin} refused: only pages of this server may call it")
            })),
        )
            .into_response();
    }
    let expected = which.tokens(state);
    if !expected.is_empty() {
        let given = bearer(req.headers()).or_else(|| query_token(req.uri().query()));
        let ok = given.as_deref().is_some_and(|g| {
            expected.iter().fold(false, |ok, e| {
                ok | constant_time_eq(g.as_bytes(), e.as_bytes())
            })
        });
        if !ok {
            let why = if given.is_some() { "wrong" } else { "missing" };
            tracing::warn!(route = %req.uri().path(), "{} token {why}: request refused", which.name());
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"anchor\"")],
                axum::Json(serde_json::json!({
                    "error": format!("{why} {} token: {}", which.name(), which.how())
                })),
            )
                .into_response();
        }
    }
    next.run(req).await
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// `token=` of the query string (percent-decoding is not needed: tokens are plain ASCII).
fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_owned)
}

/// `Err(origin)` when the request carries an `Origin` that is not this server.
fn same_origin(headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("?");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    if !host.is_empty() && origin_host.is_some_and(|o| o.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(origin.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"secret-token", b"secret-token"));
        assert!(!constant_time_eq(b"secret-tokeN", b"secret-token"));
        assert!(!constant_time_eq(b"secret-toke", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token-", b"secret-token"));
        assert!(!constant_time_eq(b"", b"secret-token"));
    }

    #[test]
    fn tokens_come_from_flags_then_env_and_are_checked() {
        let a = Auth::from_sources(
            Some("flag-token-1".into()),
            Some("env-token-1".into()),
            None,
            Some("env-chat-token".into()),
        )
        .unwrap();
        assert_eq!(a.control.as_deref(), Some("flag-token-1"));
        assert_eq!(a.chat.as_deref(), Some("env-chat-token"));
        assert!(a.missing().is_empty());
        // An empty env var means unset.
        let a = Auth::from_sources(None, Some(String::new()), None, None).unwrap();
        assert_eq!(a.missing(), ["control", "chat"]);
        let e = Auth::from_sources(Some("short".into()), None, None, None).unwrap_err();
        assert_eq!(e.which, "control");
        assert!(e.to_string().contains("openssl rand -hex 16"), "{e}");
        let e = Auth::from_sources(None, None, Some("has space in it".into()), None).unwrap_err();
        assert_eq!(e.which, "chat");
        // Debug never shows a token.
        let shown = format!(
            "{:?}",
            Auth {
                control: Some("top-secret-1".into()),
                chat: None
            }
        );
        assert!(!shown.contains("top-secret"), "{shown}");
    }
}
