#!/bin/sh
# latprobe_smoke.sh CALLOSUMD LATPROBE: runs the probe for a moment against
# a router of its own on a private socket; fails unless every message came
# back and the four lines were printed; then --gaps, one line per CPU.
set -eu
dir=$(mktemp -d /tmp/latprobe.XXXXXX)
"$1" --socket "$dir/s" --log-level warn 2>"$dir/log" &
router=$!
trap 'kill $router 2>/dev/null; wait $router 2>/dev/null; rm -rf "$dir"' EXIT
i=0
while [ ! -S "$dir/s" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
"$2" --socket "$dir/s" --rate 5000 --count 2000 >"$dir/out"
cat "$dir/out"
grep -q '^delivered 2000 of 2000$' "$dir/out"
test "$(grep -c ' us$' "$dir/out")" -eq 4
# The machine probe: one line per CPU we may use.
"$2" --gaps 0.2 >"$dir/gaps"
cat "$dir/gaps"
test "$(grep -c '^cpu [0-9]*: ' "$dir/gaps")" -eq "$(nproc)"
