/*
 * test_synth_balance: per-pair windows, the balanced-dialogue counting
 * rule and the emergence score, driven through synth.h with exact values:
 * a balance is min/max of two small integers, so the test writes the same
 * division; emergence is the design's formula written out again here.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synth/synth.h"

/* A synth under test and the events fed so far. */
struct fix {
	struct synth_config	 cfg;
	struct synth		*s;
	uint64_t		 n;	/* events fed: eid ms and ts derive */
};

static void	 fix_start(struct fix *, uint32_t, double);
static void	 fix_stop(struct fix *);
static struct synth_bytes bytes(const char *);
static void	 feed(struct fix *, const char *, const char *,
		    const char *, const char *, const char *);
static void	 dir(struct fix *, char);
static struct synth_stats stats(struct fix *);
static struct synth_pair_view pair0(struct fix *);
static double	 ratio(uint32_t, uint32_t);
static double	 f_of(uint32_t);
static double	 next_up(double);

static void
fix_start(struct fix *f, uint32_t window, double threshold)
{
	memset(f, 0, sizeof(*f));
	synth_config_default(&f->cfg);
	f->cfg.window = window;
	f->cfg.balance_threshold = threshold;
	f->s = synth_new(&f->cfg);
	assert_non_null(f->s);
}

static void
fix_stop(struct fix *f)
{
	synth_free(f->s);
	f->s = NULL;
}

static struct synth_bytes
bytes(const char *s)
{
	struct synth_bytes	b = { s, strlen(s) };

	return (b);
}

/* An event from -> to with labels; ts_us = 1000 * its number (1, 2...). */
static void
feed(struct fix *f, const char *from, const char *to, const char *agent,
    const char *session, const char *model)
{
	struct synth_event	ev;

	memset(&ev, 0, sizeof(ev));
	f->n++;
	ev.eid.ms = f->n;
	ev.ts_us = (int64_t)f->n * 1000;
	ev.from = bytes(from);
	ev.to = bytes(to);
	ev.kind = bytes("msg");
	ev.agent = bytes(agent);
	ev.session = bytes(session);
	ev.model = bytes(model);
	assert_int_equal(synth_feed(f->s, &ev, NULL, NULL), 0);
}

/* 'A': A -> B, 'B': B -> A, same labels. */
static void
dir(struct fix *f, char d)
{
	if (d == 'A')
		feed(f, "A", "B", "x", "s", "m");
	else
		feed(f, "B", "A", "x", "s", "m");
}

static struct synth_stats
stats(struct fix *f)
{
	struct synth_stats	st;

	synth_get_stats(f->s, &st);
	return (st);
}

/* The one pair there is. */
static struct synth_pair_view
pair0(struct fix *f)
{
	struct synth_pair_view	v[2];

	assert_int_equal(synth_pairs(f->s, v, 2), 1);
	return (v[0]);
}

/* The balance the design defines, for counts a and b. */
static double
ratio(uint32_t a, uint32_t b)
{
	uint32_t	lo = a < b ? a : b, hi = a < b ? b : a;

	return (hi == 0 ? 0.0 : (double)lo / (double)hi);
}

/* f(d) = min(1, (d - 1) / 2), as the design writes it. */
static double
f_of(uint32_t d)
{
	double	v = (double)(d - 1) / 2.0;

	return (v < 1.0 ? v : 1.0);
}

/* The next double above x > 0 (no libm). */
static double
next_up(double x)
{
	uint64_t	u;

	memcpy(&u, &x, sizeof(u));
	u++;
	memcpy(&x, &u, sizeof(x));
	return (x);
}

static void
test_synth_balance_five_each_way_is_one(void **state)
{
	struct synth_pair_view	v;
	struct fix		f;
	int			i;

	(void)state;
	fix_start(&f, 10, 0.7);
	for (i = 0; i < 5; i++)
		dir(&f, 'A');
	for (i = 0; i < 5; i++)
		dir(&f, 'B');
	v = pair0(&f);
	assert_int_equal(v.a_to_b, 5);
	assert_int_equal(v.b_to_a, 5);
	assert_true(v.balance == 1.0);
	assert_int_equal(v.a.len, 1);
	assert_memory_equal(v.a.ptr, "A", 1);
	assert_memory_equal(v.b.ptr, "B", 1);
	assert_int_equal(stats(&f).balanced_events, 1);
	fix_stop(&f);
}

static void
test_synth_balance_nine_to_one_is_one_ninth(void **state)
{
	struct synth_pair_view	v;
	struct fix		f;
	int			i;

	(void)state;
	fix_start(&f, 10, 0.7);
	for (i = 0; i < 9; i++)
		dir(&f, 'A');
	dir(&f, 'B');
	v = pair0(&f);
	assert_int_equal(v.a_to_b, 9);
	assert_int_equal(v.b_to_a, 1);
	assert_true(v.balance == 1.0 / 9.0);
	assert_int_equal(stats(&f).balanced_events, 0);
	fix_stop(&f);
}

/*
 * W = 10: ten A -> B, then B -> A one at a time, each pushing out an old
 * A -> B. The window passes 5:5 once, at the fifth reply.
 */
static void
test_synth_balance_old_imbalance_slides_out(void **state)
{
	static const uint64_t	counted[11] = { 0, 0, 0, 0, 0, 1, 1, 1, 1,
				    1, 1 };
	struct synth_pair_view	v;
	struct fix		f;
	uint32_t		k;

	(void)state;
	fix_start(&f, 10, 0.7);
	for (k = 0; k < 10; k++)
		dir(&f, 'A');
	v = pair0(&f);
	assert_true(v.balance == 0.0);
	for (k = 1; k <= 10; k++) {
		dir(&f, 'B');
		v = pair0(&f);
		assert_int_equal(v.a_to_b, 10 - k);
		assert_int_equal(v.b_to_a, k);
		assert_true(v.balance == ratio(10 - k, k));
		assert_int_equal(stats(&f).balanced_events, counted[k]);
	}
	assert_true(pair0(&f).balance == 0.0);
	assert_int_equal(stats(&f).last_emergence_ts, 15 * 1000);
	fix_stop(&f);
}

/* W = 1: the window is one message, so its balance is always 0. */
static void
test_synth_balance_window_of_one(void **state)
{
	struct synth_pair_view	v;
	struct synth_stats	st;
	struct fix		f;
	int			i;

	(void)state;
	fix_start(&f, 1, 0.7);
	for (i = 0; i < 6; i++) {
		dir(&f, i % 2 ? 'B' : 'A');
		v = pair0(&f);
		assert_int_equal(v.a_to_b + v.b_to_a, 1);
		assert_int_equal(v.a_to_b, i % 2 ? 0 : 1);
		assert_true(v.balance == 0.0);
	}
	st = stats(&f);
	assert_int_equal(st.balanced_events, 0);
	assert_true(st.emergence == 0.0);
	assert_int_equal(st.last_emergence_ts, 0);
	fix_stop(&f);

	/* Threshold 0: 0 >= 0 and m = 1, each message its own window. */
	fix_start(&f, 1, 0.0);
	for (i = 0; i < 4; i++)
		dir(&f, 'A');
	st = stats(&f);
	assert_int_equal(st.balanced_events, 4);
	assert_int_equal(st.last_emergence_ts, 4000);
	assert_true(st.emergence == 0.0);
	fix_stop(&f);
}

/* m = min(W, 10): W = 4 counts at 4 messages, W = 20 only at 10. */
static void
test_synth_balance_min_window_is_min_of_w_and_10(void **state)
{
	struct fix	f;
	int		i;

	(void)state;
	fix_start(&f, 4, 0.7);
	for (i = 1; i <= 4; i++) {
		dir(&f, i % 2 ? 'A' : 'B');
		assert_int_equal(stats(&f).balanced_events, i == 4);
	}
	fix_stop(&f);

	fix_start(&f, 20, 0.7);
	for (i = 1; i <= 10; i++) {
		dir(&f, i % 2 ? 'A' : 'B');
		/* Balanced from the 2nd message, but n < 10 until the 10th. */
		assert_int_equal(stats(&f).balanced_events, i == 10);
		if (i < 10)
			assert_true(stats(&f).emergence == 0.0);
	}
	assert_int_equal(stats(&f).last_emergence_ts, 10000);
	fix_stop(&f);
}

/*
 * Ten A -> B then seven B -> A in W = 17: balance 7/10, which is the
 * double nearest 0.7, as is the literal: equal counts; one ulp of
 * threshold above it does not.
 */
static void
test_synth_balance_threshold_is_inclusive(void **state)
{
	struct fix	f;
	double		thr[2] = { 0.7, 0.0 };
	int		i, t;

	(void)state;
	thr[1] = next_up(0.7);
	for (t = 0; t < 2; t++) {
		fix_start(&f, 17, thr[t]);
		for (i = 0; i < 10; i++)
			dir(&f, 'A');
		for (i = 0; i < 7; i++)
			dir(&f, 'B');
		assert_true(pair0(&f).balance == 0.7);
		assert_int_equal(stats(&f).balanced_events, t == 0 ? 1 : 0);
		fix_stop(&f);
	}
	/* 4/6 against 2/3, the same double. */
	fix_start(&f, 10, 2.0 / 3.0);
	for (i = 0; i < 6; i++)
		dir(&f, 'A');
	for (i = 0; i < 4; i++)
		dir(&f, 'B');
	assert_int_equal(stats(&f).balanced_events, 1);
	fix_stop(&f);
}

/*
 * The design's worked example (W = 10, threshold 0.7): five A -> B then
 * five B -> A count event #1 at the 10th message. Alternating after that
 * does not keep this window balanced (the 12th leaves 4:6 = 0.667), so
 * the rule counts #2 on re-entry at the 19th and #3 ten later, at the
 * 29th; the design's "#2 at the 20th" holds for a window that stays
 * balanced, the next test.
 */
static void
test_synth_balance_design_example_counts_reentry(void **state)
{
	/* balanced_events after messages 1..30. */
	static const uint64_t	want[30] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 2, 2,
		2, 2, 2, 2, 2, 2, 2, 2, 3, 3 };
	const char	*seq = "AAAAABBBBBABABABABABABABABABAB";
	struct fix	 f;
	int		 i;

	(void)state;
	fix_start(&f, 10, 0.7);
	for (i = 0; i < 30; i++) {
		dir(&f, seq[i]);
		assert_int_equal(stats(&f).balanced_events, want[i]);
		if (i == 11)
			assert_true(pair0(&f).balance == 4.0 / 6.0);
	}
	assert_int_equal(stats(&f).last_emergence_ts, 29000);
	fix_stop(&f);
}

/* A dialogue balanced throughout counts once per W of its messages. */
static void
test_synth_balance_sustained_counts_once_per_window(void **state)
{
	struct fix	f;
	uint64_t	i;

	(void)state;
	fix_start(&f, 10, 0.7);
	for (i = 1; i <= 35; i++) {
		dir(&f, i % 2 ? 'A' : 'B');
		assert_int_equal(stats(&f).balanced_events, i / 10);
	}
	assert_int_equal(stats(&f).last_emergence_ts, 30000);
	fix_stop(&f);
}

/*
 * Flapping: each re-entry counts, however soon. ABABABABAB counts #1 at
 * the 10th; then AABB twice moves the window between 5:5 and 6:4
 * (0.667). At threshold 0.6 it never leaves, so nothing more counts
 * before W messages; at threshold 1.0 it leaves and the way back in
 * counts #2 three messages after #1.
 */
static void
test_synth_balance_reentry_counts_each_time(void **state)
{
	const char		*seq = "ABABABABAB" "AA" "BB" "AA" "BB";
	static const uint64_t	 want[18] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
				    1, 1, 1, 1, 1, 1, 1, 1 };
	struct fix		 f;
	int			 i;

	(void)state;
	fix_start(&f, 10, 0.6);
	for (i = 0; i < 18; i++) {
		dir(&f, seq[i]);
		assert_int_equal(stats(&f).balanced_events, want[i]);
	}
	fix_stop(&f);

	/* A pushes out A: in; A pushes out B: 6:4, out; B: 5:5, #2. */
	fix_start(&f, 10, 1.0);
	for (i = 0; i < 10; i++)
		dir(&f, i % 2 ? 'B' : 'A');
	assert_int_equal(stats(&f).balanced_events, 1);
	dir(&f, 'A');
	assert_int_equal(stats(&f).balanced_events, 1);
	dir(&f, 'A');
	assert_true(pair0(&f).balance == 4.0 / 6.0);
	assert_int_equal(stats(&f).balanced_events, 1);
	dir(&f, 'B');
	assert_true(pair0(&f).balance == 1.0);
	assert_int_equal(stats(&f).balanced_events, 2);
	assert_int_equal(stats(&f).last_emergence_ts, 13000);
	fix_stop(&f);
}

/* {A, B} is one pair either way; same-tract events are no pair. */
static void
test_synth_balance_pairs_are_unordered_in_byte_order(void **state)
{
	struct synth_pair_view	v[4];
	struct fix		f;

	(void)state;
	fix_start(&f, 10, 0.7);
	feed(&f, "A", "A", "x", "s", "m");
	assert_int_equal(synth_pairs(f.s, v, 4), 0);
	feed(&f, "ab", "a", "x", "s", "m");
	feed(&f, "a", "ab", "x", "s", "m");
	feed(&f, "b", "a", "x", "s", "m");
	feed(&f, "B", "a", "x", "s", "m");
	assert_int_equal(synth_pairs(f.s, v, 4), 3);
	/* ("B","a") < ("a","ab") < ("a","b"): memcmp, shorter first. */
	assert_int_equal(v[0].a.len, 1);
	assert_memory_equal(v[0].a.ptr, "B", 1);
	assert_memory_equal(v[0].b.ptr, "a", 1);
	assert_int_equal(v[0].a_to_b, 1);
	assert_int_equal(v[0].b_to_a, 0);
	assert_int_equal(v[1].b.len, 2);
	assert_memory_equal(v[1].a.ptr, "a", 1);
	assert_memory_equal(v[1].b.ptr, "ab", 2);
	assert_int_equal(v[1].a_to_b, 1);
	assert_int_equal(v[1].b_to_a, 1);
	assert_true(v[1].balance == 1.0);
	assert_memory_equal(v[2].b.ptr, "b", 1);
	assert_int_equal(v[2].a_to_b, 0);
	assert_int_equal(v[2].b_to_a, 1);
	/* max bounds the copy. */
	assert_int_equal(synth_pairs(f.s, v, 1), 1);
	assert_memory_equal(v[0].a.ptr, "B", 1);
	assert_int_equal(stats(&f).npairs, 3);
	fix_stop(&f);
}

/* Beyond max_pairs a new pair's events are counted, not tracked. */
static void
test_synth_balance_max_pairs_drops_new_pairs(void **state)
{
	struct synth_stats	st;
	struct fix		f;

	(void)state;
	memset(&f, 0, sizeof(f));
	synth_config_default(&f.cfg);
	f.cfg.max_pairs = 2;
	assert_non_null(f.s = synth_new(&f.cfg));
	feed(&f, "A", "B", "x", "s", "m");
	feed(&f, "A", "C", "x", "s", "m");
	feed(&f, "B", "C", "x", "s", "m");
	feed(&f, "C", "B", "x", "s", "m");
	feed(&f, "B", "A", "x", "s", "m");
	st = stats(&f);
	assert_int_equal(st.npairs, 2);
	assert_int_equal(st.pairs_dropped, 2);
	assert_int_equal(st.events_fed, 5);
	fix_stop(&f);
}

/*
 * The design's emergence, W = 4 (m = 4), worked by hand:
 *  1 A->B x s1 m1   n=1 < 4: x = 0, E = 0
 *  2 B->A y s1 m1   n=2: E = 0
 *  3 A->B x s2 m2   n=3: E = 0
 *  4 B->A y s2 m3   2:2 balance 1; agents 2, sessions 2, models 3:
 *                   div = (0.5 + 0.5 + 1) / 3 = 2/3, E = (2/3) / 4 = 1/6
 *  5 A->B z s3 m1   window 2..5: 2:2; agents y,x,y,z 3; sessions s1,s2,
 *                   s2,s3 3; models m1,m2,m3,m1 3: div 1, x = 1
 *  6 A->B z s3 m1   window 3..6: 3:1 balance 1/3; agents x,y,z,z 3;
 *                   sessions s2,s2,s3,s3 2; models m2,m3,m1,m1 3:
 *                   div = (1 + 0.5 + 1) / 3, x = (1/3) * div
 *  7 A->A           same tract: E unchanged
 * Balanced events: #1 at 4; 5 stays in (no count), 6 goes out.
 */
static void
test_synth_emergence_worked_example_w4(void **state)
{
	struct synth_stats	st;
	struct fix		f;
	double			e, x;

	(void)state;
	fix_start(&f, 4, 0.7);
	feed(&f, "A", "B", "x", "s1", "m1");
	feed(&f, "B", "A", "y", "s1", "m1");
	feed(&f, "A", "B", "x", "s2", "m2");
	assert_true(stats(&f).emergence == 0.0);
	feed(&f, "B", "A", "y", "s2", "m3");
	e = 0.0;
	x = ratio(2, 2) * ((f_of(2) + f_of(2) + f_of(3)) / 3.0);
	e += (x - e) / 4.0;
	st = stats(&f);
	assert_true(st.emergence == e);
	assert_true(st.emergence == 0.16666666666666666);
	assert_int_equal(st.balanced_events, 1);
	assert_int_equal(st.last_emergence_ts, 4000);

	feed(&f, "A", "B", "z", "s3", "m1");
	x = ratio(2, 2) * ((f_of(3) + f_of(3) + f_of(3)) / 3.0);
	assert_true(x == 1.0);
	e += (x - e) / 4.0;
	st = stats(&f);
	assert_true(st.emergence == e);
	assert_int_equal(st.balanced_events, 1);

	feed(&f, "A", "B", "z", "s3", "m1");
	x = ratio(3, 1) * ((f_of(3) + f_of(2) + f_of(3)) / 3.0);
	e += (x - e) / 4.0;
	st = stats(&f);
	assert_true(st.emergence == e);
	assert_true(st.emergence >= 0.0 && st.emergence <= 1.0);
	assert_true(pair0(&f).balance == 1.0 / 3.0);

	feed(&f, "A", "A", "z", "s3", "m1");
	st = stats(&f);
	assert_true(st.emergence == e);
	assert_int_equal(st.balanced_events, 1);
	assert_int_equal(st.last_emergence_ts, 4000);
	assert_int_equal(st.events_fed, 7);
	fix_stop(&f);
}

/*
 * The router passes a connection's label hashes (synth_label_hash, once
 * per connection); a rebuild computes them from the bytes. Both feeds
 * give the same state, bit for bit.
 */
static void
test_synth_label_hashes_given_or_computed_agree(void **state)
{
	static const char	*agents[] = { "planner", "critic",
				    "a-rather-long-agent-name-of-40-bytes.." };
	static const char	*sessions[] = { "", "s-1", "s-22222222" };
	struct synth_stats	 a, b;
	struct synth_event	 ev;
	struct fix		 f, g;
	uint64_t		 h[3];
	int			 i;

	(void)state;
	fix_start(&f, 8, 0.7);
	fix_start(&g, 8, 0.7);
	for (i = 0; i < 200; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.eid.ms = (uint64_t)i + 1;
		ev.ts_us = (int64_t)i * 1000;
		ev.from = bytes(i % 3 ? "left" : "right");
		ev.to = bytes(i % 3 ? "right" : "left");
		ev.kind = bytes("msg");
		ev.agent = bytes(agents[i % 3]);
		ev.session = bytes(sessions[(i / 3) % 3]);
		ev.model = bytes(i % 5 ? "m1" : "m2");
		assert_int_equal(synth_feed(f.s, &ev, NULL, NULL), 0);
		h[0] = synth_label_hash(ev.agent.ptr, ev.agent.len);
		h[1] = synth_label_hash(ev.session.ptr, ev.session.len);
		h[2] = synth_label_hash(ev.model.ptr, ev.model.len);
		ev.label_hash = h;
		assert_int_equal(synth_feed(g.s, &ev, NULL, NULL), 0);
	}
	a = stats(&f);
	b = stats(&g);
	assert_true(a.emergence > 0.0);
	assert_memory_equal(&a, &b, sizeof(a));
	fix_stop(&f);
	fix_stop(&g);
}

/* One agent, session and model throughout: div 0, so E stays 0. */
static void
test_synth_emergence_needs_diversity(void **state)
{
	struct fix	f;
	int		i;

	(void)state;
	fix_start(&f, 4, 0.7);
	for (i = 0; i < 12; i++)
		dir(&f, i % 2 ? 'B' : 'A');
	assert_int_equal(stats(&f).balanced_events, 3);
	assert_true(stats(&f).emergence == 0.0);
	fix_stop(&f);
}

/* Empty labels are values: "" and "x" are two agents. */
static void
test_synth_emergence_empty_label_is_a_value(void **state)
{
	struct fix	f;
	double		e, x;

	(void)state;
	fix_start(&f, 2, 0.7);
	feed(&f, "A", "B", "", "", "");
	feed(&f, "B", "A", "x", "", "");
	x = ratio(1, 1) * ((f_of(2) + f_of(1) + f_of(1)) / 3.0);
	e = 0.0 + (0.0 - 0.0) / 2.0;
	e += (x - e) / 2.0;
	assert_true(stats(&f).emergence == e);
	assert_true(e == 1.0 / 12.0);
	fix_stop(&f);
}

/*
 * A long dialogue at full diversity (W = 4: from the 4th message each
 * window is 2:2 with three agents, sessions and models, x = 1): E climbs
 * towards 1 by the design's update, to the last bit, and never passes it.
 */
static void
test_synth_emergence_stays_in_unit_interval(void **state)
{
	static const char	*lab[3] = { "p", "q", "r" };
	struct synth_stats	 st;
	struct fix		 f;
	double			 e = 0.0, x;
	int			 i;

	(void)state;
	fix_start(&f, 4, 0.0);
	for (i = 0; i < 2000; i++) {
		feed(&f, i % 2 ? "B" : "A", i % 2 ? "A" : "B", lab[i % 3],
		    lab[(i + 1) % 3], lab[(i + 2) % 3]);
		x = i < 3 ? 0.0 :
		    ratio(2, 2) * ((f_of(3) + f_of(3) + f_of(3)) / 3.0);
		e += (x - e) / 4.0;
		st = stats(&f);
		assert_true(st.emergence == e);
		assert_true(st.emergence >= 0.0 && st.emergence <= 1.0);
	}
	assert_true(e > 0.99);
	fix_stop(&f);
}

/*
 * A reference model, written plainly: per pair the last W events as
 * label indexes, distinct values counted by brute force, the rule and the
 * formula as the design states them. The synth, with its rings and hash
 * count tables, must agree with it on every figure, to the last bit, over
 * a random log (3 tracts, so 3 pairs; W = 7, so 1/W is inexact).
 */
#define REF_W		7
#define REF_EVENTS	5000

struct ref_pair {
	int		ev[REF_W][4];	/* dir, agent, session, model */
	int		n;		/* events in the window */
	int		head;		/* oldest */
	int		since;
	bool		balanced;
};

struct ref {
	struct ref_pair	pair[3];
	uint64_t	counted;
	double		e;
	int64_t		last_ts;
};

static int
ref_distinct(const struct ref_pair *p, int field)
{
	int	i, j, d = 0, seen;

	for (i = 0; i < p->n; i++) {
		seen = 0;
		for (j = 0; j < i; j++)
			if (p->ev[(p->head + j) % REF_W][field] ==
			    p->ev[(p->head + i) % REF_W][field])
				seen = 1;
		d += !seen;
	}
	return (d);
}

static void
ref_feed(struct ref *r, int pair, int d, const int lab[3], int64_t ts,
    double thr)
{
	struct ref_pair	*p = &r->pair[pair];
	uint32_t	 a = 0, b = 0;
	double		 bal, div, x = 0.0;
	int		 i, m = REF_W < 10 ? REF_W : 10;

	if (p->n == REF_W) {
		p->head = (p->head + 1) % REF_W;
		p->n--;
	}
	i = (p->head + p->n) % REF_W;
	p->ev[i][0] = d;
	memcpy(&p->ev[i][1], lab, 3 * sizeof(int));
	p->n++;
	p->since = p->since < REF_W ? p->since + 1 : REF_W;
	for (i = 0; i < p->n; i++) {
		a += p->ev[(p->head + i) % REF_W][0] == 0;
		b += p->ev[(p->head + i) % REF_W][0] == 1;
	}
	bal = ratio(a, b);
	if (p->n >= m && bal >= thr) {
		if (!p->balanced || p->since >= REF_W) {
			r->counted++;
			r->last_ts = ts;
			p->since = 0;
		}
		p->balanced = true;
	} else
		p->balanced = false;
	if (p->n >= m) {
		div = (f_of((uint32_t)ref_distinct(p, 1)) +
		    f_of((uint32_t)ref_distinct(p, 2)) +
		    f_of((uint32_t)ref_distinct(p, 3))) / 3.0;
		x = bal * div;
	}
	r->e += (x - r->e) / (double)REF_W;
}

static void
test_synth_emergence_matches_reference_model(void **state)
{
	static const char	*tr[3] = { "t0", "t1", "t2" };
	static const char	*names[4] = { "", "u", "v", "w" };
	static struct ref	 r;
	struct synth_stats	 st;
	struct fix		 f;
	uint64_t		 x = 0x2545F4914F6CDD1DULL;
	int			 i, from, to, lab[3], pair;

	(void)state;
	memset(&r, 0, sizeof(r));
	fix_start(&f, REF_W, 0.5);
	for (i = 0; i < REF_EVENTS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		from = (int)(x % 3);
		to = (from + 1 + (int)((x >> 4) % 2)) % 3;
		/* Lean one way for a while, then the other. */
		if ((x >> 8) % 3 == 0 && ((i / 300) % 2 == 0) != (from < to)) {
			pair = from;
			from = to;
			to = pair;
		}
		lab[0] = (int)((x >> 12) % 4);
		lab[1] = (int)((x >> 16) % (1 + (i / 1000) % 4));
		lab[2] = (int)((x >> 20) % 3);
		feed(&f, tr[from], tr[to], names[lab[0]], names[lab[1]],
		    names[lab[2]]);
		/* Pairs in byte order: {t0,t1} {t0,t2} {t1,t2}. */
		pair = from + to - 1;
		ref_feed(&r, pair, from > to, lab, (int64_t)f.n * 1000, 0.5);
		st = stats(&f);
		assert_memory_equal(&st.emergence, &r.e, sizeof(double));
		assert_int_equal(st.balanced_events, r.counted);
		assert_int_equal(st.last_emergence_ts, r.last_ts);
	}
	assert_true(r.counted > 50);
	assert_true(r.e > 0.05);
	fix_stop(&f);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_synth_balance_five_each_way_is_one),
		cmocka_unit_test(test_synth_balance_nine_to_one_is_one_ninth),
		cmocka_unit_test(test_synth_balance_old_imbalance_slides_out),
		cmocka_unit_test(test_synth_balance_window_of_one),
		cmocka_unit_test(
		    test_synth_balance_min_window_is_min_of_w_and_10),
		cmocka_unit_test(test_synth_balance_threshold_is_inclusive),
		cmocka_unit_test(
		    test_synth_balance_design_example_counts_reentry),
		cmocka_unit_test(
		    test_synth_balance_sustained_counts_once_per_window),
		cmocka_unit_test(test_synth_balance_reentry_counts_each_time),
		cmocka_unit_test(
		    test_synth_balance_pairs_are_unordered_in_byte_order),
		cmocka_unit_test(test_synth_balance_max_pairs_drops_new_pairs),
		cmocka_unit_test(test_synth_emergence_worked_example_w4),
		cmocka_unit_test(
		    test_synth_label_hashes_given_or_computed_agree),
		cmocka_unit_test(test_synth_emergence_needs_diversity),
		cmocka_unit_test(test_synth_emergence_empty_label_is_a_value),
		cmocka_unit_test(test_synth_emergence_stays_in_unit_interval),
		cmocka_unit_test(
		    test_synth_emergence_matches_reference_model),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
