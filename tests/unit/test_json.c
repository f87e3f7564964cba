/*
 * test_json: router/lib/json.h: escaping, UTF-8 text versus base64 (and
 * "body_b64"), RFC 4648 vectors, nesting, numbers, non-string keys, and a
 * failed render leaving the buffer as it was.
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

/* Objects are packed into sb, decoded into zone, rendered into out. */
struct fixture {
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
	msgpack_zone	zone;
	struct json_buf	out;
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	msgpack_sbuffer_init(&f->sb);
	msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
	if (!msgpack_zone_init(&f->zone, 4096)) {
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

/* Renders what was packed and returns the text. */
static const char *
rendered(struct fixture *f)
{
	msgpack_object	o = unpacked(f);

	json_buf_clear(&f->out);
	assert_int_equal(json_render(&f->out, &o), 0);
	assert_int_equal(strlen(f->out.data), f->out.len);
	return (f->out.data);
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

static void
pack_bin(struct fixture *f, const char *s, size_t len)
{
	msgpack_pack_bin(&f->pk, len);
	msgpack_pack_bin_body(&f->pk, s, len);
}

static void
test_json_escapes_quote_backslash_and_controls(void **state)
{
	struct fixture	*f = *state;
	const char	 s[] = "a\"b\\c/\n\t\r\b\f\x01\x1f\x7f";

	pack_str(f, s, sizeof(s) - 1);
	assert_string_equal(rendered(f),
	    "\"a\\\"b\\\\c/\\n\\t\\r\\b\\f\\u0001\\u001f\x7f\"");
}

static void
test_json_nul_byte_is_u0000(void **state)
{
	struct fixture	*f = *state;

	pack_str(f, "a\0b", 3);
	assert_string_equal(rendered(f), "\"a\\u0000b\"");
}

static void
test_json_valid_utf8_passes_through(void **state)
{
	struct fixture	*f = *state;

	/* 2-, 3- and 4-byte sequences: é, €, U+1D11E. */
	pack_cstr(f, "h\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
	assert_string_equal(rendered(f),
	    "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e\"");
}

static void
test_json_invalid_utf8_str_is_base64_string(void **state)
{
	struct fixture	*f = *state;

	pack_str(f, "\xff\xfe", 2);
	assert_string_equal(rendered(f), "\"//4=\"");
}

static void
test_json_valid_utf8_bin_is_text(void **state)
{
	struct fixture	*f = *state;

	pack_bin(f, "hi", 2);
	assert_string_equal(rendered(f), "\"hi\"");
}

static void
test_json_invalid_body_is_body_b64(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 3);
	pack_cstr(f, "op");
	pack_cstr(f, "msg");
	pack_cstr(f, "body");
	pack_bin(f, "\x00\xff", 2);
	pack_cstr(f, "other");
	pack_bin(f, "\xc3\x28", 2);
	assert_string_equal(rendered(f),
	    "{\"op\":\"msg\",\"body_b64\":\"AP8=\",\"other\":\"wyg=\"}");
}

static void
test_json_invalid_str_body_is_body_b64(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "body");
	pack_str(f, "\xed\xa0\x80", 3);
	assert_string_equal(rendered(f), "{\"body_b64\":\"7aCA\"}");
}

static void
test_json_text_body_keeps_key_body(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 2);
	pack_cstr(f, "body");
	pack_bin(f, "line\n", 5);
	pack_cstr(f, "sid");
	msgpack_pack_uint64(&f->pk, 1);
	assert_string_equal(rendered(f), "{\"body\":\"line\\n\",\"sid\":1}");
}

static void
test_json_empty_body_is_empty_string(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "body");
	pack_bin(f, "", 0);
	assert_string_equal(rendered(f), "{\"body\":\"\"}");
}

static void
test_json_nested_maps_and_arrays(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 3);
	pack_cstr(f, "a");
	msgpack_pack_array(&f->pk, 6);
	msgpack_pack_uint64(&f->pk, 1);
	msgpack_pack_int64(&f->pk, -2);
	msgpack_pack_true(&f->pk);
	msgpack_pack_false(&f->pk);
	msgpack_pack_nil(&f->pk);
	msgpack_pack_map(&f->pk, 1);
	pack_cstr(f, "b");
	msgpack_pack_array(&f->pk, 1);
	pack_cstr(f, "c");
	pack_cstr(f, "d");
	msgpack_pack_map(&f->pk, 0);
	pack_cstr(f, "e");
	msgpack_pack_array(&f->pk, 0);
	assert_string_equal(rendered(f),
	    "{\"a\":[1,-2,true,false,null,{\"b\":[\"c\"]}],\"d\":{},\"e\":[]}");
}

static void
test_json_integers_keep_full_range(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_array(&f->pk, 6);
	msgpack_pack_uint64(&f->pk, 0);
	msgpack_pack_uint64(&f->pk, 127);
	msgpack_pack_uint64(&f->pk, UINT64_MAX);
	msgpack_pack_int64(&f->pk, -1);
	msgpack_pack_int64(&f->pk, -129);
	msgpack_pack_int64(&f->pk, INT64_MIN);
	assert_string_equal(rendered(f), "[0,127,18446744073709551615,-1,"
	    "-129,-9223372036854775808]");
}

static void
test_json_floats_are_shortest_round_trip(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_array(&f->pk, 9);
	msgpack_pack_double(&f->pk, 0.5);
	msgpack_pack_double(&f->pk, 0.1);
	msgpack_pack_double(&f->pk, 1.0);
	msgpack_pack_double(&f->pk, -0.25);
	msgpack_pack_double(&f->pk, 1.0 / 3.0);
	msgpack_pack_double(&f->pk, 1e300);
	msgpack_pack_double(&f->pk, 0.1 + 0.2);
	msgpack_pack_double(&f->pk, 123456789.0);
	msgpack_pack_float(&f->pk, 0.1f);
	assert_string_equal(rendered(f), "[0.5,0.1,1.0,-0.25,"
	    "0.3333333333333333,1e+300,0.30000000000000004,123456789.0,0.1]");
}

static void
test_json_nan_and_infinity_are_null(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_array(&f->pk, 3);
	msgpack_pack_double(&f->pk, NAN);
	msgpack_pack_double(&f->pk, INFINITY);
	msgpack_pack_double(&f->pk, -INFINITY);
	assert_string_equal(rendered(f), "[null,null,null]");
}

static void
test_json_non_string_keys_become_their_json_text(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_map(&f->pk, 4);
	msgpack_pack_uint64(&f->pk, 1);
	pack_cstr(f, "a");
	msgpack_pack_array(&f->pk, 2);
	msgpack_pack_uint64(&f->pk, 1);
	pack_cstr(f, "x");
	msgpack_pack_uint64(&f->pk, 3);
	msgpack_pack_nil(&f->pk);
	msgpack_pack_true(&f->pk);
	pack_cstr(f, "q\"");
	msgpack_pack_int64(&f->pk, -5);
	assert_string_equal(rendered(f),
	    "{\"1\":\"a\",\"[1,\\\"x\\\"]\":3,\"null\":true,\"q\\\"\":-5}");
}

static void
test_json_ext_is_type_and_base64(void **state)
{
	struct fixture	*f = *state;

	msgpack_pack_ext(&f->pk, 2, 5);
	msgpack_pack_ext_body(&f->pk, "\x01\x02", 2);
	assert_string_equal(rendered(f), "{\"ext\":5,\"data_b64\":\"AQI=\"}");
}

static void
test_json_render_appends_to_the_buffer(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 o;

	pack_cstr(f, "x");
	o = unpacked(f);
	assert_int_equal(json_buf_add(&f->out, "pre ", 4), 0);
	assert_int_equal(json_render(&f->out, &o), 0);
	assert_string_equal(f->out.data, "pre \"x\"");
	assert_int_equal(f->out.len, 7);
}

static void
test_json_render_map_leaves_out_omitted_keys(void **state)
{
	struct fixture		*f = *state;
	static const char *const omit[] = { "op", "id", NULL };
	msgpack_object		 o;

	msgpack_pack_map(&f->pk, 4);
	pack_cstr(f, "op");
	pack_cstr(f, "ack");
	pack_cstr(f, "id");
	msgpack_pack_uint64(&f->pk, 7);
	pack_cstr(f, "eid");
	pack_cstr(f, "1700000000000-0");
	pack_cstr(f, "stored");
	pack_cstr(f, "memory");
	o = unpacked(f);
	assert_int_equal(json_render_map(&f->out, &o, omit), 0);
	assert_string_equal(f->out.data,
	    "{\"eid\":\"1700000000000-0\",\"stored\":\"memory\"}");
}

static void
test_json_render_map_of_a_non_map_is_einval(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 o;

	msgpack_pack_uint64(&f->pk, 1);
	o = unpacked(f);
	errno = 0;
	assert_int_equal(json_render_map(&f->out, &o, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(f->out.len, 0);
}

static void
test_json_too_deep_fails_and_leaves_buffer_unchanged(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 objs[JSON_MAX_DEPTH + 2];
	size_t		 i;

	/* msgpack-c would not decode this deep, so build it by hand. */
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++) {
		objs[i].type = MSGPACK_OBJECT_ARRAY;
		objs[i].via.array.size = 1;
		objs[i].via.array.ptr = &objs[i + 1];
	}
	objs[i].type = MSGPACK_OBJECT_NIL;
	assert_int_equal(json_buf_add(&f->out, "keep", 4), 0);
	errno = 0;
	assert_int_equal(json_render(&f->out, &objs[0]), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(f->out.data, "keep");
	assert_int_equal(f->out.len, 4);

	/* JSON_MAX_DEPTH containers are still fine. */
	json_buf_clear(&f->out);
	assert_int_equal(json_render(&f->out, &objs[1]), 0);
	assert_int_equal(f->out.len, 2 * JSON_MAX_DEPTH + 4);
}

static void
test_json_large_string_grows_the_buffer(void **state)
{
	struct fixture	*f = *state;
	char		*s;
	size_t		 n = 100000, i;

	assert_non_null(s = malloc(n));
	for (i = 0; i < n; i++)
		s[i] = i % 100 == 99 ? '\n' : 'a';
	pack_str(f, s, n);
	free(s);
	rendered(f);
	/* Quotes, plus one extra byte per escaped newline. */
	assert_int_equal(f->out.len, n + 2 + n / 100);
	assert_true(f->out.cap > f->out.len);
}

static void
test_json_put_bytes_chooses_text_or_base64(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(json_put_bytes(&f->out, "ok", 2), 0);
	assert_int_equal(json_put_bytes(&f->out, "\x80", 1), 0);
	assert_string_equal(f->out.data, "\"ok\"\"gA==\"");
}

static void
test_utf8_valid_accepts_well_formed(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("plain ascii", 11));
	assert_true(utf8_valid("\xc2\x80", 2));		/* U+0080 */
	assert_true(utf8_valid("\xdf\xbf", 2));		/* U+07FF */
	assert_true(utf8_valid("\xe0\xa0\x80", 3));	/* U+0800 */
	assert_true(utf8_valid("\xed\x9f\xbf", 3));	/* U+D7FF */
	assert_true(utf8_valid("\xee\x80\x80", 3));	/* U+E000 */
	assert_true(utf8_valid("\xef\xbf\xbf", 3));	/* U+FFFF */
	assert_true(utf8_valid("\xf0\x90\x80\x80", 4));	/* U+10000 */
	assert_true(utf8_valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	assert_true(utf8_valid("a\0b", 3));
}

static void
test_utf8_valid_rejects_malformed(void **state)
{
	(void)state;
	assert_false(utf8_valid("\x80", 1));		/* lone continuation */
	assert_false(utf8_valid("\xc0\x80", 2));	/* overlong NUL */
	assert_false(utf8_valid("\xc1\xbf", 2));	/* overlong */
	assert_false(utf8_valid("\xe0\x9f\xbf", 3));	/* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(utf8_valid("\xf0\x8f\xbf\xbf", 4)); /* overlong */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid("\xf5\x80\x80\x80", 4));
	assert_false(utf8_valid("\xff", 1));
	assert_false(utf8_valid("\xe2\x82", 2));	/* truncated */
	assert_false(utf8_valid("\xe2\x28\xa1", 3));	/* bad continuation */
	assert_false(utf8_valid("ok\xc3", 3));		/* truncated at end */
}

static void
test_base64_matches_rfc4648_vectors(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char	out[16];
	size_t	i, len;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		len = strlen(v[i].in);
		assert_int_equal(base64_encoded_len(len), strlen(v[i].out));
		assert_int_equal(base64_encode(out, v[i].in, len),
		    strlen(v[i].out));
		assert_string_equal(out, v[i].out);
	}
}

static void
test_base64_uses_the_whole_alphabet(void **state)
{
	static const unsigned char in[] = { 0x00, 0x10, 0x83, 0x10, 0x51,
	    0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51,
	    0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3,
	    0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c,
	    0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf };
	char	out[80];

	(void)state;
	assert_int_equal(base64_encode(out, in, sizeof(in)), 64);
	assert_string_equal(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	    "tuvwxyz0123456789+/");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_json_escapes_quote_backslash_and_controls),
		T(test_json_nul_byte_is_u0000),
		T(test_json_valid_utf8_passes_through),
		T(test_json_invalid_utf8_str_is_base64_string),
		T(test_json_valid_utf8_bin_is_text),
		T(test_json_invalid_body_is_body_b64),
		T(test_json_invalid_str_body_is_body_b64),
		T(test_json_text_body_keeps_key_body),
		T(test_json_empty_body_is_empty_string),
		T(test_json_nested_maps_and_arrays),
		T(test_json_integers_keep_full_range),
		T(test_json_floats_are_shortest_round_trip),
		T(test_json_nan_and_infinity_are_null),
		T(test_json_non_string_keys_become_their_json_text),
		T(test_json_ext_is_type_and_base64),
		T(test_json_render_appends_to_the_buffer),
		T(test_json_render_map_leaves_out_omitted_keys),
		T(test_json_render_map_of_a_non_map_is_einval),
		T(test_json_too_deep_fails_and_leaves_buffer_unchanged),
		T(test_json_large_string_grows_the_buffer),
		T(test_json_put_bytes_chooses_text_or_base64),
		T(test_utf8_valid_accepts_well_formed),
		T(test_utf8_valid_rejects_malformed),
		T(test_base64_matches_rfc4648_vectors),
		T(test_base64_uses_the_whole_alphabet),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
