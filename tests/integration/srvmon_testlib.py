"""Helpers for the integration tests: a real srvmon-server and srvmon-agent on loopback.

Every process is started here and ended here, by PID. Nothing leaves 127.0.0.1.
"""
import atexit
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

AGENT = os.environ.get("SRVMON_AGENT", "build/user/srvmon-agent")
SERVER = os.environ.get("SRVMON_SERVER", "build/server/srvmon-server")


# Every process a test starts through this module, so that a failing test (fail()
# exits) still ends them: by PID, only ours.
_STARTED = []


def _end_started():
    for proc in _STARTED:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


atexit.register(_end_started)


def fail(msg):
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


class Workdir:
    def __init__(self, prefix="srvmon-it-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def file(self, name):
        return os.path.join(self.path, name)


class Server:
    """srvmon-server serve on 127.0.0.1 with its own SQLite database."""

    def __init__(self, work, port=0, token_lifetime=None, extra=(), listen="127.0.0.1",
                 netns=None):
        self.work = work
        self.db = work.file("srvmon.db")
        self.port = port
        self.token_lifetime = token_lifetime
        self.extra = list(extra)
        self.listen = listen  # an address inside netns when netns is set
        self.netns = netns  # run inside this network namespace (ip netns exec)
        self.proc = None
        self.log_path = work.file("server.log")

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
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
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

    @property
    def base_url(self):
        return "http://%s:%d" % (self.listen, self.port)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
            check_sanitizers("srvmon-server", self.read_log())
        self.proc = None

    def records(self, rtype=None):
        """All stored records as parsed JSON bodies (exact integers), oldest seq first."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            rows = con.execute("SELECT body FROM records").fetchall()
        except sqlite3.OperationalError:
            rows = []
        finally:
            con.close()
        out = [json.loads(r[0]) for r in rows]
        if rtype:
            out = [r for r in out if r.get("type") == rtype]
        out.sort(key=lambda r: r["seq"])
        return out

    def stats(self):
        r = subprocess.run([SERVER, "stats", "--db", self.db], capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            fail("stats failed: %s" % r.stderr)
        return json.loads(r.stdout)


def server_token(server, user, password):
    """An access token from server's POST /token (password grant)."""
    import urllib.parse
    import urllib.request
    body = urllib.parse.urlencode({"grant_type": "password", "username": user,
                                   "password": password}).encode()
    req = urllib.request.Request(server.base_url + "/token", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["access_token"]


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


def agent_config(server, client_id="agent1", password="s3cret-pass", extra="", history=None):
    """history: None keeps the exec history off (it sees every exec on the machine);
    otherwise the body of a [history] section that enables it."""
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
%s""" % (server.port, client_id, password, server.work.file("state"), extra)


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
def served(user="agent1", password="s3cret-pass"):
    """A Workdir and a started srvmon-server holding the account user/password. Yields
    (work, server, agents): the test appends each Agent it starts to agents; on the way
    out, however the test ends, those still running are stopped (their logs checked for
    sanitizer reports), then the server."""
    work = Workdir()
    server = Server(work)
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
