//! The webhook: one HTTP POST per event, in order, retried with backoff.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use ureq::Agent;

use super::{Event, Events, EventsError};

/// Events the webhook's queue holds while its receiver is slow or down; beyond that the
/// oldest queued event is dropped (with a warning) for each new one.
pub const WEBHOOK_QUEUE: usize = 1_000;
/// First wait before a retry; each further retry waits twice as long ...
pub const BACKOFF_START: Duration = Duration::from_millis(250);
/// ... up to this. Each wait is then scaled by a random factor in [0.5, 1) (jitter).
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// Time allowed to open the connection of one POST.
pub const WEBHOOK_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for one POST as a whole (connect, send, response).
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// POSTs every event emitted after [`Webhook::start`] to one URL, in id order, from its own
/// thread.
///
/// Each request: body = the event's JSON (the wire format of [`crate::events`]), headers
/// `Content-Type: application/json`, `X-Anchor-Event: <type>`, `X-Anchor-Event-Id: <id>`.
/// A 2xx response delivers it. A connection error, timeout ([`WEBHOOK_TIMEOUT`]) or other
/// status (redirects are not followed) is retried up to `retries` more times, waiting
/// [`BACKOFF_START`] × 2ⁿ (capped at [`BACKOFF_CAP`], with jitter) in between; then the event is
/// logged as failed (`tracing::error!` with its id and the last error) and the next one is
/// sent. Later events wait while one is retried; the queue ([`WEBHOOK_QUEUE`]) drops its
/// oldest events when the receiver stays down. A receiver may get an event twice if a
/// response was lost after it was processed: deduplicate on `X-Anchor-Event-Id`.
///
/// Dropping a `Webhook` without [`Webhook::finish`] stops feeding it and makes its thread
/// give up after the attempt in progress.
pub struct Webhook {
    events: Events,
    tap: u64,
    url: String,
    shared: Arc<Shared>,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<WebhookStats>>,
}

/// What a [`Webhook`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Events the receiver accepted (2xx).
    pub delivered: u64,
    /// Events given up on after all retries.
    pub failed: u64,
    /// Events dropped from a full queue (the oldest first).
    pub dropped: u64,
    /// Events still undelivered when the [`Webhook::finish`] deadline passed.
    pub abandoned: u64,
    /// HTTP requests made (first tries and retries).
    pub attempts: u64,
}

/// Shutdown coordination between [`Webhook::finish`] and the thread.
struct Shared {
    deadline: Mutex<Option<Instant>>,
    wake: Condvar,
}

/// Why one POST did not deliver.
enum PostError {
    Http(ureq::Error),
    Status(u16),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Http(e) => write!(f, "{e}"),
            PostError::Status(s) => write!(f, "HTTP status {s}"),
        }
    }
}

impl Webhook {
    /// Checks the URL and starts the sender thread. `retries`: attempts after the first for
    /// each event (0: try once). Events emitted from now on are sent.
    pub fn start(events: &Events, url: &str, retries: u32) -> Result<Webhook, EventsError> {
        let host = check_url(url)?;
        let config = Agent::config_builder()
            .timeout_connect(Some(WEBHOOK_CONNECT_TIMEOUT))
            .timeout_global(Some(WEBHOOK_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("anchor/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = Agent::new_with_config(config);
        let shared = Arc::new(Shared {
            deadline: Mutex::new(None),
            wake: Condvar::new(),
        });
        let tap = events.tap("webhook", WEBHOOK_QUEUE, true);
        let rx = tap.rx;
        let thread_shared = Arc::clone(&shared);
        let thread_url = url.to_string();
        let thread = std::thread::Builder::new()
            .name("anchor-events-webhook".into())
            .spawn(move || send_all(rx, agent, &thread_url, retries, &thread_shared));
        let thread = match thread {
            Ok(t) => t,
            Err(source) => {
                events.untap(tap.id);
                return Err(EventsError::Spawn {
                    sink: "webhook",
                    source,
                });
            }
        };
        // The host only: paths and queries may hold tokens.
        tracing::info!(host, retries, "event webhook");
        Ok(Webhook {
            events: events.clone(),
            tap: tap.id,
            url: url.to_string(),
            shared,
            dropped: tap.dropped,
            thread: Some(thread),
        })
    }

    /// The URL events are posted to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops taking new events, keeps delivering (and retrying) what is queued until
    /// `deadline`, then gives up on the rest (counted as `abandoned`, with a warning) and joins
    /// the thread. Returns by `deadline`, or at most [`WEBHOOK_TIMEOUT`] after it when a request
    /// started before `finish` is still in flight (requests started after are cut to the
    /// deadline).
    pub fn finish(mut self, deadline: Instant) -> Result<WebhookStats, EventsError> {
        self.events.untap(self.tap);
        self.shared.set_deadline(deadline);
        let thread = self.thread.take();
        let stats = thread
            .map(|t| t.join())
            .transpose()
            .map_err(|_| EventsError::Panicked { sink: "webhook" })?;
        let mut stats = stats.unwrap_or_default();
        stats.dropped = self.dropped.load(Ordering::Relaxed);
        Ok(stats)
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.events.untap(self.tap);
            self.shared.set_deadline(Instant::now());
        }
    }
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Option<Instant>> {
        self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_deadline(&self, deadline: Instant) {
        *self.lock() = Some(deadline);
        self.wake.notify_all();
    }

    /// The time one request may take now; `None` when the deadline has passed.
    fn request_timeout(&self) -> Option<Duration> {
        match *self.lock() {
            None => Some(WEBHOOK_TIMEOUT),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| left.min(WEBHOOK_TIMEOUT))
            }
        }
    }

    /// Sleeps `d`, or until the deadline if that comes first: then returns false.
    fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        let mut deadline = self.lock();
        loop {
            let now = Instant::now();
            if deadline.is_some_and(|dl| now >= dl) {
                return false;
            }
            if now >= end {
                return true;
            }
            let until = deadline.map_or(end, |dl| dl.min(end));
            deadline = self
                .wake
                .wait_timeout(deadline, until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// Checks that `url` is an absolute http(s) URL with a host; returns the host.
fn check_url(url: &str) -> Result<String, EventsError> {
    let invalid = |problem: String| EventsError::InvalidWebhookUrl {
        url: url.to_string(),
        problem,
    };
    let uri: ureq::http::Uri = url.parse().map_err(|e| invalid(format!("{e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(invalid(format!("scheme `{other}` is not supported"))),
        None => {
            return Err(invalid(
                "it is not absolute (no http:// or https://)".into(),
            ));
        }
    }
    match uri.host() {
        Some(host) if !host.is_empty() => Ok(host.to_string()),
        _ => Err(invalid("it has no host".into())),
    }
}

/// The wait before retry number `retry` (0 = the first retry), before jitter.
fn backoff(retry: u32) -> Duration {
    BACKOFF_START
        .checked_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
        .map_or(BACKOFF_CAP, |d| d.min(BACKOFF_CAP))
}

/// `d` scaled by a random factor in [0.5, 1), so many senders do not retry in step.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(rand::random_range(0.5..1.0))
}

/// The sender thread: every queued event in order until the tap is closed and drained or the
/// deadline passes.
fn send_all(
    rx: Receiver<Arc<Event>>,
    agent: Agent,
    url: &str,
    retries: u32,
    shared: &Shared,
) -> WebhookStats {
    let mut stats = WebhookStats::default();
    while let Ok(event) = rx.recv() {
        let body = event.to_json();
        let mut retry = 0;
        let delivered = loop {
            let Some(timeout) = shared.request_timeout() else {
                break None;
            };
            stats.attempts += 1;
            let error = match post(&agent, url, &event, &body, timeout) {
                Ok(()) => break Some(true),
                Err(e) => e,
            };
            if retry == retries {
                tracing::error!(
                    id = event.id,
                    kind = event.type_name(),
                    attempts = retry + 1,
                    "webhook gave up on event: {error}"
                );
                break Some(false);
            }
            tracing::debug!(
                id = event.id,
                retry,
                "webhook post failed, will retry: {error}"
            );
            if !shared.sleep(jitter(backoff(retry))) {
                break None;
            }
            retry += 1;
        };
        match delivered {
            Some(true) => stats.delivered += 1,
            Some(false) => stats.failed += 1,
            None => {
                // The finish deadline passed: nothing more can arrive (the tap is closed).
                stats.abandoned = 1 + rx.try_iter().count() as u64;
                tracing::warn!(
                    abandoned = stats.abandoned,
                    first_id = event.id,
                    "webhook: deadline passed; giving up on undelivered events"
                );
                break;
            }
        }
    }
    stats
}

/// One POST of one event.
fn post(
    agent: &Agent,
    url: &str,
    event: &Event,
    body: &str,
    timeout: Duration,
) -> Result<(), PostError> {
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Anchor-Event", event.type_name())
        .header("X-Anchor-Event-Id", event.id.to_string())
        .config()
        .timeout_global(Some(timeout))
        .build()
        .send(body.as_bytes())
        .map_err(PostError::Http)?;
    // Read (a bounded amount of) the body so the connection can be reused; its content and
    // errors do not matter.
    let _ = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_vec();
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(PostError::Status(status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::*;
    use crate::events::EventKind;

    /// One request as the test receiver saw it.
    #[derive(Debug)]
    struct Seen {
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        fn event(&self) -> Event {
            serde_json::from_str(&self.body).unwrap()
        }
    }

    /// A tiny HTTP receiver on 127.0.0.1:0: answers request n with `statuses[n]` (200 once
    /// they run out), one request per connection, and reports each request on a channel
    /// before answering. With `hold`, it waits for a message on `hold` before answering each
    /// request.
    fn receiver(
        statuses: Vec<u16>,
        hold: Option<crossbeam_channel::Receiver<()>>,
    ) -> (String, crossbeam_channel::Receiver<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hooks/anchor?token=t",
            listener.local_addr().unwrap()
        );
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            let mut statuses = VecDeque::from(statuses);
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let Some(seen) = read_request(&stream) else {
                    continue;
                };
                if tx.send(seen).is_err() {
                    return;
                }
                if let Some(hold) = &hold {
                    let _ = hold.recv();
                }
                let status = statuses.pop_front().unwrap_or(200);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        (url, rx)
    }

    fn read_request(stream: &TcpStream) -> Option<Seen> {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let path = line.split_whitespace().nth(1)?.to_string();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).ok()?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':')?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())?;
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        Some(Seen {
            path,
            headers,
            body: String::from_utf8(body).ok()?,
        })
    }

    fn soon() -> Instant {
        // A safety net only: the tests finish long before.
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn retries_through_two_500s_and_delivers_exactly_once() {
        let (url, seen) = receiver(vec![500, 500], None);
        let events = Events::new();
        let hook = Webhook::start(&events, &url, 3).unwrap();
        let sent = events.emit(
            12.345,
            EventKind::LinkPushed {
                product: "lipstick-01".into(),
                link: "https://shop.example/p/1".into(),
            },
        );
        let stats = hook.finish(soon()).unwrap();
        assert_eq!(
            stats,
            WebhookStats {
                delivered: 1,
                failed: 0,
                dropped: 0,
                abandoned: 0,
                attempts: 3
            }
        );
        let requests: Vec<Seen> = seen.try_iter().collect();
        assert_eq!(requests.len(), 3, "two 500s then one 200: {requests:?}");
        for r in &requests {
            assert_eq!(r.path, "/hooks/anchor?token=t");
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(r.header("x-anchor-event"), Some("link_pushed"));
            assert_eq!(r.header("x-anchor-event-id"), Some("1"));
            assert_eq!(r.event(), sent);
            assert_eq!(r.body, sent.to_json());
        }
    }

    #[test]
    fn events_arrive_in_order() {
        let (url, seen) = receiver(vec![], None);
        let events = Events::new();
        let hook = Webhook::start(&events, &url, 0).unwrap();
        for i in 0..20 {
            events.emit(
                i as f64,
                EventKind::Disclosure {
                    text: format!("{i}"),
                },
            );
        }
        let stats = hook.finish(soon()).unwrap();
        assert_eq!(stats.delivered, 20);
        let ids: Vec<u64> = seen.try_iter().map(|s| s.event().id).collect();
        assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    }

    #[test]
    fn a_full_queue_drops_the_oldest_events() {
        let (release_tx, release_rx) = crossbeam_channel::unbounded();
        let (url, seen) = receiver(vec![], Some(release_rx));
        let events = Events::new();
        let hook = Webhook::start(&events, &url, 5).unwrap();
        events.emit(0.0, EventKind::OnAir);
        // The receiver holds event 1's request open: the sender thread is busy with it.
        assert_eq!(seen.recv().unwrap().event().id, 1);
        let extra = 25u64;
        let last = 1 + WEBHOOK_QUEUE as u64 + extra;
        for _ in 2..=last {
            events.emit(1.0, EventKind::OnAir);
        }
        // Let every request through from now on.
        for _ in 0..2 * last {
            release_tx.send(()).unwrap();
        }
        let stats = hook.finish(soon()).unwrap();
        assert_eq!(stats.dropped, extra);
        assert_eq!(stats.delivered, 1 + WEBHOOK_QUEUE as u64);
        let mut ids = vec![1];
        ids.extend(seen.try_iter().map(|s| s.event().id));
        ids.dedup(); // a retry after a timeout would repeat an id; order is what matters
        let mut want = vec![1];
        want.extend(2 + extra..=last);
        assert_eq!(ids.len(), want.len());
        assert_eq!(ids, want, "event 1, then the newest {WEBHOOK_QUEUE}");
    }

    #[test]
    fn gives_up_after_retries_against_a_closed_port() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The listener is dropped: connections are refused.
        let events = Events::new();
        let hook = Webhook::start(&events, &format!("http://127.0.0.1:{port}/x"), 2).unwrap();
        events.emit(0.0, EventKind::OnAir);
        events.emit(1.0, EventKind::OffAir { until: None });
        let stats = hook.finish(soon()).unwrap();
        assert_eq!(stats.failed, 2);
        assert_eq!(stats.delivered, 0);
        assert_eq!(stats.abandoned, 0);
        assert_eq!(stats.attempts, 2 * 3, "first try + 2 retries per event");
    }

    #[test]
    fn finish_gives_up_at_the_deadline_with_many_retries_left() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let events = Events::new();
        let hook = Webhook::start(&events, &format!("http://127.0.0.1:{port}/"), u32::MAX).unwrap();
        for _ in 0..3 {
            events.emit(0.0, EventKind::OnAir);
        }
        let stats = hook
            .finish(Instant::now() + Duration::from_millis(300))
            .unwrap();
        assert_eq!(stats.delivered, 0);
        assert_eq!(stats.failed, 0);
        assert_eq!(stats.abandoned, 3, "{stats:?}");
    }

    #[test]
    fn invalid_urls_are_refused_at_start() {
        let events = Events::new();
        for url in [
            "",
            "not a url",
            "/relative/path",
            "ftp://example.com/x",
            "http:///x",
        ] {
            let err = Webhook::start(&events, url, 1).unwrap_err();
            assert!(
                matches!(err, EventsError::InvalidWebhookUrl { .. }),
                "{url}: {err:?}"
            );
            assert!(err.to_string().contains("http://"), "{err}");
        }
        assert!(Webhook::start(&events, "https://example.com/hook", 1).is_ok());
    }

    #[test]
    fn backoff_doubles_from_250ms_and_caps_at_10s_and_jitter_stays_in_range() {
        let ms: Vec<u128> = (0..8).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        assert_eq!(backoff(40), BACKOFF_CAP);
        assert_eq!(backoff(u32::MAX), BACKOFF_CAP);
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(1));
            assert!(
                j >= Duration::from_millis(500) && j < Duration::from_secs(1),
                "{j:?}"
            );
        }
    }
}
