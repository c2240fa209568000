//! The frame loop and the voice thread (see the module doc of `show`). Built with the renderer.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender, bounded};

use super::director::{Director, Planned};
use super::reload::ReloadWatcher;
use super::timeline::{Item, Mark};
use super::{Mode, ShowError, ShowOptions, ShowReport};
use crate::avatar::AvatarManifest;
use crate::events::{EventKind, Events, JsonlLog, Webhook};
use crate::media::{MediaTime, SAMPLE_RATE};
use crate::motion::{Animator, Emotion, Gesture};
use crate::render::{Card, RenderConfig, Renderer};
use crate::script::Script;
use crate::stream::{Chapter, Encoder, StreamConfig};
use crate::voice::{Emphasis, Language, SpeechChunk, Synthesizer, Utterance};

/// What the voice thread hands the frame loop, in timeline order: a planned step, ready.
struct Clip {
    /// The step's [`Planned::seq`] and [`Planned::epoch`].
    seq: u64,
    epoch: u64,
    kind: ClipKind,
}

enum ClipKind {
    Speech {
        chunk: SpeechChunk,
        text: String,
        emphasis: Emphasis,
        gesture: Option<Gesture>,
        emotion: Option<Emotion>,
        /// Push this product's link when the first word starts.
        link: Option<String>,
        synth_secs: f64,
    },
    Silence(u64),
    Mark(Mark),
}

/// Runs the show until the rundown ends (one pass, unless it loops), `opts.seconds` of media
/// are out, or `stop` is set. Events go to `events` (and to the event log next to the
/// recording); chapters are written next to the recording at the end. Returns what was done.
pub fn run(
    script: &Script,
    avatar: &AvatarManifest,
    opts: &ShowOptions,
    events: &Events,
    stop: &AtomicBool,
) -> Result<ShowReport, ShowError> {
    // The voice thread starts first: it synthesizes the opening lines while Bevy starts up.
    let script_dir = script.path.parent().unwrap_or(std::path::Path::new("."));
    let voice = crate::voice::engine::open(&script.show.voice, Some(script_dir), None)?;
    let loop_allowed = opts.mode == Mode::Live || opts.seconds.is_some();
    let director = Arc::new(Director::new(script.clone(), opts.clock, loop_allowed));
    let (tx, rx) = bounded::<Clip>(super::AHEAD_CLIPS);
    let producer_stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let stop = producer_stop.clone();
        let director = director.clone();
        std::thread::Builder::new()
            .name("anchor-voice".into())
            .spawn(move || voice_thread(voice, &director, tx, &stop))
            .map_err(|e| ShowError::Voice(crate::voice::VoiceError::Synthesis(e.to_string())))?
    };
    let sidecars = Sidecars::start(script, opts, events);
    let watcher = opts.watch.as_ref().and_then(|path| {
        ReloadWatcher::start(path, director.clone(), events.clone(), opts.restart_on_edit)
            .inspect_err(|e| {
                tracing::error!("hot reload is off: cannot watch {}: {e}", path.display())
            })
            .ok()
    });
    let chat_stop = Arc::new(AtomicBool::new(false));
    let desk = match &opts.chat {
        Some(chat) => {
            let desk = crate::chat::Desk::new(director.clone(), events.clone(), chat.brain.clone())
                .map_err(|e| ShowError::Chat(e.to_string()))?;
            Some(
                desk.spawn(chat.inbox.clone(), chat.replay.clone(), chat_stop.clone())
                    .map_err(|e| ShowError::Chat(e.to_string()))?,
            )
        }
        None => None,
    };
    // On an early return below, dropping `rx` ends the voice thread at its next send.
    let mut renderer = Renderer::new(&RenderConfig::new(
        avatar,
        opts.width,
        opts.height,
        &script.show.disclosure,
    ))?;
    let stream_cfg = StreamConfig {
        frame_width: opts.width,
        frame_height: opts.height,
        out_width: opts.out_width,
        out_height: opts.out_height,
        fps: opts.fps,
        outputs: opts.outputs.clone(),
        title: script.show.title.clone(),
        ai_label: script.show.disclosure.clone(),
    };
    let mut encoder = Encoder::start_with_events(&stream_cfg, &Default::default(), events)?;
    events.emit(
        0.0,
        EventKind::ShowStarted {
            title: script.show.title.clone(),
            script: script.path.display().to_string(),
        },
    );

    let mut show = OnAir {
        director: &director,
        events,
        report: ShowReport::default(),
        animator: Animator::new(opts.seed),
        lipsync: opts
            .lipsync
            .as_ref()
            .map(|_| super::LipsyncTrack::new(opts.fps)),
        chapters: Vec::new(),
        card: CardState::default(),
        audio: VecDeque::new(),
        audio_end: MediaTime::ZERO,
    };
    let mut voice_done = false;
    let limit = opts.seconds.map(MediaTime::from_secs);
    let started = Instant::now();
    let mut frame: u64 = 0;
    let mut pending: VecDeque<Vec<f32>> = VecDeque::new();
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        let (t0, t1) = (
            MediaTime::of_frame(frame, opts.fps),
            MediaTime::of_frame(frame + 1, opts.fps),
        );
        if limit.is_some_and(|l| t0 >= l) {
            break Ok(());
        }
        director.tick(t0.secs());
        if director.take_cut() {
            show.cut(t1);
        }
        // Fill the audio queue up to the end of this frame.
        while show.audio_end < t1 && !voice_done {
            let clip = match opts.mode {
                Mode::Render => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Mode::Live => {
                    let due = started + Duration::from_secs_f64(t0.secs());
                    rx.recv_timeout(due.saturating_duration_since(Instant::now()))
                }
            };
            match clip {
                Ok(clip) => show.take(clip),
                Err(RecvTimeoutError::Disconnected) => voice_done = true,
                Err(RecvTimeoutError::Timeout) => {
                    // The voice is late: keep the stream going with silence, never stall.
                    show.report.underruns += 1;
                    show.silence(t1.0 - show.audio_end.0);
                }
            }
        }
        if voice_done && show.audio_end <= t0 && limit.is_none() {
            break Ok(());
        }
        let t = t0.secs();
        if let Some(card) = show.card.due(t) {
            renderer.set_card(card.as_ref());
        }
        let pose = show.animator.pose_at(t);
        let n = (t1.0 - t0.0) as usize;
        let mut samples: Vec<f32> = show.audio.drain(..n.min(show.audio.len())).collect();
        samples.resize(n, 0.0);
        if show.audio_end < t1 {
            show.audio_end = t1;
        }
        // Frames come back one submission late; their audio waits for them here.
        pending.push_back(samples);
        let r0 = Instant::now();
        let image = match renderer.submit(&pose) {
            Ok(f) => f,
            Err(e) => break Err(ShowError::from(e)),
        };
        let r1 = Instant::now();
        if let Some(image) = image
            && let Err(e) = push_frame(&mut encoder, &mut pending, &image.rgba)
        {
            break Err(e);
        }
        show.report.render_wall_secs += (r1 - r0).as_secs_f64();
        show.report.encode_wall_secs += r1.elapsed().as_secs_f64();
        if let Some(track) = show.lipsync.as_mut() {
            track.push_frame(frame, t, &pose);
        }
        show.animator.forget_before(t - 2.0);
        frame += 1;
        if opts.mode == Mode::Live {
            let due =
                started + Duration::from_secs_f64(t1.secs()).saturating_sub(super::LIVE_LOOKAHEAD);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    };
    // The last frame still in the renderer's pipeline.
    let result = result.and_then(|()| match renderer.flush()? {
        Some(image) => push_frame(&mut encoder, &mut pending, &image.rgba),
        None => Ok(()),
    });
    drop(watcher);
    chat_stop.store(true, Ordering::Relaxed);
    let chat_stats = desk.and_then(|d| d.join().ok());
    producer_stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = producer.join();
    let stats = encoder.finish();
    let end = MediaTime::of_frame(frame, opts.fps).secs();
    let lipsync = show.lipsync.take();
    let mut report = show.finish(end);
    report.chat = chat_stats;
    report.frames = frame;
    report.media_secs = end;
    report.wall_secs = started.elapsed().as_secs_f64();
    let reason = match (&result, &stats) {
        (Err(e), _) => e.to_string(),
        (_, Err(e)) => e.to_string(),
        _ if stop.load(Ordering::Relaxed) => "stopped".to_owned(),
        _ => "done".to_owned(),
    };
    events.emit(end, EventKind::ShowEnded { reason });
    let chapters = std::mem::take(&mut report.chapters);
    sidecars.finish(&chapters, stats.is_ok());
    report.chapters = chapters;
    result?;
    stats?;
    if let (Some(path), Some(track)) = (&opts.lipsync, &lipsync) {
        track.write(path).map_err(|source| ShowError::Sidecar {
            path: path.clone(),
            source,
        })?;
    }
    Ok(report)
}

/// The frame loop's state between clips: audio queue, motion, events, card, chapters.
struct OnAir<'a> {
    director: &'a Director,
    events: &'a Events,
    report: ShowReport,
    animator: Animator,
    lipsync: Option<super::LipsyncTrack>,
    /// Product segments so far; the last may still be open (`end` NaN).
    chapters: Vec<Chapter>,
    card: CardState,
    audio: VecDeque<f32>,
    /// Media time where the queued audio ends.
    audio_end: MediaTime,
}

impl OnAir<'_> {
    fn silence(&mut self, n: u64) {
        self.audio_end.0 += n;
        self.audio.extend(std::iter::repeat_n(0.0, n as usize));
    }

    /// Fades out what is queued after `from` and drops the rest (an interruption).
    fn cut(&mut self, from: MediaTime) {
        let queued_start = self.audio_end.0 - self.audio.len() as u64;
        let keep = from.0.saturating_sub(queued_start) as usize;
        let fade = (super::CUT_FADE.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize;
        let end = (keep + fade).min(self.audio.len());
        for (i, s) in self.audio.range_mut(keep..end).enumerate() {
            *s *= 1.0 - i as f32 / fade as f32;
        }
        self.audio.truncate(end);
        self.audio_end = MediaTime(queued_start + end as u64);
        self.animator.cut_speech(self.audio_end.secs());
    }

    /// A clip from the voice thread goes on air at the end of the queued audio.
    fn take(&mut self, clip: Clip) {
        if clip.epoch < self.director.epoch() {
            return; // taken back by a rewind (a reply or a reload came first)
        }
        let at = self.audio_end.secs();
        let started = self.director.started(clip.seq, at);
        if let Some(kind) = started.reload_applied {
            let script = self.director.script();
            tracing::info!(
                pts = at,
                "script edit on air (at the {} boundary)",
                kind.name()
            );
            self.emit(
                at,
                EventKind::ScriptReloaded {
                    script: script.path.display().to_string(),
                    applies_at: kind.name().to_owned(),
                },
            );
        }
        match clip.kind {
            ClipKind::Speech {
                chunk,
                text,
                emphasis,
                gesture,
                emotion,
                link,
                synth_secs,
            } => {
                if let Some(e) = emotion {
                    self.animator.set_emotion(at, e);
                }
                if let Some(g) = gesture {
                    self.animator.add_gesture(at, g, emphasis);
                }
                self.animator.add_speech(at, &chunk);
                if let Some(product) = link {
                    // Frame-accurate: when the call's first word starts in the audio.
                    let onset = chunk.words.first().map_or(0.0, |w| f64::from(w.start));
                    self.link_pushed(at + onset, &product);
                }
                self.report.tts_wall_secs += synth_secs;
                self.report.tts_audio_secs += chunk.duration_secs();
                if let Some(track) = self.lipsync.as_mut() {
                    track.add_speech(at, &text, &chunk);
                }
                self.audio_end.0 += chunk.pcm.len() as u64;
                self.audio.extend(chunk.pcm);
            }
            ClipKind::Silence(n) => self.silence(n),
            ClipKind::Mark(mark) => self.mark(at, mark),
        }
    }

    fn emit(&mut self, pts: f64, kind: EventKind) {
        let e = self.events.emit(pts, kind);
        tracing::info!(pts, "{}", e.to_json());
        self.report.events.push((pts, e.type_name().to_owned()));
    }

    fn link_pushed(&mut self, pts: f64, product: &str) {
        let script = self.director.script();
        let Some(p) = script.product(product) else {
            return;
        };
        let Some(link) = p.link.clone() else {
            return;
        };
        self.emit(
            pts,
            EventKind::LinkPushed {
                product: product.to_owned(),
                link,
            },
        );
        let mut card = product_card(p);
        card.note = Some(link_note(script.show.language).to_owned());
        self.card.at(pts, Some(card));
    }

    fn mark(&mut self, at: f64, mark: Mark) {
        match mark {
            Mark::ProductStarted(id) => {
                let script = self.director.script();
                let Some(p) = script.product(&id) else {
                    return;
                };
                self.close_chapter(at);
                self.chapters.push(Chapter {
                    product: id.clone(),
                    title: p.name.clone(),
                    start: at,
                    end: f64::NAN,
                });
                self.card.at(at, Some(product_card(p)));
                self.emit(
                    at,
                    EventKind::ProductStarted {
                        product: id,
                        name: p.name.clone(),
                        price: p.price,
                        currency: p.currency.clone(),
                        link: p.link.clone(),
                    },
                );
            }
            Mark::ProductEnded(id) => {
                self.close_chapter(at);
                self.card.at(at, None);
                self.emit(at, EventKind::ProductEnded { product: id });
            }
            Mark::Disclosure(text) => self.emit(at, EventKind::Disclosure { text }),
            Mark::OnAir => {
                self.card.at(at, None);
                self.emit(at, EventKind::OnAir);
            }
            Mark::Reply(info) => {
                let latency = at - info.arrived;
                tracing::info!(pts = at, latency, "chat reply: {}", info.text);
                self.emit(
                    at,
                    EventKind::ChatReply {
                        reply: info.id,
                        question: info.question,
                        intent: info.intent,
                        product: info.product,
                        faq: info.faq,
                        verdict: info.verdict,
                        text: info.text,
                        asked_by: info.asked_by,
                        latency,
                    },
                );
            }
            Mark::ReplyEnd(_) => {}
            Mark::OffAir { until } => {
                let lang = self.director.script().show.language;
                self.card.at(at, Some(off_air_card(lang, until.as_deref())));
                self.emit(at, EventKind::OffAir { until });
            }
        }
    }

    fn close_chapter(&mut self, at: f64) {
        if let Some(c) = self.chapters.last_mut()
            && c.end.is_nan()
        {
            c.end = at;
        }
    }

    fn finish(mut self, end: f64) -> ShowReport {
        self.close_chapter(end);
        self.chapters.retain(|c| c.end > c.start);
        let mut report = std::mem::take(&mut self.report);
        report.chapters = std::mem::take(&mut self.chapters);
        report
    }
}

/// Card changes waiting for their media time (a link push lands inside a sentence).
#[derive(Debug, Default)]
struct CardState {
    queue: VecDeque<(f64, Option<Card>)>,
}

impl CardState {
    fn at(&mut self, pts: f64, card: Option<Card>) {
        self.queue.push_back((pts, card));
    }

    /// The card to show from the frame at `t` on, if it changes.
    fn due(&mut self, t: f64) -> Option<Option<Card>> {
        let mut latest = None;
        while self.queue.front().is_some_and(|(pts, _)| *pts <= t + 1e-9) {
            latest = self.queue.pop_front().map(|(_, c)| c);
        }
        latest
    }
}

fn product_card(p: &crate::script::Product) -> Card {
    Card {
        title: p.name.clone(),
        price: p.price_text().map(|price| match p.currency.as_str() {
            "CNY" => format!("¥{price}"),
            "USD" => format!("${price}"),
            other => format!("{price} {other}"),
        }),
        note: None,
    }
}

fn link_note(lang: Language) -> &'static str {
    match lang {
        Language::ZhCn => "链接已上架，点击下方购物车",
        Language::EnUs => "The link is up: tap the cart below",
    }
}

fn off_air_card(lang: Language, until: Option<&str>) -> Card {
    // "2026-11-21T23:00:00+08:00" → "23:00"
    let back = until.and_then(|u| u.get(11..16));
    match lang {
        Language::ZhCn => Card {
            title: "主播休息中".into(),
            price: None,
            note: back.map(|b| format!("{b} 准时回来")),
        },
        Language::EnUs => Card {
            title: "We'll be right back".into(),
            price: None,
            note: back.map(|b| format!("Back at {b}")),
        },
    }
}

/// The files written next to the recording: the event log (live) and, at the end, the
/// chapters (WebVTT + JSON, and inside the MP4).
struct Sidecars {
    recording: PathBuf,
    log: Option<JsonlLog>,
    webhook: Option<Webhook>,
}

impl Sidecars {
    /// Starts the event log and the webhook. A sink that cannot start is logged; the show runs
    /// without it.
    fn start(script: &Script, opts: &ShowOptions, events: &Events) -> Sidecars {
        let recording = match &opts.outputs {
            crate::stream::Outputs::Live { recording, .. } => recording.clone(),
            crate::stream::Outputs::File { path } => path.clone(),
        };
        let log_path = sidecar_path(&recording, "events.jsonl");
        let log = JsonlLog::start(events, &log_path)
            .inspect_err(|e| tracing::error!("no event log: {e}"))
            .ok();
        let webhook = script.events.webhook.as_deref().and_then(|url| {
            Webhook::start(events, url, script.events.webhook_retries)
                .inspect_err(|e| tracing::error!("no webhook: {e}"))
                .ok()
        });
        Sidecars {
            recording,
            log,
            webhook,
        }
    }

    fn finish(self, chapters: &[Chapter], recording_ok: bool) {
        if let Some(w) = self.webhook {
            let _ = w.finish(Instant::now() + Duration::from_secs(5));
        }
        if let Some(log) = self.log
            && let Err(e) = log.finish()
        {
            tracing::error!("event log: {e}");
        }
        if let Err(e) = crate::stream::write_chapter_files(&self.recording, chapters) {
            tracing::error!("cannot write the chapter files: {e}");
        }
        if recording_ok
            && let Err(e) = crate::stream::embed_chapters(
                &self.recording,
                chapters,
                &crate::stream::EncoderOptions::default(),
            )
        {
            tracing::error!("chapters not embedded in {}: {e}", self.recording.display());
        }
    }
}

/// `out/show.mp4` + `events.jsonl` → `out/show.events.jsonl`.
pub fn sidecar_path(recording: &std::path::Path, suffix: &str) -> PathBuf {
    recording.with_extension(suffix)
}

/// Encodes a frame that came back from the renderer with the audio submitted alongside it.
fn push_frame(
    encoder: &mut crate::stream::Encoder,
    pending: &mut VecDeque<Vec<f32>>,
    rgba: &[u8],
) -> Result<(), ShowError> {
    let samples = pending.pop_front().unwrap_or_default();
    encoder.push(rgba, &samples)?;
    Ok(())
}

/// Asks the director for steps and synthesizes them, ahead, into the bounded channel.
fn voice_thread(
    mut voice: Box<dyn Synthesizer>,
    director: &Director,
    tx: Sender<Clip>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let Some(Planned { seq, epoch, item }) = director.next() else {
            return;
        };
        let kind = match item {
            Item::Speak {
                text,
                emphasis,
                gesture,
                emotion,
                link,
            } => {
                let t = Instant::now();
                let language = director.script().show.language;
                match voice.synthesize(&Utterance {
                    text: text.clone(),
                    language,
                    emphasis,
                }) {
                    Ok(chunk) => ClipKind::Speech {
                        chunk,
                        text,
                        emphasis,
                        gesture,
                        emotion,
                        link,
                        synth_secs: t.elapsed().as_secs_f64(),
                    },
                    Err(e) => {
                        tracing::warn!("skipping a line that failed to synthesize ({text:?}): {e}");
                        continue;
                    }
                }
            }
            Item::Silence(d) => {
                ClipKind::Silence((d.as_secs_f64() * f64::from(SAMPLE_RATE)).round() as u64)
            }
            Item::Mark(m) => ClipKind::Mark(m),
        };
        if tx.send(Clip { seq, epoch, kind }).is_err() {
            return;
        }
    }
}
