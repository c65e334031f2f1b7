#!/usr/bin/env bash
# Benchmark: start a bridge (sim backend, ample cash, fresh data dir) on ipc:// and run
# xtb_bench against it; prints latency and throughput as ratios to raw libzmq measured in
# the same run. Usage: bench/run.sh [BUILD_DIR] [ROUNDS PER_ROUND PIPELINE]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
./scripts/bootstrap.sh "$build" -DCMAKE_BUILD_TYPE=Release
dir=$(mktemp -d /tmp/xtb-bench.XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
cat > "$dir/bench.cfg" <<CFG
sim
    account
        id = 1000000365
        cash = 10000000000
CFG
"$build/bin/xtbridge" --router "ipc://$dir/router" --pub "ipc://$dir/pub" --data "$dir/data" \
  --config "$dir/bench.cfg" --log-level warn &
pid=$!
"$build/bin/xtb_bench" "ipc://$dir/router" "$@"
