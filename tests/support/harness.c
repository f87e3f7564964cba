/*
 * harness: processes in a temp dir, stopped by pid; waits with deadlines.
 * See harness.h. Nothing here sleeps to synchronise: the only pauses are
 * the 1 ms steps of loops that poll a condition under a deadline.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_INTERNAL
#include "tests/support/harness.h"

#define HARNESS_MAX		16	/* harnesses per test */
#define HARNESS_PROC_MAX	64	/* processes per harness */

struct harness_proc {
	struct harness	*h;
	pid_t		 pid;
	bool		 exited;
	int		 status;
	char		 out_path[PATH_MAX];
	char		 err_path[PATH_MAX];
	char		*out;
	char		*err;
};

struct harness {
	char			 dir[96];	/* sun_path holds 108 */
	char			 sock[PATH_MAX];
	char			 log[PATH_MAX];
	pid_t			 router;	/* -1: none running */
	bool			 router_started;
	int			 router_status;
	bool			 router_stopped;
	struct harness_proc	*procs[HARNESS_PROC_MAX];
	int			 nprocs;
};

static struct harness	*harnesses[HARNESS_MAX];
static int		 nharnesses;
static struct client	**clients;
static size_t		 nclients, clients_cap;
static bool		 test_passed;
static uint64_t		 next_id = 1000;
static const char	*loc_file = "?";
static int		 loc_line;

static void	 proc_reap(struct harness_proc *, bool block);

void
harness_loc(const char *file, int line)
{
	loc_file = file;
	loc_line = line;
}

void
harness_fail(const char *file, int line, const char *fmt, ...)
{
	char	buf[8192];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	print_error("%s\n", buf);
	_fail(file, line);
	abort();	/* _fail longjmps out of the test */
}

/* A failure inside a helper, reported at the test line that called it. */
#define LFAIL(...)	harness_fail(loc_file, loc_line, __VA_ARGS__)

int64_t
harness_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int64_t
harness_wall_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

/* One step of a polling loop: 1 ms. */
static void
poll_step(void)
{
	struct timespec	ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

bool
harness_poll(bool (*cond)(void *), void *arg, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		if (cond(arg))
			return (true);
		if (harness_now_ms() >= deadline)
			return (false);
		poll_step();
	}
}

/*
 * Fixtures.
 */

int
harness_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	test_passed = false;
	loc_file = "?";
	loc_line = 0;
	return (0);
}

void
harness_passed(void)
{
	test_passed = true;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return (0);
}

/* True when the log shows a sanitizer report. */
static bool
log_has_sanitizer_report(struct harness *h)
{
	char	*text;
	bool	 found;

	if ((text = harness_read_file(h->log, NULL)) == NULL)
		return (false);
	found = strstr(text, "AddressSanitizer") != NULL ||
	    strstr(text, "LeakSanitizer") != NULL ||
	    strstr(text, "runtime error:") != NULL;
	free(text);
	return (found);
}

static void
harness_free(struct harness *h)
{
	int	i;

	for (i = 0; i < h->nprocs; i++) {
		struct harness_proc	*p = h->procs[i];

		if (!p->exited) {
			kill(p->pid, SIGKILL);
			proc_reap(p, true);
		}
		free(p->out);
		free(p->err);
		free(p);
	}
	nftw(h->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(h);
}

int
harness_teardown(void **state)
{
	int	 i, rc = 0;
	size_t	 j;

	(void)state;
	for (j = 0; j < nclients; j++)
		client_close(clients[j]);
	nclients = 0;
	for (i = 0; i < nharnesses; i++) {
		struct harness	*h = harnesses[i];
		bool		 bad = false;

		if (h->router_started && !h->router_stopped) {
			int	status;

			status = harness_router_stop(h, SIGTERM,
			    HARNESS_STOP_MS);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				print_error("callosumd did not exit 0 on "
				    "SIGTERM (status %d: %s %d)\n", status,
				    WIFEXITED(status) ? "exit" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) :
				    WTERMSIG(status));
				bad = true;
			}
		}
		if (h->router_started && log_has_sanitizer_report(h)) {
			print_error("callosumd log shows a sanitizer "
			    "report\n");
			bad = true;
		}
		if (h->router_started && (bad || !test_passed))
			harness_print_log(h);
		if (bad)
			rc = -1;
		harness_free(h);
	}
	nharnesses = 0;
	return (rc);
}

/*
 * Directories and files.
 */

const char *
harness_bin(const char *env)
{
	const char	*bin = getenv(env);

	if (bin == NULL || *bin == '\0')
		HFAIL("%s is not set", env);
	return (bin);
}

struct harness *
harness_new(void)
{
	struct harness	*h;
	const char	*tmp;

	if (nharnesses == HARNESS_MAX)
		LFAIL("too many harnesses in one test");
	if ((h = calloc(1, sizeof *h)) == NULL)
		LFAIL("calloc: %s", strerror(errno));
	h->router = -1;
	/* Short: sun_path holds 108 bytes. */
	if ((tmp = getenv("TMPDIR")) == NULL || strlen(tmp) > 40)
		tmp = "/tmp";
	snprintf(h->dir, sizeof h->dir, "%s/callosum-it.XXXXXX", tmp);
	if (mkdtemp(h->dir) == NULL) {
		free(h);
		LFAIL("mkdtemp %s: %s", tmp, strerror(errno));
	}
	snprintf(h->sock, sizeof h->sock, "%s/callosum.sock", h->dir);
	snprintf(h->log, sizeof h->log, "%s/callosumd.log", h->dir);
	harnesses[nharnesses++] = h;
	return (h);
}

const char *
harness_dir(struct harness *h)
{
	return (h->dir);
}

const char *
harness_sock(struct harness *h)
{
	return (h->sock);
}

const char *
harness_path(struct harness *h, const char *name)
{
	static char	buf[8][PATH_MAX];
	static int	next;
	char		*p = buf[next++ % 8];

	if (strlen(name) > 256)
		LFAIL("file name too long: %s", name);
	snprintf(p, PATH_MAX, "%s/%.256s", h->dir, name);
	return (p);
}

const char *
harness_write_file(struct harness *h, const char *name, const char *text)
{
	const char	*path = harness_path(h, name);
	FILE		*f;

	if ((f = fopen(path, "w")) == NULL)
		LFAIL("fopen %s: %s", path, strerror(errno));
	if (fputs(text, f) == EOF || fclose(f) == EOF)
		LFAIL("write %s: %s", path, strerror(errno));
	return (path);
}

char *
harness_read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL)
		return (NULL);
	for (;;) {
		if (cap - len < 4096) {
			char	*nbuf;

			cap = cap == 0 ? 8192 : cap * 2;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fclose(f);
				return (NULL);
			}
			buf = nbuf;
		}
		if ((n = fread(buf + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return (buf);
}

const char *
harness_log(struct harness *h)
{
	return (harness_path(h, "callosumd.log"));
}

/*
 * Log lines are "LEVEL TS COMPONENT MESSAGE k=v...": a needle that begins
 * with a level word (" warn accept_paused ") matches lines of that level
 * holding the rest; any other needle is a plain substring.
 */
static const char *
harness_needle_level(const char *needle, size_t *len)
{
	static const char *const levels[] = { "error", "warn", "info",
	    "debug" };
	size_t	i;

	while (*needle == ' ')
		needle++;
	for (i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		*len = strlen(levels[i]);
		if (strncmp(needle, levels[i], *len) == 0 &&
		    needle[*len] == ' ')
			return (levels[i]);
	}
	return (NULL);
}

static bool
harness_line_has(const char *line, const char *nl, const char *needle,
    size_t nlen)
{
	const char	*q;

	for (q = line; q + nlen <= nl; q++) {
		if (memcmp(q, needle, nlen) == 0)
			return (true);
	}
	return (false);
}

int
harness_count_lines(const char *text, const char *needle)
{
	const char	*line = text, *nl, *level;
	size_t		 llen = 0, nlen;
	int		 n = 0;

	if ((level = harness_needle_level(needle, &llen)) != NULL)
		needle = strstr(needle, level) + llen;	/* " rest" */
	nlen = strlen(needle);
	while (*line != '\0') {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		if ((level == NULL || (strncmp(line, level, llen) == 0 &&
		    line[llen] == ' ')) &&
		    harness_line_has(line, nl, needle, nlen))
			n++;
		line = *nl == '\0' ? nl : nl + 1;
	}
	return (n);
}

int
harness_file_count_lines(const char *path, const char *needle)
{
	char	*text;
	int	 n;

	if ((text = harness_read_file(path, NULL)) == NULL)
		return (0);
	n = harness_count_lines(text, needle);
	free(text);
	return (n);
}

struct harness_line_wait {
	const char	*path;
	const char	*needle;
};

static bool
harness_has_line(void *arg)
{
	struct harness_line_wait	*w = arg;

	return (harness_file_count_lines(w->path, w->needle) > 0);
}

void
harness_wait_line(const char *path, const char *needle, int timeout_ms)
{
	struct harness_line_wait	w = { path, needle };

	if (!harness_poll(harness_has_line, &w, timeout_ms))
		HFAIL("no \"%s\" in %s after %d ms", needle, path,
		    timeout_ms);
}

void
harness_print_log(struct harness *h)
{
	char	*text;

	if ((text = harness_read_file(h->log, NULL)) == NULL) {
		fprintf(stderr, "--- %s: unreadable\n", h->log);
		return;
	}
	fprintf(stderr, "--- callosumd log (%s) ---\n%s%s--- end of log ---\n",
	    h->log, text, strlen(text) > 0 && text[strlen(text) - 1] != '\n' ?
	    "\n" : "");
	free(text);
}

/*
 * Processes.
 */

int
harness_exit_code(int status)
{
	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (-1);
}

/* fork and exec argv with fd 0, 1, 2 from the given paths. */
static pid_t
spawn(const char *const *argv, const char *in, const char *out,
    const char *err)
{
	pid_t	pid;
	int	fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		LFAIL("fork: %s", strerror(errno));
	if (pid != 0)
		return (pid);
	signal(SIGPIPE, SIG_DFL);
	if ((fd = open(in, O_RDONLY)) == -1 || dup2(fd, 0) == -1)
		_exit(126);
	close(fd);
	if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1 ||
	    dup2(fd, 1) == -1)
		_exit(126);
	close(fd);
	if (err != out &&
	    (fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		_exit(126);
	if (dup2(err != out ? fd : 1, 2) == -1)
		_exit(126);
	if (err != out)
		close(fd);
	execv(argv[0], (char *const *)argv);
	dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void
proc_reap(struct harness_proc *p, bool block)
{
	int	status;
	pid_t	r;

	if (p->exited)
		return;
	do
		r = waitpid(p->pid, &status, block ? 0 : WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == p->pid) {
		p->exited = true;
		p->status = status;
	} else if (r == -1) {
		p->exited = true;
		p->status = -1;
	}
}

struct harness_proc *
harness_proc_start(struct harness *h, const char *const *argv,
    const char *stdin_text)
{
	struct harness_proc	*p;
	char			 in[PATH_MAX];
	int			 n;

	if (h->nprocs == HARNESS_PROC_MAX)
		LFAIL("too many processes in one test");
	if (argv[0] == NULL || argv[0][0] == '\0')
		LFAIL("no program to run (is the env variable set?)");
	if ((p = calloc(1, sizeof *p)) == NULL)
		LFAIL("calloc: %s", strerror(errno));
	n = h->nprocs;
	p->h = h;
	snprintf(p->out_path, sizeof p->out_path, "%s/proc%d.out", h->dir, n);
	snprintf(p->err_path, sizeof p->err_path, "%s/proc%d.err", h->dir, n);
	if (stdin_text != NULL) {
		char	name[32];

		snprintf(name, sizeof name, "proc%d.in", n);
		snprintf(in, sizeof in, "%s", harness_write_file(h, name,
		    stdin_text));
	} else
		snprintf(in, sizeof in, "/dev/null");
	h->procs[h->nprocs++] = p;
	p->pid = spawn(argv, in, p->out_path, p->err_path);
	return (p);
}

bool
harness_proc_exited(struct harness_proc *p, int *status)
{
	proc_reap(p, false);
	if (p->exited && status != NULL)
		*status = p->status;
	return (p->exited);
}

bool
harness_proc_wait(struct harness_proc *p, int timeout_ms, int *status)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		if (harness_proc_exited(p, status))
			return (true);
		if (harness_now_ms() >= deadline)
			return (false);
		poll_step();
	}
}

pid_t
harness_proc_pid(struct harness_proc *p)
{
	return (p->pid);
}

void
harness_proc_kill(struct harness_proc *p, int sig)
{
	if (!p->exited)
		kill(p->pid, sig);
}

const char *
harness_proc_stdout(struct harness_proc *p)
{
	free(p->out);
	if ((p->out = harness_read_file(p->out_path, NULL)) == NULL)
		p->out = strdup("");
	return (p->out);
}

const char *
harness_proc_stderr(struct harness_proc *p)
{
	free(p->err);
	if ((p->err = harness_read_file(p->err_path, NULL)) == NULL)
		p->err = strdup("");
	return (p->err);
}

int
harness_run(struct harness *h, const char *const *argv,
    const char *stdin_text, int timeout_ms, struct harness_proc **procp)
{
	struct harness_proc	*p;
	int			 status;

	p = harness_proc_start(h, argv, stdin_text);
	if (!harness_proc_wait(p, timeout_ms, &status)) {
		harness_proc_kill(p, SIGKILL);
		proc_reap(p, true);
		LFAIL("%s did not exit within %d ms\nstdout: %s\nstderr: %s",
		    argv[0], timeout_ms, harness_proc_stdout(p),
		    harness_proc_stderr(p));
	}
	if (procp != NULL)
		*procp = p;
	return (harness_exit_code(status));
}

/*
 * Routers.
 */

bool
harness_sock_accepts(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;
	bool			ok;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return (false);
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (false);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	return (ok);
}

void
harness_router_start(struct harness *h, const char *config,
    const char *const *args)
{
	const char	*argv[64];
	const char	*bin;
	char		 conf[PATH_MAX];
	int		 n = 0, status;
	int64_t		 deadline;

	if (h->router_started && !h->router_stopped)
		LFAIL("a router already runs in %s", h->dir);
	if ((bin = getenv("CALLOSUMD")) == NULL || *bin == '\0')
		LFAIL("CALLOSUMD is not set (run the tests with ctest)");
	argv[n++] = bin;
	argv[n++] = "--socket";
	argv[n++] = h->sock;
	if (config != NULL) {
		snprintf(conf, sizeof conf, "%s",
		    harness_write_file(h, "callosumd.conf", config));
		argv[n++] = "--config";
		argv[n++] = conf;
	}
	while (args != NULL && *args != NULL && n < 63)
		argv[n++] = *args++;
	argv[n] = NULL;

	h->router = spawn(argv, "/dev/null", h->log, h->log);
	h->router_started = true;
	h->router_stopped = false;
	deadline = harness_now_ms() + HARNESS_START_MS;
	for (;;) {
		pid_t	r = waitpid(h->router, &status, WNOHANG);

		if (r == h->router) {
			h->router_stopped = true;
			h->router_status = status;
			h->router = -1;
			LFAIL("callosumd exited during start-up (status %d, "
			    "exit code %d)", status, harness_exit_code(status));
		}
		if (harness_sock_accepts(h->sock))
			return;
		if (harness_now_ms() >= deadline)
			LFAIL("callosumd does not accept on %s after %d ms",
			    h->sock, HARNESS_START_MS);
		poll_step();
	}
}

struct harness *
harness_start(const char *config, const char *const *args)
{
	struct harness	*h = harness_new();

	harness_router_start(h, config, args);
	return (h);
}

pid_t
harness_router_pid(struct harness *h)
{
	return (h->router);
}

int
harness_router_stop(struct harness *h, int sig, int timeout_ms)
{
	int64_t	deadline;
	int	status = -1;
	pid_t	r;

	if (!h->router_started || h->router_stopped)
		return (h->router_status);
	kill(h->router, sig);
	deadline = harness_now_ms() + timeout_ms;
	for (;;) {
		r = waitpid(h->router, &status, WNOHANG);
		if (r == h->router)
			break;
		if (r == -1 && errno != EINTR) {
			status = -1;
			break;
		}
		if (harness_now_ms() >= deadline) {
			print_error("callosumd (pid %d) still runs %d ms after "
			    "signal %d: SIGKILL\n", (int)h->router, timeout_ms,
			    sig);
			kill(h->router, SIGKILL);
			while (waitpid(h->router, &status, 0) == -1 &&
			    errno == EINTR)
				;
			break;
		}
		poll_step();
	}
	h->router_stopped = true;
	h->router_status = status;
	h->router = -1;
	return (status);
}

/*
 * Clients.
 */

static void
client_register(struct client *c)
{
	if (nclients == clients_cap) {
		size_t		 ncap = clients_cap == 0 ? 64 : clients_cap * 2;
		struct client	**n;

		if ((n = realloc(clients, ncap * sizeof *n)) == NULL)
			LFAIL("realloc: %s", strerror(errno));
		clients = n;
		clients_cap = ncap;
	}
	clients[nclients++] = c;
}

struct client *
harness_connect(struct harness *h)
{
	struct client	*c;

	if ((c = client_connect(h->sock)) == NULL)
		LFAIL("client_connect %s: %s", h->sock, strerror(errno));
	client_register(c);
	return (c);
}

struct client *
harness_client_hello(struct harness *h, const struct client_hello *hello)
{
	struct client	*c = harness_connect(h);
	const char	*code = NULL;

	if (client_hello(c, hello, HARNESS_TIMEOUT_MS, &code) == -1) {
		if (code != NULL)
			LFAIL("hello as %s: err %s", hello->agent, code);
		LFAIL("hello as %s: %s", hello->agent, strerror(errno));
	}
	return (c);
}

struct client *
harness_client(struct harness *h, const char *agent)
{
	struct client_hello	hello;

	memset(&hello, 0, sizeof hello);
	hello.agent = agent;
	return (harness_client_hello(h, &hello));
}

void
harness_client_close(struct client *c)
{
	size_t	i;

	for (i = 0; i < nclients; i++) {
		if (clients[i] == c) {
			clients[i] = clients[--nclients];
			break;
		}
	}
	client_close(c);
}

uint64_t
harness_id(void)
{
	return (next_id++);
}

/*
 * Packing.
 */

static void
pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

static void
pack_cstr(msgpack_packer *pk, const char *s)
{
	pack_str(pk, s, strlen(s));
}

/* Packs fmt's items as a map with room for extra pairs after them. */
static void
pack_items(msgpack_packer *pk, size_t extra, const char *fmt, va_list ap)
{
	const char	*p, *colon;
	size_t		 n = 0;

	for (p = fmt; *p != '\0'; p++)
		if (*p == ':')
			n++;
	msgpack_pack_map(pk, n + extra);
	p = fmt;
	while (*p != '\0') {
		const char	*const *v;
		const char	*s;
		const void	*b;
		size_t		 len, k;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if ((colon = strchr(p, ':')) == NULL)
			LFAIL("pack format %s: no type after %s", fmt, p);
		pack_str(pk, p, (size_t)(colon - p));
		switch (colon[1]) {
		case 's':
			if ((s = va_arg(ap, const char *)) == NULL)
				msgpack_pack_nil(pk);
			else
				pack_cstr(pk, s);
			break;
		case 'S':
			s = va_arg(ap, const char *);
			len = va_arg(ap, size_t);
			pack_str(pk, s, len);
			break;
		case 'b':
			b = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			msgpack_pack_bin(pk, len);
			msgpack_pack_bin_body(pk, b, len);
			break;
		case 'u':
			msgpack_pack_uint64(pk, va_arg(ap, unsigned int));
			break;
		case 'U':
			msgpack_pack_uint64(pk, va_arg(ap, uint64_t));
			break;
		case 'i':
			msgpack_pack_int64(pk, va_arg(ap, int));
			break;
		case 'I':
			msgpack_pack_int64(pk, va_arg(ap, int64_t));
			break;
		case 'd':
			msgpack_pack_double(pk, va_arg(ap, double));
			break;
		case 'n':
			msgpack_pack_nil(pk);
			break;
		case 't':
			msgpack_pack_true(pk);
			break;
		case 'f':
			msgpack_pack_false(pk);
			break;
		case 'A':
			v = va_arg(ap, const char *const *);
			for (k = 0; v[k] != NULL; k++)
				;
			msgpack_pack_array(pk, k);
			for (k = 0; v[k] != NULL; k++)
				pack_cstr(pk, v[k]);
			break;
		case 'M':
			v = va_arg(ap, const char *const *);
			for (k = 0; v[k] != NULL; k += 2)
				;
			msgpack_pack_map(pk, k / 2);
			for (k = 0; v[k] != NULL; k += 2) {
				pack_cstr(pk, v[k]);
				pack_cstr(pk, v[k + 1]);
			}
			break;
		case 'r':
			b = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			pk->callback(pk->data, b, len);
			break;
		default:
			LFAIL("pack format %s: unknown type '%c'", fmt,
			    colon[1]);
		}
		p = colon + 2;
	}
}

void
harness_vpack(msgpack_packer *pk, const char *fmt, va_list ap)
{
	pack_items(pk, 0, fmt, ap);
}

void
harness_pack(msgpack_packer *pk, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	harness_vpack(pk, fmt, ap);
	va_end(ap);
}

void
harness_send(struct client *c, const char *fmt, ...)
{
	msgpack_packer	*pk;
	va_list		 ap;

	if ((pk = client_begin(c)) == NULL)
		LFAIL("client_begin failed");
	va_start(ap, fmt);
	harness_vpack(pk, fmt, ap);
	va_end(ap);
	if (client_send(c) == -1)
		LFAIL("client_send {%s}: %s", fmt, strerror(errno));
}

static uint64_t
vrequest(struct client *c, const char *fmt, va_list ap)
{
	msgpack_packer	*pk;
	uint64_t	 id = harness_id();

	if ((pk = client_begin(c)) == NULL)
		LFAIL("client_begin failed");
	pack_items(pk, 1, fmt, ap);
	pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, id);
	if (client_send(c) == -1)
		LFAIL("client_send {%s}: %s", fmt, strerror(errno));
	return (id);
}

uint64_t
harness_request(struct client *c, const char *fmt, ...)
{
	va_list		ap;
	uint64_t	id;

	va_start(ap, fmt);
	id = vrequest(c, fmt, ap);
	va_end(ap);
	return (id);
}

void
harness_request_err(struct client *c, const char *code, const char *fmt,
    ...)
{
	msgpack_object		 f;
	const msgpack_object	*o;
	va_list			 ap;
	uint64_t		 id;
	int			 r;

	va_start(ap, fmt);
	id = vrequest(c, fmt, ap);
	va_end(ap);
	if ((r = client_recv(c, HARNESS_TIMEOUT_MS, &f)) != 1)
		LFAIL("{%s}: want err %s, got %s", fmt, code, r == 0 ?
		    "a close" : errno == ETIMEDOUT ? "nothing" :
		    strerror(errno));
	o = harness_get(&f, "code");
	if (strcmp(harness_op(&f), "err") != 0 || o == NULL ||
	    o->type != MSGPACK_OBJECT_STR || o->via.str.size != strlen(code) ||
	    memcmp(o->via.str.ptr, code, strlen(code)) != 0)
		LFAIL("{%s}: want err %s, got %s", fmt, code, harness_dump(&f));
	harness_assert_u64(&f, "id", id);
}

unsigned char *
harness_frame(size_t *lenp, const char *fmt, ...)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	va_list		 ap;
	uint32_t	 len;
	static const char zero[4];

	msgpack_sbuffer_init(&sb);
	msgpack_sbuffer_write(&sb, zero, 4);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	va_start(ap, fmt);
	harness_vpack(&pk, fmt, ap);
	va_end(ap);
	len = (uint32_t)(sb.size - 4);
	sb.data[0] = (char)(len >> 24);
	sb.data[1] = (char)(len >> 16);
	sb.data[2] = (char)(len >> 8);
	sb.data[3] = (char)len;
	*lenp = sb.size;
	return ((unsigned char *)msgpack_sbuffer_release(&sb));
}

/*
 * Frame fields.
 */

const msgpack_object *
harness_get(const msgpack_object *frame, const char *key)
{
	size_t		 len = strlen(key);
	uint32_t	 i;

	if (frame == NULL || frame->type != MSGPACK_OBJECT_MAP)
		return (NULL);
	for (i = 0; i < frame->via.map.size; i++) {
		const msgpack_object_kv	*kv = &frame->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == len &&
		    memcmp(kv->key.via.str.ptr, key, len) == 0)
			return (&kv->val);
	}
	return (NULL);
}

bool
harness_has(const msgpack_object *frame, const char *key)
{
	return (harness_get(frame, key) != NULL);
}

const char *
harness_dump(const msgpack_object *frame)
{
	static _Thread_local char	buf[4096];

	if (frame == NULL)
		return ("(null)");
	if (msgpack_object_print_buffer(buf, sizeof buf, *frame) < 0)
		snprintf(buf, sizeof buf, "(unprintable)");
	return (buf);
}

const char *
harness_op(const msgpack_object *frame)
{
	static _Thread_local char	 buf[64];
	const msgpack_object	*o = harness_get(frame, "op");

	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size >= sizeof buf)
		return ("?");
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return (buf);
}

uint64_t
harness_u64(const msgpack_object *frame, const char *key)
{
	const msgpack_object	*o = harness_get(frame, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		LFAIL("field %s is not an unsigned integer in %s", key,
		    harness_dump(frame));
	return (o->via.u64);
}

int64_t
harness_i64(const msgpack_object *frame, const char *key)
{
	const msgpack_object	*o = harness_get(frame, key);

	if (o != NULL && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (o->via.i64);
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->via.u64 > INT64_MAX)
		LFAIL("field %s is not an integer in %s", key,
		    harness_dump(frame));
	return ((int64_t)o->via.u64);
}

double
harness_f64(const msgpack_object *frame, const char *key)
{
	const msgpack_object	*o = harness_get(frame, key);

	if (o == NULL || (o->type != MSGPACK_OBJECT_FLOAT64 &&
	    o->type != MSGPACK_OBJECT_FLOAT32))
		LFAIL("field %s is not a float in %s", key,
		    harness_dump(frame));
	return (o->via.f64);
}

const char *
harness_str(const msgpack_object *frame, const char *key, char *buf,
    size_t size)
{
	const msgpack_object	*o = harness_get(frame, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		LFAIL("field %s is not a str in %s", key, harness_dump(frame));
	if (o->via.str.size >= size)
		LFAIL("field %s is too long (%u bytes) in %s", key,
		    o->via.str.size, harness_dump(frame));
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return (buf);
}

void
harness_assert_str(const msgpack_object *frame, const char *key,
    const char *want)
{
	const msgpack_object	*o = harness_get(frame, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		LFAIL("field %s: want str \"%s\", absent or not a str in %s",
		    key, want, harness_dump(frame));
	if (o->via.str.size != strlen(want) ||
	    memcmp(o->via.str.ptr, want, o->via.str.size) != 0)
		LFAIL("field %s: want \"%s\", got \"%.*s\" in %s", key, want,
		    (int)o->via.str.size, o->via.str.ptr, harness_dump(frame));
}

void
harness_assert_u64(const msgpack_object *frame, const char *key,
    uint64_t want)
{
	uint64_t	got = harness_u64(frame, key);

	if (got != want)
		LFAIL("field %s: want %" PRIu64 ", got %" PRIu64 " in %s", key,
		    want, got, harness_dump(frame));
}

void
harness_assert_bytes(const msgpack_object *o, const void *p, size_t len)
{
	const char	*ptr;
	size_t		 size;

	if (o == NULL)
		LFAIL("want %zu bytes, the field is absent", len);
	if (o->type == MSGPACK_OBJECT_STR) {
		ptr = o->via.str.ptr;
		size = o->via.str.size;
	} else if (o->type == MSGPACK_OBJECT_BIN) {
		ptr = o->via.bin.ptr;
		size = o->via.bin.size;
	} else
		LFAIL("want %zu bytes, got %s", len, harness_dump(o));
	if (size != len || memcmp(ptr, p, len) != 0)
		LFAIL("want \"%.*s\" (%zu bytes), got \"%.*s\" (%zu bytes)",
		    (int)(len > 200 ? 200 : len), (const char *)p, len,
		    (int)(size > 200 ? 200 : size), ptr, size);
}

/*
 * Waiting for frames.
 */

void
harness_expect(struct client *c, const char *op, int timeout_ms,
    msgpack_object *frame)
{
	int	r;

	r = client_recv(c, timeout_ms, frame);
	if (r == 0)
		LFAIL("expected %s within %d ms: the router closed the "
		    "connection", op, timeout_ms);
	if (r == -1)
		LFAIL("expected %s within %d ms: %s", op, timeout_ms,
		    errno == ETIMEDOUT ? "timed out" : strerror(errno));
	if (strcmp(harness_op(frame), op) != 0)
		LFAIL("expected %s, got %s", op, harness_dump(frame));
}

void
harness_expect_ack(struct client *c, uint64_t id, msgpack_object *frame)
{
	harness_expect(c, "ack", HARNESS_TIMEOUT_MS, frame);
	harness_assert_u64(frame, "id", id);
}

void
harness_expect_err(struct client *c, const char *code, bool has_id,
    uint64_t id, msgpack_object *frame)
{
	harness_expect(c, "err", HARNESS_TIMEOUT_MS, frame);
	harness_assert_str(frame, "code", code);
	if (has_id)
		harness_assert_u64(frame, "id", id);
	else if (harness_has(frame, "id"))
		LFAIL("err for a request without id carries an id: %s",
		    harness_dump(frame));
	if (!harness_has(frame, "msg"))
		LFAIL("err without msg: %s", harness_dump(frame));
}

void
harness_expect_msg(struct client *c, uint64_t sid, const char *body,
    int timeout_ms, msgpack_object *frame)
{
	harness_expect(c, "msg", timeout_ms, frame);
	harness_assert_u64(frame, "sid", sid);
	harness_assert_bytes(harness_get(frame, "body"), body, strlen(body));
}

void
harness_expect_nothing(struct client *c, int timeout_ms)
{
	msgpack_object	frame;
	int		r;

	r = client_recv(c, timeout_ms, &frame);
	if (r == 1)
		LFAIL("expected nothing within %d ms, got %s", timeout_ms,
		    harness_dump(&frame));
	if (r == 0)
		LFAIL("expected nothing within %d ms: the router closed the "
		    "connection", timeout_ms);
	if (errno != ETIMEDOUT && errno != EAGAIN)
		LFAIL("expected nothing within %d ms: %s", timeout_ms,
		    strerror(errno));
}

int
harness_expect_closed(struct client *c, int timeout_ms,
    const char *const *skip_ops)
{
	int64_t		deadline = harness_now_ms() + timeout_ms;
	msgpack_object	frame;
	int		skipped = 0, r, left;

	for (;;) {
		const char *const	*s;
		bool			 skip = false;

		left = (int)(deadline - harness_now_ms());
		r = client_recv(c, left < 0 ? 0 : left, &frame);
		if (r == 0)
			return (skipped);
		/* Closed with our bytes unread: Linux reports ECONNRESET. */
		if (r == -1 && (errno == ECONNRESET || errno == EPIPE))
			return (skipped);
		if (r == -1)
			LFAIL("expected the router to close the connection "
			    "within %d ms: %s", timeout_ms,
			    errno == ETIMEDOUT ? "still open" :
			    strerror(errno));
		for (s = skip_ops; s != NULL && *s != NULL; s++)
			if (strcmp(harness_op(&frame), *s) == 0)
				skip = true;
		if (!skip)
			LFAIL("expected the connection to close, got %s",
			    harness_dump(&frame));
		skipped++;
	}
}

void
harness_ping(struct client *c, int timeout_ms)
{
	msgpack_object	frame;
	uint64_t	id = harness_id();

	harness_send(c, "op:s id:U", "ping", id);
	harness_expect(c, "pong", timeout_ms, &frame);
	harness_assert_u64(&frame, "id", id);
}

/*
 * Requests.
 */

void
harness_pub(struct client *c, const char *from, const char *to,
    const char *body, struct harness_ack *ack)
{
	msgpack_object	frame;
	uint64_t	id = harness_id();

	if (from != NULL)
		harness_send(c, "op:s from:s to:s body:s id:U", "pub", from, to,
		    body, id);
	else
		harness_send(c, "op:s to:s body:s id:U", "pub", to, body, id);
	harness_expect_ack(c, id, &frame);
	if (ack != NULL) {
		harness_str(&frame, "eid", ack->eid, sizeof ack->eid);
		harness_str(&frame, "stored", ack->stored, sizeof ack->stored);
	}
}

void
harness_sub(struct client *c, uint64_t sid, const char *tract,
    uint64_t credit, const char *overflow, uint64_t max_pending)
{
	msgpack_packer	*pk;
	msgpack_object	 frame;
	uint64_t	 id = harness_id();

	pk = client_begin(c);
	msgpack_pack_map(pk, 5 + (overflow != NULL) + (max_pending != 0));
	pack_cstr(pk, "op");
	pack_cstr(pk, "sub");
	pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, sid);
	pack_cstr(pk, "tract");
	pack_cstr(pk, tract);
	pack_cstr(pk, "credit");
	msgpack_pack_uint64(pk, credit);
	pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, id);
	if (overflow != NULL) {
		pack_cstr(pk, "overflow");
		pack_cstr(pk, overflow);
	}
	if (max_pending != 0) {
		pack_cstr(pk, "max_pending");
		msgpack_pack_uint64(pk, max_pending);
	}
	if (client_send(c) == -1)
		LFAIL("client_send sub: %s", strerror(errno));
	harness_expect_ack(c, id, &frame);
}

void
harness_req(struct client *c, uint64_t sid, uint64_t n)
{
	harness_send(c, "op:s sid:U n:U", "req", sid, n);
}

void
harness_unsub(struct client *c, uint64_t sid)
{
	msgpack_object	frame;
	uint64_t	id = harness_id();

	harness_send(c, "op:s sid:U id:U", "unsub", sid, id);
	harness_expect_ack(c, id, &frame);
}

void
harness_stats(struct client *c, msgpack_object *frame)
{
	uint64_t	id = harness_id();

	harness_send(c, "op:s id:U", "stats", id);
	harness_expect(c, "stats", HARNESS_TIMEOUT_MS, frame);
	harness_assert_u64(frame, "id", id);
}


/* The first number at or under o (depth-first), for labelled series. */
static bool
first_num(const msgpack_object *o, double *out, int depth)
{
	uint32_t	i;

	if (depth > 4)
		return (false);
	if (wire_obj_number(o, out))
		return (true);
	if (o->type == MSGPACK_OBJECT_MAP) {
		for (i = 0; i < o->via.map.size; i++)
			if (first_num(&o->via.map.ptr[i].val, out, depth + 1))
				return (true);
	} else if (o->type == MSGPACK_OBJECT_ARRAY) {
		for (i = 0; i < o->via.array.size; i++)
			if (first_num(&o->via.array.ptr[i], out, depth + 1))
				return (true);
	}
	return (false);
}

static bool
stats_find(const msgpack_object *o, const char *name, double *out,
    int depth)
{
	size_t		len = strlen(name);
	uint32_t	i;

	if (depth > 4 || o->type != MSGPACK_OBJECT_MAP)
		return (false);
	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv	*kv = &o->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == len &&
		    memcmp(kv->key.via.str.ptr, name, len) == 0 &&
		    first_num(&kv->val, out, 0))
			return (true);
	}
	for (i = 0; i < o->via.map.size; i++)
		if (stats_find(&o->via.map.ptr[i].val, name, out, depth + 1))
			return (true);
	return (false);
}

double
harness_stats_value(struct client *c, const char *name)
{
	msgpack_object	f;
	double		v;

	harness_stats(c, &f);
	if (!harness_stats_find(&f, name, &v))
		HFAIL("no %s in stats: %s", name, harness_dump(&f));
	return (v);
}

int64_t
harness_stats_tract(struct client *c, const char *name, const char *tract)
{
	msgpack_object		 f;
	const msgpack_object	*m, *v;

	harness_stats(c, &f);
	if ((m = harness_get(&f, name)) == NULL ||
	    m->type != MSGPACK_OBJECT_MAP)
		HFAIL("no map %s in stats: %s", name, harness_dump(&f));
	if ((v = harness_get(m, tract)) == NULL)
		return (-1);
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		HFAIL("%s{%s} is not an uint: %s", name, tract,
		    harness_dump(m));
	return ((int64_t)v->via.u64);
}

struct harness_tract_wait {
	struct client	*c;
	const char	*name;
	const char	*tract;
	int64_t		 want;
	int64_t		 last;
};

static bool
harness_tract_is(void *arg)
{
	struct harness_tract_wait	*tw = arg;

	tw->last = harness_stats_tract(tw->c, tw->name, tw->tract);
	return (tw->last == tw->want);
}

void
harness_wait_stats_tract(struct client *c, const char *name,
    const char *tract, int64_t want, int timeout_ms)
{
	struct harness_tract_wait	tw = { c, name, tract, want, -1 };

	if (!harness_poll(harness_tract_is, &tw, timeout_ms))
		HFAIL("%s{%s} is %lld after %d ms, want %lld", name, tract,
		    (long long)tw.last, timeout_ms, (long long)want);
}

struct harness_count_wait {
	struct client	*c;
	double		 want;
	double		 last;
};

static bool
harness_count_is(void *arg)
{
	struct harness_count_wait	*cw = arg;
	msgpack_object			 f;

	harness_stats(cw->c, &f);
	if (!harness_stats_find(&f, "callosum_connections", &cw->last))
		HFAIL("no callosum_connections in stats: %s",
		    harness_dump(&f));
	return (cw->last == cw->want);
}

void
harness_wait_conn_count(struct client *c, double want, int timeout_ms)
{
	struct harness_count_wait	cw = { c, want, -1 };

	if (!harness_poll(harness_count_is, &cw, timeout_ms))
		HFAIL("connection count is %g after %d ms, want %g", cw.last,
		    timeout_ms, want);
}

bool
harness_stats_find(const msgpack_object *frame, const char *name,
    double *out)
{
	return (stats_find(frame, name, out, 0));
}

/*
 * Event ids.
 */

static bool
parse_dec(const char **pp, uint64_t *out)
{
	const char	*p = *pp;
	uint64_t	 v = 0;

	if (!isdigit((unsigned char)*p))
		return (false);
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return (false);
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*out = v;
	*pp = p;
	return (true);
}

bool
harness_eid_parse(const char *eid, uint64_t *ms, uint64_t *seq)
{
	const char	*p = eid;

	if (!parse_dec(&p, ms) || *p++ != '-' || !parse_dec(&p, seq))
		return (false);
	return (*p == '\0');
}

int
harness_eid_cmp(const char *a, const char *b)
{
	uint64_t	ams, aseq, bms, bseq;

	if (!harness_eid_parse(a, &ams, &aseq))
		LFAIL("malformed eid \"%s\"", a);
	if (!harness_eid_parse(b, &bms, &bseq))
		LFAIL("malformed eid \"%s\"", b);
	if (ams != bms)
		return (ams < bms ? -1 : 1);
	if (aseq != bseq)
		return (aseq < bseq ? -1 : 1);
	return (0);
}

/*
 * JSON: a strict recursive-descent checker (RFC 8259), enough to tell that
 * the CLI prints one valid object per line and to read its members.
 */

struct json {
	const char	*p;
	const char	*end;
	int		 depth;
};

static bool	json_value(struct json *);

static void
json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
json_lit(struct json *j, const char *lit)
{
	size_t	len = strlen(lit);

	if ((size_t)(j->end - j->p) < len || memcmp(j->p, lit, len) != 0)
		return (false);
	j->p += len;
	return (true);
}

/* Four hex digits of a \u escape. */
static bool
json_hex4(struct json *j, unsigned *out)
{
	unsigned	v = 0;
	int		k;

	for (k = 0; k < 4; k++, j->p++) {
		int	ch;

		if (j->p >= j->end || !isxdigit((unsigned char)*j->p))
			return (false);
		ch = tolower((unsigned char)*j->p);
		v = v * 16 + (unsigned)(isdigit(ch) ? ch - '0' : ch - 'a' + 10);
	}
	*out = v;
	return (true);
}

/* A string; copies its (ASCII-folded) text into buf when buf != NULL. */
static bool
json_string(struct json *j, char *buf, size_t size)
{
	size_t	n = 0;

	if (j->p >= j->end || *j->p != '"')
		return (false);
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char	ch = (unsigned char)*j->p++;

		if (ch < 0x20)
			return (false);
		if (ch == '\\') {
			if (j->p >= j->end)
				return (false);
			ch = (unsigned char)*j->p++;
			switch (ch) {
			case '"': case '\\': case '/':
				break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u': {
				unsigned	v;

				if (!json_hex4(j, &v))
					return (false);
				ch = v < 0x80 ? (unsigned char)v : '?';
				break;
			}
			default:
				return (false);
			}
		}
		if (buf != NULL && n + 1 < size)
			buf[n++] = (char)ch;
	}
	if (j->p >= j->end)
		return (false);
	j->p++;
	if (buf != NULL && size > 0)
		buf[n] = '\0';
	return (true);
}

static bool
json_number(struct json *j)
{
	const char	*start = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || !isdigit((unsigned char)*j->p))
		return (false);
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return (false);
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return (false);
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	}
	return (j->p > start);
}

static bool
json_container(struct json *j, char open, char close)
{
	if (++j->depth > 64)
		return (false);
	j->p++;		/* open */
	(void)open;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return (true);
	}
	for (;;) {
		json_ws(j);
		if (close == '}') {
			if (!json_string(j, NULL, 0))
				return (false);
			json_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return (false);
		}
		if (!json_value(j))
			return (false);
		json_ws(j);
		if (j->p >= j->end)
			return (false);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != close)
			return (false);
		j->depth--;
		return (true);
	}
}

static bool
json_value(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return (false);
	switch (*j->p) {
	case '{':
		return (json_container(j, '{', '}'));
	case '[':
		return (json_container(j, '[', ']'));
	case '"':
		return (json_string(j, NULL, 0));
	case 't':
		return (json_lit(j, "true"));
	case 'f':
		return (json_lit(j, "false"));
	case 'n':
		return (json_lit(j, "null"));
	default:
		return (json_number(j));
	}
}

bool
harness_json_valid(const char *s, size_t len)
{
	struct json	j = { s, s + len, 0 };

	if (!json_value(&j))
		return (false);
	json_ws(&j);
	return (j.p == j.end);
}

/*
 * Finds top-level member key of the object in s. On success j->p points at
 * its value.
 */
static bool
json_member(struct json *j, const char *key)
{
	char	name[256];

	json_ws(j);
	if (j->p >= j->end || *j->p != '{')
		return (false);
	j->p++;
	j->depth = 1;
	for (;;) {
		json_ws(j);
		if (!json_string(j, name, sizeof name))
			return (false);
		json_ws(j);
		if (j->p >= j->end || *j->p++ != ':')
			return (false);
		json_ws(j);
		if (strcmp(name, key) == 0)
			return (true);
		if (!json_value(j))
			return (false);
		json_ws(j);
		if (j->p >= j->end || *j->p++ != ',')
			return (false);
	}
}

bool
harness_json_str(const char *obj, size_t len, const char *key, char *buf,
    size_t size)
{
	struct json	j = { obj, obj + len, 0 };

	if (!json_member(&j, key))
		return (false);
	return (json_string(&j, buf, size));
}

bool
harness_json_has(const char *obj, size_t len, const char *key)
{
	struct json	j = { obj, obj + len, 0 };

	return (json_member(&j, key));
}
