"""Resource faults: a figure that cannot be read is omitted and logged once; a read-only
spool is logged once and survived without loss.

1. The agent runs in a private mount namespace whose /proc/meminfo is a bind-mounted
   copy without MemAvailable, with a second disk mount that is removed while it runs:
   RAM figures and that disk are omitted (the disk reported with its error), each
   logged once however many intervals pass, the other figures keep coming; when the
   line and the directory come back, the figures return and that is logged once.
2. The spool's file system is read-only when the agent starts, and the server is away:
   one log line names the cause, records wait in memory (agent.queue_max; overflow is
   counted in events_lost; test_reliability_spool covers a spool that fails while
   running). Made writable again, the spool is opened on the agent's next try (every
   10 s, quietly) and the records waiting in memory move into it in order; every one
   reaches the server when it comes back.
"""
import os
import signal
import subprocess
import time

from srvmon_testlib import (Agent, Server, Workdir, agent_config, away_server, check,
                            mount_tmpfs, served, spool_records, wait_for, write_config)

FAST = """
[resources]
interval = 200ms
mounts = /, %s

[network]
interval = 200ms
%s
[history]
enabled = false
"""


def config(server, extra_mount, spool=""):
    return agent_config(server).split("[resources]")[0] + FAST % (extra_mount, spool)


def resources_after(server, seq):
    return [r for r in server.records("resources") if r["seq"] > seq]


def last_seq(server):
    recs = server.records()
    return recs[-1]["seq"] if recs else 0


# 1. /proc/meminfo without MemAvailable, a mount that goes away.
with served() as (work, server, agents):
    with open("/proc/meminfo") as f:
        full = f.read()
    partial = "".join(line for line in full.splitlines(True)
                      if not line.startswith("MemAvailable:"))
    fake = work.file("meminfo")
    with open(fake, "w") as f:
        f.write(partial)
    extra = work.file("extra-disk")
    os.mkdir(extra)
    wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /proc/meminfo && exec "$@"', fake]
    agent = Agent(work, write_config(work, config(server, extra)), prefix=wrap).start()
    agents.append(agent)
    res = wait_for(lambda: server.records("resources")[-1:], 30, "a resources record")[0]
    check("ram_available" not in res and "ram_total" not in res,
          "RAM figures omitted without MemAvailable")
    check("cpu_percent" in res or "disks" in res, "the other figures are still sent")
    os.rmdir(extra)
    seq = last_seq(server)
    recs = wait_for(lambda: resources_after(server, seq)[5:], 30, "six more resources records")
    disks = {d["mount"]: d for d in recs[-1]["disks"]}
    check("error" in disks.get(extra, {}) and "total" not in disks[extra],
          "the removed mount is reported with its error, no figures: %s" % disks.get(extra))
    check("total" in disks.get("/", {}), "the root mount still has its figures")
    log = agent.read_log()
    check(log.count("no MemAvailable in") == 1,
          "missing MemAvailable logged once over %d intervals" % len(server.records("resources")))
    check(log.count("cannot get disk usage of \"%s\"" % extra) == 1, "missing mount logged once")

    with open(fake, "w") as f:  # the bind mount shows the new content
        f.write(full)
    os.mkdir(extra)
    seq = last_seq(server)
    back = wait_for(lambda: [r for r in resources_after(server, seq)
                             if "ram_available" in r and "total" in
                             {d["mount"]: d for d in r["disks"]}.get(extra, {})], 30,
                    "RAM and the disk back in the records")
    check(back[0]["ram_total"] > 0, "ram_total back")
    log = agent.read_log()
    check(log.count("readable again") == 1, "RAM recovery logged once")
    check(log.count("available again") == 1, "disk recovery logged once")
    check(agent.alive(), "agent alive")
    rc = agent.stop(signal.SIGTERM)
check(rc == 0, "agent exits 0")

# 2. Read-only spool.
work = Workdir()
server = away_server(work)
port = server.port
spool_dir = work.file("ro-spool")
mount_tmpfs(spool_dir, "4m")
agent = None
try:
    # Read-only from the start: Linux refuses to remount a file system read-only while
    # a file on it is open for writing, and the agent keeps its segment open.
    subprocess.run(["mount", "-o", "remount,ro", spool_dir], check=True)
    spool = "\n[spool]\ndir = %s\n" % spool_dir
    agent = Agent(work, write_config(work, config(server, "/", spool))).start()
    wait_for(lambda: "cannot open the spool" in agent.read_log(), 30,
             "the read-only error in the log")
    first = agent.read_log()
    check("Read-only file system" in first and "records wait in memory only" in first,
          "the log line names the cause and what the agent does instead")
    time.sleep(2)  # ten more intervals while the server is away: still one line
    check(agent.read_log().count("cannot open the spool") == 1, "logged once, not per record")
    check(agent.alive(), "agent survives a read-only spool")
    # Writable again (server still away): the agent opens the spool on its next try and
    # moves what waits in memory into it, oldest first.
    subprocess.run(["mount", "-o", "remount,rw", spool_dir], check=True)
    wait_for(lambda: "can be used now" in agent.read_log(), 20, "the spool opened on a retry")
    check(agent.read_log().count("cannot open the spool") == 1, "the retries were quiet")
    held = spool_records(spool_dir)
    check(held and held[0] == 1 and held == list(range(1, held[-1] + 1)),
          "the records held in memory are in the spool from seq 1, in order (%d of them)"
          % len(held))
    server = Server(work, port=port).start()
    wait_for(lambda: last_seq(server) > held[-1] + 10, 40,
             "the records kept in memory, then in the spool, delivered")
    seqs = [r["seq"] for r in server.records()]
    check(seqs == list(range(1, seqs[-1] + 1)),
          "nothing lost during the outage (held in memory, then in the spool)")
    check(agent.alive(), "agent still shipping")
finally:
    if agent:
        agent.stop(signal.SIGTERM)
    server.stop()
    subprocess.run(["umount", spool_dir], check=False)
print("PASS")
