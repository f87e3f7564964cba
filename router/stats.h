/*
 * stats: the snapshot frames: the stats op's map and the conns op's list,
 * from the counters (counter.h), the tracts, the event log and the
 * connections. The metrics issue grows it into one registry (and /metrics
 * renders the same figures).
 */
#ifndef CALLOSUM_STATS_H
#define CALLOSUM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct server;

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
