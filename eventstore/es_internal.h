/*
 * es_internal: what eventstore's own files share and the public header
 * keeps quiet: the backend table (the seam where tests plug a fake, through
 * es_config.backend, and Redis plugs in), how a backend reports its state
 * to the front, and the bounded memory ring that is both the embedded log
 * and, later, the Redis fallback. Nothing outside eventstore/ and its unit
 * tests includes this.
 */
#ifndef CALLOSUM_ES_INTERNAL_H
#define CALLOSUM_ES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventstore/eid.h"
#include "eventstore/es_event.h"
#include "eventstore/eventstore.h"

/*
 * A backend, picked by es_open. Each entry takes the state open returned.
 * The front has already checked what the public contract promises (eids
 * increasing, from <= to, max >= 1, not closing), so backends may assert it.
 *
 * Every append or read a backend answered with ES_PENDING is called back
 * exactly once: later from the loop, or from close, whichever comes first.
 * Nothing else calls back, and never from inside the call that started it.
 */
struct es_backend {
	const char	*name;		/* es_stats.backend: static storage */
	/*
	 * The backend state, or NULL with *cause set (config borrowed).
	 * front (borrowed) outlives the state: the backend reports its state
	 * changes with es_backend_state(front, ...), even from inside open.
	 */
	void		*(*open)(struct es *front, const struct es_config *,
			    char **cause);
	/*
	 * Calls back every append still pending with (-1, ES_STORED_NONE) and
	 * every read still out with status -1 (evs NULL, *res zero), each
	 * once, as hiredis's async free answers its pending commands with
	 * NULL replies; then frees the state and drops its references. Those
	 * callbacks may reach the front, which refuses new work meanwhile.
	 */
	void		 (*close)(void *);
	/* As es_append; where is never NULL. */
	int		 (*append)(void *, const struct es_event *,
			    es_append_cb *, void *, enum es_stored *where);
	/* As es_read, with *res zeroed. */
	int		 (*read)(void *, const struct es_query *,
			    struct es_event **out, struct es_read_result *res,
			    es_read_cb *, void *);
	/* The greatest id it was given or found in its log; zero if none. */
	void		 (*last_eid)(void *, struct eid *);
	/* The smallest id it holds; zero if none. */
	void		 (*first_eid)(void *, struct eid *);
	/* Fills every counter of *out except backend, which the front sets. */
	void		 (*stats)(void *, struct es_stats *);
	/*
	 * As es_flush; NULL for a backend with nothing to write elsewhere
	 * (the front answers 0).
	 */
	int		 (*flush)(void *, es_flush_cb *, void *);
	/*
	 * As es_kv_get and es_kv_set (val NULL: get); NULL for a backend
	 * that keeps nothing across restarts (the front: ENOTSUP).
	 */
	int		 (*kv)(void *, const char *name, const void *val,
			    size_t len, es_kv_cb *, void *);
	/* As es_mirror; NULL: ENOTSUP. */
	int		 (*mirror)(void *, const char *name,
			    const struct es_event *, es_kv_cb *, void *);
};

/* The memory ring as a backend: the embedded log (es_mem.c). */
extern const struct es_backend es_mem_backend;

/*
 * A backend's report of where writes go now, why (borrowed, may be NULL)
 * saying what caused it. The front records it and calls the state
 * callback only when it differs from the last; while closing it records
 * it and calls nothing.
 */
void		 es_backend_state(struct es *front, enum es_state,
		    const char *why);

/* Sets *cause (if cause is not NULL) to a malloc'd message, or NULL. */
void		 es_cause(char **cause, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * The memory ring: at most max_events events and, when max_bytes is not 0,
 * at most max_bytes bytes of their bodies, in strictly increasing eid
 * order, oldest at the head, each copied into the ring's own arena.
 */
struct es_mem;

/*
 * A ring of at most max_events (>= 1) events and max_bytes body bytes
 * (0: no byte bound), or NULL with *cause set.
 */
struct es_mem	*es_mem_new(size_t max_events, uint64_t max_bytes,
		    enum es_full_policy, char **cause);
/* Frees the ring and everything it holds. NULL is a no-op. */
void		 es_mem_free(struct es_mem *);
/*
 * Copies ev (borrowed) in at the tail; ev->eid must be greater than every
 * id pushed before (asserted). When adding it would pass either bound,
 * ES_FULL_DROP_OLDEST evicts the oldest until both hold with it added,
 * counting each; ES_FULL_REFUSE counts a refusal and returns -1, leaving
 * the ring as it was. A body larger than max_bytes on its own is refused
 * (counted) in both modes. Also -1, with nothing evicted or counted, when
 * memory for the copy runs out.
 */
int		 es_mem_push(struct es_mem *, const struct es_event *ev);
/*
 * es_read over the ring, answered at once: fills *res (zeroed by the
 * caller) and out[0..res->n) with new copies (refcnt 1: the caller unrefs).
 * Returns 0, or -1 with nothing returned when memory runs out.
 */
int		 es_mem_read(struct es_mem *, const struct es_query *,
		    struct es_event **out, struct es_read_result *res);
/*
 * Points *view at the oldest event and returns true, or returns false when
 * the ring is empty. The view owns nothing (refcnt 0, fields not
 * NUL-terminated) and is valid until the next push, pop or free.
 */
bool		 es_mem_peek(struct es_mem *, struct es_event *view);
/* Like es_mem_peek, for the i-th oldest event (i < depth). */
bool		 es_mem_peek_at(struct es_mem *, size_t i,
		    struct es_event *view);
/* Removes the oldest event, not counted as dropped; false when empty. */
bool		 es_mem_pop(struct es_mem *);
/* Events held now. */
size_t		 es_mem_depth(struct es_mem *);
/* Body bytes held now. */
uint64_t	 es_mem_bytes(struct es_mem *);
/* The greatest id ever pushed, even if since popped or dropped; or zero. */
void		 es_mem_last_eid(struct es_mem *, struct eid *);
/* The oldest id held, or zero. */
void		 es_mem_first_eid(struct es_mem *, struct eid *);
/* Pushes accepted, dropped and refused, depth and bytes, into *out. */
void		 es_mem_stats(struct es_mem *, struct es_stats *);

/*
 * The Redis backend (es_redis.c) talks to Redis through a transport: hiredis'
 * async API on the router's event base (es_hiredis.c), or a fake in the
 * state machine's unit tests. Replies are hiredis' redisReply (a plain
 * struct a fake can build), borrowed for the callback's duration.
 */
struct redisReply;

/* Where Redis is: a Unix socket path, or a host, port and database. */
struct es_redis_addr {
	char	*path;		/* unix:///path, or NULL */
	char	*host;		/* redis://host:port/db, or NULL */
	int	 port;
	int	 db;
};

/* Parses unix:///PATH or redis://HOST[:PORT][/DB]; -1 with *cause. */
int		 es_redis_addr_parse(const char *url, struct es_redis_addr *,
		    char **cause);
void		 es_redis_addr_free(struct es_redis_addr *);

/* A command's reply, once; r is NULL when the link went before it. */
typedef void	es_reply_fn(void *arg, struct redisReply *r);
/* The link came up (up 1), or failed or was lost (up 0, why), once each. */
typedef void	es_link_fn(void *arg, int up, const char *why);

struct es_transport {
	/*
	 * Starts connecting on base. link(arg, 1, NULL) once connected, then
	 * link(arg, 0, why) once if the link fails or is lost (also when it
	 * never came up). Returns the link, or NULL with *cause (no callback).
	 */
	void		*(*open)(struct event_base *, const struct es_redis_addr *,
			    es_link_fn *, void *arg, char **cause);
	/*
	 * Sends argv; fn(arg, reply) runs once, later. Returns 0, or -1 when
	 * it cannot be sent (fn never runs).
	 */
	int		 (*command)(void *link, int argc, const char **argv,
			    const size_t *argvlen, es_reply_fn *fn, void *arg);
	/*
	 * Closes the link: every fn still pending runs once with NULL (now,
	 * or from the loop when called inside a reply); link is not called.
	 */
	void		 (*close)(void *link);
	/*
	 * Blocking, for es_open only: the last entry id of key (zero when
	 * the stream is empty or absent). -1 with *why when Redis does not
	 * answer within timeout_ms.
	 */
	int		 (*last_id)(const struct es_redis_addr *, const char *key,
			    unsigned timeout_ms, struct eid *out, char **why);
};

extern const struct es_transport es_hiredis_transport;
/* The Redis log with the memory ring as its fallback (es_redis.c). */
extern const struct es_backend es_redis_backend;
/* es_redis_backend's open over another transport (the unit tests'). */
void		*es_redis_open_with(struct es *front, const struct es_config *,
		    const struct es_transport *, char **cause);

#endif
