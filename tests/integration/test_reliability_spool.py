"""The spool's bounds: full → oldest dropped and reported; disk full → counted, no crash.

1. spool.max_size = 16 KiB while the server is away: the oldest records are dropped,
   the newest delivered in order, and the next status reports spool_dropped.
2. The spool on a 32 KiB tmpfs (disk full before max_size): writes fail with a clear
   log line, the drops are counted, the agent keeps running and ships again once
   acks free space.
"""
import os
import signal
import subprocess

from srvmon_testlib import (Agent, Server, Workdir, agent_config, away_server, check,
                            mount_tmpfs, spool_records, wait_for, write_config)

FAST = """
[resources]
interval = 200ms

[network]
interval = 200ms

[spool]
dir = %s
max_size = %d

# agent_config()'s own [history] section is cut off with the rest above: without this
# every exec on the machine would race the 16 KiB spool.
[history]
enabled = false
"""


def config(server, spool_dir, max_size):
    return agent_config(server).split("[resources]")[0] + FAST % (spool_dir, max_size)


def dropped_status(server):
    return [r for r in server.records("status") if r.get("spool_dropped", 0) > 0]


def first_segment(spool_dir):
    try:
        segs = sorted(n for n in os.listdir(spool_dir) if n.endswith(".seg"))
    except FileNotFoundError:
        return 0
    return int(segs[0][:-4]) if segs else 0


# 1. Full spool: the oldest go first.
work = Workdir()
server = away_server(work)
port = server.port
spool_dir = work.file("spool")
agent = Agent(work, write_config(work, config(server, spool_dir, 16384))).start()
try:
    wait_for(lambda: first_segment(spool_dir) > 1, 30, "the spool to evict its oldest segment")
    held = spool_records(spool_dir)
    sizes = sum(os.path.getsize(os.path.join(spool_dir, n)) for n in os.listdir(spool_dir)
                if n.endswith(".seg"))
    check(sizes <= 16384, "spool stays within max_size (%d bytes)" % sizes)
    check(held and held[0] > 1, "oldest records dropped (spool starts at seq %d)" % held[0])
    server = Server(work, port=port).start()
    st = wait_for(lambda: dropped_status(server), 30, "a status reporting spool_dropped")[0]
    check(st["events_lost"] >= st["spool_dropped"] > 0,
          "status: spool_dropped %d counted in events_lost %d" % (st["spool_dropped"],
                                                                   st["events_lost"]))
    seqs = [r["seq"] for r in server.records()]
    check(seqs[0] >= held[0] > 1, "the oldest records were dropped, not the newest")
    # A status written while the server was away is behind the drops that followed it:
    # compare with the second status after the hello of the agent's connection.
    hello = wait_for(lambda: server.records("hello"), 10, "the agent's hello")[-1]
    last = wait_for(lambda: [r for r in server.records("status")
                             if r["seq"] > hello["seq"]][1:], 10, "two statuses after the hello")[-1]
    seqs = [r["seq"] for r in server.records() if r["seq"] <= last["seq"]]
    check(last["spool_dropped"] == seqs[0] - 1,
          "spool_dropped (%d) is exactly the records missing before seq %d"
          % (last["spool_dropped"], seqs[0]))
    check(seqs == list(range(seqs[0], seqs[-1] + 1)), "kept records delivered in order, no gap")
    check(agent.alive(), "agent alive")
finally:
    rc = agent.stop()
    server.stop()
check(rc == 0, "agent exits 0")

# 2. Disk full under the spool.
work = Workdir()
server = away_server(work)
port = server.port
spool_dir = work.file("tmpfs-spool")
mount_tmpfs(spool_dir, "32k")
agent = None
try:
    agent = Agent(work, write_config(work, config(server, spool_dir, 1 << 20))).start()
    wait_for(lambda: "cannot write to the spool" in agent.read_log(), 40,
             "the disk-full error in the log")
    check(agent.read_log().count("cannot write to the spool") == 1,
          "disk full logged once, not per record")
    check(agent.alive(), "agent survives a full disk")
    server = Server(work, port=port).start()
    st = wait_for(lambda: dropped_status(server), 40, "a status reporting the failed writes")
    check(st[0]["spool_dropped"] > 0, "failed writes counted: %d" % st[0]["spool_dropped"])
    wait_for(lambda: "is writable again" in agent.read_log(), 20, "recovery logged")
    last = server.records()[-1]["seq"]
    wait_for(lambda: server.records()[-1]["seq"] > last + 10, 20, "shipping after recovery")
    check(agent.alive(), "agent still shipping after the disk filled up")
finally:
    if agent:
        agent.stop(signal.SIGTERM)
    server.stop()
    subprocess.run(["umount", spool_dir], check=False)
print("PASS")
