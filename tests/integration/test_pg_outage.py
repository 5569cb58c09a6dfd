"""PostgreSQL goes away for 10 s under ingest from two real agents (sampling every 200 ms):
srvmon-server stays up and stops acking (nothing is acked that is not committed), says so
once, and once the database is back it says that once too and the agents' spooled records
arrive. Afterwards nothing is lost (every seq of each agent is stored, or still in its spool
when it stopped), nothing is stored twice, and the agents went on producing."""
import os
import time
import types

from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, db_rows, pg_cluster,
                            spool_records, wait_for, write_config)

FAST = """
[resources]
interval = 200ms

[network]
interval = 200ms

[history]
enabled = false
"""
HOSTS = ("outage-a", "outage-b")


def seqs(url, host):
    return sorted(int(s) for (s,) in db_rows(url, "SELECT seq FROM records WHERE host_id = ?",
                                             (host,)))


def acked(state_dir):
    try:
        with open(os.path.join(state_dir, "spool", "acked"), "rb") as f:
            raw = f.read(8)
        return int.from_bytes(raw, "little") if len(raw) == 8 else 0
    except FileNotFoundError:
        return 0


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
        w = Workdir(prefix="srvmon-outage-agent-")
        cfg = agent_config(types.SimpleNamespace(port=server.port, work=w)).split(
            "[resources]")[0] + FAST
        cfg = cfg.replace("[agent]\n", "[agent]\nhost_id = %s\n" % host)
        agents[host] = (Agent(w, write_config(w, cfg)).start(), w.file("state"))
    wait_for(lambda: all(len(seqs(url, h)) >= 10 for h in HOSTS), 30,
             "10 records of each agent stored")

    log_mark = len(server.read_log())
    pg.stop("fast")
    t_down = time.monotonic()
    time.sleep(1.5)  # acks in flight at the stop arrive, the acked markers are written
    acked_down = {h: acked(agents[h][1]) for h in HOSTS}
    time.sleep(max(0.0, 10 - (time.monotonic() - t_down)))
    check(server.proc.poll() is None, "srvmon-server is still running after 10 s without "
          "its database")
    check(all(a.alive() for a, _ in agents.values()), "the agents are still running")
    for h in HOSTS:
        check(acked(agents[h][1]) == acked_down[h],
              "%s: nothing acked while the database is away (acked %d)" % (h, acked_down[h]))
        left = spool_records(os.path.join(agents[h][1], "spool"))
        check(len([s for s in left if s > acked_down[h]]) >= 20,
              "%s: the outage's records wait in the spool (%d)" % (h, len(left)))
    produced = {h: max(spool_records(os.path.join(agents[h][1], "spool")) + [0]) for h in HOSTS}

    pg.start()
    t_up = time.monotonic()
    wait_for(lambda: all(seqs(url, h) and max(seqs(url, h)) > produced[h] + 5 for h in HOSTS),
             30, "the spooled records and new ones stored after the database is back")
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
    dups = db_rows(url, "SELECT host_id, seq, count(*) FROM records GROUP BY host_id, seq"
                   " HAVING count(*) > 1")
    check(dups == [], "no (host_id, seq) stored twice: %r" % dups[:5])
    for h, (_, state) in agents.items():
        stored = seqs(url, h)
        left = spool_records(os.path.join(state, "spool"))
        every = sorted(set(stored) | set(left))
        check(every == list(range(every[0], every[-1] + 1)),
              "%s: %d stored (%d..%d) + %d still spooled: every seq, no gap" % (
                  h, len(stored), stored[0], stored[-1], len(left)))
        check(all(s in stored for s in range(acked_down[h] + 1, produced[h] + 1)),
              "%s: every record of the outage (%d..%d) stored"
              % (h, acked_down[h] + 1, produced[h]))
    check(server.stop() == 0, "srvmon-server exits 0 on SIGTERM")
    print("took %.1f s" % (time.monotonic() - t_start))
finally:
    for agent, _ in agents.values():
        agent.stop()
    server.stop()
