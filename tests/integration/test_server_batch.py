"""Batch frames (docs/protocol.md sections 3 and 4): srvmon-server welcomes every WebSocket
with {"type":"welcome","batch":true,"max_frame":1048576}; a {"type":"batch","records":[...]}
frame stores each element exactly as a single-record frame would (same validation, same
deduplication on (host_id, seq)); a bad element is answered with an error naming its index
and dropped, the others are stored; one cumulative ack follows, sent only once the records
are committed (another reader sees them when the ack arrives)."""
import json

from srvmon_testlib import Server, Workdir, WsClient, check, server_token

work = Workdir()
server = Server(work)
server.add_user("batcher", "batch-pass")
server.start()
token = server_token(server, "batcher", "batch-pass")


def rec(seq, host="batch-host", rtype="status", **extra):
    d = {"type": rtype, "host_id": host, "seq": seq, "ts": 1700000000000 + seq}
    d.update(extra)
    return d


def batch(records):
    return json.dumps({"type": "batch", "records": records}, separators=(",", ":"))


def rows(host="batch-host"):
    """(seq, body) committed in the database, read by another connection."""
    return sorted((int(s), b) for s, b in server.rows(
        "SELECT seq, body FROM records WHERE host_id = ?", (host,)))


c = WsClient(server.port, token)
check(c.status == 101, "upgrade")
check(c.welcome == {"type": "welcome", "batch": True, "max_frame": 1048576},
      "welcome is the first message: %r" % c.welcome)

# 1000 records (the most a batch may hold) in one frame: one ack, and when it arrives every
# record is committed, each body exactly the element's text.
records = [rec(seq, pad="p" * (seq % 50)) for seq in range(1, 1001)]
text = batch(records)
check(len(text) < 1048576, "the batch fits max_frame (%d bytes)" % len(text))
c.send(text)
check(c.recv_json() == {"type": "ack", "seq": 1000}, "one cumulative ack for 1000 records")
got = rows()
check([s for s, _ in got] == list(range(1, 1001)),
      "all 1000 committed when the ack arrived (%d rows)" % len(got))
check(all(b == json.dumps(r, separators=(",", ":")) for (_, b), r in zip(got, records)),
      "each stored body is exactly the element's text")

# A bad element is rejected like a bad single frame and the good ones are kept; duplicates of
# stored records are acknowledged, not stored twice.
mixed = [rec(999), rec(1001), rec(1002, rtype="bogus"), "not an object",
         rec(1003, host=""), rec(1004, rtype="network")]
c.send(batch(mixed))
replies = [c.recv_json() for _ in range(4)]
errors = [r["error"] for r in replies if r["type"] == "error"]
acks = [r["seq"] for r in replies if r["type"] == "ack"]
check(errors == ["batch record 2: unknown type", "batch record 3: message is not a JSON object",
                 "batch record 4: host_id missing, empty or too long"],
      "one error per bad element, naming it: %r" % errors)
check(acks == [1004], "then the ack of the highest stored seq: %r" % acks)
check([s for s, _ in rows()] == list(range(1, 1002)) + [1004],
      "good elements stored, bad ones not, the duplicate once")

# The envelope is checked first: over 1000 records, not an array, invalid JSON: one error,
# nothing of it stored, the connection stays usable.
for frame, err in ((batch([rec(s) for s in range(2000, 3001)]), "batch over the record limit"),
                   ('{"type":"batch","records":{}}', "records missing, not an array or empty"),
                   ('{"type":"batch","records":[', "invalid JSON")):
    c.send(frame)
    r = c.recv_json()
    check(r == {"type": "error", "error": err}, "%s -> %r" % (err, r))
check(not [s for s, _ in rows() if s >= 2000], "nothing of a refused batch stored")

# Single-record frames still work on the same connection, and the ack stays cumulative.
c.send(json.dumps(rec(1005)))
check(c.recv_json() == {"type": "ack", "seq": 1005}, "a single frame after batches")
c.close()

# Several connections batching at once: all stored, each acked up to its own last seq.
clients = [WsClient(server.port, token) for _ in range(4)]
for i, cl in enumerate(clients):
    for first in range(1, 501, 100):
        cl.send(batch([rec(s, host="multi-%d" % i) for s in range(first, first + 100)]))
for i, cl in enumerate(clients):
    replies = [cl.recv_json()]
    while replies[-1].get("seq") != 500 and len(replies) < 5:
        replies.append(cl.recv_json())
    seqs = [r.get("seq") for r in replies]
    check(all(r["type"] == "ack" for r in replies) and seqs == sorted(seqs) and seqs[-1] == 500,
          "connection %d: acks only, growing, up to 500: %r" % (i, seqs))
    check([s for s, _ in rows("multi-%d" % i)] == list(range(1, 501)),
          "connection %d: 500 records stored once" % i)
    cl.close()
server.stop()
print("PASS")
