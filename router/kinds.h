/*
 * kinds: a "kinds" filter (a set of at most WIRE_KINDS_MAX message kinds),
 * copied from a request so that it outlives the frame. Subscriptions and
 * replays each keep their own.
 */
#ifndef CALLOSUM_KINDS_H
#define CALLOSUM_KINDS_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

struct kinds;

/*
 * A filter from a checked array of str (borrowed), or NULL when arr is NULL
 * or empty: NULL matches every kind.
 */
struct kinds	*kinds_new(const msgpack_object *arr);
/* A copy of k (NULL stays NULL). */
struct kinds	*kinds_dup(const struct kinds *k);
void		 kinds_free(struct kinds *);
/* True when k (NULL: every kind) lets this kind through. */
bool		 kinds_match(const struct kinds *k, const char *kind,
		    size_t len);

#endif
