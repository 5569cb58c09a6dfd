"""Config errors through the real binary: file:line: key and exit status 78, never a run."""
import subprocess

from srvmon_testlib import AGENT, Workdir, check, write_config

work = Workdir()
GOOD = "[server]\nclient_id = a\npassword = p\n"
CASES = [
    # (name, text, expected fragment of the message)
    ("unknown-key", GOOD + "colour = blue\n", ":4: server.colour"),
    ("unknown-section", "[bogus]\nx = 1\n", ":1: [bogus]"),
    ("bad-duration", GOOD + "[resources]\ninterval = 10 parsecs\n", ":5: resources.interval"),
    ("out-of-range", GOOD + "server_port = 70000\n", ":4: server.server_port"),
    ("bad-bool", GOOD + "tls = maybe\n", ":4: server.tls"),
    ("syntax", GOOD + "this line has no equals sign\n", ":4"),
]

for name, text, frag in CASES:
    path = write_config(work, text, name + ".conf")
    r = subprocess.run([AGENT, "--config", path, "--check-config"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 78, "%s: exit status 78 (got %d)" % (name, r.returncode))
    check((path + frag) in r.stderr, "%s: message names %s%s: %s" % (name, path, frag,
                                                                      r.stderr.strip()))

missing = work.file("does-not-exist.conf")
r = subprocess.run([AGENT, "--config", missing, "--check-config"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode == 78 and missing in r.stderr, "missing file: 78 and the path named")

loose = write_config(work, GOOD, "loose.conf", mode=0o644)
r = subprocess.run([AGENT, "--config", loose, "--check-config"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode == 78 and "chmod 600" in r.stderr, "password in a 0644 file refused with the fix")

# Same bad file, daemon mode: it must not start on a half-read config.
bad = write_config(work, GOOD + "[network]\ninterval = fast\n", "daemon.conf")
r = subprocess.run([AGENT, "--config", bad], capture_output=True, text=True, timeout=30)
check(r.returncode == 78, "daemon refuses a bad config with 78")

ok = write_config(work, GOOD + "server_port = 9000\n", "ok.conf")
r = subprocess.run([AGENT, "--config", ok, "--check-config"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode == 0 and "configuration OK" in r.stdout, "valid config: configuration OK")
check("password = p\n" not in r.stdout and "9000" in r.stdout,
      "effective config printed with the password masked")
print("PASS")
