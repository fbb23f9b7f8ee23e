#!/usr/bin/python3
# test-robust-images.py — oversized and broken images through gaze-cli predict:
# a 30000×30000 PNG (a valid header, almost no data) is refused from its
# header without the process growing, likewise BMP; corrupt files fail cleanly.
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import struct
import tempfile
import zlib

from robustlib import done, ok, run_rss, small_cnn, write, write_png

tmp = tempfile.mkdtemp(prefix="gaze-robust-img-")
model = write(os.path.join(tmp, "m.onnx"), small_cnn())


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def sparse_png(w, h, rows=4):
    """RGB8 PNG whose IHDR says w×h; the IDAT holds only `rows` rows of zeros."""
    raw = (b"\0" + b"\0" * (3 * w)) * rows
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def bmp_header(w, h):
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + info + b"\0" * 64


big = write(os.path.join(tmp, "big.png"), sparse_png(30000, 30000))
ok(os.path.getsize(big) < 100_000, "the 30000×30000 PNG is small on disk",
   os.path.getsize(big))
code, out, err, rss = run_rss(["predict", model, big])
ok(code != 0 and "30000×30000 exceeds the image-pixels limit of 100000000 pixels" in err
   and "--limits image-pixels=N" in err, "30000×30000 PNG refused, naming the limit", err)
ok(rss < 200, f"refusing it kept the peak RSS low ({rss:.0f} MiB < 200 MiB)")

# Just above a lowered limit: refused the same way, also before decoding.
code, out, err, rss = run_rss(["predict", model, big, "--limits", "image-pixels=899999999"])
ok(code != 0 and "limit of 899999999 pixels" in err, "one pixel above a raised limit: refused",
   err)
ok(rss < 200, f"… without decoding ({rss:.0f} MiB)")

wide = write(os.path.join(tmp, "wide.png"), sparse_png(2_000_000, 60, rows=1))
code, out, err, rss = run_rss(["predict", model, wide])
ok(code != 0 and ("exceeds" in err or "not an image" in err) and rss < 200,
   f"a 2000000×60 strip is refused ({rss:.0f} MiB)", err)

bmp = write(os.path.join(tmp, "big.bmp"), bmp_header(30000, 30000))
code, out, err, rss = run_rss(["predict", model, bmp])
ok(code != 0 and rss < 200, f"a 30000×30000 BMP header fails cleanly ({rss:.0f} MiB)", err)

# Broken files: a clean error naming the file, never a crash.
good = write_png(os.path.join(tmp, "good.png"), 24, 24)
data = open(good, "rb").read()
for name, blob in (("truncated.png", data[: len(data) // 2]),
                   ("header-only.png", data[:33]),
                   ("garbage.png", b"\x89PNG\r\n\x1a\n" + os.urandom(200)),
                   ("text.jpg", b"not a picture\n" * 20),
                   ("empty.png", b"")):
    p = write(os.path.join(tmp, name), blob)
    code, out, err, rss = run_rss(["predict", model, p])
    # GdkPixbuf would fill a truncated PNG's missing rows with blank pixels and
    # call it a success; the decoder refuses what it could not fill.
    cleanly = code != 0 and name in err
    if name == "truncated.png":
        cleanly = cleanly and "truncated" in err
    ok(cleanly and 0 <= code < 128, f"{name}: refused with a clear error", f"exit {code}\n{err}")
# A FIFO or a device as the image: refused at once, no blocking open.
fifo = os.path.join(tmp, "pipe.png")
os.mkfifo(fifo)
for p in (fifo, "/dev/zero"):
    code, out, err, rss = run_rss(["predict", model, p])
    ok(code != 0 and "not a regular file" in err, f"{p}: refused without blocking", err)
code, out, err, rss = run_rss(["predict", model, "--input-tensor", fifo])
ok(code != 0 and "not a regular file" in err, "--input-tensor from a FIFO: refused", err)
code, out, err, rss = run_rss(["predict", model, good])
ok(code == 0, "the intact image runs", err)
done()
