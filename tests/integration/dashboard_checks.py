"""The dashboard checks both browser tests make (test_dashboard.py in Chromium,
test_dashboard_firefox.py in Firefox), on a browser object of srvmon_browser.Browser's
interface: sign in through the form, the host online under its hostname, its page with
charts drawn from real points, and the command search finding a command with its exact
argv. Each raises (check() fails) when the page does not show it."""
import json

from srvmon_testlib import check, fail

FILL = ("(() => { document.getElementById('login-user').value = %s;"
        " document.getElementById('login-password').value = %s;"
        " document.getElementById('login-form').requestSubmit(); return true; })()")


def sign_in(b, base_url, user, password, role):
    """A wrong password is refused with a message; the right one signs in."""
    b.navigate(base_url + "/")
    b.wait("!document.getElementById('login').hidden", 15, "the login form")
    b.eval(FILL % (json.dumps(user), json.dumps("wrong")))
    msg = b.wait("!document.getElementById('login-error').hidden &&"
                 " document.getElementById('login-error').textContent", 15,
                 "the refusal message")
    check("Wrong account or password" in msg, "wrong password: %r" % msg)
    b.eval(FILL % (json.dumps(user), json.dumps(password)))
    who = b.wait("!document.getElementById('topbar').hidden &&"
                 " document.getElementById('who').textContent", 15, "logged in")
    check(who == "%s (%s)" % (user, role), "logged in through the form as %r" % who)


def host_online(b, hostname):
    """The host list has hostname, online. Returns {host, cpu} of its row."""
    row = b.wait("""(() => { const r = [...document.querySelectorAll('#hosts-body tr')]
        .find((tr) => tr.querySelector('.hostname') &&
                      tr.querySelector('.hostname').textContent === %s);
        return r && r.querySelector('.pill').textContent === 'online' &&
               {host: r.dataset.host, cpu: r.children[2].textContent}; })()"""
                 % json.dumps(hostname), 30, "the host online in the list")
    check(True, "host list: %s online (host_id %s, CPU %s)" % (hostname, row["host"], row["cpu"]))
    return row


def host_charts(b, host_id, hostname):
    """Clicks the host, sees its page with the charts drawn from more than one point, and
    the CPU line on the canvas."""
    b.eval("document.querySelector('#hosts-body tr[data-host=\"%s\"] .hostname').click()"
           % host_id)
    b.wait("document.getElementById('host-title') &&"
           " document.getElementById('host-title').textContent === %s"
           % json.dumps(hostname), 15, "the host page")
    pts = b.wait("(() => { const c = window.srvmon.charts();"
                 " return c.cpu > 1 && c.net > 1 && c.ram > 1 && c; })()", 30,
                 "charts with more than one point")
    check(True, "host page charts drawn with points: %s" % pts)
    # The line itself on the canvas: pixels of the CPU series' colour (#3ddc97, opaque),
    # which neither the grid, the axes nor the translucent fill have.
    drawn = b.wait("""(() => { const cv = document.querySelector('#chart-cpu canvas');
        const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] > 200 && Math.abs(d[i] - 61) < 30 && Math.abs(d[i + 1] - 220) < 30 &&
                Math.abs(d[i + 2] - 151) < 30) n++;
        return n > 20 && n; })()""", 10, "the CPU line on the canvas")
    check(drawn > 20, "the CPU chart's line is on the canvas (%d pixels of its colour)" % drawn)
    return pts


def command_found(b, marker):
    """The command search for marker finds exactly the exec `/bin/echo marker`."""
    b.eval("location.hash = '#/commands'")
    b.wait("!!document.getElementById('cmd-form')", 10, "the command search")
    b.eval("document.getElementById('cmd-q').value = %s;"
           " document.getElementById('cmd-form').requestSubmit(); true" % json.dumps(marker))
    found = b.wait("""(() => { const r = [...document.querySelectorAll('.execs tbody tr')]
        .filter((tr) => tr.dataset.argv);
        return r.length && r.map((tr) => ({argv: JSON.parse(tr.dataset.argv),
            line: tr.querySelector('.cmdline').textContent})); })()""", 20,
                   "the command in the search results")
    check(found == [{"argv": ["/bin/echo", marker], "line": "/bin/echo " + marker}],
          "search %r: exactly the exec this test ran, argv %s" % (marker, found))


def phone_fits(b, host_id, mobile=True):
    """A phone-sized viewport: the host page draws its charts and does not overflow
    sideways; then no page error and no CSP refusal happened on the way."""
    b.set_viewport(390, 844, mobile=mobile, scale=2)
    b.eval("location.hash = '#/host/%s'" % host_id)
    b.wait("window.srvmon.charts().cpu > 1", 20, "charts on a phone")
    over = b.eval("document.documentElement.scrollWidth - window.innerWidth")
    check(over <= 0, "phone viewport: no sideways overflow (%d px)" % over)
    problems = [p for p in b.problems() if "status of 400" not in p]
    check(not problems, "no page error and no CSP refusal: %s" % problems)


def fail_with_screenshot(b, work, err):
    """Fails with err, a screenshot of the page in work (when one can be taken) and the
    page's problems."""
    shot = work.file("failure.png")
    try:
        b.screenshot(shot)
        problems = b.problems()
    except Exception:  # noqa: BLE001 - the screenshot is a bonus
        shot, problems = "none", "unknown"
    fail("%s (screenshot %s, page problems %s)" % (err, shot, problems))
