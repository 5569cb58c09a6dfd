"""`--module NAME` (srvmon-agent@NAME.service): one module per process, each with its own
state directory, spool and disjoint seq space; two instances report side by side."""
import os
import subprocess
import time

from srvmon_testlib import (AGENT, Agent, Server, Workdir, agent_config, check, wait_for,
                            write_config)

SHIFT = 56  # user/instance.h INSTANCE_SEQ_SHIFT
NETWORK, RESOURCES = 2 << SHIFT, 1 << SHIFT

work = Workdir()
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.start()
conf = write_config(work, agent_config(server))
t0 = time.monotonic()

r = subprocess.run([AGENT, "--config", conf, "--module", "nosuch"], capture_output=True,
                   text=True, timeout=30)
check(r.returncode == 2 and "unknown module 'nosuch'" in r.stderr,
      "an unknown module name exits 2 and names it")

net = Agent(work, conf, args=["--module", "network"], log_name="net.log").start()
res = Agent(work, conf, args=["-m", "resources"], log_name="res.log").start()


def both():
    hellos = server.records("hello")
    return (any(h["seq"] >= NETWORK for h in hellos) and any(h["seq"] < NETWORK for h in hellos)
            and server.records("network") and len(server.records("resources")) >= 2)


wait_for(both, 30, "records of both instances")
recs = server.records()
net_recs = [x for x in recs if NETWORK <= x["seq"] < NETWORK + (1 << SHIFT)]
res_recs = [x for x in recs if RESOURCES <= x["seq"] < RESOURCES + (1 << SHIFT)]
check(len(net_recs) + len(res_recs) == len(recs),
      "every seq lies in one instance's space (%d network, %d resources)"
      % (len(net_recs), len(res_recs)))
check({x["type"] for x in net_recs} <= {"hello", "status", "network"},
      "the network instance sends no other module's records")
check({x["type"] for x in res_recs} <= {"hello", "status", "resources"},
      "the resources instance sends no other module's records")
check([h["modules"] for h in net_recs if h["type"] == "hello"][0] == ["network"],
      "the network instance's hello lists only network")
check([h["modules"] for h in res_recs if h["type"] == "hello"][0] == ["resources"],
      "the resources instance's hello lists only resources")
for name, rs in (("network", net_recs), ("resources", res_recs)):
    seqs = [x["seq"] for x in rs]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))),
          "%s instance: seqs strictly increasing without gaps from %d" % (name, seqs[0]))
state = server.work.file("state")
check(os.path.isfile(os.path.join(state, "network", "seq")) and
      os.path.isfile(os.path.join(state, "resources", "seq")),
      "each instance keeps its seq store under state_dir/<module>")
check(os.path.isdir(os.path.join(state, "network", "spool")) and
      os.path.isdir(os.path.join(state, "resources", "spool")),
      "each instance has its own spool")
check(not os.path.exists(os.path.join(state, "seq")), "the shared state_dir/seq is not used")

# A restart continues the instance's own numbering.
last = max(x["seq"] for x in net_recs)
check(net.stop() == 0, "network instance exits 0")
net = Agent(work, conf, args=["--module", "network"], log_name="net.log").start()
wait_for(lambda: [x for x in server.records("hello") if last < x["seq"] < NETWORK + (1 << SHIFT)],
         30, "a hello from the restarted network instance")
check(net.stop() == 0 and res.stop() == 0, "both instances exit 0")
server.stop()
print("elapsed %.1fs" % (time.monotonic() - t0))
