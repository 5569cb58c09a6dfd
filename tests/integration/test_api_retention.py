"""A deleted record (what retention's batch does) takes the read API's rows derived from it:
its samples in metrics, their share of the minute aggregate (min/max taken again from the
samples left, the row gone with its last sample), its execs and speedtests rows."""
import json
import sqlite3

from srvmon_testlib import Server, Workdir, check

work = Workdir()
server = Server(work)
server.add_user("a", "a-pass")  # creates and migrates the database

con = sqlite3.connect(server.db)
check(con.execute("PRAGMA user_version").fetchone()[0] == 2, "user_version 2")
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
check(cpu == [(1, 5.0, 5.0, 5.0)], "the minute without the deleted sample: %r" % cpu)
con.execute("DELETE FROM records WHERE received_ms < 100")
con.commit()
check(counts() == [0, 0, 0, 0], "nothing derived is left: %r" % counts())
con.close()
