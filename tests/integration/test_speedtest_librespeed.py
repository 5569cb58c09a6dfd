"""Speed test against a LibreSpeed server that is not srvmon-server: librespeed_server.py
(the stock PHP backend's shape: backend/garbage.php, backend/empty.php answering an empty
200, /garbage and /empty 404; or with --plain the other way round, as LibreSpeed's Go
backend) inside a network namespace this test creates, reached over a veth pair; iperf3
in the same namespaces as the reference.

1. The endpoint names are found (/empty 404, then /empty.php), and a server with neither
   fails with an error naming both URLs.
2. With the default 100 MB cap the upload POSTs finish before the stop rule (the link is
   far above 200 Mbit/s): bytes_up is exactly what the server says it read, not 0 (the
   agent before issue 15 said 0), with either naming.
3. Unshaped, download_rate and upload_rate within 5 % of iperf3's (4 streams each),
   iperf3 measured right before and right after the agent and the agent compared with
   the mean of the two. Unshaped, the link's rate is what the CPUs give, and other work
   on a shared host moves it by 2x from one second to the next: a direction whose two
   iperf3 figures disagree by more than STEADY is not judged in that round. On this
   project's shared 2-core build host even a steady iperf3 pair does not make the
   seconds between its two runs steady (measured: the agent -43 % .. +65 % off iperf3
   pairs that agreed within 10 %), so the 5 % is judged (fails the test) only with
   SRVMON_STRICT_RATES=1, for a quiet host, over up to 3 rounds; otherwise one round is
   run and printed, and a direction outside 5 % says NOT JUDGED. Always asserted: each
   rate within a factor of LOOSE of iperf3's figures around it (the 0 of a finished
   POST fails that).
4. Shaped at 500 Mbit/s (tbf, well below what the CPUs move, so the link is the
   bottleneck on a busy host too), both rates within 5 % of iperf3's measured just
   before, in one of SHAPED_TRIES tries (see compare_shaped).
3 and 4 run in the release pass only (the sanitizer pass runs 1 and 2).
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import AGENT, Workdir, check, fail, poll, wait_for, write_config  # noqa: E402

PID = os.getpid()
NS = "srvmon-ls-%d" % PID
ROOT_IF = "sls%da" % (PID % 1000000)
PEER_IF = "sls%db" % (PID % 1000000)
NET = (PID % 16384) * 4
ROOT_IP = "10.218.%d.%d" % (NET // 256, NET % 256 + 1)
PEER_IP = "10.218.%d.%d" % (NET // 256, NET % 256 + 2)
IPERF_PORT = 5201  # inside our own namespace: nothing else listens there
TOLERANCE = 0.05
STEADY = 0.10
CEILING = 1448.0 / 1514.0  # TCP payload per tbf-metered frame (test_speedtest_shaped.py)
LOOSE = 4.0
STRICT = os.environ.get("SRVMON_STRICT_RATES") == "1"
SANITIZE = os.environ.get("SRVMON_SANITIZE") == "ON"
ROUNDS = 3 if STRICT else 1  # not judged, one round shows the figures
SHAPED_TRIES = 3
HERE = os.path.dirname(os.path.abspath(__file__))
# Unshaped, the rate is what the CPUs give, and the tools differ in threads: iperf3 moves
# its 4 streams in one thread, the HTTP server in one thread each. With the namespace
# side (the HTTP server, iperf3 -s) on CPU 1 and the root side (the agent, iperf3 -c) on
# CPU 0, each side of both tools has one core.
# Only there: on a shaped link pinning just keeps a tool from the idler core.
CAN_PIN = (os.cpu_count() or 1) >= 2
ROOT_SIDE = []  # prefix of the root side's commands while pinned


def sh(*cmd):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r.stdout


def setup_link():
    sh("ip", "netns", "add", NS)
    sh("ip", "link", "add", ROOT_IF, "type", "veth", "peer", "name", PEER_IF, "netns", NS)
    sh("ip", "addr", "add", ROOT_IP + "/30", "dev", ROOT_IF)
    sh("ip", "-n", NS, "addr", "add", PEER_IP + "/30", "dev", PEER_IF)
    sh("ip", "link", "set", ROOT_IF, "up")
    sh("ip", "-n", NS, "link", "set", PEER_IF, "up")
    sh("ip", "-n", NS, "link", "set", "lo", "up")


def teardown_link():
    subprocess.run(["ip", "link", "del", ROOT_IF], capture_output=True, timeout=30)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, timeout=30)


class LibreSpeed:
    """librespeed_server.py in the namespace; collects its "received"/"partial" lines."""

    def __init__(self, plain=False):
        self.plain = plain  # /garbage and /empty, as LibreSpeed's Go backend
        self.proc = None
        self.lines = []
        self.lock = threading.Lock()
        self.port = None

    def start(self):
        # `ip netns exec` execs python3: the PID is the server's.
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", NS, sys.executable, os.path.join(HERE, "librespeed_server.py"),
             "--listen", PEER_IP, "--port", "0", "--prefix", "/backend"] +
            (["--plain"] if self.plain else []),
            stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()
        if not first.startswith("listening on http://"):
            fail("librespeed_server.py did not start: %r" % first)
        self.port = int(first.rsplit(":", 1)[1])
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.split())

    def read(self):
        """(bytes of whole bodies, bytes of cut-short bodies) since the last clear()."""
        with self.lock:
            whole = sum(int(n) for kind, n in self.lines if kind == "received")
            part = sum(int(n) for kind, n in self.lines if kind == "partial")
        return whole, part

    def clear(self):
        with self.lock:
            self.lines = []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def start_iperf3():
    proc = subprocess.Popen(["ip", "netns", "exec", NS, "iperf3", "-s", "-B", PEER_IP, "-p",
                             str(IPERF_PORT)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_for(lambda: ":%d " % IPERF_PORT in sh("ip", "netns", "exec", NS, "ss", "-Hltn"),
             10, "iperf3 -s listening")
    return proc


def iperf3(reverse):
    """bits/s received, 4 streams for 1 s (the ramp of a sub-ms round trip takes a few
    ms); reverse: the namespace side sends (the download). iperf3 -s serves one test at
    a time and resets a connection that comes while it is still ending the previous one:
    such a try is repeated, for up to 10 s."""
    cmd = ROOT_SIDE + ["iperf3", "-c", PEER_IP, "-p", str(IPERF_PORT), "-P", "4", "-t", "1",
                       "-J"]
    if reverse:
        cmd.append("-R")
    deadline = time.monotonic() + 10
    while True:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            out = {}
        if "error" not in out and "sum_received" in out.get("end", {}):
            return float(out["end"]["sum_received"]["bits_per_second"])
        busy = any(m in out.get("error", "") for m in ("unable to connect", "busy"))
        if not busy or time.monotonic() > deadline:
            fail("%s: rc %d %s %s" % (" ".join(cmd), r.returncode, r.stdout[-500:],
                                      r.stderr[-500:]))
        time.sleep(0.2)  # the retry interval: iperf3 -s offers nothing to poll


def speedtest(work, url, conf_extra=""):
    conf = write_config(work, "[speedtest]\nstreams = 4\n" + conf_extra, name="ls.conf")
    r = subprocess.run(ROOT_SIDE + [AGENT, "speedtest", "--server", url, "--json", "-c", conf],
                       capture_output=True, text=True, timeout=60)
    if "runtime error:" in r.stderr or "Sanitizer" in r.stderr:
        fail("sanitizer report:\n" + r.stderr[-4000:])
    try:
        rec = json.loads(r.stdout)
    except ValueError:
        fail("speedtest printed no JSON (rc %d): %s %s" % (r.returncode, r.stdout, r.stderr))
    print(r.stdout.strip(), flush=True)
    return r.returncode, rec


def text_speedtest(work, url):
    conf = write_config(work, "[speedtest]\nstreams = 4\n", name="ls.conf")
    r = subprocess.run([AGENT, "speedtest", "--server", url, "-c", conf],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


DIRECTIONS = (("download", "download_rate", True), ("upload", "upload_rate", False))


def pin(servers, on):
    """The namespace side's processes (their main threads, which start the connection
    threads) on CPU 1 and the root side's commands on CPU 0; or back on every CPU."""
    global ROOT_SIDE
    if not CAN_PIN:
        return
    every = set(range(os.cpu_count()))
    for pid in servers:
        os.sched_setaffinity(pid, {1} if on else every)
    ROOT_SIDE = ["taskset", "-c", "0"] if on else []


def compare_rates(work, url, srv):
    """Rounds of iperf3 down and up, the agent, iperf3 down and up. A direction is
    steady in a round when its two iperf3 figures agree within STEADY; the agent's rate
    must then be within TOLERANCE of their mean. Each direction passes at its first
    steady round that agrees; one that was steady and never agreed fails; one never
    steady in ROUNDS is reported as not judged (a shared, busy host). Without STRICT a
    steady disagreement is reported, not failed (see the module's docstring)."""
    agreed, disagreed = set(), set()
    for k in range(1, ROUNDS + 1):
        d0, u0 = iperf3(True), iperf3(False)
        srv.clear()
        rc, rec = speedtest(work, url, "max_megabytes = 100000\nmax_duration = 2s\n")
        d1, u1 = iperf3(True), iperf3(False)
        check(rc == 0 and "error" not in rec, "round %d: the speed test succeeded" % k)
        # Cut-short POSTs are logged once the server sees the client leave.
        poll(lambda: sum(srv.read()) >= rec["bytes_up"], bool, 5, interval=0.05)
        check(rec["stop_up"] != "byte_cap" and sum(srv.read()) >= rec["bytes_up"],
              "round %d: the stop rule or max_duration ended the upload, and bytes_up %d "
              "is no more than the server read (%d)" % (k, rec["bytes_up"], sum(srv.read())))
        for (name, field, _), a, b in zip(DIRECTIONS, (d0, u0), (d1, u1)):
            ref = (a + b) / 2
            err = (rec[field] - ref) / ref
            steady = abs(a - b) / ref <= STEADY
            check(min(a, b) / LOOSE <= rec[field] <= max(a, b) * LOOSE,
                  "unshaped round %d: %s %.0f Mbit/s within a factor of %g of iperf3's "
                  "%.0f .. %.0f Mbit/s" % (k, name, rec[field] / 1e6, LOOSE, min(a, b) / 1e6,
                                           max(a, b) / 1e6))
            print("unshaped round %d: %s agent %.0f Mbit/s, iperf3 %.0f / %.0f Mbit/s "
                  "(%+.1f %%)%s" % (k, name, rec[field] / 1e6, a / 1e6, b / 1e6, err * 100,
                                    "" if steady else ", iperf3 unsteady: not judged"),
                  flush=True)
            if steady and abs(err) <= TOLERANCE and name not in agreed:
                agreed.add(name)
                print("ok: unshaped: %s within %d %% of iperf3" % (name, TOLERANCE * 100),
                      flush=True)
            elif steady:
                disagreed.add(name)
        if len(agreed) == len(DIRECTIONS):
            return
    off = sorted(disagreed - agreed)
    if STRICT:
        check(not off, "unshaped: %s within %d %% of iperf3's in a steady round" %
              (", ".join(off), TOLERANCE * 100))
    for name, _, _ in DIRECTIONS:
        if name in off:
            print("NOT JUDGED: unshaped %s: outside %d %% of steady iperf3 pairs in %d rounds "
                  "(SRVMON_STRICT_RATES=1 on a quiet host fails on that)" %
                  (name, TOLERANCE * 100, ROUNDS), flush=True)
        elif name not in agreed:
            print("NOT JUDGED: unshaped %s: in %d rounds iperf3 never repeated its own "
                  "figure within %d %%" % (name, ROUNDS, STEADY * 100), flush=True)


def shape(rate):
    sh("tc", "qdisc", "replace", "dev", ROOT_IF, "root", "tbf", "rate", rate, "burst", "256kbit",
       "latency", "50ms")
    sh("ip", "netns", "exec", NS, "tc", "qdisc", "replace", "dev", PEER_IF, "root", "tbf",
       "rate", rate, "burst", "256kbit", "latency", "50ms")


def compare_shaped(work, url):
    """Each direction must agree with iperf3 measured just before in one of SHAPED_TRIES
    tries. On a busy host a tbf dequeue timer that fires late starves either tool now and
    then: a try in which iperf3 fell more than TOLERANCE below the payload ceiling is not
    judged. A direction judged and never agreeing fails; never judged: NOT JUDGED."""
    shape("500mbit")
    ceiling = 500e6 * CEILING
    agreed, judged = set(), set()
    for k in range(1, SHAPED_TRIES + 1):
        d, u = iperf3(True), iperf3(False)
        rc, rec = speedtest(work, url, "max_megabytes = 100000\nmax_duration = 2s\n")
        check(rc == 0 and "error" not in rec, "500mbit: the speed test succeeded")
        for (name, field, _), ref in zip(DIRECTIONS, (d, u)):
            err = (rec[field] - ref) / ref
            valid = ref >= ceiling * (1 - TOLERANCE)
            print("500mbit try %d: %s agent %.1f Mbit/s, iperf3 %.1f Mbit/s (%+.1f %%)%s" %
                  (k, name, rec[field] / 1e6, ref / 1e6, err * 100,
                   "" if valid else ", iperf3 below the ceiling %.1f: not judged" %
                   (ceiling / 1e6)), flush=True)
            if not valid:
                continue
            judged.add(name)
            if abs(err) <= TOLERANCE and name not in agreed:
                agreed.add(name)
                print("ok: 500mbit: %s within %d %% of iperf3" % (name, TOLERANCE * 100),
                      flush=True)
        if len(agreed) == len(DIRECTIONS):
            return
    off = sorted(judged - agreed)
    check(not off, "500mbit: every judged direction within %d %% of iperf3's in %d tries%s" %
          (TOLERANCE * 100, SHAPED_TRIES, " (not: %s)" % ", ".join(off) if off else ""))
    for name, _, _ in DIRECTIONS:
        if name not in judged:
            print("NOT JUDGED: 500mbit %s: iperf3 never reached the ceiling in %d tries" %
                  (name, SHAPED_TRIES), flush=True)


def default_cap(work, srv, url):
    rc, rec = speedtest(work, url)
    # The server logs a POST before it answers it; its line may still be in the pipe.
    poll(lambda: srv.read()[0] >= rec["bytes_up"], bool, 5, interval=0.05)
    whole, part = srv.read()
    what = "default 100 MB cap, %s names" % ("plain" if srv.plain else ".php")
    check(rc == 0 and rec["stop_up"] == "byte_cap" and rec["capped"],
          "%s: the upload ended by its share of the cap" % what)
    check(rec["bytes_up"] > 0 and rec["upload_rate"] > 0,
          "%s: the finished POSTs count: bytes_up %d, upload_rate %d" %
          (what, rec["bytes_up"], rec["upload_rate"]))
    check(rec["bytes_up"] == whole and part == 0,
          "%s: bytes_up %d is exactly what the server read (%d whole, %d cut short)" %
          (what, rec["bytes_up"], whole, part))
    check(rec["bytes_down"] + rec["bytes_up"] <= 100000000,
          "%s: both directions stay within the cap" % what)


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root")
        return
    if not shutil.which("iperf3"):
        fail("iperf3 is not installed (scripts/install-deps.sh installs it)")
    work = Workdir()
    srv = None
    plain = None
    iperf = None
    try:
        setup_link()
        srv = LibreSpeed().start()
        iperf = start_iperf3()
        base = "http://%s:%d/backend" % (PEER_IP, srv.port)

        # 1. Names: .php found after the 404 of /empty; none at all is a clear error.
        rc, out = text_speedtest(work, base + "/")
        check(rc == 0 and "(garbage.php, empty.php)" in out,
              "speedtest against the PHP-named server works: %s" % out.strip())
        rc, rec = speedtest(work, "http://%s:%d/nothing" % (PEER_IP, srv.port))
        check(rc == 1 and "/nothing/empty: HTTP 404" in rec.get("error", "")
              and "/nothing/empty.php: HTTP 404" in rec.get("error", ""),
              "no endpoints under the URL: an error naming both URLs tried")
        srv.clear()

        # 2. Default cap: every POST finishes; bytes_up is what the server read (the
        # agent before issue 15 reported 0). Both namings.
        plain = LibreSpeed(plain=True).start()
        for server, url in ((srv, base), (plain, "http://%s:%d/backend" % (PEER_IP, plain.port))):
            default_cap(work, server, url)
        plain.stop()
        if SANITIZE:
            # As test_speedtest_shaped.py: a sanitizer build measures its own overhead,
            # not the link; the release pass compares the rates (3 and 4).
            print("skip: rates against iperf3 are compared in the release build only")
            print("PASS")
            return

        # 3. Rates against iperf3 on the unshaped link.
        pin((srv.proc.pid, iperf.pid), True)
        compare_rates(work, base, srv)
        pin((srv.proc.pid, iperf.pid), False)

        # 4. And on a link shaped below what the CPUs move.
        compare_shaped(work, base)
    finally:
        if iperf and iperf.poll() is None:
            iperf.terminate()
            iperf.wait(timeout=10)
        for server in (srv, plain):
            if server:
                server.stop()
        teardown_link()
    print("PASS")


if __name__ == "__main__":
    main()
