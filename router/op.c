/*
 * op: one handler per client op. Each checks its fields, acts, and answers
 * ack (when the request had an id) or err. Client mistakes end in an err
 * frame and the connection carries on; only bad framing closes it.
 */
#include <stdlib.h>
#include <string.h>

#include "eventstore/eventstore.h"
#include "router/config.h"
#include "router/clock.h"
#include "router/counter.h"
#include "router/conn.h"
#include "router/log.h"
#include "router/op.h"
#include "router/pub.h"
#include "router/replay.h"
#include "router/server.h"
#include "router/metrics.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"


#define OP_ERR(c, req, code, why) \
	conn_send_err((c), (req)->has_id, (req)->id, (code), (why))

/* Encoding of the larger replies, and of a pub's hdr: reused. */
static msgpack_sbuffer	op_sb;
static msgpack_sbuffer	op_hdr;

void
op_free(void)
{
	msgpack_sbuffer_destroy(&op_sb);
	msgpack_sbuffer_destroy(&op_hdr);
	msgpack_sbuffer_init(&op_sb);
	msgpack_sbuffer_init(&op_hdr);
}

/* The bound of every frame the router sends (SPEC). */
static size_t
op_out_max(struct conn *c)
{
	return ((size_t)server_config(c->srv)->max_frame + WIRE_OUT_SLACK);
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

/*
 * The welcome frame: the tract list covers as many tracts as fit the
 * frame bound (each costs its name plus a str header of at most 2 bytes;
 * the rest of the frame stays under 128).
 */
static void
op_welcome(struct conn *c, const struct wire_req *req)
{
	struct tract_reg	*reg = server_tracts(c->srv);
	const char		**names;
	size_t			  n = tract_count(reg), i, room, need;

	room = op_out_max(c) - 128;
	names = xcalloc(n, sizeof(*names));
	for (i = 0; i < n; i++) {
		need = tract_at(reg, i)->name_len + 2;
		if (need > room)
			break;
		room -= need;
		names[i] = tract_at(reg, i)->name;
	}
	op_sb.size = 0;
	xcheck(wire_enc_welcome(&op_sb, req->has_id, req->id, c->id,
	    server_config(c->srv)->max_frame, names, i, i < n), 0);
	free(names);
	conn_send_frame(c, op_sb.data, op_sb.size);
}

static void
op_hello(struct conn *c, const struct wire_req *req)
{
	const char	*why;
	enum wire_code	 code;

	if (c->flags & CONN_HELLO) {
		OP_ERR(c, req, WIRE_BAD_REQUEST, "hello was already done");
		return;
	}
	if (req->tract.ptr != NULL &&
	    (code = op_check_tract(&req->tract, false, &why)) != WIRE_OK) {
		OP_ERR(c, req, code, why);
		return;
	}
	conn_set_identity(c, req);
	op_welcome(c, req);
	log_info("conn", "hello", "conn=%llu agent=%s session=%s model=%s uid=%u",
	    (unsigned long long)c->id, c->agent, c->session, c->model,
	    (unsigned)c->uid);
}

/* Re-encodes a checked hdr map: the same entries. */
static struct wire_str
op_pub_hdr(const msgpack_object *hdr)
{
	struct wire_str	 s;
	msgpack_packer	 pk;
	uint32_t	 i;

	op_hdr.size = 0;
	msgpack_packer_init(&pk, &op_hdr, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, hdr->via.map.size);
	for (i = 0; i < hdr->via.map.size; i++) {
		wire_pack_str(&pk, hdr->via.map.ptr[i].key.via.str.ptr,
		    hdr->via.map.ptr[i].key.via.str.size);
		wire_pack_str(&pk, hdr->via.map.ptr[i].val.via.str.ptr,
		    hdr->via.map.ptr[i].val.via.str.size);
	}
	s.ptr = op_hdr.data;
	s.len = (uint32_t)op_hdr.size;
	return (s);
}

/* The pub's fields as every subscriber and the log will see them. */
static void
op_pub_fields(struct conn *c, const struct wire_req *req,
    const struct wire_str *from, struct wire_msg *f)
{
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
	f->ts_us = 0;		/* pub_publish stamps it */
	f->body = req->body;
	f->body_is_str = req->body_is_str;
	f->pattern = req->pattern;
	if (req->hdr != NULL)
		f->hdr = op_pub_hdr(req->hdr);
}

/* The pub's tract: c's cached last one, or a lookup (created on use). */
static struct tract *
op_pub_tract(struct conn *c, const struct wire_str *to)
{
	struct tract	*t = conn_last_to(c);
	bool		 limited;

	if (t != NULL && t->name_len == to->len &&
	    memcmp(t->name, to->ptr, to->len) == 0)
		return (t);
	t = tract_get(server_tracts(c->srv), to->ptr, to->len, true, &limited);
	if (t != NULL)
		conn_set_last_to(c, t);
	return (t);
}

/*
 * Answers a pub that went through the pipeline; start_us: when it arrived
 * (the publish latency, at the loop clock's grain: a pub answered in the
 * pass that read it counts 0).
 */
static void
op_pub_answer(struct conn *c, const struct wire_req *req, enum pub_status st,
    struct pub_result *res, int64_t start_us)
{
	uint64_t	seq;

	switch (st) {
	case PUB_DONE:
		counter_ack(res->stored);
		counter_observe(&counter_publish_latency,
		    clock_mono_us() - start_us);
		if (req->has_id)
			conn_send_ack_pub(c, req->id, res->eid,
			    es_stored_name(res->stored));
		break;
	case PUB_PENDING:
		/* The ack keeps its place until the log settles the event. */
		seq = conn_reply_hold(c);
		pub_ticket_bind(res->ticket, c, seq, req->has_id, req->id,
		    start_us);
		break;
	case PUB_REFUSED:
		OP_ERR(c, req, res->code, res->why);
		break;
	}
}

/* Answers the pub, and tells its tract's breaker how it went. */
static void
op_pub_settle(struct conn *c, const struct wire_req *req, struct tract *t,
    enum pub_status st, struct pub_result *res, int64_t start_us)
{
	if (st == PUB_REFUSED)
		tract_release(t);	/* neither success nor failure */
	else
		tract_note_success(t);
	op_pub_answer(c, req, st, res, start_us);
}

/* Returns OP_PARK when the pub must wait for room in its tract. */
static enum op_result
op_pub(struct conn *c, const struct wire_req *req)
{
	struct pub_result	 res;
	struct wire_msg		 f;
	struct wire_str		 from;
	struct tract		*t;
	enum wire_code		 code;
	const char		*why;
	int64_t			 start_us;
	bool			 trial;

	if ((code = op_check_tract(&req->to, false, &why)) != WIRE_OK)
		goto fail;
	from = req->from;
	if (from.ptr == NULL) {
		from.ptr = c->home ? c->home : req->to.ptr;
		from.len = c->home ? c->home_len : req->to.len;
	} else if ((code = op_check_tract(&from, false, &why)) != WIRE_OK)
		goto fail;
	if ((t = op_pub_tract(c, &req->to)) == NULL) {
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
	/* Its breaker, once per pub: a woken parked pub was let in before. */
	trial = false;
	if (!conn_publish_waiting(c)) {
		if (!tract_allow(t)) {
			code = WIRE_CIRCUIT_OPEN;
			why = "the tract's circuit breaker is open";
			goto fail;
		}
		trial = t->br.state == BREAKER_HALF_OPEN;
	}
	op_pub_fields(c, req, &from, &f);
	if (tract_would_block(t, f.kind.ptr, f.kind.len)) {
		conn_start_publish_wait(c, t, trial);
		return (OP_PARK);
	}
	start_us = conn_publish_start_us(c);
	conn_end_publish_wait(c);
	op_pub_settle(c, req, t, pub_publish(c->srv, t, &f, false, c->label_hash,
	    &res), &res,
	    start_us);
	return (OP_DONE);
fail:
	OP_ERR(c, req, code, why);
	return (OP_DONE);
}

/* Checks a new sid and the per-connection limit. */
static enum wire_code
op_check_new_sid(struct conn *c, const struct wire_req *req, const char **why)
{
	if (conn_find_sub(c, req->sid) != NULL) {
		*why = "sid is in use on this connection";
		return (WIRE_DUPLICATE_SID);
	}
	if (conn_nsubs(c) >= server_config(c->srv)->max_subs_per_conn) {
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

/* A sub's own max_pending: config max_pending by default, up to the limit. */
static enum wire_code
op_sub_max_pending(struct conn *c, const struct wire_req *req, uint64_t *out,
    const char **why)
{
	const struct config	*cfg = server_config(c->srv);

	*out = cfg->max_pending;
	if (!req->has_max_pending)
		return (WIRE_OK);
	if (req->max_pending == 0) {
		*why = "max_pending must be >= 1";
		return (WIRE_BAD_REQUEST);
	}
	if (req->max_pending > cfg->max_pending_limit) {
		*why = "max_pending is above the router's max_pending_limit";
		return (WIRE_LIMIT);
	}
	*out = req->max_pending;
	return (WIRE_OK);
}

static void
op_sub(struct conn *c, const struct wire_req *req)
{
	struct replay_spec	 spec;
	struct tract		*t;
	struct sub		*s;
	struct eid		 from;
	enum wire_code		 code;
	const char		*why;
	uint64_t		 max_pending;
	bool			 limited;

	if ((code = op_check_new_sid(c, req, &why)) != WIRE_OK ||
	    (code = op_check_tract(&req->tract, true, &why)) != WIRE_OK ||
	    (code = op_sub_max_pending(c, req, &max_pending, &why)) != WIRE_OK)
		goto fail;
	if (req->from_eid.ptr != NULL &&
	    (code = op_parse_eid(&req->from_eid, 0, &from, &why)) != WIRE_OK)
		goto fail;
	/* Reserved tracts exist from the start; clients cannot make new ones. */
	t = tract_get(server_tracts(c->srv), req->tract.ptr, req->tract.len,
	    !wire_tract_reserved(req->tract.ptr, req->tract.len), &limited);
	if (t == NULL) {
		code = limited ? WIRE_LIMIT : WIRE_BAD_TRACT;
		why = limited ? "too many tracts" : "no such reserved tract";
		goto fail;
	}
	s = sub_new(c, req->sid, req->credit, req->overflow, max_pending,
	    server_config(c->srv)->pending_bytes_limit, req->kinds);
	if (req->from_eid.ptr != NULL) {
		/* Catch up to the last id now; later events arrive live. */
		memset(&spec, 0, sizeof(spec));
		spec.from = from;
		es_last_eid(server_es(c->srv), &spec.to);
		spec.tract = t->name;
		spec.tract_len = t->name_len;
		spec.to_only = true;
		sub_start_replay(s, &spec);
	}
	tract_add_sub(t, s);
	conn_send_ack(c, req->has_id, req->id);
	sub_pump(s);
	return;
fail:
	OP_ERR(c, req, code, why);
}

static enum wire_code
op_replay_spec(struct conn *c, const struct wire_req *req,
    struct replay_spec *spec, const char **why)
{
	enum wire_code	code;

	memset(spec, 0, sizeof(*spec));
	if (req->tract.ptr != NULL &&
	    (code = op_check_tract(&req->tract, true, why)) != WIRE_OK)
		return (code);
	if (req->from_eid.ptr != NULL && (code = op_parse_eid(&req->from_eid,
	    0, &spec->from, why)) != WIRE_OK)
		return (code);
	if (req->to_eid.ptr != NULL) {
		if ((code = op_parse_eid(&req->to_eid, UINT64_MAX, &spec->to,
		    why)) != WIRE_OK)
			return (code);
	} else
		es_last_eid(server_es(c->srv), &spec->to);
	if (req->has_limit && req->limit == 0) {
		*why = "limit must be >= 1";
		return (WIRE_BAD_REQUEST);
	}
	spec->tract = req->tract.ptr;
	spec->tract_len = req->tract.len;
	spec->send_end = true;
	spec->limit = req->has_limit ? req->limit : 0;
	return (WIRE_OK);
}

static void
op_replay(struct conn *c, const struct wire_req *req)
{
	struct replay_spec	 spec;
	struct sub		*s;
	enum wire_code		 code;
	const char		*why;

	if ((code = op_check_new_sid(c, req, &why)) != WIRE_OK ||
	    (code = op_replay_spec(c, req, &spec, &why)) != WIRE_OK) {
		OP_ERR(c, req, code, why);
		return;
	}
	/* A replay has no live part: its queue never fills. */
	s = sub_new(c, req->sid, req->credit, WIRE_OVERFLOW_DROP, 1,
	    UINT64_MAX, req->kinds);
	sub_start_replay(s, &spec);
	conn_send_ack(c, req->has_id, req->id);
	sub_pump(s);
}

static struct sub *
op_find_sub(struct conn *c, const struct wire_req *req)
{
	struct sub	*s;

	if ((s = conn_find_sub(c, req->sid)) == NULL)
		OP_ERR(c, req, WIRE_UNKNOWN_SID, "no subscription with that sid");
	return (s);
}

static void
op_req(struct conn *c, const struct wire_req *req)
{
	struct sub	*s;

	if ((s = op_find_sub(c, req)) == NULL)
		return;
	/* The ack goes first: the msgs it unblocks follow it (ADR 0010). */
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
op_stats(struct conn *c, const struct wire_req *req)
{
	op_sb.size = 0;
	xcheck(metrics_enc(c->srv, &op_sb, req->has_id, req->id,
	    op_out_max(c)), 0);
	conn_send_frame(c, op_sb.data, op_sb.size);
}

static void
op_conns(struct conn *c, const struct wire_req *req)
{
	op_sb.size = 0;
	xcheck(metrics_enc_conns(c->srv, &op_sb, req->has_id, req->id,
	    op_out_max(c)), 0);
	conn_send_frame(c, op_sb.data, op_sb.size);
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

static enum op_result
op_run(struct conn *c, const struct wire_req *req)
{
	switch (req->op) {
	case WIRE_OP_HELLO:
		op_hello(c, req);
		break;
	case WIRE_OP_PUB:
		return (op_pub(c, req));
	case WIRE_OP_SUB:
		op_sub(c, req);
		break;
	case WIRE_OP_REQ:
		op_req(c, req);
		break;
	case WIRE_OP_UNSUB:
		op_unsub(c, req);
		break;
	case WIRE_OP_REPLAY:
		op_replay(c, req);
		break;
	case WIRE_OP_PING:
		conn_send_pong(c, req->has_id, req->id);
		break;
	case WIRE_OP_STATS:
		op_stats(c, req);
		break;
	case WIRE_OP_CONNS:
		op_conns(c, req);
		break;
	default:
		OP_ERR(c, req, WIRE_UNKNOWN_OP, "unknown op");
		break;
	}
	return (OP_DONE);
}

enum op_result
op_dispatch(struct conn *c, const char *body, size_t len)
{
	msgpack_object	 root;
	struct wire_req	 req;
	enum wire_code	 code;
	const char	*why = NULL;

	counter_inc(COUNTER_FRAMES_IN);
	if (wire_decode(server_decoder(c->srv), body, len, &root, &why) == -1) {
		counter_inc(COUNTER_BAD_FRAMES);
		conn_send_err(c, false, 0, WIRE_BAD_FRAME, why);
		conn_close(c, NULL, "bad_frame", CONN_FLUSH_MS);
		return (OP_DONE);
	}
	code = wire_parse_req(&root, &req, &why);
	if (op_check_hello(c, &req, code, why) == -1)
		return (OP_DONE);
	if (code != WIRE_OK) {
		counter_inc(COUNTER_BAD_REQUESTS);
		OP_ERR(c, &req, code, why);
		return (OP_DONE);
	}
	if (server_draining(c->srv)) {
		OP_ERR(c, &req, WIRE_SHUTTING_DOWN, "the router is shutting down");
		return (OP_DONE);
	}
	return (op_run(c, &req));
}
