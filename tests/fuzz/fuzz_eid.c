/*
 * fuzz_eid: eid_parse() on arbitrary bytes. What it accepts must be what
 * strtoull(3) reads as one or two decimal u64s joined by '-', formatting
 * must give the canonical text (no leading zeros) of at most
 * EID_STR_MAX - 1 bytes that parses back to the same id, and a failed
 * parse must leave *out alone. The generator's cached-prefix text must
 * match eid_format() for the ids that follow.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventstore/eid.h"
#include "tests/fuzz/fuzz.h"

/* One u64 of len decimal digits and nothing else, by libc; -1 if none. */
static int
ref_u64(const uint8_t *s, size_t len, uint64_t *out)
{
	char	buf[128];
	char	*end;
	size_t	i, skip = 0;

	if (len == 0)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
	}
	/* Leading zeros are digits like any other: drop them for the buffer. */
	while (skip + 1 < len && s[skip] == '0')
		skip++;
	if (len - skip >= sizeof buf)
		return (-1);	/* more than 20 significant digits */
	memcpy(buf, s + skip, len - skip);
	buf[len - skip] = '\0';
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return (-1);
	return (0);
}

/* The reference parse: "MS" or "MS-SEQ", each a u64. */
static int
ref_parse(const uint8_t *s, size_t len, uint64_t default_seq, struct eid *e)
{
	const uint8_t	*dash = memchr(s, '-', len);

	if (dash == NULL) {
		e->seq = default_seq;
		return (ref_u64(s, len, &e->ms));
	}
	if (ref_u64(s, (size_t)(dash - s), &e->ms) == -1)
		return (-1);
	return (ref_u64(dash + 1, len - (size_t)(dash - s) - 1, &e->seq));
}

static void
check_format(const struct eid *e)
{
	char		buf[EID_STR_MAX], want[64];
	struct eid	back;
	size_t		n;

	memset(buf, 0x7f, sizeof buf);
	n = eid_format(e, buf);
	FUZZ_CHECK(n <= EID_STR_MAX - 1);
	FUZZ_CHECK(buf[n] == '\0' && strlen(buf) == n);
	snprintf(want, sizeof want, "%" PRIu64 "-%" PRIu64, e->ms, e->seq);
	FUZZ_CHECK(strcmp(buf, want) == 0);
	FUZZ_CHECK(eid_parse(buf, n, 0, &back) == 0);
	FUZZ_CHECK(eid_cmp(&back, e) == 0);
	FUZZ_CHECK(back.ms == e->ms && back.seq == e->seq);
}

/* Ids after e: in order, and the generator's text is eid_format()'s. */
static void
check_next(const struct eid *e, uint64_t now_ms)
{
	struct eid_gen	g;
	struct eid	prev = *e, id, succ = eid_succ(e);
	char		buf[EID_STR_MAX], want[EID_STR_MAX];
	size_t		n;
	int		i;

	FUZZ_CHECK(eid_cmp(e, e) == 0);
	if (e->ms == UINT64_MAX && e->seq == UINT64_MAX)
		FUZZ_CHECK(eid_cmp(&succ, e) == 0);	/* saturates */
	else
		FUZZ_CHECK(eid_cmp(&succ, e) == 1 && eid_cmp(e, &succ) == -1);
	eid_gen_init(&g, e);
	for (i = 0; i < 3; i++) {
		n = eid_next_str(&g, now_ms + (uint64_t)(i == 2), &id, buf);
		FUZZ_CHECK(n == eid_format(&id, want));
		FUZZ_CHECK(strcmp(buf, want) == 0);
		if (prev.ms == UINT64_MAX && prev.seq == UINT64_MAX)
			FUZZ_CHECK(eid_cmp(&id, &prev) == 0);
		else
			FUZZ_CHECK(eid_cmp(&id, &prev) == 1);
		prev = id;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t	 seqs[] = { 0, UINT64_MAX };
	const struct eid	 poison = { 0xdeadbeef, 0xfeedface };
	struct eid		 e, ref;
	uint64_t		 now_ms;
	size_t			 i;
	int			 rc, rrc;

	for (i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		e = poison;
		rc = eid_parse((const char *)data, size, seqs[i], &e);
		rrc = ref_parse(data, size, seqs[i], &ref);
		FUZZ_CHECK(rc == 0 || rc == -1);
		FUZZ_CHECK(rc == rrc);
		if (rc == -1) {
			FUZZ_CHECK(e.ms == poison.ms && e.seq == poison.seq);
			continue;
		}
		FUZZ_CHECK(e.ms == ref.ms && e.seq == ref.seq);
		check_format(&e);
	}
	if (rc == 0) {
		/* A clock near the id's millisecond: before, at or after. */
		now_ms = e.ms + (fuzz_hash(data, size) % 3) - 1;
		check_next(&e, now_ms);
	}
	return (0);
}
