#!/bin/sh
# The read API's answer times on a synthetic database (docs/api.md, docs/BENCHMARKS.md):
# HOSTS hosts x DAYS days, written straight into the tables the API reads (SQL, not through
# ingest): hosts; per-minute aggregates of cpu_percent and upload_rate for every minute of
# the DAYS days (what a 6 h or 7 d chart reads); raw samples of the last RAW_HOURS hours
# (cpu_percent every 10 s, upload_rate every 1 s: what a 15 min chart reads); one exec record
# every EXEC_EVERY seconds per host (argv from a small vocabulary, 1 in 100,000 carrying a
# rare word); one speedtest record per host and hour. Then srvmon-server serves it and each
# query is timed REPEAT times (curl's time_total over loopback; median and max).
# Not generated: raw samples older than RAW_HOURS and the other seven metrics (they only
# make the B-trees a level or two deeper), the records of type resources/network/status.
# Usage: bench/api-query.sh [BUILD_DIR] [HOSTS] [DAYS] [EXEC_EVERY] [RAW_HOURS] [REPEAT]
# (BENCH_KEEP=1 in the environment keeps the database and prints its path.)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$src/bench/lib.sh"
bench_self_lock "$0" "$@"
build=${1:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
export SRVMON_SERVER="$build/server/srvmon-server"
export BENCH_HOSTS="${2:-1000}" BENCH_DAYS="${3:-7}" BENCH_EXEC_EVERY="${4:-600}"
export BENCH_RAW_HOURS="${5:-1}" BENCH_REPEAT="${6:-20}" BENCH_KEEP="${BENCH_KEEP:-}"
export PYTHONPATH="$src/tests/integration:$src/bench/tools" PYTHONDONTWRITEBYTECODE=1
exec python3 -u - <<'PY'
import os
import sqlite3
import subprocess
import time
import urllib.parse

from api_timing import time_queries
from srvmon_testlib import Server, Workdir, server_token

hosts = int(os.environ["BENCH_HOSTS"])
days = int(os.environ["BENCH_DAYS"])
exec_every = int(os.environ["BENCH_EXEC_EVERY"])
raw_hours = int(os.environ["BENCH_RAW_HOURS"])
repeat = int(os.environ["BENCH_REPEAT"])
work = Workdir(prefix="srvmon-bench-api-")
server = Server(work)
server.add_user("bench", "bench-password", role="viewer")  # creates the schema
now = int(time.time() * 1000) // 60000 * 60000
start = now - days * 86400000

t0 = time.monotonic()
con = sqlite3.connect(server.db, isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=OFF")
# Records are inserted without the ingest trigger (their derived rows are written below);
# its text is put back afterwards.
trigger = con.execute("SELECT sql FROM sqlite_master WHERE name = 'records_api'").fetchone()[0]
con.execute("BEGIN")
con.execute("DROP TRIGGER records_api")
con.execute("""WITH RECURSIVE h(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM h WHERE i < ?)
  INSERT INTO hosts(id, host_id, hostname, os, kernel, agent_version, collector, first_seen_ms,
   last_seen_ms, res_ts, res_gap_ms, net_ts, net_interval_ms, status_ts, status_gap_ms,
   cpu_percent, ram_total, ram_available, disk_total, disk_available, upload_rate,
   download_rate, rx_peak_rate, tx_peak_rate)
  SELECT i, printf('%032x', i), printf('host%04d', i), 'Debian GNU/Linux 12 (bookworm)', '6.1.0',
   '0.1.0', 'bpf', ?2, ?3, ?3, 10000, ?3, 1000, ?3, 60000, (i % 100) + 0.5, 8000000000,
   4000000000, 250000000000, 100000000000, i * 1000, i * 2000, i * 5000, i * 3000 FROM h""",
            (hosts, start, now))
# Per-minute aggregates: metric 1 cpu_percent (6 samples a minute), 6 upload_rate (60).
con.execute("""WITH RECURSIVE m(t) AS (SELECT ?1 UNION ALL SELECT t + 60000 FROM m WHERE t < ?2)
  INSERT INTO metrics_1m(host, metric, minute, n, sum, min, max)
  SELECT h.id, k.metric, m.t, k.n, k.n * ((h.id + m.t / 60000) % 100), (h.id + m.t / 60000) % 50,
   (h.id + m.t / 60000) % 100 + 50
  FROM hosts h, m, (SELECT 1 AS metric, 6 AS n UNION ALL SELECT 6, 60) k""",
            (start, now - 60000))
raw_from = now - raw_hours * 3600000
con.execute("""WITH RECURSIVE s(t) AS (SELECT ?1 UNION ALL SELECT t + 1000 FROM s WHERE t < ?2)
  INSERT INTO metrics(host, metric, ts, value)
  SELECT h.id, 6, s.t, (h.id * 7 + s.t / 1000) % 1000000 FROM hosts h, s""", (raw_from, now))
con.execute("""WITH RECURSIVE s(t) AS (SELECT ?1 UNION ALL SELECT t + 10000 FROM s WHERE t < ?2)
  INSERT INTO metrics(host, metric, ts, value)
  SELECT h.id, 1, s.t, (h.id + s.t / 10000) % 100 FROM hosts h, s""", (raw_from, now))
# exec records: the body as an agent writes it, the search row as the trigger does.
vocab = ["ls -la /var/log", "git status", "systemctl status nginx", "grep -r error /etc",
         "python3 manage.py migrate", "tar czf backup.tgz /home", "ssh web2 uptime",
         "curl -s http://127.0.0.1/health", "vim /etc/hosts", "docker ps -a"]
con.execute("CREATE TEMP TABLE vocab(i INTEGER PRIMARY KEY, line TEXT)")
con.executemany("INSERT INTO vocab VALUES(?, ?)", list(enumerate(vocab)))
n_exec = days * 86400 // exec_every
con.execute("""WITH RECURSIVE e(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM e WHERE k < ? - 1)
  INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)
  SELECT h.host_id, printf('%020d', e.k), 'exec', ?2 + e.k * ?3 * 1000 + h.id,
   ?2 + e.k * ?3 * 1000 + h.id + 5, 'bench',
   json_object('type', 'exec', 'ts', ?2 + e.k * ?3 * 1000 + h.id, 'pid', 1000 + e.k,
    'uid', 1000, 'user', CASE h.id % 3 WHEN 0 THEN 'alice' WHEN 1 THEN 'bob' ELSE 'root' END,
    'tty', 'pts/1', 'cwd', '/home/alice',
    'argv', json('["' || replace(CASE WHEN (h.id * 7919 + e.k) % 100000 = 0
                                     THEN 'rarecommand --flag' ELSE v.line END, ' ', '","')
                 || '"]'),
    'host_id', h.host_id, 'seq', e.k)
  FROM hosts h, e JOIN vocab v ON v.i = (h.id + e.k) % 10""", (n_exec, start, exec_every))
con.execute("""INSERT INTO execs(id, host, ts, user, hay)
  SELECT r.id, h.id, r.ts, json_extract(r.body, '$.user'),
   (SELECT group_concat(value, ' ') FROM json_each(r.body, '$.argv')) || char(10) ||
   json_extract(r.body, '$.user') || char(10) || '/home/alice' || char(10) || 'pts/1'
  FROM records r JOIN hosts h ON h.host_id = r.host_id WHERE r.type = 'exec'""")
con.execute("""WITH RECURSIVE e(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM e WHERE k < ? - 1)
  INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)
  SELECT h.host_id, printf('%020d', 100000000 + e.k), 'speedtest', ?2 + e.k * 3600000,
   ?2 + e.k * 3600000, 'bench', json_object('type', 'speedtest', 'ts', ?2 + e.k * 3600000,
   'download_rate', 900000000, 'upload_rate', 800000000, 'latency_ms', 0.3,
   'host_id', h.host_id, 'seq', 100000000 + e.k)
  FROM hosts h, e""", (days * 24, start))
con.execute("""INSERT INTO speedtests(id, host, ts) SELECT r.id, h.id, r.ts FROM records r
  JOIN hosts h ON h.host_id = r.host_id WHERE r.type = 'speedtest'""")
con.execute(trigger)
con.execute("COMMIT")
counts = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
          for t in ("hosts", "metrics", "metrics_1m", "execs", "speedtests", "records")}
con.close()
size = sum(os.path.getsize(server.db + s) for s in ("", "-wal") if os.path.exists(server.db + s))
print("database: %s, %.1f GiB, generated in %.0f s" % (
    ", ".join("%s %d" % kv for kv in counts.items()), size / 2**30, time.monotonic() - t0))

server.start()
token = server_token(server, "bench", "bench-password")
time_queries(server, token, hosts, now, repeat)
server.stop()
if os.environ.get("BENCH_KEEP"):
    print("database kept: %s" % server.db)
else:
    subprocess.run(["rm", "-rf", work.path], check=True)
PY
