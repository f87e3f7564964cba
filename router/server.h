/*
 * server: the listener, the connection set, signals and the drain. One
 * struct server per process holds what every module shares: the loop, the
 * configuration, the event log, the tract registry and the id generator.
 */
#ifndef CALLOSUM_SERVER_H
#define CALLOSUM_SERVER_H

#include <stdint.h>
#include <sys/queue.h>

#include <msgpack.h>

#include "eventstore/eid.h"
#include "router/lib/wire.h"

struct config;
struct conn;
struct es;
struct event;
struct event_base;
struct evconnlistener;
struct htab;

/* Router-wide counters (per-tract ones live in struct tract). */
struct server_counters {
	uint64_t	conns_accepted;
	uint64_t	conns_refused;		/* max_connections, uids */
	uint64_t	conns_closed_output;	/* output_limit exceeded */
	uint64_t	frames_in;
	uint64_t	bad_frames;
	uint64_t	bad_requests;
	uint64_t	cross_tract;
	uint64_t	backpressure;		/* publish_timeout expiries */
	uint64_t	store_refused;
};

struct server {
	struct event_base	*base;
	const struct config	*cfg;
	struct evconnlistener	*listener;
	struct es		*es;
	struct htab		*tracts;	/* name -> struct tract */
	struct tract		**tract_list;	/* creation order, for welcome */
	size_t			 ntracts;
	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, conn)	 dirty;		/* conns with output to flush */
	struct event		*flush_ev;	/* flushes dirty, lowest priority */
	unsigned		 nconns;
	uint64_t		 next_conn_id;
	int64_t			 now_us;	/* see server_now_us */
	struct eid_gen		 eids;
	struct wire_decoder	 dec;		/* one frame at a time */
	msgpack_sbuffer		 out;		/* reply encoding, reused */
	msgpack_sbuffer		 hdrbuf;	/* pub hdr re-encoding */
	struct event		*sigterm_ev;
	struct event		*sigint_ev;
	struct event		*drain_ev;	/* drain deadline */
	int			 draining;
	char			*sock_path;	/* unlinked at exit */
	struct server_counters	 n;
};

/*
 * Opens the event log, the declared tracts and the listening socket.
 * Returns 0, or -1 with *cause set (a usage error: exit 64).
 */
int		 server_init(struct server *, const struct config *, char **cause);
/* Runs the loop until a signal's drain completes. Returns the exit code. */
int		 server_run(struct server *);
void		 server_free(struct server *);
/* Called by conn when a connection is freed (drain accounting). */
void		 server_conn_gone(struct server *);
/*
 * Runs ev's callback after the loop has next polled the sockets: how a
 * callback that spent its work budget continues without starving others
 * (event_active() would run it again before any socket is read).
 */
void		 server_later(struct event *ev);
/*
 * The stamp of what the router reads now (msg ts): unix microseconds, read
 * once per batch of frames by server_clock_read().
 */
int64_t		 server_now_us(struct server *);
/* Reads the wall clock for server_now_us: once per batch, not per frame. */
void		 server_clock_read(struct server *);
/* A monotonic clock in microseconds, for deadlines. */
int64_t		 server_mono_us(void);

#endif
