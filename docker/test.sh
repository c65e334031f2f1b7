#!/usr/bin/env bash
# What can be checked of the image without a Docker engine (run by scripts/test.sh):
#  1. docker/runtime-packages is exactly the set of Debian packages that own the libraries
#     xtbridge and xtbctl link to directly (objdump NEEDED -> ldd path -> dpkg -S), less
#     libc6 (in debian:12-slim) and the sanitizer / embedded-Python runtimes a test build
#     adds (the image builds Release with -DXTB_XTQUANT=OFF, checked in the Dockerfile);
#  2. the Dockerfile's shape: a build stage on bootstrap.sh, a debian:12-slim runtime stage
#     installing that list, a non-root USER, the HEALTHCHECK, the /data volume;
#  3. docker/entrypoint.sh's command lines for given environments, exactly;
#  4. the entrypoint run with bash against the real binaries: without and with CURVE (keys
#     from the environment), its health check (`xtbctl ping`) passing, a client added by
#     SIGHUP, SIGTERM ending it with the bridge's exit status 0;
#  5. docker/compose.yaml: the bridge, a subscriber and NATS.
# Usage: docker/test.sh [BIN_DIR]   (default build/bin); files under $XTB_TMPDIR.
# shellcheck disable=SC2015  # `cond && ok ... || fail ...`: ok always succeeds
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
bin=${1:-build/bin}
bin=$(cd "$bin" && pwd)
export PATH="$bin:$PATH"
tmp=${XTB_TMPDIR:-build/tmp}/xtbt-docker-$$
rm -rf "$tmp"
mkdir -p "$tmp"
passed=0
failed=0
ok() {
  echo "ok   $*"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL $*"
  failed=$((failed + 1))
}
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"$'\n  expected: '"$2"$'\n  actual:   '"$3"; fi
}
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
}
trap cleanup EXIT

# ---- 1. runtime packages --------------------------------------------------------------
needed=$(for b in xtbridge xtbctl; do
  [ -x "$bin/$b" ] || { echo "MISSING:$b"; continue; }
  for lib in $(objdump -p "$bin/$b" | awk '/NEEDED/ {print $2}'); do
    case $lib in libasan.so.* | libubsan.so.* | libpython3*) continue ;; esac
    path=$(ldd "$bin/$b" | awk -v l="$lib" '$1 == l {print $3}')
    [ -n "$path" ] || { echo "UNRESOLVED:$lib"; continue; }
    pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null)
    echo "${pkg%%:*}"
  done
done | sort -u | grep -vx libc6 | tr '\n' ' ')
listed=$(grep -v '^#' docker/runtime-packages | sort -u | tr '\n' ' ')
check "runtime-packages matches the binaries' libraries" "$needed" "$listed"

# ---- 2. the Dockerfile ----------------------------------------------------------------
df=docker/Dockerfile
froms=$(grep -c '^FROM ' $df)
check "two stages" 2 "$froms"
grep -q '^FROM debian:12 AS build$' $df && ok "build stage on debian:12" || fail "build stage"
grep -q 'scripts/bootstrap.sh build .*-DXTB_TESTS=OFF' $df && ok "build stage runs bootstrap.sh" ||
  fail "build stage does not run scripts/bootstrap.sh"
grep -q -- '-DXTB_XTQUANT=OFF' $df && ! grep -q XTB_SANITIZE $df && ok "no libpython, no sanitizers" ||
  fail "the image build must turn off XTB_XTQUANT and not sanitize"
[ "$(grep '^FROM ' $df | tail -1)" = "FROM debian:12-slim" ] && ok "runtime on debian:12-slim" ||
  fail "runtime stage is not debian:12-slim"
grep -q 'runtime-packages' $df && ok "runtime installs docker/runtime-packages" || fail "runtime packages"
user=$(awk '$1 == "USER" {print $2}' $df | tail -1)
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] && ok "runs as $user" || fail "runs as root"
grep -q 'HEALTHCHECK .*' $df && grep -q '"xtbridge-entrypoint", "healthcheck"' $df &&
  ok "HEALTHCHECK via the entrypoint (xtbctl ping)" || fail "no HEALTHCHECK"
grep -q '^VOLUME /data$' $df && ok "/data volume" || fail "no /data volume"
grep -q '^ENTRYPOINT \["xtbridge-entrypoint"\]$' $df && ok "entrypoint" || fail "entrypoint"

# ---- 3. command lines ------------------------------------------------------------------
ep=docker/entrypoint.sh
args() { env -i PATH="$PATH" XTB_RUN=/run/x "$@" bash $ep args 2>&1 | tr '\n' ' '; }
check "defaults" \
  "xtbridge --backend sim --router tcp://*:58610 --pub tcp://*:58611 --data /data " \
  "$(args)"
check "endpoints, advertise, tuning, JetStream, extra args" \
  "xtbridge --backend sim --router tcp://*:6000 --pub tcp://*:6001 --pub-advertise tcp://h:6001 --data /d --log-level debug --heartbeat-ms 500 --durability power --jetstream nats://nats:4222 --jetstream-stream FILLS --insecure --retention-days 3 " \
  "$(args XTB_ROUTER='tcp://*:6000' XTB_PUB='tcp://*:6001' XTB_PUB_ADVERTISE=tcp://h:6001 \
    XTB_DATA=/d XTB_LOG_LEVEL=debug XTB_HEARTBEAT_MS=500 XTB_DURABILITY=power XTB_INSECURE=1 \
    XTB_JETSTREAM=nats://nats:4222 XTB_JETSTREAM_STREAM=FILLS \
    bash -c "exec bash $ep args --retention-days 3" | tr '\n' ' ')"
check "CURVE from a cert file" \
  "xtbridge --backend sim --router tcp://*:58610 --pub tcp://*:58611 --data /data --curve-secret /k/s.cert --clients /run/x/clients " \
  "$(args XTB_CURVE_SECRET=/k/s.cert)"
check "CURVE from env keys" \
  "xtbridge --backend sim --router tcp://*:58610 --pub tcp://*:58611 --data /data --curve-secret /run/x/server.cert --clients /run/x/clients " \
  "$(args XTB_CURVE_PUBLIC_KEY=p XTB_CURVE_SECRET_KEY=s)"
echo 'bridge' >"$tmp/x.cfg"
check "a config file: endpoints from it" \
  "xtbridge --backend sim --config $tmp/x.cfg --data /data " "$(args XTB_CONFIG="$tmp/x.cfg")"
check "a config file, XTB_ROUTER still wins" \
  "xtbridge --backend sim --config $tmp/x.cfg --router ipc://r --data /data " \
  "$(args XTB_CONFIG="$tmp/x.cfg" XTB_ROUTER=ipc://r)"
check "a missing config file" \
  "xtbridge-entrypoint: XTB_CONFIG /nope.cfg: no such file " "$(args XTB_CONFIG=/nope.cfg)"
check "a bad XTB_INSECURE" "xtbridge-entrypoint: XTB_INSECURE='maybe': want 1 or 0 " \
  "$(args XTB_INSECURE=maybe)"

# ---- 4. the entrypoint running the real bridge -------------------------------------------
# start_ep NAME ENV...: the entrypoint in the background with ipc:// endpoints in $tmp/NAME
start_ep() {
  local name=$1
  shift
  mkdir -p "$tmp/$name"
  env XTB_ROUTER="ipc://$tmp/$name/r" XTB_PUB="ipc://$tmp/$name/p" XTB_DATA="$tmp/$name/data" \
    XTB_RUN="$tmp/$name/run" XTB_HEARTBEAT_MS=200 "$@" bash $ep >"$tmp/$name/log" 2>&1 &
  ep_pid=$!
  pids+=("$ep_pid")
}
health() { # health NAME ENV...: the health check's exit status, retried for 10 s
  local name=$1
  shift
  for _ in $(seq 50); do
    env XTB_ROUTER="ipc://$tmp/$name/r" XTB_RUN="$tmp/$name/run" XTB_HEALTH_TIMEOUT_MS=500 "$@" \
      bash $ep healthcheck >"$tmp/$name/health" 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
stop_ep() { # SIGTERM to the entrypoint; its exit status in $stopped
  kill -TERM "$1"
  stopped=0
  wait "$1" || stopped=$?
}

start_ep plain
health plain && ok "health check of a plain bridge" || fail "health check (plain): $(cat "$tmp/plain/health")"
out=$(xtbctl --router "ipc://$tmp/plain/r" asset 2>&1)
case $out in *989494.89* | *1000000.00*) ok "xtbctl through the entrypoint's bridge" ;;
  *) fail "xtbctl asset: $out" ;; esac
stop_ep "$ep_pid"
check "SIGTERM: the bridge's exit status" 0 "$stopped"
grep -q -- "--insecure\|refus" "$tmp/plain/log" && fail "plain bridge log: $(cat "$tmp/plain/log")"
if env XTB_ROUTER="ipc://$tmp/plain/r" XTB_RUN="$tmp/plain/run" XTB_HEALTH_TIMEOUT_MS=300 \
  bash $ep healthcheck >/dev/null 2>&1; then fail "health check passes with the bridge gone"
else ok "health check fails with the bridge gone"; fi

# CURVE with the server's keys in the environment and one client dir
mkdir -p "$tmp/keys/clients"
xtbctl keygen "$tmp/keys/server" --accounts '*' --role admin >/dev/null
xtbctl keygen "$tmp/keys/alice" --accounts 1000000365 --role trader >/dev/null
xtbctl keygen "$tmp/keys/bob" --accounts 1000000365 --role reader >/dev/null
mv "$tmp/keys/alice" "$tmp/keys/clients/"
key() { sed -n "s/^ *$1 = \"\(.*\)\"/\1/p" "$tmp/keys/server_secret"; }
start_ep curve XTB_CURVE_PUBLIC_KEY="$(key public-key)" XTB_CURVE_SECRET_KEY="$(key secret-key)" \
  XTB_CLIENTS="$tmp/keys/clients"
health curve && ok "health check with CURVE (its own reader key)" ||
  fail "health check (CURVE): $(cat "$tmp/curve/health") $(cat "$tmp/curve/log")"
as() { # as NAME CMD...: xtbctl with NAME's key
  local who=$1
  shift
  xtbctl --router "ipc://$tmp/curve/r" --timeout 1000 --curve-cert "$tmp/keys/${who}_secret" \
    --curve-server "$(key public-key)" "$@" 2>&1
}
out=$(as alice asset)
case $out in *1000000.00*) ok "a listed client is served" ;; *) fail "alice: $out" ;; esac
out=$(as bob asset)
rc=$?
check "an unlisted client gets nothing (timeout, exit 3)" 3 "$rc"
mv "$tmp/keys/bob" "$tmp/keys/clients/"
kill -HUP "$ep_pid"
for _ in $(seq 25); do
  out=$(as bob asset) && break
  sleep 0.2
done
case $out in *1000000.00*) ok "SIGHUP: a client added to XTB_CLIENTS is served" ;;
  *) fail "bob after HUP: $out" ;; esac
stop_ep "$ep_pid"
check "SIGTERM with CURVE: exit status 0" 0 "$stopped"
# CURVE with the server's cert file (as mounted on /keys)
start_ep certfile XTB_CURVE_SECRET="$tmp/keys/server" XTB_CLIENTS="$tmp/keys/clients"
health certfile && ok "health check with CURVE from a cert file" ||
  fail "health check (cert file): $(cat "$tmp/certfile/health") $(cat "$tmp/certfile/log")"
stop_ep "$ep_pid"
check "SIGTERM: exit status 0" 0 "$stopped"
[ ! -e "$tmp/curve/run/server.cert_secret" ] || [ "$(stat -c %a "$tmp/curve/run/server.cert_secret")" = 600 ] &&
  ok "the server's secret cert is private" || fail "server.cert_secret mode"

# ---- 5. compose ----------------------------------------------------------------------
out=$(/usr/bin/python3 - docker/compose.yaml <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
s = c['services']
problems = []
if sorted(s) != ['bridge', 'nats', 'watch']:
    problems.append('services %s' % sorted(s))
if s['bridge']['build']['dockerfile'] != 'docker/Dockerfile':
    problems.append('bridge build')
if 'watch' not in s['watch']['command']:
    problems.append('watch runs %s' % s['watch']['command'])
if s['watch']['depends_on']['bridge']['condition'] != 'service_healthy':
    problems.append('watch does not wait for a healthy bridge')
if '-js' not in s['nats']['command']:
    problems.append('nats without JetStream')
if s['bridge']['environment'].get('XTB_JETSTREAM') != 'nats://nats:4222':
    problems.append('the bridge does not publish to the nats service')
if '/data' not in ' '.join(s['bridge']['volumes']):
    problems.append('no data volume')
print('; '.join(problems) or 'ok')
PY
)
check "compose.yaml: bridge (to JetStream), watch (xtbctl watch), NATS with JetStream" ok "$out"

echo "docker checks: $passed passed, $failed failed"
rm -rf "$tmp"
[ "$failed" = 0 ]
