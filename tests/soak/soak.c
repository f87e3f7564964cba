/*
 * soak: mixed load against a release callosumd for CALLOSUM_SOAK_SECONDS
 * (default 600), checking SPEC's demand invariants from every client and
 * the router's RSS and open descriptors every second (issue 18, "Soak").
 *
 *   CALLOSUM_SOAK=1 ctest -L soak --output-on-failure
 *   CALLOSUM_SOAK=1 CALLOSUM_SOAK_SECONDS=60 ctest -L soak --output-on-failure
 *
 * Without CALLOSUM_SOAK=1 it exits 77 (ctest's SKIP_RETURN_CODE), so that
 * a plain `ctest` skips it. Other knobs: CALLOSUM_SOAK_WARMUP (seconds
 * before the RSS and fd baselines; default 60, or a fifth of a run shorter
 * than 5 minutes), CALLOSUM_SOAK_RATE (publishes per second by the general
 * publishers together; default 2000), CALLOSUM_SOAK_SEED. CALLOSUMD (or
 * argv[1]) names the router binary.
 *
 * The router runs in a fresh temp directory with small limits, so that
 * every path is taken: backpressure after 50 ms, a breaker opening after 3
 * failures and half-opening after 500 ms, a 1 MiB output limit, 256
 * pending messages, a 50000-event memory log (filled before the clock
 * starts, so that its size is in the baseline).
 *
 * Threads, each connecting, saying hello, working for a random time and
 * disconnecting, again and again:
 *   pub      pipelined pubs, cross-tract and same-tract, into t0..t3, a
 *            body carrying (publisher id, sequence); every ack is recorded
 *            (eid, to, from, kind)
 *   sub      drop and block subscriptions with random credit, max_pending
 *            and kinds, granting as they read, pausing, unsubscribing,
 *            sometimes catching up with from_eid; ending gracefully
 *            (unsub, ping) or abruptly
 *   replay   replays of recent ranges (tract, kinds, limit, eids with and
 *            without -SEQ), some cancelled by unsub
 *   breaker  a block subscriber with credit 0 stalls tract brk until its
 *            breaker opens; the trial after the reset timeout fails, then
 *            the subscriber grants and the next trial closes it
 *   sys      one subscriber of $sys for the whole run: every breaker
 *            transition, checked for consistency per tract
 *   killer   clients killed mid-frame (half a pub, half a header), closed
 *            with unread output, a zero-length frame, a body that is not
 *            a map, a frame never completed, a hello never sent
 *   flood    a subscriber that grants and stops reading until the router
 *            closes it at output_limit (it must see bye output_limit)
 *
 * Invariants (each broken one is a counted violation; any fails the run):
 *   - no more msg frames on a sid than credit + sum of req n (as sent);
 *   - per sid, eids strictly increase, and each publisher's sequence
 *     numbers strictly increase (publish order per connection and tract);
 *   - no msg, lag or end on a sid before its sub's ack or after its
 *     unsub's ack (or after end);
 *   - every request (all carry an id) is answered exactly once, in order,
 *     by the reply of its kind; no err without id;
 *   - at the end, against the record of every acknowledged pub: a drop
 *     subscriber's missing events between two msgs are exactly those its
 *     lag frames name (dropped = the count, first and last are dropped
 *     events); a block subscriber misses nothing between two msgs and
 *     never gets lag; a from_eid subscriber misses no logged event; a
 *     replay returns exactly the logged events of its range and filters
 *     (up to limit), except what the 50000-event log may have evicted
 *     (when 50000 - 16 later logged events existed by then);
 *   - the killed clients get the err they must (bad_frame for a zero
 *     length, a body that is not a map, a frame not completed within
 *     frame_timeout_ms; hello_required after handshake_timeout_ms), then
 *     the close;
 *   - the breaker goes closed -> open after exactly 3 backpressure
 *     failures, answers circuit_open while open, reopens on a failed
 *     trial, closes on a good one; the $sys transitions of each tract
 *     form a valid chain (from_state = the previous to_state, opening
 *     with failures = 3), and each brk cycle is exactly its 5 transitions;
 *   - RSS and fds: a sample every second. Baselines at the end of the
 *     warm-up: RSS is the sample then, fds the highest sample of the last
 *     10 s of the warm-up (connections come and go: a window's maximum
 *     includes the usual churn). Fail when a later sample exceeds the RSS
 *     baseline by 10 %, or the fd baseline by 10 % + 8. And at a moment
 *     we control: with every client gone, the router's fd count must come
 *     back to what it was idle before the load started;
 *   - SIGTERM at the end: a client still connected gets bye "shutdown",
 *     and the router exits 0 within 15 s.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "router/lib/wire.h"
#include "tools/client.h"

#define SKIP_CODE		77

/* The router's configuration (small limits: every path is taken). */
#define PUBLISH_TIMEOUT_MS	50
#define BREAKER_THRESHOLD	3
#define BREAKER_RESET_MS	500
#define OUTPUT_LIMIT		(1024 * 1024)
#define MAX_PENDING		256
#define MEMLOG_EVENTS		50000
#define FRAME_TIMEOUT_MS	1000
#define HANDSHAKE_TIMEOUT_MS	1000
#define DRAIN_TIMEOUT_MS	3000

#define NPUB			3
#define NSUB			4
#define SUBS_PER_CONN		4
#define REPLAYS_PER_CONN	3
#define RECENT_MAX		8192
#define VIOL_PRINT		10	/* details printed per violation kind */
#define REPLY_WAIT_MS		15000	/* a graceful close waits this long */
#define EID_SEQ_BITS		22
#define BODY_MAGIC		"SOAK"
#define BODY_HDR		20	/* magic, publisher id, sequence */
#define FLOOD_BODY		(16 * 1024)

/*
 * Tracts. t0..t3 carry the general load; the others have one job each.
 */
enum {
	T_GEN0, T_GEN1, T_GEN2, T_GEN3,
	T_BRK, T_BRKSRC, T_FLOOD, T_PRE, T_PRESRC, T_SYS,
	NTRACT
};
#define NGEN	4
static const char *const tract_names[NTRACT] = {
	"t0", "t1", "t2", "t3", "brk", "brksrc", "flood", "pre", "presrc",
	"$sys"
};
#define NKIND	3
static const char *const kind_names[NKIND] = { "a", "b", "c" };

/*
 * Violations and counters.
 */
enum viol {
	V_CREDIT, V_ORDER, V_EID_ORDER, V_BEFORE_ACK, V_AFTER_UNSUB, V_LAG,
	V_GAP, V_FILTER, V_UNKNOWN_EID, V_REPLY_ORDER, V_REPLY_MISSING,
	V_REPLY_UNEXPECTED, V_UNEXPECTED_ERR, V_REPLAY, V_BREAKER, V_SYS,
	V_CONN, V_PROTO, V_RSS, V_FD, V_EXIT, V_HANG,
	V_COUNT
};
static const char *const viol_names[V_COUNT] = {
	"credit exceeded", "publisher order", "eid order", "frame before sub ack",
	"frame after unsub ack/end", "lag mismatch", "missing without lag",
	"tract/kind filter", "msg not in record", "reply order",
	"reply missing", "reply unexpected", "unexpected err", "replay content",
	"breaker behaviour", "$sys chain", "connection lost", "protocol",
	"RSS growth", "fd growth", "router exit", "client hang"
};

enum ctr {
	C_CONNS, C_PUB_SENT, C_PUB_ACKED, C_PUB_CROSS, C_PUB_SAME, C_PUB_BP,
	C_PUB_CO, C_MSGS, C_LAGS, C_DROPPED, C_SUBS, C_DROP_SUBS,
	C_BLOCK_SUBS, C_FROM_EID_SUBS, C_UNSUBS, C_SID_REUSE, C_PAUSES,
	C_REPLAYS, C_REPLAYS_DONE, C_REPLAYS_CANCELLED, C_REPLAYED,
	C_KILL_HALF_FRAME, C_KILL_HALF_HDR, C_KILL_UNREAD, C_KILL_ZERO_LEN,
	C_KILL_NOT_MAP, C_KILL_FRAME_TIMEOUT, C_KILL_HANDSHAKE,
	C_OUTPUT_LIMIT_BYE, C_OUTPUT_LIMIT_MISSED, C_OUTPUT_LIMIT_OTHER,
	C_BRK_CYCLES, C_SYS_MSGS, C_STATS, C_TRIMMED, C_SEGMENTS,
	C_LAGS_CHECKED, C_REPLAYS_CHECKED, C_PREFILL,
	C_COUNT
};

static atomic_ulong	g_viol[V_COUNT];
static atomic_ulong	g_ctr[C_COUNT];

#define CTR(c)		atomic_fetch_add(&g_ctr[(c)], 1)
#define CTRN(c, n)	atomic_fetch_add(&g_ctr[(c)], (n))
#define CTRV(c)		((unsigned long)atomic_load(&g_ctr[(c)]))

static atomic_bool	g_stop;		/* the load threads stop */
static atomic_bool	g_stop_sys;	/* the $sys watcher stops */
static atomic_int	g_live_conns;
static atomic_ulong	g_pubid;
static const char	*g_sock;
static int64_t		g_mono0_ms;
static int64_t		g_wall0_ms;
static uint64_t		g_seed;
static double		g_rate = 2000;

/* $sys: transitions seen, [from][to] over closed, open, half_open. */
static atomic_ulong	g_sys_tr[3][3];
static atomic_ulong	g_sys_brk_tr[3][3];
static const char *const state_names[3] = { "closed", "open", "half_open" };

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Milliseconds since the start of the run. */
static uint32_t
rel_ms(void)
{
	return ((uint32_t)(mono_ms() - g_mono0_ms));
}

static void
sleep_ms(int64_t ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
stopping(void)
{
	return (atomic_load(&g_stop));
}

static void	viol(enum viol, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
viol(enum viol v, const char *fmt, ...)
{
	va_list		ap;
	unsigned long	n;
	char		buf[512];

	n = atomic_fetch_add(&g_viol[v], 1);
	if (n >= VIOL_PRINT)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "soak: VIOLATION [%s] at %.1fs: %s\n", viol_names[v],
	    rel_ms() / 1000.0, buf);
}

/*
 * A small PRNG per thread (xorshift64*).
 */
struct rng {
	uint64_t	s;
};

static void
rng_seed(struct rng *r, uint64_t k)
{
	r->s = (g_seed ^ (k * 0x9e3779b97f4a7c15ULL)) | 1;
}

static uint64_t
rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (r->s * 0x2545f4914f6cdd1dULL);
}

static uint64_t
rnd_below(struct rng *r, uint64_t n)
{
	return (n == 0 ? 0 : rnd(r) % n);
}

/* lo..hi inclusive. */
static uint64_t
rnd_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return (lo + rnd_below(r, hi - lo + 1));
}

static bool
chance(struct rng *r, unsigned pct)
{
	return (rnd_below(r, 100) < pct);
}

/*
 * Event ids packed in one word: (ms << 22) | seq.
 */
static uint64_t
eid_pack(uint64_t ms, uint64_t seq)
{
	return ((ms << EID_SEQ_BITS) | seq);
}

static bool
eid_parse(const char *p, size_t len, uint64_t *out)
{
	uint64_t	ms = 0, seq = 0;
	size_t		i = 0;
	bool		dash = false;

	if (len == 0 || len > 40)
		return (false);
	for (i = 0; i < len; i++) {
		if (p[i] == '-' && !dash && i > 0) {
			dash = true;
			continue;
		}
		if (p[i] < '0' || p[i] > '9')
			return (false);
		if (dash)
			seq = seq * 10 + (uint64_t)(p[i] - '0');
		else
			ms = ms * 10 + (uint64_t)(p[i] - '0');
	}
	if (!dash || p[len - 1] == '-' || seq >= (1u << EID_SEQ_BITS) ||
	    ms >= (1ULL << (64 - EID_SEQ_BITS)))
		return (false);
	*out = eid_pack(ms, seq);
	return (true);
}

static const char *
eid_str(uint64_t e, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 "-%" PRIu64, e >> EID_SEQ_BITS,
	    e & ((1u << EID_SEQ_BITS) - 1));
	return (buf);
}

static int
tract_lookup(const char *p, size_t len)
{
	int	i;

	for (i = 0; i < NTRACT; i++)
		if (strlen(tract_names[i]) == len &&
		    memcmp(tract_names[i], p, len) == 0)
			return (i);
	return (-1);
}

static int
kind_lookup(const char *p, size_t len)
{
	int	i;

	for (i = 0; i < NKIND; i++)
		if (len == 1 && kind_names[i][0] == p[0])
			return (i);
	return (-1);
}

static bool
kmatch(unsigned mask, int kind)
{
	return (mask == 0 || (kind >= 0 && ((mask >> kind) & 1)));
}

/*
 * The record: every acknowledged pub. Sorted by eid at the end.
 */
struct rec {
	uint64_t	eid;
	uint8_t		to;
	uint8_t		from;
	uint8_t		kind;
};

static struct {
	pthread_mutex_t	 mu;
	struct rec	*v;
	size_t		 n, cap;
	uint64_t	 recent[RECENT_MAX];	/* cross-tract eids, a ring */
	size_t		 nrecent;		/* ever pushed */
} g_rec = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
record_add(uint64_t eid, int to, int from, int kind)
{
	pthread_mutex_lock(&g_rec.mu);
	if (g_rec.n == g_rec.cap) {
		g_rec.cap = g_rec.cap == 0 ? 65536 : g_rec.cap * 2;
		g_rec.v = realloc(g_rec.v, g_rec.cap * sizeof(*g_rec.v));
		if (g_rec.v == NULL) {
			perror("soak: realloc");
			abort();
		}
	}
	g_rec.v[g_rec.n].eid = eid;
	g_rec.v[g_rec.n].to = (uint8_t)to;
	g_rec.v[g_rec.n].from = (uint8_t)from;
	g_rec.v[g_rec.n].kind = (uint8_t)kind;
	g_rec.n++;
	if (to != from && to < NGEN)
		g_rec.recent[g_rec.nrecent++ % RECENT_MAX] = eid;
	pthread_mutex_unlock(&g_rec.mu);
}

/* An eid among the last `back` cross-tract general ones; false if none. */
static bool
recent_pick(struct rng *r, size_t back, uint64_t *out)
{
	size_t	n, k;
	bool	ok = false;

	pthread_mutex_lock(&g_rec.mu);
	n = g_rec.nrecent < RECENT_MAX ? g_rec.nrecent : RECENT_MAX;
	if (back > n)
		back = n;
	if (back > 0) {
		k = g_rec.nrecent - 1 - rnd_below(r, back);
		*out = g_rec.recent[k % RECENT_MAX];
		ok = true;
	}
	pthread_mutex_unlock(&g_rec.mu);
	return (ok);
}

/*
 * Publisher order per sid: publisher id -> last sequence number.
 */
struct omap {
	uint64_t	*k;
	uint64_t	*v;
	size_t		 cap, n;
};

static uint64_t *
omap_slot(struct omap *m, uint64_t key)
{
	size_t		 i, j, ocap;
	uint64_t	*ok, *ov;

	if (m->cap == 0 || (m->n + 1) * 2 > m->cap) {
		ok = m->k;
		ov = m->v;
		ocap = m->cap;
		m->cap = ocap == 0 ? 64 : ocap * 2;
		m->k = calloc(m->cap, sizeof(*m->k));
		m->v = calloc(m->cap, sizeof(*m->v));
		if (m->k == NULL || m->v == NULL) {
			perror("soak: calloc");
			abort();
		}
		m->n = 0;
		for (i = 0; i < ocap; i++) {
			if (ok[i] == 0)
				continue;
			for (j = ok[i] % m->cap; m->k[j] != 0;
			    j = (j + 1) % m->cap)
				;
			m->k[j] = ok[i];
			m->v[j] = ov[i];
			m->n++;
		}
		free(ok);
		free(ov);
	}
	for (j = key % m->cap; m->k[j] != 0 && m->k[j] != key;
	    j = (j + 1) % m->cap)
		;
	if (m->k[j] == 0) {
		m->k[j] = key;
		m->v[j] = 0;
		m->n++;
	}
	return (&m->v[j]);
}

static void
omap_free(struct omap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/*
 * Subscriptions and replays as a client sees them.
 */
enum sst { SS_SUBSCRIBING, SS_ACTIVE, SS_UNSUBBING, SS_CLOSED, SS_ENDED,
	SS_GONE };
enum skind { SK_LIVE, SK_FROM_EID, SK_REPLAY, SK_SYS };

/* One received msg (last == 0) or lag (eid = first). */
struct titem {
	uint64_t	eid;
	uint64_t	last;
	uint32_t	n;
	uint32_t	tm;		/* rel_ms() when received */
};

struct ssub {
	struct ssub	*next;
	uint64_t	 sid;
	uint64_t	 req_id;	/* of its sub or replay request */
	enum skind	 kind;
	enum sst	 st;
	int		 tract;		/* -1: any (replay) */
	unsigned	 kmask;		/* 0: every kind */
	bool		 drop;
	bool		 keep_trace;
	bool		 cancelled;
	bool		 paused;	/* grants nothing for now */
	int64_t		 hold_until;	/* a drop sub's own pause */
	int64_t		 next_hold;
	uint64_t	 granted;
	uint64_t	 received;
	uint64_t	 last_eid;	/* of the last msg or lag */
	unsigned	 target;	/* demand the policy keeps up */
	struct omap	 order;
	struct titem	*tr;
	size_t		 ntr, trcap;
	/* replay and from_eid */
	uint64_t	 r_from, r_to;
	bool		 r_has_to;
	uint64_t	 r_limit;
	uint32_t	 t_start, t_end;
};

static struct {
	pthread_mutex_t	  mu;
	struct ssub	**v;
	size_t		  n, cap;
} g_done = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
trace_push(struct ssub *s, uint64_t eid, uint64_t last, uint32_t n)
{
	if (!s->keep_trace)
		return;
	if (s->ntr == s->trcap) {
		s->trcap = s->trcap == 0 ? 256 : s->trcap * 2;
		s->tr = realloc(s->tr, s->trcap * sizeof(*s->tr));
		if (s->tr == NULL) {
			perror("soak: realloc");
			abort();
		}
	}
	s->tr[s->ntr].eid = eid;
	s->tr[s->ntr].last = last;
	s->tr[s->ntr].n = n;
	s->tr[s->ntr].tm = rel_ms();
	s->ntr++;
}

static void
done_add(struct ssub *s)
{
	pthread_mutex_lock(&g_done.mu);
	if (g_done.n == g_done.cap) {
		g_done.cap = g_done.cap == 0 ? 1024 : g_done.cap * 2;
		g_done.v = realloc(g_done.v, g_done.cap * sizeof(*g_done.v));
		if (g_done.v == NULL) {
			perror("soak: realloc");
			abort();
		}
	}
	g_done.v[g_done.n++] = s;
	pthread_mutex_unlock(&g_done.mu);
}

/*
 * A connection: the client, its requests awaiting replies (a FIFO) and
 * its subscriptions.
 */
enum pop { P_PUB, P_SUB, P_REQ, P_UNSUB, P_REPLAY, P_PING, P_STATS,
	P_CONNS };
static const char *const pop_names[] = { "pub", "sub", "req", "unsub",
	"replay", "ping", "stats", "conns" };

struct pend {
	uint64_t	id;
	uint64_t	sid;
	int64_t		t_ms;
	uint8_t		op;
	uint8_t		to, from, kind;
	bool		is_replay;
};

struct sconn {
	struct client	*c;
	char		 who[32];
	struct rng	*rng;
	int		 home;		/* hello tract, -1 none */
	uint64_t	 next_id;
	uint64_t	 next_sid;
	struct pend	*q;
	size_t		 qh, qn, qcap;
	struct ssub	*subs;
	uint64_t	*tombs;		/* sids unsubscribed or ended */
	size_t		 ntombs, tombcap;
	bool		 dead;
	bool		 bye;
	char		 bye_reason[32];
	bool		 flood_victim;
	bool		 expect_close;	/* the SIGTERM witness */
	uint64_t	 pubid;
	uint64_t	 seq;
	unsigned	 npub_out;
	/* the last pub's reply: "" for ack, else the err code */
	char		 last_code[32];
	int64_t		 last_latency_ms;
	unsigned char	*body;
	/* stats replies (the monitor) */
	double		 st_published, st_delivered, st_dropped, st_depth;
	double		 st_evicted, st_conns, st_output_closed;
	bool		 st_fresh;
};

static void
sc_tomb(struct sconn *sc, uint64_t sid)
{
	if (sc->ntombs == sc->tombcap) {
		sc->tombcap = sc->tombcap == 0 ? 64 : sc->tombcap * 2;
		sc->tombs = realloc(sc->tombs, sc->tombcap * sizeof(*sc->tombs));
		if (sc->tombs == NULL)
			abort();
	}
	sc->tombs[sc->ntombs++] = sid;
}

static bool
sc_is_tomb(struct sconn *sc, uint64_t sid, bool remove)
{
	size_t	i;

	for (i = 0; i < sc->ntombs; i++) {
		if (sc->tombs[i] == sid) {
			if (remove)
				sc->tombs[i] = sc->tombs[--sc->ntombs];
			return (true);
		}
	}
	return (false);
}

static struct ssub *
sc_find(struct sconn *sc, uint64_t sid)
{
	struct ssub	*s;

	for (s = sc->subs; s != NULL; s = s->next)
		if (s->sid == sid)
			return (s);
	return (NULL);
}

/* The sub leaves the connection: its trace goes to the verifier. */
static void
sub_finish(struct sconn *sc, struct ssub *s, enum sst st)
{
	struct ssub	**pp;

	for (pp = &sc->subs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	s->next = NULL;
	s->st = st;
	s->t_end = rel_ms();
	if (st == SS_CLOSED || st == SS_ENDED)
		sc_tomb(sc, s->sid);
	omap_free(&s->order);
	if (s->keep_trace)
		done_add(s);
	else {
		free(s->tr);
		free(s);
	}
}

static struct pend *
sc_push(struct sconn *sc, enum pop op, uint64_t sid)
{
	struct pend	*nq, *p;
	size_t		 i;

	if (sc->qn == sc->qcap) {
		nq = calloc(sc->qcap == 0 ? 64 : sc->qcap * 2, sizeof(*nq));
		if (nq == NULL)
			abort();
		for (i = 0; i < sc->qn; i++)
			nq[i] = sc->q[(sc->qh + i) % sc->qcap];
		free(sc->q);
		sc->q = nq;
		sc->qh = 0;
		sc->qcap = sc->qcap == 0 ? 64 : sc->qcap * 2;
	}
	p = &sc->q[(sc->qh + sc->qn) % sc->qcap];
	memset(p, 0, sizeof(*p));
	p->id = sc->next_id++;
	p->sid = sid;
	p->op = (uint8_t)op;
	p->t_ms = mono_ms();
	sc->qn++;
	return (p);
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	wire_pack_cstr(pk, s);
}

static void
pk_kstr(msgpack_packer *pk, const char *k, const char *v)
{
	wire_pack_cstr(pk, k);
	wire_pack_cstr(pk, v);
}

static void
pk_ku64(msgpack_packer *pk, const char *k, uint64_t v)
{
	wire_pack_cstr(pk, k);
	msgpack_pack_uint64(pk, v);
}

static void
pk_kinds(msgpack_packer *pk, unsigned mask)
{
	int	i, n = 0;

	for (i = 0; i < NKIND; i++)
		n += (mask >> i) & 1;
	pk_str(pk, "kinds");
	msgpack_pack_array(pk, (size_t)n);
	for (i = 0; i < NKIND; i++)
		if ((mask >> i) & 1)
			pk_str(pk, kind_names[i]);
}

/* Ends the frame begun; a failure is fatal to the soak (our bug). */
static void
sc_end(struct sconn *sc)
{
	if (client_end(sc->c) == -1) {
		fprintf(stderr, "soak: %s: client_end: %s\n", sc->who,
		    strerror(errno));
		abort();
	}
}

static bool
sc_flush(struct sconn *sc)
{
	if (sc->dead)
		return (false);
	if (client_flush(sc->c) == -1) {
		sc->dead = true;
		viol(V_CONN, "%s: send: %s", sc->who, strerror(errno));
		return (false);
	}
	return (true);
}

static const char *const sessions[] = { "s-1", "s-2", "s-3" };
static const char *const models[] = { "m-a", "m-b" };

static bool
sc_open(struct sconn *sc, const char *who, struct rng *r, int home)
{
	struct client_hello	 h;
	const char		*code;

	memset(sc, 0, sizeof(*sc));
	snprintf(sc->who, sizeof(sc->who), "%s", who);
	sc->rng = r;
	sc->home = home;
	sc->next_id = 1;
	sc->next_sid = 1;
	if ((sc->c = client_connect(g_sock)) == NULL) {
		viol(V_CONN, "%s: connect: %s", who, strerror(errno));
		return (false);
	}
	atomic_fetch_add(&g_live_conns, 1);
	CTR(C_CONNS);
	memset(&h, 0, sizeof(h));
	h.agent = who;
	h.session = sessions[rnd_below(r, 3)];
	h.model = models[rnd_below(r, 2)];
	h.tract = home >= 0 ? tract_names[home] : NULL;
	if (client_hello(sc->c, &h, 10000, &code) == -1) {
		viol(V_CONN, "%s: hello: %s", who,
		    code != NULL ? code : strerror(errno));
		client_close(sc->c);
		sc->c = NULL;
		atomic_fetch_sub(&g_live_conns, 1);
		return (false);
	}
	sc->pubid = atomic_fetch_add(&g_pubid, 1) + 1;
	return (true);
}

/*
 * Requests. Each carries an id and is queued (client_end); the caller
 * flushes.
 */
static void
sc_pub(struct sconn *sc, int to, int from, int kind, size_t pad,
    bool with_hdr)
{
	msgpack_packer	*pk;
	struct pend	*p;
	unsigned char	*b;
	size_t		 n, len = BODY_HDR + pad, i;
	uint64_t	 seq = ++sc->seq;
	int		 eff_from;

	if (sc->body == NULL && (sc->body = malloc(BODY_HDR +
	    FLOOD_BODY + 8192)) == NULL)
		abort();
	b = sc->body;
	memcpy(b, BODY_MAGIC, 4);
	for (i = 0; i < 8; i++) {
		b[4 + i] = (unsigned char)(sc->pubid >> (56 - 8 * i));
		b[12 + i] = (unsigned char)(seq >> (56 - 8 * i));
	}
	memset(b + BODY_HDR, (int)('a' + seq % 26), pad);

	eff_from = from >= 0 ? from : sc->home >= 0 ? sc->home : to;
	p = sc_push(sc, P_PUB, 0);
	p->to = (uint8_t)to;
	p->from = (uint8_t)eff_from;
	p->kind = (uint8_t)kind;
	n = 6 + (from >= 0) + with_hdr;
	pk = client_begin(sc->c);
	msgpack_pack_map(pk, n);
	pk_kstr(pk, "op", "pub");
	pk_ku64(pk, "id", p->id);
	pk_kstr(pk, "to", tract_names[to]);
	if (from >= 0)
		pk_kstr(pk, "from", tract_names[from]);
	pk_kstr(pk, "kind", kind_names[kind]);
	pk_str(pk, "pri");
	msgpack_pack_double(pk, (double)rnd_below(sc->rng, 101) / 100.0);
	pk_str(pk, "body");
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, b, len);
	if (with_hdr) {
		pk_str(pk, "hdr");
		msgpack_pack_map(pk, 2);
		pk_kstr(pk, "idempotency_key", "soak");
		pk_kstr(pk, "traceparent",
		    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	}
	sc_end(sc);
	sc->npub_out++;
	CTR(C_PUB_SENT);
}

static struct ssub *
sub_new(enum skind kind, int tract, unsigned kmask, bool drop)
{
	struct ssub	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->kind = kind;
	s->tract = tract;
	s->kmask = kmask;
	s->drop = drop;
	s->keep_trace = kind != SK_SYS;
	s->st = SS_SUBSCRIBING;
	s->t_start = rel_ms();
	return (s);
}

/* A sid: fresh, or now and then one freed by an unsub ack or an end. */
static uint64_t
sc_sid(struct sconn *sc)
{
	uint64_t	sid;

	if (sc->ntombs > 0 && chance(sc->rng, 10)) {
		sid = sc->tombs[rnd_below(sc->rng, sc->ntombs)];
		sc_is_tomb(sc, sid, true);
		CTR(C_SID_REUSE);
		return (sid);
	}
	return (sc->next_sid++);
}

/*
 * sub: max_pending 0 is not sent; from_eid (SK_FROM_EID) is s->r_from.
 */
static void
sc_sub(struct sconn *sc, struct ssub *s, uint64_t credit,
    uint64_t max_pending)
{
	msgpack_packer	*pk;
	struct pend	*p;
	char		 eb[48];
	size_t		 n;

	s->sid = sc_sid(sc);
	s->granted = credit;
	s->next = sc->subs;
	sc->subs = s;
	p = sc_push(sc, P_SUB, s->sid);
	s->req_id = p->id;
	n = 6 + (max_pending != 0) + (s->kmask != 0) +
	    (s->kind == SK_FROM_EID);
	pk = client_begin(sc->c);
	msgpack_pack_map(pk, n);
	pk_kstr(pk, "op", "sub");
	pk_ku64(pk, "id", p->id);
	pk_ku64(pk, "sid", s->sid);
	pk_kstr(pk, "tract", tract_names[s->tract]);
	pk_ku64(pk, "credit", credit);
	pk_kstr(pk, "overflow", s->drop ? "drop" : "block");
	if (max_pending != 0)
		pk_ku64(pk, "max_pending", max_pending);
	if (s->kmask != 0)
		pk_kinds(pk, s->kmask);
	if (s->kind == SK_FROM_EID)
		pk_kstr(pk, "from_eid", eid_str(s->r_from, eb, sizeof(eb)));
	sc_end(sc);
	CTR(C_SUBS);
}

/*
 * replay: from/to as given (r_from 0: not sent; !r_has_to: not sent);
 * ms_only_from/to send the eid without -SEQ.
 */
static void
sc_replay(struct sconn *sc, struct ssub *s, uint64_t credit,
    bool send_from, bool ms_from, bool ms_to)
{
	msgpack_packer	*pk;
	struct pend	*p;
	char		 eb[48];
	size_t		 n;

	s->sid = sc_sid(sc);
	s->granted = credit;
	s->next = sc->subs;
	sc->subs = s;
	p = sc_push(sc, P_REPLAY, s->sid);
	s->req_id = p->id;
	p->is_replay = true;
	n = 4 + send_from + s->r_has_to + (s->tract >= 0) + (s->kmask != 0) +
	    (s->r_limit != 0);
	pk = client_begin(sc->c);
	msgpack_pack_map(pk, n);
	pk_kstr(pk, "op", "replay");
	pk_ku64(pk, "id", p->id);
	pk_ku64(pk, "sid", s->sid);
	pk_ku64(pk, "credit", credit);
	if (send_from) {
		if (ms_from)
			snprintf(eb, sizeof(eb), "%" PRIu64,
			    s->r_from >> EID_SEQ_BITS);
		else
			eid_str(s->r_from, eb, sizeof(eb));
		pk_kstr(pk, "from", eb);
	}
	if (s->r_has_to) {
		if (ms_to)
			snprintf(eb, sizeof(eb), "%" PRIu64,
			    s->r_to >> EID_SEQ_BITS);
		else
			eid_str(s->r_to, eb, sizeof(eb));
		pk_kstr(pk, "to", eb);
	}
	if (s->tract >= 0)
		pk_kstr(pk, "tract", tract_names[s->tract]);
	if (s->kmask != 0)
		pk_kinds(pk, s->kmask);
	if (s->r_limit != 0)
		pk_ku64(pk, "limit", s->r_limit);
	sc_end(sc);
	CTR(C_REPLAYS);
}

static void
sc_req(struct sconn *sc, struct ssub *s, uint64_t n)
{
	msgpack_packer	*pk;
	struct pend	*p;

	p = sc_push(sc, P_REQ, s->sid);
	p->is_replay = s->kind == SK_REPLAY;
	pk = client_begin(sc->c);
	msgpack_pack_map(pk, 4);
	pk_kstr(pk, "op", "req");
	pk_ku64(pk, "id", p->id);
	pk_ku64(pk, "sid", s->sid);
	pk_ku64(pk, "n", n);
	sc_end(sc);
	s->granted += n;
}

static void
sc_unsub(struct sconn *sc, struct ssub *s)
{
	msgpack_packer	*pk;
	struct pend	*p;

	p = sc_push(sc, P_UNSUB, s->sid);
	p->is_replay = s->kind == SK_REPLAY;
	pk = client_begin(sc->c);
	msgpack_pack_map(pk, 3);
	pk_kstr(pk, "op", "unsub");
	pk_ku64(pk, "id", p->id);
	pk_ku64(pk, "sid", s->sid);
	sc_end(sc);
	s->st = SS_UNSUBBING;
	if (s->kind == SK_REPLAY) {
		s->cancelled = true;
		CTR(C_REPLAYS_CANCELLED);
	} else
		CTR(C_UNSUBS);
}

static void
sc_simple(struct sconn *sc, enum pop op)
{
	msgpack_packer	*pk;
	struct pend	*p;

	p = sc_push(sc, op, 0);
	pk = client_begin(sc->c);
	msgpack_pack_map(pk, 2);
	pk_kstr(pk, "op", pop_names[op]);
	pk_ku64(pk, "id", p->id);
	sc_end(sc);
}

/*
 * Frames from the router.
 */
static bool
f_str(const msgpack_object *f, const char *key, const char **p, size_t *len)
{
	struct wire_str	s;

	if (!client_get_str(f, key, &s))
		return (false);
	*p = s.ptr;
	*len = s.len;
	return (true);
}

static bool
f_streq(const msgpack_object *f, const char *key, const char *want)
{
	const char	*p;
	size_t		 len;

	return (f_str(f, key, &p, &len) && len == strlen(want) &&
	    memcmp(p, want, len) == 0);
}

/* A numeric figure of a stats reply: a number, or the sum of a map's. */
static double
stat_get(const msgpack_object *f, const char *key)
{
	const msgpack_object	*v = wire_map_get(f, key);
	double			 sum = 0;
	uint32_t		 i;

	if (v == NULL)
		return (-1);
	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return ((double)v->via.u64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return (v->via.f64);
	case MSGPACK_OBJECT_MAP:
		for (i = 0; i < v->via.map.size; i++) {
			const msgpack_object *x = &v->via.map.ptr[i].val;
			if (x->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				sum += (double)x->via.u64;
			else if (x->type == MSGPACK_OBJECT_FLOAT64 ||
			    x->type == MSGPACK_OBJECT_FLOAT32)
				sum += x->via.f64;
		}
		return (sum);
	default:
		return (-1);
	}
}

static void	sys_on_msg(struct sconn *, const msgpack_object *);

static void
on_reply(struct sconn *sc, const msgpack_object *f, enum wire_op op)
{
	struct pend	 p;
	struct ssub	*s;
	const char	*code = "", *ep;
	size_t		 codelen = 0, eplen, i;
	uint64_t	 id, eid;
	bool		 is_err = op == WIRE_OP_ERR, ok;
	char		 cbuf[32];

	if (!client_get_u64(f, "id", &id)) {
		f_str(f, "code", &code, &codelen);
		viol(is_err ? V_UNEXPECTED_ERR : V_PROTO,
		    "%s: %s without id (code %.*s)", sc->who,
		    wire_op_name(op), (int)codelen, code);
		return;
	}
	if (sc->qn == 0) {
		viol(V_REPLY_UNEXPECTED, "%s: %s id %" PRIu64
		    " with no request outstanding", sc->who, wire_op_name(op),
		    id);
		return;
	}
	if (sc->q[sc->qh].id != id) {
		for (i = 1; i < sc->qn; i++)
			if (sc->q[(sc->qh + i) % sc->qcap].id == id)
				break;
		if (i == sc->qn) {
			viol(V_REPLY_UNEXPECTED, "%s: %s id %" PRIu64
			    " answers no outstanding request (head %" PRIu64
			    ")", sc->who, wire_op_name(op), id,
			    sc->q[sc->qh].id);
			return;
		}
		viol(V_REPLY_ORDER, "%s: %s id %" PRIu64 " while %" PRIu64
		    " (%s) is still unanswered", sc->who, wire_op_name(op),
		    id, sc->q[sc->qh].id, pop_names[sc->q[sc->qh].op]);
		sc->qh = (sc->qh + i) % sc->qcap;
		sc->qn -= i;
	}
	p = sc->q[sc->qh];
	sc->qh = (sc->qh + 1) % sc->qcap;
	sc->qn--;

	/* The reply's kind must be the request's. */
	switch (p.op) {
	case P_PING:
		ok = op == WIRE_OP_PONG;
		break;
	case P_STATS:
		ok = op == WIRE_OP_STATS;
		break;
	case P_CONNS:
		ok = op == WIRE_OP_CONNS;
		break;
	default:
		ok = op == WIRE_OP_ACK || op == WIRE_OP_ERR;
		break;
	}
	if (!ok && op != WIRE_OP_ERR)
		viol(V_PROTO, "%s: %s answers %s id %" PRIu64, sc->who,
		    wire_op_name(op), pop_names[p.op], id);
	if (is_err) {
		f_str(f, "code", &code, &codelen);
		snprintf(cbuf, sizeof(cbuf), "%.*s", (int)codelen, code);
	}
	/* The sid's current holder, unless it came after this request. */
	s = p.sid != 0 ? sc_find(sc, p.sid) : NULL;
	if (s != NULL && s->req_id > p.id)
		s = NULL;

	switch (p.op) {
	case P_PUB:
		sc->npub_out--;
		sc->last_latency_ms = mono_ms() - p.t_ms;
		if (is_err) {
			snprintf(sc->last_code, sizeof(sc->last_code), "%s",
			    cbuf);
			if (strcmp(cbuf, "backpressure") == 0)
				CTR(C_PUB_BP);
			else if (strcmp(cbuf, "circuit_open") == 0)
				CTR(C_PUB_CO);
			else
				viol(V_UNEXPECTED_ERR, "%s: pub into %s: err "
				    "%s", sc->who, tract_names[p.to], cbuf);
			break;
		}
		sc->last_code[0] = '\0';
		if (!f_str(f, "eid", &ep, &eplen) ||
		    !eid_parse(ep, eplen, &eid)) {
			viol(V_PROTO, "%s: pub ack without a valid eid",
			    sc->who);
			break;
		}
		if (!f_streq(f, "stored", p.to != p.from ? "memory" : "none"))
			viol(V_PROTO, "%s: pub %s -> %s: stored is not %s",
			    sc->who, tract_names[p.from], tract_names[p.to],
			    p.to != p.from ? "memory" : "none");
		record_add(eid, p.to, p.from, p.kind);
		CTR(C_PUB_ACKED);
		CTR(p.to != p.from ? C_PUB_CROSS : C_PUB_SAME);
		break;
	case P_SUB:
	case P_REPLAY:
		if (is_err) {
			viol(V_UNEXPECTED_ERR, "%s: %s sid %" PRIu64 ": err %s",
			    sc->who, pop_names[p.op], p.sid, cbuf);
			if (s != NULL && s->req_id == p.id)
				sub_finish(sc, s, SS_GONE);
			break;
		}
		if (s != NULL && s->req_id == p.id &&
		    s->st == SS_SUBSCRIBING)
			s->st = SS_ACTIVE;
		break;
	case P_REQ:
		if (is_err && !(p.is_replay &&
		    strcmp(cbuf, "unknown_sid") == 0))
			viol(V_UNEXPECTED_ERR, "%s: req sid %" PRIu64
			    ": err %s", sc->who, p.sid, cbuf);
		break;
	case P_UNSUB:
		if (is_err) {
			/* A replay may have ended before the unsub came. */
			if (!(p.is_replay && strcmp(cbuf, "unknown_sid") == 0
			    && (s == NULL || s->st == SS_ENDED)))
				viol(V_UNEXPECTED_ERR, "%s: unsub sid %" PRIu64
				    ": err %s", sc->who, p.sid, cbuf);
			break;
		}
		if (s == NULL) {
			viol(V_PROTO, "%s: unsub sid %" PRIu64 " acked after "
			    "the sid ended", sc->who, p.sid);
			break;
		}
		sub_finish(sc, s, SS_CLOSED);
		break;
	case P_STATS:
		if (is_err)
			viol(V_UNEXPECTED_ERR, "%s: stats: err %s", sc->who,
			    cbuf);
		else {
			sc->st_published = stat_get(f,
			    "callosum_messages_published_total");
			sc->st_delivered = stat_get(f,
			    "callosum_messages_delivered_total");
			sc->st_dropped = stat_get(f,
			    "callosum_messages_dropped_total");
			sc->st_depth = stat_get(f, "callosum_eventlog_depth");
			sc->st_evicted = stat_get(f,
			    "callosum_eventlog_dropped_total");
			sc->st_conns = stat_get(f, "callosum_connections");
			sc->st_output_closed = stat_get(f,
			    "callosum_connections_closed_output_total");
			sc->st_fresh = true;
			CTR(C_STATS);
		}
		break;
	default:
		if (is_err)
			viol(V_UNEXPECTED_ERR, "%s: %s: err %s", sc->who,
			    pop_names[p.op], cbuf);
		break;
	}
}

/* The publisher id and sequence in a body; false if it is not ours. */
static bool
body_ids(const msgpack_object *f, uint64_t *pubid, uint64_t *seq)
{
	const msgpack_object	*b = wire_map_get(f, "body");
	const unsigned char	*p;
	int			 i;

	if (b == NULL || b->type != MSGPACK_OBJECT_BIN ||
	    b->via.bin.size < BODY_HDR)
		return (false);
	p = (const unsigned char *)b->via.bin.ptr;
	if (memcmp(p, BODY_MAGIC, 4) != 0)
		return (false);
	*pubid = *seq = 0;
	for (i = 0; i < 8; i++) {
		*pubid = (*pubid << 8) | p[4 + i];
		*seq = (*seq << 8) | p[12 + i];
	}
	return (true);
}

static void
on_msg(struct sconn *sc, struct ssub *s, const msgpack_object *f)
{
	const char	*p;
	size_t		 len;
	uint64_t	 eid, pubid, seq, *last;
	int		 to, from, kind;
	char		 b1[48], b2[48];

	if (s->st == SS_SUBSCRIBING)
		viol(V_BEFORE_ACK, "%s: msg on sid %" PRIu64 " before its "
		    "%s ack", sc->who, s->sid,
		    s->kind == SK_REPLAY ? "replay" : "sub");
	if (++s->received > s->granted)
		viol(V_CREDIT, "%s: msg %" PRIu64 " on sid %" PRIu64
		    " with %" PRIu64 " granted", sc->who, s->received,
		    s->sid, s->granted);
	if (!f_str(f, "eid", &p, &len) || !eid_parse(p, len, &eid)) {
		viol(V_PROTO, "%s: msg without a valid eid", sc->who);
		return;
	}
	if (eid <= s->last_eid)
		viol(V_EID_ORDER, "%s: sid %" PRIu64 ": eid %s after %s",
		    sc->who, s->sid, eid_str(eid, b1, sizeof(b1)),
		    eid_str(s->last_eid, b2, sizeof(b2)));
	s->last_eid = eid;
	if (s->kind == SK_REPLAY && (eid < s->r_from ||
	    (s->r_has_to && eid > s->r_to)))
		viol(V_REPLAY, "%s: replay sid %" PRIu64 ": eid %s outside "
		    "its range", sc->who, s->sid, eid_str(eid, b1, sizeof(b1)));
	if (s->kind == SK_REPLAY && s->r_limit != 0 &&
	    s->received > s->r_limit)
		viol(V_REPLAY, "%s: replay sid %" PRIu64 ": more than its "
		    "limit %" PRIu64, sc->who, s->sid, s->r_limit);

	to = f_str(f, "to", &p, &len) ? tract_lookup(p, len) : -1;
	from = f_str(f, "from", &p, &len) ? tract_lookup(p, len) : -1;
	kind = f_str(f, "kind", &p, &len) ? kind_lookup(p, len) : -1;
	if (s->kind == SK_SYS) {
		trace_push(s, eid, 0, 0);
		sys_on_msg(sc, f);
		return;
	}
	if (s->kind == SK_REPLAY ? (s->tract >= 0 && to != s->tract &&
	    from != s->tract) : to != s->tract)
		viol(V_FILTER, "%s: sid %" PRIu64 " (tract %s) got a msg "
		    "%s -> %s", sc->who, s->sid,
		    s->tract >= 0 ? tract_names[s->tract] : "any",
		    from >= 0 ? tract_names[from] : "?",
		    to >= 0 ? tract_names[to] : "?");
	if (!kmatch(s->kmask, kind))
		viol(V_FILTER, "%s: sid %" PRIu64 " (kinds %#x) got kind %d",
		    sc->who, s->sid, s->kmask, kind);
	if (!body_ids(f, &pubid, &seq))
		viol(V_PROTO, "%s: sid %" PRIu64 ": a body that is not ours",
		    sc->who, s->sid);
	else {
		last = omap_slot(&s->order, pubid);
		if (seq <= *last)
			viol(V_ORDER, "%s: sid %" PRIu64 ": publisher %" PRIu64
			    " seq %" PRIu64 " after %" PRIu64, sc->who,
			    s->sid, pubid, seq, *last);
		*last = seq;
	}
	trace_push(s, eid, 0, 0);
	CTR(s->kind == SK_REPLAY ? C_REPLAYED : C_MSGS);
}

static void
on_lag(struct sconn *sc, struct ssub *s, const msgpack_object *f)
{
	const char	*p;
	size_t		 len;
	uint64_t	 first, last, n;
	char		 b1[48], b2[48];

	if (s->st == SS_SUBSCRIBING)
		viol(V_BEFORE_ACK, "%s: lag on sid %" PRIu64 " before its ack",
		    sc->who, s->sid);
	if (!client_get_u64(f, "dropped", &n) ||
	    !f_str(f, "first", &p, &len) || !eid_parse(p, len, &first) ||
	    !f_str(f, "last", &p, &len) || !eid_parse(p, len, &last)) {
		viol(V_PROTO, "%s: a malformed lag", sc->who);
		return;
	}
	if (!s->drop || s->kind != SK_LIVE)
		viol(V_LAG, "%s: lag on sid %" PRIu64 " which does not drop",
		    sc->who, s->sid);
	if (n == 0 || first > last || first <= s->last_eid)
		viol(V_LAG, "%s: sid %" PRIu64 ": lag %" PRIu64 " [%s..%s] "
		    "out of order or empty", sc->who, s->sid, n,
		    eid_str(first, b1, sizeof(b1)), eid_str(last, b2,
		    sizeof(b2)));
	s->last_eid = last;
	trace_push(s, first, last, (uint32_t)n);
	CTR(C_LAGS);
	CTRN(C_DROPPED, n);
}

/* One frame: 1; timeout: 0; closed or broken: -1 (sc->dead). */
static int
sc_recv(struct sconn *sc, int timeout_ms)
{
	msgpack_object	 f;
	struct ssub	*s;
	enum wire_op	 op;
	uint64_t	 sid;
	const char	*p;
	size_t		 len;
	int		 r;

	if (sc->dead)
		return (-1);
	r = client_recv(sc->c, timeout_ms, &f);
	if (r == -1 && errno == ETIMEDOUT)
		return (0);
	if (r != 1) {
		sc->dead = true;
		if (sc->expect_close)
			return (-1);
		if (sc->bye && strcmp(sc->bye_reason, "output_limit") == 0) {
			if (sc->flood_victim)
				CTR(C_OUTPUT_LIMIT_BYE);
			else
				CTR(C_OUTPUT_LIMIT_OTHER);
		} else
			viol(V_CONN, "%s: connection %s%s%s", sc->who,
			    r == 0 ? "closed" : strerror(errno),
			    sc->bye ? " after bye " : " without bye",
			    sc->bye ? sc->bye_reason : "");
		return (-1);
	}
	op = client_frame_op(&f);
	switch (op) {
	case WIRE_OP_MSG:
	case WIRE_OP_LAG:
	case WIRE_OP_END:
		if (!client_get_u64(&f, "sid", &sid)) {
			viol(V_PROTO, "%s: %s without sid", sc->who,
			    wire_op_name(op));
			break;
		}
		if ((s = sc_find(sc, sid)) == NULL) {
			if (sc_is_tomb(sc, sid, false))
				viol(V_AFTER_UNSUB, "%s: %s on sid %" PRIu64
				    " after its unsub ack or end", sc->who,
				    wire_op_name(op), sid);
			else
				viol(V_PROTO, "%s: %s on unknown sid %" PRIu64,
				    sc->who, wire_op_name(op), sid);
			break;
		}
		if (op == WIRE_OP_MSG)
			on_msg(sc, s, &f);
		else if (op == WIRE_OP_LAG)
			on_lag(sc, s, &f);
		else if (s->kind != SK_REPLAY)
			viol(V_PROTO, "%s: end on live sid %" PRIu64, sc->who,
			    sid);
		else {
			if (s->st == SS_SUBSCRIBING)
				viol(V_BEFORE_ACK, "%s: end on sid %" PRIu64
				    " before the replay's ack", sc->who, sid);
			if (!s->cancelled)
				CTR(C_REPLAYS_DONE);
			sub_finish(sc, s, SS_ENDED);
		}
		break;
	case WIRE_OP_ACK:
	case WIRE_OP_ERR:
	case WIRE_OP_PONG:
	case WIRE_OP_STATS:
	case WIRE_OP_CONNS:
		on_reply(sc, &f, op);
		break;
	case WIRE_OP_BYE:
		sc->bye = true;
		if (f_str(&f, "reason", &p, &len))
			snprintf(sc->bye_reason, sizeof(sc->bye_reason),
			    "%.*s", (int)len, p);
		break;
	default:
		viol(V_PROTO, "%s: unexpected %s", sc->who, wire_op_name(op));
		break;
	}
	return (1);
}

/* Reads what has arrived: first waits up to timeout_ms, then drains. */
static void
sc_pump(struct sconn *sc, int timeout_ms)
{
	int	i;

	if (sc_recv(sc, timeout_ms) != 1)
		return;
	for (i = 0; i < 1024; i++)
		if (sc_recv(sc, 0) != 1)
			return;
}

/* Waits until every request is answered; false on timeout or close. */
static bool
sc_settle(struct sconn *sc, int timeout_ms)
{
	int64_t	deadline = mono_ms() + timeout_ms;

	if (!sc_flush(sc))
		return (false);
	while (sc->qn > 0 && !sc->dead) {
		if (mono_ms() >= deadline) {
			viol(V_REPLY_MISSING, "%s: %zu requests unanswered "
			    "after %d ms (head %s id %" PRIu64 ")", sc->who,
			    sc->qn, timeout_ms, pop_names[sc->q[sc->qh].op],
			    sc->q[sc->qh].id);
			return (false);
		}
		sc_recv(sc, 100);
	}
	return (!sc->dead);
}

/*
 * Closes: gracefully, a ping and every reply first; else at once (with
 * unread output). Subs left go to the verifier as they are.
 */
static void
sc_close(struct sconn *sc, bool graceful)
{
	if (sc->c == NULL)
		return;
	if (graceful && !sc->dead) {
		sc_simple(sc, P_PING);
		sc_settle(sc, REPLY_WAIT_MS);
	}
	while (sc->subs != NULL)
		sub_finish(sc, sc->subs, SS_GONE);
	client_close(sc->c);
	sc->c = NULL;
	atomic_fetch_sub(&g_live_conns, 1);
	free(sc->q);
	free(sc->tombs);
	free(sc->body);
	sc->q = NULL;
	sc->tombs = NULL;
	sc->body = NULL;
}

/*
 * Demand: each sub keeps about `target` granted; paused ones grant none.
 */
static void
sc_grant(struct sconn *sc)
{
	struct ssub	*s;
	uint64_t	 out;

	for (s = sc->subs; s != NULL; s = s->next) {
		if (s->paused || (s->st != SS_ACTIVE &&
		    s->st != SS_SUBSCRIBING) || s->target == 0)
			continue;
		out = s->granted - s->received;
		if (out * 2 < s->target || out == 0)
			sc_req(sc, s, s->target - out);
	}
}

static int
sc_nsubs(struct sconn *sc, enum skind kind, bool active_only)
{
	struct ssub	*s;
	int		 n = 0;

	for (s = sc->subs; s != NULL; s = s->next)
		if (s->kind == kind && (!active_only ||
		    s->st == SS_SUBSCRIBING || s->st == SS_ACTIVE))
			n++;
	return (n);
}

static struct ssub *
sc_pick_active(struct sconn *sc, enum skind kind)
{
	struct ssub	*s;
	int		 n = sc_nsubs(sc, kind, true), k;

	if (n == 0)
		return (NULL);
	k = (int)rnd_below(sc->rng, (uint64_t)n);
	for (s = sc->subs; s != NULL; s = s->next)
		if (s->kind == kind && (s->st == SS_SUBSCRIBING ||
		    s->st == SS_ACTIVE) && k-- == 0)
			return (s);
	return (NULL);
}

/*
 * The publishers.
 */
struct targ {
	int		 idx;
	pthread_t	 th;
	atomic_bool	 done;
};

static void
pub_one(struct sconn *sc, struct rng *r)
{
	int	to = (int)rnd_below(r, NGEN), from, kind;
	size_t	pad;
	unsigned k = (unsigned)rnd_below(r, 100);

	if (k < 30)
		from = to;			/* same-tract */
	else if (k < 80)
		from = (to + 1 + (int)rnd_below(r, NGEN - 1)) % NGEN;
	else
		from = -1;			/* hello's tract, else to */
	kind = (int)rnd_below(r, NKIND);
	pad = chance(r, 3) ? rnd_range(r, 1000, 8000) : rnd_below(r, 400);
	sc_pub(sc, to, from, kind, pad, chance(r, 10));
}

static void *
pub_thread(void *arg)
{
	struct targ	*ta = arg;
	struct rng	 r;
	struct sconn	 sc;
	int64_t		 life_end, last, now;
	double		 tokens, rate = g_rate / NPUB;
	unsigned	 window;
	int		 home;

	rng_seed(&r, 100 + (uint64_t)ta->idx);
	while (!stopping()) {
		home = chance(&r, 50) ? (int)rnd_below(&r, NGEN) : -1;
		if (!sc_open(&sc, "pub", &r, home)) {
			sleep_ms(200);
			continue;
		}
		life_end = mono_ms() + (int64_t)rnd_range(&r, 2000, 15000);
		window = (unsigned)rnd_range(&r, 1, 64);
		tokens = 0;
		last = mono_ms();
		while (!stopping() && !sc.dead && (now = mono_ms()) < life_end) {
			tokens += (double)(now - last) * rate / 1000.0;
			last = now;
			if (tokens > window)
				tokens = window;
			while (tokens >= 1 && sc.npub_out < window) {
				pub_one(&sc, &r);
				tokens -= 1;
			}
			if (!sc_flush(&sc))
				break;
			sc_pump(&sc, 5);
		}
		sc_close(&sc, true);
	}
	atomic_store(&ta->done, true);
	return (NULL);
}

/*
 * The subscribers.
 */
static const uint64_t drop_pendings[] = { 1, 2, 4, 16, 64 };
static const uint64_t block_pendings[] = { 0, 0, 16, 64, 256 };

static void
sub_add(struct sconn *sc, struct rng *r)
{
	struct ssub	*s;
	int		 tract = (int)rnd_below(r, NGEN);
	unsigned	 kmask = chance(r, 50) ? 0 :
			    (unsigned)rnd_range(r, 1, (1u << NKIND) - 1);
	bool		 drop = chance(r, 50);
	uint64_t	 credit, from;

	if (!drop && chance(r, 10) && recent_pick(r, 2000, &from)) {
		s = sub_new(SK_FROM_EID, tract, kmask, false);
		s->r_from = from;
		s->target = 1000;
		sc_sub(sc, s, 1000, 0);
		CTR(C_FROM_EID_SUBS);
		CTR(C_BLOCK_SUBS);
		return;
	}
	s = sub_new(SK_LIVE, tract, kmask, drop);
	credit = chance(r, 30) ? 0 : rnd_range(r, 1, 64);
	if (drop) {
		s->target = (unsigned)rnd_range(r, 1, 16);
		sc_sub(sc, s, credit, drop_pendings[rnd_below(r, 5)]);
		CTR(C_DROP_SUBS);
	} else {
		s->target = (unsigned)rnd_range(r, 8, 256);
		sc_sub(sc, s, credit, block_pendings[rnd_below(r, 5)]);
		CTR(C_BLOCK_SUBS);
	}
}

/*
 * Drop subs stop granting now and then (the connection keeps reading):
 * their queues overflow, which is what lag is for.
 */
static void
sub_holds(struct sconn *sc, struct rng *r)
{
	struct ssub	*s;
	int64_t		 now = mono_ms();

	for (s = sc->subs; s != NULL; s = s->next) {
		if (!s->drop)
			continue;
		if (s->next_hold == 0)
			s->next_hold = now + (int64_t)rnd_range(r, 100, 2000);
		if (s->hold_until != 0 && now >= s->hold_until) {
			s->hold_until = 0;
			s->paused = false;
			s->next_hold = now + (int64_t)rnd_range(r, 200, 3000);
		} else if (s->hold_until == 0 && now >= s->next_hold) {
			s->hold_until = now + (int64_t)rnd_range(r, 50, 1500);
			s->paused = true;
		}
	}
}

static void
sub_pause(struct sconn *sc, bool on)
{
	struct ssub	*s;

	for (s = sc->subs; s != NULL; s = s->next)
		s->paused = on;
}

static void *
sub_thread(void *arg)
{
	struct targ	*ta = arg;
	struct rng	 r;
	struct sconn	 sc;
	struct ssub	*s;
	int64_t		 life_end, next_change, next_pause, pause_end;
	int		 i, n;
	bool		 blocks;

	rng_seed(&r, 200 + (uint64_t)ta->idx);
	while (!stopping()) {
		if (!sc_open(&sc, "sub", &r, -1)) {
			sleep_ms(200);
			continue;
		}
		life_end = mono_ms() + (int64_t)rnd_range(&r, 3000, 20000);
		n = (int)rnd_range(&r, 1, 3);
		for (i = 0; i < n; i++)
			sub_add(&sc, &r);
		next_change = mono_ms() + (int64_t)rnd_range(&r, 300, 3000);
		next_pause = mono_ms() + (int64_t)rnd_range(&r, 500, 4000);
		pause_end = 0;
		while (!stopping() && !sc.dead && mono_ms() < life_end) {
			if (mono_ms() >= next_change) {
				n = sc_nsubs(&sc, SK_LIVE, true) +
				    sc_nsubs(&sc, SK_FROM_EID, true);
				if (n < SUBS_PER_CONN && (n == 0 ||
				    chance(&r, 50)))
					sub_add(&sc, &r);
				else if ((s = sc_pick_active(&sc, chance(&r, 80) ?
				    SK_LIVE : SK_FROM_EID)) != NULL)
					sc_unsub(&sc, s);
				next_change = mono_ms() +
				    (int64_t)rnd_range(&r, 300, 3000);
			}
			if (pause_end == 0 && mono_ms() >= next_pause) {
				/* Block subs stall publishers: short pauses. */
				blocks = false;
				for (s = sc.subs; s != NULL; s = s->next)
					if (!s->drop)
						blocks = true;
				if (!blocks)
					pause_end = mono_ms() +
					    (int64_t)rnd_range(&r, 50, 800);
				else if (chance(&r, 10))
					pause_end = mono_ms() +
					    (int64_t)rnd_range(&r, 60, 250);
				else
					pause_end = mono_ms() +
					    (int64_t)rnd_range(&r, 5, 40);
				sub_pause(&sc, true);
				CTR(C_PAUSES);
			}
			if (pause_end != 0) {
				if (mono_ms() < pause_end) {
					sc_flush(&sc);
					sleep_ms(10);
					continue;
				}
				pause_end = 0;
				sub_pause(&sc, false);
				for (s = sc.subs; s != NULL; s = s->next)
					s->hold_until = 0;
				next_pause = mono_ms() +
				    (int64_t)rnd_range(&r, 500, 4000);
			}
			sc_pump(&sc, 10);
			sub_holds(&sc, &r);
			sc_grant(&sc);
			sc_flush(&sc);
		}
		if (!sc.dead && chance(&r, 60)) {
			sub_pause(&sc, true);
			for (s = sc.subs; s != NULL; s = s->next)
				if (s->st == SS_ACTIVE ||
				    s->st == SS_SUBSCRIBING)
					sc_unsub(&sc, s);
			sc_close(&sc, true);
		} else
			sc_close(&sc, false);
	}
	atomic_store(&ta->done, true);
	return (NULL);
}

/*
 * The replayer.
 */
static void
replay_add(struct sconn *sc, struct rng *r)
{
	struct ssub	*s;
	uint64_t	 a, b;
	bool		 send_from = true, ms_from = false, ms_to = false;

	if (!recent_pick(r, rnd_range(r, 10, 4000), &a) ||
	    !recent_pick(r, rnd_range(r, 1, 4000), &b))
		return;
	s = sub_new(SK_REPLAY, chance(r, 60) ? (int)rnd_below(r, NGEN) : -1,
	    chance(r, 30) ? (unsigned)rnd_range(r, 1, (1u << NKIND) - 1) : 0,
	    false);
	if (a > b) {
		uint64_t t = a;
		a = b;
		b = t;
	}
	s->r_from = a;
	s->r_to = b;
	s->r_has_to = !chance(r, 20);
	s->r_limit = chance(r, 50) ? rnd_range(r, 1, 2000) : 0;
	if (chance(r, 5)) {
		/* From the start of the log: what it still holds. */
		send_from = false;
		s->r_from = 0;
		s->r_limit = rnd_range(r, 1, 500);
	} else if (chance(r, 10)) {
		ms_from = true;		/* MS means MS-0 */
		s->r_from = s->r_from >> EID_SEQ_BITS << EID_SEQ_BITS;
	}
	if (s->r_has_to && chance(r, 10)) {
		ms_to = true;		/* MS means the last of MS */
		s->r_to |= (1u << EID_SEQ_BITS) - 1;
	}
	if (!s->r_has_to)
		s->r_to = UINT64_MAX;
	s->target = (unsigned)rnd_range(r, 1, 500);
	sc_replay(sc, s, rnd_range(r, 0, 300), send_from, ms_from, ms_to);
}

static void *
replay_thread(void *arg)
{
	struct targ	*ta = arg;
	struct rng	 r;
	struct sconn	 sc;
	struct ssub	*s;
	int64_t		 life_end, next_start;
	int		 want;

	rng_seed(&r, 300 + (uint64_t)ta->idx);
	while (!stopping()) {
		if (!sc_open(&sc, "replay", &r, -1)) {
			sleep_ms(200);
			continue;
		}
		life_end = mono_ms() + (int64_t)rnd_range(&r, 5000, 30000);
		want = (int)rnd_range(&r, 1, REPLAYS_PER_CONN);
		next_start = 0;
		while (!stopping() && !sc.dead && mono_ms() < life_end) {
			/* A few replays a second: the live load stays first. */
			if (sc_nsubs(&sc, SK_REPLAY, false) < want &&
			    mono_ms() >= next_start) {
				replay_add(&sc, &r);
				next_start = mono_ms() +
				    (int64_t)rnd_range(&r, 50, 600);
			}
			if (chance(&r, 1) &&
			    (s = sc_pick_active(&sc, SK_REPLAY)) != NULL)
				sc_unsub(&sc, s);
			sc_pump(&sc, 10);
			sc_grant(&sc);
			sc_flush(&sc);
		}
		sc_close(&sc, chance(&r, 70));
	}
	atomic_store(&ta->done, true);
	return (NULL);
}

/*
 * The breaker driver: tract brk, one block subscriber of max_pending 4.
 */
static const char *
brk_pub(struct sconn *p)
{
	sc_pub(p, T_BRK, T_BRKSRC, 0, 16, false);
	if (!sc_flush(p))
		return ("dead");
	while (p->npub_out > 0 && !p->dead)
		sc_recv(p, 100);
	if (p->dead)
		return ("dead");
	return (p->last_code[0] == '\0' ? "ack" : p->last_code);
}

static bool
brk_expect(struct sconn *p, const char *want, const char *phase)
{
	const char	*got = brk_pub(p);

	if (strcmp(got, want) != 0) {
		viol(V_BREAKER, "%s: pub into brk got %s, expected %s", phase,
		    got, want);
		return (false);
	}
	return (true);
}

/* S reads until it has n msgs on its sub (or 5 s). */
static bool
brk_read(struct sconn *sc, struct ssub *s, uint64_t n)
{
	int64_t	deadline = mono_ms() + 5000;

	while (s->received < n && !sc->dead && mono_ms() < deadline)
		sc_recv(sc, 50);
	if (s->received < n) {
		viol(V_BREAKER, "brk subscriber has %" PRIu64 " msgs, "
		    "expected %" PRIu64, s->received, n);
		return (false);
	}
	return (true);
}

static void
brk_cycle(struct rng *r)
{
	struct sconn	 S, P;
	struct ssub	*s;
	const char	*got;
	int		 nack = 0, nbp = 0, nco = 0, i;

	if (!sc_open(&S, "brk-sub", r, -1))
		return;
	if (!sc_open(&P, "brk-pub", r, T_BRKSRC)) {
		sc_close(&S, false);
		return;
	}
	s = sub_new(SK_LIVE, T_BRK, 0, false);
	sc_sub(&S, s, 0, 4);
	if (!sc_settle(&S, 5000))
		goto out;

	/* Stuck: 4 fill the queue, then 3 backpressure failures open it. */
	for (i = 0; i < 40 && nco == 0; i++) {
		got = brk_pub(&P);
		if (strcmp(got, "ack") == 0)
			nack++;
		else if (strcmp(got, "backpressure") == 0)
			nbp++;
		else if (strcmp(got, "circuit_open") == 0) {
			nco++;
			if (P.last_latency_ms >= PUBLISH_TIMEOUT_MS)
				fprintf(stderr, "soak: note: circuit_open "
				    "took %" PRId64 " ms\n", P.last_latency_ms);
		} else
			break;
	}
	if (nack != 4 || nbp != BREAKER_THRESHOLD || nco != 1) {
		viol(V_BREAKER, "stuck tract: %d acks, %d backpressure, %d "
		    "circuit_open (expected 4, %d, 1)", nack, nbp, nco,
		    BREAKER_THRESHOLD);
		goto out;
	}
	/* Half-open after the reset timeout; the trial parks and fails. */
	sleep_ms(BREAKER_RESET_MS + 100);
	if (!brk_expect(&P, "backpressure", "failed trial") ||
	    !brk_expect(&P, "circuit_open", "reopened"))
		goto out;
	/* The subscriber grants: the next trial closes the breaker. */
	s->target = 1000;
	sc_req(&S, s, 1000);
	if (!sc_flush(&S) || !brk_read(&S, s, 4))
		goto out;
	sleep_ms(BREAKER_RESET_MS + 100);
	if (!brk_expect(&P, "ack", "good trial"))
		goto out;
	for (i = 0; i < 5; i++)
		if (!brk_expect(&P, "ack", "closed again"))
			goto out;
	if (!brk_read(&S, s, 10))
		goto out;
	CTR(C_BRK_CYCLES);
	sc_unsub(&S, s);
out:
	sc_close(&P, true);
	sc_close(&S, true);
}

static void *
brk_thread(void *arg)
{
	struct targ	*ta = arg;
	struct rng	 r;

	rng_seed(&r, 400);
	while (!stopping()) {
		brk_cycle(&r);
		sleep_ms((int64_t)rnd_range(&r, 500, 3000));
	}
	atomic_store(&ta->done, true);
	return (NULL);
}

/*
 * $sys: every breaker transition, a chain per tract.
 */
#define SYS_TRACTS	64
static struct {
	char	name[WIRE_NAME_MAX + 1];
	int	state;
} g_sys_state[SYS_TRACTS];
static int	g_sys_ntracts;

static int
state_lookup(const char *p, size_t len)
{
	int	i;

	for (i = 0; i < 3; i++)
		if (strlen(state_names[i]) == len &&
		    memcmp(state_names[i], p, len) == 0)
			return (i);
	return (-1);
}

static void
sys_on_msg(struct sconn *sc, const msgpack_object *f)
{
	static struct wire_decoder	 dec;
	static bool			 dec_ok;
	const msgpack_object		*b = wire_map_get(f, "body");
	msgpack_object			 m;
	const char			*why, *tp, *fp, *top;
	size_t				 tlen, flen, tolen;
	uint64_t			 failures;
	int				 i, fs, ts;

	CTR(C_SYS_MSGS);
	if (!f_streq(f, "kind", "breaker") || !f_streq(f, "agent",
	    "callosumd") || !f_streq(f, "to", "$sys") || b == NULL ||
	    b->type != MSGPACK_OBJECT_BIN) {
		viol(V_SYS, "%s: a $sys msg that is not a breaker "
		    "transition", sc->who);
		return;
	}
	if (!dec_ok) {
		if (wire_decoder_init(&dec) == -1)
			abort();
		dec_ok = true;
	}
	if (wire_decode(&dec, b->via.bin.ptr, b->via.bin.size, &m, &why) ==
	    -1 || !f_str(&m, "tract", &tp, &tlen) ||
	    !f_str(&m, "from_state", &fp, &flen) ||
	    !f_str(&m, "to_state", &top, &tolen) ||
	    !client_get_u64(&m, "failures", &failures) ||
	    (fs = state_lookup(fp, flen)) < 0 ||
	    (ts = state_lookup(top, tolen)) < 0 || tlen > WIRE_NAME_MAX) {
		viol(V_SYS, "%s: a malformed breaker body", sc->who);
		return;
	}
	for (i = 0; i < g_sys_ntracts; i++)
		if (strlen(g_sys_state[i].name) == tlen &&
		    memcmp(g_sys_state[i].name, tp, tlen) == 0)
			break;
	if (i == g_sys_ntracts) {
		if (i == SYS_TRACTS)
			return;
		memcpy(g_sys_state[i].name, tp, tlen);
		g_sys_state[i].name[tlen] = '\0';
		g_sys_state[i].state = 0;
		g_sys_ntracts++;
	}
	if (g_sys_state[i].state != fs)
		viol(V_SYS, "tract %s: transition %s -> %s while %s",
		    g_sys_state[i].name, state_names[fs], state_names[ts],
		    state_names[g_sys_state[i].state]);
	if (!((fs == 0 && ts == 1) || (fs == 1 && ts == 2) ||
	    (fs == 2 && (ts == 0 || ts == 1))))
		viol(V_SYS, "tract %s: no such transition %s -> %s",
		    g_sys_state[i].name, state_names[fs], state_names[ts]);
	if (fs == 0 && ts == 1 && failures != BREAKER_THRESHOLD)
		viol(V_SYS, "tract %s: opened after %" PRIu64 " failures "
		    "(threshold %d)", g_sys_state[i].name, failures,
		    BREAKER_THRESHOLD);
	g_sys_state[i].state = ts;
	atomic_fetch_add(&g_sys_tr[fs][ts], 1);
	if (strcmp(g_sys_state[i].name, "brk") == 0)
		atomic_fetch_add(&g_sys_brk_tr[fs][ts], 1);
}

static void *
sys_thread(void *arg)
{
	struct targ	*ta = arg;
	struct rng	 r;
	struct sconn	 sc;
	struct ssub	*s;

	rng_seed(&r, 500);
	if (!sc_open(&sc, "sys", &r, -1)) {
		atomic_store(&ta->done, true);
		return (NULL);
	}
	s = sub_new(SK_SYS, T_SYS, 0, false);
	sc_sub(&sc, s, 1ULL << 40, 0);
	sc_flush(&sc);
	while (!atomic_load(&g_stop_sys) && !sc.dead)
		sc_pump(&sc, 50);
	sc_close(&sc, true);
	atomic_store(&ta->done, true);
	return (NULL);
}

/*
 * The killer: clients that die mid-frame or break the protocol.
 */
static unsigned char *
pub_frame(struct rng *r, size_t *lenp)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	size_t		 start;
	unsigned char	 body[300];

	memset(body, 'k', sizeof(body));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	start = wire_frame_begin(&sb);
	msgpack_pack_map(&pk, 4);
	pk_kstr(&pk, "op", "pub");
	pk_kstr(&pk, "to", tract_names[rnd_below(r, NGEN)]);
	pk_kstr(&pk, "kind", "a");
	pk_str(&pk, "body");
	msgpack_pack_bin(&pk, sizeof(body));
	msgpack_pack_bin_body(&pk, body, sizeof(body));
	wire_frame_end(&sb, start);
	*lenp = sb.size;
	return ((unsigned char *)sb.data);
}

/* Expects err code (no id), then the close, within timeout_ms. */
static void
kill_expect(struct client *c, const char *code, int timeout_ms,
    const char *what)
{
	msgpack_object	f;
	int		r;

	r = client_recv(c, timeout_ms, &f);
	if (r != 1 || client_frame_op(&f) != WIRE_OP_ERR ||
	    !f_streq(&f, "code", code) || wire_map_get(&f, "id") != NULL) {
		viol(V_CONN, "killer %s: expected err %s, got %s", what, code,
		    r == 1 ? wire_op_name(client_frame_op(&f)) :
		    r == 0 ? "close" : strerror(errno));
		return;
	}
	r = client_recv(c, timeout_ms, &f);
	if (r != 0)
		viol(V_CONN, "killer %s: the router did not close after err "
		    "%s (%s)", what, code, r == 1 ?
		    wire_op_name(client_frame_op(&f)) : strerror(errno));
}

static struct client *
raw_connect(void)
{
	struct client	*c;

	if ((c = client_connect(g_sock)) == NULL) {
		viol(V_CONN, "killer: connect: %s", strerror(errno));
		return (NULL);
	}
	atomic_fetch_add(&g_live_conns, 1);
	CTR(C_CONNS);
	return (c);
}

static void
raw_close(struct client *c)
{
	client_close(c);
	atomic_fetch_sub(&g_live_conns, 1);
}

static void
kill_one(struct rng *r)
{
	struct sconn	 sc;
	struct client	*c;
	struct ssub	*s;
	unsigned char	*fr, zero[4] = { 0, 0, 0, 0 };
	unsigned char	 notmap[5] = { 0, 0, 0, 1, 0xc1 };
	unsigned char	 partial[8] = { 0, 0, 0, 100, 0x81, 0xa2, 'o', 'p' };
	size_t		 len, cut;
	unsigned	 k = (unsigned)rnd_below(r, 100), i, n;

	if (k < 35) {
		/* Some pubs (acked, recorded), then half a frame. */
		if (!sc_open(&sc, "killer", r, -1))
			return;
		n = (unsigned)rnd_range(r, 0, 3);
		for (i = 0; i < n; i++)
			pub_one(&sc, r);
		if (sc_settle(&sc, REPLY_WAIT_MS)) {
			fr = pub_frame(r, &len);
			cut = rnd_range(r, 1, len - 1);
			client_send_raw(sc.c, fr, cut);
			free(fr);
			CTR(C_KILL_HALF_FRAME);
		}
		sc_close(&sc, false);
	} else if (k < 50) {
		/* Part of a length, before hello. */
		if ((c = raw_connect()) == NULL)
			return;
		client_send_raw(c, zero, rnd_range(r, 1, 3));
		raw_close(c);
		CTR(C_KILL_HALF_HDR);
	} else if (k < 70) {
		/* Demand granted, nothing read, closed. */
		if (!sc_open(&sc, "killer-unread", r, -1))
			return;
		s = sub_new(SK_LIVE, (int)rnd_below(r, NGEN), 0,
		    chance(r, 50));
		s->keep_trace = false;
		sc_sub(&sc, s, 100000, 0);
		sc_flush(&sc);
		sleep_ms((int64_t)rnd_range(r, 20, 300));
		sc_close(&sc, false);
		CTR(C_KILL_UNREAD);
	} else if (k < 82) {
		if (!sc_open(&sc, "killer", r, -1))
			return;
		client_send_raw(sc.c, zero, 4);
		kill_expect(sc.c, "bad_frame", 5000, "zero length");
		sc_close(&sc, false);
		CTR(C_KILL_ZERO_LEN);
	} else if (k < 92) {
		if (!sc_open(&sc, "killer", r, -1))
			return;
		client_send_raw(sc.c, notmap, sizeof(notmap));
		kill_expect(sc.c, "bad_frame", 5000, "not a map");
		sc_close(&sc, false);
		CTR(C_KILL_NOT_MAP);
	} else if (k < 96) {
		if (!sc_open(&sc, "killer", r, -1))
			return;
		client_send_raw(sc.c, partial, sizeof(partial));
		kill_expect(sc.c, "bad_frame", FRAME_TIMEOUT_MS + 5000,
		    "frame timeout");
		sc_close(&sc, false);
		CTR(C_KILL_FRAME_TIMEOUT);
	} else {
		if ((c = raw_connect()) == NULL)
			return;
		kill_expect(c, "hello_required", HANDSHAKE_TIMEOUT_MS + 5000,
		    "handshake timeout");
		raw_close(c);
		CTR(C_KILL_HANDSHAKE);
	}
}

static void *
kill_thread(void *arg)
{
	struct targ	*ta = arg;
	struct rng	 r;

	rng_seed(&r, 600);
	while (!stopping()) {
		sleep_ms((int64_t)rnd_range(&r, 100, 600));
		if (!stopping())
			kill_one(&r);
	}
	atomic_store(&ta->done, true);
	return (NULL);
}

/*
 * The flood: a subscriber closed at output_limit.
 */
static void
flood_cycle(struct rng *r)
{
	struct sconn	 V, F;
	struct ssub	*s;
	unsigned	 i;
	int64_t		 deadline;

	if (!sc_open(&V, "flood-victim", r, -1))
		return;
	V.flood_victim = true;
	s = sub_new(SK_LIVE, T_FLOOD, 0, chance(r, 50));
	sc_sub(&V, s, 1ULL << 30, 0);
	if (!sc_settle(&V, 5000) || !sc_open(&F, "flood-pub", r, T_FLOOD)) {
		sc_close(&V, false);
		return;
	}
	/* 2.5 MiB of same-tract msgs: more than output_limit + buffers. */
	for (i = 0; i < 160 && !F.dead && !stopping(); i++) {
		sc_pub(&F, T_FLOOD, -1, 0, FLOOD_BODY, false);
		if (!sc_flush(&F))
			break;
		while (F.npub_out >= 8 && !F.dead)
			sc_recv(&F, 100);
	}
	sc_close(&F, true);
	/* The victim reads now: bye output_limit, then the close. */
	deadline = mono_ms() + 10000;
	while (!V.dead && mono_ms() < deadline)
		sc_recv(&V, 100);
	if (!V.dead) {
		CTR(C_OUTPUT_LIMIT_MISSED);
		sc_close(&V, true);
		return;
	}
	sc_close(&V, false);
}

static void *
flood_thread(void *arg)
{
	struct targ	*ta = arg;
	struct rng	 r;

	rng_seed(&r, 700);
	while (!stopping()) {
		sleep_ms((int64_t)rnd_range(&r, 3000, 12000));
		if (!stopping())
			flood_cycle(&r);
	}
	atomic_store(&ta->done, true);
	return (NULL);
}

/*
 * The router process.
 */
static pid_t	g_router = -1;
static char	g_dir[PATH_MAX];
static char	g_log[PATH_MAX + 32];

static bool
sock_accepts(const char *path)
{
	struct client	*c = client_connect(path);

	if (c == NULL)
		return (false);
	client_close(c);
	return (true);
}

static bool
router_start(const char *bin)
{
	char		 conf[PATH_MAX + 32], sock[PATH_MAX + 32];
	FILE		*fp;
	int64_t		 deadline;
	int		 fd, st;
	char *const	 argv[] = { (char *)bin, "--socket", sock, "--config",
			    conf, NULL };

	snprintf(conf, sizeof(conf), "%s/callosumd.conf", g_dir);
	snprintf(sock, sizeof(sock), "%s/callosum.sock", g_dir);
	snprintf(g_log, sizeof(g_log), "%s/callosumd.log", g_dir);
	if ((fp = fopen(conf, "w")) == NULL) {
		perror("soak: config");
		return (false);
	}
	fprintf(fp,
	    "# written by the soak test\n"
	    "publish_timeout_ms = %d\n"
	    "breaker_failure_threshold = %d\n"
	    "breaker_reset_timeout_ms = %d\n"
	    "output_limit = %d\n"
	    "max_pending = %d\n"
	    "memlog_max_events = %d\n"
	    "memlog_max_bytes = 64MiB\n"
	    "frame_timeout_ms = %d\n"
	    "handshake_timeout_ms = %d\n"
	    "drain_timeout_ms = %d\n"
	    "log_level = warn\n",
	    PUBLISH_TIMEOUT_MS, BREAKER_THRESHOLD, BREAKER_RESET_MS,
	    OUTPUT_LIMIT, MAX_PENDING, MEMLOG_EVENTS, FRAME_TIMEOUT_MS,
	    HANDSHAKE_TIMEOUT_MS, DRAIN_TIMEOUT_MS);
	fclose(fp);
	if ((g_sock = strdup(sock)) == NULL)
		return (false);

	if ((g_router = fork()) == -1) {
		perror("soak: fork");
		return (false);
	}
	if (g_router == 0) {
		if ((fd = open(g_log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) !=
		    -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		/* Nothing of ours or ctest's: the fd count is the router's. */
		closefrom(3);
		signal(SIGPIPE, SIG_DFL);
		execv(bin, argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	deadline = mono_ms() + 15000;
	while (mono_ms() < deadline) {
		if (waitpid(g_router, &st, WNOHANG) == g_router) {
			fprintf(stderr, "soak: callosumd exited at start "
			    "(status %d)\n", st);
			g_router = -1;
			return (false);
		}
		if (sock_accepts(sock))
			return (true);
		sleep_ms(20);
	}
	fprintf(stderr, "soak: callosumd does not accept on %s\n", sock);
	return (false);
}

static void
router_log_tail(void)
{
	char	 line[1024];
	FILE	*fp;
	long	 size;

	if ((fp = fopen(g_log, "r")) == NULL)
		return;
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fseek(fp, size > 16384 ? size - 16384 : 0, SEEK_SET);
	fprintf(stderr, "soak: --- end of %s (%ld bytes) ---\n", g_log, size);
	while (fgets(line, sizeof(line), fp) != NULL)
		fputs(line, stderr);
	fprintf(stderr, "soak: --- end of log ---\n");
	fclose(fp);
}

/* VmRSS in KiB, or -1. */
static long
proc_rss(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*fp;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return (kb);
}

static long
proc_fds(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/* utime + stime of a process, in seconds, or -1. */
static double
proc_cpu(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	FILE			*fp;
	size_t			 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* After "(comm)": state, then 10 fields, then utime and stime. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	    &st) != 2)
		return (-1);
	return ((double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
}

static void
rm_dir(const char *dir)
{
	static const char *const	names[] = { "callosum.sock",
	    "callosumd.log", "callosumd.conf", NULL };
	char				path[PATH_MAX + 32];
	int				i;

	for (i = 0; names[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/*
 * The memory log filled before the clock starts, so that the baseline
 * has it at its full size.
 */
static bool
prefill(void)
{
	struct rng	r;
	struct sconn	sc;
	unsigned	i;
	int64_t		t0 = mono_ms();

	rng_seed(&r, 1);
	if (!sc_open(&sc, "prefill", &r, T_PRESRC))
		return (false);
	for (i = 0; i < MEMLOG_EVENTS + 1000 && !sc.dead; i++) {
		sc_pub(&sc, T_PRE, -1, (int)rnd_below(&r, NKIND),
		    chance(&r, 3) ? rnd_range(&r, 1000, 8000) :
		    rnd_below(&r, 400), false);
		if (sc.npub_out >= 256) {
			sc_flush(&sc);
			while (sc.npub_out >= 128 && !sc.dead)
				sc_recv(&sc, 1000);
		}
	}
	sc_close(&sc, true);
	atomic_store(&g_ctr[C_PREFILL], CTRV(C_PUB_ACKED));
	printf("soak: prefill: %u events in %.1f s\n", i,
	    (mono_ms() - t0) / 1000.0);
	return (!sc.dead);
}

/*
 * Verification against the record, after the run.
 */
struct tev {
	uint64_t	eid;
	uint8_t		kind;
	uint8_t		cross;
};
static struct tev	*g_tev[NTRACT];
static size_t		 g_ntev[NTRACT];
static uint64_t		*g_cross;
static size_t		 g_ncross;

static int
rec_cmp(const void *a, const void *b)
{
	const struct rec	*x = a, *y = b;

	return (x->eid < y->eid ? -1 : x->eid > y->eid);
}

static void
index_build(void)
{
	size_t	i, t;

	qsort(g_rec.v, g_rec.n, sizeof(*g_rec.v), rec_cmp);
	for (i = 1; i < g_rec.n; i++)
		if (g_rec.v[i].eid == g_rec.v[i - 1].eid)
			viol(V_PROTO, "two pubs acked with the same eid");
	for (t = 0; t < NTRACT; t++) {
		g_tev[t] = calloc(g_rec.n + 1, sizeof(**g_tev));
		if (g_tev[t] == NULL)
			abort();
	}
	if ((g_cross = calloc(g_rec.n + 1, sizeof(*g_cross))) == NULL)
		abort();
	for (i = 0; i < g_rec.n; i++) {
		const struct rec *e = &g_rec.v[i];
		struct tev *v = &g_tev[e->to][g_ntev[e->to]++];
		v->eid = e->eid;
		v->kind = e->kind;
		v->cross = e->to != e->from;
		if (v->cross)
			g_cross[g_ncross++] = e->eid;
	}
}

static size_t
tev_lower(int t, uint64_t e)
{
	size_t	lo = 0, hi = g_ntev[t], mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (g_tev[t][mid].eid < e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static size_t
rec_lower(uint64_t e)
{
	size_t	lo = 0, hi = g_rec.n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (g_rec.v[mid].eid < e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static size_t
cross_lower(uint64_t e)
{
	size_t	lo = 0, hi = g_ncross, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (g_cross[mid] < e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/*
 * Could the memory log have evicted event e by rel time tm? Only if at
 * least MEMLOG_EVENTS logged events came after it by then (eids carry the
 * wall-clock ms: a second of margin).
 */
static bool
trimmed_possible(uint64_t e, uint32_t tm)
{
	uint64_t	bound = eid_pack((uint64_t)(g_wall0_ms + tm + 1000), 0);
	size_t		n;

	n = cross_lower(bound) - cross_lower(e + 1);
	return (n + 16 >= MEMLOG_EVENTS);
}

/* A lag names exactly the matching events of its range. */
static void
verify_lag(const struct ssub *s, const struct titem *it)
{
	size_t		k, cnt = 0;
	uint64_t	firstm = 0, lastm = 0;
	char		b1[48], b2[48];

	CTR(C_LAGS_CHECKED);
	for (k = tev_lower(s->tract, it->eid); k < g_ntev[s->tract] &&
	    g_tev[s->tract][k].eid <= it->last; k++) {
		if (!kmatch(s->kmask, g_tev[s->tract][k].kind))
			continue;
		if (cnt++ == 0)
			firstm = g_tev[s->tract][k].eid;
		lastm = g_tev[s->tract][k].eid;
	}
	if (cnt != it->n || firstm != it->eid || lastm != it->last)
		viol(V_LAG, "sid %" PRIu64 " (%s): lag dropped=%u [%s..%s] "
		    "but %zu matching events were published in that range",
		    s->sid, tract_names[s->tract], it->n,
		    eid_str(it->eid, b1, sizeof(b1)),
		    eid_str(it->last, b2, sizeof(b2)), cnt);
}

/* Live and from_eid subscriptions. */
static void
verify_live(const struct ssub *s)
{
	const struct tev	*tv = g_tev[s->tract];
	size_t			 i, k, li, seg = 0, nmiss;
	uint64_t		 prev = 0, lo, x, miss = 0;
	char			 b1[48], b2[48], b3[48];

	if (s->kind == SK_FROM_EID)
		prev = s->r_from - 1;	/* the catch-up starts there */
	for (i = 0; i < s->ntr; i++) {
		const struct titem *it = &s->tr[i];

		if (it->last != 0) {
			verify_lag(s, it);
			continue;
		}
		x = it->eid;
		k = tev_lower(s->tract, x);
		if (k == g_ntev[s->tract] || tv[k].eid != x)
			viol(V_UNKNOWN_EID, "sid %" PRIu64 " (%s): msg %s was "
			    "not acked to any publisher", s->sid,
			    tract_names[s->tract], eid_str(x, b1, sizeof(b1)));
		if (prev == 0 && seg == i) {
			/* Before the first msg: unknown start, no lag. */
			prev = x;
			seg = i + 1;
			continue;
		}
		CTR(C_SEGMENTS);
		lo = prev != 0 ? prev : s->tr[seg].eid - 1;
		nmiss = 0;
		li = seg;
		for (k = tev_lower(s->tract, lo + 1); k < g_ntev[s->tract] &&
		    tv[k].eid < x; k++) {
			if (!kmatch(s->kmask, tv[k].kind))
				continue;
			if (s->kind == SK_FROM_EID && !tv[k].cross)
				continue;	/* not in the catch-up */
			while (li < i && s->tr[li].last < tv[k].eid)
				li++;
			if (li < i && s->tr[li].eid <= tv[k].eid)
				continue;	/* named by a lag */
			if (s->kind == SK_FROM_EID &&
			    trimmed_possible(tv[k].eid, it->tm)) {
				CTR(C_TRIMMED);
				continue;
			}
			if (nmiss++ == 0)
				miss = tv[k].eid;
		}
		if (nmiss > 0)
			viol(V_GAP, "sid %" PRIu64 " (%s %s on %s, kinds %#x): "
			    "%zu events between msgs %s and %s neither "
			    "delivered nor named by a lag (first %s)", s->sid,
			    s->kind == SK_FROM_EID ? "from_eid" : "live",
			    s->drop ? "drop" : "block",
			    tract_names[s->tract], s->kmask, nmiss, eid_str(lo, b1, sizeof(b1)),
			    eid_str(x, b2, sizeof(b2)),
			    eid_str(miss, b3, sizeof(b3)));
		prev = x;
		seg = i + 1;
	}
}

static bool
replay_match(const struct ssub *s, const struct rec *e)
{
	return (e->to != e->from && kmatch(s->kmask, e->kind) &&
	    (s->tract < 0 || e->to == s->tract || e->from == s->tract));
}

/*
 * The latest matching event in [lo, hi) (by eid), or 0. Scans back from
 * hi: the range holds few events not seen.
 */
static uint64_t
replay_latest_missing(const struct ssub *s, uint64_t lo, uint64_t hi)
{
	size_t	k = rec_lower(hi);

	while (k > 0 && g_rec.v[k - 1].eid >= lo) {
		k--;
		if (replay_match(s, &g_rec.v[k]))
			return (g_rec.v[k].eid);
	}
	return (0);
}

static void
verify_replay(const struct ssub *s)
{
	size_t		 i, k, n = 0;
	uint64_t	 prev = 0, x, lo, m, end;
	uint32_t	 tm;
	char		 b1[48], b2[48];

	CTR(C_REPLAYS_CHECKED);
	for (i = 0; i < s->ntr; i++) {
		x = s->tr[i].eid;
		k = rec_lower(x);
		if (k == g_rec.n || g_rec.v[k].eid != x ||
		    !replay_match(s, &g_rec.v[k])) {
			viol(V_REPLAY, "replay sid %" PRIu64 ": %s is not a "
			    "logged event of its filter", s->sid,
			    eid_str(x, b1, sizeof(b1)));
			prev = x;
			continue;
		}
		n++;
		lo = prev != 0 ? prev + 1 : s->r_from;
		if ((m = replay_latest_missing(s, lo, x)) != 0) {
			if (trimmed_possible(m, s->tr[i].tm))
				CTR(C_TRIMMED);
			else
				viol(V_REPLAY, "replay sid %" PRIu64 ": %s "
				    "missing before %s (not evicted yet)",
				    s->sid, eid_str(m, b1, sizeof(b1)),
				    eid_str(x, b2, sizeof(b2)));
		}
		prev = x;
	}
	/* The tail: everything up to `to` unless the limit cut it. */
	if (s->st != SS_ENDED || s->cancelled || !s->r_has_to ||
	    (s->r_limit != 0 && n >= s->r_limit))
		return;
	lo = prev != 0 ? prev + 1 : s->r_from;
	end = s->r_to == UINT64_MAX ? s->r_to : s->r_to + 1;
	if ((m = replay_latest_missing(s, lo, end)) != 0) {
		tm = s->t_end;
		if (trimmed_possible(m, tm))
			CTR(C_TRIMMED);
		else
			viol(V_REPLAY, "replay sid %" PRIu64 " ended without "
			    "%s (limit %" PRIu64 ", %zu sent)", s->sid,
			    eid_str(m, b1, sizeof(b1)), s->r_limit, n);
	}
}

static void
verify_all(void)
{
	size_t	i;

	index_build();
	for (i = 0; i < g_done.n; i++) {
		const struct ssub *s = g_done.v[i];
		switch (s->kind) {
		case SK_LIVE:
		case SK_FROM_EID:
			verify_live(s);
			break;
		case SK_REPLAY:
			verify_replay(s);
			break;
		default:
			break;
		}
	}
}

/*
 * Main: the monitor.
 */
struct sample {
	uint32_t	t;
	long		rss;
	long		fds;
	int		conns;
};

static bool
env_true(const char *name)
{
	const char	*v = getenv(name);

	return (v != NULL && strcmp(v, "1") == 0);
}

static long
env_long(const char *name, long def)
{
	const char	*v = getenv(name);
	char		*end;
	long		 x;

	if (v == NULL || *v == '\0')
		return (def);
	x = strtol(v, &end, 10);
	if (*end != '\0' || x <= 0) {
		fprintf(stderr, "soak: %s=%s is not a positive number\n", name,
		    v);
		exit(2);
	}
	return (x);
}

static bool
join_all(struct targ *ts, size_t n, int timeout_ms)
{
	int64_t	deadline = mono_ms() + timeout_ms;
	size_t	i;
	bool	ok = true;

	for (i = 0; i < n; i++) {
		while (!atomic_load(&ts[i].done) && mono_ms() < deadline)
			sleep_ms(20);
		if (!atomic_load(&ts[i].done)) {
			viol(V_HANG, "thread %zu did not stop", i);
			ok = false;
			continue;
		}
		pthread_join(ts[i].th, NULL);
	}
	return (ok);
}

int
main(int argc, char **argv)
{
	enum { TH_PUB = 0, TH_SUB = TH_PUB + NPUB, TH_REPLAY = TH_SUB + NSUB,
	    TH_BRK, TH_KILL, TH_FLOOD, TH_COUNT };
	static void *(*const fns[TH_COUNT])(void *) = {
		pub_thread, pub_thread, pub_thread,
		sub_thread, sub_thread, sub_thread, sub_thread,
		replay_thread, brk_thread, kill_thread, flood_thread
	};
	struct targ	 th[TH_COUNT], systh;
	struct sample	*smp = NULL;
	struct sconn	 mon;
	struct rng	 mr;
	const char	*bin, *tmp;
	long		 duration, warmup, rss_base = -1, fd_base = -1;
	long		 rss_min = LONG_MAX, rss_max = 0, fd_min = LONG_MAX;
	long		 fd_max = 0, idle_fds = -1, end_fds = -1, rss, fds;
	long		 rss_limit = 0, fd_limit = 0;
	size_t		 nsmp = 0, i;
	unsigned long	 total = 0;
	int64_t		 start, next_tick, t_verify;
	double		 cpu = -1;
	int		 st = 0, j, f, t;
	bool		 ok = true, exited = false;
	static char	 outbuf[1 << 16];

	memset(th, 0, sizeof(th));
	memset(&systh, 0, sizeof(systh));
	memset(&mon, 0, sizeof(mon));
	for (j = 0; j < TH_COUNT; j++)
		atomic_store(&th[j].done, true);	/* until started */
	atomic_store(&systh.done, true);

	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	if (!env_true("CALLOSUM_SOAK")) {
		printf("soak: skipped (set CALLOSUM_SOAK=1 to run it: "
		    "CALLOSUM_SOAK=1 ctest -L soak --output-on-failure)\n");
		return (SKIP_CODE);
	}
	bin = argc > 1 ? argv[1] : getenv("CALLOSUMD");
	if (bin == NULL || *bin == '\0') {
		fprintf(stderr, "soak: set CALLOSUMD or pass the router's "
		    "path\n");
		return (2);
	}
	duration = env_long("CALLOSUM_SOAK_SECONDS", 600);
	warmup = env_long("CALLOSUM_SOAK_WARMUP",
	    duration >= 300 ? 60 : (duration / 5 > 5 ? duration / 5 : 5));
	if (warmup >= duration) {
		fprintf(stderr, "soak: the warm-up (%ld s) must be shorter "
		    "than the run (%ld s)\n", warmup, duration);
		return (2);
	}
	g_rate = (double)env_long("CALLOSUM_SOAK_RATE", 2000);
	g_seed = (uint64_t)env_long("CALLOSUM_SOAK_SEED",
	    (long)(wall_ms() & 0x7fffffff));
	signal(SIGPIPE, SIG_IGN);

	tmp = getenv("TMPDIR");
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(g_dir, sizeof(g_dir), "%s/callosum-soak.XXXXXX", tmp);
	if (mkdtemp(g_dir) == NULL) {
		perror("soak: mkdtemp");
		return (1);
	}
	printf("soak: %ld s (warm-up %ld s), %.0f pubs/s, seed %" PRIu64
	    ", router %s in %s\n", duration, warmup, g_rate, g_seed, bin,
	    g_dir);
	g_mono0_ms = mono_ms();
	g_wall0_ms = wall_ms();
	if (!router_start(bin)) {
		router_log_tail();
		return (1);
	}
	if (!prefill()) {
		fprintf(stderr, "soak: the prefill failed\n");
		ok = false;
		goto stop_router;
	}
	sleep_ms(300);
	idle_fds = proc_fds(g_router);
	printf("soak: router pid %d idle: %ld fds, %ld KiB RSS\n",
	    (int)g_router, idle_fds, proc_rss(g_router));

	smp = calloc((size_t)duration + 16, sizeof(*smp));
	if (smp == NULL)
		abort();
	rng_seed(&mr, 2);
	atomic_store(&systh.done, false);
	if (pthread_create(&systh.th, NULL, sys_thread, &systh) != 0) {
		perror("soak: pthread_create");
		abort();
	}
	if (!sc_open(&mon, "monitor", &mr, -1)) {
		ok = false;
		goto stop_threads;
	}
	for (j = 0; j < TH_COUNT; j++) {
		th[j].idx = j;
		atomic_store(&th[j].done, false);
		if (pthread_create(&th[j].th, NULL, fns[j], &th[j]) != 0) {
			perror("soak: pthread_create");
			abort();
		}
	}

	start = mono_ms();
	next_tick = start + 1000;
	while (mono_ms() < start + duration * 1000) {
		sleep_ms(next_tick - mono_ms());
		next_tick += 1000;
		if (waitpid(g_router, &st, WNOHANG) == g_router) {
			viol(V_EXIT, "callosumd died during the run (status "
			    "%d)", st);
			exited = true;
			break;
		}
		t = (int)((mono_ms() - start) / 1000);
		rss = proc_rss(g_router);
		fds = proc_fds(g_router);
		smp[nsmp].t = (uint32_t)t;
		smp[nsmp].rss = rss;
		smp[nsmp].fds = fds;
		smp[nsmp].conns = atomic_load(&g_live_conns);
		nsmp++;
		if (rss < rss_min)
			rss_min = rss;
		if (rss > rss_max)
			rss_max = rss;
		if (fds < fd_min)
			fd_min = fds;
		if (fds > fd_max)
			fd_max = fds;
		if (rss_base < 0 && t >= warmup) {
			rss_base = rss;
			for (i = 0; i < nsmp; i++)
				if (smp[i].t + 10 > (uint32_t)t &&
				    smp[i].fds > fd_base)
					fd_base = smp[i].fds;
			rss_limit = rss_base + rss_base / 10;
			fd_limit = fd_base + fd_base / 10 + 8;
			printf("soak: baselines at %d s: RSS %ld KiB (limit "
			    "%ld), fds %ld (limit %ld)\n", t, rss_base,
			    rss_limit, fd_base, fd_limit);
		} else if (rss_base >= 0) {
			if (rss > rss_limit)
				viol(V_RSS, "RSS %ld KiB > %ld KiB (baseline "
				    "%ld)", rss, rss_limit, rss_base);
			if (fds > fd_limit)
				viol(V_FD, "%ld fds > %ld (baseline %ld)",
				    fds, fd_limit, fd_base);
		}
		/* A stats request every 10 s; a progress line every 30 s. */
		if (t % 10 == 0 && !mon.dead) {
			sc_simple(&mon, P_STATS);
			if (t % 30 == 0)
				sc_simple(&mon, P_CONNS);
			sc_settle(&mon, 5000);
		}
		if (t % 30 == 0) {
			for (total = 0, f = 0; f < V_COUNT; f++)
				total += atomic_load(&g_viol[f]);
			printf("soak: %4d s  rss %ld KiB  fds %ld  conns %d  "
			    "acked %lu  msgs %lu  lags %lu  replayed %lu  "
			    "brk cycles %lu  violations %lu\n", t, rss, fds,
			    smp[nsmp - 1].conns,
			    CTRV(C_PUB_ACKED) - CTRV(C_PREFILL),
			    CTRV(C_MSGS), CTRV(C_LAGS), CTRV(C_REPLAYED),
			    CTRV(C_BRK_CYCLES), total);
		}
	}

stop_threads:
	atomic_store(&g_stop, true);
	if (!join_all(th, TH_COUNT, 60000))
		ok = false;
	if (!mon.dead && mon.c != NULL) {
		sc_simple(&mon, P_STATS);
		sc_settle(&mon, 5000);
	}
	sc_close(&mon, true);
	sleep_ms(BREAKER_RESET_MS + 300);	/* the last $sys msgs */
	atomic_store(&g_stop_sys, true);
	if (!join_all(&systh, 1, 30000))
		ok = false;

	/* Every client gone: the fds must come back to the idle count. */
	if (!exited) {
		int64_t deadline = mono_ms() + 5000;
		do {
			end_fds = proc_fds(g_router);
			if (end_fds <= idle_fds)
				break;
			sleep_ms(100);
		} while (mono_ms() < deadline);
		if (end_fds > idle_fds)
			viol(V_FD, "%ld fds with no client left (%ld idle "
			    "before the load)", end_fds, idle_fds);
	}

stop_router:
	if (!exited && g_router > 0) {
		int64_t deadline = mono_ms() + 15000;
		struct sconn w;
		bool have_w;

		cpu = proc_cpu(g_router);
		/* A witness: a connected client gets bye shutdown. */
		if ((have_w = sc_open(&w, "witness", &mr, -1))) {
			w.expect_close = true;
			sc_simple(&w, P_PING);
			sc_settle(&w, 5000);
		}
		kill(g_router, SIGTERM);
		if (have_w) {
			while (!w.dead && mono_ms() < deadline)
				sc_recv(&w, 100);
			if (!w.dead || !w.bye ||
			    strcmp(w.bye_reason, "shutdown") != 0)
				viol(V_EXIT, "a connected client got %s%s "
				    "on SIGTERM", w.bye ? "bye " : "no bye",
				    w.bye ? w.bye_reason : "");
			sc_close(&w, false);
		}
		while (mono_ms() < deadline) {
			if (waitpid(g_router, &st, WNOHANG) == g_router) {
				exited = true;
				break;
			}
			sleep_ms(20);
		}
		if (!exited) {
			viol(V_EXIT, "callosumd still runs 15 s after SIGTERM");
			kill(g_router, SIGKILL);
			waitpid(g_router, &st, 0);
		} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			viol(V_EXIT, "callosumd after SIGTERM: %s %d",
			    WIFEXITED(st) ? "exit" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	if (!ok && nsmp == 0) {
		router_log_tail();
		return (1);
	}

	/* Each brk cycle is exactly five transitions on $sys. */
	if (atomic_load(&g_viol[V_BREAKER]) == 0 &&
	    (g_sys_brk_tr[0][1] != CTRV(C_BRK_CYCLES) ||
	    g_sys_brk_tr[1][2] != 2 * CTRV(C_BRK_CYCLES) ||
	    g_sys_brk_tr[2][1] != CTRV(C_BRK_CYCLES) ||
	    g_sys_brk_tr[2][0] != CTRV(C_BRK_CYCLES)))
		viol(V_SYS, "%lu brk cycles but $sys announced %lu opens, %lu "
		    "half-opens, %lu reopens, %lu closes", CTRV(C_BRK_CYCLES),
		    (unsigned long)g_sys_brk_tr[0][1],
		    (unsigned long)g_sys_brk_tr[1][2],
		    (unsigned long)g_sys_brk_tr[2][1],
		    (unsigned long)g_sys_brk_tr[2][0]);

	t_verify = mono_ms();
	verify_all();
	t_verify = mono_ms() - t_verify;

	for (total = 0, f = 0; f < V_COUNT; f++)
		total += atomic_load(&g_viol[f]);
	printf("\n==== callosum soak summary ====\n");
	printf("duration            %ld s (warm-up %ld s), seed %" PRIu64
	    ", target %.0f pubs/s\n", duration, warmup, g_seed, g_rate);
	printf("connections         %lu opened\n", CTRV(C_CONNS));
	printf("pubs                %lu sent, %lu acked (%lu cross-tract, "
	    "%lu same-tract), %lu backpressure, %lu circuit_open; plus %lu "
	    "before the clock (prefill)\n",
	    CTRV(C_PUB_SENT) - CTRV(C_PREFILL),
	    CTRV(C_PUB_ACKED) - CTRV(C_PREFILL),
	    CTRV(C_PUB_CROSS) - CTRV(C_PREFILL), CTRV(C_PUB_SAME),
	    CTRV(C_PUB_BP), CTRV(C_PUB_CO), CTRV(C_PREFILL));
	printf("subscriptions       %lu (%lu drop, %lu block of which %lu "
	    "from_eid), %lu unsubs, %lu sids reused, %lu pauses\n",
	    CTRV(C_SUBS), CTRV(C_DROP_SUBS), CTRV(C_BLOCK_SUBS),
	    CTRV(C_FROM_EID_SUBS), CTRV(C_UNSUBS), CTRV(C_SID_REUSE),
	    CTRV(C_PAUSES));
	printf("messages            %lu live msgs, %lu lag frames naming %lu "
	    "dropped\n", CTRV(C_MSGS), CTRV(C_LAGS), CTRV(C_DROPPED));
	printf("replays             %lu started, %lu ended, %lu cancelled, "
	    "%lu msgs replayed\n", CTRV(C_REPLAYS), CTRV(C_REPLAYS_DONE),
	    CTRV(C_REPLAYS_CANCELLED), CTRV(C_REPLAYED));
	printf("kills               %lu half frame, %lu half header, %lu "
	    "unread output, %lu zero length, %lu not a map, %lu frame "
	    "timeout, %lu handshake timeout\n", CTRV(C_KILL_HALF_FRAME),
	    CTRV(C_KILL_HALF_HDR), CTRV(C_KILL_UNREAD),
	    CTRV(C_KILL_ZERO_LEN), CTRV(C_KILL_NOT_MAP),
	    CTRV(C_KILL_FRAME_TIMEOUT), CTRV(C_KILL_HANDSHAKE));
	printf("output_limit        %lu flood victims got bye output_limit, "
	    "%lu missed it, %lu other subscribers closed by it\n",
	    CTRV(C_OUTPUT_LIMIT_BYE), CTRV(C_OUTPUT_LIMIT_MISSED),
	    CTRV(C_OUTPUT_LIMIT_OTHER));
	printf("breaker             %lu brk cycles (open, failed trial, "
	    "close); $sys: %lu msgs\n", CTRV(C_BRK_CYCLES), CTRV(C_SYS_MSGS));
	printf("  transitions       closed->open %lu, open->half_open %lu, "
	    "half_open->open %lu, half_open->closed %lu (all tracts)\n",
	    (unsigned long)g_sys_tr[0][1], (unsigned long)g_sys_tr[1][2],
	    (unsigned long)g_sys_tr[2][1], (unsigned long)g_sys_tr[2][0]);
	printf("                    closed->open %lu, open->half_open %lu, "
	    "half_open->open %lu, half_open->closed %lu (brk)\n",
	    (unsigned long)g_sys_brk_tr[0][1],
	    (unsigned long)g_sys_brk_tr[1][2],
	    (unsigned long)g_sys_brk_tr[2][1],
	    (unsigned long)g_sys_brk_tr[2][0]);
	printf("  tracts            ");
	for (f = 0; f < g_sys_ntracts; f++)
		printf("%s%s (now %s)", f > 0 ? ", " : "", g_sys_state[f].name,
		    state_names[g_sys_state[f].state]);
	printf("%s\n", g_sys_ntracts == 0 ? "none" : "");
	printf("router stats        published %.0f, delivered %.0f, dropped "
	    "%.0f, log depth %.0f, log evicted %.0f, closed at output "
	    "limit %.0f\n", mon.st_published, mon.st_delivered,
	    mon.st_dropped, mon.st_depth, mon.st_evicted,
	    mon.st_output_closed);
	printf("RSS                 min %ld KiB, max %ld KiB, baseline %ld "
	    "KiB at %ld s (limit %ld)\n", rss_min, rss_max, rss_base,
	    warmup, rss_limit);
	printf("fds                 min %ld, max %ld, baseline %ld (limit "
	    "%ld), idle %ld before, %ld after the load\n", fd_min, fd_max,
	    fd_base, fd_limit, idle_fds, end_fds);
	printf("router              %.1f s of CPU over the run; after "
	    "SIGTERM: %s %d\n", cpu, WIFEXITED(st) ? "exit status" :
	    "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	printf("verified            %zu pubs recorded, %zu subscriptions and "
	    "replays, %lu msg gaps, %lu lags, %lu replays checked (%lu "
	    "misses explained by log eviction) in %.1f s\n", g_rec.n,
	    g_done.n, CTRV(C_SEGMENTS), CTRV(C_LAGS_CHECKED),
	    CTRV(C_REPLAYS_CHECKED), CTRV(C_TRIMMED), t_verify / 1000.0);
	printf("RSS/fd samples      (t s: RSS KiB / fds), every 60 s:");
	for (i = 0; i < nsmp; i++)
		if (smp[i].t % 60 == 0 || i + 1 == nsmp)
			printf(" %u: %ld/%ld", smp[i].t, smp[i].rss,
			    smp[i].fds);
	free(smp);
	printf("\nviolations          %lu\n", total);
	for (f = 0; f < V_COUNT; f++)
		if (atomic_load(&g_viol[f]) > 0)
			printf("  %-22s %lu\n", viol_names[f],
			    (unsigned long)atomic_load(&g_viol[f]));
	if (total > 0 || !ok)
		router_log_tail();
	printf("soak: %s\n", total == 0 && ok ? "PASS" : "FAIL");
	fflush(stdout);
	if (total == 0 && ok)
		rm_dir(g_dir);
	else
		fprintf(stderr, "soak: kept %s\n", g_dir);
	return (total == 0 && ok ? 0 : 1);
}
