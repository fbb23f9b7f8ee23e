#!/usr/bin/python3
# test-summary.py — reads meson's testlog.json and prints "N passed, N failed[, N skipped]";
# exits 1 when any test failed (or none ran). "skipped" counts the tests meson
# skipped and the TAP subtests that reported "ok … # SKIP" inside a test that
# passed, so that a suite skipping most of its checks does not look complete;
# a line before it names the tests with skipped subtests.
# SPDX-License-Identifier: GPL-3.0-or-later
import json
import re
import sys

tap_skip = re.compile(r"^ok\b[^#]*#\s*skip\b", re.I | re.M)

passed = failed = skipped = 0
failures = []
sub_skips = []
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            result, name = entry["result"], entry["name"]
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
                n = len(tap_skip.findall(entry.get("stdout") or ""))
                if n:
                    skipped += n
                    sub_skips.append(f"{name} ({n})")
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
if sub_skips:
    print(f"TAP subtests skipped in: {', '.join(sub_skips)}")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed == 0 else 0)
