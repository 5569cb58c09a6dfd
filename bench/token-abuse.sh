#!/bin/sh
# srvmon-server under a login storm: the median and p95 of GET /health on 127.0.0.1 alone,
# then while 200 wrong-password POST /token requests arrive from 10 source addresses
# (127.0.0.2 .. 127.0.0.11, 20 each, 20 in flight at a time; 10 of the 20 addresses'
# requests name one account, the other half unknown accounts). Prints the two medians, the
# replies to the storm by status and how long it took. Bounded: 200 logins and 400 probes.
# Usage (after a build): bench/token-abuse.sh [BUILD_DIR] [EXTRA SERVER ARGS...]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh"
bench_self_lock "$0" "$@"
build=${1:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
[ $# -gt 0 ] && shift
export SRVMON_SERVER=$build/server/srvmon-server
export PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1
exec python3 -u "$src/bench/tools/token_abuse.py" "$@"
