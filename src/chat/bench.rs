//! Response latency in media time: from a question's arrival to the first audio sample of its
//! answer, under a background load of chat, for each answer policy.
//!
//! Runs the director, the real voice (so sentence lengths are real), the show's look-ahead
//! ([`crate::show::AHEAD_CLIPS`] synthesized clips) and the [`Desk`] in one thread, without
//! rendering: media time advances by each clip's length, a message arrives at its media time
//! inside the clip on air, and an `immediately` reply cuts that clip where the question came
//! in (plus the fade), as the frame loop does.

use std::collections::VecDeque;
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{ChatMessage, Desk};
use crate::brain::BrainConfig;
use crate::events::Events;
use crate::script::{AnswerPolicy, Script};
use crate::show::timeline::{Item, Mark};
use crate::show::{AHEAD_CLIPS, CUT_FADE, Director, ShowClock};
use crate::voice::DefaultVoice;

/// One policy's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyReport {
    pub policy: AnswerPolicy,
    /// Probe questions: media seconds from arrival to the reply's first sample, sorted.
    pub latencies: Vec<f64>,
    /// Probe questions asked (answered ones are in `latencies`).
    pub probes: usize,
    /// Every reply (background questions and greetings too), sorted.
    pub all: Vec<f64>,
    pub messages: usize,
    pub stats: super::DeskStats,
}

impl LatencyReport {
    pub fn quantile(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        self.latencies[((self.latencies.len() - 1) as f64 * q).round() as usize]
    }
}

/// Chat traffic for `seconds` of media: a background of `rate` messages/s from many viewers
/// (chatter and emoji; with `answerable_background` also greetings, thanks and the popular
/// price question over and over) and, every
/// [`PROBE_EVERY`] seconds, one distinct probe question (user `probe-N`) from the script's FAQ
/// and facts. Seeded.
pub fn traffic(
    script: &Script,
    seconds: f64,
    rate: f64,
    seed: u64,
    answerable_background: bool,
) -> Vec<ChatMessage> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut probes: Vec<String> = Vec::new();
    for p in &script.products {
        for faq in &p.faq {
            probes.extend(faq.questions.iter().cloned());
        }
        for (k, _) in &p.facts {
            probes.push(format!("{}的{k}是多少？", p.name));
        }
    }
    // Chatter the host lets go, or also greetings, thanks and the popular price question
    // (which the host answers now and then, so a probe may find it busy).
    let background: &[&str] = if answerable_background {
        &[
            "哈哈哈",
            "666",
            "来了来了",
            "❤️❤️",
            "主播好美",
            "主播好",
            "谢谢主播",
            "多少钱",
            "已拍",
            "好看",
        ]
    } else {
        &[
            "哈哈哈",
            "666",
            "来了来了",
            "❤️❤️",
            "主播好美",
            "已拍",
            "好看",
            "冲冲冲",
        ]
    };
    let msg = |user: String, text: String, at: f64| ChatMessage {
        name: user.clone(),
        user,
        text,
        platform: "bench".into(),
        time: String::new(),
        at: Some(at),
    };
    let mut out: Vec<ChatMessage> = (0..(seconds * rate) as usize)
        .map(|i| {
            let user = rng.random_range(0..2000u32);
            let text = background[rng.random_range(0..background.len())];
            msg(
                format!("u{user}"),
                text.to_owned(),
                (i as f64 + rng.random_range(0.0..1.0)) / rate,
            )
        })
        .collect();
    let mut t = PROBE_EVERY / 2.0;
    let mut n = 0;
    while t < seconds && !probes.is_empty() {
        out.push(msg(
            format!("probe-{n}"),
            probes[n % probes.len()].clone(),
            t,
        ));
        n += 1;
        t += PROBE_EVERY;
    }
    out.sort_by(|a, b| a.at.unwrap_or(0.0).total_cmp(&b.at.unwrap_or(0.0)));
    out
}

/// Seconds between probe questions in [`traffic`].
pub const PROBE_EVERY: f64 = 15.0;

/// Plays `script` for `seconds` of media with `messages` arriving, answering with `policy`.
pub fn latency(
    script: &Script,
    policy: AnswerPolicy,
    messages: &[ChatMessage],
    seconds: f64,
    brain: &BrainConfig,
) -> Result<LatencyReport, Box<dyn std::error::Error>> {
    let mut script = script.clone();
    script.chat.answer = policy;
    let mut voice = DefaultVoice::new()?;
    let director = Arc::new(Director::new(script, ShowClock::now(), true));
    let mut desk = Desk::new(director.clone(), Events::new(), brain.clone())?;
    let mut incoming: VecDeque<&ChatMessage> = messages.iter().collect();
    let mut queue: VecDeque<(u64, u64, Item, f64)> = VecDeque::new();
    let mut latencies = Vec::new();
    let mut all = Vec::new();
    let probes: Vec<(&str, f64)> = messages
        .iter()
        .filter(|m| m.user.starts_with("probe-"))
        .map(|m| (m.text.as_str(), m.at.unwrap_or(0.0)))
        .collect();
    let mut t = 0.0;
    while t < seconds {
        while queue.len() < AHEAD_CLIPS {
            let Some(p) = director.next() else { break };
            let secs = crate::show::bench::media_secs(&mut voice, &director, &p.item)?;
            queue.push_back((p.seq, p.epoch, p.item, secs));
        }
        let Some((seq, epoch, item, secs)) = queue.pop_front() else {
            break;
        };
        if epoch < director.epoch() {
            continue;
        }
        director.started(seq, t);
        if let Item::Mark(Mark::Reply(info)) = &item {
            all.push(t - info.arrived);
            // A probe: its text, arrived when it was sent (or at the next clip start).
            if probes.iter().any(|(q, at)| {
                *q == info.question && info.arrived >= *at && info.arrived - at < 5.0
            }) {
                latencies.push(t - info.arrived);
            }
        }
        let mut end = t + secs;
        while incoming.front().is_some_and(|m| m.at.unwrap_or(0.0) < end) {
            let Some(m) = incoming.pop_front() else { break };
            let at = m.at.unwrap_or(0.0).max(t);
            director.tick(at);
            desk.offer(m, at);
            desk.poll(at);
            if director.take_cut() {
                // The sentence on air stops here (with the fade); the reply follows.
                end = end.min(at + CUT_FADE.as_secs_f64());
            }
        }
        t = end;
        director.tick(t);
        desk.poll(t);
    }
    latencies.sort_by(f64::total_cmp);
    all.sort_by(f64::total_cmp);
    Ok(LatencyReport {
        policy,
        latencies,
        probes: messages
            .iter()
            .filter(|m| m.user.starts_with("probe-") && m.at.unwrap_or(0.0) < seconds)
            .count(),
        all,
        messages: messages
            .iter()
            .filter(|m| m.at.unwrap_or(0.0) < seconds)
            .count(),
        stats: desk.stats.clone(),
    })
}
