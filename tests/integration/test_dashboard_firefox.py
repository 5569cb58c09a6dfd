"""The dashboard in a current Firefox (Debian's firefox-esr, headless, over WebDriver BiDi
with puppeteer-core: srvmon_firefox.py): a real srvmon-server and agent on loopback, a
viewer account. The checks of the Chromium test (dashboard_checks.py): sign in through the
form, the host online under its hostname, the host page with charts drawn from real points,
the command search finding the command this test ran with its exact argv; then an event
stream update reaching the page, a phone-sized viewport without sideways overflow, and no
page error or CSP refusal on the way."""
import os
import socket
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dashboard_checks  # noqa: E402
from srvmon_browser import BrowserError  # noqa: E402
from srvmon_firefox import Firefox  # noqa: E402
from srvmon_testlib import (Agent, agent_config, check, served, wait_for,  # noqa: E402
                            write_config)

VIEWER, VIEWER_PW = "viewer1", "view-pass-1"


def main():
    t0 = time.monotonic()
    marker = "srvmon-ff-" + uuid.uuid4().hex[:12]
    hostname = socket.gethostname()
    with served() as (work, server, agents):
        server.add_user(VIEWER, VIEWER_PW, role="viewer")
        cfg = write_config(work, agent_config(server, history="trail = false\n"))
        agents.append(Agent(work, cfg).start())
        # Firefox starts while the agent does.
        browser = Firefox(1280, 800, log_path=work.file("firefox.log"))
        try:
            b = browser
            check(True, "firefox: %s" % b.version)
            wait_for(lambda: any(m.get("modules", {}).get("history", {}).get("state") ==
                                 "running" for m in server.records("status")), 30,
                     "history module running")
            subprocess.run(["/bin/echo", marker], check=True, stdout=subprocess.DEVNULL,
                           timeout=10)
            dashboard_checks.sign_in(b, server.base_url, VIEWER, VIEWER_PW, "viewer")
            row = dashboard_checks.host_online(b, hostname)
            pts = dashboard_checks.host_charts(b, row["host"], hostname)
            # Live: the event stream adds the points committed after the page loaded.
            b.wait("window.srvmon.charts().cpu > %d" % pts["cpu"], 30,
                   "a new CPU point from the event stream")
            check(True, "the CPU chart grows live (more than %d points)" % pts["cpu"])
            dashboard_checks.command_found(b, marker)
            # A phone's width (mobile emulation would reload the page, and sign it out).
            dashboard_checks.phone_fits(b, row["host"], mobile=False)
        except (BrowserError, TimeoutError) as e:
            dashboard_checks.fail_with_screenshot(browser, work, "%s (firefox log %s)"
                                                  % (e, work.file("firefox.log")))
        finally:
            browser.close()
    print("test_dashboard_firefox: %.1f s" % (time.monotonic() - t0))


if __name__ == "__main__":
    main()
