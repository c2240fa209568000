//! server: the local HTTP server (axum) — the show's events out to pages and tools, chat in,
//! operator control in, and a preview page of the live stream.
//!
//! In: a [`ServerConfig`] (the address to listen on, [`DEFAULT_BIND`] = `127.0.0.1:8686` unless
//! the user passes `--http ADDR`; `--http off` runs without it) and an [`AppState`]: the show's
//! [`Events`] bus, the chat [`Inbox`](crate::chat::Inbox), the sender of [`ControlCommand`]s,
//! the tokens ([`Auth`]) and what the preview shows ([`Preview`]: the HLS folder, the AI
//! label). Out: HTTP on that address. Every route is listed in [`router`]:
//!
//! | route | token | what |
//! |---|---|---|
//! | `GET /` | — | the preview page (`preview.rs`) |
//! | `GET /live/<file>` | — | the live HLS (`index.m3u8` with the AI-label `EXT-X-DATERANGE`, segments) |
//! | `GET /assets/hls.min.js` | — | hls.js, built in from npm (`build.rs`) |
//! | `GET /api/events` | either, off loopback | the event stream (below) |
//! | `GET /api/state` | either, off loopback | what is on air now |
//! | `GET /api/health` | — | `200 {"ok":true}` |
//! | `POST /api/chat`, `GET /api/chat/ws` | chat | viewer chat in (`chat.rs`) |
//! | `POST /api/host`, `/api/product`, `/api/pause`, `/api/resume`, `/api/say` | control | operator commands (`control.rs`) |
//!
//! Tokens (`auth.rs`): `Authorization: Bearer <token>` (or `?token=<token>`, for the WebSocket
//! and the page). `anchor run` takes them from `--control-token` / `--chat-token`, else from
//! `ANCHOR_CONTROL_TOKEN` / `ANCHOR_CHAT_TOKEN`. A route whose token is set refuses requests
//! without it (`401`, nothing is queued or sent); tokens are compared in constant time. On a
//! loopback address (the default) tokens are optional, and a route whose token is not set
//! is open to this machine; on any other address [`Server::start_with`] refuses to start
//! unless both are set ([`ServerError::TokensRequired`]). Guarded routes also refuse (`403`)
//! requests a browser sends from a page of another site (`Origin` not this server). Off
//! loopback, the event stream and the state (they name chat users and what moderation did)
//! take either token; the page, its script, the HLS and health need none on any address: they
//! show what the public stream shows.
//!
//! The page: open `http://127.0.0.1:8686/` while `anchor run` is on air (`anchor run` prints
//! the address). With a chat token set, open `http://127.0.0.1:8686/?token=<chat token>` to
//! use the chat box (the page keeps the token for the tab and sends it as a bearer token).
//!
//! The event stream, `GET /api/events`: Server-Sent Events (`text/event-stream`), one frame per
//! event:
//!
//!   ```text
//!   id: 7
//!   event: link_pushed
//!   data: {"id":7,"pts":12.345,"time":"2025-06-01T20:00:12.345Z","type":"link_pushed","product":"lipstick-01","link":"https://shop.example/p/1"}
//!
//!   ```
//!
//!   (`data` is the wire format of [`crate::events`]; the `id` is the event id.) Where the
//!   stream starts:
//!   - with a `Last-Event-ID` header (a browser's `EventSource` sends it when it reconnects)
//!     or a `?since=<id>` query (the header wins when both are given): first every event after
//!     that id still held in [`Events::recent`] (the last [`crate::events::RECENT_EVENTS`]);
//!     if some were already forgotten, a comment line says which
//!     (`: events 3..40 are no longer kept`). If the id is ahead of the bus (the show was
//!     restarted), it is treated as a new connection.
//!   - otherwise: first the `product_started` event of the product on air now, if one is
//!     (with its original id), so a page opened late still shows the current product card;
//!     then live events.
//!
//!   Then every event as it is emitted, in order, never twice. A keep-alive comment
//!   (`: keep-alive`) goes out after 15 s without events. A client that reads too slowly to
//!   keep up gets the events still held and a comment saying how many it missed
//!   (`: skipped 120 events (this client reads too slowly)`); other clients and the server are
//!   unaffected. The stream ends when the server shuts down.
//!
//! `GET /api/state` answers the [`ShowState`](crate::events::ShowState) as JSON:
//! `{"product":{…product_started event…}|null,"last_link":{…link_pushed event…}|null,"on_air":true,"last_event_id":42}`.
//!
//! Threads: [`Server::start`] binds the socket on the caller's thread (so a taken address is
//! an error right there), then runs a tokio runtime with [`WORKER_THREADS`] workers on its own
//! thread `anchor-http`; the show's threads are never blocked by it. [`Server::shutdown`]
//! ends the event streams, lets requests in flight finish (up to [`SHUTDOWN_GRACE`]) and joins.

mod auth;
mod chat;
mod control;
mod preview;
#[cfg(test)]
mod preview_tests;
mod routes;
mod sse;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::thread::JoinHandle;
use std::time::Duration;

pub use auth::{Auth, CHAT_TOKEN_ENV, CONTROL_TOKEN_ENV, InvalidToken};
pub use control::{ControlCommand, MAX_SAY_BYTES, ProductIds};
pub use preview::{AI_LABEL_CLASS, DEFAULT_AI_LABEL, Preview, has_hls_js};
pub use routes::{AppState, router};
pub use sse::{CLIENT_BUFFER, KEEP_ALIVE};

use crate::events::Events;

/// Port of [`DEFAULT_BIND`].
pub const DEFAULT_PORT: u16 = 8686;
/// Where the server listens unless told otherwise: this machine only.
pub const DEFAULT_BIND: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_PORT));
/// Tokio worker threads of the server's runtime.
pub const WORKER_THREADS: usize = 2;
/// How long [`Server::shutdown`] waits for requests in flight before closing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Server settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address and port to listen on (port 0: any free port, see [`Server::local_addr`]).
    pub bind: SocketAddr,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { bind: DEFAULT_BIND }
    }
}

impl ServerConfig {
    /// Reads the value of `--http`: `off` (no server: `None`) or `HOST:PORT`
    /// (`127.0.0.1:8686`, `0.0.0.0:9000`, `[::1]:8686`, `localhost:8686`).
    pub fn from_flag(value: &str) -> Result<Option<ServerConfig>, ServerError> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let invalid = || ServerError::InvalidAddr {
            value: value.to_string(),
        };
        let bind = match value.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => value
                .to_socket_addrs()
                .map_err(|_| invalid())?
                .next()
                .ok_or_else(invalid)?,
        };
        Ok(Some(ServerConfig { bind }))
    }
}

/// Errors of the HTTP server. None of them stops a show: run it without the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Something else already listens on the address (often another anchor).
    #[error(
        "cannot serve HTTP on {addr}: the address is already in use (another anchor running?); pass `--http ADDR` to use another address (e.g. `--http 127.0.0.1:0` for any free port) or `--http off` to run without the HTTP server"
    )]
    AddrInUse { addr: SocketAddr },
    /// The address could not be listened on for another reason (not a local address, a port
    /// below 1024 without the right to bind it, ...).
    #[error(
        "cannot serve HTTP on {addr}: {source}; pass `--http ADDR` with an address of this machine or `--http off` to run without the HTTP server"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The server would listen on an address other machines can reach without both tokens.
    /// Not recoverable: set the tokens or listen on 127.0.0.1.
    #[error(
        "refusing to serve HTTP on {addr} without a {}: other machines could control the show or post chat; set --control-token and --chat-token (or ANCHOR_CONTROL_TOKEN and ANCHOR_CHAT_TOKEN, e.g. `export ANCHOR_CONTROL_TOKEN=$(openssl rand -hex 16)`), or listen on this machine only with `--http 127.0.0.1:8686`",
        missing.iter().map(|m| format!("{m} token")).collect::<Vec<_>>().join(" and a ")
    )]
    TokensRequired {
        addr: SocketAddr,
        missing: Vec<&'static str>,
    },
    /// The value of `--http` is neither `off` nor an address.
    #[error("invalid --http value `{value}`: expected HOST:PORT such as 127.0.0.1:8686, or `off`")]
    InvalidAddr { value: String },
    /// The server's runtime or thread could not be started (out of threads or memory).
    #[error("cannot start the HTTP server: {0}")]
    Start(std::io::Error),
    /// The server stopped with an i/o error while running (reported at shutdown).
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
    /// The server's thread panicked (a bug).
    #[error("the HTTP server thread panicked (this is a bug, please report it)")]
    Panicked,
}

/// The running server. Dropping it without [`Server::shutdown`] signals the shutdown and
/// lets the thread finish on its own.
pub struct Server {
    local_addr: SocketAddr,
    state: AppState,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl Server {
    /// Binds `cfg.bind` now (errors such as [`ServerError::AddrInUse`] are returned here) and
    /// serves [`router`] on a runtime of its own thread. Returns once it accepts connections.
    pub fn start(cfg: ServerConfig, events: Events) -> Result<Server, ServerError> {
        Server::start_with(cfg, AppState::new(events))
    }

    /// Like [`Server::start`] with a prepared state (e.g. with the chat inbox set).
    ///
    /// On an address that is not loopback, both tokens of `state.auth` must be set
    /// ([`ServerError::TokensRequired`]).
    pub fn start_with(cfg: ServerConfig, mut state: AppState) -> Result<Server, ServerError> {
        let addr = cfg.bind;
        let missing = state.auth.missing();
        if !addr.ip().is_loopback() && !missing.is_empty() {
            return Err(ServerError::TokensRequired { addr, missing });
        }
        state.guard_reads |= !addr.ip().is_loopback();
        let bind_err = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                ServerError::AddrInUse { addr }
            } else {
                ServerError::Bind { addr, source }
            }
        };
        let listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("anchor-http-worker")
            .enable_all()
            .build()
            .map_err(ServerError::Start)?;
        let listener = {
            let _inside = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(bind_err)?
        };
        let app = router(state.clone());
        let shutdown = state.shutdown_signal();
        let thread = std::thread::Builder::new()
            .name("anchor-http".into())
            .spawn(move || serve(runtime, listener, app, shutdown))
            .map_err(ServerError::Start)?;
        tracing::info!("HTTP server on http://{local_addr} (preview page: /, events: /api/events)");
        if state.preview.hls_dir.is_some() && !has_hls_js() {
            tracing::warn!(
                "hls.js is not built into this binary (run scripts/setup.sh, which fetches it from npm, and rebuild): the preview page uses the browser's native HLS playback (Safari, recent Chrome)"
            );
        }
        if !missing.is_empty() {
            tracing::info!(
                "no {} token set: those routes are open to this machine (set --control-token / --chat-token to require them)",
                missing.join(" or ")
            );
        }
        Ok(Server {
            local_addr,
            state,
            thread: Some(thread),
        })
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, ends the event streams, waits for requests in flight (at most
    /// [`SHUTDOWN_GRACE`]) and joins the server thread.
    pub fn shutdown(mut self) -> Result<(), ServerError> {
        self.state.signal_shutdown();
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        match thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServerError::Serve(e)),
            Err(_) => Err(ServerError::Panicked),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.signal_shutdown();
    }
}

/// The server thread: serve until the shutdown signal, then at most [`SHUTDOWN_GRACE`] more.
fn serve(
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let result = runtime.block_on(async move {
        let mut graceful_signal = shutdown.clone();
        let mut grace_signal = shutdown;
        let graceful = axum::serve(listener, app).with_graceful_shutdown(async move {
            // Err: the sender is gone, which also means shutdown.
            let _ = graceful_signal.wait_for(|stop| *stop).await;
        });
        tokio::select! {
            result = graceful => result,
            () = async move {
                let _ = grace_signal.wait_for(|stop| *stop).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!("HTTP requests still open {SHUTDOWN_GRACE:?} after shutdown; closing them");
                Ok(())
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    match &result {
        Ok(()) => tracing::debug!("HTTP server stopped"),
        Err(e) => tracing::error!("HTTP server failed: {e}"),
    }
    result
}
