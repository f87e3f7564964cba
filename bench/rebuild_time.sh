#!/usr/bin/env bash
# How long callosumd takes at start to rebuild the synthesizer from a Redis
# log of N cross-tract events (issue 20's measure).
#   bench/rebuild_time.sh [BINDIR] [N]      (default build/bin 1000000)
# Starts a private redis-server (no persistence) and callosumd on sockets in
# a temporary directory, fills the log with callosum-bench --cross 100,
# restarts the router and prints its "synth rebuilt" line. Stops what it
# started by pid.
set -euo pipefail
bin=${1:-build/bin}
n=${2:-1000000}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' \
    --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$tmp/redis.sock" ] && break; sleep 0.05; done

start_router() {
	"$bin/callosumd" --socket "$tmp/c.sock" --redis "unix://$tmp/redis.sock" \
	    >>"$tmp/router.log" 2>&1 &
	router=$!
	pids+=($router)
	for _ in $(seq 6000); do [ -S "$tmp/c.sock" ] && return; sleep 0.05; done
	echo "callosumd did not start" >&2
	cat "$tmp/router.log" >&2
	exit 1
}

start_router
"$bin/callosum-bench" --socket "$tmp/c.sock" --count "$n" --cross 100 \
    --pubs 1 --subs 1 --size 64 >"$tmp/bench.txt"
kill -TERM "$router"
wait "$router" || true
events=$(redis-cli -s "$tmp/redis.sock" XLEN callosum:events)
echo "log: $events events in Redis"
start_router
grep "synth rebuilt" "$tmp/router.log" | tail -1
