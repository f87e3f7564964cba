/*
 * htab: an open-addressing hash table (linear probing, backward-shift
 * deletion) from byte-string keys to pointers. Keys are borrowed: a key must
 * stay valid and unchanged while its entry is in the table (it usually
 * points into the value, e.g. a tract's name or a subscription's sid).
 */
#ifndef CALLOSUM_HTAB_H
#define CALLOSUM_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab;

/* An empty table, or NULL when memory runs out. */
struct htab	*htab_new(void);
/* Frees the table, not the keys or values. NULL is a no-op. */
void		 htab_free(struct htab *);
size_t		 htab_count(const struct htab *);
/* The value stored under key, or NULL. */
void		*htab_get(const struct htab *, const void *key, size_t len);
/*
 * Stores val under key, replacing any earlier value. Returns 0, or -1 when
 * growing failed (the table is unchanged).
 */
int		 htab_put(struct htab *, const void *key, size_t len, void *val);
/* Removes key; returns its value, or NULL when it was absent. */
void		*htab_del(struct htab *, const void *key, size_t len);
/*
 * Iteration: start with *iter = 0; returns the next value or NULL at the
 * end. The table must not change during an iteration.
 */
void		*htab_next(const struct htab *, size_t *iter);

#endif
