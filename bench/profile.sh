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
#         fanout   instructions per fan-out event: the bench's fan-out part (N fills per
#                  burst, default 5000, 4 events each, to 1 then 8 subscribers) with the
#                  bridge under valgrind's callgrind counting only inside the price move
#                  (move_start: the move's first slice, in its call, with the call's
#                  checkpoints; on_move_slice: each later slice, its matching, pushes,
#                  records, commit and sends), then the functions by
#                  inclusive share. A count, not a time: it does not move with the load
#                  of a shared machine (and perf stat has no instruction counter in a VM
#                  without a PMU). Needs valgrind.
#         instr-ping | instr-resting | instr-filling   instructions per sync request (N
#                  default 3000, one at a time) under callgrind: the loop's request path
#                  (on_readable: decode, the backend, journal, commit record, reply) and
#                  the checkpoint timer's share (on_checkpoint: the deferred B-tree puts
#                  and LMDB's commit), then the functions of both by inclusive
#                  count. Needs valgrind.
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
# The callgrind kinds: a work dir ($out) and a wrapper $out/xtbridge that the bench starts
# its bridge through (--xtbridge), counting only inside the functions named.
callgrind_wrapper() {
  command -v valgrind >/dev/null || { echo "profile.sh: $kind needs valgrind" >&2; exit 2; }
  [ -x "$build/bin/xtb_bench" ] || { echo "profile.sh: no $build/bin/xtb_bench (run bench/run.sh $build first)" >&2; exit 2; }
  export XTB_TMPDIR=${XTB_TMPDIR:-$build/tmp}
  mkdir -p "$XTB_TMPDIR"
  out=$(mktemp -d "$build/profile.XXXXXX")
  trap 'rm -rf "$out"' EXIT
  local toggles=""
  for f in "$@"; do toggles="$toggles '--toggle-collect=$f'"; done
  printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s --collect-atstart=no%s %s "$@"\n' \
    "$out/callgrind.out" "$toggles" "$(readlink -f "$build/bin/xtbridge")" >"$out/xtbridge"
  chmod +x "$out/xtbridge"
}
if [ "$kind" = fanout ]; then
  n=${2:-5000}
  callgrind_wrapper 'move_start*' on_move_slice
  echo "== fanout: $n fills x 4 events, to 1 then 8 subscribers; the bridge under callgrind"
  "$build/bin/xtb_bench" --xtbridge "$out/xtbridge" --durability process --parts fanout \
    --fanout "$n" >"$out/bench.out" 2>"$out/bench.err" || { cat "$out/bench.err" >&2; exit 1; }
  callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null |
    awk -v events=$((n * 8)) '
      /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1
        printf "-- bridge loop thread, inside the price moves: %.0f instructions per event\n", total / events
        print "-- by function, inclusive (share of those instructions)"; next }
      total && /%\) / && shown < 40 { count = $1; gsub(",", "", count)
        rest = $0; sub(/^[^)]*\) +/, "", rest)    # "file:function [library]"
        lib = rest; sub(/.*\[/, "", lib); sub(/\].*/, "", lib); sub(/.*\//, "", lib)
        fn = rest; sub(/ \[.*/, "", fn); sub(/.*:/, "", fn)
        if (count / total < 0.99) { printf "  %5.1f%%  %s (%s)\n", 100 * count / total, fn, lib; shown++ } }'
  exit 0
fi
if [ "${kind#instr-}" != "$kind" ]; then
  part=${kind#instr-}
  n=${2:-3000}
  case $part in ping | resting | filling) ;; *) echo "profile.sh: unknown kind $kind" >&2; exit 2 ;; esac
  callgrind_wrapper on_readable on_checkpoint
  echo "== $kind: $n sync requests (after the bench's warm-up), the bridge under callgrind"
  "$build/bin/xtb_bench" --xtbridge "$out/xtbridge" --durability process --parts "$part" \
    --pipeline "$n" --window 1 --clients 0 >"$out/bench.out" 2>"$out/bench.err" ||
    { cat "$out/bench.err" >&2; exit 1; }
  callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null |
    awk -v n="$n" '
      function fn_of(line,   rest) { rest = line; sub(/^[^)]*\) +/, "", rest); sub(/ \[.*/, "", rest); sub(/.*:/, "", rest); return rest }
      /%\) / { count = $1; gsub(",", "", count); count += 0; f = fn_of($0)
        if (f == "on_readable") readable = count
        else if (f == "on_checkpoint") checkpoint = count
        if (readable && f != "on_readable" && count < readable && shown < 30) { top[++shown] = sprintf("  %8.0f  %s", count / n, f) } }
      END {
        printf "-- instructions per request: %.0f before the reply (on_readable), %.0f more at checkpoints\n", readable / n, checkpoint / n
        print "-- by function (request path and checkpoints), inclusive, per request"
        for (i = 1; i <= shown; i++) print top[i] }'
  exit 0
fi
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
