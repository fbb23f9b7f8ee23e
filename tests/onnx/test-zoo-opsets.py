#!/usr/bin/python3
# test-zoo-opsets.py — the operator versions of the classic ONNX model zoo files
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The zoo classifiers (resnet18-v1-7, mobilenetv2-7, squeezenet1.1-7, vgg16-7,
# densenet-9, googlenet-9, inception-v2-9, shufflenet-9, efficientnet-lite4-11)
# cannot be downloaded here, so each is rebuilt small, with the same structure
# and the same operator versions, by onnx.helper at the file's opset (and its
# IR version: before IR 4 every initializer is also a graph input, as in the
# zoo files). `gaze-cli predict --input-tensor --logits` runs each one and its
# logits are compared with a NumPy evaluation of the graph written here from
# the ONNX operator specifications (no ONNX Runtime): max abs error
# <= 1e-4 · max(1, max |logit|). Graphs whose output is a Softmax are compared
# at the Softmax's input (Gaze explains the pre-softmax logit) and by the
# probabilities `predict --json` prints. Operator versions Gaze does not
# implement must be refused naming the operator, the node and the opset.
# Also: Grad-CAM through a spatial = 0 BatchNormalization, the NHWC
# efficientnet-lite4-like graph (its input layout detected), and Softmax/Hardmax at
# opsets 11 and 13 giving different results on the same graph.
# Prints TAP.
import json
import os
import subprocess
import sys
import tempfile

results = []


def check(ok, name, detail=""):
    results.append((bool(ok), name, detail))


def tap_exit(skip_reason=None, notes=()):
    if skip_reason is not None:
        print("1..0 # SKIP " + skip_reason)
        sys.exit(0)
    for line in notes:
        print("# " + line)
    print("1..%d" % len(results))
    for i, (ok, name, detail) in enumerate(results, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", i, name))
        if detail:
            for line in str(detail).splitlines():
                print("# " + line)
    sys.exit(0 if all(ok for ok, _, _ in results) else 1)


try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover
    tap_exit("numpy/onnx not available: %s" % e)

build_root = os.environ.get("GAZE_BUILD_ROOT", ".")
cli = os.path.join(build_root, "app", "cli", "gaze-cli")
if not os.path.exists(cli):
    tap_exit("gaze-cli not built at %s" % cli)

# ---- A NumPy evaluator of ONNX graphs, opset by opset ------------------------
#
# Written from the operator specifications; float64 throughout. Each function
# takes (inputs, attrs, opset) and returns a list of outputs. Only what the
# zoo-like graphs below use is implemented.


def pads_of(a, nsp, x_sp, kernel, strides, dilations):
    """[begin..., end...] from pads or auto_pad."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for i in range(nsp):
            out = -(-x_sp[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - x_sp[i])
            small = total // 2
            begin.append(small if auto == "SAME_UPPER" else total - small)
            end.append(total - begin[-1])
        return begin + end
    if auto == "VALID":
        return [0] * (2 * nsp)
    return list(a.get("pads", [0] * (2 * nsp)))


def op_conv(ins, a, opset):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 and ins[2] is not None else None
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = a.get("group", 1)
    s = a.get("strides", [1, 1])
    d = a.get("dilations", [1, 1])
    p = pads_of(a, 2, (h, wd), (kh, kw), s, d)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    oh = (h + p[0] + p[2] - ((kh - 1) * d[0] + 1)) // s[0] + 1
    ow = (wd + p[1] + p[3] - ((kw - 1) * d[1] + 1)) // s[1] + 1
    mg = m // g
    y = np.zeros((n, m, oh, ow))
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg]
        ws = w[gi * mg:(gi + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * d[0]:i * d[0] + s[0] * (oh - 1) + 1:s[0],
                           j * d[1]:j * d[1] + s[1] * (ow - 1) + 1:s[1]]
                y[:, gi * mg:(gi + 1) * mg] += np.einsum("nchw,mc->nmhw", patch, ws[:, :, i, j])
    if b is not None:
        y += b.reshape(1, m, 1, 1)
    return [y]


def op_pool(kind):
    def run(ins, a, opset):
        x = ins[0]
        n, c, h, wd = x.shape
        k = a["kernel_shape"]
        s = a.get("strides", [1, 1])
        p = pads_of(a, 2, (h, wd), k, s, [1, 1])
        ceil = a.get("ceil_mode", 0)
        size = []
        for i, L in enumerate((h, wd)):
            span = L + p[i] + p[i + 2] - k[i]
            o = (-(-span // s[i]) if ceil else span // s[i]) + 1
            if ceil and (o - 1) * s[i] >= L + p[i]:
                o -= 1  # the last window must start inside the input or its begin pad
            size.append(o)
        oh, ow = size
        # room for windows that run past the end pad (ceil_mode)
        eh = max(0, (oh - 1) * s[0] + k[0] - (h + p[0] + p[2]))
        ew = max(0, (ow - 1) * s[1] + k[1] - (wd + p[1] + p[3]))
        fill = -np.inf if kind == "max" else 0.0
        xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[2] + eh), (p[1], p[3] + ew)),
                    constant_values=fill)
        # 1 inside the input, 2 in the declared pads, 0 past them
        where = np.zeros((h + p[0] + p[2] + eh, wd + p[1] + p[3] + ew))
        where[:h + p[0] + p[2], :wd + p[1] + p[3]] = 2
        where[p[0]:p[0] + h, p[1]:p[1] + wd] = 1
        y = np.zeros((n, c, oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
                wmask = where[i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]]
                if kind == "max":
                    y[:, :, i, j] = win.max(axis=(2, 3))
                else:
                    count = (wmask > 0).sum() if a.get("count_include_pad", 0) else (wmask == 1).sum()
                    y[:, :, i, j] = win.sum(axis=(2, 3)) / count
        return [y]

    return run


def op_batchnorm(ins, a, opset):
    x, scale, bias, mean, var = ins[:5]
    eps = a.get("epsilon", 1e-5)
    if opset < 9 and a.get("spatial", 1) == 0:  # statistics per activation
        sh = (1,) + x.shape[1:]
    else:
        sh = (1, -1) + (1,) * (x.ndim - 2)
    return [(x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * scale.reshape(sh)
            + bias.reshape(sh)]


def op_lrn(ins, a, opset):
    x = ins[0]
    size = a["size"]
    alpha, beta, bias = a.get("alpha", 1e-4), a.get("beta", 0.75), a.get("bias", 1.0)
    c = x.shape[1]
    sq = np.zeros_like(x)
    for ch in range(c):
        lo = max(0, ch - (size - 1) // 2)
        hi = min(c - 1, ch + -(-(size - 1) // 2))
        sq[:, ch] = (x[:, lo:hi + 1] ** 2).sum(axis=1)
    return [x / (bias + alpha / size * sq) ** beta]


def op_image_scaler(ins, a, opset):
    x = ins[0]
    bias = np.array(a.get("bias", [0.0] * x.shape[1])).reshape((1, -1) + (1,) * (x.ndim - 2))
    return [a.get("scale", 1.0) * x + bias]


def legacy_broadcast(b, a, x_ndim):
    """Opset < 7 binary ops: B aligned at `axis` (broadcast = 1)."""
    if opset_now < 7 and a.get("broadcast", 0) and "axis" in a:
        axis = a["axis"] % x_ndim
        return b.reshape(b.shape + (1,) * (x_ndim - axis - b.ndim))
    return b


def binary(fn):
    def run(ins, a, opset):
        return [fn(ins[0], legacy_broadcast(ins[1], a, ins[0].ndim))]

    return run


def op_gemm(ins, a, opset):
    A, B = ins[0], ins[1]
    if a.get("transA", 0):
        A = A.T
    if a.get("transB", 0):
        B = B.T
    y = a.get("alpha", 1.0) * (A @ B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + a.get("beta", 1.0) * ins[2]
    return [y]


def softmax_family(kind):
    def run(ins, a, opset):
        x = ins[0]
        if opset < 13:  # coerced to 2-D at axis (default 1)
            axis = a.get("axis", 1) % x.ndim if x.ndim else 0
            flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
            ax = 1
        else:
            flat, ax = x, a.get("axis", -1)
        if kind == "hard":  # 1 at the first maximum
            first = np.argmax(flat, axis=ax)
            y = np.zeros_like(flat)
            np.put_along_axis(y, np.expand_dims(first, ax), 1.0, axis=ax)
            return [y.reshape(x.shape)]
        e = np.exp(flat - flat.max(axis=ax, keepdims=True))
        y = e / e.sum(axis=ax, keepdims=True)
        if kind == "log":
            y = np.log(y)
        return [y.reshape(x.shape)]

    return run


def op_reshape(ins, a, opset):
    x = ins[0]
    shape = list(a["shape"]) if opset < 5 else [int(v) for v in ins[1]]
    shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return [x.reshape(shape)]


def op_flatten(ins, a, opset):
    x = ins[0]
    axis = a.get("axis", 1) % (x.ndim + 1)
    return [x.reshape(int(np.prod(x.shape[:axis])), -1)]


def op_pad(ins, a, opset):
    x = ins[0]
    if opset < 11:
        pads, value = a["pads"], a.get("value", 0.0)
    else:
        pads = [int(v) for v in ins[1]]
        value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    r = x.ndim
    width = [(pads[i], pads[i + r]) for i in range(r)]
    if mode == "constant":
        return [np.pad(x, width, constant_values=value)]
    return [np.pad(x, width, mode={"reflect": "reflect", "edge": "edge"}[mode])]


def op_clip(ins, a, opset):
    if opset < 11:
        lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    else:
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
    return [np.minimum(np.maximum(ins[0], lo), hi)]


def op_slice(ins, a, opset):
    x = ins[0]
    if opset < 10:
        starts, ends = a["starts"], a["ends"]
        axes = a.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = [int(v) for v in ins[1]], [int(v) for v in ins[2]]
        axes = [int(v) for v in ins[3]] if len(ins) > 3 and ins[3] is not None else list(
            range(len(starts)))
        steps = [int(v) for v in ins[4]] if len(ins) > 4 and ins[4] is not None else [1] * len(
            starts)
    idx = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        idx[ax % x.ndim] = slice(s, e, st)  # Python's slice clamps like the spec
    return [x[tuple(idx)]]


def op_split(ins, a, opset, n_out):
    x = ins[0]
    axis = a.get("axis", 0) % x.ndim
    split = list(a["split"]) if "split" in a else [x.shape[axis] // n_out] * n_out
    cuts = np.cumsum(split)[:-1]
    return np.split(x, cuts, axis=axis)


def op_upsample_resize(ins, a, opset, op_type):
    x = ins[0]
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if op_type == "Upsample" and opset < 9:
        scales = list(a["scales"])
    elif op_type == "Upsample" or opset < 11:
        scales = [float(v) for v in ins[1]]
    else:
        scales = [float(v) for v in ins[2]] if ins[2] is not None and ins[2].size else None
        if scales is None:
            scales = [ins[3][i] / x.shape[i] for i in range(x.ndim)]
    legacy = op_type == "Upsample" or opset < 11
    coord = a.get("coordinate_transformation_mode", b"asymmetric" if legacy else b"half_pixel")
    coord = coord.decode() if isinstance(coord, bytes) else coord
    y = x
    for ax in range(x.ndim):
        L = y.shape[ax]
        out = int(np.floor(L * scales[ax]))
        if out == L:
            continue
        i = np.arange(out, dtype=np.float64)
        src = i / scales[ax] if coord == "asymmetric" else (i + 0.5) / scales[ax] - 0.5
        if mode == "nearest":  # integer scales here: floor and round_prefer_floor agree
            pick = np.clip(np.floor(src) if legacy else np.floor(src + 0.5), 0, L - 1)
            y = np.take(y, pick.astype(int), axis=ax)
        else:
            src = np.clip(src, 0, L - 1)
            x0 = np.floor(src).astype(int)
            x1 = np.minimum(x0 + 1, L - 1)
            w = (src - x0).reshape([-1 if k == ax else 1 for k in range(y.ndim)])
            y = np.take(y, x0, axis=ax) * (1 - w) + np.take(y, x1, axis=ax) * w
    return [y]


def op_squeeze(ins, a, opset):
    axes = a["axes"] if opset < 13 else [int(v) for v in ins[1]]
    return [np.squeeze(ins[0], axis=tuple(ax % ins[0].ndim for ax in axes))]


def op_unsqueeze(ins, a, opset):
    axes = a["axes"] if opset < 13 else [int(v) for v in ins[1]]
    y = ins[0]
    rank = y.ndim + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        y = np.expand_dims(y, ax)
    return [y]


def op_reduce_mean(ins, a, opset):
    axes = tuple(a["axes"]) if "axes" in a else None
    return [ins[0].mean(axis=axes, keepdims=bool(a.get("keepdims", 1)))]


SIMPLE = {
    "Conv": op_conv,
    "MaxPool": op_pool("max"),
    "AveragePool": op_pool("avg"),
    "GlobalAveragePool": lambda i, a, o: [i[0].mean(axis=(2, 3), keepdims=True)],
    "BatchNormalization": op_batchnorm,
    "LRN": op_lrn,
    "ImageScaler": op_image_scaler,
    "Relu": lambda i, a, o: [np.maximum(i[0], 0)],
    "Add": binary(np.add),
    "Mul": binary(np.multiply),
    "Sum": lambda i, a, o: [sum(i)],
    "Gemm": op_gemm,
    "MatMul": lambda i, a, o: [i[0] @ i[1]],
    "Softmax": softmax_family("softmax"),
    "LogSoftmax": softmax_family("log"),
    "Hardmax": softmax_family("hard"),
    "Reshape": op_reshape,
    "Flatten": op_flatten,
    "Transpose": lambda i, a, o: [np.transpose(i[0], a.get("perm"))],
    "Concat": lambda i, a, o: [np.concatenate(i, axis=a["axis"])],
    "Dropout": lambda i, a, o: [i[0]],
    "Pad": op_pad,
    "Clip": op_clip,
    "Slice": op_slice,
    "Squeeze": op_squeeze,
    "Unsqueeze": op_unsqueeze,
    "ReduceMean": op_reduce_mean,
    "Cast": lambda i, a, o: [i[0].astype(np.float64)],  # only to FLOAT here
    "Constant": lambda i, a, o: [numpy_helper.to_array(a["value"]).astype(np.float64)],
}

opset_now = 0


def evaluate(model, x):
    """Every value of the graph (float64) for the input x."""
    global opset_now
    opset_now = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    values = {t.name: numpy_helper.to_array(t).astype(np.float64)
              if t.data_type == TensorProto.FLOAT else numpy_helper.to_array(t)
              for t in model.graph.initializer}
    values[model.graph.input[0].name] = x.astype(np.float64)
    values[""] = None
    for node in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [values[n] for n in node.input]
        if node.op_type == "Split":
            outs = op_split(ins, a, opset_now, len(node.output))
        elif node.op_type in ("Upsample", "Resize"):
            outs = op_upsample_resize(ins, a, opset_now, node.op_type)
        else:
            outs = SIMPLE[node.op_type](ins, a, opset_now)
        for name, v in zip(node.output, outs):
            values[name] = v
    return values


# ---- Building zoo-like graphs ------------------------------------------------

IR_OF_OPSET = {1: 3, 4: 3, 5: 3, 6: 3, 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7}


class Graph:
    """Nodes and seeded random weights for one model."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, base):
        self.count += 1
        return "%s_%d" % (base, self.count)

    def weight(self, shape, scale=None, positive=False):
        w = self.rng.standard_normal(shape)
        if scale is None:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            scale = 1.0 / np.sqrt(fan_in)
        w = np.abs(w) * scale + 0.5 if positive else w * scale
        n = self.name("w")
        self.inits.append(numpy_helper.from_array(w.astype(np.float32), n))
        return n

    def const(self, values, dtype=np.int64):
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.array(values, dtype=dtype), n))
        return n

    def node(self, op, inputs, n_out=1, **attrs):
        name = self.name(op.lower())
        outs = [name + ("" if k == 0 else ":%d" % k) for k in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def conv(self, x, cin, cout, k, stride=1, pad=None, group=1, bias=True, **extra):
        p = (k - 1) // 2 if pad is None else pad
        ins = [x, self.weight((cout, cin // group, k, k))]
        if bias:
            ins.append(self.weight((cout,), scale=0.1))
        attrs = dict(kernel_shape=[k, k], strides=[stride, stride], group=group)
        if "auto_pad" in extra:
            attrs["auto_pad"] = extra["auto_pad"]
        else:
            attrs["pads"] = [p, p, p, p]
        return self.node("Conv", ins, **attrs)

    def bn(self, x, c, **attrs):
        return self.node("BatchNormalization",
                         [x, self.weight((c,), positive=True, scale=0.3),
                          self.weight((c,), scale=0.2), self.weight((c,), scale=0.2),
                          self.weight((c,), positive=True, scale=0.5)],
                         epsilon=1e-5, **attrs)

    def relu(self, x):
        return self.node("Relu", [x])

    def model(self, x_shape, out, opset, name):
        inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, list(x_shape))]
        ir = IR_OF_OPSET[opset]
        if ir < 4:  # the initializers are graph inputs too, as in the opset-7 zoo files
            inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                       for t in self.inits]
        graph = helper.make_graph(self.nodes, name, inputs,
                                  [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                                  initializer=self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="gaze-test-zoo-opsets")
        m.ir_version = ir
        return m


def resnet18_v1_7(opset=7):
    g = Graph(1)
    bn_attrs = dict(spatial=1) if opset < 9 else {}
    x = g.relu(g.bn(g.conv("data", 3, 8, 7, stride=2, bias=False), 8, **bn_attrs))
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for cin, cout, stride in ((8, 8, 1), (8, 16, 2)):
        y = g.relu(g.bn(g.conv(x, cin, cout, 3, stride=stride, bias=False), cout, **bn_attrs))
        y = g.bn(g.conv(y, cout, cout, 3, bias=False), cout, **bn_attrs)
        if stride != 1 or cin != cout:
            x = g.bn(g.conv(x, cin, cout, 1, stride=stride, bias=False), cout, **bn_attrs)
        x = g.relu(g.node("Add", [x, y]))
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])], axis=1)
    out = g.node("Gemm", [x, g.weight((10, 16)), g.weight((10,), scale=0.1)], alpha=1.0,
                 beta=1.0, transB=1)
    return g.model((1, 3, 32, 32), out, opset, "resnet18-v1-7-like")


def mobilenetv2_7(opset=7):
    g = Graph(2)
    x = g.node("Clip", [g.bn(g.conv("data", 3, 8, 3, stride=2), 8, spatial=1)], min=0.0, max=6.0)
    # inverted residual: expand 1×1, depthwise 3×3, project 1×1, residual Add
    y = g.node("Clip", [g.bn(g.conv(x, 8, 24, 1), 24, spatial=1)], min=0.0, max=6.0)
    y = g.node("Clip", [g.bn(g.conv(y, 24, 24, 3, group=24), 24, spatial=1)], min=0.0, max=6.0)
    y = g.bn(g.conv(y, 24, 8, 1), 8, spatial=1)
    x = g.node("Add", [x, y])
    x = g.node("Clip", [g.bn(g.conv(x, 8, 16, 1), 16, spatial=1)], min=0.0, max=6.0)
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Reshape", [x, g.const([1, -1])])
    out = g.node("Gemm", [x, g.weight((10, 16)), g.weight((10,), scale=0.1)], transB=1)
    return g.model((1, 3, 32, 32), out, opset, "mobilenetv2-7-like")


def squeezenet1_1_7(opset=7):
    g = Graph(3)
    x = g.relu(g.conv("data", 3, 16, 3, stride=2, pad=0))
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])
    for cin, sq, ex in ((16, 4, 8), (16, 8, 16)):  # fire modules
        s = g.relu(g.conv(x, cin, sq, 1))
        x = g.node("Concat", [g.relu(g.conv(s, sq, ex, 1)), g.relu(g.conv(s, sq, ex, 3))], axis=1)
    x = g.node("Dropout", [x], ratio=0.5)
    x = g.relu(g.conv(x, 32, 10, 1))
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Reshape", [x, g.const([1, 10])])
    out = g.node("Softmax", [x], axis=1)
    return g.model((1, 3, 33, 33), out, opset, "squeezenet1.1-7-like")


def vgg16_7(opset=7):
    g = Graph(4)
    x = "data"
    for cin, cout in ((3, 8), (8, 16)):
        x = g.relu(g.conv(g.relu(g.conv(x, cin, cout, 3)), cout, cout, 3))
        x = g.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.node("Reshape", [x, g.const([0, -1])])
    x = g.relu(g.node("Gemm", [x, g.weight((32, 16 * 4 * 4)), g.weight((32,), 0.1)], transB=1))
    x = g.node("Dropout", [x], ratio=0.5)
    out = g.node("Gemm", [x, g.weight((10, 32)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 16, 16), out, opset, "vgg16-7-like")


def densenet_9(opset=9):
    g = Graph(5)
    x = g.relu(g.bn(g.conv("data", 3, 8, 7, stride=2, bias=False), 8))
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c = 8
    for _ in range(2):  # dense layers: BN-Relu-Conv1×1-BN-Relu-Conv3×3, concatenated
        y = g.conv(g.relu(g.bn(x, c)), c, 16, 1, bias=False)
        y = g.conv(g.relu(g.bn(y, 16)), 16, 4, 3, bias=False)
        x = g.node("Concat", [x, y], axis=1)
        c += 4
    x = g.conv(g.relu(g.bn(x, c)), c, 8, 1, bias=False)  # transition
    x = g.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.relu(g.bn(x, 8))
    x = g.node("GlobalAveragePool", [x])
    x = g.conv(x, 8, 10, 1)  # the zoo file's classifier is a 1×1 Conv
    x = g.node("Reshape", [x, g.const([1, 10])])
    out = g.node("Softmax", [x])
    return g.model((1, 3, 32, 32), out, opset, "densenet-9-like")


def googlenet_9(opset=9):
    g = Graph(6)
    x = g.relu(g.conv("data", 3, 8, 7, stride=2, pad=3))
    # Caffe's ceil-mode pooling, converted to asymmetric pads
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
    x = g.node("LRN", [x], size=5, alpha=1e-4, beta=0.75, bias=1.0)
    x = g.relu(g.conv(x, 8, 12, 3))
    x = g.node("LRN", [x], size=5, alpha=2e-2, beta=0.75, bias=2.0)
    x = g.node("Pad", [x], mode="constant", pads=[0, 0, 0, 0, 0, 0, 1, 1], value=0.0)
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])
    # inception module: 1×1, 1×1→3×3, 1×1→5×5, pool→1×1
    b1 = g.relu(g.conv(x, 12, 4, 1))
    b2 = g.relu(g.conv(g.relu(g.conv(x, 12, 6, 1)), 6, 8, 3))
    b3 = g.relu(g.conv(g.relu(g.conv(x, 12, 2, 1)), 2, 4, 5))
    b4 = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    b4 = g.relu(g.conv(b4, 12, 4, 1))
    x = g.node("Concat", [b1, b2, b3, b4], axis=1)
    x = g.node("AveragePool", [x], kernel_shape=[4, 4], strides=[1, 1])
    x = g.node("Dropout", [x], ratio=0.4)
    x = g.node("Reshape", [x, g.const([1, -1])])
    x = g.node("Gemm", [x, g.weight((10, 20)), g.weight((10,), 0.1)], transB=1)
    out = g.node("Softmax", [x])
    return g.model((1, 3, 32, 32), out, opset, "googlenet-9-like")


def inception_v2_9(opset=9):
    g = Graph(7)
    x = g.relu(g.bn(g.conv("data", 3, 8, 3, stride=2), 8))
    b1 = g.relu(g.bn(g.conv(x, 8, 8, 1), 8))
    b2 = g.relu(g.bn(g.conv(g.relu(g.bn(g.conv(x, 8, 4, 1), 4)), 4, 8, 3), 8))
    b3 = g.node("AveragePool", [x], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                count_include_pad=1)
    b3 = g.relu(g.bn(g.conv(b3, 8, 8, 1), 8))
    x = g.node("Concat", [b1, b2, b3], axis=1)
    # Caffe2's branch sums
    x = g.node("Sum", [g.conv(x, 24, 16, 1), g.conv(x, 24, 16, 3), g.conv(x, 24, 16, 1)])
    x = g.node("AveragePool", [g.relu(x)], kernel_shape=[3, 3], strides=[2, 2],
               pads=[1, 1, 1, 1])
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Reshape", [x, g.const([1, -1])])
    out = g.node("Gemm", [x, g.weight((10, 16)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 32, 32), out, opset, "inception-v2-9-like")


def shufflenet_9(opset=9):
    g = Graph(8)
    x = g.relu(g.bn(g.conv("data", 3, 12, 3, stride=2, bias=False), 12))
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    # unit: grouped 1×1, channel shuffle, depthwise 3×3 stride 2, grouped 1×1,
    # concatenated with an AveragePool of the input
    y = g.relu(g.bn(g.conv(x, 12, 12, 1, group=3, bias=False), 12))
    y = g.node("Reshape", [y, g.const([1, 3, 4, 8, 8])])
    y = g.node("Transpose", [y], perm=[0, 2, 1, 3, 4])
    y = g.node("Reshape", [y, g.const([1, 12, 8, 8])])
    y = g.bn(g.conv(y, 12, 12, 3, stride=2, group=12, bias=False), 12)
    y = g.bn(g.conv(y, 12, 12, 1, group=3, bias=False), 12)
    s = g.node("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    x = g.relu(g.node("Concat", [s, y], axis=1))
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x])
    out = g.node("Gemm", [x, g.weight((10, 24)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 32, 32), out, opset, "shufflenet-9-like")


def efficientnet_lite4_11(opset=11, nhwc=True):
    g = Graph(9)
    lo, hi = g.const(0.0, np.float32), g.const(6.0, np.float32)
    # NHWC input, as tf2onnx writes it
    x = g.node("Transpose", ["data"], perm=[0, 3, 1, 2]) if nhwc else "data"
    x = g.node("Clip", [g.bn(g.conv(x, 3, 8, 3, stride=2, auto_pad="SAME_UPPER"), 8), lo, hi])
    y = g.node("Clip", [g.bn(g.conv(x, 8, 16, 1), 16), lo, hi])
    y = g.node("Pad", [y, g.const([0, 0, 1, 1, 0, 0, 1, 1])], mode="constant")
    y = g.node("Clip", [g.bn(g.conv(y, 16, 16, 3, pad=0, group=16), 16), lo, hi])
    x = g.node("Add", [x, g.bn(g.conv(y, 16, 8, 1), 8)])
    x = g.node("Clip", [g.bn(g.conv(x, 8, 24, 1), 24), lo, hi])
    x = g.node("ReduceMean", [x], axes=[2, 3], keepdims=1)
    x = g.node("Squeeze", [x], axes=[2, 3])
    if opset >= 12:  # Dropout-12: the ratio is an input
        x = g.node("Dropout", [x, g.const(0.2, np.float32)])
    x = g.node("MatMul", [x, g.weight((24, 10))])
    x = g.node("Add", [x, g.weight((10,), 0.1)])
    out = g.node("Softmax", [x])
    shape = (1, 24, 24, 3) if nhwc else (1, 3, 24, 24)
    return g.model(shape, out, opset, "efficientnet-lite4-11-like" + ("" if nhwc else "-nchw"))


def upsampler(op, opset, mode, constant_node=False):
    """A small fully convolutional net with a ×2 Upsample or Resize."""
    g = Graph(10)
    x = g.relu(g.conv("data", 3, 8, 3, stride=2))
    scales = [1.0, 1.0, 2.0, 2.0]
    if op == "Upsample" and opset < 9:
        x = g.node("Upsample", [x], mode=mode, scales=scales)
    elif constant_node:  # as converters often write it: scales from a Constant node
        c = g.node("Constant", [], value=numpy_helper.from_array(np.array(scales, np.float32)))
        x = g.node(op, [x, c], mode=mode)
    elif op == "Upsample" or opset < 11:
        x = g.node(op, [x, g.const(scales, np.float32)], mode=mode)
    else:
        x = g.node("Resize", [x, g.const([], np.float32), g.const(scales, np.float32)],
                   mode=mode)
    x = g.relu(g.conv(x, 8, 8, 3))
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    # features of the upsampled map itself, so the interpolation shows in the logits
    out = g.node("Gemm", [x, g.weight((10, 8)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 16, 16), out, opset, "%s-%d-%s" % (op, opset, mode))


def ceil_pooling(opset):
    """MaxPool and AveragePool with ceil_mode (opset 10+), pads and
    count_include_pad = 0: the last windows hang over the end."""
    g = Graph(16)
    x = g.relu(g.conv("data", 3, 8, 3, stride=1))  # 16×16
    m = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)  # 8×8
    a = g.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 0, 0],
               ceil_mode=1, count_include_pad=0)  # 9×9
    # squared before the mean, so the overhanging windows show in the logits
    m, a = (g.node("GlobalAveragePool", [g.node("Mul", [t, t])]) for t in (m, a))
    x = g.node("Flatten", [g.node("Concat", [m, a], axis=1)])
    out = g.node("Gemm", [x, g.weight((10, 16)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 16, 16), out, opset, "ceil-pooling-%d" % opset)


def image_scaler(opset):
    """ImageScaler at the start, as CNTK/Caffe2 conversions have it."""
    g = Graph(11)
    x = g.node("ImageScaler", ["data"], scale=1.0 / 58.0, bias=[-2.1, -2.0, -1.8])
    x = g.relu(g.conv(x, 3, 8, 3, stride=2))
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    out = g.node("Gemm", [x, g.weight((10, 8)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 16, 16), out, opset, "ImageScaler-%d" % opset)


def old_slices(opset):
    """Slice, Split, Squeeze/Unsqueeze, ReduceMean, Cast with their old attributes."""
    g = Graph(12)
    x = g.relu(g.conv("data", 3, 12, 3, stride=2))
    if opset < 10:
        x = g.node("Slice", [x], starts=[1, 1], ends=[11, 100], axes=[1, 3])
    else:
        x = g.node("Slice", [x, g.const([1, 1]), g.const([11, 100]), g.const([1, 3]),
                             g.const([1, 1])])
    a, b = g.node("Split", [x], n_out=2, axis=1, split=[4, 6])
    a = g.node("ReduceMean", [a], axes=[1], keepdims=0)
    b = g.node("ReduceMean", [b], axes=[1], keepdims=1)
    x = g.node("Add", [g.node("Unsqueeze", [a], axes=[1]), b])
    x = g.node("Squeeze", [x], axes=[1])
    x = g.node("Cast", [x], to=TensorProto.FLOAT)
    x = g.node("Flatten", [x])
    out = g.node("Gemm", [x, g.weight((10, 56)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 16, 16), out, opset, "slices-%d" % opset)


def softmax_inside(opset, op="Softmax"):
    """A Softmax over a 4-D map at axis 1 inside the graph: before opset 13 it
    normalises over C·H·W together (coerced to 2-D), from 13 over C alone."""
    g = Graph(13)
    x = g.conv("data", 3, 6, 3, stride=2)
    x = g.node(op, [x], axis=1)
    x = g.node("Mul", [x, g.const(np.full((1, 6, 1, 1), 50.0), np.float32)])
    x = g.node("Flatten", [x])
    out = g.node("Gemm", [x, g.weight((10, 6 * 8 * 8)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 16, 16), out, opset, "%s-inside-%d" % (op.lower(), opset))


def bn_per_activation(opset):
    """BatchNormalization with spatial = 0 (opsets < 9): statistics per
    activation, shaped like one image (C×H×W)."""
    g = Graph(15)
    x = g.relu(g.conv("data", 3, 4, 3, stride=2))
    shape = (4, 8, 8)
    x = g.node("BatchNormalization", [x, g.weight(shape, positive=True, scale=0.3),
                                      g.weight(shape, scale=0.2), g.weight(shape, scale=0.2),
                                      g.weight(shape, positive=True, scale=0.5)],
               epsilon=1e-3, spatial=0)
    x = g.node("Flatten", [x])
    out = g.node("Gemm", [x, g.weight((10, 256)), g.weight((10,), 0.1)], transB=1)
    return g.model((1, 3, 16, 16), out, opset, "bn-spatial-0-%d" % opset)


def legacy_6(opset=6):
    """Before opset 7: BatchNormalization and Dropout with is_test, Add and Gemm
    with broadcast, Clip with attributes; before 6 the consumed_inputs
    attribute too (and before 5: Reshape's shape attribute)."""
    g = Graph(14)
    old = dict(consumed_inputs=[0]) if opset < 6 else {}
    x = g.conv("data", 3, 8, 3, stride=2, bias=False)
    x = g.node("BatchNormalization", [x, g.weight((8,), positive=True, scale=0.3),
                                      g.weight((8,), scale=0.2), g.weight((8,), scale=0.2),
                                      g.weight((8,), positive=True, scale=0.5)],
               epsilon=1e-5, is_test=1, spatial=1,
               **(dict(consumed_inputs=[0, 0, 0, 1, 1]) if opset < 6 else {}))
    x = g.node("Add", [x, g.weight((8,), 0.3)], broadcast=1, axis=1, **old)
    x = g.node("Clip", [x], min=0.0, max=6.0, **old)
    x = g.node("Dropout", [x], is_test=1, ratio=0.3, **old)
    x = g.node("GlobalAveragePool", [x])
    if opset < 5:
        x = g.node("Reshape", [x], shape=[1, 8], **old)
    else:
        x = g.node("Reshape", [x, g.const([1, 8])])
    out = g.node("Gemm", [x, g.weight((10, 8)), g.weight((10,), 0.1)], transB=1, broadcast=1)
    return g.model((1, 3, 16, 16), out, opset, "legacy-%d" % opset)


# ---- Running them ------------------------------------------------------------

CASES = [
    ("resnet18-v1-7-like", resnet18_v1_7, 7),
    ("resnet18-v1-7-like", resnet18_v1_7, 9),
    ("mobilenetv2-7-like", mobilenetv2_7, 7),
    ("squeezenet1.1-7-like", squeezenet1_1_7, 7),
    ("vgg16-7-like", vgg16_7, 7),
    ("densenet-9-like", densenet_9, 9),
    ("googlenet-9-like", googlenet_9, 9),
    ("inception-v2-9-like", inception_v2_9, 9),
    ("shufflenet-9-like", shufflenet_9, 9),
    ("efficientnet-lite4-11-like", efficientnet_lite4_11, 11),
    ("efficientnet-lite4-11-like", efficientnet_lite4_11, 12),
    ("efficientnet-lite4-11-like, NCHW input", lambda o: efficientnet_lite4_11(o, False), 11),
    ("efficientnet-lite4-11-like, NCHW input", lambda o: efficientnet_lite4_11(o, False), 12),
    ("Upsample nearest", lambda o: upsampler("Upsample", o, "nearest"), 7),
    ("Upsample linear", lambda o: upsampler("Upsample", o, "linear"), 7),
    ("Upsample nearest", lambda o: upsampler("Upsample", o, "nearest"), 9),
    ("Upsample linear", lambda o: upsampler("Upsample", o, "linear"), 9),
    ("Upsample, scales from a Constant", lambda o: upsampler("Upsample", o, "nearest", True), 9),
    ("Pooling with ceil_mode", ceil_pooling, 10),
    ("Pooling with ceil_mode", ceil_pooling, 12),
    ("Resize nearest", lambda o: upsampler("Resize", o, "nearest"), 10),
    ("Resize linear", lambda o: upsampler("Resize", o, "linear"), 10),
    ("Resize linear", lambda o: upsampler("Resize", o, "linear"), 11),
    ("ImageScaler", image_scaler, 7),
    ("ImageScaler", image_scaler, 9),
    ("Slice/Split/Squeeze attributes", old_slices, 9),
    ("Slice inputs, Split/Squeeze attributes", old_slices, 11),
    ("Softmax inside, coerced to 2-D", softmax_inside, 11),
    ("Softmax inside, one axis", softmax_inside, 13),
    ("LogSoftmax inside, coerced to 2-D", lambda o: softmax_inside(o, "LogSoftmax"), 11),
    ("Hardmax inside, coerced to 2-D", lambda o: softmax_inside(o, "Hardmax"), 11),
    ("Hardmax inside, one axis", lambda o: softmax_inside(o, "Hardmax"), 13),
    ("is_test/broadcast legacy", legacy_6, 6),
    ("consumed_inputs legacy", legacy_6, 5),
    ("BatchNormalization spatial=0", bn_per_activation, 6),
    ("BatchNormalization spatial=0", bn_per_activation, 7),
    ("Reshape shape attribute", legacy_6, 4),
]

HEADS = ("Softmax", "LogSoftmax")


def head_input(model):
    """The value Gaze reports as logits: a trailing Softmax is left out."""
    last = model.graph.node[-1]
    return last.input[0] if last.op_type in HEADS else last.output[0]


PASS_THROUGH = ("Flatten", "Reshape", "Dropout", "Squeeze")


def gradcam_reference(model, values):
    """Grad-CAM's raw map at the input A of the GlobalAveragePool when only a
    linear head follows it (Flatten/Reshape/Dropout, then a Gemm, a 1×1 Conv
    or nothing): the gradient of logit c is W[c, k] / (H·W) everywhere, so
    the map is sum_k W[c, k] / (H·W) · A_k. None for other graphs."""
    nodes = list(model.graph.node)

    def global_mean(n):  # GlobalAveragePool, or the same written another way
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        if n.op_type == "GlobalAveragePool":
            return True
        if n.op_type == "ReduceMean":
            return sorted(a.get("axes", [])) == [2, 3]
        if n.op_type == "AveragePool" and not any(a.get("pads", [])):
            return list(a["kernel_shape"]) == list(values[n.input[0]].shape[2:])
        return False

    gap = [n for n in nodes if global_mean(n)]
    if len(gap) != 1:
        return None
    by_input = {i: n for n in nodes for i in n.input}
    t, weight = gap[0].output[0], None
    while t in by_input:
        n = by_input[t]
        if n.op_type in PASS_THROUGH or n.op_type in HEADS:
            pass
        elif n.op_type == "Gemm" and weight is None and n.attribute and helper.get_attribute_value(
                next(a for a in n.attribute if a.name == "transB")) == 1:
            weight = values[n.input[1]]
        elif n.op_type == "Conv" and weight is None and values[n.input[1]].shape[2:] == (1, 1):
            weight = values[n.input[1]][:, :, 0, 0]
        elif n.op_type == "MatMul" and weight is None and n.input[1] in values:
            weight = values[n.input[1]].T
        elif n.op_type == "Add" and weight is not None:  # the bias after a MatMul
            pass
        else:
            return None
        t = n.output[0]
    acts = values[gap[0].input[0]][0]
    logit = values[head_input(model)].reshape(-1)
    cls = int(np.argmax(logit))
    k = acts.shape[0]
    w = weight[cls] if weight is not None else np.eye(k)[cls]
    return gap[0].input[0], cls, np.tensordot(w / (acts.shape[1] * acts.shape[2]), acts, axes=1)


def gradcam_r(tmp, model, path, xpath, values):
    """Pearson r of Gaze's raw Grad-CAM map with the reference, or None."""
    ref = gradcam_reference(model, values)
    if ref is None:
        return None
    layer, cls, want = ref
    raw = path + ".raw.npy"
    p = subprocess.run([cli, "explain", path, "--input-tensor", xpath, "--method", "gradcam",
                        "--layer", layer, "--class", str(cls), "--raw", raw, "--quiet"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        check(False, "%s: Grad-CAM at %s" % (model.graph.name, layer), p.stderr.strip())
        return float("nan")
    got = np.load(raw).reshape(-1)
    r = float(np.corrcoef(got, want.reshape(-1))[0, 1])
    check(r >= 0.9999, "%s: Grad-CAM at the last map (%s) matches NumPy (r = %.6f)"
          % (model.graph.name, layer, r))
    return r


def run_case(tmp, label, build, opset):
    model = build(opset)
    key = "%s @ opset %d" % (label, opset)
    path = os.path.join(tmp, "%s-%d.onnx" % (model.graph.name, opset))
    try:
        onnx.checker.check_model(model)
        valid = ""
    except onnx.checker.ValidationError as e:  # ImageScaler: an experimental operator
        valid = " (onnx.checker: %s)" % str(e).splitlines()[0]
    onnx.save(model, path)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    rng = np.random.default_rng(100)  # one input per shape: opsets compare
    x = (rng.standard_normal(shape) * (58.0 if label == "ImageScaler" else 1.0)).astype(np.float32)
    xpath = os.path.join(tmp, "x-%s-%d.npy" % (model.graph.name, opset))
    # --input-tensor is [1,C,H,W] whatever the model's layout: an NHWC model
    # (tf2onnx) gets the same values transposed.
    nhwc = len(shape) == 4 and shape[-1] == 3 and shape[1] != 3
    np.save(xpath, x.transpose(0, 3, 1, 2) if nhwc else x)
    logits_path = path + ".logits.npy"
    p = subprocess.run([cli, "predict", path, "--input-tensor", xpath, "--logits", logits_path,
                        "--json", "--top", "3"], capture_output=True, text=True)
    if p.returncode != 0:
        check(False, "%s: loads and predicts" % key, p.stderr.strip() + valid)
        return (label, opset, False, None, None)
    if nhwc:
        layout = json.loads(p.stdout.strip().splitlines()[-1]).get("input_layout")
        check(layout == "nhwc", "%s: predict --json says input_layout %s (nhwc)" % (key, layout))
    values = evaluate(model, x)
    ref = values[head_input(model)].reshape(-1)
    got = np.load(logits_path).reshape(-1)
    tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
    check(err <= tol, "%s: logits match NumPy (max abs err %.3g, tol %.3g)" % (key, err, tol),
          "" if err <= tol else "gaze %s\nnumpy %s" % (got, ref))
    if model.graph.node[-1].op_type in HEADS:
        # the probabilities printed are the graph's own Softmax output
        probs = values[model.graph.output[0].name].reshape(-1)
        doc = json.loads(p.stdout.strip().splitlines()[-1])
        shown = [(c["index"], c["probability"]) for c in doc.get("classes", doc.get("top", []))]
        perr = max([abs(pr - probs[i]) for i, pr in shown] or [float("inf")])
        check(perr <= 1e-5, "%s: top-3 probabilities match the graph's Softmax (max err %.2g)"
              % (key, perr), p.stdout if perr > 1e-5 else "")
    logits[(model.graph.name.rsplit("-", 1)[0], opset)] = got
    return (label, opset, True, err, gradcam_r(tmp, model, path, xpath, values))


def gradcam_through_bn_per_activation(tmp):
    """Grad-CAM at the Relu before a spatial = 0 BatchNormalization: the
    gradient flows back through the per-activation affine map, so the raw map
    is sum_k mean(W_c ⊙ a)_k A_k with a = scale / sqrt(var + eps)."""
    model = bn_per_activation(7)
    path = os.path.join(tmp, "gradcam-bn-spatial-0.onnx")
    onnx.save(model, path)
    x = np.random.default_rng(100).standard_normal((1, 3, 16, 16)).astype(np.float32)
    xpath = path + ".x.npy"
    np.save(xpath, x)
    values = evaluate(model, x)
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization")
    gemm = model.graph.node[-1]
    cls = int(np.argmax(values[gemm.output[0]]))
    scale, var = values[bn.input[1]], values[bn.input[4]]
    a = scale / np.sqrt(var + 1e-3)
    grad = values[gemm.input[1]][cls].reshape(a.shape) * a
    acts = values[relu.output[0]][0]
    ref = np.tensordot(grad.mean(axis=(1, 2)), acts, axes=1)
    raw = path + ".raw.npy"
    p = subprocess.run([cli, "explain", path, "--input-tensor", xpath, "--method", "gradcam",
                        "--layer", relu.output[0], "--class", str(cls), "--raw", raw, "--quiet"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        check(False, "Grad-CAM through BatchNormalization spatial=0", p.stderr.strip())
        return
    got = np.load(raw).reshape(ref.shape)
    err = float(np.abs(got - ref).max())
    tol = 1e-4 * float(np.abs(ref).max())  # relative: the map is small
    check(err <= tol, "Grad-CAM through BatchNormalization spatial=0: raw map matches NumPy "
          "(max abs err %.3g, tol %.3g, max |map| %.3g)" % (err, tol, np.abs(ref).max()))


def refused(tmp, label, model, must_name):
    """An operator version Gaze does not implement: refused, naming it."""
    path = os.path.join(tmp, "refused-%s.onnx" % label.replace(" ", "-"))
    onnx.save(model, path)
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    xpath = path + ".x.npy"
    np.save(xpath, np.zeros(shape, np.float32))
    p = subprocess.run([cli, "predict", path, "--input-tensor", xpath], capture_output=True,
                       text=True)
    missing = [s for s in must_name if s not in p.stderr]
    check(p.returncode == 1 and not missing,
          "%s is refused naming %s" % (label, ", ".join(must_name)),
          "exit %d, stderr: %s" % (p.returncode, p.stderr.strip()))


def refusals(tmp):
    # Upsample-1 (opset < 7: height_scale/width_scale attributes)
    g = Graph(20)
    x = g.node("Upsample", ["data"], mode="nearest", height_scale=2.0, width_scale=2.0)
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    refused(tmp, "Upsample at opset 6", g.model((1, 3, 8, 8), x, 6, "upsample-6"),
            ["Upsample", "upsample_1", "opset 6"])
    # Pad-1 (its `paddings` attribute)
    g = Graph(21)
    x = g.node("Pad", ["data"], paddings=[0, 0, 1, 1, 0, 0, 1, 1])
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    refused(tmp, "Pad at opset 1", g.model((1, 3, 8, 8), x, 1, "pad-1"),
            ["Pad", "pad_1", "opset 1"])


logits = {}


def main():
    table = []
    with tempfile.TemporaryDirectory(prefix="gaze-zoo-opsets-") as tmp:
        for label, build, opset in CASES:
            table.append(run_case(tmp, label, build, opset))
        refusals(tmp)
        gradcam_through_bn_per_activation(tmp)
    # the same weights and input: Softmax-11 (over C·H·W) and Softmax-13 (over C)
    a, b = logits.get(("softmax-inside", 11)), logits.get(("softmax-inside", 13))
    diff = float(np.abs(a - b).max()) if a is not None and b is not None else 0.0
    check(diff > 0.1, "Softmax at opsets 11 and 13 give different logits on the same graph "
          "(max difference %.3g)" % diff)
    a, b = logits.get(("hardmax-inside", 11)), logits.get(("hardmax-inside", 13))
    diff = float(np.abs(a - b).max()) if a is not None and b is not None else 0.0
    check(diff > 0.1, "Hardmax at opsets 11 and 13 give different logits on the same graph "
          "(max difference %.3g)" % diff)
    notes = ["%-40s opset %2d  loads %-3s  max logit err %-8s Grad-CAM r %s"
             % (label, opset, "yes" if loads else "NO", "-" if err is None else "%.2g" % err,
                "-" if r is None else "%.6f" % r)
             for label, opset, loads, err, r in table]
    tap_exit(notes=notes)


main()
