/*
 * fuzz_req: request validation after decoding. Arbitrary bytes go through
 * wire_decode() and wire_parse_req(); whatever the parser accepts must
 * hold what wire.h and SPEC promise the op handlers, which check nothing
 * again: strings inside the frame, within their bounds, UTF-8 where they
 * are text, the op's required fields present and no other op's field set.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "router/lib/utf8.h"
#include "router/lib/wire.h"
#include "tests/fuzz/fuzz.h"

/* wire.c's private bounds, as SPEC states them. */
#define REQ_LABEL_MAX	256	/* agent, session, model */
#define REQ_PATTERN_MAX	1024
#define REQ_KINDS_MAX	32
#define REQ_EID_MAX	64	/* from_eid, to_eid */

static const uint8_t	*in;
static size_t		 in_len;

/* A present field: inside the frame, or "" (an empty str keeps a pointer). */
static void
check_str(const struct wire_str *s, size_t max, bool text)
{
	if (s->ptr == NULL) {
		FUZZ_CHECK(s->len == 0);
		return;
	}
	FUZZ_CHECK(s->len <= max);
	if (s->len > 0)
		FUZZ_CHECK(fuzz_inside(s->ptr, s->len, in, in_len));
	if (text)
		FUZZ_CHECK(utf8_valid(s->ptr, s->len));
}

static void
check_obj_str(const msgpack_object *o, size_t max)
{
	FUZZ_CHECK(o->type == MSGPACK_OBJECT_STR);
	FUZZ_CHECK(o->via.str.size <= max);
	if (o->via.str.size > 0)
		FUZZ_CHECK(fuzz_inside(o->via.str.ptr, o->via.str.size, in,
		    in_len));
}

/* [A-Za-z0-9_.-]{1,64}, spelled out again rather than trusted. */
static bool
name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > WIRE_NAME_MAX)
		return (false);
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", s[i]) == NULL)
			return (false);
	}
	return (true);
}

static void
check_hdr(const msgpack_object *hdr)
{
	uint32_t	i;

	FUZZ_CHECK(hdr->type == MSGPACK_OBJECT_MAP);
	FUZZ_CHECK(hdr->via.map.size <= WIRE_HDR_MAX_ENTRIES);
	for (i = 0; i < hdr->via.map.size; i++) {
		check_obj_str(&hdr->via.map.ptr[i].key, WIRE_NAME_MAX);
		FUZZ_CHECK(name_ok(hdr->via.map.ptr[i].key.via.str.ptr,
		    hdr->via.map.ptr[i].key.via.str.size));
		check_obj_str(&hdr->via.map.ptr[i].val, WIRE_HDR_VALUE_MAX);
		FUZZ_CHECK(utf8_valid(hdr->via.map.ptr[i].val.via.str.ptr,
		    hdr->via.map.ptr[i].val.via.str.size));
	}
}

static void
check_kinds(const msgpack_object *kinds)
{
	uint32_t	i;

	FUZZ_CHECK(kinds->type == MSGPACK_OBJECT_ARRAY);
	FUZZ_CHECK(kinds->via.array.size <= REQ_KINDS_MAX);
	for (i = 0; i < kinds->via.array.size; i++) {
		check_obj_str(&kinds->via.array.ptr[i], WIRE_NAME_MAX);
		FUZZ_CHECK(utf8_valid(kinds->via.array.ptr[i].via.str.ptr,
		    kinds->via.array.ptr[i].via.str.size));
	}
}

/* The fields each op may fill; every other one must still be zero. */
static void
check_fields(const struct wire_req *r)
{
	bool	hello = r->op == WIRE_OP_HELLO, pub = r->op == WIRE_OP_PUB;
	bool	sub = r->op == WIRE_OP_SUB, rq = r->op == WIRE_OP_REQ;
	bool	unsub = r->op == WIRE_OP_UNSUB;
	bool	replay = r->op == WIRE_OP_REPLAY;

	check_str(&r->agent, REQ_LABEL_MAX, true);
	check_str(&r->session, REQ_LABEL_MAX, true);
	check_str(&r->model, REQ_LABEL_MAX, true);
	check_str(&r->tract, UINT32_MAX, false);
	check_str(&r->to, UINT32_MAX, false);
	check_str(&r->from, UINT32_MAX, false);
	check_str(&r->kind, WIRE_NAME_MAX, true);
	check_str(&r->body, UINT32_MAX, r->body_is_str);
	check_str(&r->pattern, REQ_PATTERN_MAX, true);
	check_str(&r->from_eid, REQ_EID_MAX, false);
	check_str(&r->to_eid, REQ_EID_MAX, false);
	if (r->hdr != NULL)
		check_hdr(r->hdr);
	if (r->kinds != NULL)
		check_kinds(r->kinds);
	if (r->has_pri)
		FUZZ_CHECK(!isnan(r->pri) && r->pri >= 0.0 && r->pri <= 1.0);
	FUZZ_CHECK(r->overflow == WIRE_OVERFLOW_BLOCK ||
	    r->overflow == WIRE_OVERFLOW_DROP);

	if (!hello) {
		FUZZ_CHECK(r->agent.ptr == NULL && r->session.ptr == NULL &&
		    r->model.ptr == NULL);
	}
	if (!hello && !sub && !replay)
		FUZZ_CHECK(r->tract.ptr == NULL);
	if (!pub) {
		FUZZ_CHECK(r->to.ptr == NULL && r->from.ptr == NULL &&
		    r->kind.ptr == NULL && r->body.ptr == NULL &&
		    !r->body_is_str && r->pattern.ptr == NULL &&
		    !r->has_pri && r->pri == 0.0 && r->hdr == NULL);
	}
	if (!sub && !rq && !unsub && !replay)
		FUZZ_CHECK(!r->has_sid && r->sid == 0);
	if (!sub && !replay) {
		FUZZ_CHECK(r->credit == 0 && r->kinds == NULL &&
		    r->from_eid.ptr == NULL);
	}
	if (!sub) {
		FUZZ_CHECK(r->overflow == WIRE_OVERFLOW_BLOCK &&
		    !r->has_max_pending && r->max_pending == 0);
	}
	if (!replay)
		FUZZ_CHECK(r->to_eid.ptr == NULL && !r->has_limit &&
		    r->limit == 0);
	if (!rq)
		FUZZ_CHECK(r->n == 0);

	/* Required fields (wire_check_required, SPEC per op). */
	if (hello)
		FUZZ_CHECK(r->agent.ptr != NULL);
	if (pub)
		FUZZ_CHECK(r->to.ptr != NULL && r->body.ptr != NULL);
	if (sub)
		FUZZ_CHECK(r->tract.ptr != NULL);
	if (sub || rq || unsub || replay)
		FUZZ_CHECK(r->has_sid);
	if (rq)
		FUZZ_CHECK(r->n >= 1 && r->n <= WIRE_DEMAND_MAX);
}

/* The value of the last key named key (the parser lets a later key win). */
static const msgpack_object *
last_get(const msgpack_object *map, const char *key)
{
	const msgpack_object	*v = NULL;
	const msgpack_object_kv	*kv;
	uint32_t		 i;

	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == strlen(key) &&
		    memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0)
			v = &kv->val;
	}
	return (v);
}

/* The head fields, found again from the map: op by name, id by value. */
static void
check_head(const msgpack_object *root, const struct wire_req *r,
    enum wire_code code)
{
	const msgpack_object	*op, *id;

	op = last_get(root, "op");
	id = last_get(root, "id");
	if (r->has_id)
		FUZZ_CHECK(id != NULL && id->type ==
		    MSGPACK_OBJECT_POSITIVE_INTEGER && id->via.u64 == r->id);
	else
		FUZZ_CHECK(r->id == 0);
	if (code != WIRE_OK)
		return;
	FUZZ_CHECK(r->op >= WIRE_OP_HELLO && r->op <= WIRE_OP_CLIENT_LAST);
	FUZZ_CHECK(op != NULL && op->type == MSGPACK_OBJECT_STR &&
	    strlen(wire_op_name(r->op)) == op->via.str.size &&
	    memcmp(wire_op_name(r->op), op->via.str.ptr,
	    op->via.str.size) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wire_decoder	 dec;
	static int			 ready;
	struct wire_req			 req;
	msgpack_object			 root;
	const char			*why = NULL;
	enum wire_code			 code;

	if (!ready) {
		if (wire_decoder_init(&dec) == -1)
			abort();
		ready = 1;
	}
	if (wire_decode(&dec, (const char *)data, size, &root, &why) == -1) {
		FUZZ_CHECK(why != NULL);
		return (0);
	}
	in = data;
	in_len = size;
	why = NULL;
	code = wire_parse_req(&root, &req, &why);
	check_head(&root, &req, code);
	if (code != WIRE_OK) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(code == WIRE_BAD_REQUEST ||
		    code == WIRE_UNKNOWN_OP);
		FUZZ_CHECK(code != WIRE_UNKNOWN_OP ||
		    req.op == WIRE_OP_UNKNOWN);
		return (0);
	}
	check_fields(&req);
	return (0);
}
