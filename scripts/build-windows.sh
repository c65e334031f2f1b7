#!/usr/bin/env bash
# Cross-build xtbridge.exe, xtbctl.exe and the C client library (libxtbclient.a) for 64-bit
# Windows on Debian 12 with mingw-w64, statically linked (a self-contained .exe).
#
# The dependencies come from Debian's own source packages (`apt-get source`, which needs a
# deb-src line: scripts/bootstrap.sh --windows adds one for the mirror already in use):
# zeromq3 (libzmq, CURVE through its bundled tweetnacl), czmq, protobuf-c (the runtime only;
# code generation uses the host's protoc-c) and lmdb. Each is built once into
#   build-win/deps/<key>/prefix
# where <key> names the source versions; each dependency has a stamp there naming its recipe
# (bumped when its build steps change), so a second run only rebuilds the project.
#
# Usage: scripts/build-windows.sh [--jobs N] [--python-home DIR] [--build-dir DIR]
#   --python-home DIR  also build the xtquant backend against the Windows CPython in DIR
#                      (DIR/include, DIR/libs/pythonXY.lib or DIR/pythonXY.dll: the Python
#                      bundled with MiniQMT). Off by default: the bridge then offers `sim`.
#   --jobs N           parallel make jobs (default 1).
# Result: <build-dir>/bin/xtbridge.exe, xtbctl.exe (default build-dir: build-win/project).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

jobs=1
python_home=""
project_build=build-win/project
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs=$2; shift 2 ;;
    --python-home) python_home=$2; shift 2 ;;
    --build-dir) project_build=$2; shift 2 ;;
    *) echo "build-windows: unknown argument $1" >&2; exit 1 ;;
  esac
done

host=x86_64-w64-mingw32
for tool in $host-gcc-posix $host-g++-posix cmake protoc-c dpkg-source; do
  command -v "$tool" >/dev/null || {
    echo "build-windows: $tool missing (scripts/bootstrap.sh --windows installs it)" >&2
    exit 1
  }
done

# The cache key: the source packages' versions.
sources="zeromq3 czmq protobuf-c lmdb"
key="src"
for s in $sources; do
  v=$(apt-cache showsrc "$s" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1)
  [ -n "$v" ] || {
    echo "build-windows: no source package $s (is there a deb-src line? scripts/bootstrap.sh --windows)" >&2
    exit 1
  }
  key="$key-$s-${v//[^A-Za-z0-9.+~]/_}"
done
deps=$root/build-win/deps/$key
prefix=$deps/prefix
toolchain=$root/cmake/mingw-w64-x86_64.cmake
log() { echo "build-windows: $*"; }

# Each dependency: a recipe number (bump it when its steps change) and a stamp when built.
fetch_sources() {
  [ -f "$deps/.sources" ] && return 0
  rm -rf "$deps/src"
  mkdir -p "$deps/src" "$prefix/lib" "$prefix/include"
  (cd "$deps/src" && apt-get source -qq $sources >/dev/null 2>&1) || {
    log "apt-get source $sources failed"
    exit 1
  }
  touch "$deps/.sources"
}

built() { [ -f "$deps/.built-$1" ]; }
stamp() {
  rm -f "$deps"/.built-"${1%-r*}"-r*
  touch "$deps/.built-$1"
}

# libzmq: static, no libsodium (CURVE with the bundled tweetnacl), no tests or tools, no
# ipc:// (mingw has no AF_UNIX headers libzmq can use; the bridge offers tcp on Windows)
build_zmq() {
  built zmq-r1 && return 0
  local src
  src=$(ls -d "$deps"/src/zeromq3-*/ | head -1)
  log "libzmq from $src"
  rm -rf "$deps/b-zmq"
  cmake -S "$src" -B "$deps/b-zmq" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DBUILD_SHARED=OFF -DBUILD_STATIC=ON -DBUILD_TESTS=OFF -DZMQ_BUILD_TESTS=OFF \
    -DWITH_DOCS=OFF -DWITH_LIBSODIUM=OFF -DENABLE_CURVE=ON \
    -DENABLE_DRAFTS=OFF -DENABLE_CPACK=OFF \
    -DENABLE_PRECOMPILED=OFF -DZMQ_HAVE_IPC=0 >"$deps/zmq.log" 2>&1
  cmake --build "$deps/b-zmq" -j"$jobs" --target install >>"$deps/zmq.log" 2>&1 || {
    tail -30 "$deps/zmq.log"
    exit 1
  }
  # libzmq may name its archive after the toolset and version (libzmq-mt-s-4_3_4.a)
  for a in "$prefix"/lib/libzmq*.a; do
    [ "$a" = "$prefix/lib/libzmq.a" ] || cp "$a" "$prefix/lib/libzmq.a"
  done
  stamp zmq-r1
}

# czmq: static (CZMQ_STATIC: no dllimport/dllexport), none of its optional libraries
build_czmq() {
  built czmq-r2 && return 0
  local src
  src=$(ls -d "$deps"/src/czmq-*/ | head -1)
  log "czmq from $src"
  rm -rf "$deps/b-czmq"
  cmake -S "$src" -B "$deps/b-czmq" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_PREFIX_PATH="$prefix" -DLIBZMQ_INCLUDE_DIRS="$prefix/include" \
    -DLIBZMQ_LIBRARIES="$prefix/lib/libzmq.a" -DCMAKE_C_FLAGS="-DZMQ_STATIC -DCZMQ_STATIC" \
    -DCZMQ_BUILD_SHARED=OFF -DCZMQ_BUILD_STATIC=ON -DENABLE_DRAFTS=OFF \
    -DCZMQ_WITH_UUID=OFF -DCZMQ_WITH_SYSTEMD=OFF -DCZMQ_WITH_LZ4=OFF \
    -DCZMQ_WITH_LIBCURL=OFF -DCZMQ_WITH_NSS=OFF -DCZMQ_WITH_LIBMICROHTTPD=OFF \
    -DBUILD_TESTING=OFF >"$deps/czmq.log" 2>&1
  cmake --build "$deps/b-czmq" -j"$jobs" --target czmq-static >>"$deps/czmq.log" 2>&1 || {
    tail -30 "$deps/czmq.log"
    exit 1
  }
  cp "$deps/b-czmq"/libczmq.a "$prefix/lib/libczmq.a"
  cp "$src"/include/*.h "$prefix/include/"
  stamp czmq-r2
}

# protobuf-c: the runtime is one C file; its build system would want the C++ protobuf
# library for the generator, which comes from the host instead
build_protobuf_c() {
  built pbc-r1 && return 0
  local src
  src=$(ls -d "$deps"/src/protobuf-c-*/ | head -1)
  log "protobuf-c runtime from $src"
  mkdir -p "$prefix/include/protobuf-c" "$deps/b-pbc"
  cp "$src/protobuf-c/protobuf-c.h" "$prefix/include/protobuf-c/"
  $host-gcc-posix -O2 -c "$src/protobuf-c/protobuf-c.c" -I"$src" -o "$deps/b-pbc/protobuf-c.o"
  rm -f "$prefix/lib/libprotobuf-c.a"
  $host-ar rcs "$prefix/lib/libprotobuf-c.a" "$deps/b-pbc/protobuf-c.o"
  stamp pbc-r1
}

# lmdb: mdb.c + midl.c (its Makefile is for POSIX hosts)
build_lmdb() {
  built lmdb-r1 && return 0
  local src
  src=$(ls -d "$deps"/src/lmdb-*/ | head -1)
  local lsrc=$src/libraries/liblmdb
  log "lmdb from $lsrc"
  mkdir -p "$deps/b-lmdb"
  for f in mdb midl; do
    $host-gcc-posix -O2 -c "$lsrc/$f.c" -I"$lsrc" -o "$deps/b-lmdb/$f.o" 2>>"$deps/lmdb.log"
  done
  rm -f "$prefix/lib/liblmdb.a"
  $host-ar rcs "$prefix/lib/liblmdb.a" "$deps/b-lmdb/mdb.o" "$deps/b-lmdb/midl.o"
  cp "$lsrc/lmdb.h" "$prefix/include/"
  stamp lmdb-r1
}

start=$(date +%s)
if built zmq-r1 && built czmq-r2 && built pbc-r1 && built lmdb-r1; then
  log "dependencies cached in $deps"
else
  log "building dependencies into $deps (-j$jobs)"
  fetch_sources
  build_zmq
  build_czmq
  build_protobuf_c
  build_lmdb
  log "dependencies built in $(($(date +%s) - start)) s"
fi

cmake_args=(-DCMAKE_TOOLCHAIN_FILE="$toolchain" -DXTB_DEPS_PREFIX="$prefix"
            -DCMAKE_BUILD_TYPE=Release -DXTB_TESTS=OFF)
if [ -n "$python_home" ]; then
  cmake_args+=(-DXTB_XTQUANT=ON -DXTB_WIN_PYTHON_HOME="$(cd "$python_home" && pwd)")
else
  cmake_args+=(-DXTB_XTQUANT=OFF)
fi
cmake -S . -B "$project_build" "${cmake_args[@]}" >/dev/null
cmake --build "$project_build" -j"$jobs"
log "built $(ls "$project_build"/bin/*.exe | tr '\n' ' ')in $(($(date +%s) - start)) s"
