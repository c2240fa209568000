//! The GE2E speaker encoder (`anchor::voice::speaker`) against Resemblyzer 0.1.4.
//!
//! Fixture: tests/fixtures/ge2e/speech_16k.wav (5 s of espeak-ng speech with a pause, 16 kHz)
//! and reference.json, computed from it by scripts/ge2e_reference.py with Resemblyzer's own
//! code (librosa, webrtcvad; numpy in place of torch). Needs models/resemblyzer/pretrained.pt
//! (scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use anchor::voice::speaker::{
    self, SpeakerEncoder, SpeakerError, cosine, mel_spectrogram, partial_slices, preprocess,
};
use anchor::voice::{DefaultVoice, Emphasis, Language, Synthesizer, Utterance};
use serde_json::Value;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// The fixture as Resemblyzer reads it: int16 / 32768 in float32.
fn fixture() -> &'static [f32] {
    static WAV: OnceLock<Vec<f32>> = OnceLock::new();
    WAV.get_or_init(|| {
        let mut r = hound::WavReader::open(repo("tests/fixtures/ge2e/speech_16k.wav"))
            .expect("fixture wav");
        let spec = r.spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (16_000, 1, 16)
        );
        r.samples::<i16>()
            .map(|s| f32::from(s.expect("sample")) / 32768.0)
            .collect()
    })
}

fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| {
        let text = std::fs::read_to_string(repo("tests/fixtures/ge2e/reference.json"))
            .expect("reference.json");
        serde_json::from_str(&text).expect("reference json")
    })
}

fn encoder() -> &'static SpeakerEncoder {
    static ENC: OnceLock<SpeakerEncoder> = OnceLock::new();
    ENC.get_or_init(|| SpeakerEncoder::load_default().expect("weights (run scripts/setup.sh)"))
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().expect("integer") as usize
}

fn flags(v: &Value) -> Vec<bool> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64() == Some(1))
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn slices(v: &Value) -> Vec<std::ops::Range<usize>> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| usize_of(&s[0])..usize_of(&s[1]))
        .collect()
}

/// The fixture scaled by 0.25 (exact in float32), as the reference's "quiet" case.
fn quiet() -> Vec<f32> {
    fixture().iter().map(|s| s * 0.25).collect()
}

#[test]
fn embedding_matches_resemblyzer_within_1e_4() {
    let r = &reference()["utterance"];
    let embedding = encoder().embed_utterance(fixture(), 16_000).expect("embed");
    assert_eq!(embedding.len(), speaker::EMBEDDING_SIZE);
    let diff = max_abs_diff(&embedding, &floats(&r["embedding"]));
    eprintln!("utterance embedding: max abs diff {diff:.2e}");
    assert!(diff <= 1e-4, "max abs diff {diff}");
    let norm: f32 = embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
}

#[test]
fn preprocessing_matches_resemblyzer() {
    let r = &reference()["utterance"];
    let pre = preprocess(fixture(), 16_000).expect("preprocess");
    assert_eq!(pre.resampled_len, usize_of(&r["resampled_len"]));
    // The clip is above −30 dBFS: normalize_volume leaves it alone.
    assert_eq!(pre.gain, 1.0);
    // The WebRTC VAD port decides exactly as py-webrtcvad, window by window.
    assert_eq!(pre.vad_flags, flags(&r["vad_flags"]));
    assert_eq!(pre.wav.len(), usize_of(&r["trimmed_len"]));
    // Same samples kept: the first and last 64 are bit-identical.
    let head = floats(&r["trimmed_head"]);
    let tail = floats(&r["trimmed_tail"]);
    assert_eq!(&pre.wav[..64], head.as_slice());
    assert_eq!(&pre.wav[pre.wav.len() - 64..], tail.as_slice());
    // 1.25 s of the 5 s clip were silence beyond the allowed 180 ms gaps.
    assert!(pre.wav.len() < fixture().len() * 4 / 5);
}

#[test]
fn mel_spectrogram_matches_librosa() {
    let r = &reference()["utterance"];
    let pre = preprocess(fixture(), 16_000).expect("preprocess");
    let expected: Vec<Vec<f32>> = r["mel"]
        .as_array()
        .expect("mel")
        .iter()
        .map(floats)
        .collect();
    // Resemblyzer pads the wav with zeros to the end of the last partial first.
    let mut wav = pre.wav.clone();
    wav.resize(
        partial_slices(wav.len()).last().expect("a slice").end * 160,
        0.0,
    );
    let mel = mel_spectrogram(&wav);
    assert_eq!(mel.len(), usize_of(&r["mel_frames"]));
    assert_eq!(mel.len(), expected.len());
    // Each value within 1e-5 relative of librosa's, plus 1e-6 of its frame's peak for the
    // near-zero bands (librosa sums the float32 product in float32, we in float64).
    let mut worst = 0f32;
    for (t, (got, want)) in mel.iter().zip(&expected).enumerate() {
        let peak = want.iter().fold(0f32, |m, v| m.max(*v));
        for (m, (g, w)) in got.iter().zip(want).enumerate() {
            let err = (g - w).abs() / (1e-5 * w.abs() + 1e-6 * peak + f32::MIN_POSITIVE);
            worst = worst.max(err);
            assert!(err <= 1.0, "frame {t} band {m}: {g} vs {w}");
        }
    }
    eprintln!("mel: worst error {worst:.3} of tolerance");
}

#[test]
fn partial_slices_and_partial_embeddings_match_resemblyzer() {
    let r = &reference()["utterance"];
    let expected = slices(&r["partial_slices"]);
    assert_eq!(partial_slices(usize_of(&r["trimmed_len"])), expected);
    let pre = preprocess(fixture(), 16_000).expect("preprocess");
    let out = encoder().embed_preprocessed(&pre.wav).expect("embed");
    assert_eq!(out.slices, expected);
    assert_eq!(out.slices.len(), 4);
    let want = r["partial_embeddings"].as_array().expect("partials");
    assert_eq!(out.partials.len(), want.len());
    for (got, want) in out.partials.iter().zip(want) {
        let diff = max_abs_diff(got, &floats(want));
        eprintln!("partial embedding: max abs diff {diff:.2e}");
        assert!(diff <= 1e-4, "partial max abs diff {diff}");
    }
    let diff = max_abs_diff(&out.embedding, &floats(&r["embedding"]));
    assert!(diff <= 1e-4, "max abs diff {diff}");
}

#[test]
fn a_quiet_clip_is_raised_to_minus_30_dbfs_like_resemblyzer() {
    let r = &reference()["quiet"];
    let wav = quiet();
    let pre = preprocess(&wav, 16_000).expect("preprocess");
    let want_gain = r["gain"].as_f64().expect("gain") as f32;
    assert!(pre.gain > 1.5, "gain {}", pre.gain);
    assert!(
        (pre.gain / want_gain - 1.0).abs() < 1e-6,
        "gain {} vs {want_gain}",
        pre.gain
    );
    assert_eq!(pre.vad_flags, flags(&r["vad_flags"]));
    assert_eq!(pre.wav.len(), usize_of(&r["trimmed_len"]));
    let embedding = encoder().embed_utterance(&wav, 16_000).expect("embed");
    let diff = max_abs_diff(&embedding, &floats(&r["embedding"]));
    eprintln!(
        "quiet clip: gain {} (Resemblyzer {want_gain}), max abs diff {diff:.2e}",
        pre.gain
    );
    assert!(diff <= 1e-4, "max abs diff {diff}");
}

#[test]
fn speaker_embedding_matches_resemblyzer() {
    let r = &reference()["speaker"];
    let split = usize_of(&r["split"]);
    let (a, b) = fixture().split_at(split);
    let enc = encoder();
    let utterances = r["utterance_embeddings"].as_array().expect("utterances");
    for (clip, want) in [a, b].iter().zip(utterances) {
        let got = enc.embed_utterance(clip, 16_000).expect("embed");
        let diff = max_abs_diff(&got, &floats(want));
        assert!(diff <= 1e-4, "utterance max abs diff {diff}");
    }
    let got = enc
        .embed_speaker(&[(a, 16_000), (b, 16_000)])
        .expect("embed speaker");
    let diff = max_abs_diff(&got, &floats(&r["embedding"]));
    eprintln!("speaker embedding: max abs diff {diff:.2e}");
    assert!(diff <= 1e-4, "speaker max abs diff {diff}");
}

#[test]
fn a_48khz_clip_is_close_to_resemblyzer_despite_another_resampler() {
    // np.repeat(clip, 3) at 48 kHz: Resemblyzer resamples with soxr, we with rubato, so this is
    // close, not exact.
    let r = &reference()["upsampled"];
    let wav: Vec<f32> = fixture().iter().flat_map(|s| [*s; 3]).collect();
    let pre = preprocess(&wav, 48_000).expect("preprocess");
    assert_eq!(pre.resampled_len, usize_of(&r["resampled_len"]));
    assert_eq!(pre.wav.len(), usize_of(&r["trimmed_len"]));
    let embedding = encoder().embed_utterance(&wav, 48_000).expect("embed");
    let want = floats(&r["embedding"]);
    let cos = cosine(&embedding, &want);
    let diff = max_abs_diff(&embedding, &want);
    eprintln!("48 kHz: cosine {cos:.6}, max abs diff {diff:.2e}");
    assert!(cos > 0.999, "cosine {cos}");
    assert!(diff < 5e-3, "max abs diff {diff}");
}

fn say(voice: &mut DefaultVoice, text: &str, emphasis: Emphasis) -> Vec<f32> {
    let chunk = voice
        .synthesize(&Utterance {
            text: text.to_string(),
            language: Language::EnUs,
            emphasis,
        })
        .expect("espeak-ng speaks");
    assert_eq!(chunk.sample_rate, 48_000);
    chunk.pcm
}

#[test]
fn the_same_voice_is_closer_than_a_different_voice() {
    // Same speaker: espeak-ng's en-us voice saying two different sentences. Different
    // speaker: the second sentence played 25% slower (the 48 kHz samples declared as 38.4 kHz),
    // which lowers pitch and every formant by a factor 0.8, like a longer vocal tract.
    let mut voice = DefaultVoice::new().expect("espeak-ng");
    let a = say(
        &mut voice,
        "Welcome back everyone, today we have a great deal for you.",
        Emphasis::Normal,
    );
    let b = say(
        &mut voice,
        "This kettle boils water in three minutes and keeps it warm.",
        Emphasis::Normal,
    );
    let lively = say(
        &mut voice,
        "This kettle boils water in three minutes and keeps it warm.",
        Emphasis::Strong,
    );
    let enc = encoder();
    let ea = enc.embed_utterance(&a, 48_000).expect("a");
    let eb = enc.embed_utterance(&b, 48_000).expect("b");
    let e_lively = enc.embed_utterance(&lively, 48_000).expect("lively");
    let e_lower = enc.embed_utterance(&b, 38_400).expect("lower");
    let e_higher = enc.embed_utterance(&b, 60_000).expect("higher");
    let same = cosine(&ea, &eb);
    let same_lively = cosine(&ea, &e_lively);
    let lower = cosine(&ea, &e_lower);
    let higher = cosine(&ea, &e_higher);
    eprintln!(
        "cosine to sentence A: same voice {same:.3}, same voice livelier {same_lively:.3}, \
         ×0.8 vocal tract {lower:.3}, ×1.25 {higher:.3}"
    );
    assert!(same > 0.8, "same voice {same}");
    assert!(same > lower + 0.1, "same {same} vs lower {lower}");
    assert!(same > higher + 0.1, "same {same} vs higher {higher}");
    assert!(same_lively > lower && same_lively > higher);
}

#[test]
fn a_missing_weights_file_says_to_run_setup() {
    let path = std::env::temp_dir().join("anchor-no-such-dir/pretrained.pt");
    let err = SpeakerEncoder::load(&path).expect_err("missing file");
    assert!(matches!(err, SpeakerError::MissingWeights(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("scripts/setup.sh") && msg.contains("pretrained.pt"),
        "{msg}"
    );
}

#[test]
fn a_corrupt_weights_file_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("anchor-speaker-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let real =
        std::fs::read(speaker::default_weights_path()).expect("weights (run scripts/setup.sh)");

    // Cut short (an interrupted download).
    let truncated = dir.join("truncated.pt");
    std::fs::write(&truncated, &real[..real.len() / 2]).expect("write");
    let err = SpeakerEncoder::load(&truncated).expect_err("truncated");
    assert!(matches!(err, SpeakerError::Checkpoint { .. }), "{err:?}");
    assert!(err.to_string().contains("scripts/setup.sh"), "{err}");

    // Not a checkpoint at all.
    let garbage = dir.join("garbage.pt");
    std::fs::write(&garbage, b"<html>404 Not Found</html>").expect("write");
    let err = SpeakerEncoder::load(&garbage).expect_err("garbage");
    assert!(
        matches!(
            err,
            SpeakerError::Checkpoint {
                source: speaker::CheckpointError::NotLegacyTorch,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("not a PyTorch legacy checkpoint"),
        "{err}"
    );

    // Bytes flipped inside the pickled tensor table.
    let mut flipped = real.clone();
    for b in &mut flipped[200..1200] {
        *b ^= 0x5a;
    }
    let flipped_path = dir.join("flipped.pt");
    std::fs::write(&flipped_path, &flipped).expect("write");
    let err = SpeakerEncoder::load(&flipped_path).expect_err("flipped");
    assert!(
        matches!(
            err,
            SpeakerError::Checkpoint { .. } | SpeakerError::Weights { .. }
        ),
        "{err:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn silence_and_bad_input_are_errors_not_embeddings() {
    let enc = encoder();
    assert!(matches!(
        enc.embed_utterance(&[], 16_000),
        Err(SpeakerError::NoSpeech { .. })
    ));
    assert!(matches!(
        enc.embed_utterance(&vec![0.0; 32_000], 16_000),
        Err(SpeakerError::NoSpeech { .. })
    ));
    assert!(matches!(
        enc.embed_utterance(fixture(), 0),
        Err(SpeakerError::InvalidAudio(_))
    ));
    assert!(matches!(
        enc.embed_utterance(&[0.1, f32::NAN, 0.2], 16_000),
        Err(SpeakerError::InvalidAudio(_))
    ));
    assert!(matches!(enc.embed_speaker(&[]), Err(SpeakerError::NoClips)));
}

#[test]
fn the_encoder_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SpeakerEncoder>();
}

/// Not a check: prints the real-time factor. `cargo test --release --no-default-features
/// --test voice_speaker -- --ignored --nocapture realtime_factor`
#[test]
#[ignore]
fn realtime_factor() {
    let enc = encoder();
    let wav = fixture();
    let wav48: Vec<f32> = wav.iter().flat_map(|s| [*s; 3]).collect();
    let secs = wav.len() as f64 / 16_000.0;
    for (name, pcm, rate) in [
        ("16 kHz", wav, 16_000u32),
        ("48 kHz", wav48.as_slice(), 48_000),
    ] {
        enc.embed_utterance(pcm, rate).expect("warm-up");
        let runs = 10;
        let t = Instant::now();
        for _ in 0..runs {
            enc.embed_utterance(pcm, rate).expect("embed");
        }
        let per = t.elapsed().as_secs_f64() / f64::from(runs);
        let t = Instant::now();
        let pre = preprocess(pcm, rate).expect("preprocess");
        let pre_t = t.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {secs:.2} s clip embedded in {:.1} ms (preprocess {:.1} ms): real-time factor {:.4} ({:.1} ms per second of audio)",
            per * 1e3,
            pre_t * 1e3,
            per / secs,
            per / secs * 1e3
        );
        assert!(!pre.wav.is_empty());
    }
    let pre = preprocess(wav, 16_000).expect("preprocess");
    let t = Instant::now();
    let mel = mel_spectrogram(&pre.wav);
    eprintln!(
        "mel spectrogram of {} frames: {:.1} ms",
        mel.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let out = enc.embed_preprocessed(&pre.wav).expect("embed");
    eprintln!(
        "mel + network for {} partials: {:.1} ms",
        out.partials.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let _ = SpeakerEncoder::load_default().expect("load");
    eprintln!("load: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
}
