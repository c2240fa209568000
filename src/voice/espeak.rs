//! [`DefaultVoice`]: espeak-ng through its C library, no model files.
//!
//! espeak-ng keeps global, unsynchronised state, so exactly one thread in the process ever
//! calls it: a worker spawned on first use that owns the library for the life of the process
//! and serves synthesis jobs over a bounded channel. Every [`DefaultVoice`] is a cheap handle
//! holding a sender to that worker (no lock around the library; requests queue in the channel).
//!
//! Output mode is `AUDIO_OUTPUT_SYNCHRONOUS`: `espeak_Synth` runs on the worker thread and
//! calls our synth callback with 16-bit samples at espeak-ng's rate (22 050 Hz) and event
//! lists (word and phoneme events). The callback appends them to a thread-local collector
//! of the worker thread.
//!
//! The same worker also answers IPA requests ([`text_to_ipa`]): `espeak_TextToPhonemes` in IPA
//! mode, what Piper voices are trained on (the Piper engine in `voice::piper` uses it).

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_short};
use std::sync::OnceLock;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};
use espeakng_sys as sys;

use super::visemes::{is_pause, is_vowel, viseme_for};
use super::zh::{self, ZhToken};
use super::{
    Emphasis, Language, PhonemeTiming, SpeechChunk, Synthesizer, Utterance, Viseme, VoiceError,
    WordTiming,
};

/// espeak-ng voice for Mandarin given as tone-numbered pinyin.
pub const ZH_VOICE: &str = "cmn-latn-pinyin";
/// espeak-ng voice for English.
pub const EN_VOICE: &str = "en-us";
/// Jobs waiting for the worker before `synthesize` blocks (callers are few: the show's voice
/// stage and tests).
const QUEUE: usize = 8;
/// Highest sample magnitude in a chunk; louder chunks are scaled down to it.
const PEAK_LIMIT: f32 = 0.95;
/// Silence put between a Chinese and an embedded English segment, seconds.
const SEGMENT_GAP_S: f32 = 0.06;

/// Delivery settings of one segment, in espeak-ng's units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Prosody {
    /// Words per minute (`espeakRATE`; for the pinyin voice a "word" is a syllable).
    rate: i32,
    /// Base pitch 0–100 (`espeakPITCH`, default 50).
    pitch: i32,
    /// Pitch range 0–100 (`espeakRANGE`, default 50).
    range: i32,
    /// Volume 0–200 (`espeakVOLUME`, default 100).
    volume: i32,
}

impl Prosody {
    fn of(language: Language, emphasis: Emphasis) -> Prosody {
        let rate = match language {
            Language::ZhCn => 200,
            Language::EnUs => 175,
        };
        match emphasis {
            Emphasis::Normal => Prosody {
                rate,
                pitch: 50,
                range: 50,
                volume: 100,
            },
            // Livelier: a bit faster, higher and wider pitch, louder.
            Emphasis::Strong => Prosody {
                rate: rate * 112 / 100,
                pitch: 62,
                range: 80,
                volume: 118,
            },
        }
    }
}

/// One espeak-ng call: a voice, its text, its prosody.
#[derive(Debug, Clone)]
struct SegmentJob {
    voice: &'static str,
    text: String,
    prosody: Prosody,
}

/// What espeak-ng produced for one segment.
#[derive(Debug, Default)]
struct SegmentOut {
    samples: Vec<i16>,
    events: Vec<RawEvent>,
    /// espeak-ng's own transcription of the segment (`espeak_TextToPhonemes`), one entry per
    /// phoneme with its stress: phoneme events carry no stress marks, this does.
    transcription: Vec<(String, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Word,
    Phoneme,
}

/// An espeak-ng event copied out of the callback. Times in samples at espeak-ng's rate from
/// the start of the segment.
#[derive(Debug, Clone)]
struct RawEvent {
    kind: EventKind,
    /// Character position in the segment text (1-based, as espeak-ng reports it).
    text_position: i32,
    /// Word length in characters (word events).
    length: i32,
    at_sample: usize,
    /// Phoneme mnemonic (phoneme events).
    name: String,
}

struct Job {
    segments: Vec<SegmentJob>,
    reply: Sender<Result<Vec<SegmentOut>, VoiceError>>,
}

/// One text to transcribe to IPA in one espeak-ng voice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpaItem {
    /// espeak-ng voice name (`en-us`, `cmn-latn-pinyin`, ...).
    pub voice: String,
    pub text: String,
}

/// One clause of espeak-ng's IPA transcription (`espeak_TextToPhonemes` with
/// `espeakPHONEMES_IPA`; espeak-ng returns one clause per call).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct IpaClause {
    /// The input text of this clause, from how far espeak-ng advanced its text pointer (it
    /// reads one character of the next clause ahead; that character is given to the next
    /// clause), so the clause's closing punctuation can be read from it: espeak-ng 1.51's API
    /// does not report the clause terminator (`espeak_TextToPhonemesWithTerminator` came
    /// later).
    pub text: String,
    /// The clause's words in order, each its phonemes in IPA as espeak-ng writes them: stress
    /// marks and Mandarin tone digits stay attached to their phoneme (`ˈoʊ`, `ˈiɜ`); multi-letter
    /// phonemes stay whole (`tʃ`, `aɪ`). Language-switch flags (`(en)`, `(cmn)`) are removed,
    /// as Piper's phonemizer removes them. Concatenating every phoneme of a word gives exactly
    /// espeak-ng's IPA for that word without separators (what piper-phonemize feeds a model).
    pub words: Vec<Vec<String>>,
}

struct IpaJob {
    items: Vec<IpaItem>,
    reply: Sender<Result<Vec<Vec<IpaClause>>, VoiceError>>,
}

/// What the worker serves: speech for [`DefaultVoice`], or IPA for other engines.
enum Request {
    Synth(Job),
    Ipa(IpaJob),
}

/// Why the worker could not start; kept so later `new()` calls report the same error.
#[derive(Debug, Clone)]
enum InitFailure {
    Engine(String),
    Voice(String),
}

impl From<&InitFailure> for VoiceError {
    fn from(f: &InitFailure) -> Self {
        match f {
            InitFailure::Engine(m) => VoiceError::EngineInit(m.clone()),
            InitFailure::Voice(v) => VoiceError::MissingVoice(v.clone()),
        }
    }
}

#[derive(Clone)]
struct WorkerHandle {
    jobs: Sender<Request>,
    sample_rate: u32,
}

/// The process's one espeak-ng worker, started on first use.
fn worker() -> Result<WorkerHandle, VoiceError> {
    static WORKER: OnceLock<Result<WorkerHandle, InitFailure>> = OnceLock::new();
    match WORKER.get_or_init(spawn_worker) {
        Ok(handle) => Ok(handle.clone()),
        Err(failure) => Err(VoiceError::from(failure)),
    }
}

fn spawn_worker() -> Result<WorkerHandle, InitFailure> {
    let (jobs_tx, jobs_rx) = bounded::<Request>(QUEUE);
    let (init_tx, init_rx) = bounded::<Result<u32, InitFailure>>(1);
    std::thread::Builder::new()
        .name("espeak-ng".into())
        .spawn(move || worker_main(init_tx, jobs_rx))
        .map_err(|e| InitFailure::Engine(format!("cannot spawn the espeak-ng thread: {e}")))?;
    let rate = init_rx
        .recv()
        .map_err(|_| InitFailure::Engine("the espeak-ng thread stopped while starting".into()))??;
    Ok(WorkerHandle {
        jobs: jobs_tx,
        sample_rate: rate,
    })
}

thread_local! {
    /// Samples and events of the segment being synthesized on this (the worker) thread.
    static COLLECTOR: RefCell<SegmentOut> = RefCell::new(SegmentOut::default());
}

/// Upper bound on events read from one callback list (the list is documented to end with
/// `espeakEVENT_LIST_TERMINATED`; this only guards against a corrupt list).
const MAX_EVENTS_PER_CALLBACK: usize = 4096;

/// espeak-ng's synth callback (synchronous mode: called on the worker thread inside
/// `espeak_Synth`). Returns 0 to continue, 1 to abort.
unsafe extern "C" fn synth_callback(
    wav: *mut c_short,
    numsamples: c_int,
    events: *mut sys::espeak_EVENT,
) -> c_int {
    COLLECTOR.with(|cell| {
        let Ok(mut out) = cell.try_borrow_mut() else {
            return 1;
        };
        if !wav.is_null() && numsamples > 0 {
            // SAFETY: espeak-ng passes `numsamples` valid samples at `wav` for this call.
            let s = unsafe { std::slice::from_raw_parts(wav, numsamples as usize) };
            out.samples.extend_from_slice(s);
        }
        if events.is_null() {
            return 0;
        }
        for k in 0..MAX_EVENTS_PER_CALLBACK {
            // SAFETY: the list is terminated by an event of type LIST_TERMINATED; we stop there.
            let ev = unsafe { &*events.add(k) };
            #[allow(non_upper_case_globals)]
            let kind = match ev.type_ {
                sys::espeak_EVENT_TYPE_espeakEVENT_LIST_TERMINATED => break,
                sys::espeak_EVENT_TYPE_espeakEVENT_WORD => EventKind::Word,
                sys::espeak_EVENT_TYPE_espeakEVENT_PHONEME => EventKind::Phoneme,
                _ => continue,
            };
            let name = if kind == EventKind::Phoneme {
                // SAFETY: for phoneme events the union holds `string`, a char[8] that is
                // NUL-terminated unless all 8 bytes are used; we read at most 8 bytes.
                let raw = unsafe { ev.id.string };
                let bytes: Vec<u8> = raw
                    .iter()
                    .take_while(|&&b| b != 0)
                    .map(|&b| b as u8)
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                String::new()
            };
            // audio_position is in ms from the start of this espeak_Synth call.
            let at_ms = ev.audio_position.max(0) as usize;
            out.events.push(RawEvent {
                kind,
                text_position: ev.text_position,
                length: ev.length,
                at_sample: at_ms, // ms here; run_job converts to samples
                name,
            });
        }
        0
    })
}

fn worker_main(init: Sender<Result<u32, InitFailure>>, jobs: Receiver<Request>) {
    let opts = (sys::espeakINITIALIZE_PHONEME_EVENTS | sys::espeakINITIALIZE_DONT_EXIT) as c_int;
    // SAFETY: first and only initialisation on this thread; NULL path = the default data dir.
    let rate = unsafe {
        sys::espeak_Initialize(
            sys::espeak_AUDIO_OUTPUT_AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            std::ptr::null(),
            opts,
        )
    };
    if rate <= 0 {
        let _ = init.send(Err(InitFailure::Engine(format!(
            "espeak_Initialize returned {rate}"
        ))));
        return;
    }
    // SAFETY: a plain `extern "C"` function with the signature espeak-ng expects.
    unsafe { sys::espeak_SetSynthCallback(Some(synth_callback)) };
    for voice in [EN_VOICE, ZH_VOICE] {
        if let Err(e) = set_voice(voice) {
            tracing::error!(voice, error = %e, "espeak-ng voice missing");
            let _ = init.send(Err(InitFailure::Voice(voice.to_string())));
            return;
        }
    }
    let rate = rate as u32;
    tracing::info!(sample_rate = rate, version = %espeak_version(), "espeak-ng ready");
    if init.send(Ok(rate)).is_err() {
        return;
    }
    let mut current_voice: Option<String> = Some(ZH_VOICE.to_string());
    for request in jobs.iter() {
        match request {
            Request::Synth(job) => {
                let result = run_job(&job.segments, &mut current_voice, rate);
                let _ = job.reply.send(result);
            }
            Request::Ipa(job) => {
                let result = run_ipa_job(&job.items, &mut current_voice);
                let _ = job.reply.send(result);
            }
        }
    }
}

/// `espeak_TextToPhonemes` phoneme mode bit 1: IPA as UTF-8 (speak_lib.h; espeak-ng ≥ 1.49
/// names it `espeakPHONEMES_IPA`, which espeakng-sys 0.3 does not export).
const PHONEMES_IPA: c_int = 0x02;
/// Put between phonemes in IPA mode (bits 8-23 of the phoneme mode), so multi-letter phonemes
/// come out whole. U+001F (unit separator) never occurs in espeak-ng's IPA.
const IPA_SEPARATOR: char = '\u{1f}';

fn run_ipa_job(
    items: &[IpaItem],
    current_voice: &mut Option<String>,
) -> Result<Vec<Vec<IpaClause>>, VoiceError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if current_voice.as_deref() != Some(item.voice.as_str()) {
            // Forget the current voice first: if setting fails, the next job sets its own.
            *current_voice = None;
            set_voice(&item.voice)?;
            *current_voice = Some(item.voice.clone());
        }
        let text = CString::new(item.text.replace('\0', " "))
            .map_err(|e| VoiceError::Synthesis(format!("text with NUL: {e}")))?;
        out.push(transcribe_ipa(&text));
    }
    Ok(out)
}

/// espeak-ng's IPA transcription of `text` in the current voice, clause by clause.
fn transcribe_ipa(text: &CStr) -> Vec<IpaClause> {
    let bytes = text.to_bytes();
    let base = text.as_ptr() as usize;
    let mut clauses = Vec::new();
    let mut ptr: *const std::ffi::c_void = text.as_ptr().cast();
    let mode = PHONEMES_IPA | ((IPA_SEPARATOR as c_int) << 8);
    // Byte offset where the next clause's text starts.
    let mut clause_start = 0usize;
    // Each call consumes at least one clause; the bound only guards against a stuck pointer.
    for _ in 0..bytes.len() + 1 {
        if ptr.is_null() {
            break;
        }
        let before = ptr as usize;
        // SAFETY: `ptr` points into `text` (NUL-terminated, alive for this call) or was
        // advanced by espeak-ng within it; the result is a library-owned string valid until
        // the next call, copied at once.
        let res =
            unsafe { sys::espeak_TextToPhonemes(&mut ptr, sys::espeakCHARS_UTF8 as c_int, mode) };
        // Where the clause's input ends: the advanced pointer, or the end when espeak-ng set
        // it to NULL. espeak-ng has already read the first character of the next clause (it
        // keeps it and speaks it with that clause), so a clause ends one character before the
        // pointer. A pointer outside the buffer (never seen) ends the transcription.
        let after = if ptr.is_null() {
            base + bytes.len()
        } else {
            ptr as usize
        };
        let (Some(from), Some(mut to)) = (before.checked_sub(base), after.checked_sub(base)) else {
            tracing::warn!("espeak-ng moved its text pointer out of the text; transcription cut");
            break;
        };
        if from > to || to > bytes.len() {
            tracing::warn!(
                from,
                to,
                len = bytes.len(),
                "espeak-ng text pointer out of range"
            );
            break;
        }
        if !ptr.is_null() && to > clause_start {
            // Step back over the look-ahead character (UTF-8 continuation bytes first).
            to -= 1;
            while to > clause_start && (bytes[to] & 0xC0) == 0x80 {
                to -= 1;
            }
        }
        let consumed = String::from_utf8_lossy(&bytes[clause_start.min(to)..to]).into_owned();
        clause_start = to;
        if res.is_null() {
            break;
        }
        // SAFETY: non-null NUL-terminated string from espeak-ng.
        let line = unsafe { CStr::from_ptr(res) }
            .to_string_lossy()
            .into_owned();
        let words: Vec<Vec<String>> = strip_language_flags(&line)
            .split(' ')
            .map(|w| {
                w.split(IPA_SEPARATOR)
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() && consumed.trim().is_empty() {
            continue;
        }
        clauses.push(IpaClause {
            text: consumed,
            words,
        });
    }
    clauses
}

/// Removes espeak-ng's language-switch flags (`(en)`, `(cmn)`) from a transcription.
fn strip_language_flags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut depth = 0usize;
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// espeak-ng's IPA transcription of each item (see [`IpaClause`]), from the process's one
/// espeak-ng worker (started here if needed).
///
/// Errors: [`VoiceError::EngineInit`] / [`VoiceError::MissingVoice`] when the worker cannot
/// start or an item's voice is not installed (not recoverable for that voice);
/// [`VoiceError::Synthesis`] when the worker has stopped.
pub(crate) fn text_to_ipa(items: Vec<IpaItem>) -> Result<Vec<Vec<IpaClause>>, VoiceError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let handle = worker()?;
    let (reply_tx, reply_rx) = bounded(1);
    handle
        .jobs
        .send(Request::Ipa(IpaJob {
            items,
            reply: reply_tx,
        }))
        .map_err(|_| VoiceError::Synthesis("the espeak-ng worker has stopped".into()))?;
    reply_rx
        .recv()
        .map_err(|_| VoiceError::Synthesis("the espeak-ng worker dropped the request".into()))?
}

fn espeak_version() -> String {
    let mut path: *const c_char = std::ptr::null();
    // SAFETY: espeak_Info returns a static string (or NULL) and writes the data path pointer.
    let v = unsafe { sys::espeak_Info(&mut path) };
    if v.is_null() {
        return "unknown".into();
    }
    // SAFETY: non-null, NUL-terminated static string owned by the library.
    unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned()
}

/// espeak-ng's phoneme transcription of `text` in the current voice, clause by clause, as
/// (mnemonic, primary stress) pairs. Empty if espeak-ng gives nothing back.
fn transcribe(text: &CStr) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut ptr: *const std::ffi::c_void = text.as_ptr().cast();
    // ASCII mnemonics, '_' between phonemes (bits 8-23 of phonememode).
    let mode = (b'_' as c_int) << 8;
    // Each call consumes at least one clause; the bound only guards against a stuck pointer.
    for _ in 0..text.to_bytes().len() + 1 {
        if ptr.is_null() {
            break;
        }
        // SAFETY: `ptr` points into `text` (NUL-terminated, alive for this call) or was
        // advanced by espeak-ng within it; the result is a library-owned string valid until
        // the next call, copied at once.
        let res =
            unsafe { sys::espeak_TextToPhonemes(&mut ptr, sys::espeakCHARS_UTF8 as c_int, mode) };
        if res.is_null() {
            break;
        }
        // SAFETY: non-null NUL-terminated string from espeak-ng.
        let line = unsafe { CStr::from_ptr(res) }
            .to_string_lossy()
            .into_owned();
        for tok in line
            .split(|c: char| c == '_' || c.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            let stressed = tok.starts_with('\'');
            let name = tok.trim_start_matches(['\'', ',', '%', '=']);
            if !name.is_empty() {
                out.push((name.to_string(), stressed));
            }
        }
    }
    out
}

fn set_voice(name: &str) -> Result<(), VoiceError> {
    let c = CString::new(name).map_err(|_| VoiceError::MissingVoice(name.to_string()))?;
    // SAFETY: valid NUL-terminated string; called on the worker thread only.
    let rc = unsafe { sys::espeak_SetVoiceByName(c.as_ptr()) };
    if rc == sys::espeak_ERROR_EE_OK {
        Ok(())
    } else {
        Err(VoiceError::MissingVoice(name.to_string()))
    }
}

fn set_param(p: sys::espeak_PARAMETER, value: i32) -> Result<(), VoiceError> {
    // SAFETY: plain value call on the worker thread.
    let rc = unsafe { sys::espeak_SetParameter(p, value, 0) };
    if rc == sys::espeak_ERROR_EE_OK {
        Ok(())
    } else {
        Err(VoiceError::Synthesis(format!(
            "espeak_SetParameter({p}, {value}) failed ({rc})"
        )))
    }
}

fn run_job(
    segments: &[SegmentJob],
    current_voice: &mut Option<String>,
    rate: u32,
) -> Result<Vec<SegmentOut>, VoiceError> {
    let mut outs = Vec::with_capacity(segments.len());
    for seg in segments {
        if current_voice.as_deref() != Some(seg.voice) {
            *current_voice = None;
            set_voice(seg.voice)?;
            *current_voice = Some(seg.voice.to_string());
        }
        set_param(sys::espeak_PARAMETER_espeakRATE, seg.prosody.rate)?;
        set_param(sys::espeak_PARAMETER_espeakPITCH, seg.prosody.pitch)?;
        set_param(sys::espeak_PARAMETER_espeakRANGE, seg.prosody.range)?;
        set_param(sys::espeak_PARAMETER_espeakVOLUME, seg.prosody.volume)?;
        let text = CString::new(seg.text.replace('\0', " "))
            .map_err(|e| VoiceError::Synthesis(format!("text with NUL: {e}")))?;
        COLLECTOR.with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                *c = SegmentOut::default();
            }
        });
        let transcription = if seg.voice == EN_VOICE {
            transcribe(&text)
        } else {
            Vec::new()
        };
        let bytes = text.as_bytes_with_nul().len();
        // SAFETY: `text` is a valid NUL-terminated UTF-8 buffer alive for the call; in
        // synchronous mode espeak_Synth returns only after all callbacks have run.
        let rc = unsafe {
            sys::espeak_Synth(
                text.as_ptr().cast(),
                bytes,
                0,
                sys::espeak_POSITION_TYPE_POS_CHARACTER,
                0,
                sys::espeakCHARS_UTF8,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        let mut out = COLLECTOR.with(|c| {
            c.try_borrow_mut()
                .map(|mut c| std::mem::take(&mut *c))
                .unwrap_or_default()
        });
        if rc != sys::espeak_ERROR_EE_OK {
            return Err(VoiceError::Synthesis(format!(
                "espeak_Synth failed ({rc}) for voice {}",
                seg.voice
            )));
        }
        for ev in &mut out.events {
            ev.at_sample = ev.at_sample * rate as usize / 1000;
        }
        out.transcription = transcription;
        outs.push(out);
    }
    Ok(outs)
}

/// The built-in voice: espeak-ng with our Mandarin front end. Audio at
/// [`crate::media::SAMPLE_RATE`], phoneme timings from espeak-ng's phoneme events.
///
/// Cheap to create after the first one (all share the process's espeak-ng worker thread).
#[derive(Clone)]
pub struct DefaultVoice {
    worker: WorkerHandle,
}

impl std::fmt::Debug for DefaultVoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultVoice")
            .field("espeak_rate", &self.worker.sample_rate)
            .finish()
    }
}

impl DefaultVoice {
    /// Starts (or joins) the espeak-ng worker and checks both voices (`cmn-latn-pinyin`,
    /// `en-us`) are installed; loads the Mandarin segmentation dictionary.
    ///
    /// Errors: [`VoiceError::EngineInit`] when libespeak-ng or its data cannot start,
    /// [`VoiceError::MissingVoice`] when a voice is not installed. Neither is recoverable.
    pub fn new() -> Result<Self, VoiceError> {
        let worker = worker()?;
        zh::warm_up();
        Ok(DefaultVoice { worker })
    }

    /// espeak-ng's native output rate (22 050 Hz on Debian), before resampling.
    pub fn engine_sample_rate(&self) -> u32 {
        self.worker.sample_rate
    }
}

/// Where a segment's words come from, to turn espeak-ng word events into [`WordTiming`]s.
#[derive(Debug, Default)]
struct SegmentPlan {
    job: Option<SegmentJob>,
    /// Start character (1-based, as espeak-ng counts) of each espeak "word" we placed, with
    /// the index of the output word it belongs to and whether it carries word stress.
    marks: Vec<(i32, usize, bool)>,
}

/// Splits an utterance into espeak-ng segments and the output words.
fn plan(utt: &Utterance) -> (Vec<SegmentPlan>, Vec<String>) {
    let prosody = Prosody::of(utt.language, utt.emphasis);
    let mut plans = Vec::new();
    let mut words: Vec<String> = Vec::new();
    match utt.language {
        Language::EnUs => {
            let text = english_text(&utt.text);
            // Words come from espeak-ng's own word events (text positions) below.
            plans.push(SegmentPlan {
                job: Some(SegmentJob {
                    voice: EN_VOICE,
                    text,
                    prosody,
                }),
                marks: Vec::new(),
            });
        }
        Language::ZhCn => {
            let mut cur = SegmentPlan::default();
            let mut text = String::new();
            let flush = |cur: &mut SegmentPlan, text: &mut String, plans: &mut Vec<SegmentPlan>| {
                if !cur.marks.is_empty() {
                    cur.job = Some(SegmentJob {
                        voice: ZH_VOICE,
                        text: std::mem::take(text),
                        prosody,
                    });
                    plans.push(std::mem::take(cur));
                }
                text.clear();
                cur.marks.clear();
            };
            for tok in zh::analyze(&utt.text) {
                match tok {
                    ZhToken::Word { text: w, syllables } => {
                        let wi = words.len();
                        words.push(w);
                        // Word stress on the last syllable with a full tone.
                        let stressed = syllables.iter().rposition(|s| zh::pinyin::tone(s) != 5);
                        for (k, s) in syllables.iter().enumerate() {
                            if !text.is_empty() {
                                text.push(' ');
                            }
                            let pos = text.chars().count() as i32 + 1;
                            cur.marks.push((pos, wi, Some(k) == stressed));
                            text.push_str(s);
                        }
                    }
                    ZhToken::Pause { long } => {
                        text.push_str(if long { " ." } else { " ," });
                    }
                    ZhToken::Latin(l) => {
                        flush(&mut cur, &mut text, &mut plans);
                        let wi = words.len();
                        words.push(l.clone());
                        let en = Prosody {
                            rate: prosody.rate * 175 / 200,
                            ..prosody
                        };
                        plans.push(SegmentPlan {
                            job: Some(SegmentJob {
                                voice: EN_VOICE,
                                text: english_text(&spell_acronyms(&l)),
                                prosody: en,
                            }),
                            marks: vec![(1, wi, true)],
                        });
                    }
                }
            }
            flush(&mut cur, &mut text, &mut plans);
        }
    }
    (plans, words)
}

/// All-capital words of up to 5 letters are spelled (`VIP` → `V I P`); others pass through.
pub(crate) fn spell_acronyms(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            let letters = w.chars().all(|c| c.is_ascii_uppercase());
            if letters && (2..=5).contains(&w.len()) && w != "OK" {
                w.chars().map(String::from).collect::<Vec<_>>().join(" ")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text for the English voice: whitespace collapsed; SSML/phoneme markup is off anyway.
fn english_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Synthesizer for DefaultVoice {
    fn synthesize(&mut self, utterance: &Utterance) -> Result<SpeechChunk, VoiceError> {
        let span = tracing::debug_span!(
            "synthesize",
            lang = utterance.language.tag(),
            chars = utterance.text.chars().count()
        );
        let _enter = span.enter();
        let started = Instant::now();
        let (plans, plan_words) = plan(utterance);
        let jobs: Vec<SegmentJob> = plans.iter().filter_map(|p| p.job.clone()).collect();
        let out_rate = crate::media::SAMPLE_RATE;
        if jobs.is_empty() {
            return Ok(SpeechChunk {
                pcm: Vec::new(),
                sample_rate: out_rate,
                phonemes: Vec::new(),
                words: Vec::new(),
            });
        }
        let (reply_tx, reply_rx) = bounded(1);
        self.worker
            .jobs
            .send(Request::Synth(Job {
                segments: jobs,
                reply: reply_tx,
            }))
            .map_err(|_| VoiceError::Synthesis("the espeak-ng worker has stopped".into()))?;
        let outs = reply_rx.recv().map_err(|_| {
            VoiceError::Synthesis("the espeak-ng worker dropped the request".into())
        })??;
        let rate = self.worker.sample_rate;
        let chunk = assemble(utterance, &plans, &plan_words, outs, rate)?;
        let wall = started.elapsed().as_secs_f64();
        tracing::debug!(
            audio_s = chunk.duration_secs(),
            wall_s = wall,
            phonemes = chunk.phonemes.len(),
            "synthesized"
        );
        Ok(chunk)
    }
}

/// Concatenates segments, builds timings, resamples to the output rate.
fn assemble(
    utt: &Utterance,
    plans: &[SegmentPlan],
    plan_words: &[String],
    outs: Vec<SegmentOut>,
    rate: u32,
) -> Result<SpeechChunk, VoiceError> {
    let gap = (SEGMENT_GAP_S * rate as f32) as usize;
    let mut samples: Vec<i16> = Vec::new();
    let mut phonemes: Vec<PhonemeTiming> = Vec::new();
    let mut words: Vec<WordTiming> = Vec::new();
    // Per output word: (start, end) in seconds, extended as syllables arrive.
    let mut word_spans: Vec<Option<(f32, f32)>> = vec![None; plan_words.len()];
    let secs = |s: usize| s as f32 / rate as f32;
    let plans_with_jobs = plans.iter().filter(|p| p.job.is_some());
    for (i, (plan, out)) in plans_with_jobs.zip(outs).enumerate() {
        if i > 0 {
            samples.extend(std::iter::repeat_n(0i16, gap));
        }
        let offset = samples.len();
        let seg_len = out.samples.len();
        samples.extend_from_slice(&out.samples);
        let seg_end = offset + seg_len;
        // Phoneme events in order; stress marks (`'` primary, `,` secondary) are zero-length
        // markers for the next vowel in espeak-ng's phoneme stream.
        let mut evs: Vec<&RawEvent> = out.events.iter().collect();
        evs.sort_by_key(|e| e.at_sample);
        let word_evs: Vec<&RawEvent> = evs
            .iter()
            .copied()
            .filter(|e| e.kind == EventKind::Word)
            .collect();
        let ph_evs: Vec<&RawEvent> = evs
            .iter()
            .copied()
            .filter(|e| e.kind == EventKind::Phoneme)
            .collect();
        let mut pending_stress = false;
        // Cursor into espeak-ng's transcription, to carry its stress marks over to the events.
        let mut tcur = 0usize;
        // Which espeak word (index into word_evs) each phoneme belongs to.
        let word_of = |at: usize| word_evs.iter().rposition(|w| w.at_sample <= at);
        for (k, ev) in ph_evs.iter().enumerate() {
            let name = ev.name.as_str();
            if name == "'" || name == "," {
                pending_stress |= name == "'";
                continue;
            }
            let start = offset + ev.at_sample.min(seg_len);
            let end = ph_evs[k + 1..]
                .iter()
                .map(|n| offset + n.at_sample.min(seg_len))
                .find(|&e| e > start)
                .unwrap_or(seg_end);
            if end <= start {
                continue;
            }
            let viseme = viseme_for(name);
            let vowel = is_vowel(name);
            let mut stressed = false;
            if vowel {
                stressed = match utt.language {
                    Language::EnUs => {
                        // Find this vowel in the transcription (small look-ahead; events and
                        // transcription come from the same text, so they normally agree).
                        let found = out.transcription[tcur.min(out.transcription.len())..]
                            .iter()
                            .take(6)
                            .position(|(n, _)| n == name);
                        match found {
                            Some(d) => {
                                tcur += d + 1;
                                out.transcription[tcur - 1].1 || pending_stress
                            }
                            None => pending_stress,
                        }
                    }
                    Language::ZhCn => word_of(ev.at_sample)
                        .and_then(|wi| mark_for(plan, word_evs[wi]))
                        .is_some_and(|(_, _, s)| *s),
                };
                pending_stress = false;
            }
            if !is_pause(name) {
                // Extend the output word this phoneme belongs to.
                let target = match utt.language {
                    Language::ZhCn => word_of(ev.at_sample)
                        .and_then(|wi| mark_for(plan, word_evs[wi]))
                        .map(|m| m.1),
                    Language::EnUs => None,
                };
                if let Some(t) = target {
                    let span = word_spans[t].get_or_insert((secs(start), secs(end)));
                    span.0 = span.0.min(secs(start));
                    span.1 = span.1.max(secs(end));
                }
            }
            phonemes.push(PhonemeTiming {
                phoneme: name.to_string(),
                viseme,
                start: secs(start),
                end: secs(end),
                stressed,
            });
        }
        if utt.language == Language::EnUs {
            let text: Vec<char> = plan
                .job
                .as_ref()
                .map(|j| j.text.chars().collect())
                .unwrap_or_default();
            for (k, w) in word_evs.iter().enumerate() {
                let from = (w.text_position.max(1) - 1) as usize;
                let to = (from + w.length.max(0) as usize).min(text.len());
                let word: String = text
                    .get(from..to)
                    .map(|c| c.iter().collect())
                    .unwrap_or_default();
                let start = offset + w.at_sample.min(seg_len);
                let next = word_evs
                    .get(k + 1)
                    .map(|n| offset + n.at_sample.min(seg_len))
                    .unwrap_or(seg_end);
                // End at the last non-pause phoneme before the next word.
                let end = phonemes
                    .iter()
                    .filter(|p| {
                        p.viseme != Viseme::Sil
                            && p.start >= secs(start)
                            && p.end <= secs(next) + 1e-4
                    })
                    .map(|p| p.end)
                    .fold(secs(start), f32::max);
                let word = word
                    .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
                    .to_string();
                if !word.is_empty() && end > secs(start) {
                    words.push(WordTiming {
                        text: word,
                        start: secs(start),
                        end,
                    });
                }
            }
        }
    }
    if utt.language == Language::ZhCn {
        for (w, span) in plan_words.iter().zip(&word_spans) {
            if let Some((start, end)) = span {
                words.push(WordTiming {
                    text: w.clone(),
                    start: *start,
                    end: *end,
                });
            }
        }
        words.sort_by(|a, b| a.start.total_cmp(&b.start));
    }
    let pcm_in: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let out_rate = crate::media::SAMPLE_RATE;
    let mut pcm = super::resample::resample(&pcm_in, rate, out_rate)?;
    // espeak-ng can reach full scale on loud settings and resampling can overshoot it:
    // scale the chunk down rather than clip (clipping is audible as crackle).
    let peak = pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak > PEAK_LIMIT {
        let g = PEAK_LIMIT / peak;
        pcm.iter_mut().for_each(|s| *s *= g);
    }
    let dur = pcm.len() as f32 / out_rate as f32;
    for p in &mut phonemes {
        p.start = p.start.min(dur);
        p.end = p.end.min(dur);
    }
    phonemes.retain(|p| p.end > p.start);
    for w in &mut words {
        w.start = w.start.min(dur);
        w.end = w.end.min(dur);
    }
    Ok(SpeechChunk {
        pcm,
        sample_rate: out_rate,
        phonemes,
        words,
    })
}

/// The mark (syllable we placed) a word event of a Mandarin segment refers to: the last mark
/// at or before the event's text position.
fn mark_for<'a>(plan: &'a SegmentPlan, ev: &RawEvent) -> Option<&'a (i32, usize, bool)> {
    plan.marks
        .iter()
        .rev()
        .find(|m| m.0 <= ev.text_position)
        .or_else(|| plan.marks.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(text: &str, language: Language, emphasis: Emphasis) -> SpeechChunk {
        let mut v =
            DefaultVoice::new().expect("espeak-ng with cmn-latn-pinyin and en-us installed");
        v.synthesize(&Utterance {
            text: text.into(),
            language,
            emphasis,
        })
        .expect("synthesis")
    }

    fn rms(x: &[f32]) -> f32 {
        if x.is_empty() {
            return 0.0;
        }
        (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
    }

    /// RMS over the samples inside non-silent phonemes (the speech itself).
    fn speech_rms(c: &SpeechChunk) -> f32 {
        let sr = c.sample_rate as f32;
        let mut acc = Vec::new();
        for p in c.phonemes.iter().filter(|p| p.viseme != Viseme::Sil) {
            let a = (p.start * sr) as usize;
            let b = ((p.end * sr) as usize).min(c.pcm.len());
            acc.extend_from_slice(&c.pcm[a.min(b)..b]);
        }
        rms(&acc)
    }

    fn check_timings(c: &SpeechChunk, what: &str) {
        let dur = c.duration_secs() as f32;
        assert!(!c.phonemes.is_empty(), "{what}: no phonemes");
        let mut last_start = 0.0f32;
        for p in &c.phonemes {
            assert!(
                p.start >= last_start - 1e-6,
                "{what}: phoneme starts go backwards at {p:?}"
            );
            assert!(
                p.end > p.start && p.end <= dur + 1e-3,
                "{what}: phoneme outside chunk {p:?} (dur {dur})"
            );
            last_start = p.start;
        }
        let covered: f32 = c.phonemes.iter().map(|p| p.end - p.start).sum();
        assert!(
            covered / dur > 0.8,
            "{what}: phonemes cover only {covered:.2}s of {dur:.2}s"
        );
        let distinct: std::collections::HashSet<Viseme> =
            c.phonemes.iter().map(|p| p.viseme).collect();
        assert!(distinct.len() >= 5, "{what}: only visemes {distinct:?}");
        let open = [Viseme::Aa, Viseme::E, Viseme::Ih, Viseme::Oh, Viseme::Ou];
        for p in c.phonemes.iter().filter(|p| is_vowel(&p.phoneme)) {
            assert!(
                open.contains(&p.viseme),
                "{what}: vowel {} mapped to {:?}",
                p.phoneme,
                p.viseme
            );
        }
        let vowels = c.phonemes.iter().filter(|p| is_vowel(&p.phoneme)).count();
        assert!(
            vowels >= 4,
            "{what}: only {vowels} vowels among {:?}",
            c.phonemes
        );
        assert!(
            c.phonemes.iter().any(|p| p.stressed),
            "{what}: nothing stressed"
        );
    }

    #[test]
    fn mandarin_sentence_is_audible_48k_with_lip_timings() {
        let text = "今天直播间到手价99.9元，家人们赶紧下单！";
        let c = say(text, Language::ZhCn, Emphasis::Normal);
        assert_eq!(c.sample_rate, 48_000);
        let dur = c.duration_secs();
        // 22 syllables: a live host says 4–7 per second.
        assert!((2.5..7.0).contains(&dur), "duration {dur:.2}s");
        let r = speech_rms(&c);
        assert!(r > 0.03, "speech RMS {r}");
        check_timings(&c, "zh");
        // One word timing per segmented word, in order, with the price read out.
        let texts: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
        assert!(texts.contains(&"今天"), "{texts:?}");
        assert!(texts.iter().any(|w| w.contains('块')), "{texts:?}");
        assert!(
            c.words.windows(2).all(|w| w[0].start <= w[1].start),
            "{texts:?}"
        );
    }

    #[test]
    fn english_sentence_is_audible_48k_with_word_timings() {
        let c = say(
            "Hello everyone, this lipstick is only nine dollars today!",
            Language::EnUs,
            Emphasis::Normal,
        );
        assert_eq!(c.sample_rate, 48_000);
        let dur = c.duration_secs();
        assert!((2.0..6.0).contains(&dur), "duration {dur:.2}s");
        assert!(speech_rms(&c) > 0.03, "speech RMS {}", speech_rms(&c));
        check_timings(&c, "en");
        let texts: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts.first(), Some(&"Hello"), "{texts:?}");
        assert!(texts.contains(&"lipstick"), "{texts:?}");
        assert_eq!(texts.len(), 9, "{texts:?}");
    }

    #[test]
    fn strong_emphasis_is_faster_and_louder() {
        let text = "这款真的太好用了，赶紧下单吧";
        let normal = say(text, Language::ZhCn, Emphasis::Normal);
        let strong = say(text, Language::ZhCn, Emphasis::Strong);
        assert!(
            strong.duration_secs() < normal.duration_secs(),
            "{} vs {}",
            strong.duration_secs(),
            normal.duration_secs()
        );
        assert!(
            speech_rms(&strong) > speech_rms(&normal) * 1.1,
            "{} vs {}",
            speech_rms(&strong),
            speech_rms(&normal)
        );
    }

    #[test]
    fn english_inside_chinese_is_spoken_not_dropped() {
        let plain = say("这款手机专享价", Language::ZhCn, Emphasis::Normal);
        let mixed = say("这款iPhone手机VIP专享价", Language::ZhCn, Emphasis::Normal);
        assert!(
            mixed.duration_secs() > plain.duration_secs() + 0.5,
            "{} vs {}",
            mixed.duration_secs(),
            plain.duration_secs()
        );
        let texts: Vec<&str> = mixed.words.iter().map(|w| w.text.as_str()).collect();
        assert!(
            texts.contains(&"iPhone") && texts.contains(&"VIP"),
            "{texts:?}"
        );
        check_timings(&mixed, "mixed");
    }

    fn ipa(voice: &str, text: &str) -> Vec<IpaClause> {
        let mut out = text_to_ipa(vec![IpaItem {
            voice: voice.into(),
            text: text.into(),
        }])
        .expect("espeak-ng IPA");
        assert_eq!(out.len(), 1);
        out.remove(0)
    }

    #[test]
    fn ipa_comes_clause_by_clause_with_whole_phonemes() {
        let clauses = ipa(EN_VOICE, "Hello everyone, this lipstick is cheap. Really?");
        let texts: Vec<&str> = clauses.iter().map(|c| c.text.trim()).collect();
        assert_eq!(
            texts,
            vec!["Hello everyone,", "this lipstick is cheap.", "Really?"]
        );
        let hello = &clauses[0].words[0];
        assert_eq!(hello.concat(), "həlˈoʊ", "{hello:?}");
        assert!(hello.contains(&"ˈoʊ".to_string()), "{hello:?}");
        assert_eq!(clauses[1].words.len(), 4, "{:?}", clauses[1].words);
        // Synthesis on the same worker still works after an IPA request.
        let c = say("Hello", Language::EnUs, Emphasis::Normal);
        assert!(c.duration_secs() > 0.2);
    }

    #[test]
    fn mandarin_ipa_from_pinyin_keeps_tones_and_drops_language_flags() {
        let clauses = ipa(ZH_VOICE, "ni2hao3 , jin1tian1 zhi2bo1jian1 .");
        assert_eq!(clauses.len(), 2, "{clauses:?}");
        assert!(clauses[0].text.trim_end().ends_with(','));
        assert_eq!(clauses[0].words.len(), 1, "{clauses:?}");
        assert_eq!(clauses[1].words.len(), 2, "{clauses:?}");
        let all: String = clauses.iter().flat_map(|c| c.words.concat()).collect();
        assert!(all.contains("tɕ") && all.contains('5'), "{all}");
        assert!(!all.contains('(') && !all.contains(IPA_SEPARATOR), "{all}");
        assert_eq!(strip_language_flags("(en)nɪ5(cmn) ab"), "nɪ5 ab");
    }

    #[test]
    fn handles_are_shared_across_threads_and_empty_text_is_silent() {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                std::thread::spawn(move || {
                    say(&format!("第{i}号链接"), Language::ZhCn, Emphasis::Normal).duration_secs()
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().expect("thread") > 0.3);
        }
        let empty = say("  ，。 ", Language::ZhCn, Emphasis::Normal);
        assert!(empty.pcm.is_empty() && empty.phonemes.is_empty());
    }
}
