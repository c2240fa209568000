//! Chat ingest: `POST /api/chat` and the WebSocket `/api/chat/ws` put viewer messages into the
//! show's [`Inbox`]. Both answer at once and never wait for the show.
//!
//! - `POST /api/chat` with JSON `{"user": "u1", "name": "小美", "text": "多少钱", "platform": "douyin"}`
//!   (`name`, `platform` optional): `202 {"queued":true}`; `400` for JSON that is not a
//!   message; `413` over 10 KiB; `429` when the inbox is full; `503` when the show has no chat;
//!   `401` without the chat token when one is set (`auth.rs`: `Authorization: Bearer <token>`
//!   or `?token=<token>`; the WebSocket handshake likewise), before anything is queued.
//! - `GET /api/chat/ws`: each text frame is one message, as the JSON above or plain text
//!   (then `user` is `ws-N` per connection). Each frame gets a JSON reply
//!   (`{"queued":true}` or `{"error":"..."}`). Binary frames (not UTF-8 text) are refused with
//!   an error frame and logged; the connection stays open.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::chat::{ChatMessage, Inbox, MAX_MESSAGE_BYTES, Rejected};

static WS_CONNECTIONS: AtomicU64 = AtomicU64::new(1);

fn queue(inbox: &Inbox, mut msg: ChatMessage, platform: &str) -> Result<(), Rejected> {
    if msg.platform.is_empty() {
        msg.platform = platform.to_owned();
    }
    msg.at = None;
    inbox.push(msg)
}

fn status(e: &Rejected) -> StatusCode {
    match e {
        Rejected::Full => StatusCode::TOO_MANY_REQUESTS,
        Rejected::TooLong => StatusCode::PAYLOAD_TOO_LARGE,
        Rejected::Closed => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `POST /api/chat`.
pub(super) async fn post(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Some(inbox) = &state.chat else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "this show takes no chat"})),
        )
            .into_response();
    };
    if body.len() > MAX_MESSAGE_BYTES + 1024 {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(serde_json::json!({"error": "message too long"})),
        )
            .into_response();
    }
    let msg: ChatMessage = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": format!("expected {{\"user\", \"text\", \"name\"?, \"platform\"?}}: {e}")})),
            )
                .into_response();
        }
    };
    match queue(inbox, msg, "http") {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({"queued": true})),
        )
            .into_response(),
        Err(e) => (
            status(&e),
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

/// `GET /api/chat/ws`.
pub(super) async fn ws(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let Some(inbox) = state.chat.clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "this show takes no chat").into_response();
    };
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES * 2)
        .on_upgrade(move |socket| session(socket, inbox))
}

async fn session(mut socket: WebSocket, inbox: Inbox) {
    let conn = WS_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    while let Some(frame) = socket.recv().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                // Invalid UTF-8 in a text frame, a protocol error: this connection ends.
                tracing::warn!(conn, "chat websocket closed: {e}");
                break;
            }
        };
        let reply = match frame {
            Message::Text(text) => {
                let msg =
                    serde_json::from_str::<ChatMessage>(&text).unwrap_or_else(|_| ChatMessage {
                        user: format!("ws-{conn}"),
                        name: String::new(),
                        text: text.to_string(),
                        platform: "websocket".into(),
                        time: String::new(),
                        at: None,
                    });
                match queue(&inbox, msg, "websocket") {
                    Ok(()) => serde_json::json!({"queued": true}),
                    Err(e) => serde_json::json!({"error": e.to_string()}),
                }
            }
            Message::Binary(_) => {
                tracing::warn!(
                    conn,
                    "chat websocket: binary frame (not UTF-8 text) refused"
                );
                serde_json::json!({"error": "send chat as UTF-8 text frames"})
            }
            Message::Close(_) => break,
            _ => continue,
        };
        if socket
            .send(Message::Text(reply.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
}
