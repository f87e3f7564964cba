/*
 * sub: demand, the pending ring and lag. See sub.h for the invariants.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "router/clock.h"
#include "router/conn.h"
#include "router/kinds.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/replay.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define SUB_RING_MIN	16
#define SUB_PUMP_BUDGET	4096	/* frames per pump before yielding */
#define SUB_SLOW_WARN_US	10000000	/* per sub: one line per 10 s */
#define SUB_SLOW_LINES_MAX	10		/* slow_consumer lines a second */

static void	sub_pump_cb(evutil_socket_t, short, void *);

struct sub *
sub_new(struct conn *c, uint64_t sid, uint64_t credit,
    enum wire_overflow overflow, uint64_t max_pending, uint64_t max_bytes,
    const msgpack_object *kinds)
{
	struct sub	*s;

	s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->sid = sid;
	s->credit = wire_demand_add(credit, 0);
	s->overflow = overflow;
	s->max_pending = max_pending;
	s->max_bytes = max_bytes;
	s->kinds = kinds_new(kinds);
	event_assign(&s->pump_ev, server_base(c->srv), -1, 0, sub_pump_cb, s);
	conn_waiter_init(&s->ow, &s->pump_ev);
	conn_add_sub(c, s, sid);
	return (s);
}

static struct msg *
sub_pop(struct sub *s)
{
	struct msg	*m = s->ring[s->head];

	s->head = (s->head + 1) % s->ring_cap;
	s->npending--;
	s->pending_bytes -= m->body_len;
	return (m);
}

void
sub_free(struct sub *s)
{
	conn_remove_sub(s->c, s, s->sid);
	if (s->t != NULL) {
		if (s->full)
			tract_sub_unfull(s->t);
		tract_remove_sub(s->t, s, s->tract_idx);
	}
	conn_unwait_output(s->c, &s->ow);
	while (s->npending > 0)
		msg_unref(sub_pop(s));
	replay_free(s->rp);
	event_del(&s->pump_ev);
	kinds_free(s->kinds);
	free(s->ring);
	free(s);
}

void
sub_start_replay(struct sub *s, const struct replay_spec *spec)
{
	s->rp = replay_new(s->c->srv, s, spec);
}

void
sub_stop_live(struct sub *s)
{
	if (s->t == NULL)
		return;
	if (s->full) {
		s->full = false;
		tract_sub_unfull(s->t);
	}
	tract_remove_sub(s->t, s, s->tract_idx);
	s->t = NULL;
}

bool
sub_drained(const struct sub *s)
{
	return (s->credit == 0 || (s->npending == 0 && s->rp == NULL &&
	    s->lag_n == 0));
}

void
sub_set_tract(struct sub *s, struct tract *t, size_t idx)
{
	s->t = t;
	s->tract_idx = idx;
}

const uint64_t *
sub_sid_key(const struct sub *s)
{
	return (&s->sid);
}

const struct kinds *
sub_kinds(const struct sub *s)
{
	return (s->kinds);
}

void
sub_pump_soon(struct sub *s)
{
	event_active(&s->pump_ev, EV_TIMEOUT, 0);
}

void
sub_pump_later(struct sub *s)
{
	clock_later(&s->pump_ev);
}

static bool
sub_is_full(const struct sub *s)
{
	return (s->npending >= s->max_pending ||
	    s->pending_bytes >= s->max_bytes);
}

bool
sub_would_block(const struct sub *s, const char *kind, size_t len)
{
	return (s->full && kinds_match(s->kinds, kind, len));
}

/* Recounts s in its tract's full set after the queue changed. */
/*
 * NATS's "Slow Consumer Detected": a subscriber's queue filled (block: its
 * publishers now wait) or it began dropping (drop). At most one line per
 * subscription per SUB_SLOW_WARN_US, and SUB_SLOW_LINES_MAX lines a second
 * in all; the lines left out are counted in the next.
 */
static void
sub_warn_slow(struct sub *s)
{
	static int64_t	 second_us;
	static unsigned	 lines;
	static uint64_t	 suppressed;
	int64_t		 now = clock_mono_us();

	if (s->slow_warned_us != 0 && now - s->slow_warned_us < SUB_SLOW_WARN_US)
		return;
	s->slow_warned_us = now;
	if (now - second_us >= 1000000) {
		second_us = now;
		lines = 0;
	}
	if (lines++ >= SUB_SLOW_LINES_MAX) {
		suppressed++;
		return;
	}
	log_warn("sub", "slow_consumer", "conn=%llu agent=%s tract=%s sid=%llu "
	    "pending=%zu overflow=%s suppressed=%llu",
	    (unsigned long long)s->c->id, s->c->agent ? s->c->agent : "-",
	    s->t != NULL ? s->t->name : "-", (unsigned long long)s->sid,
	    s->npending, s->overflow == WIRE_OVERFLOW_DROP ? "drop" : "block",
	    (unsigned long long)suppressed);
	suppressed = 0;
}

static void
sub_update_full(struct sub *s)
{
	bool	full;

	full = s->overflow == WIRE_OVERFLOW_BLOCK && sub_is_full(s);
	if (full == s->full || s->t == NULL)
		return;
	s->full = full;
	if (full)
		sub_warn_slow(s);
	if (full)
		tract_sub_full(s->t);
	else
		tract_sub_unfull(s->t);
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
	s->pending_bytes += m->body_len;
}

/* Drops the oldest pending message, extending the current lag run. */
static void
sub_drop_oldest(struct sub *s)
{
	struct msg	*m = sub_pop(s);

	if (s->lag_n++ == 0) {
		s->lag_first = m->eid;
		sub_warn_slow(s);
	}
	s->lag_last = m->eid;
	s->dropped++;
	if (s->t != NULL)
		tract_note_dropped(s->t);
	msg_unref(m);
}

static void
sub_deliver(struct sub *s, struct msg *m)
{
	conn_send_msg(s->c, s->sid, m);
	s->credit--;
	s->delivered++;
	if (s->t != NULL)
		tract_note_delivered(s->t);
}

void
sub_offer(struct sub *s, struct msg *m)
{
	if (!kinds_match(s->kinds, m->kind, m->kind_len))
		return;
	/*
	 * Fast path: nothing queued ahead of m, demand for it, and no reply
	 * of c held for the log (then m waits in the queue, bounded by
	 * max_pending and its overflow policy, not in c's output).
	 */
	if (s->credit > 0 && s->npending == 0 && s->rp == NULL &&
	    s->lag_n == 0 && !conn_holding(s->c)) {
		sub_deliver(s, m);
		return;
	}
	/*
	 * Drop until not full, then queue (block subs are full only when
	 * tract_would_block() said so: for them this is a safety net).
	 */
	while (s->npending > 0 && sub_is_full(s))
		sub_drop_oldest(s);
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
	char	first[EID_STR_MAX], last[EID_STR_MAX];

	eid_format(&s->lag_first, first);
	eid_format(&s->lag_last, last);
	conn_send_lag(s->c, s->sid, s->lag_n, first, last);
	s->lag_n = 0;
}

/* One replayed message, if demand, output and budget allow: 1, else 0. */
static int
sub_replay_one(struct sub *s, unsigned *budget)
{
	struct msg	*m;

	if (s->credit == 0)
		return (0);
	if (conn_output_full(s->c)) {
		conn_wait_output(s->c, &s->ow);
		return (0);
	}
	if ((*budget)-- == 0) {
		sub_pump_later(s);
		return (0);
	}
	m = replay_take(s->rp);
	sub_deliver(s, m);
	msg_unref(m);
	return (1);
}

/*
 * The replay part of a pump. Returns 1 to go on with the live part, 0 to
 * stop for now, -1 when s was freed.
 */
static int
sub_pump_replay(struct sub *s, unsigned *budget)
{
	for (;;) {
		switch (replay_peek(s->rp)) {
		case REPLAY_WAIT:
			return (0);
		case REPLAY_HAVE:
			if (sub_replay_one(s, budget) == 0)
				return (0);
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
		conn_send_end(s->c, s->sid);
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
		if (conn_output_full(s->c) || conn_holding(s->c)) {
			conn_wait_output(s->c, &s->ow);	/* drained: pumped */
			break;
		}
		if (budget-- == 0) {
			sub_pump_later(s);
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

	(void)fd;
	(void)what;
	sub_pump(s);		/* may free s */
	conn_flush_dirty();
}
