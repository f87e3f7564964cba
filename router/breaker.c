/*
 * breaker: see breaker.h. Every transition goes through breaker_move, so
 * the count of transitions and the report are never missed.
 */
#include "router/breaker.h"

static void
breaker_move(struct breaker *b, enum breaker_state to, int64_t now_us,
    struct breaker_transition *tr)
{
	tr->from = (enum breaker_state)b->state;
	tr->to = to;
	tr->failures = b->failures;
	b->state = (uint8_t)to;
	b->transitions++;
	b->trials = 0;
	if (to == BREAKER_OPEN)
		b->opened_us = now_us;
	if (to == BREAKER_CLOSED)
		b->failures = 0;
}

bool
breaker_allow(struct breaker *b, const struct breaker_cfg *cfg,
    int64_t now_us, struct breaker_transition *tr, bool *moved)
{
	*moved = false;
	if (b->state == BREAKER_CLOSED)
		return (true);
	if (b->state == BREAKER_OPEN) {
		if (now_us < breaker_reset_at(b, cfg))
			return (false);
		breaker_move(b, BREAKER_HALF_OPEN, now_us, tr);
		*moved = true;
	}
	if (b->trials >= cfg->half_open_max)
		return (false);
	b->trials++;
	return (true);
}

bool
breaker_success(struct breaker *b, struct breaker_transition *tr)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		b->failures = 0;
		return (false);
	case BREAKER_HALF_OPEN:
		breaker_move(b, BREAKER_CLOSED, 0, tr);
		return (true);
	default:
		/* A pub let through before it opened: it says nothing now. */
		return (false);
	}
}

bool
breaker_failure(struct breaker *b, const struct breaker_cfg *cfg,
    int64_t now_us, struct breaker_transition *tr)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		if (++b->failures < cfg->threshold)
			return (false);
		breaker_move(b, BREAKER_OPEN, now_us, tr);
		return (true);
	case BREAKER_HALF_OPEN:
		b->failures++;
		breaker_move(b, BREAKER_OPEN, now_us, tr);
		return (true);
	default:
		b->failures++;	/* already open: counted, no move */
		return (false);
	}
}

bool
breaker_poll(struct breaker *b, const struct breaker_cfg *cfg, int64_t now_us,
    struct breaker_transition *tr)
{
	if (b->state != BREAKER_OPEN || now_us < breaker_reset_at(b, cfg))
		return (false);
	breaker_move(b, BREAKER_HALF_OPEN, now_us, tr);
	return (true);
}

void
breaker_release(struct breaker *b)
{
	if (b->state == BREAKER_HALF_OPEN && b->trials > 0)
		b->trials--;
}

int64_t
breaker_reset_at(const struct breaker *b, const struct breaker_cfg *cfg)
{
	return (b->opened_us + cfg->reset_us);
}

const char *
breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED:
		return ("closed");
	case BREAKER_OPEN:
		return ("open");
	case BREAKER_HALF_OPEN:
		return ("half_open");
	}
	return ("unknown");
}
