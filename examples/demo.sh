#!/usr/bin/env bash
# The quick-start job: compile an example model to C with mixed INT8/INT4 precision, then build it
# for a Cortex-M4 (QEMU mps2-an386), run every test vector on it, and print a summary.
#   bash examples/demo.sh [example] [board]     (defaults: av-digits mps2-an386)
# Installs what is missing first (Debian toolchains, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
example=${1:-av-digits}
board=${2:-mps2-an386}
dir=examples/$example
[ -f "$dir/model.onnx" ] || { echo "demo: no example '$example' (try: $(ls examples | grep -v demo.sh | tr '\n' ' '))" >&2; exit 2; }

bash test/install-deps.sh
out=out/$example
echo "== tinym2 compile $dir/model.onnx (mixed INT8/INT4, weights within 20% of the FP32 bytes) -> $out"
node bin/tinym2.js compile "$dir/model.onnx" --calib "$dir/calib.npz" --precision mixed -o "$out"
echo
echo "== tinym2 verify $out on $board (QEMU), every row of $dir/test.npz"
node bin/tinym2.js verify "$out" --board "$board" --data "$dir/test.npz" --junit "$out/verify-junit.xml"
