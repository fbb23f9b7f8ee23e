# robustlib.py — shared helpers of the tests/robust Python tests: TAP output,
# tiny ONNX models (onnx.helper), running gaze-cli with its peak memory.
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import resource
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BUILD = os.environ.get("GAZE_BUILD_ROOT", "build")
CLI = os.path.join(BUILD, "app", "cli", "gaze-cli")

_n = 0
_failed = 0


def ok(cond, name, detail="", todo=None):
    """todo: a known, reported bug — a failure is printed as TAP TODO (expected)."""
    global _n, _failed
    _n += 1
    if cond:
        print(f"ok {_n} - {name}")
    elif todo:
        print(f"not ok {_n} - {name} # TODO {todo}")
        for line in str(detail).splitlines():
            print(f"# {line}")
    else:
        _failed += 1
        print(f"not ok {_n} - {name}")
        for line in str(detail).splitlines():
            print(f"# {line}")
    sys.stdout.flush()


def skip(name, why):
    global _n
    _n += 1
    print(f"ok {_n} - {name} # SKIP {why}")


def done():
    print(f"1..{_n}")
    sys.exit(1 if _failed else 0)


def run(args, env=None, timeout=300):
    """Runs gaze-cli; returns (exit code, stdout, stderr)."""
    e = dict(os.environ)
    e.setdefault("OPENBLAS_NUM_THREADS", "1")
    if env:
        e.update(env)
    p = subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_rss(args, env=None, timeout=60):
    """Like run, plus the child's peak RSS in MiB (it is the only child running)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    code, out, err = run(args, env, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return code, out, err, max(after, before) / 1024.0


rng = np.random.default_rng(3)


def weight(name, *shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)


def make_model(nodes, inits, in_shape=(1, 3, 16, 16), out_name="y", opset=13, raw=False):
    g = helper.make_graph(nodes, "robust",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, None)],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="gaze-robust-test")
    m.ir_version = 7
    return m if raw else m.SerializeToString()


def small_cnn(classes=4, side=16):
    """Conv → Relu → Conv → Relu → GAP → Flatten → Gemm: CAM-able, tiny."""
    N = helper.make_node
    return make_model([
        N("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        N("Relu", ["c1"], ["r1"]),
        N("Conv", ["r1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        N("Relu", ["c2"], ["r2"]),
        N("GlobalAveragePool", ["r2"], ["g"]),
        N("Flatten", ["g"], ["f"]),
        N("Gemm", ["f", "wf", "bf"], ["y"], transB=1),
    ], [weight("w1", 4, 3, 3, 3), weight("b1", 4), weight("w2", 6, 4, 3, 3), weight("b2", 6),
        weight("wf", classes, 6), weight("bf", classes)], in_shape=(1, 3, side, side))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def write_png(path, w, h, seed=0):
    from PIL import Image
    a = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(a).save(path)
    return path
