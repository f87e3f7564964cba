/*
 * test_prom: router/lib/prom.h, the Prometheus text renderer of /metrics,
 * and json_render_map as /stats.json uses it. Snapshot maps are packed by
 * hand, decoded, and rendered with a find callback over a small table of
 * struct prom_meta; every check is of the exact text.
 *
 * Not tested: a render failing for want of memory (json_buf_add returns
 * -1 only when realloc fails, which nothing here can arrange).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "router/lib/json.h"
#include "router/lib/prom.h"

static const char *const states[] = { "closed", "open", "half_open" };

/* The figures the tests render; find looks them up by name. */
static const struct prom_meta rows[] = {
	{ .name = "t_plain_total", .type = PROM_COUNTER, .nlabels = 0,
	  .help = "Plain things." },
	{ .name = "t_gauge", .type = PROM_GAUGE, .nlabels = 0,
	  .help = "A gauge." },
	{ .name = "t_by_tract_total", .type = PROM_COUNTER, .nlabels = 1,
	  .labels = { "tract", NULL }, .help = "Per tract." },
	{ .name = "t_pairs_total", .type = PROM_COUNTER, .nlabels = 2,
	  .labels = { "from", "to" }, .help = "Per pair." },
	{ .name = "t_state", .type = PROM_STATE, .nlabels = 0,
	  .states = states, .nstates = 3, .help = "A state." },
	{ .name = "t_tract_state", .type = PROM_STATE, .nlabels = 1,
	  .labels = { "tract", NULL }, .states = states, .nstates = 3,
	  .help = "A state per tract." },
	{ .name = "t_build_info", .type = PROM_INFO, .nlabels = 1,
	  .labels = { "version", NULL }, .help = "The version." },
	{ .name = "t_latency_seconds", .type = PROM_HISTOGRAM, .nlabels = 0,
	  .help = "Latency." },
	{ .name = "t_tract_latency_seconds", .type = PROM_HISTOGRAM,
	  .nlabels = 1, .labels = { "tract", NULL },
	  .help = "Latency per tract." },
	{ .name = "t_odd_help", .type = PROM_GAUGE, .nlabels = 0,
	  .help = "back\\slash, \"quoted\"\nsecond line" },
};
#define NROWS	(sizeof(rows) / sizeof(rows[0]))

/* Objects are packed into sb, decoded into zone, rendered into out. */
struct fixture {
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	msgpack_zone	 zone;
	struct json_buf	 out;
	unsigned	 finds;		/* find calls */
};

static const struct prom_meta *
find(void *arg, const char *name, size_t len)
{
	struct fixture	*f = arg;
	size_t		 i;

	f->finds++;
	for (i = 0; i < NROWS; i++) {
		if (strlen(rows[i].name) == len &&
		    memcmp(rows[i].name, name, len) == 0)
			return (&rows[i]);
	}
	return (NULL);
}

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	msgpack_sbuffer_init(&f->sb);
	msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
	if (!msgpack_zone_init(&f->zone, 4096)) {
		msgpack_sbuffer_destroy(&f->sb);
		free(f);
		return (-1);
	}
	json_buf_init(&f->out);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	msgpack_sbuffer_destroy(&f->sb);
	msgpack_zone_destroy(&f->zone);
	json_buf_free(&f->out);
	free(f);
	return (0);
}

static void
pack_str(struct fixture *f, const char *s, size_t len)
{
	msgpack_pack_str(&f->pk, len);
	msgpack_pack_str_body(&f->pk, s, len);
}

static void
pack_cstr(struct fixture *f, const char *s)
{
	pack_str(f, s, strlen(s));
}

/* "key": n */
static void
pack_kv_u64(struct fixture *f, const char *key, uint64_t n)
{
	pack_cstr(f, key);
	msgpack_pack_uint64(&f->pk, n);
}

/* "key": d */
static void
pack_kv_double(struct fixture *f, const char *key, double d)
{
	pack_cstr(f, key);
	msgpack_pack_double(&f->pk, d);
}

/* Decodes what was packed into one object. */
static msgpack_object
unpacked(struct fixture *f)
{
	msgpack_object	o;
	size_t		off = 0;

	assert_int_equal(msgpack_unpack(f->sb.data, f->sb.size, &off,
	    &f->zone, &o), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, f->sb.size);
	return (o);
}

/* Renders the packed map with prom_render and returns the text. */
static const char *
rendered(struct fixture *f)
{
	msgpack_object	o = unpacked(f);

	json_buf_clear(&f->out);
	f->finds = 0;
	assert_int_equal(prom_render(&f->out, &o, find, f), 0);
	if (f->out.data == NULL)
		return ("");
	assert_int_equal(strlen(f->out.data), f->out.len);
	return (f->out.data);
}

/* Renders the packed map as /stats.json does (no "op"). */
static const char *
rendered_json(struct fixture *f)
{
	static const char *const omit[] = { "op", NULL };
	msgpack_object		 o = unpacked(f);

	json_buf_clear(&f->out);
	assert_int_equal(json_render_map(&f->out, &o, omit), 0);
	assert_int_equal(strlen(f->out.data), f->out.len);
	return (f->out.data);
}

/*
 * Figures and labels.
 */

static void
test_prom_counter_without_labels(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "t_plain_total", 42);
	assert_string_equal(rendered(f),
	    "# HELP t_plain_total Plain things.\n"
	    "# TYPE t_plain_total counter\n"
	    "t_plain_total 42\n");
	assert_int_equal(f->finds, 1);
}

static void
test_prom_figures_keep_the_map_order(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 2);
	pack_kv_u64(f, "t_gauge", 7);
	pack_kv_u64(f, "t_plain_total", 0);
	assert_string_equal(rendered(f),
	    "# HELP t_gauge A gauge.\n"
	    "# TYPE t_gauge gauge\n"
	    "t_gauge 7\n"
	    "# HELP t_plain_total Plain things.\n"
	    "# TYPE t_plain_total counter\n"
	    "t_plain_total 0\n");
	assert_int_equal(f->finds, 2);
}

static void
test_prom_one_label_is_one_map_level(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_by_tract_total");
	msgpack_pack_map(&f->pk, 2);
	pack_kv_u64(f, "external", 4);
	pack_kv_u64(f, "internal", 18446744073709551615u);
	assert_string_equal(rendered(f),
	    "# HELP t_by_tract_total Per tract.\n"
	    "# TYPE t_by_tract_total counter\n"
	    "t_by_tract_total{tract=\"external\"} 4\n"
	    "t_by_tract_total{tract=\"internal\"} 18446744073709551615\n");
}

static void
test_prom_two_labels_are_two_map_levels_outermost_first(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_pairs_total");
	msgpack_pack_map(&f->pk, 2);
	pack_cstr(f, "a");
	msgpack_pack_map(&f->pk, 2);
	pack_kv_u64(f, "b", 3);
	pack_kv_u64(f, "c", 4);
	pack_cstr(f, "d");
	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "b", 5);
	assert_string_equal(rendered(f),
	    "# HELP t_pairs_total Per pair.\n"
	    "# TYPE t_pairs_total counter\n"
	    "t_pairs_total{from=\"a\",to=\"b\"} 3\n"
	    "t_pairs_total{from=\"a\",to=\"c\"} 4\n"
	    "t_pairs_total{from=\"d\",to=\"b\"} 5\n");
}

static void
test_prom_empty_label_map_writes_only_the_header(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_by_tract_total");
	msgpack_pack_map(&f->pk, 0);
	assert_string_equal(rendered(f),
	    "# HELP t_by_tract_total Per tract.\n"
	    "# TYPE t_by_tract_total counter\n");
}

/*
 * Escaping.
 */

static void
test_prom_label_value_escapes_backslash_quote_newline(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_by_tract_total");
	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "a\\b\"c\nd\te", 1);
	/* a tab (any other byte) goes through as it is */
	assert_string_equal(rendered(f),
	    "# HELP t_by_tract_total Per tract.\n"
	    "# TYPE t_by_tract_total counter\n"
	    "t_by_tract_total{tract=\"a\\\\b\\\"c\\nd\te\"} 1\n");
}

static void
test_prom_help_escapes_backslash_and_newline_not_quote(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "t_odd_help", 1);
	assert_string_equal(rendered(f),
	    "# HELP t_odd_help back\\\\slash, \"quoted\"\\nsecond line\n"
	    "# TYPE t_odd_help gauge\n"
	    "t_odd_help 1\n");
}

static void
test_prom_put_label_value_and_help_alone(void **state)
{
	struct fixture	*f = *state;
	const char	 s[] = "x\\\"\n\0y";

	assert_int_equal(prom_put_label_value(&f->out, s, sizeof(s) - 1), 0);
	assert_int_equal(f->out.len, 9);
	assert_memory_equal(f->out.data, "x\\\\\\\"\\n\0y", 9);
	json_buf_clear(&f->out);
	assert_int_equal(prom_put_help(&f->out, s, sizeof(s) - 1), 0);
	assert_int_equal(f->out.len, 8);
	assert_memory_equal(f->out.data, "x\\\\\"\\n\0y", 8);
	/* Appends: what was there stays. */
	assert_int_equal(prom_put_help(&f->out, "z", 1), 0);
	assert_int_equal(f->out.len, 9);
	assert_memory_equal(f->out.data, "x\\\\\"\\n\0yz", 9);
	json_buf_clear(&f->out);
	assert_int_equal(prom_put_label_value(&f->out, "", 0), 0);
	assert_int_equal(f->out.len, 0);
}

static void
test_prom_non_utf8_label_value_bytes_become_question_marks(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_by_tract_total");
	msgpack_pack_map(&f->pk, 3);
	/* invalid: a lone continuation byte and 0xff; escapes still apply */
	pack_kv_u64(f, "ab\xff\x80\\c\xc3\xa9", 1);
	/* valid UTF-8 goes through unchanged */
	pack_kv_u64(f, "caf\xc3\xa9 \xe2\x82\xac", 2);
	/* a truncated sequence */
	pack_kv_u64(f, "x\xe2\x82", 3);
	assert_string_equal(rendered(f),
	    "# HELP t_by_tract_total Per tract.\n"
	    "# TYPE t_by_tract_total counter\n"
	    "t_by_tract_total{tract=\"ab??\\\\c??\"} 1\n"
	    "t_by_tract_total{tract=\"caf\xc3\xa9 \xe2\x82\xac\"} 2\n"
	    "t_by_tract_total{tract=\"x??\"} 3\n");
}

/*
 * States and info.
 */

static void
test_prom_state_from_a_number_is_one_sample_per_state(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "t_state", 1);
	assert_string_equal(rendered(f),
	    "# HELP t_state A state.\n"
	    "# TYPE t_state gauge\n"
	    "t_state{state=\"closed\"} 0\n"
	    "t_state{state=\"open\"} 1\n"
	    "t_state{state=\"half_open\"} 0\n");
}

static void
test_prom_state_from_a_string_is_one_sample_per_state(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_state");
	pack_cstr(f, "half_open");
	assert_string_equal(rendered(f),
	    "# HELP t_state A state.\n"
	    "# TYPE t_state gauge\n"
	    "t_state{state=\"closed\"} 0\n"
	    "t_state{state=\"open\"} 0\n"
	    "t_state{state=\"half_open\"} 1\n");
}

static void
test_prom_state_label_comes_after_the_figure_labels(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_tract_state");
	msgpack_pack_map(&f->pk, 2);
	pack_kv_u64(f, "a", 0);
	pack_cstr(f, "b");
	pack_cstr(f, "open");
	assert_string_equal(rendered(f),
	    "# HELP t_tract_state A state per tract.\n"
	    "# TYPE t_tract_state gauge\n"
	    "t_tract_state{tract=\"a\",state=\"closed\"} 1\n"
	    "t_tract_state{tract=\"a\",state=\"open\"} 0\n"
	    "t_tract_state{tract=\"a\",state=\"half_open\"} 0\n"
	    "t_tract_state{tract=\"b\",state=\"closed\"} 0\n"
	    "t_tract_state{tract=\"b\",state=\"open\"} 1\n"
	    "t_tract_state{tract=\"b\",state=\"half_open\"} 0\n");
}

static void
test_prom_info_is_its_string_as_the_last_label(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_build_info");
	pack_cstr(f, "0.1.0-\"rc\"");
	assert_string_equal(rendered(f),
	    "# HELP t_build_info The version.\n"
	    "# TYPE t_build_info gauge\n"
	    "t_build_info{version=\"0.1.0-\\\"rc\\\"\"} 1\n");
}

/*
 * Histograms.
 */

/*
 * {"count": c, "sum": s, "p50": 0.25,
 *  "buckets": {"0.1": b1, "0.5": b2, "+Inf": c}}
 */
static void
pack_hist(struct fixture *f, uint64_t b1, uint64_t b2, uint64_t count,
    double sum)
{
	msgpack_pack_map(&f->pk, 4);
	pack_kv_u64(f, "count", count);
	pack_kv_double(f, "sum", sum);
	pack_kv_double(f, "p50", 0.25);	/* not a sample: left out */
	pack_cstr(f, "buckets");
	msgpack_pack_map(&f->pk, 3);
	pack_kv_u64(f, "0.1", b1);
	pack_kv_u64(f, "0.5", b2);
	pack_kv_u64(f, "+Inf", count);
}

static void
test_prom_histogram_buckets_in_order_then_sum_and_count(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_latency_seconds");
	pack_hist(f, 1, 2, 3, 0.75);
	assert_string_equal(rendered(f),
	    "# HELP t_latency_seconds Latency.\n"
	    "# TYPE t_latency_seconds histogram\n"
	    "t_latency_seconds_bucket{le=\"0.1\"} 1\n"
	    "t_latency_seconds_bucket{le=\"0.5\"} 2\n"
	    "t_latency_seconds_bucket{le=\"+Inf\"} 3\n"
	    "t_latency_seconds_sum 0.75\n"
	    "t_latency_seconds_count 3\n");
}

static void
test_prom_histogram_labels_come_before_le(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_tract_latency_seconds");
	msgpack_pack_map(&f->pk, 2);
	pack_cstr(f, "a");
	pack_hist(f, 0, 0, 0, 0.0);
	pack_cstr(f, "b");
	pack_hist(f, 5, 6, 7, 2.0);
	assert_string_equal(rendered(f),
	    "# HELP t_tract_latency_seconds Latency per tract.\n"
	    "# TYPE t_tract_latency_seconds histogram\n"
	    "t_tract_latency_seconds_bucket{tract=\"a\",le=\"0.1\"} 0\n"
	    "t_tract_latency_seconds_bucket{tract=\"a\",le=\"0.5\"} 0\n"
	    "t_tract_latency_seconds_bucket{tract=\"a\",le=\"+Inf\"} 0\n"
	    "t_tract_latency_seconds_sum{tract=\"a\"} 0\n"
	    "t_tract_latency_seconds_count{tract=\"a\"} 0\n"
	    "t_tract_latency_seconds_bucket{tract=\"b\",le=\"0.1\"} 5\n"
	    "t_tract_latency_seconds_bucket{tract=\"b\",le=\"0.5\"} 6\n"
	    "t_tract_latency_seconds_bucket{tract=\"b\",le=\"+Inf\"} 7\n"
	    "t_tract_latency_seconds_sum{tract=\"b\"} 2\n"
	    "t_tract_latency_seconds_count{tract=\"b\"} 7\n");
}

static void
test_prom_histogram_without_sum_or_buckets_is_skipped(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 2);
	pack_cstr(f, "t_latency_seconds");
	msgpack_pack_map(&f->pk, 2);		/* no "sum" */
	pack_kv_u64(f, "count", 1);
	pack_cstr(f, "buckets");
	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "+Inf", 1);
	pack_cstr(f, "t_tract_latency_seconds");
	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "a");
	msgpack_pack_map(&f->pk, 3);		/* buckets not a map */
	pack_kv_u64(f, "count", 1);
	pack_kv_double(f, "sum", 1.0);
	pack_kv_u64(f, "buckets", 1);
	assert_string_equal(rendered(f),
	    "# HELP t_latency_seconds Latency.\n"
	    "# TYPE t_latency_seconds histogram\n"
	    "# HELP t_tract_latency_seconds Latency per tract.\n"
	    "# TYPE t_tract_latency_seconds histogram\n");
}

/*
 * What is left out.
 */

static void
test_prom_keys_without_a_row_are_skipped(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 5);
	pack_cstr(f, "server");
	pack_cstr(f, "callosum/0.1.0");
	pack_kv_u64(f, "t_unknown_total", 9);
	msgpack_pack_uint64(&f->pk, 7);	/* a key that is no str */
	msgpack_pack_uint64(&f->pk, 8);
	pack_kv_u64(f, "t_plain_total", 1);
	pack_cstr(f, "truncated");
	msgpack_pack_false(&f->pk);
	assert_string_equal(rendered(f),
	    "# HELP t_plain_total Plain things.\n"
	    "# TYPE t_plain_total counter\n"
	    "t_plain_total 1\n");
	/* Asked about every str key, never about the uint one. */
	assert_int_equal(f->finds, 4);
}

static void
test_prom_values_of_the_wrong_shape_are_skipped(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 6);
	pack_cstr(f, "t_plain_total");		/* str, not a number */
	pack_cstr(f, "12");
	pack_cstr(f, "t_by_tract_total");	/* number, not a map */
	msgpack_pack_uint64(&f->pk, 5);
	pack_cstr(f, "t_pairs_total");		/* only the good leaves */
	msgpack_pack_map(&f->pk, 3);
	pack_cstr(f, "a");
	msgpack_pack_map(&f->pk, 3);
	pack_cstr(f, "b");
	pack_cstr(f, "x");			/* str leaf */
	pack_kv_u64(f, "c", 2);
	pack_cstr(f, "d");
	msgpack_pack_nil(&f->pk);		/* nil leaf */
	pack_kv_u64(f, "e", 3);			/* a leaf a level early */
	msgpack_pack_uint64(&f->pk, 4);	/* a key that is no str */
	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "f", 4);
	pack_cstr(f, "t_build_info");		/* info needs a str */
	msgpack_pack_uint64(&f->pk, 1);
	pack_cstr(f, "t_state");		/* state: number or str */
	msgpack_pack_array(&f->pk, 0);
	pack_kv_u64(f, "t_gauge", 7);		/* the next one is fine */
	assert_string_equal(rendered(f),
	    "# HELP t_plain_total Plain things.\n"
	    "# TYPE t_plain_total counter\n"
	    "# HELP t_by_tract_total Per tract.\n"
	    "# TYPE t_by_tract_total counter\n"
	    "# HELP t_pairs_total Per pair.\n"
	    "# TYPE t_pairs_total counter\n"
	    "t_pairs_total{from=\"a\",to=\"c\"} 2\n"
	    "# HELP t_build_info The version.\n"
	    "# TYPE t_build_info gauge\n"
	    "# HELP t_state A state.\n"
	    "# TYPE t_state gauge\n"
	    "# HELP t_gauge A gauge.\n"
	    "# TYPE t_gauge gauge\n"
	    "t_gauge 7\n");
}

/*
 * Numbers.
 */

/* Renders one t_gauge of the double d and returns its sample line. */
static const char *
gauge_line(struct fixture *f, double d)
{
	static const char	 head[] = "# HELP t_gauge A gauge.\n"
				    "# TYPE t_gauge gauge\n";
	const char		*text;

	msgpack_sbuffer_clear(&f->sb);
	msgpack_pack_map(&f->pk, 1);
	pack_kv_double(f, "t_gauge", d);
	text = rendered(f);
	assert_memory_equal(text, head, sizeof(head) - 1);
	return (text + sizeof(head) - 1);
}

static void
test_prom_floats_are_shortest_and_go_specials(void **state)
{
	struct fixture	*f = *state;

	assert_string_equal(gauge_line(f, 2.0), "t_gauge 2\n");
	assert_string_equal(gauge_line(f, 0.1), "t_gauge 0.1\n");
	assert_string_equal(gauge_line(f, -0.5), "t_gauge -0.5\n");
	assert_string_equal(gauge_line(f, 1.0 / 3.0),
	    "t_gauge 0.3333333333333333\n");
	assert_string_equal(gauge_line(f, 1e21), "t_gauge 1e+21\n");
	assert_string_equal(gauge_line(f, NAN), "t_gauge NaN\n");
	assert_string_equal(gauge_line(f, INFINITY), "t_gauge +Inf\n");
	assert_string_equal(gauge_line(f, -INFINITY), "t_gauge -Inf\n");
}

static void
test_prom_negative_integer_is_exact(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "t_gauge");
	msgpack_pack_int64(&f->pk, INT64_MIN);
	assert_string_equal(rendered(f),
	    "# HELP t_gauge A gauge.\n"
	    "# TYPE t_gauge gauge\n"
	    "t_gauge -9223372036854775808\n");
}

/*
 * The call.
 */

static void
test_prom_render_appends_to_the_buffer(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 o;

	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "t_plain_total", 1);
	o = unpacked(f);
	assert_int_equal(json_buf_add(&f->out, "before\n", 7), 0);
	assert_int_equal(prom_render(&f->out, &o, find, f), 0);
	assert_string_equal(f->out.data, "before\n"
	    "# HELP t_plain_total Plain things.\n"
	    "# TYPE t_plain_total counter\n"
	    "t_plain_total 1\n");
}

static void
test_prom_render_of_a_non_map_is_einval_and_changes_nothing(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 o;

	/* What a map would hold, in an array. */
	msgpack_pack_array(&f->pk, 2);
	pack_kv_u64(f, "t_plain_total", 1);
	o = unpacked(f);
	assert_int_equal(json_buf_add(&f->out, "kept", 4), 0);
	errno = 0;
	assert_int_equal(prom_render(&f->out, &o, find, f), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(f->out.len, 4);
	assert_string_equal(f->out.data, "kept");
	assert_int_equal(f->finds, 0);
}

static void
test_prom_render_of_an_empty_map_writes_nothing(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 0);
	assert_string_equal(rendered(f), "");
	assert_int_equal(f->out.len, 0);
	assert_int_equal(f->finds, 0);
}

/*
 * /stats.json: the same map through json_render_map.
 */

static void
test_json_stats_map_leaves_out_op_and_nests_labels(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 4);
	pack_cstr(f, "op");
	pack_cstr(f, "stats");
	pack_cstr(f, "server");
	pack_cstr(f, "callosum/0.1.0");
	pack_cstr(f, "t_pairs_total");
	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "a");
	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "b", 3);
	pack_kv_double(f, "t_gauge", 2.0);
	assert_string_equal(rendered_json(f),
	    "{\"server\":\"callosum/0.1.0\",\"t_pairs_total\":{\"a\":"
	    "{\"b\":3}},\"t_gauge\":2.0}");
}

static void
test_json_stats_map_non_utf8_str_is_base64(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 2);
	pack_cstr(f, "t_build_info");
	pack_str(f, "ab\xff" "c", 4);
	pack_cstr(f, "t_by_tract_total");
	msgpack_pack_map(&f->pk, 1);
	pack_kv_u64(f, "\xc3\x28", 1);		/* a key, too */
	assert_string_equal(rendered_json(f),
	    "{\"t_build_info\":\"YWL/Yw==\",\"t_by_tract_total\":"
	    "{\"wyg=\":1}}");
}

static void
test_json_stats_map_escapes_controls_and_quotes(void **state)
{
	struct fixture	*f = *state;
	const char	 s[] = "q\"b\\s\x01\x1f\n\t\r\x7f";

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "k\"ey\n");
	pack_str(f, s, sizeof(s) - 1);
	assert_string_equal(rendered_json(f),
	    "{\"k\\\"ey\\n\":\"q\\\"b\\\\s\\u0001\\u001f\\n\\t\\r\x7f\"}");
}

static void
test_json_stats_map_specials_are_null(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 3);
	pack_kv_double(f, "nan", NAN);
	pack_kv_double(f, "inf", INFINITY);
	pack_kv_double(f, "tenth", 0.1);
	assert_string_equal(rendered_json(f),
	    "{\"nan\":null,\"inf\":null,\"tenth\":0.1}");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_prom_counter_without_labels),
		T(test_prom_figures_keep_the_map_order),
		T(test_prom_one_label_is_one_map_level),
		T(test_prom_two_labels_are_two_map_levels_outermost_first),
		T(test_prom_empty_label_map_writes_only_the_header),
		T(test_prom_label_value_escapes_backslash_quote_newline),
		T(test_prom_help_escapes_backslash_and_newline_not_quote),
		T(test_prom_put_label_value_and_help_alone),
		T(test_prom_non_utf8_label_value_bytes_become_question_marks),
		T(test_prom_state_from_a_number_is_one_sample_per_state),
		T(test_prom_state_from_a_string_is_one_sample_per_state),
		T(test_prom_state_label_comes_after_the_figure_labels),
		T(test_prom_info_is_its_string_as_the_last_label),
		T(test_prom_histogram_buckets_in_order_then_sum_and_count),
		T(test_prom_histogram_labels_come_before_le),
		T(test_prom_histogram_without_sum_or_buckets_is_skipped),
		T(test_prom_keys_without_a_row_are_skipped),
		T(test_prom_values_of_the_wrong_shape_are_skipped),
		T(test_prom_floats_are_shortest_and_go_specials),
		T(test_prom_negative_integer_is_exact),
		T(test_prom_render_appends_to_the_buffer),
		T(test_prom_render_of_a_non_map_is_einval_and_changes_nothing),
		T(test_prom_render_of_an_empty_map_writes_nothing),
		T(test_json_stats_map_leaves_out_op_and_nests_labels),
		T(test_json_stats_map_non_utf8_str_is_base64),
		T(test_json_stats_map_escapes_controls_and_quotes),
		T(test_json_stats_map_specials_are_null),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
