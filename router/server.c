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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "eventstore/eventstore.h"
#include "router/config.h"
#include "router/conn.h"
#include "router/lib/htab.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/server.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define SERVER_BACKLOG		1024
#define SERVER_DRAIN_MS		2000	/* shutdown: time to flush every bye */

static const char *const server_reserved[] = { "$sys", "$candidates" };

static void	server_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	server_signal_cb(evutil_socket_t, short, void *);
static void	server_drain_cb(evutil_socket_t, short, void *);

static void
server_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_flush_dirty(arg);
}

void
server_later(struct event *ev)
{
	static const struct timeval	zero = { 0, 0 };

	evtimer_add(ev, &zero);
}

int64_t
server_now_us(struct server *srv)
{
	return (srv->now_us);
}

/*
 * The clock itself (a vDSO call, ~30 ns), not libevent's cached one: that
 * is monotonic time plus an offset resynced only every few seconds, so it
 * strays from the wall clock by milliseconds when NTP slews it.
 */
void
server_clock_read(struct server *srv)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	srv->now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
server_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
server_es_state_cb(void *arg, enum es_state state, const char *why)
{
	(void)arg;
	log_info("eventlog_state", "state=%s why=%s", es_state_name(state),
	    why ? why : "-");
}

static int
server_open_log(struct server *srv, char **cause)
{
	const struct config	*cfg = srv->cfg;
	struct es_config	 ec;
	struct eid		 last;

	memset(&ec, 0, sizeof(ec));
	ec.mem_max_events = cfg->memlog_max_events;
	/* Embedded, the ring is the log; as a fallback it must never drop. */
	ec.mem_full = cfg->redis ? ES_FULL_REFUSE : ES_FULL_DROP_OLDEST;
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
	log_info("socket_stale", "path=%s", path);
	return (unlink(path));
}

static int
server_listen(struct server *srv, char **cause)
{
	const char		*path = srv->cfg->socket;
	struct sockaddr_un	 sun;
	mode_t			 old;
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
	/* Nobody may connect before the mode is right: bind under umask 077. */
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		goto fail;
	}
	umask(old);
	srv->sock_path = xstrdup(path);
	if (chmod(path, srv->cfg->socket_mode) == -1 ||
	    listen(fd, SERVER_BACKLOG) == -1)
		goto fail;
	srv->listener = evconnlistener_new(srv->base, server_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (srv->listener == NULL)
		goto fail;
	return (0);
fail:
	if (*cause == NULL)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	if (fd != -1 && srv->listener == NULL)
		close(fd);
	return (-1);
}

int
server_init(struct server *srv, const struct config *cfg, char **cause)
{
	bool	limited;
	size_t	i;

	memset(srv, 0, sizeof(*srv));
	*cause = NULL;
	srv->cfg = cfg;
	TAILQ_INIT(&srv->conns);
	msgpack_sbuffer_init(&srv->out);
	msgpack_sbuffer_init(&srv->hdrbuf);
	TAILQ_INIT(&srv->dirty);
	if (wire_decoder_init(&srv->dec) == -1 ||
	    (srv->base = event_base_new()) == NULL ||
	    (srv->tracts = htab_new()) == NULL) {
		xasprintf(cause, "cannot create the event loop");
		return (-1);
	}
	/*
	 * Output batched by callbacks that do not flush it themselves is
	 * written once the callbacks already active in this pass have run:
	 * activating flush_ev queues it behind them.
	 */
	srv->flush_ev = event_new(srv->base, -1, 0, server_flush_cb, srv);
	for (i = 0; i < sizeof(server_reserved) / sizeof(*server_reserved); i++)
		tract_get(srv, server_reserved[i], strlen(server_reserved[i]),
		    true, &limited);
	for (i = 0; i < cfg->ntracts; i++)
		tract_get(srv, cfg->tracts[i], strlen(cfg->tracts[i]), true,
		    &limited);
	/*
	 * Signals are ours before the socket exists: whoever sees the socket
	 * may send SIGTERM at once and must get a clean drain.
	 */
	srv->sigterm_ev = evsignal_new(srv->base, SIGTERM, server_signal_cb, srv);
	srv->sigint_ev = evsignal_new(srv->base, SIGINT, server_signal_cb, srv);
	srv->drain_ev = evtimer_new(srv->base, server_drain_cb, srv);
	evsignal_add(srv->sigterm_ev, NULL);
	evsignal_add(srv->sigint_ev, NULL);
	if (server_open_log(srv, cause) == -1 || server_listen(srv, cause) == -1)
		return (-1);
	log_info("listening", "socket=%s log=%s tracts=%zu", cfg->socket,
	    cfg->redis ? "redis" : "memory", srv->ntracts);
	return (0);
}

/* Refuses an accepted socket with one err frame, best effort. */
static void
server_refuse(struct server *srv, int fd, enum wire_code code, const char *msg)
{
	srv->out.size = 0;
	if (wire_enc_err(&srv->out, false, 0, code, msg) == 0)
		(void)send(fd, srv->out.data, srv->out.size,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	srv->out.size = 0;
	srv->n.conns_refused++;
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
		log_warn("conn_unauthorized", "uid=%u pid=%d",
		    (unsigned)cred.uid, (int)cred.pid);
		server_refuse(srv, fd, WIRE_UNAUTHORIZED,
		    "uid not in allow_uids");
		return;
	}
	if (srv->nconns >= srv->cfg->max_connections) {
		log_warn("conn_limit", "uid=%u max_connections=%u",
		    (unsigned)cred.uid, srv->cfg->max_connections);
		server_refuse(srv, fd, WIRE_LIMIT, "max_connections reached");
		return;
	}
	srv->n.conns_accepted++;
	conn_new(srv, fd, cred.uid, cred.pid);
}

static void
server_stop(struct server *srv)
{
	struct timeval	 tv = { SERVER_DRAIN_MS / 1000,
			    (SERVER_DRAIN_MS % 1000) * 1000 };
	struct conn	*c, *next;

	srv->draining = 1;
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
	if (srv->sock_path != NULL)
		unlink(srv->sock_path);
	/* Walk with a saved next: the list must not change under us. */
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_close(c, "shutdown");
	}
	evtimer_add(srv->drain_ev, &tv);
	server_conn_gone(srv);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;

	(void)what;
	if (srv->draining)
		return;
	log_info("shutdown", "signal=%d connections=%u", (int)sig,
	    srv->nconns);
	server_stop(srv);
}

static void
server_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	log_warn("shutdown_deadline", "connections=%u", srv->nconns);
	event_base_loopexit(srv->base, NULL);
}

void
server_conn_gone(struct server *srv)
{
	if (srv->draining && srv->nconns == 0)
		event_base_loopexit(srv->base, NULL);
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
	uint64_t	seen = srv->n.frames_in;
	int64_t		last = server_mono_us(), now;
	int		rc;

	for (;;) {
		rc = event_base_loop(srv->base, EVLOOP_NONBLOCK);
		if (server_loop_over(srv, rc))
			break;
		now = server_mono_us();
		if (srv->n.frames_in != seen) {
			seen = srv->n.frames_in;
			last = now;
		} else if (now - last > poll_us) {
			rc = event_base_loop(srv->base, EVLOOP_ONCE);
			if (server_loop_over(srv, rc))
				break;
			seen = srv->n.frames_in;
			last = server_mono_us();
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
		log_error("loop_failed", "%s", "dispatch returned -1");
		return (1);
	}
	log_info("stopped", "%s", "clean=1");
	return (0);
}

void
server_free(struct server *srv)
{
	struct conn	*c;

	/* Whatever the drain deadline left: freed without ceremony. */
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL) {
		conn_close(c, NULL);
		conn_free(c);
	}
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	if (srv->sock_path != NULL && !srv->draining)
		unlink(srv->sock_path);
	free(srv->sock_path);
	if (srv->es != NULL)
		es_close(srv->es);
	tract_free_all(srv);
	htab_free(srv->tracts);
	if (srv->sigterm_ev != NULL)
		event_free(srv->sigterm_ev);
	if (srv->sigint_ev != NULL)
		event_free(srv->sigint_ev);
	if (srv->drain_ev != NULL)
		event_free(srv->drain_ev);
	if (srv->flush_ev != NULL)
		event_free(srv->flush_ev);
	if (srv->base != NULL)
		event_base_free(srv->base);
	wire_decoder_free(&srv->dec);
	msgpack_sbuffer_destroy(&srv->out);
	msgpack_sbuffer_destroy(&srv->hdrbuf);
}
