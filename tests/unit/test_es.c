/*
 * test_es: the front of the event log (es.c), through a fake backend
 * plugged in with es_config.backend. The test completes the fake's pending
 * appends and reads itself, in any order and with either outcome, checks
 * that es_close calls back what is still pending exactly once, that state
 * reports reach the router's callback once per change, and that the front
 * refuses what the backend must never see. Run under
 * -DCALLOSUM_SANITIZE=ON, leaks are fatal.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eventstore/es_internal.h"
#include "eventstore/eventstore.h"

#define FAKE_MAX	8

/* What the fake answers to an append or a read. */
enum fake_mode {
	FAKE_NOW = 0,	/* settled at once: 0, stored in "redis" */
	FAKE_LATER,	/* ES_PENDING: the test completes it */
	FAKE_REFUSE	/* -1 */
};

/* An append or read the fake answered with ES_PENDING. */
struct fake_op {
	bool		 pending;
	struct eid	 eid;
	es_append_cb	*acb;
	es_read_cb	*rcb;
	void		*arg;
};

struct fake {
	struct es	*front;
	enum fake_mode	 mode;
	struct fake_op	 app[FAKE_MAX];
	size_t		 napp;
	struct fake_op	 rd[FAKE_MAX];
	size_t		 nrd;
	unsigned	 appends;	/* es_append calls that reached it */
	unsigned	 reads;		/* es_read calls that reached it */
	struct eid	 last;
};

/* Set by a test before es_open; counts that outlive the fake. */
static struct {
	struct fake	*cur;		/* the open fake, or NULL */
	bool		 fail_open;
	bool		 fallback_at_open;
	bool		 fallback_at_close;
	struct eid	 floor;		/* the last id "found" at open */
	unsigned	 opens;
	unsigned	 closes;
} g;

static void	*fake_open(struct es *, const struct es_config *, char **);
static void	 fake_close(void *);
static int	 fake_append(void *, const struct es_event *, es_append_cb *,
		    void *, enum es_stored *);
static int	 fake_read(void *, const struct es_query *, struct es_event **,
		    struct es_read_result *, es_read_cb *, void *);
static void	 fake_last_eid(void *, struct eid *);
static void	 fake_first_eid(void *, struct eid *);
static void	 fake_stats(void *, struct es_stats *);

static const struct es_backend fake_backend = {
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.append = fake_append,
	.read = fake_read,
	.last_eid = fake_last_eid,
	.first_eid = fake_first_eid,
	.stats = fake_stats
};

static void *
fake_open(struct es *front, const struct es_config *cfg, char **cause)
{
	struct fake	*fk;

	(void)cfg;
	if (g.fail_open) {
		es_cause(cause, "fake: cannot open");
		return (NULL);
	}
	if ((fk = calloc(1, sizeof(*fk))) == NULL)
		return (NULL);
	fk->front = front;
	fk->last = g.floor;
	g.cur = fk;
	g.opens++;
	if (g.fallback_at_open)
		es_backend_state(front, ES_STATE_FALLBACK, "fake: down");
	return (fk);
}

/* As a backend must: every pending op called back once, with -1. */
static void
fake_close(void *be)
{
	struct es_read_result	 none;
	struct fake		*fk = be;
	struct fake_op		*op;
	size_t			 i;

	if (g.fallback_at_close)
		es_backend_state(fk->front, ES_STATE_FALLBACK, "fake: closing");
	for (i = 0; i < fk->napp; i++) {
		op = &fk->app[i];
		if (!op->pending)
			continue;
		op->pending = false;
		op->acb(op->arg, -1, ES_STORED_NONE);
	}
	for (i = 0; i < fk->nrd; i++) {
		op = &fk->rd[i];
		if (!op->pending)
			continue;
		op->pending = false;
		memset(&none, 0, sizeof(none));
		op->rcb(op->arg, NULL, &none, -1);
	}
	g.closes++;
	g.cur = NULL;
	free(fk);
}

static int
fake_append(void *be, const struct es_event *ev, es_append_cb *cb, void *arg,
    enum es_stored *where)
{
	struct fake	*fk = be;
	struct fake_op	*op;

	fk->appends++;
	assert_true(eid_cmp(&ev->eid, &fk->last) > 0);
	if (fk->mode == FAKE_REFUSE)
		return (-1);
	fk->last = ev->eid;
	if (fk->mode == FAKE_NOW) {
		*where = ES_STORED_REDIS;
		return (0);
	}
	assert_true(fk->napp < FAKE_MAX);
	op = &fk->app[fk->napp++];
	op->pending = true;
	op->eid = ev->eid;
	op->acb = cb;
	op->arg = arg;
	return (ES_PENDING);
}

static int
fake_read(void *be, const struct es_query *q, struct es_event **out,
    struct es_read_result *res, es_read_cb *cb, void *arg)
{
	struct fake	*fk = be;
	struct fake_op	*op;

	(void)out;
	(void)res;		/* zeroed by the front; nothing to say now */
	fk->reads++;
	assert_true(q->max >= 1 && eid_cmp(&q->from, &q->to) <= 0);
	if (fk->mode == FAKE_REFUSE)
		return (-1);
	if (fk->mode == FAKE_NOW)
		return (0);		/* nothing held: *res stays zero */
	assert_true(fk->nrd < FAKE_MAX);
	op = &fk->rd[fk->nrd++];
	op->pending = true;
	op->eid = q->from;
	op->rcb = cb;
	op->arg = arg;
	return (ES_PENDING);
}

static void
fake_last_eid(void *be, struct eid *out)
{
	*out = ((struct fake *)be)->last;
}

static void
fake_first_eid(void *be, struct eid *out)
{
	(void)be;
	memset(out, 0, sizeof(*out));
}

static void
fake_stats(void *be, struct es_stats *out)
{
	out->appended = ((struct fake *)be)->appends;
}

/* The test's side: settles pending append i with an outcome. */
static void
fake_settle(size_t i, int status, enum es_stored where)
{
	struct fake_op	*op;

	assert_non_null(g.cur);
	assert_true(i < g.cur->napp);
	op = &g.cur->app[i];
	assert_true(op->pending);
	op->pending = false;
	op->acb(op->arg, status, where);
}

/* Answers pending read i with n events from its first id on. */
static void
fake_read_done(size_t i, size_t n)
{
	struct es_event		 proto, *evs[FAKE_MAX];
	struct es_read_result	 res;
	struct fake_op		*op;
	size_t			 k;

	assert_non_null(g.cur);
	assert_true(i < g.cur->nrd && n <= FAKE_MAX);
	op = &g.cur->rd[i];
	assert_true(op->pending);
	op->pending = false;
	memset(&proto, 0, sizeof(proto));
	memset(&res, 0, sizeof(res));
	for (k = 0; k < n; k++) {
		proto.eid = op->eid;
		proto.eid.seq += k;
		assert_non_null(evs[k] = es_event_new(&proto));
		res.last = proto.eid;
	}
	res.n = res.examined = n;
	op->rcb(op->arg, evs, &res, 0);
}

/* One callback target: how often it ran and with what. */
struct call {
	struct fix	*f;
	unsigned	 id;
	unsigned	 n;
	int		 status;
	enum es_stored	 where;
	size_t		 nevs;
	int		 reenter;	/* what es_append gave inside it */
};

struct fix {
	struct es	*es;
	struct call	 calls[FAKE_MAX];
	unsigned	 order[FAKE_MAX * 2];	/* call ids, as they ran */
	unsigned	 norder;
	enum es_state	 states[FAKE_MAX];	/* state callbacks, in order */
	char		 whys[FAKE_MAX][32];
	unsigned	 nstates;
	unsigned	 nstates_other;		/* the replacement callback */
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

static void
read_cb(void *arg, struct es_event **evs, const struct es_read_result *res,
    int status)
{
	struct call	*c = arg;
	size_t		 i;

	c->n++;
	c->status = status;
	c->f->order[c->f->norder++] = c->id;
	if (status != 0) {
		assert_null(evs);
		assert_int_equal(res->n, 0);
		return;
	}
	c->nevs = res->n;
	for (i = 0; i < res->n; i++)
		es_event_unref(evs[i]);
}

static void
state_cb(void *arg, enum es_state state, const char *why)
{
	struct fix	*f = arg;

	assert_true(f->nstates < FAKE_MAX);
	f->states[f->nstates] = state;
	strncpy(f->whys[f->nstates], why != NULL ? why : "-",
	    sizeof(f->whys[0]) - 1);
	f->nstates++;
}

static void
other_state_cb(void *arg, enum es_state state, const char *why)
{
	struct fix	*f = arg;

	(void)state;
	(void)why;
	f->nstates_other++;
}

static void
fix_config(struct fix *f, struct es_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_max_events = 10;
	cfg->backend = &fake_backend;
	cfg->state_cb = state_cb;
	cfg->state_arg = f;
}

static int
setup(void **state)
{
	struct es_config	 cfg;
	struct fix		*f;
	unsigned		 i;

	memset(&g, 0, sizeof(g));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	for (i = 0; i < FAKE_MAX; i++) {
		f->calls[i].f = f;
		f->calls[i].id = i;
	}
	fix_config(f, &cfg);
	if ((f->es = es_open(&cfg, NULL)) == NULL) {
		free(f);
		return (-1);
	}
	*state = f;
	return (0);
}

/* Setup without opening: the test opens the store itself. */
static int
setup_closed(void **state)
{
	struct fix	*f;
	unsigned	 i;

	memset(&g, 0, sizeof(g));
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	for (i = 0; i < FAKE_MAX; i++) {
		f->calls[i].f = f;
		f->calls[i].id = i;
	}
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	es_close(f->es);
	assert_null(g.cur);
	assert_int_equal(g.closes, g.opens);
	free(f);
	return (0);
}

/* Appends an event with id ms-seq, cb's arg the fixture's call id. */
static int
fix_append(struct fix *f, uint64_t ms, uint64_t seq, unsigned id,
    enum es_stored *where)
{
	struct es_event	proto;

	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = ms;
	proto.eid.seq = seq;
	proto.body.ptr = "b";
	proto.body.len = 1;
	return (es_append(f->es, &proto, append_cb, &f->calls[id], where));
}

/* Reads [from, ...] with the fixture's call id as cb's arg. */
static int
fix_read(struct fix *f, uint64_t from, size_t max, unsigned id,
    struct es_read_result *res)
{
	struct es_event	*out[FAKE_MAX];
	struct es_query	 q;

	memset(&q, 0, sizeof(q));
	q.from.ms = from;
	q.to.ms = UINT64_MAX;
	q.max = max;
	return (es_read(f->es, &q, out, res, read_cb, &f->calls[id]));
}

static void
test_es_open_uses_the_backend_in_config(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;

	assert_int_equal(g.opens, 1);
	assert_non_null(g.cur);
	assert_ptr_equal(g.cur->front, f->es);
	es_get_stats(f->es, &st);
	assert_string_equal(st.backend, "fake");
	assert_int_equal(st.state, ES_STATE_DIRECT);
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	assert_int_equal(f->nstates, 0);
}

static void
test_es_backend_in_config_wins_over_redis_url(void **state)
{
	struct fix		*f = *state;
	struct es_config	 cfg;

	fix_config(f, &cfg);
	cfg.redis_url = "unix:///nowhere/redis.sock";
	assert_non_null(f->es = es_open(&cfg, NULL));
	assert_int_equal(g.opens, 1);
	assert_ptr_equal(g.cur->front, f->es);
}

static void
test_es_open_failure_returns_cause_and_leaves_nothing(void **state)
{
	struct fix		*f = *state;
	struct es_config	 cfg;
	char			*cause = NULL;

	fix_config(f, &cfg);
	g.fail_open = true;
	assert_null(es_open(&cfg, &cause));
	assert_non_null(cause);
	assert_string_equal(cause, "fake: cannot open");
	free(cause);
	assert_int_equal(g.opens, 0);
	assert_int_equal(g.closes, 0);
}

static void
test_es_append_settled_now_never_calls_back(void **state)
{
	struct fix	*f = *state;
	enum es_stored	 where = ES_STORED_NONE;

	assert_int_equal(fix_append(f, 1, 0, 0, &where), 0);
	assert_int_equal(where, ES_STORED_REDIS);
	es_close(f->es);
	f->es = NULL;
	assert_int_equal(f->calls[0].n, 0);
	assert_int_equal(f->norder, 0);
}

static void
test_es_pending_appends_called_back_in_order(void **state)
{
	struct fix	*f = *state;
	enum es_stored	 where = ES_STORED_MEMORY;
	unsigned	 i;

	g.cur->mode = FAKE_LATER;
	for (i = 0; i < 3; i++)
		assert_int_equal(fix_append(f, 10 + i, 0, i, &where),
		    ES_PENDING);
	/* Pending: *where is left alone, and nothing has run yet. */
	assert_int_equal(where, ES_STORED_MEMORY);
	assert_int_equal(f->norder, 0);
	for (i = 0; i < 3; i++)
		fake_settle(i, 0, ES_STORED_REDIS);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->calls[i].n, 1);
		assert_int_equal(f->calls[i].status, 0);
		assert_int_equal(f->calls[i].where, ES_STORED_REDIS);
		assert_int_equal(f->order[i], i);
	}
	assert_int_equal(f->norder, 3);
	es_close(f->es);
	f->es = NULL;
	assert_int_equal(f->norder, 3);		/* nothing more at close */
}

static void
test_es_pending_appends_called_back_out_of_order(void **state)
{
	struct fix	*f = *state;
	unsigned	 i;

	g.cur->mode = FAKE_LATER;
	for (i = 0; i < 3; i++)
		assert_int_equal(fix_append(f, 10 + i, 0, i, NULL),
		    ES_PENDING);
	fake_settle(2, 0, ES_STORED_REDIS);
	fake_settle(0, 0, ES_STORED_MEMORY);
	fake_settle(1, 0, ES_STORED_REDIS);
	assert_int_equal(f->norder, 3);
	assert_int_equal(f->order[0], 2);
	assert_int_equal(f->order[1], 0);
	assert_int_equal(f->order[2], 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->calls[i].n, 1);
		assert_int_equal(f->calls[i].status, 0);
	}
	assert_int_equal(f->calls[0].where, ES_STORED_MEMORY);
	assert_int_equal(f->calls[1].where, ES_STORED_REDIS);
}

static void
test_es_pending_append_failure_calls_back_minus_1(void **state)
{
	struct fix	*f = *state;

	g.cur->mode = FAKE_LATER;
	assert_int_equal(fix_append(f, 10, 0, 0, NULL), ES_PENDING);
	fake_settle(0, -1, ES_STORED_NONE);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, -1);
	assert_int_equal(f->calls[0].where, ES_STORED_NONE);
	/* Its id was taken: the order moved on and does not come back. */
	g.cur->mode = FAKE_NOW;
	assert_int_equal(fix_append(f, 10, 0, 1, NULL), -1);
	assert_int_equal(fix_append(f, 10, 1, 1, NULL), 0);
	assert_int_equal(g.cur->appends, 2);
}

static void
test_es_refused_append_returns_minus_1_without_callback(void **state)
{
	struct fix	*f = *state;
	enum es_stored	 where = ES_STORED_NONE;
	struct eid	 e;

	g.cur->mode = FAKE_REFUSE;
	assert_int_equal(fix_append(f, 10, 0, 0, &where), -1);
	assert_int_equal(where, ES_STORED_NONE);
	/* Nothing kept: the order did not move, the same id may come. */
	es_last_eid(f->es, &e);
	assert_true(eid_is_zero(&e));
	g.cur->mode = FAKE_NOW;
	assert_int_equal(fix_append(f, 10, 0, 1, &where), 0);
	es_close(f->es);
	f->es = NULL;
	assert_int_equal(f->calls[0].n, 0);
	assert_int_equal(f->calls[1].n, 0);
}

static void
test_es_close_calls_back_pending_appends_once_with_minus_1(void **st)
{
	struct fix	*f = *st;
	unsigned	 i;

	g.cur->mode = FAKE_LATER;
	for (i = 0; i < 4; i++)
		assert_int_equal(fix_append(f, 10 + i, 0, i, NULL),
		    ES_PENDING);
	fake_settle(1, 0, ES_STORED_REDIS);
	es_close(f->es);
	f->es = NULL;
	/* Every one exactly once, before es_close returned. */
	assert_int_equal(f->norder, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(f->calls[i].n, 1);
	assert_int_equal(f->calls[1].status, 0);
	assert_int_equal(f->calls[1].where, ES_STORED_REDIS);
	assert_int_equal(f->calls[0].status, -1);
	assert_int_equal(f->calls[2].status, -1);
	assert_int_equal(f->calls[3].status, -1);
	assert_int_equal(f->calls[0].where, ES_STORED_NONE);
	assert_int_equal(f->calls[2].where, ES_STORED_NONE);
	assert_int_equal(f->calls[3].where, ES_STORED_NONE);
	assert_int_equal(g.closes, 1);
}

/* A failed append's owner tries again at once, as a retry would. */
static void
reenter_cb(void *arg, int status, enum es_stored where)
{
	struct call		*c = arg;
	struct es_read_result	 res;
	struct es_event		 proto;

	append_cb(arg, status, where);
	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = 1000 + c->n;
	c->reenter = es_append(c->f->es, &proto, append_cb, c, NULL);
	assert_int_equal(fix_read(c->f, 0, 4, c->id, &res), -1);
	assert_int_equal(res.n, 0);
}

static void
test_es_callbacks_during_close_get_minus_1_from_the_store(void **state)
{
	struct fix	*f = *state;
	struct es_event	 proto;
	struct es	*es = f->es;

	g.cur->mode = FAKE_LATER;
	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = 10;
	assert_int_equal(es_append(es, &proto, reenter_cb, &f->calls[0], NULL),
	    ES_PENDING);
	assert_int_equal(g.cur->appends, 1);
	es_close(es);
	f->es = NULL;
	/* Refused at the front: the closing fake saw no new work. */
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, -1);
	assert_int_equal(f->calls[0].reenter, -1);
	assert_int_equal(f->norder, 1);
}

static void
test_es_pending_read_called_back_once_with_events(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;

	g.cur->mode = FAKE_LATER;
	assert_int_equal(fix_read(f, 5, 4, 0, &res), ES_PENDING);
	assert_int_equal(res.n, 0);
	assert_int_equal(f->calls[0].n, 0);
	fake_read_done(0, 3);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, 0);
	assert_int_equal(f->calls[0].nevs, 3);
	es_close(f->es);
	f->es = NULL;
	assert_int_equal(f->calls[0].n, 1);
}

static void
test_es_close_calls_back_reads_still_out_with_minus_1(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;

	g.cur->mode = FAKE_LATER;
	assert_int_equal(fix_read(f, 5, 4, 0, &res), ES_PENDING);
	assert_int_equal(fix_read(f, 9, 4, 1, &res), ES_PENDING);
	assert_int_equal(fix_append(f, 10, 0, 2, NULL), ES_PENDING);
	fake_read_done(1, 2);
	es_close(f->es);
	f->es = NULL;
	assert_int_equal(f->norder, 3);
	assert_int_equal(f->calls[0].n, 1);
	assert_int_equal(f->calls[0].status, -1);
	assert_int_equal(f->calls[0].nevs, 0);
	assert_int_equal(f->calls[1].n, 1);
	assert_int_equal(f->calls[1].status, 0);
	assert_int_equal(f->calls[1].nevs, 2);
	assert_int_equal(f->calls[2].n, 1);
	assert_int_equal(f->calls[2].status, -1);
}

static void
test_es_read_of_an_empty_range_never_reaches_the_backend(void **state)
{
	struct fix		*f = *state;
	struct es_read_result	 res;
	struct es_event		*out[1];
	struct es_query		 q;

	g.cur->mode = FAKE_LATER;
	memset(&q, 0, sizeof(q));
	q.from.ms = 2;
	q.to.ms = 1;
	q.max = 1;
	assert_int_equal(es_read(f->es, &q, out, &res, read_cb, &f->calls[0]),
	    0);
	assert_int_equal(fix_read(f, 0, 0, 0, &res), 0);
	assert_int_equal(res.n, 0);
	assert_int_equal(g.cur->reads, 0);
	g.cur->mode = FAKE_REFUSE;
	assert_int_equal(fix_read(f, 0, 1, 0, &res), -1);
	assert_int_equal(g.cur->reads, 1);
	assert_int_equal(f->calls[0].n, 0);
}

static void
test_es_append_out_of_order_is_refused_before_the_backend(void **state)
{
	struct fix		*f = *state;
	struct es_config	 cfg;
	struct eid		 e;

	g.floor.ms = 100;
	g.floor.seq = 5;
	fix_config(f, &cfg);
	assert_non_null(f->es = es_open(&cfg, NULL));
	/* At or below the log's last id, and 0-0: not for the backend. */
	assert_int_equal(fix_append(f, 0, 0, 0, NULL), -1);
	assert_int_equal(fix_append(f, 100, 4, 0, NULL), -1);
	assert_int_equal(fix_append(f, 100, 5, 0, NULL), -1);
	assert_int_equal(g.cur->appends, 0);
	assert_int_equal(fix_append(f, 100, 6, 0, NULL), 0);
	/* A pending append moves the order on too. */
	g.cur->mode = FAKE_LATER;
	assert_int_equal(fix_append(f, 200, 0, 1, NULL), ES_PENDING);
	assert_int_equal(fix_append(f, 150, 0, 2, NULL), -1);
	assert_int_equal(fix_append(f, 200, 0, 2, NULL), -1);
	assert_int_equal(g.cur->appends, 2);
	es_last_eid(f->es, &e);
	assert_int_equal(e.ms, 200);
	assert_int_equal(e.seq, 0);
	assert_int_equal(f->calls[2].n, 0);
}

static void
test_es_state_cb_runs_once_per_change(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;

	es_backend_state(f->es, ES_STATE_FALLBACK, "redis: refused");
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0], "redis: refused");
	assert_int_equal(es_get_state(f->es), ES_STATE_FALLBACK);
	/* A repeat is not a change. */
	es_backend_state(f->es, ES_STATE_FALLBACK, "redis: refused again");
	assert_int_equal(f->nstates, 1);
	es_backend_state(f->es, ES_STATE_RESYNC, NULL);
	es_backend_state(f->es, ES_STATE_DIRECT, "resynced");
	es_backend_state(f->es, ES_STATE_DIRECT, "resynced");
	assert_int_equal(f->nstates, 3);
	assert_int_equal(f->states[1], ES_STATE_RESYNC);
	assert_string_equal(f->whys[1], "-");
	assert_int_equal(f->states[2], ES_STATE_DIRECT);
	es_get_stats(f->es, &st);
	assert_int_equal(st.state, ES_STATE_DIRECT);
}

static void
test_es_state_reported_during_open_reaches_the_config_cb(void **state)
{
	struct fix		*f = *state;
	struct es_config	 cfg;
	struct es_stats		 st;

	g.fallback_at_open = true;
	fix_config(f, &cfg);
	assert_non_null(f->es = es_open(&cfg, NULL));
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_FALLBACK);
	assert_string_equal(f->whys[0], "fake: down");
	assert_int_equal(es_get_state(f->es), ES_STATE_FALLBACK);
	es_get_stats(f->es, &st);
	assert_int_equal(st.state, ES_STATE_FALLBACK);
}

static void
test_es_set_state_cb_replaces_the_callback(void **state)
{
	struct fix	*f = *state;

	es_set_state_cb(f->es, other_state_cb, f);
	es_backend_state(f->es, ES_STATE_FALLBACK, "down");
	assert_int_equal(f->nstates, 0);
	assert_int_equal(f->nstates_other, 1);
	/* No callback: the state is still recorded. */
	es_set_state_cb(f->es, NULL, NULL);
	es_backend_state(f->es, ES_STATE_RESYNC, "up");
	assert_int_equal(f->nstates_other, 1);
	assert_int_equal(es_get_state(f->es), ES_STATE_RESYNC);
	/* Back to the first: called on the next change only. */
	es_set_state_cb(f->es, state_cb, f);
	assert_int_equal(f->nstates, 0);
	es_backend_state(f->es, ES_STATE_DIRECT, "resynced");
	assert_int_equal(f->nstates, 1);
	assert_int_equal(f->states[0], ES_STATE_DIRECT);
}

static void
test_es_state_reported_while_closing_calls_nothing(void **state)
{
	struct fix	*f = *state;

	g.fallback_at_close = true;
	es_close(f->es);
	f->es = NULL;
	assert_int_equal(f->nstates, 0);
}

static void
test_es_state_name_names_each_state(void **state)
{
	(void)state;
	assert_string_equal(es_state_name(ES_STATE_DIRECT), "direct");
	assert_string_equal(es_state_name(ES_STATE_FALLBACK), "fallback");
	assert_string_equal(es_state_name(ES_STATE_RESYNC), "resync");
}

static void
test_es_close_null_is_a_no_op(void **state)
{
	(void)state;
	es_close(NULL);
}

#define T(name)		cmocka_unit_test_setup_teardown(name, setup, teardown)
#define T_CLOSED(name)	cmocka_unit_test_setup_teardown(name, setup_closed, \
			    teardown)

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		T(test_es_open_uses_the_backend_in_config),
		T_CLOSED(test_es_backend_in_config_wins_over_redis_url),
		T_CLOSED(
		    test_es_open_failure_returns_cause_and_leaves_nothing),
		T(test_es_append_settled_now_never_calls_back),
		T(test_es_pending_appends_called_back_in_order),
		T(test_es_pending_appends_called_back_out_of_order),
		T(test_es_pending_append_failure_calls_back_minus_1),
		T(test_es_refused_append_returns_minus_1_without_callback),
		T(test_es_close_calls_back_pending_appends_once_with_minus_1),
		T(test_es_callbacks_during_close_get_minus_1_from_the_store),
		T(test_es_pending_read_called_back_once_with_events),
		T(test_es_close_calls_back_reads_still_out_with_minus_1),
		T(test_es_read_of_an_empty_range_never_reaches_the_backend),
		T_CLOSED(
		    test_es_append_out_of_order_is_refused_before_the_backend),
		T(test_es_state_cb_runs_once_per_change),
		T_CLOSED(
		    test_es_state_reported_during_open_reaches_the_config_cb),
		T(test_es_set_state_cb_replaces_the_callback),
		T(test_es_state_reported_while_closing_calls_nothing),
		cmocka_unit_test(test_es_state_name_names_each_state),
		cmocka_unit_test(test_es_close_null_is_a_no_op),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
