#!/usr/bin/python3
# scenes.py — seeded procedural scenes with one shape on a cluttered background
# SPDX-License-Identifier: GPL-3.0-or-later
"""Procedural scene generator for Gaze's demo model.

Each scene is an RGB image (width and height drawn from 160..256 px) showing
exactly one object of one of six classes (circle, triangle, square, star,
cross, ring) at a random position, size, colour and rotation. The background is
cluttered on purpose: a colour gradient, low-frequency colour noise, blurred
blobs, a fine texture, and distractors that are none of the six shapes
(wiggly strokes, straight lines, short arcs, irregular filled blobs), some of
them in a colour close to the object's. The object's bounding box is known
exactly (from its rendered alpha mask).

    from scenes import make_scene, CLASSES
    image, label, box = make_scene(seed)      # PIL.Image, int, (x0, y0, x1, y1)

Boxes use pixel-edge coordinates: the object covers columns x0..x1-1 and rows
y0..y1-1. A scene depends only on its integer seed (NumPy PCG64), so seeds are
the dataset: training uses seeds from TRAIN_SEED_BASE, the held-out test set
TEST_SEED_BASE, the pointing game POINTING_SEED_BASE; the ranges never overlap.

Run as a script to write a contact sheet of samples:
    /usr/bin/python3 tools/demo/scenes.py --sheet /tmp/sheet.png --count 48
"""

import argparse
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ["circle", "triangle", "square", "star", "cross", "ring"]

# Disjoint seed ranges (each scene i of a split uses seed BASE + i).
TRAIN_SEED_BASE = 0               # up to 10 000 000 scenes
TEST_SEED_BASE = 10_000_000       # held-out accuracy
POINTING_SEED_BASE = 20_000_000   # pointing game
DEMO_SEED_BASE = 30_000_000       # demo images in data/demo

MIN_SIDE, MAX_SIDE = 160, 256
SUPERSAMPLE = 4


# ---- geometry ---------------------------------------------------------------

def _regular_polygon(n, r, angle, phase=0.0):
    return [(r * math.cos(angle + phase + 2 * math.pi * i / n),
             r * math.sin(angle + phase + 2 * math.pi * i / n)) for i in range(n)]


def _star(r, angle, inner=0.45):
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * inner
        a = angle - math.pi / 2 + math.pi * i / 5
        pts.append((rr * math.cos(a), rr * math.sin(a)))
    return pts


def _cross(r, angle, half_width):
    # A plus sign: 12 vertices, arms reaching the circumradius r.
    a = half_width
    b = math.sqrt(max(r * r - a * a, a * a))
    raw = [(-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a),
           (a, b), (-a, b), (-a, a), (-b, a), (-b, -a), (-a, -a)]
    c, s = math.cos(angle), math.sin(angle)
    return [(x * c - y * s, x * s + y * c) for x, y in raw]


def _object_mask(cls, r, angle, rng):
    """Anti-aliased alpha mask (float32, 0..1) of a shape centred in a square
    patch of side 2*ceil(r)+4, and the patch's half side."""
    half = int(math.ceil(r)) + 2
    side = 2 * half
    ss = SUPERSAMPLE
    img = Image.new("L", (side * ss, side * ss), 0)
    d = ImageDraw.Draw(img)
    c = half * ss
    R = r * ss

    def poly(pts):
        d.polygon([(c + x * ss, c + y * ss) for x, y in pts], fill=255)

    if cls == "circle":
        d.ellipse([c - R, c - R, c + R, c + R], fill=255)
    elif cls == "ring":
        inner = R * rng.uniform(0.45, 0.62)
        d.ellipse([c - R, c - R, c + R, c + R], fill=255)
        d.ellipse([c - inner, c - inner, c + inner, c + inner], fill=0)
    elif cls == "triangle":
        poly(_regular_polygon(3, r, angle, -math.pi / 2))
    elif cls == "square":
        poly(_regular_polygon(4, r, angle, math.pi / 4))
    elif cls == "star":
        poly(_star(r, angle, rng.uniform(0.38, 0.5)))
    elif cls == "cross":
        poly(_cross(r, angle, r * rng.uniform(0.22, 0.32)))
    else:
        raise ValueError(cls)
    img = img.resize((side, side), Image.BOX)
    return np.asarray(img, dtype=np.float32) / 255.0, half


# ---- colours ----------------------------------------------------------------

def _hsv_to_rgb(h, s, v):
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i],
                    dtype=np.float32)


def _random_colour(rng, s_range=(0.0, 1.0), v_range=(0.1, 1.0)):
    return _hsv_to_rgb(rng.uniform(), rng.uniform(*s_range), rng.uniform(*v_range))


def _near_colour(rng, colour, spread=0.12):
    return np.clip(colour + rng.normal(0, spread, 3).astype(np.float32), 0, 1)


# ---- background -------------------------------------------------------------

def _smooth_noise(rng, w, h, cell, channels=3):
    gw, gh = max(2, w // cell + 2), max(2, h // cell + 2)
    out = np.empty((h, w, channels), np.float32)
    for ch in range(channels):
        g = Image.fromarray(rng.uniform(0, 1, (gh, gw)).astype(np.float32), mode="F")
        out[..., ch] = np.asarray(g.resize((w, h), Image.BICUBIC), np.float32)
    return out - 0.5


def _blend(dst, colour, alpha):
    a = alpha[..., None]
    dst *= 1 - a
    dst += a * colour


def _stroke_layer(w, h, draw_fn, blur=0.0):
    img = Image.new("L", (w * 2, h * 2), 0)
    draw_fn(ImageDraw.Draw(img), 2)
    img = img.resize((w, h), Image.BOX)
    if blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(img, np.float32) / 255.0


def _background(rng, w, h):
    c0, c1 = _random_colour(rng), _random_colour(rng)
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (xx - w / 2) * math.cos(ang) + (yy - h / 2) * math.sin(ang)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    bg = c0 + (c1 - c0) * t[..., None]
    bg += rng.uniform(0.1, 0.35) * _smooth_noise(rng, w, h, int(rng.integers(24, 64)))
    # Blurred blobs of random colour.
    for _ in range(int(rng.integers(3, 9))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(8, 60), rng.uniform(8, 60)
        m = _stroke_layer(w, h, lambda d, s: d.ellipse(
            [(cx - rx) * s, (cy - ry) * s, (cx + rx) * s, (cy + ry) * s], fill=255),
            blur=rng.uniform(3, 14))
        _blend(bg, _random_colour(rng), m * rng.uniform(0.3, 0.9))
    # Fine texture: grain, or a faint woven/stripe pattern.
    if rng.uniform() < 0.5:
        bg += rng.uniform(0.05, 0.2) * _smooth_noise(rng, w, h, int(rng.integers(2, 6)))
    else:
        f = rng.uniform(0.15, 0.6)
        a2 = rng.uniform(0, math.pi)
        s = np.sin(f * (xx * math.cos(a2) + yy * math.sin(a2)) + rng.uniform(0, 6.3))
        bg += rng.uniform(0.03, 0.1) * s[..., None]
    return np.clip(bg, 0, 1)


# ---- distractors (none of them is one of the six shapes) ---------------------

def _wiggle(rng, w, h):
    n = int(rng.integers(20, 60))
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    a = rng.uniform(0, 2 * math.pi)
    step = rng.uniform(2, 5)
    curl = rng.uniform(-0.25, 0.25)
    pts = []
    for _ in range(n):
        pts.append((x, y))
        a += curl + rng.normal(0, 0.15)
        x += step * math.cos(a)
        y += step * math.sin(a)
    return pts


def _distractor(rng, bg, w, h, obj_colour, r_obj, obj_centre):
    kind = rng.choice(["wiggle", "line", "arc", "blob"], p=[0.4, 0.25, 0.15, 0.2])
    colour = _near_colour(rng, obj_colour) if rng.uniform() < 0.45 else _random_colour(rng)
    width = float(rng.uniform(1.0, 4.0))
    if kind == "wiggle":
        pts = _wiggle(rng, w, h)
        m = _stroke_layer(w, h, lambda d, s: d.line(
            [(x * s, y * s) for x, y in pts], fill=255, width=max(1, int(width * s)), joint="curve"))
    elif kind == "line":
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        a = rng.uniform(0, 2 * math.pi)
        ln = rng.uniform(20, 120)
        x1, y1 = x0 + ln * math.cos(a), y0 + ln * math.sin(a)
        m = _stroke_layer(w, h, lambda d, s: d.line(
            [x0 * s, y0 * s, x1 * s, y1 * s], fill=255, width=max(1, int(width * s))))
    elif kind == "arc":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rr = rng.uniform(10, 50)
        start = rng.uniform(0, 360)
        span = rng.uniform(40, 150)
        m = _stroke_layer(w, h, lambda d, s: d.arc(
            [(cx - rr) * s, (cy - rr) * s, (cx + rr) * s, (cy + rr) * s],
            start, start + span, fill=255, width=max(1, int(width * s))))
    else:
        # An irregular blob: a strongly perturbed radial outline.
        # Kept clear of the object, so that the object's outline stays its own.
        base = r_obj * rng.uniform(0.5, 1.1)
        for _ in range(20):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            if math.hypot(cx - obj_centre[0], cy - obj_centre[1]) > 1.45 * base + r_obj + 4:
                break
        # Only low harmonics: lobed, peanut or kidney outlines. Higher ones
        # would look like stars, and small amplitudes like circles.
        freqs = [1, 2, 3]
        k = len(freqs)
        amps = rng.uniform(0.05, 0.3, k)
        amps *= max(1.0, 0.4 / float(amps.sum()))
        phases = rng.uniform(0, 2 * math.pi, k)
        pts = []
        for i in range(48):
            t = 2 * math.pi * i / 48
            rr = base * (1 + sum(amps[j] * math.sin(freqs[j] * t + phases[j]) for j in range(k)))
            pts.append((cx + rr * math.cos(t), cy + rr * math.sin(t)))
        m = _stroke_layer(w, h, lambda d, s: d.polygon([(x * s, y * s) for x, y in pts], fill=255),
                          blur=rng.uniform(0, 1.5))
    _blend(bg, colour, m * rng.uniform(0.6, 1.0))


# ---- the scene --------------------------------------------------------------

def make_scene(seed, label=None):
    """Returns (PIL RGB image, class index, box (x0, y0, x1, y1))."""
    rng = np.random.default_rng(int(seed))
    w = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
    h = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
    if label is None:
        label = int(rng.integers(0, len(CLASSES)))
    cls = CLASSES[label]

    img = _background(rng, w, h)

    r = float(rng.uniform(0.08, 0.2) * min(w, h))
    angle = float(rng.uniform(0, 2 * math.pi))
    mask, half = _object_mask(cls, r, angle, rng)
    cx = int(rng.integers(half + 1, w - half - 1))
    cy = int(rng.integers(half + 1, h - half - 1))
    alpha = np.zeros((h, w), np.float32)
    alpha[cy - half:cy + half, cx - half:cx + half] = mask

    # A colour that stands out from what lies under the object.
    under = img[cy - half:cy + half, cx - half:cx + half].reshape(-1, 3).mean(0)
    colour = _random_colour(rng, (0.35, 1.0), (0.3, 1.0))
    for _ in range(30):
        if np.linalg.norm(colour - under) > 0.35:
            break
        colour = _random_colour(rng, (0.35, 1.0), (0.3, 1.0))

    # Clutter under the object, a few strokes over it.
    n_under = int(rng.integers(4, 10))
    n_over = int(rng.integers(0, 3))
    for _ in range(n_under):
        _distractor(rng, img, w, h, colour, r, (cx, cy))

    if rng.uniform() < 0.4:  # soft drop shadow
        sh = Image.fromarray((alpha * 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(rng.uniform(1.5, 4)))
        dx, dy = int(rng.integers(-4, 5)), int(rng.integers(-4, 5))
        sh = np.roll(np.asarray(sh, np.float32) / 255.0, (dy, dx), axis=(0, 1))
        img *= 1 - rng.uniform(0.2, 0.5) * sh[..., None]

    # Shaded fill: a linear light gradient and a little grain over the object.
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    la = rng.uniform(0, 2 * math.pi)
    shade = 1 + rng.uniform(0.0, 0.25) * ((xs - cx) * math.cos(la) + (ys - cy) * math.sin(la)) / r
    fill = np.clip(colour * shade[..., None]
                   + 0.06 * _smooth_noise(rng, w, h, 3), 0, 1)
    a = alpha[..., None]
    if rng.uniform() < 0.3:  # dark or light outline
        edge = np.clip(np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).filter(
            ImageFilter.MaxFilter(3)), np.float32) / 255.0 - alpha, 0, 1)
        _blend(img, colour * rng.uniform(0.2, 0.6), edge)
    img = img * (1 - a) + fill * a

    for _ in range(n_over):
        _distractor(rng, img, w, h, colour, r, (cx, cy))

    img += rng.normal(0, rng.uniform(0.0, 0.03), img.shape).astype(np.float32)
    out = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), "RGB")
    if rng.uniform() < 0.5:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.7)))

    ys_, xs_ = np.nonzero(alpha > 0.5)
    box = (int(xs_.min()), int(ys_.min()), int(xs_.max()) + 1, int(ys_.max()) + 1)
    return out, label, box


def _contact_sheet(path, count, seed_base):
    cell = 200
    cols = 8
    rows = (count + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell, rows * cell), (40, 40, 40))
    for i in range(count):
        img, label, box = make_scene(seed_base + i)
        d = ImageDraw.Draw(img)
        d.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], outline=(255, 0, 0))
        d.text((3, 3), CLASSES[label], fill=(255, 255, 255))
        img.thumbnail((cell - 4, cell - 4))
        sheet.paste(img, ((i % cols) * cell + 2, (i // cols) * cell + 2))
    sheet.save(path)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sheet", required=True, help="write a contact sheet PNG here")
    ap.add_argument("--count", type=int, default=48)
    ap.add_argument("--seed", type=int, default=TRAIN_SEED_BASE)
    args = ap.parse_args()
    _contact_sheet(args.sheet, args.count, args.seed)
