#!/bin/sh
# The README's test command: installs what is missing, builds, runs the whole
# suite with ctest (unit, BPF in the running kernel, integration against a real
# srvmon-server on loopback). Run as root: the BPF and namespace tests need it.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure --timeout 600 "$@"
