/*
 * eid: "MS-SEQ" event ids and the generator that never goes back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eventstore/eid.h"

static int	eid_parse_u64(const char *, size_t, uint64_t *);

int
eid_cmp(const struct eid *a, const struct eid *b)
{
	if (a->ms != b->ms)
		return (a->ms < b->ms ? -1 : 1);
	if (a->seq != b->seq)
		return (a->seq < b->seq ? -1 : 1);
	return (0);
}

bool
eid_is_zero(const struct eid *e)
{
	return (e->ms == 0 && e->seq == 0);
}

/*
 * One or more decimal digits, nothing else, no more than UINT64_MAX. Leading
 * zeros are digits like any other (Redis reads "007-1" as 7-1 too).
 */
static int
eid_parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	d;
	size_t		i;

	if (len == 0)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return (-1);
		v = v * 10 + d;
	}
	*out = v;
	return (0);
}

/* Reads exactly len bytes of s (no NUL needed); *out changes on success. */
int
eid_parse(const char *s, size_t len, uint64_t default_seq, struct eid *out)
{
	const char	*dash;
	struct eid	 e;

	if (s == NULL)
		return (-1);
	if ((dash = memchr(s, '-', len)) == NULL) {
		if (eid_parse_u64(s, len, &e.ms) != 0)
			return (-1);
		e.seq = default_seq;
	} else {
		/* A second '-' is not a digit, so "1-2-3" fails here. */
		if (eid_parse_u64(s, (size_t)(dash - s), &e.ms) != 0 ||
		    eid_parse_u64(dash + 1, len - (size_t)(dash - s) - 1,
		    &e.seq) != 0)
			return (-1);
	}
	*out = e;
	return (0);
}

size_t
eid_put_u64(char *p, uint64_t v)
{
	char	tmp[20];
	size_t	n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return (n);
}

size_t
eid_format(const struct eid *e, char buf[EID_STR_MAX])
{
	size_t	n;

	/* Two 20-digit numbers, a '-' and the NUL fit in EID_STR_MAX. */
	n = eid_put_u64(buf, e->ms);
	buf[n++] = '-';
	n += eid_put_u64(buf + n, e->seq);
	buf[n] = '\0';
	return (n);
}

size_t
eid_next_str(struct eid_gen *g, uint64_t now_ms, struct eid *out,
    char buf[EID_STR_MAX])
{
	size_t	n;

	*out = eid_next(g, now_ms);
	if (g->prefix_len == 0 || g->prefix_ms != out->ms) {
		n = eid_put_u64(g->prefix, out->ms);
		g->prefix[n++] = '-';
		g->prefix_len = (uint8_t)n;
		g->prefix_ms = out->ms;
	}
	memcpy(buf, g->prefix, g->prefix_len);
	n = g->prefix_len + eid_put_u64(buf + g->prefix_len, out->seq);
	buf[n] = '\0';
	return (n);
}

struct eid
eid_succ(const struct eid *e)
{
	struct eid	n = *e;

	if (n.seq != UINT64_MAX)
		n.seq++;
	else if (n.ms != UINT64_MAX) {
		n.ms++;
		n.seq = 0;
	}
	return (n);
}

/* A NULL floor is the zero id, so the first id is at least 0-1. */
void
eid_gen_init(struct eid_gen *g, const struct eid *floor)
{
	if (floor == NULL) {
		g->last.ms = 0;
		g->last.seq = 0;
	} else
		g->last = *floor;
	g->prefix_len = 0;
}

void
eid_gen_raise(struct eid_gen *g, const struct eid *floor)
{
	if (eid_cmp(floor, &g->last) <= 0)
		return;
	g->last = *floor;
	g->prefix_len = 0;
}

/*
 * g->last only grows: a later clock starts a new millisecond at seq 0, a
 * clock that stands still or steps back counts seq up under the last
 * millisecond (carrying into ms + 1 when seq is exhausted). At the maximum
 * id it saturates, some 584 million years from now.
 */
struct eid
eid_next(struct eid_gen *g, uint64_t now_ms)
{
	if (now_ms > g->last.ms) {
		g->last.ms = now_ms;
		g->last.seq = 0;
	} else
		g->last = eid_succ(&g->last);
	return (g->last);
}
