/*
 * prom: see prom.h. Every append goes through one buffer; a failure
 * leaves it as it was (the caller answers 500 rather than a torn page).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/lib/prom.h"
#include "router/lib/utf8.h"
#include "router/lib/wire.h"

/* The label values of the sample being written, outermost first. */
struct prom_labels {
	const char	*v[PROM_LABELS_MAX + 1];
	size_t		 len[PROM_LABELS_MAX + 1];
	unsigned	 n;
};

static int
prom_adds(struct json_buf *b, const char *s)
{
	return (json_buf_add(b, s, strlen(s)));
}

/*
 * Appends s with \\ and newline escaped (and " when quote); a string that
 * is not UTF-8 has its bytes >= 0x80 written as '?'.
 */
static int
prom_put_escaped(struct json_buf *b, const char *s, size_t len, bool quote)
{
	bool	valid = utf8_valid(s, len);
	size_t	i;
	int	r = 0;

	for (i = 0; i < len && r == 0; i++) {
		if (s[i] == '\\')
			r = json_buf_add(b, "\\\\", 2);
		else if (s[i] == '\n')
			r = json_buf_add(b, "\\n", 2);
		else if (quote && s[i] == '"')
			r = json_buf_add(b, "\\\"", 2);
		else if (!valid && (unsigned char)s[i] >= 0x80)
			r = json_buf_add(b, "?", 1);
		else
			r = json_buf_add(b, &s[i], 1);
	}
	return (r);
}

int
prom_put_label_value(struct json_buf *b, const char *s, size_t len)
{
	return (prom_put_escaped(b, s, len, true));
}

int
prom_put_help(struct json_buf *b, const char *s, size_t len)
{
	return (prom_put_escaped(b, s, len, false));
}

static const char *const prom_type_names[] = {
	[PROM_COUNTER] = "counter",
	[PROM_GAUGE] = "gauge",
	[PROM_STATE] = "gauge",
	[PROM_INFO] = "gauge",
	[PROM_HISTOGRAM] = "histogram",
};

static int
prom_header(struct json_buf *b, const struct prom_meta *m)
{
	if (prom_adds(b, "# HELP ") == -1 || prom_adds(b, m->name) == -1 ||
	    json_buf_add(b, " ", 1) == -1 ||
	    prom_put_help(b, m->help, strlen(m->help)) == -1 ||
	    prom_adds(b, "\n# TYPE ") == -1 || prom_adds(b, m->name) == -1 ||
	    json_buf_add(b, " ", 1) == -1 ||
	    prom_adds(b, prom_type_names[m->type]) == -1)
		return (-1);
	return (json_buf_add(b, "\n", 1));
}

/*
 * name{l1="v1",...} (names from m, values from lv; extra: one more label
 * name whose value is lv->v[m->nlabels]), no value yet.
 */
static int
prom_sample_start(struct json_buf *b, const struct prom_meta *m,
    const char *suffix, const struct prom_labels *lv, const char *extra)
{
	unsigned	i, n = lv->n;

	if (prom_adds(b, m->name) == -1 || prom_adds(b, suffix) == -1)
		return (-1);
	if (n == 0)
		return (0);
	if (json_buf_add(b, "{", 1) == -1)
		return (-1);
	for (i = 0; i < n; i++) {
		if ((i > 0 && json_buf_add(b, ",", 1) == -1) ||
		    prom_adds(b, i < m->nlabels ? m->labels[i] : extra) == -1 ||
		    json_buf_add(b, "=\"", 2) == -1 ||
		    prom_put_label_value(b, lv->v[i], lv->len[i]) == -1 ||
		    json_buf_add(b, "\"", 1) == -1)
			return (-1);
	}
	return (json_buf_add(b, "}", 1));
}

/* " d\n" in the fewest digits that read back as d. */
static void
prom_float(char *buf, size_t len, double d)
{
	int	prec;

	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, len, " %.*g\n", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
	snprintf(buf, len, " %.17g\n", d);
}

/* " value\n": integers exactly, floats in Go's notation for specials. */
static int
prom_value(struct json_buf *b, const msgpack_object *v)
{
	char	num[40];
	double	d;

	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(num, sizeof num, " %" PRIu64 "\n", v->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(num, sizeof num, " %" PRId64 "\n", v->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		d = v->via.f64;
		if (isnan(d))
			strcpy(num, " NaN\n");
		else if (isinf(d))
			strcpy(num, d > 0 ? " +Inf\n" : " -Inf\n");
		else
			prom_float(num, sizeof num, d);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		strcpy(num, v->via.boolean ? " 1\n" : " 0\n");
		break;
	default:
		return (1);	/* not a number: skipped */
	}
	return (prom_adds(b, num));
}

static bool
prom_is_str(const msgpack_object *o)
{
	return (o->type == MSGPACK_OBJECT_STR);
}

static bool
prom_is_number(const msgpack_object *o)
{
	double	d;

	return (wire_obj_number(o, &d));
}

/* A plain sample: counter or gauge. */
static int
prom_number(struct json_buf *b, const struct prom_meta *m,
    struct prom_labels *lv, const msgpack_object *v)
{
	size_t	mark = b->len;

	if (!prom_is_number(v))
		return (0);
	if (prom_sample_start(b, m, "", lv, NULL) == -1 ||
	    prom_value(b, v) == -1) {
		b->len = mark;
		return (-1);
	}
	return (0);
}

/* One sample per state, 1 for the one v names. */
static int
prom_state(struct json_buf *b, const struct prom_meta *m,
    struct prom_labels *lv, const msgpack_object *v)
{
	unsigned	i;
	bool		on;

	if (!prom_is_number(v) && !prom_is_str(v))
		return (0);
	lv->n++;
	for (i = 0; i < m->nstates; i++) {
		if (prom_is_str(v))
			on = v->via.str.size == strlen(m->states[i]) &&
			    memcmp(v->via.str.ptr, m->states[i],
			    v->via.str.size) == 0;
		else
			on = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
			    v->via.u64 == i;
		lv->v[lv->n - 1] = m->states[i];
		lv->len[lv->n - 1] = strlen(m->states[i]);
		if (prom_sample_start(b, m, "", lv, "state") == -1 ||
		    prom_adds(b, on ? " 1\n" : " 0\n") == -1) {
			lv->n--;
			return (-1);
		}
	}
	lv->n--;
	return (0);
}

/* name{labels...,last="v"} 1 */
static int
prom_info(struct json_buf *b, const struct prom_meta *m,
    struct prom_labels *lv, const msgpack_object *v)
{
	int	r;

	if (!prom_is_str(v) || lv->n + 1 != m->nlabels)
		return (0);
	lv->v[lv->n] = v->via.str.ptr;
	lv->len[lv->n] = v->via.str.size;
	lv->n++;
	r = prom_sample_start(b, m, "", lv, NULL);
	lv->n--;
	if (r == -1)
		return (-1);
	return (prom_adds(b, " 1\n"));
}

static const msgpack_object *
prom_map_get(const msgpack_object *map, const char *key)
{
	uint32_t	i;
	size_t		len = strlen(key);

	if (map->type != MSGPACK_OBJECT_MAP)
		return (NULL);
	for (i = 0; i < map->via.map.size; i++) {
		const msgpack_object	*k = &map->via.map.ptr[i].key;

		if (prom_is_str(k) && k->via.str.size == len &&
		    memcmp(k->via.str.ptr, key, len) == 0)
			return (&map->via.map.ptr[i].val);
	}
	return (NULL);
}

/* _bucket{...,le="x"} for each bound, then _sum and _count. */
static int
prom_histogram(struct json_buf *b, const struct prom_meta *m,
    struct prom_labels *lv, const msgpack_object *v)
{
	const msgpack_object	*buckets, *sum, *count, *k;
	uint32_t		 i;
	int			 r = 0;

	buckets = prom_map_get(v, "buckets");
	sum = prom_map_get(v, "sum");
	count = prom_map_get(v, "count");
	if (buckets == NULL || buckets->type != MSGPACK_OBJECT_MAP ||
	    sum == NULL || !prom_is_number(sum) ||
	    count == NULL || !prom_is_number(count))
		return (0);
	lv->n++;
	for (i = 0; i < buckets->via.map.size && r == 0; i++) {
		k = &buckets->via.map.ptr[i].key;
		if (!prom_is_str(k) ||
		    !prom_is_number(&buckets->via.map.ptr[i].val))
			continue;
		lv->v[lv->n - 1] = k->via.str.ptr;
		lv->len[lv->n - 1] = k->via.str.size;
		if ((r = prom_sample_start(b, m, "_bucket", lv, "le")) == 0)
			r = prom_value(b, &buckets->via.map.ptr[i].val);
	}
	lv->n--;
	if (r == -1 ||
	    prom_sample_start(b, m, "_sum", lv, NULL) == -1 ||
	    prom_value(b, sum) == -1 ||
	    prom_sample_start(b, m, "_count", lv, NULL) == -1 ||
	    prom_value(b, count) == -1)
		return (-1);
	return (0);
}

/* Walks the label maps down to the values (depth: labels left). */
static int
prom_walk(struct json_buf *b, const struct prom_meta *m,
    struct prom_labels *lv, const msgpack_object *v)
{
	const msgpack_object_kv	*kv;
	uint32_t		 i;
	int			 r = 0;

	/* An info figure's last label is its value, not a map level. */
	if (lv->n + (m->type == PROM_INFO ? 1 : 0) < m->nlabels) {
		if (v->type != MSGPACK_OBJECT_MAP)
			return (0);
		for (i = 0; i < v->via.map.size && r == 0; i++) {
			kv = &v->via.map.ptr[i];
			if (!prom_is_str(&kv->key))
				continue;
			lv->v[lv->n] = kv->key.via.str.ptr;
			lv->len[lv->n] = kv->key.via.str.size;
			lv->n++;
			r = prom_walk(b, m, lv, &kv->val);
			lv->n--;
		}
		return (r);
	}
	switch (m->type) {
	case PROM_COUNTER:
	case PROM_GAUGE:
		return (prom_number(b, m, lv, v));
	case PROM_STATE:
		return (prom_state(b, m, lv, v));
	case PROM_INFO:
		return (prom_info(b, m, lv, v));
	case PROM_HISTOGRAM:
		return (prom_histogram(b, m, lv, v));
	}
	return (0);
}

int
prom_render(struct json_buf *b, const msgpack_object *map,
    prom_find_fn *find, void *arg)
{
	const msgpack_object	*k;
	const struct prom_meta	*m;
	struct prom_labels	 lv;
	size_t			 mark = b->len;
	uint32_t		 i;

	if (map->type != MSGPACK_OBJECT_MAP) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < map->via.map.size; i++) {
		k = &map->via.map.ptr[i].key;
		if (!prom_is_str(k) ||
		    (m = find(arg, k->via.str.ptr, k->via.str.size)) == NULL)
			continue;
		lv.n = 0;
		if (prom_header(b, m) == -1 ||
		    prom_walk(b, m, &lv, &map->via.map.ptr[i].val) == -1) {
			b->len = mark;
			if (b->data != NULL)
				b->data[mark] = '\0';
			return (-1);
		}
	}
	return (0);
}
