#!/usr/bin/python3
# test-valgrind.py — gaze-cli explain under valgrind memcheck on a tiny model:
# no invalid access, no use of uninitialised memory, no definite leak.
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import shutil
import subprocess
import tempfile

from robustlib import CLI, done, ok, skip, small_cnn, write, write_png

valgrind = shutil.which("valgrind")
tmp = tempfile.mkdtemp(prefix="gaze-robust-vg-")
model = write(os.path.join(tmp, "m.onnx"), small_cnn())
image = write_png(os.path.join(tmp, "photo.png"), 24, 20)
if valgrind is None:
    skip("gaze-cli explain under valgrind", "valgrind is not installed")
    done()
env = dict(os.environ, OPENBLAS_NUM_THREADS="1", GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
for method in ("gradcam", "cam", "guided-gradcam"):
    out_png = os.path.join(tmp, method + ".png")
    cmd = [valgrind, "--error-exitcode=1", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "-q",
           CLI, "explain", model, image, "--method", method, "--threads", "1",
           "--output", out_png]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    ok(p.returncode == 0 and os.path.exists(out_png),
       f"gaze-cli explain --method {method} is clean under memcheck",
       f"exit {p.returncode}\n{p.stderr[-4000:]}")
code = subprocess.run([valgrind, "--error-exitcode=99", "--leak-check=full",
                       "--errors-for-leak-kinds=definite", "-q", CLI, "info",
                       os.path.join(tmp, "nope.onnx")], capture_output=True, text=True, env=env)
ok(code.returncode not in (0, 99) and "definitely lost" not in code.stderr,
   "a failing gaze-cli info leaks nothing", code.stderr[-2000:])
done()
