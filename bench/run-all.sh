#!/bin/sh
# Runs every benchmark of the project and regenerates docs/BENCHMARKS.md from the run:
# the machine description and, for each script, its output (figures, and the peer
# figures it measures in the same window) with the exact command, between
#   <!-- BEGIN GENERATED: bench/NAME.sh --> ... <!-- END GENERATED: bench/NAME.sh -->
# markers. The prose around the markers (method, analysis) is kept as written; a script
# whose markers are missing gets a new section at the end. Not run by the test suite.
# Usage (as root): bench/run-all.sh [--only NAME.sh] [--doc PATH]
#   --only: run one script (the other blocks stay as they are)
#   --doc:  write another file than docs/BENCHMARKS.md (e.g. to review a run first)
# The whole run holds /tmp/srvmon-bench.lock (flock), so no other benchmark overlaps it;
# the scripts it runs see SRVMON_BENCH_LOCKED=1 and do not take the lock again (they
# would wait for it forever). Do not wrap it in flock yourself.
set -eu
. "$(dirname "$0")/lib.sh"
bench_self_lock "$0" "$@"
export SRVMON_BENCH_LOCKED
cd "$(dirname "$0")/.."
DOC=docs/BENCHMARKS.md
ONLY=
while [ $# -gt 0 ]; do
	case "$1" in
	--only) ONLY=$2; shift 2 ;;
	--doc) DOC=$2; shift 2 ;;
	*) echo "usage: $0 [--only NAME.sh] [--doc PATH]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "run-all: run as root (BPF, /proc of other processes)" >&2; exit 1; }
[ -f "$DOC" ] || cp docs/BENCHMARKS.md "$DOC"

# The arguments each benchmark runs with: the ones its section in docs/BENCHMARKS.md
# documents. A script not listed here runs without arguments.
args_of() {
	case "$1" in
	agent-vs-node-exporter.sh) echo "60" ;;
	agent-memory.sh) echo "30" ;;
	exec-overhead.sh) echo "20000 3" ;;
	soak.sh) echo "build-bench 600 60" ;;
	replay.sh) echo "build-bench 248" ;;
	ingest-load.sh) echo "build-bench 30 500" ;;
	ingest-engines.sh) echo "build-bench 20 500" ;;
	exec-peers.sh) echo "5000 3" ;;
	exec-loss.sh) echo "4000" ;;
	exec-kernel-cost.sh) echo "3000 5" ;;
	store-pg-insert.sh) echo "build-bench 200000 500" ;;
	*) echo "" ;;
	esac
}

# Not benchmarks: this script, the long fuzzing run (it finds crashes, it measures
# nothing) and the steps the scripts share (lib.sh, sourced).
skip() {
	case "$1" in
	run-all.sh | fuzz-long.sh | lib.sh) return 0 ;;
	*) return 1 ;;
	esac
}

OUT=$(mktemp -d /tmp/srvmon-run-all.XXXXXX)
trap 'rm -rf "$OUT"' EXIT INT TERM

# soak.sh and replay.sh take a build directory: the Release build the others make.
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

# The machine, as the figures were measured on it.
# shellcheck source=/dev/null
. /etc/os-release
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MEM=$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
{
	echo "Machine (measured by \`bench/run-all.sh\`, $(date -u +%Y-%m-%d)): $PRETTY_NAME, kernel"
	echo "$(uname -r), $(nproc) vCPUs ($CPU), $MEM GiB RAM; load average at the start:"
	echo "$(cut -d' ' -f1-3 /proc/loadavg). Builds: \`-DCMAKE_BUILD_TYPE=Release\`."
} >"$OUT/machine.md"
echo machine >"$OUT/names"

for path in bench/*.sh; do
	name=$(basename "$path")
	skip "$name" && continue
	[ -n "$ONLY" ] && [ "$name" != "$ONLY" ] && continue
	args=$(args_of "$name")
	echo "run-all: $path $args" >&2
	status=0
	# shellcheck disable=SC2086
	sh "$path" $args >"$OUT/$name.out" 2>"$OUT/$name.err" || status=$?
	{
		echo "Measured by \`bench/run-all.sh\` on $(date -u +%Y-%m-%d): \`$path${args:+ $args}\`" \
			"(exit status $status)."
		echo
		if [ -s "$OUT/$name.out" ]; then
			cat "$OUT/$name.out"
		else
			echo "No output; the last lines of its error output:"
			echo
			echo '```'
			tail -5 "$OUT/$name.err"
			echo '```'
		fi
	} >"$OUT/$name.md"
	echo "$name" >>"$OUT/names"
	[ "$status" -eq 0 ] || echo "run-all: $path failed with status $status" >&2
done

python3 - "$DOC" "$OUT" <<'PY'
import os, re, sys
doc, out = sys.argv[1], sys.argv[2]
with open(doc) as f:
    text = f.read()
for name in open(os.path.join(out, "names")).read().split():
    key = "machine" if name == "machine" else "bench/" + name
    with open(os.path.join(out, name + ".md")) as f:
        block = f.read().rstrip("\n")
    begin, end = "<!-- BEGIN GENERATED: %s -->" % key, "<!-- END GENERATED: %s -->" % key
    new = "%s\n%s\n%s" % (begin, block, end)
    pat = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pat.search(text):
        text = pat.sub(lambda m: new, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n## %s\n\n%s\n" % (key, new)
with open(doc + ".tmp", "w") as f:
    f.write(text)
os.replace(doc + ".tmp", doc)
PY
echo "run-all: $DOC regenerated" >&2
