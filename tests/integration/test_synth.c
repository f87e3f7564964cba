/*
 * The synthesizer's inputs and outputs through the real router (issue 20):
 * what it reads must be in the log, so that a restart rebuilds it.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define T	HARNESS_TIMEOUT_MS

/* Publishes kind/pattern into tract from home; returns the ack's stored. */
static void
pub_kind(struct client *c, const char *to, const char *kind,
    const char *pattern, char *stored, size_t len)
{
	msgpack_object	f;
	uint64_t	id;

	if (pattern != NULL)
		id = harness_request(c, "op:s to:s kind:s pattern:s body:s",
		    "pub", to, kind, pattern, "b");
	else
		id = harness_request(c, "op:s to:s kind:s body:s", "pub", to,
		    kind, "b");
	harness_expect_ack(c, id, &f);
	harness_str(&f, "stored", stored, len);
}

/*
 * A bframe with a pattern is logged even within one tract (ADR 0021);
 * without a pattern, or of another kind, a same-tract pub is not.
 */
HARNESS_TEST(test_a_same_tract_bframe_with_a_pattern_is_logged)
{
	struct harness	*h = harness_start(NULL, NULL);
	struct client	*c = harness_client(h, "framer");
	char		 stored[16];

	(void)state;
	pub_kind(c, "framer-home", "bframe", "p-1", stored, sizeof stored);
	assert_string_equal(stored, "memory");
	pub_kind(c, "framer-home", "bframe", NULL, stored, sizeof stored);
	assert_string_equal(stored, "none");
	pub_kind(c, "framer-home", "note", "p-1", stored, sizeof stored);
	assert_string_equal(stored, "none");
	harness_client_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		HARNESS_UNIT_TEST(
		    test_a_same_tract_bframe_with_a_pattern_is_logged),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
