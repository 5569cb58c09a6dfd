"""The .deb on a fresh Debian 12 root (scripts/check-deb-chroot.sh): installed with apt-get
in a debootstrapped bookworm, its Depends resolved from Debian's mirror; the installed
srvmon-agent --version and --check-config and srvmon-server --version work; purge
removes binaries, configuration and state.

The minimal root is cached under /var/tmp/srvmon-chroot: the first run debootstraps
(about 2 minutes here), later ones take ~15 s. Under ctest the .deb is the one the
package_build fixture made (SRVMON_DEB_DIR); run alone, the script builds its own.
Skipped in the sanitizer pass, and when deb.debian.org cannot be reached."""
import os
import shutil
import signal
import socket
import subprocess
import sys

from srvmon_testlib import check, fail

SRC = os.environ.get("SRVMON_SOURCE_DIR", os.path.abspath(os.path.join(__file__, "../../..")))
MIRROR_HOST = "deb.debian.org"

if os.environ.get("SRVMON_SANITIZE") == "ON":
    print("SKIP: the chroot package check runs in the normal pass only")
    sys.exit(0)
if os.geteuid() != 0:
    print("SKIP: debootstrap and chroot need root")
    sys.exit(0)
if not shutil.which("debootstrap"):
    fail("debootstrap is not installed (scripts/install-deps.sh installs it)")
try:
    socket.create_connection((MIRROR_HOST, 80), timeout=10).close()
except OSError as e:
    print("SKIP: %s:80 unreachable (%s): apt-get cannot resolve the Depends" % (MIRROR_HOST, e))
    sys.exit(0)

script = [os.path.join(SRC, "scripts", "check-deb-chroot.sh")]
# The .deb that ctest's package_build fixture made, rather than a build of its own.
deb_dir = os.environ.get("SRVMON_DEB_DIR")
if deb_dir:
    debs = [f for f in os.listdir(deb_dir) if f.endswith(".deb")]
    check(len(debs) == 1, "package_build made one .deb: %s" % debs)
    script += ["--deb", os.path.join(deb_dir, debs[0])]
# Its own process group: on a timeout, SIGTERM reaches the script and its children, and
# its EXIT trap unmounts /proc and removes the throw-away root.
proc = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        start_new_session=True)
try:
    out, err = proc.communicate(timeout=270)
except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    fail("check-deb-chroot.sh ran over 270 s:\n%s\n%s" % (out, err))
print(out, end="")
print(err, end="", file=sys.stderr)
check(proc.returncode == 0, "check-deb-chroot.sh exits 0 (%d)" % proc.returncode)
for line in ("installed: srvmon ", "srvmon-agent --check-config: configuration OK",
             "purged: binaries", "check-deb-chroot: OK in "):
    check(line in out, "the script reports '%s'" % line.strip())
print("PASS")
