#!/usr/bin/env python3
"""Writes a tiny Piper/VITS-shaped voice: OUT/model.onnx + OUT/model.onnx.json.

The model has exactly Piper's signature (what `piper.train.export_onnx` writes):

    inputs   input          int64   [batch, phonemes]   phoneme ids (^ _ p _ p _ ... $)
             input_lengths  int64   [batch]
             scales         float32 [3]                 noise_scale, length_scale, noise_w
             sid            int64   [batch]             only with --speakers N (N > 1)
    outputs  output         float32 [batch, 1, 1, time] audio at audio.sample_rate
             durations      float32 [batch, 1, phonemes] only with --durations: frames per id
                                                        (Piper's `w_ceil`; samples = frames * hop_length)

No weights are trained. Like VITS's duration predictor it decides a length per phoneme id and
expands it to frames of HOP samples:

    frames(id) = ceil(FRAMES[id] * length_scale)        samples(id) = frames(id) * HOP

with FRAMES = 1 for the pad `_`, 2 for `^` `$` and the space, 6 for punctuation, 2 + id % 3 for
every other symbol. The audio is a sine per id (110 + 7 * (id % 50) Hz, times 1 + 0.25 * sid),
amplitude 0.5, silent for pad, BOS/EOS, space and punctuation. So the output length, the voiced
span and the per-phoneme boundaries are all known exactly from the ids: the Rust tests check the
engine against this arithmetic (see `expected_samples` below and tests/voice_piper.rs).

Variants:
    --speakers N      multi-speaker model (adds `sid`; speaker k shifts every frequency by 25 % * k)
    --durations       also output the per-id frame counts (a model patched for alignments)
    --bad-signature   inputs named like another VITS export (`text`, `text_lengths`, `scales`):
                      the engine must refuse it with a clear message
    --heavy Q         adds random-weight layers with the compute of a real Piper voice of
                      quality Q (medium or high), mixed into the output at a low level: the
                      flow (4 coupling layers, WaveNet 4 x k5 at 192 channels, per frame) and
                      the HiFi-GAN decoder of that preset (medium: 256 initial channels,
                      upsampling 8-8-4, resblock type 2 with kernels 3/5/7; high: 512 channels,
                      8-8-2-2, resblock type 1 with kernels 3/7/11 x dilations 1/3/5). The text
                      encoder and duration predictor (small, per phoneme) are left out. For
                      timing benchmarks only; the audio is noise over the tones.

    python3 scripts/make_tiny_piper.py OUT [--speakers N] [--durations] [--bad-signature]
                                           [--heavy medium|high] [--espeak-voice VOICE]

Needs `onnx` and `numpy` (scripts/setup.sh makes ~/.cache/anchor/venv with both).
"""

import argparse
import json
import os
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover - the message is the point
    sys.exit(f"make_tiny_piper.py needs onnx and numpy ({e}); run scripts/setup.sh, "
             "which creates ~/.cache/anchor/venv with them")

SAMPLE_RATE = 22050
HOP = 256
NUM_SYMBOLS = 256
OPSET = 17

# Piper's phoneme id map (piper-phonemize / piper1-gpl DEFAULT_PHONEME_ID_MAP, one id per
# symbol): pad, BOS, EOS, space, punctuation, then IPA letters, marks and digits. It covers what
# espeak-ng writes in IPA for en-us and cmn (tones come out as digits and `ɜ`).
SYMBOLS = (
    ["_", "^", "$", " ", "!", "'", "(", ")", ",", "-", ".", ":", ";", "?"]
    + list("abcdefhijklmnopqrstuvwxyz")
    + list("æçðøħŋœǀǁǂǃɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲ")
    + ["ˈ", "ˌ", "ː", "ˑ", "˞", "β", "θ", "χ", "ᵻ", "ⱱ"]
    + list("0123456789")
    + ["\u0327", "\u0303", "\u032a", "\u032f", "\u0329", "ʰ", "ˤ", "ε", "↓", "#", '"', "↑",
       "\u033a", "\u033b", "g", "ʦ", "X", "\u031d", "\u030a", "ɝ", "ʷ"]
)
assert len(SYMBOLS) == len(set(SYMBOLS)), "duplicate symbol"
PHONEME_ID_MAP = {s: [i] for i, s in enumerate(SYMBOLS)}
PAD, BOS, EOS, SPACE = 0, 1, 2, 3
PUNCT = {PHONEME_ID_MAP[c][0] for c in "!'(),-.:;?"}


def frames_table():
    t = np.zeros(NUM_SYMBOLS, dtype=np.float32)
    for i in range(NUM_SYMBOLS):
        if i == PAD:
            t[i] = 1
        elif i in (BOS, EOS, SPACE):
            t[i] = 2
        elif i in PUNCT:
            t[i] = 6
        else:
            t[i] = 2 + i % 3
    return t


def amp_table():
    t = np.full(NUM_SYMBOLS, 0.5, dtype=np.float32)
    for i in [PAD, BOS, EOS, SPACE, *PUNCT]:
        t[i] = 0.0
    return t


def freq_table():
    return np.array([110.0 + 7.0 * (i % 50) for i in range(NUM_SYMBOLS)], dtype=np.float32)


def expected_samples(ids, length_scale):
    """Output length the model gives for these ids (the Rust tests repeat this arithmetic)."""
    f = frames_table()
    return int(sum(np.ceil(np.float32(f[i]) * np.float32(length_scale)) for i in ids)) * HOP


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def build(speakers, durations, bad_signature, heavy):
    n_in, n_len = ("text", "text_lengths") if bad_signature else ("input", "input_lengths")
    inputs = [
        helper.make_tensor_value_info(n_in, TensorProto.INT64, ["batch_size", "phonemes"]),
        helper.make_tensor_value_info(n_len, TensorProto.INT64, ["batch_size"]),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    if speakers > 1:
        inputs.append(helper.make_tensor_value_info("sid", TensorProto.INT64, ["batch_size"]))
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                             ["batch_size", 1, 1, "time"])]
    if durations:
        outputs.append(helper.make_tensor_value_info("durations", TensorProto.FLOAT,
                                                     ["batch_size", 1, "phonemes"]))
    inits = [
        const("FRAMES", frames_table()),
        const("AMP", amp_table()),
        const("FREQ", freq_table()),
        const("HOP", np.array(HOP, dtype=np.int64)),
        const("ZERO", np.array([0], dtype=np.int64)),
        const("ZERO_S", np.array(0, dtype=np.int64)),
        const("ONE_S", np.array(1, dtype=np.int64)),
        const("ONE_IDX", np.array(1, dtype=np.int64)),
        const("FLAT", np.array([-1], dtype=np.int64)),
        const("AXIS0", np.array([0], dtype=np.int64)),
        const("AXIS1", np.array([1], dtype=np.int64)),
        const("TWO_PI_OVER_SR", np.array(2 * np.pi / SAMPLE_RATE, dtype=np.float32)),
        const("OUT_SHAPE", np.array([1, 1, 1, -1], dtype=np.int64)),
    ]
    N = helper.make_node
    nodes = [
        # ids = input[0, :input_lengths[0]]
        N("Reshape", [n_in, "FLAT"], ["ids_all"]),
        N("Slice", ["ids_all", "ZERO", n_len, "AXIS0"], ["ids"]),
        N("Gather", ["scales", "ONE_IDX"], ["length_scale"], axis=0),
        # Duration predictor: frames per id, scaled and rounded up like VITS's w_ceil.
        N("Gather", ["FRAMES", "ids"], ["frames_base"], axis=0),
        N("Mul", ["frames_base", "length_scale"], ["frames_scaled"]),
        N("Ceil", ["frames_scaled"], ["w_ceil"]),
        N("Cast", ["w_ceil"], ["frames_i"], to=TensorProto.INT64),
        N("CumSum", ["frames_i", "ZERO_S"], ["frame_ends"]),
        N("ReduceSum", ["frames_i"], ["n_frames"], keepdims=0),
        # Frame -> id index: count of id ends at or before the frame.
        N("Range", ["ZERO_S", "n_frames", "ONE_S"], ["frame_t"]),
        N("Unsqueeze", ["frame_t", "AXIS1"], ["frame_col"]),
        N("Unsqueeze", ["frame_ends", "AXIS0"], ["ends_row"]),
        N("GreaterOrEqual", ["frame_col", "ends_row"], ["past"]),
        N("Cast", ["past"], ["past_i"], to=TensorProto.INT64),
        N("ReduceSum", ["past_i", "AXIS1"], ["frame_pos"], keepdims=0),
        N("Gather", ["ids", "frame_pos"], ["frame_ids"], axis=0),
        # Samples: sample t belongs to frame t // HOP.
        N("Mul", ["n_frames", "HOP"], ["n_samples"]),
        N("Range", ["ZERO_S", "n_samples", "ONE_S"], ["t"]),
        N("Div", ["t", "HOP"], ["t_frame"]),
        N("Gather", ["frame_ids", "t_frame"], ["sample_ids"], axis=0),
        N("Gather", ["FREQ", "sample_ids"], ["freq0"], axis=0),
        N("Gather", ["AMP", "sample_ids"], ["amp"], axis=0),
    ]
    if speakers > 1:
        inits += [const("SID_STEP", np.array(0.25, dtype=np.float32)),
                  const("ONE_F", np.array(1.0, dtype=np.float32))]
        nodes += [
            N("Cast", ["sid"], ["sid_f"], to=TensorProto.FLOAT),
            N("Mul", ["sid_f", "SID_STEP"], ["sid_shift"]),
            N("Add", ["sid_shift", "ONE_F"], ["sid_factor"]),
            N("Mul", ["freq0", "sid_factor"], ["freq"]),
        ]
    else:
        nodes.append(N("Identity", ["freq0"], ["freq"]))
    nodes += [
        N("Cast", ["t"], ["t_f"], to=TensorProto.FLOAT),
        N("Mul", ["t_f", "freq"], ["cycles"]),
        N("Mul", ["cycles", "TWO_PI_OVER_SR"], ["phase"]),
        N("Sin", ["phase"], ["wave"]),
        N("Mul", ["wave", "amp"], ["tone"]),
    ]
    if heavy:
        nodes_h, inits_h = heavy_layers("frame_ids", heavy)
        nodes += nodes_h
        inits += inits_h
        nodes += [
            N("Reshape", ["dec_out", "FLAT"], ["dec_flat"]),
            N("Mul", ["dec_flat", "DEC_GAIN"], ["dec_quiet"]),
            N("Add", ["tone", "dec_quiet"], ["audio"]),
        ]
        inits.append(const("DEC_GAIN", np.array(0.01, dtype=np.float32)))
    else:
        nodes.append(N("Identity", ["tone"], ["audio"]))
    nodes.append(N("Reshape", ["audio", "OUT_SHAPE"], ["output"]))
    if durations:
        inits.append(const("DUR_SHAPE", np.array([1, 1, -1], dtype=np.int64)))
        nodes.append(N("Reshape", ["w_ceil", "DUR_SHAPE"], ["durations"]))
    graph = helper.make_graph(nodes, "tiny_piper", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="anchor make_tiny_piper.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


PRESETS = {
    # piper VitsModel defaults (medium) and the `--quality high` overrides.
    "medium": dict(c0=256, rates=(8, 8, 4), kernels=(16, 16, 8), resblock="2",
                   rb_kernels=(3, 5, 7), rb_dilations=((1, 2), (2, 6), (3, 12))),
    "high": dict(c0=512, rates=(8, 8, 2, 2), kernels=(16, 16, 4, 4), resblock="1",
                 rb_kernels=(3, 7, 11), rb_dilations=((1, 3, 5), (1, 3, 5), (1, 3, 5))),
}


def heavy_layers(frame_ids, quality):
    """Random-weight flow + HiFi-GAN decoder of a Piper preset: [F] ids -> [1,1,F*256]."""
    p = PRESETS[quality]
    rng = np.random.default_rng(7)
    N = helper.make_node
    nodes, inits = [], []
    emb = rng.standard_normal((NUM_SYMBOLS, 192)).astype(np.float32) * 0.1
    inits.append(const("dec_emb", emb))
    inits.append(const("dec_perm_shape", np.array([1, -1, 192], dtype=np.int64)))
    nodes += [
        N("Gather", ["dec_emb", frame_ids], ["dec_e"], axis=0),          # [F,192]
        N("Reshape", ["dec_e", "dec_perm_shape"], ["dec_e3"]),            # [1,F,192]
        N("Transpose", ["dec_e3"], ["dec_x0"], perm=[0, 2, 1]),          # [1,192,F]
    ]

    def conv(name, x, cin, cout, k, dil=1, transpose=False, stride=1):
        scale = 1.0 / np.sqrt(cin * k)
        if transpose:
            w = (rng.standard_normal((cin, cout, k)) * scale).astype(np.float32)
            pad = (k - stride) // 2
            inits.append(const(name + "_w", w))
            inits.append(const(name + "_b", np.zeros(cout, dtype=np.float32)))
            nodes.append(N("ConvTranspose", [x, name + "_w", name + "_b"], [name],
                           strides=[stride], pads=[pad, pad], kernel_shape=[k]))
        else:
            w = (rng.standard_normal((cout, cin, k)) * scale).astype(np.float32)
            pad = dil * (k - 1) // 2
            inits.append(const(name + "_w", w))
            inits.append(const(name + "_b", np.zeros(cout, dtype=np.float32)))
            nodes.append(N("Conv", [x, name + "_w", name + "_b"], [name],
                           dilations=[dil], pads=[pad, pad], kernel_shape=[k]))
        return name

    def lrelu(name, x):
        nodes.append(N("LeakyRelu", [x], [name], alpha=0.1))
        return name

    def split2(name, x, a, b):
        inits.append(const(name + "_sizes", np.array([a, b], dtype=np.int64)))
        nodes.append(N("Split", [x, name + "_sizes"], [name + "_0", name + "_1"], axis=1))
        return name + "_0", name + "_1"

    # Flow: 4 residual coupling layers (mean only), WaveNet of 4 layers, kernel 5.
    x = "dec_x0"
    for f in range(4):
        x0, x1 = split2(f"fl{f}_split", x, 96, 96)
        h = conv(f"fl{f}_pre", x0, 96, 192, 1)
        skip = None
        for layer in range(4):
            q = f"fl{f}_wn{layer}"
            xin = conv(q + "_in", h, 192, 384, 5)
            ta, sg = split2(q + "_gate", xin, 192, 192)
            nodes += [N("Tanh", [ta], [q + "_t"]), N("Sigmoid", [sg], [q + "_s"]),
                      N("Mul", [q + "_t", q + "_s"], [q + "_acts"])]
            if layer < 3:
                rs = conv(q + "_rs", q + "_acts", 192, 384, 1)
                res, sk = split2(q + "_rsplit", rs, 192, 192)
                nodes.append(N("Add", [h, res], [q + "_h"]))
                h = q + "_h"
            else:
                sk = conv(q + "_rs", q + "_acts", 192, 192, 1)
            if skip is None:
                skip = sk
            else:
                nodes.append(N("Add", [skip, sk], [q + "_skip"]))
                skip = q + "_skip"
        m = conv(f"fl{f}_post", skip, 192, 96, 1)
        nodes.append(N("Add", [m, x1], [f"fl{f}_x1"]))
        # Flip: the updated half goes first.
        nodes.append(N("Concat", [f"fl{f}_x1", x0], [f"fl{f}_out"], axis=1))
        x = f"fl{f}_out"

    # HiFi-GAN generator.
    x = conv("dec_pre", x, 192, p["c0"], 7)
    ch = p["c0"]
    for i, (u, k) in enumerate(zip(p["rates"], p["kernels"])):
        x = lrelu(f"dec_up{i}_a", x)
        x = conv(f"dec_up{i}", x, ch, ch // 2, k, transpose=True, stride=u)
        ch //= 2
        block_outs = []
        for j, (rk, dils) in enumerate(zip(p["rb_kernels"], p["rb_dilations"])):
            y = x
            for d in dils:
                q = f"dec_rb{i}_{j}_{d}"
                h = lrelu(q + "_a1", y)
                h = conv(q + "_c1", h, ch, ch, rk, dil=d)
                if p["resblock"] == "1":
                    h = lrelu(q + "_a2", h)
                    h = conv(q + "_c2", h, ch, ch, rk)
                nodes.append(N("Add", [h, y], [q + "_sum"]))
                y = q + "_sum"
            block_outs.append(y)
        nodes.append(N("Sum", block_outs, [f"dec_st{i}_sum"]))
        inits.append(const(f"dec_st{i}_third", np.array(1.0 / len(block_outs), dtype=np.float32)))
        nodes.append(N("Mul", [f"dec_st{i}_sum", f"dec_st{i}_third"], [f"dec_st{i}"]))
        x = f"dec_st{i}"
    x = lrelu("dec_post_a", x)
    x = conv("dec_post", x, ch, 1, 7)
    nodes.append(N("Tanh", [x], ["dec_out"]))
    return nodes, inits


def config(speakers, espeak_voice):
    return {
        "dataset": "anchor-tiny",
        "audio": {"sample_rate": SAMPLE_RATE, "quality": "x_low"},
        "espeak": {"voice": espeak_voice},
        "language": {"code": "en_US", "family": "en", "region": "US",
                     "name_native": "English", "name_english": "English",
                     "country_english": "United States"},
        "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "phoneme_id_map": PHONEME_ID_MAP,
        "num_symbols": NUM_SYMBOLS,
        "num_speakers": speakers,
        "speaker_id_map": {f"speaker_{k}": k for k in range(speakers)} if speakers > 1 else {},
        "hop_length": HOP,
        "piper_version": "1.0.0",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder to write model.onnx and model.onnx.json into")
    ap.add_argument("--speakers", type=int, default=1)
    ap.add_argument("--durations", action="store_true")
    ap.add_argument("--bad-signature", action="store_true")
    ap.add_argument("--heavy", choices=["medium", "high"])
    ap.add_argument("--espeak-voice", default="en-us",
                    help="espeak.voice written to the config (en-us, cmn)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    model = build(a.speakers, a.durations, a.bad_signature, a.heavy)
    onnx.save(model, os.path.join(a.out, "model.onnx"))
    cfg = config(a.speakers, a.espeak_voice)
    if a.espeak_voice.startswith(("cmn", "zh")):
        cfg["language"] = {"code": "zh_CN", "family": "zh", "region": "CN",
                           "name_native": "简体中文", "name_english": "Chinese",
                           "country_english": "China"}
    with open(os.path.join(a.out, "model.onnx.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
    print(os.path.join(a.out, "model.onnx"))


if __name__ == "__main__":
    main()
