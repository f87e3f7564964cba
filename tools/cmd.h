/*
 * cmd: what the callosum subcommands share (callosum.c): the common
 * options, connecting with the exit-code mapping, reporting errors, and
 * printing and paying for a stream of msg frames.
 */
#ifndef CALLOSUM_CMD_H
#define CALLOSUM_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "router/lib/json.h"
#include "tools/client.h"

/* Exit statuses (SPEC "Programs and their command lines"). */
#define CMD_EXIT_OK		0
#define CMD_EXIT_ERR		1	/* the router answered err */
#define CMD_EXIT_USAGE		64	/* EX_USAGE */
#define CMD_EXIT_UNAVAILABLE	69	/* EX_UNAVAILABLE */

#define CMD_AGENT_DEFAULT	"callosum-cli"
/* How long hello and a single request may take. */
#define CMD_TIMEOUT_MS		10000
/* How long the unsub after sub --count waits for its ack. */
#define CMD_UNSUB_TIMEOUT_MS	2000

/* Long options every subcommand takes; its own are numbered from FIRST. */
enum {
	CMD_OPT_HELP = 'h',
	CMD_OPT_SOCKET = 0x100,
	CMD_OPT_JSON,
	CMD_OPT_FIRST
};
#define CMD_COMMON_OPTIONS						\
	{ "socket", required_argument, NULL, CMD_OPT_SOCKET },		\
	{ "json", no_argument, NULL, CMD_OPT_JSON },			\
	{ "help", no_argument, NULL, CMD_OPT_HELP }

/* One run of a subcommand; main() frees what it holds. */
struct cmd {
	const char	*name;		/* "pub" */
	const char	*usage;		/* the synopsis after "callosum NAME" */
	const char	*help;		/* option lines for --help, or NULL */
	const char	*socket;	/* --socket, else the default path */
	bool		 json;		/* --json */
	struct client	*client;	/* after cmd_connect() */
	struct json_buf	 out;		/* reused for every JSON line */
};

typedef int	 cmd_fn(struct cmd *, int argc, char **argv);

cmd_fn		 cmd_pub;
cmd_fn		 cmd_sub;
cmd_fn		 cmd_replay;
cmd_fn		 cmd_stats;
cmd_fn		 cmd_ping;

/*
 * Handles a common option (or getopt's '?'). Returns false when parsing
 * goes on; true when the command must end with *status (0 after --help,
 * 64 for a bad option, whose reason getopt already printed).
 */
bool		 cmd_option(struct cmd *, int ch, int *status);
/* Prints "callosum NAME: reason" to stderr and returns 64. */
int		 cmd_usage_error(struct cmd *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Parses a decimal in [min, max]; false when s is anything else. */
bool		 cmd_parse_u64(const char *s, uint64_t min, uint64_t max,
		    uint64_t *out);
/* Checks a --kinds list "a,b" (no empty names); its entry count in *n. */
bool		 cmd_kinds_ok(const char *csv, uint32_t *n);
/* Packs a checked --kinds list as an array of str. */
void		 cmd_pack_kinds(msgpack_packer *, const char *csv);
/* Packs "key": "val" (NUL-terminated). */
void		 cmd_pack_kv(msgpack_packer *, const char *key,
		    const char *val);

/*
 * Connects to cmd->socket and says hello (h NULL: the default agent).
 * Returns 0 with cmd->client set, or the exit status after printing why:
 * 69 when the router cannot be reached, 1 when it answers err.
 */
int		 cmd_connect(struct cmd *, const struct client_hello *h);
/* Prints "callosum: CODE: MSG" for an err frame (prefix NULL: none)
 * and returns 1. */
int		 cmd_print_err(const char *prefix, const msgpack_object *err);
/*
 * Reports a client_recv()/client_call() result r that is not a frame (or a
 * bye frame when f is not NULL) and returns 69.
 */
int		 cmd_lost(struct cmd *, int r, const msgpack_object *bye);
/* What the JSON of a reply leaves out: "op" and "id". */
extern const char *const cmd_omit_reply[];
/* Prints f as one JSON line on stdout, without the keys in omit. */
void		 cmd_print_json(struct cmd *, const msgpack_object *f,
		    const char *const *omit);

/* A subscription or replay being printed (cmd_stream). */
struct cmd_stream {
	uint64_t	 sid;
	uint64_t	 req_id;	/* id of the sub/replay request */
	uint64_t	 window;	/* credit kept granted */
	uint64_t	 count;		/* stop after this many; 0: no limit */
	bool		 until_end;	/* replay: done at "end" */
	/*
	 * Set by cmd_stream_credit() and updated as it runs. received is
	 * atomic so that replay's progress, a signal handler, may read it
	 * while the stream runs (where it is lock-free: replay checks).
	 */
	uint64_t	 granted;
	_Atomic uint64_t received;
};

/* The initial credit to ask for: the window, or less under a count. */
uint64_t	 cmd_stream_credit(struct cmd_stream *);
/*
 * Prints the msg frames of s->sid as they come, after the request that
 * opened it (packed by the caller with cmd_stream_credit() as its credit)
 * has been sent. Grants more demand as it prints, in batches of half the
 * window. Returns the exit status: 0 at "end" (until_end) or after
 * s->count messages (then unsubscribed), 1 on an err, 69 when the router
 * goes away.
 */
int		 cmd_stream(struct cmd *, struct cmd_stream *s);

#endif
