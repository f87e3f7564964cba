/*
 * balance: per-pair direction windows, balanced-dialogue events and the
 * emergence score.
 *
 * Pairs live in a tsearch(3) tree keyed by their names in byte order, at
 * most max_pairs of them, never removed. Each holds a ring of its last W
 * cross-tract events (direction and the hashes of agent, session and
 * model) and, per label, a count table: how many events of the window
 * carry each hash. An event that enters a full window pushes the oldest
 * out, updating the counts both ways, so one event costs O(1) beside the
 * tree lookup, and the distinct counts emergence needs are the tables'
 * sizes.
 *
 * Nothing here depends on an address or on a table's layout: the figures
 * are a function of the events fed, in their order. Distinct values are
 * told apart by their 64-bit FNV-1a hash, as the design says: two labels
 * with one hash count as one value, the same way on every rebuild.
 */
#include <assert.h>
#include <errno.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "synth/balance.h"
#include "synth/synth_internal.h"

#define BAL_RING_INITIAL	16	/* ring slots at first, if W allows */
#define BAL_CTAB_INITIAL	8	/* count table slots at first */
#define BAL_SLOT_BYTES		(1 + 8 * BALANCE_NDIM)	/* in a snapshot */

/* One event of a window. */
struct bal_slot {
	uint64_t	h[BALANCE_NDIM];
	uint8_t		dir;
};

/* A count table entry; count 0 marks a free slot. */
struct bal_centry {
	uint64_t	key;
	uint32_t	count;
};

/*
 * Open addressing with linear probing and backward-shift deletion, so no
 * tombstones: used keys have count >= 1, used * 2 <= cap (cap a power of
 * two, or 0 before the first event). used is the distinct count.
 */
struct bal_ctab {
	struct bal_centry	*v;
	uint32_t		 cap;
	uint32_t		 used;
};

/* The tree's key; the first member of struct bal_pair. */
struct bal_key {
	struct synth_bytes	a;
	struct synth_bytes	b;
};

/*
 * A pair {a, b}, a < b. The window is ring[(head + i) % cap], i < n,
 * oldest first; n <= W and cap <= W. While n < W the ring has never
 * wrapped (head is 0), so it can grow by realloc; it reaches cap == W
 * before n does. cnt[d] counts the window's events of direction d, so
 * cnt[0] + cnt[1] == n. since counts this pair's events after its last
 * counted one, saturating at W (all the rule asks).
 */
struct bal_pair {
	struct bal_key	 key;
	struct bal_slot	*ring;
	uint32_t	 cap;
	uint32_t	 head;
	uint32_t	 n;
	uint32_t	 cnt[2];
	uint32_t	 since;
	bool		 balanced;
	struct bal_ctab	 tab[BALANCE_NDIM];
	char		 names[];	/* a, NUL, b, NUL */
};

struct balance {
	void		*root;		/* of struct bal_pair, by key */
	size_t		 npairs;	/* <= max_pairs */
	size_t		 max_pairs;
	uint32_t	 window;	/* W */
	uint32_t	 min_window;	/* m = min(W, SYNTH_MIN_WINDOW) */
	double		 threshold;
	uint64_t	 balanced_events;
	double		 e;		/* emergence, in [0, 1] */
	int64_t		 last_ts;
	uint64_t	 pairs_dropped;
	struct bal_pair	*last;		/* the pair of the last event: cache */
	bool		 last_dir;	/* and its direction */
};

static int		 bal_key_cmp(const void *, const void *);
static uint64_t		 bal_hash(const struct synth_bytes *);
static struct bal_pair	*bal_pair_new(const struct bal_key *);
static void		 bal_pair_free(void *);
static int		 bal_pair_add(struct balance *, const struct bal_key *,
			    struct bal_pair **);
static int		 bal_ring_reserve(struct balance *, struct bal_pair *);
static uint32_t		 ctab_home(const struct bal_ctab *, uint64_t);
static uint32_t		 ctab_find(const struct bal_ctab *, uint64_t);
static int		 ctab_reserve(struct bal_ctab *);
static void		 ctab_inc(struct bal_ctab *, uint64_t);
static void		 ctab_dec(struct bal_ctab *, uint64_t);
static void		 bal_replace(struct bal_pair *,
			    const struct bal_slot *);
static void		 bal_push(struct bal_pair *, const struct bal_slot *);
static double		 bal_balance(const struct bal_pair *);
static void		 bal_count(struct balance *, struct bal_pair *, double,
			    int64_t);
static double		 bal_div(const struct bal_pair *);
static void		 bal_emerge(struct balance *, const struct bal_pair *,
			    double);
static void		 bal_view_cb(const void *, VISIT, void *);
static void		 bal_pack_cb(const void *, VISIT, void *);
static int		 bal_pack_pair(msgpack_packer *,
			    const struct bal_pair *);
static int		 bal_unpack_pair(struct balance *,
			    const msgpack_object *);
static int		 bal_unpack_ring(struct balance *, struct bal_pair *,
			    const struct synth_bytes *);

struct balance *
balance_new(const struct synth_config *c)
{
	struct balance	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return (NULL);
	b->max_pairs = c->max_pairs;
	b->window = c->window;
	b->min_window = c->window < SYNTH_MIN_WINDOW ? c->window :
	    SYNTH_MIN_WINDOW;
	b->threshold = c->balance_threshold;
	return (b);
}

void
balance_free(struct balance *b)
{
	if (b == NULL)
		return;
	tdestroy(b->root, bal_pair_free);
	free(b);
}

/* Pairs by a, then b, each in byte order. */
static int
bal_key_cmp(const void *x, const void *y)
{
	const struct bal_key	*kx = x, *ky = y;
	int			 c;

	if ((c = synth_bytes_cmp(&kx->a, &ky->a)) != 0)
		return (c);
	return (synth_bytes_cmp(&kx->b, &ky->b));
}

/*
 * FNV-1a's constants over 8-byte words (the tail zero-padded), the length
 * mixed in first: a label costs a few multiplies, not one per byte. Words
 * are read in the machine's byte order, so values (and a snapshot holding
 * them) belong to one architecture; the figures do not depend on them
 * beyond telling labels apart. The empty string is a value like any other.
 */
uint64_t
synth_label_hash(const char *ptr, size_t len)
{
	uint64_t	h = 14695981039346656037ULL ^ (uint64_t)len;
	uint64_t	w;
	size_t		i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, ptr + i, 8);
		h = (h ^ w) * 1099511628211ULL;
		h ^= h >> 29;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, ptr + i, len - i);
		h = (h ^ w) * 1099511628211ULL;
		h ^= h >> 29;
	}
	return (h * 0x9e3779b97f4a7c15ULL);
}

static uint64_t
bal_hash(const struct synth_bytes *s)
{
	return (synth_label_hash(s->ptr, s->len));
}

/*
 * Equal bytes, a word at a time: tract names are short, and this runs
 * for every event (a call to memcmp costs more than the comparison).
 */
static bool
bal_eq(const struct synth_bytes *x, const struct synth_bytes *y)
{
	uint64_t	a, b;
	size_t		i = 0;

	if (x->len != y->len)
		return (false);
	for (; i + 8 <= x->len; i += 8) {
		memcpy(&a, x->ptr + i, 8);
		memcpy(&b, y->ptr + i, 8);
		if (a != b)
			return (false);
	}
	for (; i < x->len; i++) {
		if (x->ptr[i] != y->ptr[i])
			return (false);
	}
	return (true);
}

/*
 * A dialogue's events come in runs of one pair: the last pair, in either
 * direction, is checked before the tree (and before from and to are put
 * in order). Returns it with *dir set, or NULL.
 */
static struct bal_pair *
bal_cached(const struct balance *b, const struct synth_event *ev, bool *dir)
{
	const struct bal_pair	*p = b->last;
	bool			 rev = b->last_dir;

	if (p == NULL)
		return (NULL);
	/* The direction of the last event first: publishers repeat. */
	if (bal_eq(&ev->from, rev ? &p->key.b : &p->key.a) &&
	    bal_eq(&ev->to, rev ? &p->key.a : &p->key.b)) {
		*dir = rev;
		return (b->last);
	}
	if (bal_eq(&ev->from, rev ? &p->key.a : &p->key.b) &&
	    bal_eq(&ev->to, rev ? &p->key.b : &p->key.a)) {
		*dir = !rev;
		return (b->last);
	}
	return (NULL);
}

/* A pair with copies of k's names and an empty window. */
static struct bal_pair *
bal_pair_new(const struct bal_key *k)
{
	struct bal_pair	*p;
	char		*s;

	if ((p = calloc(1, sizeof(*p) + k->a.len + k->b.len + 2)) == NULL)
		return (NULL);
	s = p->names;
	if (k->a.len > 0)
		memcpy(s, k->a.ptr, k->a.len);
	p->key.a.ptr = s;
	p->key.a.len = k->a.len;
	s += k->a.len + 1;
	if (k->b.len > 0)
		memcpy(s, k->b.ptr, k->b.len);
	p->key.b.ptr = s;
	p->key.b.len = k->b.len;
	return (p);
}

static void
bal_pair_free(void *arg)
{
	struct bal_pair	*p = arg;
	int		 d;

	for (d = 0; d < BALANCE_NDIM; d++)
		free(p->tab[d].v);
	free(p->ring);
	free(p);
}

/* Makes and inserts the pair k (not in the tree); 0 or -1 (ENOMEM). */
static int
bal_pair_add(struct balance *b, const struct bal_key *k, struct bal_pair **pp)
{
	struct bal_pair	*p;

	if ((p = bal_pair_new(k)) == NULL)
		return (-1);
	if (tsearch(&p->key, &b->root, bal_key_cmp) == NULL) {
		bal_pair_free(p);
		return (-1);
	}
	b->npairs++;
	*pp = p;
	return (0);
}

/* Room for one more event in p's ring: a full ring of W slots pops. */
static int
bal_ring_reserve(struct balance *b, struct bal_pair *p)
{
	struct bal_slot	*v;
	uint32_t	 cap;

	if (p->n < p->cap || p->cap == b->window)
		return (0);
	assert(p->head == 0);
	cap = p->cap == 0 ? BAL_RING_INITIAL : p->cap * 2;
	if (cap > b->window)
		cap = b->window;
	if ((v = realloc(p->ring, cap * sizeof(*v))) == NULL)
		return (-1);
	p->ring = v;
	p->cap = cap;
	return (0);
}

/* The key's first probe; the multiply spreads FNV's low bits. */
static uint32_t
ctab_home(const struct bal_ctab *t, uint64_t key)
{
	return ((uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) &
	    (t->cap - 1));
}

/* key's slot, or the free slot where it would go. */
static uint32_t
ctab_find(const struct bal_ctab *t, uint64_t key)
{
	uint32_t	i = ctab_home(t, key);

	while (t->v[i].count != 0 && t->v[i].key != key)
		i = (i + 1) & (t->cap - 1);
	return (i);
}

/* Room for one more key, growing the table; 0 or -1 (ENOMEM). */
/* Room for one more key at load <= 1/2 (the check, inlined per event). */
static inline bool
ctab_has_room(const struct bal_ctab *t)
{
	return (t->cap != 0 && (t->used + 1) * 2 <= t->cap);
}

static int
ctab_reserve(struct bal_ctab *t)
{
	struct bal_centry	*old = t->v, *v;
	uint32_t		 cap, oldcap = t->cap, i, j;

	if (t->cap != 0 && (t->used + 1) * 2 <= t->cap)
		return (0);
	cap = t->cap == 0 ? BAL_CTAB_INITIAL : t->cap * 2;
	if ((v = calloc(cap, sizeof(*v))) == NULL)
		return (-1);
	t->v = v;
	t->cap = cap;
	for (i = 0; i < oldcap; i++) {
		if (old[i].count == 0)
			continue;
		j = ctab_find(t, old[i].key);
		t->v[j] = old[i];
	}
	free(old);
	return (0);
}

/* One more event with key; ctab_reserve made room. */
static void
ctab_inc(struct bal_ctab *t, uint64_t key)
{
	uint32_t	i = ctab_find(t, key);

	if (t->v[i].count == 0) {
		assert((t->used + 1) * 2 <= t->cap);
		t->v[i].key = key;
		t->used++;
	}
	t->v[i].count++;
}

/*
 * One event with key fewer. At zero the key leaves, and the entries after
 * it in its probe run move back where a lookup still finds them.
 */
static void
ctab_dec(struct bal_ctab *t, uint64_t key)
{
	uint32_t	i = ctab_find(t, key), j, k, mask = t->cap - 1;

	assert(t->v[i].count > 0);
	if (--t->v[i].count > 0)
		return;
	t->used--;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (t->v[j].count == 0)
			break;
		k = ctab_home(t, t->v[j].key);
		/* Stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->v[i] = t->v[j];
		t->v[j].count = 0;
		i = j;
	}
}

int
balance_prepare(struct balance *b, const struct synth_event *ev,
    struct balance_txn *tx)
{
	struct bal_key	 k;
	void		*node;
	int		 c, d;
	bool		 rev;

	memset(tx, 0, sizeof(*tx));
	if ((tx->pair = bal_cached(b, ev, &rev)) != NULL) {
		tx->dir = rev;
		goto found;
	}
	if ((c = synth_bytes_cmp(&ev->from, &ev->to)) == 0)
		return (0);
	tx->dir = c > 0;
	k.a = tx->dir ? ev->to : ev->from;
	k.b = tx->dir ? ev->from : ev->to;
	if ((node = tfind(&k, &b->root, bal_key_cmp)) != NULL)
		tx->pair = *(struct bal_pair **)node;
	else if (b->npairs >= b->max_pairs) {
		tx->what = BALANCE_DROP;
		return (0);
	} else if (bal_pair_add(b, &k, &tx->pair) == -1)
		return (-1);
	else
		tx->created = true;
found:
	tx->what = BALANCE_PAIR;
	if (bal_ring_reserve(b, tx->pair) == -1)
		goto fail;
	if (ev->label_hash != NULL)
		memcpy(tx->h, ev->label_hash, sizeof(tx->h));
	else {
		tx->h[0] = bal_hash(&ev->agent);
		tx->h[1] = bal_hash(&ev->session);
		tx->h[2] = bal_hash(&ev->model);
	}
	/*
	 * Room for a new label, unless the window is full and the slot that
	 * leaves has the same one (bal_replace then leaves the table alone).
	 */
	for (d = 0; d < BALANCE_NDIM; d++) {
		if (tx->pair->n == b->window &&
		    tx->pair->ring[tx->pair->head].h[d] == tx->h[d])
			continue;
		if (!ctab_has_room(&tx->pair->tab[d]) &&
		    ctab_reserve(&tx->pair->tab[d]) == -1)
			goto fail;
	}
	return (0);
fail:
	balance_abort(b, tx);
	return (-1);
}

void
balance_abort(struct balance *b, const struct balance_txn *tx)
{
	if (tx->what != BALANCE_PAIR || !tx->created)
		return;
	tdelete(&tx->pair->key, &b->root, bal_key_cmp);
	if (b->last == tx->pair)
		b->last = NULL;
	bal_pair_free(tx->pair);
	b->npairs--;
}

/* s enters the window; bal_ring_reserve and ctab_reserve made room. */
static void
bal_push(struct bal_pair *p, const struct bal_slot *s)
{
	int	d;

	assert(p->n < p->cap);
	p->ring[(p->head + p->n) % p->cap] = *s;
	p->n++;
	p->cnt[s->dir]++;
	for (d = 0; d < BALANCE_NDIM; d++)
		ctab_inc(&p->tab[d], s->h[d]);
}

/*
 * A full window: the oldest event out, s in, in its slot. A label that
 * leaves and enters at once (one agent talking on) changes no count, so
 * its table is not touched.
 */
static void
bal_replace(struct bal_pair *p, const struct bal_slot *s)
{
	struct bal_slot	*old = &p->ring[p->head];
	int		 d;

	assert(p->n == p->cap && p->cnt[old->dir] > 0);
	p->cnt[old->dir]--;
	p->cnt[s->dir]++;
	for (d = 0; d < BALANCE_NDIM; d++) {
		if (old->h[d] == s->h[d])
			continue;
		ctab_dec(&p->tab[d], old->h[d]);
		ctab_inc(&p->tab[d], s->h[d]);
	}
	*old = *s;
	p->head = p->head + 1 == p->cap ? 0 : p->head + 1;
}

/* min(a, b) / max(a, b), 0 when both are 0. */
static double
bal_balance(const struct bal_pair *p)
{
	uint32_t	lo = p->cnt[0], hi = p->cnt[1], t;

	if (lo > hi) {
		t = lo;
		lo = hi;
		hi = t;
	}
	return (hi == 0 ? 0.0 : (double)lo / (double)hi);
}

/*
 * The counting rule: a balanced window (n >= m, balance >= threshold)
 * counts when the pair enters balance, and again every W events of the
 * pair while it stays there; an unbalanced window ends the run.
 */
static void
bal_count(struct balance *b, struct bal_pair *p, double balance,
    int64_t ts_us)
{
	if (p->n < b->min_window || balance < b->threshold) {
		p->balanced = false;
		return;
	}
	if (p->balanced && p->since < b->window)
		return;
	p->balanced = true;
	p->since = 0;
	b->balanced_events++;
	b->last_ts = ts_us;
}

/*
 * (f(d_a) + f(d_s) + f(d_m)) / 3 with f(d) = min(1, (d - 1) / 2): one
 * distinct value 0, two 0.5, three or more 1. Each f is 0, 0.5 or 1, so
 * the sum is
 * exact and the quotient is one of seven doubles: looked up, it is the
 * same double the division gives (IEEE division rounds correctly).
 */
static double
bal_div(const struct bal_pair *p)
{
	/* k / 2 / 3 for k = 0..6, folded at compile time, rounded as IEEE. */
	static const double	table[7] = { 0.0 / 3.0, 0.5 / 3.0, 1.0 / 3.0,
				    1.5 / 3.0, 2.0 / 3.0, 2.5 / 3.0, 3.0 / 3.0 };
	unsigned		k, i, d;

	/* 2 f(d) in integers: d >= 3 gives 2, d == 2 gives 1, else 0. */
	for (k = 0, i = 0; i < BALANCE_NDIM; i++) {
		d = p->tab[i].used;
		k += d >= 3 ? 2 : d == 2 ? 1 : 0;
	}
	return (table[k]);
}

/*
 * E <- E + (x - E) / W with x = balance * div over the pair's window
 * (0 while n < m). The operations and their order are the design's:
 * changing either changes the last bits, and rebuilds must match.
 */
static void
bal_emerge(struct balance *b, const struct bal_pair *p, double balance)
{
	double	div, x = 0.0;

	if (p->n >= b->min_window) {
		div = bal_div(p);
		x = balance * div;
	}
	b->e += (x - b->e) / (double)b->window;
}

void
balance_commit(struct balance *b, const struct synth_event *ev,
    const struct balance_txn *tx)
{
	struct bal_pair	*p = tx->pair;
	struct bal_slot	 s;
	double		 balance;

	if (tx->what == BALANCE_DROP)
		b->pairs_dropped++;
	if (tx->what != BALANCE_PAIR)
		return;
	memcpy(s.h, tx->h, sizeof(s.h));
	s.dir = tx->dir;
	if (p->n == b->window)
		bal_replace(p, &s);
	else
		bal_push(p, &s);
	b->last = p;
	b->last_dir = tx->dir;
	if (p->since < b->window)
		p->since++;
	balance = bal_balance(p);
	bal_count(b, p, balance, ev->ts_us);
	bal_emerge(b, p, balance);
}

void
balance_stats(const struct balance *b, struct synth_stats *st)
{
	st->balanced_events = b->balanced_events;
	st->emergence = b->e;
	st->last_emergence_ts = b->last_ts;
	st->npairs = b->npairs;
	st->pairs_dropped = b->pairs_dropped;
}

struct bal_view_ctx {
	struct synth_pair_view	*out;
	size_t			 max;
	size_t			 n;
};

/* In order: the second visit of an inner node, the only one of a leaf. */
static void
bal_view_cb(const void *node, VISIT which, void *arg)
{
	const struct bal_pair	*p = *(struct bal_pair * const *)node;
	struct bal_view_ctx	*ctx = arg;
	struct synth_pair_view	*v;

	if ((which != postorder && which != leaf) || ctx->n == ctx->max)
		return;
	v = &ctx->out[ctx->n++];
	v->a = p->key.a;
	v->b = p->key.b;
	v->balance = bal_balance(p);
	v->a_to_b = p->cnt[0];
	v->b_to_a = p->cnt[1];
}

size_t
balance_pairs(const struct balance *b, struct synth_pair_view *out,
    size_t max)
{
	struct bal_view_ctx	ctx = { out, max, 0 };

	twalk_r(b->root, bal_view_cb, &ctx);
	return (ctx.n);
}

/*
 * Snapshot: [balanced_events, E, last_ts, pairs_dropped, [pair...]], the
 * pairs in key order, each [a, b, balanced, since, window] with the window
 * oldest first as n records of BAL_SLOT_BYTES: the direction, then the
 * three hashes big-endian. The count tables are not written: they are the
 * window's hashes counted, and restore counts them again.
 */
struct bal_pack_ctx {
	msgpack_packer	*pk;
	int		 rc;
};

static void
bal_pack_cb(const void *node, VISIT which, void *arg)
{
	struct bal_pack_ctx	*ctx = arg;

	if ((which != postorder && which != leaf) || ctx->rc != 0)
		return;
	ctx->rc = bal_pack_pair(ctx->pk, *(struct bal_pair * const *)node);
}

static int
bal_pack_pair(msgpack_packer *pk, const struct bal_pair *p)
{
	unsigned char	 rec[BAL_SLOT_BYTES];
	const struct bal_slot	*s;
	uint32_t	 i;
	int		 d, k;

	if (msgpack_pack_array(pk, 5) != 0 ||
	    synth_pack_bytes(pk, p->key.a.ptr, p->key.a.len) != 0 ||
	    synth_pack_bytes(pk, p->key.b.ptr, p->key.b.len) != 0 ||
	    (p->balanced ? msgpack_pack_true(pk) :
	    msgpack_pack_false(pk)) != 0 ||
	    msgpack_pack_uint32(pk, p->since) != 0 ||
	    msgpack_pack_bin(pk, (size_t)p->n * BAL_SLOT_BYTES) != 0)
		return (-1);
	for (i = 0; i < p->n; i++) {
		s = &p->ring[(p->head + i) % p->cap];
		rec[0] = s->dir;
		for (d = 0; d < BALANCE_NDIM; d++)
			for (k = 0; k < 8; k++)
				rec[1 + 8 * d + k] = (unsigned char)
				    (s->h[d] >> (56 - 8 * k));
		if (msgpack_pack_bin_body(pk, rec, sizeof(rec)) != 0)
			return (-1);
	}
	return (0);
}

int
balance_pack(const struct balance *b, msgpack_packer *pk)
{
	struct bal_pack_ctx	ctx = { pk, 0 };

	if (msgpack_pack_array(pk, 5) != 0 ||
	    msgpack_pack_uint64(pk, b->balanced_events) != 0 ||
	    msgpack_pack_double(pk, b->e) != 0 ||
	    msgpack_pack_int64(pk, b->last_ts) != 0 ||
	    msgpack_pack_uint64(pk, b->pairs_dropped) != 0 ||
	    msgpack_pack_array(pk, b->npairs) != 0)
		return (-1);
	twalk_r(b->root, bal_pack_cb, &ctx);
	return (ctx.rc);
}

int
balance_unpack(struct balance *b, const msgpack_object *o)
{
	const msgpack_object	*f, *pairs;
	uint32_t		 i, n;

	assert(b->npairs == 0);
	if (synth_obj_array(o, 5, &f) == -1 ||
	    synth_obj_u64(&f[0], &b->balanced_events) == -1 ||
	    synth_obj_f64(&f[1], &b->e) == -1 || !(b->e >= 0 && b->e <= 1) ||
	    synth_obj_i64(&f[2], &b->last_ts) == -1 ||
	    synth_obj_u64(&f[3], &b->pairs_dropped) == -1 ||
	    synth_obj_list(&f[4], &pairs, &n) == -1 || n > b->max_pairs) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < n; i++)
		if (bal_unpack_pair(b, &pairs[i]) == -1)
			return (-1);
	return (0);
}

/* One packed pair, added to the tree; 0 or -1, errno set. */
static int
bal_unpack_pair(struct balance *b, const msgpack_object *o)
{
	const msgpack_object	*f;
	struct bal_key		 k;
	struct bal_pair		*p;
	struct synth_bytes	 ring;
	uint64_t		 since;

	if (synth_obj_array(o, 5, &f) == -1 ||
	    synth_obj_bytes(&f[0], SIZE_MAX, &k.a) == -1 ||
	    synth_obj_bytes(&f[1], SIZE_MAX, &k.b) == -1 ||
	    synth_bytes_cmp(&k.a, &k.b) >= 0 ||
	    tfind(&k, &b->root, bal_key_cmp) != NULL ||
	    synth_obj_u64(&f[3], &since) == -1 || since > b->window ||
	    synth_obj_bytes(&f[4], (size_t)b->window * BAL_SLOT_BYTES,
	    &ring) == -1 || ring.len % BAL_SLOT_BYTES != 0) {
		errno = EINVAL;
		return (-1);
	}
	if (bal_pair_add(b, &k, &p) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	/* Left in the tree on failure: balance_free frees it. */
	if (synth_obj_bool(&f[2], &p->balanced) == -1) {
		errno = EINVAL;
		return (-1);
	}
	p->since = (uint32_t)since;
	return (bal_unpack_ring(b, p, &ring));
}

/* Pushes the packed window's events, oldest first; 0 or -1, errno set. */
static int
bal_unpack_ring(struct balance *b, struct bal_pair *p,
    const struct synth_bytes *ring)
{
	const unsigned char	*r;
	struct bal_slot		 s;
	size_t			 i;
	int			 d, k;

	for (i = 0; i < ring->len / BAL_SLOT_BYTES; i++) {
		r = (const unsigned char *)ring->ptr + i * BAL_SLOT_BYTES;
		if (r[0] > 1) {
			errno = EINVAL;
			return (-1);
		}
		s.dir = r[0];
		for (d = 0; d < BALANCE_NDIM; d++)
			for (s.h[d] = 0, k = 0; k < 8; k++)
				s.h[d] = s.h[d] << 8 | r[1 + 8 * d + k];
		if (bal_ring_reserve(b, p) == -1)
			goto nomem;
		for (d = 0; d < BALANCE_NDIM; d++)
			if (ctab_reserve(&p->tab[d]) == -1)
				goto nomem;
		bal_push(p, &s);
	}
	return (0);
nomem:
	errno = ENOMEM;
	return (-1);
}
