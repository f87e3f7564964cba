/*
 * test_wire: the protocol v1 codec through router/lib/wire.h: framing, the
 * structural check in front of msgpack-c, request parsing for every op,
 * names, demand arithmetic and every encoder (SPEC.md "Transport and
 * framing", "Requests and replies", "Headers", "Demand and backpressure").
 *
 * Every body handed to the decoder is an exact-size heap copy, so ASan
 * reports any read past its end.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "router/lib/wire.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* State shared by every test: a decoder and the buffers it reads. */
struct wt {
	struct wire_decoder	 dec;
	msgpack_sbuffer		 sb;	/* built requests, encoded frames */
	msgpack_sbuffer		 aux;	/* msg tails */
	msgpack_sbuffer		 hdr;	/* msg hdr maps */
	char			*copy;	/* exact-size copy of the last body */
	size_t			 copylen;
	msgpack_object		 root;
	struct wire_req		 req;
	const char		*why;
};

static int
setup(void **state)
{
	struct wt	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (-1);
	wire_decoder_init(&t->dec);
	msgpack_sbuffer_init(&t->sb);
	msgpack_sbuffer_init(&t->aux);
	msgpack_sbuffer_init(&t->hdr);
	*state = t;
	return (0);
}

static int
teardown(void **state)
{
	struct wt	*t = *state;

	wire_decoder_free(&t->dec);
	msgpack_sbuffer_destroy(&t->sb);
	msgpack_sbuffer_destroy(&t->aux);
	msgpack_sbuffer_destroy(&t->hdr);
	free(t->copy);
	free(t);
	return (0);
}

/*
 * Checks and decodes len bytes at p from an exact-size copy. wire_check and
 * wire_decode must agree: what the check lets through, msgpack-c decodes.
 */
static int
decode(struct wt *t, const void *p, size_t len)
{
	const char	*cwhy = NULL;
	int		 crc, rc;

	free(t->copy);
	assert_non_null(t->copy = malloc(len > 0 ? len : 1));
	if (len > 0)
		memcpy(t->copy, p, len);
	t->copylen = len;
	crc = wire_check(t->copy, len, &cwhy);
	t->why = NULL;
	rc = wire_decode(&t->dec, t->copy, len, &t->root, &t->why);
	assert_int_equal(rc, crc);
	if (rc == -1) {
		assert_non_null(t->why);
		assert_true(t->why[0] != '\0');
		assert_non_null(cwhy);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(t->root.type, MSGPACK_OBJECT_MAP);
	}
	return (rc);
}

/* Request building: a request is a list of key/value fields. */
enum vt {
	VT_NONE,	/* as an override: remove the key */
	VT_NIL,
	VT_TRUE,
	VT_UINT,
	VT_INT,
	VT_DBL,
	VT_FLT,
	VT_STR,
	VT_BIN,
	VT_REP,		/* str of len copies of the byte u */
	VT_FN
};

struct val {
	enum vt		  t;
	uint64_t	  u;
	int64_t		  i;
	double		  d;
	const char	 *s;
	size_t		  len;
	void		(*fn)(msgpack_packer *);
};

struct field {
	const char	*key;
	struct val	 v;
};

#define NONE	{ .t = VT_NONE }
#define NIL	{ .t = VT_NIL }
#define TRUE_	{ .t = VT_TRUE }
#define U(x)	{ .t = VT_UINT, .u = (x) }
#define I(x)	{ .t = VT_INT, .i = (x) }
#define D(x)	{ .t = VT_DBL, .d = (x) }
#define F(x)	{ .t = VT_FLT, .d = (x) }
#define S(x)	{ .t = VT_STR, .s = (x), .len = sizeof(x) - 1 }
#define B(x)	{ .t = VT_BIN, .s = (x), .len = sizeof(x) - 1 }
#define REP(c, n) { .t = VT_REP, .u = (c), .len = (n) }
#define FN(f)	{ .t = VT_FN, .fn = (f) }
#define END	{ NULL, NONE }

static void
pack_key(msgpack_packer *pk, const char *k)
{
	assert_int_equal(wire_pack_cstr(pk, k), 0);
}

static void
pack_rep(msgpack_packer *pk, char c, size_t n)
{
	assert_int_equal(msgpack_pack_str(pk, n), 0);
	while (n-- > 0)
		assert_int_equal(msgpack_pack_str_body(pk, &c, 1), 0);
}

static void
pack_val(msgpack_packer *pk, const struct val *v)
{
	switch (v->t) {
	case VT_NONE:
		fail_msg("VT_NONE packed");
		break;
	case VT_NIL:
		msgpack_pack_nil(pk);
		break;
	case VT_TRUE:
		msgpack_pack_true(pk);
		break;
	case VT_UINT:
		msgpack_pack_uint64(pk, v->u);
		break;
	case VT_INT:
		msgpack_pack_int64(pk, v->i);
		break;
	case VT_DBL:
		msgpack_pack_double(pk, v->d);
		break;
	case VT_FLT:
		msgpack_pack_float(pk, (float)v->d);
		break;
	case VT_STR:
		assert_int_equal(wire_pack_str(pk, v->s, v->len), 0);
		break;
	case VT_BIN:
		msgpack_pack_bin(pk, v->len);
		if (v->len > 0)
			msgpack_pack_bin_body(pk, v->s, v->len);
		break;
	case VT_REP:
		pack_rep(pk, (char)v->u, v->len);
		break;
	case VT_FN:
		v->fn(pk);
		break;
	}
}

/* Packs base into sb as one map; over replaces (or removes) its key. */
static void
build(msgpack_sbuffer *sb, const struct field *base, const struct field *over)
{
	msgpack_packer	pk;
	size_t		i, n = 0;

	for (i = 0; base[i].key != NULL; i++) {
		if (over == NULL || strcmp(base[i].key, over->key) != 0)
			n++;
	}
	if (over != NULL && over->v.t != VT_NONE)
		n++;
	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	assert_int_equal(msgpack_pack_map(&pk, n), 0);
	for (i = 0; base[i].key != NULL; i++) {
		if (over != NULL && strcmp(base[i].key, over->key) == 0)
			continue;
		pack_key(&pk, base[i].key);
		pack_val(&pk, &base[i].v);
	}
	if (over != NULL && over->v.t != VT_NONE) {
		pack_key(&pk, over->key);
		pack_val(&pk, &over->v);
	}
}

/* Parses a decoded map; req starts as garbage to show it is reset. */
static enum wire_code
parse_root(struct wt *t)
{
	enum wire_code	code;

	memset(&t->req, 0x5a, sizeof(t->req));
	t->why = NULL;
	code = wire_parse_req(&t->root, &t->req, &t->why);
	if (code != WIRE_OK) {
		assert_non_null(t->why);
		assert_true(t->why[0] != '\0');
	}
	return (code);
}

static enum wire_code
parse(struct wt *t, const struct field *base, const struct field *over)
{
	build(&t->sb, base, over);
	assert_int_equal(decode(t, t->sb.data, t->sb.size), 0);
	return (parse_root(t));
}

static enum wire_code
parse_bytes(struct wt *t, const void *p, size_t len)
{
	assert_int_equal(decode(t, p, len), 0);
	return (parse_root(t));
}

/* A present wire_str equal to want, pointing into the decoded body. */
static void
expect_wstr(const struct wt *t, const struct wire_str *s, const char *want)
{
	assert_non_null(s->ptr);
	assert_int_equal(s->len, strlen(want));
	if (s->len > 0) {
		assert_memory_equal(s->ptr, want, s->len);
		assert_true(s->ptr >= t->copy &&
		    s->ptr + s->len <= t->copy + t->copylen);
	}
}

static void
expect_absent_wstr(const struct wire_str *s)
{
	assert_null(s->ptr);
	assert_int_equal(s->len, 0);
}

/* Checks on decoded maps. */
static const msgpack_object *
field(const msgpack_object *map, const char *key)
{
	const msgpack_object	*v = wire_map_get(map, key);

	if (v == NULL)
		fail_msg("key \"%s\" missing", key);
	return (v);
}

static void
expect_bytes(const msgpack_object *map, const char *key,
    msgpack_object_type type, const void *want, size_t len)
{
	const msgpack_object	*v = field(map, key);

	assert_int_equal(v->type, type);
	if (type == MSGPACK_OBJECT_STR) {
		assert_int_equal(v->via.str.size, len);
		if (len > 0)
			assert_memory_equal(v->via.str.ptr, want, len);
	} else {
		assert_int_equal(v->via.bin.size, len);
		if (len > 0)
			assert_memory_equal(v->via.bin.ptr, want, len);
	}
}

static void
expect_str(const msgpack_object *map, const char *key, const char *want)
{
	expect_bytes(map, key, MSGPACK_OBJECT_STR, want, strlen(want));
}

static void
expect_uint(const msgpack_object *map, const char *key, uint64_t want)
{
	const msgpack_object	*v = field(map, key);

	assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(v->via.u64, want);
}

static void
expect_int(const msgpack_object *map, const char *key, int64_t want)
{
	const msgpack_object	*v = field(map, key);

	if (want >= 0) {
		assert_int_equal(v->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
		assert_int_equal(v->via.u64, (uint64_t)want);
	} else {
		assert_int_equal(v->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
		assert_true(v->via.i64 == want);
	}
}

/* The map holds exactly these str keys, each once. */
static void
expect_keys(const msgpack_object *map, const char *const *keys, size_t n)
{
	const msgpack_object_kv	*kv;
	size_t			 i, j, found;

	assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(map->via.map.size, n);
	for (i = 0; i < n; i++) {
		found = 0;
		for (j = 0; j < map->via.map.size; j++) {
			kv = &map->via.map.ptr[j];
			assert_int_equal(kv->key.type, MSGPACK_OBJECT_STR);
			if (kv->key.via.str.size == strlen(keys[i]) &&
			    memcmp(kv->key.via.str.ptr, keys[i],
			    kv->key.via.str.size) == 0)
				found++;
		}
		if (found != 1)
			fail_msg("key \"%s\" found %zu times", keys[i], found);
	}
}

/* Decodes the frame at p (avail bytes); returns the bytes it took. */
static size_t
decode_frame(struct wt *t, const char *p, size_t avail)
{
	uint32_t	len;

	assert_true(avail >= WIRE_HDR_LEN);
	len = wire_frame_len((const unsigned char *)p);
	assert_true(len >= 1);
	assert_true((size_t)len <= avail - WIRE_HDR_LEN);
	assert_int_equal(decode(t, p + WIRE_HDR_LEN, len), 0);
	return (WIRE_HDR_LEN + (size_t)len);
}

/* Decodes sb as exactly one frame. */
static const msgpack_object *
decode_only_frame(struct wt *t, const msgpack_sbuffer *sb)
{
	assert_int_equal(decode_frame(t, sb->data, sb->size), sb->size);
	return (&t->root);
}

/* Framing */

static void
test_wire_frame_len_round_trips_big_endian(void **state)
{
	const uint32_t	lens[] = {
		0, 1, 0xff, 0x100, 0xffff, 0x10000, 0x01020304,
		WIRE_MAX_FRAME_DEFAULT, 0x7fffffff, 0x80000000, 0xfffffffe,
		0xffffffff
	};
	unsigned char	hdr[WIRE_HDR_LEN];
	size_t		i;

	(void)state;
	for (i = 0; i < nitems(lens); i++) {
		wire_put_len(hdr, lens[i]);
		assert_int_equal(wire_frame_len(hdr), lens[i]);
		assert_int_equal(hdr[0], lens[i] >> 24);
		assert_int_equal(hdr[1], (lens[i] >> 16) & 0xff);
		assert_int_equal(hdr[2], (lens[i] >> 8) & 0xff);
		assert_int_equal(hdr[3], lens[i] & 0xff);
	}
	wire_put_len(hdr, 0x01020304);
	assert_memory_equal(hdr, "\x01\x02\x03\x04", 4);
	wire_put_len(hdr, 1);
	assert_memory_equal(hdr, "\x00\x00\x00\x01", 4);
	wire_put_len(hdr, 0);
	assert_memory_equal(hdr, "\x00\x00\x00\x00", 4);
	wire_put_len(hdr, 0xffffffff);
	assert_memory_equal(hdr, "\xff\xff\xff\xff", 4);
	assert_int_equal(wire_frame_len(
	    (const unsigned char *)"\x00\x10\x00\x00"), WIRE_MAX_FRAME_DEFAULT);
	assert_int_equal(wire_frame_len(
	    (const unsigned char *)"\x80\x00\x00\x01"), 0x80000001);
}

/* Structural check and decode */

static void
test_wire_decode_accepts_one_map_in_each_map_form(void **state)
{
	struct wt		*t = *state;
	static const unsigned char fix[] = {
		0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'
	};
	static const unsigned char m16[] = {
		0xde, 0x00, 0x01, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'
	};
	static const unsigned char m32[] = {
		0xdf, 0x00, 0x00, 0x00, 0x01, 0xa2, 'o', 'p',
		0xa4, 'p', 'i', 'n', 'g'
	};
	static const unsigned char empties[][5] = {
		{ 0x80 }, { 0xde, 0, 0 }, { 0xdf, 0, 0, 0, 0 }
	};
	static const size_t	 emptylen[] = { 1, 3, 5 };
	const unsigned char	*forms[] = { fix, m16, m32 };
	const size_t		 lens[] = { sizeof(fix), sizeof(m16),
				    sizeof(m32) };
	size_t			 i;

	for (i = 0; i < nitems(forms); i++) {
		assert_int_equal(decode(t, forms[i], lens[i]), 0);
		assert_int_equal(t->root.via.map.size, 1);
		expect_str(&t->root, "op", "ping");
		/* Strings are borrowed from the frame, not copied. */
		assert_true(field(&t->root, "op")->via.str.ptr ==
		    t->copy + lens[i] - 4);
		assert_int_equal(parse_root(t), WIRE_OK);
		assert_int_equal(t->req.op, WIRE_OP_PING);
	}
	for (i = 0; i < nitems(empties); i++) {
		assert_int_equal(decode(t, empties[i], emptylen[i]), 0);
		assert_int_equal(t->root.via.map.size, 0);
	}
}

static void
test_wire_empty_body_is_bad_frame(void **state)
{
	struct wt	*t = *state;
	const char	*why = NULL;

	assert_int_equal(decode(t, "", 0), -1);
	assert_int_equal(wire_check("\x80", 0, &why), -1);
	assert_non_null(why);
}

static void
test_wire_non_map_top_level_is_bad_frame(void **state)
{
	struct wt		*t = *state;
	static const struct {
		const char	*bytes;
		size_t		 len;
	} bodies[] = {
		{ "\x90", 1 },			/* [] */
		{ "\x91\x01", 2 },		/* [1] */
		{ "\xdc\x00\x00", 3 },		/* array16 [] */
		{ "\xdd\x00\x00\x00\x00", 5 },	/* array32 [] */
		{ "\x05", 1 },			/* 5 */
		{ "\xe0", 1 },			/* -32 */
		{ "\xcc\xff", 2 },		/* uint8 */
		{ "\xd3\x00\x00\x00\x00\x00\x00\x00\x01", 9 },
		{ "\xa1" "a", 2 },		/* "a" */
		{ "\xa0", 1 },			/* "" */
		{ "\xd9\x01" "a", 3 },		/* str8 */
		{ "\xc4\x01" "a", 3 },		/* bin8 */
		{ "\xc0", 1 },			/* nil */
		{ "\xc2", 1 },			/* false */
		{ "\xc3", 1 },			/* true */
		{ "\xca\x00\x00\x00\x00", 5 },	/* float32 */
		{ "\xd4\x01\x00", 3 },		/* fixext1 */
		{ "\xc1", 1 },			/* never used */
		/* A map after a leading scalar is not "one map" either. */
		{ "\xc0\x80", 2 },
	};
	size_t			 i;

	for (i = 0; i < nitems(bodies); i++) {
		if (decode(t, bodies[i].bytes, bodies[i].len) != -1)
			fail_msg("body %zu accepted", i);
	}
}

static void
test_wire_trailing_bytes_is_bad_frame(void **state)
{
	struct wt	*t = *state;

	assert_int_equal(decode(t, "\x80", 1), 0);
	assert_int_equal(decode(t, "\x80\x00", 2), -1);
	assert_non_null(strstr(t->why, "trailing"));
	assert_int_equal(decode(t, "\x80\xc0", 2), -1);
	/* Two maps in one frame. */
	assert_int_equal(decode(t, "\x80\x80", 2), -1);
	assert_int_equal(decode(t, "\x81\xa1" "a\x01\x81\xa1" "a\x01", 8), -1);
	/* A map that ends before its last announced byte string. */
	assert_int_equal(decode(t, "\x81\xa1" "a\xa2" "bc" "d", 7), -1);
	assert_int_equal(decode(t, "\x81\xa1" "a\xa2" "bc", 6), 0);
}

/* A request using many msgpack forms, so cuts fall inside each. */
static void
pack_kitchen_sink(msgpack_packer *pk)
{
	static const char	ext16[16] = "0123456789abcdef";
	size_t			i;

	assert_int_equal(msgpack_pack_map(pk, 14), 0);
	pack_key(pk, "op");
	pack_key(pk, "pub");
	pack_key(pk, "id");
	msgpack_pack_uint64(pk, 0x1122334455667788ULL);
	pack_key(pk, "to");
	pack_key(pk, "internal");
	pack_key(pk, "pri");
	msgpack_pack_double(pk, 0.5);
	pack_key(pk, "body");
	msgpack_pack_bin(pk, 300);
	for (i = 0; i < 300; i++)
		msgpack_pack_bin_body(pk, "\xab", 1);
	pack_key(pk, "hdr");
	msgpack_pack_map(pk, 2);
	pack_key(pk, "corr");
	pack_key(pk, "c-1");
	pack_key(pk, "traceparent");
	pack_rep(pk, 't', 55);
	pack_key(pk, "x-f32");
	msgpack_pack_float(pk, 1.5f);
	pack_key(pk, "x-neg");
	msgpack_pack_int64(pk, -1000000);
	pack_key(pk, "x-u16");
	msgpack_pack_uint16(pk, 0x1234);
	pack_key(pk, "x-s16");
	pack_rep(pk, 's', 300);
	pack_key(pk, "x-a16");
	msgpack_pack_array(pk, 20);
	for (i = 0; i < 20; i++)
		msgpack_pack_nil(pk);
	pack_key(pk, "x-ext");
	msgpack_pack_ext(pk, 16, 7);
	msgpack_pack_ext_body(pk, ext16, 16);
	pack_key(pk, "x-e8");
	msgpack_pack_ext(pk, 3, -2);
	msgpack_pack_ext_body(pk, "xyz", 3);
	pack_key(pk, "x-m");
	msgpack_pack_map(pk, 1);
	msgpack_pack_array(pk, 1);
	msgpack_pack_true(pk);
	msgpack_pack_false(pk);
}

static void
test_wire_truncated_msgpack_is_bad_frame_at_every_cut(void **state)
{
	struct wt	*t = *state;
	msgpack_packer	 pk;
	size_t		 cut, len;
	char		*full;

	msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
	pack_kitchen_sink(&pk);
	len = t->sb.size;
	assert_true(len > 700);
	assert_non_null(full = malloc(len));
	memcpy(full, t->sb.data, len);

	assert_int_equal(decode(t, full, len), 0);
	assert_int_equal(parse_root(t), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_PUB);
	assert_int_equal(t->req.body.len, 300);
	for (cut = 0; cut < len; cut++) {
		if (decode(t, full, cut) != -1)
			fail_msg("prefix of %zu of %zu bytes accepted", cut,
			    len);
	}
	free(full);
}

static void
test_wire_byte_c1_is_bad_frame(void **state)
{
	struct wt	*t = *state;

	assert_int_equal(decode(t, "\x81\xa1" "a\xc1", 4), -1);	/* value */
	assert_int_equal(decode(t, "\x81\xc1\x01", 3), -1);	/* key */
	assert_int_equal(decode(t, "\x81\xa1" "a\x92\x01\xc1", 6), -1);
	assert_int_equal(decode(t, "\xc1\x80", 2), -1);
	/* The same maps with a valid byte instead are fine. */
	assert_int_equal(decode(t, "\x81\xa1" "a\xc0", 4), 0);
	assert_int_equal(decode(t, "\x81\xa1" "a\x92\x01\xc0", 6), 0);
}

/*
 * A map whose "a" chain holds levels containers in all (the top map
 * included), the innermost holding the int 1: {"a": [[...[1]...]]}.
 */
static size_t
nest_arrays(unsigned char *buf, size_t levels)
{
	size_t	n = 0, i;

	buf[n++] = 0x81;
	buf[n++] = 0xa1;
	buf[n++] = 'a';
	for (i = 1; i < levels; i++)
		buf[n++] = 0x91;
	buf[n++] = 0x01;
	return (n);
}

/* {"a": {"a": ... {"a": 1}}} with levels maps. */
static size_t
nest_maps(unsigned char *buf, size_t levels)
{
	size_t	n = 0, i;

	for (i = 0; i < levels; i++) {
		buf[n++] = 0x81;
		buf[n++] = 0xa1;
		buf[n++] = 'a';
	}
	buf[n++] = 0x01;
	return (n);
}

static void
test_wire_max_depth_accepted_one_deeper_is_bad_frame(void **state)
{
	struct wt		*t = *state;
	unsigned char		 buf[4 * 1100];
	const msgpack_object	*o;
	size_t			 n, d;

	/* WIRE_MAX_DEPTH containers, the top map being the first. */
	n = nest_arrays(buf, WIRE_MAX_DEPTH);
	assert_int_equal(decode(t, buf, n), 0);
	o = field(&t->root, "a");
	for (d = 2; d < WIRE_MAX_DEPTH; d++) {
		assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(o->via.array.size, 1);
		o = &o->via.array.ptr[0];
	}
	assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o->via.array.ptr[0].type,
	    MSGPACK_OBJECT_POSITIVE_INTEGER);

	n = nest_arrays(buf, WIRE_MAX_DEPTH + 1);
	assert_int_equal(decode(t, buf, n), -1);
	assert_non_null(strstr(t->why, "deep"));

	n = nest_maps(buf, WIRE_MAX_DEPTH);
	assert_int_equal(decode(t, buf, n), 0);
	n = nest_maps(buf, WIRE_MAX_DEPTH + 1);
	assert_int_equal(decode(t, buf, n), -1);
	assert_non_null(strstr(t->why, "deep"));

	/* Far deeper than msgpack-c's own stack: still just bad_frame. */
	n = nest_arrays(buf, 4000);
	assert_int_equal(decode(t, buf, n), -1);
	n = nest_maps(buf, 1000);
	assert_int_equal(decode(t, buf, n), -1);
}

/*
 * wire.h: "nested at most WIRE_MAX_DEPTH deep". An empty container is a
 * level of nesting too: {"a": [[...[]...]]} with WIRE_MAX_DEPTH + 1
 * containers is one level too deep, however empty the innermost.
 */
static void
test_wire_empty_container_past_max_depth_is_bad_frame(void **state)
{
	struct wt	*t = *state;
	unsigned char	 buf[128];
	size_t		 n;

	/* WIRE_MAX_DEPTH containers, the innermost empty: fine. */
	n = nest_arrays(buf, WIRE_MAX_DEPTH);
	buf[n - 2] = 0x90;
	assert_int_equal(decode(t, buf, n - 1), 0);
	n = nest_maps(buf, WIRE_MAX_DEPTH - 1);
	buf[n - 1] = 0x80;
	assert_int_equal(decode(t, buf, n), 0);

	/* One more: the innermost empty array is nested too deep. */
	n = nest_arrays(buf, WIRE_MAX_DEPTH + 1);
	buf[n - 2] = 0x90;
	assert_int_equal(decode(t, buf, n - 1), -1);
	n = nest_maps(buf, WIRE_MAX_DEPTH);
	buf[n - 1] = 0x80;
	assert_int_equal(decode(t, buf, n), -1);
}

/* Under ASan, an attempt to allocate for the claimed counts would abort. */
static void
test_wire_map32_claiming_4g_pairs_is_bad_frame(void **state)
{
	struct wt	*t = *state;

	assert_int_equal(decode(t, "\xdf\xff\xff\xff\xff\xa1" "a\x01", 8), -1);
	assert_int_equal(decode(t, "\xdf\xff\xff\xff\xff", 5), -1);
	assert_int_equal(decode(t, "\xdf\x80\x00\x00\x00\xa1" "a\x01", 8), -1);
	assert_int_equal(decode(t, "\xde\xff\xff\xa1" "a\x01", 6), -1);
	/* Nested, too. */
	assert_int_equal(decode(t, "\x81\xa1" "a\xdf\xff\xff\xff\xff\x01", 8),
	    -1);
	/* One pair more than the bytes could hold. */
	assert_int_equal(decode(t, "\x82\xa1" "a\x01", 4), -1);
}

static void
test_wire_array32_claiming_2g_elements_is_bad_frame(void **state)
{
	struct wt	*t = *state;
	static const char body[] = "\x81\xa5" "kinds" "\xdd\x80\x00\x00\x00"
	    "\xa1" "a";
	static const char ok[] = "\x81\xa5" "kinds" "\xdd\x00\x00\x00\x01"
	    "\xa1" "a";

	assert_int_equal(decode(t, body, sizeof(body) - 1), -1);
	assert_int_equal(decode(t, ok, sizeof(ok) - 1), 0);
	assert_int_equal(field(&t->root, "kinds")->via.array.size, 1);
	assert_int_equal(decode(t, "\x81\xa1" "a\xdd\xff\xff\xff\xff", 8),
	    -1);
	assert_int_equal(decode(t, "\x81\xa1" "a\xdc\xff\xff\xc0", 7), -1);
}

static void
test_wire_str32_claiming_4g_is_bad_frame(void **state)
{
	struct wt	*t = *state;
	static const char str[] = "\x81\xa4" "body" "\xdb\xff\xff\xff\xff"
	    "abc";
	static const char bin[] = "\x81\xa4" "body" "\xc6\xff\xff\xff\xff"
	    "abc";
	static const char ext[] = "\x81\xa4" "body" "\xc9\xff\xff\xff\xff\x01"
	    "abc";
	static const char exact[] = "\x81\xa4" "body" "\xdb\x00\x00\x00\x03"
	    "abc";
	static const char over1[] = "\x81\xa4" "body" "\xdb\x00\x00\x00\x04"
	    "abc";

	assert_int_equal(decode(t, str, sizeof(str) - 1), -1);
	assert_int_equal(decode(t, bin, sizeof(bin) - 1), -1);
	assert_int_equal(decode(t, ext, sizeof(ext) - 1), -1);
	assert_int_equal(decode(t, over1, sizeof(over1) - 1), -1);
	assert_int_equal(decode(t, exact, sizeof(exact) - 1), 0);
	expect_str(&t->root, "body", "abc");
	/* A str32 key claiming 4 GiB. */
	assert_int_equal(decode(t, "\x81\xdb\xff\xff\xff\xff" "a\x01", 8), -1);
}

static void
test_wire_ext_and_fixext_are_accepted(void **state)
{
	struct wt		*t = *state;
	static const unsigned char body[] = {
		0x8a,
		0xa1, 'a', 0xd4, 0x01, 0x11,
		0xa1, 'b', 0xd5, 0x02, 0x11, 0x22,
		0xa1, 'c', 0xd6, 0x03, 1, 2, 3, 4,
		0xa1, 'd', 0xd7, 0x04, 1, 2, 3, 4, 5, 6, 7, 8,
		0xa1, 'e', 0xd8, 0x05, 1, 2, 3, 4, 5, 6, 7, 8,
		9, 10, 11, 12, 13, 14, 15, 16,
		0xa1, 'f', 0xc7, 0x03, 0x06, 'x', 'y', 'z',
		0xa1, 'g', 0xc8, 0x00, 0x02, 0x07, 'x', 'y',
		0xa1, 'h', 0xc9, 0x00, 0x00, 0x00, 0x01, 0x08, 'x',
		0xa1, 'i', 0xc7, 0x00, 0x09,
		0xa1, 'j', 0xd6, 0xff, 0, 0, 0, 0	/* timestamp 32 */
	};
	static const struct {
		const char	*key;
		int8_t		 type;
		uint32_t	 size;
	} want[] = {
		{ "a", 1, 1 }, { "b", 2, 2 }, { "c", 3, 4 }, { "d", 4, 8 },
		{ "e", 5, 16 }, { "f", 6, 3 }, { "g", 7, 2 }, { "h", 8, 1 },
		{ "i", 9, 0 }, { "j", -1, 4 }
	};
	const msgpack_object	*v;
	size_t			 i;

	assert_int_equal(decode(t, body, sizeof(body)), 0);
	assert_int_equal(t->root.via.map.size, nitems(want));
	for (i = 0; i < nitems(want); i++) {
		v = field(&t->root, want[i].key);
		assert_int_equal(v->type, MSGPACK_OBJECT_EXT);
		assert_int_equal(v->via.ext.type, want[i].type);
		assert_int_equal(v->via.ext.size, want[i].size);
	}
	v = field(&t->root, "f");
	assert_memory_equal(v->via.ext.ptr, "xyz", 3);
	/* A fixext cut one byte short is truncated. */
	assert_int_equal(decode(t, "\x81\xa1" "a\xd5\x02\x11", 6), -1);
	assert_int_equal(decode(t, "\x81\xa1" "a\xc7\x02\x06" "x", 7), -1);
}

static void
test_wire_every_msgpack_type_is_accepted_as_a_value(void **state)
{
	struct wt		*t = *state;
	msgpack_packer		 pk;
	static const msgpack_object_type types[] = {
		MSGPACK_OBJECT_NIL, MSGPACK_OBJECT_BOOLEAN,
		MSGPACK_OBJECT_BOOLEAN, MSGPACK_OBJECT_POSITIVE_INTEGER,
		MSGPACK_OBJECT_POSITIVE_INTEGER,
		MSGPACK_OBJECT_POSITIVE_INTEGER,
		MSGPACK_OBJECT_POSITIVE_INTEGER,
		MSGPACK_OBJECT_NEGATIVE_INTEGER,
		MSGPACK_OBJECT_NEGATIVE_INTEGER,
		MSGPACK_OBJECT_NEGATIVE_INTEGER,
		MSGPACK_OBJECT_NEGATIVE_INTEGER, MSGPACK_OBJECT_FLOAT32,
		MSGPACK_OBJECT_FLOAT64, MSGPACK_OBJECT_STR, MSGPACK_OBJECT_STR,
		MSGPACK_OBJECT_STR, MSGPACK_OBJECT_BIN, MSGPACK_OBJECT_BIN,
		MSGPACK_OBJECT_BIN, MSGPACK_OBJECT_ARRAY, MSGPACK_OBJECT_MAP
	};
	char			 key[24];
	size_t			 i;

	msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, nitems(types));
	for (i = 0; i < nitems(types); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		pack_key(&pk, key);
		switch (i) {
		case 0: msgpack_pack_nil(&pk); break;
		case 1: msgpack_pack_true(&pk); break;
		case 2: msgpack_pack_false(&pk); break;
		case 3: msgpack_pack_uint8(&pk, 200); break;
		case 4: msgpack_pack_uint16(&pk, 60000); break;
		case 5: msgpack_pack_uint32(&pk, 4000000000U); break;
		case 6: msgpack_pack_uint64(&pk, UINT64_MAX); break;
		case 7: msgpack_pack_int8(&pk, -100); break;
		case 8: msgpack_pack_int16(&pk, -30000); break;
		case 9: msgpack_pack_int32(&pk, -2000000000); break;
		case 10: msgpack_pack_int64(&pk, INT64_MIN); break;
		case 11: msgpack_pack_float(&pk, 0.25f); break;
		case 12: msgpack_pack_double(&pk, 0.125); break;
		case 13: pack_rep(&pk, 'a', 200); break;	/* str8 */
		case 14: pack_rep(&pk, 'b', 300); break;	/* str16 */
		case 15: pack_rep(&pk, 'c', 70000); break;	/* str32 */
		case 16: case 17: case 18: {
			size_t	n = i == 16 ? 200 : i == 17 ? 300 : 70000;

			msgpack_pack_bin(&pk, n);
			while (n-- > 0)
				msgpack_pack_bin_body(&pk, "\0", 1);
			break;
		}
		case 19:
			msgpack_pack_array(&pk, 70000);	/* array32 */
			for (size_t j = 0; j < 70000; j++)
				msgpack_pack_nil(&pk);
			break;
		case 20:
			msgpack_pack_map(&pk, 20);	/* map16 */
			for (size_t j = 0; j < 20; j++) {
				msgpack_pack_uint8(&pk, (uint8_t)j);
				msgpack_pack_nil(&pk);
			}
			break;
		}
	}
	assert_int_equal(decode(t, t->sb.data, t->sb.size), 0);
	for (i = 0; i < nitems(types); i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_int_equal(field(&t->root, key)->type, types[i]);
	}
	assert_int_equal(field(&t->root, "k6")->via.u64, UINT64_MAX);
	assert_true(field(&t->root, "k10")->via.i64 == INT64_MIN);
	assert_int_equal(field(&t->root, "k15")->via.str.size, 70000);
	assert_int_equal(field(&t->root, "k18")->via.bin.size, 70000);
	assert_int_equal(field(&t->root, "k19")->via.array.size, 70000);
}

/*
 * Every single-byte change of a valid request: the check and msgpack-c
 * agree (decode() asserts it) and nothing reads out of bounds.
 */
static void
test_wire_check_and_decode_agree_on_every_one_byte_mutation(void **state)
{
	struct wt	*t = *state;
	msgpack_packer	 pk;
	char		*buf;
	size_t		 len, i;
	unsigned	 b, accepted = 0;

	msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
	pack_kitchen_sink(&pk);
	len = t->sb.size;
	assert_non_null(buf = malloc(len));
	memcpy(buf, t->sb.data, len);
	for (i = 0; i < len; i++) {
		char	orig = buf[i];

		for (b = 0; b < 256; b++) {
			buf[i] = (char)b;
			if (decode(t, buf, len) == 0)
				accepted++;
		}
		buf[i] = orig;
	}
	/* Changing a byte inside a str or bin keeps the body valid. */
	assert_true(accepted > 0);
	free(buf);
}

/* Many decodes through one decoder, some large enough to grow its zone. */
static void
test_wire_decoder_reused_for_10000_frames(void **state)
{
	struct wt	*t = *state;
	msgpack_packer	 pk;
	size_t		 i, j, pairs;

	msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
	for (i = 0; i < 10000; i++) {
		pairs = i % 100 == 0 ? 2000 : 2 + i % 5;
		msgpack_sbuffer_clear(&t->sb);
		msgpack_pack_map(&pk, pairs);
		pack_key(&pk, "op");
		pack_key(&pk, "ping");
		pack_key(&pk, "id");
		msgpack_pack_uint64(&pk, i);
		for (j = 2; j < pairs; j++) {
			char	key[16];

			snprintf(key, sizeof(key), "k%u", (unsigned)j);
			pack_key(&pk, key);
			msgpack_pack_array(&pk, 1);
			msgpack_pack_nil(&pk);
		}
		if (i % 7 == 3) {
			/* A bad frame in between leaves the decoder usable. */
			assert_int_equal(decode(t, t->sb.data, t->sb.size - 1),
			    -1);
		}
		assert_int_equal(decode(t, t->sb.data, t->sb.size), 0);
		assert_int_equal(t->root.via.map.size, pairs);
		assert_int_equal(parse_root(t), WIRE_OK);
		assert_int_equal(t->req.op, WIRE_OP_PING);
		assert_true(t->req.has_id);
		assert_int_equal(t->req.id, i);
	}
}

static void
test_wire_map_get_finds_str_keys_only(void **state)
{
	struct wt		*t = *state;
	static const char	 body[] = "\x84\xa1" "a\x01\xa2" "ab\x02"
	    "\x01\x03"
	    "\xc4\x01" "b\x04";
	msgpack_object		 notmap;

	assert_int_equal(decode(t, body, sizeof(body) - 1), 0);
	expect_uint(&t->root, "a", 1);
	expect_uint(&t->root, "ab", 2);
	/* Neither the int key 1 nor the bin key "b" is a str key. */
	assert_null(wire_map_get(&t->root, "b"));
	assert_null(wire_map_get(&t->root, ""));
	assert_null(wire_map_get(&t->root, "abc"));
	assert_null(wire_map_get(NULL, "a"));
	notmap.type = MSGPACK_OBJECT_NIL;
	assert_null(wire_map_get(&notmap, "a"));
}

/* Stream reading: split or coalesced at any byte */

struct reader {
	char		buf[2048];
	size_t		len;
	size_t		nframes;
	uint64_t	ids[8];
	enum wire_op	ops[8];
};

/* What a connection does with bytes it read: frames out as they complete. */
static void
reader_feed(struct wt *t, struct reader *r, const char *p, size_t n)
{
	uint32_t	len;

	assert_true(r->len + n <= sizeof(r->buf));
	if (n > 0)
		memcpy(r->buf + r->len, p, n);
	r->len += n;
	while (r->len >= WIRE_HDR_LEN) {
		len = wire_frame_len((const unsigned char *)r->buf);
		assert_true(len >= 1 && len <= WIRE_MAX_FRAME_DEFAULT);
		if (r->len - WIRE_HDR_LEN < len)
			break;
		assert_int_equal(decode(t, r->buf + WIRE_HDR_LEN, len), 0);
		assert_int_equal(parse_root(t), WIRE_OK);
		assert_true(r->nframes < nitems(r->ids));
		assert_true(t->req.has_id);
		r->ids[r->nframes] = t->req.id;
		r->ops[r->nframes++] = t->req.op;
		r->len -= WIRE_HDR_LEN + len;
		memmove(r->buf, r->buf + WIRE_HDR_LEN + len, r->len);
	}
}

static void
reader_expect_three(const struct reader *r)
{
	assert_int_equal(r->len, 0);
	assert_int_equal(r->nframes, 3);
	assert_int_equal(r->ids[0], 1);
	assert_int_equal(r->ids[1], 2);
	assert_int_equal(r->ids[2], 3);
	assert_int_equal(r->ops[0], WIRE_OP_PING);
	assert_int_equal(r->ops[1], WIRE_OP_PUB);
	assert_int_equal(r->ops[2], WIRE_OP_REQ);
}

static void
append_frame(char *stream, size_t *len, const msgpack_sbuffer *body)
{
	wire_put_len((unsigned char *)stream + *len, (uint32_t)body->size);
	memcpy(stream + *len + WIRE_HDR_LEN, body->data, body->size);
	*len += WIRE_HDR_LEN + body->size;
}

static void
test_wire_stream_split_at_any_byte_yields_the_three_maps(void **state)
{
	struct wt		*t = *state;
	static const struct field f1[] = {
		{ "op", S("ping") }, { "id", U(1) }, END
	};
	static const struct field f2[] = {
		{ "op", S("pub") }, { "id", U(2) }, { "to", S("internal") },
		{ "body", REP('b', 290) }, END
	};
	static const struct field f3[] = {
		{ "op", S("req") }, { "sid", U(1) }, { "n", U(10) },
		{ "id", U(3) }, END
	};
	const struct field	*frames[] = { f1, f2, f3 };
	char			 stream[1024];
	struct reader		*r;
	size_t			 len = 0, i, a, b;

	for (i = 0; i < nitems(frames); i++) {
		build(&t->sb, frames[i], NULL);
		append_frame(stream, &len, &t->sb);
	}
	/* The pub frame's length needs two bytes of the header. */
	assert_true(wire_frame_len((const unsigned char *)stream +
	    WIRE_HDR_LEN + wire_frame_len((const unsigned char *)stream)) >
	    255);
	assert_non_null(r = calloc(1, sizeof(*r)));

	/* All at once (coalesced). */
	reader_feed(t, r, stream, len);
	reader_expect_three(r);

	/* Two reads, split at every byte. */
	for (a = 0; a <= len; a++) {
		memset(r, 0, sizeof(*r));
		reader_feed(t, r, stream, a);
		reader_feed(t, r, stream + a, len - a);
		reader_expect_three(r);
	}
	/* Three reads, split at every pair of bytes. */
	for (a = 0; a <= len; a++) {
		for (b = a; b <= len; b++) {
			memset(r, 0, sizeof(*r));
			reader_feed(t, r, stream, a);
			reader_feed(t, r, stream + a, b - a);
			reader_feed(t, r, stream + b, len - b);
			reader_expect_three(r);
		}
	}
	/* One byte per read. */
	memset(r, 0, sizeof(*r));
	for (a = 0; a < len; a++)
		reader_feed(t, r, stream + a, 1);
	reader_expect_three(r);
	free(r);
}

/* Requests: field sets */

static void
hdr_n(msgpack_packer *pk, size_t n)
{
	char	key[24];
	size_t	i;

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		pack_key(pk, key);
		pack_key(pk, "v");
	}
}

static void
hdr_32(msgpack_packer *pk)
{
	hdr_n(pk, 32);
}

static void
hdr_33(msgpack_packer *pk)
{
	hdr_n(pk, 33);
}

static void
hdr_empty(msgpack_packer *pk)
{
	hdr_n(pk, 0);
}

static void
hdr_two(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	pack_key(pk, "traceparent");
	pack_key(pk, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	pack_key(pk, "corr");
	pack_key(pk, "c-1");
}

static void
hdr_one_key(msgpack_packer *pk, const char *key)
{
	msgpack_pack_map(pk, 1);
	pack_key(pk, key);
	pack_key(pk, "v");
}

static void
hdr_key_space(msgpack_packer *pk)
{
	hdr_one_key(pk, "a b");
}

static void
hdr_key_slash(msgpack_packer *pk)
{
	hdr_one_key(pk, "a/b");
}

static void
hdr_key_colon(msgpack_packer *pk)
{
	hdr_one_key(pk, "content-type:");
}

static void
hdr_key_empty(msgpack_packer *pk)
{
	hdr_one_key(pk, "");
}

static void
hdr_key_dollar(msgpack_packer *pk)
{
	hdr_one_key(pk, "$k");
}

static void
hdr_key_utf8(msgpack_packer *pk)
{
	hdr_one_key(pk, "cl\xc3\xa9");
}

static void
hdr_key_len(msgpack_packer *pk, size_t n)
{
	msgpack_pack_map(pk, 1);
	pack_rep(pk, 'k', n);
	pack_key(pk, "v");
}

static void
hdr_key_64(msgpack_packer *pk)
{
	hdr_key_len(pk, 64);
}

static void
hdr_key_65(msgpack_packer *pk)
{
	hdr_key_len(pk, 65);
}

static void
hdr_key_int(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	msgpack_pack_uint8(pk, 1);
	pack_key(pk, "v");
}

static void
hdr_key_bin(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	msgpack_pack_bin(pk, 1);
	msgpack_pack_bin_body(pk, "k", 1);
	pack_key(pk, "v");
}

static void
hdr_val_len(msgpack_packer *pk, size_t n)
{
	msgpack_pack_map(pk, 1);
	pack_key(pk, "k");
	pack_rep(pk, 'v', n);
}

static void
hdr_val_1024(msgpack_packer *pk)
{
	hdr_val_len(pk, 1024);
}

static void
hdr_val_1025(msgpack_packer *pk)
{
	hdr_val_len(pk, 1025);
}

static void
hdr_val_int(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	pack_key(pk, "k");
	msgpack_pack_uint8(pk, 1);
}

static void
hdr_val_nil(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	pack_key(pk, "k");
	msgpack_pack_nil(pk);
}

static void
hdr_val_bin(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	pack_key(pk, "k");
	msgpack_pack_bin(pk, 1);
	msgpack_pack_bin_body(pk, "v", 1);
}

static void
hdr_val_map(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	pack_key(pk, "k");
	msgpack_pack_map(pk, 0);
}

static void
arr_empty(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 0);
}

static void
map_empty(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 0);
}

static void
kinds_two(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	pack_key(pk, "msg");
	pack_key(pk, "bframe");
}

static void
kinds_with_int(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	pack_key(pk, "msg");
	msgpack_pack_uint8(pk, 1);
}

static void
kinds_with_nil(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_nil(pk);
}

static void
kinds_with_bin(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_bin(pk, 3);
	msgpack_pack_bin_body(pk, "msg", 3);
}

static void
arr_str(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	pack_key(pk, "internal");
}

/* UTF-8 in hdr values and kinds entries: well-formed, then not. */
static void
hdr_val_utf8(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	pack_key(pk, "reply");
	pack_key(pk, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	pack_key(pk, "k");
	pack_key(pk, "\xef\xbf\xbe");	/* U+FFFE: a noncharacter, valid */
}

static void
hdr_val_bad_utf8(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	pack_key(pk, "ok");
	pack_key(pk, "v");
	pack_key(pk, "k");
	pack_key(pk, "v\xc3\x28");	/* a lead byte, then ASCII */
}

static void
kinds_utf8(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	pack_key(pk, "msg");
	pack_key(pk, "\xe4\xb8\xad");
}

static void
kinds_bad_utf8(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	pack_key(pk, "msg");
	pack_key(pk, "\xed\xa0\x80");	/* a surrogate */
}

/* Minimal requests; each carries id 7 so failures can be answered. */
static const struct field hello_min[] = {
	{ "op", S("hello") }, { "agent", S("agent-1") }, { "id", U(7) }, END
};
static const struct field hello_full[] = {
	{ "op", S("hello") }, { "v", U(1) }, { "agent", S("agent-1") },
	{ "session", S("sess-1") }, { "model", S("model-1") },
	{ "tract", S("internal") }, { "id", U(7) }, END
};
static const struct field pub_min[] = {
	{ "op", S("pub") }, { "to", S("internal") }, { "body", B("x") },
	{ "id", U(7) }, END
};
static const struct field pub_full[] = {
	{ "op", S("pub") }, { "to", S("external") }, { "from", S("internal") },
	{ "kind", S("bframe") }, { "pri", D(0.25) }, { "body", S("hello") },
	{ "pattern", S("p-1") }, { "hdr", FN(hdr_two) }, { "id", U(7) }, END
};
static const struct field sub_min[] = {
	{ "op", S("sub") }, { "sid", U(1) }, { "tract", S("internal") },
	{ "id", U(7) }, END
};
static const struct field sub_full[] = {
	{ "op", S("sub") }, { "sid", U(3) }, { "tract", S("internal") },
	{ "credit", U(10) }, { "overflow", S("drop") },
	{ "max_pending", U(64) }, { "kinds", FN(kinds_two) },
	{ "from_eid", S("1700000000000-0") }, { "id", U(7) }, END
};
static const struct field req_min[] = {
	{ "op", S("req") }, { "sid", U(1) }, { "n", U(5) }, { "id", U(7) }, END
};
static const struct field unsub_min[] = {
	{ "op", S("unsub") }, { "sid", U(9) }, { "id", U(7) }, END
};
static const struct field replay_min[] = {
	{ "op", S("replay") }, { "sid", U(2) }, { "id", U(7) }, END
};
static const struct field replay_full[] = {
	{ "op", S("replay") }, { "sid", U(4) }, { "from", S("1-0") },
	{ "to", S("2-5") }, { "tract", S("external") },
	{ "kinds", FN(kinds_two) }, { "limit", U(100) }, { "credit", U(5) },
	{ "id", U(7) }, END
};
static const struct field ping_min[] = {
	{ "op", S("ping") }, { "id", U(7) }, END
};
static const struct field stats_min[] = {
	{ "op", S("stats") }, END
};
static const struct field conns_min[] = {
	{ "op", S("conns") }, { "id", U(7) }, END
};

/* Requests: accepted */

static void
test_wire_parse_hello_minimal_and_full(void **state)
{
	struct wt	*t = *state;

	assert_int_equal(parse(t, hello_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_HELLO);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 7);
	expect_wstr(t, &t->req.agent, "agent-1");
	expect_absent_wstr(&t->req.session);
	expect_absent_wstr(&t->req.model);
	expect_absent_wstr(&t->req.tract);

	assert_int_equal(parse(t, hello_full, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_HELLO);
	expect_wstr(t, &t->req.agent, "agent-1");
	expect_wstr(t, &t->req.session, "sess-1");
	expect_wstr(t, &t->req.model, "model-1");
	expect_wstr(t, &t->req.tract, "internal");
	assert_int_equal(t->req.id, 7);
}

static void
test_wire_parse_hello_accepts_v1_or_absent_and_rejects_v2(void **state)
{
	struct wt		*t = *state;
	static const struct field v1 = { "v", U(1) }, vnil = { "v", NIL },
	    v2 = { "v", U(2) }, v0 = { "v", U(0) }, vneg = { "v", I(-1) },
	    vstr = { "v", S("1") }, vdbl = { "v", D(1.0) };

	assert_int_equal(parse(t, hello_min, &v1), WIRE_OK);
	assert_int_equal(parse(t, hello_min, NULL), WIRE_OK);
	assert_int_equal(parse(t, hello_min, &vnil), WIRE_OK);
	assert_int_equal(parse(t, hello_min, &v2), WIRE_BAD_REQUEST);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 7);
	assert_int_equal(parse(t, hello_min, &v0), WIRE_BAD_REQUEST);
	assert_int_equal(parse(t, hello_min, &vneg), WIRE_BAD_REQUEST);
	assert_int_equal(parse(t, hello_min, &vstr), WIRE_BAD_REQUEST);
	assert_int_equal(parse(t, hello_min, &vdbl), WIRE_BAD_REQUEST);
}

static void
test_wire_parse_hello_requires_agent(void **state)
{
	struct wt		*t = *state;
	static const struct field none = { "agent", NONE },
	    nil = { "agent", NIL };

	assert_int_equal(parse(t, hello_full, &none), WIRE_BAD_REQUEST);
	assert_int_equal(t->req.op, WIRE_OP_HELLO);
	assert_int_equal(t->req.id, 7);
	assert_int_equal(parse(t, hello_full, &nil), WIRE_BAD_REQUEST);
}

static void
test_wire_parse_pub_minimal_leaves_optional_fields_unset(void **state)
{
	struct wt	*t = *state;

	assert_int_equal(parse(t, pub_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_PUB);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 7);
	expect_wstr(t, &t->req.to, "internal");
	expect_wstr(t, &t->req.body, "x");
	assert_false(t->req.body_is_str);
	expect_absent_wstr(&t->req.from);
	expect_absent_wstr(&t->req.kind);
	expect_absent_wstr(&t->req.pattern);
	assert_false(t->req.has_pri);
	assert_null(t->req.hdr);
	/* Fields of other ops stay zero. */
	assert_false(t->req.has_sid);
	assert_int_equal(t->req.n, 0);
	assert_null(t->req.kinds);
	expect_absent_wstr(&t->req.agent);
}

static void
test_wire_parse_pub_full_fills_every_field(void **state)
{
	struct wt		*t = *state;
	const msgpack_object	*h;

	assert_int_equal(parse(t, pub_full, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_PUB);
	expect_wstr(t, &t->req.to, "external");
	expect_wstr(t, &t->req.from, "internal");
	expect_wstr(t, &t->req.kind, "bframe");
	assert_true(t->req.has_pri);
	assert_true(t->req.pri == 0.25);
	expect_wstr(t, &t->req.body, "hello");
	assert_true(t->req.body_is_str);
	expect_wstr(t, &t->req.pattern, "p-1");
	assert_non_null(h = t->req.hdr);
	assert_ptr_equal(h, wire_map_get(&t->root, "hdr"));
	assert_int_equal(h->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(h->via.map.size, 2);
	expect_str(h, "corr", "c-1");
	expect_str(h, "traceparent",
	    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
	assert_int_equal(t->req.id, 7);
}

static void
test_wire_parse_pub_requires_to_and_body(void **state)
{
	struct wt		*t = *state;
	static const struct field cases[] = {
		{ "to", NONE }, { "to", NIL }, { "body", NONE }, { "body", NIL }
	};
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(parse(t, pub_min, &cases[i]),
		    WIRE_BAD_REQUEST);
		assert_int_equal(t->req.op, WIRE_OP_PUB);
		assert_true(t->req.has_id);
	}
}

static void
test_wire_parse_pub_body_str_sets_body_is_str_bin_does_not(void **state)
{
	struct wt		*t = *state;
	static const struct field str = { "body", S("text \xc3\xa9") },
	    bin = { "body", B("\x00\xff\x01") };

	assert_int_equal(parse(t, pub_min, &str), WIRE_OK);
	assert_true(t->req.body_is_str);
	expect_wstr(t, &t->req.body, "text \xc3\xa9");
	assert_int_equal(parse(t, pub_min, &bin), WIRE_OK);
	assert_false(t->req.body_is_str);
	assert_int_equal(t->req.body.len, 3);
	assert_memory_equal(t->req.body.ptr, "\x00\xff\x01", 3);
}

/*
 * A key sent twice: the last value wins, as for op and id. A str body
 * followed by a bin body is a bin body (else the router would deliver
 * arbitrary bytes as a msgpack str).
 */
static void
test_wire_parse_pub_duplicate_body_last_one_wins(void **state)
{
	struct wt		*t = *state;
	static const struct field str_then_bin[] = {
		{ "op", S("pub") }, { "to", S("internal") },
		{ "body", S("text") }, { "body", B("\xff\xfe") }, END
	};
	static const struct field bin_then_str[] = {
		{ "op", S("pub") }, { "to", S("internal") },
		{ "body", B("\xff\xfe") }, { "body", S("text") }, END
	};

	assert_int_equal(parse(t, bin_then_str, NULL), WIRE_OK);
	expect_wstr(t, &t->req.body, "text");
	assert_true(t->req.body_is_str);

	assert_int_equal(parse(t, str_then_bin, NULL), WIRE_OK);
	assert_int_equal(t->req.body.len, 2);
	assert_memory_equal(t->req.body.ptr, "\xff\xfe", 2);
	assert_false(t->req.body_is_str);
}

static void
test_wire_parse_pub_empty_body_is_accepted(void **state)
{
	struct wt		*t = *state;
	static const struct field bin = { "body", B("") },
	    str = { "body", S("") };

	assert_int_equal(parse(t, pub_min, &bin), WIRE_OK);
	assert_non_null(t->req.body.ptr);
	assert_int_equal(t->req.body.len, 0);
	assert_false(t->req.body_is_str);
	assert_int_equal(parse(t, pub_min, &str), WIRE_OK);
	assert_non_null(t->req.body.ptr);
	assert_int_equal(t->req.body.len, 0);
	assert_true(t->req.body_is_str);
}

static void
test_wire_parse_pub_pri_in_0_to_1_is_accepted(void **state)
{
	struct wt		*t = *state;
	static const struct {
		struct field	f;
		double		want;
	} cases[] = {
		{ { "pri", U(0) }, 0.0 }, { { "pri", U(1) }, 1.0 },
		{ { "pri", D(0.0) }, 0.0 }, { { "pri", D(1.0) }, 1.0 },
		{ { "pri", D(0.5) }, 0.5 }, { { "pri", F(0.75) }, 0.75 },
		{ { "pri", D(4.9e-324) }, 4.9e-324 }
	};
	static const struct field nil = { "pri", NIL };
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(parse(t, pub_min, &cases[i].f), WIRE_OK);
		assert_true(t->req.has_pri);
		assert_true(t->req.pri == cases[i].want);
	}
	assert_int_equal(parse(t, pub_min, &nil), WIRE_OK);
	assert_false(t->req.has_pri);
}

static void
test_wire_parse_pub_hdr_at_its_limits_is_accepted(void **state)
{
	struct wt		*t = *state;
	static const struct field cases[] = {
		{ "hdr", FN(hdr_32) }, { "hdr", FN(hdr_key_64) },
		{ "hdr", FN(hdr_val_1024) }, { "hdr", FN(hdr_empty) },
		{ "hdr", FN(hdr_two) }
	};
	static const uint32_t	 sizes[] = { 32, 1, 1, 0, 2 };
	static const struct field nil = { "hdr", NIL };
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(parse(t, pub_min, &cases[i]), WIRE_OK);
		assert_non_null(t->req.hdr);
		assert_int_equal(t->req.hdr->type, MSGPACK_OBJECT_MAP);
		assert_int_equal(t->req.hdr->via.map.size, sizes[i]);
	}
	assert_int_equal(parse(t, pub_min, &nil), WIRE_OK);
	assert_null(t->req.hdr);
}

static void
test_wire_parse_sub_minimal_and_full(void **state)
{
	struct wt		*t = *state;
	const msgpack_object	*k;

	assert_int_equal(parse(t, sub_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_SUB);
	assert_true(t->req.has_sid);
	assert_int_equal(t->req.sid, 1);
	expect_wstr(t, &t->req.tract, "internal");
	assert_int_equal(t->req.credit, 0);
	assert_int_equal(t->req.overflow, WIRE_OVERFLOW_BLOCK);
	assert_false(t->req.has_max_pending);
	assert_null(t->req.kinds);
	expect_absent_wstr(&t->req.from_eid);
	assert_int_equal(t->req.id, 7);

	assert_int_equal(parse(t, sub_full, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_SUB);
	assert_int_equal(t->req.sid, 3);
	expect_wstr(t, &t->req.tract, "internal");
	assert_int_equal(t->req.credit, 10);
	assert_int_equal(t->req.overflow, WIRE_OVERFLOW_DROP);
	assert_true(t->req.has_max_pending);
	assert_int_equal(t->req.max_pending, 64);
	assert_non_null(k = t->req.kinds);
	assert_int_equal(k->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(k->via.array.size, 2);
	assert_int_equal(k->via.array.ptr[1].via.str.size, 6);
	assert_memory_equal(k->via.array.ptr[1].via.str.ptr, "bframe", 6);
	expect_wstr(t, &t->req.from_eid, "1700000000000-0");
}

static void
test_wire_parse_sub_edge_values_are_accepted(void **state)
{
	struct wt		*t = *state;
	static const struct field block = { "overflow", S("block") },
	    sid0 = { "sid", U(0) }, sidmax = { "sid", U(UINT64_MAX) },
	    creditmax = { "credit", U(UINT64_MAX) },
	    kinds0 = { "kinds", FN(arr_empty) };

	assert_int_equal(parse(t, sub_full, &block), WIRE_OK);
	assert_int_equal(t->req.overflow, WIRE_OVERFLOW_BLOCK);
	assert_int_equal(parse(t, sub_min, &sid0), WIRE_OK);
	assert_true(t->req.has_sid);
	assert_int_equal(t->req.sid, 0);
	assert_int_equal(parse(t, sub_min, &sidmax), WIRE_OK);
	assert_int_equal(t->req.sid, UINT64_MAX);
	assert_int_equal(parse(t, sub_min, &creditmax), WIRE_OK);
	assert_int_equal(t->req.credit, UINT64_MAX);
	assert_int_equal(parse(t, sub_min, &kinds0), WIRE_OK);
	assert_non_null(t->req.kinds);
	assert_int_equal(t->req.kinds->via.array.size, 0);
}

static void
test_wire_parse_req_n_huge_saturates_to_int64_max(void **state)
{
	struct wt		*t = *state;
	static const struct {
		struct field	f;
		uint64_t	want;
	} cases[] = {
		{ { "n", U(1) }, 1 },
		{ { "n", U(5) }, 5 },
		{ { "n", U(INT64_MAX - 1) }, INT64_MAX - 1 },
		{ { "n", U(INT64_MAX) }, INT64_MAX },
		{ { "n", U((uint64_t)INT64_MAX + 1) }, INT64_MAX },
		{ { "n", U(UINT64_MAX) }, INT64_MAX }
	};
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(parse(t, req_min, &cases[i].f), WIRE_OK);
		assert_int_equal(t->req.op, WIRE_OP_REQ);
		assert_true(t->req.has_sid);
		assert_int_equal(t->req.sid, 1);
		assert_int_equal(t->req.n, cases[i].want);
	}
}

static void
test_wire_parse_unsub_replay_ping_stats(void **state)
{
	struct wt		*t = *state;
	const msgpack_object	*k;

	assert_int_equal(parse(t, unsub_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_UNSUB);
	assert_true(t->req.has_sid);
	assert_int_equal(t->req.sid, 9);
	assert_int_equal(t->req.id, 7);

	assert_int_equal(parse(t, replay_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_REPLAY);
	assert_int_equal(t->req.sid, 2);
	expect_absent_wstr(&t->req.from_eid);
	expect_absent_wstr(&t->req.to_eid);
	expect_absent_wstr(&t->req.tract);
	assert_false(t->req.has_limit);
	assert_int_equal(t->req.credit, 0);
	assert_null(t->req.kinds);

	assert_int_equal(parse(t, replay_full, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_REPLAY);
	assert_int_equal(t->req.sid, 4);
	expect_wstr(t, &t->req.from_eid, "1-0");
	expect_wstr(t, &t->req.to_eid, "2-5");
	expect_wstr(t, &t->req.tract, "external");
	assert_true(t->req.has_limit);
	assert_int_equal(t->req.limit, 100);
	assert_int_equal(t->req.credit, 5);
	assert_non_null(k = t->req.kinds);
	assert_int_equal(k->via.array.size, 2);
	/* replay's from/to are eids, never the pub tract fields. */
	expect_absent_wstr(&t->req.from);
	expect_absent_wstr(&t->req.to);

	assert_int_equal(parse(t, ping_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_PING);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 7);

	assert_int_equal(parse(t, stats_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_STATS);
	assert_false(t->req.has_id);
	assert_int_equal(t->req.id, 0);
}

/* conns (SPEC): a request of its id alone; everything else is ignored. */
static void
test_wire_parse_conns_takes_only_an_id(void **state)
{
	struct wt		*t = *state;
	static const struct field no_id[] = { { "op", S("conns") }, END };
	static const struct field others[] = {
		{ "op", S("conns") }, { "sid", S("x") }, { "agent", U(1) },
		{ "tract", U(1) }, { "body", S("\xff") }, { "id", U(9) }, END
	};
	static const struct field bad_id = { "id", S("7") };

	assert_int_equal(parse(t, conns_min, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_CONNS);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 7);
	assert_false(t->req.has_sid);
	expect_absent_wstr(&t->req.agent);

	assert_int_equal(parse(t, no_id, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_CONNS);
	assert_false(t->req.has_id);

	/* Keys of other ops mean nothing here, whatever their type. */
	assert_int_equal(parse(t, others, NULL), WIRE_OK);
	assert_int_equal(t->req.op, WIRE_OP_CONNS);
	assert_int_equal(t->req.id, 9);
	assert_false(t->req.has_sid);
	expect_absent_wstr(&t->req.agent);
	expect_absent_wstr(&t->req.tract);
	expect_absent_wstr(&t->req.body);

	assert_int_equal(parse(t, conns_min, &bad_id), WIRE_BAD_REQUEST);
	assert_string_equal(t->why, "id must be an unsigned int");
	assert_int_equal(wire_op_lookup("conns", 5), WIRE_OP_CONNS);
	assert_string_equal(wire_op_name(WIRE_OP_CONNS), "conns");
}

/* Every optional field sent as nil: the request parses as without it. */
static void
test_wire_parse_nil_is_absent_for_optional_fields(void **state)
{
	struct wt		*t = *state;
	static const struct field hello[] = {
		{ "op", S("hello") }, { "agent", S("a") }, { "v", NIL },
		{ "session", NIL }, { "model", NIL }, { "tract", NIL },
		{ "id", NIL }, END
	};
	static const struct field pub[] = {
		{ "op", S("pub") }, { "to", S("t") }, { "body", B("b") },
		{ "from", NIL }, { "kind", NIL }, { "pri", NIL },
		{ "pattern", NIL }, { "hdr", NIL }, { "id", NIL }, END
	};
	static const struct field sub[] = {
		{ "op", S("sub") }, { "sid", U(1) }, { "tract", S("t") },
		{ "credit", NIL }, { "overflow", NIL }, { "max_pending", NIL },
		{ "kinds", NIL }, { "from_eid", NIL }, { "id", NIL }, END
	};
	static const struct field replay[] = {
		{ "op", S("replay") }, { "sid", U(1) }, { "from", NIL },
		{ "to", NIL }, { "tract", NIL }, { "kinds", NIL },
		{ "limit", NIL }, { "credit", NIL }, { "id", NIL }, END
	};

	assert_int_equal(parse(t, hello, NULL), WIRE_OK);
	assert_false(t->req.has_id);
	expect_absent_wstr(&t->req.session);
	expect_absent_wstr(&t->req.model);
	expect_absent_wstr(&t->req.tract);

	assert_int_equal(parse(t, pub, NULL), WIRE_OK);
	assert_false(t->req.has_id);
	expect_absent_wstr(&t->req.from);
	expect_absent_wstr(&t->req.kind);
	expect_absent_wstr(&t->req.pattern);
	assert_false(t->req.has_pri);
	assert_null(t->req.hdr);

	assert_int_equal(parse(t, sub, NULL), WIRE_OK);
	assert_int_equal(t->req.credit, 0);
	assert_int_equal(t->req.overflow, WIRE_OVERFLOW_BLOCK);
	assert_false(t->req.has_max_pending);
	assert_null(t->req.kinds);
	expect_absent_wstr(&t->req.from_eid);

	assert_int_equal(parse(t, replay, NULL), WIRE_OK);
	expect_absent_wstr(&t->req.from_eid);
	expect_absent_wstr(&t->req.to_eid);
	expect_absent_wstr(&t->req.tract);
	assert_null(t->req.kinds);
	assert_false(t->req.has_limit);
	assert_int_equal(t->req.credit, 0);
}

static void
test_wire_parse_unknown_keys_are_ignored(void **state)
{
	struct wt		*t = *state;
	static const struct field *bases[] = {
		hello_min, pub_min, sub_min, req_min, unsub_min, replay_min,
		ping_min, stats_min, conns_min
	};
	static const enum wire_op ops[] = {
		WIRE_OP_HELLO, WIRE_OP_PUB, WIRE_OP_SUB, WIRE_OP_REQ,
		WIRE_OP_UNSUB, WIRE_OP_REPLAY, WIRE_OP_PING, WIRE_OP_STATS,
		WIRE_OP_CONNS
	};
	static const struct field extras[] = {
		{ "future", FN(hdr_val_map) }, { "x", TRUE_ },
		{ "OP", U(1) }, { "Id", S("x") }, { "vv", D(NAN) },
		{ "opx", FN(arr_empty) }
	};
	static const struct field pub_keys_in_sub[] = {
		{ "op", S("sub") }, { "sid", U(1) }, { "tract", S("t") },
		{ "to", U(1) }, { "body", U(1) }, { "pri", S("x") },
		{ "hdr", U(1) }, { "agent", U(1) }, END
	};
	static const struct field sub_keys_in_pub[] = {
		{ "op", S("pub") }, { "to", S("t") }, { "body", B("b") },
		{ "sid", S("x") }, { "n", I(-1) }, { "credit", S("x") },
		{ "overflow", S("maybe") }, { "kinds", U(1) },
		{ "tract", U(1) }, END
	};
	static const struct field replay_keys_in_req[] = {
		{ "op", S("req") }, { "sid", U(1) }, { "n", U(1) },
		{ "tract", U(1) }, { "from", U(1) }, { "limit", S("x") },
		{ "credit", S("x") }, END
	};
	static const struct field keys_in_unsub[] = {
		{ "op", S("unsub") }, { "sid", U(1) }, { "n", I(-1) },
		{ "tract", U(1) }, { "credit", S("x") }, END
	};
	static const struct field keys_in_ping[] = {
		{ "op", S("ping") }, { "sid", S("x") }, { "to", U(1) },
		{ "agent", U(1) }, END
	};
	/* {"op": "ping", 1: 2, "id": 3}: a non-str key is skipped too. */
	static const char	 intkey[] = "\x83\xa2" "op\xa4" "ping\x01\x02"
	    "\xa2" "id\x03";
	size_t			 i, j;

	for (i = 0; i < nitems(bases); i++) {
		for (j = 0; j < nitems(extras); j++) {
			assert_int_equal(parse(t, bases[i], &extras[j]),
			    WIRE_OK);
			assert_int_equal(t->req.op, ops[i]);
		}
	}
	assert_int_equal(parse(t, pub_keys_in_sub, NULL), WIRE_OK);
	expect_absent_wstr(&t->req.to);
	expect_absent_wstr(&t->req.body);
	assert_false(t->req.has_pri);
	assert_null(t->req.hdr);
	expect_absent_wstr(&t->req.agent);
	assert_int_equal(parse(t, sub_keys_in_pub, NULL), WIRE_OK);
	assert_false(t->req.has_sid);
	assert_int_equal(t->req.n, 0);
	assert_int_equal(t->req.credit, 0);
	assert_null(t->req.kinds);
	expect_absent_wstr(&t->req.tract);
	assert_int_equal(parse(t, replay_keys_in_req, NULL), WIRE_OK);
	expect_absent_wstr(&t->req.tract);
	expect_absent_wstr(&t->req.from_eid);
	assert_false(t->req.has_limit);
	assert_int_equal(t->req.credit, 0);
	assert_int_equal(parse(t, keys_in_unsub, NULL), WIRE_OK);
	assert_int_equal(t->req.n, 0);
	assert_int_equal(parse(t, keys_in_ping, NULL), WIRE_OK);
	assert_false(t->req.has_sid);
	/* A non-str key is bad_request (ADR 0004); the id still comes back. */
	assert_int_equal(parse_bytes(t, intkey, sizeof(intkey) - 1),
	    WIRE_BAD_REQUEST);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 3);
}

/* Requests: rejected */

struct bad_case {
	const struct field	*base;
	enum wire_op		 op;
	struct field		 f;
};

static const struct bad_case bad_cases[] = {
	/* hello */
	{ hello_min, WIRE_OP_HELLO, { "agent", U(1) } },
	{ hello_min, WIRE_OP_HELLO, { "agent", B("a") } },
	{ hello_min, WIRE_OP_HELLO, { "agent", NONE } },
	{ hello_min, WIRE_OP_HELLO, { "agent", NIL } },
	{ hello_min, WIRE_OP_HELLO, { "session", U(1) } },
	{ hello_min, WIRE_OP_HELLO, { "model", B("m") } },
	{ hello_min, WIRE_OP_HELLO, { "tract", U(1) } },
	{ hello_min, WIRE_OP_HELLO, { "v", U(2) } },
	{ hello_min, WIRE_OP_HELLO, { "v", S("1") } },
	{ hello_min, WIRE_OP_HELLO, { "agent", S("\x80") } },
	{ hello_min, WIRE_OP_HELLO, { "session", S("\xc1\xbf") } },
	{ hello_min, WIRE_OP_HELLO, { "model", S("m\xf5") } },
	/* pub */
	{ pub_min, WIRE_OP_PUB, { "to", U(1) } },
	{ pub_min, WIRE_OP_PUB, { "to", B("internal") } },
	{ pub_min, WIRE_OP_PUB, { "to", FN(arr_str) } },
	{ pub_min, WIRE_OP_PUB, { "to", NONE } },
	{ pub_min, WIRE_OP_PUB, { "body", U(5) } },
	{ pub_min, WIRE_OP_PUB, { "body", I(-5) } },
	{ pub_min, WIRE_OP_PUB, { "body", TRUE_ } },
	{ pub_min, WIRE_OP_PUB, { "body", FN(map_empty) } },
	{ pub_min, WIRE_OP_PUB, { "body", NONE } },
	{ pub_min, WIRE_OP_PUB, { "from", U(1) } },
	{ pub_min, WIRE_OP_PUB, { "kind", B("msg") } },
	{ pub_min, WIRE_OP_PUB, { "kind", U(1) } },
	{ pub_min, WIRE_OP_PUB, { "pattern", U(1) } },
	{ pub_min, WIRE_OP_PUB, { "kind", S("\xe0\x80\xaf") } },
	{ pub_min, WIRE_OP_PUB, { "pattern", S("\xf0\x8f\xbf\xbf") } },
	{ pub_min, WIRE_OP_PUB, { "body", S("\xfe") } },
	{ pub_min, WIRE_OP_PUB, { "body", S("x\xe2\x82") } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_val_bad_utf8) } },
	{ pub_min, WIRE_OP_PUB, { "pri", S("0.5") } },
	{ pub_min, WIRE_OP_PUB, { "pri", D(1.5) } },
	{ pub_min, WIRE_OP_PUB, { "pri", D(-0.1) } },
	{ pub_min, WIRE_OP_PUB, { "pri", D(NAN) } },
	{ pub_min, WIRE_OP_PUB, { "pri", D(INFINITY) } },
	{ pub_min, WIRE_OP_PUB, { "pri", D(-INFINITY) } },
	{ pub_min, WIRE_OP_PUB, { "pri", D(1.0000000000000002) } },
	{ pub_min, WIRE_OP_PUB, { "pri", F(1.5) } },
	{ pub_min, WIRE_OP_PUB, { "pri", U(2) } },
	{ pub_min, WIRE_OP_PUB, { "pri", U(UINT64_MAX) } },
	{ pub_min, WIRE_OP_PUB, { "pri", I(-1) } },
	{ pub_min, WIRE_OP_PUB, { "pri", TRUE_ } },
	{ pub_min, WIRE_OP_PUB, { "hdr", S("k=v") } },
	{ pub_min, WIRE_OP_PUB, { "hdr", U(1) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(arr_str) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_33) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_space) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_slash) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_colon) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_empty) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_dollar) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_utf8) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_65) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_int) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_key_bin) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_val_1025) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_val_int) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_val_nil) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_val_bin) } },
	{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_val_map) } },
	/* sub */
	{ sub_min, WIRE_OP_SUB, { "sid", I(-1) } },
	{ sub_min, WIRE_OP_SUB, { "sid", S("1") } },
	{ sub_min, WIRE_OP_SUB, { "sid", D(1.0) } },
	{ sub_min, WIRE_OP_SUB, { "sid", NONE } },
	{ sub_min, WIRE_OP_SUB, { "sid", NIL } },
	{ sub_min, WIRE_OP_SUB, { "tract", NONE } },
	{ sub_min, WIRE_OP_SUB, { "tract", U(1) } },
	{ sub_min, WIRE_OP_SUB, { "credit", I(-1) } },
	{ sub_min, WIRE_OP_SUB, { "credit", S("10") } },
	{ sub_min, WIRE_OP_SUB, { "credit", D(1.0) } },
	{ sub_min, WIRE_OP_SUB, { "overflow", S("maybe") } },
	{ sub_min, WIRE_OP_SUB, { "overflow", S("") } },
	{ sub_min, WIRE_OP_SUB, { "overflow", S("DROP") } },
	{ sub_min, WIRE_OP_SUB, { "overflow", B("drop") } },
	{ sub_min, WIRE_OP_SUB, { "overflow", U(1) } },
	{ sub_min, WIRE_OP_SUB, { "max_pending", S("8") } },
	{ sub_min, WIRE_OP_SUB, { "max_pending", I(-8) } },
	{ sub_min, WIRE_OP_SUB, { "kinds", S("msg") } },
	{ sub_min, WIRE_OP_SUB, { "kinds", FN(map_empty) } },
	{ sub_min, WIRE_OP_SUB, { "kinds", FN(kinds_with_int) } },
	{ sub_min, WIRE_OP_SUB, { "kinds", FN(kinds_with_nil) } },
	{ sub_min, WIRE_OP_SUB, { "kinds", FN(kinds_with_bin) } },
	{ sub_min, WIRE_OP_SUB, { "from_eid", U(1) } },
	{ sub_min, WIRE_OP_SUB, { "kinds", FN(kinds_bad_utf8) } },
	/* req */
	{ req_min, WIRE_OP_REQ, { "n", U(0) } },
	{ req_min, WIRE_OP_REQ, { "n", I(-1) } },
	{ req_min, WIRE_OP_REQ, { "n", I(INT64_MIN) } },
	{ req_min, WIRE_OP_REQ, { "n", NONE } },
	{ req_min, WIRE_OP_REQ, { "n", NIL } },
	{ req_min, WIRE_OP_REQ, { "n", S("5") } },
	{ req_min, WIRE_OP_REQ, { "n", D(5.0) } },
	{ req_min, WIRE_OP_REQ, { "sid", NONE } },
	{ req_min, WIRE_OP_REQ, { "sid", I(-1) } },
	/* unsub */
	{ unsub_min, WIRE_OP_UNSUB, { "sid", NONE } },
	{ unsub_min, WIRE_OP_UNSUB, { "sid", S("9") } },
	/* replay */
	{ replay_min, WIRE_OP_REPLAY, { "sid", NONE } },
	{ replay_min, WIRE_OP_REPLAY, { "sid", I(-2) } },
	{ replay_min, WIRE_OP_REPLAY, { "from", U(1) } },
	{ replay_min, WIRE_OP_REPLAY, { "to", U(1) } },
	{ replay_min, WIRE_OP_REPLAY, { "tract", U(1) } },
	{ replay_min, WIRE_OP_REPLAY, { "kinds", S("msg") } },
	{ replay_min, WIRE_OP_REPLAY, { "kinds", FN(kinds_with_int) } },
	{ replay_min, WIRE_OP_REPLAY, { "kinds", FN(kinds_bad_utf8) } },
	{ replay_min, WIRE_OP_REPLAY, { "limit", I(-1) } },
	{ replay_min, WIRE_OP_REPLAY, { "limit", S("10") } },
	{ replay_min, WIRE_OP_REPLAY, { "credit", S("10") } },
};

/* Each: bad_request, a reason, the op known and the id kept for the err. */
static void
test_wire_parse_wrong_field_is_bad_request_with_id(void **state)
{
	struct wt	*t = *state;
	const char	*const *why = &t->why;
	enum wire_code	 code;
	size_t		 i;

	for (i = 0; i < nitems(bad_cases); i++) {
		code = parse(t, bad_cases[i].base, &bad_cases[i].f);
		if (code != WIRE_BAD_REQUEST)
			fail_msg("case %zu (%s %s): code %d", i,
			    bad_cases[i].base[0].v.s, bad_cases[i].f.key,
			    (int)code);
		assert_non_null(*why);
		assert_int_equal(t->req.op, bad_cases[i].op);
		assert_true(t->req.has_id);
		assert_int_equal(t->req.id, 7);
	}
}

static void
test_wire_parse_missing_op_is_bad_request(void **state)
{
	struct wt		*t = *state;
	static const struct field only_id[] = { { "id", U(7) }, END };
	static const struct field nothing[] = { END };
	static const struct field ops[] = {
		{ "op", U(1) }, { "op", B("ping") }, { "op", NIL },
		{ "op", FN(arr_str) }, { "op", TRUE_ }
	};
	size_t			 i;

	assert_int_equal(parse(t, only_id, NULL), WIRE_BAD_REQUEST);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 7);
	assert_int_equal(parse(t, nothing, NULL), WIRE_BAD_REQUEST);
	assert_false(t->req.has_id);
	for (i = 0; i < nitems(ops); i++) {
		assert_int_equal(parse(t, ping_min, &ops[i]), WIRE_BAD_REQUEST);
		assert_true(t->req.has_id);
		assert_int_equal(t->req.id, 7);
	}
}

static void
test_wire_parse_unknown_op_is_unknown_op_with_id(void **state)
{
	struct wt		*t = *state;
	static const struct field ops[] = {
		{ "op", S("publish") }, { "op", S("") }, { "op", S("PUB") },
		{ "op", S("pub ") }, { "op", S("pu") }, { "op", S("unknown") },
		{ "op", S("pub\0") }, { "op", REP('p', 300) }
	};
	size_t			 i;

	for (i = 0; i < nitems(ops); i++) {
		assert_int_equal(parse(t, ping_min, &ops[i]), WIRE_UNKNOWN_OP);
		assert_int_equal(t->req.op, WIRE_OP_UNKNOWN);
		assert_true(t->req.has_id);
		assert_int_equal(t->req.id, 7);
	}
}

static void
test_wire_parse_server_op_from_client_is_unknown_op(void **state)
{
	struct wt		*t = *state;
	static const struct field ops[] = {
		{ "op", S("welcome") }, { "op", S("ack") }, { "op", S("err") },
		{ "op", S("msg") }, { "op", S("lag") }, { "op", S("end") },
		{ "op", S("pong") }, { "op", S("bye") }
	};
	size_t			 i;

	for (i = 0; i < nitems(ops); i++) {
		assert_int_equal(parse(t, ping_min, &ops[i]), WIRE_UNKNOWN_OP);
		assert_int_equal(t->req.op, WIRE_OP_UNKNOWN);
		assert_true(t->req.has_id);
		assert_int_equal(t->req.id, 7);
	}
}

/*
 * The client's ops are exactly HELLO .. CLIENT_LAST (conns): each of them
 * parses as itself from its name, every later op is unknown_op.
 */
static void
test_wire_parse_client_ops_are_hello_to_conns(void **state)
{
	struct wt	*t = *state;
	struct field	 op = { "op", S("") };
	const char	*name;
	int		 o;

	assert_int_equal(WIRE_OP_CLIENT_LAST, WIRE_OP_CONNS);
	assert_int_equal(WIRE_OP_HELLO, WIRE_OP_UNKNOWN + 1);
	for (o = WIRE_OP_HELLO; o < WIRE_OP_COUNT; o++) {
		name = wire_op_name((enum wire_op)o);
		op.v.s = name;
		op.v.len = strlen(name);
		/* ping_min has an id only: ops with required fields fail. */
		if (o <= WIRE_OP_CLIENT_LAST) {
			assert_int_not_equal(parse(t, ping_min, &op),
			    WIRE_UNKNOWN_OP);
			assert_int_equal(t->req.op, o);
		} else {
			assert_int_equal(parse(t, ping_min, &op),
			    WIRE_UNKNOWN_OP);
			assert_int_equal(t->req.op, WIRE_OP_UNKNOWN);
			assert_string_equal(t->why, "unknown op");
		}
	}
}

static void
test_wire_parse_id_of_wrong_type_is_bad_request(void **state)
{
	struct wt		*t = *state;
	static const struct field bad[] = {
		{ "id", S("7") }, { "id", I(-7) }, { "id", D(7.0) },
		{ "id", B("7") }, { "id", TRUE_ }, { "id", FN(arr_empty) }
	};
	static const struct field id0 = { "id", U(0) },
	    idmax = { "id", U(UINT64_MAX) }, idnil = { "id", NIL };
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(parse(t, ping_min, &bad[i]), WIRE_BAD_REQUEST);
		assert_false(t->req.has_id);
		/* Even on a request that is otherwise fine. */
		assert_int_equal(parse(t, pub_min, &bad[i]), WIRE_BAD_REQUEST);
		assert_false(t->req.has_id);
	}
	assert_int_equal(parse(t, ping_min, &id0), WIRE_OK);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, 0);
	assert_int_equal(parse(t, ping_min, &idmax), WIRE_OK);
	assert_true(t->req.has_id);
	assert_int_equal(t->req.id, UINT64_MAX);
	assert_int_equal(parse(t, ping_min, &idnil), WIRE_OK);
	assert_false(t->req.has_id);
}

static void
test_wire_parse_root_not_a_map_is_bad_request(void **state)
{
	struct wt	*t = *state;
	msgpack_object	 o;

	memset(&o, 0, sizeof(o));
	o.type = MSGPACK_OBJECT_ARRAY;
	memset(&t->req, 0x5a, sizeof(t->req));
	t->why = NULL;
	assert_int_equal(wire_parse_req(&o, &t->req, &t->why),
	    WIRE_BAD_REQUEST);
	assert_non_null(t->why);
	assert_false(t->req.has_id);
}

/* SPEC: a str that is not UTF-8 is bad_request; the reason names it. */
static void
test_wire_parse_invalid_utf8_is_bad_request_naming_the_field(void **state)
{
	struct wt		*t = *state;
	static const struct {
		const struct field	*base;
		enum wire_op		 op;
		struct field		 f;
		const char		*why;
	} cases[] = {
		{ hello_min, WIRE_OP_HELLO, { "agent", S("a\xc3\x28") },
		    "agent is not valid UTF-8" },
		{ hello_min, WIRE_OP_HELLO, { "session", S("\xc0\xaf") },
		    "session is not valid UTF-8" },
		{ hello_min, WIRE_OP_HELLO, { "model", S("\xed\xa0\x80") },
		    "model is not valid UTF-8" },
		{ pub_min, WIRE_OP_PUB, { "kind", S("\xf4\x90\x80\x80") },
		    "kind is not valid UTF-8" },
		{ pub_min, WIRE_OP_PUB, { "pattern", S("p-\xe2\x82") },
		    "pattern is not valid UTF-8" },
		{ pub_min, WIRE_OP_PUB, { "body", S("\xff") },
		    "body is not valid UTF-8" },
		{ pub_min, WIRE_OP_PUB, { "hdr", FN(hdr_val_bad_utf8) },
		    "hdr value is not valid UTF-8" },
		{ sub_min, WIRE_OP_SUB, { "kinds", FN(kinds_bad_utf8) },
		    "kinds entry is not valid UTF-8" },
		{ replay_min, WIRE_OP_REPLAY, { "kinds", FN(kinds_bad_utf8) },
		    "kinds entry is not valid UTF-8" },
	};
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(parse(t, cases[i].base, &cases[i].f),
		    WIRE_BAD_REQUEST);
		assert_string_equal(t->why, cases[i].why);
		assert_int_equal(t->req.op, cases[i].op);
		assert_true(t->req.has_id);
		assert_int_equal(t->req.id, 7);
	}
}

static void
test_wire_parse_utf8_text_is_accepted_in_every_text_field(void **state)
{
	struct wt		*t = *state;
	static const struct field hello[] = {
		{ "op", S("hello") }, { "agent", S("agent-\xc3\xa9") },
		{ "session", S("\xe4\xb8\xad\xe6\x96\x87") },
		{ "model", S("\xf4\x8f\xbf\xbf") }, { "id", U(7) }, END
	};
	static const struct field pub[] = {
		{ "op", S("pub") }, { "to", S("internal") },
		{ "kind", S("caf\xc3\xa9") },
		{ "pattern", S("\xe2\x82\xac-1") },
		{ "body", S("\xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80") },
		{ "hdr", FN(hdr_val_utf8) }, { "id", U(7) }, END
	};
	static const struct field sub[] = {
		{ "op", S("sub") }, { "sid", U(1) }, { "tract", S("internal") },
		{ "kinds", FN(kinds_utf8) }, { "id", U(7) }, END
	};
	static const struct field replay[] = {
		{ "op", S("replay") }, { "sid", U(1) },
		{ "kinds", FN(kinds_utf8) }, { "id", U(7) }, END
	};

	assert_int_equal(parse(t, hello, NULL), WIRE_OK);
	expect_wstr(t, &t->req.agent, "agent-\xc3\xa9");
	expect_wstr(t, &t->req.session, "\xe4\xb8\xad\xe6\x96\x87");
	expect_wstr(t, &t->req.model, "\xf4\x8f\xbf\xbf");

	assert_int_equal(parse(t, pub, NULL), WIRE_OK);
	expect_wstr(t, &t->req.kind, "caf\xc3\xa9");
	expect_wstr(t, &t->req.pattern, "\xe2\x82\xac-1");
	expect_wstr(t, &t->req.body,
	    "\xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80");
	assert_true(t->req.body_is_str);
	assert_non_null(t->req.hdr);
	assert_int_equal(t->req.hdr->via.map.size, 2);

	assert_int_equal(parse(t, sub, NULL), WIRE_OK);
	assert_non_null(t->req.kinds);
	assert_int_equal(t->req.kinds->via.array.size, 2);
	assert_int_equal(parse(t, replay, NULL), WIRE_OK);
	assert_non_null(t->req.kinds);
	assert_int_equal(t->req.kinds->via.array.size, 2);
}

/* A pub whose body is a str of len bytes copied from body. */
static enum wire_code
parse_pub_str_body(struct wt *t, const char *body, size_t len)
{
	msgpack_packer	pk;

	msgpack_sbuffer_clear(&t->sb);
	msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	pack_key(&pk, "op");
	pack_key(&pk, "pub");
	pack_key(&pk, "to");
	pack_key(&pk, "internal");
	pack_key(&pk, "body");
	assert_int_equal(wire_pack_str(&pk, body, len), 0);
	pack_key(&pk, "id");
	msgpack_pack_uint64(&pk, 7);
	return (parse_bytes(t, t->sb.data, t->sb.size));
}

/* The whole of a max_frame-sized str body is read, to its last byte. */
static void
test_wire_parse_1_mib_str_body_is_checked_to_its_last_byte(void **state)
{
	struct wt	*t = *state;
	const size_t	 len = WIRE_MAX_FRAME_DEFAULT - 64;
	const size_t	 at[] = { 0, 1, 15, 16, 4095, len / 2, len - 17,
	    len - 16, len - 2, len - 1 };
	char		*body;
	size_t		 i;

	assert_non_null(body = malloc(len));
	memset(body, 'b', len);
	memcpy(body + len / 3, "\xc3\xa9\xe2\x82\xac", 5);
	assert_int_equal(parse_pub_str_body(t, body, len), WIRE_OK);
	assert_true(t->req.body_is_str);
	assert_int_equal(t->req.body.len, len);
	assert_memory_equal(t->req.body.ptr, body, len);
	for (i = 0; i < nitems(at); i++) {
		body[at[i]] = (char)0x80;
		assert_int_equal(parse_pub_str_body(t, body, len),
		    WIRE_BAD_REQUEST);
		assert_string_equal(t->why, "body is not valid UTF-8");
		assert_true(t->req.has_id);
		assert_int_equal(t->req.id, 7);
		body[at[i]] = 'b';
	}
	/* A lead byte last: the sequence is cut by the end of the body. */
	body[len - 1] = (char)0xe2;
	assert_int_equal(parse_pub_str_body(t, body, len), WIRE_BAD_REQUEST);
	assert_string_equal(t->why, "body is not valid UTF-8");
	free(body);
}

/*
 * A bin body is opaque bytes; an earlier str body is checked though a
 * later bin one would win; fields the router checks as ASCII names or
 * eids (to, from, tract, from_eid) and unknown keys are not read as text
 * here.
 */
static void
test_wire_parse_utf8_applies_to_text_fields_only(void **state)
{
	struct wt		*t = *state;
	static const struct field bin_body = { "body", B("\xff\xfe\xc0") };
	static const struct field to = { "to", S("\xff") };
	static const struct field from = { "from", S("a\xc3") };
	static const struct field tract = { "tract", S("\xed\xa0\x80") };
	static const struct field from_eid = { "from_eid", S("1-\x80") };
	static const struct field unknown = { "future", S("\xc0\xaf") };
	static const struct field bad_then_bin[] = {
		{ "op", S("pub") }, { "to", S("internal") },
		{ "body", S("\xff") }, { "body", B("ok") }, { "id", U(7) }, END
	};

	assert_int_equal(parse(t, pub_min, &bin_body), WIRE_OK);
	assert_false(t->req.body_is_str);
	expect_wstr(t, &t->req.body, "\xff\xfe\xc0");
	assert_int_equal(parse(t, pub_min, &to), WIRE_OK);
	expect_wstr(t, &t->req.to, "\xff");
	assert_false(wire_tract_name_ok(t->req.to.ptr, t->req.to.len));
	assert_int_equal(parse(t, pub_min, &from), WIRE_OK);
	assert_false(wire_tract_name_ok(t->req.from.ptr, t->req.from.len));
	assert_int_equal(parse(t, hello_min, &tract), WIRE_OK);
	assert_false(wire_tract_name_ok(t->req.tract.ptr, t->req.tract.len));
	assert_int_equal(parse(t, sub_min, &from_eid), WIRE_OK);
	expect_wstr(t, &t->req.from_eid, "1-\x80");
	assert_int_equal(parse(t, pub_min, &unknown), WIRE_OK);
	assert_int_equal(parse(t, bad_then_bin, NULL), WIRE_BAD_REQUEST);
	assert_string_equal(t->why, "body is not valid UTF-8");
}

/* Names and demand */

static void
test_wire_tract_name_ok_follows_the_spec_pattern(void **state)
{
	static const char *const good[] = {
		"a", "internal", "external", "A-Z_a.z-0.9", "_", ".", "-",
		"0", "$sys", "$candidates", "$a", "$..",
		/* 64 characters */
		("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."),
	};
	static const char *const bad[] = {
		"", "$", "$$", "$$sys", "a$", "a/b", "/", "a b", " a", "a ",
		"\xc3\xa9", "caf\xc3\xa9", "*", "a*", ">", "a:b", "a@b", "a\tb",
		"a\nb", "a,b", "\x7f", "\xff", "a\x80", "\xc0\xaf",
		"\xed\xa0\x80",
		/* 65 characters */
		("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"),
	};
	char		 name[80];
	size_t		 i;

	(void)state;
	assert_int_equal(strlen(good[nitems(good) - 1]), 64);
	assert_int_equal(strlen(bad[nitems(bad) - 1]), 65);
	for (i = 0; i < nitems(good); i++) {
		if (!wire_tract_name_ok(good[i], strlen(good[i])))
			fail_msg("\"%s\" rejected", good[i]);
	}
	for (i = 0; i < nitems(bad); i++) {
		if (wire_tract_name_ok(bad[i], strlen(bad[i])))
			fail_msg("bad name %zu accepted", i);
	}
	/* An embedded NUL is a bad byte; only len bytes are read. */
	assert_false(wire_tract_name_ok("ab\0", 3));
	assert_true(wire_tract_name_ok("internal!", 8));
	assert_false(wire_tract_name_ok("internal!", 9));
	/* '$' then 1..64 name characters. */
	memset(name, 'x', sizeof(name));
	name[0] = '$';
	assert_true(wire_tract_name_ok(name, 65));
	assert_false(wire_tract_name_ok(name, 66));
	assert_true(wire_tract_name_ok(name + 1, 64));
	assert_false(wire_tract_name_ok(name + 1, 65));
}

static void
test_wire_tract_reserved_is_a_leading_dollar(void **state)
{
	(void)state;
	assert_true(wire_tract_reserved("$sys", 4));
	assert_true(wire_tract_reserved("$candidates", 11));
	assert_true(wire_tract_reserved("$", 1));
	assert_false(wire_tract_reserved("sys", 3));
	assert_false(wire_tract_reserved("a$", 2));
	assert_false(wire_tract_reserved("", 0));
	assert_true(wire_tract_name_ok("$sys", 4));
}

static void
test_wire_demand_add_saturates_at_int64_max(void **state)
{
	static const struct {
		uint64_t	a, b, want;
	} cases[] = {
		{ 0, 0, 0 },
		{ 0, 1, 1 },
		{ 1, 0, 1 },
		{ 3, 4, 7 },
		{ INT64_MAX - 1, 1, INT64_MAX },
		{ INT64_MAX - 5, 3, INT64_MAX - 2 },
		{ 1, INT64_MAX - 1, INT64_MAX },
		{ INT64_MAX, 0, INT64_MAX },
		{ 0, INT64_MAX, INT64_MAX },
		{ INT64_MAX, 1, INT64_MAX },
		{ 1, INT64_MAX, INT64_MAX },
		{ INT64_MAX, INT64_MAX, INT64_MAX },
		{ 1ULL << 62, 1ULL << 62, INT64_MAX },
		{ 1ULL << 62, (1ULL << 62) - 1, INT64_MAX },
		{ 1ULL << 62, (1ULL << 62) - 2, INT64_MAX - 1 },
		{ (uint64_t)INT64_MAX + 1, 0, INT64_MAX },
		{ 0, (uint64_t)INT64_MAX + 1, INT64_MAX },
		{ UINT64_MAX, 0, INT64_MAX },
		{ 0, UINT64_MAX, INT64_MAX },
		{ 1, UINT64_MAX, INT64_MAX },
		{ UINT64_MAX, 1, INT64_MAX },
		{ UINT64_MAX, UINT64_MAX, INT64_MAX },
	};
	size_t	i;

	(void)state;
	assert_true(WIRE_DEMAND_MAX == INT64_MAX);
	for (i = 0; i < nitems(cases); i++) {
		if (wire_demand_add(cases[i].a, cases[i].b) != cases[i].want)
			fail_msg("case %zu: %llu", i, (unsigned long long)
			    wire_demand_add(cases[i].a, cases[i].b));
	}
}

static void
test_wire_code_names_are_the_spec_error_codes(void **state)
{
	/* SPEC.md "Error codes", in order. */
	static const char *const spec[] = {
		"bad_frame", "bad_request", "unknown_op", "hello_required",
		"unknown_sid", "duplicate_sid", "reserved_tract", "bad_tract",
		"circuit_open", "backpressure", "store_unavailable",
		"unauthorized", "limit", "shutting_down", "internal"
	};
	static const enum wire_code codes[] = {
		WIRE_BAD_FRAME, WIRE_BAD_REQUEST, WIRE_UNKNOWN_OP,
		WIRE_HELLO_REQUIRED, WIRE_UNKNOWN_SID, WIRE_DUPLICATE_SID,
		WIRE_RESERVED_TRACT, WIRE_BAD_TRACT, WIRE_CIRCUIT_OPEN,
		WIRE_BACKPRESSURE, WIRE_STORE_UNAVAILABLE, WIRE_UNAUTHORIZED,
		WIRE_LIMIT, WIRE_SHUTTING_DOWN, WIRE_INTERNAL
	};
	size_t	i;

	(void)state;
	assert_int_equal(WIRE_CODE_COUNT, nitems(spec) + 1);
	for (i = 0; i < nitems(spec); i++) {
		assert_int_equal(codes[i], i + 1);
		assert_string_equal(wire_code_name(codes[i]), spec[i]);
	}
	/* Out of range never reaches the wire as garbage. */
	assert_string_equal(wire_code_name(WIRE_CODE_COUNT), "internal");
	assert_string_equal(wire_code_name((enum wire_code)1000), "internal");
}

static void
test_wire_op_lookup_and_name_round_trip(void **state)
{
	static const char *const names[] = {
		"unknown", "hello", "pub", "sub", "req", "unsub", "replay",
		"ping", "stats", "conns", "welcome", "ack", "err", "msg", "lag",
		"end", "pong", "bye"
	};
	int	op;

	(void)state;
	assert_int_equal(WIRE_OP_COUNT, nitems(names));
	for (op = WIRE_OP_UNKNOWN; op < WIRE_OP_COUNT; op++)
		assert_string_equal(wire_op_name((enum wire_op)op), names[op]);
	for (op = WIRE_OP_UNKNOWN + 1; op < WIRE_OP_COUNT; op++) {
		assert_int_equal(wire_op_lookup(names[op], strlen(names[op])),
		    op);
	}
	assert_int_equal(wire_op_lookup("unknown", 7), WIRE_OP_UNKNOWN);
	assert_int_equal(wire_op_lookup("", 0), WIRE_OP_UNKNOWN);
	assert_int_equal(wire_op_lookup("PUB", 3), WIRE_OP_UNKNOWN);
	assert_int_equal(wire_op_lookup("pu", 2), WIRE_OP_UNKNOWN);
	assert_int_equal(wire_op_lookup("pubx", 4), WIRE_OP_UNKNOWN);
	/* Only len bytes count. */
	assert_int_equal(wire_op_lookup("pubsub", 3), WIRE_OP_PUB);
	assert_int_equal(wire_op_lookup("pub", 4), WIRE_OP_UNKNOWN);
	assert_string_equal(wire_op_name(WIRE_OP_COUNT), "unknown");
}

/* Encoders */

static void
test_wire_enc_welcome_has_every_field(void **state)
{
	struct wt		*t = *state;
	static const char *const keys[] = {
		"op", "v", "server", "conn", "max_frame", "tracts", "id"
	};
	static const char *const tracts[] = { "internal", "external", "$sys" };
	const msgpack_object	*m, *a;
	size_t			 i;

	/* With hello's id. */
	assert_int_equal(wire_enc_welcome(&t->sb, true, 7, 42,
	    WIRE_MAX_FRAME_DEFAULT, tracts, nitems(tracts), false), 0);
	assert_int_equal(wire_frame_len((unsigned char *)t->sb.data),
	    t->sb.size - WIRE_HDR_LEN);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, keys, nitems(keys));
	expect_str(m, "op", "welcome");
	expect_uint(m, "id", 7);
	expect_uint(m, "v", 1);
	expect_str(m, "server", "callosum/" CALLOSUM_VERSION);
	expect_uint(m, "conn", 42);
	expect_uint(m, "max_frame", 1048576);
	a = field(m, "tracts");
	assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(a->via.array.size, nitems(tracts));
	for (i = 0; i < nitems(tracts); i++) {
		assert_int_equal(a->via.array.ptr[i].type, MSGPACK_OBJECT_STR);
		assert_int_equal(a->via.array.ptr[i].via.str.size,
		    strlen(tracts[i]));
		assert_memory_equal(a->via.array.ptr[i].via.str.ptr, tracts[i],
		    strlen(tracts[i]));
	}

	/* Without an id, and with no tracts. */
	msgpack_sbuffer_clear(&t->sb);
	assert_int_equal(wire_enc_welcome(&t->sb, false, 7, UINT64_MAX, 1,
	    NULL, 0, false), 0);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, keys, nitems(keys) - 1);
	assert_null(wire_map_get(m, "id"));
	expect_str(m, "op", "welcome");
	expect_uint(m, "v", 1);
	expect_str(m, "server", "callosum/" CALLOSUM_VERSION);
	expect_uint(m, "conn", UINT64_MAX);
	expect_uint(m, "max_frame", 1);
	assert_int_equal(field(m, "tracts")->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(field(m, "tracts")->via.array.size, 0);
}

static void
test_wire_enc_ack_and_ack_pub_have_every_field(void **state)
{
	struct wt		*t = *state;
	static const char *const ack[] = { "op", "id" };
	static const char *const ackpub[] = { "op", "id", "eid", "stored" };
	static const char *const stored[] = { "redis", "memory", "none" };
	const uint64_t		 ids[] = { 0, 1, 127, 128, UINT64_MAX };
	const msgpack_object	*m;
	size_t			 i;

	for (i = 0; i < nitems(ids); i++) {
		msgpack_sbuffer_clear(&t->sb);
		assert_int_equal(wire_enc_ack(&t->sb, ids[i]), 0);
		m = decode_only_frame(t, &t->sb);
		expect_keys(m, ack, nitems(ack));
		expect_str(m, "op", "ack");
		expect_uint(m, "id", ids[i]);
	}
	for (i = 0; i < nitems(stored); i++) {
		msgpack_sbuffer_clear(&t->sb);
		assert_int_equal(wire_enc_ack_pub(&t->sb, ids[i],
		    "1700000000000-3", stored[i]), 0);
		m = decode_only_frame(t, &t->sb);
		expect_keys(m, ackpub, nitems(ackpub));
		expect_str(m, "op", "ack");
		expect_uint(m, "id", ids[i]);
		expect_str(m, "eid", "1700000000000-3");
		expect_str(m, "stored", stored[i]);
	}
}

static void
test_wire_enc_err_carries_id_only_when_given(void **state)
{
	struct wt		*t = *state;
	static const char *const with[] = { "op", "code", "msg", "id" };
	static const char *const without[] = { "op", "code", "msg" };
	const msgpack_object	*m;
	int			 code;

	for (code = WIRE_BAD_FRAME; code < WIRE_CODE_COUNT; code++) {
		msgpack_sbuffer_clear(&t->sb);
		assert_int_equal(wire_enc_err(&t->sb, true, 99,
		    (enum wire_code)code, "why it failed"), 0);
		m = decode_only_frame(t, &t->sb);
		expect_keys(m, with, nitems(with));
		expect_str(m, "op", "err");
		expect_str(m, "code", wire_code_name((enum wire_code)code));
		expect_str(m, "msg", "why it failed");
		expect_uint(m, "id", 99);

		msgpack_sbuffer_clear(&t->sb);
		assert_int_equal(wire_enc_err(&t->sb, false, 99,
		    (enum wire_code)code, ""), 0);
		m = decode_only_frame(t, &t->sb);
		expect_keys(m, without, nitems(without));
		expect_str(m, "code", wire_code_name((enum wire_code)code));
		expect_str(m, "msg", "");
		assert_null(wire_map_get(m, "id"));
	}
	/* id 0 is an id. */
	msgpack_sbuffer_clear(&t->sb);
	assert_int_equal(wire_enc_err(&t->sb, true, 0, WIRE_BAD_REQUEST, "x"),
	    0);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, with, nitems(with));
	expect_uint(m, "id", 0);
	expect_str(m, "code", "bad_request");
}

static void
test_wire_enc_pong_lag_end_bye_have_every_field(void **state)
{
	struct wt		*t = *state;
	static const char *const pong_id[] = { "op", "id" };
	static const char *const pong[] = { "op" };
	static const char *const lag[] = {
		"op", "sid", "dropped", "first", "last"
	};
	static const char *const end[] = { "op", "sid" };
	static const char *const bye[] = { "op", "reason" };
	const msgpack_object	*m;

	assert_int_equal(wire_enc_pong(&t->sb, true, 12345), 0);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, pong_id, nitems(pong_id));
	expect_str(m, "op", "pong");
	expect_uint(m, "id", 12345);

	msgpack_sbuffer_clear(&t->sb);
	assert_int_equal(wire_enc_pong(&t->sb, false, 12345), 0);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, pong, nitems(pong));
	expect_str(m, "op", "pong");

	msgpack_sbuffer_clear(&t->sb);
	assert_int_equal(wire_enc_lag(&t->sb, 65536, 3, "5-0", "5-2"), 0);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, lag, nitems(lag));
	expect_str(m, "op", "lag");
	expect_uint(m, "sid", 65536);
	expect_uint(m, "dropped", 3);
	expect_str(m, "first", "5-0");
	expect_str(m, "last", "5-2");

	msgpack_sbuffer_clear(&t->sb);
	assert_int_equal(wire_enc_end(&t->sb, UINT64_MAX), 0);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, end, nitems(end));
	expect_str(m, "op", "end");
	expect_uint(m, "sid", UINT64_MAX);

	msgpack_sbuffer_clear(&t->sb);
	assert_int_equal(wire_enc_bye(&t->sb, "shutting down"), 0);
	m = decode_only_frame(t, &t->sb);
	expect_keys(m, bye, nitems(bye));
	expect_str(m, "op", "bye");
	expect_str(m, "reason", "shutting down");
}

static void
test_wire_encoders_append_frames_back_to_back(void **state)
{
	struct wt	*t = *state;
	msgpack_packer	 pk;
	size_t		 off = 0, start;

	assert_int_equal(wire_enc_ack(&t->sb, 1), 0);
	assert_int_equal(wire_enc_err(&t->sb, false, 0, WIRE_LIMIT, "l"), 0);
	/* A frame packed by hand between the encoders. */
	start = wire_frame_begin(&t->sb);
	assert_true(start != (size_t)-1);
	msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	pack_key(&pk, "op");
	pack_key(&pk, "stats");
	wire_frame_end(&t->sb, start);
	assert_int_equal(wire_enc_end(&t->sb, 5), 0);

	off += decode_frame(t, t->sb.data + off, t->sb.size - off);
	expect_str(&t->root, "op", "ack");
	expect_uint(&t->root, "id", 1);
	off += decode_frame(t, t->sb.data + off, t->sb.size - off);
	expect_str(&t->root, "op", "err");
	expect_str(&t->root, "code", "limit");
	assert_int_equal(wire_frame_len((unsigned char *)t->sb.data + off), 10);
	off += decode_frame(t, t->sb.data + off, t->sb.size - off);
	expect_str(&t->root, "op", "stats");
	off += decode_frame(t, t->sb.data + off, t->sb.size - off);
	expect_str(&t->root, "op", "end");
	expect_uint(&t->root, "sid", 5);
	assert_int_equal(off, t->sb.size);
}

/* Bytes the per-subscriber prefix takes for sid. */
static size_t
prefix_len(uint64_t sid)
{
	size_t	w = sid <= 0x7f ? 0 : sid <= 0xff ? 1 : sid <= 0xffff ? 2 :
		    sid <= 0xffffffffULL ? 4 : 8;

	return (WIRE_HDR_LEN + 1 + 4 + 1 + w);
}

/*
 * One shared tail per variant (pattern, hdr, str or bin body), a prefix per
 * sid: each frame decodes to exactly the SPEC msg fields.
 */
static void
test_wire_msg_frame_from_prefix_and_tail_has_every_field(void **state)
{
	struct wt		*t = *state;
	static const uint64_t	 sids[] = {
		0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffULL,
		1ULL << 32, UINT64_MAX
	};
	static const char *const base_keys[] = {
		"op", "sid", "eid", "from", "to", "kind", "pri", "agent",
		"session", "model", "ts", "body", "pattern", "hdr"
	};
	static const char	 bin[] = "\x00\xff\x01msg";
	const char		*keys[nitems(base_keys)];
	unsigned char		 pre[WIRE_PREFIX_MAX];
	struct wire_msg		 m;
	const msgpack_object	*h;
	char			*frame;
	size_t			 plen, flen, nkeys, i, s;
	int			 variant, pairs;
	bool			 with_pattern, with_hdr, str_body;

	for (variant = 0; variant < 8; variant++) {
		with_pattern = variant & 1;
		with_hdr = variant & 2;
		str_body = variant & 4;

		memset(&m, 0, sizeof(m));
		m.eid = (struct wire_str){ "1700000000123-7", 15 };
		m.from = (struct wire_str){ "internal", 8 };
		m.to = (struct wire_str){ "external", 8 };
		m.kind = (struct wire_str){ "bframe", 6 };
		m.pri = 0.75;
		m.agent = (struct wire_str){ "agent-1", 7 };
		m.session = (struct wire_str){ "sess-1", 6 };
		m.model = (struct wire_str){ "model-1", 7 };
		m.ts_us = variant % 2 ? 1700000000123456LL : 0;
		if (str_body)
			m.body = (struct wire_str){ "hello \xc3\xa9", 8 };
		else
			m.body = (struct wire_str){ bin, sizeof(bin) - 1 };
		m.body_is_str = str_body;
		if (with_pattern)
			m.pattern = (struct wire_str){ "p-1", 3 };
		if (with_hdr) {
			msgpack_packer	hpk;

			msgpack_sbuffer_clear(&t->hdr);
			msgpack_packer_init(&hpk, &t->hdr,
			    msgpack_sbuffer_write);
			hdr_two(&hpk);
			m.hdr = (struct wire_str){ t->hdr.data,
			    (uint32_t)t->hdr.size };
		}
		nkeys = 0;
		for (i = 0; i < nitems(base_keys); i++) {
			if ((!with_pattern &&
			    strcmp(base_keys[i], "pattern") == 0) ||
			    (!with_hdr && strcmp(base_keys[i], "hdr") == 0))
				continue;
			keys[nkeys++] = base_keys[i];
		}

		msgpack_sbuffer_clear(&t->aux);
		pairs = wire_enc_msg_tail(&t->aux, &m);
		assert_int_equal(pairs, 11 + with_pattern + with_hdr);
		assert_int_equal((size_t)pairs + 1, nkeys);

		for (s = 0; s < nitems(sids); s++) {
			memset(pre, 0xee, sizeof(pre));
			plen = wire_msg_prefix(pre, (uint32_t)pairs,
			    t->aux.size, sids[s]);
			assert_int_equal(plen, prefix_len(sids[s]));
			assert_true(plen <= WIRE_PREFIX_MAX);
			flen = plen + t->aux.size;
			/* The length covers the rest of prefix and the tail. */
			assert_int_equal(wire_frame_len(pre),
			    flen - WIRE_HDR_LEN);
			assert_non_null(frame = malloc(flen));
			memcpy(frame, pre, plen);
			memcpy(frame + plen, t->aux.data, t->aux.size);
			assert_int_equal(decode_frame(t, frame, flen), flen);
			free(frame);

			expect_keys(&t->root, keys, nkeys);
			expect_str(&t->root, "op", "msg");
			expect_uint(&t->root, "sid", sids[s]);
			expect_str(&t->root, "eid", "1700000000123-7");
			expect_str(&t->root, "from", "internal");
			expect_str(&t->root, "to", "external");
			expect_str(&t->root, "kind", "bframe");
			assert_int_equal(field(&t->root, "pri")->type,
			    MSGPACK_OBJECT_FLOAT64);
			assert_true(field(&t->root, "pri")->via.f64 == 0.75);
			expect_str(&t->root, "agent", "agent-1");
			expect_str(&t->root, "session", "sess-1");
			expect_str(&t->root, "model", "model-1");
			expect_int(&t->root, "ts", m.ts_us);
			if (str_body)
				expect_bytes(&t->root, "body",
				    MSGPACK_OBJECT_STR, "hello \xc3\xa9", 8);
			else
				expect_bytes(&t->root, "body",
				    MSGPACK_OBJECT_BIN, bin, sizeof(bin) - 1);
			if (with_pattern)
				expect_str(&t->root, "pattern", "p-1");
			if (with_hdr) {
				h = field(&t->root, "hdr");
				assert_int_equal(h->type, MSGPACK_OBJECT_MAP);
				assert_int_equal(h->via.map.size, 2);
				expect_str(h, "corr", "c-1");
				expect_str(h, "traceparent", "00-0af7651916cd"
				    "43dd8448eb211c80319c-b7ad6b7169203331-01");
			}
			/* The client reads it back as a well-formed request
			 * map too: a msg from a client is still unknown_op. */
			assert_int_equal(parse_root(t), WIRE_UNKNOWN_OP);
		}
	}
}

static void
test_wire_msg_with_empty_fields_and_negative_ts_decodes(void **state)
{
	struct wt		*t = *state;
	unsigned char		 pre[WIRE_PREFIX_MAX];
	struct wire_msg		 m;
	char			*frame;
	size_t			 plen, flen;
	int			 pairs;

	/* Absent strings go out as "", an empty body as empty bin. */
	memset(&m, 0, sizeof(m));
	m.ts_us = -5;
	m.pri = 0.0;
	pairs = wire_enc_msg_tail(&t->aux, &m);
	assert_int_equal(pairs, 11);
	plen = wire_msg_prefix(pre, (uint32_t)pairs, t->aux.size, 300);
	flen = plen + t->aux.size;
	assert_non_null(frame = malloc(flen));
	memcpy(frame, pre, plen);
	memcpy(frame + plen, t->aux.data, t->aux.size);
	assert_int_equal(decode_frame(t, frame, flen), flen);
	free(frame);
	assert_int_equal(t->root.via.map.size, 12);
	expect_uint(&t->root, "sid", 300);
	expect_str(&t->root, "eid", "");
	expect_str(&t->root, "agent", "");
	expect_int(&t->root, "ts", -5);
	expect_bytes(&t->root, "body", MSGPACK_OBJECT_BIN, "", 0);
	assert_null(wire_map_get(&t->root, "pattern"));
	assert_null(wire_map_get(&t->root, "hdr"));
}

/* 15 tail pairs make 16 with sid: the prefix switches to map16. */
/* wire_msg_tail_size is exact across every header width and option. */
static void
test_wire_msg_tail_size_is_exact(void **state)
{
	static const uint32_t	 lens[] = { 0, 1, 31, 32, 255, 256, 65535,
				    65536, 70000 };
	static char		 big[70000];
	struct wire_msg		 m;
	char			*buf;
	uint32_t		 pairs;
	size_t			 i, opt;

	(void)state;
	memset(big, 'x', sizeof(big));
	for (i = 0; i < nitems(lens); i++) {
		for (opt = 0; opt < 8; opt++) {
			memset(&m, 0, sizeof(m));
			m.eid.ptr = "1700000000000-12";
			m.eid.len = 16;
			m.from.ptr = m.to.ptr = big;
			m.from.len = lens[i] > 64 ? 64 : lens[i];
			m.to.len = 3;
			m.kind.ptr = "msg";
			m.kind.len = 3;
			m.agent.ptr = m.session.ptr = m.model.ptr = big;
			m.agent.len = lens[i] > 256 ? 256 : lens[i];
			m.session.len = 32;
			m.body.ptr = big;
			m.body.len = lens[i];
			m.body_is_str = (opt & 1) != 0;
			if (opt & 2) {
				m.pattern.ptr = big;
				m.pattern.len = lens[i] > 1024 ? 1024 : lens[i];
			}
			if (opt & 4) {
				m.hdr.ptr = "\x81\xa1k\xa1v";
				m.hdr.len = 5;
			}
			buf = malloc(wire_msg_tail_bound(&m));
			assert_non_null(buf);
			assert_int_equal(wire_msg_tail_size(&m),
			    wire_msg_tail_write(buf, &m, &pairs));
			free(buf);
		}
	}
}

/* A welcome cut to fit says so; a whole one does not carry the key. */
static void
test_wire_enc_welcome_truncated_flag(void **state)
{
	struct wt		*t = *state;
	static const char *const tracts[] = { "internal" };
	const msgpack_object	*m;

	assert_int_equal(wire_enc_welcome(&t->sb, false, 0, 1, 4096, tracts,
	    nitems(tracts), true), 0);
	m = decode_only_frame(t, &t->sb);
	assert_non_null(field(m, "truncated"));
	assert_int_equal(field(m, "truncated")->type, MSGPACK_OBJECT_BOOLEAN);
	assert_true(field(m, "truncated")->via.boolean);
	msgpack_sbuffer_clear(&t->sb);
	assert_int_equal(wire_enc_welcome(&t->sb, false, 0, 1, 4096, tracts,
	    nitems(tracts), false), 0);
	m = decode_only_frame(t, &t->sb);
	assert_null(wire_map_get(m, "truncated"));
}

static void
test_wire_msg_prefix_uses_map16_past_15_pairs(void **state)
{
	struct wt	*t = *state;
	unsigned char	 pre[WIRE_PREFIX_MAX];
	msgpack_packer	 pk;
	char		*frame, key[24];
	size_t		 plen, flen, i;

	msgpack_packer_init(&pk, &t->aux, msgpack_sbuffer_write);
	for (i = 0; i < 15; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		pack_key(&pk, key);
		msgpack_pack_uint64(&pk, i);
	}
	plen = wire_msg_prefix(pre, 15, t->aux.size, UINT64_MAX);
	assert_int_equal(plen, WIRE_HDR_LEN + 3 + 4 + 9);
	assert_true(plen <= WIRE_PREFIX_MAX);
	assert_memory_equal(pre + WIRE_HDR_LEN, "\xde\x00\x10\xa3sid\xcf", 8);
	flen = plen + t->aux.size;
	assert_int_equal(wire_frame_len(pre), flen - WIRE_HDR_LEN);
	assert_non_null(frame = malloc(flen));
	memcpy(frame, pre, plen);
	memcpy(frame + plen, t->aux.data, t->aux.size);
	assert_int_equal(decode_frame(t, frame, flen), flen);
	free(frame);
	assert_int_equal(t->root.via.map.size, 16);
	expect_uint(&t->root, "sid", UINT64_MAX);
	expect_uint(&t->root, "k14", 14);

	/* 14 tail pairs still fit a fixmap. */
	plen = wire_msg_prefix(pre, 14, 0, 5);
	assert_int_equal(plen, WIRE_HDR_LEN + 1 + 4 + 1);
	assert_memory_equal(pre + WIRE_HDR_LEN, "\x8f\xa3sid\x05", 6);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		T(test_wire_frame_len_round_trips_big_endian),
		T(test_wire_decode_accepts_one_map_in_each_map_form),
		T(test_wire_empty_body_is_bad_frame),
		T(test_wire_non_map_top_level_is_bad_frame),
		T(test_wire_trailing_bytes_is_bad_frame),
		T(test_wire_truncated_msgpack_is_bad_frame_at_every_cut),
		T(test_wire_byte_c1_is_bad_frame),
		T(test_wire_max_depth_accepted_one_deeper_is_bad_frame),
		T(test_wire_empty_container_past_max_depth_is_bad_frame),
		T(test_wire_map32_claiming_4g_pairs_is_bad_frame),
		T(test_wire_array32_claiming_2g_elements_is_bad_frame),
		T(test_wire_str32_claiming_4g_is_bad_frame),
		T(test_wire_ext_and_fixext_are_accepted),
		T(test_wire_every_msgpack_type_is_accepted_as_a_value),
		T(test_wire_check_and_decode_agree_on_every_one_byte_mutation),
		T(test_wire_decoder_reused_for_10000_frames),
		T(test_wire_map_get_finds_str_keys_only),
		T(test_wire_stream_split_at_any_byte_yields_the_three_maps),
		T(test_wire_parse_hello_minimal_and_full),
		T(test_wire_parse_hello_accepts_v1_or_absent_and_rejects_v2),
		T(test_wire_parse_hello_requires_agent),
		T(test_wire_parse_pub_minimal_leaves_optional_fields_unset),
		T(test_wire_parse_pub_full_fills_every_field),
		T(test_wire_parse_pub_requires_to_and_body),
		T(test_wire_parse_pub_body_str_sets_body_is_str_bin_does_not),
		T(test_wire_parse_pub_duplicate_body_last_one_wins),
		T(test_wire_parse_pub_empty_body_is_accepted),
		T(test_wire_parse_pub_pri_in_0_to_1_is_accepted),
		T(test_wire_parse_pub_hdr_at_its_limits_is_accepted),
		T(test_wire_parse_sub_minimal_and_full),
		T(test_wire_parse_sub_edge_values_are_accepted),
		T(test_wire_parse_req_n_huge_saturates_to_int64_max),
		T(test_wire_parse_unsub_replay_ping_stats),
		T(test_wire_parse_conns_takes_only_an_id),
		T(test_wire_parse_nil_is_absent_for_optional_fields),
		T(test_wire_parse_unknown_keys_are_ignored),
		T(test_wire_parse_wrong_field_is_bad_request_with_id),
		T(test_wire_parse_missing_op_is_bad_request),
		T(test_wire_parse_unknown_op_is_unknown_op_with_id),
		T(test_wire_parse_server_op_from_client_is_unknown_op),
		T(test_wire_parse_client_ops_are_hello_to_conns),
		T(test_wire_parse_id_of_wrong_type_is_bad_request),
		T(test_wire_parse_root_not_a_map_is_bad_request),
		T(test_wire_parse_invalid_utf8_is_bad_request_naming_the_field),
		T(test_wire_parse_utf8_text_is_accepted_in_every_text_field),
		T(test_wire_parse_1_mib_str_body_is_checked_to_its_last_byte),
		T(test_wire_parse_utf8_applies_to_text_fields_only),
		T(test_wire_tract_name_ok_follows_the_spec_pattern),
		T(test_wire_tract_reserved_is_a_leading_dollar),
		T(test_wire_demand_add_saturates_at_int64_max),
		T(test_wire_code_names_are_the_spec_error_codes),
		T(test_wire_op_lookup_and_name_round_trip),
		T(test_wire_enc_welcome_has_every_field),
		T(test_wire_enc_welcome_truncated_flag),
		T(test_wire_msg_tail_size_is_exact),
		T(test_wire_enc_ack_and_ack_pub_have_every_field),
		T(test_wire_enc_err_carries_id_only_when_given),
		T(test_wire_enc_pong_lag_end_bye_have_every_field),
		T(test_wire_encoders_append_frames_back_to_back),
		T(test_wire_msg_frame_from_prefix_and_tail_has_every_field),
		T(test_wire_msg_with_empty_fields_and_negative_ts_decodes),
		T(test_wire_msg_prefix_uses_map16_past_15_pairs),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
