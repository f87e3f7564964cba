/*
 * stats: the snapshot map. Keys are the metric names without the
 * "callosum_" prefix; per-tract figures sit under "tracts".
 */
#include <string.h>

#include "eventstore/eventstore.h"
#include "router/conn.h"
#include "router/server.h"
#include "router/stats.h"
#include "router/sub.h"
#include "router/tract.h"

static void
stats_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

static void
stats_tract(msgpack_packer *pk, const struct tract *t)
{
	uint64_t	waiting = 0;
	struct conn	*c;

	TAILQ_FOREACH(c, &t->waiters, wait_entry)
		waiting++;
	wire_pack_str(pk, t->name, t->name_len);
	msgpack_pack_map(pk, 6);
	stats_kv_u64(pk, "published", t->n.published);
	stats_kv_u64(pk, "delivered", t->n.delivered);
	stats_kv_u64(pk, "dropped", t->n.dropped);
	stats_kv_u64(pk, "failures", t->n.failures);
	stats_kv_u64(pk, "subscribers", t->nsubs);
	stats_kv_u64(pk, "waiting_publishers", waiting);
}

static void
stats_eventlog(msgpack_packer *pk, struct es *es)
{
	struct es_stats	st;

	es_get_stats(es, &st);
	wire_pack_cstr(pk, "eventlog");
	msgpack_pack_map(pk, 8);
	wire_pack_cstr(pk, "backend");
	wire_pack_cstr(pk, st.backend);
	stats_kv_u64(pk, "events", st.appended);
	stats_kv_u64(pk, "stored_memory", st.stored_memory);
	stats_kv_u64(pk, "stored_redis", st.stored_redis);
	stats_kv_u64(pk, "dropped", st.dropped);
	stats_kv_u64(pk, "refused", st.refused);
	stats_kv_u64(pk, "depth", st.depth);
	stats_kv_u64(pk, "fallback_depth", st.fallback_depth);
}

int
stats_enc(struct server *srv, msgpack_sbuffer *sb, bool has_id, uint64_t id)
{
	msgpack_packer	pk;
	size_t		start, i;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if ((start = wire_frame_begin(sb)) == (size_t)-1)
		return (-1);
	msgpack_pack_map(&pk, 12 + (has_id ? 1 : 0));
	wire_pack_cstr(&pk, "op");
	wire_pack_cstr(&pk, "stats");
	if (has_id)
		stats_kv_u64(&pk, "id", id);
	wire_pack_cstr(&pk, "server");
	wire_pack_cstr(&pk, "callosum/" CALLOSUM_VERSION);
	stats_kv_u64(&pk, "connections", srv->nconns);
	stats_kv_u64(&pk, "connections_accepted_total", srv->n.conns_accepted);
	stats_kv_u64(&pk, "connections_refused_total", srv->n.conns_refused);
	stats_kv_u64(&pk, "connections_closed_output_total",
	    srv->n.conns_closed_output);
	stats_kv_u64(&pk, "frames_total", srv->n.frames_in);
	stats_kv_u64(&pk, "bad_frames_total", srv->n.bad_frames);
	stats_kv_u64(&pk, "cross_tract_total", srv->n.cross_tract);
	stats_kv_u64(&pk, "backpressure_total", srv->n.backpressure);
	stats_eventlog(&pk, srv->es);
	wire_pack_cstr(&pk, "tracts");
	msgpack_pack_map(&pk, srv->ntracts);
	for (i = 0; i < srv->ntracts; i++)
		stats_tract(&pk, srv->tract_list[i]);
	wire_frame_end(sb, start);
	return (0);
}
