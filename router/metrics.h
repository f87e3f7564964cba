/*
 * metrics: the one registry of the router's figures (name, type, labels,
 * help, source) and what renders it: the stats op's msgpack map, the
 * conns op's list, /stats.json (the same map as JSON) and /metrics (the
 * same map as Prometheus text). Hot paths do not call in here: they bump
 * counter.h's counters and the tracts' counts.
 */
#ifndef CALLOSUM_METRICS_H
#define CALLOSUM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct counter_hist;
struct json_buf;
struct server;

/* Marks the start of the uptime. */
void		 metrics_start(void);
/*
 * Appends a whole stats frame (op, id when has_id, the snapshot) to sb, of
 * at most max_len bytes: the per-tract figures and lists cover as many
 * entries as fit, then "truncated" is true.
 */
int		 metrics_enc(struct server *, msgpack_sbuffer *sb, bool has_id,
		    uint64_t id, size_t max_len);
/* The conns reply, bounded the same way. */
int		 metrics_enc_conns(struct server *, msgpack_sbuffer *sb,
		    bool has_id, uint64_t id, size_t max_len);
/* Appends the snapshot as Prometheus text (format 0.0.4). 0 or -1. */
int		 metrics_prom(struct server *, struct json_buf *out);
/* Appends the snapshot as one JSON object (the stats map, no "op"). */
int		 metrics_json(struct server *, struct json_buf *out);
/* The q quantile (0..1) of h in seconds, estimated within its bucket. */
double		 metrics_hist_quantile(const struct counter_hist *h, double q);

#endif
