//! `anchor voice enroll|report`, the similarity line of `anchor say --voice`, and
//! `anchor bench voice`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;

use anchor::voice::enroll::{self, ClipAudio, EnrollOptions};
use anchor::voice::report::{self, SimilarityReport};
use anchor::voice::speaker::{SpeakerEncoder, cosine};
use anchor::voice::voicefile::{VoiceFile, voices_dir};
use anchor::voice::{
    self, DefaultVoice, Emphasis, Language, SpeechChunk, Synthesizer, Utterance, timbre,
};

/// Reference clips the speaker embedding is averaged over (the best ones).
const EMBEDDING_CLIPS: usize = 40;

#[derive(Subcommand, Clone)]
pub enum VoiceCmd {
    /// Enroll a merchant's voice from recordings (WAV, MP3, FLAC, M4A/AAC, OGG): VAD, clips,
    /// quality report, voice profile and speaker embedding into VOICES/NAME.
    Enroll {
        #[arg(required = true)]
        samples: Vec<PathBuf>,
        #[arg(long)]
        name: String,
        /// Where voices live (default: voices/).
        #[arg(long)]
        voices_dir: Option<PathBuf>,
        /// A whisper.cpp ggml model: transcribe the clips and write an LJSpeech/Piper dataset.
        #[arg(long)]
        whisper_model: Option<PathBuf>,
        /// Spoken language of the sample: zh-CN or en-US.
        #[arg(long, default_value = "zh-CN")]
        lang: String,
        /// Replace a voice of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// Speaker similarity (GE2E), pitch and rate error of the host's speech to the enrolled
    /// voice on 20 fixed sentences, before and after matching; saved as similarity.json.
    Report {
        name: String,
        #[arg(long)]
        voices_dir: Option<PathBuf>,
    },
}

pub fn run(cmd: VoiceCmd) -> Result<()> {
    match cmd {
        VoiceCmd::Enroll {
            samples,
            name,
            voices_dir: dir,
            whisper_model,
            lang,
            replace,
        } => {
            let language = Language::from_tag(&lang)
                .with_context(|| format!("unknown language `{lang}`: use zh-CN or en-US"))?;
            let mut opts = EnrollOptions::new(samples, name);
            opts.voices_dir = voices_dir(dir.as_deref());
            opts.whisper_model = whisper_model;
            opts.language = language;
            opts.progress = true;
            opts.replace = replace;
            let done = enroll_voice(&opts)?;
            let r = &done.report;
            for f in &r.files {
                println!("{}: {}", f.path, f.verdict.describe());
            }
            println!(
                "{:.1} min of speech in {} clips; SNR {}; loudness spread {}",
                r.summary.speech_minutes,
                r.summary.clips,
                r.summary
                    .snr_db
                    .map_or("n/a".into(), |v| format!("{v:.0} dB")),
                r.summary
                    .loudness_spread_lu
                    .map_or("n/a".into(), |v| format!("{v:.1} LU"))
            );
            for w in &r.warnings {
                println!("warning: {w}");
            }
            println!(
                "voice `{}` ready in {} (report: {}/report.md)",
                done.voice.name,
                done.dir.display(),
                done.dir.display()
            );
        }
        VoiceCmd::Report {
            name,
            voices_dir: dir,
        } => {
            let (file, dir) = VoiceFile::load(&voices_dir(dir.as_deref()), &name)?;
            let r = similarity_report(&file, &dir)?;
            print!("{r}");
            println!("saved {}", dir.join("similarity.json").display());
        }
    }
    Ok(())
}

/// Enrollment plus what the voice file needs beyond the clips: the profile (timbre analysis
/// of every reference clip) and the GE2E speaker embedding (of the best clips), in the same
/// atomic step.
fn enroll_voice(opts: &EnrollOptions) -> Result<enroll::Enrolled> {
    let encoder = SpeakerEncoder::load_default()?;
    enroll::enroll_with(opts, |file: &mut VoiceFile, clips: &[ClipAudio]| {
        // A spinner for the last step (seconds on a long sample); indicatif draws nothing when
        // stderr is not a terminal.
        let spinner = if opts.progress {
            indicatif::ProgressBar::new_spinner()
        } else {
            indicatif::ProgressBar::hidden()
        };
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner.set_message(format!("voice profile of {} clips", clips.len()));
        let audio: Vec<(&[f32], u32)> = clips
            .iter()
            .map(|c| (c.pcm.as_slice(), c.sample_rate))
            .collect();
        file.profile = Some(timbre::analyze(&audio)?);
        let best = &audio[..audio.len().min(EMBEDDING_CLIPS)];
        spinner.set_message(format!("speaker embedding (GE2E) of {} clips", best.len()));
        file.speaker_embedding = encoder.embed_speaker(best)?;
        spinner.finish_and_clear();
        Ok::<(), anyhow::Error>(())
    })
}

fn similarity_report(file: &VoiceFile, dir: &Path) -> Result<SimilarityReport> {
    let encoder = SpeakerEncoder::load_default()?;
    let r = report::similarity(file, dir, &encoder)?;
    std::fs::write(
        dir.join("similarity.json"),
        serde_json::to_string_pretty(&r)?,
    )?;
    Ok(r)
}

/// `anchor say --voice`: how close this line is to the enrolled speaker.
pub fn print_similarity(file: &VoiceFile, chunk: &SpeechChunk) -> Result<()> {
    let encoder = SpeakerEncoder::load_default()?;
    let emb = encoder.embed_utterance(&chunk.pcm, chunk.sample_rate)?;
    println!(
        "GE2E similarity to voice `{}`: {:.3}",
        file.name,
        cosine(&emb, &file.speaker_embedding)
    );
    Ok(())
}

/// `anchor bench voice`: enrollment speed and memory on `minutes` of generated speech;
/// synthesis speed and first-audio latency per engine; GE2E similarity before and after
/// matching, toward a target speaker made by shifting the built-in voice down with sox (pitch
/// and formants together, as a different vocal tract would), so the matcher has real work.
pub fn bench(minutes: f64, out: &Path) -> Result<()> {
    let minutes = if minutes > 0.0 { minutes } else { 30.0 };
    println!("enrollment of {minutes:.0} min of generated speech (no whisper):");
    let b = enroll::bench(minutes)?;
    println!("{b}");

    std::fs::create_dir_all(out)?;
    let voices = out.join("voices");
    let sample = out.join("target-speaker.wav");
    make_target_sample(&sample, 180.0)?;
    let mut opts = EnrollOptions::new(vec![sample], "bench-target");
    opts.voices_dir = voices.clone();
    opts.language = Language::EnUs;
    opts.replace = true;
    let done = enroll_voice(&opts)?;
    let r = similarity_report(&done.voice, &done.dir)?;
    print!("{r}");

    println!("synthesis, per sentence of the report set:");
    println!(
        "{:<28} {:>10} {:>16} {:>16}",
        "engine", "realtime", "first audio p50", "first audio max"
    );
    let engines: Vec<(&str, Box<dyn Synthesizer>)> = vec![
        ("builtin", Box::new(DefaultVoice::new()?)),
        (
            "builtin + timbre matching",
            voice::engine::open_file(&done.voice, &done.dir)?,
        ),
    ];
    for (name, mut engine) in engines {
        let (mut audio, mut wall, mut firsts) = (0.0, 0.0, Vec::new());
        for (text, language) in report::SENTENCES {
            let t = Instant::now();
            let chunk = engine.synthesize(&Utterance {
                text: text.to_owned(),
                language,
                emphasis: Emphasis::Normal,
            })?;
            let w = t.elapsed().as_secs_f64();
            // One sentence is one chunk: its first audio is out when it is synthesized.
            firsts.push(w);
            wall += w;
            audio += chunk.duration_secs();
        }
        firsts.sort_by(f64::total_cmp);
        println!(
            "{:<28} {:>9.1}x {:>14.0} ms {:>14.0} ms",
            name,
            audio / wall.max(1e-9),
            firsts[firsts.len() / 2] * 1000.0,
            firsts[firsts.len() - 1] * 1000.0
        );
    }
    Ok(())
}

/// `secs` of the built-in English voice, lowered 4 semitones by sox `pitch` (formants move
/// with it), as a WAV at 48 kHz.
fn make_target_sample(path: &Path, secs: f64) -> Result<()> {
    let mut v = DefaultVoice::new()?;
    let mut pcm = Vec::new();
    let gap = vec![0.0f32; 48_000 * 6 / 10];
    'fill: loop {
        for (text, language) in report::SENTENCES.iter().chain(timbre_sentences().iter()) {
            let c = v.synthesize(&Utterance {
                text: (*text).to_owned(),
                language: *language,
                emphasis: Emphasis::Normal,
            })?;
            pcm.extend_from_slice(&c.pcm);
            pcm.extend_from_slice(&gap);
            if pcm.len() as f64 >= secs * 48_000.0 {
                break 'fill;
            }
        }
    }
    let raw = path.with_extension("raw.wav");
    voice::write_wav(
        &raw,
        &SpeechChunk {
            pcm,
            sample_rate: 48_000,
            ..SpeechChunk::default()
        },
    )?;
    let st = std::process::Command::new("sox")
        .arg(&raw)
        .arg(path)
        .args(["pitch", "-400"])
        .status()
        .context("running sox (scripts/setup.sh installs it)")?;
    anyhow::ensure!(st.success(), "sox failed on {}", raw.display());
    std::fs::remove_file(&raw).ok();
    Ok(())
}

fn timbre_sentences() -> Vec<(&'static str, Language)> {
    timbre::ZH_SENTENCES
        .iter()
        .map(|t| (*t, Language::ZhCn))
        .chain(timbre::EN_SENTENCES.iter().map(|t| (*t, Language::EnUs)))
        .collect()
}
