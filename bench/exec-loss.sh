#!/bin/sh
# Does srvmon lose execs under a sustained storm, and from which rate? For each
# history.ringbuf_size in SIZES and each worker count in WORKERS: srvmon-agent (history
# on, argv in full, trail on, shipping to srvmon-server on 127.0.0.1) records a storm of
# N fork+execve of /bin/true run by that many parallel processes (bench/exec-loop.c).
# Prints a Markdown table: the exec rate the storm reached, the storm's execs the agent
# read from the kernel ring (counted in its trail, written as it drains: what happens
# downstream, the shipping, is the spool's business and loses nothing) and the kernel's
# loss counter (ringbuf_full of the exec_stats map, pinned in a directory of its own;
# the agent adds it to events_lost in its status records).
# Usage: bench/exec-loss.sh [N] [WORKERS] [SIZES]
#   (as root; default 4000 "1 4" "65536 8388608"; 65536 is the smallest ring allowed,
#   8388608 the default). BUILD=dir selects the Release build directory (build-bench).
set -eu
# The whole run holds /tmp/srvmon-bench.lock (flock), so two benchmarks never overlap;
# a caller that already holds it (bench/run-all.sh) sets SRVMON_BENCH_LOCKED=1.
. "$(dirname "$0")/lib.sh"
bench_self_lock "$0" "$@"
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-4000}
WORKERS=${2:-1 4}
SIZES=${3:-65536 8388608}
BUILD=${BUILD:-build-bench}

[ "$(id -u)" -eq 0 ] || { echo "exec-loss: run as root" >&2; exit 1; }
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

WORK=$(mktemp -d /tmp/srvmon-exec-loss.XXXXXX)
PIN=/sys/fs/bpf/srvmon-exec-loss-$$ # the agent pins exec_stats here, removes it at exit
SERVER_PID=
AGENT_PID=
LOOP_PID=
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	stop_pid "$LOOP_PID"
	stop_pid "$AGENT_PID"
	stop_pid "$SERVER_PID"
	rm -rf "$WORK"
	rmdir "$PIN" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
cc -O2 -o "$WORK/exec-loop" bench/exec-loop.c

srvmon_server_start "$BUILD" "$WORK"

# The kernel's exec counters summed over the CPUs: "ringbuf_full emitted".
exec_stats() {
	bpftool -j map dump pinned "$PIN/exec_stats" | python3 -c '
import json, sys
v = json.load(sys.stdin)[0]["formatted"]["values"]
print(sum(c["value"]["ringbuf_full"] for c in v), sum(c["value"]["emitted"] for c in v))'
}
# The storm's records the agent drained: its trail, written as it reads the ring.
trail_count() { grep -c "\"comm\":\"true\".*\"$TAG\"\]" "$WORK/exec-$size-$w.jsonl" || true; }

echo "| history.ringbuf_size | workers | execs/s reached | storm execs read from the ring | lost in the kernel (ringbuf_full) | records emitted in the window (whole machine) | agent CPU per record (µs) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
HZ=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for size in $SIZES; do
	for w in $WORKERS; do
		TAG="srvmon-loss-$size-$w"
		(
			umask 077
			srvmon_exec_conf "$WORK/agent.conf" "$WORK/state-$size-$w" \
				"$WORK/exec-$size-$w.jsonl" "bpf_pin_dir = $PIN"
			echo "ringbuf_size = $size" >>"$WORK/agent.conf"
		)
		srvmon_agent_start "$BUILD" "$WORK/agent.conf" "$WORK/agent-$size-$w.log"
		# shellcheck disable=SC2046
		set -- $(exec_stats)
		F0=$1 E0=$2
		A0=$(cpu_ticks "$AGENT_PID")
		"$WORK/exec-loop" "$N" "$TAG" "$w" >"$WORK/loop" &
		LOOP_PID=$!
		wait "$LOOP_PID"
		LOOP_PID=
		read -r WALL _ <"$WORK/loop"
		# Until every exec of the storm is read or counted lost (at most 60 s).
		for _ in $(seq 1 600); do
			GOT=$(trail_count)
			# shellcheck disable=SC2046
			set -- $(exec_stats)
			[ $((GOT + $1 - F0)) -ge "$N" ] && break
			sleep 0.1
		done
		A1=$(cpu_ticks "$AGENT_PID")
		F1=$1 E1=$2
		stop_pid "$AGENT_PID"
		AGENT_PID=
		awk -v s="$size" -v w="$w" -v n="$N" -v wall="$WALL" -v got="$GOT" -v lost="$((F1 - F0))" \
			-v a="$((A1 - A0))" -v hz="$HZ" -v e="$((E1 - E0))" 'BEGIN {
			printf "| %d | %d | %.0f | %d of %d | %d | %d | %.1f |\n", s, w, n / wall, got, n, lost,
				e, e ? a / hz / e * 1e6 : 0
		}'
	done
done
echo
echo "N = $N execs a storm; load average $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
