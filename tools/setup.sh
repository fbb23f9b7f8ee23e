# tools/setup.sh — shared by run.sh, test.sh and .ci/run: install what is
# missing (Debian 12) and configure the meson build. Sourced, not executed.
# SPDX-License-Identifier: GPL-3.0-or-later

# What building and running Gaze needs.
GAZE_BUILD_PACKAGES=(
  meson ninja-build pkg-config gcc gettext
  libglib2.0-dev libgtk-4-dev libadwaita-1-dev libjson-glib-dev
  libgdk-pixbuf-2.0-dev libjpeg-dev libpng-dev libcairo2-dev libpango1.0-dev librsvg2-common
  libopenblas-dev libprotobuf-c-dev protobuf-c-compiler
  desktop-file-utils appstream shared-mime-info
  g++ cmake libgdcm-dev libtiff-dev
)
# What the test suite adds: a display server for the UI tests, the ONNX
# backend node tests, and Debian's PyTorch for the reference computations.
GAZE_TEST_PACKAGES=(
  xvfb xauth valgrind time clang-format
  libonnx-testdata
  python3 python3-numpy python3-scipy python3-pil python3-torch python3-torchvision python3-onnx
  python3-pydicom dcmtk
  parallel # issue 18: tests/cli/test-batch.py runs shards under GNU parallel
  # issue 18: tests/cli/test-slurm.py runs tools/slurm/ on a private single-node
  # Slurm with its own munged; tests/style checks tools/slurm/ with shellcheck.
  slurmctld slurmd slurm-client munge shellcheck
  # issue 18: tests/cli/test-batch-report.py reads report.pdf with pdfinfo, pdftotext,
  # pdfimages and renders report.html in headless Chromium.
  poppler-utils chromium
)

# Maintenance tools that no test runs: tests/image/gen-colormaps.py (matplotlib's
# colormap data). test.sh installs them too, so that every script in the tree
# runs on a machine it set up (tests/style/test-packages.py checks the lists).
# GAZE_TEST_SHOTS=DIR makes the UI tests save screenshots; test-drops.c takes
# the X screen with ImageMagick's `import -window root`.
GAZE_TOOL_PACKAGES=(python3-matplotlib imagemagick)

# bench/run's third contender, ONNX Runtime's CPU build: the npm package
# onnxruntime-node (bench/package.json pins it), which bench/setup installs into
# bench/node_modules. A benchmark dependency only: no test and no build uses it
# (test.sh installs nodejs, an apt package, so that test-packages finds the
# programs bench/ calls; the npm module itself is fetched by bench/setup alone).
# npm comes with this machine's nodejs (NodeSource's build, which conflicts with
# Debian's npm package); on plain Debian 12 bench/setup adds the npm package.
GAZE_BENCH_PACKAGES=(nodejs)

# CI's packaging step (.ci/package): copy the checkout (git), build the .deb,
# lint it, check the installed files (gsettings reads the compiled schema).
GAZE_PACKAGING_PACKAGES=(git dpkg-dev debhelper lintian desktop-file-utils appstream libglib2.0-bin)

# CI's third pass: libFuzzer targets, built with clang.
GAZE_FUZZ_PACKAGES=(clang libclang-rt-14-dev)

gaze_missing_packages () {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  echo "${missing[@]}"
}

gaze_ensure_packages () {
  local missing
  missing=$(gaze_missing_packages "$@")
  [ -z "$missing" ] && return 0
  echo "Installing missing packages: $missing"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "error: these Debian packages are missing and I am neither root nor able to use sudo:" >&2
      echo "  $missing" >&2
      echo "Install them (apt-get install $missing) and run this again." >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q || true
  # shellcheck disable=SC2086
  "${sudo[@]}" apt-get install -y -q --no-install-recommends $missing
}

# gaze_configure BUILD_DIR [MESON_OPTION...]
gaze_configure () {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@"
  fi
}
