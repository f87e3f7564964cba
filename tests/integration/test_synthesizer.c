/*
 * The synthesizer's inputs and outputs through the real router (issue 20):
 * what it reads must be in the log, so that a restart rebuilds it.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"
#include "tests/support/redis_proc.h"

#define T	HARNESS_TIMEOUT_MS
#define SYNTH_CONF	"synth_window = 10\nbalance_threshold = 0.7\n"

/* An agent whose hello names its home tract, session and model. */
static struct client *
agent(struct harness *h, const char *name, const char *tract,
    const char *session, const char *model)
{
	struct client_hello	hello = { name, session, model, tract };

	return (harness_client_hello(h, &hello));
}

/* n pubs from c's home into to, acked. */
static void
say(struct client *c, const char *to, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		harness_pub(c, NULL, to, "x", NULL);
}

/* A bframe of pattern from c. */
static void
bframe(struct client *c, const char *to, const char *pattern)
{
	msgpack_object	f;
	uint64_t	id;

	id = harness_request(c, "op:s to:s kind:s pattern:s body:s", "pub",
	    to, "bframe", pattern, "seen");
	harness_expect_ack(c, id, &f);
}

/* stats[name][a][b] as a double; NAN when absent. */
static double
stats_pair(struct client *c, const char *name, const char *a, const char *b)
{
	const msgpack_object	*m, *inner;
	msgpack_object		 f;
	double			 v = NAN;

	harness_stats(c, &f);
	if ((m = harness_get(&f, name)) == NULL ||
	    m->type != MSGPACK_OBJECT_MAP ||
	    (inner = harness_get(m, a)) == NULL ||
	    inner->type != MSGPACK_OBJECT_MAP ||
	    harness_get(inner, b) == NULL)
		return (v);
	return (harness_f64(inner, b));
}

static double
stats_num(struct client *c, const char *name)
{
	return (harness_stats_value(c, name));
}

/* Publishes kind/pattern into tract from home; returns the ack's stored. */
static void
pub_kind(struct client *c, const char *to, const char *kind,
    const char *pattern, char *stored, size_t len)
{
	msgpack_object	f;
	uint64_t	id;

	if (pattern != NULL)
		id = harness_request(c, "op:s to:s kind:s pattern:s body:s",
		    "pub", to, kind, pattern, "b");
	else
		id = harness_request(c, "op:s to:s kind:s body:s", "pub", to,
		    kind, "b");
	harness_expect_ack(c, id, &f);
	harness_str(&f, "stored", stored, len);
}

/*
 * A bframe with a pattern is logged even within one tract (ADR 0021);
 * without a pattern, or of another kind, a same-tract pub is not.
 */
HARNESS_TEST(test_a_same_tract_bframe_with_a_pattern_is_logged)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c = harness_client(h, "framer");
	char		 stored[16];

	(void)state;
	pub_kind(c, "framer-home", "bframe", "p-1", stored, sizeof stored);
	assert_string_equal(stored, "memory");
	pub_kind(c, "framer-home", "bframe", NULL, stored, sizeof stored);
	assert_string_equal(stored, "none");
	pub_kind(c, "framer-home", "note", "p-1", stored, sizeof stored);
	assert_string_equal(stored, "none");
	harness_client_close(c);
}

/*
 * internal and external talk: 9:1 and then 5:5 in a window of 10. The
 * balance figure follows, in byte order (external, internal), and one
 * balanced-dialogue event is counted when the window turns balanced.
 */
HARNESS_TEST(test_dialogue_moves_the_balance_figure)
{
	struct harness	*h = harness_start(SYNTH_CONF, NULL);
	struct client	*in = agent(h, "left", "internal", "s1", "m1");
	struct client	*ex = agent(h, "right", "external", "s2", "m2");
	struct client	*q = harness_client(h, "watcher");

	(void)state;
	say(in, "external", 9);
	say(ex, "internal", 1);
	harness_ping(q, T);
	assert_true(stats_pair(q, "callosum_dialogue_balance", "external",
	    "internal") == 1.0 / 9.0);
	assert_true(stats_num(q, "callosum_balanced_dialogue_events_total") ==
	    0);
	/* The window slides: 4 more each way leaves 5:5 in the last 10. */
	say(ex, "internal", 4);
	harness_ping(q, T);
	assert_true(stats_pair(q, "callosum_dialogue_balance", "external",
	    "internal") == 5.0 / 5.0);
	assert_true(stats_num(q, "callosum_balanced_dialogue_events_total") ==
	    1);
	assert_true(stats_num(q, "callosum_emergence_score") > 0.0);
	assert_true(stats_num(q, "callosum_last_emergence_ts") > 1.7e9);
}

/* Reads the next msg on sid 1 of c: a candidate for pattern. */
static void
expect_candidate(struct client *c, const char *pattern, uint64_t occ)
{
	msgpack_object		 f;
	const msgpack_object	*body;
	msgpack_unpacked	 u;

	harness_expect(c, "msg", T, &f);
	harness_assert_str(&f, "to", "$candidates");
	harness_assert_str(&f, "kind", "candidate");
	harness_assert_str(&f, "agent", "callosumd");
	harness_assert_str(&f, "pattern", pattern);
	body = harness_get(&f, "body");
	assert_non_null(body);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, body->via.bin.ptr,
	    body->via.bin.size, NULL), MSGPACK_UNPACK_SUCCESS);
	harness_assert_u64(&u.data, "occurrences", occ);
	assert_int_equal(harness_get(&u.data, "sessions")->via.array.size, 2);
	assert_int_equal(harness_get(&u.data, "models")->via.array.size, 2);
	assert_true(harness_has(&u.data, "first_eid"));
	assert_true(harness_has(&u.data, "last_eid"));
	msgpack_unpacked_destroy(&u);
}

/*
 * Three occurrences from one session never promote; a second session and
 * a second model do, once: one msg on $candidates, logged.
 */
HARNESS_TEST(test_promotion_publishes_on_candidates_once)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*a = agent(h, "a", "internal", "s1", "m1");
	struct client	*b = agent(h, "b", "internal", "s2", "m2");
	struct client	*watch = harness_client(h, "reviewer");

	(void)state;
	harness_sub(watch, 1, "$candidates", 100, NULL, 0);
	bframe(a, "external", "plan-then-act");
	bframe(a, "external", "plan-then-act");
	bframe(a, "external", "plan-then-act");
	harness_expect_nothing(watch, 200);
	bframe(b, "external", "plan-then-act");
	expect_candidate(watch, "plan-then-act", 4);
	bframe(b, "external", "plan-then-act");
	bframe(a, "external", "plan-then-act");
	harness_expect_nothing(watch, 300);
	assert_true(stats_num(watch, "callosum_bframe_candidates_total") == 1);
}

/*
 * With Redis, a restart rebuilds the synthesizer from the log: the same
 * figures, and no second promotion of what was promoted.
 */
HARNESS_TEST(test_restart_with_redis_rebuilds_the_same_figures)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	const char		*args[] = { "--redis", NULL, NULL };
	struct client		*in, *ex, *b, *q;
	double			 bal, events, score, cands;

	(void)state;
	args[1] = redis_proc_url(rp);
	harness_router_start(h, SYNTH_CONF, args);
	in = agent(h, "left", "internal", "s1", "m1");
	ex = agent(h, "right", "external", "s2", "m2");
	b = agent(h, "other", "external", "s3", "m3");
	say(in, "external", 7);
	say(ex, "internal", 6);
	bframe(in, "external", "p");
	bframe(b, "internal", "p");
	bframe(b, "internal", "p");
	q = harness_client(h, "watcher");
	harness_ping(q, T);
	bal = stats_pair(q, "callosum_dialogue_balance", "external",
	    "internal");
	events = stats_num(q, "callosum_balanced_dialogue_events_total");
	score = stats_num(q, "callosum_emergence_score");
	cands = stats_num(q, "callosum_bframe_candidates_total");
	assert_true(cands == 1);
	harness_client_close(in);
	harness_client_close(ex);
	harness_client_close(b);
	harness_client_close(q);
	assert_int_equal(harness_router_stop(h, SIGTERM, 10000), 0);

	/* The rebuild is done before the socket accepts anyone. */
	harness_router_start(h, SYNTH_CONF, args);
	assert_int_equal(harness_file_count_lines(harness_log(h),
	    " info synth rebuilt "), 2);
	q = harness_client(h, "watcher");
	harness_sub(q, 1, "$candidates", 100, NULL, 0);
	assert_true(stats_pair(q, "callosum_dialogue_balance", "external",
	    "internal") == bal);
	assert_true(stats_num(q, "callosum_balanced_dialogue_events_total") ==
	    events);
	assert_true(stats_num(q, "callosum_emergence_score") == score);
	assert_true(stats_num(q, "callosum_bframe_candidates_total") == cands);
	b = agent(h, "late", "external", "s9", "m9");
	bframe(b, "internal", "p");
	harness_expect_nothing(q, 300);
	/* The log is one file for both runs: the first run's line only. */
	assert_int_equal(harness_file_count_lines(harness_log(h),
	    " info synth promoted "), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_a_same_tract_bframe_with_a_pattern_is_logged),
		HARNESS_UNIT_TEST(test_dialogue_moves_the_balance_figure),
		HARNESS_UNIT_TEST(test_promotion_publishes_on_candidates_once),
		HARNESS_UNIT_TEST(
		    test_restart_with_redis_rebuilds_the_same_figures),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
