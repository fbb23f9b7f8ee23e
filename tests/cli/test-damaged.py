#!/usr/bin/python3
# test-damaged.py — damaged images through `gaze-cli predict` and `explain`:
# refused by default with the file and the decoder's words, analysed with
# --allow-damaged and marked ("warnings" in the JSON, DAMAGED in the text).
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-damaged.py GAZE_CLI   (TAP on stdout)
# The damaged files are made here from the demo scenes (data/demo): a JPEG cut
# in half, a JPEG missing only its end marker, a PNG whose IDAT CRC is wrong, a
# PNG whose ancillary tEXt chunk has a bad CRC, a PNG cut in half.
import atexit
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import numpy as np
    from PIL import Image
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name}")
    sys.exit(0)

cli = sys.argv[1]
root = os.environ.get("GAZE_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
demo = os.path.join(root, "data", "demo")
model = os.path.join(demo, "shapes.onnx")
scene = os.path.join(demo, "demo-01-star.png")
tmp = tempfile.mkdtemp(prefix="gaze-damaged-")
atexit.register(shutil.rmtree, tmp, True)
results = []


def ok(cond, msg, diag=""):
    results.append((bool(cond), msg, diag))


def run(*args):
    p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def write(name, blob):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(blob)
    return path


def chunks(png):
    """(offset, type, length) of every chunk of a PNG."""
    out, pos = [], 8
    while pos + 8 <= len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        out.append((pos, png[pos + 4:pos + 8], length))
        pos += 12 + length
    return out


buf = io.BytesIO()
Image.open(scene).convert("RGB").save(buf, "JPEG", quality=92)
jpeg = buf.getvalue()
png = open(scene, "rb").read()
good_jpg = write("good.jpg", jpeg)
half_jpg = write("half.jpg", jpeg[: len(jpeg) // 2])
no_eoi_jpg = write("no-eoi.jpg", jpeg[:-2])
# The first IDAT's CRC off by one bit: its data intact, the chunk damaged.
pos, kind, length = next(c for c in chunks(png) if c[1] == b"IDAT")
bad = bytearray(png)
bad[pos + 8 + length] ^= 0x01
bad_crc_png = write("bad-crc.png", bytes(bad))
# An ancillary chunk with a bad CRC right after IHDR.
text = b"Comment\0made by test-damaged.py"
crc = zlib.crc32(b"tEXt" + text) ^ 0x80
bad_text_png = write("bad-text.png", png[:33] + struct.pack(">I", len(text)) + b"tEXt" + text
                     + struct.pack(">I", crc) + png[33:])
half_png = write("half.png", png[: len(png) // 2])

# What a sound file gives: warnings present and empty.
code, out, err = run("predict", model, good_jpg, "--json", "--top", "1")
ok(code == 0 and json.loads(out)["warnings"] == [], "a sound JPEG: exit 0, \"warnings\": []",
   f"exit {code}\n{out}{err}")
code, out, err = run("predict", model, scene, "--json", "--top", "1")
ok(code == 0 and json.loads(out)["warnings"] == [], "a sound PNG: exit 0, \"warnings\": []",
   f"exit {code}\n{out}{err}")

cases = [
    (half_jpg, "Premature end of JPEG file"),
    (no_eoi_jpg, "Premature end of JPEG file"),
    (bad_crc_png, "IDAT: CRC error"),
    (bad_text_png, "tEXt: CRC error"),
    (half_png, "Premature end of PNG file"),
]
for path, words in cases:
    name = os.path.basename(path)
    for cmd in ("predict", "explain"):
        code, out, err = run(cmd, model, path, "--json")
        ok(code == 1 and out == "" and path in err and "damaged" in err and words in err
           and "--allow-damaged" in err,
           f"{cmd} {name}: refused (exit 1) naming the file and \"{words}\"",
           f"exit {code}\n{out}{err}")
    code, out, err = run("predict", model, path, "--json", "--top", "1", "--allow-damaged")
    doc = json.loads(out) if code == 0 and out else {}
    ok(code == 0 and any(words in w for w in doc.get("warnings", [])) and len(doc["top"]) == 1,
       f"predict --allow-damaged {name}: exit 0, \"warnings\" holds \"{words}\"",
       f"exit {code}\n{out}{err}")
    npy = os.path.join(tmp, name + ".npy")
    code, out, err = run("explain", model, path, "--allow-damaged", "--heatmap", npy)
    ok(code == 0 and f"DAMAGED    {words}" in out and os.path.getsize(npy) > 128,
       f"explain --allow-damaged {name}: explained and marked DAMAGED in its text",
       f"exit {code}\n{out}{err}")
    code, out, err = run("explain", model, path, "--allow-damaged", "--json")
    doc = json.loads(out) if code == 0 and out else {}
    ok(code == 0 and any(words in w for w in doc.get("warnings", [])),
       f"explain --allow-damaged --json {name}: \"warnings\" holds \"{words}\"",
       f"exit {code}\n{out}{err}")

# The cut JPEG really is grey below the cut (what the check protects from):
# what GdkPixbuf decodes of it differs from the sound file there.
code, out, err = run("predict", model, half_jpg, "--allow-damaged", "--save-input",
                     os.path.join(tmp, "half.npy"))
code2, out2, err2 = run("predict", model, good_jpg, "--save-input", os.path.join(tmp, "good.npy"))
if code == 0 and code2 == 0:
    a = np.load(os.path.join(tmp, "half.npy"))
    b = np.load(os.path.join(tmp, "good.npy"))
    rows = np.abs(a - b).max(axis=(0, 1, 3))
    ok(rows[: len(rows) // 8].max() < 1e-6 and rows[-len(rows) // 8:].min() > 0.05,
       "the half JPEG's input matches the sound one at the top and not at the bottom",
       f"top {rows[: len(rows) // 8].max()}, bottom {rows[-len(rows) // 8:].min()}")
else:
    ok(False, "the half JPEG's input matches the sound one at the top and not at the bottom",
       err + err2)

# Several images in one predict: the damaged one stops the run by default.
code, out, err = run("predict", model, good_jpg, half_jpg, "--json", "--top", "1")
ok(code == 1 and len(out.splitlines()) == 1 and half_jpg in err,
   "predict good.jpg half.jpg: the sound one printed, then refused at the damaged one",
   f"exit {code}\n{out}{err}")
code, out, err = run("predict", model, good_jpg, half_jpg, "--json", "--top", "1",
                     "--allow-damaged")
lines = [json.loads(l) for l in out.splitlines()] if code == 0 else []
ok(len(lines) == 2 and lines[0]["warnings"] == [] and lines[1]["warnings"] != [],
   "with --allow-damaged both run; only the damaged one carries warnings", f"exit {code}\n{out}{err}")

print("TAP version 13")
print(f"1..{len(results)}")
for i, (good, msg, diag) in enumerate(results, 1):
    print(f"{'ok' if good else 'not ok'} {i} - {msg}")
    if not good and diag:
        for line in diag.splitlines():
            print(f"# {line}")
sys.exit(0 if all(r[0] for r in results) else 1)
