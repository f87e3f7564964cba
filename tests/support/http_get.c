/*
 * http_get: see http_get.h. Non-blocking sockets driven by poll(2) under
 * one deadline per request, so that a server that never answers fails
 * the request instead of hanging the test.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/http_get.h"

/* A response larger than this is refused (a /metrics page is far less). */
#define HTTP_GET_MAX	(64u << 20)

static int64_t
http_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int
http_cause(char *cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
http_cause(char *cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(cause, HTTP_GET_CAUSE_MAX, fmt, ap);
	va_end(ap);
	return (-1);
}

static void
http_loopback(struct sockaddr_in *sin, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Waits for events on fd until deadline. 1 ready, 0 timed out, -1 error. */
static int
http_wait(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		r;

	for (;;) {
		if ((left = deadline - http_now_ms()) <= 0)
			return (0);
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno == EINTR)
			continue;
		return (r < 0 ? -1 : r);
	}
}

/* A connected non-blocking socket to 127.0.0.1:port, or -1. */
static int
http_connect(uint16_t port, int rcvbuf, int64_t deadline, char *cause)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(int);
	int			fd, err = 0, r;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return (http_cause(cause, "socket: %s", strerror(errno)));
	/* Before connect: the window is announced in the handshake. */
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == -1) {
		http_cause(cause, "SO_RCVBUF: %s", strerror(errno));
		goto fail;
	}
	http_loopback(&sin, port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return (fd);
	if (errno != EINPROGRESS) {
		http_cause(cause, "connect 127.0.0.1:%u: %s", port,
		    strerror(errno));
		goto fail;
	}
	if ((r = http_wait(fd, POLLOUT, deadline)) <= 0) {
		http_cause(cause, "connect 127.0.0.1:%u: %s", port,
		    r == 0 ? "timed out" : strerror(errno));
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		http_cause(cause, "connect 127.0.0.1:%u: %s", port,
		    strerror(err != 0 ? err : errno));
		goto fail;
	}
	return (fd);
fail:
	close(fd);
	return (-1);
}

static int
http_send_all(int fd, const char *p, size_t len, int64_t deadline,
    char *cause)
{
	ssize_t	n;
	int	r;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = http_wait(fd, POLLOUT, deadline)) <= 0)
				return (http_cause(cause, "send: %s",
				    r == 0 ? "timed out" : strerror(errno)));
			continue;
		}
		return (http_cause(cause, "send: %s", strerror(errno)));
	}
	return (0);
}

int
http_open_request(uint16_t port, const char *path, int rcvbuf,
    int timeout_ms, char *cause)
{
	int64_t	deadline = http_now_ms() + timeout_ms;
	char	req[1024];
	int	fd, n;

	n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u"
	    "\r\n\r\n", path, port);
	if (n < 0 || (size_t)n >= sizeof req)
		return (http_cause(cause, "request too long"));
	if ((fd = http_connect(port, rcvbuf, deadline, cause)) == -1)
		return (-1);
	if (http_send_all(fd, req, (size_t)n, deadline, cause) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Reads until the peer closes, within deadline; *bufp is malloc'd. */
static int
http_read_all(int fd, int64_t deadline, char **bufp, size_t *lenp,
    char *cause)
{
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 r;

	for (;;) {
		if (cap - len < 4096) {
			if (cap >= HTTP_GET_MAX) {
				http_cause(cause, "response over %u bytes",
				    HTTP_GET_MAX);
				goto fail;
			}
			cap = cap == 0 ? 16384 : cap * 2;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				http_cause(cause, "realloc: %s",
				    strerror(errno));
				goto fail;
			}
			buf = nbuf;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			http_cause(cause, "recv after %zu bytes: %s", len,
			    strerror(errno));
			goto fail;
		}
		if ((r = http_wait(fd, POLLIN, deadline)) <= 0) {
			http_cause(cause, "recv after %zu bytes: %s", len,
			    r == 0 ? "timed out" : strerror(errno));
			goto fail;
		}
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return (http_cause(cause, "malloc: %s", strerror(errno)));
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return (0);
fail:
	free(buf);
	return (-1);
}

/* Splits raw into the status, the head and the body. */
static int
http_parse(char *raw, size_t len, struct http_resp *out, char *cause)
{
	char	*end = NULL, *p;
	size_t	 i, hlen;
	int	 status = 0, k;

	for (i = 0; i + 4 <= len; i++) {
		if (memcmp(raw + i, "\r\n\r\n", 4) == 0) {
			end = raw + i;
			break;
		}
	}
	if (end == NULL)
		return (http_cause(cause, "no end of headers in %zu bytes",
		    len));
	if (len < 12 || (memcmp(raw, "HTTP/1.0 ", 9) != 0 &&
	    memcmp(raw, "HTTP/1.1 ", 9) != 0))
		return (http_cause(cause, "no status line: %.40s", raw));
	for (p = raw + 9, k = 0; k < 3; k++, p++) {
		if (*p < '0' || *p > '9')
			return (http_cause(cause, "bad status: %.40s", raw));
		status = status * 10 + (*p - '0');
	}
	hlen = (size_t)(end - raw);
	if ((out->head = malloc(hlen + 1)) == NULL ||
	    (out->body = malloc(len - hlen - 4 + 1)) == NULL) {
		free(out->head);
		out->head = NULL;
		return (http_cause(cause, "malloc: %s", strerror(errno)));
	}
	memcpy(out->head, raw, hlen);
	out->head[hlen] = '\0';
	out->head_len = hlen;
	out->body_len = len - hlen - 4;
	memcpy(out->body, end + 4, out->body_len);
	out->body[out->body_len] = '\0';
	out->status = status;
	return (0);
}

int
http_request(uint16_t port, const char *method, const char *path,
    int timeout_ms, struct http_resp *out, char *cause)
{
	int64_t	 deadline = http_now_ms() + timeout_ms;
	char	 req[1024], *raw = NULL;
	size_t	 len = 0;
	int	 fd, n, rc = -1;

	memset(out, 0, sizeof(*out));
	n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%u"
	    "\r\n\r\n", method, path, port);
	if (n < 0 || (size_t)n >= sizeof req)
		return (http_cause(cause, "request too long"));
	if ((fd = http_connect(port, 0, deadline, cause)) == -1)
		return (-1);
	if (http_send_all(fd, req, (size_t)n, deadline, cause) == 0 &&
	    http_read_all(fd, deadline, &raw, &len, cause) == 0)
		rc = http_parse(raw, len, out, cause);
	free(raw);
	close(fd);
	return (rc);
}

int
http_get(uint16_t port, const char *path, int timeout_ms,
    struct http_resp *out, char *cause)
{
	return (http_request(port, "GET", path, timeout_ms, out, cause));
}

void
http_resp_free(struct http_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

bool
http_resp_header(const struct http_resp *r, const char *name, char *buf,
    size_t size)
{
	const char	*line, *nl, *v;
	size_t		 nlen = strlen(name), vlen;

	if (r->head == NULL || (line = strstr(r->head, "\r\n")) == NULL)
		return (false);
	for (line += 2; *line != '\0'; line = nl + 2) {
		if ((nl = strstr(line, "\r\n")) == NULL)
			nl = line + strlen(line);
		if ((size_t)(nl - line) > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			for (v = line + nlen + 1; *v == ' ' || *v == '\t';)
				v++;
			vlen = (size_t)(nl - v);
			if (size == 0)
				return (true);
			if (vlen >= size)
				vlen = size - 1;
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			return (true);
		}
		if (*nl == '\0')
			break;
	}
	return (false);
}

/* A socket bound to 127.0.0.1:port (0: any), listening; -1 if it can't. */
static int
http_bind(uint16_t port)
{
	struct sockaddr_in	sin;
	int			fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	http_loopback(&sin, port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 1) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

uint16_t
http_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	uint16_t		port = 0;
	int			fd;

	if ((fd = http_bind(0)) == -1)
		return (0);
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

bool
http_port_free(uint16_t port)
{
	int	fd;

	if ((fd = http_bind(port)) == -1)
		return (false);
	close(fd);
	return (true);
}
