#!/usr/bin/env bash
# Build the libFuzzer target fuzz/fuzz_request.c into build-fuzz (clang, libFuzzer + ASan +
# UBSan; scripts/bootstrap.sh installs clang and its runtimes) and run it from the seed
# corpus fuzz/corpus/ for a bounded number of inputs and time. Any crash, leak or UB report
# fails the run (exit non-zero) and leaves the input in build-fuzz/artifacts/.
# Usage: fuzz/run.sh [RUNS [MAX_SECONDS]]   (defaults 1000000 inputs, 600 s; FUZZ_RUNS and
# FUZZ_MAX_TIME also set them). Inputs found on the way go to build-fuzz/corpus, never into
# the committed seeds. Reproduce a crash: XTB_FUZZ_LOG=debug build-fuzz/bin/fuzz_request FILE
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-${FUZZ_RUNS:-1000000}}
max_time=${2:-${FUZZ_MAX_TIME:-600}}
build=build-fuzz

./scripts/bootstrap.sh "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXTB_FUZZ=ON -DXTB_TESTS=OFF

mkdir -p "$build/corpus" "$build/artifacts" "$build/tmp"
export XTB_TMPDIR="$build/tmp"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "fuzz: fuzz_request, at most $runs inputs and $max_time s"
start=$(date +%s)
# -max_len: the seeds are < 200 bytes; room for long strings to hit the length limits
"$build/bin/fuzz_request" -runs="$runs" -max_total_time="$max_time" -max_len=4096 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/" "$build/corpus" fuzz/corpus \
  2>"$build/fuzz.log" || { tail -80 "$build/fuzz.log"; echo "fuzz: FAILED (log $build/fuzz.log)"; exit 1; }
end=$(date +%s)
grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$build/fuzz.log" || true
echo "fuzz: no crash, leak or UB report in $((end - start)) s"
