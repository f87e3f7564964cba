/*
 * The embedded event log: replay bounds and filters, demand on replays,
 * sub from_eid without gap or duplicate under concurrent publishing, and the
 * memlog_max_events ring (SPEC: replay, "Event ids and the log").
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS
#define Q	HARNESS_QUIET_MS
#define NEV	10

struct ev {
	const char	*from;
	const char	*to;
	const char	*kind;
};

/* The logged (cross-tract) events published by publish_events(). */
static const struct ev	evs[NEV] = {
	{ "internal", "external", "msg" },	/* b0 */
	{ "external", "internal", "note" },	/* b1 */
	{ "a", "b", "msg" },			/* b2 */
	{ "b", "c", "alert" },			/* b3 */
	{ "internal", "external", "note" },	/* b4 */
	{ "c", "a", "msg" },			/* b5 */
	{ "external", "internal", "alert" },	/* b6 */
	{ "b", "a", "msg" },			/* b7 */
	{ "internal", "external", "msg" },	/* b8 */
	{ "a", "c", "note" },			/* b9 */
};

static char	ev_eids[NEV][HARNESS_EID_MAX];

/*
 * Publishes evs as b0..b9 (b0 with pri 0.75 and a header), each followed
 * by a same-tract pub that is not logged.
 */
static struct client *
publish_events(struct harness *h)
{
	struct client_hello	 hello = { .agent = "logger", .session = "s9",
	    .model = "m9" };
	struct client		*p = harness_client_hello(h, &hello);
	const char *const	 hdr[] = { "corr", "c0", NULL };
	msgpack_object		 f;
	uint64_t		 id;
	char			 body[8];
	int			 i;

	for (i = 0; i < NEV; i++) {
		snprintf(body, sizeof body, "b%d", i);
		if (i == 0)
			id = harness_request(p, "op:s from:s to:s kind:s "
			    "pri:d hdr:M body:s", "pub", evs[i].from,
			    evs[i].to, evs[i].kind, 0.75, hdr, body);
		else
			id = harness_request(p, "op:s from:s to:s kind:s "
			    "body:s", "pub", evs[i].from, evs[i].to,
			    evs[i].kind, body);
		harness_expect_ack(p, id, &f);
		harness_assert_str(&f, "stored", "memory");
		harness_str(&f, "eid", ev_eids[i], HARNESS_EID_MAX);
		harness_pub(p, evs[i].to, evs[i].to, "same-tract", NULL);
	}
	return (p);
}

/*
 * Collects a replay's msgs on sid until its end, checking the ack of
 * request id on the way (it may come before or among the msgs; id 0: it
 * was read already). Returns
 * the number of msgs; their eids go to eids, their bodies' indices (bN)
 * to idx.
 */
static int
collect(struct client *c, uint64_t sid, uint64_t id, int max,
    char (*eids)[HARNESS_EID_MAX], int *idx)
{
	msgpack_object	f;
	bool		acked = id == 0;
	int		n = 0;

	for (;;) {
		if (client_recv(c, T, &f) != 1)
			HFAIL("replay on sid %llu: no end after %d msgs",
			    (unsigned long long)sid, n);
		if (strcmp(harness_op(&f), "ack") == 0 && !acked) {
			harness_assert_u64(&f, "id", id);
			acked = true;
		} else if (strcmp(harness_op(&f), "msg") == 0) {
			char	body[32];

			harness_assert_u64(&f, "sid", sid);
			if (n == max)
				HFAIL("more than %d msgs: %s", max,
				    harness_dump(&f));
			if (eids != NULL)
				harness_str(&f, "eid", eids[n],
				    HARNESS_EID_MAX);
			if (idx != NULL) {
				harness_str(&f, "body", body, sizeof body);
				if (sscanf(body, "b%d", &idx[n]) != 1)
					HFAIL("unexpected body %s", body);
			}
			n++;
		} else if (strcmp(harness_op(&f), "end") == 0) {
			harness_assert_u64(&f, "sid", sid);
			break;
		} else
			HFAIL("unexpected frame %s", harness_dump(&f));
	}
	if (!acked)
		HFAIL("replay with id %llu was not acked",
		    (unsigned long long)id);
	return (n);
}

/* Asserts that the replay returned exactly the events listed in want. */
static void
assert_events(int n, const int *idx, char (*eids)[HARNESS_EID_MAX],
    const int *want, int nwant)
{
	int	i;

	if (n != nwant) {
		char	buf[256] = "";
		size_t	len = 0;

		for (i = 0; i < n && len < sizeof buf - 8; i++)
			len += (size_t)snprintf(buf + len, sizeof buf - len,
			    " b%d", idx[i]);
		HFAIL("replay returned %d events (%s), want %d", n, buf,
		    nwant);
	}
	for (i = 0; i < n; i++) {
		if (idx[i] != want[i])
			HFAIL("event %d is b%d, want b%d", i, idx[i], want[i]);
		assert_string_equal(eids[i], ev_eids[want[i]]);
	}
}

HARNESS_TEST(test_replay_from_start_returns_every_logged_event_then_end)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;
	char		 eids[20][HARNESS_EID_MAX], buf[HARNESS_EID_MAX];
	int		 idx[20], n;
	uint64_t	 id;
	static const int want[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

	(void)state;
	publish_events(h);
	c = harness_client(h, "reader");
	id = harness_request(c, "op:s sid:u credit:u", "replay", 1u, 100u);
	n = collect(c, 1, id, 20, eids, idx);
	assert_events(n, idx, eids, want, NEV);

	/* The fields are those of the live msg, hdr unchanged. */
	id = harness_request(c, "op:s sid:u credit:u limit:u", "replay", 2u,
	    10u, 1u);
	harness_expect_ack(c, id, &f);
	harness_expect_msg(c, 2, "b0", T, &f);
	assert_string_equal(harness_str(&f, "eid", buf, sizeof buf),
	    ev_eids[0]);
	harness_assert_str(&f, "from", "internal");
	harness_assert_str(&f, "to", "external");
	harness_assert_str(&f, "kind", "msg");
	assert_true(harness_f64(&f, "pri") == 0.75);
	harness_assert_str(&f, "agent", "logger");
	harness_assert_str(&f, "session", "s9");
	harness_assert_str(&f, "model", "m9");
	harness_i64(&f, "ts");
	{
		const msgpack_object	*hdr = harness_get(&f, "hdr");

		if (hdr == NULL || hdr->type != MSGPACK_OBJECT_MAP ||
		    hdr->via.map.size != 1)
			HFAIL("hdr not replayed unchanged: %s",
			    harness_dump(&f));
		harness_assert_str(hdr, "corr", "c0");
	}
	harness_expect(c, "end", T, &f);
	harness_assert_u64(&f, "sid", 2);
}

HARNESS_TEST(test_replay_from_and_to_are_both_inclusive)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	char		 eids[20][HARNESS_EID_MAX];
	int		 idx[20], n;
	uint64_t	 id;
	static const int want37[] = { 3, 4, 5, 6, 7 };
	static const int want5[] = { 5 };
	static const int want09[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const int want8[] = { 8, 9 };
	static const int want02[] = { 0, 1, 2 };

	(void)state;
	publish_events(h);
	c = harness_client(h, "reader");
	id = harness_request(c, "op:s sid:u from:s to:s credit:u", "replay",
	    1u, ev_eids[3], ev_eids[7], 100u);
	n = collect(c, 1, id, 20, eids, idx);
	assert_events(n, idx, eids, want37, 5);
	id = harness_request(c, "op:s sid:u from:s to:s credit:u", "replay",
	    2u, ev_eids[5], ev_eids[5], 100u);
	n = collect(c, 2, id, 20, eids, idx);
	assert_events(n, idx, eids, want5, 1);
	id = harness_request(c, "op:s sid:u from:s to:s credit:u", "replay",
	    3u, ev_eids[0], ev_eids[9], 100u);
	n = collect(c, 3, id, 20, eids, idx);
	assert_events(n, idx, eids, want09, 10);
	id = harness_request(c, "op:s sid:u from:s credit:u", "replay",
	    4u, ev_eids[8], 100u);
	n = collect(c, 4, id, 20, eids, idx);
	assert_events(n, idx, eids, want8, 2);
	id = harness_request(c, "op:s sid:u to:s credit:u", "replay",
	    5u, ev_eids[2], 100u);
	n = collect(c, 5, id, 20, eids, idx);
	assert_events(n, idx, eids, want02, 3);
	/* from after to: nothing. */
	id = harness_request(c, "op:s sid:u from:s to:s credit:u", "replay",
	    6u, ev_eids[7], ev_eids[3], 100u);
	n = collect(c, 6, id, 20, eids, idx);
	assert_int_equal(n, 0);
}

HARNESS_TEST(test_replay_to_defaults_to_the_last_eid_at_request_time)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c, *p;
	msgpack_object	 f;
	char		 eids[20][HARNESS_EID_MAX];
	int		 idx[20], n;
	uint64_t	 id;
	static const int want[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

	(void)state;
	p = publish_events(h);
	c = harness_client(h, "reader");
	/* No credit: the replay waits, while later events are logged. */
	id = harness_request(c, "op:s sid:u", "replay", 1u);
	harness_expect_ack(c, id, &f);
	harness_expect_nothing(c, Q);
	harness_pub(p, "internal", "external", "b10", NULL);
	harness_pub(p, "external", "internal", "b11", NULL);
	harness_req(c, 1, 100);
	n = collect(c, 1, 0, 20, eids, idx);
	assert_events(n, idx, eids, want, NEV);
}

HARNESS_TEST(test_replay_tract_filter_matches_from_or_to)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	char		 eids[20][HARNESS_EID_MAX];
	int		 idx[20], n;
	uint64_t	 id;
	static const int want_b[] = { 2, 3, 7 };
	static const int want_int[] = { 0, 1, 4, 6, 8 };

	(void)state;
	publish_events(h);
	c = harness_client(h, "reader");
	id = harness_request(c, "op:s sid:u tract:s credit:u", "replay", 1u,
	    "b", 100u);
	n = collect(c, 1, id, 20, eids, idx);
	assert_events(n, idx, eids, want_b, 3);
	id = harness_request(c, "op:s sid:u tract:s credit:u", "replay", 2u,
	    "internal", 100u);
	n = collect(c, 2, id, 20, eids, idx);
	assert_events(n, idx, eids, want_int, 5);
	id = harness_request(c, "op:s sid:u tract:s credit:u", "replay", 3u,
	    "nowhere", 100u);
	n = collect(c, 3, id, 20, eids, idx);
	assert_int_equal(n, 0);
}

HARNESS_TEST(test_replay_kinds_filter_keeps_listed_kinds)
{
	struct harness		*h = harness_start(NULL, NULL);
	struct client		*c;
	char			 eids[20][HARNESS_EID_MAX];
	int			 idx[20], n;
	uint64_t		 id;
	const char *const	 alert[] = { "alert", NULL };
	const char *const	 two[] = { "note", "alert", NULL };
	static const int	 want_alert[] = { 3, 6 };
	static const int	 want_two[] = { 1, 3, 4, 6, 9 };
	static const int	 want_both[] = { 3 };

	(void)state;
	publish_events(h);
	c = harness_client(h, "reader");
	id = harness_request(c, "op:s sid:u kinds:A credit:u", "replay", 1u,
	    alert, 100u);
	n = collect(c, 1, id, 20, eids, idx);
	assert_events(n, idx, eids, want_alert, 2);
	id = harness_request(c, "op:s sid:u kinds:A credit:u", "replay", 2u,
	    two, 100u);
	n = collect(c, 2, id, 20, eids, idx);
	assert_events(n, idx, eids, want_two, 5);
	id = harness_request(c, "op:s sid:u kinds:A tract:s credit:u",
	    "replay", 3u, alert, "b", 100u);
	n = collect(c, 3, id, 20, eids, idx);
	assert_events(n, idx, eids, want_both, 1);
}

HARNESS_TEST(test_replay_limit_stops_after_limit_events)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	char		 eids[20][HARNESS_EID_MAX];
	int		 idx[20], n;
	uint64_t	 id;
	static const int want3[] = { 0, 1, 2 };
	static const int want_b2[] = { 2, 3 };
	static const int want_from[] = { 6 };

	(void)state;
	publish_events(h);
	c = harness_client(h, "reader");
	id = harness_request(c, "op:s sid:u limit:u credit:u", "replay", 1u,
	    3u, 100u);
	n = collect(c, 1, id, 20, eids, idx);
	assert_events(n, idx, eids, want3, 3);
	id = harness_request(c, "op:s sid:u tract:s limit:u credit:u",
	    "replay", 2u, "b", 2u, 100u);
	n = collect(c, 2, id, 20, eids, idx);
	assert_events(n, idx, eids, want_b2, 2);
	id = harness_request(c, "op:s sid:u from:s limit:u credit:u",
	    "replay", 3u, ev_eids[6], 1u, 100u);
	n = collect(c, 3, id, 20, eids, idx);
	assert_events(n, idx, eids, want_from, 1);
}

HARNESS_TEST(test_replay_obeys_demand)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;
	char		 eids[20][HARNESS_EID_MAX];
	int		 idx[20], n;
	uint64_t	 id;
	static const int want[] = { 5, 6, 7, 8, 9 };

	(void)state;
	publish_events(h);
	c = harness_client(h, "reader");
	id = harness_request(c, "op:s sid:u credit:u", "replay", 1u, 2u);
	harness_expect_ack(c, id, &f);
	harness_expect_msg(c, 1, "b0", T, &f);
	harness_expect_msg(c, 1, "b1", T, &f);
	harness_expect_nothing(c, Q);
	harness_req(c, 1, 3);
	harness_expect_msg(c, 1, "b2", T, &f);
	harness_expect_msg(c, 1, "b3", T, &f);
	harness_expect_msg(c, 1, "b4", T, &f);
	harness_expect_nothing(c, Q);
	/* Exactly the rest: end follows the last msg without more demand. */
	harness_req(c, 1, 5);
	n = collect(c, 1, 0, 20, eids, idx);
	assert_events(n, idx, eids, want, 5);
	harness_expect_nothing(c, Q);
}

HARNESS_TEST(test_replay_with_nothing_to_send_ends_at_once)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c;
	msgpack_object	 f;
	uint64_t	 id;

	(void)state;
	c = harness_client(h, "reader");
	/* An empty log, and no credit: end needs no demand. */
	id = harness_request(c, "op:s sid:u", "replay", 1u);
	harness_expect_ack(c, id, &f);
	harness_expect(c, "end", T, &f);
	harness_assert_u64(&f, "sid", 1);
	/* Same-tract messages are not logged. */
	harness_pub(c, NULL, "internal", "same", NULL);
	id = harness_request(c, "op:s sid:u credit:u", "replay", 2u, 10u);
	harness_expect_ack(c, id, &f);
	harness_expect(c, "end", T, &f);
	harness_assert_u64(&f, "sid", 2);
}

/*
 * sub from_eid while another client keeps publishing: the subscriber sees
 * exactly the acked eids from from_eid on, no gap and no duplicate.
 */

#define LIVE_N		2000
#define LIVE_FROM	49

struct live_pub {
	struct client	*c;
	char		(*eids)[HARNESS_EID_MAX];
	atomic_int	 done;
	atomic_int	 failed;
	char		 why[512];	/* set before failed */
};

static bool
live_pub_progressed(void *arg)
{
	struct live_pub	*lp = arg;

	return (atomic_load(&lp->done) >= 2 * (LIVE_FROM + 1) ||
	    atomic_load(&lp->failed) != 0);
}

static void *
live_pub_main(void *arg)
{
	struct live_pub	*lp = arg;
	msgpack_object	 f;
	char		 body[32];
	int		 i;

	for (i = 0; i < LIVE_N; i++) {
		msgpack_packer		*pk = client_begin(lp->c);
		const msgpack_object	*eid;

		int			 r;

		snprintf(body, sizeof body, "live-%d", i);
		harness_pack(pk, "op:s from:s to:s body:s id:u", "pub", "src",
		    "live", body, (unsigned)i + 1);
		if (client_send(lp->c) == -1) {
			snprintf(lp->why, sizeof lp->why, "send: %s",
			    strerror(errno));
			atomic_store(&lp->failed, i + 1);
			return (NULL);
		}
		if ((r = client_recv(lp->c, 5000, &f)) != 1) {
			snprintf(lp->why, sizeof lp->why, "no ack: %s",
			    r == 0 ? "closed" : strerror(errno));
			atomic_store(&lp->failed, i + 1);
			return (NULL);
		}
		if (strcmp(harness_op(&f), "ack") != 0 ||
		    (eid = harness_get(&f, "eid")) == NULL ||
		    eid->type != MSGPACK_OBJECT_STR ||
		    eid->via.str.size >= HARNESS_EID_MAX) {
			snprintf(lp->why, sizeof lp->why, "got %s",
			    harness_dump(&f));
			atomic_store(&lp->failed, i + 1);
			return (NULL);
		}
		memcpy(lp->eids[i], eid->via.str.ptr, eid->via.str.size);
		lp->eids[i][eid->via.str.size] = '\0';
		atomic_store(&lp->done, i + 1);
	}
	return (NULL);
}

HARNESS_TEST(test_sub_from_eid_replays_then_goes_live_without_gap)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*s;
	struct live_pub	 lp;
	pthread_t	 th;
	msgpack_object	 f;
	char		 (*seen)[HARNESS_EID_MAX];
	char		 from[HARNESS_EID_MAX];
	uint64_t	 id;
	bool		 acked = false, joined = false;
	int		 n = 0, i;

	(void)state;
	memset(&lp, 0, sizeof lp);
	lp.c = harness_client(h, "stream");
	lp.eids = calloc(LIVE_N, HARNESS_EID_MAX);
	seen = calloc(LIVE_N + 1, HARNESS_EID_MAX);
	assert_non_null(lp.eids);
	assert_non_null(seen);
	s = harness_client(h, "catcher");
	assert_int_equal(pthread_create(&th, NULL, live_pub_main, &lp), 0);

	if (!harness_poll(live_pub_progressed, &lp, 10000) ||
	    atomic_load(&lp.failed) != 0) {
		pthread_join(th, NULL);
		HFAIL("publisher stalled at %d (failed at %d)",
		    atomic_load(&lp.done), atomic_load(&lp.failed));
	}
	snprintf(from, sizeof from, "%s", lp.eids[LIVE_FROM]);
	id = harness_request(s, "op:s sid:u tract:s credit:U from_eid:s",
	    "sub", 1u, "live", (uint64_t)1000000, from);
	while (n < LIVE_N - LIVE_FROM) {
		int	r = client_recv(s, 5000, &f);

		if (r != 1) {
			if (!joined)
				pthread_join(th, NULL);
			HFAIL("subscriber got %d of %d msgs (publisher at %d, "
			    "failed at %d: %s)", n, LIVE_N - LIVE_FROM,
			    atomic_load(&lp.done), atomic_load(&lp.failed),
			    lp.why);
		}
		if (strcmp(harness_op(&f), "ack") == 0 && !acked) {
			harness_assert_u64(&f, "id", id);
			acked = true;
			continue;
		}
		if (strcmp(harness_op(&f), "msg") != 0) {
			pthread_join(th, NULL);
			HFAIL("unexpected %s", harness_dump(&f));
		}
		harness_str(&f, "eid", seen[n], HARNESS_EID_MAX);
		n++;
	}
	pthread_join(th, NULL);
	joined = true;
	if (atomic_load(&lp.failed) != 0)
		HFAIL("publisher failed at %d: %s", atomic_load(&lp.failed),
		    lp.why);
	assert_int_equal(atomic_load(&lp.done), LIVE_N);
	assert_true(acked);
	for (i = 0; i < n; i++)
		if (strcmp(seen[i], lp.eids[LIVE_FROM + i]) != 0)
			HFAIL("msg %d on sid 1 is %s, want %s (acked #%d)", i,
			    seen[i], lp.eids[LIVE_FROM + i], LIVE_FROM + i);
	harness_expect_nothing(s, Q);
	free(lp.eids);
	free(seen);
}

HARNESS_TEST(test_sub_from_eid_obeys_demand)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*s, *p;
	msgpack_object	 f;
	char		 eids[6][HARNESS_EID_MAX];
	uint64_t	 id;
	int		 i;

	(void)state;
	p = harness_client(h, "logger");
	for (i = 0; i < 6; i++) {
		char			body[8];
		struct harness_ack	ack;

		snprintf(body, sizeof body, "e%d", i);
		harness_pub(p, "src", "dst", body, &ack);
		snprintf(eids[i], sizeof eids[i], "%s", ack.eid);
	}
	s = harness_client(h, "late");
	id = harness_request(s, "op:s sid:u tract:s credit:u from_eid:s",
	    "sub", 1u, "dst", 2u, eids[1]);
	harness_expect_ack(s, id, &f);
	harness_expect_msg(s, 1, "e1", T, &f);
	harness_expect_msg(s, 1, "e2", T, &f);
	harness_expect_nothing(s, Q);
	harness_pub(p, "src", "dst", "e6", NULL);
	harness_req(s, 1, 10);
	for (i = 3; i <= 6; i++) {
		char	body[8];

		snprintf(body, sizeof body, "e%d", i);
		harness_expect_msg(s, 1, body, T, &f);
	}
	harness_expect_nothing(s, Q);
}

HARNESS_TEST(test_memlog_keeps_the_newest_max_events)
{
	struct harness	*h = harness_start("memlog_max_events = 100\n", NULL);
	struct client	*p, *c;
	msgpack_object	 f;
	char		 (*eids)[HARNESS_EID_MAX];
	char		 got[HARNESS_EID_MAX];
	uint64_t	 id, first = 0;
	int		 i, n;

	(void)state;
	eids = calloc(150, HARNESS_EID_MAX);
	assert_non_null(eids);
	p = harness_client(h, "flood");
	for (i = 0; i < 150; i++) {
		char	body[16];

		snprintf(body, sizeof body, "w%d", i);
		id = harness_request(p, "op:s from:s to:s body:s", "pub",
		    "internal", "external", body);
		if (i == 0)
			first = id;
	}
	for (i = 0; i < 150; i++) {
		harness_expect_ack(p, first + (uint64_t)i, &f);
		/* A full embedded log never refuses a pub. */
		harness_assert_str(&f, "stored", "memory");
		harness_str(&f, "eid", eids[i], HARNESS_EID_MAX);
	}
	c = harness_client(h, "reader");
	for (n = 0; n < 2; n++) {
		/* From the start, then from an eid the log no longer holds. */
		if (n == 0)
			id = harness_request(c, "op:s sid:u credit:u",
			    "replay", 1u, 1000u);
		else
			id = harness_request(c, "op:s sid:u from:s credit:u",
			    "replay", 2u, eids[0], 1000u);
		harness_expect_ack(c, id, &f);
		for (i = 50; i < 150; i++) {
			char	body[16];

			snprintf(body, sizeof body, "w%d", i);
			harness_expect_msg(c, (uint64_t)n + 1, body, T, &f);
			assert_string_equal(harness_str(&f, "eid", got,
			    sizeof got), eids[i]);
		}
		harness_expect(c, "end", T, &f);
		harness_assert_u64(&f, "sid", (uint64_t)n + 1);
	}
	free(eids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_replay_from_start_returns_every_logged_event_then_end),
		HARNESS_UNIT_TEST(test_replay_from_and_to_are_both_inclusive),
		HARNESS_UNIT_TEST(
		    test_replay_to_defaults_to_the_last_eid_at_request_time),
		HARNESS_UNIT_TEST(test_replay_tract_filter_matches_from_or_to),
		HARNESS_UNIT_TEST(test_replay_kinds_filter_keeps_listed_kinds),
		HARNESS_UNIT_TEST(test_replay_limit_stops_after_limit_events),
		HARNESS_UNIT_TEST(test_replay_obeys_demand),
		HARNESS_UNIT_TEST(
		    test_replay_with_nothing_to_send_ends_at_once),
		HARNESS_UNIT_TEST(
		    test_sub_from_eid_replays_then_goes_live_without_gap),
		HARNESS_UNIT_TEST(test_sub_from_eid_obeys_demand),
		HARNESS_UNIT_TEST(test_memlog_keeps_the_newest_max_events),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
