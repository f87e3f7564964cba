/*
 * test_htab: the open-addressing table through router/lib/htab.h: string
 * and u64 keys, replacement, growth, backward-shift deletion (checked
 * against a plain reference array), iteration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "router/lib/htab.h"

#define BIG_N		100000
#define MODEL_KEYS	509		/* key space of the random model test */
#define MODEL_OPS	200000

/* The table under test and the key storage it borrows from. */
struct fixture {
	struct htab	*h;
	uint64_t	*keys;
	size_t		 nkeys;
	unsigned char	*seen;
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	if ((f->h = htab_new()) == NULL) {
		free(f);
		return (-1);
	}
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	htab_free(f->h);
	free(f->keys);
	free(f->seen);
	free(f);
	return (0);
}

/* Fills f->keys with n keys, key i = i * stride + base. */
static uint64_t *
make_keys(struct fixture *f, size_t n, uint64_t stride, uint64_t base)
{
	size_t	i;

	free(f->keys);
	f->keys = calloc(n, sizeof(*f->keys));
	assert_non_null(f->keys);
	f->nkeys = n;
	for (i = 0; i < n; i++)
		f->keys[i] = (uint64_t)i * stride + base;
	return (f->keys);
}

static void *
get_u64(const struct htab *h, uint64_t k)
{
	return (htab_get(h, &k, sizeof(k)));
}

static void *
del_u64(struct htab *h, uint64_t k)
{
	return (htab_del(h, &k, sizeof(k)));
}

static void
test_htab_new_table_is_empty(void **state)
{
	struct fixture	*f = *state;
	size_t		 iter = 0;

	assert_int_equal(htab_count(f->h), 0);
	assert_null(htab_get(f->h, "a", 1));
	assert_null(htab_del(f->h, "a", 1));
	assert_null(htab_next(f->h, &iter));
	assert_int_equal(htab_count(f->h), 0);
}

static void
test_htab_free_null_is_noop(void **state)
{
	(void)state;
	htab_free(NULL);
}

static void
test_htab_string_keys_put_get_del(void **state)
{
	struct fixture	*f = *state;
	int		 a = 1, b = 2, c = 3;

	assert_int_equal(htab_put(f->h, "internal", 8, &a), 0);
	assert_int_equal(htab_put(f->h, "external", 8, &b), 0);
	assert_int_equal(htab_put(f->h, "$sys", 4, &c), 0);
	assert_int_equal(htab_count(f->h), 3);

	assert_ptr_equal(htab_get(f->h, "internal", 8), &a);
	assert_ptr_equal(htab_get(f->h, "external", 8), &b);
	assert_ptr_equal(htab_get(f->h, "$sys", 4), &c);
	assert_null(htab_get(f->h, "extern", 6));
	assert_null(htab_get(f->h, "$sys2", 5));

	assert_ptr_equal(htab_del(f->h, "external", 8), &b);
	assert_int_equal(htab_count(f->h), 2);
	assert_null(htab_get(f->h, "external", 8));
	assert_ptr_equal(htab_get(f->h, "internal", 8), &a);
	assert_ptr_equal(htab_get(f->h, "$sys", 4), &c);
}

static void
test_htab_keys_compare_by_bytes_and_length(void **state)
{
	struct fixture	*f = *state;
	char		 k1[] = "abc", k2[] = "abc";
	const char	 nul1[] = { 'a', '\0', 'b' };
	const char	 nul2[] = { 'a', '\0', 'c' };
	int		 a = 1, b = 2, c = 3, d = 4, e = 5;

	assert_int_equal(htab_put(f->h, k1, 3, &a), 0);
	/* Another pointer to the same bytes finds the same entry. */
	assert_ptr_equal(htab_get(f->h, k2, 3), &a);
	/* Prefixes are other keys. */
	assert_null(htab_get(f->h, k1, 2));
	assert_int_equal(htab_put(f->h, k1, 2, &b), 0);
	assert_int_equal(htab_put(f->h, k1, 1, &c), 0);
	assert_int_equal(htab_count(f->h), 3);
	assert_ptr_equal(htab_get(f->h, "abc", 3), &a);
	assert_ptr_equal(htab_get(f->h, "ab", 2), &b);
	assert_ptr_equal(htab_get(f->h, "a", 1), &c);
	/* Bytes after a NUL count. */
	assert_int_equal(htab_put(f->h, nul1, 3, &d), 0);
	assert_int_equal(htab_put(f->h, nul2, 3, &e), 0);
	assert_int_equal(htab_count(f->h), 5);
	assert_ptr_equal(htab_get(f->h, nul1, 3), &d);
	assert_ptr_equal(htab_get(f->h, nul2, 3), &e);
	/* The empty key is a key like any other. */
	assert_null(htab_get(f->h, "", 0));
	assert_int_equal(htab_put(f->h, "", 0, &a), 0);
	assert_ptr_equal(htab_get(f->h, "", 0), &a);
	assert_int_equal(htab_count(f->h), 6);
	assert_ptr_equal(htab_del(f->h, "", 0), &a);
	assert_int_equal(htab_count(f->h), 5);
}

static void
test_htab_u64_keys_put_get_del(void **state)
{
	struct fixture	*f = *state;
	uint64_t	*k = make_keys(f, 4, 1, 0);

	k[0] = 0;
	k[1] = 1;
	k[2] = UINT64_MAX;
	k[3] = 1ULL << 63;
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(htab_put(f->h, &k[i], sizeof(k[i]), &k[i]), 0);
	assert_int_equal(htab_count(f->h), 4);
	for (size_t i = 0; i < 4; i++)
		assert_ptr_equal(get_u64(f->h, k[i]), &k[i]);
	assert_null(get_u64(f->h, 2));
	assert_null(get_u64(f->h, UINT64_MAX - 1));
	/* A 4-byte key with the same leading bytes is another key. */
	assert_null(htab_get(f->h, &k[1], 4));

	assert_ptr_equal(del_u64(f->h, UINT64_MAX), &k[2]);
	assert_null(get_u64(f->h, UINT64_MAX));
	assert_ptr_equal(get_u64(f->h, 1ULL << 63), &k[3]);
	assert_int_equal(htab_count(f->h), 3);
}

static void
test_htab_put_existing_key_replaces_value_and_keeps_count(void **state)
{
	struct fixture	*f = *state;
	char		 first[] = "tract", second[] = "tract";
	int		 a = 1, b = 2;
	size_t		 iter = 0;

	assert_int_equal(htab_put(f->h, first, 5, &a), 0);
	assert_int_equal(htab_put(f->h, second, 5, &b), 0);
	assert_int_equal(htab_count(f->h), 1);
	assert_ptr_equal(htab_get(f->h, "tract", 5), &b);
	/* The entry now borrows the second key: the first may change. */
	first[0] = 'X';
	assert_ptr_equal(htab_get(f->h, "tract", 5), &b);
	assert_ptr_equal(htab_next(f->h, &iter), &b);
	assert_null(htab_next(f->h, &iter));
	assert_ptr_equal(htab_del(f->h, "tract", 5), &b);
	assert_int_equal(htab_count(f->h), 0);
	assert_null(htab_get(f->h, "tract", 5));
}

static void
test_htab_del_absent_key_returns_null_and_keeps_count(void **state)
{
	struct fixture	*f = *state;
	uint64_t	*k = make_keys(f, 100, 1, 0);
	size_t		 i;

	for (i = 0; i < 100; i++)
		assert_int_equal(htab_put(f->h, &k[i], 8, &k[i]), 0);
	assert_null(del_u64(f->h, 100));
	assert_null(del_u64(f->h, UINT64_MAX));
	assert_null(htab_del(f->h, "absent", 6));
	assert_int_equal(htab_count(f->h), 100);
	assert_ptr_equal(del_u64(f->h, 42), &k[42]);
	/* Deleting twice: the second finds nothing. */
	assert_null(del_u64(f->h, 42));
	assert_int_equal(htab_count(f->h), 99);
	for (i = 0; i < 100; i++) {
		if (i == 42)
			assert_null(get_u64(f->h, i));
		else
			assert_ptr_equal(get_u64(f->h, i), &k[i]);
	}
}

/*
 * 100000 sequential keys (they differ only in their low bits) through every
 * growth, then every other one deleted: the rest must still be found, so the
 * backward shift kept each probe run unbroken.
 */
static void
test_htab_100000_keys_survive_growth_and_every_other_delete(void **state)
{
	struct fixture	*f = *state;
	uint64_t	*k = make_keys(f, BIG_N, 1, 0);
	size_t		 i;

	for (i = 0; i < BIG_N; i++) {
		assert_int_equal(htab_put(f->h, &k[i], 8, &k[i]), 0);
		assert_int_equal(htab_count(f->h), i + 1);
		/* Spot checks across each growth. */
		if ((i & (i + 1)) == 0)
			assert_ptr_equal(get_u64(f->h, 0), &k[0]);
	}
	for (i = 0; i < BIG_N; i++)
		assert_ptr_equal(get_u64(f->h, i), &k[i]);
	assert_null(get_u64(f->h, BIG_N));

	for (i = 0; i < BIG_N; i += 2)
		assert_ptr_equal(del_u64(f->h, i), &k[i]);
	assert_int_equal(htab_count(f->h), BIG_N / 2);
	for (i = 0; i < BIG_N; i++) {
		if (i % 2 == 0)
			assert_null(get_u64(f->h, i));
		else
			assert_ptr_equal(get_u64(f->h, i), &k[i]);
	}

	/* Put the deleted half back, then empty the table completely. */
	for (i = 0; i < BIG_N; i += 2)
		assert_int_equal(htab_put(f->h, &k[i], 8, &k[i]), 0);
	assert_int_equal(htab_count(f->h), BIG_N);
	for (i = 0; i < BIG_N; i++)
		assert_ptr_equal(get_u64(f->h, i), &k[i]);
	for (i = 0; i < BIG_N; i++)
		assert_ptr_equal(del_u64(f->h, i), &k[i]);
	assert_int_equal(htab_count(f->h), 0);
	for (i = 0; i < BIG_N; i += 997)
		assert_null(get_u64(f->h, i));
}

/* Keys equal in their low 32 or 48 bits. */
static void
test_htab_keys_equal_in_low_bits_stay_distinct(void **state)
{
	struct fixture	*f = *state;
	const uint64_t	 strides[] = { 1ULL << 32, 1ULL << 48, 1ULL << 16, 64 };
	uint64_t	*k;
	size_t		 s, i, n = 5000;

	for (s = 0; s < sizeof(strides) / sizeof(strides[0]); s++) {
		htab_free(f->h);
		assert_non_null(f->h = htab_new());
		k = make_keys(f, n, strides[s], 7);
		for (i = 0; i < n; i++)
			assert_int_equal(htab_put(f->h, &k[i], 8, &k[i]), 0);
		assert_int_equal(htab_count(f->h), n);
		for (i = 0; i < n; i++)
			assert_ptr_equal(get_u64(f->h, k[i]), &k[i]);
		assert_null(get_u64(f->h, 6));
		for (i = 0; i < n; i += 3)
			assert_ptr_equal(del_u64(f->h, k[i]), &k[i]);
		for (i = 0; i < n; i++) {
			if (i % 3 == 0)
				assert_null(get_u64(f->h, k[i]));
			else
				assert_ptr_equal(get_u64(f->h, k[i]), &k[i]);
		}
	}
}

static void
test_htab_iteration_visits_each_value_exactly_once(void **state)
{
	struct fixture	*f = *state;
	const size_t	 n = 3000;
	uint64_t	*k = make_keys(f, n, 1, 1000);
	uint64_t	*v;
	size_t		 i, iter, visits;

	assert_non_null(f->seen = calloc(n, 1));
	for (i = 0; i < n; i++)
		assert_int_equal(htab_put(f->h, &k[i], 8, &k[i]), 0);
	/* Some deletions first, so the walk crosses shifted runs. */
	for (i = 0; i < n; i += 5)
		assert_ptr_equal(del_u64(f->h, k[i]), &k[i]);

	iter = 0;
	visits = 0;
	while ((v = htab_next(f->h, &iter)) != NULL) {
		assert_true(v >= k && v < k + n);
		assert_int_equal(f->seen[v - k], 0);
		f->seen[v - k] = 1;
		visits++;
	}
	assert_int_equal(visits, n - n / 5);
	assert_int_equal(visits, htab_count(f->h));
	for (i = 0; i < n; i++)
		assert_int_equal(f->seen[i], i % 5 != 0);
	/* At the end it stays at the end. */
	assert_null(htab_next(f->h, &iter));
}

/* xorshift64: a fixed sequence, the same on every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

/*
 * Random puts and deletes over a small key space (so the table stays small,
 * wraps around and shifts a lot), checked after every step against an
 * array: present[i] says whether key i is in, and what it maps to.
 */
static void
test_htab_random_puts_and_deletes_match_reference_model(void **state)
{
	struct fixture	*f = *state;
	uint64_t	*k = make_keys(f, MODEL_KEYS, 0x9e3779b97f4a7c15ULL, 3);
	void		*present[MODEL_KEYS] = { 0 };
	static int	 vals[2];
	uint64_t	 seed = 0x2545f4914f6cdd1dULL;
	size_t		 op, i, j, count = 0;

	for (op = 0; op < MODEL_OPS; op++) {
		i = rnd(&seed) % MODEL_KEYS;
		/* Bias towards a half-full table, then towards emptying. */
		if (rnd(&seed) % 100 < (op < MODEL_OPS / 2 ? 55U : 40U)) {
			void	*v = &vals[op & 1];

			assert_int_equal(htab_put(f->h, &k[i], 8, v), 0);
			if (present[i] == NULL)
				count++;
			present[i] = v;
		} else {
			assert_ptr_equal(htab_del(f->h, &k[i], 8), present[i]);
			if (present[i] != NULL)
				count--;
			present[i] = NULL;
		}
		assert_int_equal(htab_count(f->h), count);
		if (op % 97 == 0) {
			for (j = 0; j < MODEL_KEYS; j++)
				assert_ptr_equal(htab_get(f->h, &k[j], 8),
				    present[j]);
		}
	}
	for (j = 0; j < MODEL_KEYS; j++)
		assert_ptr_equal(htab_get(f->h, &k[j], 8), present[j]);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_htab_new_table_is_empty,
		    setup, teardown),
		cmocka_unit_test(test_htab_free_null_is_noop),
		cmocka_unit_test_setup_teardown(
		    test_htab_string_keys_put_get_del, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_htab_keys_compare_by_bytes_and_length, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_htab_u64_keys_put_get_del,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_htab_put_existing_key_replaces_value_and_keeps_count,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_htab_del_absent_key_returns_null_and_keeps_count,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_htab_100000_keys_survive_growth_and_every_other_delete,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_htab_keys_equal_in_low_bits_stay_distinct, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_htab_iteration_visits_each_value_exactly_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_htab_random_puts_and_deletes_match_reference_model,
		    setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
