/*
 * stats: the router-wide counters and the snapshot frames built from them:
 * the stats op's map and the conns op's list. The metrics issue grows it
 * into one registry (and /metrics renders the same figures).
 *
 * Counters are plain increments of this file's array, through stats_inc():
 * no locks, no calls, nothing on the hot path but an add.
 */
#ifndef CALLOSUM_STATS_H
#define CALLOSUM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct server;

enum stats_counter {
	STATS_CONNS_ACCEPTED = 0,
	STATS_CONNS_REFUSED,		/* max_connections, uids */
	STATS_CONNS_CLOSED_OUTPUT,	/* output_limit exceeded */
	STATS_ACCEPT_PAUSES,		/* out of descriptors: accept paused */
	STATS_FRAMES_IN,
	STATS_BAD_FRAMES,
	STATS_BAD_REQUESTS,
	STATS_CROSS_TRACT,
	STATS_BACKPRESSURE,		/* publish_timeout expiries */
	STATS_STORE_REFUSED,
	STATS_NCOUNTERS
};

extern uint64_t	stats_counters[STATS_NCOUNTERS];

static inline void
stats_inc(enum stats_counter i)
{
	stats_counters[i]++;
}

static inline uint64_t
stats_get(enum stats_counter i)
{
	return (stats_counters[i]);
}

/*
 * Appends a whole stats frame (op, id when has_id, the snapshot) to sb, of
 * at most max_len bytes: the per-tract figures cover as many tracts as fit,
 * then "truncated" is true.
 */
int		 stats_enc(struct server *, msgpack_sbuffer *sb, bool has_id,
		    uint64_t id, size_t max_len);
/* The conns reply, bounded the same way. */
int		 stats_enc_conns(struct server *, msgpack_sbuffer *sb,
		    bool has_id, uint64_t id, size_t max_len);

#endif
