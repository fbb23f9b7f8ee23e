#!/usr/bin/python3
# test-demo-files.py — the shipped demo (data/demo) is complete, reproducible and classified right
# SPDX-License-Identifier: GPL-3.0-or-later
"""TAP test for data/demo:

- the model, sidecar, labels, TRAINING.md and the six demo PNGs exist and are
  well formed (sidecar keys, 6 labels in scenes.CLASSES order, ONNX < 2 MB with
  only the ops the brief allows, opset 13, input "input", output "logits");
- each demo PNG is exactly what scenes.make_scene(seed, label) produces for the
  seed TRAINING.md documents (the images are reproducible, not hand-made);
- the model, rebuilt in PyTorch from the ONNX weights (independent of Gaze),
  classifies every demo image as its file name says;
- `gaze-cli predict MODEL IMAGE --json --logits OUT.npy` does too, and its
  logits match PyTorch's (max |Δ| ≤ 1e-3 · max(1, max |logit|)).

Usage: test-demo-files.py [--gaze-cli PATH]. Parts whose tool is missing
(gaze-cli or its predict command, PyTorch, onnx) are skipped with a reason.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.environ.get("GAZE_SOURCE_ROOT",
                      os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    "..", "..")))
DEMO = os.path.join(ROOT, "data", "demo")
sys.path.insert(0, os.path.join(ROOT, "tools", "demo"))
import scenes  # noqa: E402

results = []


def check(ok, text, skip=None):
    results.append((bool(ok), text, skip))


def skip(text, why):
    results.append((True, text, why))


def demo_images():
    out = []
    for p in sorted(glob.glob(os.path.join(DEMO, "demo-*.png"))):
        m = re.fullmatch(r"demo-(\d\d)-([a-z]+)\.png", os.path.basename(p))
        if m:
            out.append((p, m.group(2)))
    return out


def documented_seeds():
    seeds = {}
    try:
        with open(os.path.join(DEMO, "TRAINING.md")) as f:
            for line in f:
                m = re.match(r"\|\s*`(demo-\d\d-[a-z]+\.png)`\s*\|\s*(\d+)\s*\|", line)
                if m:
                    seeds[m.group(1)] = int(m.group(2))
    except OSError:
        pass
    return seeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gaze-cli", dest="cli")
    args = ap.parse_args()

    model = os.path.join(DEMO, "shapes.onnx")
    sidecar_path = os.path.join(DEMO, "shapes.json")
    for name in ["shapes.onnx", "shapes.json", "labels.txt", "TRAINING.md"]:
        check(os.path.isfile(os.path.join(DEMO, name)), f"data/demo/{name} exists")
    check(os.path.isfile(model) and os.path.getsize(model) < 2 * 1024 * 1024,
          "shapes.onnx is smaller than 2 MB")

    sidecar = {}
    try:
        with open(sidecar_path) as f:
            sidecar = json.load(f)
    except (OSError, ValueError):
        pass
    check(set(sidecar) == {"mean", "std", "resize", "crop", "stretch", "labels"}
          and len(sidecar["mean"]) == 3 and len(sidecar["std"]) == 3
          and all(s > 0 for s in sidecar["std"]) and sidecar["crop"] == 128
          and isinstance(sidecar["stretch"], bool) and sidecar["labels"] == "labels.txt",
          f"sidecar keys and values: {sidecar}")

    labels = []
    if os.path.isfile(os.path.join(DEMO, "labels.txt")):
        with open(os.path.join(DEMO, "labels.txt")) as f:
            labels = [l.strip() for l in f if l.strip()]
    check(labels == scenes.CLASSES, f"labels.txt lists {scenes.CLASSES}")

    with open(os.path.join(DEMO, "TRAINING.md")) if os.path.isfile(
            os.path.join(DEMO, "TRAINING.md")) else open(os.devnull) as f:
        text = f.read()
    m = re.search(r"held-out accuracy\*\*\s*\|\s*\*\*([0-9.]+) %", text)
    check(m is not None and float(m.group(1)) >= 95.0,
          f"TRAINING.md reports held-out accuracy ≥ 95 % ({m.group(1) if m else 'missing'} %)")

    images = demo_images()
    check(len(images) == 6 and sorted(c for _, c in images) == sorted(scenes.CLASSES),
          f"six demo images, one per class: {[os.path.basename(p) for p, _ in images]}")

    seeds = documented_seeds()
    for p, cls in images:
        name = os.path.basename(p)
        if name not in seeds:
            check(False, f"{name}: seed documented in TRAINING.md")
            continue
        img, label, _ = scenes.make_scene(seeds[name], label=scenes.CLASSES.index(cls))
        same = np.array_equal(np.asarray(img), np.asarray(Image.open(p).convert("RGB")))
        check(same and label == scenes.CLASSES.index(cls),
              f"{name} is make_scene({seeds[name]}, {cls}) pixel for pixel")

    try:
        import onnx
    except ImportError:
        onnx = None
    if onnx is None:
        skip("ONNX graph: opset, names, ops", "onnx not available")
    else:
        g = onnx.load(model)
        ops = {n.op_type for n in g.graph.node}
        opset = max(o.version for o in g.opset_import if o.domain in ("", "ai.onnx"))
        check(opset == 13 and [i.name for i in g.graph.input] == ["input"]
              and [o.name for o in g.graph.output] == ["logits"]
              and ops <= {"Conv", "BatchNormalization", "Relu", "MaxPool", "GlobalAveragePool",
                          "Flatten", "Gemm"},
              f"ONNX: opset {opset}, input/output names, ops {sorted(ops)}")

    torch_logits = {}
    try:
        import torch  # noqa: F401
        have_torch = onnx is not None
    except ImportError:
        have_torch = False
    if not have_torch:
        skip("PyTorch classifies the demo images", "PyTorch or onnx not available")
    else:
        from pointing_game import TorchCams
        ref = TorchCams(model, sidecar)
        for p, cls in images:
            logits = ref.logits(Image.open(p).convert("RGB"))
            torch_logits[p] = logits
            check(scenes.CLASSES[int(np.argmax(logits))] == cls,
                  f"PyTorch: {os.path.basename(p)} → {scenes.CLASSES[int(np.argmax(logits))]}")

    cli = args.cli
    why = None
    if cli is None or not os.access(cli, os.X_OK):
        why = f"gaze-cli not found ({cli})"
    else:
        r = subprocess.run([cli, "predict", "--help"], capture_output=True, text=True, timeout=60)
        if "unknown command" in r.stdout + r.stderr:
            why = "gaze-cli has no 'predict' command yet"
    if why:
        skip("gaze-cli predict classifies the demo images", why)
    else:
        with tempfile.TemporaryDirectory(prefix="gaze-demo-") as tmp:
            for p, cls in images:
                npy = os.path.join(tmp, "logits.npy")
                r = subprocess.run([cli, "predict", model, p, "--json", "--logits", npy],
                                   capture_output=True, text=True, timeout=120)
                name = os.path.basename(p)
                if r.returncode != 0:
                    check(False, f"gaze-cli predict {name}: exit {r.returncode}: {r.stderr.strip()}")
                    continue
                try:
                    top = json.loads(r.stdout)["top"][0]
                    got = top.get("label") or scenes.CLASSES[int(top["index"])]
                except (ValueError, KeyError, IndexError, TypeError) as e:
                    check(False, f"gaze-cli predict {name}: unreadable JSON ({e})")
                    continue
                check(got == cls, f"gaze-cli predict: {name} → {got}")
                if p in torch_logits and os.path.exists(npy):
                    mine = np.load(npy).reshape(-1)
                    ref_l = torch_logits[p]
                    d = float(np.max(np.abs(mine - ref_l)))
                    check(d <= 1e-3 * max(1.0, float(np.max(np.abs(ref_l)))),
                          f"gaze-cli logits of {name} match PyTorch (max |Δ| {d:.2e})")

    print(f"1..{len(results)}")
    for n, (ok, text, why) in enumerate(results, 1):
        if why:
            print(f"ok {n} - {text} # SKIP {why}")
        else:
            print(f"{'ok' if ok else 'not ok'} {n} - {text}")
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
