//! The lip-sync sidecar: per video frame, how open the mouth is and which viseme leads, plus
//! the spoken intervals. Written next to a rendered file so tests (and people) can check that
//! the mouth moves with the sound.

use std::path::Path;

use serde::Serialize;

use crate::motion::Pose;
use crate::voice::{SpeechChunk, Viseme};

#[derive(Debug, Clone, Serialize)]
pub struct FrameSample {
    pub frame: u64,
    /// Media time of the frame, seconds.
    pub t: f64,
    pub mouth_open: f32,
    /// The strongest viseme this frame (`sil` when the mouth rests).
    pub viseme: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpokenInterval {
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// The words as the voice timed them, in media seconds.
    pub words: Vec<SpokenWord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpokenWord {
    pub text: String,
    pub start: f64,
    pub end: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LipsyncTrack {
    pub fps: u32,
    pub frames: Vec<FrameSample>,
    pub speech: Vec<SpokenInterval>,
}

impl LipsyncTrack {
    pub fn new(fps: u32) -> LipsyncTrack {
        LipsyncTrack {
            fps,
            ..Default::default()
        }
    }

    /// A sentence that starts playing at media time `start`.
    pub fn add_speech(&mut self, start: f64, text: &str, chunk: &SpeechChunk) {
        self.speech.push(SpokenInterval {
            start,
            end: start + chunk.duration_secs(),
            text: text.to_owned(),
            words: chunk
                .words
                .iter()
                .map(|w| SpokenWord {
                    text: w.text.clone(),
                    start: start + f64::from(w.start),
                    end: start + f64::from(w.end),
                })
                .collect(),
        });
    }

    pub fn push_frame(&mut self, frame: u64, t: f64, pose: &Pose) {
        let (best, weight) = Viseme::ALL
            .iter()
            .map(|v| (*v, pose.visemes[v.index()]))
            .fold(
                (Viseme::Sil, 0.0f32),
                |acc, x| if x.1 > acc.1 { x } else { acc },
            );
        let viseme = if weight < 0.05 {
            Viseme::Sil.name()
        } else {
            best.name()
        };
        self.frames.push(FrameSample {
            frame,
            t,
            mouth_open: pose.mouth_open,
            viseme,
        });
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json)
    }
}
