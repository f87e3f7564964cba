/*
 * server: the listener, the connection set, signals and the drain. One
 * struct server per process holds what the modules share: the loop, the
 * configuration, the event log, the tract registry and the id generator.
 * Others read them through the accessors below; only server.c writes them.
 */
#ifndef CALLOSUM_SERVER_H
#define CALLOSUM_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "eventstore/eid.h"
#include "router/lib/wire.h"

struct config;
struct conn;
struct es;
struct es_backend;
struct event;
struct event_base;
struct evconnlistener;
struct http;
struct promote;
struct tract_reg;

TAILQ_HEAD(server_conns, conn);

struct server {
	struct event_base	*base;
	const struct config	*cfg;
	struct evconnlistener	*listener;
	struct event		*accept_timer;	/* accept paused: EMFILE */
	bool			 accept_paused;
	struct es		*es;
	struct http		*http;		/* --http, or NULL */
	struct promote		*promote;	/* the synthesizer, or NULL */
	int			 es_state;	/* the last reported */
	struct tract_reg	*tracts;
	struct server_conns	 conns;		/* via conn->entry: ours */
	unsigned		 nconns;
	uint64_t		 next_conn_id;
	struct eid_gen		 eids;
	struct wire_decoder	 dec;		/* one frame at a time */
	struct event		*sigterm_ev;
	struct event		*sigint_ev;
	struct event		*sighup_ev;
	struct event		*drain_ev;	/* drain deadline */
	int			 draining;
	bool			 flushing;	/* draining: the ring to Redis */
	char			*sock_path;	/* unlinked at exit if ours */
	dev_t			 sock_dev;
	ino_t			 sock_ino;
};

/*
 * Opens the event log (over backend, or the one the config names when
 * NULL), the declared tracts and the listening socket. Returns 0, or -1
 * with *cause set (a usage error: exit 64).
 */
int		 server_init(struct server *, const struct config *,
		    const struct es_backend *backend, char **cause);
/* Runs the loop until a signal's drain completes. Returns the exit code. */
int		 server_run(struct server *);
void		 server_free(struct server *);

/* Accessors, inline: the hot path reads the config and the log per frame. */
static inline struct event_base *
server_base(const struct server *srv)
{
	return (srv->base);
}

static inline const struct config *
server_config(const struct server *srv)
{
	return (srv->cfg);
}

static inline struct es *
server_es(const struct server *srv)
{
	return (srv->es);
}

static inline struct tract_reg *
server_tracts(const struct server *srv)
{
	return (srv->tracts);
}

static inline struct eid_gen *
server_eids(struct server *srv)
{
	return (&srv->eids);
}

static inline struct wire_decoder *
server_decoder(struct server *srv)
{
	return (&srv->dec);
}

static inline bool
server_draining(const struct server *srv)
{
	return (srv->draining != 0);
}

static inline struct promote *
server_promote(const struct server *srv)
{
	return (srv->promote);
}

static inline unsigned
server_nconns(const struct server *srv)
{
	return (srv->nconns);
}

static inline struct server_conns *
server_conn_list(struct server *srv)
{
	return (&srv->conns);
}

/* conn.c: a new connection joins the set; returns its id. */
uint64_t	 server_conn_add(struct server *, struct conn *);
/* conn.c: a connection leaves the set (it is being freed). */
void		 server_conn_remove(struct server *, struct conn *);
/* conn.c: after a free (drain accounting). */
void		 server_conn_gone(struct server *);
/* Starts the drain, as SIGTERM does (tests). */
void		 server_stop(struct server *);

#endif
