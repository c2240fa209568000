//! Decoding: any file symphonia reads (WAV, MP3, FLAC, M4A/AAC, Ogg Vorbis), the format found
//! from the bytes (symphonia's probe looks at content only, never at the extension), decoded
//! packet by packet into mono blocks at the file's own rate.
//!
//! Channels: the first [`LOOKAHEAD_S`] seconds are held back to measure each channel; a
//! channel far quieter than the loudest (a dead side of a stereo recording) is left out of
//! the mix. Clipping is counted on the raw channels: runs of at least [`CLIP_RUN`] samples at
//! full scale.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymErr;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Seconds of audio measured before the channel mix is decided.
pub(crate) const LOOKAHEAD_S: f64 = 20.0;
/// A channel this many dB below the loudest one is treated as silent and left out.
const DEAD_CHANNEL_DB: f64 = 30.0;
/// Absolute level under which a channel is silent (dBFS RMS).
const SILENT_CHANNEL_DBFS: f64 = -70.0;
/// Magnitude counted as full scale.
const FULL_SCALE: f32 = 0.999;
/// Consecutive full-scale samples that make a clipped run.
pub(crate) const CLIP_RUN: u32 = 3;

/// Why a file gives no audio at all.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Zero bytes.
    Empty,
    /// Not an audio format symphonia knows, or its header is broken.
    Unreadable(String),
    /// The file could not be opened.
    Io(std::io::Error),
}

/// What the container says about the audio.
#[derive(Debug, Clone)]
pub(crate) struct SourceInfo {
    pub sample_rate: u32,
    pub channels: usize,
    /// Frames, when the container knows.
    pub n_frames: Option<u64>,
    /// symphonia's codec name (`pcm_s16le`, `mp3`, `aac`, `flac`, `vorbis`).
    pub codec: String,
    /// The format as the user knows it (`WAV`, `MP3`, `AAC`, `FLAC`, `Ogg Vorbis`).
    pub format: &'static str,
    /// File extensions that usually hold this format.
    pub extensions: &'static [&'static str],
}

/// An opened file, decoded on demand.
pub(crate) struct Source {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    pub info: SourceInfo,
    buf: Option<SampleBuffer<f32>>,
    /// Packets the decoder rejected (skipped).
    pub bad_packets: usize,
    pub good_packets: usize,
    /// Why decoding stopped before the end, if it did.
    pub stopped: Option<String>,
}

fn format_of(codec: &str) -> (&'static str, &'static [&'static str]) {
    if codec.starts_with("pcm") {
        ("WAV", &["wav", "wave"])
    } else {
        match codec {
            "mp3" | "mp2" | "mp1" => ("MP3", &["mp3", "mp2", "mpga"]),
            "aac" => ("AAC", &["m4a", "mp4", "aac", "m4b", "3gp", "mov"]),
            "flac" => ("FLAC", &["flac"]),
            "vorbis" => ("Ogg Vorbis", &["ogg", "oga"]),
            _ => ("audio", &[]),
        }
    }
}

/// Opens `path` and finds its first audio track.
pub(crate) fn open(path: &Path) -> Result<Source, OpenError> {
    let meta = std::fs::metadata(path).map_err(OpenError::Io)?;
    if meta.len() == 0 {
        return Err(OpenError::Empty);
    }
    let file = File::open(path).map_err(OpenError::Io)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let fmt_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    // No hint: the format is found from the content.
    let probed = symphonia::default::get_probe()
        .format(&Hint::new(), mss, &fmt_opts, &MetadataOptions::default())
        .map_err(|e| OpenError::Unreadable(describe_probe_error(&e)))?;
    let format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL && t.codec_params.sample_rate.is_some())
        .ok_or_else(|| OpenError::Unreadable("the file has no audio track".into()))?;
    let params = track.codec_params.clone();
    let track_id = track.id;
    let codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .map_err(|e| OpenError::Unreadable(format!("unsupported codec `{codec}` ({e})")))?;
    let sample_rate = params
        .sample_rate
        .filter(|r| *r > 0)
        .ok_or_else(|| OpenError::Unreadable("the audio track has no sample rate".into()))?;
    let channels = params.channels.map(|c| c.count()).unwrap_or(1).max(1);
    let (format_name, extensions) = format_of(&codec);
    Ok(Source {
        format,
        decoder,
        track_id,
        info: SourceInfo {
            sample_rate,
            channels,
            n_frames: params.n_frames,
            codec,
            format: format_name,
            extensions,
        },
        buf: None,
        bad_packets: 0,
        good_packets: 0,
        stopped: None,
    })
}

fn describe_probe_error(e: &SymErr) -> String {
    match e {
        SymErr::Unsupported(_) => {
            "not an audio format anchor reads (WAV, MP3, FLAC, M4A/AAC, Ogg Vorbis), or its header is damaged".into()
        }
        SymErr::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the file ends before its header does (truncated or not audio)".into()
        }
        other => format!("cannot read the header ({other})"),
    }
}

impl Source {
    /// The next decoded packet as interleaved f32 (`channels` per frame), or `None` at the end.
    /// Damaged packets are skipped and counted; an error that stops the stream early ends it
    /// and is kept in [`Source::stopped`].
    pub(crate) fn next_block(&mut self) -> Option<(&[f32], usize)> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return None;
                }
                Err(SymErr::ResetRequired) => {
                    self.stopped = Some("the stream changes its format midway".into());
                    return None;
                }
                Err(SymErr::DecodeError(msg)) => {
                    // A damaged container: symphonia cannot find the next packet.
                    self.stopped = Some(format!("damaged data ({msg})"));
                    return None;
                }
                Err(e) => {
                    self.stopped = Some(e.to_string());
                    return None;
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(decoded) => {
                    let spec = *decoded.spec();
                    if spec.rate != self.info.sample_rate {
                        self.stopped = Some(format!(
                            "the sample rate changes midway ({} → {} Hz)",
                            self.info.sample_rate, spec.rate
                        ));
                        return None;
                    }
                    let frames = decoded.frames();
                    if frames == 0 {
                        continue;
                    }
                    let channels = spec.channels.count().max(1);
                    let need = decoded.capacity() * channels;
                    let fits = self.buf.as_ref().is_some_and(|b| b.capacity() >= need);
                    if !fits {
                        self.buf = Some(SampleBuffer::new(decoded.capacity() as u64, spec));
                    }
                    let Some(buf) = self.buf.as_mut() else {
                        return None;
                    };
                    buf.copy_interleaved_ref(decoded);
                    self.good_packets += 1;
                    let samples = buf.samples();
                    return Some((samples, channels));
                }
                Err(SymErr::DecodeError(_)) => {
                    self.bad_packets += 1;
                    continue;
                }
                Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return None;
                }
                Err(e) => {
                    self.stopped = Some(e.to_string());
                    return None;
                }
            }
        }
    }
}

/// Per-channel measurements and the mono mix.
pub(crate) struct Downmix {
    channels: usize,
    rate: u32,
    /// Interleaved frames held while the mix is undecided.
    held: Vec<f32>,
    /// Mix weights per channel (sum 1) once decided.
    weights: Option<Vec<f32>>,
    /// Sum of squares per channel over the whole file.
    pub energy: Vec<f64>,
    frames: u64,
    /// Current run of full-scale samples per channel.
    runs: Vec<u32>,
    /// Clipped samples per analysis window (see [`Downmix::new`]'s `window_s`).
    pub clipped: Vec<u32>,
    window_frames: f64,
    pub clipped_total: u64,
    out: Vec<f32>,
}

impl Downmix {
    /// `window_s`: the length of the analysis windows clipped samples are counted in.
    pub(crate) fn new(channels: usize, rate: u32, window_s: f64) -> Downmix {
        let channels = channels.max(1);
        Downmix {
            channels,
            rate,
            held: Vec::new(),
            weights: if channels == 1 { Some(vec![1.0]) } else { None },
            energy: vec![0.0; channels],
            frames: 0,
            runs: vec![0; channels],
            clipped: Vec::new(),
            window_frames: window_s * f64::from(rate),
            clipped_total: 0,
            out: Vec::new(),
        }
    }

    /// Frames seen so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// Takes interleaved samples with `channels` per frame; returns the mono audio now ready
    /// (empty while the first seconds are held back).
    pub(crate) fn push(&mut self, interleaved: &[f32], channels: usize) -> &[f32] {
        self.out.clear();
        if channels != self.channels {
            // The layout changed midway (rare): mix what comes equally.
            tracing::debug!(from = self.channels, to = channels, "channel count changed");
            let mono: Vec<f32> = interleaved
                .chunks_exact(channels.max(1))
                .map(|f| f.iter().sum::<f32>() / f.len() as f32)
                .collect();
            self.measure(&mono, 1);
            self.flush_held();
            self.out.extend_from_slice(&mono);
            return &self.out;
        }
        self.measure(interleaved, channels);
        if self.weights.is_none() {
            self.held.extend_from_slice(interleaved);
            let held_frames = self.held.len() / self.channels;
            if (held_frames as f64) >= LOOKAHEAD_S * f64::from(self.rate) {
                self.decide();
                self.flush_held();
            }
            return &self.out;
        }
        self.mix_into_out(interleaved);
        &self.out
    }

    /// Releases what is still held (end of file).
    pub(crate) fn finish(&mut self) -> &[f32] {
        self.out.clear();
        if self.weights.is_none() {
            self.decide();
        }
        self.flush_held();
        &self.out
    }

    /// The mix: which channels are used (1-based) and which were left out as silent.
    pub(crate) fn used_channels(&self) -> (Vec<usize>, Vec<usize>) {
        let w = self
            .weights
            .clone()
            .unwrap_or_else(|| vec![1.0; self.channels]);
        let used = (0..self.channels)
            .filter(|&c| w[c] > 0.0)
            .map(|c| c + 1)
            .collect();
        let unused = (0..self.channels)
            .filter(|&c| w[c] == 0.0)
            .map(|c| c + 1)
            .collect();
        (used, unused)
    }

    /// RMS level of each channel over the whole file (dBFS).
    pub(crate) fn channel_levels_db(&self) -> Vec<f64> {
        self.energy
            .iter()
            .map(|e| db_power(*e / (self.frames.max(1) as f64)))
            .collect()
    }

    fn measure(&mut self, interleaved: &[f32], channels: usize) {
        let same_layout = channels == self.channels;
        for frame in interleaved.chunks_exact(channels) {
            let window = (self.frames as f64 / self.window_frames) as usize;
            for (c, &s) in frame.iter().enumerate() {
                if same_layout {
                    self.energy[c] += f64::from(s) * f64::from(s);
                }
                let last = self.runs.len() - 1;
                let run = &mut self.runs[c.min(last)];
                if s.abs() >= FULL_SCALE {
                    *run += 1;
                    let newly = if *run == CLIP_RUN {
                        CLIP_RUN
                    } else if *run > CLIP_RUN {
                        1
                    } else {
                        0
                    };
                    if newly > 0 {
                        if self.clipped.len() <= window {
                            self.clipped.resize(window + 1, 0);
                        }
                        self.clipped[window] += newly;
                        self.clipped_total += u64::from(newly);
                    }
                } else {
                    *run = 0;
                }
            }
            self.frames += 1;
        }
    }

    fn decide(&mut self) {
        let frames = (self.held.len() / self.channels).max(1) as f64;
        let mut levels = vec![0.0f64; self.channels];
        for frame in self.held.chunks_exact(self.channels) {
            for (c, s) in frame.iter().enumerate() {
                levels[c] += f64::from(*s) * f64::from(*s);
            }
        }
        let db: Vec<f64> = levels.iter().map(|e| db_power(e / frames)).collect();
        let loudest = db.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut w: Vec<f32> = db
            .iter()
            .map(|&d| {
                if d > SILENT_CHANNEL_DBFS && d >= loudest - DEAD_CHANNEL_DB {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let n = w.iter().sum::<f32>();
        if n == 0.0 {
            // All silent so far: mix all.
            w = vec![1.0 / self.channels as f32; self.channels];
        } else {
            w.iter_mut().for_each(|x| *x /= n);
        }
        self.weights = Some(w);
    }

    fn flush_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        self.mix_into_out(&held);
    }

    fn mix_into_out(&mut self, interleaved: &[f32]) {
        let Some(w) = self.weights.as_ref() else {
            return;
        };
        if self.channels == 1 {
            self.out.extend_from_slice(interleaved);
            return;
        }
        self.out.extend(
            interleaved
                .chunks_exact(self.channels)
                .map(|f| f.iter().zip(w).map(|(s, w)| s * w).sum::<f32>()),
        );
    }
}

/// 10·log10 of a mean power, floored at -120 dB.
pub(crate) fn db_power(p: f64) -> f64 {
    if p <= 1e-12 { -120.0 } else { 10.0 * p.log10() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_channel_is_left_out_and_clipping_is_counted() {
        let rate = 1000;
        let mut d = Downmix::new(2, rate, 0.1);
        let mut inter = Vec::new();
        for i in 0..(rate as usize * 30) {
            let s = if i % 100 < 5 {
                1.0
            } else {
                0.3 * ((i as f32) * 0.1).sin()
            };
            inter.push(s);
            inter.push(0.0);
        }
        let mut mono = Vec::new();
        for block in inter.chunks(512) {
            mono.extend_from_slice(d.push(block, 2));
        }
        mono.extend_from_slice(d.finish());
        assert_eq!(mono.len(), rate as usize * 30);
        let (used, unused) = d.used_channels();
        assert_eq!(used, vec![1]);
        assert_eq!(unused, vec![2]);
        // The live channel comes through at full level.
        assert!((mono[1] - inter[2]).abs() < 1e-6);
        // 300 runs of 5 full-scale samples.
        assert_eq!(d.clipped_total, 300 * 5);
    }
}
