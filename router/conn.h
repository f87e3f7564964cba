/*
 * conn: one client connection: its socket, the frame reader, the batched
 * output, its subscriptions and the reasons its reading is paused.
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

struct evbuffer;
struct htab;
struct msg;
struct server;
struct sub;
struct tract;

/* Why reading is paused: one bit per reason, resumed at mask zero. */
#define CONN_PAUSE_TRACT_FULL	0x01	/* a pub waits for a block sub */
#define CONN_PAUSE_OUTPUT	0x02	/* our replies are not being read */

#define CONN_HELLO		0x01	/* hello accepted */
#define CONN_CLOSING		0x02	/* unlinked, flushing, then freed */
#define CONN_DOOMED		0x04	/* close requested: output dropped */
#define CONN_EOF		0x08	/* peer shut its side: close when done */
#define CONN_DIRTY		0x10	/* on srv->dirty */

struct conn {
	uint64_t		 id;
	struct server		*srv;
	int			 fd;
	struct event		 read_ev;	/* EV_READ|EV_PERSIST, while reading */
	struct event		 write_ev;	/* while out holds bytes */
	/* Input: frames are handled in place; [0, ilen) holds what is unread. */
	char			*ibuf;
	size_t			 ilen;
	size_t			 icap;
	/*
	 * Output: frames are appended to wbuf and written once per batch
	 * (conn_flush). What the socket does not take waits in out, which is
	 * always written before wbuf.
	 */
	char			*wbuf;
	size_t			 wlen;
	size_t			 wcap;
	struct evbuffer		*out;
	TAILQ_ENTRY(conn)	 dirty_entry;	/* srv->dirty: wbuf to flush */
	TAILQ_HEAD(, sub)	 out_waiters;	/* pumps stopped by full output */
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
	uint32_t		 home_len;
	struct tract		*last_to;	/* the last pub's tract: a cache */
	struct htab		*subs;		/* sid -> struct sub */

	/* A pub parked on a full tract: its frame stays in the input. */
	struct tract		*waiting_on;
	TAILQ_ENTRY(conn)	 wait_entry;
	bool			 pub_timed_out;	/* answer it: backpressure */
	int64_t			 pub_deadline_us; /* monotonic; 0: none */
	struct event		 publish_timer;

	struct event		 handshake_timer;
	struct event		 resume_ev;	/* re-process buffered input */
	struct event		 close_ev;	/* close requested mid-fan-out */
	struct event		 free_ev;	/* free late, from the loop */
	struct event		 flush_timer;	/* closing: flush deadline */
	const char		*close_reason;
	TAILQ_ENTRY(conn)	 entry;
};

/* Takes fd (an accepted socket); the new conn waits for hello. */
struct conn	*conn_new(struct server *, int fd, uid_t uid, pid_t pid);
/*
 * Stops the connection now: no more reads or fan-out to it. When bye is
 * non-NULL a bye frame with that reason is sent first. What is already in
 * the output is flushed (within a deadline), then the conn is freed from
 * the loop. Safe to call twice.
 */
void		 conn_close(struct conn *, const char *bye);
/* Frees a closed conn now (exit path; otherwise the loop frees it). */
void		 conn_free(struct conn *);
/* Like conn_close() but from the loop's next pass: safe mid-fan-out. */
void		 conn_close_later(struct conn *, const char *reason);

void		 conn_pause(struct conn *, int why);
/*
 * Parks c's current pub on t: reading pauses until t has room or
 * publish_timeout_ms passes (then c->pub_timed_out is set and c resumes).
 */
void		 conn_start_publish_wait(struct conn *, struct tract *);
/* The parked pub was answered: stop its timer. */
void		 conn_end_publish_wait(struct conn *);
void		 conn_resume(struct conn *, int why);

/* Appends srv->out (encoded frames) to the output and clears it. */
void		 conn_flush_out(struct conn *);
void		 conn_send_err(struct conn *, bool has_id, uint64_t id,
		    enum wire_code, const char *msg);
void		 conn_send_ack(struct conn *, bool has_id, uint64_t id);
/* Writes a msg frame for sid, sharing m's tail. */
void		 conn_send_msg(struct conn *, uint64_t sid, struct msg *m);
/* Bytes waiting to be written. */
size_t		 conn_output_len(struct conn *);
/*
 * True when the output holds more than half of output_limit: a pump that
 * drains a backlog stops there and waits (conn_wait_output) until it has
 * drained to a quarter, so a reader is never closed for a backlog.
 */
bool		 conn_output_full(struct conn *);
void		 conn_wait_output(struct conn *, struct sub *);
void		 conn_unwait_output(struct conn *, struct sub *);
/* Writes every dirty connection's batched output (end of a callback). */
void		 conn_flush_dirty(struct server *);

#endif
