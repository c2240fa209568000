//! The director: one timeline of steps from the rundown, decided as the show goes.
//!
//! The voice thread asks [`Director::next`] for the next step and synthesizes it; the frame
//! loop tells [`Director::started`] when a step goes on air (its media time). Between the two
//! sit a few synthesized clips, so the director always knows which steps are produced but not
//! yet on air, and can take them back: a chat reply, a script reload or an interruption
//! **rewinds** the producer to the first step not yet on air (the clips already queued are
//! dropped by their [`Planned::epoch`]) and the show continues from there. Every produced step
//! keeps a snapshot of the director's decisions before it, so a rewind is an exact undo.
//!
//! At each segment boundary the director decides, in this order: apply a pending reload;
//! off air when the `schedule` is closed (silence ticks, [`Mark::OffAir`]); back on air with
//! the greeting and the AI disclosure; the disclosure again every `show.disclosure_every`;
//! loop to the top (`show.loop`) or finish.
//!
//! Reloads: an edit that only changes text (same segments, products and line kinds) takes
//! effect at the next line; any other edit at the next segment boundary. After a structural
//! edit the show continues after the segment it just finished (found by product id or line
//! text in the new rundown) and skips segments already said in this pass of the loop, so a
//! reload never replays what was said.
//!
//! Pause: [`Director::pause`] takes back what is produced but not on air and makes
//! [`Director::next`] wait (the voice thread produces nothing new) until [`Director::resume`];
//! the sentence on air is not touched (the frame loop lets it finish). The host hand-over and
//! the operator's pause use it. [`Director::close`] ends a waiting `next` (shutdown).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::schedule::{Schedule, ShowClock};
use super::timeline::{self, Item, Mark, SegmentKey, SegmentPlan};
use crate::script::{Line, Script, Segment};

/// While off air, the director hands out silence in ticks this long.
pub const OFF_AIR_TICK: Duration = Duration::from_secs(1);

/// A step handed to the voice thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// Increasing per step; report it to [`Director::started`].
    pub seq: u64,
    /// The director's epoch when planned. A clip whose epoch is older than
    /// [`Director::epoch`] was taken back by a rewind: drop it.
    pub epoch: u64,
    pub item: Item,
}

/// Where an inserted item goes (the chat seam).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertAt {
    /// After the sentence on air now; then the rundown resumes at the following sentence.
    NextSentence,
    /// Interrupt the sentence on air (the frame loop fades it out, see [`Director::take_cut`]);
    /// after the insert the interrupted sentence is said again from its start.
    Now,
}

/// How a reload takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadKind {
    /// Only text changed: from the next line.
    Line,
    /// The rundown changed: from the next segment boundary.
    Segment,
}

impl ReloadKind {
    pub fn name(self) -> &'static str {
        match self {
            ReloadKind::Line => "line",
            ReloadKind::Segment => "segment",
        }
    }
}

/// What happened when a step went on air, for the frame loop's events.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// A reload that takes effect with this step (the first step planned from the new script).
    pub reload_applied: Option<ReloadKind>,
}

/// Position in the plans: the next step to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Pos {
    seg: usize,
    step: usize,
}

/// The director's decisions: restored as a whole by a rewind.
#[derive(Debug, Clone)]
struct Decisions {
    /// The script (and its plans) steps are planned from.
    script: Arc<Script>,
    plan: Arc<Vec<SegmentPlan>>,
    /// A reload waiting for its boundary.
    pending: Option<Arc<Reload>>,
    pos: Pos,
    extras: VecDeque<Item>,
    on_air: Option<bool>,
    last_disclosure: Option<f64>,
    pass: u64,
    /// Keys of the segments entered in this pass, in order.
    played: Vec<SegmentKey>,
    /// After a structural reload in this pass: skip segments already played.
    skip_played: bool,
    started_show: bool,
    finished: bool,
}

#[derive(Debug)]
struct Reload {
    script: Arc<Script>,
    plan: Arc<Vec<SegmentPlan>>,
    kind: ReloadKind,
    /// Start the new rundown from the top (asked for: `--on-edit restart`).
    from_top: bool,
}

/// A step produced but not yet on air.
#[derive(Debug, Clone)]
struct Inflight {
    seq: u64,
    /// The decisions before it was produced (a rewind to it restores them).
    before: Decisions,
    /// A reload that took effect with it.
    applied: Option<ReloadKind>,
    speech: bool,
    /// Its length when known before synthesis (silence), else 0.
    secs: f64,
    /// Marks the director follows when they go on air (product, end of a chat reply).
    mark: Option<Mark>,
}

#[derive(Debug)]
struct State {
    d: Decisions,
    schedule: Schedule,
    clock: ShowClock,
    /// Looping allowed by the caller (a one-pass render never loops).
    loop_allowed: bool,
    inflight: VecDeque<Inflight>,
    /// The sentence on air now, if any (for [`InsertAt::Now`]).
    speaking: Option<Decisions>,
    next_seq: u64,
    epoch: u64,
    cut: bool,
    /// Media time of the latest step on air.
    now_pts: f64,
    /// [`Director::pause`]d: `next` waits.
    paused: bool,
    /// [`Director::close`]d: `next` returns `None`.
    closed: bool,
    /// Set by `apply_pending`, taken by the step produced with it.
    applied: Option<ReloadKind>,
    /// What is on air (from the marks that went on air).
    on_air: OnAirState,
}

/// What the frame loop has put on air so far.
#[derive(Debug, Clone, Default)]
struct OnAirState {
    product: Option<String>,
    /// Id of the latest chat reply said to its end.
    reply_done: u64,
}

/// See the module doc. Shared by the voice thread, the frame loop and the reload watcher.
#[derive(Debug)]
pub struct Director {
    state: Mutex<State>,
    /// Wakes a `next` waiting while paused.
    wake: Condvar,
}

impl Director {
    /// A director for `script`. `loop_allowed`: the rundown may loop (when the script says
    /// so) and the `schedule` applies; without it, one pass is played, whatever the time.
    pub fn new(script: Script, clock: ShowClock, loop_allowed: bool) -> Director {
        let plan = Arc::new(timeline::plan(&script));
        let schedule = Schedule::new(&script.show.schedule);
        Director {
            state: Mutex::new(State {
                d: Decisions {
                    script: Arc::new(script),
                    plan,
                    pending: None,
                    pos: Pos::default(),
                    extras: VecDeque::new(),
                    on_air: None,
                    last_disclosure: None,
                    pass: 0,
                    played: Vec::new(),
                    skip_played: false,
                    started_show: false,
                    finished: false,
                },
                schedule,
                clock,
                loop_allowed,
                inflight: VecDeque::new(),
                speaking: None,
                next_seq: 1,
                epoch: 0,
                cut: false,
                now_pts: 0.0,
                paused: false,
                closed: false,
                applied: None,
                on_air: OnAirState::default(),
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The script in effect for the steps being planned now.
    pub fn script(&self) -> Arc<Script> {
        self.lock().d.script.clone()
    }

    /// The current epoch (see [`Planned::epoch`]).
    pub fn epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Media time of the latest step on air.
    pub fn now_pts(&self) -> f64 {
        self.lock().now_pts
    }

    /// The next step, or `None` when the show is over (the end of a rundown that does not
    /// loop).
    /// While [`Director::pause`]d this waits for [`Director::resume`] (or `close`).
    pub fn next(&self) -> Option<Planned> {
        let mut s = self.lock();
        while s.paused && !s.closed {
            s = self.wake.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.closed {
            return None;
        }
        let before = s.d.clone();
        let item = s.produce()?;
        let seq = s.next_seq;
        s.next_seq += 1;
        let applied = s.applied.take();
        let speech = matches!(item, Item::Speak { .. });
        s.inflight.push_back(Inflight {
            seq,
            before,
            applied,
            speech,
            mark: match &item {
                Item::Mark(
                    m @ (Mark::ProductStarted(_) | Mark::ProductEnded(_) | Mark::ReplyEnd(_)),
                ) => Some(m.clone()),
                _ => None,
            },
            secs: match &item {
                Item::Silence(d) => d.as_secs_f64(),
                _ => 0.0,
            },
        });
        Some(Planned {
            seq,
            epoch: s.epoch,
            item,
        })
    }

    /// The step `seq` went on air at media time `pts` (seconds).
    pub fn started(&self, seq: u64, pts: f64) -> Started {
        let mut s = self.lock();
        s.now_pts = s.now_pts.max(pts);
        let mut reload_applied = None;
        while s.inflight.front().is_some_and(|f| f.seq <= seq) {
            if let Some(f) = s.inflight.pop_front() {
                reload_applied = reload_applied.or(f.applied);
                match f.mark {
                    Some(Mark::ProductStarted(id)) => s.on_air.product = Some(id),
                    Some(Mark::ProductEnded(_)) => s.on_air.product = None,
                    Some(Mark::ReplyEnd(id)) => s.on_air.reply_done = id,
                    _ => {}
                }
                if f.seq == seq {
                    s.speaking = f.speech.then_some(f.before);
                }
            }
        }
        Started { reload_applied }
    }

    /// Pauses the show: what is produced but not on air is taken back (its clips are dropped by
    /// epoch) and [`Director::next`] waits until [`Director::resume`]. The sentence on air is
    /// left to finish. Pausing twice is the same as once.
    pub fn pause(&self) {
        let mut s = self.lock();
        if !s.paused {
            s.paused = true;
            s.rewind();
        }
    }

    /// Resumes after [`Director::pause`]: the rundown continues with the first step not said
    /// (after anything [`Director::insert`]ed meanwhile).
    pub fn resume(&self) {
        self.lock().paused = false;
        self.wake.notify_all();
    }

    /// The operator's product switch: what is produced but not on air is taken back and the
    /// rundown continues from the start of product `id`'s segment (the sentence on air
    /// finishes first; inserted replies not yet said come first). A jump is a segment
    /// boundary: a script edit waiting for one takes effect now, so a product it adds can be
    /// switched to. `false` when the script has no segment for that product.
    pub fn switch_product(&self, id: &str) -> bool {
        let mut s = self.lock();
        let key = SegmentKey::Product(id.to_owned());
        let plan = s.d.pending.as_ref().map_or(&s.d.plan, |r| &r.plan);
        if !plan.iter().any(|p| p.key == key) {
            return false;
        }
        s.rewind();
        s.apply_pending();
        let Some(seg) = s.d.plan.iter().position(|p| p.key == key) else {
            return false;
        };
        s.d.pos = Pos { seg, step: 0 };
        s.d.skip_played = false;
        s.d.finished = false;
        drop(s);
        self.wake.notify_all();
        true
    }

    /// True between [`Director::pause`] and [`Director::resume`].
    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// Shutdown: [`Director::next`] returns `None` from now on, also when waiting in a pause.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// Whether the `schedule` lets the avatar be on air at media time `pts` (always for a
    /// one-pass render, which ignores the schedule).
    pub fn schedule_open(&self, pts: f64) -> bool {
        let s = self.lock();
        !s.loop_allowed || s.schedule.on_air(s.clock.at(pts))
    }

    /// The frame loop's media time (called every frame): the on-air clock between steps.
    pub fn tick(&self, pts: f64) {
        let mut s = self.lock();
        s.now_pts = s.now_pts.max(pts);
    }

    /// A sentence is on air (an [`InsertAt::Now`] would cut it).
    pub fn speaking(&self) -> bool {
        self.lock().speaking.is_some()
    }

    /// The product segment on air, if any.
    pub fn current_product(&self) -> Option<String> {
        self.lock().on_air.product.clone()
    }

    /// Id of the latest chat reply said to its end (0: none yet).
    pub fn replies_done(&self) -> u64 {
        self.lock().on_air.reply_done
    }

    /// The show is over: nothing more will be planned.
    pub fn is_finished(&self) -> bool {
        let s = self.lock();
        s.d.finished && s.d.extras.is_empty()
    }

    /// Inserts `items` (a chat reply, an operator line) into the timeline; the rundown resumes
    /// where it was afterwards. See [`InsertAt`].
    pub fn insert(&self, items: Vec<Item>, at: InsertAt) {
        let mut s = self.lock();
        match (at, s.speaking.take()) {
            (InsertAt::Now, Some(d)) => {
                s.cut = true;
                s.restore(d);
            }
            _ => s.rewind(),
        }
        for item in items.into_iter().rev() {
            s.d.extras.push_front(item);
        }
    }

    /// Takes back chat reply `id` (a greeting a question preempts): its steps not yet on air
    /// are dropped, and its sentence on air, if any, is cut (see [`Director::take_cut`]). The
    /// show continues where it would have after the reply. Returns false when nothing of it
    /// was left to take back.
    pub fn withdraw_reply(&self, id: u64) -> bool {
        let mut s = self.lock();
        let is_end = |i: &Item| matches!(i, Item::Mark(Mark::ReplyEnd(r)) if *r == id);
        match s.speaking.take() {
            // The reply's own sentence is on air: it has begun but not ended.
            Some(d) if d.extras.iter().any(is_end) && reply_start(&d.extras, id).is_none() => {
                s.cut = true;
                s.restore(d);
            }
            speaking => {
                s.speaking = speaking;
                s.rewind();
            }
        }
        let Some(end) = s.d.extras.iter().position(is_end) else {
            return false;
        };
        let mut start = reply_start(&s.d.extras, id).unwrap_or(0);
        // With the breath before it and the pause after it.
        if start > 0 && matches!(s.d.extras[start - 1], Item::Silence(_)) {
            start -= 1;
        }
        let mut end = end + 1;
        if matches!(s.d.extras.get(end), Some(Item::Silence(_))) {
            end += 1;
        }
        s.d.extras.drain(start..end);
        true
    }

    /// True once after an [`InsertAt::Now`] that interrupted a sentence: the frame loop fades
    /// out the audio on air.
    pub fn take_cut(&self) -> bool {
        std::mem::take(&mut self.lock().cut)
    }

    /// Switches to `script` (already checked) at the next line (text fixes) or segment boundary
    /// after what is on air, continuing where the show was. `schedule` changes apply at once.
    pub fn reload(&self, script: Script) -> ReloadKind {
        self.reload_with(script, false)
    }

    /// Like [`Director::reload`]; with `from_top` the new rundown starts from its first
    /// segment at the next segment boundary (what was said may be said again: asked for).
    pub fn reload_with(&self, script: Script, from_top: bool) -> ReloadKind {
        let mut s = self.lock();
        let kind = if !from_top && same_structure(&s.d.script, &script) {
            ReloadKind::Line
        } else {
            ReloadKind::Segment
        };
        s.schedule = Schedule::new(&script.show.schedule);
        let plan = Arc::new(timeline::plan(&script));
        s.rewind();
        s.d.pending = Some(Arc::new(Reload {
            script: Arc::new(script),
            plan,
            kind,
            from_top,
        }));
        kind
    }
}

impl State {
    /// Takes back everything produced but not on air: the producer continues from the first
    /// such step, with the decisions it had then.
    fn rewind(&mut self) {
        match self.inflight.front() {
            Some(f) => {
                let d = f.before.clone();
                self.restore(d);
            }
            None => self.epoch += 1,
        }
    }

    fn restore(&mut self, d: Decisions) {
        self.d = d;
        self.inflight.clear();
        self.epoch += 1;
    }

    fn looping(&self) -> bool {
        self.loop_allowed && self.d.script.show.looping
    }

    /// The next item, deciding at segment boundaries (see the module doc).
    fn produce(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.d.extras.pop_front() {
                return Some(item);
            }
            if self.d.finished {
                return None;
            }
            let plan = self.d.plan.clone();
            let pos = self.d.pos;
            if pos.step == 0 || pos.seg >= plan.len() {
                if self.d.pending.is_some() {
                    self.apply_pending();
                    continue;
                }
                if let Some(item) = self.decide() {
                    return Some(item);
                }
                if !self.d.extras.is_empty() {
                    continue;
                }
                if pos.seg >= plan.len() {
                    if self.looping() && !plan.is_empty() {
                        self.d.pos = Pos::default();
                        self.d.pass += 1;
                        self.d.played.clear();
                        self.d.skip_played = false;
                        continue;
                    }
                    self.d.finished = true;
                    return None;
                }
                let key = &plan[pos.seg].key;
                if self.d.skip_played && self.d.played.contains(key) {
                    self.d.pos = Pos {
                        seg: pos.seg + 1,
                        step: 0,
                    };
                    continue;
                }
                self.d.played.push(key.clone());
            } else if self
                .d
                .pending
                .as_ref()
                .is_some_and(|p| p.kind == ReloadKind::Line)
                && plan[pos.seg].steps[pos.step].line_start
            {
                self.apply_pending();
                continue;
            }
            let seg = &plan[pos.seg];
            self.d.pos = if pos.step + 1 >= seg.steps.len() {
                Pos {
                    seg: pos.seg + 1,
                    step: 0,
                }
            } else {
                Pos {
                    seg: pos.seg,
                    step: pos.step + 1,
                }
            };
            return Some(seg.steps[pos.step].item.clone());
        }
    }

    /// Schedule and disclosure decisions at a boundary: returns an item to say now, or queues
    /// extras, or does nothing.
    fn decide(&mut self) -> Option<Item> {
        // Where the step being planned will go on air, as far as known (silence ahead).
        let ahead: f64 = self.inflight.iter().map(|f| f.secs).sum();
        let wall = self.clock.at(self.now_pts + ahead);
        // A one-pass render plays the rundown whatever the time; schedules rule looping shows.
        if self.loop_allowed && !self.schedule.on_air(wall) {
            if self.d.on_air == Some(false) {
                return Some(Item::Silence(OFF_AIR_TICK));
            }
            self.d.on_air = Some(false);
            let until = self
                .schedule
                .next_start(wall)
                .map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string());
            self.d.extras.push_back(Item::Silence(OFF_AIR_TICK));
            return Some(Item::Mark(Mark::OffAir { until }));
        }
        if self.d.on_air != Some(true) {
            let first = !self.d.started_show;
            self.d.on_air = Some(true);
            self.d.started_show = true;
            self.d.last_disclosure = Some(self.now_pts);
            let greet = !(first && timeline::opens_with_greeting(&self.d.script));
            self.d.extras.push_back(Item::Mark(Mark::OnAir));
            let opening = timeline::greeting_and_disclosure(&self.d.script, greet);
            self.d.extras.extend(opening);
            return None;
        }
        if let (Some(every), Some(last)) =
            (self.d.script.show.disclosure_every, self.d.last_disclosure)
            && self.now_pts - last >= every.as_secs_f64()
        {
            self.d.last_disclosure = Some(self.now_pts);
            let again = timeline::greeting_and_disclosure(&self.d.script, true);
            self.d.extras.extend(again);
        }
        None
    }

    fn apply_pending(&mut self) {
        let Some(r) = self.d.pending.take() else {
            return;
        };
        if r.from_top {
            self.d.pos = Pos::default();
            self.d.played.clear();
            self.d.skip_played = false;
        } else if r.kind == ReloadKind::Segment {
            // Continue after the segment just finished, found in the new rundown.
            let seg = self.d.pos.seg;
            let done = seg.checked_sub(1).and_then(|i| self.d.plan.get(i));
            let next = match done {
                None => 0,
                Some(prev) => r
                    .plan
                    .iter()
                    .position(|p| p.key == prev.key)
                    .map_or(seg.min(r.plan.len()), |i| i + 1),
            };
            self.d.pos = Pos { seg: next, step: 0 };
            self.d.skip_played = true;
        }
        self.d.script = r.script.clone();
        self.d.plan = r.plan.clone();
        self.applied = Some(r.kind);
    }
}

/// Index of reply `id`'s opening mark in `extras`, if it is not on air yet.
fn reply_start(extras: &VecDeque<Item>, id: u64) -> Option<usize> {
    extras
        .iter()
        .position(|i| matches!(i, Item::Mark(Mark::Reply(r)) if r.id == id))
}

/// True when `b` differs from `a` only in text (and per-line options): same segments, same
/// products, same kinds of lines in the same places.
fn same_structure(a: &Script, b: &Script) -> bool {
    fn kind(l: &Line) -> u8 {
        match l {
            Line::Say { .. } => 0,
            Line::Pause(_) => 1,
            Line::Cue(_) => 2,
        }
    }
    a.segments.len() == b.segments.len()
        && a.segments
            .iter()
            .zip(&b.segments)
            .all(|(x, y)| match (x, y) {
                (Segment::Line(l), Segment::Line(m)) => kind(l) == kind(m),
                (
                    Segment::Product {
                        product: p,
                        lines: l,
                    },
                    Segment::Product {
                        product: q,
                        lines: m,
                    },
                ) => {
                    p == q && l.len() == m.len() && l.iter().zip(m).all(|(x, y)| kind(x) == kind(y))
                }
                _ => false,
            })
}

#[cfg(test)]
mod tests;
