"""Nothing lost while the server is away, exactly once in the database.

srvmon-server is SIGKILLed mid-stream and stays down for 30 s; during the outage the
agent itself is SIGKILLed and restarted. Every record that was in the spool when the
agent died, and every record produced by either agent run, ends up in the database
exactly once; the restarted agent never reuses a seq.
"""
import signal
import time

from srvmon_testlib import (FAST_SAMPLING, Agent, Server, Workdir, agent_config, check,
                            spool_records, wait_for, write_config)


def config(server):
    # Fast sampling: ~10 records/s, so the outage leaves a few hundred in the spool.
    return agent_config(server).split("[resources]")[0] + FAST_SAMPLING


work = Workdir()
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.start()
port = server.port
agent = Agent(work, write_config(work, config(server))).start()
spool_dir = work.file("state/spool")
try:
    wait_for(lambda: len(server.records()) >= 20, 30, "20 records stored")

    # 1. Server killed mid-stream.
    server.stop(signal.SIGKILL)
    stored_before = {r["seq"] for r in Server(work, port=port).records()}
    t_kill = time.monotonic()
    # The outage itself is under test: let the spool fill for a while.
    wait_for(lambda: [s for s in spool_records(spool_dir) if s > max(stored_before)], 10,
             "records spooled during the outage")
    time.sleep(8)

    # 2. Agent killed during the outage: what it spooled must survive.
    agent.stop(signal.SIGKILL)
    spooled = spool_records(spool_dir)
    check(len([s for s in spooled if s > max(stored_before)]) >= 30,
          "the spool holds the outage's records at the kill (%d)" % len(spooled))
    run1_max = max(spooled)
    log_mark = len(agent.read_log())
    agent = Agent(work, agent.config).start()
    wait_for(lambda: "undelivered records" in agent.read_log()[log_mark:], 10,
             "restarted agent opens the spool")
    check("%d undelivered records" % len(spooled) in agent.read_log()[log_mark:],
          "restarted agent found all %d spooled records" % len(spooled))

    # 3. Server back after 30 s on the same port.
    time.sleep(max(0.0, 30 - (time.monotonic() - t_kill)))
    check(agent.alive(), "agent alive through a 30 s outage")
    server = Server(work, port=port)
    server.start()
    t_back = time.monotonic()

    def caught_up():
        seqs = set(r["seq"] for r in server.records())
        return set(spooled) <= seqs and len([s for s in seqs if s > run1_max]) >= 10

    wait_for(caught_up, 25, "backlog replayed and new records stored")
    replay_s = time.monotonic() - t_back
    recs = server.records()
    seqs = [r["seq"] for r in recs]
    check(len(seqs) == len(set(seqs)), "every seq stored exactly once (%d records)" % len(seqs))
    check(stored_before <= set(seqs), "records stored before the kill are still there")
    check(set(spooled) <= set(seqs), "every record spooled at the agent's kill was delivered")
    run1 = [s for s in seqs if s <= run1_max]
    run2 = [s for s in seqs if s > run1_max]
    check(run1 == list(range(run1[0], run1_max + 1)),
          "first run: no seq gap %d..%d across the server kill" % (run1[0], run1_max))
    check(run2 == list(range(run2[0], run2[-1] + 1)),
          "second run: no seq gap %d..%d" % (run2[0], run2[-1]))
    check(run2[0] > run1_max and run2[0] - run1_max <= 1024 + 1,
          "restart never reuses a seq (next %d after %d, gap at most one block)"
          % (run2[0], run1_max))
    print("replayed in %.1f s" % replay_s)
    stats = server.stats()
    print("server stats: %s" % stats)
    check(agent.alive(), "agent still shipping")
finally:
    rc = agent.stop()
    server.stop()
check(rc == 0, "agent exits 0 on SIGTERM")
print("PASS")
