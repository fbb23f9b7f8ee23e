#!/usr/bin/python3
# gen-seeds.py — writes the seed corpora under fuzz/corpus/ (run with /usr/bin/python3,
# which has onnx and numpy). Tiny demo-like models: every tensor is a few
# dozen values, so the whole corpus stays far below 1 MB.
# SPDX-License-Identifier: GPL-3.0-or-later
import io
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def out(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def w(name, *shape, dtype=np.float32):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.5).astype(dtype), name)


def i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def model(nodes, inits, in_shape, out_name="y", opset=13, in_name="x", out_shape=None):
    g = helper.make_graph(nodes, "seed",
                          [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="gaze-fuzz-seed")
    m.ir_version = 7
    return m.SerializeToString()


N = helper.make_node
seeds = {}
# A tiny CNN classifier: the shape every Gaze model has.
seeds["cnn"] = model([
    N("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
    N("Relu", ["c1"], ["r1"]),
    N("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
    N("Conv", ["p1", "w2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2),
    N("BatchNormalization", ["c2", "s", "bb", "m", "v"], ["bn"]),
    N("Relu", ["bn"], ["r2"]),
    N("GlobalAveragePool", ["r2"], ["g"]),
    N("Flatten", ["g"], ["f"]),
    N("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
], [w("w1", 4, 3, 3, 3), w("b1", 4), w("w2", 4, 2, 3, 3), w("s", 4), w("bb", 4), w("m", 4),
    numpy_helper.from_array(np.ones(4, np.float32), "v"), w("wf", 5, 4), w("bf", 5)],
    ["N", 3, 8, 8])
# torch-style shape chain folded at load time, then Reshape.
seeds["shape-chain"] = model([
    N("Shape", ["x"], ["sh"]),
    N("Gather", ["sh", "zero"], ["n"], axis=0),
    N("Unsqueeze", ["n", "ax0"], ["nu"]),
    N("Concat", ["nu", "minus1"], ["tgt"], axis=0),
    N("Reshape", ["x", "tgt"], ["flat"]),
    N("MatMul", ["flat", "wm"], ["mm"]),
    N("Add", ["mm", "bm"], ["y"]),
], [numpy_helper.from_array(np.array(0, np.int64), "zero"), i64("ax0", [0]), i64("minus1", [-1]),
    w("wm", 12, 3), w("bm", 3)], [1, 3, 2, 2])
# Residual block, average pool with padding, concat, softmax.
seeds["residual"] = model([
    N("Conv", ["x", "w1"], ["a"], kernel_shape=[1, 1]),
    N("Add", ["a", "x"], ["s"]),
    N("AveragePool", ["s"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=0),
    N("Concat", ["ap", "s"], ["cat"], axis=1),
    N("ReduceMean", ["cat"], ["rm"], axes=[2, 3], keepdims=0),
    N("Softmax", ["rm"], ["y"], axis=1),
], [w("w1", 2, 2, 1, 1)], [1, 2, 5, 5])
# Unary zoo and broadcasting.
seeds["unary"] = model([
    N("Sigmoid", ["x"], ["a"]), N("Tanh", ["a"], ["b"]), N("LeakyRelu", ["b"], ["c"], alpha=0.2),
    N("Clip", ["c", "lo", "hi"], ["d"]), N("HardSwish", ["d"], ["e"]),
    N("Mul", ["e", "k"], ["f"]), N("Sub", ["f", "k"], ["g"]), N("Div", ["g", "k"], ["h"]),
    N("Transpose", ["h"], ["t"], perm=[0, 2, 3, 1]),
    N("Flatten", ["t"], ["y"]),
], [numpy_helper.from_array(np.array(-1, np.float32), "lo"),
    numpy_helper.from_array(np.array(1, np.float32), "hi"), w("k", 1, 3, 1, 1)], [1, 3, 4, 4])
# Pad, Slice, Split, Squeeze, Expand, Tile, Where, Cast.
seeds["tensor"] = model([
    N("Pad", ["x", "pads"], ["p"], mode="reflect"),
    N("Slice", ["p", "st", "en", "axs"], ["sl"]),
    N("Split", ["sl"], ["s1", "s2"], axis=1),
    N("Add", ["s1", "s2"], ["sa"]),
    N("Tile", ["sa", "reps"], ["ti"]),
    N("Greater", ["ti", "zf"], ["gt"]),
    N("Where", ["gt", "ti", "zf"], ["wh"]),
    N("GlobalMaxPool", ["wh"], ["gm"]),
    N("Squeeze", ["gm", "sq"], ["y"]),
], [i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]), i64("st", [1, 1]), i64("en", [5, 5]),
    i64("axs", [2, 3]), i64("reps", [1, 1, 2, 1]), numpy_helper.from_array(np.array(0, np.float32), "zf"),
    i64("sq", [2, 3])], [1, 2, 4, 4])
# Initializer encodings: float16 raw, double typed, int32, a Constant node.
f16 = numpy_helper.from_array(rng.standard_normal((2, 2, 1, 1)).astype(np.float16), "w16")
f64 = helper.make_tensor("b64", TensorProto.DOUBLE, [2], [0.5, -0.25])
seeds["encodings"] = model([
    N("Constant", [], ["cst"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [2.0])),
    N("Conv", ["x", "w16", "b64"], ["c"], kernel_shape=[1, 1]),
    N("Mul", ["c", "cst"], ["m"]),
    N("ConstantOfShape", ["shp"], ["ones"], value=helper.make_tensor("o", TensorProto.FLOAT, [1], [1.0])),
    N("Add", ["m", "ones"], ["y"]),
], [f16, f64, helper.make_tensor("shp", TensorProto.INT64, [4], [1, 2, 3, 3])], [1, 2, 3, 3],
    opset=11)
# Things the loader must refuse: external data, unknown operator, cycle.
ext = w("we", 2, 2, 1, 1)
ext.ClearField("raw_data")
ext.data_location = TensorProto.EXTERNAL
for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "16")):
    e = ext.external_data.add(); e.key = k; e.value = v
seeds["external"] = model([N("Conv", ["x", "we"], ["y"])], [ext], [1, 2, 3, 3])
seeds["unknown-op"] = model([N("FancyOp", ["x"], ["y"])], [], [1, 1, 2, 2])
seeds["cycle"] = model([N("Relu", ["b"], ["a"]), N("Relu", ["a"], ["b"]), N("Relu", ["x"], ["y"])],
                       [], [1, 1, 2, 2])
seeds["layernorm"] = model([
    N("Reshape", ["x", "shp"], ["r"]),
    N("LayerNormalization", ["r", "sc", "bi"], ["ln"], axis=-1),
    N("ReduceMax", ["ln"], ["y"], axes=[1], keepdims=0),
], [i64("shp", [1, 4, 6]), w("sc", 6), w("bi", 6)], [1, 2, 3, 4], opset=17)
for name, data in seeds.items():
    out("fuzz-onnx-load", name + ".onnx", data)

# .npy files: each dtype the reader takes, v1 and v2 headers, a 0-d and an empty array.
for name, arr in {
    "f4": rng.standard_normal((2, 3)).astype(np.float32),
    "f8": rng.standard_normal((3,)).astype(np.float64),
    "i8": np.arange(6, dtype=np.int64).reshape(1, 2, 3),
    "i4": np.arange(4, dtype=np.int32),
    "scalar": np.array(1.5, np.float32),
    "empty": np.zeros((0, 4), np.float32),
    "fortran": np.asfortranarray(rng.standard_normal((2, 3)).astype(np.float32)),
    "big-endian": np.arange(3, dtype=">f4"),
}.items():
    b = io.BytesIO()
    np.save(b, arr)
    out("fuzz-npy", name + ".npy", b.getvalue())
b = io.BytesIO()
np.lib.format.write_array(b, np.ones((2, 2), np.float32), version=(2, 0))
out("fuzz-npy", "v2.npy", b.getvalue())

# Sidecars.
for name, text in {
    "full": '{"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "resize": 256, '
            '"crop": 224, "stretch": false, "channels": 3, "labels": ["cat", "dog"]}',
    "gray": '{"mean": [0.5], "std": [0.25], "crop": [28, 32], "channels": 1, "stretch": true}',
    "labels-file": '{"labels": "labels.txt"}',
    "bad-std": '{"std": [0, 1, 1]}',
    "nested": '{"mean": [[1], 2, 3], "labels": [1, "x"], "crop": [1e9, -1]}',
    "unicode": '{"labels": ["\\u00e9l\\u00e8ve", "\\ud83d\\ude00", ""]}',
}.items():
    out("fuzz-sidecar", name + ".json", text.encode())

# Issue 20: PyTorch weight files. Needs torch (Debian's python3-torch); the
# tensors are a few values so every seed is a few KiB.
try:
    import json
    import pickle
    import struct
    import zipfile
    import torch
except ImportError:
    torch = None
if torch is not None:
    torch.manual_seed(7)
    sd = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)).state_dict()
    sd["half"] = torch.randn(3).half()
    sd["bf16"] = torch.randn(2, 2).bfloat16()
    sd["view"] = torch.randn(4, 4)[1:, ::2]
    for name, obj in {
        "state-dict": sd,
        "lightning": {"epoch": 1, "state_dict": {"model." + k: v for k, v in sd.items()},
                      "hparams": {"lr": 0.1, "flags": [True, False, None], "name": "x"}},
        "model-dict": {"model": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 1.5}]}},
    }.items():
        b = io.BytesIO()
        torch.save(obj, b)
        out("fuzz-unpickle", name + ".pth", b.getvalue())
        with zipfile.ZipFile(io.BytesIO(b.getvalue())) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            out("fuzz-unpickle", name + ".pkl", z.read(pkl))
    # The legacy (before PyTorch 1.6) layout: pickles then raw storages.
    b = io.BytesIO()
    torch.save(sd, b, _use_new_zipfile_serialization=False)
    out("fuzz-unpickle", "state-dict-legacy.pth", b.getvalue())

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    out("fuzz-unpickle", "system.pkl", pickle.dumps({"x": Evil()}, protocol=2))
    rec = []
    rec.append(rec)
    out("fuzz-unpickle", "recursive.pkl", pickle.dumps({"a": rec}, protocol=4))

    def safetensors(tensors):
        header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
        for k, (dt, arr) in tensors.items():
            raw = arr.tobytes()
            header[k] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(raw)]}
            blobs.append(raw)
            off += len(raw)
        h = json.dumps(header).encode()
        return struct.pack("<Q", len(h)) + h + b"".join(blobs)

    out("fuzz-safetensors", "f32.safetensors",
        safetensors({"conv.weight": ("F32", rng.standard_normal((2, 1, 3, 3)).astype(np.float32)),
                     "conv.bias": ("F32", np.zeros(2, np.float32))}))
    out("fuzz-safetensors", "mixed.safetensors",
        safetensors({"a": ("F16", np.arange(4, dtype=np.float16)),
                     "b": ("F64", np.ones((2, 2))),
                     "c": ("BF16", np.arange(3, dtype=np.uint16) + 0x3f80),
                     "n": ("I64", np.arange(2, dtype=np.int64)),
                     "s": ("F32", np.zeros((), np.float32))}))
    out("fuzz-safetensors", "empty.safetensors", struct.pack("<Q", 2) + b"{}")
