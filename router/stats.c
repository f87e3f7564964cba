/*
 * stats: the snapshot map. Keys are the metric names of SPEC "Metrics"
 * ("callosum_..."); a labelled figure is a map from the label's value to
 * the number (callosum_messages_published_total: {external: 4, ...}), so
 * /metrics (a later issue) renders the same figures from the same names.
 */
#include <string.h>

#include "eventstore/eventstore.h"
#include "router/conn.h"
#include "router/server.h"
#include "router/stats.h"
#include "router/sub.h"
#include "router/tract.h"

/* A per-tract figure: reads one number from a tract. */
typedef uint64_t	stats_tract_fn(const struct tract *);

static uint64_t
stats_published(const struct tract *t)
{
	return (t->n.published);
}

static uint64_t
stats_delivered(const struct tract *t)
{
	return (t->n.delivered);
}

static uint64_t
stats_dropped(const struct tract *t)
{
	return (t->n.dropped);
}

static uint64_t
stats_failures(const struct tract *t)
{
	return (t->n.failures);
}

static uint64_t
stats_subscriptions(const struct tract *t)
{
	return (t->nsubs);
}

static uint64_t
stats_waiting(const struct tract *t)
{
	const struct conn	*c;
	uint64_t		 n = 0;

	TAILQ_FOREACH(c, &t->waiters, wait_entry)
		n++;
	return (n);
}

static const struct {
	const char	*name;
	stats_tract_fn	*fn;
} stats_tract_figures[] = {
	{ "callosum_messages_published_total", stats_published },
	{ "callosum_messages_delivered_total", stats_delivered },
	{ "callosum_messages_dropped_total", stats_dropped },
	{ "callosum_tract_failures_total", stats_failures },
	{ "callosum_subscriptions", stats_subscriptions },
	{ "callosum_waiting_publishers", stats_waiting },
};
#define STATS_NTRACT	(sizeof(stats_tract_figures) / \
			    sizeof(stats_tract_figures[0]))

static void
stats_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

/* name: {tract: fn(tract), ...} */
static void
stats_by_tract(msgpack_packer *pk, struct server *srv, const char *name,
    stats_tract_fn *fn)
{
	const struct tract	*t;
	size_t			 i;

	wire_pack_cstr(pk, name);
	msgpack_pack_map(pk, srv->ntracts);
	for (i = 0; i < srv->ntracts; i++) {
		t = srv->tract_list[i];
		wire_pack_str(pk, t->name, t->name_len);
		msgpack_pack_uint64(pk, fn(t));
	}
}

/* The event log's figures: 6 pairs. */
static void
stats_eventlog(msgpack_packer *pk, struct es *es)
{
	struct es_stats	st;

	es_get_stats(es, &st);
	wire_pack_cstr(pk, "callosum_eventlog_backend");
	wire_pack_cstr(pk, st.backend);
	wire_pack_cstr(pk, "callosum_eventlog_events_total");
	msgpack_pack_map(pk, 2);
	stats_kv_u64(pk, "memory", st.stored_memory);
	stats_kv_u64(pk, "redis", st.stored_redis);
	stats_kv_u64(pk, "callosum_eventlog_depth", st.depth);
	stats_kv_u64(pk, "callosum_eventlog_dropped_total", st.dropped);
	stats_kv_u64(pk, "callosum_eventlog_refused_total", st.refused);
	stats_kv_u64(pk, "callosum_eventlog_fallback_depth", st.fallback_depth);
}

int
stats_enc(struct server *srv, msgpack_sbuffer *sb, bool has_id, uint64_t id)
{
	msgpack_packer	pk;
	size_t		start, i;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if ((start = wire_frame_begin(sb)) == (size_t)-1)
		return (-1);
	/* op, server, 8 router figures, 6 event log, the per-tract ones */
	msgpack_pack_map(&pk, 16 + STATS_NTRACT + (has_id ? 1 : 0));
	wire_pack_cstr(&pk, "op");
	wire_pack_cstr(&pk, "stats");
	if (has_id)
		stats_kv_u64(&pk, "id", id);
	wire_pack_cstr(&pk, "server");
	wire_pack_cstr(&pk, "callosum/" CALLOSUM_VERSION);
	stats_kv_u64(&pk, "callosum_connections", srv->nconns);
	stats_kv_u64(&pk, "callosum_connections_accepted_total",
	    srv->n.conns_accepted);
	stats_kv_u64(&pk, "callosum_connections_refused_total",
	    srv->n.conns_refused);
	stats_kv_u64(&pk, "callosum_connections_closed_output_total",
	    srv->n.conns_closed_output);
	stats_kv_u64(&pk, "callosum_frames_total", srv->n.frames_in);
	stats_kv_u64(&pk, "callosum_bad_frames_total", srv->n.bad_frames);
	stats_kv_u64(&pk, "callosum_cross_tract_total", srv->n.cross_tract);
	stats_kv_u64(&pk, "callosum_backpressure_total", srv->n.backpressure);
	stats_eventlog(&pk, srv->es);
	for (i = 0; i < STATS_NTRACT; i++)
		stats_by_tract(&pk, srv, stats_tract_figures[i].name,
		    stats_tract_figures[i].fn);
	wire_frame_end(sb, start);
	return (0);
}
