/*
 * callosumd --http (issue 19) against the real router: /metrics is clean
 * under promtool and counts exactly what was published, /stats.json is
 * the stats op's map and the same figures as /metrics, /healthz says ok,
 * degraded (the event log away from Redis, an open breaker) and draining
 * (503), a scraper that never reads does not hold up routing, and what is
 * not a GET of a known path is refused.
 *
 * Each router listens on a loopback port the kernel picked for a socket
 * of ours a moment before (bound, read, closed); the port is probed again
 * just before the start, and another one picked when something took it
 * meanwhile. HTTP goes through tests/support/http_get (HTTP/1.0, every
 * read under a deadline).
 *
 * What a test allocates (responses, parsed JSON, scraper sockets) is
 * registered and freed by the teardown, also when the test failed half-way.
 */
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "tests/support/http_get.h"
#include "tests/support/redis_proc.h"

#define T		HARNESS_TIMEOUT_MS
#define HTTP_MS		10000	/* a whole request (ASan, two cores) */
#define PORT_TRIES	8
#define PROMTOOL	"/usr/bin/promtool"
#define PROMTOOL_MS	30000
#define N		37	/* the counted publishes */
#define REDIS_MS	300	/* the router's redis_timeout_ms */
#define DIRECT_MS	10000	/* a router with Redis up to direct */
#define DEGRADED_MS	15000	/* Redis killed to /healthz degraded */
#define SYNC_MS		30000	/* Redis back to /healthz ok */

#define CT_PROM		"text/plain; version=0.0.4; charset=utf-8"
#define CT_JSON		"application/json"
#define HEALTH_OK	"{\"status\": \"ok\"}\n"
#define HEALTH_DRAINING	"{\"status\": \"draining\"}\n"

/*
 * What the teardown frees.
 */

enum gc_kind { GC_MEM, GC_RESP, GC_FD };

struct gc_entry {
	enum gc_kind	 kind;
	void		*p;
	int		 fd;
};

static struct gc_entry	*gc_v;
static size_t		 gc_n, gc_cap;

static void
gc_push(enum gc_kind kind, void *p, int fd)
{
	struct gc_entry	*v;

	if (gc_n == gc_cap) {
		gc_cap = gc_cap == 0 ? 64 : gc_cap * 2;
		if ((v = realloc(gc_v, gc_cap * sizeof(*v))) == NULL)
			HFAIL("realloc: %s", strerror(errno));
		gc_v = v;
	}
	gc_v[gc_n].kind = kind;
	gc_v[gc_n].p = p;
	gc_v[gc_n].fd = fd;
	gc_n++;
}

/* calloc whose memory the teardown frees. */
static void *
gc_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size)) == NULL)
		HFAIL("calloc: %s", strerror(errno));
	gc_push(GC_MEM, p, -1);
	return (p);
}

static char *
gc_strndup(const char *s, size_t len)
{
	char	*p = gc_calloc(len + 1, 1);

	memcpy(p, s, len);
	return (p);
}

/* Closes fd now, and makes sure the teardown does not close it again. */
static void
gc_close(int fd)
{
	size_t	i;

	for (i = 0; i < gc_n; i++) {
		if (gc_v[i].kind == GC_FD && gc_v[i].fd == fd)
			gc_v[i].fd = -1;
	}
	close(fd);
}

static int
http_teardown(void **state)
{
	size_t	i;

	for (i = 0; i < gc_n; i++) {
		switch (gc_v[i].kind) {
		case GC_MEM:
			free(gc_v[i].p);
			break;
		case GC_RESP:
			http_resp_free(gc_v[i].p);
			free(gc_v[i].p);
			break;
		case GC_FD:
			if (gc_v[i].fd != -1)
				close(gc_v[i].fd);
			break;
		}
	}
	free(gc_v);
	gc_v = NULL;
	gc_n = gc_cap = 0;
	return (redis_teardown(state));
}

#define HTTP_TEST(name)							\
	cmocka_unit_test_setup_teardown(name, harness_setup, http_teardown)

/*
 * Routers with --http.
 */

/*
 * Starts h's router with config, args and --http 127.0.0.1:PORT on a free
 * port; returns the port. A port is probed right before the start: the
 * harness cannot retry a router that exited, so a port taken since the
 * kernel picked it is replaced here.
 */
static uint16_t
router_start_http(struct harness *h, const char *config,
    const char *const *args)
{
	const char	*argv[32];
	char		 addr[32];
	uint16_t	 port = 0;
	int		 i, n = 0;

	for (i = 0; i < PORT_TRIES && port == 0; i++) {
		if ((port = http_free_port()) != 0 && !http_port_free(port))
			port = 0;
	}
	if (port == 0)
		HFAIL("no free loopback port after %d tries", PORT_TRIES);
	while (args != NULL && *args != NULL && n < 28)
		argv[n++] = *args++;
	snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
	argv[n++] = "--http";
	argv[n++] = addr;
	argv[n] = NULL;
	harness_router_start(h, config, argv);
	return (port);
}

/* A new harness and its router with --http; *portp is its port. */
static struct harness *
start_http(const char *config, uint16_t *portp)
{
	struct harness	*h = harness_new();

	*portp = router_start_http(h, config, NULL);
	return (h);
}

/*
 * HTTP.
 */

/* Any method; fails the test when the request does not complete. */
static struct http_resp *
request(uint16_t port, const char *method, const char *path)
{
	struct http_resp	*r;
	char			 cause[HTTP_GET_CAUSE_MAX];

	if ((r = calloc(1, sizeof(*r))) == NULL)
		HFAIL("calloc: %s", strerror(errno));
	if (http_request(port, method, path, HTTP_MS, r, cause) == -1) {
		free(r);
		HFAIL("%s %s on port %u: %s", method, path, port, cause);
	}
	gc_push(GC_RESP, r, -1);
	return (r);
}

/* A GET answered with want; the body is NUL-terminated. */
static struct http_resp *
get_status(uint16_t port, const char *path, int want)
{
	struct http_resp	*r = request(port, "GET", path);

	if (r->status != want)
		HFAIL("GET %s: status %d, want %d\n%s\n\n%.2000s", path,
		    r->status, want, r->head, r->body);
	return (r);
}

static struct http_resp *
get_ok(uint16_t port, const char *path)
{
	return (get_status(port, path, 200));
}

static void
assert_header(const struct http_resp *r, const char *name, const char *want)
{
	char	buf[256];

	if (!http_resp_header(r, name, buf, sizeof buf))
		HFAIL("no %s header in:\n%s", name, r->head);
	if (strcmp(buf, want) != 0)
		HFAIL("%s is \"%s\", want \"%s\"", name, buf, want);
}

/*
 * /metrics as lines. A sample line is "series value"; used marks the
 * samples a comparison has accounted for.
 */

struct page {
	char	**line;
	bool	 *used;
	size_t	  n;
};

static struct page *
page_parse(const char *text)
{
	struct page	*pg = gc_calloc(1, sizeof(*pg));
	const char	*p, *nl;
	size_t		 cap = 0;

	for (p = text; *p != '\0'; p = *nl == '\0' ? nl : nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (nl == p)
			continue;
		if (pg->n == cap) {
			char	**nv;

			cap = cap == 0 ? 1024 : cap * 2;
			/* registered once, at the end */
			if ((nv = realloc(pg->line, cap * sizeof(*nv))) ==
			    NULL)
				HFAIL("realloc: %s", strerror(errno));
			pg->line = nv;
		}
		pg->line[pg->n++] = gc_strndup(p, (size_t)(nl - p));
	}
	gc_push(GC_MEM, pg->line, -1);
	pg->used = gc_calloc(pg->n, sizeof(bool));
	return (pg);
}

static struct page *
metrics_page(uint16_t port)
{
	return (page_parse(get_ok(port, "/metrics")->body));
}

static bool
is_sample(const char *line)
{
	return (line[0] != '#');
}

/* The value of a sample line (after the last space). */
static double
line_value(const char *line)
{
	const char	*sp = strrchr(line, ' ');
	char		*end;
	double		 v;

	if (sp == NULL)
		HFAIL("no value in \"%s\"", line);
	v = strtod(sp + 1, &end);
	if (*end != '\0' || end == sp + 1)
		HFAIL("bad value in \"%s\"", line);
	return (v);
}

/*
 * The sample "series value" (series: name, or name{labels}); false when
 * absent, fails when there are two. Marks it used when mark.
 */
static bool
page_sample(struct page *pg, const char *series, double *out, bool mark)
{
	size_t	i, len = strlen(series), at = SIZE_MAX;

	for (i = 0; i < pg->n; i++) {
		if (strncmp(pg->line[i], series, len) == 0 &&
		    pg->line[i][len] == ' ') {
			if (at != SIZE_MAX)
				HFAIL("%s is in /metrics twice", series);
			at = i;
		}
	}
	if (at == SIZE_MAX)
		return (false);
	*out = line_value(pg->line[at]);
	if (mark) {
		if (pg->used[at])
			HFAIL("%s is accounted for twice", series);
		pg->used[at] = true;
	}
	return (true);
}

/* The sample's value; fails when absent. */
static double
sample(struct page *pg, const char *series)
{
	double	v;

	if (!page_sample(pg, series, &v, false))
		HFAIL("no sample %s in /metrics", series);
	return (v);
}

/* The sample's value, 0 when absent (a tract not created yet). */
static double
sample_or_0(struct page *pg, const char *series)
{
	double	v;

	return (page_sample(pg, series, &v, false) ? v : 0);
}

/* "# TYPE name X": X, or NULL. */
static const char *
page_type(struct page *pg, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < pg->n; i++) {
		if (strncmp(pg->line[i], "# TYPE ", 7) == 0 &&
		    strncmp(pg->line[i] + 7, name, len) == 0 &&
		    pg->line[i][7 + len] == ' ')
			return (pg->line[i] + 8 + len);
	}
	return (NULL);
}

/* Appends a label value escaped as prom does: \, " and newline. */
static void
put_label(char *buf, size_t size, const char *v)
{
	size_t	n = strlen(buf);

	for (; *v != '\0' && n + 3 < size; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n')
			buf[n++] = '\\';
		buf[n++] = *v == '\n' ? 'n' : *v;
	}
	buf[n] = '\0';
}

/* name{l1="v1",...} of n labels (name alone when n is 0). */
static const char *
series_of(char *buf, size_t size, const char *name, const char *const *names,
    const char *const *vals, size_t n)
{
	size_t	i;

	snprintf(buf, size, "%s", name);
	for (i = 0; i < n; i++) {
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s=\"",
		    i == 0 ? "{" : ",", names[i]);
		put_label(buf, size, vals[i]);
		snprintf(buf + strlen(buf), size - strlen(buf), "\"");
	}
	if (n > 0)
		snprintf(buf + strlen(buf), size - strlen(buf), "}");
	return (buf);
}

#define LABELS_MAX	4

/*
 * The label names of name's samples, read from its first sample line.
 * Returns how many (0 when it has no labelled sample).
 */
static size_t
page_label_names(struct page *pg, const char *name, char names[][64])
{
	size_t		 i, n = 0, len = strlen(name), k;
	const char	*p;

	for (i = 0; i < pg->n; i++) {
		if (strncmp(pg->line[i], name, len) == 0 &&
		    pg->line[i][len] == '{')
			break;
	}
	if (i == pg->n)
		return (0);
	for (p = pg->line[i] + len + 1; *p != '}' && *p != '\0';) {
		if (n == LABELS_MAX)
			HFAIL("too many labels: %s", pg->line[i]);
		for (k = 0; *p != '=' && *p != '\0' && k < 63; p++)
			names[n][k++] = *p;
		names[n++][k] = '\0';
		if (*p++ != '=' || *p++ != '"')
			HFAIL("bad labels: %s", pg->line[i]);
		while (*p != '"' && *p != '\0')
			p += *p == '\\' ? 2 : 1;
		if (*p == '"')
			p++;
		if (*p == ',')
			p++;
	}
	return (n);
}

/*
 * JSON: harness_json_valid says it is well formed; this reads it into a
 * tree (strings unescaped; \u escapes above ASCII become '?'; numbers
 * keep their text).
 */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype	 t;
	bool		 b;
	char		*s;	/* J_STR: its text; J_NUM: its digits */
	size_t		 len;
	char		**keys;	/* J_OBJ */
	struct jv	*kids;	/* J_ARR, J_OBJ */
	size_t		 n;
};

struct jp {
	const char	*p;
	const char	*end;
};

static void	j_value(struct jp *, struct jv *);

static void
j_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' ||
	    *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static char *
j_string(struct jp *j, size_t *lenp)
{
	const char	*start;
	char		*s;
	size_t		 n = 0;
	unsigned	 u;

	j->p++;			/* the quote */
	start = j->p;
	while (j->p < j->end && *j->p != '"')
		j->p += *j->p == '\\' ? 2 : 1;
	s = gc_calloc((size_t)(j->p - start) + 1, 1);
	for (j->p = start; *j->p != '"'; j->p++) {
		if (*j->p != '\\') {
			s[n++] = *j->p;
			continue;
		}
		switch (*++j->p) {
		case 'b': s[n++] = '\b'; break;
		case 'f': s[n++] = '\f'; break;
		case 'n': s[n++] = '\n'; break;
		case 'r': s[n++] = '\r'; break;
		case 't': s[n++] = '\t'; break;
		case 'u':
			if (sscanf(j->p + 1, "%4x", &u) != 1)
				HFAIL("bad \\u escape");
			s[n++] = u < 0x80 ? (char)u : '?';
			j->p += 4;
			break;
		default: s[n++] = *j->p; break;
		}
	}
	j->p++;
	*lenp = n;
	return (s);
}

/* Appends a kid to v (an array or object); returns it. */
static struct jv *
j_kid(struct jv *v, size_t *cap)
{
	struct jv	*nk;
	char		**nkeys;

	if (v->n == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		nk = gc_calloc(*cap, sizeof(*nk));
		nkeys = gc_calloc(*cap, sizeof(*nkeys));
		if (v->n > 0) {
			memcpy(nk, v->kids, v->n * sizeof(*nk));
			if (v->keys != NULL)
				memcpy(nkeys, v->keys, v->n * sizeof(*nkeys));
		}
		v->kids = nk;
		v->keys = nkeys;
	}
	return (&v->kids[v->n++]);
}

static void
j_value(struct jp *j, struct jv *v)
{
	const char	*start;
	struct jv	*kid;
	size_t		 cap = 0, klen;
	char		*key;

	memset(v, 0, sizeof(*v));
	j_ws(j);
	switch (*j->p) {
	case '{':
	case '[':
		v->t = *j->p == '{' ? J_OBJ : J_ARR;
		j->p++;
		j_ws(j);
		while (*j->p != '}' && *j->p != ']') {
			key = NULL;
			if (v->t == J_OBJ) {
				key = j_string(j, &klen);
				j_ws(j);
				j->p++;		/* : */
			}
			kid = j_kid(v, &cap);
			v->keys[v->n - 1] = key;
			j_value(j, kid);
			j_ws(j);
			if (*j->p == ',') {
				j->p++;
				j_ws(j);
			}
		}
		j->p++;
		return;
	case '"':
		v->t = J_STR;
		v->s = j_string(j, &v->len);
		return;
	case 't':
	case 'f':
		v->t = J_BOOL;
		v->b = *j->p == 't';
		j->p += v->b ? 4 : 5;
		return;
	case 'n':
		v->t = J_NULL;
		j->p += 4;
		return;
	default:
		v->t = J_NUM;
		start = j->p;
		while (j->p < j->end && strchr("+-.eE0123456789", *j->p))
			j->p++;
		v->s = gc_strndup(start, (size_t)(j->p - start));
		v->len = (size_t)(j->p - start);
		return;
	}
}

/* Checks text is one JSON value and reads it. */
static struct jv *
json_parse(const char *text, size_t len)
{
	struct jv	*v = gc_calloc(1, sizeof(*v));
	struct jp	 j = { text, text + len };

	if (!harness_json_valid(text, len))
		HFAIL("not valid JSON: %.2000s", text);
	j_value(&j, v);
	return (v);
}

static const struct jv *
jget(const struct jv *o, const char *key)
{
	size_t	i;

	if (o == NULL || o->t != J_OBJ)
		return (NULL);
	for (i = 0; i < o->n; i++) {
		if (strcmp(o->keys[i], key) == 0)
			return (&o->kids[i]);
	}
	return (NULL);
}

static double
jnum(const struct jv *v, const char *what)
{
	if (v == NULL || v->t != J_NUM)
		HFAIL("%s is not a JSON number", what);
	return (strtod(v->s, NULL));
}

/*
 * Traffic.
 */

/* n pubs (bodies prefix-0 ...) in one write, with ids; expects the acks. */
static void
pub_many(struct client *p, const char *from, const char *to,
    const char *prefix, int n, const char *stored)
{
	msgpack_object	f;
	uint64_t	first = 0, id;
	char		body[64];
	int		i;

	for (i = 0; i < n; i++) {
		id = harness_id();
		if (i == 0)
			first = id;
		else if (id != first + (uint64_t)i)
			HFAIL("ids are not consecutive");
		snprintf(body, sizeof body, "%s-%d", prefix, i);
		if (from != NULL)
			harness_pack(client_begin(p),
			    "op:s from:s to:s body:s id:U", "pub", from, to,
			    body, id);
		else
			harness_pack(client_begin(p), "op:s to:s body:s id:U",
			    "pub", to, body, id);
		if (client_end(p) == -1)
			HFAIL("client_end: %s", strerror(errno));
	}
	if (client_flush(p) == -1)
		HFAIL("client_flush: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		harness_expect_ack(p, first + (uint64_t)i, &f);
		if (stored != NULL)
			harness_assert_str(&f, "stored", stored);
	}
}

/* Expects the msgs prefix-0 .. prefix-(n-1) on sid, in order. */
static void
expect_msgs(struct client *s, uint64_t sid, const char *prefix, int n)
{
	msgpack_object	f;
	char		body[64];
	int		i;

	for (i = 0; i < n; i++) {
		snprintf(body, sizeof body, "%s-%d", prefix, i);
		harness_expect_msg(s, sid, body, T, &f);
	}
}

/*
 * Labelled traffic: a subscriber on alpha, pubs into alpha and beta, a
 * cross-tract pub alpha -> beta, a tract name with every allowed kind of
 * character, and two errs (a reserved and a malformed tract).
 */
static void
labelled_traffic(struct harness *h)
{
	struct client	*s, *p;

	s = harness_client(h, "reader");
	harness_sub(s, 1, "alpha", 1000, NULL, 0);
	p = harness_client(h, "writer");
	pub_many(p, NULL, "alpha", "a", 3, "none");
	pub_many(p, NULL, "beta", "b", 2, "none");
	pub_many(p, "alpha", "beta", "x", 1, "memory");
	pub_many(p, NULL, "Odd.name-9_x", "o", 1, "none");
	harness_request_err(p, "reserved_tract", "op:s to:s body:s", "pub",
	    "$sys", "no");
	harness_request_err(p, "bad_tract", "op:s to:s body:s", "pub",
	    "no spaces", "no");
	expect_msgs(s, 1, "a", 3);
}

/*
 * 1. /metrics passes promtool.
 */

static void
promtool_check(struct harness *h, const char *text)
{
	const char		*argv[] = { PROMTOOL, "check", "metrics",
				    NULL };
	struct harness_proc	*p;
	int			 rc;

	if (access(PROMTOOL, X_OK) != 0)
		HFAIL("%s is missing: install the Debian package "
		    "\"prometheus\" (the project's set-up does) to check "
		    "/metrics", PROMTOOL);
	rc = harness_run(h, argv, text, PROMTOOL_MS, &p);
	if (rc != 0)
		HFAIL("promtool check metrics exits %d\nstdout: %s\nstderr: "
		    "%s\n--- /metrics ---\n%s", rc, harness_proc_stdout(p),
		    harness_proc_stderr(p), text);
}

HARNESS_TEST(test_metrics_passes_promtool_after_labelled_traffic)
{
	struct harness		*h;
	struct http_resp	*r;
	struct page		*pg;
	uint16_t		 port;

	(void)state;
	h = start_http(NULL, &port);
	labelled_traffic(h);
	r = get_ok(port, "/metrics");
	assert_header(r, "Content-Type", CT_PROM);
	promtool_check(h, r->body);
	/* The traffic shows, labelled. */
	pg = page_parse(r->body);
	assert_true(sample(pg,
	    "callosum_messages_published_total{tract=\"alpha\"}") == 3);
	assert_true(sample(pg,
	    "callosum_messages_published_total{tract=\"beta\"}") == 3);
	assert_true(sample(pg,
	    "callosum_messages_published_total{tract=\"Odd.name-9_x\"}") ==
	    1);
	assert_true(sample(pg,
	    "callosum_messages_delivered_total{tract=\"alpha\"}") == 3);
	assert_true(sample(pg, "callosum_subscriptions{tract=\"alpha\"}") ==
	    1);
	assert_true(sample(pg, "callosum_cross_tract_messages_total"
	    "{from=\"alpha\",to=\"beta\"}") == 1);
	assert_true(sample(pg, "callosum_cross_tract_total") == 1);
	assert_true(sample(pg,
	    "callosum_errors_total{code=\"reserved_tract\"}") == 1);
	assert_true(sample(pg, "callosum_errors_total{code=\"bad_tract\"}") ==
	    1);
	assert_true(sample(pg, "callosum_acks_total{stored=\"memory\"}") ==
	    1);
	assert_true(sample(pg, "callosum_acks_total{stored=\"none\"}") == 6);
	assert_true(sample(pg, "callosum_breaker_state"
	    "{tract=\"beta\",state=\"closed\"}") == 1);
	assert_true(sample(pg, "callosum_eventlog_state"
	    "{state=\"direct\"}") == 1);
	assert_true(sample(pg, "callosum_publish_latency_seconds_count") ==
	    7);
	assert_true(sample(pg, "callosum_publish_latency_seconds_bucket"
	    "{le=\"+Inf\"}") == 7);
	assert_true(sample(pg, "callosum_connections") == 2);
}

/*
 * 2. Counters grow by exactly what was published.
 */

struct counts {
	double	pub_t;		/* published{tract=T} */
	double	delivered_t;	/* delivered{tract=T} */
	double	pair;		/* cross_tract_messages{S,T} */
	double	cross;		/* cross_tract_total */
	double	memory;		/* acks{stored=memory} */
	double	none;		/* acks{stored=none} */
};

static void
counts_read(uint16_t port, struct counts *c)
{
	struct page	*pg = metrics_page(port);

	c->pub_t = sample_or_0(pg,
	    "callosum_messages_published_total{tract=\"tee\"}");
	c->delivered_t = sample_or_0(pg,
	    "callosum_messages_delivered_total{tract=\"tee\"}");
	c->pair = sample_or_0(pg,
	    "callosum_cross_tract_messages_total{from=\"ess\",to=\"tee\"}");
	c->cross = sample(pg, "callosum_cross_tract_total");
	c->memory = sample(pg, "callosum_acks_total{stored=\"memory\"}");
	c->none = sample(pg, "callosum_acks_total{stored=\"none\"}");
}

static void
assert_grew(const char *what, double before, double after, double by)
{
	if (after - before != by)
		HFAIL("%s went from %.17g to %.17g, want +%.17g", what, before,
		    after, by);
}

HARNESS_TEST(test_counters_grow_by_exactly_what_was_published)
{
	struct harness	*h;
	struct client	*p, *s;
	struct counts	 a, b, c;
	uint16_t	 port;

	(void)state;
	h = start_http(NULL, &port);
	s = harness_client(h, "reader");
	harness_sub(s, 1, "tee", 1000, NULL, 0);
	p = harness_client(h, "writer");
	/* Warm-up: the series exist before the first reading. */
	pub_many(p, NULL, "tee", "w", 1, "none");
	pub_many(p, "ess", "tee", "v", 1, "memory");
	expect_msgs(s, 1, "w", 1);
	expect_msgs(s, 1, "v", 1);
	counts_read(port, &a);
	assert_true(a.pub_t == 2);
	assert_true(a.pair == 1);

	pub_many(p, NULL, "tee", "same", N, "none");
	expect_msgs(s, 1, "same", N);
	counts_read(port, &b);
	assert_grew("published{tee}", a.pub_t, b.pub_t, N);
	assert_grew("delivered{tee}", a.delivered_t, b.delivered_t, N);
	assert_grew("acks{none}", a.none, b.none, N);
	assert_grew("acks{memory}", a.memory, b.memory, 0);
	assert_grew("cross{ess,tee}", a.pair, b.pair, 0);
	assert_grew("cross_tract_total", a.cross, b.cross, 0);

	pub_many(p, "ess", "tee", "cross", N, "memory");
	expect_msgs(s, 1, "cross", N);
	counts_read(port, &c);
	assert_grew("published{tee}", b.pub_t, c.pub_t, N);
	assert_grew("delivered{tee}", b.delivered_t, c.delivered_t, N);
	assert_grew("cross{ess,tee}", b.pair, c.pair, N);
	assert_grew("cross_tract_total", b.cross, c.cross, N);
	assert_grew("acks{memory}", b.memory, c.memory, N);
	assert_grew("acks{none}", b.none, c.none, 0);
}

/*
 * 3. /stats.json is the stats op's map; /stats.json and /metrics show the
 * same figures.
 */

/* Figures that move between two reads with no traffic. */
static bool
volatile_figure(const char *name)
{
	return (strcmp(name, "callosum_uptime_seconds") == 0 ||
	    strcmp(name, "callosum_process_resident_memory_bytes") == 0 ||
	    strcmp(name, "callosum_process_open_fds") == 0);
}

/* Asserts that the msgpack object m and the JSON value j are the same. */
static void
same_value(const msgpack_object *m, const struct jv *j, const char *path)
{
	char		 num[32], sub[512];
	const char	*key;
	uint32_t	 i, k;
	size_t		 klen;

	switch (m->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(num, sizeof num, "%" PRIu64, m->via.u64);
		if (j->t != J_NUM || strcmp(j->s, num) != 0)
			HFAIL("%s: stats op %s, /stats.json %s", path, num,
			    j->t == J_NUM ? j->s : "(not a number)");
		return;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(m->via.f64) ? j->t != J_NULL :
		    j->t != J_NUM || strtod(j->s, NULL) != m->via.f64)
			HFAIL("%s: stats op %.17g, /stats.json %s", path,
			    m->via.f64, j->t == J_NUM ? j->s : "(other)");
		return;
	case MSGPACK_OBJECT_BOOLEAN:
		if (j->t != J_BOOL || j->b != m->via.boolean)
			HFAIL("%s: booleans differ", path);
		return;
	case MSGPACK_OBJECT_NIL:
		/* a figure of a part that is off (no webhook) */
		if (j->t != J_NULL)
			HFAIL("%s: nil in the stats op, not null in JSON",
			    path);
		return;
	case MSGPACK_OBJECT_STR:
		if (j->t != J_STR || j->len != m->via.str.size ||
		    memcmp(j->s, m->via.str.ptr, j->len) != 0)
			HFAIL("%s: stats op \"%.*s\", /stats.json %s", path,
			    (int)m->via.str.size, m->via.str.ptr,
			    j->t == J_STR ? j->s : "(not a string)");
		return;
	case MSGPACK_OBJECT_ARRAY:
		if (j->t != J_ARR || j->n != m->via.array.size)
			HFAIL("%s: arrays differ", path);
		for (i = 0; i < m->via.array.size; i++) {
			snprintf(sub, sizeof sub, "%s[%u]", path, i);
			same_value(&m->via.array.ptr[i], &j->kids[i], sub);
		}
		return;
	case MSGPACK_OBJECT_MAP:
		if (j->t != J_OBJ)
			HFAIL("%s: not an object in /stats.json", path);
		/* Same keys, same order; the top level has op and id more. */
		for (i = 0, k = 0; i < m->via.map.size; i++) {
			const msgpack_object_kv	*kv = &m->via.map.ptr[i];

			if (kv->key.type != MSGPACK_OBJECT_STR)
				HFAIL("%s: a key that is no str", path);
			key = kv->key.via.str.ptr;
			klen = kv->key.via.str.size;
			snprintf(sub, sizeof sub, "%s.%.*s", path, (int)klen,
			    key);
			if (path[0] == '\0' && ((klen == 2 &&
			    memcmp(key, "op", 2) == 0) || (klen == 2 &&
			    memcmp(key, "id", 2) == 0)))
				continue;
			if (k >= j->n || strlen(j->keys[k]) != klen ||
			    memcmp(j->keys[k], key, klen) != 0)
				HFAIL("%s: key %u of /stats.json is %s", sub, k,
				    k < j->n ? j->keys[k] : "(none)");
			if (path[0] == '\0' && volatile_figure(j->keys[k])) {
				k++;
				continue;
			}
			same_value(&kv->val, &j->kids[k], sub);
			k++;
		}
		if (k != j->n)
			HFAIL("%s: /stats.json has %zu keys, the stats op %u",
			    path[0] == '\0' ? "top" : path, j->n, k);
		return;
	default:
		HFAIL("%s: unexpected msgpack type %d", path, (int)m->type);
	}
}

HARNESS_TEST(test_stats_json_is_the_stats_op_map)
{
	struct harness		*h;
	struct http_resp	*r;
	struct client		*st;
	const struct jv		*j, *v;
	msgpack_object		 f;
	uint16_t		 port;

	(void)state;
	h = start_http(NULL, &port);
	labelled_traffic(h);
	st = harness_client(h, "stats");
	harness_stats(st, &f);
	r = get_ok(port, "/stats.json");
	assert_header(r, "Content-Type", CT_JSON);
	j = json_parse(r->body, r->body_len);
	assert_null(jget(j, "op"));
	assert_null(jget(j, "id"));
	same_value(&f, j, "");
	/* Named, so that a reader sees what the walk compared. */
	v = jget(j, "callosum_messages_published_total");
	assert_non_null(v);
	assert_true(jnum(jget(v, "alpha"), "published{alpha}") == 3);
	assert_true(jnum(jget(v, "beta"), "published{beta}") == 3);
	assert_true(jnum(jget(j, "callosum_cross_tract_total"),
	    "cross_tract_total") == 1);
	/* reader, writer, stats and the harness' probe of the socket */
	assert_true(jnum(jget(j, "callosum_connections_accepted_total"),
	    "connections_accepted_total") == 4);
	v = jget(j, "callosum_errors_total");
	assert_non_null(v);
	assert_true(jnum(jget(v, "reserved_tract"), "errors{reserved}") == 1);
	assert_true(jnum(jget(v, "bad_tract"), "errors{bad_tract}") == 1);
	v = jget(j, "callosum_cross_tract_messages_total");
	assert_non_null(v);
	assert_true(jnum(jget(jget(v, "alpha"), "beta"), "cross{a,b}") == 1);
}

/*
 * The walk of one figure of /stats.json against /metrics: labelled
 * figures are nested objects, one level per label; a state is an index
 * or a name, written as one sample per state; an info is a string,
 * written as its last label.
 */
struct walk {
	struct page	*pg;
	const char	*name;
	char		 names[LABELS_MAX][64];
	size_t		 nnames;
	const char	*vals[LABELS_MAX];
};

/*
 * The samples name{labels so far,last=...}: the one whose last label is
 * on (by value when on_name, else the index-th), must be 1 and the
 * others 0.
 */
static void
walk_one_of(struct walk *w, size_t depth, const char *on_name, double index)
{
	const char	*np[LABELS_MAX];
	char		 prefix[1024];
	size_t		 i, len, seen = 0, hits = 0;
	double		 v;
	bool		 on;

	/* name{l1="v1",...,last=" : the series so far, open at the end */
	for (i = 0; i < LABELS_MAX; i++)
		np[i] = w->names[i];
	series_of(prefix, sizeof prefix, w->name, np, w->vals, depth);
	len = strlen(prefix);
	if (depth > 0)
		prefix[--len] = '\0';		/* the closing brace */
	snprintf(prefix + len, sizeof prefix - len, "%s%s=\"",
	    depth == 0 ? "{" : ",", w->names[depth]);
	len = strlen(prefix);
	for (i = 0; i < w->pg->n; i++) {
		if (strncmp(w->pg->line[i], prefix, len) != 0)
			continue;
		if (on_name != NULL)
			on = strncmp(w->pg->line[i] + len, on_name,
			    strlen(on_name)) == 0 && strncmp(w->pg->line[i] +
			    len + strlen(on_name), "\"} ", 3) == 0;
		else
			on = (double)seen == index;
		v = line_value(w->pg->line[i]);
		if (v != (on ? 1 : 0))
			HFAIL("%s: want %d", w->pg->line[i], on ? 1 : 0);
		if (w->pg->used[i])
			HFAIL("%s is accounted for twice", w->pg->line[i]);
		w->pg->used[i] = true;
		hits += on;
		seen++;
	}
	if (hits != 1)
		HFAIL("%s...: %zu samples of %zu are 1, want one", prefix, hits,
		    seen);
}

static void
walk_value(struct walk *w, const struct jv *v, size_t depth)
{
	const char	*np[LABELS_MAX];
	char		 series[1024];
	double		 got;
	size_t		 i;

	if (v->t == J_OBJ && v->n == 0)
		return;		/* no tract, no pair yet: no sample */
	if (v->t == J_NULL)
		return;		/* a part that is off: no sample */
	if (v->t == J_OBJ) {
		if (depth == w->nnames)
			HFAIL("%s: deeper than its %zu labels", w->name,
			    w->nnames);
		for (i = 0; i < v->n; i++) {
			w->vals[depth] = v->keys[i];
			walk_value(w, &v->kids[i], depth + 1);
		}
		return;
	}
	for (i = 0; i < LABELS_MAX; i++)
		np[i] = w->names[i];
	if (v->t == J_NUM && depth == w->nnames) {
		series_of(series, sizeof series, w->name, np, w->vals, depth);
		if (!page_sample(w->pg, series, &got, true))
			HFAIL("%s is in /stats.json (%s), not in /metrics",
			    series, v->s);
		if (got != strtod(v->s, NULL))
			HFAIL("%s: /stats.json %s, /metrics %.17g", series,
			    v->s, got);
	} else if (v->t == J_NUM && depth + 1 == w->nnames &&
	    strcmp(w->names[depth], "state") == 0)
		walk_one_of(w, depth, NULL, strtod(v->s, NULL));
	else if (v->t == J_STR && depth + 1 == w->nnames)
		walk_one_of(w, depth, v->s, 0);
	else
		HFAIL("%s: a value of type %d at depth %zu, %zu labels",
		    w->name, (int)v->t, depth, w->nnames);
}

/* A histogram: count, sum and every bucket. */
static void
walk_histogram(struct walk *w, const struct jv *v)
{
	const struct jv	*b;
	char		 series[1024];
	double		 got;
	size_t		 i;

	if ((b = jget(v, "buckets")) == NULL || b->t != J_OBJ || b->n == 0)
		HFAIL("%s: no buckets in /stats.json", w->name);
	snprintf(series, sizeof series, "%s_count", w->name);
	if (!page_sample(w->pg, series, &got, true) ||
	    got != jnum(jget(v, "count"), series))
		HFAIL("%s differs", series);
	snprintf(series, sizeof series, "%s_sum", w->name);
	if (!page_sample(w->pg, series, &got, true) ||
	    got != jnum(jget(v, "sum"), series))
		HFAIL("%s differs", series);
	for (i = 0; i < b->n; i++) {
		snprintf(series, sizeof series, "%s_bucket{le=\"%s\"}",
		    w->name, b->keys[i]);
		if (!page_sample(w->pg, series, &got, true) ||
		    got != jnum(&b->kids[i], series))
			HFAIL("%s differs", series);
	}
	if (strcmp(b->keys[b->n - 1], "+Inf") != 0)
		HFAIL("%s: the last bucket is %s", w->name,
		    b->keys[b->n - 1]);
}

/* Compares every figure; returns how many samples it accounted for. */
static size_t
renderers_agree(const struct jv *j, struct page *pg)
{
	struct walk	 w;
	const char	*type;
	size_t		 i, n = 0, left = 0;

	for (i = 0; i < j->n; i++) {
		memset(&w, 0, sizeof w);
		w.pg = pg;
		w.name = j->keys[i];
		if (strcmp(w.name, "server") == 0 ||
		    strcmp(w.name, "truncated") == 0 ||
		    strcmp(w.name, "callosum_slow_subscribers") == 0 ||
		    strcmp(w.name, "callosum_top_patterns") == 0 ||
		    strcmp(w.name, "callosum_recent_candidates") == 0 ||
		    volatile_figure(w.name))
			continue;
		if ((type = page_type(pg, w.name)) == NULL)
			HFAIL("%s is in /stats.json, has no # TYPE in "
			    "/metrics", w.name);
		if (strcmp(type, "histogram") == 0) {
			walk_histogram(&w, &j->kids[i]);
			continue;
		}
		w.nnames = page_label_names(pg, w.name, w.names);
		walk_value(&w, &j->kids[i], 0);
	}
	for (i = 0; i < pg->n; i++) {
		if (!is_sample(pg->line[i]))
			continue;
		if (pg->used[i])
			n++;
		else if (strncmp(pg->line[i], "callosum_uptime_seconds ",
		    24) != 0 && strncmp(pg->line[i],
		    "callosum_process_", 17) != 0) {
			print_error("not in /stats.json: %s\n", pg->line[i]);
			left++;
		}
	}
	if (left > 0)
		HFAIL("%zu samples of /metrics are not in /stats.json", left);
	return (n);
}

HARNESS_TEST(test_stats_json_and_metrics_show_the_same_figures)
{
	struct harness	*h;
	struct client	*st, *drop;
	struct page	*pg;
	const struct jv	*j;
	struct http_resp *r;
	msgpack_object	 f;
	uint16_t	 port;
	size_t		 n;

	(void)state;
	h = start_http(NULL, &port);
	labelled_traffic(h);
	/* Messages dropped and pending: more figures move. */
	drop = harness_client(h, "dropper");
	harness_sub(drop, 7, "gamma", 0, "drop", 1);
	pub_many(harness_client(h, "filler"), NULL, "gamma", "g", 3, "none");
	st = harness_client(h, "stats");
	harness_stats(st, &f);
	r = get_ok(port, "/stats.json");
	j = json_parse(r->body, r->body_len);
	pg = metrics_page(port);
	n = renderers_agree(j, pg);
	/*
	 * 178 today: 8 tracts ($sys and $candidates too) of 11 samples,
	 * 15 err codes, two histograms of 22 lines, the rest.
	 */
	if (n < 150)
		HFAIL("only %zu samples compared", n);
	/* And the traffic is there. */
	assert_true(sample(pg,
	    "callosum_messages_published_total{tract=\"alpha\"}") == 3);
	assert_true(jnum(jget(jget(j, "callosum_messages_published_total"),
	    "alpha"), "published{alpha}") == 3);
	assert_true(sample(pg,
	    "callosum_messages_dropped_total{tract=\"gamma\"}") == 2);
	assert_true(sample(pg, "callosum_pending{tract=\"gamma\"}") == 1);
}

/*
 * 4. /healthz.
 */

static void
assert_health(const struct http_resp *r, int status, const char *body)
{
	if (r->status != status || strcmp(r->body, body) != 0)
		HFAIL("/healthz: %d %s, want %d %s", r->status, r->body,
		    status, body);
	assert_header(r, "Content-Type", CT_JSON);
	if (!harness_json_valid(r->body, r->body_len))
		HFAIL("/healthz is not JSON: %s", r->body);
}

HARNESS_TEST(test_healthz_is_ok_normally)
{
	uint16_t	port;

	(void)state;
	start_http(NULL, &port);
	assert_health(request(port, "GET", "/healthz"), 200, HEALTH_OK);
}

struct health_wait {
	uint16_t		 port;
	struct client		*p;	/* NULL: no pub per try */
	const char		*want;	/* "ok", "degraded" */
	struct http_resp	*last;
	int			 tries;
};

/*
 * One look at /healthz: true when its status is w->want. Otherwise a
 * cross-tract pub (when w->p) gives the event log something to write.
 */
static bool
health_is(void *arg)
{
	struct health_wait	*w = arg;
	const struct jv		*s;
	char			 body[32];

	w->tries++;
	w->last = request(w->port, "GET", "/healthz");
	if (w->last->status == 200) {
		s = jget(json_parse(w->last->body, w->last->body_len),
		    "status");
		if (s != NULL && s->t == J_STR && strcmp(s->s, w->want) == 0)
			return (true);
	}
	if (w->p != NULL) {
		snprintf(body, sizeof body, "poke-%d", w->tries);
		harness_pub(w->p, "here", "there", body, NULL);
	}
	return (false);
}

static void
wait_health(struct health_wait *w, const char *want, int timeout_ms)
{
	w->want = want;
	w->tries = 0;
	if (!harness_poll(health_is, w, timeout_ms))
		HFAIL("/healthz is not %s after %d ms: %d %s", want,
		    timeout_ms, w->last->status, w->last->body);
}

/* The reasons of a degraded /healthz; fails on another shape. */
static const struct jv *
health_reasons(const struct http_resp *r)
{
	const struct jv	*j = json_parse(r->body, r->body_len), *v;
	size_t		 i;

	assert_int_equal(r->status, 200);
	assert_header(r, "Content-Type", CT_JSON);
	assert_int_equal(j->n, 2);
	if ((v = jget(j, "status")) == NULL || v->t != J_STR ||
	    strcmp(v->s, "degraded") != 0)
		HFAIL("not degraded: %s", r->body);
	if ((v = jget(j, "reasons")) == NULL || v->t != J_ARR || v->n == 0)
		HFAIL("no reasons: %s", r->body);
	for (i = 0; i < v->n; i++) {
		if (v->kids[i].t != J_STR)
			HFAIL("a reason is not a string: %s", r->body);
	}
	return (v);
}

HARNESS_TEST(test_healthz_names_the_eventlog_while_redis_is_down)
{
	struct harness		*h = harness_new();
	struct redis_proc	*rp = redis_proc_spawn(h, 0);
	const char		*args[] = { "--redis", redis_proc_url(rp),
				    NULL };
	struct health_wait	 w;
	const struct jv		*why;
	struct page		*pg;
	char			 conf[64];

	(void)state;
	snprintf(conf, sizeof conf, "redis_timeout_ms = %d\n", REDIS_MS);
	memset(&w, 0, sizeof w);
	w.port = router_start_http(h, conf, args);
	wait_health(&w, "ok", DIRECT_MS);
	assert_health(w.last, 200, HEALTH_OK);
	w.p = harness_client(h, "poker");

	redis_proc_kill9(rp);
	wait_health(&w, "degraded", DEGRADED_MS);
	why = health_reasons(w.last);
	assert_int_equal(why->n, 1);
	if (strncmp(why->kids[0].s, "eventlog ", 9) != 0)
		HFAIL("the reason does not name the event log: %s",
		    w.last->body);
	/* /metrics says the same: not direct. */
	pg = metrics_page(w.port);
	assert_true(sample(pg, "callosum_eventlog_state"
	    "{state=\"direct\"}") == 0);

	redis_proc_start(rp);
	wait_health(&w, "ok", SYNC_MS);
	assert_health(w.last, 200, HEALTH_OK);
}

#define STUCK		"stuck"
#define THRESHOLD	3

HARNESS_TEST(test_healthz_names_an_open_breaker)
{
	struct harness	*h;
	struct client	*stuck, *p;
	struct page	*pg;
	msgpack_object	 f;
	uint64_t	 id;
	uint16_t	 port;
	char		 conf[256];
	int		 i;

	(void)state;
	/*
	 * A stuck tract (test_breakers.c): one block subscriber with
	 * max_pending 1 and no credit; the first pub fills it, every later
	 * one times out: THRESHOLD of them open the breaker.
	 */
	snprintf(conf, sizeof conf, "breaker_failure_threshold = %d\n"
	    "breaker_reset_timeout_ms = 600000\n"
	    "publish_timeout_ms = 100\n", THRESHOLD);
	h = start_http(conf, &port);
	stuck = harness_client(h, "stuck");
	harness_sub(stuck, 1, STUCK, 0, "block", 1);
	p = harness_client(h, "pusher");
	harness_pub(p, NULL, STUCK, "fill", NULL);
	assert_health(request(port, "GET", "/healthz"), 200, HEALTH_OK);
	for (i = 0; i < THRESHOLD; i++) {
		id = harness_request(p, "op:s to:s body:s", "pub", STUCK,
		    "parked");
		harness_expect_err(p, "backpressure", true, id, &f);
	}
	harness_request_err(p, "circuit_open", "op:s to:s body:s", "pub",
	    STUCK, "refused");
	assert_health(request(port, "GET", "/healthz"), 200,
	    "{\"status\": \"degraded\", \"reasons\": "
	    "[\"breaker open: " STUCK "\"]}\n");
	pg = metrics_page(port);
	assert_true(sample(pg, "callosum_breaker_state"
	    "{tract=\"" STUCK "\",state=\"open\"}") == 1);
}

static char *
numbered_body(char *buf, size_t len, int i)
{
	char	head[8];

	memset(buf, 'z', len);
	snprintf(head, sizeof head, "m%05d", i);
	memcpy(buf, head, 6);
	buf[len] = '\0';
	return (buf);
}

struct status_wait {
	uint16_t		 port;
	const char		*path;
	int			 want;
	struct http_resp	*last;
};

static bool
status_is(void *arg)
{
	struct status_wait	*sw = arg;

	sw->last = request(sw->port, "GET", sw->path);
	return (sw->last->status == sw->want);
}

HARNESS_TEST(test_healthz_is_503_draining_during_the_drain)
{
	struct harness		*h;
	struct client		*slow, *p;
	struct status_wait	 sw;
	msgpack_object		 f;
	char			*body;
	const size_t		 blen = 4096;
	const int		 nmsgs = 256;	/* 1 MiB, beyond buffers */
	uint64_t		 first = 0, id;
	int			 i, status;

	(void)state;
	/*
	 * A subscriber granted everything that never reads, with 1 MiB
	 * queued for it: the drain waits for it (test_robust.c), up to
	 * drain_timeout_ms, far beyond this test.
	 */
	memset(&sw, 0, sizeof sw);
	h = start_http("drain_timeout_ms = 60000\n", &sw.port);
	body = gc_calloc(blen + 1, 1);
	slow = harness_client(h, "backlogged");
	harness_sub(slow, 1, "pile", UINT64_MAX >> 1, "drop", 0);
	p = harness_client(h, "piler");
	for (i = 0; i < nmsgs; i++) {
		id = harness_request(p, "op:s to:s body:s", "pub", "pile",
		    numbered_body(body, blen, i));
		if (i == 0)
			first = id;
	}
	for (i = 0; i < nmsgs; i++)
		harness_expect_ack(p, first + (uint64_t)i, &f);
	(void)slow;
	assert_health(request(sw.port, "GET", "/healthz"), 200, HEALTH_OK);

	assert_int_equal(kill(harness_router_pid(h), SIGTERM), 0);
	sw.path = "/healthz";
	sw.want = 503;
	if (!harness_poll(status_is, &sw, T))
		HFAIL("/healthz is %d %s %d ms after SIGTERM, want 503",
		    sw.last->status, sw.last->body, T);
	assert_health(sw.last, 503, HEALTH_DRAINING);
	/* Still draining: the other pages are served meanwhile. */
	harness_expect(p, "bye", T, &f);
	assert_health(request(sw.port, "GET", "/healthz"), 503,
	    HEALTH_DRAINING);
	assert_true(sample(metrics_page(sw.port),
	    "callosum_messages_published_total{tract=\"pile\"}") == nmsgs);
	/* A second signal ends the drain at once. */
	status = harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		HFAIL("callosumd after the drain: status %d", status);
}

/*
 * 5. A scraper that never reads does not hold up routing.
 */

#define SCRAPERS	20
#define SCRAPER_RCVBUF	4096
#define PAD_TRACTS	500	/* makes /metrics a few hundred KiB */
#define FLOW		20000
#define FLOW_BATCH	500
#define FLOW_MS		180000	/* liveness only: ASan, two cores */

struct pending_wait {
	int	fd;
	int	avail;
};

static bool
some_bytes_arrived(void *arg)
{
	struct pending_wait	*pw = arg;

	if (ioctl(pw->fd, FIONREAD, &pw->avail) == -1)
		HFAIL("FIONREAD: %s", strerror(errno));
	return (pw->avail > 0);
}

HARNESS_TEST(test_a_scraper_never_reading_does_not_slow_routing)
{
	struct harness		*h;
	struct client		*p, *s, *pad;
	struct http_resp	*r;
	struct pending_wait	 pw;
	char			 cause[HTTP_GET_CAUSE_MAX], prefix[32];
	char			 tract[32];
	int			 fds[SCRAPERS], i;
	int64_t			 t0;
	uint16_t		 port;
	size_t			 page_len;

	(void)state;
	h = start_http(NULL, &port);
	pad = harness_client(h, "padder");
	for (i = 0; i < PAD_TRACTS; i++) {
		snprintf(tract, sizeof tract, "pad-%03d", i);
		harness_pack(client_begin(pad), "op:s to:s body:s", "pub",
		    tract, "x");
		if (client_end(pad) == -1)
			HFAIL("client_end: %s", strerror(errno));
	}
	if (client_flush(pad) == -1)
		HFAIL("client_flush: %s", strerror(errno));
	harness_ping(pad, T);
	r = get_ok(port, "/metrics");
	page_len = r->body_len;
	if (page_len < 256 * 1024)
		HFAIL("/metrics is only %zu bytes with %d tracts", page_len,
		    PAD_TRACTS);

	for (i = 0; i < SCRAPERS; i++) {
		if ((fds[i] = http_open_request(port, "/metrics",
		    SCRAPER_RCVBUF, HTTP_MS, cause)) == -1)
			HFAIL("scraper %d: %s", i, cause);
		gc_push(GC_FD, NULL, fds[i]);
	}
	/* Each was answered, and holds a little of the page, not all. */
	for (i = 0; i < SCRAPERS; i++) {
		pw.fd = fds[i];
		pw.avail = 0;
		if (!harness_poll(some_bytes_arrived, &pw, HTTP_MS))
			HFAIL("scraper %d got nothing in %d ms", i, HTTP_MS);
		if ((size_t)pw.avail >= page_len)
			HFAIL("scraper %d holds %d bytes: the whole page",
			    i, pw.avail);
	}

	t0 = harness_now_ms();
	s = harness_client(h, "sink");
	harness_sub(s, 1, "flow", FLOW, NULL, 0);
	p = harness_client(h, "source");
	for (i = 0; i < FLOW / FLOW_BATCH; i++) {
		snprintf(prefix, sizeof prefix, "f%d", i);
		pub_many(p, NULL, "flow", prefix, FLOW_BATCH, "none");
		expect_msgs(s, 1, prefix, FLOW_BATCH);
		if (harness_now_ms() - t0 > FLOW_MS)
			HFAIL("%d of %d messages after %d ms",
			    (i + 1) * FLOW_BATCH, FLOW, FLOW_MS);
	}
	harness_ping(p, T);
	harness_ping(s, T);

	for (i = 0; i < SCRAPERS; i++)
		gc_close(fds[i]);
	assert_health(request(port, "GET", "/healthz"), 200, HEALTH_OK);
	assert_true(sample(metrics_page(port),
	    "callosum_messages_delivered_total{tract=\"flow\"}") == FLOW);
}

/*
 * 6. Methods and paths.
 */

HARNESS_TEST(test_unknown_path_is_404)
{
	uint16_t	port;

	(void)state;
	start_http(NULL, &port);
	get_status(port, "/nope", 404);
	get_status(port, "/metrics/more", 404);
	get_status(port, "/metricsx", 404);
	get_status(port, "/healthz.json", 404);
	/* A query does not change the path. */
	assert_health(get_ok(port, "/healthz?verbose=1"), 200, HEALTH_OK);
}

HARNESS_TEST(test_post_is_refused_with_405)
{
	struct http_resp	*r;
	uint16_t		 port;
	char			 allow[64];

	(void)state;
	start_http(NULL, &port);
	r = request(port, "POST", "/metrics");
	if (r->status != 405)
		HFAIL("POST /metrics: %d, want 405 Method Not Allowed\n%s",
		    r->status, r->head);
	/* RFC 9110 15.5.6: a 405 says which methods are allowed. */
	if (!http_resp_header(r, "Allow", allow, sizeof allow) ||
	    strstr(allow, "GET") == NULL || strstr(allow, "HEAD") == NULL)
		HFAIL("POST /metrics: 405 without Allow: GET, HEAD\n%s",
		    r->head);
	r = request(port, "POST", "/healthz");
	assert_int_equal(r->status, 405);
}

HARNESS_TEST(test_head_metrics_is_ok_without_a_body)
{
	struct http_resp	*r;
	uint16_t		 port;

	(void)state;
	start_http(NULL, &port);
	r = request(port, "HEAD", "/metrics");
	assert_int_equal(r->status, 200);
	assert_header(r, "Content-Type", CT_PROM);
	/* RFC 9110 9.3.2: the server must not send content for HEAD. */
	if (r->body_len != 0)
		HFAIL("HEAD /metrics: %zu bytes of content, want none",
		    r->body_len);
	r = request(port, "HEAD", "/healthz");
	assert_int_equal(r->status, 200);
	assert_header(r, "Content-Type", CT_JSON);
	if (r->body_len != 0)
		HFAIL("HEAD /healthz: %zu bytes of content, want none",
		    r->body_len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HTTP_TEST(test_metrics_passes_promtool_after_labelled_traffic),
		HTTP_TEST(test_counters_grow_by_exactly_what_was_published),
		HTTP_TEST(test_stats_json_is_the_stats_op_map),
		HTTP_TEST(test_stats_json_and_metrics_show_the_same_figures),
		HTTP_TEST(test_healthz_is_ok_normally),
		HTTP_TEST(test_healthz_names_the_eventlog_while_redis_is_down),
		HTTP_TEST(test_healthz_names_an_open_breaker),
		HTTP_TEST(test_healthz_is_503_draining_during_the_drain),
		HTTP_TEST(test_a_scraper_never_reading_does_not_slow_routing),
		HTTP_TEST(test_unknown_path_is_404),
		HTTP_TEST(test_post_is_refused_with_405),
		HTTP_TEST(test_head_metrics_is_ok_without_a_body),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
