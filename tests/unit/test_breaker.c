/*
 * test_breaker: every transition of a tract's circuit breaker, with the
 * time given by the test (no clock, no loop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "router/breaker.h"

static const struct breaker_cfg cfg = { 3, 1000, 2 };	/* 3, 1 ms, 2 */

static void
fail_n(struct breaker *b, int n, int64_t now)
{
	struct breaker_transition	tr;
	int				i;

	for (i = 0; i < n; i++)
		assert_false(breaker_failure(b, &cfg, now, &tr));
}

/* Opens at the threshold: the report says from, to and the count. */
static void
test_breaker_opens_after_threshold_consecutive_failures(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;
	bool				moved;

	(void)state;
	assert_true(breaker_allow(&b, &cfg, 0, &tr, &moved));
	assert_false(moved);
	fail_n(&b, 2, 10);
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_true(breaker_failure(&b, &cfg, 20, &tr));
	assert_int_equal(tr.from, BREAKER_CLOSED);
	assert_int_equal(tr.to, BREAKER_OPEN);
	assert_int_equal(tr.failures, 3);
	assert_int_equal(b.state, BREAKER_OPEN);
	assert_int_equal(b.transitions, 1);
	assert_int_equal(breaker_reset_at(&b, &cfg), 1020);
}

/* A success in closed resets the count: failures must be consecutive. */
static void
test_breaker_success_in_closed_resets_the_count(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;

	(void)state;
	fail_n(&b, 2, 0);
	assert_false(breaker_success(&b, &tr));
	assert_int_equal(b.failures, 0);
	fail_n(&b, 2, 0);
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_int_equal(b.transitions, 0);
}

/* Open refuses until reset_us has passed, then goes half_open. */
static void
test_breaker_open_refuses_until_the_reset_timeout(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;
	bool				moved;

	(void)state;
	fail_n(&b, 2, 0);
	assert_true(breaker_failure(&b, &cfg, 100, &tr));
	assert_false(breaker_allow(&b, &cfg, 100, &tr, &moved));
	assert_false(breaker_allow(&b, &cfg, 1099, &tr, &moved));
	assert_false(moved);
	/* A failure while open is counted and moves nothing. */
	assert_false(breaker_failure(&b, &cfg, 500, &tr));
	assert_int_equal(b.failures, 4);
	assert_true(breaker_allow(&b, &cfg, 1100, &tr, &moved));
	assert_true(moved);
	assert_int_equal(tr.from, BREAKER_OPEN);
	assert_int_equal(tr.to, BREAKER_HALF_OPEN);
	assert_int_equal(tr.failures, 4);
	assert_int_equal(b.state, BREAKER_HALF_OPEN);
	assert_int_equal(b.trials, 1);
}

/* half_open lets half_open_max trials through at a time. */
static void
test_breaker_half_open_lets_half_open_max_trials_through(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;
	bool				moved;

	(void)state;
	fail_n(&b, 2, 0);
	assert_true(breaker_failure(&b, &cfg, 0, &tr));
	assert_true(breaker_allow(&b, &cfg, 1000, &tr, &moved));
	assert_true(breaker_allow(&b, &cfg, 1000, &tr, &moved));
	assert_false(moved);
	assert_false(breaker_allow(&b, &cfg, 1000, &tr, &moved));
	assert_int_equal(b.trials, 2);
}

/* A trial that succeeds closes it; the count starts again at zero. */
static void
test_breaker_trial_success_closes(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;
	bool				moved;

	(void)state;
	fail_n(&b, 2, 0);
	assert_true(breaker_failure(&b, &cfg, 0, &tr));
	assert_true(breaker_allow(&b, &cfg, 2000, &tr, &moved));
	assert_true(breaker_success(&b, &tr));
	assert_int_equal(tr.from, BREAKER_HALF_OPEN);
	assert_int_equal(tr.to, BREAKER_CLOSED);
	assert_int_equal(tr.failures, 3);
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_int_equal(b.failures, 0);
	assert_int_equal(b.transitions, 3);
	assert_true(breaker_allow(&b, &cfg, 2000, &tr, &moved));
	fail_n(&b, 2, 2000);
	assert_int_equal(b.state, BREAKER_CLOSED);
}

/* A trial that fails opens it again, with a new reset deadline. */
static void
test_breaker_trial_failure_opens_again(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;
	bool				moved;

	(void)state;
	fail_n(&b, 2, 0);
	assert_true(breaker_failure(&b, &cfg, 0, &tr));
	assert_true(breaker_allow(&b, &cfg, 1500, &tr, &moved));
	assert_true(breaker_failure(&b, &cfg, 1600, &tr));
	assert_int_equal(tr.from, BREAKER_HALF_OPEN);
	assert_int_equal(tr.to, BREAKER_OPEN);
	assert_int_equal(tr.failures, 4);
	assert_int_equal(breaker_reset_at(&b, &cfg), 2600);
	assert_false(breaker_allow(&b, &cfg, 2599, &tr, &moved));
	assert_true(breaker_allow(&b, &cfg, 2600, &tr, &moved));
	assert_true(moved);
}

/* A success reported while open (a pub let in before) moves nothing. */
static void
test_breaker_success_while_open_moves_nothing(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;

	(void)state;
	fail_n(&b, 2, 0);
	assert_true(breaker_failure(&b, &cfg, 0, &tr));
	assert_false(breaker_success(&b, &tr));
	assert_int_equal(b.state, BREAKER_OPEN);
}

/* The reset timer moves an open breaker without a pub. */
static void
test_breaker_poll_goes_half_open_at_the_deadline(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;
	bool				moved;

	(void)state;
	fail_n(&b, 2, 0);
	assert_true(breaker_failure(&b, &cfg, 0, &tr));
	assert_false(breaker_poll(&b, &cfg, 999, &tr));
	assert_true(breaker_poll(&b, &cfg, 1000, &tr));
	assert_int_equal(tr.to, BREAKER_HALF_OPEN);
	assert_false(breaker_poll(&b, &cfg, 5000, &tr));
	assert_true(breaker_allow(&b, &cfg, 5000, &tr, &moved));
	assert_false(moved);
}

/* A trial refused for another reason gives its place back. */
static void
test_breaker_release_gives_a_trial_back(void **state)
{
	struct breaker			b = { 0 };
	struct breaker_transition	tr;
	bool				moved;

	(void)state;
	fail_n(&b, 2, 0);
	assert_true(breaker_failure(&b, &cfg, 0, &tr));
	assert_true(breaker_allow(&b, &cfg, 1000, &tr, &moved));
	assert_true(breaker_allow(&b, &cfg, 1000, &tr, &moved));
	assert_false(breaker_allow(&b, &cfg, 1000, &tr, &moved));
	breaker_release(&b);
	assert_true(breaker_allow(&b, &cfg, 1000, &tr, &moved));
	breaker_release(&b);
	breaker_release(&b);
	breaker_release(&b);
	assert_int_equal(b.trials, 0);
}

static void
test_breaker_state_names(void **state)
{
	(void)state;
	assert_string_equal(breaker_state_name(BREAKER_CLOSED), "closed");
	assert_string_equal(breaker_state_name(BREAKER_OPEN), "open");
	assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
	assert_string_equal(breaker_state_name((enum breaker_state)9),
	    "unknown");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(
		    test_breaker_opens_after_threshold_consecutive_failures),
		cmocka_unit_test(test_breaker_success_in_closed_resets_the_count),
		cmocka_unit_test(
		    test_breaker_open_refuses_until_the_reset_timeout),
		cmocka_unit_test(
		    test_breaker_half_open_lets_half_open_max_trials_through),
		cmocka_unit_test(test_breaker_trial_success_closes),
		cmocka_unit_test(test_breaker_trial_failure_opens_again),
		cmocka_unit_test(test_breaker_success_while_open_moves_nothing),
		cmocka_unit_test(
		    test_breaker_poll_goes_half_open_at_the_deadline),
		cmocka_unit_test(test_breaker_release_gives_a_trial_back),
		cmocka_unit_test(test_breaker_state_names),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
