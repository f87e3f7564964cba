/*
 * clock: see clock.h. The wall clock is read itself, not libevent's cached
 * time: that is monotonic time plus an offset resynced only every few
 * seconds, so it strays from the wall clock by milliseconds when NTP slews
 * it (ADR 0008).
 */
#include <time.h>

#include <event2/event.h>

#include "router/clock.h"

static int64_t	clock_wall;
static int64_t	clock_mono;

static int64_t
clock_get(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

void
clock_read(void)
{
	clock_wall = clock_get(CLOCK_REALTIME);
	clock_mono = clock_get(CLOCK_MONOTONIC);
}

int64_t
clock_wall_us(void)
{
	return (clock_wall);
}

int64_t
clock_mono_us(void)
{
	return (clock_mono);
}

int64_t
clock_mono_now_us(void)
{
	return (clock_get(CLOCK_MONOTONIC));
}

void
clock_later(struct event *ev)
{
	static const struct timeval	zero = { 0, 0 };

	evtimer_add(ev, &zero);
}

void
clock_timer_us(struct event *ev, int64_t us)
{
	struct timeval	tv;

	if (us < 0)
		us = 0;
	tv.tv_sec = us / 1000000;
	tv.tv_usec = us % 1000000;
	evtimer_add(ev, &tv);
}

void
clock_timer_ms(struct event *ev, unsigned ms)
{
	clock_timer_us(ev, (int64_t)ms * 1000);
}
