#!/usr/bin/env bash
# Set-up for a fresh Debian bookworm machine; safe to run again.
#   tools/bootstrap.sh run [callosumd flags]  install, build, run the router
#   tools/bootstrap.sh test                   install, build, run every test
#                                             (release build, then ASan+UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config libevent-dev libhiredis-dev
libmsgpack-dev libcurl4-openssl-dev libcmocka-dev redis-server redis-tools"
# What only the tests use: promtool checks /metrics, Chromium renders the
# dashboard, curl and python3 drive HTTP and the bench scripts.
TEST_PKGS="prometheus chromium curl python3 python3-msgpack python3-pytest
python3-pytest-asyncio"
JOBS=$(nproc 2>/dev/null || echo 2)

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {	# install_missing PKG...
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "bootstrap: installing$missing" >&2
	# A fresh machine has no package lists.
	as_root apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends $missing
}

build() {	# build DIR [cmake args...]
	local dir=$1; shift
	cmake -S . -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j "$JOBS"
}

run_tests() {	# run_tests DIR
	(cd "$1" && ctest --output-on-failure -j "$JOBS" --timeout 300)
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
run)
	install_missing $PKGS
	build build -DCMAKE_BUILD_TYPE=Release
	echo "bootstrap: callosumd runs in the foreground here (Ctrl-C stops" \
	    "it); use build/bin/callosum from another terminal" >&2
	exec build/bin/callosumd "$@"
	;;
test)
	install_missing $PKGS $TEST_PKGS
	build build -DCMAKE_BUILD_TYPE=Release
	run_tests build
	build build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCALLOSUM_SANITIZE=ON
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    run_tests build-sanitize
	;;
*)
	echo "usage: tools/bootstrap.sh run [callosumd flags] | test" >&2
	exit 64
	;;
esac
