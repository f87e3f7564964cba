/*
 * callosum.h: the C client library for agents (libcallosum).
 *
 * A blocking client over the router's Unix socket (router/PROTOCOL.md):
 *
 *	struct callosum_opts	 o = { .agent = "planner" };
 *	struct callosum_err	 err;
 *	struct callosum_event	 ev;
 *	struct callosum		*c = callosum_connect(&o, &err);
 *
 *	callosum_subscribe(c, 1, "internal", 64, NULL, &err);
 *	callosum_publish(c, &(struct callosum_pub){ .to = "external",
 *	    .body = "hi", .len = 2 }, &ack, &err);
 *	while (callosum_next(c, 1000, &ev, &err) == 1) ...
 *	callosum_close(c);
 *
 * Every call returns 0 (or 1 for callosum_next: an event), or -1 with
 * err filled: err.code is the router's error code ("bad_tract",
 * "circuit_open", ...) or one of the library's: "closed" (the router went
 * or said bye), "timeout", "io" (errno in err.msg), "usage" (a bad
 * argument). Nothing here prints, exits or aborts. A struct callosum is
 * for one thread at a time.
 *
 * Demand: a subscription gets `credit` messages; callosum_request() grants
 * more (the router never sends more than granted, SPEC "Demand").
 * Messages that arrive while a call waits for its reply are kept, in
 * order, and returned by the next callosum_next().
 */
#ifndef CALLOSUM_H
#define CALLOSUM_H

#include <stddef.h>
#include <stdint.h>

#define CALLOSUM_EID_MAX	48	/* "MS-SEQ" and its NUL */

struct callosum;

struct callosum_opts {
	const char	*socket;	/* NULL: $XDG_RUNTIME_DIR/callosum.sock,
					   else /tmp/callosum.sock */
	const char	*agent;		/* required */
	const char	*session;	/* NULL: none */
	const char	*model;
	const char	*tract;		/* the home tract, or NULL */
	int		 timeout_ms;	/* per call; 0: 5000 */
};

struct callosum_err {
	char	code[32];
	char	msg[256];
};

struct callosum_pub {
	const char	*to;		/* required */
	const char	*from;		/* NULL: the home tract (or to) */
	const char	*kind;		/* NULL: "msg" */
	double		 pri;		/* 0..1; 0: the default (0.5) */
	const char	*pattern;	/* a bframe's, or NULL */
	const void	*body;		/* sent as bin */
	size_t		 len;
};

struct callosum_ack {
	char	eid[CALLOSUM_EID_MAX];
	char	stored[16];		/* "none", "memory", "redis" */
};

enum callosum_event_type {
	CALLOSUM_MSG = 1,
	CALLOSUM_LAG,			/* dropped messages: replay them */
	CALLOSUM_END,			/* a replay delivered everything */
	CALLOSUM_BYE			/* the router closes: reason in .kind */
};

/* A byte string of an event: valid until the next call on the client. */
struct callosum_str {
	const char	*ptr;
	size_t		 len;
};

struct callosum_event {
	enum callosum_event_type type;
	uint64_t		 sid;
	char			 eid[CALLOSUM_EID_MAX];	/* MSG */
	struct callosum_str	 from, to, kind, agent, session, model,
				 pattern, body;		/* MSG (kind: BYE's
							   reason) */
	double			 pri;
	int64_t			 ts_us;
	uint64_t		 dropped;		/* LAG */
	char			 first[CALLOSUM_EID_MAX];	/* LAG */
	char			 last[CALLOSUM_EID_MAX];
};

/* Connects and says hello. NULL with err set on failure. */
struct callosum	*callosum_connect(const struct callosum_opts *,
		    struct callosum_err *err);
/* Closes the connection and frees everything. NULL is a no-op. */
void		 callosum_close(struct callosum *);
/* The socket, for poll(2) before callosum_next(c, 0, ...). */
int		 callosum_fd(struct callosum *);
/* The largest body the router takes (its max_frame). */
uint64_t	 callosum_max_frame(struct callosum *);

/* Publishes and waits for its ack (ack may be NULL). */
int		 callosum_publish(struct callosum *, const struct callosum_pub *,
		    struct callosum_ack *ack, struct callosum_err *err);
/*
 * Subscribes sid to tract with credit messages of demand; overflow
 * "block" (NULL) or "drop". Waits for the ack.
 */
int		 callosum_subscribe(struct callosum *, uint64_t sid,
		    const char *tract, uint64_t credit, const char *overflow,
		    struct callosum_err *err);
/* Grants sid n more messages (no reply is awaited). */
int		 callosum_request(struct callosum *, uint64_t sid, uint64_t n,
		    struct callosum_err *err);
/* Ends sid's subscription. */
int		 callosum_unsubscribe(struct callosum *, uint64_t sid,
		    struct callosum_err *err);
/*
 * Replays the log into sid: from_eid..to_eid (NULL: the start, the end),
 * only tract (NULL: all), at most limit (0: no limit) events, with credit
 * of demand; the events come as MSGs, then an END.
 */
int		 callosum_replay(struct callosum *, uint64_t sid,
		    const char *from_eid, const char *to_eid, const char *tract,
		    uint64_t limit, uint64_t credit, struct callosum_err *err);
/*
 * The next event within timeout_ms (0: only what is here; -1: forever):
 * 1 with *ev filled, 0 when none came, -1 on error ("closed" after BYE).
 */
int		 callosum_next(struct callosum *, int timeout_ms,
		    struct callosum_event *ev, struct callosum_err *err);
/* A ping; the round trip in seconds in *rtt (may be NULL). */
int		 callosum_ping(struct callosum *, double *rtt,
		    struct callosum_err *err);

#endif
