/*
 * synth: the front of the synthesizer. It checks the configuration, runs
 * each event through balance and patterns in two steps (prepare both, then
 * commit both, so ENOMEM leaves the state as it was), and writes and reads
 * snapshots.
 *
 * A snapshot is one msgpack array:
 *   ["callosum-synth", SYNTH_SNAPSHOT_VERSION, [configuration...],
 *    events_fed, balance state, patterns state]
 * Doubles travel as float64, so restore gets them bit for bit, and each
 * order the figures depend on (pairs, LRU, promotions) is written in
 * order; restore refuses a snapshot made under another configuration.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth/balance.h"
#include "synth/patterns.h"
#include "synth/synth.h"
#include "synth/synth_internal.h"

#define SYNTH_SNAPSHOT_MAGIC	"callosum-synth"
#define SYNTH_SNAPSHOT_VERSION	1
#define SYNTH_CONFIG_FIELDS	8

struct synth {
	struct synth_config	 cfg;
	struct balance		*bal;
	struct patterns		*pat;
	uint64_t		 events_fed;
	bool			 feeding;	/* fn may be running */
};

static const char	*synth_config_why(const struct synth_config *);
static int		 synth_pack_config(msgpack_packer *,
			    const struct synth_config *);
static int		 synth_config_same(const msgpack_object *,
			    const struct synth_config *);
static int		 synth_load(struct synth *, const msgpack_object *);

void
synth_config_default(struct synth_config *c)
{
	memset(c, 0, sizeof(*c));
	c->window = 100;
	c->balance_threshold = 0.7;
	c->promote_occurrences = 3;
	c->promote_sessions = 2;
	c->promote_models = 2;
	c->max_pairs = 1024;
	c->max_patterns = 10000;
	c->max_promoted = 100000;
}

/* NULL if c is usable, else why not. */
static const char *
synth_config_why(const struct synth_config *c)
{
	if (c->window < 1 || c->window > SYNTH_WINDOW_MAX)
		return ("synth_window must be 1..100000");
	/* Written so that NaN fails too. */
	if (!(c->balance_threshold >= 0.0 && c->balance_threshold <= 1.0))
		return ("balance_threshold must be 0..1");
	if (c->promote_occurrences < 1)
		return ("promote_occurrences must be at least 1");
	/* A pattern keeps at most SYNTH_DISTINCT_MAX of each. */
	if (c->promote_sessions < 1 || c->promote_sessions > SYNTH_DISTINCT_MAX)
		return ("promote_sessions must be 1..32");
	if (c->promote_models < 1 || c->promote_models > SYNTH_DISTINCT_MAX)
		return ("promote_models must be 1..32");
	if (c->max_pairs < 1 || c->max_patterns < 1 || c->max_promoted < 1)
		return ("synth table bounds must be at least 1");
	return (NULL);
}

int
synth_config_check(const struct synth_config *c, char **cause)
{
	const char	*why;

	if ((why = synth_config_why(c)) == NULL)
		return (0);
	if (cause != NULL && (*cause = strdup(why)) == NULL)
		errno = ENOMEM;
	return (-1);
}

struct synth *
synth_new(const struct synth_config *c)
{
	struct synth	*s;

	if (synth_config_why(c) != NULL) {
		errno = EINVAL;
		return (NULL);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->cfg = *c;
	if ((s->bal = balance_new(c)) == NULL ||
	    (s->pat = patterns_new(c)) == NULL) {
		synth_free(s);
		errno = ENOMEM;
		return (NULL);
	}
	return (s);
}

void
synth_free(struct synth *s)
{
	if (s == NULL)
		return;
	balance_free(s->bal);
	patterns_free(s->pat);
	free(s);
}

int
synth_feed(struct synth *s, const struct synth_event *ev,
    synth_promote_fn *fn, void *arg)
{
	struct balance_txn	bt;
	struct patterns_txn	pt;

	/* fn must not feed: it would run between this event's steps. */
	assert(!s->feeding);
	if (balance_prepare(s->bal, ev, &bt) == -1)
		goto nomem;
	/* Most events have no pattern: nothing for the patterns' side. */
	if (ev->pattern.len != 0 && patterns_prepare(s->pat, ev, &pt) == -1) {
		balance_abort(s->bal, &bt);
		goto nomem;
	}
	balance_commit(s->bal, ev, &bt);
	s->events_fed++;
	if (ev->pattern.len != 0) {
		s->feeding = true;
		patterns_commit(s->pat, ev, &pt, fn, arg);
		s->feeding = false;
	}
	return (0);
nomem:
	errno = ENOMEM;
	return (-1);
}

void
synth_get_stats(const struct synth *s, struct synth_stats *st)
{
	memset(st, 0, sizeof(*st));
	balance_stats(s->bal, st);
	patterns_stats(s->pat, st);
	st->events_fed = s->events_fed;
}

size_t
synth_pairs(const struct synth *s, struct synth_pair_view *out, size_t max)
{
	return (balance_pairs(s->bal, out, max));
}

size_t
synth_top_patterns(const struct synth *s, struct synth_pattern_view *out,
    size_t max)
{
	return (patterns_top(s->pat, out, max));
}

static int
synth_pack_config(msgpack_packer *pk, const struct synth_config *c)
{
	if (msgpack_pack_array(pk, SYNTH_CONFIG_FIELDS) != 0 ||
	    msgpack_pack_uint32(pk, c->window) != 0 ||
	    msgpack_pack_double(pk, c->balance_threshold) != 0 ||
	    msgpack_pack_uint32(pk, c->promote_occurrences) != 0 ||
	    msgpack_pack_uint32(pk, c->promote_sessions) != 0 ||
	    msgpack_pack_uint32(pk, c->promote_models) != 0 ||
	    msgpack_pack_uint64(pk, c->max_pairs) != 0 ||
	    msgpack_pack_uint64(pk, c->max_patterns) != 0 ||
	    msgpack_pack_uint64(pk, c->max_promoted) != 0)
		return (-1);
	return (0);
}

int
synth_snapshot(const struct synth *s, msgpack_sbuffer *sb)
{
	msgpack_packer	pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, 6) != 0 ||
	    msgpack_pack_str_with_body(&pk, SYNTH_SNAPSHOT_MAGIC,
	    strlen(SYNTH_SNAPSHOT_MAGIC)) != 0 ||
	    msgpack_pack_uint32(&pk, SYNTH_SNAPSHOT_VERSION) != 0 ||
	    synth_pack_config(&pk, &s->cfg) != 0 ||
	    msgpack_pack_uint64(&pk, s->events_fed) != 0 ||
	    balance_pack(s->bal, &pk) != 0 ||
	    patterns_pack(s->pat, &pk) != 0) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

/* 0 if the packed configuration o is c, field by field. */
static int
synth_config_same(const msgpack_object *o, const struct synth_config *c)
{
	const msgpack_object	*f;
	uint64_t		 u[SYNTH_CONFIG_FIELDS];
	double			 thr;
	int			 i;

	if (synth_obj_array(o, SYNTH_CONFIG_FIELDS, &f) == -1 ||
	    synth_obj_f64(&f[1], &thr) == -1)
		return (-1);
	for (i = 0; i < SYNTH_CONFIG_FIELDS; i++)
		if (i != 1 && synth_obj_u64(&f[i], &u[i]) == -1)
			return (-1);
	if (u[0] != c->window || thr != c->balance_threshold ||
	    u[2] != c->promote_occurrences || u[3] != c->promote_sessions ||
	    u[4] != c->promote_models || u[5] != c->max_pairs ||
	    u[6] != c->max_patterns || u[7] != c->max_promoted)
		return (-1);
	return (0);
}

/* Loads the decoded snapshot o into the new synth s; 0 or -1, errno. */
static int
synth_load(struct synth *s, const msgpack_object *o)
{
	const msgpack_object	*f;
	uint64_t		 version;

	if (synth_obj_array(o, 6, &f) == -1 ||
	    f[0].type != MSGPACK_OBJECT_STR ||
	    f[0].via.str.size != strlen(SYNTH_SNAPSHOT_MAGIC) ||
	    memcmp(f[0].via.str.ptr, SYNTH_SNAPSHOT_MAGIC,
	    f[0].via.str.size) != 0 ||
	    synth_obj_u64(&f[1], &version) == -1 ||
	    version != SYNTH_SNAPSHOT_VERSION ||
	    synth_config_same(&f[2], &s->cfg) == -1 ||
	    synth_obj_u64(&f[3], &s->events_fed) == -1) {
		errno = EINVAL;
		return (-1);
	}
	if (balance_unpack(s->bal, &f[4]) == -1 ||
	    patterns_unpack(s->pat, &f[5]) == -1)
		return (-1);
	return (0);
}

struct synth *
synth_restore(const struct synth_config *c, const char *buf, size_t len)
{
	msgpack_unpacked	 u;
	struct synth		*s;
	size_t			 off = 0;
	int			 rc, saved;

	if ((s = synth_new(c)) == NULL)
		return (NULL);
	msgpack_unpacked_init(&u);
	rc = len == 0 ? MSGPACK_UNPACK_CONTINUE :
	    msgpack_unpack_next(&u, buf, len, &off);
	if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
		errno = ENOMEM;
	else if (rc != MSGPACK_UNPACK_SUCCESS || off != len)
		errno = EINVAL;
	else if (synth_load(s, &u.data) == 0) {
		msgpack_unpacked_destroy(&u);
		return (s);
	}
	saved = errno;
	msgpack_unpacked_destroy(&u);
	synth_free(s);
	errno = saved;
	return (NULL);
}
