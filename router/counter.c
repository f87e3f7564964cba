/*
 * counter: the array behind counter.h.
 */
#include "router/counter.h"

uint64_t	counter_values[COUNTER_NCOUNTERS];
