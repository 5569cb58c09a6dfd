"""A stock-LibreSpeed-shaped speed-test backend for the tests (not srvmon-server): the PHP
backend's paths and answers, from the standard library.

  GET  /<prefix>/garbage.php?ckSize=N  N MiB (1..1024, default 4) of random bytes, no
                                       Content-Length (as PHP's flush() loop sends them)
  GET  /<prefix>/empty.php             200, empty body
  POST /<prefix>/empty.php             reads and drops the body; 200, empty body
  anything else                        404 (in particular /garbage and /empty)

With --plain the names are /garbage and /empty instead (as LibreSpeed's Go and Rust
backends also serve them) and the .php ones answer 404.

Usage: python3 librespeed_server.py --listen ADDR --port PORT --prefix /backend [--plain]
Prints "listening on http://ADDR:PORT" once it accepts connections, then one line
"received N" per POST to empty.php whose body it read whole (N bytes) and "partial N"
per POST whose client went away after N bytes, so that a test knows what the server
got. One thread per connection (ThreadingHTTPServer); the bytes move in 1 MiB writes and
reads so that Python's per-call cost stays small next to the kernel's copy (it keeps up
with iperf3 on an unshaped veth: 10-30 Gbit/s here).
"""
import argparse
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MIB = 1024 * 1024
CHUNK = os.urandom(MIB)  # incompressible, like PHP's random_bytes(1048576)
OUT = threading.Lock()  # one line at a time from the connection threads


def report(kind, n):
    with OUT:
        sys.stdout.write("%s %d\n" % (kind, n))
        sys.stdout.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the stock backend behind Apache/nginx
    prefix = ""
    ext = ".php"

    def log_message(self, *args):
        pass

    def _route(self):
        url = urlsplit(self.path)
        if not url.path.startswith(self.prefix + "/"):
            return None, url
        return url.path[len(self.prefix):], url

    def _answer(self, code, length=0):
        self.send_response(code)
        self.send_header("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):
        name, url = self._route()
        if name == "/empty" + self.ext:
            self._answer(200)
            return
        if name != "/garbage" + self.ext:
            self._answer(404)
            return
        try:
            n = int(parse_qs(url.query).get("ckSize", ["4"])[0])
        except ValueError:
            n = 4
        n = min(max(n, 1), 1024)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")  # the body ends with the connection
        self.end_headers()
        self.close_connection = True
        view = memoryview(CHUNK)
        try:
            for _ in range(n):
                self.wfile.write(view)
        except OSError:
            pass  # the client stopped reading: its byte cap or stop rule

    def do_POST(self):
        name, _ = self._route()
        length = int(self.headers.get("Content-Length", "0"))
        buf = bytearray(MIB)
        view = memoryview(buf)
        left = length
        while left > 0:
            try:
                got = self.rfile.readinto(view[:min(left, MIB)])
            except OSError:
                got = 0
            if not got:
                report("partial", length - left)
                self.close_connection = True
                return  # the client went away mid-body: its stop rule
            left -= got
        if name != "/empty" + self.ext:
            self._answer(404)
            return
        report("received", length)
        self._answer(200)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--plain", action="store_true")
    args = ap.parse_args()
    Handler.ext = "" if args.plain else ".php"
    Handler.prefix = args.prefix.rstrip("/")
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer((args.listen, args.port), Handler)
    print("listening on http://%s:%d" % (args.listen, srv.server_address[1]), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
