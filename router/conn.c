/*
 * conn: one client connection (ADR 0005).
 *
 * Reading: one read() into the connection's flat input buffer, then every
 * complete frame is handled in place, up to a budget; a pub that must wait
 * for a full tract stays in the buffer and reading pauses, so nothing
 * accepted is reordered.
 * Writing: frames are appended to a flat output buffer and the connection
 * is marked dirty; once per batch (the end of a read callback, or the
 * lowest-priority flush event) conn_flush() writes it with one write(2).
 * What the socket does not take goes to an evbuffer written on EV_WRITE.
 * Closing unlinks at once (no more fan-out reaches the conn) and frees from
 * the loop, so no caller up the stack touches freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "router/config.h"
#include "router/conn.h"
#include "router/lib/htab.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/op.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"

#define CONN_READ_MAX		(256 * 1024)	/* bytes per read(2) */
#define CONN_IBUF_MIN		(16 * 1024)
#define CONN_WBUF_MIN		(16 * 1024)
#define CONN_BUF_KEEP		(256 * 1024)	/* larger idle buffers are freed */
#define CONN_FRAMES_PER_PASS	4096	/* then yield to other conns */
#define CONN_COPY_MAX		1024	/* larger tails go by reference */
#define CONN_FLUSH_MS		1000	/* closing: time to flush output */

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_handshake_cb(evutil_socket_t, short, void *);
static void	conn_publish_timeout_cb(evutil_socket_t, short, void *);
static void	conn_resume_cb(evutil_socket_t, short, void *);
static void	conn_close_cb(evutil_socket_t, short, void *);
static void	conn_free_cb(evutil_socket_t, short, void *);

static void
conn_set_timer(struct event *ev, unsigned ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

struct conn *
conn_new(struct server *srv, int fd, uid_t uid, pid_t pid)
{
	struct conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->id = ++srv->next_conn_id;
	c->srv = srv;
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	if ((c->subs = htab_new()) == NULL || (c->out = evbuffer_new()) == NULL)
		abort();
	event_assign(&c->read_ev, srv->base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	event_assign(&c->write_ev, srv->base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	evtimer_assign(&c->handshake_timer, srv->base, conn_handshake_cb, c);
	evtimer_assign(&c->publish_timer, srv->base, conn_publish_timeout_cb, c);
	evtimer_assign(&c->flush_timer, srv->base, conn_free_cb, c);
	event_assign(&c->resume_ev, srv->base, -1, 0, conn_resume_cb, c);
	event_assign(&c->close_ev, srv->base, -1, 0, conn_close_cb, c);
	event_assign(&c->free_ev, srv->base, -1, 0, conn_free_cb, c);
	conn_set_timer(&c->handshake_timer, srv->cfg->handshake_timeout_ms);
	TAILQ_INIT(&c->out_waiters);
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	event_add(&c->read_ev, NULL);
	return (c);
}

size_t
conn_output_len(struct conn *c)
{
	return (evbuffer_get_length(c->out) + c->wlen);
}

bool
conn_output_full(struct conn *c)
{
	return (conn_output_len(c) > c->srv->cfg->output_limit / 2);
}

void
conn_wait_output(struct conn *c, struct sub *s)
{
	if (s->out_wait)
		return;
	s->out_wait = true;
	TAILQ_INSERT_TAIL(&c->out_waiters, s, out_entry);
}

void
conn_unwait_output(struct conn *c, struct sub *s)
{
	if (!s->out_wait)
		return;
	s->out_wait = false;
	TAILQ_REMOVE(&c->out_waiters, s, out_entry);
}

/* A reader that lets its output pass the limit is closed (slow consumer). */
static void
conn_check_output(struct conn *c)
{
	if ((c->flags & (CONN_CLOSING | CONN_DOOMED)) ||
	    conn_output_len(c) <= c->srv->cfg->output_limit)
		return;
	c->srv->n.conns_closed_output++;
	log_warn("conn_output_limit", "conn=%llu agent=%s bytes=%zu",
	    (unsigned long long)c->id, c->agent ? c->agent : "-",
	    conn_output_len(c));
	conn_close_later(c, "output_limit");
}

/* Room for n more bytes in wbuf; marks c dirty. */
static char *
conn_wbuf_reserve(struct conn *c, size_t n)
{
	struct server	*srv = c->srv;
	size_t		 ncap;

	if (c->wcap - c->wlen < n) {
		ncap = c->wcap == 0 ? CONN_WBUF_MIN : c->wcap;
		while (ncap - c->wlen < n)
			ncap *= 2;
		c->wbuf = xrealloc(c->wbuf, ncap);
		c->wcap = ncap;
	}
	if (!(c->flags & CONN_DIRTY)) {
		c->flags |= CONN_DIRTY;
		TAILQ_INSERT_TAIL(&srv->dirty, c, dirty_entry);
		event_active(srv->flush_ev, EV_TIMEOUT, 0);
	}
	return (c->wbuf + c->wlen);
}

static void
conn_wbuf_add(struct conn *c, const void *data, size_t len)
{
	memcpy(conn_wbuf_reserve(c, len), data, len);
	c->wlen += len;
}

static void
conn_undirty(struct conn *c)
{
	if (c->flags & CONN_DIRTY) {
		c->flags &= ~CONN_DIRTY;
		TAILQ_REMOVE(&c->srv->dirty, c, dirty_entry);
	}
}

/*
 * Output drained below a quarter of the limit: reading may resume; a
 * closing conn with nothing left is freed.
 */
static void
conn_output_drained(struct conn *c)
{
	struct sub	*s;

	if (c->flags & CONN_CLOSING) {
		if (conn_output_len(c) == 0)
			event_active(&c->free_ev, EV_TIMEOUT, 0);
		return;
	}
	if (conn_output_len(c) > c->srv->cfg->output_limit / 4)
		return;
	conn_resume(c, CONN_PAUSE_OUTPUT);
	while ((s = TAILQ_FIRST(&c->out_waiters)) != NULL) {
		conn_unwait_output(c, s);
		event_active(&s->pump_ev, EV_TIMEOUT, 0);
	}
}

/* A write failed for good: nothing more can reach the peer. */
static void
conn_write_failed(struct conn *c)
{
	c->wlen = 0;
	evbuffer_drain(c->out, evbuffer_get_length(c->out));
	conn_close(c, NULL);
	event_active(&c->free_ev, EV_TIMEOUT, 0);
}

/*
 * Writes wbuf: straight to the socket when nothing older waits in out,
 * the rest into out for EV_WRITE.
 */
static void
conn_flush(struct conn *c)
{
	ssize_t	n = 0;

	conn_undirty(c);
	if (c->wlen == 0)
		return;
	if (evbuffer_get_length(c->out) == 0) {
		n = write(c->fd, c->wbuf, c->wlen);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			conn_write_failed(c);
			return;
		}
		if (n == -1)
			n = 0;
	}
	if ((size_t)n < c->wlen) {
		evbuffer_add(c->out, c->wbuf + n, c->wlen - n);
		event_add(&c->write_ev, NULL);
	}
	c->wlen = 0;
	if (c->wcap > CONN_BUF_KEEP) {
		free(c->wbuf);
		c->wbuf = NULL;
		c->wcap = 0;
	}
	conn_output_drained(c);
}

void
conn_flush_dirty(struct server *srv)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&srv->dirty)) != NULL)
		conn_flush(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)what;
	if (evbuffer_write(c->out, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		conn_write_failed(c);
		return;
	}
	if (evbuffer_get_length(c->out) == 0) {
		event_del(&c->write_ev);
		if (c->wlen > 0)
			conn_flush(c);	/* out was in its way */
	}
	conn_output_drained(c);
}

void
conn_flush_out(struct conn *c)
{
	struct server	*srv = c->srv;

	if (!(c->flags & (CONN_CLOSING | CONN_DOOMED)))
		conn_wbuf_add(c, srv->out.data, srv->out.size);
	srv->out.size = 0;
	conn_check_output(c);
}

void
conn_send_err(struct conn *c, bool has_id, uint64_t id, enum wire_code code,
    const char *msg)
{
	wire_enc_err(&c->srv->out, has_id, id, code, msg);
	conn_flush_out(c);
}

void
conn_send_ack(struct conn *c, bool has_id, uint64_t id)
{
	if (!has_id)
		return;		/* success without id is silent */
	wire_enc_ack(&c->srv->out, id);
	conn_flush_out(c);
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
	char		*p;
	size_t		 n;

	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return;
	n = wire_msg_prefix(pre, m->tail_pairs, m->tail_len, sid);
	if (m->tail_len <= CONN_COPY_MAX) {
		/* Copying a small tail is cheaper than a reference chain. */
		p = conn_wbuf_reserve(c, n + m->tail_len);
		memcpy(p, pre, n);
		memcpy(p + n, m->tail, m->tail_len);
		c->wlen += n + m->tail_len;
	} else {
		/* Keep order: what wbuf holds goes first, then prefix and tail. */
		evbuffer_add(c->out, c->wbuf, c->wlen);
		c->wlen = 0;
		evbuffer_add(c->out, pre, n);
		evbuffer_add_reference(c->out, m->tail, m->tail_len,
		    conn_msg_cleanup, msg_ref(m));
		event_add(&c->write_ev, NULL);
	}
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
	c->srv->n.bad_frames++;
	conn_send_err(c, false, 0, WIRE_BAD_FRAME, len == 0 ?
	    "frame length 0" : "frame longer than max_frame");
	conn_close(c, NULL);
}

/*
 * Handles the complete frames at the start of ibuf, then moves what is
 * left to the front. Returns -1 when c is closing.
 */
static int
conn_process(struct conn *c)
{
	unsigned	 budget = CONN_FRAMES_PER_PASS;
	size_t		 off = 0;
	uint32_t	 len;

	server_clock_read(c->srv);
	while (c->pause == 0 && !(c->flags & (CONN_CLOSING | CONN_DOOMED))) {
		if (c->ilen - off < WIRE_HDR_LEN)
			break;
		len = wire_frame_len((unsigned char *)c->ibuf + off);
		if (len == 0 || len > c->srv->cfg->max_frame) {
			conn_bad_length(c, len);
			return (-1);
		}
		if (c->ilen - off - WIRE_HDR_LEN < len)
			break;
		if (budget-- == 0) {
			server_later(&c->resume_ev);
			break;
		}
		if (op_dispatch(c, c->ibuf + off + WIRE_HDR_LEN, len) ==
		    OP_PARK)
			break;	/* the frame stays in the input */
		off += WIRE_HDR_LEN + len;
	}
	if (off > 0) {
		memmove(c->ibuf, c->ibuf + off, c->ilen - off);
		c->ilen -= off;
	}
	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return (-1);
	if (conn_output_len(c) > c->srv->cfg->output_limit / 2)
		conn_pause(c, CONN_PAUSE_OUTPUT);
	if ((c->flags & CONN_EOF) && c->pause == 0 &&
	    !event_pending(&c->resume_ev, EV_TIMEOUT, NULL)) {
		conn_close(c, NULL);	/* peer is done sending; so are we */
		return (-1);
	}
	return (0);
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

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;
	size_t		 room;

	(void)what;
	conn_ibuf_room(c);
	room = c->icap - c->ilen;
	if (room > CONN_READ_MAX)
		room = CONN_READ_MAX;
	n = read(fd, c->ibuf + c->ilen, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		conn_write_failed(c);	/* reset by peer: nothing to flush */
		return;
	}
	if (n == 0) {
		/* Half-closed: answer what was sent, then close. */
		c->flags |= CONN_EOF;
		event_del(&c->read_ev);
	}
	c->ilen += (size_t)n;
	if (conn_process(c) == 0 && c->ilen == 0 && c->icap > CONN_BUF_KEEP) {
		free(c->ibuf);		/* an idle conn keeps no big buffer */
		c->ibuf = NULL;
		c->icap = 0;
	}
	conn_flush_dirty(c->srv);
}

static void
conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	conn_process(c);
	conn_flush_dirty(c->srv);
}

static void
conn_handshake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	log_info("conn_handshake_timeout", "conn=%llu",
	    (unsigned long long)c->id);
	conn_send_err(c, false, 0, WIRE_HELLO_REQUIRED,
	    "no hello within handshake_timeout_ms");
	conn_close(c, NULL);
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
	c->pub_timed_out = true;
	c->srv->n.backpressure++;
	tract_note_failure(t, "backpressure");
	conn_resume(c, CONN_PAUSE_TRACT_FULL);
}

/*
 * One deadline per parked pub: woken and parked again, it waits only for
 * what is left of publish_timeout_ms (none left: it times out at once).
 */
void
conn_start_publish_wait(struct conn *c, struct tract *t)
{
	int64_t		now = server_mono_us(), left;
	struct timeval	tv;

	if (c->pub_deadline_us == 0)
		c->pub_deadline_us = now +
		    (int64_t)c->srv->cfg->publish_timeout_ms * 1000;
	left = c->pub_deadline_us > now ? c->pub_deadline_us - now : 0;
	tv.tv_sec = left / 1000000;
	tv.tv_usec = left % 1000000;
	evtimer_add(&c->publish_timer, &tv);
	tract_wait(t, c);
	conn_pause(c, CONN_PAUSE_TRACT_FULL);
}

void
conn_end_publish_wait(struct conn *c)
{
	evtimer_del(&c->publish_timer);
	c->pub_timed_out = false;
	c->pub_deadline_us = 0;
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

void
conn_close(struct conn *c, const char *bye)
{
	struct server	*srv = c->srv;

	if (c->flags & CONN_CLOSING)
		return;
	c->flags |= CONN_CLOSING;
	conn_free_subs(c);
	if (c->waiting_on != NULL)
		tract_unwait(c->waiting_on, c);
	evtimer_del(&c->handshake_timer);
	evtimer_del(&c->publish_timer);
	event_del(&c->resume_ev);
	event_del(&c->close_ev);
	event_del(&c->read_ev);
	/* conn_free_subs() took every sub off out_waiters. */
	if (bye != NULL) {
		wire_enc_bye(&srv->out, bye);
		conn_wbuf_add(c, srv->out.data, srv->out.size);
	}
	srv->out.size = 0;
	log_debug("conn_close", "conn=%llu reason=%s",
	    (unsigned long long)c->id, bye ? bye : "-");
	/* Flush what is queued (err, bye), but not for ever. */
	conn_set_timer(&c->flush_timer, CONN_FLUSH_MS);
	conn_flush(c);
	if (conn_output_len(c) == 0)
		event_active(&c->free_ev, EV_TIMEOUT, 0);
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

static void
conn_close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	conn_close(c, c->close_reason);
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

	conn_undirty(c);
	evtimer_del(&c->flush_timer);
	event_del(&c->free_ev);
	event_del(&c->read_ev);
	event_del(&c->write_ev);
	close(c->fd);
	evbuffer_free(c->out);	/* drops the references of large tails */
	htab_free(c->subs);
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	free(c->ibuf);
	free(c->wbuf);
	free(c->agent);
	free(c->session);
	free(c->model);
	free(c->home);
	free(c);
	server_conn_gone(srv);
}
