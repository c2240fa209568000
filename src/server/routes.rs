//! The routes, all in [`router`], and the state every handler shares.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use tokio::sync::watch;

use super::control::{ControlCommand, ProductIds};
use super::preview::{Preview, SharedLabelRange};
use super::{Auth, auth, chat, control, preview, sse};
use crate::events::{Events, ShowState};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The show's event bus.
    pub events: Events,
    /// Where chat goes (`None`: the show takes no chat; the chat routes answer 503).
    pub chat: Option<crate::chat::Inbox>,
    /// Where control commands go (`None`: no show takes them; the control routes answer 503).
    /// The handlers only send; the show drains the receiver.
    pub control: Option<crossbeam_channel::Sender<ControlCommand>>,
    /// The product ids `POST /api/product` accepts (`None`: any id is passed on).
    pub products: Option<ProductIds>,
    /// The tokens of the control and chat routes.
    pub auth: Auth,
    /// What the preview page shows (the HLS folder, the AI label).
    pub preview: Preview,
    /// The AI-label date range of the served playlist, kept across reloads.
    pub(crate) label_range: SharedLabelRange,
    /// Set to true once at shutdown; long-lived responses (event streams) end on it.
    shutdown: Arc<watch::Sender<bool>>,
    /// The event stream and state need a token too (either one): set by
    /// [`super::Server::start_with`] on an address that is not loopback (tests set it to see
    /// the page take that path on loopback).
    pub(crate) guard_reads: bool,
}

impl AppState {
    /// State for a server (or a test router) over this bus.
    pub fn new(events: Events) -> Self {
        AppState {
            events,
            chat: None,
            control: None,
            products: None,
            auth: Auth::default(),
            preview: Preview::default(),
            label_range: SharedLabelRange::default(),
            shutdown: Arc::new(watch::channel(false).0),
            guard_reads: false,
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
            .field("auth", &self.auth)
            .field("preview", &self.preview)
            .finish_non_exhaustive()
    }
}

/// Every route of the server, in one place (documented in [`crate::server`]).
pub fn router(state: AppState) -> Router {
    // Guarded groups: the token check runs before the handler (nothing happens without it).
    let control = Router::new()
        .route("/api/host", post(control::host))
        .route("/api/product", post(control::product))
        .route("/api/pause", post(control::pause))
        .route("/api/resume", post(control::resume))
        .route("/api/say", post(control::say))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::control));
    let chat = Router::new()
        .route("/api/chat", post(chat::post))
        .route("/api/chat/ws", get(chat::ws))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::chat));
    // What the show does (chat user ids, moderation): either token off loopback.
    let view = Router::new()
        .route("/api/state", get(show_state))
        .route("/api/events", get(sse::events))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::view));
    Router::new()
        .route("/", get(preview::page))
        .route("/assets/hls.min.js", get(preview::hls_js))
        .route("/live/{file}", get(preview::live))
        .route("/api/health", get(health))
        .merge(view)
        .merge(control)
        .merge(chat)
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
