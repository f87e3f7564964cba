/*
 * http_get: a tiny blocking HTTP/1.0 client for the integration tests of
 * callosumd --http, and the loopback ports they listen on.
 *
 * One request per connection (HTTP/1.0: the server closes after the
 * response), every step under one deadline: connect, send, and each read
 * until the close. Nothing here fails a test: calls return -1 with a
 * reason, and the caller decides (HFAIL).
 */
#ifndef CALLOSUM_HTTP_GET_H
#define CALLOSUM_HTTP_GET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_GET_CAUSE_MAX	256

struct http_resp {
	int	 status;	/* from the status line */
	char	*head;		/* status line, headers; NUL-terminated */
	size_t	 head_len;
	char	*body;		/* NUL-terminated (may hold NULs) */
	size_t	 body_len;
};

/*
 * Sends "METHOD path HTTP/1.0" to 127.0.0.1:port and reads the response
 * until the server closes, all within timeout_ms. 0 with *out filled (free
 * it with http_resp_free), or -1 with a reason in cause (of
 * HTTP_GET_CAUSE_MAX bytes) and *out empty.
 */
int	 http_request(uint16_t port, const char *method, const char *path,
	    int timeout_ms, struct http_resp *out, char *cause);
/* http_request with GET. */
int	 http_get(uint16_t port, const char *path, int timeout_ms,
	    struct http_resp *out, char *cause);
/* Frees what the response holds; it is then empty. */
void	 http_resp_free(struct http_resp *);
/*
 * Copies the value of header name (case-insensitive) into buf. false when
 * absent.
 */
bool	 http_resp_header(const struct http_resp *, const char *name,
	    char *buf, size_t size);

/*
 * A loopback TCP port nobody listens on now: the kernel's pick for
 * 127.0.0.1:0, the socket closed again. 0 when no socket could be bound.
 */
uint16_t http_free_port(void);
/* True when a socket can be bound and listen on 127.0.0.1:port now. */
bool	 http_port_free(uint16_t port);

/*
 * Opens a connection to 127.0.0.1:port with a receive buffer of rcvbuf
 * bytes (0: the default) and sends "GET path HTTP/1.0", within
 * timeout_ms; the caller reads it, or not, and closes it. The fd, or -1
 * with a reason in cause.
 */
int	 http_open_request(uint16_t port, const char *path, int rcvbuf,
	    int timeout_ms, char *cause);

#endif
