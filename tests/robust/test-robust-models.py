#!/usr/bin/python3
# test-robust-models.py — malformed and hostile ONNX models through gaze-cli:
# each is refused with an error that names the problem; limits are enforced
# and can be raised with --limits or GAZE_LIMITS.
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import stat
import tempfile

from robustlib import (done, helper, make_model, np, numpy_helper, ok, run, small_cnn, weight,
                       write, write_png, TensorProto)

N = helper.make_node
tmp = tempfile.mkdtemp(prefix="gaze-robust-")
good = small_cnn()


def refused(name, data, expect, extra_args=(), env=None, folder=None, info=True):
    """Writes the model, runs gaze-cli info (or predict), asserts failure and the text."""
    d = folder or tmp
    path = write(os.path.join(d, name + ".onnx"), data) if data is not None else name
    args = ["info", path] if info else ["predict", path, image] + list(extra_args)
    code, out, err = run(args, env=env)
    ok(code != 0 and expect in err and "Traceback" not in err,
       f"{name}: refused with '{expect}'", f"exit {code}\nstderr: {err}\nstdout: {out[:300]}")


image = write_png(os.path.join(tmp, "img.png"), 20, 20)

# The good model loads: everything below fails because of the one defect.
code, out, err = run(["info", write(os.path.join(tmp, "good.onnx"), good)])
ok(code == 0 and "Gemm" in out, "the intact model loads", err)

refused("truncated", good[: len(good) // 2], "not an ONNX model")
refused("truncated-1", good[:-1], "")  # any clean error; the exact cut may still parse
refused("wrong-magic", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not an ONNX model")
refused("text", b"this is not a model at all\n" * 10, "not an ONNX model")
refused("empty", b"", "no graph")

refused("cycle", make_model([N("Relu", ["b"], ["a"]), N("Relu", ["a"], ["b"]),
                             N("Add", ["x", "b"], ["y"])], []), "the graph has a cycle")
refused("self-loop", make_model([N("Relu", ["a"], ["a"]), N("Add", ["x", "a"], ["y"])], []),
        "reads its own output")
refused("dangling-input", make_model([N("Add", ["x", "ghost"], ["y"])], []),
        "reads 'ghost', which no node, initializer or graph input provides")
refused("dangling-output", make_model([N("Relu", ["x"], ["r"])], []),
        "graph output 'y' is not produced")

bad = weight("w", 4, 3, 3, 3)
bad.raw_data = bad.raw_data[:12]
refused("initializer-short", make_model([N("Conv", ["x", "w"], ["y"])], [bad]),
        "has 12 bytes of data, but its shape and type need 432")
bad = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3, 3, 3],
                  float_data=[0.0] * 10)
refused("initializer-few-values", make_model([N("Conv", ["x", "w"], ["y"])], [bad]),
        "has 10 values, but its shape needs 108")
neg = weight("w", 4, 3, 3, 3)
del neg.dims[:]
neg.dims.extend([4, -3, 3, 3])
refused("initializer-negative-dim", make_model([N("Conv", ["x", "w"], ["y"])], [neg]),
        "negative dimension (-3)")
huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20, 1 << 20])
refused("initializer-huge", make_model([N("Add", ["x", "w"], ["y"])], [huge]),
        "has more elements than the tensor-elements limit")
empty_huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[0, 1 << 40, 1 << 40])
refused("initializer-empty-huge", make_model([N("Add", ["x", "w"], ["y"])], [empty_huge]),
        "has more elements than the tensor-elements limit")
refused("input-negative-dim", make_model([N("Relu", ["x"], ["y"])], [], in_shape=(1, 3, -5, 4)),
        "graph input 'x' has a negative dimension")
refused("input-huge", make_model([N("Relu", ["x"], ["y"])], [],
                                 in_shape=(1, 3, 1 << 40, 1 << 40)),
        "would have more elements than the tensor-elements limit")
refused("input-empty-huge", make_model([N("Relu", ["x"], ["y"])], [],
                                       in_shape=(1, 0, 1 << 40, 1 << 40)),
        "would have more elements than the tensor-elements limit")
refused("expand-huge", make_model([N("Expand", ["x", "s"], ["y"])],
                                  [numpy_helper.from_array(np.array([1 << 24, 3, 16, 16],
                                                                    np.int64), "s")]),
        "above the tensor-elements limit")
refused("omitted-output", make_model([N("Relu", ["x"], [""]), N("Relu", ["x"], ["y"])], []),
        "has no (first) output")
refused("no-outputs", make_model([N("Relu", ["x"], []), N("Relu", ["x"], ["y"])], []),
        "has no (first) output")
refused("unknown-op", make_model([N("FancyOp", ["x"], ["y"])], []),
        "unsupported operator 'FancyOp'")
refused("unknown-domain", make_model([N("Relu", ["x"], ["y"], domain="com.example")], []),
        "unsupported operator 'com.example.Relu'")


def external(location, length=432):
    w = weight("w", 4, 3, 3, 3)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("length", str(length))):
        e = w.external_data.add()
        e.key = k
        e.value = v
    return make_model([N("Conv", ["x", "w"], ["y"])], [w])


ext = tempfile.mkdtemp(prefix="ext-", dir=tmp)
outside = write(os.path.join(tmp, "outside.bin"), b"\0" * 432)
write(os.path.join(ext, "ok.bin"), b"\0" * 432)
code, out, err = run(["info", write(os.path.join(ext, "ext-ok.onnx"), external("ok.bin"))])
ok(code == 0, "external data inside the folder loads", err)
refused("ext-dotdot", external("../outside.bin"), "leaves the model's folder", folder=ext)
refused("ext-absolute", external(outside), "is an absolute path", folder=ext)
refused("ext-dev-zero", external("/dev/zero"), "is an absolute path", folder=ext)
os.symlink("/dev/zero", os.path.join(ext, "zero.bin"))
refused("ext-symlink-device", external("zero.bin"), "resolves outside the model's folder",
        folder=ext)
os.symlink(outside, os.path.join(ext, "link.bin"))
refused("ext-symlink-outside", external("link.bin"), "resolves outside the model's folder",
        folder=ext)
os.mkfifo(os.path.join(ext, "fifo.bin"))
refused("ext-fifo", external("fifo.bin"), "is not a regular file", folder=ext)
write(os.path.join(ext, "short.bin"), b"\0" * 100)
refused("ext-short", external("short.bin"), "is too short", folder=ext)
refused("ext-length-mismatch", external("ok.bin", length=8), "external data length is 8 bytes",
        folder=ext)
refused("ext-missing", external("nope.bin"), "cannot open external data file 'nope.bin'",
        folder=ext)

# Limits: each refused with the key to raise, and raising it works.
good_path = write(os.path.join(tmp, "cnn.onnx"), good)
for key, value, expect in (("nodes", "3", "nodes, above the nodes limit of 3"),
                           ("file-bytes", "1K", "above the file-bytes limit of 1024"),
                           ("tensor-elements", "100", "the tensor-elements limit of 100 "),
                           ("activation-bytes", "4K", "of activations, above the activation-bytes limit"),
                           ("image-pixels", "100", "exceeds the image-pixels limit of 100 pixels")):
    code, out, err = run(["predict", good_path, image, "--limits", f"{key}={value}"])
    ok(code != 0 and expect in err and f"--limits {key}=N" in err,
       f"--limits {key}={value}: refused, naming the way to raise it", f"exit {code}\n{err}")
    code, out, err = run(["info", good_path] if key != "image-pixels"
                         else ["predict", good_path, image], env={"GAZE_LIMITS": f"{key}={value}"})
    ok(code != 0 and expect in err, f"GAZE_LIMITS={key}={value}: refused", f"exit {code}\n{err}")
# Constants folded at load time count against the activation budget.
chain = [N("ConstantOfShape", ["s"], ["c0"],
           value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))]
for i in range(1, 8):
    chain.append(N("Add", [f"c{i - 1}", f"c{i - 1}"], [f"c{i}"]))
chain.append(N("ReduceSum", ["c7"], ["r"], keepdims=0))
chain.append(N("Mul", ["x", "r"], ["y"]))
consts = write(os.path.join(tmp, "consts.onnx"),
               make_model(chain, [numpy_helper.from_array(np.array([1 << 18], np.int64), "s")]))
code, out, err = run(["info", consts], env={"GAZE_LIMITS": "activation-bytes=4M"})
ok(code != 0 and "constants computed at load time need more than the activation-bytes limit of 4 MiB" in err
   and "activation-bytes=N" in err, "folded constants count against activation-bytes", err)
code, out, err = run(["info", consts], env={"GAZE_LIMITS": "activation-bytes=16M"})
ok(code == 0, "… and load under a raised limit", err)
code, out, err = run(["predict", good_path, image, "--limits",
                      "nodes=7,file-bytes=1M,tensor-elements=4K,activation-bytes=64K,"
                      "image-pixels=400"])
ok(code == 0, "limits raised just enough: the model runs", err)
code, out, err = run(["predict", good_path, image], env={"GAZE_LIMITS": "nodes=unlimited"})
ok(code == 0, "GAZE_LIMITS=nodes=unlimited runs", err)
for spec, expect in (("nodes", "is not KEY=VALUE"), ("bogus=1", "unknown key 'bogus'"),
                     ("nodes=-1", "must be a positive integer"), ("nodes=1X", "positive integer"),
                     ("nodes=99999999999T", "positive integer")):
    code, out, err = run(["predict", good_path, image, "--limits", spec])
    ok(code != 0 and expect in err, f"--limits {spec}: rejected", err)
code, out, err = run(["info", good_path], env={"GAZE_LIMITS": "bogus"})
ok(code == 0 and "ignoring GAZE_LIMITS" in err, "a malformed GAZE_LIMITS is ignored with a warning",
   err)

# A device as the model, and a FIFO: refused without blocking.
refused("/dev/zero", None, "is not a regular file")
fifo = os.path.join(tmp, "model-fifo.onnx")
os.mkfifo(fifo)
refused(fifo, None, "is not a regular file")

# A sidecar pointing its labels at a device or a FIFO: refused, no hang.
side = tempfile.mkdtemp(prefix="side-", dir=tmp)
m = write(os.path.join(side, "m.onnx"), good)
for label, target in (("device", "/dev/zero"), ("fifo", fifo)):
    write(os.path.join(side, "m.json"), ('{"labels": "%s"}' % target).encode())
    code, out, err = run(["predict", m, image], timeout=60)
    ok(code != 0 and "not a regular file" in err, f"sidecar labels from a {label}: refused", err)
write(os.path.join(side, "m.json"), b'{"labels": ' + b"[" * 100000 + b"]" * 100000 + b"}")
code, out, err = run(["predict", m, image], timeout=60)
ok(code != 0 and "m.json: nested deeper than" in err, "a deeply nested sidecar is refused", err)
done()
