/*
 * tract: a named channel. The registry is a hash table; each tract keeps
 * its subscribers in an array (fan-out is O(subscribers) and costs other
 * tracts nothing), the publishers paused on it, and its counters.
 */
#ifndef CALLOSUM_TRACT_H
#define CALLOSUM_TRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "router/lib/wire.h"

struct conn;
struct msg;
struct server;
struct sub;

struct tract_counters {
	uint64_t	published;
	uint64_t	delivered;
	uint64_t	dropped;
	uint64_t	failures;	/* breaker input: backpressure, ... */
};

struct tract {
	char			 name[WIRE_NAME_MAX + 2];
	size_t			 name_len;
	struct server		*srv;
	struct sub		**subs;
	size_t			 nsubs;
	size_t			 subs_cap;
	/* block-mode subs whose pending queue is full: publishing waits */
	unsigned		 nfull;
	TAILQ_HEAD(, conn)	 waiters;	/* parked publishers, FIFO */
	struct event		 wake_ev;
	struct tract_counters	 n;
};

/*
 * The tract named s, created when create is set. NULL when absent, or when
 * the registry is at its limit (*limited set).
 */
struct tract	*tract_get(struct server *, const char *s, size_t len,
		    bool create, bool *limited);
void		 tract_free_all(struct server *);

void		 tract_add_sub(struct tract *, struct sub *);
void		 tract_remove_sub(struct tract *, struct sub *);
/* True when a message of kind would wait for a full block subscriber. */
bool		 tract_would_block(struct tract *, const char *kind, size_t len);
/* Offers m to every subscriber (each takes its own reference). */
void		 tract_publish(struct tract *, struct msg *m);

/* Parks c until the tract has room; wakes it through conn resume. */
void		 tract_wait(struct tract *, struct conn *);
void		 tract_unwait(struct tract *, struct conn *);
/* A block sub went from full to not full (or away): maybe wake waiters. */
void		 tract_sub_unfull(struct tract *);
/*
 * A failure of this tract (backpressure timeout, delivery failure): the
 * input of its circuit breaker.
 */
void		 tract_note_failure(struct tract *, const char *why);

#endif
