#!/usr/bin/python3
# test-info-torchvision.py — `gaze-cli info --json` on torchvision models exported here
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Exports resnet18, mobilenet_v2 and densenet121 (random weights: only the
# structure matters) with torch.onnx, runs gaze-cli info --json on each and
# checks it against the onnx package: node list, every node's output shape
# (onnx shape inference, batch 1), parameter count (float initializer
# elements), the explainable layers with their maps, and the default layer
# (resnet: layer4's output; mobilenet_v2: features[18]'s output; densenet:
# the Relu after features.norm5). The shared
# models are checked too when ../shared is present. Prints TAP.
import json
import os
import subprocess
import sys
import tempfile

results = []


def check(ok, name, detail=""):
    results.append((bool(ok), name, detail))


def tap_exit(skip_reason=None):
    if skip_reason is not None:
        print("1..0 # SKIP " + skip_reason)
        sys.exit(0)
    print("1..%d" % len(results))
    for i, (ok, name, detail) in enumerate(results, 1):
        print("%s %d %s" % ("ok" if ok else "not ok", i, name))
        if not ok and detail:
            for line in str(detail).splitlines():
                print("# " + line)
    sys.exit(0 if all(ok for ok, _, _ in results) else 1)


try:
    import numpy as np
    import onnx
    from onnx import numpy_helper, shape_inference
    import torch
    import torchvision
except ImportError as e:  # pragma: no cover
    tap_exit("PyTorch/torchvision/onnx not available: %s" % e)

build_root = os.environ.get("GAZE_BUILD_ROOT", ".")
cli = os.path.join(build_root, "app", "cli", "gaze-cli")
if not os.path.exists(cli):
    tap_exit("gaze-cli not built at %s" % cli)


def info(path):
    p = subprocess.run([cli, "info", "--json", path], capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return json.loads(p.stdout), None


def reference(path):
    """Node list, batch-1 output shapes and parameter count from the onnx package."""
    m = onnx.load(path)
    inferred = shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        shape = [
            d.dim_value if d.HasField("dim_value") else 1 if i == 0 and d.dim_param else None
            for i, d in enumerate(dims)
        ]
        if None not in shape:  # unknown to shape inference (e.g. computed Pad amounts)
            shapes[vi.name] = shape
    params = sum(
        int(np.prod(t.dims)) for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT
    )
    producer = {}
    for n in m.graph.node:
        for o in n.output:
            producer[o] = n
    return m, shapes, params, producer


def check_model(label, path, default_rule):
    got, error = info(path)
    check(got is not None, "%s: gaze-cli info loads it" % label, error)
    if got is None:
        return
    m, shapes, params, producer = reference(path)
    nodes = got["nodes"]
    check(
        [n["name"] or "" for n in nodes] == [n.name for n in m.graph.node],
        "%s: every node, in file order" % label,
    )
    check([n["op"] for n in nodes] == [n.op_type for n in m.graph.node], "%s: op types" % label)
    bad = [
        (n["name"], n["shape"], shapes.get(n["output"]))
        for n in nodes
        if n["output"] in shapes and n["shape"] != shapes[n["output"]]
    ]
    check(not bad, "%s: output shapes match onnx shape inference" % label, bad[:5])
    check(
        got["parameters"] == params,
        "%s: parameter count" % label,
        "%s != %s" % (got["parameters"], params),
    )
    check(got["opset"] == m.opset_import[0].version, "%s: opset" % label)
    check(got["producer"].startswith("pytorch"), "%s: producer" % label, got["producer"])
    def declared(vi):
        return [d.dim_value if d.HasField("dim_value") else -1
                for d in vi.type.tensor_type.shape.dim]

    want_in = {"name": m.graph.input[0].name, "shape": declared(m.graph.input[0])}
    want_out = {"name": m.graph.output[0].name, "shape": declared(m.graph.output[0])}
    check(got["inputs"] == [want_in], "%s: input" % label, "%s != %s" % (got["inputs"], want_in))
    check(got["outputs"] == [want_out], "%s: output" % label,
          "%s != %s" % (got["outputs"], want_out))
    # Explainable layers with their map (issue 19): a CNN's [1,C,H,W] layers
    # read as they are, and the default layer is one of them.
    layers = got.get("layers") or []
    check(layers and all(L["map"] == L["shape"][1:] and len(L["shape"]) == 4 for L in layers)
          and got["default_layer"] in [L["output"] for L in layers],
          "%s: layers list their [C,h,w] map" % label,
          [L for L in layers if L["map"] != L["shape"][1:]][:3])
    layer = got["default_layer"]
    node = producer.get(layer)
    check(
        node is not None and default_rule(node, producer),
        "%s: default layer" % label,
        "%s (node %s)" % (layer, node.name if node else None),
    )


def export(model, path, size=224):
    model.eval()
    x = torch.randn(1, 3, size, size)
    torch.onnx.export(
        model, x, path, opset_version=13, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )


def last_in_scope(scope):
    # The default layer is produced by the last node of the module scope.
    def rule(node, producer, scope=scope):
        return node.name.startswith(scope)

    return rule


def densenet_rule(node, producer):
    # features → F.relu → pool: the Relu reading features.norm5's output.
    src = producer.get(node.input[0])
    return node.op_type == "Relu" and src is not None and "norm5" in src.name


torch.manual_seed(0)
with tempfile.TemporaryDirectory() as tmp:
    cases = [
        ("resnet18", torchvision.models.resnet18(), "/layer4/layer4.1/"),
        ("mobilenet_v2", torchvision.models.mobilenet_v2(), "/features/features.18/"),
        ("densenet121", torchvision.models.densenet121(), None),
    ]
    for label, model, scope in cases:
        path = os.path.join(tmp, label + ".onnx")
        export(model, path)
        if scope is not None:
            m = onnx.load(path)
            # The last node of the scope, and nothing spatial after it but the head.
            last = [n for n in m.graph.node if n.name.startswith(scope)][-1]

            def rule(node, producer, last=last):
                return node.name == last.name

            check_model(label, path, rule)
        else:
            check_model(label, path, densenet_rule)

    # Bad files: one line on stderr, exit status 1; usage errors: 2.
    junk = os.path.join(tmp, "junk.onnx")
    with open(junk, "wb") as f:
        f.write(b"PK\x03\x04 this is a zip, not a model")
    p = subprocess.run([cli, "info", junk], capture_output=True, text=True)
    check(
        p.returncode == 1 and p.stderr.count("\n") == 1 and "not an ONNX model" in p.stderr,
        "bad file: one-line error, exit 1",
        p.stderr,
    )
    p = subprocess.run([cli, "info", os.path.join(tmp, "missing.onnx")], capture_output=True,
                       text=True)
    check(p.returncode == 1 and p.stderr.count("\n") == 1, "missing file: exit 1", p.stderr)
    p = subprocess.run([cli, "info"], capture_output=True, text=True)
    check(p.returncode == 2, "no model argument: exit 2", p.stderr)

shared = os.environ.get("GAZE_SHARED_DIR", "")
expected_shared = [
    ("mobilenet_v2-imagenet/mobilenet_v2.onnx", "/features/features.18/"),
    ("resnet-cifar10/resnet20.onnx", "/layer3/layer3.2/"),
    ("resnet-cifar10/resnet56.onnx", "/layer3/layer3.8/"),
    ("squeezenet1_0-imagenet/squeezenet1_0.onnx", "/features/features.12/"),
]
for rel, scope in expected_shared:
    path = os.path.join(shared, "models", rel)
    if not os.path.exists(path):
        continue
    m = onnx.load(path)
    last = [n for n in m.graph.node if n.name.startswith(scope)][-1]
    check_model(
        "shared " + os.path.basename(rel), path,
        lambda node, producer, last=last: node.name == last.name,
    )

tap_exit()
