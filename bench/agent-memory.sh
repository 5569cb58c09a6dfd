#!/bin/sh
# Memory of srvmon-agent beside prometheus-node-exporter and collectd, all sampling
# every 1 s on this host, in one run: peak RSS since start (VmHWM), then RSS, PSS and
# USS (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) after a steady window.
# Rows: the agent as in bench/agent-vs-node-exporter.sh (resources and network every
# 1 s, shipping to srvmon-server on 127.0.0.1, history and speed tests off); the same
# agent with the exec history on too; node_exporter scraped every 1 s with curl on
# 127.0.0.1; collectd with Interval 1 (cpu, memory, df, interface, load) sending to
# 127.0.0.1 with its network plugin. Prints a Markdown table on stdout, then (stderr)
# the agent's largest private mappings, to show where its USS goes.
# USS counts the pages no other process maps: the second agent runs from a copy of the
# binary so that the two agents do not share its pages (srvmon-server, also running,
# still shares some libraries with them). The BPF ring buffer of the history (8 MiB by
# default) is mapped twice into the agent by libbpf's consumer: those kernel pages count
# in its RSS (shared mapping, so half in PSS, none in USS), in their own column.
# Usage: bench/agent-memory.sh [seconds]   (as root; default 30)
set -eu
. "$(dirname "$0")/lib.sh"
bench_self_lock "$0" "$@"
cd "$(dirname "$0")/.."
DURATION=${1:-30}
BUILD=${BUILD:-build-bench}

./scripts/install-deps.sh --bench >/dev/null
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

WORK=$(mktemp -d /tmp/srvmon-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

srvmon_server_start "$BUILD" "$WORK" || { PIDS="$PIDS $SERVER_PID"; exit 1; }
PIDS="$PIDS $SERVER_PID"
umask 077

# agent_conf FILE NAME HISTORY: the sampling modules every 1 s, speed tests off.
agent_conf() {
	srvmon_agent_conf "$1" "$WORK/state-$2"
	cat >>"$1" <<CONF
host_id = bench-$2
[resources]
interval = 1s
[network]
interval = 1s
[speedtest]
enabled = false
[history]
enabled = $3
trail_path = $WORK/trail-$2.jsonl
CONF
}
agent_conf "$WORK/agent.conf" sampling false
agent_conf "$WORK/agent-history.conf" history true
srvmon_agent_start "$BUILD" "$WORK/agent.conf" "$WORK/agent.log" ||
	{ PIDS="$PIDS $AGENT_PID"; exit 1; }
AGENT=$AGENT_PID
PIDS="$PIDS $AGENT"
mkdir -p "$WORK/copy/user"
cp "$BUILD/user/srvmon-agent" "$WORK/copy/user/srvmon-agent"
srvmon_agent_start "$WORK/copy" "$WORK/agent-history.conf" "$WORK/agent-history.log" ||
	{ PIDS="$PIDS $AGENT_PID"; exit 1; }
AGENT_H=$AGENT_PID
PIDS="$PIDS $AGENT_H"

NE_PORT=$((PORT + 1))
prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" >"$WORK/ne.log" 2>&1 &
NE=$!
PIDS="$PIDS $NE"
for _ in $(seq 1 100); do
	curl -fs -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" && break
	sleep 0.1
done

# collectd in the foreground (-f), its own pid/base dirs; the network plugin sends to a
# loopback port (nobody needs to listen: the cost measured is collectd's).
cat >"$WORK/collectd.conf" <<CONF
Hostname "bench"
FQDNLookup false
BaseDir "$WORK/collectd"
PIDFile "$WORK/collectd.pid"
Interval 1
LoadPlugin cpu
LoadPlugin memory
LoadPlugin df
LoadPlugin interface
LoadPlugin load
LoadPlugin network
<Plugin network>
	Server "127.0.0.1" "$((PORT + 2))"
</Plugin>
CONF
mkdir -p "$WORK/collectd"
collectd -f -C "$WORK/collectd.conf" >"$WORK/collectd.log" 2>&1 &
CD=$!
PIDS="$PIDS $CD"

status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
rollup_kib() { awk -v k="$2:" '$1 == k {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup"; }
# The RSS of the agent's BPF map mappings (the history's ring buffer, its .bss page).
bpfmap_kib() { awk '/^[0-9a-f]+-[0-9a-f]+ / {m = ($6 ~ /^anon_inode:bpf-map/)} m && $1 == "Rss:" {s += $2} END {print s + 0}' "/proc/$1/smaps"; }
uss_kib() { awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" {s += $2} END {print s + 0}' "/proc/$1/smaps_rollup"; }

sleep 5 # every process past its start
for p in "$AGENT" "$AGENT_H" "$NE" "$CD"; do
	kill -0 "$p" || { echo "agent-memory: PID $p exited early (logs in $WORK)" >&2; exit 1; }
	eval "START_$p=\$(status_kib $p VmHWM)"
	echo 5 >"/proc/$p/clear_refs" # VmHWM from here on is the window's peak
done
i=0
while [ "$i" -lt "$DURATION" ]; do
	curl -fs -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" || true
	sleep 1
	i=$((i + 1))
done

printf '| process | peak RSS since start | peak RSS in the %s s window | RSS | of it BPF ring mapped | PSS | USS (private) |\n' "$DURATION"
printf '| --- | --- | --- | --- | --- | --- | --- |\n'
row() {
	eval "start=\$START_$2"
	awk -v name="$1" -v s="$start" -v h="$(status_kib "$2" VmHWM)" -v r="$(status_kib "$2" VmRSS)" \
		-v b="$(bpfmap_kib "$2")" -v p="$(rollup_kib "$2" Pss)" -v u="$(uss_kib "$2")" 'BEGIN {
		printf "| %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB |\n", name, s / 1024, h / 1024, r / 1024, b / 1024, p / 1024, u / 1024
	}'
}
row "srvmon-agent (resources + network 1 s, shipping to 127.0.0.1)" "$AGENT"
row "srvmon-agent, exec history on too" "$AGENT_H"
row "prometheus-node-exporter (scraped every 1 s)" "$NE"
row "collectd (Interval 1: cpu, memory, df, interface, load; network to 127.0.0.1)" "$CD"

# Where the agent's private memory is: the largest mappings by Private_Clean + Private_Dirty.
for p in "$AGENT" "$AGENT_H"; do
	echo "private KiB by mapping of srvmon-agent PID $p (largest first):" >&2
	awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6)}
		$1 == "Private_Clean:" || $1 == "Private_Dirty:" {s[name] += $2}
		END {for (n in s) if (s[n] > 0) printf "%8d %s\n", s[n], n}' "/proc/$p/smaps" |
		sort -rn | head -12 >&2
done
