/*
 * bench_verify: the delivery check of one subscriber, and the arithmetic
 * of a result. Exactly once and in order, per publisher: seq must be the
 * next one expected. Above it is a gap (explained when lag frames announced
 * at least that many drops), below it a duplicate or a late message.
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

void
bench_result_init(struct bench_result *r, const char *system)
{
	memset(r, 0, sizeof(*r));
	r->system = system;
	hist_init(&r->lat);
	hist_init(&r->pacer_lag);
	hist_init(&r->lat_to_router);
	hist_init(&r->lat_from_router);
	r->server_cpu_pct = -1;
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
