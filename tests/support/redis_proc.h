/*
 * redis_proc: a real redis-server for the integration tests, in a harness
 * directory, and a hiredis sync client to look at what the router wrote.
 *
 * The server listens on the private Unix socket DIR/redis.sock only
 * (port 0), never snapshots (save ""), and with REDIS_PROC_AOF keeps an
 * append-only file in DIR (appendfsync always), so that a restart after
 * kill -9 finds every write it answered. It runs as a harness process
 * (harness_proc_start): teardown kills it by pid even when a test failed
 * half-way. It can be killed (-9), stopped and continued (SIGSTOP,
 * SIGCONT) and started again on the same socket and directory.
 *
 * Use redis_teardown as the teardown fixture (REDIS_UNIT_TEST(name)): it
 * continues every stopped server before harness_teardown stops the routers
 * (a router draining into a stopped Redis would wait for nothing), then
 * frees the clients, replies and entries the test still holds.
 *
 * The binary is $REDIS_SERVER, else /usr/bin/redis-server (Debian's).
 * Every wait has a deadline; a failure is reported at the test line that
 * called the helper.
 */
#ifndef CALLOSUM_REDIS_PROC_H
#define CALLOSUM_REDIS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tests/support/harness.h"

#define REDIS_PROC_SERVER	"/usr/bin/redis-server"
#define REDIS_PROC_START_MS	10000	/* start to PONG (AOF loaded) */
#define REDIS_PROC_CMD_MS	2000	/* one command of the sync client */
#define REDIS_PROC_PAGE		500	/* XRANGE COUNT per page */

/* redis_proc_new flags. */
#define REDIS_PROC_AOF		0x1	/* appendonly yes, appendfsync always */

#define REDIS_UNIT_TEST(name)						\
	cmocka_unit_test_setup_teardown(name, harness_setup, redis_teardown)

struct redis_proc;
struct redisReply;

/* One field of a stream entry: bytes borrowed from the entries. */
struct redis_field {
	const char	*name;
	size_t		 name_len;
	const char	*value;
	size_t		 len;
};

struct redis_entry {
	char			 id[HARNESS_EID_MAX];
	struct redis_field	*fields;
	size_t			 nfields;
};

/* What XRANGE returned, in stream order. */
struct redis_entries {
	struct redis_entry	*v;
	size_t			 n;
};

/* harness_teardown after continuing stopped servers; then frees ours. */
int		 redis_teardown(void **state);

/*
 * A server of harness h on DIR/redis.sock, not started yet (its URL is
 * known, its socket does not exist).
 */
struct redis_proc *redis_proc_new(struct harness *h, int flags);
/*
 * Starts the server (again: after redis_proc_kill9) on DIR/redis.sock and
 * waits until it answers PING with PONG (an AOF loaded). Fails the test
 * when it exits or does not answer within REDIS_PROC_START_MS.
 */
void		 redis_proc_start(struct redis_proc *);
/*
 * The same, on DIR/name instead: the router, which knows DIR/redis.sock,
 * cannot reach it until redis_proc_reveal() renames the socket.
 */
void		 redis_proc_start_hidden(struct redis_proc *, const char *name);
/* Renames the hidden socket to DIR/redis.sock (one rename(2)). */
void		 redis_proc_reveal(struct redis_proc *);
/* redis_proc_new then redis_proc_start. */
struct redis_proc *redis_proc_spawn(struct harness *h, int flags);

/* "unix://DIR/redis.sock", the router's --redis. */
const char	*redis_proc_url(struct redis_proc *);
/* The socket the sync client uses: DIR/redis.sock, or the hidden one. */
const char	*redis_proc_sock(struct redis_proc *);
/* The server's pid; -1 when none runs. */
pid_t		 redis_proc_pid(struct redis_proc *);
bool		 redis_proc_running(struct redis_proc *);
/* What the server logged (its stdout) in its latest run. */
const char	*redis_proc_log(struct redis_proc *);

/* kill -9 and reap it (the socket file stays, refusing connections). */
void		 redis_proc_kill9(struct redis_proc *);
/* SIGSTOP, and wait until /proc says it is stopped. */
void		 redis_proc_pause(struct redis_proc *);
/* SIGCONT, and wait until it runs again. */
void		 redis_proc_resume(struct redis_proc *);

/*
 * The sync client (connected on first use, again after a restart; every
 * command under REDIS_PROC_CMD_MS).
 */

/*
 * A command in hiredis' format (%s, %b for bytes and length). Fails the
 * test on an I/O error or a timeout; an error reply is returned. The reply
 * is freed by teardown, or earlier by redis_reply_free.
 */
struct redisReply *redis_command(struct redis_proc *, const char *fmt, ...);
void		 redis_reply_free(struct redisReply *);
/* True when the server answers PING with PONG within timeout_ms. */
bool		 redis_try_ping(struct redis_proc *, int timeout_ms);
/* XLEN key (0 when the key does not exist); fails on an error reply. */
long long	 redis_xlen(struct redis_proc *, const char *key);
/*
 * XRANGE key start end, read in pages of REDIS_PROC_PAGE ("-" and "+" for
 * the whole stream). Freed by teardown, or earlier by redis_entries_free.
 */
struct redis_entries *redis_xrange(struct redis_proc *, const char *key,
		    const char *start, const char *end);
void		 redis_entries_free(struct redis_entries *);
/*
 * XINFO STREAM key: its last-generated-id into buf and its length. false
 * when the key does not exist.
 */
bool		 redis_stream_info(struct redis_proc *, const char *key,
		    char *buf, size_t size, long long *lenp);
/* Polls XLEN key until it is want; fails with the last value after. */
void		 redis_wait_xlen(struct redis_proc *, const char *key,
		    long long want, int timeout_ms);

/* The field name of an entry; NULL when absent. */
const struct redis_field *redis_entry_get(const struct redis_entry *,
		    const char *name);

void		 redis_loc(const char *file, int line);
#ifndef REDIS_PROC_INTERNAL
#define REDIS_AT(f, ...)						\
	(redis_loc(__FILE__, __LINE__), f(__VA_ARGS__))
#define redis_proc_new(...)	REDIS_AT(redis_proc_new, __VA_ARGS__)
#define redis_proc_start(...)	REDIS_AT(redis_proc_start, __VA_ARGS__)
#define redis_proc_start_hidden(...)					\
	REDIS_AT(redis_proc_start_hidden, __VA_ARGS__)
#define redis_proc_reveal(...)	REDIS_AT(redis_proc_reveal, __VA_ARGS__)
#define redis_proc_spawn(...)	REDIS_AT(redis_proc_spawn, __VA_ARGS__)
#define redis_proc_kill9(...)	REDIS_AT(redis_proc_kill9, __VA_ARGS__)
#define redis_proc_pause(...)	REDIS_AT(redis_proc_pause, __VA_ARGS__)
#define redis_proc_resume(...)	REDIS_AT(redis_proc_resume, __VA_ARGS__)
#define redis_command(...)	REDIS_AT(redis_command, __VA_ARGS__)
#define redis_xlen(...)		REDIS_AT(redis_xlen, __VA_ARGS__)
#define redis_xrange(...)	REDIS_AT(redis_xrange, __VA_ARGS__)
#define redis_stream_info(...)	REDIS_AT(redis_stream_info, __VA_ARGS__)
#define redis_wait_xlen(...)	REDIS_AT(redis_wait_xlen, __VA_ARGS__)
#endif

#endif
