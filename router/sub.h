/*
 * sub: one subscription: demand (credit), the pending queue of shared
 * message references, overflow policy, lag accounting and, while it
 * catches up, a replay.
 *
 * Invariants: msg frames sent <= credit granted (sub_pump checks first);
 * the queue is full at max_pending messages or max_bytes of bodies, and a
 * message is queued only when it is not full (sub_offer drops first).
 * The struct is public for reading; only sub.c writes it.
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
#include "router/conn.h"
#include "router/lib/wire.h"

struct kinds;
struct msg;
struct replay;
struct replay_spec;
struct tract;

struct sub {
	struct conn		*c;
	uint64_t		 sid;		/* htab key: stays put */
	struct tract		*t;		/* NULL for a replay op */
	size_t			 tract_idx;	/* position in t->subs */
	uint64_t		 credit;	/* <= WIRE_DEMAND_MAX */
	enum wire_overflow	 overflow;
	uint64_t		 max_pending;
	uint64_t		 max_bytes;	/* pending_bytes_limit */
	uint64_t		 pending_bytes;	/* bodies queued */
	bool			 full;		/* counted in t->nfull */
	struct msg		**ring;		/* pending, oldest at head */
	size_t			 ring_cap;	/* grows to max_pending */
	size_t			 head;
	size_t			 npending;
	struct kinds		*kinds;		/* NULL: every kind */
	uint64_t		 lag_n;		/* dropped since last msg */
	struct eid		 lag_first;
	struct eid		 lag_last;
	struct replay		*rp;		/* catching up from the log */
	struct event		 pump_ev;	/* continue a budgeted pump */
	struct conn_waiter	 ow;		/* waits for c's output */
	uint64_t		 delivered;
	uint64_t		 dropped;
	int64_t			 slow_warned_us;	/* last slow_consumer line */
};

/*
 * A new subscription for c (not yet in any tract), registered under sid in
 * c. kinds is borrowed (a checked array of str) or NULL.
 */
struct sub	*sub_new(struct conn *c, uint64_t sid, uint64_t credit,
		    enum wire_overflow, uint64_t max_pending, uint64_t max_bytes,
		    const msgpack_object *kinds);
/* Unlinks s from its tract and connection and frees it. */
void		 sub_free(struct sub *);
/* Starts the catch-up (sub from_eid) or the replay op of s. */
void		 sub_start_replay(struct sub *, const struct replay_spec *);
/* The router drains: s leaves its tract; its queue and replay stay. */
void		 sub_stop_live(struct sub *);
/* True when s has nothing left that was granted (credit, or nothing). */
bool		 sub_drained(const struct sub *);
/* Where s sits in t's array (tract.c tells it). */
void		 sub_set_tract(struct sub *, struct tract *, size_t idx);
/* The key c's table keeps s under: its sid, which stays put. */
const uint64_t	*sub_sid_key(const struct sub *);
/* The kinds filter of s, for a replay to copy. */
const struct kinds *sub_kinds(const struct sub *);
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
/* Pumps s from the loop: now (its read came back) or after a poll. */
void		 sub_pump_soon(struct sub *);
void		 sub_pump_later(struct sub *);

#endif
