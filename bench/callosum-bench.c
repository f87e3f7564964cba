/*
 * callosum-bench: throughput and latency of a Callosum router, optionally
 * side by side with Redis pub/sub under the same workload. See README.md.
 *
 * Start-up order: arguments (exit 64), the private directory, the Redis
 * of the router's event log (--redis spawn) and the router (--spawn; exit
 * 69 when either does not come up), idle connections, the workload, the
 * router's stop and its Redis's, then the peer, then the report.
 */
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/bench_run.h"
#include "bench/pacer.h"
#include "router/lib/json.h"
#include "tools/client.h"

#define BENCH_DEFAULT_DURATION	5.0
#define BENCH_MAX_CLIENTS	256	/* per side: one thread each */
#define BENCH_MAX_IDLE		100000
#define BENCH_SIZE_MAX		(1024 * 1024 - 256)	/* under max_frame */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: callosum-bench [--socket PATH | --spawn] [--pubs N] [--subs N]\n"
"                      [--size BYTES] [--rate MSG_PER_S | unlimited]\n"
"                      [--duration S | --count N] [--cross PCT] [--credit N]\n"
"                      [--overflow block|drop] [--pin] [--json]\n"
"                      [--redis URL | --redis spawn]\n"
"                      [--compare redis] [--idle N] [--ack-every K]\n"
"                      [--drain S] [--spin-us U] [--warmup S]\n"
"                      [--router-config FILE] [--help]\n"
"Measures a Callosum router: publishers to subscribers on tract "
"\"external\".\n\n"
"  --socket PATH    router to measure (default:\n"
"                   $XDG_RUNTIME_DIR/callosum.sock, else /tmp/callosum.sock)\n"
"  --spawn          start a private callosumd ($CALLOSUMD, else next to this\n"
"                   program) and stop it after\n"
"  --pubs N         publisher connections, one thread each (default 1)\n"
"  --subs N         subscriber connections, one thread each (default 1)\n"
"  --size BYTES     message body size, >= %zu (default 64)\n"
"  --rate R         total msg/s, open loop, latency from the intended send\n"
"                   time; 'unlimited' (default): closed loop, pipelined\n"
"  --duration S     publish for S seconds (default %.0f)\n"
"  --count N        publish N messages in all, instead of --duration\n"
"  --cross PCT      percent published from \"internal\" (cross-tract, logged)\n"
"  --credit N       subscriber demand, re-granted at half (default 4096)\n"
"  --overflow M     block (default) or drop: the subscriptions' overflow\n"
"  --pin            spawned servers on the last CPU, clients on the rest\n"
"  --json           one JSON object on stdout instead of the summary\n"
"  --redis URL      passed to the spawned callosumd\n"
"  --redis spawn    start a private redis-server for it (no persistence,\n"
"                   pinned with the router) and pass its unix:// URL\n"
"  --router-config FILE  passed to the spawned callosumd as --config\n"
"  --compare redis  run the same workload over Redis pub/sub too\n"
"  --idle N         hold N idle hello'd connections during the run\n"
"  --ack-every K    every Kth pub carries an id and is acked (default 1024;\n"
"                   0: none); write -> ack latency is reported\n"
"  --drain S        wait at most S s for deliveries after publishing (5)\n"
"  --spin-us U      open loop: wake U us before each send and spin to it,\n"
"                   when U * rate <= 500000 (all publishers spin at most\n"
"                   half a CPU; default %u; 0: timers only)\n"
"  --warmup S       publish S seconds more first, left out of the rates, CPU\n"
"                   and latency (with --duration; default 0). Every message\n"
"                   is still checked.\n"
"Exit status: 0 no errors, 1 errors, 64 bad usage, 69 router (or a\n"
"redis-server) unreachable.\n",
	    BENCH_BODY_MIN, BENCH_DEFAULT_DURATION, BENCH_SPIN_US);
}

static int
bad_arg(const char *flag, const char *value, const char *why)
{
	fprintf(stderr, "callosum-bench: --%s %s: %s\n", flag,
	    value ? value : "", why);
	return (-1);
}

/* A whole number in [min, max]. 0 or -1 (message on stderr). */
static int
arg_u64(const char *flag, const char *s, uint64_t min, uint64_t max,
    uint64_t *out)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return (bad_arg(flag, s, "not a whole number"));
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return (bad_arg(flag, s, "not a whole number"));
	if (v < min || v > max) {
		char	why[96];

		snprintf(why, sizeof(why), "out of range %llu..%llu",
		    (unsigned long long)min, (unsigned long long)max);
		return (bad_arg(flag, s, why));
	}
	*out = v;
	return (0);
}

/* Seconds in (0, 86400], or [0, 86400] when zero is allowed. */
static int
arg_secs_in(const char *flag, const char *s, bool zero, double *out)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !isfinite(v) ||
	    v < 0 || (v == 0 && !zero) || v > 86400)
		return (bad_arg(flag, s, zero ? "not a number of seconds in "
		    "[0, 86400]" : "not a number of seconds in (0, 86400]"));
	*out = v;
	return (0);
}

static int
arg_secs(const char *flag, const char *s, double *out)
{
	return (arg_secs_in(flag, s, false, out));
}

enum {
	OPT_SOCKET = 256, OPT_SPAWN, OPT_PUBS, OPT_SUBS, OPT_SIZE, OPT_RATE,
	OPT_DURATION, OPT_COUNT, OPT_CROSS, OPT_CREDIT, OPT_OVERFLOW, OPT_PIN,
	OPT_JSON, OPT_REDIS, OPT_COMPARE, OPT_IDLE, OPT_ACK_EVERY, OPT_DRAIN,
	OPT_SPIN_US, OPT_WARMUP, OPT_ROUTER_CONFIG, OPT_HELP
};

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "spawn", no_argument, NULL, OPT_SPAWN },
	{ "pubs", required_argument, NULL, OPT_PUBS },
	{ "subs", required_argument, NULL, OPT_SUBS },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "cross", required_argument, NULL, OPT_CROSS },
	{ "credit", required_argument, NULL, OPT_CREDIT },
	{ "overflow", required_argument, NULL, OPT_OVERFLOW },
	{ "pin", no_argument, NULL, OPT_PIN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "compare", required_argument, NULL, OPT_COMPARE },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "ack-every", required_argument, NULL, OPT_ACK_EVERY },
	{ "drain", required_argument, NULL, OPT_DRAIN },
	{ "spin-us", required_argument, NULL, OPT_SPIN_US },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "router-config", required_argument, NULL, OPT_ROUTER_CONFIG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

/* 0 to run, 1 after --help, -1 on bad usage (message on stderr). */
static int
parse_args(int argc, char **argv, struct bench_params *p)
{
	static char	 defsock[512];
	const char	*rt;
	uint64_t	 v;
	int		 c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char	*f = optind > 0 && optind <= argc ?
				    argv[optind - 1] + 2 : "?";

		switch (c) {
		case OPT_SOCKET:
			p->socket = optarg;
			break;
		case OPT_SPAWN:
			p->spawn = true;
			break;
		case OPT_PUBS:
			if (arg_u64("pubs", optarg, 1, BENCH_MAX_CLIENTS, &v))
				return (-1);
			p->pubs = (unsigned)v;
			break;
		case OPT_SUBS:
			if (arg_u64("subs", optarg, 0, BENCH_MAX_CLIENTS, &v))
				return (-1);
			p->subs = (unsigned)v;
			break;
		case OPT_SIZE:
			if (arg_u64("size", optarg, BENCH_BODY_MIN,
			    BENCH_SIZE_MAX, &v))
				return (-1);
			p->size = (size_t)v;
			break;
		case OPT_RATE:
			if (strcmp(optarg, "unlimited") == 0)
				p->rate = 0;
			else if (arg_u64("rate", optarg, 1, PACER_RATE_MAX,
			    &p->rate))
				return (-1);
			break;
		case OPT_DURATION:
			if (arg_secs("duration", optarg, &p->duration_s))
				return (-1);
			break;
		case OPT_COUNT:
			if (arg_u64("count", optarg, 1, UINT64_MAX / 2,
			    &p->count))
				return (-1);
			break;
		case OPT_CROSS:
			if (arg_u64("cross", optarg, 0, 100, &v))
				return (-1);
			p->cross_pct = (unsigned)v;
			break;
		case OPT_CREDIT:
			if (arg_u64("credit", optarg, 2, UINT32_MAX,
			    &p->credit))
				return (-1);
			break;
		case OPT_OVERFLOW:
			if (strcmp(optarg, "block") == 0)
				p->overflow = BENCH_OVERFLOW_BLOCK;
			else if (strcmp(optarg, "drop") == 0)
				p->overflow = BENCH_OVERFLOW_DROP;
			else
				return (bad_arg("overflow", optarg,
				    "block or drop"));
			break;
		case OPT_PIN:
			p->pin = true;
			break;
		case OPT_JSON:
			p->json = true;
			break;
		case OPT_REDIS:
			p->redis_url = optarg;
			break;
		case OPT_COMPARE:
			if (strcmp(optarg, "redis") != 0)
				return (bad_arg("compare", optarg,
				    "only 'redis' is known"));
			p->compare = "redis";
			break;
		case OPT_IDLE:
			if (arg_u64("idle", optarg, 0, BENCH_MAX_IDLE, &v))
				return (-1);
			p->idle = (unsigned)v;
			break;
		case OPT_ACK_EVERY:
			if (arg_u64("ack-every", optarg, 0, UINT32_MAX, &v))
				return (-1);
			p->ack_every = (unsigned)v;
			break;
		case OPT_DRAIN:
			if (arg_secs("drain", optarg, &p->drain_s))
				return (-1);
			break;
		case OPT_SPIN_US:
			if (arg_u64("spin-us", optarg, 0, 1000000, &v))
				return (-1);
			p->spin_us = (unsigned)v;
			break;
		case OPT_ROUTER_CONFIG:
			p->router_config = optarg;
			break;
		case OPT_WARMUP:
			if (arg_secs_in("warmup", optarg, true, &p->warmup_s))
				return (-1);
			break;
		case OPT_HELP:
			usage(stdout);
			return (1);
		default:
			fprintf(stderr, "callosum-bench: unknown or incomplete "
			    "option %s\n", optind > 0 && optind <= argc ?
			    argv[optind - 1] : "?");
			(void)f;
			return (-1);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "callosum-bench: unexpected argument '%s'\n",
		    argv[optind]);
		return (-1);
	}
	if (p->spawn && p->socket != NULL) {
		fprintf(stderr, "callosum-bench: --socket and --spawn exclude "
		    "each other\n");
		return (-1);
	}
	if (p->count > 0 && p->duration_s > 0) {
		fprintf(stderr, "callosum-bench: --duration and --count "
		    "exclude each other\n");
		return (-1);
	}
	if (p->warmup_s > 0 && p->count > 0) {
		fprintf(stderr, "callosum-bench: --warmup is a time: it needs "
		    "--duration, not --count\n");
		return (-1);
	}
	if (p->router_config != NULL && !p->spawn) {
		fprintf(stderr, "callosum-bench: --router-config is passed to "
		    "a spawned router: it needs --spawn\n");
		return (-1);
	}
	if (p->redis_url != NULL && !p->spawn) {
		fprintf(stderr, "callosum-bench: --redis is passed to a "
		    "spawned router: it needs --spawn\n");
		return (-1);
	}
	if (p->rate != 0 && p->rate < p->pubs) {
		fprintf(stderr, "callosum-bench: --rate %llu is below one "
		    "msg/s per publisher\n", (unsigned long long)p->rate);
		return (-1);
	}
	if (p->count == 0 && p->duration_s == 0)
		p->duration_s = BENCH_DEFAULT_DURATION;
	if (!p->spawn && p->socket == NULL) {
		rt = getenv("XDG_RUNTIME_DIR");
		if (rt != NULL && *rt != '\0')
			snprintf(defsock, sizeof(defsock), "%s/callosum.sock",
			    rt);
		else
			snprintf(defsock, sizeof(defsock),
			    "/tmp/callosum.sock");
		p->socket = defsock;
	}
	return (0);
}

static void
on_signal(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

/* Idle connections and every thread's socket need descriptors. */
static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Opens n hello'd connections that then say nothing. 0 or -1. */
static int
idle_open(const char *sock, struct client **idle, unsigned n)
{
	struct client_hello	 h = { .agent = "bench-idle" };
	const char		*code;
	unsigned		 i;

	for (i = 0; i < n; i++) {
		if ((idle[i] = client_connect(sock)) == NULL) {
			fprintf(stderr, "callosum-bench: idle connection %u: "
			    "%s\n", i, strerror(errno));
			return (-1);
		}
		if (client_hello(idle[i], &h, 5000, &code) == -1) {
			fprintf(stderr, "callosum-bench: idle connection %u: "
			    "hello: %s\n", i, code ? code : strerror(errno));
			return (-1);
		}
	}
	return (0);
}

static void
fmt_rate(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.3f M/s", v / 1e6);
}

static void
fmt_lat(char *buf, size_t len, const struct hist *h, double pct)
{
	if (h->count == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f us", (pct >= 100 ? h->max :
		    hist_percentile(h, pct)) / 1e3);
}

/* Whether --redis asks for a private redis-server. */
static bool
redis_spawn(const struct bench_params *p)
{
	return (p->redis_url != NULL && strcmp(p->redis_url, "spawn") == 0);
}

/*
 * --redis spawn: a private redis-server in dir, on the router's CPU under
 * --pin (README.md says why), and the URL for the router in url. 0 or -1.
 */
static int
spawn_log_redis(struct bench_proc *pr, const char *dir, const cpu_set_t *pin,
    char *url, size_t len)
{
	if (bench_spawn_redis(pr, dir, pin) == -1)
		return (-1);
	if ((size_t)snprintf(url, len, "unix://%s", pr->sock) >= len) {
		fprintf(stderr, "callosum-bench: %s: path too long\n",
		    pr->sock);
		bench_proc_stop(pr, 5000);
		return (-1);
	}
	return (0);
}

/* One row of the summary: the router's column, then the peer's. */
static void
row(const char *name, const char *a, const char *b)
{
	if (b != NULL)
		printf("  %-22s %20s %20s\n", name, a, b);
	else
		printf("  %-22s %20s\n", name, a);
}

/* A latency row at pct: the router's histogram, then the peer's if any. */
static void
lat_row(const char *name, const struct hist *a, const struct hist *b,
    double pct)
{
	char	v[2][64];

	fmt_lat(v[0], sizeof(v[0]), a, pct);
	if (b != NULL)
		fmt_lat(v[1], sizeof(v[1]), b, pct);
	row(name, v[0], b != NULL ? v[1] : NULL);
}

/* Write -> ack latency of the pubs with an id (a peer has none). */
static void
ack_rows(const struct bench_result *r, const struct bench_result *peer)
{
	static const struct {
		const char	*name;
		double		 pct;
	} pcts[] = {
		{ "ack latency p50", 50 }, { "ack latency p99", 99 },
		{ "ack latency p99.9", 99.9 }, { "ack latency max", 100 }
	};
	size_t	k;

	for (k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
		lat_row(pcts[k].name, &r->ack_lat, peer ? &peer->ack_lat :
		    NULL, pcts[k].pct);
}

static void
print_human(const struct bench_params *p, const struct bench_result *r,
    const struct bench_result *peer)
{
	const struct bench_result	*s[2] = { r, peer };
	char				 v[2][64];
	int				 i;
	static const struct {
		const char	*name;
		double		 pct;
	} pcts[] = {
		{ "latency p50", 50 }, { "latency p90", 90 },
		{ "latency p99", 99 }, { "latency p99.9", 99.9 },
		{ "latency max", 100 }
	};
	size_t				 k;

#define ROW(name, ...) do {						\
	for (i = 0; i < 2; i++)						\
		if (s[i] != NULL)					\
			snprintf(v[i], sizeof(v[i]), __VA_ARGS__);	\
	row(name, v[0], peer ? v[1] : NULL);				\
} while (0)

	printf("callosum-bench: %u pub -> %u sub, %zu B, %s, %u%% cross, ",
	    p->pubs, p->subs, p->size, p->rate ? "open loop" : "closed loop",
	    p->cross_pct);
	if (p->rate)
		printf("%llu msg/s, ", (unsigned long long)p->rate);
	if (p->count)
		printf("%llu msgs", (unsigned long long)p->count);
	else
		printf("%.1f s", p->duration_s);
	if (p->warmup_s > 0)
		printf(" after %.1f s warm-up", p->warmup_s);
	printf("%s%s%s%s\n", p->pin ? ", pinned" : "",
	    p->overflow == BENCH_OVERFLOW_DROP ? ", overflow drop" : "",
	    p->redis_url ? ", redis " : "", p->redis_url ? p->redis_url : "");
	row("", r->system, peer ? peer->system : NULL);
	ROW("published", "%llu", (unsigned long long)s[i]->published);
	ROW("delivered", "%llu", (unsigned long long)s[i]->delivered);
	if (p->warmup_s > 0) {
		ROW("published in warm-up", "%llu",
		    (unsigned long long)s[i]->warm_published);
		ROW("delivered in warm-up", "%llu",
		    (unsigned long long)s[i]->warm_delivered);
	}
	ROW("errors", "%llu", (unsigned long long)s[i]->errors);
	if (r->lag_dropped)
		ROW("lag-dropped", "%llu",
		    (unsigned long long)s[i]->lag_dropped);
	for (i = 0; i < 2; i++)
		if (s[i] != NULL)
			fmt_rate(v[i], sizeof(v[i]), s[i]->msgs_per_s);
	row("published/s", v[0], peer ? v[1] : NULL);
	for (i = 0; i < 2; i++)
		if (s[i] != NULL)
			fmt_rate(v[i], sizeof(v[i]), s[i]->deliveries_per_s);
	row("deliveries/s", v[0], peer ? v[1] : NULL);
	for (k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
		lat_row(pcts[k].name, &r->lat, peer ? &peer->lat : NULL,
		    pcts[k].pct);
	if (r->open_loop)
		lat_row("pacer lag p99", &r->pacer_lag,
		    peer ? &peer->pacer_lag : NULL, 99);
	if (r->lat_to_router.count > 0) {
		lat_row("to router p99", &r->lat_to_router,
		    peer ? &peer->lat_to_router : NULL, 99);
		lat_row("router to sub p99", &r->lat_from_router,
		    peer ? &peer->lat_from_router : NULL, 99);
	}
	if (r->ack_lat.count > 0)
		ack_rows(r, peer);
	ROW("server cpu", s[i]->server_cpu_pct < 0 ? "-" : "%.0f%%",
	    s[i]->server_cpu_pct);
	ROW("client cpu", "%.0f%%", s[i]->client_cpu_pct);
	if (r->redis_log_cpu_pct >= 0)
		ROW("redis log cpu", s[i]->redis_log_cpu_pct < 0 ? "-" :
		    "%.0f%%", s[i]->redis_log_cpu_pct);
	ROW("other cpu (noise)", s[i]->other_cpu_pct < 0 ? "-" : "%.0f%%",
	    s[i]->other_cpu_pct);
	if (r->rss_kib_before >= 0) {
		for (i = 0; i < 2; i++)
			if (s[i] != NULL && s[i]->rss_kib_before >= 0)
				snprintf(v[i], sizeof(v[i]), "%ld / %ld / %ld",
				    s[i]->rss_kib_before, s[i]->rss_kib_after,
				    s[i]->rss_kib_end);
			else
				snprintf(v[i], sizeof(v[i]), "-");
		row("server rss KiB", v[0], peer ? v[1] : NULL);
		printf("  (rss: before the %u idle connections / with them / "
		    "after the run)\n", r->idle_conns);
	}
	if (r->errors || (peer && peer->errors)) {
		for (i = 0; i < 2; i++) {
			const struct bench_errors *e;

			if (s[i] == NULL || s[i]->errors == 0)
				continue;
			e = &s[i]->err;
			printf("  %s errors: err %llu (first: %s), missing "
			    "acks %llu, gaps %llu, dups %llu, reorders %llu, "
			    "lost %llu, bad frames %llu, disconnects %llu\n",
			    s[i]->system, (unsigned long long)e->err_frames,
			    s[i]->first_err[0] ? s[i]->first_err : "-",
			    (unsigned long long)e->missing_acks,
			    (unsigned long long)e->gaps,
			    (unsigned long long)e->dups,
			    (unsigned long long)e->reorders,
			    (unsigned long long)e->lost,
			    (unsigned long long)e->bad_frames,
			    (unsigned long long)e->disconnects);
		}
	}
#undef ROW
}

int
main(int argc, char **argv)
{
	struct bench_params	 p;
	struct bench_result	*r = NULL, *peer = NULL;
	struct bench_ctx	 ctx, pctx;
	struct bench_proc	 router = { .pid = -1 }, redis = { .pid = -1 };
	struct bench_proc	 logredis = { .pid = -1 };
	struct client		**idle = NULL;
	struct sigaction	 sa;
	struct json_buf		 jb;
	cpu_set_t		 srv_cpus, cli_cpus;
	char			 dir[256] = "", url[300];
	const char		*redis_url;
	bool			 have_ctx = false, have_pctx = false;
	unsigned		 i;
	int			 rc = BENCH_EX_OK;

	bench_params_init(&p);
	switch (parse_args(argc, argv, &p)) {
	case 1:
		return (BENCH_EX_OK);
	case -1:
		fprintf(stderr, "callosum-bench: try --help\n");
		return (BENCH_EX_USAGE);
	}
	redis_url = p.redis_url;	/* "spawn": replaced by the URL */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	raise_nofile();

	if (p.pin && bench_cpu_split(&srv_cpus, &cli_cpus) == -1) {
		fprintf(stderr, "callosum-bench: --pin needs 2 CPUs; not "
		    "pinning\n");
		p.pin = false;
	}
	if (p.pin && !p.spawn)
		fprintf(stderr, "callosum-bench: --pin without --spawn pins "
		    "the clients only\n");
	if (p.pin)	/* the main thread too: it forks the servers */
		sched_setaffinity(0, sizeof(cli_cpus), &cli_cpus);
	if ((r = malloc(sizeof(*r))) == NULL ||
	    (p.compare && (peer = malloc(sizeof(*peer))) == NULL) ||
	    (idle = calloc(p.idle + 1, sizeof(*idle))) == NULL) {
		fprintf(stderr, "callosum-bench: out of memory\n");
		rc = BENCH_EX_UNAVAILABLE;
		goto out;
	}
	bench_result_init(r, "callosum");
	if ((p.spawn || p.compare) && bench_dir_make(dir, sizeof(dir)) == -1) {
		rc = BENCH_EX_UNAVAILABLE;
		dir[0] = '\0';
		goto out;
	}
	if (redis_spawn(&p)) {
		if (spawn_log_redis(&logredis, dir, p.pin ? &srv_cpus : NULL,
		    url, sizeof(url)) == -1) {
			rc = BENCH_EX_UNAVAILABLE;
			goto out;
		}
		redis_url = url;
	}
	if (p.spawn) {
		if (bench_spawn_router(&router, dir, redis_url,
		    p.router_config, p.pin ? &srv_cpus : NULL) == -1) {
			rc = BENCH_EX_UNAVAILABLE;
			goto out;
		}
		p.socket = router.sock;
		r->rss_kib_before = bench_rss_kib(router.pid);
	}
	if (idle_open(p.socket, idle, p.idle) == -1) {
		rc = BENCH_EX_UNAVAILABLE;
		goto out;
	}
	r->idle_conns = p.idle;
	if (p.spawn)
		r->rss_kib_after = bench_rss_kib(router.pid);

	if (bench_ctx_init(&ctx, &p, "callosum") == -1) {
		fprintf(stderr, "callosum-bench: out of memory\n");
		rc = BENCH_EX_UNAVAILABLE;
		goto out;
	}
	have_ctx = true;
	ctx.private_server = p.spawn;
	ctx.server_pid = p.spawn ? router.pid : -1;
	ctx.log_pid = logredis.pid;
	ctx.pin = p.pin;
	ctx.client_cpus = cli_cpus;
	if ((rc = bench_run_callosum(&ctx, r)) != 0)
		goto out;
	if (p.spawn)
		r->rss_kib_end = bench_rss_kib(router.pid);
	for (i = 0; i < p.idle; i++) {
		client_close(idle[i]);
		idle[i] = NULL;
	}
	if (router.pid > 0 && bench_proc_stop(&router, 5000) != 0)
		fprintf(stderr, "callosum-bench: callosumd did not exit "
		    "cleanly\n");
	/* After the router, which hands it what it holds; before --compare's
	 * Redis, which takes the same socket name. */
	if (logredis.pid > 0)
		bench_proc_stop(&logredis, 5000);

	if (p.compare && !bench_interrupted) {
		bench_result_init(peer, "redis");
		if (bench_spawn_redis(&redis, dir, p.pin ? &srv_cpus : NULL) ==
		    -1) {
			rc = BENCH_EX_UNAVAILABLE;
			goto out;
		}
		if (bench_ctx_init(&pctx, &p, "redis") == -1) {
			rc = BENCH_EX_UNAVAILABLE;
			goto out;
		}
		have_pctx = true;
		pctx.private_server = true;
		pctx.server_pid = redis.pid;
		pctx.pin = p.pin;
		pctx.client_cpus = cli_cpus;
		if ((rc = bench_run_redis(&pctx, redis.sock, peer)) != 0)
			goto out;
		bench_proc_stop(&redis, 5000);
	} else if (peer != NULL) {
		free(peer);
		peer = NULL;
	}

	if (p.json) {
		json_buf_init(&jb);
		if (bench_json(&jb, &p, r, peer) == -1) {
			fprintf(stderr, "callosum-bench: out of memory\n");
			rc = BENCH_EX_UNAVAILABLE;
		} else
			printf("%s\n", jb.data);
		json_buf_free(&jb);
	} else
		print_human(&p, r, peer);
	fflush(stdout);
	if (rc == BENCH_EX_OK && (r->errors > 0 || bench_interrupted))
		rc = BENCH_EX_ERRORS;
out:
	for (i = 0; idle != NULL && i < p.idle; i++)
		client_close(idle[i]);
	free(idle);
	if (router.pid > 0)
		bench_proc_stop(&router, 5000);
	if (logredis.pid > 0)
		bench_proc_stop(&logredis, 5000);
	if (redis.pid > 0)
		bench_proc_stop(&redis, 5000);
	if (dir[0] != '\0')
		bench_dir_remove(dir);
	if (have_ctx)
		bench_ctx_free(&ctx);
	if (have_pctx)
		bench_ctx_free(&pctx);
	free(r);
	free(peer);
	return (rc);
}
