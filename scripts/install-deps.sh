#!/bin/sh
# Install every build, run and test dependency of srvmon from Debian 12
# packages, and the browser tests' node packages (tests/browser) from the npm
# registry. Idempotent: packages already present are not reinstalled, apt-get
# is not called at all when nothing is missing, and npm ci runs only when
# tests/browser/package-lock.json is newer than what it installed.
set -eu
cd "$(dirname "$0")/.."

PKGS="
build-essential cmake pkg-config dpkg-dev
clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
libcurl4-openssl-dev libwebsockets-dev libssl-dev libcjson-dev
libinih-dev libsqlite3-dev sqlite3 libargon2-dev libsystemd-dev
libpq-dev postgresql-15 postgresql-contrib
libcmocka-dev iproute2 iputils-ping procps python3 util-linux
valgrind libclang-rt-14-dev debootstrap
prometheus python3-prometheus-client iperf3
python3-fastapi python3-uvicorn python3-wsproto python3-multipart
chromium firefox-esr nodejs
msmtp python3-aiosmtpd
"

# npm: Debian's, unless the installed nodejs brings its own (NodeSource's does, and
# Debian's npm would conflict with it).
if ! command -v npm >/dev/null 2>&1; then
	PKGS="$PKGS npm"
fi

# The alert-email test sends through /usr/sbin/sendmail from msmtp-mta; a machine whose
# sendmail is another MTA's keeps it (msmtp-mta would replace it): the test then runs
# /usr/bin/msmtp itself.
if [ ! -e /usr/sbin/sendmail ] ||
	dpkg-query -W -f='${Status}' msmtp-mta 2>/dev/null | grep -q "install ok installed"; then
	PKGS="$PKGS msmtp-mta"
fi

# --bench: also the peer tools the benchmarks measure against.
if [ "${1:-}" = "--bench" ]; then
	PKGS="$PKGS prometheus-node-exporter collectd curl auditd snoopy bpftrace"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# The browser tests' node tooling (puppeteer-core; no browser is downloaded: the tests
# drive Debian's firefox-esr).
npm_deps() {
	dir=tests/browser
	if [ -f "$dir/node_modules/.package-lock.json" ] &&
		[ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		return 0
	fi
	echo "install-deps: npm ci in $dir"
	(cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
}

if [ -z "$missing" ]; then
	echo "install-deps: all dependencies present"
	npm_deps
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when an install fails for lack of them.
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y --no-install-recommends $missing; then
	$SUDO apt-get update
	# shellcheck disable=SC2086
	$SUDO apt-get install -y --no-install-recommends $missing
fi
npm_deps
