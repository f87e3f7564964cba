/*
 * eventstore: the event log behind one small header.
 *
 * The router appends every cross-tract event with the id it assigned, and
 * reads ranges back for replay. Backends: the bounded memory ring (the
 * embedded default), and Redis Streams with the same ring as its fallback
 * (a later issue). Nothing here includes router headers.
 *
 * Calls that may complete later follow one rule: they either finish at
 * once (and never call back) or return ES_PENDING and call back exactly
 * once, later, from the event loop, or from es_close if that comes first
 * (with status -1): every pending callback runs before es_close returns.
 */
#ifndef CALLOSUM_EVENTSTORE_H
#define CALLOSUM_EVENTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventstore/eid.h"
#include "eventstore/es_event.h"

struct es;
struct es_backend;
struct event_base;

/* Negative, so that it is never a count of events read. */
#define ES_PENDING	(-2)

/* Where an appended event is held right now. */
enum es_stored {
	ES_STORED_NONE = 0,
	ES_STORED_MEMORY,
	ES_STORED_REDIS
};

/*
 * What the memory ring does when adding an event would pass mem_max_events
 * or mem_max_bytes.
 */
enum es_full_policy {
	ES_FULL_DROP_OLDEST = 0,	/* the embedded log: evict, count it */
	ES_FULL_REFUSE			/* a fallback: never drop, refuse */
};

/* Where writes go. A memory-only store is always direct. */
enum es_state {
	ES_STATE_DIRECT = 0,	/* to the primary backend */
	ES_STATE_FALLBACK,	/* primary unreachable: held in memory */
	ES_STATE_RESYNC		/* writing the memory events back */
};

/*
 * The outcome of a pending append, called once. status 0: settled, held at
 * where. status -1: failed, where is ES_STORED_NONE and the store keeps
 * nothing of it and never will: a backend could not keep it, or the store
 * was closed with it unsettled.
 */
typedef void	es_append_cb(void *arg, int status, enum es_stored where);
/*
 * Decides whether a read returns an event, from a borrowed view of it
 * (fields not NUL-terminated, valid during the call only).
 */
typedef bool	es_filter_fn(void *arg, const struct es_event *view);

/* A read: the events from <= eid <= to, looking at no more than max. */
struct es_query {
	struct eid	 from;
	struct eid	 to;
	size_t		 max;		/* events to look at, at most */
	es_filter_fn	*filter;	/* NULL: return every event looked at */
	void		*filter_arg;
};

/* What a read looked at and what it returns. */
struct es_read_result {
	size_t		 n;		/* events returned in out[0..n) */
	size_t		 examined;	/* events of the range looked at */
	struct eid	 last;		/* the greatest id looked at, if any */
};

/*
 * Called once with the outcome of a pending read: the events (each refcnt
 * 1: the callee unrefs) and what was looked at, or status -1 with nothing
 * (evs NULL, *res zero) when the read failed or the store was closed with
 * it still out.
 */
typedef void	es_read_cb(void *arg, struct es_event **evs,
		    const struct es_read_result *res, int status);
/*
 * A change of the store's state, for the one log line the router writes;
 * why (borrowed, for the call; may be NULL) says what caused it. Called
 * only on a change, from the loop, or from inside es_open when the
 * backend starts in another state than direct; never from es_close.
 */
typedef void	es_state_cb(void *arg, enum es_state state, const char *why);
/*
 * Called once when every event held in memory has reached the primary log
 * (status 0), or when the store closes first (status -1).
 */
typedef void	es_flush_cb(void *arg, int status);

struct es_config {
	size_t			 mem_max_events;	/* ring capacity, >= 1 */
	/*
	 * Bytes of event bodies the ring holds at most (SPEC's
	 * memlog_max_bytes); 0: no byte bound. Only bodies count, not the
	 * labels or the record around them.
	 */
	uint64_t		 mem_max_bytes;
	enum es_full_policy	 mem_full;
	/*
	 * The backend (borrowed: it must outlive the store). NULL: the
	 * memory ring (Redis when redis_url is set, later). Tests plug a
	 * fake here.
	 */
	const struct es_backend	*backend;
	const char		*redis_url;	/* NULL: memory only */
	const char		*redis_prefix;	/* "callosum:" */
	uint64_t		 redis_maxlen;	/* 0: keep all */
	unsigned		 redis_timeout_ms;
	struct event_base	*base;		/* for async backends */
	es_state_cb		*state_cb;	/* NULL: none, es_set_state_cb */
	void			*state_arg;
};

struct es_stats {
	const char	*backend;	/* "memory" or "redis" */
	uint64_t	 appended;	/* events accepted, ever */
	uint64_t	 stored_memory;	/* of those, settled in memory */
	uint64_t	 stored_redis;	/* of those, settled in Redis */
	uint64_t	 dropped;	/* evicted by ES_FULL_DROP_OLDEST */
	uint64_t	 refused;	/* refused: ring full, body too big */
	uint64_t	 depth;		/* events the ring holds now */
	uint64_t	 bytes;		/* body bytes the ring holds now */
	uint64_t	 fallback_depth;	/* ring events not yet in Redis */
	uint64_t	 resyncs;	/* write-backs of the ring begun */
	uint64_t	 duplicates;	/* ring events Redis already held */
	uint64_t	 conflicts;	/* could not go in order: side stream */
	enum es_state	 state;		/* as es_get_state */
};

/*
 * Opens a store over cfg->backend, or the one cfg picks. The config is
 * borrowed (strings are copied). Returns NULL with *cause (caller frees)
 * set when it cannot be used. The state callback may run before es_open
 * returns (a backend that starts in fallback).
 */
struct es	*es_open(const struct es_config *, char **cause);
/*
 * Closes the store, dropping its references. Before es_close returns,
 * every append still pending is called back once with status -1, and every
 * read still out once with status -1 (no events), so their owners can free
 * what they left orphaned. Those callbacks may call es_append and es_read,
 * which then fail at once (-1, no callback), and nothing else of this
 * store; es_close itself must not be called from a store callback. No
 * state callback runs from here. NULL is a no-op.
 */
void		 es_close(struct es *);

/*
 * Appends ev (borrowed: the store copies what it keeps before returning),
 * whose eid must be greater than every earlier append's. Returns 0 when it
 * is settled now (*where set, no callback), ES_PENDING when
 * cb(arg, status, where) will run once later with its outcome, or -1 when
 * it was refused (ring full in ES_FULL_REFUSE mode, a body larger than
 * mem_max_bytes, out of memory, or the store closing; nothing kept, no
 * callback). cb may be NULL only for a store that never answers later
 * (the memory backend). where may be NULL.
 */
int		 es_append(struct es *, const struct es_event *ev,
		    es_append_cb *cb, void *arg, enum es_stored *where);

/*
 * Reads forward through q's range in id order, looking at up to q->max
 * events and returning copies of those q->filter accepts (the filter runs
 * before anything is copied, so a sparse read stays cheap). Fewer than
 * q->max examined means the range holds no more. Returns 0 with *res and
 * out[0..res->n) filled (each refcnt 1: the caller unrefs) when it can
 * answer now, ES_PENDING when cb will run once later with them instead
 * (q and out are not used after the call returns: the events come in cb's
 * evs; filter_arg must stay valid until then), or -1 on error or while
 * the store is closing (nothing returned; *res then holds no events, and
 * what it says was looked at means nothing). out must have room for q->max
 * events. cb may be NULL only for a store that never answers later.
 */
int		 es_read(struct es *, const struct es_query *q,
		    struct es_event **out, struct es_read_result *res,
		    es_read_cb *cb, void *arg);

/* The greatest id ever appended or found in the log; zero when empty. */
void		 es_last_eid(struct es *, struct eid *out);
/* The smallest id the log still holds; zero when empty. */
void		 es_first_eid(struct es *, struct eid *out);
void		 es_get_stats(struct es *, struct es_stats *out);
/* The name of a stored state: "none", "memory", "redis". */
const char	*es_stored_name(enum es_stored);

/*
 * The router's own small state beside the log (the synthesizer's
 * snapshot): a value under a name, kept by backends that outlive the
 * process (Redis: the key <prefix>NAME). cb runs once, later: status 0
 * with the value (val NULL, len 0: none stored; for a set: what was
 * stored), or -1 (not answered, the link went, or the store closed).
 */
typedef void	es_kv_cb(void *arg, int status, const void *val, size_t len);
/*
 * Reads, or replaces, the value of name. Returns ES_PENDING (cb runs
 * once, later) or -1 with errno: ENOTSUP for a backend that keeps nothing
 * across restarts (the memory log), EAGAIN while it cannot ask now (no
 * link yet, window full), ENOMEM; no callback then. val is copied.
 */
int		 es_kv_get(struct es *, const char *name, es_kv_cb *cb,
		    void *arg);
int		 es_kv_set(struct es *, const char *name, const void *val,
		    size_t len, es_kv_cb *cb, void *arg);
/*
 * Copies ev into a stream of its own beside the log (Redis: XADD
 * <prefix>NAME with ev's id), as es_kv_set: ES_PENDING and cb once (0:
 * there, also when it was already; -1: not written), or -1 (ENOTSUP: the
 * memory log, whose one log holds it; EAGAIN: not now).
 */
int		 es_mirror(struct es *, const char *name,
		    const struct es_event *ev, es_kv_cb *cb, void *arg);

/* Where writes go now; ES_STATE_DIRECT until a backend says otherwise. */
enum es_state	 es_get_state(struct es *);
/*
 * Replaces the state callback (the one es_config gave, or NULL) with cb
 * and arg; cb NULL: no callback. Past changes are not replayed: read
 * es_get_state.
 */
void		 es_set_state_cb(struct es *, es_state_cb *cb, void *arg);
/* The name of a state: "direct", "fallback", "resync". */
const char	*es_state_name(enum es_state);
/*
 * Asks to be told when nothing waits in memory for the primary log (the
 * drain hands the ring to Redis). Returns 0 when nothing waits now (no
 * callback), or ES_PENDING when cb will run once, later.
 */
int		 es_flush(struct es *, es_flush_cb *cb, void *arg);

#endif
