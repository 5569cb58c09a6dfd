"""One agent run under valgrind memcheck against srvmon-server: no leak, no error, exit 0."""
import os
import shutil
import signal
import subprocess
import sys
import time

from srvmon_testlib import (Server, Workdir, agent_config, check, fail, wait_for, AGENT,
                            write_config)

if os.environ.get("SRVMON_SANITIZE") == "ON":
    print("SKIP: valgrind runs in the normal pass (ASan and valgrind do not mix)")
    sys.exit(0)
if not shutil.which("valgrind"):
    fail("valgrind is not installed (scripts/install-deps.sh installs it)")

work = Workdir()
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.start()
# procfs collector: valgrind does not model every bpf(2) command; history off (default here).
cfg = write_config(work, agent_config(server, extra="[network]\ncollector = procfs\n"))
log_path = work.file("valgrind.log")
t0 = time.monotonic()
proc = subprocess.Popen(["valgrind", "--error-exitcode=1", "--leak-check=full",
                         "--show-leak-kinds=definite,indirect,possible",
                         "--errors-for-leak-kinds=definite,indirect,possible",
                         "--log-file=" + log_path, AGENT, "--config", cfg],
                        stdout=subprocess.DEVNULL, stderr=open(work.file("agent.log"), "w"))
try:
    wait_for(lambda: proc.poll() is None and len(server.records("resources")) >= 3, 60,
             "three resources records from the agent under valgrind")
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=60)
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
server.stop()
with open(log_path) as f:
    vlog = f.read()
check("ERROR SUMMARY: 0 errors" in vlog, "valgrind: 0 errors\n" + vlog[-1500:])
check("definitely lost" not in vlog or "definitely lost: 0 bytes" in vlog, "no leak")
check(rc == 0, "agent under valgrind exits 0 on SIGTERM (%s)" % rc)
print("ran %.1fs" % (time.monotonic() - t0))
print("PASS")
