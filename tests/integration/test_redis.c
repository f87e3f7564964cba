/*
 * The Redis Streams event log (issue 17) against a real redis-server:
 * what the stream holds (the router's ids, every field, no intra-tract
 * event), kill -9 and SIGSTOP of Redis under load, a router started
 * before Redis, restart continuity and replay across runs, the full
 * fallback ring, reply order while acks wait on Redis, and the SIGTERM
 * drain into Redis (SPEC: "Event ids and the log").
 *
 * The first tests drive only redis_proc (no router), so that the helpers
 * are known to work whatever the router does. The others need
 * `callosumd --redis`; while it is not built they fail at once saying so
 * (require_redis_backend).
 *
 * Every wait has a deadline. The bounds: an ack never waits longer than
 * redis_timeout_ms (TIMEOUT_MS here) plus MARGIN_MS (ASan, two shared
 * cores); Redis back to synced within SYNC_MS (reconnect backoff is capped
 * near 2 s).
 */
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tests/support/harness.h"
#include "tests/support/redis_proc.h"

#define T		HARNESS_TIMEOUT_MS
#define Q		HARNESS_QUIET_MS
#define KEY		"callosum:events"
#define TIMEOUT_MS	300	/* the routers' redis_timeout_ms */
#define MARGIN_MS	1500	/* ASan on two shared cores */
#define ACK_BOUND_MS	(TIMEOUT_MS + MARGIN_MS)
#define SYNC_MS		15000	/* Redis back to direct, ring written */
#define DIRECT_MS	5000	/* a router with Redis up to direct */

static const char *
callosumd(void)
{
	const char	*bin = getenv("CALLOSUMD");

	if (bin == NULL || *bin == '\0')
		HFAIL("CALLOSUMD is not set (run the tests with ctest)");
	return (bin);
}

/*
 * Routers.
 */

/*
 * Fails the test (at file:line), saying why, when callosumd refuses --redis
 * as not built yet (config row CONFIG_UNBUILT): a bad --log-level after
 * --redis makes either build exit 64 at once, and only the reason tells
 * them apart.
 */
static void
require_redis_backend(const char *file, int line, struct harness *h,
    struct redis_proc *rp)
{
	struct harness_proc	*p;
	const char		*err;
	char			 probe[512];

	snprintf(probe, sizeof probe, "%s", harness_path(h, "probe.sock"));
	{
		const char	*argv[] = { callosumd(), "--socket", probe,
		    "--redis", redis_proc_url(rp), "--log-level",
		    "not-a-level", NULL };

		harness_run(h, argv, NULL, 10000, &p);
	}
	err = harness_proc_stderr(p);
	if (strstr(err, "not available yet") != NULL)
		harness_fail(file, line, "callosumd has no Redis backend yet "
		    "(issue 17): %s", err);
}

/*
 * Starts the router of h with --redis on rp's socket (Redis may be down)
 * and redis_timeout_ms = TIMEOUT_MS, plus the config lines extra.
 */
static void
router_start_at(const char *file, int line, struct harness *h,
    struct redis_proc *rp, const char *extra)
{
	const char	*args[] = { "--redis", redis_proc_url(rp), NULL };
	char		 conf[1024];

	require_redis_backend(file, line, h, rp);
	snprintf(conf, sizeof conf, "redis_timeout_ms = %d\n%s", TIMEOUT_MS,
	    extra != NULL ? extra : "");
	/* Not the macro: a failure is reported at the caller's line. */
	harness_loc(file, line);
	(harness_router_start)(h, conf, args);
}
#define router_start(...)	router_start_at(__FILE__, __LINE__, __VA_ARGS__)

static void
assert_exit_0(const char *what, int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		HFAIL("%s: want exit 0, got %s %d", what,
		    WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ?
		    WEXITSTATUS(status) : WTERMSIG(status));
}

/*
 * Stats: the event log's figures.
 */

struct eventlog {
	char		backend[32];
	char		state[32];
	uint64_t	fallback_depth;
	uint64_t	ev_redis;	/* events_total{redis} */
	uint64_t	ev_memory;	/* events_total{memory} */
	uint64_t	refused;
};

static uint64_t
stats_u64(const msgpack_object *f, const char *name)
{
	const msgpack_object	*o = harness_get(f, name);

	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		HFAIL("stats: no unsigned %s in %s", name, harness_dump(f));
	return (o->via.u64);
}

static void
stats_text(const msgpack_object *f, const char *name, char *buf,
    size_t size)
{
	const msgpack_object	*o = harness_get(f, name);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size >= size)
		HFAIL("stats: no str %s in %s", name, harness_dump(f));
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
}

static void
eventlog_get(struct client *c, struct eventlog *el)
{
	msgpack_object		 f;
	const msgpack_object	*tot;

	memset(el, 0, sizeof *el);
	harness_stats(c, &f);
	stats_text(&f, "callosum_eventlog_backend", el->backend,
	    sizeof el->backend);
	stats_text(&f, "callosum_eventlog_state", el->state, sizeof el->state);
	el->fallback_depth = stats_u64(&f, "callosum_eventlog_fallback_depth");
	el->refused = stats_u64(&f, "callosum_eventlog_refused_total");
	if ((tot = harness_get(&f, "callosum_eventlog_events_total")) == NULL ||
	    tot->type != MSGPACK_OBJECT_MAP)
		HFAIL("stats: no map callosum_eventlog_events_total in %s",
		    harness_dump(&f));
	el->ev_redis = stats_u64(tot, "redis");
	el->ev_memory = stats_u64(tot, "memory");
	if (strcmp(el->backend, "redis") != 0)
		HFAIL("callosum_eventlog_backend is \"%s\", want \"redis\"",
		    el->backend);
}

/*
 * A stopped Redis accepts connections (the kernel queues them), so a
 * router may try a resync that will time out: fallback or resync, never
 * direct.
 */
static void
assert_not_direct(const struct eventlog *el)
{
	if (strcmp(el->state, "fallback") != 0 &&
	    strcmp(el->state, "resync") != 0)
		HFAIL("event log state \"%s\" with Redis stopped, want "
		    "fallback or resync", el->state);
}

struct state_wait {
	struct client	*c;
	const char	*state;
	int64_t		 depth;		/* -1: any */
	struct eventlog	 last;
};

static bool
state_is(void *arg)
{
	struct state_wait	*sw = arg;

	eventlog_get(sw->c, &sw->last);
	return (strcmp(sw->last.state, sw->state) == 0 && (sw->depth < 0 ||
	    sw->last.fallback_depth == (uint64_t)sw->depth));
}

/*
 * Waits until stats say the event log is in state with fallback_depth
 * depth (-1: any).
 */
static void
wait_eventlog(struct client *c, const char *state, int64_t depth,
    int timeout_ms)
{
	struct state_wait	sw;

	memset(&sw, 0, sizeof sw);
	sw.c = c;
	sw.state = state;
	sw.depth = depth;

	if (!harness_poll(state_is, &sw, timeout_ms))
		HFAIL("event log still %s with fallback_depth %" PRIu64
		    " after %d ms, want %s with %" PRId64, sw.last.state,
		    sw.last.fallback_depth, timeout_ms, state, depth);
}

/*
 * Publishing and what the acks said.
 */

struct acked {
	char	eid[HARNESS_EID_MAX];
	char	stored[16];
	char	body[32];
};

/* A str-body pub whose ack must come within bound_ms and say stored. */
static void
pub_expect(struct client *c, const char *from, const char *to,
    const char *body, const char *stored, int bound_ms, struct acked *a)
{
	msgpack_object	f;
	uint64_t	id;
	int64_t		t0 = harness_now_ms(), took;

	id = harness_request(c, "op:s from:s to:s body:s", "pub", from, to,
	    body);
	harness_expect(c, "ack", bound_ms, &f);
	took = harness_now_ms() - t0;
	harness_assert_u64(&f, "id", id);
	harness_str(&f, "eid", a->eid, sizeof a->eid);
	harness_str(&f, "stored", a->stored, sizeof a->stored);
	snprintf(a->body, sizeof a->body, "%s", body);
	if (stored != NULL && strcmp(a->stored, stored) != 0)
		HFAIL("pub %s -> %s \"%s\" (eid %s): stored \"%s\", want "
		    "\"%s\"", from, to, body, a->eid, a->stored, stored);
	if (took > bound_ms)
		HFAIL("the ack of %s took %" PRId64 " ms, bound %d", a->eid,
		    took, bound_ms);
}

/*
 * n cross-tract pubs from -> to in one write, bodies prefix%03d; each ack
 * must say stored and arrive within bound_ms of the write.
 */
static void
pub_batch(struct client *c, const char *from, const char *to,
    const char *prefix, int n, const char *stored, int bound_ms,
    struct acked *a)
{
	msgpack_object	f;
	uint64_t	first = 0;
	int64_t		t0;
	int		i;

	for (i = 0; i < n; i++) {
		uint64_t	id = harness_id();

		if (i == 0)
			first = id;
		snprintf(a[i].body, sizeof a[i].body, "%s%03d", prefix, i);
		harness_pack(client_begin(c), "op:s from:s to:s body:s id:U",
		    "pub", from, to, a[i].body, id);
		if (client_end(c) == -1)
			HFAIL("client_end: %s", strerror(errno));
	}
	t0 = harness_now_ms();
	if (client_flush(c) == -1)
		HFAIL("client_flush: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		int64_t	left = t0 + bound_ms - harness_now_ms();

		harness_expect(c, "ack", left < 1 ? 1 : (int)left, &f);
		harness_assert_u64(&f, "id", first + (uint64_t)i);
		harness_str(&f, "eid", a[i].eid, sizeof a[i].eid);
		harness_str(&f, "stored", a[i].stored, sizeof a[i].stored);
		if (stored != NULL && strcmp(a[i].stored, stored) != 0)
			HFAIL("pub %d of %d (eid %s): stored \"%s\", want "
			    "\"%s\"", i, n, a[i].eid, a[i].stored, stored);
	}
}

/*
 * The stream.
 */

static const char *
field_text(const struct redis_field *fl, char *buf, size_t size)
{
	size_t	n = fl->len < size - 1 ? fl->len : size - 1;

	memcpy(buf, fl->value, n);
	buf[n] = '\0';
	return (buf);
}

/* Asserts that field name of e holds exactly len bytes p. */
static void
assert_field(const struct redis_entry *e, const char *name, const void *p,
    size_t len)
{
	const struct redis_field	*fl = redis_entry_get(e, name);
	char				 buf[128];

	if (fl == NULL)
		HFAIL("entry %s has no field %s", e->id, name);
	if (fl->len != len || memcmp(fl->value, p, len) != 0)
		HFAIL("entry %s: field %s is \"%s\" (%zu bytes), want \"%.*s\" "
		    "(%zu bytes)", e->id, name, field_text(fl, buf,
		    sizeof buf), fl->len, (int)(len > 100 ? 100 : len),
		    (const char *)p, len);
}

static void
assert_field_str(const struct redis_entry *e, const char *name,
    const char *want)
{
	assert_field(e, name, want, strlen(want));
}

/* Asserts that the stream holds exactly one entry with id eid, now. */
static void
assert_in_stream_now(struct redis_proc *rp, const char *eid)
{
	struct redis_entries	*r = redis_xrange(rp, KEY, eid, eid);

	if (r->n != 1 || strcmp(r->v[0].id, eid) != 0)
		HFAIL("ack said redis, but XRANGE %s %s right after it "
		    "returned %zu entries", eid, eid, r->n);
	redis_entries_free(r);
}

static void
assert_not_in_stream(struct redis_proc *rp, const char *eid)
{
	struct redis_entries	*r = redis_xrange(rp, KEY, eid, eid);

	if (r->n != 0)
		HFAIL("the stream holds %s, which must not be logged", eid);
	redis_entries_free(r);
}

/*
 * Asserts that the stream holds exactly the n events of a, in order, each
 * once, with its body, from and to.
 */
static void
assert_stream_is(struct redis_proc *rp, const struct acked *a, int n,
    const char *from, const char *to)
{
	struct redis_entries	*r = redis_xrange(rp, KEY, "-", "+");
	size_t			 i;

	for (i = 0; i < r->n && i < (size_t)n; i++) {
		if (strcmp(r->v[i].id, a[i].eid) != 0)
			HFAIL("stream entry %zu is %s, want %s (acked %s; %zu "
			    "entries, %d acked)", i, r->v[i].id, a[i].eid,
			    a[i].stored, r->n, n);
		assert_field_str(&r->v[i], "body", a[i].body);
		if (from != NULL)
			assert_field_str(&r->v[i], "from", from);
		if (to != NULL)
			assert_field_str(&r->v[i], "to", to);
	}
	if (r->n != (size_t)n)
		HFAIL("the stream holds %zu entries, want the %d acked (first "
		    "extra or missing: %s)", r->n, n, r->n > (size_t)n ?
		    r->v[n].id : a[r->n].eid);
	redis_entries_free(r);
}

/*
 * Asserts that no other stream under the prefix (the candidates' aside)
 * holds an entry: an event recognised as already in Redis must not be
 * written again anywhere, and one written elsewhere is not in the log in
 * id order.
 */
static void
assert_no_event_elsewhere(struct redis_proc *rp)
{
	struct redisReply	*keys = redis_command(rp, "KEYS %s",
	    "callosum:*");
	size_t			 i;

	if (keys->type != REDIS_REPLY_ARRAY)
		HFAIL("KEYS callosum:* did not return an array");
	for (i = 0; i < keys->elements; i++) {
		const char		*name = keys->element[i]->str;
		struct redisReply	*t;
		bool			 stream;

		if (strcmp(name, KEY) == 0 ||
		    strcmp(name, "callosum:candidates") == 0)
			continue;
		t = redis_command(rp, "TYPE %s", name);
		stream = t->type == REDIS_REPLY_STATUS &&
		    strcmp(t->str, "stream") == 0;
		redis_reply_free(t);
		if (stream && redis_xlen(rp, name) > 0)
			HFAIL("stream %s holds %lld entries: events written "
			    "beside %s", name, redis_xlen(rp, name), KEY);
	}
	redis_reply_free(keys);
}

/*
 * The fields of a logged event, as the stream must hold them.
 */
struct want {
	const char		*from;
	const char		*to;
	const char		*kind;
	double			 pri;
	const char		*agent;
	const char		*session;
	const char		*model;
	const void		*body;
	size_t			 body_len;
	const char		*pattern;	/* NULL: no field */
	const char *const	*hdr;		/* NULL: no field */
	int64_t			 ts;
};

/* A decimal text number: digits, one '.', a leading '-'. */
static bool
decimal_text(const struct redis_field *fl, bool integer)
{
	size_t	i;
	int	dots = 0, digits = 0;

	for (i = 0; i < fl->len; i++) {
		char	ch = fl->value[i];

		if (ch >= '0' && ch <= '9')
			digits++;
		else if (ch == '.' && !integer && dots++ == 0)
			continue;
		else if (!(ch == '-' && i == 0))
			return (false);
	}
	return (digits > 0);
}

/* Asserts that hdr bytes are one msgpack map equal to want (any order). */
static void
assert_hdr_bytes(const struct redis_entry *e, const struct redis_field *fl,
    const char *const *want)
{
	msgpack_unpacked	up;
	size_t			off = 0, n, i, k;
	msgpack_object		m;

	for (n = 0; want[n] != NULL; n += 2)
		;
	n /= 2;
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, fl->value, fl->len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || off != fl->len ||
	    up.data.type != MSGPACK_OBJECT_MAP)
		HFAIL("entry %s: hdr (%zu bytes) is not exactly one msgpack "
		    "map", e->id, fl->len);
	m = up.data;
	if (m.via.map.size != n)
		HFAIL("entry %s: hdr has %u entries, want %zu: %s", e->id,
		    m.via.map.size, n, harness_dump(&m));
	for (i = 0; i < n; i++) {
		bool	found = false;

		for (k = 0; k < m.via.map.size && !found; k++) {
			const msgpack_object	*key = &m.via.map.ptr[k].key;
			const msgpack_object	*val = &m.via.map.ptr[k].val;

			found = key->type == MSGPACK_OBJECT_STR &&
			    val->type == MSGPACK_OBJECT_STR &&
			    key->via.str.size == strlen(want[2 * i]) &&
			    memcmp(key->via.str.ptr, want[2 * i],
			    key->via.str.size) == 0 &&
			    val->via.str.size == strlen(want[2 * i + 1]) &&
			    memcmp(val->via.str.ptr, want[2 * i + 1],
			    val->via.str.size) == 0;
		}
		if (!found)
			HFAIL("entry %s: hdr has no %s: %s in %s", e->id,
			    want[2 * i], want[2 * i + 1], harness_dump(&m));
	}
	msgpack_unpacked_destroy(&up);
}

/*
 * Asserts that entry e is eid with exactly the fields of w: from, to,
 * kind, pri, agent, session, model, ts, body, and pattern and hdr only
 * when set; pri and ts as decimal text.
 */
static void
assert_entry(const struct redis_entry *e, const char *eid,
    const struct want *w)
{
	static const char *const base[] = { "from", "to", "kind", "pri",
	    "agent", "session", "model", "ts", "body" };
	const char			*names[11];
	bool				 seen[11];
	const struct redis_field	*fl;
	size_t				 nnames = 0, i, k;
	char				 buf[64], *end;
	double				 pri;
	long long			 ts;

	if (strcmp(e->id, eid) != 0)
		HFAIL("stream entry is %s, want %s", e->id, eid);
	for (i = 0; i < sizeof base / sizeof base[0]; i++)
		names[nnames++] = base[i];
	if (w->pattern != NULL)
		names[nnames++] = "pattern";
	if (w->hdr != NULL)
		names[nnames++] = "hdr";
	memset(seen, 0, sizeof seen);
	for (i = 0; i < e->nfields; i++) {
		for (k = 0; k < nnames; k++)
			if (e->fields[i].name_len == strlen(names[k]) &&
			    memcmp(e->fields[i].name, names[k],
			    e->fields[i].name_len) == 0)
				break;
		if (k == nnames)
			HFAIL("entry %s has a field \"%.*s\" it must not have",
			    eid, (int)e->fields[i].name_len,
			    e->fields[i].name);
		if (seen[k])
			HFAIL("entry %s has field %s twice", eid, names[k]);
		seen[k] = true;
	}
	for (k = 0; k < nnames; k++)
		if (!seen[k])
			HFAIL("entry %s has no field %s", eid, names[k]);

	assert_field_str(e, "from", w->from);
	assert_field_str(e, "to", w->to);
	assert_field_str(e, "kind", w->kind);
	assert_field_str(e, "agent", w->agent);
	assert_field_str(e, "session", w->session);
	assert_field_str(e, "model", w->model);
	assert_field(e, "body", w->body, w->body_len);
	if (w->pattern != NULL)
		assert_field_str(e, "pattern", w->pattern);

	fl = redis_entry_get(e, "pri");
	field_text(fl, buf, sizeof buf);
	pri = strtod(buf, &end);
	if (!decimal_text(fl, false) || *end != '\0' || pri != w->pri)
		HFAIL("entry %s: pri \"%s\", want decimal text of %g", eid, buf,
		    w->pri);
	fl = redis_entry_get(e, "ts");
	field_text(fl, buf, sizeof buf);
	errno = 0;
	ts = strtoll(buf, &end, 10);
	if (!decimal_text(fl, true) || *end != '\0' || errno != 0 ||
	    ts != w->ts)
		HFAIL("entry %s: ts \"%s\", want %" PRId64, eid, buf, w->ts);
	if (w->hdr != NULL)
		assert_hdr_bytes(e, redis_entry_get(e, "hdr"), w->hdr);
}

/*
 * Copies of frames (a received frame lives until the next receive), and
 * the comparison of a replayed event with the live one.
 */

struct saved {
	msgpack_sbuffer		sb;
	msgpack_unpacked	up;
};

static void
save_frame(struct saved *s, const msgpack_object *f)
{
	msgpack_packer	pk;
	size_t		off = 0;

	msgpack_sbuffer_init(&s->sb);
	msgpack_packer_init(&pk, &s->sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *f);
	msgpack_unpacked_init(&s->up);
	if (msgpack_unpack_next(&s->up, s->sb.data, s->sb.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		HFAIL("cannot copy %s", harness_dump(f));
}

static void
saved_free(struct saved *s)
{
	msgpack_unpacked_destroy(&s->up);
	msgpack_sbuffer_destroy(&s->sb);
}

static bool
obj_bytes(const msgpack_object *o, const char **p, size_t *len)
{
	if (o->type == MSGPACK_OBJECT_STR) {
		*p = o->via.str.ptr;
		*len = o->via.str.size;
		return (true);
	}
	if (o->type == MSGPACK_OBJECT_BIN) {
		*p = o->via.bin.ptr;
		*len = o->via.bin.size;
		return (true);
	}
	return (false);
}

static bool
obj_num(const msgpack_object *o, double *out)
{
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*out = o->via.f64;
		return (true);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = (double)o->via.u64;
		return (true);
	default:
		return (false);
	}
}

/* Two str -> str maps with the same entries, in any order. */
static bool
map_same(const msgpack_object *a, const msgpack_object *b)
{
	uint32_t	i, k;

	if (a->type != MSGPACK_OBJECT_MAP || b->type != MSGPACK_OBJECT_MAP ||
	    a->via.map.size != b->via.map.size)
		return (false);
	for (i = 0; i < a->via.map.size; i++) {
		for (k = 0; k < b->via.map.size; k++)
			if (msgpack_object_equal(a->via.map.ptr[i].key,
			    b->via.map.ptr[k].key))
				break;
		if (k == b->via.map.size || !msgpack_object_equal(
		    a->via.map.ptr[i].val, b->via.map.ptr[k].val))
			return (false);
	}
	return (true);
}

/*
 * Asserts that got (a replayed msg) is the event of want (the live msg):
 * every field but sid, the same and no other; body the same bytes (Redis
 * keeps bytes, not the str/bin type), pri the same number, hdr the same
 * entries in any order.
 */
static void
assert_same_event(const msgpack_object *want, const msgpack_object *got,
    const char *what)
{
	char		wbuf[4096];
	uint32_t	i;

	snprintf(wbuf, sizeof wbuf, "%s", harness_dump(want));
	for (i = 0; i < want->via.map.size; i++) {
		const msgpack_object	*k = &want->via.map.ptr[i].key;
		const msgpack_object	*wv = &want->via.map.ptr[i].val;
		const msgpack_object	*gv;
		char			 key[32];
		bool			 same;

		if (k->type != MSGPACK_OBJECT_STR ||
		    k->via.str.size >= sizeof key)
			continue;
		memcpy(key, k->via.str.ptr, k->via.str.size);
		key[k->via.str.size] = '\0';
		if (strcmp(key, "sid") == 0)
			continue;
		if ((gv = harness_get(got, key)) == NULL)
			HFAIL("%s: no %s in %s\nwant %s", what, key,
			    harness_dump(got), wbuf);
		if (strcmp(key, "body") == 0) {
			const char	*wp, *gp;
			size_t		 wl, gl;

			same = obj_bytes(wv, &wp, &wl) &&
			    obj_bytes(gv, &gp, &gl) && wl == gl &&
			    memcmp(wp, gp, wl) == 0;
		} else if (strcmp(key, "pri") == 0) {
			double	wd, gd;

			same = obj_num(wv, &wd) && obj_num(gv, &gd) &&
			    wd == gd;
		} else if (strcmp(key, "hdr") == 0)
			same = map_same(wv, gv);
		else
			same = msgpack_object_equal(*wv, *gv);
		if (!same)
			HFAIL("%s: %s differs: got %s\nwant %s", what, key,
			    harness_dump(got), wbuf);
	}
	for (i = 0; i < got->via.map.size; i++) {
		const msgpack_object	*k = &got->via.map.ptr[i].key;
		char			 key[32];

		if (k->type != MSGPACK_OBJECT_STR ||
		    k->via.str.size >= sizeof key)
			HFAIL("%s: odd key in %s", what, harness_dump(got));
		memcpy(key, k->via.str.ptr, k->via.str.size);
		key[k->via.str.size] = '\0';
		if (strcmp(key, "sid") != 0 && harness_get(want, key) == NULL)
			HFAIL("%s: extra field %s in %s\nwant %s", what, key,
			    harness_dump(got), wbuf);
	}
}

/*
 * Tests of the helpers alone: redis-server started, inspected, killed,
 * stopped, continued and restarted, with no router.
 */

/* XADDs n entries with ids 1-1 .. 1-n and bodies b1 .. bn. */
static void
seed_entries(struct redis_proc *rp, int n)
{
	struct redisReply	*r;
	char			 id[32], body[32];
	int			 i;

	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof id, "1-%d", i);
		snprintf(body, sizeof body, "b%d", i);
		r = redis_command(rp, "XADD %s %s from %s body %b", KEY, id,
		    "x", body, strlen(body));
		if (r->type != REDIS_REPLY_STRING || strcmp(r->str, id) != 0)
			HFAIL("XADD %s: %s", id, r->type == REDIS_REPLY_ERROR ?
			    r->str : "not the id");
		redis_reply_free(r);
	}
}

HARNESS_TEST(test_redis_proc_starts_inspects_stops_and_restarts_redis)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp;
	struct redis_entries	*r;
	struct redisReply	*rep;
	char			 last[HARNESS_EID_MAX], want[256];
	long long		 len;
	int64_t			 t0;
	size_t			 i;
	pid_t			 pid;

	(void)state;
	rp = redis_proc_new(h, 0);
	/* Not started: its socket does not exist yet. */
	assert_false(harness_sock_accepts(redis_proc_sock(rp)));
	assert_int_equal(redis_proc_pid(rp), -1);
	snprintf(want, sizeof want, "unix://%s/redis.sock", harness_dir(h));
	assert_string_equal(redis_proc_url(rp), want);
	redis_proc_start(rp);
	assert_true(redis_proc_running(rp));

	/* Private: a Unix socket only, nothing saved. */
	rep = redis_command(rp, "CONFIG GET port");
	assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
	assert_int_equal(rep->elements, 2);
	assert_string_equal(rep->element[1]->str, "0");
	redis_reply_free(rep);
	rep = redis_command(rp, "CONFIG GET save");
	assert_string_equal(rep->element[1]->str, "");
	redis_reply_free(rep);

	assert_int_equal(redis_xlen(rp, KEY), 0);
	assert_false(redis_stream_info(rp, KEY, last, sizeof last, &len));
	/* More than two pages of XRANGE. */
	seed_entries(rp, 2 * REDIS_PROC_PAGE + 1);
	assert_int_equal(redis_xlen(rp, KEY), 2 * REDIS_PROC_PAGE + 1);
	assert_true(redis_stream_info(rp, KEY, last, sizeof last, &len));
	snprintf(want, sizeof want, "1-%d", 2 * REDIS_PROC_PAGE + 1);
	assert_string_equal(last, want);
	assert_int_equal(len, 2 * REDIS_PROC_PAGE + 1);
	r = redis_xrange(rp, KEY, "-", "+");
	assert_int_equal(r->n, 2 * REDIS_PROC_PAGE + 1);
	for (i = 0; i < r->n; i++) {
		snprintf(want, sizeof want, "1-%zu", i + 1);
		assert_string_equal(r->v[i].id, want);
		assert_int_equal(r->v[i].nfields, 2);
		snprintf(want, sizeof want, "b%zu", i + 1);
		assert_field_str(&r->v[i], "body", want);
		assert_field_str(&r->v[i], "from", "x");
		assert_null(redis_entry_get(&r->v[i], "to"));
	}
	redis_entries_free(r);
	r = redis_xrange(rp, KEY, "1-7", "1-9");
	assert_int_equal(r->n, 3);
	assert_string_equal(r->v[0].id, "1-7");
	assert_string_equal(r->v[2].id, "1-9");
	/* Left for teardown to free. */

	/* Stopped: accepts (the kernel queues) but never answers. */
	redis_proc_pause(rp);
	t0 = harness_now_ms();
	assert_false(redis_try_ping(rp, 200));
	assert_true(harness_now_ms() - t0 < 2000);
	redis_proc_resume(rp);
	assert_true(redis_try_ping(rp, 2000));
	assert_int_equal(redis_xlen(rp, KEY), 2 * REDIS_PROC_PAGE + 1);

	/* kill -9: the stale socket refuses; a restart without AOF is empty. */
	pid = redis_proc_pid(rp);
	assert_true(pid > 0);
	redis_proc_kill9(rp);
	assert_false(redis_proc_running(rp));
	assert_int_equal(redis_proc_pid(rp), -1);
	assert_int_equal(kill(pid, 0), -1);
	assert_false(harness_sock_accepts(redis_proc_sock(rp)));
	assert_false(redis_try_ping(rp, 200));
	redis_proc_start(rp);
	assert_true(redis_proc_pid(rp) != pid);
	assert_int_equal(redis_xlen(rp, KEY), 0);
	/* Killed while stopped: SIGKILL needs no SIGCONT. */
	redis_proc_pause(rp);
	redis_proc_kill9(rp);
	redis_proc_start(rp);
	assert_true(redis_try_ping(rp, 2000));
}

HARNESS_TEST(test_redis_proc_restarts_from_its_aof_after_kill9)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp;
	struct redisReply	*rep;
	struct redis_entries	*r;
	char			 last[HARNESS_EID_MAX];
	long long		 len;
	static const char	 bin[] = { 'a', '\0', (char)0xff, 'z' };

	(void)state;
	rp = redis_proc_spawn(h, REDIS_PROC_AOF);
	rep = redis_command(rp, "CONFIG GET appendfsync");
	assert_string_equal(rep->element[1]->str, "always");
	redis_reply_free(rep);
	seed_entries(rp, 3);
	/* Raw bytes survive the AOF. */
	rep = redis_command(rp, "XADD %s 2-0 body %b", KEY, bin, sizeof bin);
	assert_int_equal(rep->type, REDIS_REPLY_STRING);
	redis_reply_free(rep);
	redis_proc_kill9(rp);
	redis_proc_start(rp);
	assert_int_equal(redis_xlen(rp, KEY), 4);
	assert_true(redis_stream_info(rp, KEY, last, sizeof last, &len));
	assert_string_equal(last, "2-0");
	r = redis_xrange(rp, KEY, "2-0", "+");
	assert_int_equal(r->n, 1);
	assert_field(&r->v[0], "body", bin, sizeof bin);
	redis_entries_free(r);
}

HARNESS_TEST(test_redis_proc_hidden_restart_unreachable_until_revealed)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp;
	char			 url_sock[512];

	(void)state;
	rp = redis_proc_spawn(h, REDIS_PROC_AOF);
	seed_entries(rp, 2);
	snprintf(url_sock, sizeof url_sock, "%s", redis_proc_sock(rp));
	redis_proc_kill9(rp);
	redis_proc_start_hidden(rp, "redis-next.sock");
	/* The router's path refuses; the sync client reaches it. */
	assert_false(harness_sock_accepts(url_sock));
	assert_int_equal(redis_xlen(rp, KEY), 2);
	redis_proc_reveal(rp);
	assert_string_equal(redis_proc_sock(rp), url_sock);
	assert_true(harness_sock_accepts(url_sock));
	assert_int_equal(redis_xlen(rp, KEY), 2);
	/* Killed and started again on the usual socket. */
	redis_proc_kill9(rp);
	redis_proc_start(rp);
	assert_int_equal(redis_xlen(rp, KEY), 2);
}

/*
 * 1. What the stream holds.
 */

HARNESS_TEST(test_cross_tract_events_are_in_the_stream_with_every_field)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	struct client_hello	 hello = { .agent = "writer", .session = "s-1",
	    .model = "m-1", .tract = "home" };
	struct client		*p, *s;
	struct redis_entries	*r;
	struct eventlog		 el;
	msgpack_object		 f;
	const char *const	 hdr[] = { "corr", "c-1", "traceparent",
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL };
	static const char	 bin[] = { 'b', '\0', (char)0xff, (char)0xfe,
	    'n', '\n', (char)0x80 };
	char			 eids[4][HARNESS_EID_MAX], stored[16];
	int64_t			 ts[4];
	uint64_t		 id;
	int			 i;

	(void)state;
	router_start(h, rp, NULL);
	p = harness_client_hello(h, &hello);
	s = harness_client(h, "watcher");
	harness_sub(s, 1, "t1-b", 100, NULL, 0);
	wait_eventlog(p, "direct", 0, DIRECT_MS);

	/* 0: every optional field set, a bin body that is not UTF-8. */
	id = harness_request(p, "op:s from:s to:s kind:s pattern:s pri:d "
	    "hdr:M body:b", "pub", "t1-a", "t1-b", "bframe", "pat-1", 0.25,
	    hdr, bin, sizeof bin);
	harness_expect_ack(p, id, &f);
	harness_str(&f, "eid", eids[0], HARNESS_EID_MAX);
	harness_assert_str(&f, "stored", "redis");
	assert_in_stream_now(rp, eids[0]);
	/* 1: the defaults (kind msg, pri 0.5), no pattern, no hdr. */
	id = harness_request(p, "op:s from:s to:s body:s", "pub", "t1-c",
	    "t1-b", "plain");
	harness_expect_ack(p, id, &f);
	harness_str(&f, "eid", eids[1], HARNESS_EID_MAX);
	harness_assert_str(&f, "stored", "redis");
	assert_in_stream_now(rp, eids[1]);
	/* 2: same tract: not logged. */
	id = harness_request(p, "op:s from:s to:s body:s", "pub", "t1-b",
	    "t1-b", "same");
	harness_expect_ack(p, id, &f);
	harness_str(&f, "eid", eids[2], HARNESS_EID_MAX);
	harness_assert_str(&f, "stored", "none");
	/* 3: from defaults to hello's tract: cross-tract. */
	id = harness_request(p, "op:s to:s body:s", "pub", "t1-b", "homed");
	harness_expect_ack(p, id, &f);
	harness_str(&f, "eid", eids[3], HARNESS_EID_MAX);
	harness_str(&f, "stored", stored, sizeof stored);
	if (strcmp(stored, "redis") != 0)
		HFAIL("pub from hello's tract home to t1-b: stored \"%s\", "
		    "want \"redis\"", stored);
	assert_in_stream_now(rp, eids[3]);
	for (i = 1; i < 4; i++)
		assert_true(harness_eid_cmp(eids[i - 1], eids[i]) < 0);

	/* The live msgs give the ts the log must hold. */
	for (i = 0; i < 4; i++) {
		char	eid[HARNESS_EID_MAX];

		harness_expect(s, "msg", T, &f);
		harness_str(&f, "eid", eid, sizeof eid);
		assert_string_equal(eid, eids[i]);
		ts[i] = harness_i64(&f, "ts");
	}

	assert_not_in_stream(rp, eids[2]);
	assert_int_equal(redis_xlen(rp, KEY), 3);
	r = redis_xrange(rp, KEY, "-", "+");
	assert_int_equal(r->n, 3);
	{
		struct want	w0 = { "t1-a", "t1-b", "bframe", 0.25,
		    "writer", "s-1", "m-1", bin, sizeof bin, "pat-1", hdr,
		    ts[0] };
		struct want	w1 = { "t1-c", "t1-b", "msg", 0.5, "writer",
		    "s-1", "m-1", "plain", 5, NULL, NULL, ts[1] };
		struct want	w3 = { "home", "t1-b", "msg", 0.5, "writer",
		    "s-1", "m-1", "homed", 5, NULL, NULL, ts[3] };

		assert_entry(&r->v[0], eids[0], &w0);
		assert_entry(&r->v[1], eids[1], &w1);
		assert_entry(&r->v[2], eids[3], &w3);
	}
	eventlog_get(p, &el);
	assert_string_equal(el.state, "direct");
	assert_int_equal(el.ev_redis, 3);
	assert_int_equal(el.ev_memory, 0);
	assert_int_equal(el.fallback_depth, 0);
}

#define BURST		200
#define PAUSED		10
/* Redis holds writes this long: well inside redis_timeout_ms. */
#define WRITE_PAUSE_MS	150

/*
 * n pubs src -> dst (bodies prefix%03d) in one write, so that many XADDs
 * are in flight at once; each ack must say redis and its entry be in the
 * stream when the ack is read. Returns the ms from the write to the
 * first ack.
 */
static int64_t
burst_checked(struct client *p, struct redis_proc *rp, const char *prefix,
    int n)
{
	struct redis_entries	*r;
	msgpack_object		 f;
	char			 eid[HARNESS_EID_MAX], body[32];
	uint64_t		 first = 0;
	int64_t			 t0, first_ms = 0;
	int			 i;

	for (i = 0; i < n; i++) {
		uint64_t	id = harness_id();

		if (i == 0)
			first = id;
		snprintf(body, sizeof body, "%s%03d", prefix, i);
		harness_pack(client_begin(p), "op:s from:s to:s body:s id:U",
		    "pub", "src", "dst", body, id);
		if (client_end(p) == -1)
			HFAIL("client_end: %s", strerror(errno));
	}
	t0 = harness_now_ms();
	if (client_flush(p) == -1)
		HFAIL("client_flush: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		harness_expect(p, "ack", ACK_BOUND_MS, &f);
		if (i == 0)
			first_ms = harness_now_ms() - t0;
		harness_assert_u64(&f, "id", first + (uint64_t)i);
		harness_assert_str(&f, "stored", "redis");
		harness_str(&f, "eid", eid, sizeof eid);
		r = redis_xrange(rp, KEY, eid, eid);
		if (r->n != 1)
			HFAIL("ack %d of %d said redis, but XRANGE %s %s right "
			    "after it returned %zu entries", i, n, eid, eid,
			    r->n);
		snprintf(body, sizeof body, "%s%03d", prefix, i);
		assert_field_str(&r->v[0], "body", body);
		redis_entries_free(r);
	}
	return (first_ms);
}

HARNESS_TEST(test_an_ack_saying_redis_means_the_entry_is_already_there)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	struct redisReply	*rep;
	struct client		*p;
	int64_t			 first_ms;

	(void)state;
	router_start(h, rp, NULL);
	p = harness_client(h, "burst");
	wait_eventlog(p, "direct", 0, DIRECT_MS);
	burst_checked(p, rp, "burst-", BURST);
	assert_int_equal(redis_xlen(rp, KEY), BURST);

	/*
	 * Redis holds writes but serves reads (CLIENT PAUSE WRITE): an ack
	 * sent before Redis answered its XADD would find no entry.
	 */
	rep = redis_command(rp, "CLIENT PAUSE %d WRITE", WRITE_PAUSE_MS);
	if (rep->type != REDIS_REPLY_STATUS)
		HFAIL("CLIENT PAUSE %d WRITE failed", WRITE_PAUSE_MS);
	redis_reply_free(rep);
	first_ms = burst_checked(p, rp, "paused-", PAUSED);
	if (first_ms < WRITE_PAUSE_MS / 2)
		HFAIL("the first ack came %" PRId64 " ms after the write, "
		    "while Redis held writes for %d ms", first_ms,
		    WRITE_PAUSE_MS);
	assert_int_equal(redis_xlen(rp, KEY), BURST + PAUSED);
}

/*
 * 2. kill -9 of Redis under a steady publishing load.
 */

#define LOAD_WINDOW	8	/* pubs in flight at most */
#define LOAD_PACE_MS	2	/* one pub per LOAD_PACE_MS at most */
#define LOAD_MAX	20000
#define LOAD_STALL_MS	10000	/* the thread gives up: no hang */
#define LOAD_BEFORE	200	/* acks before the kill */
#define LOAD_DOWN	500	/* memory acks while Redis is down */
#define LOAD_AFTER	200	/* redis acks after the restart */

/* What the main thread did to Redis so far. */
#define LOAD_UP		0
#define LOAD_KILLED	1
#define LOAD_RESTARTED	2

struct load_ack {
	char	eid[HARNESS_EID_MAX];
	bool	redis;		/* stored redis, else memory */
};

struct load {
	struct client		*c;
	struct load_ack		*acks;		/* [LOAD_MAX] */
	int64_t			*sent_ms;	/* [LOAD_MAX] */
	atomic_int		 stop;
	atomic_int		 phase;		/* LOAD_UP, ... */
	atomic_int		 nacked;
	atomic_int		 nmemory;
	atomic_int		 ndown;		/* memory, from LOAD_KILLED */
	atomic_int		 nredis_after;	/* redis, in LOAD_RESTARTED */
	atomic_int		 failed;
	char			 why[512];	/* set before failed */
	/* Read after the join. */
	int64_t			 max_lat_ms;
	int			 max_lat_i;
	int64_t			 max_gap_ms;
	int			 max_gap_i;
};

static void *
load_fail(struct load *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void *
load_fail(struct load *l, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(l->why, sizeof l->why, fmt, ap);
	va_end(ap);
	atomic_store(&l->failed, 1);
	return (NULL);
}

/*
 * The publisher: cross-tract pubs load-a -> load-b with ids 1, 2, ...
 * and bodies L%06d, at most LOAD_WINDOW in flight, paced; every ack is
 * recorded with the time since its pub and since the previous ack. No
 * cmocka call here: a failure is recorded for the main thread.
 */
static void *
load_main(void *arg)
{
	struct load	*l = arg;
	msgpack_object	 f;
	int64_t		 next_send = harness_now_ms(), last_ack = next_send;
	int		 nsent = 0, nacked = 0;

	for (;;) {
		int64_t			 now = harness_now_ms();
		bool			 stopping = atomic_load(&l->stop) != 0;
		bool			 room;
		const msgpack_object	*o;
		int			 r, wait;

		room = !stopping && nsent < LOAD_MAX &&
		    nsent - nacked < LOAD_WINDOW;
		if (stopping && nacked == nsent)
			return (NULL);
		if (room && now >= next_send) {
			char	body[16];

			snprintf(body, sizeof body, "L%06d", nsent);
			harness_pack(client_begin(l->c),
			    "op:s from:s to:s body:s id:U", "pub", "load-a",
			    "load-b", body, (uint64_t)nsent + 1);
			if (client_send(l->c) == -1)
				return (load_fail(l, "send pub %d: %s", nsent,
				    strerror(errno)));
			l->sent_ms[nsent++] = now;
			/* Steady: after a stall, no burst to catch up. */
			next_send = next_send + LOAD_PACE_MS < now ? now :
			    next_send + LOAD_PACE_MS;
			continue;
		}
		if (nacked < nsent && now - l->sent_ms[nacked] > LOAD_STALL_MS)
			return (load_fail(l, "no ack of pub %d after %d ms",
			    nacked, LOAD_STALL_MS));
		wait = room ? (int)(next_send - now) : 100;
		r = client_recv(l->c, wait < 0 ? 0 : wait, &f);
		if (r == -1 && errno == ETIMEDOUT)
			continue;
		if (r != 1)
			return (load_fail(l, "ack of pub %d: %s", nacked,
			    r == 0 ? "the router closed the connection" :
			    strerror(errno)));
		now = harness_now_ms();
		if (nacked == nsent)
			return (load_fail(l, "a frame with no pub in flight: "
			    "%s", harness_dump(&f)));
		if (strcmp(harness_op(&f), "ack") != 0 ||
		    (o = harness_get(&f, "id")) == NULL ||
		    o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    o->via.u64 != (uint64_t)nacked + 1)
			return (load_fail(l, "want the ack of id %d, got %s",
			    nacked + 1, harness_dump(&f)));
		if ((o = harness_get(&f, "eid")) == NULL ||
		    o->type != MSGPACK_OBJECT_STR ||
		    o->via.str.size >= HARNESS_EID_MAX)
			return (load_fail(l, "ack without eid: %s",
			    harness_dump(&f)));
		memcpy(l->acks[nacked].eid, o->via.str.ptr, o->via.str.size);
		l->acks[nacked].eid[o->via.str.size] = '\0';
		if ((o = harness_get(&f, "stored")) == NULL ||
		    o->type != MSGPACK_OBJECT_STR)
			return (load_fail(l, "ack without stored: %s",
			    harness_dump(&f)));
		if (o->via.str.size == 5 &&
		    memcmp(o->via.str.ptr, "redis", 5) == 0) {
			l->acks[nacked].redis = true;
			if (atomic_load(&l->phase) == LOAD_RESTARTED)
				atomic_fetch_add(&l->nredis_after, 1);
		} else if (o->via.str.size == 6 &&
		    memcmp(o->via.str.ptr, "memory", 6) == 0) {
			atomic_fetch_add(&l->nmemory, 1);
			if (atomic_load(&l->phase) >= LOAD_KILLED)
				atomic_fetch_add(&l->ndown, 1);
		} else
			return (load_fail(l, "ack %d: stored is neither redis "
			    "nor memory: %s", nacked, harness_dump(&f)));
		if (now - l->sent_ms[nacked] > l->max_lat_ms) {
			l->max_lat_ms = now - l->sent_ms[nacked];
			l->max_lat_i = nacked;
		}
		if (now - last_ack > l->max_gap_ms) {
			l->max_gap_ms = now - last_ack;
			l->max_gap_i = nacked;
		}
		last_ack = now;
		atomic_store(&l->nacked, ++nacked);
	}
}

struct load_cond {
	struct load	*l;
	atomic_int	*counter;
	int		 want;
};

static bool
load_reached(void *arg)
{
	struct load_cond	*lc = arg;

	return (atomic_load(lc->counter) >= lc->want ||
	    atomic_load(&lc->l->failed) != 0);
}

/* Waits until *counter >= want; on failure stops and joins the thread. */
static void
load_wait(struct load *l, pthread_t th, atomic_int *counter, int want,
    int timeout_ms, const char *what)
{
	struct load_cond	lc = { l, counter, want };

	if (harness_poll(load_reached, &lc, timeout_ms) &&
	    atomic_load(&l->failed) == 0)
		return;
	atomic_store(&l->stop, 1);
	pthread_join(th, NULL);
	if (atomic_load(&l->failed) != 0)
		HFAIL("publisher failed waiting for %s: %s", what, l->why);
	HFAIL("%s: %d of %d after %d ms (acked %d, memory %d)", what,
	    atomic_load(counter), want, timeout_ms, atomic_load(&l->nacked),
	    atomic_load(&l->nmemory));
}

/*
 * Publishes under load, kills Redis with -9, restarts it (empty, or from
 * its AOF), and checks the stream against the acks: nothing in it that was
 * not acked, each event once with its body, in id order. With the AOF it
 * holds every acked event. Restarted empty it has lost what Redis had
 * answered before the kill (that was Redis' promise, not the router's), so
 * it must hold every event acked from the first memory ack after the kill
 * on: the ring's and those written after the restart.
 */
static void
kill9_under_load(bool aof)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h,
	    aof ? REDIS_PROC_AOF : 0);
	struct client		*watch;
	struct redis_entries	*r;
	struct load		 l;
	pthread_t		 th;
	size_t			 k;
	int			 i, n, k0, fm = -1;

	router_start(h, rp, NULL);
	watch = harness_client(h, "watch");
	wait_eventlog(watch, "direct", 0, DIRECT_MS);
	memset(&l, 0, sizeof l);
	l.c = harness_client(h, "load");
	l.acks = calloc(LOAD_MAX, sizeof *l.acks);
	l.sent_ms = calloc(LOAD_MAX, sizeof *l.sent_ms);
	assert_non_null(l.acks);
	assert_non_null(l.sent_ms);
	assert_int_equal(pthread_create(&th, NULL, load_main, &l), 0);

	load_wait(&l, th, &l.nacked, LOAD_BEFORE, 10000, "acks before kill");
	atomic_store(&l.phase, LOAD_KILLED);
	k0 = atomic_load(&l.nacked);
	redis_proc_kill9(rp);
	load_wait(&l, th, &l.ndown, LOAD_DOWN, 10000,
	    "memory acks with Redis down");
	redis_proc_start(rp);
	atomic_store(&l.phase, LOAD_RESTARTED);
	load_wait(&l, th, &l.nredis_after, LOAD_AFTER, SYNC_MS,
	    "redis acks after the restart");
	atomic_store(&l.stop, 1);
	pthread_join(th, NULL);
	if (atomic_load(&l.failed) != 0)
		HFAIL("publisher: %s", l.why);
	n = atomic_load(&l.nacked);

	if (l.max_lat_ms > ACK_BOUND_MS)
		HFAIL("pub %d (%s) waited %" PRId64 " ms for its ack, bound %d",
		    l.max_lat_i, l.acks[l.max_lat_i].eid, l.max_lat_ms,
		    ACK_BOUND_MS);
	if (l.max_gap_ms > ACK_BOUND_MS)
		HFAIL("no ack for %" PRId64 " ms before ack %d (%s), bound %d",
		    l.max_gap_ms, l.max_gap_i, l.acks[l.max_gap_i].eid,
		    ACK_BOUND_MS);
	for (i = 0; i < n; i++) {
		if (i > 0 && harness_eid_cmp(l.acks[i - 1].eid,
		    l.acks[i].eid) >= 0)
			HFAIL("ack %d: eid %s not above %s", i, l.acks[i].eid,
			    l.acks[i - 1].eid);
		if (!l.acks[i].redis && i >= k0 && fm < 0)
			fm = i;
	}
	assert_true(fm >= k0);

	wait_eventlog(watch, "direct", 0, SYNC_MS);
	r = redis_xrange(rp, KEY, "-", "+");
	/* A merge of the stream with the acks, both in id order. */
	i = 0;
	for (k = 0; k < r->n; k++) {
		char	body[16];

		while (i < n &&
		    harness_eid_cmp(l.acks[i].eid, r->v[k].id) < 0) {
			if (aof || i >= fm)
				HFAIL("acked %s (ack %d of %d, %s; the kill at "
				    "ack %d, first memory ack %d) is not in "
				    "the stream (%zu entries)", l.acks[i].eid,
				    i, n, l.acks[i].redis ? "redis" : "memory",
				    k0, fm, r->n);
			i++;
		}
		if (i == n || strcmp(l.acks[i].eid, r->v[k].id) != 0)
			HFAIL("the stream holds %s, which was never acked "
			    "(entry %zu of %zu)", r->v[k].id, k, r->n);
		snprintf(body, sizeof body, "L%06d", i);
		assert_field_str(&r->v[k], "body", body);
		assert_field_str(&r->v[k], "from", "load-a");
		assert_field_str(&r->v[k], "to", "load-b");
		i++;
	}
	for (; i < n; i++)
		if (aof || i >= fm)
			HFAIL("acked %s (ack %d of %d, %s) is not in the "
			    "stream (%zu entries, the last %s)",
			    l.acks[i].eid, i, n, l.acks[i].redis ? "redis" :
			    "memory", r->n, r->n > 0 ? r->v[r->n - 1].id :
			    "-");
	if (aof)
		assert_int_equal(r->n, n);
	assert_no_event_elsewhere(rp);
	print_message("    %d acks (%d memory), stream %zu, longest ack "
	    "%" PRId64 " ms, longest gap %" PRId64 " ms\n", n,
	    atomic_load(&l.nmemory), r->n, l.max_lat_ms, l.max_gap_ms);
	redis_entries_free(r);
	free(l.acks);
	free(l.sent_ms);
}

HARNESS_TEST(test_kill9_then_empty_restart_holds_every_ack_after_kill)
{
	(void)state;
	kill9_under_load(false);
}

HARNESS_TEST(test_kill9_under_load_then_aof_restart_holds_each_ack_once)
{
	(void)state;
	kill9_under_load(true);
}

/*
 * 3. A hung Redis (SIGSTOP).
 */

#define STOP_BATCH	20

HARNESS_TEST(test_sigstopped_redis_acks_from_memory_then_syncs_once)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	struct client		*p, *watch;
	struct acked		 a[3 + 1 + STOP_BATCH + 3 + 1];
	struct eventlog		 el;
	char			 body[32];
	int			 n = 0, i;

	(void)state;
	router_start(h, rp, NULL);
	p = harness_client(h, "pub");
	watch = harness_client(h, "watch");
	wait_eventlog(watch, "direct", 0, DIRECT_MS);
	for (i = 0; i < 3; i++, n++) {
		snprintf(body, sizeof body, "before-%d", i);
		pub_expect(p, "stop-a", "stop-b", body, "redis", T, &a[n]);
		assert_in_stream_now(rp, a[n].eid);
	}

	redis_proc_pause(rp);
	/* The XADD waits for nothing: redis_timeout_ms, then memory. */
	pub_expect(p, "stop-a", "stop-b", "first-stopped", "memory",
	    ACK_BOUND_MS, &a[n++]);
	/* stats never wait on Redis. */
	eventlog_get(watch, &el);
	assert_not_direct(&el);
	/* Many at once, all within the bound of their write. */
	pub_batch(p, "stop-a", "stop-b", "batch-", STOP_BATCH, "memory",
	    ACK_BOUND_MS, &a[n]);
	n += STOP_BATCH;
	for (i = 0; i < 3; i++, n++) {
		snprintf(body, sizeof body, "after-%d", i);
		pub_expect(p, "stop-a", "stop-b", body, "memory", ACK_BOUND_MS,
		    &a[n]);
	}
	eventlog_get(watch, &el);
	assert_not_direct(&el);
	assert_int_equal(el.fallback_depth, 1 + STOP_BATCH + 3);

	redis_proc_resume(rp);
	/*
	 * The XADDs sent before the deadline land now too: resync must
	 * recognise them, not write them twice.
	 */
	redis_wait_xlen(rp, KEY, n, SYNC_MS);
	wait_eventlog(watch, "direct", 0, SYNC_MS);
	assert_stream_is(rp, a, n, "stop-a", "stop-b");
	pub_expect(p, "stop-a", "stop-b", "resumed", "redis", ACK_BOUND_MS,
	    &a[n]);
	assert_in_stream_now(rp, a[n].eid);
	n++;
	assert_stream_is(rp, a, n, "stop-a", "stop-b");
	assert_no_event_elsewhere(rp);
}

/*
 * 4. A router started before Redis.
 */

HARNESS_TEST(test_router_started_without_redis_syncs_when_redis_appears)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_new(h, 0);
	struct client		*p, *watch;
	struct acked		 a[11], same;
	struct redis_entries	*r;
	struct eventlog		 el;
	char			 body[32];
	int			 i;

	(void)state;
	/* No socket at the URL's path: the router starts on the ring. */
	assert_false(harness_sock_accepts(redis_proc_sock(rp)));
	router_start(h, rp, NULL);
	p = harness_client(h, "early");
	watch = harness_client(h, "watch");
	eventlog_get(watch, &el);
	assert_string_equal(el.state, "fallback");
	for (i = 0; i < 10; i++) {
		snprintf(body, sizeof body, "early-%d", i);
		pub_expect(p, "ab-a", "ab-b", body, "memory", ACK_BOUND_MS,
		    &a[i]);
	}
	pub_expect(p, "ab-b", "ab-b", "same", "none", ACK_BOUND_MS, &same);
	eventlog_get(watch, &el);
	assert_string_equal(el.state, "fallback");
	assert_int_equal(el.fallback_depth, 10);

	redis_proc_start(rp);
	redis_wait_xlen(rp, KEY, 10, SYNC_MS);
	wait_eventlog(watch, "direct", 0, SYNC_MS);
	assert_stream_is(rp, a, 10, "ab-a", "ab-b");
	assert_not_in_stream(rp, same.eid);
	/* Written back with every field, not only the body. */
	r = redis_xrange(rp, KEY, a[0].eid, a[0].eid);
	assert_int_equal(r->n, 1);
	assert_field_str(&r->v[0], "kind", "msg");
	assert_field_str(&r->v[0], "agent", "early");
	assert_non_null(redis_entry_get(&r->v[0], "pri"));
	assert_non_null(redis_entry_get(&r->v[0], "ts"));
	assert_non_null(redis_entry_get(&r->v[0], "session"));
	assert_non_null(redis_entry_get(&r->v[0], "model"));
	redis_entries_free(r);
	pub_expect(p, "ab-a", "ab-b", "direct", "redis", ACK_BOUND_MS, &a[10]);
	assert_in_stream_now(rp, a[10].eid);
	assert_stream_is(rp, a, 11, "ab-a", "ab-b");
	assert_no_event_elsewhere(rp);
}

/*
 * 5. Restart continuity and replay across runs.
 */

/*
 * Reads a replay's (or a sub from_eid's) msgs on sid until n msgs (and
 * end, when want_end) arrived, with the ack of request id anywhere before;
 * copies the msgs into out.
 */
static void
collect(struct client *c, uint64_t sid, uint64_t id, int n, bool want_end,
    struct saved *out)
{
	msgpack_object	f;
	bool		acked = false;
	int		got = 0;

	for (;;) {
		if (client_recv(c, 5000, &f) != 1)
			HFAIL("sid %" PRIu64 ": %d of %d msgs, then nothing "
			    "(acked: %d)", sid, got, n, acked);
		if (strcmp(harness_op(&f), "ack") == 0 && !acked) {
			harness_assert_u64(&f, "id", id);
			acked = true;
		} else if (strcmp(harness_op(&f), "msg") == 0) {
			harness_assert_u64(&f, "sid", sid);
			if (got == n)
				HFAIL("sid %" PRIu64 ": more than %d msgs: %s",
				    sid, n, harness_dump(&f));
			save_frame(&out[got++], &f);
		} else if (strcmp(harness_op(&f), "end") == 0 && want_end) {
			harness_assert_u64(&f, "sid", sid);
			if (got != n)
				HFAIL("sid %" PRIu64 ": end after %d msgs, "
				    "want %d", sid, got, n);
			break;
		} else
			HFAIL("sid %" PRIu64 ": unexpected %s", sid,
			    harness_dump(&f));
		if (!want_end && acked && got == n)
			break;
	}
	if (!acked)
		HFAIL("sid %" PRIu64 ": request %" PRIu64 " not acked", sid,
		    id);
}

HARNESS_TEST(test_router_starts_its_ids_above_the_streams_last_id)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	struct client		*p, *c;
	struct redisReply	*rep;
	struct redis_entries	*r;
	struct acked		 a;
	struct saved		 got[2];
	char			 seed[HARNESS_EID_MAX], ts[32];
	const msgpack_object	*m;
	int64_t			 seed_ts = harness_wall_us();
	uint64_t		 id;

	(void)state;
	/*
	 * An event of an earlier run, a minute ahead of the clock: only a
	 * router that read the stream's last id issues ids above it.
	 */
	snprintf(seed, sizeof seed, "%" PRId64 "-7",
	    harness_wall_us() / 1000 + 60000);
	snprintf(ts, sizeof ts, "%" PRId64, seed_ts);
	rep = redis_command(rp, "XADD %s %s from %s to %s kind %s pri %s "
	    "agent %s session %s model %s ts %s body %b", KEY, seed, "seed-a",
	    "seed-b", "note", "0.75", "seeder", "s-0", "m-0", ts, "seed-body",
	    (size_t)9);
	if (rep->type != REDIS_REPLY_STRING)
		HFAIL("XADD seed: %s", rep->type == REDIS_REPLY_ERROR ?
		    rep->str : "not an id");
	redis_reply_free(rep);

	router_start(h, rp, NULL);
	p = harness_client(h, "later");
	wait_eventlog(p, "direct", 0, DIRECT_MS);
	pub_expect(p, "c-a", "c-b", "after-seed", "redis", ACK_BOUND_MS, &a);
	if (harness_eid_cmp(a.eid, seed) <= 0)
		HFAIL("first eid %s is not above the stream's last id %s",
		    a.eid, seed);
	r = redis_xrange(rp, KEY, "-", "+");
	assert_int_equal(r->n, 2);
	assert_string_equal(r->v[0].id, seed);
	assert_string_equal(r->v[1].id, a.eid);
	redis_entries_free(r);

	/* The earlier run's event is served by replay, as it was logged. */
	c = harness_client(h, "reader");
	id = harness_request(c, "op:s sid:u credit:u", "replay", 1u, 10u);
	collect(c, 1, id, 2, true, got);
	m = &got[0].up.data;
	harness_assert_str(m, "eid", seed);
	harness_assert_str(m, "from", "seed-a");
	harness_assert_str(m, "to", "seed-b");
	harness_assert_str(m, "kind", "note");
	assert_true(harness_f64(m, "pri") == 0.75);
	harness_assert_str(m, "agent", "seeder");
	harness_assert_str(m, "session", "s-0");
	harness_assert_str(m, "model", "m-0");
	assert_int_equal(harness_i64(m, "ts"), seed_ts);
	harness_assert_bytes(harness_get(m, "body"), "seed-body", 9);
	assert_false(harness_has(m, "pattern"));
	assert_false(harness_has(m, "hdr"));
	harness_assert_str(&got[1].up.data, "eid", a.eid);
	harness_assert_bytes(harness_get(&got[1].up.data, "body"),
	    "after-seed", 10);
	saved_free(&got[0]);
	saved_free(&got[1]);
}

#define RUN_EVENTS	3	/* cross-tract events per run */

/*
 * One run's events into tract r-to, as a client with its own agent,
 * session and model: a bframe with pattern, pri, hdr and a bin body; a
 * same-tract pub (not logged); a plain str body; a kind note with pri 1.
 * The live msgs of the RUN_EVENTS cross-tract events go to live, their
 * eids to eids.
 */
static void
publish_run(struct harness *h, int run, struct saved *live,
    char (*eids)[HARNESS_EID_MAX])
{
	struct client_hello	 hello;
	struct client		*p, *s;
	msgpack_object		 f;
	char			 agent[16], session[16], model[16];
	char			 pattern[16], corr[16], b2[32], b3[32];
	char			 eid[HARNESS_EID_MAX];
	const char		 bin[] = { '\0', (char)0xff,
	    (char)('0' + run) };
	const char *const	 hdr[] = { "corr", corr, "reply", "r-a", NULL };
	uint64_t		 id;
	int			 i, k = 0;

	snprintf(agent, sizeof agent, "runner-%d", run);
	snprintf(session, sizeof session, "s-%d", run);
	snprintf(model, sizeof model, "m-%d", run);
	snprintf(pattern, sizeof pattern, "pat-%d", run);
	snprintf(corr, sizeof corr, "c-%d", run);
	snprintf(b2, sizeof b2, "run%d-plain", run);
	snprintf(b3, sizeof b3, "run%d-last", run);
	memset(&hello, 0, sizeof hello);
	hello.agent = agent;
	hello.session = session;
	hello.model = model;
	p = harness_client_hello(h, &hello);
	s = harness_client(h, "live");
	harness_sub(s, 1, "r-to", 100, NULL, 0);

	id = harness_request(p, "op:s from:s to:s kind:s pattern:s pri:d "
	    "hdr:M body:b", "pub", "r-a", "r-to", "bframe", pattern, 0.25,
	    hdr, bin, sizeof bin);
	harness_expect_ack(p, id, &f);
	harness_assert_str(&f, "stored", "redis");
	id = harness_request(p, "op:s from:s to:s body:s", "pub", "r-to",
	    "r-to", "same");
	harness_expect_ack(p, id, &f);
	harness_assert_str(&f, "stored", "none");
	id = harness_request(p, "op:s from:s to:s body:s", "pub", "r-b",
	    "r-to", b2);
	harness_expect_ack(p, id, &f);
	harness_assert_str(&f, "stored", "redis");
	id = harness_request(p, "op:s from:s to:s kind:s pri:d body:s", "pub",
	    "r-c", "r-to", "note", 1.0, b3);
	harness_expect_ack(p, id, &f);
	harness_assert_str(&f, "stored", "redis");

	for (i = 0; i < RUN_EVENTS + 1; i++) {
		harness_expect(s, "msg", T, &f);
		if (i == 1)
			continue;	/* the same-tract one */
		harness_str(&f, "eid", eid, sizeof eid);
		snprintf(eids[k], HARNESS_EID_MAX, "%s", eid);
		save_frame(&live[k++], &f);
	}
	harness_client_close(p);
	harness_client_close(s);
}

HARNESS_TEST(test_replay_after_restart_returns_both_runs_identical)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	struct client		*c, *q;
	struct saved		 live[2 * RUN_EVENTS + 1];
	struct saved		 got[2 * RUN_EVENTS + 1];
	struct acked		 a;
	msgpack_object		 f;
	char			 eids[2 * RUN_EVENTS][HARNESS_EID_MAX];
	char			 last[HARNESS_EID_MAX], what[64];
	long long		 len;
	uint64_t		 id;
	int			 i, status;

	(void)state;
	router_start(h, rp, NULL);
	c = harness_client(h, "watch");
	wait_eventlog(c, "direct", 0, DIRECT_MS);
	publish_run(h, 1, live, eids);
	status = harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	assert_exit_0("the first run on SIGTERM", status);
	assert_true(redis_stream_info(rp, KEY, last, sizeof last, &len));
	assert_int_equal(len, RUN_EVENTS);
	assert_string_equal(last, eids[RUN_EVENTS - 1]);

	router_start(h, rp, NULL);
	c = harness_client(h, "watch");
	wait_eventlog(c, "direct", 0, DIRECT_MS);
	publish_run(h, 2, live + RUN_EVENTS, eids + RUN_EVENTS);
	for (i = 1; i < 2 * RUN_EVENTS; i++)
		if (harness_eid_cmp(eids[i - 1], eids[i]) >= 0)
			HFAIL("eid %s (event %d) is not above %s", eids[i], i,
			    eids[i - 1]);
	assert_int_equal(redis_xlen(rp, KEY), 2 * RUN_EVENTS);

	/* replay: both runs, as they were delivered live. */
	id = harness_request(c, "op:s sid:u credit:u", "replay", 7u, 100u);
	collect(c, 7, id, 2 * RUN_EVENTS, true, got);
	for (i = 0; i < 2 * RUN_EVENTS; i++) {
		snprintf(what, sizeof what, "replayed event %d", i);
		assert_same_event(&live[i].up.data, &got[i].up.data, what);
		saved_free(&got[i]);
	}

	/* sub from_eid: the same from the log, then live. */
	id = harness_request(c, "op:s sid:u tract:s credit:u from_eid:s",
	    "sub", 8u, "r-to", 100u, eids[0]);
	collect(c, 8, id, 2 * RUN_EVENTS, false, got);
	for (i = 0; i < 2 * RUN_EVENTS; i++) {
		snprintf(what, sizeof what, "sub from_eid event %d", i);
		assert_same_event(&live[i].up.data, &got[i].up.data, what);
		saved_free(&got[i]);
	}
	q = harness_client(h, "third");
	pub_expect(q, "r-d", "r-to", "live-after", "redis", ACK_BOUND_MS, &a);
	harness_expect_msg(c, 8, "live-after", T, &f);
	harness_assert_str(&f, "eid", a.eid);
	harness_expect_nothing(c, Q);
	for (i = 0; i < 2 * RUN_EVENTS; i++)
		saved_free(&live[i]);
}

/*
 * 6. The fallback ring full.
 */

#define RING	5

HARNESS_TEST(test_full_ring_refuses_cross_tract_only_and_loses_nothing)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	struct client		*p, *watch;
	struct acked		 a[RING + 1], same;
	struct eventlog		 el;
	char			 body[32];
	int			 i;

	(void)state;
	router_start(h, rp, "memlog_max_events = 5\n");
	p = harness_client(h, "filler");
	watch = harness_client(h, "watch");
	wait_eventlog(watch, "direct", 0, DIRECT_MS);
	redis_proc_kill9(rp);
	for (i = 0; i < RING; i++) {
		snprintf(body, sizeof body, "ring-%d", i);
		pub_expect(p, "full-a", "full-b", body, "memory", ACK_BOUND_MS,
		    &a[i]);
	}
	harness_request_err(p, "store_unavailable", "op:s from:s to:s body:s",
	    "pub", "full-a", "full-b", "refused");
	/* Not logged, so never refused. */
	pub_expect(p, "full-b", "full-b", "same", "none", ACK_BOUND_MS, &same);
	eventlog_get(watch, &el);
	assert_string_equal(el.state, "fallback");
	assert_int_equal(el.fallback_depth, RING);
	assert_int_equal(el.refused, 1);

	redis_proc_start(rp);
	redis_wait_xlen(rp, KEY, RING, SYNC_MS);
	wait_eventlog(watch, "direct", 0, SYNC_MS);
	/* Every acked event, not the refused one, not the same-tract one. */
	assert_stream_is(rp, a, RING, "full-a", "full-b");
	pub_expect(p, "full-a", "full-b", "room-again", "redis", ACK_BOUND_MS,
	    &a[RING]);
	assert_stream_is(rp, a, RING + 1, "full-a", "full-b");
	assert_no_event_elsewhere(rp);
}

/*
 * 7. Reply order while acks wait on Redis.
 */

/* Reads the next frame, op with id, by the deadline (monotonic ms). */
static void
expect_reply(struct client *c, const char *op, uint64_t id,
    int64_t deadline, msgpack_object *f)
{
	int64_t	left = deadline - harness_now_ms();

	harness_expect(c, op, left < 1 ? 1 : (int)left, f);
	harness_assert_u64(f, "id", id);
}

/*
 * pub (cross), ping, sub, pub (cross) in one write: the replies come
 * ack, pong, ack, ack, each by bound_ms after the write; the pubs' acks
 * say stored.
 */
static void
pipelined_round(struct client *c, uint64_t sid, const char *stored,
    int bound_ms, struct acked *a)
{
	msgpack_object	f;
	uint64_t	id1 = harness_id(), id2 = harness_id();
	uint64_t	id3 = harness_id(), id4 = harness_id();
	int64_t		deadline;

	snprintf(a[0].body, sizeof a[0].body, "first-%" PRIu64, sid);
	snprintf(a[1].body, sizeof a[1].body, "second-%" PRIu64, sid);
	harness_pack(client_begin(c), "op:s from:s to:s body:s id:U", "pub",
	    "ord-a", "ord-b", a[0].body, id1);
	assert_int_equal(client_end(c), 0);
	harness_pack(client_begin(c), "op:s id:U", "ping", id2);
	assert_int_equal(client_end(c), 0);
	harness_pack(client_begin(c), "op:s sid:U tract:s credit:u id:U",
	    "sub", sid, "ord-watch", 10u, id3);
	assert_int_equal(client_end(c), 0);
	harness_pack(client_begin(c), "op:s from:s to:s body:s id:U", "pub",
	    "ord-a", "ord-b", a[1].body, id4);
	deadline = harness_now_ms() + bound_ms;
	assert_int_equal(client_send(c), 0);

	expect_reply(c, "ack", id1, deadline, &f);
	harness_str(&f, "eid", a[0].eid, sizeof a[0].eid);
	harness_str(&f, "stored", a[0].stored, sizeof a[0].stored);
	expect_reply(c, "pong", id2, deadline, &f);
	expect_reply(c, "ack", id3, deadline, &f);
	expect_reply(c, "ack", id4, deadline, &f);
	harness_str(&f, "eid", a[1].eid, sizeof a[1].eid);
	harness_str(&f, "stored", a[1].stored, sizeof a[1].stored);
	assert_string_equal(a[0].stored, stored);
	assert_string_equal(a[1].stored, stored);
	assert_true(harness_eid_cmp(a[0].eid, a[1].eid) < 0);
}

HARNESS_TEST(test_replies_keep_request_order_while_acks_wait_on_redis)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	struct client		*c, *watch;
	struct acked		 a[4];

	(void)state;
	router_start(h, rp, NULL);
	c = harness_client(h, "piper");
	watch = harness_client(h, "watch");
	wait_eventlog(watch, "direct", 0, DIRECT_MS);
	/* The pubs' acks wait for Redis to answer; ping and sub do not. */
	pipelined_round(c, 1, "redis", ACK_BOUND_MS, &a[0]);
	/* A stopped Redis: the acks wait redis_timeout_ms. */
	redis_proc_pause(rp);
	pipelined_round(c, 2, "memory", ACK_BOUND_MS, &a[2]);
	harness_expect_nothing(c, Q);
	redis_proc_resume(rp);
	redis_wait_xlen(rp, KEY, 4, SYNC_MS);
	wait_eventlog(watch, "direct", 0, SYNC_MS);
	assert_stream_is(rp, a, 4, "ord-a", "ord-b");
	assert_no_event_elsewhere(rp);
}

/*
 * 8. The SIGTERM drain into Redis.
 */

#define DRAIN_BEFORE	2
#define DRAIN_RING	10

HARNESS_TEST(test_sigterm_writes_ring_events_to_redis_before_exit_0)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, REDIS_PROC_AOF);
	struct client		*p, *watch;
	struct acked		 a[DRAIN_BEFORE + DRAIN_RING];
	struct eventlog		 el;
	char			 body[32];
	int			 i, status;

	(void)state;
	router_start(h, rp, NULL);
	p = harness_client(h, "drainer");
	watch = harness_client(h, "watch");
	wait_eventlog(watch, "direct", 0, DIRECT_MS);
	for (i = 0; i < DRAIN_BEFORE; i++) {
		snprintf(body, sizeof body, "direct-%d", i);
		pub_expect(p, "dr-a", "dr-b", body, "redis", ACK_BOUND_MS,
		    &a[i]);
	}
	redis_proc_kill9(rp);
	for (; i < DRAIN_BEFORE + DRAIN_RING; i++) {
		snprintf(body, sizeof body, "ring-%d", i);
		pub_expect(p, "dr-a", "dr-b", body, "memory", ACK_BOUND_MS,
		    &a[i]);
	}
	/*
	 * Redis back from its AOF, first where the router cannot see it,
	 * so that the ring is certainly full when SIGTERM comes; then on
	 * the router's path, and SIGTERM at once.
	 */
	redis_proc_start_hidden(rp, "redis-next.sock");
	assert_int_equal(redis_xlen(rp, KEY), DRAIN_BEFORE);
	eventlog_get(watch, &el);
	assert_string_equal(el.state, "fallback");
	assert_int_equal(el.fallback_depth, DRAIN_RING);
	redis_proc_reveal(rp);
	status = harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	assert_exit_0("SIGTERM with the ring full and Redis back", status);
	assert_stream_is(rp, a, DRAIN_BEFORE + DRAIN_RING, "dr-a", "dr-b");
	assert_no_event_elsewhere(rp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* The helpers alone: run today. */
		REDIS_UNIT_TEST(
		    test_redis_proc_starts_inspects_stops_and_restarts_redis),
		REDIS_UNIT_TEST(
		    test_redis_proc_restarts_from_its_aof_after_kill9),
		REDIS_UNIT_TEST(
		    test_redis_proc_hidden_restart_unreachable_until_revealed),
		/* callosumd --redis (issue 17). */
		REDIS_UNIT_TEST(
		    test_cross_tract_events_are_in_the_stream_with_every_field),
		REDIS_UNIT_TEST(
		    test_an_ack_saying_redis_means_the_entry_is_already_there),
		REDIS_UNIT_TEST(
		    test_kill9_then_empty_restart_holds_every_ack_after_kill),
		REDIS_UNIT_TEST(
		    test_kill9_under_load_then_aof_restart_holds_each_ack_once),
		REDIS_UNIT_TEST(
		    test_sigstopped_redis_acks_from_memory_then_syncs_once),
		REDIS_UNIT_TEST(
		    test_router_started_without_redis_syncs_when_redis_appears),
		REDIS_UNIT_TEST(
		    test_router_starts_its_ids_above_the_streams_last_id),
		REDIS_UNIT_TEST(
		    test_replay_after_restart_returns_both_runs_identical),
		REDIS_UNIT_TEST(
		    test_full_ring_refuses_cross_tract_only_and_loses_nothing),
		REDIS_UNIT_TEST(
		    test_replies_keep_request_order_while_acks_wait_on_redis),
		REDIS_UNIT_TEST(
		    test_sigterm_writes_ring_events_to_redis_before_exit_0),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
