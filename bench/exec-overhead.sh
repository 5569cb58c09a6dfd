#!/bin/sh
# Cost of the exec history on an exec storm: N sequential fork+exec of /bin/true from a
# shell loop, without any tracer and with srvmon-agent (history on, full argv, shipping
# to srvmon-server on 127.0.0.1, trail on), A/B interleaved for ROUNDS rounds.
# Prints a Markdown table: median wall time of the loop, its CPU (user+sys of the loop
# and its children), the agent's CPU per exec, the in-kernel time per exec (bpf_stats:
# run_time_ns / run_cnt of every exec program), completeness (records of the storm in
# the server's database) and exec -> server latency (received_ms - ts, p50/p99).
# Usage: bench/exec-overhead.sh [execs] [rounds]   (as root; default 20000 5)
set -eu
cd "$(dirname "$0")/.."
N=${1:-20000}
ROUNDS=${2:-5}
BUILD=build-exec-bench

cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build $BUILD -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

WORK=$(mktemp -d /tmp/srvmon-exec-bench.XXXXXX)
SERVER_PID=
AGENT_PID=
STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

printf 'bench-password\n' | $BUILD/server/srvmon-server user add bench --db "$WORK/db" >/dev/null
$BUILD/server/srvmon-server serve --db "$WORK/db" --listen 127.0.0.1 --port 0 2>"$WORK/server.log" &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
	PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$WORK/server.log")
	[ -n "$PORT" ] && break
	sleep 0.1
done
umask 077
cat >"$WORK/agent.conf" <<CONF
[server]
server_port = $PORT
client_id = bench
password = bench-password
[agent]
state_dir = $WORK/state
status_interval = 1s
[resources]
enabled = false
[network]
enabled = false
[history]
trail_path = $WORK/exec.jsonl
CONF

# The loop: prints "wall user+sys" of the shell and its children, in seconds.
storm() {
	python3 - "$N" "$1" <<'PY'
import os, resource, subprocess, sys, time
n, tag = int(sys.argv[1]), sys.argv[2]
t = time.monotonic()
subprocess.run(["/bin/sh", "-c", 'i=0; while [ $i -lt %d ]; do /bin/true %s; i=$((i+1)); done'
                % (n, tag)], check=True)
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % (wall, ru.ru_utime + ru.ru_stime))
PY
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

prog_stats() { # "run_time_ns run_cnt" of exec_ok, then of the failed-exec programs
	bpftool prog show -j | python3 -c '
import json, sys
t = c = ft = fc = 0
for p in json.load(sys.stdin):
    if p.get("name") == "exec_ok":
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
    if p.get("name") in ("exec_exit", "execat_exit"):
        ft += p.get("run_time_ns", 0); fc += p.get("run_cnt", 0)
print(t, c, ft, fc)'
}
exec_records() { sqlite3 "$WORK/db" "SELECT COUNT(*) FROM records WHERE type='exec'"; }

sysctl -qw kernel.bpf_stats_enabled=1
HZ=$(getconf CLK_TCK)
: >"$WORK/none"
: >"$WORK/agent"
for r in $(seq 1 "$ROUNDS"); do
	storm "none-$r" >>"$WORK/none"

	$BUILD/user/srvmon-agent --config "$WORK/agent.conf" 2>"$WORK/agent.log" &
	AGENT_PID=$!
	for _ in $(seq 1 100); do
		grep -q "connected to" "$WORK/agent.log" && break
		sleep 0.1
	done
	set -- $(prog_stats)
	T0=$1 C0=$2 FT0=$3 FC0=$4
	E0=$(exec_records)
	A0=$(cpu_ticks $AGENT_PID)
	RES=$(storm "srvmon-bench-$r")
	# Let the drain and the shipping finish before reading the agent's CPU.
	for _ in $(seq 1 600); do
		GOT=$(sqlite3 "$WORK/db" "SELECT COUNT(*) FROM records WHERE type='exec' AND body LIKE '%\"comm\":\"true\"%srvmon-bench-$r\"%'")
		[ "$GOT" -ge "$N" ] && break
		sleep 0.1
	done
	A1=$(cpu_ticks $AGENT_PID)
	set -- $(prog_stats)
	T1=$1 C1=$2 FT1=$3 FC1=$4
	E1=$(exec_records)
	LOST=$(sqlite3 "$WORK/db" "SELECT json_extract(body,'$.events_lost') FROM records WHERE type='status' ORDER BY id DESC LIMIT 1")
	kill $AGENT_PID && wait $AGENT_PID 2>/dev/null || true
	AGENT_PID=
	echo "$RES $((A1 - A0)) $((T1 - T0)) $((C1 - C0)) $GOT ${LOST:-0} $((E1 - E0)) $((FT1 - FT0)) $((FC1 - FC0))" >>"$WORK/agent"
done

LAT=$(sqlite3 "$WORK/db" "SELECT received_ms - ts FROM records WHERE type='exec' AND body LIKE '%srvmon-bench-%' ORDER BY 1" |
	awk '{v[NR]=$1} END {printf "%d %d", v[int(NR*0.5)+1], v[int(NR*0.99)+1]}')

python3 - "$WORK/none" "$WORK/agent" "$N" "$HZ" "$LAT" <<'PY'
import statistics as st, sys
none = [list(map(float, l.split())) for l in open(sys.argv[1])]
agent = [list(map(float, l.split())) for l in open(sys.argv[2])]
n, hz = int(sys.argv[3]), int(sys.argv[4])
p50, p99 = sys.argv[5].split()
w0 = st.median(r[0] for r in none); w1 = st.median(r[0] for r in agent)
c0 = st.median(r[1] for r in none); c1 = st.median(r[1] for r in agent)
# Every exec on the machine is recorded, not only the storm's: per record shipped.
ag = st.median(r[2] / hz / r[7] * 1e6 for r in agent)
kns = st.median(r[3] / r[4] if r[4] else 0 for r in agent)
fns = st.median(r[8] / r[9] if r[9] else 0 for r in agent)
recs = st.median(r[7] for r in agent)
got = sum(r[5] for r in agent); lost = max(r[6] for r in agent)
print("| | no tracer | srvmon-agent |")
print("| --- | --- | --- |")
print("| loop wall time, median of %d (s) | %.2f | %.2f (ratio %.3f) |" % (len(none), w0, w1, w1 / w0))
print("| execs/s | %.0f | %.0f |" % (n / w0, n / w1))
print("| loop CPU user+sys per exec (µs) | %.1f | %.1f (%+.1f) |" % (c0 / n * 1e6, c1 / n * 1e6, (c1 - c0) / n * 1e6))
print("| agent CPU per exec record shipped (µs; %d records a round) | – | %.1f |" % (recs, ag))
print("| in-kernel time per exec, sched_process_exec (bpf_stats, µs) | – | %.2f |" % (kns / 1000))
print("| in-kernel time per run, failed-exec check at sys_exit_execve (µs; 1 run an exec) | – | %.2f |" % (fns / 1000))
print("| completeness | – | %d of %d records, events_lost %d |" % (got, n * len(agent), lost))
print("| exec → server latency p50 / p99 (ms) | – | %s / %s |" % (p50, p99))
PY
