"""PostgreSQL goes away for 10 s under ingest from two real agents (sampling every 200 ms):
srvmon-server stays up and stops acking (nothing is acked that is not committed), says so
once, and once the database is back it says that once too and the agents' spooled records
arrive. Afterwards nothing is lost (every seq of each agent is stored, or still in its spool
when it stopped), nothing is stored twice, and the agents went on producing."""
import os
import time

from srvmon_testlib import (Server, Workdir, check, check_each_seq_once, host_agent, pg_cluster,
                            spool_acked, spool_records, stored_seqs, wait_for)

HOSTS = ("outage-a", "outage-b")

t_start = time.monotonic()
pg = pg_cluster()
work = Workdir()
url = pg.database("outage")
server = Server(work, db=url)
server.add_user("agent1", "s3cret-pass")
server.start()
agents = {}
try:
    for host in HOSTS:
        agents[host] = host_agent(server.port, host, fast=True)
        agents[host][0].start()
    wait_for(lambda: all(len(stored_seqs(url, h)) >= 10 for h in HOSTS), 30,
             "10 records of each agent stored")

    log_mark = len(server.read_log())
    pg.stop("fast")
    t_down = time.monotonic()
    time.sleep(1.5)  # acks in flight at the stop arrive, the acked markers are written
    acked_down = {h: spool_acked(agents[h][1]) for h in HOSTS}
    time.sleep(max(0.0, 10 - (time.monotonic() - t_down)))
    check(server.proc.poll() is None, "srvmon-server is still running after 10 s without "
          "its database")
    check(all(a.alive() for a, _ in agents.values()), "the agents are still running")
    produced = {}
    for h in HOSTS:
        check(spool_acked(agents[h][1]) == acked_down[h],
              "%s: nothing acked while the database is away (acked %d)" % (h, acked_down[h]))
        left = spool_records(os.path.join(agents[h][1], "spool"))
        check(len([s for s in left if s > acked_down[h]]) >= 20,
              "%s: the outage's records wait in the spool (%d)" % (h, len(left)))
        produced[h] = max(left)

    pg.start()
    t_up = time.monotonic()
    wait_for(lambda: all(max(stored_seqs(url, h)) > produced[h] + 5 for h in HOSTS), 30,
             "the spooled records and new ones stored after the database is back")
    print("caught up %.1f s after the database came back" % (time.monotonic() - t_up))
    log = server.read_log()[log_mark:]
    print("server log during the outage:\n" + log[-3000:])
    down_lines = [ln for ln in log.splitlines() if "unreachable" in ln or "lost" in ln]
    up_lines = [ln for ln in log.splitlines() if "reachable again" in ln]
    check(len(down_lines) >= 1 and len(up_lines) == 1,
          "the server said the database went away and that it came back once (%d, %d lines)"
          % (len(down_lines), len(up_lines)))

    for h, (agent, _) in agents.items():
        check(agent.stop() == 0, "agent %s exits 0" % h)
    check_each_seq_once(url, {h: state for h, (_, state) in agents.items()})
    for h in HOSTS:
        stored = set(stored_seqs(url, h))
        check(all(s in stored for s in range(acked_down[h] + 1, produced[h] + 1)),
              "%s: every record of the outage (%d..%d) stored"
              % (h, acked_down[h] + 1, produced[h]))
    check(server.stop() == 0, "srvmon-server exits 0 on SIGTERM")
    print("took %.1f s" % (time.monotonic() - t_start))
finally:
    for agent, _ in agents.values():
        agent.stop()
    server.stop()
