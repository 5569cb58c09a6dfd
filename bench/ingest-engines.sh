#!/bin/sh
# srvmon-server ingest on its two engines, side by side in one run (issue 13): the 500-agent
# load of bench/ingest-load.sh (bench/ingest-load.c: CONNS WebSockets, each its own host_id,
# ~270-byte status records) against
#   1. SQLite (one node, the default engine);
#   2. PostgreSQL 15, one node;
#   3. PostgreSQL, two nodes on one database, CONNS/2 connections to each (two load
#      processes, distinct host_ids);
# each saturated (single-record frames, window 100 per connection) and paced (10 records/s
# per connection: the ack latency of a server that keeps up). Then two variants that make
# the nodes, not the database, the bottleneck, one node against two:
#   4. taskset: with 4 or more CPUs each node on a CPU of its own, the database on another,
#      the load on the rest; with fewer (this 2-vCPU VM) the nodes share CPU 0 and the
#      database and the load share CPU 1 (what that can and cannot show: docs/BENCHMARKS.md);
#   5. CPU quota: each node capped at NODE_CPU (default 0.25) of a CPU by a cgroup of its
#      own (cgroup v1 cpu or v2 cpu.max; created and removed here), the database and the
#      load unrestricted.
# PostgreSQL: a private cluster (tests/integration/srvmon_pg.py) in a temp dir, Unix socket
# only, fsync on and synchronous_commit on (an ack means the commit is on disk, as with
# SQLite's synchronous=FULL), removed at the end. Every run checks that the database holds
# every acked record. Holds /tmp/srvmon-bench.lock itself (do not wrap it in flock).
# Usage (as root, after a build): bench/ingest-engines.sh [BUILD_DIR] [SECONDS] [CONNS]
set -eu
. "$(dirname "$0")/lib.sh"
bench_self_lock "$0" "$@"
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
case "$build" in /*) ;; *) build=$src/$build ;; esac
export SRVMON_SERVER=$build/server/srvmon-server
export LOAD_SECONDS=${2:-20} LOAD_CONNS=${3:-500} NODE_CPU=${NODE_CPU:-0.25}
export LOAD_BIN=$build/ingest-load
export PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$LOAD_BIN" "$src/bench/ingest-load.c" \
	$(pkg-config --cflags --libs libwebsockets)
exec python3 -u - <<'PY'
import os
import re
import subprocess
import time

import srvmon_pg
from srvmon_testlib import Server, Workdir, db_rows, server_token

SECS, CONNS = int(os.environ["LOAD_SECONDS"]), int(os.environ["LOAD_CONNS"])
NODE_CPU = float(os.environ["NODE_CPU"])
NCPU = os.cpu_count()
# --conn-limit: the default 64 per address would refuse most of the loopback connections.
SERVE = ["--token-rate", "0", "--ack-interval", "0", "--quota", "0", "--conn-limit", "4096/4096"]
SATURATED, PACED = ["--window", "100"], ["--rate", "10", "--window", "100"]


def set_affinity(pid, cpus):
    """cpus of every thread of pid (taskset -a)."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True,
                   stdout=subprocess.DEVNULL)


def cluster_pids(pg):
    """The postmaster and its children (the backends forked later inherit its affinity)."""
    top = pg.pid
    pids = [top]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == top:
                        pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


class CpuCap:
    """A cgroup of its own holding one process, capped at cpu (fraction of one CPU)."""

    def __init__(self, name, pid, cpu):
        period = 100000
        quota = int(cpu * period)
        v1 = "/sys/fs/cgroup/cpu"
        if os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            self.path = os.path.join(v1, name)
            os.mkdir(self.path)
            with open(os.path.join(self.path, "cpu.cfs_period_us"), "w") as f:
                f.write(str(period))
            with open(os.path.join(self.path, "cpu.cfs_quota_us"), "w") as f:
                f.write(str(quota))
        else:
            self.path = os.path.join("/sys/fs/cgroup", name)
            os.mkdir(self.path)
            with open(os.path.join(self.path, "cpu.max"), "w") as f:
                f.write("%d %d" % (quota, period))
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def remove(self):
        for _ in range(100):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)


def run(name, target, nodes, load_args, pin=None, cap=None, pg=None):
    """One run: nodes servers on target, CONNS connections split between them. pin: (CPUs
    of node i, CPUs of the database, CPUs of the load); cap: CPU fraction per node."""
    work = Workdir("srvmon-ingest-engines-")
    db = target if target else work.file("srvmon.db")
    servers, caps, loads = [], [], []
    try:
        for i in range(nodes):
            s = Server(work, db=db, extra=SERVE, log_name="node%d.log" % i)
            if i == 0:
                s.add_user("load", "load-pass")
            s.start()
            servers.append(s)
            if pin:
                set_affinity(s.proc.pid, pin[0](i))
            if cap:
                caps.append(CpuCap("srvmon-bench-%d-%d" % (os.getpid(), i), s.proc.pid, cap))
        if pin and pg:
            for pid in cluster_pids(pg):
                set_affinity(pid, pin[1])
        token = server_token(servers[0], "load", "load-pass")
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        per = CONNS // nodes
        for i, s in enumerate(servers):
            cmd = [os.environ["LOAD_BIN"], "--port", str(s.port), "--token", token, "--conns",
                   str(per), "--seconds", str(SECS), "--first-host", str(i * per)] + load_args
            if pin:
                cmd = ["taskset", "-c", pin[2]] + cmd
            loads.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        outs = [p.communicate(timeout=SECS + 120) for p in loads]
        rcs = [p.returncode for p in loads]
    finally:
        for p in loads:
            if p.poll() is None:
                p.kill()
                p.wait()
        for s in servers:
            s.stop()
        for c in caps:
            c.remove()
        if pin and pg:
            for pid in cluster_pids(pg):
                set_affinity(pid, "0-%d" % (NCPU - 1))
    stored = db_rows(db, "SELECT count(*) FROM records")[0][0]
    rate = p50 = p99 = mx = 0.0
    acked = errors = 0
    for out, _ in outs:
        m = re.search(r"records/s=(\d+) ack_latency_ms p50=([\d.]+) p99=([\d.]+) max=([\d.]+)",
                      out)
        a = re.search(r"acked=(\d+)", out)
        if m and a:
            rate += float(m.group(1))
            p50 = max(p50, float(m.group(2)))
            p99 = max(p99, float(m.group(3)))
            mx = max(mx, float(m.group(4)))
            acked += int(a.group(1))
        e = re.search(r"errors=(\d+) closed=(\d+)", out)
        errors += int(e.group(1)) + int(e.group(2)) if e else 1
    # A load process exits 1 when records were still unacked 10 s after the run (a server
    # that cannot keep up): that is a figure, not a failure. Lost acked records, errors and
    # closed connections are.
    ok = acked > 0 and stored >= acked and errors == 0
    print("### %s, %d connections, %d s (load average before: %s)\n" % (name, CONNS, SECS, load))
    print("```\n%s```" % "".join(o for o, _ in outs))
    print("stored in the database: %d records (acked: %d)%s%s\n"
          % (stored, acked, "" if all(rc == 0 for rc in rcs) else
             " (records still unacked at the end: the server fell behind)",
             "" if ok else " FAILED"))
    if not ok:
        print("".join(e[-2000:] for _, e in outs))
    return name, rate, p50, p99, mx, ok


pg = srvmon_pg.PgCluster(fsync=True, settings={"shared_buffers": "'256MB'",
                                                "max_connections": "300"})
results = []
try:
    print("PostgreSQL %s, cluster in %s (fsync on, synchronous_commit on)\n"
          % (pg.query("postgres", "SHOW server_version;")[0][0], pg.dir))
    for mode, args in (("saturated", SATURATED), ("paced 10/s", PACED)):
        results.append(run("SQLite, 1 node, %s" % mode, None, 1, args))
        results.append(run("PostgreSQL, 1 node, %s" % mode, pg.database("bench"), 1, args, pg=pg))
        results.append(run("PostgreSQL, 2 nodes, %s" % mode, pg.database("bench"), 2, args,
                           pg=pg))
    if NCPU >= 4:
        # Node i on CPU i (of the first two), the database on CPU 2, the load on the rest.
        pin = (lambda i: str(i), "2", "3-%d" % (NCPU - 1))
        layout = "node i on CPU i, database on CPU 2, load on CPUs 3-%d" % (NCPU - 1)
    else:
        pin = (lambda i: "0", "1", "1")
        layout = "nodes on CPU 0, database and load on CPU 1"
    for nodes in (1, 2):
        results.append(run("PostgreSQL, %d node%s, taskset (%s), saturated" % (
            nodes, "s" if nodes > 1 else "", layout), pg.database("bench"), nodes, SATURATED,
            pin=pin, pg=pg))
    for nodes in (1, 2):
        results.append(run("PostgreSQL, %d node%s, each capped at %.2f CPU, saturated" % (
            nodes, "s" if nodes > 1 else "", NODE_CPU), pg.database("bench"), nodes, SATURATED,
            cap=NODE_CPU, pg=pg))
finally:
    pg.remove()

print("| run | records/s acked | ack p50 | p99 | max |")
print("| --- | --- | --- | --- | --- |")
for name, rate, p50, p99, mx, ok in results:
    print("| %s%s | %s | %.1f ms | %.1f ms | %.1f ms |" % (name, "" if ok else " (FAILED)",
                                                         format(int(rate), ","), p50, p99, mx))
print("\n(two nodes: records/s summed over both load processes, latencies the worse of the "
      "two)")
raise SystemExit(0 if all(r[5] for r in results) else 1)
PY
