/*
 * prom: a metrics snapshot (the stats op's msgpack map) as Prometheus text
 * exposition format 0.0.4. The snapshot carries the values; a table of
 * struct prom_meta, one row per figure, says what each key is: its type,
 * its label names and its help. So /metrics, the stats op and /stats.json
 * show the same figures, rendered from the one map.
 *
 * Values by type, as the snapshot holds them (a figure with k labels is
 * nested k maps deep, keyed by the label values, outermost first):
 * - PROM_COUNTER, PROM_GAUGE: a number;
 * - PROM_STATE: a number (an index into states) or a string (a state's
 *   name), written as one sample per state, 1 for the current one, with
 *   the label "state";
 * - PROM_INFO: a string, written as a sample of value 1 whose last label
 *   (labels[nlabels - 1]) is that string;
 * - PROM_HISTOGRAM: a map with "buckets" (a map from the upper bound, as
 *   text, to the cumulative count, "+Inf" last), "sum" and "count".
 * Keys of the snapshot without a row are left out (lists, text).
 */
#ifndef CALLOSUM_PROM_H
#define CALLOSUM_PROM_H

#include <stddef.h>

#include <msgpack.h>

#include "router/lib/json.h"

enum prom_type {
	PROM_COUNTER = 0,
	PROM_GAUGE,
	PROM_STATE,
	PROM_INFO,
	PROM_HISTOGRAM
};

#define PROM_LABELS_MAX	2

struct prom_meta {
	const char		*name;
	enum prom_type		 type;
	unsigned		 nlabels;	/* <= PROM_LABELS_MAX */
	const char		*labels[PROM_LABELS_MAX];
	const char *const	*states;	/* PROM_STATE: by index */
	unsigned		 nstates;
	const char		*help;
};

/* The row of the figure named name (len bytes), or NULL: not exposed. */
typedef const struct prom_meta *prom_find_fn(void *arg, const char *name,
	    size_t len);

/*
 * Appends the exposition of every key of map that find knows, in the
 * map's order, each with # HELP and # TYPE. Values of the wrong shape are
 * skipped. 0, or -1 (ENOMEM; EINVAL: map is not a map) with the buffer
 * as it was.
 */
int	 prom_render(struct json_buf *, const msgpack_object *map,
	    prom_find_fn *find, void *arg);
/* Appends s as a label value: \, " and newline escaped. 0 or -1. */
int	 prom_put_label_value(struct json_buf *, const char *s, size_t len);
/* Appends s as help text: \ and newline escaped. 0 or -1. */
int	 prom_put_help(struct json_buf *, const char *s, size_t len);

#endif
