/*
 * breaker: one tract's circuit breaker (SPEC "Circuit breakers"). A state
 * machine with no I/O and no clock of its own: the caller passes now, and
 * is told of every transition, which it announces ($sys, the log).
 *
 *   closed    --threshold consecutive failures-->  open
 *   open      --reset_us after it opened-------->  half_open
 *   half_open --a trial succeeds---------------->  closed
 *   half_open --a trial fails------------------->  open
 *
 * In closed a success resets the count; in open every pub fails at once;
 * in half_open at most half_open_max trial pubs go through at a time.
 */
#ifndef CALLOSUM_BREAKER_H
#define CALLOSUM_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN
};

struct breaker_cfg {
	uint32_t	threshold;	/* breaker_failure_threshold, >= 1 */
	int64_t		reset_us;	/* breaker_reset_timeout_ms * 1000 */
	uint32_t	half_open_max;	/* breaker_half_open_max, >= 1 */
};

/* A few words per tract; zeroed is closed. */
struct breaker {
	uint8_t		state;		/* enum breaker_state */
	uint32_t	failures;	/* consecutive (closed), or at open */
	uint32_t	trials;		/* half_open: let through, unsettled */
	int64_t		opened_us;
	uint64_t	transitions;
};

struct breaker_transition {
	enum breaker_state	from;
	enum breaker_state	to;
	uint32_t		failures;
};

/*
 * May a pub go in now? In open, reset_us after it opened, it first goes
 * half_open (a transition, *tr filled, *moved set). In half_open it lets
 * a trial through while fewer than half_open_max are out.
 */
bool		 breaker_allow(struct breaker *, const struct breaker_cfg *,
		    int64_t now_us, struct breaker_transition *tr, bool *moved);
/* A pub went into the tract. Returns true on a transition (*tr). */
bool		 breaker_success(struct breaker *, struct breaker_transition *tr);
/* A failure of the tract. Returns true on a transition (*tr). */
bool		 breaker_failure(struct breaker *, const struct breaker_cfg *,
		    int64_t now_us, struct breaker_transition *tr);
/*
 * The reset timer: an open breaker whose deadline has passed goes
 * half_open (returns true, *tr filled), pubs or not.
 */
bool		 breaker_poll(struct breaker *, const struct breaker_cfg *,
		    int64_t now_us, struct breaker_transition *tr);
/* A trial let through came to nothing (refused for another reason). */
void		 breaker_release(struct breaker *);
/* When an open breaker may go half_open (its reset deadline). */
int64_t		 breaker_reset_at(const struct breaker *,
		    const struct breaker_cfg *);
/* "closed", "open", "half_open". */
const char	*breaker_state_name(enum breaker_state);

#endif
