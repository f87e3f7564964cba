/*
 * bench_wire: the clients' side of protocol v1, made cheap. Publishers copy
 * a frame built once and patch 40 bytes of body (and an id); subscribers
 * read frames with a reader that walks the map in place and keeps nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "bench/bench.h"
#include "router/lib/wire.h"

#define BW_DEPTH_MAX	16	/* nesting the skipper follows */

int
bw_pub_tmpl(struct bw_tmpl *t, const char *to, const char *from,
    size_t body_len, bool with_id)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	size_t		 start;
	char		*zero = NULL;
	int		 rc;

	memset(t, 0, sizeof(*t));
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if ((start = wire_frame_begin(&sb)) == (size_t)-1) {
		msgpack_sbuffer_destroy(&sb);
		return (-1);
	}
	rc = msgpack_pack_map(&pk, with_id ? 5 : 4) |
	    wire_pack_cstr(&pk, "op") | wire_pack_cstr(&pk, "pub") |
	    wire_pack_cstr(&pk, "to") | wire_pack_cstr(&pk, to) |
	    wire_pack_cstr(&pk, "from") | wire_pack_cstr(&pk, from);
	if (with_id) {
		rc |= wire_pack_cstr(&pk, "id");
		t->id_off = sb.size + 1;	/* after the 0xce marker */
		/* Fixed width, so every frame of a template has one length. */
		rc |= msgpack_pack_fix_uint32(&pk, 0);
	}
	rc |= wire_pack_cstr(&pk, "body") | msgpack_pack_bin(&pk, body_len);
	t->body_off = sb.size;
	/* The padding is zeros; the header is patched per message. */
	if (rc == 0 && body_len > 0) {
		if ((zero = calloc(1, body_len)) == NULL)
			rc = -1;
		else
			rc = msgpack_pack_bin_body(&pk, zero, body_len);
		free(zero);
	}
	if (rc != 0 || sb.data == NULL) {
		msgpack_sbuffer_destroy(&sb);
		return (-1);
	}
	wire_frame_end(&sb, start);
	t->len = sb.size;
	t->buf = (unsigned char *)msgpack_sbuffer_release(&sb);
	msgpack_sbuffer_destroy(&sb);
	return (0);
}

void
bw_tmpl_free(struct bw_tmpl *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* Packs into a fixed buffer: the frames here are tiny and bounded. */
struct bw_fixed {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

static int
bw_fixed_write(void *data, const char *buf, size_t len)
{
	struct bw_fixed	*f = data;

	if (f->len + len > f->cap)
		return (-1);
	memcpy(f->p + f->len, buf, len);
	f->len += len;
	return (0);
}

size_t
bw_req(unsigned char *out, uint64_t sid, uint64_t n)
{
	struct bw_fixed	 f = { out, WIRE_HDR_LEN, BW_SMALL_MAX };
	msgpack_packer	 pk;
	int		 rc;

	msgpack_packer_init(&pk, &f, bw_fixed_write);
	rc = msgpack_pack_map(&pk, 3) |
	    msgpack_pack_str_with_body(&pk, "op", 2) |
	    msgpack_pack_str_with_body(&pk, "req", 3) |
	    msgpack_pack_str_with_body(&pk, "sid", 3) |
	    msgpack_pack_uint64(&pk, sid) |
	    msgpack_pack_str_with_body(&pk, "n", 1) |
	    msgpack_pack_uint64(&pk, n);
	if (rc != 0)
		abort();	/* 3 bounded pairs fit in BW_SMALL_MAX */
	wire_put_len(out, (uint32_t)(f.len - WIRE_HDR_LEN));
	return (f.len);
}

size_t
bw_ping(unsigned char *out, uint32_t id)
{
	struct bw_fixed	 f = { out, WIRE_HDR_LEN, BW_SMALL_MAX };
	msgpack_packer	 pk;
	int		 rc;

	msgpack_packer_init(&pk, &f, bw_fixed_write);
	rc = msgpack_pack_map(&pk, 2) |
	    msgpack_pack_str_with_body(&pk, "op", 2) |
	    msgpack_pack_str_with_body(&pk, "ping", 4) |
	    msgpack_pack_str_with_body(&pk, "id", 2) |
	    msgpack_pack_uint32(&pk, id);
	if (rc != 0)
		abort();
	wire_put_len(out, (uint32_t)(f.len - WIRE_HDR_LEN));
	return (f.len);
}

/* A cursor over one frame body; every read checks the bound first. */
struct bw_cur {
	const unsigned char	*p;
	const unsigned char	*end;
};

static int
bw_be(struct bw_cur *c, unsigned n, uint64_t *v)
{
	unsigned	i;

	if ((size_t)(c->end - c->p) < n)
		return (-1);
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | *c->p++;
	return (0);
}

/*
 * Reads a str or bin: 1 str, 2 bin (*ptr, *len set), 0 another type (not
 * consumed), -1 truncated.
 */
static int
bw_bytes(struct bw_cur *c, const unsigned char **ptr, uint32_t *len)
{
	unsigned char	t;
	uint64_t	n;
	int		kind;

	if (c->p >= c->end)
		return (-1);
	t = *c->p;
	if ((t & 0xe0) == 0xa0) {
		c->p++;
		n = t & 0x1f;
		kind = 1;
	} else {
		switch (t) {
		case 0xd9: case 0xda: case 0xdb:
			c->p++;
			kind = 1;
			if (bw_be(c, 1u << (t - 0xd9), &n) == -1)
				return (-1);
			break;
		case 0xc4: case 0xc5: case 0xc6:
			c->p++;
			kind = 2;
			if (bw_be(c, 1u << (t - 0xc4), &n) == -1)
				return (-1);
			break;
		default:
			return (0);	/* not a byte string: not consumed */
		}
	}
	if ((uint64_t)(c->end - c->p) < n)
		return (-1);
	*ptr = c->p;
	*len = (uint32_t)n;
	c->p += n;
	return (kind);
}

/* Reads a non-negative integer. 1 done, 0 another type (not consumed). */
static int
bw_uint(struct bw_cur *c, uint64_t *v)
{
	unsigned char	t;

	if (c->p >= c->end)
		return (-1);
	t = *c->p;
	if (t <= 0x7f) {
		c->p++;
		*v = t;
		return (1);
	}
	if (t >= 0xcc && t <= 0xcf) {
		c->p++;
		return (bw_be(c, 1u << (t - 0xcc), v) == -1 ? -1 : 1);
	}
	if (t >= 0xd0 && t <= 0xd3) {	/* int: accepted when >= 0 */
		c->p++;
		if (bw_be(c, 1u << (t - 0xd0), v) == -1)
			return (-1);
		if (*v >> ((8u << (t - 0xd0)) - 1))
			return (0);
		return (1);
	}
	return (0);
}

/* Skips one object of any type. */
static int
bw_skip(struct bw_cur *c, int depth)
{
	unsigned char	t;
	uint64_t	n, i, skip = 0;

	if (c->p >= c->end || depth > BW_DEPTH_MAX)
		return (-1);
	t = *c->p++;
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return (0);
	if ((t & 0xe0) == 0xa0)
		skip = t & 0x1f;
	else if ((t & 0xf0) == 0x90 || (t & 0xf0) == 0x80) {
		n = (uint64_t)(t & 0x0f) * ((t & 0xf0) == 0x80 ? 2 : 1);
		goto items;
	} else {
		switch (t) {
		case 0xcc: case 0xd0: skip = 1; break;
		case 0xcd: case 0xd1: skip = 2; break;
		case 0xca: case 0xce: case 0xd2: skip = 4; break;
		case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
		case 0xd4: skip = 2; break;	/* fixext: type + data */
		case 0xd5: skip = 3; break;
		case 0xd6: skip = 5; break;
		case 0xd7: skip = 9; break;
		case 0xd8: skip = 17; break;
		case 0xc4: case 0xd9:
			if (bw_be(c, 1, &skip) == -1)
				return (-1);
			break;
		case 0xc5: case 0xda:
			if (bw_be(c, 2, &skip) == -1)
				return (-1);
			break;
		case 0xc6: case 0xdb:
			if (bw_be(c, 4, &skip) == -1)
				return (-1);
			break;
		case 0xc7: case 0xc8: case 0xc9:
			if (bw_be(c, 1u << (t - 0xc7), &skip) == -1)
				return (-1);
			skip++;		/* the ext type byte */
			break;
		case 0xdc: case 0xdd:
			if (bw_be(c, 2u << (t - 0xdc), &n) == -1)
				return (-1);
			goto items;
		case 0xde: case 0xdf:
			if (bw_be(c, 2u << (t - 0xde), &n) == -1)
				return (-1);
			n *= 2;
			goto items;
		default:
			return (-1);	/* 0xc1: never used */
		}
	}
	if ((uint64_t)(c->end - c->p) < skip)
		return (-1);
	c->p += skip;
	return (0);
items:
	/* Each item takes at least a byte: a huge n fails fast. */
	if (n > (uint64_t)(c->end - c->p))
		return (-1);
	for (i = 0; i < n; i++)
		if (bw_skip(c, depth + 1) == -1)
			return (-1);
	return (0);
}

#define BW_IS(k, klen, lit) \
	((klen) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

static enum bw_op
bw_op_of(const unsigned char *s, uint32_t len)
{
	if (BW_IS(s, len, "msg"))
		return (BW_OP_MSG);
	if (BW_IS(s, len, "ack"))
		return (BW_OP_ACK);
	if (BW_IS(s, len, "lag"))
		return (BW_OP_LAG);
	if (BW_IS(s, len, "err"))
		return (BW_OP_ERR);
	if (BW_IS(s, len, "pong"))
		return (BW_OP_PONG);
	if (BW_IS(s, len, "bye"))
		return (BW_OP_BYE);
	if (BW_IS(s, len, "welcome"))
		return (BW_OP_WELCOME);
	return (BW_OP_OTHER);
}

int
bw_parse(const unsigned char *p, size_t len, struct bw_frame *f)
{
	struct bw_cur		 c = { p, p + len };
	const unsigned char	*k, *v;
	uint32_t		 klen, vlen;
	uint64_t		 n, i, u;
	unsigned char		 t;
	int			 rc;

	memset(f, 0, sizeof(*f));
	if (len == 0)
		return (-1);
	t = *c.p++;
	if ((t & 0xf0) == 0x80)
		n = t & 0x0f;
	else if (t == 0xde || t == 0xdf) {
		if (bw_be(&c, 2u << (t - 0xde), &n) == -1)
			return (-1);
	} else
		return (-1);
	for (i = 0; i < n; i++) {
		if (bw_bytes(&c, &k, &klen) != 1)
			return (-1);	/* keys are strings */
		if (BW_IS(k, klen, "op")) {
			if ((rc = bw_bytes(&c, &v, &vlen)) == -1)
				return (-1);
			if (rc == 1) {
				f->op = bw_op_of(v, vlen);
				continue;
			}
		} else if (BW_IS(k, klen, "body")) {
			if ((rc = bw_bytes(&c, &v, &vlen)) == -1)
				return (-1);
			if (rc != 0) {
				f->body = v;
				f->body_len = vlen;
				continue;
			}
		} else if (BW_IS(k, klen, "code")) {
			if ((rc = bw_bytes(&c, &v, &vlen)) == -1)
				return (-1);
			if (rc == 1) {
				f->code = (const char *)v;
				f->code_len = vlen;
				continue;
			}
		} else if (BW_IS(k, klen, "sid") || BW_IS(k, klen, "id") ||
		    BW_IS(k, klen, "dropped") || BW_IS(k, klen, "ts")) {
			if ((rc = bw_uint(&c, &u)) == -1)
				return (-1);
			if (rc == 1) {
				if (k[0] == 's') {
					f->has_sid = true;
					f->sid = u;
				} else if (k[0] == 'i') {
					f->has_id = true;
					f->id = u;
				} else if (k[0] == 't') {
					f->has_ts = true;
					f->ts_us = u;
				} else
					f->dropped = u;
				continue;
			}
		}
		/* Any other key, or a known key of another type. */
		if (bw_skip(&c, 1) == -1)
			return (-1);
	}
	return (c.p == c.end ? 0 : -1);
}
