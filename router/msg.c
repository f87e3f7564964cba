/*
 * msg: refcounted messages from a free list. Messages whose tail fits the
 * small size class are recycled, so steady publishing of small messages
 * does no malloc; larger ones are malloc'd and freed.
 */
#include <stdlib.h>
#include <string.h>

#include "router/lib/utf8.h"
#include "router/msg.h"
#include "router/xmalloc.h"

#define MSG_SMALL_TAIL	448	/* tail bytes of the pooled size class */
#define MSG_POOL_MAX	8192	/* free messages kept: <= 4 MiB */

static struct msg	*msg_pool[MSG_POOL_MAX];
static size_t		 msg_pool_len;

static struct msg *
msg_alloc(size_t tail_len)
{
	struct msg	*m;

	if (tail_len <= MSG_SMALL_TAIL) {
		if (msg_pool_len > 0)
			m = msg_pool[--msg_pool_len];
		else
			m = xmalloc(sizeof(*m) + MSG_SMALL_TAIL);
		m->pooled = 1;
	} else {
		m = xmalloc(sizeof(*m) + tail_len);
		m->pooled = 0;
	}
	m->refcnt = 1;
	m->tail_len = (uint32_t)tail_len;
	return (m);
}

struct msg *
msg_new(const struct wire_msg *f, const struct eid *eid)
{
	struct msg	*m;
	uint32_t	 pairs;

	/* Sized by the bound, written in place: no scratch copy. */
	m = msg_alloc(wire_msg_tail_bound(f));
	m->tail_len = (uint32_t)wire_msg_tail_write(m->tail, f, &pairs);
	m->tail_pairs = pairs;
	/*
	 * What the publisher controls beyond its bounded labels (ADR 0019):
	 * a message of empty body and 32 KiB of headers is not free.
	 */
	m->body_len = f->body.len + f->hdr.len + f->pattern.len;
	m->eid = *eid;
	m->eid_len = (uint8_t)f->eid.len;
	memcpy(m->eid_str, f->eid.ptr, f->eid.len);
	m->eid_str[f->eid.len] = '\0';
	/* kind <= WIRE_NAME_MAX: wire_parse_req checked it. */
	m->kind_len = (uint8_t)f->kind.len;
	memcpy(m->kind, f->kind.ptr, f->kind.len);
	return (m);
}

static struct wire_str
msg_str(const struct es_bytes *b)
{
	struct wire_str	s = { b->ptr, b->len };

	return (s);
}

struct msg *
msg_from_event(const struct es_event *ev)
{
	struct wire_msg	f;
	char		eid[EID_STR_MAX];

	memset(&f, 0, sizeof(f));
	f.eid.ptr = eid;
	f.eid.len = (uint32_t)eid_format(&ev->eid, eid);
	f.from = msg_str(&ev->from);
	f.to = msg_str(&ev->to);
	f.kind = msg_str(&ev->kind);
	if (f.kind.len > WIRE_NAME_MAX)
		f.kind.len = WIRE_NAME_MAX;
	f.pri = ev->pri;
	f.agent = msg_str(&ev->agent);
	f.session = msg_str(&ev->session);
	f.model = msg_str(&ev->model);
	f.ts_us = ev->ts_us;
	f.body = msg_str(&ev->body);
	/* From Redis: str when it is UTF-8 (a str body always was). */
	f.body_is_str = ev->body_kind_unknown ?
	    utf8_valid(ev->body.ptr, ev->body.len) : ev->body_is_str;
	f.pattern = msg_str(&ev->pattern);
	f.hdr = msg_str(&ev->hdr);
	return (msg_new(&f, &ev->eid));
}

struct msg *
msg_ref(struct msg *m)
{
	m->refcnt++;
	return (m);
}

void
msg_unref(struct msg *m)
{
	if (m == NULL || --m->refcnt > 0)
		return;
	if (m->pooled && msg_pool_len < MSG_POOL_MAX)
		msg_pool[msg_pool_len++] = m;
	else
		free(m);
}

void
msg_pool_drain(void)
{
	while (msg_pool_len > 0)
		free(msg_pool[--msg_pool_len]);
}
