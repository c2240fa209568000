//! Response latency in media time: from a question's arrival to the first audio sample of its
//! answer, under a background load of chat, for each answer policy.
//!
//! Runs the director, the real voice (so sentence lengths are real), the show's look-ahead
//! ([`crate::show::AHEAD_CLIPS`] synthesized clips) and the [`Desk`] in one thread, without
//! rendering: media time advances by each clip's length, a message arrives at its media time
//! inside the clip on air, and an `immediately` reply cuts that clip where the question came
//! in (plus the fade), as the frame loop does. As in a live show, where media time is wall
//! time, answering (moderation, retrieval) and synthesis take the wall time they take on this
//! machine: a clip goes on air no earlier than its synthesis is done, and the steps after an
//! insert are synthesized no earlier than the question was answered.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::desk::bridge;
use super::{ChatMessage, Desk};
use crate::brain::BrainConfig;
use crate::events::Events;
use crate::script::{AnswerPolicy, Script};
use crate::show::timeline::{Item, Mark};
use crate::show::{AHEAD_CLIPS, CUT_FADE, Director, ShowClock};
use crate::voice::DefaultVoice;

/// One policy's result. Latencies are media seconds from a probe question's arrival, sorted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyReport {
    pub policy: AnswerPolicy,
    /// To the reply's first sample (with `immediately`, the bridge line).
    pub latencies: Vec<f64>,
    /// To the first sample of the answer proper (after the bridge).
    pub answers: Vec<f64>,
    /// Reply latency minus what was left of the sentence on air when the question came.
    pub beyond_sentence: Vec<f64>,
    /// Probe questions asked (answered ones are in `latencies`).
    pub probes: usize,
    /// Every reply (background questions and greetings too), from its question's arrival.
    pub all: Vec<f64>,
    pub messages: usize,
    pub stats: super::DeskStats,
}

/// The `q` quantile of sorted `v` (NaN when empty).
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
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
    // A probe is a question of its own, not one the background already asks.
    probes.retain(|p| !background.contains(&p.as_str()));
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
    let lang = script.show.language;
    let mut voice = DefaultVoice::new()?;
    let director = Arc::new(Director::new(script, ShowClock::now(), true));
    let mut desk = Desk::new(director.clone(), Events::new(), brain.clone())?;
    let mut incoming: VecDeque<&ChatMessage> = messages.iter().collect();
    let mut queue: VecDeque<Clip> = VecDeque::new();
    let mut all = Vec::new();
    // Probes by question: arrival, what was left of the sentence on air then, and when
    // their reply and its answer proper went on air.
    let mut probes: Vec<Probe> = Vec::new();
    let mut answering: Option<usize> = None;
    let mut t = 0.0;
    // Live, media time is wall time: the voice thread is busy until `voice_free`, and the
    // steps planned after a reply was inserted at `at` cannot start before `not_before`.
    let mut voice_free = 0.0f64;
    let mut not_before = 0.0f64;
    while t < seconds {
        while queue.len() < AHEAD_CLIPS {
            let Some(p) = director.next() else { break };
            let wall = Instant::now();
            let secs = crate::show::bench::media_secs(&mut voice, &director, &p.item)?;
            let start = voice_free.max(t).max(not_before);
            voice_free = start + wall.elapsed().as_secs_f64();
            queue.push_back(Clip {
                seq: p.seq,
                epoch: p.epoch,
                item: p.item,
                secs,
                ready: voice_free,
            });
        }
        let Some(clip) = queue.pop_front() else {
            break;
        };
        if clip.epoch < director.epoch() {
            continue;
        }
        // A late clip: the frame loop pads silence until it is ready.
        t = t.max(clip.ready);
        director.started(clip.seq, t);
        match &clip.item {
            Item::Mark(Mark::Reply(info)) => {
                all.push(t - info.arrived);
                answering = probes
                    .iter()
                    .position(|p| p.question == info.question && p.reply.is_none());
            }
            Item::Speak { text, .. } => {
                if let Some(p) = answering.map(|i| &mut probes[i]) {
                    p.reply.get_or_insert(t - p.at);
                    if text != bridge(lang) {
                        p.answer = Some(t - p.at);
                        answering = None;
                    }
                }
            }
            _ => {}
        }
        let mut end = t + clip.secs;
        while incoming.front().is_some_and(|m| m.at.unwrap_or(0.0) < end) {
            let Some(m) = incoming.pop_front() else { break };
            let at = m.at.unwrap_or(0.0).max(t);
            let wall = Instant::now();
            director.tick(at);
            if m.user.starts_with("probe-") {
                probes.push(Probe {
                    question: m.text.clone(),
                    at,
                    left: match clip.item {
                        Item::Speak { .. } => end - at,
                        _ => 0.0,
                    },
                    reply: None,
                    answer: None,
                });
            }
            let epoch = director.epoch();
            desk.offer(m, at);
            desk.poll(at);
            if director.epoch() != epoch {
                not_before = at + wall.elapsed().as_secs_f64();
            }
            if director.take_cut() {
                // The sentence on air stops here (with the fade); the reply follows.
                end = end.min(at + CUT_FADE.as_secs_f64());
            }
        }
        t = end;
        director.tick(t);
        desk.poll(t);
    }
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    Ok(LatencyReport {
        policy,
        latencies: sorted(probes.iter().filter_map(|p| p.reply).collect()),
        answers: sorted(probes.iter().filter_map(|p| p.answer).collect()),
        beyond_sentence: sorted(
            probes
                .iter()
                .filter_map(|p| p.reply.map(|r| r - p.left))
                .collect(),
        ),
        probes: probes.len(),
        all: sorted(all),
        messages: messages
            .iter()
            .filter(|m| m.at.unwrap_or(0.0) < seconds)
            .count(),
        stats: desk.stats.clone(),
    })
}

/// A synthesized step waiting in the look-ahead.
struct Clip {
    seq: u64,
    epoch: u64,
    item: Item,
    secs: f64,
    /// Media time its synthesis was done.
    ready: f64,
}

struct Probe {
    question: String,
    at: f64,
    /// Seconds of the sentence on air still to go when it arrived (0 between sentences).
    left: f64,
    /// Seconds to the reply's first sample (the bridge, with `immediately`).
    reply: Option<f64>,
    /// Seconds to the first sample of the answer proper.
    answer: Option<f64>,
}
