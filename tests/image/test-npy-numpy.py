#!/usr/bin/python3
# test-npy-numpy.py — gz_npy_read/gz_npy_write interoperate with NumPy
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-npy-numpy.py IMAGE_TOOL   (TAP on stdout)
# NumPy writes (v1.0 and v2.0 headers, f4/f8/i8, 0-d to 8-d, empty); the tool
# reads and rewrites; NumPy reads the result back, checks values, dtype and the
# header layout (v1.0, data aligned to 64 bytes).
import io
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from numpy.lib import format as npf
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name}")
    sys.exit(0)

tool = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="gaze-npy-")
atexit.register(shutil.rmtree, tmp, True)
rng = np.random.default_rng(2)
cases = [
    ("f4 4-d", rng.normal(size=(1, 3, 5, 7)).astype("<f4"), (1, 0)),
    ("f4 v2.0 header", rng.normal(size=(4, 6)).astype("<f4"), (2, 0)),
    ("f8 converted to f4", rng.normal(size=(3, 2)).astype("<f8"), (1, 0)),
    ("i8", rng.integers(-2**62, 2**62, size=(9,), dtype="<i8"), (1, 0)),
    ("0-d", np.array(3.5, dtype="<f4"), (1, 0)),
    ("empty", np.zeros((0, 3), dtype="<f4"), (1, 0)),
    ("8-d", rng.normal(size=(1, 2, 1, 2, 1, 2, 1, 2)).astype("<f4"), (1, 0)),
    ("specials", np.array([np.inf, -np.inf, np.nan, -0.0, 1e-45], dtype="<f4"), (1, 0)),
]
print("TAP version 13")
print(f"1..{len(cases)}")
for i, (name, arr, version) in enumerate(cases, 1):
    src, dst = os.path.join(tmp, f"in{i}.npy"), os.path.join(tmp, f"out{i}.npy")
    with open(src, "wb") as f:
        npf.write_array(f, arr, version=version)
    r = subprocess.run([tool, "npy-copy", src, dst], capture_output=True, text=True)
    ok = r.returncode == 0
    why = r.stderr.strip()
    if ok:
        raw = open(dst, "rb").read()
        back = np.load(io.BytesIO(raw))
        hlen = int.from_bytes(raw[8:10], "little")
        want_dtype = np.dtype("<i8") if arr.dtype.kind == "i" else np.dtype("<f4")
        ok = (raw[6] == 1 and raw[7] == 0 and (10 + hlen) % 64 == 0 and raw[9 + hlen] == 0x0A
              and back.dtype == want_dtype and back.shape == arr.shape
              and np.array_equal(back, arr.astype(want_dtype), equal_nan=True))
        why = f"dtype {back.dtype}, shape {back.shape}, header {10 + hlen} bytes"
        if ok and name == "specials":
            ok = np.signbit(back[3]) and back[4] > 0
    print(f"{'ok' if ok else 'not ok'} {i} - {name}: {why}")
