#!/usr/bin/env bash
# Benchmark: build a Release tree (tests off) and run xtb_bench, which writes its own sim
# config (huge cash, a big position held since yesterday), starts a raw libzmq echo in a
# separate process and one bridge per durability mode (process, then power), each on
# ipc:// in a temp dir with a fresh data dir, measures them interleaved with the echo and
# kills everything it started. Prints ratios to the raw echo next to the issue-7 targets.
# Usage: bench/run.sh [BUILD_DIR] [xtb_bench options, see xtb_bench --help]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-bench
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  build=$1
  shift
fi
./scripts/bootstrap.sh "$build" -DCMAKE_BUILD_TYPE=Release -DXTB_TESTS=OFF -DXTB_BENCH=ON
export XTB_TMPDIR=${XTB_TMPDIR:-$build/tmp}
mkdir -p "$XTB_TMPDIR"
exec "$build/bin/xtb_bench" "$@"
