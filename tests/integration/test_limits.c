/*
 * Configured limits and bounded memory (SPEC: demand rule 5, the
 * configuration table): output_limit, max_connections, max_subs_per_conn,
 * handshake_timeout_ms, connection churn, the socket's mode.
 */
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS
#define Q	HARNESS_QUIET_MS

static bool
peer_closed(struct client *c)
{
	struct pollfd	pfd = { client_fd(c), POLLRDHUP, 0 };

	return (poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLRDHUP | POLLHUP)) != 0);
}

/*
 * A subscriber that never reads, with unbounded credit: once its output
 * passes output_limit the router closes it with bye, and meanwhile answers
 * everyone else promptly.
 */
HARNESS_TEST(test_client_that_never_reads_is_closed_with_bye)
{
	struct harness	*h = harness_start("output_limit = 65536\n", NULL);
	struct client	*slow, *p, *q;
	msgpack_object	 f;
	char		*body;
	const size_t	 blen = 4096;
	int		 batch, i, msgs = 0, r;
	int64_t		 t0;
	const char	*last = "none";
	char		 lastbuf[16];

	(void)state;
	body = malloc(blen + 1);
	assert_non_null(body);
	memset(body, 'z', blen);
	body[blen] = '\0';
	slow = harness_client(h, "deaf");
	harness_sub(slow, 1, "flood", UINT64_MAX >> 1, "drop", 0);
	p = harness_client(h, "firehose");
	q = harness_client(h, "bystander");

	/* 2 MiB: far beyond 64 KiB plus what the kernel buffers. */
	for (batch = 0; batch < 10 && !peer_closed(slow); batch++) {
		uint64_t	first = 0, id;

		for (i = 0; i < 50; i++) {
			id = harness_request(p, "op:s to:s body:s", "pub",
			    "flood", body);
			if (i == 0)
				first = id;
		}
		for (i = 0; i < 50; i++)
			harness_expect_ack(p, first + (uint64_t)i, &f);
		t0 = harness_now_ms();
		harness_ping(q, 1000);
		assert_true(harness_now_ms() - t0 < 1000);
	}
	free(body);

	/* Now read: what was buffered, then bye, then the close. */
	for (;;) {
		r = client_recv(slow, 5000, &f);
		if (r == 0 || (r == -1 && errno == ECONNRESET))
			break;
		if (r == -1)
			HFAIL("the never-reading client was not closed (%d "
			    "msgs read, last %s): %s", msgs, last,
			    errno == ETIMEDOUT ? "still open" :
			    strerror(errno));
		snprintf(lastbuf, sizeof lastbuf, "%s", harness_op(&f));
		last = lastbuf;
		if (strcmp(last, "msg") == 0)
			msgs++;
		else if (strcmp(last, "bye") == 0) {
			char	reason[256];

			harness_str(&f, "reason", reason, sizeof reason);
		} else if (strcmp(last, "lag") != 0)
			HFAIL("unexpected %s", harness_dump(&f));
	}
	if (strcmp(last, "bye") != 0)
		HFAIL("closed after %d msgs without bye (last frame: %s)",
		    msgs, last);
	/* Bounded: it was not sent everything. */
	assert_true(msgs < 500);
	harness_ping(q, 1000);
	harness_ping(harness_client(h, "newcomer"), T);
}

HARNESS_TEST(test_connection_beyond_max_connections_is_refused)
{
	struct harness	*h = harness_start("max_connections = 8\n", NULL);
	struct client	*c[8], *extra;
	msgpack_object	 f;
	int		 i, r;
	bool		 ok = false;
	int64_t		 deadline;

	(void)state;
	c[0] = harness_client(h, "c0");
	harness_wait_conn_count(c[0], 1, T);	/* the start-up probe is gone */
	for (i = 1; i < 8; i++) {
		char	agent[8];

		snprintf(agent, sizeof agent, "c%d", i);
		c[i] = harness_client(h, agent);
	}
	for (i = 0; i < 8; i++)
		harness_ping(c[i], T);

	/* The ninth gets err limit, or is closed (maybe before its hello). */
	extra = harness_connect(h);
	harness_pack(client_begin(extra), "op:s v:u agent:s", "hello", 1u,
	    "ninth");
	if (client_send(extra) == -1 && errno != EPIPE && errno != ECONNRESET)
		HFAIL("ninth connection: send: %s", strerror(errno));
	r = client_recv(extra, T, &f);
	if (r == 1) {
		if (strcmp(harness_op(&f), "err") != 0)
			HFAIL("ninth connection: want err limit or a close, "
			    "got %s", harness_dump(&f));
		harness_assert_str(&f, "code", "limit");
		harness_expect_closed(extra, T, NULL);
	} else if (r == -1 && errno != ECONNRESET)
		HFAIL("ninth connection: want err limit or a close: %s",
		    errno == ETIMEDOUT ? "no answer" : strerror(errno));
	harness_client_close(extra);
	for (i = 0; i < 8; i++)
		harness_ping(c[i], T);

	/* A slot freed is a slot available again. */
	harness_client_close(c[7]);
	harness_wait_conn_count(c[0], 7, T);
	deadline = harness_now_ms() + T;
	while (!ok && harness_now_ms() < deadline) {
		struct client		*n = harness_connect(h);
		struct client_hello	 hello = { .agent = "again" };
		const char		*code = NULL;

		ok = client_hello(n, &hello, T, &code) == 0;
		if (ok)
			harness_ping(n, T);
		harness_client_close(n);
	}
	assert_true(ok);
}

HARNESS_TEST(test_sub_beyond_max_subs_per_conn_is_limit)
{
	struct harness	*h = harness_start("max_subs_per_conn = 4\n", NULL);
	struct client	*c, *other, *p;
	msgpack_object	 f;
	uint64_t	 sid;

	(void)state;
	c = harness_client(h, "hoarder");
	for (sid = 1; sid <= 4; sid++)
		harness_sub(c, sid, "internal", 10, NULL, 0);
	harness_request_err(c, "limit", "op:s sid:u tract:s", "sub", 5u,
	    "internal");
	harness_request_err(c, "limit", "op:s sid:u tract:s", "sub", 6u,
	    "external");
	/* The limit is per connection. */
	other = harness_client(h, "other");
	for (sid = 1; sid <= 4; sid++)
		harness_sub(other, sid, "external", 10, NULL, 0);
	/* The refused sub does not exist; the four do. */
	p = harness_client(h, "talker");
	harness_pub(p, NULL, "internal", "x", NULL);
	for (sid = 1; sid <= 4; sid++) {
		harness_expect(c, "msg", T, &f);
		assert_true(harness_u64(&f, "sid") <= 4);
	}
	harness_expect_nothing(c, Q);
	/* An unsub frees a slot. */
	harness_unsub(c, 4);
	harness_sub(c, 5, "internal", 10, NULL, 0);
}

HARNESS_TEST(test_silent_client_is_closed_after_handshake_timeout)
{
	struct harness	*h = harness_start("handshake_timeout_ms = 200\n",
	    NULL);
	struct client	*silent, *polite;
	const char	*skip[] = { "err", "bye", NULL };
	int64_t		 t0, waited;

	(void)state;
	t0 = harness_now_ms();
	silent = harness_connect(h);
	polite = harness_client(h, "polite");
	harness_expect_closed(silent, 3000, skip);
	waited = harness_now_ms() - t0;
	if (waited < 150)
		HFAIL("closed after %lld ms, before handshake_timeout_ms 200",
		    (long long)waited);
	/* A client that said hello in time is not closed. */
	harness_expect_nothing(polite, 300);
	harness_ping(polite, T);
}

HARNESS_TEST(test_connection_churn_returns_to_baseline)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*watch;
	int		 i;

	(void)state;
	watch = harness_client(h, "watcher");
	harness_wait_conn_count(watch, 1, T);
	for (i = 0; i < 1000; i++) {
		struct client	*c = harness_client(h, "churn");

		if (i % 100 == 0)
			harness_sub(c, 1, "internal", 10, "drop", 0);
		harness_client_close(c);
	}
	harness_ping(watch, T);
	harness_wait_conn_count(watch, 1, 5000);
	harness_ping(harness_client(h, "after"), T);
}

HARNESS_TEST(test_socket_file_mode_is_0600_by_default)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct stat	 st;

	(void)state;
	assert_int_equal(stat(harness_sock(h), &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

HARNESS_TEST(test_socket_mode_is_configurable)
{
	struct harness	*h = harness_start("socket_mode = 0660\n", NULL);
	struct stat	 st;

	(void)state;
	assert_int_equal(stat(harness_sock(h), &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_client_that_never_reads_is_closed_with_bye),
		HARNESS_UNIT_TEST(
		    test_connection_beyond_max_connections_is_refused),
		HARNESS_UNIT_TEST(test_sub_beyond_max_subs_per_conn_is_limit),
		HARNESS_UNIT_TEST(
		    test_silent_client_is_closed_after_handshake_timeout),
		HARNESS_UNIT_TEST(test_connection_churn_returns_to_baseline),
		HARNESS_UNIT_TEST(test_socket_file_mode_is_0600_by_default),
		HARNESS_UNIT_TEST(test_socket_mode_is_configurable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
