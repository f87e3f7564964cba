/*
 * stats: the counters and the snapshot frames. Keys are the metric names
 * of SPEC "Metrics" ("callosum_..."); a labelled figure is a map from the
 * label's value to the number (callosum_messages_published_total:
 * {external: 4, ...}), so /metrics (a later issue) renders the same
 * figures from the same names.
 *
 * Every frame the router sends fits max_frame + 1024 bytes: the per-tract
 * figures and the conns list cover as many entries as fit, in creation
 * order, and "truncated" says whether some were left out.
 */
#include <string.h>

#include "eventstore/eventstore.h"
#include "router/conn.h"
#include "router/counter.h"
#include "router/lib/htab.h"
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
	return (t->nwaiting);
}

static uint64_t
stats_breaker_state(const struct tract *t)
{
	return (t->br.state);
}

static uint64_t
stats_breaker_transitions(const struct tract *t)
{
	return (t->br.transitions);
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
	/* 0 closed, 1 open, 2 half_open */
	{ "callosum_breaker_state", stats_breaker_state },
	{ "callosum_breaker_transitions_total", stats_breaker_transitions },
};
#define STATS_NTRACT	(sizeof(stats_tract_figures) / \
			    sizeof(stats_tract_figures[0]))

static const struct {
	const char		*name;
	enum counter	 counter;
} stats_router_figures[] = {
	{ "callosum_connections_accepted_total", COUNTER_CONNS_ACCEPTED },
	{ "callosum_connections_refused_total", COUNTER_CONNS_REFUSED },
	{ "callosum_connections_closed_output_total",
	  COUNTER_CONNS_CLOSED_OUTPUT },
	{ "callosum_accept_pauses_total", COUNTER_ACCEPT_PAUSES },
	{ "callosum_frames_total", COUNTER_FRAMES_IN },
	{ "callosum_bad_frames_total", COUNTER_BAD_FRAMES },
	{ "callosum_bad_requests_total", COUNTER_BAD_REQUESTS },
	{ "callosum_cross_tract_total", COUNTER_CROSS_TRACT },
	{ "callosum_backpressure_total", COUNTER_BACKPRESSURE },
	{ "callosum_store_refused_total", COUNTER_STORE_REFUSED },
};
#define STATS_NROUTER	(sizeof(stats_router_figures) / \
			    sizeof(stats_router_figures[0]))
/* Pairs of the event log's part (stats_eventlog). */
#define STATS_NEVENTLOG	10
/* A str header (names <= 66 bytes) and a uint64: per entry, at most. */
#define STATS_ENTRY_MAX	(2 + 9)

static void
stats_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

static void
stats_kv_str(msgpack_packer *pk, const char *key, const char *s, size_t len)
{
	wire_pack_cstr(pk, key);
	wire_pack_str(pk, s, len);
}

/* The event log's figures: STATS_NEVENTLOG pairs. */
static void
stats_eventlog(msgpack_packer *pk, struct es *es)
{
	struct es_stats	st;

	es_get_stats(es, &st);
	stats_kv_str(pk, "callosum_eventlog_backend", st.backend,
	    strlen(st.backend));
	wire_pack_cstr(pk, "callosum_eventlog_events_total");
	msgpack_pack_map(pk, 2);
	stats_kv_u64(pk, "memory", st.stored_memory);
	stats_kv_u64(pk, "redis", st.stored_redis);
	stats_kv_u64(pk, "callosum_eventlog_depth", st.depth);
	stats_kv_u64(pk, "callosum_eventlog_dropped_total", st.dropped);
	stats_kv_u64(pk, "callosum_eventlog_refused_total", st.refused);
	stats_kv_u64(pk, "callosum_eventlog_fallback_depth", st.fallback_depth);
	stats_kv_str(pk, "callosum_eventlog_state", es_state_name(st.state),
	    strlen(es_state_name(st.state)));
	stats_kv_u64(pk, "callosum_eventlog_resyncs_total", st.resyncs);
	stats_kv_u64(pk, "callosum_eventlog_duplicates_total", st.duplicates);
	stats_kv_u64(pk, "callosum_eventlog_conflicts_total", st.conflicts);
}

/* How many tracts' figures fit in room bytes, in creation order. */
static size_t
stats_tracts_fit(struct tract_reg *reg, size_t room)
{
	size_t	n = tract_count(reg), i, need;

	/* Each figure's name and map header come first. */
	for (i = 0; i < STATS_NTRACT; i++) {
		need = strlen(stats_tract_figures[i].name) + 2 + 5;
		if (need > room)
			return (0);
		room -= need;
	}
	for (i = 0; i < n; i++) {
		need = STATS_NTRACT * (STATS_ENTRY_MAX +
		    tract_at(reg, i)->name_len);
		if (need > room)
			break;
		room -= need;
	}
	return (i);
}

/* name: {tract: fn(tract), ...} over the first n tracts. */
static void
stats_by_tract(msgpack_packer *pk, struct tract_reg *reg, size_t n,
    const char *name, stats_tract_fn *fn)
{
	const struct tract	*t;
	size_t			 i;

	wire_pack_cstr(pk, name);
	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		t = tract_at(reg, i);
		wire_pack_str(pk, t->name, t->name_len);
		msgpack_pack_uint64(pk, fn(t));
	}
}

/* Room left for the frame begun at start, keeping slack for the end. */
static size_t
stats_room(const msgpack_sbuffer *sb, size_t start, size_t max_len,
    size_t slack)
{
	size_t	used = sb->size - start + slack;

	return (used >= max_len ? 0 : max_len - used);
}

int
stats_enc(struct server *srv, msgpack_sbuffer *sb, bool has_id, uint64_t id,
    size_t max_len)
{
	struct tract_reg	*reg = server_tracts(srv);
	msgpack_packer		 pk;
	size_t			 start, i, n;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if ((start = wire_frame_begin(sb)) == (size_t)-1)
		return (-1);
	/* op, server, connections, truncated, router, event log, per-tract */
	msgpack_pack_map(&pk, 4 + STATS_NROUTER + STATS_NEVENTLOG +
	    STATS_NTRACT + (has_id ? 1 : 0));
	wire_pack_cstr(&pk, "op");
	wire_pack_cstr(&pk, "stats");
	if (has_id)
		stats_kv_u64(&pk, "id", id);
	wire_pack_cstr(&pk, "server");
	wire_pack_cstr(&pk, "callosum/" CALLOSUM_VERSION);
	stats_kv_u64(&pk, "callosum_connections", server_nconns(srv));
	for (i = 0; i < STATS_NROUTER; i++)
		stats_kv_u64(&pk, stats_router_figures[i].name,
		    counter_get(stats_router_figures[i].counter));
	stats_eventlog(&pk, server_es(srv));
	n = stats_tracts_fit(reg, stats_room(sb, start, max_len, 16));
	for (i = 0; i < STATS_NTRACT; i++)
		stats_by_tract(&pk, reg, n, stats_tract_figures[i].name,
		    stats_tract_figures[i].fn);
	wire_pack_cstr(&pk, "truncated");
	n < tract_count(reg) ? msgpack_pack_true(&pk) :
	    msgpack_pack_false(&pk);
	wire_frame_end(sb, start);
	return (0);
}

/* A conn's entry: keys, fixed values and str headers take at most this. */
#define STATS_CONN_FIXED	128

static size_t
stats_conn_size(const struct conn *c)
{
	return (STATS_CONN_FIXED + c->agent_len + c->session_len +
	    c->model_len);
}

/* Demand granted and not yet used, and messages queued, over c's subs. */
static void
stats_conn_subs(const struct conn *c, uint64_t *demand, uint64_t *pending)
{
	const struct sub	*s;
	size_t			 it = 0;

	*demand = *pending = 0;
	while ((s = htab_next(c->subs, &it)) != NULL) {
		*demand = wire_demand_add(*demand, s->credit);
		*pending += s->npending;
	}
}

static void
stats_conn(msgpack_packer *pk, struct conn *c)
{
	uint64_t	demand, pending;

	stats_conn_subs(c, &demand, &pending);
	msgpack_pack_map(pk, 9);
	stats_kv_u64(pk, "conn", c->id);
	stats_kv_str(pk, "agent", c->agent ? c->agent : "", c->agent_len);
	stats_kv_str(pk, "session", c->session ? c->session : "",
	    c->session_len);
	stats_kv_str(pk, "model", c->model ? c->model : "", c->model_len);
	stats_kv_u64(pk, "uid", c->uid);
	stats_kv_u64(pk, "subs", conn_nsubs(c));
	stats_kv_u64(pk, "demand", demand);
	stats_kv_u64(pk, "pending", pending);
	stats_kv_u64(pk, "outq", conn_output_len(c));
}

int
stats_enc_conns(struct server *srv, msgpack_sbuffer *sb, bool has_id,
    uint64_t id, size_t max_len)
{
	msgpack_packer	 pk;
	struct conn	*c;
	size_t		 start, room, n = 0, total = 0, left;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if ((start = wire_frame_begin(sb)) == (size_t)-1)
		return (-1);
	msgpack_pack_map(&pk, 3 + (has_id ? 1 : 0));
	wire_pack_cstr(&pk, "op");
	wire_pack_cstr(&pk, "conns");
	if (has_id)
		stats_kv_u64(&pk, "id", id);
	room = stats_room(sb, start, max_len, 32);
	TAILQ_FOREACH(c, server_conn_list(srv), entry) {
		if (c->flags & CONN_CLOSING)
			continue;
		total++;
		if (stats_conn_size(c) <= room && n + 1 == total) {
			room -= stats_conn_size(c);
			n++;
		}
	}
	wire_pack_cstr(&pk, "conns");
	msgpack_pack_array(&pk, n);
	left = n;
	TAILQ_FOREACH(c, server_conn_list(srv), entry) {
		if (left == 0)
			break;
		if (c->flags & CONN_CLOSING)
			continue;
		stats_conn(&pk, c);
		left--;
	}
	wire_pack_cstr(&pk, "truncated");
	total > n ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
	wire_frame_end(sb, start);
	return (0);
}
