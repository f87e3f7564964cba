/*
 * bench_json: the result of a run as one JSON object. Every flag's value
 * goes under "params", so a figure never travels without its workload.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"

/* Appends printf output; the buffer is left as it was on failure. */
static int
bj_printf(struct json_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bj_printf(struct json_buf *b, const char *fmt, ...)
{
	char	tmp[128];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return (-1);
	return (json_buf_add(b, tmp, (size_t)n));
}

/* ,"key": */
static int
bj_key(struct json_buf *b, bool *first, const char *key)
{
	int	rc = 0;

	if (!*first)
		rc |= json_buf_add(b, ",", 1);
	*first = false;
	rc |= json_put_bytes(b, key, strlen(key));
	rc |= json_buf_add(b, ":", 1);
	return (rc);
}

static int
bj_u64(struct json_buf *b, bool *first, const char *key, uint64_t v)
{
	return (bj_key(b, first, key) |
	    bj_printf(b, "%llu", (unsigned long long)v));
}

/* A double with a fixed number of decimals; null when not finite. */
static int
bj_dbl(struct json_buf *b, bool *first, const char *key, double v, int prec)
{
	if (bj_key(b, first, key) == -1)
		return (-1);
	if (!isfinite(v))
		return (json_buf_add(b, "null", 4));
	return (bj_printf(b, "%.*f", prec, v));
}

static int
bj_str(struct json_buf *b, bool *first, const char *key, const char *s)
{
	if (bj_key(b, first, key) == -1)
		return (-1);
	if (s == NULL)
		return (json_buf_add(b, "null", 4));
	return (json_put_bytes(b, s, strlen(s)));
}

static int
bj_bool(struct json_buf *b, bool *first, const char *key, bool v)
{
	return (bj_key(b, first, key) |
	    json_buf_add(b, v ? "true" : "false", v ? 4 : 5));
}

/* A count that may be unknown (< 0): null then. */
static int
bj_long(struct json_buf *b, bool *first, const char *key, long v)
{
	if (bj_key(b, first, key) == -1)
		return (-1);
	if (v < 0)
		return (json_buf_add(b, "null", 4));
	return (bj_printf(b, "%ld", v));
}

/*
 * {"p50":..,"p90":..,"p99":..,"p999":..,"max":..,...} in microseconds;
 * null for no histogram or an empty one.
 */
static int
bj_lat(struct json_buf *b, bool *first, const char *key, const struct hist *h)
{
	bool	f = true;
	int	rc;

	if (bj_key(b, first, key) == -1)
		return (-1);
	if (h == NULL || h->count == 0)
		return (json_buf_add(b, "null", 4));
	rc = json_buf_add(b, "{", 1) |
	    bj_dbl(b, &f, "p50", hist_percentile(h, 50) / 1e3, 3) |
	    bj_dbl(b, &f, "p90", hist_percentile(h, 90) / 1e3, 3) |
	    bj_dbl(b, &f, "p99", hist_percentile(h, 99) / 1e3, 3) |
	    bj_dbl(b, &f, "p999", hist_percentile(h, 99.9) / 1e3, 3) |
	    bj_dbl(b, &f, "max", h->max / 1e3, 3) |
	    bj_dbl(b, &f, "min", h->min / 1e3, 3) |
	    bj_dbl(b, &f, "mean", hist_mean(h) / 1e3, 3) |
	    bj_u64(b, &f, "samples", h->count) |
	    json_buf_add(b, "}", 1);
	return (rc);
}

/* latency_split_us: {to_router, from_router}, or null when not stamped. */
static int
bj_split(struct json_buf *b, bool *first, const struct bench_result *r)
{
	bool	f = true;

	if (r->lat_to_router.count == 0)
		return (bj_key(b, first, "latency_split_us") |
		    json_buf_add(b, "null", 4));
	return (bj_key(b, first, "latency_split_us") |
	    json_buf_add(b, "{", 1) |
	    bj_lat(b, &f, "to_router", &r->lat_to_router) |
	    bj_lat(b, &f, "from_router", &r->lat_from_router) |
	    json_buf_add(b, "}", 1));
}

static int
bj_params(struct json_buf *b, const struct bench_params *p)
{
	bool	f = true;
	int	rc;

	rc = json_buf_add(b, "{", 1) |
	    bj_str(b, &f, "socket", p->spawn ? NULL : p->socket) |
	    bj_bool(b, &f, "spawn", p->spawn) |
	    bj_u64(b, &f, "pubs", p->pubs) |
	    bj_u64(b, &f, "subs", p->subs) |
	    bj_u64(b, &f, "size", p->size);
	if (p->rate == 0)
		rc |= bj_str(b, &f, "rate", "unlimited");
	else
		rc |= bj_u64(b, &f, "rate", p->rate);
	if (p->count > 0)
		rc |= bj_key(b, &f, "duration") | json_buf_add(b, "null", 4) |
		    bj_u64(b, &f, "count", p->count);
	else
		rc |= bj_dbl(b, &f, "duration", p->duration_s, 3) |
		    bj_key(b, &f, "count") | json_buf_add(b, "null", 4);
	rc |= bj_u64(b, &f, "cross", p->cross_pct) |
	    bj_u64(b, &f, "credit", p->credit) |
	    bj_str(b, &f, "overflow", p->overflow == BENCH_OVERFLOW_DROP ?
	    "drop" : "block") |
	    bj_bool(b, &f, "pin", p->pin) |
	    bj_bool(b, &f, "json", p->json) |
	    bj_str(b, &f, "redis", p->redis_url) |
	    bj_str(b, &f, "router_config", p->router_config) |
	    bj_str(b, &f, "compare", p->compare) |
	    bj_u64(b, &f, "idle", p->idle) |
	    bj_u64(b, &f, "ack_every", p->ack_every) |
	    bj_dbl(b, &f, "drain", p->drain_s, 3) |
	    bj_u64(b, &f, "spin_us", p->spin_us) |
	    bj_dbl(b, &f, "warmup", p->warmup_s, 3) |
	    json_buf_add(b, "}", 1);
	return (rc);
}

/* The figures of one system, as members of the object being written. */
static int
bj_figures(struct json_buf *b, bool *f, const struct bench_result *r)
{
	const struct bench_errors	*e = &r->err;
	bool				 g = true;
	int				 rc;

	rc = bj_str(b, f, "system", r->system) |
	    bj_u64(b, f, "published", r->published) |
	    bj_u64(b, f, "delivered", r->delivered) |
	    bj_u64(b, f, "expected", r->expected) |
	    bj_u64(b, f, "errors", r->errors) |
	    bj_key(b, f, "error_detail") | json_buf_add(b, "{", 1) |
	    bj_u64(b, &g, "err_frames", e->err_frames) |
	    bj_u64(b, &g, "missing_acks", e->missing_acks) |
	    bj_u64(b, &g, "gaps", e->gaps) |
	    bj_u64(b, &g, "dups", e->dups) |
	    bj_u64(b, &g, "reorders", e->reorders) |
	    bj_u64(b, &g, "lost", e->lost) |
	    bj_u64(b, &g, "bad_frames", e->bad_frames) |
	    bj_u64(b, &g, "disconnects", e->disconnects) |
	    bj_str(b, &g, "first_err", r->first_err[0] ? r->first_err : NULL) |
	    json_buf_add(b, "}", 1) |
	    bj_u64(b, f, "lag_dropped", r->lag_dropped) |
	    bj_u64(b, f, "acks", r->acks) |
	    bj_key(b, f, "warmup") | json_buf_add(b, "{", 1);
	g = true;
	rc |= bj_u64(b, &g, "published", r->warm_published) |
	    bj_u64(b, &g, "delivered", r->warm_delivered) |
	    json_buf_add(b, "}", 1) |
	    bj_dbl(b, f, "duration_s", r->duration_s, 6) |
	    bj_dbl(b, f, "deliver_s", r->deliver_s, 6) |
	    bj_dbl(b, f, "msgs_per_s", r->msgs_per_s, 1) |
	    bj_dbl(b, f, "deliveries_per_s", r->deliveries_per_s, 1) |
	    bj_lat(b, f, "latency_us", &r->lat) |
	    bj_lat(b, f, "pacer_lag_us", r->open_loop ? &r->pacer_lag : NULL) |
	    bj_split(b, f, r) |
	    bj_lat(b, f, "ack_latency_us", &r->ack_lat) |
	    bj_key(b, f, "cpu_pct") | json_buf_add(b, "{", 1);
	g = true;
	rc |= bj_dbl(b, &g, "server", r->server_cpu_pct < 0 ? NAN :
	    r->server_cpu_pct, 1) |
	    bj_dbl(b, &g, "clients", r->client_cpu_pct < 0 ? NAN :
	    r->client_cpu_pct, 1) |
	    bj_dbl(b, &g, "redis_log", r->redis_log_cpu_pct < 0 ? NAN :
	    r->redis_log_cpu_pct, 1) |
	    bj_dbl(b, &g, "other", r->other_cpu_pct < 0 ? NAN :
	    r->other_cpu_pct, 1) |
	    json_buf_add(b, "}", 1) |
	    bj_u64(b, f, "idle_conns", r->idle_conns) |
	    bj_long(b, f, "rss_kib_before", r->rss_kib_before) |
	    bj_long(b, f, "rss_kib_after", r->rss_kib_after) |
	    bj_long(b, f, "rss_kib_end", r->rss_kib_end);
	return (rc);
}

int
bench_json(struct json_buf *b, const struct bench_params *p,
    const struct bench_result *r, const struct bench_result *peer)
{
	size_t	mark = b->len;
	bool	f = true;
	int	rc;

	rc = json_buf_add(b, "{", 1) |
	    bj_key(b, &f, "params") | bj_params(b, p) |
	    bj_figures(b, &f, r) |
	    bj_key(b, &f, "peer");
	if (peer == NULL)
		rc |= json_buf_add(b, "null", 4);
	else {
		bool	g = true;

		rc |= json_buf_add(b, "{", 1) | bj_figures(b, &g, peer) |
		    json_buf_add(b, "}", 1);
	}
	rc |= json_buf_add(b, "}", 1);
	if (rc != 0) {
		/* Leave the buffer as it was, as json_buf's own calls do. */
		b->len = mark;
		if (b->data != NULL)
			b->data[mark] = '\0';
		return (-1);
	}
	return (0);
}
