/*
 * pub: see pub.h.
 *
 * A cross-tract event is appended to the log before its ack. The fan-out
 * does not wait for the log: when the append is pending (a Redis write),
 * subscribers get the message now and the publisher's ack waits in its
 * held reply slot (ADR 0010). A pending append owns a ticket from a free
 * list; the log calls it back exactly once, and the ticket's connection
 * reference keeps the conn's memory valid until then.
 */
#include <stdlib.h>
#include <string.h>

#include "eventstore/eventstore.h"
#include "router/clock.h"
#include "router/config.h"
#include "router/counter.h"
#include "router/conn.h"
#include "router/msg.h"
#include "router/promote.h"
#include "router/pub.h"
#include "router/server.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define PUB_POOL_MAX	1024	/* free tickets kept */

#define PUB_AGENT	"callosumd"
#define PUB_BFRAME	"bframe"

struct pub_ticket {
	struct pub_ticket	*next;		/* free list */
	struct conn		*c;		/* referenced, or NULL */
	uint64_t		 seq;
	uint64_t		 id;
	bool			 has_id;
	int64_t			 start_us;	/* the pub arrived (mono) */
	int64_t			 append_us;	/* the append began (mono) */
	char			 eid[EID_STR_MAX];
};

static struct pub_ticket	*pub_pool;
static size_t			 pub_pool_len;

/*
 * The ticket an append would take, left in the pool: most appends settle
 * at once, and then nothing was taken (pub_ticket_take when pending).
 */
static struct pub_ticket *
pub_ticket_peek(void)
{
	struct pub_ticket	*tk;

	if (pub_pool == NULL) {
		tk = xmalloc(sizeof(*tk));
		tk->next = NULL;
		pub_pool = tk;
		pub_pool_len++;
	}
	return (pub_pool);
}

static void
pub_ticket_take(struct pub_ticket *tk)
{
	pub_pool = tk->next;
	pub_pool_len--;
	tk->c = NULL;
}

static void
pub_ticket_put(struct pub_ticket *tk)
{
	if (pub_pool_len >= PUB_POOL_MAX) {
		free(tk);
		return;
	}
	tk->next = pub_pool;
	pub_pool = tk;
	pub_pool_len++;
}

void
pub_pool_drain(void)
{
	struct pub_ticket	*tk;

	while ((tk = pub_pool) != NULL) {
		pub_pool = tk->next;
		free(tk);
	}
	pub_pool_len = 0;
}

void
pub_ticket_bind(struct pub_ticket *tk, struct conn *c, uint64_t seq,
    bool has_id, uint64_t id, int64_t start_us)
{
	tk->c = c != NULL ? conn_ref(c) : NULL;
	tk->start_us = start_us;
	tk->seq = seq;
	tk->has_id = has_id;
	tk->id = id;
}

/* The log settled a pending append: exactly once, from the loop. */
static void
pub_settled(void *arg, int status, enum es_stored where)
{
	struct pub_ticket	*tk = arg;
	int64_t			 now;

	/* From the loop, or es_close: the cached clock may be old. */
	clock_read();
	now = clock_mono_us();
	counter_observe(&counter_write_latency, now - tk->append_us);
	if (status != 0)
		counter_inc(COUNTER_STORE_REFUSED);
	else if (tk->c != NULL) {
		counter_ack(where);
		counter_observe(&counter_publish_latency, now - tk->start_us);
	}
	if (tk->c != NULL) {
		conn_reply_fill(tk->c, tk->seq, tk->has_id, tk->id,
		    status == 0 ? WIRE_OK : WIRE_STORE_UNAVAILABLE,
		    "the event log could not keep it", tk->eid,
		    es_stored_name(where));
		conn_flush_dirty();
		conn_unref(tk->c);
	}
	pub_ticket_put(tk);
}

static struct es_bytes
pub_bytes(const struct wire_str *s)
{
	struct es_bytes	b = { s->ptr, s->len };

	return (b);
}

/* The log's view of f: every field set, no memset on this path. */
static void
pub_event(const struct wire_msg *f, const struct eid *eid,
    struct es_event *ev)
{
	ev->refcnt = 0;
	ev->eid = *eid;
	ev->ts_us = f->ts_us;
	ev->pri = f->pri;
	ev->body_is_str = f->body_is_str;
	ev->body_kind_unknown = false;
	ev->from = pub_bytes(&f->from);
	ev->to = pub_bytes(&f->to);
	ev->kind = pub_bytes(&f->kind);
	ev->agent = pub_bytes(&f->agent);
	ev->session = pub_bytes(&f->session);
	ev->model = pub_bytes(&f->model);
	ev->body = pub_bytes(&f->body);
	ev->pattern = pub_bytes(&f->pattern);
	ev->hdr = pub_bytes(&f->hdr);
}

/* Appends a cross-tract event; fills res (stored, or ticket). */
static enum pub_status
pub_log(struct server *srv, const struct wire_msg *f, const struct eid *eid,
    const uint64_t *label_hash, struct pub_result *res)
{
	struct pub_ticket	*tk = pub_ticket_peek();
	struct es_event		 ev;
	int			 rc;

	pub_event(f, eid, &ev);
	rc = es_append(server_es(srv), &ev, pub_settled, tk, &res->stored);
	/* In the log (settled or on its way): the synthesizer's input. */
	if (rc != -1)
		promote_feed(server_promote(srv), &ev, label_hash);
	if (rc == ES_PENDING) {
		/* The callback comes later, from the loop: take it now. */
		pub_ticket_take(tk);
		tk->append_us = clock_mono_us();
		memcpy(tk->eid, res->eid, sizeof(tk->eid));
		res->ticket = tk;
		return (PUB_PENDING);
	}
	if (rc == -1) {
		counter_inc(COUNTER_STORE_REFUSED);
		res->code = WIRE_STORE_UNAVAILABLE;
		res->why = "the event log refused it (full, or out of memory)";
		return (PUB_REFUSED);
	}
	return (PUB_DONE);
}

static bool
pub_cross(const struct wire_msg *f)
{
	return (f->from.len != f->to.len ||
	    memcmp(f->from.ptr, f->to.ptr, f->to.len) != 0);
}

/*
 * A bframe with a pattern is an input of the synthesizer, which must be
 * rebuilt from the log alone: it is logged wherever it goes (ADR 0021).
 */
static bool
pub_bframe(const struct wire_msg *f)
{
	return (f->pattern.len > 0 && f->kind.len == sizeof(PUB_BFRAME) - 1 &&
	    memcmp(f->kind.ptr, PUB_BFRAME, sizeof(PUB_BFRAME) - 1) == 0);
}

enum pub_status
pub_publish(struct server *srv, struct tract *t, struct wire_msg *f,
    bool log, const uint64_t *label_hash, struct pub_result *res)
{
	enum pub_status	 st = PUB_DONE;
	struct msg	*m;
	struct eid	 eid;
	size_t		 limit;
	bool		 cross;

	res->stored = ES_STORED_NONE;
	res->ticket = NULL;
	f->ts_us = clock_wall_us();
	/*
	 * SPEC: frames the router sends stay within max_frame + 1024 (the
	 * eid is not set yet: count its longest form). A valid pub always
	 * fits, hello's labels being bounded: this is a safety net.
	 */
	limit = (size_t)server_config(srv)->max_frame + WIRE_OUT_SLACK +
	    WIRE_HDR_LEN - EID_STR_MAX - 1 - WIRE_PREFIX_MAX;
	/* The cheap bound first; the exact size only near the limit. */
	if (wire_msg_tail_bound(f) > limit && wire_msg_tail_size(f) > limit) {
		res->code = WIRE_LIMIT;
		res->why = "message too large: its msg frame would exceed "
		    "max_frame + 1024";
		return (PUB_REFUSED);
	}
	f->eid.ptr = res->eid;
	f->eid.len = (uint32_t)eid_next_str(server_eids(srv),
	    (uint64_t)(f->ts_us / 1000), &eid, res->eid);
	cross = pub_cross(f);
	if (cross || log || pub_bframe(f)) {
		if ((st = pub_log(srv, f, &eid, label_hash, res)) ==
		    PUB_REFUSED)
			return (st);
	}
	if (cross) {
		counter_inc(COUNTER_CROSS_TRACT);
		tract_note_cross(t, f->from.ptr, f->from.len);
	}
	m = msg_new(f, &eid);
	tract_publish(t, m);
	msg_unref(m);
	return (st);
}

static struct wire_str
pub_str(const char *s, size_t len)
{
	struct wire_str	w = { s, (uint32_t)len };

	return (w);
}

enum pub_status
pub_system(struct server *srv, const char *tract, const char *kind,
    const char *pattern, const void *body, size_t len, bool log,
    char eid[EID_STR_MAX])
{
	static const struct wire_str	 none = { NULL, 0 };
	struct pub_result		 res;
	struct wire_msg			 f;
	struct tract			*t;
	enum pub_status			 st;
	bool				 limited;

	clock_read();
	t = tract_get(server_tracts(srv), tract, strlen(tract), false,
	    &limited);
	if (t == NULL)
		return (PUB_REFUSED);
	f.eid = none;
	f.from = f.to = pub_str(t->name, t->name_len);
	f.kind = pub_str(kind, strlen(kind));
	f.pri = 0.5;
	f.agent = pub_str(PUB_AGENT, sizeof(PUB_AGENT) - 1);
	f.session = pub_str("", 0);
	f.model = pub_str("", 0);
	f.body = pub_str(body, len);
	f.body_is_str = false;
	f.pattern = pattern != NULL ? pub_str(pattern, strlen(pattern)) : none;
	f.hdr = none;
	if ((st = pub_publish(srv, t, &f, log, NULL, &res)) == PUB_PENDING)
		pub_ticket_bind(res.ticket, NULL, 0, false, 0, 0);
	if (eid != NULL && st != PUB_REFUSED)
		memcpy(eid, res.eid, EID_STR_MAX);
	return (st);
}
