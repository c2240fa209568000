//! The bus: ids, the ring of recent events, the show state, the broadcast and the sink taps.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{Event, EventKind, now_rfc3339};

/// How many of the latest events [`Events::recent`] keeps for late subscribers.
pub const RECENT_EVENTS: usize = 256;
/// How many events a [`Events::subscribe`] receiver holds before a slow reader starts missing
/// the oldest (`RecvError::Lagged`).
pub const SUBSCRIBER_CAPACITY: usize = 1024;

/// What is on air now, derived from all events so far (not only the recent ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShowState {
    /// The `product_started` event of the product being presented; `None` before the first
    /// product, after its `product_ended` and after `show_ended`.
    pub product: Option<Event>,
    /// The latest `link_pushed` event of the show (it stays after its product ended).
    pub last_link: Option<Event>,
    /// True after `on_air` until `off_air` or `show_ended`.
    pub on_air: bool,
    /// Id of the latest event, 0 before the first.
    pub last_event_id: u64,
}

/// The event bus of one show. Cheap to clone (all clones share one bus); `Send + Sync`.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    bus: Mutex<Bus>,
    tx: broadcast::Sender<Arc<Event>>,
}

struct Bus {
    last_id: u64,
    recent: VecDeque<Arc<Event>>,
    product: Option<Arc<Event>>,
    last_link: Option<Arc<Event>>,
    on_air: bool,
    last_by_type: [Option<Arc<Event>>; EventKind::TYPE_NAMES.len()],
    taps: Vec<Tap>,
    next_tap: u64,
}

/// What a sink does when its queue is full.
pub(crate) enum Overflow {
    /// Keep the queue, drop the event being emitted (error log).
    DropNewest,
    /// Drop the oldest queued event to make room (warning); holds a receiver of the queue.
    DropOldest(Receiver<Arc<Event>>),
}

/// A sink's queue, fed by `emit` with non-blocking sends.
struct Tap {
    id: u64,
    name: &'static str,
    tx: Sender<Arc<Event>>,
    overflow: Overflow,
    dropped: Arc<AtomicU64>,
}

/// A sink's end of its tap.
pub(crate) struct TapHandle {
    pub id: u64,
    pub rx: Receiver<Arc<Event>>,
    /// Events this tap dropped on overflow.
    pub dropped: Arc<AtomicU64>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bus = self.lock();
        f.debug_struct("Events")
            .field("last_id", &bus.last_id)
            .field("taps", &bus.taps.len())
            .field("subscribers", &self.inner.tx.receiver_count())
            .finish()
    }
}

impl Events {
    /// A new bus; the first event gets id 1.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(SUBSCRIBER_CAPACITY);
        Events {
            inner: Arc::new(Inner {
                bus: Mutex::new(Bus {
                    last_id: 0,
                    recent: VecDeque::with_capacity(RECENT_EVENTS),
                    product: None,
                    last_link: None,
                    on_air: false,
                    last_by_type: Default::default(),
                    taps: Vec::new(),
                    next_tap: 0,
                }),
                tx,
            }),
        }
    }

    /// Records that `kind` happens on air at media time `pts` (seconds) and hands it to every
    /// subscriber and sink. Assigns the next id and the wall-clock time; returns the event.
    /// Never blocks on a listener and never fails; a non-finite `pts` is stored as 0 with a
    /// warning.
    pub fn emit(&self, pts: f64, kind: EventKind) -> Event {
        let pts = if pts.is_finite() {
            pts
        } else {
            tracing::warn!(
                pts,
                kind = kind.type_name(),
                "event with a non-finite pts; using 0"
            );
            0.0
        };
        let mut bus = self.lock();
        bus.last_id += 1;
        let event = Arc::new(Event {
            id: bus.last_id,
            pts,
            time: now_rfc3339(),
            kind,
        });
        bus.record(&event);
        // Err only means nobody subscribed right now.
        let _ = self.inner.tx.send(Arc::clone(&event));
        bus.feed_taps(&event);
        drop(bus);
        tracing::debug!(id = event.id, pts, kind = event.type_name(), "event");
        (*event).clone()
    }

    /// A receiver of every event emitted from now on, in id order. Use `recv().await` in async
    /// code and `blocking_recv()` on a plain thread. It holds [`SUBSCRIBER_CAPACITY`] events;
    /// a reader further behind gets `RecvError::Lagged(skipped)` and then the oldest event
    /// still held.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.inner.tx.subscribe()
    }

    /// In one step (no event can fall between them): the recent events (oldest first), the
    /// show state, and a receiver of every event after those.
    pub fn subscribe_with_history(
        &self,
    ) -> (Vec<Arc<Event>>, ShowState, broadcast::Receiver<Arc<Event>>) {
        let bus = self.lock();
        let rx = self.inner.tx.subscribe();
        (bus.recent.iter().cloned().collect(), bus.state(), rx)
    }

    /// The last [`RECENT_EVENTS`] events, oldest first.
    pub fn recent(&self) -> Vec<Event> {
        self.lock().recent.iter().map(|e| (**e).clone()).collect()
    }

    /// The latest event whose `type` is `type_name` (e.g. `"product_started"`), however long
    /// ago; `None` if there was none or the name is not a type.
    pub fn last_of(&self, type_name: &str) -> Option<Event> {
        let slot = EventKind::TYPE_NAMES.iter().position(|t| *t == type_name)?;
        self.lock().last_by_type[slot].as_deref().cloned()
    }

    /// What is on air now.
    pub fn state(&self) -> ShowState {
        self.lock().state()
    }

    /// Id of the latest event, 0 before the first.
    pub fn last_id(&self) -> u64 {
        self.lock().last_id
    }

    /// Opens a queue of `capacity` events that every later emit feeds without blocking.
    pub(crate) fn tap(&self, name: &'static str, capacity: usize, drop_oldest: bool) -> TapHandle {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let overflow = if drop_oldest {
            Overflow::DropOldest(rx.clone())
        } else {
            Overflow::DropNewest
        };
        let mut bus = self.lock();
        bus.next_tap += 1;
        let id = bus.next_tap;
        bus.taps.push(Tap {
            id,
            name,
            tx,
            overflow,
            dropped: Arc::clone(&dropped),
        });
        TapHandle { id, rx, dropped }
    }

    /// Closes a tap: events emitted before this call are in its queue, none after; its
    /// receiver reports disconnection once drained.
    pub(crate) fn untap(&self, id: u64) {
        self.lock().taps.retain(|t| t.id != id);
    }

    fn lock(&self) -> MutexGuard<'_, Bus> {
        // The critical sections only push and clone; a panic in one leaves consistent data.
        self.inner
            .bus
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Bus {
    fn record(&mut self, event: &Arc<Event>) {
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(Arc::clone(event));
        if let Some(slot) = EventKind::TYPE_NAMES
            .iter()
            .position(|t| *t == event.type_name())
        {
            self.last_by_type[slot] = Some(Arc::clone(event));
        }
        match &event.kind {
            EventKind::ProductStarted { .. } => self.product = Some(Arc::clone(event)),
            EventKind::ProductEnded { product } => {
                let current = self.product.as_ref().map(|p| &p.kind);
                match current {
                    Some(EventKind::ProductStarted { product: p, .. }) if p == product => {
                        self.product = None;
                    }
                    _ => tracing::debug!(product, "product_ended for a product not on air"),
                }
            }
            EventKind::LinkPushed { .. } => self.last_link = Some(Arc::clone(event)),
            EventKind::OnAir => self.on_air = true,
            EventKind::OffAir { .. } => self.on_air = false,
            EventKind::ShowEnded { .. } => {
                self.on_air = false;
                self.product = None;
            }
            _ => {}
        }
    }

    fn feed_taps(&mut self, event: &Arc<Event>) {
        self.taps.retain(|tap| {
            let mut item = Arc::clone(event);
            loop {
                match tap.tx.try_send(item) {
                    Ok(()) => return true,
                    // The sink's thread is gone (it panicked); forget the tap.
                    Err(TrySendError::Disconnected(_)) => {
                        tracing::error!(sink = tap.name, "event sink is gone; no longer feeding it");
                        return false;
                    }
                    Err(TrySendError::Full(back)) => match &tap.overflow {
                        Overflow::DropNewest => {
                            let n = tap.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                            if n == 1 || n % 1000 == 0 {
                                tracing::error!(
                                    sink = tap.name,
                                    id = back.id,
                                    dropped = n,
                                    "event sink queue full; dropping the newest events"
                                );
                            }
                            return true;
                        }
                        Overflow::DropOldest(rx) => {
                            if let Ok(old) = rx.try_recv() {
                                let n = tap.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                                if n == 1 || n % 100 == 0 {
                                    tracing::warn!(
                                        sink = tap.name,
                                        id = old.id,
                                        dropped = n,
                                        "event sink queue full (receiver down?); dropping the oldest events"
                                    );
                                }
                            }
                            item = back;
                        }
                    },
                }
            }
        });
    }

    fn state(&self) -> ShowState {
        ShowState {
            product: self.product.as_deref().cloned(),
            last_link: self.last_link.as_deref().cloned(),
            on_air: self.on_air,
            last_event_id: self.last_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str) -> EventKind {
        EventKind::ProductStarted {
            product: id.into(),
            name: format!("{id} name"),
            price: Some(99.0),
            currency: "CNY".into(),
            link: None,
        }
    }

    #[test]
    fn ids_are_contiguous_from_one_and_recent_keeps_the_last_256() {
        let events = Events::new();
        assert_eq!(events.last_id(), 0);
        for i in 0..300 {
            let e = events.emit(i as f64 / 30.0, EventKind::OnAir);
            assert_eq!(e.id, i + 1);
        }
        let recent = events.recent();
        assert_eq!(recent.len(), RECENT_EVENTS);
        assert_eq!(recent.first().unwrap().id, 300 - RECENT_EVENTS as u64 + 1);
        assert_eq!(recent.last().unwrap().id, 300);
        assert!(recent.windows(2).all(|w| w[1].id == w[0].id + 1));
    }

    #[test]
    fn ids_stay_unique_and_ordered_across_threads() {
        let events = Events::new();
        let mut rx = events.subscribe();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let events = events.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        events.emit(0.0, EventKind::OnAir);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // The subscriber sees them in id order: the broadcast is fed under the id lock.
        for want in 1..=800 {
            assert_eq!(rx.try_recv().unwrap().id, want);
        }
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn emit_without_subscribers_is_fine_and_subscriber_from_a_thread_gets_events() {
        let events = Events::new();
        events.emit(0.0, EventKind::OnAir);
        let mut rx = events.subscribe();
        let reader = std::thread::spawn(move || {
            let a = rx.blocking_recv().unwrap();
            let b = rx.blocking_recv().unwrap();
            (a.id, a.type_name(), b.id, b.type_name())
        });
        events.emit(1.0, product("p1"));
        events.emit(2.0, EventKind::OffAir { until: None });
        assert_eq!(reader.join().unwrap(), (2, "product_started", 3, "off_air"));
    }

    #[test]
    fn state_tracks_product_link_and_on_air_beyond_the_ring() {
        let events = Events::new();
        assert_eq!(events.state(), ShowState::default());
        events.emit(0.0, EventKind::OnAir);
        let p1 = events.emit(1.0, product("p1"));
        let link = events.emit(
            2.0,
            EventKind::LinkPushed {
                product: "p1".into(),
                link: "https://x/1".into(),
            },
        );
        // Push the product out of the recent ring: the state still knows it.
        for _ in 0..RECENT_EVENTS {
            events.emit(3.0, EventKind::Disclosure { text: "AI".into() });
        }
        let state = events.state();
        assert_eq!(state.product.as_ref(), Some(&p1));
        assert_eq!(state.last_link.as_ref(), Some(&link));
        assert!(state.on_air);
        assert_eq!(state.last_event_id, 3 + RECENT_EVENTS as u64);
        assert_eq!(events.last_of("product_started"), Some(p1.clone()));
        assert_eq!(events.last_of("no_such_type"), None);

        // Ending another product changes nothing; ending this one clears it.
        events.emit(
            4.0,
            EventKind::ProductEnded {
                product: "p2".into(),
            },
        );
        assert_eq!(events.state().product, Some(p1));
        events.emit(
            5.0,
            EventKind::ProductEnded {
                product: "p1".into(),
            },
        );
        assert_eq!(events.state().product, None);
        assert_eq!(events.state().last_link, Some(link));
        events.emit(6.0, EventKind::OffAir { until: None });
        assert!(!events.state().on_air);
    }

    #[test]
    fn non_finite_pts_is_stored_as_zero() {
        let events = Events::new();
        assert_eq!(events.emit(f64::NAN, EventKind::OnAir).pts, 0.0);
        assert_eq!(events.emit(f64::INFINITY, EventKind::OnAir).pts, 0.0);
    }

    #[test]
    fn taps_drop_newest_or_oldest_when_full_and_untap_disconnects() {
        let events = Events::new();
        let newest = events.tap("test-newest", 3, false);
        let oldest = events.tap("test-oldest", 3, true);
        for _ in 0..5 {
            events.emit(0.0, EventKind::OnAir);
        }
        let ids = |rx: &Receiver<Arc<Event>>| rx.try_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&newest.rx), [1, 2, 3]);
        assert_eq!(newest.dropped.load(Ordering::Relaxed), 2);
        assert_eq!(ids(&oldest.rx), [3, 4, 5]);
        assert_eq!(oldest.dropped.load(Ordering::Relaxed), 2);
        events.untap(newest.id);
        events.emit(0.0, EventKind::OnAir);
        assert!(matches!(
            newest.rx.try_recv(),
            Err(crossbeam_channel::TryRecvError::Disconnected)
        ));
        assert_eq!(ids(&oldest.rx), [6]);
    }
}
