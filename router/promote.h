/*
 * promote: the router's side of the pattern synthesizer (synth/). It owns
 * the synth, feeds it every logged event in log order, rebuilds it from
 * the log at start, and turns a promotion into a msg on $candidates
 * (logged, so that a rebuild knows it was promoted).
 *
 * States: REBUILDING reads the log from its start through the synth;
 * LIVE feeds each event as it is logged; BEHIND waits for the log to be
 * readable (Redis down at start) and then reads on from where it stopped.
 * The synth sees each logged event once, in id order, in every state.
 */
#ifndef CALLOSUM_PROMOTE_H
#define CALLOSUM_PROMOTE_H

#include <stdbool.h>
#include <stdint.h>

struct es_event;
struct promote;
struct server;
struct synth;
struct webhook_stats;

#include "eventstore/eid.h"

/* The newest candidate records (live or read while rebuilding). */
#define PROMOTE_RECENT	8

struct promote_recent {
	char	*pattern;
	char	 eid[EID_STR_MAX];
	int64_t	 ts_us;
	void	*body;		/* the record's msgpack map */
	size_t	 len;
};

enum promote_state {
	PROMOTE_OFF = 0,	/* synth_enabled = 0 */
	PROMOTE_REBUILDING,
	PROMOTE_BEHIND,
	PROMOTE_LIVE
};

/*
 * A new one for srv's config and log, rebuilding; NULL when it is off, or
 * with *cause set when its webhook cannot be made (a usage error).
 */
struct promote	*promote_new(struct server *, char **cause);
void		 promote_free(struct promote *);
/* Runs the loop until the start-up rebuild is done (or cannot go on). */
void		 promote_wait_rebuilt(struct promote *);
/*
 * ev (a view, borrowed) was just logged: fed when live. label_hash: its
 * publisher's synth_label_hash of agent, session, model, or NULL.
 */
void		 promote_feed(struct promote *, const struct es_event *ev,
		    const uint64_t *label_hash);
/* The log is reachable again: a rebuild that stopped goes on. */
void		 promote_log_up(struct promote *);
enum promote_state promote_state(const struct promote *);
const char	*promote_state_name(enum promote_state);
/* The synth, for the figures (read only); NULL when off. */
const struct synth *promote_synth(const struct promote *);
/* The webhook's figures (zeros without one). */
void		 promote_webhook_stats(const struct promote *,
		    struct webhook_stats *);
bool		 promote_has_webhook(const struct promote *);
/* Points out[0..n) at the newest records, newest first; returns n. */
size_t		 promote_recent(const struct promote *,
		    const struct promote_recent **out, size_t max);
/* Candidates published on $candidates by this process. */
uint64_t	 promote_published(const struct promote *);

#endif
