#!/usr/bin/python3
# test_metrics.py — faithfulness metrics (issue 16) against an independent
# float64 PyTorch implementation of the papers' definitions.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 test_metrics.py PATH/TO/gaze-cli
# For each case, `gaze-cli explain --heatmap` gives the normalised map at input
# resolution (and --save-input the input tensor), so both sides rank the same
# float32 map; then `gaze-cli metrics --json` is compared with:
#  - deletion / insertion (Petsiuk et al. 2018): pixels ranked by the map,
#    highest first, equal values by lower index (a stable sort); point i of n
#    changes the first floor(i*H*W/n) pixels in every channel; deletion to 0
#    (the normalised mean colour), insertion from the input blurred by an
#    11-tap normalised Gaussian (sigma 5) as a zero-padded conv2d; the class
#    softmax probability; AUC by the trapezoid rule over [0,1];
#  - Average Drop / Increase in Confidence (Chattopadhay et al. 2018) on the
#    input times the map.
# Curve points and AUCs within 1e-4; Average Drop within 1e-2 (percent).
# Cases: TinyNet (seeded, 64x64), the seeded resnet18 export (skipped with
# GAZE_REFERENCE_QUICK=1), the real MobileNetV2 in ../shared on two photos
# (one with GAZE_REFERENCE_QUICK=1; 8 steps, a float32 reference: float64
# depthwise convolutions take ~3 s a forward in torch; skipped when absent).
# Conventions: tests/reference/CONVENTIONS.md, "Faithfulness metrics".

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcommon as rc  # noqa: E402
import export_models  # noqa: E402

import numpy as np  # noqa: E402

TOL = 1e-4
STEPS = 20


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def probability(model, x, cls, torch):
    with torch.no_grad():
        out = model(x)
    return torch.softmax(out, dim=1)[:, cls]


def reference(model, x32, m32, cls, steps, torch, F, dtype=np.float64):
    """(deletion curve, insertion curve, y, o) in dtype (the model's)."""
    x = torch.from_numpy(x32.astype(dtype))
    _, c, h, w = x.shape
    order = torch.from_numpy(np.argsort(-m32.astype(np.float64).ravel(), kind="stable"))
    d = torch.arange(11, dtype=x.dtype) - 5
    g = torch.exp(-d * d / (2 * 5.0 ** 2))
    g = g / g.sum()
    k2 = (g[:, None] * g[None, :]).expand(c, 1, 11, 11).contiguous()
    blurred = F.conv2d(x, k2, padding=5, groups=c)
    zero = torch.zeros_like(x)
    curves = []
    for start, finish in ((x, zero), (blurred, x)):
        imgs = []
        for i in range(steps + 1):
            k = i * h * w // steps
            img = start.clone().reshape(c, h * w)
            idx = order[:k]
            img[:, idx] = finish.reshape(c, h * w)[:, idx]
            imgs.append(img.reshape(1, c, h, w))
        curves.append(probability(model, torch.cat(imgs), cls, torch).numpy())
    mt = torch.from_numpy(np.clip(m32.astype(dtype), 0, 1))
    y = float(probability(model, x, cls, torch)[0])
    o = float(probability(model, x * mt, cls, torch)[0])
    return curves[0], curves[1], y, o


def auc(y):
    n = len(y) - 1
    return (y[1:-1].sum() + 0.5 * (y[0] + y[-1])) / n


def check(tap, gaze, label, onnx_path, source_args, model, method, torch, F, tmp, steps=STEPS,
          dtype=np.float64):
    heat = os.path.join(tmp, "heat.npy")
    saved = os.path.join(tmp, "input.npy")
    rc_, out, err = run([gaze, "explain", onnx_path] + source_args +
                        ["--method", method, "--heatmap", heat, "--save-input", saved, "--json",
                         "-q"])
    if rc_ != 0:
        tap.ok(False, "%s %s: explain failed: %s" % (label, method, err.strip()))
        return
    cls = json.loads(out)["class"]
    rc_, out, err = run([gaze, "metrics", onnx_path] + source_args +
                        ["--method", method, "--class", str(cls), "--steps", str(steps),
                         "--json", "-q"])
    if rc_ != 0:
        tap.ok(False, "%s %s: metrics failed: %s" % (label, method, err.strip()))
        return
    js = json.loads(out)
    x32 = np.load(saved)
    m32 = np.load(heat)
    dc, ic, y, o = reference(model, x32, m32, cls, steps, torch, F, dtype)
    gd = np.array(js["deletion_curve"])
    gi = np.array(js["insertion_curve"])
    ed = float(np.abs(gd - dc).max()) if gd.shape == dc.shape else np.inf
    ei = float(np.abs(gi - ic).max()) if gi.shape == ic.shape else np.inf
    ea = max(abs(js["deletion_auc"] - auc(dc)), abs(js["insertion_auc"] - auc(ic)))
    drop = max(0.0, y - o) / y * 100 if y > 0 else 0.0
    inc = 100.0 if o > y else 0.0
    tap.ok(ed <= TOL and ei <= TOL and ea <= TOL,
           "%s %s: deletion/insertion curves max |diff| %.2e / %.2e, AUC %.2e "
           "(AUC %.4f / %.4f)" % (label, method, ed, ei, ea, js["deletion_auc"],
                                   js["insertion_auc"]))
    tap.ok(abs(js["average_drop"] - drop) <= 1e-2 and js["increase_in_confidence"] == inc,
           "%s %s: average drop %.4f %% (reference %.4f), increase %g (reference %g)"
           % (label, method, js["average_drop"], drop, js["increase_in_confidence"], inc))


def main():
    tap = rc.Tap()
    if len(sys.argv) != 2:
        tap.bail("usage: test_metrics.py GAZE-CLI")
    gaze = sys.argv[1]
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        tap.skip("faithfulness metrics", "PyTorch not available (%s)" % e)
        return tap.done()
    torch.set_num_threads(2)
    quick = os.environ.get("GAZE_REFERENCE_QUICK") == "1"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        export_models.ensure_tiny()
        tiny = rc.load_model("tinynet").double()
        for method in ("gradcam", "layercam"):
            check(tap, gaze, "tinynet", rc.model_path("tinynet", 13),
                  ["--input-tensor", rc.input_path("tinynet")], tiny, method, torch, F, tmp)
        # --plot (SVG and PNG), --metric subsets and usage errors.
        tx = ["--input-tensor", rc.input_path("tinynet")]
        tonnx = rc.model_path("tinynet", 13)
        for ext, magic in (("svg", b"<?xml"), ("png", b"\x89PNG")):
            plot = os.path.join(tmp, "curves." + ext)
            rc_, out, err = run([gaze, "metrics", tonnx] + tx + ["--steps", "4", "--plot", plot,
                                                                   "-q"])
            head = open(plot, "rb").read(5) if os.path.exists(plot) else b""
            tap.ok(rc_ == 0 and head.startswith(magic), "tinynet --plot %s: %s" % (ext, head))
        rc_, out, err = run([gaze, "metrics", tonnx] + tx + ["--metric", "drop", "--json", "-q"])
        keys = set(json.loads(out)) if rc_ == 0 else set()
        tap.ok("average_drop" in keys and "deletion_curve" not in keys,
               "--metric drop computes only the confidence metrics")
        for bad in (["--metric", "nonsense"], ["--steps", "0"]):
            rc_, out, err = run([gaze, "metrics", tonnx] + tx + bad)
            tap.ok(rc_ == 2, "usage error %s: exit status %d" % (" ".join(bad), rc_))
        tap.diag("tinynet: %.1f s" % (time.time() - t0))
        if quick:
            tap.skip("resnet18", "GAZE_REFERENCE_QUICK=1")
        else:
            export_models.ensure(["resnet18"], [13], quiet=True)
            r18 = rc.load_model("resnet18").double()
            check(tap, gaze, "resnet18", rc.model_path("resnet18", 13),
                  ["--input-tensor", rc.input_path("resnet18")], r18, "gradcam", torch, F, tmp)
        real_dir = os.path.join(rc.shared_dir(), "models", "mobilenet_v2-imagenet")
        pth = os.path.join(real_dir, "mobilenet_v2.pth")
        onnx_path = os.path.join(real_dir, "mobilenet_v2.onnx")
        photos = [os.path.join(rc.shared_dir(), "images", n) for n in ("dog.jpg", "owl.jpg")]
        photos = [p for p in photos if os.path.exists(p)][: 1 if quick else 2]
        if not (os.path.exists(pth) and os.path.exists(onnx_path) and photos):
            tap.skip("real MobileNetV2", "%s (model or photos) is absent" % real_dir)
        else:
            import torchvision
            real = torchvision.models.mobilenet_v2()
            real.load_state_dict(torch.load(pth, map_location="cpu"))
            real = real.eval()
            for p in photos:
                # float64 depthwise convolutions are slow in torch (~3 s a forward
                # here): the real model's reference runs in float32, 8 steps.
                t0 = time.time()
                check(tap, gaze, "mobilenet_v2 " + os.path.basename(p), onnx_path, [p], real,
                      "gradcam", torch, F, tmp, steps=8, dtype=np.float32)
                tap.diag("%s: %.1f s" % (os.path.basename(p), time.time() - t0))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
