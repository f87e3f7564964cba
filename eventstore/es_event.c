/*
 * es_event: the immutable, refcounted record of one logged event. The
 * struct and every byte it points to share one allocation:
 *
 *	struct es_event | from NUL | to NUL | kind NUL | ... | hdr NUL
 *
 * Single-threaded, like the loop that owns it: the count is a plain
 * unsigned.
 */
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventstore/es_event.h"

/* field[] and the named fields are one storage. */
_Static_assert(offsetof(struct es_event, hdr) ==
    offsetof(struct es_event, field) +
    (ES_EVENT_NFIELDS - 1) * sizeof(struct es_bytes),
    "the named byte fields must line up with field[]");

static int	es_event_add_len(size_t *, const struct es_bytes *);
static void	es_event_copy(char **, struct es_bytes *,
		    const struct es_bytes *);

/* Adds b's bytes and its NUL to *total; -1 if that overflows. */
static int
es_event_add_len(size_t *total, const struct es_bytes *b)
{
	size_t	need;

	if (b->ptr == NULL)
		return (0);
	need = (size_t)b->len + 1;
	if (need == 0 || *total > SIZE_MAX - need)
		return (-1);
	*total += need;
	return (0);
}

/* Copies src to *p with a NUL and points dst at it; unset stays unset. */
static void
es_event_copy(char **p, struct es_bytes *dst, const struct es_bytes *src)
{
	if (src->ptr == NULL) {
		dst->ptr = NULL;
		dst->len = 0;
		return;
	}
	memcpy(*p, src->ptr, src->len);
	(*p)[src->len] = '\0';
	dst->ptr = *p;
	dst->len = src->len;
	*p += (size_t)src->len + 1;
}

struct es_event *
es_event_new(const struct es_event *proto)
{
	struct es_event	*ev;
	size_t		 total = sizeof(*ev);
	unsigned	 i;
	char		*p;

	for (i = 0; i < ES_EVENT_NFIELDS; i++) {
		if (es_event_add_len(&total, &proto->field[i]) != 0)
			return (NULL);
	}
	if ((ev = malloc(total)) == NULL)
		return (NULL);

	ev->refcnt = 1;
	ev->eid = proto->eid;
	ev->ts_us = proto->ts_us;
	ev->pri = proto->pri;
	ev->body_is_str = proto->body_is_str;
	ev->body_kind_unknown = proto->body_kind_unknown;

	/* The bytes start right after the struct; chars need no alignment. */
	p = (char *)(ev + 1);
	for (i = 0; i < ES_EVENT_NFIELDS; i++)
		es_event_copy(&p, &ev->field[i], &proto->field[i]);
	assert(p == (char *)ev + total);
	return (ev);
}

struct es_event *
es_event_ref(struct es_event *ev)
{
	assert(ev->refcnt > 0 && ev->refcnt < UINT_MAX);
	ev->refcnt++;
	return (ev);
}

void
es_event_unref(struct es_event *ev)
{
	if (ev == NULL)
		return;
	assert(ev->refcnt > 0);
	if (--ev->refcnt == 0)
		free(ev);
}
