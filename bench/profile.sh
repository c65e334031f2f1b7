#!/usr/bin/env bash
# Where the bridge's time goes under one kind of load (a companion of run.sh, for whoever
# works on the numbers). Runs xtb_bench with only that load against a fresh bridge
# (--durability process) twice: once under `perf stat` attached to the bridge alone (CPU,
# syscalls, page faults, context switches, and with --malloc malloc/calloc/free calls,
# all per request), once under `perf record --call-graph dwarf`, summarized by
# perf_categories.py into library categories. Needs perf (linux-perf) and root or a low
# perf_event_paranoid. Uses an existing Release build (run bench/run.sh once first).
# Usage: bench/profile.sh [--malloc] [BUILD_DIR] KIND [N]
#   KIND: ping | resting | filling      pipelined, window 1000 (N default 30000)
#         sync-ping | sync-resting | sync-filling   one at a time (N default 3000)
set -euo pipefail
cd "$(dirname "$0")/.."
malloc=0
if [ "${1:-}" = --malloc ]; then
  malloc=1
  shift
fi
build=build-bench
if [ $# -gt 1 ] && [ -d "$1" ]; then
  build=$1
  shift
fi
kind=${1:?usage: bench/profile.sh [--malloc] [BUILD_DIR] KIND [N]}
part=${kind#sync-}
window=1000
n=${2:-30000}
if [ "$part" != "$kind" ]; then
  window=1
  n=${2:-3000}
fi
case $part in ping | resting | filling) ;; *) echo "profile.sh: unknown kind $kind" >&2; exit 2 ;; esac
bench="$build/bin/xtb_bench"
[ -x "$bench" ] || { echo "profile.sh: no $bench (run bench/run.sh $build first)" >&2; exit 2; }
out=$(mktemp -d "$build/profile.XXXXXX")
probes=""
cleanup() {
  [ -z "$probes" ] || perf probe -q -d 'xtbbench:*' 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT
if [ $malloc = 1 ]; then
  libc=$(ldd "$build/bin/xtbridge" | awk '/libc.so/ { print $3 }')
  perf probe -q -d 'xtbbench:*' 2>/dev/null || true # left over from an interrupted run
  probes=",xtbbench:malloc,xtbbench:calloc,xtbbench:free"
  perf probe -q -x "$libc" -a xtbbench:malloc=malloc -a xtbbench:calloc=calloc \
    -a xtbbench:free=free
fi

# Start the bench with one part and attach a perf command to its bridge once it says the
# pid (the bench waits --attach-ms before loading it). perf ends when the bridge exits.
attached() {
  "$bench" --durability process --parts "$part" --pipeline "$n" --window "$window" \
    --attach-ms 1000 >"$out/bench.out" 2>"$out/bench.err" &
  local bench_pid=$! pid=""
  for _ in $(seq 1 100); do
    pid=$(sed -n 's/.*xtbridge pid \([0-9]*\).*/\1/p' "$out/bench.err" | head -1)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || { cat "$out/bench.err" >&2; exit 1; }
  "$@" -p "$pid" >/dev/null 2>&1 || true
  wait $bench_pid
}

echo "== $kind: $n requests, window $window, one bridge (durability process)"
attached perf stat -x, -o "$out/stat" \
  -e task-clock,raw_syscalls:sys_enter,page-faults,context-switches$probes
grep -E "per s|raw echo|ping |order_stock" "$out/bench.out" || true
echo "-- bridge, per request (all its threads; the idle wait before the load is included)"
awk -F, -v n="$n" '/^[0-9]/ {
  if ($3 == "task-clock") printf "  %-28s %8.1f us\n", "CPU", $1 * 1000 / n
  else printf "  %-28s %8.2f\n", $3, $1 / n }' "$out/stat"
[ $malloc = 0 ] || echo "  (the malloc probes slow the bridge: take the CPU figure from a run without --malloc)"

attached perf record -q -F 1000 --call-graph dwarf,16384 -o "$out/perf.data"
echo "-- bridge CPU by library (perf record, dwarf stacks)"
perf script -i "$out/perf.data" -F comm,tid,ip,sym,dso 2>/dev/null | bench/perf_categories.py
