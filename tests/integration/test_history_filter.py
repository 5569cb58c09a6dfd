"""Exec history filters: login sessions only, excluded comm (in the kernel) and
excluded path globs (in the agent) are not shipped; the rest is."""
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (check, history_agent, served, wait_for)  # noqa: E402

MARK = "srvmon-filter-" + uuid.uuid4().hex[:12]


def login(uid):
    def pre():
        with open("/proc/self/loginuid", "w") as f:
            f.write(str(uid))
    return pre


def main():
    with open("/proc/self/loginuid") as f:
        if f.read().strip() != "4294967295":
            print("SKIP: this test process already has a login uid")
            sys.exit(0)
    with served() as (work, server, agents):
        hist = ("filter = login\nexclude_comm = echo\nexclude_path = /usr/bin/print*\n"
                "trail = false\n")
        agent = history_agent(work, server, hist)
        agents.append(agent)
        out = subprocess.DEVNULL
        subprocess.run(["/bin/true", MARK, "no-login"], stdout=out, timeout=30)
        subprocess.run(["/bin/echo", MARK, "comm"], stdout=out, preexec_fn=login(4242),
                       timeout=30)
        subprocess.run(["/usr/bin/printf", MARK], stdout=out, preexec_fn=login(4242),
                       timeout=30)
        subprocess.run(["/bin/true", MARK, "login"], stdout=out, preexec_fn=login(4242),
                       timeout=30)
        subprocess.run(["/bin/true", MARK, "last"], stdout=out, preexec_fn=login(4243),
                       timeout=30)

        def mine():
            recs = [r for r in server.records("exec") if MARK in r["argv"]]
            return recs if any(r["argv"][-1] == "last" for r in recs) else None

        recs = wait_for(mine, 30, "the last exec record")
        tags = [r["argv"][-1] if r["argv"][-1] != MARK else "printf" for r in recs]
        check(tags == ["login", "last"], "only login-session execs not excluded: %s" % tags)
        check(recs[0]["auid"] == 4242 and recs[1]["auid"] == 4243, "auid is the login uid")
        check(all(r["ret"] == 0 for r in recs), "ret 0")
        check(agent.stop() == 0, "agent exits 0")


if __name__ == "__main__":
    main()
