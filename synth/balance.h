/*
 * balance: per-pair direction windows, balanced-dialogue events and the
 * emergence score (synth design, sections 1 and 2). Internal to
 * callosum_synth.
 *
 * A feed is two steps, so that an event that cannot be taken (ENOMEM)
 * leaves nothing changed: balance_prepare allocates what the event needs
 * (a new pair, a larger ring or count table: none of which changes a
 * figure), balance_commit applies the event and cannot fail, and
 * balance_abort undoes a prepare that is not committed.
 */
#ifndef CALLOSUM_SYNTH_BALANCE_H
#define CALLOSUM_SYNTH_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "synth/synth.h"

#define BALANCE_NDIM	3	/* agent, session, model */

struct balance;
struct bal_pair;

enum balance_what {
	BALANCE_NONE = 0,	/* not cross-tract: nothing to do */
	BALANCE_DROP,		/* a new pair beyond max_pairs */
	BALANCE_PAIR		/* an event of pair */
};

/* What balance_prepare found and made for one event. */
struct balance_txn {
	enum balance_what	 what;
	struct bal_pair		*pair;
	uint64_t		 h[BALANCE_NDIM];  /* FNV-1a of the labels */
	uint8_t			 dir;		/* 0: a->b, 1: b->a */
	bool			 created;	/* new pair: abort frees it */
};

/* c is checked by the caller. NULL on ENOMEM. */
struct balance	*balance_new(const struct synth_config *c);
void		 balance_free(struct balance *);

/* Readies ev; 0, or -1 on ENOMEM with nothing changed. */
int		 balance_prepare(struct balance *, const struct synth_event *ev,
		    struct balance_txn *);
/* Applies a prepared ev. */
void		 balance_commit(struct balance *, const struct synth_event *ev,
		    const struct balance_txn *);
/* Undoes a prepare that will not be committed. */
void		 balance_abort(struct balance *, const struct balance_txn *);

/* Fills the balance fields of st. */
void		 balance_stats(const struct balance *, struct synth_stats *st);
size_t		 balance_pairs(const struct balance *,
		    struct synth_pair_view *out, size_t max);

/* The state as one msgpack array; 0 or -1 (ENOMEM). */
int		 balance_pack(const struct balance *, msgpack_packer *);
/* Loads a packed state into an empty balance; 0 or -1, errno set. */
int		 balance_unpack(struct balance *, const msgpack_object *);

#endif
