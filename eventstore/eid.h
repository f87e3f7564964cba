/*
 * eid: event ids "MS-SEQ" like Redis stream ids, assigned by the router.
 * The generator never goes back: when the clock steps back or stands
 * still, the sequence counts up under the last millisecond seen.
 */
#ifndef CALLOSUM_EID_H
#define CALLOSUM_EID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "18446744073709551615-18446744073709551615" and a NUL. */
#define EID_STR_MAX	42

struct eid {
	uint64_t	ms;
	uint64_t	seq;
};

struct eid_gen {
	struct eid	last;	/* the last id handed out, or the floor */
	/* "MS-" of last.ms, so eid_next_str() formats only the sequence */
	uint64_t	prefix_ms;
	uint8_t		prefix_len;	/* 0: not cached yet */
	char		prefix[EID_STR_MAX];
};

/* -1, 0 or 1 as a is before, equal to or after b. */
int		eid_cmp(const struct eid *a, const struct eid *b);
bool		eid_is_zero(const struct eid *);
/*
 * Parses "MS-SEQ", or "MS" alone meaning MS-default_seq (0 for a range
 * start, UINT64_MAX for a range end, as XRANGE does). Returns 0 or -1.
 */
int		eid_parse(const char *s, size_t len, uint64_t default_seq,
		    struct eid *out);
/* Writes v in decimal at p, no NUL; returns the digits written (1..20). */
size_t		eid_put_u64(char *p, uint64_t v);
/* Writes "MS-SEQ" and a NUL into buf; returns the length without the NUL. */
size_t		eid_format(const struct eid *, char buf[EID_STR_MAX]);
/* The id right after e (seq + 1, carrying into ms); saturates at the max. */
struct eid	eid_succ(const struct eid *e);

/* Starts a generator whose ids are all strictly greater than *floor. */
void		eid_gen_init(struct eid_gen *, const struct eid *floor);
/*
 * Moves the floor up to *floor if it is higher (a log that came back
 * holding later ids): later ids are all greater than it.
 */
void		eid_gen_raise(struct eid_gen *, const struct eid *floor);
/* The next id: > every earlier one, ms = max(now_ms, last ms). */
struct eid	eid_next(struct eid_gen *, uint64_t now_ms);
/*
 * eid_next() and its text (as eid_format() writes it) in buf; returns the
 * text's length. The millisecond part is formatted once per millisecond.
 */
size_t		eid_next_str(struct eid_gen *, uint64_t now_ms, struct eid *out,
		    char buf[EID_STR_MAX]);

#endif
