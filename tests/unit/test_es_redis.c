/*
 * test_es_redis: the Redis event log's state machine (es_redis.c), driven
 * through the front (es.c) with es_config.backend: es_redis_backend with
 * its open replaced by es_redis_open_with over a fake transport. The fake
 * keeps every command in order with its reply callback, so a test asserts
 * the exact argv Redis would get and answers it with a hand-built
 * redisReply, in order, with any outcome; the link comes up, fails or is
 * lost when the test says. The timers (the reply deadline, the reconnect
 * backoff, the deferred down) run on a real event base, driven under a
 * deadline. Run under -DCALLOSUM_SANITIZE=ON, leaks are fatal.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "eventstore/es_internal.h"
#include "eventstore/eventstore.h"

#define FK_LINKS	8
#define FK_CMDS		1100	/* past the state machine's window */
#define FK_ARGS		40
#define NCALLS		8
#define NSTATES		16
#define TIMEOUT_MS	50
/* 100 ms - 25%, less the loop's cached time */
#define BACKOFF_LO_MS	70
#define BACKOFF_HI_MS	125
#define MARGIN_MS	250	/* a sanitized build on two shared cores */
#define SOCK_PATH	"/tmp/callosum-test-es-redis.sock"
#define SOCK_URL	"unix://" SOCK_PATH

/* The fields every test event carries, as XADD and XRANGE spell them. */
#define FIELDS(kind)	"from alice to bob kind " kind " pri 2 agent ag " \
			"session s1 model m1 ts 1700000000000000 body hello"
#define XADD(id, kind)	"XADD callosum:events " id " " FIELDS(kind)
#define XCONFLICT(id)	"XADD callosum:events:conflicts * eid " id " " \
			FIELDS("msg")
#define XCHECK(id)	"XRANGE callosum:events " id " " id
#define XTOP		"XREVRANGE callosum:events + - COUNT 1"
#define OOM		"OOM command not allowed when used memory > " \
			"'maxmemory'."

/* A command sent on a fake link: argv copied, with its reply callback. */
struct fk_cmd {
	int		 argc;
	char		*argv[FK_ARGS];
	size_t		 len[FK_ARGS];
	es_reply_fn	*fn;
	void		*arg;
};

struct fk_link {
	es_link_fn	*link_fn;
	void		*link_arg;
	bool		 closed;	/* by the state machine */
	bool		 lost;		/* by the test: link_fn(0) */
	bool		 drain;		/* NULLs after the reply */
	unsigned	 nulls;		/* commands answered NULL */
	struct fk_cmd	 q[FK_CMDS];	/* unanswered, oldest first */
	size_t		 head;
	size_t		 n;
};

/* The fake transport's world, reset by setup. */
static struct {
	struct fk_link	 links[FK_LINKS];
	unsigned	 nlinks;	/* links opened */
	unsigned	 opens;		/* open calls, failed ones too */
	bool		 fail_open;
	bool		 fail_command;
	bool		 unreachable;	/* last_id answers -1 */
	struct eid	 last_id;
	const char	*key;		/* the stream last_id asks for */
	const char	*cand_key;	/* and the candidates' */
	struct eid	 cand_id;	/* its last id */
	bool		 in_reply;
	unsigned	 ncommands;	/* commands sent, ever */
} g;

static void	*fk_open(struct event_base *, const struct es_redis_addr *,
		    es_link_fn *, void *, char **);
static int	 fk_command(void *, int, const char **, const size_t *,
		    es_reply_fn *, void *);
static void	 fk_close(void *);
static int	 fk_last_id(const struct es_redis_addr *, const char *,
		    unsigned, struct eid *, char **);

static const struct es_transport fk_transport = {
	.open = fk_open,
	.command = fk_command,
	.close = fk_close,
	.last_id = fk_last_id
};

static void *
fk_open(struct event_base *base, const struct es_redis_addr *a,
    es_link_fn *fn, void *arg, char **cause)
{
	struct fk_link	*l;

	assert_non_null(base);
	assert_non_null(a->path);
	assert_string_equal(a->path, SOCK_PATH);
	g.opens++;
	if (g.fail_open) {
		es_cause(cause, "fake: connection refused");
		return (NULL);
	}
	assert_true(g.nlinks < FK_LINKS);
	l = &g.links[g.nlinks++];
	l->link_fn = fn;
	l->link_arg = arg;
	return (l);
}

static int
fk_command(void *link, int argc, const char **argv, const size_t *argvlen,
    es_reply_fn *fn, void *arg)
{
	struct fk_link	*l = link;
	struct fk_cmd	*c;
	int		 i;

	assert_false(l->closed);
	if (g.fail_command || l->lost)
		return (-1);
	assert_true(l->n < FK_CMDS);
	assert_true(argc > 0 && argc <= FK_ARGS);
	c = &l->q[(l->head + l->n) % FK_CMDS];
	c->argc = argc;
	for (i = 0; i < argc; i++) {
		assert_non_null(c->argv[i] = malloc(argvlen[i] + 1));
		memcpy(c->argv[i], argv[i], argvlen[i]);
		c->argv[i][argvlen[i]] = '\0';
		c->len[i] = argvlen[i];
	}
	c->fn = fn;
	c->arg = arg;
	l->n++;
	g.ncommands++;
	return (0);
}

static void
fk_cmd_free(struct fk_cmd *c)
{
	int	i;

	for (i = 0; i < c->argc; i++)
		free(c->argv[i]);
	c->argc = 0;
}

static struct fk_cmd
fk_pop(struct fk_link *l)
{
	struct fk_cmd	c;

	assert_true(l->n > 0);
	c = l->q[l->head];
	l->head = (l->head + 1) % FK_CMDS;
	l->n--;
	return (c);
}

/* Every command still waiting gets its NULL reply, once. */
static void
fk_drain(struct fk_link *l)
{
	struct fk_cmd	c;

	while (l->n > 0) {
		c = fk_pop(l);
		l->nulls++;
		c.fn(c.arg, NULL);
		fk_cmd_free(&c);
	}
}

/* As hiredis: inside a reply, the NULLs come when the reply returns. */
static void
fk_close(void *link)
{
	struct fk_link	*l = link;

	assert_false(l->closed);
	l->closed = true;
	if (g.in_reply)
		l->drain = true;
	else
		fk_drain(l);
}

static int
fk_last_id(const struct es_redis_addr *a, const char *key,
    unsigned timeout_ms, struct eid *out, char **why)
{
	assert_string_equal(a->path, SOCK_PATH);
	assert_int_equal(timeout_ms, TIMEOUT_MS);
	if (g.unreachable) {
		assert_non_null(*why = strdup("fake: unreachable"));
		return (-1);
	}
	/* The events stream, then the candidates' (same prefix). */
	if (strcmp(key, g.key) == 0) {
		*out = g.last_id;
		return (0);
	}
	assert_string_equal(key, g.cand_key);
	*out = g.cand_id;
	return (0);
}

/* The test's side of the link. */

static struct fk_link *
fk_cur(void)
{
	assert_true(g.nlinks > 0);
	return (&g.links[g.nlinks - 1]);
}

/* The i-th command waiting on l, its argv joined by spaces. */
static const char *
fk_cmd_str(const struct fk_link *l, size_t i)
{
	static char		 buf[2048];
	const struct fk_cmd	*c;
	size_t			 off = 0;
	int			 k;

	assert_true(i < l->n);
	c = &l->q[(l->head + i) % FK_CMDS];
	for (k = 0; k < c->argc; k++) {
		assert_true(off + c->len[k] + 2 < sizeof(buf));
		if (k > 0)
			buf[off++] = ' ';
		memcpy(buf + off, c->argv[k], c->len[k]);
		off += c->len[k];
	}
	buf[off] = '\0';
	return (buf);
}

/* Frees a reply the test built. */
static void
rp_free(redisReply *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->elements; i++)
		rp_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

/* Answers l's oldest command with rep, then frees rep. */
static void
fk_answer(struct fk_link *l, redisReply *rep)
{
	struct fk_cmd	c;

	assert_false(l->closed);
	c = fk_pop(l);
	g.in_reply = true;
	c.fn(c.arg, rep);
	g.in_reply = false;
	fk_cmd_free(&c);
	rp_free(rep);
	if (l->drain) {
		l->drain = false;
		fk_drain(l);
	}
}

static void
fk_up(struct fk_link *l)
{
	assert_false(l->closed);
	l->link_fn(l->link_arg, 1, NULL);
}

/* As hiredis on a lost connection: NULL replies, then the link call. */
static void
fk_lose(struct fk_link *l, const char *why)
{
	assert_false(l->closed);
	l->lost = true;
	fk_drain(l);
	l->link_fn(l->link_arg, 0, why);
}

/* Replies, built by hand as hiredis would. */

static redisReply *
rp_new(int type, const char *s)
{
	redisReply	*r;

	assert_non_null(r = calloc(1, sizeof(*r)));
	r->type = type;
	if (s != NULL) {
		r->len = strlen(s);
		assert_non_null(r->str = strdup(s));
	}
	return (r);
}

static redisReply *
rp_str(const char *s)
{
	return (rp_new(REDIS_REPLY_STRING, s));
}

static redisReply *
rp_err(const char *s)
{
	return (rp_new(REDIS_REPLY_ERROR, s));
}

/* An array of the n replies given. */
static redisReply *
rp_arr(size_t n, ...)
{
	redisReply	*r = rp_new(REDIS_REPLY_ARRAY, NULL);
	va_list		 ap;
	size_t		 i;

	if (n > 0)
		assert_non_null(r->element = calloc(n, sizeof(*r->element)));
	va_start(ap, n);
	for (i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	r->elements = n;
	return (r);
}

/* An entry, [id, [field, value, ...]], the strings ending at NULL. */
static redisReply *
rp_entry(const char *id, ...)
{
	redisReply	*kv = rp_new(REDIS_REPLY_ARRAY, NULL);
	const char	*s;
	va_list		 ap;
	size_t		 n = 0;

	va_start(ap, id);
	while (va_arg(ap, const char *) != NULL)
		n++;
	va_end(ap);
	if (n > 0)
		assert_non_null(kv->element = calloc(n,
		    sizeof(*kv->element)));
	va_start(ap, id);
	while ((s = va_arg(ap, const char *)) != NULL)
		kv->element[kv->elements++] = rp_str(s);
	va_end(ap);
	return (rp_arr(2, rp_str(id), kv));
}

/* An entry with the test events' fields. */
static redisReply *
rp_std_entry(const char *id, const char *kind)
{
	return (rp_entry(id, "from", "alice", "to", "bob", "kind", kind,
	    "pri", "2", "agent", "ag", "session", "s1", "model", "m1", "ts",
	    "1700000000000000", "body", "hello", NULL));
}

/* The fixture. */

struct fix;

/* One callback target: how often it ran and with what. */
struct call {
	struct fix		*f;
	unsigned		 id;
	unsigned		 n;
	int			 status;
	enum es_stored		 where;
	struct es_event		*evs[NCALLS];	/* a read's, kept */
	struct es_read_result	 res;
};

struct fix {
	struct event_base	*base;
	struct es_backend	 be;
	struct es_config	 cfg;
	struct es		*es;
	struct call		 calls[NCALLS];
	unsigned		 order[NCALLS * 2];	/* call ids */
	unsigned		 norder;
	enum es_state		 states[NSTATES];	/* as called */
	char			 whys[NSTATES][80];
	unsigned		 nstates;
	unsigned		 filtered;	/* events the filter saw */
};

static void
append_cb(void *arg, int status, enum es_stored where)
{
	struct call	*c = arg;

	c->n++;
	c->status = status;
	c->where = where;
	c->f->order[c->f->norder++] = c->id;
}

/* Keeps the events (the test unrefs them); -1 must come with nothing. */
static void
read_cb(void *arg, struct es_event **evs, const struct es_read_result *res,
    int status)
{
	struct call	*c = arg;
	size_t		 i;

	c->n++;
	c->status = status;
	c->res = *res;
	c->f->order[c->f->norder++] = c->id;
	if (status != 0) {
		assert_null(evs);
		assert_int_equal(res->n, 0);
		assert_int_equal(res->examined, 0);
		assert_true(eid_is_zero(&res->last));
		return;
	}
	assert_true(res->n <= NCALLS);
	for (i = 0; i < res->n; i++)
		c->evs[i] = evs[i];
}

static void
flush_cb(void *arg, int status)
{
	struct call	*c = arg;

	c->n++;
	c->status = status;
	c->f->order[c->f->norder++] = c->id;
}

static void
state_cb(void *arg, enum es_state state, const char *why)
{
	struct fix	*f = arg;

	assert_true(f->nstates < NSTATES);
	f->states[f->nstates] = state;
	snprintf(f->whys[f->nstates], sizeof(f->whys[0]), "%s",
	    why != NULL ? why : "-");
	f->nstates++;
}

/* Reads keep the events whose kind is not "skip". */
static bool
filter_skip(void *arg, const struct es_event *view)
{
	struct fix	*f = arg;

	f->filtered++;
	return (!(view->kind.len == 4 && memcmp(view->kind.ptr, "skip",
	    4) == 0));
}

static void *
fk_be_open(struct es *front, const struct es_config *cfg, char **cause)
{
	return (es_redis_open_with(front, cfg, &fk_transport, cause));
}

static int
setup(void **state)
{
	struct fix	*f;
	unsigned	 i;

	memset(&g, 0, sizeof(g));
	g.key = "callosum:events";
	g.cand_key = "callosum:candidates";
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	if ((f->base = event_base_new()) == NULL) {
		free(f);
		return (-1);
	}
	for (i = 0; i < NCALLS; i++) {
		f->calls[i].f = f;
		f->calls[i].id = i;
	}
	f->be = es_redis_backend;
	f->be.open = fk_be_open;
	f->cfg.backend = &f->be;
	f->cfg.base = f->base;
	f->cfg.redis_url = SOCK_URL;
	f->cfg.redis_timeout_ms = TIMEOUT_MS;
	f->cfg.mem_max_events = 16;
	f->cfg.mem_max_bytes = 1 << 20;
	f->cfg.state_cb = state_cb;
	f->cfg.state_arg = f;
	*state = f;
	return (0);
}

/* Closes the store; every link closed, every command answered. */
static int
teardown(void **state)
{
	struct fix	*f = *state;
	struct fk_cmd	 c;
	unsigned	 i, j, left = 0, open = 0;

	es_close(f->es);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	for (i = 0; i < g.nlinks; i++) {
		if (!g.links[i].closed)
			open++;
		while (g.links[i].n > 0) {
			c = fk_pop(&g.links[i]);
			fk_cmd_free(&c);
			left++;
		}
	}
	for (i = 0; i < NCALLS; i++)
		for (j = 0; j < f->calls[i].res.n && j < NCALLS; j++)
			es_event_unref(f->calls[i].evs[j]);
	event_base_free(f->base);
	free(f);
	assert_int_equal(open, 0);
	assert_int_equal(left, 0);
	return (0);
}

static void
fix_open(struct fix *f)
{
	char	*cause = NULL;

	f->es = es_open(&f->cfg, &cause);
	if (f->es == NULL)
		fail_msg("es_open: %s", cause != NULL ? cause : "?");
	assert_null(cause);
}

static void
fix_close(struct fix *f)
{
	es_close(f->es);
	f->es = NULL;
}

/* The current link comes up; its first command reads the top: top. */
static void
fix_up(struct fix *f, redisReply *top)
{
	struct fk_link	*l = fk_cur();

	(void)f;
	fk_up(l);
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XTOP);
	fk_answer(l, top);
}

static void
bset(struct es_bytes *b, const char *s)
{
	b->ptr = s;
	b->len = (uint32_t)strlen(s);
}

static struct es_event
ev_make(uint64_t ms, uint64_t seq, const char *kind)
{
	struct es_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.eid.ms = ms;
	ev.eid.seq = seq;
	ev.ts_us = 1700000000000000;
	ev.pri = 2;
	ev.body_is_str = true;
	bset(&ev.from, "alice");
	bset(&ev.to, "bob");
	bset(&ev.kind, kind);
	bset(&ev.agent, "ag");
	bset(&ev.session, "s1");
	bset(&ev.model, "m1");
	bset(&ev.body, "hello");
	return (ev);
}

/* Appends ms-seq (kind msg), cb's arg the fixture's call id. */
static int
fix_append(struct fix *f, uint64_t ms, uint64_t seq, unsigned id,
    enum es_stored *where)
{
	struct es_event	ev = ev_make(ms, seq, "msg");

	return (es_append(f->es, &ev, append_cb, &f->calls[id], where));
}

static int
fix_append_kind(struct fix *f, uint64_t ms, uint64_t seq, const char *kind,
    unsigned id)
{
	struct es_event	ev = ev_make(ms, seq, kind);

	return (es_append(f->es, &ev, append_cb, &f->calls[id], NULL));
}

/* Reads [from, max id], max events, cb's arg the fixture's call id. */
static int
fix_read(struct fix *f, uint64_t ms, uint64_t seq, size_t max, bool filter,
    unsigned id, struct es_event **out, struct es_read_result *res)
{
	struct es_query	q;

	memset(&q, 0, sizeof(q));
	q.from.ms = ms;
	q.from.seq = seq;
	q.to.ms = UINT64_MAX;
	q.to.seq = UINT64_MAX;
	q.max = max;
	if (filter) {
		q.filter = filter_skip;
		q.filter_arg = f;
	}
	return (es_read(f->es, &q, out, res, read_cb, &f->calls[id]));
}

static struct es_stats
fix_stats(struct fix *f)
{
	struct es_stats	st;

	es_get_stats(f->es, &st);
	return (st);
}

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/*
 * Runs the loop until *counter reaches want or max_ms pass; returns the
 * microseconds it took.
 */
static int64_t
fix_run_until(struct fix *f, const unsigned *counter, unsigned want,
    int64_t max_ms)
{
	struct timespec	 nap = { 0, 200000 };
	int64_t		 start = now_us(), t;

	for (;;) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		t = now_us() - start;
		if (*counter >= want || t > max_ms * 1000)
			return (t);
		nanosleep(&nap, NULL);
	}
}

static void
assert_eid(const struct eid *e, uint64_t ms, uint64_t seq)
{
	assert_int_equal(e->ms, ms);
	assert_int_equal(e->seq, seq);
}

static void
assert_bytes(const struct es_bytes *b, const char *s)
{
	assert_non_null(b->ptr);
	assert_int_equal(b->len, strlen(s));
	assert_memory_equal(b->ptr, s, b->len);
}

/* Unreachable at start: the ring serves, then goes back in order. */

static void
test_es_redis_unreachable_at_start_holds_then_writes_back(void **state)
{
	struct fix	*f = *state;
	struct es_event	 ev;
	struct es_stats	 st;
	struct fk_link	*l;
	enum es_stored	 where;
	unsigned	 i;

	g.unreachable = true;
	fix_open(f);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0], "fake: unreachable");
	assert_int_equal(es_get_state(f->es), ES_STATE_FALLBACK);
	assert_int_equal(g.nlinks, 1);	/* connecting, not up */
	for (i = 0; i < 2; i++) {
		where = ES_STORED_NONE;
		assert_int_equal(fix_append(f, 1000, i, i, &where), 0);
		assert_int_equal(where, ES_STORED_MEMORY);
	}
	ev = ev_make(1001, 0, "msg");
	bset(&ev.pattern, "p.*");
	bset(&ev.hdr, "\x81\xa1k\xa1v");
	where = ES_STORED_NONE;
	assert_int_equal(es_append(f->es, &ev, append_cb, &f->calls[2],
	    &where), 0);
	assert_int_equal(where, ES_STORED_MEMORY);
	assert_int_equal(f->norder, 0);
	assert_int_equal(g.ncommands, 0);
	st = fix_stats(f);
	assert_string_equal(st.backend, "redis");
	assert_int_equal(st.state, ES_STATE_FALLBACK);
	assert_int_equal(st.appended, 3);
	assert_int_equal(st.stored_memory, 3);
	assert_int_equal(st.stored_redis, 0);
	assert_int_equal(st.depth, 3);
	assert_int_equal(st.fallback_depth, 3);
	assert_int_equal(st.resyncs, 0);

	/* Up: the top first; nothing else until it is answered. */
	l = fk_cur();
	fk_up(l);
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XTOP);
	assert_int_equal(es_get_state(f->es), ES_STATE_FALLBACK);
	fk_answer(l, rp_arr(0));
	assert_int_equal(l->n, 3);
	assert_string_equal(fk_cmd_str(l, 0), XADD("1000-0", "msg"));
	assert_string_equal(fk_cmd_str(l, 1), XADD("1000-1", "msg"));
	assert_string_equal(fk_cmd_str(l, 2), XADD("1001-0", "msg")
	    " pattern p.* hdr \x81\xa1k\xa1v");
	assert_int_equal(f->nstates, 2);
	assert_int_equal(f->states[1], ES_STATE_RESYNC);
	assert_int_equal(fix_stats(f).resyncs, 1);

	fk_answer(l, rp_str("1000-0"));
	fk_answer(l, rp_str("1000-1"));
	assert_int_equal(es_get_state(f->es), ES_STATE_RESYNC);
	assert_int_equal(fix_stats(f).fallback_depth, 1);
	fk_answer(l, rp_str("1001-0"));
	assert_int_equal(f->nstates, 3);
	assert_int_equal(f->states[2], ES_STATE_DIRECT);
	st = fix_stats(f);
	assert_int_equal(st.state, ES_STATE_DIRECT);
	assert_int_equal(st.fallback_depth, 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.stored_memory, 3);
	assert_int_equal(st.stored_redis, 0);
	assert_int_equal(st.resyncs, 1);
	assert_int_equal(st.duplicates, 0);
	assert_int_equal(st.conflicts, 0);
	/* Acked from memory already: nothing calls back. */
	assert_int_equal(f->norder, 0);
	assert_int_equal(l->n, 0);
	assert_int_equal(g.ncommands, 4);
}

static void
test_es_redis_maxlen_trims_approximately_before_the_id(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;

	g.unreachable = true;
	f->cfg.redis_maxlen = 100000;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0),
	    "XADD callosum:events MAXLEN ~ 100000 1000-0 " FIELDS("msg"));
	fk_answer(l, rp_str("1000-0"));
	/* Direct, too. */
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), ES_PENDING);
	assert_string_equal(fk_cmd_str(l, 0),
	    "XADD callosum:events MAXLEN ~ 100000 1000-1 " FIELDS("msg"));
	fk_answer(l, rp_str("1000-1"));
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(fix_stats(f).fallback_depth, 0);
}

static void
test_es_redis_prefix_names_both_streams(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;

	g.unreachable = true;
	f->cfg.redis_prefix = "cx:";
	g.key = "cx:events";
	g.cand_key = "cx:candidates";
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	l = fk_cur();
	fk_up(l);
	assert_string_equal(fk_cmd_str(l, 0),
	    "XREVRANGE cx:events + - COUNT 1");
	fk_answer(l, rp_arr(1, rp_std_entry("1000-0", "msg")));
	assert_string_equal(fk_cmd_str(l, 0), "XRANGE cx:events 1000-0 "
	    "1000-0");
	fk_answer(l, rp_arr(0));
	assert_string_equal(fk_cmd_str(l, 0),
	    "XADD cx:events:conflicts * eid 1000-0 " FIELDS("msg"));
	fk_answer(l, rp_str("1700000000000-0"));
	assert_int_equal(fix_stats(f).fallback_depth, 0);
}

/* Direct: the ack waits for the XADD's answer. */

static void
test_es_redis_direct_append_settles_when_xadd_is_answered(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	struct fk_link	*l;
	enum es_stored	 where = ES_STORED_NONE;
	unsigned	 zero = 0;

	fix_open(f);
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	fix_up(f, rp_arr(0));
	assert_int_equal(f->nstates, 0);	/* direct all along */
	l = fk_cur();

	assert_int_equal(fix_append(f, 1000, 0, 0, &where), ES_PENDING);
	assert_int_equal(where, ES_STORED_NONE);	/* not touched */
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XADD("1000-0", "msg"));
	/* Not before its answer, however long the loop runs. */
	fix_run_until(f, &zero, 1, TIMEOUT_MS / 5);
	assert_int_equal(f->calls[0].n, 0);
	assert_int_equal(fix_stats(f).fallback_depth, 1);

	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, 0);
	assert_int_equal(f->calls[0].where, ES_STORED_REDIS);
	st = fix_stats(f);
	assert_int_equal(st.stored_redis, 1);
	assert_int_equal(st.stored_memory, 0);
	assert_int_equal(st.fallback_depth, 0);
	assert_int_equal(st.state, ES_STATE_DIRECT);
	assert_int_equal(f->nstates, 0);
	/* And once: the deadline passing later changes nothing. */
	fix_run_until(f, &zero, 1, TIMEOUT_MS * 2);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->nstates, 0);
	assert_false(l->closed);
}

/* A missing reply: down at the deadline, a new link after backoff. */

static void
test_es_redis_missing_reply_falls_back_and_reconnects_later(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;
	int64_t		 t0, took;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	t0 = now_us();
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), ES_PENDING);
	fix_run_until(f, &f->calls[0].n, 1, TIMEOUT_MS + MARGIN_MS);
	took = now_us() - t0;		/* from before the send */
	assert_int_equal(f->calls[0].n, 1);
	assert_true(took >= TIMEOUT_MS * 1000);
	assert_true(took <= (TIMEOUT_MS + MARGIN_MS) * 1000);
	assert_int_equal(f->calls[0].status, 0);
	assert_int_equal(f->calls[0].where, ES_STORED_MEMORY);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0], "no reply within redis_timeout_ms");
	assert_true(l->closed);
	assert_int_equal(l->nulls, 1);
	assert_int_equal(l->n, 0);
	assert_int_equal(g.nlinks, 1);
	assert_int_equal(fix_stats(f).stored_memory, 1);
	assert_int_equal(fix_stats(f).fallback_depth, 1);

	took = fix_run_until(f, &g.nlinks, 2, BACKOFF_HI_MS + MARGIN_MS);
	assert_int_equal(g.nlinks, 2);
	assert_true(took >= BACKOFF_LO_MS * 1000);
	assert_true(took <= (BACKOFF_HI_MS + MARGIN_MS) * 1000);

	/* The next link writes the event again; its ack is not run again. */
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XADD("1000-0", "msg"));
	assert_int_equal(es_get_state(f->es), ES_STATE_RESYNC);
	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	assert_int_equal(fix_stats(f).fallback_depth, 0);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->nstates, 3);
}

/* An error reply takes the link down the same way. */

static void
test_es_redis_error_reply_falls_back_and_reconnects_later(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;
	int64_t		 took;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), ES_PENDING);
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), ES_PENDING);
	assert_int_equal(l->n, 2);
	fk_answer(l, rp_err(OOM));
	/* Both acks from memory, in order; the second XADD answered NULL. */
	assert_int_equal(f->norder, 2);
	assert_int_equal(f->order[0], 0);
	assert_int_equal(f->order[1], 1);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, 0);
	assert_int_equal(f->calls[0].where, ES_STORED_MEMORY);
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(f->calls[1].status, 0);
	assert_int_equal(f->calls[1].where, ES_STORED_MEMORY);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0], OOM);
	assert_true(l->closed);
	assert_int_equal(l->nulls, 1);
	assert_int_equal(fix_stats(f).fallback_depth, 2);
	assert_int_equal(fix_stats(f).stored_memory, 2);
	assert_int_equal(g.nlinks, 1);

	took = fix_run_until(f, &g.nlinks, 2, BACKOFF_HI_MS + MARGIN_MS);
	assert_int_equal(g.nlinks, 2);
	assert_true(took >= BACKOFF_LO_MS * 1000);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(l->n, 2);
	assert_string_equal(fk_cmd_str(l, 0), XADD("1000-0", "msg"));
	assert_string_equal(fk_cmd_str(l, 1), XADD("1000-1", "msg"));
	fk_answer(l, rp_str("1000-0"));
	fk_answer(l, rp_str("1000-1"));
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	assert_int_equal(f->norder, 2);
}

/* The deadline is each command's own: a later send gets its full time. */
static void
test_es_redis_deadline_runs_from_each_commands_own_send(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;
	unsigned	 zero = 0;
	int64_t		 t0, t1;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	t0 = now_us();
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), ES_PENDING);
	fix_run_until(f, &zero, 1, TIMEOUT_MS * 3 / 5);
	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].where, ES_STORED_REDIS);
	t1 = now_us();
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), ES_PENDING);
	/* The timer armed for the first fires, finds the second young. */
	fix_run_until(f, &f->calls[1].n, 1, TIMEOUT_MS + MARGIN_MS);
	assert_int_equal(f->calls[1].n, 1);
	assert_true(now_us() - t1 >= TIMEOUT_MS * 1000);
	assert_true(now_us() - t0 >= TIMEOUT_MS * 8 / 5 * 1000);
	assert_int_equal(f->calls[1].status, 0);
	assert_int_equal(f->calls[1].where, ES_STORED_MEMORY);
	assert_true(l->closed);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
}

/* 100 ms, then 200 while the top keeps failing; 100 again once up. */
static void
test_es_redis_backoff_doubles_while_failing_resets_when_up(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;
	int64_t		 took;

	fix_open(f);
	l = fk_cur();
	fk_up(l);
	fk_answer(l, rp_err("LOADING Redis is loading the dataset in memory"));
	assert_true(l->closed);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0],
	    "LOADING Redis is loading the dataset in memory");
	took = fix_run_until(f, &g.nlinks, 2, BACKOFF_HI_MS + MARGIN_MS);
	assert_int_equal(g.nlinks, 2);
	assert_true(took >= BACKOFF_LO_MS * 1000);

	l = fk_cur();
	fk_up(l);
	fk_answer(l, rp_err("LOADING Redis is loading the dataset in memory"));
	took = fix_run_until(f, &g.nlinks, 3, 2 * BACKOFF_HI_MS + MARGIN_MS);
	assert_int_equal(g.nlinks, 3);
	assert_true(took >= 2 * BACKOFF_LO_MS * 1000 + 5000);
	assert_true(took <= (2 * BACKOFF_HI_MS + MARGIN_MS) * 1000);

	fix_up(f, rp_arr(0));
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	assert_int_equal(f->nstates, 2);
	fk_lose(fk_cur(), "connection lost");
	/* 400 ms had it not been reset: at least 300. */
	took = fix_run_until(f, &g.nlinks, 4, BACKOFF_HI_MS + 150);
	assert_int_equal(g.nlinks, 4);
	assert_true(took >= BACKOFF_LO_MS * 1000);
	assert_true(took < 300 * 1000);
}

static void
test_es_redis_lost_link_settles_acks_in_memory_then_rewrites(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), ES_PENDING);
	fk_lose(l, "connection lost");
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, 0);
	assert_int_equal(f->calls[0].where, ES_STORED_MEMORY);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0], "connection lost");
	assert_true(l->closed);
	/* While down, an append is acked from memory at once. */
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), 0);
	fix_run_until(f, &g.nlinks, 2, BACKOFF_HI_MS + MARGIN_MS);
	assert_int_equal(g.nlinks, 2);
	fix_up(f, rp_arr(1, rp_std_entry("999-0", "msg")));
	l = fk_cur();
	assert_int_equal(l->n, 2);
	assert_string_equal(fk_cmd_str(l, 0), XADD("1000-0", "msg"));
	assert_string_equal(fk_cmd_str(l, 1), XADD("1000-1", "msg"));
	fk_answer(l, rp_str("1000-0"));
	fk_answer(l, rp_str("1000-1"));
	assert_int_equal(fix_stats(f).fallback_depth, 0);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[1].n, 0);
}

static void
test_es_redis_unsendable_xadd_goes_down_from_the_loop(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;
	enum es_stored	 where = ES_STORED_NONE;
	unsigned	 zero = 0;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	g.fail_command = true;
	assert_int_equal(fix_append(f, 1000, 0, 0, &where), ES_PENDING);
	assert_int_equal(where, ES_STORED_NONE);
	/* Not inside es_append: the link goes, and the ack comes, later. */
	assert_int_equal(f->nstates, 0);
	assert_false(l->closed);
	assert_int_equal(f->calls[0].n, 0);
	fix_run_until(f, &zero, 1, 5);
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0], "cannot send XADD");
	assert_true(l->closed);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, 0);
	assert_int_equal(f->calls[0].where, ES_STORED_MEMORY);
	assert_int_equal(fix_stats(f).fallback_depth, 1);
	assert_int_equal(fix_stats(f).stored_memory, 1);
	g.fail_command = false;
}

/*
 * A publisher faster than Redis: past the window of 1024 commands in
 * flight, an ack still waits for Redis (queued unsent), so held replies
 * slow the publisher instead of the ring filling up.
 */
static void
count_redis_cb(void *arg, int status, enum es_stored where)
{
	unsigned	*n = arg;

	assert_int_equal(status, 0);
	assert_int_equal(where, ES_STORED_REDIS);
	(*n)++;
}

static void
test_es_redis_full_window_queues_acks_that_wait_for_redis(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;
	unsigned	 i;

	struct es_event	ev;
	unsigned	 redis = 0;

	f->cfg.mem_max_events = 4096;
	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	for (i = 0; i < 1030; i++) {
		ev = ev_make(2000, i, "msg");
		assert_int_equal(es_append(f->es, &ev, count_redis_cb, &redis,
		    NULL), ES_PENDING);
	}
	assert_int_equal(l->n, 1024);		/* the window */
	assert_int_equal(fix_stats(f).fallback_depth, 1030);
	assert_int_equal(fix_stats(f).stored_memory, 0);
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	for (i = 0; i < 1030; i++) {
		assert_int_equal(redis, i);
		fk_answer(l, rp_str("2000-0"));
	}
	assert_int_equal(redis, 1030);
	assert_int_equal(l->n, 0);
	assert_int_equal(fix_stats(f).stored_redis, 1030);
	assert_int_equal(fix_stats(f).fallback_depth, 0);
}

/*
 * Redis found at start: a pub before the first link has answered waits
 * for it (its deadline bounds that), and is acked from Redis.
 */
static void
test_es_redis_first_link_connecting_holds_the_ack(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;

	fix_open(f);
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	assert_int_equal(fix_append(f, 3000, 0, 0, NULL), ES_PENDING);
	assert_int_equal(f->calls[0].n, 0);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(l->n, 1);		/* its XADD, after the top */
	fk_answer(l, rp_str("3000-0"));
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].where, ES_STORED_REDIS);
	assert_int_equal(fix_stats(f).stored_memory, 0);
	assert_int_equal(f->nstates, 0);	/* never left direct */
}

/* Ids continue above the candidates stream's last id too. */
static void
test_es_redis_ids_continue_above_the_candidates_stream(void **state)
{
	struct fix	*f = *state;
	struct eid	 last;

	g.last_id.ms = 5000;
	g.cand_id.ms = 7000;
	g.cand_id.seq = 3;
	fix_open(f);
	es_last_eid(f->es, &last);
	assert_eid(&last, 7000, 3);
}

/* Resync over an event Redis already holds: checked, skipped. */

static void
test_es_redis_resync_skips_an_event_redis_already_holds(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	struct fk_link	*l;

	g.unreachable = true;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), 0);
	l = fk_cur();
	fk_up(l);
	fk_answer(l, rp_arr(1, rp_std_entry("1000-0", "msg")));
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XCHECK("1000-0"));
	assert_int_equal(es_get_state(f->es), ES_STATE_RESYNC);
	/* Behind a check, a new event waits: acked from memory. */
	assert_int_equal(fix_append(f, 1000, 2, 2, NULL), 0);
	assert_int_equal(l->n, 1);

	fk_answer(l, rp_arr(1, rp_std_entry("1000-0", "msg")));
	st = fix_stats(f);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.conflicts, 0);
	assert_int_equal(st.fallback_depth, 2);
	assert_int_equal(l->n, 2);
	assert_string_equal(fk_cmd_str(l, 0), XADD("1000-1", "msg"));
	assert_string_equal(fk_cmd_str(l, 1), XADD("1000-2", "msg"));
	fk_answer(l, rp_str("1000-1"));
	fk_answer(l, rp_str("1000-2"));
	st = fix_stats(f);
	assert_int_equal(st.state, ES_STATE_DIRECT);
	assert_int_equal(st.fallback_depth, 0);
	assert_int_equal(st.duplicates, 1);
	/* XREVRANGE, XRANGE, two XADDs: 1000-0 never written again. */
	assert_int_equal(g.ncommands, 4);
	assert_int_equal(f->norder, 0);
}

/* Missing below the top: the side stream, never lost. */

static void
test_es_redis_resync_sends_a_missing_event_to_conflicts(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	struct fk_link	*l;

	g.unreachable = true;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), 0);
	l = fk_cur();
	fk_up(l);
	fk_answer(l, rp_arr(1, rp_std_entry("1000-1", "msg")));
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XCHECK("1000-0"));
	fk_answer(l, rp_arr(0));
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XCONFLICT("1000-0"));
	assert_int_equal(fix_stats(f).fallback_depth, 2);	/* not yet */
	assert_int_equal(es_get_state(f->es), ES_STATE_RESYNC);

	fk_answer(l, rp_str("1700000000000-0"));
	st = fix_stats(f);
	assert_int_equal(st.conflicts, 1);
	assert_int_equal(st.fallback_depth, 1);
	/* 1000-1 is the top itself: checked too, found, skipped. */
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), XCHECK("1000-1"));
	fk_answer(l, rp_arr(1, rp_std_entry("1000-1", "msg")));
	st = fix_stats(f);
	assert_int_equal(st.state, ES_STATE_DIRECT);
	assert_int_equal(st.fallback_depth, 0);
	assert_int_equal(st.conflicts, 1);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(l->n, 0);
	assert_int_equal(g.ncommands, 4);
}

/*
 * A conflict whose side-stream XADD failed is sent again on the next
 * link: one event went to the side stream, so it counts once.
 */
static void
test_es_redis_conflict_sent_again_is_counted_once(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	struct fk_link	*l;
	int		 pass;

	g.unreachable = true;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), 0);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			fix_run_until(f, &g.nlinks, 2,
			    BACKOFF_HI_MS + MARGIN_MS);
			assert_int_equal(g.nlinks, 2);
		}
		l = fk_cur();
		fk_up(l);
		fk_answer(l, rp_arr(1, rp_std_entry("1000-1", "msg")));
		assert_string_equal(fk_cmd_str(l, 0), XCHECK("1000-0"));
		fk_answer(l, rp_arr(0));
		assert_string_equal(fk_cmd_str(l, 0), XCONFLICT("1000-0"));
		if (pass == 0) {
			fk_answer(l, rp_err(OOM));
			assert_true(l->closed);
			assert_int_equal(fix_stats(f).fallback_depth, 2);
		}
	}
	fk_answer(l, rp_str("1700000000000-0"));
	assert_string_equal(fk_cmd_str(l, 0), XCHECK("1000-1"));
	fk_answer(l, rp_arr(1, rp_std_entry("1000-1", "msg")));
	st = fix_stats(f);
	assert_int_equal(st.state, ES_STATE_DIRECT);
	assert_int_equal(st.fallback_depth, 0);
	assert_int_equal(st.resyncs, 2);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.conflicts, 1);
}

/* A read below the ring: Redis's page, then the ring's events. */

static void
test_es_redis_read_below_the_ring_merges_in_ring_events(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;
	struct es_event		*out[10], *ev;
	struct call		*c = &f->calls[0];
	struct fk_link		*l;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(fix_read(f, 0, 0, 10, true, 0, out, &res),
	    ES_PENDING);
	assert_int_equal(res.n, 0);
	assert_int_equal(l->n, 1);
	assert_string_equal(fk_cmd_str(l, 0), "XRANGE callosum:events 0-0 "
	    "18446744073709551615-18446744073709551615 COUNT 10");
	/* Sent after the XRANGE: not in its answer, still in the ring. */
	assert_int_equal(fix_append_kind(f, 2000, 0, "msg", 1), ES_PENDING);
	assert_int_equal(fix_append_kind(f, 2000, 1, "skip", 2), ES_PENDING);
	assert_int_equal(l->n, 3);

	fk_answer(l, rp_arr(2, rp_entry("1000-0", "from", "alice", "to",
	    "bob", "kind", "msg", "pri", "2.5", "agent", "ag", "session", "s1",
	    "model", "m1", "ts", "1700000000000123", "body", "hello",
	    "pattern", "p.*", "hdr", "\x81\xa1k\xa1v", NULL),
	    rp_std_entry("1000-1", "skip")));
	assert_int_equal(c->n, 1);
	assert_int_equal(c->status, 0);
	assert_int_equal(c->res.n, 2);
	assert_int_equal(c->res.examined, 4);
	assert_eid(&c->res.last, 2000, 1);
	assert_int_equal(f->filtered, 4);
	ev = c->evs[0];
	assert_int_equal(ev->refcnt, 1);
	assert_eid(&ev->eid, 1000, 0);
	assert_bytes(&ev->from, "alice");
	assert_bytes(&ev->to, "bob");
	assert_bytes(&ev->kind, "msg");
	assert_bytes(&ev->agent, "ag");
	assert_bytes(&ev->session, "s1");
	assert_bytes(&ev->model, "m1");
	assert_bytes(&ev->body, "hello");
	assert_bytes(&ev->pattern, "p.*");
	assert_bytes(&ev->hdr, "\x81\xa1k\xa1v");
	assert_true(ev->pri == 2.5);
	assert_int_equal(ev->ts_us, 1700000000000123);
	assert_true(ev->body_kind_unknown);
	assert_false(ev->body_is_str);
	/* From the ring: as appended. */
	ev = c->evs[1];
	assert_int_equal(ev->refcnt, 1);
	assert_eid(&ev->eid, 2000, 0);
	assert_bytes(&ev->kind, "msg");
	assert_bytes(&ev->body, "hello");
	assert_null(ev->pattern.ptr);
	assert_true(ev->pri == 2);
	assert_int_equal(ev->ts_us, 1700000000000000);
	assert_false(ev->body_kind_unknown);
	assert_true(ev->body_is_str);

	fk_answer(l, rp_str("2000-0"));
	fk_answer(l, rp_str("2000-1"));
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(f->calls[1].where, ES_STORED_REDIS);
	assert_int_equal(f->calls[2].n, 1);
	assert_int_equal(f->calls[2].where, ES_STORED_REDIS);
	assert_int_equal(c->n, 1);
}

static void
test_es_redis_full_page_read_takes_nothing_from_the_ring(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;
	struct es_event		*out[2];
	struct call		*c = &f->calls[0];
	struct fk_link		*l;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(fix_read(f, 5, 0, 2, false, 0, out, &res),
	    ES_PENDING);
	assert_string_equal(fk_cmd_str(l, 0), "XRANGE callosum:events 5-0 "
	    "18446744073709551615-18446744073709551615 COUNT 2");
	assert_int_equal(fix_append(f, 2000, 0, 1, NULL), ES_PENDING);
	fk_answer(l, rp_arr(2, rp_std_entry("1000-0", "msg"),
	    rp_std_entry("1000-5", "other")));
	assert_int_equal(c->n, 1);
	assert_int_equal(c->status, 0);
	assert_int_equal(c->res.n, 2);
	assert_int_equal(c->res.examined, 2);
	assert_eid(&c->res.last, 1000, 5);
	assert_eid(&c->evs[0]->eid, 1000, 0);
	assert_eid(&c->evs[1]->eid, 1000, 5);
	assert_bytes(&c->evs[1]->kind, "other");
	assert_true(c->evs[1]->pri == 2);
	fk_answer(l, rp_str("2000-0"));
	assert_int_equal(f->calls[1].n, 1);
}

static void
test_es_redis_read_out_when_the_link_goes_fails_once(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;
	struct es_event		*out[4];
	struct fk_link		*l;
	unsigned		 zero = 0;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(fix_read(f, 0, 0, 4, false, 0, out, &res),
	    ES_PENDING);
	assert_int_equal(fix_append(f, 1000, 0, 1, NULL), ES_PENDING);
	fk_lose(l, "connection lost");
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, -1);
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(f->calls[1].status, 0);
	assert_int_equal(f->calls[1].where, ES_STORED_MEMORY);
	assert_int_equal(l->nulls, 2);
	assert_true(l->closed);
	fix_run_until(f, &zero, 1, 10);
	fix_close(f);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(f->norder, 2);
}

/* A page Redis refused or that does not parse: -1, the link stays. */
static void
test_es_redis_read_of_a_bad_page_fails_and_keeps_the_link(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;
	struct es_event		*out[4];
	struct fk_link		*l;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(fix_read(f, 0, 0, 4, false, 0, out, &res),
	    ES_PENDING);
	fk_answer(l, rp_err("WRONGTYPE Operation against a key holding the "
	    "wrong kind of value"));
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, -1);
	assert_false(l->closed);
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	/* One good entry, then one that is not an entry: nothing leaks. */
	assert_int_equal(fix_read(f, 0, 0, 4, false, 1, out, &res),
	    ES_PENDING);
	fk_answer(l, rp_arr(2, rp_std_entry("1000-0", "msg"),
	    rp_str("junk")));
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(f->calls[1].status, -1);
	assert_false(l->closed);
	assert_int_equal(f->nstates, 0);
}

/* A range that starts inside the ring is answered now. */

static void
test_es_redis_read_inside_the_ring_is_answered_at_once(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;
	struct es_event		*out[10];
	unsigned		 i;

	g.unreachable = true;
	fix_open(f);
	for (i = 0; i < 3; i++)
		assert_int_equal(fix_append(f, 1000, i, i, NULL), 0);
	assert_int_equal(fix_read(f, 1000, 1, 10, false, 3, out, &res), 0);
	assert_int_equal(res.n, 2);
	assert_int_equal(res.examined, 2);
	assert_eid(&res.last, 1000, 2);
	assert_eid(&out[0]->eid, 1000, 1);
	assert_eid(&out[1]->eid, 1000, 2);
	assert_bytes(&out[0]->kind, "msg");
	assert_bytes(&out[0]->body, "hello");
	for (i = 0; i < res.n; i++)
		es_event_unref(out[i]);
	assert_int_equal(g.ncommands, 0);
	/* Below the ring with no link: nothing to ask, -1 at once. */
	assert_int_equal(fix_read(f, 0, 0, 10, false, 3, out, &res), -1);
	assert_int_equal(res.n, 0);
	assert_int_equal(g.ncommands, 0);
	assert_int_equal(f->calls[3].n, 0);

	/* Up, the same: the ring's part needs no command. */
	fix_up(f, rp_arr(0));
	assert_int_equal(fix_read(f, 1000, 2, 10, false, 3, out, &res), 0);
	assert_int_equal(res.n, 1);
	assert_eid(&out[0]->eid, 1000, 2);
	es_event_unref(out[0]);
	assert_int_equal(fk_cur()->n, 3);	/* the XADDs only */
	assert_int_equal(g.ncommands, 4);
	fk_answer(fk_cur(), rp_str("1000-0"));
	fk_answer(fk_cur(), rp_str("1000-1"));
	fk_answer(fk_cur(), rp_str("1000-2"));
	assert_int_equal(f->calls[3].n, 0);
}

/* Close: what is pending is called back once, with -1. */

static void
test_es_redis_close_fails_pending_append_and_read_once(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;
	struct es_event		*out[4];
	struct fk_link		*l;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), ES_PENDING);
	assert_int_equal(fix_read(f, 0, 0, 4, false, 1, out, &res),
	    ES_PENDING);
	assert_int_equal(l->n, 2);
	fix_close(f);
	assert_int_equal(f->norder, 2);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, -1);
	assert_int_equal(f->calls[0].where, ES_STORED_NONE);
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(f->calls[1].status, -1);
	assert_int_equal(f->calls[1].res.n, 0);
	assert_true(l->closed);
	assert_int_equal(l->nulls, 2);
	assert_int_equal(f->nstates, 0);	/* none from es_close */
}

/* Flush. */

static void
test_es_redis_flush_with_an_empty_ring_returns_0(void **state)
{
	struct fix	*f = *state;

	fix_open(f);
	fix_up(f, rp_arr(0));
	assert_int_equal(es_flush(f->es, flush_cb, &f->calls[7]), 0);
	fix_close(f);
	assert_int_equal(f->calls[7].n, 0);
}

static void
test_es_redis_flush_calls_back_once_the_ring_is_confirmed(void **state)
{
	struct fix	*f = *state;
	struct call	*c = &f->calls[7];
	struct fk_link	*l;
	unsigned	 zero = 0;

	g.unreachable = true;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), 0);
	assert_int_equal(es_flush(f->es, flush_cb, c), ES_PENDING);
	assert_int_equal(g.opens, 1);	/* a link is on its way already */
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(l->n, 2);
	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(c->n, 0);
	fk_answer(l, rp_str("1000-1"));
	assert_int_equal(c->n, 1);
	assert_int_equal(c->status, 0);
	fix_run_until(f, &zero, 1, 10);
	assert_int_equal(es_flush(f->es, flush_cb, c), 0);
	fix_close(f);
	assert_int_equal(c->n, 1);
}

static void
test_es_redis_flush_while_down_tries_a_link_at_once(void **state)
{
	struct fix	*f = *state;
	struct call	*c = &f->calls[7];
	struct fk_link	*l;
	unsigned	 zero = 0;

	g.unreachable = true;
	g.fail_open = true;
	fix_open(f);
	assert_int_equal(g.opens, 1);
	assert_int_equal(g.nlinks, 0);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	g.fail_open = false;
	assert_int_equal(es_flush(f->es, flush_cb, c), ES_PENDING);
	assert_int_equal(g.opens, 2);	/* not at the end of a backoff */
	assert_int_equal(g.nlinks, 1);
	/* Up before the link's own deadline (redis_timeout_ms). */
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_string_equal(fk_cmd_str(l, 0), XADD("1000-0", "msg"));
	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(c->n, 1);
	assert_int_equal(c->status, 0);
	/* The backoff's retry was dropped: no third open. */
	fix_run_until(f, &zero, 1, BACKOFF_HI_MS + 50);
	assert_int_equal(g.opens, 2);
}

static void
test_es_redis_flush_pending_at_close_gets_minus_1(void **state)
{
	struct fix	*f = *state;
	struct call	*c = &f->calls[7];

	g.unreachable = true;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	assert_int_equal(es_flush(f->es, flush_cb, c), ES_PENDING);
	fix_up(f, rp_arr(0));
	assert_int_equal(fk_cur()->n, 1);	/* its XADD out, unanswered */
	fix_close(f);
	assert_int_equal(c->n, 1);
	assert_int_equal(c->status, -1);
	assert_int_equal(f->norder, 1);
}

/* Each es_flush that returned ES_PENDING is called back once. */
static void
test_es_redis_second_flush_keeps_the_first_callback(void **state)
{
	struct fix	*f = *state;
	struct fk_link	*l;

	g.unreachable = true;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	assert_int_equal(es_flush(f->es, flush_cb, &f->calls[6]),
	    ES_PENDING);
	assert_int_equal(es_flush(f->es, flush_cb, &f->calls[7]),
	    ES_PENDING);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(f->calls[7].n, 1);
	assert_int_equal(f->calls[7].status, 0);
	assert_int_equal(f->calls[6].n, 1);
	assert_int_equal(f->calls[6].status, 0);
}

/* The ring's bound covers every event not confirmed. */

static void
test_es_redis_full_ring_refuses_the_third_append(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	struct fk_link	*l;
	struct eid	 last;
	enum es_stored	 where = ES_STORED_NONE;

	g.unreachable = true;
	f->cfg.mem_max_events = 2;
	fix_open(f);
	assert_int_equal(fix_append(f, 1000, 0, 0, NULL), 0);
	assert_int_equal(fix_append(f, 1000, 1, 1, NULL), 0);
	assert_int_equal(fix_append(f, 1000, 2, 2, &where), -1);
	assert_int_equal(where, ES_STORED_NONE);
	st = fix_stats(f);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.appended, 2);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.depth, 2);
	assert_int_equal(st.fallback_depth, 2);
	assert_int_equal(st.stored_memory, 2);
	es_last_eid(f->es, &last);
	assert_eid(&last, 1000, 1);

	/* In flight still counts; each answer makes room for one. */
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(l->n, 2);
	assert_int_equal(fix_append(f, 1000, 2, 2, NULL), -1);
	assert_int_equal(fix_stats(f).refused, 2);
	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(fix_append(f, 1000, 2, 2, NULL), ES_PENDING);
	assert_int_equal(fix_append(f, 1000, 3, 3, NULL), -1);
	assert_int_equal(fix_stats(f).refused, 3);
	fk_answer(l, rp_str("1000-1"));
	fk_answer(l, rp_str("1000-2"));
	assert_int_equal(f->calls[2].n, 1);
	assert_int_equal(f->calls[2].where, ES_STORED_REDIS);
	assert_int_equal(f->calls[3].n, 0);
	assert_int_equal(f->norder, 1);
	assert_int_equal(fix_stats(f).fallback_depth, 0);
}

/* What a kv operation was answered with. */
struct kv_seen {
	unsigned	n;
	int		status;
	char		val[64];	/* "" when none */
	bool		none;		/* val NULL */
};

static void
kv_cb(void *arg, int status, const void *val, size_t len)
{
	struct kv_seen	*k = arg;

	k->n++;
	k->status = status;
	k->none = val == NULL;
	assert_true(len < sizeof(k->val));
	if (val != NULL)
		memcpy(k->val, val, len);
	k->val[val != NULL ? len : 0] = '\0';
}

/*
 * The router's own state beside the log (synth snapshots): SET and GET
 * of <prefix>NAME, each answered once; a GET of nothing gives no value;
 * nothing can be asked before the link is up (EAGAIN).
 */
static void
test_es_redis_kv_set_and_get_are_answered_once(void **state)
{
	struct fix	*f = *state;
	struct kv_seen	 set = { 0 }, get = { 0 }, none = { 0 };
	struct fk_link	*l;

	fix_open(f);
	errno = 0;
	assert_int_equal(es_kv_get(f->es, "synth", kv_cb, &get), -1);
	assert_int_equal(errno, EAGAIN);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(es_kv_set(f->es, "synth", "abc", 3, kv_cb, &set),
	    ES_PENDING);
	assert_string_equal(fk_cmd_str(l, 0), "SET callosum:synth abc");
	fk_answer(l, rp_new(REDIS_REPLY_STATUS, "OK"));
	assert_int_equal(set.n, 1);
	assert_int_equal(set.status, 0);
	assert_int_equal(es_kv_get(f->es, "synth", kv_cb, &get), ES_PENDING);
	assert_string_equal(fk_cmd_str(l, 0), "GET callosum:synth");
	fk_answer(l, rp_str("abc"));
	assert_int_equal(get.n, 1);
	assert_int_equal(get.status, 0);
	assert_false(get.none);
	assert_string_equal(get.val, "abc");
	assert_int_equal(es_kv_get(f->es, "other", kv_cb, &none), ES_PENDING);
	fk_answer(l, rp_new(REDIS_REPLY_NIL, NULL));
	assert_int_equal(none.n, 1);
	assert_int_equal(none.status, 0);
	assert_true(none.none);
	/* Not a kv failure that takes the link down: it stays. */
	assert_false(l->closed);
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
}

/* A kv operation out when the link goes: -1, once. */
static void
test_es_redis_kv_out_when_the_link_goes_fails_once(void **state)
{
	struct fix	*f = *state;
	struct kv_seen	 get = { 0 };

	fix_open(f);
	fix_up(f, rp_arr(0));
	assert_int_equal(es_kv_get(f->es, "synth", kv_cb, &get), ES_PENDING);
	fk_lose(fk_cur(), "fake: reset");
	assert_int_equal(get.n, 1);
	assert_int_equal(get.status, -1);
	fix_run_until(f, &get.n, 2, TIMEOUT_MS * 2);
	assert_int_equal(get.n, 1);
}

/*
 * A copy into a stream of its own, with the event's id: its id back is
 * done, and so is "equal or smaller" (already there); another error is -1
 * and keeps the link.
 */
static void
test_es_redis_mirror_writes_the_id_and_takes_a_repeat_as_done(void **state)
{
	struct fix	*f = *state;
	struct kv_seen	 a = { 0 }, b = { 0 }, c = { 0 };
	struct es_event	 ev = ev_make(1000, 0, "candidate");
	struct fk_link	*l;

	fix_open(f);
	fix_up(f, rp_arr(0));
	l = fk_cur();
	assert_int_equal(es_mirror(f->es, "candidates", &ev, kv_cb, &a),
	    ES_PENDING);
	assert_string_equal(fk_cmd_str(l, 0),
	    "XADD callosum:candidates 1000-0 " FIELDS("candidate"));
	fk_answer(l, rp_str("1000-0"));
	assert_int_equal(a.n, 1);
	assert_int_equal(a.status, 0);
	assert_int_equal(es_mirror(f->es, "candidates", &ev, kv_cb, &b),
	    ES_PENDING);
	fk_answer(l, rp_err("ERR The ID specified in XADD is equal or smaller "
	    "than the target stream top item"));
	assert_int_equal(b.n, 1);
	assert_int_equal(b.status, 0);
	assert_int_equal(es_mirror(f->es, "candidates", &ev, kv_cb, &c),
	    ES_PENDING);
	fk_answer(l, rp_err("WRONGTYPE Operation against a key holding the "
	    "wrong kind of value"));
	assert_int_equal(c.n, 1);
	assert_int_equal(c.status, -1);
	assert_false(l->closed);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		T(test_es_redis_unreachable_at_start_holds_then_writes_back),
		T(test_es_redis_maxlen_trims_approximately_before_the_id),
		T(test_es_redis_prefix_names_both_streams),
		T(test_es_redis_direct_append_settles_when_xadd_is_answered),
		T(test_es_redis_missing_reply_falls_back_and_reconnects_later),
		T(test_es_redis_error_reply_falls_back_and_reconnects_later),
		T(test_es_redis_deadline_runs_from_each_commands_own_send),
		T(test_es_redis_backoff_doubles_while_failing_resets_when_up),
		T(test_es_redis_lost_link_settles_acks_in_memory_then_rewrites),
		T(test_es_redis_unsendable_xadd_goes_down_from_the_loop),
		T(test_es_redis_full_window_queues_acks_that_wait_for_redis),
		T(test_es_redis_first_link_connecting_holds_the_ack),
		T(test_es_redis_ids_continue_above_the_candidates_stream),
		T(test_es_redis_resync_skips_an_event_redis_already_holds),
		T(test_es_redis_resync_sends_a_missing_event_to_conflicts),
		T(test_es_redis_conflict_sent_again_is_counted_once),
		T(test_es_redis_read_below_the_ring_merges_in_ring_events),
		T(test_es_redis_full_page_read_takes_nothing_from_the_ring),
		T(test_es_redis_read_out_when_the_link_goes_fails_once),
		T(test_es_redis_read_of_a_bad_page_fails_and_keeps_the_link),
		T(test_es_redis_read_inside_the_ring_is_answered_at_once),
		T(test_es_redis_close_fails_pending_append_and_read_once),
		T(test_es_redis_flush_with_an_empty_ring_returns_0),
		T(test_es_redis_flush_calls_back_once_the_ring_is_confirmed),
		T(test_es_redis_flush_while_down_tries_a_link_at_once),
		T(test_es_redis_flush_pending_at_close_gets_minus_1),
		T(test_es_redis_second_flush_keeps_the_first_callback),
		T(test_es_redis_full_ring_refuses_the_third_append),
		T(test_es_redis_kv_set_and_get_are_answered_once),
		T(test_es_redis_kv_out_when_the_link_goes_fails_once),
		T(test_es_redis_mirror_writes_the_id_and_takes_a_repeat_as_done),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
