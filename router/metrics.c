/*
 * metrics: the one registry of the router's figures, and the snapshot
 * frames. Each figure is a row of metrics_rows: its name (SPEC "Metrics":
 * "callosum_..."), type, labels and help (struct prom_meta), and where its
 * value comes from. The rows are packed into one msgpack map, the stats
 * op's reply; /stats.json is that map as JSON and /metrics that map
 * rendered by prom.c with the rows' metadata, so all three agree.
 *
 * A labelled figure is nested maps keyed by the label values, outermost
 * first (callosum_messages_published_total: {external: 4, ...}).
 *
 * Every frame the router sends fits max_frame + 1024 bytes: the
 * per-tract figures, the tract pairs and the slow subscribers cover as
 * many entries as fit, in creation order, and "truncated" says whether
 * some were left out. Nothing here runs per message: the hot path bumps
 * counters (counter.h) and the tracts' own counts.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eventstore/eventstore.h"
#include "router/clock.h"
#include "router/config.h"
#include "router/conn.h"
#include "router/counter.h"
#include "router/lib/htab.h"
#include "router/lib/prom.h"
#include "router/metrics.h"
#include "router/promote.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"
#include "synth/synth.h"
#include "synth/webhook.h"

/* Patterns listed, the most occurrences first. */
#define METRICS_TOP_PATTERNS	10
/* Slow subscribers listed, the largest pending queues first. */
#define METRICS_SLOW_MAX	10
/* /proc is read at most this often (the stats op is open to clients). */
#define METRICS_PROC_EVERY_US	250000

struct metrics_ctx {
	struct server	*srv;
	struct es_stats	 es;
	size_t		 ntracts;	/* per-tract figures: the first n */
	size_t		 nlist;		/* list entries at most */
	bool		 cut;		/* something was left out */
};

struct metrics_row;
typedef void	metrics_pack_fn(msgpack_packer *, struct metrics_ctx *,
		    const struct metrics_row *);
/* A per-tract figure: reads one number from a tract. */
typedef uint64_t	metrics_tract_fn(const struct tract *);

struct metrics_row {
	struct prom_meta	 meta;
	metrics_pack_fn		*pack;
	enum counter		 counter;	/* metrics_pack_counter */
	metrics_tract_fn	*tract;		/* metrics_pack_tract */
	const struct counter_hist *hist;	/* metrics_pack_hist */
	size_t			 off;	/* of a uint64_t in the pack_at stats */
};

static int64_t	metrics_start_us;

void
metrics_start(void)
{
	metrics_start_us = clock_mono_now_us();
}

/* Packers. */

static void
metrics_pack_counter(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)ctx;
	msgpack_pack_uint64(pk, counter_get(r->counter));
}

/* The uint64_t at off in a stats struct (es_stats, synth's, webhook's). */
static void
metrics_pack_at(msgpack_packer *pk, const void *st, size_t off)
{
	uint64_t	v;

	memcpy(&v, (const char *)st + off, sizeof(v));
	msgpack_pack_uint64(pk, v);
}

static void
metrics_pack_es(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	metrics_pack_at(pk, &ctx->es, r->off);
}

static void
metrics_pack_tract(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	struct tract_reg	*reg = server_tracts(ctx->srv);
	const struct tract	*t;
	size_t			 i;

	msgpack_pack_map(pk, ctx->ntracts);
	for (i = 0; i < ctx->ntracts; i++) {
		t = tract_at(reg, i);
		wire_pack_str(pk, t->name, t->name_len);
		msgpack_pack_uint64(pk, r->tract(t));
	}
}

/* The bound as Prometheus writes it: seconds, no trailing zeros. */
static void
metrics_bound_text(uint64_t us, char *buf, size_t len)
{
	size_t	n;

	n = (size_t)snprintf(buf, len, "%.6f", (double)us / 1e6);
	while (n > 1 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 1 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

/*
 * The q quantile, as Prometheus' histogram_quantile estimates it: linear
 * within the bucket that holds it; in +Inf, the largest finite bound.
 */
double
metrics_hist_quantile(const struct counter_hist *h, double q)
{
	uint64_t	cum = 0, lower = 0;
	double		rank = q * (double)h->count;
	unsigned	i;

	if (h->count == 0)
		return (0.0);
	for (i = 0; i < COUNTER_HIST_N - 1; i++) {
		if ((double)(cum + h->bucket[i]) >= rank && h->bucket[i] > 0)
			return (((double)lower + (double)(counter_hist_bounds_us[i]
			    - lower) * (rank - (double)cum) /
			    (double)h->bucket[i]) / 1e6);
		cum += h->bucket[i];
		lower = counter_hist_bounds_us[i];
	}
	return ((double)counter_hist_bounds_us[COUNTER_HIST_N - 2] / 1e6);
}

static void
metrics_pack_hist(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	const struct counter_hist	*h = r->hist;
	char				 le[32];
	uint64_t			 cum = 0;
	unsigned			 i;

	(void)ctx;
	msgpack_pack_map(pk, 5);
	wire_pack_cstr(pk, "count");
	msgpack_pack_uint64(pk, h->count);
	wire_pack_cstr(pk, "sum");
	msgpack_pack_double(pk, (double)h->sum_us / 1e6);
	wire_pack_cstr(pk, "p50");
	msgpack_pack_double(pk, metrics_hist_quantile(h, 0.5));
	wire_pack_cstr(pk, "p99");
	msgpack_pack_double(pk, metrics_hist_quantile(h, 0.99));
	wire_pack_cstr(pk, "buckets");
	msgpack_pack_map(pk, COUNTER_HIST_N);
	for (i = 0; i < COUNTER_HIST_N; i++) {
		cum += h->bucket[i];
		if (i < COUNTER_HIST_N - 1)
			metrics_bound_text(counter_hist_bounds_us[i], le,
			    sizeof le);
		else
			strcpy(le, "+Inf");
		wire_pack_cstr(pk, le);
		msgpack_pack_uint64(pk, cum);
	}
}

static void
metrics_pack_version(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)ctx;
	(void)r;
	wire_pack_cstr(pk, CALLOSUM_VERSION);
}

static void
metrics_pack_uptime(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)ctx;
	(void)r;
	msgpack_pack_double(pk,
	    (double)(clock_mono_now_us() - metrics_start_us) / 1e6);
}

/* Resident bytes and open descriptors, from /proc, cached briefly. */
static void
metrics_proc(uint64_t *rss, uint64_t *fds)
{
	static int64_t	 read_us;
	static uint64_t	 c_rss, c_fds;
	unsigned long	 size, resident;
	struct dirent	*de;
	int64_t		 now = clock_mono_now_us();
	FILE		*f;
	DIR		*d;

	if (read_us != 0 && now - read_us < METRICS_PROC_EVERY_US)
		goto out;
	read_us = now;
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &size, &resident) == 2)
			c_rss = (uint64_t)resident *
			    (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		c_fds = 0;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.')
				c_fds++;
		}
		c_fds--;	/* the one opendir holds */
		closedir(d);
	}
out:
	*rss = c_rss;
	*fds = c_fds;
}

static void
metrics_pack_rss(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	uint64_t	rss, fds;

	(void)ctx;
	(void)r;
	metrics_proc(&rss, &fds);
	msgpack_pack_uint64(pk, rss);
}

static void
metrics_pack_fds(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	uint64_t	rss, fds;

	(void)ctx;
	(void)r;
	metrics_proc(&rss, &fds);
	msgpack_pack_uint64(pk, fds);
}

static void
metrics_pack_conns(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)r;
	msgpack_pack_uint64(pk, server_nconns(ctx->srv));
}

static void
metrics_pack_errs(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	unsigned	i;

	(void)ctx;
	(void)r;
	msgpack_pack_map(pk, WIRE_CODE_COUNT - 1);
	for (i = WIRE_OK + 1; i < WIRE_CODE_COUNT; i++) {
		wire_pack_cstr(pk, wire_code_name((enum wire_code)i));
		msgpack_pack_uint64(pk, counter_errs[i]);
	}
}

static void
metrics_pack_acks(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	unsigned	i;

	(void)ctx;
	(void)r;
	msgpack_pack_map(pk, COUNTER_NSTORED);
	for (i = 0; i < COUNTER_NSTORED; i++) {
		wire_pack_cstr(pk, es_stored_name((enum es_stored)i));
		msgpack_pack_uint64(pk, counter_acks[i]);
	}
}

static void
metrics_pack_es_backend(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)r;
	wire_pack_cstr(pk, ctx->es.backend);
}

static void
metrics_pack_es_state(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)r;
	wire_pack_cstr(pk, es_state_name(ctx->es.state));
}

static void
metrics_pack_es_events(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)r;
	msgpack_pack_map(pk, 2);
	wire_pack_cstr(pk, "memory");
	msgpack_pack_uint64(pk, ctx->es.stored_memory);
	wire_pack_cstr(pk, "redis");
	msgpack_pack_uint64(pk, ctx->es.stored_redis);
}

static bool
metrics_same(struct synth_bytes a, struct synth_bytes b)
{
	return (a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr,
	    a.len) == 0));
}

/* A cross-tract pair: from -> to, n messages. */
struct metrics_pair {
	const char	*from;
	size_t		 from_len;
	const char	*to;
	size_t		 to_len;
	uint64_t	 n;
};

static int
metrics_pair_cmp(const void *a, const void *b)
{
	const struct metrics_pair	*x = a, *y = b;
	size_t				 n = x->from_len < y->from_len ?
					    x->from_len : y->from_len;
	int				 c;

	if ((c = memcmp(x->from, y->from, n)) != 0)
		return (c);
	return (x->from_len < y->from_len ? -1 : x->from_len > y->from_len);
}

/* The pairs into the first ntracts tracts, at most nlist, by from. */
static size_t
metrics_pairs(struct metrics_ctx *ctx, struct metrics_pair **out)
{
	struct tract_reg	*reg = server_tracts(ctx->srv);
	struct metrics_pair	*p;
	const struct tract	*t;
	size_t			 i, j, n = 0, total = 0;

	for (i = 0; i < ctx->ntracts; i++)
		total += tract_at(reg, i)->nsources;
	if (total > ctx->nlist) {
		ctx->cut = true;
		total = ctx->nlist;
	}
	p = xcalloc(total == 0 ? 1 : total, sizeof(*p));
	for (i = 0; i < ctx->ntracts && n < total; i++) {
		t = tract_at(reg, i);
		for (j = 0; j < t->nsources && n < total; j++, n++) {
			p[n].from = t->sources[j].name;
			p[n].from_len = t->sources[j].name_len;
			p[n].to = t->name;
			p[n].to_len = t->name_len;
			p[n].n = t->sources[j].n;
		}
	}
	/* stable enough: equal froms keep no promised order */
	qsort(p, n, sizeof(*p), metrics_pair_cmp);
	*out = p;
	return (n);
}

/* {from: {to: n}}: runs of equal from become one inner map. */
static void
metrics_pack_pairs(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	struct metrics_pair	*p;
	size_t			 n, i, j, groups = 0;

	(void)r;
	n = metrics_pairs(ctx, &p);
	for (i = 0; i < n; i++)
		groups += i == 0 || metrics_pair_cmp(&p[i - 1], &p[i]) != 0;
	msgpack_pack_map(pk, groups);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && metrics_pair_cmp(&p[i], &p[j]) == 0;)
			j++;
		wire_pack_str(pk, p[i].from, p[i].from_len);
		msgpack_pack_map(pk, j - i);
		for (; i < j; i++) {
			wire_pack_str(pk, p[i].to, p[i].to_len);
			msgpack_pack_uint64(pk, p[i].n);
		}
	}
	free(p);
}

/* Keeps the METRICS_SLOW_MAX subs with the most pending, largest first. */
static size_t
metrics_slow_add(const struct sub **top, size_t n, const struct sub *s)
{
	size_t	i;

	if (n == METRICS_SLOW_MAX && top[n - 1]->npending >= s->npending)
		return (n);
	if (n < METRICS_SLOW_MAX)
		n++;
	for (i = n - 1; i > 0 && top[i - 1]->npending < s->npending; i--)
		top[i] = top[i - 1];
	top[i] = s;
	return (n);
}

static void
metrics_pack_sub(msgpack_packer *pk, const struct sub *s)
{
	const struct conn	*c = s->c;

	msgpack_pack_map(pk, 7);
	wire_pack_cstr(pk, "conn");
	msgpack_pack_uint64(pk, c->id);
	wire_pack_cstr(pk, "agent");
	wire_pack_str(pk, c->agent != NULL ? c->agent : "", c->agent_len);
	wire_pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, s->sid);
	wire_pack_cstr(pk, "tract");
	wire_pack_str(pk, s->t->name, s->t->name_len);
	wire_pack_cstr(pk, "pending");
	msgpack_pack_uint64(pk, s->npending);
	wire_pack_cstr(pk, "dropped");
	msgpack_pack_uint64(pk, s->dropped);
	wire_pack_cstr(pk, "overflow");
	wire_pack_cstr(pk, s->overflow == WIRE_OVERFLOW_DROP ?
	    "drop" : "block");
}

/*
 * Subscribers with messages waiting for demand. One pass over every
 * subscription of the listed tracts: a snapshot's cost, not a message's.
 */
static void
metrics_pack_slow(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	struct tract_reg	*reg = server_tracts(ctx->srv);
	const struct sub	*top[METRICS_SLOW_MAX];
	const struct tract	*t;
	size_t			 i, j, n = 0, max;

	(void)r;
	for (i = 0; i < ctx->ntracts; i++) {
		t = tract_at(reg, i);
		for (j = 0; j < t->nsubs; j++) {
			if (t->subs[j]->npending > 0)
				n = metrics_slow_add(top, n, t->subs[j]);
		}
	}
	max = ctx->nlist < n ? ctx->nlist : n;
	msgpack_pack_array(pk, max);
	for (i = 0; i < max; i++)
		metrics_pack_sub(pk, top[i]);
}

/* The synthesizer's figures: nil while it is off. */

/* Its stats, or false (nil packed) when it is off. */
static bool
metrics_synth(msgpack_packer *pk, struct metrics_ctx *ctx,
    struct synth_stats *st)
{
	const struct synth	*sy = promote_synth(server_promote(ctx->srv));

	if (sy == NULL) {
		msgpack_pack_nil(pk);
		return (false);
	}
	synth_get_stats(sy, st);
	return (true);
}

static void
metrics_pack_synth_state(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	(void)r;
	wire_pack_cstr(pk, promote_state_name(promote_state(
	    server_promote(ctx->srv))));
}

static void
metrics_pack_synth_u64(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	struct synth_stats	st;

	if (metrics_synth(pk, ctx, &st))
		metrics_pack_at(pk, &st, r->off);
}

static void
metrics_pack_emergence(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	struct synth_stats	st;

	(void)r;
	if (metrics_synth(pk, ctx, &st))
		msgpack_pack_double(pk, st.emergence);
}

static void
metrics_pack_emergence_ts(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	struct synth_stats	st;

	(void)r;
	if (metrics_synth(pk, ctx, &st))
		msgpack_pack_double(pk, (double)st.last_emergence_ts / 1e6);
}

/* {a: {b: balance}}: pairs come in byte order of (a, b), so runs of a. */
static void
metrics_pack_balance(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	const struct synth	*sy = promote_synth(server_promote(ctx->srv));
	struct synth_pair_view	*v;
	size_t			 n, i, j, groups = 0, max;

	(void)r;
	if (sy == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	max = ctx->nlist < server_config(ctx->srv)->synth_max_pairs ?
	    ctx->nlist : server_config(ctx->srv)->synth_max_pairs;
	v = xcalloc(max == 0 ? 1 : max, sizeof(*v));
	n = synth_pairs(sy, v, max);
	for (i = 0; i < n; i++)
		groups += i == 0 || !metrics_same(v[i - 1].a, v[i].a);
	msgpack_pack_map(pk, groups);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && metrics_same(v[i].a, v[j].a);)
			j++;
		wire_pack_str(pk, v[i].a.ptr, v[i].a.len);
		msgpack_pack_map(pk, j - i);
		for (; i < j; i++) {
			wire_pack_str(pk, v[i].b.ptr, v[i].b.len);
			msgpack_pack_double(pk, v[i].balance);
		}
	}
	free(v);
}

static void
metrics_pack_pattern(msgpack_packer *pk, const struct synth_pattern_view *v)
{
	char	eid[EID_STR_MAX];
	struct eid e;

	msgpack_pack_map(pk, 7);
	wire_pack_cstr(pk, "pattern");
	wire_pack_str(pk, v->pattern.ptr, v->pattern.len);
	wire_pack_cstr(pk, "occurrences");
	msgpack_pack_uint64(pk, v->occurrences);
	wire_pack_cstr(pk, "sessions");
	msgpack_pack_uint32(pk, v->nsessions);
	wire_pack_cstr(pk, "models");
	msgpack_pack_uint32(pk, v->nmodels);
	wire_pack_cstr(pk, "promoted");
	v->promoted ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	e.ms = v->first_eid.ms;
	e.seq = v->first_eid.seq;
	eid_format(&e, eid);
	wire_pack_cstr(pk, "first_eid");
	wire_pack_cstr(pk, eid);
	e.ms = v->last_eid.ms;
	e.seq = v->last_eid.seq;
	eid_format(&e, eid);
	wire_pack_cstr(pk, "last_eid");
	wire_pack_cstr(pk, eid);
}

/* The patterns with the most occurrences (a list: not in /metrics). */
static void
metrics_pack_top_patterns(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	const struct synth	*sy = promote_synth(server_promote(ctx->srv));
	struct synth_pattern_view v[METRICS_TOP_PATTERNS];
	size_t			 n, i;

	(void)r;
	if (sy == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	n = synth_top_patterns(sy, v, ctx->nlist < METRICS_TOP_PATTERNS ?
	    ctx->nlist : METRICS_TOP_PATTERNS);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		metrics_pack_pattern(pk, &v[i]);
}

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "read as uint64_t");

/* A candidate record: pattern, eid, ts, then its body's pairs. */
static void
metrics_pack_recent_one(msgpack_packer *pk, const struct promote_recent *r)
{
	msgpack_unpacked	u;
	uint32_t		i, n = 0;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, r->body, r->len, NULL) ==
	    MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP)
		n = u.data.via.map.size;
	msgpack_pack_map(pk, 3 + n);
	wire_pack_cstr(pk, "pattern");
	wire_pack_cstr(pk, r->pattern);
	wire_pack_cstr(pk, "eid");
	wire_pack_cstr(pk, r->eid);
	wire_pack_cstr(pk, "ts");
	msgpack_pack_double(pk, (double)r->ts_us / 1e6);
	for (i = 0; i < n; i++) {
		msgpack_pack_object(pk, u.data.via.map.ptr[i].key);
		msgpack_pack_object(pk, u.data.via.map.ptr[i].val);
	}
	msgpack_unpacked_destroy(&u);
}

/* The newest candidates, newest first (a list: not in /metrics). */
static void
metrics_pack_recent(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	const struct promote_recent	*v[PROMOTE_RECENT];
	struct promote			*p = server_promote(ctx->srv);
	size_t				 n, i;

	(void)r;
	if (p == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	n = promote_recent(p, v, ctx->nlist < PROMOTE_RECENT ? ctx->nlist :
	    PROMOTE_RECENT);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		metrics_pack_recent_one(pk, v[i]);
}

/* A uint64 (or size_t) of struct webhook_stats; nil without a webhook. */
static void
metrics_pack_hook_u64(msgpack_packer *pk, struct metrics_ctx *ctx,
    const struct metrics_row *r)
{
	struct webhook_stats	st;

	if (!promote_has_webhook(server_promote(ctx->srv))) {
		msgpack_pack_nil(pk);
		return;
	}
	promote_webhook_stats(server_promote(ctx->srv), &st);
	metrics_pack_at(pk, &st, r->off);
}

/* Per-tract figures. */

static uint64_t
metrics_published(const struct tract *t)
{
	return (t->n.published);
}

static uint64_t
metrics_delivered(const struct tract *t)
{
	return (t->n.delivered);
}

static uint64_t
metrics_dropped(const struct tract *t)
{
	return (t->n.dropped);
}

static uint64_t
metrics_failures(const struct tract *t)
{
	return (t->n.failures);
}

static uint64_t
metrics_subscriptions(const struct tract *t)
{
	return (t->nsubs);
}

static uint64_t
metrics_waiting(const struct tract *t)
{
	return (t->nwaiting);
}

static uint64_t
metrics_pending(const struct tract *t)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < t->nsubs; i++)
		n += t->subs[i]->npending;
	return (n);
}

static uint64_t
metrics_breaker_state(const struct tract *t)
{
	return (t->br.state);
}

static uint64_t
metrics_breaker_transitions(const struct tract *t)
{
	return (t->br.transitions);
}

/* The table. */

static const char *const metrics_breaker_states[] = {
	"closed", "open", "half_open"	/* enum breaker_state */
};
static const char *const metrics_es_states[] = {
	"direct", "fallback", "resync"	/* enum es_state */
};
static const char *const metrics_synth_states[] = {
	"off", "rebuilding", "behind", "live"	/* enum promote_state */
};

#define METRICS_META(n, t, h, ...)					\
	.meta = { .name = (n), .type = (t), .help = (h), __VA_ARGS__ }
#define METRICS_L1(a)	.nlabels = 1, .labels = { (a), NULL }
#define METRICS_L2(a, b) .nlabels = 2, .labels = { (a), (b) }

#define METRICS_COUNTER(n, c, h)					\
	{ METRICS_META(n, PROM_COUNTER, h, .nlabels = 0),		\
	  .pack = metrics_pack_counter, .counter = (c) }
#define METRICS_ES(n, t, f, h)						\
	{ METRICS_META(n, t, h, .nlabels = 0),				\
	  .pack = metrics_pack_es, .off = offsetof(struct es_stats, f) }
#define METRICS_TRACT(n, t, fn, h)					\
	{ METRICS_META(n, t, h, METRICS_L1("tract")),			\
	  .pack = metrics_pack_tract, .tract = (fn) }
#define METRICS_FN(n, t, fn, h, ...)					\
	{ METRICS_META(n, t, h, __VA_ARGS__), .pack = (fn) }
/* A uint64 of struct synth_stats. */
#define METRICS_SYNTH(n, t, f, h)					\
	{ METRICS_META(n, t, h, .nlabels = 0),				\
	  .pack = metrics_pack_synth_u64,				\
	  .off = offsetof(struct synth_stats, f) }
/* A uint64 of struct webhook_stats. */
#define METRICS_HOOK(n, t, f, h)					\
	{ METRICS_META(n, t, h, .nlabels = 0),				\
	  .pack = metrics_pack_hook_u64,				\
	  .off = offsetof(struct webhook_stats, f) }
#define METRICS_HIST(n, hp, h)						\
	{ METRICS_META(n, PROM_HISTOGRAM, h, .nlabels = 0),		\
	  .pack = metrics_pack_hist, .hist = (hp) }

static const struct metrics_row metrics_rows[] = {
	METRICS_FN("callosum_build_info", PROM_INFO, metrics_pack_version,
	    "The router's version.", METRICS_L1("version")),
	METRICS_FN("callosum_uptime_seconds", PROM_GAUGE,
	    metrics_pack_uptime, "Seconds since the router started.",
	    .nlabels = 0),
	METRICS_FN("callosum_process_resident_memory_bytes", PROM_GAUGE,
	    metrics_pack_rss, "Resident memory of the router process.",
	    .nlabels = 0),
	METRICS_FN("callosum_process_open_fds", PROM_GAUGE,
	    metrics_pack_fds, "Open file descriptors of the router process.",
	    .nlabels = 0),
	METRICS_FN("callosum_connections", PROM_GAUGE, metrics_pack_conns,
	    "Client connections open now.", .nlabels = 0),
	METRICS_COUNTER("callosum_connections_accepted_total",
	    COUNTER_CONNS_ACCEPTED, "Client connections accepted."),
	METRICS_COUNTER("callosum_connections_refused_total",
	    COUNTER_CONNS_REFUSED,
	    "Connections refused (max_connections, allow_uids, draining)."),
	METRICS_COUNTER("callosum_connections_closed_output_total",
	    COUNTER_CONNS_CLOSED_OUTPUT,
	    "Connections closed for exceeding output_limit."),
	METRICS_COUNTER("callosum_accept_pauses_total",
	    COUNTER_ACCEPT_PAUSES,
	    "Times accepting paused for want of file descriptors."),
	METRICS_COUNTER("callosum_frames_total", COUNTER_FRAMES_IN,
	    "Frames received from clients."),
	METRICS_COUNTER("callosum_bad_frames_total", COUNTER_BAD_FRAMES,
	    "Frames that could not be decoded (the connection closes)."),
	METRICS_COUNTER("callosum_bad_requests_total", COUNTER_BAD_REQUESTS,
	    "Requests refused for a missing or malformed field."),
	METRICS_COUNTER("callosum_cross_tract_total", COUNTER_CROSS_TRACT,
	    "Messages published from one tract into another (logged)."),
	METRICS_COUNTER("callosum_backpressure_total", COUNTER_BACKPRESSURE,
	    "Publishes refused after waiting publish_timeout_ms."),
	METRICS_COUNTER("callosum_store_refused_total", COUNTER_STORE_REFUSED,
	    "Cross-tract publishes the event log could not keep."),
	METRICS_COUNTER("callosum_lag_frames_total", COUNTER_LAG_FRAMES,
	    "lag frames sent: runs of messages dropped for drop subscribers."),
	METRICS_FN("callosum_errors_total", PROM_COUNTER, metrics_pack_errs,
	    "err frames sent, by code.", METRICS_L1("code")),
	METRICS_FN("callosum_acks_total", PROM_COUNTER, metrics_pack_acks,
	    "Publishes accepted, by where the event was kept.",
	    METRICS_L1("stored")),
	METRICS_HIST("callosum_publish_latency_seconds",
	    &counter_publish_latency,
	    "From a pub's arrival to its ack, at the loop clock's grain."),
	METRICS_FN("callosum_eventlog_backend", PROM_INFO,
	    metrics_pack_es_backend, "The event log's primary backend.",
	    METRICS_L1("backend")),
	METRICS_FN("callosum_eventlog_state", PROM_STATE,
	    metrics_pack_es_state,
	    "The event log: direct, fallback (in memory), resync.",
	    .nlabels = 0, .states = metrics_es_states, .nstates = 3),
	METRICS_FN("callosum_eventlog_events_total", PROM_COUNTER,
	    metrics_pack_es_events, "Events the log settled, by backend.",
	    METRICS_L1("backend")),
	METRICS_ES("callosum_eventlog_depth", PROM_GAUGE, depth,
	    "Events the in-memory log holds."),
	METRICS_ES("callosum_eventlog_bytes", PROM_GAUGE, bytes,
	    "Body bytes the in-memory log holds."),
	METRICS_ES("callosum_eventlog_fallback_depth", PROM_GAUGE,
	    fallback_depth, "Events held in memory not yet in Redis."),
	METRICS_ES("callosum_eventlog_dropped_total", PROM_COUNTER, dropped,
	    "Events evicted from the in-memory log."),
	METRICS_ES("callosum_eventlog_refused_total", PROM_COUNTER, refused,
	    "Events the log refused (full, too large)."),
	METRICS_ES("callosum_eventlog_resyncs_total", PROM_COUNTER, resyncs,
	    "Write-backs of the in-memory log to Redis begun."),
	METRICS_ES("callosum_eventlog_duplicates_total", PROM_COUNTER,
	    duplicates, "Resynced events Redis already held."),
	METRICS_ES("callosum_eventlog_conflicts_total", PROM_COUNTER,
	    conflicts, "Resynced events written to the conflicts stream."),
	METRICS_HIST("callosum_eventlog_write_latency_seconds",
	    &counter_write_latency,
	    "From a pending append to the log settling it (a Redis write)."),
	METRICS_TRACT("callosum_messages_published_total", PROM_COUNTER,
	    metrics_published, "Messages published into the tract."),
	METRICS_TRACT("callosum_messages_delivered_total", PROM_COUNTER,
	    metrics_delivered, "msg frames sent to the tract's subscribers."),
	METRICS_TRACT("callosum_messages_dropped_total", PROM_COUNTER,
	    metrics_dropped, "Messages dropped for drop subscribers."),
	METRICS_TRACT("callosum_tract_failures_total", PROM_COUNTER,
	    metrics_failures, "Failures counted by the tract's breaker."),
	METRICS_TRACT("callosum_subscriptions", PROM_GAUGE,
	    metrics_subscriptions, "Live subscriptions to the tract."),
	METRICS_TRACT("callosum_pending", PROM_GAUGE, metrics_pending,
	    "Messages waiting for demand in the tract's subscriptions."),
	METRICS_TRACT("callosum_waiting_publishers", PROM_GAUGE,
	    metrics_waiting, "Publishers parked on the full tract."),
	{ METRICS_META("callosum_breaker_state", PROM_STATE,
	    "The tract's circuit breaker (0 closed, 1 open, 2 half_open).",
	    METRICS_L1("tract"), .states = metrics_breaker_states,
	    .nstates = 3), .pack = metrics_pack_tract,
	    .tract = metrics_breaker_state },
	METRICS_TRACT("callosum_breaker_transitions_total", PROM_COUNTER,
	    metrics_breaker_transitions, "The breaker's state changes."),
	METRICS_FN("callosum_cross_tract_messages_total", PROM_COUNTER,
	    metrics_pack_pairs, "Cross-tract messages by pair of tracts.",
	    METRICS_L2("from", "to")),
	/* Not in /metrics: a list, not a figure (PROM_INFO with no label). */
	METRICS_FN("callosum_slow_subscribers", PROM_INFO,
	    metrics_pack_slow, "", .nlabels = 0),
	METRICS_FN("callosum_synth_state", PROM_STATE,
	    metrics_pack_synth_state,
	    "The synthesizer: off, rebuilding, behind (the log unreadable), "
	    "live.", .nlabels = 0, .states = metrics_synth_states,
	    .nstates = 4),
	METRICS_FN("callosum_dialogue_balance", PROM_GAUGE,
	    metrics_pack_balance,
	    "min(a,b)/max(a,b) of a tract pair's last synth_window messages.",
	    METRICS_L2("a", "b")),
	METRICS_SYNTH("callosum_balanced_dialogue_events_total", PROM_COUNTER,
	    balanced_events, "Balanced-dialogue events (ADR 0021)."),
	METRICS_FN("callosum_emergence_score", PROM_GAUGE,
	    metrics_pack_emergence,
	    "Balanced dialogue sustained across agents, sessions, models "
	    "(0..1, ADR 0021).", .nlabels = 0),
	METRICS_FN("callosum_last_emergence_ts", PROM_GAUGE,
	    metrics_pack_emergence_ts,
	    "Unix time of the last balanced-dialogue event (0: none).",
	    .nlabels = 0),
	METRICS_SYNTH("callosum_bframe_candidates_total", PROM_COUNTER,
	    candidates_total,
	    "bframe patterns promoted to candidates."),
	METRICS_SYNTH("callosum_synth_events_total", PROM_COUNTER,
	    events_fed,
	    "Logged events the synthesizer has read."),
	METRICS_SYNTH("callosum_synth_patterns", PROM_GAUGE,
	    npatterns,
	    "bframe patterns tracked, not yet promoted."),
	METRICS_SYNTH("callosum_synth_pairs_dropped_total", PROM_COUNTER,
	    pairs_dropped,
	    "Cross-tract events of pairs beyond synth_max_pairs."),
	METRICS_SYNTH("callosum_synth_patterns_evicted_total", PROM_COUNTER,
	    patterns_evicted, "Patterns forgotten for synth_max_patterns."),
	METRICS_SYNTH("callosum_synth_patterns_refused_total", PROM_COUNTER,
	    patterns_refused, "bframe patterns longer than 128 bytes."),
	METRICS_HOOK("callosum_webhook_deliveries_total", PROM_COUNTER,
	    delivered, "Candidate notifications the webhook took (2xx)."),
	METRICS_HOOK("callosum_webhook_failures_total", PROM_COUNTER, failed,
	    "Notifications given up after webhook_retries retries."),
	METRICS_HOOK("callosum_webhook_attempts_total", PROM_COUNTER,
	    attempts, "POSTs to the webhook, retries included."),
	METRICS_HOOK("callosum_webhook_queued", PROM_GAUGE, queued,
	    "Notifications waiting, in flight or backing off."),
	METRICS_FN("callosum_top_patterns", PROM_INFO,
	    metrics_pack_top_patterns, "", .nlabels = 0),
	METRICS_FN("callosum_recent_candidates", PROM_INFO,
	    metrics_pack_recent, "", .nlabels = 0),
};
#define METRICS_NROWS	(sizeof(metrics_rows) / sizeof(metrics_rows[0]))

static const struct prom_meta *
metrics_find(void *arg, const char *name, size_t len)
{
	size_t	i;

	(void)arg;
	for (i = 0; i < METRICS_NROWS; i++) {
		if (metrics_rows[i].meta.nlabels == 0 &&
		    metrics_rows[i].meta.type == PROM_INFO)
			continue;	/* a list */
		if (strlen(metrics_rows[i].meta.name) == len &&
		    memcmp(metrics_rows[i].meta.name, name, len) == 0)
			return (&metrics_rows[i].meta);
	}
	return (NULL);
}

/* The snapshot map: op, id, server, every row, truncated. */
static void
metrics_pack_map(msgpack_packer *pk, struct metrics_ctx *ctx, bool has_id,
    uint64_t id)
{
	size_t	i;

	msgpack_pack_map(pk, 3 + METRICS_NROWS + (has_id ? 1 : 0));
	wire_pack_cstr(pk, "op");
	wire_pack_cstr(pk, "stats");
	if (has_id) {
		wire_pack_cstr(pk, "id");
		msgpack_pack_uint64(pk, id);
	}
	wire_pack_cstr(pk, "server");
	wire_pack_cstr(pk, "callosum/" CALLOSUM_VERSION);
	for (i = 0; i < METRICS_NROWS; i++) {
		wire_pack_cstr(pk, metrics_rows[i].meta.name);
		metrics_rows[i].pack(pk, ctx, &metrics_rows[i]);
	}
	wire_pack_cstr(pk, "truncated");
	ctx->cut || ctx->ntracts < tract_count(server_tracts(ctx->srv)) ?
	    msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

static void
metrics_ctx_init(struct metrics_ctx *ctx, struct server *srv)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->srv = srv;
	es_get_stats(server_es(srv), &ctx->es);
	ctx->ntracts = tract_count(server_tracts(srv));
	ctx->nlist = SIZE_MAX;
}

int
metrics_enc(struct server *srv, msgpack_sbuffer *sb, bool has_id,
    uint64_t id, size_t max_len)
{
	struct metrics_ctx	ctx;
	msgpack_packer		pk;
	size_t			start, ntracts;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	metrics_ctx_init(&ctx, srv);
	/*
	 * What fits is found by trying: halve the tracts and lists until
	 * the frame fits. A snapshot is rare and the first try fits unless
	 * there are thousands of tracts.
	 */
	for (ntracts = ctx.ntracts;; ntracts /= 2) {
		if ((start = wire_frame_begin(sb)) == (size_t)-1)
			return (-1);
		ctx.ntracts = ntracts;
		ctx.nlist = ntracts == tract_count(server_tracts(srv)) ?
		    SIZE_MAX : ntracts;
		ctx.cut = false;
		metrics_pack_map(&pk, &ctx, has_id, id);
		if (sb->size - start <= max_len || ntracts == 0)
			break;
		sb->size = start;
	}
	wire_frame_end(sb, start);
	return (0);
}

/* The snapshot, unbounded, for HTTP; the caller destroys the buffer. */
static void
metrics_snapshot(struct server *srv, msgpack_sbuffer *sb)
{
	struct metrics_ctx	ctx;
	msgpack_packer		pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	metrics_ctx_init(&ctx, srv);
	metrics_pack_map(&pk, &ctx, false, 0);
}

/* Renders the snapshot with fn. */
static int
metrics_render(struct server *srv, struct json_buf *out,
    int (*fn)(struct json_buf *, const msgpack_object *))
{
	msgpack_sbuffer		sb;
	msgpack_unpacked	u;
	int			rc = -1;

	metrics_snapshot(srv, &sb);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS)
		rc = fn(out, &u.data);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

static int
metrics_render_prom(struct json_buf *out, const msgpack_object *map)
{
	return (prom_render(out, map, metrics_find, NULL));
}

static int
metrics_render_json(struct json_buf *out, const msgpack_object *map)
{
	static const char *const omit[] = { "op", NULL };

	return (json_render_map(out, map, omit));
}

int
metrics_prom(struct server *srv, struct json_buf *out)
{
	return (metrics_render(srv, out, metrics_render_prom));
}

int
metrics_json(struct server *srv, struct json_buf *out)
{
	return (metrics_render(srv, out, metrics_render_json));
}

/* A conn's entry: keys, fixed values and str headers take at most this. */
#define METRICS_CONN_FIXED	128

static size_t
metrics_conn_size(const struct conn *c)
{
	return (METRICS_CONN_FIXED + c->agent_len + c->session_len +
	    c->model_len);
}

/* Demand granted and not yet used, and messages queued, over c's subs. */
static void
metrics_conn_subs(const struct conn *c, uint64_t *demand, uint64_t *pending)
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
metrics_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	wire_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

static void
metrics_kv_str(msgpack_packer *pk, const char *key, const char *s,
    size_t len)
{
	wire_pack_cstr(pk, key);
	wire_pack_str(pk, s != NULL ? s : "", len);
}

static void
metrics_conn(msgpack_packer *pk, struct conn *c)
{
	uint64_t	demand, pending;

	metrics_conn_subs(c, &demand, &pending);
	msgpack_pack_map(pk, 9);
	metrics_kv_u64(pk, "conn", c->id);
	metrics_kv_str(pk, "agent", c->agent, c->agent_len);
	metrics_kv_str(pk, "session", c->session, c->session_len);
	metrics_kv_str(pk, "model", c->model, c->model_len);
	metrics_kv_u64(pk, "uid", c->uid);
	metrics_kv_u64(pk, "subs", conn_nsubs(c));
	metrics_kv_u64(pk, "demand", demand);
	metrics_kv_u64(pk, "pending", pending);
	metrics_kv_u64(pk, "outq", conn_output_len(c));
}

/* Room left for the frame begun at start, keeping slack for the end. */
static size_t
metrics_room(const msgpack_sbuffer *sb, size_t start, size_t max_len,
    size_t slack)
{
	size_t	used = sb->size - start + slack;

	return (used >= max_len ? 0 : max_len - used);
}

int
metrics_enc_conns(struct server *srv, msgpack_sbuffer *sb, bool has_id,
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
		metrics_kv_u64(&pk, "id", id);
	room = metrics_room(sb, start, max_len, 32);
	TAILQ_FOREACH(c, server_conn_list(srv), entry) {
		if (c->flags & CONN_CLOSING)
			continue;
		total++;
		if (metrics_conn_size(c) <= room && n + 1 == total) {
			room -= metrics_conn_size(c);
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
		metrics_conn(&pk, c);
		left--;
	}
	wire_pack_cstr(&pk, "truncated");
	total > n ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
	wire_frame_end(sb, start);
	return (0);
}
