"""A deleted record (what retention's batch does) takes the read API's rows derived from it:
its samples in metrics, its execs and speedtests rows; the per-minute rollups (metrics_1m)
stay as they were (since schema version 3: they go at --rollup-retention)."""
import json
import sqlite3

from srvmon_testlib import Server, Workdir, check

work = Workdir()
server = Server(work)
server.add_user("a", "a-pass")  # creates and migrates the database

con = sqlite3.connect(server.db)
check(con.execute("SELECT version FROM schema_version").fetchall() == [(4,)], "schema_version 4")
rows = [(1, "resources", 60000, {"cpu_percent": 5, "ram_available": 10}),
        (2, "resources", 61000, {"cpu_percent": 7, "ram_available": 12}),
        (3, "exec", 62000, {"argv": ["ls"], "user": "root"}),
        (4, "speedtest", 63000, {})]
for seq, typ, ts, body in rows:
    con.execute("INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)"
                " VALUES('h', ?, ?, ?, ?, 'a', ?)", ("%020d" % seq, typ, ts, seq, json.dumps(body)))
con.commit()


def counts():
    return [con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
            for t in ("metrics", "metrics_1m", "execs", "speedtests")]


check(counts() == [4, 2, 1, 1], "derived rows stored: %r" % counts())
con.execute("DELETE FROM records WHERE seq = ?", ("%020d" % 2,))
cpu = con.execute("SELECT n, sum, min, max FROM metrics_1m m JOIN metric_names n ON n.id = m.metric"
                  " WHERE n.name = 'cpu_percent'").fetchall()
check(cpu == [(2, 12.0, 5.0, 7.0)], "the minute keeps the deleted sample: %r" % cpu)
con.execute("DELETE FROM records WHERE received_ms < 100")
con.commit()
check(counts() == [0, 2, 0, 0], "only the rollups are left: %r" % counts())
con.close()
