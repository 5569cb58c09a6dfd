"""POST /token under a login storm (docs/server.md, "Limits"): password checks run on the
worker pool, not on the event loop (GET /health is answered while checks are queued), at
most --password-workers QUEUE wait or run (503 with Retry-After beyond), and an account that
failed --login-rate BURST times gets 429 without an argon2 check, known or unknown alike,
from any address. All on 127.0.0.x."""
import http.client
import socket
import urllib.parse

from srvmon_testlib import Server, Workdir, check


def login_request(user, password):
    body = urllib.parse.urlencode({"grant_type": "password", "username": user,
                                   "password": password})
    return ("POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
            "\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)).encode()


def status_of(sock):
    """The status code of the reply on sock (read to the end: Connection: close)."""
    sock.settimeout(60)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.close()
    return int(data.split(b" ", 2)[1]), data


def login(port, user, password, src="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(src, 0))
    s.sendall(login_request(user, password))
    return status_of(s)


work = Workdir()
server = Server(work, extra=["--token-rate", "0", "--login-rate", "3/1",
                             "--password-workers", "1/8"])
server.add_user("alice", "alice-pass")
server.add_user("bob", "bob-pass")
server.start()
try:
    # Per-account failures: 3 wrong passwords for alice from 3 addresses, then even the right
    # one is refused with 429 (no argon2 work); bob is not affected.
    for i in range(3):
        st, _ = login(server.port, "alice", "wrong", "127.0.0.%d" % (2 + i))
        check(st == 400, "wrong password %d for alice: 400" % (i + 1))
    st, reply = login(server.port, "alice", "alice-pass", "127.0.0.9")
    check(st == 429 and b"Retry-After: " in reply.replace(b"retry-after", b"Retry-After"),
          "the 4th attempt for alice, right password, another address: 429 with Retry-After")
    st, _ = login(server.port, "bob", "bob-pass")
    check(st == 200, "bob logs in")
    for i in range(3):
        login(server.port, "ghost", "x")
    st, _ = login(server.port, "ghost", "x")
    check(st == 429, "an unknown account is throttled the same way (existence is not told)")
    check("over its failed-login limit" in server.read_log(), "the throttling is logged")

    # The event loop does not verify: 8 wrong-password requests (unknown accounts, one
    # worker: checked one after the other), then GET /health: it is answered while checks
    # are still queued.
    socks = []
    for i in range(8):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=60,
                                     source_address=("127.0.0.%d" % (20 + i), 0))
        s.sendall(login_request("storm%d" % i, "wrong"))
        socks.append(s)
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    c.request("GET", "/health")
    check(c.getresponse().status == 200, "/health answered")
    c.close()
    pending = 0
    for s in socks:
        s.setblocking(False)
        try:
            if not s.recv(1, socket.MSG_PEEK):
                pass
        except BlockingIOError:
            pending += 1
    check(pending >= 1, "/health came back while %d password checks were still queued" % pending)
    statuses = [status_of(s)[0] for s in socks]
    check(statuses == [400] * 8, "then each login gets its answer: %r" % statuses)

    # The queue is bounded (8): 24 at once, most get 503 with Retry-After: 1, none is lost.
    socks = []
    for i in range(24):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=60,
                                     source_address=("127.0.1.%d" % (1 + i), 0))
        socks.append(s)
    for i, s in enumerate(socks):
        s.sendall(login_request("flood%d" % i, "wrong"))
    replies = [status_of(s) for s in socks]
    statuses = sorted(st for st, _ in replies)
    busy = [r for st, r in replies if st == 503]
    check(statuses.count(400) >= 8 and busy and statuses.count(400) + len(busy) == 24,
          "24 logins at once: %d checked (400), %d refused with 503, no other answer"
          % (statuses.count(400), len(busy)))
    check(all(b"retry-after: 1" in r.lower() for r in busy), "503 says Retry-After: 1")
finally:
    server.stop()
