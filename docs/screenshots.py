#!/usr/bin/env python3
"""Screenshots of the dashboard for the README, from a real run on this machine.

    python3 docs/screenshots.py [--build build] [--seconds 90]

Starts srvmon-server on 127.0.0.1 (fresh database in a temporary directory), a viewer
account, this machine's srvmon-agent (exec history of login sessions, a speed test
against the server at start; a few commands run as in a login session), and two more agents under their own UTS namespace (`unshare --uts`, their own
hostname and host_id; the same machine's figures) so that the list shows a small fleet;
the third is stopped before the shots to show an offline host. After --seconds of data,
headless Chromium (tests/integration/srvmon_browser.py, viewport 1280x800) takes a shot
of the host list and one of the whole host page (at that width) into docs/img/.
The main agent counts loopback traffic (network include = lo), the only traffic of such a
run. Everything stays on loopback.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=90,
                    help="seconds of data before the shots (default 90)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img"))
    args = ap.parse_args()
    os.environ.setdefault("SRVMON_AGENT", os.path.join(args.build, "user", "srvmon-agent"))
    os.environ.setdefault("SRVMON_SERVER", os.path.join(args.build, "server", "srvmon-server"))

    # After the environment is set: the testlib reads the binaries' paths at import.
    from srvmon_browser import Browser
    from srvmon_testlib import (SERVER, Agent, agent_config, served, server_token,
                                wait_for, write_config)

    os.makedirs(args.out, exist_ok=True)
    with served() as (work, server, agents):
        for name, role in (("viewer", "viewer"), ("admin", "admin")):
            r = subprocess.run([SERVER, "user", "add", name, "--role", role, "--db", server.db],
                               input=name + "-pass\n", text=True, capture_output=True)
            if r.returncode:
                sys.exit("user add %s: %s" % (name, r.stderr))
        # The network module counts loopback here (include = lo): this machine's only
        # traffic in the run is on it (the speed test against the server, the agents'
        # WebSockets, the browser); a real host would count its default-route interface.
        speed = ("include = lo\nexclude =\n"
                 "\n[speedtest]\nenabled = true\ninterval = 1m\njitter = 0ms\nfirst_delay = 0s\n"
                 "first_jitter = 0ms\n"
                 "max_megabytes = 40\nmax_duration = 2s\n")
        # The history of login sessions only (filter = login): the commands below, not the
        # builds and tests other work runs on the machine meanwhile.
        history = "trail = false\nfilter = login\nfailed = false\n"
        cfg = write_config(work, agent_config(server, history=history, extra=speed))
        agents.append(Agent(work, cfg).start())
        for name in ("web-02", "db-01"):
            text = agent_config(server).replace(
                "[agent]\n", "[agent]\nhost_id = demo-%s\n" % name).replace(
                work.file("state"), work.file("state-" + name))
            c = write_config(work, text, name="agent-%s.conf" % name)
            agents.append(Agent(work, c, log_name="agent-%s.log" % name,
                                prefix=["unshare", "--uts", "sh", "-c",
                                        'hostname "$0" && exec "$@"', name]).start())
        # Alert rules as an admin would set them (whether they fire is up to the machine).
        admin = server_token(server, "admin", "admin-pass")
        for rule in ({"name": "cpu busy", "kind": "metric", "metric": "cpu_percent", "op": ">",
                      "threshold": 90, "for_ms": 30000},
                     {"name": "disk low", "kind": "metric", "metric": "disk_available",
                      "op": "<", "threshold": 5 * 2**30, "for_ms": 60000},
                     {"name": "host offline", "kind": "offline", "for_ms": 5000},
                     {"name": "sudo used", "kind": "exec", "regex": "^sudo ", "for_ms": 600000}):
            req = urllib.request.Request(server.base_url + "/api/v1/alerts", method="POST",
                                         data=json.dumps(rule).encode(), headers={
                                             "Authorization": "Bearer " + admin,
                                             "Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).close()
        deadline = time.monotonic() + args.seconds
        wait_for(lambda: len({r["host_id"] for r in server.records("hello")}) >= 3, 30,
                 "three hosts")
        print("collecting %.0f s of data ..." % args.seconds, flush=True)
        while time.monotonic() < deadline:
            time.sleep(1)
        # Some commands for the history, as an admin would type them in a login session (the
        # audit login uid set, as pam_loginuid does at an SSH login): the newest ones.
        # Full paths: a shell's PATH search would add a failed exec per PATH entry.
        login = ["/bin/sh", "-c", 'echo 0 > /proc/self/loginuid && exec "$@"', "login"]
        for argv in (["uname", "-a"], ["df", "-h", "/"], ["ls", "-la", "/etc/srvmon"],
                     ["ip", "-brief", "address"], ["grep", "-c", "processor", "/proc/cpuinfo"],
                     ["sh", "-c", "echo 'srvmon dashboard demo' > /dev/null"]):
            argv = [shutil.which(argv[0], path="/usr/sbin:/usr/bin:/sbin:/bin")] + argv[1:]
            subprocess.run(login + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: any("processor" in r.get("argv", []) for r in server.records("exec")),
                 30, "the commands in the history")
        # The third host goes away: offline within 3 intervals.
        agents[2].stop()
        token = server_token(server, "viewer", "viewer-pass")

        b = Browser(1280, 800, log_path=work.file("chromium.log"))
        try:
            b.navigate(server.base_url + "/#token=" + token)
            b.wait("document.querySelectorAll('#hosts-body tr.offline').length === 1", 30,
                   "the list with one host offline")
            b.eval("document.activeElement && document.activeElement.blur(); true")
            time.sleep(1.5)  # let the live rates of a second stream settle in the shot
            path = os.path.join(args.out, "dashboard-hosts.png")
            b.screenshot(path)
            print("wrote", path)
            me = b.eval("window.srvmon.hosts().find((h) => !h.host_id.startsWith('demo-'))"
                        ".host_id")
            b.eval("location.hash = '#/host/%s'" % me)
            b.wait("(() => { const c = window.srvmon.charts(); return c.cpu > 5 && c.net > 5; })()",
                   30, "the host page's charts")
            b.wait("document.querySelectorAll('.speedtests tbody tr:not(:has(.empty))')"
                   ".length >= 1 &&"
                   " document.querySelectorAll('.execs tbody tr[data-argv]').length >= 3", 30,
                   "speed tests and commands")
            time.sleep(1)
            path = os.path.join(args.out, "dashboard-host.png")
            b.screenshot(path, full_page=True)
            print("wrote", path)
            problems = b.problems()
            if problems:
                print("page problems:", problems)
        finally:
            b.close()


if __name__ == "__main__":
    main()
