/*
 * wire: protocol v1 frames, requests and replies. See wire.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "router/lib/utf8.h"
#include "router/lib/wire.h"

#define WIRE_ZONE_CHUNK		8192
#define WIRE_LABEL_MAX		256	/* agent, session, model */
#define WIRE_PATTERN_MAX	1024
#define WIRE_KINDS_MAX		32

static const char *const wire_code_names[WIRE_CODE_COUNT] = {
	[WIRE_OK] = "ok",
	[WIRE_BAD_FRAME] = "bad_frame",
	[WIRE_BAD_REQUEST] = "bad_request",
	[WIRE_UNKNOWN_OP] = "unknown_op",
	[WIRE_HELLO_REQUIRED] = "hello_required",
	[WIRE_UNKNOWN_SID] = "unknown_sid",
	[WIRE_DUPLICATE_SID] = "duplicate_sid",
	[WIRE_RESERVED_TRACT] = "reserved_tract",
	[WIRE_BAD_TRACT] = "bad_tract",
	[WIRE_CIRCUIT_OPEN] = "circuit_open",
	[WIRE_BACKPRESSURE] = "backpressure",
	[WIRE_STORE_UNAVAILABLE] = "store_unavailable",
	[WIRE_UNAUTHORIZED] = "unauthorized",
	[WIRE_LIMIT] = "limit",
	[WIRE_SHUTTING_DOWN] = "shutting_down",
	[WIRE_INTERNAL] = "internal",
};

static const char *const wire_op_names[WIRE_OP_COUNT] = {
	[WIRE_OP_UNKNOWN] = "unknown",
	[WIRE_OP_HELLO] = "hello",
	[WIRE_OP_PUB] = "pub",
	[WIRE_OP_SUB] = "sub",
	[WIRE_OP_REQ] = "req",
	[WIRE_OP_UNSUB] = "unsub",
	[WIRE_OP_REPLAY] = "replay",
	[WIRE_OP_PING] = "ping",
	[WIRE_OP_STATS] = "stats",
	[WIRE_OP_CONNS] = "conns",
	[WIRE_OP_WELCOME] = "welcome",
	[WIRE_OP_ACK] = "ack",
	[WIRE_OP_ERR] = "err",
	[WIRE_OP_MSG] = "msg",
	[WIRE_OP_LAG] = "lag",
	[WIRE_OP_END] = "end",
	[WIRE_OP_PONG] = "pong",
	[WIRE_OP_BYE] = "bye",
};

const char *
wire_code_name(enum wire_code code)
{
	if ((unsigned)code >= WIRE_CODE_COUNT)
		return ("internal");
	return (wire_code_names[code]);
}

const char *
wire_op_name(enum wire_op op)
{
	if ((unsigned)op >= WIRE_OP_COUNT)
		return ("unknown");
	return (wire_op_names[op]);
}

enum wire_op
wire_op_lookup(const char *s, size_t len)
{
	int	op;

	for (op = WIRE_OP_UNKNOWN + 1; op < WIRE_OP_COUNT; op++) {
		if (strlen(wire_op_names[op]) == len &&
		    memcmp(wire_op_names[op], s, len) == 0)
			return ((enum wire_op)op);
	}
	return (WIRE_OP_UNKNOWN);
}

uint32_t
wire_frame_len(const unsigned char hdr[WIRE_HDR_LEN])
{
	return ((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3]);
}

void
wire_put_len(unsigned char hdr[WIRE_HDR_LEN], uint32_t len)
{
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
}

/* Big-endian integer of n bytes at p. */
static uint64_t
wire_be(const unsigned char *p, size_t n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return (v);
}

/*
 * Reads the header of the object at p (at most left bytes). Sets *hdr to
 * its header length, *payload to the bytes that follow it and *items to the
 * objects it contains (2 per pair for maps). Returns 1 for a container
 * (even an empty one), 0 for any other object, -1 for a byte that starts
 * no object or a header cut short.
 */
static int
wire_check_head(const unsigned char *p, size_t left, size_t *hdr,
    uint64_t *payload, uint64_t *items)
{
	unsigned char	b = p[0];
	size_t		w;

	*payload = 0;
	*items = 0;
	*hdr = 1;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return (0);
	if (b >= 0x80 && b <= 0x8f) {
		*items = 2 * (uint64_t)(b & 0x0f);
		return (1);
	}
	if (b >= 0x90 && b <= 0x9f) {
		*items = b & 0x0f;
		return (1);
	}
	if (b >= 0xa0 && b <= 0xbf) {
		*payload = b & 0x1f;
		return (0);
	}
	switch (b) {
	case 0xca: *payload = 4; return (0);
	case 0xcb: *payload = 8; return (0);
	case 0xcc: case 0xd0: *payload = 1; return (0);
	case 0xcd: case 0xd1: *payload = 2; return (0);
	case 0xce: case 0xd2: *payload = 4; return (0);
	case 0xcf: case 0xd3: *payload = 8; return (0);
	case 0xd4: *payload = 2; return (0);
	case 0xd5: *payload = 3; return (0);
	case 0xd6: *payload = 5; return (0);
	case 0xd7: *payload = 9; return (0);
	case 0xd8: *payload = 17; return (0);
	}
	/* Variable-length forms: a 1, 2 or 4 byte big-endian count follows. */
	switch (b) {
	case 0xc4: case 0xc7: case 0xd9: w = 1; break;
	case 0xc5: case 0xc8: case 0xda: case 0xdc: case 0xde: w = 2; break;
	case 0xc6: case 0xc9: case 0xdb: case 0xdd: case 0xdf: w = 4; break;
	default:
		return (-1);	/* 0xc1: never used */
	}
	if (left < 1 + w)
		return (-1);
	*hdr = 1 + w;
	if (b == 0xdc || b == 0xdd) {
		*items = wire_be(p + 1, w);
		return (1);
	}
	if (b == 0xde || b == 0xdf) {
		*items = 2 * wire_be(p + 1, w);
		return (1);
	}
	*payload = wire_be(p + 1, w) + (b >= 0xc7 && b <= 0xc9);
	return (0);
}

int
wire_decoder_init(struct wire_decoder *d)
{
	return (msgpack_zone_init(&d->zone, WIRE_ZONE_CHUNK) ? 0 : -1);
}

void
wire_decoder_free(struct wire_decoder *d)
{
	msgpack_zone_destroy(&d->zone);
}

/* One pass over a frame body: the checks of wire_check(), and the objects. */
struct wire_rd {
	const unsigned char	*p;
	const unsigned char	*end;
	uint64_t		 owed;	/* as in wire_check(): <= bytes left */
	msgpack_zone		*zone;
	const char		*why;
};

static int	wire_rd_obj(struct wire_rd *, int, msgpack_object *);

static double
wire_rd_f32(const unsigned char *p)
{
	uint32_t	v = (uint32_t)wire_be(p, 4);
	float		f;

	memcpy(&f, &v, sizeof(f));
	return (f);
}

static double
wire_rd_f64(const unsigned char *p)
{
	uint64_t	v = wire_be(p, 8);
	double		d;

	memcpy(&d, &v, sizeof(d));
	return (d);
}

/* Integers as msgpack-c has them: non-negative ones are POSITIVE_INTEGER. */
static void
wire_rd_int(msgpack_object *o, int64_t v)
{
	o->type = v >= 0 ? MSGPACK_OBJECT_POSITIVE_INTEGER :
	    MSGPACK_OBJECT_NEGATIVE_INTEGER;
	o->via.i64 = v;
}

/* Scalars: p points at the type byte, hdr bytes long, payload after it. */
static void
wire_rd_scalar(const unsigned char *p, size_t hdr, uint64_t payload,
    msgpack_object *o)
{
	unsigned char	b = p[0];

	if (b <= 0x7f) {
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = b;
	} else if (b >= 0xe0)
		wire_rd_int(o, (int8_t)b);
	else if (b >= 0xa0 && b <= 0xbf) {
		o->type = MSGPACK_OBJECT_STR;
		o->via.str.ptr = (const char *)p + hdr;
		o->via.str.size = (uint32_t)payload;
	} else switch (b) {
	case 0xc0: o->type = MSGPACK_OBJECT_NIL; break;
	case 0xc2: case 0xc3:
		o->type = MSGPACK_OBJECT_BOOLEAN;
		o->via.boolean = b == 0xc3;
		break;
	case 0xca:
		o->type = MSGPACK_OBJECT_FLOAT32;
		o->via.f64 = wire_rd_f32(p + 1);
		break;
	case 0xcb:
		o->type = MSGPACK_OBJECT_FLOAT64;
		o->via.f64 = wire_rd_f64(p + 1);
		break;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = wire_be(p + 1, payload);
		break;
	case 0xd0: wire_rd_int(o, (int8_t)p[1]); break;
	case 0xd1: wire_rd_int(o, (int16_t)wire_be(p + 1, 2)); break;
	case 0xd2: wire_rd_int(o, (int32_t)wire_be(p + 1, 4)); break;
	case 0xd3: wire_rd_int(o, (int64_t)wire_be(p + 1, 8)); break;
	case 0xd9: case 0xda: case 0xdb:
		o->type = MSGPACK_OBJECT_STR;
		o->via.str.ptr = (const char *)p + hdr;
		o->via.str.size = (uint32_t)payload;
		break;
	case 0xc4: case 0xc5: case 0xc6:
		o->type = MSGPACK_OBJECT_BIN;
		o->via.bin.ptr = (const char *)p + hdr;
		o->via.bin.size = (uint32_t)payload;
		break;
	default:	/* ext forms: a type byte, then the data */
		o->type = MSGPACK_OBJECT_EXT;
		o->via.ext.type = (int8_t)p[hdr];
		o->via.ext.ptr = (const char *)p + hdr + 1;
		o->via.ext.size = (uint32_t)payload - 1;
		break;
	}
}

static int
wire_rd_container(struct wire_rd *r, int depth, unsigned char b,
    uint64_t items, msgpack_object *o)
{
	bool		 map = (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
	size_t		 n = map ? items / 2 : items, i;
	void		*v = NULL;

	if (depth == WIRE_MAX_DEPTH) {
		r->why = "msgpack nested too deep";
		return (-1);
	}
	if (o == NULL) {	/* checking only: walk, build nothing */
		for (i = 0; i < items; i++) {
			if (wire_rd_obj(r, depth + 1, NULL) == -1)
				return (-1);
		}
		return (0);
	}
	/* n <= bytes left (checked): the zone gets <= 48 bytes a byte. */
	if (n > 0 && (v = msgpack_zone_malloc(r->zone, n * (map ?
	    sizeof(msgpack_object_kv) : sizeof(msgpack_object)))) == NULL) {
		r->why = "out of memory";
		return (-1);
	}
	o->type = map ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY;
	if (map) {
		o->via.map.size = (uint32_t)n;
		o->via.map.ptr = v;
		for (i = 0; i < n; i++) {
			if (wire_rd_obj(r, depth + 1, &o->via.map.ptr[i].key) ||
			    wire_rd_obj(r, depth + 1, &o->via.map.ptr[i].val))
				return (-1);
		}
	} else {
		o->via.array.size = (uint32_t)n;
		o->via.array.ptr = v;
		for (i = 0; i < n; i++) {
			if (wire_rd_obj(r, depth + 1, &o->via.array.ptr[i]))
				return (-1);
		}
	}
	return (0);
}

static int
wire_rd_obj(struct wire_rd *r, int depth, msgpack_object *o)
{
	const unsigned char	*p = r->p;
	uint64_t		 payload, items;
	size_t			 hdr;
	int			 kind;

	r->owed--;
	if (p >= r->end) {
		r->why = "truncated msgpack";
		return (-1);
	}
	if ((kind = wire_check_head(p, r->end - p, &hdr, &payload,
	    &items)) == -1) {
		r->why = "invalid msgpack";
		return (-1);
	}
	r->owed += items;
	if (payload > (uint64_t)(r->end - p - hdr) ||
	    r->owed > (uint64_t)(r->end - p - hdr)) {
		r->why = "truncated msgpack";
		return (-1);
	}
	r->p = p + hdr + payload;
	if (kind == 1)
		return (wire_rd_container(r, depth, p[0], items, o));
	if (o != NULL)
		wire_rd_scalar(p, hdr, payload, o);
	return (0);
}

/*
 * Exactly one map, nothing after it. Builds root's objects in zone, or with
 * root NULL only checks (wire_check). Invariant of the walk: the objects
 * announced and not yet read, at every level together, never exceed the
 * bytes left (each takes one at least), so a frame costs at most ~48 bytes
 * of objects per byte.
 */
static int
wire_walk(const char *buf, size_t len, msgpack_zone *zone,
    msgpack_object *root, const char **why)
{
	struct wire_rd	r;

	if (len == 0 || !((buf[0] & 0xf0) == 0x80 ||
	    (unsigned char)buf[0] == 0xde || (unsigned char)buf[0] == 0xdf)) {
		*why = "frame body is not a msgpack map";
		return (-1);
	}
	r.p = (const unsigned char *)buf;
	r.end = r.p + len;
	r.zone = zone;
	r.owed = 1;
	if (wire_rd_obj(&r, 0, root) == -1) {
		*why = r.why;
		return (-1);
	}
	if (r.p != r.end) {
		*why = "trailing bytes after the map";
		return (-1);
	}
	return (0);
}

int
wire_check(const char *buf, size_t len, const char **why)
{
	return (wire_walk(buf, len, NULL, NULL, why));
}

int
wire_decode(struct wire_decoder *d, const char *buf, size_t len,
    msgpack_object *root, const char **why)
{
	/* Keeps the first chunk: steady state decodes without malloc. */
	msgpack_zone_clear(&d->zone);
	return (wire_walk(buf, len, &d->zone, root, why));
}

static bool
wire_key_is(const msgpack_object *k, const char *name, size_t len)
{
	return (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len &&
	    memcmp(k->via.str.ptr, name, len) == 0);
}

#define KEY_IS(k, lit)	wire_key_is((k), (lit), sizeof(lit) - 1)

const msgpack_object *
wire_map_get(const msgpack_object *map, const char *key)
{
	size_t		len = strlen(key);
	uint32_t	i;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return (NULL);
	for (i = 0; i < map->via.map.size; i++) {
		if (wire_key_is(&map->via.map.ptr[i].key, key, len))
			return (&map->via.map.ptr[i].val);
	}
	return (NULL);
}

static bool
wire_name_char(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-');
}

/* [A-Za-z0-9_.-]{1,64} */
static bool
wire_plain_name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > WIRE_NAME_MAX)
		return (false);
	for (i = 0; i < len; i++) {
		if (!wire_name_char((unsigned char)s[i]))
			return (false);
	}
	return (true);
}

bool
wire_tract_name_ok(const char *s, size_t len)
{
	if (len > 0 && s[0] == '$')
		return (wire_plain_name_ok(s + 1, len - 1));
	return (wire_plain_name_ok(s, len));
}

bool
wire_tract_reserved(const char *s, size_t len)
{
	return (len > 0 && s[0] == '$');
}

uint64_t
wire_demand_add(uint64_t a, uint64_t b)
{
	if (a >= WIRE_DEMAND_MAX || b >= WIRE_DEMAND_MAX - a)
		return (WIRE_DEMAND_MAX);
	return (a + b);
}

/*
 * Field readers. nil counts as absent: msgpack clients commonly send nil for
 * an unset optional field. Each returns 0 (value taken or absent) or -1
 * (wrong type or out of range) with *why set.
 */
static int
wire_get_str(const msgpack_object *v, struct wire_str *out, size_t max,
    const char *bad, const char **why)
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return (0);
	if (v->type != MSGPACK_OBJECT_STR || v->via.str.size > max) {
		*why = bad;
		return (-1);
	}
	/* A present empty string keeps a non-NULL pointer. */
	out->ptr = v->via.str.size > 0 ? v->via.str.ptr : "";
	out->len = v->via.str.size;
	return (0);
}

/* A str that must also be UTF-8 text (SPEC: else bad_request). */
/* Out of line: kept out of the per-key parsers of the hot path. */
static __attribute__((noinline)) int
wire_get_text(const msgpack_object *v, struct wire_str *out, size_t max,
    const char *bad, const char *bad_utf8, const char **why)
{
	if (wire_get_str(v, out, max, bad, why) == -1)
		return (-1);
	if (out->ptr != NULL && !utf8_valid(out->ptr, out->len)) {
		*why = bad_utf8;
		return (-1);
	}
	return (0);
}

static int
wire_get_u64(const msgpack_object *v, uint64_t *out, bool *has,
    const char *bad, const char **why)
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return (0);
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*why = bad;
		return (-1);
	}
	*out = v->via.u64;
	if (has != NULL)
		*has = true;
	return (0);
}

static int
wire_get_tract(const msgpack_object *v, struct wire_str *out, const char *bad,
    const char **why)
{
	/*
	 * The name syntax is checked by the router: bad_tract, not
	 * bad_request. It is ASCII, so it rejects what is not UTF-8 too.
	 */
	return (wire_get_str(v, out, UINT32_MAX, bad, why));
}

static int
wire_get_pri(const msgpack_object *v, struct wire_req *req, const char **why)
{
	double	d;

	switch (v->type) {
	case MSGPACK_OBJECT_NIL:
		return (0);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		d = v->via.f64;
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		d = v->via.u64 > 1 ? 2.0 : (double)v->via.u64;
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		d = -1.0;
		break;
	default:
		*why = "pri must be a number";
		return (-1);
	}
	if (isnan(d) || d < 0.0 || d > 1.0) {
		*why = "pri must be within 0..1";
		return (-1);
	}
	req->has_pri = true;
	req->pri = d;
	return (0);
}

/* A str body: the one check that reads the body (ADR 0014). */
static __attribute__((noinline)) int
wire_get_str_body(const msgpack_object *v, struct wire_req *req,
    const char **why)
{
	if (!utf8_valid(v->via.str.ptr, v->via.str.size)) {
		*why = "body is not valid UTF-8";
		return (-1);
	}
	req->body_is_str = true;	/* a later body key wins */
	req->body.ptr = v->via.str.size > 0 ? v->via.str.ptr : "";
	req->body.len = v->via.str.size;
	return (0);
}

static int
wire_get_body(const msgpack_object *v, struct wire_req *req, const char **why)
{
	switch (v->type) {
	case MSGPACK_OBJECT_NIL:
		return (0);
	case MSGPACK_OBJECT_STR:
		return (wire_get_str_body(v, req, why));
	case MSGPACK_OBJECT_BIN:
		req->body_is_str = false;	/* a later body key wins */
		req->body.ptr = v->via.bin.size > 0 ? v->via.bin.ptr : "";
		req->body.len = v->via.bin.size;
		return (0);
	default:
		*why = "body must be bin or str";
		return (-1);
	}
}

/* hdr: a map of at most 32 entries, name keys, str values <= 1024 bytes. */
/* Out of line: kept out of the per-key parsers of the hot path. */
static __attribute__((noinline)) int
wire_get_hdr(const msgpack_object *v, struct wire_req *req, const char **why)
{
	const msgpack_object_kv	*kv;
	uint32_t		 i;

	if (v->type == MSGPACK_OBJECT_NIL)
		return (0);
	if (v->type != MSGPACK_OBJECT_MAP) {
		*why = "hdr must be a map of str to str";
		return (-1);
	}
	if (v->via.map.size > WIRE_HDR_MAX_ENTRIES) {
		*why = "hdr has more than 32 entries";
		return (-1);
	}
	for (i = 0; i < v->via.map.size; i++) {
		kv = &v->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    !wire_plain_name_ok(kv->key.via.str.ptr,
		    kv->key.via.str.size)) {
			*why = "hdr key must match [A-Za-z0-9_.-]{1,64}";
			return (-1);
		}
		if (kv->val.type != MSGPACK_OBJECT_STR ||
		    kv->val.via.str.size > WIRE_HDR_VALUE_MAX) {
			*why = "hdr value must be a str of at most 1024 bytes";
			return (-1);
		}
		if (!utf8_valid(kv->val.via.str.ptr, kv->val.via.str.size)) {
			*why = "hdr value is not valid UTF-8";
			return (-1);
		}
	}
	req->hdr = v;
	return (0);
}

static int
wire_get_kinds(const msgpack_object *v, struct wire_req *req, const char **why)
{
	const msgpack_object	*k;
	uint32_t		 i;

	if (v->type == MSGPACK_OBJECT_NIL)
		return (0);
	if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > WIRE_KINDS_MAX) {
		*why = "kinds must be an array of at most 32 str";
		return (-1);
	}
	for (i = 0; i < v->via.array.size; i++) {
		k = &v->via.array.ptr[i];
		if (k->type != MSGPACK_OBJECT_STR ||
		    k->via.str.size > WIRE_NAME_MAX) {
			*why = "kinds entries must be str of at most 64 bytes";
			return (-1);
		}
		if (!utf8_valid(k->via.str.ptr, k->via.str.size)) {
			*why = "kinds entry is not valid UTF-8";
			return (-1);
		}
	}
	req->kinds = v;
	return (0);
}

static int
wire_get_overflow(const msgpack_object *v, struct wire_req *req,
    const char **why)
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return (0);
	if (KEY_IS(v, "block"))
		req->overflow = WIRE_OVERFLOW_BLOCK;
	else if (KEY_IS(v, "drop"))
		req->overflow = WIRE_OVERFLOW_DROP;
	else {
		*why = "overflow must be \"block\" or \"drop\"";
		return (-1);
	}
	return (0);
}

/* req n: an int >= 1; a huge one saturates like every demand. */
static int
wire_get_n(const msgpack_object *v, struct wire_req *req, const char **why)
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return (0);
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
	    (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 == 0)) {
		*why = "n must be >= 1";
		return (-1);
	}
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*why = "n must be an int";
		return (-1);
	}
	req->n = wire_demand_add(v->via.u64, 0);
	return (0);
}

static int
wire_parse_hello(const msgpack_object *k, const msgpack_object *v,
    struct wire_req *req, const char **why)
{
	uint64_t	ver = WIRE_VERSION;

	if (KEY_IS(k, "v")) {
		if (wire_get_u64(v, &ver, NULL, "v must be an int", why) == -1)
			return (-1);
		if (ver != WIRE_VERSION) {
			*why = "unsupported protocol version (v must be 1)";
			return (-1);
		}
		return (0);
	}
	if (KEY_IS(k, "agent"))
		return (wire_get_text(v, &req->agent, WIRE_LABEL_MAX,
		    "agent must be a str of at most 256 bytes",
		    "agent is not valid UTF-8", why));
	if (KEY_IS(k, "session"))
		return (wire_get_text(v, &req->session, WIRE_LABEL_MAX,
		    "session must be a str of at most 256 bytes",
		    "session is not valid UTF-8", why));
	if (KEY_IS(k, "model"))
		return (wire_get_text(v, &req->model, WIRE_LABEL_MAX,
		    "model must be a str of at most 256 bytes",
		    "model is not valid UTF-8", why));
	if (KEY_IS(k, "tract"))
		return (wire_get_tract(v, &req->tract, "tract must be a str",
		    why));
	return (0);
}

static int
wire_parse_pub(const msgpack_object *k, const msgpack_object *v,
    struct wire_req *req, const char **why)
{
	if (KEY_IS(k, "to"))
		return (wire_get_tract(v, &req->to, "to must be a str", why));
	if (KEY_IS(k, "from"))
		return (wire_get_tract(v, &req->from, "from must be a str", why));
	if (KEY_IS(k, "kind"))
		return (wire_get_text(v, &req->kind, WIRE_NAME_MAX,
		    "kind must be a str of at most 64 bytes",
		    "kind is not valid UTF-8", why));
	if (KEY_IS(k, "pri"))
		return (wire_get_pri(v, req, why));
	if (KEY_IS(k, "body"))
		return (wire_get_body(v, req, why));
	if (KEY_IS(k, "pattern"))
		return (wire_get_text(v, &req->pattern, WIRE_PATTERN_MAX,
		    "pattern must be a str of at most 1024 bytes",
		    "pattern is not valid UTF-8", why));
	if (KEY_IS(k, "hdr"))
		return (wire_get_hdr(v, req, why));
	return (0);
}

/* Keys shared by sub, req, unsub and replay. */
static int
wire_parse_sub(const msgpack_object *k, const msgpack_object *v,
    struct wire_req *req, const char **why)
{
	if (KEY_IS(k, "sid"))
		return (wire_get_u64(v, &req->sid, &req->has_sid,
		    "sid must be an unsigned int", why));
	if (req->op == WIRE_OP_REQ) {
		if (KEY_IS(k, "n"))
			return (wire_get_n(v, req, why));
		return (0);
	}
	if (req->op == WIRE_OP_UNSUB)
		return (0);
	if (KEY_IS(k, "tract"))
		return (wire_get_tract(v, &req->tract, "tract must be a str",
		    why));
	if (KEY_IS(k, "credit"))
		return (wire_get_u64(v, &req->credit, NULL,
		    "credit must be an unsigned int", why));
	if (KEY_IS(k, "kinds"))
		return (wire_get_kinds(v, req, why));
	if (req->op == WIRE_OP_SUB) {
		if (KEY_IS(k, "overflow"))
			return (wire_get_overflow(v, req, why));
		if (KEY_IS(k, "max_pending"))
			return (wire_get_u64(v, &req->max_pending,
			    &req->has_max_pending,
			    "max_pending must be an unsigned int", why));
		if (KEY_IS(k, "from_eid"))
			return (wire_get_str(v, &req->from_eid, 64,
			    "from_eid must be an eid str", why));
		return (0);
	}
	if (KEY_IS(k, "from"))
		return (wire_get_str(v, &req->from_eid, 64,
		    "from must be an eid str", why));
	if (KEY_IS(k, "to"))
		return (wire_get_str(v, &req->to_eid, 64,
		    "to must be an eid str", why));
	if (KEY_IS(k, "limit"))
		return (wire_get_u64(v, &req->limit, &req->has_limit,
		    "limit must be an unsigned int", why));
	return (0);
}

/* Required fields, checked once every key has been read. */
static enum wire_code
wire_check_required(const struct wire_req *req, const char **why)
{
	switch (req->op) {
	case WIRE_OP_HELLO:
		if (req->agent.ptr == NULL) {
			*why = "hello requires agent";
			return (WIRE_BAD_REQUEST);
		}
		break;
	case WIRE_OP_PUB:
		if (req->to.ptr == NULL || req->body.ptr == NULL) {
			*why = req->to.ptr == NULL ? "pub requires to" :
			    "pub requires body";
			return (WIRE_BAD_REQUEST);
		}
		break;
	case WIRE_OP_SUB:
	case WIRE_OP_REPLAY:
		if (!req->has_sid || (req->op == WIRE_OP_SUB &&
		    req->tract.ptr == NULL)) {
			*why = !req->has_sid ? "sid is required" :
			    "sub requires tract";
			return (WIRE_BAD_REQUEST);
		}
		break;
	case WIRE_OP_REQ:
		if (!req->has_sid || req->n == 0) {
			*why = !req->has_sid ? "sid is required" :
			    "req requires n";
			return (WIRE_BAD_REQUEST);
		}
		break;
	case WIRE_OP_UNSUB:
		if (!req->has_sid) {
			*why = "sid is required";
			return (WIRE_BAD_REQUEST);
		}
		break;
	default:
		break;
	}
	return (WIRE_OK);
}

typedef int	wire_field_fn(const msgpack_object *, const msgpack_object *,
		    struct wire_req *, const char **);

/* Finds op and id; returns the op's field parser or NULL for none. */
static enum wire_code
wire_parse_head(const msgpack_object *root, struct wire_req *req,
    const char **why)
{
	const msgpack_object	*op = NULL, *id = NULL;
	uint32_t		 i;
	bool			 bad_key = false;

	for (i = 0; i < root->via.map.size; i++) {
		if (root->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
			bad_key = true;
		else if (KEY_IS(&root->via.map.ptr[i].key, "op"))
			op = &root->via.map.ptr[i].val;
		else if (KEY_IS(&root->via.map.ptr[i].key, "id"))
			id = &root->via.map.ptr[i].val;
	}
	if (id != NULL && id->type != MSGPACK_OBJECT_NIL) {
		if (id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			*why = "id must be an unsigned int";
			return (WIRE_BAD_REQUEST);
		}
		req->has_id = true;
		req->id = id->via.u64;
	}
	if (bad_key) {
		/* Checked after id, so that the err can carry it. */
		*why = "map keys must be str";
		return (WIRE_BAD_REQUEST);
	}
	if (op == NULL || op->type != MSGPACK_OBJECT_STR) {
		*why = op == NULL ? "op is required" : "op must be a str";
		return (WIRE_BAD_REQUEST);
	}
	req->op = wire_op_lookup(op->via.str.ptr, op->via.str.size);
	if (req->op == WIRE_OP_UNKNOWN || req->op > WIRE_OP_CLIENT_LAST) {
		req->op = WIRE_OP_UNKNOWN;
		*why = "unknown op";
		return (WIRE_UNKNOWN_OP);
	}
	return (WIRE_OK);
}

/*
 * Zeroes *req field by field, for every frame: gcc turns a memset of the
 * struct into rep stos, which cost 5-9% of the router's time per message
 * on the hot path (perf, W1 and W5), more than these stores.
 */
_Static_assert(sizeof(struct wire_req) == 296 || sizeof(void *) != 8,
    "a field was added to struct wire_req: clear it in wire_req_clear");

static void
wire_req_clear(struct wire_req *req)
{
	static const struct wire_str	none = { NULL, 0 };

	req->op = WIRE_OP_UNKNOWN;
	req->has_id = false;
	req->id = 0;
	req->agent = none;
	req->session = none;
	req->model = none;
	req->tract = none;
	req->to = none;
	req->from = none;
	req->kind = none;
	req->body = none;
	req->body_is_str = false;
	req->pattern = none;
	req->has_pri = false;
	req->pri = 0;
	req->hdr = NULL;
	req->has_sid = false;
	req->sid = 0;
	req->credit = 0;
	req->overflow = WIRE_OVERFLOW_BLOCK;
	req->has_max_pending = false;
	req->max_pending = 0;
	req->kinds = NULL;
	req->from_eid = none;
	req->to_eid = none;
	req->has_limit = false;
	req->limit = 0;
	req->n = 0;
}

enum wire_code
wire_parse_req(const msgpack_object *root, struct wire_req *req,
    const char **why)
{
	wire_field_fn		*fn = NULL;
	enum wire_code		 code;
	uint32_t		 i;

	wire_req_clear(req);
	if (root->type != MSGPACK_OBJECT_MAP) {
		*why = "frame body is not a map";
		return (WIRE_BAD_REQUEST);
	}
	if ((code = wire_parse_head(root, req, why)) != WIRE_OK)
		return (code);
	switch (req->op) {
	case WIRE_OP_HELLO:
		fn = wire_parse_hello;
		break;
	case WIRE_OP_PUB:
		fn = wire_parse_pub;
		break;
	case WIRE_OP_SUB:
	case WIRE_OP_REQ:
	case WIRE_OP_UNSUB:
	case WIRE_OP_REPLAY:
		fn = wire_parse_sub;
		break;
	default:
		break;
	}
	for (i = 0; fn != NULL && i < root->via.map.size; i++) {
		if (fn(&root->via.map.ptr[i].key, &root->via.map.ptr[i].val,
		    req, why) == -1)
			return (WIRE_BAD_REQUEST);
	}
	return (wire_check_required(req, why));
}

/* Encoding. */

size_t
wire_frame_begin(msgpack_sbuffer *sb)
{
	static const char	zero[WIRE_HDR_LEN];
	size_t			start = sb->size;

	if (msgpack_sbuffer_write(sb, zero, sizeof(zero)) != 0)
		return ((size_t)-1);
	return (start);
}

void
wire_frame_end(msgpack_sbuffer *sb, size_t start)
{
	if (start == (size_t)-1 || start + WIRE_HDR_LEN > sb->size)
		return;
	wire_put_len((unsigned char *)sb->data + start,
	    (uint32_t)(sb->size - start - WIRE_HDR_LEN));
}

int
wire_pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	if (msgpack_pack_str(pk, len) != 0)
		return (-1);
	return (len == 0 ? 0 : msgpack_pack_str_body(pk, s, len));
}

bool
wire_obj_number(const msgpack_object *o, double *out)
{
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = (double)o->via.u64;
		return (true);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = (double)o->via.i64;
		return (true);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*out = o->via.f64;
		return (true);
	default:
		return (false);
	}
}

int
wire_pack_cstr(msgpack_packer *pk, const char *s)
{
	return (wire_pack_str(pk, s, strlen(s)));
}

/* Packs "key": value pairs; each returns 0 or -1. */
static int
wire_kv_str(msgpack_packer *pk, const char *key, const char *s, size_t len)
{
	if (wire_pack_cstr(pk, key) != 0)
		return (-1);
	return (wire_pack_str(pk, s != NULL ? s : "", s != NULL ? len : 0));
}

static int
wire_kv_cstr(msgpack_packer *pk, const char *key, const char *s)
{
	return (wire_kv_str(pk, key, s, s != NULL ? strlen(s) : 0));
}

static int
wire_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	if (wire_pack_cstr(pk, key) != 0)
		return (-1);
	return (msgpack_pack_uint64(pk, v));
}

/*
 * Opens a frame holding a map of npairs pairs, the first being "op". The
 * caller packs the remaining npairs - 1 pairs and calls wire_enc_close().
 */
static size_t
wire_enc_open(msgpack_sbuffer *sb, msgpack_packer *pk, size_t npairs,
    enum wire_op op)
{
	size_t	start;

	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	if ((start = wire_frame_begin(sb)) == (size_t)-1)
		return (start);
	if (msgpack_pack_map(pk, npairs) != 0 ||
	    wire_kv_cstr(pk, "op", wire_op_name(op)) != 0)
		return ((size_t)-1);
	return (start);
}

/* Ends a frame; on failure the sbuffer is rolled back to where it was. */
static int
wire_enc_close(msgpack_sbuffer *sb, size_t start, int rc)
{
	if (start == (size_t)-1 || rc != 0) {
		if (start != (size_t)-1 && start <= sb->size)
			sb->size = start;
		return (-1);
	}
	wire_frame_end(sb, start);
	return (0);
}

int
wire_enc_welcome(msgpack_sbuffer *sb, bool has_id, uint64_t id, uint64_t conn,
    uint64_t max_frame, const char *const *tracts, size_t ntracts,
    bool truncated)
{
	msgpack_packer	pk;
	size_t		start, i;
	int		rc = 0;

	start = wire_enc_open(sb, &pk, 6 + (has_id ? 1 : 0) +
	    (truncated ? 1 : 0), WIRE_OP_WELCOME);
	if (has_id)
		rc = wire_kv_u64(&pk, "id", id);
	rc |= wire_kv_u64(&pk, "v", WIRE_VERSION) |
	    wire_kv_cstr(&pk, "server", "callosum/" CALLOSUM_VERSION) |
	    wire_kv_u64(&pk, "conn", conn) |
	    wire_kv_u64(&pk, "max_frame", max_frame) |
	    wire_pack_cstr(&pk, "tracts") | msgpack_pack_array(&pk, ntracts);
	for (i = 0; i < ntracts; i++)
		rc |= wire_pack_cstr(&pk, tracts[i]);
	if (truncated)
		rc |= wire_pack_cstr(&pk, "truncated") |
		    msgpack_pack_true(&pk);
	return (wire_enc_close(sb, start, rc));
}

int
wire_enc_ack(msgpack_sbuffer *sb, uint64_t id)
{
	msgpack_packer	pk;
	size_t		start;

	start = wire_enc_open(sb, &pk, 2, WIRE_OP_ACK);
	return (wire_enc_close(sb, start, wire_kv_u64(&pk, "id", id)));
}

int
wire_enc_ack_pub(msgpack_sbuffer *sb, uint64_t id, const char *eid,
    const char *stored)
{
	msgpack_packer	pk;
	size_t		start;

	start = wire_enc_open(sb, &pk, 4, WIRE_OP_ACK);
	return (wire_enc_close(sb, start, wire_kv_u64(&pk, "id", id) |
	    wire_kv_cstr(&pk, "eid", eid) | wire_kv_cstr(&pk, "stored", stored)));
}

int
wire_enc_err(msgpack_sbuffer *sb, bool has_id, uint64_t id,
    enum wire_code code, const char *msg)
{
	msgpack_packer	pk;
	size_t		start;
	int		rc;

	start = wire_enc_open(sb, &pk, has_id ? 4 : 3, WIRE_OP_ERR);
	rc = wire_kv_cstr(&pk, "code", wire_code_name(code)) |
	    wire_kv_cstr(&pk, "msg", msg);
	if (has_id)
		rc |= wire_kv_u64(&pk, "id", id);
	return (wire_enc_close(sb, start, rc));
}

int
wire_enc_pong(msgpack_sbuffer *sb, bool has_id, uint64_t id)
{
	msgpack_packer	pk;
	size_t		start;

	start = wire_enc_open(sb, &pk, has_id ? 2 : 1, WIRE_OP_PONG);
	return (wire_enc_close(sb, start, has_id ? wire_kv_u64(&pk, "id", id) :
	    0));
}

int
wire_enc_lag(msgpack_sbuffer *sb, uint64_t sid, uint64_t dropped,
    const char *first, const char *last)
{
	msgpack_packer	pk;
	size_t		start;

	start = wire_enc_open(sb, &pk, 5, WIRE_OP_LAG);
	return (wire_enc_close(sb, start, wire_kv_u64(&pk, "sid", sid) |
	    wire_kv_u64(&pk, "dropped", dropped) |
	    wire_kv_cstr(&pk, "first", first) |
	    wire_kv_cstr(&pk, "last", last)));
}

int
wire_enc_end(msgpack_sbuffer *sb, uint64_t sid)
{
	msgpack_packer	pk;
	size_t		start;

	start = wire_enc_open(sb, &pk, 2, WIRE_OP_END);
	return (wire_enc_close(sb, start, wire_kv_u64(&pk, "sid", sid)));
}

int
wire_enc_bye(msgpack_sbuffer *sb, const char *reason)
{
	msgpack_packer	pk;
	size_t		start;

	start = wire_enc_open(sb, &pk, 2, WIRE_OP_BYE);
	return (wire_enc_close(sb, start, wire_kv_cstr(&pk, "reason", reason)));
}

/*
 * The msg tail writer: raw msgpack straight into a buffer sized by
 * wire_msg_tail_bound(), with no packer callbacks on the publish path.
 */
static unsigned char *
wire_w_len(unsigned char *p, uint32_t len, unsigned char fix, uint32_t fixmax,
    unsigned char b8, unsigned char b16, unsigned char b32)
{
	if (len <= fixmax && fix != 0)
		*p++ = fix | (unsigned char)len;
	else if (len <= 0xff) {
		*p++ = b8;
		*p++ = (unsigned char)len;
	} else if (len <= 0xffff) {
		*p++ = b16;
		*p++ = (unsigned char)(len >> 8);
		*p++ = (unsigned char)len;
	} else {
		*p++ = b32;
		wire_put_len(p, len);
		p += 4;
	}
	return (p);
}

static unsigned char *
wire_w_str(unsigned char *p, const char *s, uint32_t len)
{
	if (s == NULL)
		len = 0;
	p = wire_w_len(p, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
	if (len > 0)
		memcpy(p, s, len);
	return (p + len);
}

static unsigned char *
wire_w_bin(unsigned char *p, const char *s, uint32_t len)
{
	p = wire_w_len(p, len, 0, 0, 0xc4, 0xc5, 0xc6);
	if (len > 0)
		memcpy(p, s, len);
	return (p + len);
}

/* A fixstr key given as a literal, e.g. W_KEY(p, "eid"). */
#define W_KEY(p, lit)	wire_w_str((p), (lit), sizeof(lit) - 1)

static unsigned char *
wire_w_be64(unsigned char *p, unsigned char tag, uint64_t v)
{
	int	i;

	*p++ = tag;
	for (i = 7; i >= 0; i--)
		*p++ = (unsigned char)(v >> (8 * i));
	return (p);
}

static unsigned char *
wire_w_f64(unsigned char *p, double d)
{
	uint64_t	v;

	memcpy(&v, &d, sizeof(v));
	return (wire_w_be64(p, 0xcb, v));
}

size_t
wire_msg_tail_bound(const struct wire_msg *m)
{
	/* Keys and fixed values take < 128 bytes; each value header <= 5. */
	return (128 + 10 * 5 + (size_t)m->eid.len + m->from.len + m->to.len +
	    m->kind.len + m->agent.len + m->session.len + m->model.len +
	    m->body.len + m->pattern.len + m->hdr.len);
}

/* The bytes of a str (or, with bin, a bin) header for len. */
static size_t
wire_hdr_size(uint32_t len, bool bin)
{
	if (len <= 31 && !bin)
		return (1);
	if (len <= 0xff)
		return (2);
	return (len <= 0xffff ? 3 : 5);
}

static size_t
wire_str_size(const struct wire_str *s)
{
	uint32_t	len = s->ptr == NULL ? 0 : s->len;

	return (wire_hdr_size(len, false) + len);
}

size_t
wire_msg_tail_size(const struct wire_msg *m)
{
	/* Keys and fixed values: op msg eid from to kind pri agent session
	 * model ts body, the f64 and the int64 (see wire_msg_tail_write). */
	size_t	n = 3 + 4 + 4 + 5 + 3 + 5 + 4 + 9 + 6 + 8 + 6 + 3 + 9 + 5;

	n += wire_str_size(&m->eid) + wire_str_size(&m->from) +
	    wire_str_size(&m->to) + wire_str_size(&m->kind) +
	    wire_str_size(&m->agent) + wire_str_size(&m->session) +
	    wire_str_size(&m->model);
	n += wire_hdr_size(m->body.len, !m->body_is_str) + m->body.len;
	if (m->pattern.ptr != NULL)
		n += 8 + wire_str_size(&m->pattern);
	if (m->hdr.ptr != NULL)
		n += 4 + m->hdr.len;
	return (n);
}

size_t
wire_msg_tail_write(void *buf, const struct wire_msg *m, uint32_t *pairs)
{
	unsigned char	*p = buf;

	*pairs = 11;
	p = W_KEY(p, "op");
	p = W_KEY(p, "msg");
	p = W_KEY(p, "eid");
	p = wire_w_str(p, m->eid.ptr, m->eid.len);
	p = W_KEY(p, "from");
	p = wire_w_str(p, m->from.ptr, m->from.len);
	p = W_KEY(p, "to");
	p = wire_w_str(p, m->to.ptr, m->to.len);
	p = W_KEY(p, "kind");
	p = wire_w_str(p, m->kind.ptr, m->kind.len);
	p = W_KEY(p, "pri");
	p = wire_w_f64(p, m->pri);
	p = W_KEY(p, "agent");
	p = wire_w_str(p, m->agent.ptr, m->agent.len);
	p = W_KEY(p, "session");
	p = wire_w_str(p, m->session.ptr, m->session.len);
	p = W_KEY(p, "model");
	p = wire_w_str(p, m->model.ptr, m->model.len);
	p = W_KEY(p, "ts");
	/* An int64; non-negative ones as uint64, as msgpack-c would decode. */
	p = wire_w_be64(p, m->ts_us < 0 ? 0xd3 : 0xcf, (uint64_t)m->ts_us);
	p = W_KEY(p, "body");
	if (m->body_is_str)
		p = wire_w_str(p, m->body.ptr, m->body.len);
	else
		p = wire_w_bin(p, m->body.ptr, m->body.len);
	if (m->pattern.ptr != NULL) {
		p = W_KEY(p, "pattern");
		p = wire_w_str(p, m->pattern.ptr, m->pattern.len);
		(*pairs)++;
	}
	if (m->hdr.ptr != NULL) {
		/* Already a checked msgpack map: copied as it is. */
		p = W_KEY(p, "hdr");
		memcpy(p, m->hdr.ptr, m->hdr.len);
		p += m->hdr.len;
		(*pairs)++;
	}
	return ((size_t)(p - (unsigned char *)buf));
}

int
wire_enc_msg_tail(msgpack_sbuffer *sb, const struct wire_msg *m)
{
	size_t		bound = wire_msg_tail_bound(m);
	uint32_t	pairs;

	char		*d;

	/* Grow once to the bound (sbuffer memory is realloc's), write in place. */
	if (sb->alloc - sb->size < bound) {
		if ((d = realloc(sb->data, sb->size + bound)) == NULL)
			return (-1);
		sb->data = d;
		sb->alloc = sb->size + bound;
	}
	sb->size += wire_msg_tail_write(sb->data + sb->size, m, &pairs);
	return ((int)pairs);
}

size_t
wire_msg_prefix(unsigned char out[WIRE_PREFIX_MAX], uint32_t tail_pairs,
    size_t tail_len, uint64_t sid)
{
	unsigned char	*p = out + WIRE_HDR_LEN;
	uint32_t	 pairs = tail_pairs + 1;
	int		 i, w;

	if (pairs <= 15)
		*p++ = 0x80 | pairs;
	else {
		*p++ = 0xde;
		*p++ = pairs >> 8;
		*p++ = pairs;
	}
	memcpy(p, "\xa3sid", 4);
	p += 4;
	if (sid <= 0x7f)
		*p++ = sid;
	else {
		w = sid <= 0xff ? 1 : sid <= 0xffff ? 2 :
		    sid <= 0xffffffffULL ? 4 : 8;
		*p++ = w == 1 ? 0xcc : w == 2 ? 0xcd : w == 4 ? 0xce : 0xcf;
		for (i = w - 1; i >= 0; i--)
			*p++ = sid >> (8 * i);
	}
	wire_put_len(out, (uint32_t)((p - out) - WIRE_HDR_LEN + tail_len));
	return ((size_t)(p - out));
}
