/*
 * The callosum command-line client against a real router (SPEC: "Programs
 * and their command lines"): output, --json, and exit codes 0, 1, 64, 69.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define T		HARNESS_TIMEOUT_MS
#define CLI_MS		20000	/* one CLI run (ASan builds start slowly) */
#define MAX_LINES	2048
/* callosum replay: its progress starts this many ms in (tests: at once). */
#define PROGRESS_ENV	"CALLOSUM_PROGRESS_DELAY_MS"

static const char *
cli(void)
{
	return (harness_bin("CALLOSUM_CLI"));
}

/* Splits text into its lines (without the newlines) in place. */
struct lines {
	char	*buf;
	char	*line[MAX_LINES];
	size_t	 len[MAX_LINES];
	int	 n;
};

static void
lines_split(struct lines *l, const char *text)
{
	char	*p;

	l->buf = strdup(text);
	assert_non_null(l->buf);
	l->n = 0;
	p = l->buf;
	while (*p != '\0') {
		char	*nl = strchr(p, '\n');

		if (l->n == MAX_LINES)
			HFAIL("more than %d lines of output", MAX_LINES);
		l->line[l->n] = p;
		if (nl != NULL)
			*nl = '\0';
		l->len[l->n] = strlen(p);
		l->n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void
lines_free(struct lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

/* Every line is one JSON object. */
static void
assert_json_lines(const struct lines *l)
{
	int	i;

	for (i = 0; i < l->n; i++)
		if (l->len[i] == 0 || l->line[i][0] != '{' ||
		    !harness_json_valid(l->line[i], l->len[i]))
			HFAIL("line %d is not one JSON object: %s", i + 1,
			    l->line[i]);
}

/* The string member key of JSON line i, in buf. */
static const char *
json_str(const struct lines *l, int i, const char *key, char *buf,
    size_t size)
{
	if (!harness_json_str(l->line[i], l->len[i], key, buf, size))
		HFAIL("line %d has no string \"%s\": %s", i + 1, key,
		    l->line[i]);
	return (buf);
}

/* Runs the CLI with args (after the command) and returns its exit code. */
static int
run_cli(struct harness *h, const char *cmd, const char *const *args,
    const char *stdin_text, struct harness_proc **p)
{
	const char	*argv[32];
	int		 n = 0;

	argv[n++] = cli();
	argv[n++] = cmd;
	argv[n++] = "--socket";
	argv[n++] = harness_sock(h);
	while (args != NULL && *args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	return (harness_run(h, argv, stdin_text, CLI_MS, p));
}

static void
assert_exit(int code, int want, const char *what, struct harness_proc *p)
{
	if (code != want)
		HFAIL("%s: want exit %d, got %d\nstdout: %s\nstderr: %s", what,
		    want, code, harness_proc_stdout(p), harness_proc_stderr(p));
}

/* Runs `callosum pub args`: exit 0 and "EID STORED" on stdout, parsed. */
static void
run_pub_eid(struct harness *h, const char *const *args, const char *what,
    char eid[HARNESS_EID_MAX], char stored[16])
{
	struct harness_proc	*p;
	uint64_t		 ms, seq;

	assert_exit(run_cli(h, "pub", args, NULL, &p), 0, what, p);
	if (sscanf(harness_proc_stdout(p), "%47s %15s", eid, stored) != 2 ||
	    !harness_eid_parse(eid, &ms, &seq))
		HFAIL("%s printed \"%s\", want EID STORED", what,
		    harness_proc_stdout(p));
}

HARNESS_TEST(test_cli_pub_prints_eid_and_stored)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*s;
	const char *const	 same[] = { "internal", "hello there", NULL };
	const char *const	 cross[] = { "--from", "external", "--kind",
	    "note", "internal", "across", NULL };
	msgpack_object		 f;
	char			 eid[HARNESS_EID_MAX], stored[16], got[64];

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	run_pub_eid(h, same, "pub", eid, stored);
	assert_string_equal(stored, "none");
	harness_expect_msg(s, 1, "hello there", T, &f);
	assert_string_equal(harness_str(&f, "eid", got, sizeof got), eid);

	run_pub_eid(h, cross, "pub --from", eid, stored);
	assert_string_equal(stored, "memory");
	harness_expect_msg(s, 1, "across", T, &f);
	assert_string_equal(harness_str(&f, "eid", got, sizeof got), eid);
	harness_assert_str(&f, "from", "external");
	harness_assert_str(&f, "kind", "note");
}

HARNESS_TEST(test_cli_pub_json_prints_one_object)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	const char *const	 args[] = { "--json", "--from", "a", "b",
	    "x", NULL };
	struct lines		 l;
	char			 eid[HARNESS_EID_MAX], stored[16];
	uint64_t		 ms, seq;

	(void)state;
	assert_exit(run_cli(h, "pub", args, NULL, &p), 0, "pub --json", p);
	lines_split(&l, harness_proc_stdout(p));
	assert_int_equal(l.n, 1);
	assert_json_lines(&l);
	assert_true(harness_eid_parse(json_str(&l, 0, "eid", eid, sizeof eid),
	    &ms, &seq));
	assert_string_equal(json_str(&l, 0, "stored", stored, sizeof stored),
	    "memory");
	lines_free(&l);
}

HARNESS_TEST(test_cli_pub_body_from_stdin)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	struct client		*s;
	const char *const	 args[] = { "internal", "-", NULL };
	msgpack_object		 f;

	(void)state;
	s = harness_client(h, "listener");
	harness_sub(s, 1, "internal", 10, NULL, 0);
	assert_exit(run_cli(h, "pub", args, "line one\nline two\n", &p), 0,
	    "pub -", p);
	harness_expect(s, "msg", T, &f);
	/* The whole of stdin is the body (a trailing newline may go). */
	{
		const msgpack_object	*b = harness_get(&f, "body");
		size_t			 len;

		assert_non_null(b);
		len = b->type == MSGPACK_OBJECT_STR ? b->via.str.size :
		    b->via.bin.size;
		if (len == 18)
			harness_assert_bytes(b, "line one\nline two\n", 18);
		else
			harness_assert_bytes(b, "line one\nline two", 17);
	}
	harness_expect_nothing(s, HARNESS_QUIET_MS);
}

HARNESS_TEST(test_cli_pub_lines_publishes_one_message_per_line)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	struct client		*c;
	const char *const	 args[] = { "--lines", "--from", "external",
	    "internal", "-", NULL };
	char			*input, body[32], got[HARNESS_EID_MAX];
	char			 (*eids)[HARNESS_EID_MAX];
	struct lines		 l;
	msgpack_object		 f;
	uint64_t		 id;
	int			 i;

	(void)state;
	input = malloc(1000 * 16);
	eids = calloc(1000, HARNESS_EID_MAX);
	assert_non_null(input);
	assert_non_null(eids);
	input[0] = '\0';
	for (i = 0; i < 1000; i++)
		sprintf(input + strlen(input), "line-%04d\n", i);
	assert_exit(run_cli(h, "pub", args, input, &p), 0, "pub --lines", p);
	free(input);
	lines_split(&l, harness_proc_stdout(p));
	if (l.n != 1000)
		HFAIL("pub --lines printed %d lines, want 1000", l.n);
	for (i = 0; i < 1000; i++) {
		char	stored[16];

		if (sscanf(l.line[i], "%47s %15s", eids[i], stored) != 2)
			HFAIL("line %d: %s", i + 1, l.line[i]);
		assert_string_equal(stored, "memory");
		if (i > 0 && harness_eid_cmp(eids[i - 1], eids[i]) >= 0)
			HFAIL("eid %s after %s", eids[i], eids[i - 1]);
	}
	lines_free(&l);
	/* The log holds the 1000 messages in order. */
	c = harness_client(h, "auditor");
	id = harness_request(c, "op:s sid:u credit:u", "replay", 1u, 2000u);
	harness_expect_ack(c, id, &f);
	for (i = 0; i < 1000; i++) {
		snprintf(body, sizeof body, "line-%04d", i);
		harness_expect_msg(c, 1, body, T, &f);
		assert_string_equal(harness_str(&f, "eid", got, sizeof got),
		    eids[i]);
	}
	harness_expect(c, "end", T, &f);
	free(eids);
}

/* Publishes body-N every few ms until the process exits. */
static void
pub_until_exit(struct harness *h, struct harness_proc *p, int *status)
{
	struct client	*c = harness_client(h, "feeder");
	char		 body[32];
	int		 i;

	for (i = 0; i < 2000; i++) {
		snprintf(body, sizeof body, "m-%d", i);
		harness_pub(c, NULL, "internal", body, NULL);
		if (harness_proc_wait(p, 10, status))
			return;
	}
	harness_proc_kill(p, SIGKILL);
	HFAIL("sub --count 3 still runs after %d messages\nstdout: %s\n"
	    "stderr: %s", i, harness_proc_stdout(p), harness_proc_stderr(p));
}

HARNESS_TEST(test_cli_sub_count_3_prints_3_messages_and_exits_0)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	const char		*argv[] = { cli(), "sub", "--socket",
	    harness_sock(h), "--json", "--count", "3", "internal", NULL };
	struct lines		 l;
	char			 body[32];
	int			 status, i, first;

	(void)state;
	p = harness_proc_start(h, argv, NULL);
	pub_until_exit(h, p, &status);
	assert_exit(harness_exit_code(status), 0, "sub --count 3", p);
	lines_split(&l, harness_proc_stdout(p));
	if (l.n != 3)
		HFAIL("sub --count 3 printed %d lines: %s", l.n,
		    harness_proc_stdout(p));
	assert_json_lines(&l);
	/* Once subscribed it misses nothing: three consecutive bodies. */
	if (sscanf(json_str(&l, 0, "body", body, sizeof body), "m-%d",
	    &first) != 1)
		HFAIL("unexpected body %s", body);
	for (i = 1; i < 3; i++) {
		char	want[32];

		snprintf(want, sizeof want, "m-%d", first + i);
		assert_string_equal(json_str(&l, i, "body", body,
		    sizeof body), want);
	}
	lines_free(&l);
}

HARNESS_TEST(test_cli_sub_prints_readable_lines)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	const char		*argv[] = { cli(), "sub", "--socket",
	    harness_sock(h), "--count", "3", "internal", NULL };
	struct lines		 l;
	int			 status, i;

	(void)state;
	p = harness_proc_start(h, argv, NULL);
	pub_until_exit(h, p, &status);
	assert_exit(harness_exit_code(status), 0, "sub --count 3", p);
	lines_split(&l, harness_proc_stdout(p));
	if (l.n != 3)
		HFAIL("sub --count 3 printed %d lines: %s", l.n,
		    harness_proc_stdout(p));
	for (i = 0; i < 3; i++)
		if (strstr(l.line[i], "m-") == NULL)
			HFAIL("line %d does not show the body: %s", i + 1,
			    l.line[i]);
	lines_free(&l);
}

HARNESS_TEST(test_cli_sub_from_eid_prints_logged_messages)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	struct client		*c;
	struct harness_ack	 ack[4];
	struct lines		 l;
	char			 eid[HARNESS_EID_MAX];
	int			 i;

	(void)state;
	c = harness_client(h, "logger");
	for (i = 0; i < 4; i++) {
		char	body[16];

		snprintf(body, sizeof body, "old-%d", i);
		harness_pub(c, "external", "internal", body, &ack[i]);
	}
	{
		const char *const	args[] = { "--json", "--from-eid",
		    ack[1].eid, "--count", "3", "internal", NULL };

		assert_exit(run_cli(h, "sub", args, NULL, &p), 0,
		    "sub --from-eid --count 3", p);
	}
	lines_split(&l, harness_proc_stdout(p));
	assert_int_equal(l.n, 3);
	assert_json_lines(&l);
	for (i = 0; i < 3; i++)
		assert_string_equal(json_str(&l, i, "eid", eid, sizeof eid),
		    ack[i + 1].eid);
	lines_free(&l);
}

HARNESS_TEST(test_cli_sub_grants_demand_as_it_prints)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	struct client		*c;
	struct harness_ack	 ack[6];
	struct lines		 l;
	char			 eid[HARNESS_EID_MAX];
	int			 i;

	(void)state;
	c = harness_client(h, "logger");
	for (i = 0; i < 6; i++)
		harness_pub(c, "external", "internal", "e", &ack[i]);
	{
		const char *const	args[] = { "--json", "--credit", "1",
		    "--from-eid", ack[0].eid, "--count", "6", "internal",
		    NULL };

		assert_exit(run_cli(h, "sub", args, NULL, &p), 0,
		    "sub --credit 1 --count 6", p);
	}
	lines_split(&l, harness_proc_stdout(p));
	assert_int_equal(l.n, 6);
	for (i = 0; i < 6; i++)
		assert_string_equal(json_str(&l, i, "eid", eid, sizeof eid),
		    ack[i].eid);
	lines_free(&l);
}

HARNESS_TEST(test_cli_replay_prints_events_and_exits_0)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	struct client		*c;
	struct harness_ack	 ack[5];
	const char *const	 json[] = { "--json", NULL };
	const char *const	 plain[] = { NULL };
	static const char	 bin[] = { (char)0xff, (char)0xfe };
	struct lines		 l;
	char			 buf[64];
	uint64_t		 id;
	int			 i;

	(void)state;
	c = harness_client(h, "logger");
	for (i = 0; i < 4; i++) {
		char	body[16];

		snprintf(body, sizeof body, "ev-%d", i);
		harness_pub(c, i % 2 ? "a" : "b", "c", body, &ack[i]);
		harness_pub(c, NULL, "c", "same-tract", NULL);
	}
	/* A body that is not UTF-8 is printed as base64. */
	id = harness_request(c, "op:s from:s to:s body:b", "pub", "a", "c",
	    bin, sizeof bin);
	{
		msgpack_object	f;

		harness_expect_ack(c, id, &f);
		harness_str(&f, "eid", ack[4].eid, sizeof ack[4].eid);
	}

	assert_exit(run_cli(h, "replay", json, NULL, &p), 0, "replay --json",
	    p);
	lines_split(&l, harness_proc_stdout(p));
	if (l.n != 5)
		HFAIL("replay printed %d lines, want 5: %s", l.n,
		    harness_proc_stdout(p));
	assert_json_lines(&l);
	for (i = 0; i < 5; i++)
		assert_string_equal(json_str(&l, i, "eid", buf, sizeof buf),
		    ack[i].eid);
	for (i = 0; i < 4; i++) {
		char	want[16];

		snprintf(want, sizeof want, "ev-%d", i);
		assert_string_equal(json_str(&l, i, "body", buf, sizeof buf),
		    want);
	}
	assert_false(harness_json_has(l.line[4], l.len[4], "body"));
	assert_string_equal(json_str(&l, 4, "body_b64", buf, sizeof buf),
	    "//4=");
	lines_free(&l);

	assert_exit(run_cli(h, "replay", plain, NULL, &p), 0, "replay", p);
	lines_split(&l, harness_proc_stdout(p));
	assert_int_equal(l.n, 5);
	for (i = 0; i < 5; i++)
		if (strstr(l.line[i], ack[i].eid) == NULL)
			HFAIL("line %d does not show eid %s: %s", i + 1,
			    ack[i].eid, l.line[i]);
	lines_free(&l);

	{
		const char *const	args[] = { "--json", "--from",
		    ack[1].eid, "--to", ack[3].eid, NULL };

		assert_exit(run_cli(h, "replay", args, NULL, &p), 0,
		    "replay --from --to", p);
	}
	lines_split(&l, harness_proc_stdout(p));
	assert_int_equal(l.n, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(json_str(&l, i, "eid", buf, sizeof buf),
		    ack[i + 1].eid);
	lines_free(&l);

	{
		const char *const	args[] = { "--json", "--tract", "a",
		    "--limit", "1", NULL };

		assert_exit(run_cli(h, "replay", args, NULL, &p), 0,
		    "replay --tract --limit", p);
	}
	lines_split(&l, harness_proc_stdout(p));
	assert_int_equal(l.n, 1);
	assert_string_equal(json_str(&l, 0, "eid", buf, sizeof buf),
	    ack[1].eid);
	lines_free(&l);
}

/* Publishes n cross-tract bodies "p-0", "p-1", ... with pub --lines. */
static void
pub_lines(struct harness *h, int n)
{
	const char *const	 args[] = { "--lines", "--from", "external",
	    "internal", "-", NULL };
	struct harness_proc	*p;
	char			*input, *at;
	int			 i;

	input = malloc((size_t)n * 16 + 1);
	assert_non_null(input);
	at = input;
	*at = '\0';
	for (i = 0; i < n; i++)
		at += sprintf(at, "p-%d\n", i);
	assert_exit(run_cli(h, "pub", args, input, &p), 0, "pub --lines", p);
	free(input);
}

/* What `callosum replay` prints for JSON line i of a replay --json. */
static void
plain_line(const struct lines *json, int i, char *out, size_t size)
{
	char	f[6][64];

	snprintf(out, size, "%s %s->%s %s %s: %s",
	    json_str(json, i, "eid", f[0], sizeof f[0]),
	    json_str(json, i, "from", f[1], sizeof f[1]),
	    json_str(json, i, "to", f[2], sizeof f[2]),
	    json_str(json, i, "kind", f[3], sizeof f[3]),
	    json_str(json, i, "agent", f[4], sizeof f[4]),
	    json_str(json, i, "body", f[5], sizeof f[5]));
}

/* Runs replay with args: exit 0 and nothing at all on stderr. */
static const char *
replay_quiet(struct harness *h, const char *const *args, const char *what)
{
	struct harness_proc	*p;

	assert_exit(run_cli(h, "replay", args, NULL, &p), 0, what, p);
	if (*harness_proc_stderr(p) != '\0')
		HFAIL("%s wrote to stderr: %s", what, harness_proc_stderr(p));
	return (harness_proc_stdout(p));
}

HARNESS_TEST(test_cli_replay_off_a_terminal_prints_the_events_only)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char *const	 json[] = { "--json", NULL };
	const char *const	 plain[] = { NULL };
	struct lines		 lj, lp;
	char			 want[256], body[32], *before;
	int			 i, n = 1500;

	(void)state;
	pub_lines(h, n);
	before = strdup(replay_quiet(h, plain, "replay"));
	assert_non_null(before);
	/*
	 * Progress would start at once if stderr were a terminal: the
	 * harness's files are not, so output and stderr stay as they were.
	 */
	setenv(PROGRESS_ENV, "1", 1);
	lines_split(&lj, replay_quiet(h, json, "replay --json"));
	lines_split(&lp, replay_quiet(h, plain, "replay"));
	unsetenv(PROGRESS_ENV);
	assert_int_equal(lj.n, n);
	assert_json_lines(&lj);
	assert_int_equal(lp.n, n);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof want, "p-%d", i);
		assert_string_equal(json_str(&lj, i, "body", body,
		    sizeof body), want);
		plain_line(&lj, i, want, sizeof want);
		assert_string_equal(lp.line[i], want);
	}
	lines_free(&lj);
	lines_free(&lp);
	assert_string_equal(replay_quiet(h, plain, "replay"), before);
	free(before);
}

/* Stderr on a new pseudo-terminal: the master's fd; the slave's in *slave. */
static int
pty_open(int *slave)
{
	const char	*name;
	int		 m;

	if ((m = posix_openpt(O_RDWR | O_NOCTTY)) == -1 || grantpt(m) == -1 ||
	    unlockpt(m) == -1 || (name = ptsname(m)) == NULL ||
	    (*slave = open(name, O_RDWR | O_NOCTTY)) == -1)
		HFAIL("pseudo-terminal: %s", strerror(errno));
	return (m);
}

/* Appends what the terminal holds now to buf (at most cap - 1 bytes). */
static void
pty_drain(int m, char *buf, size_t cap, size_t *len, int wait_ms)
{
	struct pollfd	pfd = { .fd = m, .events = POLLIN };
	ssize_t		n;

	while (poll(&pfd, 1, wait_ms) == 1 && *len + 1 < cap) {
		if ((n = read(m, buf + *len, cap - 1 - *len)) <= 0)
			break;
		*len += (size_t)n;
		wait_ms = 0;
	}
	buf[*len] = '\0';
}

/*
 * Runs argv with stdout to the file out and stderr on a pseudo-terminal,
 * as a person would watch a replay into a file. Returns its exit code;
 * what it wrote to the terminal goes to tty.
 */
static int
run_on_tty(const char *const *argv, const char *out, char *tty, size_t cap)
{
	size_t	len = 0;
	pid_t	pid;
	int	m, slave, fd, status, waited = 0;

	m = pty_open(&slave);
	if ((pid = fork()) == -1)
		HFAIL("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) ==
		    -1 || dup2(fd, 1) == -1 || dup2(slave, 2) == -1)
			_exit(126);
		if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(fd, 0) == -1)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* Our slave fd stays open: the terminal keeps what was written. */
	while (waitpid(pid, &status, WNOHANG) != pid) {
		pty_drain(m, tty, cap, &len, 50);
		if ((waited += 50) > CLI_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			HFAIL("%s did not exit within %d ms", argv[1], CLI_MS);
		}
	}
	pty_drain(m, tty, cap, &len, 0);
	close(slave);
	close(m);
	return (harness_exit_code(status));
}

HARNESS_TEST(test_cli_replay_on_a_tty_shows_progress_then_clears_it)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char		*out = harness_path(h, "replay.out");
	const char		*argv[] = { cli(), "replay", "--socket",
	    harness_sock(h), NULL };
	static char		 tty[65536];
	char			*text, *last;
	size_t			 len, i, nl = 0;
	int			 n = 20000, code;

	(void)state;
	pub_lines(h, n);
	setenv(PROGRESS_ENV, "1", 1);
	code = run_on_tty(argv, out, tty, sizeof tty);
	unsetenv(PROGRESS_ENV);
	if (code != 0)
		HFAIL("replay on a terminal: exit %d: %s", code, tty);
	/* Every event on stdout, each line whole. */
	if ((text = harness_read_file(out, &len)) == NULL)
		HFAIL("no %s", out);
	for (i = 0; i < len; i++)
		nl += text[i] == '\n';
	assert_int_equal(nl, n);
	assert_true(len > 0 && text[len - 1] == '\n');
	free(text);
	/* One line rewritten in place, then blanked: no newline at all. */
	if (strstr(tty, "\rreplay: ") == NULL || strchr(tty, '\n') != NULL)
		HFAIL("no progress line on the terminal: \"%s\"", tty);
	len = strlen(tty);
	assert_true(len >= 3 && tty[len - 1] == '\r');
	tty[len - 1] = '\0';
	last = strrchr(tty, '\r');
	assert_non_null(last);
	assert_true(last[1] == ' ' && strspn(last + 1, " ") ==
	    strlen(last + 1));
}

HARNESS_TEST(test_cli_stats_json_is_one_object)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	const char *const	 args[] = { "--json", NULL };
	struct lines		 l;

	(void)state;
	assert_exit(run_cli(h, "stats", args, NULL, &p), 0, "stats --json", p);
	lines_split(&l, harness_proc_stdout(p));
	assert_int_equal(l.n, 1);
	assert_json_lines(&l);
	lines_free(&l);
}

HARNESS_TEST(test_cli_exits_69_without_a_router)
{
	struct harness		*h = harness_new();	/* no router */
	struct harness_proc	*p;
	const char *const	 pub[] = { "internal", "x", NULL };
	const char *const	 sub[] = { "internal", NULL };
	const char *const	 none[] = { NULL };

	(void)state;
	assert_exit(run_cli(h, "pub", pub, NULL, &p), 69, "pub", p);
	assert_exit(run_cli(h, "sub", sub, NULL, &p), 69, "sub", p);
	assert_exit(run_cli(h, "replay", none, NULL, &p), 69, "replay", p);
	assert_exit(run_cli(h, "stats", none, NULL, &p), 69, "stats", p);
}

HARNESS_TEST(test_cli_exits_64_on_bad_arguments)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	const char *const	 bogus[] = { "--bogus", "internal", "x", NULL };
	const char *const	 nobody[] = { "internal", NULL };
	const char *const	 count[] = { "--count", "abc", "internal",
	    NULL };
	const char		*nocmd[] = { cli(), NULL };
	const char		*frob[] = { cli(), "frobnicate", NULL };
	int			 code;

	(void)state;
	assert_exit(run_cli(h, "pub", bogus, NULL, &p), 64, "pub --bogus", p);
	assert_exit(run_cli(h, "pub", nobody, NULL, &p), 64,
	    "pub without BODY", p);
	assert_exit(run_cli(h, "sub", count, NULL, &p), 64,
	    "sub --count abc", p);
	code = harness_run(h, nocmd, NULL, CLI_MS, &p);
	assert_exit(code, 64, "no command", p);
	code = harness_run(h, frob, NULL, CLI_MS, &p);
	assert_exit(code, 64, "unknown command", p);
}

HARNESS_TEST(test_cli_exits_1_when_the_router_answers_err)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	const char *const	 sys[] = { "$sys", "x", NULL };
	const char *const	 tract[] = { "bad tract", "x", NULL };

	(void)state;
	assert_exit(run_cli(h, "pub", sys, NULL, &p), 1, "pub $sys", p);
	assert_exit(run_cli(h, "pub", tract, NULL, &p), 1, "pub 'bad tract'",
	    p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(test_cli_pub_prints_eid_and_stored),
		HARNESS_UNIT_TEST(test_cli_pub_json_prints_one_object),
		HARNESS_UNIT_TEST(test_cli_pub_body_from_stdin),
		HARNESS_UNIT_TEST(
		    test_cli_pub_lines_publishes_one_message_per_line),
		HARNESS_UNIT_TEST(
		    test_cli_sub_count_3_prints_3_messages_and_exits_0),
		HARNESS_UNIT_TEST(test_cli_sub_prints_readable_lines),
		HARNESS_UNIT_TEST(test_cli_sub_from_eid_prints_logged_messages),
		HARNESS_UNIT_TEST(test_cli_sub_grants_demand_as_it_prints),
		HARNESS_UNIT_TEST(test_cli_replay_prints_events_and_exits_0),
		HARNESS_UNIT_TEST(
		    test_cli_replay_off_a_terminal_prints_the_events_only),
		HARNESS_UNIT_TEST(
		    test_cli_replay_on_a_tty_shows_progress_then_clears_it),
		HARNESS_UNIT_TEST(test_cli_stats_json_is_one_object),
		HARNESS_UNIT_TEST(test_cli_exits_69_without_a_router),
		HARNESS_UNIT_TEST(test_cli_exits_64_on_bad_arguments),
		HARNESS_UNIT_TEST(
		    test_cli_exits_1_when_the_router_answers_err),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
