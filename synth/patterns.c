/*
 * patterns: bframe occurrences, distinct sessions and models, promotion.
 *
 * Every pattern known lives in one tsearch(3) tree keyed by its name, and
 * on exactly one of two lists that give the orders the design asks for:
 * - lru: the unpromoted, least recently seen (by its last occurrence)
 *   first, at most max_patterns; a new one beyond that evicts the head.
 * - promoted: the promoted, in order of promotion, at most max_promoted;
 *   beyond that the oldest is forgotten (a later series of its bframes
 *   could then promote it again: the bound's documented price).
 * Both orders are functions of the events fed, so eviction is too.
 *
 * An unpromoted pattern keeps its distinct sessions and models as strings
 * (SYNTH_DISTINCT_MAX each, first seen first; more are not stored and the
 * counts stop there). Promotion reports them, then frees them: a promoted
 * pattern keeps counting occurrences and its last eid, its distinct counts
 * stay as promoted. So a promoted name costs a small fixed record.
 */
#include <assert.h>
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "synth/patterns.h"
#include "synth/synth_internal.h"

/* Item fields of a packed pattern. */
#define PAT_PACK_FIELDS	10

/* An unpromoted pattern's distinct values; ptrs malloc'd, NUL-terminated. */
struct pat_sets {
	struct synth_bytes	session[SYNTH_DISTINCT_MAX];
	struct synth_bytes	model[SYNTH_DISTINCT_MAX];
};

/*
 * A pattern. sets is NULL exactly when promoted; nsessions and nmodels
 * count its entries (frozen at promotion). first and last are the eids of
 * the first and latest occurrences, meaningful once occurrences > 0.
 */
struct pat {
	struct synth_bytes	 key;		/* first: the tree's key */
	struct pat		*prev;		/* on lru or promoted */
	struct pat		*next;
	struct pat_sets		*sets;
	uint64_t		 occurrences;
	uint32_t		 nsessions;
	uint32_t		 nmodels;
	struct synth_eid	 first;
	struct synth_eid	 last;
	bool			 promoted;
	char			 name[];
};

struct pat_list {
	struct pat	*head;
	struct pat	*tail;
	size_t		 n;
};

struct patterns {
	void		*root;		/* every struct pat, by name */
	struct pat_list	 lru;		/* unpromoted; n <= max_patterns */
	struct pat_list	 promoted;	/* n <= max_promoted */
	size_t		 max_patterns;
	size_t		 max_promoted;
	uint32_t	 promote_occurrences;
	uint32_t	 promote_sessions;
	uint32_t	 promote_models;
	uint64_t	 evicted;
	uint64_t	 refused;
	uint64_t	 candidates_total;
};

static int		 pat_cmp(const void *, const void *);
static struct pat	*pat_new(const struct synth_bytes *, bool);
static void		 pat_free(void *);
static void		 pat_sets_free(struct pat_sets *, uint32_t, uint32_t);
static int		 pat_add(struct patterns *, const struct synth_bytes *,
			    bool, struct pat **);
static void		 pat_drop(struct patterns *, struct pat_list *,
			    struct pat *);
static void		 list_append(struct pat_list *, struct pat *);
static void		 list_remove(struct pat_list *, struct pat *);
static bool		 set_has(const struct synth_bytes *, uint32_t,
			    const struct synth_bytes *);
static int		 set_copy(const struct synth_bytes *, uint32_t,
			    const struct synth_bytes *, char **);
static void		 set_add(struct synth_bytes *, uint32_t *, char *,
			    size_t);
static void		 pat_occur(struct patterns *,
			    const struct synth_event *, struct patterns_txn *,
			    synth_promote_fn *, void *);
static void		 pat_mark(struct patterns *, struct patterns_txn *);
static void		 pat_promote(struct patterns *, struct pat *,
			    const struct synth_event *, synth_promote_fn *,
			    void *);
static int		 pat_rank(const struct pat *,
			    const struct synth_pattern_view *);
static void		 pat_top_insert(const struct pat *,
			    struct synth_pattern_view *, size_t, size_t *);
static int		 pat_pack_list(msgpack_packer *,
			    const struct pat_list *);
static int		 pat_pack_one(msgpack_packer *, const struct pat *);
static int		 pat_unpack_list(struct patterns *,
			    const msgpack_object *, bool);
static int		 pat_unpack_one(struct patterns *,
			    const msgpack_object *, bool);
static int		 pat_unpack_set(const msgpack_object *, uint64_t,
			    struct synth_bytes *, uint32_t *);

struct patterns *
patterns_new(const struct synth_config *c)
{
	struct patterns	*pt;

	if ((pt = calloc(1, sizeof(*pt))) == NULL)
		return (NULL);
	pt->max_patterns = c->max_patterns;
	pt->max_promoted = c->max_promoted;
	pt->promote_occurrences = c->promote_occurrences;
	pt->promote_sessions = c->promote_sessions;
	pt->promote_models = c->promote_models;
	return (pt);
}

void
patterns_free(struct patterns *pt)
{
	if (pt == NULL)
		return;
	tdestroy(pt->root, pat_free);
	free(pt);
}

static int
pat_cmp(const void *x, const void *y)
{
	return (synth_bytes_cmp(x, y));
}

/* A pattern named s, no occurrence yet; with sets unless promoted. */
static struct pat *
pat_new(const struct synth_bytes *s, bool promoted)
{
	struct pat	*p;

	if ((p = calloc(1, sizeof(*p) + s->len + 1)) == NULL)
		return (NULL);
	if (!promoted && (p->sets = calloc(1, sizeof(*p->sets))) == NULL) {
		free(p);
		return (NULL);
	}
	memcpy(p->name, s->ptr, s->len);
	p->key.ptr = p->name;
	p->key.len = s->len;
	p->promoted = promoted;
	return (p);
}

static void
pat_free(void *arg)
{
	struct pat	*p = arg;

	pat_sets_free(p->sets, p->nsessions, p->nmodels);
	free(p);
}

static void
pat_sets_free(struct pat_sets *sets, uint32_t nsessions, uint32_t nmodels)
{
	uint32_t	i;

	if (sets == NULL)
		return;
	/* The strings are our malloc'd copies; synth_bytes calls them const. */
	for (i = 0; i < nsessions; i++)
		free((char *)sets->session[i].ptr);
	for (i = 0; i < nmodels; i++)
		free((char *)sets->model[i].ptr);
	free(sets);
}

/* Makes and inserts pattern s (not in the tree); 0 or -1 (ENOMEM). */
static int
pat_add(struct patterns *pt, const struct synth_bytes *s, bool promoted,
    struct pat **pp)
{
	struct pat	*p;

	if ((p = pat_new(s, promoted)) == NULL)
		return (-1);
	if (tsearch(&p->key, &pt->root, pat_cmp) == NULL) {
		pat_free(p);
		return (-1);
	}
	*pp = p;
	return (0);
}

/* Forgets p, which is on list l. */
static void
pat_drop(struct patterns *pt, struct pat_list *l, struct pat *p)
{
	list_remove(l, p);
	tdelete(&p->key, &pt->root, pat_cmp);
	pat_free(p);
}

static void
list_append(struct pat_list *l, struct pat *p)
{
	p->prev = l->tail;
	p->next = NULL;
	if (l->tail != NULL)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	l->n++;
}

static void
list_remove(struct pat_list *l, struct pat *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		l->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		l->tail = p->prev;
	p->prev = p->next = NULL;
	l->n--;
}

static bool
set_has(const struct synth_bytes *set, uint32_t n, const struct synth_bytes *s)
{
	uint32_t	i;

	for (i = 0; i < n; i++)
		if (synth_bytes_eq(&set[i], s->ptr, s->len))
			return (true);
	return (false);
}

/*
 * A copy of s for the set if s would join it (new, and the set not full),
 * else NULL in *out; 0, or -1 on ENOMEM.
 */
static int
set_copy(const struct synth_bytes *set, uint32_t n,
    const struct synth_bytes *s, char **out)
{
	*out = NULL;
	if (n == SYNTH_DISTINCT_MAX || set_has(set, n, s))
		return (0);
	if ((*out = malloc(s->len + 1)) == NULL)
		return (-1);
	if (s->len > 0)
		memcpy(*out, s->ptr, s->len);
	(*out)[s->len] = '\0';
	return (0);
}

static void
set_add(struct synth_bytes *set, uint32_t *n, char *copy, size_t len)
{
	assert(*n < SYNTH_DISTINCT_MAX);
	set[*n].ptr = copy;
	set[*n].len = len;
	(*n)++;
}

int
patterns_prepare(struct patterns *pt, const struct synth_event *ev,
    struct patterns_txn *tx)
{
	struct pat	*p;
	void		*node;

	memset(tx, 0, sizeof(*tx));
	if (ev->pattern.len == 0)
		return (0);
	if (synth_bytes_eq(&ev->kind, "bframe", 6))
		tx->what = PATTERNS_OCCUR;
	else if (synth_bytes_eq(&ev->kind, "candidate", 9))
		tx->what = PATTERNS_MARK;
	else
		return (0);
	if (ev->pattern.len > SYNTH_PATTERN_MAX) {
		tx->what = PATTERNS_REFUSE;
		return (0);
	}
	if ((node = tfind(&ev->pattern, &pt->root, pat_cmp)) != NULL)
		tx->pat = *(struct pat **)node;
	else if (pat_add(pt, &ev->pattern, tx->what == PATTERNS_MARK,
	    &tx->pat) == -1)
		return (-1);
	else
		tx->created = true;
	if (tx->what != PATTERNS_OCCUR || (p = tx->pat)->sets == NULL)
		return (0);
	if (set_copy(p->sets->session, p->nsessions, &ev->session,
	    &tx->session) == -1 ||
	    set_copy(p->sets->model, p->nmodels, &ev->model,
	    &tx->model) == -1) {
		patterns_abort(pt, tx);
		return (-1);
	}
	return (0);
}

void
patterns_abort(struct patterns *pt, struct patterns_txn *tx)
{
	free(tx->session);
	free(tx->model);
	tx->session = tx->model = NULL;
	if (tx->created) {
		tdelete(&tx->pat->key, &pt->root, pat_cmp);
		pat_free(tx->pat);
	}
	tx->what = PATTERNS_NONE;
}

void
patterns_commit(struct patterns *pt, const struct synth_event *ev,
    struct patterns_txn *tx, synth_promote_fn *fn, void *arg)
{
	switch (tx->what) {
	case PATTERNS_NONE:
		break;
	case PATTERNS_REFUSE:
		pt->refused++;
		break;
	case PATTERNS_OCCUR:
		pat_occur(pt, ev, tx, fn, arg);
		break;
	case PATTERNS_MARK:
		pat_mark(pt, tx);
		break;
	}
}

/* A bframe of tx->pat: count it, most recently seen, maybe promote. */
static void
pat_occur(struct patterns *pt, const struct synth_event *ev,
    struct patterns_txn *tx, synth_promote_fn *fn, void *arg)
{
	struct pat	*p = tx->pat;

	if (!p->promoted) {
		if (!tx->created)
			list_remove(&pt->lru, p);
		list_append(&pt->lru, p);
		/* p is the tail, so not the head evicted (n >= 2 here). */
		if (pt->lru.n > pt->max_patterns) {
			pat_drop(pt, &pt->lru, pt->lru.head);
			pt->evicted++;
		}
	}
	if (p->occurrences++ == 0)
		p->first = ev->eid;
	p->last = ev->eid;
	if (tx->session != NULL)
		set_add(p->sets->session, &p->nsessions, tx->session,
		    ev->session.len);
	if (tx->model != NULL)
		set_add(p->sets->model, &p->nmodels, tx->model, ev->model.len);
	tx->session = tx->model = NULL;
	if (!p->promoted && p->occurrences >= pt->promote_occurrences &&
	    p->nsessions >= pt->promote_sessions &&
	    p->nmodels >= pt->promote_models)
		pat_promote(pt, p, ev, fn, arg);
}

/*
 * The router's logged promotion record: the pattern is promoted from now
 * on, whether this synth promoted it (then nothing changes), saw it
 * unpromoted, or never saw it (its occurrences evicted or trimmed).
 */
static void
pat_mark(struct patterns *pt, struct patterns_txn *tx)
{
	struct pat	*p = tx->pat;

	if (tx->created) {
		list_append(&pt->promoted, p);
		pt->candidates_total++;
		/* p is the tail, so not the head forgotten. */
		if (pt->promoted.n > pt->max_promoted)
			pat_drop(pt, &pt->promoted, pt->promoted.head);
	} else if (!p->promoted)
		pat_promote(pt, p, NULL, NULL, NULL);
}

/*
 * Promotes p, which is on lru: its state records it before fn runs, and
 * its distinct strings are freed only after fn has listed them.
 */
static void
pat_promote(struct patterns *pt, struct pat *p, const struct synth_event *ev,
    synth_promote_fn *fn, void *arg)
{
	struct synth_candidate	c;

	list_remove(&pt->lru, p);
	list_append(&pt->promoted, p);
	p->promoted = true;
	pt->candidates_total++;
	if (pt->promoted.n > pt->max_promoted)
		pat_drop(pt, &pt->promoted, pt->promoted.head);
	if (fn != NULL) {
		memset(&c, 0, sizeof(c));
		c.pattern = p->key;
		c.occurrences = p->occurrences;
		c.sessions = p->sets->session;
		c.nsessions = p->nsessions;
		c.models = p->sets->model;
		c.nmodels = p->nmodels;
		c.first_eid = p->first;
		c.last_eid = p->last;
		c.ts_us = ev->ts_us;
		fn(arg, &c);
	}
	pat_sets_free(p->sets, p->nsessions, p->nmodels);
	p->sets = NULL;
}

void
patterns_stats(const struct patterns *pt, struct synth_stats *st)
{
	st->candidates_total = pt->candidates_total;
	st->npatterns = pt->lru.n;
	st->npromoted = pt->promoted.n;
	st->patterns_evicted = pt->evicted;
	st->patterns_refused = pt->refused;
}

/* < 0 when p ranks before v: more occurrences, then the smaller name. */
static int
pat_rank(const struct pat *p, const struct synth_pattern_view *v)
{
	if (p->occurrences != v->occurrences)
		return (p->occurrences > v->occurrences ? -1 : 1);
	return (synth_bytes_cmp(&p->key, &v->pattern));
}

/* Inserts p into out[0..*n), sorted, keeping at most max. */
static void
pat_top_insert(const struct pat *p, struct synth_pattern_view *out,
    size_t max, size_t *n)
{
	struct synth_pattern_view	*v;
	size_t				 lo = 0, hi = *n, mid;

	if (*n == max && (max == 0 || pat_rank(p, &out[max - 1]) > 0))
		return;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pat_rank(p, &out[mid]) < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (*n < max)
		(*n)++;
	memmove(&out[lo + 1], &out[lo], (*n - 1 - lo) * sizeof(*out));
	v = &out[lo];
	memset(v, 0, sizeof(*v));
	v->pattern = p->key;
	v->occurrences = p->occurrences;
	v->nsessions = p->nsessions;
	v->nmodels = p->nmodels;
	v->first_eid = p->first;
	v->last_eid = p->last;
	v->promoted = p->promoted;
}

size_t
patterns_top(const struct patterns *pt, struct synth_pattern_view *out,
    size_t max)
{
	const struct pat	*p;
	size_t			 n = 0;

	for (p = pt->lru.head; p != NULL; p = p->next)
		if (p->occurrences > 0)
			pat_top_insert(p, out, max, &n);
	for (p = pt->promoted.head; p != NULL; p = p->next)
		if (p->occurrences > 0)
			pat_top_insert(p, out, max, &n);
	return (n);
}

/*
 * Snapshot: [evicted, refused, candidates_total, [lru...], [promoted...]],
 * each list in its order, each pattern [name, occurrences, first ms, first
 * seq, last ms, last seq, nsessions, nmodels, [session...], [model...]]
 * (the lists empty once promoted).
 */
int
patterns_pack(const struct patterns *pt, msgpack_packer *pk)
{
	if (msgpack_pack_array(pk, 5) != 0 ||
	    msgpack_pack_uint64(pk, pt->evicted) != 0 ||
	    msgpack_pack_uint64(pk, pt->refused) != 0 ||
	    msgpack_pack_uint64(pk, pt->candidates_total) != 0 ||
	    pat_pack_list(pk, &pt->lru) != 0 ||
	    pat_pack_list(pk, &pt->promoted) != 0)
		return (-1);
	return (0);
}

static int
pat_pack_list(msgpack_packer *pk, const struct pat_list *l)
{
	const struct pat	*p;

	if (msgpack_pack_array(pk, l->n) != 0)
		return (-1);
	for (p = l->head; p != NULL; p = p->next)
		if (pat_pack_one(pk, p) != 0)
			return (-1);
	return (0);
}

static int
pat_pack_one(msgpack_packer *pk, const struct pat *p)
{
	/* Not sets != NULL: fn may snapshot before promotion frees them. */
	uint32_t	i, ns = p->promoted ? 0 : p->nsessions;
	uint32_t	nm = p->promoted ? 0 : p->nmodels;

	if (msgpack_pack_array(pk, PAT_PACK_FIELDS) != 0 ||
	    synth_pack_bytes(pk, p->key.ptr, p->key.len) != 0 ||
	    msgpack_pack_uint64(pk, p->occurrences) != 0 ||
	    synth_pack_eid(pk, &p->first) != 0 ||
	    synth_pack_eid(pk, &p->last) != 0 ||
	    msgpack_pack_uint32(pk, p->nsessions) != 0 ||
	    msgpack_pack_uint32(pk, p->nmodels) != 0 ||
	    msgpack_pack_array(pk, ns) != 0)
		return (-1);
	for (i = 0; i < ns; i++)
		if (synth_pack_bytes(pk, p->sets->session[i].ptr,
		    p->sets->session[i].len) != 0)
			return (-1);
	if (msgpack_pack_array(pk, nm) != 0)
		return (-1);
	for (i = 0; i < nm; i++)
		if (synth_pack_bytes(pk, p->sets->model[i].ptr,
		    p->sets->model[i].len) != 0)
			return (-1);
	return (0);
}

int
patterns_unpack(struct patterns *pt, const msgpack_object *o)
{
	const msgpack_object	*f;

	assert(pt->root == NULL);
	if (synth_obj_array(o, 5, &f) == -1 ||
	    synth_obj_u64(&f[0], &pt->evicted) == -1 ||
	    synth_obj_u64(&f[1], &pt->refused) == -1 ||
	    synth_obj_u64(&f[2], &pt->candidates_total) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (pat_unpack_list(pt, &f[3], false) == -1 ||
	    pat_unpack_list(pt, &f[4], true) == -1)
		return (-1);
	return (0);
}

/* Appends the packed list's patterns to lru or promoted, in order. */
static int
pat_unpack_list(struct patterns *pt, const msgpack_object *o, bool promoted)
{
	const msgpack_object	*items;
	uint32_t		 i, n;

	if (synth_obj_list(o, &items, &n) == -1 ||
	    n > (promoted ? pt->max_promoted : pt->max_patterns)) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < n; i++)
		if (pat_unpack_one(pt, &items[i], promoted) == -1)
			return (-1);
	return (0);
}

static int
pat_unpack_one(struct patterns *pt, const msgpack_object *o, bool promoted)
{
	const msgpack_object	*f;
	struct synth_bytes	 name;
	struct pat		*p;
	uint64_t		 ns, nm;

	if (synth_obj_array(o, PAT_PACK_FIELDS, &f) == -1 ||
	    synth_obj_bytes(&f[0], SYNTH_PATTERN_MAX, &name) == -1 ||
	    name.len == 0 || tfind(&name, &pt->root, pat_cmp) != NULL ||
	    synth_obj_u64(&f[6], &ns) == -1 || ns > SYNTH_DISTINCT_MAX ||
	    synth_obj_u64(&f[7], &nm) == -1 || nm > SYNTH_DISTINCT_MAX) {
		errno = EINVAL;
		return (-1);
	}
	if (pat_add(pt, &name, promoted, &p) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	/* On the list at once: patterns_free frees it whatever follows. */
	list_append(promoted ? &pt->promoted : &pt->lru, p);
	if (synth_obj_u64(&f[1], &p->occurrences) == -1 ||
	    synth_obj_eid(&f[2], &p->first) == -1 ||
	    synth_obj_eid(&f[4], &p->last) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (promoted) {
		p->nsessions = (uint32_t)ns;
		p->nmodels = (uint32_t)nm;
		ns = nm = 0;
	}
	if (pat_unpack_set(&f[8], ns, promoted ? NULL : p->sets->session,
	    &p->nsessions) == -1 ||
	    pat_unpack_set(&f[9], nm, promoted ? NULL : p->sets->model,
	    &p->nmodels) == -1)
		return (-1);
	return (0);
}

/* A packed list of exactly n distinct values into set; 0 or -1, errno. */
static int
pat_unpack_set(const msgpack_object *o, uint64_t n, struct synth_bytes *set,
    uint32_t *count)
{
	const msgpack_object	*items;
	struct synth_bytes	 s;
	char			*copy;
	uint32_t		 i;

	if (synth_obj_array(o, (uint32_t)n, &items) == -1)
		goto inval;
	for (i = 0; i < n; i++) {
		if (synth_obj_bytes(&items[i], SIZE_MAX, &s) == -1 ||
		    set_has(set, *count, &s))
			goto inval;
		if (set_copy(set, *count, &s, &copy) == -1) {
			errno = ENOMEM;
			return (-1);
		}
		set_add(set, count, copy, s.len);
	}
	return (0);
inval:
	errno = EINVAL;
	return (-1);
}
