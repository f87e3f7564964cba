/*
 * The security model (ADR 0017): the start-up check of the socket's
 * directories (StrictModes), allow_uids, and the tract cap. The socket
 * file's own mode (0600, socket_mode) is test_limits'.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define T		HARNESS_TIMEOUT_MS
#define TRACT_CAP	4096	/* router/tract.c TRACT_MAX */
#define TRACTS_AT_START	4	/* $sys, $candidates, internal, external */

/* The router's log, read whole; the caller frees. */
static char *
router_log(struct harness *h)
{
	char	*text;

	if ((text = harness_read_file(harness_path(h, "callosumd.log"),
	    NULL)) == NULL)
		HFAIL("cannot read the router log: %s", strerror(errno));
	return (text);
}

/*
 * The line the router writes for an unsafe directory, up to its mode (or
 * up to the path when mode is NULL). The router names the resolved path.
 */
static void
unsafe_line(char *buf, size_t size, const char *dir, const char *mode)
{
	char	real[PATH_MAX];

	if (realpath(dir, real) == NULL)
		HFAIL("realpath %s: %s", dir, strerror(errno));
	if (mode != NULL)
		snprintf(buf, size, " warn socket_dir_unsafe path=%s mode=%s ",
		    real, mode);
	else
		snprintf(buf, size, " warn socket_dir_unsafe path=%s ", real);
}

static void
assert_logged(struct harness *h, const char *line)
{
	char	*text = router_log(h);
	bool	 found = harness_count_lines(text, line) > 0;

	free(text);
	if (!found)
		HFAIL("the router log has no \"%s\"", line);
}

static void
assert_not_logged(struct harness *h, const char *line)
{
	char	*text = router_log(h);
	bool	 found = harness_count_lines(text, line) > 0;

	free(text);
	if (found)
		HFAIL("the router log has \"%s\"", line);
}

/* A harness whose directory (the socket's) has mode, then its router. */
static struct harness *
start_in_dir_with_mode(mode_t mode)
{
	struct harness	*h = harness_new();

	/* chmod, not mkdir's mode: the umask would take bits away. */
	if (chmod(harness_dir(h), mode) == -1)
		HFAIL("chmod %s: %s", harness_dir(h), strerror(errno));
	harness_router_start(h, NULL, NULL);
	return (h);
}

static mode_t
dir_mode(struct harness *h)
{
	struct stat	st;

	if (stat(harness_dir(h), &st) == -1)
		HFAIL("stat %s: %s", harness_dir(h), strerror(errno));
	return (st.st_mode & 07777);
}

/* Others may remove or replace the socket: warned, and left as it is. */
HARNESS_TEST(test_socket_dir_writable_by_others_is_warned)
{
	struct harness	*h = start_in_dir_with_mode(0777);
	char		 line[PATH_MAX + 64];

	(void)state;
	unsafe_line(line, sizeof line, harness_dir(h), "0777");
	assert_logged(h, line);
	/* A warning only: the router serves, and changes no mode. */
	harness_ping(harness_client(h, "after"), T);
	assert_int_equal(dir_mode(h), 0777);
}

HARNESS_TEST(test_socket_dir_writable_by_group_is_warned)
{
	struct harness	*h = start_in_dir_with_mode(0770);
	char		 line[PATH_MAX + 64];

	(void)state;
	unsafe_line(line, sizeof line, harness_dir(h), "0770");
	assert_logged(h, line);
	assert_int_equal(dir_mode(h), 0770);
}

HARNESS_TEST(test_private_socket_dir_is_not_warned)
{
	struct harness	*h = start_in_dir_with_mode(0700);
	char		 line[PATH_MAX + 64];

	(void)state;
	unsafe_line(line, sizeof line, harness_dir(h), NULL);
	assert_not_logged(h, line);
}

/* Sticky (as /tmp): others may write, but remove only what they own. */
HARNESS_TEST(test_sticky_world_writable_socket_dir_is_not_warned)
{
	struct harness	*h = start_in_dir_with_mode(01777);
	char		 line[PATH_MAX + 64];

	(void)state;
	unsafe_line(line, sizeof line, harness_dir(h), NULL);
	assert_not_logged(h, line);
	assert_int_equal(dir_mode(h), 01777);
}

/*
 * Whoever may write a directory above the socket's may rename the
 * socket's directory and put their own in its place: the walk goes up.
 */
HARNESS_TEST(test_parent_of_socket_dir_writable_by_others_is_warned)
{
	struct harness	*outer, *inner;
	const char	*old;
	char		*saved, line[PATH_MAX + 64];
	size_t		 olen;
	int		 status;

	(void)state;
	outer = harness_new();
	if (chmod(harness_dir(outer), 0777) == -1)
		HFAIL("chmod: %s", strerror(errno));
	/* harness_new makes its directory in $TMPDIR. */
	saved = (old = getenv("TMPDIR")) != NULL ? strdup(old) : NULL;
	setenv("TMPDIR", harness_dir(outer), 1);
	inner = harness_new();
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	olen = strlen(harness_dir(outer));
	if (strncmp(harness_dir(inner), harness_dir(outer), olen) != 0 ||
	    harness_dir(inner)[olen] != '/')
		skip();		/* $TMPDIR too long to nest in: see harness_new */

	harness_router_start(inner, NULL, NULL);
	unsafe_line(line, sizeof line, harness_dir(outer), "0777");
	assert_logged(inner, line);
	unsafe_line(line, sizeof line, harness_dir(inner), NULL);
	assert_not_logged(inner, line);
	/* Stopped here: the outer directory's removal takes the inner's. */
	status = harness_router_stop(inner, SIGTERM, HARNESS_STOP_MS);
	assert_int_equal(harness_exit_code(status), 0);
}

/* Its owner may chmod it at any time: not root, not us, is unsafe too. */
HARNESS_TEST(test_socket_dir_owned_by_another_uid_is_warned)
{
	struct harness	*h;
	char		 line[PATH_MAX + 64], want[PATH_MAX + 96];

	(void)state;
	if (geteuid() != 0)
		skip();		/* only root can give a directory away */
	h = harness_new();
	if (chown(harness_dir(h), 4242, (gid_t)-1) == -1)
		HFAIL("chown: %s", strerror(errno));
	harness_router_start(h, NULL, NULL);
	unsafe_line(line, sizeof line, harness_dir(h), "0700");
	snprintf(want, sizeof want, "%suid=4242", line);
	assert_logged(h, want);
}

/* A uid that is not the test's, for allow_uids. */
static uid_t
other_uid(void)
{
	return (getuid() == 65534 ? 65533 : 65534);
}

/*
 * SO_PEERCRED at accept: a uid not in allow_uids gets err unauthorized
 * (no id: it asked nothing yet) and the close, before any hello.
 */
HARNESS_TEST(test_uid_not_in_allow_uids_gets_unauthorized_and_close)
{
	struct harness	*h;
	struct client	*c;
	msgpack_object	 f;
	char		 conf[64], line[64];
	int		 i;

	(void)state;
	snprintf(conf, sizeof conf, "allow_uids = %u\n",
	    (unsigned)other_uid());
	h = harness_start(conf, NULL);
	for (i = 0; i < 2; i++) {
		c = harness_connect(h);
		harness_expect_err(c, "unauthorized", false, 0, &f);
		harness_expect_closed(c, T, NULL);
		harness_client_close(c);
	}
	snprintf(line, sizeof line, " warn conn_unauthorized uid=%u ",
	    (unsigned)getuid());
	assert_logged(h, line);
	/* The router lives on. */
	assert_true(harness_sock_accepts(harness_sock(h)));
}

/* A list: any uid in it is served. */
HARNESS_TEST(test_uid_in_allow_uids_list_is_served)
{
	struct harness	*h;
	char		 conf[80];

	(void)state;
	snprintf(conf, sizeof conf, "allow_uids = %u, %u\n",
	    (unsigned)other_uid(), (unsigned)getuid());
	h = harness_start(conf, NULL);
	harness_ping(harness_client(h, "listed"), T);
}

/* cap-00042: a valid tract name, one per i. */
static const char *
tract_name(char *buf, size_t size, int i)
{
	snprintf(buf, size, "cap-%05d", i);
	return (buf);
}

/*
 * Any client may create tracts, by pub and by sub, until the router holds
 * 4096; then a new name is err limit, and the tracts that exist serve on.
 */
HARNESS_TEST(test_tracts_stop_at_4096_with_limit)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*maker, *c;
	msgpack_object	 f;
	char		 name[32];
	int		 i, n = TRACT_CAP - TRACTS_AT_START;

	(void)state;
	maker = harness_client(h, "maker");
	/* Without ids: a refusal would be an err before the pong. */
	for (i = 0; i < n; i++) {
		harness_pack(client_begin(maker), "op:s to:s body:s", "pub",
		    tract_name(name, sizeof name, i), "x");
		if (client_end(maker) == -1)
			HFAIL("client_end: %s", strerror(errno));
		if (i % 500 == 499 && client_flush(maker) == -1)
			HFAIL("client_flush: %s", strerror(errno));
	}
	if (client_flush(maker) == -1)
		HFAIL("client_flush: %s", strerror(errno));
	harness_ping(maker, 10000);

	c = harness_client(h, "late");
	harness_request_err(c, "limit", "op:s to:s body:s", "pub",
	    "one-too-many", "x");
	harness_request_err(c, "limit", "op:s sid:u tract:s", "sub", 1u,
	    "one-too-many");
	/* What exists still works, the last one made included. */
	harness_sub(c, 2, tract_name(name, sizeof name, n - 1), 1, NULL, 0);
	harness_pub(maker, NULL, name, "still here", NULL);
	harness_expect_msg(c, 2, "still here", T, &f);
	harness_pub(maker, "internal", "external", "and here", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(test_socket_dir_writable_by_others_is_warned),
		HARNESS_UNIT_TEST(test_socket_dir_writable_by_group_is_warned),
		HARNESS_UNIT_TEST(test_private_socket_dir_is_not_warned),
		HARNESS_UNIT_TEST(
		    test_sticky_world_writable_socket_dir_is_not_warned),
		HARNESS_UNIT_TEST(
		    test_parent_of_socket_dir_writable_by_others_is_warned),
		HARNESS_UNIT_TEST(
		    test_socket_dir_owned_by_another_uid_is_warned),
		HARNESS_UNIT_TEST(
		    test_uid_not_in_allow_uids_gets_unauthorized_and_close),
		HARNESS_UNIT_TEST(test_uid_in_allow_uids_list_is_served),
		HARNESS_UNIT_TEST(test_tracts_stop_at_4096_with_limit),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
