/*
 * kinds: a small array, searched linearly: filters hold a few kinds, and
 * a kind is compared by length first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/kinds.h"
#include "router/lib/wire.h"
#include "router/xmalloc.h"

struct kinds_one {
	uint8_t	len;
	char	s[WIRE_NAME_MAX];
};

struct kinds {
	size_t			n;
	struct kinds_one	v[];
};

struct kinds *
kinds_new(const msgpack_object *arr)
{
	struct kinds	*k;
	uint32_t	 i;

	if (arr == NULL || arr->via.array.size == 0)
		return (NULL);
	k = xcalloc(1, sizeof(*k) + arr->via.array.size * sizeof(k->v[0]));
	k->n = arr->via.array.size;
	for (i = 0; i < k->n; i++) {
		/* <= WIRE_NAME_MAX: wire_parse_req checked it. */
		k->v[i].len = (uint8_t)arr->via.array.ptr[i].via.str.size;
		memcpy(k->v[i].s, arr->via.array.ptr[i].via.str.ptr,
		    k->v[i].len);
	}
	return (k);
}

struct kinds *
kinds_dup(const struct kinds *k)
{
	struct kinds	*d;
	size_t		 size;

	if (k == NULL)
		return (NULL);
	size = sizeof(*k) + k->n * sizeof(k->v[0]);
	d = xmalloc(size);
	memcpy(d, k, size);
	return (d);
}

void
kinds_free(struct kinds *k)
{
	free(k);
}

bool
kinds_match(const struct kinds *k, const char *kind, size_t len)
{
	size_t	i;

	if (k == NULL)
		return (true);
	for (i = 0; i < k->n; i++) {
		if (k->v[i].len == len && memcmp(k->v[i].s, kind, len) == 0)
			return (true);
	}
	return (false);
}
