/*
 * The synthesizer's inputs and outputs through the real router (issue 20):
 * what it reads must be in the log, so that a restart rebuilds it.
 */
#include <hiredis/hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"
#include "tests/support/hook_recv.h"
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

/* The stats' newest candidate is pattern, with its body's figures. */
static void
assert_recent(struct client *c, const char *pattern)
{
	const msgpack_object	*list;
	msgpack_object		 f;

	harness_stats(c, &f);
	list = harness_get(&f, "callosum_recent_candidates");
	assert_non_null(list);
	assert_int_equal(list->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(list->via.array.size, 1);
	harness_assert_str(&list->via.array.ptr[0], "pattern", pattern);
	assert_true(harness_has(&list->via.array.ptr[0], "eid"));
	assert_true(harness_has(&list->via.array.ptr[0], "occurrences"));
	assert_true(harness_has(&list->via.array.ptr[0], "sessions"));
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
	assert_recent(watch, "plan-then-act");
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
	/* The record, in its own stream too (SPEC: callosum:candidates). */
	redis_wait_xlen(rp, "callosum:candidates", 1, T);
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
	/* The rebuild wrote the record again: a no-op, still one. */
	assert_int_equal(redis_xlen(rp, "callosum:candidates"), 1);
	/* The log is one file for both runs: the first run's line only. */
	assert_int_equal(harness_file_count_lines(harness_log(h),
	    " info synth promoted "), 1);
}

/* A config with a webhook on the receiver's port. */
static const char *
hook_conf(char *buf, size_t size, struct hook_recv *r, const char *extra)
{
	snprintf(buf, size, "webhook = http://127.0.0.1:%u/hook\n"
	    "webhook_retries = 3\n%s", (unsigned)hook_recv_port(r),
	    extra != NULL ? extra : "");
	return (buf);
}

/* Three bframes of pattern from two sessions and two models: promoted. */
static void
promote_one(struct harness *h, const char *pattern)
{
	struct client	*a = agent(h, "a", "internal", "s1", "m1");
	struct client	*b = agent(h, "b", "internal", "s2", "m2");

	bframe(a, "external", pattern);
	bframe(a, "external", pattern);
	bframe(b, "external", pattern);
	harness_client_close(a);
	harness_client_close(b);
}

static void
assert_has(const char *body, const char *want)
{
	if (strstr(body, want) == NULL)
		HFAIL("the webhook body lacks %s: %s", want, body);
}

/* The reviewer's webhook gets one POST: JSON with SPEC's fields. */
HARNESS_TEST(test_webhook_gets_the_candidate_as_json)
{
	static const int	 ok[] = { 200 };
	struct hook_recv	*r = hook_recv_start(ok, 1);
	struct harness		*h;
	struct client		*watch;
	struct hook_req		 q;
	msgpack_object		 f;
	char			 conf[256];

	(void)state;
	h = harness_start(hook_conf(conf, sizeof conf, r, NULL), NULL);
	watch = harness_client(h, "reviewer");
	harness_sub(watch, 1, "$candidates", 100, NULL, 0);
	promote_one(h, "ask-then-do");
	assert_int_equal(hook_recv_wait(r, 1, T), 1);
	q = hook_recv_get(r, 0);
	assert_string_equal(q.method, "POST");
	assert_string_equal(q.path, "/hook");
	assert_string_equal(q.content_type, "application/json");
	assert_has(q.body, "\"pattern\":\"ask-then-do\"");
	assert_has(q.body, "\"occurrences\":3");
	assert_has(q.body, "\"sessions\":[\"s1\",\"s2\"]");
	assert_has(q.body, "\"models\":[\"m1\",\"m2\"]");
	assert_has(q.body, "\"first_eid\":\"");
	assert_has(q.body, "\"last_eid\":\"");
	assert_has(q.body, "\"eid\":\"");
	assert_has(q.body, "\"ts\":");
	assert_true(harness_json_valid(q.body, q.len));
	free(q.body);
	/* The candidate, then the record that the webhook took it. */
	expect_candidate(watch, "ask-then-do", 3);
	harness_expect(watch, "msg", T, &f);
	harness_assert_str(&f, "kind", "candidate_delivered");
	harness_assert_str(&f, "pattern", "ask-then-do");
	harness_wait_line(harness_log(h), " info synth webhook_delivered "
	    "pattern=ask-then-do attempts=1 http_code=200", T);
	assert_int_equal(hook_recv_count(r), 1);
	hook_recv_stop(r);
}

/* 500, 500, then 200: three POSTs, delivered on the third. */
HARNESS_TEST(test_webhook_500_twice_then_200_is_three_posts)
{
	static const int	 script[] = { 500, 500, 200 };
	struct hook_recv	*r = hook_recv_start(script, 3);
	struct harness		*h;
	char			 conf[256];

	(void)state;
	h = harness_start(hook_conf(conf, sizeof conf, r, NULL), NULL);
	promote_one(h, "retry-me");
	harness_wait_line(harness_log(h), " info synth webhook_delivered "
	    "pattern=retry-me attempts=3 http_code=200", 10000);
	assert_int_equal(hook_recv_count(r), 3);
	hook_recv_stop(r);
}

/*
 * A webhook that never answers holds nothing up: after the promotion,
 * 2000 pubs are all acked in the pass that read them (the publish latency
 * histogram's le="0" bucket holds them all) and a ping is answered.
 */
HARNESS_TEST(test_a_dead_webhook_does_not_delay_traffic)
{
	static const int	 never[] = { 0 };
	struct hook_recv	*r = hook_recv_start(never, 1);
	const msgpack_object	*hist, *buckets;
	struct harness		*h;
	struct client		*p, *q;
	msgpack_object		 f;
	uint64_t		 first = 0, id;
	char			 conf[256];
	int			 i;

	(void)state;
	h = harness_start(hook_conf(conf, sizeof conf, r, NULL), NULL);
	promote_one(h, "stuck-hook");
	assert_int_equal(hook_recv_wait(r, 1, T), 1);
	p = agent(h, "busy", "internal", "s", "m");
	for (i = 0; i < 2000; i++) {
		id = harness_request(p, "op:s to:s body:s", "pub", "internal",
		    "x");
		if (i == 0)
			first = id;
	}
	for (i = 0; i < 2000; i++)
		harness_expect_ack(p, first + (uint64_t)i, &f);
	q = harness_client(h, "watcher");
	harness_ping(q, T);
	harness_stats(q, &f);
	hist = harness_get(&f, "callosum_publish_latency_seconds");
	assert_non_null(hist);
	buckets = harness_get(hist, "buckets");
	assert_non_null(buckets);
	assert_true(harness_u64(buckets, "0") == harness_u64(hist, "count"));
	assert_true(harness_u64(hist, "count") >= 2000);
	hook_recv_stop(r);
}

/*
 * Stopped while a POST was unanswered, the router owes it: after the
 * restart (Redis keeps the log) it is POSTed again, with the same eid.
 */
HARNESS_TEST(test_an_unanswered_post_is_sent_again_after_a_restart)
{
	static const int	 never[] = { 0 }, ok[] = { 200 };
	struct hook_recv	*dead = hook_recv_start(never, 1), *live;
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	const char		*args[] = { "--redis", NULL, NULL };
	struct hook_req		 a, b;
	char			 conf[256], *eid_a, *eid_b;

	(void)state;
	args[1] = redis_proc_url(rp);
	harness_router_start(h, hook_conf(conf, sizeof conf, dead, NULL),
	    args);
	promote_one(h, "owed");
	assert_int_equal(hook_recv_wait(dead, 1, T), 1);
	assert_int_equal(harness_router_stop(h, SIGTERM, 10000), 0);

	live = hook_recv_start(ok, 1);
	harness_router_start(h, hook_conf(conf, sizeof conf, live, NULL),
	    args);
	assert_int_equal(hook_recv_wait(live, 1, T), 1);
	a = hook_recv_get(dead, 0);
	b = hook_recv_get(live, 0);
	eid_a = strstr(a.body, "\"eid\":\"");
	eid_b = strstr(b.body, "\"eid\":\"");
	assert_non_null(eid_a);
	assert_non_null(eid_b);
	assert_memory_equal(eid_a, eid_b, strcspn(eid_a, ",}"));
	harness_wait_line(harness_log(h), " info synth webhook_delivered "
	    "pattern=owed attempts=1", T);
	/* Delivered and recorded: one more restart owes nothing. */
	assert_int_equal(harness_router_stop(h, SIGTERM, 10000), 0);
	harness_router_start(h, hook_conf(conf, sizeof conf, live, NULL),
	    args);
	assert_int_equal(hook_recv_wait(live, 2, 500), 1);
	free(a.body);
	free(b.body);
	hook_recv_stop(dead);
	hook_recv_stop(live);
}

/* The figures a rebuild must reproduce, read on a fresh client. */
struct figures {
	double	bal;
	double	events;
	double	score;
	double	cands;
	double	fed;
};

static void
figures_read(struct harness *h, struct figures *fg)
{
	struct client	*q = harness_client(h, "watcher");

	fg->bal = stats_pair(q, "callosum_dialogue_balance", "external",
	    "internal");
	fg->events = stats_num(q, "callosum_balanced_dialogue_events_total");
	fg->score = stats_num(q, "callosum_emergence_score");
	fg->cands = stats_num(q, "callosum_bframe_candidates_total");
	fg->fed = stats_num(q, "callosum_synth_events_total");
	harness_client_close(q);
}

static void
figures_same(const struct figures *a, const struct figures *b)
{
	/* Bit for bit: a rebuild is the same doubles in the same order. */
	if (a->bal != b->bal || a->events != b->events ||
	    a->score != b->score || a->cands != b->cands ||
	    a->fed != b->fed)
		HFAIL("figures differ: balance %.17g/%.17g events %g/%g "
		    "emergence %.17g/%.17g candidates %g/%g fed %g/%g",
		    a->bal, b->bal, a->events, b->events, a->score, b->score,
		    a->cands, b->cands, a->fed, b->fed);
}

/* The number in the last "synth rebuilt events=N" line of the log. */
static long
last_rebuilt(struct harness *h)
{
	char	*text = harness_read_file(harness_log(h), NULL), *p, *last = NULL;
	long	 n = -1;

	assert_non_null(text);
	for (p = text; (p = strstr(p, " synth rebuilt events=")) != NULL; p++)
		last = p;
	if (last != NULL)
		n = strtol(last + strlen(" synth rebuilt events="), NULL, 10);
	free(text);
	return (n);
}

/*
 * With snapshots every 20 events, a restart loads the latest and reads
 * only what came after; the figures equal those before the restart, and
 * those of a full replay (the snapshot deleted).
 */
HARNESS_TEST(test_a_snapshot_rebuild_equals_a_full_replay)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	const char		*args[] = { "--redis", NULL, NULL };
	const char		*conf = SYNTH_CONF "synth_snapshot_events = 20\n";
	struct figures		 before, snap, full;
	struct client		*in, *ex, *b;
	struct redisReply	*rep;
	long			 n;

	(void)state;
	args[1] = redis_proc_url(rp);
	harness_router_start(h, conf, args);
	in = agent(h, "left", "internal", "s1", "m1");
	ex = agent(h, "right", "external", "s2", "m2");
	b = agent(h, "other", "external", "s3", "m3");
	say(in, "external", 15);
	say(ex, "internal", 12);
	bframe(in, "external", "p");
	bframe(b, "internal", "p");
	bframe(b, "internal", "p");
	say(b, "internal", 9);
	harness_client_close(in);
	harness_client_close(ex);
	harness_client_close(b);
	figures_read(h, &before);
	assert_true(before.cands == 1);
	assert_int_equal(harness_router_stop(h, SIGTERM, 10000), 0);
	rep = redis_command(rp, "EXISTS callosum:synth");
	assert_true(rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer == 1);
	redis_reply_free(rep);

	harness_router_start(h, conf, args);
	assert_int_equal(harness_file_count_lines(harness_log(h),
	    " info synth snapshot_loaded "), 1);
	n = last_rebuilt(h);
	if (n < 0 || n >= (long)before.fed)
		HFAIL("rebuilt %ld events of %g: the snapshot was not used", n,
		    before.fed);
	figures_read(h, &snap);
	figures_same(&before, &snap);
	assert_int_equal(harness_router_stop(h, SIGTERM, 10000), 0);

	rep = redis_command(rp, "DEL callosum:synth");
	redis_reply_free(rep);
	harness_router_start(h, conf, args);
	assert_int_equal(last_rebuilt(h), (long)before.fed);
	figures_read(h, &full);
	figures_same(&before, &full);
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
		HARNESS_UNIT_TEST(test_webhook_gets_the_candidate_as_json),
		HARNESS_UNIT_TEST(
		    test_webhook_500_twice_then_200_is_three_posts),
		HARNESS_UNIT_TEST(test_a_dead_webhook_does_not_delay_traffic),
		HARNESS_UNIT_TEST(
		    test_an_unanswered_post_is_sent_again_after_a_restart),
		HARNESS_UNIT_TEST(test_a_snapshot_rebuild_equals_a_full_replay),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
