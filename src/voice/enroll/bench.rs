//! Enrollment benchmark: a long sample made of the built-in voice's sentences with pauses (and
//! a faint noise floor, so the VAD runs on every window, as on a real recording), enrolled
//! without Whisper. Reports the speed of each stage as a real-time factor (seconds of audio
//! per second of wall clock) and the peak memory of the process.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};

use super::{EnrollError, EnrollOptions, enroll};
use crate::voice::{DefaultVoice, Emphasis, Language, Synthesizer, Utterance};

/// Sentences a live-stream host says.
const SENTENCES: &[&str] = &[
    "Welcome back to the live room, everyone, thank you for joining us tonight.",
    "This jacket is made of pure wool, and it keeps you warm without feeling heavy.",
    "If you have any questions, just type them in the chat and I will answer right away.",
    "Today's price is only one hundred and ninety nine, the lowest we have ever offered.",
    "Look at the stitching here, every seam is finished by hand.",
    "We ship within forty eight hours, and returns are free for seven days.",
    "The medium size fits most people between one sixty and one seventy.",
    "Let me show you the color under natural light.",
    "Stock is limited, so if you like it, add it to your cart now.",
    "Many of you asked about washing: cold water, gentle cycle, and dry it flat.",
    "This one comes in three colors: charcoal, camel and navy.",
    "Thank you for the gift, I really appreciate it!",
    "Remember to follow the shop so you do not miss tomorrow's show.",
    "The fabric is soft on the skin, even for people with sensitive skin.",
    "We have a coupon for new followers, check the banner at the top.",
    "Is everyone still with me? Type one in the chat if you can hear me clearly.",
];

/// Speed of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageBench {
    pub stage: &'static str,
    /// Wall clock spent in the stage.
    pub seconds: f64,
    /// Media seconds per wall second (infinite when the stage took no measurable time).
    pub realtime: f64,
}

/// What [`bench`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollBench {
    /// Length of the generated sample (seconds).
    pub media_s: f64,
    /// Time to generate it (not part of the enrollment figures).
    pub generate_s: f64,
    /// Wall clock of the enrollment.
    pub wall_s: f64,
    /// `media_s / wall_s`.
    pub realtime: f64,
    pub stages: Vec<StageBench>,
    /// Peak resident memory of the process (VmHWM), MiB; `None` where /proc is missing.
    pub peak_rss_mib: Option<f64>,
    pub speech_minutes: f64,
    pub clips: usize,
}

impl std::fmt::Display for EnrollBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "enroll bench: {:.1} min of audio enrolled in {:.1} s ({:.1}× real time); {:.1} min of speech in {} clips",
            self.media_s / 60.0,
            self.wall_s,
            self.realtime,
            self.speech_minutes,
            self.clips
        )?;
        for s in &self.stages {
            writeln!(
                f,
                "  {:<10} {:>7.2} s  {:>8.1}× real time",
                s.stage, s.seconds, s.realtime
            )?;
        }
        match self.peak_rss_mib {
            Some(m) => writeln!(f, "  peak RSS (VmHWM) {m:.0} MiB"),
            None => writeln!(f, "  peak RSS unknown"),
        }?;
        write!(
            f,
            "  (sample generated in {:.1} s, not counted)",
            self.generate_s
        )
    }
}

/// Peak resident set size of this process (MiB), from `/proc/self/status`.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `minutes` of generated speech to `path` (48 kHz mono 16-bit WAV); returns its
/// length in seconds. Sentences are synthesized once and reused in random order, separated
/// by pauses of 0.25–1.2 s, with a 6 s silence every 25 sentences and noise at about -66 dBFS
/// throughout.
pub fn write_speech_sample(path: &Path, minutes: f64, seed: u64) -> Result<f64, EnrollError> {
    let mut voice = DefaultVoice::new()?;
    let mut chunks = Vec::new();
    for (i, text) in SENTENCES.iter().enumerate() {
        let chunk = voice.synthesize(&Utterance {
            text: (*text).to_owned(),
            language: Language::EnUs,
            emphasis: if i % 3 == 2 {
                Emphasis::Strong
            } else {
                Emphasis::Normal
            },
        })?;
        chunks.push(chunk);
    }
    let rate = crate::media::SAMPLE_RATE;
    let wav_err = |source| EnrollError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(wav_err)?;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let target = (minutes * 60.0 * f64::from(rate)) as u64;
    let mut written = 0u64;
    let mut n = 0usize;
    let put = |w: &mut hound::WavWriter<_>, s: f32, rng: &mut rand::rngs::SmallRng| {
        let noise: f32 = rng.random_range(-0.0009..0.0009);
        w.write_sample(((s + noise).clamp(-1.0, 1.0) * 32767.0).round() as i16)
    };
    while written < target {
        let pause_s = if n > 0 && n % 25 == 0 {
            6.0
        } else {
            rng.random_range(0.25..1.2)
        };
        for _ in 0..(pause_s * f64::from(rate)) as usize {
            put(&mut w, 0.0, &mut rng).map_err(wav_err)?;
            written += 1;
        }
        let chunk = &chunks[rng.random_range(0..chunks.len())];
        for &s in &chunk.pcm {
            put(&mut w, s, &mut rng).map_err(wav_err)?;
            written += 1;
        }
        n += 1;
    }
    w.finalize().map_err(wav_err)?;
    Ok(written as f64 / f64::from(rate))
}

/// Builds a ~`minutes` long sample, enrolls it (no Whisper) into a temporary folder and
/// measures each stage. Goal on the 2-core build machine: 30 minutes in under 3 minutes.
pub fn bench(minutes: f64) -> Result<EnrollBench, EnrollError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = TempDir(std::env::temp_dir().join(format!(
        "anchor-enroll-bench-{}-{nanos}",
        std::process::id()
    )));
    std::fs::create_dir_all(&tmp.0).map_err(|source| EnrollError::Io {
        path: tmp.0.clone(),
        source,
    })?;
    let sample = tmp.0.join("bench-sample.wav");
    let t = Instant::now();
    let media_s = write_speech_sample(&sample, minutes, 2024)?;
    let generate_s = t.elapsed().as_secs_f64();
    let mut opts = EnrollOptions::new(vec![sample], "bench");
    opts.voices_dir = tmp.0.join("voices");
    opts.language = Language::EnUs;
    let t = Instant::now();
    let enrolled = enroll(&opts)?;
    let wall_s = t.elapsed().as_secs_f64();
    let stages = enrolled
        .report
        .processing
        .stages
        .stages()
        .iter()
        .filter(|(name, _)| *name != "transcribe")
        .map(|&(stage, seconds)| StageBench {
            stage,
            seconds,
            realtime: if seconds > 0.0 {
                media_s / seconds
            } else {
                f64::INFINITY
            },
        })
        .collect();
    Ok(EnrollBench {
        media_s,
        generate_s,
        wall_s,
        realtime: media_s / wall_s.max(1e-9),
        stages,
        peak_rss_mib: peak_rss_mib(),
        speech_minutes: enrolled.report.summary.speech_minutes,
        clips: enrolled.report.summary.clips,
    })
}
