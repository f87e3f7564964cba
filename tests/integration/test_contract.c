/*
 * The SPEC changes of issue 16: frame_timeout_ms, max_pending_limit,
 * pending_bytes_limit, memlog_max_bytes, the conns op, the options that
 * are not built yet, and UTF-8 in every str a client sends.
 */
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS
#define Q	HARNESS_QUIET_MS

static const char *
callosumd(void)
{
	return (harness_bin("CALLOSUMD"));
}

/* A per-tract figure ({tract: n}) of a stats reply; fails when absent. */
static uint64_t
stats_tract_value(struct client *c, const char *name, const char *tract)
{
	msgpack_object		 f;
	const msgpack_object	*m;

	harness_stats(c, &f);
	if ((m = harness_get(&f, name)) == NULL ||
	    m->type != MSGPACK_OBJECT_MAP)
		HFAIL("no map %s in stats: %s", name, harness_dump(&f));
	return (harness_u64(m, tract));
}

/* A str body of len bytes: "%03d" of i, then filler; caller frees. */
static char *
sized_body(size_t len, int i)
{
	char	*b = malloc(len + 1), head[8];

	if (b == NULL)
		HFAIL("malloc");
	memset(b, 'p', len);
	snprintf(head, sizeof head, "%03d", i);
	memcpy(b, head, 3);
	b[len] = '\0';
	return (b);
}

/*
 * frame_timeout_ms: a frame begun must be completed in time, else
 * bad_frame and a close; a connection between frames may idle.
 */

static void
expect_partial_frame_timeout(const unsigned char *bytes, size_t len)
{
	struct harness	*h = harness_start("frame_timeout_ms = 300\n",
	    NULL);
	struct client	*c, *other;
	msgpack_object	 f;
	int64_t		 t0, waited;

	c = harness_client(h, "dawdler");
	other = harness_client(h, "bystander");
	t0 = harness_now_ms();
	assert_int_equal(client_send_raw(c, bytes, len), 0);
	harness_expect(c, "err", 2000, &f);
	waited = harness_now_ms() - t0;
	harness_assert_str(&f, "code", "bad_frame");
	if (harness_has(&f, "id"))
		HFAIL("bad_frame carries an id: %s", harness_dump(&f));
	if (waited < 250)
		HFAIL("bad_frame after %lld ms, before frame_timeout_ms 300",
		    (long long)waited);
	harness_expect_closed(c, T, NULL);
	harness_ping(other, T);
	assert_true(harness_stats_value(other, "callosum_bad_frames_total") == 1);
}

HARNESS_TEST(test_partial_frame_is_bad_frame_after_frame_timeout)
{
	/* The header announces 100 bytes; 10 come. */
	static const unsigned char	partial[] = { 0, 0, 0, 100,
	    0x82, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g', 0xa2 };

	(void)state;
	expect_partial_frame_timeout(partial, sizeof partial);
}

HARNESS_TEST(test_partial_frame_header_is_bad_frame_after_frame_timeout)
{
	static const unsigned char	partial[] = { 0, 0 };

	(void)state;
	expect_partial_frame_timeout(partial, sizeof partial);
}

HARNESS_TEST(test_idle_connection_outlives_frame_timeout)
{
	struct harness	*h = harness_start("frame_timeout_ms = 300\n",
	    NULL);
	struct client	*c;

	(void)state;
	c = harness_client(h, "idler");
	harness_ping(c, T);
	harness_expect_nothing(c, 1000);
	harness_ping(c, T);
}

/*
 * max_pending_limit: a sub's max_pending may exceed the default
 * max_pending, up to max_pending_limit.
 */

HARNESS_TEST(test_sub_max_pending_above_config_max_pending_is_acked)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c, *p;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "roomy");
	harness_sub(c, 1, "internal", 1, "block", 5000);
	p = harness_client(h, "feeder");
	harness_pub(p, NULL, "internal", "fits", NULL);
	harness_expect_msg(c, 1, "fits", T, &f);
}

HARNESS_TEST(test_sub_max_pending_above_max_pending_limit_is_limit)
{
	struct harness	*h = harness_start("max_pending_limit = 2000\n",
	    NULL);
	struct client	*c, *p;
	msgpack_object	 f;

	(void)state;
	c = harness_client(h, "greedy");
	harness_request_err(c, "limit", "op:s sid:u tract:s max_pending:u",
	    "sub", 1u, "internal", 5000u);
	harness_request_err(c, "limit", "op:s sid:u tract:s max_pending:u",
	    "sub", 1u, "internal", 2001u);
	/* The refused sid is free; the limit itself is allowed. */
	harness_sub(c, 1, "internal", 1, "block", 2000);
	p = harness_client(h, "feeder");
	harness_pub(p, NULL, "internal", "at-limit", NULL);
	harness_expect_msg(c, 1, "at-limit", T, &f);
	harness_expect_nothing(c, Q);
}

HARNESS_TEST(test_max_pending_above_max_pending_limit_exits_64)
{
	struct harness		*h = harness_new();
	struct harness_proc	*p;
	const char		*argv[] = { callosumd(), "--socket",
	    harness_sock(h), "--config", harness_write_file(h, "bad.conf",
	    "max_pending = 10\nmax_pending_limit = 5\n"), NULL };
	int			 code;

	(void)state;
	code = harness_run(h, argv, NULL, 10000, &p);
	if (code != 64)
		HFAIL("want exit 64, got %d\nstderr: %s", code,
		    harness_proc_stderr(p));
	if (strstr(harness_proc_stderr(p), "max_pending") == NULL)
		HFAIL("the reason does not name max_pending: %s",
		    harness_proc_stderr(p));
}

/*
 * pending_bytes_limit: a drop sub's queue is full once its bodies reach
 * the limit. 3000-byte bodies, limit 10000: the queue holds 3000, 6000,
 * 9000, then 12000 (9000 was not full); from then on each new message
 * drops the oldest (12000 -> 9000, not full) and is queued. Of 10
 * messages, 1..6 are dropped in one run, 7..10 are kept.
 */
HARNESS_TEST(test_drop_sub_over_pending_bytes_limit_drops_oldest)
{
	struct harness		*h = harness_start(
	    "pending_bytes_limit = 10000\n", NULL);
	struct client		*s, *p;
	struct harness_ack	 ack[10];
	msgpack_object		 f;
	char			*body;
	int			 i;

	(void)state;
	s = harness_client(h, "sipper");
	harness_sub(s, 1, "bulk", 0, "drop", 1000);
	p = harness_client(h, "bulker");
	for (i = 0; i < 10; i++) {
		body = sized_body(3000, i);
		harness_pub(p, NULL, "bulk", body, &ack[i]);
		free(body);
	}
	harness_expect_nothing(s, Q);
	harness_req(s, 1, 100);
	harness_expect(s, "lag", T, &f);
	harness_assert_u64(&f, "sid", 1);
	harness_assert_u64(&f, "dropped", 6);
	harness_assert_str(&f, "first", ack[0].eid);
	harness_assert_str(&f, "last", ack[5].eid);
	for (i = 6; i < 10; i++) {
		body = sized_body(3000, i);
		harness_expect_msg(s, 1, body, T, &f);
		harness_assert_str(&f, "eid", ack[i].eid);
		free(body);
	}
	harness_expect_nothing(s, Q);
	assert_int_equal(stats_tract_value(s, "callosum_messages_dropped_total",
	    "bulk"), 6);
}

/*
 * memlog_max_bytes: the embedded log keeps no more than memlog_max_bytes
 * of bodies, dropping the oldest. 20 bodies of 10000 bytes, bound 50000:
 * the 6th and every later one push out the oldest, so the newest 5
 * (exactly 50000 bytes) stay and 15 were dropped.
 */
HARNESS_TEST(test_memlog_keeps_the_newest_within_memlog_max_bytes)
{
	struct harness		*h = harness_start(
	    "max_frame = 16384\nmemlog_max_bytes = 50000\n", NULL);
	struct client		*p, *r;
	struct harness_ack	 ack[20];
	msgpack_object		 f;
	char			*body;
	uint64_t		 id;
	int			 i;

	(void)state;
	p = harness_client(h, "logger");
	for (i = 0; i < 20; i++) {
		body = sized_body(10000, i);
		harness_pub(p, "internal", "external", body, &ack[i]);
		assert_string_equal(ack[i].stored, "memory");
		free(body);
	}
	r = harness_client(h, "replayer");
	id = harness_request(r, "op:s sid:u credit:u", "replay", 1u, 100u);
	harness_expect_ack(r, id, &f);
	for (i = 15; i < 20; i++) {
		body = sized_body(10000, i);
		harness_expect_msg(r, 1, body, T, &f);
		harness_assert_str(&f, "eid", ack[i].eid);
		free(body);
	}
	harness_expect(r, "end", T, &f);
	harness_assert_u64(&f, "sid", 1);
	assert_true(harness_stats_value(r, "callosum_eventlog_dropped_total") == 15);
	assert_true(harness_stats_value(r, "callosum_eventlog_depth") == 5);
}

/*
 * conns: one entry per connection with its identity, subscriptions,
 * demand and queues, and truncated false when all fit.
 */

/* The entry of conns whose agent is agent; fails unless exactly one. */
static const msgpack_object *
conns_entry(const msgpack_object *list, const char *agent)
{
	const msgpack_object	*found = NULL;
	size_t			 len = strlen(agent);
	uint32_t		 i;

	for (i = 0; i < list->via.array.size; i++) {
		const msgpack_object	*a;

		a = harness_get(&list->via.array.ptr[i], "agent");
		if (a == NULL || a->type != MSGPACK_OBJECT_STR)
			HFAIL("conns entry without agent: %s",
			    harness_dump(&list->via.array.ptr[i]));
		if (a->via.str.size == len &&
		    memcmp(a->via.str.ptr, agent, len) == 0) {
			if (found != NULL)
				HFAIL("two conns entries for %s", agent);
			found = &list->via.array.ptr[i];
		}
	}
	if (found == NULL)
		HFAIL("no conns entry for %s", agent);
	return (found);
}

HARNESS_TEST(test_conns_lists_every_connection)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client_hello	 hello = { .agent = "a1", .session = "s1",
	    .model = "m1" };
	struct client		*a1, *a2;
	const msgpack_object	*list, *e, *tr;
	msgpack_object		 f;
	uint64_t		 id;

	(void)state;
	a1 = harness_client_hello(h, &hello);
	a2 = harness_client(h, "a2");
	harness_sub(a1, 1, "internal", 7, NULL, 0);
	harness_wait_conn_count(a2, 2, T);	/* the start-up probe is gone */

	id = harness_request(a2, "op:s", "conns");
	harness_expect(a2, "conns", T, &f);
	harness_assert_u64(&f, "id", id);
	list = harness_get(&f, "conns");
	if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY ||
	    list->via.array.size != 2)
		HFAIL("want conns, an array of 2: %s", harness_dump(&f));

	e = conns_entry(list, "a1");
	harness_assert_u64(e, "conn", client_conn_id(a1));
	harness_assert_str(e, "session", "s1");
	harness_assert_str(e, "model", "m1");
	harness_assert_u64(e, "uid", (uint64_t)getuid());
	harness_assert_u64(e, "subs", 1);
	harness_assert_u64(e, "demand", 7);
	harness_assert_u64(e, "pending", 0);
	harness_assert_u64(e, "outq", 0);

	e = conns_entry(list, "a2");
	harness_assert_u64(e, "conn", client_conn_id(a2));
	harness_assert_str(e, "session", "");
	harness_assert_str(e, "model", "");
	harness_assert_u64(e, "uid", (uint64_t)getuid());
	harness_assert_u64(e, "subs", 0);
	harness_assert_u64(e, "demand", 0);
	harness_assert_u64(e, "pending", 0);
	harness_assert_u64(e, "outq", 0);

	/*
	 * Both are listed: not truncated. FAILS on 8f5eae6: stats_enc_conns
	 * counts n down to 0 while packing, then reports total > n.
	 */
	tr = harness_get(&f, "truncated");
	if (tr == NULL || tr->type != MSGPACK_OBJECT_BOOLEAN || tr->via.boolean)
		HFAIL("want truncated false: %s", harness_dump(&f));
}

/*
 * --http, --webhook and their config keys are refused until they are
 * built: exit 64, "not available yet". A --redis URL that cannot be
 * parsed: exit 64 too.
 */

static void
expect_exit_64(const char *what, const char *config, const char *flag,
    const char *value, const char *says)
{
	struct harness		*h = harness_new();
	struct harness_proc	*p;
	const char		*argv[8];
	int			 n = 0, code;

	argv[n++] = callosumd();
	argv[n++] = "--socket";
	argv[n++] = harness_sock(h);
	if (config != NULL) {
		argv[n++] = "--config";
		argv[n++] = harness_write_file(h, "unbuilt.conf", config);
	}
	if (flag != NULL) {
		argv[n++] = flag;
		argv[n++] = value;
	}
	argv[n] = NULL;
	code = harness_run(h, argv, NULL, 10000, &p);
	if (code != 64)
		HFAIL("%s: want exit 64, got %d\nstderr: %s", what, code,
		    harness_proc_stderr(p));
	if (strstr(harness_proc_stderr(p), says) == NULL)
		HFAIL("%s: stderr does not say \"%s\": %s", what, says,
		    harness_proc_stderr(p));
	if (harness_sock_accepts(harness_sock(h)))
		HFAIL("%s: something listens on the socket", what);
}

#define BADURL	"not unix:///PATH or redis://HOST[:PORT][/DB]"

HARNESS_TEST(test_webhook_that_is_not_a_url_exits_64)
{
	(void)state;
	expect_exit_64("--webhook", NULL, "--webhook", "ftp://127.0.0.1/h",
	    "not an http:// or https:// URL");
	expect_exit_64("webhook =", "webhook = 127.0.0.1:9\n", NULL, NULL,
	    "not an http:// or https:// URL");
}

/* An address that is not ADDR:PORT, or one it cannot listen on: 64. */
HARNESS_TEST(test_http_bad_address_exits_64)
{
	(void)state;
	expect_exit_64("--http no port", NULL, "--http", "127.0.0.1",
	    "not ADDR:PORT");
	expect_exit_64("--http port 0", NULL, "--http", "127.0.0.1:0",
	    "not ADDR:PORT");
	expect_exit_64("--http bad host", NULL, "--http",
	    "no-such-host.invalid:9464", "cannot listen there");
	expect_exit_64("http = not ours", "http = 192.0.2.1:9464\n", NULL,
	    NULL, "cannot listen there");
}

HARNESS_TEST(test_redis_url_that_cannot_be_parsed_exits_64)
{
	(void)state;
	expect_exit_64("--redis port", NULL, "--redis",
	    "redis://127.0.0.1:99999", BADURL);
	expect_exit_64("--redis db", NULL, "--redis", "redis://h:6379/x",
	    BADURL);
	expect_exit_64("redis =", "redis = redis://:6379\n", NULL, NULL,
	    BADURL);
}

/*
 * UTF-8: a str that is not valid UTF-8, in any field, is bad_request with
 * the request's id; nothing is delivered and the connection carries on.
 * A bin body is opaque: the same bytes as bin are delivered unchanged.
 *
 * NOTE: the validation is added to router/lib/wire.c on another branch;
 * until it is merged these tests fail (the router acks and forwards the
 * bytes). test_invalid_utf8_in_a_bin_body_is_delivered passes either way.
 */

/* A truncated sequence (C3 then no continuation) and a surrogate. */
static const char *const bad_utf8[] = { "\xc3\x28", "\xed\xa0\x80", NULL };

struct utf8_case {
	struct harness	*h;
	struct client	*pub;
	struct client	*sub;
	int		 marker;
};

static void
utf8_setup(struct utf8_case *u)
{
	u->h = harness_start(NULL, NULL);
	u->sub = harness_client(u->h, "u8-sub");
	harness_sub(u->sub, 1, "u8", 100, NULL, 0);
	u->pub = harness_client(u->h, "u8-pub");
	u->marker = 0;
}

/*
 * After a refused request: the subscriber's next msg is a fresh marker
 * (so the refused one was not delivered) and both connections work.
 */
static void
utf8_after(struct utf8_case *u)
{
	msgpack_object	f;
	char		marker[32];

	snprintf(marker, sizeof marker, "marker-%d", u->marker++);
	harness_pub(u->pub, NULL, "u8", marker, NULL);
	harness_expect_msg(u->sub, 1, marker, T, &f);
	harness_ping(u->pub, T);
	harness_ping(u->sub, T);
}

HARNESS_TEST(test_invalid_utf8_in_a_str_body_is_bad_request)
{
	struct utf8_case	u;
	int			i;

	(void)state;
	utf8_setup(&u);
	for (i = 0; bad_utf8[i] != NULL; i++) {
		harness_request_err(u.pub, "bad_request", "op:s to:s body:S",
		    "pub", "u8", bad_utf8[i], strlen(bad_utf8[i]));
		utf8_after(&u);
	}
}

HARNESS_TEST(test_invalid_utf8_in_a_bin_body_is_delivered)
{
	struct utf8_case	u;
	msgpack_object		f;
	uint64_t		id;
	int			i;

	(void)state;
	utf8_setup(&u);
	for (i = 0; bad_utf8[i] != NULL; i++) {
		id = harness_request(u.pub, "op:s to:s body:b", "pub", "u8",
		    bad_utf8[i], strlen(bad_utf8[i]));
		harness_expect_ack(u.pub, id, &f);
		harness_expect(u.sub, "msg", T, &f);
		harness_assert_bytes(harness_get(&f, "body"), bad_utf8[i],
		    strlen(bad_utf8[i]));
		utf8_after(&u);
	}
}

HARNESS_TEST(test_invalid_utf8_in_kind_is_bad_request)
{
	struct utf8_case	u;
	int			i;

	(void)state;
	utf8_setup(&u);
	for (i = 0; bad_utf8[i] != NULL; i++) {
		harness_request_err(u.pub, "bad_request",
		    "op:s to:s kind:S body:s", "pub", "u8", bad_utf8[i],
		    strlen(bad_utf8[i]), "x");
		utf8_after(&u);
	}
}

HARNESS_TEST(test_invalid_utf8_in_pattern_is_bad_request)
{
	struct utf8_case	u;
	int			i;

	(void)state;
	utf8_setup(&u);
	for (i = 0; bad_utf8[i] != NULL; i++) {
		harness_request_err(u.pub, "bad_request",
		    "op:s to:s kind:s pattern:S body:s", "pub", "u8", "bframe",
		    bad_utf8[i], strlen(bad_utf8[i]), "x");
		utf8_after(&u);
	}
}

HARNESS_TEST(test_invalid_utf8_in_a_hdr_value_is_bad_request)
{
	struct utf8_case	u;
	int			i;

	(void)state;
	utf8_setup(&u);
	for (i = 0; bad_utf8[i] != NULL; i++) {
		const char *const	hdr[] = { "trace", bad_utf8[i], NULL };

		harness_request_err(u.pub, "bad_request",
		    "op:s to:s hdr:M body:s", "pub", "u8", hdr, "x");
		utf8_after(&u);
	}
}

HARNESS_TEST(test_invalid_utf8_in_a_kinds_entry_is_bad_request)
{
	struct utf8_case	u;
	int			i;

	(void)state;
	utf8_setup(&u);
	for (i = 0; bad_utf8[i] != NULL; i++) {
		const char *const	kinds[] = { "msg", bad_utf8[i], NULL };

		harness_request_err(u.sub, "bad_request",
		    "op:s sid:u tract:s credit:u kinds:A", "sub", 2u, "u8",
		    10u, kinds);
		utf8_after(&u);
		/* Sid 2 was not taken: only sid 1 got the marker. */
		harness_sub(u.sub, 2, "u8", 10, NULL, 0);
		harness_unsub(u.sub, 2);
	}
	harness_expect_nothing(u.sub, Q);
}

/* hello: agent, session and model; then a valid hello still works. */
static void
expect_bad_hello(struct harness *h, const char *field, const char *bad)
{
	struct client_hello	 hello = { .agent = "fixed" };
	struct client		*c = harness_connect(h);
	const char		*code = NULL;
	char			 fmt[64];

	if (strcmp(field, "agent") == 0)
		harness_request_err(c, "bad_request", "op:s v:u agent:S",
		    "hello", 1u, bad, strlen(bad));
	else {
		snprintf(fmt, sizeof fmt, "op:s v:u agent:s %s:S", field);
		harness_request_err(c, "bad_request", fmt, "hello", 1u, "ok",
		    bad, strlen(bad));
	}
	if (client_hello(c, &hello, T, &code) == -1)
		HFAIL("hello after a refused hello: %s", code != NULL ? code :
		    strerror(errno));
	harness_ping(c, T);
}

HARNESS_TEST(test_invalid_utf8_in_hello_is_bad_request)
{
	struct harness	*h = harness_start(NULL, NULL);
	int		 i;

	(void)state;
	for (i = 0; bad_utf8[i] != NULL; i++) {
		expect_bad_hello(h, "agent", bad_utf8[i]);
		expect_bad_hello(h, "session", bad_utf8[i]);
		expect_bad_hello(h, "model", bad_utf8[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_partial_frame_is_bad_frame_after_frame_timeout),
		HARNESS_UNIT_TEST(
		    test_partial_frame_header_is_bad_frame_after_frame_timeout),
		HARNESS_UNIT_TEST(test_idle_connection_outlives_frame_timeout),
		HARNESS_UNIT_TEST(
		    test_sub_max_pending_above_config_max_pending_is_acked),
		HARNESS_UNIT_TEST(
		    test_sub_max_pending_above_max_pending_limit_is_limit),
		HARNESS_UNIT_TEST(
		    test_max_pending_above_max_pending_limit_exits_64),
		HARNESS_UNIT_TEST(
		    test_drop_sub_over_pending_bytes_limit_drops_oldest),
		HARNESS_UNIT_TEST(
		    test_memlog_keeps_the_newest_within_memlog_max_bytes),
		HARNESS_UNIT_TEST(test_conns_lists_every_connection),
		HARNESS_UNIT_TEST(
		    test_webhook_that_is_not_a_url_exits_64),
		HARNESS_UNIT_TEST(test_http_bad_address_exits_64),
		HARNESS_UNIT_TEST(
		    test_redis_url_that_cannot_be_parsed_exits_64),
		HARNESS_UNIT_TEST(
		    test_invalid_utf8_in_a_str_body_is_bad_request),
		HARNESS_UNIT_TEST(test_invalid_utf8_in_a_bin_body_is_delivered),
		HARNESS_UNIT_TEST(test_invalid_utf8_in_kind_is_bad_request),
		HARNESS_UNIT_TEST(test_invalid_utf8_in_pattern_is_bad_request),
		HARNESS_UNIT_TEST(
		    test_invalid_utf8_in_a_hdr_value_is_bad_request),
		HARNESS_UNIT_TEST(
		    test_invalid_utf8_in_a_kinds_entry_is_bad_request),
		HARNESS_UNIT_TEST(test_invalid_utf8_in_hello_is_bad_request),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
