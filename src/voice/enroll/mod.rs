//! Voice enrollment: a merchant's recordings in, a voice folder out.
//!
//! In: sample files ([`EnrollOptions::samples`]: WAV, MP3, FLAC, M4A/AAC, Ogg Vorbis, the
//! format found from the content), a name, and optionally a whisper.cpp ggml model. Out:
//! `VOICES/NAME/` ([`Enrolled`]):
//!
//! ```text
//! voice.yaml            VoiceFile: `enrollment` and `reference_clips` (best first) filled
//! report.md, report.json  the QualityReport
//! clips/0001.wav ...    every kept clip, best first: mono 16-bit PCM, 22 050 Hz, -23 LUFS
//! dataset/metadata.csv  with a whisper model: `id|text` lines (LJSpeech / Piper layout)
//! dataset/wavs/0001.wav ...
//! ```
//!
//! Stages, streamed block by block over each file (memory does not grow with its length):
//! decode ([`decode`](self) — symphonia) → resample (rubato: 22 050 Hz for the clips,
//! 16 kHz for the VAD) → loudness (ebur128: the file metered; each clip normalized to
//! [`TARGET_LUFS`] with a [`TRUE_PEAK_CEILING_DBTP`] ceiling) → voice activity detection
//! (Silero VAD through ONNX Runtime) → segmentation (clips of [`MIN_CLIP_S`]–[`MAX_CLIP_S`]
//! cut in pauses). Then, over all files: quality judgement (per-file verdict, dropped clips
//! and why), ranking, transcription (whisper-rs) and the dataset.
//!
//! A file that cannot be used gets a verdict in the report and enrollment goes on with the
//! others; only when nothing usable remains does enrollment fail
//! ([`EnrollError::NothingUsable`], saying what to record). The voice folder is built in a
//! hidden sibling (`.NAME.enroll-*`) and renamed into place at the very end: a failed or
//! interrupted enrollment never leaves a `VOICES/NAME/` behind.
//!
//! Files: `decode.rs`, `loudness.rs`, `vad.rs`, `segment.rs` (the stages),
//! `pipeline.rs` (one file through them), `analysis.rs` (file verdicts), `report.rs`,
//! `transcribe.rs`, `dataset.rs`, `progress.rs`, `bench.rs`.

mod analysis;
mod bench;
mod dataset;
mod decode;
mod loudness;
mod pipeline;
mod progress;
mod report;
mod segment;
mod transcribe;
mod vad;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use analysis::{LONG_SILENCE_S, MIN_FILE_S};
pub use bench::{EnrollBench, StageBench, bench, peak_rss_mib, write_speech_sample};
pub use dataset::{DATASET_DIR, METADATA, WAVS_DIR, clean_text};
pub use loudness::{TARGET_LUFS, TRUE_PEAK_CEILING_DBTP, measure as measure_loudness};
pub use report::{
    Background, ClipReport, DropReason, DroppedClip, FileReport, Processing, QualityReport,
    Settings, Silence, SpeechAmount, StageTimes, Summary, Transcription, Verdict,
};
pub use segment::{MAX_CLIP_S, MIN_CLIP_S};

use super::Language;
use super::voicefile::{Enrollment, VoiceFile, VoiceFileError};
use pipeline::{Candidate, Runner};

/// Sample rate of the clips, the dataset and [`ClipAudio::pcm`] (Piper's 22 050 Hz).
pub const CLIP_SAMPLE_RATE: u32 = 22_050;
/// Clips whose speech is less than this far above the file's noise floor are dropped (dB).
pub const MIN_SNR_DB: f64 = 15.0;
/// Under this much speech the report warns (minutes).
pub const WARN_SPEECH_MINUTES: f64 = 20.0;
/// What a good voice wants (minutes).
pub const RECOMMENDED_SPEECH_MINUTES: f64 = 30.0;
/// Reference clips (voice.yaml `reference_clips`, [`Enrolled::clips`]): the best clips up to
/// this many ...
pub const REFERENCE_MAX_CLIPS: usize = 60;
/// ... and this much speech (seconds).
pub const REFERENCE_MAX_SPEECH_S: f64 = 300.0;
/// The clips folder inside a voice folder.
pub const CLIPS_DIR: &str = "clips";
/// Report file names.
pub const REPORT_MD: &str = "report.md";
pub const REPORT_JSON: &str = "report.json";

/// What to enroll.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollOptions {
    /// The recordings, in any order; each is judged on its own.
    pub samples: Vec<PathBuf>,
    /// The voice name: the folder name under `voices_dir`.
    pub name: String,
    /// Where voices live (see [`crate::voice::voicefile::voices_dir`]).
    pub voices_dir: PathBuf,
    /// A whisper.cpp ggml model: when given, every clip is transcribed and the dataset written.
    pub whisper_model: Option<PathBuf>,
    /// Spoken language (for Whisper).
    pub language: Language,
    /// Progress bars on stderr.
    pub progress: bool,
    /// Replace an existing voice of the same name (atomically: the old one stays until the
    /// new one is complete). When false, an existing voice is an error.
    pub replace: bool,
}

impl EnrollOptions {
    /// Defaults: the standard voices folder, no whisper, Mandarin, no progress bars, no
    /// replacing.
    pub fn new(samples: Vec<PathBuf>, name: impl Into<String>) -> EnrollOptions {
        EnrollOptions {
            samples,
            name: name.into(),
            voices_dir: super::voicefile::voices_dir(None),
            whisper_model: None,
            language: Language::default(),
            progress: false,
            replace: false,
        }
    }
}

/// A reference clip with its audio.
#[derive(Clone, PartialEq)]
pub struct ClipAudio {
    /// `0001`, ...: rank order (best first).
    pub id: String,
    /// The WAV file (inside the voice folder once enrollment returns; inside the staging
    /// folder while the `finish` hook of [`enroll_with`] runs).
    pub path: PathBuf,
    /// Mono, [`CLIP_SAMPLE_RATE`] Hz, loudness-normalized, in `[-1, 1]`.
    pub pcm: Vec<f32>,
    pub sample_rate: u32,
}

impl std::fmt::Debug for ClipAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipAudio")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("samples", &self.pcm.len())
            .field("sample_rate", &self.sample_rate)
            .finish()
    }
}

/// A finished enrollment.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// `VOICES/NAME`.
    pub dir: PathBuf,
    /// As saved in `dir/voice.yaml`.
    pub voice: VoiceFile,
    pub report: QualityReport,
    /// The reference clips, best first (voice.yaml `reference_clips`), with their audio.
    /// All kept clips are in `dir/clips/` and listed in `report.clips`.
    pub clips: Vec<ClipAudio>,
}

/// Errors of the enrollment stage. None is recoverable by retrying as is; each says what to
/// change. Problems with single sample files are not errors: they are verdicts in the report.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// No sample file was given.
    #[error("no sample files given: `anchor voice enroll SAMPLE... --name NAME`")]
    NoSamples,
    /// The name cannot be a folder name.
    #[error("invalid voice name `{name}`: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// A voice of that name exists and replacing was not asked for.
    #[error(
        "voice `{name}` already exists in {dir}: choose another --name or remove {dir}/{name} first"
    )]
    VoiceExists { name: String, dir: PathBuf },
    /// ONNX Runtime or the Silero VAD model is missing.
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    /// ONNX Runtime rejected the Silero VAD model.
    #[error(
        "cannot load the Silero VAD model {path}: {source}; run scripts/setup.sh to fetch it again"
    )]
    VadModel { path: PathBuf, source: ort::Error },
    /// Running the VAD failed.
    #[error("voice activity detection failed: {0}")]
    Vad(#[from] ort::Error),
    /// `--whisper-model` names no file.
    #[error(
        "whisper model not found: {0} (--whisper-model takes a whisper.cpp ggml file such as ggml-base.bin)"
    )]
    WhisperModelMissing(PathBuf),
    /// whisper.cpp could not load the model.
    #[error("cannot load whisper model {path}: {source} (is it a whisper.cpp ggml file?)")]
    WhisperModel {
        path: PathBuf,
        source: whisper_rs::WhisperError,
    },
    /// whisper.cpp failed on a clip.
    #[error("transcribing clip {clip} failed: {source}")]
    Transcribe {
        clip: String,
        source: whisper_rs::WhisperError,
    },
    /// The resampler could not be set up for a sample rate, or failed.
    #[error("cannot resample: {0}")]
    Resample(#[from] crate::voice::resample::ResampleError),
    /// Loudness metering failed.
    #[error("loudness measurement failed: {0}")]
    Loudness(#[from] ebur128::Error),
    /// Writing the voice folder failed (disk full, permissions).
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing or reading back a clip failed.
    #[error("cannot write {path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    /// Serializing the report failed.
    #[error("cannot write the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    VoiceFile(#[from] VoiceFileError),
    /// Every sample was rejected or every clip dropped.
    #[error(
        "no usable speech in the samples:\n{summary}\nRecord at least {min:.0} minutes ({rec:.0} recommended) of one person speaking clearly in a quiet room, saved as WAV or FLAC at 44.1 or 48 kHz (MP3/M4A work too), and run `anchor voice enroll` again.",
        min = WARN_SPEECH_MINUTES,
        rec = RECOMMENDED_SPEECH_MINUTES
    )]
    NothingUsable { summary: String },
    /// The benchmark could not synthesize its sample.
    #[error("cannot generate speech for the benchmark: {0}")]
    Voice(#[from] super::VoiceError),
}

/// Enrolls a voice (see the module docs). Same as [`enroll_with`] with nothing to add.
pub fn enroll(opts: &EnrollOptions) -> Result<Enrolled, EnrollError> {
    enroll_with(opts, |_, _| Ok::<(), EnrollError>(()))
}

/// Enrolls a voice; `finish` runs once everything is written but before the folder is moved
/// into place, so what it adds to the [`VoiceFile`] (the profile, the speaker embedding) is
/// saved with it and is part of the same atomic step. An error from `finish` aborts the
/// enrollment and leaves no voice folder.
pub fn enroll_with<E, F>(opts: &EnrollOptions, finish: F) -> Result<Enrolled, E>
where
    E: From<EnrollError>,
    F: FnOnce(&mut VoiceFile, &[ClipAudio]) -> Result<(), E>,
{
    let started = Instant::now();
    let _span = tracing::info_span!("enroll", name = %opts.name).entered();
    validate_name(&opts.name)?;
    if opts.samples.is_empty() {
        return Err(EnrollError::NoSamples.into());
    }
    let final_dir = opts.voices_dir.join(&opts.name);
    if final_dir.exists() && !opts.replace {
        return Err(EnrollError::VoiceExists {
            name: opts.name.clone(),
            dir: opts.voices_dir.clone(),
        }
        .into());
    }
    std::fs::create_dir_all(&opts.voices_dir).map_err(|source| EnrollError::Io {
        path: opts.voices_dir.clone(),
        source,
    })?;
    // Models first: fail before an hour of audio is processed, not after.
    let mut transcriber = match opts.whisper_model.as_deref() {
        Some(m) => Some(transcribe::Transcriber::load(m, opts.language)?),
        None => None,
    };
    let vad = vad::Silero::load(&crate::models::silero_vad())?;
    let staging = Staging::create(&opts.voices_dir, &opts.name)?;
    let clips_dir = staging.path.join(CLIPS_DIR);
    mkdir(&clips_dir)?;

    // Streaming stages, file by file.
    let total_s: f64 = opts
        .samples
        .iter()
        .filter_map(|p| estimated_seconds(p))
        .sum();
    let mut runner = Runner {
        vad,
        clips_dir: clips_dir.clone(),
        progress: progress::Progress::new(opts.progress, total_s),
        times: StageTimes::default(),
        done: [0.0; 5],
        next_cut: 0,
    };
    let mut outcomes = Vec::with_capacity(opts.samples.len());
    for (i, path) in opts.samples.iter().enumerate() {
        outcomes.push(pipeline::process_file(
            &mut runner,
            i,
            path,
            &path.display().to_string(),
        )?);
    }
    runner.progress.streaming_done(runner.done, &runner.times);
    let media_s = runner.done[0];
    let t_finish = Instant::now();

    let mut files = Vec::new();
    let mut kept: Vec<Candidate> = Vec::new();
    let mut dropped = Vec::new();
    let (mut frames, mut clipped) = (0u64, 0u64);
    let mut snr_acc = (0.0, 0.0);
    for o in outcomes {
        files.push(o.report);
        kept.extend(o.kept);
        dropped.extend(o.dropped);
        frames += o.frames;
        clipped += o.clipped;
        if let Some((snr, w)) = o.snr_weight {
            snr_acc.0 += snr * w;
            snr_acc.1 += w;
        }
    }
    if kept.is_empty() {
        let summary = files
            .iter()
            .map(|f| format!("  {}: {}", f.path, f.verdict.describe()))
            .collect::<Vec<_>>()
            .join("\n");
        tracing::warn!("nothing usable; no voice written");
        return Err(EnrollError::NothingUsable { summary }.into());
    }

    // Rank, name, pick the references.
    let mut loud: Vec<f64> = kept.iter().map(|c| c.norm.loudness_lufs).collect();
    loud.sort_by(f64::total_cmp);
    let pct = |q: f64| loud[((loud.len() - 1) as f64 * q).round() as usize];
    let median = pct(0.5);
    let mut scored: Vec<(f64, Candidate)> =
        kept.into_iter().map(|c| (score(&c, median), c)).collect();
    scored.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.file.cmp(&b.1.file))
            .then(a.1.span.cut_start.total_cmp(&b.1.span.cut_start))
    });
    let width = scored.len().to_string().len().max(4);
    let mut clips = Vec::with_capacity(scored.len());
    let mut ref_speech = 0.0;
    for (rank, (score, c)) in scored.iter().enumerate() {
        let id = format!("{:0width$}", rank + 1);
        let rel = format!("{CLIPS_DIR}/{id}.wav");
        let dest = staging.path.join(&rel);
        std::fs::rename(&c.path, &dest).map_err(|source| EnrollError::Io {
            path: dest.clone(),
            source,
        })?;
        let speech = c.span.speech_end - c.span.speech_start;
        let reference = rank == 0
            || (rank < REFERENCE_MAX_CLIPS && ref_speech + speech <= REFERENCE_MAX_SPEECH_S);
        if reference {
            ref_speech += speech;
        }
        clips.push(ClipReport {
            id,
            path: rel,
            file: c.file,
            start_s: c.span.cut_start,
            end_s: c.span.cut_end,
            speech_start_s: c.span.speech_start,
            speech_end_s: c.span.speech_end,
            speech_s: speech,
            loudness_lufs: c.norm.loudness_lufs,
            gain_db: c.norm.gain_db,
            true_peak_dbtp: c.norm.true_peak_dbtp,
            peak_limited: c.norm.peak_limited,
            snr_db: c.snr_db,
            score: *score,
            reference,
            text: None,
        });
    }
    runner.times.finish += t_finish.elapsed().as_secs_f64();

    // Transcription and dataset.
    let mut transcription = None;
    if let (Some(tr), Some(model)) = (transcriber.as_mut(), opts.whisper_model.as_ref()) {
        let t = Instant::now();
        let total = clips.len();
        runner.progress.start_transcribe(total);
        let mut entries = Vec::with_capacity(total);
        let mut empty = 0;
        for (k, clip) in clips.iter_mut().enumerate() {
            let path = staging.path.join(&clip.path);
            let pcm = read_wav(&path)?;
            let pcm16 = crate::voice::resample::resample(&pcm, CLIP_SAMPLE_RATE, transcribe::RATE)
                .map_err(EnrollError::from)?;
            let text = clean_text(&tr.transcribe(&pcm16, &clip.id)?);
            if text.is_empty() {
                empty += 1;
            } else {
                entries.push((clip.id.clone(), path, text.clone()));
            }
            clip.text = Some(text);
            runner.progress.transcribed(k + 1, total);
        }
        dataset::write(&staging.path, &entries)?;
        transcription = Some(Transcription {
            model: model.display().to_string(),
            language: opts.language.tag().to_owned(),
            dataset: DATASET_DIR.to_owned(),
            utterances: entries.len(),
            empty,
        });
        runner.times.transcribe += t.elapsed().as_secs_f64();
    }
    runner.progress.finish();

    let t_finish = Instant::now();
    let speech_minutes = clips.iter().map(|c| c.speech_s).sum::<f64>() / 60.0;
    let used_files: Vec<&FileReport> = files.iter().filter(|f| f.verdict.is_used()).collect();
    let long_silences = used_files.iter().map(|f| f.long_silences.len()).sum();
    let long_silence_minutes = used_files
        .iter()
        .flat_map(|f| f.long_silences.iter())
        .map(|s| s.end_s - s.start_s)
        .sum::<f64>()
        / 60.0
        + 0.0;
    let summary = Summary {
        speech_minutes,
        clips: clips.len(),
        speech: if speech_minutes >= RECOMMENDED_SPEECH_MINUTES {
            SpeechAmount::Enough
        } else if speech_minutes >= WARN_SPEECH_MINUTES {
            SpeechAmount::Usable
        } else {
            SpeechAmount::Low
        },
        snr_db: (snr_acc.1 > 0.0).then(|| snr_acc.0 / snr_acc.1),
        clipped_fraction: if frames > 0 {
            clipped as f64 / frames as f64
        } else {
            0.0
        },
        clip_loudness_p10_lufs: Some(pct(0.1)),
        clip_loudness_median_lufs: Some(median),
        clip_loudness_p90_lufs: Some(pct(0.9)),
        loudness_spread_lu: Some(pct(0.9) - pct(0.1)),
        long_silences,
        long_silence_minutes,
        music_or_noise_suspected: files.iter().any(|f| {
            f.background.is_some()
                || matches!(
                    f.verdict,
                    Verdict::NoSpeech {
                        music_suspected: true,
                        ..
                    } | Verdict::NoSpeech {
                        noise_suspected: true,
                        ..
                    }
                )
        }),
        files_used: used_files.len(),
        files_rejected: files.len() - used_files.len(),
    };
    let warnings = warnings(&summary, &files);
    for w in &warnings {
        tracing::debug!("{w}"); // in the report; callers print them
    }
    let created = format!("{:.0}", jiff::Timestamp::now());
    let mut report = QualityReport {
        version: 1,
        name: opts.name.clone(),
        created: created.clone(),
        settings: Settings {
            target_lufs: TARGET_LUFS,
            true_peak_ceiling_dbtp: TRUE_PEAK_CEILING_DBTP,
            clip_sample_rate: CLIP_SAMPLE_RATE,
            min_clip_s: MIN_CLIP_S,
            max_clip_s: MAX_CLIP_S,
            min_snr_db: MIN_SNR_DB,
            vad: "Silero VAD v5/v6 (ONNX), 32 ms windows, speech ≥ 0.5, silence < 0.35".into(),
        },
        summary,
        files,
        clips,
        dropped,
        warnings,
        transcription,
        processing: Processing {
            media_s,
            wall_s: 0.0,
            stages: runner.times,
        },
    };

    let mut voice = VoiceFile::new(&opts.name);
    voice.enrollment = Some(Enrollment {
        speech_minutes: (speech_minutes * 10.0).round() / 10.0,
        clips: report.clips.len(),
        sources: opts
            .samples
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        created,
        dataset: report
            .transcription
            .as_ref()
            .map(|_| PathBuf::from(DATASET_DIR)),
    });
    let mut refs = Vec::new();
    for c in report.clips.iter().filter(|c| c.reference) {
        voice.reference_clips.push(PathBuf::from(&c.path));
        let path = staging.path.join(&c.path);
        refs.push(ClipAudio {
            id: c.id.clone(),
            pcm: read_wav(&path)?,
            path,
            sample_rate: CLIP_SAMPLE_RATE,
        });
    }
    finish(&mut voice, &refs)?;
    voice.save(&staging.path).map_err(EnrollError::from)?;
    report.processing.stages.finish += t_finish.elapsed().as_secs_f64();
    report.processing.wall_s = started.elapsed().as_secs_f64();
    write_file(
        &staging.path.join(REPORT_JSON),
        serde_json::to_string_pretty(&report)
            .map_err(EnrollError::from)?
            .as_bytes(),
    )?;
    write_file(
        &staging.path.join(REPORT_MD),
        report.to_markdown().as_bytes(),
    )?;
    let staging_path = staging.path.clone();
    staging.commit(&final_dir, opts.replace)?;
    for r in &mut refs {
        if let Ok(rel) = r.path.strip_prefix(&staging_path) {
            r.path = final_dir.join(rel);
        }
    }
    tracing::info!(
        dir = %final_dir.display(),
        speech_minutes,
        clips = report.clips.len(),
        wall_s = report.processing.wall_s,
        "voice enrolled"
    );
    Ok(Enrolled {
        dir: final_dir,
        voice,
        report,
        clips: refs,
    })
}

/// Ranking score in [0, 1]: SNR, clip length (3–10 s best), level consistent with the other
/// clips, not peak-limited.
fn score(c: &Candidate, median_lufs: f64) -> f64 {
    let snr = c.snr_db.clamp(0.0, 50.0) / 50.0;
    let len = c.span.len();
    let len_term = if (3.0..=10.0).contains(&len) {
        1.0
    } else if len < 3.0 {
        0.3 + 0.7 * ((len - MIN_CLIP_S).max(0.0) / (3.0 - MIN_CLIP_S))
    } else {
        1.0 - 0.7 * ((len - 10.0) / (MAX_CLIP_S - 10.0)).min(1.0)
    };
    let level = 1.0 - ((c.norm.loudness_lufs - median_lufs).abs() / 10.0).min(1.0);
    let unlimited = if c.norm.peak_limited { 0.0 } else { 1.0 };
    0.45 * snr + 0.25 * len_term + 0.2 * level + 0.1 * unlimited
}

fn warnings(s: &Summary, files: &[FileReport]) -> Vec<String> {
    let mut w = Vec::new();
    match s.speech {
        SpeechAmount::Low => w.push(format!(
            "only {:.1} minutes of usable speech: a voice needs at least {WARN_SPEECH_MINUTES:.0} minutes ({RECOMMENDED_SPEECH_MINUTES:.0} recommended); record more and enroll again with all the samples",
            s.speech_minutes
        )),
        SpeechAmount::Usable => w.push(format!(
            "{:.1} minutes of usable speech: enough to start, {RECOMMENDED_SPEECH_MINUTES:.0} minutes are recommended",
            s.speech_minutes
        )),
        SpeechAmount::Enough => {}
    }
    let rejected: Vec<String> = files
        .iter()
        .filter(|f| !f.verdict.is_used())
        .map(|f| format!("{} ({})", f.path, f.verdict.describe()))
        .collect();
    if !rejected.is_empty() {
        w.push(format!(
            "{} of {} files not used: {}",
            rejected.len(),
            files.len(),
            rejected.join("; ")
        ));
    }
    if let Some(snr) = s.snr_db.filter(|x| *x < 25.0) {
        w.push(format!(
            "noisy recording (SNR {snr:.0} dB): record in a quiet room, close to the microphone"
        ));
    }
    if s.clipped_fraction > 0.0 {
        w.push("clipping (distortion) found: lower the recording level; clips with clipping were dropped".into());
    }
    if let Some(spread) = s.loudness_spread_lu.filter(|x| *x > 10.0) {
        w.push(format!(
            "the level varies a lot between clips ({spread:.0} LU between the 10th and 90th percentile): keep the same distance to the microphone"
        ));
    }
    let bg: Vec<&str> = files
        .iter()
        .filter(|f| f.background.is_some() && f.verdict.is_used())
        .map(|f| f.path.as_str())
        .collect();
    if !bg.is_empty() {
        w.push(format!(
            "music or noise where nobody speaks in {}: record without background music",
            bg.join(", ")
        ));
    }
    w
}

fn validate_name(name: &str) -> Result<(), EnrollError> {
    let bad = |reason| {
        Err(EnrollError::InvalidName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return bad("it is empty");
    }
    if name.starts_with('.') {
        return bad("it may not start with `.`");
    }
    if name
        .chars()
        .any(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
    {
        return bad("it may not contain `/`, `\\`, `:` or control characters");
    }
    if name.len() > 100 {
        return bad("it is longer than 100 bytes");
    }
    Ok(())
}

/// Length of a sample from its header (for the progress bars), when known.
fn estimated_seconds(path: &Path) -> Option<f64> {
    let s = decode::open(path).ok()?;
    s.info
        .n_frames
        .map(|n| n as f64 / f64::from(s.info.sample_rate))
}

fn mkdir(path: &Path) -> Result<(), EnrollError> {
    std::fs::create_dir_all(path).map_err(|source| EnrollError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), EnrollError> {
    std::fs::write(path, bytes).map_err(|source| EnrollError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a clip back (mono 16-bit).
fn read_wav(path: &Path) -> Result<Vec<f32>, EnrollError> {
    let wav_err = |source| EnrollError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let reader = hound::WavReader::open(path).map_err(wav_err)?;
    reader
        .into_samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32768.0).map_err(wav_err))
        .collect()
}

/// The voice folder being built: a hidden sibling of the final folder, removed on drop unless
/// committed.
struct Staging {
    path: PathBuf,
    committed: bool,
}

impl Staging {
    fn create(voices: &Path, name: &str) -> Result<Staging, EnrollError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = voices.join(format!(".{name}.enroll-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).map_err(|source| EnrollError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Staging {
            path,
            committed: false,
        })
    }

    /// Moves the folder to `dest` (replacing an existing voice when `replace`).
    fn commit(mut self, dest: &Path, replace: bool) -> Result<(), EnrollError> {
        let io = |source| EnrollError::Io {
            path: dest.to_path_buf(),
            source,
        };
        if dest.exists() {
            if !replace {
                return Err(EnrollError::VoiceExists {
                    name: dest
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    dir: dest.parent().map(Path::to_path_buf).unwrap_or_default(),
                });
            }
            let old = self.path.with_extension("old");
            std::fs::rename(dest, &old).map_err(io)?;
            if let Err(e) = std::fs::rename(&self.path, dest) {
                let _ = std::fs::rename(&old, dest);
                return Err(io(e));
            }
            if let Err(e) = std::fs::remove_dir_all(&old) {
                tracing::warn!(path = %old.display(), error = %e, "could not remove the replaced voice");
            }
        } else {
            std::fs::rename(&self.path, dest).map_err(io)?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            if let Err(e) = std::fs::remove_dir_all(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "could not remove the staging folder");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_folder_names_are_refused() {
        for bad in ["", " ", ".hidden", "a/b", "..", "a\\b"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["lin", "林小姐", "shop-01_v2"] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn nothing_usable_says_what_to_do() {
        let e = EnrollError::NothingUsable {
            summary: "  a.wav: silent".into(),
        };
        let msg = e.to_string();
        assert!(
            msg.contains("a.wav: silent") && msg.contains("Record at least 20 minutes"),
            "{msg}"
        );
    }
}
