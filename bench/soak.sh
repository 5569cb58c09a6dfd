#!/bin/sh
# Soak: srvmon-agent ships to srvmon-server for DURATION seconds (default 600) while the
# server is SIGKILLed every RESTART_EVERY seconds (default 60), kept down 5 s and restarted
# on the same port. Reports the agent's VmRSS at the start and the end and checks that every
# seq from the first to the last is in the database exactly once.
# Usage (as root, after a build): bench/soak.sh [BUILD_DIR] [DURATION] [RESTART_EVERY]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
export SRVMON_AGENT=$build/user/srvmon-agent SRVMON_SERVER=$build/server/srvmon-server
export SOAK_DURATION=${2:-600} SOAK_RESTART_EVERY=${3:-60}
export PYTHONPATH=$src/tests/integration PYTHONDONTWRITEBYTECODE=1
exec python3 -u - <<'PY'
import os
import signal
import time

from srvmon_testlib import Agent, Server, Workdir, agent_config, wait_for, write_config

duration = int(os.environ["SOAK_DURATION"])
every = int(os.environ["SOAK_RESTART_EVERY"])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


work = Workdir("srvmon-soak-")
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.start()
agent = Agent(work, write_config(work, agent_config(server))).start()
wait_for(lambda: server.records("resources"), 30, "first records")
time.sleep(10)  # warm-up: the start figure is taken once the agent is steady
rss_start = rss_kib(agent.proc.pid)
t0 = time.monotonic()
restarts = 0
samples = [rss_start]
while time.monotonic() - t0 < duration:
    time.sleep(min(every, max(0, duration - (time.monotonic() - t0))))
    samples.append(rss_kib(agent.proc.pid))
    if time.monotonic() - t0 >= duration:
        break
    port = server.port
    server.stop(signal.SIGKILL)
    time.sleep(5)
    server = Server(work, port=port)
    server.start()
    restarts += 1
# Let the backlog drain, then stop the agent and look at the database.
last = max(r["seq"] for r in server.records())
wait_for(lambda: max(r["seq"] for r in server.records()) > last + 3, 60,
         "fresh records after the last restart")
rss_end = rss_kib(agent.proc.pid)
rc = agent.stop()
time.sleep(1)
seqs = [r["seq"] for r in server.records()]
server.stop()
expected = list(range(seqs[0], seqs[-1] + 1))
print("soak: %d s, %d server restarts (SIGKILL, 5 s down)" % (duration, restarts))
print("soak: agent VmRSS start %d KiB, end %d KiB, max %d KiB, min %d KiB (sampled every %d s)"
      % (rss_start, rss_end, max(samples + [rss_end]), min(samples + [rss_end]), every))
print("soak: records %d, seq %d..%d, missing %d, duplicates %d, agent exit %s"
      % (len(seqs), seqs[0], seqs[-1], len(set(expected) - set(seqs)),
         len(seqs) - len(set(seqs)), rc))
ok = seqs == expected and rc == 0
print("soak: %s" % ("PASS: nothing lost, nothing duplicated" if ok else "FAIL"))
raise SystemExit(0 if ok else 1)
PY
