/*
 * counter: the router-wide counters, a leaf every module may bump. Plain
 * increments of one array through counter_inc(): no locks, no calls,
 * nothing on the hot path but an add. stats.c reports them.
 */
#ifndef CALLOSUM_COUNTER_H
#define CALLOSUM_COUNTER_H

#include <stdint.h>

#include "router/lib/wire.h"

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
	COUNTER_LAG_FRAMES,
	COUNTER_NCOUNTERS
};

/* Acknowledged publishes by where the event was kept (enum es_stored). */
#define COUNTER_NSTORED	3

/*
 * A latency histogram: fixed bounds (COUNTER_HIST_BOUNDS_US, in
 * microseconds), a count per bucket (not cumulative; the last is +Inf),
 * the count and the sum. Observing is a short scan from the smallest
 * bound: most latencies fall in the first buckets.
 */
#define COUNTER_HIST_N	21	/* 20 bounds and +Inf */

struct counter_hist {
	uint64_t	bucket[COUNTER_HIST_N];
	uint64_t	count;
	uint64_t	sum_us;
};

extern const uint64_t	counter_hist_bounds_us[COUNTER_HIST_N - 1];

extern uint64_t		counter_values[COUNTER_NCOUNTERS];
extern uint64_t		counter_errs[WIRE_CODE_COUNT];
extern uint64_t		counter_acks[COUNTER_NSTORED];
/* pub received -> ack produced (parked time included) */
extern struct counter_hist	counter_publish_latency;
/* pending append -> the log settled it (a Redis write) */
extern struct counter_hist	counter_write_latency;

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

/* An err frame was sent. */
static inline void
counter_err(enum wire_code code)
{
	if ((unsigned)code < WIRE_CODE_COUNT)
		counter_errs[code]++;
}

/* A publish was acknowledged (with or without an ack frame). */
static inline void
counter_ack(unsigned stored)
{
	if (stored < COUNTER_NSTORED)
		counter_acks[stored]++;
}

static inline void
counter_observe(struct counter_hist *h, int64_t us)
{
	unsigned	i = 0;

	if (us < 0)
		us = 0;
	while (i < COUNTER_HIST_N - 1 &&
	    (uint64_t)us > counter_hist_bounds_us[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_us += (uint64_t)us;
}

#endif
