/*
 * tract: the registry, fan-out and paused publishers.
 *
 * Invariant: t->nfull counts the block-mode subs of t whose pending queue
 * is full; while it is zero no publisher waits on t, and tract_would_block()
 * costs nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "router/clock.h"
#include "router/config.h"
#include "router/conn.h"
#include "router/lib/htab.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/pub.h"
#include "router/server.h"
#include "router/sub.h"
#include "router/tract.h"
#include "router/xmalloc.h"

/* Tracts made on first use stop here: each costs memory for good. */
#define TRACT_MAX	4096

struct tract_reg {
	struct server		 *srv;
	struct breaker_cfg	  bcfg;
	struct event_base	 *base;
	struct htab		 *names;	/* name -> struct tract */
	struct tract		**list;		/* creation order */
	size_t			  n;
};

static const char *const tract_reserved[] = { "$sys", "$candidates" };

static void	tract_wake_cb(evutil_socket_t, short, void *);
static void	tract_breaker_arm(struct tract *);

static struct tract *
tract_new(struct tract_reg *r, const char *s, size_t len)
{
	struct tract	*t;

	t = xcalloc(1, sizeof(*t));
	memcpy(t->name, s, len);
	t->name_len = len;
	TAILQ_INIT(&t->waiters);
	t->reg = r;
	event_assign(&t->wake_ev, r->base, -1, 0, tract_wake_cb, t);
	xcheck(htab_put(r->names, t->name, len, t), sizeof(t));
	r->list = xreallocarray(r->list, r->n + 1, sizeof(*r->list));
	r->list[r->n++] = t;
	log_debug("tract", "new", "tract=%s", t->name);
	return (t);
}

struct tract_reg *
tract_reg_new(struct server *srv)
{
	const struct config	*cfg = server_config(srv);
	struct tract_reg	*r;
	size_t			 i;

	r = xcalloc(1, sizeof(*r));
	r->srv = srv;
	r->base = server_base(srv);
	r->bcfg.threshold = cfg->breaker_failure_threshold;
	r->bcfg.reset_us = (int64_t)cfg->breaker_reset_timeout_ms * 1000;
	r->bcfg.half_open_max = cfg->breaker_half_open_max;
	if ((r->names = htab_new()) == NULL) {
		free(r);
		return (NULL);
	}
	for (i = 0; i < sizeof(tract_reserved) / sizeof(*tract_reserved); i++)
		tract_new(r, tract_reserved[i], strlen(tract_reserved[i]));
	return (r);
}

void
tract_reg_free(struct tract_reg *r)
{
	struct tract	*t;
	size_t		 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		t = r->list[i];
		event_del(&t->wake_ev);
		if (t->br_ev != NULL)
			event_free(t->br_ev);
		free(t->subs);
		free(t->sources);
		free(t);
	}
	free(r->list);
	htab_free(r->names);
	free(r);
}

struct tract *
tract_get(struct tract_reg *r, const char *s, size_t len, bool create,
    bool *limited)
{
	struct tract	*t;

	*limited = false;
	if ((t = htab_get(r->names, s, len)) != NULL || !create)
		return (t);
	if (r->n >= TRACT_MAX) {
		*limited = true;
		return (NULL);
	}
	return (tract_new(r, s, len));
}

size_t
tract_count(const struct tract_reg *r)
{
	return (r->n);
}

struct tract *
tract_at(const struct tract_reg *r, size_t i)
{
	return (r->list[i]);
}

void
tract_add_sub(struct tract *t, struct sub *s)
{
	if (t->nsubs == t->subs_cap) {
		t->subs_cap = t->subs_cap == 0 ? 4 : t->subs_cap * 2;
		t->subs = xreallocarray(t->subs, t->subs_cap, sizeof(*t->subs));
	}
	sub_set_tract(s, t, t->nsubs);
	t->subs[t->nsubs++] = s;
}

void
tract_remove_sub(struct tract *t, struct sub *s, size_t idx)
{
	struct sub	*last = t->subs[--t->nsubs];

	/* Swap-remove: O(1), order among subscribers does not matter. */
	t->subs[idx] = last;
	if (last != s)
		sub_set_tract(last, t, idx);
}

bool
tract_would_block(struct tract *t, const char *kind, size_t len)
{
	size_t	i;

	if (t->nfull == 0)
		return (false);
	for (i = 0; i < t->nsubs; i++) {
		if (sub_would_block(t->subs[i], kind, len))
			return (true);
	}
	return (false);
}

/* A word at a time: this runs for every cross-tract message. */
static bool
tract_source_is(const struct tract_source *src, const char *s, size_t len)
{
	uint64_t	a, b;
	size_t		i = 0;

	if (src->name_len != len)
		return (false);
	for (; i + 8 <= len; i += 8) {
		memcpy(&a, src->name + i, 8);
		memcpy(&b, s + i, 8);
		if (a != b)
			return (false);
	}
	for (; i < len; i++) {
		if (src->name[i] != s[i])
			return (false);
	}
	return (true);
}

/*
 * A scan, but a short one: a tract hears from a few others, bounded by
 * TRACT_SOURCES_MAX, and a publisher's run of messages hits last_source.
 */
void
tract_note_cross(struct tract *t, const char *from, size_t len)
{
	struct tract_source	*src;
	size_t			 i;

	if (t->nsources > 0 &&
	    tract_source_is(&t->sources[t->last_source], from, len)) {
		t->sources[t->last_source].n++;
		return;
	}
	for (i = 0; i < t->nsources; i++) {
		if (tract_source_is(&t->sources[i], from, len))
			break;
	}
	if (i == t->nsources) {
		if (i == TRACT_SOURCES_MAX || len > WIRE_NAME_MAX) {
			t->n.cross_other++;
			return;
		}
		if ((i & (i - 1)) == 0)		/* 0, 1, 2, 4, ...: grow */
			t->sources = xreallocarray(t->sources,
			    i == 0 ? 1 : i * 2, sizeof(*t->sources));
		src = &t->sources[t->nsources++];
		memcpy(src->name, from, len);
		src->name_len = len;
		src->n = 0;
	}
	t->sources[i].n++;
	t->last_source = i;
}

void
tract_publish(struct tract *t, struct msg *m)
{
	size_t	i;

	t->n.published++;
	for (i = 0; i < t->nsubs; i++)
		sub_offer(t->subs[i], m);
}

void
tract_sub_full(struct tract *t)
{
	t->nfull++;
}

void
tract_sub_unfull(struct tract *t)
{
	t->nfull--;
	/*
	 * Woken from the loop: this may run in the middle of a fan-out. On
	 * every unfull, not only at zero: a parked pub of another kind may
	 * have room now (each re-checks, and parks again if not).
	 */
	if (!TAILQ_EMPTY(&t->waiters))
		event_active(&t->wake_ev, EV_TIMEOUT, 0);
}

void
tract_wait(struct tract *t, struct conn *c)
{
	TAILQ_INSERT_TAIL(&t->waiters, c, wait_entry);
	t->nwaiting++;
}

void
tract_unwait(struct tract *t, struct conn *c)
{
	TAILQ_REMOVE(&t->waiters, c, wait_entry);
	t->nwaiting--;
}

/*
 * Resumes the publishers parked on t, oldest first. Each re-reads its
 * parked pub; one that finds t full again parks anew behind the others.
 */
static void
tract_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tract	*t = arg;
	struct conn	*c;
	unsigned	 n = 0;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&t->waiters)) != NULL) {
		tract_unwait(t, c);
		conn_wake_publisher(c);
		n++;
	}
	log_debug("tract", "wake", "tract=%s resumed=%u", t->name, n);
}

/*
 * A transition: one log line (warn when it opens), and a msg on $sys
 * through the router's own publish path, kind "breaker", body a msgpack
 * map {tract, from_state, to_state, failures}.
 */
static void
tract_announce(struct tract *t, const struct breaker_transition *tr)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;

	if (tr->to == BREAKER_OPEN)
		log_warn("tract", "breaker", "tract=%s from=%s to=%s failures=%u",
		    t->name, breaker_state_name(tr->from),
		    breaker_state_name(tr->to), tr->failures);
	else
		log_info("tract", "breaker", "tract=%s from=%s to=%s failures=%u",
		    t->name, breaker_state_name(tr->from),
		    breaker_state_name(tr->to), tr->failures);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	wire_pack_cstr(&pk, "tract");
	wire_pack_str(&pk, t->name, t->name_len);
	wire_pack_cstr(&pk, "from_state");
	wire_pack_cstr(&pk, breaker_state_name(tr->from));
	wire_pack_cstr(&pk, "to_state");
	wire_pack_cstr(&pk, breaker_state_name(tr->to));
	wire_pack_cstr(&pk, "failures");
	msgpack_pack_uint32(&pk, tr->failures);
	if (sb.data != NULL)
		(void)pub_system(t->reg->srv, "$sys", "breaker", NULL, sb.data,
		    sb.size, false, NULL);
	msgpack_sbuffer_destroy(&sb);
}

static void
tract_breaker_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tract			*t = arg;
	struct breaker_transition	 tr;

	(void)fd;
	(void)what;
	clock_read();
	if (breaker_poll(&t->br, &t->reg->bcfg, clock_mono_us(), &tr))
		tract_announce(t, &tr);
	else if (t->br.state == BREAKER_OPEN)
		tract_breaker_arm(t);	/* early by the loop's coarse clock */
}

/*
 * Open: the only time a tract has a timer, to go half_open on time. The
 * loop's timers use a coarse clock and may fire a little early by ours:
 * the callback arms it again for what is left (at least a millisecond).
 */
static void
tract_breaker_arm(struct tract *t)
{
	int64_t	left;

	if (t->br_ev == NULL &&
	    (t->br_ev = evtimer_new(t->reg->base, tract_breaker_cb, t)) == NULL)
		xcheck(-1, sizeof(struct event *));
	left = breaker_reset_at(&t->br, &t->reg->bcfg) - clock_mono_us();
	clock_timer_us(t->br_ev, left < 1000 ? 1000 : left);
}

static void
tract_moved(struct tract *t, const struct breaker_transition *tr)
{
	if (tr->to == BREAKER_OPEN)
		tract_breaker_arm(t);
	else if (t->br_ev != NULL)
		evtimer_del(t->br_ev);
	tract_announce(t, tr);
}

bool
tract_allow_slow(struct tract *t)
{
	struct breaker_transition	tr;
	bool				moved, ok;

	clock_read();
	ok = breaker_allow(&t->br, &t->reg->bcfg, clock_mono_us(), &tr,
	    &moved);
	if (moved)
		tract_moved(t, &tr);
	return (ok);
}

void
tract_success_slow(struct tract *t)
{
	struct breaker_transition	tr;

	if (breaker_success(&t->br, &tr))
		tract_moved(t, &tr);
}

void
tract_release(struct tract *t)
{
	breaker_release(&t->br);
}

void
tract_note_failure(struct tract *t, const char *why)
{
	struct breaker_transition	tr;

	clock_read();
	t->n.failures++;
	log_debug("tract", "failure", "tract=%s why=%s failures=%llu", t->name,
	    why, (unsigned long long)t->n.failures);
	if (breaker_failure(&t->br, &t->reg->bcfg, clock_mono_us(), &tr))
		tract_moved(t, &tr);
}
