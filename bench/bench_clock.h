/*
 * bench_clock: the clocks the harness and the probe compare.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* The clock id's time in ns (inline: the harness reads it per batch). */
static inline uint64_t
bench_clock_ns(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/*
 * CLOCK_REALTIME - CLOCK_MONOTONIC in ns, from the tightest of a few paired
 * readings: turns the router's unix-time ts into CLOCK_MONOTONIC. NTP slews
 * one against the other (up to 500 ppm), so callers read it again often.
 */
int64_t	bench_real_offset_ns(void);

#endif
