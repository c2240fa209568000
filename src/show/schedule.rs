//! When the avatar is on air: the script's `schedule:` windows on a clock.
//!
//! A window starts on one of its `days` at `from` (in its time zone) and ends at `to`; a `to`
//! at or before `from` means the window runs past midnight into the next day (a Monday
//! 23:00–08:00 window covers Monday 23:00 to Tuesday 08:00). No windows: always on air.
//! Time zones come from the IANA database bundled in jiff, so a machine without tzdata
//! behaves the same; a window without `tz` uses the machine's zone.
//!
//! The show has no wall clock of its own: [`ShowClock`] maps media time to wall time
//! (`start + pts`), so a render run can simulate any night (`--clock-start`) and give the
//! same timeline every time.

use jiff::civil::{Date, Weekday as JWeekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::script::{ScheduleWindow, Weekday};

/// Media time → wall-clock time: `start + pts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowClock {
    pub start: Timestamp,
}

impl ShowClock {
    /// A clock whose media time 0 is now.
    pub fn now() -> ShowClock {
        ShowClock {
            start: Timestamp::now(),
        }
    }

    /// The wall time at media time `pts` seconds.
    pub fn at(&self, pts: f64) -> Timestamp {
        let nanos = (pts.max(0.0) * 1e9) as i64;
        self.start
            .checked_add(jiff::SignedDuration::from_nanos(nanos))
            .unwrap_or(self.start)
    }
}

#[derive(Debug, Clone)]
struct Window {
    days: [bool; 7],
    /// Minutes after midnight.
    from: u32,
    to: u32,
    tz: TimeZone,
}

/// The on-air windows of a script.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    windows: Vec<Window>,
}

impl Schedule {
    /// From the checked windows of a script (time zones were validated at load; an unknown one
    /// here falls back to the machine's zone with a warning).
    pub fn new(windows: &[ScheduleWindow]) -> Schedule {
        let windows = windows
            .iter()
            .map(|w| {
                let mut days = [false; 7];
                for d in &w.days {
                    days[day_index(*d)] = true;
                }
                let tz = match &w.tz {
                    Some(name) => TimeZone::get(name).unwrap_or_else(|e| {
                        tracing::warn!("schedule: time zone {name}: {e}; using the machine's");
                        TimeZone::system()
                    }),
                    None => TimeZone::system(),
                };
                Window {
                    days,
                    from: u32::from(w.from.hour) * 60 + u32::from(w.from.minute),
                    to: u32::from(w.to.hour) * 60 + u32::from(w.to.minute),
                    tz,
                }
            })
            .collect();
        Schedule { windows }
    }

    /// True when the script sets no windows (always on air).
    pub fn is_always(&self) -> bool {
        self.windows.is_empty()
    }

    /// Whether the avatar is on air at `t`.
    pub fn on_air(&self, t: Timestamp) -> bool {
        self.is_always() || self.windows.iter().any(|w| w.contains(t))
    }

    /// The next time after `t` a window opens (`None` with no windows or no days).
    pub fn next_start(&self, t: Timestamp) -> Option<Zoned> {
        self.windows
            .iter()
            .filter_map(|w| w.next_start(t))
            .min_by_key(|z| z.timestamp())
    }
}

impl Window {
    fn crosses_midnight(&self) -> bool {
        self.to <= self.from
    }

    fn contains(&self, t: Timestamp) -> bool {
        let z = t.to_zoned(self.tz.clone());
        let minute = u32::from(z.hour() as u8) * 60 + u32::from(z.minute() as u8);
        let today = self.days[weekday_index(z.weekday())];
        if !self.crosses_midnight() {
            return today && self.from <= minute && minute < self.to;
        }
        let yesterday = self.days[weekday_index(z.weekday().previous())];
        (today && minute >= self.from) || (yesterday && minute < self.to)
    }

    fn next_start(&self, t: Timestamp) -> Option<Zoned> {
        let today: Date = t.to_zoned(self.tz.clone()).date();
        (0..=7).find_map(|d| {
            let day = today.checked_add(jiff::Span::new().days(d)).ok()?;
            if !self.days[weekday_index(day.weekday())] {
                return None;
            }
            let start = day
                .at((self.from / 60) as i8, (self.from % 60) as i8, 0, 0)
                .to_zoned(self.tz.clone())
                .ok()?;
            (start.timestamp() > t).then_some(start)
        })
    }
}

fn day_index(d: Weekday) -> usize {
    Weekday::ALL.iter().position(|x| *x == d).unwrap_or(0)
}

fn weekday_index(d: JWeekday) -> usize {
    d.to_monday_zero_offset() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::TimeOfDay;

    fn window(days: &[Weekday], from: (u8, u8), to: (u8, u8), tz: &str) -> ScheduleWindow {
        ScheduleWindow {
            days: days.to_vec(),
            from: TimeOfDay {
                hour: from.0,
                minute: from.1,
            },
            to: TimeOfDay {
                hour: to.0,
                minute: to.1,
            },
            tz: Some(tz.to_owned()),
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn no_windows_is_always_on_air() {
        let s = Schedule::new(&[]);
        assert!(s.on_air(ts("2026-11-21T12:00:00Z")));
        assert!(s.next_start(ts("2026-11-21T12:00:00Z")).is_none());
    }

    #[test]
    fn window_across_midnight_covers_the_next_morning() {
        // Mondays 23:00 → Tuesday 08:00, Beijing time (UTC+8, no DST).
        let s = Schedule::new(&[window(&[Weekday::Mon], (23, 0), (8, 0), "Asia/Shanghai")]);
        // 2026-11-23 is a Monday.
        assert!(!s.on_air(ts("2026-11-23T22:59:00+08:00")));
        assert!(s.on_air(ts("2026-11-23T23:00:00+08:00")));
        assert!(
            s.on_air(ts("2026-11-24T03:30:00+08:00")),
            "Tuesday early hours"
        );
        assert!(s.on_air(ts("2026-11-24T07:59:00+08:00")));
        assert!(
            !s.on_air(ts("2026-11-24T08:00:00+08:00")),
            "end is exclusive"
        );
        // Tuesday 23:00 is not a Monday start; Monday 03:00 belongs to Sunday's (absent) window.
        assert!(!s.on_air(ts("2026-11-24T23:30:00+08:00")));
        assert!(!s.on_air(ts("2026-11-23T03:00:00+08:00")));
    }

    #[test]
    fn time_zones_shift_the_window() {
        // 20:00–22:00 in Shanghai (UTC+8) and in Kolkata (UTC+5:30, no DST).
        let sh = Schedule::new(&[window(&Weekday::ALL, (20, 0), (22, 0), "Asia/Shanghai")]);
        let kol = Schedule::new(&[window(&Weekday::ALL, (20, 0), (22, 0), "Asia/Kolkata")]);
        let t = ts("2026-11-21T12:30:00Z"); // 20:30 in Shanghai, 18:00 in Kolkata
        assert!(sh.on_air(t));
        assert!(!kol.on_air(t));
        let t = ts("2026-11-21T15:00:00Z"); // 23:00 in Shanghai, 20:30 in Kolkata
        assert!(!sh.on_air(t));
        assert!(kol.on_air(t));
    }

    #[test]
    fn until_midnight_and_whole_days() {
        let s = Schedule::new(&[window(&[Weekday::Sat], (18, 0), (24, 0), "UTC")]);
        // 2026-11-21 is a Saturday.
        assert!(s.on_air(ts("2026-11-21T23:59:59Z")));
        assert!(!s.on_air(ts("2026-11-22T00:00:00Z")));
        let all_day = Schedule::new(&[window(&[Weekday::Sun], (0, 0), (24, 0), "UTC")]);
        assert!(all_day.on_air(ts("2026-11-22T00:00:00Z")));
        assert!(all_day.on_air(ts("2026-11-22T23:59:00Z")));
        assert!(!all_day.on_air(ts("2026-11-23T00:00:00Z")));
    }

    #[test]
    fn next_start_finds_the_next_opening() {
        let s = Schedule::new(&[
            window(
                &[Weekday::Mon, Weekday::Fri],
                (23, 0),
                (8, 0),
                "Asia/Shanghai",
            ),
            window(&[Weekday::Sat], (12, 0), (13, 0), "Asia/Shanghai"),
        ]);
        // Saturday 2026-11-21 10:00 Beijing → Saturday 12:00.
        let next = s.next_start(ts("2026-11-21T10:00:00+08:00")).expect("next");
        assert_eq!(next.timestamp(), ts("2026-11-21T12:00:00+08:00"));
        // Saturday 14:00 → Monday 23:00.
        let next = s.next_start(ts("2026-11-21T14:00:00+08:00")).expect("next");
        assert_eq!(next.timestamp(), ts("2026-11-23T23:00:00+08:00"));
    }

    #[test]
    fn clock_maps_media_time_to_wall_time() {
        let c = ShowClock {
            start: ts("2026-11-21T22:59:30+08:00"),
        };
        assert_eq!(c.at(45.0), ts("2026-11-21T23:00:15+08:00"));
    }
}
