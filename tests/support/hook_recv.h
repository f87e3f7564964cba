/*
 * hook_recv: a webhook receiver for tests, on 127.0.0.1 (a port of its
 * own), in a thread. It reads each request (headers and a Content-Length
 * body), keeps its method, path, Content-Type and body, and answers with
 * the next status of a script (the last one repeats); status 0 means
 * "never answer" (the connection is held open until the receiver stops).
 */
#ifndef CALLOSUM_HOOK_RECV_H
#define CALLOSUM_HOOK_RECV_H

#include <stddef.h>
#include <stdint.h>

#define HOOK_RECV_MAX	32	/* requests kept */

struct hook_req {
	char	method[16];
	char	path[128];
	char	content_type[64];
	char	*body;		/* NUL-terminated */
	size_t	 len;
};

struct hook_recv;

/* Starts a receiver answering statuses[0..n) in turn; fails the test else. */
struct hook_recv	*hook_recv_start(const int *statuses, size_t n);
uint16_t		 hook_recv_port(const struct hook_recv *);
/* Requests received so far. */
size_t			 hook_recv_count(struct hook_recv *);
/* Waits up to timeout_ms until count >= n; returns the count. */
size_t			 hook_recv_wait(struct hook_recv *, size_t n,
			    int timeout_ms);
/* A copy of request i (the caller frees body). */
struct hook_req		 hook_recv_get(struct hook_recv *, size_t i);
/* Stops the thread, closes every socket, frees everything. */
void			 hook_recv_stop(struct hook_recv *);

#endif
