#!/usr/bin/python3
# phantom.py — seeded synthetic chest-radiograph-like images with known findings
# SPDX-License-Identifier: GPL-3.0-or-later
"""Procedural radiograph phantoms for Gaze's medical demo.

Each phantom is a SIZE×SIZE image of 12-bit stored values (0…4095, MONOCHROME2:
higher = more attenuation = brighter), made with vectorised NumPy only:

- a collimated field of view (rounded rectangle; outside it almost no signal),
- a body outline (a superellipse of soft tissue with smooth low-frequency
  variation), two darker lung fields, a bright vertical spine band, two
  clavicles and curved rib bands over the lungs (bone-like),
- quantum-like noise (Gaussian, proportional to √signal) and fine texture.

Four kinds of synthetic finding, each present independently (probability
P_FINDING each, so none, one or several per image), at most one of each kind:

    0 nodule          a round soft-tissue density (radius 6…11 px) in a lung
    1 fracture        a thin dark linear lucency (length 26…44 px) across a rib
    2 opacity         a diffuse patchy opacity (smoothed blobs, 40…70 px) in a lung
    3 calcification   a small very bright dot (radius 2…3 px) in a lung

    from phantom import make_phantom, FINDINGS
    pixels, labels, boxes = make_phantom(seed)
    # pixels: uint16 [SIZE, SIZE] (12-bit), labels: int8 [4] (0/1),
    # boxes: {finding index: (x0, y0, x1, y1)} in pixel edges

A phantom depends only on its integer seed (NumPy PCG64). Seed ranges never
overlap: training TRAIN_SEED_BASE…, held-out evaluation in train.py
VALID_SEED_BASE…, the CI test TEST_SEED_BASE…, the shipped DICOM files
DEMO_SEED_BASE….

    /usr/bin/python3 tools/demo-medical/phantom.py --sheet /tmp/sheet.png --count 16
writes a contact sheet (windowed with WINDOW) to look at.
"""

import argparse

import numpy as np

FINDINGS = ["nodule", "fracture", "opacity", "calcification"]
SIZE = 256
P_FINDING = 0.4
BITS_STORED = 12
# The window a radiologist would set for these phantoms (centre, width), in
# stored values = modality values (Rescale Slope 1, Intercept 0).
WINDOW = (1800, 3000)
PIXEL_SPACING_MM = 1.4  # a 358 mm field of view over 256 pixels

TRAIN_SEED_BASE = 0
VALID_SEED_BASE = 1_000_000
TEST_SEED_BASE = 2_000_000
DEMO_SEED_BASE = 3_000_000

_Y, _X = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5


def _smooth_noise(rng, cells, amplitude):
    """Low-frequency noise: a cells×cells Gaussian grid, bilinearly upsampled."""
    g = rng.standard_normal((cells + 1, cells + 1), dtype=np.float32) * amplitude
    t = np.linspace(0, cells, SIZE, dtype=np.float32)
    i = np.minimum(t.astype(np.int32), cells - 1)
    f = t - i
    rows = g[i] * (1 - f)[:, None] + g[i + 1] * f[:, None]          # [SIZE, cells+1]
    return rows[:, i] * (1 - f)[None, :] + rows[:, i + 1] * f[None, :]


def _ellipse(cx, cy, ax, ay, power=2.0):
    return (np.abs((_X - cx) / ax) ** power + np.abs((_Y - cy) / ay) ** power)


def _soft_step(d, edge):
    """1 inside (d < 1), 0 outside, a smooth transition about `edge` wide."""
    return np.clip((1.0 - d) / edge + 0.5, 0.0, 1.0)


def _point_in_lung(rng, lungs, margin=0.75):
    """A point well inside one of the two lungs (uniform on the scaled ellipse)."""
    cx, cy, ax, ay = lungs[rng.integers(0, 2)]
    r = margin * np.sqrt(rng.uniform(0, 1))
    a = rng.uniform(0, 2 * np.pi)
    return cx + r * ax * np.cos(a), cy + r * ay * np.sin(a)


def _box_of(mask, x0=0, y0=0):
    ys = np.flatnonzero(mask.any(1))
    xs = np.flatnonzero(mask.any(0))
    return (int(x0 + xs[0]), int(y0 + ys[0]), int(x0 + xs[-1] + 1), int(y0 + ys[-1] + 1))


def make_phantom(seed, force=None):
    """The phantom for `seed`. `force` (a sequence of 4 booleans or None)
    overrides which findings are present, for picking demo images."""
    rng = np.random.default_rng(seed)
    s = SIZE
    img = np.full((s, s), 60.0, np.float32)

    # Body: a superellipse of soft tissue, slightly off centre.
    bx, by = s / 2 + rng.uniform(-8, 8), s * 0.55 + rng.uniform(-6, 6)
    bax, bay = s * rng.uniform(0.40, 0.46), s * rng.uniform(0.52, 0.6)
    body = _soft_step(_ellipse(bx, by, bax, bay, 3.0), 0.04)
    tissue = 1900 + rng.uniform(-150, 150) + _smooth_noise(rng, 4, 60)
    img += body * tissue

    # Lungs: two darker ellipses (less attenuation).
    lungs = []
    gap = s * rng.uniform(0.10, 0.13)
    for side in (-1, 1):
        ax, ay = s * rng.uniform(0.13, 0.16), s * rng.uniform(0.24, 0.29)
        cx = bx + side * (gap + ax) + rng.uniform(-4, 4)
        cy = by - s * 0.06 + rng.uniform(-5, 5)
        lungs.append((cx, cy, ax, ay))
    lung_mask = np.maximum(*[_soft_step(_ellipse(*l, 2.2), 0.12) for l in lungs])
    depth = 850 + rng.uniform(-120, 120) + _smooth_noise(rng, 8, 45)
    img -= lung_mask * depth

    # Bone: the spine (vertical band), clavicles, ribs (curved bands).
    spine_w = s * rng.uniform(0.035, 0.045)
    spine = np.clip(1.0 - np.abs(_X - bx) / spine_w, 0, 1) ** 0.5 * body
    img += spine * (650 + rng.uniform(-80, 80))
    ribs = np.zeros_like(img)
    for side in (-1, 1):
        cl_y = lungs[0][1] - lungs[0][3] * 0.95 + rng.uniform(-4, 4)
        dx = side * (_X - bx)
        yc = cl_y + 0.12 * np.maximum(dx, 0) - 0.0006 * dx ** 2
        clav = (dx > spine_w) & (dx < s * 0.33)
        ribs = np.maximum(ribs, np.clip(1.0 - np.abs(_Y - yc) / 4.5, 0, 1) * clav)
        cx, cy, ax, ay = lungs[0 if side < 0 else 1]
        top = cy - ay * 0.85
        spacing = ay * 1.8 / 8
        bend = rng.uniform(0.35, 0.5)
        # Eight curved bands at once: the distance to the nearest band's centre.
        u = dx - spine_w
        rel = _Y - top - (bend * u - 0.004 * u * u)
        k = np.clip(np.rint(rel / spacing), 0, 7).astype(np.int32)
        jitter = rng.uniform(-2, 2, 8).astype(np.float32)
        half = rng.uniform(4.0, 5.5, 8).astype(np.float32)
        band = np.clip(1.0 - np.abs(rel - k * spacing - jitter[k]) / half[k], 0, 1)
        ribs = np.maximum(ribs, band * ((dx > spine_w) & (dx < ax * 2 + gap)))
    ribs *= body
    img += ribs * (520 + rng.uniform(-60, 60))

    # Findings.
    present = (rng.uniform(0, 1, 4) < P_FINDING) if force is None else np.asarray(force, bool)
    labels = np.zeros(4, np.int8)
    boxes = {}
    if present[0]:  # nodule
        x, y = _point_in_lung(rng, lungs)
        r = rng.uniform(6, 11)
        d = _ellipse(x, y, r, r * rng.uniform(0.85, 1.15))
        prof = np.clip(1.0 - d, 0, 1) ** 0.6
        img += prof * rng.uniform(450, 600)
        boxes[0] = _box_of(prof > 0.05)
    if present[1]:  # fracture: a thin lucent line across a rib
        ys, xs = np.nonzero(ribs > 0.9)
        i = rng.integers(0, len(xs))
        x, y = xs[i] + 0.5, ys[i] + 0.5
        length = rng.uniform(26, 44)
        a = rng.uniform(np.pi * 0.3, np.pi * 0.7) + rng.choice([0, np.pi])
        ux, uy = np.cos(a), np.sin(a)
        t = (_X - x) * ux + (_Y - y) * uy
        n = -(_X - x) * uy + (_Y - y) * ux
        line = np.clip(1.0 - np.abs(n) / 2.0, 0, 1) * np.clip((length / 2 - np.abs(t)) / 2 + 0.5, 0, 1)
        img -= line * body * rng.uniform(650, 800)
        boxes[1] = _box_of(line > 0.2)
    if present[2]:  # patchy opacity: smoothed blobs
        x, y = _point_in_lung(rng, lungs, 0.55)
        extent = rng.uniform(20, 35)
        blob = np.zeros_like(img)
        for _ in range(rng.integers(4, 8)):
            px, py = x + rng.normal(0, extent * 0.4), y + rng.normal(0, extent * 0.4)
            r = rng.uniform(0.3, 0.55) * extent
            blob = np.maximum(blob, np.exp(-((_X - px) ** 2 + (_Y - py) ** 2) / (2 * r * r)))
        blob *= np.clip(0.7 + _smooth_noise(rng, 16, 0.35), 0, 1.3)
        blob *= lung_mask
        img += blob * rng.uniform(330, 430)
        boxes[2] = _box_of(blob > 0.25)
    if present[3]:  # calcification
        x, y = _point_in_lung(rng, lungs)
        r = rng.uniform(2.0, 3.0)
        prof = np.clip(1.3 - np.sqrt((_X - x) ** 2 + (_Y - y) ** 2) / r, 0, 1)
        img += prof * rng.uniform(1000, 1300)
        boxes[3] = _box_of(prof > 0.05)
    for k in boxes:
        labels[k] = 1

    # Fine texture and noise; then the collimator (field of view).
    img += _smooth_noise(rng, 48, 18)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.sqrt(np.maximum(img, 1)) * 0.9
    m = s * rng.uniform(0.02, 0.05)
    fov = _soft_step(_ellipse(s / 2, s / 2, s / 2 - m, s / 2 - m, 8.0), 0.01)
    img = img * fov + 25 * (1 - fov)
    return np.clip(np.rint(img), 0, 2 ** BITS_STORED - 1).astype(np.uint16), labels, boxes


def window_u8(pixels, window=WINDOW):
    """DICOM PS3.3 C.11.2.1.2 LINEAR window to 0…255, rounded to nearest (half
    to even), as Gaze's gaze_io_window_apply_u8 does."""
    c, w = window
    x = pixels.astype(np.float64)
    y = (x - (c - 0.5)) / (w - 1.0) + 0.5
    y = np.where(x <= c - 0.5 - (w - 1.0) / 2.0, 0.0, y)
    y = np.where(x > c - 0.5 + (w - 1.0) / 2.0, 1.0, y)
    return np.rint(y * 255.0).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sheet", required=True, help="PNG contact sheet to write")
    ap.add_argument("--count", type=int, default=16)
    ap.add_argument("--seed-base", type=int, default=DEMO_SEED_BASE)
    args = ap.parse_args()
    from PIL import Image, ImageDraw
    cols = 4
    rows = (args.count + cols - 1) // cols
    sheet = Image.new("RGB", (cols * SIZE, rows * SIZE))
    colours = ["red", "yellow", "lime", "cyan"]
    for i in range(args.count):
        px, labels, boxes = make_phantom(args.seed_base + i)
        tile = Image.fromarray(window_u8(px)).convert("RGB")
        d = ImageDraw.Draw(tile)
        for k, b in boxes.items():
            d.rectangle([b[0], b[1], b[2] - 1, b[3] - 1], outline=colours[k])
        sheet.paste(tile, ((i % cols) * SIZE, (i // cols) * SIZE))
    sheet.save(args.sheet)


if __name__ == "__main__":
    main()
