#!/usr/bin/python3
# test_keras.py — Keras/TensorFlow-style exports (issue 19) against PyTorch.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 test_keras.py PATH/TO/gaze-cli
# Small seeded CNNs built like tf2onnx exports: the input is channels-last
# [1,H,W,3] (a permute to NCHW inside the graph) and the graph ends in Softmax.
# Each expects a different preprocessing, given in its sidecar MODEL.json:
#   tf     "channel_order": "rgb", "mean": 127.5, "scale": 1/127.5 (range -1..1;
#          std left out: 1 by default once a scale is given)
#   caffe  "channel_order": "bgr", "mean": [103.939, 116.779, 123.68] (B, G, R),
#          "scale": 1 (0..255 units, no std)
# The image is a real photo (../shared/images) cropped by Pillow to the input
# size, so that the reference preprocessing is exact: uint8 pixels, channel
# order, (x - mean) * scale / std. Checks:
#  - `info --json` reports "input_layout": "nhwc" and an NCHW input;
#  - `predict --json` reports the layout and logits equal to the model's
#    pre-softmax logits within 1e-4 * max(1, |logit|);
#  - `explain` Grad-CAM (two classes) and Score-CAM maps equal
#    tests/reference/cams.py's at the last ReLU,
#    computed on the NCHW view of the model (r >= 0.999);
#  - the same flags on the command line (--channel-order, --scale, --mean)
#    give the same logits without a sidecar;
#  - "layout": "nchw" in the sidecar overrides the detection (the input is
#    then taken as [1,H,W,3] literally, and a photo no longer fits).
# And a fully convolutional classifier exported with symbolic height and width
# (dynamic axes), NCHW with ImageNet preprocessing: planned at the sidecar's
# "input_size" (logits and Grad-CAM on the photo), at --input-size (logits on
# a random tensor of that size), at 224×224 without either.

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcommon as rc  # noqa: E402

import numpy as np  # noqa: E402

R_MIN = 0.999
HEIGHT, WIDTH = 48, 64
CONVENTIONS = {
    "tf": {"channel_order": "rgb", "mean": [127.5, 127.5, 127.5], "std": [1.0, 1.0, 1.0],
           "scale": 1.0 / 127.5},
    "caffe": {"channel_order": "bgr", "mean": [103.939, 116.779, 123.68],
              "std": [1.0, 1.0, 1.0], "scale": 1.0},
}


def pearson(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def build(seed, torch, nn):
    """(keras: NHWC in, softmax out; nchw: the same weights, NCHW in, logits out)."""
    torch.manual_seed(seed)
    body = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 24, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))

    class Keras(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body

        def forward(self, x):  # [N,H,W,C] like a Keras model
            return torch.softmax(self.body(x.permute(0, 3, 1, 2)), dim=1)

    return Keras().eval(), body.eval()


def build_fully_convolutional(torch, nn):
    torch.manual_seed(23)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def predict_logits(exe, args, n):
    rc_, out, err = run([exe, "predict"] + args + ["--json", "--top", str(n), "--threads", "1"])
    js = json.loads(out.splitlines()[0]) if rc_ == 0 else {}
    got = np.full(n, np.nan)
    for row in js.get("top", []):
        got[row["index"]] = row["logit"]
    return rc_, got, err


def rel_diff(got, want):
    return float((np.abs(got - want) / np.maximum(1.0, np.abs(want))).max())


def symbolic_size(exe, tmp, png, pixels, tap, torch, nn, cams):
    """The fully convolutional model with dynamic H and W; returns the worst r."""
    net = build_fully_convolutional(torch, nn)
    path = os.path.join(tmp, "fcn.onnx")
    torch.onnx.export(net, torch.zeros(1, 3, 32, 32), path, opset_version=13,
                      input_names=["x"], output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"},
                                    "logits": {0: "batch"}})
    rc_, out, err = run([exe, "info", "--json", path])
    info = json.loads(out) if rc_ == 0 else {}
    shape = info.get("inputs", [{}])[0].get("shape") if info.get("inputs") else None
    tap.ok(info.get("input_size_symbolic") is True and shape is not None
           and shape[1:] == [3, 224, 224],
           "fcn: symbolic height/width accepted, planned at 224x224 (input %s)%s" %
           (shape, "" if rc_ == 0 else " " + err.strip()))

    # The sidecar's input size, on the photo (ImageNet preprocessing).
    with open(os.path.join(tmp, "fcn.json"), "w") as f:
        json.dump({"input_size": [HEIGHT, WIDTH], "stretch": True}, f)
    mean = np.array([0.485, 0.456, 0.406])
    std = np.array([0.229, 0.224, 0.225])
    x = torch.from_numpy(np.ascontiguousarray(
        ((pixels.astype(np.float64) / 255.0 - mean) / std).transpose(2, 0, 1)[None]))
    with torch.no_grad():
        want = net.double()(x).numpy()[0]
    net.float()
    rc_, got, err = predict_logits(exe, [path, png], 10)
    tap.ok(rc_ == 0 and rel_diff(got, want) <= 1e-4,
           "fcn: sidecar \"input_size\": [%d, %d]: logits rel diff %.2e%s" %
           (HEIGHT, WIDTH, rel_diff(got, want), "" if rc_ == 0 else " " + err.strip()))
    rc_, out, err = run([exe, "info", "--json", path])
    info = json.loads(out) if rc_ == 0 else {}
    shape = info.get("inputs", [{}])[0].get("shape") if info.get("inputs") else None
    tap.ok(shape is not None and shape[2:] == [HEIGHT, WIDTH],
           "fcn: info shows the sidecar's size: %s" % shape)
    worst = 1.0
    layer = [nd["output"] for nd in info.get("nodes", []) if nd["op"] == "Relu"][-1:] or ["auto"]
    target = int(np.argmax(want))
    cap = cams.Capture(net.double(), "3", x, target)
    ref = cams.finish(cams.raw_map("gradcam", cap), cap.size).numpy()
    net.float()
    hm = os.path.join(tmp, "fcn-h.npy")
    rc_, out, err = run([exe, "explain", path, png, "--method", "gradcam", "--class", str(target),
                         "--layer", layer[0], "--heatmap", hm, "--quiet", "--threads", "1"])
    hmap = np.load(hm) if rc_ == 0 else np.zeros(1)
    r = pearson(ref, hmap) if hmap.shape == ref.shape else 0.0
    worst = min(worst, r)
    tap.ok(r >= R_MIN, "fcn gradcam class %d at %dx%d: r=%.6f%s" %
           (target, HEIGHT, WIDTH, r, "" if rc_ == 0 else " " + err.strip()))

    # --input-size beats the sidecar; a tensor of that size.
    g = torch.Generator().manual_seed(5)
    t = torch.randn(1, 3, 40, 56, generator=g)
    t_path = os.path.join(tmp, "t.npy")
    np.save(t_path, t.numpy())
    with torch.no_grad():
        want = net(t).numpy()[0].astype(np.float64)
    rc_, got, err = predict_logits(exe, [path, "--input-tensor", t_path, "--input-size", "40x56"],
                                   10)
    tap.ok(rc_ == 0 and rel_diff(got, want) <= 1e-4,
           "fcn: --input-size 40x56 on a tensor: logits rel diff %.2e%s" %
           (rel_diff(got, want), "" if rc_ == 0 else " " + err.strip()))
    # A size for a fixed-size model must be its own.
    rc_, out, err = run([exe, "predict", os.path.join(tmp, "tf.onnx"), png, "--input-size",
                         "40x56"])
    tap.ok(rc_ != 0 and "input size" in err,
           "a different --input-size for a fixed-size model is refused (exit %d): %s" %
           (rc_, err.strip()))
    return worst


def reference_input(pixels, conv):
    """pixels: uint8 [H,W,3] RGB → the model's NCHW float64 input."""
    x = pixels.astype(np.float64)
    if conv["channel_order"] == "bgr":
        x = x[:, :, ::-1]
    x = (x - np.array(conv["mean"])) * conv["scale"] / np.array(conv["std"])
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def main():
    tap = rc.Tap()
    if len(sys.argv) < 2:
        tap.bail("usage: test_keras.py GAZE-CLI")
    exe = sys.argv[1]
    try:
        import torch
        from torch import nn
        from PIL import Image
        import cams
    except ImportError as e:
        tap.skip("keras-style exports", "PyTorch not available (%s)" % e)
        return tap.done()
    photo = os.path.join(rc.shared_dir(), "images", "dog.jpg")
    if not os.path.exists(photo):
        tap.skip("keras-style exports", "../shared is absent (%s)" % photo)
        return tap.done()
    torch.set_num_threads(1)
    worst_l, worst_r = 0.0, 1.0
    with tempfile.TemporaryDirectory(prefix="gaze-keras-") as tmp:
        img = Image.open(photo).convert("RGB")
        left, top = (img.width - 4 * WIDTH) // 2, (img.height - 4 * HEIGHT) // 2
        img = img.crop((left, top, left + 4 * WIDTH, top + 4 * HEIGHT)).resize(
            (WIDTH, HEIGHT), Image.BILINEAR)
        png = os.path.join(tmp, "photo.png")
        img.save(png)
        pixels = np.asarray(img, dtype=np.uint8)

        for seed, (name, conv) in enumerate(sorted(CONVENTIONS.items())):
            keras, body = build(19 + seed, torch, nn)
            onnx_path = os.path.join(tmp, "%s.onnx" % name)
            x_nhwc = torch.zeros(1, HEIGHT, WIDTH, 3)
            torch.onnx.export(keras, x_nhwc, onnx_path, opset_version=13,
                              input_names=["input_1"], output_names=["predictions"],
                              do_constant_folding=True)
            side = os.path.join(tmp, "%s.json" % name)
            with open(side, "w") as f:
                # tf leaves std out: with a scale it defaults to 1, not ImageNet's.
                keys = {k: v for k, v in conv.items() if not (name == "tf" and k == "std")}
                json.dump(dict(keys, stretch=True, crop=[HEIGHT, WIDTH]), f)

            x = torch.from_numpy(reference_input(pixels, conv))
            with torch.no_grad():
                logits = body.double()(x).numpy()[0]
            body.float()

            rc_, out, err = run([exe, "info", "--json", onnx_path])
            info = json.loads(out) if rc_ == 0 else {}
            dims = info.get("inputs", [{}])[0].get("shape") if info.get("inputs") else None
            tap.ok(info.get("input_layout") == "nhwc",
                   "%s: info input_layout %r, input %s%s" %
                   (name, info.get("input_layout"), dims, "" if rc_ == 0 else " " + err.strip()))

            rc_, out, err = run([exe, "predict", onnx_path, png, "--json", "--top", "10",
                                 "--threads", "1"])
            js = json.loads(out.splitlines()[0]) if rc_ == 0 else {}
            got = np.full(10, np.nan)
            for row in js.get("top", []):
                got[row["index"]] = row["logit"]
            dl = float((np.abs(got - logits) / np.maximum(1.0, np.abs(logits))).max())
            worst_l = max(worst_l, dl)
            tap.ok(rc_ == 0 and dl <= 1e-4 and js.get("input_layout") == "nhwc"
                   and js.get("output_kind") == "softmax",
                   "%s: predict logits rel diff %.2e (tol 1e-4), input_layout %r, "
                   "output_kind %r%s" % (name, dl, js.get("input_layout"),
                                         js.get("output_kind"),
                                         "" if rc_ == 0 else " " + err.strip()))

            relus = [nd["output"] for nd in info.get("nodes", []) if nd["op"] == "Relu"]
            layer = relus[-1] if relus else "auto"
            top, bottom = int(np.argmax(logits)), int(np.argmin(logits))
            # Score-CAM masks the input: through the NHWC transpose too.
            for method, target in [("gradcam", top), ("gradcam", bottom), ("scorecam", top)]:
                cap = cams.Capture(body.double(), "5", x, target)
                ref = cams.finish(cams.raw_map(method, cap), cap.size).numpy()
                body.float()
                hm = os.path.join(tmp, "h.npy")
                rc_, out, err = run([exe, "explain", onnx_path, png, "--method", method,
                                     "--class", str(target), "--layer", layer, "--heatmap", hm,
                                     "--json", "--quiet", "--threads", "1"])
                if rc_ != 0:
                    tap.ok(False, "%s %s class %d: %s" % (name, method, target, err.strip()))
                    continue
                hmap = np.load(hm)
                r = pearson(ref, hmap) if hmap.shape == ref.shape else 0.0
                worst_r = min(worst_r, r)
                tap.ok(r >= R_MIN, "%s %s class %d at %s: r=%.6f, map %s (reference %s)" %
                       (name, method, target, layer, r, hmap.shape, ref.shape))

            # The same preprocessing from flags, without the sidecar.
            os.rename(side, side + ".off")
            flags = ["--channel-order", conv["channel_order"],
                     "--mean", ",".join("%r" % m for m in conv["mean"]),
                     "--stretch", "--scale", "1/127.5" if name == "tf" else "1"]
            flags += ["--std", "1,1,1"] if name == "caffe" else []
            rc_, out, err = run([exe, "predict", onnx_path, png, "--json", "--top", "10",
                                 "--threads", "1"] + flags)
            os.rename(side + ".off", side)
            js = json.loads(out.splitlines()[0]) if rc_ == 0 else {}
            got = np.full(10, np.nan)
            for row in js.get("top", []):
                got[row["index"]] = row["logit"]
            dl = float((np.abs(got - logits) / np.maximum(1.0, np.abs(logits))).max())
            tap.ok(rc_ == 0 and dl <= 1e-4,
                   "%s: the same from flags (%s): logits rel diff %.2e%s" %
                   (name, " ".join(flags), dl, "" if rc_ == 0 else " " + err.strip()))

        worst_r = min(worst_r, symbolic_size(exe, tmp, png, pixels, tap, torch, nn, cams))

        # "layout": "nchw" overrides the detection: the file's [1,48,64,3]
        # input is then taken literally (3 columns), which no photo fits.
        onnx_path = os.path.join(tmp, "tf.onnx")
        with open(os.path.join(tmp, "tf.json"), "w") as f:
            json.dump({"layout": "nchw"}, f)
        rc_, out, err = run([exe, "info", "--json", onnx_path])
        info = json.loads(out) if rc_ == 0 else {}
        shape = info.get("inputs", [{}])[0].get("shape") if info.get("inputs") else None
        tap.ok(info.get("input_layout") == "nchw" and shape is not None and shape[1:] ==
               [HEIGHT, WIDTH, 3],
               "sidecar \"layout\": \"nchw\" overrides the detection: input %s" % shape)
        with open(os.path.join(tmp, "tf.json"), "w") as f:
            json.dump({"layout": "sideways"}, f)
        rc_, out, err = run([exe, "predict", onnx_path, png])
        tap.ok(rc_ != 0 and "layout" in err,
               "a bad sidecar \"layout\" is refused (exit %d): %s" % (rc_, err.strip()))
    tap.diag("worst logit error %.2e, worst map r %.6f" % (worst_l, worst_r))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
