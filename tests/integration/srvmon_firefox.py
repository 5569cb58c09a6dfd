"""Headless Firefox (Debian's firefox-esr) for the browser tests, with the interface of
srvmon_browser.Browser (navigate, eval, wait, set_viewport, screenshot, problems, close).

geckodriver is not packaged by Debian, so the browser is driven over WebDriver BiDi by
puppeteer-core from the npm registry: tests/browser/firefox_driver.mjs, installed by
scripts/install-deps.sh (npm ci in tests/browser), run by node as a child that takes one
JSON request per line. Its firefox reaches nothing beyond loopback (see the driver). Both
are ended by PID, however the test ends."""
import json
import os
import select
import shutil
import signal
import subprocess
import time

# Started browsers are closed at exit with srvmon_browser's (its _STARTED list).
from srvmon_browser import _STARTED, BrowserError, PageWait

SOURCE = os.environ.get("SRVMON_SOURCE_DIR",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DRIVER_DIR = os.path.join(SOURCE, "tests", "browser")
FIREFOX = os.environ.get("SRVMON_FIREFOX", "/usr/bin/firefox-esr")

class Firefox(PageWait):
    """One headless Firefox with one page; width x height is the viewport in CSS pixels."""

    def __init__(self, width=1280, height=800, log_path=None, start_timeout=60):
        missing = [what for what, ok in (
            ("node (nodejs)", shutil.which("node")),
            (FIREFOX + " (firefox-esr)", os.access(FIREFOX, os.X_OK)),
            ("tests/browser/node_modules (npm ci)",
             os.path.isdir(os.path.join(DRIVER_DIR, "node_modules", "puppeteer-core"))))
            if not ok]
        if missing:
            raise BrowserError("missing %s: run scripts/install-deps.sh" % ", ".join(missing))
        self.log_path = log_path or os.devnull
        self.log = open(self.log_path, "w")
        self.next_id = 0
        # Its own process group: ending it by PID also ends the firefox it started.
        self.proc = subprocess.Popen(
            ["node", os.path.join(DRIVER_DIR, "firefox_driver.mjs"), str(width), str(height)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
            cwd=DRIVER_DIR, env=dict(os.environ, SRVMON_FIREFOX=FIREFOX),
            start_new_session=True)
        _STARTED.append(self)
        try:
            self.version = self._answer(0, start_timeout)
        except Exception:
            self.close()
            raise

    def _answer(self, mid, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("firefox_driver: no answer within %.0f s" % timeout)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                continue
            line = self.proc.stdout.readline()
            if not line:
                raise BrowserError("firefox_driver exited (%s), see %s"
                                   % (self.proc.poll(), self.log_path))
            msg = json.loads(line)
            if msg.get("id") != mid:
                continue  # the answer of a request that timed out before
            if "error" in msg:
                raise BrowserError(msg["error"])
            return msg.get("value")

    def call(self, op, timeout=30, **params):
        self.next_id += 1
        params.update(id=self.next_id, op=op)
        try:
            self.proc.stdin.write(json.dumps(params) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise BrowserError("firefox_driver is gone: %s" % e) from e
        return self._answer(self.next_id, timeout)

    def navigate(self, url):
        self.call("navigate", url=url)

    def eval(self, expression, timeout=30):
        """The value of a JavaScript expression (promises awaited), or BrowserError."""
        return self.call("eval", timeout=timeout, expr=expression)

    def set_viewport(self, width, height, mobile=False, scale=1):
        self.call("viewport", width=width, height=height, mobile=mobile, scale=scale)

    def screenshot(self, path, full_page=False):
        self.call("screenshot", path=os.path.abspath(path), full_page=full_page)

    def problems(self):
        """Page errors, console errors, CSP refusals and loads refused outside loopback."""
        return self.call("problems")

    def close(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"id": -1, "op": "close"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=15)
            except (BrokenPipeError, ValueError, subprocess.TimeoutExpired):
                pass
        if self.proc:
            # The group is the one this object started (start_new_session): node and the
            # firefox it launched, should either still be there.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None
