#!/usr/bin/env python3
"""Reference vectors for the GE2E speaker encoder (src/voice/speaker/), computed by
Resemblyzer 0.1.4's own code, independently of the Rust implementation.

How the reference is computed
-----------------------------
* Resemblyzer 0.1.4 (`resemblyzer/audio.py`, `hparams.py`, `voice_encoder.py`) runs unmodified:
  `preprocess_wav`, `wav_to_mel_spectrogram`, `VoiceEncoder.compute_partial_slices`,
  `VoiceEncoder.embed_utterance`, `VoiceEncoder.embed_speaker`. Its dependencies are the real
  ones: librosa (mel filterbank, STFT, soxr resampling), webrtcvad (py-webrtcvad's C code, here
  from the `webrtcvad-wheels` build), scipy (binary_dilation), numpy.
* PyTorch is NOT used (its PyPI wheel is several GB). Before Resemblyzer is imported, a small
  numpy stand-in for the few `torch` names it touches is put in `sys.modules['torch']`:
  `nn.Module`, `nn.LSTM` (PyTorch's equations: gates i, f, g, o; c' = f*c + i*g;
  h' = o*tanh(c'); biases b_ih + b_hh; batch_first), `nn.Linear`, `nn.ReLU`, `torch.norm`,
  `torch.load` and a few no-ops. Arithmetic is float32, as PyTorch on CPU would do it.
* `torch.load` is replaced by a reader of PyTorch's legacy (non-zip) serialization, the format of
  Resemblyzer's `pretrained.pt`: five pickles (magic, protocol, sys info, the object with
  persistent ids for storages, the storage keys) followed by each storage as an int64 element
  count and raw little-endian data. Tensors are views (offset, size, stride) into storages.

Inputs (all derived from tests/fixtures/ge2e/speech_16k.wav, 16-bit mono 16 kHz, read as
int16 / 32768 in float32 exactly like librosa.load and like the Rust test):
  utterance  the clip as is (it is above -30 dBFS, so normalize_volume leaves it unchanged)
  quiet      the clip * 0.25 (exact in float32): normalize_volume raises it to -30 dBFS
  speaker    embed_speaker([clip[:SPLIT], clip[SPLIT:]])
  upsampled  np.repeat(clip, 3) declared as 48 kHz: preprocess_wav resamples it with
             librosa.resample (soxr_hq); the Rust side uses rubato, so this one is approximate

Each case records the stages tests/voice_speaker.rs compares: lengths after resampling and
trimming, the normalize_volume gain (ratio of the peaks after/before), the raw VAD decision of
every 30 ms window, the partial slices (mel frames), the partial and final embeddings; the
"utterance" case also the first/last 64 trimmed samples and the whole mel spectrogram that
embed_utterance slices (of the trimmed wav zero-padded to the end of the last partial).

Setup and run (the committed reference.json was made with numpy 2.4.6, scipy 1.17.1,
librosa 0.11.0, soxr 1.1.0, webrtcvad-wheels 2.0.14.post1, Python 3.11, on x86-64):
  python -m venv venv && . venv/bin/activate
  pip install numpy scipy librosa webrtcvad-wheels
  pip install --no-deps Resemblyzer==0.1.4      # its code only; torch is not installed
  scripts/setup.sh                              # models/resemblyzer/pretrained.pt
  python scripts/ge2e_reference.py make-audio   # (re)makes the WAV with the espeak-ng CLI
  python scripts/ge2e_reference.py              # writes tests/fixtures/ge2e/reference.json
"""

import contextlib
import json
import pickle
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = ROOT / "tests" / "fixtures" / "ge2e"
WAV = FIXTURE_DIR / "speech_16k.wav"
REFERENCE = FIXTURE_DIR / "reference.json"
WEIGHTS = ROOT / "models" / "resemblyzer" / "pretrained.pt"
# Sample where the "speaker" case splits the clip into two utterances (inside the pause).
SPLIT = 38_400


# --- PyTorch legacy checkpoint reader (no torch) ------------------------------------------------

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageRef:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _TensorRef:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return lambda storage, offset, size, stride, *_: _TensorRef(storage, offset, size, stride)
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid[:5]
        assert kind == "storage"
        return _StorageRef(key, _DTYPES[storage_type], numel)


def load_legacy_checkpoint(path):
    with open(path, "rb") as f:
        assert pickle.load(f) == 0x1950A86A20F9469CFC6C  # torch's legacy magic number
        pickle.load(f)  # protocol version
        sys_info = pickle.load(f)
        assert sys_info["little_endian"]
        obj = _Unpickler(f).load()
        keys = pickle.load(f)
        refs = {}

        def collect(o):
            if isinstance(o, _TensorRef):
                refs[o.storage.key] = o.storage
            elif isinstance(o, dict):
                for v in o.values():
                    collect(v)
            elif isinstance(o, (list, tuple)):
                for v in o:
                    collect(v)

        collect(obj)
        storages = {}
        for key in keys:
            numel = int(np.frombuffer(f.read(8), "<i8")[0])
            ref = refs.get(key)
            if ref is None:
                raise ValueError(f"storage {key} is not referenced by any tensor")
            assert numel == ref.numel
            data = np.frombuffer(f.read(numel * np.dtype(ref.dtype).itemsize), ref.dtype)
            storages[key] = data

    def materialize(o):
        if isinstance(o, _TensorRef):
            base = storages[o.storage.key]
            itemsize = base.itemsize
            view = np.lib.stride_tricks.as_strided(
                base[o.offset :],
                shape=tuple(o.size),
                strides=tuple(s * itemsize for s in o.stride),
            )
            return np.array(view)  # copy
        if isinstance(o, dict):
            return type(o)((k, materialize(v)) for k, v in o.items())
        return o

    return materialize(obj)


# --- numpy stand-in for the torch names Resemblyzer uses ---------------------------------------


class Tensor(np.ndarray):
    def to(self, *_args, **_kw):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return np.asarray(self)


def _t(a):
    return np.asarray(a, dtype=np.float32).view(Tensor)


class Module:
    def __call__(self, *args):
        return self.forward(*args)

    def to(self, *_args):
        return self

    def _modules(self):
        return {k: v for k, v in vars(self).items() if isinstance(v, Module)}

    def load_state_dict(self, state, strict=True):
        used = set()
        for name, mod in self._modules().items():
            for pname in mod.param_names():
                key = f"{name}.{pname}"
                if key in state:
                    setattr(mod, pname, np.asarray(state[key], dtype=np.float32))
                    used.add(key)
                elif strict:
                    raise KeyError(key)
        # Resemblyzer loads with strict=False: similarity_weight/bias are training-only.
        return sorted(set(state) - used)

    def param_names(self):
        return []


def _sigmoid(x):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


class LSTM(Module):
    def __init__(self, input_size, hidden_size, num_layers, batch_first=False):
        assert batch_first
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers

    def param_names(self):
        return [
            f"{w}_l{k}"
            for k in range(self.num_layers)
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]

    def forward(self, x):
        x = np.asarray(x, dtype=np.float32)  # (batch, time, features)
        batch, steps, _ = x.shape
        H = self.hidden_size
        h_n, c_n = [], []
        layer_in = x
        for k in range(self.num_layers):
            w_ih = getattr(self, f"weight_ih_l{k}")
            w_hh = getattr(self, f"weight_hh_l{k}")
            b = getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}")
            h = np.zeros((batch, H), np.float32)
            c = np.zeros((batch, H), np.float32)
            outs = np.empty((batch, steps, H), np.float32)
            x_proj = layer_in @ w_ih.T + b
            for t in range(steps):
                gates = x_proj[:, t] + h @ w_hh.T
                i = _sigmoid(gates[:, 0:H])
                f = _sigmoid(gates[:, H : 2 * H])
                g = np.tanh(gates[:, 2 * H : 3 * H])
                o = _sigmoid(gates[:, 3 * H : 4 * H])
                c = f * c + i * g
                h = o * np.tanh(c)
                outs[:, t] = h
            h_n.append(h)
            c_n.append(c)
            layer_in = outs
        return _t(layer_in), (_t(np.stack(h_n)), _t(np.stack(c_n)))


class Linear(Module):
    def __init__(self, in_features, out_features):
        self.in_features, self.out_features = in_features, out_features

    def param_names(self):
        return ["weight", "bias"]

    def forward(self, x):
        return _t(np.asarray(x, np.float32) @ self.weight.T + self.bias)


class ReLU(Module):
    def forward(self, x):
        return _t(np.maximum(np.asarray(x), np.float32(0)))


class _Device:
    def __init__(self, kind):
        self.type = str(kind)


def _install_torch_stub():
    # Import the real libraries first: scipy's array-API layer looks for `torch` in sys.modules.
    import librosa
    import scipy.ndimage
    import scipy.signal

    librosa.resample, librosa.feature.melspectrogram, librosa.filters.mel  # load lazy modules
    torch = types.ModuleType("torch")
    torch.Tensor = type("NotATorchTensor", (), {})  # nothing here is a real torch tensor
    nn = types.ModuleType("torch.nn")
    nn.Module, nn.LSTM, nn.Linear, nn.ReLU = Module, LSTM, Linear, ReLU
    torch.nn = nn
    torch.device = _Device
    torch.FloatTensor = Tensor
    torch.cuda = types.SimpleNamespace(is_available=lambda: False)
    torch.load = lambda path, map_location=None: load_legacy_checkpoint(path)
    torch.no_grad = contextlib.nullcontext
    torch.from_numpy = _t
    torch.norm = lambda x, dim, keepdim: _t(
        np.sqrt(np.sum(np.square(np.asarray(x)), axis=dim, keepdims=keepdim))
    )
    sys.modules["torch"] = torch
    sys.modules["torch.nn"] = nn


# --- fixture audio ------------------------------------------------------------------------------


def make_audio():
    """Two English sentences from the espeak-ng CLI (en-us), a pause between them, resampled
    22.05 → 16 kHz with scipy's polyphase filter, with a little seeded noise everywhere so the
    VAD sees a real noise floor instead of digital silence."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    def say(text):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "s.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(out), text], check=True)
            sr, x = wavfile.read(out)
        assert sr == 22050
        voiced = np.flatnonzero(np.abs(x) > 30)  # drop espeak-ng's own leading/trailing silence
        x = x[voiced[0] : voiced[-1] + 1]
        return resample_poly(x.astype(np.float64) / 32768.0, 320, 441)

    sr = 16000
    gap = lambda secs: np.zeros(int(secs * sr))
    parts = [gap(0.3), say("Welcome back to the stream."), gap(1.0),
             say("Thanks for joining us tonight."), gap(0.3)]
    x = np.concatenate(parts)
    x = 0.9 * x / np.max(np.abs(x))
    x += np.random.default_rng(20240601).normal(0.0, 0.0008, len(x))
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    wavfile.write(WAV, sr, pcm)
    print(f"wrote {WAV}: {len(pcm)} samples, {len(pcm) / sr:.2f} s")


# --- reference ----------------------------------------------------------------------------------


def f32list(a):
    """float32 values as JSON numbers, shortest repr that round-trips float32."""
    return [float(np.format_float_scientific(np.float32(v), unique=True)) for v in np.ravel(a)]


def vad_flags(wav):
    """The raw per-window decisions of trim_long_silences (same code path, before smoothing)."""
    import struct
    import webrtcvad
    from resemblyzer.hparams import sampling_rate, vad_window_length

    spw = (vad_window_length * sampling_rate) // 1000
    wav = wav[: len(wav) - (len(wav) % spw)]
    pcm = struct.pack("%dh" % len(wav), *(np.round(wav * 32767)).astype(np.int16))
    vad = webrtcvad.Vad(mode=3)
    return [int(vad.is_speech(pcm[s * 2 : (s + spw) * 2], sample_rate=sampling_rate))
            for s in range(0, len(wav), spw)]


def case(encoder, wav, sr, full=False):
    from resemblyzer import audio
    from resemblyzer.audio import normalize_volume, preprocess_wav
    from resemblyzer.hparams import audio_norm_target_dBFS

    if sr != 16000:
        import librosa

        resampled = librosa.resample(wav, orig_sr=sr, target_sr=16000)
    else:
        resampled = wav
    normalized = normalize_volume(resampled, audio_norm_target_dBFS, increase_only=True)
    pre = preprocess_wav(wav, source_sr=sr)
    assert pre.dtype == np.float32, pre.dtype
    embed, partials, wav_slices = encoder.embed_utterance(pre, return_partials=True)
    out = {
        "sample_rate": sr,
        "input_len": len(wav),
        "resampled_len": len(resampled),
        "gain": float(np.max(np.abs(normalized)) / np.max(np.abs(resampled))),
        "vad_flags": vad_flags(normalized),
        "trimmed_len": len(pre),
        "partial_slices": [[int(s.start) // 160, int(s.stop) // 160] for s in wav_slices],
        "partial_embeddings": [f32list(p) for p in partials],
        "embedding": f32list(embed),
    }
    if full:
        # The mel spectrogram embed_utterance slices: of the wav zero-padded to the last slice.
        stop = wav_slices[-1].stop
        padded = np.pad(pre, (0, max(0, stop - len(pre))), "constant")
        mel = audio.wav_to_mel_spectrogram(padded)
        out["trimmed_head"] = f32list(pre[:64])
        out["trimmed_tail"] = f32list(pre[-64:])
        out["mel_frames"] = mel.shape[0]
        out["mel"] = [f32list(row) for row in mel]
    return out


def reference():
    _install_torch_stub()
    import librosa
    import resemblyzer
    import scipy
    import soxr
    import webrtcvad
    from resemblyzer import VoiceEncoder
    from scipy.io import wavfile

    sr, pcm = wavfile.read(WAV)
    assert sr == 16000 and pcm.dtype == np.int16
    wav = (pcm.astype(np.float32) / np.float32(32768.0)).astype(np.float32)
    encoder = VoiceEncoder(device="cpu", verbose=False, weights_fpath=WEIGHTS)
    speaker_clips = [wav[:SPLIT], wav[SPLIT:]]
    speaker_pre = [resemblyzer.preprocess_wav(c, source_sr=16000) for c in speaker_clips]
    ref = {
        "about": "Resemblyzer 0.1.4 reference; made by scripts/ge2e_reference.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "librosa": librosa.__version__,
            "webrtcvad": getattr(webrtcvad, "__version__", "?"),
            "soxr": soxr.__version__,
        },
        "utterance": case(encoder, wav, 16000, full=True),
        "quiet": case(encoder, (wav * np.float32(0.25)).astype(np.float32), 16000),
        "speaker": {
            "split": SPLIT,
            "utterance_embeddings": [f32list(encoder.embed_utterance(p)) for p in speaker_pre],
            "embedding": f32list(encoder.embed_speaker(speaker_pre)),
        },
        "upsampled": case(encoder, np.repeat(wav, 3), 48000),
    }
    REFERENCE.write_text(json.dumps(ref, separators=(",", ":")) + "\n")
    u = ref["utterance"]
    print(f"wrote {REFERENCE}: trimmed {u['trimmed_len']} of {u['input_len']} samples, "
          f"{u['mel_frames']} mel frames, slices {u['partial_slices']}")


if __name__ == "__main__":
    if sys.argv[1:] == ["make-audio"]:
        make_audio()
    elif not sys.argv[1:]:
        reference()
    else:
        sys.exit(__doc__)
