/*
 * sub: demand, the pending ring and lag. See sub.h for the invariants.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "router/conn.h"
#include "router/lib/htab.h"
#include "router/msg.h"
#include "router/replay.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define SUB_RING_MIN	16
#define SUB_PUMP_BUDGET	4096	/* frames per pump before yielding */

static void	sub_pump_cb(evutil_socket_t, short, void *);

struct sub *
sub_new(struct conn *c, uint64_t sid, uint64_t credit,
    enum wire_overflow overflow, uint64_t max_pending,
    const msgpack_object *kinds)
{
	struct sub	*s;
	uint32_t	 i;

	s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->sid = sid;
	s->credit = wire_demand_add(credit, 0);
	s->overflow = overflow;
	s->max_pending = max_pending;
	if (kinds != NULL && kinds->via.array.size > 0) {
		s->nkinds = kinds->via.array.size;
		s->kinds = xcalloc(s->nkinds, sizeof(*s->kinds));
		for (i = 0; i < s->nkinds; i++) {
			/* <= WIRE_NAME_MAX: wire_parse_req checked it. */
			s->kinds[i].len = kinds->via.array.ptr[i].via.str.size;
			memcpy(s->kinds[i].s, kinds->via.array.ptr[i].via.str.ptr,
			    s->kinds[i].len);
		}
	}
	event_assign(&s->pump_ev, c->srv->base, -1, 0, sub_pump_cb, s);
	return (s);
}

void
sub_free(struct sub *s)
{
	if (htab_get(s->c->subs, &s->sid, sizeof(s->sid)) == s)
		htab_del(s->c->subs, &s->sid, sizeof(s->sid));
	if (s->t != NULL)
		tract_remove_sub(s->t, s);
	conn_unwait_output(s->c, s);
	while (s->npending > 0) {
		msg_unref(s->ring[s->head]);
		s->head = (s->head + 1) % s->ring_cap;
		s->npending--;
	}
	replay_free(s->rp);
	event_del(&s->pump_ev);
	free(s->ring);
	free(s->kinds);
	free(s);
}

bool
sub_wants(const struct sub *s, const char *kind, size_t len)
{
	size_t	i;

	if (s->nkinds == 0)
		return (true);
	for (i = 0; i < s->nkinds; i++) {
		if (s->kinds[i].len == len && memcmp(s->kinds[i].s, kind,
		    len) == 0)
			return (true);
	}
	return (false);
}

bool
sub_would_block(const struct sub *s, const char *kind, size_t len)
{
	return (s->full && sub_wants(s, kind, len));
}

/* Recounts s in its tract's full set after npending changed. */
static void
sub_update_full(struct sub *s)
{
	bool	full;

	full = s->overflow == WIRE_OVERFLOW_BLOCK &&
	    s->npending >= s->max_pending;
	if (full == s->full || s->t == NULL)
		return;
	s->full = full;
	if (full)
		s->t->nfull++;
	else {
		s->t->nfull--;
		tract_sub_unfull(s->t);
	}
}

static void
sub_push(struct sub *s, struct msg *m)
{
	size_t	ncap, i;

	if (s->npending == s->ring_cap) {
		ncap = s->ring_cap == 0 ? SUB_RING_MIN : s->ring_cap * 2;
		if (ncap > s->max_pending)
			ncap = s->max_pending;
		s->ring = xreallocarray(s->ring, ncap, sizeof(*s->ring));
		/* Unwrap: move the part before head after the old end. */
		for (i = 0; i < s->head; i++)
			s->ring[(s->ring_cap + i) % ncap] = s->ring[i];
		s->ring_cap = ncap;
	}
	s->ring[(s->head + s->npending) % s->ring_cap] = msg_ref(m);
	s->npending++;
}

static struct msg *
sub_pop(struct sub *s)
{
	struct msg	*m = s->ring[s->head];

	s->head = (s->head + 1) % s->ring_cap;
	s->npending--;
	return (m);
}

/* Drops the oldest pending message, extending the current lag run. */
static void
sub_drop_oldest(struct sub *s)
{
	struct msg	*m = sub_pop(s);

	if (s->lag_n++ == 0)
		s->lag_first = m->eid;
	s->lag_last = m->eid;
	s->dropped++;
	if (s->t != NULL)
		s->t->n.dropped++;
	msg_unref(m);
}

static void
sub_deliver(struct sub *s, struct msg *m)
{
	conn_send_msg(s->c, s->sid, m);
	s->credit--;
	s->delivered++;
	if (s->t != NULL)
		s->t->n.delivered++;
}

void
sub_offer(struct sub *s, struct msg *m)
{
	if (!sub_wants(s, m->kind, m->kind_len))
		return;
	/* Fast path: nothing queued ahead of m and demand for it. */
	if (s->credit > 0 && s->npending == 0 && s->rp == NULL &&
	    s->lag_n == 0) {
		sub_deliver(s, m);
		return;
	}
	if (s->npending >= s->max_pending) {
		/* block subs are full only when tract_would_block() said so. */
		sub_drop_oldest(s);
	}
	sub_push(s, m);
	sub_update_full(s);
	if (s->credit > 0 && s->rp == NULL)
		sub_pump(s);
}

int
sub_grant(struct sub *s, uint64_t n)
{
	s->credit = wire_demand_add(s->credit, n);
	return (sub_pump(s));
}

/* Sends the lag frame for the current run of drops. */
static void
sub_send_lag(struct sub *s)
{
	struct server	*srv = s->c->srv;
	char		 first[EID_STR_MAX], last[EID_STR_MAX];

	eid_format(&s->lag_first, first);
	eid_format(&s->lag_last, last);
	wire_enc_lag(&srv->out, s->sid, s->lag_n, first, last);
	conn_flush_out(s->c);
	s->lag_n = 0;
}

/*
 * The replay part of a pump. Returns 1 to go on with the live part, 0 to
 * stop for now, -1 when s was freed.
 */
static int
sub_pump_replay(struct sub *s, unsigned *budget)
{
	struct server	*srv = s->c->srv;
	struct msg	*m;

	for (;;) {
		switch (replay_peek(s->rp)) {
		case REPLAY_WAIT:
			return (0);
		case REPLAY_HAVE:
			if (s->credit == 0)
				return (0);
			if (conn_output_full(s->c)) {
				conn_wait_output(s->c, s);
				return (0);
			}
			if ((*budget)-- == 0) {
				server_later(&s->pump_ev);
				return (0);
			}
			m = replay_take(s->rp);
			sub_deliver(s, m);
			msg_unref(m);
			continue;
		case REPLAY_DONE:
			break;
		}
		if (!replay_sends_end(s->rp)) {
			/* Caught up: the live messages queued meanwhile follow. */
			replay_free(s->rp);
			s->rp = NULL;
			return (1);
		}
		wire_enc_end(&srv->out, s->sid);
		conn_flush_out(s->c);
		sub_free(s);
		return (-1);
	}
}

int
sub_pump(struct sub *s)
{
	unsigned	 budget = SUB_PUMP_BUDGET;
	struct msg	*m;
	int		 rc;

	if (s->c->flags & (CONN_CLOSING | CONN_DOOMED))
		return (0);
	if (s->rp != NULL && (rc = sub_pump_replay(s, &budget)) != 1)
		return (rc);
	if (s->lag_n > 0 && s->credit > 0)
		sub_send_lag(s);
	while (s->npending > 0 && s->credit > 0) {
		if (conn_output_full(s->c)) {
			conn_wait_output(s->c, s);	/* drained: pumped again */
			break;
		}
		if (budget-- == 0) {
			server_later(&s->pump_ev);
			break;
		}
		m = sub_pop(s);
		sub_deliver(s, m);
		msg_unref(m);
	}
	sub_update_full(s);
	return (0);
}

static void
sub_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sub	*s = arg;
	struct server	*srv = s->c->srv;

	(void)fd;
	(void)what;
	sub_pump(s);		/* may free s */
	conn_flush_dirty(srv);
}
