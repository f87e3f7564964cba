/*
 * pacer: the send schedule of an open-loop publisher.
 *
 * Send i is intended at start + floor(i * 1e9 / rate) ns: fixed intervals
 * that do not drift, whatever the caller's wake-ups. A caller that wakes
 * late takes every send that came due meanwhile, each with its own intended
 * time, and measures latency from that time: a stall then shows up in the
 * latency of every message it delayed instead of vanishing from the record
 * (coordinated omission). Nothing is ever skipped. No clock is read here:
 * the caller passes now, so tests set the time.
 */
#ifndef BENCH_PACER_H
#define BENCH_PACER_H

#include <stdint.h>

/* 1 per ns: keeps the arithmetic in 64 bits. */
#define PACER_RATE_MAX	UINT64_C(1000000000)

struct pacer {
	uint64_t	start_ns;
	uint64_t	rate;		/* per second, 1..PACER_RATE_MAX */
	uint64_t	next;		/* index of the next send */
};

/* Schedules sends at rate per second from start_ns on. */
void		pacer_init(struct pacer *p, uint64_t start_ns, uint64_t rate);
/* The intended time of send i. */
uint64_t	pacer_time(const struct pacer *p, uint64_t i);
/* The intended time of the next send. */
uint64_t	pacer_next_ns(const struct pacer *p);
/* How many sends, from the next one on, are due at now (intended <= now). */
uint64_t	pacer_due(const struct pacer *p, uint64_t now_ns);
/* Takes the next send: returns its intended time and moves past it. */
uint64_t	pacer_take(struct pacer *p);

#endif
