/*
 * es_mem: the bounded memory log, in two parts.
 *
 * The index is a ring of slots (eid, record, body length), oldest at the
 * head, eids strictly increasing, so a lookup is a binary search over one
 * array. It starts small and doubles up to max_events. The body lengths
 * keep the byte bound (max_bytes of bodies, SPEC's memlog_max_bytes)
 * without reading a record to evict it.
 *
 * The records live in an arena: a FIFO chain of 2 MiB segments (huge pages
 * where the kernel grants them), each written front to back. A push copies
 * the event into the tail segment; evicting the oldest moves the head slot
 * and, once the head segment holds no record, recycles the segment whole.
 * A full log therefore streams its writes through memory in order, and
 * eviction reads no record. A malloc per record wrote every event into a
 * scattered cold allocation and freed another: cross-tract publishing ran
 * at 0.66x of same-tract with a million events held (ADR 0007).
 *
 * Nothing outside holds a pointer into the arena: readers get copies
 * (es_event_new), and es_mem_peek's view lasts until the next push or pop.
 *
 * It is the embedded log (es_mem_backend, below) and, with Redis, the
 * fallback drained from its head with es_mem_peek and es_mem_pop.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "eventstore/es_internal.h"

#define ES_MEM_INITIAL	64			/* index slots at first */
#define ES_SEG_BYTES	((size_t)2 << 20)	/* one x86-64 huge page */
#define ES_SEG_SPARES	2		/* empty segments kept for reuse */
#define ES_ALIGN	8

/* A segment of the arena: this header, then records, each ES_ALIGNed. */
struct es_seg {
	struct es_seg	*next;		/* younger records */
	size_t		 size;		/* the whole mapping, header included */
	size_t		 used;		/* record bytes written after the header */
	size_t		 nrec;		/* records in it the index still holds */
};

#define ES_SEG_HDR	((sizeof(struct es_seg) + ES_ALIGN - 1) & \
			    ~(size_t)(ES_ALIGN - 1))

/*
 * A record: this header, the present fields' lengths as LEB128 varints,
 * then their bytes, in field order. A 64-byte body with the usual labels
 * takes 128 bytes (152 with a u32 length for each of the nine fields):
 * fewer lines of cold memory written per event.
 */
struct es_rec {
	int64_t		ts_us;
	double		pri;
	uint16_t	set;		/* bit i: field i is present */
	bool		body_is_str;
};

/* 32 bytes on LP64: a slot never straddles a cache line. */
struct es_slot {
	struct eid	 eid;
	struct es_rec	*rec;
	uint32_t	 body_len;	/* counted in es_mem.bytes */
};

struct es_mem {
	/*
	 * 1 <= cap <= max and count <= cap. The events held are
	 * v[head], v[head + 1], ... count of them, wrapping at cap, with
	 * strictly increasing eids. Their records lie in the segments from
	 * seg_head to seg_tail in the same order; each segment's nrec counts
	 * its records still held, and only the tail segment may have none
	 * (then count is 0). bytes is the sum of their body_len, and
	 * <= max_bytes unless max_bytes is 0.
	 */
	struct es_slot		 *v;
	size_t			  cap;
	size_t			  max;
	uint64_t		  max_bytes;	/* 0: no byte bound */
	uint64_t		  bytes;
	size_t			  head;
	size_t			  count;
	struct es_seg		 *seg_head;
	struct es_seg		 *seg_tail;
	struct es_seg		 *spare;	/* empty ES_SEG_BYTES segments */
	unsigned		  nspare;
	enum es_full_policy	  full;
	struct eid		  last;		/* greatest ever pushed */
	uint64_t		  pushed;
	uint64_t		  dropped;
	uint64_t		  refused;
};

static struct es_slot	*es_mem_slot(struct es_mem *, size_t);
static size_t		 es_mem_lower_bound(struct es_mem *,
			    const struct eid *);
static int		 es_mem_grow(struct es_mem *);
static size_t		 es_rec_size(const struct es_event *);
static void		 es_rec_write(struct es_rec *, const struct es_event *);
static void		 es_rec_view(const struct es_slot *, struct es_event *);
static void		 es_huge_hint(void *, size_t);
static struct es_seg	*es_seg_map(size_t);
static void		 es_seg_unmap(struct es_seg *);
static void		 es_seg_free_chain(struct es_seg *);
static struct es_seg	*es_mem_seg_get(struct es_mem *, size_t);
static void		 es_mem_seg_put(struct es_mem *, struct es_seg *);
static struct es_rec	*es_mem_reserve(struct es_mem *, size_t);
static void		 es_mem_drop_head(struct es_mem *);
static bool		 es_mem_over(struct es_mem *, uint32_t);
static int		 es_mem_admit(struct es_mem *, uint32_t);

static void	*es_mem_be_open(struct es *, const struct es_config *,
		    char **);
static void	 es_mem_be_close(void *);
static int	 es_mem_be_append(void *, const struct es_event *,
		    es_append_cb *, void *, enum es_stored *);
static int	 es_mem_be_read(void *, const struct es_query *,
		    struct es_event **, struct es_read_result *, es_read_cb *,
		    void *);
static void	 es_mem_be_last_eid(void *, struct eid *);
static void	 es_mem_be_first_eid(void *, struct eid *);
static void	 es_mem_be_stats(void *, struct es_stats *);

const struct es_backend es_mem_backend = {
	.name = "memory",
	.open = es_mem_be_open,
	.close = es_mem_be_close,
	.append = es_mem_be_append,
	.read = es_mem_be_read,
	.last_eid = es_mem_be_last_eid,
	.first_eid = es_mem_be_first_eid,
	.stats = es_mem_be_stats
};

struct es_mem *
es_mem_new(size_t max_events, uint64_t max_bytes, enum es_full_policy full,
    char **cause)
{
	struct es_mem	*m;

	if (max_events == 0) {
		es_cause(cause, "mem_max_events must be at least 1");
		return (NULL);
	}
	if (full != ES_FULL_DROP_OLDEST && full != ES_FULL_REFUSE) {
		es_cause(cause, "unknown mem_full policy %d", (int)full);
		return (NULL);
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto fail;
	m->max = max_events;
	m->max_bytes = max_bytes;
	m->full = full;
	/*
	 * cap >= 1 from the start, so ES_FULL_DROP_OLDEST can always make
	 * room in the index by evicting.
	 */
	m->cap = max_events < ES_MEM_INITIAL ? max_events : ES_MEM_INITIAL;
	if ((m->v = calloc(m->cap, sizeof(*m->v))) == NULL)
		goto fail;
	return (m);
fail:
	es_cause(cause, "memory log: out of memory");
	free(m);
	return (NULL);
}

void
es_mem_free(struct es_mem *m)
{
	if (m == NULL)
		return;
	es_seg_free_chain(m->seg_head);
	es_seg_free_chain(m->spare);
	free(m->v);
	free(m);
}

/* The i-th oldest slot; i < count. */
static struct es_slot *
es_mem_slot(struct es_mem *m, size_t i)
{
	size_t	p;

	assert(i < m->count);
	/* head < cap and i < cap, so one subtraction wraps it. */
	p = m->head + i;
	if (p >= m->cap)
		p -= m->cap;
	return (&m->v[p]);
}

/* The index of the first event with eid >= *e, or count if none. */
static size_t
es_mem_lower_bound(struct es_mem *m, const struct eid *e)
{
	size_t	lo = 0, hi = m->count, mid;

	/* Everything before lo is < *e; everything from hi on is >= *e. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (eid_cmp(&es_mem_slot(m, mid)->eid, e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/*
 * Doubles the full index (up to max) in place: realloc moves a big block
 * by remapping it, so the slots are neither copied nor faulted in again.
 * The ring was v[head..cap) then v[0..head); the shorter run moves so that
 * it reads on in order. Returns -1, leaving the ring as it was, when
 * memory runs out.
 */
static int
es_mem_grow(struct es_mem *m)
{
	struct es_slot	*nv;
	size_t		 ncap, top;

	assert(m->cap < m->max && m->count == m->cap);
	ncap = m->cap > m->max / 2 ? m->max : m->cap * 2;
	if (ncap > SIZE_MAX / sizeof(*nv))
		return (-1);
	if ((nv = realloc(m->v, ncap * sizeof(*nv))) == NULL)
		return (-1);
	es_huge_hint(nv, ncap * sizeof(*nv));
	top = m->cap - m->head;
	if (m->head <= top && m->cap + m->head <= ncap)
		memcpy(nv + m->cap, nv, m->head * sizeof(*nv));
	else {
		memmove(nv + ncap - top, nv + m->head, top * sizeof(*nv));
		m->head = ncap - top;
	}
	m->v = nv;
	m->cap = ncap;
	return (0);
}

static size_t
es_varint_len(uint32_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return (n);
}

static unsigned char *
es_varint_put(unsigned char *p, uint32_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return (p);
}

/* Reads what es_varint_put wrote (the arena is ours: no bounds to check). */
static const unsigned char *
es_varint_get(const unsigned char *p, uint32_t *v)
{
	uint32_t	x = 0;
	unsigned	shift = 0;

	while (*p & 0x80) {
		x |= (uint32_t)(*p++ & 0x7f) << shift;
		shift += 7;
	}
	*v = x | (uint32_t)*p++ << shift;
	return (p);
}

/* The arena bytes ev takes, ES_ALIGNed; SIZE_MAX if that overflows. */
static size_t
es_rec_size(const struct es_event *ev)
{
	const size_t	 room = SIZE_MAX - ES_ALIGN - 5;  /* 5: varint max */
	size_t		 n = sizeof(struct es_rec), len;
	unsigned	 i;

	for (i = 0; i < ES_EVENT_NFIELDS; i++) {
		if (ev->field[i].ptr == NULL)
			continue;
		len = ev->field[i].len;
		if (n > room || len > room - n)
			return (SIZE_MAX);
		n += es_varint_len(ev->field[i].len) + len;
	}
	return ((n + ES_ALIGN - 1) & ~(size_t)(ES_ALIGN - 1));
}

static void
es_rec_write(struct es_rec *r, const struct es_event *ev)
{
	const struct es_bytes	*f;
	unsigned char		*p = (unsigned char *)(r + 1);
	unsigned		 i;

	r->ts_us = ev->ts_us;
	r->pri = ev->pri;
	r->body_is_str = ev->body_is_str;
	r->set = 0;
	for (i = 0; i < ES_EVENT_NFIELDS; i++) {
		if (ev->field[i].ptr == NULL)
			continue;
		r->set |= (uint16_t)(1u << i);
		p = es_varint_put(p, ev->field[i].len);
	}
	for (i = 0; i < ES_EVENT_NFIELDS; i++) {
		f = &ev->field[i];
		if (f->ptr == NULL)
			continue;
		memcpy(p, f->ptr, f->len);
		p += f->len;
	}
}

/* Points *view (refcnt 0, nothing owned) at the slot's record. */
static void
es_rec_view(const struct es_slot *s, struct es_event *view)
{
	const struct es_rec	*r = s->rec;
	const unsigned char	*p = (const unsigned char *)(r + 1);
	struct es_bytes		*f;
	unsigned		 i;

	view->refcnt = 0;
	view->eid = s->eid;
	view->ts_us = r->ts_us;
	view->pri = r->pri;
	view->body_is_str = r->body_is_str;
	view->body_kind_unknown = false;
	for (i = 0; i < ES_EVENT_NFIELDS; i++) {
		f = &view->field[i];
		f->ptr = NULL;
		f->len = 0;
		if (r->set & (1u << i))
			p = es_varint_get(p, &f->len);
	}
	for (i = 0; i < ES_EVENT_NFIELDS; i++) {
		f = &view->field[i];
		if ((r->set & (1u << i)) == 0)
			continue;
		f->ptr = (const char *)p;
		p += f->len;
	}
}

/*
 * Asks for huge pages over the whole 2 MiB pages inside [p, p + len): a
 * big index then fills with a few dozen page faults instead of thousands
 * (malloc maps blocks this large on their own, so no one else is there).
 */
static void
es_huge_hint(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	a, e;

	a = ((uintptr_t)p + ES_SEG_BYTES - 1) & ~(uintptr_t)(ES_SEG_BYTES - 1);
	e = ((uintptr_t)p + len) & ~(uintptr_t)(ES_SEG_BYTES - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)len;
#endif
}

/*
 * A segment of size bytes (a multiple of ES_SEG_BYTES), aligned to
 * ES_SEG_BYTES so that the kernel can back it with huge pages: fewer page
 * faults while the log fills, fewer TLB misses once it is full.
 */
static struct es_seg *
es_seg_map(size_t size)
{
	struct es_seg	*seg;
	char		*p, *a, *end;

	if (size > SIZE_MAX - ES_SEG_BYTES)
		return (NULL);
	p = mmap(NULL, size + ES_SEG_BYTES, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return (NULL);
	a = (char *)(((uintptr_t)p + ES_SEG_BYTES - 1) &
	    ~(uintptr_t)(ES_SEG_BYTES - 1));
	end = p + size + ES_SEG_BYTES;
	if (a > p)
		(void)munmap(p, (size_t)(a - p));
	if (end > a + size)
		(void)munmap(a + size, (size_t)(end - (a + size)));
	es_huge_hint(a, size);	/* a hint; fine if refused */
	seg = (struct es_seg *)a;
	seg->next = NULL;
	seg->size = size;
	seg->used = 0;
	seg->nrec = 0;
	return (seg);
}

static void
es_seg_unmap(struct es_seg *seg)
{
	(void)munmap(seg, seg->size);
}

static void
es_seg_free_chain(struct es_seg *seg)
{
	struct es_seg	*next;

	for (; seg != NULL; seg = next) {
		next = seg->next;
		es_seg_unmap(seg);
	}
}

/* An empty segment with room for need bytes of records, or NULL. */
static struct es_seg *
es_mem_seg_get(struct es_mem *m, size_t need)
{
	struct es_seg	*seg;
	size_t		 size;

	if (need <= ES_SEG_BYTES - ES_SEG_HDR && m->spare != NULL) {
		seg = m->spare;
		m->spare = seg->next;
		m->nspare--;
		seg->next = NULL;
		return (seg);
	}
	if (need > SIZE_MAX - ES_SEG_HDR - ES_SEG_BYTES)
		return (NULL);
	size = (need + ES_SEG_HDR + ES_SEG_BYTES - 1) &
	    ~(ES_SEG_BYTES - 1);
	return (es_seg_map(size));
}

/* Keeps an emptied segment for reuse, or unmaps it. */
static void
es_mem_seg_put(struct es_mem *m, struct es_seg *seg)
{
	if (seg->size != ES_SEG_BYTES || m->nspare >= ES_SEG_SPARES) {
		es_seg_unmap(seg);
		return;
	}
	seg->used = 0;
	seg->nrec = 0;
	seg->next = m->spare;
	m->spare = seg;
	m->nspare++;
}

/*
 * need bytes at the end of the arena, counted in their segment's nrec
 * (so that no eviction recycles the segment before the slot is written),
 * or NULL when memory runs out.
 */
static struct es_rec *
es_mem_reserve(struct es_mem *m, size_t need)
{
	struct es_seg	*t = m->seg_tail;
	struct es_rec	*r;

	if (t != NULL && t->size - ES_SEG_HDR - t->used < need) {
		if (t->nrec == 0) {
			/* The log is empty: start a fresh chain. */
			assert(m->count == 0 && m->seg_head == t);
			m->seg_head = m->seg_tail = NULL;
			es_mem_seg_put(m, t);
		}
		t = NULL;
	}
	if (t == NULL) {
		if ((t = es_mem_seg_get(m, need)) == NULL)
			return (NULL);
		if (m->seg_tail == NULL)
			m->seg_head = t;
		else
			m->seg_tail->next = t;
		m->seg_tail = t;
	}
	r = (struct es_rec *)((char *)t + ES_SEG_HDR + t->used);
	t->used += need;
	t->nrec++;
	return (r);
}

/* Removes the oldest slot; its record's segment goes when it empties. */
static void
es_mem_drop_head(struct es_mem *m)
{
	struct es_seg	*seg = m->seg_head;

	/*
	 * Records are in segment order, so the oldest is in seg_head; the
	 * record itself is not read (it is cold: written max_events ago).
	 * Its slot is, for the body length: when the count bound evicts,
	 * it is the slot the push writes next anyway.
	 */
	assert(m->count > 0 && seg != NULL && seg->nrec > 0);
	assert(m->bytes >= m->v[m->head].body_len);
	m->bytes -= m->v[m->head].body_len;
	if (++m->head == m->cap)
		m->head = 0;
	m->count--;
	if (--seg->nrec > 0)
		return;
	if (seg == m->seg_tail) {
		seg->used = 0;		/* the log is empty: rewind */
		return;
	}
	m->seg_head = seg->next;
	es_mem_seg_put(m, seg);
}

/* Whether adding a body of len would pass a bound. */
static bool
es_mem_over(struct es_mem *m, uint32_t len)
{
	if (m->count == m->cap)
		return (true);
	return (m->max_bytes != 0 && len > m->max_bytes - m->bytes);
}

/*
 * Whether a body of len may come in: 0, or -1 having counted a refusal.
 * A body larger than max_bytes alone could only come in by emptying the
 * ring and would still break the bound, so both modes refuse it (the
 * router's config keeps memlog_max_bytes >= max_frame: it does not
 * happen there). When the index cannot grow for want of memory, the ring
 * acts as if full at its present size: ES_FULL_DROP_OLDEST evicts (the
 * embedded log never refuses for being full), ES_FULL_REFUSE refuses.
 */
static int
es_mem_admit(struct es_mem *m, uint32_t len)
{
	if (m->count == m->cap && m->cap < m->max)
		(void)es_mem_grow(m);
	if ((m->max_bytes != 0 && len > m->max_bytes) ||
	    (m->full == ES_FULL_REFUSE && es_mem_over(m, len))) {
		m->refused++;
		return (-1);
	}
	return (0);
}

/*
 * The bytes memlog_max_bytes counts for an event: its body, headers and
 * pattern, what a publisher controls beyond its bounded labels (ADR 0019).
 */
static uint32_t
es_mem_payload(const struct es_event *ev)
{
	uint32_t	n = 0;

	if (ev->body.ptr != NULL)
		n += ev->body.len;
	if (ev->hdr.ptr != NULL)
		n += ev->hdr.len;
	if (ev->pattern.ptr != NULL)
		n += ev->pattern.len;
	return (n);
}

/*
 * Running out of memory for the record fails the push in either mode,
 * evicting nothing. The record is reserved before evicting: it counts in
 * its segment, so no eviction recycles the segment under it.
 */
int
es_mem_push(struct es_mem *m, const struct es_event *ev)
{
	struct es_slot	*s;
	struct es_rec	*r;
	uint32_t	 len = es_mem_payload(ev);
	size_t		 need, p;

	/* The front checks the order; the binary search depends on it. */
	assert(eid_cmp(&ev->eid, &m->last) > 0);

	if (es_mem_admit(m, len) == -1)
		return (-1);
	if ((need = es_rec_size(ev)) == SIZE_MAX ||
	    (r = es_mem_reserve(m, need)) == NULL)
		return (-1);
	es_rec_write(r, ev);
	/* Ends: len <= max_bytes, and an empty ring holds 0 bytes. */
	while (es_mem_over(m, len)) {
		es_mem_drop_head(m);
		m->dropped++;
	}
	p = m->head + m->count;
	if (p >= m->cap)
		p -= m->cap;
	s = &m->v[p];
	s->eid = ev->eid;
	s->rec = r;
	s->body_len = len;
	m->bytes += len;
	m->count++;
	m->pushed++;
	m->last = ev->eid;
	return (0);
}

int
es_mem_read(struct es_mem *m, const struct es_query *q, struct es_event **out,
    struct es_read_result *res)
{
	struct es_event	 view;
	struct es_slot	*s;
	size_t		 i;

	for (i = es_mem_lower_bound(m, &q->from);
	    i < m->count && res->examined < q->max; i++) {
		s = es_mem_slot(m, i);
		if (eid_cmp(&s->eid, &q->to) > 0)
			break;
		res->examined++;
		res->last = s->eid;
		es_rec_view(s, &view);
		if (q->filter != NULL && !q->filter(q->filter_arg, &view))
			continue;
		if ((out[res->n] = es_event_new(&view)) == NULL) {
			while (res->n > 0)
				es_event_unref(out[--res->n]);
			return (-1);
		}
		res->n++;
	}
	return (0);
}

bool
es_mem_peek(struct es_mem *m, struct es_event *view)
{
	if (m->count == 0)
		return (false);
	es_rec_view(&m->v[m->head], view);
	return (true);
}

bool
es_mem_peek_at(struct es_mem *m, size_t i, struct es_event *view)
{
	if (i >= m->count)
		return (false);
	es_rec_view(es_mem_slot(m, i), view);
	return (true);
}

bool
es_mem_pop(struct es_mem *m)
{
	if (m->count == 0)
		return (false);
	es_mem_drop_head(m);
	return (true);
}

size_t
es_mem_depth(struct es_mem *m)
{
	return (m->count);
}

uint64_t
es_mem_bytes(struct es_mem *m)
{
	return (m->bytes);
}

void
es_mem_last_eid(struct es_mem *m, struct eid *out)
{
	*out = m->last;
}

void
es_mem_first_eid(struct es_mem *m, struct eid *out)
{
	if (m->count == 0) {
		out->ms = 0;
		out->seq = 0;
	} else
		*out = es_mem_slot(m, 0)->eid;
}

void
es_mem_stats(struct es_mem *m, struct es_stats *out)
{
	out->appended = m->pushed;
	out->dropped = m->dropped;
	out->refused = m->refused;
	out->depth = m->count;
	out->bytes = m->bytes;
}

/* The embedded log: everything settles in memory, at once. */

/* The ring never changes state: the front's direct is right. */
static void *
es_mem_be_open(struct es *front, const struct es_config *cfg, char **cause)
{
	(void)front;
	return (es_mem_new(cfg->mem_max_events, cfg->mem_max_bytes,
	    cfg->mem_full, cause));
}

/* Nothing here is ever pending, so there is nothing to call back. */
static void
es_mem_be_close(void *be)
{
	es_mem_free(be);
}

static int
es_mem_be_append(void *be, const struct es_event *ev, es_append_cb *cb,
    void *arg, enum es_stored *where)
{
	(void)cb;
	(void)arg;
	if (es_mem_push(be, ev) != 0)
		return (-1);
	*where = ES_STORED_MEMORY;
	return (0);
}

static int
es_mem_be_read(void *be, const struct es_query *q, struct es_event **out,
    struct es_read_result *res, es_read_cb *cb, void *arg)
{
	(void)cb;
	(void)arg;
	return (es_mem_read(be, q, out, res));
}

static void
es_mem_be_last_eid(void *be, struct eid *out)
{
	es_mem_last_eid(be, out);
}

static void
es_mem_be_first_eid(void *be, struct eid *out)
{
	es_mem_first_eid(be, out);
}

static void
es_mem_be_stats(void *be, struct es_stats *out)
{
	es_mem_stats(be, out);
	out->stored_memory = out->appended;
	out->stored_redis = 0;
	out->fallback_depth = 0;	/* no Redis: nothing waits for it */
}
