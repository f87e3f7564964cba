#!/usr/bin/env bash
# test_dashboard: the dashboard page in a real (headless) Chromium.
#
#   test_dashboard.sh BIN_DIR    live: callosumd --http on a free loopback
#                                port, traffic into tract external from
#                                BIN_DIR/callosum, the page served at /
#   test_dashboard.sh --fixture [FILE]
#                                the page and a stats fixture (default
#                                fixtures/stats.json, every key of issues 19
#                                and 20) from a python3 http.server, its
#                                counters growing with time; no router needed
#                                (fixtures/stats-minimal.json: an older
#                                router; stats-synth-off.json: synth_enabled 0)
#
# Passes when the rendered DOM shows tract "external" with a published
# rate above zero, and the other panels agree with what was served (the
# dialogue panel: the synthesizer's state pill, pair rows, top patterns,
# latest candidates, the emergence trend). With DASHBOARD_PNG=FILE it also
# leaves a screenshot of the whole page, DASHBOARD_SETTLE_S seconds
# (default 5) after that check passed.
# Exit 77 (ctest SKIP) without chromium, or while callosumd has no --http.
# Everything it starts is stopped by pid on exit. Needs python3 (stdlib).
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
html=$src/router/dashboard.html
fixture=$here/fixtures/stats.json

mode=live
case ${1-} in
--fixture)
	mode=fixture
	[ -n "${2-}" ] && fixture=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
	[ -r "$fixture" ] || { echo "$0: no fixture $fixture" >&2; exit 64; } ;;
""|-h|--help)
	echo "usage: $0 BIN_DIR | --fixture [FILE]" >&2
	exit 64 ;;
*)	bin=$(cd "$1" && pwd) || exit 64 ;;
esac

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

chrome=
for c in chromium chromium-browser google-chrome; do
	if command -v "$c" >/dev/null 2>&1; then chrome=$(command -v "$c"); break; fi
done
[ -n "$chrome" ] || skip "chromium is not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/callosum-dash.XXXXXX") || exit 1
pids=()
# On failure the directory stays, with the DOM and the logs.
cleanup() {
	local rc=$? p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	if [ $rc = 0 ] || [ $rc = 77 ]; then
		rm -rf "$tmp"
	else
		echo "kept $tmp" >&2
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

# Waits up to $2 seconds for URL $1 to answer 200; 0 when it did.
wait_http() {
	python3 - "$1" "$2" <<'EOF'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}

start_fixture_server() {
	python3 - "$port" "$html" "$fixture" >"$tmp/server.log" 2>&1 <<'EOF' &
# Serves /, /stats.json and /healthz. Counters grow at wobbling rates so
# the page has rates and sparklines to draw, as against a live router.
import copy, json, math, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, html_path, fixture_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(fixture_path) as f:
    base = json.load(f)
t0 = time.monotonic()
RATES = {"internal": 420.0, "external": 390.0, "$sys": 0.5,
         "$candidates": 0.05}

def grown(rate, t, period):
    # integral of rate * (1 + 0.3 sin(t / period)) from 0 to t
    return rate * (t + 0.3 * period * (1 - math.cos(t / period)))

def bump(m, key, by):
    if isinstance(m, dict) and isinstance(m.get(key), (int, float)):
        m[key] += by

def snapshot():
    # Only keys the fixture has: an older router's shape stays as it is.
    t = time.monotonic() - t0
    s = copy.deepcopy(base)
    bump(s, "callosum_uptime_seconds", t)
    pub = s.get("callosum_messages_published_total")
    dlv = s.get("callosum_messages_delivered_total")
    subs = s.get("callosum_subscriptions") or {}
    for i, (name, r) in enumerate(RATES.items()):
        bump(pub, name, int(grown(r, t, 6 + 3 * i)))
        bump(dlv, name, int(grown(r * max(subs.get(name, 1), 1) * 0.97, t,
                                  6 + 3 * i)))
    cross = s.get("callosum_cross_tract_messages_total") or {}
    bump(cross.get("internal"), "external", int(grown(RATES["external"], t, 9)))
    bump(cross.get("external"), "internal", int(grown(RATES["internal"], t, 6)))
    bump(s, "callosum_cross_tract_total",
         int(grown(RATES["external"], t, 9) + grown(RATES["internal"], t, 6)))
    bump(s, "callosum_frames_total", int(grown(2 * sum(RATES.values()), t, 5)))
    pending = s.get("callosum_pending")
    if isinstance(pending, dict) and "external" in pending:
        pending["external"] = int(3870 + 900 * math.sin(t / 4))
        slow = s.get("callosum_slow_subscribers")
        if slow:
            slow[0]["pending"] = max(pending["external"] - 258, 0)
    for key in ("callosum_publish_latency_seconds",
                "callosum_eventlog_write_latency_seconds"):
        h = s.get(key)
        if isinstance(h, dict) and "p50" in h and "p99" in h:
            h["p50"] *= 1 + 0.2 * math.sin(t / 3)
            h["p99"] *= 1 + 0.35 * math.sin(t / 5)
    if isinstance(s.get("callosum_emergence_score"), (int, float)):
        s["callosum_emergence_score"] = round(
            s["callosum_emergence_score"] + 0.1 * math.sin(t / 10), 3)
    # The synthesizer reads every logged event; its dialogue wobbles
    # around the 0.7 threshold; its times are as recent as they were.
    bump(s, "callosum_synth_events_total",
         int(grown(RATES["external"], t, 9) + grown(RATES["internal"], t, 6)))
    bump(s, "callosum_balanced_dialogue_events_total", int(t / 3))
    bal = (s.get("callosum_dialogue_balance") or {}).get("external")
    if isinstance(bal, dict) and isinstance(bal.get("internal"), float):
        bal["internal"] = round(min(1.0, max(0.0, bal["internal"] +
                                0.14 * math.sin(t / 4))), 3)
    ref = base.get("callosum_last_emergence_ts")
    if isinstance(ref, (int, float)) and 1e9 < ref < 1e11:
        shift = time.time() - 4 - ref
        s["callosum_last_emergence_ts"] = ref + shift
        for c in s.get("callosum_recent_candidates") or []:
            if isinstance(c.get("ts"), (int, float)):
                c["ts"] += shift
    return s

def health():
    # The router's rule (SPEC): degraded while the event log is in
    # fallback or a breaker is open.
    reasons = ["breaker open: %s" % name for name, st in
               (base.get("callosum_breaker_state") or {}).items() if st == 1]
    if base.get("callosum_eventlog_state") == "fallback":
        reasons.insert(0, "event log in fallback")
    if reasons:
        return {"status": "degraded", "reasons": reasons}
    return {"status": "ok"}

class Handler(BaseHTTPRequestHandler):
    def send(self, code, ctype, body):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/":
            with open(html_path, "rb") as f:
                self.send(200, "text/html; charset=utf-8", f.read())
        elif path == "/stats.json":
            self.send(200, "application/json",
                      json.dumps(snapshot()).encode())
        elif path == "/healthz":
            self.send(200, "application/json", json.dumps(health()).encode())
        else:
            self.send(404, "text/plain", b"not found\n")

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
EOF
	pids+=($!)
}

start_router() {
	local sock=$tmp/s.sock i
	"$bin/callosumd" --socket "$sock" --http "127.0.0.1:$port" \
	    >"$tmp/callosumd.log" 2>&1 &
	local router=$!
	pids+=("$router")
	for i in $(seq 1 100); do
		[ -S "$sock" ] && break
		if ! kill -0 "$router" 2>/dev/null; then
			wait "$router"
			local rc=$?
			if [ $rc = 64 ] && grep -q "not available yet" \
			    "$tmp/callosumd.log"; then
				skip "callosumd has no --http yet:" \
				    "$(cat "$tmp/callosumd.log")"
			fi
			fail "callosumd exited $rc: $(cat "$tmp/callosumd.log")"
		fi
		sleep 0.05
	done
	[ -S "$sock" ] || fail "callosumd: no socket after 5 s"

	# A subscriber, so delivered counts move too.
	"$bin/callosum" sub --socket "$sock" external >/dev/null 2>&1 &
	pids+=($!)
	# About 100 messages a second from internal into external, one
	# connection: a line producer into a FIFO that callosum pub --lines reads.
	mkfifo "$tmp/lines"
	(i=0; while :; do echo "tick $i"; i=$((i + 1)); sleep 0.01; done) \
	    >"$tmp/lines" 2>/dev/null &
	pids+=($!)
	"$bin/callosum" pub --socket "$sock" --from internal --lines external \
	    <"$tmp/lines" >/dev/null 2>"$tmp/pub.log" &
	pids+=($!)
	# DASHBOARD_TRAFFIC=CMD: more traffic for a screenshot (CMD gets the
	# socket in $CALLOSUM_SOCKET and the binaries in $CALLOSUM_BIN).
	if [ -n "${DASHBOARD_TRAFFIC-}" ]; then
		CALLOSUM_SOCKET=$sock CALLOSUM_BIN=$bin \
		    bash -c "$DASHBOARD_TRAFFIC" >/dev/null 2>&1 &
		pids+=($!)
	fi
}

if [ $mode = fixture ]; then
	start_fixture_server
else
	start_router
fi
url=http://127.0.0.1:$port/
wait_http "$url" 10 || fail "$url does not answer"
wait_http "${url}stats.json" 10 || fail "${url}stats.json does not answer"

# Chromium is driven over the DevTools protocol on a pipe (fds 3 and 4,
# --remote-debugging-pipe), so the page polls in real time and the script
# waits for a condition under a deadline. --dump-dom with
# --virtual-time-budget runs the polls too, but in virtual time: the page's
# polls come milliseconds apart, and rates over them say little.
chrome_flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage
    --no-first-run --no-default-browser-check --hide-scrollbars
    --window-size=1400,1000 --user-data-dir="$tmp/profile")

[ $mode = fixture ] && mode=fixture:$fixture
python3 - "$chrome" "$url" "$mode" "${DASHBOARD_PNG-}" "$tmp/dom.html" \
    "${chrome_flags[@]}" 2>&1 <<'EOF' &
import base64, json, os, select, signal, subprocess, sys, time

chrome, url, mode, png, dom_path = sys.argv[1:6]
flags = sys.argv[6:]
DEADLINE_S = 30		# for the page to show a rate
CALL_S = 10		# for Chromium to answer one command
# Seconds of polls after the check passes, before the screenshot.
SETTLE_S = float(os.environ.get("DASHBOARD_SETTLE_S", "5")) if png else 0

# What the test reads from the page: hooks the dashboard keeps stable.
PROBE = r"""(() => {
  const row = document.querySelector('tr[data-tract="external"]');
  const cell = (f) => row && row.querySelector('td[data-field="' + f + '"]');
  const slow = document.getElementById('slow-rows');
  return {
    polls: Number(document.getElementById('updated').textContent),
    reachable: document.body.getAttribute('data-reachable'),
    name: cell('name') ? cell('name').textContent : null,
    published_rate: cell('published_rate') ?
        cell('published_rate').textContent : null,
    status: document.getElementById('status').getAttribute('data-status'),
    tracts: Array.from(document.querySelectorAll('tr[data-tract]'),
        (tr) => tr.getAttribute('data-tract')),
    edges: document.querySelectorAll('#graph g.edge').length,
    slow_text: slow.textContent,
    slow_elements: slow.querySelectorAll('td *').length,
    dialogue: !document.getElementById('dialogue-body')
        .classList.contains('hidden'),
    dialogue_status: document.getElementById('dialogue-status')
        .classList.contains('hidden') ? '' :
        document.getElementById('dialogue-status').textContent,
    render_error: document.getElementById('last-error').textContent,
    synth_state: document.getElementById('synth-state')
        .getAttribute('data-state'),
    synth_pill: !document.getElementById('synth-state')
        .classList.contains('hidden'),
    pairs: Array.from(document.querySelectorAll('#balance-rows tr'),
        (tr) => tr.hasAttribute('data-pair-from') ?
            [tr.getAttribute('data-pair-from'),
             tr.getAttribute('data-pair-to'),
             tr.querySelectorAll('svg[data-spark="balance"] polyline')
                 .length] : null).filter((x) => x),
    candidates: Array.from(document.querySelectorAll('tr[data-candidate]'),
        (tr) => tr.getAttribute('data-candidate')),
    candidate_cells: Array.from(document.querySelectorAll(
        'tr[data-candidate]'), (tr) => Array.from(tr.cells,
            (td) => td.textContent)),
    patterns: Array.from(document.querySelectorAll('tr[data-pattern]'),
        (tr) => [tr.getAttribute('data-pattern'),
                 tr.getAttribute('data-promoted'),
                 tr.querySelectorAll('.pill.promoted').length]),
    dialogue_elements: document.querySelectorAll(
        '#pattern-rows td.name *, #candidate-rows td *').length,
    emergence_points: ((document.querySelector(
        '#spark-emergence polyline') || {getAttribute: () => ''})
        .getAttribute('points') || '').split(' ').filter((x) => x).length,
  };
})()"""

def terminate(signum, frame):
    raise SystemExit(1)
signal.signal(signal.SIGTERM, terminate)

to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
def child_fds():
    os.dup2(to_chrome_r, 3)
    os.dup2(from_chrome_w, 4)
proc = subprocess.Popen([chrome, *flags, "--remote-debugging-pipe",
                         "about:blank"],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=open(dom_path + ".chrome.log", "w"),
                        preexec_fn=child_fds, pass_fds=(3, 4))
os.close(to_chrome_r)
os.close(from_chrome_w)
buf, next_id = b"", 0

def call(method, session=None, **params):
    """One DevTools command; its result, or SystemExit after CALL_S."""
    global buf, next_id
    deadline = time.monotonic() + CALL_S
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params}
    if session:
        msg["sessionId"] = session
    os.write(to_chrome_w, json.dumps(msg).encode() + b"\0")
    while True:
        while b"\0" in buf:
            raw, buf = buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply:
                    sys.exit("FAIL: %s: %s" % (method, reply["error"]))
                return reply["result"]
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit("FAIL: no answer to %s within %d s" % (method, CALL_S))
        if select.select([from_chrome_r], [], [], left)[0]:
            chunk = os.read(from_chrome_r, 1 << 20)
            if not chunk:
                sys.exit("FAIL: chromium closed the DevTools pipe")
            buf += chunk

def dialogue_problems(state, fx):
    """What the dialogue panel shows against the fixture fx."""
    problems = []
    synth = fx.get("callosum_synth_state")
    score = fx.get("callosum_emergence_score")
    shown = isinstance(score, (int, float)) and synth != "off"
    if state["dialogue"] != shown:
        problems.append("dialogue panel shown: %s" % state["dialogue"])
    if not state["dialogue"] and \
            state["dialogue_status"] != "synthesizer not running":
        problems.append("dialogue status: %r" % state["dialogue_status"])
    if state["synth_state"] != (synth if isinstance(synth, str)
                                else "unknown") or \
            state["synth_pill"] != isinstance(synth, str):
        problems.append("synthesizer state pill: %r" % state["synth_state"])
    if state["dialogue_elements"]:
        problems.append("dialogue: a pattern was parsed as HTML")
    if not shown:
        for k in ("pairs", "candidates", "patterns"):
            if state[k]:
                problems.append("dialogue %s while not shown" % k)
        return problems
    pairs = [[a, b] for a, m in
             (fx.get("callosum_dialogue_balance") or {}).items()
             for b in m]
    if [p[:2] for p in state["pairs"]] != pairs:
        problems.append("balance rows %r, expected %r" %
                        (state["pairs"], pairs))
    if any(p[2] != 1 for p in state["pairs"]):
        problems.append("balance rows without a trend: %r" % state["pairs"])
    # Several polls have landed by now: the trend is a line.
    if state["emergence_points"] < 2:
        problems.append("emergence trend: %d points" %
                        state["emergence_points"])
    top = fx.get("callosum_top_patterns")
    if isinstance(top, list):
        want = [[p["pattern"], "true" if p.get("promoted") is True
                 else "false", 1 if p.get("promoted") is True else 0]
                for p in top[:10]]
        if state["patterns"] != want:
            problems.append("top patterns %r, expected %r" %
                            (state["patterns"], want))
    recent = fx.get("callosum_recent_candidates")
    if isinstance(recent, list):
        want = [c["pattern"] for c in recent[:8]]
        if state["candidates"] != want:
            problems.append("candidates %r, expected %r" %
                            (state["candidates"], want))
        for cells, c in zip(state["candidate_cells"], recent):
            # pattern, occurrences, sessions, models, when
            if cells[1] != str(c["occurrences"]) or \
                    not cells[2].startswith(c["sessions"][0][:16]) or \
                    not cells[3].startswith(c["models"][0][:16]) or \
                    not cells[4].endswith("ago") and cells[4] != "just now":
                problems.append("candidate row %r" % cells)
    return problems

def evaluate(session, expr):
    r = call("Runtime.evaluate", session, expression=expr,
             returnByValue=True)
    return r["result"].get("value")

try:
    target = call("Target.createTarget", url="about:blank")["targetId"]
    session = call("Target.attachToTarget", targetId=target,
                   flatten=True)["sessionId"]
    call("Emulation.setDeviceMetricsOverride", session, width=1400,
         height=1000, deviceScaleFactor=1, mobile=False)
    call("Page.navigate", session, url=url)
    state, ready_at = None, None
    deadline = time.monotonic() + DEADLINE_S + SETTLE_S
    while time.monotonic() < deadline:
        time.sleep(0.25)
        try:
            state = evaluate(session, PROBE)
        except SystemExit:
            raise
        except Exception:
            state = None
        if not state:
            continue
        try:
            ok = state["name"] == "external" and \
                float(state["published_rate"]) > 0
        except (TypeError, ValueError):
            ok = False
        if ok and ready_at is None:
            # Let more polls land so the trends have a shape.
            ready_at = time.monotonic() + SETTLE_S
        if ready_at is not None and time.monotonic() >= ready_at:
            break
    with open(dom_path, "w") as f:
        f.write(evaluate(session, "document.documentElement.outerHTML") or "")
    print("page:", json.dumps(state))
    if ready_at is None:
        sys.exit("FAIL: no published rate above 0 for tract external "
                 "within %d s (DOM in %s)" % (DEADLINE_S, dom_path))
    problems = []
    if state["render_error"]:
        problems.append("render error: " + state["render_error"])
    if state["slow_elements"]:
        problems.append("slow subscribers: a name was parsed as HTML")
    if mode.startswith("fixture:"):
        with open(mode[len("fixture:"):]) as f:
            fx = json.load(f)
        # Names arrive as text, "<b>critic</b>" included.
        for sub in fx.get("callosum_slow_subscribers", []):
            if isinstance(sub.get("agent"), str) and \
                    sub["agent"] not in state["slow_text"]:
                problems.append("slow subscribers: no agent %r" %
                                sub["agent"])
        problems += dialogue_problems(state, fx)
        pairs = sum(1 for a, m in
                    fx.get("callosum_cross_tract_messages_total", {}).items()
                    for b, n in m.items()
                    if a != b and isinstance(n, (int, float)) and n > 0)
        if state["edges"] != pairs:
            problems.append("graph: %d edges, expected %d" %
                            (state["edges"], pairs))
    elif state["synth_state"] not in ("off", "rebuilding", "behind", "live"):
        # The router always says what its synthesizer is doing.
        problems.append("synthesizer state: %r" % state["synth_state"])
    elif state["dialogue"] != (state["synth_state"] != "off"):
        problems.append("dialogue panel shown: %s with the synthesizer %s" %
                        (state["dialogue"], state["synth_state"]))
    if png:
        # The whole page, not the first 1000 pixels of it.
        height = evaluate(session, "document.documentElement.scrollHeight")
        call("Emulation.setDeviceMetricsOverride", session, width=1400,
             height=max(1000, int(height or 0)), deviceScaleFactor=1,
             mobile=False)
        time.sleep(0.3)
        shot = call("Page.captureScreenshot", session, format="png")
        with open(png, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("screenshot:", png)
    if problems:
        sys.exit("FAIL: " + "; ".join(problems))
finally:
    try:
        call("Browser.close")
    except BaseException:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
EOF
driver=$!
pids+=("$driver")
wait "$driver"
rc=$?
if [ $rc != 0 ]; then
	echo "--- chromium log (tail)" >&2
	grep -v dbus "$tmp/dom.html.chrome.log" | tail -n 20 >&2
	[ $mode = live ] && { echo "--- callosumd log" >&2; cat "$tmp/callosumd.log" >&2; }
	exit 1
fi
echo "PASS: tract external shows a published rate above 0 ($mode)"
