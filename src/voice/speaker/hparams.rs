//! Resemblyzer 0.1.4's hyper-parameters (`resemblyzer/hparams.py`), same names in capitals,
//! plus the defaults of `VoiceEncoder.embed_utterance`.

/// `sampling_rate`: every clip is resampled to this rate first, Hz.
pub const SAMPLING_RATE: u32 = 16_000;
/// `mel_window_length`, ms: the STFT window (and `n_fft`) is 25 ms = 400 samples.
pub const MEL_WINDOW_LENGTH_MS: u32 = 25;
/// `mel_window_step`, ms: the STFT hop is 10 ms = 160 samples.
pub const MEL_WINDOW_STEP_MS: u32 = 10;
/// `mel_n_channels`: mel bands.
pub const MEL_N_CHANNELS: usize = 40;
/// `partials_n_frames`: mel frames in one partial utterance (1.6 s).
pub const PARTIALS_N_FRAMES: usize = 160;
/// `vad_window_length`, ms: WebRTC VAD frame.
pub const VAD_WINDOW_LENGTH_MS: u32 = 30;
/// `vad_moving_average_width`: VAD decisions averaged together.
pub const VAD_MOVING_AVERAGE_WIDTH: usize = 8;
/// `vad_max_silence_length`: longest run of silent VAD frames kept (dilation width − 1).
pub const VAD_MAX_SILENCE_LENGTH: usize = 6;
/// `audio_norm_target_dBFS`: `normalize_volume` raises quieter clips to this RMS level.
pub const AUDIO_NORM_TARGET_DBFS: f32 = -30.0;
/// `embed_utterance(rate=1.3)`: partial utterances per second.
pub const PARTIALS_RATE: f64 = 1.3;
/// `embed_utterance(min_coverage=0.75)`: a last partial shorter than this share of
/// `PARTIALS_N_FRAMES` is dropped (unless it is the only one).
pub const PARTIALS_MIN_COVERAGE: f64 = 0.75;

/// `n_fft`: samples in one STFT window (400).
pub const N_FFT: usize = (SAMPLING_RATE * MEL_WINDOW_LENGTH_MS / 1000) as usize;
/// `hop_length`: samples between mel frames (160).
pub const HOP_LENGTH: usize = (SAMPLING_RATE * MEL_WINDOW_STEP_MS / 1000) as usize;
/// Samples in one VAD window (480).
pub const VAD_WINDOW: usize = (VAD_WINDOW_LENGTH_MS * SAMPLING_RATE / 1000) as usize;
