/*
 * test_metrics: metrics_hist_quantile (router/metrics.h), the p50 and p99
 * of the stats map, over histograms filled by counter_observe
 * (router/counter.h): linear within the bucket that holds the rank, as
 * Prometheus' histogram_quantile estimates it; in +Inf, the largest
 * finite bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "router/counter.h"
#include "router/metrics.h"

/* Seconds: a tolerance for the division, far below a microsecond. */
#define EPS	1e-12

/* cmocka's assert_float_equal is single precision: this one is double. */
#define assert_near(got, want, eps)	near((got), (want), (eps), \
					    __FILE__, __LINE__)

static void
near(double got, double want, double eps, const char *file, int line)
{
	if (!(fabs(got - want) <= eps)) {
		print_error("%.17g is not %.17g (within %g)\n", got, want, eps);
		_fail(file, line);
	}
}

/* The bound of bucket i in seconds. */
static double
bound_s(unsigned i)
{
	return ((double)counter_hist_bounds_us[i] / 1e6);
}

/* Observes n latencies of us microseconds. */
static void
observe(struct counter_hist *h, int64_t us, unsigned n)
{
	while (n-- > 0)
		counter_observe(h, us);
}

static void
test_metrics_bounds_are_the_ones_metrics_names(void **state)
{
	(void)state;
	/* The text bounds of /metrics ("0", "0.00001" ... "10"). */
	assert_int_equal(COUNTER_HIST_N, 21);
	assert_int_equal(counter_hist_bounds_us[0], 0);
	assert_int_equal(counter_hist_bounds_us[1], 10);
	assert_int_equal(counter_hist_bounds_us[COUNTER_HIST_N - 2],
	    10000000);
}

static void
test_metrics_observe_puts_a_bound_in_its_own_bucket(void **state)
{
	struct counter_hist	h;

	(void)state;
	memset(&h, 0, sizeof h);
	counter_observe(&h, -5);	/* clamped to 0: le 0 */
	counter_observe(&h, 0);		/* answered in its pass: le 0 */
	counter_observe(&h, 10);	/* le 10 */
	counter_observe(&h, 11);	/* le 25 */
	counter_observe(&h, 10000000);	/* le 10 s */
	counter_observe(&h, 10000001);	/* +Inf */
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[2], 1);
	assert_int_equal(h.bucket[COUNTER_HIST_N - 2], 1);
	assert_int_equal(h.bucket[COUNTER_HIST_N - 1], 1);
	assert_int_equal(h.count, 6);
	assert_int_equal(h.sum_us, 10 + 11 + 10000000 + 10000001);
}

static void
test_metrics_quantile_of_an_empty_histogram_is_zero(void **state)
{
	struct counter_hist	h;

	(void)state;
	memset(&h, 0, sizeof h);
	assert_true(metrics_hist_quantile(&h, 0.5) == 0.0);
	assert_true(metrics_hist_quantile(&h, 0.99) == 0.0);
	assert_true(metrics_hist_quantile(&h, 1.0) == 0.0);
}

static void
test_metrics_quantile_all_in_the_first_bucket(void **state)
{
	struct counter_hist	h;

	(void)state;
	memset(&h, 0, sizeof h);
	observe(&h, 3, 4);
	/* rank 2 of 4 in [0, 10 us]: halfway */
	assert_near(metrics_hist_quantile(&h, 0.5), 5e-6, EPS);
	assert_near(metrics_hist_quantile(&h, 0.25), 2.5e-6, EPS);
	/* the last rank is the bucket's bound */
	assert_near(metrics_hist_quantile(&h, 1.0), bound_s(1), EPS);
}

/* Answered in the pass that read them: every quantile is exactly 0. */
static void
test_metrics_quantile_all_zero_is_zero(void **state)
{
	struct counter_hist	h;

	(void)state;
	memset(&h, 0, sizeof h);
	observe(&h, 0, 50);
	assert_true(metrics_hist_quantile(&h, 0.5) == 0.0);
	assert_true(metrics_hist_quantile(&h, 0.99) == 0.0);
	assert_true(metrics_hist_quantile(&h, 1.0) == 0.0);
}

static void
test_metrics_quantile_spread_over_buckets(void **state)
{
	struct counter_hist	h;

	(void)state;
	memset(&h, 0, sizeof h);
	observe(&h, 5, 2);		/* (0, 10] */
	observe(&h, 20, 2);		/* (10, 25] */
	observe(&h, 700, 4);		/* (500, 1000] */
	/* rank 3 of 8: the first of two in (10, 25]: 10 + 15 * 1/2 */
	assert_near(metrics_hist_quantile(&h, 0.375), 17.5e-6, EPS);
	/* rank 4: the end of (10, 25] */
	assert_near(metrics_hist_quantile(&h, 0.5), 25e-6, EPS);
	/* rank 6: two of four into (500, 1000]: 750 us */
	assert_near(metrics_hist_quantile(&h, 0.75), 750e-6, EPS);
	/* rank 7.92: 500 + 500 * 3.92 / 4 */
	assert_near(metrics_hist_quantile(&h, 0.99), 990e-6, EPS);
	/* empty buckets in between are passed over, not landed in */
	assert_near(metrics_hist_quantile(&h, 0.51),
	    (500.0 + 500.0 * (4.08 - 4.0) / 4.0) / 1e6, EPS);
}

static void
test_metrics_quantile_in_inf_is_the_largest_bound(void **state)
{
	struct counter_hist	h;

	(void)state;
	memset(&h, 0, sizeof h);
	observe(&h, 60 * 1000000, 3);	/* a minute: +Inf */
	assert_int_equal(h.bucket[COUNTER_HIST_N - 1], 3);
	assert_near(metrics_hist_quantile(&h, 0.5),
	    bound_s(COUNTER_HIST_N - 2), EPS);
	assert_near(metrics_hist_quantile(&h, 0.99), 10.0, EPS);
}

static void
test_metrics_quantile_tail_in_inf_only_for_the_top_ranks(void **state)
{
	struct counter_hist	h;

	(void)state;
	memset(&h, 0, sizeof h);
	observe(&h, 1, 99);
	observe(&h, 20 * 1000000, 1);
	/* rank 99 of 100: still the (0, 10 us] bucket, at its bound */
	assert_near(metrics_hist_quantile(&h, 0.99), bound_s(1), EPS);
	/* rank 100: the one in +Inf */
	assert_near(metrics_hist_quantile(&h, 1.0),
	    bound_s(COUNTER_HIST_N - 2), EPS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_metrics_bounds_are_the_ones_metrics_names),
		cmocka_unit_test(
		    test_metrics_observe_puts_a_bound_in_its_own_bucket),
		cmocka_unit_test(
		    test_metrics_quantile_of_an_empty_histogram_is_zero),
		cmocka_unit_test(test_metrics_quantile_all_in_the_first_bucket),
		cmocka_unit_test(test_metrics_quantile_all_zero_is_zero),
		cmocka_unit_test(test_metrics_quantile_spread_over_buckets),
		cmocka_unit_test(
		    test_metrics_quantile_in_inf_is_the_largest_bound),
		cmocka_unit_test(
		    test_metrics_quantile_tail_in_inf_only_for_the_top_ranks),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
