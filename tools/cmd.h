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
cmd_fn		 cmd_conns;
cmd_fn		 cmd_ping;

/*
 * Handles a common option (or getopt's '?'). Returns false when parsing
 * goes on; true when the command must end with *status (0 after --help,
 * 64 for a bad option, whose reason getopt already printed).
 */
bool		 cmd_option(struct cmd *, int ch, int *status);
/*
 * For a command with only the common options and no arguments: parses
 * them and connects. Returns CMD_EXIT_OK, or the status to end with.
 */
int		 cmd_start_bare(struct cmd *, int argc, char **argv,
		    const struct option *options);
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
/*
 * Sends {"op": op, "id": id} and waits for the reply carrying id. Returns
 * what client_call() does (1 with *reply set, valid until the next receive
 * on cmd->client; 0 on close; -1), printing nothing: a caller that drew on
 * the terminal restores it before reporting with cmd_lost() or
 * cmd_print_err().
 */
int		 cmd_call(struct cmd *, const char *op, uint64_t id,
		    msgpack_object *reply);
/* What the JSON of a reply leaves out: "op" and "id". */
extern const char *const cmd_omit_reply[];
/* Prints f as one JSON line on stdout, without the keys in omit. */
void		 cmd_print_json(struct cmd *, const msgpack_object *f,
		    const char *const *omit);

/*
 * Text for a person, from a client or the router: names such as agents and
 * tracts are anyone's choice, so what reaches a terminal is made safe
 * first. cmd_text() appends s to b as UTF-8 in which every control
 * character (C0, DEL, C1) and every bidirectional control (which would
 * reorder what follows) is a C escape (\n, \x1b, \u202e), as are
 * backslashes and bytes that are not UTF-8. When that is wider than max
 * columns (0: no limit), it is cut to max - 3 and "..." added. Returns the
 * width in columns (a code point is one column), or -1 (ENOMEM; b as it
 * was).
 */
int		 cmd_text(struct json_buf *b, const char *s, size_t len,
		    size_t max);

/* A column of a cmd_table: its header, the width cells are cut to. */
struct cmd_col {
	const char	*name;
	size_t		 max;		/* 0: no limit */
	bool		 left;		/* text; numbers align right */
};

/*
 * A table printed with aligned columns, filled a cell at a time, row by
 * row. Adding never fails for the caller: after an allocation failure
 * cells are ignored and cmd_table_print() returns -1.
 */
struct cmd_table {
	const struct cmd_col	*cols;
	size_t			 ncols;
	struct json_buf		 text;		/* cells, each NUL-terminated */
	size_t			*off;		/* of each cell in text */
	size_t			*width;		/* of each cell, in columns */
	size_t			 n;		/* cells so far */
	size_t			 cap;
	bool			 failed;
};

void		 cmd_table_init(struct cmd_table *, const struct cmd_col *,
		    size_t ncols);
void		 cmd_table_free(struct cmd_table *);
/* Adds a cell of text from outside (cmd_text, cut to the column's max). */
void		 cmd_table_text(struct cmd_table *, const char *s, size_t len);
/* Adds a cell of our own text (ASCII, not cut). */
void		 cmd_table_printf(struct cmd_table *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
size_t		 cmd_table_rows(const struct cmd_table *);
/*
 * Prints the header and the first max_rows rows (SIZE_MAX: all) on
 * stdout. 0, or -1 (ENOMEM) when a cell could not be added.
 */
int		 cmd_table_print(const struct cmd_table *, size_t max_rows);

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
