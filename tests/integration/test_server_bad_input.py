"""Bad input to srvmon-server: bad tokens (401), invalid JSON and unknown types (error
reply, connection kept), binary frames (1003), frames over 1 MiB (1009), a flood from one
client (invalid frames: closed 1008; valid records: read at the connection's budget); a
real agent connected meanwhile keeps being served without a gap or delay."""
import json
import struct
import threading
import time

from srvmon_testlib import (Agent, Server, Workdir, WsClient, agent_config, check, server_token,
                            wait_for, write_config)

work = Workdir()
server = Server(work, extra=["--ingest-limit", "1000/1"])
server.add_user("agent1", "s3cret-pass")
server.add_user("other", "other-pass")
server.start()
agent = Agent(work, write_config(work, agent_config(server))).start()
wait_for(lambda: server.records("resources"), 30, "the agent's first records")

token = server_token(server, "other", "other-pass")


def record(seq, host="flood-host", rtype="status"):
    return json.dumps({"type": rtype, "host_id": host, "seq": seq, "ts": 1})


# Bad tokens: refused at the upgrade with 401.
for bad, what in ((None, "no token"), ("0" * 64, "unknown token"), ("not-a-token", "garbage"),
                  (token[:-1] + ("0" if token[-1] != "0" else "1"), "one digit changed")):
    c = WsClient(server.port, bad)
    check(c.status == 401, "upgrade with %s: HTTP %d (401)" % (what, c.status))
    c.close()

# Invalid JSON and unknown types: an error reply each, the connection stays usable.
c = WsClient(server.port, token)
check(c.status == 101, "upgrade with a valid token")
for text, err in (("{oops", "invalid JSON"), ("[1,2]", "message is not a JSON object"),
                  (record(1, rtype="bogus"), "unknown type"),
                  ('{"type":"status","host_id":"h","seq":-1,"ts":1}',
                   "seq missing or not an integer in [0, 2^64-1]")):
    c.send(text)
    op, data = c.recv()
    check(op == 1 and json.loads(data) == {"type": "error", "error": err},
          "%r -> error %r" % (text[:20], err))
c.send(record(1))
op, data = c.recv()
check(op == 1 and json.loads(data) == {"type": "ack", "seq": 1},
      "the same connection still stores a valid record")
c.close()

# A binary frame: closed with 1003; a frame over 1 MiB: closed with 1009.
c = WsClient(server.port, token)
c.send(b"\x00\x01", opcode=0x2)
check(c.recv() == (8, 1003), "binary frame -> close 1003")
c.close()
c = WsClient(server.port, token)
c.send(b"x" * (1024 * 1024 + 10))
check(c.recv() == (8, 1009), "frame over 1 MiB -> close 1009")
c.close()

# A flood of invalid frames from one client: after 100 (then 10 a second) the server closes
# the connection with 1008 (policy violation); the agent is not affected.
c = WsClient(server.port, token)
c.sock.settimeout(30)
mask = b"\0\0\0\0"
junk = struct.pack("!BB", 0x81, 0x80 | 1) + mask + b"{"
# 150 in one write: all read by the server before it closes (so no reset loses the close).
c.sock.sendall(junk * 150)
replies = []
while not replies or replies[-1][0] != 8:
    replies.append(c.recv())
errors = [json.loads(d)["error"] for op, d in replies if op == 1]
check(replies[-1] == (8, 1008), "a flood of invalid frames -> close 1008 (got %r)"
      % (replies[-1],))
check(set(errors) <= {"invalid JSON"} and len(errors) <= 8,
      "error replies before it bounded (%d)" % len(errors))
c.close()
check(wait_for(lambda: "sent over 100 invalid messages, closing (1008)" in server.read_log(),
               10, "the server's log line"), "the close is logged once per connection")

# A flood of valid records, written as fast as the socket takes them (replies unread), from
# one client while the real agent keeps shipping: the server reads the flooder only as fast
# as its budget (--ingest-limit 1000/1: 1000 records/s, 2 s burst), TCP pushes back on it,
# and the agent's records keep arriving with their normal latency.
before = max(r["seq"] for r in server.records() if r["host_id"] != "flood-host")
c = WsClient(server.port, token)
c.sock.settimeout(60)
FLOOD = 9000
frames = []
for seq in range(100, 100 + FLOOD):
    p = record(seq).encode()
    frames.append(struct.pack("!BB", 0x81, 0x80 | len(p)) + mask + p)
done = threading.Event()


def flood():
    try:
        for i in range(0, FLOOD, 100):
            c.sock.sendall(b"".join(frames[i:i + 100]))
    except OSError:
        pass
    done.set()


def flood_count():
    return len([r for r in server.records() if r["host_id"] == "flood-host"]) - 1


t = threading.Thread(target=flood, daemon=True)
t0 = time.monotonic()
t.start()
gaps = []
last_seen = (time.monotonic(), before)
while time.monotonic() - t0 < 5:
    top = max(r["seq"] for r in server.records() if r["host_id"] != "flood-host")
    now = time.monotonic()
    if top > last_seen[1]:
        gaps.append(now - last_seen[0])
        last_seen = (now, top)
    time.sleep(0.2)
gaps.append(time.monotonic() - last_seen[0])
at_5s = flood_count()
elapsed = time.monotonic() - t0
print("gaps: %s; flood records stored after %.1fs: %d" % (["%.1f" % g for g in gaps], elapsed,
                                                            at_5s))
check(at_5s <= 1000 * elapsed + 2000 + 500,
      "the flood is read at its budget: %d records in %.1fs (limit 1000/s + 2000 burst)"
      % (at_5s, elapsed))
check(at_5s >= 1000, "the flooder is throttled, not cut off (%d stored)" % at_5s)
check(max(gaps) < 2.5, "agent records kept arriving during the flood (longest wait %.1fs)"
      % max(gaps))
lat = sorted(rcv - ts for rcv, ts in server.rows(
    "SELECT received_ms, ts FROM records WHERE host_id != 'flood-host' AND seq > ?",
    ("%020d" % before,)))
check(lat and lat[-1] < 1000, "agent records stored within 1 s of being sampled during the "
      "flood (max %d ms over %d records)" % (lat[-1] if lat else -1, len(lat)))
wait_for(done.is_set, 30, "the rest of the flood to be written")
wait_for(lambda: flood_count() >= FLOOD, 30, "the flood's records stored", interval=0.2)
t_all = time.monotonic() - t0
check(t_all >= 0.9 * (FLOOD - 2000) / 1000, "%d flood records took %.1fs to be read (at most "
      "2000 + 1000/s)" % (FLOOD, t_all))
flooded = [r["seq"] for r in server.records() if r["host_id"] == "flood-host"]
check(sorted(flooded) == [1] + list(range(100, 100 + FLOOD)),
      "each flood record stored once, none refused")
check("\"other\" is over its ingest budget" in server.read_log(), "the throttling is logged")
c.close()

ours = [r["seq"] for r in server.records() if r["host_id"] != "flood-host"]
check(ours == list(range(ours[0], ours[0] + len(ours))), "no gap in the agent's seqs")
check(agent.alive(), "agent still running")
check(agent.stop() == 0, "agent exits 0")
server.stop()
print("PASS")
