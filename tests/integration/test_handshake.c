/*
 * Handshake and request/reply rules of protocol v1 (SPEC: "Requests and
 * replies", the hello, ping and stats ops).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS

static bool
array_has_str(const msgpack_object *a, const char *s)
{
	uint32_t	i;

	for (i = 0; i < a->via.array.size; i++) {
		const msgpack_object	*o = &a->via.array.ptr[i];

		if (o->type == MSGPACK_OBJECT_STR &&
		    o->via.str.size == strlen(s) &&
		    memcmp(o->via.str.ptr, s, o->via.str.size) == 0)
			return (true);
	}
	return (false);
}

HARNESS_TEST(test_welcome_announces_v1_server_conn_max_frame_and_tracts)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*c1, *c2;
	msgpack_object		 f;
	const msgpack_object	*tracts;
	uint64_t		 conn1, conn2;
	uint32_t		 i;

	(void)state;
	c1 = harness_connect(h);
	harness_send(c1, "op:s v:u agent:s", "hello", 1u, "tester");
	harness_expect(c1, "welcome", T, &f);
	harness_assert_u64(&f, "v", 1);
	harness_assert_str(&f, "server", "callosum/" CALLOSUM_VERSION);
	conn1 = harness_u64(&f, "conn");
	harness_assert_u64(&f, "max_frame", 1048576);
	tracts = harness_get(&f, "tracts");
	assert_non_null(tracts);
	assert_int_equal(tracts->type, MSGPACK_OBJECT_ARRAY);
	for (i = 0; i < tracts->via.array.size; i++)
		assert_int_equal(tracts->via.array.ptr[i].type,
		    MSGPACK_OBJECT_STR);
	assert_true(array_has_str(tracts, "internal"));
	assert_true(array_has_str(tracts, "external"));

	c2 = harness_connect(h);
	harness_send(c2, "op:s v:u agent:s", "hello", 1u, "tester2");
	harness_expect(c2, "welcome", T, &f);
	conn2 = harness_u64(&f, "conn");
	assert_int_not_equal(conn1, conn2);
}

HARNESS_TEST(test_welcome_lists_tracts_declared_with_flag)
{
	const char *const	 args[] = { "--tracts", "alpha,beta", NULL };
	struct harness		*h = harness_start(NULL, args);
	struct client		*c;
	msgpack_object		 f;
	const msgpack_object	*tracts;

	(void)state;
	c = harness_connect(h);
	harness_send(c, "op:s v:u agent:s", "hello", 1u, "tester");
	harness_expect(c, "welcome", T, &f);
	tracts = harness_get(&f, "tracts");
	assert_non_null(tracts);
	assert_int_equal(tracts->type, MSGPACK_OBJECT_ARRAY);
	assert_true(array_has_str(tracts, "alpha"));
	assert_true(array_has_str(tracts, "beta"));
}

HARNESS_TEST(test_ping_before_hello_is_hello_required)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;

	(void)state;
	c = harness_connect(h);
	harness_send(c, "op:s id:u", "ping", 5u);
	harness_expect_err(c, "hello_required", true, 5, &f);
}

HARNESS_TEST(test_pub_before_hello_is_hello_required)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c, *s;
	msgpack_object	 f;

	(void)state;
	s = harness_client(h, "watcher");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	c = harness_connect(h);
	harness_send(c, "op:s to:s body:s id:u", "pub", "internal", "early",
	    6u);
	harness_expect_err(c, "hello_required", true, 6, &f);
	/* Nothing was published. */
	harness_expect_nothing(s, HARNESS_QUIET_MS);
}

HARNESS_TEST(test_ping_is_answered_by_pong_with_the_same_id)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "pinger");
	harness_send(c, "op:s id:U", "ping", (uint64_t)0);
	harness_expect(c, "pong", T, &f);
	harness_assert_u64(&f, "id", 0);
	harness_send(c, "op:s id:U", "ping", (uint64_t)424242);
	harness_expect(c, "pong", T, &f);
	harness_assert_u64(&f, "id", 424242);
	harness_send(c, "op:s id:U", "ping", UINT64_MAX);
	harness_expect(c, "pong", T, &f);
	harness_assert_u64(&f, "id", UINT64_MAX);
}

HARNESS_TEST(test_request_without_id_succeeds_silently)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c, *p;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "quiet");
	harness_send(c, "op:s sid:u tract:s credit:u", "sub", 1u, "internal",
	    5u);
	harness_send(c, "op:s sid:u n:u", "req", 1u, 1u);
	harness_send(c, "op:s id:u", "ping", 77u);
	harness_expect(c, "pong", T, &f);
	harness_assert_u64(&f, "id", 77);

	/* The silent sub took effect. */
	p = harness_client(h, "talker");
	harness_send(p, "op:s to:s body:s", "pub", "internal", "silent pub");
	harness_expect_msg(c, 1, "silent pub", T, &f);
	harness_ping(p, T);	/* and the silent pub left no reply behind */

	harness_send(c, "op:s sid:u", "unsub", 1u);
	harness_send(c, "op:s id:u", "ping", 78u);
	harness_expect(c, "pong", T, &f);
	harness_assert_u64(&f, "id", 78);
}

HARNESS_TEST(test_failure_without_id_is_err_without_id)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "careless");
	harness_send(c, "op:s sid:u n:u", "req", 99u, 1u);
	harness_expect_err(c, "unknown_sid", false, 0, &f);
	harness_ping(c, T);
}

HARNESS_TEST(test_unknown_op_is_unknown_op_with_id)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "future");
	harness_send(c, "op:s id:u", "frobnicate", 9u);
	harness_expect_err(c, "unknown_op", true, 9, &f);
	harness_send(c, "op:s", "frobnicate");
	harness_expect_err(c, "unknown_op", false, 0, &f);
	harness_ping(c, T);
}

HARNESS_TEST(test_unknown_keys_are_ignored)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*c;
	msgpack_object		 f;
	const char *const	 extra[] = { "x", "y", NULL };

	(void)state;
	c = harness_connect(h);
	harness_send(c, "op:s v:u agent:s future:M zz:n num:i",
	    "hello", 1u, "forward", extra, -3);
	harness_expect(c, "welcome", T, &f);
	harness_send(c, "op:s id:u later:A flag:t", "ping", 11u, extra);
	harness_expect(c, "pong", T, &f);
	harness_assert_u64(&f, "id", 11);
	harness_send(c, "op:s to:s body:s id:u color:s", "pub", "internal",
	    "b", 12u, "blue");
	harness_expect_ack(c, 12, &f);
	harness_send(c, "op:s sid:u tract:s id:u shape:d", "sub", 1u,
	    "internal", 13u, 2.5);
	harness_expect_ack(c, 13, &f);
}

/* Sends one hello on a fresh connection and expects err bad_request. */
static void
hello_is_bad_request(struct harness *h, const char *what, const char *fmt,
    ...)
{
	struct client	*c = harness_connect(h);
	msgpack_packer	*pk;
	msgpack_object	 f;
	va_list		 ap;

	pk = client_begin(c);
	va_start(ap, fmt);
	harness_vpack(pk, fmt, ap);
	va_end(ap);
	assert_int_equal(client_send(c), 0);
	if (client_recv(c, T, &f) != 1)
		HFAIL("hello with %s: no reply", what);
	if (strcmp(harness_op(&f), "err") != 0)
		HFAIL("hello with %s: want err bad_request, got %s", what,
		    harness_dump(&f));
	harness_assert_str(&f, "code", "bad_request");
	harness_client_close(c);
}

HARNESS_TEST(test_hello_with_wrong_types_is_bad_request)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char *const	 arr[] = { "m", NULL };

	(void)state;
	hello_is_bad_request(h, "agent int", "op:s v:u agent:i", "hello", 1u,
	    7);
	hello_is_bad_request(h, "agent missing", "op:s v:u", "hello", 1u);
	hello_is_bad_request(h, "v str", "op:s v:s agent:s", "hello", "1",
	    "a");
	hello_is_bad_request(h, "session int", "op:s v:u agent:s session:i",
	    "hello", 1u, "a", 3);
	hello_is_bad_request(h, "model array", "op:s v:u agent:s model:A",
	    "hello", 1u, "a", arr);
	hello_is_bad_request(h, "tract bin", "op:s v:u agent:s tract:b",
	    "hello", 1u, "a", "internal", (size_t)8);
	hello_is_bad_request(h, "agent nil", "op:s v:u agent:n", "hello", 1u);
	/* The router still serves. */
	harness_ping(harness_client(h, "after"), T);
}

HARNESS_TEST(test_stats_answers_a_map_of_callosum_figures)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;
	double		 conns;

	(void)state;
	c = harness_client(h, "observer");
	harness_stats(c, &f);
	assert_int_equal(f.type, MSGPACK_OBJECT_MAP);
	if (!harness_stats_find(&f, "callosum_connections", &conns))
		HFAIL("stats reply has no callosum_connections: %s",
		    harness_dump(&f));
	assert_true(conns >= 1);
}

/* Pipelines 50 mixed requests, then checks the replies' order. */
HARNESS_TEST(test_replies_come_in_request_order)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;
	uint64_t	 i;
	static const char *const want[6] = {
		"pong", "ack", "ack", "stats", "err", "err"
	};

	(void)state;
	c = harness_client(h, "pipeliner");
	for (i = 1; i <= 50; i++) {
		switch (i % 6) {
		case 0:
			harness_send(c, "op:s id:U", "ping", i);
			break;
		case 1:
			harness_send(c, "op:s sid:U tract:s id:U", "sub", i,
			    "pipe.sub", i);
			break;
		case 2:
			harness_send(c, "op:s to:s body:s id:U", "pub",
			    "pipe.pub", "x", i);
			break;
		case 3:
			harness_send(c, "op:s id:U", "stats", i);
			break;
		case 4:
			harness_send(c, "op:s id:U", "nonesuch", i);
			break;
		case 5:
			harness_send(c, "op:s sid:U n:u id:U", "req",
			    (uint64_t)100000 + i, 1u, i);
			break;
		}
	}
	for (i = 1; i <= 50; i++) {
		harness_expect(c, want[i % 6], T, &f);
		harness_assert_u64(&f, "id", i);
		if (i % 6 == 2)
			assert_true(harness_has(&f, "eid"));
		if (i % 6 == 4)
			harness_assert_str(&f, "code", "unknown_op");
		if (i % 6 == 5)
			harness_assert_str(&f, "code", "unknown_sid");
	}
	harness_expect_nothing(c, HARNESS_QUIET_MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_welcome_announces_v1_server_conn_max_frame_and_tracts),
		HARNESS_UNIT_TEST(test_welcome_lists_tracts_declared_with_flag),
		HARNESS_UNIT_TEST(test_ping_before_hello_is_hello_required),
		HARNESS_UNIT_TEST(test_pub_before_hello_is_hello_required),
		HARNESS_UNIT_TEST(
		    test_ping_is_answered_by_pong_with_the_same_id),
		HARNESS_UNIT_TEST(test_request_without_id_succeeds_silently),
		HARNESS_UNIT_TEST(test_failure_without_id_is_err_without_id),
		HARNESS_UNIT_TEST(test_unknown_op_is_unknown_op_with_id),
		HARNESS_UNIT_TEST(test_unknown_keys_are_ignored),
		HARNESS_UNIT_TEST(test_hello_with_wrong_types_is_bad_request),
		HARNESS_UNIT_TEST(test_stats_answers_a_map_of_callosum_figures),
		HARNESS_UNIT_TEST(test_replies_come_in_request_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
