/*
 * callosum stats and callosum conns for a person and for scripts (issue 19,
 * observability): the summary on a terminal, --watch redrawing in place
 * until a signal, the flattened table and --json off a terminal, and the
 * connections table. Terminals are pseudo-terminals the test holds the
 * master of; the figures the router does not send yet come from a
 * stand-in router (fake_*) speaking just hello and stats.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define CLI_MS		20000	/* one CLI run (ASan builds start slowly) */
#define WATCH_MS	30000	/* frames of --watch 1, on a loaded machine */
#define MAX_LINES	256
#define PTY_ROWS	50
#define PTY_COLS	160
#define OUT_MAX		(1 << 20)

/* What cmd_stats.c writes to enter and leave its screen, and per frame. */
#define SCREEN_ENTER	"\033[?1049h\033[?25l"
#define SCREEN_LEAVE	"\033[?25h\033[?1049l"
#define SCREEN_HOME	"\033[H\033[J"

static const char *
cli(void)
{
	return (harness_bin("CALLOSUM_CLI"));
}

/*
 * Lines of text, split in place: "\r" before a newline goes too (a
 * terminal writes "\r\n").
 */
struct lines {
	char	*buf;
	char	*line[MAX_LINES];
	int	 n;
};

static void
lines_split(struct lines *l, const char *text, size_t len)
{
	char	*p, *end, *nl;

	if ((l->buf = malloc(len + 1)) == NULL)
		HFAIL("malloc: %s", strerror(errno));
	memcpy(l->buf, text, len);
	l->buf[len] = '\0';
	l->n = 0;
	for (p = l->buf, end = l->buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (l->n == MAX_LINES)
			HFAIL("more than %d lines of output", MAX_LINES);
		l->line[l->n++] = p;
	}
}

static void
lines_free(struct lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

/* The first line that starts with prefix, or NULL. */
static const char *
lines_find(const struct lines *l, const char *prefix)
{
	int	i;

	for (i = 0; i < l->n; i++)
		if (strncmp(l->line[i], prefix, strlen(prefix)) == 0)
			return (l->line[i]);
	return (NULL);
}

/* Splits a copy of line at blanks: up to max words into w (in buf). */
static int
words(const char *line, char *buf, size_t size, char **w, int max)
{
	char	*save, *t;
	int	 n = 0;

	snprintf(buf, size, "%s", line);
	for (t = strtok_r(buf, " ", &save); t != NULL && n < max;
	    t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	return (n);
}

/* Runs the CLI with args after "CMD --socket SOCK"; its exit code. */
static int
run_cli(struct harness *h, const char *sock, const char *cmd,
    const char *const *args, struct harness_proc **p)
{
	const char	*argv[32];
	int		 n = 0;

	argv[n++] = cli();
	argv[n++] = cmd;
	argv[n++] = "--socket";
	argv[n++] = sock;
	while (args != NULL && *args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	return (harness_run(h, argv, NULL, CLI_MS, p));
}

static void
assert_exit(int code, int want, const char *what, struct harness_proc *p)
{
	if (code != want)
		HFAIL("%s: want exit %d, got %d\nstdout: %s\nstderr: %s", what,
		    want, code, harness_proc_stdout(p), harness_proc_stderr(p));
}

/* Fails unless text holds no terminal control byte but newlines. */
static void
assert_no_controls(const char *what, const char *text, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7f)
			HFAIL("%s: control byte 0x%02x at %zu: %s", what, c, i,
			    text);
	}
	if (strstr(text, "\xe2\x80\xae") != NULL)
		HFAIL("%s: a bidirectional override reached the output: %s",
		    what, text);
}

/*
 * A program on a pseudo-terminal: its stdin, stdout and stderr, and its
 * controlling terminal, PTY_ROWS x PTY_COLS. Everything it writes is kept
 * in out. The running one is killed by the fixture's teardown.
 */
struct pty_run {
	pid_t	 pid;
	int	 master;
	int	 slave;		/* ours: the terminal keeps what was written */
	char	*out;
	size_t	 len;
	bool	 exited;
	int	 status;
};

static struct pty_run	*pty_running;

static void
pty_child(const char *name, const char *const *argv)
{
	int	fd;

	if (setsid() == -1 || (fd = open(name, O_RDWR)) == -1 ||
	    ioctl(fd, TIOCSCTTY, 0) == -1 || dup2(fd, 0) == -1 ||
	    dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		_exit(126);
	if (fd > 2)
		close(fd);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

static void
pty_start(struct pty_run *r, const char *const *argv)
{
	struct winsize	 ws = { .ws_row = PTY_ROWS, .ws_col = PTY_COLS };
	const char	*name;

	memset(r, 0, sizeof(*r));
	if ((r->out = malloc(OUT_MAX)) == NULL)
		HFAIL("malloc: %s", strerror(errno));
	r->out[0] = '\0';
	if ((r->master = posix_openpt(O_RDWR | O_NOCTTY)) == -1 ||
	    fcntl(r->master, F_SETFD, FD_CLOEXEC) == -1 ||
	    grantpt(r->master) == -1 || unlockpt(r->master) == -1 ||
	    (name = ptsname(r->master)) == NULL ||
	    (r->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    ioctl(r->master, TIOCSWINSZ, &ws) == -1)
		HFAIL("pseudo-terminal: %s", strerror(errno));
	if ((r->pid = fork()) == -1)
		HFAIL("fork: %s", strerror(errno));
	if (r->pid == 0)
		pty_child(name, argv);
	pty_running = r;
}

/* Reads what the program wrote, for up to wait_ms. */
static void
pty_read(struct pty_run *r, int wait_ms)
{
	struct pollfd	pfd = { .fd = r->master, .events = POLLIN };
	ssize_t		n;

	while (r->len + 1 < OUT_MAX && poll(&pfd, 1, wait_ms) == 1) {
		/* EIO: the program and every copy of its terminal are gone. */
		if ((n = read(r->master, r->out + r->len,
		    OUT_MAX - 1 - r->len)) <= 0)
			break;
		r->len += (size_t)n;
		r->out[r->len] = '\0';
		wait_ms = 0;
	}
}

/* Reads until the program exits (fails after timeout_ms); its exit code. */
static int
pty_wait(struct pty_run *r, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;

	while (waitpid(r->pid, &r->status, WNOHANG) != r->pid) {
		pty_read(r, 20);
		if (harness_now_ms() > deadline)
			HFAIL("%s did not exit within %d ms; it wrote: %s",
			    cli(), timeout_ms, r->out);
	}
	r->exited = true;
	pty_read(r, 0);
	return (harness_exit_code(r->status));
}

static void
pty_free(struct pty_run *r)
{
	if (!r->exited && r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->exited = true;
	}
	if (r->master > 0)
		close(r->master);
	if (r->slave > 0)
		close(r->slave);
	r->master = r->slave = -1;
	free(r->out);
	r->out = NULL;
	if (pty_running == r)
		pty_running = NULL;
}

/* How many times needle occurs in the program's output. */
static int
pty_count(const struct pty_run *r, const char *needle)
{
	const char	*p;
	int		 n = 0;

	for (p = r->out; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return (n);
}

/* The last frame that a later one (or the leaving) ended, as lines. */
static bool
pty_last_frame(const struct pty_run *r, struct lines *l)
{
	const char	*p, *start = NULL, *end = NULL;

	for (p = r->out; (p = strstr(p, SCREEN_HOME)) != NULL; p++) {
		start = end;
		end = p;
	}
	if ((p = strstr(r->out, SCREEN_LEAVE)) != NULL && end != NULL &&
	    p > end) {
		start = end;
		end = p;
	}
	if (start == NULL)
		return (false);
	start += strlen(SCREEN_HOME);
	lines_split(l, start, (size_t)(end - start));
	return (true);
}

/*
 * The stand-in router: one thread accepting on DIR/fake.sock, one client
 * at a time; welcome for hello, and for the n-th stats a snapshot with
 * every key of the issue 19 schema, its counters growing with n. Tract
 * names and an agent carry terminal controls: the CLI must defuse them.
 */
#define FAKE_TRACT_EVIL	"e\033]0;p\007\xe2\x80\xae"
#define FAKE_TRACT_LONG	"a-very-long-tract-name-that-goes-on"
#define FAKE_AGENT_SLOW	"slow\033[31mred"

struct fake {
	int		 lfd;
	pthread_t	 thread;
	bool		 running;
	char		 path[108];
};

static struct fake	fake;

static void
fake_send(int fd, msgpack_sbuffer *sb)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < sb->size) {
		n = send(fd, sb->data + off, sb->size - off, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/* Reads one frame's body into buf (size at least 64 KiB); its length. */
static ssize_t
fake_recv(int fd, char *buf, size_t size)
{
	unsigned char	hdr[WIRE_HDR_LEN];
	size_t		len, off;
	ssize_t		n;

	for (off = 0; off < sizeof(hdr); off += (size_t)n)
		if ((n = recv(fd, hdr + off, sizeof(hdr) - off, 0)) <= 0)
			return (-1);
	if ((len = wire_frame_len(hdr)) > size)
		return (-1);
	for (off = 0; off < len; off += (size_t)n)
		if ((n = recv(fd, buf + off, len - off, 0)) <= 0)
			return (-1);
	return ((ssize_t)len);
}

static void
fake_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

static void
fake_kv_f64(msgpack_packer *pk, const char *key, double v)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_double(pk, v);
}

static void
fake_kv_str(msgpack_packer *pk, const char *key, const char *v)
{
	wire_pack_cstr(pk, key);
	wire_pack_cstr(pk, v);
}

/* key: {"alpha": a, evil: b, long: c}. */
static void
fake_tracts(msgpack_packer *pk, const char *key, uint64_t a, uint64_t b,
    uint64_t c)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_map(pk, 3);
	fake_kv_u64(pk, "alpha", a);
	fake_kv_u64(pk, FAKE_TRACT_EVIL, b);
	fake_kv_u64(pk, FAKE_TRACT_LONG, c);
}

static void
fake_hist(msgpack_packer *pk, const char *key, uint64_t count, double p50,
    double p99)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_map(pk, 5);
	fake_kv_u64(pk, "count", count);
	fake_kv_f64(pk, "sum", 0.5);
	fake_kv_f64(pk, "p50", p50);
	fake_kv_f64(pk, "p99", p99);
	wire_pack_cstr(pk, "buckets");
	msgpack_pack_map(pk, 2);
	fake_kv_u64(pk, "0.00001", 3);
	fake_kv_u64(pk, "+Inf", count);
}

static void
fake_slow(msgpack_packer *pk)
{
	wire_pack_cstr(pk, "callosum_slow_subscribers");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 7);
	fake_kv_u64(pk, "conn", 9);
	fake_kv_str(pk, "agent", FAKE_AGENT_SLOW);
	fake_kv_u64(pk, "sid", 4);
	fake_kv_str(pk, "tract", "alpha");
	fake_kv_u64(pk, "pending", 900);
	fake_kv_u64(pk, "dropped", 12);
	fake_kv_str(pk, "overflow", "drop");
}

/* The n-th stats reply (n from 1): alpha publishes 100 per request. */
static void
fake_stats(msgpack_packer *pk, uint64_t id, uint64_t n)
{
	msgpack_pack_map(pk, 22);
	fake_kv_str(pk, "op", "stats");
	fake_kv_u64(pk, "id", id);
	fake_kv_str(pk, "server", "callosum/9.9.9");
	fake_kv_u64(pk, "callosum_connections", 2);
	fake_kv_str(pk, "callosum_eventlog_backend", "redis");
	fake_kv_str(pk, "callosum_eventlog_state", "fallback");
	fake_kv_u64(pk, "callosum_eventlog_depth", 7);
	fake_kv_u64(pk, "callosum_eventlog_fallback_depth", 3);
	fake_kv_f64(pk, "callosum_uptime_seconds", 3661.5);
	fake_kv_u64(pk, "callosum_process_resident_memory_bytes",
	    5 * 1024 * 1024);
	fake_kv_u64(pk, "callosum_process_open_fds", 17);
	fake_hist(pk, "callosum_publish_latency_seconds", 1234, 0.000042,
	    0.00125);
	fake_hist(pk, "callosum_eventlog_write_latency_seconds", 10, 0.0005,
	    0.002);
	fake_tracts(pk, "callosum_messages_published_total", 100 * n, 1, 2);
	fake_tracts(pk, "callosum_messages_delivered_total", 200 * n, 1, 2);
	fake_tracts(pk, "callosum_messages_dropped_total", 3, 0, 0);
	fake_tracts(pk, "callosum_subscriptions", 2, 0, 1);
	fake_tracts(pk, "callosum_pending", 5, 0, 0);
	fake_tracts(pk, "callosum_waiting_publishers", 0, 0, 0);
	fake_tracts(pk, "callosum_breaker_state", 1, 2, 0);
	fake_slow(pk);
	wire_pack_cstr(pk, "truncated");
	msgpack_pack_false(pk);
}

/* Answers one frame; false when the client is to be dropped. */
static bool
fake_answer(int fd, const char *buf, size_t len, uint64_t *nstats)
{
	msgpack_unpacked	 u;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	struct wire_str		 op;
	uint64_t		 id = 0;
	size_t			 start;
	bool			 ok = true;

	msgpack_unpacked_init(&u);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_unpack_next(&u, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
	    !client_get_str(&u.data, "op", &op)) {
		ok = false;
		goto out;
	}
	client_get_u64(&u.data, "id", &id);
	start = wire_frame_begin(&sb);
	if (op.len == 5 && memcmp(op.ptr, "hello", 5) == 0) {
		msgpack_pack_map(&pk, 5);
		fake_kv_str(&pk, "op", "welcome");
		fake_kv_u64(&pk, "v", 1);
		fake_kv_str(&pk, "server", "callosum/9.9.9");
		fake_kv_u64(&pk, "conn", 1);
		fake_kv_u64(&pk, "max_frame", 1 << 20);
	} else if (op.len == 5 && memcmp(op.ptr, "stats", 5) == 0)
		fake_stats(&pk, id, ++*nstats);
	else
		ok = false;
	wire_frame_end(&sb, start);
	if (ok)
		fake_send(fd, &sb);
out:
	msgpack_sbuffer_destroy(&sb);
	msgpack_unpacked_destroy(&u);
	return (ok);
}

static void *
fake_main(void *arg)
{
	static char	buf[1 << 16];
	uint64_t	nstats;
	ssize_t		len;
	int		fd;

	(void)arg;
	while ((fd = accept(fake.lfd, NULL, NULL)) != -1) {
		nstats = 0;
		while ((len = fake_recv(fd, buf, sizeof(buf))) != -1 &&
		    fake_answer(fd, buf, (size_t)len, &nstats))
			;
		close(fd);
	}
	return (NULL);
}

static const char *
fake_start(struct harness *h)
{
	struct sockaddr_un	sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(fake.path, sizeof(fake.path), "%s/fake.sock",
	    harness_dir(h));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fake.path);
	if ((fake.lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(fake.lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fake.lfd, 4) == -1)
		HFAIL("fake router: %s", strerror(errno));
	if (pthread_create(&fake.thread, NULL, fake_main, NULL) != 0)
		HFAIL("fake router: pthread_create");
	fake.running = true;
	return (fake.path);
}

static void
fake_stop(void)
{
	if (!fake.running)
		return;
	/* Wakes the accept() with an error: the thread returns. */
	shutdown(fake.lfd, SHUT_RDWR);
	pthread_join(fake.thread, NULL);
	close(fake.lfd);
	fake.running = false;
}

/* The harness's teardown, after what this file starts itself. */
static int
obs_teardown(void **state)
{
	if (pty_running != NULL)
		pty_free(pty_running);
	fake_stop();
	return (harness_teardown(state));
}

#define OBS_TEST(name)							\
	cmocka_unit_test_setup_teardown(name, harness_setup, obs_teardown)

/*
 * callosum conns
 */

HARNESS_TEST(test_cli_conns_lists_a_known_client)
{
	struct harness		*h = harness_start(NULL, NULL);
	const struct client_hello hello = { "obs-agent", "sess-1", "model-x",
	    NULL };
	struct client		*c;
	struct harness_proc	*p;
	struct lines		 l;
	const char		*row;
	char			 buf[512], *w[16];
	int			 n;

	(void)state;
	c = harness_client_hello(h, &hello);
	harness_sub(c, 1, "internal", 5, NULL, 0);
	assert_exit(run_cli(h, harness_sock(h), "conns", NULL, &p), 0,
	    "conns", p);
	lines_split(&l, harness_proc_stdout(p), strlen(harness_proc_stdout(p)));
	if (l.n < 3 || strncmp(l.line[0], "CONN ", 5) != 0)
		HFAIL("conns: no table: %s", harness_proc_stdout(p));
	n = words(l.line[0], buf, sizeof(buf), w, 16);
	assert_int_equal(n, 9);
	assert_string_equal(w[1], "AGENT");
	assert_string_equal(w[5], "SUBS");
	/* conn agent session model uid subs demand pending outq */
	row = NULL;
	for (n = 1; n < l.n && row == NULL; n++)
		if (strstr(l.line[n], " obs-agent ") != NULL)
			row = l.line[n];
	if (row == NULL)
		HFAIL("conns does not list obs-agent: %s",
		    harness_proc_stdout(p));
	n = words(row, buf, sizeof(buf), w, 16);
	assert_int_equal(n, 9);
	assert_int_equal(strtoull(w[0], NULL, 10), client_conn_id(c));
	assert_string_equal(w[1], "obs-agent");
	assert_string_equal(w[2], "sess-1");
	assert_string_equal(w[3], "model-x");
	assert_int_equal(strtoull(w[4], NULL, 10), getuid());
	assert_string_equal(w[5], "1");
	assert_string_equal(w[6], "5");
	/* The CLI's own connection is listed too, without a session. */
	if (strstr(harness_proc_stdout(p), " callosum-cli  -") == NULL)
		HFAIL("conns does not list itself: %s", harness_proc_stdout(p));
	lines_free(&l);
}

HARNESS_TEST(test_cli_conns_json_is_one_object)
{
	struct harness		*h = harness_start(NULL, NULL);
	const struct client_hello hello = { "obs-agent", NULL, NULL, NULL };
	const char *const	 args[] = { "--json", NULL };
	struct client		*c;
	struct harness_proc	*p;
	struct lines		 l;

	(void)state;
	c = harness_client_hello(h, &hello);
	harness_sub(c, 1, "internal", 5, NULL, 0);
	assert_exit(run_cli(h, harness_sock(h), "conns", args, &p), 0,
	    "conns --json", p);
	lines_split(&l, harness_proc_stdout(p), strlen(harness_proc_stdout(p)));
	assert_int_equal(l.n, 1);
	if (!harness_json_valid(l.line[0], strlen(l.line[0])) ||
	    !harness_json_has(l.line[0], strlen(l.line[0]), "conns") ||
	    !harness_json_has(l.line[0], strlen(l.line[0]), "truncated") ||
	    harness_json_has(l.line[0], strlen(l.line[0]), "op"))
		HFAIL("conns --json: %s", l.line[0]);
	if (strstr(l.line[0], "\"agent\":\"obs-agent\",\"session\":\"\","
	    "\"model\":\"\"") == NULL || strstr(l.line[0], "\"subs\":1,"
	    "\"demand\":5") == NULL)
		HFAIL("conns --json does not list obs-agent: %s", l.line[0]);
	lines_free(&l);
}

HARNESS_TEST(test_cli_conns_defuses_and_cuts_names)
{
	struct harness		*h = harness_start(NULL, NULL);
	const struct client_hello evil = { "ev\033[2J\007n\xe2\x80\xae",
	    "s\r\n", "m\x7f", NULL };
	const struct client_hello wide = {
	    "an-agent-name-far-too-long-for-its-column-0123456789", NULL,
	    NULL, NULL };
	struct harness_proc	*p;
	const char		*out;

	(void)state;
	harness_client_hello(h, &evil);
	harness_client_hello(h, &wide);
	assert_exit(run_cli(h, harness_sock(h), "conns", NULL, &p), 0,
	    "conns", p);
	out = harness_proc_stdout(p);
	assert_no_controls("conns", out, strlen(out));
	if (strstr(out, " ev\\x1b[2J\\x07n\\u202e ") == NULL ||
	    strstr(out, " s\\r\\n ") == NULL || strstr(out, " m\\x7f ") ==
	    NULL)
		HFAIL("conns does not escape the names: %s", out);
	/* AGENT is 24 columns: 21 of the name, then "...". */
	if (strstr(out, " an-agent-name-far-too... ") == NULL ||
	    strstr(out, "column") != NULL)
		HFAIL("conns does not cut a long agent: %s", out);
}

/*
 * callosum stats off a terminal and --json
 */

HARNESS_TEST(test_cli_stats_json_has_the_connection_count)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char *const	 args[] = { "--json", NULL };
	struct harness_proc	*p;
	struct lines		 l;

	(void)state;
	harness_client(h, "bystander");
	assert_exit(run_cli(h, harness_sock(h), "stats", args, &p), 0,
	    "stats --json", p);
	lines_split(&l, harness_proc_stdout(p), strlen(harness_proc_stdout(p)));
	assert_int_equal(l.n, 1);
	if (!harness_json_valid(l.line[0], strlen(l.line[0])) ||
	    !harness_json_has(l.line[0], strlen(l.line[0]),
	    "callosum_connections") ||
	    strstr(l.line[0], "\"callosum_connections\":2,") == NULL)
		HFAIL("stats --json: %s", l.line[0]);
	lines_free(&l);
}

/*
 * The table scripts read: "key  value" lines, the values in one column,
 * nested maps joined with dots, in the order of the reply; nothing for a
 * terminal, and one sample (no waiting for rates).
 */
HARNESS_TEST(test_cli_stats_off_a_terminal_keeps_the_key_table)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct harness_proc	*p;
	struct client		*c;
	struct lines		 l;
	const char		*out;
	size_t			 col = 0, at;
	int			 i;

	(void)state;
	c = harness_client(h, "feeder");
	harness_pub(c, "external", "internal", "x", NULL);
	assert_exit(run_cli(h, harness_sock(h), "stats", NULL, &p), 0,
	    "stats", p);
	out = harness_proc_stdout(p);
	assert_no_controls("stats", out, strlen(out));
	lines_split(&l, out, strlen(out));
	assert_true(l.n > 20);
	for (i = 0; i < l.n; i++) {
		at = strcspn(l.line[i], " ");
		at += strspn(l.line[i] + at, " ");
		if (col == 0)
			col = at;
		if (at != col || at < 3 || l.line[i][at] == '\0' ||
		    l.line[i][at - 2] != ' ')
			HFAIL("line %d is not \"key  value\" at column %zu: "
			    "%s", i + 1, col, l.line[i]);
	}
	assert_true(strncmp(l.line[0], "server ", 7) == 0);
	assert_non_null(lines_find(&l, "callosum_connections "));
	if (lines_find(&l, "callosum_messages_published_total.internal ") ==
	    NULL ||
	    lines_find(&l, "callosum_eventlog_events_total.memory ") == NULL ||
	    lines_find(&l, "callosum_breaker_state.external ") == NULL ||
	    lines_find(&l, "truncated ") == NULL ||
	    lines_find(&l, "TRACT") != NULL)
		HFAIL("stats: not the key table:\n%s", out);
	assert_true(strstr(lines_find(&l,
	    "callosum_messages_published_total.internal "), " 1") != NULL);
	assert_true(strstr(lines_find(&l, "callosum_eventlog_backend "),
	    " memory") != NULL);
	lines_free(&l);
}

HARNESS_TEST(test_cli_stats_watch_off_a_terminal_ends_0_on_sigterm)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char		*argv[] = { cli(), "stats", "--socket",
	    harness_sock(h), "--json", "--watch", "0.2", NULL };
	struct harness_proc	*p;
	struct lines		 l;
	int64_t			 deadline = harness_now_ms() + WATCH_MS;
	int			 status, i;

	(void)state;
	p = harness_proc_start(h, argv, NULL);
	while (harness_count_lines(harness_proc_stdout(p), "\"server\"") < 2)
		if (harness_proc_exited(p, &status) ||
		    harness_now_ms() > deadline)
			HFAIL("stats --json --watch: %s",
			    harness_proc_stderr(p));
		else
			usleep(20 * 1000);
	harness_proc_kill(p, SIGTERM);
	if (!harness_proc_wait(p, CLI_MS, &status))
		HFAIL("stats --watch runs on after SIGTERM");
	assert_exit(harness_exit_code(status), 0, "stats --watch, SIGTERM",
	    p);
	lines_split(&l, harness_proc_stdout(p), strlen(harness_proc_stdout(p)));
	for (i = 0; i < l.n; i++)
		if (!harness_json_valid(l.line[i], strlen(l.line[i])))
			HFAIL("line %d is not JSON: %s", i + 1, l.line[i]);
	lines_free(&l);
}

/*
 * callosum stats on a terminal
 */

/* Runs argv on a terminal to its end (within CLI_MS); the exit code. */
static int
run_on_pty(struct pty_run *r, const char *const *argv)
{
	pty_start(r, argv);
	return (pty_wait(r, CLI_MS));
}

HARNESS_TEST(test_cli_stats_on_a_terminal_is_a_summary)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char		*once[] = { cli(), "stats", "--socket",
	    harness_sock(h), "--interval", "0", NULL };
	const char		*rates[] = { cli(), "stats", "--socket",
	    harness_sock(h), "--interval", "0.3", NULL };
	struct client		*c;
	struct pty_run		 r;
	struct lines		 l;
	char			 buf[512], *w[16];

	(void)state;
	c = harness_client(h, "feeder");
	harness_pub(c, NULL, "internal", "x", NULL);
	if (run_on_pty(&r, once) != 0)
		HFAIL("stats on a terminal: %s", r.out);
	assert_no_controls("stats", r.out, r.len);
	lines_split(&l, r.out, r.len);
	if (lines_find(&l, "router      callosum/") == NULL ||
	    lines_find(&l, "event log   memory, direct; depth 0") == NULL ||
	    lines_find(&l, "TRACT ") == NULL ||
	    strstr(r.out, "PUB/S") != NULL || strstr(r.out, "\n$sys ") == NULL)
		HFAIL("stats on a terminal, one sample:\n%s", r.out);
	/* TRACT PUBLISHED DELIVERED DROPPED SUBS PENDING WAITING BREAKER */
	assert_int_equal(words(lines_find(&l, "internal "), buf, sizeof(buf),
	    w, 16), 8);
	assert_string_equal(w[1], "1");
	assert_string_equal(w[5], "0");		/* callosum_pending */
	assert_string_equal(w[7], "closed");
	lines_free(&l);
	pty_free(&r);

	if (run_on_pty(&r, rates) != 0)
		HFAIL("stats on a terminal: %s", r.out);
	lines_split(&l, r.out, r.len);
	if (lines_find(&l, "TRACT ") == NULL ||
	    strstr(lines_find(&l, "TRACT "), " PUB/S ") == NULL)
		HFAIL("stats on a terminal, two samples:\n%s", r.out);
	assert_int_equal(words(lines_find(&l, "internal "), buf, sizeof(buf),
	    w, 16), 10);
	assert_string_equal(w[2], "0.0");
	lines_free(&l);
	pty_free(&r);
}

HARNESS_TEST(test_cli_stats_shows_the_new_figures_safely)
{
	struct harness		*h = harness_new();
	const char		*argv[] = { cli(), "stats", "--socket",
	    fake_start(h), "--interval", "0.2", NULL };
	struct pty_run		 r;
	struct lines		 l;
	const char		*row;
	char			 buf[512], *w[16];

	(void)state;
	if (run_on_pty(&r, argv) != 0)
		HFAIL("stats against the stand-in: %s", r.out);
	assert_no_controls("stats", r.out, r.len);
	lines_split(&l, r.out, r.len);
	if (lines_find(&l, "router      callosum/9.9.9, up 1:01:01, "
	    "2 connections") == NULL ||
	    lines_find(&l, "event log   redis, fallback; depth 7, fallback "
	    "depth 3; writes p50 500us, p99 2.00ms") == NULL ||
	    lines_find(&l, "publish     p50 42us, p99 1.25ms over 1234 "
	    "publishes") == NULL ||
	    lines_find(&l, "process     rss 5.0 MiB, 17 open fds") == NULL ||
	    lines_find(&l, "messages    203 published (") == NULL)
		HFAIL("stats does not show the new figures:\n%s", r.out);
	/* alpha: 100 then 200 published, 0.2 s apart. */
	assert_int_equal(words(lines_find(&l, "alpha "), buf, sizeof(buf), w,
	    16), 10);
	assert_string_equal(w[1], "200");
	assert_true(strtod(w[2], NULL) > 0);
	assert_string_equal(w[3], "400");
	assert_string_equal(w[7], "5");
	assert_string_equal(w[9], "open");
	if ((row = lines_find(&l, "e\\x1b]0;p\\x07\\u202e ")) == NULL ||
	    strstr(row, " half_open") == NULL ||
	    lines_find(&l, "a-very-long-tract-nam... ") == NULL)
		HFAIL("stats does not defuse or cut tract names:\n%s", r.out);
	if (lines_find(&l, "slow subscribers") == NULL ||
	    (row = strstr(r.out, " slow\\x1b[31mred ")) == NULL ||
	    strstr(row, " alpha ") == NULL || strstr(row, " 900 ") == NULL ||
	    strstr(row, " drop") == NULL)
		HFAIL("stats does not show the slow subscriber:\n%s", r.out);
	lines_free(&l);
	pty_free(&r);
}

/* Publishes into internal while reading the terminal, for wait_ms. */
static void
feed_and_read(struct client *c, struct pty_run *r, int wait_ms)
{
	int64_t	end = harness_now_ms() + wait_ms;

	while (harness_now_ms() < end) {
		harness_pub(c, NULL, "internal", "x", NULL);
		pty_read(r, 20);
	}
}

/*
 * --watch 1 on a terminal: frames drawn in place with rates between them
 * until SIGINT, then exit 0 with the terminal given back as it was.
 */
HARNESS_TEST(test_cli_stats_watch_refreshes_until_sigint)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char		*argv[] = { cli(), "stats", "--socket",
	    harness_sock(h), "--watch", "1", NULL };
	int64_t			 deadline = harness_now_ms() + WATCH_MS;
	struct client		*c;
	struct pty_run		 r;
	struct lines		 l;
	char			 buf[512], *w[16];
	bool			 rate = false;

	(void)state;
	c = harness_client(h, "feeder");
	pty_start(&r, argv);
	feed_and_read(c, &r, 2500);
	/* A first frame and two refreshes, the last with a rate. */
	while (!rate) {
		if (pty_count(&r, SCREEN_HOME) >= 3 && pty_last_frame(&r, &l)) {
			rate = lines_find(&l, "internal ") != NULL &&
			    words(lines_find(&l, "internal "), buf,
			    sizeof(buf), w, 16) == 10 &&
			    strtod(w[2], NULL) > 0;
			lines_free(&l);
		}
		if (!rate && harness_now_ms() > deadline)
			HFAIL("stats --watch: no refreshed rate: %s", r.out);
		feed_and_read(c, &r, 100);
	}
	if (strncmp(r.out, SCREEN_ENTER, strlen(SCREEN_ENTER)) != 0 ||
	    strstr(r.out, "TRACT ") == NULL ||
	    strstr(r.out, "Ctrl-C to quit") == NULL)
		HFAIL("stats --watch: %s", r.out);
	kill(r.pid, SIGINT);
	assert_int_equal(pty_wait(&r, CLI_MS), 0);
	if (r.len < strlen(SCREEN_LEAVE) || strcmp(r.out + r.len -
	    strlen(SCREEN_LEAVE), SCREEN_LEAVE) != 0)
		HFAIL("stats --watch did not end by restoring the terminal: "
		    "%s", r.out + (r.len > 300 ? r.len - 300 : 0));
	pty_free(&r);
}

HARNESS_TEST(test_cli_stats_watch_ends_0_on_sigterm)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char		*argv[] = { cli(), "stats", "--socket",
	    harness_sock(h), "--watch", "60", NULL };
	int64_t			 deadline = harness_now_ms() + WATCH_MS;
	struct pty_run		 r;

	(void)state;
	pty_start(&r, argv);
	while (strstr(r.out, "TRACT ") == NULL) {
		if (harness_now_ms() > deadline)
			HFAIL("stats --watch drew nothing: %s", r.out);
		pty_read(&r, 50);
	}
	/* In its 60 s pause: the signal ends the pause at once. */
	kill(r.pid, SIGTERM);
	assert_int_equal(pty_wait(&r, CLI_MS), 0);
	assert_int_equal(pty_count(&r, SCREEN_HOME), 1);
	assert_true(r.len > strlen(SCREEN_LEAVE) && strcmp(r.out + r.len -
	    strlen(SCREEN_LEAVE), SCREEN_LEAVE) == 0);
	pty_free(&r);
}

/* The router goes: the terminal is restored, then one line says why. */
HARNESS_TEST(test_cli_stats_watch_restores_the_terminal_if_router_goes)
{
	struct harness		*h = harness_start(NULL, NULL);
	const char		*argv[] = { cli(), "stats", "--socket",
	    harness_sock(h), "--watch", "0.2", NULL };
	int64_t			 deadline = harness_now_ms() + WATCH_MS;
	struct pty_run		 r;
	const char		*after;
	int			 code;

	(void)state;
	pty_start(&r, argv);
	while (strstr(r.out, "TRACT ") == NULL) {
		if (harness_now_ms() > deadline)
			HFAIL("stats --watch drew nothing: %s", r.out);
		pty_read(&r, 50);
	}
	harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	code = pty_wait(&r, CLI_MS);
	if (code != 69 || (after = strstr(r.out, SCREEN_LEAVE)) == NULL)
		HFAIL("stats --watch without its router: exit %d: %s", code,
		    r.out);
	after += strlen(SCREEN_LEAVE);
	if (strncmp(after, "callosum: ", 10) != 0 ||
	    harness_count_lines(after, "callosum: ") != 1 ||
	    strchr(after, '\033') != NULL)
		HFAIL("stats --watch: not one line after the screen: \"%s\"",
		    after);
	pty_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		OBS_TEST(test_cli_conns_lists_a_known_client),
		OBS_TEST(test_cli_conns_json_is_one_object),
		OBS_TEST(test_cli_conns_defuses_and_cuts_names),
		OBS_TEST(test_cli_stats_json_has_the_connection_count),
		OBS_TEST(test_cli_stats_off_a_terminal_keeps_the_key_table),
		OBS_TEST(test_cli_stats_watch_off_a_terminal_ends_0_on_sigterm),
		OBS_TEST(test_cli_stats_on_a_terminal_is_a_summary),
		OBS_TEST(test_cli_stats_shows_the_new_figures_safely),
		OBS_TEST(test_cli_stats_watch_refreshes_until_sigint),
		OBS_TEST(test_cli_stats_watch_ends_0_on_sigterm),
		OBS_TEST(
		    test_cli_stats_watch_restores_the_terminal_if_router_goes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
