#!/bin/sh
# The read API's answer times on PostgreSQL (docs/BENCHMARKS.md, "Read API on PostgreSQL"): the
# synthetic database of bench/api-query.sh (HOSTS hosts x DAYS days: hosts, per-minute
# aggregates of cpu_percent and upload_rate for every minute, raw samples of the last RAW_HOURS
# hours, one exec record every EXEC_EVERY seconds per host with 1 in 100,000 carrying a rare
# word, one speedtest record per host and hour), written straight into the PostgreSQL tables
# (SQL, not through ingest) of a private postgresql-15 (initdb in a temporary directory, run
# as user postgres, Unix socket only, removed at the end). Then srvmon-server serves it and
# each query is timed REPEAT times (curl's time_total over loopback; median and max).
# Run as root (the database server runs as postgres, via runuser).
# Usage: bench/api-query-pg.sh [BUILD_DIR] [HOSTS] [DAYS] [EXEC_EVERY] [RAW_HOURS] [REPEAT]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$src/bench/lib.sh"
bench_self_lock "$0" "$@"
build=${1:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
export SRVMON_SERVER="$build/server/srvmon-server"
export BENCH_HOSTS="${2:-1000}" BENCH_DAYS="${3:-7}" BENCH_EXEC_EVERY="${4:-600}"
export BENCH_RAW_HOURS="${5:-1}" BENCH_REPEAT="${6:-20}"
export BENCH_PG_BIN="${BENCH_PG_BIN:-/usr/lib/postgresql/15/bin}"
export PYTHONPATH="$src/tests/integration:$src/bench/tools" PYTHONDONTWRITEBYTECODE=1
exec python3 -u - <<'PY'
import os
import shutil
import subprocess
import tempfile
import time

from api_timing import time_queries
from srvmon_testlib import Server, Workdir, server_token

hosts = int(os.environ["BENCH_HOSTS"])
days = int(os.environ["BENCH_DAYS"])
exec_every = int(os.environ["BENCH_EXEC_EVERY"])
raw_hours = int(os.environ["BENCH_RAW_HOURS"])
repeat = int(os.environ["BENCH_REPEAT"])
pg_bin = os.environ["BENCH_PG_BIN"]

pgdir = tempfile.mkdtemp(prefix="srvmon-bench-pg-")
shutil.chown(pgdir, "postgres")


def as_postgres(*cmd, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--"] + list(cmd), check=True, **kw)


def psql(sql):
    as_postgres("%s/psql" % pg_bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pgdir,
                "-d", "srvmon", "-c", "SET client_min_messages = warning", "-c", sql,
                stdout=subprocess.DEVNULL)


def psql_value(sql):
    return as_postgres("%s/psql" % pg_bin, "-X", "-At", "-h", pgdir, "-d", "srvmon", "-c", sql,
                       capture_output=True, text=True).stdout.strip()


as_postgres("%s/initdb" % pg_bin, "-D", pgdir + "/data", "-A", "trust", "-U", "postgres",
            "--no-sync", stdout=subprocess.DEVNULL)
as_postgres("%s/pg_ctl" % pg_bin, "-D", pgdir + "/data", "-l", pgdir + "/log", "-w", "-o",
            "-k %s -c listen_addresses='' -c shared_buffers=256MB -c fsync=off" % pgdir,
            "start", stdout=subprocess.DEVNULL)
work = None
try:
    as_postgres("%s/createdb" % pg_bin, "-h", pgdir, "srvmon")
    work = Workdir(prefix="srvmon-bench-api-pg-")
    server = Server(work)
    server.db = "postgresql:///srvmon?host=%s&user=postgres" % pgdir
    server.add_user("bench", "bench-password", role="viewer")  # creates the schema
    now = int(time.time() * 1000) // 60000 * 60000
    start = now - days * 86400000
    day = 86400000

    t0 = time.monotonic()
    # Day partitions for the whole range, named as store_pg_partition.c names them (ingest
    # makes them one by one, as days come; the server made today's and tomorrow's records).
    psql("""DO $$ DECLARE d bigint; p text; BEGIN
      FOR d IN %d .. %d LOOP
        FOREACH p IN ARRAY ARRAY['records', 'metrics', 'metrics_1m', 'execs'] LOOP
          EXECUTE format('CREATE TABLE IF NOT EXISTS %%s_p%%s PARTITION OF %%I'
                         ' FOR VALUES FROM (%%s) TO (%%s)', p,
                         to_char(to_timestamp(d::bigint * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD'), p,
                         d::bigint * 86400000, (d::bigint + 1) * 86400000);
        END LOOP;
      END LOOP; END $$""" % (start // day, now // day))
    psql("""INSERT INTO hosts(id, host_id, hostname, os, kernel, agent_version, collector,
       first_seen_ms, last_seen_ms, res_ts, res_gap_ms, net_ts, net_interval_ms, status_ts,
       status_gap_ms, cpu_percent, ram_total, ram_available, disk_total, disk_available,
       upload_rate, download_rate, rx_peak_rate, tx_peak_rate)
      SELECT i, lpad(to_hex(i), 32, '0'), 'host' || lpad(i::text, 4, '0'),
       'Debian GNU/Linux 12 (bookworm)', '6.1.0', '0.1.0', 'bpf', %d, %d, %d, 10000, %d, 1000,
       %d, 60000, (i %% 100) + 0.5, 8000000000, 4000000000, 250000000000, 100000000000,
       i * 1000, i * 2000, i * 5000, i * 3000 FROM generate_series(1, %d) i;
      SELECT setval(pg_get_serial_sequence('hosts', 'id'), %d)"""
         % (start, now, now, now, now, hosts, hosts))
    # Per-minute aggregates: metric 1 cpu_percent (6 samples a minute), 6 upload_rate (60).
    psql("""INSERT INTO metrics_1m(host, metric, minute, n, sum, min, max)
      SELECT h.id, k.metric, m.t, k.n, k.n * ((h.id + m.t / 60000) %% 100),
       (h.id + m.t / 60000) %% 50, (h.id + m.t / 60000) %% 100 + 50
      FROM hosts h, generate_series(%d::bigint, %d::bigint, 60000) m(t),
       (VALUES (1, 6), (6, 60)) k(metric, n)""" % (start, now - 60000))
    raw_from = now - raw_hours * 3600000
    psql("""INSERT INTO metrics(host, metric, ts, value)
      SELECT h.id, 6, s.t, (h.id * 7 + s.t / 1000) %% 1000000
      FROM hosts h, generate_series(%d::bigint, %d::bigint, 1000) s(t);
      INSERT INTO metrics(host, metric, ts, value)
      SELECT h.id, 1, s.t, (h.id + s.t / 10000) %% 100
      FROM hosts h, generate_series(%d::bigint, %d::bigint, 10000) s(t)"""
         % (raw_from, now, raw_from, now))
    # exec records: the body as an agent writes it, the search row as pg_api_apply() does.
    vocab = ["ls -la /var/log", "git status", "systemctl status nginx", "grep -r error /etc",
             "python3 manage.py migrate", "tar czf backup.tgz /home", "ssh web2 uptime",
             "curl -s http://127.0.0.1/health", "vim /etc/hosts", "docker ps -a"]
    n_exec = days * 86400 // exec_every
    psql("""CREATE TEMP TABLE vocab(i int PRIMARY KEY, line text);
      INSERT INTO vocab VALUES %s;
      INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)
      SELECT h.host_id, e.k, 'exec', %d + e.k * %d * 1000 + h.id,
       %d + e.k * %d * 1000 + h.id + 5, 'bench',
       json_build_object('type', 'exec', 'ts', %d + e.k * %d * 1000 + h.id, 'pid', 1000 + e.k,
        'uid', 1000, 'user', CASE h.id %% 3 WHEN 0 THEN 'alice' WHEN 1 THEN 'bob'
        ELSE 'root' END, 'tty', 'pts/1', 'cwd', '/home/alice',
        'argv', to_json(string_to_array(CASE WHEN (h.id * 7919 + e.k) %% 100000 = 0
                 THEN 'rarecommand --flag' ELSE v.line END, ' ')),
        'host_id', h.host_id, 'seq', e.k)::text
      FROM hosts h CROSS JOIN generate_series(0, %d - 1) e(k) JOIN vocab v ON v.i = (h.id + e.k) %% 10"""
         % (", ".join("(%d, '%s')" % kv for kv in enumerate(vocab)), start, exec_every, start,
            exec_every, start, exec_every, n_exec))
    psql("""INSERT INTO execs(id, host, ts, "user", hay)
      SELECT r.id, h.id, r.ts, r.body::jsonb->>'user',
       (SELECT string_agg(x, ' ') FROM jsonb_array_elements_text(r.body::jsonb->'argv') x)
       || E'\\n' || (r.body::jsonb->>'user') || E'\\n/home/alice\\npts/1'
      FROM records r JOIN hosts h ON h.host_id = r.host_id WHERE r.type = 'exec'""")
    psql("""INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)
      SELECT h.host_id, 100000000 + e.k, 'speedtest', %d + e.k * 3600000, %d + e.k * 3600000,
       'bench', json_build_object('type', 'speedtest', 'ts', %d + e.k * 3600000,
       'download_rate', 900000000, 'upload_rate', 800000000, 'latency_ms', 0.3,
       'host_id', h.host_id, 'seq', 100000000 + e.k)::text
      FROM hosts h, generate_series(0, %d - 1) e(k);
      INSERT INTO speedtests(id, host, ts) SELECT r.id, h.id, r.ts FROM records r
      JOIN hosts h ON h.host_id = r.host_id WHERE r.type = 'speedtest'"""
         % (start, start, start, days * 24))
    psql("VACUUM ANALYZE")
    counts = {t: int(psql_value("SELECT count(*) FROM %s" % t))
              for t in ("hosts", "metrics", "metrics_1m", "execs", "speedtests", "records")}
    size = int(psql_value("SELECT pg_database_size('srvmon')"))
    trgm = psql_value("SELECT count(*) FROM pg_indexes WHERE indexname = 'execs_hay_trgm'")
    print("database: %s, %.1f GiB, trigram index: %s, generated in %.0f s" % (
        ", ".join("%s %d" % kv for kv in counts.items()), size / 2**30,
        "yes" if trgm == "1" else "no", time.monotonic() - t0))

    server.start()
    token = server_token(server, "bench", "bench-password")
    time_queries(server, token, hosts, now, repeat)
    server.stop()
finally:
    as_postgres("%s/pg_ctl" % pg_bin, "-D", pgdir + "/data", "-m", "fast", "-w", "stop",
                stdout=subprocess.DEVNULL)
    shutil.rmtree(pgdir)
    if work:
        subprocess.run(["rm", "-rf", work.path], check=True)
PY
