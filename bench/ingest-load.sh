#!/bin/sh
# srvmon-server ingest capacity: 500 simulated agents on loopback (bench/ingest-load.c, one
# process, one WebSocket per agent, each its own host_id), sending as fast as their window of
# unacknowledged records allows, first as single-record frames, then as batch frames; then
# paced at 10 records/s each (5,000/s in all: the latency of a server that keeps up).
# Prints records/s acknowledged and the per-record ack latency (p50/p99/max), the load
# average at the start of each run, and checks that the database holds every acked record.
# Usage (as root or not, after a build): bench/ingest-load.sh [BUILD_DIR] [SECONDS] [CONNS]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
export SRVMON_SERVER=$build/server/srvmon-server
export LOAD_SECONDS=${2:-30} LOAD_CONNS=${3:-500}
export LOAD_BIN=$build/ingest-load
export PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$LOAD_BIN" "$src/bench/ingest-load.c" \
	$(pkg-config --cflags --libs libwebsockets)
exec python3 -u - <<'PY'
import os
import re
import sqlite3
import subprocess

from srvmon_testlib import Server, Workdir, server_token

secs, conns = os.environ["LOAD_SECONDS"], os.environ["LOAD_CONNS"]
status = 0
for name, args in (("single-record frames, window 100", ["--window", "100"]),
                   ("batch frames of 100, window 200", ["--batch", "100", "--window", "200"]),
                   ("single-record frames, paced at 10 records/s per agent",
                    ["--rate", "10", "--window", "100"])):
    work = Workdir("srvmon-ingest-load-")
    # --token-rate 0: the one token is fetched once; the default per-connection ingest budget
    # (--ingest-limit) stays on, as in production.
    # Acks after every commit: the simulated agents keep a window of unacked records, and
    # this measures the server's capacity and storage latency, not the ack pacing.
    # --quota 0: 500 simulated agents share one account; this measures capacity, not quotas.
    # --conn-limit: the default 64 connections per address would refuse most of them.
    server = Server(work, extra=["--token-rate", "0", "--ack-interval", "0", "--quota", "0",
                                 "--conn-limit", "4096/4096"])
    server.add_user("load", "load-pass")
    server.start()
    token = server_token(server, "load", "load-pass")
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    r = subprocess.run([os.environ["LOAD_BIN"], "--port", str(server.port), "--token", token,
                        "--conns", conns, "--seconds", secs] + args,
                       capture_output=True, text=True, timeout=int(secs) + 120)
    server.stop()
    con = sqlite3.connect(server.db)
    stored = con.execute("SELECT count(*) FROM records").fetchone()[0]
    con.close()
    m = re.search(r"acked=(\d+)", r.stdout)
    acked = int(m.group(1)) if m else -1
    print("### %s, %s connections, %s s (load average before: %s)\n" % (name, conns, secs, load))
    print("```\n%s```" % r.stdout)
    print("stored in the database: %d records (acked: %d)%s\n"
          % (stored, acked, "" if r.returncode == 0 and stored >= acked >= 0 else " FAILED"))
    if r.returncode != 0 or stored < acked or acked < 0:
        print(r.stderr[-2000:])
        status = 1
raise SystemExit(status)
PY
