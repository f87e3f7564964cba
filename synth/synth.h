/*
 * synth: the pattern synthesizer (SPEC "Pattern synthesizer").
 *
 * The router feeds it every logged event, in log (eid) order, live and on
 * rebuild. Its state and figures are a pure function of that sequence: the
 * same events in the same order give the same state, bit for bit (no wall
 * clock, no randomness, no iteration order that depends on addresses).
 *
 * Per unordered pair of tracts it keeps a window of the last `window`
 * cross-tract directions and counts balanced-dialogue events; over all
 * pairs an emergence score; per bframe pattern its occurrences and distinct
 * sessions and models, and promotes a pattern to candidate once. Every
 * table is bounded by the configuration. Nothing here includes router
 * headers: libc and msgpack-c only.
 *
 * Not thread-safe; one synth is driven from one thread (the router's loop).
 */
#ifndef CALLOSUM_SYNTH_H
#define CALLOSUM_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define SYNTH_MIN_WINDOW	10	/* windows count from min(W, 10) */
#define SYNTH_PATTERN_MAX	128	/* longest pattern, bytes */
#define SYNTH_DISTINCT_MAX	32	/* sessions, models kept per pattern */
#define SYNTH_WINDOW_MAX	100000	/* largest synth_window accepted */

/* A byte string, not NUL-terminated; ptr may be NULL when len is 0. */
struct synth_bytes {
	const char	*ptr;
	size_t		 len;
};

/* An event id, as the router's struct eid: ms then seq. */
struct synth_eid {
	uint64_t	ms;
	uint64_t	seq;
};

/* One logged event; every field borrowed for the call. */
struct synth_event {
	struct synth_eid	eid;
	int64_t			ts_us;		/* the router's stamp, logged */
	struct synth_bytes	from;
	struct synth_bytes	to;
	struct synth_bytes	kind;		/* "bframe", "candidate", ... */
	struct synth_bytes	agent;
	struct synth_bytes	session;
	struct synth_bytes	model;
	struct synth_bytes	pattern;
	/*
	 * synth_label_hash() of agent, session and model, when the caller
	 * has them (a connection's labels do not change), or NULL: the
	 * synth computes them. Either way the same values.
	 */
	const uint64_t		*label_hash;
};

struct synth_config {
	uint32_t	window;			/* W, 1..SYNTH_WINDOW_MAX */
	double		balance_threshold;	/* 0..1 */
	uint32_t	promote_occurrences;	/* >= 1 */
	uint32_t	promote_sessions;	/* 1..SYNTH_DISTINCT_MAX */
	uint32_t	promote_models;		/* 1..SYNTH_DISTINCT_MAX */
	size_t		max_pairs;		/* pairs tracked, >= 1 */
	size_t		max_patterns;		/* unpromoted patterns, >= 1 */
	size_t		max_promoted;		/* promoted names, >= 1 */
};

/*
 * A promotion, valid during the callback only. sessions and models are in
 * first-seen order, at most SYNTH_DISTINCT_MAX each, and NUL-terminated
 * (len excludes the NUL).
 */
struct synth_candidate {
	struct synth_bytes		 pattern;
	uint64_t			 occurrences;
	const struct synth_bytes	*sessions;
	size_t				 nsessions;
	const struct synth_bytes	*models;
	size_t				 nmodels;
	struct synth_eid		 first_eid;
	struct synth_eid		 last_eid;
	int64_t				 ts_us;	/* of the promoting event */
};

/*
 * Called once per promotion, from inside synth_feed, after the synth's
 * state already records it. It must not call synth_feed on the same synth
 * (queue the candidate and feed its logged record afterwards).
 */
typedef void	synth_promote_fn(void *arg, const struct synth_candidate *);

struct synth_stats {
	uint64_t	balanced_events;
	double		emergence;		/* E, in [0, 1] */
	int64_t		last_emergence_ts;	/* ts_us; 0: none yet */
	uint64_t	candidates_total;	/* promotions, live or logged */
	uint64_t	npairs;			/* pairs tracked */
	uint64_t	npatterns;		/* unpromoted, tracked */
	uint64_t	npromoted;		/* promoted names remembered */
	uint64_t	pairs_dropped;		/* events of untracked pairs */
	uint64_t	patterns_evicted;	/* unpromoted, least recent */
	uint64_t	patterns_refused;	/* > SYNTH_PATTERN_MAX bytes */
	uint64_t	events_fed;
};

/* A pair; names borrowed from the synth until its next feed or free. */
struct synth_pair_view {
	struct synth_bytes	a;		/* a < b in byte order */
	struct synth_bytes	b;
	double			balance;	/* min(a,b) / max(a,b) or 0 */
	uint32_t		a_to_b;		/* in the window */
	uint32_t		b_to_a;
};

/* A pattern; the name borrowed from the synth until its next feed or free. */
struct synth_pattern_view {
	struct synth_bytes	pattern;
	uint64_t		occurrences;
	uint32_t		nsessions;	/* distinct, at most 32 */
	uint32_t		nmodels;
	struct synth_eid	first_eid;
	struct synth_eid	last_eid;
	bool			promoted;
};

/* The hash the synth tells labels (agents, sessions, models) apart by. */
uint64_t	 synth_label_hash(const char *ptr, size_t len);

/* Fills c with the defaults of SPEC's configuration table. */
void		 synth_config_default(struct synth_config *c);
/*
 * 0 if c is usable, else -1 and a reason in *cause (the caller frees it;
 * NULL if even that could not be allocated).
 */
int		 synth_config_check(const struct synth_config *c, char **cause);

/* A new, empty synth (c copied). NULL: errno EINVAL (bad c) or ENOMEM. */
struct synth	*synth_new(const struct synth_config *c);
void		 synth_free(struct synth *);

/*
 * Feeds one logged event (borrowed). fn (may be NULL) is told of a
 * promotion this event causes. 0, or -1 on ENOMEM with the state as it
 * was before the call (the event is not counted).
 */
int		 synth_feed(struct synth *, const struct synth_event *,
		    synth_promote_fn *fn, void *arg);

void		 synth_get_stats(const struct synth *, struct synth_stats *);
/* Writes up to max pairs in byte order of (a, b); returns how many. */
size_t		 synth_pairs(const struct synth *, struct synth_pair_view *out,
		    size_t max);
/*
 * Writes up to max tracked patterns with occurrences > 0, by occurrences
 * descending then name in byte order, promoted or not; returns how many.
 */
size_t		 synth_top_patterns(const struct synth *,
		    struct synth_pattern_view *out, size_t max);

/*
 * Appends the complete state to sb (msgpack). 0, or -1 on ENOMEM, when sb
 * may hold a partial write (the caller clears it).
 */
int		 synth_snapshot(const struct synth *, msgpack_sbuffer *sb);
/*
 * A synth in the state buf (borrowed) holds, made by synth_snapshot under
 * the same configuration c: feeding it the events after the snapshot gives
 * what feeding all of them to a new synth gives. NULL: errno EINVAL (bad c,
 * another configuration, a damaged snapshot) or ENOMEM.
 */
struct synth	*synth_restore(const struct synth_config *c, const char *buf,
		    size_t len);

#endif
