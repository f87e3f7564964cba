/*
 * callosum-latprobe: the router's latency at a fixed rate, seen by the
 * simplest clients there are, to tell the router's share of a latency
 * from its clients' (callosum-bench's latency_split_us puts it at the
 * router; this removes the harness's event loops altogether).
 *
 *	callosum-latprobe --socket PATH [--rate N] [--count N]
 *
 * One publisher (the main thread) sleeps with clock_nanosleep to each
 * intended send time and writes one pub with a blocking send; one
 * subscriber thread blocks in read. Both stay on the CPUs they were
 * started on (run it under taskset, the router under another). Each body
 * carries the write time; the router's ts splits the way at the router.
 * Prints p50/p90/p99/p99.9/max in microseconds of: the publisher's own
 * lateness, write -> router, write -> delivery, intended -> delivery.
 *
 *	callosum-latprobe --gaps SECONDS
 *
 * measures the machine instead: one thread per CPU it may use, pinned,
 * reads the clock in a loop for SECONDS and counts the gaps between two
 * reads, which are times the thread did not run at all (a VM's host
 * running something else, interrupts). No router can deliver faster
 * than these let it: a 2 ms gap at 10 k msg/s makes 20 messages late.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <msgpack.h>

#include "bench/bench_clock.h"
#include "bench/hist.h"
#include "router/lib/wire.h"
#include "tools/client.h"

#define PROBE_EX_USAGE		64
#define PROBE_EX_UNAVAILABLE	69
#define PROBE_RESYNC		256	/* deliveries between clock offsets */

struct probe {
	struct client	*sub;
	uint64_t	 count;
	uint64_t	 got;
	struct hist	 lag;		/* intended -> write */
	struct hist	 to_router;	/* write -> router's ts */
	struct hist	 to_sub;	/* write -> delivery */
	struct hist	 total;		/* intended -> delivery */
};

/* The two times a body carries. */
struct probe_body {
	uint64_t	intended_ns;
	uint64_t	sent_ns;
};

static void
probe_record(struct hist *h, int64_t v)
{
	hist_record(h, v > 0 ? (uint64_t)v : 0);
}

/* Takes one msg frame's body and ts into the histograms. */
static void
probe_take(struct probe *p, const msgpack_object *f, int64_t off)
{
	struct probe_body	 b;
	const msgpack_object	*body, *ts;
	int64_t			 now, at;

	body = wire_map_get(f, "body");
	ts = wire_map_get(f, "ts");
	if (body == NULL || body->type != MSGPACK_OBJECT_BIN ||
	    body->via.bin.size != sizeof(b) || ts == NULL ||
	    ts->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return;
	now = (int64_t)bench_clock_ns(CLOCK_MONOTONIC);
	memcpy(&b, body->via.bin.ptr, sizeof(b));
	at = (int64_t)ts->via.u64 * 1000 - off;
	probe_record(&p->to_router, at - (int64_t)b.sent_ns);
	probe_record(&p->to_sub, now - (int64_t)b.sent_ns);
	probe_record(&p->total, now - (int64_t)b.intended_ns);
	p->got++;
}

static void *
probe_sub_thread(void *arg)
{
	struct probe	*p = arg;
	msgpack_object	 f;
	struct wire_str	 op;
	int64_t		 off = bench_real_offset_ns();

	while (p->got < p->count && client_recv(p->sub, 5000, &f) == 1) {
		if (!client_get_str(&f, "op", &op) || op.len != 3 ||
		    memcmp(op.ptr, "msg", 3) != 0)
			continue;
		probe_take(p, &f, off);
		if (p->got % PROBE_RESYNC == 0)
			off = bench_real_offset_ns();
	}
	return (NULL);
}

/* Subscribes and waits for the ack: no message may be published before. */
static int
probe_sub(struct client *c)
{
	msgpack_packer	*pk;
	msgpack_object	 reply;

	if ((pk = client_begin(c)) == NULL)
		return (-1);
	msgpack_pack_map(pk, 5);
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, 1);
	wire_pack_cstr(pk, "op");
	wire_pack_cstr(pk, "sub");
	wire_pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, 1);
	wire_pack_cstr(pk, "tract");
	wire_pack_cstr(pk, "external");
	wire_pack_cstr(pk, "credit");
	msgpack_pack_uint64(pk, INT64_MAX);
	if (client_call(c, 1, 5000, &reply, NULL, NULL) != 1 ||
	    client_frame_op(&reply) != WIRE_OP_ACK)
		return (-1);
	return (0);
}

static int
probe_pub(struct client *c, const struct probe_body *b)
{
	msgpack_packer	*pk;

	if ((pk = client_begin(c)) == NULL)
		return (-1);
	msgpack_pack_map(pk, 3);
	wire_pack_cstr(pk, "op");
	wire_pack_cstr(pk, "pub");
	wire_pack_cstr(pk, "to");
	wire_pack_cstr(pk, "external");
	wire_pack_cstr(pk, "body");
	msgpack_pack_bin(pk, sizeof(*b));
	msgpack_pack_bin_body(pk, b, sizeof(*b));
	return (client_send(c));
}

/* Sends count pubs at rate, each at its intended time. 0 or -1. */
static int
probe_publish(struct probe *p, struct client *c, uint64_t rate)
{
	struct probe_body	b;
	struct timespec		ts;
	uint64_t		start, i;

	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	start = bench_clock_ns(CLOCK_MONOTONIC) + 100000000u;
	for (i = 0; i < p->count; i++) {
		b.intended_ns = start + i * 1000000000u / rate;
		ts.tv_sec = (time_t)(b.intended_ns / 1000000000u);
		ts.tv_nsec = (long)(b.intended_ns % 1000000000u);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR)
			;
		b.sent_ns = bench_clock_ns(CLOCK_MONOTONIC);
		probe_record(&p->lag, (int64_t)(b.sent_ns - b.intended_ns));
		if (probe_pub(c, &b) == -1)
			return (-1);
	}
	return (0);
}

static void
probe_print(const char *name, const struct hist *h)
{
	printf("%-22s p50 %8.1f  p90 %8.1f  p99 %8.1f  p99.9 %8.1f  "
	    "max %8.1f us\n", name, hist_percentile(h, 50) / 1e3,
	    hist_percentile(h, 90) / 1e3, hist_percentile(h, 99) / 1e3,
	    hist_percentile(h, 99.9) / 1e3, h->max / 1e3);
}

/* One CPU's share of --gaps. */
struct probe_gaps {
	pthread_t	th;
	int		cpu;
	uint64_t	ns;		/* how long to spin */
	uint64_t	over[4];	/* gaps over 100 us, 250 us, 1 ms, 2 ms */
	uint64_t	lost_ns;	/* in gaps over 100 us */
	uint64_t	max_ns;
};

static const uint64_t	probe_gap_ns[4] = { 100000, 250000, 1000000,
    2000000 };

static void *
probe_gaps_thread(void *arg)
{
	struct probe_gaps	*g = arg;
	cpu_set_t		 one;
	uint64_t		 t, prev, end, gap;
	int			 i;

	CPU_ZERO(&one);
	CPU_SET(g->cpu, &one);
	(void)sched_setaffinity(0, sizeof(one), &one);
	prev = bench_clock_ns(CLOCK_MONOTONIC);
	for (end = prev + g->ns; prev < end; prev = t) {
		t = bench_clock_ns(CLOCK_MONOTONIC);
		if ((gap = t - prev) < probe_gap_ns[0])
			continue;
		g->lost_ns += gap;
		if (gap > g->max_ns)
			g->max_ns = gap;
		for (i = 0; i < 4; i++)
			g->over[i] += gap > probe_gap_ns[i];
	}
	return (NULL);
}

static int
probe_gaps(double secs)
{
	static struct probe_gaps	 g[CPU_SETSIZE];
	cpu_set_t			 mine;
	int				 cpu, n = 0, i;

	if (sched_getaffinity(0, sizeof(mine), &mine) == -1)
		return (1);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &mine))
			continue;
		g[n].cpu = cpu;
		g[n].ns = (uint64_t)(secs * 1e9);
		if (pthread_create(&g[n].th, NULL, probe_gaps_thread,
		    &g[n]) != 0)
			return (1);
		n++;
	}
	for (i = 0; i < n; i++) {
		pthread_join(g[i].th, NULL);
		printf("cpu %d: %.0f s spinning, gaps > 100 us %llu, > 250 us "
		    "%llu, > 1 ms %llu, > 2 ms %llu, max %.2f ms, %.2f%% of "
		    "the time lost in them\n", g[i].cpu, secs,
		    (unsigned long long)g[i].over[0],
		    (unsigned long long)g[i].over[1],
		    (unsigned long long)g[i].over[2],
		    (unsigned long long)g[i].over[3], g[i].max_ns / 1e6,
		    g[i].lost_ns / (secs * 1e9) * 100);
	}
	return (0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: callosum-latprobe --socket PATH "
	    "[--rate N (10000)] [--count N (50000)]\n"
	    "       callosum-latprobe --gaps SECONDS\n");
	exit(PROBE_EX_USAGE);
}

int
main(int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "gaps", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 }
	};
	struct client_hello		 h = { .agent = "callosum-latprobe" };
	static struct probe		 p;
	struct client			*pub;
	const char			*path = NULL, *code;
	pthread_t			 th;
	uint64_t			 rate = 10000;
	double				 gaps = 0;
	int				 ch, rc;

	p.count = 50000;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'r':
			rate = strtoull(optarg, NULL, 10);
			break;
		case 'n':
			p.count = strtoull(optarg, NULL, 10);
			break;
		case 'g':
			gaps = strtod(optarg, NULL);
			if (!(gaps > 0 && gaps <= 3600))
				usage();
			break;
		default:
			usage();
		}
	}
	if (gaps > 0)
		return (probe_gaps(gaps));
	if (path == NULL || rate == 0 || rate > 1000000000u || p.count == 0)
		usage();
	hist_init(&p.lag);
	hist_init(&p.to_router);
	hist_init(&p.to_sub);
	hist_init(&p.total);
	pub = client_connect(path);
	p.sub = client_connect(path);
	if (pub == NULL || p.sub == NULL ||
	    client_hello(pub, &h, 2000, &code) == -1 ||
	    client_hello(p.sub, &h, 2000, &code) == -1 ||
	    probe_sub(p.sub) == -1) {
		fprintf(stderr, "callosum-latprobe: %s: cannot connect and "
		    "subscribe\n", path);
		return (PROBE_EX_UNAVAILABLE);
	}
	if (pthread_create(&th, NULL, probe_sub_thread, &p) != 0)
		return (PROBE_EX_UNAVAILABLE);
	rc = probe_publish(&p, pub, rate);
	pthread_join(th, NULL);
	probe_print("pacer lag", &p.lag);
	probe_print("write -> router", &p.to_router);
	probe_print("write -> delivery", &p.to_sub);
	probe_print("intended -> delivery", &p.total);
	printf("delivered %llu of %llu\n", (unsigned long long)p.got,
	    (unsigned long long)p.count);
	client_close(pub);
	client_close(p.sub);
	return (rc == 0 && p.got == p.count ? 0 : 1);
}
