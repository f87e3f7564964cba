/*
 * pub, sub, unsub: acks, event ids, the msg frame's fields, tract names,
 * headers and field checks (SPEC: the op tables, "Headers", "Event ids").
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS
#define Q	HARNESS_QUIET_MS

/* An eid is MS-SEQ with MS the router's wall clock in milliseconds. */
static void
assert_eid_now(const char *eid)
{
	uint64_t	ms, seq;
	int64_t		now_ms = harness_wall_us() / 1000;

	if (!harness_eid_parse(eid, &ms, &seq))
		HFAIL("eid \"%s\" is not MS-SEQ", eid);
	if ((int64_t)ms < now_ms - 60000 || (int64_t)ms > now_ms + 60000)
		HFAIL("eid \"%s\": MS is not the time in ms (now %lld)", eid,
		    (long long)now_ms);
}

HARNESS_TEST(test_same_tract_pub_is_acked_with_eid_and_stored_none)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*c;
	struct harness_ack	 ack;

	(void)state;
	c = harness_client(h, "local");
	harness_pub(c, NULL, "internal", "hi", &ack);
	assert_eid_now(ack.eid);
	assert_string_equal(ack.stored, "none");
	harness_pub(c, "internal", "internal", "hi again", &ack);
	assert_eid_now(ack.eid);
	assert_string_equal(ack.stored, "none");
}

HARNESS_TEST(test_cross_tract_pub_is_stored_memory)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*c;
	struct harness_ack	 ack;

	(void)state;
	c = harness_client(h, "bridge");
	harness_pub(c, "external", "internal", "across", &ack);
	assert_eid_now(ack.eid);
	assert_string_equal(ack.stored, "memory");
}

HARNESS_TEST(test_from_defaults_to_hello_tract)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*p, *s;
	struct client_hello	 hello = { .agent = "homed", .tract =
	    "internal" };
	struct harness_ack	 ack;
	msgpack_object		 f;

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 3, "external", 10, NULL, 0);
	p = harness_client_hello(h, &hello);
	harness_pub(p, NULL, "external", "from home", &ack);
	assert_string_equal(ack.stored, "memory");
	harness_expect_msg(s, 3, "from home", T, &f);
	harness_assert_str(&f, "from", "internal");
	harness_assert_str(&f, "to", "external");
	/* An explicit from wins over the home tract. */
	harness_pub(p, "external", "external", "explicit", &ack);
	assert_string_equal(ack.stored, "none");
	harness_expect_msg(s, 3, "explicit", T, &f);
	harness_assert_str(&f, "from", "external");
}

HARNESS_TEST(test_from_defaults_to_to_without_hello_tract)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*p, *s;
	struct harness_ack	 ack;
	msgpack_object		 f;

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 4, "external", 10, NULL, 0);
	p = harness_client(h, "homeless");
	harness_pub(p, NULL, "external", "no home", &ack);
	assert_string_equal(ack.stored, "none");
	harness_expect_msg(s, 4, "no home", T, &f);
	harness_assert_str(&f, "from", "external");
	harness_assert_str(&f, "to", "external");
}

/* The hdr map of f holds exactly the pairs in kv (any order). */
static void
assert_hdr(const msgpack_object *f, const char *const *kv)
{
	const msgpack_object	*hdr = harness_get(f, "hdr");
	size_t			 n, i;
	uint32_t		 k;

	for (n = 0; kv[n] != NULL; n += 2)
		;
	if (hdr == NULL || hdr->type != MSGPACK_OBJECT_MAP)
		HFAIL("hdr absent or not a map: %s", harness_dump(f));
	if (hdr->via.map.size != n / 2)
		HFAIL("hdr has %u entries, want %zu: %s", hdr->via.map.size,
		    n / 2, harness_dump(f));
	for (i = 0; i < n; i += 2) {
		bool	found = false;

		for (k = 0; k < hdr->via.map.size; k++) {
			const msgpack_object_kv	*e = &hdr->via.map.ptr[k];

			if (e->key.type == MSGPACK_OBJECT_STR &&
			    e->key.via.str.size == strlen(kv[i]) &&
			    memcmp(e->key.via.str.ptr, kv[i],
			    strlen(kv[i])) == 0) {
				harness_assert_bytes(&e->val, kv[i + 1],
				    strlen(kv[i + 1]));
				assert_int_equal(e->val.type,
				    MSGPACK_OBJECT_STR);
				found = true;
			}
		}
		if (!found)
			HFAIL("hdr lacks %s: %s", kv[i], harness_dump(f));
	}
}

HARNESS_TEST(test_msg_carries_every_field_as_published)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*p, *s;
	struct client_hello	 hello = { .agent = "alice", .session = "s-1",
	    .model = "m-1", .tract = "internal" };
	static const char	 bin[] = { 'a', 0, (char)0xff, 'z',
	    (char)0x80 };
	const char *const	 hdr[] = { "corr", "42", "traceparent",
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	    "reply.to", "external", NULL };
	msgpack_object		 f;
	char			 eid[HARNESS_EID_MAX], got[HARNESS_EID_MAX];
	int64_t			 before, after, ts;
	uint64_t		 id = harness_id();

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 7, "external", 10, NULL, 0);
	p = harness_client_hello(h, &hello);

	before = harness_wall_us();
	harness_send(p, "op:s to:s kind:s pri:d body:b pattern:s hdr:M id:U",
	    "pub", "external", "bframe", 0.25, bin, sizeof bin, "p1", hdr, id);
	harness_expect_ack(p, id, &f);
	harness_str(&f, "eid", eid, sizeof eid);
	harness_assert_str(&f, "stored", "memory");
	harness_expect(s, "msg", T, &f);
	after = harness_wall_us();
	harness_assert_u64(&f, "sid", 7);
	assert_string_equal(harness_str(&f, "eid", got, sizeof got), eid);
	harness_assert_str(&f, "from", "internal");
	harness_assert_str(&f, "to", "external");
	harness_assert_str(&f, "kind", "bframe");
	assert_true(harness_f64(&f, "pri") == 0.25);
	harness_assert_str(&f, "agent", "alice");
	harness_assert_str(&f, "session", "s-1");
	harness_assert_str(&f, "model", "m-1");
	ts = harness_i64(&f, "ts");
	/* Unix microseconds of the router's clock (same host). */
	if (ts < before - 100000 || ts > after + 100000)
		HFAIL("ts %lld is not between %lld and %lld (us)",
		    (long long)ts, (long long)before, (long long)after);
	assert_int_equal(harness_get(&f, "body")->type, MSGPACK_OBJECT_BIN);
	harness_assert_bytes(harness_get(&f, "body"), bin, sizeof bin);
	harness_assert_str(&f, "pattern", "p1");
	assert_hdr(&f, hdr);
}

HARNESS_TEST(test_msg_defaults_kind_msg_pri_half_and_keeps_str_body)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*p, *s;
	struct harness_ack	 ack;
	msgpack_object		 f;

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 8, "internal", 10, NULL, 0);
	p = harness_client(h, "plain");
	harness_pub(p, NULL, "internal", "text body", &ack);
	harness_expect_msg(s, 8, "text body", T, &f);
	harness_assert_str(&f, "kind", "msg");
	assert_true(harness_f64(&f, "pri") == 0.5);
	harness_assert_str(&f, "agent", "plain");
	assert_int_equal(harness_get(&f, "body")->type, MSGPACK_OBJECT_STR);
	assert_false(harness_has(&f, "pattern"));
	assert_false(harness_has(&f, "hdr"));
	harness_i64(&f, "ts");
}

HARNESS_TEST(test_pri_bounds_zero_and_one_are_accepted)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	msgpack_object	 f;
	uint64_t	 id;

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	p = harness_client(h, "edgy");
	id = harness_id();
	harness_send(p, "op:s to:s body:s pri:d id:U", "pub", "internal",
	    "zero", 0.0, id);
	harness_expect_ack(p, id, &f);
	id = harness_id();
	harness_send(p, "op:s to:s body:s pri:d id:U", "pub", "internal",
	    "one", 1.0, id);
	harness_expect_ack(p, id, &f);
	harness_expect_msg(s, 1, "zero", T, &f);
	assert_true(harness_f64(&f, "pri") == 0.0);
	harness_expect_msg(s, 1, "one", T, &f);
	assert_true(harness_f64(&f, "pri") == 1.0);
}

HARNESS_TEST(test_eids_strictly_increase_across_publishers)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*a, *b;
	struct harness_ack	 ack;
	char			 prev[HARNESS_EID_MAX] = "";
	msgpack_object		 f;
	uint64_t		 first_id;
	int			 i;

	(void)state;
	a = harness_client(h, "a");
	b = harness_client(h, "b");
	for (i = 0; i < 60; i++) {
		harness_pub(i % 2 ? a : b, i % 3 ? "internal" : "external",
		    i % 4 ? "internal" : "pipe", "x", &ack);
		if (prev[0] != '\0' && harness_eid_cmp(prev, ack.eid) >= 0)
			HFAIL("eid %s after %s", ack.eid, prev);
		snprintf(prev, sizeof prev, "%s", ack.eid);
	}
	/* Pipelined: acks in order, eids still increasing. */
	first_id = harness_id();
	for (i = 1; i < 100; i++)
		harness_id();
	for (i = 0; i < 100; i++)
		harness_send(a, "op:s from:s to:s body:s id:U", "pub",
		    i % 2 ? "internal" : "external", "internal", "y",
		    first_id + (uint64_t)i);
	for (i = 0; i < 100; i++) {
		char	eid[HARNESS_EID_MAX];

		harness_expect_ack(a, first_id + (uint64_t)i, &f);
		harness_str(&f, "eid", eid, sizeof eid);
		if (harness_eid_cmp(prev, eid) >= 0)
			HFAIL("eid %s after %s", eid, prev);
		snprintf(prev, sizeof prev, "%s", eid);
	}
}

HARNESS_TEST(test_pub_to_reserved_tract_is_reserved_tract)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;

	(void)state;
	c = harness_client(h, "intruder");
	harness_request_err(c, "reserved_tract",
	    "op:s to:s body:s", "pub", "$sys", "x");
	harness_request_err(c, "reserved_tract",
	    "op:s to:s body:s", "pub", "$candidates", "x");
	harness_request_err(c, "reserved_tract",
	    "op:s to:s body:s", "pub", "$other", "x");
	harness_ping(c, T);
}

HARNESS_TEST(test_bad_tract_name_is_bad_tract)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*c;
	struct harness_ack	 ack;
	char			 long65[66], long64[65];

	(void)state;
	memset(long65, 'a', 65);
	long65[65] = '\0';
	memset(long64, 'b', 64);
	long64[64] = '\0';
	c = harness_client(h, "sloppy");
	harness_request_err(c, "bad_tract",
	    "op:s to:s body:s", "pub", "a b", "x");
	harness_request_err(c, "bad_tract",
	    "op:s to:s body:s", "pub", "x/y", "x");
	harness_request_err(c, "bad_tract",
	    "op:s to:s body:s", "pub", "", "x");
	harness_request_err(c, "bad_tract",
	    "op:s to:s body:s", "pub", long65, "x");
	harness_request_err(c, "bad_tract",
	    "op:s to:s body:s", "pub", "caf\xc3\xa9", "x");
	harness_request_err(c, "bad_tract",
	    "op:s from:s to:s body:s", "pub", "a b", "internal", "x");
	harness_request_err(c, "bad_tract",
	    "op:s sid:u tract:s", "sub", 1u, "a b");
	harness_request_err(c, "bad_tract",
	    "op:s sid:u tract:s", "replay", 2u, "a*");
	/* Every allowed character, at the maximum length. */
	harness_pub(c, NULL, long64, "x", &ack);
	harness_pub(c, NULL, "Az09_.-", "x", &ack);
	harness_sub(c, 3, "Az09_.-", 0, NULL, 0);
}

HARNESS_TEST(test_sys_tract_can_be_subscribed)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;

	(void)state;
	c = harness_client(h, "operator");
	harness_sub(c, 1, "$sys", 10, NULL, 0);
	harness_sub(c, 2, "$candidates", 10, NULL, 0);
	harness_ping(c, T);
}

HARNESS_TEST(test_hdr_of_32_entries_and_1024_byte_values_is_delivered)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	char		 keys[32][8], big[1025];
	const char	*kv[2 * 32 + 1];
	const char	*kv2[] = { "k", big, NULL };
	char		 key64[65];
	const char	*kv3[] = { key64, "v", NULL };
	msgpack_object	 f;
	uint64_t	 id;
	int		 i;

	(void)state;
	for (i = 0; i < 32; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		kv[2 * i] = keys[i];
		kv[2 * i + 1] = keys[i];
	}
	kv[64] = NULL;
	memset(big, 'v', 1024);
	big[1024] = '\0';
	memset(key64, 'K', 64);
	key64[64] = '\0';
	s = harness_client(h, "listener");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	p = harness_client(h, "headed");
	id = harness_id();
	harness_send(p, "op:s to:s body:s hdr:M id:U", "pub", "internal",
	    "h32", kv, id);
	harness_expect_ack(p, id, &f);
	id = harness_id();
	harness_send(p, "op:s to:s body:s hdr:M id:U", "pub", "internal",
	    "h1024", kv2, id);
	harness_expect_ack(p, id, &f);
	id = harness_id();
	harness_send(p, "op:s to:s body:s hdr:M id:U", "pub", "internal",
	    "k64", kv3, id);
	harness_expect_ack(p, id, &f);
	harness_expect_msg(s, 1, "h32", T, &f);
	assert_hdr(&f, kv);
	harness_expect_msg(s, 1, "h1024", T, &f);
	assert_hdr(&f, kv2);
	harness_expect_msg(s, 1, "k64", T, &f);
	assert_hdr(&f, kv3);
}

HARNESS_TEST(test_hdr_beyond_limits_is_bad_request)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*p, *s;
	char			 keys[33][8], big[1026], key65[66];
	const char		*kv33[2 * 33 + 1];
	const char		*bigv[] = { "k", big, NULL };
	const char		*badk[] = { "bad key", "v", NULL };
	const char		*longk[] = { key65, "v", NULL };
	const char		*emptyk[] = { "", "v", NULL };
	/* {"k": 5} and {"k": bin "v"} as raw msgpack. */
	static const char	 intv[] = { (char)0x81, (char)0xa1, 'k', 5 };
	static const char	 binv[] = { (char)0x81, (char)0xa1, 'k',
	    (char)0xc4, 1, 'v' };
	int			 i;

	(void)state;
	for (i = 0; i < 33; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		kv33[2 * i] = keys[i];
		kv33[2 * i + 1] = "v";
	}
	kv33[66] = NULL;
	memset(big, 'v', 1025);
	big[1025] = '\0';
	memset(key65, 'K', 65);
	key65[65] = '\0';
	s = harness_client(h, "listener");
	harness_sub(s, 1, "internal", 100, NULL, 0);
	p = harness_client(h, "overheaded");
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:M", "pub", "internal", "x", kv33);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:M", "pub", "internal", "x", bigv);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:M", "pub", "internal", "x", badk);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:M", "pub", "internal", "x", longk);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:M", "pub", "internal", "x", emptyk);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:r", "pub", "internal", "x", intv,
	    sizeof intv);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:r", "pub", "internal", "x", binv,
	    sizeof binv);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s hdr:s", "pub", "internal", "x", "k=v");
	/* None of them was published. */
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_pri_out_of_range_is_bad_request)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 1, "internal", 100, NULL, 0);
	p = harness_client(h, "extreme");
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s pri:d", "pub", "internal", "x", 1.5);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s pri:d", "pub", "internal", "x", -0.1);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s pri:d", "pub", "internal", "x", 1.0000001);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s pri:d", "pub", "internal", "x", (double)NAN);
	harness_request_err(p, "bad_request",
	    "op:s to:s body:s pri:s", "pub", "internal", "x", "0.5");
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_unknown_overflow_is_bad_request)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c, *p;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "odd");
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s credit:u overflow:s", "sub", 1u, "internal",
	    10u, "spill");
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s credit:u overflow:u", "sub", 1u, "internal",
	    10u, 1u);
	/* The refused sub does not exist: sid 1 is free and gets nothing. */
	p = harness_client(h, "talker");
	harness_pub(p, NULL, "internal", "after", NULL);
	harness_expect_nothing(c, Q);
	harness_sub(c, 1, "internal", 10, "drop", 0);
	harness_pub(p, NULL, "internal", "later", NULL);
	harness_expect_msg(c, 1, "later", T, &f);
}

HARNESS_TEST(test_fields_of_wrong_type_are_bad_request)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*c;
	const char *const	 ints[] = { NULL };
	static const char	 int_array[] = { (char)0x91, 1 };

	(void)state;
	c = harness_client(h, "typist");
	harness_request_err(c, "bad_request",
	    "op:s to:i body:s", "pub", 5, "x");
	harness_request_err(c, "bad_request",
	    "op:s body:s", "pub", "x");
	harness_request_err(c, "bad_request",
	    "op:s from:i to:s body:s", "pub", 5, "internal", "x");
	harness_request_err(c, "bad_request",
	    "op:s to:s kind:i body:s", "pub", "internal", 5, "x");
	harness_request_err(c, "bad_request",
	    "op:s to:s", "pub", "internal");
	harness_request_err(c, "bad_request",
	    "op:s to:s body:A", "pub", "internal", ints);
	harness_request_err(c, "bad_request",
	    "op:s to:s body:n", "pub", "internal");
	harness_request_err(c, "bad_request",
	    "op:s to:s kind:s pattern:i body:s", "pub", "internal", "bframe",
	    3, "x");
	harness_request_err(c, "bad_request",
	    "op:s sid:s tract:s", "sub", "1", "internal");
	harness_request_err(c, "bad_request",
	    "op:s tract:s", "sub", "internal");
	harness_request_err(c, "bad_request",
	    "op:s sid:u", "sub", 1u);
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:i", "sub", 1u, 4);
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s credit:i", "sub", 1u, "internal", -1);
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s credit:s", "sub", 1u, "internal", "5");
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s max_pending:s", "sub", 1u, "internal", "5");
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s kinds:r", "sub", 1u, "internal", int_array,
	    sizeof int_array);
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s kinds:s", "sub", 1u, "internal", "msg");
	harness_request_err(c, "bad_request",
	    "op:s sid:u tract:s from_eid:u", "sub", 1u, "internal", 5u);
	harness_request_err(c, "bad_request",
	    "op:s sid:u n:s", "req", 1u, "1");
	harness_request_err(c, "bad_request",
	    "op:s", "unsub");
	harness_ping(c, T);
}

HARNESS_TEST(test_id_of_wrong_type_is_bad_request_without_id)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "typist");
	harness_send(c, "op:s id:s", "ping", "7");
	harness_expect_err(c, "bad_request", false, 0, &f);
	harness_send(c, "op:s id:i", "ping", -7);
	harness_expect_err(c, "bad_request", false, 0, &f);
	harness_ping(c, T);
}

HARNESS_TEST(test_kinds_filter_delivers_only_listed_kinds)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*p, *s;
	const char *const	 kinds[] = { "alert", "note", NULL };
	const char *const	 seq[][2] = { { "msg", "m1" },
	    { "alert", "a1" }, { "note", "n1" }, { "msg", "m2" },
	    { "other", "o1" }, { "alert", "a2" } };
	msgpack_object		 f;
	uint64_t		 id = harness_id();
	size_t			 i;

	(void)state;
	s = harness_client(h, "picky");
	harness_send(s, "op:s sid:u tract:s credit:u kinds:A id:U", "sub",
	    5u, "internal", 100u, kinds, id);
	harness_expect_ack(s, id, &f);
	p = harness_client(h, "talker");
	for (i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		id = harness_id();
		harness_send(p, "op:s to:s kind:s body:s id:U", "pub",
		    "internal", seq[i][0], seq[i][1], id);
		harness_expect_ack(p, id, &f);
	}
	harness_expect_msg(s, 5, "a1", T, &f);
	harness_assert_str(&f, "kind", "alert");
	harness_expect_msg(s, 5, "n1", T, &f);
	harness_assert_str(&f, "kind", "note");
	harness_expect_msg(s, 5, "a2", T, &f);
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_every_subscriber_of_a_tract_gets_the_msg_once)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s1, *s2;
	msgpack_object	 f;

	(void)state;
	s1 = harness_client(h, "one");
	s2 = harness_client(h, "two");
	harness_sub(s1, 1, "internal", 10, NULL, 0);
	harness_sub(s1, 2, "internal", 10, NULL, 0);
	harness_sub(s2, 1, "internal", 10, NULL, 0);
	harness_sub(s2, 9, "external", 10, NULL, 0);
	p = harness_client(h, "talker");
	harness_pub(p, "external", "internal", "fan", NULL);
	harness_expect(s1, "msg", T, &f);
	harness_assert_bytes(harness_get(&f, "body"), "fan", 3);
	{
		uint64_t	first = harness_u64(&f, "sid");

		harness_expect(s1, "msg", T, &f);
		harness_assert_bytes(harness_get(&f, "body"), "fan", 3);
		assert_int_equal(first + harness_u64(&f, "sid"), 3);
	}
	harness_expect_msg(s2, 1, "fan", T, &f);
	/* A message into internal is not delivered on external. */
	harness_expect_nothing(s2, Q);
	harness_expect_nothing(s1, 0);
}

HARNESS_TEST(test_no_msg_after_unsub_ack)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s;
	msgpack_object	 f;
	uint64_t	 id;
	int		 i;

	(void)state;
	s = harness_client(h, "fickle");
	harness_sub(s, 1, "internal", 1000, NULL, 0);
	p = harness_client(h, "talker");
	harness_pub(p, NULL, "internal", "before", NULL);
	harness_expect_msg(s, 1, "before", T, &f);
	/* Messages in flight while unsubscribing may come before the ack. */
	for (i = 0; i < 20; i++)
		harness_send(p, "op:s to:s body:s", "pub", "internal", "race");
	id = harness_id();
	harness_send(s, "op:s sid:u id:U", "unsub", 1u, id);
	for (;;) {
		if (client_recv(s, T, &f) != 1)
			HFAIL("no ack for unsub");
		if (strcmp(harness_op(&f), "ack") == 0)
			break;
		if (strcmp(harness_op(&f), "msg") != 0)
			HFAIL("want msg or ack, got %s", harness_dump(&f));
	}
	harness_assert_u64(&f, "id", id);
	harness_ping(p, T);
	harness_pub(p, NULL, "internal", "after", NULL);
	harness_expect_nothing(s, Q);
	/* The sid is unknown now. */
	harness_send(s, "op:s sid:u n:u", "req", 1u, 1u);
	harness_expect_err(s, "unknown_sid", false, 0, &f);
}

HARNESS_TEST(test_sub_with_a_sid_in_use_is_duplicate_sid)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*p, *s, *other;
	msgpack_object	 f;

	(void)state;
	s = harness_client(h, "twice");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	harness_request_err(s, "duplicate_sid",
	    "op:s sid:u tract:s credit:u", "sub", 1u, "external", 10u);
	harness_request_err(s, "duplicate_sid",
	    "op:s sid:u", "replay", 1u);
	/* sids are per connection. */
	other = harness_client(h, "other");
	harness_sub(other, 1, "internal", 10, NULL, 0);
	/* The first sub is intact; the refused one did not subscribe. */
	p = harness_client(h, "talker");
	harness_pub(p, NULL, "internal", "still", NULL);
	harness_pub(p, NULL, "external", "not here", NULL);
	harness_expect_msg(s, 1, "still", T, &f);
	harness_expect_msg(other, 1, "still", T, &f);
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_req_and_unsub_of_unknown_sid_is_unknown_sid)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "lost");
	harness_request_err(c, "unknown_sid",
	    "op:s sid:u", "unsub", 42u);
	harness_request_err(c, "unknown_sid",
	    "op:s sid:u n:u", "req", 42u, 3u);
	harness_send(c, "op:s sid:u n:u", "req", 42u, 3u);
	harness_expect_err(c, "unknown_sid", false, 0, &f);
	harness_ping(c, T);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_same_tract_pub_is_acked_with_eid_and_stored_none),
		HARNESS_UNIT_TEST(test_cross_tract_pub_is_stored_memory),
		HARNESS_UNIT_TEST(test_from_defaults_to_hello_tract),
		HARNESS_UNIT_TEST(test_from_defaults_to_to_without_hello_tract),
		HARNESS_UNIT_TEST(test_msg_carries_every_field_as_published),
		HARNESS_UNIT_TEST(
		    test_msg_defaults_kind_msg_pri_half_and_keeps_str_body),
		HARNESS_UNIT_TEST(test_pri_bounds_zero_and_one_are_accepted),
		HARNESS_UNIT_TEST(
		    test_eids_strictly_increase_across_publishers),
		HARNESS_UNIT_TEST(test_pub_to_reserved_tract_is_reserved_tract),
		HARNESS_UNIT_TEST(test_bad_tract_name_is_bad_tract),
		HARNESS_UNIT_TEST(test_sys_tract_can_be_subscribed),
		HARNESS_UNIT_TEST(
		    test_hdr_of_32_entries_and_1024_byte_values_is_delivered),
		HARNESS_UNIT_TEST(test_hdr_beyond_limits_is_bad_request),
		HARNESS_UNIT_TEST(test_pri_out_of_range_is_bad_request),
		HARNESS_UNIT_TEST(test_unknown_overflow_is_bad_request),
		HARNESS_UNIT_TEST(test_fields_of_wrong_type_are_bad_request),
		HARNESS_UNIT_TEST(
		    test_id_of_wrong_type_is_bad_request_without_id),
		HARNESS_UNIT_TEST(test_kinds_filter_delivers_only_listed_kinds),
		HARNESS_UNIT_TEST(
		    test_every_subscriber_of_a_tract_gets_the_msg_once),
		HARNESS_UNIT_TEST(test_no_msg_after_unsub_ack),
		HARNESS_UNIT_TEST(test_sub_with_a_sid_in_use_is_duplicate_sid),
		HARNESS_UNIT_TEST(
		    test_req_and_unsub_of_unknown_sid_is_unknown_sid),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
