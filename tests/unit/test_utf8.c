/*
 * test_utf8: router/lib/utf8.h against RFC 3629 and Markus Kuhn's
 * UTF-8 decoder stress test: every boundary, each class of malformed input
 * (stray continuation bytes, lonely and truncated starts, impossible
 * bytes, overlong forms, surrogates, code points above U+10FFFF), then
 * exhaustive and random comparisons with a reference decoder written the
 * other way (decode the code point, then check its range). The word path
 * is driven by placing each case at every offset of ASCII runs that cross
 * several 16-byte blocks.
 *
 * Inputs go through exact-size heap copies, so ASan reports any read past
 * their end, the word loads included.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "router/lib/utf8.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define PAD_MAX		33	/* ASCII around a case: > two 16-byte blocks */
#define RUN_MAX		80	/* ASCII runs with one odd byte: 5 blocks */
#define LONG_RUN	4099	/* a long run: a tail of 3 after the blocks */

/* A case of Kuhn's test or RFC 3629, as bytes with an explicit length. */
struct bytes {
	const char	*s;
	size_t		 len;
};

#define BY(lit)	{ (lit), sizeof(lit) - 1 }

/* utf8_valid() on an exact-size heap copy of len bytes at s. */
static bool
valid_copy(const void *s, size_t len)
{
	unsigned char	*p;
	bool		 ok;

	assert_non_null(p = malloc(len > 0 ? len : 1));
	if (len > 0)
		memcpy(p, s, len);
	ok = utf8_valid(p, len);
	free(p);
	return (ok);
}

/*
 * The case alone, then behind every prefix and before every suffix of
 * 0..PAD_MAX ASCII bytes, so that it lands at each offset of a block, in
 * the block path and in the tail: always the same answer. A case that is
 * invalid stays so with ASCII after it (a cut sequence is still cut).
 */
static void
expect_case(const char *s, size_t len, bool want)
{
	unsigned char	*p;
	size_t		 pre, post, n;

	if (valid_copy(s, len) != want)
		fail_msg("case of %zu bytes (first 0x%02x): want %s", len,
		    len > 0 ? (unsigned char)s[0] : 0u, want ? "valid" :
		    "invalid");
	for (pre = 0; pre <= PAD_MAX; pre++) {
		for (post = 0; post <= PAD_MAX; post++) {
			n = pre + len + post;
			assert_non_null(p = malloc(n > 0 ? n : 1));
			memset(p, 'a', n);
			if (len > 0)
				memcpy(p + pre, s, len);
			if (utf8_valid(p, n) != want)
				fail_msg("case of %zu bytes (first 0x%02x) "
				    "after %zu and before %zu ASCII: want %s",
				    len, len > 0 ? (unsigned char)s[0] : 0u,
				    pre, post, want ? "valid" : "invalid");
			free(p);
		}
	}
}

static void
expect_all(const struct bytes *cases, size_t n, bool want)
{
	size_t	i;

	for (i = 0; i < n; i++)
		expect_case(cases[i].s, cases[i].len, want);
}

/*
 * The reference: RFC 3629 read the other way round. The lead byte's high
 * bits give the length, the code point is assembled, then its range says
 * whether it was overlong, a surrogate or too large.
 */
static bool
ref_valid(const unsigned char *p, size_t len)
{
	uint32_t	cp, min;
	size_t		i = 0, n, k;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = p[i] & 0x1f;
			min = 0x80;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = p[i] & 0x0f;
			min = 0x800;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return (false);
		if (len - i < n)
			return (false);
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (false);
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (false);
		i += n;
	}
	return (true);
}

/* Encodes cp in exactly n bytes (1..4), overlong when n is more than due. */
static size_t
enc(uint32_t cp, size_t n, unsigned char *out)
{
	static const unsigned char	lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	size_t				i;

	if (n == 1) {
		out[0] = (unsigned char)cp;
		return (1);
	}
	for (i = n - 1; i > 0; i--) {
		out[i] = 0x80 | (cp & 0x3f);
		cp >>= 6;
	}
	out[0] = lead[n] | (unsigned char)cp;
	return (n);
}

/* The shortest form's length. */
static size_t
enc_len(uint32_t cp)
{
	return (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
}

/* Kuhn 1 and 2: correct text and boundaries */

static void
test_utf8_empty_input_is_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid(NULL, 0));
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("\xff", 0));	/* only len bytes count */
}

static void
test_utf8_correct_text_is_valid(void **state)
{
	static const struct bytes ok[] = {
		BY("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), /* kosme */
		BY("plain ascii"),
		BY("a\0b"),
		BY("\0"),
		BY("\x7f"),
		BY("caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80"),
		BY("\xe4\xb8\xad\xe6\x96\x87"),
		BY("{\"k\":\"v\xc3\xa9\"}"),
	};

	(void)state;
	expect_all(ok, nitems(ok), true);
}

static void
test_utf8_first_and_last_of_each_length_are_valid(void **state)
{
	static const struct bytes ok[] = {
		BY("\x00"),			/* U+0000 */
		BY("\x7f"),			/* U+007F */
		BY("\xc2\x80"),			/* U+0080 */
		BY("\xdf\xbf"),			/* U+07FF */
		BY("\xe0\xa0\x80"),		/* U+0800 */
		BY("\xef\xbf\xbf"),		/* U+FFFF */
		BY("\xf0\x90\x80\x80"),		/* U+10000 */
		BY("\xf4\x8f\xbf\xbf"),		/* U+10FFFF */
	};

	(void)state;
	expect_all(ok, nitems(ok), true);
}

static void
test_utf8_other_boundaries_are_valid(void **state)
{
	static const struct bytes ok[] = {
		BY("\xed\x9f\xbf"),		/* U+D7FF, before surrogates */
		BY("\xee\x80\x80"),		/* U+E000, after them */
		BY("\xef\xbf\xbd"),		/* U+FFFD */
		BY("\xef\xbf\xbe"),		/* U+FFFE, a noncharacter */
		BY("\xef\xb7\x90"),		/* U+FDD0, a noncharacter */
		BY("\xf0\x9f\xbf\xbf"),		/* U+1FFFF */
		BY("\xf3\xbf\xbf\xbf"),		/* U+FFFFF */
		BY("\xf4\x80\x80\x80"),		/* U+100000 */
		BY("\xe1\x80\x80"),		/* E1: full 80..BF range */
		BY("\xec\xbf\xbf"),
		BY("\xed\x80\x80"),		/* U+D000 */
		BY("\xf1\x80\x80\x80"),		/* U+40000 */
	};

	(void)state;
	expect_all(ok, nitems(ok), true);
}

/* Kuhn 3: malformed sequences */

static void
test_utf8_lone_continuation_bytes_are_invalid(void **state)
{
	char	run[64];
	size_t	i, n;

	(void)state;
	for (i = 0x80; i <= 0xbf; i++) {
		run[0] = (char)i;
		expect_case(run, 1, false);
	}
	/* Kuhn 3.1.9: all 64 in a row; and runs of 2..7 from 80 and BF. */
	for (i = 0; i < 64; i++)
		run[i] = (char)(0x80 + i);
	expect_case(run, 64, false);
	for (n = 2; n <= 7; n++) {
		expect_case(run, n, false);
		expect_case(run + 64 - n, n, false);
	}
	/* After a complete character, one too many. */
	expect_case("\xc3\xa9\xa9", 3, false);
	expect_case("\xe2\x82\xac\x80", 4, false);
	expect_case("\xf0\x9f\x98\x80\xbf", 5, false);
}

static void
test_utf8_lonely_start_bytes_are_invalid(void **state)
{
	char	pair[2];
	size_t	i;

	(void)state;
	/* Kuhn 3.2: each start byte followed by a space. */
	for (i = 0xc0; i <= 0xff; i++) {
		pair[0] = (char)i;
		pair[1] = ' ';
		expect_case(pair, 2, false);
		expect_case(pair, 1, false);
	}
}

static void
test_utf8_sequences_with_last_bytes_missing_are_invalid(void **state)
{
	static const struct bytes cut[] = {
		/* Kuhn 3.3: the last byte missing, lowest and highest. */
		BY("\xc0"), BY("\xe0\x80"), BY("\xf0\x80\x80"),
		BY("\xdf"), BY("\xef\xbf"), BY("\xf7\xbf\xbf"),
		/* Every proper prefix of well-formed characters. */
		BY("\xc2"), BY("\xc3"), BY("\xe2"), BY("\xe2\x82"),
		BY("\xe0\xa0"), BY("\xed\x9f"), BY("\xf0"), BY("\xf0\x90"),
		BY("\xf0\x90\x80"), BY("\xf4\x8f\xbf"), BY("\xf1\x80\x80"),
		/* Cut short by ASCII, by a start byte, by another cut. */
		BY("\xc3" "a"), BY("\xe2\x82" "a"), BY("\xf0\x9f\x98" "a"),
		BY("\xc3\xc3\xa9"), BY("\xe2\xe2\x82\xac"),
		BY("\xf0\x9f\xf0\x9f\x98\x80"),
		/* Kuhn 3.4: all ten of 3.3 concatenated. */
		BY("\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80"
		    "\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf"
		    "\xbf\xbf"),
	};

	(void)state;
	expect_all(cut, nitems(cut), false);
}

static void
test_utf8_impossible_bytes_are_invalid(void **state)
{
	static const struct bytes bad[] = {
		/* Kuhn 3.5 */
		BY("\xfe"), BY("\xff"), BY("\xfe\xfe\xff\xff"),
		/* C0, C1 and F5..FF can start nothing. */
		BY("\xc0\x80"), BY("\xc1\x80"), BY("\xc1\xbf"),
		BY("\xf5\x80\x80\x80"), BY("\xf7\xbf\xbf\xbf"),
		BY("\xf8\x88\x80\x80\x80"), BY("\xfc\x84\x80\x80\x80\x80"),
	};

	(void)state;
	expect_all(bad, nitems(bad), false);
}

/* Kuhn 4: overlong forms */

static void
test_utf8_overlong_forms_are_invalid(void **state)
{
	static const struct bytes bad[] = {
		/* 4.1: '/' in 2..6 bytes. */
		BY("\xc0\xaf"), BY("\xe0\x80\xaf"), BY("\xf0\x80\x80\xaf"),
		BY("\xf8\x80\x80\x80\xaf"), BY("\xfc\x80\x80\x80\x80\xaf"),
		/* 4.2: the largest overlong of each length. */
		BY("\xc1\xbf"), BY("\xe0\x9f\xbf"), BY("\xf0\x8f\xbf\xbf"),
		BY("\xf8\x87\xbf\xbf\xbf"), BY("\xfc\x83\xbf\xbf\xbf\xbf"),
		/* 4.3: NUL. */
		BY("\xc0\x80"), BY("\xe0\x80\x80"), BY("\xf0\x80\x80\x80"),
		BY("\xf8\x80\x80\x80\x80"), BY("\xfc\x80\x80\x80\x80\x80"),
	};

	(void)state;
	expect_all(bad, nitems(bad), false);
}

static void
test_utf8_every_overlong_encoding_is_invalid(void **state)
{
	unsigned char	b[4];
	uint32_t	cp;
	size_t		n;

	(void)state;
	for (n = 2; n <= 4; n++) {
		/* Every code point that has a form shorter than n bytes. */
		for (cp = 0; enc_len(cp) < n; cp++) {
			enc(cp, n, b);
			if (utf8_valid(b, n))
				fail_msg("U+%04X in %zu bytes is valid", cp, n);
		}
	}
}

/* Kuhn 5: surrogates; and beyond U+10FFFF */

static void
test_utf8_surrogates_are_invalid(void **state)
{
	static const struct bytes bad[] = {
		/* 5.1: single. */
		BY("\xed\xa0\x80"), BY("\xed\xad\xbf"), BY("\xed\xae\x80"),
		BY("\xed\xaf\xbf"), BY("\xed\xb0\x80"), BY("\xed\xbe\x80"),
		BY("\xed\xbf\xbf"),
		/* 5.2: paired, as CESU-8 would write U+10000 and U+10FFFF. */
		BY("\xed\xa0\x80\xed\xb0\x80"), BY("\xed\xa0\x80\xed\xbf\xbf"),
		BY("\xed\xad\xbf\xed\xb0\x80"), BY("\xed\xad\xbf\xed\xbf\xbf"),
		BY("\xed\xae\x80\xed\xb0\x80"), BY("\xed\xae\x80\xed\xbf\xbf"),
		BY("\xed\xaf\xbf\xed\xb0\x80"), BY("\xed\xaf\xbf\xed\xbf\xbf"),
		/* Their overlong 4-byte forms. */
		BY("\xf0\x8d\xa0\x80"), BY("\xf0\x8d\xbf\xbf"),
	};
	unsigned char	b[4];
	uint32_t	cp;

	(void)state;
	expect_all(bad, nitems(bad), false);
	for (cp = 0xd800; cp <= 0xdfff; cp++) {
		enc(cp, 3, b);
		if (utf8_valid(b, 3))
			fail_msg("surrogate U+%04X is valid", cp);
	}
}

static void
test_utf8_code_points_above_10ffff_are_invalid(void **state)
{
	static const struct bytes bad[] = {
		BY("\xf4\x90\x80\x80"),		/* U+110000 */
		BY("\xf4\xbf\xbf\xbf"),
		BY("\xf5\x80\x80\x80"),		/* U+140000 */
		BY("\xf7\xbf\xbf\xbf"),		/* U+1FFFFF */
	};
	unsigned char	b[4];
	uint32_t	cp;

	(void)state;
	expect_all(bad, nitems(bad), false);
	/* Everything a 4-byte form can hold past the last code point. */
	for (cp = 0x110000; cp <= 0x1fffff; cp++) {
		enc(cp, 4, b);
		if (utf8_valid(b, 4))
			fail_msg("U+%06X is valid", cp);
	}
}

static void
test_utf8_every_code_point_in_shortest_form_is_valid(void **state)
{
	unsigned char	b[4];
	uint32_t	cp;
	size_t		n;

	(void)state;
	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp == 0xd800)
			cp = 0xe000;	/* surrogates: the test above */
		n = enc(cp, enc_len(cp), b);
		if (!utf8_valid(b, n))
			fail_msg("U+%04X is invalid", cp);
	}
}

/* Exhaustive and random comparisons with the reference */

static void
test_utf8_all_strings_up_to_3_bytes_match_the_reference(void **state)
{
	unsigned char	b[3];
	unsigned	i, j, k;

	(void)state;
	for (i = 0; i < 256; i++) {
		b[0] = (unsigned char)i;
		assert_true(utf8_valid(b, 1) == ref_valid(b, 1));
		for (j = 0; j < 256; j++) {
			b[1] = (unsigned char)j;
			if (utf8_valid(b, 2) != ref_valid(b, 2))
				fail_msg("%02x %02x", i, j);
			for (k = 0; k < 256; k++) {
				b[2] = (unsigned char)k;
				if (utf8_valid(b, 3) != ref_valid(b, 3))
					fail_msg("%02x %02x %02x", i, j, k);
			}
		}
	}
}

static void
test_utf8_4_byte_strings_match_the_reference(void **state)
{
	/* Each side of every range boundary a byte can fall on. */
	static const unsigned char edge[] = {
		0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
		0xc1, 0xc2, 0xdf, 0xe0, 0xef, 0xf0, 0xf4, 0xf5, 0xff
	};
	unsigned char	b[4];
	unsigned	i, j;
	size_t		k, l;

	(void)state;
	for (i = 0; i < 256; i++) {
		for (j = 0; j < 256; j++) {
			for (k = 0; k < nitems(edge); k++) {
				for (l = 0; l < nitems(edge); l++) {
					b[0] = (unsigned char)i;
					b[1] = (unsigned char)j;
					b[2] = edge[k];
					b[3] = edge[l];
					if (utf8_valid(b, 4) != ref_valid(b, 4))
						fail_msg("%02x %02x %02x %02x",
						    b[0], b[1], b[2], b[3]);
				}
			}
		}
	}
}

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

/*
 * Random text of random length: mostly well-formed characters of every
 * length, with now and then a random byte, so that both answers come up.
 */
static void
test_utf8_random_text_matches_the_reference(void **state)
{
	unsigned char	buf[300], ch[4];
	uint64_t	seed = 0x9e3779b97f4a7c15ULL, r;
	uint32_t	cp;
	size_t		round, len, want, n;
	int		nvalid = 0, ninvalid = 0;
	bool		ok;

	(void)state;
	for (round = 0; round < 20000; round++) {
		want = xorshift(&seed) % sizeof(buf);
		for (len = 0; len < want; len += n) {
			r = xorshift(&seed);
			if (r % 97 == 0) {
				ch[0] = (unsigned char)(r >> 8);
				n = 1;
			} else if (r % 3 == 0) {
				ch[0] = 'a' + (unsigned char)(r >> 8) % 26;
				n = 1;
			} else {
				cp = (uint32_t)(r >> 16) % 0x110000;
				if (cp >= 0xd800 && cp <= 0xdfff)
					cp -= 0x800;
				n = enc(cp, enc_len(cp), ch);
			}
			if (len + n > want)
				break;
			memcpy(buf + len, ch, n);
		}
		ok = valid_copy(buf, len);
		if (ok != ref_valid(buf, len))
			fail_msg("round %zu: %zu bytes, utf8_valid says %d",
			    round, len, ok);
		if (ok)
			nvalid++;
		else
			ninvalid++;
	}
	/* Both answers were exercised, many times. */
	assert_true(nvalid > 1000);
	assert_true(ninvalid > 1000);
}

/* The word path: ASCII runs */

static void
test_utf8_ascii_of_every_length_is_valid(void **state)
{
	unsigned char	buf[RUN_MAX];
	size_t		len, i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 37 % 128);	/* NUL and 7F too */
	for (len = 0; len <= sizeof(buf); len++)
		assert_true(valid_copy(buf, len));
}

/* A run of len ASCII bytes with bytes at pos replaced by odd (n bytes). */
static bool
run_with(size_t len, size_t pos, const char *odd, size_t n)
{
	unsigned char	*p;
	bool		 ok;

	assert_true(pos + n <= len);
	assert_non_null(p = malloc(len));
	memset(p, 'x', len);
	memcpy(p + pos, odd, n);
	ok = utf8_valid(p, len);
	free(p);
	return (ok);
}

static void
test_utf8_invalid_byte_at_every_position_of_an_ascii_run(void **state)
{
	/* One of each invalid class, as a single byte amid ASCII. */
	static const struct bytes bad[] = {
		BY("\x80"), BY("\xbf"), BY("\xc0"), BY("\xc1"), BY("\xc3"),
		BY("\xe2"), BY("\xed"), BY("\xf0"), BY("\xf4"), BY("\xf5"),
		BY("\xfe"), BY("\xff"),
	};
	size_t	len, pos, i;

	(void)state;
	for (len = 1; len <= RUN_MAX; len++) {
		for (pos = 0; pos < len; pos++) {
			for (i = 0; i < nitems(bad); i++) {
				if (run_with(len, pos, bad[i].s, bad[i].len))
					fail_msg("0x%02x at %zu of %zu: valid",
					    (unsigned char)bad[i].s[0], pos,
					    len);
			}
		}
	}
	/* A long run: the first and last blocks, and the 3-byte tail. */
	for (pos = 0; pos < LONG_RUN; pos++) {
		if (pos == 64)
			pos = LONG_RUN - 64;
		for (i = 0; i < nitems(bad); i++)
			assert_false(run_with(LONG_RUN, pos, bad[i].s,
			    bad[i].len));
	}
}

static void
test_utf8_bad_sequence_at_every_position_of_an_ascii_run(void **state)
{
	static const struct bytes bad[] = {
		BY("\xc0\xaf"), BY("\xe0\x9f\xbf"), BY("\xed\xa0\x80"),
		BY("\xf0\x8f\xbf\xbf"), BY("\xf4\x90\x80\x80"),
		BY("\xe2\x82"), BY("\xf0\x9f\x98"), BY("\xe2\x28\xa1"),
	};
	size_t	len, pos, i;

	(void)state;
	for (len = 4; len <= RUN_MAX; len++) {
		for (i = 0; i < nitems(bad); i++) {
			for (pos = 0; pos + bad[i].len <= len; pos++) {
				if (run_with(len, pos, bad[i].s, bad[i].len))
					fail_msg("case %zu at %zu of %zu: "
					    "valid", i, pos, len);
			}
		}
	}
}

static void
test_utf8_good_character_at_every_position_of_an_ascii_run(void **state)
{
	static const struct bytes ok[] = {
		BY("\xc2\x80"), BY("\xdf\xbf"), BY("\xe0\xa0\x80"),
		BY("\xed\x9f\xbf"), BY("\xef\xbf\xbf"), BY("\xf0\x90\x80\x80"),
		BY("\xf4\x8f\xbf\xbf"),
	};
	size_t	len, pos, i;

	(void)state;
	for (len = 4; len <= RUN_MAX; len++) {
		for (i = 0; i < nitems(ok); i++) {
			for (pos = 0; pos + ok[i].len <= len; pos++) {
				if (!run_with(len, pos, ok[i].s, ok[i].len))
					fail_msg("case %zu at %zu of %zu: "
					    "invalid", i, pos, len);
			}
		}
	}
}

static void
test_utf8_sequence_cut_by_the_end_at_every_length(void **state)
{
	static const struct bytes lead[] = {
		BY("\xc3"), BY("\xe2"), BY("\xe2\x82"), BY("\xf0"),
		BY("\xf0\x9f"), BY("\xf0\x9f\x98"),
	};
	size_t	len, i;

	(void)state;
	for (len = 4; len <= RUN_MAX; len++) {
		for (i = 0; i < nitems(lead); i++) {
			assert_false(run_with(len, len - lead[i].len,
			    lead[i].s, lead[i].len));
		}
	}
}

/*
 * A character split by ASCII: the rest of it must not be taken up again
 * after the ASCII, whether that is checked byte by byte or skipped as a
 * whole block; every split point, every gap up to three blocks.
 */
static void
test_utf8_character_split_by_ascii_is_invalid(void **state)
{
	static const struct bytes chars[] = {
		BY("\xc3\xa9"), BY("\xe2\x82\xac"), BY("\xf0\x9f\x98\x80"),
		BY("\xed\x9f\xbf"), BY("\xf4\x8f\xbf\xbf"),
	};
	unsigned char	*p;
	size_t		 i, cut, pre, gap, n;

	(void)state;
	for (i = 0; i < nitems(chars); i++) {
		for (cut = 1; cut < chars[i].len; cut++) {
			for (pre = 0; pre < 16; pre++) {
				for (gap = 1; gap <= 48; gap++) {
					n = pre + chars[i].len + gap;
					assert_non_null(p = malloc(n));
					memset(p, 'x', n);
					memcpy(p + pre, chars[i].s, cut);
					memcpy(p + pre + cut + gap,
					    chars[i].s + cut,
					    chars[i].len - cut);
					if (utf8_valid(p, n))
						fail_msg("char %zu cut at %zu "
						    "after %zu, gap %zu: "
						    "valid", i, cut, pre, gap);
					free(p);
				}
			}
		}
	}
}

static void
test_utf8_reads_only_len_bytes(void **state)
{
	static const char	text[] = "0123456789abcdefghij\xc3\xa9";
	unsigned char		*p;

	(void)state;
	/* What follows len decides nothing, either way. */
	assert_non_null(p = malloc(24));
	memcpy(p, text, 22);
	p[22] = 0xff;
	p[23] = 0xff;
	assert_true(utf8_valid(p, 22));
	assert_false(utf8_valid(p, 21));	/* é cut after its lead */
	assert_true(utf8_valid(p, 20));
	assert_true(utf8_valid(p, 16));
	assert_true(utf8_valid(p, 0));
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_empty_input_is_valid),
		cmocka_unit_test(test_utf8_correct_text_is_valid),
		cmocka_unit_test(
		    test_utf8_first_and_last_of_each_length_are_valid),
		cmocka_unit_test(test_utf8_other_boundaries_are_valid),
		cmocka_unit_test(test_utf8_lone_continuation_bytes_are_invalid),
		cmocka_unit_test(test_utf8_lonely_start_bytes_are_invalid),
		cmocka_unit_test(
		    test_utf8_sequences_with_last_bytes_missing_are_invalid),
		cmocka_unit_test(test_utf8_impossible_bytes_are_invalid),
		cmocka_unit_test(test_utf8_overlong_forms_are_invalid),
		cmocka_unit_test(test_utf8_every_overlong_encoding_is_invalid),
		cmocka_unit_test(test_utf8_surrogates_are_invalid),
		cmocka_unit_test(
		    test_utf8_code_points_above_10ffff_are_invalid),
		cmocka_unit_test(
		    test_utf8_every_code_point_in_shortest_form_is_valid),
		cmocka_unit_test(
		    test_utf8_all_strings_up_to_3_bytes_match_the_reference),
		cmocka_unit_test(test_utf8_4_byte_strings_match_the_reference),
		cmocka_unit_test(test_utf8_random_text_matches_the_reference),
		cmocka_unit_test(test_utf8_ascii_of_every_length_is_valid),
		cmocka_unit_test(
		    test_utf8_invalid_byte_at_every_position_of_an_ascii_run),
		cmocka_unit_test(
		    test_utf8_bad_sequence_at_every_position_of_an_ascii_run),
		cmocka_unit_test(
		    test_utf8_good_character_at_every_position_of_an_ascii_run),
		cmocka_unit_test(
		    test_utf8_sequence_cut_by_the_end_at_every_length),
		cmocka_unit_test(test_utf8_character_split_by_ascii_is_invalid),
		cmocka_unit_test(test_utf8_reads_only_len_bytes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
