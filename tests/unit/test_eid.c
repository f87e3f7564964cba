/*
 * test_eid: "MS-SEQ" parsing and formatting, ordering, and the generator
 * that never goes back, driven through eventstore/eid.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "eventstore/eid.h"

static struct eid	mk(uint64_t, uint64_t);
static int		parse(const char *, uint64_t, struct eid *);

static struct eid
mk(uint64_t ms, uint64_t seq)
{
	struct eid	e;

	e.ms = ms;
	e.seq = seq;
	return (e);
}

static int
parse(const char *s, uint64_t default_seq, struct eid *out)
{
	return (eid_parse(s, strlen(s), default_seq, out));
}

static void
test_eid_format_then_parse_round_trips(void **state)
{
	const struct eid	ids[] = {
		{ 0, 0 }, { 0, 1 }, { 1, 0 }, { 1700000000123ULL, 42 },
		{ UINT64_MAX, UINT64_MAX }
	};
	const char		*texts[] = {
		"0-0", "0-1", "1-0", "1700000000123-42",
		"18446744073709551615-18446744073709551615"
	};
	char			 buf[EID_STR_MAX];
	struct eid		 back;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(eid_format(&ids[i], buf), strlen(texts[i]));
		assert_string_equal(buf, texts[i]);
		assert_int_equal(parse(buf, 0, &back), 0);
		assert_int_equal(back.ms, ids[i].ms);
		assert_int_equal(back.seq, ids[i].seq);
	}
	/* The longest id fills the buffer exactly. */
	assert_int_equal(strlen(texts[4]) + 1, EID_STR_MAX);
}

static void
test_eid_parse_rejects_malformed_and_leaves_out_alone(void **state)
{
	const char	*bad[] = {
		"", "-", "1-", "-1", "1-2-3", "a-1", " 1-1", "1-1 ", "+1-1",
		"1--1", "1-+1", "0x1-1", "1-a", "1.5-0",
		"18446744073709551616-0", "0-18446744073709551616",
		"99999999999999999999-0"
	};
	struct eid	 out = mk(7, 7);
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], 0, &out), -1);
		assert_int_equal(out.ms, 7);
		assert_int_equal(out.seq, 7);
	}
	assert_int_equal(eid_parse(NULL, 0, 0, &out), -1);
}

static void
test_eid_parse_accepts_uint64_max_and_leading_zeros(void **state)
{
	struct eid	out;

	(void)state;
	assert_int_equal(parse("18446744073709551615-18446744073709551615", 0,
	    &out), 0);
	assert_true(out.ms == UINT64_MAX && out.seq == UINT64_MAX);
	assert_int_equal(parse("007-010", 0, &out), 0);
	assert_int_equal(out.ms, 7);
	assert_int_equal(out.seq, 10);
}

static void
test_eid_parse_ms_alone_takes_default_seq(void **state)
{
	struct eid	out;

	(void)state;
	assert_int_equal(parse("1500", 0, &out), 0);
	assert_int_equal(out.ms, 1500);
	assert_int_equal(out.seq, 0);
	assert_int_equal(parse("1500", UINT64_MAX, &out), 0);
	assert_int_equal(out.ms, 1500);
	assert_true(out.seq == UINT64_MAX);
	assert_int_equal(parse("18446744073709551616", 0, &out), -1);
}

static void
test_eid_parse_reads_only_len_bytes(void **state)
{
	struct eid	out;

	(void)state;
	assert_int_equal(eid_parse("12-34junk", 5, 0, &out), 0);
	assert_int_equal(out.ms, 12);
	assert_int_equal(out.seq, 34);
	/* "5-" cut from "5-6": the seq is empty. */
	assert_int_equal(eid_parse("5-6", 2, 0, &out), -1);
	assert_int_equal(eid_parse("5-6", 1, 9, &out), 0);
	assert_int_equal(out.ms, 5);
	assert_int_equal(out.seq, 9);
}

static void
test_eid_cmp_orders_by_ms_then_seq(void **state)
{
	struct eid	a = mk(1, 5), b = mk(2, 0), c = mk(2, 1), d = mk(2, 1);

	(void)state;
	assert_int_equal(eid_cmp(&a, &b), -1);
	assert_int_equal(eid_cmp(&b, &a), 1);
	assert_int_equal(eid_cmp(&b, &c), -1);
	assert_int_equal(eid_cmp(&c, &b), 1);
	assert_int_equal(eid_cmp(&c, &d), 0);
}

static void
test_eid_is_zero_only_for_0_0(void **state)
{
	struct eid	z = mk(0, 0), s = mk(0, 1), m = mk(1, 0);

	(void)state;
	assert_true(eid_is_zero(&z));
	assert_false(eid_is_zero(&s));
	assert_false(eid_is_zero(&m));
}

static void
test_eid_succ_increments_seq_and_carries_into_ms(void **state)
{
	struct eid	e, n;

	(void)state;
	e = mk(10, 4);
	n = eid_succ(&e);
	assert_int_equal(n.ms, 10);
	assert_int_equal(n.seq, 5);

	e = mk(10, UINT64_MAX);
	n = eid_succ(&e);
	assert_int_equal(n.ms, 11);
	assert_int_equal(n.seq, 0);

	e = mk(UINT64_MAX, UINT64_MAX);
	n = eid_succ(&e);
	assert_true(n.ms == UINT64_MAX && n.seq == UINT64_MAX);
}

static void
test_eid_gen_same_ms_increments_seq(void **state)
{
	struct eid_gen	g;
	struct eid	e;

	(void)state;
	eid_gen_init(&g, NULL);
	e = eid_next(&g, 1000);
	assert_int_equal(e.ms, 1000);
	assert_int_equal(e.seq, 0);
	e = eid_next(&g, 1000);
	assert_int_equal(e.ms, 1000);
	assert_int_equal(e.seq, 1);
	e = eid_next(&g, 1000);
	assert_int_equal(e.ms, 1000);
	assert_int_equal(e.seq, 2);
}

static void
test_eid_gen_clock_back_keeps_ms_and_increments_seq(void **state)
{
	struct eid_gen	g;
	struct eid	e;

	(void)state;
	eid_gen_init(&g, NULL);
	(void)eid_next(&g, 5000);
	(void)eid_next(&g, 5000);
	e = eid_next(&g, 4000);
	assert_int_equal(e.ms, 5000);
	assert_int_equal(e.seq, 2);
	e = eid_next(&g, 1);
	assert_int_equal(e.ms, 5000);
	assert_int_equal(e.seq, 3);
}

static void
test_eid_gen_clock_forward_resets_seq_to_0(void **state)
{
	struct eid_gen	g;
	struct eid	e;

	(void)state;
	eid_gen_init(&g, NULL);
	(void)eid_next(&g, 5000);
	(void)eid_next(&g, 5000);
	(void)eid_next(&g, 5000);
	e = eid_next(&g, 5001);
	assert_int_equal(e.ms, 5001);
	assert_int_equal(e.seq, 0);
}

static void
test_eid_gen_starts_strictly_above_floor(void **state)
{
	struct eid	floor = mk(1000, 5), e;
	struct eid_gen	g;

	(void)state;
	eid_gen_init(&g, &floor);
	e = eid_next(&g, 900);
	assert_int_equal(e.ms, 1000);
	assert_int_equal(e.seq, 6);

	eid_gen_init(&g, &floor);
	e = eid_next(&g, 1000);
	assert_int_equal(e.ms, 1000);
	assert_int_equal(e.seq, 6);

	eid_gen_init(&g, &floor);
	e = eid_next(&g, 2000);
	assert_int_equal(e.ms, 2000);
	assert_int_equal(e.seq, 0);

	/* The zero floor at time 0 still gives 0-1, never 0-0. */
	floor = mk(0, 0);
	eid_gen_init(&g, &floor);
	e = eid_next(&g, 0);
	assert_int_equal(e.ms, 0);
	assert_int_equal(e.seq, 1);
}

static void
test_eid_gen_seq_overflow_moves_to_next_ms(void **state)
{
	struct eid	floor = mk(70, UINT64_MAX - 1), e;
	struct eid_gen	g;

	(void)state;
	eid_gen_init(&g, &floor);
	e = eid_next(&g, 70);
	assert_int_equal(e.ms, 70);
	assert_true(e.seq == UINT64_MAX);
	e = eid_next(&g, 70);
	assert_int_equal(e.ms, 71);
	assert_int_equal(e.seq, 0);
	e = eid_next(&g, 70);
	assert_int_equal(e.ms, 71);
	assert_int_equal(e.seq, 1);
}

/* The cached text equals eid_format() of the same id, whatever the clock. */
static void
test_eid_next_str_matches_eid_format(void **state)
{
	static const uint64_t	clock[] = { 5, 5, 5, 6, 4, 4, 1000000000000ULL,
	    1000000000000ULL, 999, 1000000000001ULL };
	struct eid_gen		 g;
	struct eid		 id, floor = { 0, 0 };
	char			 a[EID_STR_MAX], b[EID_STR_MAX];
	size_t			 i, n;

	(void)state;
	eid_gen_init(&g, &floor);
	for (i = 0; i < sizeof(clock) / sizeof(clock[0]); i++) {
		n = eid_next_str(&g, clock[i], &id, a);
		assert_int_equal(n, eid_format(&id, b));
		assert_string_equal(a, b);
	}
	assert_string_equal(a, "1000000000001-0");
	/* A new floor drops the cached prefix. */
	floor.ms = 7;
	floor.seq = 3;
	eid_gen_init(&g, &floor);
	eid_next_str(&g, 7, &id, a);
	assert_string_equal(a, "7-4");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_eid_format_then_parse_round_trips),
		cmocka_unit_test(
		    test_eid_parse_rejects_malformed_and_leaves_out_alone),
		cmocka_unit_test(
		    test_eid_parse_accepts_uint64_max_and_leading_zeros),
		cmocka_unit_test(test_eid_parse_ms_alone_takes_default_seq),
		cmocka_unit_test(test_eid_parse_reads_only_len_bytes),
		cmocka_unit_test(test_eid_cmp_orders_by_ms_then_seq),
		cmocka_unit_test(test_eid_is_zero_only_for_0_0),
		cmocka_unit_test(
		    test_eid_succ_increments_seq_and_carries_into_ms),
		cmocka_unit_test(test_eid_gen_same_ms_increments_seq),
		cmocka_unit_test(test_eid_next_str_matches_eid_format),
		cmocka_unit_test(
		    test_eid_gen_clock_back_keeps_ms_and_increments_seq),
		cmocka_unit_test(test_eid_gen_clock_forward_resets_seq_to_0),
		cmocka_unit_test(test_eid_gen_starts_strictly_above_floor),
		cmocka_unit_test(test_eid_gen_seq_overflow_moves_to_next_ms),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
