/*
 * promote: see promote.h.
 *
 * A promotion found while feeding live is queued and published from the
 * loop (publishing logs an event, which feeds the synth: never from inside
 * synth_feed). A promotion found while rebuilding is held as unmatched:
 * the log shows whether the router published it before it stopped (its
 * candidate record follows the event that promoted it). What is still
 * unmatched when the rebuild reaches the end of the log was never
 * published, and is published then: a promotion is published once, even
 * across a crash between the promoting event and its record.
 *
 * Only the router's own candidate records (on $candidates, where clients
 * cannot publish) tell the synth a pattern was promoted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "eventstore/es_event.h"
#include "eventstore/eventstore.h"
#include "router/clock.h"
#include "router/config.h"
#include "router/lib/json.h"
#include "router/lib/wire.h"
#include "router/log.h"
#include "router/promote.h"
#include "router/pub.h"
#include "router/server.h"
#include "router/xmalloc.h"
#include "synth/synth.h"
#include "synth/webhook.h"

#define PROMOTE_PAGE		1024	/* events per read while rebuilding */
#define PROMOTE_PAGES_PER_PASS	16	/* then yield to the loop */
#define PROMOTE_RETRY_MS	100	/* behind: read again after */
/* At start, how long a log that cannot be read yet is waited for. */
#define PROMOTE_START_WAIT_MS	2000
#define PROMOTE_SNAPSHOT_NAME	"synth"	/* Redis: <prefix>synth */
#define PROMOTE_SNAPSHOT_V	1
#define PROMOTE_STREAM		"candidates"	/* Redis: <prefix>candidates */
#define PROMOTE_MIRROR_MAX	1024	/* records waiting for the stream */
#define PROMOTE_TRACT		"$candidates"
#define PROMOTE_KIND		"candidate"
/* The webhook's outcome, logged so that a restart knows what is owed. */
#define PROMOTE_KIND_SENT	"candidate_delivered"
#define PROMOTE_KIND_UNSENT	"candidate_undelivered"

struct promote_cand {
	TAILQ_ENTRY(promote_cand) entry;
	char		*pattern;
	uint64_t	 occurrences;
	char		**sessions;
	size_t		 nsessions;
	char		**models;
	size_t		 nmodels;
	struct eid	 first;
	struct eid	 last;
};
TAILQ_HEAD(promote_cands, promote_cand);

/* A notification owed to the webhook: its JSON, and whose it is. */
struct promote_note {
	TAILQ_ENTRY(promote_note) entry;	/* rebuilding: owed */
	struct promote	*p;
	char		*pattern;
	char		*json;
	size_t		 len;
};
TAILQ_HEAD(promote_notes, promote_note);

struct promote {
	struct server		*srv;
	struct synth		*synth;
	enum promote_state	 state;
	struct promote_cands	 ready;		/* to publish from the loop */
	struct promote_cands	 unmatched;	/* rebuilt, not yet seen logged */
	struct event		*publish_ev;
	struct event		*read_ev;	/* a rebuild continues */
	struct event		*retry_ev;	/* behind: try again */
	struct eid		 next;		/* rebuilding: read from here */
	struct es_event		*page[PROMOTE_PAGE];
	bool			 reading;	/* a read is out */
	uint64_t		 rebuilt;	/* events fed by rebuilding */
	int64_t			 started_us;
	uint64_t		 published;
	bool			 waiting_start;	/* promote_wait_rebuilt runs */
	struct webhook		*hook;		/* --webhook, or NULL */
	struct promote_notes	 owed;		/* rebuilding: not yet answered */
	/* Snapshots (ADR 0021): the state as of last_fed, in the store. */
	bool			 loaded;	/* the stored one was asked for */
	bool			 no_store;	/* the log keeps none (memory) */
	struct eid		 last_fed;
	uint64_t		 since_snapshot;	/* events fed since */
	bool			 snapshot_out;	/* a SET unanswered */
	struct event		*snapshot_ev;
	unsigned		 posts_out;	/* webhook, unanswered */
	/* Candidate records for their own stream, oldest first, in order. */
	struct es_event		*mirror[PROMOTE_MIRROR_MAX];
	size_t			 nmirror;
	bool			 mirror_out;	/* the head is being written */
	uint64_t		 mirror_dropped;
	struct promote_recent	 recent[PROMOTE_RECENT];	/* a ring */
	unsigned		 nrecent;
	unsigned		 recent_next;	/* where the next one goes */
	bool			 closing;	/* webhook_free calls back */
};

static const char *const promote_state_names[] = {
	[PROMOTE_OFF] = "off",
	[PROMOTE_REBUILDING] = "rebuilding",
	[PROMOTE_BEHIND] = "behind",
	[PROMOTE_LIVE] = "live",
};

static void	promote_read(struct promote *);
static void	promote_behind(struct promote *);
static struct eid promote_after(struct eid);
static void	promote_config(const struct config *, struct synth_config *);

/* b is the literal s (its length known where it is used: no strlen). */
#define promote_bytes_is(b, s)						\
	((b).len == sizeof(s) - 1 && memcmp((b).ptr, (s), sizeof(s) - 1) == 0)

/* The router's own record of a promotion. */
static bool
promote_is_record(const struct es_event *ev)
{
	return (ev->pattern.len > 0 && promote_bytes_is(ev->kind, PROMOTE_KIND) &&
	    promote_bytes_is(ev->to, PROMOTE_TRACT));
}

static struct synth_bytes
promote_sb(struct es_bytes b)
{
	struct synth_bytes	s = { b.ptr, b.len };

	return (s);
}

/* The synth's view of ev; a "candidate" not on $candidates is not one. */
static void
promote_view(const struct es_event *ev, struct synth_event *se)
{
	static const struct synth_bytes	none = { NULL, 0 };

	se->eid.ms = ev->eid.ms;
	se->eid.seq = ev->eid.seq;
	se->ts_us = ev->ts_us;
	se->from = promote_sb(ev->from);
	se->to = promote_sb(ev->to);
	se->kind = promote_sb(ev->kind);
	if (promote_bytes_is(ev->kind, PROMOTE_KIND) && !promote_is_record(ev))
		se->kind = none;
	se->agent = promote_sb(ev->agent);
	se->session = promote_sb(ev->session);
	se->model = promote_sb(ev->model);
	se->pattern = promote_sb(ev->pattern);
	se->label_hash = NULL;
}

static char **
promote_strs(const struct synth_bytes *v, size_t n)
{
	char	**out = xcalloc(n == 0 ? 1 : n, sizeof(*out));
	size_t	  i;

	for (i = 0; i < n; i++)
		out[i] = xstrndup(v[i].ptr != NULL ? v[i].ptr : "", v[i].len);
	return (out);
}

static struct promote_cand *
promote_cand_new(const struct synth_candidate *sc)
{
	struct promote_cand	*pc = xcalloc(1, sizeof(*pc));

	pc->pattern = xstrndup(sc->pattern.ptr, sc->pattern.len);
	pc->occurrences = sc->occurrences;
	pc->sessions = promote_strs(sc->sessions, sc->nsessions);
	pc->nsessions = sc->nsessions;
	pc->models = promote_strs(sc->models, sc->nmodels);
	pc->nmodels = sc->nmodels;
	pc->first.ms = sc->first_eid.ms;
	pc->first.seq = sc->first_eid.seq;
	pc->last.ms = sc->last_eid.ms;
	pc->last.seq = sc->last_eid.seq;
	return (pc);
}

static void
promote_cand_free(struct promote_cand *pc)
{
	size_t	i;

	for (i = 0; i < pc->nsessions; i++)
		free(pc->sessions[i]);
	for (i = 0; i < pc->nmodels; i++)
		free(pc->models[i]);
	free(pc->sessions);
	free(pc->models);
	free(pc->pattern);
	free(pc);
}

static void
promote_cands_free(struct promote_cands *q)
{
	struct promote_cand	*pc;

	while ((pc = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, pc, entry);
		promote_cand_free(pc);
	}
}

/* Live: publish it from the loop, after the event being logged now. */
static void
promote_found_live(void *arg, const struct synth_candidate *sc)
{
	struct promote		*p = arg;
	struct promote_cand	*pc = promote_cand_new(sc);

	/* Not the call in the macro: it names its element more than once. */
	TAILQ_INSERT_TAIL(&p->ready, pc, entry);
	event_active(p->publish_ev, EV_TIMEOUT, 0);
}

/* Rebuilding: published only if the log has no record of it. */
static void
promote_found_rebuilding(void *arg, const struct synth_candidate *sc)
{
	struct promote		*p = arg;
	struct promote_cand	*pc = promote_cand_new(sc);

	TAILQ_INSERT_TAIL(&p->unmatched, pc, entry);
}

/* The record of pattern was read: it was published before. */
static void
promote_matched(struct promote *p, struct es_bytes pattern)
{
	struct promote_cand	*pc, *next;

	for (pc = TAILQ_FIRST(&p->unmatched); pc != NULL; pc = next) {
		next = TAILQ_NEXT(pc, entry);
		if (strlen(pc->pattern) == pattern.len &&
		    memcmp(pc->pattern, pattern.ptr, pattern.len) == 0) {
			TAILQ_REMOVE(&p->unmatched, pc, entry);
			promote_cand_free(pc);
		}
	}
}

/*
 * Snapshots. Taken from the loop when synth_snapshot_events events were
 * fed since the last, and only while nothing is in between the synth and
 * the log (no promotion waiting to be published, no webhook POST
 * unanswered): the log after the snapshot's eid then holds everything a
 * restart needs. A snapshot that cannot be written is retried at the next
 * count; a restart with none, or an unusable one, replays the whole log.
 */
static void
promote_snapshot_due(struct promote *p)
{
	uint64_t	every = server_config(p->srv)->synth_snapshot_events;

	if (every == 0 || p->since_snapshot < every || p->snapshot_out ||
	    p->state != PROMOTE_LIVE || p->no_store)
		return;
	event_active(p->snapshot_ev, EV_TIMEOUT, 0);
}

static void
promote_saved(void *arg, int status, const void *val, size_t len)
{
	struct promote	*p = arg;

	(void)val;
	(void)len;
	p->snapshot_out = false;
	if (status != 0 && !p->closing)
		log_debug("synth", "snapshot_failed", "%s", "retry=next");
}

static void
promote_snapshot_cb(evutil_socket_t fd, short what, void *arg)
{
	struct promote	*p = arg;
	msgpack_sbuffer	 state, sb;
	msgpack_packer	 pk;
	char		 eid[EID_STR_MAX];

	(void)fd;
	(void)what;
	if (p->snapshot_out || !TAILQ_EMPTY(&p->ready) || p->posts_out > 0 ||
	    p->state != PROMOTE_LIVE)
		return;		/* the next event tries again */
	msgpack_sbuffer_init(&state);
	msgpack_sbuffer_init(&sb);
	xcheck(synth_snapshot(p->synth, &state), state.size);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	wire_pack_cstr(&pk, "v");
	msgpack_pack_uint32(&pk, PROMOTE_SNAPSHOT_V);
	wire_pack_cstr(&pk, "eid");
	eid_format(&p->last_fed, eid);
	wire_pack_cstr(&pk, eid);
	wire_pack_cstr(&pk, "synth");
	msgpack_pack_bin(&pk, state.size);
	msgpack_pack_bin_body(&pk, state.data, state.size);
	xcheck(sb.data == NULL ? -1 : 0, sb.size);
	if (es_kv_set(server_es(p->srv), PROMOTE_SNAPSHOT_NAME, sb.data,
	    sb.size, promote_saved, p) == ES_PENDING) {
		p->snapshot_out = true;
		p->since_snapshot = 0;
		log_debug("synth", "snapshot", "eid=%s bytes=%zu", eid,
		    sb.size);
	}
	msgpack_sbuffer_destroy(&state);
	msgpack_sbuffer_destroy(&sb);
}

/* The stored snapshot's state, if it is one of ours for this config. */
static bool
promote_restore(struct promote *p, const void *val, size_t len)
{
	const msgpack_object	*v, *eidv, *st;
	struct synth_config	 sc;
	struct synth		*sy;
	msgpack_unpacked	 u;
	struct eid		 eid;
	bool			 ok = false;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, val, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
	    u.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	v = wire_map_get(&u.data, "v");
	eidv = wire_map_get(&u.data, "eid");
	st = wire_map_get(&u.data, "synth");
	if (v == NULL || v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    v->via.u64 != PROMOTE_SNAPSHOT_V || eidv == NULL ||
	    eidv->type != MSGPACK_OBJECT_STR || st == NULL ||
	    st->type != MSGPACK_OBJECT_BIN ||
	    eid_parse(eidv->via.str.ptr, eidv->via.str.size, 0, &eid) == -1)
		goto out;
	promote_config(server_config(p->srv), &sc);
	if ((sy = synth_restore(&sc, st->via.bin.ptr, st->via.bin.size)) ==
	    NULL)
		goto out;
	synth_free(p->synth);
	p->synth = sy;
	p->last_fed = eid;
	p->next = promote_after(eid);
	log_info("synth", "snapshot_loaded", "eid=%.*s bytes=%zu",
	    (int)eidv->via.str.size, eidv->via.str.ptr, len);
	ok = true;
out:
	msgpack_unpacked_destroy(&u);
	return (ok);
}

static void
promote_loaded(void *arg, int status, const void *val, size_t len)
{
	struct promote	*p = arg;

	p->reading = false;
	if (status != 0) {
		if (!server_draining(p->srv))
			promote_behind(p);
		return;
	}
	p->loaded = true;
	if (val != NULL && !promote_restore(p, val, len))
		log_warn("synth", "snapshot_unused", "why=\"another "
		    "configuration, or not a snapshot: the whole log is "
		    "read\"");
	clock_read();
	promote_read(p);
}

/* Asks the store for a snapshot; the rebuild reads on from it. */
static bool
promote_load(struct promote *p)
{
	int	rc;

	rc = es_kv_get(server_es(p->srv), PROMOTE_SNAPSHOT_NAME,
	    promote_loaded, p);
	if (rc == ES_PENDING) {
		p->reading = true;
		return (true);
	}
	if (errno == ENOTSUP) {		/* the memory log: nothing kept */
		p->loaded = true;
		p->no_store = true;
		return (false);
	}
	promote_behind(p);
	return (true);
}

/*
 * The candidates stream (SPEC: <prefix>candidates): each candidate record
 * is copied there too, one at a time in log order, with its own id (a
 * copy already there answers "equal or smaller": done). What cannot be
 * written now waits, bounded, for the link (promote_log_up); the records
 * read by a rebuild are queued again, so a copy missed before a restart is
 * written then (if it is newer than the stream's last).
 */
static void	promote_mirror_next(struct promote *);

static void
promote_mirrored(void *arg, int status, const void *val, size_t len)
{
	struct promote	*p = arg;

	(void)val;
	(void)len;
	p->mirror_out = false;
	if (status != 0) {
		/* Kept, and tried again soon (or when the log is up). */
		if (!p->closing)
			clock_timer_ms(p->retry_ev, PROMOTE_RETRY_MS);
		return;
	}
	es_event_unref(p->mirror[0]);
	memmove(&p->mirror[0], &p->mirror[1], (p->nmirror - 1) *
	    sizeof(p->mirror[0]));
	p->nmirror--;
	if (!p->closing)
		promote_mirror_next(p);
}

static void
promote_mirror_next(struct promote *p)
{
	if (p->mirror_out || p->nmirror == 0)
		return;
	if (es_mirror(server_es(p->srv), PROMOTE_STREAM, p->mirror[0],
	    promote_mirrored, p) == ES_PENDING) {
		p->mirror_out = true;
		return;
	}
	if (errno == ENOTSUP) {		/* the memory log: one log holds it */
		while (p->nmirror > 0)
			es_event_unref(p->mirror[--p->nmirror]);
	} else if (!p->closing)
		clock_timer_ms(p->retry_ev, PROMOTE_RETRY_MS);
}

static void
promote_mirror(struct promote *p, const struct es_event *ev)
{
	struct es_event	*copy;

	if (p->nmirror == PROMOTE_MIRROR_MAX ||
	    (copy = es_event_new(ev)) == NULL) {
		p->mirror_dropped++;
		return;
	}
	p->mirror[p->nmirror++] = copy;
	promote_mirror_next(p);
}

/* A candidate record, kept for the figures (newest PROMOTE_RECENT). */
static void
promote_remember(struct promote *p, const struct es_event *ev)
{
	struct promote_recent	*r = &p->recent[p->recent_next];

	free(r->pattern);
	free(r->body);
	r->pattern = xstrndup(ev->pattern.ptr, ev->pattern.len);
	eid_format(&ev->eid, r->eid);
	r->ts_us = ev->ts_us;
	r->len = ev->body.len;
	r->body = xmalloc(r->len == 0 ? 1 : r->len);
	if (r->len > 0)
		memcpy(r->body, ev->body.ptr, r->len);
	p->recent_next = (p->recent_next + 1) % PROMOTE_RECENT;
	if (p->nrecent < PROMOTE_RECENT)
		p->nrecent++;
}

size_t
promote_recent(const struct promote *p, const struct promote_recent **out,
    size_t max)
{
	size_t		n = 0;
	unsigned	i;

	if (p == NULL)
		return (0);
	for (; n < p->nrecent && n < max; n++) {
		i = (p->recent_next + PROMOTE_RECENT - 1 - (unsigned)n) %
		    PROMOTE_RECENT;
		out[n] = &p->recent[i];
	}
	return (n);
}

static void
promote_feed_one(struct promote *p, const struct es_event *ev,
    const uint64_t *label_hash, synth_promote_fn *fn)
{
	struct synth_event	se;

	if (promote_is_record(ev)) {
		promote_remember(p, ev);
		promote_mirror(p, ev);
	}
	p->last_fed = ev->eid;
	p->since_snapshot++;
	promote_view(ev, &se);
	se.label_hash = label_hash;
	/* The router's allocation policy: out of memory is a sizing bug. */
	xcheck(synth_feed(p->synth, &se, fn, p), 0);
}

void
promote_feed(struct promote *p, const struct es_event *ev,
    const uint64_t *label_hash)
{
	if (p == NULL || p->state != PROMOTE_LIVE)
		return;		/* a rebuild reads it from the log later */
	promote_feed_one(p, ev, label_hash, promote_found_live);
	if (p->since_snapshot >= server_config(p->srv)->synth_snapshot_events)
		promote_snapshot_due(p);
}

/* The body of a candidate msg: what promoted it. */
static void
promote_body(const struct promote_cand *pc, msgpack_sbuffer *sb)
{
	msgpack_packer	pk;
	char		eid[EID_STR_MAX];
	size_t		i;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	wire_pack_cstr(&pk, "occurrences");
	msgpack_pack_uint64(&pk, pc->occurrences);
	wire_pack_cstr(&pk, "sessions");
	msgpack_pack_array(&pk, pc->nsessions);
	for (i = 0; i < pc->nsessions; i++)
		wire_pack_cstr(&pk, pc->sessions[i]);
	wire_pack_cstr(&pk, "models");
	msgpack_pack_array(&pk, pc->nmodels);
	for (i = 0; i < pc->nmodels; i++)
		wire_pack_cstr(&pk, pc->models[i]);
	wire_pack_cstr(&pk, "first_eid");
	eid_format(&pc->first, eid);
	wire_pack_cstr(&pk, eid);
	wire_pack_cstr(&pk, "last_eid");
	eid_format(&pc->last, eid);
	wire_pack_cstr(&pk, eid);
}

/* Appends b's pairs to the JSON object being written (after a pair). */
static int
promote_json_pairs(struct json_buf *b, const msgpack_object *map)
{
	const msgpack_object_kv	*kv;
	uint32_t		 i;

	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    json_buf_add(b, ",", 1) == -1 ||
		    json_put_bytes(b, kv->key.via.str.ptr,
		    kv->key.via.str.size) == -1 ||
		    json_buf_add(b, ":", 1) == -1 ||
		    json_render(b, &kv->val) == -1)
			return (-1);
	}
	return (0);
}

/*
 * The webhook's JSON for a candidate record (SPEC): pattern, occurrences,
 * sessions, models, first_eid, last_eid from its body, and the record's
 * eid (a receiver drops repeats by it: delivery is at least once) and ts
 * (unix microseconds). NULL when the body is not the router's map.
 */
static char *
promote_json(struct es_bytes pattern, const char *eid, int64_t ts_us,
    const void *body, size_t blen, size_t *len)
{
	msgpack_unpacked	 u;
	struct json_buf		 b;
	char			 ts[32];
	int			 rc = -1;

	json_buf_init(&b);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, blen, NULL) ==
	    MSGPACK_UNPACK_SUCCESS && u.data.type == MSGPACK_OBJECT_MAP) {
		snprintf(ts, sizeof ts, ",\"ts\":%lld}", (long long)ts_us);
		rc = json_buf_add(&b, "{\"pattern\":", 11);
		if (rc == 0)
			rc = json_put_bytes(&b, pattern.ptr, pattern.len);
		if (rc == 0)
			rc = promote_json_pairs(&b, &u.data);
		if (rc == 0)
			rc = json_buf_add(&b, ",\"eid\":", 7);
		if (rc == 0)
			rc = json_put_bytes(&b, eid, strlen(eid));
		if (rc == 0)
			rc = json_buf_add(&b, ts, strlen(ts));
	}
	msgpack_unpacked_destroy(&u);
	if (rc == -1) {
		json_buf_free(&b);
		return (NULL);
	}
	*len = b.len;
	return (b.data);
}

static void
promote_note_free(struct promote_note *n)
{
	free(n->pattern);
	free(n->json);
	free(n);
}

/* The webhook's outcome, logged: a restart then owes nothing for it. */
static void
promote_record_outcome(struct promote *p, const char *pattern, int status,
    long code, unsigned attempts)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	wire_pack_cstr(&pk, "http_code");
	msgpack_pack_long(&pk, code);
	wire_pack_cstr(&pk, "attempts");
	msgpack_pack_unsigned_int(&pk, attempts);
	xcheck(sb.data == NULL ? -1 : 0, sb.size);
	(void)pub_system(p->srv, PROMOTE_TRACT, status == 0 ?
	    PROMOTE_KIND_SENT : PROMOTE_KIND_UNSENT, pattern, sb.data, sb.size,
	    true, NULL);
	msgpack_sbuffer_destroy(&sb);
}

/* Exactly once per post; with -1 from webhook_free when closing. */
static void
promote_notified(void *arg, int status, long code, unsigned attempts)
{
	struct promote_note	*n = arg;
	struct promote		*p = n->p;

	p->posts_out--;
	if (!p->closing) {
		clock_read();
		if (status == 0)
			log_info("synth", "webhook_delivered", "pattern=%s "
			    "attempts=%u http_code=%ld", n->pattern, attempts,
			    code);
		else
			log_warn("synth", "webhook_failed", "pattern=%s "
			    "attempts=%u http_code=%ld", n->pattern, attempts,
			    code);
		promote_record_outcome(p, n->pattern, status, code, attempts);
	}
	promote_note_free(n);
}

/* Posts n's JSON (the webhook copies it); n is the callback's. */
static void
promote_notify(struct promote *p, struct promote_note *n)
{
	n->p = p;
	p->posts_out++;
	if (webhook_post(p->hook, n->json, n->len, promote_notified, n) ==
	    -1) {
		p->posts_out--;
		log_warn("synth", "webhook_refused", "pattern=%s why=\"%s\"",
		    n->pattern, strerror(errno));
		promote_note_free(n);
		return;
	}
	free(n->json);
	n->json = NULL;
}

static struct promote_note *
promote_note_new(struct es_bytes pattern, const char *eid, int64_t ts_us,
    const void *body, size_t blen)
{
	struct promote_note	*n;
	char			*json;
	size_t			 len;

	if ((json = promote_json(pattern, eid, ts_us, body, blen, &len)) ==
	    NULL)
		return (NULL);
	n = xcalloc(1, sizeof(*n));
	n->pattern = xstrndup(pattern.ptr, pattern.len);
	n->json = json;
	n->len = len;
	return (n);
}

/* Rebuilding: what the log says was posted, and what was answered. */
static void
promote_track_owed(struct promote *p, const struct es_event *ev)
{
	struct promote_note	*n, *next;
	char			 eid[EID_STR_MAX];

	if (p->hook == NULL || !promote_bytes_is(ev->to, PROMOTE_TRACT) ||
	    ev->pattern.len == 0)
		return;
	if (promote_bytes_is(ev->kind, PROMOTE_KIND)) {
		eid_format(&ev->eid, eid);
		if ((n = promote_note_new(ev->pattern, eid, ev->ts_us,
		    ev->body.ptr, ev->body.len)) != NULL)
			TAILQ_INSERT_TAIL(&p->owed, n, entry);
		return;
	}
	if (!promote_bytes_is(ev->kind, PROMOTE_KIND_SENT) &&
	    !promote_bytes_is(ev->kind, PROMOTE_KIND_UNSENT))
		return;
	for (n = TAILQ_FIRST(&p->owed); n != NULL; n = next) {
		next = TAILQ_NEXT(n, entry);
		if (strlen(n->pattern) == ev->pattern.len &&
		    memcmp(n->pattern, ev->pattern.ptr, ev->pattern.len) == 0) {
			TAILQ_REMOVE(&p->owed, n, entry);
			promote_note_free(n);
		}
	}
}

static void
promote_publish(struct promote *p, struct promote_cand *pc)
{
	struct promote_note	*n;
	struct es_bytes		 pattern;
	msgpack_sbuffer		 sb;
	enum pub_status		 st;
	char			 eid[EID_STR_MAX];

	msgpack_sbuffer_init(&sb);
	promote_body(pc, &sb);
	xcheck(sb.data == NULL ? -1 : 0, sb.size);
	st = pub_system(p->srv, PROMOTE_TRACT, PROMOTE_KIND, pc->pattern,
	    sb.data, sb.size, true, eid);
	if (st == PUB_REFUSED) {
		msgpack_sbuffer_destroy(&sb);
		log_error("synth", "promote_refused", "pattern=%s",
		    pc->pattern);
		return;
	}
	pattern.ptr = pc->pattern;
	pattern.len = (uint32_t)strlen(pc->pattern);
	/* The wall clock pub_system stamped the record with. */
	if (p->hook != NULL && (n = promote_note_new(pattern, eid,
	    clock_wall_us(), sb.data, sb.size)) != NULL)
		promote_notify(p, n);
	msgpack_sbuffer_destroy(&sb);
	p->published++;
	log_info("synth", "promoted", "pattern=%s occurrences=%llu "
	    "sessions=%zu models=%zu", pc->pattern,
	    (unsigned long long)pc->occurrences, pc->nsessions, pc->nmodels);
}

static void
promote_publish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct promote		*p = arg;
	struct promote_cand	*pc;

	(void)fd;
	(void)what;
	clock_read();
	while ((pc = TAILQ_FIRST(&p->ready)) != NULL) {
		TAILQ_REMOVE(&p->ready, pc, entry);
		promote_publish(p, pc);
		promote_cand_free(pc);
	}
}

/* The log's end is reached: live from now on. */
static void
promote_caught_up(struct promote *p)
{
	struct promote_cand	*pc;
	struct promote_note	*n;

	p->state = PROMOTE_LIVE;
	promote_snapshot_due(p);
	log_info("synth", "rebuilt", "events=%llu ms=%lld unpublished=%s",
	    (unsigned long long)p->rebuilt,
	    (long long)((clock_mono_now_us() - p->started_us) / 1000),
	    TAILQ_EMPTY(&p->unmatched) ? "0" : "some");
	while ((pc = TAILQ_FIRST(&p->unmatched)) != NULL) {
		TAILQ_REMOVE(&p->unmatched, pc, entry);
		TAILQ_INSERT_TAIL(&p->ready, pc, entry);
	}
	/* Posted before, never answered (a stop in between): again. */
	while ((n = TAILQ_FIRST(&p->owed)) != NULL) {
		TAILQ_REMOVE(&p->owed, n, entry);
		log_info("synth", "webhook_again", "pattern=%s", n->pattern);
		promote_notify(p, n);
	}
	if (!TAILQ_EMPTY(&p->ready))
		event_active(p->publish_ev, EV_TIMEOUT, 0);
}

/*
 * The log cannot be read now (its link is not up yet, or Redis is away):
 * try again soon. Live events are not fed meanwhile; the rebuild reads
 * them from the log when it goes on, in order.
 */
static void
promote_behind(struct promote *p)
{
	if (p->state != PROMOTE_BEHIND && !p->waiting_start)
		log_warn("synth", "behind", "events=%llu why=\"the event log "
		    "cannot be read; the rebuild goes on when it can\"",
		    (unsigned long long)p->rebuilt);
	p->state = PROMOTE_BEHIND;
	clock_timer_ms(p->retry_ev, PROMOTE_RETRY_MS);
}

static void
promote_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	promote_log_up(arg);
}

static struct eid
promote_after(struct eid e)
{
	if (e.seq == UINT64_MAX) {
		e.ms++;
		e.seq = 0;
	} else
		e.seq++;
	return (e);
}

/* Feeds a page; returns true when it was the last (the end is reached). */
static bool
promote_page(struct promote *p, struct es_event **evs,
    const struct es_read_result *res)
{
	size_t	i;

	for (i = 0; i < res->n; i++) {
		if (promote_is_record(evs[i]))
			promote_matched(p, evs[i]->pattern);
		promote_track_owed(p, evs[i]);
		promote_feed_one(p, evs[i], NULL, promote_found_rebuilding);
		es_event_unref(evs[i]);
	}
	p->rebuilt += res->n;
	if (res->examined > 0)
		p->next = promote_after(res->last);
	if (res->examined < PROMOTE_PAGE) {
		promote_caught_up(p);
		return (true);
	}
	return (false);
}

static void
promote_read_cb(void *arg, struct es_event **evs,
    const struct es_read_result *res, int status)
{
	struct promote	*p = arg;

	p->reading = false;
	if (status != 0) {
		if (!server_draining(p->srv))
			promote_behind(p);
		return;
	}
	clock_read();
	if (!promote_page(p, evs, res))
		promote_read(p);
}

static void
promote_read_later_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	promote_read(arg);
}

/* Reads on from p->next; a few pages now, then from the loop. */
static void
promote_read(struct promote *p)
{
	struct es_read_result	res;
	struct es_query		q;
	unsigned		pages;
	int			rc;

	if (!p->loaded && promote_load(p))
		return;
	memset(&q, 0, sizeof(q));
	q.to.ms = q.to.seq = UINT64_MAX;
	q.max = PROMOTE_PAGE;
	for (pages = 0; pages < PROMOTE_PAGES_PER_PASS; pages++) {
		q.from = p->next;
		rc = es_read(server_es(p->srv), &q, p->page, &res,
		    promote_read_cb, p);
		if (rc == ES_PENDING) {
			p->reading = true;
			return;
		}
		if (rc == -1) {
			promote_behind(p);
			return;
		}
		if (promote_page(p, p->page, &res))
			return;
	}
	clock_later(p->read_ev);
}

static void
promote_config(const struct config *cfg, struct synth_config *sc)
{
	synth_config_default(sc);
	sc->window = cfg->synth_window;
	sc->balance_threshold = cfg->balance_threshold;
	sc->promote_occurrences = cfg->promote_occurrences;
	sc->promote_sessions = cfg->promote_sessions;
	sc->promote_models = cfg->promote_models;
	sc->max_pairs = cfg->synth_max_pairs;
	sc->max_patterns = cfg->synth_max_patterns;
}

/* The webhook of cfg, or NULL; -1 when it cannot be made (exit 64). */
static int
promote_hook(struct promote *p, const struct config *cfg, char **cause)
{
	struct webhook_config	wc;

	if (cfg->webhook == NULL)
		return (0);
	memset(&wc, 0, sizeof(wc));	/* zeros: the webhook's defaults */
	wc.url = cfg->webhook;
	wc.retries = cfg->webhook_retries;
	if ((p->hook = webhook_new(server_base(p->srv), &wc, cause)) == NULL)
		return (-1);
	return (0);
}

struct promote *
promote_new(struct server *srv, char **cause)
{
	struct synth_config	 sc;
	struct promote		*p;

	if (!server_config(srv)->synth_enabled)
		return (NULL);
	p = xcalloc(1, sizeof(*p));
	p->srv = srv;
	TAILQ_INIT(&p->ready);
	TAILQ_INIT(&p->unmatched);
	TAILQ_INIT(&p->owed);
	if (promote_hook(p, server_config(srv), cause) == -1) {
		free(p);
		return (NULL);
	}
	promote_config(server_config(srv), &sc);
	/* config.c bounds every key within synth_config_check's ranges. */
	if ((p->synth = synth_new(&sc)) == NULL)
		xcheck(-1, sizeof(struct synth_config));
	p->publish_ev = event_new(server_base(srv), -1, 0, promote_publish_cb,
	    p);
	p->read_ev = event_new(server_base(srv), -1, 0, promote_read_later_cb,
	    p);
	p->retry_ev = evtimer_new(server_base(srv), promote_retry_cb, p);
	p->snapshot_ev = event_new(server_base(srv), -1, 0,
	    promote_snapshot_cb, p);
	if (p->publish_ev == NULL || p->read_ev == NULL ||
	    p->retry_ev == NULL || p->snapshot_ev == NULL)
		xcheck(-1, 0);
	p->state = PROMOTE_REBUILDING;
	p->started_us = clock_mono_now_us();
	promote_read(p);
	return (p);
}

/*
 * Before the socket exists. A log that is reachable but not readable yet
 * (Redis' link comes up after es_open) is waited for a while; one in
 * fallback is not: the router starts, and the rebuild goes on later.
 */
void
promote_wait_rebuilt(struct promote *p)
{
	int64_t	deadline;

	if (p == NULL)
		return;
	deadline = clock_mono_now_us() + PROMOTE_START_WAIT_MS * 1000;
	p->waiting_start = true;
	while (!server_draining(p->srv) && (p->state == PROMOTE_REBUILDING ||
	    (p->state == PROMOTE_BEHIND &&
	    es_get_state(server_es(p->srv)) != ES_STATE_FALLBACK &&
	    clock_mono_now_us() < deadline)))
		event_base_loop(server_base(p->srv), EVLOOP_ONCE);
	p->waiting_start = false;
	if (p->state == PROMOTE_BEHIND)
		log_warn("synth", "behind", "events=%llu why=\"the event log "
		    "cannot be read; the rebuild goes on when it can\"",
		    (unsigned long long)p->rebuilt);
}

void
promote_log_up(struct promote *p)
{
	if (p == NULL)
		return;
	promote_mirror_next(p);
	if (p->state != PROMOTE_BEHIND || p->reading)
		return;
	p->state = PROMOTE_REBUILDING;
	promote_read(p);
}

enum promote_state
promote_state(const struct promote *p)
{
	return (p == NULL ? PROMOTE_OFF : p->state);
}

const char *
promote_state_name(enum promote_state st)
{
	return (promote_state_names[st]);
}

void
promote_webhook_stats(const struct promote *p, struct webhook_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (p != NULL && p->hook != NULL)
		webhook_get_stats(p->hook, st);
}

bool
promote_has_webhook(const struct promote *p)
{
	return (p != NULL && p->hook != NULL);
}

const struct synth *
promote_synth(const struct promote *p)
{
	return (p == NULL ? NULL : p->synth);
}

uint64_t
promote_published(const struct promote *p)
{
	return (p == NULL ? 0 : p->published);
}

void
promote_free(struct promote *p)
{
	struct promote_note	*n;
	unsigned		 i;

	if (p == NULL)
		return;
	/* Owed and unanswered posts stay owed: the log says so at restart. */
	p->closing = true;
	webhook_free(p->hook);
	while (p->nmirror > 0)
		es_event_unref(p->mirror[--p->nmirror]);
	while ((n = TAILQ_FIRST(&p->owed)) != NULL) {
		TAILQ_REMOVE(&p->owed, n, entry);
		promote_note_free(n);
	}
	for (i = 0; i < PROMOTE_RECENT; i++) {
		free(p->recent[i].pattern);
		free(p->recent[i].body);
	}
	promote_cands_free(&p->ready);
	promote_cands_free(&p->unmatched);
	if (p->publish_ev != NULL)
		event_free(p->publish_ev);
	if (p->read_ev != NULL)
		event_free(p->read_ev);
	if (p->retry_ev != NULL)
		event_free(p->retry_ev);
	if (p->snapshot_ev != NULL)
		event_free(p->snapshot_ev);
	synth_free(p->synth);
	free(p);
}
