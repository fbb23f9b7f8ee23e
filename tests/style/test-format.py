#!/usr/bin/env python3
# test-format.py — every C source and header of the project is formatted by
# the repository's .clang-format (clang-format --dry-run --Werror), one TAP
# line per folder so a failure names the files.
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import shutil
import subprocess
import sys

root = os.environ.get("GAZE_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
folders = ["engine", "app", "ui", "tests", "fuzz", "bench"]

clang_format = shutil.which("clang-format")
if clang_format is None:
    print("1..0 # SKIP clang-format is not installed (Debian package clang-format)")
    sys.exit(0)

print(f"1..{len(folders)}")
failed = 0
for i, folder in enumerate(folders, 1):
    files = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "build"))]
        files += [os.path.join(dirpath, f) for f in filenames if f.endswith((".c", ".h", ".cpp"))]
    bad = []
    for f in sorted(files):
        r = subprocess.run([clang_format, "--dry-run", "--Werror", f],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            bad.append(os.path.relpath(f, root))
    if bad:
        failed += 1
        print(f"not ok {i} - {folder}: {len(bad)} of {len(files)} files not formatted "
              f"(run clang-format -i): {' '.join(bad)}")
    else:
        print(f"ok {i} - {folder}: {len(files)} files formatted")
sys.exit(1 if failed else 0)
