"""Batched frames (docs/protocol.md, "welcome"): the agent sends {"type":"batch"} frames only
to a server that welcomed them, within its max_frame and 1,000 records, in seq order; every
seq arrives exactly once. Part 1: a fake server that welcomes batches (max_frame 16 KiB) and
one that does not. Part 2: the real srvmon-server stores every seq of an exec storm once."""
import base64
import hashlib
import json
import os
import socket
import sqlite3
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srvmon_testlib import (Agent, Server, Workdir, agent_config, check, fail,  # noqa: E402
                            wait_for, write_config)
from srvmon_fakeserver import frame, read_frame, recv_exact  # noqa: E402

MAX_FRAME = 16384
EXECS = 400
MARK = "srvmon-batch-" + uuid.uuid4().hex[:12]
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class AckingServer:
    """Token endpoint and WebSocket on 127.0.0.1; acks cumulatively after each frame;
    sends a welcome with batch:true first when welcome is set. Keeps every frame."""

    def __init__(self, work, welcome):
        self.work = work
        self.welcome = welcome
        self.frames = []
        self.lock = threading.Lock()
        self.socks = []
        self.stopping = False
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.socks.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
            head, rest = data.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            hdr = {k.strip().lower(): v.strip()
                   for k, _, v in (ln.partition(":") for ln in lines[1:])}
            method, path = lines[0].split(" ")[:2]
            if method == "POST" and path == "/token":
                n = int(hdr.get("content-length", "0"))
                if len(rest) < n:
                    recv_exact(sock, n - len(rest))
                body = json.dumps({"access_token": "t", "token_type": "bearer",
                                   "expires_in": 3600}).encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (len(body), body))
                return
            accept = base64.b64encode(hashlib.sha1(
                (hdr["sec-websocket-key"] + WS_GUID).encode()).digest()).decode()
            proto = hdr.get("sec-websocket-protocol")
            sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
                          % (accept, "Sec-WebSocket-Protocol: %s\r\n" % proto.split(",")[0]
                             if proto else "")).encode())
            if self.welcome:
                sock.sendall(frame(0x1, json.dumps({"type": "welcome", "batch": True,
                                                    "max_frame": MAX_FRAME}).encode()))
            while not self.stopping:
                op, data = read_frame(sock)
                if op == 0x9:
                    sock.sendall(frame(0xA, data))
                elif op == 0x8:
                    sock.sendall(frame(0x8, data[:2]))
                    return
                elif op == 0x1:
                    msg = json.loads(data)
                    recs = msg["records"] if msg.get("type") == "batch" else [msg]
                    with self.lock:
                        self.frames.append((len(data), msg.get("type"), recs))
                    sock.sendall(frame(0x1, json.dumps({"type": "ack",
                                                        "seq": recs[-1]["seq"]}).encode()))
        except (ConnectionError, OSError, ValueError, KeyError):
            pass

    def records(self):
        with self.lock:
            return [r for f in self.frames for r in f[2]]

    def stop(self):
        self.stopping = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def storm(tag):
    env = {"PATH": "/usr/bin:/bin"}
    for i in range(EXECS):
        os.posix_spawn("/bin/true", ["/bin/true", tag, str(i)], env)
        os.wait()


def marked(recs, tag):
    return [r for r in recs if r.get("type") == "exec" and tag in r.get("argv", [])]


def run_fake(work, welcome):
    tag = "%s-%s" % (MARK, "w" if welcome else "n")
    srv = AckingServer(work, welcome)
    srv.work = work
    agent = None
    try:
        hist = "trail = false\n"
        conf = agent_config(srv, history=hist, extra="[spool]\ndir = %s\n"
                            % work.file("spool-%d" % welcome))
        agent = Agent(work, write_config(work, conf, name="agent-%d.conf" % welcome),
                      log_name="agent-%d.log" % welcome).start()
        wait_for(lambda: [r for r in srv.records() if r.get("type") == "status"
                          and r.get("modules", {}).get("history", {}).get("state")
                          == "running"], 30, "history running (fake server)")
        storm(tag)
        wait_for(lambda: len(marked(srv.records(), tag)) >= EXECS, 30,
                 "%d execs at the fake server" % EXECS)
        rc = agent.stop()
        check(rc == 0, "agent exit status %r" % rc)
        agent = None
        with srv.lock:
            frames = list(srv.frames)
        seqs = [r["seq"] for f in frames for r in f[2]]
        check(len(seqs) == len(set(seqs)), "every seq arrived once")
        check(seqs == sorted(seqs), "records in seq order")
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no seq missing")
        batches = [f for f in frames if f[1] == "batch"]
        if not welcome:
            check(not batches, "no batch frame to a server that did not welcome them")
            return len(frames), 0
        check(batches, "batch frames to a server that welcomed them")
        check(max(f[0] for f in batches) <= MAX_FRAME, "every batch frame within max_frame")
        check(max(len(f[2]) for f in batches) <= 1000, "at most 1000 records a batch")
        check(max(len(f[2]) for f in batches) > 1, "batches of several records")
        return len(frames), len(batches)
    finally:
        if agent:
            agent.stop()
        srv.stop()


def main():
    work = Workdir()
    frames_plain, _ = run_fake(work, welcome=False)
    frames_batch, nb = run_fake(work, welcome=True)
    print("fake server: %d frames without welcome, %d frames (%d batches) with"
          % (frames_plain, frames_batch, nb), flush=True)
    check(frames_batch < frames_plain, "fewer frames with batches")

    # The real srvmon-server: every seq of the storm stored exactly once.
    server = Server(work)
    agent = None
    tag = MARK + "-real"
    try:
        server.add_user("agent1", "s3cret-pass")
        server.start()
        conf = agent_config(server, history="trail = false\n")
        conf = conf.replace("[agent]\n", "[agent]\nlog_level = debug\n", 1)
        agent = Agent(work, write_config(work, conf, name="agent-real.conf"),
                      log_name="agent-real.log").start()
        wait_for(lambda: "takes batches" in agent.read_log(), 30,
                 "srvmon-server's welcome with batch:true")
        storm(tag)

        def stored():
            con = sqlite3.connect("file:%s?mode=ro" % server.db, uri=True, timeout=10)
            try:
                return con.execute("SELECT COUNT(*) FROM records WHERE body LIKE ?",
                                   ("%" + tag + "%",)).fetchone()[0]
            except sqlite3.OperationalError:
                return 0
            finally:
                con.close()

        wait_for(lambda: stored() >= EXECS, 60, "%d execs stored by srvmon-server" % EXECS)
        rc = agent.stop()
        check(rc == 0, "agent exit status %r" % rc)
        agent = None
        con = sqlite3.connect("file:%s?mode=ro" % server.db, uri=True, timeout=10)
        try:
            rows = con.execute("SELECT seq FROM records").fetchall()
        finally:
            con.close()
        # (host_id, seq) is UNIQUE in the database: no gap means each seq once.
        seqs = sorted(int(r[0]) for r in rows)
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "every seq stored, no gap")
        check(len(marked(server.records("exec"), tag)) == EXECS, "every exec of the storm stored")
        print("srvmon-server: %d records, seqs %d..%d, each once" % (len(seqs), seqs[0],
                                                                    seqs[-1]))
    finally:
        if agent:
            agent.stop()
        server.stop()
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        fail("%s: %s" % (type(e).__name__, e))
