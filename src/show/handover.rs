//! The host hand-over: per frame, in media time, who has the show (the human host or the
//! avatar) and whose picture and sound go out.
//!
//! In, per frame ([`Tick`]): did a new host frame arrive, the operator's override, whether the
//! `schedule` lets the avatar be on air, and whether the avatar has nothing left on air (a
//! sentence boundary). Out ([`Decision`]): the picture and audio [`Source`] for this frame and
//! the [`Action`]s to take now (events, pause/resume of the [`super::Director`]).
//!
//! Rules:
//! - The feed is live while frames arrive; after [`FREEZE_LIMIT`] without one it is offline
//!   and the picture switches to the avatar (idle) — the last host frame is never repeated
//!   longer than that, well inside one 2 s keyframe interval.
//! - The host gets the show once frames have arrived without a gap over [`STABLE_GAP`] for
//!   [`HAND_BACK_STABLE`] (or at once
//!   when the operator says `Some(true)`): the avatar is paused, the sentence on air finishes,
//!   and at that boundary the host's picture and sound go out (`hand_back`).
//! - When the feed has been gone for the grace period (or the operator says `Some(false)`),
//!   the avatar takes over (`takeover`, reason `feed_lost` / `operator`), opening with the
//!   hand-off line. If the schedule keeps the avatar off air, the show is held (avatar idle,
//!   off-air card, silence) until the window opens (`takeover`, reason `schedule`) or the host
//!   is back.
//! - The operator's `Some(true)` never lets the avatar take over; with no frames the picture is
//!   the idle avatar.

/// The last host frame is repeated at most this long (media seconds) before the picture
/// switches to the avatar.
pub const FREEZE_LIMIT: f64 = 1.0;
/// The feed must be live this long (media seconds) before the avatar hands the show back.
pub const HAND_BACK_STABLE: f64 = 3.0;
/// A gap between host frames longer than this (media seconds) restarts the stability count.
pub const STABLE_GAP: f64 = 0.5;
/// Audio crossfade at every switch of the sound source.
pub const CROSSFADE: std::time::Duration = std::time::Duration::from_millis(30);

/// Whose picture or sound goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Host,
    Avatar,
}

/// Why the avatar took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    FeedLost,
    Operator,
    Schedule,
}

impl Reason {
    /// The `reason` field of the `takeover` event.
    pub fn name(self) -> &'static str {
        match self {
            Reason::FeedLost => "feed_lost",
            Reason::Operator => "operator",
            Reason::Schedule => "schedule",
        }
    }
}

/// What the frame loop does now.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Frames started arriving (`host_online`).
    HostOnline,
    /// Frames stopped; `since`: media time of the last one (`host_offline`).
    HostOffline { since: f64 },
    /// Hand-back begins: pause the avatar; the sentence on air finishes.
    PauseAvatar,
    /// A hand-back was called off (the feed dropped again): the avatar continues.
    ResumeAvatar,
    /// The avatar takes the show: resume it, with the hand-off line when on air.
    Takeover { reason: Reason },
    /// The host is gone but the schedule keeps the avatar off air: show the off-air card.
    Hold,
    /// The host has the show from this frame on (`hand_back`; also the end of a hold).
    HandBack,
}

/// The inputs of one frame.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// Media time of the frame, seconds.
    pub t: f64,
    /// A new host frame arrived for this frame.
    pub fresh_frame: bool,
    pub operator: Option<bool>,
    /// The schedule lets the avatar be on air now.
    pub schedule_open: bool,
    /// Nothing of the avatar is left on air (its queued audio has played out).
    pub avatar_idle: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub picture: Source,
    pub audio: Source,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// The avatar presents (the director runs).
    Avatar,
    /// The avatar is paused and finishes its sentence; then the host.
    HandingBack,
    /// The host presents (the director is paused).
    Host,
    /// The host is gone and the avatar may not be on air: nobody presents.
    Held,
}

/// The hand-over state (see the module doc). The avatar has the show at the start.
#[derive(Debug, Clone)]
pub struct Handover {
    grace: f64,
    holder: Holder,
    live: bool,
    last_frame: f64,
    online_since: f64,
}

impl Handover {
    /// `grace`: media seconds the host may be gone before the avatar takes over.
    pub fn new(grace: f64) -> Handover {
        Handover {
            grace: grace.max(0.0),
            holder: Holder::Avatar,
            live: false,
            last_frame: f64::NEG_INFINITY,
            online_since: f64::INFINITY,
        }
    }

    /// The host has the show (or is taking it at the next boundary).
    pub fn host_has_show(&self) -> bool {
        matches!(self.holder, Holder::Host | Holder::HandingBack)
    }

    pub fn step(&mut self, tick: Tick) -> Decision {
        let t = tick.t;
        let mut actions = Vec::new();
        if tick.fresh_frame {
            if t - self.last_frame > STABLE_GAP {
                self.online_since = t;
            }
            self.last_frame = t;
            if !self.live {
                self.live = true;
                actions.push(Action::HostOnline);
            }
        } else if self.live && t - self.last_frame >= FREEZE_LIMIT {
            self.live = false;
            actions.push(Action::HostOffline {
                since: self.last_frame,
            });
        }
        let wants_host = match tick.operator {
            Some(true) => self.live,
            Some(false) => false,
            None => {
                self.live
                    && t - self.last_frame <= STABLE_GAP
                    && t - self.online_since >= HAND_BACK_STABLE
            }
        };
        match self.holder {
            Holder::Avatar => {
                if wants_host {
                    self.holder = Holder::HandingBack;
                    actions.push(Action::PauseAvatar);
                    self.finish_hand_back(tick, &mut actions);
                }
            }
            Holder::HandingBack => {
                if !wants_host {
                    self.holder = Holder::Avatar;
                    actions.push(Action::ResumeAvatar);
                } else {
                    self.finish_hand_back(tick, &mut actions);
                }
            }
            Holder::Host => {
                let gone = !self.live && t - self.last_frame >= self.grace;
                if tick.operator == Some(false) {
                    self.take_over(Reason::Operator, &mut actions);
                } else if tick.operator.is_none() && gone {
                    if tick.schedule_open {
                        self.take_over(Reason::FeedLost, &mut actions);
                    } else {
                        self.holder = Holder::Held;
                        actions.push(Action::Hold);
                    }
                }
            }
            Holder::Held => {
                if tick.operator == Some(false) {
                    self.take_over(Reason::Operator, &mut actions);
                } else if self.live {
                    // The host is back before the avatar went on: their show again.
                    self.holder = Holder::Host;
                    actions.push(Action::HandBack);
                } else if tick.schedule_open && tick.operator.is_none() {
                    self.take_over(Reason::Schedule, &mut actions);
                }
            }
        }
        let picture = match self.holder {
            Holder::Host if self.live => Source::Host,
            _ => Source::Avatar,
        };
        let audio = match self.holder {
            Holder::Host => Source::Host,
            _ => Source::Avatar,
        };
        Decision {
            picture,
            audio,
            actions,
        }
    }

    fn finish_hand_back(&mut self, tick: Tick, actions: &mut Vec<Action>) {
        if tick.avatar_idle {
            self.holder = Holder::Host;
            actions.push(Action::HandBack);
        }
    }

    fn take_over(&mut self, reason: Reason, actions: &mut Vec<Action>) {
        self.holder = Holder::Avatar;
        actions.push(Action::Takeover { reason });
    }
}

/// The line the avatar opens with when it takes over: "主播暂时离开，小林来陪大家！" with the
/// script's `persona.name`.
pub fn handoff_line(script: &crate::script::Script) -> String {
    let name = script.persona.name.trim();
    match script.show.language {
        crate::voice::Language::ZhCn if name.is_empty() => "主播暂时离开，我来陪大家！".into(),
        crate::voice::Language::ZhCn => format!("主播暂时离开，{name}来陪大家！"),
        crate::voice::Language::EnUs if name.is_empty() => {
            "Our host stepped away for a moment, and I'm here to keep you company.".into()
        }
        crate::voice::Language::EnUs => {
            format!("Our host stepped away for a moment, and {name} is here to keep you company.")
        }
    }
}

/// Crossfades the first [`CROSSFADE`] of `to` from `from` (equal length slices), in place.
pub fn crossfade(from: &[f32], to: &mut [f32]) {
    let n = (CROSSFADE.as_secs_f64() * f64::from(crate::media::SAMPLE_RATE)) as usize;
    let n = n.min(to.len()).min(from.len());
    for i in 0..n {
        let g = (i as f32 + 0.5) / n as f32;
        to[i] = from[i] * (1.0 - g) + to[i] * g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f64 = 1.0 / 30.0;

    /// Runs frames from `from` to `to` (seconds) with `feed(t)` saying whether a frame arrives.
    fn run(
        h: &mut Handover,
        from: f64,
        to: f64,
        feed: impl Fn(f64) -> bool,
        op: Option<bool>,
        open: bool,
        idle: impl Fn(f64) -> bool,
    ) -> Vec<(f64, Decision)> {
        let mut out = Vec::new();
        let mut n = (from / DT).round() as u64;
        loop {
            let t = n as f64 * DT;
            if t >= to {
                return out;
            }
            let d = h.step(Tick {
                t,
                fresh_frame: feed(t),
                operator: op,
                schedule_open: open,
                avatar_idle: idle(t),
            });
            out.push((t, d));
            n += 1;
        }
    }

    fn first(ds: &[(f64, Decision)], a: impl Fn(&Action) -> bool) -> Option<f64> {
        ds.iter()
            .find(|(_, d)| d.actions.iter().any(&a))
            .map(|(t, _)| *t)
    }

    #[test]
    fn host_gets_the_show_when_stable_at_a_boundary_and_loses_it_after_grace() {
        let mut h = Handover::new(5.0);
        // Feed from 2 s to 20 s; the avatar's sentence ends at 6.5 s.
        let feed = |t: f64| (2.0..20.0).contains(&t);
        let ds = run(&mut h, 0.0, 30.0, feed, None, true, |t| t >= 6.5);
        assert!((first(&ds, |a| *a == Action::HostOnline).unwrap() - 2.0).abs() < DT);
        let pause = first(&ds, |a| *a == Action::PauseAvatar).unwrap();
        assert!((pause - 5.0).abs() < DT, "stable after 3 s: {pause}");
        let back = first(&ds, |a| *a == Action::HandBack).unwrap();
        assert!((back - 6.5).abs() < DT, "at the sentence boundary: {back}");
        // Host picture from the hand-back until the feed stops, avatar again within the limit.
        for (t, d) in &ds {
            if *t >= back + 1e-9 && *t < 20.0 {
                assert_eq!(d.picture, Source::Host, "{t}");
            }
            if *t >= 20.0 - DT + FREEZE_LIMIT + 1e-9 {
                assert_eq!(d.picture, Source::Avatar, "{t}");
            }
        }
        let off = first(&ds, |a| matches!(a, Action::HostOffline { .. })).unwrap();
        assert!(off - 20.0 <= FREEZE_LIMIT, "{off}");
        let take = first(&ds, |a| {
            *a == Action::Takeover {
                reason: Reason::FeedLost,
            }
        })
        .unwrap();
        assert!((take - (20.0 - DT + 5.0)).abs() < DT, "{take}");
    }

    #[test]
    fn a_short_dropout_only_switches_the_picture() {
        let mut h = Handover::new(5.0);
        let feed = |t: f64| !(10.0..12.0).contains(&t);
        let ds = run(&mut h, 0.0, 20.0, feed, None, true, |_| true);
        assert!(first(&ds, |a| *a == Action::HandBack).is_some());
        assert!(first(&ds, |a| matches!(a, Action::Takeover { .. })).is_none());
        let at = |x: f64| &ds.iter().find(|(t, _)| *t >= x).unwrap().1;
        assert_eq!(at(11.5).picture, Source::Avatar);
        assert_eq!(at(11.5).audio, Source::Host, "the host keeps the show");
        assert_eq!(at(12.1).picture, Source::Host);
    }

    #[test]
    fn operator_forces_either_side() {
        let mut h = Handover::new(5.0);
        let ds = run(&mut h, 0.0, 5.0, |_| true, Some(false), true, |_| true);
        assert!(ds.iter().all(|(_, d)| d.picture == Source::Avatar));
        // Forced host: at once, and no takeover when the feed drops.
        let ds = run(&mut h, 5.0, 20.0, |t| t < 10.0, Some(true), true, |_| true);
        assert!(first(&ds, |a| *a == Action::HandBack).unwrap() < 5.1);
        assert!(first(&ds, |a| matches!(a, Action::Takeover { .. })).is_none());
        // Operator says avatar while the host is live.
        let ds = run(&mut h, 20.0, 25.0, |_| true, Some(false), true, |_| true);
        assert_eq!(
            ds[0].1.actions.last(),
            Some(&Action::Takeover {
                reason: Reason::Operator
            })
        );
    }

    #[test]
    fn closed_schedule_holds_until_the_window_opens() {
        let mut h = Handover::new(2.0);
        run(&mut h, 0.0, 10.0, |t| t < 8.0, None, false, |_| true);
        let ds = run(&mut h, 10.0, 12.0, |_| false, None, false, |_| true);
        assert!(first(&ds, |a| matches!(a, Action::Takeover { .. })).is_none());
        assert!(ds.iter().all(|(_, d)| d.picture == Source::Avatar));
        let ds = run(&mut h, 12.0, 13.0, |_| false, None, true, |_| true);
        assert_eq!(
            ds[0].1.actions,
            [Action::Takeover {
                reason: Reason::Schedule
            }]
        );
        // Held, and the host is back first: their show again.
        let mut h = Handover::new(2.0);
        run(&mut h, 0.0, 12.0, |t| t < 8.0, None, false, |_| true);
        let ds = run(&mut h, 12.0, 13.0, |_| true, None, false, |_| true);
        assert_eq!(ds[0].1.actions, [Action::HostOnline, Action::HandBack]);
        assert_eq!(ds[0].1.picture, Source::Host);
    }

    fn count(ds: &[(f64, Decision)], f: impl Fn(&Action) -> bool) -> usize {
        ds.iter()
            .flat_map(|(_, d)| &d.actions)
            .filter(|a| f(a))
            .count()
    }

    #[test]
    fn a_flapping_feed_never_flaps_the_show() {
        // Short drops (1.5 s off every 4 s) from the start: never stable, the avatar keeps it.
        let mut h = Handover::new(5.0);
        let ds = run(&mut h, 0.0, 60.0, |t| t % 4.0 < 2.5, None, true, |_| true);
        assert_eq!(
            count(&ds, |a| *a == Action::HandBack),
            0,
            "never stable 3 s"
        );
        assert_eq!(count(&ds, |a| *a == Action::PauseAvatar), 0);
        // Long drops, short returns (6 s off, 2 s on) after a good start: one hand-back, one
        // takeover, and no hand-back to a feed that is never stable again.
        let mut h = Handover::new(5.0);
        let feed = |t: f64| t < 10.0 || t % 8.0 >= 6.0;
        let ds = run(&mut h, 0.0, 80.0, feed, None, true, |_| true);
        assert_eq!(count(&ds, |a| *a == Action::HandBack), 1);
        assert_eq!(count(&ds, |a| matches!(a, Action::Takeover { .. })), 1);
        assert_eq!(count(&ds, |a| *a == Action::PauseAvatar), 1);
    }

    #[test]
    fn crossfade_is_continuous() {
        let from = vec![1.0f32; 1600];
        let mut to = vec![-1.0f32; 1600];
        crossfade(&from, &mut to);
        assert!(to[0] > 0.9 && to[1439] < -0.9);
        assert!(to.windows(2).all(|w| (w[0] - w[1]).abs() < 0.01));
    }
}
