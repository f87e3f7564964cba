/*
 * server: start-up, the listener, peer credentials, signals and the drain.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "eventstore/eventstore.h"
#include "router/clock.h"
#include "router/config.h"
#include "router/counter.h"
#include "router/conn.h"
#include "router/http.h"
#include "router/log.h"
#include "router/metrics.h"
#include "router/promote.h"
#include "router/op.h"
#include "router/server.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define SERVER_BACKLOG		1024
#define SERVER_ACCEPT_RETRY_MS	1000	/* out of descriptors: retry after */
#define SERVER_BYE_MS		2000	/* after the drain: time for byes */
#define SERVER_DIRS_MAX		64	/* directories the socket check visits */

static void	server_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	server_accept_error_cb(struct evconnlistener *, void *);
static void	server_accept_retry_cb(evutil_socket_t, short, void *);
static void	server_signal_cb(evutil_socket_t, short, void *);
static void	server_hup_cb(evutil_socket_t, short, void *);
static void	server_drain_cb(evutil_socket_t, short, void *);
static void	server_flushed_cb(void *, int);

/* libevent's own messages, through the router's log. */
static void
server_event_log(int severity, const char *msg)
{
	enum log_level	level;

	switch (severity) {
	case EVENT_LOG_ERR:
		level = LOG_ERROR;
		break;
	case EVENT_LOG_WARN:
		level = LOG_WARN;
		break;
	case EVENT_LOG_MSG:
		level = LOG_INFO;
		break;
	default:
		level = LOG_DEBUG;
		break;
	}
	if (log_enabled(level))
		log_msg(level, "libevent", "message", "msg=\"%s\"", msg);
}

/*
 * One line per change of the log's state. A log that comes back may hold
 * later ids than ours (written by an earlier run while we started without
 * it): ids go on above them.
 */
static void
server_es_state_cb(void *arg, enum es_state state, const char *why)
{
	struct server	*srv = arg;
	struct eid	 last;

	/*
	 * Into fallback and out of it are events; resync and direct trade
	 * places under load (a full write window) and are only debug.
	 */
	if (state == ES_STATE_FALLBACK)
		log_warn("eventlog", "state", "state=%s why=\"%s\"",
		    es_state_name(state), why ? why : "-");
	else if (srv->es_state == ES_STATE_FALLBACK)
		log_info("eventlog", "state", "state=%s why=\"%s\"",
		    es_state_name(state), why ? why : "-");
	else
		log_debug("eventlog", "state", "state=%s why=\"%s\"",
		    es_state_name(state), why ? why : "-");
	srv->es_state = state;
	if (srv->es != NULL) {
		es_last_eid(srv->es, &last);
		eid_gen_raise(&srv->eids, &last);
	}
	/* A link is up: a synthesizer rebuild that could not read goes on. */
	if (state != ES_STATE_FALLBACK)
		promote_log_up(srv->promote);
}

static int
server_open_log(struct server *srv, const struct es_backend *backend,
    char **cause)
{
	const struct config	*cfg = srv->cfg;
	struct es_config	 ec;
	struct eid		 last;

	memset(&ec, 0, sizeof(ec));
	ec.mem_max_events = cfg->memlog_max_events;
	ec.mem_max_bytes = cfg->memlog_max_bytes;
	/* Embedded, the ring is the log; as a fallback it must never drop. */
	ec.mem_full = cfg->redis ? ES_FULL_REFUSE : ES_FULL_DROP_OLDEST;
	ec.backend = backend;
	ec.redis_url = cfg->redis;
	ec.redis_prefix = cfg->redis_prefix;
	ec.redis_maxlen = cfg->redis_maxlen;
	ec.redis_timeout_ms = cfg->redis_timeout_ms;
	ec.base = srv->base;
	ec.state_cb = server_es_state_cb;
	ec.state_arg = srv;
	if ((srv->es = es_open(&ec, cause)) == NULL)
		return (-1);
	es_last_eid(srv->es, &last);
	eid_gen_init(&srv->eids, &last);
	return (0);
}

/*
 * A socket file left by a dead router is replaced; a live router's is an
 * error; anything that is not a socket is left alone (an error too).
 */
static int
server_check_stale(const char *path, const struct sockaddr_un *sun,
    char **cause)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(path, &st) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISSOCK(st.st_mode)) {
		xasprintf(cause, "%s: exists and is not a socket", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		xasprintf(cause, "%s: another router is listening there", path);
		return (-1);
	}
	log_info("server", "socket_stale", "path=%s", path);
	return (unlink(path));
}

/* Binds under umask 077 (nobody may connect before the mode is right). */
static int
server_bind(struct server *srv, int fd, const struct sockaddr_un *sun)
{
	struct stat	st;
	mode_t		old;
	int		rc;

	/*
	 * The socket is made with socket_mode itself (Linux gives it 0777
	 * less the umask): no chmod(2) by path afterwards, which would follow
	 * a symlink swapped in meanwhile (server_check_socket verifies).
	 */
	old = umask(~srv->cfg->socket_mode & 0777);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	umask(old);
	if (rc == -1)
		return (-1);
	srv->sock_path = xstrdup(sun->sun_path);
	/* Who the file is: a stop removes it only if it is still ours. */
	if (lstat(sun->sun_path, &st) == -1)
		return (-1);
	srv->sock_dev = st.st_dev;
	srv->sock_ino = st.st_ino;
	return (0);
}

/* The directories checked so far: none is reported twice. */
struct server_dirs {
	struct {
		dev_t	dev;
		ino_t	ino;
	}	v[SERVER_DIRS_MAX];
	size_t	n;
};

/*
 * Cuts path to its parent in place ("/a/b" -> "/a", "/a" -> "/", "a" ->
 * "."). Returns false when path is already "/" or "." (or empty).
 */
static bool
server_parent(char *path)
{
	size_t	 len = strlen(path);
	char	*s;

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	if (len == 0 || strcmp(path, "/") == 0 || strcmp(path, ".") == 0)
		return (false);
	if ((s = strrchr(path, '/')) == NULL) {
		strcpy(path, ".");	/* len >= 1: room for ".\0" */
		return (true);
	}
	while (s > path && s[-1] == '/')
		s--;
	if (s == path)
		s++;			/* keep the root's "/" */
	*s = '\0';
	return (true);
}

/*
 * One directory on the way to the socket, checked once. Others can replace
 * what it holds when group or others may write it without the sticky bit,
 * or when it belongs to someone other than root and us (who may chmod it).
 * A symlink's own mode means nothing: the directory holding it comes next.
 */
static void
server_check_dir(struct server_dirs *seen, const char *dir)
{
	struct stat	st;
	mode_t		mode;
	size_t		i;

	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return;
	for (i = 0; i < seen->n; i++) {
		if (seen->v[i].dev == st.st_dev && seen->v[i].ino == st.st_ino)
			return;
	}
	if (seen->n < SERVER_DIRS_MAX) {
		seen->v[seen->n].dev = st.st_dev;
		seen->v[seen->n].ino = st.st_ino;
		seen->n++;
	}
	mode = st.st_mode & 07777;
	if (((mode & (S_IWGRP | S_IWOTH)) != 0 && (mode & S_ISVTX) == 0) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()))
		log_warn("server", "socket_dir_unsafe", "path=%s mode=%04o uid=%u", dir,
		    (unsigned)mode, (unsigned)st.st_uid);
}

/* dir (modified), then each directory above it up to "/" or ".". */
static void
server_check_dirs(struct server_dirs *seen, char *dir)
{
	size_t	i;

	for (i = 0; i < SERVER_DIRS_MAX; i++) {
		server_check_dir(seen, dir);
		if (!server_parent(dir))
			break;
	}
}

/*
 * After bind, before listen, in the spirit of OpenSSH's StrictModes (ADR
 * 0017): the socket file must be the one bound, with socket_mode exactly,
 * else the start fails; whoever may write a directory on its way, up to /,
 * could remove it or put their own in its place, so each such directory is
 * named once at warn. The way is the path as written and as resolved
 * (symlinks). Nothing here changes a mode: the operator fixes the directory.
 */
static int
server_check_socket(struct server *srv, char **cause)
{
	struct server_dirs	 seen;
	struct stat		 st;
	char			*dir, *real;

	if (lstat(srv->sock_path, &st) == -1)
		return (-1);
	if (!S_ISSOCK(st.st_mode) || st.st_dev != srv->sock_dev ||
	    st.st_ino != srv->sock_ino) {
		xasprintf(cause, "%s: replaced during start-up",
		    srv->sock_path);
		return (-1);
	}
	if ((st.st_mode & 07777) != srv->cfg->socket_mode) {
		xasprintf(cause, "%s: mode %04o is not socket_mode %04o",
		    srv->sock_path, (unsigned)(st.st_mode & 07777),
		    srv->cfg->socket_mode);
		return (-1);
	}
	seen.n = 0;
	dir = xstrdup(srv->sock_path);
	(void)server_parent(dir);
	if ((real = realpath(dir, NULL)) != NULL) {
		server_check_dirs(&seen, real);
		free(real);
	}
	server_check_dirs(&seen, dir);
	free(dir);
	return (0);
}

static int
server_listen(struct server *srv, char **cause)
{
	const char		*path = srv->cfg->socket;
	struct sockaddr_un	 sun;
	int			 fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		xasprintf(cause, "%s: socket path too long", path);
		return (-1);
	}
	strcpy(sun.sun_path, path);
	if (server_check_stale(path, &sun, cause) == -1)
		goto fail;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto fail;
	/* Checked before listen: nobody connects to a socket found unsafe. */
	if (server_bind(srv, fd, &sun) == -1 ||
	    server_check_socket(srv, cause) == -1 ||
	    listen(fd, SERVER_BACKLOG) == -1)
		goto fail;
	srv->listener = evconnlistener_new(srv->base, server_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (srv->listener == NULL)
		goto fail;
	evconnlistener_set_error_cb(srv->listener, server_accept_error_cb);
	return (0);
fail:
	if (*cause == NULL)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	if (fd != -1 && srv->listener == NULL)
		close(fd);
	return (-1);
}

/* Removes the socket file, unless another router has taken the path. */
static void
server_unlink(struct server *srv)
{
	struct stat	st;

	if (srv->sock_path == NULL)
		return;
	if (lstat(srv->sock_path, &st) == 0 && st.st_dev == srv->sock_dev &&
	    st.st_ino == srv->sock_ino)
		unlink(srv->sock_path);
	else
		log_warn("server", "socket_not_ours", "path=%s", srv->sock_path);
	free(srv->sock_path);
	srv->sock_path = NULL;
}

static void
server_signals(struct server *srv)
{
	srv->sigterm_ev = evsignal_new(srv->base, SIGTERM, server_signal_cb,
	    srv);
	srv->sigint_ev = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	srv->sighup_ev = evsignal_new(srv->base, SIGHUP, server_hup_cb, srv);
	srv->drain_ev = evtimer_new(srv->base, server_drain_cb, srv);
	srv->accept_timer = evtimer_new(srv->base, server_accept_retry_cb,
	    srv);
	evsignal_add(srv->sigterm_ev, NULL);
	evsignal_add(srv->sigint_ev, NULL);
	evsignal_add(srv->sighup_ev, NULL);
}

int
server_init(struct server *srv, const struct config *cfg,
    const struct es_backend *backend, char **cause)
{
	bool	limited;
	size_t	i;

	memset(srv, 0, sizeof(*srv));
	*cause = NULL;
	srv->cfg = cfg;
	TAILQ_INIT(&srv->conns);
	metrics_start();
	event_set_log_callback(server_event_log);
	if (wire_decoder_init(&srv->dec) == -1 ||
	    (srv->base = event_base_new()) == NULL ||
	    (srv->tracts = tract_reg_new(srv)) == NULL) {
		xasprintf(cause, "cannot create the event loop");
		return (-1);
	}
	conn_loop_init(srv->base);
	for (i = 0; i < cfg->ntracts; i++)
		tract_get(srv->tracts, cfg->tracts[i], strlen(cfg->tracts[i]),
		    true, &limited);
	/*
	 * Signals are ours before the socket exists: whoever sees the socket
	 * may send SIGTERM at once and must get a clean drain.
	 */
	server_signals(srv);
	if (server_open_log(srv, backend, cause) == -1)
		return (-1);
	if (cfg->http != NULL &&
	    (srv->http = http_open(srv, cfg->http, cause)) == NULL)
		return (-1);
	/* The synthesizer reads the log before anyone can add to it. */
	if ((srv->promote = promote_new(srv, cause)) == NULL && *cause != NULL)
		return (-1);
	promote_wait_rebuilt(srv->promote);
	if (server_listen(srv, cause) == -1)
		return (-1);
	log_info("server", "listening", "socket=%s log=%s tracts=%zu", cfg->socket,
	    cfg->redis ? "redis" : "memory", tract_count(srv->tracts));
	return (0);
}

uint64_t
server_conn_add(struct server *srv, struct conn *c)
{
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	return (++srv->next_conn_id);
}

/* A descriptor came free: accepting can go on (if it was paused). */
void
server_conn_remove(struct server *srv, struct conn *c)
{
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	if (srv->accept_paused && srv->listener != NULL) {
		evtimer_del(srv->accept_timer);
		evconnlistener_enable(srv->listener);
	}
}

/* Refuses an accepted socket with one err frame, best effort. */
static void
server_refuse(int fd, enum wire_code code, const char *msg)
{
	msgpack_sbuffer	sb;

	msgpack_sbuffer_init(&sb);
	if (wire_enc_err(&sb, false, 0, code, msg) == 0)
		(void)send(fd, sb.data, sb.size, MSG_NOSIGNAL | MSG_DONTWAIT);
	msgpack_sbuffer_destroy(&sb);
	counter_inc(COUNTER_CONNS_REFUSED);
	counter_err(code);
	close(fd);
}

static bool
server_uid_allowed(const struct config *cfg, uid_t uid)
{
	size_t	i;

	if (cfg->nallow_uids == 0)
		return (true);
	for (i = 0; i < cfg->nallow_uids; i++) {
		if (cfg->allow_uids[i] == uid)
			return (true);
	}
	return (false);
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server	*srv = arg;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	(void)l;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		close(fd);
		return;
	}
	if (!server_uid_allowed(srv->cfg, cred.uid)) {
		log_warn("server", "conn_unauthorized", "uid=%u pid=%d",
		    (unsigned)cred.uid, (int)cred.pid);
		server_refuse(fd, WIRE_UNAUTHORIZED, "uid not in allow_uids");
		return;
	}
	if (srv->nconns >= srv->cfg->max_connections) {
		log_warn("server", "conn_limit", "uid=%u max_connections=%u",
		    (unsigned)cred.uid, srv->cfg->max_connections);
		server_refuse(fd, WIRE_LIMIT, "max_connections reached");
		return;
	}
	counter_inc(COUNTER_CONNS_ACCEPTED);
	if (srv->accept_paused) {
		srv->accept_paused = false;	/* the shortage is over */
		log_info("server", "accept_resumed", "connections=%u", srv->nconns);
	}
	conn_new(srv, fd, cred.uid, cred.pid);
}

/*
 * accept() failed for another reason than a retry: out of descriptors
 * (EMFILE, ENFILE) or memory. The listening socket stays readable, so
 * trying again at once would spin: stop accepting, and try again when a
 * connection closes or after a second (tmux server_accept does the same).
 * One log line per shortage: accept_paused stays set until an accept
 * succeeds.
 */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server	*srv = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	evconnlistener_disable(l);
	if (!srv->accept_paused)
		log_warn("server", "accept_paused", "error=\"%s\" connections=%u",
		    strerror(err), srv->nconns);
	srv->accept_paused = true;
	counter_inc(COUNTER_ACCEPT_PAUSES);
	clock_timer_ms(srv->accept_timer, SERVER_ACCEPT_RETRY_MS);
}

static void
server_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	/* Still paused until an accept succeeds: no second log line. */
	if (srv->accept_paused && srv->listener != NULL)
		evconnlistener_enable(srv->listener);
}

/*
 * The drain: stop accepting, answer what arrives shutting_down, give every
 * connection drain_timeout_ms to take its output, then bye (cutting what a
 * slow reader has not taken, so that the bye reaches it), then exit.
 */
void
server_stop(struct server *srv)
{
	unsigned	 drain_ms = srv->cfg->drain_timeout_ms;
	struct conn	*c, *next;

	srv->draining = 1;
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
	evtimer_del(srv->accept_timer);
	server_unlink(srv);
	/* Walk with a saved next: the list must not change under us. */
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_shutdown(c, drain_ms > 0 ? drain_ms : 1);
	}
	conn_flush_dirty();
	/* The ring goes to Redis before the exit, if it can (es_flush). */
	if (es_flush(srv->es, server_flushed_cb, srv) == ES_PENDING) {
		srv->flushing = true;
		log_info("eventlog", "flush", "%s", "waiting=1");
	}
	clock_timer_ms(srv->drain_ev, drain_ms + SERVER_BYE_MS);
	server_conn_gone(srv);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;

	(void)what;
	if (srv->draining) {
		/* A second signal: the drain ends now. */
		log_warn("server", "shutdown_now", "signal=%d connections=%u", (int)sig,
		    srv->nconns);
		event_base_loopexit(srv->base, NULL);
		return;
	}
	log_info("server", "shutdown", "signal=%d connections=%u", (int)sig,
	    srv->nconns);
	server_stop(srv);
}

/* SIGHUP never stops the router: logs go to stderr, nothing to reopen. */
static void
server_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;

	(void)sig;
	(void)what;
	log_info("server", "reopening_logs", "target=stderr connections=%u",
	    srv->nconns);
}

static void
server_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	log_warn("server", "shutdown_deadline", "connections=%u", srv->nconns);
	event_base_loopexit(srv->base, NULL);
}

void
server_conn_gone(struct server *srv)
{
	if (srv->draining && srv->nconns == 0 && !srv->flushing)
		event_base_loopexit(srv->base, NULL);
}

/* Every ring event is in Redis now (or the log closed). */
static void
server_flushed_cb(void *arg, int status)
{
	struct server	*srv = arg;

	srv->flushing = false;
	log_info("eventlog", "flushed", "ok=%d", status == 0);
	server_conn_gone(srv);
}

/* The loop was told to end (or has nothing left to wait for). */
static bool
server_loop_over(struct server *srv, int rc)
{
	return (rc != 0 || event_base_got_exit(srv->base) ||
	    event_base_got_break(srv->base));
}

/*
 * busy_poll_us (ADR 0009): after a frame arrives, poll without sleeping
 * until none has come for busy_poll_us, then block as usual. A waiting
 * router then sees the next frame at once instead of after the CPU's
 * wake-up, at the price of a busy CPU while traffic flows. The exit flags
 * are read after every pass: the next event_base_loop would clear them.
 */
static int
server_run_busy(struct server *srv, int64_t poll_us)
{
	uint64_t	seen = counter_get(COUNTER_FRAMES_IN);
	int64_t		last = clock_mono_now_us(), now;
	int		rc;

	for (;;) {
		rc = event_base_loop(srv->base, EVLOOP_NONBLOCK);
		if (server_loop_over(srv, rc))
			break;
		now = clock_mono_now_us();
		if (counter_get(COUNTER_FRAMES_IN) != seen) {
			seen = counter_get(COUNTER_FRAMES_IN);
			last = now;
		} else if (now - last > poll_us) {
			rc = event_base_loop(srv->base, EVLOOP_ONCE);
			if (server_loop_over(srv, rc))
				break;
			seen = counter_get(COUNTER_FRAMES_IN);
			last = clock_mono_now_us();
		}
	}
	return (rc == -1 ? -1 : 0);
}

int
server_run(struct server *srv)
{
	int	rc;

	if (srv->cfg->busy_poll_us > 0)
		rc = server_run_busy(srv, srv->cfg->busy_poll_us);
	else
		rc = event_base_dispatch(srv->base);
	if (rc == -1) {
		log_error("server", "loop_failed", "%s", "dispatch returned -1");
		return (1);
	}
	log_info("server", "stopped", "%s", "clean=1");
	return (0);
}

static void
server_free_event(struct event **ev)
{
	if (*ev != NULL)
		event_free(*ev);
	*ev = NULL;
}

void
server_free(struct server *srv)
{
	struct conn	*c;

	/* Whatever the drain deadline left: freed without ceremony. */
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL) {
		conn_close(c, NULL, "exit", 0);
		conn_free(c);
	}
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	srv->listener = NULL;
	server_unlink(srv);
	/* Pending appends and reads are called back here. */
	if (srv->es != NULL)
		es_close(srv->es);
	promote_free(srv->promote);
	srv->promote = NULL;
	http_close(srv->http);
	srv->http = NULL;
	tract_reg_free(srv->tracts);
	server_free_event(&srv->sigterm_ev);
	server_free_event(&srv->sigint_ev);
	server_free_event(&srv->sighup_ev);
	server_free_event(&srv->drain_ev);
	server_free_event(&srv->accept_timer);
	conn_loop_free();
	op_free();
	if (srv->base != NULL)
		event_base_free(srv->base);
	wire_decoder_free(&srv->dec);
}
