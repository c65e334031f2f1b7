#!/usr/bin/env bash
# Install what xtbridge needs on Debian 12 (apt only), then configure and build it.
# Used by scripts/run.sh, scripts/test.sh and docker/Dockerfile, so a fresh machine, CI and
# the image all set up the same way. Usage: scripts/bootstrap.sh [BUILD_DIR] [cmake args...]
#   scripts/bootstrap.sh --windows: instead, what the Windows cross-build and its Wine run
#   need (scripts/build-windows.sh, scripts/test-windows.sh): mingw-w64, Wine, dpkg-dev, and
#   a deb-src line for the mirror already configured so `apt-get source` works.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if [ "${1:-}" = --windows ]; then
  if [ -z "$(apt-cache showsrc zeromq3 2>/dev/null)" ]; then
    # the same mirrors as the binary packages, as deb-src
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
        $SUDO tee /etc/apt/sources.list.d/xtbridge-deb-src.sources >/dev/null
    else
      grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
        $SUDO tee /etc/apt/sources.list.d/xtbridge-deb-src.list >/dev/null
    fi
    echo "bootstrap: added deb-src lines for apt-get source"
    $SUDO apt-get update -qq
  fi
  missing=()
  for p in mingw-w64 wine wine64 dpkg-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  exit 0
fi

PACKAGES="build-essential cmake pkg-config libzmq3-dev libczmq-dev libprotobuf-c-dev
protobuf-c-compiler protobuf-compiler libcriterion-dev liblmdb-dev lmdb-utils
python3 python3-zmq python3-protobuf python3-pytest python3-yaml libpython3-dev libnats-dev nats-server"
# Only for a fuzzing build (fuzz/run.sh passes -DXTB_FUZZ=ON): clang and its libFuzzer and
# sanitizer runtimes. Not in the image or a plain build.
FUZZ_PACKAGES="clang libclang-rt-14-dev"
case " $* " in *" -DXTB_FUZZ=ON "*) PACKAGES="$PACKAGES $FUZZ_PACKAGES" ;; esac
# Only for the benchmark (bench/run.sh passes -DXTB_BENCH=ON): gnuplot draws its PNG.
BENCH_PACKAGES="gnuplot-nox"
case " $* " in *" -DXTB_BENCH=ON "*) PACKAGES="$PACKAGES $BENCH_PACKAGES" ;; esac

missing=()
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The Node client (clients/node) and its tests: Debian's nodejs and npm when there is no
# node / npm on PATH (a newer Node already installed is used as it is). Not for a build
# without tests (the image: -DXTB_TESTS=OFF).
with_node=1
case " $* " in *" -DXTB_TESTS=OFF "*) with_node=0 ;; esac
if [ $with_node = 1 ]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  # the live monitor's page test drives Debian's Chromium headless
  dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" ||
    missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# clients/node's npm dependencies, exactly as package-lock.json pins them (again only when
# the lock file changed since the last install)
if [ $with_node = 1 ] && { [ ! -f clients/node/node_modules/.package-lock.json ] ||
  [ clients/node/package-lock.json -nt clients/node/node_modules/.package-lock.json ]; }; then
  echo "bootstrap: npm ci in clients/node"
  (cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ $with_node = 1 ] && { [ ! -f clients/node/monitor/node_modules/.package-lock.json ] ||
  [ clients/node/monitor/package-lock.json -nt clients/node/monitor/node_modules/.package-lock.json ]; }; then
  echo "bootstrap: npm ci in clients/node/monitor"
  (cd clients/node/monitor && npm ci --no-audit --no-fund --loglevel=error)
fi

build_dir=${1:-build}
shift || true
cmake -S . -B "$build_dir" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
