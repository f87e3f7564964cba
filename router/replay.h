/*
 * replay: streams logged events to a subscription: the replay op, and the
 * catch-up of a sub with from_eid before it goes live.
 */
#ifndef CALLOSUM_REPLAY_H
#define CALLOSUM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "eventstore/eid.h"
#include "router/lib/wire.h"

struct msg;
struct replay;
struct server;
struct sub;

enum replay_state {
	REPLAY_HAVE,	/* a matching event is ready: replay_take() */
	REPLAY_WAIT,	/* reading, or budget spent: the sub is pumped later */
	REPLAY_DONE	/* range exhausted or limit reached */
};

struct replay_spec {
	struct eid	 from;
	struct eid	 to;
	const char	*tract;		/* NULL: any */
	size_t		 tract_len;
	bool		 to_only;	/* sub from_eid: events into tract */
	bool		 send_end;	/* replay op: end, then the sid goes */
	uint64_t	 limit;		/* 0: none */
};

struct replay	*replay_new(struct server *, struct sub *,
		    const struct replay_spec *);
void		 replay_free(struct replay *);
bool		 replay_sends_end(const struct replay *);
/* Finds the next matching event, within a work budget. */
enum replay_state replay_peek(struct replay *);
/* The event found by replay_peek() as a new msg reference. */
struct msg	*replay_take(struct replay *);

#endif
