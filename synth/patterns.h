/*
 * patterns: bframe occurrences, their distinct sessions and models, and
 * promotion to candidate, once (synth design, section 3). Internal to
 * callosum_synth.
 *
 * Like balance, a feed is prepare (allocations: a new pattern, copies of a
 * new session or model), then commit (cannot fail) or abort.
 */
#ifndef CALLOSUM_SYNTH_PATTERNS_H
#define CALLOSUM_SYNTH_PATTERNS_H

#include <stdbool.h>

#include <msgpack.h>

#include "synth/synth.h"

struct patterns;
struct pat;

enum patterns_what {
	PATTERNS_NONE = 0,	/* neither a bframe nor a candidate record */
	PATTERNS_REFUSE,	/* its pattern is longer than the maximum */
	PATTERNS_OCCUR,		/* a bframe: an occurrence */
	PATTERNS_MARK		/* a logged candidate: mark it promoted */
};

/* What patterns_prepare found and made for one event. */
struct patterns_txn {
	enum patterns_what	 what;
	struct pat		*pat;
	bool			 created;	/* pat is new: abort frees it */
	char			*session;	/* a new value's copy */
	char			*model;
};

/* c is checked by the caller. NULL on ENOMEM. */
struct patterns	*patterns_new(const struct synth_config *c);
void		 patterns_free(struct patterns *);

/* Readies ev; 0, or -1 on ENOMEM with nothing changed. */
int		 patterns_prepare(struct patterns *, const struct synth_event *,
		    struct patterns_txn *);
/* Applies a prepared ev; fn (may be NULL) hears of its promotion, last. */
void		 patterns_commit(struct patterns *, const struct synth_event *,
		    struct patterns_txn *, synth_promote_fn *fn, void *arg);
/* Undoes a prepare that will not be committed. */
void		 patterns_abort(struct patterns *, struct patterns_txn *);

/* Fills the pattern fields of st. */
void		 patterns_stats(const struct patterns *, struct synth_stats *);
size_t		 patterns_top(const struct patterns *,
		    struct synth_pattern_view *out, size_t max);

/* The state as one msgpack array; 0 or -1 (ENOMEM). */
int		 patterns_pack(const struct patterns *, msgpack_packer *);
/* Loads a packed state into an empty patterns; 0 or -1, errno set. */
int		 patterns_unpack(struct patterns *, const msgpack_object *);

#endif
