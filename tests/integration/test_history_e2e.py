"""Exec history end to end: real execs on this machine -> BPF -> srvmon-agent ->
srvmon-server's database, compared argument for argument; then `srvmon-agent history`
on the trail the agent wrote."""
import base64
import fcntl
import json
import os
import pty
import shutil
import subprocess
import sys
import termios
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (AGENT, check, fail, history_agent, served,  # noqa: E402
                            wait_for)

MARK = "srvmon-hist-" + uuid.uuid4().hex[:12]


def exact_argv(rec):
    """The exact argument bytes of a record (argv_b64 when one is not UTF-8)."""
    if "argv_b64" in rec:
        return [base64.b64decode(a) for a in rec["argv_b64"]]
    return [a.encode() for a in rec["argv"]]


def tag_of(rec):
    args = exact_argv(rec)
    for i, a in enumerate(args):
        if a == MARK.encode() and i + 1 < len(args):
            return args[i + 1].decode(errors="replace")
    return None


def main():
    with served() as (work, server, agents):
        trail = work.file("log/exec.jsonl")
        agent = history_agent(work, server, "trail_path = %s\n" % trail)
        agents.append(agent)
        cfg = agent.config

        def run(argv, tag, **kw):
            """Runs argv; the expected argv as bytes, keyed by tag."""
            subprocess.run(argv, check=False, stdout=subprocess.DEVNULL, timeout=30, **kw)
            return tag

        expected = {}   # tag -> (argv bytes, extra checks)
        true = shutil.which("true")

        # 1. awkward bytes: spaces, quotes, tab, newline, unicode, empty, not UTF-8
        args = [true, MARK, "chars", "two words", "q\"uo'te", "tab\there", "new\nline",
                "é", "日本", "", "back\\slash"]
        run(args, "chars")
        expected["chars"] = [a.encode() for a in args]
        raw = [true.encode(), MARK.encode(), b"raw", b"\xff\xfe\x80 not utf-8"]
        run(raw, "raw")
        expected["raw"] = raw
        # 2. 200 arguments, one of 20 KiB
        args = [true, MARK, "many"] + ["arg%d" % i for i in range(200)]
        run(args, "many")
        expected["many"] = [a.encode() for a in args]
        big = "x" * 20480
        args = [true, MARK, "big", big]
        run(args, "big")
        expected["big"] = [a.encode() for a in args]
        # 3. a shebang script run by path: the kernel passes interpreter + script path
        script = work.file("script.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(script, 0o755)
        run([script, MARK, "shebang"], "shebang")
        expected["shebang"] = [b"/bin/sh", script.encode(), MARK.encode(), b"shebang"]
        # 4. sh -c: the shell's own argv, and the command it runs
        cmd = "%s %s shc-child 'a b'" % (true, MARK)
        run(["/bin/sh", "-c", cmd + "; exit 0"], None)
        expected["shc-child"] = [true.encode(), MARK.encode(), b"shc-child", b"a b"]
        # 5. as another user
        run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", true, MARK,
             "nobody"], "nobody")
        expected["nobody"] = [true.encode(), MARK.encode(), b"nobody"]
        # 6. in a new pid namespace: the host pid is reported, not 1
        p = subprocess.Popen(["unshare", "--pid", "--fork", true, MARK, "pidns"])
        p.wait(timeout=30)
        unshare_pid = p.pid
        expected["pidns"] = [true.encode(), MARK.encode(), b"pidns"]
        # 7. under a pseudo-terminal that is the controlling tty
        master, slave = pty.openpty()
        pts = os.ttyname(slave)

        def ctty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        subprocess.run([true, MARK, "tty"], stdin=slave, stdout=slave, stderr=slave,
                       preexec_fn=ctty, timeout=30)
        os.close(slave)
        os.close(master)
        expected["tty"] = [true.encode(), MARK.encode(), b"tty"]
        # 8. execveat through an fd (fexecve)
        code = ("import os; fd = os.open(%r, os.O_RDONLY); "
                "os.execve(fd, ['true-fd', %r, 'fexecve', 'x y'], {})" % (true, MARK))
        run([sys.executable, "-c", code], "fexecve")
        expected["fexecve"] = [b"true-fd", MARK.encode(), b"fexecve", b"x y"]
        # 9. a missing path: a failed exec with ret = -2
        missing = work.file("no-such-program")
        try:
            subprocess.run([missing, MARK, "missing"], timeout=30)
        except FileNotFoundError:
            pass
        expected["missing"] = [missing.encode(), MARK.encode(), b"missing"]
        # 10. cwd
        os.makedirs(work.file("dir with space/sub"))
        cwd = work.file("dir with space/sub")
        run([true, MARK, "cwd"], "cwd", cwd=cwd)
        expected["cwd"] = [true.encode(), MARK.encode(), b"cwd"]

        def mine():
            out = {}
            for r in server.records("exec"):
                t = tag_of(r)
                if t in expected:
                    out[t] = r
            return out if len(out) == len(expected) else None

        got = wait_for(mine, 30, "every exec record in the server's database")
        for tag, argv in expected.items():
            r = got[tag]
            check(exact_argv(r) == argv, "%s: argv identical, argument for argument" % tag)
            check(r["argv_truncated"] is False, "%s: not truncated" % tag)
            check(r["argv_size"] >= sum(len(a) + 1 for a in argv) or tag == "missing",
                  "%s: argv_size %d is the original size" % (tag, r["argv_size"]))
            for k in ("pid", "ppid", "uid", "gid", "user", "auid", "sessionid", "tty", "cwd",
                      "filename", "comm", "cgroup_id", "ts", "mono_ns", "ret"):
                if k not in r:
                    fail("%s: field %s missing in %s" % (tag, k, r))
        check(got["big"]["argv_size"] > 20480, "20 KiB argument kept whole")
        check("argv_b64" in got["raw"] and "\ufffd" in got["raw"]["argv"][3],
              "non-UTF-8 argument: repaired text plus exact base64")
        check(got["shebang"]["filename"] == script, "shebang: filename is the script")
        check(got["nobody"]["uid"] == 65534 and got["nobody"]["user"] == "nobody",
              "other user: uid 65534 named nobody")
        check(got["chars"]["uid"] == 0 and got["chars"]["user"] == "root", "root named root")
        check(got["pidns"]["pid"] != 1 and got["pidns"]["ppid"] == unshare_pid,
              "pid namespace: host pid %d, parent is unshare %d" %
              (got["pidns"]["pid"], unshare_pid))
        check(got["tty"]["tty"] == pts[len("/dev/"):],
              "tty named %r like %s" % (got["tty"]["tty"], pts))
        check(got["chars"]["tty"] == "", "no tty: empty")
        check(got["fexecve"]["filename"].startswith("/dev/fd/"), "execveat: /dev/fd path")
        check(got["missing"]["ret"] == -2 and got["missing"]["filename"] == missing,
              "failed exec: ret -2 and the attempted path")
        check(all(got[t]["ret"] == 0 for t in expected if t != "missing"), "others ret 0")
        check(got["cwd"]["cwd"] == os.path.realpath(cwd), "cwd %r" % got["cwd"]["cwd"])
        check(abs(got["chars"]["ts"] / 1000 - time.time()) < 120, "ts is Unix ms")
        st = server.records("status")[-1]
        check(isinstance(st.get("events_lost"), int), "status has events_lost")

        # The trail and `srvmon-agent history`.
        def in_trail():
            with open(trail) as f:
                return sum(1 for line in f if MARK in line) >= len(expected)
        wait_for(in_trail, 10, "the trail")
        r = subprocess.run([AGENT, "history", "--config", cfg, "-n", "100000", "--since", "1h"],
                           capture_output=True, timeout=30)
        check(r.returncode == 0, "history exits 0: %s" % r.stderr.decode(errors="replace"))
        out = r.stdout.decode()
        lines = [ln for ln in out.splitlines() if MARK in ln]
        check(out.splitlines()[0].split() == ["TIME", "USER", "TTY", "CWD", "COMMAND"],
              "history table header")
        want = ("%s %s chars 'two words' 'q\"uo'\\''te' $'tab\\there' $'new\\nline' "
                "'\u00e9' '\u65e5\u672c' '' 'back\\slash'" % (true, MARK))
        check(any(ln.endswith(want) for ln in lines), "command line quoted for the shell")
        check(any(ln.endswith("%s %s raw $'\\xff\\xfe\\x80 not utf-8'" % (true, MARK))
                  for ln in lines), "non-UTF-8 bytes quoted exactly")
        check(any(" nobody " in ln and ln.endswith("nobody") for ln in lines),
              "user column")
        check(any(ln.endswith("missing  # failed: No such file or directory")
                  for ln in lines), "failed exec marked")
        # The quoted line, pasted into a shell, gives the same argv back.
        line = [ln for ln in lines if ln.endswith(want)][0]
        cmdline = line[line.index(true):]
        back = subprocess.run(["bash", "-c", "printf '%s\\0' " + cmdline[len(true):]],
                              capture_output=True, timeout=30).stdout
        check(back.split(b"\0")[:-1] == expected["chars"][1:], "pasted back: same argv")
        r = subprocess.run([AGENT, "history", "--config", cfg, "--json", "--user", "nobody"],
                           capture_output=True, timeout=30)
        recs = [json.loads(ln) for ln in r.stdout.splitlines()]
        check(r.returncode == 0 and recs and all(x["user"] == "nobody" for x in recs),
              "history --json --user nobody: %d records, all nobody's" % len(recs))
        rc = agent.stop()
        check(rc == 0, "agent exits 0")


if __name__ == "__main__":
    main()
