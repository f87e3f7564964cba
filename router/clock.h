/*
 * clock: the loop's cached clocks and "run later" timers. A leaf: it knows
 * no router state, so breakers, timers and the publish path can ask for
 * the time without reaching into the server.
 *
 * clock_read() reads both clocks; callbacks that stamp or time things call
 * it once when they start (one vDSO call, ~30 ns), and everything they do
 * then sees the same now: a batch of frames gets one ts, and tests that
 * drive a module with a fake now do so through its own arguments.
 */
#ifndef CALLOSUM_CLOCK_H
#define CALLOSUM_CLOCK_H

#include <stdint.h>

struct event;

/* Reads the wall and the monotonic clock into the cache. */
void		 clock_read(void);
/* Unix microseconds at the last clock_read() (msg ts). */
int64_t		 clock_wall_us(void);
/* Monotonic microseconds at the last clock_read() (deadlines). */
int64_t		 clock_mono_us(void);
/* Monotonic microseconds now, bypassing the cache (the busy-poll loop). */
int64_t		 clock_mono_now_us(void);
/*
 * Runs ev's callback after the loop has next polled the sockets: how a
 * callback that spent its work budget continues without starving others
 * (event_active() would run it again before any socket is read).
 */
void		 clock_later(struct event *ev);
/* Arms a timer ev to fire in ms milliseconds. */
void		 clock_timer_ms(struct event *ev, unsigned ms);
/* Arms a timer ev to fire in us microseconds (<= 0: at the next pass). */
void		 clock_timer_us(struct event *ev, int64_t us);

#endif
