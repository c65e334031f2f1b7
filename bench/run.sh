#!/usr/bin/env bash
# Benchmark: build a Release tree (tests off; gnuplot installed for --plot) and run
# xtb_bench, which writes its own sim config, starts a raw libzmq echo and raw publishers
# in separate processes and one bridge per durability mode (process, then power), each on
# ipc:// in a temp dir with a fresh data dir, measures them interleaved with the raw
# baselines (latency, clients, pipelined, bursts, fan-out by seq, big books, the day
# close) and kills everything it started. Prints ratios next to the issue-7/11 targets;
# --json FILE and --plot FILE.png for machines and the README.
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
