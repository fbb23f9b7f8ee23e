#!/bin/sh
# fuzz/run.sh TARGET SECONDS [extra libFuzzer flags] — runs one fuzz target on
# its committed corpus (new inputs go to a scratch corpus, never into the
# repository) and fails on a crash, leak or timeout; the reproducer is left in
# fuzz/artifacts/.
# The build dir: $GAZE_FUZZ_BUILD_DIR, else build-fuzz/fuzz beside this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: run.sh TARGET SECONDS}
seconds=${2:?usage: run.sh TARGET SECONDS}
shift 2
build=${GAZE_FUZZ_BUILD_DIR:-$here/../build-fuzz/fuzz}
exe=$build/$target
[ -x "$exe" ] || { echo "run.sh: $exe is not built (meson setup -Dfuzzing=true)" >&2; exit 2; }
extra=""
case $target in
  fuzz-onnx-load) max_len=65536 ;;
  # Programs are short and every byte counts: no slow growth of the length.
  fuzz-forward) max_len=1024; extra="-len_control=0" ;;
  fuzz-npy) max_len=8192 ;;
  fuzz-sidecar) max_len=4096 ;;
  fuzz-unpickle) max_len=16384 ;;
  fuzz-safetensors) max_len=8192 ;;
  fuzz-dicom) max_len=8192 ;; # issue 14
  *) max_len=4096 ;;
esac
work=${GAZE_FUZZ_WORK:-$build/work-$target}
mkdir -p "$work/corpus" "$here/artifacts"
dict=""
[ -f "$here/$target.dict" ] && dict="-dict=$here/$target.dict"
# libFuzzer writes new inputs into the first corpus folder: the scratch one.
# shellcheck disable=SC2086
"$exe" "$work/corpus" "$here/corpus/$target" $dict $extra \
  -max_total_time="$seconds" -max_len=$max_len -timeout=10 -rss_limit_mb=2048 \
  -malloc_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$here/artifacts/$target-" "$@"
