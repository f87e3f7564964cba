/*
 * test_backlog: a reader that keeps up is never closed for a backlog it
 * asked for, and work budgets leave room for other clients (ADR 0006).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define BIG	(100 * 1000)	/* body bytes */
#define NBIG	300		/* 30 MB: well past the 8 MiB output_limit */

static char	big_body[BIG];

/* Publishes n big pubs (pipelined, ids), from from into to; waits for acks. */
static void
publish_big(struct client *p, const char *from, const char *to, int n)
{
	msgpack_object	f;
	uint64_t	first = 0, id;
	int		i;

	for (i = 0; i < n; i++) {
		id = harness_id();
		if (i == 0)
			first = id;
		harness_send(p, "op:s from:s to:s body:b id:U", "pub", from, to,
		    big_body, (size_t)BIG, id);
	}
	for (i = 0; i < n; i++)
		harness_expect_ack(p, first + (uint64_t)i, &f);
}

/* Reads n msg frames on sid, then nothing else is expected but end. */
static void
read_msgs(struct client *c, int n)
{
	msgpack_object	f;
	int		i;

	for (i = 0; i < n; i++)
		harness_expect(c, "msg", 10000, &f);
}

HARNESS_TEST(test_reader_of_a_30mb_pending_backlog_gets_all_of_it)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*s, *p;

	(void)state;
	s = harness_client(h, "reader");
	harness_sub(s, 1, "backlog", 0, "drop", 0);
	p = harness_client(h, "writer");
	/* 300 pending in a drop sub (max_pending 1024): nothing dropped. */
	publish_big(p, "backlog", "backlog", NBIG);
	harness_req(s, 1, NBIG);
	read_msgs(s, NBIG);
	harness_ping(s, 5000);
}

HARNESS_TEST(test_replay_of_a_30mb_log_completes)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*r, *p;
	msgpack_object	 f;

	(void)state;
	p = harness_client(h, "writer");
	publish_big(p, "internal", "external", NBIG);
	r = harness_client(h, "replayer");
	harness_send(r, "op:s sid:U credit:U", "replay", (uint64_t)1,
	    (uint64_t)1000000);
	read_msgs(r, NBIG);
	harness_expect(r, "end", 10000, &f);
}

/*
 * Sparse replays (a filter nothing matches, over many events) are
 * budgeted: another client's ping is still answered within a second.
 */
HARNESS_TEST(test_ping_is_answered_during_many_sparse_replays)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *r, *o;
	msgpack_object	 f;
	char		 body[16];
	uint64_t	 i, first = 0, id;

	(void)state;
	p = harness_client(h, "writer");
	for (i = 0; i < 200000; i++) {
		id = harness_id();
		if (i == 0)
			first = id;
		snprintf(body, sizeof body, "%llu", (unsigned long long)i);
		harness_send(p, "op:s from:s to:s body:s id:U", "pub",
		    "internal", "external", body, id);
		if (i % 1000 == 999) {	/* keep acks from piling up */
			for (; first <= id; first++)
				harness_expect_ack(p, first, &f);
		}
	}
	for (; first <= id; first++)
		harness_expect_ack(p, first, &f);
	r = harness_client(h, "sparse");
	for (i = 1; i <= 256; i++)
		harness_send(r, "op:s sid:U tract:s credit:U", "replay", i,
		    "nomatch", (uint64_t)1);
	o = harness_client(h, "observer");
	harness_ping(o, 1000);
	for (i = 1; i <= 256; i++)
		harness_expect(r, "end", 30000, &f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_reader_of_a_30mb_pending_backlog_gets_all_of_it),
		HARNESS_UNIT_TEST(test_replay_of_a_30mb_log_completes),
		HARNESS_UNIT_TEST(
		    test_ping_is_answered_during_many_sparse_replays),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
