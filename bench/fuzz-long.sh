#!/bin/sh
# Runs every libFuzzer target for longer than ctest does (default 10 minutes each), from
# tests/fuzz/corpus/<name>/, keeping new inputs in BUILD/tests/fuzz/long_<name>/.
# A crash leaves crash-* there: fix it, then copy the input into tests/fuzz/corpus/<name>/
# as a regression input. Usage: bench/fuzz-long.sh [BUILD_DIR] [SECONDS_EACH]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
secs=${2:-600}
jobs=$(nproc)
status=0
for name in config server_message proc ingest; do
	bin=$build/tests/fuzz/fuzz_$name
	[ -x "$bin" ] || { echo "fuzz-long: $bin missing (configure with clang present)" >&2; exit 1; }
	out=$build/tests/fuzz/long_$name
	mkdir -p "$out"
	echo "fuzz-long: $name for ${secs}s on $jobs jobs"
	# -jobs writes fuzz-<n>.log into the current directory: keep them with the rest.
	if ! (cd "$out" && "$bin" -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$out/" "$out" "$src/tests/fuzz/corpus/$name" \
		>"$out/log" 2>&1); then
		echo "fuzz-long: $name FOUND A CRASH: see $out/ and $out/log" >&2
		status=1
	fi
done
exit $status
