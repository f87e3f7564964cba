/*
 * outq: see outq.h.
 *
 * The live stream is out (an evbuffer, written first) then wbuf (a flat
 * buffer of whole frames, written with one write(2) per batch). Slots are
 * a ring in seq order; the bytes produced after slot i and before slot
 * i + 1 wait in slot i's evbuffer "after".
 *
 * Invariants: wbuf holds whole frames only; out ends at a frame end and
 * begins head_left bytes before a frame boundary (0: at one); while any
 * slot is held, nothing is appended to the live stream.
 */
#include <sys/uio.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "router/lib/wire.h"
#include "router/outq.h"
#include "router/xmalloc.h"

#define OUTQ_WBUF_MIN	(16 * 1024)
#define OUTQ_BUF_KEEP	(256 * 1024)	/* larger idle buffers are freed */
#define OUTQ_SLOTS_MIN	8
#define OUTQ_IOV	64		/* iovecs per writev */

struct outq_slot {
	char		*frame;		/* NULL until filled */
	size_t		 len;
	struct evbuffer	*after;		/* output behind this slot, or NULL */
};

struct outq {
	int			 fd;
	char			*wbuf;
	size_t			 wlen;
	size_t			 wcap;
	struct evbuffer		*out;
	size_t			 olen;		/* bytes in out, kept here */
	size_t			 head_left;
	struct outq_slot	*slots;		/* ring */
	size_t			 scap;
	size_t			 shead;
	size_t			 nslots;
	uint64_t		 head_seq;	/* seq of slots[shead] */
	size_t			 held;		/* bytes in slots and afters */
};

static void
outq_evadd(struct evbuffer *b, const void *p, size_t len)
{
	xcheck(evbuffer_add(b, p, len), len);
}

struct outq *
outq_new(int fd)
{
	struct outq	*q;

	q = xcalloc(1, sizeof(*q));
	q->fd = fd;
	if ((q->out = evbuffer_new()) == NULL)
		xcheck(-1, sizeof(struct evbuffer *));
	return (q);
}

static struct outq_slot *
outq_slot(struct outq *q, size_t i)
{
	return (&q->slots[(q->shead + i) % q->scap]);
}

static void
outq_slot_clear(struct outq_slot *s)
{
	free(s->frame);
	s->frame = NULL;
	if (s->after != NULL)
		evbuffer_free(s->after);	/* drops references */
	s->after = NULL;
}

static void
outq_drop_slots(struct outq *q)
{
	while (q->nslots > 0) {
		outq_slot_clear(outq_slot(q, 0));
		q->shead = (q->shead + 1) % q->scap;
		q->head_seq++;
		q->nslots--;
	}
	q->held = 0;
}

void
outq_free(struct outq *q)
{
	if (q == NULL)
		return;
	outq_drop_slots(q);
	free(q->slots);
	evbuffer_free(q->out);
	free(q->wbuf);
	free(q);
}

size_t
outq_len(const struct outq *q)
{
	return (q->olen + q->wlen + q->held);
}

size_t
outq_unwritten(const struct outq *q)
{
	return (q->olen + q->wlen);
}

bool
outq_wants_write(const struct outq *q)
{
	return (q->olen > 0);
}

size_t
outq_holds(const struct outq *q)
{
	return (q->nslots);
}

/* The evbuffer new bytes go to while a slot is held. */
static struct evbuffer *
outq_tail(struct outq *q)
{
	struct outq_slot	*s = outq_slot(q, q->nslots - 1);

	if (s->after == NULL && (s->after = evbuffer_new()) == NULL)
		xcheck(-1, sizeof(struct evbuffer *));
	return (s->after);
}

void *
outq_reserve(struct outq *q, size_t n)
{
	size_t	ncap;

	if (q->wcap - q->wlen < n) {
		ncap = q->wcap == 0 ? OUTQ_WBUF_MIN : q->wcap;
		while (ncap - q->wlen < n)
			ncap *= 2;
		q->wbuf = xrealloc(q->wbuf, ncap);
		q->wcap = ncap;
	}
	return (q->wbuf + q->wlen);
}

void
outq_commit(struct outq *q, size_t n)
{
	if (q->nslots == 0) {
		q->wlen += n;
		return;
	}
	/* wbuf served as scratch: the bytes belong behind the last slot. */
	outq_evadd(outq_tail(q), q->wbuf + q->wlen, n);
	q->held += n;
}

void
outq_add(struct outq *q, const void *p, size_t len)
{
	if (q->nslots > 0) {
		outq_evadd(outq_tail(q), p, len);
		q->held += len;
		return;
	}
	memcpy(outq_reserve(q, len), p, len);
	q->wlen += len;
}

void
outq_add2(struct outq *q, const void *a, size_t alen, const void *b,
    size_t blen)
{
	char	*p = outq_reserve(q, alen + blen);

	memcpy(p, a, alen);
	memcpy(p + alen, b, blen);
	outq_commit(q, alen + blen);
}

/* Moves wbuf behind out: what comes next must follow both. */
static void
outq_wbuf_to_out(struct outq *q)
{
	if (q->wlen == 0)
		return;
	outq_evadd(q->out, q->wbuf, q->wlen);
	q->olen += q->wlen;
	q->wlen = 0;
}

void
outq_add_ref(struct outq *q, const void *pre, size_t prelen, const void *tail,
    size_t len, outq_cleanup_fn *cleanup, void *arg)
{
	struct evbuffer	*b;

	if (q->nslots > 0) {
		b = outq_tail(q);
		q->held += prelen + len;
	} else {
		outq_wbuf_to_out(q);
		b = q->out;
		q->olen += prelen + len;
	}
	outq_evadd(b, pre, prelen);
	xcheck(evbuffer_add_reference(b, tail, len, cleanup, arg), len);
}

uint64_t
outq_hold(struct outq *q)
{
	struct outq_slot	*ns;
	size_t			 ncap, i;

	if (q->nslots == q->scap) {
		ncap = q->scap == 0 ? OUTQ_SLOTS_MIN : q->scap * 2;
		ns = xcalloc(ncap, sizeof(*ns));
		for (i = 0; i < q->nslots; i++)
			ns[i] = *outq_slot(q, i);
		free(q->slots);
		q->slots = ns;
		q->scap = ncap;
		q->shead = 0;
	}
	memset(outq_slot(q, q->nslots), 0, sizeof(struct outq_slot));
	q->nslots++;
	return (q->head_seq + q->nslots - 1);
}

/*
 * Pops the head slot, its frame going live, then what waited behind it.
 * Without an "after" the frame joins wbuf; with one, wbuf moves to out
 * first, since out is written before wbuf.
 */
static void
outq_pop_head(struct outq *q, const void *frame, size_t len)
{
	struct outq_slot	*s = outq_slot(q, 0);
	struct evbuffer		*after = s->after;
	size_t			 alen;

	s->after = NULL;
	q->shead = (q->shead + 1) % q->scap;
	q->head_seq++;
	q->nslots--;
	if (after == NULL) {
		if (len > 0)
			memcpy(outq_reserve(q, len), frame, len);
		q->wlen += len;
		return;
	}
	alen = evbuffer_get_length(after);
	q->held -= alen;
	outq_wbuf_to_out(q);
	if (len > 0)
		outq_evadd(q->out, frame, len);
	q->olen += len + alen;
	xcheck(evbuffer_add_buffer(q->out, after), 0);
	evbuffer_free(after);
}

/* Releases the slots at the head that were filled out of order. */
static void
outq_release(struct outq *q)
{
	struct outq_slot	*s;
	char			*frame;
	size_t			 len;

	while (q->nslots > 0 && (s = outq_slot(q, 0))->frame != NULL) {
		frame = s->frame;
		len = s->len;
		s->frame = NULL;
		q->held -= len;
		outq_pop_head(q, frame, len);
		free(frame);
	}
}

/*
 * The head slot (the usual case: outcomes come in order) goes live at
 * once; a later one keeps a copy until those before it are filled.
 */
bool
outq_fill(struct outq *q, uint64_t seq, const void *frame, size_t len)
{
	struct outq_slot	*s;

	if (seq < q->head_seq || seq - q->head_seq >= q->nslots)
		return (false);
	s = outq_slot(q, seq - q->head_seq);
	if (s->frame != NULL)
		return (false);
	if (seq == q->head_seq) {
		outq_pop_head(q, frame, len);
		outq_release(q);
		return (true);
	}
	s->frame = xmalloc(len);
	if (len > 0)
		memcpy(s->frame, frame, len);
	s->len = len;
	q->held += len;
	return (true);
}

/* The first frame boundary at or after n in wbuf (whole frames). */
static size_t
outq_wbuf_boundary(const struct outq *q, size_t n)
{
	size_t	b = 0;

	while (b < n)
		b += WIRE_HDR_LEN + wire_frame_len((unsigned char *)q->wbuf + b);
	return (b);
}

int
outq_flush(struct outq *q)
{
	ssize_t	n = 0;

	if (q->wlen == 0)
		return (0);
	if (q->olen == 0) {
		n = write(q->fd, q->wbuf, q->wlen);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		if (n == -1)
			n = 0;
		if ((size_t)n < q->wlen) {
			q->head_left = outq_wbuf_boundary(q, (size_t)n) -
			    (size_t)n;
			outq_evadd(q->out, q->wbuf + n, q->wlen - (size_t)n);
			q->olen += q->wlen - (size_t)n;
		}
	} else {
		outq_evadd(q->out, q->wbuf, q->wlen);
		q->olen += q->wlen;
	}
	q->wlen = 0;
	if (q->wcap > OUTQ_BUF_KEEP) {
		free(q->wbuf);
		q->wbuf = NULL;
		q->wcap = 0;
	}
	return (0);
}

/*
 * Moves head_left past the n bytes about to be drained from out, reading
 * the length of each frame that starts within them.
 */
static void
outq_advance(struct outq *q, size_t n)
{
	struct evbuffer_ptr	p;
	unsigned char		hdr[WIRE_HDR_LEN];
	size_t			pos = q->head_left, len;

	if (pos >= n) {
		q->head_left = pos - n;
		return;
	}
	evbuffer_ptr_set(q->out, &p, pos, EVBUFFER_PTR_SET);
	for (;;) {
		/* out ends at a frame end: a boundary before it has a header. */
		evbuffer_copyout_from(q->out, &p, hdr, sizeof(hdr));
		len = WIRE_HDR_LEN + wire_frame_len(hdr);
		pos += len;
		if (pos >= n)
			break;
		evbuffer_ptr_set(q->out, &p, len, EVBUFFER_PTR_ADD);
	}
	q->head_left = pos - n;
}

int
outq_write(struct outq *q)
{
	struct evbuffer_iovec	v[OUTQ_IOV];
	struct iovec		iov[OUTQ_IOV];
	ssize_t			n;
	int			i, nv;

	nv = evbuffer_peek(q->out, -1, NULL, v, OUTQ_IOV);
	if (nv > OUTQ_IOV)
		nv = OUTQ_IOV;
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	if (nv == 0)
		return (0);
	n = writev(q->fd, iov, nv);
	if (n == -1)
		return (errno == EAGAIN || errno == EINTR ? 0 : -1);
	outq_advance(q, (size_t)n);
	evbuffer_drain(q->out, (size_t)n);
	q->olen -= (size_t)n;
	if (q->olen == 0 && q->wlen > 0)
		return (outq_flush(q));		/* out was in its way */
	return (0);
}

void
outq_cut(struct outq *q)
{
	struct evbuffer	*keep;

	outq_drop_slots(q);
	q->wlen = 0;
	if (q->head_left == 0) {
		evbuffer_drain(q->out, q->olen);
		q->olen = 0;
		return;
	}
	if ((keep = evbuffer_new()) == NULL)
		xcheck(-1, sizeof(struct evbuffer *));
	xcheck(evbuffer_remove_buffer(q->out, keep, q->head_left) ==
	    (int)q->head_left ? 0 : -1, q->head_left);
	evbuffer_free(q->out);
	q->out = keep;
	q->olen = q->head_left;
}
