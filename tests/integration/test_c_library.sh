#!/usr/bin/env bash
# The public C library as a user gets it: `cmake --install` into a private
# prefix, tools/examples/agent.c built with `pkg-config --cflags --libs
# callosum` against it, then run against a real callosumd (which the
# install put in PREFIX/bin too).
#   test_c_library.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS]
set -euo pipefail
build=$1
src=$2
extra=${3-}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" ||
    fail "cmake --install: $(cat "$tmp/install.log")"
for f in bin/callosumd bin/callosum bin/callosum-bench include/callosum.h; do
	[ -e "$tmp/prefix/$f" ] || fail "not installed: $f"
done
libdir=$(dirname "$(find "$tmp/prefix" -name callosum.pc | head -1)")/..
[ -e "$libdir/libcallosum.a" ] || fail "no libcallosum.a"
ls "$libdir"/libcallosum.so* >/dev/null || fail "no libcallosum.so"

# The shared library exports callosum.h's functions only.
so=$(ls "$libdir"/libcallosum.so.* | head -1)
extra_syms=$(nm -D --defined-only "$so" | awk '$3 !~ /^callosum_/ && $3 !~ /^CALLOSUM_/ { print $3 }')
[ -z "$extra_syms" ] || fail "libcallosum.so exports more: $extra_syms"

export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --cflags --libs callosum) || fail "pkg-config callosum"
cc -std=c11 -Wall -Wextra -Werror $extra "$src/tools/examples/agent.c" \
    $flags -o "$tmp/agent" || fail "the example does not build with: $flags"

"$tmp/prefix/bin/callosumd" --socket "$tmp/s.sock" 2>"$tmp/router.log" &
pid=$!
for _ in $(seq 100); do [ -S "$tmp/s.sock" ] && break; sleep 0.05; done
[ -S "$tmp/s.sock" ] || fail "callosumd: $(cat "$tmp/router.log")"
out=$(LD_LIBRARY_PATH=$libdir "$tmp/agent" "$tmp/s.sock") ||
    fail "the agent failed: $out"
case "$out" in
*"(memory); got hello from internal on sid 1"*) echo "PASS: $out" ;;
*) fail "unexpected output: $out" ;;
esac
