//! The routes, all in [`router`], and the state every handler shares.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tokio::sync::watch;

use super::sse;
use crate::events::{Events, ShowState};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The show's event bus.
    pub events: Events,
    /// Where chat goes (`None`: the show takes no chat; the chat routes answer 503).
    pub chat: Option<crate::chat::Inbox>,
    /// Set to true once at shutdown; long-lived responses (event streams) end on it.
    shutdown: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// State for a server (or a test router) over this bus.
    pub fn new(events: Events) -> Self {
        AppState {
            events,
            chat: None,
            shutdown: Arc::new(watch::channel(false).0),
        }
    }

    /// A receiver that turns true at shutdown.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Ends the event streams (and, in [`super::Server`], the server).
    pub(crate) fn signal_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// Every route of the server, in one place (documented in [`crate::server`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/state", get(show_state))
        .route("/api/events", get(sse::events))
        .route("/api/chat", axum::routing::post(super::chat::post))
        .route("/api/chat/ws", get(super::chat::ws))
        .with_state(state)
}

/// `GET /api/health`: the server is up.
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": true }))
}

/// `GET /api/state`: what is on air now.
async fn show_state(State(state): State<AppState>) -> Json<ShowState> {
    Json(state.events.state())
}
