#!/bin/sh
# Cost of the exec history on an exec storm: N sequential fork+exec of /bin/true from a
# shell loop, without any tracer and with srvmon-agent (history on, full argv, shipping
# to srvmon-server on 127.0.0.1, trail on), A/B interleaved for ROUNDS rounds.
# Prints a Markdown table: median wall time of the loop and the ratio, its CPU (user+sys
# of the loop and its children, which includes the in-kernel BPF time), the agent's CPU
# per exec record, the total extra CPU per exec (loop delta + agent), the in-kernel time
# per exec (bpf_stats: run_time_ns / run_cnt of every srvmon exec program, summed per
# exec), completeness (records of the storm in the server's database), exec -> server
# latency (received_ms - ts, p50/p99), the load average, and with SRVMON_BENCH_STRACE=1
# the agent's system calls per record (`strace -c -f -p AGENT` over one more storm).
# Usage: bench/exec-overhead.sh [execs] [rounds]   (as root; default 20000 5)
# Environment: SRVMON_AGENT_BIN=PATH measures another srvmon-agent binary (e.g. an older
# build) against the same srvmon-server; SRVMON_BENCH_STRACE=1 adds the strace round;
# SRVMON_BENCH_HISTORY='drain_interval = 50ms' adds lines to the agent's [history].
# The agent's CPU is read exactly (schedstat of its threads), in all and net of its own
# idle CPU (timers, status records), which is measured for 5 s before each storm.
# Run it under the shared benchmark lock so that no two benchmarks overlap:
#   flock /tmp/srvmon-bench.lock bench/exec-overhead.sh 2000 3
set -eu
cd "$(dirname "$0")/.."
N=${1:-20000}
ROUNDS=${2:-5}
IDLE_S=5
BUILD=build-exec-bench

cmake -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build $BUILD -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null
AGENT_BIN=${SRVMON_AGENT_BIN:-$BUILD/user/srvmon-agent}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

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

. bench/lib.sh
srvmon_server_start $BUILD "$WORK"
umask 077
srvmon_exec_conf "$WORK/agent.conf" "$WORK/state" "$WORK/exec.jsonl" "status_interval = 1s"
if [ -n "${SRVMON_BENCH_HISTORY:-}" ]; then printf '%s\n' "$SRVMON_BENCH_HISTORY" >>"$WORK/agent.conf"; fi

start_agent() {
	"$AGENT_BIN" --config "$WORK/agent.conf" 2>"$WORK/agent.log" &
	AGENT_PID=$!
	for _ in $(seq 1 100); do
		grep -q "connected to" "$WORK/agent.log" && break
		sleep 0.1
	done
}

# Polls (100 ms, at most 60 s) until the server holds N exec records of the storm TAG.
wait_stored() {
	for _ in $(seq 1 600); do
		GOT=$(sqlite3 "$WORK/db" "SELECT COUNT(*) FROM records WHERE type='exec' AND body LIKE '%\"comm\":\"true\"%$1\"%'")
		[ "$GOT" -ge "$N" ] && break
		sleep 0.1
	done
}

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

# "run_time_ns run_cnt" of exec_ok, then of the failed-exec programs: only the programs
# of our agent (the prog_id of its BPF fds), not those of other tracers on the machine.
prog_stats() {
	bpftool prog show -j | python3 -c '
import glob, json, sys
ids = set()
for f in glob.glob("/proc/%s/fdinfo/*" % sys.argv[1]):
    try:
        for line in open(f):
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    except OSError:
        pass
t = c = ft = fc = 0
for p in json.load(sys.stdin):
    if p.get("id") not in ids:
        continue
    if p.get("name") == "exec_ok":
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
    if p.get("name") in ("exec_exit", "execat_exit"):
        ft += p.get("run_time_ns", 0); fc += p.get("run_cnt", 0)
print(t, c, ft, fc)' "$AGENT_PID"
}
exec_records() { sqlite3 "$WORK/db" "SELECT COUNT(*) FROM records WHERE type='exec'"; }

sysctl -qw kernel.bpf_stats_enabled=1
HZ=$(getconf CLK_TCK)
: >"$WORK/none"
: >"$WORK/agent"
for r in $(seq 1 "$ROUNDS"); do
	storm "none-$r" >>"$WORK/none"

	start_agent
	# The agent's own idle cost (timers, status), to tell it from the cost of the execs.
	sleep 1
	I0=$(cpu_ns $AGENT_PID)
	sleep $IDLE_S
	I1=$(cpu_ns $AGENT_PID)
	set -- $(prog_stats)
	T0=$1 C0=$2 FT0=$3 FC0=$4
	E0=$(exec_records)
	A0=$(cpu_ns $AGENT_PID)
	S0=$(date +%s%N)
	RES=$(storm "srvmon-bench-$r")
	# Let the drain and the shipping finish before reading the agent's CPU.
	wait_stored "srvmon-bench-$r"
	A1=$(cpu_ns $AGENT_PID)
	S1=$(date +%s%N)
	set -- $(prog_stats)
	T1=$1 C1=$2 FT1=$3 FC1=$4
	E1=$(exec_records)
	LOST=$(sqlite3 "$WORK/db" "SELECT json_extract(body,'$.events_lost') FROM records WHERE type='status' ORDER BY id DESC LIMIT 1")
	kill $AGENT_PID && wait $AGENT_PID 2>/dev/null || true
	AGENT_PID=
	echo "$RES $((A1 - A0)) $((T1 - T0)) $((C1 - C0)) $GOT ${LOST:-0} $((E1 - E0)) $((FT1 - FT0)) $((FC1 - FC0)) $(((I1 - I0) / IDLE_S)) $((S1 - S0))" >>"$WORK/agent"
done

# System calls of the agent per record, over one more storm (strace slows the agent: its
# CPU is not taken from this round).
SYSCALLS=
if [ -n "${SRVMON_BENCH_STRACE:-}" ]; then
	start_agent
	E0=$(exec_records)
	strace -c -f -p "$AGENT_PID" -o "$WORK/strace" 2>/dev/null &
	STRACE_PID=$!
	sleep 1 # strace attaching; no storm record is lost either way
	storm "srvmon-bench-strace" >/dev/null
	wait_stored "srvmon-bench-strace"
	E1=$(exec_records)
	kill -INT "$STRACE_PID" && wait "$STRACE_PID" 2>/dev/null || true
	kill $AGENT_PID && wait $AGENT_PID 2>/dev/null || true
	AGENT_PID=
	SYSCALLS=$(awk -v recs=$((E1 - E0)) '
		NF >= 5 && $1 ~ /^[0-9.]+$/ && $NF != "total" {
			total += $4
			if ($4 >= recs / 20) top = top sprintf("%s %.2f, ", $NF, $4 / recs)
		}
		END { if (recs > 0) printf "%.2f (%s%d records)", total / recs, top, recs }' "$WORK/strace")
fi

LAT=$(sqlite3 "$WORK/db" "SELECT received_ms - ts FROM records WHERE type='exec' AND body LIKE '%srvmon-bench-%' ORDER BY 1" |
	awk '{v[NR]=$1} END {printf "%d %d", v[int(NR*0.5)+1], v[int(NR*0.99)+1]}')

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$WORK/none" "$WORK/agent" "$N" "$HZ" "$LAT" "$LOAD0" "$LOAD1" "$SYSCALLS" <<'PY'
import statistics as st, sys
none = [list(map(float, l.split())) for l in open(sys.argv[1])]
agent = [list(map(float, l.split())) for l in open(sys.argv[2])]
n, hz = int(sys.argv[3]), int(sys.argv[4])
p50, p99 = sys.argv[5].split()
w0 = st.median(r[0] for r in none); w1 = st.median(r[0] for r in agent)
c0 = st.median(r[1] for r in none); c1 = st.median(r[1] for r in agent)
# Every exec on the machine is recorded, not only the storm's: per record shipped.
# r[2]: agent CPU (ns) from the storm's start to the last record stored; r[10]: the
# agent's idle CPU (ns per s, measured just before); r[11]: that span (ns).
ag = st.median(r[2] / r[7] / 1e3 for r in agent)
ag_net = st.median((r[2] - r[10] * r[11] / 1e9) / r[7] / 1e3 for r in agent)
idle = st.median(r[10] / 1e3 for r in agent)
kns = st.median(r[3] / r[4] if r[4] else 0 for r in agent)
fns = st.median(r[8] / r[9] if r[9] else 0 for r in agent)
recs = st.median(r[7] for r in agent)
got = sum(r[5] for r in agent); lost = max(r[6] for r in agent)
print("| | no tracer | srvmon-agent |")
print("| --- | --- | --- |")
print("| loop wall time, median of %d (s) | %.2f | %.2f (ratio %.3f) |" % (len(none), w0, w1, w1 / w0))
print("| execs/s | %.0f | %.0f |" % (n / w0, n / w1))
print("| loop CPU user+sys per exec (µs; includes the in-kernel time) | %.1f | %.1f (%+.1f) |" % (c0 / n * 1e6, c1 / n * 1e6, (c1 - c0) / n * 1e6))
print("| agent CPU per exec record shipped, all of it (µs; %d records a round) | – | %.1f |" % (recs, ag))
print("| agent idle CPU, measured before each storm (µs per second) | – | %.0f |" % idle)
print("| agent CPU per exec record, its idle CPU over the same span taken off (µs) | – | %.1f |" % ag_net)
print("| total extra CPU per exec: loop delta + agent, all of it (µs; the loop delta is noise of ± several %% of the loop's CPU) | – | %.1f |" % ((c1 - c0) / n * 1e6 + ag))
kern = (kns + fns) / 1000
print("| total extra CPU per exec: in-kernel (bpf_stats) + agent, all of it (µs) | – | %.1f |" % (kern + ag))
print("| total extra CPU per exec: in-kernel (bpf_stats) + agent net of its idle CPU (µs) | – | %.1f |" % (kern + ag_net))
print("| in-kernel time per exec, all srvmon exec programs (bpf_stats, µs) | – | %.2f |" % ((kns + fns) / 1000))
print("| of which sched_process_exec (µs) | – | %.2f |" % (kns / 1000))
print("| of which the failed-exec check at sys_exit_execve (µs; returns at its first test) | – | %.2f |" % (fns / 1000))
print("| completeness | – | %d of %d records, events_lost %d |" % (got, n * len(agent), lost))
print("| exec → server latency p50 / p99 (ms) | – | %s / %s |" % (p50, p99))
if sys.argv[8]:
    print("| agent system calls per record (strace -c -f, separate storm; those ≥ 0.05) | – | %s |" % sys.argv[8])
print("| load average (1/5/15 min) at start / end | %s | %s |" % (sys.argv[6], sys.argv[7]))
PY
