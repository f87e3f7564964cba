/*
 * conn: one client connection.
 *
 * Reading: every complete frame in the input is handled before returning to
 * the loop, up to a budget; a pub that must wait for a full tract leaves its
 * frame in the input and pauses reading, so nothing accepted is reordered.
 * Closing unlinks at once (no more fan-out reaches the conn) and frees from
 * the loop, so no caller up the stack touches freed memory.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
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

#define CONN_READ_MAX		(256 * 1024)	/* bytes per socket read */
#define CONN_FRAMES_PER_PASS	4096	/* then yield to other conns */
#define CONN_COPY_MAX		1024	/* larger tails go by reference */
#define CONN_FLUSH_MS		1000	/* closing: time to flush output */

#define CONN_DOOMED		0x04	/* close requested: output dropped */
#define CONN_EOF		0x08	/* peer shut its side: close when done */

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
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
	const struct config	*cfg = srv->cfg;
	struct conn		*c;

	c = xcalloc(1, sizeof(*c));
	c->id = ++srv->next_conn_id;
	c->srv = srv;
	c->uid = uid;
	c->pid = pid;
	if ((c->subs = htab_new()) == NULL)
		abort();
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		abort();
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_set_max_single_read(c->bev, CONN_READ_MAX);
	bufferevent_set_max_single_write(c->bev, CONN_READ_MAX);
	/* Our replies unread past half the limit pause reading; resume at 1/4. */
	bufferevent_setwatermark(c->bev, EV_WRITE, cfg->output_limit / 4, 0);
	evtimer_assign(&c->handshake_timer, srv->base, conn_handshake_cb, c);
	evtimer_assign(&c->publish_timer, srv->base, conn_publish_timeout_cb, c);
	evtimer_assign(&c->flush_timer, srv->base, conn_free_cb, c);
	event_assign(&c->resume_ev, srv->base, -1, 0, conn_resume_cb, c);
	event_assign(&c->close_ev, srv->base, -1, 0, conn_close_cb, c);
	event_assign(&c->free_ev, srv->base, -1, 0, conn_free_cb, c);
	conn_set_timer(&c->handshake_timer, cfg->handshake_timeout_ms);
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	bufferevent_enable(c->bev, EV_READ);
	return (c);
}

size_t
conn_output_len(struct conn *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)));
}

/* A reader that lets its output pass the limit is closed (slow consumer). */
static void
conn_check_output(struct conn *c)
{
	if (conn_output_len(c) <= c->srv->cfg->output_limit)
		return;
	c->srv->n.conns_closed_output++;
	log_warn("conn_output_limit", "conn=%llu agent=%s bytes=%zu",
	    (unsigned long long)c->id, c->agent ? c->agent : "-",
	    conn_output_len(c));
	conn_close_later(c, "output_limit");
}

void
conn_flush_out(struct conn *c)
{
	struct server	*srv = c->srv;

	if (!(c->flags & (CONN_CLOSING | CONN_DOOMED)))
		evbuffer_add(bufferevent_get_output(c->bev), srv->out.data,
		    srv->out.size);
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
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	unsigned char	 pre[WIRE_PREFIX_MAX];
	size_t		 n;

	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return;
	n = wire_msg_prefix(pre, m->tail_pairs, m->tail_len, sid);
	evbuffer_add(out, pre, n);
	/* Copying a small tail is cheaper than a reference chain. */
	if (m->tail_len <= CONN_COPY_MAX)
		evbuffer_add(out, m->tail, m->tail_len);
	else
		evbuffer_add_reference(out, m->tail, m->tail_len,
		    conn_msg_cleanup, msg_ref(m));
	conn_check_output(c);
}

void
conn_pause(struct conn *c, int why)
{
	if (c->pause == 0)
		bufferevent_disable(c->bev, EV_READ);
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
	bufferevent_enable(c->bev, EV_READ);
	/* Frames may already wait in the input: handle them from the loop. */
	event_active(&c->resume_ev, EV_TIMEOUT, 0);
}

/* Handles one complete frame. Returns 0 to go on, -1 to stop reading. */
static int
conn_frame(struct conn *c, struct evbuffer *in, uint32_t len)
{
	const char	*body;

	body = (const char *)evbuffer_pullup(in, WIRE_HDR_LEN + len) +
	    WIRE_HDR_LEN;
	if (op_dispatch(c, body, len) == OP_PARK)
		return (-1);	/* the frame stays in the input */
	evbuffer_drain(in, WIRE_HDR_LEN + len);
	return ((c->flags & CONN_CLOSING) ? -1 : 0);
}

static void
conn_process(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	unsigned char	 hdr[WIRE_HDR_LEN];
	unsigned	 budget = CONN_FRAMES_PER_PASS;
	uint32_t	 len;
	size_t		 avail;

	while (c->pause == 0 && !(c->flags & (CONN_CLOSING | CONN_DOOMED))) {
		if ((avail = evbuffer_get_length(in)) < WIRE_HDR_LEN)
			break;
		evbuffer_copyout(in, hdr, WIRE_HDR_LEN);
		len = wire_frame_len(hdr);
		if (len == 0 || len > c->srv->cfg->max_frame) {
			c->srv->n.bad_frames++;
			conn_send_err(c, false, 0, WIRE_BAD_FRAME, len == 0 ?
			    "frame length 0" : "frame longer than max_frame");
			conn_close(c, NULL);
			return;
		}
		if (avail - WIRE_HDR_LEN < len)
			break;
		if (budget-- == 0) {
			event_active(&c->resume_ev, EV_TIMEOUT, 0);
			break;
		}
		if (conn_frame(c, in, len) == -1)
			break;
	}
	if (c->flags & (CONN_CLOSING | CONN_DOOMED))
		return;
	if (conn_output_len(c) > c->srv->cfg->output_limit / 2)
		conn_pause(c, CONN_PAUSE_OUTPUT);
	if ((c->flags & CONN_EOF) && c->pause == 0 &&
	    !event_pending(&c->resume_ev, EV_TIMEOUT, NULL))
		conn_close(c, NULL);	/* peer is done sending; so are we */
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

static void
conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_process(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (c->flags & CONN_CLOSING) {
		if (conn_output_len(c) == 0)
			event_active(&c->free_ev, EV_TIMEOUT, 0);
		return;
	}
	conn_resume(c, CONN_PAUSE_OUTPUT);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !(c->flags & CONN_CLOSING)) {
		/* Half-closed: answer what was sent, then close. */
		c->flags |= CONN_EOF;
		bufferevent_disable(c->bev, EV_READ);
		if (c->pause == 0)
			event_active(&c->resume_ev, EV_TIMEOUT, 0);
		return;
	}
	/* An error, or EOF while flushing: nothing more can be sent. */
	conn_close(c, NULL);
	event_active(&c->free_ev, EV_TIMEOUT, 0);
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

void
conn_start_publish_wait(struct conn *c, struct tract *t)
{
	if (!evtimer_pending(&c->publish_timer, NULL))
		conn_set_timer(&c->publish_timer,
		    c->srv->cfg->publish_timeout_ms);
	tract_wait(t, c);
	conn_pause(c, CONN_PAUSE_TRACT_FULL);
}

void
conn_end_publish_wait(struct conn *c)
{
	evtimer_del(&c->publish_timer);
	c->pub_timed_out = false;
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
	bufferevent_disable(c->bev, EV_READ);
	if (bye != NULL) {
		wire_enc_bye(&srv->out, bye);
		evbuffer_add(bufferevent_get_output(c->bev), srv->out.data,
		    srv->out.size);
	}
	srv->out.size = 0;
	log_debug("conn_close", "conn=%llu reason=%s",
	    (unsigned long long)c->id, bye ? bye : "-");
	if (conn_output_len(c) == 0) {
		event_active(&c->free_ev, EV_TIMEOUT, 0);
		return;
	}
	/* Flush what is queued (err, bye), but not for ever. */
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
	conn_set_timer(&c->flush_timer, CONN_FLUSH_MS);
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

	evtimer_del(&c->flush_timer);
	event_del(&c->free_ev);
	bufferevent_free(c->bev);
	htab_free(c->subs);
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	free(c->agent);
	free(c->session);
	free(c->model);
	free(c->home);
	free(c);
	server_conn_gone(srv);
}
