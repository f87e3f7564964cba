/*
 * Malformed input is data: every case in tests/corpus/bad_frames/NAME/ holds
 * the raw bytes sent after a good hello (input.bin) and the expected err
 * code (expect; "a|b" when the SPEC allows either). bad_frame must close
 * the connection after the err; any other code keeps it usable. After each
 * case a fresh client can still ping the router.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS
#define Q	HARNESS_QUIET_MS
#define MAX_CASES	256

#ifndef CALLOSUM_CORPUS_DIR
#error "CALLOSUM_CORPUS_DIR must name tests/corpus"
#endif

struct bad_case {
	char	 name[256];
	char	*data;
	size_t	 len;
	char	 expect[128];	/* codes separated by '|' */
};

static struct bad_case	cases[MAX_CASES];
static int		ncases;

static int
load_cases(void)
{
	const char	*dir = CALLOSUM_CORPUS_DIR "/bad_frames";
	struct dirent	**names;
	int		 n, i;

	if ((n = scandir(dir, &names, NULL, alphasort)) == -1) {
		fprintf(stderr, "scandir %s: %s\n", dir, strerror(errno));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		struct bad_case	*bc;
		char		 path[4096];
		char		*exp;
		size_t		 len;

		if (names[i]->d_name[0] == '.' || ncases == MAX_CASES) {
			free(names[i]);
			continue;
		}
		bc = &cases[ncases];
		snprintf(bc->name, sizeof bc->name, "%.255s", names[i]->d_name);
		free(names[i]);
		snprintf(path, sizeof path, "%s/%s/input.bin", dir, bc->name);
		if ((bc->data = harness_read_file(path, &bc->len)) == NULL) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			continue;
		}
		snprintf(path, sizeof path, "%s/%s/expect", dir, bc->name);
		if ((exp = harness_read_file(path, &len)) == NULL) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			free(bc->data);
			continue;
		}
		while (len > 0 && (exp[len - 1] == '\n' || exp[len - 1] == ' '))
			exp[--len] = '\0';
		snprintf(bc->expect, sizeof bc->expect, "%s", exp);
		free(exp);
		ncases++;
	}
	free(names);
	return (0);
}

/* True when code is one of the '|'-separated codes in list. */
static bool
code_allowed(const char *list, const char *code, size_t len)
{
	const char	*p = list;

	for (;;) {
		const char	*bar = strchr(p, '|');
		size_t		 n;

		n = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (n == len && memcmp(p, code, len) == 0)
			return (true);
		if (bar == NULL)
			return (false);
		p = bar + 1;
	}
}

/* Sends one case on a fresh connection and checks the router's answer. */
static void
run_case(struct harness *h, const struct bad_case *bc)
{
	struct client		*c, *fresh;
	msgpack_object		 f;
	const msgpack_object	*code;
	int			 r;

	c = harness_client(h, bc->name);
	if (client_send_raw(c, bc->data, bc->len) == -1)
		HFAIL("%s: send: %s", bc->name, strerror(errno));
	if ((r = client_recv(c, T, &f)) != 1)
		HFAIL("%s: want err %s, got %s", bc->name, bc->expect, r == 0 ?
		    "a close without err" : errno == ETIMEDOUT ?
		    "no reply within 2 s" : strerror(errno));
	code = harness_get(&f, "code");
	if (strcmp(harness_op(&f), "err") != 0 || code == NULL ||
	    code->type != MSGPACK_OBJECT_STR)
		HFAIL("%s: want err %s, got %s", bc->name, bc->expect,
		    harness_dump(&f));
	if (!code_allowed(bc->expect, code->via.str.ptr, code->via.str.size))
		HFAIL("%s: want err %s, got err %.*s (%s)", bc->name,
		    bc->expect, (int)code->via.str.size, code->via.str.ptr,
		    harness_dump(&f));
	if (code->via.str.size == 9 &&
	    memcmp(code->via.str.ptr, "bad_frame", 9) == 0)
		/* The stream cannot be resynchronised: closed. */
		harness_expect_closed(c, T, NULL);
	else
		/* The connection stays usable: the next reply is a pong. */
		harness_ping(c, T);
	harness_client_close(c);
	fresh = harness_client(h, "fresh");
	harness_ping(fresh, T);
	harness_client_close(fresh);
}

HARNESS_TEST(test_bad_frames_case)
{
	const struct bad_case	*bc = *state;
	struct harness		*h = harness_start(NULL, NULL);

	run_case(h, bc);
}

HARNESS_TEST(test_corpus_has_at_least_20_cases)
{
	(void)state;
	if (ncases < 20)
		HFAIL("%d cases in %s/bad_frames, want at least 20", ncases,
		    CALLOSUM_CORPUS_DIR);
}

HARNESS_TEST(test_one_router_survives_every_case_in_a_row)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	int		 i;

	(void)state;
	c = harness_client(h, "bystander");
	for (i = 0; i < ncases; i++) {
		run_case(h, &cases[i]);
		harness_ping(c, T);
	}
}

HARNESS_TEST(test_pub_before_a_bad_frame_is_not_lost)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*s, *p, *r;
	msgpack_object		 f;
	unsigned char		*pub1, *pub2;
	size_t			 len1, len2;
	char			 eid[HARNESS_EID_MAX], got[HARNESS_EID_MAX];
	static const char	 bad[] = { 0, 0, 0, 1, (char)0xc1 };
	uint64_t		 id = harness_id();

	(void)state;
	s = harness_client(h, "keeper");
	harness_sub(s, 1, "keep", 10, NULL, 0);
	p = harness_client(h, "clumsy");
	/* One write: a pub with id, a pub without, then garbage. */
	pub1 = harness_frame(&len1, "op:s from:s to:s body:s id:U", "pub",
	    "internal", "keep", "first", id);
	pub2 = harness_frame(&len2, "op:s to:s body:s", "pub", "keep",
	    "second");
	{
		char	*all = malloc(len1 + len2 + sizeof bad);

		assert_non_null(all);
		memcpy(all, pub1, len1);
		memcpy(all + len1, pub2, len2);
		memcpy(all + len1 + len2, bad, sizeof bad);
		assert_int_equal(client_send_raw(p, all, len1 + len2 +
		    sizeof bad), 0);
		free(all);
	}
	free(pub1);
	free(pub2);
	harness_expect_ack(p, id, &f);
	harness_str(&f, "eid", eid, sizeof eid);
	harness_expect_err(p, "bad_frame", false, 0, &f);
	harness_expect_closed(p, T, NULL);

	harness_expect_msg(s, 1, "first", T, &f);
	assert_string_equal(harness_str(&f, "eid", got, sizeof got), eid);
	harness_expect_msg(s, 1, "second", T, &f);
	/* The cross-tract one is in the log. */
	r = harness_client(h, "auditor");
	id = harness_request(r, "op:s sid:u tract:s credit:u", "replay", 1u,
	    "keep", 10u);
	harness_expect_ack(r, id, &f);
	harness_expect_msg(r, 1, "first", T, &f);
	harness_expect(r, "end", T, &f);
}

/* A pub into internal whose frame body is exactly frame_len bytes. */
static unsigned char *
pub_frame_of(size_t frame_len, uint64_t id, size_t *len)
{
	unsigned char	*frame;
	char		*body;
	size_t		 blen = frame_len - 100;

	body = calloc(1, frame_len);
	assert_non_null(body);
	frame = harness_frame(len, "op:s to:s body:b id:U", "pub",
	    "internal", body, blen, id);
	free(frame);
	blen += frame_len - (*len - 4);
	frame = harness_frame(len, "op:s to:s body:b id:U", "pub",
	    "internal", body, blen, id);
	free(body);
	assert_int_equal(*len, 4 + frame_len);
	return (frame);
}

/*
 * SPEC: a pub of exactly max_frame bytes is accepted and delivered; the
 * msg frame made from it may be up to max_frame + 1024 bytes. The
 * subscriber's client reads frames that large.
 */
HARNESS_TEST(test_frame_of_exactly_max_frame_is_accepted_and_delivered)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c, *s;
	msgpack_object	 f;
	unsigned char	*frame;
	size_t		 len;
	uint64_t	 id = harness_id();

	(void)state;
	frame = pub_frame_of(1048576, id, &len);
	s = harness_client(h, "reader");
	harness_sub(s, 1, "internal", 1, NULL, 0);
	c = harness_client(h, "big");
	assert_int_equal(client_send_raw(c, frame, len), 0);
	harness_expect_ack(c, id, &f);
	harness_assert_str(&f, "stored", "none");
	harness_expect(s, "msg", T, &f);
	assert_true(harness_get(&f, "body")->via.bin.size > 1048576 - 200);
	harness_ping(c, T);
	free(frame);
}

HARNESS_TEST(test_pub_1k_under_max_frame_is_acked_and_delivered)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c, *s;
	msgpack_object	 f;
	unsigned char	*frame;
	size_t		 len;
	uint64_t	 id = harness_id();

	(void)state;
	s = harness_client(h, "reader");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	frame = pub_frame_of(1048576 - 1024, id, &len);
	c = harness_client(h, "big");
	assert_int_equal(client_send_raw(c, frame, len), 0);
	harness_expect_ack(c, id, &f);
	harness_expect(s, "msg", T, &f);
	free(frame);
}

int
main(void)
{
	struct CMUnitTest	*tests;
	int			 i, n = 0, rc;

	if (load_cases() == -1)
		return (1);
	if ((tests = calloc((size_t)ncases + 5, sizeof *tests)) == NULL)
		return (1);
	tests[n++] = (struct CMUnitTest)HARNESS_UNIT_TEST(
	    test_corpus_has_at_least_20_cases);
	for (i = 0; i < ncases; i++) {
		tests[n] = (struct CMUnitTest)HARNESS_UNIT_TEST(
		    test_bad_frames_case);
		tests[n].name = cases[i].name;
		tests[n].initial_state = &cases[i];
		n++;
	}
	tests[n++] = (struct CMUnitTest)HARNESS_UNIT_TEST(
	    test_one_router_survives_every_case_in_a_row);
	tests[n++] = (struct CMUnitTest)HARNESS_UNIT_TEST(
	    test_pub_before_a_bad_frame_is_not_lost);
	tests[n++] = (struct CMUnitTest)HARNESS_UNIT_TEST(
	    test_frame_of_exactly_max_frame_is_accepted_and_delivered);
	tests[n++] = (struct CMUnitTest)HARNESS_UNIT_TEST(
	    test_pub_1k_under_max_frame_is_acked_and_delivered);
	rc = _cmocka_run_group_tests("test_bad_input", tests, (size_t)n, NULL,
	    NULL);
	for (i = 0; i < ncases; i++)
		free(cases[i].data);
	free(tests);
	return (rc);
}
