/*
 * client: a small blocking client of protocol v1. See client.h.
 *
 * Plain blocking sockets and poll(2). Received bytes accumulate in one
 * read buffer; a frame is decoded in place, so its objects point into that
 * buffer and the frame is dropped only at the next client_recv(). Requests
 * are packed straight into an sbuffer that may queue several frames.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/client.h"

/* The least room a read asks for, so small frames coalesce cheaply. */
#define CLIENT_READ_MIN		(64 * 1024)
#define CLIENT_ERR_CODE_MAX	64

struct client {
	int			 fd;

	/* Received bytes: [roff, rlen) are not yet consumed. */
	unsigned char		*rbuf;
	size_t			 rcap;
	size_t			 roff;
	size_t			 rlen;
	/* Bytes of the frame last returned, dropped at the next recv. */
	size_t			 last;
	struct wire_decoder	 dec;

	/* Queued frames, then the open one from frame_start when open. */
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	size_t			 frame_start;
	bool			 open;
	bool			 pack_failed;

	uint64_t		 conn_id;
	uint64_t		 max_frame;
	char			 err_code[CLIENT_ERR_CODE_MAX];
	char			*err_msg;
};

/* The packer's sink: remembers a failed write so client_end() can tell. */
static int
client_pack_write(void *data, const char *buf, size_t len)
{
	struct client	*c = data;

	if (msgpack_sbuffer_write(&c->sb, buf, len) != 0) {
		c->pack_failed = true;
		return (-1);
	}
	return (0);
}

static int64_t
client_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The deadline for timeout_ms from now; -1 means none. */
static int64_t
client_deadline(int timeout_ms)
{
	if (timeout_ms < 0)
		return (-1);
	return (client_now_ms() + timeout_ms);
}

/* What is left until deadline, as a poll() timeout. */
static int
client_remaining(int64_t deadline)
{
	int64_t	left;

	if (deadline < 0)
		return (-1);
	left = deadline - client_now_ms();
	if (left <= 0)
		return (0);
	return (left > INT32_MAX ? INT32_MAX : (int)left);
}

struct client *
client_connect(const char *path)
{
	struct sockaddr_un	 sun;
	struct client		*c;
	int			 fd = -1, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (NULL);
	}
	strcpy(sun.sun_path, path);

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	if (wire_decoder_init(&c->dec) == -1) {
		errno = ENOMEM;
		goto fail;
	}
	c->fd = fd;
	c->max_frame = WIRE_MAX_FRAME_DEFAULT;
	msgpack_sbuffer_init(&c->sb);
	msgpack_packer_init(&c->pk, c, client_pack_write);
	return (c);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	free(c);
	errno = saved;
	return (NULL);
}

void
client_close(struct client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->rbuf);
	msgpack_sbuffer_destroy(&c->sb);
	wire_decoder_free(&c->dec);
	free(c->err_msg);
	free(c);
}

int
client_fd(struct client *c)
{
	return (c->fd);
}

uint64_t
client_conn_id(struct client *c)
{
	return (c->conn_id);
}

uint64_t
client_max_frame(struct client *c)
{
	return (c->max_frame);
}

const char *
client_err_msg(struct client *c)
{
	return (c->err_msg != NULL ? c->err_msg : "");
}

/* Writes all of buf, through EINTR, partial writes and a non-blocking fd. */
static int
client_write(struct client *c, const void *buf, size_t len)
{
	const char	*p = buf;
	struct pollfd	 pfd;
	ssize_t		 n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return (-1);
			pfd.fd = c->fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
				return (-1);
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

msgpack_packer *
client_begin(struct client *c)
{
	size_t	start;

	/* A frame begun and never ended is discarded. */
	if (c->open)
		c->sb.size = c->frame_start;
	c->open = false;
	c->pack_failed = false;
	if ((start = wire_frame_begin(&c->sb)) == (size_t)-1) {
		errno = ENOMEM;
		return (NULL);
	}
	c->frame_start = start;
	c->open = true;
	return (&c->pk);
}

int
client_end(struct client *c)
{
	size_t	len;

	if (!c->open) {
		errno = EINVAL;
		return (-1);
	}
	c->open = false;
	if (c->pack_failed) {
		c->sb.size = c->frame_start;
		errno = ENOMEM;
		return (-1);
	}
	len = c->sb.size - c->frame_start - WIRE_HDR_LEN;
	if (len > c->max_frame) {
		/* The router would answer bad_frame and close: refuse here. */
		c->sb.size = c->frame_start;
		errno = EMSGSIZE;
		return (-1);
	}
	wire_frame_end(&c->sb, c->frame_start);
	return (0);
}

int
client_flush(struct client *c)
{
	size_t	len;
	int	r;

	/* Only complete frames are sent; an open one stays where it is. */
	len = c->open ? c->frame_start : c->sb.size;
	if (len == 0)
		return (0);
	r = client_write(c, c->sb.data, len);
	/*
	 * After a failed write part of the queue may have gone out; sending
	 * it again would corrupt the stream, so the queue is dropped anyway.
	 */
	memmove(c->sb.data, c->sb.data + len, c->sb.size - len);
	c->sb.size -= len;
	if (c->open)
		c->frame_start = 0;
	return (r);
}

int
client_send(struct client *c)
{
	/* Without an open frame, this sends what client_end() queued. */
	if (c->open && client_end(c) == -1)
		return (-1);
	return (client_flush(c));
}

int
client_send_raw(struct client *c, const void *buf, size_t len)
{
	if (client_flush(c) == -1)
		return (-1);
	return (client_write(c, buf, len));
}

/*
 * Makes room for need bytes from the start of the unconsumed data, and for
 * a worthwhile read. Consumed bytes are moved out first.
 */
static int
client_rbuf_room(struct client *c, size_t need)
{
	unsigned char	*p;
	size_t		 want, cap;

	if (c->roff > 0) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	want = need;
	if (want < c->rlen + CLIENT_READ_MIN)
		want = c->rlen + CLIENT_READ_MIN;
	if (c->rcap >= want)
		return (0);
	cap = c->rcap == 0 ? CLIENT_READ_MIN : c->rcap;
	while (cap < want)
		cap *= 2;
	if ((p = realloc(c->rbuf, cap)) == NULL)
		return (-1);
	c->rbuf = p;
	c->rcap = cap;
	return (0);
}

/*
 * Waits for the socket to be readable until deadline. 0, or -1 with
 * ETIMEDOUT or the poll error.
 */
static int
client_wait(struct client *c, int64_t deadline)
{
	struct pollfd	pfd;
	int		r;

	for (;;) {
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, client_remaining(deadline));
		if (r > 0)
			return (0);
		if (r == 0) {
			errno = ETIMEDOUT;
			return (-1);
		}
		if (errno != EINTR)
			return (-1);
	}
}

int
client_recv(struct client *c, int timeout_ms, msgpack_object *out)
{
	int64_t		 deadline = client_deadline(timeout_ms);
	const char	*why;
	size_t		 avail, need;
	uint32_t	 len;
	ssize_t		 n;

	c->roff += c->last;
	c->last = 0;
	if (c->roff == c->rlen)
		c->roff = c->rlen = 0;

	for (;;) {
		avail = c->rlen - c->roff;
		need = WIRE_HDR_LEN;
		if (avail >= WIRE_HDR_LEN) {
			len = wire_frame_len(c->rbuf + c->roff);
			/*
			 * Checked from the header alone, before buffering.
			 * The router's frames may be WIRE_OUT_SLACK longer
			 * than what it lets us send.
			 */
			if (len == 0 || len > c->max_frame + WIRE_OUT_SLACK) {
				errno = EPROTO;
				return (-1);
			}
			need = WIRE_HDR_LEN + (size_t)len;
			if (avail >= need) {
				if (wire_decode(&c->dec,
				    (const char *)c->rbuf + c->roff +
				    WIRE_HDR_LEN, len, out, &why) == -1) {
					errno = EPROTO;
					return (-1);
				}
				c->last = need;
				return (1);
			}
		}
		if (client_rbuf_room(c, need) == -1)
			return (-1);
		if (client_wait(c, deadline) == -1)
			return (-1);
		n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1 && errno != ECONNRESET)
			return (-1);
		if (n <= 0) {
			/* A close between frames is a close; inside, EPROTO. */
			if (c->rlen != c->roff) {
				errno = EPROTO;
				return (-1);
			}
			return (0);
		}
		c->rlen += (size_t)n;
	}
}

enum wire_op
client_frame_op(const msgpack_object *frame)
{
	struct wire_str	op;

	if (!client_get_str(frame, "op", &op))
		return (WIRE_OP_UNKNOWN);
	return (wire_op_lookup(op.ptr, op.len));
}

bool
client_get_u64(const msgpack_object *frame, const char *key, uint64_t *out)
{
	const msgpack_object	*v;

	v = wire_map_get(frame, key);
	if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (false);
	*out = v->via.u64;
	return (true);
}

bool
client_get_str(const msgpack_object *frame, const char *key,
    struct wire_str *out)
{
	const msgpack_object	*v;

	out->ptr = NULL;
	out->len = 0;
	v = wire_map_get(frame, key);
	if (v == NULL || v->type != MSGPACK_OBJECT_STR)
		return (false);
	/* An empty str may carry a NULL pointer; present means non-NULL. */
	out->ptr = v->via.str.size != 0 ? v->via.str.ptr : "";
	out->len = v->via.str.size;
	return (true);
}

/* Keeps the code and msg of an err frame for client_hello's caller. */
static void
client_keep_err(struct client *c, const msgpack_object *frame)
{
	struct wire_str	code, msg;
	size_t		len;

	client_get_str(frame, "code", &code);
	len = code.len < sizeof(c->err_code) - 1 ? code.len :
	    sizeof(c->err_code) - 1;
	if (len != 0)
		memcpy(c->err_code, code.ptr, len);
	c->err_code[len] = '\0';
	if (c->err_code[0] == '\0')
		strcpy(c->err_code, "internal");

	free(c->err_msg);
	c->err_msg = NULL;
	if (client_get_str(frame, "msg", &msg))
		c->err_msg = strndup(msg.ptr, msg.len);	/* NULL reads "" */
}

static int
client_pack_kv(msgpack_packer *pk, const char *key, const char *val)
{
	if (wire_pack_cstr(pk, key) != 0 || wire_pack_cstr(pk, val) != 0)
		return (-1);
	return (0);
}

int
client_hello(struct client *c, const struct client_hello *h, int timeout_ms,
    const char **err_code)
{
	int64_t		 deadline = client_deadline(timeout_ms);
	msgpack_packer	*pk;
	msgpack_object	 f;
	enum wire_op	 op;
	uint64_t	 v;
	size_t		 n = 3;
	int		 r;

	*err_code = NULL;
	free(c->err_msg);
	c->err_msg = NULL;

	/* No id: ADR 0004 answers hello with welcome alone either way. */
	n += (h->session != NULL) + (h->model != NULL) + (h->tract != NULL);
	if ((pk = client_begin(c)) == NULL)
		return (-1);
	msgpack_pack_map(pk, n);
	client_pack_kv(pk, "op", "hello");
	wire_pack_cstr(pk, "v");
	msgpack_pack_uint64(pk, WIRE_VERSION);
	client_pack_kv(pk, "agent", h->agent);
	if (h->session != NULL)
		client_pack_kv(pk, "session", h->session);
	if (h->model != NULL)
		client_pack_kv(pk, "model", h->model);
	if (h->tract != NULL)
		client_pack_kv(pk, "tract", h->tract);
	if (client_send(c) == -1)
		return (-1);

	for (;;) {
		r = client_recv(c, client_remaining(deadline), &f);
		if (r == 0)
			errno = ECONNRESET;
		if (r != 1)
			return (-1);
		op = client_frame_op(&f);
		switch (op) {
		case WIRE_OP_WELCOME:
			if (client_get_u64(&f, "conn", &v))
				c->conn_id = v;
			if (wire_map_get(&f, "max_frame") != NULL) {
				if (!client_get_u64(&f, "max_frame", &v) ||
				    v == 0 || v > UINT32_MAX) {
					errno = EPROTO;
					return (-1);
				}
				c->max_frame = v;
			}
			return (0);
		case WIRE_OP_ERR:
			client_keep_err(c, &f);
			*err_code = c->err_code;
			errno = ECONNREFUSED;
			return (-1);
		case WIRE_OP_BYE:
			errno = ECONNRESET;
			return (-1);
		default:
			/* Unknown frames are ignored (forward compatible). */
			break;
		}
	}
}

int
client_call(struct client *c, uint64_t id, int timeout_ms,
    msgpack_object *reply, client_frame_cb *skip_cb, void *arg)
{
	int64_t		deadline = client_deadline(timeout_ms);
	enum wire_op	op;
	uint64_t	rid;
	int		r;

	if (client_send(c) == -1)
		return (-1);
	for (;;) {
		r = client_recv(c, client_remaining(deadline), reply);
		if (r != 1)
			return (r);
		op = client_frame_op(reply);
		if ((op == WIRE_OP_ACK || op == WIRE_OP_ERR ||
		    op == WIRE_OP_PONG || op == WIRE_OP_STATS ||
		    op == WIRE_OP_CONNS || op == WIRE_OP_WELCOME) &&
		    client_get_u64(reply, "id", &rid) && rid == id)
			return (1);
		if (skip_cb != NULL)
			skip_cb(arg, reply);
	}
}
