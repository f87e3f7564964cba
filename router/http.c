/*
 * http: the operator's window, on the router's own loop (evhttp).
 *
 *   GET /metrics     Prometheus text 0.0.4 (metrics_prom)
 *   GET /stats.json  the stats op's snapshot as JSON (metrics_json)
 *   GET /healthz     200 ok | 200 degraded with reasons | 503 draining
 *   GET /            the dashboard (dashboard.html, compiled in)
 *
 * A request is answered whole in its callback: the body is built in
 * memory (a snapshot is tens of kilobytes) and handed to evhttp, whose
 * bufferevent writes it as the peer reads. A scraper that never reads
 * holds one response until evhttp's timeout closes it; routing never
 * waits on it. Only GET and HEAD are served (others: 405); headers and
 * bodies are capped, so a client cannot make the router buffer much.
 */
#include <stdio.h>
#include <string.h>
/* before libevent's keyvalq_struct.h, which defines and undefines TAILQ */
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "eventstore/eventstore.h"
#include "router/dashboard.h"
#include "router/http.h"
#include "router/lib/json.h"
#include "router/log.h"
#include "router/metrics.h"
#include "router/server.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define HTTP_TIMEOUT_S		10	/* idle, slow read or slow write */
#define HTTP_MAX_HEADERS	8192
#define HTTP_MAX_BODY		1024	/* GET has none */

/* No script or style from elsewhere; the page fetches only its origin. */
#define HTTP_CSP	"default-src 'none'; script-src 'unsafe-inline'; " \
			"style-src 'unsafe-inline'; connect-src 'self'; "  \
			"img-src 'self' data:"

struct http {
	struct server		*srv;
	struct evhttp		*h;
};

static void
http_headers(struct evhttp_request *req, const char *type)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);

	evhttp_add_header(out, "Content-Type", type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
}

/*
 * Sends the reply; to HEAD its headers only, with the Content-Length the
 * body would have (libevent 2.1 would send the body to HEAD too).
 */
static void
http_send(struct evhttp_request *req, int code, struct evbuffer *body)
{
	const char	*reason = code == HTTP_OK ? "OK" :
			    code == HTTP_SERVUNAVAIL ? "Service Unavailable" :
			    code == HTTP_BADMETHOD ? "Method Not Allowed" :
			    "Error";
	char		 len[32];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", len);
		evhttp_send_reply(req, code, reason, NULL);
	} else
		evhttp_send_reply(req, code, reason, body);
}

/* Sends code with body (len bytes, copied) as type. */
static void
http_reply(struct evhttp_request *req, int code, const char *type,
    const void *body, size_t len)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL ||
	    evbuffer_add(buf, body, len) == -1) {
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	http_headers(req, type);
	http_send(req, code, buf);
	evbuffer_free(buf);
}

/* A rendered snapshot, or 500 when memory ran out. */
static void
http_render(struct evhttp_request *req, struct http *hp,
    int (*fn)(struct server *, struct json_buf *), const char *type)
{
	struct json_buf	b;

	json_buf_init(&b);
	if (fn(hp->srv, &b) == -1) {
		log_warn("http", "render_failed", "path=%s",
		    evhttp_request_get_uri(req));
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else
		http_reply(req, HTTP_OK, type, b.data != NULL ? b.data : "",
		    b.len);
	json_buf_free(&b);
}

/* Adds one reason to the healthz body's list. */
static int
http_reason(struct json_buf *b, bool *first, const char *what,
    const char *name, size_t len)
{
	struct json_buf	r;
	int		rc;

	json_buf_init(&r);
	rc = json_buf_add(&r, what, strlen(what));
	if (rc == 0 && name != NULL)
		rc = json_buf_add(&r, name, len);
	if (rc == 0 && !*first)
		rc = json_buf_add(b, ", ", 2);
	if (rc == 0)
		rc = json_put_bytes(b, r.data, r.len);
	*first = false;
	json_buf_free(&r);
	return (rc);
}

/*
 * The reasons the router is degraded: the event log away from Redis,
 * breakers not closed. Returns how many, -1 when memory ran out.
 */
static int
http_reasons(struct http *hp, struct json_buf *b)
{
	struct tract_reg	*reg = server_tracts(hp->srv);
	const struct tract	*t;
	enum es_state		 st = es_get_state(server_es(hp->srv));
	bool			 first = true;
	size_t			 i;
	int			 n = 0;

	if (st != ES_STATE_DIRECT) {
		if (http_reason(b, &first, "eventlog ", es_state_name(st),
		    strlen(es_state_name(st))) == -1)
			return (-1);
		n++;
	}
	for (i = 0; i < tract_count(reg); i++) {
		t = tract_at(reg, i);
		if (t->br.state == BREAKER_CLOSED)
			continue;
		if (http_reason(b, &first, t->br.state == BREAKER_OPEN ?
		    "breaker open: " : "breaker half_open: ", t->name,
		    t->name_len) == -1)
			return (-1);
		n++;
	}
	return (n);
}

static void
http_healthz(struct evhttp_request *req, struct http *hp)
{
	static const char	 draining[] = "{\"status\": \"draining\"}\n";
	static const char	 ok[] = "{\"status\": \"ok\"}\n";
	struct json_buf		 b;
	int			 n;

	if (server_draining(hp->srv)) {
		http_reply(req, HTTP_SERVUNAVAIL, "application/json",
		    draining, sizeof(draining) - 1);
		return;
	}
	json_buf_init(&b);
	if (json_buf_add(&b, "{\"status\": \"degraded\", \"reasons\": [",
	    35) == -1 || (n = http_reasons(hp, &b)) == -1 ||
	    json_buf_add(&b, "]}\n", 3) == -1)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else if (n == 0)
		http_reply(req, HTTP_OK, "application/json", ok,
		    sizeof(ok) - 1);
	else
		http_reply(req, HTTP_OK, "application/json", b.data, b.len);
	json_buf_free(&b);
}

static void
http_dashboard(struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Security-Policy", HTTP_CSP);
	http_reply(req, HTTP_OK, "text/html; charset=utf-8", dashboard_html,
	    dashboard_html_len);
}

static bool
http_path_is(const char *path, const char *want)
{
	return (strcmp(path, want) == 0);
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http		*hp = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;

	if (path == NULL || path[0] == '\0')
		path = "/";
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		/*
		 * RFC 9110 15.5.6: 405 names the methods that would do
		 * (evhttp_send_error would drop the header).
		 */
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_reply(req, HTTP_BADMETHOD, "text/plain; charset=utf-8",
		    "only GET and HEAD\n", 18);
		return;
	}
	if (http_path_is(path, "/metrics"))
		http_render(req, hp, metrics_prom,
		    "text/plain; version=0.0.4; charset=utf-8");
	else if (http_path_is(path, "/stats.json"))
		http_render(req, hp, metrics_json, "application/json");
	else if (http_path_is(path, "/healthz"))
		http_healthz(req, hp);
	else if (http_path_is(path, "/") || http_path_is(path, "/index.html"))
		http_dashboard(req);
	else
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

/* Splits "ADDR:PORT" ("[v6]:PORT" too) into a host copy and a port. */
static int
http_split(const char *spec, char **host, uint16_t *port)
{
	const char	*colon = strrchr(spec, ':');
	size_t		 len;
	long		 p;
	char		*end;

	if (colon == NULL || colon == spec)
		return (-1);
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return (-1);
	len = (size_t)(colon - spec);
	if (spec[0] == '[') {
		if (len < 3 || spec[len - 1] != ']')
			return (-1);
		*host = xstrndup(spec + 1, len - 2);
	} else
		*host = xstrndup(spec, len);
	*port = (uint16_t)p;
	return (0);
}

struct http *
http_open(struct server *srv, const char *spec, char **cause)
{
	struct http	*hp;
	char		*host = NULL;
	uint16_t	 port;

	if (http_split(spec, &host, &port) == -1) {
		xasprintf(cause, "http %s: not ADDR:PORT", spec);
		return (NULL);
	}
	hp = xcalloc(1, sizeof(*hp));
	hp->srv = srv;
	if ((hp->h = evhttp_new(server_base(srv))) == NULL)
		goto fail;
	/* Every method reaches us, so that others get 405 with Allow. */
	evhttp_set_allowed_methods(hp->h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_timeout(hp->h, HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(hp->h, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(hp->h, HTTP_MAX_BODY);
	evhttp_set_gencb(hp->h, http_request_cb, hp);
	if (evhttp_bind_socket_with_handle(hp->h, host, port) == NULL)
		goto fail;
	log_info("http", "listening", "addr=%s", spec);
	free(host);
	return (hp);
fail:
	xasprintf(cause, "http %s: cannot listen there", spec);
	free(host);
	http_close(hp);
	return (NULL);
}

void
http_close(struct http *hp)
{
	if (hp == NULL)
		return;
	if (hp->h != NULL)
		evhttp_free(hp->h);
	free(hp);
}
