/*
 * test_client: tools/client.h against a tiny fake router written here: a
 * Unix socket in a fresh temp dir, whose accepted end the test writes
 * frames to (whole, byte by byte, coalesced, malformed) and reads the
 * client's requests from.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/client.h"

#define BIG_BODY	(300 * 1024)	/* more than a socket buffer holds */

/* Writes buf to fd in chunks from a thread, so the client must wait. */
struct writer {
	int		 fd;
	const char	*buf;
	size_t		 len;
	size_t		 chunk;
	useconds_t	 delay_us;
};

struct fixture {
	char			 dir[64];
	char			 path[128];
	int			 lfd;
	int			 srv;		/* the fake router's end */
	struct client		*c;

	msgpack_sbuffer		 out;		/* frames the router sends */
	msgpack_packer		 pk;
	struct wire_decoder	 dec;		/* requests it reads */
	char			*in;

	pthread_t		 thread;
	bool			 writing;
	struct writer		 w;
};

static int
setup(void **state)
{
	struct sockaddr_un	 sun;
	struct fixture		*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	strcpy(f->dir, "/tmp/test_client.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return (-1);
	snprintf(f->path, sizeof(f->path), "%s/r.sock", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->path);
	if ((f->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(f->lfd, 4) == -1)
		return (-1);
	/* connect() completes against the backlog; accept afterwards. */
	if ((f->c = client_connect(f->path)) == NULL)
		return (-1);
	if ((f->srv = accept(f->lfd, NULL, NULL)) == -1)
		return (-1);
	msgpack_sbuffer_init(&f->out);
	msgpack_packer_init(&f->pk, &f->out, msgpack_sbuffer_write);
	wire_decoder_init(&f->dec);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	/*
	 * The client goes first: a writer thread blocked on a client that
	 * stopped reading (a failed test) then fails instead of hanging.
	 */
	client_close(f->c);
	if (f->writing)
		pthread_join(f->thread, NULL);
	if (f->srv != -1)
		close(f->srv);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	msgpack_sbuffer_destroy(&f->out);
	wire_decoder_free(&f->dec);
	free(f->in);
	free(f);
	return (0);
}

static void
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	size_t		 off, n;

	for (off = 0; off < w->len; off += n) {
		n = w->len - off < w->chunk ? w->len - off : w->chunk;
		/* No SIGPIPE when the client is gone: the test fails, not us. */
		if (send(w->fd, w->buf + off, n, MSG_NOSIGNAL) != (ssize_t)n)
			break;
		if (w->delay_us != 0)
			usleep(w->delay_us);
	}
	return (NULL);
}

/* Sends what the router packed, from a thread, chunk bytes at a time. */
static void
srv_send_async(struct fixture *f, size_t chunk, useconds_t delay_us)
{
	f->w.fd = f->srv;
	f->w.buf = f->out.data;
	f->w.len = f->out.size;
	f->w.chunk = chunk;
	f->w.delay_us = delay_us;
	assert_int_equal(pthread_create(&f->thread, NULL, writer_main, &f->w),
	    0);
	f->writing = true;
}

/* Sends what the router packed, now, and empties its buffer. */
static void
srv_send(struct fixture *f)
{
	write_all(f->srv, f->out.data, f->out.size);
	msgpack_sbuffer_clear(&f->out);
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	assert_int_equal(wire_pack_cstr(pk, s), 0);
}

/* Packs a {"op": op, "id": id} frame for the router to send. */
static void
srv_frame_id(struct fixture *f, const char *op, uint64_t id)
{
	size_t	start = wire_frame_begin(&f->out);

	msgpack_pack_map(&f->pk, 2);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, op);
	pk_str(&f->pk, "id");
	msgpack_pack_uint64(&f->pk, id);
	wire_frame_end(&f->out, start);
}

static void
srv_welcome(struct fixture *f, uint64_t conn, uint64_t max_frame)
{
	size_t	start = wire_frame_begin(&f->out);

	msgpack_pack_map(&f->pk, 6);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, "welcome");
	pk_str(&f->pk, "v");
	msgpack_pack_uint64(&f->pk, 1);
	pk_str(&f->pk, "server");
	pk_str(&f->pk, "callosum/test");
	pk_str(&f->pk, "conn");
	msgpack_pack_uint64(&f->pk, conn);
	pk_str(&f->pk, "max_frame");
	msgpack_pack_uint64(&f->pk, max_frame);
	pk_str(&f->pk, "tracts");
	msgpack_pack_array(&f->pk, 0);
	wire_frame_end(&f->out, start);
}

/* Reads one request from the client (blocking) into *out. */
static void
srv_read(struct fixture *f, msgpack_object *out)
{
	unsigned char	hdr[WIRE_HDR_LEN];
	const char	*why;
	uint32_t	 len;
	size_t		 off;
	ssize_t		 n;

	for (off = 0; off < sizeof(hdr); off += (size_t)n)
		assert_true((n = read(f->srv, hdr + off,
		    sizeof(hdr) - off)) > 0);
	len = wire_frame_len(hdr);
	assert_true(len > 0);
	free(f->in);
	assert_non_null(f->in = malloc(len));
	for (off = 0; off < len; off += (size_t)n)
		assert_true((n = read(f->srv, f->in + off, len - off)) > 0);
	assert_int_equal(wire_decode(&f->dec, f->in, len, out, &why), 0);
}

/* True when the client has sent nothing the router has not read. */
static bool
srv_nothing_to_read(struct fixture *f)
{
	char	c;

	return (recv(f->srv, &c, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN);
}

static bool
str_is(const msgpack_object *frame, const char *key, const char *want)
{
	struct wire_str	s;

	return (client_get_str(frame, key, &s) && s.len == strlen(want) &&
	    memcmp(s.ptr, want, s.len) == 0);
}

static uint64_t
u64_of(const msgpack_object *frame, const char *key)
{
	uint64_t	v;

	assert_true(client_get_u64(frame, key, &v));
	return (v);
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A frame with a raw body, header included. */
static size_t
raw_frame(unsigned char *buf, const void *body, uint32_t len)
{
	wire_put_len(buf, len);
	memcpy(buf + WIRE_HDR_LEN, body, len);
	return (WIRE_HDR_LEN + len);
}

/*
 * The bin body size that makes {"op": "msg", "body": bin} exactly len bytes
 * long: fixmap, "op", "msg", "body", then the bin header and the bytes.
 */
static size_t
msg_bin_len(size_t len)
{
	const size_t	fixed = 1 + 3 + 4 + 5;

	if (len - fixed - 2 <= 0xff)
		return (len - fixed - 2);	/* bin8 */
	if (len - fixed - 3 <= 0xffff)
		return (len - fixed - 3);	/* bin16 */
	return (len - fixed - 5);		/* bin32 */
}

/* Packs a msg frame for the router to send, its body exactly len bytes. */
static void
srv_msg_of_len(struct fixture *f, size_t len)
{
	size_t	 start, n = msg_bin_len(len);
	char	*zero;

	assert_non_null(zero = calloc(1, n));
	start = wire_frame_begin(&f->out);
	msgpack_pack_map(&f->pk, 2);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, "msg");
	pk_str(&f->pk, "body");
	msgpack_pack_bin(&f->pk, n);
	msgpack_pack_bin_body(&f->pk, zero, n);
	wire_frame_end(&f->out, start);
	assert_int_equal(f->out.size - start, WIRE_HDR_LEN + len);
	free(zero);
}

/* Receives the frame srv_msg_of_len(len) made, whole. */
static void
expect_msg_of_len(struct fixture *f, size_t len)
{
	const msgpack_object	*body;
	msgpack_object		 frame;

	assert_int_equal(client_recv(f->c, 5000, &frame), 1);
	assert_int_equal(client_frame_op(&frame), WIRE_OP_MSG);
	assert_non_null(body = wire_map_get(&frame, "body"));
	assert_int_equal(body->type, MSGPACK_OBJECT_BIN);
	assert_int_equal(body->via.bin.size, msg_bin_len(len));
}

static void
test_client_hello_sends_hello_and_reads_welcome(void **state)
{
	struct fixture		*f = *state;
	struct client_hello	 h = { "tester", "s1", NULL, "internal" };
	const char		*code = "unset";
	msgpack_object		 req;

	srv_welcome(f, 42, 2048);
	srv_send(f);
	assert_int_equal(client_max_frame(f->c), WIRE_MAX_FRAME_DEFAULT);
	assert_int_equal(client_hello(f->c, &h, 1000, &code), 0);
	assert_null(code);
	assert_int_equal(client_conn_id(f->c), 42);
	assert_int_equal(client_max_frame(f->c), 2048);

	srv_read(f, &req);
	assert_int_equal(client_frame_op(&req), WIRE_OP_HELLO);
	assert_int_equal(req.via.map.size, 5);
	assert_int_equal(u64_of(&req, "v"), 1);
	assert_true(str_is(&req, "agent", "tester"));
	assert_true(str_is(&req, "session", "s1"));
	assert_true(str_is(&req, "tract", "internal"));
	assert_null(wire_map_get(&req, "model"));
	assert_null(wire_map_get(&req, "id"));
}

static void
test_client_hello_err_gives_code_and_msg(void **state)
{
	struct fixture		*f = *state;
	struct client_hello	 h = { "tester", NULL, NULL, NULL };
	const char		*code = NULL;
	size_t			 start;

	start = wire_frame_begin(&f->out);
	msgpack_pack_map(&f->pk, 3);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, "err");
	pk_str(&f->pk, "code");
	pk_str(&f->pk, "unauthorized");
	pk_str(&f->pk, "msg");
	pk_str(&f->pk, "uid 1000 is not allowed");
	wire_frame_end(&f->out, start);
	srv_send(f);

	assert_int_equal(client_hello(f->c, &h, 1000, &code), -1);
	assert_non_null(code);
	assert_string_equal(code, "unauthorized");
	assert_string_equal(client_err_msg(f->c), "uid 1000 is not allowed");
}

static void
test_client_hello_without_welcome_times_out(void **state)
{
	struct fixture		*f = *state;
	struct client_hello	 h = { "tester", NULL, NULL, NULL };
	const char		*code = "unset";

	assert_int_equal(client_hello(f->c, &h, 50, &code), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_null(code);
}

static void
test_client_hello_close_is_econnreset(void **state)
{
	struct fixture		*f = *state;
	struct client_hello	 h = { "tester", NULL, NULL, NULL };
	const char		*code = "unset";

	close(f->srv);
	f->srv = -1;
	assert_int_equal(client_hello(f->c, &h, 1000, &code), -1);
	assert_null(code);
	assert_true(errno == ECONNRESET || errno == EPIPE);
}

static void
test_client_send_frames_a_request_with_big_endian_length(void **state)
{
	struct fixture	*f = *state;
	msgpack_packer	*pk;
	unsigned char	 buf[64];
	ssize_t		 n;

	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 2);
	pk_str(pk, "op");
	pk_str(pk, "ping");
	pk_str(pk, "id");
	msgpack_pack_uint64(pk, 9);
	assert_int_equal(client_send(f->c), 0);

	/* fixmap(2) "op" "ping" "id" 9: 1 + 3 + 5 + 3 + 1 bytes. */
	n = read(f->srv, buf, sizeof(buf));
	assert_int_equal(n, 4 + 13);
	assert_memory_equal(buf, "\x00\x00\x00\x0d\x82\xa2op\xa4ping\xa2id\x09",
	    17);
}

static void
test_client_end_queues_until_flush(void **state)
{
	struct fixture	*f = *state;
	msgpack_packer	*pk;
	msgpack_object	 req;
	uint64_t	 id;

	for (id = 1; id <= 3; id++) {
		assert_non_null(pk = client_begin(f->c));
		msgpack_pack_map(pk, 2);
		pk_str(pk, "op");
		pk_str(pk, "ping");
		pk_str(pk, "id");
		msgpack_pack_uint64(pk, id);
		assert_int_equal(client_end(f->c), 0);
	}
	assert_true(srv_nothing_to_read(f));
	assert_int_equal(client_flush(f->c), 0);
	for (id = 1; id <= 3; id++) {
		srv_read(f, &req);
		assert_int_equal(client_frame_op(&req), WIRE_OP_PING);
		assert_int_equal(u64_of(&req, "id"), id);
	}
	assert_true(srv_nothing_to_read(f));
	assert_int_equal(client_flush(f->c), 0);
}

static void
test_client_recv_frame_split_into_single_bytes(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;
	size_t		 i;

	srv_frame_id(f, "pong", 77);
	for (i = 0; i + 1 < f->out.size; i++) {
		write_all(f->srv, f->out.data + i, 1);
		assert_int_equal(client_recv(f->c, 0, &frame), -1);
		assert_int_equal(errno, ETIMEDOUT);
	}
	write_all(f->srv, f->out.data + i, 1);
	assert_int_equal(client_recv(f->c, 0, &frame), 1);
	assert_int_equal(client_frame_op(&frame), WIRE_OP_PONG);
	assert_int_equal(u64_of(&frame, "id"), 77);
}

static void
test_client_recv_waits_for_bytes_trickling_in(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;

	srv_frame_id(f, "ack", 1);
	srv_frame_id(f, "ack", 2);
	srv_send_async(f, 1, 1000);
	assert_int_equal(client_recv(f->c, 5000, &frame), 1);
	assert_int_equal(u64_of(&frame, "id"), 1);
	assert_int_equal(client_recv(f->c, 5000, &frame), 1);
	assert_int_equal(u64_of(&frame, "id"), 2);
}

static void
test_client_recv_coalesced_frames_come_one_per_call(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;
	uint64_t	 id;

	for (id = 1; id <= 3; id++)
		srv_frame_id(f, "ack", id);
	srv_send(f);
	for (id = 1; id <= 3; id++) {
		assert_int_equal(client_recv(f->c, 0, &frame), 1);
		assert_int_equal(client_frame_op(&frame), WIRE_OP_ACK);
		assert_int_equal(u64_of(&frame, "id"), id);
	}
	assert_int_equal(client_recv(f->c, 0, &frame), -1);
	assert_int_equal(errno, ETIMEDOUT);
}

static void
test_client_recv_frame_larger_than_socket_buffer(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;
	const msgpack_object *body;
	char		*big;
	size_t		 start, i;

	assert_non_null(big = malloc(BIG_BODY));
	for (i = 0; i < BIG_BODY; i++)
		big[i] = (char)(i % 251);
	start = wire_frame_begin(&f->out);
	msgpack_pack_map(&f->pk, 2);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, "msg");
	pk_str(&f->pk, "body");
	msgpack_pack_bin(&f->pk, BIG_BODY);
	msgpack_pack_bin_body(&f->pk, big, BIG_BODY);
	wire_frame_end(&f->out, start);
	srv_frame_id(f, "ack", 5);
	srv_send_async(f, 8192, 0);

	assert_int_equal(client_recv(f->c, 5000, &frame), 1);
	assert_int_equal(client_frame_op(&frame), WIRE_OP_MSG);
	assert_non_null(body = wire_map_get(&frame, "body"));
	assert_int_equal(body->type, MSGPACK_OBJECT_BIN);
	assert_int_equal(body->via.bin.size, BIG_BODY);
	assert_memory_equal(body->via.bin.ptr, big, BIG_BODY);
	assert_int_equal(client_recv(f->c, 5000, &frame), 1);
	assert_int_equal(u64_of(&frame, "id"), 5);
	free(big);
}

/*
 * SPEC: the router's frames are at most max_frame + 1024 bytes, so that a
 * pub of max_frame bytes can be delivered; the client reads that much.
 */
static void
test_client_recv_frame_of_max_frame_plus_slack_is_read(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;

	assert_int_equal(WIRE_OUT_SLACK, 1024);
	srv_msg_of_len(f, WIRE_MAX_FRAME_DEFAULT + 1);
	srv_msg_of_len(f, WIRE_MAX_FRAME_DEFAULT + WIRE_OUT_SLACK);
	srv_frame_id(f, "ack", 3);
	srv_send_async(f, 65536, 0);
	expect_msg_of_len(f, WIRE_MAX_FRAME_DEFAULT + 1);
	expect_msg_of_len(f, WIRE_MAX_FRAME_DEFAULT + WIRE_OUT_SLACK);
	assert_int_equal(client_recv(f->c, 5000, &frame), 1);
	assert_int_equal(u64_of(&frame, "id"), 3);
}

static void
test_client_recv_oversized_frame_is_eproto(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 hdr[WIRE_HDR_LEN];
	msgpack_object	 frame;

	/* Refused from the header alone: no body follows. */
	wire_put_len(hdr, WIRE_MAX_FRAME_DEFAULT + WIRE_OUT_SLACK + 1);
	write_all(f->srv, hdr, sizeof(hdr));
	assert_int_equal(client_recv(f->c, 1000, &frame), -1);
	assert_int_equal(errno, EPROTO);
}

/* After welcome, its max_frame + WIRE_OUT_SLACK is read, one more is not. */
static void
test_client_recv_frame_over_welcome_max_frame_is_eproto(void **state)
{
	struct fixture		*f = *state;
	struct client_hello	 h = { "tester", NULL, NULL, NULL };
	unsigned char		 hdr[WIRE_HDR_LEN];
	const char		*code;
	msgpack_object		 frame;

	srv_welcome(f, 1, 64);
	srv_send(f);
	assert_int_equal(client_hello(f->c, &h, 1000, &code), 0);
	srv_msg_of_len(f, 65);
	srv_msg_of_len(f, 64 + WIRE_OUT_SLACK);
	srv_send(f);
	expect_msg_of_len(f, 65);
	expect_msg_of_len(f, 64 + WIRE_OUT_SLACK);
	wire_put_len(hdr, 64 + WIRE_OUT_SLACK + 1);
	write_all(f->srv, hdr, sizeof(hdr));
	assert_int_equal(client_recv(f->c, 1000, &frame), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_client_recv_zero_length_frame_is_eproto(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;

	write_all(f->srv, "\0\0\0\0", 4);
	assert_int_equal(client_recv(f->c, 1000, &frame), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_client_recv_body_not_a_map_is_eproto(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 buf[16];
	msgpack_object	 frame;

	write_all(f->srv, buf, raw_frame(buf, "\x93\x01\x02\x03", 4));
	assert_int_equal(client_recv(f->c, 1000, &frame), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_client_recv_trailing_bytes_are_eproto(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 buf[16];
	msgpack_object	 frame;

	write_all(f->srv, buf, raw_frame(buf, "\x80\x01", 2));
	assert_int_equal(client_recv(f->c, 1000, &frame), -1);
	assert_int_equal(errno, EPROTO);
}

static void
test_client_recv_timeout_is_etimedout(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;
	int64_t		 t0, elapsed;

	t0 = now_ms();
	assert_int_equal(client_recv(f->c, 50, &frame), -1);
	elapsed = now_ms() - t0;
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(elapsed >= 49);
	assert_true(elapsed < 2000);
}

static void
test_client_recv_close_between_frames_is_zero(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;

	srv_frame_id(f, "pong", 1);
	srv_send(f);
	close(f->srv);
	f->srv = -1;
	assert_int_equal(client_recv(f->c, 1000, &frame), 1);
	assert_int_equal(client_recv(f->c, 1000, &frame), 0);
	assert_int_equal(client_recv(f->c, 1000, &frame), 0);
}

static void
test_client_recv_close_inside_frame_is_eproto(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 frame;

	srv_frame_id(f, "pong", 1);
	write_all(f->srv, f->out.data, f->out.size - 1);
	close(f->srv);
	f->srv = -1;
	assert_int_equal(client_recv(f->c, 1000, &frame), -1);
	assert_int_equal(errno, EPROTO);
}

/* Counts the frames client_call() skipped and remembers their ops. */
struct skipped {
	int		n;
	enum wire_op	ops[4];
};

static void
skip_cb(void *arg, const msgpack_object *frame)
{
	struct skipped	*s = arg;

	if (s->n < 4)
		s->ops[s->n] = client_frame_op(frame);
	s->n++;
}

static void
test_client_call_skips_msg_frame_before_reply(void **state)
{
	struct fixture	*f = *state;
	struct skipped	 skipped = { 0, { 0 } };
	msgpack_packer	*pk;
	msgpack_object	 reply, req;
	size_t		 start;

	start = wire_frame_begin(&f->out);
	msgpack_pack_map(&f->pk, 2);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, "msg");
	pk_str(&f->pk, "sid");
	msgpack_pack_uint64(&f->pk, 1);
	wire_frame_end(&f->out, start);
	srv_frame_id(f, "ack", 4);	/* an earlier request's answer */
	srv_frame_id(f, "pong", 5);
	srv_frame_id(f, "ack", 6);	/* stays for the next recv */
	srv_send(f);

	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 2);
	pk_str(pk, "op");
	pk_str(pk, "ping");
	pk_str(pk, "id");
	msgpack_pack_uint64(pk, 5);
	assert_int_equal(client_call(f->c, 5, 1000, &reply, skip_cb,
	    &skipped), 1);
	assert_int_equal(client_frame_op(&reply), WIRE_OP_PONG);
	assert_int_equal(u64_of(&reply, "id"), 5);
	assert_int_equal(skipped.n, 2);
	assert_int_equal(skipped.ops[0], WIRE_OP_MSG);
	assert_int_equal(skipped.ops[1], WIRE_OP_ACK);

	srv_read(f, &req);
	assert_int_equal(client_frame_op(&req), WIRE_OP_PING);
	assert_int_equal(u64_of(&req, "id"), 5);
	assert_int_equal(client_recv(f->c, 0, &reply), 1);
	assert_int_equal(u64_of(&reply, "id"), 6);
}

static void
test_client_call_returns_err_reply(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 reply;
	size_t		 start;

	start = wire_frame_begin(&f->out);
	msgpack_pack_map(&f->pk, 3);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, "err");
	pk_str(&f->pk, "id");
	msgpack_pack_uint64(&f->pk, 3);
	pk_str(&f->pk, "code");
	pk_str(&f->pk, "bad_tract");
	wire_frame_end(&f->out, start);
	srv_send(f);

	msgpack_pack_map(client_begin(f->c), 0);
	assert_int_equal(client_call(f->c, 3, 1000, &reply, NULL, NULL), 1);
	assert_int_equal(client_frame_op(&reply), WIRE_OP_ERR);
	assert_true(str_is(&reply, "code", "bad_tract"));
}

static void
test_client_call_returns_conns_reply(void **state)
{
	struct fixture	*f = *state;
	struct skipped	 skipped = { 0, { 0 } };
	msgpack_packer	*pk;
	msgpack_object	 reply, req;
	size_t		 start;

	srv_frame_id(f, "msg", 8);	/* not a reply, though it has the id */
	start = wire_frame_begin(&f->out);
	msgpack_pack_map(&f->pk, 4);
	pk_str(&f->pk, "op");
	pk_str(&f->pk, "conns");
	pk_str(&f->pk, "id");
	msgpack_pack_uint64(&f->pk, 8);
	pk_str(&f->pk, "conns");
	msgpack_pack_array(&f->pk, 0);
	pk_str(&f->pk, "truncated");
	msgpack_pack_false(&f->pk);
	wire_frame_end(&f->out, start);
	srv_send(f);

	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 2);
	pk_str(pk, "op");
	pk_str(pk, "conns");
	pk_str(pk, "id");
	msgpack_pack_uint64(pk, 8);
	assert_int_equal(client_call(f->c, 8, 1000, &reply, skip_cb,
	    &skipped), 1);
	assert_int_equal(client_frame_op(&reply), WIRE_OP_CONNS);
	assert_int_equal(u64_of(&reply, "id"), 8);
	assert_int_equal(wire_map_get(&reply, "conns")->type,
	    MSGPACK_OBJECT_ARRAY);
	assert_int_equal(skipped.n, 1);
	assert_int_equal(skipped.ops[0], WIRE_OP_MSG);

	srv_read(f, &req);
	assert_int_equal(client_frame_op(&req), WIRE_OP_CONNS);
	assert_int_equal(req.via.map.size, 2);
	assert_int_equal(u64_of(&req, "id"), 8);
}

static void
test_client_call_close_before_reply_is_zero(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 reply;

	srv_frame_id(f, "ack", 1);
	srv_send(f);
	shutdown(f->srv, SHUT_WR);
	msgpack_pack_map(client_begin(f->c), 0);
	assert_int_equal(client_call(f->c, 2, 1000, &reply, NULL, NULL), 0);
}

static void
test_client_call_timeout_is_etimedout(void **state)
{
	struct fixture	*f = *state;
	msgpack_object	 reply;

	msgpack_pack_map(client_begin(f->c), 0);
	assert_int_equal(client_call(f->c, 1, 30, &reply, NULL, NULL), -1);
	assert_int_equal(errno, ETIMEDOUT);
}

static void
test_client_send_over_max_frame_is_emsgsize_and_dropped(void **state)
{
	struct fixture		*f = *state;
	struct client_hello	 h = { "tester", NULL, NULL, NULL };
	char			 big[100];
	const char		*code;
	msgpack_packer		*pk;
	msgpack_object		 req;

	srv_welcome(f, 1, 64);
	srv_send(f);
	assert_int_equal(client_hello(f->c, &h, 1000, &code), 0);
	srv_read(f, &req);

	memset(big, 'x', sizeof(big));
	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 1);
	pk_str(pk, "body");
	wire_pack_str(pk, big, sizeof(big));
	assert_int_equal(client_send(f->c), -1);
	assert_int_equal(errno, EMSGSIZE);

	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 1);
	pk_str(pk, "op");
	pk_str(pk, "ping");
	assert_int_equal(client_send(f->c), 0);
	srv_read(f, &req);
	assert_int_equal(client_frame_op(&req), WIRE_OP_PING);
	assert_int_equal(req.via.map.size, 1);
	assert_true(srv_nothing_to_read(f));
}

/* Reading up to max_frame + 1024 does not let the client send more. */
static void
test_client_send_limit_is_max_frame_exactly(void **state)
{
	struct fixture		*f = *state;
	struct client_hello	 h = { "tester", NULL, NULL, NULL };
	char			 big[64];
	const char		*code;
	msgpack_packer		*pk;
	msgpack_object		 req;

	srv_welcome(f, 1, 64);
	srv_send(f);
	assert_int_equal(client_hello(f->c, &h, 1000, &code), 0);
	srv_read(f, &req);

	/* fixmap(1), "body", str8: 1 + 5 + 2 + 56 = 64 bytes. */
	memset(big, 'x', sizeof(big));
	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 1);
	pk_str(pk, "body");
	wire_pack_str(pk, big, 56);
	assert_int_equal(client_send(f->c), 0);
	srv_read(f, &req);
	assert_int_equal(wire_map_get(&req, "body")->via.str.size, 56);

	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 1);
	pk_str(pk, "body");
	wire_pack_str(pk, big, 57);
	assert_int_equal(client_send(f->c), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_true(srv_nothing_to_read(f));
}

static void
test_client_begin_twice_discards_the_unfinished_frame(void **state)
{
	struct fixture	*f = *state;
	msgpack_packer	*pk;
	msgpack_object	 req;

	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 1);
	pk_str(pk, "op");
	assert_non_null(pk = client_begin(f->c));
	msgpack_pack_map(pk, 1);
	pk_str(pk, "op");
	pk_str(pk, "stats");
	assert_int_equal(client_send(f->c), 0);
	srv_read(f, &req);
	assert_int_equal(client_frame_op(&req), WIRE_OP_STATS);
	assert_true(srv_nothing_to_read(f));
}

static void
test_client_send_raw_writes_bytes_unchanged(void **state)
{
	struct fixture	*f = *state;
	char		 buf[8];

	assert_int_equal(client_send_raw(f->c, "\0\0\0\0junk", 8), 0);
	assert_int_equal(read(f->srv, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "\0\0\0\0junk", 8);
}

static void
test_client_get_accessors_check_types(void **state)
{
	struct fixture		*f = *state;
	struct wire_str		 s;
	msgpack_object		 frame;
	uint64_t		 v = 99;
	size_t			 start;

	start = wire_frame_begin(&f->out);
	msgpack_pack_map(&f->pk, 3);
	pk_str(&f->pk, "code");
	pk_str(&f->pk, "x");
	pk_str(&f->pk, "n");
	msgpack_pack_int64(&f->pk, -1);
	pk_str(&f->pk, "empty");
	pk_str(&f->pk, "");
	wire_frame_end(&f->out, start);
	srv_send(f);
	assert_int_equal(client_recv(f->c, 1000, &frame), 1);

	assert_int_equal(client_frame_op(&frame), WIRE_OP_UNKNOWN);
	assert_false(client_get_u64(&frame, "n", &v));
	assert_false(client_get_u64(&frame, "code", &v));
	assert_false(client_get_u64(&frame, "absent", &v));
	assert_int_equal(v, 99);
	assert_false(client_get_str(&frame, "n", &s));
	assert_null(s.ptr);
	assert_true(client_get_str(&frame, "empty", &s));
	assert_non_null(s.ptr);
	assert_int_equal(s.len, 0);
}

static void
test_client_connect_to_missing_socket_is_enoent(void **state)
{
	struct fixture	*f = *state;
	char		 path[160];

	snprintf(path, sizeof(path), "%s/absent.sock", f->dir);
	assert_null(client_connect(path));
	assert_int_equal(errno, ENOENT);
}

static void
test_client_connect_to_overlong_path_is_enametoolong(void **state)
{
	char	path[200];

	(void)state;
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_null(client_connect(path));
	assert_int_equal(errno, ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_client_hello_sends_hello_and_reads_welcome),
		T(test_client_hello_err_gives_code_and_msg),
		T(test_client_hello_without_welcome_times_out),
		T(test_client_hello_close_is_econnreset),
		T(test_client_send_frames_a_request_with_big_endian_length),
		T(test_client_end_queues_until_flush),
		T(test_client_recv_frame_split_into_single_bytes),
		T(test_client_recv_waits_for_bytes_trickling_in),
		T(test_client_recv_coalesced_frames_come_one_per_call),
		T(test_client_recv_frame_larger_than_socket_buffer),
		T(test_client_recv_frame_of_max_frame_plus_slack_is_read),
		T(test_client_recv_oversized_frame_is_eproto),
		T(test_client_recv_frame_over_welcome_max_frame_is_eproto),
		T(test_client_recv_zero_length_frame_is_eproto),
		T(test_client_recv_body_not_a_map_is_eproto),
		T(test_client_recv_trailing_bytes_are_eproto),
		T(test_client_recv_timeout_is_etimedout),
		T(test_client_recv_close_between_frames_is_zero),
		T(test_client_recv_close_inside_frame_is_eproto),
		T(test_client_call_skips_msg_frame_before_reply),
		T(test_client_call_returns_err_reply),
		T(test_client_call_returns_conns_reply),
		T(test_client_call_close_before_reply_is_zero),
		T(test_client_call_timeout_is_etimedout),
		T(test_client_send_over_max_frame_is_emsgsize_and_dropped),
		T(test_client_send_limit_is_max_frame_exactly),
		T(test_client_begin_twice_discards_the_unfinished_frame),
		T(test_client_send_raw_writes_bytes_unchanged),
		T(test_client_get_accessors_check_types),
		T(test_client_connect_to_missing_socket_is_enoent),
		T(test_client_connect_to_overlong_path_is_enametoolong),
#undef T
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
