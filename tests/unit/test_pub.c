/*
 * test_pub: the publish path and the reply queue through the event log's
 * backend seam. A fake backend answers every append ES_PENDING and the
 * test settles them when it likes: in order, out of order, with failure,
 * after the publishing connection is gone, or never (es_close does).
 * Connections are real conns over socketpairs, driven by the router's
 * own loop in this thread (ADR 0010).
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "eventstore/es_internal.h"
#include "router/config.h"
#include "router/conn.h"
#include "router/msg.h"
#include "router/pub.h"
#include "router/server.h"

#define FAKE_MAX	64

struct fake_append {
	es_append_cb	*cb;
	void		*arg;
	bool		 pending;
};

static struct {
	struct fake_append	 app[FAKE_MAX];
	size_t			 napp;
	struct eid		 last;
	unsigned		 callbacks;
} fk;

static void *
fake_open(struct es *front, const struct es_config *cfg, char **cause)
{
	(void)front;
	(void)cfg;
	(void)cause;
	memset(&fk, 0, sizeof(fk));
	return (&fk);
}

static void
fake_settle(size_t i, int status, enum es_stored where)
{
	assert_true(i < fk.napp && fk.app[i].pending);
	fk.app[i].pending = false;
	fk.callbacks++;
	fk.app[i].cb(fk.app[i].arg, status, where);
}

/* Every append still out is called back once with -1, as a backend must. */
static void
fake_close(void *be)
{
	size_t	i;

	(void)be;
	for (i = 0; i < fk.napp; i++) {
		if (fk.app[i].pending)
			fake_settle(i, -1, ES_STORED_NONE);
	}
}

static int
fake_append(void *be, const struct es_event *ev, es_append_cb *cb, void *arg,
    enum es_stored *where)
{
	(void)be;
	(void)where;
	assert_true(fk.napp < FAKE_MAX);
	fk.last = ev->eid;
	fk.app[fk.napp].cb = cb;
	fk.app[fk.napp].arg = arg;
	fk.app[fk.napp].pending = true;
	fk.napp++;
	return (ES_PENDING);
}

static int
fake_read(void *be, const struct es_query *q, struct es_event **out,
    struct es_read_result *res, es_read_cb *cb, void *arg)
{
	(void)be;
	(void)q;
	(void)out;
	(void)res;
	(void)cb;
	(void)arg;
	return (0);
}

static void
fake_last_eid(void *be, struct eid *out)
{
	(void)be;
	*out = fk.last;
}

static void
fake_first_eid(void *be, struct eid *out)
{
	(void)be;
	memset(out, 0, sizeof(*out));
}

static void
fake_stats(void *be, struct es_stats *out)
{
	(void)be;
	(void)out;
}

static const struct es_backend fake_backend = {
	.name = "fake",
	.open = fake_open,
	.close = fake_close,
	.append = fake_append,
	.read = fake_read,
	.last_eid = fake_last_eid,
	.first_eid = fake_first_eid,
	.stats = fake_stats
};

/* Config keys a test's setup sets: key, value, ..., NULL. */
static const char	*extra_cfg[8];

struct fixture {
	char		 dir[64];
	struct config	 cfg;
	struct server	 srv;
	bool		 freed;
};

/* A client: our end of a socketpair whose other end is a conn. */
struct peer {
	int		 fd;
	char		 buf[65536];
	size_t		 len;
	char		 frame[65536];	/* the last frame: un points into it */
	msgpack_unpacked un;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		*cause = NULL, path[128];
	size_t		 i;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/callosum-pub.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/s.sock", f->dir);
	config_defaults(&f->cfg);
	assert_int_equal(config_set(&f->cfg, "socket", path, &cause), 0);
	for (i = 0; extra_cfg[i] != NULL; i += 2)
		assert_int_equal(config_set(&f->cfg, extra_cfg[i],
		    extra_cfg[i + 1], &cause), 0);
	assert_int_equal(server_init(&f->srv, &f->cfg, &fake_backend, &cause),
	    0);
	*state = f;
	return (0);
}

static void
fixture_free_server(struct fixture *f)
{
	if (f->freed)
		return;
	f->freed = true;
	server_free(&f->srv);
	msg_pool_drain();
	pub_pool_drain();
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	fixture_free_server(f);
	config_free(&f->cfg);
	rmdir(f->dir);
	free(f);
	return (0);
}

static void
spin(struct fixture *f)
{
	int	i;

	for (i = 0; i < 20; i++)
		event_base_loop(server_base(&f->srv), EVLOOP_NONBLOCK);
}

static struct peer *
peer_new(struct fixture *f)
{
	struct peer	*p = calloc(1, sizeof(*p));
	int		 sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	conn_new(&f->srv, sv[0], getuid(), getpid());
	p->fd = sv[1];
	msgpack_unpacked_init(&p->un);
	return (p);
}

static void
peer_free(struct peer *p)
{
	if (p->fd != -1)
		close(p->fd);
	msgpack_unpacked_destroy(&p->un);
	free(p);
}

/* Sends one request: "key", value pairs of str (s), uint (u) or bool. */
static void
peer_send(struct peer *p, const char *fmt, ...)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	va_list		 ap;
	const char	*c;
	unsigned char	 hdr[WIRE_HDR_LEN];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, strlen(fmt));
	va_start(ap, fmt);
	for (c = fmt; *c != '\0'; c++) {
		wire_pack_cstr(&pk, va_arg(ap, const char *));
		if (*c == 's')
			wire_pack_cstr(&pk, va_arg(ap, const char *));
		else
			msgpack_pack_uint64(&pk, va_arg(ap, uint64_t));
	}
	va_end(ap);
	wire_put_len(hdr, (uint32_t)sb.size);
	assert_int_equal(write(p->fd, hdr, sizeof(hdr)), sizeof(hdr));
	assert_int_equal(write(p->fd, sb.data, sb.size), (ssize_t)sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* The next frame's map, or false when none has arrived. */
static bool
peer_next(struct peer *p, msgpack_object *out)
{
	ssize_t		n;
	uint32_t	len;

	n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
	if (n > 0)
		p->len += (size_t)n;
	if (p->len < WIRE_HDR_LEN)
		return (false);
	len = wire_frame_len((unsigned char *)p->buf);
	if (p->len < WIRE_HDR_LEN + len)
		return (false);
	memcpy(p->frame, p->buf + WIRE_HDR_LEN, len);
	assert_int_equal(msgpack_unpack_next(&p->un, p->frame, len, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	memmove(p->buf, p->buf + WIRE_HDR_LEN + len,
	    p->len - WIRE_HDR_LEN - len);
	p->len -= WIRE_HDR_LEN + len;
	*out = p->un.data;
	return (true);
}

static const msgpack_object *
get(const msgpack_object *m, const char *key)
{
	uint32_t	i;

	for (i = 0; i < m->via.map.size; i++) {
		if (m->via.map.ptr[i].key.via.str.size == strlen(key) &&
		    memcmp(m->via.map.ptr[i].key.via.str.ptr, key,
		    strlen(key)) == 0)
			return (&m->via.map.ptr[i].val);
	}
	return (NULL);
}

static bool
str_is(const msgpack_object *o, const char *s)
{
	return (o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, strlen(s)) == 0);
}

/* Expects the next frame to be op (with id when id != 0). */
static void
expect(struct peer *p, const char *op, uint64_t id, msgpack_object *out)
{
	msgpack_object	m;

	assert_true(peer_next(p, &m));
	if (!str_is(get(&m, "op"), op))
		fail_msg("expected %s, got %.*s", op,
		    (int)get(&m, "op")->via.str.size, get(&m, "op")->via.str.ptr);
	if (id != 0)
		assert_int_equal(get(&m, "id")->via.u64, id);
	if (out != NULL)
		*out = m;
}

static void
expect_nothing(struct peer *p)
{
	msgpack_object	m;

	assert_false(peer_next(p, &m));
}

static struct peer *
hello(struct fixture *f, const char *agent)
{
	struct peer	*p = peer_new(f);

	peer_send(p, "ss", "op", "hello", "agent", agent);
	spin(f);
	expect(p, "welcome", 0, NULL);
	return (p);
}

/* A cross-tract pub: internal -> external. */
static void
pub(struct peer *p, uint64_t id, const char *body)
{
	peer_send(p, "ssssu", "op", "pub", "from", "internal", "to",
	    "external", "body", body, "id", id);
}

static void
test_pub_ack_waits_for_the_log_and_keeps_order(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");
	msgpack_object	 m;

	pub(p, 1, "x");
	peer_send(p, "su", "op", "ping", "id", (uint64_t)2);
	spin(f);
	assert_int_equal(fk.napp, 1);
	expect_nothing(p);		/* the pong waits behind the ack */
	fake_settle(0, 0, ES_STORED_REDIS);
	spin(f);
	expect(p, "ack", 1, &m);
	assert_true(str_is(get(&m, "stored"), "redis"));
	assert_true(get(&m, "eid") != NULL);
	expect(p, "pong", 2, NULL);
	expect_nothing(p);
	peer_free(p);
}

static void
test_pub_outcomes_out_of_order_keep_request_order(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");
	msgpack_object	 m;

	pub(p, 1, "one");
	pub(p, 2, "two");
	peer_send(p, "su", "op", "ping", "id", (uint64_t)3);
	spin(f);
	assert_int_equal(fk.napp, 2);
	fake_settle(1, 0, ES_STORED_MEMORY);
	spin(f);
	expect_nothing(p);
	fake_settle(0, 0, ES_STORED_REDIS);
	spin(f);
	expect(p, "ack", 1, &m);
	assert_true(str_is(get(&m, "stored"), "redis"));
	expect(p, "ack", 2, &m);
	assert_true(str_is(get(&m, "stored"), "memory"));
	expect(p, "pong", 3, NULL);
	peer_free(p);
}

static void
test_pub_failed_append_is_store_unavailable(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");
	msgpack_object	 m;

	pub(p, 7, "x");
	spin(f);
	fake_settle(0, -1, ES_STORED_NONE);
	spin(f);
	expect(p, "err", 7, &m);
	assert_true(str_is(get(&m, "code"), "store_unavailable"));
	peer_free(p);
}

/*
 * Delivery does not wait for the log; on the publisher's own connection
 * the msg comes first (it was produced first), the ack when settled.
 */
static void
test_pub_delivery_does_not_wait_for_the_log(void **state)
{
	struct fixture	*f = *state;
	struct peer	*s = hello(f, "sub");
	struct peer	*p = hello(f, "pub");

	peer_send(s, "ssuuu", "op", "sub", "tract", "external", "sid",
	    (uint64_t)1, "credit", (uint64_t)10, "id", (uint64_t)9);
	peer_send(p, "ssuuu", "op", "sub", "tract", "external", "sid",
	    (uint64_t)4, "credit", (uint64_t)10, "id", (uint64_t)8);
	spin(f);
	expect(s, "ack", 9, NULL);
	expect(p, "ack", 8, NULL);
	pub(p, 1, "x");
	spin(f);
	expect(s, "msg", 0, NULL);
	expect(p, "msg", 0, NULL);
	expect_nothing(p);
	fake_settle(0, 0, ES_STORED_REDIS);
	spin(f);
	expect(p, "ack", 1, NULL);
	peer_free(s);
	peer_free(p);
}

/* While an ack is held, a later sub's ack and its msgs wait behind it. */
static void
test_pub_later_replies_and_msgs_wait_behind_a_held_ack(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");
	struct peer	*q = hello(f, "b");
	msgpack_object	 m;

	pub(p, 1, "x");
	peer_send(p, "ssuuu", "op", "sub", "tract", "t2", "sid", (uint64_t)5,
	    "credit", (uint64_t)10, "id", (uint64_t)2);
	spin(f);
	peer_send(q, "ssss", "op", "pub", "to", "t2", "body", "y", "kind",
	    "k");
	spin(f);
	expect_nothing(p);
	fake_settle(0, 0, ES_STORED_REDIS);
	spin(f);
	expect(p, "ack", 1, NULL);
	expect(p, "ack", 2, NULL);
	expect(p, "msg", 0, &m);
	assert_true(str_is(get(&m, "body"), "y"));
	peer_free(p);
	peer_free(q);
}

/* The connection is gone before the log answers: one callback, no reply. */
static void
test_pub_outcome_after_the_connection_closed(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");
	struct peer	*q;

	pub(p, 1, "x");
	pub(p, 2, "y");
	spin(f);
	assert_int_equal(fk.napp, 2);
	close(p->fd);
	p->fd = -1;
	spin(f);
	/* Closing, it waits for its held replies: a write finds it gone. */
	assert_int_equal(server_nconns(&f->srv), 1);
	fake_settle(0, 0, ES_STORED_REDIS);
	spin(f);
	assert_int_equal(server_nconns(&f->srv), 0);
	/* Freed: the last outcome finds only the memory its ticket kept. */
	fake_settle(1, -1, ES_STORED_NONE);
	spin(f);
	assert_int_equal(fk.callbacks, 2);
	/* The router goes on serving. */
	q = hello(f, "b");
	peer_send(q, "su", "op", "ping", "id", (uint64_t)3);
	spin(f);
	expect(q, "pong", 3, NULL);
	peer_free(p);
	peer_free(q);
}

/* Never settled: closing the log calls back each once, nothing leaks. */
static void
test_pub_close_calls_back_what_is_still_pending(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");

	pub(p, 1, "x");
	pub(p, 2, "y");
	spin(f);
	assert_int_equal(fk.napp, 2);
	fixture_free_server(f);
	assert_int_equal(fk.callbacks, 2);
	peer_free(p);
}

/* The router's own message, through the same path. */
static void
test_pub_system_reaches_a_sys_subscriber(void **state)
{
	struct fixture	*f = *state;
	struct peer	*s = hello(f, "watcher");
	msgpack_object	 m;

	peer_send(s, "ssuuu", "op", "sub", "tract", "$sys", "sid",
	    (uint64_t)1, "credit", (uint64_t)10, "id", (uint64_t)2);
	spin(f);
	expect(s, "ack", 2, NULL);
	assert_int_equal(pub_system(&f->srv, "$sys", "breaker", NULL, "\x80", 1,
	    false, NULL), PUB_DONE);
	spin(f);
	expect(s, "msg", 0, &m);
	assert_true(str_is(get(&m, "agent"), "callosumd"));
	assert_true(str_is(get(&m, "kind"), "breaker"));
	assert_true(str_is(get(&m, "from"), "$sys"));
	assert_int_equal(fk.napp, 0);	/* same tract: not logged */
	assert_int_equal(pub_system(&f->srv, "$nope", "x", NULL, "", 0, false,
	    NULL), PUB_REFUSED);
	peer_free(s);
}

/* Sends a frame built by the caller. */
static void
peer_send_sb(struct peer *p, msgpack_sbuffer *sb)
{
	unsigned char	 hdr[WIRE_HDR_LEN];

	wire_put_len(hdr, (uint32_t)sb->size);
	assert_int_equal(write(p->fd, hdr, sizeof(hdr)), sizeof(hdr));
	assert_int_equal(write(p->fd, sb->data, sb->size), (ssize_t)sb->size);
}

/* A block sub of one kind whose queue holds one message, credit 0. */
static void
sub_one_kind(struct peer *p, uint64_t sid, const char *tract,
    const char *kind, uint64_t id)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	wire_pack_cstr(&pk, "op");
	wire_pack_cstr(&pk, "sub");
	wire_pack_cstr(&pk, "sid");
	msgpack_pack_uint64(&pk, sid);
	wire_pack_cstr(&pk, "tract");
	wire_pack_cstr(&pk, tract);
	wire_pack_cstr(&pk, "credit");
	msgpack_pack_uint64(&pk, 0);
	wire_pack_cstr(&pk, "max_pending");
	msgpack_pack_uint64(&pk, 1);
	wire_pack_cstr(&pk, "kinds");
	msgpack_pack_array(&pk, 1);
	wire_pack_cstr(&pk, kind);
	wire_pack_cstr(&pk, "id");
	msgpack_pack_uint64(&pk, id);
	peer_send_sb(p, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * A publisher parked behind a full sub of kind x is woken when that sub
 * drains, although a block sub of kind y on the same tract stays full.
 */
static void
test_pub_parked_pub_wakes_when_its_kind_has_room(void **state)
{
	struct fixture	*f = *state;
	struct peer	*a = hello(f, "suba");
	struct peer	*b = hello(f, "subb");
	struct peer	*p = hello(f, "pub");

	sub_one_kind(a, 1, "t", "x", 1);
	sub_one_kind(b, 2, "t", "y", 2);
	spin(f);
	expect(a, "ack", 1, NULL);
	expect(b, "ack", 2, NULL);
	peer_send(p, "ssss", "op", "pub", "to", "t", "body", "1", "kind", "x");
	peer_send(p, "ssss", "op", "pub", "to", "t", "body", "2", "kind", "y");
	spin(f);
	peer_send(p, "ssssu", "op", "pub", "to", "t", "body", "3", "kind", "x",
	    "id", (uint64_t)10);
	spin(f);
	expect_nothing(p);		/* parked: a is full */
	peer_send(a, "suu", "op", "req", "sid", (uint64_t)1, "n", (uint64_t)5);
	spin(f);
	expect(a, "msg", 0, NULL);
	expect(p, "ack", 10, NULL);	/* not backpressure */
	expect(a, "msg", 0, NULL);
	peer_free(a);
	peer_free(b);
	peer_free(p);
}

/*
 * A connection that reads all it can is not closed for output_limit
 * while msgs for it wait behind its own held ack: they wait in its
 * subscription's queue, and come after the ack.
 */
static void
test_pub_held_ack_does_not_close_a_reader(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "pubsub");
	struct peer	*q = hello(f, "other");
	msgpack_object	 m;
	char		 body[2048];
	int		 i, msgs = 0;

	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	peer_send(p, "ssuuu", "op", "sub", "tract", "t2", "sid", (uint64_t)5,
	    "credit", (uint64_t)100000, "id", (uint64_t)2);
	spin(f);
	expect(p, "ack", 2, NULL);
	pub(p, 1, "x");			/* held: the log answers later */
	spin(f);
	for (i = 0; i < 100; i++) {
		peer_send(q, "ssss", "op", "pub", "to", "t2", "body", body,
		    "kind", "k");
		spin(f);
		assert_false(peer_next(p, &m));	/* all behind the ack */
	}
	fake_settle(0, 0, ES_STORED_REDIS);
	spin(f);
	expect(p, "ack", 1, NULL);
	for (i = 0; i < 200 && msgs < 100; i++) {
		while (peer_next(p, &m)) {
			assert_true(str_is(get(&m, "op"), "msg"));
			msgs++;
		}
		spin(f);
	}
	assert_int_equal(msgs, 100);
	peer_free(p);
	peer_free(q);
}

/* The drain delivers what was granted before the bye. */
static void
test_pub_drain_delivers_what_was_granted(void **state)
{
	struct fixture	*f = *state;
	struct peer	*s = hello(f, "sub");
	struct peer	*q = hello(f, "pub");
	msgpack_object	 m;
	char		 body[1024];
	int		 i, msgs = 0, tries;
	bool		 bye = false;

	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	peer_send(s, "ssuuu", "op", "sub", "tract", "t3", "sid", (uint64_t)5,
	    "credit", (uint64_t)0, "id", (uint64_t)2);
	spin(f);
	expect(s, "ack", 2, NULL);
	for (i = 0; i < 200; i++) {
		peer_send(q, "ssss", "op", "pub", "to", "t3", "body", body,
		    "kind", "k");
		spin(f);
	}
	peer_send(s, "suu", "op", "req", "sid", (uint64_t)5, "n",
	    (uint64_t)150);
	spin(f);
	server_stop(&f->srv);
	for (tries = 0; tries < 500 && !bye; tries++) {
		spin(f);
		while (!bye && peer_next(s, &m)) {
			if (str_is(get(&m, "op"), "bye"))
				bye = true;
			else if (str_is(get(&m, "op"), "msg"))
				msgs++;
		}
		usleep(1000);
	}
	assert_true(bye);
	assert_int_equal(msgs, 150);	/* the 50 not granted are not sent */
	peer_free(s);
	peer_free(q);
}

/* A request in the socket when the drain starts is answered. */
static void
test_pub_drain_answers_a_request_in_flight(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");
	msgpack_object	 m;
	int		 i;

	peer_send(p, "su", "op", "ping", "id", (uint64_t)42);
	server_stop(&f->srv);
	for (i = 0; i < 50; i++)
		spin(f);
	expect(p, "err", 42, &m);
	assert_true(str_is(get(&m, "code"), "shutting_down"));
	expect(p, "bye", 0, &m);
	assert_true(str_is(get(&m, "reason"), "shutdown"));
	assert_false(peer_next(p, &m));		/* one bye, not two */
	peer_free(p);
}

/* Pending pubs without an id settle silently, in any order. */
static void
test_pub_without_id_settles_silently(void **state)
{
	struct fixture	*f = *state;
	struct peer	*p = hello(f, "a");

	peer_send(p, "ssss", "op", "pub", "from", "internal", "to", "external",
	    "body", "x");
	peer_send(p, "ssss", "op", "pub", "from", "internal", "to", "external",
	    "body", "y");
	peer_send(p, "su", "op", "ping", "id", (uint64_t)3);
	spin(f);
	expect_nothing(p);
	fake_settle(1, 0, ES_STORED_REDIS);
	fake_settle(0, 0, ES_STORED_REDIS);
	spin(f);
	expect(p, "pong", 3, NULL);
	expect_nothing(p);
	peer_free(p);
}

static int
setup_short_publish(void **state)
{
	extra_cfg[0] = "publish_timeout_ms";
	extra_cfg[1] = "5000";
	extra_cfg[2] = NULL;
	return (setup(state));
}

static int
setup_small_output(void **state)
{
	extra_cfg[0] = "output_limit";
	extra_cfg[1] = "65536";
	extra_cfg[2] = NULL;
	return (setup(state));
}

static int
setup_plain(void **state)
{
	extra_cfg[0] = NULL;
	return (setup(state));
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup_plain, teardown)

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		T(test_pub_ack_waits_for_the_log_and_keeps_order),
		T(test_pub_outcomes_out_of_order_keep_request_order),
		T(test_pub_failed_append_is_store_unavailable),
		T(test_pub_delivery_does_not_wait_for_the_log),
		T(test_pub_later_replies_and_msgs_wait_behind_a_held_ack),
		T(test_pub_outcome_after_the_connection_closed),
		T(test_pub_close_calls_back_what_is_still_pending),
		T(test_pub_system_reaches_a_sys_subscriber),
		cmocka_unit_test_setup_teardown(
		    test_pub_parked_pub_wakes_when_its_kind_has_room,
		    setup_short_publish, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pub_held_ack_does_not_close_a_reader,
		    setup_small_output, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pub_drain_delivers_what_was_granted,
		    setup_small_output, teardown),
		T(test_pub_drain_answers_a_request_in_flight),
		T(test_pub_without_id_settles_silently),
	};

	signal(SIGPIPE, SIG_IGN);	/* as callosumd's main does */
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
