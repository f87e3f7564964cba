/*
 * tract: a named channel. The registry (tract.c's) is a hash table plus
 * the creation order; each tract keeps its subscribers in an array
 * (fan-out is O(subscribers) and costs other tracts nothing), the
 * publishers paused on it, and its counters.
 *
 * The struct is public for reading; only tract.c writes it, through the
 * functions below (the inline ones are the hot path's counters).
 */
#ifndef CALLOSUM_TRACT_H
#define CALLOSUM_TRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "router/breaker.h"
#include "router/lib/wire.h"

struct conn;
struct msg;
struct server;
struct sub;
struct tract_reg;

struct tract_counters {
	uint64_t	published;
	uint64_t	delivered;
	uint64_t	dropped;
	uint64_t	failures;	/* breaker input: backpressure, ... */
	uint64_t	cross_other;	/* cross-tract in, from an untracked source */
};

/*
 * Cross-tract messages into a tract, by the tract they came from (the
 * dashboard's graph). At most TRACT_SOURCES_MAX sources per tract; later
 * ones are counted in n.cross_other.
 */
#define TRACT_SOURCES_MAX	64

struct tract_source {
	char		name[WIRE_NAME_MAX + 2];
	size_t		name_len;
	uint64_t	n;
};

struct tract {
	char			 name[WIRE_NAME_MAX + 2];
	size_t			 name_len;
	struct sub		**subs;
	size_t			 nsubs;
	size_t			 subs_cap;
	/* block-mode subs whose pending queue is full: publishing waits */
	unsigned		 nfull;
	TAILQ_HEAD(, conn)	 waiters;	/* parked publishers, FIFO */
	unsigned		 nwaiting;	/* on waiters */
	struct event		 wake_ev;
	struct tract_counters	 n;
	struct tract_source	*sources;	/* cross-tract senders */
	size_t			 nsources;
	size_t			 last_source;	/* the one matched last */
	struct breaker		 br;		/* SPEC "Circuit breakers" */
	struct event		*br_ev;		/* reset timer, made at first open */
	struct tract_reg	*reg;
};

/*
 * The registry, with the reserved tracts, for srv (its loop, config and
 * publish path: breakers announce on $sys); NULL when memory runs out.
 */
struct tract_reg *tract_reg_new(struct server *srv);
/* Frees every tract (connections, subs and waiters are gone by now). */
void		 tract_reg_free(struct tract_reg *);
/*
 * The tract named s, created when create is set. NULL when absent, or when
 * the registry is at its limit (*limited set).
 */
struct tract	*tract_get(struct tract_reg *, const char *s, size_t len,
		    bool create, bool *limited);
/* Tracts in creation order: tract_at(r, i) for i < tract_count(r). */
size_t		 tract_count(const struct tract_reg *);
struct tract	*tract_at(const struct tract_reg *, size_t i);

/* A cross-tract message from the tract named from reached t. */
void		 tract_note_cross(struct tract *t, const char *from,
		    size_t len);

/* Adds s; its place in the array is told to s (sub_set_tract). */
void		 tract_add_sub(struct tract *, struct sub *);
/* Removes s, found at index idx. */
void		 tract_remove_sub(struct tract *, struct sub *, size_t idx);
/* True when a message of kind would wait for a full block subscriber. */
bool		 tract_would_block(struct tract *, const char *kind, size_t len);
/* Offers m to every subscriber (each takes its own reference). */
void		 tract_publish(struct tract *, struct msg *m);

/* A block sub became full / is no longer full (or went away). */
void		 tract_sub_full(struct tract *);
void		 tract_sub_unfull(struct tract *);

/* Parks c until the tract has room; wakes it with conn_wake_publisher. */
void		 tract_wait(struct tract *, struct conn *);
void		 tract_unwait(struct tract *, struct conn *);
/*
 * A failure of this tract (backpressure timeout, delivery failure): the
 * input of its circuit breaker (ADR 0018).
 */
void		 tract_note_failure(struct tract *, const char *why);
/* The breaker's slow paths (the inline ones below take the fast). */
bool		 tract_allow_slow(struct tract *);
void		 tract_success_slow(struct tract *);
/* A trial let in by tract_allow came to nothing (refused otherwise). */
void		 tract_release(struct tract *);

/* May a pub go into t now (its breaker)? One compare while closed. */
static inline bool
tract_allow(struct tract *t)
{
	return (t->br.state == BREAKER_CLOSED || tract_allow_slow(t));
}

/* A pub went into t. Nothing to do while closed with no failures. */
static inline void
tract_note_success(struct tract *t)
{
	if (t->br.state != BREAKER_CLOSED || t->br.failures != 0)
		tract_success_slow(t);
}

static inline void
tract_note_delivered(struct tract *t)
{
	t->n.delivered++;
}

static inline void
tract_note_dropped(struct tract *t)
{
	t->n.dropped++;
}

#endif
