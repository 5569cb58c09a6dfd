#!/bin/sh
# Cost of recording every exec, srvmon and its peers measured in the same run: ROUNDS
# interleaved rounds of N sequential fork+execve of /bin/true (bench/exec-loop.c) with
#   none     no tracer
#   srvmon   srvmon-agent, history on (argv in full, cwd, trail), shipping to
#            srvmon-server on 127.0.0.1
#   auditd   auditd (Debian 12, its auditd.conf but the log in a scratch directory)
#            with the rule -a always,exit -F arch=b64 -S execve,execveat -k srvmon_bench
#   snoopy   libsnoopy.so in /etc/ld.so.preload for its rounds only, output to a file
#   bpftrace a one-liner at tracepoint:syscalls:sys_enter_execve printing pid and argv
# Prints a Markdown table: median wall time and CPU of the loop (user+sys of all its
# processes), the tracer's own processes' CPU, the extra CPU per exec against no tracer,
# and completeness (execs of the storm the tracer recorded, and its loss counter).
# Usage: bench/exec-peers.sh [N] [ROUNDS]   (as root; default 5000 3)
#   BUILD=dir selects the Release build directory (default build-bench);
#   TRACERS="srvmon bpftrace" measures a subset (no tracer is always measured);
#   KEEP=1 keeps the scratch directory (logs, outputs of every round) for a look.
# While snoopy is preloaded EVERY process of the machine loads it (AddressSanitizer
# binaries abort): run it on a machine nobody else uses. The machine is left as found:
# the trap removes the preload entry and the audit rule and stops the daemons it
# started, also on failure or Ctrl-C.
set -eu
# The whole run holds /tmp/srvmon-bench.lock (flock), so two benchmarks never overlap;
# a caller that already holds it (bench/run-all.sh) sets SRVMON_BENCH_LOCKED=1.
. "$(dirname "$0")/lib.sh"
bench_self_lock "$0" "$@"
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-5000}
ROUNDS=${2:-3}
BUILD=${BUILD:-build-bench}
TRACERS="none ${TRACERS:-srvmon auditd snoopy bpftrace}"
PRELOAD=/etc/ld.so.preload
SNOOPY_LIB=/lib/x86_64-linux-gnu/libsnoopy.so
AUDIT_RULE="-F arch=b64 -S execve,execveat -k srvmon_bench"

[ "$(id -u)" -eq 0 ] || { echo "exec-peers: run as root" >&2; exit 1; }
./scripts/install-deps.sh --bench >/dev/null
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

WORK=$(mktemp -d /tmp/srvmon-exec-peers.XXXXXX)
SERVER_PID=
AGENT_PID=
AUDITD_PID=
BPFTRACE_PID=
LOOP_PID=
AUDIT_ENABLED_OLD=$(auditctl -s | awk '$1 == "enabled" {print $2}')
AUDIT_BACKLOG_OLD=$(auditctl -s | awk '$1 == "backlog_limit" {print $2}')
cp -p /etc/snoopy.ini "$WORK/snoopy.ini.orig"

snoopy_off() { # removes our line only; the file goes if it held nothing else
	[ -f $PRELOAD ] || return 0
	grep -v "^$SNOOPY_LIB\$" $PRELOAD >"$WORK/preload" || true
	if [ -s "$WORK/preload" ]; then cat "$WORK/preload" >$PRELOAD; else rm -f $PRELOAD; fi
}
stop_pid() { # stop_pid PID [SIGNAL]
	[ -n "$1" ] || return 0
	kill -"${2:-TERM}" "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	snoopy_off || true
	if [ -f "$WORK/snoopy.ini.orig" ]; then cp -p "$WORK/snoopy.ini.orig" /etc/snoopy.ini || true; fi
	# shellcheck disable=SC2086
	auditctl -d always,exit $AUDIT_RULE >/dev/null 2>&1 || true
	stop_pid "$LOOP_PID"
	stop_pid "$AUDITD_PID"
	auditctl -b "$AUDIT_BACKLOG_OLD" >/dev/null 2>&1 || true
	auditctl -e "$AUDIT_ENABLED_OLD" >/dev/null 2>&1 || true
	stop_pid "$BPFTRACE_PID" INT
	stop_pid "$AGENT_PID"
	stop_pid "$SERVER_PID"
	if [ "${KEEP:-0}" = 1 ]; then echo "exec-peers: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
cc -O2 -o "$WORK/exec-loop" bench/exec-loop.c

# Polls "$@" (a command printing a number) until it reaches N or stops moving for 3 s
# (at most 120 s): the tracer has written what it will write of the storm.
settle() {
	last=-1
	same=0
	for _ in $(seq 1 1200); do
		got=$("$@")
		[ "$got" -ge "$N" ] && break
		if [ "$got" -eq "$last" ]; then same=$((same + 1)); else same=0; fi
		[ "$same" -ge 30 ] && break
		last=$got
		sleep 0.1
	done
}

# --- srvmon ---
srvmon_server_start "$BUILD" "$WORK"
umask 077
srvmon_exec_conf "$WORK/agent.conf" "$WORK/state" "$WORK/exec.jsonl" "status_interval = 1s"
umask 022
srvmon_count() { sqlite3 "$WORK/db" "SELECT COUNT(*) FROM records WHERE id > $SRV_ID0 AND type='exec' AND body LIKE '%\"comm\":\"true\"%\"$TAG\"%'"; }
srvmon_all() { sqlite3 "$WORK/db" "SELECT COUNT(*) FROM records WHERE type='exec'"; }
srvmon_start() {
	SRV_ID0=$(sqlite3 "$WORK/db" "SELECT COALESCE(MAX(id), 0) FROM records")
	srvmon_agent_start "$BUILD" "$WORK/agent.conf" "$WORK/agent.log"
}
srvmon_pids() { echo "$AGENT_PID"; }
srvmon_lost() { # events_lost of a status record sent after the storm's last record
	last=$(sqlite3 "$WORK/db" "SELECT MAX(id) FROM records")
	for _ in $(seq 1 50); do
		lost=$(sqlite3 "$WORK/db" "SELECT json_extract(body, '\$.events_lost') FROM records WHERE type='status' AND id > $last ORDER BY id DESC LIMIT 1")
		[ -n "$lost" ] && break
		sleep 0.1
	done
	echo "${lost:-?}"
}
srvmon_stop() { stop_pid "$AGENT_PID"; AGENT_PID=; }

# --- auditd: its own config directory so that the log is ours and never rotates ---
mkdir -p "$WORK/audit"
sed -e "s|^log_file *=.*|log_file = $WORK/audit/audit.log|" \
	-e 's|^max_log_file_action *=.*|max_log_file_action = IGNORE|' \
	/etc/audit/auditd.conf >"$WORK/audit/auditd.conf"
chmod 0640 "$WORK/audit/auditd.conf"
audit_lost() { auditctl -s | awk '$1 == "lost" {print $2}'; }
auditd_count() { grep -c "a1=\"$TAG\"" "$WORK/audit/audit.log" || true; }
auditd_all() { grep -c '^type=EXECVE' "$WORK/audit/audit.log" || true; }
auditd_start() {
	auditd -n -c "$WORK/audit" 2>"$WORK/auditd.err" &
	AUDITD_PID=$!
	for _ in $(seq 1 100); do
		[ "$(auditctl -s | awk '$1 == "pid" {print $2}')" = "$AUDITD_PID" ] && break
		sleep 0.1
	done
	[ "$(auditctl -s | awk '$1 == "pid" {print $2}')" = "$AUDITD_PID" ] ||
		{ echo "exec-peers: auditd did not register (see $WORK/auditd.err)" >&2; return 1; }
	auditctl -b 8192 >/dev/null # Debian's audit.rules default (the kernel's is 64)
	# shellcheck disable=SC2086
	auditctl -a always,exit $AUDIT_RULE >/dev/null
	AUDIT_LOST0=$(audit_lost)
}
auditd_pids() { echo "$AUDITD_PID $(pgrep -x kauditd)"; }
auditd_lost() { echo $(($(audit_lost) - AUDIT_LOST0)); }
auditd_stop() {
	# shellcheck disable=SC2086
	auditctl -d always,exit $AUDIT_RULE >/dev/null
	stop_pid "$AUDITD_PID"
	AUDITD_PID=
	auditctl -b "$AUDIT_BACKLOG_OLD" >/dev/null
	auditctl -e "$AUDIT_ENABLED_OLD" >/dev/null
}

# --- snoopy: in the traced processes themselves, no process of its own ---
snoopy_count() { grep -c -- "/bin/true $TAG\$" "$WORK/snoopy.log" || true; }
snoopy_all() { wc -l <"$WORK/snoopy.log"; }
snoopy_start() {
	: >"$WORK/snoopy.log"
	sed 's|^\[snoopy\]$|[snoopy]\noutput = file:'"$WORK"'/snoopy.log|' "$WORK/snoopy.ini.orig" >/etc/snoopy.ini
	echo "$SNOOPY_LIB" >>$PRELOAD
}
snoopy_pids() { echo ""; }
snoopy_lost() { echo "n/a"; }
snoopy_stop() { snoopy_off; }

# --- bpftrace ---
bpftrace_count() { grep -c -- " /bin/true $TAG\$" "$WORK/bpftrace.out" || true; }
bpftrace_all() { grep -c '^[0-9]' "$WORK/bpftrace.out" || true; }
bpftrace_start() {
	rm -f "$WORK/bpftrace.out" # the probe below must not find the last round's
	bpftrace -o "$WORK/bpftrace.out" \
		-e 'tracepoint:syscalls:sys_enter_execve { printf("%d ", pid); join(args->argv); }' \
		>"$WORK/bpftrace.stdout" 2>"$WORK/bpftrace.err" &
	BPFTRACE_PID=$!
	# Attached once an exec of ours shows in its output.
	for i in $(seq 1 300); do
		/bin/true "srvmon-peers-probe-$i"
		grep -q "srvmon-peers-probe" "$WORK/bpftrace.out" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "exec-peers: bpftrace did not attach (see $WORK/bpftrace.err)" >&2
	return 1
}
bpftrace_pids() { echo "$BPFTRACE_PID"; }
bpftrace_lost() { awk '/^Lost [0-9]+ events/ {n += $2} END {print n + 0}' "$WORK/bpftrace.out"; }
bpftrace_stop() { stop_pid "$BPFTRACE_PID" INT; BPFTRACE_PID=; }

none_count() { echo 0; }
none_all() { echo 0; }
none_start() { :; }
none_pids() { echo ""; }
none_lost() { echo "n/a"; }
none_stop() { :; }

ticks_of() { # the CPU time of PIDs (all their threads), summed, in ns (schedstat)
	t=0
	for p in "$@"; do t=$((t + $(cpu_ns "$p"))); done
	echo $t
}

HZ=1000000000 # the "ticks" above and below are ns
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
	for t in $TRACERS; do
		TAG="srvmon-peers-$t-$r"
		"${t}_start"
		PIDS=$("${t}_pids")
		# shellcheck disable=SC2086
		T0=$(ticks_of $PIDS)
		S0=$(cpu_ns "$SERVER_PID")
		ALL0=$("${t}_all")
		"$WORK/exec-loop" "$N" "$TAG" >"$WORK/loop" &
		LOOP_PID=$!
		wait "$LOOP_PID"
		LOOP_PID=
		[ "$t" = snoopy ] && snoopy_off # at once: every process of the machine loads it
		settle "${t}_count"
		# shellcheck disable=SC2086
		T1=$(ticks_of $PIDS)
		S1=$(cpu_ns "$SERVER_PID")
		GOT=$("${t}_count")
		ALL1=$("${t}_all")
		LOST=$("${t}_lost")
		"${t}_stop"
		[ "$t" = bpftrace ] && GOT=$(bpftrace_count) && ALL1=$(bpftrace_all) # flushed at exit
		[ "${KEEP:-0}" = 1 ] && for f in bpftrace.out snoopy.log audit/audit.log; do
			[ -f "$WORK/$f" ] && cp "$WORK/$f" "$WORK/$t-$r-$(basename "$f")"
		done
		echo "$t $(cat "$WORK/loop") $((T1 - T0)) $((S1 - S0)) $GOT $((ALL1 - ALL0)) $LOST" >>"$WORK/results"
		echo "exec-peers: round $r $t: $(tail -1 "$WORK/results")" >&2
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$WORK/results" "$N" "$HZ" "$LOAD0" "$LOAD1" "$TRACERS" <<'PY'
import statistics as st, sys
path, n, hz, load0, load1, tracers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6].split()
rows = {}
for line in open(path):
    f = line.split()
    rows.setdefault(f[0], []).append([float(x) if x.lstrip("-").replace(".", "").isdigit() else x for x in f[1:]])
none = rows["none"]
R = len(none)
# A round's baseline: the mean of the no-tracer runs just before and just after it
# (the next round's), so that a load change during the run cancels out in the ratios.
def base(r, i):
    return (none[r][i] + none[r + 1][i]) / 2 if r + 1 < R else none[r][i]
names = {
    "none": "no tracer",
    "srvmon": "srvmon-agent (argv in full, shipped to 127.0.0.1)",
    "auditd": "auditd, execve/execveat rule",
    "snoopy": "snoopy (ld.so.preload, log to a file)",
    "bpftrace": "bpftrace one-liner (sys_enter_execve, join(argv))",
}
procs = {"srvmon": "srvmon-agent", "auditd": "auditd + kauditd", "bpftrace": "bpftrace"}
print("| tracer | loop wall, median of %d (s) | wall ratio to no tracer | loop CPU per exec (µs) "
      "| tracer processes' CPU per event (µs) | extra CPU per exec (µs) | recorded of the storm "
      "| lost (tracer's counter) |" % R)
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for t in tracers:
    rs = rows[t]
    w = st.median(r[0] for r in rs)
    loop = st.median(r[1] for r in rs) / n * 1e6
    if t == "none":
        print("| %s (%.0f execs/s) | %.2f | 1 | %.1f | – | – | – | – |" % (names[t], n / w, w, loop))
        continue
    ratio = st.median(r[0] / base(i, 0) for i, r in enumerate(rs))
    dloop = st.median((r[1] - base(i, 1)) / n * 1e6 for i, r in enumerate(rs))
    # The tracer's processes handle every exec of the machine in the window, not only
    # the storm's: their CPU is divided by the events they recorded in the window.
    per = st.median(r[2] / hz / r[5] * 1e6 if r[5] > 0 else 0 for r in rs) if t in procs else 0
    got = sum(int(r[4]) for r in rs)
    lost = "n/a" if any(r[6] == "n/a" for r in rs) else "%d" % sum(int(r[6]) for r in rs)
    tracer = "%.1f (%s)" % (per, procs[t]) if t in procs else "– (runs in the traced processes)"
    if t == "srvmon":
        srv = st.median(r[3] / hz / r[5] * 1e6 if r[5] > 0 else 0 for r in rs)
        tracer += "; srvmon-server %.1f, not counted" % srv
    print("| %s | %.2f | %.3f | %.1f (%+.1f) | %s | %.1f | %d of %d | %s |" % (
        names[t], w, ratio, loop, dloop, tracer, dloop + per, got, n * len(rs), lost))
print()
print("N = %d sequential fork+execve of /bin/true a round, %d rounds; ratios and CPU "
      "differences per round against the mean of the no-tracer runs before and after it, "
      "then the median; load average %s at the start, %s at the end." % (n, R, load0, load1))
PY
