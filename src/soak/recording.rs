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
    /// Audio end − video end at the end of the recording (ms; + is audio ahead).
    pub drift_end_ms: f64,
}

/// One packet: stream (0 video, 1 audio), dts, pts, duration (s).
type Packet = (u8, f64, f64, f64);

/// Reads every packet of `path` with ffprobe and measures continuity, and the A/V drift at
/// each of `at` (media seconds, moved to the nearest instant where both streams have a
/// packet boundary: every 0.32 s at 25 fps, 0.53 s at 30 fps): the end of the audio heard by
/// then minus the end of the video shown by then (ms).
pub fn analyze(path: &Path, fps: u32, at: &[f64]) -> Result<(Continuity, Vec<f64>), SoakError> {
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
    Ok(measure(&packets, fps, at))
}

/// Seconds between instants at which both an AAC packet (1024 samples at 48 kHz) and a video
/// frame (1 / `fps`) end: lcm(8/375, 1/fps) = lcm(8, 1) / gcd(375, fps) = 8 / gcd(375, fps).
fn common_boundary(fps: u32) -> f64 {
    let (mut a, mut b) = (375u32, fps.max(1));
    while b != 0 {
        (a, b) = (b, a % b);
    }
    8.0 / f64::from(a)
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

fn measure(packets: &[Packet], fps: u32, at: &[f64]) -> (Continuity, Vec<f64>) {
    let frame = 1.0 / f64::from(fps.max(1));
    let mut c = Continuity::default();
    let mut last_dts = [f64::NEG_INFINITY; 2];
    let mut video_prev: Option<f64> = None;
    let mut audio_end: Option<f64> = None;
    let mut video: Vec<f64> = Vec::new();
    let mut audio: Vec<(f64, f64)> = Vec::new();
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
            audio_end = Some(pts + dur);
            audio.push((pts, dur));
        }
    }
    c.video_secs = c.video_packets as f64 * frame;
    video.sort_by(f64::total_cmp);
    audio.sort_by(|a, b| a.0.total_cmp(&b.0));
    let end_of = |t: f64| -> Option<(f64, f64)> {
        let v = video.partition_point(|p| *p < t);
        let a = audio.partition_point(|p| p.0 < t);
        if v == 0 || a == 0 {
            return None;
        }
        let (ap, ad) = audio[a - 1];
        Some((ap + ad, video[v - 1] + frame))
    };
    // Read at instants where both streams have a packet boundary (multiples of the least
    // common multiple of the two packet durations), so that a continuous stream reads 0 and
    // any drift is real, not rounding to a packet.
    let step = common_boundary(fps);
    let drift: Vec<f64> = at
        .iter()
        .map(|&t| {
            let t = ((t / step).round() * step).max(step);
            end_of(t - 1e-6).map_or(0.0, |(a, v)| 1000.0 * (a - v))
        })
        .collect();
    if let (Some(&(ap, ad)), Some(&vp)) = (audio.last(), video.last()) {
        c.drift_end_ms = 1000.0 * ((ap + ad) - (vp + frame));
    }
    (c, drift)
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
        let (c, drift) = measure(&stream(None, None), 25, &[2.0, 5.0, 9.9]);
        assert_eq!((c.video_gaps, c.audio_gaps, c.non_monotonic), (0, 0, 0));
        assert_eq!(c.video_packets, 250);
        assert!((c.video_secs - 10.0).abs() < 1e-9);
        assert!(drift.iter().all(|d| d.abs() < 1e-6), "{drift:?}");
        assert!((common_boundary(25) - 0.32).abs() < 1e-12);
        assert!((common_boundary(30) - 8.0 / 15.0).abs() < 1e-12);
        assert!(c.drift_end_ms.abs() < 25.0, "{}", c.drift_end_ms);
    }

    #[test]
    fn holes_and_reordering_are_counted() {
        let (c, _) = measure(&stream(Some(100), Some(200)), 25, &[]);
        assert_eq!((c.video_gaps, c.audio_gaps), (1, 1));
        assert!((c.largest_gap_s - 0.5).abs() < 1e-6, "{}", c.largest_gap_s);
        let mut p = stream(None, None);
        p.swap(10, 11);
        let (c, _) = measure(&p, 25, &[]);
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
