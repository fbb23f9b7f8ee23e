#!/usr/bin/env bash
# test.sh — install what is missing, build, run the whole suite (UI tests under
# a virtual display), and print one closing line "N passed, N failed".
# Usage: ./test.sh [BUILD_DIR [MESON_OPTION...]]   (default: build)
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
cd "$(dirname "$0")"
. tools/setup.sh

build=${1:-build}
[ $# -gt 0 ] && shift
gaze_ensure_packages "${GAZE_BUILD_PACKAGES[@]}" "${GAZE_TEST_PACKAGES[@]}" "${GAZE_TOOL_PACKAGES[@]}" \
  "${GAZE_BENCH_PACKAGES[@]}"
gaze_configure "$build" "$@"
ninja -C "$build"

rm -f "$build/meson-logs/testlog.json"
set +e
xvfb-run -a -s "-screen 0 1280x800x24" \
  meson test -C "$build" --print-errorlogs --num-processes 2 ${GAZE_TEST_ARGS:-}
set -e
/usr/bin/python3 tools/test-summary.py "$build/meson-logs/testlog.json"
