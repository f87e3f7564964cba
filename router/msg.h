/*
 * msg: one published message as subscribers receive it, encoded once.
 * The tail (every msg pair but "sid") is shared by every subscriber; each
 * gets its own small prefix (wire_msg_prefix). Immutable once made,
 * refcounted: a subscriber's pending queue holds references, not copies.
 */
#ifndef CALLOSUM_MSG_H
#define CALLOSUM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "eventstore/eid.h"
#include "eventstore/es_event.h"
#include "router/lib/wire.h"

struct msg {
	unsigned	 refcnt;
	uint32_t	 tail_pairs;
	uint32_t	 tail_len;
	uint32_t	 body_len;	/* body + hdr + pattern: pending_bytes_limit */
	uint8_t		 kind_len;
	uint8_t		 eid_len;
	uint8_t		 pooled;	/* from the free list's size class */
	struct eid	 eid;
	char		 eid_str[EID_STR_MAX];
	char		 kind[WIRE_NAME_MAX];
	char		 tail[];
};

/*
 * A new message with refcnt 1 whose tail encodes *f (borrowed). f->eid and
 * f->kind are also kept unencoded for lag frames and kinds filters.
 */
struct msg	*msg_new(const struct wire_msg *f, const struct eid *eid);
/* A message for a logged event (replay). */
struct msg	*msg_from_event(const struct es_event *ev);
struct msg	*msg_ref(struct msg *);
void		 msg_unref(struct msg *);
/* Frees the free list (at exit, so that leak checks see nothing). */
void		 msg_pool_drain(void);

#endif
