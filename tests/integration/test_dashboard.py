"""The dashboard in a real browser (Debian's chromium, headless, over the DevTools protocol):
a real srvmon-server and agent on loopback, a viewer account.

Logs in through the form, sees the host online under its hostname, opens the host page and
sees charts drawn with real points, searches for a command this test ran and finds it with
its exact argv, sees an alert fire; a token in the URL fragment also works; nothing is kept
in localStorage without "remember me"; no page error and no CSP refusal on the way; the
page fits a phone-sized viewport. Also the static files' headers (CSP, types, caching).
"""
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dashboard_checks  # noqa: E402
from srvmon_browser import Browser, BrowserError  # noqa: E402
from srvmon_testlib import (SERVER, Agent, agent_config, check, fail, served,  # noqa: E402
                            server_token, wait_for, write_config)

VIEWER, VIEWER_PW = "viewer1", "view-pass-1"
ADMIN, ADMIN_PW = "admin1", "admin-pass-1"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def add_account(server, name, password, role):
    r = subprocess.run([SERVER, "user", "add", name, "--role", role, "--db", server.db],
                       input=password + "\n", text=True, capture_output=True, timeout=60)
    if r.returncode != 0:
        fail("user add %s --role %s failed: %s %s" % (name, role, r.stdout, r.stderr))


def get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


def api_post(server, token, path, body):
    req = urllib.request.Request(server.base_url + path, data=json.dumps(body).encode(),
                                 method="POST", headers={"Authorization": "Bearer " + token,
                                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())


def check_static_headers(server):  # noqa: C901 - one check after the other
    status, hdr, body = get(server.base_url + "/")
    check(status == 200 and hdr.get("content-type") == "text/html; charset=utf-8",
          "GET / is text/html (%s %s)" % (status, hdr.get("content-type")))
    check(hdr.get("content-security-policy") == CSP, "GET / carries the strict CSP")
    check(hdr.get("x-content-type-options") == "nosniff" and
          hdr.get("referrer-policy") == "no-referrer", "nosniff and no-referrer")
    check(hdr.get("cache-control") == "no-cache" and hdr.get("etag"),
          "index: no-cache with an ETag (%s)" % hdr.get("cache-control"))
    status, hdr2, body2 = get(server.base_url + "/", {"If-None-Match": hdr["etag"]})
    check(status == 304 and body2 == b"", "If-None-Match of the index ETag: 304, no body")
    html = body.decode()
    check("<script>" not in html and "style=" not in html and "http://" not in html and
          "https://" not in html, "index.html: no inline script or style, nothing external")
    # Every linked asset has a hashed name and is immutable; the chart library is vendored.
    import re
    links = re.findall(r'(?:src|href)="(/ui/[^"]+)"', html)
    check(len(links) >= 6, "index links %d assets under /ui/" % len(links))
    types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
             "svg": "image/svg+xml"}
    for link in sorted(set(links)):
        status, hdr, data = get(server.base_url + link)
        ext = link.rsplit(".", 1)[1]
        if status != 200 or hdr.get("content-type") != types[ext]:
            fail("%s: %s %s" % (link, status, hdr.get("content-type")))
        if "immutable" not in hdr.get("cache-control", "") or hdr.get("content-security-policy") != CSP:
            fail("%s: cache-control %s" % (link, hdr.get("cache-control")))
        if int(hdr.get("content-length", -1)) != len(data):
            fail("%s: content-length %s for %d bytes" % (link, hdr.get("content-length"), len(data)))
    check(True, "every linked asset: right Content-Type, immutable, CSP, exact length")
    src = os.environ.get("SRVMON_SOURCE_DIR", ".")
    with open(os.path.join(src, "web/vendor/uplot/uPlot.iife.min.js"), "rb") as f:
        vendored = f.read()
    status, hdr, data = get(server.base_url + "/ui/uPlot.iife.min.js")
    check(status == 200 and data == vendored and hdr.get("cache-control") == "no-cache",
          "the plain name serves the vendored uPlot byte for byte (%d bytes), revalidated"
          % len(data))
    check_slow_reader(server, vendored)
    req = urllib.request.Request(server.base_url + "/", data=b"x=1", method="POST")
    try:
        urllib.request.urlopen(req, timeout=30)
        fail("POST / was answered 2xx")
    except urllib.error.HTTPError as e:
        check(e.code == 405 and e.headers.get("Allow") == "GET" and
              e.headers.get("Content-Security-Policy") == CSP,
              "POST /: 405, Allow: GET, with the CSP (%d)" % e.code)
    status, hdr, _ = get(server.base_url + "/ui/../server/static.c")
    status2, _, _ = get(server.base_url + "/ui/nope.js")
    check(status in (400, 403, 404) and status2 == 404, "unknown /ui/ names: 404 (%d %d)"
          % (status, status2))


def check_slow_reader(server, vendored):
    """Two pipelined requests on one connection whose receive buffer is 4 KiB, read 512 bytes
    at a time: the 51 KiB file comes whole (written in chunks as the socket drains), then
    the second answer on the same connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(20)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(b"GET /ui/uPlot.iife.min.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                 b"GET /ui/nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    buf = b""
    answers = []
    deadline = time.monotonic() + 20
    while len(answers) < 2 and time.monotonic() < deadline:
        chunk = sock.recv(512)
        if not chunk:
            break
        buf += chunk
        while b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            hdr = dict(l.split(":", 1) for l in lines[1:])
            n = int(hdr.get("content-length", "0").strip())
            if len(rest) < n:
                break
            answers.append((lines[0], rest[:n]))
            buf = rest[n:]
    sock.close()
    check(len(answers) == 2 and answers[0][0] == "HTTP/1.1 200 OK" and answers[0][1] == vendored
          and answers[1][0] == "HTTP/1.1 404 Not Found",
          "slow reader, two pipelined requests: the 51 KiB file whole, then a 404 on the same "
          "connection (%s)" % [(a[0], len(a[1])) for a in answers])


def main():
    t0 = time.monotonic()
    marker = "srvmon-dash-" + uuid.uuid4().hex[:12]
    hostname = socket.gethostname()
    with served() as (work, server, agents):
        add_account(server, VIEWER, VIEWER_PW, "viewer")
        add_account(server, ADMIN, ADMIN_PW, "admin")
        check_static_headers(server)

        cfg = write_config(work, agent_config(server, history="trail = false\n"))
        agents.append(Agent(work, cfg).start())
        wait_for(lambda: any(m.get("modules", {}).get("history", {}).get("state") == "running"
                             for m in server.records("status")), 30, "history module running")
        subprocess.run(["/bin/echo", marker], check=True, stdout=subprocess.DEVNULL, timeout=10)

        browser = Browser(1280, 800, log_path=work.file("chromium.log"))
        try:
            b = browser
            # 1-3. Sign in, the host online, its page with charts (dashboard_checks.py).
            dashboard_checks.sign_in(b, server.base_url, VIEWER, VIEWER_PW, "viewer")
            row = dashboard_checks.host_online(b, hostname)
            sort = b.eval("""(() => { const th = document.querySelector('th[data-sort="cpu"]');
                th.click(); return document.querySelector('th[data-sort="cpu"]')
                .getAttribute('aria-sort'); })()""")
            check(sort == "descending", "clicking the CPU header sorts by it (%s)" % sort)
            check(b.eval("localStorage.length") == 0,
                  "nothing in localStorage without \"remember me\"")
            dashboard_checks.host_charts(b, row["host"], hostname)

            # Gaps: a 10 s series beside 3 s buckets is one line; an outage breaks it.
            cpu = {"t": [0, 10000, 20000, 30000, 40000, 100000, 110000], "values": [1] * 7}
            net = {"t": list(range(0, 120000, 3000)), "values": [2] * 40}
            gaps = b.eval("""(() => { const a = charts.align([%s, %s], 3000);
                const at = (k) => a[0].filter((t, i) => a[k][i] === null);
                return {cpu: at(1), net: at(2)}; })()""" % (json.dumps(cpu), json.dumps(net)))
            check(gaps == {"cpu": [43000], "net": []},
                  "charts: one gap where the 10 s series stops for 60 s, none else (%s)" % gaps)

            # 4. The command this test ran, found by the search with its exact argv.
            dashboard_checks.command_found(b, marker)
            # The pasteable line reads back, in a POSIX shell, as exactly the argv.
            awkward = [["grep", "-r", "a b", "."], ["sh", "-c", "echo 'x' \"$HOME\"; ls"],
                       ["printf", "", "tab\there", "new\nline", "it's", "\u00e9t\u00e9 \u2713"],
                       ["x", "--opt=a,b:c", "@user", "%d", "*", "~", "#c", "!", "a\\b"]]
            lines = b.eval("%s.map(fmt.commandLine)" % json.dumps(awkward))
            back = [shlex.split(line) for line in lines]
            check(back == awkward, "shell-quoted command lines split back to their argv: %s"
                  % lines)

            # 5. An alert fires (a rule every sample breaks, made by an admin).
            admin = server_token(server, ADMIN, ADMIN_PW)
            status, rule = api_post(server, admin, "/api/v1/alerts", {
                "name": "dash-test cpu", "kind": "metric", "metric": "cpu_percent", "op": ">=",
                "threshold": 0, "for_ms": 0, "host_id": row["host"]})
            check(status == 201, "admin adds a rule (id %s)" % rule.get("id"))
            b.eval("location.hash = '#/alerts'")
            st = b.wait("""(() => { const r = document.querySelector(
                '#alert-states tr[data-rule="%d"][data-state="firing"]');
                return r && r.textContent; })()""" % rule["id"], 30, "the alert firing")
            check(hostname in st, "alerts page: the rule fires on %s" % hostname)
            check(b.eval("!document.getElementById('rule-form')"),
                  "a viewer sees no rule form")

            # 6. A token in the fragment logs in without the form.
            token = server_token(server, VIEWER, VIEWER_PW)
            b.eval("sessionStorage.clear(); true")
            b.navigate(server.base_url + "/#token=" + token)
            b.wait("!!document.querySelector('#hosts-body tr[data-host]')", 15,
                   "the host list from a fragment token")
            check(b.eval("location.hash") == "#/hosts", "the token is cleared from the URL")

            # 7. An admin adds a rule through the form and deletes it.
            b.navigate(server.base_url + "/#token=" + admin + "&/alerts")
            b.wait("!!document.getElementById('rule-form')", 15, "the admin's rule form")
            b.eval("""(() => { const v = (id, x) => { const e = document.getElementById(id);
                e.value = x; e.dispatchEvent(new Event('change')); };
                v('rule-kind', 'metric'); v('rule-metric', 'disk_available'); v('rule-op', '<');
                v('rule-threshold', '5 GiB'); v('rule-for', '2m'); v('rule-name', 'ui-disk');
                v('rule-email', 'ops@example.org');
                document.getElementById('rule-form').requestSubmit(); return true; })()""")
            added = b.wait("""(() => { const r = [...document.querySelectorAll('#alert-rules tr')]
                .find((tr) => tr.textContent.includes('ui-disk'));
                return r && {id: r.dataset.rule, text: r.textContent}; })()""", 15,
                           "the rule added through the form")
            rules = json.loads(get(server.base_url + "/api/v1/alerts",
                                   {"Authorization": "Bearer " + admin})[2])
            mine = [r for r in rules if r.get("name") == "ui-disk"]
            check(len(mine) == 1 and mine[0]["metric"] == "disk_available" and
                  mine[0]["op"] == "<" and mine[0]["threshold"] == 5 * 2**30 and
                  mine[0]["for_ms"] == 120000 and mine[0]["email"] == "ops@example.org",
                  "the form stored the rule as typed: %s" % mine)
            b.eval("window.confirm = () => true; document.querySelector("
                   "'#alert-rules tr[data-rule=\"%s\"] button').click(); true" % added["id"])
            b.wait("!document.querySelector('#alert-rules tr[data-rule=\"%s\"]')" % added["id"],
                   15, "the rule deleted")
            check(True, "the admin deletes it from the list")

            # 8. A phone-sized viewport: the page does not overflow sideways.
            dashboard_checks.phone_fits(b, row["host"])
        except (BrowserError, TimeoutError) as e:
            dashboard_checks.fail_with_screenshot(browser, work, e)
        finally:
            browser.close()
    print("test_dashboard: %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
