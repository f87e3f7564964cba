/*
 * replay: a cursor over the event log feeding one subscription.
 *
 * Events are read in batches, the log applying the filters before it
 * copies anything; the events looked at per replay_peek() are budgeted, so
 * a sparse filter over a big log never holds the loop. Invariant: next is
 * the smallest id not yet looked at, and buf holds only matching events.
 */
#include <stdlib.h>
#include <string.h>

#include "eventstore/eventstore.h"
#include "router/kinds.h"
#include "router/msg.h"
#include "router/replay.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/xmalloc.h"

#define REPLAY_BATCH	128	/* events looked at per read */
#define REPLAY_SCAN	4096	/* events looked at per replay_peek() */

struct replay {
	struct es		*es;
	struct sub		*s;
	struct kinds		*kinds;		/* its own copy: NULL, any */
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

static void	replay_read_cb(void *, struct es_event **,
		    const struct es_read_result *, int);
static bool	replay_filter(void *, const struct es_event *);

struct replay *
replay_new(struct server *srv, struct sub *s, const struct replay_spec *spec)
{
	struct replay	*rp;

	rp = xcalloc(1, sizeof(*rp));
	rp->es = server_es(srv);
	rp->s = s;
	rp->kinds = kinds_dup(sub_kinds(s));
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
	kinds_free(rp->kinds);
	rp->kinds = NULL;
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
	return (kinds_match(rp->kinds, ev->kind.ptr, ev->kind.len));
}

/* The log's filter; a replay orphaned while its read was out wants none. */
static bool
replay_filter(void *arg, const struct es_event *view)
{
	struct replay	*rp = arg;

	return (!rp->orphaned && replay_matches(rp, view));
}

/* Takes a batch of matching events and moves past what was looked at. */
static void
replay_fill(struct replay *rp, struct es_event **evs,
    const struct es_read_result *res)
{
	memcpy(rp->buf, evs, res->n * sizeof(*evs));
	rp->nbuf = res->n;
	rp->ibuf = 0;
	if (res->examined < REPLAY_BATCH)
		rp->exhausted = true;
	if (res->examined > 0) {
		rp->next = eid_succ(&res->last);
		if (eid_cmp(&rp->next, &rp->to) > 0 ||
		    eid_cmp(&rp->next, &res->last) == 0)
			rp->exhausted = true;	/* past to, or at the max id */
	}
}

static void
replay_read_cb(void *arg, struct es_event **evs,
    const struct es_read_result *res, int status)
{
	struct replay	*rp = arg;
	size_t		 i;

	rp->reading = false;
	if (rp->orphaned) {
		for (i = 0; status == 0 && i < res->n; i++)
			es_event_unref(evs[i]);
		free(rp);
		return;
	}
	if (status == -1)
		rp->exhausted = true;	/* the log failed: end what we have */
	else
		replay_fill(rp, evs, res);
	sub_pump_soon(rp->s);
}

/*
 * Reads the next batch, adding what it looked at to *scanned. Returns
 * REPLAY_HAVE when the read answered now.
 */
static enum replay_state
replay_read(struct replay *rp, size_t *scanned)
{
	struct es_event		*evs[REPLAY_BATCH];
	struct es_read_result	 res;
	struct es_query		 q;
	int			 rc;

	if (rp->reading)
		return (REPLAY_WAIT);
	q.from = rp->next;
	q.to = rp->to;
	q.max = REPLAY_BATCH;
	q.filter = replay_filter;
	q.filter_arg = rp;
	rc = es_read(rp->es, &q, evs, &res, replay_read_cb, rp);
	if (rc == ES_PENDING) {
		rp->reading = true;
		return (REPLAY_WAIT);
	}
	if (rc < 0)
		rp->exhausted = true;
	else {
		replay_fill(rp, evs, &res);
		*scanned += res.examined;
	}
	return (REPLAY_HAVE);
}

enum replay_state
replay_peek(struct replay *rp)
{
	size_t	scanned = 0;

	if (rp->left == 0)
		return (REPLAY_DONE);
	while (rp->ibuf == rp->nbuf) {
		if (rp->exhausted)
			return (REPLAY_DONE);
		if (scanned >= REPLAY_SCAN) {
			sub_pump_later(rp->s);
			return (REPLAY_WAIT);
		}
		if (replay_read(rp, &scanned) == REPLAY_WAIT)
			return (REPLAY_WAIT);
	}
	return (REPLAY_HAVE);
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
