//! The ffmpeg command line, built from a [`StreamConfig`] as a plain list of arguments (no
//! shell). Pure, so the tests can read it.

use std::ffi::OsString;
use std::path::Path;

use super::config::{
    AUDIO_BITRATE, HLS_LIST_SIZE, HLS_SEGMENT_SECS, Outputs, StreamConfig, video_bitrate,
};
use super::push::PushUrl;
use crate::media::SAMPLE_RATE;

/// File descriptor on which ffmpeg reads the audio (`pipe:3`); video comes on stdin (`pipe:0`).
pub(crate) const AUDIO_FD: i32 = 3;
/// File descriptor on which ffmpeg writes the FLV copy for the push outputs and the
/// recording's continuation (`pipe:4`).
pub(crate) const FLV_FD: i32 = 4;
/// Fragmented MP4 of a live recording: every fragment on disk as it is made, the moov written
/// with the first fragment, once the first timestamps are known, so it has an edit list for
/// the AAC priming (1024 samples; without it the first video frame lasted 54.7 ms and the video
/// track sat 21.3 ms behind the audio's).
const LIVE_MOVFLAGS: &str =
    "+frag_keyframe+empty_moov+delay_moov+default_base_moof+use_metadata_tags";
/// Index of each slave in the tee (ffmpeg names them so in "Slave muxer #N failed").
pub(crate) const TEE_HLS: u32 = 0;
pub(crate) const TEE_RECORDING: u32 = 1;
pub(crate) const TEE_FLV: u32 = 2;
/// Name of the HLS playlist inside `hls_dir`.
pub const HLS_PLAYLIST: &str = "index.m3u8";
/// Segment file name pattern inside `hls_dir`.
pub const HLS_SEGMENT_PATTERN: &str = "seg_%06d.ts";

/// All arguments after the program name.
pub(crate) fn ffmpeg_args(cfg: &StreamConfig) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(OsString::from));
    let fps = cfg.fps.to_string();
    let gop = (cfg.fps * HLS_SEGMENT_SECS).to_string();
    let frame_size = format!("{}x{}", cfg.frame_width, cfg.frame_height);
    let rate = SAMPLE_RATE.to_string();
    let vbit = video_bitrate(cfg.out_width, cfg.out_height, cfg.fps);
    let (vb, buf) = (format!("{}k", vbit / 1000), format!("{}k", vbit / 1000));
    let ab = format!("{}k", AUDIO_BITRATE / 1000);
    let audio_in = format!("pipe:{AUDIO_FD}");

    push(&[
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "level+info",
        "-y",
    ]);
    // Input 0: raw RGBA frames on stdin; timestamps = frame index / fps (never arrival time).
    // Everything about the raw inputs is given, so probing is skipped: probing reads up to 5 s
    // of one input before the other is opened, and the writers are only ~1 s apart.
    push(&["-probesize", "32", "-analyzeduration", "0"]);
    push(&[
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgba",
        "-s",
        &frame_size,
        "-framerate",
        &fps,
        "-i",
        "pipe:0",
    ]);
    // Input 1: raw f32le mono 48 kHz on fd 3; timestamps = sample count / 48000.
    push(&[
        "-probesize",
        "32",
        "-analyzeduration",
        "0",
        "-thread_queue_size",
        "512",
        "-f",
        "f32le",
        "-ar",
        &rate,
        "-ac",
        "1",
        "-i",
        &audio_in,
    ]);
    // Each stream mapped once; the tee muxer fans them out.
    push(&["-map", "0:v:0", "-map", "1:a:0"]);
    push(&["-vf", &video_filter(cfg)]);
    push(&[
        "-colorspace",
        "bt709",
        "-color_primaries",
        "bt709",
        "-color_trc",
        "bt709",
        "-color_range",
        "tv",
    ]);
    push(&[
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "high",
        "-pix_fmt",
        "yuv420p",
    ]);
    // A keyframe exactly every 2 s: fixed GOP, no scene-cut keyframes.
    push(&["-g", &gop, "-keyint_min", &gop, "-sc_threshold", "0"]);
    push(&["-b:v", &vb, "-maxrate", &vb, "-bufsize", &buf]);
    push(&["-c:a", "aac", "-b:a", &ab, "-ar", &rate, "-ac", "1"]);
    push(&["-metadata", &format!("title={}", cfg.title)]);
    push(&["-metadata", &format!("comment={}", cfg.ai_label)]);
    push(&["-metadata", &format!("ai_label={}", cfg.ai_label)]);
    push(&["-metadata", "ai_generated=1"]);
    // MPEG-TS (HLS segments) carries these in its SDT; ffprobe shows them as program tags.
    push(&["-metadata", &format!("service_name={}", cfg.title)]);
    push(&[
        "-metadata",
        &format!("service_provider=AI-generated: {}", cfg.ai_label),
    ]);

    match &cfg.outputs {
        Outputs::File { path } => {
            push(&["-movflags", "+faststart+use_metadata_tags", "-f", "mp4"]);
            a.push(path.as_os_str().to_owned());
        }
        Outputs::Live {
            hls_dir, recording, ..
        } => {
            // The MP4 and FLV in the tee need the codec headers out of band; MPEG-TS re-inserts
            // them before every keyframe itself.
            push(&["-flags", "+global_header", "-f", "tee"]);
            a.push(tee_spec(hls_dir, recording));
        }
    }
    a
}

/// Scales (bicubic) only when the sizes differ; converts to BT.709 limited-range 4:2:0 (the
/// matrix players assume for HD; swscale's default would be BT.601). Bicubic rather than
/// lanczos with accurate rounding, which costs more CPU on a 2-core machine for no visible gain
/// on toon-shaded frames.
fn video_filter(cfg: &StreamConfig) -> String {
    let scale = if (cfg.frame_width, cfg.frame_height) == (cfg.out_width, cfg.out_height) {
        "scale=out_color_matrix=bt709:out_range=tv:flags=bicubic".to_owned()
    } else {
        format!(
            "scale={}:{}:out_color_matrix=bt709:out_range=tv:flags=bicubic",
            cfg.out_width, cfg.out_height
        )
    };
    format!("{scale},format=yuv420p")
}

/// `[hls options]hls_dir/index.m3u8|[mp4 options]recording|[flv options]pipe:4`, escaped for
/// the tee muxer's two parsing levels (slave list split on `|`, then `key=value:` options).
/// Every slave has `onfail=ignore`: a full disk under the recording or a broken preview must
/// not stop the others; the failure is seen in ffmpeg's log (see `process::SlaveWatch`).
fn tee_spec(hls_dir: &Path, recording: &Path) -> OsString {
    let playlist = hls_dir.join(HLS_PLAYLIST);
    let segments = hls_dir.join(HLS_SEGMENT_PATTERN);
    let hls_opts = [
        ("f", "hls".to_owned()),
        ("hls_time", HLS_SEGMENT_SECS.to_string()),
        ("hls_list_size", HLS_LIST_SIZE.to_string()),
        (
            "hls_flags",
            "delete_segments+independent_segments+program_date_time".to_owned(),
        ),
        (
            "hls_segment_filename",
            segments.to_string_lossy().into_owned(),
        ),
        // A failing preview must not take the recording down with it.
        ("onfail", "ignore".to_owned()),
    ];
    let mp4_opts = [
        ("f", "mp4".to_owned()),
        ("movflags", LIVE_MOVFLAGS.to_owned()),
        // Without this the slave's I/O buffer keeps the moov and fragments in memory: a file
        // killed after 5 s held only its 28-byte ftyp. With it, every finished fragment is on disk.
        ("flush_packets", "1".to_owned()),
        ("onfail", "ignore".to_owned()),
    ];
    let flv_opts = [
        ("f", "flv".to_owned()),
        // A pipe cannot seek back to patch duration/filesize into onMetaData.
        ("flvflags", "no_duration_filesize".to_owned()),
        ("flush_packets", "1".to_owned()),
        ("onfail", "ignore".to_owned()),
    ];
    let slave = |opts: &[(&str, String)], file: &Path| {
        let body: Vec<String> = opts
            .iter()
            .map(|(k, v)| format!("{k}={}", escape(v, "\\':]")))
            .collect();
        escape(
            &format!("[{}]{}", body.join(":"), file.to_string_lossy()),
            "\\'|",
        )
    };
    OsString::from(format!(
        "{}|{}|{}",
        slave(&hls_opts, &playlist),
        slave(&mp4_opts, recording),
        slave(&flv_opts, Path::new(&format!("pipe:{FLV_FD}")))
    ))
}

/// The relay of one push output: FLV on stdin (as the hub writes it: header, onMetaData,
/// sequence headers, then tags from a keyframe), copied without re-encoding to the push URL.
/// `-copyts` keeps the encoder's timestamps, so after a reconnect the platform's timeline
/// continues at the media time where the stream resumes. The global metadata (title, AI label)
/// comes from the input's onMetaData and goes out in the output's.
pub(crate) fn relay_args(push: &PushUrl) -> Vec<OsString> {
    let mut a = relay_input();
    a.extend(
        [
            "-copyts",
            // A server that stops reading (hung, not closed) fails the write after 10 s.
            "-rw_timeout",
            "10000000",
            "-f",
            push.protocol().muxer(),
        ]
        .map(OsString::from),
    );
    if push.protocol().muxer() == "flv" {
        a.extend(["-flvflags", "no_duration_filesize"].map(OsString::from));
    }
    a.push(OsString::from(push.secret_url()));
    a
}

/// The relay that continues the recording after the tee's own stopped (a full disk): the FLV
/// copied into a fragmented MP4 of its own at `path`, timestamps from 0.
pub(crate) fn recording_relay_args(path: &Path) -> Vec<OsString> {
    let mut a = relay_input();
    a.extend(
        [
            "-f",
            "mp4",
            "-movflags",
            LIVE_MOVFLAGS,
            "-flush_packets",
            "1",
            "-y",
        ]
        .map(OsString::from),
    );
    a.push(path.as_os_str().to_owned());
    a
}

/// A relay's input: the hub's FLV on stdin, every stream copied.
fn relay_input() -> Vec<OsString> {
    [
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "level+info",
        "-probesize",
        "32",
        "-analyzeduration",
        "0",
        "-f",
        "flv",
        "-i",
        "pipe:0",
        "-map",
        "0",
        "-c",
        "copy",
    ]
    .map(OsString::from)
    .to_vec()
}

/// Backslash-escapes `specials` and whitespace, as `av_get_token` reads them.
fn escape(s: &str, specials: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if specials.contains(c) || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn cfg(outputs: Outputs) -> StreamConfig {
        StreamConfig {
            frame_width: 960,
            frame_height: 540,
            out_width: 1280,
            out_height: 720,
            fps: 30,
            outputs,
            title: "t".into(),
            ai_label: "AI".into(),
        }
    }

    #[test]
    fn gop_is_two_seconds_and_bitrate_720p_is_2500k() {
        let args: Vec<String> = ffmpeg_args(&cfg(Outputs::File {
            path: "o.mp4".into(),
        }))
        .into_iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
        let after = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .map(|i| args[i + 1].clone())
        };
        assert_eq!(after("-g").as_deref(), Some("60"));
        assert_eq!(after("-keyint_min").as_deref(), Some("60"));
        assert_eq!(after("-b:v").as_deref(), Some("2500k"));
        assert!(after("-vf").is_some_and(|f| f.starts_with("scale=1280:720:")));
    }

    #[test]
    fn tee_spec_escapes_special_characters() {
        let s = tee_spec(&PathBuf::from("/tmp/a b:c|d"), &PathBuf::from("/r|x.mp4"));
        let s = s.to_string_lossy();
        assert!(
            s.contains("hls_segment_filename=/tmp/a\\\\\\ b\\\\:c\\|d/seg_%06d.ts"),
            "{s}"
        );
        assert!(s.contains("]/r\\|x.mp4|"), "{s}");
    }

    #[test]
    fn the_flv_pipe_is_a_slave_and_every_slave_may_fail_alone() {
        let s = tee_spec(&PathBuf::from("/h"), &PathBuf::from("/r.mp4"));
        let s = s.to_string_lossy();
        let slaves: Vec<&str> = s.split('|').collect();
        assert_eq!(slaves.len(), 3, "{s}");
        assert!(slaves.iter().all(|x| x.contains("onfail=ignore")), "{s}");
        assert!(
            slaves[2].starts_with("[f=flv") && slaves[2].ends_with("]pipe:4"),
            "{s}"
        );
        let push = PushUrl::parse("srt://127.0.0.1:9000?streamid=secret").unwrap();
        let args: Vec<String> = relay_args(&push)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.windows(2).any(|w| w == ["-f", "mpegts"]), "{args:?}");
        assert!(args.contains(&"-copyts".to_owned()));
        assert_eq!(args.last().map(String::as_str), Some(push.secret_url()));
        let args: Vec<String> = recording_relay_args(Path::new("/r.part2.mp4"))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(
            args.windows(2).any(|w| w == ["-movflags", LIVE_MOVFLAGS]),
            "{args:?}"
        );
        assert!(!args.contains(&"-copyts".to_owned()));
        assert_eq!(args.last().map(String::as_str), Some("/r.part2.mp4"));
    }
}
