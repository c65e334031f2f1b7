#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install dependencies, build under
# AddressSanitizer + UndefinedBehaviorSanitizer, and run every test: the Criterion unit and
# integration tests (one binary per module, tests/test_*.c, the integration ones start the
# real xtbridge), the Python client's pytest suite and the Node client's node:test suite
# against the same bridge binary, the Docker image's engine-free checks, and the libFuzzer
# target of the request decoder for a bounded run.
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

# The Node client's node:test suite against the same bridge binary (clients/node), and the
# Docker image's checks that need no Docker engine (docker/test.sh).
if [ -d clients/node ]; then
  echo "=== npm test clients/node"
  case $XTB_TMPDIR in /*) node_tmp=$XTB_TMPDIR ;; *) node_tmp=../../$XTB_TMPDIR ;; esac
  if (cd clients/node && XTB_BRIDGE_BIN="$OLDPWD/$build/bin/xtbridge" XTB_TMPDIR="$node_tmp" \
      timeout 600 npm test); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("npm-test")
  fi
fi
# The live monitor (clients/node/monitor): its page in headless Chromium against the bridge.
if [ -d clients/node/monitor ]; then
  echo "=== npm test clients/node/monitor"
  case $XTB_TMPDIR in /*) mon_tmp=$XTB_TMPDIR ;; *) mon_tmp=../../../$XTB_TMPDIR ;; esac
  if (cd clients/node/monitor && XTB_BRIDGE_BIN="$OLDPWD/$build/bin/xtbridge" \
      XTB_TMPDIR="$mon_tmp" timeout 300 npm test); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("monitor")
  fi
fi
if [ -x docker/test.sh ]; then
  echo "=== docker/test.sh"
  if timeout 300 docker/test.sh "$build/bin"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("docker")
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
