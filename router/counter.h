/*
 * counter: the router-wide counters, a leaf every module may bump. Plain
 * increments of one array through counter_inc(): no locks, no calls,
 * nothing on the hot path but an add. stats.c reports them.
 */
#ifndef CALLOSUM_COUNTER_H
#define CALLOSUM_COUNTER_H

#include <stdint.h>

enum counter {
	COUNTER_CONNS_ACCEPTED = 0,
	COUNTER_CONNS_REFUSED,		/* max_connections, uids */
	COUNTER_CONNS_CLOSED_OUTPUT,	/* output_limit exceeded */
	COUNTER_ACCEPT_PAUSES,		/* out of descriptors: accept paused */
	COUNTER_FRAMES_IN,
	COUNTER_BAD_FRAMES,
	COUNTER_BAD_REQUESTS,
	COUNTER_CROSS_TRACT,
	COUNTER_BACKPRESSURE,		/* publish_timeout expiries */
	COUNTER_STORE_REFUSED,
	COUNTER_NCOUNTERS
};

extern uint64_t	counter_values[COUNTER_NCOUNTERS];

static inline void
counter_inc(enum counter i)
{
	counter_values[i]++;
}

static inline uint64_t
counter_get(enum counter i)
{
	return (counter_values[i]);
}

#endif
