"""Bad input to srvmon-server: bad tokens (401), invalid JSON and unknown types (error
reply, connection kept), binary frames (1003), frames over 1 MiB (1009), a flood from one
client; a real agent connected meanwhile keeps being served without a gap."""
import json
import struct
import threading
import time
import urllib.request

from srvmon_fakeserver import WsClient
from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, wait_for,
                            write_config)

work = Workdir()
server = Server(work)
server.add_user("agent1", "s3cret-pass")
server.add_user("other", "other-pass")
server.start()
agent = Agent(work, write_config(work, agent_config(server))).start()
wait_for(lambda: server.records("resources"), 30, "the agent's first records")

req = urllib.request.Request(server.base_url + "/token",
                             data=b"grant_type=password&username=other&password=other-pass",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
with urllib.request.urlopen(req, timeout=10) as r:
    token = json.loads(r.read())["access_token"]


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

# A flood from one client (invalid frames and 3000 valid records, written as fast as the
# socket takes them, replies unread) while the real agent keeps shipping.
before = max(r["seq"] for r in server.records() if r["host_id"] != "flood-host")
c = WsClient(server.port, token)
mask = b"\0\0\0\0"
junk = struct.pack("!BB", 0x81, 0x80 | 1) + mask + b"{"
burst = b"".join(junk for _ in range(200))
valid = []
for seq in range(100, 3100):
    p = record(seq).encode()
    valid.append(struct.pack("!BB", 0x81, 0x80 | len(p)) + mask + p)
done = threading.Event()


def flood():
    try:
        for i in range(0, 3000, 30):
            c.sock.sendall(burst + b"".join(valid[i:i + 30]))
    except OSError:
        pass
    done.set()


t = threading.Thread(target=flood, daemon=True)
t0 = time.monotonic()
t.start()
# While the flood lasts (and a little after), the agent's records keep arriving.
gaps = []
last_seen = (time.monotonic(), before)
while (not done.is_set() or time.monotonic() - t0 < 4) and time.monotonic() - t0 < 60:
    top = max(r["seq"] for r in server.records() if r["host_id"] != "flood-host")
    now = time.monotonic()
    if top > last_seen[1]:
        gaps.append(now - last_seen[0])
        last_seen = (now, top)
    time.sleep(0.2)
gaps.append(time.monotonic() - last_seen[0])
t.join(timeout=30)
flood_s = time.monotonic() - t0
check(done.is_set(), "the flood was written (%.1fs)" % flood_s)
print("gaps: %s" % ["%.1f" % g for g in gaps])
check(max(gaps) < 4, "agent records kept arriving during the flood (longest wait %.1fs)"
      % max(gaps))
wait_for(lambda: len([r for r in server.records() if r["host_id"] == "flood-host"]) >= 3001,
         60, "the flood's valid records stored")
flooded = [r["seq"] for r in server.records() if r["host_id"] == "flood-host"]
check(sorted(flooded) == [1] + list(range(100, 3100)), "each valid flood record stored once")
c.close()

ours = [r["seq"] for r in server.records() if r["host_id"] != "flood-host"]
check(ours == list(range(ours[0], ours[0] + len(ours))), "no gap in the agent's seqs")
check(agent.alive(), "agent still running")
check(agent.stop() == 0, "agent exits 0")
server.stop()
print("PASS")
