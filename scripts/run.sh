#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: install dependencies, build, and run the bridge
# on the embedded `sim` backend (account 1000000365) on the protocol page's default
# endpoints. Extra arguments go to xtbridge (see build/bin/xtbridge --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh build
mkdir -p xtbridge-data
exec ./build/bin/xtbridge --backend sim --data ./xtbridge-data "$@"
