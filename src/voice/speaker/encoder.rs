//! The GE2E network of Resemblyzer's `VoiceEncoder` (`resemblyzer/voice_encoder.py`):
//! `nn.LSTM(mel_n_channels, model_hidden_size, model_num_layers, batch_first=True)`, then
//! `nn.Linear(model_hidden_size, model_embedding_size)` and ReLU on the last layer's final
//! hidden state, then L2 normalization. Weight names are PyTorch's (`lstm.weight_ih_l0`, …,
//! `linear.weight`); the checkpoint's `similarity_weight`/`similarity_bias` are training-only
//! and ignored, as Resemblyzer's `load_state_dict(strict=False)` does.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

/// Model size, mirroring `resemblyzer/hparams.py`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `mel_n_channels`: input features per frame.
    pub mel_n_channels: usize,
    /// `model_hidden_size`: LSTM hidden (and cell) size.
    pub model_hidden_size: usize,
    /// `model_embedding_size`: output size.
    pub model_embedding_size: usize,
    /// `model_num_layers`: stacked LSTM layers.
    pub model_num_layers: usize,
}

impl Config {
    /// Resemblyzer 0.1.4's `pretrained.pt`: 40 → LSTM 3×256 → 256.
    pub fn resemblyzer() -> Config {
        Config {
            mel_n_channels: super::hparams::MEL_N_CHANNELS,
            model_hidden_size: 256,
            model_embedding_size: 256,
            model_num_layers: 3,
        }
    }
}

/// One LSTM layer, weights stored transposed for `x · Wᵀ`.
#[derive(Debug, Clone)]
struct LstmLayer {
    /// `weight_ih_lK`ᵀ: (input, 4·hidden), gate order i, f, g, o as in PyTorch.
    w_ih_t: Tensor,
    /// `weight_hh_lK`ᵀ: (hidden, 4·hidden).
    w_hh_t: Tensor,
    /// `bias_ih_lK + bias_hh_lK`: (4·hidden).
    bias: Tensor,
}

/// The network. Input: mel frames (batch, frames, `mel_n_channels`), f32. Output: (batch,
/// `model_embedding_size`), each row L2-normalized (and non-negative: it follows a ReLU).
#[derive(Debug, Clone)]
pub struct VoiceEncoder {
    lstm: Vec<LstmLayer>,
    linear: Linear,
    hidden: usize,
}

impl VoiceEncoder {
    pub fn load(vb: VarBuilder, cfg: &Config) -> Result<VoiceEncoder> {
        let h = cfg.model_hidden_size;
        let lstm_vb = vb.pp("lstm");
        let mut lstm = Vec::with_capacity(cfg.model_num_layers);
        for k in 0..cfg.model_num_layers {
            let input = if k == 0 { cfg.mel_n_channels } else { h };
            let w_ih = lstm_vb.get((4 * h, input), &format!("weight_ih_l{k}"))?;
            let w_hh = lstm_vb.get((4 * h, h), &format!("weight_hh_l{k}"))?;
            let b_ih = lstm_vb.get(4 * h, &format!("bias_ih_l{k}"))?;
            let b_hh = lstm_vb.get(4 * h, &format!("bias_hh_l{k}"))?;
            lstm.push(LstmLayer {
                w_ih_t: w_ih.t()?.contiguous()?,
                w_hh_t: w_hh.t()?.contiguous()?,
                bias: (b_ih + b_hh)?,
            });
        }
        let linear = candle_nn::linear(h, cfg.model_embedding_size, vb.pp("linear"))?;
        Ok(VoiceEncoder {
            lstm,
            linear,
            hidden: h,
        })
    }

    /// `VoiceEncoder.forward`: `relu(linear(hidden[-1])) / ‖·‖₂` per row.
    pub fn forward(&self, mels: &Tensor) -> Result<Tensor> {
        let (batch, frames, _) = mels.dims3()?;
        let h_size = self.hidden;
        let mut xs = mels.to_dtype(DType::F32)?;
        let mut last_h = Tensor::zeros((batch, h_size), DType::F32, mels.device())?;
        for (k, layer) in self.lstm.iter().enumerate() {
            let is_last = k + 1 == self.lstm.len();
            let in_dim = xs.dim(2)?;
            // The input projection of every frame at once.
            let projected = xs
                .reshape((batch * frames, in_dim))?
                .matmul(&layer.w_ih_t)?
                .broadcast_add(&layer.bias)?
                .reshape((batch, frames, 4 * h_size))?;
            let mut h = Tensor::zeros((batch, h_size), DType::F32, mels.device())?;
            let mut c = h.clone();
            let mut outputs = Vec::with_capacity(if is_last { 0 } else { frames });
            for t in 0..frames {
                let gates = (projected.narrow(1, t, 1)?.squeeze(1)? + h.matmul(&layer.w_hh_t)?)?;
                let sig = candle_nn::ops::sigmoid(&gates)?;
                let i = sig.narrow(1, 0, h_size)?;
                let f = sig.narrow(1, h_size, h_size)?;
                let o = sig.narrow(1, 3 * h_size, h_size)?;
                let g = gates.narrow(1, 2 * h_size, h_size)?.tanh()?;
                c = ((f * &c)? + (i * g)?)?;
                h = (o * c.tanh()?)?;
                if !is_last {
                    outputs.push(h.clone());
                }
            }
            if is_last {
                last_h = h;
            } else {
                xs = Tensor::stack(&outputs, 1)?;
            }
        }
        let raw = self.linear.forward(&last_h)?.relu()?;
        let norm = raw.sqr()?.sum_keepdim(1)?.sqrt()?;
        raw.broadcast_div(&norm)
    }
}
