//! Model files and runtime libraries on disk: what `scripts/setup.sh` fetched into `models/`,
//! found without environment variables (`ORT_DYLIB_PATH` overrides the ONNX Runtime library).

use std::path::{Path, PathBuf};

/// Errors finding or loading a model or runtime. Each says what to run to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The ONNX Runtime shared library is not where setup puts it (or where ORT_DYLIB_PATH says).
    #[error(
        "ONNX Runtime library not found at {0}; run scripts/setup.sh (it fetches it from PyPI's onnxruntime wheel) or set ORT_DYLIB_PATH to libonnxruntime.so"
    )]
    OnnxRuntimeMissing(PathBuf),
    /// The library exists but could not be loaded (wrong file, too old: anchor needs ≥ 1.21).
    #[error("cannot load ONNX Runtime from {path}: {reason}")]
    OnnxRuntimeLoad { path: PathBuf, reason: String },
    /// A model file is missing.
    #[error("model file not found: {0}; run scripts/setup.sh to fetch it")]
    Missing(PathBuf),
    /// ONNX Runtime rejected a model.
    #[error("cannot open model {path}: {reason}")]
    Onnx { path: PathBuf, reason: String },
}

/// The `models/` folder.
pub fn dir() -> PathBuf {
    crate::home::home().join("models")
}

/// The ONNX Runtime library: `ORT_DYLIB_PATH` if set, else `models/onnxruntime/libonnxruntime.so`.
pub fn onnx_runtime_library() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir().join("onnxruntime/libonnxruntime.so"))
}

/// The Silero VAD model fetched by setup.
pub fn silero_vad() -> PathBuf {
    dir().join("silero-vad/silero_vad.onnx")
}

/// The process's ONNX Runtime environment, shared by every model (VAD, Piper voices, probes).
/// ONNX Runtime allows one environment per process and `ort` refuses to build a second, so
/// the first is kept here. The library file is checked first (`ort` would panic on a missing
/// one); a failure is not kept, so the next call tries again (after setup fixed the library).
pub fn onnx_environment() -> Result<ort::environment::Environment, ModelError> {
    static ENV: std::sync::Mutex<Option<ort::environment::Environment>> =
        std::sync::Mutex::new(None);
    let mut guard = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = guard.as_ref() {
        return Ok(env.clone());
    }
    let lib = onnx_runtime_library();
    if !lib.is_file() {
        return Err(ModelError::OnnxRuntimeMissing(lib));
    }
    let load_err = |reason: String| ModelError::OnnxRuntimeLoad {
        path: lib.clone(),
        reason,
    };
    let env = ort::init_from(&lib)
        .map_err(|e| load_err(e.to_string()))?
        .with_name("anchor")
        .build()
        .map_err(|e| load_err(e.to_string()))?;
    *guard = Some(env.clone());
    Ok(env)
}

/// Opens an ONNX model to prove the runtime works; returns its input names.
pub fn probe_onnx_model(path: &Path) -> Result<Vec<String>, ModelError> {
    if !path.is_file() {
        return Err(ModelError::Missing(path.to_path_buf()));
    }
    let env = onnx_environment()?;
    let onnx = |e: ort::Error| ModelError::Onnx {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let session = ort::session::Session::builder(&env)
        .map_err(onnx)?
        .commit_from_file(path)
        .map_err(onnx)?;
    Ok(session
        .inputs()
        .iter()
        .map(|i| i.name().to_owned())
        .collect())
}
