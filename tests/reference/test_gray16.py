#!/usr/bin/python3
# test_gray16.py — 16-bit grayscale PNG and TIFF (issue 14): gaze-io reads them
# with libpng / libtiff (GdkPixbuf would reduce them to 8 bits) and shows them
# through the DICOM window/level pipeline, default window = the data's min..max.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test_gray16.py DICOM_DUMP GAZE_CLI   (TAP on stdout)
#
# Fixtures are written here, at test time: by Pillow (16-bit PNG; TIFF strips,
# uncompressed / LZW / Deflate / PackBits), and by the small writers below for
# what Pillow cannot write (interlaced PNG, tiled TIFF, signed and MINISWHITE
# TIFF, an unsupported compression). Pillow reads every fixture it can back
# as I;16, an independent check of the writers. The truth is the NumPy array
# each file was written from: gaze-io's values must equal it exactly, its 8-bit
# rendering the NumPy LINEAR_EXACT window (PS3.3 C.11.2.1.3.2) within 1/255.
import atexit
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import refcommon

try:
    import numpy as np
    from PIL import Image
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name} (Debian python3-numpy, python3-pil)")
    sys.exit(0)

dump, gaze_cli = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="gaze-gray16-")
atexit.register(shutil.rmtree, tmp, True)
results = []


def ok(good, name, note=""):
    results.append((bool(good), name, note))


def run_dump(path, prefix, *extra):
    return refcommon.run_key_values([dump, path, prefix, *extra])


def np_window_exact(x, c, w):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 1.0, (x - c) / w + 0.5))


# Writers ------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def write_png16(path, a, interlaced=False):
    """Grayscale 16-bit PNG, filter type 0 on every row; Adam7 when asked."""
    h, w = a.shape
    raw = bytearray()
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\0" + row.astype(">u2").tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 1 if interlaced else 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
                + png_chunk(b"IDAT", zlib.compress(bytes(raw))) + png_chunk(b"IEND", b""))


def packbits(data):
    """PackBits (TIFF 6.0 section 9): literal runs only, valid if not optimal."""
    out = bytearray()
    for i in range(0, len(data), 128):
        chunk = data[i:i + 128]
        out.append(len(chunk) - 1)
        out += chunk
    return bytes(out)


def write_tiff(path, a, tile=None, compression=1, photometric=1, signed=False, bits=16):
    """Little-endian baseline TIFF, one sample per pixel, strips of 5 rows or
    tiles of tile×tile; compression 1 (none), 8 (Deflate), 32773 (PackBits),
    or any other number with the data stored as is (to be refused)."""
    h, w = a.shape
    dt = {8: ("i1" if signed else "u1"), 16: ("<i2" if signed else "<u2")}[bits]
    blocks = []
    if tile:
        th = tw = tile
        for ty in range(0, h, th):
            for tx in range(0, w, tw):
                t = np.zeros((th, tw), dtype=a.dtype)
                part = a[ty:ty + th, tx:tx + tw]
                t[:part.shape[0], :part.shape[1]] = part
                blocks.append(t.astype(dt).tobytes())
    else:
        rows = 5
        for y in range(0, h, rows):
            blocks.append(a[y:y + rows].astype(dt).tobytes())
    if compression == 8:
        blocks = [zlib.compress(b) for b in blocks]
    elif compression == 32773:
        blocks = [packbits(b) for b in blocks]
    # The directory first, then its long values, then the pixels: cutting the
    # file short loses pixel bytes, never the directory.
    n = len(blocks)
    counts = [len(b) for b in blocks]
    entries = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bits]), (259, 3, [compression]),
               (262, 3, [photometric]), (277, 3, [1]), (339, 3, [2 if signed else 1])]
    if tile:
        entries += [(322, 4, [tile]), (323, 4, [tile]), (324, 4, [0] * n), (325, 4, counts)]
    else:
        entries += [(273, 4, [0] * n), (278, 4, [5]), (279, 4, counts)]
    entries.sort()
    extra_at = 8 + 2 + 12 * len(entries) + 4
    extra_len = sum(4 * len(v) for _, k, v in entries if 4 * len(v) > 4 and k == 4)
    extra_len += sum(2 * len(v) for _, k, v in entries if 2 * len(v) > 4 and k == 3)
    offsets, at = [], extra_at + extra_len
    for c in counts:
        offsets.append(at)
        at += c
    entries = [(t, k, offsets if t in (273, 324) else v) for t, k, v in entries]
    ifd = bytearray(struct.pack("<H", len(entries)))
    extra = bytearray()
    for tag, kind, values in entries:
        packed = b"".join(struct.pack("<H" if kind == 3 else "<I", v) for v in values)
        if len(packed) <= 4:
            inline = packed.ljust(4, b"\0")
        else:
            inline = struct.pack("<I", extra_at + len(extra))
            extra += packed
        ifd += struct.pack("<HHI", tag, kind, len(values)) + inline
    ifd += b"\0\0\0\0"
    assert len(extra) == extra_len
    with open(path, "wb") as f:
        f.write(b"II*\0" + struct.pack("<I", 8) + bytes(ifd) + bytes(extra) + b"".join(blocks))


# Fixtures -----------------------------------------------------------------

def smooth(h, w, lo, hi, seed):
    """A radiograph-like smooth field with noise, spanning lo..hi exactly."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    f = np.sin(x / 7.0) + np.cos(y / 5.0) + 0.3 * rng.standard_normal((h, w))
    f = (f - f.min()) / (f.max() - f.min())
    return np.rint(lo + f * (hi - lo)).astype(np.int64)


# 5 % of the 16-bit range: 8-bit reduction would leave it almost black.
low = smooth(41, 37, 1000, 1000 + 3276, 1)
signed = smooth(23, 29, -1200, 2400, 2)
fixtures = []  # (name, path, values, monochrome1)


def add(name, writer, values, monochrome1=False, pillow=True):
    path = os.path.join(tmp, name)
    writer(path)
    fixtures.append((name, path, values, monochrome1, pillow))


add("low.png", lambda p: Image.fromarray(low.astype(np.uint16)).save(p), low)
add("low-adam7.png", lambda p: write_png16(p, low, interlaced=True), low)
for comp in (None, "tiff_lzw", "tiff_adobe_deflate", "packbits"):
    add(f"low-{comp or 'raw'}.tif",
        lambda p, c=comp: Image.fromarray(low.astype(np.uint16)).save(p, compression=c), low)
add("low-tiled-raw.tif", lambda p: write_tiff(p, low, tile=16), low)
add("low-tiled-deflate.tif", lambda p: write_tiff(p, low, tile=16, compression=8), low)
add("low-tiled-packbits.tif", lambda p: write_tiff(p, low, tile=16, compression=32773), low)
add("signed.tif", lambda p: write_tiff(p, signed, signed=True), signed, pillow=False)
add("miniswhite.tif", lambda p: write_tiff(p, low, photometric=0), low, monochrome1=True,
    pillow=False)

for name, path, values, mono1, pillow in fixtures:
    if pillow:
        with Image.open(path) as im:
            back = np.array(im).astype(np.int64)
            ok(im.mode in ("I;16", "I;16B", "I") and np.array_equal(back, values),
               f"{name}: Pillow reads the fixture back ({im.mode})")
    prefix = os.path.join(tmp, name)
    rc, info, err = run_dump(path, prefix)
    if rc != 0:
        ok(False, f"{name}: gaze-io reads it", (info.get("error") or err).strip()[:160])
        continue
    got = np.load(prefix + ".values.npy")[:, :, 0].astype(np.int64)
    ok(got.shape == values.shape and np.array_equal(got, values),
       f"{name}: values equal the array written ({info.get('transfer_syntax_name')})")
    ok(info.get("monochrome1") == ("1" if mono1 else "0"), f"{name}: photometric",
       info.get("photometric", ""))
    lo, hi = float(values.min()), float(values.max())
    want = np_window_exact(values, (lo + hi) / 2, hi - lo)
    want = 1.0 - want if mono1 else want
    u8 = np.load(prefix + ".u8.npy")[:, :, 0].astype(np.float64)
    diff = float(np.max(np.abs(want - u8 / 255.0)))
    ok(diff <= 1.0 / 255.0 + 1e-9, f"{name}: default window = min..max, 8 bits",
       f"max |diff| {diff * 255:.3f}/255; window {info.get('window')}")
    ok(u8.max() == 255 and u8.min() == 0, f"{name}: the default window uses the whole 8-bit range")
    for c, w in ((lo + (hi - lo) * 0.3, (hi - lo) * 0.25), (lo, 10.0)):
        rc, _, err = run_dump(path, prefix + ".w", "--window", f"{c!r},{w!r},LINEAR_EXACT")
        if rc != 0:
            ok(False, f"{name}: window {c:g}/{w:g}", err.strip()[:120])
            continue
        got = np.load(prefix + ".w.windowed.npy")[:, :, 0].astype(np.float64)
        want = np_window_exact(values, c, w)
        want = 1.0 - want if mono1 else want
        d = float(np.max(np.abs(want - got)))
        ok(d <= 1e-5, f"{name}: window {c:g}/{w:g} against NumPy", f"max |diff| {d:g}")

# Refusals: clear, named errors ----------------------------------------------


def expect_error(name, path, code, needle):
    rc, info, err = run_dump(path, os.path.join(tmp, "err"))
    msg = info.get("error", "")
    ok(rc == 2 and msg.startswith(code) and needle.lower() in msg.lower(), f"{name}: refused ({code})",
       (msg or err).strip()[:160])


p = os.path.join(tmp, "jpeg-compressed.tif")
write_tiff(p, low, compression=7)
expect_error("16-bit TIFF with JPEG compression", p, "CORRUPT", "JPEG")
p = os.path.join(tmp, "lzw-garbage.tif")
write_tiff(p, low, compression=5)
expect_error("16-bit TIFF with LZW garbage", p, "CORRUPT", "cannot decode TIFF")
whole = open(os.path.join(tmp, "low.png"), "rb").read()
for cut in (40, len(whole) // 2, len(whole) - 13):
    p = os.path.join(tmp, f"cut{cut}.png")
    open(p, "wb").write(whole[:cut])
    expect_error(f"16-bit PNG cut at {cut} of {len(whole)} bytes", p, "DAMAGED", "cut short")
p = os.path.join(tmp, "cut.tif")
write_tiff(p, low)
whole = open(p, "rb").read()
open(p, "wb").write(whole[:len(whole) - 100])
expect_error("16-bit TIFF cut short (last strip missing bytes)", p, "DAMAGED", "cut short")

# gaze-cli predict: a 16-bit PNG using 5 % of its range is not black ------------
try:
    import onnx
    from onnx import TensorProto, helper
except ImportError:
    onnx = None
if onnx is None:
    ok(True, "gaze-cli predict on a 16-bit PNG # SKIP /usr/bin/python3 lacks onnx")
else:
    # A tiny classifier: global average pool of a 1×1 convolution, 2 classes.
    wconv = helper.make_tensor("w", TensorProto.FLOAT, [2, 3, 1, 1], [1, 0, 0, 0, 1, 0])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"]),
         helper.make_node("GlobalAveragePool", ["c"], ["g"]),
         helper.make_node("Flatten", ["g"], ["y"])],
        "gray16", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 41, 37])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [wconv])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    mpath = os.path.join(tmp, "gray16.onnx")
    onnx.save(model, mpath)
    png = os.path.join(tmp, "low.png")
    lo, hi = float(low.min()), float(low.max())
    for label, extra, c, w in (("default window", [], (lo + hi) / 2, hi - lo),
                               ("--window", ["--window", f"{lo + 800!r},{1200.0!r}"], lo + 800, 1200.0)):
        saved = os.path.join(tmp, f"input-{len(extra)}.npy")
        r = subprocess.run([gaze_cli, "predict", "--mean", "0,0,0", "--std", "1,1,1", "--stretch",
                            "--threads", "1", *extra, "--save-input", saved, mpath, png],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            ok(False, f"gaze-cli predict, {label}", r.stderr.strip()[:160])
            continue
        x = np.load(saved)
        want = np.rint(np_window_exact(low, c, w) * 255.0) / 255.0
        ok(x.shape == (1, 3, 41, 37) and float(x.max()) >= 0.99 and float(x.mean()) > 0.1,
           f"gaze-cli predict, {label}: the 16-bit PNG is not black",
           f"mean {float(x.mean()):.3f}, max {float(x.max()):.3f}")
        d = float(np.max(np.abs(x[0] - want[None]))) if x.shape == (1, 3, 41, 37) else 1.0
        ok(d <= 1.0 / 255.0 + 1e-6, f"gaze-cli predict, {label}: input = NumPy window {c:g}/{w:g}",
           f"max |diff| {d * 255:.3f}/255")
    # What the 8-bit reduction would have given, for the record.
    eight = np.rint(low / 257.0) / 255.0
    ok(float(eight.max()) < 0.1, "the 8-bit reduction of this PNG is nearly black (why this path exists)",
       f"max {float(eight.max()):.3f}")

print("TAP version 13")
print(f"1..{len(results)}")
for i, (good, name, note) in enumerate(results, 1):
    line = f"{'ok' if good else 'not ok'} {i} - {name}"
    if note:
        line += f"  # {note}"
    print(line)
