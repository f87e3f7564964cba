/*
 * tract: the registry, fan-out and paused publishers.
 *
 * Invariant: t->nfull counts the block-mode subs of t whose pending queue
 * is full; while it is zero no publisher waits on t, and tract_would_block()
 * costs nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "router/config.h"
#include "router/conn.h"
#include "router/lib/htab.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"

/* Tracts made on first use stop here: each costs memory for good. */
#define TRACT_MAX	4096

static void	tract_wake_cb(evutil_socket_t, short, void *);

static struct tract *
tract_new(struct server *srv, const char *s, size_t len)
{
	struct tract	*t;

	t = xcalloc(1, sizeof(*t));
	memcpy(t->name, s, len);
	t->name_len = len;
	t->srv = srv;
	TAILQ_INIT(&t->waiters);
	event_assign(&t->wake_ev, srv->base, -1, 0, tract_wake_cb, t);
	if (htab_put(srv->tracts, t->name, len, t) == -1)
		abort();
	srv->tract_list = xreallocarray(srv->tract_list, srv->ntracts + 1,
	    sizeof(*srv->tract_list));
	srv->tract_list[srv->ntracts++] = t;
	log_debug("tract_new", "tract=%s", t->name);
	return (t);
}

struct tract *
tract_get(struct server *srv, const char *s, size_t len, bool create,
    bool *limited)
{
	struct tract	*t;

	*limited = false;
	if ((t = htab_get(srv->tracts, s, len)) != NULL || !create)
		return (t);
	if (srv->ntracts >= TRACT_MAX) {
		*limited = true;
		return (NULL);
	}
	return (tract_new(srv, s, len));
}

void
tract_free_all(struct server *srv)
{
	struct tract	*t;
	size_t		 i;

	for (i = 0; i < srv->ntracts; i++) {
		t = srv->tract_list[i];
		/* Conns, and with them subs and waiters, are gone by now. */
		event_del(&t->wake_ev);
		free(t->subs);
		free(t);
	}
	free(srv->tract_list);
	srv->tract_list = NULL;
	srv->ntracts = 0;
}

void
tract_add_sub(struct tract *t, struct sub *s)
{
	if (t->nsubs == t->subs_cap) {
		t->subs_cap = t->subs_cap == 0 ? 4 : t->subs_cap * 2;
		t->subs = xreallocarray(t->subs, t->subs_cap, sizeof(*t->subs));
	}
	s->t = t;
	s->tract_idx = t->nsubs;
	t->subs[t->nsubs++] = s;
}

void
tract_remove_sub(struct tract *t, struct sub *s)
{
	struct sub	*last = t->subs[--t->nsubs];

	/* Swap-remove: O(1), order among subscribers does not matter. */
	t->subs[s->tract_idx] = last;
	last->tract_idx = s->tract_idx;
	s->t = NULL;
	if (s->full) {
		s->full = false;
		t->nfull--;
		tract_sub_unfull(t);
	}
}

bool
tract_would_block(struct tract *t, const char *kind, size_t len)
{
	size_t	i;

	if (t->nfull == 0)
		return (false);
	for (i = 0; i < t->nsubs; i++) {
		if (sub_would_block(t->subs[i], kind, len))
			return (true);
	}
	return (false);
}

void
tract_publish(struct tract *t, struct msg *m)
{
	size_t	i;

	t->n.published++;
	for (i = 0; i < t->nsubs; i++)
		sub_offer(t->subs[i], m);
}

void
tract_wait(struct tract *t, struct conn *c)
{
	c->waiting_on = t;
	TAILQ_INSERT_TAIL(&t->waiters, c, wait_entry);
}

void
tract_unwait(struct tract *t, struct conn *c)
{
	TAILQ_REMOVE(&t->waiters, c, wait_entry);
	c->waiting_on = NULL;
}

void
tract_sub_unfull(struct tract *t)
{
	/* Woken from the loop: this may run in the middle of a fan-out. */
	if (t->nfull == 0 && !TAILQ_EMPTY(&t->waiters))
		event_active(&t->wake_ev, EV_TIMEOUT, 0);
}

/*
 * Resumes the publishers parked on t, oldest first. Each re-reads its
 * parked pub; one that finds t full again parks anew behind the others.
 */
static void
tract_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tract	*t = arg;
	struct conn	*c;
	unsigned	 n = 0;

	(void)fd;
	(void)what;
	while (t->nfull == 0 && (c = TAILQ_FIRST(&t->waiters)) != NULL) {
		tract_unwait(t, c);
		conn_resume(c, CONN_PAUSE_TRACT_FULL);
		n++;
	}
	log_debug("tract_wake", "tract=%s resumed=%u", t->name, n);
}

void
tract_note_failure(struct tract *t, const char *why)
{
	/* The circuit breaker (a later issue) takes its input here. */
	t->n.failures++;
	log_debug("tract_failure", "tract=%s why=%s failures=%llu", t->name,
	    why, (unsigned long long)t->n.failures);
}
