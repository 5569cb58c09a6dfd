#!/bin/sh
# Builds the .deb of this source tree into DIR (Release, -DCMAKE_INSTALL_PREFIX=/usr,
# no tests, then cpack -G DEB) and prints its path. The one package build of
# scripts/check-deb-chroot.sh and of the package tests (ctest's package_build fixture).
#
#   scripts/build-deb.sh DIR
#
# DIR is reused (an incremental build); a DIR configured from another source tree is
# started over. Exit 0 with the path of the single .deb on stdout.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=$1
die() { echo "build-deb: FAIL: $*" >&2; exit 1; }

if [ -f "$DIR/CMakeCache.txt" ] &&
	! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$SRC" "$DIR/CMakeCache.txt"; then
	rm -rf "$DIR"
fi
cmake -S "$SRC" -B "$DIR" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
	-DSRVMON_BUILD_TESTS=OFF >/dev/null || die "cmake configure in $DIR"
cmake --build "$DIR" -j"$(nproc)" >/dev/null || die "cmake --build $DIR"
rm -f "$DIR"/srvmon_*.deb
(cd "$DIR" && cpack -G DEB >/dev/null) || die "cpack in $DIR"
set -- "$DIR"/srvmon_*.deb
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	die "cpack made no single .deb in $DIR"
fi
echo "$1"
