/*
 * client: a small blocking client of protocol v1, shared by the callosum
 * CLI, the benchmark's control path and the integration tests.
 *
 * One connection, one decoder. A received frame's objects live until the
 * next client_recv() on the same client. Requests are built with the
 * client's packer between client_begin() and client_send().
 */
#ifndef CALLOSUM_CLIENT_H
#define CALLOSUM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "router/lib/wire.h"

struct client;

struct client_hello {
	const char	*agent;		/* required */
	const char	*session;	/* NULL: not sent */
	const char	*model;
	const char	*tract;
};

/* Connects to the Unix socket at path. NULL with errno set on failure. */
struct client	*client_connect(const char *path);
/* Closes the socket and frees everything. NULL is a no-op. */
void		 client_close(struct client *);
int		 client_fd(struct client *);

/*
 * Sends hello and waits for welcome (up to timeout_ms). Returns 0, or -1:
 * *err_code is then the router's err code, or NULL for an I/O failure or
 * a timeout (errno set).
 */
int		 client_hello(struct client *, const struct client_hello *,
		    int timeout_ms, const char **err_code);
/*
 * The msg of the err frame client_hello() last failed with ("" when none),
 * valid until the next client_hello() or client_close().
 */
const char	*client_err_msg(struct client *);
/*
 * The welcome frame's fields, valid after client_hello() succeeded.
 * client_max_frame() bounds the frames the client sends
 * (WIRE_MAX_FRAME_DEFAULT before welcome); it reads frames of up to
 * client_max_frame() + WIRE_OUT_SLACK bytes.
 */
uint64_t	 client_conn_id(struct client *);
uint64_t	 client_max_frame(struct client *);

/*
 * Starts a request frame; returns the packer to write one map with, or NULL
 * (ENOMEM). Frames queued by client_end() stay queued; a frame begun and
 * never ended is discarded.
 */
msgpack_packer	*client_begin(struct client *);
/*
 * Frames what was packed since client_begin() and sends it with every
 * frame queued before it (with no frame begun: sends the queue). 0 or -1:
 * EMSGSIZE (the frame is dropped) when it is larger than
 * client_max_frame(), ENOMEM when packing failed to grow the buffer, or
 * the send error.
 */
int		 client_send(struct client *);
/*
 * Frames what was packed since client_begin() and queues it without
 * sending, so that a pipelining caller sends a batch with one write.
 * 0 or -1 (EMSGSIZE, ENOMEM; the frame is dropped, the queue stays).
 */
int		 client_end(struct client *);
/* Sends every queued frame. 0 or -1. */
int		 client_flush(struct client *);
/* Sends raw bytes as they are (for malformed-input tests). 0 or -1. */
int		 client_send_raw(struct client *, const void *buf, size_t len);

/*
 * Waits up to timeout_ms (-1: forever) for the next frame and decodes it
 * into *out (a map). Returns 1 for a frame, 0 when the router closed the
 * connection, -1 on timeout (errno ETIMEDOUT), an I/O error or a frame
 * that is not valid protocol (errno EPROTO: a length of 0 or above
 * client_max_frame() + WIRE_OUT_SLACK, a body that is not one map, a close
 * inside a frame).
 */
int		 client_recv(struct client *, int timeout_ms, msgpack_object *out);

/* The op of a received frame, or WIRE_OP_UNKNOWN. */
enum wire_op	 client_frame_op(const msgpack_object *frame);
/* Field accessors for received frames; false/NULL when absent or mistyped. */
bool		 client_get_u64(const msgpack_object *frame, const char *key,
		    uint64_t *out);
bool		 client_get_str(const msgpack_object *frame, const char *key,
		    struct wire_str *out);

/*
 * Convenience for one request with an id: sends what was packed (which
 * must include "id": id) and waits for the reply frame carrying that id,
 * skipping other frames (msg, lag, ...) are handed to skip_cb when set.
 * Returns 1 with *reply set (ack, err, pong, stats or conns), 0 on close,
 * -1 on timeout or error.
 */
typedef void	 client_frame_cb(void *arg, const msgpack_object *frame);
int		 client_call(struct client *, uint64_t id, int timeout_ms,
		    msgpack_object *reply, client_frame_cb *skip_cb, void *arg);

#endif
