//! Server tests over real sockets: raw HTTP/1.1 on `std::net::TcpStream`, chunked bodies
//! decoded here, SSE frames parsed here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::*;
use crate::events::{Event, EventKind};

/// Safety net for every read: a broken server fails the test instead of hanging it.
const READ_TIMEOUT: Duration = Duration::from_secs(20);

fn start(events: &Events) -> Server {
    Server::start(
        ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
        },
        events.clone(),
    )
    .unwrap()
}

fn product(id: &str) -> EventKind {
    EventKind::ProductStarted {
        product: id.into(),
        name: format!("{id} name"),
        price: Some(59.0),
        currency: "CNY".into(),
        link: Some(format!("https://shop.example/{id}")),
    }
}

fn link(id: &str, n: usize) -> EventKind {
    EventKind::LinkPushed {
        product: id.into(),
        link: format!("https://shop.example/{id}?n={n}"),
    }
}

/// An HTTP/1.1 response being read: status, headers, then the body (chunked or not).
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    /// Bytes left in the current chunk.
    chunk_left: usize,
    done: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// More body bytes; empty at the end of the body.
    fn read_some(&mut self) -> Vec<u8> {
        if self.done {
            return Vec::new();
        }
        if !self.chunked {
            let mut buf = vec![0; 64 * 1024];
            let n = self.reader.read(&mut buf).unwrap();
            buf.truncate(n);
            self.done = n == 0;
            return buf;
        }
        if self.chunk_left == 0 {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap() == 0 {
                self.done = true;
                return Vec::new();
            }
            let size = line.trim().split(';').next().unwrap();
            self.chunk_left = usize::from_str_radix(size, 16).unwrap();
            if self.chunk_left == 0 {
                self.done = true;
                return Vec::new();
            }
        }
        let mut buf = vec![0; self.chunk_left.min(64 * 1024)];
        let n = self.reader.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed inside a chunk");
        buf.truncate(n);
        self.chunk_left -= n;
        if self.chunk_left == 0 {
            let mut crlf = [0; 2];
            self.reader.read_exact(&mut crlf).unwrap();
            assert_eq!(&crlf, b"\r\n");
        }
        buf
    }

    fn body(mut self) -> String {
        let mut all = Vec::new();
        loop {
            let some = self.read_some();
            if some.is_empty() {
                break;
            }
            all.extend(some);
        }
        String::from_utf8(all).unwrap()
    }
}

fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    (&stream).write_all(req.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    Response {
        status,
        headers,
        reader,
        chunked,
        chunk_left: 0,
        done: false,
    }
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let resp = request(addr, path, &[("Connection", "close")]);
    let status = resp.status;
    (status, resp.body())
}

/// One SSE frame: its raw text (with the final blank line) and its fields.
#[derive(Debug)]
struct Frame {
    raw: String,
    id: Option<u64>,
    event: Option<String>,
    data: Option<String>,
    comments: Vec<String>,
}

impl Frame {
    fn event(&self) -> Event {
        serde_json::from_str(self.data.as_deref().unwrap()).unwrap()
    }
}

struct SseClient {
    resp: Response,
    buf: String,
}

impl SseClient {
    fn connect(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> SseClient {
        let resp = request(addr, path, headers);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("content-type"), Some("text/event-stream"));
        SseClient {
            resp,
            buf: String::new(),
        }
    }

    /// The next frame, or `None` when the stream ended.
    fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let mut f = Frame {
                    raw: raw.clone(),
                    id: None,
                    event: None,
                    data: None,
                    comments: Vec::new(),
                };
                for line in raw.lines().filter(|l| !l.is_empty()) {
                    let (k, v) = line.split_once(':').unwrap_or((line, ""));
                    let v = v.strip_prefix(' ').unwrap_or(v).to_string();
                    match k {
                        "" => f.comments.push(v),
                        "id" => f.id = Some(v.parse().unwrap()),
                        "event" => f.event = Some(v),
                        "data" => {
                            assert!(f.data.is_none(), "one data line per event: {raw}");
                            f.data = Some(v);
                        }
                        other => panic!("unexpected field {other} in {raw:?}"),
                    }
                }
                return Some(f);
            }
            let more = self.resp.read_some();
            if more.is_empty() {
                return None;
            }
            self.buf.push_str(std::str::from_utf8(&more).unwrap());
        }
    }

    /// The next frame that carries an event (skipping comments).
    fn next_event(&mut self) -> Option<Frame> {
        loop {
            let f = self.next()?;
            if f.data.is_some() {
                return Some(f);
            }
        }
    }
}

#[test]
fn sse_sends_the_current_product_then_live_events_in_order_with_exact_framing() {
    let events = Events::new();
    let card = events.emit(1.0, product("lipstick-01"));
    let server = start(&events);
    let mut client = SseClient::connect(server.local_addr(), "/api/events", &[]);

    // A late page first gets the product on air.
    let first = client.next().unwrap();
    assert_eq!(first.id, Some(card.id));
    assert_eq!(first.event.as_deref(), Some("product_started"));
    assert_eq!(first.event(), card);

    let mut sent = vec![events.emit(2.0, EventKind::OnAir)];
    for n in 0..5 {
        sent.push(events.emit(3.0 + n as f64, link("lipstick-01", n)));
    }
    sent.push(events.emit(
        9.5,
        EventKind::ProductEnded {
            product: "lipstick-01".into(),
        },
    ));
    for want in &sent {
        let got = client.next_event().unwrap();
        assert_eq!(
            got.raw,
            format!(
                "id: {}\nevent: {}\ndata: {}\n\n",
                want.id,
                want.type_name(),
                want.to_json()
            )
        );
        assert_eq!(&got.event(), want);
    }
    server.shutdown().unwrap();
}

#[test]
fn sse_without_a_product_on_air_starts_with_the_next_live_event() {
    let events = Events::new();
    events.emit(0.0, product("p1"));
    events.emit(
        1.0,
        EventKind::ProductEnded {
            product: "p1".into(),
        },
    );
    let server = start(&events);
    let mut client = SseClient::connect(server.local_addr(), "/api/events", &[]);
    let live = events.emit(
        2.0,
        EventKind::Disclosure {
            text: "AI host".into(),
        },
    );
    let got = client.next_event().unwrap();
    assert_eq!(got.event(), live, "no replay and no ended product card");
    server.shutdown().unwrap();
}

#[test]
fn sse_replays_after_last_event_id_or_since_without_duplicates() {
    let events = Events::new();
    let all: Vec<Event> = (0..10)
        .map(|n| events.emit(n as f64, link("p", n)))
        .collect();
    let server = start(&events);
    let addr = server.local_addr();

    let mut by_header = SseClient::connect(addr, "/api/events", &[("Last-Event-ID", "6")]);
    let mut by_query = SseClient::connect(addr, "/api/events?since=8", &[]);
    // The header wins over the query (a reconnecting EventSource keeps its URL).
    let mut both = SseClient::connect(addr, "/api/events?since=2", &[("Last-Event-ID", "9")]);
    let live = events.emit(10.0, EventKind::OnAir);

    let ids = |client: &mut SseClient, n: usize| -> Vec<u64> {
        (0..n)
            .map(|_| client.next_event().unwrap().id.unwrap())
            .collect()
    };
    assert_eq!(ids(&mut by_header, 5), [7, 8, 9, 10, 11]);
    assert_eq!(ids(&mut by_query, 3), [9, 10, 11]);
    assert_eq!(ids(&mut both, 2), [10, 11]);
    let mut replay = SseClient::connect(addr, "/api/events?since=0", &[]);
    for want in all.iter().chain([&live]) {
        assert_eq!(&replay.next_event().unwrap().event(), want);
    }
    server.shutdown().unwrap();
}

#[test]
fn sse_treats_an_id_from_before_a_restart_as_a_new_connection() {
    let events = Events::new();
    let card = events.emit(0.0, product("p1"));
    events.emit(1.0, EventKind::OnAir);
    let server = start(&events);
    // Ids restart at 1 with a new show; this client saw id 500 of the previous one.
    let mut client = SseClient::connect(
        server.local_addr(),
        "/api/events",
        &[("Last-Event-ID", "500")],
    );
    let note = client.next().unwrap();
    assert_eq!(note.comments, ["the show was restarted; starting over"]);
    assert_eq!(client.next().unwrap().event(), card);
    let live = events.emit(2.0, EventKind::Disclosure { text: "AI".into() });
    assert_eq!(client.next().unwrap().event(), live);
    server.shutdown().unwrap();
}

#[test]
fn sse_replay_says_when_events_are_no_longer_kept() {
    let events = Events::new();
    let total = crate::events::RECENT_EVENTS as u64 + 10;
    for n in 0..total {
        events.emit(n as f64, EventKind::OnAir);
    }
    let server = start(&events);
    let mut client = SseClient::connect(
        server.local_addr(),
        "/api/events",
        &[("Last-Event-ID", "3")],
    );
    let first = client.next().unwrap();
    assert_eq!(
        first.comments,
        ["events 4..10 are no longer kept"],
        "{first:?}"
    );
    assert_eq!(client.next_event().unwrap().id, Some(11));
    server.shutdown().unwrap();
}

#[test]
fn a_slow_sse_client_skips_events_with_a_comment_and_the_server_keeps_serving() {
    let events = Events::new();
    let server = start(&events);
    let addr = server.local_addr();
    let mut slow = SseClient::connect(addr, "/api/events", &[]);
    // Far more than the socket buffers, the client queue and the bus buffer hold while the
    // client reads nothing.
    let padding = "x".repeat(1000);
    let total = 60_000;
    for n in 0..total {
        events.emit(
            n as f64,
            EventKind::Disclosure {
                text: format!("{n} {padding}"),
            },
        );
    }
    let last = events.emit(
        0.0,
        EventKind::ShowEnded {
            reason: "done".into(),
        },
    );
    // Another client and plain requests are unaffected.
    assert_eq!(
        get(addr, "/api/health"),
        (200, r#"{"ok":true}"#.to_string())
    );

    let mut skipped_notes = 0;
    let mut received = 0u64;
    let mut previous = 0;
    loop {
        let f = slow.next().unwrap();
        if f.data.is_none() {
            if f.comments.iter().any(|c| c.starts_with("skipped ")) {
                skipped_notes += 1;
            }
            continue;
        }
        let id = f.id.unwrap();
        assert!(id > previous, "ids only go up: {previous} then {id}");
        previous = id;
        received += 1;
        if id == last.id {
            break;
        }
    }
    assert!(skipped_notes >= 1, "a comment says events were skipped");
    assert!(received < total + 1, "received {received} of {}", total + 1);
    server.shutdown().unwrap();
}

#[test]
fn health_and_state_answer_json() {
    let events = Events::new();
    let server = start(&events);
    let addr = server.local_addr();
    assert_eq!(
        get(addr, "/api/health"),
        (200, r#"{"ok":true}"#.to_string())
    );

    let (status, body) = get(addr, "/api/state");
    assert_eq!(status, 200);
    let empty: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        empty,
        serde_json::json!({"product": null, "last_link": null, "on_air": false, "last_event_id": 0})
    );

    events.emit(0.0, EventKind::OnAir);
    let card = events.emit(1.0, product("p1"));
    let pushed = events.emit(2.0, link("p1", 0));
    let (_, body) = get(addr, "/api/state");
    let state: crate::events::ShowState = serde_json::from_str(&body).unwrap();
    assert_eq!(state.product, Some(card));
    assert_eq!(state.last_link, Some(pushed));
    assert!(state.on_air);
    assert_eq!(state.last_event_id, 3);
    let raw: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(raw["product"]["type"], "product_started");
    assert_eq!(raw["product"]["product"], "p1");

    assert_eq!(get(addr, "/api/nope").0, 404);
    assert_eq!(get(addr, "/api/events?since=abc").0, 400);
    server.shutdown().unwrap();
}

#[test]
fn a_second_server_on_the_same_port_says_what_to_do() {
    let events = Events::new();
    let first = start(&events);
    let err = Server::start(
        ServerConfig {
            bind: first.local_addr(),
        },
        events.clone(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ServerError::AddrInUse { addr } if addr == first.local_addr()),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&first.local_addr().to_string()), "{msg}");
    assert!(msg.contains("already in use"), "{msg}");
    assert!(
        msg.contains("--http ADDR") && msg.contains("--http off"),
        "{msg}"
    );
    // The first one still serves.
    assert_eq!(get(first.local_addr(), "/api/health").0, 200);
    first.shutdown().unwrap();
}

#[test]
fn an_address_of_another_machine_says_what_to_do() {
    // 192.0.2.1 (TEST-NET-1) is never an address of this machine. (Not loopback: tokens.)
    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    let err = start_on("192.0.2.1:8686", state).unwrap_err();
    assert!(matches!(err, ServerError::Bind { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("192.0.2.1:8686") && msg.contains("--http off"),
        "{msg}"
    );
}

#[test]
fn shutdown_ends_open_event_streams_and_returns() {
    let events = Events::new();
    let server = start(&events);
    let mut client = SseClient::connect(server.local_addr(), "/api/events", &[]);
    let e = events.emit(0.0, EventKind::OnAir);
    assert_eq!(client.next_event().unwrap().event(), e);
    server.shutdown().unwrap();
    // The stream ends (the read timeout would fail the test if it hung).
    assert!(client.next().is_none());
}

#[test]
fn http_flag_values() {
    assert_eq!(ServerConfig::from_flag("off").unwrap(), None);
    assert_eq!(
        ServerConfig::from_flag("0.0.0.0:9000").unwrap(),
        Some(ServerConfig {
            bind: "0.0.0.0:9000".parse().unwrap()
        })
    );
    assert_eq!(
        ServerConfig::from_flag("localhost:8686")
            .unwrap()
            .map(|c| c.bind.port()),
        Some(8686)
    );
    assert_eq!(ServerConfig::default().bind.to_string(), "127.0.0.1:8686");
    let err = ServerConfig::from_flag("8686").unwrap_err();
    assert!(err.to_string().contains("HOST:PORT"), "{err}");
}

fn start_with_chat(events: &Events, inbox: Option<crate::chat::Inbox>) -> Server {
    let mut state = AppState::new(events.clone());
    state.chat = inbox;
    start_state(state)
}

/// A raw HTTP/1.1 POST; returns the status code.
fn post(addr: SocketAddr, path: &str, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn chat_post_queues_messages_and_refuses_bad_ones() {
    let events = Events::new();
    let inbox = crate::chat::Inbox::new();
    let server = start_with_chat(&events, Some(inbox.clone()));
    let addr = server.local_addr();
    let ok = r#"{"user":"u1","name":"小美","text":"多少钱？","platform":"douyin"}"#;
    assert_eq!(post(addr, "/api/chat", ok.as_bytes()), 202);
    let m = inbox.receiver().try_recv().expect("queued");
    assert_eq!(
        (m.user.as_str(), m.text.as_str(), m.platform.as_str()),
        ("u1", "多少钱？", "douyin")
    );
    assert!(m.at.is_none(), "a live message has no replay time");
    assert_eq!(post(addr, "/api/chat", b"not json"), 400);
    assert_eq!(post(addr, "/api/chat", br#"{"text":"no user"}"#), 400);
    let huge = format!(r#"{{"user":"u","text":"{}"}}"#, "长".repeat(5000));
    assert_eq!(post(addr, "/api/chat", huge.as_bytes()), 413);
    assert!(
        inbox.receiver().try_recv().is_err(),
        "nothing else was queued"
    );
    // A show without chat says so.
    let no_chat = start_with_chat(&events, None);
    assert_eq!(post(no_chat.local_addr(), "/api/chat", ok.as_bytes()), 503);
    no_chat.shutdown().unwrap();
    server.shutdown().unwrap();
}

/// Opens a WebSocket to `/api/chat/ws` by hand and sends one masked text frame.
fn ws_send(addr: SocketAddr, payload: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(
        s,
        "GET /api/chat/ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"));
    let mask = [1u8, 2, 3, 4];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).unwrap();
    s
}

#[test]
fn chat_websocket_takes_text_and_survives_invalid_utf8() {
    let events = Events::new();
    let inbox = crate::chat::Inbox::new();
    let server = start_with_chat(&events, Some(inbox.clone()));
    let addr = server.local_addr();
    let mut s = ws_send(addr, "包邮吗".as_bytes());
    let mut reply = [0u8; 2];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(reply[0], 0x81, "a text frame back");
    let mut body = vec![0u8; reply[1] as usize];
    s.read_exact(&mut body).unwrap();
    assert_eq!(String::from_utf8_lossy(&body), r#"{"queued":true}"#);
    let m = inbox.receiver().try_recv().expect("queued");
    assert_eq!(
        (m.text.as_str(), m.platform.as_str()),
        ("包邮吗", "websocket")
    );
    // Invalid UTF-8 in a text frame: that connection is closed, nothing is queued, the server
    // goes on.
    let mut bad = ws_send(addr, &[0xe5, 0x8c, 0xff, 0xfe]);
    let mut rest = Vec::new();
    let _ = bad.read_to_end(&mut rest);
    assert!(inbox.receiver().try_recv().is_err());
    assert_eq!(get(addr, "/api/health").0, 200);
    server.shutdown().unwrap();
}

// --- tokens, control, preview ---------------------------------------------------------------

const CONTROL: &str = "control-secret-1";
const CHAT: &str = "chat-secret-22";

fn tokens() -> Auth {
    Auth {
        control: Some(CONTROL.into()),
        chat: Some(CHAT.into()),
    }
}

/// Starts a server for `state` on `bind`.
fn start_on(bind: &str, state: AppState) -> Result<Server, ServerError> {
    Server::start_with(
        ServerConfig {
            bind: bind.parse().unwrap(),
        },
        state,
    )
}

fn start_state(state: AppState) -> Server {
    start_on("127.0.0.1:0", state).unwrap()
}

/// A raw HTTP/1.1 POST with extra headers; returns the status and the body.
fn post_with(addr: SocketAddr, path: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn control_routes_refuse_requests_without_the_control_token_and_send_nothing() {
    use crossbeam_channel::TryRecvError;
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    state.control = Some(tx);
    state.products = Some(std::sync::Arc::new(std::sync::RwLock::new(
        ["lipstick-01".to_string(), "serum-02".to_string()]
            .into_iter()
            .collect(),
    )));
    let server = start_state(state);
    let addr = server.local_addr();
    let ok = bearer(CONTROL);
    let cases: [(&str, &str, ControlCommand); 6] = [
        (
            "/api/host",
            r#"{"online":false}"#,
            ControlCommand::HostOnline(false),
        ),
        (
            "/api/host",
            r#"{"online":true}"#,
            ControlCommand::HostOnline(true),
        ),
        (
            "/api/product",
            r#"{"id":"serum-02"}"#,
            ControlCommand::SwitchProduct("serum-02".into()),
        ),
        ("/api/pause", "", ControlCommand::Pause),
        ("/api/resume", "{}", ControlCommand::Resume),
        (
            "/api/say",
            r#"{"text":"大家好，小林来了","now":true}"#,
            ControlCommand::Say {
                text: "大家好，小林来了".into(),
                now: true,
            },
        ),
    ];
    for (path, body, expected) in cases {
        for headers in [
            vec![],
            vec![("Authorization", bearer("control-secret-2"))],
            vec![("Authorization", bearer(CHAT))],
            vec![("Authorization", "Basic Y29udHJvbA==".to_string())],
            vec![("Authorization", bearer(&CONTROL[..CONTROL.len() - 1]))],
        ] {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, answer) = post_with(addr, path, body.as_bytes(), &h);
            assert_eq!(status, 401, "{path} with {headers:?}: {answer}");
            assert!(answer.contains("control token"), "{answer}");
            assert_eq!(
                rx.try_recv(),
                Err(TryRecvError::Empty),
                "{path}: nothing sent"
            );
        }
        let (status, answer) = post_with(addr, path, body.as_bytes(), &[("Authorization", &ok)]);
        assert_eq!(status, 202, "{path}: {answer}");
        assert_eq!(rx.try_recv(), Ok(expected), "{path}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
    // Bad requests with the token: 400 with a clear message, nothing sent.
    for (path, body, says) in [
        ("/api/host", "online", "expected a JSON body"),
        ("/api/host", r#"{"online":"yes"}"#, "online"),
        ("/api/product", r#"{"id":"  "}"#, "empty"),
        (
            "/api/product",
            r#"{"id":"nope-9"}"#,
            "unknown product `nope-9`",
        ),
        ("/api/say", r#"{"text":"   "}"#, "empty"),
        ("/api/say", r#"{"words":"hi"}"#, "unknown field"),
        ("/api/pause", "now", "expected a JSON body"),
    ] {
        let (status, answer) = post_with(addr, path, body.as_bytes(), &[("Authorization", &ok)]);
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert!(answer.contains(says), "{path} {body}: {answer}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
    let long = serde_json::json!({ "text": "长".repeat(MAX_SAY_BYTES) }).to_string();
    assert_eq!(
        post_with(addr, "/api/say", long.as_bytes(), &[("Authorization", &ok)]).0,
        400
    );
    // A browser page of another site is refused even with a token; our own page is not.
    let (status, _) = post_with(
        addr,
        "/api/pause",
        b"",
        &[("Authorization", &ok), ("Origin", "http://evil.example")],
    );
    assert_eq!(status, 403);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let own = format!("http://{addr}");
    let (status, _) = post_with(
        addr,
        "/api/pause",
        b"",
        &[("Authorization", &ok), ("Origin", &own)],
    );
    assert_eq!(status, 202);
    assert_eq!(rx.try_recv(), Ok(ControlCommand::Pause));
    // The show stopped listening: 503.
    drop(rx);
    assert_eq!(
        post_with(addr, "/api/pause", b"", &[("Authorization", &ok)]).0,
        503
    );
    server.shutdown().unwrap();

    // No show takes control: 503 (after the token check).
    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    let server = start_state(state);
    let addr = server.local_addr();
    assert_eq!(post_with(addr, "/api/resume", b"", &[]).0, 401);
    let (status, answer) = post_with(addr, "/api/resume", b"", &[("Authorization", &ok)]);
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("takes no control"), "{answer}");
    server.shutdown().unwrap();
}

#[test]
fn chat_routes_refuse_requests_without_the_chat_token_and_queue_nothing() {
    let inbox = crate::chat::Inbox::new();
    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    state.chat = Some(inbox.clone());
    let server = start_state(state);
    let addr = server.local_addr();
    let msg = r#"{"user":"u1","text":"多少钱"}"#.as_bytes();
    for auth in [None, Some(bearer(CONTROL)), Some(bearer("chat-secret-23"))] {
        let h: Vec<(&str, &str)> = auth.iter().map(|v| ("Authorization", v.as_str())).collect();
        let (status, answer) = post_with(addr, "/api/chat", msg, &h);
        assert_eq!(status, 401, "{auth:?}: {answer}");
        assert!(
            answer.contains("chat token") && answer.contains("?token="),
            "{answer}"
        );
        assert!(inbox.receiver().try_recv().is_err(), "nothing queued");
    }
    // The WebSocket handshake is refused too.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    write!(
        s,
        "GET /api/chat/ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 401"), "{line}");

    let (status, _) = post_with(addr, "/api/chat", msg, &[("Authorization", &bearer(CHAT))]);
    assert_eq!(status, 202);
    assert_eq!(inbox.receiver().try_recv().expect("queued").text, "多少钱");
    let (status, _) = post_with(addr, &format!("/api/chat?token={CHAT}"), msg, &[]);
    assert_eq!(status, 202, "the page's ?token= form");
    assert!(inbox.receiver().try_recv().is_ok());
    server.shutdown().unwrap();
}

#[test]
fn on_loopback_without_tokens_the_routes_are_open_and_elsewhere_tokens_are_required() {
    // Loopback, no tokens: allowed (the default setup on one machine).
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut state = AppState::new(Events::new());
    state.control = Some(tx);
    let server = start_state(state);
    let (status, _) = post_with(server.local_addr(), "/api/say", br#"{"text":"hi"}"#, &[]);
    assert_eq!(status, 202);
    assert_eq!(
        rx.try_recv(),
        Ok(ControlCommand::Say {
            text: "hi".into(),
            now: false
        })
    );
    server.shutdown().unwrap();

    // Another address without both tokens: refused before binding, with what to do.
    for auth in [
        Auth::default(),
        Auth {
            control: Some(CONTROL.into()),
            chat: None,
        },
    ] {
        let mut state = AppState::new(Events::new());
        state.auth = auth.clone();
        let err = start_on("0.0.0.0:0", state).unwrap_err();
        assert!(matches!(err, ServerError::TokensRequired { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("chat token"), "{msg}");
        assert_eq!(
            msg.contains("control token"),
            auth.control.is_none(),
            "{msg}"
        );
        for hint in [
            "--control-token",
            "ANCHOR_CHAT_TOKEN",
            "--http 127.0.0.1:8686",
        ] {
            assert!(msg.contains(hint), "{msg}");
        }
    }
    // With both tokens it starts.
    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    let server = start_on("0.0.0.0:0", state).unwrap();
    let port = server.local_addr().port();
    let (status, _) = post_with(
        format!("127.0.0.1:{port}").parse().unwrap(),
        "/api/pause",
        b"",
        &[],
    );
    assert_eq!(status, 401);
    server.shutdown().unwrap();
}

/// Off loopback the event stream and the state (chat user ids, moderation) take either
/// token; the page and health stay open. On loopback they are open.
#[test]
fn off_loopback_the_events_and_state_need_a_token() {
    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    let server = start_on("0.0.0.0:0", state).unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", server.local_addr().port())
        .parse()
        .unwrap();
    let status = |path: &str, headers: &[(&str, &str)]| request(addr, path, headers).status;
    let (chat, control) = (bearer(CHAT), bearer(CONTROL));
    for path in ["/api/state", "/api/events"] {
        assert_eq!(status(path, &[]), 401, "{path} without a token");
        assert_eq!(
            status(path, &[("Authorization", "Bearer wrong-token-1")]),
            401,
            "{path} with a wrong token"
        );
        assert_eq!(status(path, &[("Authorization", &chat)]), 200, "{path}");
        assert_eq!(status(path, &[("Authorization", &control)]), 200, "{path}");
        assert_eq!(status(&format!("{path}?token={CHAT}"), &[]), 200, "{path}");
    }
    assert_eq!(get(addr, "/api/health").0, 200);
    assert_eq!(get(addr, "/").0, 200);
    server.shutdown().unwrap();

    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    let server = start_state(state);
    assert_eq!(get(server.local_addr(), "/api/state").0, 200);
    assert_eq!(request(server.local_addr(), "/api/events", &[]).status, 200);
    server.shutdown().unwrap();
}

#[test]
fn the_page_and_the_hls_folder_are_served_with_the_ai_label() {
    let dir = crate::testutil::tempdir().unwrap();
    let hls = dir.path().join("live");
    std::fs::create_dir_all(&hls).unwrap();
    std::fs::write(
        hls.join("index.m3u8"),
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PROGRAM-DATE-TIME:2026-11-22T00:53:52.123+0000\n#EXTINF:2.000000,\nseg_000000.ts\n",
    )
    .unwrap();
    std::fs::write(hls.join("seg_000000.ts"), [0x47u8; 188]).unwrap();
    std::fs::write(dir.path().join("secret.ts"), b"no").unwrap();
    let mut state = AppState::new(Events::new());
    state.auth = tokens();
    state.preview = Preview {
        hls_dir: Some(hls.clone()),
        ai_label: "本直播由AI数字人主持".into(),
    };
    let server = start_state(state);
    let addr = server.local_addr();

    let resp = request(addr, "/live/index.m3u8", &[("Connection", "close")]);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert!(resp.header("cache-control").unwrap().contains("no-store"));
    let playlist = resp.body();
    assert!(
        playlist.contains("CLASS=\"cn.ai-generated\"")
            && playlist.contains("X-AI-LABEL=\"本直播由AI数字人主持\""),
        "{playlist}"
    );
    let resp = request(addr, "/live/seg_000000.ts", &[("Connection", "close")]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("video/mp2t"));
    for bad in [
        "/live/..%2Fsecret.ts",
        "/live/.hidden.ts",
        "/live/index.m3u8.tmp",
        "/live/nope.ts",
    ] {
        assert_eq!(get(addr, bad).0, 404, "{bad}");
    }

    let resp = request(addr, "/", &[("Connection", "close")]);
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"));
    let page = resp.body();
    assert!(page.contains(r#""hls":"/live/index.m3u8""#), "{page}");
    assert!(page.contains("本直播由AI数字人主持"));
    assert!(
        !page.contains(CHAT) && !page.contains(CONTROL),
        "no token in the page"
    );
    assert_eq!(page.contains("/assets/hls.min.js"), has_hls_js());
    assert_eq!(
        get(addr, "/assets/hls.min.js").0,
        if has_hls_js() { 200 } else { 404 }
    );
    server.shutdown().unwrap();
}
