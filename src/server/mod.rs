//! server: the local HTTP server (axum) — the show's events out to pages and tools; later chat
//! in, a preview page and control endpoints.
//!
//! In: a [`ServerConfig`] (the address to listen on, [`DEFAULT_BIND`] unless the user passes
//! `--http ADDR`; `--http off` runs without it) and the show's [`Events`] bus. Out: HTTP on
//! that address. Every route is listed in [`router`]; today:
//!
//! - `GET /api/events` — Server-Sent Events (`text/event-stream`), one frame per event:
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
//! - `POST /api/chat`, `GET /api/chat/ws` — viewer chat in (see `chat.rs`).
//! - `GET /api/health` — `200 {"ok":true}`.
//! - `GET /api/state` — the [`ShowState`](crate::events::ShowState) as JSON:
//!   `{"product":{…product_started event…}|null,"last_link":{…link_pushed event…}|null,"on_air":true,"last_event_id":42}`.
//!
//! Threads: [`Server::start`] binds the socket on the caller's thread (so a taken address is
//! an error right there), then runs a tokio runtime with [`WORKER_THREADS`] workers on its own
//! thread `anchor-http`; the show's threads are never blocked by it. [`Server::shutdown`]
//! ends the event streams, lets requests in flight finish (up to [`SHUTDOWN_GRACE`]) and joins.

mod chat;
mod routes;
mod sse;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::thread::JoinHandle;
use std::time::Duration;

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
    pub fn start_with(cfg: ServerConfig, state: AppState) -> Result<Server, ServerError> {
        let addr = cfg.bind;
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
        tracing::info!("HTTP server on http://{local_addr} (events: /api/events)");
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
