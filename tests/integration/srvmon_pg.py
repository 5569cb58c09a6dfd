"""A private PostgreSQL 15 (Debian's postgresql-15) for the integration tests.

PgCluster: initdb + pg_ctl as user postgres (runuser -u postgres --: the tests run as root),
data directory and Unix socket in a fresh temp dir, listen_addresses='' (no TCP at all),
trust authentication for the local socket. database(name) creates a fresh database and
returns its postgresql:// URL for srvmon-server's --db; query_url() runs SQL on one with psql.
stop()/start() take the server away and bring it back on the same data (the outage tests);
remove() stops it and deletes the temp dir. Every wait is bounded.

cluster() is the one cluster of this test process, started on first use and removed at
exit, however the test ends: sys.exit (fail()), an exception, KeyboardInterrupt or SIGTERM
(ctest's timeout) all run atexit.
"""
import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

PG_USER = "postgres"
WAIT_S = 30  # pg_ctl's bound for start and stop


def pg_bindir():
    """The directory of initdb and pg_ctl: postgresql-15's, else the newest installed."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    preferred = "/usr/lib/postgresql/15/bin"
    if os.path.exists(os.path.join(preferred, "initdb")):
        return preferred
    for d in reversed(dirs):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                       "(scripts/install-deps.sh installs postgresql-15)")


def _as_postgres(cmd, timeout, **kw):
    return subprocess.run(["runuser", "-u", PG_USER, "--"] + cmd, capture_output=True,
                          text=True, timeout=timeout, **kw)


class PgCluster:
    def __init__(self, fsync=False, settings=None):
        """fsync: False for the tests (faster; a crash of the machine is not what they test),
        True for benchmarks. settings: more postgresql.conf lines (name -> value)."""
        self.bindir = pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="srvmon-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.running = False
        self._n = 0
        pw = pwd.getpwnam(PG_USER)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        try:
            r = _as_postgres([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U",
                              PG_USER, "-A", "trust", "-E", "UTF8", "--locale=C",
                              "--no-sync"], timeout=120)
            if r.returncode != 0:
                raise RuntimeError("initdb failed (%d): %s%s" % (r.returncode, r.stdout,
                                                                 r.stderr))
            conf = {"listen_addresses": "''", "unix_socket_directories": "'%s'" % self.dir,
                    "fsync": "on" if fsync else "off",
                    "full_page_writes": "on" if fsync else "off",
                    "max_connections": "200", "logging_collector": "off"}
            conf.update(settings or {})
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                for k, v in conf.items():
                    f.write("%s = %s\n" % (k, v))
            self.start()
        except BaseException:
            self.remove()
            raise

    @property
    def pid(self):
        """The postmaster's PID (from postmaster.pid), None when it is not running."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def start(self):
        r = _as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l",
                          self.log_path, "-w", "-t", str(WAIT_S), "start"], timeout=WAIT_S + 10)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed (%d): %s%s\n%s" % (
                r.returncode, r.stdout, r.stderr, self.read_log()[-3000:]))
        self.running = True

    def stop(self, mode="fast"):
        """Stops the server (mode: smart, fast or immediate); SIGKILL to the postmaster when
        pg_ctl does not manage within its bound."""
        if not self.running:
            return
        pid = self.pid
        try:
            r = _as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", mode,
                              "-w", "-t", str(WAIT_S), "stop"], timeout=WAIT_S + 10)
            ok = r.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        if not ok and pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.path.exists("/proc/%d" % pid):
                time.sleep(0.05)
        self.running = False

    def remove(self):
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def url(self, dbname):
        """The URL srvmon-server's --db takes: the socket directory as the host."""
        return "postgresql://%s@%s/%s" % (PG_USER, urllib.parse.quote(self.dir, safe=""),
                                          dbname)

    def query(self, dbname, sql, variables=None):
        """The rows of sql in dbname (query_url)."""
        return query_url(self.url(dbname), sql, variables)

    def database(self, prefix="t"):
        """A new empty database: its URL."""
        self._n += 1
        name = "%s%d_%d" % (prefix, os.getpid(), self._n)
        self.query("postgres", "CREATE DATABASE %s;" % name)
        return self.url(name)


def dbname_of(url):
    """The database name of a URL made by PgCluster.url()."""
    return urllib.parse.urlsplit(url).path.lstrip("/")


def query_url(url, sql, variables=None, timeout=60):
    """The rows of sql (read by psql from stdin, so :'name' variables are interpolated) on
    the database of a URL made by PgCluster.url(), as lists of strings (None for NULL).
    RuntimeError when psql fails."""
    parts = urllib.parse.urlsplit(url)
    host = urllib.parse.unquote(parts.netloc.rpartition("@")[2])
    cmd = ["psql", "-X", "-q", "-h", host, "-U", PG_USER, "-d", dbname_of(url), "-v",
           "ON_ERROR_STOP=1", "-A", "-t", "-F", "\x1f", "-R", "\x1e", "-P", "null=\x01"]
    for k, v in (variables or {}).items():
        cmd += ["-v", "%s=%s" % (k, v)]
    r = subprocess.run(cmd, input=sql, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("psql on %s failed (%d): %s" % (url, r.returncode, r.stderr))
    out = r.stdout[:-1] if r.stdout.endswith("\n") else r.stdout
    return [[None if f == "\x01" else f for f in row.split("\x1f")]
            for row in out.split("\x1e") if row != ""]


_CLUSTER = None


def _on_sigterm(signum, frame):
    testlib = sys.modules.get("srvmon_testlib")
    if testlib:
        testlib.mark_failed()  # keep the test's Workdirs: it did not finish
    sys.exit(128 + signum)  # raises SystemExit: finally blocks and atexit run


def cluster(at_exit=True):
    """The cluster of this test process, started on first use. at_exit: removed at exit by
    an atexit handler of its own; False: the caller calls remove_cluster() (srvmon_testlib
    does, after it has ended the processes that use it)."""
    global _CLUSTER
    if _CLUSTER is None:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
        _CLUSTER = PgCluster()
        if at_exit:
            atexit.register(remove_cluster)
    return _CLUSTER


def remove_cluster():
    global _CLUSTER
    if _CLUSTER is not None:
        _CLUSTER.remove()
        _CLUSTER = None


if __name__ == "__main__":
    # A cluster for a shell session: prints a database URL, runs until Enter or Ctrl-C.
    c = cluster()
    print(c.database("manual"), flush=True)
    try:
        sys.stdin.readline()
    except KeyboardInterrupt:
        pass
