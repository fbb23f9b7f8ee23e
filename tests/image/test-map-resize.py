#!/usr/bin/python3
# test-map-resize.py — gz_map_resize against torch.nn.functional.interpolate(bilinear, align_corners=False)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-map-resize.py IMAGE_TOOL   (TAP on stdout)
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name}")
    sys.exit(0)

tool = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="gaze-map-")
atexit.register(shutil.rmtree, tmp, True)
cases = [  # (h, w) -> (H, W)
    ((7, 7), (224, 224)),     # a typical layer map up to the input
    ((14, 14), (227, 227)),
    ((1, 1), (5, 9)),
    ((13, 6), (3, 17)),       # down in one axis, up in the other
    ((224, 224), (7, 7)),     # plain bilinear downsampling (no antialias, like torch)
    ((5, 8), (5, 8)),         # identity
    ((2, 3, 9, 11), (20, 4)), # leading dims are kept
]
print("TAP version 13")
print(f"1..{len(cases)}")
rng = np.random.default_rng(1)
for i, (shape, (H, W)) in enumerate(cases, 1):
    m = rng.normal(size=shape).astype(np.float32)
    src, dst = os.path.join(tmp, "m.npy"), os.path.join(tmp, "r.npy")
    np.save(src, m)
    subprocess.run([tool, "resize", src, dst, str(W), str(H)], check=True)
    got = np.load(dst)
    t = torch.from_numpy(m)
    while t.dim() < 4:
        t = t.unsqueeze(0)
    ref = F.interpolate(t, size=(H, W), mode="bilinear", align_corners=False).numpy()
    ref = ref.reshape(shape[:-2] + (H, W))
    err = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
    ok = err <= 1e-5
    print(f"{'ok' if ok else 'not ok'} {i} - {shape} -> {(H, W)}: max |diff| = {err:.3g}")
