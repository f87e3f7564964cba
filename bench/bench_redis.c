/*
 * bench_redis: the same workload over Redis pub/sub, for comparison.
 *
 * Same threads, bodies, pacing and checks as bench_run.c; the protocol is
 * RESP through hiredis. Publishers append PUBLISH commands in batches
 * (redisAppendFormattedCommand of a prebuilt command, patched per message)
 * and write each batch at once, keeping at most RD_WINDOW replies
 * outstanding; subscribers SUBSCRIBE and read. Both read the socket
 * themselves, 256 KiB at a time like the Callosum clients, and feed
 * hiredis' reader, whose reply functions are replaced by ones that count
 * and check in place: no allocation per message on either side.
 * Redis has no demand and no tracts: --credit, --overflow and --cross do
 * not apply (every message goes to channel "external").
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench/bench_run.h"
#include "bench/pacer.h"

#define RD_BATCH	256	/* PUBLISH commands per write */
#define RD_WINDOW	1024	/* replies outstanding at most */
#define RD_READ_BYTES	(256 * 1024)
#define RD_POLL_MS	20
#define RD_CHANNEL	"external"

/* The thread's state, for the reply functions (one reader per thread). */
struct rd_state {
	struct bench_ctx	*ctx;
	unsigned		 idx;
	bool			 is_pub;
	struct bench_pubstat	*ps;
	struct bench_substat	*ss;
	redisContext		*c;
	unsigned char		*rbuf;
	uint64_t		 now;		/* of the read being parsed */
	bool			 in_message;	/* array element 0 said so */
	uint64_t		 replies;	/* top-level replies read */

	/* publisher */
	char			*cmd;		/* one PUBLISH, prebuilt */
	size_t			 cmd_len;
	size_t			 body_off;
	uint64_t		 seq;
	uint64_t		 limit;
	uint64_t		 end_ns;
	uint64_t		 outstanding;
	struct pacer		 pacer;
	bool			 failed;
};

static _Thread_local struct rd_state	*rd_cur;
static char				 rd_obj;	/* every "object" */

static void
rd_payload(struct rd_state *s, const unsigned char *p, size_t len)
{
	struct bench_substat	*st = s->ss;
	const struct bench_body	*b;
	struct bench_body	 tmp;

	if ((b = bench_body_check(s->ctx, p, len, &tmp)) == NULL) {
		if (s->ctx->private_server)
			st->bad_frames++;
		return;
	}
	st->delivered++;
	st->t_last_ns = s->now;
	if (bench_measured(s->ctx, b->ts_ns))
		hist_record(&st->lat, s->now > b->ts_ns ? s->now - b->ts_ns :
		    0);
	seqcheck_msg(&st->sc, b->pub, b->seq);
}

static void *
rd_create_string(const redisReadTask *task, char *str, size_t len)
{
	struct rd_state	*s = rd_cur;

	if (task->type == REDIS_REPLY_ERROR && task->parent == NULL) {
		if (s->is_pub) {
			s->ps->err_frames++;
			s->ps->errs_id++;	/* every PUBLISH is answered */
			snprintf(s->ps->first_err, sizeof(s->ps->first_err),
			    "%.*s", (int)(len > 40 ? 40 : len), str);
		} else
			s->ss->err_frames++;
		return (&rd_obj);
	}
	if (s->is_pub || task->parent == NULL)
		return (&rd_obj);
	/* A push: ["message", channel, payload]. */
	if (task->idx == 0)
		s->in_message = len == 7 && memcmp(str, "message", 7) == 0;
	else if (task->idx == 2 && s->in_message)
		rd_payload(s, (const unsigned char *)str, len);
	return (&rd_obj);
}

static void *
rd_create_array(const redisReadTask *task, int n)
{
	(void)task;
	(void)n;
	rd_cur->in_message = false;
	return (&rd_obj);
}

static void *
rd_create_integer(const redisReadTask *task, long long v)
{
	(void)v;
	/* PUBLISH answers the number of receivers: it was accepted. */
	if (rd_cur->is_pub && task->parent == NULL)
		rd_cur->ps->acks++;
	return (&rd_obj);
}

static void *
rd_create_nil(const redisReadTask *task)
{
	(void)task;
	return (&rd_obj);
}

static void
rd_free_object(void *o)
{
	(void)o;
}

static redisReplyObjectFunctions rd_fns = {
	rd_create_string,
	rd_create_array,
	rd_create_integer,
	rd_create_nil,
	rd_free_object
};

/*
 * Reads what the socket has (waiting up to wait_ms) and parses every
 * complete reply. 0, or -1 when the connection is gone or RESP is bad.
 */
static int
rd_read(struct rd_state *s, int wait_ms)
{
	struct pollfd	 pfd = { .fd = s->c->fd, .events = POLLIN };
	void		*reply;
	ssize_t		 n;
	int		 rc;

	if ((rc = poll(&pfd, 1, wait_ms)) <= 0)
		return (rc == -1 && errno != EINTR ? -1 : 0);
	n = read(s->c->fd, s->rbuf, RD_READ_BYTES);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return (0);
	if (n <= 0)
		return (-1);
	s->now = bench_now_ns();
	if (redisReaderFeed(s->c->reader, (const char *)s->rbuf, (size_t)n) !=
	    REDIS_OK)
		return (-1);
	for (;;) {
		if (redisReaderGetReply(s->c->reader, &reply) != REDIS_OK)
			return (-1);
		if (reply == NULL)
			return (0);
		s->replies++;
	}
}

static bool
rd_pub_over(struct rd_state *s, uint64_t t)
{
	return (s->seq >= s->limit || (s->end_ns != 0 && t >= s->end_ns) ||
	    atomic_load_explicit(&s->ctx->stop, memory_order_relaxed));
}

static int
rd_pub_append(struct rd_state *s, uint64_t ts)
{
	struct bench_body	b;

	b.magic = BENCH_MAGIC;
	b.nonce = s->ctx->nonce;
	b.pub = s->idx;
	b.flags = 0;
	b.seq = s->seq++;
	b.ts_ns = ts;
	b.sent_ns = ts;		/* no split for Redis: it stamps nothing */
	memcpy(s->cmd + s->body_off, &b, sizeof(b));
	s->ps->with_id++;	/* every PUBLISH is answered */
	s->outstanding++;
	return (redisAppendFormattedCommand(s->c, s->cmd, s->cmd_len));
}

/* Writes every appended command (the socket blocks). 0 or -1. */
static int
rd_pub_write(struct rd_state *s)
{
	int	done = 0;

	while (!done)
		if (redisBufferWrite(s->c, &done) != REDIS_OK)
			return (-1);
	return (0);
}

/*
 * With wait, reads replies until at most max are outstanding; without,
 * only those already there. 0 or -1.
 */
static int
rd_pub_settle(struct rd_state *s, uint64_t max, bool wait)
{
	for (;;) {
		if (wait && s->outstanding <= max)
			return (0);
		if (rd_read(s, wait ? RD_POLL_MS : 0) == -1)
			return (-1);
		s->outstanding -= s->replies < s->outstanding ? s->replies :
		    s->outstanding;
		s->replies = 0;
		if (!wait || atomic_load_explicit(&s->ctx->stop,
		    memory_order_relaxed))
			return (0);
	}
}

static void
rd_sleep_until(uint64_t t_ns)
{
	struct timespec	ts = { (time_t)(t_ns / 1000000000u),
			    (long)(t_ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

static int
rd_pub_closed(struct rd_state *s)
{
	uint64_t	now;
	unsigned	i;

	for (;;) {
		now = bench_now_ns();
		if (rd_pub_over(s, now))
			return (0);
		/* Stamped just before the batch is written. */
		for (i = 0; i < RD_BATCH && s->seq < s->limit; i++)
			if (rd_pub_append(s, now) != REDIS_OK)
				return (-1);
		if (rd_pub_write(s) == -1)
			return (-1);
		atomic_store_explicit(&s->ctx->pubc[s->idx].n, s->seq,
		    memory_order_relaxed);
		if (rd_pub_settle(s, RD_WINDOW - RD_BATCH, true) == -1)
			return (-1);
	}
}

static int
rd_pub_open(struct rd_state *s)
{
	uint64_t	now, due, ts;

	for (;;) {
		now = bench_now_ns();
		due = pacer_due(&s->pacer, now);
		while (due-- > 0 && !rd_pub_over(s, pacer_next_ns(&s->pacer))) {
			ts = pacer_take(&s->pacer);
			if (bench_measured(s->ctx, ts))
				hist_record(&s->ps->pacer_lag, now - ts);
			if (rd_pub_append(s, ts) != REDIS_OK)
				return (-1);
		}
		if (rd_pub_write(s) == -1)
			return (-1);
		atomic_store_explicit(&s->ctx->pubc[s->idx].n, s->seq,
		    memory_order_relaxed);
		if (rd_pub_settle(s, RD_WINDOW, s->outstanding > RD_WINDOW) ==
		    -1)
			return (-1);
		if (rd_pub_over(s, pacer_next_ns(&s->pacer)))
			return (0);
		rd_sleep_until(pacer_next_ns(&s->pacer));
	}
}

static void *
rd_pub_thread(void *arg)
{
	struct rd_state			*s = arg;
	struct bench_ctx		*ctx = s->ctx;
	const struct bench_params	*p = ctx->p;
	uint64_t			 rate, step;
	int				 rc;

	bench_pin_self(ctx);
	rd_cur = s;
	pthread_barrier_wait(&ctx->start);
	s->limit = p->count > 0 ? bench_share(p->count, p->pubs, s->idx) :
	    UINT64_MAX;
	s->end_ns = bench_end_ns(ctx);
	if (p->rate != 0) {
		rate = bench_share(p->rate, p->pubs, s->idx);
		step = 1000000000u / p->rate;
		pacer_init(&s->pacer, ctx->t0_ns + s->idx * step, rate);
		rc = rd_pub_open(s);
	} else {
		/* Wait for t0 like the pacer does, so the clocks agree. */
		rd_sleep_until(ctx->t0_ns);
		rc = rd_pub_closed(s);
	}
	/* Every reply read: Redis has handled every PUBLISH. */
	if (rc == 0 && rd_pub_settle(s, 0, true) == -1)
		rc = -1;
	if (rc == -1)
		s->ps->disconnects++;
	s->ps->published = s->seq;
	s->ps->t_end_ns = bench_now_ns();
	atomic_store_explicit(&ctx->pubc[s->idx].n, s->seq,
	    memory_order_relaxed);
	bench_pub_done(ctx, s->idx, s->seq);
	return (NULL);
}

static void *
rd_sub_thread(void *arg)
{
	struct rd_state		*s = arg;
	struct bench_ctx	*ctx = s->ctx;

	bench_pin_self(ctx);
	rd_cur = s;
	pthread_barrier_wait(&ctx->start);
	while (!bench_sub_complete(ctx, s->ss) &&
	    !bench_sub_give_up(ctx, bench_now_ns())) {
		if (rd_read(s, RD_POLL_MS) == -1) {
			s->ss->disconnects++;
			break;
		}
		atomic_store_explicit(&ctx->subc[s->idx].n, s->ss->delivered,
		    memory_order_relaxed);
	}
	atomic_store_explicit(&ctx->subc[s->idx].n, s->ss->delivered,
	    memory_order_relaxed);
	atomic_fetch_add(&ctx->subs_done, 1);
	return (NULL);
}

/* The PUBLISH command, RESP-encoded once; the body is patched per send. */
static int
rd_pub_cmd(struct rd_state *s, size_t size)
{
	char	head[128];
	int	n;

	n = snprintf(head, sizeof(head), "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s"
	    "\r\n$%zu\r\n", strlen(RD_CHANNEL), RD_CHANNEL, size);
	s->cmd_len = (size_t)n + size + 2;
	if ((s->cmd = calloc(1, s->cmd_len)) == NULL)
		return (-1);
	memcpy(s->cmd, head, (size_t)n);
	memcpy(s->cmd + n + size, "\r\n", 2);
	s->body_off = (size_t)n;
	return (0);
}

static int
rd_connect(struct rd_state *s, const char *sock)
{
	if ((s->c = redisConnectUnix(sock)) == NULL || s->c->err) {
		fprintf(stderr, "callosum-bench: redis %s: %s\n", sock,
		    s->c ? s->c->errstr : "out of memory");
		return (-1);
	}
	if ((s->rbuf = malloc(RD_READ_BYTES)) == NULL)
		return (-1);
	return (0);
}

static int
rd_subscribe(struct rd_state *s)
{
	redisReply	*rep;
	int		 ok;

	rep = redisCommand(s->c, "SUBSCRIBE %s", RD_CHANNEL);
	ok = rep != NULL && rep->type == REDIS_REPLY_ARRAY;
	if (rep != NULL)
		freeReplyObject(rep);
	if (!ok) {
		fprintf(stderr, "callosum-bench: redis SUBSCRIBE failed: %s\n",
		    s->c->errstr);
		return (-1);
	}
	/* From here on, replies are counted in place (see rd_fns). */
	s->c->reader->fn = &rd_fns;
	return (0);
}

int
bench_run_redis(struct bench_ctx *ctx, const char *sock,
    struct bench_result *r)
{
	const struct bench_params	*p = ctx->p;
	struct rd_state			*st;
	pthread_t			*th;
	unsigned			 i, n = 0, total = p->pubs + p->subs;
	int				 rc = BENCH_EX_UNAVAILABLE;

	st = calloc(total, sizeof(*st));
	th = calloc(total, sizeof(*th));
	if (st == NULL || th == NULL)
		goto out;
	for (i = 0; i < total; i++) {
		st[i].ctx = ctx;
		st[i].is_pub = i >= p->subs;
		st[i].idx = st[i].is_pub ? i - p->subs : i;
		if (rd_connect(&st[i], sock) == -1)
			goto out;
		if (st[i].is_pub) {
			st[i].ps = &ctx->pubst[st[i].idx];
			if (rd_pub_cmd(&st[i], p->size) == -1)
				goto out;
			st[i].c->reader->fn = &rd_fns;
		} else {
			st[i].ss = &ctx->subst[st[i].idx];
			if (rd_subscribe(&st[i]) == -1)
				goto out;
		}
	}
	if (pthread_barrier_init(&ctx->start, NULL, total + 1))
		goto out;
	for (i = 0; i < total; i++, n++)
		if (pthread_create(&th[n], NULL, st[i].is_pub ? rd_pub_thread :
		    rd_sub_thread, &st[i]))
			abort();	/* a started barrier cannot unwind */
	bench_drive(ctx, th, n, r);
	pthread_barrier_destroy(&ctx->start);
	rc = 0;
out:
	for (i = 0; st != NULL && i < total; i++) {
		if (st[i].c != NULL)
			redisFree(st[i].c);
		free(st[i].rbuf);
		free(st[i].cmd);
	}
	free(st);
	free(th);
	return (rc);
}
