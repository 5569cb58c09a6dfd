#!/bin/sh
# The .deb on a fresh Debian 12 root: debootstraps a minimal bookworm (cached),
# copies it to a throw-away root, installs the CPack .deb there with apt-get (its
# Depends come from Debian's mirror), runs the installed srvmon-agent --version and
# --check-config and srvmon-server --version, purges the package and checks that its
# files, configuration and state are gone. Run as root:
#
#   scripts/check-deb-chroot.sh [--deb FILE] [--root DIR] [--fresh]
#
#   --deb FILE  the package to check (default: built from this tree into DIR/build
#               with -DCMAKE_INSTALL_PREFIX=/usr, then cpack -G DEB)
#   --root DIR  work directory (default /var/tmp/srvmon-chroot): DIR/base is the cached
#               debootstrap, DIR/run.PID the root of one run (removed on exit)
#   --fresh     debootstrap DIR/base again even when a complete one is cached (it
#               is redone anyway when older than 7 days)
#
# Needs debootstrap and http://deb.debian.org/debian (MIRROR overrides it). Idempotent;
# concurrent runs on the same DIR wait for each other (flock). Exit 0: all checks passed.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=/var/tmp/srvmon-chroot
DEB=
FRESH=0
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

while [ $# -gt 0 ]; do
	case "$1" in
	--deb) DEB=$2; shift 2 ;;
	--root) ROOT=$2; shift 2 ;;
	--fresh) FRESH=1; shift ;;
	*) echo "usage: $0 [--deb FILE] [--root DIR] [--fresh]" >&2; exit 2 ;;
	esac
done

say() { echo "check-deb-chroot: $*"; }
die() { echo "check-deb-chroot: FAIL: $*" >&2; exit 1; }
now() { date +%s; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install debootstrap)"
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd)
RUN=$ROOT/run.$$

cleanup() {
	rc=$?
	rm -f "$RUN.apt.log"
	if mountpoint -q "$RUN/proc" 2>/dev/null; then
		umount "$RUN/proc" || umount -l "$RUN/proc"
	fi
	# Never delete through a mount that is still there.
	if [ -d "$RUN" ] && ! findmnt -rn -o TARGET | grep -q "^$RUN/"; then
		rm -rf "$RUN"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a command in the throw-away root with a clean environment.
inroot() {
	chroot "$RUN" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@"
}

exec 9>"$ROOT/.lock"
flock 9
t0=$(now)

# 1. The package.
if [ -z "$DEB" ]; then
	say "building the .deb in $ROOT/build"
	DEB=$("$SRC/scripts/build-deb.sh" "$ROOT/build") || die "scripts/build-deb.sh $ROOT/build"
fi
[ -f "$DEB" ] || die "no package '$DEB'"
t1=$(now)

# 2. A minimal bookworm, debootstrapped once and reused for a week (a stamp marks a
#    complete one).
STAMP=$ROOT/base/.srvmon-base-complete
if [ -f "$STAMP" ] && [ -n "$(find "$STAMP" -mtime +7)" ]; then
	FRESH=1
fi
if [ "$FRESH" = 1 ] || [ ! -f "$STAMP" ]; then
	rm -rf "$ROOT/base"
	say "debootstrap --variant=minbase $SUITE from $MIRROR"
	debootstrap --variant=minbase "$SUITE" "$ROOT/base" "$MIRROR" >"$ROOT/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $ROOT/debootstrap.log"
	touch "$STAMP"
fi
t2=$(now)

# 3. A throw-away copy of it: every run starts from the same fresh root.
rm -rf "$RUN"
cp -a "$ROOT/base" "$RUN"
cp /etc/resolv.conf "$RUN/etc/resolv.conf"
# No daemon is started from maintainer scripts inside the root.
printf '#!/bin/sh\nexit 101\n' >"$RUN/usr/sbin/policy-rc.d"
chmod 0755 "$RUN/usr/sbin/policy-rc.d"
mount -t proc proc "$RUN/proc"
cp "$DEB" "$RUN/tmp/"
PKG=/tmp/$(basename "$DEB")

# 4. Install with apt-get: the Depends are resolved from the mirror.
inroot apt-get -q update >"$RUN.apt.log" 2>&1 || { cat "$RUN.apt.log"; rm -f "$RUN.apt.log"; die "apt-get update"; }
if ! inroot apt-get -q install -y --no-install-recommends "$PKG" >"$RUN.apt.log" 2>&1; then
	cat "$RUN.apt.log"
	rm -f "$RUN.apt.log"
	die "apt-get install $PKG"
fi
pulled=$(grep -c '^Setting up ' "$RUN.apt.log" || true)
rm -f "$RUN.apt.log"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
status=$(inroot dpkg-query -W -f '${Status} ${Version}' srvmon)
case "$status" in
"install ok installed "*) say "installed: srvmon ${status##* } ($pulled packages set up)" ;;
*) die "dpkg status after install: $status" ;;
esac
t3=$(now)

# 5. The installed programs, from their installed paths.
out=$(inroot /usr/sbin/srvmon-agent --version) || die "srvmon-agent --version"
case "$out" in srvmon-agent\ *) say "$out" ;; *) die "srvmon-agent --version printed '$out'" ;; esac
out=$(inroot /usr/sbin/srvmon-server --version) || die "srvmon-server --version"
case "$out" in srvmon-server\ *) say "$out" ;; *) die "srvmon-server --version printed '$out'" ;; esac
mode=$(stat -c %a "$RUN/etc/srvmon/agent.conf")
[ "$mode" = 600 ] || die "installed /etc/srvmon/agent.conf is mode $mode, not 600"
# The administrator's minimal edit: credentials.
sed -i -e '0,/^#client_id =/s//client_id = chroot-check/' \
	-e '0,/^#password =/s//password = chroot-check-secret/' "$RUN/etc/srvmon/agent.conf"
grep -q '^client_id = chroot-check$' "$RUN/etc/srvmon/agent.conf" || die "no #client_id line to fill in"
out=$(inroot /usr/sbin/srvmon-agent --check-config 2>&1) || { echo "$out"; die "srvmon-agent --check-config"; }
echo "$out" | grep -q "configuration OK" || { echo "$out"; die "--check-config did not say 'configuration OK'"; }
echo "$out" | grep -q chroot-check-secret && die "--check-config printed the password"
say "srvmon-agent --check-config: configuration OK"

# 6. Purge: binaries, configuration and state go.
inroot apt-get -q purge -y srvmon >/dev/null 2>&1 || die "apt-get purge srvmon"
# shellcheck disable=SC2016
status=$(inroot dpkg-query -W -f '${Status}' srvmon 2>/dev/null || true)
case "$status" in
"" | *not-installed) ;;
*) die "dpkg status after purge: $status" ;;
esac
for p in /usr/sbin/srvmon-agent /usr/sbin/srvmon-server /etc/srvmon /var/lib/srvmon \
	/var/log/srvmon /lib/systemd/system/srvmon-agent.service; do
	[ ! -e "$RUN$p" ] || die "$p is still there after purge"
done
say "purged: binaries, /etc/srvmon, /var/lib/srvmon, /var/log/srvmon removed"
t4=$(now)

say "OK in $((t4 - t0)) s (package $((t1 - t0)) s, debootstrap $((t2 - t1)) s, install $((t3 - t2)) s, checks and purge $((t4 - t3)) s)"
