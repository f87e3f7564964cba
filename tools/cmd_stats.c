/*
 * callosum stats and ping: one request, one reply.
 *
 * stats shows the metrics snapshot three ways. On a terminal, a summary
 * for a person: the router, the event log, latency, then one row per
 * tract with its rates per second between two samples (--interval apart;
 * --watch redraws it in place, like top, until SIGINT or SIGTERM). Off a
 * terminal, the table of flattened keys (nested maps joined with dots)
 * that scripts read, and with --json one JSON object; --watch repeats
 * either. Keys a router does not send (an older one) are left out of the
 * summary, never an error.
 */
#include <sys/ioctl.h>
#include <sys/select.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/cmd.h"

#define STATS_WATCH_MAX		86400.0	/* seconds; a day is plenty */
#define STATS_INTERVAL_DEFAULT	1.0	/* between a summary's two samples */
/* A figure the router did not send. */
#define STATS_NONE		UINT64_MAX

/*
 * The terminal while --watch draws: the alternate screen (the shell's
 * screen comes back as it was), no cursor, and no wrapping, so that a line
 * wider than the window is cut rather than pushing the rest down.
 * Leaving undoes each, and is the last thing written.
 */
#define STATS_SCREEN_ENTER	"\033[?1049h\033[?25l\033[?7l"
#define STATS_SCREEN_LEAVE	"\033[?7h\033[?25h\033[?1049l"
/* Cursor home, then clear to the end of the screen: a frame's start. */
#define STATS_SCREEN_HOME	"\033[H\033[J"

enum {
	OPT_WATCH = CMD_OPT_FIRST,
	OPT_INTERVAL
};

static const struct option stats_options[] = {
	CMD_COMMON_OPTIONS,
	{ "watch", required_argument, NULL, OPT_WATCH },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ NULL, 0, NULL, 0 }
};

static const struct option ping_options[] = {
	CMD_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

/* One row of the table; both strings are owned by the table. */
struct stats_row {
	char	*key;
	char	*value;
};

struct stats_table {
	struct stats_row	*rows;
	size_t			 n;
	size_t			 cap;
	size_t			 key_width;
};

static void
stats_table_free(struct stats_table *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++) {
		free(t->rows[i].key);
		free(t->rows[i].value);
	}
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

/* Adds key (len bytes) = the text of v. */
static int
stats_table_add(struct stats_table *t, const char *key, size_t len,
    const msgpack_object *v)
{
	struct stats_row	*rows, *r;
	struct json_buf		 val;
	size_t			 cap;

	json_buf_init(&val);
	/* Text is shown bare; everything else as its JSON. */
	if (v->type == MSGPACK_OBJECT_STR &&
	    utf8_valid(v->via.str.ptr, v->via.str.size) &&
	    memchr(v->via.str.ptr, '\n', v->via.str.size) == NULL) {
		if (json_buf_add(&val, v->via.str.ptr, v->via.str.size) == -1)
			goto fail;
	} else if (json_render(&val, v) == -1)
		goto fail;
	if (t->n == t->cap) {
		cap = t->cap == 0 ? 64 : t->cap * 2;
		if ((rows = reallocarray(t->rows, cap, sizeof(*rows))) == NULL)
			goto fail;
		t->rows = rows;
		t->cap = cap;
	}
	r = &t->rows[t->n];
	if ((r->key = strndup(key, len)) == NULL)
		goto fail;
	r->value = val.data != NULL ? val.data : strdup("");
	if (r->value == NULL) {
		free(r->key);
		goto fail;
	}
	t->n++;
	if (len > t->key_width)
		t->key_width = len;
	return (0);
fail:
	json_buf_free(&val);
	return (-1);
}

/* Adds the pairs of map under prefix (path holds it), maps flattened. */
static int
stats_flatten(struct stats_table *t, struct json_buf *path,
    const msgpack_object *map)
{
	const msgpack_object_kv	*kv;
	size_t			 base = path->len;
	uint32_t		 i;
	int			 r;

	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (base == 0 && kv->key.type == MSGPACK_OBJECT_STR &&
		    ((kv->key.via.str.size == 2 &&
		    memcmp(kv->key.via.str.ptr, "op", 2) == 0) ||
		    (kv->key.via.str.size == 2 &&
		    memcmp(kv->key.via.str.ptr, "id", 2) == 0)))
			continue;
		path->len = base;
		if (base != 0 && json_buf_add(path, ".", 1) == -1)
			return (-1);
		if (kv->key.type == MSGPACK_OBJECT_STR)
			r = json_buf_add(path, kv->key.via.str.ptr,
			    kv->key.via.str.size);
		else
			r = json_render(path, &kv->key);
		if (r == -1)
			return (-1);
		if (kv->val.type == MSGPACK_OBJECT_MAP &&
		    kv->val.via.map.size != 0)
			r = stats_flatten(t, path, &kv->val);
		else
			r = stats_table_add(t, path->data, path->len, &kv->val);
		if (r == -1)
			return (-1);
	}
	path->len = base;
	return (0);
}

static int
stats_print_table(const msgpack_object *reply)
{
	struct stats_table	t;
	struct json_buf		path;
	size_t			i;
	int			r;

	memset(&t, 0, sizeof(t));
	json_buf_init(&path);
	if ((r = stats_flatten(&t, &path, reply)) == 0) {
		for (i = 0; i < t.n; i++)
			printf("%-*s  %s\n", (int)t.key_width, t.rows[i].key,
			    t.rows[i].value);
	}
	json_buf_free(&path);
	stats_table_free(&t);
	return (r);
}


/*
 * The summary. A sample holds what it shows of one stats reply, copied,
 * so that the previous one outlives the next receive for the rates.
 */

/* A tract's figures; STATS_NONE where the router sent none. */
struct stats_tract {
	char		*name;		/* owned; name_len bytes and a NUL */
	size_t		 name_len;
	uint64_t	 published;
	uint64_t	 delivered;
	uint64_t	 dropped;
	uint64_t	 subs;
	uint64_t	 pending;	/* (new) callosum_pending */
	uint64_t	 waiting;
	uint64_t	 breaker;	/* 0 closed, 1 open, 2 half_open */
};

/* Per-tract figures: the maps {tract: n} they come from. */
static const struct {
	const char	*name;
	size_t		 off;		/* of its uint64_t in stats_tract */
} stats_tract_figures[] = {
	{ "callosum_messages_published_total",
	  offsetof(struct stats_tract, published) },
	{ "callosum_messages_delivered_total",
	  offsetof(struct stats_tract, delivered) },
	{ "callosum_messages_dropped_total",
	  offsetof(struct stats_tract, dropped) },
	{ "callosum_subscriptions", offsetof(struct stats_tract, subs) },
	{ "callosum_pending", offsetof(struct stats_tract, pending) },
	{ "callosum_waiting_publishers",
	  offsetof(struct stats_tract, waiting) },
	{ "callosum_breaker_state", offsetof(struct stats_tract, breaker) },
};
#define STATS_NTRACT_FIGURES	(sizeof(stats_tract_figures) / \
				    sizeof(stats_tract_figures[0]))

/* The quantiles of a latency histogram (new), in seconds. */
struct stats_hist {
	bool		 has;
	double		 p50;
	double		 p99;
	uint64_t	 count;
};

struct stats_sample {
	double			 t;		/* when it came, monotonic s */
	char			 server[64];
	double			 uptime;	/* (new) seconds; -1: none */
	uint64_t		 conns;
	char			 backend[16];
	char			 state[16];
	uint64_t		 depth;
	uint64_t		 fallback_depth;
	struct stats_hist	 publish;	/* (new) */
	struct stats_hist	 write;		/* (new) */
	char			 synth[16];	/* "": no synthesizer figures */
	double			 emergence;
	uint64_t		 balanced;
	uint64_t		 candidates;
	uint64_t		 rss;		/* (new) bytes */
	uint64_t		 fds;		/* (new) */
	struct stats_tract	*tracts;
	size_t			 ntracts;
	uint64_t		 published;	/* sums over the tracts */
	uint64_t		 delivered;
	uint64_t		 dropped;
	bool			 truncated;	/* tracts were left out */
	struct cmd_table	 slow;		/* (new) slow subscribers */
};

static const struct cmd_col stats_slow_cols[] = {
	{ "CONN", 0, false },
	{ "AGENT", 24, true },
	{ "SID", 0, false },
	{ "TRACT", 24, true },
	{ "PENDING", 0, false },
	{ "DROPPED", 0, false },
	{ "OVERFLOW", 8, true },
};
#define STATS_NSLOW_COLS	(sizeof(stats_slow_cols) / \
				    sizeof(stats_slow_cols[0]))

/* The tract table, with and without the rate columns. */
static const struct cmd_col stats_tract_cols_rates[] = {
	{ "TRACT", 24, true },
	{ "PUBLISHED", 0, false },
	{ "PUB/S", 0, false },
	{ "DELIVERED", 0, false },
	{ "DEL/S", 0, false },
	{ "DROPPED", 0, false },
	{ "SUBS", 0, false },
	{ "PENDING", 0, false },
	{ "WAITING", 0, false },
	{ "BREAKER", 9, true },
};
static const struct cmd_col stats_tract_cols[] = {
	{ "TRACT", 24, true },
	{ "PUBLISHED", 0, false },
	{ "DELIVERED", 0, false },
	{ "DROPPED", 0, false },
	{ "SUBS", 0, false },
	{ "PENDING", 0, false },
	{ "WAITING", 0, false },
	{ "BREAKER", 9, true },
};
#define STATS_NCOLS(c)		(sizeof(c) / sizeof((c)[0]))

static double
stats_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* A number as a count; STATS_NONE unless it is one. */
static uint64_t
stats_u64(const msgpack_object *o)
{
	if (o == NULL)
		return (STATS_NONE);
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (o->via.u64);
	if ((o->type == MSGPACK_OBJECT_FLOAT64 ||
	    o->type == MSGPACK_OBJECT_FLOAT32) && o->via.f64 >= 0 &&
	    o->via.f64 < 1.8e19)
		return ((uint64_t)o->via.f64);
	return (STATS_NONE);
}

/* Any number as a double; false unless o is one. */
static bool
stats_f64(const msgpack_object *o, double *out)
{
	return (o != NULL && wire_obj_number(o, out));
}

/* The str at key copied into buf (cut to fit); "" when absent. */
static void
stats_copy_str(const msgpack_object *map, const char *key, char *buf,
    size_t size)
{
	struct wire_str	s;
	size_t		len = 0;

	if (client_get_str(map, key, &s)) {
		len = s.len < size ? s.len : size - 1;
		memcpy(buf, s.ptr, len);
	}
	buf[len] = '\0';
}

static void
stats_parse_hist(const msgpack_object *reply, const char *key,
    struct stats_hist *h)
{
	const msgpack_object	*m = wire_map_get(reply, key);

	memset(h, 0, sizeof(*h));
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return;
	h->count = stats_u64(wire_map_get(m, "count"));
	h->has = stats_f64(wire_map_get(m, "p50"), &h->p50) &&
	    stats_f64(wire_map_get(m, "p99"), &h->p99);
}

static bool
stats_key_is(const msgpack_object *key, const char *name, size_t len)
{
	return (key->type == MSGPACK_OBJECT_STR && key->via.str.size == len &&
	    memcmp(key->via.str.ptr, name, len) == 0);
}

/*
 * The figure of tract name in a map {tract: n}. Entry i is tried first:
 * the router lists every figure's tracts in the same order, so that a
 * sample of thousands of tracts is not quadratic.
 */
static uint64_t
stats_tract_value(const msgpack_object *map, size_t i, const char *name,
    size_t len)
{
	const msgpack_object_kv	*kv;
	uint32_t		 j;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return (STATS_NONE);
	kv = map->via.map.ptr;
	if (i < map->via.map.size && stats_key_is(&kv[i].key, name, len))
		return (stats_u64(&kv[i].val));
	for (j = 0; j < map->via.map.size; j++)
		if (stats_key_is(&kv[j].key, name, len))
			return (stats_u64(&kv[j].val));
	return (STATS_NONE);
}

/* Adds a to *sum, unless either is unknown. */
static void
stats_sum(uint64_t *sum, uint64_t a)
{
	if (a != STATS_NONE && *sum != STATS_NONE)
		*sum += a;
}

/* One row per key of callosum_messages_published_total. 0 or -1. */
static int
stats_parse_tracts(struct stats_sample *s, const msgpack_object *reply)
{
	const msgpack_object	*fig[STATS_NTRACT_FIGURES], *pub, *key;
	struct stats_tract	*t;
	size_t			 i, k;

	for (k = 0; k < STATS_NTRACT_FIGURES; k++)
		fig[k] = wire_map_get(reply, stats_tract_figures[k].name);
	pub = fig[0];
	if (pub == NULL || pub->type != MSGPACK_OBJECT_MAP ||
	    pub->via.map.size == 0)
		return (0);
	if ((s->tracts = calloc(pub->via.map.size, sizeof(*t))) == NULL)
		return (-1);
	for (i = 0; i < pub->via.map.size; i++) {
		key = &pub->via.map.ptr[i].key;
		if (key->type != MSGPACK_OBJECT_STR)
			continue;
		t = &s->tracts[s->ntracts];
		if ((t->name = strndup(key->via.str.ptr,
		    key->via.str.size)) == NULL)
			return (-1);
		t->name_len = key->via.str.size;
		s->ntracts++;
		for (k = 0; k < STATS_NTRACT_FIGURES; k++)
			*(uint64_t *)((char *)t + stats_tract_figures[k].off) =
			    stats_tract_value(fig[k], i, t->name, t->name_len);
		stats_sum(&s->published, t->published);
		stats_sum(&s->delivered, t->delivered);
		stats_sum(&s->dropped, t->dropped);
	}
	return (0);
}

/* A count as a cell; "-" when the router sent none. */
static void
stats_cell_u64(struct cmd_table *t, uint64_t v)
{
	if (v == STATS_NONE)
		cmd_table_printf(t, "-");
	else
		cmd_table_printf(t, "%" PRIu64, v);
}

/* A str field as a cell; "-" when absent. */
static void
stats_cell_str(struct cmd_table *t, const msgpack_object *m, const char *key)
{
	struct wire_str	s;

	if (client_get_str(m, key, &s))
		cmd_table_text(t, s.ptr, s.len);
	else
		cmd_table_printf(t, "-");
}

/* callosum_slow_subscribers (new), largest pending first, as a table. */
static void
stats_parse_slow(struct stats_sample *s, const msgpack_object *reply)
{
	const msgpack_object	*list, *m;
	uint32_t		 i;

	list = wire_map_get(reply, "callosum_slow_subscribers");
	if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (i = 0; i < list->via.array.size; i++) {
		m = &list->via.array.ptr[i];
		if (m->type != MSGPACK_OBJECT_MAP)
			continue;
		stats_cell_u64(&s->slow, stats_u64(wire_map_get(m, "conn")));
		stats_cell_str(&s->slow, m, "agent");
		stats_cell_u64(&s->slow, stats_u64(wire_map_get(m, "sid")));
		stats_cell_str(&s->slow, m, "tract");
		stats_cell_u64(&s->slow,
		    stats_u64(wire_map_get(m, "pending")));
		stats_cell_u64(&s->slow,
		    stats_u64(wire_map_get(m, "dropped")));
		stats_cell_str(&s->slow, m, "overflow");
	}
}

static void
stats_sample_init(struct stats_sample *s)
{
	memset(s, 0, sizeof(*s));
	cmd_table_init(&s->slow, stats_slow_cols, STATS_NSLOW_COLS);
}

static void
stats_sample_clear(struct stats_sample *s)
{
	size_t	i;

	for (i = 0; i < s->ntracts; i++)
		free(s->tracts[i].name);
	free(s->tracts);
	cmd_table_free(&s->slow);
	stats_sample_init(s);
}

/* Fills s (cleared) from a stats reply. 0 or -1 (ENOMEM). */
static int
stats_parse(struct stats_sample *s, const msgpack_object *reply)
{
	const msgpack_object	*v;

	stats_sample_clear(s);
	s->t = stats_now();
	stats_copy_str(reply, "server", s->server, sizeof(s->server));
	/* Anything past a million years is not an uptime. */
	if (!stats_f64(wire_map_get(reply, "callosum_uptime_seconds"),
	    &s->uptime) || !(s->uptime >= 0 && s->uptime < 3e13))
		s->uptime = -1;
	s->conns = stats_u64(wire_map_get(reply, "callosum_connections"));
	stats_copy_str(reply, "callosum_eventlog_backend", s->backend,
	    sizeof(s->backend));
	stats_copy_str(reply, "callosum_eventlog_state", s->state,
	    sizeof(s->state));
	s->depth = stats_u64(wire_map_get(reply, "callosum_eventlog_depth"));
	s->fallback_depth = stats_u64(wire_map_get(reply,
	    "callosum_eventlog_fallback_depth"));
	stats_parse_hist(reply, "callosum_publish_latency_seconds",
	    &s->publish);
	stats_parse_hist(reply, "callosum_eventlog_write_latency_seconds",
	    &s->write);
	stats_copy_str(reply, "callosum_synth_state", s->synth,
	    sizeof(s->synth));
	if (!stats_f64(wire_map_get(reply, "callosum_emergence_score"),
	    &s->emergence))
		s->emergence = -1;
	s->balanced = stats_u64(wire_map_get(reply,
	    "callosum_balanced_dialogue_events_total"));
	s->candidates = stats_u64(wire_map_get(reply,
	    "callosum_bframe_candidates_total"));
	s->rss = stats_u64(wire_map_get(reply,
	    "callosum_process_resident_memory_bytes"));
	s->fds = stats_u64(wire_map_get(reply, "callosum_process_open_fds"));
	v = wire_map_get(reply, "truncated");
	s->truncated = v != NULL && v->type == MSGPACK_OBJECT_BOOLEAN &&
	    v->via.boolean;
	if (stats_parse_tracts(s, reply) == -1)
		return (-1);
	stats_parse_slow(s, reply);
	return (s->slow.failed ? -1 : 0);
}

/* The tract of prev that is cur's i-th (at i when nothing was added). */
static const struct stats_tract *
stats_find_tract(const struct stats_sample *prev, size_t i,
    const struct stats_tract *t)
{
	size_t	j;

	if (i < prev->ntracts && prev->tracts[i].name_len == t->name_len &&
	    memcmp(prev->tracts[i].name, t->name, t->name_len) == 0)
		return (&prev->tracts[i]);
	for (j = 0; j < prev->ntracts; j++)
		if (prev->tracts[j].name_len == t->name_len &&
		    memcmp(prev->tracts[j].name, t->name, t->name_len) == 0)
			return (&prev->tracts[j]);
	return (NULL);
}

/* A counter's rate per second from then to now; negative: unknown. */
static double
stats_rate(uint64_t now, uint64_t then, double dt)
{
	if (now == STATS_NONE || then == STATS_NONE || dt <= 0)
		return (-1);
	/* Counters only grow while we are connected; a fresh one reads 0. */
	return (now > then ? (double)(now - then) / dt : 0);
}

static void
stats_cell_rate(struct cmd_table *t, double rate)
{
	if (rate < 0)
		cmd_table_printf(t, "-");
	else
		cmd_table_printf(t, "%.1f", rate);
}

static const char *
stats_breaker_name(uint64_t state)
{
	switch (state) {
	case 0:
		return ("closed");
	case 1:
		return ("open");
	case 2:
		return ("half_open");
	case STATS_NONE:
		return ("-");
	default:
		return ("?");
	}
}

/*
 * A tract's rates against prev. A tract prev did not list is new since
 * (its counters started at 0), unless prev was cut short.
 */
static void
stats_tract_rates(const struct stats_sample *cur,
    const struct stats_sample *prev, size_t i, double *pub, double *del)
{
	const struct stats_tract	*t = &cur->tracts[i], *p;
	static const struct stats_tract	 zero;
	double				 dt = cur->t - prev->t;

	if ((p = stats_find_tract(prev, i, t)) == NULL)
		p = prev->truncated ? NULL : &zero;
	*pub = p != NULL ? stats_rate(t->published, p->published, dt) : -1;
	*del = p != NULL ? stats_rate(t->delivered, p->delivered, dt) : -1;
}

static void
stats_tract_row(struct cmd_table *tab, const struct stats_sample *cur,
    const struct stats_sample *prev, size_t i)
{
	const struct stats_tract	*t = &cur->tracts[i];
	double				 pub, del;

	cmd_table_text(tab, t->name, t->name_len);
	stats_cell_u64(tab, t->published);
	if (prev != NULL) {
		stats_tract_rates(cur, prev, i, &pub, &del);
		stats_cell_rate(tab, pub);
	}
	stats_cell_u64(tab, t->delivered);
	if (prev != NULL)
		stats_cell_rate(tab, del);
	stats_cell_u64(tab, t->dropped);
	stats_cell_u64(tab, t->subs);
	stats_cell_u64(tab, t->pending);
	stats_cell_u64(tab, t->waiting);
	cmd_table_printf(tab, "%s", stats_breaker_name(t->breaker));
}

/* A duration: "3d 04:05:06" or "4:05:06". */
static void
stats_fmt_uptime(char *buf, size_t size, double seconds)
{
	uint64_t	s = (uint64_t)seconds;

	if (s >= 86400)
		snprintf(buf, size, "%" PRIu64 "d %02u:%02u:%02u", s / 86400,
		    (unsigned)(s % 86400 / 3600), (unsigned)(s % 3600 / 60),
		    (unsigned)(s % 60));
	else
		snprintf(buf, size, "%u:%02u:%02u", (unsigned)(s / 3600),
		    (unsigned)(s % 3600 / 60), (unsigned)(s % 60));
}

/* A latency: "850us", "1.25ms", "2.10s". */
static void
stats_fmt_latency(char *buf, size_t size, double seconds)
{
	if (!(seconds >= 0))
		snprintf(buf, size, "-");
	else if (seconds < 1e-3)
		snprintf(buf, size, "%.0fus", seconds * 1e6);
	else if (seconds < 1)
		snprintf(buf, size, "%.2fms", seconds * 1e3);
	else
		snprintf(buf, size, "%.2fs", seconds);
}

static void
stats_fmt_bytes(char *buf, size_t size, uint64_t n)
{
	if (n < 1024)
		snprintf(buf, size, "%" PRIu64 " B", n);
	else if (n < 1024 * 1024)
		snprintf(buf, size, "%.1f KiB", (double)n / 1024);
	else if (n < 1024ULL * 1024 * 1024)
		snprintf(buf, size, "%.1f MiB", (double)n / (1024 * 1024));
	else
		snprintf(buf, size, "%.1f GiB",
		    (double)n / (1024 * 1024 * 1024));
}

/* What a frame draws, and how many lines it has drawn. */
struct stats_view {
	const struct stats_sample	*cur;
	const struct stats_sample	*prev;	/* NULL: no rates */
	size_t				 lines;
	size_t				 max_lines;	/* 0: no limit */
	struct json_buf			 text;	/* for cmd_text() */
};

/* Prints "LABEL  TEXT" (our own text) as one line. */
static void
stats_line(struct stats_view *v, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
stats_line(struct stats_view *v, const char *label, const char *fmt, ...)
{
	va_list	ap;

	printf("%-12s", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	v->lines++;
}

/* s, from the router, made safe (cmd_text); "?" when it is empty. */
static const char *
stats_safe(struct stats_view *v, const char *s)
{
	json_buf_clear(&v->text);
	if (*s == '\0' || cmd_text(&v->text, s, strlen(s), 32) == -1 ||
	    v->text.data == NULL)
		return ("?");
	return (v->text.data);
}

/* The router's line: version, uptime, connections. */
static void
stats_show_router(struct stats_view *v)
{
	const struct stats_sample	*s = v->cur;
	char				 up[32] = "", conns[32] = "?";

	if (s->uptime >= 0) {
		memcpy(up, ", up ", 6);
		stats_fmt_uptime(up + 5, sizeof(up) - 5, s->uptime);
	}
	if (s->conns != STATS_NONE)
		snprintf(conns, sizeof(conns), "%" PRIu64, s->conns);
	stats_line(v, "router", "%s%s, %s connection%s",
	    stats_safe(v, s->server), up, conns, s->conns == 1 ? "" : "s");
}

static void
stats_show_eventlog(struct stats_view *v)
{
	const struct stats_sample	*s = v->cur;
	char				 backend[40], write[64] = "";
	char				 p50[16], p99[16];

	if (s->backend[0] == '\0')
		return;
	snprintf(backend, sizeof(backend), "%s", stats_safe(v, s->backend));
	if (s->write.has) {
		stats_fmt_latency(p50, sizeof(p50), s->write.p50);
		stats_fmt_latency(p99, sizeof(p99), s->write.p99);
		snprintf(write, sizeof(write), "; writes p50 %s, p99 %s",
		    p50, p99);
	}
	stats_line(v, "event log", "%s, %s; depth %" PRIu64 ", fallback "
	    "depth %" PRIu64 "%s", backend, stats_safe(v, s->state),
	    s->depth != STATS_NONE ? s->depth : 0,
	    s->fallback_depth != STATS_NONE ? s->fallback_depth : 0, write);
}

static void
stats_show_latency(struct stats_view *v)
{
	const struct stats_hist	*h = &v->cur->publish;
	char			 p50[16], p99[16];

	if (!h->has)
		return;
	stats_fmt_latency(p50, sizeof(p50), h->p50);
	stats_fmt_latency(p99, sizeof(p99), h->p99);
	if (h->count != STATS_NONE)
		stats_line(v, "publish", "p50 %s, p99 %s over %" PRIu64
		    " publishes", p50, p99, h->count);
	else
		stats_line(v, "publish", "p50 %s, p99 %s", p50, p99);
}

static void
stats_show_process(struct stats_view *v)
{
	const struct stats_sample	*s = v->cur;
	char				 rss[32];

	if (s->rss == STATS_NONE && s->fds == STATS_NONE)
		return;
	if (s->rss != STATS_NONE)
		stats_fmt_bytes(rss, sizeof(rss), s->rss);
	if (s->fds == STATS_NONE)
		stats_line(v, "process", "rss %s", rss);
	else if (s->rss == STATS_NONE)
		stats_line(v, "process", "%" PRIu64 " open fds", s->fds);
	else
		stats_line(v, "process", "rss %s, %" PRIu64 " open fds", rss,
		    s->fds);
}

/* The synthesizer: its state, emergence, balanced events, candidates. */
static void
stats_show_dialogue(struct stats_view *v)
{
	const struct stats_sample	*s = v->cur;

	if (s->synth[0] == '\0')
		return;		/* a router without a synthesizer */
	if (s->emergence < 0) {
		stats_line(v, "dialogue", "synthesizer %s",
		    stats_safe(v, s->synth));
		return;
	}
	stats_line(v, "dialogue", "synthesizer %s; emergence %.3f, %" PRIu64
	    " balanced events, %" PRIu64 " candidates",
	    stats_safe(v, s->synth), s->emergence, s->balanced,
	    s->candidates);
}

/* "N published (R/s)" for the messages line. */
static void
stats_fmt_total(char *buf, size_t size, uint64_t n, double rate,
    const char *what)
{
	int	len;

	len = snprintf(buf, size, "%" PRIu64 " %s", n, what);
	if (rate >= 0 && len > 0 && (size_t)len < size)
		snprintf(buf + len, size - (size_t)len, " (%.1f/s)", rate);
}

/* The sums over the tracts, with their rates. */
static void
stats_show_messages(struct stats_view *v)
{
	const struct stats_sample	*s = v->cur, *p = v->prev;
	double				 pub = -1, del = -1;
	char				 a[64], b[64];

	if (s->ntracts == 0 || s->published == STATS_NONE ||
	    s->delivered == STATS_NONE)
		return;
	/* A cut list sums different tracts each time: no rate then. */
	if (p != NULL && !s->truncated && !p->truncated) {
		pub = stats_rate(s->published, p->published, s->t - p->t);
		del = stats_rate(s->delivered, p->delivered, s->t - p->t);
	}
	stats_fmt_total(a, sizeof(a), s->published, pub, "published");
	stats_fmt_total(b, sizeof(b), s->delivered, del, "delivered");
	stats_line(v, "messages", "%s, %s, %" PRIu64 " dropped", a, b,
	    s->dropped != STATS_NONE ? s->dropped : 0);
}

/*
 * How many tract rows fit: the window's lines less those drawn, a blank
 * and the table's header, two lines for what is left out, the slow
 * subscribers below, and the last line, whose newline would scroll the
 * screen.
 */
static size_t
stats_tract_budget(const struct stats_view *v)
{
	size_t	slow = cmd_table_rows(&v->cur->slow), used;

	if (v->max_lines == 0)
		return (SIZE_MAX);
	used = v->lines + 1 + 1 + 2 + 1 + (slow != 0 ? slow + 3 : 0);
	return (v->max_lines > used ? v->max_lines - used : 0);
}

static int
stats_show_tracts(struct stats_view *v)
{
	const struct stats_sample	*s = v->cur;
	struct cmd_table		 t;
	size_t				 i, rows;
	int				 r;

	if (v->prev != NULL)
		cmd_table_init(&t, stats_tract_cols_rates,
		    STATS_NCOLS(stats_tract_cols_rates));
	else
		cmd_table_init(&t, stats_tract_cols,
		    STATS_NCOLS(stats_tract_cols));
	rows = stats_tract_budget(v);
	for (i = 0; i < s->ntracts && i < rows; i++)
		stats_tract_row(&t, s, v->prev, i);
	putchar('\n');
	v->lines++;
	r = cmd_table_print(&t, SIZE_MAX);
	v->lines += cmd_table_rows(&t) + 1;
	cmd_table_free(&t);
	if (r == 0 && i < s->ntracts) {
		printf("... and %zu more tract%s\n", s->ntracts - i,
		    s->ntracts - i == 1 ? "" : "s");
		v->lines++;
	}
	if (r == 0 && s->truncated) {
		printf("... and more that the router's reply left out\n");
		v->lines++;
	}
	return (r);
}

static int
stats_show_slow(struct stats_view *v)
{
	int	r;

	if (cmd_table_rows(&v->cur->slow) == 0)
		return (0);
	printf("\nslow subscribers, largest pending first\n");
	r = cmd_table_print(&v->cur->slow, SIZE_MAX);
	v->lines += 2 + cmd_table_rows(&v->cur->slow) + 1;
	return (r);
}

/* Prints the summary of cur, with rates against prev when not NULL. */
static int
stats_show(struct stats_view *v)
{
	int	r;

	stats_show_router(v);
	stats_show_eventlog(v);
	stats_show_latency(v);
	stats_show_process(v);
	stats_show_dialogue(v);
	stats_show_messages(v);
	if ((r = stats_show_tracts(v)) == 0)
		r = stats_show_slow(v);
	return (r);
}

/*
 * Signals while --watch runs. The handler only sets a flag. SIGINT and
 * SIGTERM (and SIGWINCH) are blocked except inside pselect(), which
 * unblocks them atomically as it starts to sleep: one that comes while a
 * sample is taken or drawn stays pending and ends the next pause at once,
 * never lost between the check of the flag and the sleep.
 */
static volatile sig_atomic_t	stats_stop;	/* SIGINT, SIGTERM */
static volatile sig_atomic_t	stats_resized;	/* SIGWINCH */

static void
stats_signal_cb(int sig)
{
	if (sig == SIGWINCH)
		stats_resized = 1;
	else
		stats_stop = 1;
}

/* Installs the handlers; *wait is the mask to pause with. */
static void
stats_signals(bool resize, sigset_t *wait)
{
	static const int	sigs[] = { SIGINT, SIGTERM, SIGWINCH };
	struct sigaction	sa;
	sigset_t		block;
	size_t			i, n = resize ? 3 : 2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stats_signal_cb;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < n; i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, wait);
	for (i = 0; i < n; i++) {
		sigdelset(wait, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* Sleeps until the monotonic time until, or a signal. */
static void
stats_pause(const sigset_t *wait, double until)
{
	struct timespec	ts;
	double		left = until - stats_now();

	if (stats_stop || stats_resized || left <= 0)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	pselect(0, NULL, NULL, NULL, &ts, wait);
}

static void
stats_screen(bool on)
{
	fputs(on ? STATS_SCREEN_ENTER : STATS_SCREEN_LEAVE, stdout);
	fflush(stdout);
}

/* The window's height, or 0 when unknown. */
static size_t
stats_window_lines(void)
{
	struct winsize	ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1)
		return (0);
	return (ws.ws_row);
}

/*
 * Takes a sample into s. Returns 0, or the exit status after reporting
 * why not, with the terminal first restored when screen is set.
 */
static int
stats_take(struct cmd *cmd, uint64_t id, struct stats_sample *s, bool screen)
{
	msgpack_object	reply;
	int		r, err = 0;

	r = cmd_call(cmd, "stats", id, &reply);
	if (r == 1 && client_frame_op(&reply) != WIRE_OP_ERR) {
		if (stats_parse(s, &reply) == 0)
			return (CMD_EXIT_OK);
		err = errno;
	}
	if (screen)
		stats_screen(false);
	if (r != 1)
		return (cmd_lost(cmd, r, NULL));
	if (err == 0)
		return (cmd_print_err(NULL, &reply));
	fprintf(stderr, "callosum: %s\n", strerror(err));
	return (CMD_EXIT_ERR);
}

/* One frame of --watch: a title line, then the summary, in one write. */
static void
stats_draw(struct stats_view *v, double period)
{
	char		clock[16] = "";
	time_t		now = time(NULL);
	struct tm	tm;

	if (localtime_r(&now, &tm) != NULL)
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	fputs(STATS_SCREEN_HOME, stdout);
	v->lines = 0;
	v->max_lines = stats_window_lines();
	stats_line(v, "callosum", "stats every %g s at %s; Ctrl-C to quit",
	    period, clock);
	if (stats_show(v) == -1)
		printf("callosum: %s\n", strerror(errno));
	fflush(stdout);
}

/*
 * --watch on a terminal: a frame per sample, rates between consecutive
 * samples, redrawn at once when the window changes size.
 */
static int
stats_top(struct cmd *cmd, double period)
{
	static char		 buf[1 << 16];
	struct stats_sample	 s[2];
	struct stats_view	 v;
	sigset_t		 wait;
	uint64_t		 id;
	double			 next;
	int			 i = 0, status = CMD_EXIT_OK;

	/* A frame reaches the terminal in one piece, not line by line. */
	setvbuf(stdout, buf, _IOFBF, sizeof(buf));
	memset(&v, 0, sizeof(v));
	json_buf_init(&v.text);
	stats_sample_init(&s[0]);
	stats_sample_init(&s[1]);
	stats_signals(true, &wait);
	stats_screen(true);
	for (id = 1; !stats_stop; id++, i ^= 1) {
		if ((status = stats_take(cmd, id, &s[i], true)) != CMD_EXIT_OK)
			break;
		v.cur = &s[i];
		v.prev = id > 1 ? &s[i ^ 1] : NULL;
		stats_draw(&v, period);
		next = s[i].t + period;
		while (!stats_stop && stats_now() < next) {
			stats_pause(&wait, next);
			if (stats_resized) {
				stats_resized = 0;
				stats_draw(&v, period);
			}
		}
	}
	if (status == CMD_EXIT_OK)
		stats_screen(false);
	stats_sample_clear(&s[0]);
	stats_sample_clear(&s[1]);
	json_buf_free(&v.text);
	return (status);
}

static void
stats_sleep(double seconds)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The summary once: two samples interval apart (0: one, no rates). */
static int
stats_once(struct cmd *cmd, double interval)
{
	struct stats_sample	s[2];
	struct stats_view	v;
	int			status;

	memset(&v, 0, sizeof(v));
	json_buf_init(&v.text);
	stats_sample_init(&s[0]);
	stats_sample_init(&s[1]);
	if ((status = stats_take(cmd, 1, &s[0], false)) != CMD_EXIT_OK)
		goto out;
	v.cur = &s[0];
	if (interval > 0) {
		stats_sleep(interval);
		if ((status = stats_take(cmd, 2, &s[1], false)) != CMD_EXIT_OK)
			goto out;
		v.prev = &s[0];
		v.cur = &s[1];
	}
	if (stats_show(&v) == -1) {
		fprintf(stderr, "callosum: %s\n", strerror(errno));
		status = CMD_EXIT_ERR;
	}
out:
	stats_sample_clear(&s[0]);
	stats_sample_clear(&s[1]);
	json_buf_free(&v.text);
	return (status);
}

/*
 * For scripts: the flattened table (or --json), once or every watch
 * seconds until SIGINT or SIGTERM, which end it with status 0.
 */
static int
stats_plain(struct cmd *cmd, double watch)
{
	msgpack_object	 reply;
	sigset_t	 wait;
	uint64_t	 id;
	int		 r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&wait);
	if (watch > 0)
		stats_signals(false, &wait);
	for (id = 1; !stats_stop; id++) {
		if ((r = cmd_call(cmd, "stats", id, &reply)) != 1)
			return (cmd_lost(cmd, r, NULL));
		if (client_frame_op(&reply) == WIRE_OP_ERR)
			return (cmd_print_err(NULL, &reply));
		if (cmd->json)
			cmd_print_json(cmd, &reply, cmd_omit_reply);
		else {
			if (id > 1)
				putchar('\n');
			if (stats_print_table(&reply) == -1) {
				fprintf(stderr, "callosum: %s\n",
				    strerror(errno));
				return (CMD_EXIT_ERR);
			}
		}
		if (watch == 0)
			break;
		fflush(stdout);
		stats_pause(&wait, stats_now() + watch);
	}
	return (CMD_EXIT_OK);
}

/* Parses a number of seconds in [min, STATS_WATCH_MAX]. */
static bool
stats_parse_seconds(const char *s, double min, double *out)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' ||
	    !(v >= min && v <= STATS_WATCH_MAX))
		return (false);
	*out = v;
	return (true);
}

int
cmd_stats(struct cmd *cmd, int argc, char **argv)
{
	double	watch = 0, interval = STATS_INTERVAL_DEFAULT;
	bool	tty = isatty(STDOUT_FILENO);
	int	ch, status;

	cmd->usage = "[--watch SECONDS] [--interval SECONDS]";
	cmd->help = "  --watch S       repeat every S seconds until "
	    "interrupted; on a terminal,\n"
	    "                  redrawn in place\n"
	    "  --interval S    on a terminal, rates are over S seconds "
	    "(default 1; 0: one\n"
	    "                  sample, no rates). Off a terminal: \"key "
	    "value\" lines\n";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", stats_options,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_WATCH:
			if (!stats_parse_seconds(optarg, 0, &watch) ||
			    watch == 0)
				return (cmd_usage_error(cmd,
				    "--watch: not a number of seconds: %s",
				    optarg));
			break;
		case OPT_INTERVAL:
			if (!stats_parse_seconds(optarg, 0, &interval))
				return (cmd_usage_error(cmd,
				    "--interval: not a number of seconds: %s",
				    optarg));
			break;
		default:
			if (cmd_option(cmd, ch, &status))
				return (status);
			break;
		}
	}
	if (argc != optind)
		return (cmd_usage_error(cmd, "unexpected argument: %s",
		    argv[optind]));

	if ((status = cmd_connect(cmd, NULL)) != CMD_EXIT_OK)
		return (status);
	if (cmd->json || !tty)
		return (stats_plain(cmd, watch));
	if (watch > 0)
		return (stats_top(cmd, watch));
	setvbuf(stdout, NULL, _IOLBF, 0);
	return (stats_once(cmd, interval));
}

int
cmd_ping(struct cmd *cmd, int argc, char **argv)
{
	struct timespec	 t0, t1;
	msgpack_packer	*pk;
	msgpack_object	 reply;
	double		 ms;
	int		 r, status;

	if ((status = cmd_start_bare(cmd, argc, argv, ping_options)) != CMD_EXIT_OK)
		return (status);
	if ((pk = client_begin(cmd->client)) == NULL)
		return (cmd_lost(cmd, -1, NULL));
	msgpack_pack_map(pk, 2);
	cmd_pack_kv(pk, "op", "ping");
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = client_call(cmd->client, 1, CMD_TIMEOUT_MS, &reply, NULL,
	    NULL)) != 1)
		return (cmd_lost(cmd, r, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (client_frame_op(&reply) == WIRE_OP_ERR)
		return (cmd_print_err(NULL, &reply));
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (cmd->json)
		printf("{\"op\":\"pong\",\"rtt_ms\":%.3f}\n", ms);
	else
		printf("pong from %s in %.3f ms\n", cmd->socket, ms);
	return (CMD_EXIT_OK);
}
