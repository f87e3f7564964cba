/*
 * test_synth_patterns: bframe occurrences, distinct sessions and models,
 * promotion once, logged candidate records, and the bounds (LRU eviction
 * of unpromoted patterns, the promoted set, distinct values, pattern
 * length), driven through synth.h. Every promotion is recorded, with a
 * copy of what the callback saw, and checked field by field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth/synth.h"

#define MAXPROMO	8

/* What one callback saw, copied. */
struct promo {
	char			 pattern[SYNTH_PATTERN_MAX + 1];
	uint64_t		 occurrences;
	char			 sessions[128];	/* joined with ',' */
	char			 models[128];
	size_t			 nsessions;
	size_t			 nmodels;
	struct synth_eid	 first;
	struct synth_eid	 last;
	int64_t			 ts_us;
	uint64_t		 at;		/* events fed before the call */
};

struct fix {
	struct synth_config	 cfg;
	struct synth		*s;
	uint64_t		 n;
	struct promo		 promo[MAXPROMO];
	size_t			 npromo;
};

static void	 fix_start(struct fix *, const struct synth_config *);
static void	 fix_stop(struct fix *);
static struct synth_bytes bytes(const char *);
static void	 join(char *, size_t, const struct synth_bytes *, size_t);
static void	 promote_cb(void *, const struct synth_candidate *);
static void	 feed_kind(struct fix *, const char *, const char *,
		    const char *, const char *);
static void	 bframe(struct fix *, const char *, const char *, const char *);
static void	 candidate(struct fix *, const char *);
static struct synth_stats stats(struct fix *);
static const struct synth_pattern_view *find(struct fix *, const char *,
		    struct synth_pattern_view *, size_t);

static void
fix_start(struct fix *f, const struct synth_config *c)
{
	memset(f, 0, sizeof(*f));
	if (c != NULL)
		f->cfg = *c;
	else
		synth_config_default(&f->cfg);
	assert_non_null(f->s = synth_new(&f->cfg));
}

static void
fix_stop(struct fix *f)
{
	synth_free(f->s);
}

static struct synth_bytes
bytes(const char *s)
{
	struct synth_bytes	b = { s, strlen(s) };

	return (b);
}

static void
join(char *buf, size_t size, const struct synth_bytes *v, size_t n)
{
	size_t	i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		/* The strings come NUL-terminated, as synth.h promises. */
		assert_int_equal(v[i].ptr[v[i].len], '\0');
		off += (size_t)snprintf(buf + off, size - off, "%s%.*s",
		    i ? "," : "", (int)v[i].len, v[i].ptr);
		assert_true(off < size);
	}
}

static void
promote_cb(void *arg, const struct synth_candidate *c)
{
	struct fix	*f = arg;
	struct promo	*p;

	assert_true(f->npromo < MAXPROMO);
	p = &f->promo[f->npromo++];
	memset(p, 0, sizeof(*p));
	assert_true(c->pattern.len <= SYNTH_PATTERN_MAX);
	memcpy(p->pattern, c->pattern.ptr, c->pattern.len);
	p->occurrences = c->occurrences;
	join(p->sessions, sizeof(p->sessions), c->sessions, c->nsessions);
	join(p->models, sizeof(p->models), c->models, c->nmodels);
	p->nsessions = c->nsessions;
	p->nmodels = c->nmodels;
	p->first = c->first_eid;
	p->last = c->last_eid;
	p->ts_us = c->ts_us;
	p->at = f->n;
}

/* Event number n: eid n-0, ts n * 1000, from a to b (cross-tract). */
static void
feed_kind(struct fix *f, const char *kind, const char *pattern,
    const char *session, const char *model)
{
	struct synth_event	ev;

	memset(&ev, 0, sizeof(ev));
	f->n++;
	ev.eid.ms = f->n;
	ev.ts_us = (int64_t)f->n * 1000;
	ev.from = bytes("a");
	ev.to = bytes("b");
	ev.kind = bytes(kind);
	ev.agent = bytes("agent");
	ev.session = bytes(session);
	ev.model = bytes(model);
	ev.pattern = bytes(pattern);
	assert_int_equal(synth_feed(f->s, &ev, promote_cb, f), 0);
}

static void
bframe(struct fix *f, const char *pattern, const char *session,
    const char *model)
{
	feed_kind(f, "bframe", pattern, session, model);
}

/* The router's logged promotion record. */
static void
candidate(struct fix *f, const char *pattern)
{
	feed_kind(f, "candidate", pattern, "", "");
}

static struct synth_stats
stats(struct fix *f)
{
	struct synth_stats	st;

	synth_get_stats(f->s, &st);
	return (st);
}

/* The view of pattern name among the top max, or NULL. */
static const struct synth_pattern_view *
find(struct fix *f, const char *name, struct synth_pattern_view *v, size_t max)
{
	size_t	i, n = synth_top_patterns(f->s, v, max);

	for (i = 0; i < n; i++)
		if (v[i].pattern.len == strlen(name) &&
		    memcmp(v[i].pattern.ptr, name, v[i].pattern.len) == 0)
			return (&v[i]);
	return (NULL);
}

/* promote_sessions 2: one session, however many bframes, never. */
static void
test_synth_patterns_one_session_never_promotes(void **state)
{
	struct synth_pattern_view	 v[4];
	const struct synth_pattern_view	*p;
	struct fix			 f;
	int				 i;

	(void)state;
	fix_start(&f, NULL);
	for (i = 0; i < 10; i++)
		bframe(&f, "P", "s1", i % 2 ? "m1" : "m2");
	assert_int_equal(f.npromo, 0);
	assert_non_null(p = find(&f, "P", v, 4));
	assert_int_equal(p->occurrences, 10);
	assert_int_equal(p->nsessions, 1);
	assert_int_equal(p->nmodels, 2);
	assert_false(p->promoted);
	assert_int_equal(stats(&f).candidates_total, 0);
	fix_stop(&f);
}

/* Three occurrences and two sessions but one model: waits for a 2nd. */
static void
test_synth_patterns_two_models_required(void **state)
{
	struct fix	f;

	(void)state;
	fix_start(&f, NULL);
	bframe(&f, "P", "s1", "m1");
	bframe(&f, "P", "s2", "m1");
	bframe(&f, "P", "s1", "m1");
	bframe(&f, "P", "s2", "m1");
	assert_int_equal(f.npromo, 0);
	bframe(&f, "P", "s3", "m2");
	assert_int_equal(f.npromo, 1);
	assert_int_equal(f.promo[0].at, 5);
	assert_int_equal(f.promo[0].occurrences, 5);
	assert_string_equal(f.promo[0].sessions, "s1,s2,s3");
	assert_string_equal(f.promo[0].models, "m1,m2");
	fix_stop(&f);
}

/*
 * Promotion happens once, at the event completing the rules, with what
 * the pattern holds then; other patterns' events in between change
 * nothing of it.
 */
static void
test_synth_patterns_promotes_once_at_the_right_event(void **state)
{
	struct synth_pattern_view	 v[4];
	const struct synth_pattern_view	*p;
	struct fix			 f;
	int				 i;

	(void)state;
	fix_start(&f, NULL);
	feed_kind(&f, "msg", "", "s9", "m9");		/* 1 */
	bframe(&f, "P", "s1", "m1");			/* 2: first */
	bframe(&f, "Q", "s1", "m1");			/* 3 */
	bframe(&f, "P", "s1", "m2");			/* 4 */
	assert_int_equal(f.npromo, 0);
	bframe(&f, "P", "s2", "m2");			/* 5: promotes */
	assert_int_equal(f.npromo, 1);
	assert_string_equal(f.promo[0].pattern, "P");
	assert_int_equal(f.promo[0].occurrences, 3);
	assert_int_equal(f.promo[0].nsessions, 2);
	assert_int_equal(f.promo[0].nmodels, 2);
	assert_string_equal(f.promo[0].sessions, "s1,s2");
	assert_string_equal(f.promo[0].models, "m1,m2");
	assert_int_equal(f.promo[0].first.ms, 2);
	assert_int_equal(f.promo[0].last.ms, 5);
	assert_int_equal(f.promo[0].ts_us, 5000);
	/* The state already said so when the callback ran. */
	assert_int_equal(f.promo[0].at, 5);
	for (i = 0; i < 5; i++)
		bframe(&f, "P", i % 2 ? "s3" : "s4", "m3");
	assert_int_equal(f.npromo, 1);
	assert_int_equal(stats(&f).candidates_total, 1);
	assert_int_equal(stats(&f).npromoted, 1);
	assert_int_equal(stats(&f).npatterns, 1);	/* Q */
	/* Still tracked: occurrences and last go on, distinct counts stay. */
	assert_non_null(p = find(&f, "P", v, 4));
	assert_true(p->promoted);
	assert_int_equal(p->occurrences, 8);
	assert_int_equal(p->nsessions, 2);
	assert_int_equal(p->last_eid.ms, 10);
	assert_int_equal(p->first_eid.ms, 2);
	fix_stop(&f);
}

/* A logged candidate record first: the pattern never promotes live. */
static void
test_synth_patterns_candidate_event_marks_promoted(void **state)
{
	struct synth_pattern_view	v[4];
	struct fix			f;
	int				i;

	(void)state;
	fix_start(&f, NULL);
	candidate(&f, "P");
	assert_int_equal(stats(&f).candidates_total, 1);
	assert_int_equal(stats(&f).npromoted, 1);
	/* Known by name only: no occurrence, so not among the top. */
	assert_int_equal(synth_top_patterns(f.s, v, 4), 0);
	for (i = 0; i < 6; i++)
		bframe(&f, "P", i % 2 ? "s1" : "s2", i % 3 ? "m1" : "m2");
	assert_int_equal(f.npromo, 0);
	candidate(&f, "P");
	assert_int_equal(stats(&f).candidates_total, 1);
	assert_int_equal(synth_top_patterns(f.s, v, 4), 1);
	assert_true(v[0].promoted);
	assert_int_equal(v[0].occurrences, 6);
	assert_int_equal(v[0].first_eid.ms, 2);
	fix_stop(&f);
}

/*
 * The live order: a promotion, then its record fed back; and a record
 * for a pattern tracked unpromoted, which promotes it without a call.
 */
static void
test_synth_patterns_candidate_record_after_promotion(void **state)
{
	struct fix	f;

	(void)state;
	fix_start(&f, NULL);
	bframe(&f, "P", "s1", "m1");
	bframe(&f, "P", "s2", "m2");
	bframe(&f, "P", "s1", "m1");
	assert_int_equal(f.npromo, 1);
	candidate(&f, "P");
	assert_int_equal(stats(&f).candidates_total, 1);

	bframe(&f, "Q", "s1", "m1");
	candidate(&f, "Q");
	assert_int_equal(stats(&f).candidates_total, 2);
	assert_int_equal(stats(&f).npatterns, 0);
	assert_int_equal(stats(&f).npromoted, 2);
	bframe(&f, "Q", "s2", "m2");
	bframe(&f, "Q", "s3", "m3");
	assert_int_equal(f.npromo, 1);
	fix_stop(&f);
}

/* 128 bytes is a pattern; 129 is refused, for bframes and records. */
static void
test_synth_patterns_longer_than_128_refused(void **state)
{
	char				 p128[129], p129[130];
	struct synth_pattern_view	 v[4];
	struct fix			 f;

	(void)state;
	memset(p128, 'x', 128);
	p128[128] = '\0';
	memset(p129, 'y', 129);
	p129[129] = '\0';
	fix_start(&f, NULL);
	bframe(&f, p129, "s1", "m1");
	candidate(&f, p129);
	assert_int_equal(stats(&f).patterns_refused, 2);
	assert_int_equal(stats(&f).npatterns, 0);
	assert_int_equal(stats(&f).candidates_total, 0);
	bframe(&f, p128, "s1", "m1");
	bframe(&f, p128, "s2", "m2");
	bframe(&f, p128, "s3", "m3");
	assert_int_equal(f.npromo, 1);
	assert_int_equal(strlen(f.promo[0].pattern), 128);
	assert_int_equal(stats(&f).patterns_refused, 2);
	assert_non_null(find(&f, p128, v, 4));
	assert_int_equal(stats(&f).events_fed, 5);
	fix_stop(&f);
}

/* Only bframe (occurrence) and candidate (record) with a pattern count. */
static void
test_synth_patterns_other_kinds_and_empty_patterns_ignored(void **state)
{
	struct synth_stats	st;
	struct fix		f;

	(void)state;
	fix_start(&f, NULL);
	feed_kind(&f, "msg", "P", "s1", "m1");
	feed_kind(&f, "bframes", "P", "s1", "m1");
	feed_kind(&f, "Bframe", "P", "s1", "m1");
	bframe(&f, "", "s1", "m1");
	candidate(&f, "");
	st = stats(&f);
	assert_int_equal(st.npatterns, 0);
	assert_int_equal(st.npromoted, 0);
	assert_int_equal(st.patterns_refused, 0);
	assert_int_equal(st.events_fed, 5);
	fix_stop(&f);
}

/*
 * max_patterns 3: P1 P2 P3, then P1 seen again; P4 evicts P2, the least
 * recently seen. P2 coming back is new: its count starts over, and it
 * evicts P3.
 */
static void
test_synth_patterns_lru_evicts_least_recently_seen(void **state)
{
	struct synth_pattern_view	 v[8];
	const struct synth_pattern_view	*p;
	struct synth_config		 c;
	struct fix			 f;

	(void)state;
	synth_config_default(&c);
	c.max_patterns = 3;
	fix_start(&f, &c);
	bframe(&f, "P1", "s1", "m1");
	bframe(&f, "P2", "s1", "m1");
	bframe(&f, "P2", "s1", "m1");
	bframe(&f, "P3", "s1", "m1");
	bframe(&f, "P1", "s1", "m1");
	assert_int_equal(stats(&f).patterns_evicted, 0);
	bframe(&f, "P4", "s1", "m1");
	assert_int_equal(stats(&f).npatterns, 3);
	assert_int_equal(stats(&f).patterns_evicted, 1);
	assert_null(find(&f, "P2", v, 8));
	assert_non_null(find(&f, "P1", v, 8));
	assert_non_null(find(&f, "P3", v, 8));
	bframe(&f, "P2", "s2", "m2");
	assert_non_null(p = find(&f, "P2", v, 8));
	assert_int_equal(p->occurrences, 1);
	assert_int_equal(p->first_eid.ms, 7);
	assert_null(find(&f, "P3", v, 8));
	assert_int_equal(stats(&f).patterns_evicted, 2);
	fix_stop(&f);
}

/* A stream of new patterns: the table never passes max_patterns. */
static void
test_synth_patterns_memory_stays_bounded(void **state)
{
	struct synth_config	c;
	struct fix		f;
	char			name[16];
	int			i;

	(void)state;
	synth_config_default(&c);
	c.max_patterns = 50;
	fix_start(&f, &c);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		bframe(&f, name, "s1", "m1");
		assert_true(stats(&f).npatterns <= 50);
	}
	assert_int_equal(stats(&f).npatterns, 50);
	assert_int_equal(stats(&f).patterns_evicted, 5000 - 50);
	fix_stop(&f);
}

/* max_promoted 2: a third promotion forgets the first promoted name. */
static void
test_synth_patterns_promoted_set_forgets_oldest(void **state)
{
	struct synth_config	c;
	struct fix		f;

	(void)state;
	synth_config_default(&c);
	c.max_promoted = 2;
	c.promote_occurrences = 1;
	c.promote_sessions = 1;
	c.promote_models = 1;
	fix_start(&f, &c);
	bframe(&f, "P1", "s1", "m1");
	candidate(&f, "P2");
	bframe(&f, "P3", "s1", "m1");
	assert_int_equal(f.npromo, 2);
	assert_int_equal(stats(&f).npromoted, 2);
	assert_int_equal(stats(&f).candidates_total, 3);
	/* P2 and P3 remembered, P1 forgotten: it promotes again. */
	bframe(&f, "P2", "s1", "m1");
	bframe(&f, "P3", "s1", "m1");
	assert_int_equal(f.npromo, 2);
	bframe(&f, "P1", "s1", "m1");
	assert_int_equal(f.npromo, 3);
	assert_string_equal(f.promo[2].pattern, "P1");
	assert_int_equal(f.promo[2].first.ms, 6);
	fix_stop(&f);
}

/* Sessions and models beyond 32 distinct are not kept. */
static void
test_synth_patterns_distinct_values_stop_at_32(void **state)
{
	struct synth_pattern_view	 v[2];
	const struct synth_pattern_view	*p;
	struct synth_config		 c;
	struct fix			 f;
	char				 s[16];
	int				 i;

	(void)state;
	synth_config_default(&c);
	c.promote_sessions = 32;
	c.promote_models = 32;
	c.promote_occurrences = 1000;
	fix_start(&f, &c);
	for (i = 0; i < 40; i++) {
		snprintf(s, sizeof(s), "v%d", i);
		bframe(&f, "P", s, s);
	}
	assert_non_null(p = find(&f, "P", v, 2));
	assert_int_equal(p->nsessions, 32);
	assert_int_equal(p->nmodels, 32);
	assert_int_equal(p->occurrences, 40);
	fix_stop(&f);

	/* At 32 of each the rules hold: it promotes listing those 32. */
	c.promote_occurrences = 1;
	fix_start(&f, &c);
	for (i = 0; i < 40; i++) {
		snprintf(s, sizeof(s), "v%d", i);
		bframe(&f, "P", s, s);
	}
	assert_int_equal(f.npromo, 1);
	assert_int_equal(f.promo[0].at, 32);
	assert_int_equal(f.promo[0].nsessions, 32);
	assert_int_equal(f.promo[0].nmodels, 32);
	fix_stop(&f);
}

/* By occurrences, most first, then by name; max takes the top. */
static void
test_synth_patterns_top_by_occurrences_then_name(void **state)
{
	static const char	*names[5] = { "b", "a", "c", "aa", "d" };
	static const int	 occ[5] = { 2, 2, 5, 1, 3 };
	static const char	*order[5] = { "c", "d", "a", "b", "aa" };
	struct synth_pattern_view v[6];
	struct synth_config	 c;
	struct fix		 f;
	size_t			 n;
	int			 i, k;

	(void)state;
	synth_config_default(&c);
	c.promote_occurrences = 1000;
	fix_start(&f, &c);
	for (i = 0; i < 5; i++)
		for (k = 0; k < occ[i]; k++)
			bframe(&f, names[i], "s", "m");
	assert_int_equal(n = synth_top_patterns(f.s, v, 6), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(v[i].pattern.len, strlen(order[i]));
		assert_memory_equal(v[i].pattern.ptr, order[i],
		    v[i].pattern.len);
	}
	assert_int_equal(v[0].occurrences, 5);
	assert_int_equal(synth_top_patterns(f.s, v, 2), 2);
	assert_memory_equal(v[0].pattern.ptr, "c", 1);
	assert_memory_equal(v[1].pattern.ptr, "d", 1);
	assert_int_equal(synth_top_patterns(f.s, v, 0), 0);
	fix_stop(&f);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(
		    test_synth_patterns_one_session_never_promotes),
		cmocka_unit_test(test_synth_patterns_two_models_required),
		cmocka_unit_test(
		    test_synth_patterns_promotes_once_at_the_right_event),
		cmocka_unit_test(
		    test_synth_patterns_candidate_event_marks_promoted),
		cmocka_unit_test(
		    test_synth_patterns_candidate_record_after_promotion),
		cmocka_unit_test(test_synth_patterns_longer_than_128_refused),
		cmocka_unit_test(
		    test_synth_patterns_other_kinds_and_empty_patterns_ignored),
		cmocka_unit_test(
		    test_synth_patterns_lru_evicts_least_recently_seen),
		cmocka_unit_test(test_synth_patterns_memory_stays_bounded),
		cmocka_unit_test(
		    test_synth_patterns_promoted_set_forgets_oldest),
		cmocka_unit_test(
		    test_synth_patterns_distinct_values_stop_at_32),
		cmocka_unit_test(
		    test_synth_patterns_top_by_occurrences_then_name),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
