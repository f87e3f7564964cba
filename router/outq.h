/*
 * outq: one connection's output, in the order it was produced.
 *
 * Frames are appended whole. The live stream is written once per batch:
 * what the socket does not take waits in an evbuffer that is always
 * written first. A reply whose outcome comes later (an ack waiting for the
 * event log) holds its place: outq_hold() reserves a slot, and everything
 * produced after it waits behind the slot until outq_fill() gives the
 * slot its frame; then the slot and what followed it join the live stream,
 * up to the next unfilled slot (tmux's cmdq_next holds a client's queue
 * the same way). With no slot held, nothing of this costs anything.
 *
 * The queue knows where the frame being written ends, so that a closing
 * connection can drop every whole frame not yet begun (outq_cut) and still
 * leave a parseable stream for a last frame (bye) to follow.
 */
#ifndef CALLOSUM_OUTQ_H
#define CALLOSUM_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq;

typedef void	outq_cleanup_fn(const void *data, size_t len, void *arg);

struct outq	*outq_new(int fd);
/* Frees the queue and what it holds (references are released). */
void		 outq_free(struct outq *);

/* Bytes waiting: not yet written, and held behind unfilled slots. */
size_t		 outq_len(const struct outq *);
/* Bytes of the live stream not yet handed to the socket. */
size_t		 outq_unwritten(const struct outq *);
/* True when bytes wait for the socket to become writable. */
bool		 outq_wants_write(const struct outq *);

/* Appends len bytes of whole frames (copied). */
void		 outq_add(struct outq *, const void *p, size_t len);
/*
 * Room for n bytes; outq_commit(n) appends what was written there (a
 * copy-free outq_add for frames encoded in place).
 */
void		*outq_reserve(struct outq *, size_t n);
void		 outq_commit(struct outq *, size_t n);
/* Appends a frame made of two copied parts (a msg's prefix and tail). */
void		 outq_add2(struct outq *, const void *a, size_t alen,
		    const void *b, size_t blen);
/*
 * Appends a frame made of a copied prefix and a tail added by reference:
 * cleanup(tail, len, arg) runs once when the tail is no longer needed.
 */
void		 outq_add_ref(struct outq *, const void *pre, size_t prelen,
		    const void *tail, size_t len, outq_cleanup_fn *cleanup,
		    void *arg);

/* Reserves a slot for a frame known later; returns its sequence number. */
uint64_t	 outq_hold(struct outq *);
/* Slots held and not yet released to the live stream. */
size_t		 outq_holds(const struct outq *);
/*
 * Gives slot seq its frame (copied). A seq no longer held (cut) is
 * ignored: returns false.
 */
bool		 outq_fill(struct outq *, uint64_t seq, const void *frame,
		    size_t len);

/*
 * Writes the batched live bytes: straight to the socket when nothing older
 * waits, else behind it. Returns -1 when the socket failed for good.
 */
int		 outq_flush(struct outq *);
/* Writes what waits, on EV_WRITE. Returns -1 on a hard error. */
int		 outq_write(struct outq *);
/*
 * Drops everything not yet begun: whole frames, slots and what waits
 * behind them. Only the rest of a frame already partly written stays, so
 * that a frame appended next is read as a frame.
 */
void		 outq_cut(struct outq *);

#endif
