/*
 * test_msg: a message is encoded once and every subscriber's frame (its
 * own prefix + the shared tail) decodes to the SPEC's msg map.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eventstore/es_event.h"
#include "router/lib/wire.h"
#include "router/msg.h"

static struct wire_str
str(const char *s)
{
	struct wire_str	w = { s, (uint32_t)strlen(s) };

	return (w);
}

static void
fields(struct wire_msg *f, const char *eid, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->eid = str(eid);
	f->from = str("internal");
	f->to = str("external");
	f->kind = str("bframe");
	f->pri = 0.25;
	f->agent = str("a1");
	f->session = str("s1");
	f->model = str("m1");
	f->ts_us = 1700000000123456LL;
	f->body = str(body);
	f->pattern = str("p1");
}

/* Builds sid's frame from m and decodes it into root (zone kept in d). */
static void
frame_decode(struct msg *m, uint64_t sid, struct wire_decoder *d,
    char *buf, msgpack_object *root)
{
	unsigned char	 pre[WIRE_PREFIX_MAX];
	size_t		 n;
	const char	*why = NULL;

	n = wire_msg_prefix(pre, m->tail_pairs, m->tail_len, sid);
	memcpy(buf, pre, n);
	memcpy(buf + n, m->tail, m->tail_len);
	assert_int_equal(wire_frame_len(pre), n - WIRE_HDR_LEN + m->tail_len);
	assert_int_equal(wire_decode(d, buf + WIRE_HDR_LEN,
	    n - WIRE_HDR_LEN + m->tail_len, root, &why), 0);
}

static void
assert_str_field(const msgpack_object *root, const char *key, const char *want)
{
	const msgpack_object	*v = wire_map_get(root, key);

	assert_non_null(v);
	assert_int_equal(v->type, MSGPACK_OBJECT_STR);
	assert_int_equal(v->via.str.size, strlen(want));
	assert_memory_equal(v->via.str.ptr, want, strlen(want));
}

static void
test_msg_frames_for_two_sids_share_one_tail(void **state)
{
	struct wire_decoder	 d;
	struct wire_msg		 f;
	struct eid		 eid = { 1700000000123, 7 };
	msgpack_object		 root;
	struct msg		*m;
	char			 buf[1024];

	(void)state;
	wire_decoder_init(&d);
	fields(&f, "1700000000123-7", "hello");
	m = msg_new(&f, &eid);
	assert_int_equal(m->refcnt, 1);
	assert_int_equal(m->kind_len, 6);
	assert_memory_equal(m->kind, "bframe", 6);
	assert_string_equal(m->eid_str, "1700000000123-7");

	frame_decode(m, 1, &d, buf, &root);
	assert_int_equal(root.via.map.size, 13);
	assert_int_equal(wire_map_get(&root, "sid")->via.u64, 1);
	assert_str_field(&root, "op", "msg");
	assert_str_field(&root, "eid", "1700000000123-7");
	assert_str_field(&root, "from", "internal");
	assert_str_field(&root, "to", "external");
	assert_str_field(&root, "kind", "bframe");
	assert_str_field(&root, "agent", "a1");
	assert_str_field(&root, "session", "s1");
	assert_str_field(&root, "model", "m1");
	assert_str_field(&root, "pattern", "p1");
	assert_true(wire_map_get(&root, "pri")->via.f64 == 0.25);
	assert_int_equal(wire_map_get(&root, "ts")->via.i64, 1700000000123456LL);
	/* body was not marked str: it goes as bin */
	assert_int_equal(wire_map_get(&root, "body")->type, MSGPACK_OBJECT_BIN);

	frame_decode(m, 300000, &d, buf, &root);
	assert_int_equal(wire_map_get(&root, "sid")->via.u64, 300000);
	assert_str_field(&root, "eid", "1700000000123-7");
	msg_unref(m);
	wire_decoder_free(&d);
}

static void
test_msg_small_messages_are_recycled(void **state)
{
	struct wire_msg	 f;
	struct eid	 eid = { 1, 0 };
	struct msg	*m1, *m2;

	(void)state;
	fields(&f, "1-0", "small");
	m1 = msg_new(&f, &eid);
	assert_int_equal(m1->pooled, 1);
	msg_unref(m1);
	m2 = msg_new(&f, &eid);
	assert_ptr_equal(m1, m2);	/* the free list gave it back */
	assert_int_equal(m2->refcnt, 1);
	msg_unref(m2);
}

static void
test_msg_large_message_is_not_pooled_and_refcounts(void **state)
{
	static char	 big[4096];
	struct wire_msg	 f;
	struct eid	 eid = { 1, 0 };
	struct msg	*m;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	fields(&f, "1-0", big);
	m = msg_new(&f, &eid);
	assert_int_equal(m->pooled, 0);
	assert_true(m->tail_len > sizeof(big));
	assert_ptr_equal(msg_ref(m), m);
	assert_int_equal(m->refcnt, 2);
	msg_unref(m);
	assert_int_equal(m->refcnt, 1);
	msg_unref(m);
}

static void
test_msg_from_event_matches_msg_new(void **state)
{
	struct es_event	 proto, *ev;
	struct wire_msg	 f;
	struct msg	*a, *b;

	(void)state;
	fields(&f, "1700000000123-7", "hello");
	f.body_is_str = true;
	memset(&proto, 0, sizeof(proto));
	proto.eid.ms = 1700000000123;
	proto.eid.seq = 7;
	proto.ts_us = f.ts_us;
	proto.pri = f.pri;
	proto.body_is_str = true;
#define B(x) proto.x.ptr = f.x.ptr; proto.x.len = f.x.len
	B(from); B(to); B(kind); B(agent); B(session); B(model); B(body);
	B(pattern);
#undef B
	ev = es_event_new(&proto);
	assert_non_null(ev);
	a = msg_new(&f, &proto.eid);
	b = msg_from_event(ev);
	assert_int_equal(a->tail_len, b->tail_len);
	assert_int_equal(a->tail_pairs, b->tail_pairs);
	assert_memory_equal(a->tail, b->tail, a->tail_len);
	msg_unref(a);
	msg_unref(b);
	es_event_unref(ev);
}

static int
teardown(void **state)
{
	(void)state;
	msg_pool_drain();
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
		    test_msg_frames_for_two_sids_share_one_tail, teardown),
		cmocka_unit_test_teardown(
		    test_msg_small_messages_are_recycled, teardown),
		cmocka_unit_test_teardown(
		    test_msg_large_message_is_not_pooled_and_refcounts, teardown),
		cmocka_unit_test_teardown(test_msg_from_event_matches_msg_new,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
