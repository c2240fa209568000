//! Reading the recording back (ffprobe): timestamp continuity of each stream and A/V drift
//! over media time.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::SoakError;

/// What the recording's packets say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Continuity {
    pub video_packets: u64,
    pub audio_packets: u64,
    /// Video seconds (packets / fps) and audio seconds (sum of packet durations).
    pub video_secs: f64,
    pub audio_secs: f64,
    /// Packets whose decode timestamp is not after the previous one of the same stream.
    pub non_monotonic: u64,
    /// Holes: a video packet more than 1.5 frames after the previous one, an audio packet more
    /// than 1 ms after the end of the previous one.
    pub video_gaps: u64,
    pub audio_gaps: u64,
    /// The largest hole (s), either stream.
    pub largest_gap_s: f64,
    /// A/V drift at the end of the recording (ms; + is audio longer): see [`analyze`].
    pub drift_end_ms: f64,
    /// First audio packet − first video packet (ms). A constant, not drift: in the live
    /// recording it is the AAC encoder's priming (1024 samples, −21.3 ms at 48 kHz), which
    /// decoders play as the delay it stands for.
    #[serde(default)]
    pub start_offset_ms: f64,
}

/// One packet: stream (0 video, 1 audio), dts, pts, duration (s).
type Packet = (u8, f64, f64, f64);

/// Reads every packet of `path` with ffprobe and measures continuity and the A/V drift at the
/// end: the audio's media time minus the video's, each counted from its own first packet, less
/// the encoder's priming (audio before the first video frame). It includes the last AAC
/// packet's padding (0–21.3 ms at 48 kHz); audio lost or added anywhere shows in full.
/// (Mid-stream, timestamps made from sample and frame counts cannot show drift, only holes;
/// the soak reads drift there at the encoder's input, see `crate::show::Progress`.)
pub fn analyze(path: &Path, fps: u32) -> Result<Continuity, SoakError> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("packet=stream_index,dts_time,pts_time,duration_time")
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .map_err(|e| SoakError::Probe(format!("running ffprobe (install ffmpeg): {e}")))?;
    if !out.status.success() {
        return Err(SoakError::Probe(format!(
            "ffprobe could not read {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let packets: Vec<Packet> = text.lines().filter_map(parse).collect();
    Ok(measure(&packets, fps))
}

/// `stream_index,pts_time,dts_time,duration_time` (ffprobe's field order for
/// `-show_entries packet=...` is its own: stream, pts, dts, duration).
fn parse(line: &str) -> Option<Packet> {
    let mut f = line.split(',');
    let stream: u8 = f.next()?.trim().parse().ok()?;
    let pts: f64 = f.next()?.trim().parse().ok()?;
    let dts: f64 = f.next()?.trim().parse().unwrap_or(pts);
    let dur: f64 = f.next().and_then(|d| d.trim().parse().ok()).unwrap_or(0.0);
    Some((stream, dts, pts, dur))
}

fn measure(packets: &[Packet], fps: u32) -> Continuity {
    let frame = 1.0 / f64::from(fps.max(1));
    let mut c = Continuity::default();
    let mut last_dts = [f64::NEG_INFINITY; 2];
    let mut video_prev: Option<f64> = None;
    let mut audio_end: Option<f64> = None;
    let mut video: Vec<f64> = Vec::new();
    let mut audio: Vec<(f64, f64)> = Vec::new();
    // Audio before the first video frame is the encoder's priming: at 0 with the video after
    // it, or before 0 with a zero duration (an edit list); either way not part of the audio's
    // continuity.
    let first_video = packets
        .iter()
        .filter(|p| p.0 == 0)
        .map(|p| p.2)
        .fold(f64::INFINITY, f64::min);
    for &(stream, dts, pts, dur) in packets {
        let s = usize::from(stream.min(1));
        if dts <= last_dts[s] {
            c.non_monotonic += 1;
        }
        last_dts[s] = dts;
        if stream == 0 {
            c.video_packets += 1;
            if let Some(p) = video_prev {
                let hole = dts - p - frame;
                if dts - p > 1.5 * frame {
                    c.video_gaps += 1;
                    c.largest_gap_s = c.largest_gap_s.max(hole);
                }
            }
            video_prev = Some(dts);
            video.push(pts);
        } else {
            c.audio_packets += 1;
            c.audio_secs += dur;
            if let Some(end) = audio_end {
                let hole = pts - end;
                if hole > 0.001 {
                    c.audio_gaps += 1;
                    c.largest_gap_s = c.largest_gap_s.max(hole);
                }
            }
            audio_end = (pts >= first_video - 1e-6).then_some(pts + dur);
            audio.push((pts, dur));
        }
    }
    c.video_secs = c.video_packets as f64 * frame;
    let first = |stream: u8| {
        packets
            .iter()
            .filter(|p| p.0 == stream)
            .map(|p| p.2)
            .fold(f64::INFINITY, f64::min)
    };
    let last_end = |stream: u8, dur: Option<f64>| {
        packets
            .iter()
            .filter(|p| p.0 == stream)
            .map(|p| p.2 + dur.unwrap_or(p.3))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let (v0, a0) = (first(0), first(1));
    if v0.is_finite() && a0.is_finite() {
        c.start_offset_ms = 1000.0 * (a0 - v0);
        // Audio starting before the video is the encoder's priming: not content.
        let priming = (v0 - a0).max(0.0);
        let audio = last_end(1, None) - a0 - priming;
        let video = last_end(0, Some(frame)) - v0;
        c.drift_end_ms = 1000.0 * (audio - video);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 s at 25 fps with AAC-like 1024-sample packets.
    fn stream(skip_video: Option<usize>, audio_hole_at: Option<usize>) -> Vec<Packet> {
        let mut p = Vec::new();
        for i in 0..250 {
            if Some(i) != skip_video {
                let t = i as f64 / 25.0;
                p.push((0, t, t, 0.04));
            }
        }
        let d = 1024.0 / 48_000.0;
        let mut t = 0.0;
        for i in 0..469 {
            if Some(i) == audio_hole_at {
                t += 0.5;
            }
            p.push((1, t, t, d));
            t += d;
        }
        p
    }

    #[test]
    fn a_clean_stream_has_no_gaps_and_no_drift() {
        let c = measure(&stream(None, None), 25);
        assert_eq!((c.video_gaps, c.audio_gaps, c.non_monotonic), (0, 0, 0));
        assert_eq!(c.video_packets, 250);
        assert!((c.video_secs - 10.0).abs() < 1e-9);
        // 469 packets of 1024 samples: 10.005 s, the last packet's padding.
        assert!((c.drift_end_ms - 5.333).abs() < 0.01, "{}", c.drift_end_ms);
        assert!(c.start_offset_ms.abs() < 1e-9);
    }

    #[test]
    fn priming_is_a_start_offset_and_lost_audio_is_drift() {
        // The live recording: the AAC priming packet at 0, the video from 21.3 ms.
        let priming = 1024.0 / 48_000.0;
        let mut shifted: Vec<Packet> = stream(None, None)
            .into_iter()
            .map(|(s, d, p, dur)| match s {
                0 => (s, d + priming, p + priming, dur),
                _ => (s, d, p, dur),
            })
            .collect();
        let end = 469.0 * priming;
        shifted.push((1, end, end, priming));
        let c = measure(&shifted, 25);
        assert!((c.start_offset_ms + 1000.0 * priming).abs() < 1e-6);
        assert!((c.drift_end_ms - 5.333).abs() < 0.01, "{}", c.drift_end_ms);
        assert_eq!((c.video_gaps, c.audio_gaps), (0, 0));
        // The same with an edit list: the priming packet before 0, with no duration.
        let mut edited = stream(None, None);
        edited.insert(0, (1, -priming, -priming, 0.0));
        let c = measure(&edited, 25);
        assert_eq!((c.video_gaps, c.audio_gaps), (0, 0), "{c:?}");
        assert!((c.start_offset_ms + 1000.0 * priming).abs() < 1e-6);
        assert!((c.drift_end_ms - 5.333).abs() < 0.01, "{}", c.drift_end_ms);
        // 10 packets (213 ms) of audio never reached the encoder: the rest is 213 ms early.
        let short: Vec<Packet> = stream(None, None)
            .into_iter()
            .filter(|p| p.0 == 0 || p.1 < 10.005 - 10.0 * priming - 1e-9)
            .collect();
        let c = measure(&short, 25);
        assert_eq!(c.audio_gaps, 0);
        assert!((c.drift_end_ms + 208.0).abs() < 0.1, "{}", c.drift_end_ms);
    }

    #[test]
    fn holes_and_reordering_are_counted() {
        let c = measure(&stream(Some(100), Some(200)), 25);
        assert_eq!((c.video_gaps, c.audio_gaps), (1, 1));
        assert!((c.largest_gap_s - 0.5).abs() < 1e-6, "{}", c.largest_gap_s);
        let mut p = stream(None, None);
        p.swap(10, 11);
        let c = measure(&p, 25);
        assert_eq!(c.non_monotonic, 1);
    }

    #[test]
    fn parses_ffprobe_csv() {
        assert_eq!(
            parse("1,0.021333,0.021333,0.021333"),
            Some((1, 0.021333, 0.021333, 0.021333))
        );
        assert_eq!(parse("0,0.040000,0.040000,N/A"), Some((0, 0.04, 0.04, 0.0)));
        assert_eq!(parse("garbage"), None);
    }
}
