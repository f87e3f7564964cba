/*
 * test_dashboard: the page compiled into callosumd is the whole page, and
 * it needs nothing from the network: the router may run with none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "router/dashboard.h"

#define DOCTYPE	"<!DOCTYPE html>"

static const char *
page(void)
{
	return ((const char *)dashboard_html);
}

static void
test_dashboard_starts_with_doctype(void **state)
{
	(void)state;
	assert_true(dashboard_html_len > strlen(DOCTYPE));
	assert_memory_equal(dashboard_html, DOCTYPE, strlen(DOCTYPE));
}

/* The NUL after the bytes is not counted, and none comes before it. */
static void
test_dashboard_len_counts_bytes_before_the_nul(void **state)
{
	(void)state;
	assert_int_equal(dashboard_html[dashboard_html_len], '\0');
	assert_int_equal(strlen(page()), dashboard_html_len);
}

static void
test_dashboard_ends_with_html_close(void **state)
{
	const char	*end;

	(void)state;
	end = strstr(page(), "</html>");
	assert_non_null(end);
	assert_null(strstr(end + 1, "</html>"));
}

/*
 * No URL with a scheme at all, so no script, style, font or image comes
 * from elsewhere (the SVG namespace is read from the page, not spelled).
 */
static void
test_dashboard_loads_nothing_external(void **state)
{
	static const char *const bad[] = {
		"http://", "https://", "src=\"http", "href=\"http",
		"src=\"//", "href=\"//", "src='//", "href='//", "@import",
		"url(http", "url(//", "<link", "<iframe",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (strstr(page(), bad[i]) != NULL)
			fail_msg("dashboard.html contains \"%s\"", bad[i]);
	}
}

/* It polls the router by relative URLs, so a path prefix works. */
static void
test_dashboard_polls_relative_urls(void **state)
{
	(void)state;
	assert_non_null(strstr(page(), "\"stats.json\""));
	assert_non_null(strstr(page(), "\"healthz\""));
	assert_null(strstr(page(), "\"/stats.json\""));
	assert_null(strstr(page(), "\"/healthz\""));
}

/* Values go in as text: the page never parses markup it is given. */
static void
test_dashboard_never_inserts_html(void **state)
{
	static const char *const bad[] = {
		"innerHTML", "outerHTML", "insertAdjacentHTML",
		"document.write", "eval(", "new Function",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (strstr(page(), bad[i]) != NULL)
			fail_msg("dashboard.html uses %s", bad[i]);
	}
}

/*
 * The dialogue panel reads every figure of the synthesizer (issue 20) and
 * keeps the hooks the browser test reads.
 */
static void
test_dashboard_reads_the_synthesizer(void **state)
{
	static const char *const want[] = {
		"\"callosum_synth_state\"", "\"callosum_dialogue_balance\"",
		"\"callosum_balanced_dialogue_events_total\"",
		"\"callosum_emergence_score\"", "\"callosum_last_emergence_ts\"",
		"\"callosum_bframe_candidates_total\"",
		"\"callosum_synth_events_total\"", "\"callosum_synth_patterns\"",
		"\"callosum_top_patterns\"", "\"callosum_recent_candidates\"",
		"id=\"synth-state\"", "\"data-candidate\"", "\"data-pattern\"",
		"\"data-pair-from\"", "\"data-pair-to\"",
		"id=\"spark-emergence\"", "synthesizer not running",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(page(), want[i]) == NULL)
			fail_msg("dashboard.html lacks %s", want[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dashboard_starts_with_doctype),
		cmocka_unit_test(test_dashboard_len_counts_bytes_before_the_nul),
		cmocka_unit_test(test_dashboard_ends_with_html_close),
		cmocka_unit_test(test_dashboard_loads_nothing_external),
		cmocka_unit_test(test_dashboard_polls_relative_urls),
		cmocka_unit_test(test_dashboard_never_inserts_html),
		cmocka_unit_test(test_dashboard_reads_the_synthesizer),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
