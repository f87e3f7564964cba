/*
 * bench_clock: see bench_clock.h.
 */
#include <stdint.h>
#include <time.h>

#include "bench/bench_clock.h"

int64_t
bench_real_offset_ns(void)
{
	uint64_t	a, b, r, best = UINT64_MAX;
	int64_t		off = 0;
	int		i;

	for (i = 0; i < 16; i++) {
		a = bench_clock_ns(CLOCK_MONOTONIC);
		r = bench_clock_ns(CLOCK_REALTIME);
		b = bench_clock_ns(CLOCK_MONOTONIC);
		if (b - a < best) {
			best = b - a;
			off = (int64_t)r - (int64_t)(a + (b - a) / 2);
		}
	}
	return (off);
}
