/*
 * test_es_mem: the embedded event log, driven through eventstore.h with
 * the memory backend, plus the ring's internal head operations (the later
 * Redis fallback drains with them) and the event record itself. Run under
 * -DCALLOSUM_SANITIZE=ON, leaks are fatal: every reference is accounted for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "eventstore/es_internal.h"
#include "eventstore/eventstore.h"

#define NEVS	16

/* A fixture: a store and the events the test made (one reference each). */
struct fix {
	struct es	*es;
	struct es_event	*evs[NEVS];
	size_t		 nevs;
	unsigned	 append_cbs;
	unsigned	 read_cbs;
};

static struct es_event	*mkev(uint64_t, uint64_t);
static struct es_event	*fix_ev(struct fix *, uint64_t, uint64_t);
static int		 fix_open(void **, size_t, enum es_full_policy);
static void		 append_cb(void *, int, enum es_stored);
static void		 read_cb(void *, struct es_event **,
			    const struct es_read_result *, int);
static int		 fix_read(struct fix *, const struct eid *,
			    const struct eid *, size_t, struct es_event **);
static int		 fix_append(struct fix *, struct es_event *);
static void		 unref_all(struct es_event **, size_t);

static struct es_event *
mkev(uint64_t ms, uint64_t seq)
{
	struct es_event	proto;

	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = ms;
	proto.eid.seq = seq;
	proto.ts_us = (int64_t)ms * 1000;
	proto.pri = 0.5;
	proto.from.ptr = "internal";
	proto.from.len = 8;
	proto.to.ptr = "external";
	proto.to.len = 8;
	proto.kind.ptr = "msg";
	proto.kind.len = 3;
	proto.body.ptr = "x";
	proto.body.len = 1;
	return (es_event_new(&proto));
}

/* An event the fixture owns (unref'd in teardown). */
static struct es_event *
fix_ev(struct fix *f, uint64_t ms, uint64_t seq)
{
	struct es_event	*ev;

	assert_true(f->nevs < NEVS);
	ev = mkev(ms, seq);
	assert_non_null(ev);
	f->evs[f->nevs++] = ev;
	return (ev);
}

static int
fix_open(void **state, size_t max_events, enum es_full_policy full)
{
	struct es_config	 cfg;
	struct fix		*f;
	char			*cause = NULL;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	memset(&cfg, 0, sizeof(cfg));
	cfg.mem_max_events = max_events;
	cfg.mem_full = full;
	if ((f->es = es_open(&cfg, &cause)) == NULL) {
		free(cause);
		free(f);
		return (-1);
	}
	*state = f;
	return (0);
}

static int
setup_drop4(void **state)
{
	return (fix_open(state, 4, ES_FULL_DROP_OLDEST));
}

static int
setup_drop100(void **state)
{
	return (fix_open(state, 100, ES_FULL_DROP_OLDEST));
}

static int
setup_refuse3(void **state)
{
	return (fix_open(state, 3, ES_FULL_REFUSE));
}

static int
teardown(void **state)
{
	struct fix	*f = *state;

	es_close(f->es);
	unref_all(f->evs, f->nevs);
	free(f);
	return (0);
}

static void
append_cb(void *arg, int status, enum es_stored where)
{
	struct fix	*f = arg;

	(void)status;
	(void)where;
	f->append_cbs++;
}

static void
read_cb(void *arg, struct es_event **evs, const struct es_read_result *res,
    int status)
{
	struct fix	*f = arg;

	if (status == 0)
		unref_all(evs, res->n);
	f->read_cbs++;
}

/*
 * Reads every event of [from, to] up to max through es_read, which the
 * memory log must answer at once; returns how many it returned, having
 * checked that unfiltered, it returned all it looked at.
 */
static int
fix_read(struct fix *f, const struct eid *from, const struct eid *to,
    size_t max, struct es_event **out)
{
	struct es_read_result	res;
	struct es_query		q;

	memset(&q, 0, sizeof(q));
	q.from = *from;
	q.to = *to;
	q.max = max;
	assert_int_equal(es_read(f->es, &q, out, &res, read_cb, f), 0);
	assert_int_equal(res.n, res.examined);
	if (res.n > 0)
		assert_true(eid_cmp(&res.last, &out[res.n - 1]->eid) == 0);
	return ((int)res.n);
}

/* Appends ev; the memory log must settle it at once or refuse. */
static int
fix_append(struct fix *f, struct es_event *ev)
{
	enum es_stored	where = ES_STORED_NONE;
	int		r;

	r = es_append(f->es, ev, append_cb, f, &where);
	if (r == 0)
		assert_int_equal(where, ES_STORED_MEMORY);
	else
		assert_int_equal(where, ES_STORED_NONE);
	return (r);
}

static void
unref_all(struct es_event **evs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		es_event_unref(evs[i]);
}

static void
test_es_open_memory_store_starts_empty(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	struct eid	 e;

	es_get_stats(f->es, &st);
	assert_string_equal(st.backend, "memory");
	assert_int_equal(st.appended, 0);
	assert_int_equal(st.stored_memory, 0);
	assert_int_equal(st.stored_redis, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.fallback_depth, 0);
	assert_int_equal(st.state, ES_STATE_DIRECT);
	assert_int_equal(es_get_state(f->es), ES_STATE_DIRECT);
	es_last_eid(f->es, &e);
	assert_true(eid_is_zero(&e));
	es_first_eid(f->es, &e);
	assert_true(eid_is_zero(&e));
}

/* The Redis log runs on an event base: without one it says so. */
static void
test_es_open_with_redis_url_needs_an_event_base(void **state)
{
	struct es_config	 cfg;
	char			*cause = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mem_max_events = 10;
	cfg.redis_url = "unix:///tmp/redis.sock";
	assert_null(es_open(&cfg, &cause));
	assert_non_null(cause);
	assert_string_equal(cause, "redis: an event base and a URL are needed");
	free(cause);
}

static void
test_es_open_zero_capacity_fails_with_cause(void **state)
{
	struct es_config	 cfg;
	char			*cause = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_null(es_open(&cfg, &cause));
	assert_non_null(cause);
	assert_string_equal(cause, "mem_max_events must be at least 1");
	free(cause);
}

static void
test_es_open_a_million_events_allocates_lazily(void **state)
{
	struct es_config	 cfg;
	struct es_stats		 st;
	struct es		*es;
	char			*cause = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mem_max_events = 1000000;
	es = es_open(&cfg, &cause);
	assert_non_null(es);
	assert_null(cause);
	es_get_stats(es, &st);
	assert_int_equal(st.depth, 0);
	es_close(es);
}

static void
test_es_append_settles_in_memory_without_callback(void **state)
{
	struct fix	*f = *state;
	struct es_event	*ev = fix_ev(f, 10, 0);

	assert_int_equal(fix_append(f, ev), 0);
	assert_int_equal(f->append_cbs, 0);
	/* The store copied it: ours is still the only reference. */
	assert_int_equal(ev->refcnt, 1);
}

static void
test_es_append_not_after_last_eid_is_refused(void **state)
{
	struct fix	*f = *state;
	struct es_event	*zero = fix_ev(f, 0, 0), *ev = fix_ev(f, 10, 5);
	struct es_event	*same = fix_ev(f, 10, 5), *older = fix_ev(f, 10, 4);
	struct es_stats	 st;
	struct eid	 e;

	assert_int_equal(fix_append(f, zero), -1);
	assert_int_equal(fix_append(f, ev), 0);
	assert_int_equal(fix_append(f, same), -1);
	assert_int_equal(fix_append(f, older), -1);
	assert_int_equal(same->refcnt, 1);
	assert_int_equal(older->refcnt, 1);
	es_get_stats(f->es, &st);
	assert_int_equal(st.appended, 1);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.depth, 1);
	es_last_eid(f->es, &e);
	assert_int_equal(e.ms, 10);
	assert_int_equal(e.seq, 5);
}

static void
test_es_read_range_is_inclusive_and_stops_at_max(void **state)
{
	struct fix	*f = *state;
	struct es_event	*out[10];
	struct eid	 from = { 3, 0 }, to = { 7, 0 };
	uint64_t	 ms;
	int		 n, i;

	for (ms = 1; ms <= 10; ms++)
		assert_int_equal(fix_append(f, fix_ev(f, ms, 0)), 0);

	n = fix_read(f, &from, &to, 10, out);
	assert_int_equal(n, 5);
	ms = 3;
	for (i = 0; i < n; i++) {
		assert_int_equal(out[i]->eid.ms, 3 + i);
		assert_int_equal(out[i]->eid.seq, 0);
		/* A copy the reader owns alone. */
		assert_int_equal(out[i]->refcnt, 1);
		assert_true(out[i] != f->evs[ms + (uint64_t)i - 1]);
	}
	unref_all(out, (size_t)n);

	n = fix_read(f, &from, &to, 2, out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0]->eid.ms, 3);
	assert_int_equal(out[1]->eid.ms, 4);
	unref_all(out, (size_t)n);

	/* A single id is a range of one. */
	n = fix_read(f, &to, &to, 10, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0]->eid.ms, 7);
	unref_all(out, (size_t)n);
	assert_int_equal(f->read_cbs, 0);
}

static void
test_es_read_between_stored_ids_starts_at_the_next(void **state)
{
	struct fix	*f = *state;
	struct es_event	*out[10];
	struct eid	 from = { 15, 0 }, to = { 25, 0 };
	struct eid	 from2 = { 10, 1 }, to2 = { 30, 0 };
	struct eid	 past = { 31, 0 }, end = { UINT64_MAX, UINT64_MAX };
	int		 n;

	assert_int_equal(fix_append(f, fix_ev(f, 10, 0)), 0);
	assert_int_equal(fix_append(f, fix_ev(f, 20, 0)), 0);
	assert_int_equal(fix_append(f, fix_ev(f, 30, 0)), 0);

	n = fix_read(f, &from, &to, 10, out);
	assert_int_equal(n, 1);
	assert_int_equal(out[0]->eid.ms, 20);
	unref_all(out, (size_t)n);

	n = fix_read(f, &from2, &to2, 10, out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0]->eid.ms, 20);
	assert_int_equal(out[1]->eid.ms, 30);
	unref_all(out, (size_t)n);

	n = fix_read(f, &past, &end, 10, out);
	assert_int_equal(n, 0);
}

static void
test_es_read_empty_store_returns_0(void **state)
{
	struct fix	*f = *state;
	struct es_event	*out[4];
	struct eid	 from = { 0, 0 }, to = { UINT64_MAX, UINT64_MAX };

	assert_int_equal(fix_read(f, &from, &to, 4, out), 0);
	assert_int_equal(f->read_cbs, 0);
}

static void
test_es_read_from_after_to_or_max_0_returns_0(void **state)
{
	struct fix	*f = *state;
	struct es_event	*out[4];
	struct eid	 from = { 2, 0 }, to = { 1, 0 };
	struct eid	 all = { UINT64_MAX, UINT64_MAX };

	assert_int_equal(fix_append(f, fix_ev(f, 1, 0)), 0);
	assert_int_equal(fix_append(f, fix_ev(f, 2, 0)), 0);
	assert_int_equal(fix_read(f, &from, &to, 4, out), 0);
	assert_int_equal(fix_read(f, &to, &all, 0, NULL), 0);
}

static void
test_es_drop_oldest_wrap_counts_dropped(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	struct eid	 e;
	uint64_t	 ms;

	for (ms = 1; ms <= 10; ms++)
		assert_int_equal(fix_append(f, fix_ev(f, ms, 0)), 0);

	es_get_stats(f->es, &st);
	assert_int_equal(st.appended, 10);
	assert_int_equal(st.stored_memory, 10);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.depth, 4);
	es_first_eid(f->es, &e);
	assert_int_equal(e.ms, 7);
	assert_int_equal(e.seq, 0);
}

static void
test_es_replay_after_wrap_returns_only_held_in_order(void **state)
{
	struct fix	*f = *state;
	struct es_event	*out[10];
	struct eid	 start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	struct eid	 from = { 8, 0 }, to = { 9, 0 };
	int		 n, i;
	uint64_t	 ms;

	/* 10 into 4 slots: the ring wraps twice and more. */
	for (ms = 1; ms <= 10; ms++)
		assert_int_equal(fix_append(f, fix_ev(f, ms, 0)), 0);

	n = fix_read(f, &start, &end, 10, out);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		assert_int_equal(out[i]->eid.ms, 7 + i);
	unref_all(out, (size_t)n);

	/* From an evicted id: what is held from there on. */
	from.ms = 3;
	n = fix_read(f, &from, &to, 10, out);
	assert_int_equal(n, 3);
	assert_int_equal(out[0]->eid.ms, 7);
	assert_int_equal(out[1]->eid.ms, 8);
	assert_int_equal(out[2]->eid.ms, 9);
	unref_all(out, (size_t)n);

	/* A range wholly evicted holds nothing. */
	from.ms = 1;
	to.ms = 6;
	assert_int_equal(fix_read(f, &from, &to, 10, out), 0);
}

static void
test_es_last_eid_survives_eviction(void **state)
{
	struct fix	*f = *state;
	struct eid	 e;
	uint64_t	 ms;

	for (ms = 1; ms <= 6; ms++)
		assert_int_equal(fix_append(f, fix_ev(f, ms, 3)), 0);
	es_last_eid(f->es, &e);
	assert_int_equal(e.ms, 6);
	assert_int_equal(e.seq, 3);
	/* Older ids than the last remain refused after their eviction. */
	assert_int_equal(fix_append(f, fix_ev(f, 2, 0)), -1);
}

static void
test_es_append_copies_and_keeps_no_reference(void **state)
{
	struct fix	*f = *state;
	struct es_event	 proto, *out[1];
	struct eid	 start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	char		 body[] = "before";

	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = 1;
	proto.from.ptr = "internal";
	proto.from.len = 8;
	proto.to.ptr = "external";
	proto.to.len = 8;
	proto.body.ptr = body;
	proto.body.len = 6;
	assert_int_equal(es_append(f->es, &proto, append_cb, f, NULL), 0);
	/* The caller's bytes are its own again at once. */
	memcpy(body, "AFTER!", 6);
	assert_int_equal(fix_read(f, &start, &end, 1, out), 1);
	assert_int_equal(out[0]->refcnt, 1);
	assert_memory_equal(out[0]->body.ptr, "before", 6);
	assert_true(out[0]->body.ptr != body);
	es_event_unref(out[0]);
}

static void
test_es_read_copies_every_field_back(void **state)
{
	struct fix	*f = *state;
	struct es_event	 proto, *out[2];
	struct eid	 start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	const char	 hdr[] = { (char)0x81, (char)0xa1, 'k', 0x01 };
	char		 body[3] = { 'a', '\0', 'b' };
	int		 n;

	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = 5;
	proto.eid.seq = 7;
	proto.ts_us = -12;
	proto.pri = 0.75;
	proto.body_is_str = true;
	proto.from.ptr = "internal";
	proto.from.len = 8;
	proto.to.ptr = "";		/* set but empty */
	proto.to.len = 0;
	proto.kind.ptr = "bframe";
	proto.kind.len = 6;
	proto.agent.ptr = "a1";
	proto.agent.len = 2;
	proto.session.ptr = "s";
	proto.session.len = 1;
	proto.model.ptr = "m-large";
	proto.model.len = 7;
	proto.body.ptr = body;
	proto.body.len = sizeof(body);
	proto.pattern.ptr = "p:q";
	proto.pattern.len = 3;
	proto.hdr.ptr = hdr;
	proto.hdr.len = sizeof(hdr);
	assert_int_equal(es_append(f->es, &proto, append_cb, f, NULL), 0);
	memset(&proto, 0, sizeof(proto));	/* every field unset */
	proto.eid.ms = 6;
	assert_int_equal(es_append(f->es, &proto, append_cb, f, NULL), 0);

	n = fix_read(f, &start, &end, 2, out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0]->eid.ms, 5);
	assert_int_equal(out[0]->eid.seq, 7);
	assert_int_equal(out[0]->ts_us, -12);
	assert_true(out[0]->pri == 0.75);
	assert_true(out[0]->body_is_str);
	assert_string_equal(out[0]->from.ptr, "internal");
	assert_non_null(out[0]->to.ptr);
	assert_int_equal(out[0]->to.len, 0);
	assert_string_equal(out[0]->kind.ptr, "bframe");
	assert_string_equal(out[0]->agent.ptr, "a1");
	assert_string_equal(out[0]->session.ptr, "s");
	assert_string_equal(out[0]->model.ptr, "m-large");
	assert_int_equal(out[0]->body.len, 3);
	assert_memory_equal(out[0]->body.ptr, body, 3);
	assert_string_equal(out[0]->pattern.ptr, "p:q");
	assert_int_equal(out[0]->hdr.len, sizeof(hdr));
	assert_memory_equal(out[0]->hdr.ptr, hdr, sizeof(hdr));

	assert_int_equal(out[1]->eid.ms, 6);
	assert_false(out[1]->body_is_str);
	assert_null(out[1]->from.ptr);
	assert_null(out[1]->to.ptr);
	assert_null(out[1]->kind.ptr);
	assert_null(out[1]->body.ptr);
	assert_null(out[1]->hdr.ptr);
	unref_all(out, 2);
}

static void
test_es_refuse_mode_returns_minus_1_and_keeps_everything(void **state)
{
	struct fix	*f = *state;
	struct es_event	*out[4], *extra;
	struct eid	 start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	struct es_stats	 st;
	struct eid	 e;
	int		 n, i;
	uint64_t	 ms;

	for (ms = 1; ms <= 3; ms++)
		assert_int_equal(fix_append(f, fix_ev(f, ms, 0)), 0);
	extra = fix_ev(f, 4, 0);
	assert_int_equal(fix_append(f, extra), -1);
	assert_int_equal(fix_append(f, fix_ev(f, 5, 0)), -1);
	assert_int_equal(extra->refcnt, 1);
	assert_int_equal(f->append_cbs, 0);

	es_get_stats(f->es, &st);
	assert_int_equal(st.appended, 3);
	assert_int_equal(st.stored_memory, 3);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.refused, 2);
	assert_int_equal(st.depth, 3);
	es_last_eid(f->es, &e);
	assert_int_equal(e.ms, 3);
	es_first_eid(f->es, &e);
	assert_int_equal(e.ms, 1);

	n = fix_read(f, &start, &end, 4, out);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_int_equal(out[i]->eid.ms, 1 + i);
	unref_all(out, (size_t)n);
}

static void
test_es_stats_count_appends_and_depth(void **state)
{
	struct fix	*f = *state;
	struct es_stats	 st;
	uint64_t	 ms;

	for (ms = 1; ms <= 7; ms++)
		assert_int_equal(fix_append(f, fix_ev(f, ms, 0)), 0);
	es_get_stats(f->es, &st);
	assert_string_equal(st.backend, "memory");
	assert_int_equal(st.appended, 7);
	assert_int_equal(st.stored_memory, 7);
	assert_int_equal(st.stored_redis, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.depth, 7);
	assert_int_equal(st.bytes, 7);		/* a 1-byte body each */
	assert_int_equal(st.fallback_depth, 0);
}

static void
test_es_stored_name_names_each_state(void **state)
{
	(void)state;
	assert_string_equal(es_stored_name(ES_STORED_NONE), "none");
	assert_string_equal(es_stored_name(ES_STORED_MEMORY), "memory");
	assert_string_equal(es_stored_name(ES_STORED_REDIS), "redis");
}

/* es_mem_read of [from, to], unfiltered; returns how many it read. */
static size_t
mem_read(struct es_mem *m, const struct eid *from, const struct eid *to,
    size_t max, struct es_event **out)
{
	struct es_read_result	res;
	struct es_query		q;

	memset(&q, 0, sizeof(q));
	memset(&res, 0, sizeof(res));
	q.from = *from;
	q.to = *to;
	q.max = max;
	assert_int_equal(es_mem_read(m, &q, out, &res), 0);
	assert_int_equal(res.n, res.examined);
	return (res.n);
}

/* Accepts even ids and counts the views it saw, checking each. */
static bool
even_filter(void *arg, const struct es_event *view)
{
	unsigned	*seen = arg;

	(*seen)++;
	assert_int_equal(view->from.len, 8);
	assert_memory_equal(view->from.ptr, "internal", 8);
	assert_int_equal(view->body.len, 1);
	return (view->eid.ms % 2 == 0);
}

static void
test_es_read_filters_before_copying(void **state)
{
	struct fix		*f = *state;
	struct es_event		*out[10];
	struct es_read_result	 res;
	struct es_query		 q;
	unsigned		 seen = 0;
	uint64_t		 ms;

	for (ms = 1; ms <= 9; ms++)
		assert_int_equal(fix_append(f, fix_ev(f, ms, 0)), 0);
	memset(&q, 0, sizeof(q));
	q.from.ms = 2;
	q.to.ms = 100;
	q.max = 5;
	q.filter = even_filter;
	q.filter_arg = &seen;
	/* Looks at 2..6, returns 2, 4, 6. */
	assert_int_equal(es_read(f->es, &q, out, &res, read_cb, f), 0);
	assert_int_equal(seen, 5);
	assert_int_equal(res.examined, 5);
	assert_int_equal(res.last.ms, 6);
	assert_int_equal(res.n, 3);
	assert_int_equal(out[0]->eid.ms, 2);
	assert_int_equal(out[1]->eid.ms, 4);
	assert_int_equal(out[2]->eid.ms, 6);
	unref_all(out, res.n);
	/* The rest: 7..9 looked at, fewer than max, 8 returned. */
	q.from.ms = 7;
	assert_int_equal(es_read(f->es, &q, out, &res, read_cb, f), 0);
	assert_int_equal(res.examined, 3);
	assert_int_equal(res.last.ms, 9);
	assert_int_equal(res.n, 1);
	assert_int_equal(out[0]->eid.ms, 8);
	unref_all(out, res.n);
	assert_int_equal(f->read_cbs, 0);
}

static void
test_es_mem_pop_takes_the_oldest_in_order(void **state)
{
	struct es_mem	*m;
	struct es_event	*ev, view;
	struct eid	 e;
	uint64_t	 ms;

	(void)state;
	m = es_mem_new(8, 0, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	assert_false(es_mem_peek(m, &view));
	assert_false(es_mem_pop(m));
	for (ms = 1; ms <= 3; ms++) {
		ev = mkev(ms, 0);
		assert_int_equal(es_mem_push(m, ev), 0);
		es_event_unref(ev);	/* the ring keeps a copy */
	}
	assert_int_equal(es_mem_depth(m), 3);
	for (ms = 1; ms <= 3; ms++) {
		assert_true(es_mem_peek(m, &view));
		assert_int_equal(view.eid.ms, ms);
		assert_int_equal(view.body.len, 1);
		assert_memory_equal(view.body.ptr, "x", 1);
		assert_int_equal(view.from.len, 8);
		assert_memory_equal(view.from.ptr, "internal", 8);
		assert_null(view.agent.ptr);
		assert_true(es_mem_pop(m));
	}
	assert_false(es_mem_pop(m));
	assert_int_equal(es_mem_depth(m), 0);
	es_mem_first_eid(m, &e);
	assert_true(eid_is_zero(&e));
	/* Popping is not dropping, and the last id stays. */
	es_mem_last_eid(m, &e);
	assert_int_equal(e.ms, 3);
	es_mem_free(m);
}

static void
test_es_mem_grows_a_wrapped_ring_in_order(void **state)
{
	struct es_event	*ev, *out[200];
	struct es_mem	*m;
	struct es_stats	 st;
	struct eid	 start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	uint64_t	 ms;
	size_t		 n, i;

	(void)state;
	m = es_mem_new(1000, 0, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	/* Fill the first array, move the head, then grow while wrapped. */
	for (ms = 1; ms <= 64; ms++) {
		ev = mkev(ms, 0);
		assert_int_equal(es_mem_push(m, ev), 0);
		es_event_unref(ev);
	}
	for (i = 0; i < 10; i++)
		assert_true(es_mem_pop(m));
	for (ms = 65; ms <= 200; ms++) {
		ev = mkev(ms, 0);
		assert_int_equal(es_mem_push(m, ev), 0);
		es_event_unref(ev);
	}
	assert_int_equal(es_mem_depth(m), 190);
	n = mem_read(m, &start, &end, 200, out);
	assert_int_equal(n, 190);
	for (i = 0; i < n; i++)
		assert_int_equal(out[i]->eid.ms, 11 + i);
	unref_all(out, n);
	es_mem_stats(m, &st);
	assert_int_equal(st.appended, 200);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.refused, 0);
	es_mem_free(m);
}

/*
 * Growing a full ring whose wrapped run is the longer one (or would not
 * fit above the old top) moves the top run to the end instead.
 */
static void
test_es_mem_grows_a_ring_wrapped_past_half_in_order(void **state)
{
	struct es_event	*ev, *out[100];
	struct es_mem	*m;
	struct eid	 start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	uint64_t	 ms;
	size_t		 n, i;

	(void)state;
	m = es_mem_new(100, 0, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	for (ms = 1; ms <= 64; ms++) {
		ev = mkev(ms, 0);
		assert_int_equal(es_mem_push(m, ev), 0);
		es_event_unref(ev);
	}
	for (i = 0; i < 40; i++)
		assert_true(es_mem_pop(m));
	/* Full again at 64 slots, head at 40; the next push grows to 100. */
	for (ms = 65; ms <= 134; ms++) {
		ev = mkev(ms, 0);
		assert_int_equal(es_mem_push(m, ev), 0);
		es_event_unref(ev);
	}
	assert_int_equal(es_mem_depth(m), 94);
	n = mem_read(m, &start, &end, 100, out);
	assert_int_equal(n, 94);
	for (i = 0; i < n; i++)
		assert_int_equal(out[i]->eid.ms, 41 + i);
	unref_all(out, n);
	es_mem_free(m);
}

/* The body of event ms: len bytes that depend on ms and position. */
static size_t
arena_body(uint64_t ms, char *buf, size_t cap)
{
	size_t	len = (size_t)((ms * 7919) % cap), i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(ms * 31 + i);
	return (len);
}

static void
arena_push(struct es_mem *m, uint64_t ms, char *buf, size_t cap)
{
	struct es_event	proto;

	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = ms;
	proto.from.ptr = "internal";
	proto.from.len = 8;
	proto.body.ptr = buf;
	proto.body.len = (uint32_t)arena_body(ms, buf, cap);
	assert_int_equal(es_mem_push(m, &proto), 0);
}

/* Every event held, read back in order, has its own bytes. */
static void
arena_check(struct es_mem *m, uint64_t first, uint64_t last, char *buf,
    size_t cap)
{
	struct es_event	*out[64];
	struct eid	 from = { first, 0 }, to = { last, 0 };
	size_t		 len;
	int		 n, i;

	while (eid_cmp(&from, &to) <= 0) {
		n = (int)mem_read(m, &from, &to, 64, out);
		assert_true(n > 0);
		for (i = 0; i < n; i++) {
			assert_int_equal(out[i]->eid.ms, from.ms + (uint64_t)i);
			len = arena_body(out[i]->eid.ms, buf, cap);
			assert_int_equal(out[i]->body.len, len);
			assert_memory_equal(out[i]->body.ptr, buf, len);
			assert_string_equal(out[i]->from.ptr, "internal");
		}
		from.ms += (uint64_t)n;
		unref_all(out, (size_t)n);
	}
}

/*
 * Bodies up to 64 KiB through a 100-event drop ring: the arena spans and
 * recycles many segments while wrapping, and what it holds stays intact.
 */
static void
test_es_mem_arena_recycles_segments_intact(void **state)
{
	const size_t	 cap = 65536;
	struct es_mem	*m;
	struct es_stats	 st;
	char		*buf;
	uint64_t	 ms;

	(void)state;
	buf = malloc(cap);
	assert_non_null(buf);
	m = es_mem_new(100, 0, ES_FULL_DROP_OLDEST, NULL);
	assert_non_null(m);
	for (ms = 1; ms <= 5000; ms++) {
		arena_push(m, ms, buf, cap);
		if (ms % 997 == 0)
			arena_check(m, ms > 100 ? ms - 99 : 1, ms, buf, cap);
	}
	arena_check(m, 4901, 5000, buf, cap);
	es_mem_stats(m, &st);
	assert_int_equal(st.dropped, 4900);
	assert_int_equal(st.depth, 100);
	es_mem_free(m);
	free(buf);
}

/*
 * A record larger than a segment gets a segment of its own, also as the
 * first after the log emptied; the ring then carries on as before.
 */
static void
test_es_mem_arena_takes_records_larger_than_a_segment(void **state)
{
	const size_t	 big = (size_t)5 << 20;
	struct es_event	 proto, view;
	struct es_mem	*m;
	char		*buf, small[16];
	uint64_t	 ms;

	(void)state;
	buf = malloc(big);
	assert_non_null(buf);
	memset(buf, 'B', big);
	m = es_mem_new(4, 0, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	arena_push(m, 1, small, sizeof(small));
	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = 2;
	proto.body.ptr = buf;
	proto.body.len = (uint32_t)big;
	assert_int_equal(es_mem_push(m, &proto), 0);
	arena_push(m, 3, small, sizeof(small));
	assert_true(es_mem_pop(m));
	assert_true(es_mem_peek(m, &view));
	assert_int_equal(view.body.len, big);
	assert_true(view.body.ptr[0] == 'B' && view.body.ptr[big - 1] == 'B');
	assert_true(es_mem_pop(m));
	arena_check(m, 3, 3, small, sizeof(small));
	assert_true(es_mem_pop(m));
	/* Empty now: a big record first, then small ones after it. */
	proto.eid.ms = 4;
	assert_int_equal(es_mem_push(m, &proto), 0);
	for (ms = 5; ms <= 7; ms++)
		arena_push(m, ms, small, sizeof(small));
	assert_true(es_mem_peek(m, &view));
	assert_int_equal(view.body.len, big);
	assert_true(es_mem_pop(m));
	arena_check(m, 5, 7, small, sizeof(small));
	es_mem_free(m);
	free(buf);
}

/* Emptied by pops, the ring rewinds and fills again from the start. */
static void
test_es_mem_arena_refills_after_emptying(void **state)
{
	char		 buf[4096];
	struct es_mem	*m;
	uint64_t	 ms = 0;
	int		 round, i;

	(void)state;
	m = es_mem_new(1000, 0, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 1000; i++)
			arena_push(m, ++ms, buf, sizeof(buf));
		arena_check(m, ms - 999, ms, buf, sizeof(buf));
		while (es_mem_pop(m))
			;
		assert_int_equal(es_mem_depth(m), 0);
	}
	es_mem_free(m);
}

/* A body of len bytes, the same for every event (bodies are not checked). */
static char	bbody[4096];

/* Pushes event ms with a body of len bytes (none at all when len is 0). */
static int
bpush(struct es_mem *m, uint64_t ms, uint32_t len)
{
	struct es_event	proto;

	assert_true(len <= sizeof(bbody));
	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = ms;
	proto.from.ptr = "internal";
	proto.from.len = 8;
	if (len > 0) {
		proto.body.ptr = bbody;
		proto.body.len = len;
	}
	return (es_mem_push(m, &proto));
}

/* The ring's counters and the body bytes it holds, all at once. */
static void
bcheck(struct es_mem *m, uint64_t appended, uint64_t dropped,
    uint64_t refused, uint64_t depth, uint64_t bytes)
{
	struct es_stats	st;

	memset(&st, 0, sizeof(st));
	es_mem_stats(m, &st);
	assert_int_equal(st.appended, appended);
	assert_int_equal(st.dropped, dropped);
	assert_int_equal(st.refused, refused);
	assert_int_equal(st.depth, depth);
	assert_int_equal(st.bytes, bytes);
	assert_int_equal(es_mem_depth(m), depth);
	assert_int_equal(es_mem_bytes(m), bytes);
}

/* The ring holds exactly the ids ms[0..n), in order. */
static void
bheld(struct es_mem *m, const uint64_t *ms, size_t n)
{
	struct es_event	*out[16];
	struct eid	 start = { 0, 0 }, end = { UINT64_MAX, UINT64_MAX };
	size_t		 got, i;

	assert_true(n < 16);
	got = mem_read(m, &start, &end, 16, out);
	assert_int_equal(got, n);
	for (i = 0; i < got; i++)
		assert_int_equal(out[i]->eid.ms, ms[i]);
	unref_all(out, got);
}

/*
 * Headers and pattern count with the body: an event of empty body and
 * large headers is not free (ADR 0019).
 */
static void
test_es_mem_headers_and_pattern_count_as_bytes(void **state)
{
	const uint64_t	 held[] = { 2, 3 };
	struct es_event	 proto;
	struct es_mem	*m;
	uint64_t	 ms;

	(void)state;
	m = es_mem_new(100, 1000, ES_FULL_DROP_OLDEST, NULL);
	assert_non_null(m);
	for (ms = 1; ms <= 3; ms++) {
		memset(&proto, 0, sizeof(proto));
		proto.eid.ms = ms;
		proto.hdr.ptr = bbody;
		proto.hdr.len = 300;
		proto.pattern.ptr = bbody;
		proto.pattern.len = 100;
		assert_int_equal(es_mem_push(m, &proto), 0);
	}
	/* 3 x 400 > 1000: the oldest went. */
	bcheck(m, 3, 1, 0, 2, 800);
	bheld(m, held, 2);
	es_mem_free(m);
}

static void
test_es_mem_drop_oldest_at_byte_bound_drops_until_it_fits(void **state)
{
	const uint64_t	 held3[] = { 2, 3, 4 }, held5[] = { 4, 5 };
	const uint64_t	 held6[] = { 4, 5, 6 };
	struct es_mem	*m;
	uint64_t	 ms;

	(void)state;
	m = es_mem_new(100, 1000, ES_FULL_DROP_OLDEST, NULL);
	assert_non_null(m);
	for (ms = 1; ms <= 3; ms++)
		assert_int_equal(bpush(m, ms, 300), 0);
	bcheck(m, 3, 0, 0, 3, 900);
	/* 900 + 300 > 1000: one goes. */
	assert_int_equal(bpush(m, 4, 300), 0);
	bcheck(m, 4, 1, 0, 3, 900);
	bheld(m, held3, 3);
	/* 900 + 700: two go, and 300 + 700 fits exactly. */
	assert_int_equal(bpush(m, 5, 700), 0);
	bcheck(m, 5, 3, 0, 2, 1000);
	bheld(m, held5, 2);
	/* No body: at the byte bound, it still fits. */
	assert_int_equal(bpush(m, 6, 0), 0);
	bcheck(m, 6, 3, 0, 3, 1000);
	bheld(m, held6, 3);
	es_mem_free(m);
}

static void
test_es_mem_drop_oldest_at_count_bound_keeps_bytes_exact(void **state)
{
	const uint64_t	 held5[] = { 3, 4, 5 }, held6[] = { 5, 6 };
	struct es_mem	*m;
	uint64_t	 ms;

	(void)state;
	m = es_mem_new(3, 1000, ES_FULL_DROP_OLDEST, NULL);
	assert_non_null(m);
	for (ms = 1; ms <= 5; ms++)
		assert_int_equal(bpush(m, ms, 100), 0);
	bcheck(m, 5, 2, 0, 3, 300);
	bheld(m, held5, 3);
	/* Full by count: one goes; 200 + 900 still too much: one more. */
	assert_int_equal(bpush(m, 6, 900), 0);
	bcheck(m, 6, 4, 0, 2, 1000);
	bheld(m, held6, 2);
	es_mem_free(m);
}

static void
test_es_mem_refuse_at_byte_bound_keeps_everything(void **state)
{
	const uint64_t	 held[] = { 1, 2, 3, 5, 7 };
	struct es_mem	*m;
	uint64_t	 ms;

	(void)state;
	m = es_mem_new(100, 1000, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	for (ms = 1; ms <= 3; ms++)
		assert_int_equal(bpush(m, ms, 300), 0);
	assert_int_equal(bpush(m, 4, 300), -1);
	bcheck(m, 3, 0, 1, 3, 900);
	assert_int_equal(bpush(m, 5, 100), 0);	/* exactly at the bound */
	assert_int_equal(bpush(m, 6, 1), -1);
	assert_int_equal(bpush(m, 7, 0), 0);	/* no body: no bytes */
	bcheck(m, 5, 0, 2, 5, 1000);
	bheld(m, held, 5);
	es_mem_free(m);
}

static void
test_es_mem_refuse_at_count_bound_with_bytes_left(void **state)
{
	const uint64_t	 held[] = { 1, 2 };
	struct es_mem	*m;

	(void)state;
	m = es_mem_new(2, 1000, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	assert_int_equal(bpush(m, 1, 10), 0);
	assert_int_equal(bpush(m, 2, 10), 0);
	assert_int_equal(bpush(m, 3, 10), -1);
	bcheck(m, 2, 0, 1, 2, 20);
	bheld(m, held, 2);
	/* Popping gives the count and the bytes back. */
	assert_true(es_mem_pop(m));
	assert_int_equal(bpush(m, 4, 990), 0);
	bcheck(m, 3, 0, 1, 2, 1000);
	es_mem_free(m);
}

/*
 * A body larger than the byte bound on its own is refused in both modes,
 * and the drop ring evicts nothing for it.
 */
static void
test_es_mem_body_over_max_bytes_is_refused_in_both_modes(void **st)
{
	const uint64_t	 one[] = { 1 }, last[] = { 3 };
	struct es_mem	*m;

	(void)st;
	m = es_mem_new(10, 100, ES_FULL_DROP_OLDEST, NULL);
	assert_non_null(m);
	assert_int_equal(bpush(m, 1, 50), 0);
	assert_int_equal(bpush(m, 2, 101), -1);
	bcheck(m, 1, 0, 1, 1, 50);
	bheld(m, one, 1);
	assert_int_equal(bpush(m, 3, 100), 0);	/* the whole bound: fits */
	bcheck(m, 2, 1, 1, 1, 100);
	bheld(m, last, 1);
	es_mem_free(m);

	m = es_mem_new(10, 100, ES_FULL_REFUSE, NULL);
	assert_non_null(m);
	assert_int_equal(bpush(m, 1, 50), 0);
	assert_int_equal(bpush(m, 2, 101), -1);
	assert_int_equal(bpush(m, 3, 100), -1);	/* 50 + 100 > 100 */
	bcheck(m, 1, 0, 2, 1, 50);
	bheld(m, one, 1);
	es_mem_free(m);
}

static void
test_es_mem_pop_gives_back_body_bytes(void **state)
{
	struct es_mem	*m;
	uint64_t	 ms;

	(void)state;
	m = es_mem_new(10, 0, ES_FULL_REFUSE, NULL);	/* no byte bound */
	assert_non_null(m);
	for (ms = 1; ms <= 4; ms++)
		assert_int_equal(bpush(m, ms, (uint32_t)ms * 1000), 0);
	bcheck(m, 4, 0, 0, 4, 10000);
	assert_true(es_mem_pop(m));
	assert_int_equal(es_mem_bytes(m), 9000);
	while (es_mem_pop(m))
		;
	bcheck(m, 4, 0, 0, 0, 0);
	es_mem_free(m);
}

/*
 * The case: 800 cross-tract pubs of 1 MiB held 800 MiB of bodies
 * in a ring bounded only by count. With 8 MiB of bodies allowed, the log
 * holds the last 8, and reads return exactly those.
 */
static void
test_es_800_pubs_of_1_mib_hold_at_most_max_bytes(void **state)
{
	const uint32_t		 mib = 1u << 20;
	struct es_config	 cfg;
	struct es_event		 proto, *out[16];
	struct es_stats		 st;
	struct es		*es;
	struct es_read_result	 res;
	struct es_query		 q;
	char			*body;
	uint64_t		 ms;
	size_t			 i;

	(void)state;
	assert_non_null(body = calloc(1, mib));
	memset(&cfg, 0, sizeof(cfg));
	cfg.mem_max_events = 1000000;
	cfg.mem_max_bytes = (uint64_t)8 * mib;
	assert_non_null(es = es_open(&cfg, NULL));
	memset(&proto, 0, sizeof(proto));
	proto.body.ptr = body;
	proto.body.len = mib;
	for (ms = 1; ms <= 800; ms++) {
		proto.eid.ms = ms;
		assert_int_equal(es_append(es, &proto, NULL, NULL, NULL), 0);
		es_get_stats(es, &st);
		assert_true(st.bytes <= cfg.mem_max_bytes);
	}
	assert_int_equal(st.appended, 800);
	assert_int_equal(st.dropped, 792);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.depth, 8);
	assert_int_equal(st.bytes, (uint64_t)8 * mib);
	memset(&q, 0, sizeof(q));
	q.to.ms = UINT64_MAX;
	q.max = 16;
	assert_int_equal(es_read(es, &q, out, &res, NULL, NULL), 0);
	assert_int_equal(res.n, 8);
	for (i = 0; i < res.n; i++) {
		assert_int_equal(out[i]->eid.ms, 793 + i);
		assert_int_equal(out[i]->body.len, mib);
	}
	unref_all(out, res.n);
	es_close(es);
	free(body);
}

static void
test_es_event_new_copies_fields_nul_terminated(void **state)
{
	struct es_event	 proto, *ev;
	char		 body[3] = { 'a', '\0', 'b' };	/* not a C string */

	(void)state;
	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = 9;
	proto.eid.seq = 2;
	proto.ts_us = -5;
	proto.pri = 0.25;
	proto.body_is_str = true;
	proto.refcnt = 77;
	proto.from.ptr = "internalXX";
	proto.from.len = 8;
	proto.to.ptr = "";
	proto.to.len = 0;
	proto.body.ptr = body;
	proto.body.len = sizeof(body);

	ev = es_event_new(&proto);
	assert_non_null(ev);
	assert_int_equal(ev->refcnt, 1);
	assert_int_equal(ev->eid.ms, 9);
	assert_int_equal(ev->eid.seq, 2);
	assert_int_equal(ev->ts_us, -5);
	assert_true(ev->pri == 0.25);
	assert_true(ev->body_is_str);
	assert_string_equal(ev->from.ptr, "internal");
	assert_int_equal(ev->from.len, 8);
	assert_true(ev->from.ptr != proto.from.ptr);
	/* Set but empty stays set. */
	assert_non_null(ev->to.ptr);
	assert_string_equal(ev->to.ptr, "");
	assert_int_equal(ev->body.len, 3);
	assert_memory_equal(ev->body.ptr, body, 3);
	assert_int_equal(ev->body.ptr[3], '\0');
	assert_null(ev->kind.ptr);
	assert_null(ev->agent.ptr);
	assert_null(ev->session.ptr);
	assert_null(ev->model.ptr);
	assert_null(ev->pattern.ptr);
	assert_null(ev->hdr.ptr);
	assert_ptr_equal(es_event_ref(ev), ev);
	assert_int_equal(ev->refcnt, 2);
	es_event_unref(ev);
	assert_int_equal(ev->refcnt, 1);
	es_event_unref(ev);
	es_event_unref(NULL);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_es_open_memory_store_starts_empty,
		    setup_drop4, teardown),
		cmocka_unit_test(test_es_open_with_redis_url_needs_an_event_base),
		cmocka_unit_test(test_es_open_zero_capacity_fails_with_cause),
		cmocka_unit_test(
		    test_es_open_a_million_events_allocates_lazily),
		cmocka_unit_test_setup_teardown(
		    test_es_append_settles_in_memory_without_callback,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_append_not_after_last_eid_is_refused,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_read_range_is_inclusive_and_stops_at_max,
		    setup_drop100, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_read_between_stored_ids_starts_at_the_next,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_read_empty_store_returns_0,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_read_from_after_to_or_max_0_returns_0,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_drop_oldest_wrap_counts_dropped,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_replay_after_wrap_returns_only_held_in_order,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_last_eid_survives_eviction,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_append_copies_and_keeps_no_reference,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_read_copies_every_field_back,
		    setup_drop4, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_read_filters_before_copying,
		    setup_drop100, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_refuse_mode_returns_minus_1_and_keeps_everything,
		    setup_refuse3, teardown),
		cmocka_unit_test_setup_teardown(
		    test_es_stats_count_appends_and_depth,
		    setup_drop100, teardown),
		cmocka_unit_test(test_es_stored_name_names_each_state),
		cmocka_unit_test(test_es_mem_pop_takes_the_oldest_in_order),
		cmocka_unit_test(test_es_mem_grows_a_wrapped_ring_in_order),
		cmocka_unit_test(
		    test_es_mem_grows_a_ring_wrapped_past_half_in_order),
		cmocka_unit_test(test_es_mem_arena_recycles_segments_intact),
		cmocka_unit_test(
		    test_es_mem_arena_takes_records_larger_than_a_segment),
		cmocka_unit_test(test_es_mem_arena_refills_after_emptying),
		cmocka_unit_test(
		    test_es_mem_drop_oldest_at_byte_bound_drops_until_it_fits),
		cmocka_unit_test(test_es_mem_headers_and_pattern_count_as_bytes),
		cmocka_unit_test(
		    test_es_mem_drop_oldest_at_count_bound_keeps_bytes_exact),
		cmocka_unit_test(
		    test_es_mem_refuse_at_byte_bound_keeps_everything),
		cmocka_unit_test(
		    test_es_mem_refuse_at_count_bound_with_bytes_left),
		cmocka_unit_test(
		    test_es_mem_body_over_max_bytes_is_refused_in_both_modes),
		cmocka_unit_test(test_es_mem_pop_gives_back_body_bytes),
		cmocka_unit_test(
		    test_es_800_pubs_of_1_mib_hold_at_most_max_bytes),
		cmocka_unit_test(
		    test_es_event_new_copies_fields_nul_terminated),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
