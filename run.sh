#!/usr/bin/env bash
# run.sh — install what is missing, build, and open Gaze (on the bundled demo
# when no file is given). Extra arguments go to gaze: ./run.sh IMAGE MODEL.onnx
# SPDX-License-Identifier: GPL-3.0-or-later
set -euo pipefail
cd "$(dirname "$0")"
. tools/setup.sh

gaze_ensure_packages "${GAZE_BUILD_PACKAGES[@]}"
gaze_configure build
ninja -C build

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display found: Gaze is a desktop application." >&2
  echo "Run it under a virtual display with 'xvfb-run -a ./run.sh'," >&2
  echo "or use the headless tool: build/app/cli/gaze-cli --help" >&2
  exit 1
fi

if [ $# -eq 0 ]; then
  demo_image=$(ls data/demo/*.png 2>/dev/null | head -n 1 || true)
  if [ -n "$demo_image" ] && [ -f data/demo/shapes.onnx ]; then
    set -- "$demo_image" data/demo/shapes.onnx
  fi
fi
# The uninstalled build finds its demo, schema and translations through the
# variables meson.build gives `meson devenv` (no build path is compiled in).
exec meson devenv -C build -w "$PWD" "$PWD/build/app/gaze/gaze" "$@"
