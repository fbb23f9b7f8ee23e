#!/usr/bin/python3
# test_transformers.py — vision transformers (issue 19): torchvision vit_b_16,
# swin_t and convnext_tiny with seeded random weights, exported at opset 17,
# and vit_b_16 at opset 14 too (LayerNorm decomposed; Grad-CAM and HiResCAM).
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 test_transformers.py PATH/TO/gaze-cli
# Checks per model:
#  - logits of `gaze-cli predict` against PyTorch: |diff| <= 1e-4 * max(1, |logit|);
#  - `gaze-cli info --json`: default_layer is the expected tensor (ViT: the output
#    of the last encoder block's ln_1; Swin: the last stage's output before the
#    final norm; ConvNeXt: the last stage's [768,7,7] output) and its `map` is
#    [C,h,w];
#  - the maps of Grad-CAM, Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM and
#    Eigen-CAM at the automatic layer against a float64 PyTorch reference
#    (cams.py) with the same reshape as pytorch-grad-cam's reshape_transform:
#    tokens [1,1+h*w,C] -> drop the class token -> [C,h,w]; channels-last
#    [1,H,W,C] -> [C,H,W]: Pearson r >= 0.999;
#  - CAM is refused (no GAP + linear head after these layers), and Ablation-CAM
#    at a token / channels-last layer with its reason.
# Score-CAM and Ablation-CAM are not compared: 768 masked forwards of these
# models in float64 would take minutes (Ablation-CAM is refused at token and
# channels-last layers anyway). Runtime on 2 idle cores once the exports
# exist: ~3 min (vit_b_16 62 s at opset 17 and ~40 s at 14, swin_t 18 s,
# convnext_tiny 61 s); up to twice that on a loaded machine.
# GAZE_REFERENCE_QUICK=1: Grad-CAM and Eigen-CAM only, on vit_b_16 and swin_t at
# opset 17.

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcommon as rc  # noqa: E402

import numpy as np  # noqa: E402

OPSET = 17
R_MIN = 0.999
METHODS = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam"]
QUICK_METHODS = ["gradcam", "eigencam"]
OLD_OPSET_METHODS = ["gradcam", "hirescam"]
RECIPE = "2"


# ---- the models and their layers --------------------------------------------

def vit_layer(model):
    """(module, hook kind, reshape A[0] -> [C,h,w]): the output of the last
    encoder block's ln_1, the class token dropped."""
    def reshape(a):
        n, c = a.shape
        s = int(round((n - 1) ** 0.5))
        return a[1:].reshape(s, s, c).permute(2, 0, 1)
    return model.encoder.layers[-1].ln_1, "output", reshape


def swin_layer(model):
    """The output of the last stage (model.features), [H,W,C] -> [C,H,W]."""
    return model.features, "output", lambda a: a.permute(2, 0, 1)


def convnext_layer(model):
    """The output of the last stage (model.features), already [C,H,W]."""
    return model.features, "output", lambda a: a


MODELS = {
    "vit_b_16": {"layer": vit_layer, "auto_node": ("/encoder/layers/encoder_layer_11/ln_1/",
                                                   "LayerNormalization", "output"),
                 "map": [768, 14, 14], "kind": "transformer token", "opsets": [17, 14]},
    "swin_t": {"layer": swin_layer, "auto_node": ("/norm/", "LayerNormalization", "input"),
               "map": [768, 7, 7], "kind": "channels-last"},
    "convnext_tiny": {"layer": convnext_layer, "auto_node": ("/features/", None, "output"),
                      "map": [768, 7, 7], "kind": None},
}


def paths(name, opset=OPSET):
    d = os.path.join(rc.out_dir(), "transformers")
    os.makedirs(d, exist_ok=True)
    base = os.path.join(d, "%s-op%d" % (name, opset))
    return {"onnx": base + ".onnx", "state": os.path.join(d, name + ".pt"),
            "x": os.path.join(d, name + "-input.npy"),
            "recipe": os.path.join(d, name + ".recipe")}


def ensure_export(name, tap, opset=OPSET):
    """The seeded model (saved state), its ONNX export and a seeded input,
    made once and reused (keyed by RECIPE and the torch version)."""
    import torch
    p = paths(name, opset)
    stamp = "%s %s" % (RECIPE, torch.__version__)
    with rc.locked("transformers-" + name):
        model = rc.build_model(name, calibrate=False)
        done = all(os.path.exists(p[k]) for k in ("onnx", "state", "x")) and \
            os.path.exists(p["recipe"]) and open(p["recipe"]).read() == stamp
        if done:
            model.load_state_dict(torch.load(p["state"]))
            model.eval()
            return model, 0.0
        t0 = time.time()
        # torchvision zero-initialises ViT's head (logits and every gradient
        # would be 0): give it small seeded random weights like the others.
        g = torch.Generator().manual_seed(rc._seed_for(name) + 3)
        with torch.no_grad():
            for mod in model.modules():
                if isinstance(mod, torch.nn.Linear) and not mod.weight.abs().sum():
                    mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * 0.02)
        rc.randomise_norm_stats(model, rc._seed_for(name) + 1)
        rng = np.random.default_rng(rc._seed_for(name) + 2)
        x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
        tmp = p["onnx"] + ".tmp"
        torch.onnx.export(model, torch.from_numpy(x), tmp, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True)
        os.replace(tmp, p["onnx"])
        torch.save(model.state_dict(), p["state"])
        np.save(p["x"], x)
        with open(p["recipe"], "w") as f:
            f.write(stamp)
        return model, time.time() - t0


def expected_auto_tensor(onnx_path, scope, op, which):
    """The ONNX tensor of the expected automatic layer: the input or output
    of the `op` node in `scope`, or the output of the scope's last node."""
    import onnx
    m = onnx.load(onnx_path, load_external_data=False)
    nodes = [n for n in m.graph.node if n.name.startswith(scope) and n.op_type != "Constant"]
    if op is not None and any(n.op_type == op for n in nodes):
        nodes = [n for n in nodes if n.op_type == op]
    elif op is not None and which == "output":
        op = None  # decomposed (opset < 17): the scope's last node ends the norm
    if not nodes:
        return None
    if which == "input":
        return nodes[0].input[0]
    return nodes[0 if op is not None else -1].output[0]


# ---- the reference -----------------------------------------------------------

class TokenCapture:
    """A, G (already reshaped to [C,h,w]), logits, target of one float64
    forward/backward, with the attributes cams.py's raw_* functions read."""

    def __init__(self, model, module, kind, reshape, x, target=None):
        import torch
        got = {}

        def keep(t):
            got["A"] = t
            t.register_hook(lambda g: got.__setitem__("G", g.detach().clone()))

        if kind == "input":
            h = module.register_forward_pre_hook(lambda m, i: keep(i[0]))
        else:
            h = module.register_forward_hook(lambda m, i, o: keep(o))
        try:
            with torch.enable_grad():
                logits = model(x)
                c = int(torch.argmax(logits[0])) if target is None else int(target)
                model.zero_grad(set_to_none=True)
                logits[0, c].backward()
        finally:
            h.remove()
        self.model = self.run = model
        self.x = x
        self.logits = logits.detach()[0]
        self.target = c
        self.score = float(self.logits[c])
        self.A = reshape(got["A"].detach()[0]).contiguous()
        self.G = reshape(got["G"][0]).contiguous()
        self.size = tuple(x.shape[-2:])


# ---- gaze-cli ----------------------------------------------------------------

def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        lines = (r.stderr.strip() or r.stdout.strip()).splitlines()
        return None, "exit %d: %s" % (r.returncode, lines[-1] if lines else "")
    return r, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gaze_cli")
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    quick = os.environ.get("GAZE_REFERENCE_QUICK") == "1"
    methods = QUICK_METHODS if quick else METHODS
    tap = rc.Tap()
    import torch
    torch.set_num_threads(2)
    import cams
    gaze = args.gaze_cli
    table = []

    with tempfile.TemporaryDirectory() as tmp:
        runs = [(n, o) for n in args.models.split(",") if n
                for o in MODELS[n].get("opsets", [OPSET])]
        if quick:
            # The sanitizer pass: one token model and one channels-last model
            # at one opset put the same C paths under ASan in half the time.
            runs = [(n, o) for n, o in runs if n in ("vit_b_16", "swin_t") and o == OPSET]
        for name, opset in runs:
            spec = MODELS[name]
            # older opsets (LayerNorm decomposed): the gradient methods that
            # read the layer as a whole and element-wise.
            meths = methods if opset == OPSET else [m for m in methods if m in OLD_OPSET_METHODS]
            t0 = time.time()
            try:
                model, export_s = ensure_export(name, tap, opset)
            except Exception as e:  # an export failure is a failure of this test
                tap.ok(False, "%s: export at opset %d failed: %s" % (name, opset, e))
                continue
            p = paths(name, opset)
            if export_s:
                tap.diag("%s: exported in %.1f s" % (name, export_s))
            row = {"model": name, "opset": opset}
            table.append(row)

            # -- logits
            x32 = torch.from_numpy(np.load(p["x"]))
            with torch.no_grad():
                ref = model(x32)[0].double().numpy()
            out = os.path.join(tmp, name + "-logits.npy")
            r, err = run([gaze, "predict", p["onnx"], "--input-tensor", p["x"],
                          "--logits", out])
            row["loads"] = err is None
            if err is not None:
                tap.ok(False, "%s op%d: predict failed: %s" % (name, opset, err))
                continue
            got = np.load(out).astype(np.float64).ravel()
            rel = float((np.abs(got - ref) / np.maximum(1.0, np.abs(ref))).max())
            row["logit_err"] = float(np.abs(got - ref).max())
            tap.ok(got.shape == ref.shape and rel <= 1e-4,
                   "%s op%d logits: max |diff| %.2e, max |diff|/max(1,|logit|) %.2e (<= 1e-4)" %
                   (name, opset, row["logit_err"], rel))

            # -- the automatic layer and its map in `info --json`
            expected = expected_auto_tensor(p["onnx"], *spec["auto_node"])
            r, err = run([gaze, "info", "--json", p["onnx"]])
            info = json.loads(r.stdout) if r is not None else {}
            auto = info.get("default_layer")
            tap.ok(err is None and auto == expected and expected is not None,
                   "%s info: default_layer %s (expected %s)%s" %
                   (name, auto, expected, (": " + err) if err else ""))
            entry = [L for L in info.get("layers", []) if L.get("output") == auto]
            got_map = entry[0].get("map") if entry else None
            tap.ok(got_map == spec["map"], "%s info: the automatic layer's map %s (expected %s)" %
                   (name, got_map, spec["map"]))

            # -- the reference in float64 at the same layer
            module, kind, reshape = spec["layer"](model)
            m64 = model.double()
            try:
                cap = TokenCapture(m64, module, kind, reshape, x32.double())
            finally:
                model.float()
            for method in meths:
                raw = cams.raw_map(method, cap)
                refmap = cams.finish(raw, cap.size).numpy()
                hm = os.path.join(tmp, "%s-%s.npy" % (name, method))
                r, err = run([gaze, "explain", p["onnx"], "--input-tensor", p["x"],
                              "--method", method, "--class", str(cap.target), "--layer", "auto",
                              "--heatmap", hm, "--json", "--quiet"])
                if err is not None:
                    row[method] = None
                    tap.ok(False, "%s %s: %s" % (name, method, err))
                    continue
                js = json.loads(r.stdout)
                h = np.load(hm)
                rr = rc.pearson(refmap, h)
                d = float(np.abs(h.astype(np.float64) - refmap).max())
                row[method] = rr
                flat = float(np.abs(raw).max()) == 0.0
                tap.ok(rr >= R_MIN and js.get("layer") == expected and np.all(np.isfinite(h)),
                       "%s %s at %s (class %d): r=%.6f max|diff|=%.2e%s" %
                       (name, method, js.get("layer"), cap.target, rr, d,
                        " (the reference map is flat)" if flat else ""))

            # -- refusals
            r, err = run([gaze, "explain", p["onnx"], "--input-tensor", p["x"], "--method", "cam",
                          "--layer", "auto", "--heatmap", os.path.join(tmp, "cam.npy"),
                          "--quiet"])
            tap.ok(err is not None and "not applicable" in err,
                   "%s cam refused at the automatic layer: %s" % (name, err))
            if spec["kind"] is not None:
                r, err = run([gaze, "explain", p["onnx"], "--input-tensor", p["x"], "--method",
                              "ablationcam", "--layer", "auto", "--heatmap",
                              os.path.join(tmp, "abl.npy"), "--quiet"])
                tap.ok(err is not None and spec["kind"] in err,
                       "%s ablationcam refused at a %s layer: %s" % (name, spec["kind"], err))
            tap.diag("%s: %.1f s" % (name, time.time() - t0))

    tap.diag("model | opset | loads | max logit err | " + " | ".join(methods))
    for row in table:
        tap.diag("%s | %d | %s | %s | %s" % (
            row["model"], row["opset"], "yes" if row.get("loads") else "no",
            "%.1e" % row["logit_err"] if "logit_err" in row else "-",
            " | ".join("%.6f" % row[m] if row.get(m) is not None else "-" for m in methods)))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
