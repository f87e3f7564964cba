/*
 * bench_verify: the delivery check of one subscriber, the queue that times
 * a publisher's acks, and the arithmetic of a result. The check: exactly
 * once and in order, per publisher: seq must be the next one expected.
 * Above it is a gap (explained when lag frames announced at least that
 * many drops), below it a duplicate or a late message.
 */
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

void
bench_params_init(struct bench_params *p)
{
	memset(p, 0, sizeof(*p));
	p->pubs = 1;
	p->subs = 1;
	p->size = 64;
	p->credit = 4096;
	p->overflow = BENCH_OVERFLOW_BLOCK;
	p->ack_every = 1024;
	p->drain_s = 5;
	p->spin_us = BENCH_SPIN_US;
}

int
seqcheck_init(struct seqcheck *sc, unsigned npubs)
{
	memset(sc, 0, sizeof(*sc));
	sc->npubs = npubs;
	sc->next = calloc(npubs, sizeof(*sc->next));
	sc->gap_lo = calloc(npubs, sizeof(*sc->gap_lo));
	sc->gap_hi = calloc(npubs, sizeof(*sc->gap_hi));
	if (sc->next == NULL || sc->gap_lo == NULL || sc->gap_hi == NULL) {
		seqcheck_free(sc);
		return (-1);
	}
	return (0);
}

void
seqcheck_free(struct seqcheck *sc)
{
	free(sc->next);
	free(sc->gap_lo);
	free(sc->gap_hi);
	sc->next = sc->gap_lo = sc->gap_hi = NULL;
}

void
seqcheck_lag(struct seqcheck *sc, uint64_t dropped)
{
	sc->lag_budget += dropped;
}

void
seqcheck_msg(struct seqcheck *sc, unsigned pub, uint64_t seq)
{
	uint64_t	want = sc->next[pub], g;

	if (seq == want) {
		sc->next[pub] = seq + 1;
		return;
	}
	if (seq > want) {
		g = seq - want;
		if (sc->lag_budget >= g) {
			sc->lag_budget -= g;
			sc->lag_gaps += g;
		} else {
			sc->lag_gaps += sc->lag_budget;
			sc->gaps += g - sc->lag_budget;
			sc->lag_budget = 0;
			sc->gap_lo[pub] = want;
			sc->gap_hi[pub] = seq;
		}
		sc->next[pub] = seq + 1;
		return;
	}
	/* seq < want: inside the last gap it is late, else seen already. */
	if (seq >= sc->gap_lo[pub] && seq < sc->gap_hi[pub])
		sc->reorders++;
	else
		sc->dups++;
}

bool
seqcheck_complete(const struct seqcheck *sc, const uint64_t *final)
{
	unsigned	i;

	for (i = 0; i < sc->npubs; i++)
		if (sc->next[i] < final[i])
			return (false);
	return (true);
}

uint64_t
seqcheck_missing(struct seqcheck *sc, const uint64_t *final)
{
	uint64_t	missing = 0, g;
	unsigned	i;

	for (i = 0; i < sc->npubs; i++) {
		if (sc->next[i] >= final[i])
			continue;
		g = final[i] - sc->next[i];
		if (sc->lag_budget >= g) {
			sc->lag_budget -= g;
			sc->lag_gaps += g;
		} else {
			sc->lag_gaps += sc->lag_budget;
			missing += g - sc->lag_budget;
			sc->lag_budget = 0;
		}
		sc->next[i] = final[i];
	}
	return (missing);
}

#define ACKQ_FIRST	1024	/* entries allocated at first */

int
ackq_init(struct ackq *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max;
	q->cap = 1;
	while (q->cap < ACKQ_FIRST && q->cap * 2 <= max)
		q->cap *= 2;
	if ((q->ring = calloc(q->cap, sizeof(*q->ring))) == NULL)
		return (-1);
	return (0);
}

void
ackq_free(struct ackq *q)
{
	free(q->ring);
	memset(q, 0, sizeof(*q));
}

/* Doubles the ring, the oldest entry moving to index 0. 0 or -1. */
static int
ackq_grow(struct ackq *q)
{
	struct ackq_ent	*n;
	size_t		 i;

	if (q->cap * 2 > q->max ||
	    (n = calloc(q->cap * 2, sizeof(*n))) == NULL)
		return (-1);
	for (i = 0; i < q->len; i++)
		n[i] = q->ring[(q->head + i) & (q->cap - 1)];
	free(q->ring);
	q->ring = n;
	q->cap *= 2;
	q->head = 0;
	return (0);
}

int
ackq_push(struct ackq *q, uint32_t id, uint64_t t_ns)
{
	struct ackq_ent	*e;

	if (q->len == q->cap && ackq_grow(q) == -1)
		return (-1);
	e = &q->ring[(q->head + q->len) & (q->cap - 1)];
	e->id = id;
	e->t_ns = t_ns;
	q->len++;
	return (0);
}

bool
ackq_pop(struct ackq *q, uint32_t id, uint64_t *t_ns)
{
	const struct ackq_ent	*e;
	int32_t			 d;

	while (q->len > 0) {
		e = &q->ring[q->head];
		d = (int32_t)(e->id - id);
		if (d > 0)
			return (false);	/* id is older than every pending */
		q->head = (q->head + 1) & (q->cap - 1);
		q->len--;
		if (d == 0) {
			*t_ns = e->t_ns;
			return (true);
		}
	}
	return (false);
}

void
bench_result_init(struct bench_result *r, const char *system)
{
	memset(r, 0, sizeof(*r));
	r->system = system;
	hist_init(&r->lat);
	hist_init(&r->pacer_lag);
	hist_init(&r->lat_to_router);
	hist_init(&r->lat_from_router);
	hist_init(&r->ack_lat);
	r->server_cpu_pct = -1;
	r->redis_log_cpu_pct = -1;
	r->client_cpu_pct = -1;
	r->other_cpu_pct = -1;
	r->rss_kib_before = r->rss_kib_after = r->rss_kib_end = -1;
}

void
bench_result_finish(struct bench_result *r)
{
	const struct bench_errors	*e = &r->err;

	r->errors = e->err_frames + e->missing_acks + e->gaps + e->dups +
	    e->reorders + e->lost + e->bad_frames + e->disconnects;
	r->msgs_per_s = r->duration_s > 0 && r->published >= r->warm_published ?
	    (double)(r->published - r->warm_published) / r->duration_s : 0;
	r->deliveries_per_s = r->deliver_s > 0 &&
	    r->delivered >= r->warm_delivered ?
	    (double)(r->delivered - r->warm_delivered) / r->deliver_s : 0;
}
