/*
 * pacer: an open-loop schedule. See pacer.h.
 */
#include <assert.h>

#include "bench/pacer.h"

#define PACER_NS	UINT64_C(1000000000)

void
pacer_init(struct pacer *p, uint64_t start_ns, uint64_t rate)
{
	assert(rate >= 1 && rate <= PACER_RATE_MAX);
	p->start_ns = start_ns;
	p->rate = rate;
	p->next = 0;
}

uint64_t
pacer_time(const struct pacer *p, uint64_t i)
{
	/* (i % rate) * 1e9 < rate * 1e9 <= 1e18: no overflow. */
	return (p->start_ns + i / p->rate * PACER_NS +
	    i % p->rate * PACER_NS / p->rate);
}

uint64_t
pacer_next_ns(const struct pacer *p)
{
	return (pacer_time(p, p->next));
}

/* How many sends have intended times <= start + d: with d = D s + e ns,
 * the D whole seconds hold D * rate of them, and second D those j < rate
 * with floor(j * 1e9 / rate) <= e, that is j * 1e9 < (e + 1) * rate. */
static uint64_t
pacer_count_by(const struct pacer *p, uint64_t d)
{
	uint64_t	whole = d / PACER_NS, e = d % PACER_NS, part;

	part = ((e + 1) * p->rate + PACER_NS - 1) / PACER_NS;
	if (part > p->rate)
		part = p->rate;
	return (whole * p->rate + part);
}

uint64_t
pacer_due(const struct pacer *p, uint64_t now_ns)
{
	uint64_t	n;

	if (now_ns < p->start_ns)
		return (0);
	n = pacer_count_by(p, now_ns - p->start_ns);
	return (n > p->next ? n - p->next : 0);
}

uint64_t
pacer_take(struct pacer *p)
{
	return (pacer_time(p, p->next++));
}
