/*
 * test_hist: the log-linear histogram of callosum-bench against
 * distributions whose percentiles are known exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bench/hist.h"

/* The true value at percentile pct of 1..n, by the same rank rule. */
static uint64_t
uniform_pct(uint64_t n, double pct)
{
	double		r = pct / 100.0 * (double)n;
	uint64_t	rank = (uint64_t)r;

	if ((double)rank < r)
		rank++;
	return (rank == 0 ? 1 : rank);
}

/* reported is the truth or above it by at most one bucket (1/128). */
static void
assert_within_bucket(uint64_t reported, uint64_t truth)
{
	assert_true(reported >= truth);
	assert_true((double)(reported - truth) <= (double)truth / 128.0);
}

static void
test_hist_buckets_tile_the_range(void **state)
{
	unsigned	i;

	(void)state;
	assert_int_equal(hist_bucket_low(0), 0);
	for (i = 1; i < HIST_NBUCKETS; i++)
		assert_int_equal(hist_bucket_low(i), hist_bucket_high(i - 1) +
		    1);
	assert_int_equal(hist_bucket_high(HIST_NBUCKETS - 1), HIST_HIGHEST);
	for (i = 0; i < HIST_NBUCKETS; i++) {
		assert_int_equal(hist_index(hist_bucket_low(i)), i);
		assert_int_equal(hist_index(hist_bucket_high(i)), i);
		/* No bucket is wider than 1/128 of its lowest value. */
		if (i >= HIST_LINEAR)
			assert_true(hist_bucket_high(i) - hist_bucket_low(i) +
			    1 <= hist_bucket_low(i) / HIST_SUB);
	}
}

static void
test_hist_small_values_are_exact(void **state)
{
	struct hist	*h = malloc(sizeof(*h));
	uint64_t	 v;

	(void)state;
	hist_init(h);
	for (v = 0; v < HIST_LINEAR; v++)
		hist_record(h, v);
	assert_int_equal(h->count, HIST_LINEAR);
	assert_int_equal(hist_percentile(h, 50), 127);
	assert_int_equal(hist_percentile(h, 100), 255);
	assert_int_equal(hist_percentile(h, 0), 0);
	free(h);
}

static void
test_hist_uniform_percentiles_within_precision(void **state)
{
	static const double	 pcts[] = { 1, 10, 50, 90, 99, 99.9, 99.99 };
	struct hist		*h = malloc(sizeof(*h));
	uint64_t		 v, n = 1000000;
	size_t			 i;

	(void)state;
	hist_init(h);
	for (v = 1; v <= n; v++)
		hist_record(h, v);
	assert_int_equal(h->count, n);
	assert_int_equal(h->min, 1);
	assert_int_equal(h->max, n);
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		assert_within_bucket(hist_percentile(h, pcts[i]),
		    uniform_pct(n, pcts[i]));
	assert_int_equal(hist_percentile(h, 100), n);
	assert_true(hist_mean(h) == 500000.5);
	free(h);
}

static void
test_hist_constant_is_exact(void **state)
{
	struct hist	*h = malloc(sizeof(*h));
	int		 i;

	(void)state;
	hist_init(h);
	for (i = 0; i < 1000; i++)
		hist_record(h, 123457);
	/* Clamped to [min, max]: one value reports as itself. */
	assert_int_equal(hist_percentile(h, 50), 123457);
	assert_int_equal(hist_percentile(h, 99.9), 123457);
	assert_int_equal(hist_percentile(h, 100), 123457);
	assert_int_equal(h->min, 123457);
	free(h);
}

static void
test_hist_two_point_splits_at_the_rank(void **state)
{
	struct hist	*h = malloc(sizeof(*h));
	int		 i;

	(void)state;
	hist_init(h);
	for (i = 0; i < 900; i++)
		hist_record(h, 1000);
	for (i = 0; i < 100; i++)
		hist_record(h, 5000000);
	assert_within_bucket(hist_percentile(h, 50), 1000);
	assert_within_bucket(hist_percentile(h, 90), 1000);	/* rank 900 */
	assert_within_bucket(hist_percentile(h, 90.1), 5000000);
	assert_int_equal(hist_percentile(h, 99), 5000000);	/* max clamp */
	assert_int_equal(hist_percentile(h, 100), 5000000);
	free(h);
}

static void
test_hist_merge_equals_recording_into_one(void **state)
{
	struct hist	*a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct hist	*all = malloc(sizeof(*all));
	uint64_t	 v, x = 88172645463325252ULL;
	int		 i;

	(void)state;
	hist_init(a);
	hist_init(b);
	hist_init(all);
	for (i = 0; i < 200000; i++) {
		/* xorshift64: spread over many decades, reproducible. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = x >> (x & 63);
		hist_record(i % 3 ? a : b, v);
		hist_record(all, v);
	}
	hist_merge(a, b);
	assert_memory_equal(a, all, sizeof(*a));
	/* Merging an empty one changes nothing (min stays). */
	hist_init(b);
	hist_merge(a, b);
	assert_memory_equal(a, all, sizeof(*a));
	free(a);
	free(b);
	free(all);
}

static void
test_hist_max_is_exact(void **state)
{
	struct hist	*h = malloc(sizeof(*h));

	(void)state;
	hist_init(h);
	hist_record(h, 10);
	hist_record(h, 987654321);
	hist_record(h, 20);
	assert_int_equal(h->max, 987654321);
	assert_int_equal(hist_percentile(h, 100), 987654321);
	/* The top sample's bucket is clamped to the exact max. */
	assert_int_equal(hist_percentile(h, 99.9), 987654321);
	free(h);
}

static void
test_hist_zero_and_huge_values(void **state)
{
	struct hist	*h = malloc(sizeof(*h));

	(void)state;
	hist_init(h);
	assert_int_equal(hist_percentile(h, 50), 0);	/* empty */
	assert_true(hist_mean(h) == 0);
	hist_record(h, 0);
	assert_int_equal(hist_percentile(h, 50), 0);
	assert_int_equal(h->min, 0);
	hist_record(h, UINT64_MAX);
	hist_record(h, HIST_HIGHEST + 1);
	assert_int_equal(h->count, 3);
	assert_int_equal(h->overflow, 2);
	assert_int_equal(h->max, UINT64_MAX);
	assert_int_equal(h->b[HIST_NBUCKETS - 1], 2);
	assert_int_equal(hist_percentile(h, 100), UINT64_MAX);
	assert_int_equal(hist_percentile(h, 50), UINT64_MAX);
	assert_int_equal(h->sum, UINT64_MAX);	/* saturated, not wrapped */
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets_tile_the_range),
		cmocka_unit_test(test_hist_small_values_are_exact),
		cmocka_unit_test(
		    test_hist_uniform_percentiles_within_precision),
		cmocka_unit_test(test_hist_constant_is_exact),
		cmocka_unit_test(test_hist_two_point_splits_at_the_rank),
		cmocka_unit_test(test_hist_merge_equals_recording_into_one),
		cmocka_unit_test(test_hist_max_is_exact),
		cmocka_unit_test(test_hist_zero_and_huge_values),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
