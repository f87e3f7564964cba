/*
 * stats: the metrics snapshot as a msgpack map, for the stats op. The
 * metrics issue grows it (and /metrics renders the same figures).
 */
#ifndef CALLOSUM_STATS_H
#define CALLOSUM_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

struct server;

/* Appends a whole stats frame (op, id when has_id, the snapshot) to sb. */
int		 stats_enc(struct server *, msgpack_sbuffer *sb, bool has_id,
		    uint64_t id);

#endif
