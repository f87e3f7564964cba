/*
 * config: every limit and default of callosumd, from SPEC "Configuration".
 * Sources, weakest first: built-in defaults, --config FILE ("key = value"
 * lines, '#' comments), command-line flags. Unknown keys and bad values are
 * usage errors (exit 64).
 */
#ifndef CALLOSUM_CONFIG_H
#define CALLOSUM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_MAX_UIDS		64
#define CONFIG_BUSY_POLL_MAX_US	1000000	/* a second: beyond, it never sleeps */
#define CONFIG_MAX_TRACTS	256

enum config_result {
	CONFIG_OK = 0,		/* run the router */
	CONFIG_EXIT = 1,	/* --help or --version printed: exit 0 */
	CONFIG_USAGE = -1	/* *cause says why: exit 64 */
};

/*
 * Each key's type, bounds and default live in one row of config.c's table;
 * the comments here repeat the defaults for readers.
 */
struct config {
	char		*socket;		/* resolved default when unset */
	unsigned	 socket_mode;		/* 0600 */
	uid_t		 allow_uids[CONFIG_MAX_UIDS];
	size_t		 nallow_uids;		/* 0: any uid */
	unsigned	 max_connections;	/* 1024 */
	uint32_t	 max_frame;		/* 1048576 */
	unsigned	 handshake_timeout_ms;	/* 2000 */
	unsigned	 frame_timeout_ms;	/* 10000: a frame's deadline */
	unsigned	 drain_timeout_ms;	/* 5000: the drain's deadline */
	unsigned	 max_subs_per_conn;	/* 256 */
	size_t		 output_limit;		/* 8 MiB */
	uint64_t	 max_pending;		/* 1024: a sub's default */
	uint64_t	 max_pending_limit;	/* 1048576: a sub's ceiling */
	uint64_t	 pending_bytes_limit;	/* 64 MiB of bodies per sub */
	unsigned	 publish_timeout_ms;	/* 100 */
	unsigned	 busy_poll_us;		/* 0: off (ADR 0009) */
	unsigned	 breaker_failure_threshold;	/* 5 */
	unsigned	 breaker_reset_timeout_ms;	/* 30000 */
	unsigned	 breaker_half_open_max;	/* 1 */
	char		*redis;			/* NULL: in-memory log */
	char		*redis_prefix;		/* "callosum:" */
	uint64_t	 redis_maxlen;		/* 0: keep all */
	unsigned	 redis_timeout_ms;	/* 500 */
	uint64_t	 memlog_max_events;	/* 1000000 */
	uint64_t	 memlog_max_bytes;	/* 256 MiB of event bodies */
	unsigned	 synth_enabled;		/* 1; 0: no synthesizer */
	unsigned	 synth_window;		/* 100 */
	unsigned	 synth_max_pairs;	/* 1024 tract pairs */
	unsigned	 synth_max_patterns;	/* 10000 bframe patterns */
	uint64_t	 synth_snapshot_events;	/* 100000; 0: no snapshots */
	double		 balance_threshold;	/* 0.7 */
	unsigned	 promote_occurrences;	/* 3 */
	unsigned	 promote_sessions;	/* 2 */
	unsigned	 promote_models;	/* 2 */
	char		*webhook;		/* NULL: none */
	unsigned	 webhook_retries;	/* 5 */
	char		*http;			/* NULL: off; "ADDR:PORT" */
	char		*tracts[CONFIG_MAX_TRACTS];	/* declared at start */
	size_t		 ntracts;
	int		 log_level;		/* a LOG_* of log.h */
};

/*
 * Fills c with the built-in defaults (the socket path resolved, and checked
 * only by config_check: a later source may replace it).
 */
void		 config_defaults(struct config *c);
/* Frees what c owns; c may then be filled again. */
void		 config_free(struct config *c);
/*
 * Sets one key from its text value, as a config file line would. Returns 0,
 * or -1 with *cause (caller frees) naming the key and what is wrong; on -1
 * c is unchanged.
 */
int		 config_set(struct config *c, const char *key, const char *value,
		    char **cause);
/* Reads a config file into c. Returns 0, or -1 with *cause ("FILE:LINE: ..."). */
int		 config_load_file(struct config *c, const char *path, char **cause);
/*
 * What no single key can check, to be called once every source is applied:
 * max_pending not above max_pending_limit, memlog_max_bytes not below
 * max_frame, the run-time default socket path. Returns 0, or -1 with
 * *cause (caller frees).
 */
int		 config_check(const struct config *c, char **cause);
/*
 * Defaults, then --config FILE wherever it stands, then every other flag,
 * then config_check. --help and --version print to stdout and return
 * CONFIG_EXIT.
 */
enum config_result config_from_args(struct config *c, int argc, char **argv,
		    char **cause);
/* The default socket path: $XDG_RUNTIME_DIR/callosum.sock else /tmp/... */
char		*config_default_socket(void);
/* The name of the i-th key, in table order; NULL past the last. */
const char	*config_key_name(size_t i);

#endif
