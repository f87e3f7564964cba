/*
 * json: msgpack objects as one line of JSON text. See json.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/lib/json.h"

static int	json_render_at(struct json_buf *, const msgpack_object *, int);
static int	json_render_map_at(struct json_buf *, const msgpack_object *,
		    const char *const *, int);

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
json_buf_init(struct json_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
json_buf_free(struct json_buf *b)
{
	free(b->data);
	json_buf_init(b);
}

void
json_buf_clear(struct json_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Makes room for n more bytes and the NUL. Nothing changes on failure. */
static int
json_buf_reserve(struct json_buf *b, size_t n)
{
	size_t	 need, cap;
	char	*p;

	if (n > SIZE_MAX - b->len - 1) {
		errno = ENOMEM;
		return (-1);
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return (0);
	cap = b->cap == 0 ? 256 : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return (-1);
	b->data = p;
	b->cap = cap;
	return (0);
}

int
json_buf_add(struct json_buf *b, const void *p, size_t len)
{
	if (json_buf_reserve(b, len) == -1)
		return (-1);
	if (len != 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return (0);
}

static int
json_buf_addc(struct json_buf *b, char c)
{
	return (json_buf_add(b, &c, 1));
}

static int
json_buf_adds(struct json_buf *b, const char *s)
{
	return (json_buf_add(b, s, strlen(s)));
}

/* Drops whatever a failed call appended after len, keeping errno. */
static int
json_buf_undo(struct json_buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
	return (-1);
}

size_t
base64_encoded_len(size_t len)
{
	return ((len + 2) / 3 * 4);
}

size_t
base64_encode(char *out, const void *in, size_t len)
{
	const unsigned char	*p = in;
	char			*o = out;
	uint32_t		 v;

	for (; len >= 3; p += 3, len -= 3) {
		v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		*o++ = base64_alphabet[v >> 18];
		*o++ = base64_alphabet[(v >> 12) & 0x3f];
		*o++ = base64_alphabet[(v >> 6) & 0x3f];
		*o++ = base64_alphabet[v & 0x3f];
	}
	if (len != 0) {
		v = (uint32_t)p[0] << 16;
		if (len == 2)
			v |= (uint32_t)p[1] << 8;
		*o++ = base64_alphabet[v >> 18];
		*o++ = base64_alphabet[(v >> 12) & 0x3f];
		*o++ = len == 2 ? base64_alphabet[(v >> 6) & 0x3f] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return ((size_t)(o - out));
}

/* Appends the base64 of s, quoted. */
static int
json_put_base64(struct json_buf *b, const void *s, size_t len)
{
	size_t	n = base64_encoded_len(len);

	if (n < len || json_buf_reserve(b, n + 2) == -1) {
		errno = ENOMEM;
		return (-1);
	}
	b->data[b->len++] = '"';
	b->len += base64_encode(b->data + b->len, s, len);
	b->data[b->len++] = '"';
	b->data[b->len] = '\0';
	return (0);
}

/*
 * Appends valid UTF-8 text as a quoted string. The RFC 8259 short escapes
 * are used where they exist; other control characters become \u00XX.
 * Multibyte sequences pass through unchanged.
 */
static int
json_put_text(struct json_buf *b, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 start = b->len, i, run;
	unsigned char		 c;
	char			 esc[6];
	int			 r;

	if (json_buf_addc(b, '"') == -1)
		return (-1);
	for (i = 0; i < len; i = run) {
		/* Copy the longest run that needs no escaping in one go. */
		for (run = i; run < len; run++) {
			c = (unsigned char)s[run];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
		}
		if (run > i && json_buf_add(b, s + i, run - i) == -1)
			return (json_buf_undo(b, start));
		if (run == len)
			break;
		c = (unsigned char)s[run++];
		switch (c) {
		case '"':
			r = json_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			r = json_buf_add(b, "\\\\", 2);
			break;
		case '\b':
			r = json_buf_add(b, "\\b", 2);
			break;
		case '\f':
			r = json_buf_add(b, "\\f", 2);
			break;
		case '\n':
			r = json_buf_add(b, "\\n", 2);
			break;
		case '\r':
			r = json_buf_add(b, "\\r", 2);
			break;
		case '\t':
			r = json_buf_add(b, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			r = json_buf_add(b, esc, sizeof(esc));
			break;
		}
		if (r == -1)
			return (json_buf_undo(b, start));
	}
	if (json_buf_addc(b, '"') == -1)
		return (json_buf_undo(b, start));
	return (0);
}

int
json_put_bytes(struct json_buf *b, const void *s, size_t len)
{
	if (utf8_valid(s, len))
		return (json_put_text(b, s, len));
	return (json_put_base64(b, s, len));
}

/*
 * The shortest of %.15g, %.16g, %.17g that reads back as the same double
 * (a float32 is printed at float precision), so 0.5 is "0.5" and 0.1 is
 * "0.1" while every value still round-trips. Integral values get ".0" so
 * readers keep them floats.
 */
static int
json_put_double(struct json_buf *b, double d, bool single)
{
	char	tmp[40];
	int	prec, n;

	if (!isfinite(d))
		return (json_buf_add(b, "null", 4));
	if (single) {
		for (prec = 6; prec < 9; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
			if (strtof(tmp, NULL) == (float)d)
				break;
		}
	} else {
		for (prec = 15; prec < 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
			if (strtod(tmp, NULL) == d)
				break;
		}
	}
	n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
	if (strspn(tmp, "-0123456789") == (size_t)n)
		memcpy(tmp + n, ".0", 3);
	return (json_buf_adds(b, tmp));
}

static int
json_render_ext(struct json_buf *b, const msgpack_object_ext *e)
{
	char	tmp[32];

	snprintf(tmp, sizeof(tmp), "{\"ext\":%d,\"data_b64\":", (int)e->type);
	if (json_buf_adds(b, tmp) == -1 ||
	    json_put_base64(b, e->ptr, e->size) == -1 ||
	    json_buf_addc(b, '}') == -1)
		return (-1);
	return (0);
}

/* A key: strings as such, anything else as its JSON text in a string. */
static int
json_render_key(struct json_buf *b, const msgpack_object *k, int depth)
{
	struct json_buf	tmp;
	int		r;

	if (k->type == MSGPACK_OBJECT_STR)
		return (json_put_bytes(b, k->via.str.ptr, k->via.str.size));
	if (k->type == MSGPACK_OBJECT_BIN)
		return (json_put_bytes(b, k->via.bin.ptr, k->via.bin.size));
	json_buf_init(&tmp);
	if ((r = json_render_at(&tmp, k, depth)) == 0)
		r = json_put_text(b, tmp.data, tmp.len);
	json_buf_free(&tmp);
	return (r);
}

static bool
json_key_is(const msgpack_object *k, const char *s)
{
	size_t	len = strlen(s);

	return (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len &&
	    memcmp(k->via.str.ptr, s, len) == 0);
}

static bool
json_key_omitted(const msgpack_object *k, const char *const *omit)
{
	if (omit == NULL)
		return (false);
	for (; *omit != NULL; omit++) {
		if (json_key_is(k, *omit))
			return (true);
	}
	return (false);
}

static int
json_render_map_at(struct json_buf *b, const msgpack_object *o,
    const char *const *omit, int depth)
{
	const msgpack_object_kv	*kv;
	const msgpack_object	*v;
	const char		*p;
	size_t			 len;
	uint32_t		 i;
	bool			 first = true;

	if (json_buf_addc(b, '{') == -1)
		return (-1);
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		v = &kv->val;
		if (json_key_omitted(&kv->key, omit))
			continue;
		if (!first && json_buf_addc(b, ',') == -1)
			return (-1);
		first = false;

		/*
		 * SPEC: a body that is not valid UTF-8 is shown as base64
		 * under "body_b64", so the key says how to read the value.
		 */
		if (json_key_is(&kv->key, "body") &&
		    (v->type == MSGPACK_OBJECT_STR ||
		    v->type == MSGPACK_OBJECT_BIN)) {
			p = v->type == MSGPACK_OBJECT_STR ? v->via.str.ptr :
			    v->via.bin.ptr;
			len = v->type == MSGPACK_OBJECT_STR ? v->via.str.size :
			    v->via.bin.size;
			if (!utf8_valid(p, len)) {
				if (json_buf_adds(b, "\"body_b64\":") == -1 ||
				    json_put_base64(b, p, len) == -1)
					return (-1);
				continue;
			}
		}
		if (json_render_key(b, &kv->key, depth) == -1 ||
		    json_buf_addc(b, ':') == -1 ||
		    json_render_at(b, v, depth) == -1)
			return (-1);
	}
	return (json_buf_addc(b, '}'));
}

/* Appends o; depth counts the containers around it. */
static int
json_render_at(struct json_buf *b, const msgpack_object *o, int depth)
{
	char		tmp[32];
	uint32_t	i;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return (json_buf_add(b, "null", 4));
	case MSGPACK_OBJECT_BOOLEAN:
		return (json_buf_adds(b, o->via.boolean ? "true" : "false"));
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" PRIu64, o->via.u64);
		return (json_buf_adds(b, tmp));
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" PRId64, o->via.i64);
		return (json_buf_adds(b, tmp));
	case MSGPACK_OBJECT_FLOAT32:
		return (json_put_double(b, o->via.f64, true));
	case MSGPACK_OBJECT_FLOAT64:
		return (json_put_double(b, o->via.f64, false));
	case MSGPACK_OBJECT_STR:
		return (json_put_bytes(b, o->via.str.ptr, o->via.str.size));
	case MSGPACK_OBJECT_BIN:
		return (json_put_bytes(b, o->via.bin.ptr, o->via.bin.size));
	case MSGPACK_OBJECT_EXT:
		return (json_render_ext(b, &o->via.ext));
	case MSGPACK_OBJECT_ARRAY:
		if (depth >= JSON_MAX_DEPTH) {
			errno = EINVAL;
			return (-1);
		}
		if (json_buf_addc(b, '[') == -1)
			return (-1);
		for (i = 0; i < o->via.array.size; i++) {
			if (i != 0 && json_buf_addc(b, ',') == -1)
				return (-1);
			if (json_render_at(b, &o->via.array.ptr[i],
			    depth + 1) == -1)
				return (-1);
		}
		return (json_buf_addc(b, ']'));
	case MSGPACK_OBJECT_MAP:
		if (depth >= JSON_MAX_DEPTH) {
			errno = EINVAL;
			return (-1);
		}
		return (json_render_map_at(b, o, NULL, depth + 1));
	}
	errno = EINVAL;
	return (-1);
}

int
json_render(struct json_buf *b, const msgpack_object *o)
{
	size_t	start = b->len;

	if (json_render_at(b, o, 0) == -1)
		return (json_buf_undo(b, start));
	return (0);
}

int
json_render_map(struct json_buf *b, const msgpack_object *map,
    const char *const *omit)
{
	size_t	start = b->len;

	if (map->type != MSGPACK_OBJECT_MAP) {
		errno = EINVAL;
		return (-1);
	}
	if (json_render_map_at(b, map, omit, 1) == -1)
		return (json_buf_undo(b, start));
	return (0);
}
