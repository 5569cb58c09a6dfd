"""Type=notify: the agent sends READY=1, WATCHDOG=1 pings and STOPPING=1 to $NOTIFY_SOCKET."""
import os
import socket
import time

from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, wait_for,
                            write_config)

work = Workdir()
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.start()

sock_path = work.file("notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sock_path)
sock.setblocking(False)
messages = []  # (monotonic time, datagram text)


def drain():
    while True:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        messages.append((time.monotonic(), data.decode()))


def seen(field):
    drain()
    return [t for t, m in messages if field in m.split("\n")]


# WATCHDOG_USEC=2 s: a ping at least every second. WATCHDOG_PID is the agent's own PID:
# the shell exports its PID and execs the agent in its place.
agent = Agent(work, write_config(work, agent_config(server)),
              env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "2000000"},
              prefix=["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"']).start()
t0 = time.monotonic()
wait_for(lambda: seen("READY=1"), 20, "READY=1 on the notify socket")
ready = [m for _, m in messages if "READY=1" in m.split("\n")][0]
check("STATUS=" in ready and "network" in ready and "resources" in ready,
      "READY=1 carries a STATUS= line naming the modules: %r" % ready)
wait_for(lambda: server.records("resources"), 20, "records at the server")
check(not seen("STOPPING=1"), "no STOPPING=1 while running")

# At least three pings, none more than the 2 s watchdog interval apart.
wait_for(lambda: len(seen("WATCHDOG=1")) >= 3, 15, "three WATCHDOG=1 pings")
pings = seen("WATCHDOG=1")
gaps = [b - a for a, b in zip(pings, pings[1:])]
check(max(gaps) < 2.0, "watchdog pings at most 2 s apart (largest gap %.2f s)" % max(gaps))
check(seen("READY=1")[0] <= pings[0], "READY=1 comes before the first ping")

rc = agent.stop()
check(rc == 0, "agent exits 0 on SIGTERM")
check(seen("STOPPING=1"), "STOPPING=1 on SIGTERM")
check(seen("STOPPING=1")[0] >= pings[-1], "STOPPING=1 after the last ping")

# A WATCHDOG_PID naming another process: no pings for this one (sd_watchdog_enabled).
messages.clear()
agent = Agent(work, write_config(work, agent_config(server), name="agent2.conf"),
              env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "2000000",
                   "WATCHDOG_PID": str(os.getpid())}, log_name="agent2.log").start()
wait_for(lambda: seen("READY=1"), 20, "READY=1 from the second agent")
time.sleep(2.5)  # the window in which a ping would have come is the assertion
check(not seen("WATCHDOG=1"), "no WATCHDOG=1 when WATCHDOG_PID is another process")
check(agent.stop() == 0, "second agent exits 0")
server.stop()
sock.close()
print("elapsed %.1fs" % (time.monotonic() - t0))
