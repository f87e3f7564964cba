/*
 * es_hiredis: the Redis transport over hiredis' async API, on the router's
 * event base through hiredis' libevent adapter; and the blocking read of
 * the stream's last id at start-up.
 *
 * Lifetimes (hiredis 0.14, async.c): a context that fails to connect calls
 * onConnect(REDIS_ERR) and is freed by hiredis right after; a connected
 * one that is lost, or freed by us, answers every pending command with a
 * NULL reply, then calls onDisconnect, then is gone; redisAsyncFree inside
 * one of its callbacks only marks it, and hiredis frees it when the
 * callback returns. Our link struct lives until hiredis is done with the
 * context, and is told apart from a lost one by "closed".
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

#include "eventstore/es_internal.h"

#define HR_PORT_DEFAULT	6379

struct hr_link {
	redisAsyncContext	*ac;		/* NULL once hiredis frees it */
	struct event		*up_ev;		/* reports "up" from the loop */
	es_link_fn		*link_fn;
	es_reply_fn		*reply_fn;
	void			*arg;
	int			 db;
	bool			 closed;	/* by us: nothing more to tell */
	char			*fmt;		/* RESP of the command sent */
	size_t			 fmtcap;
};

int
es_redis_addr_parse(const char *url, struct es_redis_addr *a, char **cause)
{
	const char	*h, *end, *colon, *slash;
	char		*ep;
	long		 v;

	memset(a, 0, sizeof(*a));
	if (strncmp(url, "unix://", 7) == 0 && url[7] == '/') {
		if ((a->path = strdup(url + 7)) == NULL)
			goto nomem;
		return (0);
	}
	if (strncmp(url, "redis://", 8) != 0 || url[8] == '\0')
		goto bad;
	h = url + 8;
	end = h + strlen(h);
	slash = strchr(h, '/');
	if (slash == NULL)
		slash = end;
	colon = memchr(h, ':', (size_t)(slash - h));
	if ((colon != NULL ? colon : slash) == h)
		goto bad;
	a->port = HR_PORT_DEFAULT;
	if (colon != NULL) {
		errno = 0;
		v = strtol(colon + 1, &ep, 10);
		if (ep != slash || errno != 0 || v < 1 || v > 65535)
			goto bad;
		a->port = (int)v;
	}
	if (slash != end) {
		errno = 0;
		v = strtol(slash + 1, &ep, 10);
		if (*ep != '\0' || ep == slash + 1 || errno != 0 || v < 0 ||
		    v > INT_MAX)
			goto bad;
		a->db = (int)v;
	}
	if ((a->host = strndup(h, (size_t)((colon != NULL ? colon : slash) -
	    h))) == NULL)
		goto nomem;
	return (0);
bad:
	es_cause(cause, "%s: not unix:///PATH or redis://HOST[:PORT][/DB]",
	    url);
	return (-1);
nomem:
	es_cause(cause, "redis: out of memory");
	return (-1);
}

void
es_redis_addr_free(struct es_redis_addr *a)
{
	free(a->path);
	free(a->host);
	memset(a, 0, sizeof(*a));
}

static void
hr_link_free(struct hr_link *l)
{
	if (l->up_ev != NULL)
		event_free(l->up_ev);
	free(l->fmt);
	free(l);
}

static void
hr_select_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct hr_link	*l = privdata;
	redisReply	*rep = reply;

	(void)ac;
	if (rep == NULL || l->closed)
		return;		/* the disconnect callback tells */
	if (rep->type == REDIS_REPLY_ERROR)
		l->link_fn(l->arg, 0, rep->str);
	else
		l->link_fn(l->arg, 1, NULL);
}

/* Up, told from the loop: hiredis still uses the context after onConnect. */
static void
hr_up_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hr_link	*l = arg;
	char		 db[16];

	(void)fd;
	(void)what;
	if (l->closed || l->ac == NULL)
		return;
	if (l->db == 0) {
		l->link_fn(l->arg, 1, NULL);
		return;
	}
	snprintf(db, sizeof(db), "%d", l->db);
	if (redisAsyncCommand(l->ac, hr_select_cb, l, "SELECT %s", db) !=
	    REDIS_OK)
		l->link_fn(l->arg, 0, "cannot send SELECT");
}

static void
hr_connect_cb(const redisAsyncContext *ac, int status)
{
	struct hr_link	*l = ac->data;

	if (status == REDIS_OK) {
		event_active(l->up_ev, EV_TIMEOUT, 0);
		return;
	}
	/* hiredis frees the context when this returns. */
	l->ac = NULL;
	if (l->closed) {
		hr_link_free(l);
		return;
	}
	l->link_fn(l->arg, 0, ac->errstr[0] != '\0' ? ac->errstr :
	    "cannot connect");
}

static void
hr_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct hr_link	*l = ac->data;

	(void)status;
	l->ac = NULL;
	if (l->closed) {
		hr_link_free(l);
		return;
	}
	l->link_fn(l->arg, 0, ac->errstr[0] != '\0' ? ac->errstr :
	    "connection lost");
}

static redisAsyncContext *
hr_context(const struct es_redis_addr *a)
{
	if (a->path != NULL)
		return (redisAsyncConnectUnix(a->path));
	return (redisAsyncConnect(a->host, a->port));
}

static void *
hr_open(struct event_base *base, const struct es_redis_addr *a,
    es_link_fn *fn, void *arg, char **cause)
{
	struct hr_link	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->up_ev = event_new(base, -1, 0, hr_up_cb, l)) == NULL) {
		free(l);
		es_cause(cause, "redis: out of memory");
		return (NULL);
	}
	l->link_fn = fn;
	l->arg = arg;
	l->db = a->db;
	if ((l->ac = hr_context(a)) == NULL || l->ac->err != 0) {
		es_cause(cause, "redis: %s", l->ac != NULL ? l->ac->errstr :
		    "out of memory");
		if (l->ac != NULL)
			redisAsyncFree(l->ac);
		hr_link_free(l);
		return (NULL);
	}
	l->ac->data = l;
	if (redisLibeventAttach(l->ac, base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(l->ac, hr_connect_cb) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(l->ac, hr_disconnect_cb) !=
	    REDIS_OK) {
		es_cause(cause, "redis: cannot attach to the event loop");
		l->closed = true;
		redisAsyncFree(l->ac);
		hr_link_free(l);
		return (NULL);
	}
	return (l);
}

static void
hr_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct hr_link	*l = ac->data;

	l->reply_fn(privdata, reply);
}

/*
 * The command in RESP, into buf (grown as needed): what hiredis'
 * redisFormatSdsCommandArgv makes, without its sdscatfmt per argument,
 * which cost more than everything else the router does per event.
 * Returns the length, or 0 when memory runs out.
 */
static size_t
hr_format(char **buf, size_t *cap, int argc, const char **argv,
    const size_t *argvlen)
{
	size_t	need = 16, len = 0, ncap;
	char	*p, *nb;
	int	i;

	for (i = 0; i < argc; i++)
		need += 24 + argvlen[i] + 2;
	if (need > *cap) {
		ncap = need < 4096 ? 4096 : need;
		if ((nb = realloc(*buf, ncap)) == NULL)
			return (0);
		*buf = nb;
		*cap = ncap;
	}
	p = *buf;
	p[len++] = '*';
	len += eid_put_u64(p + len, (size_t)argc);
	p[len++] = '\r';
	p[len++] = '\n';
	for (i = 0; i < argc; i++) {
		p[len++] = '$';
		len += eid_put_u64(p + len, argvlen[i]);
		p[len++] = '\r';
		p[len++] = '\n';
		if (argvlen[i] > 0)
			memcpy(p + len, argv[i], argvlen[i]);
		len += argvlen[i];
		p[len++] = '\r';
		p[len++] = '\n';
	}
	return (len);
}

static int
hr_command(void *link, int argc, const char **argv, const size_t *argvlen,
    es_reply_fn *fn, void *arg)
{
	struct hr_link	*l = link;
	size_t		 len;

	if (l->closed || l->ac == NULL)
		return (-1);
	l->reply_fn = fn;	/* the same for every command of a link */
	if ((len = hr_format(&l->fmt, &l->fmtcap, argc, argv, argvlen)) ==
	    0 || redisAsyncFormattedCommand(l->ac, hr_reply_cb, arg, l->fmt,
	    len) !=
	    REDIS_OK)
		return (-1);
	return (0);
}

/*
 * Pending replies run with NULL (now, or when the callback we are in
 * returns); a connected context then calls onDisconnect, which frees the
 * link; one that never connected calls nothing, so it is freed here.
 */
static void
hr_close(void *link)
{
	struct hr_link		*l = link;
	redisAsyncContext	*ac = l->ac;
	bool			 connected;

	l->closed = true;
	event_del(l->up_ev);
	if (ac == NULL) {
		hr_link_free(l);
		return;
	}
	connected = (ac->c.flags & REDIS_CONNECTED) != 0;
	redisAsyncFree(ac);
	if (!connected)
		hr_link_free(l);
}

/* The blocking start-up read: XREVRANGE key + - COUNT 1. */
static int
hr_last_id(const struct es_redis_addr *a, const char *key,
    unsigned timeout_ms, struct eid *out, char **why)
{
	struct timeval	 tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext	*c;
	redisReply	*rep = NULL;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	c = a->path != NULL ? redisConnectUnixWithTimeout(a->path, tv) :
	    redisConnectWithTimeout(a->host, a->port, tv);
	if (c == NULL || c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK)
		goto out;
	if (a->db != 0) {
		rep = redisCommand(c, "SELECT %d", a->db);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR)
			goto out;
		freeReplyObject(rep);
	}
	rep = redisCommand(c, "XREVRANGE %s + - COUNT 1", key);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		goto out;
	if (rep->elements == 0)
		rc = 0;
	else if (rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements >= 1 &&
	    rep->element[0]->element[0]->type == REDIS_REPLY_STRING &&
	    eid_parse(rep->element[0]->element[0]->str,
	    rep->element[0]->element[0]->len, 0, out) == 0)
		rc = 0;
out:
	if (rc == -1)
		es_cause(why, "redis at start: %s", c == NULL ? "out of memory" :
		    c->err != 0 ? c->errstr : rep == NULL ? "no reply" :
		    rep->type == REDIS_REPLY_ERROR ? rep->str :
		    "unexpected reply");
	if (rep != NULL)
		freeReplyObject(rep);
	if (c != NULL)
		redisFree(c);
	return (rc);
}

const struct es_transport es_hiredis_transport = {
	.open = hr_open,
	.command = hr_command,
	.close = hr_close,
	.last_id = hr_last_id
};
