#!/bin/sh
# What the read API's ingest triggers (server/db_migrate.c) cost per stored record: N records
# of each type inserted in one transaction, as srvmon-server stores them (INSERT OR IGNORE into
# records, WAL, synchronous=FULL, one commit), into a database made by srvmon-server (with the
# triggers) and into the same database with the triggers dropped (as before issue 12).
# Prints microseconds per record. Usage: bench/api-triggers.sh [BUILD_DIR] [N]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
export SRVMON_SERVER="$build/server/srvmon-server" BENCH_N="${2:-50000}"
export PYTHONPATH="$src/tests/integration" PYTHONDONTWRITEBYTECODE=1
exec python3 -u - <<'PY'
import json
import os
import sqlite3
import subprocess
import time

from srvmon_testlib import Server, Workdir

n = int(os.environ["BENCH_N"])
bodies = {
    "status": {"modules": {"resources": {"state": "running"}}, "events_lost": 0,
               "reconnects": 0, "spool_dropped": 0},
    "resources": {"cpu_percent": 3.25, "ram_total": 8217473024, "ram_available": 6217473024,
                  "disk_total": 250000000000, "disk_available": 180000000000,
                  "disks": [{"mount": "/", "total": 250000000000, "available": 180000000000}]},
    "network": {"upload_rate": 120000, "download_rate": 300000, "interval_ms": 1000,
                "rx_peak_rate": 900000, "tx_peak_rate": 200000, "peak_window_ms": 100,
                "interfaces": [{"name": "eth0", "rx_bytes": 1, "tx_bytes": 2, "rx_packets": 3,
                                "tx_packets": 4, "rx_rate": 300000, "tx_rate": 120000,
                                "in_total": True}]},
    "exec": {"pid": 21563, "ppid": 3034, "uid": 1000, "user": "alice", "tty": "pts/3",
             "cwd": "/home/alice/src/project", "filename": "/usr/bin/grep", "comm": "grep",
             "argv": ["grep", "-r", "--include=*.c", "sqlite3_step", "."], "ret": 0},
}
print("%-10s %12s %12s  (%d records, 100 hosts)" % ("type", "triggers", "none", n))
for rtype, extra in bodies.items():
    res = {}
    for mode in ("triggers", "none"):
        work = Workdir(prefix="srvmon-bench-trig-")
        server = Server(work)
        server.add_user("bench", "bench-password")  # creates the schema
        con = sqlite3.connect(server.db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        if mode == "none":
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                       " AND tbl_name = 'records'").fetchall():
                con.execute("DROP TRIGGER %s" % name)
        rows = []
        for i in range(n):
            host = "%032x" % (i % 100)
            body = dict(extra, type=rtype, host_id=host, seq=i, ts=1764072000000 + i * 10)
            rows.append((host, "%020d" % i, rtype, body["ts"], body["ts"], "bench",
                         json.dumps(body, separators=(",", ":"))))
        t0 = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT OR IGNORE INTO records(host_id, seq, type, ts, received_ms,"
                        " account, body) VALUES(?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        res[mode] = (time.perf_counter() - t0) / n * 1e6
        con.close()
        subprocess.run(["rm", "-rf", work.path], check=True)
    print("%-10s %9.1f us %9.1f us" % (rtype, res["triggers"], res["none"]))
PY
