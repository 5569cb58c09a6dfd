# shellcheck shell=sh
# Shared steps of the benchmark scripts (sourced, POSIX sh; not run on its own).
# shellcheck disable=SC2034 # SERVER_PID, PORT and AGENT_PID are for the caller

# bench_self_lock "$0" "$@": re-runs the calling script under /tmp/srvmon-bench.lock
# (flock), so that two benchmarks never overlap, unless a caller already holds it and
# says so with SRVMON_BENCH_LOCKED=1 (bench/run-all.sh). When the lock is taken it says
# whom it waits for: a script that takes the lock itself, run under `flock` by hand,
# would otherwise wait for its own wrapper without a word.
bench_self_lock() {
	[ -z "${SRVMON_BENCH_LOCKED:-}" ] || return 0
	if ! flock -n /tmp/srvmon-bench.lock true; then
		echo "$(basename "$1"): waiting for /tmp/srvmon-bench.lock, held by another" \
			"benchmark (this script takes the lock itself: do not run it under flock)" >&2
	fi
	_script=$1
	shift
	SRVMON_BENCH_LOCKED=1 exec flock /tmp/srvmon-bench.lock sh "$_script" "$@"
}

# srvmon_server_start BUILD WORK: creates the user bench/bench-password in WORK/db,
# starts srvmon-server on 127.0.0.1 with an ephemeral port (log in WORK/server.log)
# and waits up to 10 s for it to listen. Sets SERVER_PID and PORT; returns 1 (server
# left running, SERVER_PID set for the caller's cleanup) if it never listens.
srvmon_server_start() {
	printf 'bench-password\n' | "$1/server/srvmon-server" user add bench --db "$2/db" >/dev/null
	"$1/server/srvmon-server" serve --db "$2/db" --listen 127.0.0.1 --port 0 2>"$2/server.log" &
	SERVER_PID=$!
	PORT=
	for _ in $(seq 1 100); do
		PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$2/server.log")
		[ -n "$PORT" ] && return 0
		sleep 0.1
	done
	echo "bench: srvmon-server did not listen within 10 s (see $2/server.log)" >&2
	return 1
}

# srvmon_agent_start BUILD CONF LOG: starts srvmon-agent with CONF (stderr to LOG) and
# waits up to 10 s for it to connect to the server. Sets AGENT_PID; returns 1 (agent
# left running, AGENT_PID set for the caller's cleanup) if it never connects.
srvmon_agent_start() {
	"$1/user/srvmon-agent" --config "$2" 2>"$3" &
	AGENT_PID=$!
	for _ in $(seq 1 100); do
		grep -q "connected to" "$3" && return 0
		sleep 0.1
	done
	echo "bench: srvmon-agent did not connect within 10 s (see $3)" >&2
	return 1
}

# srvmon_agent_conf FILE STATE_DIR: starts an agent config (mode 0600) that logs in to
# the srvmon-server of srvmon_server_start ($PORT) as bench and keeps its state in
# STATE_DIR; the caller appends its own sections with cat >>FILE.
srvmon_agent_conf() {
	(
		umask 077
		printf '[server]\nserver_port = %s\nclient_id = bench\npassword = bench-password\n[agent]\nstate_dir = %s\n' \
			"$PORT" "$2" >"$1"
	)
}

# srvmon_exec_conf FILE STATE_DIR TRAIL [AGENT_LINES]: the agent config of the exec
# benchmarks: srvmon_agent_conf, then AGENT_LINES in [agent] (e.g. status_interval = 1s),
# every module but the history off, and [history] with its trail at TRAIL. [history] is
# the last section: the caller appends its own history keys with cat >>FILE.
srvmon_exec_conf() {
	srvmon_agent_conf "$1" "$2"
	printf '%s[resources]\nenabled = false\n[network]\nenabled = false\n[speedtest]\nenabled = false\n[history]\ntrail_path = %s\n' \
		"${4:+$4
}" "$3" >>"$1"
}

# cpu_ticks PID: utime + stime of PID, in clock ticks (getconf CLK_TCK).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# cpu_ns PID: CPU time of all threads of PID in ns (schedstat: exact, not tick-sampled).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; }
