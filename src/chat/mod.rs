//! chat: viewer messages in, answers on the show's timeline out.
//!
//! Sources — `POST /api/chat` and the WebSocket `/api/chat/ws` of the local server
//! ([`crate::server`]), stdin lines ([`spawn_stdin`]), a replay file of JSON lines with media
//! times ([`Replay`]) — all put [`ChatMessage`]s into one bounded [`Inbox`]: a flood fills it
//! and the surplus is dropped and counted, so memory stays bounded and the stream never waits.
//! A platform adapter (Douyin, Taobao, ...) is one more producer of `ChatMessage`s.
//!
//! The [`Desk`] takes them in order: [`moderation`] first (nothing else sees a message it
//! blocks), then question detection, per-user cooldown and dedupe (the same question from many
//! viewers is answered once, "好多姐妹问…"), a bounded queue that prefers the product on air,
//! the brain's answer, the same filter again on what would be spoken, and finally the
//! director's insert seam at the script's `chat.answer` policy.

pub mod bench;
mod desk;
pub mod moderation;

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use serde::{Deserialize, Serialize};

pub use desk::{Desk, DeskStats, REPLY_ID_NONE};

/// Messages the inbox holds before new ones are dropped (a flood never grows memory).
pub const INBOX_CAPACITY: usize = 4096;
/// Longest message accepted from any source, in bytes (longer: rejected at the door).
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024;

/// One viewer message, from any source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Platform user id (opaque; used for cooldowns, never spoken).
    pub user: String,
    /// Display name as the platform gives it (sanitized before it is ever spoken).
    #[serde(default)]
    pub name: String,
    pub text: String,
    /// `douyin`, `taobao`, `http`, `stdin`, `replay`, ...
    #[serde(default)]
    pub platform: String,
    /// When it was sent, RFC 3339, as the source says (informational).
    #[serde(default)]
    pub time: String,
    /// Replay files only: the media time (seconds) at which it arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
}

/// Why a message was not taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("the chat inbox is full ({INBOX_CAPACITY} waiting); message dropped")]
    Full,
    #[error("message longer than {MAX_MESSAGE_BYTES} bytes")]
    TooLong,
    #[error("the show has ended")]
    Closed,
}

/// The bounded inbox every source writes to. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Inbox {
    tx: Sender<ChatMessage>,
    rx: Receiver<ChatMessage>,
    dropped: Arc<AtomicU64>,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox::new()
    }
}

impl Inbox {
    pub fn new() -> Inbox {
        let (tx, rx) = bounded(INBOX_CAPACITY);
        Inbox {
            tx,
            rx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Puts a message in without ever blocking.
    pub fn push(&self, mut msg: ChatMessage) -> Result<(), Rejected> {
        if msg.text.len() > MAX_MESSAGE_BYTES {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(Rejected::TooLong);
        }
        if msg.time.is_empty() {
            msg.time = jiff::Timestamp::now().to_string();
        }
        self.tx.try_send(msg).map_err(|e| {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            match e {
                TrySendError::Full(_) => Rejected::Full,
                TrySendError::Disconnected(_) => Rejected::Closed,
            }
        })
    }

    /// The receiving end (the desk).
    pub fn receiver(&self) -> &Receiver<ChatMessage> {
        &self.rx
    }

    /// Messages dropped at the door so far (full inbox, too long).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A replay file: one JSON [`ChatMessage`] per line, each with `at` (media seconds), for tests
/// and demos. Lines that are not valid are reported with their line number and skipped.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Sorted by `at`.
    messages: Vec<ChatMessage>,
    next: usize,
}

impl Replay {
    pub fn load(path: &Path) -> std::io::Result<Replay> {
        let file = std::fs::File::open(path)?;
        let mut messages = Vec::new();
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<ChatMessage>(&line) {
                Ok(mut m) if m.at.is_some_and(f64::is_finite) => {
                    if m.platform.is_empty() {
                        m.platform = "replay".into();
                    }
                    messages.push(m);
                }
                Ok(_) => tracing::warn!(
                    "{}:{}: no `at` (media seconds); skipped",
                    path.display(),
                    i + 1
                ),
                Err(e) => tracing::warn!(
                    "{}:{}: not a chat message ({e}); skipped",
                    path.display(),
                    i + 1
                ),
            }
        }
        messages.sort_by(|a, b| a.at.unwrap_or(0.0).total_cmp(&b.at.unwrap_or(0.0)));
        Ok(Replay { messages, next: 0 })
    }

    /// From messages in memory (each needs `at`).
    pub fn from_messages(mut messages: Vec<ChatMessage>) -> Replay {
        messages.retain(|m| m.at.is_some_and(f64::is_finite));
        messages.sort_by(|a, b| a.at.unwrap_or(0.0).total_cmp(&b.at.unwrap_or(0.0)));
        Replay { messages, next: 0 }
    }

    /// The messages due at media time `now`, in order.
    pub fn due(&mut self, now: f64) -> &[ChatMessage] {
        let start = self.next;
        while self
            .messages
            .get(self.next)
            .is_some_and(|m| m.at.unwrap_or(0.0) <= now)
        {
            self.next += 1;
        }
        &self.messages[start..self.next]
    }

    pub fn is_done(&self) -> bool {
        self.next >= self.messages.len()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// Reads stdin lines as chat (`user: text`, or just `text`) into `inbox` on a thread.
pub fn spawn_stdin(inbox: Inbox) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("anchor-chat-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else {
                    tracing::warn!("chat stdin: not UTF-8 text; line skipped");
                    continue;
                };
                let (user, text) = match line.split_once(": ") {
                    Some((u, t)) if !u.is_empty() && u.chars().count() <= 32 => (u, t),
                    _ => ("stdin", line.as_str()),
                };
                let msg = ChatMessage {
                    user: user.to_owned(),
                    name: user.to_owned(),
                    text: text.to_owned(),
                    platform: "stdin".into(),
                    time: String::new(),
                    at: None,
                };
                if let Err(e) = inbox.push(msg) {
                    tracing::warn!("chat stdin: {e}");
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str, at: Option<f64>) -> ChatMessage {
        ChatMessage {
            user: "u".into(),
            name: "n".into(),
            text: text.into(),
            platform: String::new(),
            time: String::new(),
            at,
        }
    }

    #[test]
    fn inbox_is_bounded_and_counts_what_it_drops() {
        let inbox = Inbox::new();
        for i in 0..INBOX_CAPACITY + 100 {
            let _ = inbox.push(msg(&format!("{i}"), None));
        }
        assert_eq!(inbox.receiver().len(), INBOX_CAPACITY);
        assert_eq!(inbox.dropped(), 100);
        assert_eq!(
            inbox.push(msg(&"长".repeat(MAX_MESSAGE_BYTES), None)),
            Err(Rejected::TooLong)
        );
        // Oldest kept, in order; the time is filled in.
        let first = inbox.receiver().recv().expect("a message");
        assert_eq!(first.text, "0");
        assert!(!first.time.is_empty());
    }

    #[test]
    fn replay_delivers_by_media_time() {
        let mut r = Replay::from_messages(vec![
            msg("b", Some(2.0)),
            msg("a", Some(1.0)),
            msg("no time", None),
            msg("c", Some(2.0)),
        ]);
        assert_eq!(r.len(), 3);
        assert!(r.due(0.5).is_empty());
        assert_eq!(r.due(1.0)[0].text, "a");
        let texts: Vec<&str> = r.due(5.0).iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["b", "c"]);
        assert!(r.is_done());
    }
}
