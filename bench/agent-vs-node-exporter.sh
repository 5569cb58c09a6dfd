#!/bin/sh
# CPU time and peak RSS of srvmon-agent (network and resources every 1 s, shipping
# to srvmon-server on 127.0.0.1) side by side with prometheus-node-exporter scraped
# every 1 s, over the same 60 s window. Prints a Markdown table on stdout.
# Usage: bench/agent-vs-node-exporter.sh [seconds]   (as root; default 60)
set -eu
cd "$(dirname "$0")/.."
DURATION=${1:-60}

./scripts/install-deps.sh --bench >/dev/null
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null

WORK=$(mktemp -d /tmp/srvmon-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

. bench/lib.sh
srvmon_server_start build-bench "$WORK" || { PIDS="$PIDS $SERVER_PID"; exit 1; }
PIDS="$PIDS $SERVER_PID"
umask 077
srvmon_agent_conf "$WORK/agent.conf" "$WORK/state"
cat >>"$WORK/agent.conf" <<CONF
[resources]
interval = 1s
[network]
interval = 1s
# The comparison with node_exporter is about the sampling modules: the exec history
# and speed tests (measured in their own benchmarks) are off here.
[history]
enabled = false
[speedtest]
enabled = false
CONF
build-bench/user/srvmon-agent --config "$WORK/agent.conf" 2>"$WORK/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"

NE_PORT=$((PORT + 1))
prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" >"$WORK/ne.log" 2>&1 &
NE=$!
PIDS="$PIDS $NE"
for _ in $(seq 1 100); do
	curl -fs -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" && break
	sleep 0.1
done

# Peak RSS, RSS and PSS of a PID in KiB (CPU ticks: cpu_ticks of bench/lib.sh).
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }

sleep 5 # warm-up: the agent's start (BPF load) is not the steady state
# Peak RSS since start (includes libbpf parsing the kernel's BTF at load time),
# then reset the peak (clear_refs 5) so VmHWM at the end is the window's peak.
AS=$(hwm "$AGENT")
NS=$(hwm "$NE")
echo 5 >"/proc/$AGENT/clear_refs"
echo 5 >"/proc/$NE/clear_refs"
A0=$(cpu_ticks "$AGENT")
N0=$(cpu_ticks "$NE")
T0=$(date +%s.%N)
i=0
while [ "$i" -lt "$DURATION" ]; do
	curl -fs -o /dev/null "http://127.0.0.1:$NE_PORT/metrics" || true
	sleep 1
	i=$((i + 1))
done
A1=$(cpu_ticks "$AGENT")
N1=$(cpu_ticks "$NE")
T1=$(date +%s.%N)
HZ=$(getconf CLK_TCK)
AH=$(hwm "$AGENT")
NH=$(hwm "$NE")
AP=$(pss "$AGENT")
NP=$(pss "$NE")
RECORDS=$(build-bench/server/srvmon-server query --db "$WORK/db" --json -n 100000 | wc -l)

awk -v a0="$A0" -v a1="$A1" -v n0="$N0" -v n1="$N1" -v t0="$T0" -v t1="$T1" -v hz="$HZ" \
	-v ah="$AH" -v nh="$NH" -v as="$AS" -v ns="$NS" -v ap="$AP" -v np="$NP" -v rec="$RECORDS" 'BEGIN {
	wall = t1 - t0
	printf "| process | CPU time over %.0f s | %% of one core | peak RSS in the window | PSS at the end | peak RSS since start |\n", wall
	printf "| --- | --- | --- | --- | --- | --- |\n"
	printf "| srvmon-agent (network 1 s, resources 1 s, %d records shipped) | %.2f s | %.3f %% | %.1f MiB | %.1f MiB | %.1f MiB |\n", rec, (a1 - a0) / hz, 100 * (a1 - a0) / hz / wall, ah / 1024, ap / 1024, as / 1024
	printf "| prometheus-node-exporter (scraped every 1 s) | %.2f s | %.3f %% | %.1f MiB | %.1f MiB | %.1f MiB |\n", (n1 - n0) / hz, 100 * (n1 - n0) / hz / wall, nh / 1024, np / 1024, ns / 1024
}'
