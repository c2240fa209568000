//! Chapter sidecars (exact text) and chapters embedded with the real ffmpeg, read back with
//! ffprobe.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::testutil::{ffprobe_json, tempdir};

const TITLE: &str = "测试直播 test show";
const AI_LABEL: &str = "AI-generated virtual host / 本直播由AI数字人主持";
/// One AAC frame at 48 kHz, seconds.
const AAC_FRAME: f64 = 1024.0 / 48_000.0;

fn ch(product: &str, title: &str, start: f64, end: f64) -> Chapter {
    Chapter {
        product: product.into(),
        title: title.into(),
        start,
        end,
    }
}

/// A 4 s 160x90 30 fps H.264 + 48 kHz AAC MP4 with the metadata the encoder writes;
/// `fragmented` makes it like the live recording (fragmented, moov at the front, no index).
fn make_mp4(path: &Path, fragmented: bool) {
    let movflags = if fragmented {
        "+frag_keyframe+empty_moov+delay_moov+default_base_moof+use_metadata_tags"
    } else {
        "+faststart+use_metadata_tags"
    };
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x90:rate=30:duration=4",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=4",
        ])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "60"])
        .args([
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-ac",
            "1",
            "-shortest",
        ])
        .args(["-metadata", &format!("title={TITLE}")])
        .args(["-metadata", &format!("comment={AI_LABEL}")])
        .args(["-metadata", &format!("ai_label={AI_LABEL}")])
        .args(["-metadata", "ai_generated=1"])
        .args(["-movflags", movflags, "-f", "mp4"])
        .arg(path)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "making the test MP4 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn probe(path: &Path) -> serde_json::Value {
    ffprobe_json(
        &[
            "-show_chapters",
            "-show_format",
            "-show_streams",
            "-count_packets",
        ],
        path,
    )
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

/// (codec_type, codec_name, packets, duration) of the video and audio streams.
fn av_streams(p: &serde_json::Value) -> Vec<(String, String, String, f64)> {
    p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == "video" || s["codec_type"] == "audio")
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap().to_owned(),
                s["codec_name"].as_str().unwrap().to_owned(),
                s["nb_read_packets"].as_str().unwrap().to_owned(),
                num(&s["duration"]),
            )
        })
        .collect()
}

/// (title, start s, end s) of every chapter ffprobe reports.
fn chapters_of(p: &serde_json::Value) -> Vec<(String, f64, f64)> {
    p["chapters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tags"]["title"].as_str().unwrap_or_default().to_owned(),
                num(&c["start_time"]),
                num(&c["end_time"]),
            )
        })
        .collect()
}

/// Top-level MP4 box types in file order.
fn top_boxes(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let mut at = 0usize;
    let mut out = Vec::new();
    while at + 8 <= bytes.len() {
        let size32 = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        out.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        let size = match size32 {
            0 => bytes.len() - at,
            1 => u64::from_be_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize,
            n => n,
        };
        assert!(size >= 8, "bad box size at {at}");
        at += size;
    }
    out
}

fn assert_metadata_kept(p: &serde_json::Value) {
    let tags = &p["format"]["tags"];
    assert_eq!(tags["title"], TITLE, "{tags}");
    assert_eq!(tags["comment"], AI_LABEL, "{tags}");
    assert_eq!(tags["ai_label"], AI_LABEL, "{tags}");
    assert_eq!(tags["ai_generated"], "1", "{tags}");
}

/// Normal MP4 with the index first: ftyp, moov before mdat, no fragments.
fn assert_faststart(path: &Path) {
    let boxes = top_boxes(path);
    let pos = |t: &str| boxes.iter().position(|b| b == t);
    assert_eq!(boxes.first().map(String::as_str), Some("ftyp"), "{boxes:?}");
    assert!(
        matches!((pos("moov"), pos("mdat")), (Some(m), Some(d)) if m < d),
        "{boxes:?}"
    );
    assert!(
        !boxes.iter().any(|b| b == "moof" || b == "mfra"),
        "{boxes:?}"
    );
}

/// Nothing but the recording and what the test put there.
fn leftovers(dir: &Path, expected: &[&str]) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !expected
                .iter()
                .any(|name| p.file_name().is_some_and(|n| n == *name))
        })
        .collect()
}

#[test]
fn vtt_and_json_sidecars_are_exact() {
    let dir = tempdir().unwrap();
    let rec = dir.path().join("show.mp4");
    let chapters = [
        ch("lipstick-01", "丝绒哑光口红", 12.34, 56.78),
        ch("mask-02", "面膜 A&B <新品> -->", 56.78, 3725.0004),
    ];
    let files = write_chapter_files(&rec, &chapters).unwrap();
    assert_eq!(files.vtt, dir.path().join("show.chapters.vtt"));
    assert_eq!(files.json, dir.path().join("show.chapters.json"));
    assert_eq!(files, ChapterFiles::for_recording(&rec));
    let vtt = std::fs::read_to_string(&files.vtt).unwrap();
    assert_eq!(
        vtt,
        "WEBVTT\n\
         \n\
         1-lipstick-01\n\
         00:00:12.340 --> 00:00:56.780\n\
         丝绒哑光口红\n\
         \n\
         2-mask-02\n\
         00:00:56.780 --> 01:02:05.000\n\
         面膜 A&amp;B &lt;新品&gt; --&gt;\n"
    );
    let json = std::fs::read_to_string(&files.json).unwrap();
    assert!(json.contains("\"start\": 12.34"), "{json}");
    assert!(json.contains("\"end\": 3725.0\n"), "{json}");
    let index: ChapterIndex = serde_json::from_str(&json).unwrap();
    assert_eq!(
        index,
        ChapterIndex {
            recording: "show.mp4".into(),
            chapters: vec![
                ch("lipstick-01", "丝绒哑光口红", 12.34, 56.78),
                ch("mask-02", "面膜 A&B <新品> -->", 56.78, 3725.0),
            ],
        }
    );
    assert!(leftovers(dir.path(), &["show.chapters.vtt", "show.chapters.json"]).is_empty());
}

#[test]
fn json_round_trips_with_times_rounded_to_milliseconds() {
    let dir = tempdir().unwrap();
    let rec = dir.path().join("rec.2024.mp4");
    let chapters = [ch("a", "口红", 0.0, 1.2345), ch("b", "粉底液", 1.9996, 2.5)];
    let files = write_chapter_files(&rec, &chapters).unwrap();
    assert_eq!(files.json, dir.path().join("rec.2024.chapters.json"));
    let index: ChapterIndex = serde_json::from_slice(&std::fs::read(&files.json).unwrap()).unwrap();
    assert_eq!(index.recording, "rec.2024.mp4");
    assert_eq!(
        index.chapters,
        vec![ch("a", "口红", 0.0, 1.235), ch("b", "粉底液", 2.0, 2.5)]
    );
    // Writing what was read gives the same file.
    let again = dir.path().join("again/rec.2024.mp4");
    std::fs::create_dir(dir.path().join("again")).unwrap();
    let files2 = write_chapter_files(&again, &index.chapters).unwrap();
    assert_eq!(
        std::fs::read(&files.json).unwrap(),
        std::fs::read(&files2.json).unwrap()
    );
    assert_eq!(
        std::fs::read(&files.vtt).unwrap(),
        std::fs::read(&files2.vtt).unwrap()
    );
}

#[test]
fn zero_chapters_write_empty_sidecars_and_leave_the_recording_alone() {
    let dir = tempdir().unwrap();
    let rec = dir.path().join("show.mp4");
    std::fs::write(&rec, b"not even an mp4").unwrap();
    let files = write_chapter_files(&rec, &[]).unwrap();
    assert_eq!(std::fs::read_to_string(&files.vtt).unwrap(), "WEBVTT\n");
    let index: ChapterIndex =
        serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(index.recording, "show.mp4");
    assert!(index.chapters.is_empty());
    // No remux: ffmpeg is not even looked for.
    let opts = EncoderOptions {
        ffmpeg: dir.path().join("no-such-ffmpeg"),
        ..EncoderOptions::default()
    };
    embed_chapters(&rec, &[], &opts).unwrap();
    assert_eq!(std::fs::read(&rec).unwrap(), b"not even an mp4");
}

#[test]
fn bad_chapter_lists_are_rejected_and_nothing_is_written() {
    let ok = |start, end| ch("p", "口红", start, end);
    let cases: Vec<(Vec<Chapter>, &str)> = vec![
        (vec![ok(0.0, 2.0), ok(1.5, 3.0)], "must not overlap"),
        (vec![ok(2.0, 3.0), ok(0.0, 1.0)], "must be sorted by start"),
        (vec![ok(2.0, 2.0)], "not after its start"),
        (vec![ok(2.0, 2.0004)], "not after its start"),
        (vec![ok(3.0, 2.0)], "not after its start"),
        (vec![ok(f64::NAN, 2.0)], "start NaN"),
        (vec![ok(0.0, f64::INFINITY)], "end inf"),
        (vec![ok(-0.5, 2.0)], "start -0.5"),
        (vec![ch("p", " ", 0.0, 1.0)], "title is empty"),
        (vec![ch("", "口红", 0.0, 1.0)], "product is empty"),
        (vec![ch("p", "口红\n第二行", 0.0, 1.0)], "control character"),
        (vec![ch("a-->b", "口红", 0.0, 1.0)], "-->"),
    ];
    let dir = tempdir().unwrap();
    let rec = dir.path().join("show.mp4");
    for (chapters, want) in cases {
        let err = validate(&chapters).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                StreamError::InvalidConfig {
                    field: "chapters",
                    ..
                }
            ) && msg.contains(want),
            "{chapters:?}: {msg}"
        );
        let io_err = write_chapter_files(&rec, &chapters).unwrap_err();
        assert_eq!(io_err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(io_err.to_string().contains(want), "{io_err}");
        let emb = embed_chapters(&rec, &chapters, &EncoderOptions::default()).unwrap_err();
        assert!(
            matches!(
                emb,
                StreamError::InvalidConfig {
                    field: "chapters",
                    ..
                }
            ),
            "{emb}"
        );
    }
    assert!(leftovers(dir.path(), &[]).is_empty());
    // Touching chapters (one ends where the next starts, after ms rounding) are fine.
    validate(&[ok(0.0, 1.0), ok(1.0004, 2.0)]).unwrap();
}

#[test]
fn ffmetadata_escapes_and_fills_gaps() {
    let chapters = [
        ch("a", "口红 a=b;c#d\\e", 1.0, 2.0),
        ch("b", "粉底液", 2.0, 3.0),
        ch("c", "面膜", 3.5, 9.0),
        ch("d", "after the end", 9.5, 10.0),
    ];
    let ms = validate(&chapters).unwrap();
    let track = mp4_chapters(&ms, Some(8_000), Path::new("x.mp4"));
    assert_eq!(
        ffmetadata(&track),
        ";FFMETADATA1\n\
         \n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=\n\
         \n[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=口红 a\\=b\\;c\\#d\\\\e\n\
         \n[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=3000\ntitle=粉底液\n\
         \n[CHAPTER]\nTIMEBASE=1/1000\nSTART=3000\nEND=3500\ntitle=\n\
         \n[CHAPTER]\nTIMEBASE=1/1000\nSTART=3500\nEND=8000\ntitle=面膜\n"
    );
    assert_eq!(escape_ffmetadata("a\nb\\"), "a\\\nb\\\\");
}

#[test]
fn ffmpeg_input_description_is_parsed() {
    let stderr = "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/a, from b.mp4':\n  \
                  Metadata:\n    major_brand     : isom\n  \
                  Duration: 01:02:04.02, start: 0.000000, bitrate: 181 kb/s\n  \
                  Stream #0:0[0x1](und): Video: h264\nAt least one output file must be specified\n";
    assert_eq!(
        parse_probe(stderr),
        Some(Probe {
            formats: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            duration_ms: Some(3_724_020),
        })
    );
    let na = "Input #0, wav, from 'x.wav':\n  Duration: N/A, bitrate: N/A\n";
    assert_eq!(
        parse_probe(na),
        Some(Probe {
            formats: "wav".into(),
            duration_ms: None,
        })
    );
    assert_eq!(
        parse_probe("file:x.mp4: Invalid data found when processing input\n"),
        None
    );
}

#[test]
fn chapters_are_embedded_in_a_faststart_mp4_keeping_streams_and_metadata() {
    let dir = tempdir().unwrap();
    let rec = dir.path().join("show.mp4");
    make_mp4(&rec, false);
    let before = probe(&rec);
    // Gaps before the first product and between the second and third.
    let chapters = [
        ch("lipstick-01", "丝绒哑光口红", 0.5, 1.25),
        ch("foundation-02", "轻薄粉底液 = 50% off; #1", 1.25, 2.75),
        ch("mask-03", "补水面膜\\礼盒", 3.0, 3.9),
    ];
    embed_chapters(&rec, &chapters, &EncoderOptions::default()).unwrap();
    let after = probe(&rec);

    let got = chapters_of(&after);
    let titled: Vec<_> = got.iter().filter(|c| !c.0.is_empty()).collect();
    assert_eq!(titled.len(), 3, "{got:?}");
    for (c, want) in titled.iter().zip(&chapters) {
        assert_eq!(c.0, want.title);
        assert!(
            (c.1 - want.start).abs() <= 0.001 && (c.2 - want.end).abs() <= 0.001,
            "{c:?} vs {want:?}"
        );
    }
    // The gaps are untitled chapters, so the products start where they should.
    let untitled: Vec<_> = got
        .iter()
        .filter(|c| c.0.is_empty())
        .map(|c| (c.1, c.2))
        .collect();
    assert_eq!(untitled, vec![(0.0, 0.5), (2.75, 3.0)], "{got:?}");

    assert_metadata_kept(&after);
    assert_eq!(av_streams(&after), av_streams(&before));
    let extra: Vec<_> = after["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] != "video" && s["codec_type"] != "audio")
        .collect();
    assert_eq!(extra.len(), 1, "only the chapter track is added: {extra:?}");
    assert_eq!(extra[0]["codec_type"], "data");
    assert!(
        (num(&after["format"]["duration"]) - num(&before["format"]["duration"])).abs() <= 0.001
    );
    assert_faststart(&rec);
    assert!(leftovers(dir.path(), &["show.mp4"]).is_empty());

    // Embedding again replaces the chapters; the old chapter track is not carried along.
    let fewer = [ch("bag-04", "托特包", 1.0, 2.0)];
    embed_chapters(&rec, &fewer, &EncoderOptions::default()).unwrap();
    let again = probe(&rec);
    let titled: Vec<_> = chapters_of(&again)
        .into_iter()
        .filter(|c| !c.0.is_empty())
        .collect();
    assert_eq!(titled, vec![("托特包".to_owned(), 1.0, 2.0)]);
    assert_eq!(again["streams"].as_array().unwrap().len(), 3);
    assert_eq!(av_streams(&again), av_streams(&before));
    assert_metadata_kept(&again);
}

#[test]
fn a_fragmented_recording_becomes_a_faststart_mp4_with_chapters() {
    let dir = tempdir().unwrap();
    let rec = dir.path().join("live.mp4");
    make_mp4(&rec, true);
    assert!(top_boxes(&rec).iter().any(|b| b == "moof"));
    let before = probe(&rec);
    let chapters = [
        ch("lipstick-01", "丝绒哑光口红", 0.0, 1.5),
        ch("foundation-02", "轻薄粉底液", 1.5, 2.5),
        ch("mask-03", "补水面膜", 2.5, 4.0),
    ];
    embed_chapters(&rec, &chapters, &EncoderOptions::default()).unwrap();
    let after = probe(&rec);
    let got = chapters_of(&after);
    assert_eq!(got.len(), 3, "{got:?}");
    for (c, want) in got.iter().zip(&chapters) {
        assert_eq!(c.0, want.title);
        assert!(
            (c.1 - want.start).abs() <= 0.001 && (c.2 - want.end).abs() <= 0.001,
            "{c:?} vs {want:?}"
        );
    }
    assert_metadata_kept(&after);
    assert_faststart(&rec);
    // Same streams and packets; the video's duration is unchanged. ffprobe reads the audio of a
    // fragmented file up to half an AAC frame shorter than once it is remuxed (the packets are
    // the same), so the file's duration may differ by that much.
    let (b, a) = (av_streams(&before), av_streams(&after));
    assert_eq!(b.len(), 2);
    assert_eq!(a.len(), 2);
    for (x, y) in b.iter().zip(&a) {
        assert_eq!((&x.0, &x.1, &x.2), (&y.0, &y.1, &y.2));
        let tolerance = if x.0 == "video" { 0.001 } else { AAC_FRAME };
        assert!((x.3 - y.3).abs() <= tolerance, "{x:?} vs {y:?}");
    }
    assert!(
        (num(&after["format"]["duration"]) - num(&before["format"]["duration"])).abs() <= AAC_FRAME
    );
    assert_eq!(after["streams"].as_array().unwrap().len(), 3);
    assert!(leftovers(dir.path(), &["live.mp4"]).is_empty());
}

#[test]
fn chapters_past_the_end_are_clipped_and_do_not_lengthen_the_file() {
    let dir = tempdir().unwrap();
    let rec = dir.path().join("show.mp4");
    make_mp4(&rec, false);
    let chapters = [
        ch("a", "口红", 0.0, 3.0),
        ch("b", "粉底液", 3.0, 9.0),
        ch("c", "面膜", 9.5, 12.0),
    ];
    embed_chapters(&rec, &chapters, &EncoderOptions::default()).unwrap();
    let after = probe(&rec);
    assert!((num(&after["format"]["duration"]) - 4.0).abs() <= 0.001);
    assert_eq!(
        chapters_of(&after),
        vec![
            ("口红".to_owned(), 0.0, 3.0),
            ("粉底液".to_owned(), 3.0, 4.0)
        ]
    );
}

#[test]
fn a_file_ffmpeg_cannot_use_is_left_untouched() {
    let dir = tempdir().unwrap();
    let chapters = [ch("a", "口红", 0.0, 1.0)];

    // Not media at all: ffmpeg's own words come back.
    let junk = dir.path().join("junk.mp4");
    let junk_bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&junk, &junk_bytes).unwrap();
    let err = embed_chapters(&junk, &chapters, &EncoderOptions::default()).unwrap_err();
    assert!(
        matches!(&err, StreamError::FfmpegExited { log_tail, .. } if log_tail.contains("Invalid data")),
        "{err}"
    );
    assert_eq!(std::fs::read(&junk).unwrap(), junk_bytes);

    // Media, but not an MP4.
    let wav = dir.path().join("tone.wav");
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "sine=duration=1"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(out.status.success());
    let wav_bytes = std::fs::read(&wav).unwrap();
    let err = embed_chapters(&wav, &chapters, &EncoderOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            StreamError::InvalidConfig {
                field: "recording",
                ..
            }
        ) && err.to_string().contains("not an MP4"),
        "{err}"
    );
    assert_eq!(std::fs::read(&wav).unwrap(), wav_bytes);

    // An MP4 cut short (no index): ffmpeg fails, the bytes stay.
    let good = dir.path().join("good.mp4");
    make_mp4(&good, false);
    let cut = dir.path().join("cut.mp4");
    let full = std::fs::read(&good).unwrap();
    let moov_at = full.windows(4).position(|w| w == b"moov").unwrap();
    let cut_bytes = full[..moov_at + 100].to_vec();
    std::fs::write(&cut, &cut_bytes).unwrap();
    assert!(embed_chapters(&cut, &chapters, &EncoderOptions::default()).is_err());
    assert_eq!(std::fs::read(&cut).unwrap(), cut_bytes);

    // No ffmpeg: a clear error, the file as it was.
    let good_bytes = std::fs::read(&good).unwrap();
    let empty = dir.path().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let opts = EncoderOptions {
        ffmpeg: "ffmpeg".into(),
        search_path: Some(empty.clone().into_os_string()),
        ..EncoderOptions::default()
    };
    let err = embed_chapters(&good, &chapters, &opts).unwrap_err();
    assert!(matches!(err, StreamError::FfmpegNotFound { .. }), "{err}");
    assert_eq!(std::fs::read(&good).unwrap(), good_bytes);

    // Missing file.
    let err = embed_chapters(
        &dir.path().join("missing.mp4"),
        &chapters,
        &EncoderOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            StreamError::InvalidConfig {
                field: "recording",
                ..
            }
        ),
        "{err}"
    );

    assert!(
        leftovers(
            dir.path(),
            &["junk.mp4", "tone.wav", "good.mp4", "cut.mp4", "empty-bin"]
        )
        .is_empty()
    );
}

#[test]
fn a_failed_remux_leaves_the_original_and_no_temporary_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir().unwrap();
    let rec = dir.path().join("show.mp4");
    std::fs::write(&rec, b"original bytes").unwrap();
    // Describes an MP4 when probed; when asked to remux, writes half a file and fails.
    let fake = dir.path().join("fake-ffmpeg");
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         case \"$*\" in\n\
         *ffmetadata*)\n\
           for last; do :; done\n\
           printf partial > \"${last#file:}\"\n\
           echo 'No space left on device' >&2\n\
           exit 1 ;;\n\
         esac\n\
         echo \"Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x':\" >&2\n\
         echo '  Duration: 00:00:04.00, start: 0.000000, bitrate: 1 kb/s' >&2\n\
         exit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = EncoderOptions {
        ffmpeg: fake,
        ..EncoderOptions::default()
    };
    let err = embed_chapters(&rec, &[ch("a", "口红", 0.0, 1.0)], &opts).unwrap_err();
    assert!(
        matches!(&err, StreamError::FfmpegExited { log_tail, .. } if log_tail.contains("No space left")),
        "{err}"
    );
    assert_eq!(std::fs::read(&rec).unwrap(), b"original bytes");
    assert!(leftovers(dir.path(), &["show.mp4", "fake-ffmpeg"]).is_empty());
}
