"""The .deb: builds with CPack, declares its library dependencies, installs with dpkg on
this machine, runs --version and --check-config from the installed paths, keeps a
modified config across an upgrade, and purge removes config and state.

Skipped (exit 0 with a message) in the sanitizer pass and when a srvmon package that this
test did not install is already present: it must never clobber a real installation."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

from srvmon_testlib import check, fail

SRC = os.environ.get("SRVMON_SOURCE_DIR", os.path.abspath(os.path.join(__file__, "../../..")))
if os.environ.get("SRVMON_SANITIZE") == "ON":
    print("SKIP: package test runs in the normal pass only")
    sys.exit(0)
if os.geteuid() != 0:
    print("SKIP: dpkg -i needs root")
    sys.exit(0)
if subprocess.run(["dpkg-query", "-W", "srvmon"], capture_output=True).returncode == 0:
    print("SKIP: a srvmon package is already installed here")
    sys.exit(0)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    if r.returncode != 0:
        fail("%s failed (%d):\n%s\n%s" % (" ".join(cmd), r.returncode, r.stdout[-3000:],
                                           r.stderr[-3000:]))
    return r


# The .deb that ctest's package_build fixture made (SRVMON_DEB_DIR), or one built here.
own_build = not os.environ.get("SRVMON_DEB_DIR")
build = tempfile.mkdtemp(prefix="srvmon-pkg-") if own_build else os.environ["SRVMON_DEB_DIR"]
installed = False
try:
    if own_build:
        run([os.path.join(SRC, "scripts", "build-deb.sh"), build])
    debs = [f for f in os.listdir(build) if f.endswith(".deb")]
    check(len(debs) == 1, "cpack made one .deb: %s" % debs)
    deb = os.path.join(build, debs[0])

    info = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for lib in ("libbpf1", "libwebsockets17", "libcurl4", "libcjson1", "libinih1",
                "libsqlite3-0", "libargon2-1"):
        check(lib in info, "Depends names %s" % lib)
    files = run(["dpkg-deb", "-c", deb]).stdout
    for path in ("./usr/sbin/srvmon-agent", "./usr/sbin/srvmon-server",
                 "./lib/systemd/system/srvmon-agent.service", "./etc/srvmon/agent.conf",
                 "./usr/share/man/man8/srvmon-agent.8", "./usr/share/man/man5/srvmon-agent.conf.5"):
        check(path in files, "package holds %s" % path)

    run(["dpkg", "-i", deb])
    installed = True
    out = run(["/usr/sbin/srvmon-agent", "--version"]).stdout
    check(out.startswith("srvmon-agent "), "installed srvmon-agent --version: %s" % out.strip())
    conf = "/etc/srvmon/agent.conf"
    mode = stat.S_IMODE(os.stat(conf).st_mode)
    check(mode == 0o600, "installed config is mode 0600 (%o)" % mode)
    check(os.path.isdir("/var/lib/srvmon"), "state directory created")

    # The administrator fills in credentials; --check-config from the installed paths.
    with open(conf, "a") as f:
        f.write("\n# added by the package test\n")
    with open(conf) as f:
        text = f.read()
    text = text.replace("#client_id =", "client_id = pkgtest", 1)
    text = text.replace("#password =", "password = pkgtest-secret", 1)
    with open(conf, "w") as f:
        f.write(text)
    r = subprocess.run(["/usr/sbin/srvmon-agent", "--check-config"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0 and "configuration OK" in r.stdout,
          "installed --check-config passes: %s" % r.stderr.strip())
    check("pkgtest-secret" not in r.stdout, "--check-config masks the password")
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify",
                            "/lib/systemd/system/srvmon-agent.service",
                            "/lib/systemd/system/srvmon-server.service"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "systemd-analyze verify of the installed units: %s"
              % r.stderr.strip())

    # Upgrade (reinstall over itself): the modified conffile stays as the admin left it.
    run(["dpkg", "-i", "--force-confold", deb])
    with open(conf) as f:
        check("client_id = pkgtest" in f.read(), "upgrade keeps the modified config")

    run(["dpkg", "--purge", "srvmon"])
    installed = False
    check(not os.path.exists("/usr/sbin/srvmon-agent"), "purge removes the binaries")
    check(not os.path.exists("/etc/srvmon"), "purge removes /etc/srvmon")
    check(not os.path.exists("/var/lib/srvmon"), "purge removes the state directory")
finally:
    if installed:
        subprocess.run(["dpkg", "--purge", "srvmon"], capture_output=True, timeout=120)
    if own_build:
        shutil.rmtree(build, ignore_errors=True)
print("PASS")
