/*
 * es_redis: the event log in Redis Streams, with the memory ring as the
 * queue in front of it (ADR 0016).
 *
 * Every appended event goes into the ring (refuse mode: memlog_max_events
 * and memlog_max_bytes bound it, in flight or not), and the ring's events
 * are written to Redis oldest first with their own ids, pipelined; an
 * event leaves the ring when Redis has answered its XADD. So the ring
 * always holds exactly the events Redis has not confirmed, a suffix of
 * the log, and "direct", "fallback" and "resync" are one mechanism:
 *
 *   direct    the link is up and nothing waits unsent: a new event is
 *             sent at once and its ack waits for Redis (stored: redis);
 *   resync    the link is up and older events wait: a new event queues
 *             behind them and is acked now (stored: memory);
 *   fallback  no link: events are acked now (stored: memory), and the
 *             link is retried with capped, jittered backoff.
 *
 * A reply missing for redis_timeout_ms, an error reply or a lost link
 * take the link down: acks still waiting are answered stored: memory (the
 * events are in the ring), and the next link writes them again. Events
 * at or below the stream's top when a link comes up may already be there
 * (Redis was only slow): each is checked (XRANGE id id) and skipped when
 * present, so nothing is written twice or skipped (ADR 0016).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "eventstore/es_internal.h"

#define RS_WINDOW		1024	/* commands in flight, at most */
#define RS_HOLD_AHEAD		4096	/* unsent events an ack may wait on */
#define RS_BACKOFF_MIN_MS	100
#define RS_BACKOFF_MAX_MS	2000
#define RS_KEY_MAX		512

/* What a command in flight was for. */
enum rs_kind {
	RS_XADD,	/* the ring event at its position, written */
	RS_CHECK,	/* is the ring's head already in Redis? */
	RS_CONFLICT,	/* the ring's head, to the side stream */
	RS_TOP,		/* the stream's last id, when the link comes up */
	RS_READ,	/* a replay page */
	RS_KV		/* GET or SET of the router's own state */
};

struct es_redis;

/* One link to Redis; callbacks of an old link find it dead and return. */
struct rs_link {
	struct es_redis	*r;
	void		*t;		/* the transport's link */
	unsigned	 refs;		/* r's, plus one per command out */
	bool		 dead;
};

/* A command in flight, in the order sent (replies come in that order). */
struct rs_cmd {
	enum rs_kind	 kind;
	int64_t		 sent_us;
	struct rs_read	*rd;		/* RS_READ */
	struct rs_kv	*kv;		/* RS_KV */
};

/* An ack that waits for Redis: the event at the ring's tail when sent. */
struct rs_ack {
	struct eid	 eid;
	es_append_cb	*cb;
	void		*arg;
};

/* An es_flush waiting for the ring to empty. */
struct rs_flush {
	TAILQ_ENTRY(rs_flush)	 entry;
	es_flush_cb		*cb;
	void			*arg;
};

/* A replay page out: called back once, also when the link goes. */
struct rs_read {
	TAILQ_ENTRY(rs_read)	 entry;
	struct es_redis		*r;
	struct es_query		 q;
	es_read_cb		*cb;
	void			*arg;
};

/* A GET or SET out: called back once, also when the link goes. */
struct rs_kv {
	TAILQ_ENTRY(rs_kv)	 entry;
	bool			 set;
	bool			 mirror;	/* an XADD: its id, or "smaller" */
	es_kv_cb		*cb;
	void			*arg;
};

struct es_redis {
	struct es			*front;
	const struct es_transport	*tp;
	struct es_redis_addr		 addr;
	struct event_base		*base;
	struct es_mem			*ring;
	struct rs_link			*link;	/* NULL: none */
	bool				 up;	/* the top was read */
	bool				 closing;
	char				 key[RS_KEY_MAX];
	char				 ckey[RS_KEY_MAX];	/* conflicts */
	char				 candkey[RS_KEY_MAX];	/* candidates */
	uint64_t			 maxlen;
	unsigned			 timeout_ms;
	struct eid			 last;	/* greatest id seen */
	struct eid			 top;	/* the stream's, at link up */
	size_t				 nsent;	/* ring events sent, unanswered */
	bool				 checking;	/* head <= top in flight */
	struct rs_cmd			 cmds[RS_WINDOW];	/* ring */
	size_t				 chead;
	size_t				 ncmds;
	struct rs_ack			*acks;	/* ring of acks waiting */
	size_t				 acap;
	size_t				 ahead;
	size_t				 nacks;
	TAILQ_HEAD(, rs_read)		 reads;
	TAILQ_HEAD(, rs_kv)		 kvs;
	char				 prefix[RS_KEY_MAX];	/* of kv names */
	struct event			*deadline_ev;
	struct event			*retry_ev;
	struct event			*down_ev;	/* rs_down_later */
	const char			*down_why;
	unsigned			 backoff_ms;
	TAILQ_HEAD(, rs_flush)		 flushes;	/* waiting: es_flush */
	struct event			*connect_ev;	/* a link's deadline */
	enum es_state			 state;
	uint64_t			 stored_redis;
	uint64_t			 stored_memory;
	uint64_t			 resyncs;
	uint64_t			 duplicates;
	uint64_t			 conflicts;
};

static void	rs_connect(struct es_redis *);
static void	rs_down_later(struct es_redis *, const char *why);
static void	rs_flushes_done(struct es_redis *, int);
static void	rs_pump(struct es_redis *);
static void	rs_down(struct es_redis *, const char *why);
static void	rs_reply(void *, struct redisReply *);
static void	rs_read_done(struct rs_read *, struct redisReply *);

static void	rs_kv_done(struct es_redis *, struct rs_kv *,
		    struct redisReply *);

static int64_t
rs_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
rs_set_state(struct es_redis *r, enum es_state st, const char *why)
{
	r->state = st;
	es_backend_state(r->front, st, why);
}

/* The state the ring and the link say we are in. */
static void
rs_update_state(struct es_redis *r, const char *why)
{
	enum es_state	st;

	if (!r->up && r->link != NULL && r->state == ES_STATE_DIRECT)
		st = ES_STATE_DIRECT;	/* the first link, connecting */
	else if (!r->up)
		st = ES_STATE_FALLBACK;
	else if (es_mem_depth(r->ring) > r->nacks || r->checking)
		st = ES_STATE_RESYNC;	/* events acked from memory wait */
	else
		st = ES_STATE_DIRECT;
	if (st == r->state)
		return;
	if (st == ES_STATE_DIRECT)
		why = "caught up: writing directly";
	else if (st == ES_STATE_RESYNC)
		why = "writing the ring back in order";
	rs_set_state(r, st, why);
}

/* Acks waiting for Redis. */

static void
rs_ack_push(struct es_redis *r, const struct eid *eid, es_append_cb *cb,
    void *arg)
{
	struct rs_ack	*na;
	size_t		 ncap, i;

	if (r->nacks == r->acap) {
		ncap = r->acap == 0 ? 64 : r->acap * 2;
		if ((na = calloc(ncap, sizeof(*na))) == NULL)
			abort();	/* bounded by RS_WINDOW: a sizing bug */
		for (i = 0; i < r->nacks; i++)
			na[i] = r->acks[(r->ahead + i) % r->acap];
		free(r->acks);
		r->acks = na;
		r->acap = ncap;
		r->ahead = 0;
	}
	r->acks[(r->ahead + r->nacks) % r->acap] = (struct rs_ack){ *eid, cb,
	    arg };
	r->nacks++;
}

/* The event eid left the ring: its ack, if one waits, says where. */
static void
rs_ack_settle(struct es_redis *r, const struct eid *eid, int status,
    enum es_stored where)
{
	struct rs_ack	a;

	if (r->nacks == 0)
		return;
	a = r->acks[r->ahead];
	if (eid != NULL && eid_cmp(&a.eid, eid) != 0)
		return;
	r->ahead = (r->ahead + 1) % r->acap;
	r->nacks--;
	if (status == 0 && where == ES_STORED_REDIS)
		r->stored_redis++;
	else if (status == 0)
		r->stored_memory++;
	a.cb(a.arg, status, where);
}

/* Every ack still waiting: the link went, their events stay in memory. */
static void
rs_acks_to_memory(struct es_redis *r, int status)
{
	while (r->nacks > 0)
		rs_ack_settle(r, NULL, status, status == 0 ? ES_STORED_MEMORY :
		    ES_STORED_NONE);
}

/* Commands in flight. */

static struct rs_cmd *
rs_cmd_head(struct es_redis *r)
{
	return (r->ncmds == 0 ? NULL : &r->cmds[r->chead]);
}

static void
rs_cmd_pop(struct es_redis *r)
{
	r->chead = (r->chead + 1) % RS_WINDOW;
	r->ncmds--;
}

/*
 * The deadline is the oldest command's send time plus the timeout. The
 * timer is armed lazily: when it fires early (the head was answered) it
 * is armed again for the new head.
 */
static void
rs_arm_deadline(struct es_redis *r)
{
	struct timeval	tv;
	int64_t		left;

	if (r->ncmds == 0 || evtimer_pending(r->deadline_ev, NULL))
		return;
	left = rs_cmd_head(r)->sent_us + (int64_t)r->timeout_ms * 1000 -
	    rs_now_us();
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000000;
	tv.tv_usec = left % 1000000;
	evtimer_add(r->deadline_ev, &tv);
}

static void
rs_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct es_redis	*r = arg;

	(void)fd;
	(void)what;
	if (r->ncmds == 0)
		return;
	if (rs_cmd_head(r)->sent_us + (int64_t)r->timeout_ms * 1000 >
	    rs_now_us()) {
		rs_arm_deadline(r);
		return;
	}
	rs_down(r, "no reply within redis_timeout_ms");
}

/* Sends argv on the link, recording what it is for. */
static int
rs_send(struct es_redis *r, enum rs_kind kind, void *op, int argc,
    const char **argv, const size_t *argvlen)
{
	struct rs_cmd	*c;

	assert(r->ncmds < RS_WINDOW && r->link != NULL);
	if (r->tp->command(r->link->t, argc, argv, argvlen, rs_reply,
	    r->link) == -1)
		return (-1);
	r->link->refs++;
	c = &r->cmds[(r->chead + r->ncmds) % RS_WINDOW];
	c->kind = kind;
	c->sent_us = rs_now_us();
	c->rd = kind == RS_READ ? op : NULL;
	c->kv = kind == RS_KV ? op : NULL;
	r->ncmds++;
	rs_arm_deadline(r);
	return (0);
}

/* XADD argv for an event: key [MAXLEN ~ N] id field value ... */
struct rs_argv {
	const char	*v[40];
	size_t		 len[40];
	int		 n;
	char		 id[EID_STR_MAX];
	char		 pri[32];
	char		 ts[32];
	char		 maxlen[24];
};

static void
rs_arg(struct rs_argv *a, const char *s, size_t len)
{
	a->v[a->n] = s;
	a->len[a->n] = len;
	a->n++;
}

static void
rs_field(struct rs_argv *a, const char *name, const struct es_bytes *b)
{
	if (b->ptr == NULL)
		return;
	rs_arg(a, name, strlen(name));
	rs_arg(a, b->ptr, b->len);
}

/*
 * pri as text, round-trip exact (%.17g); printf of a double is slow and
 * most events carry the default, so the last one is kept.
 */
static size_t
rs_pri(double pri, char buf[32])
{
	static double	last = -1.0;
	static char	text[32];
	static size_t	len;

	if (pri != last) {
		len = (size_t)snprintf(text, sizeof(text), "%.17g", pri);
		last = pri;
	}
	memcpy(buf, text, len);
	return (len);
}

/* An int64 in decimal, no NUL; returns its length. */
static size_t
rs_i64(int64_t v, char buf[32])
{
	if (v >= 0)
		return (eid_put_u64(buf, (uint64_t)v));
	buf[0] = '-';
	return (1 + eid_put_u64(buf + 1, (uint64_t)0 - (uint64_t)v));
}

/* The SPEC's fields, exactly: pattern and hdr only when set. */
static void
rs_fields(struct rs_argv *a, const struct es_event *ev)
{
	rs_field(a, "from", &ev->from);
	rs_field(a, "to", &ev->to);
	rs_field(a, "kind", &ev->kind);
	rs_arg(a, "pri", 3);
	rs_arg(a, a->pri, rs_pri(ev->pri, a->pri));
	rs_field(a, "agent", &ev->agent);
	rs_field(a, "session", &ev->session);
	rs_field(a, "model", &ev->model);
	rs_arg(a, "ts", 2);
	rs_arg(a, a->ts, rs_i64(ev->ts_us, a->ts));
	if (ev->body.ptr != NULL)
		rs_field(a, "body", &ev->body);
	else
		rs_arg(a, "body", 4), rs_arg(a, "", 0);
	rs_field(a, "pattern", &ev->pattern);
	rs_field(a, "hdr", &ev->hdr);
}

static void
rs_xadd_argv(struct es_redis *r, struct rs_argv *a, const char *key,
    const struct es_event *ev, bool own_id)
{
	a->n = 0;
	rs_arg(a, "XADD", 4);
	rs_arg(a, key, strlen(key));
	if (r->maxlen > 0 && own_id) {
		rs_arg(a, "MAXLEN", 6);
		rs_arg(a, "~", 1);
		rs_arg(a, a->maxlen, (size_t)snprintf(a->maxlen,
		    sizeof(a->maxlen), "%" PRIu64, r->maxlen));
	}
	if (own_id)
		rs_arg(a, a->id, eid_format(&ev->eid, a->id));
	else {
		/* The side stream: Redis picks the id; ours is a field. */
		rs_arg(a, "*", 1);
		rs_arg(a, "eid", 3);
		rs_arg(a, a->id, eid_format(&ev->eid, a->id));
	}
	rs_fields(a, ev);
}

/* Asks whether the ring's head is already in the stream. */
static int
rs_send_check(struct es_redis *r, const struct es_event *ev)
{
	const char	*argv[4];
	size_t		 len[4];
	char		 id[EID_STR_MAX];

	argv[0] = "XRANGE";
	argv[1] = r->key;
	argv[2] = argv[3] = id;
	len[0] = 6;
	len[1] = strlen(r->key);
	len[2] = len[3] = eid_format(&ev->eid, id);
	return (rs_send(r, RS_CHECK, NULL, 4, argv, len));
}

static int
rs_send_xadd(struct es_redis *r, const struct es_event *ev)
{
	struct rs_argv	a;

	rs_xadd_argv(r, &a, r->key, ev, true);
	return (rs_send(r, RS_XADD, NULL, a.n, a.v, a.len));
}

/*
 * Sends what the window allows: the ring's unsent events in order. An
 * event at or below the stream's top goes alone (stop and wait), as a
 * check first: it may be there already.
 */
static void
rs_pump(struct es_redis *r)
{
	struct es_event	ev;

	while (r->up && !r->checking && r->ncmds < RS_WINDOW &&
	    es_mem_peek_at(r->ring, r->nsent, &ev)) {
		if (eid_cmp(&ev.eid, &r->top) <= 0) {
			if (r->nsent > 0)
				break;	/* after those in flight */
			if (rs_send_check(r, &ev) == 0)
				r->checking = true;
			break;
		}
		if (rs_send_xadd(r, &ev) == -1) {
			rs_down_later(r, "cannot send XADD");
			return;
		}
		r->nsent++;
	}
	rs_update_state(r, NULL);
}

/* Every es_flush waiting is answered, once. */
static void
rs_flushes_done(struct es_redis *r, int status)
{
	struct rs_flush	*fl;

	while ((fl = TAILQ_FIRST(&r->flushes)) != NULL) {
		TAILQ_REMOVE(&r->flushes, fl, entry);
		fl->cb(fl->arg, status);
		free(fl);
	}
}

/* The ring's head is in Redis now: it leaves the ring. */
static void
rs_head_done(struct es_redis *r)
{
	struct es_event	ev;
	struct eid	eid;

	if (!es_mem_peek(r->ring, &ev))
		return;
	eid = ev.eid;
	es_mem_pop(r->ring);
	rs_ack_settle(r, &eid, 0, ES_STORED_REDIS);
	if (es_mem_depth(r->ring) == 0)
		rs_flushes_done(r, 0);
}

static bool
rs_is_error(const struct redisReply *rep)
{
	return (rep->type == REDIS_REPLY_ERROR);
}

/* Parses an entry id reply ("MS-SEQ"); -1 if it is not one. */
static int
rs_parse_id(const struct redisReply *rep, struct eid *out)
{
	if (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_STATUS)
		return (-1);
	return (eid_parse(rep->str, rep->len, 0, out));
}

static void
rs_xadd_reply(struct es_redis *r, struct redisReply *rep)
{
	if (rs_is_error(rep)) {
		rs_down(r, rep->str);
		return;
	}
	r->nsent--;
	rs_head_done(r);
}

/* The check of the ring's head: present (skip it) or not (side stream). */
static void
rs_check_reply(struct es_redis *r, struct redisReply *rep)
{
	struct es_event	ev;
	struct rs_argv	a;

	r->checking = false;
	if (rs_is_error(rep) || rep->type != REDIS_REPLY_ARRAY) {
		rs_down(r, rs_is_error(rep) ? rep->str : "XRANGE: not an array");
		return;
	}
	if (rep->elements > 0) {
		r->duplicates++;
		rs_head_done(r);
		return;
	}
	/*
	 * Not there, and below the top: a later event reached Redis before
	 * it (one command of a pipeline refused, the next accepted). It
	 * cannot go in order; it goes to the side stream, never lost.
	 */
	if (!es_mem_peek(r->ring, &ev))
		return;
	rs_xadd_argv(r, &a, r->ckey, &ev, false);
	if (rs_send(r, RS_CONFLICT, NULL, a.n, a.v, a.len) == -1)
		rs_down_later(r, "cannot send XADD to the conflicts stream");
	else
		r->checking = true;
}

static void
rs_conflict_reply(struct es_redis *r, struct redisReply *rep)
{
	r->checking = false;
	if (rs_is_error(rep)) {
		rs_down(r, rep->str);
		return;
	}
	r->conflicts++;		/* confirmed: counted once */
	rs_head_done(r);
}

/* The stream's top: the link is usable; the ring is written back. */
static void
rs_top_reply(struct es_redis *r, struct redisReply *rep)
{
	struct eid	top = { 0, 0 };

	if (rs_is_error(rep) || rep->type != REDIS_REPLY_ARRAY ||
	    (rep->elements > 0 && (rep->element[0]->type !=
	    REDIS_REPLY_ARRAY || rep->element[0]->elements < 1 ||
	    rs_parse_id(rep->element[0]->element[0], &top) == -1))) {
		rs_down(r, rs_is_error(rep) ? rep->str :
		    "XREVRANGE: unexpected reply");
		return;
	}
	evtimer_del(r->connect_ev);
	r->top = top;
	r->up = true;
	r->backoff_ms = 0;
	if (es_mem_depth(r->ring) > 0)
		r->resyncs++;
	if (eid_cmp(&top, &r->last) > 0) {
		/*
		 * Redis holds later ids than ours (written while we ran
		 * without it): a state report tells the router, whose ids
		 * then go on above them.
		 */
		r->last = top;
		rs_set_state(r, ES_STATE_RESYNC, "redis holds later ids");
	}
	rs_pump(r);
	rs_update_state(r, NULL);
}

/* Every reply of the link, in the order the commands were sent. */
static void
rs_reply(void *arg, struct redisReply *rep)
{
	struct rs_link	*l = arg;
	struct es_redis	*r = l->r;
	struct rs_cmd	 c;

	if (--l->refs == 0) {
		free(l);
		return;		/* dead and drained */
	}
	if (l->dead || rep == NULL || r->ncmds == 0)
		return;		/* the link callback says why */
	c = *rs_cmd_head(r);
	rs_cmd_pop(r);
	switch (c.kind) {
	case RS_XADD:
		rs_xadd_reply(r, rep);
		break;
	case RS_CHECK:
		rs_check_reply(r, rep);
		break;
	case RS_CONFLICT:
		rs_conflict_reply(r, rep);
		break;
	case RS_TOP:
		rs_top_reply(r, rep);
		break;
	case RS_READ:
		rs_read_done(c.rd, rep);
		break;
	case RS_KV:
		rs_kv_done(r, c.kv, rep);
		break;
	}
	if (r->link == l)
		rs_pump(r);
}

/* Links. */

static void
rs_link_drop(struct es_redis *r)
{
	struct rs_link	*l = r->link;

	if (l == NULL)
		return;
	r->link = NULL;
	l->dead = true;
	/* Pending replies run with NULL and find it dead; the last frees. */
	r->tp->close(l->t);
	if (--l->refs == 0)
		free(l);
}

/* Reads and kv operations out are answered -1 (the link went). */
static void
rs_fail_reads(struct es_redis *r)
{
	struct rs_read	*rd;
	struct rs_kv	*kv;

	while ((rd = TAILQ_FIRST(&r->reads)) != NULL)
		rs_read_done(rd, NULL);
	while ((kv = TAILQ_FIRST(&r->kvs)) != NULL)
		rs_kv_done(r, kv, NULL);
}

/*
 * A GET's value (nil: none), or a SET's OK; NULL or anything else: -1.
 * The caller of a set gets no value back (NULL, 0).
 */
static void
rs_kv_done(struct es_redis *r, struct rs_kv *kv, struct redisReply *rep)
{
	int	status = -1;

	TAILQ_REMOVE(&r->kvs, kv, entry);
	if (rep != NULL && kv->set && rep->type == REDIS_REPLY_STATUS)
		status = 0;
	/* Already there: the id is not above the stream's top. */
	if (rep != NULL && kv->mirror && (rep->type == REDIS_REPLY_STRING ||
	    (rep->type == REDIS_REPLY_ERROR && rep->str != NULL &&
	    strstr(rep->str, "equal or smaller") != NULL)))
		status = 0;
	if (rep != NULL && !kv->set && (rep->type == REDIS_REPLY_STRING ||
	    rep->type == REDIS_REPLY_NIL))
		status = 0;
	if (status == 0 && !kv->set && !kv->mirror &&
	    rep->type == REDIS_REPLY_STRING)
		kv->cb(kv->arg, 0, rep->str, rep->len);
	else
		kv->cb(kv->arg, status, NULL, 0);
	free(kv);
}

/* Queues kv and sends argv; -1 (EAGAIN) when it cannot. */
static int
rs_kv_send(struct es_redis *r, struct rs_kv *kv, int argc, const char **argv,
    const size_t *argvlen)
{
	TAILQ_INSERT_TAIL(&r->kvs, kv, entry);
	if (rs_send(r, RS_KV, kv, argc, argv, argvlen) == -1) {
		TAILQ_REMOVE(&r->kvs, kv, entry);
		free(kv);
		errno = EAGAIN;
		return (-1);
	}
	return (ES_PENDING);
}

/*
 * A kv operation for name, its key (<prefix>name) in key; NULL with errno
 * when it cannot be sent now (EAGAIN), or named (ENAMETOOLONG), or ENOMEM.
 */
static struct rs_kv *
rs_kv_new(struct es_redis *r, const char *name, char key[RS_KEY_MAX],
    es_kv_cb *cb, void *arg)
{
	struct rs_kv	*kv;

	if (!r->up || r->link == NULL || r->ncmds >= RS_WINDOW) {
		errno = EAGAIN;
		return (NULL);
	}
	if ((size_t)snprintf(key, RS_KEY_MAX, "%s%s", r->prefix, name) >=
	    RS_KEY_MAX) {
		errno = ENAMETOOLONG;
		return (NULL);
	}
	if ((kv = calloc(1, sizeof(*kv))) == NULL)
		return (NULL);
	kv->cb = cb;
	kv->arg = arg;
	return (kv);
}

static int
rs_be_mirror(void *be, const char *name, const struct es_event *ev,
    es_kv_cb *cb, void *arg)
{
	struct es_redis	*r = be;
	struct rs_argv	 a;
	struct rs_kv	*kv;
	char		 key[RS_KEY_MAX];

	if ((kv = rs_kv_new(r, name, key, cb, arg)) == NULL)
		return (-1);
	kv->mirror = true;
	rs_xadd_argv(r, &a, key, ev, true);
	return (rs_kv_send(r, kv, a.n, a.v, a.len));
}

static int
rs_be_kv(void *be, const char *name, const void *val, size_t len,
    es_kv_cb *cb, void *arg)
{
	struct es_redis	*r = be;
	struct rs_kv	*kv;
	char		 key[RS_KEY_MAX];
	const char	*argv[3];
	size_t		 argvlen[3];

	if ((kv = rs_kv_new(r, name, key, cb, arg)) == NULL)
		return (-1);
	kv->set = val != NULL;
	argv[0] = kv->set ? "SET" : "GET";
	argvlen[0] = 3;
	argv[1] = key;
	argvlen[1] = strlen(key);
	argv[2] = val;
	argvlen[2] = len;
	return (rs_kv_send(r, kv, kv->set ? 3 : 2, argv, argvlen));
}

/* Capped exponential backoff with jitter (+-25%). */
static void
rs_schedule_retry(struct es_redis *r)
{
	struct timeval	tv;
	unsigned	ms;

	if (r->closing)
		return;
	r->backoff_ms = r->backoff_ms == 0 ? RS_BACKOFF_MIN_MS :
	    r->backoff_ms * 2;
	if (r->backoff_ms > RS_BACKOFF_MAX_MS)
		r->backoff_ms = RS_BACKOFF_MAX_MS;
	ms = r->backoff_ms * 3 / 4 + arc4random_uniform(r->backoff_ms / 2 + 1);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(r->retry_ev, &tv);
}

/*
 * Redis is down (or slow past the deadline, or answered an error): the
 * link goes, acks waiting are answered from memory, reads out fail, and
 * a new link is tried later. Nothing leaves the ring.
 */
static void
rs_down(struct es_redis *r, const char *why)
{
	r->up = false;
	r->nsent = 0;
	r->checking = false;
	r->ncmds = 0;
	r->chead = 0;
	evtimer_del(r->deadline_ev);
	evtimer_del(r->connect_ev);
	rs_link_drop(r);
	rs_update_state(r, why);
	rs_fail_reads(r);
	rs_acks_to_memory(r, 0);
	rs_schedule_retry(r);
}

/*
 * From the loop: a send that failed inside an append must not answer
 * that append's ack before es_append has returned.
 */
static void
rs_down_cb(evutil_socket_t fd, short what, void *arg)
{
	struct es_redis	*r = arg;

	(void)fd;
	(void)what;
	rs_down(r, r->down_why);
}

static void
rs_down_later(struct es_redis *r, const char *why)
{
	r->down_why = why;
	event_active(r->down_ev, EV_TIMEOUT, 0);
}

static void
rs_link_cb(void *arg, int up, const char *why)
{
	struct rs_link	*l = arg;
	struct es_redis	*r = l->r;
	const char	*argv[6] = { "XREVRANGE", r->key, "+", "-", "COUNT",
			    "1" };
	size_t		 len[6] = { 9, strlen(r->key), 1, 1, 5, 1 };

	if (l->dead || r->link != l)
		return;
	if (!up) {
		rs_down(r, why != NULL ? why : "link lost");
		return;
	}
	/* Usable once the top is read: the stream may hold our events. */
	if (rs_send(r, RS_TOP, NULL, 6, argv, len) == -1)
		rs_down(r, "cannot send XREVRANGE");
}

static void
rs_connect(struct es_redis *r)
{
	struct rs_link	*l;
	struct timeval	 tv;
	char		*why = NULL;

	if (r->closing || r->link != NULL)
		return;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		rs_schedule_retry(r);
		return;
	}
	l->r = r;
	l->refs = 1;
	r->link = l;
	tv.tv_sec = r->timeout_ms / 1000;
	tv.tv_usec = (r->timeout_ms % 1000) * 1000;
	evtimer_add(r->connect_ev, &tv);
	if ((l->t = r->tp->open(r->base, &r->addr, rs_link_cb, l, &why)) ==
	    NULL) {
		r->link = NULL;
		free(l);
		evtimer_del(r->connect_ev);
		rs_update_state(r, why != NULL ? why : "cannot connect");
		free(why);
		rs_schedule_retry(r);
	}
}

/* A link that has not answered its first command in time is down. */
static void
rs_connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct es_redis	*r = arg;

	(void)fd;
	(void)what;
	if (!r->up && r->link != NULL)
		rs_down(r, "no answer from redis within redis_timeout_ms");
}

static void
rs_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rs_connect(arg);
}

/* Replay pages: XRANGE from to COUNT max, then the ring's part. */

static const struct redisReply *
rs_entry_field(const struct redisReply *kv, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i + 1 < kv->elements; i += 2) {
		if (kv->element[i]->type == REDIS_REPLY_STRING &&
		    kv->element[i]->len == len &&
		    memcmp(kv->element[i]->str, name, len) == 0)
			return (kv->element[i + 1]);
	}
	return (NULL);
}

static struct es_bytes
rs_entry_bytes(const struct redisReply *kv, const char *name)
{
	const struct redisReply	*v = rs_entry_field(kv, name);
	struct es_bytes		 b = { NULL, 0 };

	if (v != NULL && v->type == REDIS_REPLY_STRING) {
		b.ptr = v->str;
		b.len = (uint32_t)v->len;
	}
	return (b);
}

/* A view of one XRANGE entry (fields point into the reply); -1 if bad. */
static int
rs_entry_view(const struct redisReply *e, struct es_event *ev)
{
	const struct redisReply	*kv;
	struct es_bytes		 b;
	char			 num[32];

	memset(ev, 0, sizeof(*ev));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    rs_parse_id(e->element[0], &ev->eid) == -1 ||
	    (kv = e->element[1])->type != REDIS_REPLY_ARRAY)
		return (-1);
	ev->from = rs_entry_bytes(kv, "from");
	ev->to = rs_entry_bytes(kv, "to");
	ev->kind = rs_entry_bytes(kv, "kind");
	ev->agent = rs_entry_bytes(kv, "agent");
	ev->session = rs_entry_bytes(kv, "session");
	ev->model = rs_entry_bytes(kv, "model");
	ev->body = rs_entry_bytes(kv, "body");
	ev->pattern = rs_entry_bytes(kv, "pattern");
	ev->hdr = rs_entry_bytes(kv, "hdr");
	ev->body_kind_unknown = true;
	b = rs_entry_bytes(kv, "pri");
	if (b.ptr != NULL && b.len < sizeof(num)) {
		memcpy(num, b.ptr, b.len);
		num[b.len] = '\0';
		ev->pri = strtod(num, NULL);
	}
	b = rs_entry_bytes(kv, "ts");
	if (b.ptr != NULL && b.len < sizeof(num)) {
		memcpy(num, b.ptr, b.len);
		num[b.len] = '\0';
		ev->ts_us = strtoll(num, NULL, 10);
	}
	return (0);
}

/* Takes the entries of an XRANGE reply through the query's filter. */
static int
rs_read_entries(const struct es_query *q, const struct redisReply *rep,
    struct es_event **out, struct es_read_result *res)
{
	struct es_event	view;
	size_t		i;

	for (i = 0; i < rep->elements && res->examined < q->max; i++) {
		if (rs_entry_view(rep->element[i], &view) == -1)
			return (-1);
		res->examined++;
		res->last = view.eid;
		if (q->filter != NULL && !q->filter(q->filter_arg, &view))
			continue;
		if ((out[res->n] = es_event_new(&view)) == NULL)
			return (-1);
		res->n++;
	}
	return (0);
}

/*
 * What Redis returned, then the ring's events after it: the replies of
 * one link come in order, so the events confirmed after this XRANGE ran
 * are those still in the ring now.
 */
static int
rs_read_merge(struct es_redis *r, const struct es_query *q,
    const struct redisReply *rep, struct es_event **out,
    struct es_read_result *res)
{
	struct es_read_result	more;
	struct es_query		rq = *q;

	if (rs_read_entries(q, rep, out, res) == -1)
		return (-1);
	if (res->examined >= q->max)
		return (0);
	if (res->examined > 0)
		rq.from = eid_succ(&res->last);
	rq.max = q->max - res->examined;
	memset(&more, 0, sizeof(more));
	if (eid_cmp(&rq.from, &rq.to) > 0 ||
	    es_mem_read(r->ring, &rq, out + res->n, &more) == -1)
		return (eid_cmp(&rq.from, &rq.to) > 0 ? 0 : -1);
	res->n += more.n;
	res->examined += more.examined;
	if (more.examined > 0)
		res->last = more.last;
	return (0);
}

/* A page came back (rep NULL: the link went): called back once. */
static void
rs_read_done(struct rs_read *rd, struct redisReply *rep)
{
	struct es_read_result	 res;
	struct es_event		**out;
	int			 status = -1;

	memset(&res, 0, sizeof(res));
	out = calloc(rd->q.max, sizeof(*out));
	if (out != NULL && rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rs_read_merge(rd->r, &rd->q, rep, out, &res) == 0)
		status = 0;
	if (status == -1 && out != NULL) {
		while (res.n > 0)
			es_event_unref(out[--res.n]);
		memset(&res, 0, sizeof(res));
	}
	TAILQ_REMOVE(&rd->r->reads, rd, entry);
	rd->cb(rd->arg, status == 0 ? out : NULL, &res, status);
	free(out);
	free(rd);
}

/* The backend. */

static int
rs_keys(struct es_redis *r, const char *prefix, char **cause)
{
	if (prefix == NULL)
		prefix = "callosum:";
	if ((size_t)snprintf(r->prefix, sizeof(r->prefix), "%s", prefix) >=
	    sizeof(r->prefix) ||
	    (size_t)snprintf(r->key, sizeof(r->key), "%sevents", prefix) >=
	    sizeof(r->key) || (size_t)snprintf(r->ckey, sizeof(r->ckey),
	    "%sevents:conflicts", prefix) >= sizeof(r->ckey) ||
	    (size_t)snprintf(r->candkey, sizeof(r->candkey), "%scandidates",
	    prefix) >= sizeof(r->candkey)) {
		es_cause(cause, "redis_prefix too long");
		return (-1);
	}
	return (0);
}

static void
rs_free(struct es_redis *r)
{
	if (r->deadline_ev != NULL)
		event_free(r->deadline_ev);
	if (r->retry_ev != NULL)
		event_free(r->retry_ev);
	if (r->down_ev != NULL)
		event_free(r->down_ev);
	if (r->connect_ev != NULL)
		event_free(r->connect_ev);
	es_mem_free(r->ring);
	es_redis_addr_free(&r->addr);
	free(r->acks);
	free(r);
}

/*
 * Reads the streams' last ids now (the events, and the candidates the
 * synthesizer writes under the same id space), so that ids continue
 * above both.
 */
static void
rs_find_last(struct es_redis *r)
{
	struct eid	cand;
	char		*why = NULL;

	if (r->tp->last_id(&r->addr, r->key, r->timeout_ms, &r->last,
	    &why) == 0 && r->tp->last_id(&r->addr, r->candkey, r->timeout_ms,
	    &cand, &why) == 0) {
		if (eid_cmp(&cand, &r->last) > 0)
			r->last = cand;
		return;
	}
	/* Not reachable: the ring serves, and a link is tried later. */
	rs_set_state(r, ES_STATE_FALLBACK, why != NULL ? why :
	    "redis not reachable at start");
	free(why);
}

void *
es_redis_open_with(struct es *front, const struct es_config *cfg,
    const struct es_transport *tp, char **cause)
{
	struct es_redis	*r;

	if (cfg->base == NULL || cfg->redis_url == NULL) {
		es_cause(cause, "redis: an event base and a URL are needed");
		return (NULL);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		es_cause(cause, "redis: out of memory");
		return (NULL);
	}
	r->front = front;
	r->tp = tp;
	r->base = cfg->base;
	r->maxlen = cfg->redis_maxlen;
	r->timeout_ms = cfg->redis_timeout_ms > 0 ? cfg->redis_timeout_ms : 500;
	r->state = ES_STATE_DIRECT;
	TAILQ_INIT(&r->reads);
	TAILQ_INIT(&r->kvs);
	TAILQ_INIT(&r->flushes);
	if (es_redis_addr_parse(cfg->redis_url, &r->addr, cause) == -1 ||
	    rs_keys(r, cfg->redis_prefix, cause) == -1 ||
	    (r->ring = es_mem_new(cfg->mem_max_events, cfg->mem_max_bytes,
	    ES_FULL_REFUSE, cause)) == NULL ||
	    (r->deadline_ev = evtimer_new(r->base, rs_deadline_cb, r)) ==
	    NULL || (r->retry_ev = evtimer_new(r->base, rs_retry_cb, r)) ==
	    NULL || (r->down_ev = event_new(r->base, -1, 0, rs_down_cb, r)) ==
	    NULL || (r->connect_ev = evtimer_new(r->base,
	    rs_connect_timeout_cb, r)) == NULL) {
		if (cause != NULL && *cause == NULL)
			es_cause(cause, "redis: out of memory");
		rs_free(r);
		return (NULL);
	}
	rs_find_last(r);
	rs_connect(r);
	return (r);
}

static void *
rs_be_open(struct es *front, const struct es_config *cfg, char **cause)
{
	return (es_redis_open_with(front, cfg, &es_hiredis_transport, cause));
}

static void
rs_be_close(void *be)
{
	struct es_redis	*r = be;
	r->closing = true;
	evtimer_del(r->retry_ev);
	evtimer_del(r->deadline_ev);
	evtimer_del(r->connect_ev);
	event_del(r->down_ev);
	rs_link_drop(r);
	rs_fail_reads(r);
	/* Unsettled: the process ends with them in memory only. */
	rs_acks_to_memory(r, -1);
	rs_flushes_done(r, -1);
	rs_free(r);
}

/*
 * Into the ring first (the bound covers what is in flight too). While the
 * link is up and nothing acked from memory waits unsent (no backlog being
 * written back), the ack waits for Redis: sent now if the window has room, else
 * queued behind the few in front (at most RS_HOLD_AHEAD), so a publisher
 * faster than Redis is slowed by its held replies instead of filling the
 * ring until it refuses. Otherwise it is acked from memory now.
 */
static int
rs_be_append(void *be, const struct es_event *ev, es_append_cb *cb,
    void *arg, enum es_stored *where)
{
	struct es_redis	*r = be;
	size_t		 depth = es_mem_depth(r->ring);
	bool		 hold;

	/*
	 * The first link after a start that found Redis counts while it
	 * connects: its deadline bounds the wait, and a first pub is not
	 * acked from memory only because Redis had not answered yet. A link
	 * retried after a failure (fallback) does not.
	 */
	hold = (r->up || (r->link != NULL && r->state == ES_STATE_DIRECT)) &&
	    !r->checking && cb != NULL &&
	    (depth == r->nsent || depth == r->nacks) &&
	    depth - r->nsent < RS_HOLD_AHEAD;
	if (es_mem_push(r->ring, ev) == -1)
		return (-1);
	if (eid_cmp(&ev->eid, &r->last) > 0)
		r->last = ev->eid;
	if (!hold) {
		r->stored_memory++;
		*where = ES_STORED_MEMORY;
		if (r->up)
			rs_pump(r);
		return (0);
	}
	rs_ack_push(r, &ev->eid, cb, arg);
	/* A send that fails goes down from the loop: no callback now. */
	rs_pump(r);
	rs_update_state(r, NULL);
	return (ES_PENDING);
}

static int
rs_be_read(void *be, const struct es_query *q, struct es_event **out,
    struct es_read_result *res, es_read_cb *cb, void *arg)
{
	struct es_redis	*r = be;
	struct rs_read	*rd;
	struct eid	 first;
	char		 from[EID_STR_MAX], to[EID_STR_MAX], count[24];
	const char	*argv[6];
	size_t		 len[6];

	es_mem_first_eid(r->ring, &first);
	/* The ring is the log's suffix: a range inside it is answered now. */
	if (es_mem_depth(r->ring) > 0 && eid_cmp(&q->from, &first) >= 0)
		return (es_mem_read(r->ring, q, out, res));
	if (!r->up || r->ncmds >= RS_WINDOW ||
	    (rd = calloc(1, sizeof(*rd))) == NULL)
		return (-1);
	rd->r = r;
	rd->q = *q;
	rd->cb = cb;
	rd->arg = arg;
	argv[0] = "XRANGE";
	argv[1] = r->key;
	argv[2] = from;
	argv[3] = to;
	argv[4] = "COUNT";
	argv[5] = count;
	len[0] = 6;
	len[1] = strlen(r->key);
	len[2] = eid_format(&q->from, from);
	len[3] = eid_format(&q->to, to);
	len[4] = 5;
	len[5] = (size_t)snprintf(count, sizeof(count), "%zu", q->max);
	TAILQ_INSERT_TAIL(&r->reads, rd, entry);
	if (rs_send(r, RS_READ, rd, 6, argv, len) == -1) {
		TAILQ_REMOVE(&r->reads, rd, entry);
		free(rd);
		return (-1);
	}
	return (ES_PENDING);
}

static void
rs_be_last_eid(void *be, struct eid *out)
{
	struct es_redis	*r = be;
	struct eid	 ring;

	es_mem_last_eid(r->ring, &ring);
	*out = eid_cmp(&ring, &r->last) > 0 ? ring : r->last;
}

/* Redis holds the log's start: a replay starts at zero and asks it. */
static void
rs_be_first_eid(void *be, struct eid *out)
{
	(void)be;
	out->ms = 0;
	out->seq = 0;
}

static void
rs_be_stats(void *be, struct es_stats *out)
{
	struct es_redis	*r = be;

	es_mem_stats(r->ring, out);
	out->stored_redis = r->stored_redis;
	out->stored_memory = r->stored_memory;
	out->fallback_depth = es_mem_depth(r->ring);
	out->resyncs = r->resyncs;
	out->duplicates = r->duplicates;
	out->conflicts = r->conflicts;
	out->state = r->state;
}

static int
rs_be_flush(void *be, es_flush_cb *cb, void *arg)
{
	struct es_redis	*r = be;

	struct rs_flush	*fl;

	if (es_mem_depth(r->ring) == 0)
		return (0);
	if ((fl = calloc(1, sizeof(*fl))) == NULL)
		return (-1);
	fl->cb = cb;
	fl->arg = arg;
	TAILQ_INSERT_TAIL(&r->flushes, fl, entry);
	if (!r->up && r->link == NULL) {
		/* Try now rather than at the end of a backoff. */
		evtimer_del(r->retry_ev);
		rs_connect(r);
	}
	return (ES_PENDING);
}

const struct es_backend es_redis_backend = {
	.name = "redis",
	.open = rs_be_open,
	.close = rs_be_close,
	.append = rs_be_append,
	.read = rs_be_read,
	.last_eid = rs_be_last_eid,
	.first_eid = rs_be_first_eid,
	.stats = rs_be_stats,
	.flush = rs_be_flush,
	.kv = rs_be_kv,
	.mirror = rs_be_mirror
};
