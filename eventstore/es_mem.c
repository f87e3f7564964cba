/*
 * es_mem: the bounded memory log, a ring of event pointers in strictly
 * increasing eid order, oldest at the head. Lookups by eid are a binary
 * search over the ring. The pointer array starts small and doubles up to
 * the configured bound, so a ring configured for a million events costs
 * little until it holds them; apart from that amortised growth nothing is
 * allocated per push.
 *
 * It is the embedded log (es_mem_backend, below) and, with Redis, the
 * fallback drained from its head with es_mem_peek and es_mem_pop.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventstore/es_internal.h"

#define ES_MEM_INITIAL	64	/* slots allocated at first */

struct es_mem {
	/*
	 * 1 <= cap <= max and count <= cap. The events held are
	 * v[head], v[head + 1], ... count of them, wrapping at cap, with
	 * strictly increasing eids; the ring holds one reference to each.
	 */
	struct es_event		**v;
	size_t			  cap;
	size_t			  max;
	size_t			  head;
	size_t			  count;
	enum es_full_policy	  full;
	struct eid		  last;		/* greatest ever pushed */
	uint64_t		  pushed;
	uint64_t		  dropped;
	uint64_t		  refused;
};

static struct es_event	*es_mem_at(struct es_mem *, size_t);
static size_t		 es_mem_lower_bound(struct es_mem *,
			    const struct eid *);
static int		 es_mem_grow(struct es_mem *);

static void	*es_mem_be_open(const struct es_config *, char **);
static void	 es_mem_be_close(void *);
static int	 es_mem_be_append(void *, struct es_event *, es_append_cb *,
		    void *, enum es_stored *);
static int	 es_mem_be_read(void *, const struct eid *, const struct eid *,
		    size_t, struct es_event **, es_read_cb *, void *);
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
es_mem_new(size_t max_events, enum es_full_policy full, char **cause)
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
	m->full = full;
	/*
	 * cap >= 1 from the start, so ES_FULL_DROP_OLDEST can always make
	 * room by evicting and a push in that mode never fails.
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
	size_t	i;

	if (m == NULL)
		return;
	for (i = 0; i < m->count; i++)
		es_event_unref(es_mem_at(m, i));
	free(m->v);
	free(m);
}

/* The i-th oldest event held (borrowed); i < count. */
static struct es_event *
es_mem_at(struct es_mem *m, size_t i)
{
	size_t	p;

	assert(i < m->count);
	/* head < cap and i < cap, so one subtraction wraps it. */
	p = m->head + i;
	if (p >= m->cap)
		p -= m->cap;
	return (m->v[p]);
}

/* The index of the first event with eid >= *e, or count if none. */
static size_t
es_mem_lower_bound(struct es_mem *m, const struct eid *e)
{
	size_t	lo = 0, hi = m->count, mid;

	/* Everything before lo is < *e; everything from hi on is >= *e. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (eid_cmp(&es_mem_at(m, mid)->eid, e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/*
 * Doubles the pointer array (up to max), moving the events to its start in
 * order. Returns -1, leaving the ring as it was, when memory runs out.
 */
static int
es_mem_grow(struct es_mem *m)
{
	struct es_event	**nv;
	size_t		  ncap, first;

	assert(m->cap < m->max);
	ncap = m->cap > m->max / 2 ? m->max : m->cap * 2;
	if (ncap > SIZE_MAX / sizeof(*nv))
		return (-1);
	if ((nv = malloc(ncap * sizeof(*nv))) == NULL)
		return (-1);
	first = m->cap - m->head;
	if (first > m->count)
		first = m->count;
	memcpy(nv, m->v + m->head, first * sizeof(*nv));
	memcpy(nv + first, m->v, (m->count - first) * sizeof(*nv));
	free(m->v);
	m->v = nv;
	m->cap = ncap;
	m->head = 0;
	return (0);
}

/*
 * When the array cannot grow for want of memory, the ring acts as if full
 * at its present size: ES_FULL_DROP_OLDEST evicts (the embedded log never
 * refuses), ES_FULL_REFUSE refuses.
 */
int
es_mem_push(struct es_mem *m, struct es_event *ev)
{
	struct es_event	*old;
	size_t		 p;

	/* The front checks the order; the binary search depends on it. */
	assert(eid_cmp(&ev->eid, &m->last) > 0);

	if (m->count == m->cap && m->cap < m->max)
		(void)es_mem_grow(m);
	if (m->count == m->cap) {
		if (m->full == ES_FULL_REFUSE) {
			m->refused++;
			return (-1);
		}
		old = es_mem_pop(m);
		m->dropped++;
		es_event_unref(old);
	}
	p = m->head + m->count;
	if (p >= m->cap)
		p -= m->cap;
	m->v[p] = es_event_ref(ev);
	m->count++;
	m->pushed++;
	m->last = ev->eid;
	return (0);
}

size_t
es_mem_read(struct es_mem *m, const struct eid *from, const struct eid *to,
    size_t max, struct es_event **out)
{
	struct es_event	*ev;
	size_t		 i, n = 0;

	for (i = es_mem_lower_bound(m, from); i < m->count && n < max; i++) {
		ev = es_mem_at(m, i);
		if (eid_cmp(&ev->eid, to) > 0)
			break;
		out[n++] = es_event_ref(ev);
	}
	return (n);
}

struct es_event *
es_mem_peek(struct es_mem *m)
{
	if (m->count == 0)
		return (NULL);
	return (m->v[m->head]);
}

struct es_event *
es_mem_pop(struct es_mem *m)
{
	struct es_event	*ev;

	if (m->count == 0)
		return (NULL);
	ev = m->v[m->head];
	m->v[m->head] = NULL;
	if (++m->head == m->cap)
		m->head = 0;
	m->count--;
	return (ev);
}

size_t
es_mem_depth(struct es_mem *m)
{
	return (m->count);
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
		*out = es_mem_at(m, 0)->eid;
}

void
es_mem_stats(struct es_mem *m, struct es_stats *out)
{
	out->appended = m->pushed;
	out->dropped = m->dropped;
	out->refused = m->refused;
	out->depth = m->count;
}

/* The embedded log: everything settles in memory, at once. */

static void *
es_mem_be_open(const struct es_config *cfg, char **cause)
{
	return (es_mem_new(cfg->mem_max_events, cfg->mem_full, cause));
}

static void
es_mem_be_close(void *be)
{
	es_mem_free(be);
}

static int
es_mem_be_append(void *be, struct es_event *ev, es_append_cb *cb, void *arg,
    enum es_stored *where)
{
	(void)cb;
	(void)arg;
	if (es_mem_push(be, ev) != 0)
		return (-1);
	*where = ES_STORED_MEMORY;
	return (0);
}

static int
es_mem_be_read(void *be, const struct eid *from, const struct eid *to,
    size_t max, struct es_event **out, es_read_cb *cb, void *arg)
{
	(void)cb;
	(void)arg;
	/* The front caps max at INT_MAX, so n fits the return. */
	return ((int)es_mem_read(be, from, to, max, out));
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
