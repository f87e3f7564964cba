/*
 * config: the built-in defaults, the config file and the command line, in
 * that order of strength, all going through the key's setter so that a key
 * is checked the same way wherever it comes from, its default included.
 *
 * Every key is checked when it is set, and pairs of keys by config_check()
 * once every source is in: the rest of the router may rely on each field
 * being in the range documented here without checking again.
 */
#include <sys/types.h>
#include <sys/un.h>

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/config.h"
#include "router/log.h"
#include "router/xmalloc.h"

#ifndef CALLOSUM_VERSION
#error "CALLOSUM_VERSION must be defined by the build"
#endif

/* Longest value quoted in a cause, so that a cause stays one short line. */
#define CONFIG_QUOTE_MAX	64
#define CONFIG_TRACT_MAX	64

#define CONFIG_SUN_PATH_MAX	(sizeof ((struct sockaddr_un *)0)->sun_path)

/* Integer fields are stored by width; unsigned and uint32_t share one. */
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned is 32 bits");
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t is 64 bits");
_Static_assert(sizeof(uid_t) == sizeof(uint32_t), "uid_t is 32 bits");

enum config_kind {
	CONFIG_INT,		/* decimal, min..max */
	CONFIG_SIZE,		/* decimal with k/m/g suffixes, min..max */
	CONFIG_MODE,		/* octal, 0..max */
	CONFIG_FRACTION,	/* a float in [0,1] */
	CONFIG_STRING,		/* checked by check() */
	CONFIG_UIDS,		/* comma-separated uids, empty: any */
	CONFIG_TRACTS,		/* comma-separated tract names, 1 or more */
	CONFIG_LEVEL		/* error|warn|info|debug */
};

/*
 * One row per key: its type, bounds and default together, as in tmux's
 * options-table.c, so that nothing about a key is said in a second place.
 * Every setter writes only the bytes off..off+width (and, for a list, the
 * count at noff): two keys of one kind never share a field.
 */
struct config_key {
	const char		*name;
	enum config_kind	 kind;
	size_t			 off;	/* of the field in a config */
	size_t			 width;	/* of the field; a list's whole array */
	size_t			 noff;	/* UIDS, TRACTS: of the count field */
	uint64_t		 min;	/* INT, SIZE */
	uint64_t		 max;	/* INT, SIZE, MODE */
	/*
	 * The default as a config file would write it, applied through the
	 * row's own setter so that it meets the same checks; NULL: unset.
	 */
	const char		*def;
	/* A default known only at run time (caller frees); STRING only. */
	char			*(*def_run)(void);
	/* CONFIG_STRING: NULL when s is good, else what is wrong with it. */
	const char		*(*check)(const char *s);
};

static const char	*config_check_socket(const char *);
static const char	*config_check_nonempty(const char *);
static const char	*config_check_redis(const char *);
static const char	*config_check_http(const char *);
static const char	*config_check_webhook(const char *);

#define CONFIG_FIELD(f)							\
	.off = offsetof(struct config, f),				\
	.width = sizeof(((struct config *)0)->f)
#define CONFIG_LIST(f, n)						\
	CONFIG_FIELD(f), .noff = offsetof(struct config, n)

static const struct config_key config_keys[] = {
	{ .name = "socket", .kind = CONFIG_STRING, CONFIG_FIELD(socket),
	  .def_run = config_default_socket, .check = config_check_socket },
	{ .name = "socket_mode", .kind = CONFIG_MODE, CONFIG_FIELD(socket_mode),
	  .max = 0777, .def = "0600" },
	{ .name = "allow_uids", .kind = CONFIG_UIDS,
	  CONFIG_LIST(allow_uids, nallow_uids), .def = "" },
	{ .name = "max_connections", .kind = CONFIG_INT,
	  CONFIG_FIELD(max_connections), .min = 1, .max = UINT_MAX,
	  .def = "1024" },
	{ .name = "max_frame", .kind = CONFIG_SIZE, CONFIG_FIELD(max_frame),
	  .min = 64, .max = UINT32_MAX, .def = "1048576" },
	/* Zero would close every client before it could say hello. */
	{ .name = "handshake_timeout_ms", .kind = CONFIG_INT,
	  CONFIG_FIELD(handshake_timeout_ms), .min = 1, .max = UINT_MAX,
	  .def = "2000" },
	/* Zero would fail every frame longer than one read. */
	{ .name = "frame_timeout_ms", .kind = CONFIG_INT,
	  CONFIG_FIELD(frame_timeout_ms), .min = 1, .max = UINT_MAX,
	  .def = "10000" },
	/* Zero is meaningful: say bye at once, without waiting for readers. */
	{ .name = "drain_timeout_ms", .kind = CONFIG_INT,
	  CONFIG_FIELD(drain_timeout_ms), .min = 0, .max = UINT_MAX,
	  .def = "5000" },
	{ .name = "max_subs_per_conn", .kind = CONFIG_INT,
	  CONFIG_FIELD(max_subs_per_conn), .min = 1, .max = UINT_MAX,
	  .def = "256" },
	{ .name = "output_limit", .kind = CONFIG_SIZE,
	  CONFIG_FIELD(output_limit), .min = 1, .max = SIZE_MAX,
	  .def = "8MiB" },
	/* Not above max_pending_limit: config_check, once all is read. */
	{ .name = "max_pending", .kind = CONFIG_SIZE, CONFIG_FIELD(max_pending),
	  .min = 1, .max = UINT64_MAX, .def = "1024" },
	{ .name = "max_pending_limit", .kind = CONFIG_SIZE,
	  CONFIG_FIELD(max_pending_limit), .min = 1, .max = UINT64_MAX,
	  .def = "1048576" },
	{ .name = "pending_bytes_limit", .kind = CONFIG_SIZE,
	  CONFIG_FIELD(pending_bytes_limit), .min = 1, .max = UINT64_MAX,
	  .def = "64MiB" },
	/* Zero is meaningful: a blocked pub fails at once. */
	{ .name = "publish_timeout_ms", .kind = CONFIG_INT,
	  CONFIG_FIELD(publish_timeout_ms), .min = 0, .max = UINT_MAX,
	  .def = "100" },
	/* Zero is the default: block in the kernel when idle. */
	{ .name = "busy_poll_us", .kind = CONFIG_INT,
	  CONFIG_FIELD(busy_poll_us), .min = 0, .max = CONFIG_BUSY_POLL_MAX_US,
	  .def = "0" },
	{ .name = "breaker_failure_threshold", .kind = CONFIG_INT,
	  CONFIG_FIELD(breaker_failure_threshold), .min = 1, .max = UINT_MAX,
	  .def = "5" },
	/* Zero is meaningful: an open breaker tries again at once. */
	{ .name = "breaker_reset_timeout_ms", .kind = CONFIG_INT,
	  CONFIG_FIELD(breaker_reset_timeout_ms), .min = 0, .max = UINT_MAX,
	  .def = "30000" },
	{ .name = "breaker_half_open_max", .kind = CONFIG_INT,
	  CONFIG_FIELD(breaker_half_open_max), .min = 1, .max = UINT_MAX,
	  .def = "1" },
	{ .name = "redis", .kind = CONFIG_STRING, CONFIG_FIELD(redis),
	  .check = config_check_redis },
	{ .name = "redis_prefix", .kind = CONFIG_STRING,
	  CONFIG_FIELD(redis_prefix), .def = "callosum:",
	  .check = config_check_nonempty },
	{ .name = "redis_maxlen", .kind = CONFIG_INT,
	  CONFIG_FIELD(redis_maxlen), .min = 0, .max = UINT64_MAX, .def = "0" },
	/* Zero would time out every batch: Redis would never be used. */
	{ .name = "redis_timeout_ms", .kind = CONFIG_INT,
	  CONFIG_FIELD(redis_timeout_ms), .min = 1, .max = UINT_MAX,
	  .def = "500" },
	{ .name = "memlog_max_events", .kind = CONFIG_SIZE,
	  CONFIG_FIELD(memlog_max_events), .min = 1, .max = UINT64_MAX,
	  .def = "1000000" },
	/* Not below max_frame: config_check, once all is read. */
	{ .name = "memlog_max_bytes", .kind = CONFIG_SIZE,
	  CONFIG_FIELD(memlog_max_bytes), .min = 1, .max = UINT64_MAX,
	  .def = "256MiB" },
	{ .name = "synth_enabled", .kind = CONFIG_INT,
	  CONFIG_FIELD(synth_enabled), .min = 0, .max = 1, .def = "1" },
	/* SYNTH_WINDOW_MAX: a window is a ring of this many entries. */
	{ .name = "synth_window", .kind = CONFIG_INT,
	  CONFIG_FIELD(synth_window), .min = 1, .max = 100000, .def = "100" },
	{ .name = "synth_max_pairs", .kind = CONFIG_INT,
	  CONFIG_FIELD(synth_max_pairs), .min = 1, .max = 1000000,
	  .def = "1024" },
	{ .name = "synth_max_patterns", .kind = CONFIG_INT,
	  CONFIG_FIELD(synth_max_patterns), .min = 1, .max = 10000000,
	  .def = "10000" },
	/* With Redis: the synthesizer's state is saved every N events. */
	{ .name = "synth_snapshot_events", .kind = CONFIG_INT,
	  CONFIG_FIELD(synth_snapshot_events), .min = 0, .max = UINT64_MAX,
	  .def = "100000" },
	{ .name = "balance_threshold", .kind = CONFIG_FRACTION,
	  CONFIG_FIELD(balance_threshold), .def = "0.7" },
	{ .name = "promote_occurrences", .kind = CONFIG_INT,
	  CONFIG_FIELD(promote_occurrences), .min = 1, .max = UINT_MAX,
	  .def = "3" },
	/* SYNTH_DISTINCT_MAX: distinct values kept per pattern. */
	{ .name = "promote_sessions", .kind = CONFIG_INT,
	  CONFIG_FIELD(promote_sessions), .min = 1, .max = 32,
	  .def = "2" },
	{ .name = "promote_models", .kind = CONFIG_INT,
	  CONFIG_FIELD(promote_models), .min = 1, .max = 32,
	  .def = "2" },
	{ .name = "webhook", .kind = CONFIG_STRING, CONFIG_FIELD(webhook),
	  .check = config_check_webhook },
	{ .name = "webhook_retries", .kind = CONFIG_INT,
	  CONFIG_FIELD(webhook_retries), .min = 0, .max = UINT_MAX,
	  .def = "5" },
	{ .name = "http", .kind = CONFIG_STRING, CONFIG_FIELD(http),
	  .check = config_check_http },
	{ .name = "tracts", .kind = CONFIG_TRACTS,
	  CONFIG_LIST(tracts, ntracts), .def = "internal,external" },
	{ .name = "log_level", .kind = CONFIG_LEVEL, CONFIG_FIELD(log_level),
	  .def = "info" }
};

#define CONFIG_NKEYS	(sizeof config_keys / sizeof config_keys[0])

/* The command line: SPEC "Programs and their command lines". */
struct config_flag {
	const char	*name;	/* without the leading "--" */
	const char	*key;	/* config key it sets, NULL if none */
	const char	*arg;	/* its value's name, NULL: takes none */
	const char	*help;
};

static const struct config_flag config_flags[] = {
	{ "socket", "socket", "PATH",
	  "listen on this Unix socket" },
	{ "redis", "redis", "URL",
	  "event log in Redis: unix:///PATH or redis://HOST:PORT" },
	{ "http", "http", "ADDR:PORT",
	  "serve /metrics, /stats.json and a dashboard" },
	{ "webhook", "webhook", "URL",
	  "POST candidate notifications to this URL" },
	{ "tracts", "tracts", "a,b,...",
	  "tracts declared at start (default: internal,external)" },
	{ "config", NULL, "FILE",
	  "read 'key = value' lines; flags win over it" },
	{ "log-level", "log_level", "LEVEL",
	  "error, warn, info (default) or debug" },
	{ "help", NULL, NULL,
	  "print this help and exit" },
	{ "version", NULL, NULL,
	  "print the version and exit" }
};

#define CONFIG_NFLAGS	(sizeof config_flags / sizeof config_flags[0])

/* A flag as found on the command line, before it is applied. */
struct config_arg {
	const struct config_flag	*flag;
	const char			*value;	/* borrowed: argv */
};

/*
 * Makes s fit in a one-line cause: control bytes become '?' and a long
 * value is cut with "...". Returns buf.
 */
static const char *
config_quote(const char *s, char *buf, size_t len)
{
	size_t	i, max;

	/* room for "..." and the NUL */
	max = len > CONFIG_QUOTE_MAX + 3 ? CONFIG_QUOTE_MAX : len - 4;
	for (i = 0; s[i] != '\0' && i < max; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			buf[i] = '?';
		else
			buf[i] = s[i];
	}
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return (buf);
}

/* Sets *cause to "NAME: WHAT: 'VALUE'" and returns -1. */
static int
config_bad(char **cause, const char *name, const char *what, const char *value)
{
	char	q[CONFIG_QUOTE_MAX + 4];

	xasprintf(cause, "%s: %s: '%s'", name, what,
	    config_quote(value, q, sizeof q));
	return (-1);
}

/* Strict decimal: digits only, no sign, no blanks. Returns 0 or -1. */
static int
config_parse_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	d;

	if (!isdigit((unsigned char)*s))
		return (-1);
	for (; isdigit((unsigned char)*s); s++) {
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return (-1);
		v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return (0);
}

/* A size: decimal, then nothing or one of the binary suffixes. */
static int
config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char	*suffix;
		unsigned	 shift;
	} suffixes[] = {
		{ "", 0 },
		{ "k", 10 }, { "K", 10 }, { "KiB", 10 },
		{ "m", 20 }, { "M", 20 }, { "MiB", 20 },
		{ "g", 30 }, { "G", 30 }, { "GiB", 30 }
	};
	const char	*end;
	uint64_t	 v;
	size_t		 i;

	if (config_parse_u64(s, &end, &v) != 0)
		return (-1);
	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		if (strcmp(end, suffixes[i].suffix) != 0)
			continue;
		if (v > (UINT64_MAX >> suffixes[i].shift))
			return (-1);
		*out = v << suffixes[i].shift;
		return (0);
	}
	return (-1);
}

/* The row's field in c; for a list, its array. */
static void *
config_field(struct config *c, const struct config_key *k)
{
	return ((char *)c + k->off);
}

/* A list's count field. */
static size_t *
config_count(struct config *c, const struct config_key *k)
{
	assert(k->kind == CONFIG_UIDS || k->kind == CONFIG_TRACTS);
	return ((size_t *)((char *)c + k->noff));
}

static void
config_store_int(struct config *c, const struct config_key *k, uint64_t v)
{
	uint32_t	 v32;

	if (k->width == sizeof(uint32_t)) {
		assert(v <= UINT32_MAX);
		v32 = (uint32_t)v;
		memcpy(config_field(c, k), &v32, sizeof v32);
	} else {
		assert(k->width == sizeof(uint64_t));
		memcpy(config_field(c, k), &v, sizeof v);
	}
}

/* Sets *cause to "NAME: out of range (MIN..MAX): 'VALUE'"; returns -1. */
static int
config_bad_range(char **cause, const struct config_key *k, const char *name,
    const char *value)
{
	char	*what;

	xasprintf(&what, "out of range (%llu..%llu)",
	    (unsigned long long)k->min, (unsigned long long)k->max);
	config_bad(cause, name, what, value);
	free(what);
	return (-1);
}

static int
config_set_int(struct config *c, const struct config_key *k, const char *name,
    const char *value, char **cause)
{
	const char	*end;
	uint64_t	 v;
	int		 ok;

	/* A 32-bit field cannot hold more: the row is wrong. */
	assert(k->width == sizeof(uint64_t) || k->max <= UINT32_MAX);
	if (k->kind == CONFIG_SIZE)
		ok = config_parse_size(value, &v) == 0;
	else
		ok = config_parse_u64(value, &end, &v) == 0 && *end == '\0';
	if (!ok || (v == 0 && k->min == 1)) {
		if (k->min == 0)
			return (config_bad(cause, name,
			    "not an unsigned integer", value));
		return (config_bad(cause, name, "not a positive integer",
		    value));
	}
	if (v < k->min || v > k->max)
		return (config_bad_range(cause, k, name, value));
	config_store_int(c, k, v);
	return (0);
}

/* Octal, with or without the leading 0: "0600" and "600" are the same. */
static int
config_set_mode(struct config *c, const struct config_key *k,
    const char *name, const char *value, char **cause)
{
	const char	*s;
	uint64_t	 v = 0;
	char		*what;

	for (s = value; *s >= '0' && *s <= '7'; s++) {
		v = v * 8 + (unsigned)(*s - '0');
		if (v > k->max)
			break;
	}
	if (s == value || *s != '\0' || v > k->max) {
		xasprintf(&what, "not an octal mode up to %#llo",
		    (unsigned long long)k->max);
		config_bad(cause, name, what, value);
		free(what);
		return (-1);
	}
	config_store_int(c, k, v);
	return (0);
}

static int
config_set_fraction(struct config *c, const struct config_key *k,
    const char *name, const char *value, char **cause)
{
	const char	*s;
	char		*end;
	double		 v;

	assert(k->width == sizeof v);
	/*
	 * Plain decimal notation only: strtod would also take blanks, hex
	 * floats, "nan" and "inf", and none of those is a threshold.
	 */
	for (s = value; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) && strchr(".eE+-", *s) == NULL)
			break;
	}
	if (*s != '\0' || value[0] == '\0')
		goto bad;
	errno = 0;
	v = strtod(value, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0)
		goto bad;
	memcpy(config_field(c, k), &v, sizeof v);
	return (0);
bad:
	return (config_bad(cause, name, "not a number in [0,1]", value));
}

static int
config_set_level(struct config *c, const struct config_key *k,
    const char *name, const char *value, char **cause)
{
	int	level;

	assert(k->width == sizeof level);
	if ((level = log_level_parse(value)) == -1)
		return (config_bad(cause, name,
		    "not error, warn, info or debug", value));
	memcpy(config_field(c, k), &level, sizeof level);
	return (0);
}

/* Trims blanks around s in place; returns the first byte kept. */
static char *
config_trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return (s);
}

/* One uid of a list; (uid_t)-1 is no uid: chown(2) reads it as "none". */
static int
config_parse_uid(const char *s, uid_t *uid)
{
	const char	*end;
	uint64_t	 v;

	if (config_parse_u64(s, &end, &v) != 0 || *end != '\0' ||
	    v >= (uid_t)-1)
		return (-1);
	*uid = (uid_t)v;
	return (0);
}

static int
config_set_uids(struct config *c, const struct config_key *k,
    const char *name, const char *value, char **cause)
{
	uid_t	 uids[CONFIG_MAX_UIDS], uid;
	size_t	 n = 0, max = k->width / sizeof uids[0];
	char	*copy, *rest, *item, *t;
	int	 rc = -1;

	assert(max <= CONFIG_MAX_UIDS);
	rest = copy = xstrdup(value);
	if (*config_trim(copy) == '\0')
		rest = NULL;	/* empty: any uid that can open the socket */
	while ((item = strsep(&rest, ",")) != NULL) {
		t = config_trim(item);
		if (config_parse_uid(t, &uid) != 0) {
			config_bad(cause, name, "not a uid", t);
			goto out;
		}
		if (n == max) {
			xasprintf(cause, "%s: more than %zu uids", name, max);
			goto out;
		}
		uids[n++] = uid;
	}
	memcpy(config_field(c, k), uids, n * sizeof uids[0]);
	*config_count(c, k) = n;
	rc = 0;
out:
	free(copy);
	return (rc);
}

/* Tract names: SPEC "Transport and framing". */
static int
config_tract_valid(const char *s)
{
	size_t	len;

	len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-");
	return (len >= 1 && len <= CONFIG_TRACT_MAX && s[len] == '\0');
}

static void
config_free_tracts(char **tracts, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(tracts[i]);
		tracts[i] = NULL;
	}
}

/* What is wrong with t as the next of tracts[0..n-1], or NULL. */
static const char *
config_tract_bad(char **tracts, size_t n, const char *t)
{
	size_t	i;

	if (t[0] == '$')
		return ("reserved tract name");
	if (!config_tract_valid(t))
		return ("bad tract name");
	for (i = 0; i < n; i++) {
		if (strcmp(tracts[i], t) == 0)
			return ("duplicate tract");
	}
	return (NULL);
}

static int
config_set_tracts(struct config *c, const struct config_key *k,
    const char *name, const char *value, char **cause)
{
	char		*tracts[CONFIG_MAX_TRACTS];
	char		*copy, *rest, *item, *t;
	const char	*what;
	size_t		 n = 0, max = k->width / sizeof tracts[0];

	assert(max <= CONFIG_MAX_TRACTS);
	rest = copy = xstrdup(value);
	if (*config_trim(copy) == '\0') {
		xasprintf(cause, "%s: at least one tract is needed", name);
		goto fail;
	}
	while ((item = strsep(&rest, ",")) != NULL) {
		t = config_trim(item);
		if ((what = config_tract_bad(tracts, n, t)) != NULL) {
			config_bad(cause, name, what, t);
			goto fail;
		}
		if (n == max) {
			xasprintf(cause, "%s: more than %zu tracts", name, max);
			goto fail;
		}
		tracts[n++] = xstrdup(t);
	}
	free(copy);

	/* Only now is the old list replaced: a bad list changes nothing. */
	config_free_tracts(config_field(c, k), *config_count(c, k));
	memcpy(config_field(c, k), tracts, n * sizeof tracts[0]);
	*config_count(c, k) = n;
	return (0);
fail:
	config_free_tracts(tracts, n);
	free(copy);
	return (-1);
}

static const char *
config_check_socket(const char *s)
{
	/* bind(2) takes the path NUL-terminated inside sun_path. */
	if (s[0] == '\0' || strlen(s) >= CONFIG_SUN_PATH_MAX)
		return ("not a socket path of 1 to 107 bytes");
	return (NULL);
}

static const char *
config_check_nonempty(const char *s)
{
	if (s[0] == '\0')
		return ("empty");
	return (NULL);
}

static const char *
config_check_redis(const char *s)
{
	static const char	*what =
	    "not unix:///PATH or redis://HOST:PORT";

	if (strncmp(s, "unix://", 7) == 0) {
		if (s[7] != '/' || strlen(s + 7) >= CONFIG_SUN_PATH_MAX)
			return (what);
		return (NULL);
	}
	if (strncmp(s, "redis://", 8) == 0 && s[8] != '\0')
		return (NULL);
	return (what);
}

static const char *
config_check_http(const char *s)
{
	static const char	*what = "not ADDR:PORT with a port 1..65535";
	const char		*colon, *end;
	uint64_t		 port;
	size_t			 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isgraph((unsigned char)s[i]))
			return (what);
	}
	/* The last colon, so that "[::1]:9090" splits after the bracket. */
	if ((colon = strrchr(s, ':')) == NULL || colon == s)
		return (what);
	if (s[0] == '[' && colon[-1] != ']')
		return (what);
	if (config_parse_u64(colon + 1, &end, &port) != 0 || *end != '\0' ||
	    port < 1 || port > 65535)
		return (what);
	return (NULL);
}

static const char *
config_check_webhook(const char *s)
{
	/* The SPEC's notification is an HTTP POST; no file:// or others. */
	if ((strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
	    (strncmp(s, "https://", 8) == 0 && s[8] != '\0'))
		return (NULL);
	return ("not an http:// or https:// URL");
}

static int
config_set_string(struct config *c, const struct config_key *k,
    const char *name, const char *value, char **cause)
{
	const char	*what;
	char		**field = config_field(c, k);

	assert(k->width == sizeof *field);
	if ((what = k->check(value)) != NULL)
		return (config_bad(cause, name, what, value));
	free(*field);
	*field = xstrdup(value);
	return (0);
}

/*
 * Sets key k from value by its kind's setter; name is what the user wrote
 * (the key, or the flag), used in *cause. On failure c is unchanged.
 */
static int
config_set_kind(struct config *c, const struct config_key *k,
    const char *name, const char *value, char **cause)
{
	switch (k->kind) {
	case CONFIG_INT:
	case CONFIG_SIZE:
		return (config_set_int(c, k, name, value, cause));
	case CONFIG_MODE:
		return (config_set_mode(c, k, name, value, cause));
	case CONFIG_FRACTION:
		return (config_set_fraction(c, k, name, value, cause));
	case CONFIG_STRING:
		return (config_set_string(c, k, name, value, cause));
	case CONFIG_UIDS:
		return (config_set_uids(c, k, name, value, cause));
	case CONFIG_TRACTS:
		return (config_set_tracts(c, k, name, value, cause));
	case CONFIG_LEVEL:
		return (config_set_level(c, k, name, value, cause));
	}
	abort();
}

/* Frees what k's field owns and leaves it empty. */
static void
config_free_key(struct config *c, const struct config_key *k)
{
	char	**s;

	switch (k->kind) {
	case CONFIG_STRING:
		s = config_field(c, k);
		free(*s);
		*s = NULL;
		break;
	case CONFIG_TRACTS:
		config_free_tracts(config_field(c, k), *config_count(c, k));
		*config_count(c, k) = 0;
		break;
	default:
		break;
	}
}

static const struct config_key *
config_find_key(const char *key)
{
	size_t	i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].name, key) == 0)
			return (&config_keys[i]);
	}
	return (NULL);
}

const char *
config_key_name(size_t i)
{
	if (i >= CONFIG_NKEYS)
		return (NULL);
	return (config_keys[i].name);
}

char *
config_default_socket(void)
{
	const char	*dir;
	char		*path;

	dir = getenv("XDG_RUNTIME_DIR");
	if (dir == NULL || dir[0] == '\0')
		return (xstrdup("/tmp/callosum.sock"));
	xasprintf(&path, "%s/callosum.sock", dir);
	return (path);
}

static void
config_default_key(struct config *c, const struct config_key *k)
{
	char	*cause = NULL;
	int	 rc;

	if (k->def_run != NULL) {
		/*
		 * Not checked here, where nobody could be told: config_check
		 * does, once a later source has had the chance to replace it.
		 */
		assert(k->kind == CONFIG_STRING);
		*(char **)config_field(c, k) = k->def_run();
		return;
	}
	if (k->def == NULL)
		return;
	rc = config_set_kind(c, k, k->name, k->def, &cause);
	/* A default its own setter refuses is a bug in the table. */
	assert(rc == 0 && cause == NULL);
	(void)rc;
}

/* c is not read: whatever it held is overwritten, not freed. */
void
config_defaults(struct config *c)
{
	size_t	i;

	memset(c, 0, sizeof *c);
	for (i = 0; i < CONFIG_NKEYS; i++)
		config_default_key(c, &config_keys[i]);
}

/* Leaves every pointer NULL, so freeing twice, or a zeroed c, is safe. */
void
config_free(struct config *c)
{
	size_t	i;

	for (i = 0; i < CONFIG_NKEYS; i++)
		config_free_key(c, &config_keys[i]);
}

/* Checks what config_default_key stored unchecked. */
static int
config_check_run_defaults(const struct config *c, char **cause)
{
	const struct config_key	*k;
	const char		*s, *what;
	size_t			 i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		k = &config_keys[i];
		if (k->def_run == NULL)
			continue;
		memcpy(&s, (const char *)c + k->off, sizeof s);
		if (s != NULL && (what = k->check(s)) != NULL)
			return (config_bad(cause, k->name, what, s));
	}
	return (0);
}

int
config_check(const struct config *c, char **cause)
{
	if (config_check_run_defaults(c, cause) != 0)
		return (-1);
	if (c->max_pending > c->max_pending_limit) {
		xasprintf(cause, "max_pending: %" PRIu64 " is above "
		    "max_pending_limit (%" PRIu64 ")", c->max_pending,
		    c->max_pending_limit);
		return (-1);
	}
	/* The memory log must always be able to hold the largest event. */
	if (c->memlog_max_bytes < c->max_frame) {
		xasprintf(cause, "memlog_max_bytes: %" PRIu64 " is below "
		    "max_frame (%" PRIu32 ")", c->memlog_max_bytes,
		    c->max_frame);
		return (-1);
	}
	return (0);
}

int
config_set(struct config *c, const char *key, const char *value,
    char **cause)
{
	const struct config_key	*k;
	char			 q[CONFIG_QUOTE_MAX + 4];

	if ((k = config_find_key(key)) == NULL) {
		xasprintf(cause, "unknown key '%s'",
		    config_quote(key, q, sizeof q));
		return (-1);
	}
	return (config_set_kind(c, k, k->name, value, cause));
}

/* Applies one line; returns 0, or -1 with *cause not yet naming the line. */
static int
config_load_line(struct config *c, char *line, size_t len, char **cause)
{
	char	*key, *value, *eq, *hash;

	if (strlen(line) != len) {
		*cause = xstrdup("NUL byte in line");
		return (-1);
	}
	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	key = config_trim(line);
	if (*key == '\0')
		return (0);
	if ((eq = strchr(key, '=')) == NULL) {
		*cause = xstrdup("expected 'key = value'");
		return (-1);
	}
	*eq = '\0';
	key = config_trim(key);
	value = config_trim(eq + 1);
	if (*key == '\0') {
		*cause = xstrdup("expected 'key = value'");
		return (-1);
	}
	return (config_set(c, key, value, cause));
}

/* A key set twice in a file: the later line wins, as on a command line. */
int
config_load_file(struct config *c, const char *path, char **cause)
{
	FILE	*f;
	char	*line = NULL, *why = NULL;
	size_t	 size = 0, lineno = 0;
	ssize_t	 len;
	int	 rc = -1;

	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while ((len = getline(&line, &size, f)) != -1) {
		lineno++;
		if (config_load_line(c, line, (size_t)len, &why) != 0) {
			xasprintf(cause, "%s:%zu: %s", path, lineno, why);
			free(why);
			goto out;
		}
	}
	/* getline fails at the end, and on a read error (a directory, EIO). */
	if (ferror(f)) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	return (rc);
}

/* One flag's help line. */
static void
config_usage_flag(FILE *f, const struct config_flag *fl)
{
	char	left[64];

	snprintf(left, sizeof left, "--%s%s%s", fl->name,
	    fl->arg != NULL ? " " : "", fl->arg != NULL ? fl->arg : "");
	fprintf(f, "  %-22s %s\n", left, fl->help);
}

static void
config_usage(FILE *f)
{
	size_t	i;

	fputs("usage: callosumd [--socket PATH] [--redis URL] "
	    "[--http ADDR:PORT]\n"
	    "                 [--webhook URL] [--tracts a,b,...] "
	    "[--config FILE]\n"
	    "                 [--log-level LEVEL] [--help] [--version]\n"
	    "The Callosum message router, in the foreground.\n"
	    "Flags take \"--flag VALUE\" or \"--flag=VALUE\".\n\n", f);
	for (i = 0; i < CONFIG_NFLAGS; i++)
		config_usage_flag(f, &config_flags[i]);
	fputs("\nThe default socket is $XDG_RUNTIME_DIR/callosum.sock, else "
	    "/tmp/callosum.sock.\n"
	    "Exit status: 0 after a clean stop, 64 on unusable arguments or "
	    "configuration.\n", f);
}

static const struct config_flag *
config_find_flag(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < CONFIG_NFLAGS; i++) {
		if (strlen(config_flags[i].name) == len &&
		    strncmp(config_flags[i].name, name, len) == 0)
			return (&config_flags[i]);
	}
	return (NULL);
}

/*
 * The flag arg names; *eq points at its '=' if it has one. Returns NULL
 * with *cause when arg is no flag of ours.
 */
static const struct config_flag *
config_arg_flag(const char *arg, const char **eq, char **cause)
{
	const struct config_flag	*fl;
	const char			*name;
	char				 q[CONFIG_QUOTE_MAX + 4], flag[80];

	if (arg[0] != '-' || strcmp(arg, "-") == 0 || strcmp(arg, "--") == 0) {
		xasprintf(cause, "unexpected argument '%s'",
		    config_quote(arg, q, sizeof q));
		return (NULL);
	}
	/* There are no short flags: "-h" is not "--help". */
	*eq = NULL;
	if (arg[1] == '-') {
		name = arg + 2;
		*eq = strchr(name, '=');
		fl = config_find_flag(name,
		    *eq != NULL ? (size_t)(*eq - name) : strlen(name));
		if (fl != NULL)
			return (fl);
	}
	if (*eq != NULL)
		snprintf(flag, sizeof flag, "%.*s", (int)(*eq - arg), arg);
	else
		snprintf(flag, sizeof flag, "%s", arg);
	xasprintf(cause, "unknown flag '%s'", config_quote(flag, q, sizeof q));
	return (NULL);
}

/*
 * Reads argv[*n] into *a, moving *n past a separate value. Returns
 * CONFIG_OK, CONFIG_EXIT once --help or --version has printed, or
 * CONFIG_USAGE with *cause.
 */
static enum config_result
config_parse_arg(int argc, char **argv, int *n, struct config_arg *a,
    char **cause)
{
	const struct config_flag	*fl;
	const char			*eq;

	if ((fl = config_arg_flag(argv[*n], &eq, cause)) == NULL)
		return (CONFIG_USAGE);
	if (fl->arg == NULL) {
		if (eq != NULL) {
			xasprintf(cause, "--%s takes no value", fl->name);
			return (CONFIG_USAGE);
		}
		if (strcmp(fl->name, "help") == 0)
			config_usage(stdout);
		else
			printf("callosumd %s\n", CALLOSUM_VERSION);
		return (CONFIG_EXIT);
	}
	if (eq != NULL)
		a->value = eq + 1;
	else if (*n + 1 < argc && strncmp(argv[*n + 1], "--", 2) != 0)
		a->value = argv[++*n];
	else {
		/*
		 * "--socket --redis x" is a forgotten value, not a socket
		 * named "--redis"; "--socket=--x" still works.
		 */
		xasprintf(cause, "missing value for --%s", fl->name);
		return (CONFIG_USAGE);
	}
	a->flag = fl;
	return (CONFIG_OK);
}

/* The file first, wherever --config stands, so that flags win. */
static int
config_apply_args(struct config *c, const struct config_arg *args,
    size_t nargs, char **cause)
{
	const struct config_key	*k;
	char			 flag[80];
	size_t			 i;

	for (i = 0; i < nargs; i++) {
		if (args[i].flag->key == NULL &&
		    config_load_file(c, args[i].value, cause) != 0)
			return (-1);
	}
	for (i = 0; i < nargs; i++) {
		if (args[i].flag->key == NULL)
			continue;
		k = config_find_key(args[i].flag->key);
		assert(k != NULL);
		snprintf(flag, sizeof flag, "--%s", args[i].flag->name);
		if (config_set_kind(c, k, flag, args[i].value, cause) != 0)
			return (-1);
	}
	return (0);
}

/*
 * On CONFIG_EXIT and CONFIG_USAGE c owns nothing (it has been freed), so a
 * caller that calls config_free anyway does no harm.
 *
 * The command line is read left to right, as getopt would: --help or
 * --version prints at once, before any file is read, unless an earlier
 * argument is bad. Pairs of keys are checked last, when every source has
 * had its say: a flag may mend what the file alone got wrong.
 */
enum config_result
config_from_args(struct config *c, int argc, char **argv, char **cause)
{
	struct config_arg	*args;
	size_t			 nargs = 0;
	int			 n;
	enum config_result	 rc = CONFIG_USAGE;

	config_defaults(c);
	args = xcalloc(argc > 0 ? (size_t)argc : 1, sizeof *args);
	for (n = 1; n < argc; n++) {
		if ((rc = config_parse_arg(argc, argv, &n, &args[nargs],
		    cause)) != CONFIG_OK)
			goto out;
		nargs++;
	}
	rc = CONFIG_USAGE;
	if (config_apply_args(c, args, nargs, cause) != 0 ||
	    config_check(c, cause) != 0)
		goto out;
	rc = CONFIG_OK;
out:
	free(args);
	if (rc != CONFIG_OK)
		config_free(c);
	return (rc);
}
