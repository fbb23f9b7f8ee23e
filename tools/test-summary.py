#!/usr/bin/python3
# test-summary.py — reads meson's testlog.json and prints "N passed, N failed[, N skipped]";
# exits 1 when any test failed (or none ran).
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import sys

passed = failed = skipped = 0
failures = []
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            result = json.loads(line)["result"]
            name = json.loads(line)["name"]
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append(f"{name} ({result})")
except FileNotFoundError:
    failed += 1
    failures.append("no test log: the suite did not run")
for name in failures:
    print(f"FAILED: {name}")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
