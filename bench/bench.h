/*
 * bench: what the pieces of callosum-bench share.
 *
 * bench_core (testable, no threads, no sockets): the message body, the
 * per-subscriber order check, frame templates and the minimal msgpack
 * reader of the clients, the results and their JSON. The runners
 * (bench_run.c: Callosum, bench_redis.c: Redis pub/sub) and the processes
 * they measure (bench_proc.c) build on it.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/hist.h"
#include "router/lib/json.h"

#define BENCH_EX_OK		0
#define BENCH_EX_ERRORS		1
#define BENCH_EX_USAGE		64
#define BENCH_EX_UNAVAILABLE	69

/*
 * Every message body starts with this, in host byte order (publisher and
 * subscribers share the host), then zero padding up to --size.
 */
#define BENCH_MAGIC	UINT32_C(0x4e424c43)	/* "CLBN" */
struct bench_body {
	uint32_t	magic;
	uint32_t	nonce;		/* this run's: tells ours apart */
	uint32_t	pub;		/* publisher index */
	uint32_t	flags;		/* 0 */
	uint64_t	seq;		/* per publisher, from 0 */
	uint64_t	ts_ns;		/* CLOCK_MONOTONIC, intended send */
	uint64_t	sent_ns;	/* CLOCK_MONOTONIC, handed to write */
};
/*
 * An open-loop publisher's timer wakes it this many us before a send, and
 * it spins the rest (when all publishers together spin at most half a
 * CPU: spin_us * rate <= 500000): timer
 * wake-ups here land ~40 us late, which would count as latency.
 */
#define BENCH_SPIN_US	50
#define BENCH_BODY_MIN	((size_t)sizeof(struct bench_body))	/* 40 */

enum bench_overflow {
	BENCH_OVERFLOW_BLOCK = 0,
	BENCH_OVERFLOW_DROP
};

/* Every flag's value; the JSON "params" object shows them all. */
struct bench_params {
	const char		*socket;	/* NULL until resolved */
	bool			 spawn;
	unsigned		 pubs;
	unsigned		 subs;
	size_t			 size;		/* body bytes */
	uint64_t		 rate;		/* total msg/s; 0: unlimited */
	double			 duration_s;	/* 0 when count is set */
	uint64_t		 count;		/* total; 0: by duration */
	unsigned		 cross_pct;
	uint64_t		 credit;
	enum bench_overflow	 overflow;
	bool			 pin;
	bool			 json;
	/*
	 * Passed to a spawned router; "spawn": a private redis-server
	 * whose unix:// URL is passed (bench_spawn_redis).
	 */
	const char		*redis_url;
	const char		*router_config;	/* its --config, or NULL */
	const char		*compare;	/* "redis" or NULL */
	unsigned		 idle;
	unsigned		 ack_every;	/* Kth pub has an id; 0 none */
	double			 drain_s;	/* wait for deliveries after */
	unsigned		 spin_us;	/* open loop: wake this early */
	double			 warmup_s;	/* left out of the figures */
};

/* Sets the defaults. */
void	bench_params_init(struct bench_params *);

/* Errors, each counted in messages (or frames for err, bad and closes). */
struct bench_errors {
	uint64_t	err_frames;	/* err replies to our pubs */
	uint64_t	missing_acks;	/* pubs with id never answered */
	uint64_t	gaps;		/* missing inside, not lag-explained */
	uint64_t	dups;
	uint64_t	reorders;
	uint64_t	lost;		/* not delivered by the drain's end */
	uint64_t	bad_frames;	/* undecodable, bad sid, foreign */
	uint64_t	disconnects;	/* the server closed one of our conns */
};

/* One system's figures: the router, or the peer it is compared with. */
struct bench_result {
	const char		*system;	/* "callosum", "redis" */
	uint64_t		 published;
	uint64_t		 delivered;
	uint64_t		 expected;	/* published * subs */
	uint64_t		 lag_dropped;	/* drop mode: told by lag */
	uint64_t		 acks;
	struct bench_errors	 err;
	uint64_t		 errors;	/* sum of err */
	char			 first_err[64];	/* the first err's code */
	/*
	 * With a warm-up, published and delivered count the whole run (all
	 * of it is checked) and warm_* what came before the measured window,
	 * which the times, rates, CPU and latency cover alone.
	 */
	uint64_t		 warm_published;
	uint64_t		 warm_delivered;
	double			 duration_s;	/* start to last pub handled */
	double			 deliver_s;	/* start to the last delivery */
	double			 msgs_per_s;
	double			 deliveries_per_s;
	struct hist		 lat;		/* intended send to delivery */
	bool			 open_loop;
	struct hist		 pacer_lag;	/* open loop: our lateness */
	/*
	 * Callosum: the latency after the pacer's lag, split at the router's
	 * ts (its clock when it read the pub): written -> read by the router,
	 * router -> delivered. Empty for a peer that stamps nothing.
	 */
	struct hist		 lat_to_router;
	struct hist		 lat_from_router;
	/*
	 * Pubs with an id (--ack-every): their write to their ack. Empty
	 * for a peer that acks nothing.
	 */
	struct hist		 ack_lat;
	double			 server_cpu_pct; /* of one CPU; < 0 unknown */
	double			 client_cpu_pct;
	double			 redis_log_cpu_pct; /* --redis spawn, or < 0 */
	double			 other_cpu_pct;	/* everyone else: noise */
	long			 rss_kib_before; /* < 0: unknown */
	long			 rss_kib_after;
	long			 rss_kib_end;
	unsigned		 idle_conns;
};

void		bench_result_init(struct bench_result *, const char *system);
/* Fills errors and the rates from the counts and times. */
void		bench_result_finish(struct bench_result *);

/*
 * Appends the run as one JSON object (no newline): params, the figures of
 * r and, when peer is not NULL, the same figures under "peer". 0 or -1.
 */
int		bench_json(struct json_buf *, const struct bench_params *,
		    const struct bench_result *r,
		    const struct bench_result *peer);

/*
 * The per-subscriber delivery check: every message of every publisher
 * exactly once and in order. Gaps announced beforehand by lag frames (drop
 * mode) are expected and counted apart.
 */
struct seqcheck {
	unsigned	 npubs;
	uint64_t	*next;		/* next expected seq per publisher */
	uint64_t	*gap_lo;	/* the last unexplained gap: tells */
	uint64_t	*gap_hi;	/* a late message from a dup */
	uint64_t	 lag_budget;	/* announced drops not yet seen */
	uint64_t	 lag_gaps;
	uint64_t	 gaps;
	uint64_t	 dups;
	uint64_t	 reorders;
};

int		seqcheck_init(struct seqcheck *, unsigned npubs);
void		seqcheck_free(struct seqcheck *);
/* A lag frame announced dropped messages. */
void		seqcheck_lag(struct seqcheck *, uint64_t dropped);
/* A message seq from publisher pub (< npubs) arrived. */
void		seqcheck_msg(struct seqcheck *, unsigned pub, uint64_t seq);
/* True when every publisher p's messages below final[p] were seen. */
bool		seqcheck_complete(const struct seqcheck *,
		    const uint64_t *final);
/*
 * The messages still missing against final[] at the end, less those
 * announced by lag frames (their budget is used up).
 */
uint64_t	seqcheck_missing(struct seqcheck *, const uint64_t *final);

/*
 * The write times of one connection's pubs awaiting their ack, oldest
 * first. The router answers a connection's requests in order, so an ack
 * (or err) answers the oldest pending pub with its id; pending pubs older
 * than it were never answered (counted as missing acks elsewhere) and go.
 * Ids are compared modulo 2^32, as the wire carries them. It grows by
 * doubling up to max entries: no allocation per pub.
 */
struct ackq_ent {
	uint32_t	id;
	uint64_t	t_ns;
};
struct ackq {
	struct ackq_ent	*ring;
	size_t		 cap;		/* a power of two, <= max */
	size_t		 max;
	size_t		 head;		/* index of the oldest */
	size_t		 len;
};

/* An empty queue of at most max (>= 1) pending pubs. 0 or -1. */
int		ackq_init(struct ackq *, size_t max);
void		ackq_free(struct ackq *);
/*
 * Pub id (above every id pending) was written at t_ns. 0, or -1 when max
 * pubs are pending or the queue cannot grow: that pub is not timed.
 */
int		ackq_push(struct ackq *, uint32_t id, uint64_t t_ns);
/*
 * The answer to pub id arrived. True with its write time in *t_ns when it
 * was pending; false when it was not (never pushed, or answered already).
 */
bool		ackq_pop(struct ackq *, uint32_t id, uint64_t *t_ns);

/*
 * Frames (bench_wire.c). A template is a whole frame, built once, that a
 * publisher copies and patches per message: body header (and id).
 */
struct bw_tmpl {
	unsigned char	*buf;
	size_t		 len;
	size_t		 body_off;	/* offset of the bench_body */
	size_t		 id_off;	/* offset of the 4-byte id; 0: none */
};

int		bw_pub_tmpl(struct bw_tmpl *, const char *to, const char *from,
		    size_t body_len, bool with_id);
void		bw_tmpl_free(struct bw_tmpl *);
/* Writes a req frame into out (room for BW_SMALL_MAX); returns its length. */
#define BW_SMALL_MAX	48
size_t		bw_req(unsigned char *out, uint64_t sid, uint64_t n);
/* Writes a ping frame with id into out; returns its length. */
size_t		bw_ping(unsigned char *out, uint32_t id);
static inline void
bw_put_id(unsigned char *p, uint32_t id)
{
	p[0] = id >> 24;
	p[1] = id >> 16;
	p[2] = id >> 8;
	p[3] = id;
}

enum bw_op {
	BW_OP_OTHER = 0,
	BW_OP_MSG,
	BW_OP_LAG,
	BW_OP_ACK,
	BW_OP_ERR,
	BW_OP_PONG,
	BW_OP_BYE,
	BW_OP_WELCOME
};

/* The fields of a received frame the clients look at; pointers borrow it. */
struct bw_frame {
	enum bw_op		 op;
	bool			 has_sid;
	bool			 has_id;
	uint64_t		 sid;
	uint64_t		 id;
	uint64_t		 dropped;
	bool			 has_ts;
	uint64_t		 ts_us;		/* msg: the router's ts */
	const unsigned char	*body;		/* NULL when absent */
	uint32_t		 body_len;
	const char		*code;		/* err code, NULL when absent */
	uint32_t		 code_len;
};

/*
 * Reads one frame body (one msgpack map, any key order, unknown keys
 * skipped). No allocation. 0, or -1 when it is not a well-formed map.
 */
int		bw_parse(const unsigned char *p, size_t len, struct bw_frame *);

#endif
