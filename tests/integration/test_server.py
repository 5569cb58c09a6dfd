#!/usr/bin/env python3
"""srvmon-server end to end on loopback: /health, /token, /ws ingest, acks, expiry, SIGTERM.

Standard library only. Starts its own server processes on 127.0.0.1 port 0 with a
temporary database and stops exactly those processes (by PID) on exit.
"""
import base64
import json
import os
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SERVER = os.environ.get("SRVMON_SERVER", "")
DEADLINE_S = 15.0
PASSWORD = "correct horse battery staple"
U64_MAX = 2**64 - 1


def fail(msg):
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def wait_for(pred, what, timeout=DEADLINE_S):
    """Polls pred() until it returns something truthy or the deadline passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    fail("timed out waiting for " + what)


class Server:
    def __init__(self, tmp, name, extra=()):
        self.db = os.path.join(tmp, name + ".db")
        self.out_path = os.path.join(tmp, name + ".out")
        self.err_path = os.path.join(tmp, name + ".err")
        self.extra = list(extra)
        self.proc = None
        self.port = None

    def add_user(self, name, password):
        r = subprocess.run([SERVER, "user", "add", name, "--db", self.db],
                           input=password + "\n", text=True, capture_output=True, timeout=60)
        check(r.returncode == 0, "user add failed: %s" % r.stderr)

    def start(self):
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [SERVER, "serve", "--db", self.db, "--listen", "127.0.0.1", "--port", "0",
             "--print-records"] + self.extra, stdout=self.out, stderr=self.err)

        def listening():
            check(self.proc.poll() is None, "server exited early: " + self.stderr())
            for line in self.stderr().splitlines():
                if line.startswith("listening on http://127.0.0.1:"):
                    return int(line.rsplit(":", 1)[1])
            return None
        self.port = wait_for(listening, "the listening line")
        check(self.port > 0, "port 0 was not replaced by the real port")

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        """SIGTERM, then the exit status (must be 0 within the deadline)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail("server did not stop on SIGTERM")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cli(self, *args):
        r = subprocess.run([SERVER] + list(args) + ["--db", self.db], text=True,
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "%s failed: %s" % (args, r.stderr))
        return r.stdout

    def stats(self):
        return json.loads(self.cli("stats"))

    def rows(self, sql, params=()):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=DEADLINE_S) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def post_token(srv, fields=None, raw=None):
    body = raw if raw is not None else urllib.parse.urlencode(fields).encode()
    return http("POST", srv.url("/token"), body,
                {"Content-Type": "application/x-www-form-urlencoded"})


def get_token(srv, user="alice", password=PASSWORD):
    status, body = post_token(srv, {"grant_type": "password", "username": user,
                                    "password": password})
    check(status == 200, "token request: %d %s" % (status, body))
    return json.loads(body)


class WsClosed(Exception):
    def __init__(self, code, reason):
        super().__init__("closed %s %r" % (code, reason))
        self.code = code
        self.reason = reason


class Ws:
    """A minimal RFC 6455 client: masked frames out, unmasked frames in."""

    def __init__(self, port, path="/ws", headers=None, protocol=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port,
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if protocol:
            lines.append("Sec-WebSocket-Protocol: " + protocol)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        head = head.decode(errors="replace").split("\r\n")
        self.status = int(head[0].split()[1]) if head and len(head[0].split()) > 1 else 0
        self.headers = {}
        for h in head[1:]:
            k, _, v = h.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        # srvmon-server's first message on every WebSocket (docs/protocol.md section 4).
        self.welcome = self.recv() if self.status == 101 else None

    def send_frame(self, opcode, payload, fin=True):
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
        mask = os.urandom(4)
        masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload)) if n < 4096 else \
            (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")
             ).to_bytes(n, "big")
        self.sock.sendall(hdr + mask + masked)

    def send_text(self, text):
        self.send_frame(0x1, text.encode())

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WsClosed(None, "EOF")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """Returns the next text message; raises WsClosed on a close frame or EOF."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WsClosed(code, payload[2:].decode(errors="replace"))
            if opcode == 0x9:
                self.send_frame(0xA, payload)
                continue
            if opcode == 0x1:
                return json.loads(payload.decode())

    def recv_close(self):
        try:
            while True:
                self.recv()
        except WsClosed as e:
            return e.code
        except (ConnectionResetError, socket.timeout):
            return None

    def close(self):
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


def msg(type_, host, seq, ts=1700000000000, **extra):
    """Raw JSON text with seq written exactly (json.dumps keeps Python ints exact)."""
    d = {"type": type_, "host_id": host, "seq": seq, "ts": ts}
    d.update(extra)
    return json.dumps(d)


def expect_ack(ws, seq):
    m = ws.recv()
    check(m == {"type": "ack", "seq": seq}, "expected ack %d, got %r" % (seq, m))


def expect_error(ws, needle):
    m = ws.recv()
    check(m.get("type") == "error" and needle in m.get("error", ""),
          "expected error containing %r, got %r" % (needle, m))


def stored_seqs(srv, host):
    return [int(r[0]) for r in srv.rows("SELECT seq FROM records WHERE host_id = ? ORDER BY seq",
                                        (host,))]


def test_http(srv):
    status, body = http("GET", srv.url("/health"))
    check((status, json.loads(body)) == (200, {"status": "ok"}), "/health: %d %s" % (status, body))
    status, _ = http("GET", srv.url("/no/such/path"))
    check(status == 404, "unknown path: %d" % status)

    tok = get_token(srv)
    check(tok["token_type"] == "bearer" and tok["expires_in"] == 3600, "token reply %r" % tok)
    check(len(tok["access_token"]) == 64 and int(tok["access_token"], 16) >= 0,
          "token not 64 hex: %r" % tok["access_token"])
    # + and %-escapes in the form are decoded (the password has spaces).
    raw = ("grant_type=password&username=alice&password=" +
           PASSWORD.replace(" ", "+")).encode()
    check(post_token(srv, raw=raw)[0] == 200, "'+' in the password not decoded as a space")

    wrong = post_token(srv, {"grant_type": "password", "username": "alice", "password": "x"})
    unknown = post_token(srv, {"grant_type": "password", "username": "mallory",
                               "password": "x"})
    check(wrong == unknown, "wrong password %r differs from unknown user %r" % (wrong, unknown))
    check(wrong[0] == 400 and json.loads(wrong[1]) == {"error": "invalid_grant"},
          "bad credentials reply %r" % (wrong,))

    s, b = post_token(srv, {"grant_type": "client_credentials", "username": "alice",
                            "password": PASSWORD})
    check((s, json.loads(b)["error"]) == (400, "unsupported_grant_type"), "grant %d %s" % (s, b))
    s, b = post_token(srv, {"grant_type": "password", "username": "alice"})
    check((s, json.loads(b)["error"]) == (400, "invalid_request"), "no password %d %s" % (s, b))
    s, b = post_token(srv, raw=b"grant_type=password&grant_type=password&username=alice"
                      b"&password=x")
    check((s, json.loads(b)["error"]) == (400, "invalid_request"), "repeated %d %s" % (s, b))
    s, b = post_token(srv, raw=b"grant_type=password&username=%zz&password=x")
    check((s, json.loads(b)["error"]) == (400, "invalid_request"), "bad %%-escape %d %s" % (s, b))
    s, b = post_token(srv, raw=b"grant_type=password&username=alice&password=" + b"a" * 9000)
    check(s == 413, "9000-byte body: %d %s" % (s, b))
    s, b = http("POST", srv.url("/token"), b"{}", {"Content-Type": "application/json"})
    check(s == 400, "JSON body: %d %s" % (s, b))
    s, _ = http("GET", srv.url("/token"))
    check(s == 405, "GET /token: %d" % s)
    return tok["access_token"]


def test_upgrade_auth(srv, token):
    check(Ws(srv.port).status == 401, "upgrade without token not 401")
    check(Ws(srv.port, headers={"Authorization": "Bearer " + "0" * 64}).status == 401,
          "upgrade with unknown token not 401")
    check(Ws(srv.port, headers={"Authorization": "Basic " + token}).status == 401,
          "upgrade with Basic auth not 401")
    check(Ws(srv.port, path="/other", headers={"Authorization": "Bearer " + token}).status == 404,
          "upgrade on another path not 404")
    ws = Ws(srv.port, path="/ws?token=" + token)
    check(ws.status == 101, "?token= upgrade: %d" % ws.status)
    ws.close()
    ws = Ws(srv.port, headers={"Authorization": "Bearer " + token}, protocol="srvmon")
    check(ws.status == 101 and ws.headers.get("sec-websocket-protocol") == "srvmon",
          "srvmon subprotocol: %d %r" % (ws.status, ws.headers))
    ws.close()


def test_ingest(srv, token):
    auth = {"Authorization": "Bearer " + token}
    ws = Ws(srv.port, headers=auth)
    check(ws.status == 101, "upgrade with token: %d" % ws.status)
    check(ws.welcome == {"type": "welcome", "batch": True, "max_frame": 1048576},
          "welcome first: %r" % ws.welcome)
    ws.send_text(msg("resources", "host-a", 1, cpu_percent=3.5, ram_total=8 << 30,
                     ram_available=6 << 30, disk_total=100 << 30, disk_available=60 << 30))
    expect_ack(ws, 1)
    ws.send_text(msg("network", "host-a", 2, upload_rate=1200000, download_rate=300000,
                     interfaces=[{"name": "eth0", "in_total": True}]))
    expect_ack(ws, 2)
    # A duplicate is acknowledged but stored once.
    ws.send_text(msg("network", "host-a", 2))
    expect_ack(ws, 2)
    check(stored_seqs(srv, "host-a") == [1, 2], "host-a rows %r" % stored_seqs(srv, "host-a"))
    # Cumulative: a lower seq does not lower the ack.
    ws.send_text(msg("status", "host-a", 0))
    expect_ack(ws, 2)

    # Invalid messages get an error and the connection stays usable.
    for text, needle in [("{not json", "invalid JSON"), ("[1,2]", "not a JSON object"),
                         (msg("bogus", "host-a", 3), "unknown type"),
                         (msg("hello", "", 3), "host_id"),
                         (msg("hello", "host-a", -1), "seq"),
                         (msg("hello", "host-a", 2**64), "seq"),
                         (msg("hello", "host-a", 1.5), "seq"),
                         ('{"type":"hello","host_id":"h","seq":1e3,"ts":1}', "seq"),
                         (msg("hello", "host-a", 3, ts="now"), "ts")]:
        ws.send_text(text)
        expect_error(ws, needle)
    ws.send_text(msg("hello", "host-a", 3, hostname="box", kernel="6.18", collector="bpf"))
    expect_ack(ws, 3)

    # A message split over a text frame and a continuation frame.
    text = msg("exec", "host-a", 4, argv="x" * 200000).encode()
    ws.send_frame(0x1, text[:1000], fin=False)
    ws.send_frame(0x0, text[1000:150000], fin=False)
    ws.send_frame(0x0, text[150000:], fin=True)
    expect_ack(ws, 4)
    check(stored_seqs(srv, "host-a") == [0, 1, 2, 3, 4], "rows %r" % stored_seqs(srv, "host-a"))
    ws.close()

    # seq is exact beyond 2^53 and up to 2^64-1: stored and acknowledged unrounded.
    ws = Ws(srv.port, headers=auth)
    for seq in (2**53 + 1, U64_MAX - 1, U64_MAX):
        ws.send_text(msg("speedtest", "host-big", seq))
        expect_ack(ws, seq)
    check(stored_seqs(srv, "host-big") == [2**53 + 1, U64_MAX - 1, U64_MAX],
          "big seqs %r" % stored_seqs(srv, "host-big"))
    body = srv.rows("SELECT body, account FROM records WHERE host_id = 'host-big' "
                    "ORDER BY seq DESC LIMIT 1")[0]
    check(json.loads(body[0])["seq"] == U64_MAX and body[1] == "alice", "row %r" % (body,))
    ws.close()

    # Binary frames and oversized messages end the connection.
    ws = Ws(srv.port, headers=auth)
    ws.send_frame(0x2, b"\x00\x01")
    code = ws.recv_close()
    check(code == 1003, "binary frame close code %r" % code)
    ws.sock.close()
    ws = Ws(srv.port, headers=auth)
    ws.send_text(msg("exec", "host-a", 99, pad="y" * (1024 * 1024)))
    code = ws.recv_close()
    check(code == 1009, "oversized message close code %r" % code)
    ws.sock.close()
    check(99 not in stored_seqs(srv, "host-a"), "oversized message was stored")

    # The readable log and the query command show the records.
    out = wait_for(lambda: "network seq=2" in srv.stdout() and srv.stdout(), "record lines")
    check("resources seq=1 cpu=3.5% ram=2.0/8.0 GiB disk=40.0/100.0 GiB" in out,
          "resources line missing:\n" + out)
    check("up=1.2 Mbit/s down=300 kbit/s (eth0)" in out, "network line missing:\n" + out)
    check("hostname=box kernel=6.18 collector=bpf" in out, "hello line missing:\n" + out)
    check(out.count("network seq=2") == 1, "duplicate printed twice:\n" + out)
    lines = srv.cli("query", "--host", "host-big", "--json", "-n", "2").splitlines()
    check([json.loads(x)["seq"] for x in lines] == [U64_MAX - 1, U64_MAX], "query %r" % lines)
    lines = srv.cli("query", "--type", "resources").splitlines()
    check(len(lines) == 1 and "resources seq=1" in lines[0], "query readable %r" % lines)


def test_stats(srv):
    st = srv.stats()
    # test_http: 2 good + 2 bad-credential + 4 malformed + 1 oversized + 1 JSON body requests
    # counted where the form reached the grant; tokens issued only for the good ones.
    check(st["tokens_issued"] == 2, "tokens_issued %r" % st)
    check(st["failed_logins"] == 2, "failed_logins %r" % st)
    check(st["token_requests"] == 8, "token_requests %r" % st)
    check(st["records_by_type"].get("network") == 1, "network count %r" % st)
    check(st["accounts"] == 1, "accounts %r" % st)


def test_expiry(tmp):
    srv = Server(tmp, "short", ["--token-lifetime", "2"])
    srv.add_user("alice", PASSWORD)
    srv.start()
    try:
        issued = time.time()
        tok = get_token(srv)
        check(tok["expires_in"] == 2, "expires_in %r" % tok)
        auth = {"Authorization": "Bearer " + tok["access_token"]}
        ws = Ws(srv.port, headers=auth)
        check(ws.status == 101, "upgrade %d" % ws.status)
        ws.send_text(msg("status", "host-e", 1))
        expect_ack(ws, 1)
        # Waiting for the token to expire is the behaviour under test, not synchronisation.
        wait_for(lambda: time.time() > issued + 2.2, "token expiry", timeout=10)
        ws.send_text(msg("status", "host-e", 2))
        code = ws.recv_close()
        check(code == 4401, "expired token close code %r" % code)
        ws.sock.close()
        check(stored_seqs(srv, "host-e") == [1], "message after expiry stored: %r" %
              stored_seqs(srv, "host-e"))
        check(Ws(srv.port, headers=auth).status == 401, "expired token upgrade not 401")
        check(srv.stop() == 0, "exit status after SIGTERM not 0")
    finally:
        srv.kill()


def main():
    check(SERVER and os.access(SERVER, os.X_OK), "SRVMON_SERVER must name the server binary")
    with tempfile.TemporaryDirectory(prefix="srvmon-server-test.") as tmp:
        srv = Server(tmp, "main")
        try:
            srv.add_user("alice", PASSWORD)
            r = subprocess.run([SERVER, "user", "add", "alice", "--db", srv.db], input="x\n",
                               text=True, capture_output=True, timeout=60)
            check(r.returncode == 1, "duplicate user add: %d" % r.returncode)
            r = subprocess.run([SERVER, "serve"], capture_output=True, timeout=60)
            check(r.returncode == 2, "serve without --db: %d" % r.returncode)
            srv.start()
            token = test_http(srv)
            test_upgrade_auth(srv, token)
            test_ingest(srv, token)
            test_stats(srv)
            rc = srv.stop()
            check(rc == 0, "exit status after SIGTERM: %r" % rc)
            check("stopping" in srv.stderr(), "no clean stop logged")
        finally:
            srv.kill()
        test_expiry(tmp)
    print("test_server: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
