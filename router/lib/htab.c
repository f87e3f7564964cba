/*
 * htab: open addressing with linear probing. Invariant: every entry sits in
 * the probe run that starts at its hash's home slot, with no empty slot in
 * between; deletion shifts later entries back to keep that true, so there
 * are no tombstones and lookups stop at the first empty slot.
 */
#include <stdlib.h>
#include <string.h>

#include "router/lib/htab.h"

#define HTAB_MIN_SLOTS	16

struct htab_slot {
	uint64_t	 hash;
	const void	*key;		/* NULL: empty */
	size_t		 len;
	void		*val;
};

struct htab {
	struct htab_slot	*slots;
	size_t			 nslots;	/* a power of two */
	size_t			 count;		/* <= nslots * 3 / 4 */
};

/* FNV-1a, then a final mix so that short keys spread over the low bits. */
static uint64_t
htab_hash(const void *key, size_t len)
{
	const unsigned char	*p = key;
	uint64_t		 h = 0xcbf29ce484222325ULL;

	while (len-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (h);
}

struct htab *
htab_new(void)
{
	struct htab	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (NULL);
	if ((h->slots = calloc(HTAB_MIN_SLOTS, sizeof(*h->slots))) == NULL) {
		free(h);
		return (NULL);
	}
	h->nslots = HTAB_MIN_SLOTS;
	return (h);
}

void
htab_free(struct htab *h)
{
	if (h == NULL)
		return;
	free(h->slots);
	free(h);
}

size_t
htab_count(const struct htab *h)
{
	return (h->count);
}

/* The slot holding key, or the empty slot where it would go. */
static struct htab_slot *
htab_find(const struct htab *h, uint64_t hash, const void *key, size_t len)
{
	size_t			 mask = h->nslots - 1, i = hash & mask;
	struct htab_slot	*s;

	for (;; i = (i + 1) & mask) {
		s = &h->slots[i];
		if (s->key == NULL || (s->hash == hash && s->len == len &&
		    memcmp(s->key, key, len) == 0))
			return (s);
	}
}

static int
htab_grow(struct htab *h)
{
	struct htab_slot	*old = h->slots, *s;
	size_t			 n = h->nslots, i;

	if ((h->slots = calloc(n * 2, sizeof(*h->slots))) == NULL) {
		h->slots = old;
		return (-1);
	}
	h->nslots = n * 2;
	for (i = 0; i < n; i++) {
		if (old[i].key == NULL)
			continue;
		s = htab_find(h, old[i].hash, old[i].key, old[i].len);
		*s = old[i];
	}
	free(old);
	return (0);
}

void *
htab_get(const struct htab *h, const void *key, size_t len)
{
	return (htab_find(h, htab_hash(key, len), key, len)->val);
}

int
htab_put(struct htab *h, const void *key, size_t len, void *val)
{
	uint64_t		 hash = htab_hash(key, len);
	struct htab_slot	*s = htab_find(h, hash, key, len);

	if (s->key == NULL) {
		if ((h->count + 1) * 4 > h->nslots * 3) {
			if (htab_grow(h) == -1)
				return (-1);
			s = htab_find(h, hash, key, len);
		}
		h->count++;
	}
	s->hash = hash;
	s->key = key;
	s->len = len;
	s->val = val;
	return (0);
}

void *
htab_del(struct htab *h, const void *key, size_t len)
{
	size_t			 mask = h->nslots - 1, i, j, home;
	struct htab_slot	*s;
	void			*val;

	s = htab_find(h, htab_hash(key, len), key, len);
	if (s->key == NULL)
		return (NULL);
	val = s->val;
	i = (size_t)(s - h->slots);
	/* Backward shift: pull later run members into the hole when allowed. */
	for (j = (i + 1) & mask; h->slots[j].key != NULL; j = (j + 1) & mask) {
		home = h->slots[j].hash & mask;
		/* Entry j may move to i only if i lies on its probe path. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			h->slots[i] = h->slots[j];
			i = j;
		}
	}
	memset(&h->slots[i], 0, sizeof(h->slots[i]));
	h->count--;
	return (val);
}

void *
htab_next(const struct htab *h, size_t *iter)
{
	while (*iter < h->nslots) {
		if (h->slots[(*iter)++].key != NULL)
			return (h->slots[*iter - 1].val);
	}
	return (NULL);
}
