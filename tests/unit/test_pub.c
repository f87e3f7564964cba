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

	assert_non_null(f);
	strcpy(f->dir, "/tmp/callosum-pub.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/s.sock", f->dir);
	config_defaults(&f->cfg);
	assert_int_equal(config_set(&f->cfg, "socket", path, &cause), 0);
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
	assert_int_equal(pub_system(&f->srv, "$sys", "breaker", "\x80", 1),
	    PUB_DONE);
	spin(f);
	expect(s, "msg", 0, &m);
	assert_true(str_is(get(&m, "agent"), "callosumd"));
	assert_true(str_is(get(&m, "kind"), "breaker"));
	assert_true(str_is(get(&m, "from"), "$sys"));
	assert_int_equal(fk.napp, 0);	/* same tract: not logged */
	assert_int_equal(pub_system(&f->srv, "$nope", "x", "", 0),
	    PUB_REFUSED);
	peer_free(s);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

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
	};

	signal(SIGPIPE, SIG_IGN);	/* as callosumd's main does */
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
