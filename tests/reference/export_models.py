#!/usr/bin/python3
# export_models.py — exports seeded torchvision classifiers to ONNX (opsets 13
# and 17) with fixed random inputs and PyTorch's logits, into the build dir.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 export_models.py [--models a,b] [--opsets 13,17]
# Output ($GAZE_BUILD_ROOT/reference/): models/NAME-opN.onnx, inputs/NAME.npy
# ([1,3,224,224] float32), logits/NAME.npy ([1,1000]), manifest.json (status,
# timings and skip reasons per model/opset), layers.json (explanation layers).
# Files already present are reused. Prints TAP, so meson can run it as a test.

import argparse
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcommon as rc  # noqa: E402


def _script_id():
    import hashlib
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()[:12]


SCRIPT_ID = _script_id()

# Explanation layers: torch module path of the `auto` layer and of an earlier
# one, and how to find the same tensor in the ONNX graph exported by torch 1.13
# (scoped node names "/layer4/layer4.1/relu_1/Relu"). "scope" = the last node
# inside that module scope; "relu_after" = the Relu that consumes the last node
# of the scope (densenet applies F.relu after features.norm5 outside any module).
# The earlier layers are rectified activations (14x14): Grad-CAM++ and
# XGrad-CAM divide by sum_ij A^k_ij, which is ill-conditioned on signed tensors
# such as residual sums.
EXPLAIN_LAYERS = {
    "resnet18": {"auto": ("layer4", "scope"), "early": ("layer3", "scope")},
    "mobilenet_v2": {"auto": ("features.18", "scope"),
                     "early": ("features.14.conv.0", "scope")},
    "densenet121": {"auto": ("features.norm5", "relu_after"),
                    "early": ("features.transition3.relu", "scope")},
    "efficientnet_b0": {"auto": ("features.8", "scope"),
                        "early": ("features.6.0.block.0", "scope")},
    "tinynet": {"auto": ("features.3", "scope"), "early": ("features.1", "scope")},
    # Swin's stages are [N,H,W,C]; its only [N,C,H,W] tensor is the Permute
    # before GAP + head (7x7), so no earlier layer.
    "swin_t": {"auto": ("permute", "scope")},
}


def onnx_scope(module_path):
    # torch 1.13 scope segments: a named child keeps its name, an indexed child
    # (Sequential) is "PARENT_SEGMENT.INDEX": features.18.2 ->
    # /features/features.18/features.18.2/, features.norm5 -> /features/norm5/.
    segs = []
    for part in module_path.split("."):
        if part.isdigit() and segs:
            segs.append(segs[-1] + "." + part)
        else:
            segs.append(part)
    return "/" + "/".join(segs) + "/"


def find_layer_tensor(onnx_model, module_path, rule):
    nodes = [n for n in onnx_model.graph.node if n.op_type != "Constant"]
    prefix = onnx_scope(module_path)
    inside = [n for n in nodes if n.name.startswith(prefix)]
    if not inside:
        raise RuntimeError("no ONNX node in scope %s" % prefix)
    last = inside[-1].output[0]
    if rule == "scope":
        return last
    consumers = [n for n in nodes if last in n.input]
    if len(consumers) != 1 or consumers[0].op_type != "Relu":
        raise RuntimeError("expected one Relu after %s, found %s" %
                           (last, [n.op_type for n in consumers]))
    return consumers[0].output[0]


def torch_layer_shape(model, module_path, x, rule):
    import torch
    mod = model.get_submodule(module_path)
    got = {}

    def hook(m, i, o):
        got["shape"] = tuple(o.shape)  # returning None keeps the output

    h = mod.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    h.remove()
    return got["shape"]


def onnx_shapes(onnx_model):
    import onnx
    inferred = onnx.shape_inference.infer_shapes(onnx_model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = [d.dim_value if d.HasField("dim_value") else -1
                for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    return shapes


def export_one(model, x, path, opset):
    import torch
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    torch.onnx.export(model, x, tmp, opset_version=opset,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    os.replace(tmp, path)


def record_layers(name, model, x, onnx_file, layers):
    """Finds the ONNX tensor of each explanation layer and checks its shape
    against the torch module's output."""
    import onnx
    m = onnx.load(onnx_file)
    shapes = onnx_shapes(m)
    entry = {}
    for which, (path, rule) in EXPLAIN_LAYERS[name].items():
        tensor = find_layer_tensor(m, path, rule)
        tshape = list(torch_layer_shape(model, path, x, rule))
        oshape = shapes.get(tensor)
        # [] = no rank inferred (onnx gives up after Swin's run-time reshapes)
        if oshape and oshape[1:] != tshape[1:]:
            raise RuntimeError("%s %s: ONNX %s has shape %s, torch %s" %
                               (name, which, tensor, oshape, tshape))
        entry[which] = {"module": path, "rule": rule, "tensor": tensor, "shape": tshape}
    layers[name] = entry


def _complete(name, opset, rec, layers):
    paths = [rc.model_path(name, opset), rc.input_path(name), rc.logits_path(name)]
    if name in EXPLAIN_LAYERS:
        paths.append(rc.state_path(name))
    return (rec.get("status") == "ok" and rec.get("recipe") == rc.RECIPE and
            all(os.path.exists(p) for p in paths) and
            (name not in EXPLAIN_LAYERS or opset != 13 or name in layers))


def verify(name, opset, rec):
    """Checks an export that claims to be ready: the file is the size the
    manifest recorded, passes onnx.checker, declares the model's opset, and
    its output ends with as many classes as the saved PyTorch logits.
    Returns None when it holds, else what is wrong."""
    import numpy as np
    import onnx
    path = rc.model_path(name, opset)
    size = os.path.getsize(path)
    if rec.get("bytes") is not None and size != rec["bytes"]:
        return "%s is %d bytes, the manifest says %d" % (path, size, rec["bytes"])
    try:
        onnx.checker.check_model(path)
    except Exception as e:  # the checker's own exception types vary by version
        return "onnx.checker: %s" % str(e).splitlines()[0]
    m = onnx.load(path, load_external_data=False)
    versions = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
    if versions != [opset]:
        return "opset %s, expected %d" % (versions, opset)
    dims = m.graph.output[0].type.tensor_type.shape.dim
    classes = np.load(rc.logits_path(name)).shape[-1]
    if not dims or dims[-1].HasField("dim_param") or dims[-1].dim_value != classes:
        return "output %s does not end with the %d classes of the logits" % (
            [d.dim_param or d.dim_value for d in dims], classes)
    return None


def ensure(models=None, opsets=None, tap=None, quiet=False):
    """Makes sure every requested export exists (reusing what is there);
    returns the manifest. Serialised by a lock: tests may run in parallel."""
    import torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    models = models or rc.MODEL_NAMES
    opsets = opsets or rc.OPSETS
    out = rc.out_dir()
    with rc.locked("export"):
        manifest_path = os.path.join(out, "manifest.json")
        layers_path = os.path.join(out, "layers.json")
        manifest = rc.load_json(manifest_path, {})
        layers = rc.load_json(layers_path, {})
        for name in models:
            model = None
            x = None
            for opset in opsets:
                key = "%s-op%d" % (name, opset)
                path = rc.model_path(name, opset)
                rec = manifest.get(key, {})
                if rec.get("status") == "skipped" and rec.get("torch") == torch.__version__ \
                        and rec.get("script") == SCRIPT_ID:
                    if tap:
                        tap.skip("export %s" % key, rec.get("reason", ""))
                    continue
                if _complete(name, opset, rec, layers):
                    if tap:
                        bad = verify(name, opset, rec)
                        tap.ok(bad is None, "export %s (cached; made in %.1f s)%s" %
                               (key, rec.get("export_s", 0), ": " + bad if bad else ""))
                    continue
                t0 = time.time()
                if model is None:
                    model, x = _make(name)
                try:
                    export_one(model, x, path, opset)
                except Exception as e:  # record why torch cannot export it
                    reason = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
                    if not quiet:
                        traceback.print_exc(file=sys.stderr)
                    manifest[key] = {"status": "skipped", "reason": reason,
                                     "torch": torch.__version__, "script": SCRIPT_ID}
                    rc.save_json(manifest_path, manifest)
                    if tap:
                        tap.skip("export %s" % key, "torch %s cannot export it: %s" %
                                 (torch.__version__, reason))
                    continue
                if name in EXPLAIN_LAYERS and opset == 13:
                    try:
                        record_layers(name, model, x, path, layers)
                        rc.save_json(layers_path, layers)
                    except Exception as e:
                        if tap:
                            tap.ok(False, "explanation layers of %s: %s" % (key, e))
                        else:
                            raise
                dt = time.time() - t0
                manifest[key] = {"status": "ok", "export_s": round(dt, 2),
                                 "bytes": os.path.getsize(path), "recipe": rc.RECIPE,
                                 "torch": torch.__version__, "script": SCRIPT_ID}
                rc.save_json(manifest_path, manifest)
                if tap:
                    bad = verify(name, opset, manifest[key])
                    tap.ok(bad is None, "export %s in %.1f s (%.1f MB)%s" %
                           (key, dt, os.path.getsize(path) / 1e6, ": " + bad if bad else ""))
        return manifest


def _make(name):
    """Builds the seeded model, writes its input, logits (and, for the models
    the explanation tests use, its state) and returns (model, input)."""
    import numpy as np
    import torch
    if name == "tinynet":
        model = rc.TinyNet.build()
        x_np = np.random.default_rng(rc.SEED + 9).standard_normal(
            (1, 3, 64, 64)).astype(np.float32)
    else:
        model = rc.build_model(name)
        x_np = rc.build_input(name)
    for p in (rc.input_path(name), rc.logits_path(name), rc.state_path(name)):
        os.makedirs(os.path.dirname(p), exist_ok=True)
    np.save(rc.input_path(name), x_np)
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        np.save(rc.logits_path(name), model(x).numpy().astype(np.float32))
    if name in EXPLAIN_LAYERS:
        torch.save(model.state_dict(), rc.state_path(name))
    return model, x


def ensure_tiny(tap=None):
    """The small GAP+linear CNN for Score-CAM / Ablation-CAM (input [1,3,64,64])."""
    ensure(["tinynet"], [13], tap=tap)
    return rc.model_path("tinynet", 13)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(rc.MODEL_NAMES))
    ap.add_argument("--opsets", default=",".join(str(o) for o in rc.OPSETS))
    args = ap.parse_args()
    tap = rc.Tap()
    t0 = time.time()
    ensure([m for m in args.models.split(",") if m],
           [int(o) for o in args.opsets.split(",") if o], tap=tap)
    ensure_tiny(tap)
    tap.diag("exports in %s, %.1f s" % (rc.out_dir(), time.time() - t0))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
