"""The speedtest module inside the daemon: a test against the monitoring server itself (it
wants the agent's token: --speedtest token, the default), and against a speed-test server
that refuses, answers 500 (and must not be sent the token) or stalls. Each yields a speedtest
record (with "error" for the failures) within the configured timeout, while the network and
resources records of the same agent keep their 1 s cadence. Four agents run side by side
(their own host_id and state) against one srvmon-server on 127.0.0.1."""
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import Agent, Server, Workdir, check, wait_for, write_config  # noqa: E402

TIMEOUT_S = 2


class Err500(BaseHTTPRequestHandler):
    authorization = []  # Authorization headers it was sent (the agent's token must not be)

    def do_GET(self):
        if self.headers.get("Authorization"):
            Err500.authorization.append(self.headers.get("Authorization"))
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def config(server, work, host_id, url, extra=""):
    servers = "servers = %s\n" % url if url else ""
    return write_config(work, """[server]
server_address = 127.0.0.1
server_port = %d
client_id = agent1
password = s3cret-pass
reconnect_max = 5s

[agent]
host_id = %s
state_dir = %s

[resources]
interval = 1s

[network]
interval = 1s
include = lo
exclude =

# History off: on by default, it would record every exec of the machine into the
# default trail, /var/log/srvmon/exec.jsonl, once per agent.
[history]
enabled = false

[speedtest]
enabled = true
interval = 1m
jitter = 0s
first_delay = 0s
first_jitter = 0s
timeout = %ds
max_duration = 2s
%s%s""" % (server.port, host_id, work.file("state-" + host_id), TIMEOUT_S, servers, extra),
        name=host_id + ".conf")


def cadence_ok(server, host, rtype, t0, t1):
    ts = [r["ts"] for r in server.records(rtype) if r["host_id"] == host and t0 <= r["ts"] <= t1]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    return ts, (max(gaps) if gaps else None)


def main():
    work = Workdir()
    # The default --speedtest token: the agents' tests against it send their token.
    server = Server(work).start()
    server.add_user("agent1", "s3cret-pass")

    # A port nothing listens on; a server answering 500; one that accepts and says nothing.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    refused = s.getsockname()[1]
    s.close()
    http500 = HTTPServer(("127.0.0.1", 0), Err500)
    threading.Thread(target=http500.serve_forever, daemon=True).start()
    staller = socket.socket()
    staller.bind(("127.0.0.1", 0))
    staller.listen(16)

    cases = {
        "st-self": (None, None, "max_megabytes = 4000\n"),
        "st-refused": ("http://127.0.0.1:%d" % refused, "Couldn't connect", ""),
        "st-500": ("http://127.0.0.1:%d" % http500.server_port, "HTTP 500", ""),
        "st-stall": ("http://127.0.0.1:%d" % staller.getsockname()[1], "timed out", ""),
    }
    agents = {}
    try:
        start_ms = int(time.time() * 1000)
        for host, (url, _, extra) in cases.items():
            agents[host] = Agent(work, config(server, work, host, url, extra))
            agents[host].log_path = work.file(host + ".log")
            agents[host].start()

        def all_reported():
            recs = {r["host_id"]: r for r in server.records("speedtest")}
            return recs if all(h in recs for h in cases) else None

        recs = wait_for(all_reported, 30, "a speedtest record from every agent")
        # Two more seconds of records after the last test, for the cadence check.
        end_ms = max(r["ts"] + r["duration_ms"] for r in recs.values()) + 2000
        wait_for(lambda: int(time.time() * 1000) > end_ms + 1500, 10, "records after the tests")
        for host, (url, want, _) in cases.items():
            rec = recs[host]
            print("%s: %s" % (host, rec), flush=True)
            if want is None:
                # Loopback against a server that also stores four agents' records: how
                # fast is not the point here, that it completes without error is.
                check("error" not in rec and rec["download_rate"] > 0 and rec["bytes_up"] > 0,
                      "%s: the test against the monitoring server succeeded" % host)
                check("host_rx_bytes" in rec and rec["host_rx_bytes"] >= rec["bytes_down"],
                      "%s: the host's own counters saw the test traffic" % host)
            else:
                check(want in rec.get("error", ""), "%s: error record says %r" % (host, want))
                check(rec["duration_ms"] <= TIMEOUT_S * 1000 + 1000,
                      "%s: the error came within the %d s timeout (%d ms)" %
                      (host, TIMEOUT_S, rec["duration_ms"]))
            check(rec["ts"] - start_ms < 10000, "%s: the first test ran right after start" % host)
            for rtype in ("network", "resources"):
                ts, gap = cadence_ok(server, host, rtype, rec["ts"] - 2000, end_ms)
                check(gap is not None and gap <= 1500 and len(ts) >= 3,
                      "%s: %s records kept their 1 s cadence around the test (%d records, "
                      "largest gap %s ms)" % (host, rtype, len(ts), gap))
        check(not Err500.authorization,
              "the agent's token went to its own server only, not to another speed-test "
              "server (%r)" % Err500.authorization)
        # One test per interval: still exactly one record per agent.
        check(all(len([r for r in server.records("speedtest") if r["host_id"] == h]) == 1
                  for h in cases), "no second test within the interval")
    finally:
        for a in agents.values():
            a.stop()
        http500.shutdown()
        staller.close()
        server.stop()
    print("PASS")


if __name__ == "__main__":
    main()
