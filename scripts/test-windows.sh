#!/usr/bin/env bash
# The Windows stage of scripts/test.sh: cross-build xtbridge.exe and xtbctl.exe
# (scripts/build-windows.sh), then run the Linux contract tests that drive a bridge over the
# wire against xtbridge.exe under Wine, unchanged: the harnesses (tests/testutil.c,
# tests/python/conftest.py) start the bridge with XTB_BRIDGE_CMD="wine .../xtbridge.exe" on
# loopback tcp:// endpoints (XTB_TRANSPORT=tcp; Windows has no ipc://). Plus
# tests/windows: what only the Windows build has to show (ipc:// refused, the data-dir lock
# through LockFileEx, xtbctl.exe and the C client library under Wine).
#
# Usage: scripts/test-windows.sh LINUX_BUILD_DIR   (the Linux build with the test binaries
# and the Python protobuf module, e.g. build-test). XTB_WIN_JOBS: make jobs for the
# cross-build (default 1). Prints "windows suites: P passed, F failed"; exit 1 on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
linux=${1:?usage: scripts/test-windows.sh LINUX_BUILD_DIR}

t0=$(date +%s)
./scripts/build-windows.sh --jobs "${XTB_WIN_JOBS:-1}" || {
  echo "windows: cross-build failed"
  echo "windows suites: 0 passed, 1 failed"
  exit 1
}
t1=$(date +%s)
exe=build-win/project/bin/xtbridge.exe
ctl=build-win/project/bin/xtbctl.exe

# One Wine prefix for the run, under the build tree, made once (the slow part of Wine) and
# kept alive by a persistent wineserver so each bridge start is quick.
export WINEPREFIX=$PWD/build-win/wineprefix WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=" # no .NET / Gecko installers
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  wine wineboot -i >/dev/null 2>&1 || true
  # the registry is written when the server exits (bounded: a persistent server never does)
  timeout 120 wineserver -w || wineserver -k
fi
[ -f "$WINEPREFIX/system.reg" ] || {
  echo "windows: cannot create the Wine prefix $WINEPREFIX"
  echo "windows suites: 0 passed, 1 failed"
  exit 1
}
wineserver -p >build-win/wineserver.log 2>&1 # its object dump at exit lands there
trap 'wineserver -k >/dev/null 2>&1' EXIT
t2=$(date +%s)

# Wine delivers SIGINT as the console Ctrl-C (the Windows stop request); SIGTERM would end
# the process outright, like TerminateProcess
export XTB_BRIDGE_CMD="wine $exe" XTB_TRANSPORT=tcp XTB_BRIDGE_STOP_SIGNAL=INT
export XTB_TMPDIR=${XTB_TMPDIR:-$linux/tmp}
mkdir -p "$XTB_TMPDIR"
passed=0
failed=0
failures=()
suite() {
  local name=$1
  shift
  echo "=== windows: $name"
  if timeout 900 "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

# The C contract tests that start a bridge and talk to it over the wire (C client library),
# all of them but these, which cannot hold under Wine (each stays in the Linux run):
# - curve/sighup_reload_adds_a_newly_allowed_key: Windows has no SIGHUP (README: restart);
# - plain/non_loopback_bind_needs_insecure: its second endpoint is ipc://, which the Windows
#   build refuses first (tests/windows checks that message);
# - durability/replay_200k_bounded: 200,000 events do not fit its 240 s limit under Wine;
# - durability/second_bridge_same_data_dir_exits_2, same_request_id_three_times_across_kill9
#   and crash_mid_stream: a client that stayed connected across a kill -9 of the Wine process
#   is now and then not served by the restarted bridge (a 5 s call times out; once, in
#   crash_mid_stream, resends went unanswered for 60 s). The refusal of a second bridge
#   itself passes, and tests/windows checks it too. Not established whether this is Wine
#   (wineserver owns the sockets and closes a killed process's listener only after it
#   notices the death, so a reconnect in that window may land on the dead listener) or
#   would happen on Windows.
# - durability/kill9_mid_fill_burst: its restart right after the kill -9 on the same ports
#   fails now and then with "Address in use" (the killed process's sockets are still open
#   in wineserver), which also points at Wine for the cases above.
suite test_integration "$linux/bin/test_integration" -j2
# the shared contract suite's sim half (its xtquant half needs the Linux stand-in terminal)
suite test_contract "$linux/bin/test_contract" -j2 --filter 'contract_sim/*'
suite test_durability "$linux/bin/test_durability" -j2 \
  --filter '!(durability/replay_200k_bounded|durability/second_bridge_same_data_dir_exits_2|durability/same_request_id_three_times_across_kill9|durability/crash_mid_stream|durability/kill9_mid_fill_burst)'
suite test_curve "$linux/bin/test_curve" -j2 \
  --filter '!(curve/sighup_reload_adds_a_newly_allowed_key|plain/non_loopback_bind_needs_insecure)'
# The Python client's bridge-driven tests; xtbctl (keygen) and the protobuf module come
# from the Linux build.
pytest_env=(XTB_BRIDGE_BIN="$PWD/$linux/bin/xtbridge" XTBRIDGE_PB2_DIR="$PWD/$linux/python")
suite "pytest contract" env "${pytest_env[@]}" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  tests/python/test_bridge_quickstart.py tests/python/test_doc_quickstart.py \
  tests/python/test_curve.py tests/python/test_api_surface.py
suite "pytest windows" env "${pytest_env[@]}" XTB_WIN_XTBCTL="$ctl" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/windows
t3=$(date +%s)

echo
echo "windows: cross-build $((t1 - t0)) s, Wine prefix $((t2 - t1)) s, tests under Wine $((t3 - t2)) s"
echo "windows suites: $passed passed, $failed failed"
[ $failed = 0 ] || { echo "windows failed: ${failures[*]}"; exit 1; }
