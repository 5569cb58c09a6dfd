#!/bin/sh
# Speed test vs iperf3 on the same shaped veth (issue 4), and the in-kernel cost of the
# netcount programs plus the agent's CPU under 1 Gbit/s through the veth.
# A namespace joined by a veth pair, tbf at RATE on both ends; srvmon-server and iperf3 -s
# inside the namespace. The delay cases (RATE + RTT) go through a second path instead: two
# TAP devices (one in the namespace) joined by bench/tools/delaylink, which holds every
# frame for RTT/2 in each direction (this kernel has no sch_netem), tbf on both TAPs.
# Prints Markdown tables on stdout.
# Usage: bench/speedtest-vs-iperf3.sh   (as root; BUILD=dir to reuse a build, default a
#        Release build in build-bench; CASES="" skips the speed-test table)
set -eu
cd "$(dirname "$0")/.."
if [ -z "${BUILD:-}" ]; then
	./scripts/install-deps.sh --bench >/dev/null
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSRVMON_BUILD_TESTS=OFF >/dev/null
	cmake --build build-bench -j"$(nproc)" --target srvmon-agent srvmon-server >/dev/null
	BUILD=build-bench
fi
AGENT_BIN=$BUILD/user/srvmon-agent
SERVER_BIN=$BUILD/server/srvmon-server

NS=srvmon-bst-$$
RIF=bst$$a
PIF=bst$$b
RIP=10.216.0.1
PIP=10.216.0.2
DIF=bsd$$a # delay path: TAP in our namespace
DNIF=bsd$$b # and its peer in the namespace
DIP=10.216.1.1
DNIP=10.216.1.2
WORK=$(mktemp -d /tmp/srvmon-bench.XXXXXX)
PIDS=""
DELAYLINK=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	stop_delaylink 2>/dev/null || true
	ip link del "$RIF" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	sysctl -qw kernel.bpf_stats_enabled="$STATS0" || true
	rm -rf "$WORK"
}
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
trap cleanup EXIT INT TERM

ip netns add "$NS"
ip link add "$RIF" type veth peer name "$PIF" netns "$NS"
ip addr add "$RIP/30" dev "$RIF"
ip -n "$NS" addr add "$PIP/30" dev "$PIF"
ip link set "$RIF" up
ip -n "$NS" link set "$PIF" up
ip -n "$NS" link set lo up
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iuser/lib -o "$WORK/delaylink" \
	bench/tools/delaylink.c user/lib/numparse.c user/lib/log.c

# start_delaylink ONE_WAY_MS: the TAP pair with that delay each way (replaces a previous one).
start_delaylink() {
	stop_delaylink
	: >"$WORK/delaylink.out"
	"$WORK/delaylink" --a "$DIF" --b "$DNIF" --b-netns "$NS" --delay-ms "$1" \
		--duration-s 600 --rt-priority 10 >"$WORK/delaylink.out" 2>>"$WORK/delaylink.err" &
	DELAYLINK=$!
	for _ in $(seq 1 100); do
		grep -q ready "$WORK/delaylink.out" && break
		sleep 0.05
	done
	grep -q ready "$WORK/delaylink.out" || return 1
	ip addr add "$DIP/30" dev "$DIF"
	ip link set "$DIF" up
	ip -n "$NS" addr add "$DNIP/30" dev "$DNIF"
	ip -n "$NS" link set "$DNIF" up
}
# Ends delaylink; the kernel deletes both TAP devices with it.
stop_delaylink() {
	[ -n "$DELAYLINK" ] || return 0
	kill "$DELAYLINK" 2>/dev/null || true
	wait "$DELAYLINK" 2>/dev/null || true
	DELAYLINK=""
	cat "$WORK/delaylink.err" >&2 # its counters: frames forwarded and dropped
	: >"$WORK/delaylink.err"
}

printf 'bench-password\n' | $SERVER_BIN user add bench --db "$WORK/db" >/dev/null
# Every address of the namespace: the veth and the delay path. --speedtest open: the agent's
# `speedtest` command has no token to send.
ip netns exec "$NS" $SERVER_BIN serve --db "$WORK/db" --listen 0.0.0.0 --port 0 \
	--speedtest open 2>"$WORK/server.log" &
PIDS="$PIDS $!"
PORT=
for _ in $(seq 1 100); do
	PORT=$(sed -n 's|.*listening on http://[0-9.]*:\([0-9]*\).*|\1|p' "$WORK/server.log")
	[ -n "$PORT" ] && break
	sleep 0.1
done
ip netns exec "$NS" iperf3 -s -p 5201 >/dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 0.5

# shape RATE [RTT_MS]: tbf on both ends of the veth, or with RTT_MS of the delay path
# (RTT_MS / 2 each way) and tbf on both of its TAP devices. Sets TARGET to the address.
shape() {
	if [ -n "${2:-}" ]; then
		start_delaylink $(($2 / 2)) || return 1
		tc qdisc replace dev "$DIF" root tbf rate "$1" burst 256kbit latency 100ms
		ip netns exec "$NS" tc qdisc replace dev "$DNIF" root tbf rate "$1" burst 256kbit \
			latency 100ms
		TARGET=$DNIP
		return 0
	fi
	tc qdisc replace dev "$RIF" root tbf rate "$1" burst 256kbit latency 50ms
	ip netns exec "$NS" tc qdisc replace dev "$PIF" root tbf rate "$1" burst 256kbit \
		latency 100ms
	TARGET=$PIP
}
now() { date +%s.%N; }
# iperf3 DIR(up|down) -> "rate_bps seconds" (receiver-side figure, 4 streams, 1 s run)
iperf() {
	r=""
	[ "$1" = down ] && r="-R"
	t0=$(now)
	ip netns exec "$NS" true # same cost as the agent's exec; keeps the clocks honest
	iperf3 -c "$TARGET" -p 5201 -t 1 -P 4 $r -J >"$WORK/iperf.json"
	t1=$(now)
	python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$WORK/iperf.json"
	echo "$t0 $t1" | awk '{printf "%.2f\n", $2 - $1}'
}
pct() { echo "$1 $2" | awk '{printf "%+.2f %%", ($1 - $2) * 100 / $2}'; }

printf '[speedtest]\nstreams = 4\n' >"$WORK/st.conf"
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| link | ceiling (payload) | srvmon down | srvmon up | srvmon total time | iperf3 down (1 s) | iperf3 up (1 s) | iperf3 total time |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for case in ${CASES-50mbit:50000000: 200mbit:200000000: 1000mbit:1000000000: 50mbit:50000000:40 200mbit:200000000:40}; do
	RATE=${case%%:*}
	rest=${case#*:}
	BPS=${rest%%:*}
	DELAY=${rest#*:}
	LABEL=$RATE${DELAY:+ + ${DELAY} ms RTT}
	if ! shape "$RATE" "$DELAY"; then
		echo "| $LABEL | not measured: the link could not be set up | | | | | | |"
		continue
	fi
	if [ -n "$DELAY" ]; then
		# The delay as ping sees it on the idle link, after one that resolves ARP.
		ping -q -c 1 "$TARGET" >/dev/null
		PING=$(ping -q -c 5 -i 0.2 "$TARGET" |
			sed -n 's|.*= \([0-9.]*\)/\([0-9.]*\)/.*|\1/\2|p')
		LABEL="$LABEL (ping min/avg ${PING:-?} ms)"
	fi
	CEIL=$(echo "$BPS" | awk '{printf "%d", $1 * 1448 / 1514}')
	t0=$(now)
	$AGENT_BIN speedtest --server "http://$TARGET:$PORT" --json -c "$WORK/st.conf" >"$WORK/st.json" 2>/dev/null
	t1=$(now)
	SD=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["download_rate"]))' "$WORK/st.json")
	SU=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["upload_rate"]))' "$WORK/st.json")
	ST=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
	set -- $(iperf down)
	ID=$1
	IDT=$2
	set -- $(iperf up)
	IU=$1
	IUT=$2
	IT=$(echo "$IDT $IUT" | awk '{printf "%.2f", $1 + $2}')
	echo "| $LABEL | $((CEIL / 1000)) kbit/s | $((SD / 1000)) kbit/s ($(pct "$SD" "$CEIL")) | $((SU / 1000)) kbit/s ($(pct "$SU" "$CEIL")) | $ST s | $((ID / 1000)) kbit/s ($(pct "$ID" "$CEIL")) | $((IU / 1000)) kbit/s ($(pct "$IU" "$CEIL")) | $IT s |"
done

# In-kernel cost and agent CPU under 1 Gbit/s: the agent (network every 1 s, peaks on,
# its default 100 ms window) ships to the server in the namespace. The veth is not shaped
# (tbf at 1000mbit is CPU-bound below 1 Gbit/s on a small VM): iperf3 sends at a fixed
# 4 x 250 Mbit/s for 20 s. The agent's CPU is its threads' exact on-CPU time
# (/proc/PID/task/*/schedstat), over 20 s idle and then the 20 s under traffic: tick-based
# utime + stime charges whole 10 ms ticks and over-reads a small process on a busy host.
tc qdisc del dev "$RIF" root 2>/dev/null || true
ip netns exec "$NS" tc qdisc del dev "$PIF" root 2>/dev/null || true
umask 077
cat >"$WORK/agent.conf" <<CONF
[server]
server_address = $PIP
server_port = $PORT
allow_insecure = true
client_id = bench
password = bench-password
[agent]
state_dir = $WORK/state
[network]
interval = 1s
include = $RIF
[history]
# Off: the exec history would charge the agent for other processes' execs.
enabled = false
CONF
$AGENT_BIN --config "$WORK/agent.conf" 2>"$WORK/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
sleep 5 # past its start-up work
if ! kill -0 "$AGENT" 2>/dev/null; then
	cat "$WORK/agent.log" >&2
	exit 1
fi
sysctl -qw kernel.bpf_stats_enabled=1
progs() { bpftool -j prog show | python3 -c '
import json, sys
rt = rc = 0
for p in json.load(sys.stdin):
    if p.get("name") in ("netcount_rx", "netcount_tx") and p.get("pids", [{}])[0].get("pid", '"$AGENT"') == '"$AGENT"':
        rt += p.get("run_time_ns", 0); rc += p.get("run_cnt", 0)
print(rt, rc)'; }
# ns on a CPU, all threads of PID
oncpu() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; }
I0=$(oncpu "$AGENT")
i0=$(now)
sleep 20
I1=$(oncpu "$AGENT")
i1=$(now)
set -- $(progs)
RT0=$1
RC0=$2
K0=$(oncpu "$AGENT")
t0=$(now)
iperf3 -c "$PIP" -p 5201 -t 20 -P 4 -b 250M -J >"$WORK/iperf.json"
t1=$(now)
K1=$(oncpu "$AGENT")
set -- $(progs)
RT1=$1
RC1=$2
BPS=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$WORK/iperf.json")
echo
echo "| under iperf3 at $((BPS / 1000000)) Mbit/s for 20 s (load average $(cut -d' ' -f1-3 /proc/loadavg)) | value |"
echo "| --- | --- |"
echo "$I0 $I1 $i0 $i1" | awk '{printf "| agent CPU idle, the 20 s before (schedstat) | %.3f %% of one core |\n", ($2 - $1) / 1e7 / ($4 - $3)}'
echo "$K0 $K1 $t0 $t1" | awk '{printf "| agent CPU under the traffic (schedstat) | %.3f %% of one core |\n", ($2 - $1) / 1e7 / ($4 - $3)}'
echo "$RT0 $RT1 $RC0 $RC1 $t0 $t1" | awk '{n = $4 - $3; printf "| netcount_rx + netcount_tx runs (every instance loaded) | %d (%.0f /s) |\n| in-kernel time per run | %.0f ns |\n| in-kernel time, share of one core | %.3f %% |\n", n, n / ($6 - $5), n ? ($2 - $1) / n : 0, ($2 - $1) / 1e9 * 100 / ($6 - $5)}'
