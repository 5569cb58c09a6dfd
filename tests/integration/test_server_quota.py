"""Per-account ingest quota and retention (docs/server.md, "Limits"). Over --quota
RECORDS_PER_S/MIB_PER_DAY a record is refused with an error frame and not acked, nor is
anything after it on that connection; the records before it are committed and acked, then
the connection is closed with 4429 and the agent sends the rest again after reconnecting:
nothing is lost. --retention deletes the records received longer ago than the age, in
batches of 500 (the oldest first), whatever their ts."""
import json
import re
import sqlite3
import time

from srvmon_testlib import (Agent, Server, Workdir, WsClient, agent_config, check, db_engine,
                            server_token, wait_for, write_config)


def rec(seq, host="quota-host", pad=""):
    d = {"type": "status", "host_id": host, "seq": seq, "ts": 1700000000000 + seq}
    if pad:
        d["pad"] = pad
    return d


def batch(records):
    return json.dumps({"type": "batch", "records": records}, separators=(",", ":"))


def seqs(server, host):
    return sorted(int(s) for (s,) in server.rows("SELECT seq FROM records WHERE host_id = ?",
                                                 (host,)))


def replies_until_close(c):
    """The text messages (parsed) then the close code."""
    out = []
    while True:
        op, data = c.recv()
        if op == 0x8:
            return out, data
        if op == 1:
            out.append(json.loads(data))


# 1. Records/s: 5 a second with a 10 s burst (50 records). A batch of 80: 50 stored and
# acked, the 51st refused with an error naming the quota, nothing after it stored, close 4429.
work = Workdir()
server = Server(work, extra=["--quota", "5/1"])
server.add_user("quota", "quota-pass")
server.add_user("quota2", "quota-pass")
server.start()
try:
    token = server_token(server, "quota", "quota-pass")
    c = WsClient(server.port, token)
    check(c.status == 101, "upgrade")
    c.send(batch([rec(s) for s in range(1, 81)]))
    replies, code = replies_until_close(c)
    c.close()
    errors = [r["error"] for r in replies if r["type"] == "error"]
    acks = [r["seq"] for r in replies if r["type"] == "ack"]
    check(errors == ['over quota: 5 records/s for account "quota"'],
          "one error frame names the quota: %r" % errors)
    check(acks == [50], "the 50 records within the burst are acked, no more: %r" % acks)
    check(code == 4429, "then the connection is closed with 4429 (over quota): %r" % code)
    check(seqs(server, "quota-host") == list(range(1, 51)),
          "records 1..50 stored, none of 51..80")
    check("over quota" in server.read_log(), "the refusal is logged")

    # 2. Bytes a day (1 MiB), another account: records of 200,080 bytes: the sixth would
    # pass 1 MiB (1,048,576 bytes): refused like above.
    c = WsClient(server.port, server_token(server, "quota2", "quota-pass"))
    big = [rec(s, host="quota-big", pad="x" * 200000) for s in range(1, 7)]
    for r in big:
        try:
            c.send(json.dumps(r, separators=(",", ":")))
        except (BrokenPipeError, ConnectionResetError):
            break  # closed already: the rest is not needed
    replies, code = replies_until_close(c)
    c.close()
    errors = [r["error"] for r in replies if r["type"] == "error"]
    check(errors == ['over quota: 1 MiB a day for account "quota2"'],
          "the day's bytes: one error naming them: %r" % errors)
    check(code == 4429 and seqs(server, "quota-big") == [1, 2, 3, 4, 5],
          "5 records of 200 KB stored, the 6th refused (%r, close %r)"
          % (seqs(server, "quota-big"), code))
    acks = [r["seq"] for r in replies if r["type"] == "ack"]
    check(acks and max(acks) == 5, "acked up to 5: %r" % acks)
finally:
    server.stop()

# 3. The agent loses nothing: it produces ~20 records/s against a quota of 5/s; it is closed
# with 4429 again and again and resends what was not acked; once the server runs without
# the quota every record is stored, seqs without a gap.
work = Workdir()
server = Server(work, extra=["--quota", "5/0"])
server.add_user("agent1", "s3cret-pass")
server.start()
conf = agent_config(server).replace("reconnect_max = 5s", "reconnect_max = 1s")
conf = conf.replace("[resources]\ninterval = 1s", "[resources]\ninterval = 100ms")
conf = conf.replace("[network]\ninterval = 1s", "[network]\ninterval = 100ms")
agent = Agent(work, write_config(work, conf)).start()
try:
    wait_for(lambda: agent.read_log().count("closed the connection with code 4429") >= 2, 30,
             "the agent to be closed with 4429 twice")
    log = agent.read_log()
    check("over quota: 5 records/s" in log, "the agent logs the server's error frame")
    check("refused the token" not in log, "4429 is not taken for a token problem")
    before = server.records()
    check(before, "records within the quota are stored")
    host = before[0]["host_id"]
    top = max(r["seq"] for r in before)
    server.stop()
    server = Server(work, port=server.port)  # same database, no quota
    server.start()

    def caught_up():
        got = seqs(server, host)
        return got and got[-1] > top + 40 and got == list(range(got[0], got[-1] + 1))
    wait_for(caught_up, 40, "every record, the refused ones too, stored without a gap")
    check(True, "no record lost: seqs %d..%d contiguous, past the %d stored under the quota"
          % (seqs(server, host)[0], seqs(server, host)[-1], top))
finally:
    agent.stop()
    server.stop()

# 4. Retention: 1,200 records received 40 days ago and 10 received now whose ts is 40 days
# old; --retention 30d deletes the 1,200 in batches of at most 500, keeps the 10. SQLite
# only: the rows are written into the file, and PostgreSQL's retention drops whole day
# partitions (of ts) instead (the engine's own tests).
if db_engine() != "sqlite":
    print("skipped on %s: retention by received_ms in row batches is SQLite's" % db_engine())
    raise SystemExit(0)
work = Workdir()
server = Server(work, extra=["--retention", "30d", "--verbose"])
server.add_user("agent1", "s3cret-pass")  # creates the schema
now = int(time.time() * 1000)
old = now - 40 * 86400 * 1000
con = sqlite3.connect(server.db)
rows = [("old-host", "%020d" % s, "status", old, old, "agent1", "{}") for s in range(1, 1201)]
rows += [("new-host", "%020d" % s, "status", old, now, "agent1", "{}") for s in range(1, 11)]
con.executemany("INSERT INTO records(host_id, seq, type, ts, received_ms, account, body)"
                " VALUES(?, ?, ?, ?, ?, ?, ?)", rows)
con.commit()
con.close()
server.start()
try:
    wait_for(lambda: not seqs(server, "old-host"), 20, "retention to delete the old records")
    check(seqs(server, "new-host") == list(range(1, 11)),
          "records received now are kept, though their ts is 40 days old")
    batches = [int(n) for n in re.findall(r"retention: deleted (\d+) records",
                                          server.read_log())]
    check(sum(batches) == 1200 and len(batches) >= 3 and max(batches) <= 500,
          "deleted in batches of at most 500: %r" % batches)
finally:
    server.stop()
