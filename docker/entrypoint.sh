#!/usr/bin/env bash
# xtbridge container entrypoint: builds the bridge's command line from the environment (or
# a mounted config file), runs the bridge, and answers the image's HEALTHCHECK with
# `xtbctl ping`. A thin layer: every decision about endpoints and keys stays the bridge's
# own (it refuses a non-loopback bind without CURVE unless --insecure, names a bad key ...).
#
#   xtbridge-entrypoint [BRIDGE_ARGS...]       run the bridge; BRIDGE_ARGS are appended
#   xtbridge-entrypoint args [BRIDGE_ARGS...]  print its command line, one word a line
#   xtbridge-entrypoint healthcheck            exit 0 when the bridge answers a ping
#
# Environment (default in brackets):
#   XTB_ROUTER [tcp://*:58610]  XTB_PUB [tcp://*:58611]  XTB_PUB_ADVERTISE (what clients
#       must connect to behind a port mapping, e.g. tcp://bridge.example:58611)
#   XTB_CONFIG [/config/xtbridge.cfg when it exists]: the bridge's config file. With a
#       config file, endpoints come from it unless XTB_ROUTER / XTB_PUB are set.
#   XTB_DATA [/data]  XTB_BACKEND [sim]  XTB_LOG_LEVEL  XTB_HEARTBEAT_MS  XTB_DURABILITY
#   XTB_JETSTREAM (nats://HOST:PORT: every journaled event also to NATS JetStream)
#   XTB_JETSTREAM_STREAM (the stream's name; the bridge's default XTB)
#   CURVE: XTB_CURVE_SECRET [/keys/server.cert when it exists], the bridge's czmq cert
#       (FILE_secret beside it is read), or XTB_CURVE_PUBLIC_KEY + XTB_CURVE_SECRET_KEY
#       (z85, 40 characters each); XTB_CLIENTS [/keys/clients]: one czmq public cert per
#       allowed client (their metadata holds accounts and role; see README).
#   XTB_INSECURE=1: --insecure (all interfaces without CURVE: trusted networks only).
#   XTB_RUN [/tmp/xtbridge]: files the entrypoint writes (server cert from env keys, the
#       clients dir the bridge reads: XTB_CLIENTS plus a reader key for the health check).
#   Health check: XTB_HEALTH_ROUTER [XTB_ROUTER's first endpoint, wildcard host ->
#       127.0.0.1]; with CURVE from a config file give XTB_HEALTH_CERT (a listed client's
#       secret cert) and XTB_HEALTH_SERVER (the bridge's public cert or z85 key).
#
# SIGHUP re-reads XTB_CLIENTS (copied again) and forwards the HUP: add or remove a client
# with `docker kill -s HUP`. SIGTERM/SIGINT go to the bridge, whose exit status is ours.
set -euo pipefail

run=${XTB_RUN:-/tmp/xtbridge}
config=${XTB_CONFIG:-}
if [ -z "$config" ] && [ -f /config/xtbridge.cfg ]; then config=/config/xtbridge.cfg; fi
curve_secret=${XTB_CURVE_SECRET:-}
if [ -z "$curve_secret" ] && [ -z "${XTB_CURVE_SECRET_KEY:-}" ] && [ -f /keys/server.cert ]; then
  curve_secret=/keys/server.cert
fi
clients=${XTB_CLIENTS:-/keys/clients}
health_name=xtbridge-healthcheck

die() {
  echo "xtbridge-entrypoint: $*" >&2
  exit 2
}

# CURVE on: from a cert file, or from keys in the environment (written to a cert file)
curve_mode() {
  if [ -n "${XTB_CURVE_SECRET_KEY:-}" ] || [ -n "${XTB_CURVE_PUBLIC_KEY:-}" ]; then
    echo env
  elif [ -n "$curve_secret" ]; then
    echo file
  else
    echo off
  fi
}

# The bridge's command line, one word per array element, in $cmd.
build_args() {
  cmd=(xtbridge --backend "${XTB_BACKEND:-sim}")
  if [ -n "$config" ]; then
    [ -f "$config" ] || die "XTB_CONFIG $config: no such file"
    cmd+=(--config "$config")
    [ -z "${XTB_ROUTER:-}" ] || cmd+=(--router "$XTB_ROUTER")
    [ -z "${XTB_PUB:-}" ] || cmd+=(--pub "$XTB_PUB")
  else
    cmd+=(--router "${XTB_ROUTER:-tcp://*:58610}" --pub "${XTB_PUB:-tcp://*:58611}")
  fi
  [ -z "${XTB_PUB_ADVERTISE:-}" ] || cmd+=(--pub-advertise "$XTB_PUB_ADVERTISE")
  cmd+=(--data "${XTB_DATA:-/data}")
  [ -z "${XTB_LOG_LEVEL:-}" ] || cmd+=(--log-level "$XTB_LOG_LEVEL")
  [ -z "${XTB_HEARTBEAT_MS:-}" ] || cmd+=(--heartbeat-ms "$XTB_HEARTBEAT_MS")
  [ -z "${XTB_DURABILITY:-}" ] || cmd+=(--durability "$XTB_DURABILITY")
  [ -z "${XTB_JETSTREAM:-}" ] || cmd+=(--jetstream "$XTB_JETSTREAM")
  [ -z "${XTB_JETSTREAM_STREAM:-}" ] || cmd+=(--jetstream-stream "$XTB_JETSTREAM_STREAM")
  case $(curve_mode) in
    env) cmd+=(--curve-secret "$run/server.cert" --clients "$run/clients") ;;
    file) cmd+=(--curve-secret "$curve_secret" --clients "$run/clients") ;;
  esac
  case ${XTB_INSECURE:-} in
    1 | true | yes) cmd+=(--insecure) ;;
    '' | 0 | false | no) ;;
    *) die "XTB_INSECURE='$XTB_INSECURE': want 1 or 0" ;;
  esac
  cmd+=("$@")
}

# The bridge's server cert from XTB_CURVE_PUBLIC_KEY / XTB_CURVE_SECRET_KEY (czmq format).
write_server_cert() {
  local pub=${XTB_CURVE_PUBLIC_KEY:-} sec=${XTB_CURVE_SECRET_KEY:-}
  [ ${#pub} = 40 ] || die "XTB_CURVE_PUBLIC_KEY must be a 40-character z85 key (got ${#pub} characters)"
  [ ${#sec} = 40 ] || die "XTB_CURVE_SECRET_KEY must be a 40-character z85 key (got ${#sec} characters)"
  printf '#   ZeroMQ CURVE Public Certificate (xtbridge-entrypoint)\n\nmetadata\ncurve\n    public-key = "%s"\n' \
    "$pub" >"$run/server.cert"
  (umask 077 && printf '#   ZeroMQ CURVE **Secret** Certificate (xtbridge-entrypoint)\n\nmetadata\ncurve\n    public-key = "%s"\n    secret-key = "%s"\n' \
    "$pub" "$sec" >"$run/server.cert_secret")
}

# The clients dir the bridge reads: every public cert of XTB_CLIENTS plus our health key
# (a reader of no real account: it may ping, nothing more).
sync_clients() {
  [ -d "$clients" ] || die "XTB_CLIENTS $clients: no such directory (the allowed client certs)"
  rm -rf "$run/clients.new"
  mkdir -p "$run/clients.new"
  local f
  for f in "$clients"/*; do
    [ -f "$f" ] || continue
    case $f in *_secret) continue ;; esac
    cp "$f" "$run/clients.new/"
  done
  cp "$run/$health_name" "$run/clients.new/$health_name"
  rm -rf "$run/clients"
  mv "$run/clients.new" "$run/clients"
}

prepare() {
  mkdir -p "$run"
  chmod 700 "$run"
  local mode
  mode=$(curve_mode)
  rm -f "$run/health.env"
  [ "$mode" != off ] || return 0
  [ "$mode" != env ] || write_server_cert
  if [ ! -f "$run/${health_name}_secret" ]; then
    xtbctl keygen "$run/$health_name" --accounts healthcheck --role reader >/dev/null
  fi
  sync_clients
  local server=$run/server.cert
  [ "$mode" = env ] || server=$curve_secret
  printf 'health_cert=%q\nhealth_server=%q\n' "$run/${health_name}_secret" "$server" >"$run/health.env"
}

# The endpoint the health check pings: XTB_HEALTH_ROUTER, else the ROUTER's first endpoint
# (from XTB_ROUTER, the config file's `router`, or the default) with a wildcard host made
# 127.0.0.1.
health_router() {
  if [ -n "${XTB_HEALTH_ROUTER:-}" ]; then
    echo "$XTB_HEALTH_ROUTER"
    return
  fi
  local ep=${XTB_ROUTER:-}
  if [ -z "$ep" ] && [ -n "$config" ] && [ -f "$config" ]; then
    ep=$(sed -n 's/^[[:space:]]*router[[:space:]]*=[[:space:]]*//p' "$config" | head -1)
    ep=${ep%%#*}
    ep=${ep//\"/}
    ep=${ep//[[:space:]]/}
  fi
  ep=${ep:-tcp://*:58610}
  ep=${ep%%,*}
  ep=${ep#@}
  case $ep in
    '>'*) die "the ROUTER connects out ($ep): set XTB_HEALTH_ROUTER" ;;
    tcp://\*:* | tcp://0.0.0.0:*) ep="tcp://127.0.0.1:${ep##*:}" ;;
    'tcp://[::]:'*) ep="tcp://[::1]:${ep##*:}" ;;
  esac
  echo "$ep"
}

healthcheck() {
  local args=(--router "$(health_router)" --timeout "${XTB_HEALTH_TIMEOUT_MS:-2000}")
  local health_cert=${XTB_HEALTH_CERT:-} health_server=${XTB_HEALTH_SERVER:-}
  if [ -z "$health_cert" ] && [ -f "$run/health.env" ]; then
    # shellcheck disable=SC1091
    . "$run/health.env"
  fi
  [ -z "$health_cert" ] || args+=(--curve-cert "$health_cert" --curve-server "$health_server")
  exec xtbctl "${args[@]}" ping --count 1
}

run_bridge() {
  prepare
  build_args "$@"
  "${cmd[@]}" &
  local child=$! rc=0
  trap 'if [ "$(curve_mode)" != off ]; then sync_clients; fi; kill -HUP "$child" 2>/dev/null || true' HUP
  trap 'kill -TERM "$child" 2>/dev/null || true' TERM INT
  # `wait` returns early when a trapped signal arrives: wait again until the bridge is gone
  while :; do
    rc=0
    wait "$child" || rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  exit "$rc"
}

case ${1:-} in
  args)
    shift
    build_args "$@"
    printf '%s\n' "${cmd[@]}"
    ;;
  healthcheck) healthcheck ;;
  *) run_bridge "$@" ;;
esac
