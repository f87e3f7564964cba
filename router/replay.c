/*
 * replay: a cursor over the event log feeding one subscription.
 *
 * Events are read in batches; those that fail the filters are skipped
 * within a budget per call, so a sparse filter over a big log never holds
 * the loop. Invariant: next is the smallest id not yet read.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "eventstore/eventstore.h"
#include "router/msg.h"
#include "router/replay.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/xmalloc.h"

#define REPLAY_BATCH	128
#define REPLAY_SCAN	4096	/* events examined per replay_peek() */

struct replay {
	struct server		*srv;
	struct sub		*s;
	struct eid		 next;
	struct eid		 to;
	char			 tract[WIRE_NAME_MAX + 2];
	size_t			 tract_len;	/* 0: any */
	bool			 to_only;
	bool			 send_end;
	bool			 exhausted;	/* the log has nothing more */
	bool			 reading;	/* an async read is out */
	bool			 orphaned;	/* sub gone: the read cb frees */
	uint64_t		 left;		/* limit; UINT64_MAX: none */
	struct es_event		*buf[REPLAY_BATCH];
	size_t			 nbuf;
	size_t			 ibuf;		/* next unexamined in buf */
};

static void	replay_read_cb(void *, struct es_event **, size_t, int);

struct replay *
replay_new(struct server *srv, struct sub *s, const struct replay_spec *spec)
{
	struct replay	*rp;

	rp = xcalloc(1, sizeof(*rp));
	rp->srv = srv;
	rp->s = s;
	rp->next = spec->from;
	rp->to = spec->to;
	if (spec->tract != NULL) {
		memcpy(rp->tract, spec->tract, spec->tract_len);
		rp->tract_len = spec->tract_len;
	}
	rp->to_only = spec->to_only;
	rp->send_end = spec->send_end;
	rp->left = spec->limit == 0 ? UINT64_MAX : spec->limit;
	rp->exhausted = eid_cmp(&rp->next, &rp->to) > 0;
	return (rp);
}

static void
replay_clear_buf(struct replay *rp)
{
	while (rp->ibuf < rp->nbuf)
		es_event_unref(rp->buf[rp->ibuf++]);
	rp->ibuf = rp->nbuf = 0;
}

void
replay_free(struct replay *rp)
{
	if (rp == NULL)
		return;
	replay_clear_buf(rp);
	/* A read still out calls back exactly once: it frees rp then. */
	if (rp->reading) {
		rp->orphaned = true;
		rp->s = NULL;
		return;
	}
	free(rp);
}

bool
replay_sends_end(const struct replay *rp)
{
	return (rp->send_end);
}

static bool
replay_bytes_eq(const struct es_bytes *b, const char *s, size_t len)
{
	return (b->ptr != NULL && b->len == len && memcmp(b->ptr, s, len) == 0);
}

static bool
replay_matches(const struct replay *rp, const struct es_event *ev)
{
	if (rp->tract_len > 0) {
		if (!replay_bytes_eq(&ev->to, rp->tract, rp->tract_len) &&
		    (rp->to_only || !replay_bytes_eq(&ev->from, rp->tract,
		    rp->tract_len)))
			return (false);
	}
	return (sub_wants(rp->s, ev->kind.ptr, ev->kind.len));
}

/* Takes a batch of events in id order and advances the cursor. */
static void
replay_fill(struct replay *rp, struct es_event **evs, size_t n)
{
	memcpy(rp->buf, evs, n * sizeof(*evs));
	rp->nbuf = n;
	rp->ibuf = 0;
	if (n < REPLAY_BATCH)
		rp->exhausted = true;
	if (n > 0) {
		rp->next = eid_succ(&evs[n - 1]->eid);
		if (eid_cmp(&rp->next, &rp->to) > 0 ||
		    eid_cmp(&rp->next, &evs[n - 1]->eid) == 0)
			rp->exhausted = true;	/* past to, or at the max id */
	}
}

static void
replay_read_cb(void *arg, struct es_event **evs, size_t n, int status)
{
	struct replay	*rp = arg;
	size_t		 i;

	rp->reading = false;
	if (rp->orphaned) {
		for (i = 0; i < n; i++)
			es_event_unref(evs[i]);
		free(rp);
		return;
	}
	if (status == -1)
		rp->exhausted = true;	/* the log failed: end what we have */
	else
		replay_fill(rp, evs, n);
	event_active(&rp->s->pump_ev, EV_TIMEOUT, 0);
}

/* Reads the next batch. Returns REPLAY_HAVE when events arrived now. */
static enum replay_state
replay_read(struct replay *rp)
{
	struct es_event	*evs[REPLAY_BATCH];
	int		 n;

	if (rp->reading)
		return (REPLAY_WAIT);
	n = es_read(rp->srv->es, &rp->next, &rp->to, REPLAY_BATCH, evs,
	    replay_read_cb, rp);
	if (n == ES_PENDING) {
		rp->reading = true;
		return (REPLAY_WAIT);
	}
	if (n < 0)
		rp->exhausted = true;
	else
		replay_fill(rp, evs, (size_t)n);
	return (REPLAY_HAVE);
}

enum replay_state
replay_peek(struct replay *rp)
{
	unsigned	scan = REPLAY_SCAN;

	if (rp->left == 0)
		return (REPLAY_DONE);
	for (;;) {
		for (; rp->ibuf < rp->nbuf; rp->ibuf++) {
			if (replay_matches(rp, rp->buf[rp->ibuf]))
				return (REPLAY_HAVE);
			es_event_unref(rp->buf[rp->ibuf]);
			if (--scan == 0) {
				rp->ibuf++;
				server_later(&rp->s->pump_ev);
				return (REPLAY_WAIT);
			}
		}
		if (rp->exhausted)
			return (REPLAY_DONE);
		if (replay_read(rp) == REPLAY_WAIT)
			return (REPLAY_WAIT);
	}
}

struct msg *
replay_take(struct replay *rp)
{
	struct es_event	*ev = rp->buf[rp->ibuf++];
	struct msg	*m;

	m = msg_from_event(ev);
	es_event_unref(ev);
	rp->left--;
	return (m);
}
