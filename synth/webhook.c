/*
 * webhook: libcurl's multi interface on the router's event_base.
 *
 * curl tells us which sockets to watch (wh_curl_socket_fn: one persistent
 * event per socket, a struct wh_sock curl keeps as the socket's pointer)
 * and when to call it back (wh_curl_timer_fn: the one timer_ev; -1 stops
 * it, 0 fires on the loop's next pass, never recursively). Each event
 * hands its activity to curl_multi_socket_action, then wh_check_done reads
 * the finished transfers with curl_multi_info_read. A host name resolves
 * in libcurl's resolver (threaded in Debian's build), off the loop; we
 * start no thread.
 *
 * A notification (struct wh_note) is in exactly one state: WH_WAITING (on
 * the FIFO "waiting"), WH_IN_FLIGHT (its easy handle in the multi) or
 * WH_BACKING_OFF (retry_ev pending); "all" holds every one in post order.
 * Its easy handle, options set once at post, is added to the multi again
 * for each attempt; retry_ev is made at post too, so nothing is allocated
 * after webhook_post has said yes.
 *
 * Lifetimes: webhook_post never starts a transfer itself, it activates
 * pump_ev, so a failure to start is a failed attempt called back from the
 * loop, not from inside the post. User callbacks run only from our loop
 * callbacks (never from inside a curl call) or from webhook_free, each
 * after its note is unlinked and freed. "busy" counts our loop callbacks
 * on the stack: a webhook_free from a user callback under one of them
 * settles every note at once but leaves the struct to the last one out.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "synth/webhook.h"

#ifndef CALLOSUM_VERSION
#define CALLOSUM_VERSION "unknown"
#endif

/* Response bytes read, then dropped, before the transfer is cut short. */
#define WH_RESPONSE_MAX		(64 * 1024)

enum wh_state {
	WH_WAITING = 0,
	WH_IN_FLIGHT,
	WH_BACKING_OFF
};

struct wh_note {
	TAILQ_ENTRY(wh_note)	 all_entry;	/* post order */
	TAILQ_ENTRY(wh_note)	 wait_entry;	/* WH_WAITING only */
	struct webhook		*wh;
	enum wh_state		 state;
	CURL			*easy;		/* in multi: flying */
	struct event		*retry_ev;	/* on: backing off */
	webhook_done_fn		*fn;
	void			*arg;
	unsigned		 attempts;
	long			 http_code;	/* the last attempt's */
	size_t			 resp_bytes;	/* this attempt's */
	bool			 resp_cut;	/* past WH_RESPONSE_MAX */
	size_t			 len;
	char			 body[];	/* len bytes, then a NUL */
};

/* A socket curl asked us to watch; curl holds it as the socket's pointer. */
struct wh_sock {
	LIST_ENTRY(wh_sock)	 entry;
	struct webhook		*wh;
	struct event		*ev;
	curl_socket_t		 fd;
};

struct webhook {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer_ev;	/* curl's one timeout */
	struct event		*pump_ev;	/* starts waiting notes */
	struct curl_slist	*headers;
	char			*url;
	unsigned		 retries;
	unsigned		 timeout_ms;
	unsigned		 backoff_min_ms;
	unsigned		 backoff_max_ms;
	unsigned		 max_in_flight;
	size_t			 queue_max;
	size_t			 body_max;
	uint64_t		 rng;

	TAILQ_HEAD(, wh_note)	 all;
	TAILQ_HEAD(, wh_note)	 waiting;
	LIST_HEAD(, wh_sock)	 socks;
	/* queued == nwaiting + nflight + nbackoff <= queue_max */
	size_t			 queued;
	size_t			 nwaiting;
	size_t			 nflight;	/* <= max_in_flight */
	size_t			 nbackoff;
	struct webhook_stats	 st;		/* the counters */

	unsigned		 busy;		/* our loop cbs running */
	bool			 freeing;	/* webhook_free begun */
	bool			 destroying;	/* curl cbs: ignore */
};

static void	wh_check_done(struct webhook *);
static void	wh_pump(struct webhook *);
static void	wh_attempt_failed(struct wh_note *);

static void
wh_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		*cause = NULL;
	va_end(ap);
}

int
webhook_global_init(char **cause)
{
	CURLcode	rc;

	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		wh_cause(cause, "webhook: curl_global_init: %s",
		    curl_easy_strerror(rc));
		return (-1);
	}
	return (0);
}

void
webhook_global_cleanup(void)
{
	curl_global_cleanup();
}

/* splitmix64's finaliser: spreads a small or patterned seed over 64 bits. */
static uint64_t
wh_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

uint64_t
webhook_rng_init(uint64_t seed)
{
	struct timespec	ts;
	uint64_t	s;

	if (seed == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_sec * 1000000000ULL +
		    (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32);
	}
	s = wh_mix(seed);
	/* xorshift's state is never 0. */
	return (s != 0 ? s : 0x2545f4914f6cdd1dULL);
}

uint64_t
webhook_rng_next(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (x * 0x2545f4914f6cdd1dULL);
}

unsigned
webhook_backoff_ms(uint64_t *state, unsigned min_ms, unsigned max_ms,
    unsigned k)
{
	uint64_t	cap = min_ms;
	unsigned	i;

	/* Doubling stops at max_ms (< 2^32), so cap never overflows. */
	for (i = 0; i < k && cap != 0 && cap < max_ms; i++)
		cap *= 2;
	if (cap > max_ms)
		cap = max_ms;
	/* The high 32 bits scaled to [0, cap]: cap + 1 <= 2^32. */
	return ((unsigned)(((webhook_rng_next(state) >> 32) * (cap + 1)) >>
	    32));
}

static void
wh_destroy(struct webhook *wh)
{
	struct wh_sock	*sk;

	assert(TAILQ_EMPTY(&wh->all));
	/*
	 * Our socket events go first, with curl's callbacks muted: curl
	 * 7.x does not always tell the sockets it closes in cleanup.
	 */
	wh->destroying = true;
	while ((sk = LIST_FIRST(&wh->socks)) != NULL) {
		LIST_REMOVE(sk, entry);
		if (wh->multi != NULL)
			curl_multi_assign(wh->multi, sk->fd, NULL);
		event_free(sk->ev);
		free(sk);
	}
	if (wh->multi != NULL)
		curl_multi_cleanup(wh->multi);
	if (wh->timer_ev != NULL)
		event_free(wh->timer_ev);
	if (wh->pump_ev != NULL)
		event_free(wh->pump_ev);
	curl_slist_free_all(wh->headers);
	free(wh->url);
	free(wh);
}

/* Leaving one of our loop callbacks: the last one out frees a freed one. */
static void
wh_leave(struct webhook *wh)
{
	assert(wh->busy > 0);
	if (--wh->busy == 0 && wh->freeing)
		wh_destroy(wh);
}

static void
wh_note_free(struct wh_note *n)
{
	if (n->easy != NULL)
		curl_easy_cleanup(n->easy);
	if (n->retry_ev != NULL)
		event_free(n->retry_ev);
	free(n);
}

/*
 * The end of a note, unlinked from whatever state it was in: counted,
 * freed, then called back, so that the callback finds the webhook
 * consistent and may post or free it.
 */
static void
wh_settle(struct wh_note *n, int status)
{
	struct webhook	*wh = n->wh;
	webhook_done_fn	*fn = n->fn;
	void		*arg = n->arg;
	long		 code = n->http_code;
	unsigned	 attempts = n->attempts;

	TAILQ_REMOVE(&wh->all, n, all_entry);
	wh->queued--;
	if (status == 0)
		wh->st.delivered++;
	else if (wh->freeing)
		wh->st.cancelled++;
	else
		wh->st.failed++;
	wh_note_free(n);
	if (fn != NULL)
		fn(arg, status, code, attempts);
}

static void
wh_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wh_sock	*sk = arg;
	struct webhook	*wh = sk->wh;	/* sk may go in the action */
	int		 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	wh->busy++;
	curl_multi_socket_action(wh->multi, fd, flags, &running);
	wh_check_done(wh);
	wh_leave(wh);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl asks, or stop. */
static int
wh_curl_socket_fn(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct webhook	*wh = userp;
	struct wh_sock	*sk = socketp;
	short		 kind;

	(void)easy;
	if (wh->destroying)
		return (0);
	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			LIST_REMOVE(sk, entry);
			event_free(sk->ev);
			free(sk);
		}
		return (0);
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (sk == NULL) {
		if ((sk = calloc(1, sizeof(*sk))) == NULL)
			return (-1);
		sk->wh = wh;
		sk->fd = s;
		if ((sk->ev = event_new(wh->base, s, kind, wh_sock_cb,
		    sk)) == NULL) {
			free(sk);
			return (-1);
		}
		if (curl_multi_assign(wh->multi, s, sk) != CURLM_OK) {
			event_free(sk->ev);
			free(sk);
			return (-1);
		}
		LIST_INSERT_HEAD(&wh->socks, sk, entry);
	} else {
		event_del(sk->ev);
		event_assign(sk->ev, wh->base, s, kind, wh_sock_cb, sk);
	}
	return (event_add(sk->ev, NULL) == 0 ? 0 : -1);
}

static void
wh_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct webhook	*wh = arg;
	int		 running;

	(void)fd;
	(void)what;
	wh->busy++;
	curl_multi_socket_action(wh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	wh_check_done(wh);
	wh_leave(wh);
}

/*
 * CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 fires it on the loop's
 * next pass, not from inside the curl call that asked.
 */
static int
wh_curl_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct webhook	*wh = userp;
	struct timeval	 tv;

	(void)multi;
	if (wh->destroying)
		return (0);
	if (timeout_ms < 0) {
		evtimer_del(wh->timer_ev);
		return (0);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return (evtimer_add(wh->timer_ev, &tv) == 0 ? 0 : -1);
}

/* The finished transfers since the last look, each settled or retried. */
static void
wh_check_done(struct webhook *wh)
{
	struct wh_note	*n;
	CURLMsg		*m;
	CURL		*easy;
	CURLcode	 rc;
	char		*priv;
	long		 code;
	int		 left;

	while (!wh->freeing &&
	    (m = curl_multi_info_read(wh->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		rc = m->data.result;	/* m dies with the removal */
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		n = (struct wh_note *)(void *)priv;
		code = 0;
		if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code) !=
		    CURLE_OK)
			code = 0;
		curl_multi_remove_handle(wh->multi, easy);
		assert(n != NULL && n->state == WH_IN_FLIGHT);
		wh->nflight--;
		n->http_code = code;
		/* A 2xx whose body we cut short was still an answer. */
		if ((rc == CURLE_OK || (rc == CURLE_WRITE_ERROR &&
		    n->resp_cut)) && code >= 200 && code <= 299)
			wh_settle(n, 0);
		else
			wh_attempt_failed(n);
	}
	if (!wh->freeing)
		wh_pump(wh);
}

/* An attempt failed: back off before the next, or give up. */
static void
wh_attempt_failed(struct wh_note *n)
{
	struct webhook	*wh = n->wh;
	struct timeval	 tv;
	unsigned	 ms;

	/* attempts <= retries: one more is allowed (no 1 + UINT_MAX). */
	if (n->attempts <= wh->retries) {
		ms = webhook_backoff_ms(&wh->rng, wh->backoff_min_ms,
		    wh->backoff_max_ms, n->attempts - 1);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		if (evtimer_add(n->retry_ev, &tv) == 0) {
			n->state = WH_BACKING_OFF;
			wh->nbackoff++;
			return;
		}
	}
	wh_settle(n, -1);
}

/* Starts an attempt of a note already off the waiting line. */
static void
wh_start(struct wh_note *n)
{
	struct webhook	*wh = n->wh;

	n->attempts++;
	wh->st.attempts++;
	if (n->attempts > 1)
		wh->st.retries++;
	n->http_code = 0;
	n->resp_bytes = 0;
	n->resp_cut = false;
	if (curl_multi_add_handle(wh->multi, n->easy) != CURLM_OK) {
		wh_attempt_failed(n);
		return;
	}
	n->state = WH_IN_FLIGHT;
	wh->nflight++;
}

/* Fills the free transfer slots from the head of the waiting line. */
static void
wh_pump(struct webhook *wh)
{
	struct wh_note	*n;

	while (!wh->freeing && wh->nflight < wh->max_in_flight &&
	    (n = TAILQ_FIRST(&wh->waiting)) != NULL) {
		TAILQ_REMOVE(&wh->waiting, n, wait_entry);
		wh->nwaiting--;
		wh_start(n);
	}
}

static void
wh_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	struct webhook	*wh = arg;

	(void)fd;
	(void)what;
	wh->busy++;
	wh_pump(wh);
	wh_leave(wh);
}

/* A backoff has passed: to the tail of the waiting line. */
static void
wh_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wh_note	*n = arg;
	struct webhook	*wh = n->wh;

	(void)fd;
	(void)what;
	assert(n->state == WH_BACKING_OFF);
	wh->busy++;
	wh->nbackoff--;
	n->state = WH_WAITING;
	TAILQ_INSERT_TAIL(&wh->waiting, n, wait_entry);
	wh->nwaiting++;
	wh_pump(wh);
	wh_leave(wh);
}

/* CURLOPT_WRITEFUNCTION: the answer's body is dropped, up to a bound. */
static size_t
wh_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct wh_note	*n = userdata;
	size_t		 len = size * nmemb;

	(void)ptr;
	n->resp_bytes += len;
	if (n->resp_bytes > WH_RESPONSE_MAX) {
		n->resp_cut = true;
		return (0);	/* CURLE_WRITE_ERROR */
	}
	return (len);
}

static bool
wh_url_ok(const char *url)
{
	if (url == NULL)
		return (false);
	if (strncasecmp(url, "http://", 7) == 0)
		return (url[7] != '\0');
	if (strncasecmp(url, "https://", 8) == 0)
		return (url[8] != '\0');
	return (false);
}

struct webhook *
webhook_new(struct event_base *base, const struct webhook_config *cfg,
    char **cause)
{
	struct webhook		*wh;
	struct curl_slist	*h;

	if (base == NULL || cfg == NULL) {
		wh_cause(cause, "webhook: no event base or config");
		return (NULL);
	}
	if (!wh_url_ok(cfg->url)) {
		wh_cause(cause, "webhook: not an http:// or https:// URL: "
		    "'%s'", cfg->url != NULL ? cfg->url : "");
		return (NULL);
	}
	if ((wh = calloc(1, sizeof(*wh))) == NULL)
		goto nomem;
	TAILQ_INIT(&wh->all);
	TAILQ_INIT(&wh->waiting);
	LIST_INIT(&wh->socks);
	wh->base = base;
	wh->retries = cfg->retries;
#define WH_OR(v, d)	((v) != 0 ? (v) : (d))
	wh->timeout_ms = WH_OR(cfg->timeout_ms, WEBHOOK_TIMEOUT_MS_DEFAULT);
	wh->backoff_min_ms = WH_OR(cfg->backoff_min_ms,
	    WEBHOOK_BACKOFF_MIN_MS_DEFAULT);
	wh->backoff_max_ms = WH_OR(cfg->backoff_max_ms,
	    WEBHOOK_BACKOFF_MAX_MS_DEFAULT);
	wh->queue_max = WH_OR(cfg->queue_max, WEBHOOK_QUEUE_MAX_DEFAULT);
	wh->body_max = WH_OR(cfg->body_max, WEBHOOK_BODY_MAX_DEFAULT);
	wh->max_in_flight = WH_OR(cfg->max_in_flight,
	    WEBHOOK_MAX_IN_FLIGHT_DEFAULT);
#undef WH_OR
	if (wh->backoff_min_ms > wh->backoff_max_ms) {
		wh_cause(cause, "webhook: backoff_min_ms %u above "
		    "backoff_max_ms %u", wh->backoff_min_ms,
		    wh->backoff_max_ms);
		free(wh);
		return (NULL);
	}
	wh->rng = webhook_rng_init(cfg->seed);
	if ((wh->url = strdup(cfg->url)) == NULL ||
	    (wh->timer_ev = evtimer_new(base, wh_timer_cb, wh)) == NULL ||
	    (wh->pump_ev = event_new(base, -1, 0, wh_pump_cb, wh)) == NULL)
		goto fail;
	/*
	 * "Expect:": no 100-continue round trip (up to 1 s) before a body
	 * past curl's threshold (1 MiB in 7.88, 1 KiB in older ones).
	 */
	if ((h = curl_slist_append(NULL, "Content-Type: application/json")) ==
	    NULL)
		goto fail;
	wh->headers = h;
	if ((h = curl_slist_append(wh->headers, "Expect:")) == NULL)
		goto fail;
	wh->headers = h;
	if ((wh->multi = curl_multi_init()) == NULL ||
	    curl_multi_setopt(wh->multi, CURLMOPT_SOCKETFUNCTION,
	    wh_curl_socket_fn) != CURLM_OK ||
	    curl_multi_setopt(wh->multi, CURLMOPT_SOCKETDATA, wh) !=
	    CURLM_OK ||
	    curl_multi_setopt(wh->multi, CURLMOPT_TIMERFUNCTION,
	    wh_curl_timer_fn) != CURLM_OK ||
	    curl_multi_setopt(wh->multi, CURLMOPT_TIMERDATA, wh) !=
	    CURLM_OK ||
	    curl_multi_setopt(wh->multi, CURLMOPT_MAXCONNECTS,
	    (long)wh->max_in_flight) != CURLM_OK)
		goto fail;
	return (wh);
fail:
	wh_destroy(wh);
nomem:
	wh_cause(cause, "webhook: out of memory");
	return (NULL);
}

/* One POST of n's body to the webhook's URL, set up once per note. */
static int
wh_easy_setup(struct webhook *wh, struct wh_note *n)
{
	CURL	*e = n->easy;

	if (curl_easy_setopt(e, CURLOPT_URL, wh->url) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
#else
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)wh->timeout_ms) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)wh->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT,
	    "callosum/" CALLOSUM_VERSION) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, wh->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)n->len) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, &n->body[0]) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, wh_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, n) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)n) != CURLE_OK)
		return (-1);
	return (0);
}

int
webhook_post(struct webhook *wh, const char *json, size_t len,
    webhook_done_fn *fn, void *arg)
{
	struct wh_note	*n;

	if (wh == NULL || (json == NULL && len > 0)) {
		errno = EINVAL;
		return (-1);
	}
	if (wh->freeing) {
		errno = ECANCELED;
		return (-1);
	}
	if (len > wh->body_max) {
		wh->st.refused++;
		errno = EMSGSIZE;
		return (-1);
	}
	if (wh->queued >= wh->queue_max) {	/* before allocating */
		wh->st.refused++;
		errno = ENOBUFS;
		return (-1);
	}
	if ((n = calloc(1, sizeof(*n) + len + 1)) == NULL)
		goto nomem;
	n->wh = wh;
	n->fn = fn;
	n->arg = arg;
	n->len = len;
	if (len > 0)
		memcpy(n->body, json, len);
	if ((n->retry_ev = evtimer_new(wh->base, wh_retry_cb, n)) == NULL ||
	    (n->easy = curl_easy_init()) == NULL || wh_easy_setup(wh, n) != 0)
		goto nomem;
	n->state = WH_WAITING;
	TAILQ_INSERT_TAIL(&wh->all, n, all_entry);
	TAILQ_INSERT_TAIL(&wh->waiting, n, wait_entry);
	wh->queued++;
	wh->nwaiting++;
	event_active(wh->pump_ev, EV_TIMEOUT, 0);
	return (0);
nomem:
	if (n != NULL)
		wh_note_free(n);
	errno = ENOMEM;
	return (-1);
}

void
webhook_get_stats(const struct webhook *wh, struct webhook_stats *out)
{
	*out = wh->st;
	out->queued = wh->queued;
	out->waiting = wh->nwaiting;
	out->in_flight = wh->nflight;
	out->backing_off = wh->nbackoff;
}

void
webhook_free(struct webhook *wh)
{
	struct wh_note	*n;

	if (wh == NULL || wh->freeing)
		return;
	wh->freeing = true;
	event_del(wh->pump_ev);
	while ((n = TAILQ_FIRST(&wh->all)) != NULL) {
		switch (n->state) {
		case WH_WAITING:
			TAILQ_REMOVE(&wh->waiting, n, wait_entry);
			wh->nwaiting--;
			break;
		case WH_IN_FLIGHT:
			curl_multi_remove_handle(wh->multi, n->easy);
			wh->nflight--;
			break;
		case WH_BACKING_OFF:
			evtimer_del(n->retry_ev);
			wh->nbackoff--;
			break;
		}
		wh_settle(n, -1);
	}
	if (wh->busy == 0)
		wh_destroy(wh);
}

static int
wh_ops_post(void *impl, const char *json, size_t len, notify_done_fn *fn,
    void *arg)
{
	return (webhook_post(impl, json, len, fn, arg));
}

static void
wh_ops_free(void *impl)
{
	webhook_free(impl);
}

const struct notify_ops webhook_notify_ops = {
	.name = "webhook",
	.post = wh_ops_post,
	.free = wh_ops_free
};
