/*
 * Logs an operator can act on (issue 19): "LEVEL TS COMPONENT EVENT k=v",
 * one line per event that matters, never one per message. A connection's
 * close says why (and what it looked like when it was not our protocol);
 * a slow subscriber is named once, not once per message.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS

/* Connects to the router's socket, writes bytes, closes. */
static void
raw_send_close(struct harness *h, const void *bytes, size_t len)
{
	struct sockaddr_un	 sun;
	int			 fd;
	char			 buf[256];

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", harness_sock(h));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		HFAIL("connect %s: %s", harness_sock(h), strerror(errno));
	if (write(fd, bytes, len) != (ssize_t)len)
		HFAIL("write: %s", strerror(errno));
	/* The err frame, then the close. */
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(fd);
}

/* Every line begins with a level word, then the UTC time. */
static void
assert_lines_well_formed(const char *text)
{
	const char	*line = text, *nl;
	int		 n = 0;

	for (; *line != '\0'; line = nl + 1, n++) {
		if ((nl = strchr(line, '\n')) == NULL)
			HFAIL("a log line without a newline: %s", line);
		if (strncmp(line, "error ", 6) != 0 &&
		    strncmp(line, "warn ", 5) != 0 &&
		    strncmp(line, "info ", 5) != 0 &&
		    strncmp(line, "debug ", 6) != 0)
			HFAIL("a line that does not start with a level: %.*s",
			    (int)(nl - line), line);
		if (strchr(line, 'T') == NULL || strchr(line, 'Z') == NULL)
			HFAIL("no timestamp: %.*s", (int)(nl - line), line);
	}
	assert_true(n > 0);
}

/*
 * An agent's close: info, its agent name and the reason; an HTTP client
 * and a TLS client on the socket get a hint saying what they are.
 */
HARNESS_TEST(test_close_is_logged_with_its_reason_and_a_hint)
{
	static const unsigned char	tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00,
					    0x01, 0x00, 0x01, 0xfc, 0x03 };
	static const char		http[] = "GET /metrics HTTP/1.1\r\n"
					    "Host: localhost\r\n\r\n";
	struct harness			*h = harness_start(NULL, NULL);
	struct client			*c;
	char				*text;

	(void)state;
	c = harness_client(h, "leaver");
	harness_ping(c, T);
	harness_client_close(c);
	harness_wait_line(harness_log(h),
	    " info conn close conn=2 agent=leaver reason=eof", T);

	raw_send_close(h, http, sizeof(http) - 1);
	harness_wait_line(harness_log(h), " info conn close conn=3 agent=- "
	    "reason=bad_frame hint=\"looks like HTTP", T);
	raw_send_close(h, tls, sizeof tls);
	harness_wait_line(harness_log(h), " info conn close conn=4 agent=- "
	    "reason=bad_frame hint=\"looks like TLS", T);
	harness_router_stop(h, SIGTERM, T);
	text = harness_read_file(harness_log(h), NULL);
	assert_non_null(text);
	assert_lines_well_formed(text);
	/* One close line per connection (conn 1: harness_start's probe). */
	assert_int_equal(harness_count_lines(text, " conn close "), 4);
	free(text);
}

/*
 * A drop subscriber that grants nothing: 200 messages overflow its queue
 * of 4, and it is named once (per 10 s), not once per dropped message.
 * A block subscriber that fills is named too.
 */
HARNESS_TEST(test_slow_consumer_is_named_once)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*slow, *stuck, *p;
	msgpack_object	 f;
	uint64_t	 first = 0, id;
	int		 i;

	(void)state;
	slow = harness_client(h, "sleepy");
	harness_sub(slow, 1, "chatter", 0, "drop", 4);
	p = harness_client(h, "talker");
	for (i = 0; i < 200; i++) {
		id = harness_request(p, "op:s to:s body:s", "pub", "chatter",
		    "x");
		if (i == 0)
			first = id;
	}
	for (i = 0; i < 200; i++)
		harness_expect_ack(p, first + (uint64_t)i, &f);
	harness_wait_line(harness_log(h), " warn sub slow_consumer conn=2 "
	    "agent=sleepy tract=chatter sid=1 ", T);
	assert_int_equal(harness_file_count_lines(harness_log(h),
	    " slow_consumer "), 1);

	stuck = harness_client(h, "stuck");
	harness_sub(stuck, 7, "orders", 0, "block", 2);
	for (i = 0; i < 2; i++)
		harness_pub(p, NULL, "orders", "o", NULL);
	harness_ping(p, T);
	harness_wait_line(harness_log(h), " warn sub slow_consumer conn=4 "
	    "agent=stuck tract=orders sid=7 pending=2 overflow=block", T);
	assert_int_equal(harness_file_count_lines(harness_log(h),
	    " slow_consumer "), 2);
	harness_client_close(slow);
	harness_client_close(stuck);
	harness_client_close(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_close_is_logged_with_its_reason_and_a_hint),
		HARNESS_UNIT_TEST(test_slow_consumer_is_named_once),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
