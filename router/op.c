/*
 * op: one handler per client op. Each checks its fields, acts, and answers
 * ack (when the request had an id) or err. Client mistakes end in an err
 * frame and the connection carries on; only bad framing closes it.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "eventstore/eventstore.h"
#include "router/config.h"
#include "router/conn.h"
#include "router/lib/htab.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/op.h"
#include "router/replay.h"
#include "router/server.h"
#include "router/stats.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define OP_ERR(c, req, code, why) \
	conn_send_err((c), (req)->has_id, (req)->id, (code), (why))

static struct es_bytes
op_bytes(const char *s, size_t len)
{
	struct es_bytes	b = { s, (uint32_t)len };

	return (b);
}

/*
 * Checks a tract name from a client. Returns WIRE_OK, WIRE_BAD_TRACT or,
 * unless reserved names are allowed, WIRE_RESERVED_TRACT.
 */
static enum wire_code
op_check_tract(const struct wire_str *s, bool allow_reserved, const char **why)
{
	if (!wire_tract_name_ok(s->ptr, s->len)) {
		*why = "tract names match [A-Za-z0-9_.-]{1,64}";
		return (WIRE_BAD_TRACT);
	}
	if (!allow_reserved && wire_tract_reserved(s->ptr, s->len)) {
		*why = "tracts starting with $ are the router's";
		return (WIRE_RESERVED_TRACT);
	}
	return (WIRE_OK);
}

static void
op_hello(struct conn *c, const struct wire_req *req)
{
	struct server	*srv = c->srv;
	const char	*why;
	const char	**names;
	enum wire_code	 code;
	size_t		 i;

	if (c->flags & CONN_HELLO) {
		OP_ERR(c, req, WIRE_BAD_REQUEST, "hello was already done");
		return;
	}
	if (req->tract.ptr != NULL &&
	    (code = op_check_tract(&req->tract, false, &why)) != WIRE_OK) {
		OP_ERR(c, req, code, why);
		return;
	}
	c->flags |= CONN_HELLO;
	evtimer_del(&c->handshake_timer);
	c->agent = xstrndup(req->agent.ptr, req->agent.len);
	c->agent_len = req->agent.len;
	c->session = xstrndup(req->session.ptr ? req->session.ptr : "",
	    req->session.len);
	c->session_len = req->session.len;
	c->model = xstrndup(req->model.ptr ? req->model.ptr : "",
	    req->model.len);
	c->model_len = req->model.len;
	if (req->tract.ptr != NULL) {
		c->home = xstrndup(req->tract.ptr, req->tract.len);
		c->home_len = req->tract.len;
	}
	names = xcalloc(srv->ntracts, sizeof(*names));
	for (i = 0; i < srv->ntracts; i++)
		names[i] = srv->tract_list[i]->name;
	wire_enc_welcome(&srv->out, req->has_id, req->id, c->id,
	    srv->cfg->max_frame, names,
	    srv->ntracts);
	free(names);
	conn_flush_out(c);
	log_info("conn_hello", "conn=%llu agent=%s session=%s model=%s uid=%u",
	    (unsigned long long)c->id, c->agent, c->session, c->model,
	    (unsigned)c->uid);
}

/* The pub's fields as every subscriber and the log will see them. */
static void
op_pub_fields(struct conn *c, const struct wire_req *req,
    const struct wire_str *from, struct wire_msg *f)
{
	struct server	*srv = c->srv;
	msgpack_packer	 pk;
	uint32_t	 i;

	/* Field by field: a memset of the struct costs more than all this. */
	f->eid.ptr = NULL;
	f->eid.len = 0;
	f->hdr.ptr = NULL;
	f->hdr.len = 0;
	f->from = *from;
	f->to = req->to;
	if (req->kind.ptr != NULL)
		f->kind = req->kind;
	else {
		f->kind.ptr = "msg";
		f->kind.len = 3;
	}
	f->pri = req->has_pri ? req->pri : 0.5;
	f->agent.ptr = c->agent;
	f->agent.len = c->agent_len;
	f->session.ptr = c->session;
	f->session.len = c->session_len;
	f->model.ptr = c->model;
	f->model.len = c->model_len;
	f->ts_us = server_now_us(srv);
	f->body = req->body;
	f->body_is_str = req->body_is_str;
	f->pattern = req->pattern;
	if (req->hdr == NULL)
		return;
	/* Re-encoded from the checked map: the same entries. */
	srv->hdrbuf.size = 0;
	msgpack_packer_init(&pk, &srv->hdrbuf, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, req->hdr->via.map.size);
	for (i = 0; i < req->hdr->via.map.size; i++) {
		wire_pack_str(&pk, req->hdr->via.map.ptr[i].key.via.str.ptr,
		    req->hdr->via.map.ptr[i].key.via.str.size);
		wire_pack_str(&pk, req->hdr->via.map.ptr[i].val.via.str.ptr,
		    req->hdr->via.map.ptr[i].val.via.str.size);
	}
	f->hdr.ptr = srv->hdrbuf.data;
	f->hdr.len = (uint32_t)srv->hdrbuf.size;
}

/*
 * Appends a cross-tract event to the log. Returns 0 with *stored set, or -1
 * when the log refused it (store_unavailable).
 */
static int
op_pub_log(struct server *srv, const struct wire_msg *f, const struct eid *eid,
    enum es_stored *stored)
{
	struct es_event	 proto;
	int		 rc;

	/* Every field set: no memset on this path (see op_pub_fields). */
	proto.refcnt = 0;
	proto.eid = *eid;
	proto.ts_us = f->ts_us;
	proto.pri = f->pri;
	proto.body_is_str = f->body_is_str;
	proto.from = op_bytes(f->from.ptr, f->from.len);
	proto.to = op_bytes(f->to.ptr, f->to.len);
	proto.kind = op_bytes(f->kind.ptr, f->kind.len);
	proto.agent = op_bytes(f->agent.ptr, f->agent.len);
	proto.session = op_bytes(f->session.ptr, f->session.len);
	proto.model = op_bytes(f->model.ptr, f->model.len);
	proto.body = op_bytes(f->body.ptr, f->body.len);
	proto.pattern = op_bytes(f->pattern.ptr, f->pattern.len);
	proto.hdr = op_bytes(f->hdr.ptr, f->hdr.len);
	rc = es_append(srv->es, &proto, NULL, NULL, stored);
	/* Only the Redis backend answers later; its acks queue in order. */
	assert(rc != ES_PENDING);
	return (rc == -1 ? -1 : 0);
}

/* Returns OP_PARK when the pub must wait for room in its tract. */
static enum op_result
op_pub(struct conn *c, const struct wire_req *req)
{
	struct server	*srv = c->srv;
	struct wire_msg	 f;
	struct wire_str	 from;
	struct tract	*t;
	struct msg	*m;
	struct eid	 eid;
	enum es_stored	 stored = ES_STORED_NONE;
	enum wire_code	 code;
	const char	*why;
	char		 eidbuf[EID_STR_MAX];
	bool		 limited = false;

	if ((code = op_check_tract(&req->to, false, &why)) != WIRE_OK)
		goto fail;
	from = req->from;
	if (from.ptr == NULL) {
		from.ptr = c->home ? c->home : req->to.ptr;
		from.len = c->home ? c->home_len : req->to.len;
	} else if ((code = op_check_tract(&from, false, &why)) != WIRE_OK)
		goto fail;
	/* Tracts live as long as the server: the cache cannot dangle. */
	t = c->last_to;
	if (t == NULL || t->name_len != req->to.len ||
	    memcmp(t->name, req->to.ptr, req->to.len) != 0)
		t = c->last_to = tract_get(srv, req->to.ptr, req->to.len, true,
		    &limited);
	if (t == NULL) {
		code = WIRE_LIMIT;
		why = "too many tracts";
		goto fail;
	}
	if (c->pub_timed_out) {
		conn_end_publish_wait(c);
		code = WIRE_BACKPRESSURE;
		why = "a subscriber's queue stayed full for publish_timeout_ms";
		goto fail;
	}
	op_pub_fields(c, req, &from, &f);
	if (tract_would_block(t, f.kind.ptr, f.kind.len)) {
		conn_start_publish_wait(c, t);
		return (OP_PARK);
	}
	conn_end_publish_wait(c);
	/*
	 * SPEC: frames stay within max_frame both ways, msg frames too (the
	 * eid is not set yet: count its longest form).
	 */
	if (wire_msg_tail_bound(&f) + EID_STR_MAX + WIRE_PREFIX_MAX -
	    WIRE_HDR_LEN > srv->cfg->max_frame) {
		code = WIRE_LIMIT;
		why = "message too large: its msg frame would exceed max_frame";
		goto fail;
	}
	f.eid.ptr = eidbuf;
	f.eid.len = (uint32_t)eid_next_str(&srv->eids,
	    (uint64_t)(f.ts_us / 1000), &eid, eidbuf);
	if (f.from.len != f.to.len || memcmp(f.from.ptr, f.to.ptr,
	    f.to.len) != 0) {
		if (op_pub_log(srv, &f, &eid, &stored) == -1) {
			srv->n.store_refused++;
			code = WIRE_STORE_UNAVAILABLE;
			why = "the event log refused it (full, or out of memory)";
			goto fail;
		}
		srv->n.cross_tract++;
	}
	m = msg_new(&f, &eid);
	tract_publish(t, m);
	msg_unref(m);
	if (req->has_id) {
		wire_enc_ack_pub(&srv->out, req->id, eidbuf,
		    es_stored_name(stored));
		conn_flush_out(c);
	}
	return (OP_DONE);
fail:
	OP_ERR(c, req, code, why);
	return (OP_DONE);
}

/* Checks a new sid and the per-connection limit. */
static enum wire_code
op_check_new_sid(struct conn *c, const struct wire_req *req, const char **why)
{
	if (htab_get(c->subs, &req->sid, sizeof(req->sid)) != NULL) {
		*why = "sid is in use on this connection";
		return (WIRE_DUPLICATE_SID);
	}
	if (htab_count(c->subs) >= c->srv->cfg->max_subs_per_conn) {
		*why = "max_subs_per_conn reached";
		return (WIRE_LIMIT);
	}
	return (WIRE_OK);
}

static enum wire_code
op_parse_eid(const struct wire_str *s, uint64_t default_seq, struct eid *out,
    const char **why)
{
	if (eid_parse(s->ptr, s->len, default_seq, out) == -1) {
		*why = "event ids look like MS-SEQ";
		return (WIRE_BAD_REQUEST);
	}
	return (WIRE_OK);
}

static void
op_sub_register(struct conn *c, const struct wire_req *req, struct sub *s)
{
	if (htab_put(c->subs, &s->sid, sizeof(s->sid), s) == -1)
		abort();
	conn_send_ack(c, req->has_id, req->id);
	sub_pump(s);
}

static void
op_sub(struct conn *c, const struct wire_req *req)
{
	struct server		*srv = c->srv;
	struct replay_spec	 spec;
	struct tract		*t;
	struct sub		*s;
	struct eid		 from;
	enum wire_code		 code;
	const char		*why;
	uint64_t		 max_pending = srv->cfg->max_pending;
	bool			 limited;

	if ((code = op_check_new_sid(c, req, &why)) != WIRE_OK ||
	    (code = op_check_tract(&req->tract, true, &why)) != WIRE_OK)
		goto fail;
	if (req->has_max_pending) {
		code = WIRE_BAD_REQUEST;
		why = "max_pending must be >= 1";
		if (req->max_pending == 0)
			goto fail;
		code = WIRE_LIMIT;
		why = "max_pending is above the router's max_pending";
		if (req->max_pending > srv->cfg->max_pending)
			goto fail;
		max_pending = req->max_pending;
	}
	if (req->from_eid.ptr != NULL &&
	    (code = op_parse_eid(&req->from_eid, 0, &from, &why)) != WIRE_OK)
		goto fail;
	/* Reserved tracts exist from the start; clients cannot make new ones. */
	t = tract_get(srv, req->tract.ptr, req->tract.len,
	    !wire_tract_reserved(req->tract.ptr, req->tract.len), &limited);
	if (t == NULL) {
		code = limited ? WIRE_LIMIT : WIRE_BAD_TRACT;
		why = limited ? "too many tracts" : "no such reserved tract";
		goto fail;
	}
	s = sub_new(c, req->sid, req->credit, req->overflow, max_pending,
	    req->kinds);
	if (req->from_eid.ptr != NULL) {
		/* Catch up to the last id now; later events arrive live. */
		memset(&spec, 0, sizeof(spec));
		spec.from = from;
		es_last_eid(srv->es, &spec.to);
		spec.tract = t->name;
		spec.tract_len = t->name_len;
		spec.to_only = true;
		s->rp = replay_new(srv, s, &spec);
	}
	tract_add_sub(t, s);
	op_sub_register(c, req, s);
	return;
fail:
	OP_ERR(c, req, code, why);
}

static void
op_replay(struct conn *c, const struct wire_req *req)
{
	struct server		*srv = c->srv;
	struct replay_spec	 spec;
	struct sub		*s;
	enum wire_code		 code;
	const char		*why;

	memset(&spec, 0, sizeof(spec));
	if ((code = op_check_new_sid(c, req, &why)) != WIRE_OK)
		goto fail;
	if (req->tract.ptr != NULL &&
	    (code = op_check_tract(&req->tract, true, &why)) != WIRE_OK)
		goto fail;
	if (req->from_eid.ptr != NULL && (code = op_parse_eid(&req->from_eid,
	    0, &spec.from, &why)) != WIRE_OK)
		goto fail;
	if (req->to_eid.ptr != NULL) {
		if ((code = op_parse_eid(&req->to_eid, UINT64_MAX, &spec.to,
		    &why)) != WIRE_OK)
			goto fail;
	} else
		es_last_eid(srv->es, &spec.to);
	spec.tract = req->tract.ptr;
	spec.tract_len = req->tract.len;
	spec.send_end = true;
	spec.limit = req->has_limit ? req->limit : 0;
	if (req->has_limit && req->limit == 0) {
		code = WIRE_BAD_REQUEST;
		why = "limit must be >= 1";
		goto fail;
	}
	/* A replay has no live part: its queue never fills. */
	s = sub_new(c, req->sid, req->credit, WIRE_OVERFLOW_DROP, 1,
	    req->kinds);
	s->rp = replay_new(srv, s, &spec);
	op_sub_register(c, req, s);
	return;
fail:
	OP_ERR(c, req, code, why);
}

static struct sub *
op_find_sub(struct conn *c, const struct wire_req *req)
{
	struct sub	*s;

	if ((s = htab_get(c->subs, &req->sid, sizeof(req->sid))) == NULL)
		OP_ERR(c, req, WIRE_UNKNOWN_SID, "no subscription with that sid");
	return (s);
}

static void
op_req(struct conn *c, const struct wire_req *req)
{
	struct sub	*s;

	if ((s = op_find_sub(c, req)) == NULL)
		return;
	/* The ack goes first: the msgs it unblocks follow it. */
	conn_send_ack(c, req->has_id, req->id);
	sub_grant(s, req->n);
}

static void
op_unsub(struct conn *c, const struct wire_req *req)
{
	struct sub	*s;

	if ((s = op_find_sub(c, req)) == NULL)
		return;
	sub_free(s);
	conn_send_ack(c, req->has_id, req->id);
}

static void
op_ping(struct conn *c, const struct wire_req *req)
{
	wire_enc_pong(&c->srv->out, req->has_id, req->id);
	conn_flush_out(c);
}

static void
op_stats(struct conn *c, const struct wire_req *req)
{
	stats_enc(c->srv, &c->srv->out, req->has_id, req->id);
	conn_flush_out(c);
}

/* Before hello, only hello is answered. */
static int
op_check_hello(struct conn *c, const struct wire_req *req, enum wire_code code,
    const char *why)
{
	if (c->flags & CONN_HELLO)
		return (0);
	if (req->op == WIRE_OP_HELLO && code != WIRE_OK)
		OP_ERR(c, req, code, why);
	else if (req->op != WIRE_OP_HELLO)
		OP_ERR(c, req, WIRE_HELLO_REQUIRED, "send hello first");
	else
		return (0);
	return (-1);
}

enum op_result
op_dispatch(struct conn *c, const char *body, size_t len)
{
	struct server	*srv = c->srv;
	msgpack_object	 root;
	struct wire_req	 req;
	enum wire_code	 code;
	const char	*why = NULL;

	srv->n.frames_in++;
	if (wire_decode(&srv->dec, body, len, &root, &why) == -1) {
		srv->n.bad_frames++;
		conn_send_err(c, false, 0, WIRE_BAD_FRAME, why);
		conn_close(c, NULL);
		return (OP_DONE);
	}
	code = wire_parse_req(&root, &req, &why);
	if (op_check_hello(c, &req, code, why) == -1)
		return (OP_DONE);
	if (code != WIRE_OK) {
		srv->n.bad_requests++;
		OP_ERR(c, &req, code, why);
		return (OP_DONE);
	}
	switch (req.op) {
	case WIRE_OP_HELLO:
		op_hello(c, &req);
		break;
	case WIRE_OP_PUB:
		return (op_pub(c, &req));
	case WIRE_OP_SUB:
		op_sub(c, &req);
		break;
	case WIRE_OP_REQ:
		op_req(c, &req);
		break;
	case WIRE_OP_UNSUB:
		op_unsub(c, &req);
		break;
	case WIRE_OP_REPLAY:
		op_replay(c, &req);
		break;
	case WIRE_OP_PING:
		op_ping(c, &req);
		break;
	case WIRE_OP_STATS:
		op_stats(c, &req);
		break;
	default:
		OP_ERR(c, &req, WIRE_UNKNOWN_OP, "unknown op");
		break;
	}
	return (OP_DONE);
}
