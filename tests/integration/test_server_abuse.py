"""srvmon-server under abuse (docs/server.md, "Limits"): the speed-test endpoints want a
valid bearer token (401 without), ckSize is clamped to 256 MiB, at most --speedtest-streams
speed-test requests run at once per address (503 beyond); a request whose headers and body
are not complete within --request-timeout is closed however slowly it trickles in, while
an established WebSocket lives on; --conn-limit refuses the connection past the cap per
address and in all. Everything on 127.0.0.x; every client is ended here."""
import http.client
import socket
import time

from srvmon_testlib import Server, Workdir, WsClient, check, server_token, wait_for


def connect(port, src="127.0.0.1"):
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))


def closed_by_server(sock, timeout):
    """Waits up to timeout s for the server to close sock (EOF or reset): True if it did."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def get(port, path, token=None):
    """(status, headers) of GET path; the body is not read (it may be 256 MiB)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
    r = c.getresponse()
    status, headers = r.status, r.msg  # case-insensitive
    body = r.read(512) if status != 200 else b""
    c.close()
    return status, headers, body


work = Workdir()
server = Server(work, extra=["--request-timeout", "2", "--speedtest-streams", "2"])
server.add_user("agent1", "s3cret-pass")
server.start()
clients = []
try:
    token = server_token(server, "agent1", "s3cret-pass")

    # Speed-test endpoints: a valid bearer token or nothing.
    st, hdrs, _ = get(server.port, "/garbage?ckSize=1024")
    check(st == 401 and hdrs.get("WWW-Authenticate") == "Bearer",
          "GET /garbage without a token: 401 with WWW-Authenticate: Bearer (got %d)" % st)
    st, _, _ = get(server.port, "/garbage?ckSize=1", token="0" * 64)
    check(st == 401, "GET /garbage with an unknown token: 401 (got %d)" % st)
    st, hdrs, _ = get(server.port, "/garbage?ckSize=1024", token=token)
    check(st == 200 and hdrs.get("Content-Length") == str(256 * 1024 * 1024),
          "ckSize=1024 with a token: clamped to 256 MiB (Content-Length %s)"
          % hdrs.get("Content-Length"))
    st, _, body = get(server.port, "/garbage?ckSize=0", token=token)
    check(st == 400, "ckSize=0: 400 (%r)" % body)
    st, _, _ = get(server.port, "/empty", token=token)
    check(st == 200, "GET /empty with a token: 200")

    # Two downloads that are not read hold both speed-test slots of 127.0.0.1; the third
    # request from there is refused, one from another address is not.
    held = []
    for _ in range(2):
        s = connect(server.port)
        s.sendall(("GET /garbage?ckSize=256 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s"
                   "\r\n\r\n" % token).encode())
        s.recv(1)  # the download has started
        held.append(s)
    clients += held
    st, hdrs, _ = get(server.port, "/garbage?ckSize=1", token=token)
    check(st == 503 and hdrs.get("Retry-After") == "1",
          "a third speed-test request from the address: 503, Retry-After: 1 (got %d)" % st)
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10,
                                   source_address=("127.0.0.20", 0))
    c.request("GET", "/empty", headers={"Authorization": "Bearer " + token})
    check(c.getresponse().status == 200, "another address still gets its speed test")
    c.close()
    for s in held:
        s.close()

    # Trickling: 10 clients from 5 addresses send a /token request a byte every 0.3 s (the
    # even ones send the headers at once and trickle the body); each byte would restart a
    # per-read timeout, the deadline is for the whole request.
    ws = WsClient(server.port, token)
    clients.append(ws.sock)
    check(ws.status == 101, "a WebSocket is established")
    req = (b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
           b"\r\nContent-Length: 1000\r\n\r\n")
    trickle = []
    t0 = time.monotonic()
    for i in range(10):
        s = connect(server.port, "127.0.0.%d" % (2 + i % 5))
        if i % 2 == 0:
            s.sendall(req)
        s.setblocking(False)
        trickle.append([s, len(req) if i % 2 == 0 else 0, None])
    clients += [t[0] for t in trickle]
    while any(t[2] is None for t in trickle) and time.monotonic() - t0 < 8:
        for t in trickle:
            if t[2] is not None:
                continue
            try:
                if t[0].recv(4096) == b"":
                    t[2] = time.monotonic() - t0
                    continue
            except BlockingIOError:
                pass
            except ConnectionResetError:
                t[2] = time.monotonic() - t0
                continue
            try:
                t[0].send((req + b"a" * 1000)[t[1]:t[1] + 1])
                t[1] += 1
            except (BrokenPipeError, ConnectionResetError):
                t[2] = time.monotonic() - t0
        time.sleep(0.3)
    times = sorted(t[2] for t in trickle if t[2] is not None)
    check(len(times) == 10, "all 10 trickling clients were closed (%d)" % len(times))
    check(times[0] >= 1.5 and times[-1] < 4.5,
          "at the 2 s deadline, though each sent a byte every 0.3 s (%.1f .. %.1f s)"
          % (times[0], times[-1]))
    check(wait_for(lambda: "closed" in server.read_log() and "--request-timeout" in
                   server.read_log(), 5, "the deadline's log line"), "the closing is logged")
    # The WebSocket outlived the deadline: a record on it is still stored and acked.
    ws.send('{"type":"status","host_id":"abuse-host","seq":7,"ts":1700000000000}')
    op, data = ws.recv()
    check(op == 1 and b'"ack"' in data and b'"seq":7' in data,
          "the WebSocket outlived the request deadline: its record is acked (%r)" % data)
    ws.close()

    # Keep-alive: a second request on one connection after the first one's reply has a
    # deadline of its own, counted from the end of the first.
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(3):  # the third request comes 2.4 s after the connection opened
        c.request("GET", "/health")
        check(c.getresponse().read() == b'{"status":"ok"}', "a request on a kept-alive connection")
        time.sleep(1.2)
    c.close()

    server.stop()

    # Connection caps, on a server of their own (the default 10 s request deadline: the idle
    # connections stay while the test looks): 12 per address (--conn-limit 40/12), the 13th
    # from 127.0.0.30 is closed at once, the next address is still served.
    work = Workdir()
    server = Server(work, extra=["--conn-limit", "40/12"])
    server.start()
    mine = [connect(server.port, "127.0.0.30") for _ in range(12)]
    clients += mine
    extra = connect(server.port, "127.0.0.30")
    clients.append(extra)
    check(closed_by_server(extra, 1.5), "the 13th connection from one address is closed at once")
    check(not closed_by_server(mine[0], 0.2), "the first 12 stay open")
    other = connect(server.port, "127.0.0.31")
    clients.append(other)
    other.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    other.settimeout(5)
    check(other.recv(4096).startswith(b"HTTP/1.1 200"), "another address is served")
    other.close()
    for s in mine:
        s.close()
    # 40 in all: 4 addresses with 10 each fill it; the 41st, from a fifth address, is refused.
    full = [connect(server.port, "127.0.0.%d" % (40 + i // 10)) for i in range(40)]
    clients += full

    def refused():
        s = connect(server.port, "127.0.0.50")
        clients.append(s)
        return closed_by_server(s, 1.0)
    # The closed ones above may take a moment to be forgotten by the server.
    check(wait_for(refused, 5, "the 41st connection to be refused"),
          "the 41st connection (cap 40 in all) is closed at once")
    check(wait_for(lambda: "over --conn-limit" in server.read_log(), 5, "the refusal log line"),
          "refusals are logged (counted, one line per tick)")
    for s in full:
        s.close()

    def healthy():
        try:
            return server.proc.poll() is None and get(server.port, "/health")[0] == 200
        except OSError:
            return False  # refused while the server has not yet seen the closes
    check(wait_for(healthy, 5, "/health after the caps"), "the server serves on after all of it")
finally:
    for s in clients:
        s.close()
    server.stop()
