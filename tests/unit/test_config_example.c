/*
 * test_config_example: tools/callosum.conf.example against the router's own
 * key table (config_key_name), so that a key added to router/config.c
 * without a line in the example fails here. Each key has exactly one line:
 * "key = DEFAULT", or "#key = VALUE" (unset: no fixed default, or a feature
 * not built yet) with a value the key accepts. The file loads through the
 * router's parser to exactly the built-in defaults. And
 * tools/callosumd.service gives the drain time to finish before systemd
 * kills the router.
 *
 * integration/test_conf_example.c starts the real callosumd on the file.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "router/config.h"

#ifndef CALLOSUM_CONF_EXAMPLE
#error "CALLOSUM_CONF_EXAMPLE must name tools/callosum.conf.example"
#endif
#ifndef CALLOSUM_SERVICE
#error "CALLOSUM_SERVICE must name tools/callosumd.service"
#endif

#define EXAMPLE_LINES_MAX	512
/* After drain_timeout_ms the router allows 2 s for byes (ADR 0011). */
#define DRAIN_BYE_MS		2000

/* One "key = value" line of the example, set or left unset. */
struct setting {
	char	*key;
	char	*value;
	bool	 unset;		/* "#key = value" */
	char	*about;		/* the comment lines just above, joined */
	int	 lineno;
};

struct example {
	struct setting	v[EXAMPLE_LINES_MAX];
	size_t		n;
};

/* Trims blanks around s in place, as the router's parser does. */
static char *
trim(char *s)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return (s);
}

/*
 * "#key = value": '#' then a key's letters, no blank between. A prose
 * comment is "#" alone or "# " and text. Anything else is neither.
 */
static bool
is_unset_setting(const char *line)
{
	size_t	len;

	if (line[0] != '#')
		return (false);
	len = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
	return (len > 0 && strncmp(line + 1 + len, " = ", 3) == 0);
}

static void
append(char **about, const char *text)
{
	size_t	old = *about != NULL ? strlen(*about) : 0;

	*about = realloc(*about, old + strlen(text) + 2);
	assert_non_null(*about);
	if (old == 0)
		(*about)[0] = '\0';
	else
		strcat(*about, " ");
	strcat(*about, text);
}

/* Reads the example's settings; fails on a line of no known shape. */
static void
example_read(struct example *ex)
{
	FILE		*f;
	char		*line = NULL, *about = NULL, *s, *eq, *hash;
	size_t		 size = 0;
	int		 lineno = 0;
	struct setting	*st;

	memset(ex, 0, sizeof *ex);
	f = fopen(CALLOSUM_CONF_EXAMPLE, "r");
	if (f == NULL)
		fail_msg("cannot open %s", CALLOSUM_CONF_EXAMPLE);
	while (getline(&line, &size, f) != -1) {
		lineno++;
		s = trim(line);
		if (*s == '\0') {
			free(about);
			about = NULL;
			continue;
		}
		if (strcmp(s, "#") == 0 || strncmp(s, "# ", 2) == 0) {
			append(&about, trim(s + 1));
			continue;
		}
		if (s[0] == '#' && !is_unset_setting(s))
			fail_msg("%s:%d: neither \"# text\" nor "
			    "\"#key = value\"", CALLOSUM_CONF_EXAMPLE, lineno);
		assert_true(ex->n < EXAMPLE_LINES_MAX);
		st = &ex->v[ex->n++];
		st->unset = s[0] == '#';
		st->lineno = lineno;
		if (st->unset)
			s++;
		/* What the router's parser would keep: up to a '#'. */
		if (!st->unset && (hash = strchr(s, '#')) != NULL)
			*hash = '\0';
		if ((eq = strchr(s, '=')) == NULL)
			fail_msg("%s:%d: no '='", CALLOSUM_CONF_EXAMPLE,
			    lineno);
		*eq = '\0';
		st->key = strdup(trim(s));
		st->value = strdup(trim(eq + 1));
		st->about = about;
		about = NULL;
		assert_non_null(st->key);
		assert_non_null(st->value);
	}
	free(about);
	free(line);
	fclose(f);
}

static void
example_free(struct example *ex)
{
	size_t	i;

	for (i = 0; i < ex->n; i++) {
		free(ex->v[i].key);
		free(ex->v[i].value);
		free(ex->v[i].about);
	}
}

static bool
router_knows(const char *key)
{
	const char	*name;
	size_t		 i;

	for (i = 0; (name = config_key_name(i)) != NULL; i++) {
		if (strcmp(name, key) == 0)
			return (true);
	}
	return (false);
}

static void
test_example_has_a_line_for_every_key(void **state)
{
	struct example	 ex;
	const char	*name;
	size_t		 i, j, n;

	(void)state;
	example_read(&ex);
	for (i = 0; (name = config_key_name(i)) != NULL; i++) {
		n = 0;
		for (j = 0; j < ex.n; j++)
			n += strcmp(ex.v[j].key, name) == 0;
		if (n != 1)
			fail_msg("%s: %zu lines for key '%s', want 1 (set to "
			    "its default, or \"#%s = ...\" with a comment)",
			    CALLOSUM_CONF_EXAMPLE, n, name, name);
	}
	assert_true(i > 0);
	example_free(&ex);
}

static void
test_example_names_only_keys_the_router_knows(void **state)
{
	struct example	ex;
	size_t		i;

	(void)state;
	example_read(&ex);
	for (i = 0; i < ex.n; i++) {
		if (!router_knows(ex.v[i].key))
			fail_msg("%s:%d: '%s' is no key of router/config.c",
			    CALLOSUM_CONF_EXAMPLE, ex.v[i].lineno,
			    ex.v[i].key);
	}
	example_free(&ex);
}

/* Every setting has its one-line explanation (or more) just above. */
static void
test_example_explains_every_key(void **state)
{
	struct example	ex;
	size_t		i;

	(void)state;
	example_read(&ex);
	for (i = 0; i < ex.n; i++) {
		if (ex.v[i].about == NULL)
			fail_msg("%s:%d: '%s' has no comment above it",
			    CALLOSUM_CONF_EXAMPLE, ex.v[i].lineno,
			    ex.v[i].key);
	}
	example_free(&ex);
}

/*
 * Strings and lists compared by content, then every other byte: both were
 * zeroed before any key was set (config_defaults), so padding is equal
 * too. A new pointer field makes them differ until it is compared here.
 */
static bool
config_equal(const struct config *x, const struct config *y)
{
	struct config	 a, b;
	char		**fa[] = { &a.socket, &a.redis, &a.redis_prefix,
			    &a.webhook, &a.http };
	char		**fb[] = { &b.socket, &b.redis, &b.redis_prefix,
			    &b.webhook, &b.http };
	size_t		 i;

	memcpy(&a, x, sizeof a);
	memcpy(&b, y, sizeof b);
	for (i = 0; i < sizeof fa / sizeof fa[0]; i++) {
		if ((*fa[i] == NULL) != (*fb[i] == NULL) ||
		    (*fa[i] != NULL && strcmp(*fa[i], *fb[i]) != 0))
			return (false);
		*fa[i] = *fb[i] = NULL;
	}
	if (a.ntracts != b.ntracts)
		return (false);
	for (i = 0; i < a.ntracts; i++) {
		if (strcmp(a.tracts[i], b.tracts[i]) != 0)
			return (false);
		a.tracts[i] = b.tracts[i] = NULL;
	}
	return (memcmp(&a, &b, sizeof a) == 0);
}

/* Each "key = value" line, alone over the defaults, changes nothing. */
static void
test_example_sets_each_key_to_its_default(void **state)
{
	struct example	 ex;
	struct config	 want, got;
	struct setting	*st;
	char		*cause = NULL;
	size_t		 i;

	(void)state;
	example_read(&ex);
	for (i = 0; i < ex.n; i++) {
		st = &ex.v[i];
		if (st->unset)
			continue;
		config_defaults(&want);
		config_defaults(&got);
		if (config_set(&got, st->key, st->value, &cause) != 0)
			fail_msg("%s:%d: %s", CALLOSUM_CONF_EXAMPLE,
			    st->lineno, cause);
		if (!config_equal(&want, &got))
			fail_msg("%s:%d: '%s = %s' is not the default",
			    CALLOSUM_CONF_EXAMPLE, st->lineno, st->key,
			    st->value);
		config_free(&want);
		config_free(&got);
	}
	example_free(&ex);
}

/*
 * The whole file through the router's own parser and cross-key checks, as
 * --config reads it: it loads, and to the defaults.
 */
static void
test_example_loads_to_the_defaults(void **state)
{
	struct config	 want, got;
	char		*cause = NULL;

	(void)state;
	config_defaults(&want);
	config_defaults(&got);
	if (config_load_file(&got, CALLOSUM_CONF_EXAMPLE, &cause) != 0 ||
	    config_check(&got, &cause) != 0)
		fail_msg("%s", cause);
	if (!config_equal(&want, &got))
		fail_msg("%s does not load to the defaults",
		    CALLOSUM_CONF_EXAMPLE);
	config_free(&want);
	config_free(&got);
}

/*
 * A "#key = value" line shows a value the key takes; a key the build
 * refuses ("not available yet") says "not built yet" above it, and only
 * such a key does, so the comment goes stale when the feature lands.
 */
static void
test_example_unset_lines_hold_good_values(void **state)
{
	struct example	 ex;
	struct config	 c;
	struct setting	*st;
	char		*cause;
	bool		 unbuilt, says;
	size_t		 i;

	(void)state;
	example_read(&ex);
	for (i = 0; i < ex.n; i++) {
		st = &ex.v[i];
		if (!st->unset)
			continue;
		cause = NULL;
		config_defaults(&c);
		unbuilt = false;
		if (config_set(&c, st->key, st->value, &cause) != 0) {
			if (strstr(cause, "not available yet") == NULL)
				fail_msg("%s:%d: %s", CALLOSUM_CONF_EXAMPLE,
				    st->lineno, cause);
			unbuilt = true;
		}
		free(cause);
		config_free(&c);
		says = st->about != NULL &&
		    strstr(st->about, "not built yet") != NULL;
		if (unbuilt != says)
			fail_msg("%s:%d: '%s' is %s, but its comment %s \"not "
			    "built yet\"", CALLOSUM_CONF_EXAMPLE, st->lineno,
			    st->key, unbuilt ? "refused by this build" :
			    "accepted", says ? "says" : "does not say");
	}
	example_free(&ex);
}

/*
 * SIGTERM drains for up to drain_timeout_ms, then 2 s of byes: systemd
 * must not SIGKILL the router before, or logged events may not reach
 * Redis.
 */
static void
test_service_stop_timeout_outlasts_the_drain(void **state)
{
	struct config	 c;
	FILE		*f;
	char		*line = NULL, *end;
	size_t		 size = 0;
	long		 sec = -1;

	(void)state;
	f = fopen(CALLOSUM_SERVICE, "r");
	if (f == NULL)
		fail_msg("cannot open %s", CALLOSUM_SERVICE);
	while (getline(&line, &size, f) != -1) {
		if (strncmp(line, "TimeoutStopSec=", 15) != 0)
			continue;
		sec = strtol(line + 15, &end, 10);
		/* Plain seconds, or with "s": no other unit is expected. */
		if (*end == 's')
			end++;
		if (end == line + 15 || *trim(end) != '\0')
			fail_msg("TimeoutStopSec: '%s' is not N or Ns", line);
	}
	free(line);
	fclose(f);
	if (sec < 0)
		fail_msg("%s: no TimeoutStopSec=", CALLOSUM_SERVICE);
	config_defaults(&c);
	if (sec * 1000 <= (long)c.drain_timeout_ms + DRAIN_BYE_MS)
		fail_msg("TimeoutStopSec=%lds: not above drain_timeout_ms "
		    "%u + %d", sec, c.drain_timeout_ms, DRAIN_BYE_MS);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_has_a_line_for_every_key),
		cmocka_unit_test(
		    test_example_names_only_keys_the_router_knows),
		cmocka_unit_test(test_example_explains_every_key),
		cmocka_unit_test(test_example_sets_each_key_to_its_default),
		cmocka_unit_test(test_example_loads_to_the_defaults),
		cmocka_unit_test(test_example_unset_lines_hold_good_values),
		cmocka_unit_test(test_service_stop_timeout_outlasts_the_drain)
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
