"""A database made by the previous srvmon-server (no user_version, records deduplicated on
(host_id, seq), no hosts table, refresh tokens without family) keeps working: opened by the
new one it is migrated in place. Its rows and ids stay; each host belongs to the account of
its oldest record; a record another account stored there before ownership was enforced (a
pre-claimed seq) no longer makes the owner's record with that seq a duplicate; an old
refresh token is a family of its own."""
import json
import sqlite3

from srvmon_testlib import Server, Workdir, WsClient, check, server_token

# The schema of the previous version, as its db.c created it.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts( name TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL,
 created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens( hash TEXT PRIMARY KEY NOT NULL, account TEXT NOT NULL,
 issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refresh_tokens( hash TEXT PRIMARY KEY NOT NULL,
 account TEXT NOT NULL, issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records( id INTEGER PRIMARY KEY,
 host_id TEXT NOT NULL CHECK(length(host_id) > 0),
 seq TEXT NOT NULL CHECK(length(seq) = 20 AND seq NOT GLOB '*[^0-9]*'),
 type TEXT NOT NULL, ts INTEGER NOT NULL, received_ms INTEGER NOT NULL,
 account TEXT NOT NULL, body TEXT NOT NULL, UNIQUE(host_id, seq));
CREATE INDEX IF NOT EXISTS records_type ON records(type);
CREATE TABLE IF NOT EXISTS counters( name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
"""

work = Workdir()
# --retention 0: these records are from 1970; the default 30-day retention would delete
# them at the first start, racing with the checks below.
server = Server(work, extra=("--retention", "0"))


def body(host, seq):
    return json.dumps({"type": "status", "host_id": host, "seq": seq, "ts": 1})


con = sqlite3.connect(server.db)
con.executescript(OLD_SCHEMA)
# host-a: account a first (received 1000), then b pre-claimed seqs 10 and 11 (as the old
# server let it); host-b: b only.
old_rows = [(1, "host-a", 1, 1000, "a"), (2, "host-a", 2, 2000, "a"), (3, "host-a", 10, 2500, "b"),
            (4, "host-a", 11, 2600, "b"), (5, "host-b", 1, 3000, "b"), (6, "host-a", 3, 4000, "a")]
for rid, host, seq, rcv, acct in old_rows:
    con.execute("INSERT INTO records VALUES(?, ?, ?, 'status', 1, ?, ?, ?)",
                (rid, host, "%020d" % seq, rcv, acct, body(host, seq)))
con.execute("INSERT INTO refresh_tokens VALUES(?, 'a', 1, 9999999999999)", ("f" * 64,))
con.commit()
con.close()

# The first command of the new version to open it migrates it (user add here).
server.add_user("a", "a-pass")
server.add_user("b", "b-pass")

con = sqlite3.connect("file:%s?mode=ro" % server.db, uri=True)
check(con.execute("SELECT version FROM schema_version").fetchall() == [(4,)], "schema_version 4")
sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'records'").fetchone()[0]
check("UNIQUE(host_id, seq, account)" in sql, "records deduplicated per account: %s" % sql)
got = con.execute("SELECT id, host_id, CAST(seq AS INTEGER), received_ms, account FROM records"
                  " ORDER BY id").fetchall()
check(got == old_rows, "every old record kept, with its id: %r" % got)
check(con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'records_type'").fetchone()[0]
      == 1, "the index on type recreated on the rebuilt table")
hosts = con.execute("SELECT host_id, account, first_seen_ms, last_seen_ms FROM host_owners"
                    " ORDER BY host_id").fetchall()
check(hosts == [("host-a", "a", 1000, 4000), ("host-b", "b", 3000, 3000)],
      "each host belongs to the account of its oldest record: %r" % hosts)
check(con.execute("SELECT family FROM refresh_tokens").fetchall() == [("f" * 64,)],
      "an old refresh token is a family of its own")
con.close()

r = server.run_cli("host", "list")
check(r.returncode == 0 and "host-a\ta\t1970-01-01T00:00:01Z\t1970-01-01T00:00:04Z" in r.stdout,
      "host list on the migrated database: %r" % r.stdout)

server.start()
try:
    # a's record with a seq that b pre-claimed is stored and acked; b's for host-a refused.
    c = WsClient(server.port, server_token(server, "a", "a-pass"))
    c.send(body("host-a", 10))
    op, data = c.recv()
    check(json.loads(data) == {"type": "ack", "seq": 10}, "a's seq 10 acked: %r" % data)
    c.close()
    c = WsClient(server.port, server_token(server, "b", "b-pass"))
    c.send(body("host-a", 12))
    op, data = c.recv()
    check(json.loads(data)["type"] == "error", "b's record for host-a refused: %r" % data)
    c.close()
    seq10 = server.rows("SELECT account FROM records WHERE host_id = 'host-a' AND seq = ?"
                        " ORDER BY id", ("%020d" % 10,))
    seq12 = server.rows("SELECT count(*) FROM records WHERE seq = ?", ("%020d" % 12,))[0]
    check(seq10 == [("b",), ("a",)], "a's seq 10 stored beside b's old one: %r" % seq10)
    check(seq12 == (0,), "b's refused record not stored")
    # Opened again: nothing to migrate, nothing changes.
    server.stop()
    server.start()
    check(len(server.records()) == 7, "reopened: the same 7 records")
finally:
    server.stop()
