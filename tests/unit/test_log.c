/*
 * test_log: one line per event, "TIMESTAMP LEVEL EVENT key=value", level
 * filtering, and client text that cannot forge a second line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "router/log.h"

/* Runs fn with stderr sent to a temp file; returns what it wrote. */
static char *
capture(void (*fn)(void))
{
	char	 path[] = "/tmp/test_log.XXXXXX";
	char	*buf;
	int	 fd, saved;
	long	 n;
	FILE	*f;

	assert_true((fd = mkstemp(path)) != -1);
	saved = dup(2);
	dup2(fd, 2);
	fn();
	dup2(saved, 2);
	close(saved);
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	assert_int_equal(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return (buf);
}

static void
emit_info(void)
{
	log_set_level(LOG_INFO);
	log_info("conn", "open", "conn=%d uid=%u", 3, 0u);
	log_debug("conn", "hidden", "x=%d", 1);
}

static void
emit_forged(void)
{
	log_set_level(LOG_INFO);
	log_warn("conn", "hello", "agent=%s", "evil\ninfo forged=1");
}

static void
test_log_line_has_level_timestamp_component_event_and_pairs(void **state)
{
	char	*out, *ts;

	(void)state;
	out = capture(emit_info);
	/* "info " then 2026-11-23T20:41:07.123Z: 24 characters, the rest. */
	assert_true(strlen(out) > 5 + 24);
	assert_memory_equal(out, "info ", 5);
	ts = out + 5;
	assert_int_equal(ts[4], '-');
	assert_int_equal(ts[10], 'T');
	assert_int_equal(ts[19], '.');
	assert_int_equal(ts[23], 'Z');
	assert_string_equal(ts + 24, " conn open conn=3 uid=0\n");
	free(out);
}

static void
test_log_control_bytes_cannot_forge_a_line(void **state)
{
	char	*out, *nl;

	(void)state;
	out = capture(emit_forged);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');		/* exactly one line */
	assert_memory_equal(out, "warn ", 5);
	assert_non_null(strstr(out, " conn hello agent=evil?info forged=1"));
	free(out);
}

static void
test_log_level_parse_and_filter(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("error"), LOG_ERROR);
	assert_int_equal(log_level_parse("warn"), LOG_WARN);
	assert_int_equal(log_level_parse("info"), LOG_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(log_level_parse("loud"), -1);
	log_set_level(LOG_WARN);
	assert_true(log_enabled(LOG_ERROR));
	assert_true(log_enabled(LOG_WARN));
	assert_false(log_enabled(LOG_INFO));
	log_set_level(LOG_INFO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_log_line_has_level_timestamp_component_event_and_pairs),
		cmocka_unit_test(test_log_control_bytes_cannot_forge_a_line),
		cmocka_unit_test(test_log_level_parse_and_filter),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
