#!/usr/bin/python3
# test-preprocess-pil.py — gz_preprocess_pixels' default (Pillow) backend against Debian's Pillow
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-preprocess-pil.py IMAGE_TOOL   (TAP on stdout)
# The reference is torchvision's transforms on a PIL image (Resize, which calls
# Image.resize, then CenterCrop), i.e. what most training code does. Every
# shared photo and 20 synthetic sizes (down- and upscaling, odd sizes, stretch,
# gray), bilinear and bicubic, must give ≥ 99.9 % identical 8-bit pixels and
# no pixel off by more than 1/255.
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import PIL
    from PIL import Image
    from torchvision import transforms as T
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name}")
    sys.exit(0)

MIN_SAME = 0.999
MAX_DIFF = 1.0  # in 0..255 units
tool = sys.argv[1]
shared = os.environ.get("GAZE_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
tmp = tempfile.mkdtemp(prefix="gaze-pil-")
atexit.register(shutil.rmtree, tmp, True)
results = []
totals = {"pixels": 0, "same": 0, "max": 0.0}
FILTERS = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC}


def ours(pil, mode, resize, cw, ch, channels, interp):
    src, dst = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    arr = np.asarray(pil, dtype=np.float32)
    np.save(src, arr if arr.ndim == 3 else arr[:, :, None])
    subprocess.run([tool, "preprocess", src, dst, mode, str(resize), str(cw), str(ch), str(channels), "pil", interp],
                   check=True, capture_output=True, text=True)
    return np.load(dst)[0]


def reference(pil, mode, resize, cw, ch, channels, interp):
    """transforms on the PIL image, as 8-bit [C,H,W]."""
    if channels == 1 and pil.mode != "L":
        pil = pil.convert("L")
    if channels == 3 and pil.mode != "RGB":
        pil = pil.convert("RGB")
    if mode == "stretch":
        out = T.Resize((ch, cw), FILTERS[interp])(pil)
    else:
        out = T.CenterCrop((ch, cw))(T.Resize(resize, FILTERS[interp])(pil))
    arr = np.asarray(out, dtype=np.float32)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def check(name, pil, mode="crop", resize=256, cw=224, ch=224, channels=3, interp="bilinear"):
    got = ours(pil, mode, resize, cw, ch, channels, interp)
    ref = reference(pil, mode, resize, cw, ch, channels, interp)
    if got.shape != ref.shape:
        results.append((False, f"{name}: shape {got.shape} vs Pillow {ref.shape}"))
        return
    d = np.abs(got - ref)
    same = float((d == 0).mean())
    worst = float(d.max())
    totals["pixels"] += d.size
    totals["same"] += int((d == 0).sum())
    totals["max"] = max(totals["max"], worst)
    ok = same >= MIN_SAME and worst <= MAX_DIFF
    results.append((ok, f"{name} {pil.width}x{pil.height} {mode} {resize}/{cw}x{ch} c{channels} {interp}: "
                        f"{100 * same:.4f} % identical, max |diff| {worst:g}/255"))


def synthetic(w, h, mode="RGB"):
    rng = np.random.default_rng(w * 7 + h)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255.0 / max(w - 1, 1)), (yy * 255.0 / max(h - 1, 1)),
                     127 + 100 * np.sin(xx / 3.0 + yy / 5.0)], axis=2)
    # Noise and hard edges: bicubic overshoot must be clipped the same way.
    arr = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
    arr[::7, :, :] = 255
    arr[:, ::5, 1] = 0
    img = Image.fromarray(arr, "RGB")
    return img.convert("L") if mode == "L" else img


photos = []
if os.path.isdir(os.path.join(shared, "images")):
    d = os.path.join(shared, "images")
    photos = sorted(f for f in os.listdir(d) if f.lower().endswith((".jpg", ".jpeg", ".bmp", ".png")))
    for f in photos:
        img = Image.open(os.path.join(d, f)).convert("RGB")
        check(f, img)
        check(f, img, interp="bicubic")
    if photos:
        img = Image.open(os.path.join(d, photos[0])).convert("RGB")
        check(photos[0], img, channels=1)
        check(photos[0], img, mode="stretch", cw=32, ch=32, interp="bicubic")

# 20 synthetic cases × 2 filters: (w, h, keyword arguments).
SYNTH = [
    (37, 53, {}),                                    # upscale
    (301, 199, {}),                                  # downscale, odd
    (1000, 17, {"resize": 64, "cw": 61, "ch": 63}),  # extreme aspect, odd crop
    (64, 64, {"resize": 64, "cw": 64, "ch": 64}),    # identity
    (500, 333, {"mode": "stretch", "cw": 32, "ch": 32}),
    (41, 29, {"mode": "stretch", "cw": 100, "ch": 77}),
    (300, 260, {"resize": 200}),                     # crop > resize: padding
    (257, 300, {"resize": 255, "cw": 224, "ch": 230}),
    (123, 77, {"channels": 1}),                      # RGB -> gray
    (99, 131, {"resize": 100, "cw": 96, "ch": 96, "gray": True}),
    (1024, 768, {}),                                 # 4x shrink
    (3, 5, {"resize": 224}),                         # tiny source
    (224, 300, {"resize": 224}),                     # width unchanged: one pass only
    (640, 256, {"resize": 256}),                     # height unchanged
    (255, 257, {}),                                  # almost 1:1
    (1600, 1200, {"resize": 256}),                   # 6x shrink, photo-like size
    (223, 223, {"mode": "stretch", "cw": 224, "ch": 224}),  # slight upscale
    (225, 1000, {"mode": "stretch", "cw": 224, "ch": 224}),  # mixed
    (97, 2001, {"resize": 96, "cw": 96, "ch": 96}),
    (517, 389, {"resize": 299, "cw": 299, "ch": 299}),
]
for interp in ("bilinear", "bicubic"):
    for w, h, kw in SYNTH:
        kw = dict(kw)
        gray = kw.pop("gray", False)
        check("synthetic", synthetic(w, h, "L" if gray else "RGB"), interp=interp, **kw)

print("TAP version 13")
n = len(results) + 1 + (0 if photos else 1)
print(f"1..{n}")
i = 0
if not photos:
    i += 1
    print(f"ok {i} # SKIP no shared photos in {shared}/images")
for ok, msg in results:
    i += 1
    print(f"{'ok' if ok else 'not ok'} {i} - {msg}")
i += 1
share = totals["same"] / max(totals["pixels"], 1)
print(f"ok {i} - overall vs Pillow {PIL.__version__}: {totals['pixels']} values, "
      f"{100 * share:.5f} % identical, max |diff| {totals['max']:g}/255")
