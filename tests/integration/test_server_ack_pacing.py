"""Paced acks (docs/protocol.md section 4): srvmon-server sends at most one ack per
--ack-interval on a connection, always cumulative and only for committed records; 1000
committed records send it at once; --ack-interval 0 acks after every commit. An agent
sending a frame every 100 ms is then woken once a second by acks, not once per frame."""
import json
import time

from srvmon_testlib import Server, Workdir, WsClient, check, server_token


def rec(seq, host):
    return {"type": "status", "host_id": host, "seq": seq, "ts": 1700000000000 + seq}


def batch(records):
    return json.dumps({"type": "batch", "records": records}, separators=(",", ":"))


def stored(server, host):
    return sorted(int(s) for (s,) in server.rows("SELECT seq FROM records WHERE host_id = ?",
                                                 (host,)))


def acks_until(c, last_seq, deadline_s):
    """(receive time, seq) of every ack up to the one of last_seq."""
    got = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        op, data = c.recv()
        check(op == 1, "a text frame (opcode %d: %r)" % (op, data))
        m = json.loads(data)
        check(m["type"] == "ack", "only acks: %r" % m)
        got.append((time.monotonic(), m["seq"]))
        if m["seq"] == last_seq:
            return got
    check(False, "ack of seq %d within %.0f s: %r" % (last_seq, deadline_s, got))
    return got


def run(interval_ms):
    server = Server(Workdir(), extra=("--ack-interval", str(interval_ms)))
    server.add_user("pacer", "pace-pass")
    server.start()
    token = server_token(server, "pacer", "pace-pass")
    c = WsClient(server.port, token)
    check(c.welcome and c.welcome.get("batch"), "welcome")
    host = "pace-%d" % interval_ms

    # The first frame is acked at once (no ack sent yet on this connection).
    c.send(batch([rec(1, host)]))
    first = acks_until(c, 1, 5)
    check(len(first) == 1, "first frame: one ack")

    # Then 15 frames, one every 100 ms, 1.5 s in all.
    start = time.monotonic()
    for i in range(15):
        c.send(batch([rec(s, host) for s in range(2 + 10 * i, 12 + 10 * i)]))
        time.sleep(0.1)
    got = acks_until(c, 151, 5)
    seqs = [s for _, s in got]
    check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "acks grow: %r" % seqs)
    check(stored(server, host) == list(range(1, 152)), "every record stored once")
    if interval_ms:
        # 1.5 s of frames after an ack: at most 3 acks (1 s apart), the last one no
        # earlier than one interval after the first ack.
        check(len(got) <= 3, "paced: %d acks for 15 frames (%r)" % (len(got), seqs))
        check(got[-1][0] - first[0][0] >= interval_ms / 1000.0 - 0.05,
              "the pending ack waited for its interval")
    else:
        check(len(got) >= 8, "unpaced: an ack per commit (%d for 15 frames)" % len(got))
    check(time.monotonic() - start < 4, "the last ack within an interval of the last frame")

    # 1000 committed records: the ack goes at once, whatever the interval.
    t = time.monotonic()
    c.send(batch([rec(s, host) for s in range(152, 1152)]))
    got = acks_until(c, 1151, 5)
    if interval_ms:
        check(got[-1][0] - t < interval_ms / 1000.0 - 0.2,
              "1000 records acked without waiting (%.3f s)" % (got[-1][0] - t))
    c.close()
    server.stop()


run(1000)
run(0)
print("PASS")
