"""A misbehaving monitoring server for the agent's bad-input tests, on 127.0.0.1 only.

Plain sockets and threads from the standard library: an HTTP token endpoint and a
WebSocket (RFC 6455) endpoint whose behaviour the test chooses per connection. Every
socket and thread is closed by stop().
"""
import base64
import hashlib
import json
import socket
import struct
import threading
import time

# The WebSocket client of the tests lives in srvmon_testlib; importable from here too, for the
# tests written before it moved (remove after the next release).
from srvmon_testlib import WsClient  # noqa: F401

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


FORGED = "\n<0>forged line"  # what error_flood's messages carry: a forged journald line
ERROR_FLOOD = 5000
ENDLESS_FRAGMENTS = 600


def frame(opcode, payload, fin=True):
    """A server->client frame (unmasked; fin=False: a fragment that more are to follow)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = struct.pack("!BB", b0, n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126, n)
    else:
        head = struct.pack("!BBQ", b0, 127, n)
    return head + payload


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return buf


def read_frame(sock):
    """One client->server frame: (opcode, payload)."""
    b0, b1 = recv_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(sock, 8))[0]
    mask = recv_exact(sock, 4) if b1 & 0x80 else b"\0\0\0\0"
    data = bytearray(recv_exact(sock, n))
    for i in range(n):
        data[i] ^= mask[i % 4]
    return b0 & 0x0F, bytes(data)


class FakeServer:
    """modes: list of WebSocket behaviours, one per connection in order (the last repeats):
      "sink"           read and count frames, answer pings, never ack
      "garbage"        send invalid JSON, an unknown type, a binary frame, a JSON array,
                       then sink until 5 more text frames came, then close (1001)
      "oversize"       send a text frame of 1 MiB + 1 byte, then sink
      "never_read"     complete the handshake, then never read the socket again
      "close_NNNN"     close at once with code NNNN (4401: token expired, 1008: policy),
                       then read until the agent's close reply ("reply NNNN" event)
      "huge"           send one 2 MiB text frame, then sink
      "endless"        send a text message of ENDLESS_FRAGMENTS fragments of 4 KiB, none
                       with FIN, then sink (huge and endless write from a thread of their
                       own, so that the agent's close is read meanwhile)
      "giant"          send a text frame header that claims 2^62 bytes, and 4 MiB of it,
                       then sink (the agent drops the connection: "eof" event)
      "error_flood"    send ERROR_FLOOD error messages whose text holds FORGED, then like
                       garbage: 5 more text frames, close (1001)
      "ack_max"        send an ack for seq 2^64-1, then like garbage
      "welcome_absurd" send welcomes with max_frame 1e400, 2^64-1, -1, 0, then 1e15; then
                       like garbage, but closing only once a batch frame came (frames
                       written before the agent read the welcome are single), or after 30
      "refuse"         read one text frame, drop it, close with 1008 (a server that
                       accepted the WebSocket, then refuses its token)
      "ack"            like sink, and ack each text frame cumulatively (the seq of its
                       last record, a batch frame's included)
    token_hang: indexes (from 0) of the token requests left unanswered (kept open).
    token_error: when set, every token request is refused: 401 {"error": token_error}.
    welcome_max_frame: when set, every connection that reads starts with
      {"type":"welcome","batch":true,"max_frame":welcome_max_frame}.
    close_after: when set (also by assigning it later: each new connection takes the
      value of its start), a "sink" or "ack" connection stores that many text frames,
      then closes with close_code, as a server of its own (a FastAPI handler) would:
      the frames behind the last stored one are read and discarded until the agent's
      close reply, then the socket is closed."""

    def __init__(self, modes, token_hang=(), port=0, welcome_max_frame=None, token_error=None,
                 close_after=None, close_code=1012):
        self.modes = list(modes)
        self.token_hang = set(token_hang)
        self.token_error = token_error
        self.welcome_max_frame = welcome_max_frame
        self.close_after = close_after
        self.close_code = close_code
        self.lock = threading.Lock()
        self.frames = []  # (connection index, text) of every text frame received
        self.ws_connections = 0
        self.token_requests = 0
        self.token_times = []  # time.monotonic() of each token request
        self.events = []  # (connection index, what) for the test's assertions
        self.socks = []
        self.threads = []
        self.stopping = False
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]

    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def stop(self):
        self.stopping = True
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self.threads:
            t.join(timeout=10)

    def count_frames(self, conn=None):
        with self.lock:
            return len([f for f in self.frames if conn is None or f[0] == conn])

    def seqs(self):
        """The seq of every record received (a batch frame's included), duplicates kept."""
        out = []
        with self.lock:
            texts = [f[1] for f in self.frames]
        for text in texts:
            msg = json.loads(text)
            for rec in msg["records"] if msg.get("type") == "batch" else [msg]:
                out.append(rec["seq"])
        return out

    def _accept_loop(self):
        while not self.stopping:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                self.socks.append(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, sock):
        try:
            self._serve_one(sock)
        except (ConnectionError, OSError, ValueError, KeyError):
            pass

    def _read_request(self, sock):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the headers")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if len(rest) < n:
            rest += recv_exact(sock, n - len(rest))
        return lines[0].split(" "), headers, rest

    def _serve_one(self, sock):
        (method, path, _), headers, _body = self._read_request(sock)
        if method == "POST" and path == "/token":
            with self.lock:
                hang = self.token_requests in self.token_hang
                self.token_requests += 1
                self.token_times.append(time.monotonic())
                if hang:
                    self.events.append((self.ws_connections, "token_hang"))
            if hang:
                while not self.stopping:  # never answer; the agent must time out
                    time.sleep(0.1)
                return
            status = b"200 OK"
            body = json.dumps({"access_token": "fake-token", "token_type": "bearer",
                               "expires_in": 3600}).encode()
            if self.token_error is not None:
                status = b"401 Unauthorized"
                body = json.dumps({"error": self.token_error}).encode()
            sock.sendall(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (status, len(body), body))
            return
        if path != "/ws" or "sec-websocket-key" not in headers:
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        accept = base64.b64encode(hashlib.sha1(
            (headers["sec-websocket-key"] + WS_GUID).encode()).digest()).decode()
        with self.lock:
            idx = self.ws_connections
            self.ws_connections += 1
            mode = self.modes[min(idx, len(self.modes) - 1)]
            close_after = self.close_after
            self.events.append((idx, "open " + mode))
        if mode == "never_read":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        proto = headers.get("sec-websocket-protocol")
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n"
                      % (accept, "Sec-WebSocket-Protocol: %s\r\n" % proto.split(",")[0].strip()
                         if proto else "")).encode())
        if mode == "never_read":
            while not self.stopping:
                time.sleep(0.1)
            return
        if mode.startswith("close_"):
            code = int(mode[len("close_"):])
            sock.sendall(frame(0x8, struct.pack("!H", code) + b"closed by the fake server"))
            sock.settimeout(5)
            while True:
                op, data = read_frame(sock)
                if op == 0x8:
                    reply = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                    with self.lock:
                        self.events.append((idx, "reply %s" % reply))
                    return
        if mode == "refuse":
            sock.settimeout(10)
            while read_frame(sock)[0] != 0x1:
                pass
            sock.sendall(frame(0x8, struct.pack("!H", 1008) + b"invalid token"))
            with self.lock:
                self.events.append((idx, "refused"))
            time.sleep(0.5)
            return
        if self.welcome_max_frame is not None:
            sock.sendall(frame(0x1, json.dumps({"type": "welcome", "batch": True,
                                                "max_frame": self.welcome_max_frame}).encode()))
        if mode == "garbage":
            sock.sendall(frame(0x1, b"{not json"))
            sock.sendall(frame(0x1, b'{"type":"surprise","seq":1}'))
            sock.sendall(frame(0x2, b"\x00\x01\x02binary"))
            sock.sendall(frame(0x1, b"[1,2,3]"))
        if mode == "oversize":
            sock.sendall(frame(0x1, b'"' + b"x" * (1024 * 1024 - 1) + b'"'))
        sender = None
        if mode == "huge":
            sender = self._send_in_thread(sock, [frame(0x1, b"x" * (2 * 1024 * 1024))])
        if mode == "endless":
            frags = [frame(0x1 if i == 0 else 0x0, b"y" * 4096, fin=False)
                     for i in range(ENDLESS_FRAGMENTS)]
            sender = self._send_in_thread(sock, frags)
        if mode == "giant":
            sender = self._send_in_thread(sock, [struct.pack("!BBQ", 0x81, 127, 1 << 62)]
                                          + [b"z" * 65536] * 64)
        if mode == "error_flood":
            msg = frame(0x1, json.dumps({"type": "error", "error": "flood" + FORGED}).encode())
            sock.sendall(msg * ERROR_FLOOD)
        if mode == "ack_max":
            sock.sendall(frame(0x1, b'{"type":"ack","seq":18446744073709551615}'))
        if mode == "welcome_absurd":
            for mf in ("1e400", "18446744073709551615", "-1", "0", "1e15"):
                sock.sendall(frame(0x1, ('{"type":"welcome","batch":true,"max_frame":%s}'
                                         % mf).encode()))
        got = 0
        batched = False
        while not self.stopping:
            if mode == "welcome_absurd" and not batched and got < 30:
                pass
            elif mode in ("garbage", "error_flood", "ack_max", "welcome_absurd") and got >= 5:
                sock.sendall(frame(0x8, struct.pack("!H", 1001)))
                with self.lock:
                    self.events.append((idx, "closed by server"))
                return
            try:
                op, data = read_frame(sock)
            except (ConnectionError, OSError):
                with self.lock:
                    self.events.append((idx, "eof"))
                raise
            if op == 0x9:
                sock.sendall(frame(0xA, data))
            elif op == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                with self.lock:
                    self.events.append((idx, "close %s" % code))
                if sender is None or not sender.is_alive():
                    sock.sendall(frame(0x8, data[:2]))
                # else: a reply now would land inside the frame being written
                return
            elif op == 0x1:
                got += 1
                batched = batched or data.startswith(b'{"type":"batch"')
                with self.lock:
                    self.frames.append((idx, data.decode("utf-8", "replace")))
                if mode == "ack":
                    msg = json.loads(data)
                    last = msg["records"][-1] if msg.get("type") == "batch" else msg
                    sock.sendall(frame(0x1, json.dumps({"type": "ack",
                                                        "seq": last["seq"]}).encode()))
                if close_after and got >= close_after:
                    self._close_after(sock, idx, close_after)
                    return

    def _close_after(self, sock, idx, n):
        """Closes with close_code; what arrives until the agent's close reply is dropped."""
        sock.sendall(frame(0x8, struct.pack("!H", self.close_code)))
        with self.lock:
            self.events.append((idx, "closed after %d frames" % n))
        sock.settimeout(5)
        try:
            while read_frame(sock)[0] != 0x8:
                pass
        except (ConnectionError, OSError):
            pass
        with self.lock:
            if sock in self.socks:
                self.socks.remove(sock)
        sock.close()


    def _send_in_thread(self, sock, frames):
        def send():
            try:
                for f in frames:
                    sock.sendall(f)
            except OSError:
                pass  # the agent closed the connection: expected

        t = threading.Thread(target=send, daemon=True)
        t.start()
        with self.lock:
            self.threads.append(t)
        return t
