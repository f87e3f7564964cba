/*
 * sub: one subscription: demand (credit), the pending queue of shared
 * message references, overflow policy, lag accounting and, while it
 * catches up, a replay.
 *
 * Invariants: msg frames sent <= credit granted (sub_pump checks first);
 * npending <= max_pending (sub_offer checks before pushing).
 */
#ifndef CALLOSUM_SUB_H
#define CALLOSUM_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "eventstore/eid.h"
#include "router/lib/wire.h"

struct conn;
struct msg;
struct replay;
struct tract;

struct sub_kind {
	uint8_t	len;
	char	s[WIRE_NAME_MAX];
};

struct sub {
	struct conn		*c;
	uint64_t		 sid;		/* htab key: stays put */
	struct tract		*t;		/* NULL for a replay op */
	size_t			 tract_idx;	/* position in t->subs */
	uint64_t		 credit;	/* <= WIRE_DEMAND_MAX */
	enum wire_overflow	 overflow;
	uint64_t		 max_pending;
	bool			 full;		/* counted in t->nfull */
	struct msg		**ring;		/* pending, oldest at head */
	size_t			 ring_cap;	/* grows to max_pending */
	size_t			 head;
	size_t			 npending;
	struct sub_kind		*kinds;		/* NULL: every kind */
	size_t			 nkinds;
	uint64_t		 lag_n;		/* dropped since last msg */
	struct eid		 lag_first;
	struct eid		 lag_last;
	struct replay		*rp;		/* catching up from the log */
	struct event		 pump_ev;	/* continue a budgeted pump */
	bool			 out_wait;	/* on c->out_waiters */
	TAILQ_ENTRY(sub)	 out_entry;
	uint64_t		 delivered;
	uint64_t		 dropped;
};

/*
 * A new subscription for c (not yet in any tract or table). kinds is
 * borrowed (a checked array of str) or NULL.
 */
struct sub	*sub_new(struct conn *c, uint64_t sid, uint64_t credit,
		    enum wire_overflow, uint64_t max_pending,
		    const msgpack_object *kinds);
/* Unlinks s from its tract and frees it with its pending references. */
void		 sub_free(struct sub *);
/* True when s wants messages of this kind. */
bool		 sub_wants(const struct sub *, const char *kind, size_t len);
/* True when a message of this kind would have to wait for s. */
bool		 sub_would_block(const struct sub *, const char *kind, size_t len);
/* Fan-out entry: deliver now if demand allows, else queue (or drop). */
void		 sub_offer(struct sub *, struct msg *m);
/* Adds n to the demand and delivers what it allows. May free s (-1). */
int		 sub_grant(struct sub *, uint64_t n);
/*
 * Delivers what demand allows: replay first, then lag, then pending.
 * Returns -1 when s was freed (a replay op that ended), else 0.
 */
int		 sub_pump(struct sub *);

#endif
