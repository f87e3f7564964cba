/*
 * callosumd as a program: signals and drain, the socket file, exit codes
 * and usage errors (SPEC: "Programs and their command lines",
 * "Configuration").
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS

static const char *
callosumd(void)
{
	return (harness_bin("CALLOSUMD"));
}

/* The number of lines in s that hold something other than blanks. */
static int
nonblank_lines(const char *s)
{
	int	n = 0;
	bool	seen = false;

	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			n += seen;
			seen = false;
		} else if (*s != ' ' && *s != '\t' && *s != '\r')
			seen = true;
	}
	return (n + seen);
}

/* Signal sig with three clients connected: bye to each, exit 0. */
static void
drain_on_signal(int sig)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c[3];
	struct stat	 st;
	msgpack_object	 f;
	int		 i, status;

	for (i = 0; i < 3; i++) {
		c[i] = harness_client(h, "stayer");
		harness_ping(c[i], T);
	}
	harness_sub(c[0], 1, "internal", 10, NULL, 0);
	status = harness_router_stop(h, sig, HARNESS_STOP_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		HFAIL("callosumd on signal %d: want exit 0, got status %d",
		    sig, status);
	for (i = 0; i < 3; i++) {
		char	reason[256];

		harness_expect(c[i], "bye", T, &f);
		harness_str(&f, "reason", reason, sizeof reason);
		harness_expect_closed(c[i], T, NULL);
	}
	if (stat(harness_sock(h), &st) == 0 || errno != ENOENT)
		HFAIL("the socket file %s is still there after exit",
		    harness_sock(h));
}

HARNESS_TEST(test_sigterm_sends_bye_to_every_client_and_exits_0)
{
	(void)state;
	drain_on_signal(SIGTERM);
}

HARNESS_TEST(test_sigint_sends_bye_to_every_client_and_exits_0)
{
	(void)state;
	drain_on_signal(SIGINT);
}

/* A path that is not a socket is never deleted (ADR 0004): exit 64. */
HARNESS_TEST(test_plain_file_at_the_socket_path_is_left_alone_exit_64)
{
	struct harness		*h = harness_new();
	struct harness_proc	*p;
	struct stat		 st;
	const char		*argv[] = { callosumd(), "--socket",
	    harness_sock(h), NULL };
	int			 code;

	(void)state;
	harness_write_file(h, "callosum.sock", "stale\n");
	code = harness_run(h, argv, NULL, 10000, &p);
	if (code != 64)
		HFAIL("want exit 64, got %d\nstderr: %s", code,
		    harness_proc_stderr(p));
	if (strstr(harness_proc_stderr(p), "not a socket") == NULL)
		HFAIL("no reason on stderr: %s", harness_proc_stderr(p));
	assert_int_equal(stat(harness_sock(h), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 6);	/* "stale\n", untouched */
}

HARNESS_TEST(test_dead_socket_at_the_socket_path_is_replaced)
{
	struct harness		*h = harness_new();
	struct sockaddr_un	 sun;
	int			 fd;

	(void)state;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	assert_true(strlen(harness_sock(h)) < sizeof sun.sun_path);
	memcpy(sun.sun_path, harness_sock(h), strlen(harness_sock(h)));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd);	/* the file stays, nobody listens */
	harness_router_start(h, NULL, NULL);
	harness_ping(harness_client(h, "after-dead"), T);
}

HARNESS_TEST(test_second_router_on_a_live_socket_exits_64)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*second;
	struct client		*c;
	const char		*argv[] = { callosumd(), "--socket",
	    harness_sock(h), NULL };
	int			 code;

	(void)state;
	c = harness_client(h, "first");
	harness_ping(c, T);
	code = harness_run(h, argv, NULL, 10000, &second);
	if (code != 64)
		HFAIL("second router: want exit 64, got %d\nstderr: %s", code,
		    harness_proc_stderr(second));
	if (nonblank_lines(harness_proc_stderr(second)) < 1)
		HFAIL("second router gave no reason on stderr");
	/* The first one still serves, on the same socket. */
	harness_ping(c, T);
	harness_ping(harness_client(h, "second"), T);
}

/* Runs callosumd with argv and config, expecting exit 64 and one line. */
static void
expect_usage_error(const char *what, const char *config,
    const char *const *extra)
{
	struct harness		*h = harness_new();
	struct harness_proc	*p;
	const char		*argv[32];
	int			 n = 0, code;

	argv[n++] = callosumd();
	argv[n++] = "--socket";
	argv[n++] = harness_sock(h);
	if (config != NULL) {
		argv[n++] = "--config";
		argv[n++] = harness_write_file(h, "bad.conf", config);
	}
	while (*extra != NULL && n < 31)
		argv[n++] = *extra++;
	argv[n] = NULL;
	code = harness_run(h, argv, NULL, 10000, &p);
	if (code != 64)
		HFAIL("%s: want exit 64, got %d\nstdout: %s\nstderr: %s", what,
		    code, harness_proc_stdout(p), harness_proc_stderr(p));
	if (nonblank_lines(harness_proc_stderr(p)) != 1)
		HFAIL("%s: want a one-line reason on stderr, got:\n%s", what,
		    harness_proc_stderr(p));
}

HARNESS_TEST(test_bad_flag_exits_64)
{
	const char *const	bad[] = { "--no-such-flag", NULL };
	const char *const	stray[] = { "stray-argument", NULL };
	const char *const	level[] = { "--log-level", "loudest", NULL };
	const char *const	tracts[] = { "--tracts", "a b,c", NULL };
	const char *const	nosock[] = { "--socket", NULL };

	(void)state;
	expect_usage_error("--no-such-flag", NULL, bad);
	expect_usage_error("a stray argument", NULL, stray);
	expect_usage_error("--log-level loudest", NULL, level);
	expect_usage_error("--tracts with a bad name", NULL, tracts);
	expect_usage_error("--socket without its value", NULL, nosock);
}

HARNESS_TEST(test_bad_config_exits_64)
{
	const char *const	none[] = { NULL };
	const char *const	missing[] = { "--config", "/nonexistent/x.conf",
	    NULL };

	(void)state;
	expect_usage_error("max_connections = banana",
	    "max_connections = banana\n", none);
	expect_usage_error("max_frame = -1", "max_frame = -1\n", none);
	expect_usage_error("an unknown key", "no_such_key = 1\n", none);
	expect_usage_error("a line without =", "max_pending\n", none);
	expect_usage_error("balance_threshold = 2x",
	    "balance_threshold = 2x\n", none);
	expect_usage_error("busy_poll_us above a second",
	    "busy_poll_us = 1000001\n", none);
	expect_usage_error("a missing config file", NULL, missing);
}

HARNESS_TEST(test_config_file_comments_and_flags_that_win)
{
	struct harness	*h = harness_new();
	char		 conf[1024];
	struct stat	 st;

	(void)state;
	snprintf(conf, sizeof conf,
	    "# a comment line\n"
	    "\n"
	    "socket = %s   # the flag wins over this\n"
	    "max_pending = 16\n"
	    "log_level = info\n", harness_path(h, "other.sock"));
	harness_router_start(h, conf, NULL);
	harness_ping(harness_client(h, "configured"), T);
	assert_int_not_equal(stat(harness_path(h, "other.sock"), &st), 0);
}

HARNESS_TEST(test_help_and_version_exit_0)
{
	struct harness		*h = harness_new();
	struct harness_proc	*p;
	const char		*help[] = { callosumd(), "--help", NULL };
	const char		*version[] = { callosumd(), "--version", NULL };
	char			 out[8192];
	int			 code;

	(void)state;
	code = harness_run(h, help, NULL, 10000, &p);
	snprintf(out, sizeof out, "%s%s", harness_proc_stdout(p),
	    harness_proc_stderr(p));
	if (code != 0)
		HFAIL("--help: want exit 0, got %d: %s", code, out);
	if (strstr(out, "--socket") == NULL)
		HFAIL("--help does not mention --socket: %s", out);
	code = harness_run(h, version, NULL, 10000, &p);
	snprintf(out, sizeof out, "%s%s", harness_proc_stdout(p),
	    harness_proc_stderr(p));
	if (code != 0)
		HFAIL("--version: want exit 0, got %d: %s", code, out);
	if (strstr(out, CALLOSUM_VERSION) == NULL)
		HFAIL("--version does not print %s: %s", CALLOSUM_VERSION,
		    out);
}

/* User + system CPU seconds of pid so far (/proc/PID/stat), or -1. */
static double
proc_cpu_s(pid_t pid)
{
	char			 path[64], *text, *p;
	unsigned long long	 ut, st;
	size_t			 len;
	double			 s = -1;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((text = harness_read_file(path, &len)) == NULL)
		return (-1);
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	if ((p = strrchr(text, ')')) != NULL && sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) == 2)
		s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	free(text);
	return (s);
}

/*
 * busy_poll_us (ADR 0009): the router polls while frames come, serves
 * them as usual, goes back to sleep once they stop and still drains on
 * SIGTERM.
 */
HARNESS_TEST(test_busy_poll_serves_then_sleeps_and_drains)
{
	struct harness	*h = harness_start("busy_poll_us = 2000\n", NULL);
	struct client	*pub, *sub;
	msgpack_object	 f;
	double		 cpu0, cpu1;
	int		 i, status;

	(void)state;
	sub = harness_client(h, "polled-sub");
	pub = harness_client(h, "polled-pub");
	harness_sub(sub, 1, "external", 10, NULL, 0);
	for (i = 0; i < 3; i++) {
		harness_pub(pub, NULL, "external", "polled", NULL);
		harness_expect_msg(sub, 1, "polled", T, &f);
	}
	/* 2 ms after the last frame it blocks: far below a busy CPU. */
	usleep(100 * 1000);
	cpu0 = proc_cpu_s(harness_router_pid(h));
	usleep(1000 * 1000);
	cpu1 = proc_cpu_s(harness_router_pid(h));
	assert_true(cpu0 >= 0 && cpu1 >= 0);
	if (cpu1 - cpu0 > 0.5)
		HFAIL("an idle router with busy_poll_us used %.2f s of CPU "
		    "in 1 s", cpu1 - cpu0);
	status = harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		HFAIL("SIGTERM with busy_poll_us: want exit 0, got status %d",
		    status);
	harness_expect(sub, "bye", T, &f);
	harness_expect(pub, "bye", T, &f);
}

HARNESS_TEST(test_sigterm_right_after_start_exits_0)
{
	struct harness	*h = harness_start(NULL, NULL);
	int		 status;

	(void)state;
	/* The socket accepts: the router must already handle SIGTERM. */
	status = harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		HFAIL("SIGTERM right after start: want exit 0, got %s %d",
		    WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ?
		    WEXITSTATUS(status) : WTERMSIG(status));
}

HARNESS_TEST(test_eids_keep_increasing_after_a_restart)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_ack	 before, after;
	int			 status;

	(void)state;
	harness_pub(harness_client(h, "first-life"), "a", "b", "x", &before);
	status = harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	harness_router_start(h, NULL, NULL);
	harness_pub(harness_client(h, "second-life"), "a", "b", "y", &after);
	if (harness_eid_cmp(before.eid, after.eid) >= 0)
		HFAIL("eid %s after the restart is not above %s", after.eid,
		    before.eid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_sigterm_sends_bye_to_every_client_and_exits_0),
		HARNESS_UNIT_TEST(
		    test_sigint_sends_bye_to_every_client_and_exits_0),
		HARNESS_UNIT_TEST(
		    test_plain_file_at_the_socket_path_is_left_alone_exit_64),
		HARNESS_UNIT_TEST(
		    test_dead_socket_at_the_socket_path_is_replaced),
		HARNESS_UNIT_TEST(test_second_router_on_a_live_socket_exits_64),
		HARNESS_UNIT_TEST(test_bad_flag_exits_64),
		HARNESS_UNIT_TEST(test_bad_config_exits_64),
		HARNESS_UNIT_TEST(test_config_file_comments_and_flags_that_win),
		HARNESS_UNIT_TEST(test_help_and_version_exit_0),
		HARNESS_UNIT_TEST(test_sigterm_right_after_start_exits_0),
		HARNESS_UNIT_TEST(
		    test_busy_poll_serves_then_sleeps_and_drains),
		HARNESS_UNIT_TEST(test_eids_keep_increasing_after_a_restart),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
