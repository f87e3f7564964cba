/*
 * test_bench_json: the shape of callosum-bench --json. The produced text is
 * parsed back by a minimal strict JSON reader (below) that records every
 * member as a dotted path and its kind; the test then checks the keys the
 * issue promises, and that every number is a valid JSON number. The
 * figures behind "errors" come from the order check and the frame reader
 * of the clients, so those are checked here too: against sequences with
 * known faults, and against frames made by the router's own encoder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/bench.h"
#include "router/lib/json.h"
#include "router/lib/wire.h"

#define MAXV	256

enum kind { K_OBJ, K_ARR, K_STR, K_NUM, K_TRUE, K_FALSE, K_NULL };

/* Every member seen: its dotted path, kind and (numbers) value. */
struct seen {
	char		path[128];
	enum kind	kind;
	double		num;
	char		str[64];
};

struct reader {
	const char	*p;
	struct seen	 v[MAXV];
	int		 n;
};

static void
ws(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

/* A string, copied into out (escapes kept as is; enough for keys). */
static bool
str(struct reader *r, char *out, size_t len)
{
	size_t	i = 0;

	if (*r->p != '"')
		return (false);
	r->p++;
	while (*r->p != '"') {
		if ((unsigned char)*r->p < 0x20)
			return (false);
		if (*r->p == '\\') {
			if (r->p[1] == '\0')
				return (false);
			if (i + 1 < len)
				out[i++] = *r->p;
			r->p++;
		}
		if (i + 1 < len)
			out[i++] = *r->p;
		r->p++;
	}
	r->p++;
	out[i] = '\0';
	return (true);
}

/* The JSON number grammar, exactly: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
static bool
num(struct reader *r, double *out)
{
	const char	*s = r->p;

	if (*r->p == '-')
		r->p++;
	if (*r->p == '0')
		r->p++;
	else if (*r->p >= '1' && *r->p <= '9')
		while (*r->p >= '0' && *r->p <= '9')
			r->p++;
	else
		return (false);
	if (*r->p == '.') {
		r->p++;
		if (*r->p < '0' || *r->p > '9')
			return (false);
		while (*r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (*r->p == 'e' || *r->p == 'E') {
		r->p++;
		if (*r->p == '+' || *r->p == '-')
			r->p++;
		if (*r->p < '0' || *r->p > '9')
			return (false);
		while (*r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	*out = strtod(s, NULL);
	return (true);
}

static bool value(struct reader *, const char *path);

static struct seen *
note(struct reader *r, const char *path, enum kind k)
{
	struct seen	*s;

	if (r->n == MAXV)
		return (NULL);
	s = &r->v[r->n++];
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->kind = k;
	return (s);
}

static bool
value(struct reader *r, const char *path)
{
	char		 key[64], sub[192];
	struct seen	*s;

	ws(r);
	switch (*r->p) {
	case '{':
		if (note(r, path, K_OBJ) == NULL)
			return (false);
		r->p++;
		ws(r);
		if (*r->p == '}') {
			r->p++;
			return (true);
		}
		for (;;) {
			ws(r);
			if (!str(r, key, sizeof(key)))
				return (false);
			ws(r);
			if (*r->p++ != ':')
				return (false);
			snprintf(sub, sizeof(sub), "%s%s%s", path,
			    *path ? "." : "", key);
			if (!value(r, sub))
				return (false);
			ws(r);
			if (*r->p == ',') {
				r->p++;
				continue;
			}
			if (*r->p++ != '}')
				return (false);
			return (true);
		}
	case '[':
		if (note(r, path, K_ARR) == NULL)
			return (false);
		r->p++;
		ws(r);
		if (*r->p == ']') {
			r->p++;
			return (true);
		}
		for (;;) {
			if (!value(r, path))
				return (false);
			ws(r);
			if (*r->p == ',') {
				r->p++;
				continue;
			}
			return (*r->p++ == ']');
		}
	case '"':
		if ((s = note(r, path, K_STR)) == NULL)
			return (false);
		return (str(r, s->str, sizeof(s->str)));
	case 't':
		if (strncmp(r->p, "true", 4) != 0)
			return (false);
		r->p += 4;
		return (note(r, path, K_TRUE) != NULL);
	case 'f':
		if (strncmp(r->p, "false", 5) != 0)
			return (false);
		r->p += 5;
		return (note(r, path, K_FALSE) != NULL);
	case 'n':
		if (strncmp(r->p, "null", 4) != 0)
			return (false);
		r->p += 4;
		return (note(r, path, K_NULL) != NULL);
	default:
		if ((s = note(r, path, K_NUM)) == NULL)
			return (false);
		return (num(r, &s->num));
	}
}

/* Parses text: exactly one value and nothing after it. */
static bool
parse(struct reader *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	r->p = text;
	if (!value(r, ""))
		return (false);
	ws(r);
	return (*r->p == '\0');
}

static const struct seen *
find(const struct reader *r, const char *path)
{
	int	i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].path, path) == 0)
			return (&r->v[i]);
	return (NULL);
}

static void
expect(const struct reader *r, const char *path, enum kind k)
{
	const struct seen	*s = find(r, path);

	if (s == NULL)
		fail_msg("missing key %s", path);
	if (s->kind != k)
		fail_msg("key %s: kind %d, want %d", path, s->kind, k);
}

static double
number(const struct reader *r, const char *path)
{
	expect(r, path, K_NUM);
	return (find(r, path)->num);
}

/* A result as a run of 1 s would leave it. */
static void
fill(struct bench_result *r, const char *system)
{
	uint64_t	v;

	bench_result_init(r, system);
	r->published = 1000000;
	r->delivered = 2000000;
	r->expected = 2000000;
	r->acks = 976;
	r->duration_s = 1.25;
	r->deliver_s = 1.5;
	for (v = 1; v <= 1000; v++)
		hist_record(&r->lat, v * 1000);	/* 1 .. 1000 us */
	r->server_cpu_pct = 99.5;
	r->client_cpu_pct = 80;
	bench_result_finish(r);
}

static void
test_bench_json_has_every_key(void **state)
{
	static const char *const	 params[] = { "socket", "spawn",
	    "pubs", "subs", "size", "rate", "duration", "count", "cross",
	    "credit", "overflow", "pin", "json", "redis", "compare", "idle",
	    "ack_every", "drain", "spin_us", "warmup",
	    "router_config", NULL };
	static const char *const	 lat[] = { "p50", "p90", "p99",
	    "p999", "max", NULL };
	struct bench_params		 p;
	struct bench_result		*r = malloc(sizeof(*r));
	struct reader			*rd = malloc(sizeof(*rd));
	struct json_buf			 b;
	char				 path[64];
	int				 i;

	(void)state;
	bench_params_init(&p);
	p.spawn = true;
	p.subs = 2;
	p.duration_s = 1;
	p.json = true;
	fill(r, "callosum");
	json_buf_init(&b);
	assert_int_equal(bench_json(&b, &p, r, NULL), 0);
	assert_non_null(b.data);
	assert_null(strchr(b.data, '\n'));	/* one line, one object */
	if (!parse(rd, b.data))
		fail_msg("not JSON: %s", b.data);
	assert_int_equal(rd->v[0].kind, K_OBJ);
	expect(rd, "params", K_OBJ);
	for (i = 0; params[i] != NULL; i++) {
		snprintf(path, sizeof(path), "params.%s", params[i]);
		if (find(rd, path) == NULL)
			fail_msg("missing %s", path);
	}
	assert_true(number(rd, "params.pubs") == 1);
	assert_true(number(rd, "params.subs") == 2);
	assert_true(number(rd, "params.size") == 64);
	assert_true(number(rd, "params.credit") == 4096);
	assert_true(number(rd, "params.spin_us") == BENCH_SPIN_US);
	expect(rd, "params.rate", K_STR);
	assert_string_equal(find(rd, "params.rate")->str, "unlimited");
	assert_string_equal(find(rd, "params.overflow")->str, "block");
	expect(rd, "params.spawn", K_TRUE);
	expect(rd, "params.socket", K_NULL);	/* spawned: private */

	assert_true(number(rd, "published") == 1000000);
	assert_true(number(rd, "delivered") == 2000000);
	assert_true(number(rd, "errors") == 0);
	assert_true(number(rd, "duration_s") == 1.25);
	assert_true(number(rd, "msgs_per_s") == 800000);
	assert_true(number(rd, "deliveries_per_s") > 1333333.2 &&
	    number(rd, "deliveries_per_s") < 1333333.4);
	expect(rd, "latency_us", K_OBJ);
	for (i = 0; lat[i] != NULL; i++) {
		snprintf(path, sizeof(path), "latency_us.%s", lat[i]);
		assert_true(number(rd, path) > 0);
	}
	assert_true(number(rd, "latency_us.max") == 1000);
	assert_true(number(rd, "latency_us.p50") >= 500 &&
	    number(rd, "latency_us.p50") <= 500 * (1 + 1.0 / 128));
	expect(rd, "error_detail", K_OBJ);
	expect(rd, "pacer_lag_us", K_NULL);	/* closed loop */
	expect(rd, "latency_split_us", K_NULL);	/* no router stamps */
	expect(rd, "ack_latency_us", K_NULL);	/* no ack timed */
	expect(rd, "cpu_pct.redis_log", K_NULL);	/* none spawned */
	expect(rd, "params.redis", K_NULL);
	expect(rd, "peer", K_NULL);		/* not asked */
	assert_true(number(rd, "idle_conns") == 0);
	expect(rd, "rss_kib_before", K_NULL);	/* unknown */
	expect(rd, "rss_kib_after", K_NULL);
	json_buf_free(&b);
	free(r);
	free(rd);
}

static void
test_bench_json_peer_has_the_same_shape(void **state)
{
	struct bench_params	 p;
	struct bench_result	*r = malloc(sizeof(*r));
	struct bench_result	*peer = malloc(sizeof(*peer));
	struct reader		*rd = malloc(sizeof(*rd));
	struct json_buf		 b;
	int			 i;
	char			 path[160];

	(void)state;
	bench_params_init(&p);
	p.socket = "/tmp/x \"quoted\".sock";
	p.rate = 10000;
	p.count = 50000;
	p.compare = "redis";
	p.overflow = BENCH_OVERFLOW_DROP;
	fill(r, "callosum");
	r->open_loop = true;
	hist_record(&r->pacer_lag, 2500);
	hist_record(&r->lat_to_router, 3000);
	hist_record(&r->lat_from_router, 4000);
	hist_record(&r->ack_lat, 5000);
	r->rss_kib_before = 4000;
	r->rss_kib_after = 9000;
	r->idle_conns = 1000;
	r->err.gaps = 3;
	snprintf(r->first_err, sizeof(r->first_err), "backpressure");
	bench_result_finish(r);
	fill(peer, "redis");
	peer->open_loop = true;		/* both ran the same workload */
	hist_record(&peer->pacer_lag, 1000);
	peer->server_cpu_pct = -1;	/* unknown: null */
	json_buf_init(&b);
	assert_int_equal(bench_json(&b, &p, r, peer), 0);
	if (!parse(rd, b.data))
		fail_msg("not JSON: %s", b.data);
	assert_true(number(rd, "params.rate") == 10000);
	assert_true(number(rd, "params.count") == 50000);
	expect(rd, "params.duration", K_NULL);
	expect(rd, "params.socket", K_STR);
	assert_string_equal(find(rd, "params.compare")->str, "redis");
	assert_string_equal(find(rd, "params.overflow")->str, "drop");
	assert_true(number(rd, "errors") == 3);
	assert_true(number(rd, "error_detail.gaps") == 3);
	assert_string_equal(find(rd, "error_detail.first_err")->str,
	    "backpressure");
	assert_true(number(rd, "pacer_lag_us.p99") == 2.5);
	assert_true(number(rd, "latency_split_us.to_router.p99") == 3);
	assert_true(number(rd, "latency_split_us.from_router.max") == 4);
	assert_true(number(rd, "rss_kib_before") == 4000);
	assert_true(number(rd, "rss_kib_after") == 9000);
	assert_true(number(rd, "idle_conns") == 1000);
	expect(rd, "peer", K_OBJ);
	assert_string_equal(find(rd, "peer.system")->str, "redis");
	/* Every top-level figure has its twin under peer. */
	for (i = 0; i < rd->n; i++) {
		const char	*k = rd->v[i].path;

		if (*k == '\0' || strncmp(k, "params", 6) == 0 ||
		    strncmp(k, "peer", 4) == 0)
			continue;
		/* Redis stamps and acks nothing: null, not absent. */
		if (strncmp(k, "latency_split_us.", 17) == 0 ||
		    strncmp(k, "ack_latency_us.", 15) == 0)
			continue;
		snprintf(path, sizeof(path), "peer.%s", k);
		if (find(rd, path) == NULL)
			fail_msg("peer lacks %s", k);
	}
	expect(rd, "peer.cpu_pct.server", K_NULL);
	expect(rd, "peer.latency_split_us", K_NULL);
	expect(rd, "peer.ack_latency_us", K_NULL);
	assert_true(number(rd, "peer.errors") == 0);
	json_buf_free(&b);
	free(r);
	free(peer);
	free(rd);
}

static void
test_bench_json_rates_cover_the_window_after_warmup(void **state)
{
	struct bench_params	 p;
	struct bench_result	*r = malloc(sizeof(*r));
	struct reader		*rd = malloc(sizeof(*rd));
	struct json_buf		 b;

	(void)state;
	bench_params_init(&p);
	p.duration_s = 1;
	p.warmup_s = 0.5;
	bench_result_init(r, "callosum");
	r->published = 1000000;		/* the whole run, all checked */
	r->delivered = 2000000;
	r->warm_published = 200000;	/* before the window */
	r->warm_delivered = 400000;
	r->duration_s = 1;		/* the window */
	r->deliver_s = 2;
	bench_result_finish(r);
	assert_true(r->msgs_per_s == 800000);
	assert_true(r->deliveries_per_s == 800000);
	json_buf_init(&b);
	assert_int_equal(bench_json(&b, &p, r, NULL), 0);
	if (!parse(rd, b.data))
		fail_msg("not JSON: %s", b.data);
	assert_true(number(rd, "params.warmup") == 0.5);
	assert_true(number(rd, "published") == 1000000);
	assert_true(number(rd, "warmup.published") == 200000);
	assert_true(number(rd, "warmup.delivered") == 400000);
	assert_true(number(rd, "msgs_per_s") == 800000);
	/* Counts that cannot be (a window larger than the run): no rate. */
	r->warm_published = 2000000;
	bench_result_finish(r);
	assert_true(r->msgs_per_s == 0);
	json_buf_free(&b);
	free(r);
	free(rd);
}

static void
test_bench_json_reports_ack_latency_and_the_log_redis(void **state)
{
	struct bench_params	 p;
	struct bench_result	*r = malloc(sizeof(*r));
	struct reader		*rd = malloc(sizeof(*rd));
	struct json_buf		 b;
	uint64_t		 v;

	(void)state;
	bench_params_init(&p);
	p.spawn = true;
	p.redis_url = "spawn";
	p.ack_every = 1;
	p.rate = 50000;
	p.duration_s = 1;
	fill(r, "callosum");
	for (v = 1; v <= 1000; v++)
		hist_record(&r->ack_lat, v * 2000);	/* 2 .. 2000 us */
	r->redis_log_cpu_pct = 42.5;
	json_buf_init(&b);
	assert_int_equal(bench_json(&b, &p, r, NULL), 0);
	if (!parse(rd, b.data))
		fail_msg("not JSON: %s", b.data);
	assert_string_equal(find(rd, "params.redis")->str, "spawn");
	assert_true(number(rd, "params.ack_every") == 1);
	expect(rd, "ack_latency_us", K_OBJ);
	assert_true(number(rd, "ack_latency_us.samples") == 1000);
	assert_true(number(rd, "ack_latency_us.max") == 2000);
	assert_true(number(rd, "ack_latency_us.p50") >= 1000 &&
	    number(rd, "ack_latency_us.p50") <= 1000 * (1 + 1.0 / 128));
	assert_true(number(rd, "ack_latency_us.p99") >= 1980 &&
	    number(rd, "ack_latency_us.p99") <= 1980 * (1 + 1.0 / 128));
	assert_true(number(rd, "ack_latency_us.p999") >= 1998 &&
	    number(rd, "ack_latency_us.p999") <= 2000);
	assert_true(number(rd, "cpu_pct.redis_log") == 42.5);
	/* A URL given is shown as given. */
	p.redis_url = "unix:///run/redis/redis.sock";
	json_buf_clear(&b);
	assert_int_equal(bench_json(&b, &p, r, NULL), 0);
	if (!parse(rd, b.data))
		fail_msg("not JSON: %s", b.data);
	assert_string_equal(find(rd, "params.redis")->str,
	    "unix:///run/redis/redis.sock");
	json_buf_free(&b);
	free(r);
	free(rd);
}

static void
test_bench_json_ackq_times_acks_in_order(void **state)
{
	struct ackq	q;
	uint64_t	t;

	(void)state;
	assert_int_equal(ackq_init(&q, 8), 0);
	assert_int_equal(ackq_push(&q, 1, 100), 0);
	assert_int_equal(ackq_push(&q, 2, 200), 0);
	assert_int_equal(ackq_push(&q, 3, 300), 0);
	assert_true(ackq_pop(&q, 1, &t));
	assert_int_equal(t, 100);
	/* 2 was never answered: 3's answer drops it. */
	assert_true(ackq_pop(&q, 3, &t));
	assert_int_equal(t, 300);
	assert_int_equal(q.len, 0);
	/* Answered already, or never sent: not timed. */
	assert_false(ackq_pop(&q, 3, &t));
	assert_false(ackq_pop(&q, 9, &t));
	ackq_free(&q);
}

static void
test_bench_json_ackq_grows_to_its_bound(void **state)
{
	struct ackq	q;
	uint64_t	t;
	uint32_t	id;

	(void)state;
	assert_int_equal(ackq_init(&q, 4096), 0);
	assert_int_equal(q.cap, 1024);
	/* Wrapped once, so growing must keep the order. */
	for (id = 1; id <= 1000; id++)
		assert_int_equal(ackq_push(&q, id, id * 10), 0);
	for (id = 1; id <= 900; id++)
		assert_true(ackq_pop(&q, id, &t));
	for (id = 1001; id <= 900 + 4096; id++)
		assert_int_equal(ackq_push(&q, id, id * 10), 0);
	assert_int_equal(q.cap, 4096);
	/* Full at its bound: the next pub is not timed, the others are. */
	assert_int_equal(ackq_push(&q, id, id * 10), -1);
	assert_int_equal(q.len, 4096);
	assert_false(ackq_pop(&q, 900, &t));	/* answered already */
	for (id = 901; id <= 900 + 4096; id++) {
		assert_true(ackq_pop(&q, id, &t));
		assert_int_equal(t, (uint64_t)id * 10);
	}
	assert_false(ackq_pop(&q, id, &t));	/* the one not timed */
	ackq_free(&q);
}

static void
test_bench_json_ackq_ids_wrap_as_on_the_wire(void **state)
{
	struct ackq	q;
	uint64_t	t;

	(void)state;
	assert_int_equal(ackq_init(&q, 16), 0);
	assert_int_equal(ackq_push(&q, UINT32_MAX - 1, 1), 0);
	assert_int_equal(ackq_push(&q, UINT32_MAX, 2), 0);
	assert_int_equal(ackq_push(&q, 0, 3), 0);
	assert_int_equal(ackq_push(&q, 1, 4), 0);
	/* 0 comes after UINT32_MAX: the two before it go unanswered. */
	assert_true(ackq_pop(&q, 0, &t));
	assert_int_equal(t, 3);
	assert_false(ackq_pop(&q, UINT32_MAX, &t));
	assert_true(ackq_pop(&q, 1, &t));
	assert_int_equal(t, 4);
	ackq_free(&q);
}

static void
test_bench_json_reader_rejects_bad_text(void **state)
{
	struct reader	*rd = malloc(sizeof(*rd));

	(void)state;
	/* The reader itself must be strict, or the tests above prove little. */
	assert_false(parse(rd, "{\"a\":01}"));
	assert_false(parse(rd, "{\"a\":1.}"));
	assert_false(parse(rd, "{\"a\":nan}"));
	assert_false(parse(rd, "{\"a\":1}{"));
	assert_false(parse(rd, "{\"a\" 1}"));
	assert_true(parse(rd, "{\"a\":-0.5e+3,\"b\":[1,2],\"c\":null}"));
	free(rd);
}


static void
test_bench_json_counts_order_faults_as_errors(void **state)
{
	static const uint64_t	 final[2] = { 6, 3 };
	struct bench_result	*r = malloc(sizeof(*r));
	struct seqcheck		 sc;
	struct reader		*rd = malloc(sizeof(*rd));
	struct json_buf		 b;
	struct bench_params	 p;

	(void)state;
	assert_int_equal(seqcheck_init(&sc, 2), 0);
	/* pub 0: 0 1 3 (gap of 1) 2 (late) 3 (dup) 4 5; pub 1: 0 1 */
	seqcheck_msg(&sc, 0, 0);
	seqcheck_msg(&sc, 1, 0);
	seqcheck_msg(&sc, 0, 1);
	seqcheck_msg(&sc, 0, 3);
	seqcheck_msg(&sc, 0, 2);
	seqcheck_msg(&sc, 0, 3);
	seqcheck_msg(&sc, 1, 1);
	assert_false(seqcheck_complete(&sc, final));
	seqcheck_msg(&sc, 0, 4);
	seqcheck_msg(&sc, 0, 5);
	assert_int_equal(sc.gaps, 1);
	assert_int_equal(sc.reorders, 1);
	assert_int_equal(sc.dups, 1);
	/* pub 1 never sent its seq 2: lost at the end. */
	assert_false(seqcheck_complete(&sc, final));
	assert_int_equal(seqcheck_missing(&sc, final), 1);
	assert_true(seqcheck_complete(&sc, final));

	bench_params_init(&p);
	fill(r, "callosum");
	r->err.gaps = sc.gaps;
	r->err.reorders = sc.reorders;
	r->err.dups = sc.dups;
	r->err.lost = 1;
	bench_result_finish(r);
	json_buf_init(&b);
	assert_int_equal(bench_json(&b, &p, r, NULL), 0);
	assert_true(parse(rd, b.data));
	assert_true(number(rd, "errors") == 4);
	assert_true(number(rd, "error_detail.lost") == 1);
	json_buf_free(&b);
	seqcheck_free(&sc);
	free(r);
	free(rd);
}

static void
test_bench_json_lag_explains_gaps_in_drop_mode(void **state)
{
	static const uint64_t	 final[2] = { 10, 10 };
	struct seqcheck		 sc;

	(void)state;
	assert_int_equal(seqcheck_init(&sc, 2), 0);
	seqcheck_msg(&sc, 0, 0);
	seqcheck_lag(&sc, 5);		/* 3 of pub 0, 2 of pub 1 */
	seqcheck_msg(&sc, 0, 4);
	seqcheck_msg(&sc, 1, 2);
	assert_int_equal(sc.gaps, 0);
	assert_int_equal(sc.lag_gaps, 5);
	seqcheck_msg(&sc, 0, 6);	/* not announced: an error */
	assert_int_equal(sc.gaps, 1);
	seqcheck_lag(&sc, 4);		/* the tail of pub 1 */
	seqcheck_msg(&sc, 0, 7);
	seqcheck_msg(&sc, 0, 8);
	seqcheck_msg(&sc, 0, 9);
	seqcheck_msg(&sc, 1, 3);
	seqcheck_msg(&sc, 1, 4);
	seqcheck_msg(&sc, 1, 5);
	/* 6..9 of pub 1 never came, 4 were announced dropped: none lost. */
	assert_int_equal(seqcheck_missing(&sc, final), 0);
	assert_int_equal(sc.lag_gaps, 9);
	seqcheck_free(&sc);
}

/* A msg frame exactly as the router writes it: prefix, then shared tail. */
static size_t
router_msg(unsigned char *out, size_t cap, uint64_t sid, const void *body,
    size_t len)
{
	msgpack_sbuffer	 sb;
	struct wire_msg	 m;
	unsigned char	 pre[WIRE_PREFIX_MAX];
	size_t		 n, total;
	int		 pairs;

	memset(&m, 0, sizeof(m));
	m.eid.ptr = "1700000000000-7";
	m.eid.len = 15;
	m.from.ptr = m.to.ptr = "external";
	m.from.len = m.to.len = 8;
	m.kind.ptr = "msg";
	m.kind.len = 3;
	m.pri = 0.5;
	m.agent.ptr = "bench-pub-0";
	m.agent.len = 11;
	m.session.ptr = m.model.ptr = "";
	m.ts_us = 1700000000000000LL;
	m.body.ptr = body;
	m.body.len = (uint32_t)len;
	msgpack_sbuffer_init(&sb);
	pairs = wire_enc_msg_tail(&sb, &m);
	assert_true(pairs > 0);
	n = wire_msg_prefix(pre, (uint32_t)pairs, sb.size, sid);
	total = n + sb.size;
	assert_true(total <= cap);
	memcpy(out, pre, n);
	memcpy(out + n, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return (total);
}

static void
test_bench_json_frame_reader_reads_router_frames(void **state)
{
	unsigned char		 frame[512], body[40];
	struct bw_frame		 f;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	size_t			 n;

	(void)state;
	memset(body, 0xab, sizeof(body));
	n = router_msg(frame, sizeof(frame), 300, body, sizeof(body));
	assert_int_equal(wire_frame_len(frame), n - WIRE_HDR_LEN);
	assert_int_equal(bw_parse(frame + WIRE_HDR_LEN, n - WIRE_HDR_LEN, &f),
	    0);
	assert_int_equal(f.op, BW_OP_MSG);
	assert_true(f.has_sid);
	assert_int_equal(f.sid, 300);
	assert_int_equal(f.body_len, sizeof(body));
	assert_memory_equal(f.body, body, sizeof(body));
	assert_true(f.has_ts);		/* for the latency split */
	assert_true(f.ts_us == 1700000000000000ULL);
	/* Cut anywhere: never read past the end, never accepted. */
	for (size_t cut = 1; cut < n - WIRE_HDR_LEN; cut++)
		assert_int_equal(bw_parse(frame + WIRE_HDR_LEN, cut, &f), -1);

	msgpack_sbuffer_init(&sb);
	assert_int_equal(wire_enc_lag(&sb, 9, 1234, "1-1", "1-9"), 0);
	assert_int_equal(bw_parse((unsigned char *)sb.data + WIRE_HDR_LEN,
	    sb.size - WIRE_HDR_LEN, &f), 0);
	assert_int_equal(f.op, BW_OP_LAG);
	assert_int_equal(f.sid, 9);
	assert_int_equal(f.dropped, 1234);
	sb.size = 0;
	assert_int_equal(wire_enc_err(&sb, true, 77, WIRE_BACKPRESSURE, "x"),
	    0);
	assert_int_equal(bw_parse((unsigned char *)sb.data + WIRE_HDR_LEN,
	    sb.size - WIRE_HDR_LEN, &f), 0);
	assert_int_equal(f.op, BW_OP_ERR);
	assert_true(f.has_id);
	assert_int_equal(f.id, 77);
	assert_int_equal(f.code_len, strlen("backpressure"));
	assert_memory_equal(f.code, "backpressure", f.code_len);

	/* Any key order; unknown keys of every shape are skipped. */
	sb.size = 0;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "y", 1);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_float(&pk, 1.5f);
	msgpack_pack_nil(&pk);
	msgpack_pack_ext_with_body(&pk, "abc", 3, 5);
	msgpack_pack_str_with_body(&pk, "body", 4);
	msgpack_pack_str_with_body(&pk, "text", 4);
	msgpack_pack_str_with_body(&pk, "sid", 3);
	msgpack_pack_uint64(&pk, UINT64_C(1) << 40);
	msgpack_pack_str_with_body(&pk, "ts", 2);
	msgpack_pack_int64(&pk, -5);
	msgpack_pack_str_with_body(&pk, "id", 2);
	msgpack_pack_int8(&pk, -1);	/* not a uint: ignored */
	msgpack_pack_str_with_body(&pk, "op", 2);
	msgpack_pack_str_with_body(&pk, "msg", 3);
	assert_int_equal(bw_parse((unsigned char *)sb.data, sb.size, &f), 0);
	assert_int_equal(f.op, BW_OP_MSG);
	assert_int_equal(f.sid, UINT64_C(1) << 40);
	assert_false(f.has_id);
	assert_int_equal(f.body_len, 4);
	/* Trailing bytes, a non-map, a huge count: refused. */
	msgpack_pack_nil(&pk);
	assert_int_equal(bw_parse((unsigned char *)sb.data, sb.size, &f), -1);
	assert_int_equal(bw_parse((const unsigned char *)"\x93\x01\x02\x03",
	    4, &f), -1);
	assert_int_equal(bw_parse((const unsigned char *)
	    "\xdf\xff\xff\xff\xff", 5, &f), -1);
	msgpack_sbuffer_destroy(&sb);
}

static void
test_bench_json_pub_template_is_a_valid_pub(void **state)
{
	struct wire_decoder	 dec;
	struct wire_req		 req;
	struct bw_tmpl		 t;
	msgpack_object		 root;
	const char		*why;

	(void)state;
	assert_int_equal(bw_pub_tmpl(&t, "external", "internal", 64, true), 0);
	assert_int_equal(wire_frame_len(t.buf), t.len - WIRE_HDR_LEN);
	bw_put_id(t.buf + t.id_off, 4242);
	memset(t.buf + t.body_off, 0x5a, 8);
	/* The router's own decoder accepts it as the pub we meant. */
	assert_int_equal(wire_decoder_init(&dec), 0);
	assert_int_equal(wire_decode(&dec, (const char *)t.buf + WIRE_HDR_LEN,
	    t.len - WIRE_HDR_LEN, &root, &why), 0);
	memset(&req, 0, sizeof(req));
	assert_int_equal(wire_parse_req(&root, &req, &why), WIRE_OK);
	assert_int_equal(req.op, WIRE_OP_PUB);
	assert_true(req.has_id);
	assert_int_equal(req.id, 4242);
	assert_int_equal(req.body.len, 64);
	assert_false(req.body_is_str);
	assert_ptr_equal(req.body.ptr, (const char *)t.buf + t.body_off);
	assert_int_equal(req.from.len, 8);
	assert_memory_equal(req.from.ptr, "internal", 8);
	wire_decoder_free(&dec);
	bw_tmpl_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bench_json_has_every_key),
		cmocka_unit_test(test_bench_json_peer_has_the_same_shape),
		cmocka_unit_test(
		    test_bench_json_rates_cover_the_window_after_warmup),
		cmocka_unit_test(
		    test_bench_json_reports_ack_latency_and_the_log_redis),
		cmocka_unit_test(test_bench_json_ackq_times_acks_in_order),
		cmocka_unit_test(test_bench_json_ackq_grows_to_its_bound),
		cmocka_unit_test(test_bench_json_ackq_ids_wrap_as_on_the_wire),
		cmocka_unit_test(test_bench_json_reader_rejects_bad_text),
		cmocka_unit_test(test_bench_json_counts_order_faults_as_errors),
		cmocka_unit_test(
		    test_bench_json_lag_explains_gaps_in_drop_mode),
		cmocka_unit_test(
		    test_bench_json_frame_reader_reads_router_frames),
		cmocka_unit_test(test_bench_json_pub_template_is_a_valid_pub),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
