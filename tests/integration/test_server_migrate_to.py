"""srvmon-server migrate --from sqlite:PATH --to TARGET: a SQLite installation filled by a real
agent (plus a viewer, an alert rule, a used refresh token) is migrated to the Workdir's
database: a fresh PostgreSQL database in the .pg variant (the command's purpose), another
SQLite file otherwise (so that the command also runs in the sanitizer pass). A server on the
target then serves the same records through the read API,
accepts the access token issued by the SQLite server and the same password, still refuses
the used refresh token (a replay), and keeps the exec cursor of the rule past the migrated
records. Rerunning the migration inserts nothing; a URL's password never appears in its
messages."""
import json
import subprocess
import time
import urllib.parse

from srvmon_testlib import (SERVER, Agent, Server, Workdir, WsClient, agent_config, check,
                            db_engine, db_rows, http, post_token, token_reply, wait_for,
                            write_config)


def api(server, token, path):
    st, body = http("GET", server.url(path), headers={"Authorization": "Bearer " + token})
    return st, (json.loads(body) if body else None)


def stable_hosts(server, token):
    """GET /api/v1/hosts without what depends on the moment (online)."""
    st, hosts = api(server, token, "/api/v1/hosts")
    check(st == 200, "GET /api/v1/hosts: %d" % st)
    for h in hosts:
        h.pop("online", None)
    return hosts


def records_of(target):
    """(host_id, seq, type, ts, account, body) of every record (seq: SQLite keeps it as
    zero-padded text, PostgreSQL as a number)."""
    return sorted((h, int(s), t, int(ts), a, b) for h, s, t, ts, a, b in db_rows(
        target, "SELECT host_id, seq, type, ts, account, body FROM records"))


def migrate(src, dst):
    r = subprocess.run([SERVER, "migrate", "--from", "sqlite:" + src, "--to", dst],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


work = Workdir()
sqlite_db = work.file("source.db")
server = Server(work, db=sqlite_db, extra=("--retention", "0"))
agent = None
try:
    server.add_user("agent1", "s3cret-pass")
    server.add_user("view1", "view-pass", role="viewer")
    server.start()
    agent = Agent(work, write_config(work, agent_config(server))).start()
    wait_for(lambda: len(server.records("resources")) >= 5, 30, "5 resources records")
    agent.stop()
    agent = None

    old_access = token_reply(server, "agent1", "s3cret-pass")["access_token"]
    first = token_reply(server, "view1", "view-pass")["refresh_token"]
    st, body = post_token(server, {"grant_type": "refresh_token", "refresh_token": first})
    check(st == 200, "the refresh grant on SQLite: %d %s" % (st, body))
    viewer = json.loads(body)["access_token"]
    r = subprocess.run([SERVER, "alert", "add", "--exec", "^/no/such/cmd",
                        "--name", "migrated-exec", "--db", sqlite_db],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "alert add on SQLite: %s" % r.stderr)
    hosts_before = stable_hosts(server, viewer)
    hid = hosts_before[0]["host_id"]
    now = int(time.time() * 1000)
    series_path = ("/api/v1/hosts/%s/series?metric=cpu_percent&from=%d&to=%d&step=1000"
                   % (hid, now - 600000, now))
    st, series_before = api(server, viewer, series_path)
    check(st == 200 and series_before["t"], "a cpu_percent series on SQLite")
    server.stop()
    before = records_of(sqlite_db)

    url = work.db  # the target: a PostgreSQL URL (SRVMON_TEST_DB_ENGINE=pg) or a SQLite file
    to = url if db_engine() == "pg" else "sqlite:" + url
    t0 = time.monotonic()
    rc, err = migrate(sqlite_db, to)
    took = time.monotonic() - t0
    check(rc == 0, "migrate exits 0 (%.1f s): %s" % (took, err))
    check("records %d of %d (100%%)" % (len(before), len(before)) in err,
          "the progress line counts every record")
    check(", %d records read, %d inserted" % (len(before), len(before)) in err and
          "2 accounts" in err and "1 alert rules" in err, "the summary: %s" % err.strip())
    check(records_of(url) == before, "the target holds the same %d records" % len(before))

    rc, err = migrate(sqlite_db, to)
    check(rc == 0 and ", %d records read, 0 inserted" % len(before) in err and
          "0 accounts (2 already there, kept)" in err and "0 alert rules (1 already there)" in err,
          "a rerun inserts nothing: %s" % err.strip())
    check(records_of(url) == before, "still the same records, none twice")

    pg = Server(work, db=url, extra=("--retention", "0"), log_name="server-target.log").start()
    try:
        check(stable_hosts(pg, viewer) == hosts_before,
              "the viewer's token from SQLite works on the target; /api/v1/hosts is the same")
        st, series_after = api(pg, viewer, series_path)
        check(st == 200 and series_after == series_before, "the same cpu_percent series")
        ws = WsClient(pg.port, old_access)
        check(ws.status == 101, "the agent's access token from SQLite upgrades /ws: %d"
              % ws.status)
        ws.close()
        check(token_reply(pg, "agent1", "s3cret-pass")["access_token"], "the same password")
        st, body = post_token(pg, {"grant_type": "refresh_token", "refresh_token": first})
        check(st == 400 and "invalid_grant" in body,
              "the refresh token used on SQLite is a replay on the target: %d %s" % (st, body))
        rules = db_rows(url, "SELECT name, exec_cursor FROM alert_rules")
        last = db_rows(url, "SELECT max(id) FROM records")[0][0]
        check(rules == [("migrated-exec", last)],
              "the exec rule's cursor is past the migrated records: %r (last id %r)"
              % (rules, last))
    finally:
        pg.stop()

    # Errors name the side and never print a password.
    bad = "postgresql://srvmon:hunter2-secret@%s/nodb" % urllib.parse.quote(work.file("nosock"),
                                                                           safe="")
    rc, err = migrate(sqlite_db, bad)
    check(rc == 1 and "target" in err and "hunter2" not in err and "srvmon:***@" in err,
          "a target that cannot be opened: named, password hidden: %s" % err.strip())
    rc, err = migrate(work.file("missing.db"), to)
    check(rc == 1 and "source" in err and "missing.db" in err, "a missing source: %s" % err.strip())
    rc, err = migrate(sqlite_db, "sqlite:" + sqlite_db)
    check(rc == 2, "--from and --to the same file: usage error")
finally:
    if agent:
        agent.stop()
    server.stop()
