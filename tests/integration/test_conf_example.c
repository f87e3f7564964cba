/*
 * tools/callosum.conf.example as the real callosumd reads it: the file as
 * it is, not a copy, passed with --config (the harness adds --socket in its
 * directory, as tools/callosumd.service adds its own).
 * unit/test_config_example.c checks that it lists every key with its
 * default.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#ifndef CALLOSUM_CONF_EXAMPLE
#error "CALLOSUM_CONF_EXAMPLE must name tools/callosum.conf.example"
#endif

#define T	HARNESS_TIMEOUT_MS

/* Starts, serves, warns of nothing, and SIGTERM stops it with exit 0. */
HARNESS_TEST(test_callosumd_runs_on_the_example_and_stops_clean)
{
	const char *const	 args[] = { "--config", CALLOSUM_CONF_EXAMPLE,
				    NULL };
	struct harness		*h = harness_new();
	struct client		*c;
	struct harness_ack	 ack;
	int			 status;

	(void)state;
	harness_router_start(h, NULL, args);
	harness_wait_line(harness_log(h), "info listening", T);
	c = harness_client(h, "example");
	harness_ping(c, T);
	/* The tracts the example declares exist, and the log takes events. */
	harness_pub(c, "internal", "external", "hello", &ack);
	/* redis is unset in the example: the in-memory log. */
	if (strcmp(ack.stored, "memory") != 0)
		HFAIL("stored=%s, want memory", ack.stored);
	status = harness_router_stop(h, SIGTERM, HARNESS_STOP_MS);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		HFAIL("callosumd on the example: want exit 0, got status %d",
		    status);
	harness_wait_line(harness_log(h), "info stopped clean=1", T);
	if (harness_file_count_lines(harness_log(h), " warn ") != 0 ||
	    harness_file_count_lines(harness_log(h), " error ") != 0)
		HFAIL("callosumd warned on the example (see its log)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_callosumd_runs_on_the_example_and_stops_clean),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
