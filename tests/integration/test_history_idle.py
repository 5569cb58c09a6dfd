"""An idle agent does not wake for the exec history: after a drain that found no exec,
the history thread (named srvmon-history) sleeps without a timer, and the kernel wakes
it right after the next exec's record. With the default 200 ms drain a timer would wake
it 15 times in 3 s; here it wakes at most a few times (other execs of the machine), and
each exec after a quiet moment reaches the server within 100 ms instead of up to one
interval later. Run alone (RUN_SERIAL): other tests' execs would keep it awake."""
import os
import sqlite3
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (check, history_agent, served, wait_for)  # noqa: E402

MARK = "srvmon-idle-" + uuid.uuid4().hex[:12]
EXECS = 5


def history_thread(pid):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == "srvmon-history":
                return tid
    return None


def wakeups(pid, tid):
    with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


def latencies(server):
    con = sqlite3.connect("file:%s?mode=ro" % server.db, uri=True, timeout=10)
    try:
        rows = con.execute("SELECT received_ms - ts FROM records WHERE type = 'exec' AND "
                           "body LIKE ? ORDER BY seq", ("%" + MARK + "%",)).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def main():
    with served() as (work, server, agents):
        agent = history_agent(work, server, "trail = false\n")
        agents.append(agent)
        tid = history_thread(agent.proc.pid)
        check(tid is not None, "the history thread is named srvmon-history")
        time.sleep(1)  # the first drain that finds nothing: asleep from then on
        w0 = wakeups(agent.proc.pid, tid)
        time.sleep(3)
        woke = wakeups(agent.proc.pid, tid) - w0
        check(woke <= 4, "idle 3 s: the history thread woke %d times (a 200 ms timer: 15)"
              % woke)
        for i in range(EXECS):
            os.spawnv(os.P_WAIT, "/bin/true", ["true", MARK, str(i)])
            time.sleep(1.5)  # drained, then a drain that finds nothing: asleep again
        lat = wait_for(lambda: (lambda v: v if len(v) >= EXECS else None)(latencies(server)),
                       10, "the %d execs stored" % EXECS)
        check(len(lat) == EXECS, "each exec stored once")
        check(max(lat) < 100, "exec -> server after a quiet moment: %s ms (under 100; a "
              "200 ms timer gives up to 200)" % lat)
        check(agent.alive(), "agent alive")
    print("PASS")


main()
