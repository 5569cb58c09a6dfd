"""The read API (docs/api.md) against a real agent: roles (an agent token refused on /api/v1,
a viewer token refused on /ws), /api/v1/hosts, series, speedtests, exec search with pages,
the event stream, and a clear 400 naming the parameter for every bad one. Then an existing
database of the schema before roles: its account becomes an agent, its records fill the
API's tables."""
import json
import os
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from srvmon_browser import WebSocket
from srvmon_testlib import (SERVER, Agent, Server, Workdir, agent_config, check, db_engine, fail,
                            served, server_token, wait_for, write_config)


def api(server, token, path, method="GET", body=None, headers=None):
    """(status, parsed JSON or None) of one request."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        h.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(server.base_url + path, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def ws_upgrade_status(server, token):
    """The HTTP status of a WebSocket upgrade of /ws with token."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % token).encode())
        line = s.recv(4096).split(b"\r\n")[0].decode()
    finally:
        s.close()
    return int(line.split()[1])


def bad(server, token, path, param):
    st, body = api(server, token, path)
    check(st == 400 and body.get("error") == "bad_parameter" and body.get("parameter") == param,
          "%s: 400 naming %s (%s)" % (path, param, body and body.get("detail")))


def main():
    marker = "srvmon-api-%d-%d" % (os.getpid(), time.time_ns() % 1000000)
    with served() as (work, server, agents):
        server.add_user("view1", "view-pass", role="viewer")
        server.add_user("adm1", "admin-pass", role="admin")
        speedtest = ("\n[speedtest]\nenabled = true\ninterval = 1m\njitter = 0s\n"
                     "first_delay = 0s\nfirst_jitter = 0s\n"
                     "max_duration = 1s\nmax_megabytes = 4\nstreams = 1\n")
        cfg = write_config(work, agent_config(server, extra=speedtest,
                                              history="trail_path = %s\n" % work.file("trail")))
        agents.append(Agent(work, cfg).start())
        wait_for(lambda: any(m.get("modules", {}).get("history", {}).get("state") == "running"
                             for m in server.records("status")), 30, "history module running")

        viewer = server_token(server, "view1", "view-pass")
        admin = server_token(server, "adm1", "admin-pass")
        agent_tok = server_token(server, "agent1", "s3cret-pass")

        # Roles.
        st, body = api(server, agent_tok, "/api/v1/hosts")
        check(st == 403 and body["error"] == "forbidden", "an agent token on /api/v1: 403")
        check(api(server, None, "/api/v1/hosts")[0] == 401, "no token: 401")
        check(api(server, "0" * 64, "/api/v1/hosts")[0] == 401, "an unknown token: 401")
        check(ws_upgrade_status(server, viewer) == 403, "a viewer token on /ws: 403")
        check(ws_upgrade_status(server, admin) == 403, "an admin token on /ws: 403")
        check(ws_upgrade_status(server, agent_tok) == 101, "an agent token on /ws: 101")
        # The speed-test endpoints (--speedtest token): an agent's only.
        st, _ = api(server, viewer, "/empty", method="POST", body=b"")
        check(st == 403, "a viewer token on the speed-test endpoints: 403 (%s)" % st)
        st, body = api(server, viewer, "/api/v1/whoami")
        check(st == 200 and body["account"] == "view1" and body["role"] == "viewer",
              "whoami: view1 viewer")
        # A token from the refresh grant carries the account's role too.
        form = urllib.parse.urlencode({"grant_type": "password", "username": "view1",
                                       "password": "view-pass"}).encode()
        with urllib.request.urlopen(urllib.request.Request(
                server.base_url + "/token", data=form), timeout=30) as r:
            refresh = json.loads(r.read())["refresh_token"]
        form = urllib.parse.urlencode({"grant_type": "refresh_token",
                                       "refresh_token": refresh}).encode()
        with urllib.request.urlopen(urllib.request.Request(
                server.base_url + "/token", data=form), timeout=30) as r:
            renewed = json.loads(r.read())["access_token"]
        st, body = api(server, renewed, "/api/v1/whoami")
        check(st == 200 and body["role"] == "viewer", "a refreshed token: still viewer")
        st, body = api(server, None, "/api/v1/whoami?token=" + admin)
        check(st == 200 and body["role"] == "admin", "?token= works, admin role")
        check("role viewer" in server.read_log() and "may not ingest" in server.read_log(),
              "the refused upgrade is logged with the role")

        # Hosts.
        hostname = socket.gethostname()

        def host():
            st, hosts = api(server, viewer, "/api/v1/hosts")
            return st == 200 and hosts and hosts[0].get("cpu_percent") is not None and \
                hosts[0].get("upload_rate") is not None and \
                (hosts[0].get("interval_ms") or 0) <= 1100 and hosts[0]
        # interval_ms: the first network record's interval includes the agent's start.
        h = wait_for(host, 20, "a host with resources and network figures, 1 s interval")
        check(h["hostname"] == hostname and h["online"] is True and h["collector"],
              "host %s online, collector %s" % (h["hostname"], h["collector"]))
        check(900 <= h["interval_ms"] <= 1100, "interval_ms about 1000 (%s)" % h["interval_ms"])
        check(h["last_seen_ms"] >= h["first_seen_ms"] > 0 and h["ram_total"] > 0,
              "seen times and ram_total")
        hid = h["host_id"]

        # Series: raw seconds and minute aggregates.
        wait_for(lambda: len(server.records("resources")) >= 4, 20, "4 resources records")
        now = int(time.time() * 1000)
        st, s = api(server, viewer, "/api/v1/hosts/%s/series?metric=cpu_percent&from=%d&to=%d"
                    "&step=1000" % (hid, now - 120000, now + 1000))
        check(st == 200 and s["unit"] == "percent" and s["step"] == 1000 and len(s["t"]) >= 3,
              "cpu_percent series at 1 s: %d points" % len(s.get("t", [])))
        check(all(a <= b <= c for a, b, c in zip(s["min"], s["avg"], s["max"])) and
              all(t % 1000 == 0 for t in s["t"]) and s["t"] == sorted(s["t"]),
              "min <= avg <= max, buckets aligned and ordered")
        res = [r for r in server.records("resources")]
        by_ts = {r["ts"] - r["ts"] % 1000: r["cpu_percent"] for r in res}
        check(all(abs(by_ts[t] - v) < 1e-9 for t, v in zip(s["t"], s["avg"]) if t in by_ts),
              "each 1 s bucket holds its record's cpu_percent")
        # Whole minutes: those of from and of to, so records of to's minute still arrive
        # (one a second); a query with no record stored during it is compared.
        lo, hi = now - 3600000 - (now - 3600000) % 60000, now - now % 60000 + 60000

        def minute_query():
            def count():
                return len([r for r in server.records("resources")
                            if "ram_available" in r and lo <= r["ts"] < hi])
            before = count()
            st, m = api(server, viewer, "/api/v1/hosts/%s/series?metric=ram_available&from=%d"
                        "&to=%d&step=60000" % (hid, now - 3600000, now))
            return (st, m, before) if count() == before else None
        st, m, n = wait_for(minute_query, 20, "a minute query with no record arriving meanwhile")
        check(st == 200 and m["step"] == 60000 and sum(m["n"]) == n,
              "minute aggregates count every sample (%s, %d stored)" % (m["n"], n))
        st, d = api(server, viewer, "/api/v1/hosts/%s/series?metric=upload_rate" % hid)
        check(st == 200 and d["step"] == 3000 and d["to"] - d["from"] == 900000,
              "defaults: the last 15 min in 3 s steps")

        # Exec search: three commands with the marker, paged one by one, newest first.
        for i in range(3):
            subprocess.run(["/bin/echo", marker, "arg %d" % i], stdout=subprocess.DEVNULL,
                           check=True)

        def found():
            st, b = api(server, viewer, "/api/v1/exec?q=%s&limit=10" % marker)
            return st == 200 and len(b["execs"]) == 3 and b
        b = wait_for(found, 20, "3 execs with the marker")
        check([e["argv"] for e in b["execs"]] ==
              [["/bin/echo", marker, "arg %d" % i] for i in (2, 1, 0)],
              "exact argv, newest first")
        check(b["next_cursor"] is None, "no next page")
        pages, cursor = [], ""
        for _ in range(4):
            st, p = api(server, viewer, "/api/v1/exec?q=%s&limit=1&host=%s%s" % (
                marker, hid, "&cursor=" + cursor if cursor else ""))
            pages += [e["seq"] for e in p["execs"]]
            cursor = p["next_cursor"]
            if not cursor:
                break
        check(pages == [e["seq"] for e in b["execs"]], "pages of 1 give the same 3, in order")
        st, u = api(server, viewer, "/api/v1/exec?q=%s&user=nobody-here" % marker)
        check(st == 200 and u["execs"] == [], "user filter")
        st, c = api(server, viewer, "/api/v1/exec?q=%s" % urllib.parse.quote(marker + " arg 1"))
        check(st == 200 and len(c["execs"]) == 1 and c["execs"][0]["argv"][2] == "arg 1",
              "q spans arguments joined with spaces")
        cwd = c["execs"][0]["cwd"]
        st, c2 = api(server, viewer, "/api/v1/exec?q=%s&limit=1000" % urllib.parse.quote(cwd))
        check(st == 200 and c2["execs"], "q matches the cwd")

        # Speed tests.
        def speedtests():
            st, b = api(server, viewer, "/api/v1/hosts/%s/speedtests" % hid)
            return st == 200 and b and b
        t = wait_for(speedtests, 30, "a speedtest record")
        check(t[0]["type"] == "speedtest" and t[0]["host_id"] == hid, "speedtests: the record")
        st, t2 = api(server, viewer, "/api/v1/hosts/%s/speedtests?to=%d" % (hid, t[0]["ts"] - 1))
        check(st == 200 and t2 == [], "speedtests: to before it, none")

        # Event stream: a record committed after the request arrives as an event.
        req = urllib.request.Request(server.base_url + "/api/v1/events?type=resources",
                                     headers={"Authorization": "Bearer " + viewer})
        with urllib.request.urlopen(req, timeout=20) as r:
            check(r.headers["Content-Type"] == "text/event-stream", "events: text/event-stream")
            start = max(x["seq"] for x in server.records("resources"))
            ev = {}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and "data" not in ev:
                line = r.readline().decode().rstrip("\n")
                if line.startswith("id: "):
                    ev["id"] = int(line[4:])
                elif line.startswith("event: "):
                    ev["event"] = line[7:]
                elif line.startswith("data: "):
                    ev["data"] = json.loads(line[6:])
            if "data" not in ev:
                fail("no event within 20 s")
        check(ev["event"] == "record" and ev["data"]["type"] == "resources" and
              ev["data"]["seq"] > start and ev["id"] > 0,
              "a new resources record arrives as an event (seq %d)" % ev["data"]["seq"])
        req = urllib.request.Request(server.base_url + "/api/v1/events?type=resources&token=" +
                                     viewer, headers={"Last-Event-ID": str(ev["id"] - 1)})
        with urllib.request.urlopen(req, timeout=20) as r:
            first = None
            while first is None:  # readline raises after the 20 s socket timeout
                line = r.readline().decode()
                if line.startswith("id: "):
                    first = int(line[4:])
        check(first == ev["id"], "Last-Event-ID resumes with the next record (%d)" % first)

        # Bad parameters, each named.
        base = "/api/v1/hosts/%s/series" % hid
        bad(server, viewer, base, "metric")
        bad(server, viewer, base + "?metric=nope", "metric")
        bad(server, viewer, base + "?metric=cpu_percent&from=abc", "from")
        bad(server, viewer, base + "?metric=cpu_percent&from=2&to=1", "from")
        bad(server, viewer, base + "?metric=cpu_percent&to=-5", "to")
        bad(server, viewer, base + "?metric=cpu_percent&from=0&to=86400000&step=1000", "step")
        bad(server, viewer, base + "?metric=cpu_percent&step=10", "step")
        bad(server, viewer, base + "?metric=cpu_percent&metric=ram_total", "metric")
        bad(server, viewer, base + "?metric=cpu_percent&color=red", "color")
        bad(server, viewer, "/api/v1/exec?limit=0", "limit")
        bad(server, viewer, "/api/v1/exec?limit=1001", "limit")
        bad(server, viewer, "/api/v1/exec?cursor=zz", "cursor")
        bad(server, viewer, "/api/v1/exec?host=no-such-host", "host")
        bad(server, viewer, "/api/v1/hosts?x=1", "x")
        bad(server, viewer, "/api/v1/hosts/%s/speedtests?from=x" % hid, "from")
        st, body = api(server, viewer, "/api/v1/hosts/no-such-host/series?metric=cpu_percent")
        check(st == 404, "an unknown host: 404")
        check(api(server, viewer, "/api/v1/nothing")[0] == 404, "an unknown path: 404")
        check(api(server, viewer, "/api/v1/hosts", method="POST", body={})[0] == 405,
              "POST /api/v1/hosts: 405")

    # An existing database of the schema before roles and the API tables: a SQLite file
    # (the PostgreSQL engine has no older schema to migrate from).
    if db_engine() != "sqlite":
        print("skipped on %s: the SQLite database of the schema before roles" % db_engine())
        return
    work = Workdir()
    probe = Server(work)
    probe.db = work.file("probe.db")
    probe.add_user("old1", "old-pass")
    con = sqlite3.connect(probe.db)
    old_hash = con.execute("SELECT hash FROM accounts WHERE name = 'old1'").fetchone()[0]
    con.close()
    old = work.file("srvmon.db")
    con = sqlite3.connect(old)
    con.executescript(OLD_SCHEMA)
    con.execute("INSERT INTO accounts VALUES('old1', ?, 1)", (old_hash,))
    recs = [{"type": "hello", "host_id": "oldhost", "seq": 1, "ts": 1000, "hostname": "old-web",
             "os": "x", "kernel": "6", "agent_version": "0.0.9", "collector": "procfs"},
            {"type": "resources", "host_id": "oldhost", "seq": 2, "ts": 2000, "cpu_percent": 7.5,
             "ram_total": 10, "ram_available": 5},
            {"type": "exec", "host_id": "oldhost", "seq": 3, "ts": 3000, "user": "root",
             "cwd": "/", "tty": "", "argv": ["/usr/bin/old-cmd", "x y"]}]
    for r in recs:
        con.execute("INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)"
                    " VALUES(?, ?, ?, ?, ?, 'old1', ?)", (r["host_id"], "%020d" % r["seq"],
                                                          r["type"], r["ts"], r["ts"],
                                                          json.dumps(r)))
    con.commit()
    con.close()
    # Retention off: these records are from 1970 (received_ms = ts) and would be deleted.
    server = Server(work, extra=("--retention", "0"))
    try:
        server.start()
        server.add_user("view2", "view-pass", role="viewer")
        viewer = server_token(server, "view2", "view-pass")
        old_tok = server_token(server, "old1", "old-pass")
        check(api(server, old_tok, "/api/v1/hosts")[0] == 403, "the old account is an agent")
        check(ws_upgrade_status(server, old_tok) == 101, "... and may ingest")
        st, hosts = api(server, viewer, "/api/v1/hosts")
        check(st == 200 and len(hosts) == 1 and hosts[0]["hostname"] == "old-web" and
              hosts[0]["cpu_percent"] == 7.5 and hosts[0]["online"] is False,
              "the old records fill hosts (offline)")
        st, e = api(server, viewer, "/api/v1/exec?q=x%20y")
        check(st == 200 and [x["seq"] for x in e["execs"]] == [3], "and the exec search")
        st, s = api(server, viewer, "/api/v1/hosts/oldhost/series?metric=cpu_percent&from=0"
                    "&to=60000&step=1000")
        check(st == 200 and s["t"] == [2000] and s["avg"] == [7.5], "and the series")

        # online: a host whose records stopped is online while its connection is open.
        ws = WebSocket("ws://127.0.0.1:%d/ws?token=%s" % (server.port, old_tok))
        t = int(time.time() * 1000)
        for i in range(3):
            ws.send_text(json.dumps({"type": "status", "host_id": "wshost", "seq": i + 1,
                                     "ts": t - 2000 + i * 1000}))

        def ws_host():
            st, hosts = api(server, viewer, "/api/v1/hosts")
            return [h for h in hosts if h["host_id"] == "wshost" and h["interval_ms"] == 1000]
        wait_for(ws_host, 10, "wshost with a 1 s interval")
        quiet = wait_for(lambda: [h for h in ws_host() if time.time() * 1000 -
                                  h["last_seen_ms"] > 3000], 20, "3 s without its records")
        check(quiet[0]["online"] is True, "silent 3 intervals, connection open: online")
        ws.close()
        wait_for(lambda: ws_host()[0]["online"] is False, 10, "offline once it closes")
    finally:
        server.stop()
    r = subprocess.run([SERVER, "user", "add", "x", "--role", "root", "--db", old],
                       input="p\n", text=True, capture_output=True, timeout=30)
    check(r.returncode == 2 and "--role" in r.stderr, "user add --role root: usage error")


# The schema of server/db.c before roles and the API tables (the fixture of the migration).
OLD_SCHEMA = """
CREATE TABLE accounts(name TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL,
 created_ms INTEGER NOT NULL);
CREATE TABLE tokens(hash TEXT PRIMARY KEY NOT NULL, account TEXT NOT NULL,
 issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
CREATE TABLE refresh_tokens(hash TEXT PRIMARY KEY NOT NULL, account TEXT NOT NULL,
 issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
CREATE TABLE records(id INTEGER PRIMARY KEY, host_id TEXT NOT NULL CHECK(length(host_id) > 0),
 seq TEXT NOT NULL CHECK(length(seq) = 20 AND seq NOT GLOB '*[^0-9]*'), type TEXT NOT NULL,
 ts INTEGER NOT NULL, received_ms INTEGER NOT NULL, account TEXT NOT NULL, body TEXT NOT NULL,
 UNIQUE(host_id, seq));
CREATE INDEX records_type ON records(type);
CREATE TABLE counters(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
"""

main()
