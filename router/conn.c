/*
 * conn: one client connection (ADR 0005, ADR 0010).
 *
 * Reading: one read() into the connection's flat input buffer, then every
 * complete frame is handled in place, up to a budget, and while the output
 * has room; a pub that must wait for a full tract stays in the buffer and
 * reading pauses, so nothing accepted is reordered.
 * Writing: frames go to the connection's outq, which writes them once per
 * batch (the end of a read callback, or the flush event) and keeps held
 * replies in their place.
 * Closing unlinks at once (no more fan-out reaches the conn) and frees from
 * the loop, so no caller up the stack touches freed memory; work that
 * completes later holds a reference that keeps the memory valid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "router/clock.h"
#include "router/config.h"
#include "router/counter.h"
#include "router/conn.h"
#include "router/lib/htab.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/op.h"
#include "router/outq.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"
#include "synth/synth.h"

#define CONN_READ_MAX		(256 * 1024)	/* bytes per read(2) */
#define CONN_IBUF_MIN		(16 * 1024)
#define CONN_BUF_KEEP		(256 * 1024)	/* larger idle buffers are freed */
#define CONN_FRAMES_PER_PASS	4096	/* then yield to other conns */
#define CONN_COPY_MAX		1024	/* larger tails go by reference */
#define CONN_BYE_MS		1000	/* after a cut: time for the bye */
#define CONN_HOLDS_MAX		4096	/* replies waiting: then stop reading */

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_handshake_cb(evutil_socket_t, short, void *);
static void	conn_frame_timeout_cb(evutil_socket_t, short, void *);
static void	conn_publish_timeout_cb(evutil_socket_t, short, void *);
static void	conn_resume_cb(evutil_socket_t, short, void *);
static void	conn_close_cb(evutil_socket_t, short, void *);
static void	conn_free_cb(evutil_socket_t, short, void *);
static void	conn_flush_deadline_cb(evutil_socket_t, short, void *);
static void	conn_flush_cb(evutil_socket_t, short, void *);
static void	conn_drain_check(struct conn *);
static void	conn_queue_bye(struct conn *);
static void	conn_wake_waiters(struct conn *);

/* Connections with batched output to write, and the event that does it. */
static TAILQ_HEAD(, conn)	 conn_dirtyq = TAILQ_HEAD_INITIALIZER(conn_dirtyq);
static struct event		*conn_flush_ev;
/* Reply encoding, reused: frames are copied into the outq at once. */
static msgpack_sbuffer		 conn_sb;

void
conn_loop_init(struct event_base *base)
{
	/*
	 * Output batched by callbacks that do not flush it themselves is
	 * written once the callbacks already active in this pass have run:
	 * activating the event queues it behind them.
	 */
	conn_flush_ev = event_new(base, -1, 0, conn_flush_cb, NULL);
	if (conn_flush_ev == NULL)
		xcheck(-1, sizeof(struct event *));
	msgpack_sbuffer_init(&conn_sb);
}

void
conn_loop_free(void)
{
	if (conn_flush_ev != NULL)
		event_free(conn_flush_ev);
	conn_flush_ev = NULL;
	msgpack_sbuffer_destroy(&conn_sb);
	msgpack_sbuffer_init(&conn_sb);
}

static void
conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	conn_flush_dirty();
}

struct conn *
conn_new(struct server *srv, int fd, uid_t uid, pid_t pid)
{
	struct event_base	*base = server_base(srv);
	struct conn		*c;

	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	if ((c->subs = htab_new()) == NULL)
		xcheck(-1, sizeof(struct htab *));
	c->oq = outq_new(fd);
	event_assign(&c->read_ev, base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	event_assign(&c->write_ev, base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	evtimer_assign(&c->handshake_timer, base, conn_handshake_cb, c);
	evtimer_assign(&c->frame_timer, base, conn_frame_timeout_cb, c);
	evtimer_assign(&c->publish_timer, base, conn_publish_timeout_cb, c);
	evtimer_assign(&c->flush_timer, base, conn_flush_deadline_cb, c);
	event_assign(&c->resume_ev, base, -1, 0, conn_resume_cb, c);
	event_assign(&c->close_ev, base, -1, 0, conn_close_cb, c);
	event_assign(&c->free_ev, base, -1, 0, conn_free_cb, c);
	clock_timer_ms(&c->handshake_timer,
	    server_config(srv)->handshake_timeout_ms);
	TAILQ_INIT(&c->out_waiters);
	c->id = server_conn_add(srv, c);
	event_add(&c->read_ev, NULL);
	return (c);
}

struct conn *
conn_ref(struct conn *c)
{
	c->refs++;
	return (c);
}

void
conn_unref(struct conn *c)
{
	if (--c->refs == 0 && (c->flags & CONN_GONE))
		free(c);
}

void
conn_set_identity(struct conn *c, const struct wire_req *req)
{
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
	/* The synthesizer's label hashes, once for the connection's life. */
	c->label_hash[0] = synth_label_hash(c->agent, c->agent_len);
	c->label_hash[1] = synth_label_hash(c->session, c->session_len);
	c->label_hash[2] = synth_label_hash(c->model, c->model_len);
	if (req->tract.ptr != NULL) {
		c->home = xstrndup(req->tract.ptr, req->tract.len);
		c->home_len = req->tract.len;
	}
}

struct tract *
conn_last_to(const struct conn *c)
{
	return (c->last_to);
}

/* Tracts live as long as the server: the cache cannot dangle. */
void
conn_set_last_to(struct conn *c, struct tract *t)
{
	c->last_to = t;
}

struct sub *
conn_find_sub(struct conn *c, uint64_t sid)
{
	return (htab_get(c->subs, &sid, sizeof(sid)));
}

/* The key is the sub's own sid field's value: sid must stay put there. */
void
conn_add_sub(struct conn *c, struct sub *s, uint64_t sid)
{
	xcheck(htab_put(c->subs, sub_sid_key(s), sizeof(sid), s), sizeof(s));
}

void
conn_remove_sub(struct conn *c, struct sub *s, uint64_t sid)
{
	if (htab_get(c->subs, &sid, sizeof(sid)) == s)
		htab_del(c->subs, &sid, sizeof(sid));
}

size_t
conn_nsubs(const struct conn *c)
{
	return (htab_count(c->subs));
}

size_t
conn_output_len(struct conn *c)
{
	return (outq_len(c->oq));
}

bool
conn_output_full(struct conn *c)
{
	return (outq_len(c->oq) > server_config(c->srv)->output_limit / 2);
}

void
conn_wait_output(struct conn *c, struct conn_waiter *w)
{
	if (w->on)
		return;
	w->on = true;
	TAILQ_INSERT_TAIL(&c->out_waiters, w, entry);
}

void
conn_unwait_output(struct conn *c, struct conn_waiter *w)
{
	if (!w->on)
		return;
	w->on = false;
	TAILQ_REMOVE(&c->out_waiters, w, entry);
}

/*
 * A reader that lets its output pass the limit is closed (slow consumer).
 * Only what it could have read counts: bytes held behind a reply that
 * waits for the log are the router's wait, not the reader's.
 */
static void
conn_check_output(struct conn *c)
{
	if ((c->flags & (CONN_CLOSING | CONN_DOOMED)) ||
	    outq_unwritten(c->oq) <= server_config(c->srv)->output_limit)
		return;
	counter_inc(COUNTER_CONNS_CLOSED_OUTPUT);
	log_warn("conn", "output_limit", "conn=%llu agent=%s bytes=%zu",
	    (unsigned long long)c->id, c->agent ? c->agent : "-",
	    outq_len(c->oq));
	conn_close_later(c, "output_limit");
}

static void
conn_dirty(struct conn *c)
{
	if (c->flags & CONN_DIRTY)
		return;
	c->flags |= CONN_DIRTY;
	TAILQ_INSERT_TAIL(&conn_dirtyq, c, dirty_entry);
	event_active(conn_flush_ev, EV_TIMEOUT, 0);
}

static void
conn_undirty(struct conn *c)
{
	if (c->flags & CONN_DIRTY) {
		c->flags &= ~CONN_DIRTY;
		TAILQ_REMOVE(&conn_dirtyq, c, dirty_entry);
	}
}

/* Pumps stopped by the output (or a held reply) go on from the loop. */
static void
conn_wake_waiters(struct conn *c)
{
	struct conn_waiter	*w;

	while ((w = TAILQ_FIRST(&c->out_waiters)) != NULL) {
		conn_unwait_output(c, w);
		event_active(w->ev, EV_TIMEOUT, 0);
	}
}

/*
 * Output drained below a quarter of the limit: reading may resume; a
 * closing conn with nothing left gets its bye, then is freed; a draining
 * one may be done.
 */
static void
conn_output_drained(struct conn *c)
{
	if (c->flags & CONN_CLOSING) {
		/* Held replies may still come: a half-closed peer wants them. */
		if (outq_len(c->oq) != 0 || outq_holds(c->oq) != 0)
			return;
		if (c->bye != NULL && !(c->flags & CONN_BYE_QUEUED)) {
			conn_queue_bye(c);
			conn_dirty(c);
			return;
		}
		event_active(&c->free_ev, EV_TIMEOUT, 0);
		return;
	}
	if (c->flags & CONN_DRAINING)
		conn_drain_check(c);
	if (outq_len(c->oq) > server_config(c->srv)->output_limit / 4)
		return;
	conn_resume(c, CONN_PAUSE_OUTPUT);
	conn_wake_waiters(c);
}

/* A write failed for good: nothing more can reach the peer. */
static void
conn_write_failed(struct conn *c)
{
	conn_close(c, NULL, "io_error", 0);
	event_active(&c->free_ev, EV_TIMEOUT, 0);
}

static void
conn_flush(struct conn *c)
{
	conn_undirty(c);
	if (outq_flush(c->oq) == -1) {
		conn_write_failed(c);
		return;
	}
	if (outq_wants_write(c->oq))
		event_add(&c->write_ev, NULL);
	conn_output_drained(c);
}

void
conn_flush_dirty(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&conn_dirtyq)) != NULL)
		conn_flush(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (outq_write(c->oq) == -1) {
		conn_write_failed(c);
		return;
	}
	if (!outq_wants_write(c->oq))
		event_del(&c->write_ev);
	conn_output_drained(c);
}

/* Queues bytes of whole frames for c, unless c is going away. */
void
conn_send_frame(struct conn *c, const void *frame, size_t len)
{
	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return;
	outq_add(c->oq, frame, len);
	conn_dirty(c);
	conn_check_output(c);
}

/* Sends what the encoder left in conn_sb. */
static void
conn_out_sb(struct conn *c)
{
	conn_send_frame(c, conn_sb.data, conn_sb.size);
	conn_sb.size = 0;
}

void
conn_send_err(struct conn *c, bool has_id, uint64_t id, enum wire_code code,
    const char *msg)
{
	counter_err(code);
	xcheck(wire_enc_err(&conn_sb, has_id, id, code, msg), 0);
	conn_out_sb(c);
}

void
conn_send_ack(struct conn *c, bool has_id, uint64_t id)
{
	if (!has_id)
		return;		/* success without id is silent */
	xcheck(wire_enc_ack(&conn_sb, id), 0);
	conn_out_sb(c);
}

void
conn_send_ack_pub(struct conn *c, uint64_t id, const char *eid,
    const char *stored)
{
	xcheck(wire_enc_ack_pub(&conn_sb, id, eid, stored), 0);
	conn_out_sb(c);
}

void
conn_send_pong(struct conn *c, bool has_id, uint64_t id)
{
	xcheck(wire_enc_pong(&conn_sb, has_id, id), 0);
	conn_out_sb(c);
}

void
conn_send_lag(struct conn *c, uint64_t sid, uint64_t dropped,
    const char *first, const char *last)
{
	counter_inc(COUNTER_LAG_FRAMES);
	xcheck(wire_enc_lag(&conn_sb, sid, dropped, first, last), 0);
	conn_out_sb(c);
}

void
conn_send_end(struct conn *c, uint64_t sid)
{
	xcheck(wire_enc_end(&conn_sb, sid), 0);
	conn_out_sb(c);
}

static void
conn_msg_cleanup(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	msg_unref(arg);
}

void
conn_send_msg(struct conn *c, uint64_t sid, struct msg *m)
{
	unsigned char	 pre[WIRE_PREFIX_MAX];
	size_t		 n;

	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return;
	n = wire_msg_prefix(pre, m->tail_pairs, m->tail_len, sid);
	if (m->tail_len <= CONN_COPY_MAX) {
		/* Copying a small tail is cheaper than a reference chain. */
		outq_add2(c->oq, pre, n, m->tail, m->tail_len);
	} else
		outq_add_ref(c->oq, pre, n, m->tail, m->tail_len,
		    conn_msg_cleanup, msg_ref(m));
	conn_dirty(c);
	conn_check_output(c);
}

uint64_t
conn_reply_hold(struct conn *c)
{
	uint64_t	seq;

	seq = outq_hold(c->oq);
	c->holding = true;
	if (outq_holds(c->oq) >= CONN_HOLDS_MAX)
		conn_pause(c, CONN_PAUSE_HOLDS);
	return (seq);
}

/*
 * A closing conn still takes its held replies (a drain lets them out
 * before bye); a freed one, or a slot already cut, drops them.
 */
void
conn_reply_fill(struct conn *c, uint64_t seq, bool has_id, uint64_t id,
    enum wire_code code, const char *why, const char *eid, const char *stored)
{
	if (c->flags & CONN_GONE)
		return;
	if (code != WIRE_OK) {
		counter_err(code);
		xcheck(wire_enc_err(&conn_sb, has_id, id, code, why), 0);
	}
	else if (has_id)
		xcheck(wire_enc_ack_pub(&conn_sb, id, eid, stored), 0);
	outq_fill(c->oq, seq, conn_sb.data, conn_sb.size);
	conn_sb.size = 0;
	if (outq_holds(c->oq) <= CONN_HOLDS_MAX / 2)
		conn_resume(c, CONN_PAUSE_HOLDS);
	c->holding = outq_holds(c->oq) > 0;
	if (!c->holding)
		conn_wake_waiters(c);	/* pumps held back by the slot */
	conn_dirty(c);
	conn_check_output(c);
}



void
conn_pause(struct conn *c, int why)
{
	if (c->pause == 0)
		event_del(&c->read_ev);
	c->pause |= why;
}

void
conn_resume(struct conn *c, int why)
{
	if (!(c->pause & why))
		return;
	c->pause &= ~why;
	if (c->pause != 0 || (c->flags & CONN_CLOSING))
		return;
	if (!(c->flags & CONN_EOF))
		event_add(&c->read_ev, NULL);
	/* Frames may already wait in the input: handle them from the loop. */
	event_active(&c->resume_ev, EV_TIMEOUT, 0);
}

/* Rejects a frame by its header alone and closes: the stream is lost. */
static void
conn_bad_length(struct conn *c, uint32_t len)
{
	counter_inc(COUNTER_BAD_FRAMES);
	conn_send_err(c, false, 0, WIRE_BAD_FRAME, len == 0 ?
	    "frame length 0" : "frame longer than max_frame");
	conn_close(c, NULL, "bad_frame", CONN_FLUSH_MS);
}

/*
 * SPEC: a frame, once begun, completes within frame_timeout_ms. The clock
 * runs while a partial frame waits and reading is not paused by us; it
 * restarts when a new frame begins (frames were consumed in this pass).
 */
static void
conn_frame_clock(struct conn *c, bool consumed)
{
	bool	partial;

	partial = c->pause == 0 && c->ilen > 0 &&
	    !event_pending(&c->resume_ev, EV_TIMEOUT, NULL);
	if (!partial) {
		if (c->frame_timing)
			evtimer_del(&c->frame_timer);
		c->frame_timing = false;
		return;
	}
	if (c->frame_timing && !consumed)
		return;
	c->frame_timing = true;
	clock_timer_ms(&c->frame_timer,
	    server_config(c->srv)->frame_timeout_ms);
}

/* Handles the frames at the start of ibuf; returns bytes consumed. */
static size_t
conn_frames(struct conn *c)
{
	const struct config	*cfg = server_config(c->srv);
	unsigned		 budget = CONN_FRAMES_PER_PASS;
	size_t			 off = 0;
	uint32_t		 len;

	while (c->pause == 0 && !(c->flags & (CONN_CLOSING | CONN_DOOMED))) {
		if (c->ilen - off < WIRE_HDR_LEN)
			break;
		len = wire_frame_len((unsigned char *)c->ibuf + off);
		if (len == 0 || len > cfg->max_frame) {
			conn_bad_length(c, len);
			break;
		}
		if (c->ilen - off - WIRE_HDR_LEN < len)
			break;
		if (budget-- == 0) {
			clock_later(&c->resume_ev);
			break;
		}
		/* Pace replies as pumps are paced: never run past the limit. */
		if (outq_len(c->oq) > cfg->output_limit / 2) {
			conn_pause(c, CONN_PAUSE_OUTPUT);
			break;
		}
		if (op_dispatch(c, c->ibuf + off + WIRE_HDR_LEN, len) ==
		    OP_PARK)
			break;	/* the frame stays in the input */
		off += WIRE_HDR_LEN + len;
	}
	return (off);
}

/*
 * Handles the complete frames at the start of ibuf, then moves what is
 * left to the front. Returns -1 when c is closing.
 */
static int
conn_process(struct conn *c)
{
	size_t	off;

	clock_read();
	off = conn_frames(c);
	if (off > 0) {
		memmove(c->ibuf, c->ibuf + off, c->ilen - off);
		c->ilen -= off;
	}
	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return (-1);
	conn_frame_clock(c, off > 0);
	if ((c->flags & CONN_EOF) && c->pause == 0 &&
	    !event_pending(&c->resume_ev, EV_TIMEOUT, NULL)) {
		/* The peer is done; a draining router still says bye. */
		conn_close(c, (c->flags & CONN_DRAINING) ? "shutdown" : NULL,
		    "eof", CONN_FLUSH_MS);
		return (-1);
	}
	conn_drain_check(c);
	return ((c->flags & CONN_CLOSING) ? -1 : 0);
}

/*
 * Makes room to read: at least the whole frame that starts the buffer,
 * and some more. Doubling keeps ibuf under 2 * (max_frame + 4) plus
 * CONN_IBUF_MIN.
 */
static void
conn_ibuf_room(struct conn *c)
{
	size_t	need = CONN_IBUF_MIN, ncap;

	if (c->ilen >= WIRE_HDR_LEN)
		need = WIRE_HDR_LEN + wire_frame_len((unsigned char *)c->ibuf);
	if (c->icap - c->ilen >= CONN_IBUF_MIN && c->icap >= need)
		return;
	ncap = c->icap == 0 ? CONN_IBUF_MIN : c->icap;
	while (ncap < need || ncap - c->ilen < CONN_IBUF_MIN)
		ncap *= 2;
	c->ibuf = xrealloc(c->ibuf, ncap);
	c->icap = ncap;
}

/* One read(2) into the input. Returns -1 when c failed for good. */
static int
conn_read_some(struct conn *c)
{
	ssize_t	n;
	size_t	room;

	conn_ibuf_room(c);
	room = c->icap - c->ilen;
	if (room > CONN_READ_MAX)
		room = CONN_READ_MAX;
	n = read(c->fd, c->ibuf + c->ilen, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n == -1) {
		conn_write_failed(c);	/* reset by peer: nothing to flush */
		return (-1);
	}
	if (n == 0) {
		/* Half-closed: answer what was sent, then close. */
		c->flags |= CONN_EOF;
		event_del(&c->read_ev);
	}
	c->ilen += (size_t)n;
	return (0);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (conn_read_some(c) == -1)
		return;
	if (conn_process(c) == 0 && c->ilen == 0 && c->icap > CONN_BUF_KEEP) {
		free(c->ibuf);		/* an idle conn keeps no big buffer */
		c->ibuf = NULL;
		c->icap = 0;
	}
	conn_flush_dirty();
}

static void
conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	conn_process(c);
	conn_flush_dirty();
}

static void
conn_handshake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	log_info("conn", "handshake_timeout", "conn=%llu",
	    (unsigned long long)c->id);
	conn_send_err(c, false, 0, WIRE_HELLO_REQUIRED,
	    "no hello within handshake_timeout_ms");
	conn_close(c, NULL, "handshake_timeout", CONN_FLUSH_MS);
}

static void
conn_frame_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	c->frame_timing = false;
	counter_inc(COUNTER_BAD_FRAMES);
	log_info("conn", "frame_timeout", "conn=%llu buffered=%zu",
	    (unsigned long long)c->id, c->ilen);
	conn_send_err(c, false, 0, WIRE_BAD_FRAME,
	    "frame not completed within frame_timeout_ms");
	conn_close(c, NULL, "frame_timeout", CONN_FLUSH_MS);
}

/* The parked pub waited publish_timeout_ms: it is answered backpressure. */
static void
conn_publish_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct tract	*t = c->waiting_on;

	(void)fd;
	(void)what;
	if (t == NULL)
		return;
	tract_unwait(t, c);
	c->waiting_on = NULL;
	c->pub_timed_out = true;
	counter_inc(COUNTER_BACKPRESSURE);
	tract_note_failure(t, "backpressure");
	conn_resume(c, CONN_PAUSE_TRACT_FULL);
}

/*
 * One deadline per parked pub: woken and parked again, it waits only for
 * what is left of publish_timeout_ms (none left: it times out at once).
 */
void
conn_start_publish_wait(struct conn *c, struct tract *t, bool trial)
{
	int64_t	now = clock_mono_now_us();

	if (c->pub_deadline_us == 0)
		c->pub_deadline_us = now +
		    (int64_t)server_config(c->srv)->publish_timeout_ms * 1000;
	clock_timer_us(&c->publish_timer, c->pub_deadline_us - now);
	c->pub_trial = c->pub_trial || trial;
	c->waiting_on = t;
	tract_wait(t, c);
	conn_pause(c, CONN_PAUSE_TRACT_FULL);
}

int64_t
conn_publish_start_us(const struct conn *c)
{
	if (c->pub_deadline_us == 0)
		return (clock_mono_us());
	return (c->pub_deadline_us -
	    (int64_t)server_config(c->srv)->publish_timeout_ms * 1000);
}

void
conn_end_publish_wait(struct conn *c)
{
	evtimer_del(&c->publish_timer);
	c->pub_timed_out = false;
	c->pub_trial = false;
	c->pub_deadline_us = 0;
}

/* The parked pub is dropped unanswered (c closes, or drains). */
static void
conn_drop_publish_wait(struct conn *c)
{
	if (c->waiting_on != NULL) {
		tract_unwait(c->waiting_on, c);
		if (c->pub_trial)
			tract_release(c->waiting_on);
	}
	c->waiting_on = NULL;
	c->pub_trial = false;
	evtimer_del(&c->publish_timer);
}

void
conn_wake_publisher(struct conn *c)
{
	c->waiting_on = NULL;
	conn_resume(c, CONN_PAUSE_TRACT_FULL);
}

/* Frees every subscription; the table changes under us, so restart. */
static void
conn_free_subs(struct conn *c)
{
	struct sub	*s;
	size_t		 it;

	for (;;) {
		it = 0;
		if ((s = htab_next(c->subs, &it)) == NULL)
			break;
		sub_free(s);
	}
}

/* Queues the bye, once: the last frame the conn will carry. */
static void
conn_queue_bye(struct conn *c)
{
	if (c->bye == NULL || (c->flags & CONN_BYE_QUEUED))
		return;
	c->flags |= CONN_BYE_QUEUED;
	xcheck(wire_enc_bye(&conn_sb, c->bye), 0);
	outq_add(c->oq, conn_sb.data, conn_sb.size);
	conn_sb.size = 0;
}

/* Drops every unsent whole frame, then queues the bye (ADR 0011). */
static void
conn_cut(struct conn *c)
{
	c->flags |= CONN_CUT;
	outq_cut(c->oq);
	c->holding = false;
	conn_queue_bye(c);
	clock_timer_ms(&c->flush_timer, CONN_BYE_MS);
}

/*
 * What a person mistakes for our socket: an HTTP client or a TLS
 * handshake (their first bytes read as a frame length far past max_frame).
 */
static const char *
conn_peer_hint(const struct conn *c)
{
	static const char *const http[] = { "GET ", "POST", "HEAD", "PUT ",
	    "HTTP", "PRI ", "OPTI", "DELE" };
	size_t	i;

	if ((c->flags & CONN_HELLO) || c->ilen < 4)
		return (NULL);
	for (i = 0; i < sizeof http / sizeof http[0]; i++) {
		if (memcmp(c->ibuf, http[i], 4) == 0)
			return ("looks like HTTP: this socket speaks "
			    "length-prefixed msgpack; HTTP is --http");
	}
	if (c->ibuf[0] == 0x16 && c->ibuf[1] == 0x03)
		return ("looks like TLS: this socket is a plain Unix socket");
	return (NULL);
}

/* One line per connection that ends, with why (and a hint for mistakes). */
static void
conn_log_close(const struct conn *c, const char *why)
{
	const char	*hint = conn_peer_hint(c);

	log_info("conn", "close", "conn=%llu agent=%s reason=%s%s%s%s",
	    (unsigned long long)c->id, c->agent ? c->agent : "-",
	    why ? why : "-", hint ? " hint=\"" : "", hint ? hint : "",
	    hint ? "\"" : "");
}

void
conn_close(struct conn *c, const char *bye, const char *why,
    unsigned flush_ms)
{
	if (c->flags & CONN_CLOSING)
		return;
	c->flags |= CONN_CLOSING;
	c->bye = bye;
	conn_free_subs(c);
	conn_drop_publish_wait(c);
	evtimer_del(&c->handshake_timer);
	evtimer_del(&c->frame_timer);
	evtimer_del(&c->publish_timer);
	event_del(&c->resume_ev);
	event_del(&c->close_ev);
	event_del(&c->read_ev);
	conn_log_close(c, why);
	/* The bye goes once the output has drained (conn_output_drained). */
	if (flush_ms == 0)
		conn_cut(c);
	else
		clock_timer_ms(&c->flush_timer, flush_ms);
	conn_flush(c);
}

/* The flush deadline: cut what is left so that the bye gets out, or free. */
static void
conn_flush_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (!(c->flags & CONN_CLOSING)) {
		/* The drain's deadline: what is not out by now is cut. */
		if (outq_len(c->oq) > 0)
			log_info("conn", "bye_cut", "conn=%llu dropped=%zu",
			    (unsigned long long)c->id, outq_len(c->oq));
		conn_close(c, "shutdown", "drain_deadline", 0);
		return;
	}
	if ((c->flags & (CONN_CUT | CONN_BYE_QUEUED)) || c->bye == NULL) {
		conn_free(c);
		return;
	}
	log_info("conn", "bye_cut", "conn=%llu dropped=%zu",
	    (unsigned long long)c->id, outq_len(c->oq));
	conn_cut(c);
	conn_flush(c);
}

void
conn_close_later(struct conn *c, const char *reason)
{
	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return;
	c->flags |= CONN_DOOMED;
	c->close_reason = reason;
	event_active(&c->close_ev, EV_TIMEOUT, 0);
}

/* True when a sub of c before s in the table has s's tract (once each). */
static bool
conn_tract_counted(struct conn *c, const struct sub *s)
{
	const struct sub	*o;
	size_t			 it = 0;

	while ((o = htab_next(c->subs, &it)) != NULL && o != s) {
		if (o->t == s->t && (o->npending > 0 || o->delivered > 0))
			return (true);
	}
	return (false);
}

/*
 * A slow reader: its backlog is dropped so that the reason reaches it.
 * Each tract whose messages it held (queued, or delivered into the output
 * it did not read) failed to deliver to it: one breaker input per tract.
 */
static void
conn_close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct sub	*s;
	size_t		 it = 0;

	(void)fd;
	(void)what;
	c->flags &= ~CONN_DOOMED;
	while ((s = htab_next(c->subs, &it)) != NULL) {
		if (s->t != NULL && (s->npending > 0 || s->delivered > 0) &&
		    !conn_tract_counted(c, s))
			tract_note_failure(s->t, "delivery");
	}
	conn_close(c, c->close_reason, c->close_reason, 0);
}

/*
 * Draining: nothing new is published to c (its subs leave their tracts),
 * requests that arrive are answered shutting_down (op_dispatch), and its
 * subs deliver what they were granted from their queues and replays. Done
 * (conn_drain_check) or at drain_ms, the conn closes with bye "shutdown";
 * what a slow reader has not taken by then is cut (ADR 0011).
 */
void
conn_shutdown(struct conn *c, unsigned drain_ms)
{
	struct sub	*s;
	size_t		 it = 0;

	if (c->flags & (CONN_CLOSING | CONN_DRAINING))
		return;
	c->flags |= CONN_DRAINING;
	conn_drop_publish_wait(c);
	evtimer_del(&c->handshake_timer);
	while ((s = htab_next(c->subs, &it)) != NULL)
		sub_stop_live(s);
	clock_timer_ms(&c->flush_timer, drain_ms);
	/*
	 * The parked pub, what follows it, and what the socket holds already
	 * (sent before the signal) are answered now.
	 */
	conn_resume(c, CONN_PAUSE_TRACT_FULL);
	if (c->pause == 0 && !(c->flags & CONN_EOF) &&
	    conn_read_some(c) == -1)
		return;
	if (c->pause == 0 && (c->flags & CONN_HELLO))
		conn_process(c);
	conn_drain_check(c);
}

/* A whole frame waits in the input (to be answered). */
static bool
conn_has_frame(const struct conn *c)
{
	return (c->ilen >= WIRE_HDR_LEN && c->ilen - WIRE_HDR_LEN >=
	    wire_frame_len((unsigned char *)c->ibuf));
}

/*
 * A draining conn with no request left to answer, no output, and subs
 * with nothing granted left.
 */
static void
conn_drain_check(struct conn *c)
{
	struct sub	*s;
	size_t		 it = 0;

	if (!(c->flags & CONN_DRAINING) || (c->flags & CONN_CLOSING) ||
	    outq_len(c->oq) != 0 || outq_holds(c->oq) != 0 ||
	    conn_has_frame(c))
		return;
	while ((s = htab_next(c->subs, &it)) != NULL) {
		if (!sub_drained(s))
			return;
	}
	conn_close(c, "shutdown", "drained", CONN_FLUSH_MS);
}

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_free(arg);
}

void
conn_free(struct conn *c)
{
	struct server	*srv = c->srv;

	if (c->flags & CONN_GONE)
		return;
	conn_undirty(c);
	evtimer_del(&c->flush_timer);
	evtimer_del(&c->handshake_timer);
	evtimer_del(&c->frame_timer);
	evtimer_del(&c->publish_timer);
	event_del(&c->resume_ev);
	event_del(&c->close_ev);
	event_del(&c->free_ev);
	event_del(&c->read_ev);
	event_del(&c->write_ev);
	close(c->fd);
	outq_free(c->oq);	/* drops the references of large tails */
	c->oq = NULL;
	htab_free(c->subs);
	c->subs = NULL;
	server_conn_remove(srv, c);
	free(c->ibuf);
	free(c->agent);
	free(c->session);
	free(c->model);
	free(c->home);
	c->flags |= CONN_GONE;
	if (c->refs == 0)
		free(c);
	server_conn_gone(srv);
}
