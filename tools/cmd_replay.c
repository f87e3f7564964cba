/*
 * callosum replay: stream logged events (from <= eid <= to) on sid 1 and
 * print them in order; done at "end".
 */
#include <stdio.h>
#include <string.h>

#include "tools/cmd.h"

#define REPLAY_SID		1
#define REPLAY_ID		1
/* Credit kept granted; a replay is a bulk read, so a larger window. */
#define REPLAY_WINDOW		1024

enum {
	OPT_FROM = CMD_OPT_FIRST,
	OPT_TO,
	OPT_TRACT,
	OPT_KINDS,
	OPT_LIMIT
};

static const struct option replay_options[] = {
	CMD_COMMON_OPTIONS,
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "tract", required_argument, NULL, OPT_TRACT },
	{ "kinds", required_argument, NULL, OPT_KINDS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ NULL, 0, NULL, 0 }
};

int
cmd_replay(struct cmd *cmd, int argc, char **argv)
{
	struct cmd_stream	 s;
	msgpack_packer		*pk;
	const char		*from = NULL, *to = NULL, *tract = NULL;
	const char		*kinds = NULL;
	uint64_t		 limit = 0;
	uint32_t		 nkinds;
	size_t			 n = 4;
	int			 ch, status;

	cmd->usage = "[--from EID] [--to EID] [--tract T] [--kinds a,b] "
	    "[--limit N]";
	cmd->help =
	    "  --from EID      first event (inclusive; default: the oldest)\n"
	    "  --to EID        last event (inclusive; default: the newest)\n"
	    "  --tract T       events from or to T\n"
	    "  --kinds a,b     only these kinds\n"
	    "  --limit N       at most N events\n";
	memset(&s, 0, sizeof(s));
	s.sid = REPLAY_SID;
	s.req_id = REPLAY_ID;
	s.window = REPLAY_WINDOW;
	s.until_end = true;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", replay_options,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_TRACT:
			tract = optarg;
			break;
		case OPT_KINDS:
			if (!cmd_kinds_ok(optarg, &nkinds))
				return (cmd_usage_error(cmd,
				    "--kinds: expected a,b,...: %s", optarg));
			kinds = optarg;
			break;
		case OPT_LIMIT:
			if (!cmd_parse_u64(optarg, 1, UINT64_MAX, &limit))
				return (cmd_usage_error(cmd,
				    "--limit: not a number >= 1: %s", optarg));
			break;
		default:
			if (cmd_option(cmd, ch, &status))
				return (status);
			break;
		}
	}
	if (argc != optind)
		return (cmd_usage_error(cmd, "unexpected argument: %s",
		    argv[optind]));

	if ((status = cmd_connect(cmd, NULL)) != CMD_EXIT_OK)
		return (status);

	n += (from != NULL) + (to != NULL) + (tract != NULL) +
	    (kinds != NULL) + (limit != 0);
	if ((pk = client_begin(cmd->client)) == NULL)
		return (cmd_lost(cmd, -1, NULL));
	msgpack_pack_map(pk, n);
	cmd_pack_kv(pk, "op", "replay");
	wire_pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, s.sid);
	if (from != NULL)
		cmd_pack_kv(pk, "from", from);
	if (to != NULL)
		cmd_pack_kv(pk, "to", to);
	if (tract != NULL)
		cmd_pack_kv(pk, "tract", tract);
	if (kinds != NULL) {
		wire_pack_cstr(pk, "kinds");
		cmd_pack_kinds(pk, kinds);
	}
	if (limit != 0) {
		wire_pack_cstr(pk, "limit");
		msgpack_pack_uint64(pk, limit);
	}
	wire_pack_cstr(pk, "credit");
	msgpack_pack_uint64(pk, cmd_stream_credit(&s));
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, s.req_id);
	if (client_send(cmd->client) == -1)
		return (cmd_lost(cmd, -1, NULL));
	return (cmd_stream(cmd, &s));
}
