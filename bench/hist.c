/*
 * hist: log-linear histogram. See hist.h for the bucket layout.
 */
#include <string.h>

#include "bench/hist.h"

void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned
hist_index(uint64_t v)
{
	unsigned	e;

	if (v < HIST_LINEAR)
		return ((unsigned)v);
	if (v > HIST_HIGHEST)
		return (HIST_NBUCKETS - 1);
	/* e >= HIST_SUB_BITS + 1: v has at least 9 significant bits. */
	e = 63 - (unsigned)__builtin_clzll(v);
	return (HIST_LINEAR + (e - HIST_SUB_BITS - 1) * HIST_SUB +
	    (unsigned)(v >> (e - HIST_SUB_BITS)) - HIST_SUB);
}

uint64_t
hist_bucket_low(unsigned idx)
{
	unsigned	e, m;

	if (idx < HIST_LINEAR)
		return (idx);
	e = (idx - HIST_LINEAR) / HIST_SUB + HIST_SUB_BITS + 1;
	m = (idx - HIST_LINEAR) % HIST_SUB + HIST_SUB;
	return ((uint64_t)m << (e - HIST_SUB_BITS));
}

uint64_t
hist_bucket_high(unsigned idx)
{
	unsigned	e;

	if (idx < HIST_LINEAR)
		return (idx);
	e = (idx - HIST_LINEAR) / HIST_SUB + HIST_SUB_BITS + 1;
	return (hist_bucket_low(idx) + (UINT64_C(1) << (e - HIST_SUB_BITS)) -
	    1);
}

void
hist_record(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->count++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	if (v > HIST_HIGHEST)
		h->overflow++;
	h->sum = h->sum + v < h->sum ? UINT64_MAX : h->sum + v;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned	i;

	if (src->count == 0)
		return;
	for (i = 0; i < HIST_NBUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->overflow += src->overflow;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX :
	    dst->sum + src->sum;
}

uint64_t
hist_percentile(const struct hist *h, double pct)
{
	uint64_t	rank, seen = 0, v;
	double		r;
	unsigned	i;

	if (h->count == 0)
		return (0);
	if (pct <= 0)
		return (h->min);
	if (pct >= 100)
		return (h->max);
	r = pct / 100.0 * (double)h->count;
	rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;		/* ceil */
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			break;
	}
	if (i == HIST_NBUCKETS)
		return (h->max);	/* not reached: counts sum to count */
	v = i == HIST_NBUCKETS - 1 ? h->max : hist_bucket_high(i);
	if (v > h->max)
		v = h->max;
	if (v < h->min)
		v = h->min;
	return (v);
}

double
hist_mean(const struct hist *h)
{
	if (h->count == 0)
		return (0);
	return ((double)h->sum / (double)h->count);
}
