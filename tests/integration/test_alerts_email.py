"""Alert emails through a real sendmail (Debian's msmtp-mta: /usr/sbin/sendmail -> msmtp),
configured here (its own config file by XDG_CONFIG_HOME) to deliver to an SMTP server this
test runs on 127.0.0.1 (python3-aiosmtpd): a cpu rule with --email, driven by a real agent
(threshold low, then high), gets exactly one firing and one resolved mail, with the RFC 5322
headers; an address with CR/LF (a header injection) is refused by the CLI and the API."""
import email
import email.policy
import email.utils
import json
import os
import subprocess
import tempfile

from srvmon_testlib import (SERVER, Agent, agent_config, check, fail, served, server_token,
                            wait_for, write_config)
from test_alerts import api, cli, settle

# msmtp-mta's /usr/sbin/sendmail; where another MTA owns that name (install-deps.sh then
# leaves msmtp-mta out), msmtp itself, which takes the same -t -oi.
SENDMAIL = ("/usr/sbin/sendmail" if os.path.realpath("/usr/sbin/sendmail").endswith("/msmtp")
            else "/usr/bin/msmtp")
ADDR = "ops@example.test"
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")
# aiosmtpd is a Debian package (scripts/install-deps.sh): the system's python3.
SINK_PYTHON = "/usr/bin/python3"


class SmtpSink:
    """smtp_sink.py on 127.0.0.1 (a free port), keeping every message in a directory."""

    def __init__(self, out_dir):
        self.dir = out_dir
        self.proc = subprocess.Popen([SINK_PYTHON, SINK, "--dir", out_dir],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("port "):
            self.stop()
            fail("smtp_sink.py did not start: %r" % line)
        self.port = int(line.split()[1])

    def got(self):
        """(envelope from, recipients, parsed message) of each mail, in arrival order."""
        mails = []
        for name in sorted(n for n in os.listdir(self.dir) if n.endswith(".json")):
            with open(os.path.join(self.dir, name)) as f:
                m = json.load(f)
            mails.append((m["mail_from"], m["rcpt_tos"], email.message_from_string(
                m["content"], policy=email.policy.default)))
        return mails

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)


def msmtp_config(xdg, port):
    """msmtp/config under xdg (0600, as msmtp requires) sending to 127.0.0.1:port."""
    os.makedirs(os.path.join(xdg, "msmtp"))
    path = os.path.join(xdg, "msmtp", "config")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("defaults\nauth off\ntls off\n\naccount default\nhost 127.0.0.1\n"
                "port %d\nfrom srvmon@localhost\n" % port)


def main():
    check(os.access(SENDMAIL, os.X_OK), "%s (msmtp) is installed" % SENDMAIL)
    tmp = tempfile.TemporaryDirectory(prefix="srvmon-it-mail-")
    xdg = os.path.join(tmp.name, "xdg")
    os.makedirs(os.path.join(tmp.name, "mails"))
    sink = SmtpSink(os.path.join(tmp.name, "mails"))
    try:
        # The server (and so its sendmail child) inherits this environment: msmtp reads
        # $XDG_CONFIG_HOME/msmtp/config.
        msmtp_config(xdg, sink.port)
        os.environ["XDG_CONFIG_HOME"] = xdg
        with served(extra=["--sendmail", SENDMAIL]) as (work, server, agents):
            run(work, server, agents, sink)
    finally:
        sink.stop()
        tmp.cleanup()


def run(work, server, agents, sink):
    server.add_user("adm1", "admin-pass", role="admin")
    agents.append(Agent(work, write_config(work, agent_config(server))).start())
    wait_for(lambda: server.records("hello") and server.records("resources"), 30,
             "the agent's hello and first resources record")
    host_id = server.records("resources")[0]["host_id"]
    hostname = server.records("hello")[0]["hostname"]

    # Header injection: refused by the CLI and by the API, naming the field.
    r = subprocess.run([SERVER, "alert", "add", "--offline", "--for", "2s", "--email",
                        "a@example.test\nBcc: victim@example.test", "--db", server.db],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "email" in r.stderr,
          "alert add --email with a newline: refused (%d %s)" % (r.returncode,
                                                                  r.stderr.strip()))
    admin = server_token(server, "adm1", "admin-pass")
    for bad in ("a@example.test\r\nBcc: victim@example.test", "a@b.test, c@d.test",
                "no-at-sign", "<a@b.test>"):
        st, b = api(server, admin, "/api/v1/alerts", "POST",
                    {"kind": "offline", "for_ms": 2000, "email": bad})
        check(st == 400 and "email" in b["detail"], "API: email %r refused: %d %r"
              % (bad, st, b))

    # cpu_percent >= 0 holds at once: firing; >= 101 never: resolved.
    rule = json.loads(cli(server, "add", "--name", "cpu mail", "--metric", "cpu_percent",
                          "--op", ">=", "--threshold", "0", "--for", "0s",
                          "--email", ADDR))
    check(rule["email"] == ADDR, "the rule keeps its address: %r" % rule)
    wait_for(lambda: sink.got(), 30, "the firing mail")
    cli(server, "set", str(rule["id"]), "--threshold", "101", "--name", "cpu mail")
    wait_for(lambda: len(sink.got()) >= 2, 30, "the resolved mail")
    settle(server)
    mails = sink.got()
    check(len(mails) == 2, "exactly two mails (%d)" % len(mails))
    subjects = [m["Subject"] for _, _, m in mails]
    check(subjects == ["[srvmon] cpu mail firing on %s" % hostname,
                       "[srvmon] cpu mail resolved on %s" % hostname],
          "one firing, then one resolved: %r" % subjects)
    ids = set()
    for (_, rcpts, m), threshold in zip(mails, ("0", "101")):
        check(rcpts == [ADDR] and m["To"] == ADDR, "sent to the rule's address: %r" % rcpts)
        check(m["From"].addresses[0].username == "srvmon",
              "From: srvmon@<host> (%s)" % m["From"])
        check(email.utils.parsedate_to_datetime(m["Date"]) is not None, "a Date header")
        ids.add(m["Message-ID"])
        body = m.get_content()
        check(host_id in body and "cpu_percent >= %s for 0 s" % threshold in body and
              "State:   %s" % ("firing" if threshold == "0" else "resolved") in body,
              "the body has the host and the rule: %r" % body[:200])
    check(len(ids) == 2 and all(i.startswith("<srvmon.") for i in ids),
          "two distinct Message-IDs: %r" % ids)


if __name__ == "__main__":
    main()
