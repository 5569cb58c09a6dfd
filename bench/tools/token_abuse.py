"""GET /health latency with and without 200 wrong-password POST /token requests from 10
loopback addresses (bench/token-abuse.sh). Extra arguments go to srvmon-server serve."""
import collections
import http.client
import multiprocessing
import socket
import statistics
import sys
import threading
import time
import urllib.parse

from srvmon_testlib import Server, Workdir

PROBES = 200  # /health requests alone (one every 20 ms), then every 20 ms during the storm
LOGINS = 200
ADDRS = ["127.0.0.%d" % i for i in range(2, 12)]
IN_FLIGHT = 20


def health_ms(port):
    """One GET /health on a new connection: milliseconds until the whole reply is read."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/health")
    r = c.getresponse()
    r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("/health: %d" % r.status)
    return (time.monotonic() - t0) * 1000


def probe(port, until, spacing_s=0.02):
    """Open loop: one GET /health every spacing_s on its own thread, whether or not the
    earlier ones were answered (a closed loop would sample a stalled server less often),
    while until() is true. Returns the latencies."""
    out = []
    threads = []
    lock = threading.Lock()

    def one():
        ms = health_ms(port)
        with lock:
            out.append(ms)

    next_t = time.monotonic()
    while until():
        t = threading.Thread(target=one)
        t.start()
        threads.append(t)
        next_t += spacing_s
        time.sleep(max(0.0, next_t - time.monotonic()))
    for t in threads:
        t.join()
    return out


def login(port, src, user):
    body = urllib.parse.urlencode({"grant_type": "password", "username": user,
                                   "password": "wrong-password"})
    s = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(src, 0))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.sock = s
    c.request("POST", "/token", body=body,
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def storm(port, statuses):
    jobs = [(ADDRS[i % len(ADDRS)], "bench" if i % 2 == 0 else "nobody%d" % i)
            for i in range(LOGINS)]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not jobs:
                    return
                src, user = jobs.pop()
            try:
                st = login(port, src, user)
            except OSError as e:
                st = type(e).__name__
            with lock:
                statuses[st] += 1

    threads = [threading.Thread(target=worker) for _ in range(IN_FLIGHT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def storm_process(port, results):
    statuses = collections.Counter()
    storm(port, statuses)
    results.put(statuses)


def summary(ms):
    ms = sorted(ms)
    return "median %.2f ms, p95 %.2f ms, max %.1f ms (n=%d)" % (
        statistics.median(ms), ms[int(len(ms) * 0.95) - 1], ms[-1], len(ms))


def main():
    work = Workdir("srvmon-token-abuse-")
    server = Server(work, extra=sys.argv[1:])
    server.add_user("bench", "bench-password")
    server.start()
    try:
        for _ in range(20):  # warm-up
            health_ms(server.port)
        n = [0]

        def count():
            n[0] += 1
            return n[0] <= PROBES

        quiet = probe(server.port, count)
        print("/health alone:                       " + summary(quiet))
        # The storm in a process of its own: its 20 threads would otherwise hold this
        # process's GIL and the probes would measure Python, not the server.
        results = multiprocessing.Queue()
        t = multiprocessing.Process(target=storm_process, args=(server.port, results))
        t0 = time.monotonic()
        t.start()
        busy = probe(server.port, t.is_alive)
        statuses = results.get(timeout=120)
        t.join()
        took = time.monotonic() - t0
        print("/health during 200 wrong passwords:  " + summary(busy))
        print("storm replies: %s, %.1f s" % (
            ", ".join("%s x%d" % (k, v) for k, v in sorted(statuses.items(), key=str)), took))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
