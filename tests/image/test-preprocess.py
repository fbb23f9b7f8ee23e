#!/usr/bin/python3
# test-preprocess.py — gz_preprocess_pixels' tensor backend against torchvision Resize(antialias=True) + CenterCrop
# on float tensors (the Pillow backend, the default, is test-preprocess-pil.py)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-preprocess.py IMAGE_TOOL   (TAP on stdout)
# Every shared photo (decoded by PIL, so only the preprocessing is compared) and
# synthetic images of odd sizes (down- and upscaling, padding crops, gray)
# must match torchvision within 2/255 per pixel before normalisation.
import json
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    from PIL import Image
    from torchvision import transforms as T
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name}")
    sys.exit(0)

TOL = 2.0  # in 0..255 units
tool = sys.argv[1]
shared = os.environ.get("GAZE_SHARED_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
tmp = tempfile.mkdtemp(prefix="gaze-pp-")
atexit.register(shutil.rmtree, tmp, True)
results = []


def write_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


def ours(pixels, mode, resize, cw, ch, channels, interp="bilinear"):
    src, dst = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    write_npy(src, pixels if pixels.ndim == 3 else pixels[:, :, None])
    out = subprocess.run([tool, "preprocess", src, dst, mode, str(resize), str(cw), str(ch), str(channels),
                          "tensor", interp],
                         check=True, capture_output=True, text=True).stdout
    return np.load(dst), json.loads(out)


def reference(pil, mode, resize, cw, ch, channels, interp="bilinear"):
    """torchvision on a float tensor in 0..255 (no intermediate rounding)."""
    im = T.InterpolationMode.BICUBIC if interp == "bicubic" else T.InterpolationMode.BILINEAR
    if channels == 1 and pil.mode != "L":
        pil = pil.convert("L")
    arr = np.asarray(pil, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if channels == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    x = torch.from_numpy(arr).permute(2, 0, 1).contiguous()
    if mode == "stretch":
        x = T.Resize((ch, cw), im, antialias=True)(x)
    else:
        x = T.CenterCrop((ch, cw))(T.Resize(resize, im, antialias=True)(x))
    return x.unsqueeze(0).numpy()


def expected_geometry(w, h, mode, resize, cw, ch):
    if mode == "stretch":
        rw, rh = cw, ch
    else:
        short, long_ = min(w, h), max(w, h)
        nl = int(resize * long_ / short)
        rw, rh = (resize, nl) if w <= h else (nl, resize)

    def start(size, crop):
        return -((crop - size) // 2) if crop > size else int(round((size - crop) / 2.0))
    sx, sy = w / rw, h / rh
    return sx, sy, start(rw, cw) * sx, start(rh, ch) * sy


def check(name, pil, mode="crop", resize=256, cw=224, ch=224, channels=3, interp="bilinear"):
    pixels = np.asarray(pil, dtype=np.float32)
    got, geom = ours(pixels, mode, resize, cw, ch, channels, interp)
    ref = reference(pil, mode, resize, cw, ch, channels, interp)
    ok = got.shape == ref.shape
    err = float(np.abs(got - ref).max()) if ok else float("inf")
    ok = ok and err <= TOL
    sx, sy, ox, oy = expected_geometry(pil.width, pil.height, mode, resize, cw, ch)
    gerr = max(abs(geom["scale_x"] - sx), abs(geom["scale_y"] - sy),
               abs(geom["offset_x"] - ox), abs(geom["offset_y"] - oy))
    ok = ok and gerr < 1e-9 and geom["input_width"] == cw and geom["input_height"] == ch
    results.append((ok, f"{name} {pil.width}x{pil.height} {mode} {resize}/{cw}x{ch} c{channels} {interp}: "
                        f"max |diff| = {err:.4f}/255, geometry error {gerr:.2g}"))


def synthetic(w, h, mode="RGB", seed=0):
    rng = np.random.default_rng(seed + w * 7 + h)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 255.0 / max(w - 1, 1)), (yy * 255.0 / max(h - 1, 1)),
                     127 + 100 * np.sin(xx / 3.0 + yy / 5.0)], axis=2)
    arr = np.clip(base + rng.normal(0, 30, base.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    return img.convert("L") if mode == "L" else img


photos = []
if os.path.isdir(os.path.join(shared, "images")):
    d = os.path.join(shared, "images")
    photos = sorted(f for f in os.listdir(d) if f.lower().endswith((".jpg", ".bmp", ".png")))
    for f in photos:
        img = Image.open(os.path.join(d, f)).convert("RGB")
        check(f, img)
    if photos:
        img = Image.open(os.path.join(d, photos[0])).convert("RGB")
        check(photos[0], img, mode="stretch", cw=32, ch=32)
        check(photos[0], img, resize=259, cw=227, ch=227)
        check(photos[0], img, channels=1)

check("synthetic", synthetic(37, 53))                      # upscaling
check("synthetic", synthetic(301, 199))
check("synthetic", synthetic(1000, 17), resize=64, cw=61, ch=63)  # extreme aspect, odd crop
check("synthetic", synthetic(64, 64), resize=64, cw=64, ch=64)    # identity
check("synthetic", synthetic(500, 333), mode="stretch", cw=32, ch=32)
check("synthetic", synthetic(41, 29), mode="stretch", cw=100, ch=77)  # stretch up
check("synthetic", synthetic(300, 260), resize=200, cw=224, ch=224)   # crop > resize: padding
check("synthetic", synthetic(257, 300), resize=255, cw=224, ch=230)   # odd margins: round half even
check("synthetic", synthetic(123, 77), channels=1)                    # RGB -> gray (PIL 'L')
check("synthetic", synthetic(99, 131, mode="L"), resize=100, cw=96, ch=96, channels=3)  # gray -> RGB
check("synthetic", synthetic(99, 131, mode="L"), resize=100, cw=96, ch=96, channels=1)
check("synthetic", synthetic(301, 199), interp="bicubic")                        # bicubic down
check("synthetic", synthetic(41, 29), mode="stretch", cw=100, ch=77, interp="bicubic")  # bicubic up

print("TAP version 13")
n = len(results) + (0 if photos else 1)
print(f"1..{n}")
i = 0
if not photos:
    i += 1
    print(f"ok {i} # SKIP no shared photos in {shared}/images")
for ok, msg in results:
    i += 1
    print(f"{'ok' if ok else 'not ok'} {i} - {msg}")
