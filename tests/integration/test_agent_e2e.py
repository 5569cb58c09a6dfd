"""End to end: the real agent ships to a real srvmon-server on 127.0.0.1 over a WebSocket."""
import os
import re
import time

from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, machine_id,
                            meminfo_bytes, wait_for, write_config)

TYPES = ("hello", "resources", "network", "status")


def no_gaps(seqs):
    return seqs == list(range(seqs[0], seqs[0] + len(seqs)))


# 1. Records of every type arrive with correct values and strictly increasing seq.
work = Workdir()
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.start()
agent = Agent(work, write_config(work, agent_config(server)), args=["--verbose"]).start()
t0 = time.monotonic()
wait_for(lambda: all(server.records(t) for t in TYPES), 30, "a record of every type")
check(time.monotonic() - t0 < 15, "first records of every type within 15 s")
recs = server.records()
check(all(r["host_id"] == machine_id() for r in recs), "host_id is the machine-id")
seqs = [r["seq"] for r in recs]
check(len(set(seqs)) == len(seqs), "every seq stored once")
# seq is the order of submission; ts is when a module took its sample. Modules sample in
# threads of their own, so across modules a record sampled earlier may be submitted later;
# within one module both orders agree.
for kind in sorted({r["type"] for r in recs}):
    by_ts = sorted((r for r in recs if r["type"] == kind), key=lambda r: (r["ts"], r["seq"]))
    check(all(a["seq"] < b["seq"] for a, b in zip(by_ts, by_ts[1:]) if a["ts"] < b["ts"]),
          f"{kind}: seq increases with time")
res = server.records("resources")[-1]
check(res["ram_total"] == meminfo_bytes("MemTotal"), "stored ram_total equals MemTotal")
st = os.statvfs("/")
check(res["disk_total"] == st.f_blocks * st.f_frsize, "stored disk_total equals statvfs('/')")
hello = server.records("hello")[-1]
check(hello["kernel"] == os.uname().release and hello["collector"] in ("bpf", "procfs"),
      "hello carries kernel and collector")
net = server.records("network")[-1]
check(net["upload_rate"] >= 0 and net["download_rate"] >= 0, "network rates present")

# 2. Server stopped for 10 s, restarted on the same port: the agent reconnects by itself.
before = max(r["seq"] for r in server.records())
port = server.port
server.stop()
time.sleep(10)  # the outage itself is what is being tested
check(agent.alive(), "agent survives a 10 s server outage")
server = Server(work, port=port)
server.start()
wait_for(lambda: [r for r in server.records("resources") if r["seq"] > before], 70,
         "records after the restart")
wait_for(lambda: [r for r in server.records("hello") if r["seq"] > before], 30,
         "a hello on the new connection")
seqs = [r["seq"] for r in server.records()]
check(no_gaps(seqs), "records queued during the outage delivered: no seq gap (%d..%d)"
      % (seqs[0], seqs[-1]))
check("connected to ws://127.0.0.1:%d/ws" % port in agent.read_log(), "reconnect logged")
rc = agent.stop()
check(rc == 0, "agent exits 0 on SIGTERM")
server.stop()
# No secret in any log of a full debug run: not the password, not a bearer token
# (srvmon-server's tokens are 64 hex digits; the machine-id has 32).
for name, log in (("agent", agent.read_log()), ("server", server.read_log())):
    check("s3cret-pass" not in log, "%s log never holds the password" % name)
    check(not re.search(r"[0-9a-f]{64}", log) and "Bearer" not in log,
          "%s log never holds a token" % name)
check("connecting to ws://" in agent.read_log(), "the debug log was on")

# 3. Wrong password: a clear error, a handful of token requests in 10 s, no busy loop.
work = Workdir()
server = Server(work)
server.add_user("agent1", "right-password")
server.start()
agent = Agent(work, write_config(work, agent_config(server, password="wrong-password"))).start()
time.sleep(10)  # counting requests over a fixed window is the assertion
requests = server.stats()["token_requests"]
log = agent.read_log()
check(agent.alive(), "agent keeps running with a wrong password")
check(1 <= requests <= 8, "token requests in 10 s: %d (1..8)" % requests)
check("rejected for client_id 'agent1'" in log and server.base_url + "/token" in log,
      "log names the user and the token URL")
check("wrong-password" not in log, "the password is never logged")
check(agent.stop() == 0, "agent exits 0 on SIGTERM while retrying credentials")
server.stop()

# 4. Tokens that expire after 3 s: the agent re-authenticates and carries on.
work = Workdir()
server = Server(work, token_lifetime=3)
server.add_user("agent1", "s3cret-pass")
server.start()
agent = Agent(work, write_config(work, agent_config(server))).start()
wait_for(lambda: server.records("resources"), 30, "first records")
first = server.records()[-1]["seq"]
time.sleep(12)  # four token lifetimes
wait_for(lambda: server.stats()["tokens_issued"] >= 3, 20, "renewed tokens")
last = wait_for(lambda: [r for r in server.records("resources") if r["seq"] > first + 10], 20,
                "records after renewals")
seqs = [r["seq"] for r in server.records()]
check(no_gaps(seqs), "no seq gap across token renewals (%d..%d)" % (seqs[0], seqs[-1]))
check(agent.alive(), "agent running after renewals")
check(agent.stop() == 0, "agent exits 0 on SIGTERM")
server.stop()
print("PASS")
