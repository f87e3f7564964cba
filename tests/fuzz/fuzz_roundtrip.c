/*
 * fuzz_roundtrip: decode -> encode -> decode gives back what went in.
 * A frame wire_parse_req() accepts as a pub becomes the wire_msg the
 * router would build (op.c op_pub_fields, with fixed agent, session and
 * model, and eid, ts and sid derived from the input); its tail and prefix
 * are written as every subscriber gets them, and wire_decode() of that
 * frame must give each field back, exactly, in order. The tail must fill
 * wire_msg_tail_size() bytes and stay within wire_msg_tail_bound(). A
 * hello goes through welcome the same way.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventstore/eid.h"
#include "router/lib/wire.h"
#include "tests/fuzz/fuzz.h"

#define RT_AGENT	"fuzz-agent"
#define RT_MODEL	"model-\xc3\xa9"	/* UTF-8, as hello requires */

/* A session of 256 bytes, hello's bound: its header is a str16. */
static char			rt_session[256];
static struct wire_decoder	rt_dec;
static msgpack_sbuffer		rt_hdr;		/* op.c's op_hdr */

static void
rt_init(void)
{
	memset(rt_session, 's', sizeof rt_session);
	if (wire_decoder_init(&rt_dec) == -1)
		abort();
	msgpack_sbuffer_init(&rt_hdr);
}

/* op.c op_pub_hdr: the checked hdr map packed again, entry by entry. */
static struct wire_str
rt_pub_hdr(const msgpack_object *hdr)
{
	struct wire_str	 s;
	msgpack_packer	 pk;
	uint32_t	 i;

	rt_hdr.size = 0;
	msgpack_packer_init(&pk, &rt_hdr, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, hdr->via.map.size);
	for (i = 0; i < hdr->via.map.size; i++) {
		wire_pack_str(&pk, hdr->via.map.ptr[i].key.via.str.ptr,
		    hdr->via.map.ptr[i].key.via.str.size);
		wire_pack_str(&pk, hdr->via.map.ptr[i].val.via.str.ptr,
		    hdr->via.map.ptr[i].val.via.str.size);
	}
	s.ptr = rt_hdr.data;
	s.len = (uint32_t)rt_hdr.size;
	return (s);
}

static bool
rt_key_is(const msgpack_object *k, const char *name)
{
	return (k->type == MSGPACK_OBJECT_STR &&
	    k->via.str.size == strlen(name) &&
	    memcmp(k->via.str.ptr, name, k->via.str.size) == 0);
}

static bool
rt_bytes_eq(const char *p, uint32_t len, const struct wire_str *want)
{
	uint32_t	wlen = want->ptr == NULL ? 0 : want->len;

	return (len == wlen && (len == 0 || memcmp(p, want->ptr, len) == 0));
}

static void
rt_check_str(const msgpack_object *v, const struct wire_str *want)
{
	FUZZ_CHECK(v->type == MSGPACK_OBJECT_STR);
	FUZZ_CHECK(rt_bytes_eq(v->via.str.ptr, v->via.str.size, want));
}

static void
rt_check_cstr(const msgpack_object *v, const char *want)
{
	struct wire_str	s = { want, (uint32_t)strlen(want) };

	rt_check_str(v, &s);
}

static void
rt_check_u64(const msgpack_object *v, uint64_t want)
{
	FUZZ_CHECK(v->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
	FUZZ_CHECK(v->via.u64 == want);
}

/* The i-th pair of map: its key must be name; returns its value. */
static const msgpack_object *
rt_pair(const msgpack_object *map, uint32_t i, const char *name)
{
	FUZZ_CHECK(i < map->via.map.size);
	FUZZ_CHECK(rt_key_is(&map->via.map.ptr[i].key, name));
	return (&map->via.map.ptr[i].val);
}

/* The decoded hdr holds the request's entries, in order. */
static void
rt_check_hdr(const msgpack_object *v, const msgpack_object *want)
{
	const msgpack_object_kv	*a, *b;
	uint32_t		 i;

	FUZZ_CHECK(v->type == MSGPACK_OBJECT_MAP);
	FUZZ_CHECK(v->via.map.size == want->via.map.size);
	for (i = 0; i < v->via.map.size; i++) {
		a = &v->via.map.ptr[i];
		b = &want->via.map.ptr[i];
		FUZZ_CHECK(a->key.type == MSGPACK_OBJECT_STR &&
		    a->val.type == MSGPACK_OBJECT_STR);
		FUZZ_CHECK(a->key.via.str.size == b->key.via.str.size &&
		    memcmp(a->key.via.str.ptr, b->key.via.str.ptr,
		    a->key.via.str.size) == 0);
		FUZZ_CHECK(a->val.via.str.size == b->val.via.str.size &&
		    (a->val.via.str.size == 0 || memcmp(a->val.via.str.ptr,
		    b->val.via.str.ptr, a->val.via.str.size) == 0));
	}
}

/*
 * Decodes a frame (header and body, exactly len bytes in a buffer of its
 * own) into *root; the length in the header must be the body's.
 */
static void
rt_decode(const unsigned char *frame, size_t len, msgpack_object *root)
{
	const char	*why = NULL;

	FUZZ_CHECK(len >= WIRE_HDR_LEN);
	FUZZ_CHECK(wire_frame_len(frame) == len - WIRE_HDR_LEN);
	FUZZ_CHECK(wire_decode(&rt_dec, (const char *)frame + WIRE_HDR_LEN,
	    len - WIRE_HDR_LEN, root, &why) == 0);
	FUZZ_CHECK(root->type == MSGPACK_OBJECT_MAP);
}

/* op.c op_pub_fields, for a client with no home tract. */
static void
rt_pub_fields(const struct wire_req *req, struct wire_msg *f,
    const char *eid, size_t eid_len, int64_t ts_us)
{
	memset(f, 0, sizeof *f);
	f->eid.ptr = eid;
	f->eid.len = (uint32_t)eid_len;
	f->from = req->from.ptr != NULL ? req->from : req->to;
	f->to = req->to;
	if (req->kind.ptr != NULL)
		f->kind = req->kind;
	else {
		f->kind.ptr = "msg";
		f->kind.len = 3;
	}
	f->pri = req->has_pri ? req->pri : 0.5;
	f->agent.ptr = RT_AGENT;
	f->agent.len = sizeof RT_AGENT - 1;
	f->session.ptr = rt_session;
	f->session.len = sizeof rt_session;
	f->model.ptr = RT_MODEL;
	f->model.len = sizeof RT_MODEL - 1;
	f->ts_us = ts_us;
	f->body = req->body;
	f->body_is_str = req->body_is_str;
	f->pattern = req->pattern;
	if (req->hdr != NULL)
		f->hdr = rt_pub_hdr(req->hdr);
}

static void
rt_pub(const struct wire_req *req, uint64_t h)
{
	struct wire_msg		 f;
	struct eid		 id = { h >> 20, h & 0xfffff };
	char			 eid[EID_STR_MAX];
	unsigned char		 prefix[WIRE_PREFIX_MAX], *tail, *frame;
	msgpack_object		 root;
	const msgpack_object	*v;
	size_t			 eid_len, bound, tail_len, prefix_len;
	uint64_t		 sid;
	uint32_t		 pairs, i = 0;
	int64_t			 ts_us;
	double			 pri;

	/* Every width of sid and both signs of ts, as the input picks. */
	sid = h >> (h % 64);
	ts_us = (int64_t)(h * 0x9e3779b97f4a7c15ULL);
	eid_len = eid_format(&id, eid);
	rt_pub_fields(req, &f, eid, eid_len, ts_us);

	/* A buffer of exactly the bound: ASan sees a write past it. */
	bound = wire_msg_tail_bound(&f);
	if ((tail = malloc(bound)) == NULL)
		abort();
	tail_len = wire_msg_tail_write(tail, &f, &pairs);
	FUZZ_CHECK(tail_len <= bound);
	FUZZ_CHECK(tail_len == wire_msg_tail_size(&f));
	FUZZ_CHECK(pairs == 11u + (f.pattern.ptr != NULL ? 1 : 0) +
	    (f.hdr.ptr != NULL ? 1 : 0));
	prefix_len = wire_msg_prefix(prefix, pairs, tail_len, sid);
	FUZZ_CHECK(prefix_len > WIRE_HDR_LEN && prefix_len <= WIRE_PREFIX_MAX);
	if ((frame = malloc(prefix_len + tail_len)) == NULL)
		abort();
	memcpy(frame, prefix, prefix_len);
	memcpy(frame + prefix_len, tail, tail_len);
	free(tail);

	rt_decode(frame, prefix_len + tail_len, &root);
	FUZZ_CHECK(root.via.map.size == pairs + 1);
	rt_check_u64(rt_pair(&root, i++, "sid"), sid);
	rt_check_cstr(rt_pair(&root, i++, "op"), "msg");
	rt_check_str(rt_pair(&root, i++, "eid"), &f.eid);
	rt_check_str(rt_pair(&root, i++, "from"), &f.from);
	rt_check_str(rt_pair(&root, i++, "to"), &req->to);
	rt_check_str(rt_pair(&root, i++, "kind"), &f.kind);
	v = rt_pair(&root, i++, "pri");
	FUZZ_CHECK(v->type == MSGPACK_OBJECT_FLOAT64);
	/* Bit for bit: a float32 pri went in as its exact double. */
	pri = req->has_pri ? req->pri : 0.5;
	FUZZ_CHECK(memcmp(&v->via.f64, &pri, sizeof pri) == 0);
	rt_check_cstr(rt_pair(&root, i++, "agent"), RT_AGENT);
	rt_check_str(rt_pair(&root, i++, "session"), &f.session);
	rt_check_cstr(rt_pair(&root, i++, "model"), RT_MODEL);
	v = rt_pair(&root, i++, "ts");
	if (ts_us >= 0)
		rt_check_u64(v, (uint64_t)ts_us);
	else
		FUZZ_CHECK(v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		    v->via.i64 == ts_us);
	v = rt_pair(&root, i++, "body");
	if (req->body_is_str)
		rt_check_str(v, &req->body);
	else {
		FUZZ_CHECK(v->type == MSGPACK_OBJECT_BIN);
		FUZZ_CHECK(rt_bytes_eq(v->via.bin.ptr, v->via.bin.size,
		    &req->body));
	}
	if (req->pattern.ptr != NULL)
		rt_check_str(rt_pair(&root, i++, "pattern"), &req->pattern);
	if (req->hdr != NULL)
		rt_check_hdr(rt_pair(&root, i++, "hdr"), req->hdr);
	FUZZ_CHECK(i == root.via.map.size);
	free(frame);
}

/* hello -> welcome: the hello's id and tract come back in the welcome. */
static void
rt_hello(const struct wire_req *req, uint64_t h)
{
	msgpack_sbuffer		 sb;
	msgpack_object		 root;
	const msgpack_object	*v;
	const char		*tracts[2];
	char			*tract = NULL;
	size_t			 ntracts = 0;
	uint64_t		 conn = h >> 1, max_frame = h >> (h % 64);
	uint32_t		 i = 0, k;
	bool			 truncated = h & 1;
	unsigned char		*frame;

	/* op_hello refuses a tract of bad syntax before the welcome. */
	if (req->tract.ptr != NULL &&
	    wire_tract_name_ok(req->tract.ptr, req->tract.len)) {
		if ((tract = strndup(req->tract.ptr, req->tract.len)) == NULL)
			abort();
		tracts[ntracts++] = tract;
	}
	tracts[ntracts++] = "internal";
	msgpack_sbuffer_init(&sb);
	FUZZ_CHECK(wire_enc_welcome(&sb, req->has_id, req->id, conn, max_frame,
	    tracts, ntracts, truncated) == 0);
	/* Exactly the frame's bytes, so that ASan sees any read past them. */
	if ((frame = malloc(sb.size)) == NULL)
		abort();
	memcpy(frame, sb.data, sb.size);
	rt_decode(frame, sb.size, &root);
	FUZZ_CHECK(root.via.map.size == 6u + (req->has_id ? 1 : 0) +
	    (truncated ? 1 : 0));
	rt_check_cstr(rt_pair(&root, i++, "op"), "welcome");
	if (req->has_id)
		rt_check_u64(rt_pair(&root, i++, "id"), req->id);
	rt_check_u64(rt_pair(&root, i++, "v"), WIRE_VERSION);
	rt_check_cstr(rt_pair(&root, i++, "server"),
	    "callosum/" CALLOSUM_VERSION);
	rt_check_u64(rt_pair(&root, i++, "conn"), conn);
	rt_check_u64(rt_pair(&root, i++, "max_frame"), max_frame);
	v = rt_pair(&root, i++, "tracts");
	FUZZ_CHECK(v->type == MSGPACK_OBJECT_ARRAY);
	FUZZ_CHECK(v->via.array.size == ntracts);
	for (k = 0; k < ntracts; k++)
		rt_check_cstr(&v->via.array.ptr[k], tracts[k]);
	if (truncated) {
		v = rt_pair(&root, i++, "truncated");
		FUZZ_CHECK(v->type == MSGPACK_OBJECT_BOOLEAN &&
		    v->via.boolean);
	}
	FUZZ_CHECK(i == root.via.map.size);
	free(frame);
	msgpack_sbuffer_destroy(&sb);
	free(tract);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wire_decoder	 dec;
	static int			 ready;
	struct wire_req			 req;
	msgpack_object			 root;
	const char			*why = NULL;

	if (!ready) {
		rt_init();
		if (wire_decoder_init(&dec) == -1)
			abort();
		ready = 1;
	}
	if (wire_decode(&dec, (const char *)data, size, &root, &why) == -1 ||
	    wire_parse_req(&root, &req, &why) != WIRE_OK)
		return (0);
	/* req points into data and into dec's zone: rt_dec decodes anew. */
	if (req.op == WIRE_OP_PUB)
		rt_pub(&req, fuzz_hash(data, size));
	else if (req.op == WIRE_OP_HELLO)
		rt_hello(&req, fuzz_hash(data, size));
	return (0);
}
