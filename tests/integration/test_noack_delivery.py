"""At-least-once delivery to a server that never acks (srvmon_fakeserver.py, "sink").

(a) Under an exec workload the server closes every connection with 1012 after 5 frames
    for 60 s (the frames behind the 5th are dropped, as a FastAPI handler that returns
    drops them), then keeps its connections: every seq the agent produced reaches it,
    and every exec of the workload.
(b) The server is stopped for 10 s and started again on the same port, where its first
    connection reads a frame of the backlog, drops it and closes with 1008 (a server
    refusing the token it accepted the WebSocket with): no seq missing.

Before the unacked grace (today's 5 s) an agent counted a written frame as delivered,
so (a) lost everything written behind each 5th frame and (b) what was in flight and the
backlog written before the 1008."""
import json
import os
import subprocess
import time

from srvmon_fakeserver import FakeServer
from srvmon_testlib import (_STARTED, Agent, Workdir, agent_config, check, poll, spool_records,
                            wait_for, write_config)

HOSTILE_S = 60  # the figure
WORKLOAD_EXECS = 600  # one every ~0.1 s over the hostile phase


def missing(seqs, top):
    have = set(seqs)
    return [q for q in range(1, top + 1) if q not in have]


def missing_after(top, timeout):
    """What is missing of seqs 1..top once all arrived or timeout s passed."""
    return poll(lambda: missing(received(), top), lambda gone: not gone, timeout)


def workload_execs():
    """The workload's execs received: their "noack-<i>" arguments."""
    execs = set()
    for f in fakes:
        with f.lock:
            texts = [t for _, t in f.frames]
        for text in texts:
            msg = json.loads(text)
            for rec in msg["records"] if msg.get("type") == "batch" else [msg]:
                argv = rec.get("argv") or []
                if rec.get("type") == "exec" and len(argv) == 2 and argv[1].startswith("noack-"):
                    execs.add(argv[1])
    return execs


def check_none_missing(gone, top, what):
    check(not gone, "%s: every seq 1..%d received at least once (missing %d%s)"
          % (what, top, len(gone), ": %s ..." % gone[:10] if gone else ""))


work = Workdir()
fake = FakeServer(["sink"], close_after=5).start()
cfg = agent_config(fake, work=work, history="filter = all\ntrail = false\n").replace(
    "reconnect_max = 5s", "reconnect_max = 1s")
agent = Agent(work, write_config(work, cfg)).start()
spool_dir = os.path.join(work.file("state"), "spool")
fakes = [fake]
load = None


def received():
    return [q for f in fakes for q in f.seqs()]


def produced():
    """The highest seq the agent has produced: in its spool (undelivered) or received."""
    return max(spool_records(spool_dir) + received() + [0])


try:
    # (a) 60 s of connections closed after 5 frames, under an exec workload (bounded).
    wait_for(lambda: fake.count_frames() >= 5, 30, "the agent's first frames")
    t0 = time.monotonic()
    load = subprocess.Popen(
        ["sh", "-c", "i=0; while [ $i -lt %d ]; do /bin/echo noack-$i >/dev/null; i=$((i+1)); "
         "sleep 0.09; done" % WORKLOAD_EXECS])
    _STARTED.append(load)
    # The workload runs within the hostile phase, however slow the machine is.
    wait_for(lambda: time.monotonic() - t0 >= HOSTILE_S and load.poll() is not None,
             HOSTILE_S + 60, "the hostile phase and the workload")
    top_a = produced()
    closes = len([e for e in fake.events if e[1].startswith("closed after")])
    check(closes >= 8, "the server closed %d connections after 5 frames" % closes)
    fake.close_after = None  # from the next connection on: connections are kept
    gone = missing_after(top_a, 60)
    seqs = received()
    print("(a) %d frames received for seqs 1..%d (%d duplicates, %d closes after 5 frames)"
          % (len(seqs), top_a, len(seqs) - len(set(seqs)), closes))
    check_none_missing(gone, top_a, "(a) connections closed after 5 frames")
    execs = poll(workload_execs, lambda e: len(e) == WORKLOAD_EXECS, 30)
    check(len(execs) == WORKLOAD_EXECS,
          "(a) all %d execs of the workload received (%d)" % (WORKLOAD_EXECS, len(execs)))

    # (b) The server stopped for 10 s, then started again on the same port.
    wait_for(lambda: len(received()) > len(seqs) + 20, 30, "records on a kept connection")
    port = fake.port
    fake.stop()
    top_stop = produced()
    time.sleep(10)  # the outage is what is under test
    fake = FakeServer(["refuse", "sink"], port=port).start()
    fakes.append(fake)
    top_restart = produced()
    wait_for(lambda: (0, "refused") in fake.events, 30, "the backlog's connection refused")
    wait_for(lambda: produced() > top_restart + 5, 30, "records produced after the restart")
    top_b = produced()
    gone = missing_after(top_b, 60)
    seqs = received()
    print("(b) %d frames received for seqs 1..%d, %d produced before the stop"
          % (len(seqs), top_b, top_stop))
    check("closed the connection with code 1008" in agent.read_log(), "(b) 1008 logged")
    check_none_missing(gone, top_b, "(b) server stopped 10 s, then 1008 after a frame")
    check(agent.alive(), "agent still shipping")
finally:
    if load and load.poll() is None:
        load.kill()
        load.wait()
    rc = agent.stop()
    for f in fakes:
        f.stop()
check(rc == 0, "agent exits 0 on SIGTERM")
print("PASS")
