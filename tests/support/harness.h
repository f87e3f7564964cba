/*
 * harness: integration tests against the real callosumd (and later a real
 * redis-server), each in a fresh mkdtemp directory, driven through
 * tools/client.h.
 *
 * Everything the harness creates (directories, routers, processes, clients)
 * is registered and released by harness_teardown(), also when a test failed
 * half-way (cmocka longjmps out of it). Every wait has a deadline: a stuck
 * router fails the test, it never hangs it. When a test fails, or a router
 * exits other than cleanly, the router's log is printed to stderr.
 *
 * Other servers (redis-server for the Redis tests) run as processes of the
 * same harness: harness_proc_start() in its directory, harness_poll() on
 * harness_sock_accepts() for their socket; teardown kills them by pid.
 *
 * Use HARNESS_TEST(name) to define tests and harness_setup/harness_teardown
 * as their fixtures (HARNESS_UNIT_TEST(name) does both).
 */
#ifndef CALLOSUM_HARNESS_H
#define CALLOSUM_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <setjmp.h>
#include <cmocka.h>
#include <msgpack.h>

#include "tools/client.h"

#define HARNESS_TIMEOUT_MS	2000	/* default wait for an expected frame */
#define HARNESS_START_MS	15000	/* router start (ASan is slow) */
#define HARNESS_STOP_MS		10000	/* SIGTERM to exit, then SIGKILL */
#define HARNESS_QUIET_MS	200	/* "nothing arrives" negative waits */
#define HARNESS_EID_MAX		48

/*
 * A test body that records its own success, so that teardown knows whether
 * to print the router logs. state is the cmocka state (unused by the
 * harness).
 */
#define HARNESS_TEST(name)						\
	static void name##_body(void **state);				\
	static void name(void **state)					\
	{								\
		name##_body(state);					\
		harness_passed();					\
	}								\
	static void name##_body(void **state)

#define HARNESS_UNIT_TEST(name)						\
	cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)

struct harness;
struct harness_proc;

struct harness_ack {
	char	eid[HARNESS_EID_MAX];
	char	stored[16];
};

/* Fixtures: reset the pass flag; release everything still registered. */
int		 harness_setup(void **state);
int		 harness_teardown(void **state);
/* Marks the running test as passed (HARNESS_TEST calls it). */
void		 harness_passed(void);
/*
 * Fails the test with a formatted message (printed with the location).
 * Never returns.
 */
void		 harness_fail(const char *file, int line, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4), noreturn));
#define HFAIL(...)	harness_fail(__FILE__, __LINE__, __VA_ARGS__)

/* Milliseconds and microseconds of the monotonic and the real-time clocks. */
int64_t		 harness_now_ms(void);
int64_t		 harness_wall_us(void);

/*
 * Polls cond(arg) every millisecond until it is true (returns true) or
 * timeout_ms passed (returns false).
 */
bool		 harness_poll(bool (*cond)(void *), void *arg, int timeout_ms);

/*
 * Directories and routers.
 */

/* A fresh temporary directory (removed by teardown), no router yet. */
struct harness	*harness_new(void);
/* The program named by environment variable env (set by ctest), or fail. */
const char	*harness_bin(const char *env);
const char	*harness_dir(struct harness *);
/* DIR/callosum.sock, the socket the router is started on. */
const char	*harness_sock(struct harness *);
/* DIR/name in a static rotating buffer (valid for 8 further calls). */
const char	*harness_path(struct harness *, const char *name);
/* Writes text into DIR/name; returns the path (as harness_path). */
const char	*harness_write_file(struct harness *, const char *name,
		    const char *text);
/* Reads a whole file; the caller frees it. NULL when it cannot be read. */
char		*harness_read_file(const char *path, size_t *lenp);
/* DIR/callosumd.log, the router's log (as harness_path). */
const char	*harness_log(struct harness *);
/* How many lines of text contain needle. */
int		 harness_count_lines(const char *text, const char *needle);
/* How many lines of the file at path contain needle (0: unreadable). */
int		 harness_file_count_lines(const char *path, const char *needle);
/*
 * Waits up to timeout_ms until a line of the file at path contains
 * needle; fails the test otherwise.
 */
void		 harness_wait_line(const char *path, const char *needle,
		    int timeout_ms);

/*
 * Starts $CALLOSUMD --socket DIR/callosum.sock [--config DIR/callosumd.conf]
 * [args...] with stdout and stderr to DIR/callosumd.log and waits until the
 * socket accepts connections. config is the text of the config file, or
 * NULL for none; args is NULL-terminated, or NULL. Fails the test when the
 * router exits or does not accept within HARNESS_START_MS.
 */
void		 harness_router_start(struct harness *, const char *config,
		    const char *const *args);
/* harness_new() then harness_router_start(). */
struct harness	*harness_start(const char *config, const char *const *args);
pid_t		 harness_router_pid(struct harness *);
/*
 * Sends sig (SIGTERM, SIGINT) to the router, waits up to timeout_ms for it
 * to exit, then SIGKILLs it. Returns its wait status (as waitpid).
 */
int		 harness_router_stop(struct harness *, int sig, int timeout_ms);
/* Prints the router log to stderr. */
void		 harness_print_log(struct harness *);

/* True when something accepts connections on the Unix socket path. */
bool		 harness_sock_accepts(const char *path);

/*
 * Processes: argv[0] is run with stdin from the given text (NULL:
 * /dev/null) and stdout and stderr to files in the harness directory.
 */
struct harness_proc *harness_proc_start(struct harness *,
		    const char *const *argv, const char *stdin_text);
/*
 * Waits up to timeout_ms for the process to exit. Returns true with *status
 * (as waitpid) set, false when it still runs.
 */
bool		 harness_proc_wait(struct harness_proc *, int timeout_ms,
		    int *status);
bool		 harness_proc_exited(struct harness_proc *, int *status);
pid_t		 harness_proc_pid(struct harness_proc *);
void		 harness_proc_kill(struct harness_proc *, int sig);
/* What the process wrote so far; the string is owned by the proc. */
const char	*harness_proc_stdout(struct harness_proc *);
const char	*harness_proc_stderr(struct harness_proc *);
/*
 * Runs argv to completion (fails the test after timeout_ms) and returns its
 * exit code (128+signal when killed). *procp, when not NULL, gives the
 * output.
 */
int		 harness_run(struct harness *, const char *const *argv,
		    const char *stdin_text, int timeout_ms,
		    struct harness_proc **procp);
/* An exit code from a wait status: WEXITSTATUS, or 128+signal. */
int		 harness_exit_code(int status);

/*
 * Clients, closed by teardown unless closed before.
 */

/* Connects to the router's socket; fails the test on error. */
struct client	*harness_connect(struct harness *);
/* Connects and says hello as agent (no session, model or tract). */
struct client	*harness_client(struct harness *, const char *agent);
/* Connects and says hello with the given fields. */
struct client	*harness_client_hello(struct harness *,
		    const struct client_hello *);
void		 harness_client_close(struct client *);

/* A fresh request id, unique within the test program. */
uint64_t	 harness_id(void);

/*
 * Packs one map from a format of space-separated "key:type" items and the
 * matching arguments. Types:
 *   s  const char *        (str; NULL packs nil)
 *   S  const char *, size_t (str of given length)
 *   b  const void *, size_t (bin)
 *   u  unsigned int         U  uint64_t
 *   i  int                  I  int64_t
 *   d  double               n  nil (no argument)
 *   t  true, f false        (no argument)
 *   A  const char *const *  (NULL-terminated array of str)
 *   M  const char *const *  (NULL-terminated key, value, ... map str->str)
 *   r  const void *, size_t (raw msgpack bytes written as the value)
 * Example: harness_send(c, "op:s id:U", "ping", id).
 */
void		 harness_vpack(msgpack_packer *, const char *fmt, va_list);
void		 harness_pack(msgpack_packer *, const char *fmt, ...);
/* Packs a map as harness_pack and sends it as one frame; fails on error. */
void		 harness_send(struct client *, const char *fmt, ...);
/*
 * Sends the map of fmt plus "id" with a fresh id, which it returns. The
 * _err variant then expects err code carrying that id as the next frame.
 */
uint64_t	 harness_request(struct client *, const char *fmt, ...);
void		 harness_request_err(struct client *, const char *code,
		    const char *fmt, ...);
/* The bytes of a whole frame (length + map) for fmt; the caller frees. */
unsigned char	*harness_frame(size_t *lenp, const char *fmt, ...);

/*
 * Waiting for frames. The frame's objects stay valid until the next receive
 * on the same client.
 */

/*
 * Waits up to timeout_ms for the next frame and fails the test unless it
 * arrives and its op is op.
 */
void		 harness_expect(struct client *, const char *op,
		    int timeout_ms, msgpack_object *frame);
/* Expects an ack carrying id. */
void		 harness_expect_ack(struct client *, uint64_t id,
		    msgpack_object *frame);
/*
 * Expects err with the given code; with has_id, carrying id, else carrying
 * no id.
 */
void		 harness_expect_err(struct client *, const char *code,
		    bool has_id, uint64_t id, msgpack_object *frame);
/* Expects a msg on sid whose body (str or bin) equals body. */
void		 harness_expect_msg(struct client *, uint64_t sid,
		    const char *body, int timeout_ms, msgpack_object *frame);
/* Asserts that no frame arrives within timeout_ms (and no close). */
void		 harness_expect_nothing(struct client *, int timeout_ms);
/*
 * Expects the router to close the connection within timeout_ms; frames
 * with one of the ops in skip_ops (NULL-terminated, or NULL) may come
 * first. Returns how many were skipped.
 */
int		 harness_expect_closed(struct client *, int timeout_ms,
		    const char *const *skip_ops);
/* ping with a fresh id and expect the pong, within timeout_ms. */
void		 harness_ping(struct client *, int timeout_ms);

/*
 * Requests that expect success (the next frame must be the reply).
 */

/* pub of a str body; from NULL is not sent. Fills *ack when not NULL. */
void		 harness_pub(struct client *, const char *from, const char *to,
		    const char *body, struct harness_ack *ack);
/* sub with id; overflow NULL and max_pending 0 are not sent. */
void		 harness_sub(struct client *, uint64_t sid, const char *tract,
		    uint64_t credit, const char *overflow,
		    uint64_t max_pending);
/* req without id (a failure would come back as err). */
void		 harness_req(struct client *, uint64_t sid, uint64_t n);
void		 harness_unsub(struct client *, uint64_t sid);
/*
 * Waits up to timeout_ms until the router's stats say callosum_connections
 * is want (asking on c, which has no subscription); fails otherwise.
 */
void		 harness_wait_conn_count(struct client *c, double want,
		    int timeout_ms);
/* A figure of a stats reply asked on c (harness_stats_find); must exist. */
double		 harness_stats_value(struct client *c, const char *name);
/*
 * A per-tract figure of a stats reply ({tract: n}), asked on c (no
 * subscription); -1 when the tract is not listed. Fails when the figure
 * is absent or not a map of uints.
 */
int64_t		 harness_stats_tract(struct client *c, const char *name,
		    const char *tract);
/* Waits up to timeout_ms until harness_stats_tract is want; fails else. */
void		 harness_wait_stats_tract(struct client *c, const char *name,
		    const char *tract, int64_t want, int timeout_ms);
/* stats with an id; *frame is the stats reply. */
void		 harness_stats(struct client *, msgpack_object *frame);
/*
 * Looks up a numeric figure named name in a stats reply (searching nested
 * maps and the first element of labelled series). false when absent.
 */
bool		 harness_stats_find(const msgpack_object *frame,
		    const char *name, double *out);

/*
 * Frame fields.
 */

const msgpack_object *harness_get(const msgpack_object *frame,
		    const char *key);
bool		 harness_has(const msgpack_object *frame, const char *key);
/* The unsigned field key; fails the test when absent or not an uint. */
uint64_t	 harness_u64(const msgpack_object *frame, const char *key);
int64_t		 harness_i64(const msgpack_object *frame, const char *key);
double		 harness_f64(const msgpack_object *frame, const char *key);
/* Copies the str field key into buf; fails when absent or too long. */
const char	*harness_str(const msgpack_object *frame, const char *key,
		    char *buf, size_t size);
/* Asserts that field key is a str equal to want. */
void		 harness_assert_str(const msgpack_object *frame,
		    const char *key, const char *want);
void		 harness_assert_u64(const msgpack_object *frame,
		    const char *key, uint64_t want);
/* Asserts that a str or bin object holds exactly len bytes equal to p. */
void		 harness_assert_bytes(const msgpack_object *o, const void *p,
		    size_t len);
/* A readable rendering of a frame in a (per-thread) static buffer. */
const char	*harness_dump(const msgpack_object *frame);
/* The op of a frame as a string ("?" when absent), per-thread buffer. */
const char	*harness_op(const msgpack_object *frame);

/*
 * Event ids.
 */

/* Parses "MS-SEQ"; false unless it is exactly two decimal numbers. */
bool		 harness_eid_parse(const char *eid, uint64_t *ms,
		    uint64_t *seq);
/* <0, 0, >0 like strcmp, by (MS, SEQ); fails on a malformed eid. */
int		 harness_eid_cmp(const char *a, const char *b);

/*
 * JSON (for the CLI's --json output): a strict validator of one value and a
 * lookup of a top-level string or number member of an object.
 */
bool		 harness_json_valid(const char *s, size_t len);
/* Copies the (unescaped, ASCII) string member key into buf. */
bool		 harness_json_str(const char *obj, size_t len, const char *key,
		    char *buf, size_t size);
bool		 harness_json_has(const char *obj, size_t len, const char *key);

/*
 * Failures inside helpers are reported at the test line that called them:
 * each helper call first records its location.
 */
void		 harness_loc(const char *file, int line);
#ifndef HARNESS_INTERNAL
#define HARNESS_AT(f, ...)						\
	(harness_loc(__FILE__, __LINE__), f(__VA_ARGS__))
#define harness_router_start(...) HARNESS_AT(harness_router_start, __VA_ARGS__)
#define harness_start(...)	HARNESS_AT(harness_start, __VA_ARGS__)
#define harness_write_file(...)	HARNESS_AT(harness_write_file, __VA_ARGS__)
#define harness_wait_line(...)	HARNESS_AT(harness_wait_line, __VA_ARGS__)
#define harness_run(...)	HARNESS_AT(harness_run, __VA_ARGS__)
#define harness_proc_start(...)	HARNESS_AT(harness_proc_start, __VA_ARGS__)
#define harness_connect(...)	HARNESS_AT(harness_connect, __VA_ARGS__)
#define harness_client(...)	HARNESS_AT(harness_client, __VA_ARGS__)
#define harness_client_hello(...) HARNESS_AT(harness_client_hello, __VA_ARGS__)
#define harness_send(...)	HARNESS_AT(harness_send, __VA_ARGS__)
#define harness_request(...)	HARNESS_AT(harness_request, __VA_ARGS__)
#define harness_request_err(...) HARNESS_AT(harness_request_err, __VA_ARGS__)
#define harness_expect(...)	HARNESS_AT(harness_expect, __VA_ARGS__)
#define harness_expect_ack(...)	HARNESS_AT(harness_expect_ack, __VA_ARGS__)
#define harness_expect_err(...)	HARNESS_AT(harness_expect_err, __VA_ARGS__)
#define harness_expect_msg(...)	HARNESS_AT(harness_expect_msg, __VA_ARGS__)
#define harness_expect_nothing(...)					\
	HARNESS_AT(harness_expect_nothing, __VA_ARGS__)
#define harness_expect_closed(...)					\
	HARNESS_AT(harness_expect_closed, __VA_ARGS__)
#define harness_ping(...)	HARNESS_AT(harness_ping, __VA_ARGS__)
#define harness_pub(...)	HARNESS_AT(harness_pub, __VA_ARGS__)
#define harness_sub(...)	HARNESS_AT(harness_sub, __VA_ARGS__)
#define harness_req(...)	HARNESS_AT(harness_req, __VA_ARGS__)
#define harness_unsub(...)	HARNESS_AT(harness_unsub, __VA_ARGS__)
#define harness_stats(...)	HARNESS_AT(harness_stats, __VA_ARGS__)
#define harness_wait_conn_count(...)					\
	HARNESS_AT(harness_wait_conn_count, __VA_ARGS__)
#define harness_stats_tract(...)	HARNESS_AT(harness_stats_tract, __VA_ARGS__)
#define harness_stats_value(...)	HARNESS_AT(harness_stats_value, __VA_ARGS__)
#define harness_wait_stats_tract(...)					\
	HARNESS_AT(harness_wait_stats_tract, __VA_ARGS__)
#define harness_u64(...)	HARNESS_AT(harness_u64, __VA_ARGS__)
#define harness_i64(...)	HARNESS_AT(harness_i64, __VA_ARGS__)
#define harness_f64(...)	HARNESS_AT(harness_f64, __VA_ARGS__)
#define harness_str(...)	HARNESS_AT(harness_str, __VA_ARGS__)
#define harness_assert_str(...)	HARNESS_AT(harness_assert_str, __VA_ARGS__)
#define harness_assert_u64(...)	HARNESS_AT(harness_assert_u64, __VA_ARGS__)
#define harness_assert_bytes(...) HARNESS_AT(harness_assert_bytes, __VA_ARGS__)
#define harness_eid_cmp(...)	HARNESS_AT(harness_eid_cmp, __VA_ARGS__)
#endif

#endif
