/*
 * test_webhook: the reviewer notifier against a real HTTP receiver on
 * 127.0.0.1 that the test serves itself, on the same event_base as the
 * webhook: were the webhook to block the loop, the receiver could not
 * answer. The receiver reads each request whole, records it, and answers
 * from a script (a status, then "Connection: close") or holds it forever.
 * Nothing leaves loopback; a closed port stands in for a dead receiver.
 * Run under -DCALLOSUM_SANITIZE=ON, leaks are fatal.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "synth/webhook.h"

#define RX_HOLD		(-1)	/* read the request, never answer */
#define RX_CONNS	32
#define RX_SCRIPT	8
#define RX_BODIES	16
#define RX_BODY_MAX	256
#define NDONE		8
#define DEADLINE_MS	5000
#define SEED		42

/* One accepted connection of the receiver. */
struct rx_conn {
	struct rx	*rx;
	int		 fd;
	struct event	*ev;
	struct evbuffer	*in;
	bool		 done;		/* its request read whole */
};

/* The HTTP receiver. */
struct rx {
	struct event_base	*base;
	int			 lfd;
	struct event		*accept_ev;
	int			 port;
	int			 script[RX_SCRIPT];	/* answers */
	size_t			 nscript;
	int			 otherwise;	/* after the script */
	size_t			 resp_body;	/* answer body bytes */
	unsigned		 requests;	/* read whole */
	char			 method[16];	/* of the last one */
	char			 ctype[128];
	char			 ua[128];
	char			 expect[128];
	char			 bodies[RX_BODIES][RX_BODY_MAX];
	size_t			 body_lens[RX_BODIES];
	struct rx_conn		*conns[RX_CONNS];
};

enum act {
	ACT_NONE = 0,
	ACT_FREE,	/* webhook_free from the callback */
	ACT_POST,	/* post the next done from the callback */
	ACT_TRY_POST	/* post from the callback, expecting -1 */
};

struct fx;

/* One notification's callback record. */
struct done {
	struct fx	*f;
	enum act	 act;
	unsigned	 calls;
	int		 status;
	long		 code;
	unsigned	 attempts;
	int		 post_rc;	/* ACT_POST, ACT_TRY_POST */
	int		 post_errno;
};

struct fx {
	struct event_base	*base;
	struct rx		 rx;
	struct webhook		*wh;
	struct webhook_config	 cfg;
	char			 url[64];
	struct done		 d[NDONE];
	unsigned		 ncalls;	/* callbacks, all of them */
	unsigned		 want;		/* for pred_calls */
	/* The unrelated periodic timer of the liveness test. */
	struct event		*tick_ev;
	unsigned		 ticks;
	struct timespec		 last_tick;
	long			 max_gap_ms;
};

static long
ms_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* ---- The receiver ---- */

static void
rx_conn_close(struct rx_conn *c)
{
	size_t	i;

	for (i = 0; i < RX_CONNS; i++)
		if (c->rx->conns[i] == c)
			c->rx->conns[i] = NULL;
	event_free(c->ev);
	evbuffer_free(c->in);
	close(c->fd);
	free(c);
}

/* Copies header name's value from the header block hdr into out. */
static void
rx_header(const char *hdr, const char *name, char *out, size_t outsz)
{
	const char	*p = hdr, *eol;
	size_t		 nlen = strlen(name), vlen;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nlen) != 0 || p[nlen] != ':')
			continue;
		p += nlen + 1;
		while (*p == ' ')
			p++;
		if ((eol = strstr(p, "\r\n")) == NULL)
			eol = p + strlen(p);
		vlen = (size_t)(eol - p);
		if (vlen >= outsz)
			vlen = outsz - 1;
		memcpy(out, p, vlen);
		out[vlen] = '\0';
		return;
	}
}

static void
rx_answer(struct rx_conn *c, int code)
{
	char	 head[256], *resp;
	size_t	 hlen, len, off = 0;
	ssize_t	 w;

	hlen = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 %d Test\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n", code,
	    c->rx->resp_body, code >= 300 && code <= 399 ?
	    "Location: http://127.0.0.1:1/elsewhere\r\n" : "");
	len = hlen + c->rx->resp_body;
	assert_non_null(resp = malloc(len));
	memcpy(resp, head, hlen);
	memset(resp + hlen, 'x', c->rx->resp_body);
	/* Loopback takes a few hundred KiB at once; spin on EAGAIN. */
	while (off < len) {
		w = write(c->fd, resp + off, len - off);
		if (w > 0)
			off += (size_t)w;
		else if (w == -1 && errno != EAGAIN && errno != EINTR)
			break;
	}
	free(resp);
}

/* A whole request in c->in: record it, answer by the script. */
static void
rx_try_request(struct rx_conn *c)
{
	struct rx		*rx = c->rx;
	struct evbuffer_ptr	 p;
	char			 hdr[4096], cl[32];
	size_t			 hlen, blen, i;
	int			 code;

	p = evbuffer_search(c->in, "\r\n\r\n", 4, NULL);
	if (p.pos < 0)
		return;
	hlen = (size_t)p.pos + 4;
	assert_true(hlen < sizeof(hdr));
	evbuffer_copyout(c->in, hdr, hlen);
	hdr[hlen] = '\0';
	rx_header(hdr, "Content-Length", cl, sizeof(cl));
	blen = (size_t)strtoul(cl, NULL, 10);
	if (evbuffer_get_length(c->in) < hlen + blen)
		return;
	c->done = true;
	i = rx->requests++;
	snprintf(rx->method, sizeof(rx->method), "%.*s",
	    (int)strcspn(hdr, " "), hdr);
	rx_header(hdr, "Content-Type", rx->ctype, sizeof(rx->ctype));
	rx_header(hdr, "User-Agent", rx->ua, sizeof(rx->ua));
	rx_header(hdr, "Expect", rx->expect, sizeof(rx->expect));
	evbuffer_drain(c->in, hlen);
	if (i < RX_BODIES) {
		rx->body_lens[i] = blen;
		evbuffer_copyout(c->in, rx->bodies[i],
		    blen < RX_BODY_MAX ? blen : RX_BODY_MAX);
	}
	evbuffer_drain(c->in, blen);
	code = i < rx->nscript ? rx->script[i] : rx->otherwise;
	if (code == RX_HOLD)
		return;
	rx_answer(c, code);
	rx_conn_close(c);
}

static void
rx_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rx_conn	*c = arg;
	int		 n;

	(void)what;
	n = evbuffer_read(c->in, fd, 65536);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		rx_conn_close(c);	/* the client went away */
		return;
	}
	if (c->done)
		evbuffer_drain(c->in, evbuffer_get_length(c->in));
	else
		rx_try_request(c);
}

static void
rx_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct rx	*rx = arg;
	struct rx_conn	*c;
	size_t		 i;
	int		 fd;

	(void)what;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	for (i = 0; i < RX_CONNS && rx->conns[i] != NULL; i++)
		;
	assert_true(i < RX_CONNS);
	assert_non_null(c = calloc(1, sizeof(*c)));
	c->rx = rx;
	c->fd = fd;
	assert_non_null(c->in = evbuffer_new());
	assert_non_null(c->ev = event_new(rx->base, fd, EV_READ | EV_PERSIST,
	    rx_read_cb, c));
	assert_int_equal(event_add(c->ev, NULL), 0);
	rx->conns[i] = c;
}

static void
rx_start(struct rx *rx, struct event_base *base)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(sin);
	int			one = 1;

	rx->base = base;
	rx->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	assert_true(rx->lfd != -1);
	setsockopt(rx->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	assert_int_equal(bind(rx->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(rx->lfd, 64), 0);
	assert_int_equal(getsockname(rx->lfd, (struct sockaddr *)&sin,
	    &slen), 0);
	rx->port = ntohs(sin.sin_port);
	assert_non_null(rx->accept_ev = event_new(base, rx->lfd,
	    EV_READ | EV_PERSIST, rx_accept_cb, rx));
	assert_int_equal(event_add(rx->accept_ev, NULL), 0);
}

static void
rx_stop(struct rx *rx)
{
	size_t	i;

	for (i = 0; i < RX_CONNS; i++)
		if (rx->conns[i] != NULL)
			rx_conn_close(rx->conns[i]);
	if (rx->accept_ev != NULL)
		event_free(rx->accept_ev);
	if (rx->lfd != -1)
		close(rx->lfd);
}

static void
rx_script(struct rx *rx, int otherwise, size_t n, ...)
{
	va_list	ap;
	size_t	i;

	assert_true(n <= RX_SCRIPT);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		rx->script[i] = va_arg(ap, int);
	va_end(ap);
	rx->nscript = n;
	rx->otherwise = otherwise;
}

/* A port on 127.0.0.1 that nothing listens on: bound, read, closed. */
static int
closed_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		slen = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	return (ntohs(sin.sin_port));
}

/* ---- The loop ---- */

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Runs the loop until pred(f) holds or ms pass; returns pred(f). */
static bool
run_until(struct fx *f, bool (*pred)(struct fx *), long ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event	*dl;
	bool		 expired = false;

	assert_non_null(dl = evtimer_new(f->base, deadline_cb, &expired));
	evtimer_add(dl, &tv);
	while (!(pred != NULL && pred(f)) && !expired)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(dl);
	return (pred != NULL && pred(f));
}

static bool
pred_calls(struct fx *f)
{
	return (f->ncalls >= f->want);
}

static bool
pred_one_backing_off(struct fx *f)
{
	struct webhook_stats	st;

	webhook_get_stats(f->wh, &st);
	return (st.backing_off == 1);
}

static bool
pred_three_requests(struct fx *f)
{
	return (f->rx.requests >= 3);
}

/* Runs until n callbacks have run in all, under the deadline. */
static void
run_calls(struct fx *f, unsigned n)
{
	f->want = n;
	assert_true(run_until(f, pred_calls, DEADLINE_MS));
}

/* ---- The fixture ---- */

static void
done_cb(void *arg, int status, long code, unsigned attempts)
{
	struct done	*d = arg;
	struct fx	*f = d->f;

	d->calls++;
	d->status = status;
	d->code = code;
	d->attempts = attempts;
	f->ncalls++;
	switch (d->act) {
	case ACT_FREE:
		webhook_free(f->wh);
		f->wh = NULL;
		break;
	case ACT_POST:
	case ACT_TRY_POST:
		errno = 0;
		d->post_rc = f->wh == NULL ? -2 : webhook_post(f->wh,
		    "{\"next\":1}", 10, done_cb, d + 1);
		d->post_errno = errno;
		break;
	case ACT_NONE:
		break;
	}
}

static int
setup(void **state)
{
	struct fx	*f;
	size_t		 i;

	assert_non_null(f = calloc(1, sizeof(*f)));
	assert_non_null(f->base = event_base_new());
	f->rx.lfd = -1;
	rx_start(&f->rx, f->base);
	rx_script(&f->rx, 200, 0);
	for (i = 0; i < NDONE; i++)
		f->d[i].f = f;
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/hook",
	    f->rx.port);
	f->cfg.url = f->url;
	f->cfg.retries = WEBHOOK_RETRIES_DEFAULT;
	f->cfg.backoff_min_ms = 1;	/* quick retries */
	f->cfg.backoff_max_ms = 10;
	f->cfg.seed = SEED;
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	webhook_free(f->wh);
	if (f->tick_ev != NULL)
		event_free(f->tick_ev);
	rx_stop(&f->rx);
	/* Let the last closes and frees run. */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	event_base_free(f->base);
	free(f);
	return (0);
}

/* The webhook on f->cfg. */
static void
wh_open(struct fx *f)
{
	char	*cause = NULL;

	f->wh = webhook_new(f->base, &f->cfg, &cause);
	if (f->wh == NULL)
		fail_msg("webhook_new: %s", cause != NULL ? cause : "?");
}

static int
post(struct fx *f, const char *json, struct done *d)
{
	return (webhook_post(f->wh, json, strlen(json), done_cb, d));
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fx	*f = arg;
	long		 gap;

	(void)fd;
	(void)what;
	gap = ms_since(&f->last_tick);
	if (gap > f->max_gap_ms)
		f->max_gap_ms = gap;
	clock_gettime(CLOCK_MONOTONIC, &f->last_tick);
	f->ticks++;
}

/* ---- The tests ---- */

static void
test_webhook_post_arrives_as_json_post(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;
	const char		*json = "{\"pattern\":\"p1\","
				    "\"occurrences\":3,"
				    "\"models\":[\"a\",\"b\"]}";

	wh_open(f);
	assert_int_equal(post(f, json, &f->d[0]), 0);
	assert_int_equal(f->d[0].calls, 0);	/* never from inside post */
	run_calls(f, 1);
	assert_int_equal(f->d[0].calls, 1);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(f->d[0].code, 200);
	assert_int_equal(f->d[0].attempts, 1);
	assert_int_equal(f->rx.requests, 1);
	assert_string_equal(f->rx.method, "POST");
	assert_string_equal(f->rx.ctype, "application/json");
	assert_string_equal(f->rx.ua, "callosum/" CALLOSUM_VERSION);
	assert_int_equal(f->rx.body_lens[0], strlen(json));
	assert_memory_equal(f->rx.bodies[0], json, strlen(json));
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.attempts, 1);
	assert_int_equal(st.retries, 0);
}

static void
test_webhook_500_500_200_delivered_on_attempt_3(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;

	rx_script(&f->rx, 200, 3, 500, 500, 200);
	wh_open(f);
	assert_int_equal(post(f, "{\"n\":1}", &f->d[0]), 0);
	run_calls(f, 1);
	/* Nothing more arrives once it is delivered. */
	run_until(f, NULL, 50);
	assert_int_equal(f->rx.requests, 3);
	assert_int_equal(f->d[0].calls, 1);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(f->d[0].code, 200);
	assert_int_equal(f->d[0].attempts, 3);
	assert_memory_equal(f->rx.bodies[2], "{\"n\":1}", 7);
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.delivered, 1);
	assert_int_equal(st.attempts, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.queued, 0);
}

static void
test_webhook_retries_exhausted_fails_with_the_last_code(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;

	rx_script(&f->rx, 503, 0);
	f->cfg.retries = 2;
	wh_open(f);
	assert_int_equal(post(f, "{}", &f->d[0]), 0);
	run_calls(f, 1);
	run_until(f, NULL, 50);
	assert_int_equal(f->rx.requests, 3);
	assert_int_equal(f->d[0].calls, 1);
	assert_int_equal(f->d[0].status, -1);
	assert_int_equal(f->d[0].code, 503);
	assert_int_equal(f->d[0].attempts, 3);
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.queued, 0);
}

/* http_code is the last attempt's: a 503, then no answer at all, is 0. */
static void
test_webhook_code_is_the_last_attempts(void **state)
{
	struct fx	*f = *state;

	rx_script(&f->rx, RX_HOLD, 1, 503);
	f->cfg.timeout_ms = 200;
	f->cfg.retries = 1;
	wh_open(f);
	assert_int_equal(post(f, "{}", &f->d[0]), 0);
	run_calls(f, 1);
	assert_int_equal(f->rx.requests, 2);
	assert_int_equal(f->d[0].status, -1);
	assert_int_equal(f->d[0].code, 0);
	assert_int_equal(f->d[0].attempts, 2);
}

static void
test_webhook_redirect_is_a_failed_attempt(void **state)
{
	struct fx	*f = *state;

	rx_script(&f->rx, 302, 0);
	f->cfg.retries = 1;
	wh_open(f);
	assert_int_equal(post(f, "{}", &f->d[0]), 0);
	run_calls(f, 1);
	assert_int_equal(f->rx.requests, 2);	/* never the Location */
	assert_int_equal(f->d[0].status, -1);
	assert_int_equal(f->d[0].code, 302);
	assert_int_equal(f->d[0].attempts, 2);
}

/*
 * A receiver that reads the request and never answers: each attempt ends
 * at timeout_ms, and all the while a 10 ms timer on the same loop keeps
 * firing (generous bounds: a liveness check, not a benchmark).
 */
static void
test_webhook_stuck_receiver_times_out_loop_runs(void **state)
{
	struct fx		*f = *state;
	struct timeval		 ten = { 0, 10000 };
	struct timespec		 t0;
	long			 elapsed;

	rx_script(&f->rx, RX_HOLD, 0);
	f->cfg.timeout_ms = 300;
	f->cfg.retries = 1;
	wh_open(f);
	assert_non_null(f->tick_ev = event_new(f->base, -1, EV_PERSIST,
	    tick_cb, f));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	f->last_tick = t0;
	assert_int_equal(event_add(f->tick_ev, &ten), 0);
	assert_int_equal(post(f, "{\"stuck\":true}", &f->d[0]), 0);
	run_calls(f, 1);
	elapsed = ms_since(&t0);
	assert_int_equal(f->d[0].calls, 1);
	assert_int_equal(f->d[0].status, -1);
	assert_int_equal(f->d[0].code, 0);
	assert_int_equal(f->d[0].attempts, 2);
	assert_int_equal(f->rx.requests, 2);	/* each read whole, held */
	assert_true(elapsed >= 2 * 300 - 10);
	/* ~60 expected; the loop never stalled for an attempt's length. */
	assert_true(f->ticks >= 20);
	assert_true(f->max_gap_ms < 250);
}

static void
test_webhook_connection_refused_retries_then_fails(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;

	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/hook",
	    closed_port());
	f->cfg.retries = 2;
	wh_open(f);
	assert_int_equal(post(f, "{}", &f->d[0]), 0);
	run_calls(f, 1);
	assert_int_equal(f->d[0].calls, 1);
	assert_int_equal(f->d[0].status, -1);
	assert_int_equal(f->d[0].code, 0);
	assert_int_equal(f->d[0].attempts, 3);
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.attempts, 3);
	assert_int_equal(st.retries, 2);
}

static void
test_webhook_queue_full_refuses_the_third_post(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;

	f->cfg.queue_max = 2;
	wh_open(f);
	assert_int_equal(post(f, "{\"i\":0}", &f->d[0]), 0);
	assert_int_equal(post(f, "{\"i\":1}", &f->d[1]), 0);
	errno = 0;
	assert_int_equal(post(f, "{\"i\":2}", &f->d[2]), -1);
	assert_int_equal(errno, ENOBUFS);
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.refused, 1);
	run_calls(f, 2);
	run_until(f, NULL, 50);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(f->d[1].status, 0);
	assert_int_equal(f->d[2].calls, 0);	/* refused: never called */
	assert_int_equal(f->rx.requests, 2);
	/* Settled ones leave room. */
	assert_int_equal(post(f, "{\"i\":3}", &f->d[3]), 0);
	run_calls(f, 3);
	assert_int_equal(f->d[3].status, 0);
	assert_int_equal(f->d[2].calls, 0);
}

static void
test_webhook_body_max_refuses_a_larger_body(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;
	const char		*fits = "{\"a\":\"01234567\"}";

	f->cfg.body_max = 16;
	wh_open(f);
	errno = 0;
	assert_int_equal(post(f, "{\"a\":\"012345678\"}", &f->d[0]), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(strlen(fits), 16);
	assert_int_equal(post(f, fits, &f->d[1]), 0);
	run_calls(f, 1);
	assert_int_equal(f->d[0].calls, 0);
	assert_int_equal(f->d[1].status, 0);
	assert_int_equal(f->rx.requests, 1);
	assert_int_equal(f->rx.body_lens[0], 16);
	assert_memory_equal(f->rx.bodies[0], fits, 16);
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.delivered, 1);
}

/* A larger body goes at once: no "Expect: 100-continue" wait. */
static void
test_webhook_large_body_posted_without_expect(void **state)
{
	struct fx	*f = *state;
	struct timespec	 t0;
	char		*json;
	size_t		 len = 1536 * 1024;	/* Expect: > 1 MiB */

	assert_non_null(json = malloc(len + 1));
	memset(json, ' ', len);
	json[0] = '{';
	json[len - 1] = '}';
	json[len] = '\0';
	f->cfg.body_max = 2 * 1024 * 1024;
	wh_open(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(post(f, json, &f->d[0]), 0);
	run_calls(f, 1);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(f->rx.body_lens[0], len);
	assert_string_equal(f->rx.expect, "");
	assert_true(ms_since(&t0) < 900);	/* curl would wait 1 s */
	free(json);
}

/* An answer body past the bound is cut off; a 2xx is still delivered. */
static void
test_webhook_large_answer_dropped_2xx_delivered(void **state)
{
	struct fx	*f = *state;

	f->rx.resp_body = 200 * 1024;
	wh_open(f);
	assert_int_equal(post(f, "{}", &f->d[0]), 0);
	run_calls(f, 1);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(f->d[0].code, 200);
	assert_int_equal(f->d[0].attempts, 1);
}

static void
test_webhook_one_in_flight_rest_wait_in_order(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;
	char			 json[16];
	int			 i;

	f->cfg.max_in_flight = 1;
	wh_open(f);
	for (i = 0; i < 4; i++) {
		snprintf(json, sizeof(json), "{\"i\":%d}", i);
		assert_int_equal(post(f, json, &f->d[i]), 0);
	}
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.queued, 4);
	assert_int_equal(st.waiting, 4);	/* started from the loop */
	run_calls(f, 4);
	for (i = 0; i < 4; i++) {
		snprintf(json, sizeof(json), "{\"i\":%d}", i);
		assert_int_equal(f->d[i].status, 0);
		assert_int_equal(f->rx.body_lens[i], strlen(json));
		assert_memory_equal(f->rx.bodies[i], json, strlen(json));
	}
}

/*
 * webhook_free with one notification backing off, two in flight (held
 * by the receiver) and one waiting: each called back once with -1.
 */
static void
test_webhook_free_calls_back_every_pending_once(void **state)
{
	struct fx		*f = *state;
	struct webhook_stats	 st;
	uint64_t		 rng = webhook_rng_init(SEED);
	int			 i;

	/* The seed's first backoff is long: A stays backing off. */
	f->cfg.backoff_min_ms = 60000;
	f->cfg.backoff_max_ms = 60000;
	assert_true(webhook_backoff_ms(&rng, 60000, 60000, 0) > 10000);
	f->cfg.max_in_flight = 2;
	rx_script(&f->rx, RX_HOLD, 1, 500);
	wh_open(f);
	assert_int_equal(post(f, "{\"A\":1}", &f->d[0]), 0);
	assert_true(run_until(f, pred_one_backing_off, DEADLINE_MS));
	for (i = 1; i < 4; i++)
		assert_int_equal(post(f, "{}", &f->d[i]), 0);
	assert_true(run_until(f, pred_three_requests, DEADLINE_MS));
	run_until(f, NULL, 50);
	webhook_get_stats(f->wh, &st);
	assert_int_equal(st.queued, 4);
	assert_int_equal(st.backing_off, 1);
	assert_int_equal(st.in_flight, 2);
	assert_int_equal(st.waiting, 1);
	assert_int_equal(f->rx.requests, 3);
	assert_int_equal(f->ncalls, 0);

	webhook_free(f->wh);
	f->wh = NULL;
	assert_int_equal(f->ncalls, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(f->d[i].calls, 1);
		assert_int_equal(f->d[i].status, -1);
	}
	assert_int_equal(f->d[0].attempts, 1);
	assert_int_equal(f->d[0].code, 500);
	assert_int_equal(f->d[1].attempts, 1);
	assert_int_equal(f->d[1].code, 0);
	assert_int_equal(f->d[2].attempts, 1);
	assert_int_equal(f->d[3].attempts, 0);
	/* Nothing is left to fire. */
	run_until(f, NULL, 50);
	assert_int_equal(f->ncalls, 4);
}

/*
 * A's callback frees the webhook: B and C (waiting: one slot) are called
 * back with -1 before that webhook_free returns; B's post from its
 * callback is refused; C's own webhook_free does nothing. The memory goes
 * when the loop callback unwinds (ASan watches).
 */
static void
test_webhook_free_inside_a_callback_is_safe(void **state)
{
	struct fx	*f = *state;

	f->cfg.max_in_flight = 1;
	f->d[0].act = ACT_FREE;
	f->d[1].act = ACT_TRY_POST;
	f->d[3].act = ACT_FREE;
	wh_open(f);
	assert_int_equal(post(f, "{\"A\":1}", &f->d[0]), 0);
	assert_int_equal(post(f, "{\"B\":1}", &f->d[1]), 0);
	assert_int_equal(post(f, "{\"C\":1}", &f->d[3]), 0);
	run_calls(f, 3);
	assert_null(f->wh);
	assert_int_equal(f->d[0].calls, 1);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(f->d[1].calls, 1);
	assert_int_equal(f->d[1].status, -1);
	assert_int_equal(f->d[1].attempts, 0);
	assert_int_equal(f->d[1].post_rc, -1);
	assert_int_equal(f->d[1].post_errno, ECANCELED);
	assert_int_equal(f->d[2].calls, 0);	/* that post was refused */
	assert_int_equal(f->d[3].calls, 1);
	assert_int_equal(f->d[3].status, -1);
	run_until(f, NULL, 50);
	assert_int_equal(f->ncalls, 3);
	assert_int_equal(f->rx.requests, 1);
}

static void
test_webhook_post_inside_a_callback_is_delivered(void **state)
{
	struct fx	*f = *state;

	f->d[0].act = ACT_POST;
	wh_open(f);
	assert_int_equal(post(f, "{\"first\":1}", &f->d[0]), 0);
	run_calls(f, 2);
	assert_int_equal(f->d[0].post_rc, 0);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(f->d[1].calls, 1);
	assert_int_equal(f->d[1].status, 0);
	assert_int_equal(f->rx.requests, 2);
	assert_memory_equal(f->rx.bodies[1], "{\"next\":1}", 10);
}

static void
test_webhook_free_with_nothing_pending(void **state)
{
	struct fx	*f = *state;

	webhook_free(NULL);
	wh_open(f);
	webhook_free(f->wh);
	f->wh = NULL;
	assert_int_equal(f->ncalls, 0);
}

static void
test_webhook_notify_table_posts_and_frees(void **state)
{
	struct fx	*f = *state;
	struct notifier	 n;

	wh_open(f);
	n.ops = &webhook_notify_ops;
	n.impl = f->wh;
	assert_string_equal(n.ops->name, "webhook");
	assert_int_equal(n.ops->post(n.impl, "{}", 2, done_cb, &f->d[0]), 0);
	run_calls(f, 1);
	assert_int_equal(f->d[0].status, 0);
	assert_int_equal(n.ops->post(n.impl, "{}", 2, done_cb, &f->d[1]), 0);
	n.ops->free(n.impl);
	f->wh = NULL;
	assert_int_equal(f->d[1].calls, 1);
	assert_int_equal(f->d[1].status, -1);
}

static void
test_webhook_new_refuses_a_bad_config(void **state)
{
	struct fx		*f = *state;
	struct webhook_config	 c = f->cfg;
	const char		*bad[] = { NULL, "", "ftp://example.com/",
				    "http://", "file:///etc/passwd",
				    "127.0.0.1:80" };
	char			*cause;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.url = bad[i];
		cause = NULL;
		assert_null(webhook_new(f->base, &c, &cause));
		assert_non_null(cause);
		assert_non_null(strstr(cause, "http:// or https://"));
		free(cause);
	}
	c.url = f->url;
	c.backoff_min_ms = 500;
	c.backoff_max_ms = 100;
	cause = NULL;
	assert_null(webhook_new(f->base, &c, &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_null(webhook_new(NULL, &c, &cause));
	free(cause);
}

/* Full jitter: uniform in [0, min(min * 2^k, max)], seeded, repeatable. */
static void
test_webhook_backoff_within_the_capped_bound(void **state)
{
	uint64_t	a = webhook_rng_init(SEED), b = webhook_rng_init(SEED);
	uint64_t	c = webhook_rng_init(SEED + 1), cap;
	unsigned	k, i, d, hi, lo, same = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		assert_true(webhook_rng_next(&a) == webhook_rng_next(&b));
		if (webhook_backoff_ms(&a, 200, 30000, 3) ==
		    webhook_backoff_ms(&c, 200, 30000, 3))
			same++;
		(void)webhook_backoff_ms(&b, 200, 30000, 3);
	}
	assert_true(same < 10);	/* another seed, another sequence */
	assert_true(webhook_rng_init(0) != 0);
	for (k = 0; k < 40; k++) {
		cap = (uint64_t)200 << k;
		if (cap > 30000)
			cap = 30000;
		hi = 0;
		lo = UINT32_MAX;
		for (i = 0; i < 2000; i++) {
			d = webhook_backoff_ms(&a, 200, 30000, k);
			assert_true(d <= cap);
			if (d > hi)
				hi = d;
			if (d < lo)
				lo = d;
		}
		/* The whole range is used, not just its top or bottom. */
		assert_true(hi >= cap / 2);
		assert_true(lo <= cap / 2);
	}
	/* No overflow, no long loop: huge k, tiny and huge bounds. */
	assert_true(webhook_backoff_ms(&a, 200, 30000, UINT32_MAX) <= 30000);
	assert_true(webhook_backoff_ms(&a, 1, 1, UINT32_MAX) <= 1);
	assert_int_equal(webhook_backoff_ms(&a, 0, 30000, UINT32_MAX), 0);
	assert_true(webhook_backoff_ms(&a, UINT32_MAX, UINT32_MAX, 5) <=
	    UINT32_MAX);
	assert_true(webhook_backoff_ms(&a, 200, UINT32_MAX, 100) <=
	    UINT32_MAX);
}

static int
group_setup(void **state)
{
	char	*cause = NULL;

	(void)state;
	/* Loopback only, whatever proxy the environment names. */
	setenv("no_proxy", "*", 1);
	setenv("NO_PROXY", "*", 1);
	if (webhook_global_init(&cause) != 0) {
		fprintf(stderr, "%s\n", cause != NULL ? cause : "?");
		free(cause);
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	(void)state;
	webhook_global_cleanup();
	return (0);
}

int
main(void)
{
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_webhook_post_arrives_as_json_post),
		T(test_webhook_500_500_200_delivered_on_attempt_3),
		T(test_webhook_retries_exhausted_fails_with_the_last_code),
		T(test_webhook_code_is_the_last_attempts),
		T(test_webhook_redirect_is_a_failed_attempt),
		T(test_webhook_stuck_receiver_times_out_loop_runs),
		T(test_webhook_connection_refused_retries_then_fails),
		T(test_webhook_queue_full_refuses_the_third_post),
		T(test_webhook_body_max_refuses_a_larger_body),
		T(test_webhook_large_body_posted_without_expect),
		T(test_webhook_large_answer_dropped_2xx_delivered),
		T(test_webhook_one_in_flight_rest_wait_in_order),
		T(test_webhook_free_calls_back_every_pending_once),
		T(test_webhook_free_inside_a_callback_is_safe),
		T(test_webhook_post_inside_a_callback_is_delivered),
		T(test_webhook_free_with_nothing_pending),
		T(test_webhook_notify_table_posts_and_frees),
		T(test_webhook_new_refuses_a_bad_config),
		cmocka_unit_test(test_webhook_backoff_within_the_capped_bound),
	};
#undef T

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
