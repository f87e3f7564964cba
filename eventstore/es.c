/*
 * es: the front of the event log. It checks the public contract once (ids
 * only go up, ranges are well formed, nothing new while closing), hands
 * each call to the backend picked at es_open (es_config.backend, or the
 * memory ring; Redis, with the ring as its fallback, in a later issue), and
 * passes the backend's state changes on to the router.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventstore/es_internal.h"

struct es {
	const struct es_backend	*b;
	void			*be;	/* b's state, freed by b->close */
	struct eid		 last;	/* greatest id accepted, or the floor */
	enum es_state		 state;	/* the backend's last report */
	bool			 closing;	/* in es_close: no new work */
	es_state_cb		*state_cb;
	void			*state_arg;
	struct event_base	*base;
};

static struct es	*es_open_backend(const struct es_backend *,
			    const struct es_config *, char **);
static void		 es_last(struct es *, struct eid *);

void
es_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
}

/* A backend in the config wins: it is how tests plug a fake in. */
struct es *
es_open(const struct es_config *cfg, char **cause)
{
	if (cfg->backend != NULL)
		return (es_open_backend(cfg->backend, cfg, cause));
	if (cfg->redis_url != NULL)
		return (es_open_backend(&es_redis_backend, cfg, cause));
	return (es_open_backend(&es_mem_backend, cfg, cause));
}

/* The callback is in place before open, which may report a state. */
static struct es *
es_open_backend(const struct es_backend *b, const struct es_config *cfg,
    char **cause)
{
	struct es	*es;

	if ((es = calloc(1, sizeof(*es))) == NULL) {
		es_cause(cause, "eventstore: out of memory");
		return (NULL);
	}
	es->b = b;
	es->state_cb = cfg->state_cb;
	es->state_arg = cfg->state_arg;
	es->base = cfg->base;
	es->state = ES_STATE_DIRECT;
	if ((es->be = b->open(es, cfg, cause)) == NULL) {
		free(es);
		return (NULL);
	}
	/* A backend that found a log starts the order above its last id. */
	b->last_eid(es->be, &es->last);
	return (es);
}

/*
 * The backend calls back everything still pending before its close
 * returns; those callbacks may reach es_append and es_read, which refuse
 * while closing, so the backend gets no new work in the middle of it.
 */
void
es_close(struct es *es)
{
	if (es == NULL)
		return;
	es->closing = true;
	es->b->close(es->be);
	free(es);
}

void
es_backend_state(struct es *es, enum es_state state, const char *why)
{
	assert(state == ES_STATE_DIRECT || state == ES_STATE_FALLBACK ||
	    state == ES_STATE_RESYNC);
	if (state == es->state)
		return;
	es->state = state;
	if (es->state_cb != NULL && !es->closing)
		es->state_cb(es->state_arg, state, why);
}

enum es_state
es_get_state(struct es *es)
{
	return (es->state);
}

void
es_set_state_cb(struct es *es, es_state_cb *cb, void *arg)
{
	es->state_cb = cb;
	es->state_arg = arg;
}

/* The greatest id accepted here or known to the backend. */
static void
es_last(struct es *es, struct eid *out)
{
	struct eid	bl;

	es->b->last_eid(es->be, &bl);
	*out = eid_cmp(&bl, &es->last) > 0 ? bl : es->last;
}

/*
 * An eid not greater than the last one appended (0-0 included, as Redis
 * refuses XADD 0-0) is a caller bug: the router's generator never goes
 * back. It returns -1 with nothing kept and no counter touched, before the
 * backend sees it, so the ring's order holds. A caller telling this -1
 * from a full ES_FULL_REFUSE ring compares ev->eid with es_last_eid.
 */
int
es_append(struct es *es, const struct es_event *ev, es_append_cb *cb,
    void *arg, enum es_stored *where)
{
	enum es_stored	w = ES_STORED_NONE;
	int		r;

	/*
	 * es->last is the backend's last id at open, then every id accepted
	 * here: a backend learns ids only through this front, so asking it
	 * again on every append (a call through the table) is not needed.
	 */
	if (es->closing || eid_cmp(&ev->eid, &es->last) <= 0)
		return (-1);
	if ((r = es->b->append(es->be, ev, cb, arg, &w)) == -1)
		return (-1);
	assert(r == 0 || (r == ES_PENDING && cb != NULL));
	/* Accepted (now or pending): the order moves on either way. */
	es->last = ev->eid;
	if (r == 0 && where != NULL)
		*where = w;
	return (r);
}

/* An empty range (from > to) or max 0 answers at once with nothing. */
int
es_read(struct es *es, const struct es_query *q, struct es_event **out,
    struct es_read_result *res, es_read_cb *cb, void *arg)
{
	int	r;

	memset(res, 0, sizeof(*res));
	if (es->closing)
		return (-1);
	if (q->max == 0 || eid_cmp(&q->from, &q->to) > 0)
		return (0);
	r = es->b->read(es->be, q, out, res, cb, arg);
	assert(r == 0 || r == -1 || (r == ES_PENDING && cb != NULL));
	return (r);
}

static int
es_kv(struct es *es, const char *name, const void *val, size_t len,
    es_kv_cb *cb, void *arg)
{
	int	r;

	if (es->closing) {
		errno = EAGAIN;
		return (-1);
	}
	if (es->b->kv == NULL) {
		errno = ENOTSUP;
		return (-1);
	}
	r = es->b->kv(es->be, name, val, len, cb, arg);
	assert(r == -1 || r == ES_PENDING);
	return (r);
}

int
es_kv_get(struct es *es, const char *name, es_kv_cb *cb, void *arg)
{
	return (es_kv(es, name, NULL, 0, cb, arg));
}

int
es_kv_set(struct es *es, const char *name, const void *val, size_t len,
    es_kv_cb *cb, void *arg)
{
	static const char	empty;

	return (es_kv(es, name, val != NULL ? val : &empty, len, cb, arg));
}

int
es_mirror(struct es *es, const char *name, const struct es_event *ev,
    es_kv_cb *cb, void *arg)
{
	int	r;

	if (es->closing) {
		errno = EAGAIN;
		return (-1);
	}
	if (es->b->mirror == NULL) {
		errno = ENOTSUP;
		return (-1);
	}
	r = es->b->mirror(es->be, name, ev, cb, arg);
	assert(r == -1 || r == ES_PENDING);
	return (r);
}

void
es_last_eid(struct es *es, struct eid *out)
{
	es_last(es, out);
}

void
es_first_eid(struct es *es, struct eid *out)
{
	es->b->first_eid(es->be, out);
}

void
es_get_stats(struct es *es, struct es_stats *out)
{
	struct es_stats	s = { 0 };

	es->b->stats(es->be, &s);
	s.backend = es->b->name;
	s.state = es->state;
	*out = s;
}

const char *
es_stored_name(enum es_stored where)
{
	switch (where) {
	case ES_STORED_NONE:
		return ("none");
	case ES_STORED_MEMORY:
		return ("memory");
	case ES_STORED_REDIS:
		return ("redis");
	}
	return ("unknown");
}

const char *
es_state_name(enum es_state state)
{
	switch (state) {
	case ES_STATE_DIRECT:
		return ("direct");
	case ES_STATE_FALLBACK:
		return ("fallback");
	case ES_STATE_RESYNC:
		return ("resync");
	}
	return ("unknown");
}

int
es_flush(struct es *es, es_flush_cb *cb, void *arg)
{
	if (es->closing || es->b->flush == NULL)
		return (0);
	return (es->b->flush(es->be, cb, arg));
}
