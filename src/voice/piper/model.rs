//! The ONNX session of a Piper voice: loading, the signature check, one inference.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ort::session::{Session, SessionInputValue};
use ort::value::{Tensor, TensorElementType, ValueType};

use super::PiperError;

/// Input names of Piper's export (`piper.train.export_onnx`).
const INPUT: &str = "input";
const INPUT_LENGTHS: &str = "input_lengths";
const SCALES: &str = "scales";
const SID: &str = "sid";

/// What one run gives back.
#[derive(Debug)]
pub(crate) struct Inference {
    /// Audio at the model's rate, as the model produced it.
    pub audio: Vec<f32>,
    /// Frames per input id, when the model exposes its durations (second output).
    pub frames_per_id: Option<Vec<f32>>,
}

/// A loaded Piper model whose signature has been checked.
pub(crate) struct PiperModel {
    session: Session,
    path: PathBuf,
    has_sid: bool,
    /// Name of the audio output and of the durations output, if any.
    audio_output: String,
    durations_output: Option<String>,
}

impl std::fmt::Debug for PiperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PiperModel")
            .field("path", &self.path)
            .field("has_sid", &self.has_sid)
            .field("durations_output", &self.durations_output)
            .finish()
    }
}

fn tensor_of(dtype: &ValueType) -> Option<(TensorElementType, usize)> {
    match dtype {
        ValueType::Tensor { ty, shape, .. } => Some((*ty, shape.len())),
        _ => None,
    }
}

impl PiperModel {
    /// Opens `path` on the CPU and checks it takes Piper's inputs.
    pub fn load(path: &Path) -> Result<PiperModel, PiperError> {
        if !path.is_file() {
            return Err(PiperError::ModelMissing(path.to_path_buf()));
        }
        let env = crate::models::onnx_environment()?;
        let onnx = |reason: String| PiperError::Onnx {
            path: path.to_path_buf(),
            reason,
        };
        let session = Session::builder(&env)
            .map_err(|e| onnx(e.to_string()))?
            .commit_from_file(path)
            .map_err(|e| onnx(e.to_string()))?;
        let sig = |reason: String| PiperError::Signature {
            path: path.to_path_buf(),
            reason,
        };
        let mut has_sid = false;
        let mut seen = Vec::new();
        for input in session.inputs() {
            let name = input.name();
            let (ty, rank) = tensor_of(input.dtype())
                .ok_or_else(|| sig(format!("input `{name}` is not a tensor")))?;
            let want = match name {
                INPUT => (TensorElementType::Int64, 2),
                INPUT_LENGTHS => (TensorElementType::Int64, 1),
                SCALES => (TensorElementType::Float32, 1),
                SID => {
                    has_sid = true;
                    (TensorElementType::Int64, 1)
                }
                other => return Err(sig(format!("it has an input `{other}` Piper does not"))),
            };
            if (ty, rank) != want {
                return Err(sig(format!(
                    "input `{name}` is {ty:?} of rank {rank}, not {:?} of rank {}",
                    want.0, want.1
                )));
            }
            seen.push(name.to_string());
        }
        for needed in [INPUT, INPUT_LENGTHS, SCALES] {
            if !seen.iter().any(|s| s == needed) {
                let have = seen.join(", ");
                return Err(sig(format!("input `{needed}` is missing (it has: {have})")));
            }
        }
        let outputs = session.outputs();
        let first = outputs
            .first()
            .ok_or_else(|| sig("it has no outputs".into()))?;
        match tensor_of(first.dtype()) {
            Some((TensorElementType::Float32, _)) => {}
            _ => {
                return Err(sig(format!(
                    "its first output `{}` is not float32 audio",
                    first.name()
                )));
            }
        }
        let audio_output = first.name().to_string();
        let durations_output = outputs.get(1).and_then(|o| match tensor_of(o.dtype()) {
            Some((TensorElementType::Float32, _)) => Some(o.name().to_string()),
            _ => {
                tracing::debug!(output = o.name(), "second output is not float32; ignored");
                None
            }
        });
        tracing::info!(
            model = %path.display(),
            sid = has_sid,
            durations = durations_output.as_deref().unwrap_or("none"),
            "Piper model loaded"
        );
        Ok(PiperModel {
            session,
            path: path.to_path_buf(),
            has_sid,
            audio_output,
            durations_output,
        })
    }

    pub fn has_sid(&self) -> bool {
        self.has_sid
    }

    pub fn has_durations(&self) -> bool {
        self.durations_output.is_some()
    }

    /// Runs the model on one sentence's ids.
    pub fn infer(
        &mut self,
        ids: &[i64],
        scales: [f32; 3],
        sid: Option<i64>,
    ) -> Result<Inference, PiperError> {
        let err = |e: ort::Error| PiperError::Inference(e.to_string());
        let n = ids.len();
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (
                INPUT.into(),
                Tensor::from_array(([1usize, n], ids.to_vec()))
                    .map_err(err)?
                    .into(),
            ),
            (
                INPUT_LENGTHS.into(),
                Tensor::from_array(([1usize], vec![n as i64]))
                    .map_err(err)?
                    .into(),
            ),
            (
                SCALES.into(),
                Tensor::from_array(([3usize], scales.to_vec()))
                    .map_err(err)?
                    .into(),
            ),
        ];
        if self.has_sid {
            let sid = sid.unwrap_or(0);
            inputs.push((
                SID.into(),
                Tensor::from_array(([1usize], vec![sid]))
                    .map_err(err)?
                    .into(),
            ));
        }
        let outputs = self.session.run(inputs).map_err(err)?;
        let audio_value = outputs
            .get(&self.audio_output)
            .ok_or_else(|| PiperError::Inference(format!("no output `{}`", self.audio_output)))?;
        let (_, audio) = audio_value.try_extract_tensor::<f32>().map_err(err)?;
        let audio = audio.to_vec();
        let frames_per_id = match &self.durations_output {
            Some(name) => match outputs.get(name).map(|v| v.try_extract_tensor::<f32>()) {
                Some(Ok((_, d))) if d.len() == n => Some(d.to_vec()),
                Some(Ok((shape, _))) => {
                    tracing::debug!(%shape, ids = n, "durations output does not match the ids; ignored");
                    None
                }
                _ => None,
            },
            None => None,
        };
        if audio.iter().any(|s| !s.is_finite()) {
            return Err(PiperError::Inference(
                "the model produced NaN or infinite samples".into(),
            ));
        }
        Ok(Inference {
            audio,
            frames_per_id,
        })
    }
}
