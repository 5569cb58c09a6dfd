"""Headless Chromium driven over the DevTools protocol, with python's standard library only.

Browser() starts Debian's chromium with a throw-away profile and connects to its page
target over a WebSocket (the client side of RFC 6455 written here: socket, base64, masking
with os.urandom). Everything the page asks for outside loopback fails: the proxy is a
closed port on 127.0.0.1 (Chromium always bypasses proxies for loopback) and host names
do not resolve. The browser is ended by PID, however the test ends.
"""
import atexit
import base64
import hashlib
import json
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

CHROMIUM = os.environ.get("SRVMON_CHROMIUM", "chromium")

_STARTED = []


def _end_started():
    for b in _STARTED:
        b.close()


atexit.register(_end_started)


class BrowserError(Exception):
    pass


def _ws_guid_accept(key):
    return base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()


class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked), whole messages in."""

    def __init__(self, url, timeout=30):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)$", url)
        if not m:
            raise BrowserError("not a ws:// URL: %s" % url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        if host not in ("127.0.0.1", "localhost", "[::1]"):
            raise BrowserError("DevTools outside loopback: %s" % url)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n") % (path, host, port, key)
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BrowserError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise BrowserError("DevTools refused the upgrade: %s" % lines[0])
        accept = [l.split(":", 1)[1].strip() for l in lines[1:]
                  if l.lower().startswith("sec-websocket-accept:")]
        if accept != [_ws_guid_accept(key)]:
            raise BrowserError("bad Sec-WebSocket-Accept from DevTools")

    def send_text(self, text):
        payload = text.encode()
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        mask = os.urandom(4)
        # XOR with the repeated key, as one big integer (fast enough for CDP messages).
        key = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
        self.sock.sendall(header + mask + masked)

    def _read(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("DevTools: no message in time")
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise BrowserError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self, timeout):
        """The next whole text message, or TimeoutError."""
        deadline = time.monotonic() + timeout
        parts = []
        while True:
            b0, b1 = self._read(2, deadline)
            opcode, fin = b0 & 0x0F, b0 & 0x80
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2, deadline))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8, deadline))[0]
            if b1 & 0x80:
                raise BrowserError("DevTools sent a masked frame")
            payload = self._read(n, deadline)
            if opcode == 0x8:
                raise BrowserError("DevTools closed the WebSocket")
            if opcode == 0x9:  # ping: answer with a pong carrying the payload
                mask = os.urandom(4)
                masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
                self.sock.sendall(struct.pack("!BB", 0x8A, 0x80 | len(payload)) + mask + masked)
                continue
            if opcode == 0xA:
                continue
            parts.append(payload)
            if fin:
                return b"".join(parts).decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class PageWait:
    """wait() over the eval() of a browser class (Browser here, srvmon_firefox.Firefox)."""

    def wait(self, expression, timeout, what, interval=0.1):
        """Polls expression until it is truthy; returns its value, or fails with what."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                v = self.eval(expression)
            except BrowserError as e:
                v, last = None, e
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("timed out after %.0fs waiting for %s%s" % (
                    timeout, what, " (%s)" % last if last else ""))
            time.sleep(interval)


class Browser(PageWait):
    """One headless Chromium with one page. width x height is the viewport in CSS pixels."""

    def __init__(self, width=1280, height=800, log_path=None):
        if not shutil.which(CHROMIUM):
            raise BrowserError("%s not found (scripts/install-deps.sh installs chromium)"
                               % CHROMIUM)
        self.profile = tempfile.mkdtemp(prefix="srvmon-chromium-")
        self.log_path = log_path or os.path.join(self.profile, "chromium.log")
        self.log = open(self.log_path, "w")
        args = [CHROMIUM, "--headless", "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1", "--user-data-dir=" + self.profile,
                "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps",
                "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                "--no-pings", "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
                "--disable-dev-shm-usage",
                "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                # Nothing beyond loopback: a dead proxy for the rest, no name resolution.
                "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                "--window-size=%d,%d" % (width, height), "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.PIPE, text=True)
        _STARTED.append(self)
        self.ws = None
        self.events = []
        self.next_id = 0
        try:
            url = self._devtools_url()
            port = int(re.match(r"ws://127\.0\.0\.1:(\d+)/", url).group(1))
            self.ws = WebSocket(self._page_ws(port))
            for domain in ("Page", "Runtime", "Log"):
                self.call(domain + ".enable")
            self.set_viewport(width, height)
        except Exception:
            self.close()
            raise

    def _devtools_url(self):
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if not r:
                if self.proc.poll() is not None:
                    break
                continue
            line = self.proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                # From here on its stderr goes nowhere that could fill up and block it.
                self._drain_stderr()
                return m.group(1)
        raise BrowserError("chromium did not start DevTools:\n" + "".join(seen[-20:]))

    def _drain_stderr(self):
        import threading

        def drain(f, out):
            try:
                for line in f:
                    out.write(line)
                out.flush()
            except (ValueError, OSError):
                pass  # the log was closed: the browser is going away
        threading.Thread(target=drain, args=(self.proc.stderr, self.log), daemon=True).start()

    def _page_ws(self, port):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as r:
                targets = json.loads(r.read())
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise BrowserError("chromium has no page target")

    def call(self, method, timeout=30, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send_text(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(max(0.1, deadline - time.monotonic())))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise BrowserError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def set_viewport(self, width, height, mobile=False, scale=1):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=scale, mobile=mobile)
        # Headless has no pointer: say which kind of device the page is on.
        self.call("Emulation.setEmulatedMedia", features=[
            {"name": "hover", "value": "none" if mobile else "hover"},
            {"name": "pointer", "value": "coarse" if mobile else "fine"}])

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def eval(self, expression, timeout=30):
        """The value of a JavaScript expression (promises awaited), or BrowserError."""
        r = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError("page threw: %s" % (d.get("exception", {}).get("description")
                                                 or d.get("text")))
        return r.get("result", {}).get("value")

    def screenshot(self, path, full_page=False):
        """A PNG of the viewport, or with full_page of the whole page at the viewport's width."""
        if full_page:
            m = self.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            vp = m.get("cssLayoutViewport") or m["layoutViewport"]
            clip = {"x": 0, "y": 0, "width": vp["clientWidth"], "height": size["height"],
                    "scale": 1}
            data = self.call("Page.captureScreenshot", format="png", clip=clip,
                             captureBeyondViewport=True)
        else:
            data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data["data"]))

    def problems(self):
        """Console errors, uncaught exceptions and refused loads (CSP, blocked hosts)."""
        out = []
        for ev in self.events:
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: %s" % (d.get("exception", {}).get("description")
                                              or d.get("text")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append("%s: %s %s" % (e.get("source"), e.get("text"), e.get("url", "")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append("console.error: %s" % " ".join(
                    str(a.get("value", a.get("description"))) for a in p.get("args", [])))
        return out

    def close(self):
        if self.ws:
            self.ws.close()
            self.ws = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None
        shutil.rmtree(self.profile, ignore_errors=True)
