#!/bin/sh
# CPU of an otherwise idle srvmon-agent at 1 s intervals, with the exec history on
# beside the same agent with it off (the reference), in one run: resources and network
# every 1 s, shipping to srvmon-server on 127.0.0.1, speed tests off; "history on" adds
# [history] with its defaults (cwd walked in the kernel, trail on); "history on,
# machine's execs filtered" is the same with history.min_uid = 4000000000, so the kernel
# drops every exec of the machine before the ring buffer: what history costs the agent
# on an idle machine, measurable on a busy one. The three take turns
# for ROUNDS rounds; each run starts the agent, lets it settle for 5 s (the BPF load is
# not the steady state), then measures SECONDS s of CPU: all its threads' run time from
# schedstat (exact, not tick-sampled). The machine's execs in the window are traced by a
# history-on agent whatever their origin, so the table also shows how many exec records
# it wrote to its trail in the window and the machine's forks per second (/proc/stat
# "processes"): on an idle machine both are about 0.
# Usage (as root): bench/agent-idle-cpu.sh [SECONDS] [ROUNDS]   (default 30 3)
# It takes /tmp/srvmon-bench.lock itself (bench_self_lock): do not run it under flock.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_self_lock "$0" "$@"
DURATION=${1:-30}
ROUNDS=${2:-3}
[ "$(id -u)" -eq 0 ] || { echo "agent-idle-cpu: run as root (BPF)" >&2; exit 1; }

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

WORK=$(mktemp -d /tmp/srvmon-idlecpu.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

srvmon_server_start build-bench "$WORK" || { PIDS="$PIDS $SERVER_PID"; exit 1; }
PIDS="$PIDS $SERVER_PID"
for v in off on quiet; do
	srvmon_agent_conf "$WORK/$v.conf" "$WORK/state-$v"
	cat >>"$WORK/$v.conf" <<CONF
[resources]
interval = 1s
[network]
interval = 1s
[speedtest]
enabled = false
CONF
done
printf '[history]\nenabled = false\n' >>"$WORK/off.conf"
printf '[history]\nenabled = true\ntrail_path = %s\n' "$WORK/trail.jsonl" >>"$WORK/on.conf"
printf '[history]\nenabled = true\ntrail_path = %s\nmin_uid = 4000000000\n' \
	"$WORK/trail-quiet.jsonl" >>"$WORK/quiet.conf"

forks() { awk '$1 == "processes" { print $2 }' /proc/stat; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
# One line per run: VARIANT CPU_NS WALL_NS EXEC_RECORDS FORKS
for r in $(seq 1 "$ROUNDS"); do
	for v in off on quiet; do
		srvmon_agent_start build-bench "$WORK/$v.conf" "$WORK/agent-$v.log" ||
			{ PIDS="$PIDS $AGENT_PID"; exit 1; }
		PIDS="$PIDS $AGENT_PID"
		sleep 5
		c0=$(cpu_ns "$AGENT_PID")
		trail=$WORK/trail.jsonl
		[ "$v" = quiet ] && trail=$WORK/trail-quiet.jsonl
		e0=$(lines "$trail")
		f0=$(forks)
		t0=$(date +%s%N)
		sleep "$DURATION"
		c1=$(cpu_ns "$AGENT_PID")
		t1=$(date +%s%N)
		e1=$(lines "$trail")
		f1=$(forks)
		echo "$v $((c1 - c0)) $((t1 - t0)) $((e1 - e0)) $((f1 - f0))" >>"$WORK/runs"
		echo "agent-idle-cpu: round $r, history $v: $(((c1 - c0) / 1000)) µs of CPU in $(((t1 - t0) / 1000000)) ms" >&2
		kill "$AGENT_PID"
		wait "$AGENT_PID" || true
		PIDS=$(echo "$PIDS" | sed "s/ $AGENT_PID\$//")
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "| agent (resources 1 s, network 1 s) | CPU, median of $ROUNDS (% of one core) | lowest–highest run (%) | CPU per second, median (µs/s) | exec records traced in the window, per run | machine's forks per second, per run |"
echo "| --- | --- | --- | --- | --- | --- |"
for v in off on quiet; do
	awk -v v="$v" '$1 == v { pct = 100 * $2 / $3; n++; p[n] = pct; u[n] = 1e6 * $2 / $3
		rec = rec (rec == "" ? "" : ", ") $4; f = f (f == "" ? "" : ", ") sprintf("%.1f", $5 * 1e9 / $3) }
	END {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (p[j] < p[i]) { t = p[i]; p[i] = p[j]; p[j] = t; t = u[i]; u[i] = u[j]; u[j] = t }
		m = (n % 2) ? p[(n + 1) / 2] : (p[n / 2] + p[n / 2 + 1]) / 2
		mu = (n % 2) ? u[(n + 1) / 2] : (u[n / 2] + u[n / 2 + 1]) / 2
		label = v == "off" ? "history off (the reference)" : v == "on" ? "history on (defaults, trail on)" : "history on, every exec filtered in the kernel (min_uid)"
		printf "| %s | %.3f %% | %.3f–%.3f | %.0f | %s | %s |\n", label, m, p[1], p[n], mu, (v == "off" ? "– (not traced)" : rec), f
	}' "$WORK/runs"
done
echo
echo "$ROUNDS interleaved rounds of $DURATION s per variant after 5 s of settling; CPU = run time of all the agent's threads (schedstat); kernel $(uname -r); load average $LOAD0 at the start, $LOAD1 at the end."
