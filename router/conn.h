/*
 * conn: one client connection: its socket, the frame reader, its output
 * (outq), its subscriptions, the replies it waits to send and the reasons
 * its reading is paused.
 *
 * The struct is public for reading; only conn.c writes its fields (the
 * list entry wait_entry belongs to tract.c, which links parked publishers
 * through it).
 */
#ifndef CALLOSUM_CONN_H
#define CALLOSUM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "router/lib/wire.h"

struct htab;
struct msg;
struct outq;
struct server;
struct sub;
struct tract;

/* Why reading is paused: one bit per reason, resumed at mask zero. */
#define CONN_PAUSE_TRACT_FULL	0x01	/* a pub waits for a block sub */
#define CONN_PAUSE_OUTPUT	0x02	/* our replies are not being read */
#define CONN_PAUSE_HOLDS	0x04	/* too many replies wait for the log */

#define CONN_HELLO		0x01	/* hello accepted */
#define CONN_CLOSING		0x02	/* unlinked, flushing, then freed */
#define CONN_DOOMED		0x04	/* close requested: output dropped */
#define CONN_EOF		0x08	/* peer shut its side: close when done */
#define CONN_DIRTY		0x10	/* on the dirty list */
#define CONN_GONE		0x20	/* freed, memory kept for references */
#define CONN_CUT		0x40	/* closing: unsent output dropped */
#define CONN_BYE_QUEUED		0x80	/* the bye is in the output */
#define CONN_DRAINING		0x100	/* the router drains: no new work */

#define CONN_FLUSH_MS		1000	/* closing: time to flush output */

/*
 * Something (a sub's pump) waiting for the connection's output to drain:
 * conn.c's struct, embedded in the waiter, which it activates.
 */
struct conn_waiter {
	TAILQ_ENTRY(conn_waiter)	 entry;
	struct event			*ev;
	bool				 on;
};

/* A waiter that activates ev (the owner's pump) when woken. */
static inline void
conn_waiter_init(struct conn_waiter *w, struct event *ev)
{
	w->ev = ev;
	w->on = false;
}

struct conn {
	uint64_t		 id;
	struct server		*srv;
	int			 fd;
	unsigned		 refs;		/* work that completes later */
	struct event		 read_ev;	/* EV_READ|EV_PERSIST, while reading */
	struct event		 write_ev;	/* while the output waits */
	/* Input: frames are handled in place; [0, ilen) holds what is unread. */
	char			*ibuf;
	size_t			 ilen;
	size_t			 icap;
	bool			 frame_timing;	/* frame_timer runs */
	bool			 holding;	/* a reply slot is held */
	struct outq		*oq;
	TAILQ_ENTRY(conn)	 dirty_entry;	/* output to flush */
	TAILQ_HEAD(, conn_waiter) out_waiters;	/* pumps stopped by output */
	uid_t			 uid;
	pid_t			 pid;
	int			 flags;
	int			 pause;
	char			*agent;
	char			*session;	/* "" when hello had none */
	char			*model;
	char			*home;		/* hello tract, or NULL */
	uint32_t		 agent_len;
	uint32_t		 session_len;
	uint32_t		 model_len;
	uint64_t		 label_hash[3];	/* agent, session, model */
	uint32_t		 home_len;
	struct tract		*last_to;	/* the last pub's tract: a cache */
	struct htab		*subs;		/* sid -> struct sub */

	/* A pub parked on a full tract: its frame stays in the input. */
	struct tract		*waiting_on;
	TAILQ_ENTRY(conn)	 wait_entry;	/* tract.c's */
	bool			 pub_timed_out;	/* answer it: backpressure */
	bool			 pub_trial;	/* it holds a half-open trial */
	int64_t			 pub_deadline_us; /* monotonic; 0: none */
	struct event		 publish_timer;

	struct event		 handshake_timer;
	struct event		 frame_timer;	/* a begun frame must complete */
	struct event		 resume_ev;	/* re-process buffered input */
	struct event		 close_ev;	/* close requested mid-fan-out */
	struct event		 free_ev;	/* free late, from the loop */
	struct event		 flush_timer;	/* closing: flush deadline */
	const char		*close_reason;
	const char		*bye;		/* closing: bye still to send */
	TAILQ_ENTRY(conn)	 entry;		/* server.c's: its list */
};

/* Creates the loop state connections share (the batched flush). */
void		 conn_loop_init(struct event_base *);
void		 conn_loop_free(void);

/* Takes fd (an accepted socket); the new conn waits for hello. */
struct conn	*conn_new(struct server *, int fd, uid_t uid, pid_t pid);
/*
 * Stops the connection now: no more reads or fan-out to it. When bye is
 * non-NULL a bye frame with that reason follows what is already queued;
 * what does not drain by flush_ms is dropped (outq_cut) so that the bye
 * still goes out; then the conn is freed from the loop. why (a word:
 * eof, bad_frame, output_limit, ...) goes in its log line. Safe to call
 * twice.
 */
void		 conn_close(struct conn *, const char *bye, const char *why,
		    unsigned flush_ms);
/* Frees a closed conn now (exit path; otherwise the loop frees it). */
void		 conn_free(struct conn *);
/* Like conn_close() but from the loop's next pass: safe mid-fan-out. */
void		 conn_close_later(struct conn *, const char *reason);

/*
 * References for work that completes later (an append the log settles):
 * the memory stays valid until the last conn_unref, even after the
 * connection is closed and freed (then CONN_GONE is set, and the work's
 * outcome is dropped).
 */
struct conn	*conn_ref(struct conn *);
void		 conn_unref(struct conn *);

/* hello: the identity every pub of c carries. Strings are copied. */
void		 conn_set_identity(struct conn *, const struct wire_req *);
/* The tract of c's last pub (a lookup cache), and setting it. */
struct tract	*conn_last_to(const struct conn *);
void		 conn_set_last_to(struct conn *, struct tract *);

/* Subscriptions by sid. */
struct sub	*conn_find_sub(struct conn *, uint64_t sid);
void		 conn_add_sub(struct conn *, struct sub *, uint64_t sid);
void		 conn_remove_sub(struct conn *, struct sub *, uint64_t sid);
size_t		 conn_nsubs(const struct conn *);

void		 conn_pause(struct conn *, int why);
void		 conn_resume(struct conn *, int why);
/*
 * Parks c's current pub on t: reading pauses until t has room or
 * publish_timeout_ms passes (then c->pub_timed_out is set and c resumes).
 * trial: the pub holds one of t's half-open trials (given back if c goes
 * away before it is answered).
 */
void		 conn_start_publish_wait(struct conn *, struct tract *,
		    bool trial);
/* When the pub at the head of the input arrived (mono us): parked or not. */
int64_t		 conn_publish_start_us(const struct conn *);
/* The parked pub was answered: stop its timer. */
void		 conn_end_publish_wait(struct conn *);
/* True while the pub at the head of the input has been parked before. */
static inline bool
conn_publish_waiting(const struct conn *c)
{
	return (c->pub_deadline_us != 0);
}
/* t, on which c was parked, has room: c re-reads its pub (tract.c). */
void		 conn_wake_publisher(struct conn *);

/*
 * Output. Every frame goes through the connection's outq, in the order
 * produced; replies held for a later outcome keep their place.
 */
void		 conn_send_frame(struct conn *, const void *frame, size_t len);
void		 conn_send_err(struct conn *, bool has_id, uint64_t id,
		    enum wire_code, const char *msg);
void		 conn_send_ack(struct conn *, bool has_id, uint64_t id);
void		 conn_send_ack_pub(struct conn *, uint64_t id, const char *eid,
		    const char *stored);
void		 conn_send_pong(struct conn *, bool has_id, uint64_t id);
void		 conn_send_lag(struct conn *, uint64_t sid, uint64_t dropped,
		    const char *first, const char *last);
void		 conn_send_end(struct conn *, uint64_t sid);
/* Writes a msg frame for sid, sharing m's tail. */
void		 conn_send_msg(struct conn *, uint64_t sid, struct msg *m);
/* True while a reply waits for the log: deliveries queue meanwhile. */
static inline bool
conn_holding(const struct conn *c)
{
	return (c->holding);
}
/* Reserves the place of a reply known later; returns its handle. */
uint64_t	 conn_reply_hold(struct conn *);
/* Sends the held reply: ack_pub when code is WIRE_OK, else err. */
void		 conn_reply_fill(struct conn *, uint64_t seq, bool has_id,
		    uint64_t id, enum wire_code code, const char *why,
		    const char *eid, const char *stored);
/* Bytes waiting to be written (held ones included). */
size_t		 conn_output_len(struct conn *);
/*
 * True when the output holds more than half of output_limit: a pump that
 * drains a backlog stops there and waits (conn_wait_output) until it has
 * drained to a quarter, so a reader is never closed for a backlog.
 */
bool		 conn_output_full(struct conn *);
void		 conn_wait_output(struct conn *, struct conn_waiter *);
void		 conn_unwait_output(struct conn *, struct conn_waiter *);
/* Writes every dirty connection's batched output (end of a callback). */
void		 conn_flush_dirty(void);
/*
 * The router drains: requests are answered shutting_down (a parked pub
 * too), subs deliver what they were granted, then bye "shutdown"; at
 * drain_ms what is left is cut.
 */
void		 conn_shutdown(struct conn *, unsigned drain_ms);

#endif
