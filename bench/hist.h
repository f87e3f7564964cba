/*
 * hist: a log-linear (HDR-style) histogram of unsigned 64-bit values,
 * nanoseconds in the benchmark.
 *
 * Values below 2^(HIST_SUB_BITS + 1) = 256 have a bucket each (exact).
 * Above, every power of two [2^e, 2^(e+1)) is split into 2^HIST_SUB_BITS
 * = 128 equal buckets, so a bucket is at most 1/128 (0.78%) of the values
 * it holds wide. The buckets reach HIST_HIGHEST (2^37 - 1 ns, about 137 s);
 * larger values land in the last bucket and are counted in "overflow".
 * min, max and the count are exact. Fixed size, no allocation: recording
 * is a few instructions, and one thread owns each histogram until it is
 * merged into another.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS	7
#define HIST_SUB	(1u << HIST_SUB_BITS)		/* 128 */
#define HIST_LINEAR	(2u * HIST_SUB)			/* 256 exact values */
#define HIST_TOP_EXP	36				/* last power: 2^36 */
#define HIST_NBUCKETS	(HIST_LINEAR + \
	    (HIST_TOP_EXP - HIST_SUB_BITS) * HIST_SUB)	/* 3968 */
#define HIST_HIGHEST	((UINT64_C(1) << (HIST_TOP_EXP + 1)) - 1)

struct hist {
	uint64_t	count;
	uint64_t	min;		/* UINT64_MAX while empty */
	uint64_t	max;
	uint64_t	sum;		/* saturates; for the mean only */
	uint64_t	overflow;	/* values above HIST_HIGHEST */
	uint64_t	b[HIST_NBUCKETS];
};

/* Empties h. */
void		hist_init(struct hist *h);
/* Counts v once. */
void		hist_record(struct hist *h, uint64_t v);
/* Adds every count of src to dst, as if src's values were recorded there. */
void		hist_merge(struct hist *dst, const struct hist *src);
/*
 * The value at percentile pct (0..100): the highest value of the bucket
 * holding the sample of rank ceil(pct/100 * count), clamped to [min, max].
 * So a reported figure is never below the true one and at most one bucket
 * width (<= 1/128 of it) above. 0 for an empty histogram.
 */
uint64_t	hist_percentile(const struct hist *h, double pct);
/* The mean of the recorded values; 0 when empty. */
double		hist_mean(const struct hist *h);

/* The bucket v falls in, and the bounds of a bucket (for tests). */
unsigned	hist_index(uint64_t v);
uint64_t	hist_bucket_low(unsigned idx);
uint64_t	hist_bucket_high(unsigned idx);

#endif
