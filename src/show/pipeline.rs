//! The frame loop and the voice thread (see the module doc of `show`). Built with the renderer.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender, bounded};

use super::director::{Director, Planned};
use super::handover::{self, Action, Handover, Source, Tick};
use super::reload::ReloadWatcher;
use super::timeline::{Item, Mark};
use super::{Mode, ShowError, ShowOptions, ShowReport};
use crate::avatar::AvatarManifest;
use crate::events::{EventKind, Events, JsonlLog, Webhook};
use crate::host::{HostConfig, HostInput};
use crate::media::{MediaTime, SAMPLE_RATE};
use crate::motion::{Animator, Emotion, Gesture};
use crate::render::{Card, Overlay, RenderConfig, Renderer};
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
    // An early return below ends a voice thread waiting in a pause.
    let _close = CloseOnDrop(&director);
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
        ReloadWatcher::start(
            path,
            director.clone(),
            events.clone(),
            opts.restart_on_edit,
            opts.product_ids.clone(),
        )
        .inspect_err(|e| tracing::error!("hot reload is off: cannot watch {}: {e}", path.display()))
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
    let mut host = match &opts.host {
        Some(h) => Some(HostOn::start(h, opts, script)?),
        None => None,
    };
    // With a live feed the loop follows the wall clock, in both modes: in render mode at
    // `pace` × real time (a soak's host feed is pushed at that rate).
    let paced = opts.mode == Mode::Live || host.is_some();
    let rate = match opts.mode {
        Mode::Render => opts.pace.filter(|p| *p > 0.0),
        Mode::Live => None,
    };
    // When media time `t` is due on the wall clock.
    let due_at = |started: Instant, t: MediaTime| {
        started + Duration::from_secs_f64(t.secs() / rate.unwrap_or(1.0))
    };
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
        held: false,
        host_paused: false,
        operator_paused: false,
    };
    let mut voice_done = false;
    let limit = opts.seconds.map(MediaTime::from_secs);
    let wall0 = Instant::now();
    // Media time 0 on the wall clock (slips when a show with a host feed falls behind).
    let mut started = wall0;
    let mut frame: u64 = 0;
    let mut pending: VecDeque<Vec<f32>> = VecDeque::new();
    // A frame is in the renderer's pipeline (it returns frames one submission late).
    let mut in_flight = false;
    let mut audio_source = Source::Avatar;
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
        if let Some(rx) = &opts.control {
            let host_control = opts.host.as_ref().map(|h| &h.control);
            for cmd in rx.try_iter() {
                show.control(cmd, host_control, t0.secs());
            }
        }
        if director.take_cut() {
            show.cut(t1);
        }
        let n = (t1.0 - t0.0) as usize;
        // The host's feed: who has the show, whose picture and sound go out.
        let (picture, audio, host_audio) = match host.as_mut() {
            Some(h) => {
                let (d, host_audio) = h.tick(t0, n, &director, show.audio_end <= t0);
                for action in d.actions {
                    show.handover(action, t0.secs());
                }
                (d.picture, d.audio, host_audio)
            }
            None => (Source::Avatar, Source::Avatar, Vec::new()),
        };
        // Fill the avatar's audio queue up to the end of this frame (not while it is paused:
        // nothing new comes, and what is queued plays out).
        while show.audio_end < t1 && !voice_done && audio == Source::Avatar && !director.is_paused()
        {
            let clip = if paced {
                rx.recv_timeout(due_at(started, t0).saturating_duration_since(Instant::now()))
            } else {
                rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
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
        let mut samples: Vec<f32> = show.audio.drain(..n.min(show.audio.len())).collect();
        samples.resize(n, 0.0);
        if show.audio_end < t1 {
            show.audio_end = t1;
        }
        if audio == Source::Host {
            samples = host_audio_with_fade(samples, host_audio, audio_source);
        } else if audio_source == Source::Host && !host_audio.is_empty() {
            handover::crossfade(&host_audio, &mut samples);
        }
        audio_source = audio;
        if !paced && rate.is_some() {
            std::thread::sleep(due_at(started, t0).saturating_duration_since(Instant::now()));
        }
        let r0 = Instant::now();
        let host_frame = match (picture, host.as_ref()) {
            (Source::Host, Some(h)) => h.last.as_deref(),
            _ => None,
        };
        let r1;
        if let Some(rgba) = host_frame {
            // The host's frame goes out now; an avatar frame still in the renderer first.
            if in_flight {
                in_flight = false;
                match renderer.flush() {
                    Ok(Some(image)) => {
                        if let Err(e) = push_frame(&mut encoder, &mut pending, &image.rgba) {
                            break Err(e);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => break Err(ShowError::from(e)),
                }
            }
            r1 = Instant::now();
            pending.push_back(samples);
            if let Err(e) = push_frame(&mut encoder, &mut pending, rgba) {
                break Err(e);
            }
        } else {
            // Frames come back one submission late; their audio waits for them here.
            pending.push_back(samples);
            let image = match renderer.submit(&pose) {
                Ok(f) => f,
                Err(e) => break Err(ShowError::from(e)),
            };
            in_flight = true;
            r1 = Instant::now();
            if let Some(image) = image
                && let Err(e) = push_frame(&mut encoder, &mut pending, &image.rgba)
            {
                break Err(e);
            }
        }
        if let Some(p) = &opts.progress {
            p.set(encoder.frames(), encoder.audio_samples());
        }
        show.report.render_wall_secs += (r1 - r0).as_secs_f64();
        show.report.encode_wall_secs += r1.elapsed().as_secs_f64();
        if let Some(track) = show.lipsync.as_mut() {
            track.push_frame(frame, t, &pose);
        }
        show.animator.forget_before(t - 2.0);
        frame += 1;
        if paced {
            let due = due_at(started, t1)
                .checked_sub(super::LIVE_LOOKAHEAD)
                .unwrap_or(started);
            let now = Instant::now();
            if let Some(wait) = due.checked_duration_since(now) {
                std::thread::sleep(wait);
            } else if host.is_some() && now - due > super::LIVE_LOOKAHEAD {
                // Behind the wall clock: never race to catch up, the host's feed arrives in
                // real time (racing would starve it into frozen frames); the output slips.
                started += now - due;
            }
        }
    };
    // The last frame still in the renderer's pipeline.
    let result = result.and_then(|()| match renderer.flush()? {
        Some(image) => push_frame(&mut encoder, &mut pending, &image.rgba),
        None => Ok(()),
    });
    drop(host);
    drop(watcher);
    chat_stop.store(true, Ordering::Relaxed);
    let chat_stats = desk.and_then(|d| d.join().ok());
    producer_stop.store(true, Ordering::Relaxed);
    director.close();
    drop(rx);
    let _ = producer.join();
    let stats = encoder.finish();
    let end = MediaTime::of_frame(frame, opts.fps).secs();
    let lipsync = show.lipsync.take();
    let mut report = show.finish(end);
    report.chat = chat_stats;
    report.frames = frame;
    report.media_secs = end;
    report.wall_secs = wall0.elapsed().as_secs_f64();
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
    /// The host is gone and the schedule holds the show off air (see [`handover`]).
    held: bool,
    /// The director is paused because the host has the show / because the operator said so;
    /// it resumes only when neither holds.
    host_paused: bool,
    operator_paused: bool,
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

    /// Carries out a hand-over decision at media time `t` (see [`handover`]).
    fn resume_unless_held(&self) {
        if !self.host_paused && !self.operator_paused {
            self.director.resume();
        }
    }

    /// Carries out an operator's command and says so on the event bus.
    fn control(
        &mut self,
        cmd: crate::server::ControlCommand,
        host: Option<&crate::host::HostControl>,
        t: f64,
    ) {
        use crate::server::ControlCommand as C;
        let name = cmd.name();
        let (ok, detail) = match cmd {
            C::HostOnline(online) => match host {
                Some(h) => {
                    h.set_operator(Some(online));
                    (
                        true,
                        format!("host {}", if online { "on air" } else { "off air" }),
                    )
                }
                None => (false, "no host input (start with --host-input)".to_owned()),
            },
            C::SwitchProduct(id) => {
                let ok = self.director.switch_product(&id);
                (
                    ok,
                    if ok {
                        id
                    } else {
                        format!("no segment for product `{id}`")
                    },
                )
            }
            C::Pause => {
                self.operator_paused = true;
                self.director.pause();
                (
                    true,
                    "the sentence on air finishes, then the host waits".to_owned(),
                )
            }
            C::Resume => {
                self.operator_paused = false;
                self.resume_unless_held();
                (true, String::new())
            }
            C::Say { text, now } => {
                let script = self.director.script();
                let mut items = super::timeline::utterance(
                    &text,
                    script.show.language,
                    Emphasis::Normal,
                    None,
                    None,
                );
                items.push(Item::Silence(super::timeline::LINE_GAP));
                let at = if now {
                    super::InsertAt::Now
                } else {
                    super::InsertAt::NextSentence
                };
                self.director.insert(items, at);
                (true, text)
            }
        };
        if ok {
            tracing::info!(pts = t, command = name, %detail, "operator");
        } else {
            tracing::warn!(pts = t, command = name, %detail, "operator command not carried out");
        }
        self.emit(
            t,
            EventKind::Operator {
                command: name.to_owned(),
                ok,
                detail,
            },
        );
    }

    fn handover(&mut self, action: Action, t: f64) {
        match action {
            Action::HostOnline => {
                tracing::info!(pts = t, "host: feed is live");
                self.emit(t, EventKind::HostOnline);
            }
            Action::HostOffline { since } => {
                tracing::warn!(pts = t, since, "host: feed stopped; picture to the avatar");
                self.emit(t, EventKind::HostOffline { since });
            }
            Action::PauseAvatar => {
                tracing::info!(
                    pts = t,
                    "host: back and stable; the avatar finishes its sentence"
                );
                self.host_paused = true;
                self.director.pause();
            }
            Action::ResumeAvatar => {
                tracing::info!(pts = t, "host: feed dropped again; the avatar continues");
                self.host_paused = false;
                self.resume_unless_held();
            }
            Action::HandBack => {
                tracing::info!(pts = t, "host: the host has the show");
                self.held = false;
                self.card.at(t, None);
                self.emit(t, EventKind::HandBack);
            }
            Action::Hold => {
                tracing::warn!(
                    pts = t,
                    "host: gone, and the schedule keeps the avatar off air"
                );
                self.held = true;
                let lang = self.director.script().show.language;
                self.card.at(t, Some(off_air_card(lang, None)));
                self.emit(t, EventKind::OffAir { until: None });
            }
            Action::Takeover { reason } => {
                let script = self.director.script();
                let text = self
                    .director
                    .schedule_open(t)
                    .then(|| handover::handoff_line(&script));
                if let Some(text) = &text {
                    self.director.insert(
                        super::timeline::utterance(
                            text,
                            script.show.language,
                            Emphasis::Normal,
                            Some(Gesture::Wave),
                            None,
                        ),
                        super::InsertAt::NextSentence,
                    );
                }
                tracing::warn!(
                    pts = t,
                    reason = reason.name(),
                    "host: the avatar takes over"
                );
                self.card.at(t, None);
                if std::mem::take(&mut self.held) {
                    self.emit(t, EventKind::OnAir);
                }
                self.host_paused = false;
                self.resume_unless_held();
                self.emit(
                    t,
                    EventKind::Takeover {
                        reason: reason.name().to_owned(),
                        text,
                    },
                );
            }
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

/// Closes the director when the show ends, also on an early return (a voice thread waiting in
/// a pause ends).
struct CloseOnDrop<'a>(&'a Director);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The host's feed in the frame loop: the input, the hand-over state, the last host frame.
struct HostOn {
    input: HostInput,
    handover: Handover,
    /// The latest host frame with the AI label on it (repeated while no new one arrives).
    last: Option<Vec<u8>>,
    label: Overlay,
    width: u32,
    height: u32,
}

impl HostOn {
    fn start(
        h: &super::HostOptions,
        opts: &ShowOptions,
        script: &Script,
    ) -> Result<HostOn, ShowError> {
        let input = HostInput::start(
            HostConfig {
                source: h.source.clone(),
                width: opts.width,
                height: opts.height,
                fps: opts.fps,
                ffmpeg: crate::stream::EncoderOptions::default().ffmpeg,
            },
            h.control.clone(),
        )?;
        // The AI label stays on screen over the host's picture too.
        let font = crate::render::load_font()?;
        let label =
            Overlay::disclosure_label(&script.show.disclosure, opts.width, opts.height, &font);
        Ok(HostOn {
            input,
            handover: Handover::new(h.grace.as_secs_f64()),
            last: None,
            label,
            width: opts.width,
            height: opts.height,
        })
    }

    /// Polls the feed for frame `t0` (`n` samples) and decides; returns the decision and the
    /// host's audio for the frame.
    fn tick(
        &mut self,
        t0: MediaTime,
        n: usize,
        director: &Director,
        avatar_idle: bool,
    ) -> (handover::Decision, Vec<f32>) {
        let fresh = self.input.next_frame();
        let fresh_frame = fresh.is_some();
        if let Some(mut rgba) = fresh {
            self.label.apply(&mut rgba, self.width, self.height);
            self.last = Some(rgba);
        }
        let audio = self.input.take_audio(n);
        let d = self.handover.step(Tick {
            t: t0.secs(),
            fresh_frame,
            operator: self.input.control().operator(),
            schedule_open: director.schedule_open(t0.secs()),
            avatar_idle,
        });
        (d, audio)
    }
}

/// The host's audio for a frame, crossfaded in from the avatar's after a switch.
fn host_audio_with_fade(avatar: Vec<f32>, mut host: Vec<f32>, before: Source) -> Vec<f32> {
    if before == Source::Avatar {
        handover::crossfade(&avatar, &mut host);
    }
    host
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
