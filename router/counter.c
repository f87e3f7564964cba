/*
 * counter: the storage behind counter.h.
 */
#include "router/counter.h"

/*
 * 0 (answered in the pass that read it), then 10 us .. 10 s in 1-2.5-5
 * steps: Redis round trips up to stuck publishers.
 */
const uint64_t	counter_hist_bounds_us[COUNTER_HIST_N - 1] = {
	0, 10, 25, 50, 100, 250, 500,
	1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

uint64_t		counter_values[COUNTER_NCOUNTERS];
uint64_t		counter_errs[WIRE_CODE_COUNT];
uint64_t		counter_acks[COUNTER_NSTORED];
struct counter_hist	counter_publish_latency;
struct counter_hist	counter_write_latency;
