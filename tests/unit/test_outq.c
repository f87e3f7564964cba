/*
 * test_outq: a connection's output keeps production order, held replies
 * keep their place whatever order they are filled in, and a cut leaves a
 * stream of whole frames for the bye that follows. Driven over a real
 * socketpair.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "router/lib/wire.h"
#include "router/outq.h"

struct fixture {
	int		 sv[2];		/* [0] the router's, [1] the peer's */
	struct outq	*q;
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv), 0);
	assert_int_equal(fcntl(f->sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(f->sv[1], F_SETFL, O_NONBLOCK), 0);
	f->q = outq_new(f->sv[0]);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	outq_free(f->q);
	close(f->sv[0]);
	close(f->sv[1]);
	free(f);
	return (0);
}

/* A frame: a length, then len bytes all equal to tag. */
static size_t
frame(unsigned char *buf, uint32_t len, unsigned char tag)
{
	wire_put_len(buf, len);
	memset(buf + WIRE_HDR_LEN, tag, len);
	return (WIRE_HDR_LEN + len);
}

static void
add(struct outq *q, uint32_t len, unsigned char tag)
{
	unsigned char	*buf = malloc(WIRE_HDR_LEN + len);

	assert_non_null(buf);
	outq_add(q, buf, frame(buf, len, tag));
	free(buf);
}

static void
fill(struct outq *q, uint64_t seq, unsigned char tag, bool want)
{
	unsigned char	buf[WIRE_HDR_LEN + 8];

	assert_int_equal(outq_fill(q, seq, buf, frame(buf, 8, tag)), want);
}

/* Writes what can go and reads all the peer has: returns bytes read. */
static size_t
pump(struct fixture *f, unsigned char *out, size_t cap)
{
	size_t	got = 0;
	ssize_t	n;
	int	i;

	for (i = 0; i < 1000; i++) {
		assert_int_equal(outq_flush(f->q), 0);
		assert_int_equal(outq_write(f->q), 0);
		n = read(f->sv[1], out + got, cap - got);
		if (n <= 0) {
			assert_true(n == -1 && errno == EAGAIN);
			if (outq_unwritten(f->q) == 0)
				break;
			continue;
		}
		got += (size_t)n;
	}
	return (got);
}

/* The tags of the frames in buf, in order, as a string; checks bodies. */
static const char *
tags(const unsigned char *buf, size_t len)
{
	static char	s[256];
	size_t		off = 0, n = 0, i;
	uint32_t	fl;

	while (off < len) {
		assert_true(len - off >= WIRE_HDR_LEN);
		fl = wire_frame_len(buf + off);
		assert_true(len - off - WIRE_HDR_LEN >= fl);
		for (i = 0; i < fl; i++)
			assert_int_equal(buf[off + WIRE_HDR_LEN + i],
			    buf[off + WIRE_HDR_LEN]);
		s[n++] = fl > 0 ? (char)buf[off + WIRE_HDR_LEN] : '?';
		off += WIRE_HDR_LEN + fl;
	}
	s[n] = '\0';
	return (s);
}

static void
test_outq_frames_go_out_in_order(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 buf[4096];
	size_t		 n;

	add(f->q, 10, 'a');
	add(f->q, 20, 'b');
	add(f->q, 30, 'c');
	assert_int_equal(outq_len(f->q), 3 * WIRE_HDR_LEN + 60);
	n = pump(f, buf, sizeof(buf));
	assert_int_equal(n, 3 * WIRE_HDR_LEN + 60);
	assert_string_equal(tags(buf, n), "abc");
	assert_int_equal(outq_len(f->q), 0);
}

static void
test_outq_held_reply_keeps_its_place(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 buf[4096];
	uint64_t	 seq;
	size_t		 n;

	add(f->q, 5, 'a');
	seq = outq_hold(f->q);
	add(f->q, 5, 'c');
	assert_int_equal(outq_holds(f->q), 1);
	n = pump(f, buf, sizeof(buf));
	assert_string_equal(tags(buf, n), "a");
	/* c waits behind the slot, and counts as output. */
	assert_int_equal(outq_len(f->q), WIRE_HDR_LEN + 5);
	fill(f->q, seq, 'b', true);
	assert_int_equal(outq_holds(f->q), 0);
	n = pump(f, buf, sizeof(buf));
	assert_string_equal(tags(buf, n), "bc");
	assert_int_equal(outq_len(f->q), 0);
}

static void
test_outq_out_of_order_fills_keep_request_order(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 buf[4096];
	uint64_t	 s1, s2, s3;
	size_t		 n;

	s1 = outq_hold(f->q);
	add(f->q, 3, 'x');
	s2 = outq_hold(f->q);
	add(f->q, 3, 'y');
	s3 = outq_hold(f->q);
	assert_int_equal(s2, s1 + 1);
	assert_int_equal(s3, s2 + 1);
	fill(f->q, s3, '3', true);
	fill(f->q, s2, '2', true);
	fill(f->q, s2, '2', false);	/* filled once only */
	n = pump(f, buf, sizeof(buf));
	assert_int_equal(n, 0);
	assert_int_equal(outq_holds(f->q), 3);
	fill(f->q, s1, '1', true);
	assert_int_equal(outq_holds(f->q), 0);
	n = pump(f, buf, sizeof(buf));
	assert_string_equal(tags(buf, n), "1x2y3");
}

static void
test_outq_fill_after_cut_is_ignored(void **state)
{
	struct fixture	*f = *state;
	uint64_t	 s1, s2;

	s1 = outq_hold(f->q);
	add(f->q, 100, 'x');
	outq_cut(f->q);
	assert_int_equal(outq_len(f->q), 0);
	assert_int_equal(outq_holds(f->q), 0);
	fill(f->q, s1, '1', false);
	/* Sequence numbers go on: an old one never names a new slot. */
	s2 = outq_hold(f->q);
	assert_true(s2 > s1);
	fill(f->q, s1, '1', false);
	fill(f->q, s2, '2', true);
}

/*
 * A reader far behind: the cut drops every frame not begun, finishes the
 * one in progress, and the bye after it is read as a frame.
 */
static void
test_outq_cut_finishes_the_frame_in_progress(void **state)
{
	struct fixture	*f = *state;
	static unsigned char	 got[1 << 20];
	int			 small = 4096;
	size_t			 n = 0, i;
	ssize_t			 r;
	const char		*t;

	setsockopt(f->sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(f->sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (i = 0; i < 40; i++)
		add(f->q, 3000, (unsigned char)('A' + i));
	assert_int_equal(outq_flush(f->q), 0);
	/* The peer reads a little, so that the head is mid-frame. */
	for (i = 0; i < 3; i++) {
		r = read(f->sv[1], got + n, 1000);
		assert_true(r > 0);
		n += (size_t)r;
		assert_int_equal(outq_write(f->q), 0);
	}
	assert_true(outq_unwritten(f->q) > 0);
	outq_cut(f->q);
	add(f->q, 3, 'z');
	n += pump(f, got + n, sizeof(got) - n);
	t = tags(got, n);
	/* Whole frames A, B, ... in order, then the bye. */
	assert_true(strlen(t) >= 2);
	assert_int_equal(t[strlen(t) - 1], 'z');
	for (i = 0; i + 1 < strlen(t); i++)
		assert_int_equal(t[i], 'A' + (int)i);
	assert_true(strlen(t) - 1 < 40);
	assert_int_equal(outq_len(f->q), 0);
}

static int	cleanups;

static void
count_cleanup(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
	cleanups++;
}

static void
test_outq_reference_released_once(void **state)
{
	struct fixture		*f = *state;
	static unsigned char	 tail[2000], got[8192];
	unsigned char		 pre[WIRE_HDR_LEN];
	uint64_t		 seq;
	size_t			 n;

	memset(tail, 'r', sizeof(tail));
	wire_put_len(pre, sizeof(tail));
	cleanups = 0;
	outq_add_ref(f->q, pre, sizeof(pre), tail, sizeof(tail),
	    count_cleanup, NULL);
	n = pump(f, got, sizeof(got));
	assert_string_equal(tags(got, n), "r");
	assert_int_equal(cleanups, 1);
	/* Behind a slot that is never filled: released by the free. */
	seq = outq_hold(f->q);
	(void)seq;
	outq_add_ref(f->q, pre, sizeof(pre), tail, sizeof(tail),
	    count_cleanup, NULL);
	assert_int_equal(outq_len(f->q), sizeof(pre) + sizeof(tail));
	assert_int_equal(cleanups, 1);
	outq_free(f->q);
	f->q = outq_new(f->sv[0]);
	assert_int_equal(cleanups, 2);
}

/* Frames encoded in place go behind a held slot too. */
static void
test_outq_reserve_commit_respects_slots(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 got[256], *p;
	uint64_t	 seq;
	size_t		 n;

	seq = outq_hold(f->q);
	p = outq_reserve(f->q, WIRE_HDR_LEN + 4);
	outq_commit(f->q, frame(p, 4, 'c'));
	assert_int_equal(pump(f, got, sizeof(got)), 0);
	fill(f->q, seq, 'b', true);
	n = pump(f, got, sizeof(got));
	assert_string_equal(tags(got, n), "bc");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_outq_frames_go_out_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_outq_held_reply_keeps_its_place, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_outq_out_of_order_fills_keep_request_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_outq_fill_after_cut_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_outq_cut_finishes_the_frame_in_progress, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_outq_reference_released_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_outq_reserve_commit_respects_slots, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
