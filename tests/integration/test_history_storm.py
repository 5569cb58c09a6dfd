"""Exec storm: 20,000 execs (or 30 s of them) as fast as posix_spawn runs them. Every one reaches
srvmon-server, or the shortfall is covered by the events_lost the agent reports."""
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (Agent, agent_config, check, fail, served, wait_for,  # noqa: E402
                            write_config)

N = 20000
STORM_SECONDS = 30
MARK = "srvmon-storm-" + uuid.uuid4().hex[:12]


def main():
    with served() as (work, server, agents):
        hist = "trail_path = %s\n" % work.file("exec.jsonl")
        agent = Agent(work, write_config(work, agent_config(server, history=hist))).start()
        agents.append(agent)

        def status():
            st = [m for m in server.records("status")
                  if m.get("modules", {}).get("history", {}).get("state") == "running"]
            return st[-1] if st else None

        lost0 = wait_for(status, 30, "history module running")["events_lost"]
        # As fast as we can: posix_spawn (vfork) with a few children in flight, for N
        # execs or STORM_SECONDS, whichever comes first (a loaded CI machine is slow).
        t0 = time.monotonic()
        env = {"PATH": "/usr/bin:/bin"}
        inflight = 0
        n = 0
        while n < N and time.monotonic() - t0 < STORM_SECONDS:
            os.posix_spawn("/bin/true", ["/bin/true", MARK, str(n)], env)
            n += 1
            inflight += 1
            if inflight >= 4:
                os.wait()
                inflight -= 1
        while inflight:
            os.wait()
            inflight -= 1
        took = time.monotonic() - t0
        print("%d execs in %.1f s (%.0f/s)" % (n, took, n / took), flush=True)

        def count():
            import sqlite3
            try:
                return server.rows("SELECT COUNT(*) FROM records WHERE body LIKE ?",
                                   ('%"comm":"true"%' + MARK + '%',))[0][0]
            except sqlite3.OperationalError:
                return 0

        deadline = time.monotonic() + 60
        got = count()
        while got < n and time.monotonic() < deadline:
            lost = status()["events_lost"] - lost0
            if lost > 0 and got + lost >= n:
                break
            time.sleep(0.5)
            got = count()
        lost = status()["events_lost"] - lost0
        print("received %d of %d, events_lost +%d" % (got, n, lost), flush=True)
        if got < n and n - got > lost:
            fail("%d execs missing, only %d reported lost" % (n - got, lost))
        check(got <= n, "no exec shipped twice")
        check(got + lost >= n, "every exec captured or counted as lost")
        check(got == n, "every exec captured (no loss at %.0f execs/s)" % (n / took))
        check(agent.stop() == 0, "agent exits 0")


if __name__ == "__main__":
    main()
