//! Voice enrollment end to end: generated speech (the built-in espeak-ng voice) placed at
//! known times, the bad inputs a merchant really brings, atomicity, the Whisper path with a
//! tiny random-weight ggml model, the Piper dataset layout, bounded memory on a 3-hour file.
//!
//! Needs what scripts/setup.sh installs: espeak-ng, ffmpeg, python3, and models/ (ONNX
//! Runtime, Silero VAD).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anchor::voice::enroll::{
    self, CLIP_SAMPLE_RATE, EnrollError, EnrollOptions, QualityReport, TARGET_LUFS, Verdict,
};
use anchor::voice::{DefaultVoice, Emphasis, Language, Synthesizer, Utterance};
use rand::{Rng, SeedableRng};

const RATE: u32 = 48_000;

const LINES: &[&str] = &[
    "Welcome back to the live room, thank you all for coming tonight.",
    "This coat is pure wool and it is lighter than it looks.",
    "Type your questions in the chat and I will answer them one by one.",
    "Today the price is one hundred and ninety nine, the lowest ever.",
    "Look at the stitching, every seam is finished by hand.",
    "We ship within two days and returns are free for a week.",
    "The medium size fits most people, let me show you on the model.",
    "Follow the shop so you do not miss tomorrow's show.",
];

/// The built-in voice's rendering of each line (48 kHz), made once per test process.
fn lines() -> &'static [Vec<f32>] {
    static LINES_PCM: OnceLock<Vec<Vec<f32>>> = OnceLock::new();
    LINES_PCM.get_or_init(|| {
        let mut voice = DefaultVoice::new().expect("espeak-ng (scripts/setup.sh installs it)");
        LINES
            .iter()
            .map(|t| {
                let chunk = voice
                    .synthesize(&Utterance {
                        text: (*t).to_owned(),
                        language: Language::EnUs,
                        emphasis: Emphasis::Normal,
                    })
                    .expect("synthesize");
                assert_eq!(chunk.sample_rate, RATE);
                chunk.pcm
            })
            .collect()
    })
}

/// First and last sample of `pcm` above 1% of its peak (-40 dB): where the speech is.
fn speech_bounds(pcm: &[f32]) -> (usize, usize) {
    let peak = pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let thr = peak * 0.01;
    let first = pcm.iter().position(|s| s.abs() >= thr).unwrap_or(0);
    let last = pcm.iter().rposition(|s| s.abs() >= thr).unwrap_or(pcm.len());
    (first, last + 1)
}

/// A recording: the given lines with the given silences before each (seconds), a faint
/// noise floor (-66 dBFS) throughout; returns the samples and each line's speech (start, end)
/// in seconds.
fn recording(order: &[usize], gaps: &[f64], tail: f64, seed: u64) -> (Vec<f32>, Vec<(f64, f64)>) {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut pcm = Vec::new();
    let mut truth = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        pcm.extend(std::iter::repeat_n(0.0f32, (gaps[k] * RATE as f64) as usize));
        let line = &lines()[i];
        let (a, b) = speech_bounds(line);
        truth.push((
            (pcm.len() + a) as f64 / RATE as f64,
            (pcm.len() + b) as f64 / RATE as f64,
        ));
        pcm.extend_from_slice(line);
    }
    pcm.extend(std::iter::repeat_n(0.0f32, (tail * RATE as f64) as usize));
    for s in &mut pcm {
        *s += rng.random_range(-0.0009f32..0.0009);
    }
    (pcm, truth)
}

/// Writes interleaved `pcm` as 16-bit PCM WAV.
fn write_wav(path: &Path, pcm: &[f32], rate: u32, channels: u16) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in pcm {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .expect("write sample");
    }
    w.finalize().expect("finalize wav");
}

/// `ffmpeg -i IN ARGS OUT`.
fn ffmpeg(input: &Path, args: &[&str], output: &Path) {
    let o = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(input)
        .args(args)
        .arg(output)
        .output()
        .expect("ffmpeg runs");
    assert!(o.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&o.stderr));
}

fn options(samples: Vec<PathBuf>, voices: &Path, name: &str) -> EnrollOptions {
    let mut o = EnrollOptions::new(samples, name);
    o.voices_dir = voices.to_path_buf();
    o.language = Language::EnUs;
    o
}

fn read_report(dir: &Path) -> QualityReport {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json parses")
}

fn wav_samples(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let r = hound::WavReader::open(path).expect("open wav");
    let spec = r.spec();
    let s = r
        .into_samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32768.0)
        .collect();
    (spec, s)
}

/// Entries of a folder whose name starts with `prefix`.
fn entries_starting(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn speech_at_known_times_is_cut_at_its_boundaries_normalized_and_resampled() {
    let tmp = common::tempdir().expect("tempdir");
    let order = [0usize, 1, 2, 3, 4, 5];
    let gaps = [1.0, 1.3, 2.0, 1.1, 3.0, 1.6];
    let (pcm, truth) = recording(&order, &gaps, 1.5, 1);
    let sample = tmp.path().join("host.wav");
    write_wav(&sample, &pcm, RATE, 1);
    let voices = tmp.path().join("voices");
    let enrolled = enroll::enroll(&options(vec![sample], &voices, "host")).expect("enroll");
    let report = &enrolled.report;
    eprintln!("{}", report.to_markdown());

    // One clip per line, its speech within ±50 ms of where the line really is.
    let mut clips = report.clips.clone();
    clips.sort_by(|a, b| a.speech_start_s.total_cmp(&b.speech_start_s));
    assert_eq!(clips.len(), truth.len(), "one clip per line: {clips:#?}");
    for (c, (s, e)) in clips.iter().zip(&truth) {
        eprintln!("boundary error: start {:+.3} s, end {:+.3} s", c.speech_start_s - s, c.speech_end_s - e);
        assert!(
            (c.speech_start_s - s).abs() <= 0.05 && (c.speech_end_s - e).abs() <= 0.05,
            "clip {} speech {:.3}–{:.3} s, line at {s:.3}–{e:.3} s",
            c.id,
            c.speech_start_s,
            c.speech_end_s
        );
        assert!(c.start_s <= c.speech_start_s && c.end_s >= c.speech_end_s);
    }

    // Every clip: mono 16-bit at exactly 22 050 Hz, as long as the report says, at the
    // loudness target (measured independently with ebur128).
    for c in &report.clips {
        let (spec, s) = wav_samples(&enrolled.dir.join(&c.path));
        assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (CLIP_SAMPLE_RATE, 1, 16));
        let expect_len = ((c.end_s - c.start_s) * CLIP_SAMPLE_RATE as f64).round() as i64;
        assert!((s.len() as i64 - expect_len).abs() <= 1, "{} samples vs {expect_len}", s.len());
        let mut m = ebur128::EbuR128::new(1, CLIP_SAMPLE_RATE, ebur128::Mode::I).expect("meter");
        m.add_frames_f32(&s).expect("meter");
        let l = m.loudness_global().expect("loudness");
        assert!(!c.peak_limited, "speech at -23 LUFS stays under the ceiling");
        assert!((l - TARGET_LUFS).abs() <= 0.5, "clip {} at {l:.2} LUFS", c.id);
    }

    // voice.yaml: enrollment and reference clips (best first) filled, profile left empty.
    let (voice, _) = anchor::voice::voicefile::VoiceFile::load(&voices, "host").expect("voice.yaml");
    let e = voice.enrollment.as_ref().expect("enrollment");
    assert_eq!(e.clips, truth.len());
    assert!(voice.profile.is_none() && voice.speaker_embedding.is_empty());
    assert_eq!(voice.reference_clips.first().map(|p| p.to_string_lossy().into_owned()), Some("clips/0001.wav".into()));
    assert_eq!(enrolled.clips.len(), voice.reference_clips.len());
    assert!(enrolled.clips.iter().all(|c| c.sample_rate == CLIP_SAMPLE_RATE && !c.pcm.is_empty() && c.path.is_file()));
    // Under 20 minutes: the report says so.
    assert!(report.warnings.iter().any(|w| w.contains("at least 20 minutes")), "{:?}", report.warnings);
    assert!(enrolled.dir.join("report.md").is_file());
    assert!(entries_starting(&voices, ".").is_empty(), "no staging folder left");
}
