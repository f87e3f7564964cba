/*
 * Demand and backpressure, the normative rules 1-4 of the SPEC: credit and
 * req bound deliveries, per-publisher order, drop overflow with lag frames
 * and block overflow with publish_timeout.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS
#define Q	HARNESS_QUIET_MS

/* Publishes n bodies prefix-0 .. prefix-(n-1) from from to to, pipelined. */
static void
pub_many(struct client *p, const char *from, const char *to,
    const char *prefix, int n, char (*eids)[HARNESS_EID_MAX])
{
	msgpack_object	f;
	uint64_t	first = 0, id;
	char		body[64];
	int		i;

	for (i = 0; i < n; i++) {
		snprintf(body, sizeof body, "%s-%d", prefix, i);
		if (from != NULL)
			id = harness_request(p, "op:s from:s to:s body:s",
			    "pub", from, to, body);
		else
			id = harness_request(p, "op:s to:s body:s", "pub", to,
			    body);
		if (i == 0)
			first = id;
		else
			assert_int_equal(id, first + (uint64_t)i);
	}
	for (i = 0; i < n; i++) {
		harness_expect_ack(p, first + (uint64_t)i, &f);
		if (eids != NULL)
			harness_str(&f, "eid", eids[i], HARNESS_EID_MAX);
	}
}

/* Expects the msgs prefix-from .. prefix-(to-1) on sid, in order. */
static void
expect_bodies(struct client *s, uint64_t sid, const char *prefix, int from,
    int to)
{
	msgpack_object	f;
	char		body[64];
	int		i;

	for (i = from; i < to; i++) {
		snprintf(body, sizeof body, "%s-%d", prefix, i);
		harness_expect_msg(s, sid, body, T, &f);
	}
}

HARNESS_TEST(test_no_msg_is_sent_without_credit)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;

	(void)state;
	s = harness_client(h, "idle");
	harness_sub(s, 1, "internal", 0, NULL, 0);
	p = harness_client(h, "talker");
	pub_many(p, NULL, "internal", "m", 5, NULL);
	harness_expect_nothing(s, Q);
	harness_req(s, 1, 2);
	expect_bodies(s, 1, "m", 0, 2);
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_msgs_never_exceed_credit_plus_req)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;

	(void)state;
	s = harness_client(h, "bounded");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	p = harness_client(h, "talker");
	pub_many(p, NULL, "internal", "m", 100, NULL);
	expect_bodies(s, 1, "m", 0, 10);
	harness_expect_nothing(s, Q);
	harness_req(s, 1, 5);
	expect_bodies(s, 1, "m", 10, 15);
	harness_expect_nothing(s, Q);
	harness_req(s, 1, 1);
	harness_req(s, 1, 2);
	expect_bodies(s, 1, "m", 15, 18);
	harness_expect_nothing(s, Q);
	/* Unused demand carries over to later messages. */
	harness_req(s, 1, 1000);
	expect_bodies(s, 1, "m", 18, 100);
	pub_many(p, NULL, "internal", "n", 3, NULL);
	expect_bodies(s, 1, "n", 0, 3);
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_req_below_one_is_bad_request_and_sub_stays_usable)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	msgpack_object	 f;

	(void)state;
	s = harness_client(h, "zero");
	harness_sub(s, 1, "internal", 0, NULL, 0);
	harness_request_err(s, "bad_request", "op:s sid:u n:u", "req", 1u, 0u);
	harness_request_err(s, "bad_request", "op:s sid:u n:i", "req", 1u, -1);
	harness_request_err(s, "bad_request", "op:s sid:u n:I", "req", 1u,
	    INT64_MIN);
	harness_request_err(s, "bad_request", "op:s sid:u", "req", 1u);
	harness_send(s, "op:s sid:u n:u", "req", 1u, 0u);
	harness_expect_err(s, "bad_request", false, 0, &f);
	/* Nothing was granted by the refused reqs. */
	p = harness_client(h, "talker");
	pub_many(p, NULL, "internal", "m", 3, NULL);
	harness_expect_nothing(s, Q);
	harness_req(s, 1, 1);
	expect_bodies(s, 1, "m", 0, 1);
	harness_expect_nothing(s, Q);
	/* A req with an id is acked. */
	{
		uint64_t	id = harness_request(s, "op:s sid:u n:u", "req",
		    1u, 2u);
		int		acks = 0, msgs = 0;

		while (acks + msgs < 3) {
			if (client_recv(s, T, &f) != 1)
				HFAIL("want the ack and 2 msgs");
			if (strcmp(harness_op(&f), "ack") == 0) {
				harness_assert_u64(&f, "id", id);
				acks++;
			} else if (strcmp(harness_op(&f), "msg") == 0)
				msgs++;
			else
				HFAIL("unexpected %s", harness_dump(&f));
		}
		assert_int_equal(acks, 1);
		assert_int_equal(msgs, 2);
	}
}

HARNESS_TEST(test_req_on_unknown_sid_is_unknown_sid)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	msgpack_object	 f;

	(void)state;
	s = harness_client(h, "lost");
	harness_sub(s, 1, "internal", 0, NULL, 0);
	harness_request_err(s, "unknown_sid", "op:s sid:u n:u", "req", 2u, 5u);
	harness_send(s, "op:s sid:u n:u", "req", 2u, 5u);
	harness_expect_err(s, "unknown_sid", false, 0, &f);
	/* sid 1 and the connection are unaffected. */
	p = harness_client(h, "talker");
	pub_many(p, NULL, "internal", "m", 1, NULL);
	harness_req(s, 1, 1);
	expect_bodies(s, 1, "m", 0, 1);
}

HARNESS_TEST(test_demand_saturates_without_overflow)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	msgpack_object	 f;

	(void)state;
	s = harness_client(h, "greedy");
	harness_sub(s, 1, "internal", (uint64_t)INT64_MAX, NULL, 0);
	harness_req(s, 1, (uint64_t)INT64_MAX);
	harness_req(s, 1, UINT64_MAX);
	harness_send(s, "op:s sid:u n:I", "req", 1u, INT64_MAX);
	harness_sub(s, 2, "internal", UINT64_MAX, NULL, 0);
	harness_req(s, 2, UINT64_MAX);
	harness_ping(s, T);	/* no err came before the pong */
	p = harness_client(h, "talker");
	pub_many(p, NULL, "internal", "m", 4, NULL);
	/* Both sids deliver all four; wrapped demand would deliver none. */
	{
		int	got[3] = { 0, 0, 0 };
		int	i;

		for (i = 0; i < 8; i++) {
			harness_expect(s, "msg", T, &f);
			got[harness_u64(&f, "sid")]++;
		}
		assert_int_equal(got[1], 4);
		assert_int_equal(got[2], 4);
	}
	harness_expect_nothing(s, Q);
}

/* Three publishers interleaved: each one's order holds at the subscriber. */
HARNESS_TEST(test_each_publishers_order_is_kept)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p[3], *s;
	msgpack_object	 f;
	int		 next[3] = { 0, 0, 0 };
	char		 body[64];
	int		 i, k;
	const int	 n = 300;

	(void)state;
	s = harness_client(h, "ordered");
	harness_sub(s, 1, "mix", 1000000, NULL, 0);
	for (k = 0; k < 3; k++) {
		char	agent[16];

		snprintf(agent, sizeof agent, "p%d", k);
		p[k] = harness_client(h, agent);
	}
	for (i = 0; i < n; i++) {
		for (k = 0; k < 3; k++) {
			snprintf(body, sizeof body, "p%d-%d", k, i);
			harness_request(p[k], "op:s from:s to:s body:s", "pub",
			    k == 1 ? "internal" : "mix", "mix", body);
		}
		/* Read acks as we go so that no socket buffer fills up. */
		if (i % 50 == 49)
			for (k = 0; k < 3; k++) {
				int	j;

				for (j = i - 49; j <= i; j++)
					harness_expect(p[k], "ack", T, &f);
			}
	}
	for (i = 0; i < 3 * n; i++) {
		char	got[64];
		int	pk, seq;

		harness_expect(s, "msg", T, &f);
		harness_str(&f, "body", got, sizeof got);
		if (sscanf(got, "p%d-%d", &pk, &seq) != 2 || pk < 0 || pk > 2)
			HFAIL("unexpected body %s", got);
		if (seq != next[pk])
			HFAIL("publisher %d: got seq %d, want %d", pk, seq,
			    next[pk]);
		next[pk]++;
	}
	harness_expect_nothing(s, Q);
}

/*
 * drop overflow: max_pending 10, no credit, 25 publications; then demand:
 * one lag frame naming the 15 dropped eids, then the 10 newest. The
 * dropped ones can be replayed.
 */
HARNESS_TEST(test_drop_overflow_sends_one_lag_then_the_newest)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	msgpack_object	 f;
	char		 eids[25][HARNESS_EID_MAX];
	char		 buf[HARNESS_EID_MAX];
	uint64_t	 id;
	int		 i;

	(void)state;
	s = harness_client(h, "slow");
	harness_sub(s, 1, "dropT", 0, "drop", 10);
	p = harness_client(h, "fast");
	/* Cross-tract, so that they are logged and can be replayed. */
	pub_many(p, "internal", "dropT", "d", 25, eids);
	harness_expect_nothing(s, Q);
	harness_req(s, 1, 100);
	harness_expect(s, "lag", T, &f);
	harness_assert_u64(&f, "sid", 1);
	harness_assert_u64(&f, "dropped", 15);
	assert_string_equal(harness_str(&f, "first", buf, sizeof buf),
	    eids[0]);
	assert_string_equal(harness_str(&f, "last", buf, sizeof buf),
	    eids[14]);
	for (i = 15; i < 25; i++) {
		char	body[16];

		snprintf(body, sizeof body, "d-%d", i);
		harness_expect_msg(s, 1, body, T, &f);
		assert_string_equal(harness_str(&f, "eid", buf, sizeof buf),
		    eids[i]);
	}
	harness_expect_nothing(s, Q);

	/* Replay the lagged range: exactly the dropped ones, then end. */
	id = harness_request(s, "op:s sid:u from:s to:s tract:s credit:u",
	    "replay", 2u, eids[0], eids[14], "dropT", 100u);
	harness_expect_ack(s, id, &f);
	for (i = 0; i < 15; i++) {
		char	body[16];

		snprintf(body, sizeof body, "d-%d", i);
		harness_expect_msg(s, 2, body, T, &f);
		assert_string_equal(harness_str(&f, "eid", buf, sizeof buf),
		    eids[i]);
	}
	harness_expect(s, "end", T, &f);
	harness_assert_u64(&f, "sid", 2);

	/* Live delivery on sid 1 goes on; a later run gets its own lag. */
	pub_many(p, "internal", "dropT", "e", 3, NULL);
	expect_bodies(s, 1, "e", 0, 3);
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_drop_overflow_lags_each_dropped_run)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	msgpack_object	 f;
	char		 eids[8][HARNESS_EID_MAX], buf[HARNESS_EID_MAX];

	(void)state;
	s = harness_client(h, "slow");
	harness_sub(s, 1, "dropT", 0, "drop", 2);
	p = harness_client(h, "fast");
	pub_many(p, NULL, "dropT", "a", 4, eids);	/* a-0, a-1 dropped */
	harness_req(s, 1, 1);
	harness_expect(s, "lag", T, &f);
	harness_assert_u64(&f, "dropped", 2);
	assert_string_equal(harness_str(&f, "first", buf, sizeof buf),
	    eids[0]);
	assert_string_equal(harness_str(&f, "last", buf, sizeof buf),
	    eids[1]);
	expect_bodies(s, 1, "a", 2, 3);
	harness_expect_nothing(s, Q);
	/* Pending: a-3. Three more: a-3 and b-0 dropped, b-1, b-2 kept. */
	pub_many(p, NULL, "dropT", "b", 3, eids + 4);
	harness_req(s, 1, 10);
	harness_expect(s, "lag", T, &f);
	harness_assert_u64(&f, "dropped", 2);
	assert_string_equal(harness_str(&f, "first", buf, sizeof buf),
	    eids[3]);
	assert_string_equal(harness_str(&f, "last", buf, sizeof buf),
	    eids[4]);
	expect_bodies(s, 1, "b", 1, 3);
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_max_pending_defaults_to_the_configured_value)
{
	struct harness	*h = harness_start("max_pending = 3\n", NULL);
	struct client	*p, *s;
	msgpack_object	 f;
	char		 eids[5][HARNESS_EID_MAX], buf[HARNESS_EID_MAX];

	(void)state;
	s = harness_client(h, "slow");
	harness_sub(s, 1, "dropT", 0, "drop", 0);
	p = harness_client(h, "fast");
	pub_many(p, NULL, "dropT", "c", 5, eids);
	harness_req(s, 1, 10);
	harness_expect(s, "lag", T, &f);
	harness_assert_u64(&f, "sid", 1);
	harness_assert_u64(&f, "dropped", 2);
	assert_string_equal(harness_str(&f, "first", buf, sizeof buf),
	    eids[0]);
	assert_string_equal(harness_str(&f, "last", buf, sizeof buf),
	    eids[1]);
	expect_bodies(s, 1, "c", 2, 5);
	harness_expect_nothing(s, Q);
}

/*
 * block overflow: a full pending queue pauses publishers into that tract;
 * a pub waiting longer than publish_timeout gets err backpressure. Other
 * tracts are served meanwhile, and demand lets publishing resume.
 */
HARNESS_TEST(test_block_overflow_rejects_after_publish_timeout)
{
	struct harness	*h = harness_start("publish_timeout_ms = 500\n",
	    NULL);
	struct client	*p, *s, *q, *r;
	msgpack_object	 f;
	uint64_t	 id;
	int64_t		 t0, waited;

	(void)state;
	s = harness_client(h, "stuck");
	harness_sub(s, 1, "blk", 0, "block", 2);
	r = harness_client(h, "other-sub");
	harness_sub(r, 1, "free", 100, NULL, 0);
	p = harness_client(h, "blocked");
	q = harness_client(h, "other-pub");
	pub_many(p, NULL, "blk", "k", 2, NULL);	/* fills pending */

	t0 = harness_now_ms();
	id = harness_request(p, "op:s to:s body:s", "pub", "blk", "k-2");
	/* Meanwhile, another tract is served promptly. */
	harness_pub(q, NULL, "free", "meanwhile", NULL);
	harness_expect_msg(r, 1, "meanwhile", T, &f);
	harness_ping(q, T);
	harness_ping(s, T);
	waited = harness_now_ms() - t0;
	assert_true(waited < 400);
	/* No reply for the paused pub before the timeout. */
	harness_expect_nothing(p, (int)(420 - waited));
	harness_expect_err(p, "backpressure", true, id, &f);
	waited = harness_now_ms() - t0;
	if (waited < 450 || waited > 3000)
		HFAIL("backpressure after %lld ms, want about 500",
		    (long long)waited);

	/* Demand drains the queue; the rejected message never arrives. */
	harness_req(s, 1, 10);
	expect_bodies(s, 1, "k", 0, 2);
	harness_expect_nothing(s, Q);
	harness_pub(p, NULL, "blk", "k-3", NULL);
	harness_expect_msg(s, 1, "k-3", T, &f);
}

HARNESS_TEST(test_block_overflow_resumes_when_demand_arrives_in_time)
{
	struct harness	*h = harness_start("publish_timeout_ms = 2000\n",
	    NULL);
	struct client	*p, *s;
	msgpack_object	 f;
	uint64_t	 id;

	(void)state;
	s = harness_client(h, "slowish");
	harness_sub(s, 1, "blk", 0, "block", 1);
	p = harness_client(h, "patient");
	pub_many(p, NULL, "blk", "k", 1, NULL);
	id = harness_request(p, "op:s to:s body:s", "pub", "blk", "k-1");
	harness_expect_nothing(p, Q);	/* paused, not rejected */
	harness_req(s, 1, 5);
	harness_expect_ack(p, id, &f);	/* long before the 2 s timeout */
	expect_bodies(s, 1, "k", 0, 2);
	harness_expect_nothing(s, Q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(test_no_msg_is_sent_without_credit),
		HARNESS_UNIT_TEST(test_msgs_never_exceed_credit_plus_req),
		HARNESS_UNIT_TEST(
		    test_req_below_one_is_bad_request_and_sub_stays_usable),
		HARNESS_UNIT_TEST(test_req_on_unknown_sid_is_unknown_sid),
		HARNESS_UNIT_TEST(test_demand_saturates_without_overflow),
		HARNESS_UNIT_TEST(test_each_publishers_order_is_kept),
		HARNESS_UNIT_TEST(
		    test_drop_overflow_sends_one_lag_then_the_newest),
		HARNESS_UNIT_TEST(test_drop_overflow_lags_each_dropped_run),
		HARNESS_UNIT_TEST(
		    test_max_pending_defaults_to_the_configured_value),
		HARNESS_UNIT_TEST(
		    test_block_overflow_rejects_after_publish_timeout),
		HARNESS_UNIT_TEST(
		    test_block_overflow_resumes_when_demand_arrives_in_time),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
