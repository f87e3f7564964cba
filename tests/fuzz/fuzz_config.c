/*
 * fuzz_config: the config file parser. The input becomes the file given
 * to config_load_file() (over the built-in defaults), then config_check()
 * runs as at start-up. Nothing may crash or leak, a failure must say why,
 * and a config that passes must hold every field in the range config.c
 * documents: the rest of the router relies on it without checking again.
 */
#include <sys/stat.h>
#include <sys/un.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "router/config.h"
#include "router/log.h"
#include "tests/fuzz/fuzz.h"

#define SUN_PATH_MAX	(sizeof ((struct sockaddr_un *)0)->sun_path)

/*
 * One file per process, unlinked at once and reached through /proc, so
 * that nothing is left in the temp directory however the process ends.
 */
/* ADDR:PORT as http.c splits it: a port 1..65535 after the last colon. */
static bool
http_ok(const char *s)
{
	const char	*colon = strrchr(s, ':');
	char		*end;
	long		 port;

	if (colon == NULL || colon == s)
		return (false);
	port = strtol(colon + 1, &end, 10);
	return (*end == '\0' && port >= 1 && port <= 65535);
}

static int	cfg_fd = -1;
static char	cfg_path[64];

static void
cfg_open(void)
{
	const char	*dir = getenv("TMPDIR");
	char		 tmpl[4096];

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	snprintf(tmpl, sizeof tmpl, "%s/fuzz_config.XXXXXX", dir);
	if ((cfg_fd = mkstemp(tmpl)) == -1) {
		perror(tmpl);
		abort();
	}
	unlink(tmpl);
	snprintf(cfg_path, sizeof cfg_path, "/proc/self/fd/%d", cfg_fd);
	/* The default socket path must not depend on who runs the fuzzer. */
	unsetenv("XDG_RUNTIME_DIR");
}

static void
cfg_write(const uint8_t *data, size_t size)
{
	if (ftruncate(cfg_fd, 0) == -1 ||
	    (size > 0 && pwrite(cfg_fd, data, size, 0) != (ssize_t)size)) {
		perror(cfg_path);
		abort();
	}
}

static bool
tract_ok(const char *t)
{
	size_t	len = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-");

	return (len >= 1 && len <= 64 && t[len] == '\0');
}

/* Every field within its row's bounds (config.c) and config_check's. */
static void
check_ranges(const struct config *c)
{
	size_t	i, j;

	FUZZ_CHECK(c->socket != NULL && c->socket[0] != '\0' &&
	    strlen(c->socket) < SUN_PATH_MAX);
	FUZZ_CHECK(c->socket_mode <= 0777);
	FUZZ_CHECK(c->nallow_uids <= CONFIG_MAX_UIDS);
	for (i = 0; i < c->nallow_uids; i++)
		FUZZ_CHECK(c->allow_uids[i] != (uid_t)-1);
	FUZZ_CHECK(c->max_connections >= 1);
	FUZZ_CHECK(c->max_frame >= 64);
	FUZZ_CHECK(c->handshake_timeout_ms >= 1);
	FUZZ_CHECK(c->frame_timeout_ms >= 1);
	FUZZ_CHECK(c->max_subs_per_conn >= 1);
	FUZZ_CHECK(c->output_limit >= 1);
	FUZZ_CHECK(c->max_pending >= 1);
	FUZZ_CHECK(c->max_pending <= c->max_pending_limit);
	FUZZ_CHECK(c->pending_bytes_limit >= 1);
	FUZZ_CHECK(c->busy_poll_us <= CONFIG_BUSY_POLL_MAX_US);
	FUZZ_CHECK(c->breaker_failure_threshold >= 1);
	FUZZ_CHECK(c->breaker_half_open_max >= 1);
	FUZZ_CHECK(c->redis == NULL ||
	    strncmp(c->redis, "unix:///", 8) == 0 ||
	    (strncmp(c->redis, "redis://", 8) == 0 && c->redis[8] != '\0'));
	FUZZ_CHECK(c->redis_prefix != NULL && c->redis_prefix[0] != '\0');
	FUZZ_CHECK(c->redis_timeout_ms >= 1);
	FUZZ_CHECK(c->memlog_max_events >= 1);
	FUZZ_CHECK(c->memlog_max_bytes >= c->max_frame);
	FUZZ_CHECK(c->synth_window >= 1);
	FUZZ_CHECK(isfinite(c->balance_threshold) &&
	    c->balance_threshold >= 0.0 && c->balance_threshold <= 1.0);
	FUZZ_CHECK(c->promote_occurrences >= 1);
	FUZZ_CHECK(c->synth_max_pairs >= 1 && c->synth_max_patterns >= 1);
	FUZZ_CHECK(c->promote_sessions >= 1);
	FUZZ_CHECK(c->promote_models >= 1);
	FUZZ_CHECK(c->webhook == NULL ||
	    (strncmp(c->webhook, "http://", 7) == 0 && c->webhook[7] != '\0') ||
	    (strncmp(c->webhook, "https://", 8) == 0 && c->webhook[8] != '\0'));
	/* The synthesizer's tables bound these (config.c's rows). */
	FUZZ_CHECK(c->synth_window <= 100000);
	FUZZ_CHECK(c->promote_sessions <= 32 && c->promote_models <= 32);
	FUZZ_CHECK(c->synth_enabled <= 1);
	FUZZ_CHECK(c->http == NULL || http_ok(c->http));
	FUZZ_CHECK(c->ntracts >= 1 && c->ntracts <= CONFIG_MAX_TRACTS);
	for (i = 0; i < c->ntracts; i++) {
		FUZZ_CHECK(c->tracts[i] != NULL && tract_ok(c->tracts[i]));
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->tracts[i], c->tracts[j]) != 0);
	}
	for (; i < CONFIG_MAX_TRACTS; i++)
		FUZZ_CHECK(c->tracts[i] == NULL);
	FUZZ_CHECK(c->log_level >= LOG_ERROR && c->log_level <= LOG_DEBUG);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 c;
	char		*cause = NULL;
	const char	*p;
	int		 rc;

	if (cfg_fd == -1)
		cfg_open();
	cfg_write(data, size);
	config_defaults(&c);
	rc = config_load_file(&c, cfg_path, &cause);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK((rc == 0) == (cause == NULL));
	if (rc == 0) {
		rc = config_check(&c, &cause);
		FUZZ_CHECK(rc == 0 || rc == -1);
		FUZZ_CHECK((rc == 0) == (cause == NULL));
		if (rc == 0)
			check_ranges(&c);
	}
	/* A cause is one printable line (config_quote sees to the values). */
	for (p = cause; p != NULL && *p != '\0'; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	free(cause);
	config_free(&c);
	/* config_free leaves c empty: freeing again is harmless. */
	config_free(&c);
	return (0);
}
