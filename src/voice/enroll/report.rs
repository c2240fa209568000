//! The quality report: `report.json` (this module's types, serialized as they are) and
//! `report.md` (the same, for people).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Everything enrollment found, per file and per clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    pub version: u32,
    pub name: String,
    /// RFC 3339.
    pub created: String,
    pub settings: Settings,
    pub summary: Summary,
    /// One entry per sample file, in the order given.
    pub files: Vec<FileReport>,
    /// Kept clips, best first.
    pub clips: Vec<ClipReport>,
    /// Clips cut from usable files and then dropped, with the reason.
    pub dropped: Vec<DroppedClip>,
    /// What the user should know, most important first.
    pub warnings: Vec<String>,
    /// Whisper transcription, when a model was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcription: Option<Transcription>,
    pub processing: Processing,
}

/// The targets and limits enrollment used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Integrated loudness every clip is normalized to (EBU R128, LUFS).
    pub target_lufs: f64,
    /// True-peak ceiling (dBTP): a clip whose peaks would pass it gets less gain.
    pub true_peak_ceiling_dbtp: f64,
    /// Clips: mono 16-bit PCM WAV at this rate.
    pub clip_sample_rate: u32,
    pub min_clip_s: f64,
    pub max_clip_s: f64,
    /// Clips with a lower speech-to-noise ratio are dropped.
    pub min_snr_db: f64,
    /// Voice activity detection (model and thresholds).
    pub vad: String,
}

/// How much speech there is, against what a voice needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeechAmount {
    /// At least the recommended 30 minutes.
    Enough,
    /// 20–30 minutes: usable, more is better.
    Usable,
    /// Under 20 minutes: the voice will be weak.
    Low,
}

/// The headline numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Speech in the kept clips (pads excluded), minutes.
    pub speech_minutes: f64,
    pub clips: usize,
    pub speech: SpeechAmount,
    /// Speech-to-noise ratio over the used files (dB; speech-weighted mean).
    pub snr_db: Option<f64>,
    /// Clipped samples over all samples of the used files.
    pub clipped_fraction: f64,
    /// Integrated loudness of the kept clips before normalization: 10th, 50th and 90th
    /// percentile (LUFS) and the spread p90 − p10 (LU).
    pub clip_loudness_p10_lufs: Option<f64>,
    pub clip_loudness_median_lufs: Option<f64>,
    pub clip_loudness_p90_lufs: Option<f64>,
    pub loudness_spread_lu: Option<f64>,
    /// Silences of 5 s or more in the used files.
    pub long_silences: usize,
    pub long_silence_minutes: f64,
    /// Some file has music or steady noise where there is no speech.
    pub music_or_noise_suspected: bool,
    pub files_used: usize,
    pub files_rejected: usize,
}

/// What became of one sample file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// Clips were kept from it.
    Used,
    /// The file does not exist or cannot be opened.
    Missing { reason: String },
    /// Zero bytes, or no audio in it.
    Empty,
    /// Not an audio format anchor reads, or damaged beyond reading.
    Unreadable { reason: String },
    /// Shorter than the minimum a sample must last.
    TooShort { seconds: f64 },
    /// Nothing louder than -60 dBFS.
    Silent { peak_dbfs: f64 },
    /// No speech found; `music_suspected` / `noise_suspected` when it is loud all along.
    NoSpeech {
        music_suspected: bool,
        noise_suspected: bool,
    },
    /// Telephone-band or low-rate audio: nothing above ~4 kHz.
    BandLimited { detail: String },
    /// Speech was found but every clip was dropped (see the clips' reasons).
    NoUsableClips,
}

impl Verdict {
    pub fn is_used(&self) -> bool {
        matches!(self, Verdict::Used)
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Used => "used".into(),
            Verdict::Missing { reason } => format!("missing: {reason}"),
            Verdict::Empty => "empty: the file holds no audio".into(),
            Verdict::Unreadable { reason } => format!("unreadable: {reason}"),
            Verdict::TooShort { seconds } => format!(
                "too short: {seconds:.1} s (a sample must last at least {:.0} s; minutes are better)",
                super::MIN_FILE_S
            ),
            Verdict::Silent { peak_dbfs } => {
                format!("silent: nothing louder than {peak_dbfs:.0} dBFS")
            }
            Verdict::NoSpeech {
                music_suspected,
                noise_suspected,
            } => {
                if *music_suspected {
                    "no speech: music suspected (loud and tonal throughout, the voice detector found no speech)".into()
                } else if *noise_suspected {
                    "no speech: noise suspected (loud throughout, the voice detector found no speech)".into()
                } else {
                    "no speech found".into()
                }
            }
            Verdict::BandLimited { detail } => format!(
                "band-limited: {detail}; a voice trained on it would sound muffled (record with a microphone at 44.1 or 48 kHz)"
            ),
            Verdict::NoUsableClips => {
                "no usable clips: speech was found but every clip was dropped (see the dropped clips)".into()
            }
        }
    }
}

/// Music or noise where nobody speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Background {
    Music,
    Noise,
}

/// A silence of 5 s or more (seconds in the file).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub start_s: f64,
    pub end_s: f64,
}

/// One sample file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    /// As given.
    pub path: String,
    pub verdict: Verdict,
    /// Format found from the content (`MP3`, `WAV`, ...), with symphonia's codec name.
    pub format: Option<String>,
    pub sample_rate: Option<u32>,
    pub channels: Option<usize>,
    pub duration_s: f64,
    /// Speech the voice detector found.
    pub speech_s: f64,
    pub kept_clips: usize,
    pub kept_speech_s: f64,
    pub dropped_clips: usize,
    /// Integrated loudness of the whole file (LUFS).
    pub loudness_lufs: Option<f64>,
    /// Peak window level (dBFS, 32 ms RMS).
    pub peak_dbfs: Option<f64>,
    /// Speech level over the noise floor (dB).
    pub snr_db: Option<f64>,
    /// Noise floor: median level where nobody speaks (dBFS).
    pub noise_floor_dbfs: Option<f64>,
    pub clipped_samples: u64,
    /// Level above 4.5 kHz relative to the full band in the loud speech windows, 90th
    /// percentile (dB). Wideband speech: above -30; telephone audio: below -40.
    pub high_band_db: Option<f64>,
    pub background: Option<Background>,
    pub long_silences: Vec<Silence>,
    pub notes: Vec<String>,
}

impl FileReport {
    pub(crate) fn new(path: &str, verdict: Verdict) -> FileReport {
        FileReport {
            path: path.to_owned(),
            verdict,
            format: None,
            sample_rate: None,
            channels: None,
            duration_s: 0.0,
            speech_s: 0.0,
            kept_clips: 0,
            kept_speech_s: 0.0,
            dropped_clips: 0,
            loudness_lufs: None,
            peak_dbfs: None,
            snr_db: None,
            noise_floor_dbfs: None,
            clipped_samples: 0,
            high_band_db: None,
            background: None,
            long_silences: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A kept clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipReport {
    /// `0001`, ... in rank order; the dataset id too.
    pub id: String,
    /// Relative to the voice folder (`clips/0001.wav`).
    pub path: String,
    /// Index into [`QualityReport::files`].
    pub file: usize,
    /// Where the clip was cut (seconds in the file).
    pub start_s: f64,
    pub end_s: f64,
    /// Where its speech starts and ends (seconds in the file; the pads are outside).
    pub speech_start_s: f64,
    pub speech_end_s: f64,
    /// Speech inside the clip (pads excluded).
    pub speech_s: f64,
    /// Loudness before normalization (LUFS) and the gain applied (dB).
    pub loudness_lufs: f64,
    pub gain_db: f64,
    /// True peak after normalization (dBTP).
    pub true_peak_dbtp: f64,
    /// The true-peak ceiling limited the gain: the clip is quieter than the target.
    pub peak_limited: bool,
    pub snr_db: f64,
    /// Higher is better; clips are ranked by it.
    pub score: f64,
    /// Listed in voice.yaml `reference_clips`.
    pub reference: bool,
    /// Transcript (Whisper), when transcribed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Why a clip was dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DropReason {
    /// Under [`super::MIN_CLIP_S`] even with its pauses.
    TooShort { seconds: f64 },
    /// Speech with no pause for longer than a clip may last.
    TooLong { seconds: f64 },
    /// Samples at full scale (distortion).
    Clipped { samples: u64 },
    /// Too much noise or music under the speech.
    LowSnr { snr_db: f64 },
}

impl DropReason {
    pub fn describe(&self) -> String {
        match self {
            DropReason::TooShort { seconds } => format!("too short ({seconds:.2} s)"),
            DropReason::TooLong { seconds } => {
                format!("too long without a pause ({seconds:.1} s)")
            }
            DropReason::Clipped { samples } => format!("clipped ({samples} samples at full scale)"),
            DropReason::LowSnr { snr_db } => format!("noisy (SNR {snr_db:.1} dB)"),
        }
    }
}

/// A clip that was not kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedClip {
    /// Index into [`QualityReport::files`].
    pub file: usize,
    pub start_s: f64,
    pub end_s: f64,
    pub reason: DropReason,
}

/// The dataset written from the transcripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcription {
    /// Model file as given.
    pub model: String,
    pub language: String,
    /// Relative to the voice folder: `dataset` (holding `metadata.csv` and `wavs/`).
    pub dataset: String,
    /// Lines in metadata.csv.
    pub utterances: usize,
    /// Clips with an empty transcript (left out).
    pub empty: usize,
}

/// Seconds spent per stage (wall clock, this process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimes {
    pub decode: f64,
    pub resample: f64,
    pub loudness: f64,
    pub vad: f64,
    /// Segmentation, cutting and writing the clips.
    pub segment: f64,
    pub transcribe: f64,
    /// Ranking, report, voice.yaml.
    pub finish: f64,
}

impl StageTimes {
    pub fn total(&self) -> f64 {
        self.decode
            + self.resample
            + self.loudness
            + self.vad
            + self.segment
            + self.transcribe
            + self.finish
    }

    /// (name, seconds) in pipeline order.
    pub fn stages(&self) -> [(&'static str, f64); 7] {
        [
            ("decode", self.decode),
            ("resample", self.resample),
            ("loudness", self.loudness),
            ("vad", self.vad),
            ("segment", self.segment),
            ("transcribe", self.transcribe),
            ("finish", self.finish),
        ]
    }
}

/// How long enrollment took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Processing {
    /// Audio decoded (seconds, all files).
    pub media_s: f64,
    /// Wall clock from start to the voice folder in place (seconds).
    pub wall_s: f64,
    pub stages: StageTimes,
}

fn fmt_opt(v: Option<f64>, unit: &str) -> String {
    v.map(|x| format!("{x:.1} {unit}"))
        .unwrap_or_else(|| "–".into())
}

fn fmt_snr(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 60.0 => "≥ 60 dB".into(),
        other => fmt_opt(other, "dB"),
    }
}

fn fmt_time(s: f64) -> String {
    let m = (s / 60.0).floor();
    format!("{}:{:04.1}", m as u64, s - m * 60.0)
}

impl QualityReport {
    /// `report.md`.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let s = &self.summary;
        let _ = writeln!(md, "# Voice enrollment: {}\n", self.name);
        let _ = writeln!(md, "Created {}.\n", self.created);
        let amount = match s.speech {
            SpeechAmount::Enough => "enough for a good voice",
            SpeechAmount::Usable => "usable; 30 minutes are recommended",
            SpeechAmount::Low => {
                "too little for a good voice: record at least 20 minutes, 30 are recommended"
            }
        };
        let _ = writeln!(
            md,
            "**{:.1} minutes of speech** in {} clips — {amount}.\n",
            s.speech_minutes, s.clips
        );
        if !self.warnings.is_empty() {
            let _ = writeln!(md, "## Warnings\n");
            for w in &self.warnings {
                let _ = writeln!(md, "- {w}");
            }
            md.push('\n');
        }
        let _ = writeln!(md, "## Summary\n");
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(
            md,
            "| speech | {:.1} min in {} clips |",
            s.speech_minutes, s.clips
        );
        let _ = writeln!(
            md,
            "| SNR (speech over noise floor) | {} |",
            fmt_snr(s.snr_db)
        );
        let _ = writeln!(
            md,
            "| clipping | {:.4} % of samples |",
            s.clipped_fraction * 100.0
        );
        let _ = writeln!(
            md,
            "| clip loudness before normalization | p10 {} · median {} · p90 {} (spread {}) |",
            fmt_opt(s.clip_loudness_p10_lufs, "LUFS"),
            fmt_opt(s.clip_loudness_median_lufs, "LUFS"),
            fmt_opt(s.clip_loudness_p90_lufs, "LUFS"),
            fmt_opt(s.loudness_spread_lu, "LU"),
        );
        let _ = writeln!(
            md,
            "| long silences (≥ 5 s) | {} ({:.1} min) |",
            s.long_silences, s.long_silence_minutes
        );
        let _ = writeln!(
            md,
            "| music or noise suspected | {} |",
            if s.music_or_noise_suspected {
                "yes"
            } else {
                "no"
            }
        );
        let _ = writeln!(
            md,
            "| files | {} used, {} rejected |\n",
            s.files_used, s.files_rejected
        );
        let st = &self.settings;
        let _ = writeln!(
            md,
            "Clips are mono 16-bit WAV at {} Hz, {}–{} s, each normalized to {} LUFS integrated (EBU R128) with a {} dBTP true-peak ceiling. VAD: {}.\n",
            st.clip_sample_rate,
            st.min_clip_s,
            st.max_clip_s,
            st.target_lufs,
            st.true_peak_ceiling_dbtp,
            st.vad
        );
        let _ = writeln!(md, "## Files\n");
        for (i, f) in self.files.iter().enumerate() {
            let _ = writeln!(
                md,
                "### {}. `{}` — {}\n",
                i + 1,
                f.path,
                f.verdict.describe()
            );
            if let Some(fmt) = &f.format {
                let _ = writeln!(
                    md,
                    "- {fmt}, {} Hz, {} channel(s), {}",
                    f.sample_rate.unwrap_or(0),
                    f.channels.unwrap_or(0),
                    fmt_time(f.duration_s)
                );
            }
            if f.duration_s > 0.0 {
                let _ = writeln!(
                    md,
                    "- speech {:.1} s; kept {} clips ({:.1} s of speech), dropped {}",
                    f.speech_s, f.kept_clips, f.kept_speech_s, f.dropped_clips
                );
                let _ = writeln!(
                    md,
                    "- loudness {}, peak {}, noise floor {}, SNR {}, high band {}, clipped samples {}",
                    fmt_opt(f.loudness_lufs, "LUFS"),
                    fmt_opt(f.peak_dbfs, "dBFS"),
                    fmt_opt(f.noise_floor_dbfs, "dBFS"),
                    fmt_snr(f.snr_db),
                    fmt_opt(f.high_band_db, "dB"),
                    f.clipped_samples
                );
            }
            if let Some(b) = f.background {
                let _ = writeln!(
                    md,
                    "- {} where nobody speaks",
                    match b {
                        Background::Music => "music suspected",
                        Background::Noise => "steady noise",
                    }
                );
            }
            if !f.long_silences.is_empty() {
                let list: Vec<String> = f
                    .long_silences
                    .iter()
                    .take(10)
                    .map(|s| format!("{}–{}", fmt_time(s.start_s), fmt_time(s.end_s)))
                    .collect();
                let more = f.long_silences.len().saturating_sub(10);
                let _ = writeln!(
                    md,
                    "- long silences: {}{}",
                    list.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                );
            }
            for n in &f.notes {
                let _ = writeln!(md, "- {n}");
            }
            md.push('\n');
        }
        if !self.dropped.is_empty() {
            let _ = writeln!(md, "## Dropped clips\n");
            let _ = writeln!(md, "| file | from | to | reason |\n|---|---|---|---|");
            for d in &self.dropped {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    d.file + 1,
                    fmt_time(d.start_s),
                    fmt_time(d.end_s),
                    d.reason.describe()
                );
            }
            md.push('\n');
        }
        if let Some(t) = &self.transcription {
            let _ = writeln!(
                md,
                "## Dataset\n\n`{}/metadata.csv` + `{}/wavs/` (LJSpeech layout, as `piper_train.preprocess --dataset-format ljspeech` reads it): {} utterances transcribed with `{}` ({}); {} clips had no transcript.\n",
                t.dataset, t.dataset, t.utterances, t.model, t.language, t.empty
            );
        }
        let _ = writeln!(md, "## Clips (best first)\n");
        let _ = writeln!(
            md,
            "| id | file | from | length | SNR | loudness before | gain | reference | text |\n|---|---|---|---|---|---|---|---|---|"
        );
        for c in &self.clips {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} s | {} | {:.1} LUFS | {:+.1} dB{} | {} | {} |",
                c.id,
                c.file + 1,
                fmt_time(c.start_s),
                c.end_s - c.start_s,
                fmt_snr(Some(c.snr_db)),
                c.loudness_lufs,
                c.gain_db,
                if c.peak_limited {
                    " (peak-limited)"
                } else {
                    ""
                },
                if c.reference { "yes" } else { "" },
                c.text.as_deref().unwrap_or("").replace('|', "/"),
            );
        }
        let p = &self.processing;
        let _ = writeln!(
            md,
            "\n## Processing\n\n{} of audio in {:.1} s ({:.0}× real time).\n",
            fmt_time(p.media_s),
            p.wall_s,
            if p.wall_s > 0.0 {
                p.media_s / p.wall_s
            } else {
                0.0
            }
        );
        md
    }
}
