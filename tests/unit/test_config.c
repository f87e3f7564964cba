/*
 * test_config: defaults, every key, the file format and the command line
 * of callosumd, through router/config.h. Built with ASan, a leak in
 * config_free or on an error path fails the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "router/config.h"
#include "router/log.h"

#define nitems(a)	(sizeof (a) / sizeof (a)[0])

/* Writes text to a new file under /tmp; returns its path (caller frees). */
static char *
write_temp(const char *text)
{
	char	*path;
	int	 fd;
	size_t	 len = strlen(text);

	path = strdup("/tmp/callosum-test-config-XXXXXX");
	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return (path);
}

static void
remove_temp(char *path)
{
	assert_int_equal(unlink(path), 0);
	free(path);
}

/*
 * Runs config_from_args with stdout sent to a temp file; returns what was
 * printed (caller frees).
 */
static char *
from_args_stdout(struct config *c, int argc, char **argv, char **cause,
    enum config_result *rc)
{
	char	 path[] = "/tmp/callosum-test-stdout-XXXXXX";
	char	*out;
	int	 fd, saved;
	off_t	 len;

	fd = mkstemp(path);
	assert_true(fd != -1);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fd, STDOUT_FILENO) != -1);

	*rc = config_from_args(c, argc, argv, cause);

	fflush(stdout);
	assert_true(dup2(saved, STDOUT_FILENO) != -1);
	close(saved);
	len = lseek(fd, 0, SEEK_END);
	assert_true(len >= 0);
	out = calloc(1, (size_t)len + 1);
	assert_non_null(out);
	assert_int_equal(pread(fd, out, (size_t)len, 0), len);
	close(fd);
	unlink(path);
	return (out);
}

static int
setup_env(void **state)
{
	const char	*xdg = getenv("XDG_RUNTIME_DIR");

	*state = xdg != NULL ? strdup(xdg) : NULL;
	/* Most tests expect the plain default socket. */
	unsetenv("XDG_RUNTIME_DIR");
	return (0);
}

static int
teardown_env(void **state)
{
	if (*state != NULL) {
		setenv("XDG_RUNTIME_DIR", *state, 1);
		free(*state);
	} else
		unsetenv("XDG_RUNTIME_DIR");
	return (0);
}

static void
test_config_defaults_match_spec_table(void **state)
{
	struct config	c;

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.socket, "/tmp/callosum.sock");
	assert_int_equal(c.socket_mode, 0600);
	assert_int_equal(c.nallow_uids, 0);
	assert_int_equal(c.max_connections, 1024);
	assert_int_equal(c.max_frame, 1048576);
	assert_int_equal(c.handshake_timeout_ms, 2000);
	assert_int_equal(c.frame_timeout_ms, 10000);
	assert_int_equal(c.drain_timeout_ms, 5000);
	assert_int_equal(c.max_subs_per_conn, 256);
	assert_int_equal(c.output_limit, 8 * 1024 * 1024);
	assert_int_equal(c.max_pending, 1024);
	assert_int_equal(c.max_pending_limit, 1048576);
	assert_int_equal(c.pending_bytes_limit, 67108864);
	assert_int_equal(c.publish_timeout_ms, 100);
	assert_int_equal(c.busy_poll_us, 0);
	assert_int_equal(c.breaker_failure_threshold, 5);
	assert_int_equal(c.breaker_reset_timeout_ms, 30000);
	assert_int_equal(c.breaker_half_open_max, 1);
	assert_null(c.redis);
	assert_string_equal(c.redis_prefix, "callosum:");
	assert_int_equal(c.redis_maxlen, 0);
	assert_int_equal(c.redis_timeout_ms, 500);
	assert_int_equal(c.memlog_max_events, 1000000);
	assert_int_equal(c.memlog_max_bytes, 268435456);
	assert_int_equal(c.synth_window, 100);
	assert_true(c.balance_threshold == 0.7);
	assert_int_equal(c.promote_occurrences, 3);
	assert_int_equal(c.promote_sessions, 2);
	assert_int_equal(c.promote_models, 2);
	assert_null(c.webhook);
	assert_int_equal(c.webhook_retries, 5);
	assert_null(c.http);
	assert_int_equal(c.ntracts, 2);
	assert_string_equal(c.tracts[0], "internal");
	assert_string_equal(c.tracts[1], "external");
	assert_int_equal(c.log_level, LOG_INFO);
	config_free(&c);
}

static void
test_config_defaults_pass_config_check(void **state)
{
	struct config	 c;
	char		*cause = NULL;

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_check(&c, &cause), 0);
	assert_null(cause);
	config_free(&c);
}

static void
test_config_default_socket_follows_xdg_runtime_dir(void **state)
{
	struct config	 c;
	char		*path;

	(void)state;
	assert_int_equal(setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1), 0);
	path = config_default_socket();
	assert_string_equal(path, "/run/user/1000/callosum.sock");
	free(path);
	config_defaults(&c);
	assert_string_equal(c.socket, "/run/user/1000/callosum.sock");
	config_free(&c);

	assert_int_equal(setenv("XDG_RUNTIME_DIR", "", 1), 0);
	path = config_default_socket();
	assert_string_equal(path, "/tmp/callosum.sock");
	free(path);

	assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
	path = config_default_socket();
	assert_string_equal(path, "/tmp/callosum.sock");
	free(path);
}

/* Sets key to value and fails the test on an error, showing the cause. */
static void
set_ok(struct config *c, const char *key, const char *value)
{
	char	*cause = NULL;
	int	 rc;

	rc = config_set(c, key, value, &cause);
	if (rc != 0)
		fail_msg("%s = %s: %s", key, value, cause);
	assert_null(cause);
}

static void
test_config_set_sets_every_key(void **state)
{
	struct config	c;

	(void)state;
	config_defaults(&c);
	set_ok(&c, "socket", "/run/callosum/router.sock");
	set_ok(&c, "socket_mode", "0660");
	set_ok(&c, "allow_uids", "0,1000,65534");
	set_ok(&c, "max_connections", "4096");
	set_ok(&c, "max_frame", "65536");
	set_ok(&c, "handshake_timeout_ms", "5000");
	set_ok(&c, "max_subs_per_conn", "16");
	set_ok(&c, "output_limit", "1048576");
	set_ok(&c, "frame_timeout_ms", "250");
	set_ok(&c, "drain_timeout_ms", "0");
	set_ok(&c, "max_pending", "99");
	set_ok(&c, "max_pending_limit", "4096");
	set_ok(&c, "pending_bytes_limit", "1M");
	set_ok(&c, "publish_timeout_ms", "0");
	set_ok(&c, "busy_poll_us", "50");
	set_ok(&c, "breaker_failure_threshold", "10");
	set_ok(&c, "breaker_reset_timeout_ms", "1500");
	set_ok(&c, "breaker_half_open_max", "3");
	set_ok(&c, "redis", "unix:///run/redis/redis.sock");
	set_ok(&c, "redis_prefix", "app:");
	set_ok(&c, "redis_maxlen", "18446744073709551615");
	set_ok(&c, "redis_timeout_ms", "250");
	set_ok(&c, "memlog_max_events", "5000");
	set_ok(&c, "memlog_max_bytes", "2G");
	set_ok(&c, "synth_window", "50");
	set_ok(&c, "balance_threshold", "0.25");
	set_ok(&c, "promote_occurrences", "7");
	set_ok(&c, "promote_sessions", "4");
	set_ok(&c, "promote_models", "5");
	set_ok(&c, "webhook_retries", "0");
	set_ok(&c, "tracts", "alpha,beta.2,gamma-3,_d");
	set_ok(&c, "log_level", "debug");

	assert_string_equal(c.socket, "/run/callosum/router.sock");
	assert_int_equal(c.socket_mode, 0660);
	assert_int_equal(c.nallow_uids, 3);
	assert_int_equal(c.allow_uids[0], 0);
	assert_int_equal(c.allow_uids[1], 1000);
	assert_int_equal(c.allow_uids[2], 65534);
	assert_int_equal(c.max_connections, 4096);
	assert_int_equal(c.max_frame, 65536);
	assert_int_equal(c.handshake_timeout_ms, 5000);
	assert_int_equal(c.max_subs_per_conn, 16);
	assert_int_equal(c.output_limit, 1048576);
	assert_int_equal(c.frame_timeout_ms, 250);
	assert_int_equal(c.drain_timeout_ms, 0);
	assert_int_equal(c.max_pending, 99);
	assert_int_equal(c.max_pending_limit, 4096);
	assert_int_equal(c.pending_bytes_limit, 1048576);
	assert_int_equal(c.publish_timeout_ms, 0);
	assert_int_equal(c.busy_poll_us, 50);
	assert_int_equal(c.breaker_failure_threshold, 10);
	assert_int_equal(c.breaker_reset_timeout_ms, 1500);
	assert_int_equal(c.breaker_half_open_max, 3);
	assert_string_equal(c.redis, "unix:///run/redis/redis.sock");
	assert_string_equal(c.redis_prefix, "app:");
	assert_true(c.redis_maxlen == UINT64_MAX);
	assert_int_equal(c.redis_timeout_ms, 250);
	assert_int_equal(c.memlog_max_events, 5000);
	assert_int_equal(c.memlog_max_bytes, 2147483648);
	assert_int_equal(c.synth_window, 50);
	assert_true(c.balance_threshold == 0.25);
	assert_int_equal(c.promote_occurrences, 7);
	assert_int_equal(c.promote_sessions, 4);
	assert_int_equal(c.promote_models, 5);
	assert_null(c.webhook);
	assert_int_equal(c.webhook_retries, 0);
	assert_null(c.http);
	assert_int_equal(c.ntracts, 4);
	assert_string_equal(c.tracts[0], "alpha");
	assert_string_equal(c.tracts[1], "beta.2");
	assert_string_equal(c.tracts[2], "gamma-3");
	assert_string_equal(c.tracts[3], "_d");
	assert_int_equal(c.log_level, LOG_DEBUG);
	config_free(&c);
}

static void
test_config_accepts_edge_values(void **state)
{
	struct config	c;
	char		name[65];

	(void)state;
	config_defaults(&c);
	set_ok(&c, "socket_mode", "600");
	assert_int_equal(c.socket_mode, 0600);
	set_ok(&c, "socket_mode", "0777");
	assert_int_equal(c.socket_mode, 0777);
	set_ok(&c, "max_frame", "64");
	assert_int_equal(c.max_frame, 64);
	set_ok(&c, "max_frame", "4294967295");
	assert_int_equal(c.max_frame, UINT32_MAX);
	set_ok(&c, "max_connections", "4294967295");
	assert_int_equal(c.max_connections, UINT32_MAX);
	set_ok(&c, "balance_threshold", "0");
	assert_true(c.balance_threshold == 0.0);
	set_ok(&c, "balance_threshold", "1");
	assert_true(c.balance_threshold == 1.0);
	set_ok(&c, "balance_threshold", "5e-1");
	assert_true(c.balance_threshold == 0.5);
	set_ok(&c, "frame_timeout_ms", "1");
	assert_int_equal(c.frame_timeout_ms, 1);
	set_ok(&c, "frame_timeout_ms", "4294967295");
	assert_int_equal(c.frame_timeout_ms, UINT32_MAX);
	set_ok(&c, "drain_timeout_ms", "4294967295");
	assert_int_equal(c.drain_timeout_ms, UINT32_MAX);
	set_ok(&c, "max_pending_limit", "1");
	assert_int_equal(c.max_pending_limit, 1);
	set_ok(&c, "max_pending_limit", "18446744073709551615");
	assert_true(c.max_pending_limit == UINT64_MAX);
	set_ok(&c, "pending_bytes_limit", "1");
	assert_int_equal(c.pending_bytes_limit, 1);
	set_ok(&c, "memlog_max_bytes", "1");
	assert_int_equal(c.memlog_max_bytes, 1);
	set_ok(&c, "memlog_max_bytes", "18446744073709551615");
	assert_true(c.memlog_max_bytes == UINT64_MAX);
	set_ok(&c, "allow_uids", "4294967294");
	assert_int_equal(c.nallow_uids, 1);
	assert_int_equal(c.allow_uids[0], 4294967294u);
	set_ok(&c, "allow_uids", "");
	assert_int_equal(c.nallow_uids, 0);
	set_ok(&c, "allow_uids", " 1000 , 1001 ");
	assert_int_equal(c.nallow_uids, 2);
	assert_int_equal(c.allow_uids[0], 1000);
	assert_int_equal(c.allow_uids[1], 1001);

	memset(name, 'x', 64);
	name[64] = '\0';
	set_ok(&c, "tracts", name);
	assert_int_equal(c.ntracts, 1);
	assert_string_equal(c.tracts[0], name);
	set_ok(&c, "tracts", " a , b ");
	assert_int_equal(c.ntracts, 2);
	assert_string_equal(c.tracts[0], "a");
	assert_string_equal(c.tracts[1], "b");
	set_ok(&c, "log_level", "error");
	assert_int_equal(c.log_level, LOG_ERROR);
	set_ok(&c, "log_level", "warn");
	assert_int_equal(c.log_level, LOG_WARN);
	set_ok(&c, "log_level", "info");
	assert_int_equal(c.log_level, LOG_INFO);
	config_free(&c);
}

static void
test_config_sizes_take_binary_suffixes(void **state)
{
	static const struct {
		const char	*value;
		uint64_t	 bytes;
	} sizes[] = {
		{ "100", 100 },
		{ "4k", 4096 }, { "4K", 4096 }, { "4KiB", 4096 },
		{ "2m", 2097152 }, { "2M", 2097152 }, { "2MiB", 2097152 },
		{ "1g", 1073741824 }, { "1G", 1073741824 },
		{ "1GiB", 1073741824 }
	};
	struct config	c;
	size_t		i;

	(void)state;
	config_defaults(&c);
	for (i = 0; i < nitems(sizes); i++) {
		set_ok(&c, "output_limit", sizes[i].value);
		assert_int_equal(c.output_limit, sizes[i].bytes);
		set_ok(&c, "max_pending", sizes[i].value);
		assert_int_equal(c.max_pending, sizes[i].bytes);
		set_ok(&c, "memlog_max_events", sizes[i].value);
		assert_int_equal(c.memlog_max_events, sizes[i].bytes);
		set_ok(&c, "max_pending_limit", sizes[i].value);
		assert_int_equal(c.max_pending_limit, sizes[i].bytes);
		set_ok(&c, "pending_bytes_limit", sizes[i].value);
		assert_int_equal(c.pending_bytes_limit, sizes[i].bytes);
		set_ok(&c, "memlog_max_bytes", sizes[i].value);
		assert_int_equal(c.memlog_max_bytes, sizes[i].bytes);
		set_ok(&c, "max_frame", sizes[i].value);
		assert_int_equal(c.max_frame, sizes[i].bytes);
	}
	set_ok(&c, "max_frame", "4095M");
	assert_int_equal(c.max_frame, 4095u * 1048576u);
	set_ok(&c, "output_limit", "16777215G");
	assert_int_equal(c.output_limit, (uint64_t)16777215 << 30);
	config_free(&c);
}

/* Each case: setting key to value fails with exactly this cause. */
static const struct {
	const char	*key;
	const char	*value;
	const char	*cause;
} bad_values[] = {
	{ "max_pending", "abc", "max_pending: not a positive integer: 'abc'" },
	{ "max_pending", "0", "max_pending: not a positive integer: '0'" },
	{ "max_pending", "", "max_pending: not a positive integer: ''" },
	{ "max_pending", "1T", "max_pending: not a positive integer: '1T'" },
	{ "max_pending", "a\nb", "max_pending: not a positive integer: 'a?b'" },
	{ "max_connections", "-1",
	  "max_connections: not a positive integer: '-1'" },
	{ "max_connections", "+5",
	  "max_connections: not a positive integer: '+5'" },
	{ "max_connections", " 5",
	  "max_connections: not a positive integer: ' 5'" },
	{ "max_connections", "0x10",
	  "max_connections: not a positive integer: '0x10'" },
	{ "max_connections", "4294967296",
	  "max_connections: out of range (1..4294967295): '4294967296'" },
	{ "max_connections", "1k",
	  "max_connections: not a positive integer: '1k'" },
	{ "max_connections", "0",
	  "max_connections: not a positive integer: '0'" },
	{ "max_frame", "63", "max_frame: out of range (64..4294967295): '63'" },
	{ "max_frame", "0", "max_frame: out of range (64..4294967295): '0'" },
	{ "max_frame", "4G", "max_frame: out of range (64..4294967295): '4G'" },
	{ "max_frame", "4294967296",
	  "max_frame: out of range (64..4294967295): '4294967296'" },
	{ "output_limit", "0", "output_limit: not a positive integer: '0'" },
	{ "output_limit", "8MB",
	  "output_limit: not a positive integer: '8MB'" },
	{ "output_limit", "8 MiB",
	  "output_limit: not a positive integer: '8 MiB'" },
	{ "output_limit", "8kib",
	  "output_limit: not a positive integer: '8kib'" },
	{ "output_limit", "k", "output_limit: not a positive integer: 'k'" },
	{ "output_limit", "17179869184G",
	  "output_limit: not a positive integer: '17179869184G'" },
	{ "output_limit", "18446744073709551616",
	  "output_limit: not a positive integer: '18446744073709551616'" },
	{ "memlog_max_events", "0",
	  "memlog_max_events: not a positive integer: '0'" },
	{ "max_pending_limit", "0",
	  "max_pending_limit: not a positive integer: '0'" },
	{ "max_pending_limit", "-5",
	  "max_pending_limit: not a positive integer: '-5'" },
	{ "max_pending_limit", "18446744073709551616",
	  "max_pending_limit: not a positive integer: "
	  "'18446744073709551616'" },
	{ "pending_bytes_limit", "0",
	  "pending_bytes_limit: not a positive integer: '0'" },
	{ "pending_bytes_limit", "64MB",
	  "pending_bytes_limit: not a positive integer: '64MB'" },
	{ "pending_bytes_limit", "17179869184G",
	  "pending_bytes_limit: not a positive integer: '17179869184G'" },
	{ "memlog_max_bytes", "0",
	  "memlog_max_bytes: not a positive integer: '0'" },
	{ "memlog_max_bytes", "256 MiB",
	  "memlog_max_bytes: not a positive integer: '256 MiB'" },
	{ "frame_timeout_ms", "0",
	  "frame_timeout_ms: not a positive integer: '0'" },
	{ "frame_timeout_ms", "10s",
	  "frame_timeout_ms: not a positive integer: '10s'" },
	{ "frame_timeout_ms", "4294967296",
	  "frame_timeout_ms: out of range (1..4294967295): '4294967296'" },
	{ "drain_timeout_ms", "-1",
	  "drain_timeout_ms: not an unsigned integer: '-1'" },
	{ "drain_timeout_ms", "5k",
	  "drain_timeout_ms: not an unsigned integer: '5k'" },
	{ "drain_timeout_ms", "4294967296",
	  "drain_timeout_ms: out of range (0..4294967295): '4294967296'" },
	{ "max_subs_per_conn", "0",
	  "max_subs_per_conn: not a positive integer: '0'" },
	{ "synth_window", "0", "synth_window: not a positive integer: '0'" },
	{ "synth_window", "100001",
	  "synth_window: out of range (1..100000): '100001'" },
	{ "promote_sessions", "33",
	  "promote_sessions: out of range (1..32): '33'" },
	{ "synth_enabled", "2", "synth_enabled: out of range (0..1): '2'" },
	{ "breaker_failure_threshold", "0",
	  "breaker_failure_threshold: not a positive integer: '0'" },
	{ "breaker_half_open_max", "0",
	  "breaker_half_open_max: not a positive integer: '0'" },
	{ "promote_occurrences", "0",
	  "promote_occurrences: not a positive integer: '0'" },
	{ "promote_sessions", "0",
	  "promote_sessions: not a positive integer: '0'" },
	{ "promote_models", "0",
	  "promote_models: not a positive integer: '0'" },
	{ "handshake_timeout_ms", "0",
	  "handshake_timeout_ms: not a positive integer: '0'" },
	{ "redis_timeout_ms", "0",
	  "redis_timeout_ms: not a positive integer: '0'" },
	{ "publish_timeout_ms", "-1",
	  "publish_timeout_ms: not an unsigned integer: '-1'" },
	{ "busy_poll_us", "1000001",
	  "busy_poll_us: out of range (0..1000000): '1000001'" },
	{ "breaker_reset_timeout_ms", "1.5",
	  "breaker_reset_timeout_ms: not an unsigned integer: '1.5'" },
	{ "webhook_retries", "many",
	  "webhook_retries: not an unsigned integer: 'many'" },
	{ "redis_maxlen", "1k", "redis_maxlen: not an unsigned integer: '1k'" },
	{ "socket_mode", "0800",
	  "socket_mode: not an octal mode up to 0777: '0800'" },
	{ "socket_mode", "1777",
	  "socket_mode: not an octal mode up to 0777: '1777'" },
	{ "socket_mode", "", "socket_mode: not an octal mode up to 0777: ''" },
	{ "socket_mode", "rw",
	  "socket_mode: not an octal mode up to 0777: 'rw'" },
	{ "balance_threshold", "1.5",
	  "balance_threshold: not a number in [0,1]: '1.5'" },
	{ "balance_threshold", "-0.1",
	  "balance_threshold: not a number in [0,1]: '-0.1'" },
	{ "balance_threshold", "nan",
	  "balance_threshold: not a number in [0,1]: 'nan'" },
	{ "balance_threshold", "0x1p-1",
	  "balance_threshold: not a number in [0,1]: '0x1p-1'" },
	{ "balance_threshold", "",
	  "balance_threshold: not a number in [0,1]: ''" },
	{ "balance_threshold", ".",
	  "balance_threshold: not a number in [0,1]: '.'" },
	{ "log_level", "verbose",
	  "log_level: not error, warn, info or debug: 'verbose'" },
	{ "log_level", "INFO",
	  "log_level: not error, warn, info or debug: 'INFO'" },
	{ "allow_uids", "1000,x", "allow_uids: not a uid: 'x'" },
	{ "allow_uids", "-1", "allow_uids: not a uid: '-1'" },
	{ "allow_uids", "4294967295", "allow_uids: not a uid: '4294967295'" },
	{ "allow_uids", "1000,", "allow_uids: not a uid: ''" },
	{ "tracts", "", "tracts: at least one tract is needed" },
	{ "tracts", " ", "tracts: at least one tract is needed" },
	{ "tracts", "a,a", "tracts: duplicate tract: 'a'" },
	{ "tracts", "a,$sys", "tracts: reserved tract name: '$sys'" },
	{ "tracts", "a b", "tracts: bad tract name: 'a b'" },
	{ "tracts", "a,,b", "tracts: bad tract name: ''" },
	{ "tracts", "a/b", "tracts: bad tract name: 'a/b'" },
	{ "redis", "localhost:6379",
	  "redis: not unix:///PATH or redis://HOST:PORT: 'localhost:6379'" },
	{ "redis", "unix://",
	  "redis: not unix:///PATH or redis://HOST:PORT: 'unix://'" },
	{ "redis", "unix://run/redis.sock",
	  "redis: "
	  "not unix:///PATH or redis://HOST:PORT: 'unix://run/redis.sock'" },
	{ "redis", "redis://",
	  "redis: not unix:///PATH or redis://HOST:PORT: 'redis://'" },
	{ "redis", "", "redis: not unix:///PATH or redis://HOST:PORT: ''" },
	{ "http", "9090", "http: not ADDR:PORT with a port 1..65535: '9090'" },
	{ "http", ":9090",
	  "http: not ADDR:PORT with a port 1..65535: ':9090'" },
	{ "http", "127.0.0.1:",
	  "http: not ADDR:PORT with a port 1..65535: '127.0.0.1:'" },
	{ "http", "127.0.0.1:0",
	  "http: not ADDR:PORT with a port 1..65535: '127.0.0.1:0'" },
	{ "http", "127.0.0.1:65536",
	  "http: not ADDR:PORT with a port 1..65535: '127.0.0.1:65536'" },
	{ "http", "::1:80x",
	  "http: not ADDR:PORT with a port 1..65535: '::1:80x'" },
	{ "webhook", "ftp://example.com/",
	  "webhook: not an http:// or https:// URL: 'ftp://example.com/'" },
	{ "webhook", "https://",
	  "webhook: not an http:// or https:// URL: 'https://'" },
	{ "redis_prefix", "", "redis_prefix: empty: ''" },
	{ "socket", "", "socket: not a socket path of 1 to 107 bytes: ''" },
};

static void
test_config_bad_values_fail_with_a_cause_naming_the_key(void **state)
{
	struct config	 c;
	char		*cause;
	size_t		 i;

	(void)state;
	config_defaults(&c);
	for (i = 0; i < nitems(bad_values); i++) {
		cause = NULL;
		if (config_set(&c, bad_values[i].key, bad_values[i].value,
		    &cause) != -1)
			fail_msg("%s = '%s' was accepted", bad_values[i].key,
			    bad_values[i].value);
		assert_non_null(cause);
		assert_string_equal(cause, bad_values[i].cause);
		free(cause);
	}
	config_free(&c);
}

static void
test_config_bad_value_leaves_the_field_unchanged(void **state)
{
	struct config	 c;
	char		*cause = NULL, *socket;

	(void)state;
	config_defaults(&c);
	socket = c.socket;
	assert_int_equal(config_set(&c, "socket", "", &cause), -1);
	free(cause);
	assert_ptr_equal(c.socket, socket);
	assert_string_equal(c.socket, "/tmp/callosum.sock");

	assert_int_equal(config_set(&c, "max_pending", "0", &cause), -1);
	free(cause);
	assert_int_equal(c.max_pending, 1024);

	assert_int_equal(config_set(&c, "tracts", "x,y,x", &cause), -1);
	free(cause);
	assert_int_equal(c.ntracts, 2);
	assert_string_equal(c.tracts[0], "internal");
	assert_string_equal(c.tracts[1], "external");

	set_ok(&c, "allow_uids", "7");
	assert_int_equal(config_set(&c, "allow_uids", "8,nine", &cause), -1);
	free(cause);
	assert_int_equal(c.nallow_uids, 1);
	assert_int_equal(c.allow_uids[0], 7);
	config_free(&c);
}

static void
test_config_long_bad_value_is_cut_in_the_cause(void **state)
{
	struct config	 c;
	char		 value[201], *cause = NULL, want[128];

	(void)state;
	memset(value, 'z', 200);
	value[200] = '\0';
	snprintf(want, sizeof want, "max_pending: not a positive integer: "
	    "'%.64s...'", value);
	config_defaults(&c);
	assert_int_equal(config_set(&c, "max_pending", value, &cause), -1);
	assert_string_equal(cause, want);
	free(cause);
	config_free(&c);
}

static void
test_config_list_limits_are_enforced(void **state)
{
	struct config	 c;
	char		 list[8192], *cause = NULL, name[66];
	size_t		 i, len;

	(void)state;
	config_defaults(&c);

	for (len = 0, i = 0; i < CONFIG_MAX_UIDS + 1; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%zu",
		    i == 0 ? "" : ",", i);
	assert_int_equal(config_set(&c, "allow_uids", list, &cause), -1);
	assert_string_equal(cause, "allow_uids: more than 64 uids");
	free(cause);
	cause = NULL;
	*strrchr(list, ',') = '\0';
	set_ok(&c, "allow_uids", list);
	assert_int_equal(c.nallow_uids, CONFIG_MAX_UIDS);
	assert_int_equal(c.allow_uids[63], 63);

	for (len = 0, i = 0; i < CONFIG_MAX_TRACTS + 1; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%st%zu",
		    i == 0 ? "" : ",", i);
	assert_int_equal(config_set(&c, "tracts", list, &cause), -1);
	assert_string_equal(cause, "tracts: more than 256 tracts");
	free(cause);
	cause = NULL;
	*strrchr(list, ',') = '\0';
	set_ok(&c, "tracts", list);
	assert_int_equal(c.ntracts, CONFIG_MAX_TRACTS);
	assert_string_equal(c.tracts[255], "t255");

	memset(name, 'x', 65);
	name[65] = '\0';
	assert_int_equal(config_set(&c, "tracts", name, &cause), -1);
	snprintf(list, sizeof list, "tracts: bad tract name: '%.64s...'", name);
	assert_string_equal(cause, list);
	free(cause);
	assert_int_equal(c.ntracts, CONFIG_MAX_TRACTS);
	config_free(&c);
}

static void
test_config_unknown_key_is_rejected(void **state)
{
	struct config	 c;
	char		*cause = NULL;

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "foo", "1", &cause), -1);
	assert_string_equal(cause, "unknown key 'foo'");
	free(cause);
	cause = NULL;
	assert_int_equal(config_set(&c, "Socket", "/tmp/x.sock", &cause), -1);
	assert_string_equal(cause, "unknown key 'Socket'");
	free(cause);
	config_free(&c);
}

static void
test_config_file_skips_comments_blank_lines_and_whitespace(void **state)
{
	struct config	 c;
	char		*path, *cause = NULL;

	(void)state;
	path = write_temp(
	    "# callosumd test configuration\n"
	    "\n"
	    "   \t \n"
	    "max_pending = 2048   # a comment after the value\n"
	    "  socket_mode=0640\n"
	    "tracts =  a, b ,c\n"
	    "\tlog_level\t=\tdebug\t\n"
	    "redis_prefix = app:\r\n"
	    "   # an indented comment = ignored\n"
	    "allow_uids =\n"
	    "max_pending = 4k\n"
	    "synth_window = 9");	/* no final newline */
	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, &cause), 0);
	assert_null(cause);
	assert_int_equal(c.max_pending, 4096);	/* the later line wins */
	assert_int_equal(c.socket_mode, 0640);
	assert_int_equal(c.ntracts, 3);
	assert_string_equal(c.tracts[0], "a");
	assert_string_equal(c.tracts[1], "b");
	assert_string_equal(c.tracts[2], "c");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_string_equal(c.redis_prefix, "app:");
	assert_int_equal(c.nallow_uids, 0);
	assert_int_equal(c.synth_window, 9);
	config_free(&c);
	remove_temp(path);
}

static void
test_config_file_bad_line_names_file_and_line(void **state)
{
	static const struct {
		const char	*text;
		const char	*cause;	/* after "PATH:" */
	} cases[] = {
		{ "# ok\nmax_pending = 1\nmax_frame = 10\n",
		  "3: max_frame: out of range (64..4294967295): '10'" },
		{ "\nmax_pending 1\n", "2: expected 'key = value'" },
		{ "= 5\n", "1: expected 'key = value'" },
		{ "nope = 1\n", "1: unknown key 'nope'" },
		{ "max_pending = # no value\n",
		  "1: max_pending: not a positive integer: ''" }
	};
	struct config	 c;
	char		*path, *cause, want[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		path = write_temp(cases[i].text);
		cause = NULL;
		config_defaults(&c);
		assert_int_equal(config_load_file(&c, path, &cause), -1);
		snprintf(want, sizeof want, "%s:%s", path, cases[i].cause);
		assert_string_equal(cause, want);
		free(cause);
		config_free(&c);
		remove_temp(path);
	}
}

static void
test_config_missing_file_is_an_error(void **state)
{
	struct config	 c;
	char		*path, *cause = NULL, want[256];

	(void)state;
	path = write_temp("");
	assert_int_equal(unlink(path), 0);
	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, &cause), -1);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(cause, want);
	free(cause);
	cause = NULL;

	assert_int_equal(config_load_file(&c, "/tmp", &cause), -1);
	assert_string_equal(cause, "/tmp: Is a directory");
	free(cause);
	config_free(&c);
	free(path);
}

static void
test_config_flags_win_over_the_file_in_any_order(void **state)
{
	struct config	 c;
	char		*path, *cause = NULL;
	char		*before[] = { "callosumd", "--config", NULL,
			    "--socket", "/tmp/flag.sock", "--log-level", "warn",
			    NULL };
	char		*after[] = { "callosumd", "--socket", "/tmp/flag.sock",
			    "--log-level", "warn", "--config", NULL, NULL };

	(void)state;
	path = write_temp("socket = /tmp/file.sock\n"
	    "log_level = debug\n"
	    "max_pending = 7\n");
	before[2] = path;
	after[6] = path;

	assert_int_equal(config_from_args(&c, 7, before, &cause), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(c.socket, "/tmp/flag.sock");
	assert_int_equal(c.log_level, LOG_WARN);
	assert_int_equal(c.max_pending, 7);
	config_free(&c);

	assert_int_equal(config_from_args(&c, 7, after, &cause), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(c.socket, "/tmp/flag.sock");
	assert_int_equal(c.log_level, LOG_WARN);
	assert_int_equal(c.max_pending, 7);
	config_free(&c);
	remove_temp(path);
}

static void
test_config_flags_take_the_equals_form(void **state)
{
	struct config	 c;
	char		*path, *cause = NULL, config_arg[128];
	char		*argv[] = { "callosumd", "--socket=/tmp/eq.sock",
			    "--tracts=x,y", config_arg, "--log-level=error",
			    "--socket", "/tmp/last.sock", NULL };

	(void)state;
	path = write_temp("max_frame = 128k\n");
	snprintf(config_arg, sizeof config_arg, "--config=%s", path);
	assert_int_equal(config_from_args(&c, 7, argv, &cause), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(c.socket, "/tmp/last.sock");	/* last wins */
	assert_int_equal(c.ntracts, 2);
	assert_string_equal(c.tracts[0], "x");
	assert_string_equal(c.tracts[1], "y");
	assert_int_equal(c.log_level, LOG_ERROR);
	assert_int_equal(c.max_frame, 131072);
	config_free(&c);
	remove_temp(path);
}

static void
test_config_no_flags_gives_the_defaults(void **state)
{
	struct config	 c;
	char		*cause = NULL;
	char		*argv[] = { "callosumd", NULL };

	(void)state;
	assert_int_equal(config_from_args(&c, 1, argv, &cause), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(c.socket, "/tmp/callosum.sock");
	assert_int_equal(c.ntracts, 2);
	assert_int_equal(c.max_frame, 1048576);
	config_free(&c);
}

static void
test_config_help_lists_every_flag_and_exits(void **state)
{
	static const char	*flags[] = { "--socket PATH", "--redis URL",
	    "--http ADDR:PORT", "--webhook URL", "--tracts a,b",
	    "--config FILE", "--log-level LEVEL", "--help", "--version" };
	struct config		 c;
	char			*out, *cause = NULL;
	/* --help wins over a config file it never reads. */
	char			*argv[] = { "callosumd", "--config",
				    "/nonexistent/callosum.conf", "--help",
				    "--bogus", NULL };
	enum config_result	 rc;
	size_t			 i;

	(void)state;
	out = from_args_stdout(&c, 5, argv, &cause, &rc);
	assert_int_equal(rc, CONFIG_EXIT);
	assert_null(cause);
	assert_true(strncmp(out, "usage: callosumd ", 17) == 0);
	for (i = 0; i < nitems(flags); i++) {
		if (strstr(out, flags[i]) == NULL)
			fail_msg("help lacks '%s'", flags[i]);
	}
	free(out);
	config_free(&c);	/* harmless: c owns nothing after CONFIG_EXIT */
}

static void
test_config_version_prints_the_version_and_exits(void **state)
{
	struct config		 c;
	char			*out, *cause = NULL;
	char			*argv[] = { "callosumd", "--version", NULL };
	enum config_result	 rc;

	(void)state;
	out = from_args_stdout(&c, 2, argv, &cause, &rc);
	assert_int_equal(rc, CONFIG_EXIT);
	assert_null(cause);
	assert_string_equal(out, "callosumd " CALLOSUM_VERSION "\n");
	free(out);
	config_free(&c);
}

static void
test_config_bad_command_lines_are_usage_errors(void **state)
{
	static const struct {
		int		 argc;
		const char	*argv[4];
		const char	*cause;
	} cases[] = {
		{ 2, { "callosumd", "--bogus" }, "unknown flag '--bogus'" },
		{ 2, { "callosumd", "--bogus=1" }, "unknown flag '--bogus'" },
		{ 2, { "callosumd", "-h" }, "unknown flag '-h'" },
		{ 2, { "callosumd", "--sock" }, "unknown flag '--sock'" },
		{ 2, { "callosumd", "--socket" },
		  "missing value for --socket" },
		{ 4, { "callosumd", "--socket", "--redis", "redis://h:1" },
		  "missing value for --socket" },
		{ 2, { "callosumd", "stray" }, "unexpected argument 'stray'" },
		{ 3, { "callosumd", "--socket=/tmp/a.sock", "extra" },
		  "unexpected argument 'extra'" },
		{ 2, { "callosumd", "--" }, "unexpected argument '--'" },
		{ 2, { "callosumd", "--help=yes" }, "--help takes no value" },
		{ 3, { "callosumd", "--log-level", "loud" },
		  "--log-level: not error, warn, info or debug: 'loud'" },
		{ 2, { "callosumd", "--tracts=a,$b" },
		  "--tracts: reserved tract name: '$b'" },
		{ 2, { "callosumd", "--http=9090" },
		  "--http: not ADDR:PORT with a port 1..65535: '9090'" },
		{ 3, { "callosumd", "--redis", "localhost" },
		  "--redis: not unix:///PATH or redis://HOST:PORT: "
		  "'localhost'" },
		{ 2, { "callosumd", "--webhook=ftp://h/" },
		  "--webhook: not an http:// or https:// URL: 'ftp://h/'" },
		{ 3, { "callosumd", "--config", "/nonexistent/callosum.conf" },
		  "/nonexistent/callosum.conf: No such file or directory" }
	};
	struct config	 c;
	char		*cause, *argv[5];
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		memset(argv, 0, sizeof argv);
		memcpy(argv, cases[i].argv, sizeof cases[i].argv);
		cause = NULL;
		assert_int_equal(config_from_args(&c, cases[i].argc, argv,
		    &cause), CONFIG_USAGE);
		assert_non_null(cause);
		assert_string_equal(cause, cases[i].cause);
		assert_null(strchr(cause, '\n'));
		free(cause);
		config_free(&c);
	}
}

static void
test_config_bad_file_line_through_flags_is_usage_error(void **state)
{
	struct config	 c;
	char		*path, *cause = NULL, want[256];
	char		*argv[] = { "callosumd", "--config", NULL, NULL };

	(void)state;
	path = write_temp("socket_mode = 0600\nmax_pending = lots\n");
	argv[2] = path;
	assert_int_equal(config_from_args(&c, 3, argv, &cause), CONFIG_USAGE);
	snprintf(want, sizeof want,
	    "%s:2: max_pending: not a positive integer: 'lots'", path);
	assert_string_equal(cause, want);
	free(cause);
	config_free(&c);
	remove_temp(path);
}

static void
test_config_free_then_fill_again_leaks_nothing(void **state)
{
	struct config	c;

	(void)state;
	config_defaults(&c);
	set_ok(&c, "socket", "/tmp/one.sock");
	set_ok(&c, "socket", "/tmp/two.sock");
	set_ok(&c, "redis_prefix", "p:");
	set_ok(&c, "redis_prefix", "q:");
	set_ok(&c, "tracts", "a,b,c");
	set_ok(&c, "tracts", "d");
	config_free(&c);
	assert_null(c.socket);
	assert_null(c.redis);
	assert_null(c.redis_prefix);
	assert_null(c.webhook);
	assert_null(c.http);
	assert_int_equal(c.ntracts, 0);
	config_free(&c);	/* a second free is harmless */

	config_defaults(&c);
	set_ok(&c, "redis_prefix", "r:");
	assert_string_equal(c.redis_prefix, "r:");
	assert_string_equal(c.socket, "/tmp/callosum.sock");
	assert_int_equal(c.ntracts, 2);
	config_free(&c);
}

/* Runs --help; returns what it printed (caller frees). */
static char *
help_text(void)
{
	struct config		 c;
	char			*out, *cause = NULL;
	char			*argv[] = { "callosumd", "--help", NULL };
	enum config_result	 rc;

	out = from_args_stdout(&c, 2, argv, &cause, &rc);
	assert_int_equal(rc, CONFIG_EXIT);
	assert_null(cause);
	config_free(&c);
	return (out);
}

/* Every feature is built: the help marks none as missing. */
static void
test_config_help_lists_http_and_webhook(void **state)
{
	char	*out;

	(void)state;
	out = help_text();
	assert_null(strstr(out, "not available"));
	assert_non_null(strstr(out, "\n  --http ADDR:PORT       serve "
	    "/metrics, /stats.json and a dashboard\n  --webhook URL"));
	assert_non_null(strstr(out, "\n  --webhook URL          POST candidate "
	    "notifications to this URL\n  --tracts a,b,..."));
	free(out);
}

/*
 * For every key: a valid value other than its default, and the bytes of
 * struct config it owns (its field, and a list's count). Setting it may
 * change those bytes and no other.
 */
#define FIELD(f)	offsetof(struct config, f), \
			sizeof(((struct config *)0)->f)
#define NOCOUNT		0, 0
static const struct {
	const char	*key;
	const char	*value;
	size_t		 off, len;
	size_t		 noff, nlen;
} key_fields[] = {
	{ "socket", "/tmp/other.sock", FIELD(socket), NOCOUNT },
	{ "socket_mode", "0640", FIELD(socket_mode), NOCOUNT },
	{ "allow_uids", "1000", FIELD(allow_uids), FIELD(nallow_uids) },
	{ "max_connections", "9", FIELD(max_connections), NOCOUNT },
	{ "max_frame", "4096", FIELD(max_frame), NOCOUNT },
	{ "handshake_timeout_ms", "9", FIELD(handshake_timeout_ms), NOCOUNT },
	{ "frame_timeout_ms", "9", FIELD(frame_timeout_ms), NOCOUNT },
	{ "drain_timeout_ms", "9", FIELD(drain_timeout_ms), NOCOUNT },
	{ "max_subs_per_conn", "9", FIELD(max_subs_per_conn), NOCOUNT },
	{ "output_limit", "9", FIELD(output_limit), NOCOUNT },
	{ "max_pending", "9", FIELD(max_pending), NOCOUNT },
	{ "max_pending_limit", "9", FIELD(max_pending_limit), NOCOUNT },
	{ "pending_bytes_limit", "9", FIELD(pending_bytes_limit), NOCOUNT },
	{ "publish_timeout_ms", "9", FIELD(publish_timeout_ms), NOCOUNT },
	{ "busy_poll_us", "9", FIELD(busy_poll_us), NOCOUNT },
	{ "breaker_failure_threshold", "9", FIELD(breaker_failure_threshold),
	  NOCOUNT },
	{ "breaker_reset_timeout_ms", "9", FIELD(breaker_reset_timeout_ms),
	  NOCOUNT },
	{ "breaker_half_open_max", "9", FIELD(breaker_half_open_max),
	  NOCOUNT },
	{ "redis", "redis://localhost:6379", FIELD(redis), NOCOUNT },
	{ "redis_prefix", "app:", FIELD(redis_prefix), NOCOUNT },
	{ "redis_maxlen", "9", FIELD(redis_maxlen), NOCOUNT },
	{ "redis_timeout_ms", "9", FIELD(redis_timeout_ms), NOCOUNT },
	{ "memlog_max_events", "9", FIELD(memlog_max_events), NOCOUNT },
	{ "memlog_max_bytes", "9", FIELD(memlog_max_bytes), NOCOUNT },
	{ "synth_enabled", "0", FIELD(synth_enabled), NOCOUNT },
	{ "synth_window", "9", FIELD(synth_window), NOCOUNT },
	{ "synth_max_pairs", "9", FIELD(synth_max_pairs), NOCOUNT },
	{ "synth_max_patterns", "9", FIELD(synth_max_patterns), NOCOUNT },
	{ "synth_snapshot_events", "9", FIELD(synth_snapshot_events),
	  NOCOUNT },
	{ "balance_threshold", "0.25", FIELD(balance_threshold), NOCOUNT },
	{ "promote_occurrences", "9", FIELD(promote_occurrences), NOCOUNT },
	{ "promote_sessions", "9", FIELD(promote_sessions), NOCOUNT },
	{ "promote_models", "9", FIELD(promote_models), NOCOUNT },
	{ "webhook", "https://example.com/hook", FIELD(webhook), NOCOUNT },
	{ "webhook_retries", "9", FIELD(webhook_retries), NOCOUNT },
	{ "http", "127.0.0.1:9090", FIELD(http), NOCOUNT },
	{ "tracts", "solo", FIELD(tracts), FIELD(ntracts) },
	{ "log_level", "debug", FIELD(log_level), NOCOUNT }
};
#undef FIELD
#undef NOCOUNT

static int
in_range(size_t j, size_t off, size_t len)
{
	return (j >= off && j < off + len);
}

/* Sets key_fields[i] on a defaults config and compares it byte by byte. */
static void
set_and_compare(size_t i)
{
	struct config	 c, before;
	unsigned char	*now = (unsigned char *)&c;
	unsigned char	*was = (unsigned char *)&before;
	size_t		 j;

	config_defaults(&c);
	memcpy(&before, &c, sizeof c);
	set_ok(&c, key_fields[i].key, key_fields[i].value);
	for (j = 0; j < sizeof c; j++) {
		if (in_range(j, key_fields[i].off, key_fields[i].len) ||
		    in_range(j, key_fields[i].noff, key_fields[i].nlen))
			continue;
		if (now[j] != was[j])
			fail_msg("%s wrote byte %zu of struct config",
			    key_fields[i].key, j);
	}
	/*
	 * A string field may get the address just freed back from
	 * malloc: compare what it says, not where it lives.
	 */
	if (strcmp(key_fields[i].key, "socket") == 0 ||
	    strcmp(key_fields[i].key, "redis_prefix") == 0)
		assert_string_equal(*(char **)(now + key_fields[i].off),
		    key_fields[i].value);
	else
		assert_memory_not_equal(now + key_fields[i].off,
		    was + key_fields[i].off, key_fields[i].len);
	config_free(&c);
}

static void
test_config_every_setter_writes_only_its_own_field(void **state)
{
	const char	*name;
	size_t		 i, n;

	(void)state;
	/* Every row has a case, and every case a row. */
	for (n = 0; (name = config_key_name(n)) != NULL; n++) {
		for (i = 0; i < nitems(key_fields); i++) {
			if (strcmp(key_fields[i].key, name) == 0)
				break;
		}
		if (i == nitems(key_fields))
			fail_msg("key '%s' has no case in key_fields", name);
		set_and_compare(i);
	}
	assert_int_equal(n, nitems(key_fields));
	assert_null(config_key_name(n + 1));
}

/* http and webhook take a valid value; a typo is still a typo. */
static void
test_config_http_and_webhook_take_valid_values(void **state)
{
	struct config	 c;
	char		*cause = NULL;

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_set(&c, "webhook",
	    "https://hooks.example.com/callosum", &cause), 0);
	assert_string_equal(c.webhook, "https://hooks.example.com/callosum");
	assert_int_equal(config_set(&c, "http", "[::1]:65535", &cause), 0);
	assert_string_equal(c.http, "[::1]:65535");
	assert_int_equal(config_set(&c, "http", "127.0.0.1", &cause), -1);
	assert_string_equal(cause,
	    "http: not ADDR:PORT with a port 1..65535: '127.0.0.1'");
	free(cause);
	config_free(&c);
}

/* ADR 0012: a config file written for the SPEC loads. */
static void
test_config_tuning_keys_of_unbuilt_features_are_accepted(void **state)
{
	struct config	 c;
	char		*path, *cause = NULL;
	char		*argv[] = { "callosumd", "--config", NULL, NULL };

	(void)state;
	path = write_temp("breaker_failure_threshold = 7\n"
	    "breaker_reset_timeout_ms = 1000\n"
	    "breaker_half_open_max = 2\n"
	    "redis_prefix = app:\n"
	    "redis_maxlen = 100000\n"
	    "redis_timeout_ms = 200\n"
	    "synth_window = 40\n"
	    "balance_threshold = 0.5\n"
	    "promote_occurrences = 4\n"
	    "promote_sessions = 3\n"
	    "promote_models = 1\n"
	    "webhook_retries = 2\n");
	argv[2] = path;
	assert_int_equal(config_from_args(&c, 3, argv, &cause), CONFIG_OK);
	assert_null(cause);
	assert_int_equal(c.breaker_failure_threshold, 7);
	assert_int_equal(c.breaker_reset_timeout_ms, 1000);
	assert_int_equal(c.breaker_half_open_max, 2);
	assert_string_equal(c.redis_prefix, "app:");
	assert_int_equal(c.redis_maxlen, 100000);
	assert_int_equal(c.redis_timeout_ms, 200);
	assert_int_equal(c.synth_window, 40);
	assert_true(c.balance_threshold == 0.5);
	assert_int_equal(c.promote_occurrences, 4);
	assert_int_equal(c.promote_sessions, 3);
	assert_int_equal(c.promote_models, 1);
	assert_int_equal(c.webhook_retries, 2);
	config_free(&c);
	remove_temp(path);
}

/* config_check on c; expects cause, or success when cause is NULL. */
static void
check_is(const struct config *c, const char *want)
{
	char	*cause = NULL;

	if (want == NULL) {
		assert_int_equal(config_check(c, &cause), 0);
		assert_null(cause);
		return;
	}
	assert_int_equal(config_check(c, &cause), -1);
	assert_string_equal(cause, want);
	free(cause);
}

static void
test_config_check_max_pending_not_above_its_limit(void **state)
{
	struct config	c;

	(void)state;
	config_defaults(&c);
	set_ok(&c, "max_pending", "1048576");
	check_is(&c, NULL);
	set_ok(&c, "max_pending", "1048577");
	check_is(&c,
	    "max_pending: 1048577 is above max_pending_limit (1048576)");
	set_ok(&c, "max_pending_limit", "2M");
	check_is(&c, NULL);
	set_ok(&c, "max_pending_limit", "1");
	set_ok(&c, "max_pending", "1");
	check_is(&c, NULL);
	set_ok(&c, "max_pending", "2");
	check_is(&c, "max_pending: 2 is above max_pending_limit (1)");
	config_free(&c);
}

static void
test_config_check_memlog_max_bytes_not_below_max_frame(void **state)
{
	struct config	c;

	(void)state;
	config_defaults(&c);
	set_ok(&c, "memlog_max_bytes", "1M");
	check_is(&c, NULL);	/* exactly one largest event */
	set_ok(&c, "memlog_max_bytes", "1048575");
	check_is(&c, "memlog_max_bytes: 1048575 is below max_frame (1048576)");
	set_ok(&c, "max_frame", "64k");
	check_is(&c, NULL);
	set_ok(&c, "max_frame", "4095M");
	set_ok(&c, "memlog_max_bytes", "4G");
	check_is(&c, NULL);
	set_ok(&c, "memlog_max_bytes", "4094M");
	check_is(&c,
	    "memlog_max_bytes: 4292870144 is below max_frame (4293918720)");
	config_free(&c);
}

/*
 * Each case: the files given with --config, in order, and what
 * config_from_args says (NULL: CONFIG_OK). Pairs are checked once every
 * source is in, so the order of lines and files does not matter.
 */
static void
test_config_check_runs_after_every_source(void **state)
{
	static const struct {
		const char	*file1;
		const char	*file2;
		const char	*cause;
	} cases[] = {
		{ "max_pending_limit = 100\n", "max_pending = 200\n",
		  "max_pending: 200 is above max_pending_limit (100)" },
		{ "max_pending = 200\n", "max_pending_limit = 100\n",
		  "max_pending: 200 is above max_pending_limit (100)" },
		{ "max_pending = 2M\n", "max_pending_limit = 4M\n", NULL },
		{ "max_pending = 2M\nmax_pending_limit = 4M\n", "", NULL },
		{ "max_pending_limit = 10\nmax_pending = 10\n",
		  "max_pending_limit = 9\n",
		  "max_pending: 10 is above max_pending_limit (9)" },
		{ "memlog_max_bytes = 64k\n", "max_frame = 64k\n", NULL },
		{ "memlog_max_bytes = 64k\n", "",
		  "memlog_max_bytes: 65536 is below max_frame (1048576)" },
		{ "max_frame = 2M\n", "", NULL },
		{ "max_frame = 512M\n", "",
		  "memlog_max_bytes: 268435456 is below max_frame (536870912)" }
	};
	struct config	 c;
	char		*path1, *path2, *cause;
	char		*argv[] = { "callosumd", "--config", NULL,
			    "--log-level", "warn", "--config", NULL, NULL };
	size_t		 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		path1 = write_temp(cases[i].file1);
		path2 = write_temp(cases[i].file2);
		argv[2] = path1;
		argv[6] = path2;
		cause = NULL;
		if (cases[i].cause == NULL) {
			assert_int_equal(config_from_args(&c, 7, argv, &cause),
			    CONFIG_OK);
			assert_null(cause);
			assert_int_equal(c.log_level, LOG_WARN);
		} else {
			assert_int_equal(config_from_args(&c, 7, argv, &cause),
			    CONFIG_USAGE);
			assert_string_equal(cause, cases[i].cause);
			free(cause);
		}
		config_free(&c);
		remove_temp(path1);
		remove_temp(path2);
	}
}

/*
 * The default socket under a long $XDG_RUNTIME_DIR cannot be bound: that
 * is a usage error, unless a file or a flag names another socket.
 */
static void
test_config_too_long_default_socket_is_usage_error(void **state)
{
	struct config	 c;
	char		 dir[101], want[256], *cause = NULL, *path;
	char		*bare[] = { "callosumd", NULL };
	char		*flag[] = { "callosumd", "--socket", "/tmp/s.sock",
			    NULL };
	char		*file[] = { "callosumd", "--config", NULL, NULL };

	(void)state;
	dir[0] = '/';
	memset(dir + 1, 'd', 99);
	dir[100] = '\0';	/* + "/callosum.sock": 114 bytes */
	assert_int_equal(setenv("XDG_RUNTIME_DIR", dir, 1), 0);

	assert_int_equal(config_from_args(&c, 1, bare, &cause), CONFIG_USAGE);
	snprintf(want, sizeof want,
	    "socket: not a socket path of 1 to 107 bytes: '%.64s...'", dir);
	assert_string_equal(cause, want);
	free(cause);
	cause = NULL;
	config_free(&c);

	assert_int_equal(config_from_args(&c, 3, flag, &cause), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(c.socket, "/tmp/s.sock");
	config_free(&c);

	path = write_temp("socket = /tmp/f.sock\n");
	file[2] = path;
	assert_int_equal(config_from_args(&c, 3, file, &cause), CONFIG_OK);
	assert_null(cause);
	assert_string_equal(c.socket, "/tmp/f.sock");
	config_free(&c);
	remove_temp(path);
	assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
}

static void
test_log_level_parse_knows_the_four_levels(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("error"), LOG_ERROR);
	assert_int_equal(log_level_parse("warn"), LOG_WARN);
	assert_int_equal(log_level_parse("info"), LOG_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(log_level_parse("warning"), -1);
	assert_int_equal(log_level_parse(""), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults_match_spec_table),
		cmocka_unit_test(test_config_defaults_pass_config_check),
		cmocka_unit_test(
		    test_config_default_socket_follows_xdg_runtime_dir),
		cmocka_unit_test(test_config_set_sets_every_key),
		cmocka_unit_test(test_config_accepts_edge_values),
		cmocka_unit_test(test_config_sizes_take_binary_suffixes),
		cmocka_unit_test(
		    test_config_bad_values_fail_with_a_cause_naming_the_key),
		cmocka_unit_test(
		    test_config_bad_value_leaves_the_field_unchanged),
		cmocka_unit_test(
		    test_config_long_bad_value_is_cut_in_the_cause),
		cmocka_unit_test(test_config_list_limits_are_enforced),
		cmocka_unit_test(test_config_unknown_key_is_rejected),
		cmocka_unit_test(
		    test_config_file_skips_comments_blank_lines_and_whitespace),
		cmocka_unit_test(test_config_file_bad_line_names_file_and_line),
		cmocka_unit_test(test_config_missing_file_is_an_error),
		cmocka_unit_test(
		    test_config_flags_win_over_the_file_in_any_order),
		cmocka_unit_test(test_config_flags_take_the_equals_form),
		cmocka_unit_test(test_config_no_flags_gives_the_defaults),
		cmocka_unit_test(test_config_help_lists_every_flag_and_exits),
		cmocka_unit_test(
		    test_config_version_prints_the_version_and_exits),
		cmocka_unit_test(
		    test_config_bad_command_lines_are_usage_errors),
		cmocka_unit_test(
		    test_config_bad_file_line_through_flags_is_usage_error),
		cmocka_unit_test(
		    test_config_free_then_fill_again_leaks_nothing),
		cmocka_unit_test(
		    test_config_help_lists_http_and_webhook),
		cmocka_unit_test(
		    test_config_every_setter_writes_only_its_own_field),
		cmocka_unit_test(
		    test_config_http_and_webhook_take_valid_values),
		cmocka_unit_test(
		    test_config_tuning_keys_of_unbuilt_features_are_accepted),
		cmocka_unit_test(
		    test_config_check_max_pending_not_above_its_limit),
		cmocka_unit_test(
		    test_config_check_memlog_max_bytes_not_below_max_frame),
		cmocka_unit_test(test_config_check_runs_after_every_source),
		cmocka_unit_test(
		    test_config_too_long_default_socket_is_usage_error),
		cmocka_unit_test(test_log_level_parse_knows_the_four_levels)
	};

	return (cmocka_run_group_tests(tests, setup_env, teardown_env));
}
