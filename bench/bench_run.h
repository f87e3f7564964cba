/*
 * bench_run: running a workload. One thread per client connection, each
 * pinned (with --pin) to the CPUs the server does not use; the main thread
 * starts them together, shows progress, and collects what they counted.
 *
 * bench_run.c drives Callosum (each thread its own libevent loop),
 * bench_redis.c the same workload over Redis pub/sub (hiredis, blocking,
 * one thread per connection), bench_proc.c the processes measured.
 */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bench/bench.h"
#include "bench/bench_clock.h"

/* A progress counter on its own cache line: one writer, one reader. */
struct bench_counter {
	_Atomic uint64_t	n;
	char			pad[64 - sizeof(uint64_t)];
};

/* What one publisher counted. */
struct bench_pubstat {
	uint64_t	published;
	uint64_t	with_id;	/* pubs that carried an id */
	uint64_t	acks;
	uint64_t	errs_id;	/* err replies carrying an id */
	uint64_t	err_frames;
	uint64_t	bad_frames;
	uint64_t	disconnects;
	uint64_t	t_end_ns;	/* the server had handled them all */
	uint64_t	ack_untimed;	/* acked, too many pending to time */
	struct hist	pacer_lag;
	struct hist	ack_lat;	/* see bench_result */
	char		first_err[64];
};

/* What one subscriber counted. */
struct bench_substat {
	uint64_t	delivered;
	uint64_t	lag_dropped;
	uint64_t	err_frames;
	uint64_t	bad_frames;
	uint64_t	disconnects;
	uint64_t	lost;
	uint64_t	t_last_ns;
	struct seqcheck	sc;
	struct hist	lat;
	struct hist	lat_to_router;		/* see bench_result */
	struct hist	lat_from_router;
	char		first_err[64];
};

/* A workload in progress, shared by its threads. */
struct bench_ctx {
	const struct bench_params	*p;
	const char			*label;		/* callosum, redis */
	uint32_t			 nonce;
	bool				 private_server; /* foreign: errors */
	bool				 pin;
	cpu_set_t			 client_cpus;
	pid_t				 server_pid;	/* -1: not ours */
	pid_t				 log_pid;	/* --redis spawn; -1 */

	pthread_barrier_t		 start;
	uint64_t			 t0_ns;		/* before the barrier */
	uint64_t			 measure_ns;	/* t0 + warm-up */
	uint64_t			*final;		/* per pub: its total */
	_Atomic unsigned		 pubs_done;
	_Atomic unsigned		 subs_done;
	_Atomic int			 stop;		/* signal, stall */
	_Atomic uint64_t		 drain_deadline_ns; /* 0: not yet */
	struct bench_counter		*pubc;
	struct bench_counter		*subc;
	struct bench_pubstat		*pubst;
	struct bench_substat		*subst;
};

extern volatile sig_atomic_t	 bench_interrupted;

static inline uint64_t
bench_now_ns(void)
{
	return (bench_clock_ns(CLOCK_MONOTONIC));
}

/* A message meant to be sent at ts_ns counts in the latency figures. */
static inline bool
bench_measured(const struct bench_ctx *ctx, uint64_t ts_ns)
{
	return (ts_ns >= ctx->measure_ns);
}

/* Allocates the shared state for p's threads. 0 or -1. */
int	bench_ctx_init(struct bench_ctx *, const struct bench_params *,
	    const char *label);
void	bench_ctx_free(struct bench_ctx *);
/* Pins the calling thread to the client CPUs when asked. */
void	bench_pin_self(const struct bench_ctx *);
/* This publisher's share of a total split over n: rate or count. */
uint64_t bench_share(uint64_t total, unsigned n, unsigned i);
/* Message seq of a publisher goes cross-tract (Bresenham over cross_pct). */
static inline bool
bench_is_cross(unsigned pct, uint64_t seq)
{
	return ((seq + 1) * pct / 100 > seq * pct / 100);
}
/* Checks a received body; returns the header or NULL (not ours). */
const struct bench_body *bench_body_check(const struct bench_ctx *,
	    const unsigned char *body, size_t len, struct bench_body *tmp);
/* A subscriber's end-of-run test: every publisher done and all seen. */
bool	bench_sub_complete(struct bench_ctx *, struct bench_substat *);
/* A subscriber gives up: stop asked, or the drain deadline passed. */
bool	bench_sub_give_up(struct bench_ctx *, uint64_t now_ns);
/* When publishers stop by time (warm-up included), or 0: by count. */
uint64_t bench_end_ns(const struct bench_ctx *);
/* A publisher is done: final[idx] = n, counted in pubs_done. */
void	bench_pub_done(struct bench_ctx *, unsigned idx, uint64_t n);

/*
 * Waits at the start barrier with the threads, then shows progress on
 * stderr until every thread is done, and joins them. Fills the times,
 * CPU use and every count of r.
 */
void	bench_drive(struct bench_ctx *, pthread_t *threads, unsigned n,
	    struct bench_result *r);

/*
 * Runs the workload against the router at ctx->p->socket. Returns 0, or
 * BENCH_EX_UNAVAILABLE when it cannot be reached (message on stderr).
 */
int	bench_run_callosum(struct bench_ctx *, struct bench_result *);
/* Runs the workload over Redis pub/sub at the Unix socket sock. */
int	bench_run_redis(struct bench_ctx *, const char *sock,
	    struct bench_result *);

/* A child process the benchmark started, in its own temp directory. */
struct bench_proc {
	pid_t	 pid;
	char	 sock[256];
	char	 log[256];
};

/* Makes the run's private directory (mkdtemp). 0 or -1 (stderr). */
int	bench_dir_make(char *dir, size_t len);
/* Removes what the children left in dir, then dir. */
void	bench_dir_remove(const char *dir);
/*
 * Splits the CPUs we may use: the last one for the server, the others for
 * the clients. -1 with fewer than 2 CPUs.
 */
int	bench_cpu_split(cpu_set_t *server, cpu_set_t *clients);
/*
 * Starts callosumd (from $CALLOSUMD, else next to this program) on
 * dir/callosum.sock, with --redis and --config when not NULL, and waits
 * until it answers hello. -1 with a reason on stderr.
 */
int	bench_spawn_router(struct bench_proc *, const char *dir,
	    const char *redis_url, const char *config, const cpu_set_t *pin);
/* Starts redis-server (from PATH) on dir/redis.sock and waits for PING. */
int	bench_spawn_redis(struct bench_proc *, const char *dir,
	    const cpu_set_t *pin);
/* SIGTERM, then waits up to timeout_ms (SIGKILL after). Exit status or -1. */
int	bench_proc_stop(struct bench_proc *, int timeout_ms);
/* VmRSS of pid in KiB, or -1. */
long	bench_rss_kib(pid_t);
/* User + system CPU seconds of pid so far, or -1. */
double	bench_proc_cpu_s(pid_t);
/* CPU seconds the whole machine has been busy (steal included), or -1. */
double	bench_sys_busy_s(void);

#endif
