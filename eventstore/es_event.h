/*
 * es_event: one logged event, immutable once made and shared by
 * reference count between the log, readers and the router. Every field
 * lives in the record's single allocation.
 */
#ifndef CALLOSUM_ES_EVENT_H
#define CALLOSUM_ES_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventstore/eid.h"

/* Bytes, not necessarily NUL-terminated; ptr NULL means unset. */
struct es_bytes {
	const char	*ptr;
	uint32_t	 len;
};

/* The byte fields, in this order: from, to, kind, agent, session, model,
 * body, pattern, hdr; named, or by index as field[i]. */
#define ES_EVENT_NFIELDS	9

struct es_event {
	unsigned	 refcnt;
	struct eid	 eid;
	int64_t		 ts_us;		/* unix microseconds */
	double		 pri;
	bool		 body_is_str;	/* the publisher sent body as str */
	/*
	 * Read back from Redis, whose entries keep no such flag (SPEC names
	 * the fields): the reader decides str or bin from the bytes.
	 */
	bool		 body_kind_unknown;
	union {
		struct {
			struct es_bytes	 from;
			struct es_bytes	 to;
			struct es_bytes	 kind;
			struct es_bytes	 agent;
			struct es_bytes	 session;
			struct es_bytes	 model;
			struct es_bytes	 body;
			struct es_bytes	 pattern; /* unset unless a bframe's */
			struct es_bytes	 hdr;	/* msgpack map bytes, or unset */
		};
		struct es_bytes	 field[ES_EVENT_NFIELDS];
	};
};

/*
 * A new event with refcnt 1, copying every field of *proto (borrowed; its
 * refcnt is ignored) into one allocation. Each copied string is followed by
 * a NUL in the record, so from/to/kind/... may be used as C strings.
 * Returns NULL when memory runs out.
 */
struct es_event	*es_event_new(const struct es_event *proto);
struct es_event	*es_event_ref(struct es_event *);
/* Drops one reference; the last one frees the record. NULL is a no-op. */
void		 es_event_unref(struct es_event *);

#endif
