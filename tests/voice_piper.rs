//! The Piper engine end to end on tiny models made by scripts/make_tiny_piper.py at test time
//! (Piper's exact ONNX signature; a duration logic the tests can recompute: see the script).
//!
//! Needs Python with `onnx` and `numpy` (~/.cache/anchor/venv, made by scripts/setup.sh, or
//! ANCHOR_PYTHON), ONNX Runtime in models/onnxruntime and espeak-ng (scripts/setup.sh).
//!
//! The benchmark is ignored by default:
//!   cargo test --release --no-default-features --test voice_piper -- --ignored --nocapture

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anchor::voice::piper::{PhonemizedSentence, PiperVoice, SENTENCE_SILENCE_S, TimingSource};
use anchor::voice::voicefile::{Engine, VoiceFile};
use anchor::voice::{
    DefaultVoice, Emphasis, Language, SpeechChunk, Synthesizer, Utterance, Viseme,
};

// ---- the tiny model's arithmetic (mirrors scripts/make_tiny_piper.py) ----------------------

const MODEL_RATE: u32 = 22_050;
const HOP: usize = 256;

/// Frames the tiny model gives one id before length_scale.
fn base_frames(id: i64) -> f32 {
    match id {
        0 => 1.0,
        1..=3 => 2.0,
        4..=13 => 6.0, // punctuation
        i => 2.0 + (i % 3) as f32,
    }
}

fn frames(id: i64, length_scale: f32) -> usize {
    (base_frames(id) * length_scale).ceil() as usize
}

/// Samples the tiny model outputs for these ids.
fn model_samples(ids: &[i64], length_scale: f32) -> usize {
    ids.iter().map(|&i| frames(i, length_scale)).sum::<usize>() * HOP
}

/// The same length after resampling to 48 kHz.
fn out_samples(model: usize) -> usize {
    (model as f64 * 48_000.0 / f64::from(MODEL_RATE)).round() as usize
}

/// True start/end (seconds) of each written word: its phonemes' ids in the model's timeline.
fn true_word_times(p: &PhonemizedSentence, length_scale: f32) -> Vec<(String, f32, f32)> {
    let mut cum = vec![0usize];
    for &i in &p.ids {
        cum.push(cum.last().copied().unwrap_or(0) + frames(i, length_scale) * HOP);
    }
    let secs = |s: usize| s as f32 / MODEL_RATE as f32;
    p.words
        .iter()
        .filter_map(|w| {
            let spans: Vec<_> = w
                .phones
                .clone()
                .filter(|&k| p.phones[k].kind == anchor::voice::piper::PhoneKind::Phoneme)
                .map(|k| p.id_spans[k].clone())
                .filter(|r| !r.is_empty())
                .collect();
            let first = spans.first()?.start;
            // The last phoneme's own id, without the silent pad after it.
            let last = spans.last()?.end - 1;
            Some((w.text.clone(), secs(cum[first]), secs(cum[last])))
        })
        .collect()
}

// ---- making the models ---------------------------------------------------------------------

/// Where the tests write their models: cargo's scratch folder for integration tests, one
/// folder per test (overwritten by the next run, so nothing piles up).
fn scratch() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("voice_piper")
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("ANCHOR_PYTHON") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/anchor/venv/bin/python")
}

/// Runs the generator with `python`; the error says what to do.
fn make_tiny(python: &Path, name: &str, args: &[&str]) -> Result<PathBuf, String> {
    let fix = "run scripts/setup.sh (it creates ~/.cache/anchor/venv with onnx and numpy) or point ANCHOR_PYTHON at a Python that has them";
    if !python.is_file() {
        return Err(format!("no Python at {}: {fix}", python.display()));
    }
    let dir = scratch().join(name);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_tiny_piper.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(&dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}; {fix}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "make_tiny_piper.py failed ({}): {}\n{fix}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(dir)
}

fn tiny(name: &str, args: &[&str]) -> PathBuf {
    make_tiny(&python(), name, args).unwrap_or_else(|e| panic!("{e}"))
}

fn load(dir: &Path, speaker: Option<i64>) -> PiperVoice {
    PiperVoice::load(&dir.join("model.onnx"), None, speaker)
        .unwrap_or_else(|e| panic!("loading the tiny model: {e}"))
}

fn utt(text: &str, language: Language) -> Utterance {
    Utterance {
        text: text.into(),
        language,
        emphasis: Emphasis::Normal,
    }
}

// ---- checks ----------------------------------------------------------------------------------

const OPEN: [Viseme; 5] = [Viseme::Aa, Viseme::E, Viseme::Ih, Viseme::Oh, Viseme::Ou];

fn check_timings(c: &SpeechChunk, what: &str) {
    let dur = c.duration_secs() as f32;
    assert!(!c.phonemes.is_empty(), "{what}: no phonemes");
    let mut last = 0.0f32;
    for p in &c.phonemes {
        assert!(
            p.start >= last - 1e-6,
            "{what}: starts go backwards at {p:?}"
        );
        assert!(
            p.start >= 0.0 && p.end > p.start && p.end <= dur + 1e-4,
            "{what}: phoneme outside the audio ({dur}s): {p:?}"
        );
        last = p.start;
    }
    let mut last = 0.0f32;
    for w in &c.words {
        assert!(
            w.start >= last - 1e-6,
            "{what}: words go backwards at {w:?}"
        );
        assert!(
            w.end > w.start && w.end <= dur + 1e-4,
            "{what}: word outside: {w:?}"
        );
        last = w.start;
    }
    for p in c
        .phonemes
        .iter()
        .filter(|p| anchor::voice::piper::ipa_is_vowel(&p.phoneme))
    {
        assert!(
            OPEN.contains(&p.viseme),
            "{what}: vowel {} → {:?}",
            p.phoneme,
            p.viseme
        );
    }
    let distinct: std::collections::HashSet<Viseme> = c.phonemes.iter().map(|p| p.viseme).collect();
    assert!(distinct.len() >= 6, "{what}: only visemes {distinct:?}");
    assert!(
        c.phonemes.iter().any(|p| p.stressed),
        "{what}: nothing stressed"
    );
}

fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|s| s * s).sum::<f32>() / x.len() as f32).sqrt()
}

/// Mean absolute difference of word starts and ends between the engine's word timings and the
/// model's true word times.
fn word_time_error(c: &SpeechChunk, truth: &[(String, f32, f32)]) -> f32 {
    assert_eq!(c.words.len(), truth.len(), "{:?} vs {truth:?}", c.words);
    let mut err = 0.0;
    for (w, (text, s, e)) in c.words.iter().zip(truth) {
        assert_eq!(&w.text, text);
        err += (w.start - s).abs() + (w.end - e).abs();
    }
    err / (2.0 * truth.len() as f32)
}

// ---- tests -----------------------------------------------------------------------------------

#[test]
fn english_round_trip_follows_the_models_duration_logic() {
    let dir = tiny("en", &[]);
    let mut v = load(&dir, None);
    assert_eq!(v.timing_source(), TimingSource::Derived);
    let u = utt(
        "Hello everyone, this lipstick is only nine dollars today!",
        Language::EnUs,
    );
    let ps = v.phonemize(&u).expect("phonemize");
    assert_eq!(ps.len(), 1);
    let p = &ps[0];
    assert!(p.missing.is_empty(), "missing {:?}", p.missing);
    // Piper's layout: ^ _ (symbol _)* $.
    assert_eq!(&p.ids[..2], &[1, 0]);
    assert_eq!(p.ids.last(), Some(&2));
    assert!(
        p.ids[..p.ids.len() - 1]
            .iter()
            .skip(1)
            .step_by(2)
            .all(|&i| i == 0),
        "pads: {:?}",
        p.ids
    );
    let ipa: String = p.phones.iter().map(|x| x.symbol.as_str()).collect();
    assert!(ipa.starts_with("həlˈoʊ ˈɛvɹɪwˌʌn, ðɪs lˈɪpstɪk"), "{ipa}");
    assert!(ipa.ends_with("tədˈeɪ!"), "{ipa}");

    let c = v.synthesize(&u).expect("synthesize");
    assert_eq!(c.sample_rate, 48_000);
    let model_len = model_samples(&p.ids, v.scales_for(Emphasis::Normal)[1]);
    assert_eq!(c.pcm.len(), out_samples(model_len), "48 kHz length");
    assert!(rms(&c.pcm) > 0.1, "audible: rms {}", rms(&c.pcm));
    check_timings(&c, "en");
    assert!(
        c.phonemes.iter().any(|p| p.viseme == Viseme::PP),
        "lipstick has a p"
    );
    assert!(
        c.phonemes
            .iter()
            .any(|p| p.phoneme == "," && p.viseme == Viseme::Sil)
    );
    let texts: Vec<&str> = c.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Hello", "everyone", "this", "lipstick", "is", "only", "nine", "dollars", "today"
        ]
    );
    // Derived timings land near the truth (the model's own boundaries).
    let err = word_time_error(&c, &true_word_times(p, v.scales_for(Emphasis::Normal)[1]));
    println!("derived word timing error (en): {:.1} ms", err * 1000.0);
    assert!(
        err < 0.045,
        "word times off by {:.0} ms on average",
        err * 1000.0
    );
}

#[test]
fn chinese_goes_through_our_mandarin_front_end() {
    let dir = tiny("cmn", &["--espeak-voice", "cmn"]);
    let mut v = load(&dir, None);
    assert_eq!(v.language(), Some(Language::ZhCn));
    let u = utt("今天直播间到手价99.9元，家人们赶紧下单！", Language::ZhCn);
    let ps = v.phonemize(&u).expect("phonemize");
    assert_eq!(ps.len(), 1);
    let p = &ps[0];
    assert!(p.missing.is_empty(), "missing {:?}", p.missing);
    let ipa: String = p.phones.iter().map(|x| x.symbol.as_str()).collect();
    // jin1 → tɕ…5n, tones as espeak-ng writes them, the comma and the closing `!` kept.
    assert!(ipa.starts_with("tɕi5nthˈiɛ5n"), "{ipa}");
    assert!(ipa.contains(", ") && ipa.ends_with('!'), "{ipa}");
    let front_end_words: Vec<String> = anchor::voice::zh::analyze(&u.text)
        .into_iter()
        .filter_map(|t| match t {
            anchor::voice::zh::ZhToken::Word { text, .. } => Some(text),
            _ => None,
        })
        .collect();

    let c = v.synthesize(&u).expect("synthesize");
    let model_len = model_samples(&p.ids, v.scales_for(Emphasis::Normal)[1]);
    assert_eq!(c.pcm.len(), out_samples(model_len));
    check_timings(&c, "zh");
    let texts: Vec<String> = c.words.iter().map(|w| w.text.clone()).collect();
    assert_eq!(texts, front_end_words, "one timing per front-end word");
    assert!(texts.iter().any(|w| w == "今天"), "{texts:?}");
    let err = word_time_error(&c, &true_word_times(p, v.scales_for(Emphasis::Normal)[1]));
    println!("derived word timing error (zh): {:.1} ms", err * 1000.0);
    assert!(
        err < 0.045,
        "word times off by {:.0} ms on average",
        err * 1000.0
    );

    // Latin inside Chinese is read in English and keeps its words.
    let mixed = v
        .synthesize(&utt("这款iPhone手机VIP专享", Language::ZhCn))
        .expect("mixed");
    let texts: Vec<&str> = mixed.words.iter().map(|w| w.text.as_str()).collect();
    assert!(
        texts.contains(&"iPhone") && texts.contains(&"VIP"),
        "{texts:?}"
    );
    check_timings(&mixed, "mixed");
}

#[test]
fn model_durations_give_exact_boundaries() {
    let dir = tiny("durations", &["--durations"]);
    let mut v = load(&dir, None);
    assert_eq!(v.timing_source(), TimingSource::ModelDurations);
    let u = utt(
        "This lipstick is only nine dollars, buy it today!",
        Language::EnUs,
    );
    let p = v.phonemize(&u).expect("phonemize").remove(0);
    let c = v.synthesize(&u).expect("synthesize");
    let ls = v.scales_for(Emphasis::Normal)[1];
    assert_eq!(c.pcm.len(), out_samples(model_samples(&p.ids, ls)));
    check_timings(&c, "durations");
    let err = word_time_error(&c, &true_word_times(&p, ls));
    // Word ends include the phoneme's pad in the model's alignment: one pad frame at most.
    assert!(
        err < HOP as f32 / MODEL_RATE as f32,
        "exact timings off by {:.1} ms",
        err * 1000.0
    );
    // Phonemes tile the model's timeline: each starts where its ids start.
    let mut cum = vec![0usize];
    for &i in &p.ids {
        cum.push(cum.last().copied().unwrap_or(0) + frames(i, ls) * HOP);
    }
    let starts: Vec<f32> = p
        .id_spans
        .iter()
        .zip(&p.phones)
        .filter(|(r, ph)| !r.is_empty() && ph.kind != anchor::voice::piper::PhoneKind::WordBreak)
        .map(|(r, _)| cum[r.start] as f32 / MODEL_RATE as f32)
        .collect();
    let got: Vec<f32> = c.phonemes.iter().map(|p| p.start).collect();
    assert_eq!(got.len(), starts.len());
    for (g, s) in got.iter().zip(&starts) {
        assert!((g - s).abs() < 1e-4, "{g} vs {s}");
    }
}

#[test]
fn streaming_hands_over_each_sentence_before_phonemizing_the_next() {
    let dir = tiny("stream", &[]);
    let mut v = load(&dir, None);
    let u = utt(
        "Hello everyone! This lipstick is only nine dollars. Buy it now, before it is gone?",
        Language::EnUs,
    );
    let sentences = v.phonemize(&u).expect("phonemize");
    assert_eq!(sentences.len(), 3);
    let counters = v.counters();
    let before = counters.sentences_phonemized.load(Ordering::SeqCst);
    let mut seen: Vec<(usize, usize, usize)> = Vec::new();
    v.synthesize_stream(&u, &mut |chunk| {
        seen.push((
            counters.sentences_phonemized.load(Ordering::SeqCst) - before,
            counters.sentences_synthesized.load(Ordering::SeqCst),
            chunk.pcm.len(),
        ));
    })
    .expect("stream");
    let ls = v.scales_for(Emphasis::Normal)[1];
    let expected: Vec<usize> = sentences
        .iter()
        .map(|s| out_samples(model_samples(&s.ids, ls)))
        .collect();
    // Sentence k arrives when k sentences have been phonemized: the first before the second
    // and third are, and in order (lengths identify the sentences).
    let phonemized: Vec<usize> = seen.iter().map(|s| s.0).collect();
    assert_eq!(phonemized, vec![1, 2, 3]);
    let lengths: Vec<usize> = seen.iter().map(|s| s.2).collect();
    assert_eq!(lengths, expected);

    // synthesize() is the same sentences with Piper's sentence silence between them.
    let whole = v.synthesize(&u).expect("whole");
    let gap = (SENTENCE_SILENCE_S * 48_000.0) as usize;
    assert_eq!(whole.pcm.len(), expected.iter().sum::<usize>() + 2 * gap);
    check_timings(&whole, "joined");
    let second = whole.words.iter().find(|w| w.text == "This").expect("This");
    let first_end = expected[0] as f32 / 48_000.0;
    assert!(
        second.start > first_end + SENTENCE_SILENCE_S - 1e-3,
        "{second:?}"
    );
}

#[test]
fn speaker_id_reaches_multi_speaker_models() {
    let dir = tiny("speakers", &["--speakers", "3"]);
    let u = utt("Hello everyone, nine dollars today.", Language::EnUs);
    // Upward zero crossings of the voiced audio: the tiny model shifts every frequency by
    // 25 % per speaker id.
    let crossings = |c: &SpeechChunk| {
        c.pcm
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0 && w[0].abs().max(w[1].abs()) > 0.01)
            .count() as f32
    };
    let c0 = load(&dir, Some(0)).synthesize(&u).expect("speaker 0");
    let c1 = load(&dir, Some(1)).synthesize(&u).expect("speaker 1");
    let c2 = load(&dir, Some(2)).synthesize(&u).expect("speaker 2");
    let default = load(&dir, None).synthesize(&u).expect("default speaker");
    assert_eq!(c0.pcm.len(), c2.pcm.len());
    // 1.25 and 1.5 in theory; short phonemes lose a crossing at their edges.
    let r1 = crossings(&c1) / crossings(&c0);
    let r2 = crossings(&c2) / crossings(&c0);
    assert!(
        (1.15..1.3).contains(&r1),
        "speaker 1 / speaker 0 pitch ratio {r1}"
    );
    assert!(
        (1.3..1.6).contains(&r2),
        "speaker 2 / speaker 0 pitch ratio {r2}"
    );
    assert_eq!(default.pcm, c0.pcm, "no speaker = speaker 0, as Piper");

    let e = PiperVoice::load(&dir.join("model.onnx"), None, Some(3)).expect_err("speaker 3");
    assert!(e.to_string().contains("3 speakers (0 to 2)"), "{e}");
    let single = tiny("single", &[]);
    let e = PiperVoice::load(&single.join("model.onnx"), None, Some(1)).expect_err("one speaker");
    assert!(e.to_string().contains("remove `speaker`"), "{e}");
}

#[test]
fn length_scale_from_the_config_and_strong_emphasis_reach_the_model() {
    let dir = tiny("slow", &[]);
    let json = dir.join("model.onnx.json");
    let text = std::fs::read_to_string(&json).expect("json");
    let mut cfg: serde_json::Value = serde_json::from_str(&text).expect("parse");
    cfg["inference"]["length_scale"] = serde_json::json!(1.7);
    std::fs::write(&json, cfg.to_string()).expect("write");
    let mut v = load(&dir, None);
    assert!((v.scales_for(Emphasis::Normal)[1] - 1.7).abs() < 1e-6);
    let mut u = utt("Buy it now, it is only nine dollars!", Language::EnUs);
    let p = v.phonemize(&u).expect("phonemize").remove(0);
    let normal = v.synthesize(&u).expect("normal");
    u.emphasis = Emphasis::Strong;
    let strong = v.synthesize(&u).expect("strong");
    assert_eq!(normal.pcm.len(), out_samples(model_samples(&p.ids, 1.7)));
    assert_eq!(
        strong.pcm.len(),
        out_samples(model_samples(&p.ids, v.scales_for(Emphasis::Strong)[1]))
    );
    assert!(strong.pcm.len() < normal.pcm.len());
    let peak = |c: &SpeechChunk| c.pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak(&strong) > peak(&normal), "strong is louder");
}

#[test]
fn broken_voice_folders_say_what_to_do() {
    let dir = tiny("broken", &[]);
    let model = dir.join("model.onnx");
    let json = dir.join("model.onnx.json");

    let e = PiperVoice::load(&dir.join("nope.onnx"), None, None).expect_err("no model");
    let m = e.to_string();
    assert!(m.contains("not found") && m.contains("voice.yaml"), "{m}");

    let e = PiperVoice::load(&model, Some(&dir.join("other.json")), None).expect_err("no json");
    let m = e.to_string();
    assert!(
        m.contains("other.json") && m.contains(".onnx.json exported with"),
        "{m}"
    );

    let good = std::fs::read_to_string(&json).expect("json");
    std::fs::write(&json, &good[..good.len() / 2]).expect("truncate");
    let e = PiperVoice::load(&model, None, None).expect_err("malformed json");
    let m = e.to_string();
    assert!(
        m.contains("not a valid Piper voice config") && m.contains("line"),
        "{m}"
    );

    let mut cfg: serde_json::Value = serde_json::from_str(&good).expect("parse");
    cfg.as_object_mut()
        .expect("object")
        .remove("phoneme_id_map");
    std::fs::write(&json, cfg.to_string()).expect("write");
    let e = PiperVoice::load(&model, None, None).expect_err("no id map");
    assert!(e.to_string().contains("phoneme_id_map"), "{e}");

    let mut cfg: serde_json::Value = serde_json::from_str(&good).expect("parse");
    cfg["phoneme_type"] = serde_json::json!("pinyin");
    std::fs::write(&json, cfg.to_string()).expect("write");
    let e = PiperVoice::load(&model, None, None).expect_err("pinyin");
    assert!(e.to_string().contains("espeak-ng only"), "{e}");
    std::fs::write(&json, &good).expect("restore");

    let bad = tiny("bad-signature", &["--bad-signature"]);
    let e = PiperVoice::load(&bad.join("model.onnx"), None, None).expect_err("wrong inputs");
    let m = e.to_string();
    assert!(
        m.contains("not a Piper/VITS voice model") && m.contains("`text`") && m.contains("export"),
        "{m}"
    );

    std::fs::write(dir.join("garbage.onnx"), b"not a model").expect("write");
    std::fs::write(dir.join("garbage.onnx.json"), &good).expect("write");
    let e = PiperVoice::load(&dir.join("garbage.onnx"), None, None).expect_err("garbage");
    assert!(e.to_string().contains("ONNX Runtime cannot open"), "{e}");

    // A multi-speaker config on a single-speaker model.
    let mut cfg: serde_json::Value = serde_json::from_str(&good).expect("parse");
    cfg["num_speakers"] = serde_json::json!(4);
    std::fs::write(&json, cfg.to_string()).expect("write");
    let e = PiperVoice::load(&model, None, Some(1)).expect_err("no sid");
    assert!(e.to_string().contains("no `sid` input"), "{e}");
    std::fs::write(&json, &good).expect("restore");
}

#[test]
fn a_voice_folder_naming_a_piper_model_speaks_with_it() {
    let made = tiny("folder-src", &[]);
    let voices = scratch().join("voices");
    let dir = voices.join("lin");
    std::fs::create_dir_all(&dir).expect("voice dir");
    std::fs::copy(made.join("model.onnx"), dir.join("lin.onnx")).expect("copy");
    std::fs::copy(made.join("model.onnx.json"), dir.join("lin.onnx.json")).expect("copy");
    let mut file = VoiceFile::new("lin");
    file.engine = Engine::Piper {
        model: "lin.onnx".into(),
        config: None,
        speaker: None,
    };
    file.save(&dir).expect("save");
    let (back, at) = VoiceFile::load(&voices, "lin").expect("load voice.yaml");
    let mut v = PiperVoice::from_engine(&at, &back.engine)
        .expect("load")
        .expect("a Piper engine");
    let c = v
        .synthesize(&utt("家人们好！", Language::ZhCn))
        .expect("speak");
    assert!(c.duration_secs() > 0.3);
    assert!(
        PiperVoice::from_engine(&at, &Engine::Builtin)
            .expect("builtin")
            .is_none()
    );
}

#[test]
fn without_python_the_generator_says_to_run_setup() {
    let e = make_tiny(Path::new("/nonexistent/python3"), "nopython", &[]).expect_err("no python");
    assert!(e.contains("scripts/setup.sh"), "{e}");
}

// ---- benchmark -------------------------------------------------------------------------------

/// Six sentences, then two three-sentence replies (where streaming shows: first audio after
/// one sentence; the default voice has no stream, its first audio is its whole reply).
const BENCH_SENTENCES: [(&str, Language); 8] = [
    ("家人们晚上好，欢迎来到直播间！", Language::ZhCn),
    ("今天这款面霜到手价只要九十九块九。", Language::ZhCn),
    ("库存不多了，喜欢的赶紧下单！", Language::ZhCn),
    ("Hello everyone, welcome to the live room!", Language::EnUs),
    (
        "This lipstick is only nine dollars ninety nine today.",
        Language::EnUs,
    ),
    ("Stock is limited, so grab yours now!", Language::EnUs),
    (
        "家人们晚上好，欢迎来到直播间！今天这款面霜到手价只要九十九块九。库存不多了，喜欢的赶紧下单！",
        Language::ZhCn,
    ),
    (
        "Hello everyone, welcome to the live room! This lipstick is only nine dollars ninety nine today. Stock is limited, so grab yours now!",
        Language::EnUs,
    ),
];
/// Rows of [`BENCH_SENTENCES`] that are single sentences.
const SINGLE: usize = 6;

/// (first-audio latency s, wall s, audio s) for one sentence.
fn time_piper(v: &mut PiperVoice, text: &str, lang: Language) -> (f64, f64, f64) {
    let t0 = Instant::now();
    let mut first = None;
    let mut audio = 0.0;
    v.synthesize_stream(&utt(text, lang), &mut |c| {
        first.get_or_insert(t0.elapsed().as_secs_f64());
        audio += c.duration_secs();
    })
    .expect("piper");
    (first.unwrap_or(0.0), t0.elapsed().as_secs_f64(), audio)
}

fn time_default(v: &mut DefaultVoice, text: &str, lang: Language) -> (f64, f64, f64) {
    let t0 = Instant::now();
    let c = v.synthesize(&utt(text, lang)).expect("default voice");
    let wall = t0.elapsed().as_secs_f64();
    (wall, wall, c.duration_secs())
}

fn report(name: &str, rows: &[(&str, (f64, f64, f64))]) {
    println!("\n{name}");
    println!(
        "{:>3} {:>9} {:>9} {:>9} {:>7}  text",
        "#", "first ms", "wall ms", "audio s", "RTF"
    );
    let (mut wall, mut audio) = (0.0, 0.0);
    for (k, (text, (first, w, a))) in rows.iter().enumerate() {
        let short: String = text.chars().take(24).collect();
        println!(
            "{:>3} {:>9.1} {:>9.1} {:>9.2} {:>7.3}  {short}{}",
            k + 1,
            first * 1000.0,
            w * 1000.0,
            a,
            w / a,
            if text.chars().count() > 24 { "…" } else { "" }
        );
        if k < SINGLE {
            wall += w;
            audio += a;
        }
    }
    println!(
        "sentences 1-{SINGLE}: audio {audio:.2} s, wall {wall:.3} s, RTF {:.3}",
        wall / audio
    );
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture (release build)"]
fn bench_piper_and_default_voice_per_sentence() {
    let tiny_dir = tiny("bench-tiny", &["--espeak-voice", "cmn"]);
    let medium_dir = tiny(
        "bench-medium",
        &["--heavy", "medium", "--espeak-voice", "cmn"],
    );
    let high_dir = tiny("bench-high", &["--heavy", "high", "--espeak-voice", "cmn"]);
    let mut default = DefaultVoice::new().expect("espeak-ng");
    let mut tiny_v = load(&tiny_dir, None);
    let mut medium_v = load(&medium_dir, None);
    let mut high_v = load(&high_dir, None);
    // Warm up every engine (first-call allocations, jieba, espeak-ng voices).
    for (t, l) in BENCH_SENTENCES
        .iter()
        .take(1)
        .chain(BENCH_SENTENCES.iter().skip(3).take(1))
    {
        time_default(&mut default, t, *l);
        time_piper(&mut tiny_v, t, *l);
        time_piper(&mut medium_v, t, *l);
        time_piper(&mut high_v, t, *l);
    }
    let run = |f: &mut dyn FnMut(&str, Language) -> (f64, f64, f64)| {
        BENCH_SENTENCES
            .iter()
            .map(|(t, l)| {
                // Median of 3 by wall time.
                let mut r: Vec<(f64, f64, f64)> = (0..3).map(|_| f(t, *l)).collect();
                r.sort_by(|a, b| a.1.total_cmp(&b.1));
                (*t, r[1])
            })
            .collect::<Vec<_>>()
    };
    let d = run(&mut |t, l| time_default(&mut default, t, l));
    let p_tiny = run(&mut |t, l| time_piper(&mut tiny_v, t, l));
    let p_medium = run(&mut |t, l| time_piper(&mut medium_v, t, l));
    let p_high = run(&mut |t, l| time_piper(&mut high_v, t, l));
    println!(
        "threads available: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    report("DefaultVoice (espeak-ng)", &d);
    report(
        "PiperVoice, tiny model (engine overhead: phonemize, infer, resample, timings)",
        &p_tiny,
    );
    report(
        "PiperVoice, stand-in with Piper medium's flow + decoder compute (random weights)",
        &p_medium,
    );
    report(
        "PiperVoice, stand-in with Piper high's flow + decoder compute (random weights)",
        &p_high,
    );
}
