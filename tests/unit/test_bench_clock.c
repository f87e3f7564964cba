/*
 * test_bench_clock: the realtime - monotonic offset the latency split
 * rests on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <time.h>

#include <cmocka.h>

#include "bench/bench_clock.h"

static int64_t
ns(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* It turns a realtime reading into the monotonic time of that moment. */
static void
test_bench_clock_offset_maps_realtime_to_monotonic(void **state)
{
	int64_t	off, before, real, after;

	(void)state;
	off = bench_real_offset_ns();
	before = ns(CLOCK_MONOTONIC);
	real = ns(CLOCK_REALTIME);
	after = ns(CLOCK_MONOTONIC);
	/* Within the reading window, give or take a millisecond of slew. */
	assert_true(real - off >= before - 1000000);
	assert_true(real - off <= after + 1000000);
}

/* Two readings close in time agree closely: it takes the tightest pair. */
static void
test_bench_clock_offset_is_stable(void **state)
{
	int64_t	a, b;

	(void)state;
	a = bench_real_offset_ns();
	b = bench_real_offset_ns();
	assert_true(a - b < 100000 && b - a < 100000);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(
		    test_bench_clock_offset_maps_realtime_to_monotonic),
		cmocka_unit_test(test_bench_clock_offset_is_stable),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
