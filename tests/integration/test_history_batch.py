"""Batched frames (docs/protocol.md, "welcome"): the agent sends {"type":"batch"} frames only
to a server that welcomed them, within its max_frame and 1,000 records, in seq order; every
seq arrives exactly once. Part 1: a fake server that welcomes batches (max_frame 16 KiB) and
one that does not. Part 2: the real srvmon-server stores every seq of an exec storm once."""
import json
import os
import sqlite3
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (Agent, Workdir, agent_config, check, fail, served,  # noqa: E402
                            wait_for, write_config)
from srvmon_fakeserver import FakeServer  # noqa: E402

MAX_FRAME = 16384
EXECS = 400
MARK = "srvmon-batch-" + uuid.uuid4().hex[:12]


def parsed(srv):
    """The fake server's text frames as (bytes, type, records)."""
    with srv.lock:
        texts = [t for _, t in srv.frames]
    out = []
    for t in texts:
        msg = json.loads(t)
        out.append((len(t.encode()), msg.get("type"),
                    msg["records"] if msg.get("type") == "batch" else [msg]))
    return out


def records(srv):
    return [r for f in parsed(srv) for r in f[2]]


def storm(tag):
    env = {"PATH": "/usr/bin:/bin"}
    for i in range(EXECS):
        os.posix_spawn("/bin/true", ["/bin/true", tag, str(i)], env)
        os.wait()


def marked(recs, tag):
    return [r for r in recs if r.get("type") == "exec" and tag in r.get("argv", [])]


def run_fake(work, welcome):
    tag = "%s-%s" % (MARK, "w" if welcome else "n")
    srv = FakeServer(["ack"], welcome_max_frame=MAX_FRAME if welcome else None).start()
    srv.work = work  # agent_config() takes the port and work dir from a server-like object
    agent = None
    try:
        hist = "trail = false\n"
        conf = agent_config(srv, history=hist, extra="[spool]\ndir = %s\n"
                            % work.file("spool-%d" % welcome))
        agent = Agent(work, write_config(work, conf, name="agent-%d.conf" % welcome),
                      log_name="agent-%d.log" % welcome).start()
        wait_for(lambda: [r for r in records(srv) if r.get("type") == "status"
                          and r.get("modules", {}).get("history", {}).get("state")
                          == "running"], 30, "history running (fake server)")
        storm(tag)
        wait_for(lambda: len(marked(records(srv), tag)) >= EXECS, 30,
                 "%d execs at the fake server" % EXECS)
        rc = agent.stop()
        check(rc == 0, "agent exit status %r" % rc)
        frames = parsed(srv)
        seqs = [r["seq"] for f in frames for r in f[2]]
        check(len(seqs) == len(set(seqs)), "every seq arrived once")
        check(seqs == sorted(seqs), "records in seq order")
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no seq missing")
        batches = [f for f in frames if f[1] == "batch"]
        if not welcome:
            check(not batches, "no batch frame to a server that did not welcome them")
            return len(frames), 0
        check(batches, "batch frames to a server that welcomed them")
        check(max(f[0] for f in batches) <= MAX_FRAME, "every batch frame within max_frame")
        check(max(len(f[2]) for f in batches) <= 1000, "at most 1000 records a batch")
        check(max(len(f[2]) for f in batches) > 1, "batches of several records")
        return len(frames), len(batches)
    finally:
        if agent:
            agent.stop()
        srv.stop()


def main():
    work = Workdir()
    frames_plain, _ = run_fake(work, welcome=False)
    frames_batch, nb = run_fake(work, welcome=True)
    print("fake server: %d frames without welcome, %d frames (%d batches) with"
          % (frames_plain, frames_batch, nb), flush=True)
    check(frames_batch < frames_plain, "fewer frames with batches")

    # The real srvmon-server: every seq of the storm stored exactly once.
    tag = MARK + "-real"
    with served() as (work, server, agents):
        conf = agent_config(server, history="trail = false\n")
        conf = conf.replace("[agent]\n", "[agent]\nlog_level = debug\n", 1)
        agent = Agent(work, write_config(work, conf, name="agent-real.conf"),
                      log_name="agent-real.log").start()
        agents.append(agent)
        wait_for(lambda: "takes batches" in agent.read_log(), 30,
                 "srvmon-server's welcome with batch:true")
        storm(tag)

        def stored():
            try:
                return server.rows("SELECT COUNT(*) FROM records WHERE body LIKE ?",
                                   ("%" + tag + "%",))[0][0]
            except sqlite3.OperationalError:
                return 0

        wait_for(lambda: stored() >= EXECS, 60, "%d execs stored by srvmon-server" % EXECS)
        rc = agent.stop()
        check(rc == 0, "agent exit status %r" % rc)
        rows = server.rows("SELECT seq FROM records")
        # (host_id, seq) is UNIQUE in the database: no gap means each seq once.
        seqs = sorted(int(r[0]) for r in rows)
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "every seq stored, no gap")
        check(len(marked(server.records("exec"), tag)) == EXECS, "every exec of the storm stored")
        print("srvmon-server: %d records, seqs %d..%d, each once" % (len(seqs), seqs[0],
                                                                    seqs[-1]))
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        fail("%s: %s" % (type(e).__name__, e))
