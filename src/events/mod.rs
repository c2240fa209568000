//! events: what happens on air, in order, for everyone who listens.
//!
//! In: the show director (and the script loader) call [`Events::emit`] with the media time of
//! the frame where the thing happens on air (`pts`, seconds on the output timeline, see
//! [`crate::media`]) and an [`EventKind`]. Out: an [`Event`] with a per-bus id (1, 2, 3, ...,
//! no gaps) and the wall-clock time of the emit, delivered to
//! - async and thread subscribers ([`Events::subscribe`]: a `tokio::sync::broadcast` receiver
//!   holding [`SUBSCRIBER_CAPACITY`] events; a subscriber that falls further behind gets
//!   `RecvError::Lagged(n)` and continues with the newest ones),
//! - late readers ([`Events::recent`]: the last [`RECENT_EVENTS`] events; [`Events::state`]:
//!   the current product, last link push and on-air flag, however old they are),
//! - the sinks: [`JsonlLog`] (one JSON line per event, append, flushed per line) and
//!   [`Webhook`] (one POST per event, retried with backoff).
//!
//! Threads: `emit` may be called from any thread or task. It never blocks on a listener and
//! never fails: it takes one short mutex (so ids, the ring, the broadcast and every sink see
//! the same order) and hands the event on with non-blocking sends. Each sink runs on its own
//! thread behind its own bounded queue with a stated overflow policy: the JSONL log keeps
//! [`JSONL_QUEUE`] events (enough for any burst; beyond that the newest are dropped with an
//! error log), the webhook keeps [`WEBHOOK_QUEUE`] and drops the oldest with a warning while
//! its receiver is down. Emitting with no subscribers and no sinks is fine.
//!
//! Wire format (JSONL lines, webhook bodies, SSE `data:` lines of [`crate::server`]): one JSON
//! object per event, the envelope fields first, then `type` and that type's fields:
//!
//! ```text
//! {"id":7,"pts":12.345,"time":"2025-06-01T20:00:12.345Z","type":"link_pushed","product":"lipstick-01","link":"https://shop.example/p/1"}
//! ```
//!
//! `time` is RFC 3339 in UTC with millisecond precision. Types (`type` field, snake case):
//! `show_started`, `product_started`, `product_ended`, `link_pushed`, `disclosure`, `on_air`,
//! `off_air`, `script_reloaded`, `script_rejected`, `show_ended`, `chat_reply`, `chat_blocked`,
//! `host_online`, `host_offline`, `takeover`, `hand_back`, `operator`, `output_up`,
//! `output_down`, `recording_failed`; see [`EventKind`].

mod bus;
mod jsonl;
mod webhook;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use bus::{Events, RECENT_EVENTS, SUBSCRIBER_CAPACITY, ShowState};
pub use jsonl::{JSONL_QUEUE, JsonlLog, JsonlStats};
pub use webhook::{
    BACKOFF_CAP, BACKOFF_START, WEBHOOK_CONNECT_TIMEOUT, WEBHOOK_QUEUE, WEBHOOK_TIMEOUT, Webhook,
    WebhookStats,
};

/// One thing that happened on air.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3, ... per [`Events`] bus, without gaps.
    pub id: u64,
    /// Media time in seconds at which it happens on air (the pts of the first frame that
    /// shows it), on the one output timeline.
    pub pts: f64,
    /// Wall clock at the emit, RFC 3339 UTC with milliseconds, e.g. `2025-06-01T20:00:12.345Z`.
    pub time: String,
    /// What happened; serialized inline as `type` plus that kind's fields.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Serialized with a `type` tag in snake case (see [`EventKind::type_name`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The show began: its title and the script file it plays.
    ShowStarted { title: String, script: String },
    /// A product segment began: product id, display name, price (none when the script gives
    /// none), ISO currency code, and its shop link if the script has one.
    ProductStarted {
        product: String,
        name: String,
        price: Option<f64>,
        currency: String,
        link: Option<String>,
    },
    /// The segment of this product ended.
    ProductEnded { product: String },
    /// A product link was pushed to viewers (`cue: link`).
    LinkPushed { product: String, link: String },
    /// The AI disclosure was shown or spoken; the text is what viewers saw or heard.
    Disclosure { text: String },
    /// The stream went on air.
    OnAir,
    /// The stream went off air; `until` is an RFC 3339 time when it is planned to come back.
    OffAir { until: Option<String> },
    /// A new script version was accepted; it applies at the next `"segment"` or `"line"`.
    ScriptReloaded { script: String, applies_at: String },
    /// A new script version was refused (the show keeps playing the last good one); one
    /// `file:line:col: error: ...` per entry.
    ScriptRejected { script: String, errors: Vec<String> },
    /// The show ended, and why (`"done"`, `"stopped"`, an error message, ...).
    ShowEnded { reason: String },
    /// A chat reply went on air at `pts`: the moderated question, what is said, and how long
    /// after the question arrived (`latency`, media seconds).
    ChatReply {
        reply: u64,
        question: String,
        intent: String,
        product: Option<String>,
        faq: Option<usize>,
        verdict: String,
        text: String,
        asked_by: usize,
        latency: f64,
    },
    /// A chat message was blocked by moderation (`kind`: profanity, injection, ...).
    ChatBlocked { user: String, kind: String },
    /// The human host's feed started arriving (frames flow).
    HostOnline,
    /// The host's feed stopped; `since` is the media time of its last frame (the picture
    /// switched to the avatar at `pts`).
    HostOffline { since: f64 },
    /// The avatar took over the show from the host: `reason` is `feed_lost`, `operator` or
    /// `schedule`; `text` is the hand-off line it opens with (none when off air).
    Takeover {
        reason: String,
        text: Option<String>,
    },
    /// The avatar handed the show back to the host (at a sentence boundary).
    HandBack,
    /// An operator's control command (`POST /api/pause`, ...) as the show carried it out:
    /// `command` is `host`, `product`, `pause`, `resume` or `say`; `ok` false when it could not
    /// be (an unknown product, no host input), with why in `detail`.
    Operator {
        command: String,
        ok: bool,
        detail: String,
    },
    /// A push output connected (`output`: its URL with the stream key redacted).
    OutputUp { output: String },
    /// An output failed: the redacted error, and in how many seconds it is retried (`None`:
    /// not retried, e.g. the HLS preview).
    OutputDown {
        output: String,
        error: String,
        retry_in_s: Option<f64>,
    },
    /// Alarm: the recording stopped being written (disk full, file removed, ...); the stream
    /// and the pushes go on.
    RecordingFailed { path: String, error: String },
}

impl EventKind {
    /// Every value [`EventKind::type_name`] can return, in declaration order.
    pub const TYPE_NAMES: [&'static str; 20] = [
        "show_started",
        "product_started",
        "product_ended",
        "link_pushed",
        "disclosure",
        "on_air",
        "off_air",
        "script_reloaded",
        "script_rejected",
        "show_ended",
        "chat_reply",
        "chat_blocked",
        "host_online",
        "host_offline",
        "takeover",
        "hand_back",
        "operator",
        "output_up",
        "output_down",
        "recording_failed",
    ];

    /// The `type` tag this kind serializes with, e.g. `"link_pushed"` (also the SSE `event:`
    /// name and the webhook's `X-Anchor-Event` header).
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::ShowStarted { .. } => "show_started",
            EventKind::ProductStarted { .. } => "product_started",
            EventKind::ProductEnded { .. } => "product_ended",
            EventKind::LinkPushed { .. } => "link_pushed",
            EventKind::Disclosure { .. } => "disclosure",
            EventKind::OnAir => "on_air",
            EventKind::OffAir { .. } => "off_air",
            EventKind::ScriptReloaded { .. } => "script_reloaded",
            EventKind::ScriptRejected { .. } => "script_rejected",
            EventKind::ShowEnded { .. } => "show_ended",
            EventKind::ChatReply { .. } => "chat_reply",
            EventKind::ChatBlocked { .. } => "chat_blocked",
            EventKind::HostOnline => "host_online",
            EventKind::HostOffline { .. } => "host_offline",
            EventKind::Takeover { .. } => "takeover",
            EventKind::HandBack => "hand_back",
            EventKind::Operator { .. } => "operator",
            EventKind::OutputUp { .. } => "output_up",
            EventKind::OutputDown { .. } => "output_down",
            EventKind::RecordingFailed { .. } => "recording_failed",
        }
    }
}

impl Event {
    /// The `type` tag of this event (see [`EventKind::type_name`]).
    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// This event as one line of JSON (no trailing newline), the wire format above.
    pub fn to_json(&self) -> String {
        // Invariant: serializing this type cannot fail: all keys are strings and `emit` stores
        // only finite `pts` values (serde_json writes non-finite floats as `null` anyway).
        serde_json::to_string(self).unwrap_or_else(|e| {
            tracing::error!(id = self.id, "cannot serialize event: {e}");
            format!(r#"{{"id":{},"type":"{}"}}"#, self.id, self.type_name())
        })
    }
}

/// Errors of the event sinks. Emitting itself never fails. None of them stops the show: a
/// sink that cannot start is reported and the show runs without it.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The JSONL event log (or its folder) could not be created or opened for appending.
    #[error(
        "cannot open event log {}: {source}; check that its folder is writable or choose another path",
        path.display()
    )]
    LogOpen {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing to the JSONL event log failed (disk full, file removed, ...). Reported by
    /// [`JsonlLog::finish`] with the first such error; later lines were still attempted.
    #[error(
        "writing event log {} failed ({failed} lines lost, first error: {source}); check free disk space and permissions",
        path.display()
    )]
    LogWrite {
        path: PathBuf,
        failed: u64,
        source: std::io::Error,
    },
    /// The webhook URL is unusable.
    #[error(
        "invalid webhook URL `{url}`: {problem}; expected an absolute http:// or https:// URL such as http://127.0.0.1:9000/hooks/anchor"
    )]
    InvalidWebhookUrl { url: String, problem: String },
    /// The sink's thread could not be started (out of threads or memory).
    #[error("cannot start the {sink} thread: {source}")]
    Spawn {
        sink: &'static str,
        source: std::io::Error,
    },
    /// The sink's thread panicked (a bug); what it had not written is lost.
    #[error(
        "the {sink} thread panicked; events after the panic were not written (this is a bug, please report it)"
    )]
    Panicked { sink: &'static str },
}

/// Wall-clock now as RFC 3339 UTC with milliseconds.
fn now_rfc3339() -> String {
    format!("{:.3}", jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<EventKind> {
        vec![
            EventKind::ShowStarted {
                title: "t".into(),
                script: "s.yaml".into(),
            },
            EventKind::ProductStarted {
                product: "p".into(),
                name: "n".into(),
                price: Some(9.9),
                currency: "CNY".into(),
                link: None,
            },
            EventKind::ProductEnded {
                product: "p".into(),
            },
            EventKind::LinkPushed {
                product: "p".into(),
                link: "https://x".into(),
            },
            EventKind::Disclosure { text: "AI".into() },
            EventKind::OnAir,
            EventKind::OffAir { until: None },
            EventKind::ScriptReloaded {
                script: "s.yaml".into(),
                applies_at: "segment".into(),
            },
            EventKind::ScriptRejected {
                script: "s.yaml".into(),
                errors: vec!["s.yaml:3:5: error: unknown key".into()],
            },
            EventKind::ShowEnded {
                reason: "done".into(),
            },
            EventKind::ChatReply {
                reply: 3,
                question: "多少钱".into(),
                intent: "price".into(),
                product: Some("lipstick-01".into()),
                faq: Some(1),
                verdict: "answer".into(),
                text: "今天直播间到手价99.9元".into(),
                asked_by: 4,
                latency: 0.42,
            },
            EventKind::ChatBlocked {
                user: "u9".into(),
                kind: "injection".into(),
            },
            EventKind::HostOnline,
            EventKind::HostOffline { since: 12.5 },
            EventKind::Takeover {
                reason: "feed_lost".into(),
                text: Some("主播暂时离开，小林来陪大家".into()),
            },
            EventKind::HandBack,
            EventKind::Operator {
                command: "product".into(),
                ok: true,
                detail: "lipstick-01".into(),
            },
            EventKind::OutputUp {
                output: "rtmp://h/live/****".into(),
            },
            EventKind::OutputDown {
                output: "rtmp://h/live/****".into(),
                error: "Connection refused".into(),
                retry_in_s: Some(1.5),
            },
            EventKind::RecordingFailed {
                path: "out/r.mp4".into(),
                error: "No space left on device".into(),
            },
        ]
    }

    #[test]
    fn link_push_serializes_as_one_flat_object_in_field_order() {
        let event = Event {
            id: 7,
            pts: 12.345,
            time: "2025-06-01T20:00:12.345Z".into(),
            kind: EventKind::LinkPushed {
                product: "lipstick-01".into(),
                link: "https://shop.example/p/1".into(),
            },
        };
        assert_eq!(
            event.to_json(),
            r#"{"id":7,"pts":12.345,"time":"2025-06-01T20:00:12.345Z","type":"link_pushed","product":"lipstick-01","link":"https://shop.example/p/1"}"#
        );
    }

    #[test]
    fn every_kind_round_trips_and_type_name_matches_the_serde_tag() {
        let kinds = all_kinds();
        assert_eq!(kinds.len(), EventKind::TYPE_NAMES.len());
        for (i, kind) in kinds.into_iter().enumerate() {
            let event = Event {
                id: i as u64 + 1,
                pts: 1.5,
                time: now_rfc3339(),
                kind,
            };
            let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
            assert_eq!(json["type"], event.type_name());
            assert_eq!(event.type_name(), EventKind::TYPE_NAMES[i]);
            let back: Event = serde_json::from_str(&event.to_json()).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn bus_and_sinks_can_move_between_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Events>();
        send_sync::<Event>();
        send::<JsonlLog>();
        send::<Webhook>();
    }

    #[test]
    fn time_is_rfc3339_utc_with_milliseconds() {
        let t = now_rfc3339();
        let parsed: jiff::Timestamp = t.parse().unwrap();
        assert!(t.ends_with('Z'), "{t}");
        assert_eq!(t.len(), "2025-06-01T20:00:12.345Z".len(), "{t}");
        assert!(parsed.as_second() > 1_600_000_000);
    }
}
