/*
 * bench_clock: the clocks the harness and the probe compare.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdint.h>

/*
 * CLOCK_REALTIME - CLOCK_MONOTONIC in ns, from the tightest of a few paired
 * readings: turns the router's unix-time ts into CLOCK_MONOTONIC. NTP slews
 * one against the other (up to 500 ppm), so callers read it again often.
 */
int64_t	bench_real_offset_ns(void);

#endif
