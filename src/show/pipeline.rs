//! The frame loop and the voice thread (see the module doc of `show`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender, bounded};

use super::timeline::{self, Item};
use super::{Mode, ShowError, ShowOptions, ShowReport};
use crate::avatar::AvatarManifest;
use crate::media::{MediaTime, SAMPLE_RATE};
use crate::motion::{Animator, Emotion, Gesture};
use crate::script::Script;
use crate::voice::{DefaultVoice, Emphasis, SpeechChunk, Synthesizer, Utterance};

/// What the voice thread hands the frame loop, in timeline order.
enum Clip {
    Speech {
        chunk: SpeechChunk,
        text: String,
        emphasis: Emphasis,
        gesture: Option<Gesture>,
        emotion: Option<Emotion>,
        synth_secs: f64,
    },
    Silence(u64),
    Event(String),
}

/// Runs the show until the rundown ends (one pass, unless it loops), `opts.seconds` of media
/// are out, or `stop` is set. Returns what was done.
#[cfg(feature = "render")]
pub fn run(
    script: &Script,
    avatar: &AvatarManifest,
    opts: &ShowOptions,
    stop: &AtomicBool,
) -> Result<ShowReport, ShowError> {
    use crate::render::{RenderConfig, Renderer};
    use crate::stream::{Encoder, StreamConfig};

    // The voice thread starts first: it synthesizes the opening lines while Bevy starts up.
    let voice = DefaultVoice::new()?;
    let items = timeline::build(script);
    let looping = script.show.looping && (opts.mode == Mode::Live || opts.seconds.is_some());
    let (tx, rx) = bounded::<Clip>(super::AHEAD_CLIPS);
    let producer_stop = std::sync::Arc::new(AtomicBool::new(false));
    let producer = {
        let lang = script.show.language;
        let stop = producer_stop.clone();
        std::thread::Builder::new()
            .name("anchor-voice".into())
            .spawn(move || voice_thread(voice, items, lang, looping, tx, &stop))
            .map_err(|e| ShowError::Voice(crate::voice::VoiceError::Synthesis(e.to_string())))?
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
    let mut encoder = Encoder::start(&stream_cfg)?;

    let mut report = ShowReport::default();
    let mut animator = Animator::new(opts.seed);
    let mut lipsync = opts
        .lipsync
        .as_ref()
        .map(|_| super::LipsyncTrack::new(opts.fps));
    let mut audio: VecDeque<f32> = VecDeque::new();
    let mut audio_end = MediaTime::ZERO; // media time where the queued audio ends
    let mut voice_done = false;
    let limit = opts.seconds.map(|s| MediaTime::from_secs(s));
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
        // Fill the audio queue up to the end of this frame.
        while audio_end < t1 && !voice_done {
            let clip = match opts.mode {
                Mode::Render => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Mode::Live => {
                    let due = started + Duration::from_secs_f64(t0.secs());
                    rx.recv_timeout(due.saturating_duration_since(Instant::now()))
                }
            };
            match clip {
                Ok(Clip::Speech {
                    chunk,
                    text,
                    emphasis,
                    gesture,
                    emotion,
                    synth_secs,
                }) => {
                    let at = audio_end.secs();
                    if let Some(e) = emotion {
                        animator.set_emotion(at, e);
                    }
                    if let Some(g) = gesture {
                        animator.add_gesture(at, g, emphasis);
                    }
                    animator.add_speech(at, &chunk);
                    report.tts_wall_secs += synth_secs;
                    report.tts_audio_secs += chunk.duration_secs();
                    if let Some(track) = lipsync.as_mut() {
                        track.speech.push(super::sidecar::SpokenInterval {
                            start: at,
                            end: at + chunk.duration_secs(),
                            text,
                        });
                    }
                    audio_end.0 += chunk.pcm.len() as u64;
                    audio.extend(chunk.pcm);
                }
                Ok(Clip::Silence(n)) => {
                    audio_end.0 += n;
                    audio.extend(std::iter::repeat_n(0.0, n as usize));
                }
                Ok(Clip::Event(e)) => {
                    tracing::info!(pts = audio_end.secs(), "{e}");
                    report.events.push((audio_end.secs(), e));
                }
                Err(RecvTimeoutError::Disconnected) => voice_done = true,
                Err(RecvTimeoutError::Timeout) => {
                    // The voice is late: keep the stream going with silence, never stall.
                    report.underruns += 1;
                    let pad = t1.0 - audio_end.0;
                    audio_end.0 += pad;
                    audio.extend(std::iter::repeat_n(0.0, pad as usize));
                }
            }
        }
        if voice_done && audio_end <= t0 && limit.is_none() {
            break Ok(());
        }
        let t = t0.secs();
        let pose = animator.pose_at(t);
        let n = (t1.0 - t0.0) as usize;
        let mut samples: Vec<f32> = audio.drain(..n.min(audio.len())).collect();
        samples.resize(n, 0.0);
        if audio_end < t1 {
            audio_end = t1;
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
        report.render_wall_secs += (r1 - r0).as_secs_f64();
        report.encode_wall_secs += r1.elapsed().as_secs_f64();
        if let Some(track) = lipsync.as_mut() {
            track.push_frame(frame, t, &pose);
        }
        animator.forget_before(t - 2.0);
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
    producer_stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = producer.join();
    let stats = encoder.finish();
    report.frames = frame;
    report.media_secs = MediaTime::of_frame(frame, opts.fps).secs();
    report.wall_secs = started.elapsed().as_secs_f64();
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

/// Encodes a frame that came back from the renderer with the audio submitted alongside it.
#[cfg(feature = "render")]
fn push_frame(
    encoder: &mut crate::stream::Encoder,
    pending: &mut VecDeque<Vec<f32>>,
    rgba: &[u8],
) -> Result<(), ShowError> {
    let samples = pending.pop_front().unwrap_or_default();
    encoder.push(rgba, &samples)?;
    Ok(())
}

/// Without the renderer there is no show to run.
#[cfg(not(feature = "render"))]
pub fn run(
    _script: &Script,
    _avatar: &AvatarManifest,
    _opts: &ShowOptions,
    _stop: &AtomicBool,
) -> Result<ShowReport, ShowError> {
    Err(ShowError::NoRenderer)
}

/// Walks the timeline (looping if asked), synthesizing ahead into the bounded channel.
fn voice_thread(
    mut voice: DefaultVoice,
    items: Vec<Item>,
    lang: crate::voice::Language,
    looping: bool,
    tx: Sender<Clip>,
    stop: &AtomicBool,
) {
    loop {
        for item in &items {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let clip = match item {
                Item::Speak {
                    text,
                    emphasis,
                    gesture,
                    emotion,
                } => {
                    let t = Instant::now();
                    match voice.synthesize(&Utterance {
                        text: text.clone(),
                        language: lang,
                        emphasis: *emphasis,
                    }) {
                        Ok(chunk) => Clip::Speech {
                            chunk,
                            text: text.clone(),
                            emphasis: *emphasis,
                            gesture: *gesture,
                            emotion: *emotion,
                            synth_secs: t.elapsed().as_secs_f64(),
                        },
                        Err(e) => {
                            tracing::warn!(
                                "skipping a line that failed to synthesize ({text:?}): {e}"
                            );
                            continue;
                        }
                    }
                }
                Item::Silence(d) => {
                    Clip::Silence((d.as_secs_f64() * f64::from(SAMPLE_RATE)).round() as u64)
                }
                Item::Product(id) => Clip::Event(format!("product {id}")),
                Item::LinkPushed(id) => Clip::Event(format!("link_pushed {id}")),
            };
            if tx.send(clip).is_err() {
                return;
            }
        }
        if !looping {
            return;
        }
    }
}
