/*
 * The public C library (tools/callosum.h) against the real router: acks
 * and their fields, errors by code, demand, events kept while a call
 * waits, replay to its end, bye.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/harness.h"
#include "tools/callosum.h"

#define T	HARNESS_TIMEOUT_MS

static struct callosum *
api_connect(struct harness *h, const char *agent, const char *tract)
{
	struct callosum_opts	 o = { .socket = harness_sock(h),
				    .agent = agent, .session = "s",
				    .model = "m", .tract = tract };
	struct callosum_err	 err;
	struct callosum		*c;

	if ((c = callosum_connect(&o, &err)) == NULL)
		HFAIL("callosum_connect: %s: %s", err.code, err.msg);
	return (c);
}

static void
api_pub(struct callosum *c, const char *to, const char *body,
    struct callosum_ack *ack)
{
	struct callosum_pub	p = { .to = to, .body = body,
				    .len = strlen(body) };
	struct callosum_err	err;

	if (callosum_publish(c, &p, ack, &err) == -1)
		HFAIL("callosum_publish: %s: %s", err.code, err.msg);
}

static bool
str_is(struct callosum_str s, const char *want)
{
	return (s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0);
}

/* An ack with eid and stored; a reserved tract's err by its code. */
HARNESS_TEST(test_api_publish_acks_and_errors_by_code)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct callosum		*c = api_connect(h, "api", "internal");
	struct callosum_pub	 bad = { .to = "$sys", .body = "x", .len = 1 };
	struct callosum_ack	 ack;
	struct callosum_err	 err;

	(void)state;
	api_pub(c, "external", "cross", &ack);
	assert_string_equal(ack.stored, "memory");
	assert_true(strchr(ack.eid, '-') != NULL);
	api_pub(c, "internal", "same", &ack);
	assert_string_equal(ack.stored, "none");
	assert_int_equal(callosum_publish(c, &bad, NULL, &err), -1);
	assert_string_equal(err.code, "reserved_tract");
	/* The connection carries on after an err. */
	assert_int_equal(callosum_ping(c, NULL, &err), 0);
	callosum_close(c);
}

/*
 * Demand: credit 2 of 5 published, nothing more until a request; the
 * msgs that came while publish waited are handed out in order.
 */
HARNESS_TEST(test_api_demand_and_kept_events)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct callosum		*c = api_connect(h, "api", "internal");
	struct callosum_event	 ev;
	struct callosum_err	 err;
	char			 body[8];
	int			 i;

	(void)state;
	assert_int_equal(callosum_subscribe(c, 7, "internal", 2, NULL, &err),
	    0);
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof body, "m%d", i);
		api_pub(c, "internal", body, NULL);
	}
	for (i = 0; i < 2; i++) {
		snprintf(body, sizeof body, "m%d", i);
		assert_int_equal(callosum_next(c, T, &ev, &err), 1);
		assert_int_equal(ev.type, CALLOSUM_MSG);
		assert_int_equal(ev.sid, 7);
		assert_true(str_is(ev.body, body));
		assert_true(str_is(ev.agent, "api"));
	}
	assert_int_equal(callosum_next(c, 200, &ev, &err), 0);
	assert_int_equal(callosum_request(c, 7, 3, &err), 0);
	for (i = 2; i < 5; i++) {
		snprintf(body, sizeof body, "m%d", i);
		assert_int_equal(callosum_next(c, T, &ev, &err), 1);
		assert_true(str_is(ev.body, body));
	}
	callosum_close(c);
}

/* A replay of the log delivers its events, then END. */
HARNESS_TEST(test_api_replay_ends)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct callosum		*c = api_connect(h, "api", "internal");
	struct callosum_event	 ev;
	struct callosum_err	 err;

	(void)state;
	api_pub(c, "external", "one", NULL);
	api_pub(c, "external", "two", NULL);
	assert_int_equal(callosum_replay(c, 3, NULL, NULL, "external", 0, 16,
	    &err), 0);
	assert_int_equal(callosum_next(c, T, &ev, &err), 1);
	assert_true(str_is(ev.body, "one"));
	assert_int_equal(callosum_next(c, T, &ev, &err), 1);
	assert_true(str_is(ev.body, "two"));
	assert_int_equal(callosum_next(c, T, &ev, &err), 1);
	assert_int_equal(ev.type, CALLOSUM_END);
	assert_int_equal(ev.sid, 3);
	callosum_close(c);
}

/* SIGTERM: a BYE with its reason, then every call says "closed". */
HARNESS_TEST(test_api_bye_then_closed)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct callosum		*c = api_connect(h, "api", "internal");
	struct callosum_event	 ev;
	struct callosum_err	 err;

	(void)state;
	/* The router drains and exits 0; its bye waits in the socket. */
	assert_int_equal(harness_router_stop(h, SIGTERM, T), 0);
	assert_int_equal(callosum_next(c, T, &ev, &err), 1);
	assert_int_equal(ev.type, CALLOSUM_BYE);
	assert_true(str_is(ev.kind, "shutdown"));
	assert_int_equal(callosum_ping(c, NULL, &err), -1);
	assert_string_equal(err.code, "closed");
	callosum_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(test_api_publish_acks_and_errors_by_code),
		HARNESS_UNIT_TEST(test_api_demand_and_kept_events),
		HARNESS_UNIT_TEST(test_api_replay_ends),
		HARNESS_UNIT_TEST(test_api_bye_then_closed),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
