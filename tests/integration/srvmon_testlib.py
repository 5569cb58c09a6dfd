"""Helpers for the integration tests: a real srvmon-server and srvmon-agent on loopback.

Every process is started here and ended here, by PID. Nothing leaves 127.0.0.1.
The one dialect of tests/integration/test_*.py (no private copies in single tests):
  check, fail, wait_for (fails at its deadline), poll (returns the last value)
  Workdir (db: the database target of its servers); Server (start/stop -> exit status,
    read_log, stdout with print_records, url, records, rows(sql), cli/run_cli, stats);
    db_engine, db_rows; served() for Workdir + Server + account +
    agents stopped on the way out; Agent, agent_config, write_config, history_agent
  http, http_response, post_token, token_reply, server_token
  WsClient (send, recv raw frames, recv_json, recv_close, close) and WsClosed
srvmon_fakeserver.FakeServer is the misbehaving server the agent's tests talk to.

The database engine of the servers: SRVMON_TEST_DB_ENGINE=sqlite (the default: a file in the
Workdir) or pg (a fresh database per Workdir in a private PostgreSQL, srvmon_pg.py, started on
first use and removed at exit). rows() and records() read either; a test about the SQLite
file itself checks db_engine() first.
"""
import atexit
import base64
import contextlib
import json
import os
import re
import shutil
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

AGENT = os.environ.get("SRVMON_AGENT", "build/user/srvmon-agent")
SERVER = os.environ.get("SRVMON_SERVER", "build/server/srvmon-server")


# Every process a test starts through this module, so that a failing test (fail()
# exits) still ends them: by PID, only ours. Then the PostgreSQL they used, if any, then
# the test's Workdirs: removed when it passed, kept (and named) for a look when it failed
# (fail(), an uncaught exception, or a signal: mark_failed()).
_STARTED = []
_WORKDIRS = []
_FAILED = False


def mark_failed():
    global _FAILED
    _FAILED = True


def _end_started():
    for proc in _STARTED:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if "srvmon_pg" in sys.modules:
        sys.modules["srvmon_pg"].remove_cluster()
    if _FAILED:
        for path in _WORKDIRS:
            print("kept for a look: %s" % path, flush=True)
    else:
        for path in _WORKDIRS:
            shutil.rmtree(path, ignore_errors=True)


def _excepthook(kind, value, tb, _previous=sys.excepthook):
    mark_failed()
    _previous(kind, value, tb)


atexit.register(_end_started)
sys.excepthook = _excepthook


def fail(msg):
    mark_failed()
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def check_sanitizers(name, log):
    """Under -DSRVMON_SANITIZE=ON a sanitizer report in a process's log fails the test."""
    for mark in SANITIZER_MARKS:
        if mark in log:
            fail("%s log has a sanitizer report:\n%s" % (name, log[-4000:]))


def poll(fn, done, timeout, interval=0.2):
    """Polls fn() until done(its value) or the deadline passes; returns the last value,
    for the caller to check (wait_for fails at the deadline instead)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if done(v) or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def wait_for(pred, timeout, what, interval=0.1):
    """Polls pred() until it returns a true value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            fail("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def db_engine():
    """The engine the tests' servers use: "sqlite" or "pg" (SRVMON_TEST_DB_ENGINE)."""
    engine = os.environ.get("SRVMON_TEST_DB_ENGINE", "sqlite")
    if engine not in ("sqlite", "pg"):
        fail("SRVMON_TEST_DB_ENGINE=%s: expected sqlite or pg" % engine)
    return engine


def pg_cluster():
    """The PostgreSQL of this test process (srvmon_pg.PgCluster), started on first use."""
    import srvmon_pg
    return srvmon_pg.cluster(at_exit=False)


def _pg_value(v):
    """psql prints text; integers come back as int like sqlite3 gives them."""
    if v is not None and re.fullmatch(r"-?[0-9]{1,18}", v):
        return int(v)
    return v


def db_rows(target, sql, params=()):
    """The rows (tuples) of a read-only query on the database target (a SQLite path or a
    postgresql:// URL of srvmon_pg), on a connection of its own. sql uses ? placeholders
    (psql: quoted literals, so compare with text or numbers as the column's type allows)."""
    if not target.startswith("postgresql://"):
        con = sqlite3.connect("file:%s?mode=ro" % target, uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    import srvmon_pg
    parts = sql.split("?")
    if len(parts) - 1 != len(params):
        fail("db_rows: %d placeholders, %d parameters: %s" % (len(parts) - 1, len(params), sql))
    text = parts[0]
    variables = {}
    for i, p in enumerate(params):
        variables["p%d" % i] = str(p)
        text += ":'p%d'" % i + parts[i + 1]
    rows = srvmon_pg.query_url(target, text + ";", variables)
    return [tuple(_pg_value(v) for v in row) for row in rows]


class Workdir:
    def __init__(self, prefix="srvmon-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        _WORKDIRS.append(self.path)
        self._db = None

    def file(self, name):
        return os.path.join(self.path, name)

    @property
    def db(self):
        """The database of the servers of this Workdir (db_engine()): the file srvmon.db in
        it, or a PostgreSQL database made for it (the same for every Server of it)."""
        if self._db is None:
            if db_engine() == "pg":
                self._db = pg_cluster().database()
            else:
                self._db = self.file("srvmon.db")
        return self._db


class Server:
    """srvmon-server serve on 127.0.0.1 with the database of its Workdir (work.db)."""

    def __init__(self, work, port=0, token_lifetime=None, extra=(), listen="127.0.0.1",
                 netns=None, print_records=False, db=None, log_name="server.log"):
        """print_records: serve --print-records; its stdout (the readable record lines) goes
        to its own file, read by stdout(); the log (stderr) stays in read_log(). db: the
        database (a path or a postgresql:// URL) instead of work.db; log_name: the log's
        file in work (several servers in one Workdir)."""
        self.work = work
        self.db = db or work.db
        self.port = port
        self.token_lifetime = token_lifetime
        self.extra = list(extra)
        self.listen = listen  # an address inside netns when netns is set
        self.netns = netns  # run inside this network namespace (ip netns exec)
        self.print_records = print_records
        self.out_path = work.file("server.out")
        self.proc = None
        self.log_path = work.file(log_name)

    def add_user(self, name, password, role=None):
        """role: None (the default, agent), "agent", "viewer" or "admin"."""
        cmd = [SERVER, "user", "add", name, "--db", self.db]
        if role:
            cmd += ["--role", role]
        r = subprocess.run(cmd,
                           input=password + "\n", text=True, capture_output=True, timeout=60)
        if r.returncode != 0:
            fail("user add failed: %s %s" % (r.stdout, r.stderr))

    def start(self):
        cmd = [SERVER, "serve", "--db", self.db, "--listen", self.listen,
               "--port", str(self.port)] + self.extra
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        if self.token_lifetime is not None:
            cmd += ["--token-lifetime", str(self.token_lifetime)]
        self.log = open(self.log_path, "a")
        stdout, stderr = self.log, subprocess.STDOUT
        if self.print_records:
            cmd += ["--print-records"]
            self.out = open(self.out_path, "a")
            stdout, stderr = self.out, self.log
        self.proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr)
        _STARTED.append(self.proc)

        def listening():
            if self.proc.poll() is not None:
                fail("srvmon-server exited with %d: %s" % (self.proc.returncode, self.read_log()))
            m = re.search(r"listening on https?://%s:(\d+)" % re.escape(self.listen),
                          self.read_log())
            return m and int(m.group(1))

        self.port = wait_for(listening, 20, "srvmon-server to listen")
        return self

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stdout(self):
        """What serve --print-records printed (Server(print_records=True))."""
        with open(self.out_path, errors="replace") as f:
            return f.read()

    @property
    def base_url(self):
        return "http://%s:%d" % (self.listen, self.port)

    def url(self, path):
        return self.base_url + path

    def stop(self, sig=signal.SIGTERM):
        """Ends the server (sig, then SIGKILL after 15 s) and returns its exit status: None
        when it had to be killed or was not running."""
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        elif self.proc:
            rc = self.proc.returncode
        if self.proc:
            self.log.close()
            if self.print_records:
                self.out.close()
            check_sanitizers("srvmon-server", self.read_log())
        self.proc = None
        return rc

    def run_cli(self, *args, input=None):
        """srvmon-server ARGS --db <its database> (input: its stdin): the CompletedProcess."""
        return subprocess.run([SERVER] + list(args) + ["--db", self.db], input=input,
                              capture_output=True, text=True, timeout=60)

    def cli(self, *args):
        """srvmon-server ARGS --db <its database>, which must exit 0: its stdout."""
        r = self.run_cli(*args)
        if r.returncode != 0:
            fail("srvmon-server %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r.stdout

    def rows(self, sql, params=()):
        """The rows of a read-only query, on a connection of its own (another reader), on
        either engine (db_rows)."""
        return db_rows(self.db, sql, params)

    def records(self, rtype=None):
        """All stored records as parsed JSON bodies (exact integers), oldest seq first."""
        try:
            rows = db_rows(self.db, "SELECT body FROM records")
        except (sqlite3.OperationalError, RuntimeError):
            rows = []
        out = [json.loads(r[0]) for r in rows]
        if rtype:
            out = [r for r in out if r.get("type") == rtype]
        out.sort(key=lambda r: r["seq"])
        return out

    def stats(self):
        return json.loads(self.cli("stats"))


def http_response(method, url, body=None, headers=None, timeout=30):
    """(status, response headers, body text) of one HTTP request; an error status is
    returned, not raised."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def http(method, url, body=None, headers=None, timeout=30):
    """(status, body text) of one HTTP request; an error status is returned, not raised."""
    status, _, text = http_response(method, url, body, headers, timeout)
    return status, text


def post_token(server, fields=None, raw=None, with_headers=False):
    """(status, body text) of POST /token with the form fields (a dict) or the raw body;
    with_headers: (status, response headers, body text)."""
    body = raw if raw is not None else urllib.parse.urlencode(fields).encode()
    r = http_response("POST", server.url("/token"), body,
                      {"Content-Type": "application/x-www-form-urlencoded"})
    return r if with_headers else (r[0], r[2])


def token_reply(server, user, password):
    """The JSON reply of a password grant, which must succeed (200)."""
    status, body = post_token(server, {"grant_type": "password", "username": user,
                                       "password": password})
    if status != 200:
        fail("token request of %s: %d %s" % (user, status, body))
    return json.loads(body)


def server_token(server, user, password):
    """An access token from server's POST /token (password grant)."""
    return token_reply(server, user, password)["access_token"]


class WsClosed(Exception):
    """The peer closed the WebSocket (code None: no code, or the connection just ended)."""

    def __init__(self, code, reason):
        super().__init__("closed %s %r" % (code, reason))
        self.code = code
        self.reason = reason


def _mask(payload, key):
    n = len(payload)
    if n < 4096:
        return bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return (int.from_bytes(payload, "big") ^ int.from_bytes((key * (n // 4 + 1))[:n], "big")
            ).to_bytes(n, "big")


class WsClient:
    """The tests' WebSocket (RFC 6455) client: masked frames out, unmasked frames in.
    recv() gives raw frames (for the tests of bad input), recv_json() the next message,
    recv_close() the close code."""

    def __init__(self, port, token=None, path="/ws", timeout=10, welcome=True, headers=None,
                 protocol=None, host="127.0.0.1"):
        """token: sent as Authorization: Bearer; headers: more request headers; protocol:
        Sec-WebSocket-Protocol; welcome: read srvmon-server's first message (the welcome,
        docs/protocol.md section 4) into self.welcome. self.status is the HTTP status of the
        upgrade (101 when it succeeded), self.headers the response headers (lower case)."""
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port), "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
                 "Sec-WebSocket-Version: 13"]
        if token is not None:
            lines.append("Authorization: Bearer %s" % token)
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
        head = head.decode("latin-1").split("\r\n")
        first = head[0].split()
        self.status = int(first[1]) if head[0].startswith("HTTP/1.") and len(first) > 1 else 0
        self.headers = {}
        for h in head[1:]:
            k, _, v = h.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.welcome = None
        self.close_reason = None
        if welcome and self.status == 101:
            op, data = self.recv()
            self.welcome = json.loads(data) if op == 1 else None

    def send(self, payload, opcode=0x1, fin=True):
        """One frame (fin=False: a fragment that continuation frames, opcode 0, follow)."""
        if isinstance(payload, str):
            payload = payload.encode()
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        key = os.urandom(4)
        self.sock.sendall(head + key + _mask(payload, key))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("peer closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next frame as (opcode, payload); for a close frame the payload is the close
        code (int, None without one) and self.close_reason its text. ConnectionError at EOF."""
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        key = self._read(4) if b1 & 0x80 else None
        data = self._read(n)
        if key:
            data = _mask(data, key)
        op = b0 & 0x0F
        if op == 0x8:
            self.close_reason = data[2:].decode(errors="replace")
            return op, struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
        return op, data

    def recv_json(self):
        """The next text message, parsed; pings are answered, pongs skipped. Any other frame
        fails the test, but a close frame (or EOF) raises WsClosed."""
        while True:
            try:
                op, data = self.recv()
            except ConnectionError:
                raise WsClosed(None, "EOF")
            if op == 0x8:
                raise WsClosed(data, self.close_reason)
            if op == 0x9:
                self.send(data, opcode=0xA)
                continue
            if op == 0xA:
                continue
            if op != 0x1:
                fail("a text frame expected, got opcode %d: %r" % (op, data[:200]))
            return json.loads(data)

    def recv_close(self):
        """Reads (and drops) messages until the peer closes: the close code, None when the
        connection ended without one (EOF, reset or the socket's timeout)."""
        try:
            while True:
                op, data = self.recv()
                if op == 0x8:
                    return data
                if op == 0x9:
                    self.send(data, opcode=0xA)
        except (ConnectionError, socket.timeout):
            return None

    def close(self, code=None):
        """Closes the socket; with code, after a close frame with that code."""
        if code is not None:
            try:
                self.send(struct.pack("!H", code), opcode=0x8)
            except OSError:
                pass
        self.sock.close()


def away_server(work, user="agent1", password="s3cret-pass"):
    """A srvmon-server with the account, started once to get a port, then stopped: the
    agent starts against a server that is away; Server(work, port=s.port) brings it back
    on the same port and database."""
    server = Server(work)
    server.add_user(user, password)
    server.start()
    server.stop()
    return server


def mount_tmpfs(path, size):
    """mkdir path and mount a tmpfs of size (mount's syntax, e.g. "32k") on it, mode 0700.
    The caller unmounts it (umount path) in its finally."""
    os.mkdir(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                   check=True)


def write_config(work, text, name="agent.conf", mode=0o600):
    path = work.file(name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def agent_config(server, client_id="agent1", password="s3cret-pass", extra="", history=None,
                 work=None):
    """An agent config for server (its port; its Workdir holds the agent's state_dir, or
    work's: for a server with no Workdir of its own, such as a FakeServer).
    history: None keeps the exec history off (it sees every exec on the machine);
    otherwise the body of a [history] section that enables it."""
    work = work or server.work
    if history is None:
        extra += "\n[history]\nenabled = false\n"
    else:
        extra += "\n[history]\nenabled = true\n" + history
    return """[server]
server_address = 127.0.0.1
server_port = %d
client_id = %s
password = %s
reconnect_max = 5s

[agent]
state_dir = %s
status_interval = 2s
# No pins in the shared /sys/fs/bpf/srvmon: tests that want them set their own dir.
bpf_pin_dir =

[resources]
interval = 1s

[network]
interval = 1s
%s""" % (server.port, client_id, password, work.file("state"), extra)


# Sampling every 200 ms (~10 records/s): agent_config(...).split("[resources]")[0] +
# FAST_SAMPLING (it replaces agent_config()'s own [resources], [network] and [history]).
FAST_SAMPLING = """
[resources]
interval = 200ms

[network]
interval = 200ms

# agent_config()'s own [history] section is cut off with the rest above.
[history]
enabled = false
"""


def host_agent(port, host_id, fast=False):
    """An Agent (not started) of the server at 127.0.0.1:port with host_id, in a Workdir of
    its own (its state dir: the second value returned); fast: FAST_SAMPLING."""
    import types
    w = Workdir(prefix="srvmon-agent-%s-" % host_id)
    cfg = agent_config(types.SimpleNamespace(port=port, work=w))
    if fast:
        cfg = cfg.split("[resources]")[0] + FAST_SAMPLING
    cfg = cfg.replace("[agent]\n", "[agent]\nhost_id = %s\n" % host_id)
    return Agent(w, write_config(w, cfg)), w.file("state")


def stored_seqs(target, host_id):
    """The seqs of host_id stored in the database target (db_rows), ascending."""
    return sorted(int(s) for (s,) in db_rows(target, "SELECT seq FROM records WHERE host_id = ?",
                                             (host_id,)))


def spool_acked(state_dir):
    """The cumulative ack an agent's spool has recorded (its acked file, written every
    second), 0 before the first."""
    try:
        with open(os.path.join(state_dir, "spool", "acked"), "rb") as f:
            raw = f.read(8)
        return struct.unpack("<Q", raw)[0] if len(raw) == 8 else 0
    except FileNotFoundError:
        return 0


def check_each_seq_once(target, state_dirs):
    """Once the agents have stopped: no (host_id, seq) is stored twice in target, and for
    each host_id -> agent state dir of state_dirs, the stored seqs and those still in the
    agent's spool together leave no gap."""
    dups = db_rows(target, "SELECT host_id, seq, count(*) FROM records GROUP BY host_id, seq"
                   " HAVING count(*) > 1")
    check(dups == [], "no (host_id, seq) stored twice: %r" % dups[:5])
    for host, state in state_dirs.items():
        stored = stored_seqs(target, host)
        left = spool_records(os.path.join(state, "spool"))
        every = sorted(set(stored) | set(left))
        check(stored and every == list(range(every[0], every[-1] + 1)),
              "%s: %d stored (%s..%s) + %d still spooled: every seq, no gap" % (
                  host, len(stored), stored[0] if stored else "-",
                  stored[-1] if stored else "-", len(left)))


class Agent:
    def __init__(self, work, config_path, args=(), env=None, prefix=(), log_name="agent.log"):
        """env: extra environment variables; prefix: command run before the agent's
        (e.g. a sh -c wrapper that exports the PID it execs into)."""
        self.work = work
        self.config = config_path
        self.args = list(args)
        self.env = env
        self.prefix = list(prefix)
        self.proc = None
        self.log_path = work.file(log_name)

    def start(self):
        self.log = open(self.log_path, "a")
        env = None
        if self.env:
            env = dict(os.environ)
            env.update(self.env)
        self.proc = subprocess.Popen(self.prefix + [AGENT, "--config", self.config] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        _STARTED.append(self.proc)
        return self

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("agent did not stop within 20 s of SIGTERM")
        elif self.proc:
            rc = self.proc.returncode
        if self.proc:
            self.log.close()
            check_sanitizers("srvmon-agent", self.read_log())
        self.proc = None
        return rc


@contextlib.contextmanager
def served(user="agent1", password="s3cret-pass", **server_args):
    """A Workdir and a started srvmon-server holding the account user/password (server_args:
    more arguments of Server, e.g. extra=[...]). Yields (work, server, agents): the test
    appends each Agent it starts to agents; on the way out, however the test ends, those
    still running are stopped (their logs checked for sanitizer reports), then the server."""
    work = Workdir()
    server = Server(work, **server_args)
    agents = []
    try:
        server.add_user(user, password)
        server.start()
        yield work, server, agents
    finally:
        for agent in agents:
            agent.stop()
        server.stop()


def history_agent(work, server, history):
    """Starts an agent of server (user agent1) with the [history] lines history and waits
    up to 30 s for a status record that says the history module runs."""
    agent = Agent(work, write_config(work, agent_config(server, history=history))).start()
    wait_for(lambda: any(m.get("modules", {}).get("history", {}).get("state") == "running"
                         for m in server.records("status")), 30, "history module running")
    return agent


def meminfo_bytes(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def machine_id():
    with open("/etc/machine-id") as f:
        return f.read().strip()


def spool_records(spool_dir):
    """Seqs of the whole records in an agent's spool directory (user/delivery/spool.h format)."""
    import struct
    seqs = []
    try:
        names = sorted(n for n in os.listdir(spool_dir) if n.endswith(".seg"))
    except FileNotFoundError:
        return seqs
    for name in names:
        try:
            with open(os.path.join(spool_dir, name), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        off = 0
        while off + 16 <= len(data):
            length, _crc, seq = struct.unpack_from("<IIQ", data, off)
            if off + 16 + length > len(data):
                break
            seqs.append(seq)
            off += 16 + length
    acked = 0
    try:
        with open(os.path.join(spool_dir, "acked"), "rb") as f:
            raw = f.read(8)
            if len(raw) == 8:
                acked = struct.unpack("<Q", raw)[0]
    except FileNotFoundError:
        pass
    return [s for s in seqs if s > acked]
