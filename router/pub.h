/*
 * pub: the publish pipeline, for clients' pubs and the router's own
 * messages ($sys, $candidates): stamp, check the frame bound, assign the
 * eid, log a cross-tract event, build the shared message, fan out, count.
 *
 * Request checks and parking a publisher on a full tract stay in op.c;
 * this file does what every publish does.
 */
#ifndef CALLOSUM_PUB_H
#define CALLOSUM_PUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eventstore/eid.h"
#include "eventstore/eventstore.h"
#include "router/lib/wire.h"

struct conn;
struct server;
struct tract;
struct pub_ticket;

enum pub_status {
	PUB_DONE = 0,	/* published; res->stored says where it is logged */
	PUB_PENDING,	/* published; the log settles it later (ticket) */
	PUB_REFUSED	/* nothing published: res->code, res->why */
};

struct pub_result {
	char			 eid[EID_STR_MAX];
	enum es_stored		 stored;
	enum wire_code		 code;
	const char		*why;
	struct pub_ticket	*ticket;	/* PUB_PENDING: bind it */
};

/*
 * Publishes *f (borrowed; its eid and ts are set here) into t. It is
 * logged when it is cross-tract, a bframe with a pattern, or log is set.
 * label_hash: the publisher's (conn.h), or NULL. On PUB_PENDING the caller binds res->ticket before it returns to the
 * loop.
 */
enum pub_status	 pub_publish(struct server *, struct tract *,
		    struct wire_msg *f, bool log, const uint64_t *label_hash,
		    struct pub_result *res);
/*
 * Who hears the outcome of a pending publish: c (referenced until then)
 * gets its held reply seq filled, ack or err. c NULL: nobody. start_us:
 * when the pub arrived (clock_mono_us), for the publish latency.
 */
void		 pub_ticket_bind(struct pub_ticket *, struct conn *c,
		    uint64_t seq, bool has_id, uint64_t id, int64_t start_us);
/*
 * The router's own message on tract (a reserved one, created at start):
 * kind, pattern (NULL: none) and body (bin) as given, sent by agent
 * "callosumd", logged when log is set. Returns the status of pub_publish;
 * unless refused, its event id in eid when not NULL.
 */
enum pub_status	 pub_system(struct server *, const char *tract,
		    const char *kind, const char *pattern, const void *body,
		    size_t len, bool log, char eid[EID_STR_MAX]);
/* Frees the ticket pool (at exit, so that leak checks see nothing). */
void		 pub_pool_drain(void);

#endif
