"""Nothing lost to a server written by others that never acks: a FastAPI + uvicorn API of
the old client's shape (srvmon_fastapi_app.py: OAuth2 password form at /token, a /ws
that stores what it receives and never acks) is stopped mid-stream, kept down 8 s and
started again. Its new signing key refuses the agent's old token by accepting the
WebSocket and closing it at once with 1008. Every seq the agent produced reaches the
store, the records written just before the stop and just before the 1008 included."""
import json
import os
import signal
import socket
import subprocess
import time

from srvmon_testlib import (_STARTED, Agent, Workdir, agent_config, check, fail, wait_for,
                            write_config)

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "srvmon_fastapi_app.py")
# FastAPI and uvicorn are Debian packages (scripts/install-deps.sh): the system's python3,
# whichever python3 runs the test.
APP_PYTHON = "/usr/bin/python3"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FastApiServer:
    def __init__(self, work, port, close_after=0):
        self.work = work
        self.port = port
        self.store = work.file("fastapi-store.jsonl")
        self.log_path = work.file("fastapi.log")
        self.close_after = close_after
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [APP_PYTHON, APP, "--port", str(self.port), "--store", self.store,
             "--close-after", str(self.close_after)], stdout=self.log, stderr=subprocess.STDOUT)
        _STARTED.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                fail("the FastAPI server exited: %s" % open(self.log_path).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(up, 30, "the FastAPI server to listen")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # uvicorn closes its WebSockets (1012)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def seqs(self):
        """Every seq stored, once per frame received (duplicates kept)."""
        out = []
        try:
            with open(self.store) as f:
                for line in f:
                    if line.endswith("\n"):
                        out.append(json.loads(line)["seq"])
        except FileNotFoundError:
            pass
        return out


FAST = """
[resources]
interval = 100ms

[network]
interval = 100ms

[history]
enabled = true
filter = all
trail = false
"""


def missing(seqs):
    have = set(seqs)
    return [q for q in range(min(have), max(have) + 1) if q not in have] if have else []


work = Workdir()
server = FastApiServer(work, free_port()).start()
cfg = agent_config(server).split("[resources]")[0].replace("reconnect_max = 5s",
                                                           "reconnect_max = 1s") + FAST
agent = Agent(work, write_config(work, cfg), args=["--verbose"]).start()
# An exec workload: two execs (sh's sleep and true) about every 10 ms, recorded by history.
load = subprocess.Popen(["sh", "-c", "while :; do /bin/true; sleep 0.01; done"])
_STARTED.append(load)
try:
    wait_for(lambda: len(server.seqs()) >= 30, 30, "30 records at the FastAPI server")
    server.stop()
    before = server.seqs()
    time.sleep(8)  # the outage is what is under test
    server.start()
    # The 1008 close of the old token, then records produced after the restart.
    wait_for(lambda: "closed the connection with code 1008" in agent.read_log(), 30,
             "the restarted server refusing the old token with 1008")
    top = max(before)
    wait_for(lambda: len([q for q in server.seqs() if q > top]) >= 100, 40,
             "the outage's backlog and new records stored")
    seqs = server.seqs()
    gone = missing(seqs)
    print("stored %d frames, seqs %d..%d, %d duplicates, missing %d: %s"
          % (len(seqs), min(seqs), max(seqs), len(seqs) - len(set(seqs)), len(gone), gone[:40]))
    check(not gone, "no seq missing across the restart and the 1008 refusal")
    check(agent.alive(), "agent still shipping")
finally:
    load.kill()
    load.wait()
    rc = agent.stop()
    server.stop()
check(rc == 0, "agent exits 0 on SIGTERM")
print("PASS")
