/*
 * redis_proc: redis-server as a harness process, and a hiredis sync client
 * to inspect the stream. See redis_proc.h. As in harness.c, nothing here
 * sleeps to synchronise: the pauses are the 1 ms steps of polls under a
 * deadline.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#define HARNESS_INTERNAL
#define REDIS_PROC_INTERNAL
#include "tests/support/redis_proc.h"

#define REDIS_PROC_MAX		16	/* servers per test */
#define REDIS_SOCK_NAME		"redis.sock"
#define REDIS_KILL_MS		5000	/* SIGKILL to reaped */
#define REDIS_SIGNAL_MS		2000	/* SIGSTOP/SIGCONT to /proc state */

struct redis_proc {
	struct harness		*h;
	int			 flags;
	struct harness_proc	*proc;		/* the latest run; NULL: none */
	bool			 paused;
	char			 sock[PATH_MAX];	/* DIR/redis.sock */
	char			 live_sock[PATH_MAX];	/* where it listens */
	char			 url[PATH_MAX + 16];
	char			 conf[PATH_MAX];
	redisContext		*ctx;		/* the sync client, or NULL */
};

/* What redis_xrange hands out, with the pages its bytes live in. */
struct redis_range {
	struct redis_entries	 pub;	/* first: the caller's pointer */
	size_t			 cap;
	redisReply		**pages;
	size_t			 npages;
};

static struct redis_proc	*procs[REDIS_PROC_MAX];
static int			 nprocs;
static redisReply		**replies;
static size_t			 nreplies, replies_cap;
static struct redis_range	**ranges;
static size_t			 nranges, ranges_cap;
static const char		*loc_file = "?";
static int			 loc_line;

#define RFAIL(...)	harness_fail(loc_file, loc_line, __VA_ARGS__)

void
redis_loc(const char *file, int line)
{
	loc_file = file;
	loc_line = line;
	harness_loc(file, line);
}

static void
poll_step(void)
{
	struct timespec	ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

static void *
xcalloc_or_fail(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		RFAIL("calloc: %s", strerror(errno));
	return (p);
}

/* Appends p to the pointer array *vp (cap *capp, length *np). */
static void
push_ptr(void ***vp, size_t *np, size_t *capp, void *p)
{
	if (*np == *capp) {
		size_t	 ncap = *capp == 0 ? 16 : *capp * 2;
		void	**n;

		if ((n = realloc(*vp, ncap * sizeof *n)) == NULL)
			RFAIL("realloc: %s", strerror(errno));
		*vp = n;
		*capp = ncap;
	}
	(*vp)[(*np)++] = p;
}

/* Removes p from the array; false when it was not there. */
static bool
drop_ptr(void **v, size_t *np, void *p)
{
	size_t	i;

	for (i = 0; i < *np; i++) {
		if (v[i] == p) {
			v[i] = v[--*np];
			return (true);
		}
	}
	return (false);
}

/*
 * The sync client.
 */

static void
ctx_drop(struct redis_proc *rp)
{
	if (rp->ctx != NULL)
		redisFree(rp->ctx);
	rp->ctx = NULL;
}

static struct timeval
ms_tv(int ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return (tv);
}

/* Connects the sync client; NULL with *why set when it cannot. */
static redisContext *
ctx_get(struct redis_proc *rp, int timeout_ms, char *why, size_t size)
{
	redisContext	*c;

	if (rp->ctx != NULL)
		return (rp->ctx);
	c = redisConnectUnixWithTimeout(rp->live_sock, ms_tv(timeout_ms));
	if (c == NULL) {
		snprintf(why, size, "redisConnectUnix: out of memory");
		return (NULL);
	}
	if (c->err != 0 || redisSetTimeout(c, ms_tv(timeout_ms)) != REDIS_OK) {
		snprintf(why, size, "connect %.300s: %.150s", rp->live_sock,
		    c->err != 0 ? c->errstr : "redisSetTimeout failed");
		redisFree(c);
		return (NULL);
	}
	rp->ctx = c;
	return (c);
}

/* A command or NULL with *why set (the context is then dropped). */
static redisReply *
vcommand(struct redis_proc *rp, int timeout_ms, char *why, size_t size,
    const char *fmt, va_list ap)
{
	redisContext	*c;
	redisReply	*r;

	if ((c = ctx_get(rp, timeout_ms, why, size)) == NULL)
		return (NULL);
	if ((r = redisvCommand(c, fmt, ap)) == NULL) {
		snprintf(why, size, "%s: %s", fmt, c->err == REDIS_ERR_IO &&
		    (errno == EAGAIN || errno == EWOULDBLOCK) ?
		    "no reply (timed out)" : c->errstr);
		ctx_drop(rp);
	}
	return (r);
}

static redisReply *
command_or_null(struct redis_proc *rp, int timeout_ms, char *why,
    size_t size, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = vcommand(rp, timeout_ms, why, size, fmt, ap);
	va_end(ap);
	return (r);
}

struct redisReply *
redis_command(struct redis_proc *rp, const char *fmt, ...)
{
	redisReply	*r;
	char		 why[512];
	va_list		 ap;

	va_start(ap, fmt);
	r = vcommand(rp, REDIS_PROC_CMD_MS, why, sizeof why, fmt, ap);
	va_end(ap);
	if (r == NULL)
		RFAIL("redis %s", why);
	push_ptr((void ***)&replies, &nreplies, &replies_cap, r);
	return (r);
}

void
redis_reply_free(struct redisReply *r)
{
	if (r != NULL && drop_ptr((void **)replies, &nreplies, r))
		freeReplyObject(r);
}

bool
redis_try_ping(struct redis_proc *rp, int timeout_ms)
{
	redisReply	*r;
	char		 why[512];
	bool		 ok;

	ctx_drop(rp);	/* a fresh connection with this timeout */
	r = command_or_null(rp, timeout_ms, why, sizeof why, "PING");
	ok = r != NULL && r->type == REDIS_REPLY_STATUS &&
	    strcmp(r->str, "PONG") == 0;
	if (r != NULL)
		freeReplyObject(r);
	ctx_drop(rp);
	return (ok);
}

static const char *
reply_text(const redisReply *r)
{
	static char	buf[256];

	switch (r->type) {
	case REDIS_REPLY_ERROR:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_STRING:
		snprintf(buf, sizeof buf, "\"%.200s\"", r->str);
		break;
	case REDIS_REPLY_INTEGER:
		snprintf(buf, sizeof buf, "%lld", r->integer);
		break;
	case REDIS_REPLY_NIL:
		snprintf(buf, sizeof buf, "nil");
		break;
	case REDIS_REPLY_ARRAY:
		snprintf(buf, sizeof buf, "an array of %zu", r->elements);
		break;
	default:
		snprintf(buf, sizeof buf, "type %d", r->type);
	}
	return (buf);
}

long long
redis_xlen(struct redis_proc *rp, const char *key)
{
	redisReply	*r = redis_command(rp, "XLEN %s", key);
	long long	 n;

	if (r->type != REDIS_REPLY_INTEGER)
		RFAIL("XLEN %s: %s", key, reply_text(r));
	n = r->integer;
	redis_reply_free(r);
	return (n);
}

/* Adds the entries of one XRANGE reply to rr; returns how many. */
static size_t
range_add_page(struct redis_range *rr, redisReply *page, const char *key)
{
	size_t	i, j;

	if (page->type != REDIS_REPLY_ARRAY)
		RFAIL("XRANGE %s: %s", key, reply_text(page));
	for (i = 0; i < page->elements; i++) {
		redisReply		*e = page->element[i], *kv;
		struct redis_entry	*ent;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[0]->len >= HARNESS_EID_MAX ||
		    (kv = e->element[1])->type != REDIS_REPLY_ARRAY ||
		    kv->elements % 2 != 0)
			RFAIL("XRANGE %s: malformed entry %zu", key, i);
		if (rr->pub.n == rr->cap) {
			size_t			 ncap = rr->cap == 0 ? 64 :
			    rr->cap * 2;
			struct redis_entry	*n;

			if ((n = realloc(rr->pub.v, ncap * sizeof *n)) == NULL)
				RFAIL("realloc: %s", strerror(errno));
			rr->pub.v = n;
			rr->cap = ncap;
		}
		ent = &rr->pub.v[rr->pub.n];
		memset(ent, 0, sizeof *ent);
		memcpy(ent->id, e->element[0]->str, e->element[0]->len);
		ent->id[e->element[0]->len] = '\0';
		ent->nfields = kv->elements / 2;
		ent->fields = xcalloc_or_fail(ent->nfields + 1,
		    sizeof *ent->fields);
		rr->pub.n++;
		for (j = 0; j < ent->nfields; j++) {
			redisReply	*name = kv->element[2 * j];
			redisReply	*val = kv->element[2 * j + 1];

			if (name->type != REDIS_REPLY_STRING ||
			    val->type != REDIS_REPLY_STRING)
				RFAIL("XRANGE %s: entry %s: a field that is "
				    "not a string", key, ent->id);
			ent->fields[j].name = name->str;
			ent->fields[j].name_len = name->len;
			ent->fields[j].value = val->str;
			ent->fields[j].len = val->len;
		}
	}
	return (page->elements);
}

struct redis_entries *
redis_xrange(struct redis_proc *rp, const char *key, const char *start,
    const char *end)
{
	struct redis_range	*rr = xcalloc_or_fail(1, sizeof *rr);
	char			 next[HARNESS_EID_MAX + 1];
	redisReply		*page;

	push_ptr((void ***)&ranges, &nranges, &ranges_cap, rr);
	snprintf(next, sizeof next, "%s", start);
	for (;;) {
		redisReply	**np;
		size_t		  got;

		page = redis_command(rp, "XRANGE %s %s %s COUNT %d", key,
		    next, end, REDIS_PROC_PAGE);
		/* The page moves from the reply registry to the range. */
		drop_ptr((void **)replies, &nreplies, page);
		if ((np = realloc(rr->pages, (rr->npages + 1) *
		    sizeof *np)) == NULL) {
			freeReplyObject(page);
			RFAIL("realloc: %s", strerror(errno));
		}
		rr->pages = np;
		rr->pages[rr->npages++] = page;
		got = range_add_page(rr, page, key);
		if (got < REDIS_PROC_PAGE)
			break;
		/* Exclusive start after the last id (Redis >= 6.2). */
		snprintf(next, sizeof next, "(%s", rr->pub.v[rr->pub.n - 1].id);
	}
	return (&rr->pub);
}

static void
range_free(struct redis_range *rr)
{
	size_t	i;

	for (i = 0; i < rr->pub.n; i++)
		free(rr->pub.v[i].fields);
	free(rr->pub.v);
	for (i = 0; i < rr->npages; i++)
		freeReplyObject(rr->pages[i]);
	free(rr->pages);
	free(rr);
}

void
redis_entries_free(struct redis_entries *e)
{
	struct redis_range	*rr = (struct redis_range *)e;

	if (e != NULL && drop_ptr((void **)ranges, &nranges, rr))
		range_free(rr);
}

bool
redis_stream_info(struct redis_proc *rp, const char *key, char *buf,
    size_t size, long long *lenp)
{
	redisReply	*r = redis_command(rp, "XINFO STREAM %s", key);
	bool		 id = false, len = false;
	size_t		 i;

	if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key")) {
		redis_reply_free(r);
		return (false);
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
		RFAIL("XINFO STREAM %s: %s", key, reply_text(r));
	for (i = 0; i < r->elements; i += 2) {
		redisReply	*k = r->element[i], *v = r->element[i + 1];

		if (k->type != REDIS_REPLY_STRING &&
		    k->type != REDIS_REPLY_STATUS)
			continue;
		if (strcmp(k->str, "last-generated-id") == 0 &&
		    v->type == REDIS_REPLY_STRING && v->len < size) {
			memcpy(buf, v->str, v->len);
			buf[v->len] = '\0';
			id = true;
		} else if (strcmp(k->str, "length") == 0 &&
		    v->type == REDIS_REPLY_INTEGER) {
			if (lenp != NULL)
				*lenp = v->integer;
			len = true;
		}
	}
	if (!id || !len)
		RFAIL("XINFO STREAM %s: no last-generated-id or length", key);
	redis_reply_free(r);
	return (true);
}

void
redis_wait_xlen(struct redis_proc *rp, const char *key, long long want,
    int timeout_ms)
{
	int64_t		deadline = harness_now_ms() + timeout_ms;
	long long	n;

	for (;;) {
		if ((n = redis_xlen(rp, key)) == want)
			return;
		if (harness_now_ms() >= deadline)
			RFAIL("XLEN %s is %lld after %d ms, want %lld", key, n,
			    timeout_ms, want);
		poll_step();
	}
}

const struct redis_field *
redis_entry_get(const struct redis_entry *e, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < e->nfields; i++)
		if (e->fields[i].name_len == len &&
		    memcmp(e->fields[i].name, name, len) == 0)
			return (&e->fields[i]);
	return (NULL);
}

/*
 * The server.
 */

struct redis_proc *
redis_proc_new(struct harness *h, int flags)
{
	struct redis_proc	*rp;

	if (nprocs == REDIS_PROC_MAX)
		RFAIL("too many redis servers in one test");
	rp = xcalloc_or_fail(1, sizeof *rp);
	rp->h = h;
	rp->flags = flags;
	snprintf(rp->sock, sizeof rp->sock, "%s/%s", harness_dir(h),
	    REDIS_SOCK_NAME);
	snprintf(rp->live_sock, sizeof rp->live_sock, "%s", rp->sock);
	snprintf(rp->url, sizeof rp->url, "unix://%s", rp->sock);
	procs[nprocs++] = rp;
	return (rp);
}

static const char *
server_bin(void)
{
	const char	*bin = getenv("REDIS_SERVER");

	if (bin == NULL || *bin == '\0')
		bin = REDIS_PROC_SERVER;
	if (access(bin, X_OK) != 0)
		RFAIL("no redis-server at %s (install Debian's redis-server, "
		    "or set REDIS_SERVER): %s", bin, strerror(errno));
	return (bin);
}

/* Writes DIR/redis.conf for a server on sock. */
static void
write_conf(struct redis_proc *rp, const char *sock)
{
	char	text[4 * PATH_MAX];

	snprintf(text, sizeof text,
	    "port 0\n"
	    "unixsocket %s\n"
	    "unixsocketperm 700\n"
	    "dir %s\n"
	    "save \"\"\n"
	    "daemonize no\n"
	    "logfile \"\"\n"
	    "appendonly %s\n"
	    "appendfsync always\n",
	    sock, harness_dir(rp->h),
	    (rp->flags & REDIS_PROC_AOF) ? "yes" : "no");
	snprintf(rp->conf, sizeof rp->conf, "%s",
	    harness_write_file(rp->h, "redis.conf", text));
}

static void
start_on(struct redis_proc *rp, const char *sock)
{
	const char	*argv[3];
	int64_t		 deadline;
	int		 status;

	if (rp->proc != NULL && !harness_proc_exited(rp->proc, NULL))
		RFAIL("redis-server (pid %d) still runs in %s",
		    (int)harness_proc_pid(rp->proc), harness_dir(rp->h));
	ctx_drop(rp);
	rp->paused = false;
	snprintf(rp->live_sock, sizeof rp->live_sock, "%s", sock);
	write_conf(rp, sock);
	argv[0] = server_bin();
	argv[1] = rp->conf;
	argv[2] = NULL;
	rp->proc = harness_proc_start(rp->h, argv, NULL);
	deadline = harness_now_ms() + REDIS_PROC_START_MS;
	for (;;) {
		if (harness_proc_exited(rp->proc, &status))
			RFAIL("redis-server exited during start-up (exit code "
			    "%d):\n%s%s", harness_exit_code(status),
			    harness_proc_stdout(rp->proc),
			    harness_proc_stderr(rp->proc));
		/* A stale socket refuses; LOADING is not PONG. */
		if (harness_sock_accepts(sock) && redis_try_ping(rp, 500))
			return;
		if (harness_now_ms() >= deadline)
			RFAIL("redis-server does not answer PING on %s after "
			    "%d ms:\n%s", sock, REDIS_PROC_START_MS,
			    harness_proc_stdout(rp->proc));
		poll_step();
	}
}

void
redis_proc_start(struct redis_proc *rp)
{
	start_on(rp, rp->sock);
}

void
redis_proc_start_hidden(struct redis_proc *rp, const char *name)
{
	char	sock[PATH_MAX];

	snprintf(sock, sizeof sock, "%s", harness_path(rp->h, name));
	if (strcmp(sock, rp->sock) == 0)
		RFAIL("the hidden socket must not be %s", rp->sock);
	start_on(rp, sock);
}

void
redis_proc_reveal(struct redis_proc *rp)
{
	if (strcmp(rp->live_sock, rp->sock) == 0)
		RFAIL("redis-server already listens on %s", rp->sock);
	if (rename(rp->live_sock, rp->sock) == -1)
		RFAIL("rename %s %s: %s", rp->live_sock, rp->sock,
		    strerror(errno));
	ctx_drop(rp);
	snprintf(rp->live_sock, sizeof rp->live_sock, "%s", rp->sock);
}

struct redis_proc *
redis_proc_spawn(struct harness *h, int flags)
{
	struct redis_proc	*rp = redis_proc_new(h, flags);

	redis_proc_start(rp);
	return (rp);
}

const char *
redis_proc_url(struct redis_proc *rp)
{
	return (rp->url);
}

const char *
redis_proc_sock(struct redis_proc *rp)
{
	return (rp->live_sock);
}

bool
redis_proc_running(struct redis_proc *rp)
{
	return (rp->proc != NULL && !harness_proc_exited(rp->proc, NULL));
}

pid_t
redis_proc_pid(struct redis_proc *rp)
{
	return (redis_proc_running(rp) ? harness_proc_pid(rp->proc) : -1);
}

const char *
redis_proc_log(struct redis_proc *rp)
{
	return (rp->proc != NULL ? harness_proc_stdout(rp->proc) : "");
}

static void
must_run(struct redis_proc *rp, const char *what)
{
	if (!redis_proc_running(rp))
		RFAIL("%s: no redis-server runs in %s", what,
		    harness_dir(rp->h));
}

void
redis_proc_kill9(struct redis_proc *rp)
{
	int	status;

	must_run(rp, "kill -9");
	ctx_drop(rp);
	harness_proc_kill(rp->proc, SIGKILL);
	if (!harness_proc_wait(rp->proc, REDIS_KILL_MS, &status))
		RFAIL("redis-server (pid %d) still runs %d ms after SIGKILL",
		    (int)harness_proc_pid(rp->proc), REDIS_KILL_MS);
	rp->paused = false;
}

/* The state letter of /proc/PID/stat ('R', 'S', 'T', ...), or '?'. */
static char
proc_state(pid_t pid)
{
	char	 path[64], *text, *p, st = '?';

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((text = harness_read_file(path, NULL)) == NULL)
		return ('?');
	if ((p = strrchr(text, ')')) != NULL && p[1] == ' ' && p[2] != '\0')
		st = p[2];
	free(text);
	return (st);
}

static void
signal_and_wait(struct redis_proc *rp, int sig, bool stopped)
{
	pid_t	pid = harness_proc_pid(rp->proc);
	int64_t	deadline = harness_now_ms() + REDIS_SIGNAL_MS;
	char	st;

	harness_proc_kill(rp->proc, sig);
	for (;;) {
		st = proc_state(pid);
		if ((st == 'T' || st == 't') == stopped && st != '?')
			return;
		if (harness_now_ms() >= deadline)
			RFAIL("redis-server (pid %d) is in state %c %d ms "
			    "after signal %d", (int)pid, st, REDIS_SIGNAL_MS,
			    sig);
		poll_step();
	}
}

void
redis_proc_pause(struct redis_proc *rp)
{
	must_run(rp, "SIGSTOP");
	ctx_drop(rp);
	signal_and_wait(rp, SIGSTOP, true);
	rp->paused = true;
}

void
redis_proc_resume(struct redis_proc *rp)
{
	must_run(rp, "SIGCONT");
	signal_and_wait(rp, SIGCONT, false);
	rp->paused = false;
}

/*
 * Teardown.
 */

int
redis_teardown(void **state)
{
	int	i, rc;
	size_t	j;

	/* A stopped server would hold a draining router until its deadline. */
	for (i = 0; i < nprocs; i++)
		if (procs[i]->paused && redis_proc_running(procs[i]))
			harness_proc_kill(procs[i]->proc, SIGCONT);
	rc = harness_teardown(state);
	/* The harness killed and reaped the servers; free the rest. */
	for (i = 0; i < nprocs; i++) {
		ctx_drop(procs[i]);
		free(procs[i]);
	}
	nprocs = 0;
	for (j = 0; j < nreplies; j++)
		freeReplyObject(replies[j]);
	free(replies);
	replies = NULL;
	nreplies = replies_cap = 0;
	for (j = 0; j < nranges; j++)
		range_free(ranges[j]);
	free(ranges);
	ranges = NULL;
	nranges = ranges_cap = 0;
	loc_file = "?";
	loc_line = 0;
	return (rc);
}
