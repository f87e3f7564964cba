/*
 * bench_run: the common driver of a workload, and its Callosum clients.
 *
 * Each publisher and each subscriber is its own connection, its own thread
 * and its own libevent loop (plain events on a non-blocking socket, with
 * our own fixed buffers: a bufferevent reads at most 4 KiB per call in
 * libevent 2.1, too little for a client that must outrun the router).
 *
 * Publishers pipeline: they copy a prebuilt pub frame per message into a
 * batch buffer, patch the body header, and write the batch at once. Pubs
 * carry no id, so success is silent; every ack_every-th one carries an id
 * whose ack or err is counted when it comes back, and the time from its
 * write to its ack goes into ack_lat. At the end a ping's pong says the
 * router has handled every pub of that connection.
 * Subscribers subscribe with credit 0 (so nothing arrives before their
 * loop runs), grant --credit with req, and grant again what they consumed
 * once that reaches half of it: demand stays between credit/2 and credit.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bench/bench_run.h"
#include "bench/pacer.h"
#include "router/lib/wire.h"
#include "tools/client.h"

#define RUN_BATCH_BYTES		(64 * 1024)	/* closed loop: per write */
#define RUN_OPEN_BYTES		(256 * 1024)	/* open loop: bounded backlog */
#define RUN_READ_BYTES		(256 * 1024)
#define RUN_WRITES_PER_CB	16	/* then let the loop read */
#define RUN_OPEN_TAKE_MAX	4096	/* sends per pacer wake-up */
#define RUN_TICK_MS		20
#define RUN_PING_ID		0	/* pub ids start at 1 */
#define RUN_HELLO_MS		5000
#define RUN_STALL_NS		(UINT64_C(15) * 1000000000)
#define RUN_FRAME_MAX		(16u * 1024 * 1024)
#define RUN_ACKQ_MAX		(1u << 20)	/* pubs awaiting an ack */

volatile sig_atomic_t	bench_interrupted;

int
bench_ctx_init(struct bench_ctx *ctx, const struct bench_params *p,
    const char *label)
{
	unsigned	i;

	memset(ctx, 0, sizeof(*ctx));
	ctx->p = p;
	ctx->label = label;
	ctx->server_pid = -1;
	ctx->log_pid = -1;
	ctx->nonce = (uint32_t)(bench_now_ns() ^ ((uint64_t)getpid() << 16));
	ctx->final = calloc(p->pubs, sizeof(*ctx->final));
	ctx->pubc = aligned_alloc(64, sizeof(*ctx->pubc) * (p->pubs + 1));
	ctx->subc = aligned_alloc(64, sizeof(*ctx->subc) * (p->subs + 1));
	ctx->pubst = calloc(p->pubs, sizeof(*ctx->pubst));
	ctx->subst = calloc(p->subs + 1, sizeof(*ctx->subst));
	if (ctx->final == NULL || ctx->pubc == NULL || ctx->subc == NULL ||
	    ctx->pubst == NULL || ctx->subst == NULL)
		goto fail;
	memset(ctx->pubc, 0, sizeof(*ctx->pubc) * (p->pubs + 1));
	memset(ctx->subc, 0, sizeof(*ctx->subc) * (p->subs + 1));
	for (i = 0; i < p->pubs; i++) {
		hist_init(&ctx->pubst[i].pacer_lag);
		hist_init(&ctx->pubst[i].ack_lat);
	}
	for (i = 0; i < p->subs; i++) {
		hist_init(&ctx->subst[i].lat);
		hist_init(&ctx->subst[i].lat_to_router);
		hist_init(&ctx->subst[i].lat_from_router);
		if (seqcheck_init(&ctx->subst[i].sc, p->pubs) == -1)
			goto fail;
	}
	return (0);
fail:
	bench_ctx_free(ctx);
	return (-1);
}

void
bench_ctx_free(struct bench_ctx *ctx)
{
	unsigned	i;

	if (ctx->subst != NULL)
		for (i = 0; i < ctx->p->subs; i++)
			seqcheck_free(&ctx->subst[i].sc);
	free(ctx->final);
	free(ctx->pubc);
	free(ctx->subc);
	free(ctx->pubst);
	free(ctx->subst);
	ctx->final = NULL;
	ctx->pubc = ctx->subc = NULL;
	ctx->pubst = NULL;
	ctx->subst = NULL;
}

void
bench_pin_self(const struct bench_ctx *ctx)
{
	/*
	 * Timers fire on time, not up to 50 us late (the default slack):
	 * an open-loop sender that wakes late adds its lateness to every
	 * latency it measures.
	 */
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if (ctx->pin)
		pthread_setaffinity_np(pthread_self(), sizeof(ctx->client_cpus),
		    &ctx->client_cpus);
}

uint64_t
bench_share(uint64_t total, unsigned n, unsigned i)
{
	return (total / n + (i < total % n ? 1 : 0));
}

const struct bench_body *
bench_body_check(const struct bench_ctx *ctx, const unsigned char *body,
    size_t len, struct bench_body *tmp)
{
	if (body == NULL || len < sizeof(*tmp))
		return (NULL);
	memcpy(tmp, body, sizeof(*tmp));
	if (tmp->magic != BENCH_MAGIC || tmp->nonce != ctx->nonce ||
	    tmp->pub >= ctx->p->pubs)
		return (NULL);
	return (tmp);
}

bool
bench_sub_complete(struct bench_ctx *ctx, struct bench_substat *st)
{
	if (atomic_load_explicit(&ctx->pubs_done, memory_order_acquire) <
	    ctx->p->pubs)
		return (false);
	/* final[] was written before pubs_done counted its publisher. */
	return (seqcheck_complete(&st->sc, ctx->final));
}

bool
bench_sub_give_up(struct bench_ctx *ctx, uint64_t now_ns)
{
	uint64_t	dl;

	if (atomic_load_explicit(&ctx->stop, memory_order_relaxed))
		return (true);
	dl = atomic_load_explicit(&ctx->drain_deadline_ns,
	    memory_order_relaxed);
	return (dl != 0 && now_ns > dl);
}

uint64_t
bench_end_ns(const struct bench_ctx *ctx)
{
	const struct bench_params	*p = ctx->p;

	if (p->count > 0)
		return (0);
	return (ctx->measure_ns + (uint64_t)(p->duration_s * 1e9));
}

void
bench_pub_done(struct bench_ctx *ctx, unsigned idx, uint64_t n)
{
	ctx->final[idx] = n;
	atomic_fetch_add_explicit(&ctx->pubs_done, 1, memory_order_release);
}

static void
run_err_code(char *dst, size_t len, const char *code, size_t code_len)
{
	if (dst[0] != '\0')
		return;		/* the first one tells most */
	if (code == NULL) {
		code = "?";
		code_len = 1;
	}
	snprintf(dst, len, "%.*s", (int)code_len, code);
}

/* Published and delivered so far, from the progress counters. */
static void
run_counts(struct bench_ctx *ctx, uint64_t *pub, uint64_t *del)
{
	unsigned	i;

	*pub = *del = 0;
	for (i = 0; i < ctx->p->pubs; i++)
		*pub += atomic_load_explicit(&ctx->pubc[i].n,
		    memory_order_relaxed);
	for (i = 0; i < ctx->p->subs; i++)
		*del += atomic_load_explicit(&ctx->subc[i].n,
		    memory_order_relaxed);
}

/* The progress line: at most 4 a second on a terminal, 1 otherwise. */
static void
run_progress(struct bench_ctx *ctx, uint64_t now, uint64_t *last_ns,
    uint64_t *last_pub, uint64_t *last_del, bool tty, bool final)
{
	uint64_t	pub, del, dt;
	double		el;

	run_counts(ctx, &pub, &del);
	dt = now - *last_ns;
	if (!final && dt < (tty ? 250000000u : 1000000000u))
		return;
	/* A log gets whole lines as they come; a terminal's ends here. */
	if (final && !tty)
		return;
	el = now > ctx->t0_ns ? (now - ctx->t0_ns) / 1e9 : 0;
	fprintf(stderr, "%s%-8s %6.1fs  published %12llu (%6.3f M/s)  "
	    "delivered %12llu (%6.3f M/s)%s", tty ? "\r" : "", ctx->label, el,
	    (unsigned long long)pub, dt ? (pub - *last_pub) * 1e3 / dt : 0,
	    (unsigned long long)del, dt ? (del - *last_del) * 1e3 / dt : 0,
	    tty && !final ? "" : "\n");
	*last_ns = now;
	*last_pub = pub;
	*last_del = del;
}

static double
run_rusage_s(void)
{
	struct rusage	ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return (0);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
}

/* Where the measured window starts: time, CPU used so far and counts. */
struct run_mark {
	uint64_t	ns;
	double		cpu;		/* ours */
	double		srv;		/* the server's; < 0 unknown */
	double		log;		/* the log's Redis; < 0 none */
	double		sys;		/* the machine's; < 0 unknown */
	uint64_t	pub;
	uint64_t	del;
};

static void
run_mark_take(struct bench_ctx *ctx, struct run_mark *m, uint64_t ns)
{
	m->ns = ns;
	m->cpu = run_rusage_s();
	m->sys = bench_sys_busy_s();
	m->srv = ctx->server_pid > 0 ? bench_proc_cpu_s(ctx->server_pid) : -1;
	m->log = ctx->log_pid > 0 ? bench_proc_cpu_s(ctx->log_pid) : -1;
	run_counts(ctx, &m->pub, &m->del);
}

/*
 * Shows progress until every thread is done, or stops them on a signal or
 * a long stall. Takes the mark once the warm-up is over.
 */
static void
run_watch(struct bench_ctx *ctx, struct run_mark *m, bool warm)
{
	const struct bench_params	*p = ctx->p;
	struct timespec			 nap = { 0, 20 * 1000000 };
	uint64_t			 now, last_ns, lp = 0, ld = 0;
	uint64_t			 seen = 0, seen_at, sum;
	bool				 tty = isatty(STDERR_FILENO);

	last_ns = seen_at = ctx->t0_ns;
	for (;;) {
		nanosleep(&nap, NULL);
		now = bench_now_ns();
		if (warm && now >= ctx->measure_ns) {
			run_mark_take(ctx, m, now);
			warm = false;
		}
		if (bench_interrupted && !atomic_load(&ctx->stop)) {
			fprintf(stderr, "\ncallosum-bench: interrupted\n");
			atomic_store(&ctx->stop, 1);
		}
		run_progress(ctx, now, &last_ns, &lp, &ld, tty, false);
		if (atomic_load(&ctx->pubs_done) == p->pubs &&
		    atomic_load(&ctx->drain_deadline_ns) == 0)
			atomic_store(&ctx->drain_deadline_ns, now +
			    (uint64_t)(p->drain_s * 1e9));
		if (atomic_load(&ctx->pubs_done) == p->pubs &&
		    atomic_load(&ctx->subs_done) == p->subs)
			break;
		/* No progress at all for a long time: something hangs. */
		sum = lp + ld + atomic_load(&ctx->pubs_done);
		if (sum != seen) {
			seen = sum;
			seen_at = now;
		} else if (now - seen_at > RUN_STALL_NS &&
		    !atomic_load(&ctx->stop)) {
			fprintf(stderr, "\ncallosum-bench: no progress for "
			    "%llu s; giving up\n", (unsigned long long)
			    (RUN_STALL_NS / 1000000000u));
			atomic_store(&ctx->stop, 1);
		}
	}
	/* Ended inside the warm-up (stopped): the window is empty. */
	if (warm)
		run_mark_take(ctx, m, now);
	run_progress(ctx, bench_now_ns(), &last_ns, &lp, &ld, tty, true);
}

static void
run_first_err(struct bench_result *r, const char *err)
{
	if (r->first_err[0] == '\0' && err[0] != '\0')
		memcpy(r->first_err, err, sizeof(r->first_err));
}

/* Adds up what the threads counted; returns the last pub handled. */
static uint64_t
run_collect(struct bench_ctx *ctx, struct bench_result *r,
    uint64_t *t_last)
{
	const struct bench_params	*p = ctx->p;
	uint64_t			 t_end = 0, untimed = 0;
	unsigned			 i;

	for (i = 0; i < p->pubs; i++) {
		struct bench_pubstat	*ps = &ctx->pubst[i];

		r->published += ps->published;
		r->acks += ps->acks;
		r->err.err_frames += ps->err_frames;
		if (ps->with_id > ps->acks + ps->errs_id)
			r->err.missing_acks += ps->with_id - ps->acks -
			    ps->errs_id;
		r->err.bad_frames += ps->bad_frames;
		r->err.disconnects += ps->disconnects;
		hist_merge(&r->pacer_lag, &ps->pacer_lag);
		hist_merge(&r->ack_lat, &ps->ack_lat);
		untimed += ps->ack_untimed;
		if (ps->t_end_ns > t_end)
			t_end = ps->t_end_ns;
		run_first_err(r, ps->first_err);
	}
	if (untimed > 0)
		fprintf(stderr, "callosum-bench: %llu acks not timed (over %u "
		    "pubs awaited theirs)\n", (unsigned long long)untimed,
		    RUN_ACKQ_MAX);
	*t_last = 0;
	for (i = 0; i < p->subs; i++) {
		struct bench_substat	*ss = &ctx->subst[i];

		ss->lost = seqcheck_missing(&ss->sc, ctx->final);
		r->delivered += ss->delivered;
		r->lag_dropped += ss->lag_dropped;
		r->err.gaps += ss->sc.gaps;
		r->err.dups += ss->sc.dups;
		r->err.reorders += ss->sc.reorders;
		r->err.lost += ss->lost;
		r->err.err_frames += ss->err_frames;
		r->err.bad_frames += ss->bad_frames;
		r->err.disconnects += ss->disconnects;
		hist_merge(&r->lat, &ss->lat);
		hist_merge(&r->lat_to_router, &ss->lat_to_router);
		hist_merge(&r->lat_from_router, &ss->lat_from_router);
		if (ss->t_last_ns > *t_last)
			*t_last = ss->t_last_ns;
		run_first_err(r, ss->first_err);
	}
	return (t_end);
}

/* CPU over the window from m to now, as % of one CPU. */
static void
run_cpu(struct bench_ctx *ctx, const struct run_mark *m, uint64_t now,
    struct bench_result *r)
{
	struct run_mark	e;
	double		wall = (now - m->ns) / 1e9, other;

	if (wall <= 0)
		return;
	run_mark_take(ctx, &e, now);
	r->client_cpu_pct = (e.cpu - m->cpu) / wall * 100;
	if (m->srv >= 0 && e.srv >= 0)
		r->server_cpu_pct = (e.srv - m->srv) / wall * 100;
	if (m->log >= 0 && e.log >= 0)
		r->redis_log_cpu_pct = (e.log - m->log) / wall * 100;
	/*
	 * What the rest of the machine used meanwhile: a figure taken while
	 * others ran is not comparable (ticks are coarse: a few % is noise).
	 */
	if (m->sys >= 0 && e.sys >= 0 && r->server_cpu_pct >= 0) {
		other = (e.sys - m->sys) / wall * 100 - r->client_cpu_pct -
		    r->server_cpu_pct;
		if (r->redis_log_cpu_pct >= 0)
			other -= r->redis_log_cpu_pct;
		r->other_cpu_pct = other < 0 ? 0 : other;
	}
}

void
bench_drive(struct bench_ctx *ctx, pthread_t *threads, unsigned n,
    struct bench_result *r)
{
	const struct bench_params	*p = ctx->p;
	struct run_mark			 m;
	uint64_t			 now, t_end, t_last;
	unsigned			 i;

	run_mark_take(ctx, &m, 0);
	/* A little ahead, so every thread is past the barrier in time. */
	ctx->t0_ns = m.ns = bench_now_ns() + 2000000;
	ctx->measure_ns = ctx->t0_ns + (uint64_t)(p->warmup_s * 1e9);
	pthread_barrier_wait(&ctx->start);
	run_watch(ctx, &m, p->warmup_s > 0);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	now = bench_now_ns();
	run_cpu(ctx, &m, now, r);
	t_end = run_collect(ctx, r, &t_last);
	r->warm_published = m.pub;
	r->warm_delivered = m.del;
	r->expected = r->published * p->subs;
	r->open_loop = p->rate != 0;
	if (t_end > m.ns)
		r->duration_s = (t_end - m.ns) / 1e9;
	if (t_last > m.ns)
		r->deliver_s = (t_last - m.ns) / 1e9;
	bench_result_finish(r);
}

/* ---------------------------------------------------------------- */

/* The socket side both kinds of client share: fd and read buffer. */
struct run_io {
	struct client	*cl;		/* owns fd; set up the connection */
	int		 fd;
	struct event_base *base;
	struct event	*rev;
	struct event	*wev;
	struct event	*tick;
	unsigned char	*rbuf;
	size_t		 rcap;
	size_t		 rlen;
};

struct run_pub {
	struct bench_ctx	*ctx;
	unsigned		 idx;
	struct run_io		 io;
	struct bench_pubstat	*st;
	struct ackq		 ackq;		/* pubs with an id, unacked */
	struct bw_tmpl		 tmpl[2][2];	/* [cross][with id] */
	size_t			 frame_max;
	unsigned char		*obuf;
	size_t			 ocap;
	size_t			 olen;
	size_t			 ooff;
	uint64_t		 seq;
	uint64_t		 limit;		/* UINT64_MAX: by time */
	uint64_t		 end_ns;	/* 0: by count */
	bool			 open_loop;
	struct pacer		 pacer;
	uint64_t		 spin_ns;	/* see BENCH_SPIN_US; 0: off */
	struct event		*timer;
	int			 state;
#define RUN_PUB_SEND	0
#define RUN_PUB_FINISH	1
#define RUN_PUB_DONE	2
};

struct run_sub {
	struct bench_ctx	*ctx;
	unsigned		 idx;
	struct run_io		 io;
	struct bench_substat	*st;
	uint64_t		 sid;
	uint64_t		 consumed;	/* since the last grant */
	/*
	 * CLOCK_REALTIME - CLOCK_MONOTONIC, re-read every tick: NTP slews
	 * the one against the other (up to 500 ppm), 10 us per 20 ms.
	 */
	int64_t			 real_off_ns;
	unsigned char		 wbuf[4 * BW_SMALL_MAX];
	size_t			 wlen;
	bool			 done;
};

static int
run_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return (-1);
	return (fcntl(fd, F_SETFL, fl | O_NONBLOCK));
}

/* Connects and says hello. -1 with the reason on stderr. */
static int
run_connect(struct run_io *io, const char *sock, const char *agent,
    const char *session)
{
	struct client_hello	 h = { .agent = agent, .session = session };
	const char		*code;

	memset(io, 0, sizeof(*io));
	io->fd = -1;
	if ((io->cl = client_connect(sock)) == NULL) {
		fprintf(stderr, "callosum-bench: connect %s: %s\n", sock,
		    strerror(errno));
		return (-1);
	}
	if (client_hello(io->cl, &h, RUN_HELLO_MS, &code) == -1) {
		fprintf(stderr, "callosum-bench: hello: %s%s%s\n",
		    code ? code : strerror(errno), code ? ": " : "",
		    code ? client_err_msg(io->cl) : "");
		client_close(io->cl);
		io->cl = NULL;
		return (-1);
	}
	io->fd = client_fd(io->cl);
	return (0);
}

/* The loop side, made in the thread that runs it. */
static int
run_io_loop(struct run_io *io, event_callback_fn rcb, event_callback_fn wcb,
    event_callback_fn tcb, void *arg)
{
	struct event_config	*cfg;
	struct timeval		 tv = { 0, RUN_TICK_MS * 1000 };

	if ((cfg = event_config_new()) == NULL)
		return (-1);
	/* Open-loop pacing needs timers finer than epoll's milliseconds. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER |
	    EVENT_BASE_FLAG_NOLOCK);
	io->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	io->rcap = RUN_READ_BYTES;
	if (io->base == NULL || run_nonblock(io->fd) == -1 ||
	    (io->rbuf = malloc(io->rcap)) == NULL)
		return (-1);
	io->rev = event_new(io->base, io->fd, EV_READ | EV_PERSIST, rcb, arg);
	io->wev = event_new(io->base, io->fd, EV_WRITE | EV_PERSIST, wcb, arg);
	io->tick = event_new(io->base, -1, EV_PERSIST, tcb, arg);
	if (io->rev == NULL || io->wev == NULL || io->tick == NULL)
		return (-1);
	event_add(io->rev, NULL);
	event_add(io->tick, &tv);
	return (0);
}

static void
run_io_free(struct run_io *io)
{
	if (io->rev != NULL)
		event_free(io->rev);
	if (io->wev != NULL)
		event_free(io->wev);
	if (io->tick != NULL)
		event_free(io->tick);
	if (io->base != NULL)
		event_base_free(io->base);
	free(io->rbuf);
	client_close(io->cl);
	memset(io, 0, sizeof(*io));
}

/*
 * Reads once and hands each complete frame to fn. Returns 0, or -1 when
 * the connection is gone (EOF, error) or a frame is too large to hold.
 */
static int
run_io_read(struct run_io *io, int (*fn)(void *, const unsigned char *,
    uint32_t, uint64_t), void *arg, uint64_t *now)
{
	unsigned char	*p;
	size_t		 off = 0, need;
	ssize_t		 n;
	uint32_t	 len;

	n = read(io->fd, io->rbuf + io->rlen, io->rcap - io->rlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (0);
	if (n <= 0)
		return (-1);
	/* One clock read per read(): these frames all arrived by now. */
	*now = bench_now_ns();
	io->rlen += (size_t)n;
	while (io->rlen - off >= WIRE_HDR_LEN) {
		len = wire_frame_len(io->rbuf + off);
		need = WIRE_HDR_LEN + (size_t)len;
		if (len == 0 || len > RUN_FRAME_MAX)
			return (-1);
		if (io->rlen - off < need) {
			if (need > io->rcap) {
				/* Rare (a larger foreign frame): grow once. */
				if ((p = realloc(io->rbuf, need)) == NULL)
					return (-1);
				io->rbuf = p;
				io->rcap = need;
			}
			break;
		}
		if (fn(arg, io->rbuf + off + WIRE_HDR_LEN, len, *now) == -1)
			return (-1);
		off += need;
	}
	if (off > 0) {
		memmove(io->rbuf, io->rbuf + off, io->rlen - off);
		io->rlen -= off;
	}
	return (0);
}

/* ---------------------------------------------------------------- */

static void
run_pub_append(struct run_pub *rp, uint64_t ts, uint64_t sent)
{
	const struct bench_params	*p = rp->ctx->p;
	struct bench_body		 b;
	const struct bw_tmpl		*t;
	unsigned char			*dst;
	bool				 id;
	uint64_t			 s = rp->seq;

	id = p->ack_every != 0 && (s + 1) % p->ack_every == 0;
	t = &rp->tmpl[bench_is_cross(p->cross_pct, s)][id];
	dst = rp->obuf + rp->olen;
	memcpy(dst, t->buf, t->len);
	b.magic = BENCH_MAGIC;
	b.nonce = rp->ctx->nonce;
	b.pub = rp->idx;
	b.flags = 0;
	b.seq = s;
	b.ts_ns = ts;
	b.sent_ns = sent;
	memcpy(dst + t->body_off, &b, sizeof(b));
	if (id) {
		/* ids 1, 2, ...: the acks come back in this order. */
		bw_put_id(dst + t->id_off, (uint32_t)(++rp->st->with_id));
		if (ackq_push(&rp->ackq, (uint32_t)rp->st->with_id, sent) == -1)
			rp->st->ack_untimed++;
	}
	rp->olen += t->len;
	rp->seq++;
}

/* Writes the batch. 0 all written, 1 the socket is full, -1 error. */
static int
run_pub_flush(struct run_pub *rp)
{
	ssize_t	n;

	while (rp->ooff < rp->olen) {
		n = write(rp->io.fd, rp->obuf + rp->ooff, rp->olen - rp->ooff);
		if (n > 0) {
			rp->ooff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return (1);
		return (-1);
	}
	rp->olen = rp->ooff = 0;
	return (0);
}

static void
run_pub_fail(struct run_pub *rp)
{
	if (rp->state == RUN_PUB_DONE)
		return;
	rp->st->disconnects++;
	rp->state = RUN_PUB_DONE;
	rp->st->t_end_ns = bench_now_ns();
	bench_pub_done(rp->ctx, rp->idx, rp->seq);
	event_base_loopexit(rp->io.base, NULL);
}

/* Every pub is out: a ping, whose pong says the router handled them all. */
static void
run_pub_finish(struct run_pub *rp)
{
	rp->state = RUN_PUB_FINISH;
	rp->st->published = rp->seq;
	atomic_store_explicit(&rp->ctx->pubc[rp->idx].n, rp->seq,
	    memory_order_relaxed);
	if (rp->olen + BW_SMALL_MAX > rp->ocap) {
		/* No room behind the backlog: it goes after it. */
		if (run_pub_flush(rp) == -1) {
			run_pub_fail(rp);
			return;
		}
	}
	rp->olen += bw_ping(rp->obuf + rp->olen, RUN_PING_ID);
	switch (run_pub_flush(rp)) {
	case -1:
		run_pub_fail(rp);
		return;
	case 1:
		event_add(rp->io.wev, NULL);
		return;
	}
	event_del(rp->io.wev);
}

static bool
run_pub_over(struct run_pub *rp, uint64_t now)
{
	return (rp->seq >= rp->limit || (rp->end_ns != 0 &&
	    now >= rp->end_ns) || atomic_load_explicit(&rp->ctx->stop,
	    memory_order_relaxed));
}

/* Closed loop: refill and write until the socket is full. */
static void
run_pub_closed(struct run_pub *rp)
{
	uint64_t	now;
	int		i;

	for (i = 0; i < RUN_WRITES_PER_CB; i++) {
		if (rp->olen == 0) {
			now = bench_now_ns();
			if (run_pub_over(rp, now)) {
				run_pub_finish(rp);
				return;
			}
			/* Stamped just before its write: the send time. */
			while (rp->olen + rp->frame_max <= rp->ocap &&
			    rp->seq < rp->limit)
				run_pub_append(rp, now, now);
			atomic_store_explicit(&rp->ctx->pubc[rp->idx].n,
			    rp->seq, memory_order_relaxed);
		}
		switch (run_pub_flush(rp)) {
		case -1:
			run_pub_fail(rp);
			return;
		case 1:
			return;		/* EV_WRITE stays armed */
		}
	}
}

/*
 * Open loop: takes every send the pacer has due (each with its intended
 * time), writes, and sleeps until the next one. Backlog behind a full
 * socket stays bounded by ocap; the pacer then simply waits for room, and
 * the lateness shows in the latency of the messages it delayed.
 */
static void
run_pub_open(struct run_pub *rp)
{
	struct timeval	tv;
	uint64_t	now, due, next, ts, wait;
	bool		over = false;
	int		rc;

	if (rp->olen > 0 && (rc = run_pub_flush(rp)) != 0) {
		if (rc == -1)
			run_pub_fail(rp);
		else
			event_add(rp->io.wev, NULL);
		return;
	}
	/* The backlog is out: what follows is written from now on. */
	now = bench_now_ns();
	due = pacer_due(&rp->pacer, now);
	if (due > RUN_OPEN_TAKE_MAX)
		due = RUN_OPEN_TAKE_MAX;
	while (due-- > 0 && rp->olen + rp->frame_max <= rp->ocap) {
		if (rp->seq >= rp->limit || (rp->end_ns != 0 &&
		    pacer_next_ns(&rp->pacer) >= rp->end_ns)) {
			over = true;
			break;
		}
		ts = pacer_take(&rp->pacer);
		if (bench_measured(rp->ctx, ts))
			hist_record(&rp->st->pacer_lag, now - ts);
		run_pub_append(rp, ts, now);
	}
	atomic_store_explicit(&rp->ctx->pubc[rp->idx].n, rp->seq,
	    memory_order_relaxed);
	if ((rc = run_pub_flush(rp)) == -1) {
		run_pub_fail(rp);
		return;
	}
	if (!over)
		over = rp->seq >= rp->limit || (rp->end_ns != 0 &&
		    pacer_next_ns(&rp->pacer) >= rp->end_ns) ||
		    atomic_load_explicit(&rp->ctx->stop, memory_order_relaxed);
	if (rc == 1) {
		event_add(rp->io.wev, NULL);	/* resumes here when room */
		return;
	}
	event_del(rp->io.wev);
	if (over) {
		run_pub_finish(rp);
		return;
	}
	next = pacer_next_ns(&rp->pacer);
	now = bench_now_ns();
	wait = next > now ? next - now : 0;
	if (rp->spin_ns > 0) {
		if (wait <= rp->spin_ns) {
			/* Close: spin to it, then send from the loop. */
			while (bench_now_ns() < next)
				;
			event_active(rp->timer, EV_TIMEOUT, 0);
			return;
		}
		wait -= rp->spin_ns;
	}
	tv.tv_sec = (time_t)(wait / 1000000000u);
	tv.tv_usec = (suseconds_t)(wait % 1000000000u / 1000);
	evtimer_add(rp->timer, &tv);
}

static void
run_pub_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_pub	*rp = arg;

	(void)fd;
	(void)what;
	if (rp->state == RUN_PUB_FINISH) {
		switch (run_pub_flush(rp)) {
		case -1:
			run_pub_fail(rp);
			break;
		case 0:
			event_del(rp->io.wev);
			break;
		}
		return;
	}
	if (rp->state != RUN_PUB_SEND)
		return;
	if (rp->open_loop)
		run_pub_open(rp);
	else
		run_pub_closed(rp);
}

/* Open loop: the next send is due. Closed loop: t0, start writing. */
static void
run_pub_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_pub	*rp = arg;

	(void)fd;
	(void)what;
	if (rp->state != RUN_PUB_SEND)
		return;
	if (rp->open_loop)
		run_pub_open(rp);
	else
		event_add(rp->io.wev, NULL);
}

/*
 * The answer to a pub with an id: an ack's time since that pub's write
 * counts when the write fell in the measured window; an err's does not.
 */
static void
run_pub_answered(struct run_pub *rp, const struct bw_frame *f, bool ack,
    uint64_t now)
{
	uint64_t	t;

	if (!f->has_id || !ackq_pop(&rp->ackq, (uint32_t)f->id, &t))
		return;
	if (ack && bench_measured(rp->ctx, t))
		hist_record(&rp->st->ack_lat, now > t ? now - t : 0);
}

static int
run_pub_frame(void *arg, const unsigned char *body, uint32_t len,
    uint64_t now)
{
	struct run_pub	*rp = arg;
	struct bw_frame	 f;

	if (bw_parse(body, len, &f) == -1) {
		rp->st->bad_frames++;
		return (0);
	}
	switch (f.op) {
	case BW_OP_ACK:
		rp->st->acks++;
		run_pub_answered(rp, &f, true, now);
		break;
	case BW_OP_ERR:
		rp->st->err_frames++;
		if (f.has_id)
			rp->st->errs_id++;
		run_pub_answered(rp, &f, false, now);
		run_err_code(rp->st->first_err, sizeof(rp->st->first_err),
		    f.code, f.code_len);
		break;
	case BW_OP_PONG:
		if (rp->state != RUN_PUB_FINISH)
			break;
		rp->state = RUN_PUB_DONE;
		rp->st->t_end_ns = now;
		bench_pub_done(rp->ctx, rp->idx, rp->seq);
		event_base_loopexit(rp->io.base, NULL);
		break;
	case BW_OP_BYE:
		return (-1);
	default:
		rp->st->bad_frames++;
		break;
	}
	return (0);
}

static void
run_pub_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_pub	*rp = arg;
	uint64_t	 now;

	(void)fd;
	(void)what;
	if (run_io_read(&rp->io, run_pub_frame, rp, &now) == -1)
		run_pub_fail(rp);
}

static void
run_pub_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_pub	*rp = arg;

	(void)fd;
	(void)what;
	/* Stopped, maybe behind a full socket or waiting for a pong that
	 * may never come: what was sent is what the subscribers expect. */
	if (rp->state != RUN_PUB_DONE &&
	    atomic_load_explicit(&rp->ctx->stop, memory_order_relaxed)) {
		rp->state = RUN_PUB_DONE;
		rp->st->t_end_ns = bench_now_ns();
		bench_pub_done(rp->ctx, rp->idx, rp->seq);
		event_base_loopexit(rp->io.base, NULL);
	}
}

static void *
run_pub_thread(void *arg)
{
	struct run_pub			*rp = arg;
	struct bench_ctx		*ctx = rp->ctx;
	const struct bench_params	*p = ctx->p;
	struct timeval			 tv;
	uint64_t			 rate, step, now, wait;
	bool				 ok;

	bench_pin_self(ctx);
	ok = run_io_loop(&rp->io, run_pub_read_cb, run_pub_write_cb,
	    run_pub_tick_cb, rp) == 0 &&
	    (rp->timer = evtimer_new(rp->io.base, run_pub_timer_cb, rp)) !=
	    NULL;
	pthread_barrier_wait(&ctx->start);
	if (!ok) {
		fprintf(stderr, "callosum-bench: publisher %u: loop setup "
		    "failed\n", rp->idx);
		run_pub_fail(rp);
		return (NULL);
	}
	rp->limit = p->count > 0 ? bench_share(p->count, p->pubs, rp->idx) :
	    UINT64_MAX;
	rp->end_ns = bench_end_ns(ctx);
	if (rp->open_loop) {
		/* Publishers start staggered across one total interval. */
		rate = bench_share(p->rate, p->pubs, rp->idx);
		step = 1000000000u / p->rate;
		pacer_init(&rp->pacer, ctx->t0_ns + rp->idx * step, rate);
		/*
		 * All publishers together spin spin_us per send: at most
		 * half a CPU, or the subscribers on the same CPUs starve.
		 */
		if ((uint64_t)p->spin_us * 2 * p->rate <= 1000000u)
			rp->spin_ns = (uint64_t)p->spin_us * 1000;
		event_active(rp->timer, EV_TIMEOUT, 0);
	} else {
		/* Everyone starts at t0, the origin of every time. */
		now = bench_now_ns();
		wait = ctx->t0_ns > now ? ctx->t0_ns - now : 0;
		tv.tv_sec = (time_t)(wait / 1000000000u);
		tv.tv_usec = (suseconds_t)(wait % 1000000000u / 1000);
		evtimer_add(rp->timer, &tv);
	}
	event_base_dispatch(rp->io.base);
	if (rp->state != RUN_PUB_DONE)
		run_pub_fail(rp);
	rp->st->published = rp->seq;
	return (NULL);
}

/* ---------------------------------------------------------------- */

static int
run_sub_write(struct run_sub *rs)
{
	ssize_t	n;

	while (rs->wlen > 0) {
		n = write(rs->io.fd, rs->wbuf, rs->wlen);
		if (n > 0) {
			memmove(rs->wbuf, rs->wbuf + n, rs->wlen - (size_t)n);
			rs->wlen -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			event_add(rs->io.wev, NULL);
			return (0);
		}
		return (-1);
	}
	event_del(rs->io.wev);
	return (0);
}

/*
 * Grants what was consumed since the last grant. When the router is not
 * reading our reqs (wbuf full) the grant waits: consumed keeps growing
 * and goes out whole with the next one.
 */
static int
run_sub_grant(struct run_sub *rs)
{
	if (rs->wlen + BW_SMALL_MAX > sizeof(rs->wbuf))
		return (0);
	rs->wlen += bw_req(rs->wbuf + rs->wlen, rs->sid, rs->consumed);
	rs->consumed = 0;
	return (run_sub_write(rs));
}

static void
run_sub_end(struct run_sub *rs)
{
	if (rs->done)
		return;
	rs->done = true;
	event_base_loopexit(rs->io.base, NULL);
}

/*
 * Splits a delivery's latency after the pacer's lag at the router's ts
 * (its clock when it read the pub, in us): written -> read by the router,
 * router -> delivered. A difference below zero (clock grain) counts as 0.
 */
static void
run_sub_split(struct run_sub *rs, const struct bw_frame *f,
    const struct bench_body *b, uint64_t now)
{
	int64_t	at = (int64_t)f->ts_us * 1000 - rs->real_off_ns;
	int64_t	to = at - (int64_t)b->sent_ns, from = (int64_t)now - at;

	hist_record(&rs->st->lat_to_router, to > 0 ? (uint64_t)to : 0);
	hist_record(&rs->st->lat_from_router, from > 0 ? (uint64_t)from : 0);
}

static int
run_sub_frame(void *arg, const unsigned char *body, uint32_t len,
    uint64_t now)
{
	struct run_sub		*rs = arg;
	struct bench_substat	*st = rs->st;
	const struct bench_body	*b;
	struct bench_body	 tmp;
	struct bw_frame		 f;

	if (bw_parse(body, len, &f) == -1) {
		st->bad_frames++;
		return (0);
	}
	switch (f.op) {
	case BW_OP_MSG:
		rs->consumed++;
		if (!f.has_sid || f.sid != rs->sid ||
		    (b = bench_body_check(rs->ctx, f.body, f.body_len,
		    &tmp)) == NULL) {
			/* Someone else's traffic on a shared router. */
			if (rs->ctx->private_server)
				st->bad_frames++;
			break;
		}
		st->delivered++;
		st->t_last_ns = now;
		if (bench_measured(rs->ctx, b->ts_ns)) {
			hist_record(&st->lat, now > b->ts_ns ?
			    now - b->ts_ns : 0);
			if (f.has_ts)
				run_sub_split(rs, &f, b, now);
		}
		seqcheck_msg(&st->sc, b->pub, b->seq);
		break;
	case BW_OP_LAG:
		st->lag_dropped += f.dropped;
		seqcheck_lag(&st->sc, f.dropped);
		break;
	case BW_OP_ERR:
		st->err_frames++;
		run_err_code(st->first_err, sizeof(st->first_err), f.code,
		    f.code_len);
		break;
	case BW_OP_BYE:
		return (-1);
	default:
		break;
	}
	return (0);
}

static void
run_sub_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_sub	*rs = arg;
	uint64_t	 now = 0;

	(void)fd;
	(void)what;
	if (run_io_read(&rs->io, run_sub_frame, rs, &now) == -1) {
		rs->st->disconnects++;
		run_sub_end(rs);
		return;
	}
	atomic_store_explicit(&rs->ctx->subc[rs->idx].n, rs->st->delivered,
	    memory_order_relaxed);
	if (rs->consumed >= rs->ctx->p->credit / 2 &&
	    run_sub_grant(rs) == -1) {
		rs->st->disconnects++;
		run_sub_end(rs);
		return;
	}
	if (bench_sub_complete(rs->ctx, rs->st))
		run_sub_end(rs);
}

static void
run_sub_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_sub	*rs = arg;

	(void)fd;
	(void)what;
	if (run_sub_write(rs) == -1) {
		rs->st->disconnects++;
		run_sub_end(rs);
	}
}

static void
run_sub_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run_sub	*rs = arg;

	(void)fd;
	(void)what;
	rs->real_off_ns = bench_real_offset_ns();
	if (bench_sub_complete(rs->ctx, rs->st) ||
	    bench_sub_give_up(rs->ctx, bench_now_ns()))
		run_sub_end(rs);
}

static void *
run_sub_thread(void *arg)
{
	struct run_sub		*rs = arg;
	struct bench_ctx	*ctx = rs->ctx;
	bool			 ok;

	bench_pin_self(ctx);
	ok = run_io_loop(&rs->io, run_sub_read_cb, run_sub_write_cb,
	    run_sub_tick_cb, rs) == 0;
	if (ok) {
		rs->consumed = ctx->p->credit;	/* the first grant */
		rs->real_off_ns = bench_real_offset_ns();
		ok = run_sub_grant(rs) == 0;
	}
	pthread_barrier_wait(&ctx->start);
	if (!ok) {
		fprintf(stderr, "callosum-bench: subscriber %u: setup failed\n",
		    rs->idx);
		rs->st->disconnects++;
	} else
		event_base_dispatch(rs->io.base);
	atomic_store_explicit(&ctx->subc[rs->idx].n, rs->st->delivered,
	    memory_order_relaxed);
	atomic_fetch_add(&ctx->subs_done, 1);
	return (NULL);
}

/* Subscribes with credit 0 on the blocking client, before the loop. */
static int
run_sub_setup(struct run_sub *rs)
{
	const struct bench_params	*p = rs->ctx->p;
	msgpack_packer			*pk;
	msgpack_object			 reply;
	struct wire_str			 code;
	uint64_t			 id = 1;

	rs->sid = 1;
	if ((pk = client_begin(rs->io.cl)) == NULL)
		return (-1);
	msgpack_pack_map(pk, 6);
	wire_pack_cstr(pk, "op");
	wire_pack_cstr(pk, "sub");
	wire_pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, rs->sid);
	wire_pack_cstr(pk, "tract");
	wire_pack_cstr(pk, "external");
	wire_pack_cstr(pk, "credit");
	msgpack_pack_uint64(pk, 0);
	wire_pack_cstr(pk, "overflow");
	wire_pack_cstr(pk, p->overflow == BENCH_OVERFLOW_DROP ? "drop" :
	    "block");
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, id);
	if (client_call(rs->io.cl, id, RUN_HELLO_MS, &reply, NULL, NULL) != 1) {
		fprintf(stderr, "callosum-bench: sub: no answer: %s\n",
		    strerror(errno));
		return (-1);
	}
	if (client_frame_op(&reply) != WIRE_OP_ACK) {
		if (!client_get_str(&reply, "code", &code)) {
			code.ptr = "?";
			code.len = 1;
		}
		fprintf(stderr, "callosum-bench: sub refused: %.*s\n",
		    (int)code.len, code.ptr);
		return (-1);
	}
	return (0);
}

static int
run_pub_setup(struct run_pub *rp)
{
	const struct bench_params	*p = rp->ctx->p;
	int				 x, i;

	for (x = 0; x < 2; x++)
		for (i = 0; i < 2; i++) {
			if (bw_pub_tmpl(&rp->tmpl[x][i], "external",
			    x ? "internal" : "external", p->size, i) == -1)
				return (-1);
			if (rp->tmpl[x][i].len > rp->frame_max)
				rp->frame_max = rp->tmpl[x][i].len;
		}
	if (rp->frame_max - WIRE_HDR_LEN > client_max_frame(rp->io.cl)) {
		fprintf(stderr, "callosum-bench: a %zu-byte frame is over the "
		    "router's max_frame %llu\n", rp->frame_max,
		    (unsigned long long)client_max_frame(rp->io.cl));
		return (-1);
	}
	rp->open_loop = p->rate != 0;
	rp->ocap = rp->open_loop ? RUN_OPEN_BYTES : RUN_BATCH_BYTES;
	if (rp->ocap < 2 * rp->frame_max + BW_SMALL_MAX)
		rp->ocap = 2 * rp->frame_max + BW_SMALL_MAX;
	if ((rp->obuf = malloc(rp->ocap)) == NULL)
		return (-1);
	if (p->ack_every != 0 && ackq_init(&rp->ackq, RUN_ACKQ_MAX) == -1)
		return (-1);
	return (0);
}

int
bench_run_callosum(struct bench_ctx *ctx, struct bench_result *r)
{
	const struct bench_params	*p = ctx->p;
	struct run_pub			*pubs;
	struct run_sub			*subs;
	pthread_t			*th;
	char				 agent[64], session[32];
	unsigned			 i, j, n = 0;
	int				 rc = BENCH_EX_UNAVAILABLE;

	pubs = calloc(p->pubs, sizeof(*pubs));
	subs = calloc(p->subs + 1, sizeof(*subs));
	th = calloc(p->pubs + p->subs, sizeof(*th));
	if (pubs == NULL || subs == NULL || th == NULL) {
		fprintf(stderr, "callosum-bench: out of memory\n");
		goto out;
	}
	snprintf(session, sizeof(session), "%08x", ctx->nonce);
	/* Subscribers first: nothing published may miss them. */
	for (i = 0; i < p->subs; i++) {
		subs[i].ctx = ctx;
		subs[i].idx = i;
		subs[i].st = &ctx->subst[i];
		snprintf(agent, sizeof(agent), "bench-sub-%u", i);
		if (run_connect(&subs[i].io, p->socket, agent, session) == -1 ||
		    run_sub_setup(&subs[i]) == -1)
			goto out;
	}
	for (i = 0; i < p->pubs; i++) {
		pubs[i].ctx = ctx;
		pubs[i].idx = i;
		pubs[i].st = &ctx->pubst[i];
		snprintf(agent, sizeof(agent), "bench-pub-%u", i);
		if (run_connect(&pubs[i].io, p->socket, agent, session) == -1)
			goto out;
		if (run_pub_setup(&pubs[i]) == -1) {
			rc = BENCH_EX_USAGE;
			goto out;
		}
	}
	if (pthread_barrier_init(&ctx->start, NULL, p->pubs + p->subs + 1)) {
		fprintf(stderr, "callosum-bench: no barrier\n");
		goto out;
	}
	for (i = 0; i < p->subs; i++, n++)
		if (pthread_create(&th[n], NULL, run_sub_thread, &subs[i]))
			abort();	/* a started barrier cannot unwind */
	for (i = 0; i < p->pubs; i++, n++)
		if (pthread_create(&th[n], NULL, run_pub_thread, &pubs[i]))
			abort();
	bench_drive(ctx, th, n, r);
	pthread_barrier_destroy(&ctx->start);
	rc = 0;
out:
	for (i = 0; pubs != NULL && i < p->pubs; i++) {
		if (pubs[i].timer != NULL)
			event_free(pubs[i].timer);	/* before its base */
		run_io_free(&pubs[i].io);
		for (j = 0; j < 4; j++)
			bw_tmpl_free(&pubs[i].tmpl[j / 2][j % 2]);
		free(pubs[i].obuf);
		ackq_free(&pubs[i].ackq);
	}
	for (i = 0; subs != NULL && i < p->subs; i++)
		run_io_free(&subs[i].io);
	free(pubs);
	free(subs);
	free(th);
	return (rc);
}
