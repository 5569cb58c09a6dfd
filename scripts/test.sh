#!/bin/sh
# The README's test command: installs what is missing, builds, runs the whole
# suite with ctest (unit, BPF in the running kernel, integration against a real
# srvmon-server on loopback). Run it as root: the BPF and namespace tests need it.
#
# The suite runs twice: first built with AddressSanitizer + UndefinedBehaviorSanitizer
# (every process's log is checked for sanitizer reports), then the normal build,
# whose ctest summary ends the output. SRVMON_SKIP_SANITIZE=1 skips the first pass.
# The tests on PostgreSQL (ctest label pg: the server suite again on a private PostgreSQL,
# tests/integration/srvmon_pg.py, and the multi-node and outage tests) run in the second
# pass only, to keep the suite's time.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

if [ "${SRVMON_SKIP_SANITIZE:-0}" != 1 ]; then
	echo "== pass 1: AddressSanitizer + UndefinedBehaviorSanitizer =="
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DSRVMON_SANITIZE=ON >/dev/null
	cmake --build build-sanitize -j"$(nproc)" >/dev/null
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir build-sanitize -j2 --output-on-failure --timeout 600 -LE pg "$@"
fi

echo "== pass 2: release build =="
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" -j2 --output-on-failure --timeout 600 "$@"
