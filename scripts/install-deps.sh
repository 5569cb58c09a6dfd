#!/bin/sh
# Install every build, run and test dependency of srvmon from Debian 12
# packages. Idempotent: packages already present are not reinstalled, and
# apt-get is not called at all when nothing is missing.
set -eu

PKGS="
build-essential cmake pkg-config dpkg-dev
clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
libcurl4-openssl-dev libwebsockets-dev libssl-dev libcjson-dev
libinih-dev libsqlite3-dev sqlite3 libargon2-dev libsystemd-dev
libpq-dev postgresql-15 postgresql-client-15
libcmocka-dev iproute2 iputils-ping procps python3 util-linux
valgrind libclang-rt-14-dev debootstrap
prometheus python3-prometheus-client iperf3
python3-fastapi python3-uvicorn python3-wsproto python3-multipart
chromium
"

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

if [ -z "$missing" ]; then
	echo "install-deps: all dependencies present"
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
