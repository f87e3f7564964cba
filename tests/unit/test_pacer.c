/*
 * test_pacer: the open-loop schedule of callosum-bench. Intended times are
 * exact and never drift; a late caller catches up on every missed send,
 * each with its own intended time, and none is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bench/pacer.h"

#define NS	UINT64_C(1000000000)

static void
test_pacer_intervals_are_exact(void **state)
{
	struct pacer	p;
	uint64_t	i;

	(void)state;
	pacer_init(&p, 5000, 10000);	/* 10k/s: every 100 us */
	for (i = 0; i < 100000; i++)
		assert_int_equal(pacer_time(&p, i), 5000 + i * 100000);
	assert_int_equal(pacer_next_ns(&p), 5000);
	assert_int_equal(pacer_take(&p), 5000);
	assert_int_equal(pacer_take(&p), 105000);
	assert_int_equal(pacer_next_ns(&p), 205000);
}

static void
test_pacer_uneven_rate_does_not_drift(void **state)
{
	struct pacer	p;

	(void)state;
	pacer_init(&p, 0, 3);	/* 333333333.3 ns apart */
	assert_int_equal(pacer_time(&p, 0), 0);
	assert_int_equal(pacer_time(&p, 1), 333333333);
	assert_int_equal(pacer_time(&p, 2), 666666666);
	assert_int_equal(pacer_time(&p, 3), NS);
	/* After a million seconds still on the exact grid. */
	assert_int_equal(pacer_time(&p, 3000000), 1000000 * NS);
	assert_int_equal(pacer_time(&p, 3000001), 1000000 * NS + 333333333);
	pacer_init(&p, 7, 7000001);
	assert_int_equal(pacer_time(&p, 7000001), 7 + NS);
}

static void
test_pacer_due_counts_intended_up_to_now(void **state)
{
	struct pacer	p;

	(void)state;
	pacer_init(&p, 1000, 1000);	/* every 1 ms from t=1000 */
	assert_int_equal(pacer_due(&p, 0), 0);		/* before start */
	assert_int_equal(pacer_due(&p, 999), 0);
	assert_int_equal(pacer_due(&p, 1000), 1);	/* send 0 at start */
	assert_int_equal(pacer_due(&p, 1000 + 999999), 1);
	assert_int_equal(pacer_due(&p, 1000 + 1000000), 2);
	assert_int_equal(pacer_due(&p, 1000 + NS - 1), 1000);
	assert_int_equal(pacer_due(&p, 1000 + NS), 1001);
	pacer_take(&p);
	assert_int_equal(pacer_due(&p, 1000), 0);
	assert_int_equal(pacer_due(&p, 1000 + 1000000), 1);
}

static void
test_pacer_due_matches_brute_force(void **state)
{
	static const uint64_t	rates[] = { 1, 3, 7, 999, 1000, 12345,
				    1000000, 999999937, 1000000000 };
	struct pacer		p;
	uint64_t		now, i, n;
	size_t			k;

	(void)state;
	for (k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		pacer_init(&p, 42, rates[k]);
		for (now = 42; now < 42 + 3 * NS; now += NS / 7 + 12345) {
			for (n = 0, i = 0; pacer_time(&p, i) <= now; i++)
				if (++n > 200000)
					break;	/* big rates: count below */
			if (n > 200000)
				continue;
			assert_int_equal(pacer_due(&p, now), n);
		}
	}
}

static void
test_pacer_catches_up_after_a_stall_without_skipping(void **state)
{
	struct pacer	p;
	uint64_t	now, due, i, t;

	(void)state;
	pacer_init(&p, 0, 10000);
	/* On time for a while. */
	for (i = 0; i < 10; i++) {
		now = i * 100000;
		assert_int_equal(pacer_due(&p, now), 1);
		assert_int_equal(pacer_take(&p), now);
	}
	/* The caller stalls 5 ms: 50 sends came due meanwhile. */
	now = 10 * 100000 + 5000000 - 1;
	due = pacer_due(&p, now);
	assert_int_equal(due, 50);
	for (i = 0; i < due; i++) {
		t = pacer_take(&p);
		/* Each keeps its own intended time, in order. */
		assert_int_equal(t, (10 + i) * 100000);
		assert_true(t <= now);
	}
	assert_int_equal(pacer_due(&p, now), 0);
	/* Back on the original grid, not shifted by the stall. */
	assert_int_equal(pacer_next_ns(&p), 60 * 100000);
	assert_int_equal(p.next, 60);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pacer_intervals_are_exact),
		cmocka_unit_test(test_pacer_uneven_rate_does_not_drift),
		cmocka_unit_test(test_pacer_due_counts_intended_up_to_now),
		cmocka_unit_test(test_pacer_due_matches_brute_force),
		cmocka_unit_test(
		    test_pacer_catches_up_after_a_stall_without_skipping),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
