"""Bad input from the server: a fake server (srvmon_fakeserver.py) sends invalid JSON, an
unknown type, binary frames, a frame over 1 MiB, stops reading, closes with 4401 and
leaves a token request unanswered; the agent logs each, drops and retries, keeps its
memory bounded and its modules running, and ships to a real srvmon-server afterwards."""
import os
import time

from srvmon_fakeserver import FakeServer
from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, spool_records,
                            wait_for, write_config)


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


work = Workdir()
fake = FakeServer(["garbage", "oversize", "never_read", "close_4401", "sink"],
                  token_hang=[1]).start()

extra = "connect_timeout = 1s\nping_interval = 1s\n"
cfg = agent_config(fake, extra="", work=work).replace("reconnect_max = 5s",
                                                    "reconnect_max = 1s\n" + extra)
agent = Agent(work, write_config(work, cfg), args=["--verbose"]).start()
rss = []


def sample():
    if agent.alive():
        rss.append(vmrss_kib(agent.proc.pid))
    return True


def wait(pred, timeout, what):
    return wait_for(lambda: sample() and pred(), timeout, what)


try:
    # Connection 0: garbage, then the agent keeps shipping on the same connection.
    wait(lambda: fake.count_frames(0) >= 1, 30, "the agent's first frames")
    rss_start = vmrss_kib(agent.proc.pid)
    wait(lambda: (0, "closed by server") in fake.events, 30, "5 frames after the garbage")
    log = agent.read_log()
    # Invalid JSON and a JSON array: one line (at most one a minute, user/delivery/peertext.c).
    check(log.count("ignoring a malformed message") == 1, "malformed messages logged once")
    check("ignoring a binary frame" in log, "binary frame logged")
    check("ignoring message of type 'surprise'" in log, "unknown type logged (debug)")

    # Connection 1: a frame over 1 MiB: the agent closes with 1009 and reconnects.
    wait(lambda: fake.ws_connections >= 3, 30, "a reconnect after the oversized frame")
    check("is over 1048576 bytes; closing the connection" in agent.read_log(),
          "oversized frame logged")
    check((1, "close 1009") in fake.events, "closed with 1009 (message too big)")

    # Connection 2: never read. The send buffer fills; the modules keep sampling into the
    # spool; the agent gives up on the dead peer (ping timeout) and reconnects.
    spool = os.path.join(work.file("state"), "spool")
    n0 = len(spool_records(spool))
    wait(lambda: len(spool_records(spool)) >= n0 + 10, 30,
         "records still spooled while the socket is full")
    wait(lambda: fake.ws_connections >= 4, 40, "a reconnect away from the server that never reads")
    check(agent.alive(), "agent alive after the server that never reads")

    # Connection 3: close 4401 -> new token; that request is never answered -> timeout.
    wait(lambda: fake.token_requests >= 3, 30, "a token request after the hanging one")
    log = agent.read_log()
    check("closed the connection with code 4401" in log, "4401 logged")
    check("token request to http://127.0.0.1:%d/token failed" % fake.port in log
          and "imed out" in log, "the unanswered token request times out and is logged")

    # Connection 4: shipping again.
    wait(lambda: fake.count_frames(4) >= 3, 30, "frames on the fifth connection")
finally:
    fake.stop()

# A real srvmon-server takes the port over: the agent ships again.
server = Server(work, port=fake.port)
server.add_user("agent1", "s3cret-pass")
server.start()
wait(lambda: len(server.records("resources")) >= 2, 40, "records stored by srvmon-server")
sample()
rss_peak = max(rss)
print("VmRSS: start %d KiB, peak %d KiB, end %d KiB, %d samples"
      % (rss_start, rss_peak, rss[-1], len(rss)))
check(rss_peak <= rss_start + 16 * 1024, "memory bounded: peak VmRSS %d KiB <= start %d + 16 MiB"
      % (rss_peak, rss_start))
check(agent.alive(), "agent kept running throughout")
check(agent.stop() == 0, "agent exits 0")
server.stop()
print("PASS")
