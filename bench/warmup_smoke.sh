#!/bin/sh
# warmup_smoke.sh BENCH: an open-loop run with a warm-up against a private
# router (CALLOSUMD in the environment). The exit status says every message,
# warm-up included, came once and in order; the JSON must show a warm-up
# that published something and a window that published more.
set -eu
out=$(mktemp /tmp/warmup.XXXXXX)
trap 'rm -f "$out"' EXIT
"$1" --spawn --rate 20000 --duration 0.5 --warmup 0.5 --json >"$out"
cat "$out"
num() { sed -n "s/.*$1\":\([0-9]*\).*/\1/p" "$out"; }
total=$(num '"system":"callosum","published')
warm=$(num '"warmup":{"published')
test -n "$total" && test -n "$warm"
test "$warm" -gt 0
test "$total" -gt "$warm"
