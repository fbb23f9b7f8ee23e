#!/usr/bin/python3
# pointing_game.py — does the heatmap's maximum land on the object? (pointing game)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pointing game on held-out procedural scenes, for Gaze's demo model.

Definition (Zhang et al., "Top-down neural attention by excitation backprop",
ECCV 2016; used by the Grad-CAM paper; TorchRay's implementation): for each
image, explain the ground-truth class, bring the map to the ORIGINAL image
resolution, take the pixel of its maximum, and count a hit when that pixel lies
within TOLERANCE = 15 px (Euclidean, the TorchRay default) of the object, here
the object's bounding box: i.e. the box dilated by a disc of radius 15 px.
The score is hits / images. A centre-point baseline (the image centre taken as
the "maximum") is scored the same way.

Maps come from:
  --gaze-cli PATH   `gaze-cli explain MODEL IMAGE --method M --class C --heatmap OUT.npy`
                    (the normalised map at model input resolution, float32 [H,W])
  --torch           the same model rebuilt in PyTorch from the ONNX file's weights,
                    with Grad-CAM and CAM computed through hooks (the formulas of
                    tests/reference/CONVENTIONS.md: raw map at the layer, bilinear
                    upsampling to the input, ReLU, min-max normalisation).
Either way the input-resolution map is carried back onto the image with the
preprocessing geometry from the model's sidecar (stretch: a plain scale per
axis; resize+crop: the crop undone, unseen pixels ignored), bilinearly with
half-pixel centres.

Scenes use seeds POINTING_SEED_BASE + i from scenes.py, disjoint from the
training and held-out sets. With --tap the script prints TAP and asserts the
targets: each method ≥ 90 % hits; the centre baseline ≤ 50 % and at least 30
points below each method.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenes  # noqa: E402

TOLERANCE = 15
METHODS = ["gradcam", "cam"]
TARGET = 0.90
BASELINE_MAX = 0.50
MARGIN = 0.30
DEFAULT_MODEL = os.path.normpath(os.path.join(HERE, "..", "..", "data", "demo", "shapes.onnx"))


# ---- geometry -----------------------------------------------------------------

def load_sidecar(model):
    path = os.path.splitext(model)[0] + ".json"
    with open(path) as f:
        return json.load(f)


def geometry(w, h, sc):
    """(scale_x, scale_y, offset_x, offset_y, input_w, input_h): image_x =
    input_x * scale_x + offset_x in continuous coordinates, as Gaze defines it."""
    crop = int(sc["crop"])
    if sc.get("stretch", False):
        return w / crop, h / crop, 0.0, 0.0, crop, crop
    resize = int(sc["resize"])
    shorter, longer = min(w, h), max(w, h)
    new_long = max(1, int(resize * longer / shorter))
    rw, rh = (resize, new_long) if w <= h else (new_long, resize)

    def start(size):
        return -((crop - size) // 2) if crop > size else round((size - crop) / 2)

    sx, sy = w / rw, h / rh
    return sx, sy, start(rw) * sx, start(rh) * sy, crop, crop


def to_image(map_in, geom, w, h):
    """Bilinear resampling (half-pixel centres, edge-clamped like torch) of an
    input-resolution map onto the image's pixel centres; NaN where unseen."""
    sx, sy, ox, oy, iw, ih = geom

    def axis(n, scale, off, size):
        u = ((np.arange(n) + 0.5) - off) / scale          # input coordinate, continuous
        seen = (u >= 0) & (u < size)
        s = np.clip(u - 0.5, 0, size - 1)
        i0 = np.floor(s).astype(np.int64)
        i1 = np.minimum(i0 + 1, size - 1)
        return i0, i1, (s - i0).astype(np.float32), seen

    x0, x1, fx, seen_x = axis(w, sx, ox, iw)
    y0, y1, fy, seen_y = axis(h, sy, oy, ih)
    m = np.asarray(map_in, np.float32)
    top = m[y0][:, x0] * (1 - fx) + m[y0][:, x1] * fx
    bot = m[y1][:, x0] * (1 - fx) + m[y1][:, x1] * fx
    out = top * (1 - fy[:, None]) + bot * fy[:, None]
    out[~seen_y, :] = np.nan
    out[:, ~seen_x] = np.nan
    return out


def max_point(map_img):
    if not np.isfinite(map_img).any():
        return None
    idx = int(np.nanargmax(map_img))
    return idx % map_img.shape[1], idx // map_img.shape[1]


def is_hit(point, box, tol=TOLERANCE):
    """TorchRay's rule: the point is within tol px of some pixel of the box."""
    if point is None:
        return False
    px, py = point
    x0, y0, x1, y1 = box
    cx = min(max(px, x0), x1 - 1)
    cy = min(max(py, y0), y1 - 1)
    return (px - cx) ** 2 + (py - cy) ** 2 <= tol * tol


def centre_point(w, h):
    return (w - 1) / 2.0, (h - 1) / 2.0


# ---- maps from PyTorch ----------------------------------------------------------

class TorchCams:
    """The ONNX model rebuilt as a PyTorch chain (Conv, BatchNormalization, Relu,
    MaxPool, GlobalAveragePool, Flatten, Gemm) and Grad-CAM/CAM via hooks on
    the tensor that feeds the global average pool."""

    def __init__(self, model_path, sidecar):
        import onnx
        import torch
        import torch.nn as nn
        from onnx import numpy_helper
        self.torch = torch
        torch.set_num_threads(1)
        g = onnx.load(model_path).graph
        inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
        mods, cam_index, self.fc = [], None, None
        for node in g.node:
            a = {at.name: onnx.helper.get_attribute_value(at) for at in node.attribute}
            op = node.op_type
            if op == "Conv":
                w = inits[node.input[1]]
                pads = list(a.get("pads", [0, 0, 0, 0]))
                assert pads[:2] == pads[2:], "asymmetric padding"
                m = nn.Conv2d(w.shape[1] * a.get("group", 1), w.shape[0], tuple(w.shape[2:]),
                              stride=tuple(a.get("strides", [1, 1])), padding=tuple(pads[:2]),
                              dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1),
                              bias=len(node.input) > 2)
                m.weight.data.copy_(w)
                if len(node.input) > 2:
                    m.bias.data.copy_(inits[node.input[2]])
            elif op == "BatchNormalization":
                sc, b, mu, var = (inits[n] for n in node.input[1:5])
                m = nn.BatchNorm2d(sc.numel(), eps=a.get("epsilon", 1e-5))
                m.weight.data.copy_(sc)
                m.bias.data.copy_(b)
                m.running_mean.copy_(mu)
                m.running_var.copy_(var)
            elif op == "Relu":
                m = nn.ReLU()
            elif op == "MaxPool":
                pads = list(a.get("pads", [0, 0, 0, 0]))
                assert pads[:2] == pads[2:], "asymmetric padding"
                m = nn.MaxPool2d(tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1])),
                                 tuple(pads[:2]), ceil_mode=bool(a.get("ceil_mode", 0)))
            elif op == "GlobalAveragePool":
                cam_index = len(mods) - 1
                m = nn.AdaptiveAvgPool2d(1)
            elif op == "Flatten":
                m = nn.Flatten(a.get("axis", 1))
            elif op == "Gemm":
                w = inits[node.input[1]]
                if not a.get("transB", 0):
                    w = w.t()
                m = nn.Linear(w.shape[1], w.shape[0])
                m.weight.data.copy_(w * a.get("alpha", 1.0))
                m.bias.data.copy_(inits[node.input[2]] * a.get("beta", 1.0))
                self.fc = m
            else:
                raise SystemExit(f"pointing_game: unsupported ONNX op {op}")
            mods.append(m)
        if cam_index is None or self.fc is None:
            raise SystemExit("pointing_game: the model has no GlobalAveragePool + Gemm head")
        self.net = nn.Sequential(*mods).eval()
        self.mean = torch.tensor(sidecar["mean"], dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(sidecar["std"], dtype=torch.float32).view(1, 3, 1, 1)
        self.sidecar = sidecar
        self._saved = {}
        layer = self.net[cam_index]
        layer.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output):
        self._saved["A"] = output
        if output.requires_grad:
            output.register_hook(lambda g: self._saved.__setitem__("G", g))

    def preprocess(self, img):
        """Gaze's default preprocessing: Pillow's bilinear resize (what
        transforms.Resize does on PIL images, and how train.py made its
        inputs), optional centre crop, mean/std."""
        torch = self.torch
        F = torch.nn.functional
        w, h = img.size
        sx, sy, ox, oy, iw, ih = geometry(w, h, self.sidecar)
        rw, rh = round(w / sx), round(h / sy)
        small = np.asarray(img.convert("RGB").resize((rw, rh), Image.BILINEAR), np.float32)
        x = torch.from_numpy(small.copy()).permute(2, 0, 1)[None] / 255
        left, top = round(ox / sx), round(oy / sy)
        if left < 0 or top < 0:
            x = F.pad(x, (max(0, -left), max(0, -left), max(0, -top), max(0, -top)))
            left, top = max(0, left), max(0, top)
        x = x[:, :, top:top + ih, left:left + iw]
        return (x - self.mean) / self.std

    def logits(self, img):
        with self.torch.no_grad():
            return self.net(self.preprocess(img))[0].numpy()

    def explain(self, img, method, cls):
        torch = self.torch
        F = torch.nn.functional
        x = self.preprocess(img).requires_grad_(True)
        self._saved.clear()
        y = self.net(x)
        A = self._saved["A"][0]
        if method == "gradcam":
            y[0, cls].backward()
            G = self._saved["G"][0]
            alpha = G.mean(dim=(1, 2))
            raw = torch.einsum("k,khw->hw", alpha, A)
        elif method == "cam":
            raw = torch.einsum("k,khw->hw", self.fc.weight[cls], A)
        else:
            raise ValueError(method)
        raw = raw.detach()
        up = F.interpolate(raw[None, None], size=tuple(x.shape[2:]), mode="bilinear",
                           align_corners=False)[0, 0]
        u = up.clamp(min=0)
        return ((u - u.min()) / (u.max() - u.min() + 1e-8)).numpy()


# ---- maps from gaze-cli ---------------------------------------------------------

def cli_has(cli, command):
    if cli is None or not os.access(cli, os.X_OK):
        return False, f"gaze-cli not found at {cli}"
    r = subprocess.run([cli, command, "--help"], capture_output=True, text=True, timeout=60)
    if "unknown command" in (r.stderr + r.stdout) or (r.returncode != 0 and command not in (r.stdout + r.stderr)):
        return False, f"gaze-cli has no '{command}' command yet"
    return True, ""


def cli_explain(cli, model, image_path, method, cls, out_npy):
    cmd = [cli, "explain", model, image_path, "--method", method, "--class", str(cls),
           "--heatmap", out_npy, "--quiet", "--threads", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    m = np.load(out_npy)
    if m.ndim != 2:
        raise RuntimeError(f"--heatmap gave shape {m.shape}, expected [H,W]")
    return m


# ---- the game -------------------------------------------------------------------

def play(backends, model, count, seed_base, tol, log):
    sidecar = load_sidecar(model)
    results = {}      # (backend, method) -> hits list
    diffs = {}        # method -> max |gaze-cli map - PyTorch map| over the scenes
    centre = []
    torch_cams = TorchCams(model, sidecar) if "torch" in backends else None
    with tempfile.TemporaryDirectory(prefix="gaze-pointing-") as tmp:
        for i in range(count):
            img, label, box = scenes.make_scene(seed_base + i)
            w, h = img.size
            geom = geometry(w, h, sidecar)
            centre.append(is_hit(centre_point(w, h), box, tol))
            path = None
            for method in METHODS:
                maps = {}
                for backend, cli in backends.items():
                    if backend == "torch":
                        m = torch_cams.explain(img, method, label)
                    else:
                        if path is None:
                            path = os.path.join(tmp, f"scene-{i}.png")
                            img.save(path)
                        m = cli_explain(cli, model, path, method, label,
                                        os.path.join(tmp, "map.npy"))
                    if m.shape != (geom[5], geom[4]):
                        raise RuntimeError(f"map shape {m.shape}, expected {(geom[5], geom[4])}")
                    hit = is_hit(max_point(to_image(m, geom, w, h)), box, tol)
                    results.setdefault((backend, method), []).append(hit)
                    maps[backend] = m
                if len(maps) == 2:
                    d = float(np.max(np.abs(maps["gaze-cli"] - maps["torch"])))
                    diffs[method] = max(diffs.get(method, 0.0), d)
            if path is not None:
                os.unlink(path)
            if (i + 1) % 50 == 0:
                log(f"{i + 1}/{count} scenes")
    return results, centre, diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--gaze-cli", dest="cli", help="path to gaze-cli: use its explain maps")
    ap.add_argument("--torch", action="store_true", help="use the PyTorch reference maps")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed-base", type=int, default=scenes.POINTING_SEED_BASE)
    ap.add_argument("--tolerance", type=int, default=TOLERANCE)
    ap.add_argument("--tap", action="store_true", help="print TAP and assert the targets")
    ap.add_argument("--json", dest="json_out", help="also write the figures here")
    args = ap.parse_args()

    def log(msg):
        print(f"# {msg}" if args.tap else msg, flush=True)

    if not os.path.exists(args.model):
        print(f"1..0 # SKIP demo model missing: {args.model}")
        return 0
    backends = {}
    if args.cli:
        ok, why = cli_has(args.cli, "explain")
        if ok:
            backends["gaze-cli"] = args.cli
        elif not args.torch:
            print(f"1..0 # SKIP {why}")
            return 0
        else:
            log(f"{why}: PyTorch maps only")
    if args.torch or not backends:
        backends["torch"] = None

    s = args.seed_base
    train_end = scenes.TRAIN_SEED_BASE + 10_000_000
    if scenes.TRAIN_SEED_BASE <= s < train_end or scenes.TEST_SEED_BASE <= s < scenes.TEST_SEED_BASE + 10_000_000:
        log("warning: these seeds overlap the training or held-out range")
    log(f"pointing game: {args.count} scenes, seeds {s}…{s + args.count - 1}, "
        f"tolerance {args.tolerance} px at original resolution, model {args.model}")

    results, centre, diffs = play(backends, args.model, args.count, s, args.tolerance, log)
    base = float(np.mean(centre))
    figures = {"count": args.count, "seed_base": s, "tolerance_px": args.tolerance,
               "centre_baseline": base}
    checks = []
    for (backend, method), hits in results.items():
        rate = float(np.mean(hits))
        figures[f"{backend}/{method}"] = rate
        checks.append((rate >= TARGET,
                       f"{backend} {method}: {sum(hits)}/{len(hits)} = {rate * 100:.1f} % hits "
                       f"(target ≥ {TARGET * 100:.0f} %)"))
    for method, d in diffs.items():
        figures[f"max_abs_diff/{method}"] = d
        checks.append((d <= 1e-3, f"{method}: gaze-cli and PyTorch maps agree (max |Δ| {d:.2e} ≤ 1e-3)"))
    worst = min(float(np.mean(h)) for h in results.values())
    checks.append((args.count >= 200, f"{args.count} scenes (≥ 200 required for the figures)"))
    checks.append((base <= BASELINE_MAX and worst - base >= MARGIN,
                   f"centre baseline: {sum(centre)}/{len(centre)} = {base * 100:.1f} % hits "
                   f"(target ≤ {BASELINE_MAX * 100:.0f} % and ≥ {MARGIN * 100:.0f} points "
                   f"below every method)"))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(figures, f, indent=1)
            f.write("\n")
    if args.tap:
        print(f"1..{len(checks)}")
        for n, (ok, text) in enumerate(checks, 1):
            print(f"{'ok' if ok else 'not ok'} {n} - {text}")
        return 0 if all(ok for ok, _ in checks) else 1
    for ok, text in checks:
        print(("PASS " if ok else "FAIL ") + text)
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
