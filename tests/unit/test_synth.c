/*
 * test_synth: the front. Configuration checks; snapshot and restore (a
 * restored synth fed the rest equals one fed everything, bit for bit, on
 * a fixed-seed random log); refusal of other configurations and damaged
 * snapshots; and ENOMEM, injected into the library's own allocations
 * (linked with --wrap=malloc,calloc,realloc), leaving the state as it was.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth/synth.h"

#define NEVENTS		20000
#define MAXPROMO	4096
#define TOPMAX		64

/* Allocation failure injection: the n-th allocation from now fails. */
void	*__real_malloc(size_t);
void	*__real_calloc(size_t, size_t);
void	*__real_realloc(void *, size_t);
void	*__wrap_malloc(size_t);
void	*__wrap_calloc(size_t, size_t);
void	*__wrap_realloc(void *, size_t);

static unsigned	fail_in;	/* 0: off; else fail when it reaches 0 */
static unsigned	allocs;		/* allocations seen while armed */

static int
alloc_fails(void)
{
	if (fail_in == 0)
		return (0);
	allocs++;
	return (--fail_in == 0);
}

void *
__wrap_malloc(size_t n)
{
	return (alloc_fails() ? NULL : __real_malloc(n));
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return (alloc_fails() ? NULL : __real_calloc(n, size));
}

void *
__wrap_realloc(void *p, size_t n)
{
	return (alloc_fails() ? NULL : __real_realloc(p, n));
}

/* A promotion as the callback saw it, and when. */
struct promo {
	uint64_t		 at;		/* index of the event */
	char			 pattern[SYNTH_PATTERN_MAX + 1];
	uint64_t		 occurrences;
	size_t			 nsessions;
	size_t			 nmodels;
	char			 labels[256];	/* sessions | models */
	struct synth_eid	 first;
	struct synth_eid	 last;
	int64_t			 ts_us;
};

struct promos {
	struct promo	v[MAXPROMO];
	size_t		n;
	uint64_t	at;		/* the event being fed */
};

/* The random log: labels and the storage its events point into. */
struct rlog {
	struct synth_event	 ev[NEVENTS];
	char			 longpat[SYNTH_PATTERN_MAX + 2];
};

static const char	*tracts[5] = { "alpha", "beta", "gamma", "delta", "" };
static const char	*agents[4] = { "ag0", "ag1", "ag2", "" };
static const char	*sessions[3] = { "se0", "se1", "se2" };
static const char	*models[3] = { "mo0", "mo1", "mo2" };
static char		 patnames[20][8];

struct snap_arg {
	struct synth	*s;
	msgpack_sbuffer	 sb;
	unsigned	 calls;
};

static uint64_t		 xorshift64(uint64_t *);
static struct synth_bytes bytes(const char *);
static void		 rlog_make(struct rlog *, uint64_t);
static void		 promote_cb(void *, const struct synth_candidate *);
static void		 feed_range(struct synth *, const struct rlog *, size_t,
			    size_t, struct promos *, int);
static void		 assert_same(struct synth *, struct synth *);
static void		 assert_same_snapshot(struct synth *, struct synth *);
static struct synth	*snap_restore(struct synth *,
			    const struct synth_config *);
static void		 check_rebuild(const struct synth_config *, uint64_t);
static void		 snap_cb(void *, const struct synth_candidate *);

static uint64_t
xorshift64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (*x);
}

static struct synth_bytes
bytes(const char *s)
{
	struct synth_bytes	b = { s, strlen(s) };

	return (b);
}

/*
 * NEVENTS events over 5 tracts (one named ""), 4 agents, 3 sessions, 3
 * models and 20 patterns: mostly cross-tract, in phases that lean one way
 * or hold a dialogue; some same-tract; a third bframes, a few logged
 * candidate records, a few patterns too long, a few other kinds.
 */
static void
rlog_make(struct rlog *l, uint64_t seed)
{
	struct synth_event	*ev;
	uint64_t		 x = seed, r;
	size_t			 i;
	unsigned		 from, to, lean = 0;

	memset(l->longpat, 'L', SYNTH_PATTERN_MAX + 1);
	l->longpat[SYNTH_PATTERN_MAX + 1] = '\0';
	for (i = 0; i < 20; i++)
		snprintf(patnames[i], sizeof(patnames[i]), "pat%zu", i);
	for (i = 0; i < NEVENTS; i++) {
		ev = &l->ev[i];
		memset(ev, 0, sizeof(*ev));
		if (i % 500 == 0)
			lean = (unsigned)(xorshift64(&x) % 3);
		r = xorshift64(&x);
		ev->eid.ms = 1700000000000ULL + i / 4;
		ev->eid.seq = i % 4;
		ev->ts_us = (int64_t)(1700000000000000LL + (int64_t)i * 250);
		from = (unsigned)(r % 5);
		to = (unsigned)((r >> 8) % 5);
		/* lean 1: mostly low -> high; 2: high -> low; 0: either. */
		if (lean != 0 && (r >> 16) % 4 != 0 &&
		    (lean == 1) != (from < to)) {
			from ^= to;
			to ^= from;
			from ^= to;
		}
		ev->from = bytes(tracts[from]);
		ev->to = bytes(tracts[to]);
		ev->agent = bytes(agents[(r >> 20) % 4]);
		ev->session = bytes(sessions[(r >> 24) % 3]);
		ev->model = bytes(models[(r >> 28) % 3]);
		switch ((r >> 32) % 100) {
		case 0: case 1:
			ev->kind = bytes("candidate");
			ev->pattern = bytes(patnames[(r >> 40) % 20]);
			break;
		case 2:
			ev->kind = bytes("bframe");
			ev->pattern = bytes(l->longpat);
			break;
		case 3: case 4: case 5:
			ev->kind = bytes("event");
			ev->pattern = bytes(patnames[(r >> 40) % 20]);
			break;
		default:
			if ((r >> 32) % 100 < 40) {
				ev->kind = bytes("bframe");
				ev->pattern = bytes(patnames[(r >> 40) % 20]);
			} else
				ev->kind = bytes("msg");
		}
	}
}

static void
promote_cb(void *arg, const struct synth_candidate *c)
{
	struct promos	*ps = arg;
	struct promo	*p;
	size_t		 i, off = 0;

	assert_true(ps->n < MAXPROMO);
	p = &ps->v[ps->n++];
	memset(p, 0, sizeof(*p));
	p->at = ps->at;
	memcpy(p->pattern, c->pattern.ptr, c->pattern.len);
	p->occurrences = c->occurrences;
	p->nsessions = c->nsessions;
	p->nmodels = c->nmodels;
	for (i = 0; i < c->nsessions; i++)
		off += (size_t)snprintf(p->labels + off, sizeof(p->labels) -
		    off, "%s,", c->sessions[i].ptr);
	off += (size_t)snprintf(p->labels + off, sizeof(p->labels) - off, "|");
	for (i = 0; i < c->nmodels; i++)
		off += (size_t)snprintf(p->labels + off, sizeof(p->labels) -
		    off, "%s,", c->models[i].ptr);
	assert_true(off < sizeof(p->labels));
	p->first = c->first_eid;
	p->last = c->last_eid;
	p->ts_us = c->ts_us;
}

/* Feeds events [from, to); checks E stays in [0, 1] if asked. */
static void
feed_range(struct synth *s, const struct rlog *l, size_t from, size_t to,
    struct promos *ps, int check)
{
	struct synth_stats	st;
	size_t			i;

	for (i = from; i < to; i++) {
		ps->at = i;
		assert_int_equal(synth_feed(s, &l->ev[i], promote_cb, ps), 0);
		if (check) {
			synth_get_stats(s, &st);
			assert_true(st.emergence >= 0.0 &&
			    st.emergence <= 1.0);
		}
	}
}

/* Same stats (bit for bit), pairs and top patterns. */
static void
assert_same(struct synth *x, struct synth *y)
{
	struct synth_stats		sx, sy;
	struct synth_pair_view		px[64], py[64];
	struct synth_pattern_view	tx[TOPMAX], ty[TOPMAX];
	size_t				i, n;

	synth_get_stats(x, &sx);
	synth_get_stats(y, &sy);
	assert_memory_equal(&sx, &sy, sizeof(sx));
	n = synth_pairs(x, px, 64);
	assert_int_equal(synth_pairs(y, py, 64), n);
	assert_int_equal(n, sx.npairs);
	for (i = 0; i < n; i++) {
		assert_int_equal(px[i].a.len, py[i].a.len);
		assert_int_equal(px[i].b.len, py[i].b.len);
		assert_memory_equal(px[i].a.ptr, py[i].a.ptr, px[i].a.len);
		assert_memory_equal(px[i].b.ptr, py[i].b.ptr, px[i].b.len);
		assert_memory_equal(&px[i].balance, &py[i].balance,
		    sizeof(double));
		assert_int_equal(px[i].a_to_b, py[i].a_to_b);
		assert_int_equal(px[i].b_to_a, py[i].b_to_a);
	}
	n = synth_top_patterns(x, tx, TOPMAX);
	assert_int_equal(synth_top_patterns(y, ty, TOPMAX), n);
	for (i = 0; i < n; i++) {
		assert_int_equal(tx[i].pattern.len, ty[i].pattern.len);
		assert_memory_equal(tx[i].pattern.ptr, ty[i].pattern.ptr,
		    tx[i].pattern.len);
		assert_int_equal(tx[i].occurrences, ty[i].occurrences);
		assert_int_equal(tx[i].nsessions, ty[i].nsessions);
		assert_int_equal(tx[i].nmodels, ty[i].nmodels);
		assert_memory_equal(&tx[i].first_eid, &ty[i].first_eid,
		    sizeof(tx[i].first_eid));
		assert_memory_equal(&tx[i].last_eid, &ty[i].last_eid,
		    sizeof(tx[i].last_eid));
		assert_int_equal(tx[i].promoted, ty[i].promoted);
	}
	assert_same_snapshot(x, y);
}

/* The snapshots, hence the complete states, are the same bytes. */
static void
assert_same_snapshot(struct synth *x, struct synth *y)
{
	msgpack_sbuffer	bx, by;

	msgpack_sbuffer_init(&bx);
	msgpack_sbuffer_init(&by);
	assert_int_equal(synth_snapshot(x, &bx), 0);
	assert_int_equal(synth_snapshot(y, &by), 0);
	assert_int_equal(bx.size, by.size);
	assert_memory_equal(bx.data, by.data, bx.size);
	msgpack_sbuffer_destroy(&bx);
	msgpack_sbuffer_destroy(&by);
}

static struct synth *
snap_restore(struct synth *s, const struct synth_config *c)
{
	msgpack_sbuffer	 sb;
	struct synth	*r;

	msgpack_sbuffer_init(&sb);
	assert_int_equal(synth_snapshot(s, &sb), 0);
	r = synth_restore(c, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	assert_non_null(r);
	return (r);
}

/*
 * A fed all; for several k, B fed the first k, snapshot, restored as C,
 * C fed the rest: A == C, and the promotions B then C made are A's, in
 * order. D, fed all again, is A.
 */
static void
check_rebuild(const struct synth_config *c, uint64_t seed)
{
	static const size_t	 ks[] = { 0, 1, 4999, 9973, 15000, 19999,
				    NEVENTS };
	static struct rlog	 l;
	static struct promos	 pa, pbc, pd;
	struct synth		*a, *b, *cc, *d;
	struct synth_stats	 st;
	size_t			 i;

	rlog_make(&l, seed);
	memset(&pa, 0, sizeof(pa));
	assert_non_null(a = synth_new(c));
	feed_range(a, &l, 0, NEVENTS, &pa, 1);
	synth_get_stats(a, &st);
	/* The log exercises what it should. */
	assert_int_equal(st.events_fed, NEVENTS);
	assert_true(st.balanced_events > 10);
	assert_true(st.emergence > 0.0);
	assert_true(st.candidates_total > 10 && pa.n > 5);
	assert_true(st.patterns_refused > 0);
	assert_true(st.npromoted > 0);
	if (getenv("SYNTH_TEST_VERBOSE") != NULL)
		fprintf(stderr, "balanced %ju E %.17g cand %ju promos %zu "
		    "pairs %ju dropped %ju pats %ju promoted %ju evicted %ju "
		    "refused %ju\n", (uintmax_t)st.balanced_events,
		    st.emergence, (uintmax_t)st.candidates_total, pa.n,
		    (uintmax_t)st.npairs, (uintmax_t)st.pairs_dropped,
		    (uintmax_t)st.npatterns, (uintmax_t)st.npromoted,
		    (uintmax_t)st.patterns_evicted,
		    (uintmax_t)st.patterns_refused);
	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		memset(&pbc, 0, sizeof(pbc));
		assert_non_null(b = synth_new(c));
		feed_range(b, &l, 0, ks[i], &pbc, 0);
		cc = snap_restore(b, c);
		assert_same(b, cc);
		synth_free(b);
		feed_range(cc, &l, ks[i], NEVENTS, &pbc, 0);
		assert_same(a, cc);
		assert_int_equal(pbc.n, pa.n);
		assert_memory_equal(pbc.v, pa.v, pa.n * sizeof(pa.v[0]));
		synth_free(cc);
	}
	memset(&pd, 0, sizeof(pd));
	assert_non_null(d = synth_new(c));
	feed_range(d, &l, 0, NEVENTS, &pd, 0);
	assert_same(a, d);
	assert_int_equal(pd.n, pa.n);
	assert_memory_equal(pd.v, pa.v, pa.n * sizeof(pa.v[0]));
	synth_free(d);
	synth_free(a);
}

static void
test_synth_config_defaults_are_the_spec(void **state)
{
	struct synth_config	c;
	char			*cause = NULL;

	(void)state;
	synth_config_default(&c);
	assert_int_equal(c.window, 100);
	assert_true(c.balance_threshold == 0.7);
	assert_int_equal(c.promote_occurrences, 3);
	assert_int_equal(c.promote_sessions, 2);
	assert_int_equal(c.promote_models, 2);
	assert_int_equal(c.max_pairs, 1024);
	assert_int_equal(c.max_patterns, 10000);
	assert_int_equal(c.max_promoted, 100000);
	assert_int_equal(synth_config_check(&c, &cause), 0);
	assert_null(cause);
}

/* Each bad field: -1 with a reason, and synth_new refuses (EINVAL). */
static void
test_synth_config_check_refuses_bad_values(void **state)
{
	struct synth_config	 c, bad[10];
	struct synth		*s;
	char			*cause;
	size_t			 i;

	(void)state;
	synth_config_default(&c);
	for (i = 0; i < 10; i++)
		bad[i] = c;
	bad[0].window = 0;
	bad[1].window = SYNTH_WINDOW_MAX + 1;
	bad[2].balance_threshold = -0.1;
	bad[3].balance_threshold = 1.5;
	bad[4].balance_threshold = NAN;
	bad[5].promote_occurrences = 0;
	bad[6].promote_sessions = SYNTH_DISTINCT_MAX + 1;
	bad[7].promote_models = 0;
	bad[8].max_pairs = 0;
	bad[9].max_promoted = 0;
	for (i = 0; i < 10; i++) {
		cause = NULL;
		assert_int_equal(synth_config_check(&bad[i], &cause), -1);
		assert_non_null(cause);
		free(cause);
		errno = 0;
		assert_null(s = synth_new(&bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	c.window = 1;
	c.balance_threshold = 1.0;
	c.promote_sessions = SYNTH_DISTINCT_MAX;
	assert_int_equal(synth_config_check(&c, NULL), 0);
}

/* A fresh synth: zero figures, and a snapshot that restores to it. */
static void
test_synth_new_is_empty_and_round_trips(void **state)
{
	struct synth_config	 c;
	struct synth_stats	 st, zero;
	struct synth		*s, *r;

	(void)state;
	synth_config_default(&c);
	assert_non_null(s = synth_new(&c));
	synth_get_stats(s, &st);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&st, &zero, sizeof(st));
	r = snap_restore(s, &c);
	assert_same(s, r);
	synth_free(r);
	synth_free(s);
	synth_free(NULL);
}

/* Small tables, so eviction, forgetting and dropped pairs all happen. */
static void
test_synth_rebuild_equals_live_small_tables(void **state)
{
	struct synth_config	c;

	(void)state;
	synth_config_default(&c);
	c.window = 16;
	c.balance_threshold = 0.6;
	c.max_pairs = 7;
	c.max_patterns = 8;
	c.max_promoted = 4;
	check_rebuild(&c, 0x9E3779B97F4A7C15ULL);
}

static void
test_synth_rebuild_equals_live_defaults(void **state)
{
	struct synth_config	c;

	(void)state;
	synth_config_default(&c);
	check_rebuild(&c, 88172645463325252ULL);
}

/* A snapshot taken by the promotion callback. */
static void
snap_cb(void *arg, const struct synth_candidate *c)
{
	struct snap_arg	*sa = arg;

	(void)c;
	sa->calls++;
	assert_int_equal(synth_snapshot(sa->s, &sa->sb), 0);
}

/*
 * The callback runs with the state already recording the promotion:
 * a snapshot it takes restores to what the synth holds after the feed.
 */
static void
test_synth_snapshot_in_callback_is_after_the_event(void **state)
{
	struct synth_config	 c;
	struct synth_event	 ev;
	struct snap_arg		 sa;
	struct synth		*r;

	(void)state;
	synth_config_default(&c);
	c.promote_occurrences = 2;
	c.promote_sessions = 1;
	c.promote_models = 1;
	memset(&sa, 0, sizeof(sa));
	assert_non_null(sa.s = synth_new(&c));
	msgpack_sbuffer_init(&sa.sb);
	memset(&ev, 0, sizeof(ev));
	ev.from = bytes("a");
	ev.to = bytes("b");
	ev.kind = bytes("bframe");
	ev.pattern = bytes("P");
	ev.session = bytes("s");
	ev.model = bytes("m");
	ev.eid.ms = 1;
	assert_int_equal(synth_feed(sa.s, &ev, snap_cb, &sa), 0);
	ev.eid.ms = 2;
	assert_int_equal(synth_feed(sa.s, &ev, snap_cb, &sa), 0);
	assert_int_equal(sa.calls, 1);
	assert_non_null(r = synth_restore(&c, sa.sb.data, sa.sb.size));
	assert_same(sa.s, r);
	synth_free(r);
	msgpack_sbuffer_destroy(&sa.sb);
	synth_free(sa.s);
}

/* Another window, threshold or bound: EINVAL, never a wrong state. */
static void
test_synth_restore_refuses_another_config(void **state)
{
	struct synth_config	 c, other[5];
	msgpack_sbuffer		 sb;
	struct synth		*s;
	int			 i;

	(void)state;
	synth_config_default(&c);
	assert_non_null(s = synth_new(&c));
	msgpack_sbuffer_init(&sb);
	assert_int_equal(synth_snapshot(s, &sb), 0);
	for (i = 0; i < 5; i++)
		other[i] = c;
	other[0].window = 99;
	other[1].balance_threshold = 0.75;
	other[2].promote_models = 3;
	other[3].max_pairs = 1023;
	other[4].max_promoted = 7;
	for (i = 0; i < 5; i++) {
		errno = 0;
		assert_null(synth_restore(&other[i], sb.data, sb.size));
		assert_int_equal(errno, EINVAL);
	}
	msgpack_sbuffer_destroy(&sb);
	synth_free(s);
}

/* Every truncation, a trailing byte, and flipped bytes: NULL, no leak. */
static void
test_synth_restore_refuses_damaged_snapshots(void **state)
{
	static struct rlog	 l;
	struct synth_config	 c;
	struct promos		*ps;
	msgpack_sbuffer		 sb;
	struct synth		*s, *r;
	char			*buf;
	size_t			 n, i;

	(void)state;
	synth_config_default(&c);
	c.window = 12;
	assert_non_null(ps = calloc(1, sizeof(*ps)));
	rlog_make(&l, 7);
	assert_non_null(s = synth_new(&c));
	feed_range(s, &l, 0, 400, ps, 0);
	msgpack_sbuffer_init(&sb);
	assert_int_equal(synth_snapshot(s, &sb), 0);
	for (n = 0; n < sb.size; n++) {
		errno = 0;
		assert_null(synth_restore(&c, sb.data, n));
		assert_int_equal(errno, EINVAL);
	}
	assert_non_null(buf = malloc(sb.size + 1));
	memcpy(buf, sb.data, sb.size);
	buf[sb.size] = 0;
	assert_null(synth_restore(&c, buf, sb.size + 1));
	/* Flipped bytes: refused or restored, never a crash or a leak. */
	for (i = 0; i < sb.size; i++) {
		memcpy(buf, sb.data, sb.size);
		buf[i] ^= 0x5a;
		if ((r = synth_restore(&c, buf, sb.size)) != NULL) {
			feed_range(r, &l, 400, 600, ps, 0);
			synth_free(r);
		}
	}
	free(buf);
	msgpack_sbuffer_destroy(&sb);
	synth_free(s);
	free(ps);
}

/*
 * For each event of a log, each of the allocations it makes fails in
 * turn: synth_feed says -1 (ENOMEM) and the snapshot is unchanged; then
 * the event goes in and the state equals a synth fed without failures.
 */
static void
test_synth_enomem_leaves_state_unchanged(void **state)
{
	static struct rlog	 l;
	struct synth_config	 c;
	struct promos		*ps;
	msgpack_sbuffer		 before, after;
	struct synth		*s, *ref;
	size_t			 i;
	unsigned		 k, failed = 0;
	int			 rc;

	(void)state;
	synth_config_default(&c);
	c.window = 12;
	c.max_patterns = 6;
	c.max_promoted = 3;
	assert_non_null(ps = calloc(1, sizeof(*ps)));
	rlog_make(&l, 3);
	assert_non_null(s = synth_new(&c));
	assert_non_null(ref = synth_new(&c));
	for (i = 0; i < 600; i++) {
		msgpack_sbuffer_init(&before);
		assert_int_equal(synth_snapshot(s, &before), 0);
		for (k = 1;; k++) {
			fail_in = k;
			allocs = 0;
			rc = synth_feed(s, &l.ev[i], promote_cb, ps);
			fail_in = 0;
			if (rc == 0)
				break;
			assert_int_equal(rc, -1);
			assert_int_equal(errno, ENOMEM);
			failed++;
			msgpack_sbuffer_init(&after);
			assert_int_equal(synth_snapshot(s, &after), 0);
			assert_int_equal(after.size, before.size);
			assert_memory_equal(after.data, before.data,
			    before.size);
			msgpack_sbuffer_destroy(&after);
		}
		msgpack_sbuffer_destroy(&before);
		assert_int_equal(synth_feed(ref, &l.ev[i], promote_cb, ps), 0);
		assert_same_snapshot(s, ref);
	}
	/* Pairs, rings, tables, patterns and labels all were allocated. */
	assert_true(failed > 50);
	synth_free(ref);
	synth_free(s);
	free(ps);
}

/* synth_new and synth_restore under ENOMEM: NULL, errno, no leak. */
static void
test_synth_enomem_in_new_and_restore(void **state)
{
	static struct rlog	 l;
	struct synth_config	 c;
	struct promos		*ps;
	msgpack_sbuffer		 sb;
	struct synth		*s, *r;
	unsigned		 k;

	(void)state;
	synth_config_default(&c);
	for (k = 1; k < 4; k++) {
		fail_in = k;
		s = synth_new(&c);
		fail_in = 0;
		if (s == NULL)
			assert_int_equal(errno, ENOMEM);
		synth_free(s);
	}
	assert_non_null(ps = calloc(1, sizeof(*ps)));
	rlog_make(&l, 5);
	assert_non_null(s = synth_new(&c));
	feed_range(s, &l, 0, 1000, ps, 0);
	msgpack_sbuffer_init(&sb);
	assert_int_equal(synth_snapshot(s, &sb), 0);
	for (k = 1;; k++) {
		fail_in = k;
		r = synth_restore(&c, sb.data, sb.size);
		fail_in = 0;
		if (r != NULL)
			break;
		assert_int_equal(errno, ENOMEM);
	}
	assert_true(k > 20);
	assert_same(s, r);
	synth_free(r);
	msgpack_sbuffer_destroy(&sb);
	synth_free(s);
	free(ps);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_synth_config_defaults_are_the_spec),
		cmocka_unit_test(test_synth_config_check_refuses_bad_values),
		cmocka_unit_test(test_synth_new_is_empty_and_round_trips),
		cmocka_unit_test(test_synth_rebuild_equals_live_small_tables),
		cmocka_unit_test(test_synth_rebuild_equals_live_defaults),
		cmocka_unit_test(
		    test_synth_snapshot_in_callback_is_after_the_event),
		cmocka_unit_test(test_synth_restore_refuses_another_config),
		cmocka_unit_test(test_synth_restore_refuses_damaged_snapshots),
		cmocka_unit_test(test_synth_enomem_leaves_state_unchanged),
		cmocka_unit_test(test_synth_enomem_in_new_and_restore),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
