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
    let last = pcm
        .iter()
        .rposition(|s| s.abs() >= thr)
        .unwrap_or(pcm.len());
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
        pcm.extend(std::iter::repeat_n(
            0.0f32,
            (gaps[k] * RATE as f64) as usize,
        ));
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
    assert!(
        o.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&o.stderr)
    );
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

    // One clip per line, its speech within ±50 ms of where the line really is.
    let mut clips = report.clips.clone();
    clips.sort_by(|a, b| a.speech_start_s.total_cmp(&b.speech_start_s));
    assert_eq!(clips.len(), truth.len(), "one clip per line: {clips:#?}");
    for (c, (s, e)) in clips.iter().zip(&truth) {
        eprintln!(
            "boundary error: start {:+.3} s, end {:+.3} s",
            c.speech_start_s - s,
            c.speech_end_s - e
        );
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
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (CLIP_SAMPLE_RATE, 1, 16)
        );
        let expect_len = ((c.end_s - c.start_s) * CLIP_SAMPLE_RATE as f64).round() as i64;
        assert!(
            (s.len() as i64 - expect_len).abs() <= 1,
            "{} samples vs {expect_len}",
            s.len()
        );
        let mut m = ebur128::EbuR128::new(1, CLIP_SAMPLE_RATE, ebur128::Mode::I).expect("meter");
        m.add_frames_f32(&s).expect("meter");
        let l = m.loudness_global().expect("loudness");
        assert!(
            !c.peak_limited,
            "speech at -23 LUFS stays under the ceiling"
        );
        assert!(
            (l - TARGET_LUFS).abs() <= 0.5,
            "clip {} at {l:.2} LUFS",
            c.id
        );
    }

    // voice.yaml: enrollment and reference clips (best first) filled, profile left empty.
    let (voice, _) =
        anchor::voice::voicefile::VoiceFile::load(&voices, "host").expect("voice.yaml");
    let e = voice.enrollment.as_ref().expect("enrollment");
    assert_eq!(e.clips, truth.len());
    assert!(voice.profile.is_none() && voice.speaker_embedding.is_empty());
    assert_eq!(
        voice
            .reference_clips
            .first()
            .map(|p| p.to_string_lossy().into_owned()),
        Some("clips/0001.wav".into())
    );
    assert_eq!(enrolled.clips.len(), voice.reference_clips.len());
    assert!(
        enrolled
            .clips
            .iter()
            .all(|c| c.sample_rate == CLIP_SAMPLE_RATE && !c.pcm.is_empty() && c.path.is_file())
    );
    // Under 20 minutes: the report says so.
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("at least 20 minutes")),
        "{:?}",
        report.warnings
    );
    assert!(enrolled.dir.join("report.md").is_file());
    assert!(
        entries_starting(&voices, ".").is_empty(),
        "no staging folder left"
    );
}

/// 20 s of synthetic music: a melody of harmonic notes over a bass line and a chord pad,
/// no pauses.
fn music(secs: f64, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let n = (secs * RATE as f64) as usize;
    let mut out = vec![0.0f32; n];
    let scale = [261.6f32, 293.7, 329.6, 392.0, 440.0, 523.3, 587.3];
    let tone = |out: &mut [f32], start: usize, len: usize, f: f32, amp: f32| {
        for k in 0..len.min(out.len().saturating_sub(start)) {
            let t = k as f32 / RATE as f32;
            let env = (t / 0.02).min(1.0) * (-(t * 2.5)).exp();
            let mut v = 0.0;
            for h in 1..=6 {
                v += (2.0 * std::f32::consts::PI * f * h as f32 * t).sin() / h as f32;
            }
            out[start + k] += amp * env * v;
        }
    };
    let mut pos = 0;
    while pos < n {
        let len = (RATE as f32 * [0.25f32, 0.5, 0.5, 0.75][rng.random_range(0..4)]) as usize;
        tone(
            &mut out,
            pos,
            len * 2,
            scale[rng.random_range(0..scale.len())],
            0.12,
        );
        if pos % (RATE as usize) < len {
            tone(
                &mut out,
                pos,
                RATE as usize,
                scale[rng.random_range(0..3)] / 4.0,
                0.15,
            );
        }
        pos += len;
    }
    // A sustained chord pad.
    for (i, s) in out.iter_mut().enumerate() {
        let t = i as f32 / RATE as f32;
        for f in [130.8f32, 164.8, 196.0] {
            *s += 0.03 * (2.0 * std::f32::consts::PI * f * t).sin();
        }
    }
    out
}

struct BadSet {
    files: Vec<PathBuf>,
}

/// The sample set of the bad-input test, in order: good.flac, good.m4a, good.ogg,
/// mp3-named.wav, stereo-one-silent.wav, empty.wav, silent.wav, short.wav, corrupt.wav,
/// random.mp3, telephone-8k.wav, telephone-44k.wav, music.wav.
fn bad_set(dir: &Path) -> BadSet {
    let (good, _) = recording(&[0, 1, 2, 3], &[0.8, 1.0, 1.2, 0.9], 1.0, 2);
    let good_wav = dir.join("good-source.wav");
    write_wav(&good_wav, &good, RATE, 1);
    let p = |n: &str| dir.join(n);
    ffmpeg(&good_wav, &["-c:a", "flac"], &p("good.flac"));
    ffmpeg(&good_wav, &["-c:a", "aac", "-b:a", "128k"], &p("good.m4a"));
    ffmpeg(
        &good_wav,
        &["-c:a", "libvorbis", "-q:a", "5"],
        &p("good.ogg"),
    );
    ffmpeg(
        &good_wav,
        &["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"],
        &p("mp3-named.wav"),
    );
    let stereo: Vec<f32> = good.iter().flat_map(|&s| [s, 0.0]).collect();
    write_wav(&p("stereo-one-silent.wav"), &stereo, RATE, 2);
    std::fs::write(p("empty.wav"), b"").expect("empty");
    write_wav(&p("silent.wav"), &vec![0.0; RATE as usize * 10], RATE, 1);
    let mut short = lines()[1][..RATE as usize * 2].to_vec();
    short.truncate(RATE as usize * 2);
    write_wav(&p("short.wav"), &short, RATE, 1);
    // A WAV header with a broken format chunk, then garbage.
    let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
    let mut corrupt = b"RIFF\x24\x10\x00\x00WAVEfmt \x10\x00\x00\x00\x07\x00\x00\x00".to_vec();
    corrupt.extend((0..4096).map(|_| rng.random::<u8>()));
    std::fs::write(p("corrupt.wav"), &corrupt).expect("corrupt");
    let random: Vec<u8> = (0..20_000).map(|_| rng.random::<u8>()).collect();
    std::fs::write(p("random.mp3"), &random).expect("random");
    ffmpeg(
        &good_wav,
        &["-af", "highpass=f=300,lowpass=f=3400", "-ar", "8000"],
        &p("telephone-8k.wav"),
    );
    ffmpeg(
        &p("telephone-8k.wav"),
        &["-ar", "44100"],
        &p("telephone-44k.wav"),
    );
    write_wav(&p("music.wav"), &music(20.0, 3), RATE, 1);
    std::fs::remove_file(&good_wav).expect("rm");
    let names = [
        "good.flac",
        "good.m4a",
        "good.ogg",
        "mp3-named.wav",
        "stereo-one-silent.wav",
        "empty.wav",
        "silent.wav",
        "short.wav",
        "corrupt.wav",
        "random.mp3",
        "telephone-8k.wav",
        "telephone-44k.wav",
        "music.wav",
    ];
    BadSet {
        files: names.iter().map(|n| p(n)).collect(),
    }
}

#[test]
fn every_bad_sample_gets_a_clear_verdict_and_the_good_ones_are_enrolled() {
    let tmp = common::tempdir().expect("tempdir");
    let set = bad_set(tmp.path());
    let voices = tmp.path().join("voices");
    let enrolled = enroll::enroll(&options(set.files.clone(), &voices, "mixed")).expect("enroll");
    let r = read_report(&enrolled.dir);
    let verdicts = |r: &QualityReport| {
        r.files
            .iter()
            .map(|f| f.verdict.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        verdicts(&r),
        verdicts(&enrolled.report),
        "report.json is the report"
    );
    for f in &r.files {
        eprintln!("{}: {} {:?}", f.path, f.verdict.describe(), f.notes);
    }
    let v = |name: &str| {
        r.files
            .iter()
            .find(|f| Path::new(&f.path).file_name().is_some_and(|n| n == name))
            .unwrap_or_else(|| panic!("{name} in the report"))
    };
    // Formats found from the content; all four good files used.
    for (name, fmt) in [
        ("good.flac", "FLAC"),
        ("good.m4a", "AAC"),
        ("good.ogg", "Ogg Vorbis"),
        ("mp3-named.wav", "MP3"),
    ] {
        let f = v(name);
        assert_eq!(f.verdict, Verdict::Used, "{name}");
        assert!(
            f.format.as_deref().is_some_and(|x| x.starts_with(fmt)),
            "{name}: {:?}",
            f.format
        );
        assert_eq!(f.kept_clips, 4, "{name}: one clip per line");
    }
    assert!(
        v("mp3-named.wav")
            .notes
            .iter()
            .any(|n| n.contains("named `.wav` but the content is MP3"))
    );
    let stereo = v("stereo-one-silent.wav");
    assert_eq!(stereo.verdict, Verdict::Used);
    assert!(
        stereo
            .notes
            .iter()
            .any(|n| n.contains("channel 2 silent: used channel 1 only")),
        "{:?}",
        stereo.notes
    );
    assert_eq!(v("empty.wav").verdict, Verdict::Empty);
    assert!(matches!(v("silent.wav").verdict, Verdict::Silent { .. }));
    assert!(
        matches!(v("short.wav").verdict, Verdict::TooShort { seconds } if (seconds - 2.0).abs() < 0.01)
    );
    assert!(matches!(
        v("corrupt.wav").verdict,
        Verdict::Unreadable { .. }
    ));
    assert!(
        matches!(
            v("random.mp3").verdict,
            Verdict::Unreadable { .. } | Verdict::NoSpeech { .. } | Verdict::Silent { .. }
        ),
        "random bytes are not used: {:?}",
        v("random.mp3").verdict
    );
    assert!(
        matches!(&v("telephone-8k.wav").verdict, Verdict::BandLimited { detail } if detail.contains("8000 Hz"))
    );
    assert!(
        matches!(&v("telephone-44k.wav").verdict, Verdict::BandLimited { detail } if detail.contains("4.5 kHz"))
    );
    assert_eq!(
        v("music.wav").verdict,
        Verdict::NoSpeech {
            music_suspected: true,
            noise_suspected: false
        }
    );
    // Every verdict reads as a sentence in report.md.
    let md = std::fs::read_to_string(enrolled.dir.join("report.md")).expect("report.md");
    for f in &r.files {
        assert!(
            md.contains(&f.verdict.describe()),
            "{}",
            f.verdict.describe()
        );
    }
    assert_eq!(r.summary.files_used, 5);
    assert_eq!(r.summary.files_rejected, 8);
    assert_eq!(r.summary.clips, 20);
    assert!(r.summary.music_or_noise_suspected);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("8 of 13 files not used")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn nothing_usable_fails_with_advice_and_leaves_no_voice() {
    let tmp = common::tempdir().expect("tempdir");
    let set = bad_set(tmp.path());
    let bad: Vec<PathBuf> = set.files[5..].to_vec();
    let voices = tmp.path().join("voices");
    let err = enroll::enroll(&options(bad, &voices, "nobody")).expect_err("nothing usable");
    let msg = err.to_string();
    assert!(matches!(err, EnrollError::NothingUsable { .. }));
    assert!(
        msg.contains("silent.wav: silent") && msg.contains("music suspected"),
        "{msg}"
    );
    assert!(msg.contains("Record at least 20 minutes"), "{msg}");
    assert!(!voices.join("nobody").exists());
    assert!(
        entries_starting(&voices, ".").is_empty(),
        "no staging folder left"
    );
}

#[derive(Debug, thiserror::Error)]
enum HookError {
    #[error(transparent)]
    Enroll(#[from] EnrollError),
    #[error("the profile could not be computed")]
    Profile,
}

#[test]
fn a_failing_enrollment_leaves_no_voice_and_an_existing_voice_is_kept() {
    let tmp = common::tempdir().expect("tempdir");
    let (pcm, _) = recording(&[0, 1, 2], &[0.8, 1.0, 1.2], 1.0, 4);
    let sample = tmp.path().join("take.wav");
    write_wav(&sample, &pcm, RATE, 1);
    let voices = tmp.path().join("voices");
    let opts = options(vec![sample.clone()], &voices, "lin");

    // The finish hook fails after everything was written: no voice folder, no staging left.
    let err = enroll::enroll_with(&opts, |_, _| Err::<(), _>(HookError::Profile))
        .expect_err("hook fails");
    assert!(matches!(err, HookError::Profile));
    assert!(!voices.join("lin").exists());
    assert!(
        entries_starting(&voices, ".").is_empty(),
        "no staging folder left"
    );

    // What the hook adds is saved with the voice.
    let enrolled = enroll::enroll_with(&opts, |voice, clips| {
        assert!(!clips.is_empty() && clips.iter().all(|c| c.path.is_file()));
        voice.profile = Some(anchor::voice::voicefile::VoiceProfile {
            f0_median_hz: 123.0,
            ..Default::default()
        });
        Ok::<(), HookError>(())
    })
    .expect("enroll");
    let (saved, _) = anchor::voice::voicefile::VoiceFile::load(&voices, "lin").expect("voice.yaml");
    assert_eq!(saved.profile.as_ref().map(|p| p.f0_median_hz), Some(123.0));
    assert_eq!(saved, enrolled.voice);

    // Enrolling the same name again is refused and the voice stays as it was ...
    let before = std::fs::read(voices.join("lin/voice.yaml")).expect("read");
    let err = enroll::enroll(&opts).expect_err("exists");
    assert!(matches!(err, EnrollError::VoiceExists { .. }), "{err}");
    assert!(err.to_string().contains("already exists"));
    assert_eq!(
        std::fs::read(voices.join("lin/voice.yaml")).expect("read"),
        before
    );

    // ... unless replacing is asked for; a replacement that fails keeps the old voice.
    let mut replace = opts.clone();
    replace.replace = true;
    replace.samples = vec![tmp.path().join("missing.wav")];
    assert!(matches!(
        enroll::enroll(&replace),
        Err(EnrollError::NothingUsable { .. })
    ));
    assert_eq!(
        std::fs::read(voices.join("lin/voice.yaml")).expect("read"),
        before
    );
    replace.samples = vec![sample];
    let again = enroll::enroll(&replace).expect("replace");
    assert!(
        again.voice.profile.is_none(),
        "the new voice replaced the old one"
    );
    assert!(
        entries_starting(&voices, ".").is_empty(),
        "nothing left beside the voice"
    );
}

/// IEEE half-precision bits of `x` (normal range; tiny values flush to zero).
fn f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    if x == 0.0 || exp <= 0 {
        return sign;
    }
    if exp >= 31 {
        return sign | 0x7c00;
    }
    sign | ((exp as u16) << 10) | (((b & 0x7f_ffff) >> 13) as u16)
}

fn i32le(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// One ggml tensor: n_dims, name length, type (0 f32, 1 f16), dims (ggml order), name, data.
fn tensor(
    out: &mut Vec<u8>,
    name: &str,
    dims: &[i32],
    f16: bool,
    fill: &mut dyn FnMut(usize) -> f32,
) {
    i32le(out, dims.len() as i32);
    i32le(out, name.len() as i32);
    i32le(out, i32::from(f16));
    for d in dims {
        i32le(out, *d);
    }
    out.extend_from_slice(name.as_bytes());
    let n: i32 = dims.iter().product();
    for i in 0..n as usize {
        let v = fill(i);
        if f16 {
            out.extend_from_slice(&f16_bits(v).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The tensors of one transformer block of width `s` (`cross`: with cross-attention).
fn block(out: &mut Vec<u8>, p: &str, s: i32, cross: bool, rnd: &mut dyn FnMut(usize) -> f32) {
    let mut one = |_: usize| 1.0f32;
    let mut zero = |_: usize| 0.0f32;
    tensor(out, &format!("{p}.mlp_ln.weight"), &[s], false, &mut one);
    tensor(out, &format!("{p}.mlp_ln.bias"), &[s], false, &mut zero);
    tensor(out, &format!("{p}.mlp.0.weight"), &[s, 4 * s], true, rnd);
    tensor(out, &format!("{p}.mlp.0.bias"), &[4 * s], false, rnd);
    tensor(out, &format!("{p}.mlp.2.weight"), &[4 * s, s], true, rnd);
    tensor(out, &format!("{p}.mlp.2.bias"), &[s], false, rnd);
    let mut attn = vec!["attn"];
    if cross {
        attn.push("cross_attn");
    }
    for a in attn {
        tensor(out, &format!("{p}.{a}_ln.weight"), &[s], false, &mut one);
        tensor(out, &format!("{p}.{a}_ln.bias"), &[s], false, &mut zero);
        tensor(out, &format!("{p}.{a}.query.weight"), &[s, s], true, rnd);
        tensor(out, &format!("{p}.{a}.query.bias"), &[s], false, rnd);
        tensor(out, &format!("{p}.{a}.key.weight"), &[s, s], true, rnd);
        tensor(out, &format!("{p}.{a}.value.weight"), &[s, s], true, rnd);
        tensor(out, &format!("{p}.{a}.value.bias"), &[s], false, rnd);
        tensor(out, &format!("{p}.{a}.out.weight"), &[s, s], true, rnd);
        tensor(out, &format!("{p}.{a}.out.bias"), &[s], false, rnd);
    }
}

/// Writes a tiny random-weight whisper.cpp ggml model (layout: docs' platform notes): one
/// encoder and one decoder layer of width 16, f16 weights (ftype 1), a vocabulary holding " "
/// (whisper.cpp looks it up) and " la"; whisper.cpp names the other 51 861 ids itself. The
/// decoder's final layer norm is set so that every position scores " la" highest: the model
/// "hears" `la la la ...` in anything, which is all a pipeline test needs.
fn tiny_whisper_model(path: &Path) {
    let (n_vocab, n_audio_ctx, s, heads, n_text_ctx, n_mels) =
        (51_864i32, 64i32, 16i32, 2i32, 32i32, 80i32);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    let mut out: Vec<u8> = Vec::new();
    out.extend_from_slice(&0x6767_6d6cu32.to_le_bytes());
    // n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer, n_text_ctx,
    // n_text_state, n_text_head, n_text_layer, n_mels, ftype.
    for v in [
        n_vocab,
        n_audio_ctx,
        s,
        heads,
        1,
        n_text_ctx,
        s,
        heads,
        1,
        n_mels,
        1,
    ] {
        i32le(&mut out, v);
    }
    i32le(&mut out, n_mels);
    i32le(&mut out, 201);
    for _ in 0..n_mels * 201 {
        out.extend_from_slice(&rng.random_range(0.0f32..0.01).to_le_bytes());
    }
    let vocab = [" ", " la", "a"];
    i32le(&mut out, vocab.len() as i32);
    for t in vocab {
        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        out.extend_from_slice(t.as_bytes());
    }
    let mut rnd = |_: usize| rng.random_range(-0.05f32..0.05);
    let mut one = |_: usize| 1.0f32;
    let mut zero = |_: usize| 0.0f32;
    tensor(
        &mut out,
        "encoder.positional_embedding",
        &[s, n_audio_ctx],
        false,
        &mut rnd,
    );
    tensor(
        &mut out,
        "encoder.conv1.weight",
        &[3, n_mels, s],
        true,
        &mut rnd,
    );
    tensor(&mut out, "encoder.conv1.bias", &[1, s], false, &mut rnd);
    tensor(&mut out, "encoder.conv2.weight", &[3, s, s], true, &mut rnd);
    tensor(&mut out, "encoder.conv2.bias", &[1, s], false, &mut rnd);
    tensor(&mut out, "encoder.ln_post.weight", &[s], false, &mut one);
    tensor(&mut out, "encoder.ln_post.bias", &[s], false, &mut zero);
    block(&mut out, "encoder.blocks.0", s, false, &mut rnd);
    tensor(
        &mut out,
        "decoder.positional_embedding",
        &[s, n_text_ctx],
        false,
        &mut rnd,
    );
    // Token " la" (id 1) scores 2·16 = 32 against the constant final state; others about 0.
    tensor(
        &mut out,
        "decoder.token_embedding.weight",
        &[s, n_vocab],
        true,
        &mut |i| {
            if i / s as usize == 1 {
                2.0
            } else {
                ((i * 7919) % 1000) as f32 * 1e-5 - 0.005
            }
        },
    );
    tensor(&mut out, "decoder.ln.weight", &[s], false, &mut zero);
    tensor(&mut out, "decoder.ln.bias", &[s], false, &mut one);
    block(&mut out, "decoder.blocks.0", s, true, &mut rnd);
    std::fs::write(path, out).expect("write model");
}

/// Piper's `ljspeech_dataset` reading rules (piper_train/preprocess.py), in Python with the
/// same csv module: prints how many utterances it would train on.
const PIPER_READER: &str = r#"
import csv, sys
from pathlib import Path
dataset_dir = Path(sys.argv[1])
metadata_path = dataset_dir / "metadata.csv"
assert metadata_path.exists()
wav_dir = dataset_dir / "wav"
if not wav_dir.is_dir():
    wav_dir = dataset_dir / "wavs"
n = 0
with open(metadata_path, "r", encoding="utf-8") as f:
    for row in csv.reader(f, delimiter="|"):
        assert len(row) == 2, f"single-speaker rows have 2 columns: {row}"
        filename, text = row[0], row[-1]
        wav_path = metadata_path.parent / filename
        if not wav_path.exists():
            wav_path = metadata_path.parent / f"{filename}.wav"
        if not wav_path.exists():
            wav_path = wav_dir / filename
        if not wav_path.exists():
            wav_path = wav_dir / f"{filename}.wav"
        assert wav_path.exists() and wav_path.stat().st_size > 0, f"missing audio for {filename}"
        assert wav_path.parent.name == "wavs", wav_path
        assert text.strip() and '"' not in text, row
        n += 1
print(n)
"#;

#[test]
fn whisper_transcribes_each_clip_into_the_piper_dataset_layout() {
    let tmp = common::tempdir().expect("tempdir");
    let model = tmp.path().join("ggml-tiny-random.bin");
    tiny_whisper_model(&model);
    let (pcm, truth) = recording(&[0, 1, 2], &[0.8, 1.2, 1.0], 1.0, 5);
    let sample = tmp.path().join("take.wav");
    write_wav(&sample, &pcm, RATE, 1);
    let voices = tmp.path().join("voices");
    let mut opts = options(vec![sample], &voices, "whisper");
    opts.whisper_model = Some(model.clone());
    let enrolled = enroll::enroll(&opts).expect("enroll with whisper");
    let dir = &enrolled.dir;
    let t = enrolled
        .report
        .transcription
        .as_ref()
        .expect("transcription in the report");
    assert_eq!(
        (t.utterances, t.empty),
        (truth.len(), 0),
        "every clip transcribed: {t:?}"
    );
    assert_eq!(
        enrolled
            .voice
            .enrollment
            .as_ref()
            .and_then(|e| e.dataset.clone()),
        Some(PathBuf::from("dataset"))
    );

    // metadata.csv: UTF-8 without BOM, `id|text\n` per clip, ids = the clips.
    let meta = std::fs::read(dir.join("dataset/metadata.csv")).expect("metadata.csv");
    assert!(!meta.starts_with(b"\xef\xbb\xbf"), "no BOM");
    let meta = String::from_utf8(meta).expect("utf-8");
    assert!(meta.ends_with('\n') && !meta.contains('\r'));
    let lines: Vec<&str> = meta.lines().collect();
    assert_eq!(lines.len(), truth.len());
    for (line, clip) in lines.iter().zip(&enrolled.report.clips) {
        let (id, text) = line.split_once('|').expect("id|text");
        assert_eq!(id, clip.id);
        assert!(!text.contains('|') && !text.trim().is_empty(), "{line}");
        assert_eq!(Some(text), clip.text.as_deref());
        // The garbage the random model hears, but text all the same.
        assert!(text.contains("la"), "{text}");
        let wav = dir.join("dataset/wavs").join(format!("{id}.wav"));
        let (spec, samples) = wav_samples(&wav);
        assert_eq!(
            (
                spec.sample_rate,
                spec.channels,
                spec.bits_per_sample,
                spec.sample_format
            ),
            (22_050, 1, 16, hound::SampleFormat::Int)
        );
        assert!(!samples.is_empty());
        assert_eq!(
            std::fs::read(&wav).expect("wav"),
            std::fs::read(dir.join(&clip.path)).expect("clip")
        );
    }
    // Nothing Piper would pick up by mistake: no wav/ folder, nothing named like an id.
    let names: Vec<String> = std::fs::read_dir(dir.join("dataset"))
        .expect("dataset")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["metadata.csv", "wavs"]);

    // Piper's own reading rules, with Python's csv module.
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(PIPER_READER)
        .arg(dir.join("dataset"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        truth.len().to_string()
    );

    // The model on its own, through whisper-rs: loads and runs on a clip.
    let ctx = whisper_rs::WhisperContext::new_with_params(
        &model,
        whisper_rs::WhisperContextParameters::default(),
    )
    .expect("tiny model loads");
    let mut state = ctx.create_state().expect("state");
    let (_, clip) = wav_samples(&dir.join("clips/0001.wav"));
    let pcm16: Vec<f32> = (0..clip.len() * 16_000 / 22_050)
        .map(|i| clip[i * 22_050 / 16_000])
        .collect();
    let mut params =
        whisper_rs::FullParams::new(whisper_rs::SamplingStrategy::Greedy { best_of: 1 });
    params.set_print_progress(false);
    params.set_print_realtime(false);
    state.full(params, &pcm16).expect("full() runs");
    assert!(state.full_n_segments() >= 1);
}

#[test]
fn a_missing_whisper_model_fails_before_any_work() {
    let tmp = common::tempdir().expect("tempdir");
    let voices = tmp.path().join("voices");
    let mut opts = options(vec![tmp.path().join("x.wav")], &voices, "w");
    opts.whisper_model = Some(tmp.path().join("nope.bin"));
    let err = enroll::enroll(&opts).expect_err("no model");
    assert!(matches!(err, EnrollError::WhisperModelMissing(_)));
    assert!(err.to_string().contains("ggml"), "{err}");
    assert!(!voices.join("w").exists());
}

/// Three hours at 16 kHz: a block of four lines every ten minutes, digital silence between
/// (so the VAD skips most windows and the test stays short; memory is what it checks).
fn three_hour_wav(path: &Path) -> usize {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create");
    let total = 3 * 3600 * 16_000usize;
    let mut written = 0usize;
    let mut blocks = 0;
    while written < total {
        // Ten minutes: 20 s of speech (four lines with pauses), then silence.
        let start = written;
        for i in 0..4 {
            for _ in 0..16_000 {
                w.write_sample(0i16).expect("write");
            }
            written += 16_000;
            let line = &lines()[(blocks + i) % LINES.len()];
            for k in (0..line.len()).step_by(3) {
                w.write_sample((line[k] * 32767.0) as i16).expect("write");
                written += 1;
            }
        }
        blocks += 1;
        let end = (start + 600 * 16_000).min(total);
        let mut i16w = w.get_i16_writer((end - written) as u32);
        for _ in written..end {
            i16w.write_sample(0);
        }
        i16w.flush().expect("flush");
        written = end;
    }
    w.finalize().expect("finalize");
    blocks
}

#[test]
fn a_three_hour_file_is_enrolled_in_bounded_memory() {
    let tmp = common::tempdir().expect("tempdir");
    let wav = tmp.path().join("three-hours.wav");
    let blocks = three_hour_wav(&wav);
    assert_eq!(blocks, 18);
    let voices = tmp.path().join("voices");
    // A process of its own, so the peak memory is this enrollment's alone.
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "three_hour_child",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("ANCHOR_ENROLL_CHILD_WAV", &wav)
        .env("ANCHOR_ENROLL_CHILD_VOICES", &voices)
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("VMHWM_MIB="))
        .and_then(|v| v.trim().parse().ok())
        .expect("child reports its peak memory");
    // 3 h at 16 kHz as f32 alone would be 659 MiB (at 48 kHz, 1978 MiB).
    assert!(peak < 350.0, "peak RSS {peak:.0} MiB");
    let r = read_report(&voices.join("long"));
    let f = &r.files[0];
    assert_eq!(f.verdict, Verdict::Used);
    assert!((f.duration_s - 10_800.0).abs() < 1.0, "{}", f.duration_s);
    assert_eq!(r.summary.clips, 18 * 4, "every line of every block");
    assert_eq!(f.long_silences.len(), 18, "the silence after each block");
}

#[test]
#[ignore = "run by a_three_hour_file_is_enrolled_in_bounded_memory in a process of its own"]
fn three_hour_child() {
    let (Some(wav), Some(voices)) = (
        std::env::var_os("ANCHOR_ENROLL_CHILD_WAV"),
        std::env::var_os("ANCHOR_ENROLL_CHILD_VOICES"),
    ) else {
        return;
    };
    let opts = options(vec![PathBuf::from(wav)], Path::new(&voices), "long");
    let enrolled = enroll::enroll(&opts).expect("enroll 3 h");
    println!("CLIPS={}", enrolled.report.clips.len());
    println!(
        "VMHWM_MIB={:.1}",
        enroll::peak_rss_mib().expect("/proc/self/status")
    );
}

/// `cargo test --release --no-default-features --test voice_enroll -- --ignored bench --nocapture`
#[test]
#[ignore = "benchmark: 30 minutes of audio"]
fn bench_enroll_30_minutes() {
    let minutes = std::env::var("ANCHOR_ENROLL_BENCH_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30.0);
    let b = enroll::bench(minutes).expect("bench");
    println!("{b}");
    assert!(b.clips > 0 && b.speech_minutes > minutes * 0.5);
}
