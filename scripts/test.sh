#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install dependencies, build under
# AddressSanitizer + UndefinedBehaviorSanitizer, and run every test: the Criterion unit and
# integration tests (one binary per module, tests/test_*.c, the integration ones start the
# real xtbridge), the Python client's pytest suite against the same bridge binary, and the
# libFuzzer target of the request decoder for a bounded run.
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-test
./scripts/bootstrap.sh "$build" -DXTB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug || exit 1

# czmq's "dangling socket" notes on a failed test are noise next to the real failure, and
# LeakSanitizer reports leaks inside forked Criterion workers as failures, as we want.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
# test data, sockets and logs under the build tree, relative (short ipc:// paths)
export XTB_TMPDIR=${XTB_TMPDIR:-$build/tmp}
mkdir -p "$XTB_TMPDIR"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
failures=()
for t in "$build"/bin/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  echo "=== $name"
  # a hung test must fail the run, not eat CI's time limit
  if timeout 600 "$t" -j2; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
done

if [ -d tests/python ]; then
  echo "=== pytest tests/python"
  if XTB_BRIDGE_BIN="$PWD/$build/bin/xtbridge" XTBRIDGE_PB2_DIR="$PWD/$build/python" \
     timeout 900 /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("pytest")
  fi
fi

# Windows stage: its own suites (the cross-build, then the C and Python contract suites and
# tests/windows against xtbridge.exe under Wine) count here one by one. XTB_WIN_JOBS: make
# jobs for the dependency builds (CI: 2).
echo "=== Windows stage: scripts/test-windows.sh"
./scripts/bootstrap.sh --windows || true
win_log=$build/windows-stage.log
XTB_WIN_JOBS=${XTB_WIN_JOBS:-2} ./scripts/test-windows.sh "$build" 2>&1 | tee "$win_log"
win_line=$(grep '^windows suites: ' "$win_log" | tail -1)
if [[ $win_line =~ ^windows\ suites:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
  [ "${BASH_REMATCH[2]}" = 0 ] || failures+=("windows: $(grep '^windows failed: ' "$win_log" | cut -d' ' -f3-)")
else
  failed=$((failed + 1))
  failures+=("windows stage (no summary)")
fi

# The decoder fuzzer (libFuzzer, its own clang build in build-fuzz), bounded in inputs and
# time: one more suite. FUZZ_RUNS / FUZZ_MAX_TIME change the bounds.
echo "=== fuzz/run.sh"
if ./fuzz/run.sh "${FUZZ_RUNS:-1000000}" "${FUZZ_MAX_TIME:-300}"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  failures+=("fuzz")
fi

echo
echo "test suites: $passed passed, $failed failed"
[ $failed = 0 ] || { echo "failed: ${failures[*]}"; exit 1; }
