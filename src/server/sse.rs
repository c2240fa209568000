//! `GET /api/events`: the event bus as Server-Sent Events (format in [`crate::server`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use crate::events::Event;

/// A keep-alive comment goes out after this long without events.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Frames queued per client between the bus and its socket; behind that, the bus's own
/// buffer ([`crate::events::SUBSCRIBER_CAPACITY`]) fills, and then the client skips events.
pub const CLIENT_BUFFER: usize = 64;

/// Query of `GET /api/events`.
#[derive(Debug, Deserialize)]
pub(super) struct EventsQuery {
    /// Replay the recent events after this id.
    since: Option<u64>,
}

type Frame = Result<SseEvent, Infallible>;

pub(super) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> impl IntoResponse {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let since = last_event_id.or(query.since);

    // Snapshot and subscription in one step: the receiver yields exactly the events after
    // the snapshot, so nothing is sent twice or missed.
    let (recent, show, rx) = state.events.subscribe_with_history();
    let mut first = Vec::new();
    match since {
        Some(since) if since <= show.last_event_id => {
            if let Some(oldest) = recent.first()
                && since + 1 < oldest.id
            {
                first.push(comment(format!(
                    "events {}..{} are no longer kept",
                    since + 1,
                    oldest.id - 1
                )));
            }
            first.extend(recent.iter().filter(|e| e.id > since).map(|e| frame(e)));
        }
        _ => {
            if since.is_some() {
                first.push(comment("the show was restarted; starting over".into()));
            }
            if let Some(product) = &show.product {
                first.push(frame(product));
            }
        }
    }
    tracing::debug!(?since, replay = first.len(), "event stream client");

    let (tx, out) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(pump(first, rx, tx, state.shutdown_signal()));
    Sse::new(ReceiverStream::new(out))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// Feeds one client: the opening frames, then live events, until the client goes away, the
/// bus is dropped or the server shuts down.
async fn pump(
    first: Vec<SseEvent>,
    mut rx: broadcast::Receiver<Arc<Event>>,
    tx: mpsc::Sender<Frame>,
    mut shutdown: watch::Receiver<bool>,
) {
    for f in first {
        if !send(&tx, f, &mut shutdown).await {
            return;
        }
    }
    loop {
        let next = tokio::select! {
            r = rx.recv() => r,
            () = tx.closed() => return,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let f = match next {
            Ok(event) => frame(&event),
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::warn!(skipped, "event stream client too slow; skipping events");
                comment(format!(
                    "skipped {skipped} events (this client reads too slowly)"
                ))
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if !send(&tx, f, &mut shutdown).await {
            return;
        }
    }
}

/// Queues one frame for the client; false when the client is gone or the server stops.
async fn send(tx: &mpsc::Sender<Frame>, f: SseEvent, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        r = tx.send(Ok(f)) => r.is_ok(),
        _ = shutdown.wait_for(|stop| *stop) => false,
    }
}

/// `id: <id>\nevent: <type>\ndata: <json>\n\n`
fn frame(event: &Event) -> SseEvent {
    SseEvent::default()
        .id(event.id.to_string())
        .event(event.type_name())
        .data(event.to_json())
}

/// `: <text>\n\n`
fn comment(text: String) -> SseEvent {
    SseEvent::default().comment(text)
}
