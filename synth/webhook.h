/*
 * webhook: the reviewer notifier. POSTs each notification's JSON to one
 * http:// or https:// URL with libcurl's multi interface, driven by the
 * router's event_base (no thread, never a blocking call), and retries
 * failed attempts after a capped exponential backoff with full jitter.
 *
 * Delivered means a 2xx answer to a POST. Anything else is a failed
 * attempt: another status (a 3xx too: redirects are not followed), no
 * answer within timeout_ms, a refused or lost connection. A notification
 * is tried at most 1 + retries times, then called back with -1.
 *
 * The queue holds every notification not yet called back: waiting for a
 * transfer slot (FIFO), in flight (at most max_in_flight), or backing off
 * before a retry; queue_max bounds them all together. A retry whose
 * backoff has passed joins the tail of the waiting line. The answer's body
 * is read and dropped (past 64 KiB the transfer stops; a 2xx status still
 * counts). libcurl's proxy environment variables (https_proxy, no_proxy)
 * apply as in curl(1).
 *
 * Callbacks (notify_done_fn, notify.h) run exactly once each: from the
 * loop, or from webhook_free. Inside one, webhook_post may be called (it
 * fails with ECANCELED once webhook_free has begun) and so may
 * webhook_free: the remaining callbacks then run before it returns, and
 * the memory is released when the loop callback that ran them unwinds.
 *
 * libcurl must be initialised once per process, before any thread starts
 * and before webhook_new: webhook_global_init. The library does not do it
 * behind the caller's back: curl_global_init is not thread-safe in every
 * libcurl, initialises OpenSSL, and a static "done" flag could not pair it
 * with curl_global_cleanup; a start-up call fails where it should.
 */
#ifndef CALLOSUM_WEBHOOK_H
#define CALLOSUM_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "synth/notify.h"

struct event_base;
struct webhook;

typedef notify_done_fn	webhook_done_fn;

#define WEBHOOK_RETRIES_DEFAULT		5
#define WEBHOOK_TIMEOUT_MS_DEFAULT	5000
#define WEBHOOK_BACKOFF_MIN_MS_DEFAULT	200
#define WEBHOOK_BACKOFF_MAX_MS_DEFAULT	30000
#define WEBHOOK_QUEUE_MAX_DEFAULT	1024
#define WEBHOOK_BODY_MAX_DEFAULT	(64 * 1024)
#define WEBHOOK_MAX_IN_FLIGHT_DEFAULT	4

/* Every field but url and retries: 0 takes the default. */
struct webhook_config {
	const char	*url;		/* http(s):// (copied) */
	unsigned	 retries;	/* after the 1st attempt */
	unsigned	 timeout_ms;	/* per attempt, all of it */
	unsigned	 backoff_min_ms;	/* cap before retry 1 */
	unsigned	 backoff_max_ms;	/* caps every cap */
	size_t		 queue_max;	/* held, in all states */
	size_t		 body_max;	/* JSON bytes per post */
	unsigned	 max_in_flight;	/* transfers at once */
	uint64_t	 seed;		/* jitter; 0: the clock */
};

struct webhook_stats {
	size_t		 queued;	/* the three below */
	size_t		 waiting;	/* for a transfer slot */
	size_t		 in_flight;
	size_t		 backing_off;	/* failed, to retry */
	/* Called back with 0; -1 giving up; -1 from webhook_free. */
	uint64_t	 delivered;
	uint64_t	 failed;
	uint64_t	 cancelled;
	uint64_t	 refused;	/* posts: full, too large */
	uint64_t	 attempts;	/* transfers begun */
	uint64_t	 retries;	/* of those, not a first */
};

/*
 * curl_global_init(CURL_GLOBAL_DEFAULT), once, at start-up, while the
 * process has one thread. -1 with *cause (caller frees) on failure.
 */
int		 webhook_global_init(char **cause);
/* curl_global_cleanup(), once, at exit, after the last webhook_free. */
void		 webhook_global_cleanup(void);

/*
 * A notifier on base (borrowed: it must outlive the webhook); cfg is
 * borrowed for the call. NULL with *cause (caller frees) on a bad config
 * or out of memory.
 */
struct webhook	*webhook_new(struct event_base *base,
		    const struct webhook_config *cfg, char **cause);
/*
 * Queues a copy of json[0..len). 0: fn (may be NULL) runs exactly once,
 * later, from the loop or from webhook_free. -1, no callback, nothing
 * kept: EMSGSIZE (len > body_max), ENOBUFS (queue_max held), ENOMEM,
 * ECANCELED (webhook_free has begun), EINVAL.
 */
int		 webhook_post(struct webhook *, const char *json, size_t len,
		    webhook_done_fn *fn, void *arg);
void		 webhook_get_stats(const struct webhook *,
		    struct webhook_stats *);
/*
 * Stops every transfer and calls back every notification still held,
 * once, with -1 (post order), before it returns; then frees the webhook,
 * or, when called from inside one of its callbacks, marks it and frees it
 * as the loop callback unwinds. NULL is a no-op. A second call from a
 * callback it runs does nothing.
 */
void		 webhook_free(struct webhook *);

/* The notify.h table over a struct webhook (impl). */
extern const struct notify_ops	webhook_notify_ops;

/*
 * For tests, and what the webhook uses inside. A xorshift64* state from
 * seed (0: from the clock and pid), never 0.
 */
uint64_t	 webhook_rng_init(uint64_t seed);
/* The next number of the xorshift64* sequence at *state. */
uint64_t	 webhook_rng_next(uint64_t *state);
/*
 * The delay before retry k + 1 (k = 0 after the first failed attempt):
 * uniform in [0, cap] with cap = min(min_ms * 2^k, max_ms).
 */
unsigned	 webhook_backoff_ms(uint64_t *state, unsigned min_ms,
		    unsigned max_ms, unsigned k);

#endif /* CALLOSUM_WEBHOOK_H */
