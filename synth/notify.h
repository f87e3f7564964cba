/*
 * notify: how a promoted candidate leaves the router.
 *
 * promote.c renders the candidate as JSON and hands it to a notifier, a
 * table of functions picked at start-up with its implementation behind a
 * void pointer (OpenSMTPD's table backends): the webhook (webhook.h) in
 * callosumd, a fake in tests. A notifier reports each notification's
 * outcome through one callback that runs exactly once.
 */
#ifndef CALLOSUM_NOTIFY_H
#define CALLOSUM_NOTIFY_H

#include <stddef.h>

/*
 * The outcome of one notification, called exactly once, from the event
 * loop, never from inside the post call. status 0: delivered (the webhook:
 * a 2xx answer); -1: the notifier gave up, or was freed first. http_code:
 * the HTTP status of the last attempt, 0 when it got none (timeout,
 * refused, never tried). attempts: how many were made, 0 when it was freed
 * before the first.
 */
typedef void	notify_done_fn(void *arg, int status, long http_code,
		    unsigned attempts);

struct notify_ops {
	const char	*name;
	/*
	 * Queues a copy of json[0..len). 0: queued, fn (may be NULL) runs
	 * exactly once later; -1 with errno set: refused, nothing kept, no
	 * callback.
	 */
	int		(*post)(void *impl, const char *json, size_t len,
			    notify_done_fn *fn, void *arg);
	/* Every callback still owed runs once with -1 before this returns. */
	void		(*free)(void *impl);
};

/* A notifier: the table and its implementation (both borrowed). */
struct notifier {
	const struct notify_ops	*ops;
	void			*impl;
};

#endif /* CALLOSUM_NOTIFY_H */
