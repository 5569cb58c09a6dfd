#!/bin/sh
# Batched record inserts through the storage interface, PostgreSQL against SQLite with the
# same driver (bench/store-insert.c): a private PostgreSQL 15 (fsync on, Unix socket only,
# started and removed by the driver) and a SQLite file (WAL, synchronous=FULL) in a temporary
# directory. Each run: RECORDS records from 500 hosts in transactions of PER_TX, as ingest
# stores them (db_record_insert with ret_inserted NULL, one commit per transaction).
# TYPE (default bench, a type no derived table reads) may be resources, network, status or
# exec: then the read API's tables are kept too (SQLite's triggers, PostgreSQL's apply).
# Usage (after a build): bench/store-pg-insert.sh [BUILD_DIR] [RECORDS] [PER_TX] [TYPE]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh"
bench_self_lock "$0" "$@"
build=${1:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
records=${2:-200000}
per_tx=${3:-500}
type=${4:-bench}
bin=$build/store-insert
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -DSRVMON_WITH_POSTGRESQL=1 \
	-I"$src/server" -I"$src/user/lib" -I"$src/include" -I"$build" -I"$src/tests/unit" \
	-o "$bin" "$src/bench/store-insert.c" "$src/tests/unit/pg_fixture.c" \
	"$build/server/libsrvmon_server_core.a" "$build/user/libsrvmon_common.a" \
	$(pkg-config --libs libwebsockets libcjson sqlite3 libargon2 libcrypto libcurl libpq) \
	-lpthread
work=$(mktemp -d /tmp/srvmon-store-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo '```'
# Alternating, three times each: a load change hits both engines alike.
for run in 1 2 3; do
	rm -f "$work"/db*
	"$bin" --db "$work/db" --records "$records" --per-tx "$per_tx" --type "$type"
	"$bin" --pg --records "$records" --per-tx "$per_tx" --type "$type"
done
echo '```'
