"""An idle agent does not wake for the exec history: after a drain that found no exec,
the history thread (named srvmon-history) sleeps without a timer, and the kernel wakes
it right after the next exec's record. With the default 200 ms drain a timer would wake
it 15 times in 3 s; here it wakes at most twice, and each exec after a quiet moment
reaches the server within 100 ms instead of up to one interval later.

The test counts only what it controls: the agent records execs of uid >= UID only
(history.min_uid, filtered in the kernel before the ring buffer, so it does not wake the
thread), UID is a random uid no account has, and the test's own execs run as UID. Other
work on the machine (other tests, other engineers) execs as root or ordinary users and is
filtered out; the test adds such execs of its own during the idle window to show it."""
import os
import random
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (check, history_agent, served, wait_for)  # noqa: E402

MARK = "srvmon-idle-" + uuid.uuid4().hex[:12]
EXECS = 5
# Above every uid a system hands out (useradd stops at 60000, systemd's dynamic and
# container ranges below 2^31); random so two runs side by side barely overlap.
UID = random.randrange(3000000000, 4000000000)
IDLE_S = 3
NOISE = 20  # root execs during the idle window: filtered, must not wake the thread


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
    rows = server.rows("SELECT received_ms - ts FROM records WHERE type = 'exec' AND "
                       "body LIKE ? ORDER BY seq", ("%" + MARK + "%",))
    return [r[0] for r in rows]


def main():
    with served() as (work, server, agents):
        agent = history_agent(work, server, "trail = false\nmin_uid = %d\n" % UID)
        agents.append(agent)
        tid = history_thread(agent.proc.pid)
        check(tid is not None, "the history thread is named srvmon-history")
        time.sleep(1)  # the first drain that finds nothing: asleep from then on
        w0 = wakeups(agent.proc.pid, tid)
        # The idle window, with execs of root (below min_uid) spread over it.
        t_end = time.monotonic() + IDLE_S
        for i in range(NOISE):
            subprocess.run(["/bin/true", MARK + "-root", str(i)], check=True)
            time.sleep(IDLE_S / NOISE)  # pacing the noise, not waiting for anything
        time.sleep(max(0.0, t_end - time.monotonic()))
        woke = wakeups(agent.proc.pid, tid) - w0
        check(woke <= 2, "idle %d s (%d filtered root execs): the history thread woke %d "
              "times (a 200 ms timer: 15)" % (IDLE_S, NOISE, woke))
        for i in range(EXECS):
            # user=: setresuid in the child before the exec, so the only exec is as UID.
            subprocess.run(["/bin/true", MARK, str(i)], user=UID, group=UID, extra_groups=[],
                           check=True)
            time.sleep(1.5)  # drained, then a drain that finds nothing: asleep again
        lat = wait_for(lambda: (lambda v: v if len(v) >= EXECS else None)(latencies(server)),
                       10, "the %d execs as uid %d stored" % (EXECS, UID))
        check(len(lat) == EXECS, "each exec stored once")
        check(max(lat) < 100, "exec -> server after a quiet moment: %s ms (under 100; a "
              "200 ms timer gives up to 200)" % lat)
        recs = server.records("exec")
        check(all(r["uid"] >= UID for r in recs),
              "only execs of uid >= %d recorded: %s" % (UID, sorted({r.get("uid") for r in recs})))
        check(agent.alive(), "agent alive")
    print("PASS")


main()
