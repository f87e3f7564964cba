/*
 * callosum_api: the public C library (callosum.h) over the blocking client
 * the CLI, bench and tests share (client.h). Frames that arrive while a
 * call waits for its reply are copied into a FIFO and handed out, in
 * order, by callosum_next().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "tools/callosum.h"
#include "tools/client.h"

#define CALLOSUM_TIMEOUT_MS	5000

/* A frame kept for callosum_next: its msgpack bytes. */
struct callosum_held {
	STAILQ_ENTRY(callosum_held) entry;
	size_t		 len;
	char		 data[];
};

struct callosum {
	struct client			*cl;
	int				 timeout_ms;
	uint64_t			 next_id;
	STAILQ_HEAD(, callosum_held)	 held;
	msgpack_unpacked		 cur;	/* the held frame handed out */
	struct callosum_held		*cur_held;	/* its bytes: cur
							   points into them */
	int				 closed;
};

static void
callosum_fail(struct callosum_err *err, const char *code, const char *fmt,
    ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	snprintf(err->code, sizeof err->code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

/* -1 with err for a failed client call (r: what client_* returned). */
static int
callosum_lost(struct callosum *c, int r, struct callosum_err *err)
{
	if (r == 0 || c->closed) {
		c->closed = 1;
		callosum_fail(err, "closed", "the router closed the connection");
	} else if (errno == ETIMEDOUT)
		callosum_fail(err, "timeout", "no reply in time");
	else
		callosum_fail(err, "io", "%s", strerror(errno));
	return (-1);
}

static void
callosum_keep(void *arg, const msgpack_object *frame)
{
	struct callosum		*c = arg;
	struct callosum_held	*h;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_object(&pk, *frame) == 0 &&
	    (h = malloc(sizeof(*h) + sb.size)) != NULL) {
		h->len = sb.size;
		memcpy(h->data, sb.data, sb.size);
		STAILQ_INSERT_TAIL(&c->held, h, entry);
	}
	msgpack_sbuffer_destroy(&sb);
}

static void
callosum_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	wire_pack_cstr(pk, k);
	wire_pack_cstr(pk, v);
}

static void
callosum_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
	wire_pack_cstr(pk, k);
	msgpack_pack_uint64(pk, v);
}

/* The reply's err as err; 0 for an ack or pong. */
static int
callosum_answer(const msgpack_object *reply, struct callosum_err *err)
{
	struct wire_str	code, msg;

	if (client_frame_op(reply) != WIRE_OP_ERR)
		return (0);
	if (!client_get_str(reply, "code", &code))
		code.ptr = "internal", code.len = 8;
	if (!client_get_str(reply, "msg", &msg))
		msg.ptr = "", msg.len = 0;
	if (err != NULL) {
		snprintf(err->code, sizeof err->code, "%.*s", (int)code.len,
		    code.ptr);
		snprintf(err->msg, sizeof err->msg, "%.*s", (int)msg.len,
		    msg.ptr);
	}
	return (-1);
}

/* Sends what was packed with id and waits for its reply. */
static int
callosum_call(struct callosum *c, uint64_t id, msgpack_object *reply,
    struct callosum_err *err)
{
	int	r;

	if (c->closed)
		return (callosum_lost(c, 0, err));
	r = client_call(c->cl, id, c->timeout_ms, reply, callosum_keep, c);
	if (r != 1)
		return (callosum_lost(c, r, err));
	return (callosum_answer(reply, err));
}

static const char *
callosum_socket(const struct callosum_opts *o, char *buf, size_t len)
{
	const char	*dir = getenv("XDG_RUNTIME_DIR");

	if (o->socket != NULL)
		return (o->socket);
	if (dir != NULL && *dir != '\0')
		snprintf(buf, len, "%s/callosum.sock", dir);
	else
		snprintf(buf, len, "/tmp/callosum.sock");
	return (buf);
}

struct callosum *
callosum_connect(const struct callosum_opts *o, struct callosum_err *err)
{
	struct client_hello	 h;
	struct callosum		*c;
	const char		*code;
	char			 path[256];

	if (o == NULL || o->agent == NULL) {
		callosum_fail(err, "usage", "an agent name is required");
		return (NULL);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		callosum_fail(err, "io", "%s", strerror(errno));
		return (NULL);
	}
	STAILQ_INIT(&c->held);
	msgpack_unpacked_init(&c->cur);
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms :
	    CALLOSUM_TIMEOUT_MS;
	if ((c->cl = client_connect(callosum_socket(o, path,
	    sizeof path))) == NULL) {
		callosum_fail(err, "io", "%s: %s", callosum_socket(o, path,
		    sizeof path), strerror(errno));
		callosum_close(c);
		return (NULL);
	}
	h.agent = o->agent;
	h.session = o->session;
	h.model = o->model;
	h.tract = o->tract;
	if (client_hello(c->cl, &h, c->timeout_ms, &code) != 0) {
		if (code != NULL)
			callosum_fail(err, code, "%s",
			    client_err_msg(c->cl) ? client_err_msg(c->cl) : "");
		else
			callosum_lost(c, -1, err);
		callosum_close(c);
		return (NULL);
	}
	return (c);
}

void
callosum_close(struct callosum *c)
{
	struct callosum_held	*h;

	if (c == NULL)
		return;
	while ((h = STAILQ_FIRST(&c->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->held, entry);
		free(h);
	}
	msgpack_unpacked_destroy(&c->cur);
	free(c->cur_held);
	client_close(c->cl);
	free(c);
}

int
callosum_fd(struct callosum *c)
{
	return (client_fd(c->cl));
}

uint64_t
callosum_max_frame(struct callosum *c)
{
	return (client_max_frame(c->cl));
}

int
callosum_publish(struct callosum *c, const struct callosum_pub *p,
    struct callosum_ack *ack, struct callosum_err *err)
{
	msgpack_packer	*pk;
	msgpack_object	 reply;
	struct wire_str	 s;
	uint64_t	 id = ++c->next_id;
	size_t		 n = 4;

	if (p == NULL || p->to == NULL) {
		callosum_fail(err, "usage", "a pub needs to");
		return (-1);
	}
	n += (p->from != NULL) + (p->kind != NULL) + (p->pri > 0) +
	    (p->pattern != NULL);
	if ((pk = client_begin(c->cl)) == NULL)
		return (callosum_lost(c, -1, err));
	msgpack_pack_map(pk, n);
	callosum_kv_str(pk, "op", "pub");
	callosum_kv_u64(pk, "id", id);
	callosum_kv_str(pk, "to", p->to);
	if (p->from != NULL)
		callosum_kv_str(pk, "from", p->from);
	if (p->kind != NULL)
		callosum_kv_str(pk, "kind", p->kind);
	if (p->pri > 0) {
		wire_pack_cstr(pk, "pri");
		msgpack_pack_double(pk, p->pri);
	}
	if (p->pattern != NULL)
		callosum_kv_str(pk, "pattern", p->pattern);
	wire_pack_cstr(pk, "body");
	msgpack_pack_bin(pk, p->len);
	msgpack_pack_bin_body(pk, p->body, p->len);
	if (callosum_call(c, id, &reply, err) == -1)
		return (-1);
	if (ack != NULL) {
		ack->eid[0] = ack->stored[0] = '\0';
		if (client_get_str(&reply, "eid", &s))
			snprintf(ack->eid, sizeof ack->eid, "%.*s",
			    (int)s.len, s.ptr);
		if (client_get_str(&reply, "stored", &s))
			snprintf(ack->stored, sizeof ack->stored, "%.*s",
			    (int)s.len, s.ptr);
	}
	return (0);
}

int
callosum_subscribe(struct callosum *c, uint64_t sid, const char *tract,
    uint64_t credit, const char *overflow, struct callosum_err *err)
{
	msgpack_packer	*pk;
	msgpack_object	 reply;
	uint64_t	 id = ++c->next_id;

	if (tract == NULL) {
		callosum_fail(err, "usage", "a sub needs a tract");
		return (-1);
	}
	if ((pk = client_begin(c->cl)) == NULL)
		return (callosum_lost(c, -1, err));
	msgpack_pack_map(pk, overflow != NULL ? 6 : 5);
	callosum_kv_str(pk, "op", "sub");
	callosum_kv_u64(pk, "id", id);
	callosum_kv_u64(pk, "sid", sid);
	callosum_kv_str(pk, "tract", tract);
	callosum_kv_u64(pk, "credit", credit);
	if (overflow != NULL)
		callosum_kv_str(pk, "overflow", overflow);
	return (callosum_call(c, id, &reply, err));
}

/* A request answered by ack, without waiting (req, unsub). */
static int
callosum_nowait(struct callosum *c, const char *op, uint64_t sid,
    const uint64_t *n, struct callosum_err *err)
{
	msgpack_packer	*pk;

	if (c->closed)
		return (callosum_lost(c, 0, err));
	if ((pk = client_begin(c->cl)) == NULL)
		return (callosum_lost(c, -1, err));
	msgpack_pack_map(pk, n != NULL ? 3 : 2);
	callosum_kv_str(pk, "op", op);
	callosum_kv_u64(pk, "sid", sid);
	if (n != NULL)
		callosum_kv_u64(pk, "n", *n);
	if (client_send(c->cl) == -1)
		return (callosum_lost(c, -1, err));
	return (0);
}

int
callosum_request(struct callosum *c, uint64_t sid, uint64_t n,
    struct callosum_err *err)
{
	return (callosum_nowait(c, "req", sid, &n, err));
}

int
callosum_unsubscribe(struct callosum *c, uint64_t sid,
    struct callosum_err *err)
{
	return (callosum_nowait(c, "unsub", sid, NULL, err));
}

int
callosum_replay(struct callosum *c, uint64_t sid, const char *from_eid,
    const char *to_eid, const char *tract, uint64_t limit, uint64_t credit,
    struct callosum_err *err)
{
	msgpack_packer	*pk;
	msgpack_object	 reply;
	uint64_t	 id = ++c->next_id;

	if ((pk = client_begin(c->cl)) == NULL)
		return (callosum_lost(c, -1, err));
	msgpack_pack_map(pk, 4 + (from_eid != NULL) + (to_eid != NULL) +
	    (tract != NULL) + (limit > 0));
	callosum_kv_str(pk, "op", "replay");
	callosum_kv_u64(pk, "id", id);
	callosum_kv_u64(pk, "sid", sid);
	callosum_kv_u64(pk, "credit", credit);
	if (from_eid != NULL)
		callosum_kv_str(pk, "from_eid", from_eid);
	if (to_eid != NULL)
		callosum_kv_str(pk, "to_eid", to_eid);
	if (tract != NULL)
		callosum_kv_str(pk, "tract", tract);
	if (limit > 0)
		callosum_kv_u64(pk, "limit", limit);
	return (callosum_call(c, id, &reply, err));
}

static struct callosum_str
callosum_field(const msgpack_object *f, const char *key)
{
	struct callosum_str	out = { "", 0 };
	const msgpack_object	*v = wire_map_get(f, key);

	if (v != NULL && (v->type == MSGPACK_OBJECT_STR ||
	    v->type == MSGPACK_OBJECT_BIN)) {
		out.ptr = v->via.str.ptr;
		out.len = v->via.str.size;
	}
	return (out);
}

static void
callosum_copy_eid(const msgpack_object *f, const char *key, char *out)
{
	struct callosum_str	s = callosum_field(f, key);

	snprintf(out, CALLOSUM_EID_MAX, "%.*s", (int)s.len, s.ptr);
}

/* Fills ev from frame f; 1, or 0 for a frame that is not an event. */
static int
callosum_event(const msgpack_object *f, struct callosum_event *ev)
{
	const msgpack_object	*v;

	memset(ev, 0, sizeof(*ev));
	(void)client_get_u64(f, "sid", &ev->sid);
	switch (client_frame_op(f)) {
	case WIRE_OP_MSG:
		ev->type = CALLOSUM_MSG;
		callosum_copy_eid(f, "eid", ev->eid);
		ev->from = callosum_field(f, "from");
		ev->to = callosum_field(f, "to");
		ev->kind = callosum_field(f, "kind");
		ev->agent = callosum_field(f, "agent");
		ev->session = callosum_field(f, "session");
		ev->model = callosum_field(f, "model");
		ev->pattern = callosum_field(f, "pattern");
		ev->body = callosum_field(f, "body");
		if ((v = wire_map_get(f, "pri")) != NULL)
			(void)wire_obj_number(v, &ev->pri);
		if ((v = wire_map_get(f, "ts")) != NULL &&
		    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			ev->ts_us = (int64_t)v->via.u64;
		return (1);
	case WIRE_OP_LAG:
		ev->type = CALLOSUM_LAG;
		(void)client_get_u64(f, "dropped", &ev->dropped);
		callosum_copy_eid(f, "first", ev->first);
		callosum_copy_eid(f, "last", ev->last);
		return (1);
	case WIRE_OP_END:
		ev->type = CALLOSUM_END;
		return (1);
	case WIRE_OP_BYE:
		ev->type = CALLOSUM_BYE;
		ev->kind = callosum_field(f, "reason");
		return (1);
	default:
		return (0);	/* a stray reply: not an event */
	}
}

int
callosum_next(struct callosum *c, int timeout_ms, struct callosum_event *ev,
    struct callosum_err *err)
{
	struct callosum_held	*h;
	msgpack_object		 f;
	int			 r;

	while ((h = STAILQ_FIRST(&c->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->held, entry);
		msgpack_unpacked_destroy(&c->cur);
		msgpack_unpacked_init(&c->cur);
		/* The event's strings point into h: it lives until the next. */
		free(c->cur_held);
		c->cur_held = h;
		r = msgpack_unpack_next(&c->cur, h->data, h->len, NULL);
		if (r == MSGPACK_UNPACK_SUCCESS &&
		    callosum_event(&c->cur.data, ev))
			goto got;
	}
	for (;;) {
		if (c->closed)
			return (callosum_lost(c, 0, err));
		r = client_recv(c->cl, timeout_ms, &f);
		if (r == -1 && errno == ETIMEDOUT)
			return (0);
		if (r != 1)
			return (callosum_lost(c, r, err));
		if (callosum_event(&f, ev))
			break;
	}
got:
	if (ev->type == CALLOSUM_BYE)
		c->closed = 1;
	return (1);
}

int
callosum_ping(struct callosum *c, double *rtt, struct callosum_err *err)
{
	struct timespec	 t0, t1;
	msgpack_packer	*pk;
	msgpack_object	 reply;
	uint64_t	 id = ++c->next_id;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pk = client_begin(c->cl)) == NULL)
		return (callosum_lost(c, -1, err));
	msgpack_pack_map(pk, 2);
	callosum_kv_str(pk, "op", "ping");
	callosum_kv_u64(pk, "id", id);
	if (callosum_call(c, id, &reply, err) == -1)
		return (-1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rtt != NULL)
		*rtt = (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return (0);
}
