/*
 * hook_recv: see hook_recv.h. One thread, poll(2) over the listener, a
 * wake pipe and the connections; one request per connection is enough for
 * libcurl's POSTs (it may reuse a connection: then the next request on it
 * is read the same way).
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "tests/support/hook_recv.h"

#define HOOK_CONNS	16
#define HOOK_BUF	(256 * 1024)

struct hook_conn {
	int	 fd;		/* -1: free */
	char	*buf;
	size_t	 len;
	bool	 held;		/* never answered: only closed at stop */
};

struct hook_recv {
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	int		 lfd;
	int		 wake[2];
	uint16_t	 port;
	int		 statuses[HOOK_RECV_MAX];
	size_t		 nstatuses;
	struct hook_req	 reqs[HOOK_RECV_MAX];
	size_t		 nreqs;
	struct hook_conn conns[HOOK_CONNS];
};

/* The value of header name in the head (len bytes), copied into out. */
static void
hook_header(const char *head, const char *name, char *out, size_t size)
{
	const char	*p = head;
	size_t		 n = strlen(name), v;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			v = strcspn(p, "\r\n");
			snprintf(out, size, "%.*s", (int)v, p);
			return;
		}
	}
}

/* A whole request is in c->buf: record it; returns its length, or 0. */
static size_t
hook_parse(struct hook_recv *r, struct hook_conn *c)
{
	struct hook_req	*q;
	char		*end, clen[32];
	size_t		 head, body;

	if (c->len == 0 || (end = memmem(c->buf, c->len, "\r\n\r\n", 4)) ==
	    NULL)
		return (0);
	head = (size_t)(end - c->buf) + 4;
	c->buf[head - 2] = '\0';	/* headers as a string */
	hook_header(c->buf, "Content-Length", clen, sizeof clen);
	body = strtoul(clen, NULL, 10);
	c->buf[head - 2] = '\r';
	if (c->len < head + body)
		return (0);
	pthread_mutex_lock(&r->mu);
	if (r->nreqs < HOOK_RECV_MAX) {
		q = &r->reqs[r->nreqs];
		memset(q, 0, sizeof(*q));
		sscanf(c->buf, "%15s %127s", q->method, q->path);
		c->buf[head - 2] = '\0';
		hook_header(c->buf, "Content-Type", q->content_type,
		    sizeof q->content_type);
		c->buf[head - 2] = '\r';
		q->body = calloc(1, body + 1);
		if (q->body != NULL)
			memcpy(q->body, c->buf + head, body);
		q->len = body;
		r->nreqs++;
	}
	pthread_mutex_unlock(&r->mu);
	return (head + body);
}

static int
hook_status(struct hook_recv *r)
{
	size_t	i;

	pthread_mutex_lock(&r->mu);
	i = r->nreqs == 0 ? 0 : r->nreqs - 1;
	if (i >= r->nstatuses)
		i = r->nstatuses - 1;
	pthread_mutex_unlock(&r->mu);
	return (r->statuses[i]);
}

static void
hook_close(struct hook_conn *c)
{
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
hook_answer(struct hook_conn *c, int status)
{
	char	resp[128];
	int	n;

	if (status == 0) {
		c->held = true;
		return;
	}
	n = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 2"
	    "\r\nConnection: close\r\n\r\nok", status);
	(void)!write(c->fd, resp, (size_t)n);
	hook_close(c);
}

static void
hook_read(struct hook_recv *r, struct hook_conn *c)
{
	ssize_t	n;
	size_t	used;

	if (c->len == HOOK_BUF) {
		hook_close(c);
		return;
	}
	n = read(c->fd, c->buf + c->len, HOOK_BUF - c->len);
	if (n <= 0) {
		hook_close(c);
		return;
	}
	c->len += (size_t)n;
	if (!c->held && (used = hook_parse(r, c)) > 0)
		hook_answer(c, hook_status(r));
}

static void
hook_accept(struct hook_recv *r)
{
	int	fd, i;

	if ((fd = accept(r->lfd, NULL, NULL)) == -1)
		return;
	for (i = 0; i < HOOK_CONNS; i++) {
		if (r->conns[i].fd == -1) {
			r->conns[i].fd = fd;
			r->conns[i].buf = malloc(HOOK_BUF);
			return;
		}
	}
	close(fd);
}

static void *
hook_main(void *arg)
{
	struct hook_recv	*r = arg;
	struct pollfd		 pfd[HOOK_CONNS + 2];
	int			 i, idx[HOOK_CONNS], n;

	for (;;) {
		pfd[0] = (struct pollfd){ r->wake[0], POLLIN, 0 };
		pfd[1] = (struct pollfd){ r->lfd, POLLIN, 0 };
		n = 2;
		for (i = 0; i < HOOK_CONNS; i++) {
			if (r->conns[i].fd == -1)
				continue;
			idx[n - 2] = i;
			pfd[n++] = (struct pollfd){ r->conns[i].fd, POLLIN, 0 };
		}
		if (poll(pfd, (nfds_t)n, -1) == -1 && errno != EINTR)
			break;
		if (pfd[0].revents != 0)
			break;
		if (pfd[1].revents & POLLIN)
			hook_accept(r);
		for (i = 2; i < n; i++) {
			if (pfd[i].revents != 0)
				hook_read(r, &r->conns[idx[i - 2]]);
		}
	}
	return (NULL);
}

struct hook_recv *
hook_recv_start(const int *statuses, size_t n)
{
	struct hook_recv	*r = calloc(1, sizeof(*r));
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 i;

	if (r == NULL || n == 0 || n > HOOK_RECV_MAX)
		HFAIL("hook_recv_start: bad arguments");
	memcpy(r->statuses, statuses, n * sizeof(*statuses));
	r->nstatuses = n;
	for (i = 0; i < HOOK_CONNS; i++)
		r->conns[i].fd = -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(r->lfd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(r->lfd, 16) == -1 ||
	    getsockname(r->lfd, (struct sockaddr *)&sin, &len) == -1 ||
	    pipe(r->wake) == -1)
		HFAIL("hook receiver: %s", strerror(errno));
	r->port = ntohs(sin.sin_port);
	pthread_mutex_init(&r->mu, NULL);
	if (pthread_create(&r->thread, NULL, hook_main, r) != 0)
		HFAIL("hook receiver: no thread");
	return (r);
}

uint16_t
hook_recv_port(const struct hook_recv *r)
{
	return (r->port);
}

size_t
hook_recv_count(struct hook_recv *r)
{
	size_t	n;

	pthread_mutex_lock(&r->mu);
	n = r->nreqs;
	pthread_mutex_unlock(&r->mu);
	return (n);
}

size_t
hook_recv_wait(struct hook_recv *r, size_t n, int timeout_ms)
{
	int64_t	deadline = harness_now_ms() + timeout_ms;

	while (hook_recv_count(r) < n && harness_now_ms() < deadline)
		usleep(10000);
	return (hook_recv_count(r));
}

struct hook_req
hook_recv_get(struct hook_recv *r, size_t i)
{
	struct hook_req	q;

	pthread_mutex_lock(&r->mu);
	if (i >= r->nreqs) {
		pthread_mutex_unlock(&r->mu);
		HFAIL("hook_recv_get: no request %zu", i);
	}
	q = r->reqs[i];
	q.body = strdup(q.body != NULL ? q.body : "");
	pthread_mutex_unlock(&r->mu);
	return (q);
}

void
hook_recv_stop(struct hook_recv *r)
{
	size_t	i;

	if (r == NULL)
		return;
	(void)!write(r->wake[1], "x", 1);
	pthread_join(r->thread, NULL);
	for (i = 0; i < HOOK_CONNS; i++) {
		if (r->conns[i].fd != -1)
			hook_close(&r->conns[i]);
	}
	for (i = 0; i < r->nreqs; i++)
		free(r->reqs[i].body);
	close(r->lfd);
	close(r->wake[0]);
	close(r->wake[1]);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
