/*
 * callosum sub: subscribe to a tract (sid 1, overflow block) and print its
 * messages as they arrive, granting demand as they are printed.
 */
#include <stdio.h>
#include <string.h>

#include "tools/cmd.h"

#define SUB_SID			1
#define SUB_ID			1
#define SUB_CREDIT_DEFAULT	256

enum {
	OPT_CREDIT = CMD_OPT_FIRST,
	OPT_COUNT,
	OPT_KINDS,
	OPT_FROM_EID
};

static const struct option sub_options[] = {
	CMD_COMMON_OPTIONS,
	{ "credit", required_argument, NULL, OPT_CREDIT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "kinds", required_argument, NULL, OPT_KINDS },
	{ "from-eid", required_argument, NULL, OPT_FROM_EID },
	{ NULL, 0, NULL, 0 }
};

int
cmd_sub(struct cmd *cmd, int argc, char **argv)
{
	struct cmd_stream	 s;
	msgpack_packer		*pk;
	const char		*kinds = NULL, *from_eid = NULL;
	uint32_t		 nkinds;
	size_t			 n = 6;
	int			 ch, status;

	cmd->usage = "[--credit N] [--count N] [--kinds a,b] "
	    "[--from-eid EID] TRACT";
	cmd->help =
	    "  --credit N      messages granted ahead (default 256)\n"
	    "  --count N       exit after N messages\n"
	    "  --kinds a,b     only these kinds\n"
	    "  --from-eid EID  replay the log from EID first, then go live\n";
	memset(&s, 0, sizeof(s));
	s.sid = SUB_SID;
	s.req_id = SUB_ID;
	s.window = SUB_CREDIT_DEFAULT;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", sub_options, NULL)) != -1) {
		switch (ch) {
		case OPT_CREDIT:
			if (!cmd_parse_u64(optarg, 1, WIRE_DEMAND_MAX,
			    &s.window))
				return (cmd_usage_error(cmd,
				    "--credit: not a number >= 1: %s", optarg));
			break;
		case OPT_COUNT:
			if (!cmd_parse_u64(optarg, 1, UINT64_MAX, &s.count))
				return (cmd_usage_error(cmd,
				    "--count: not a number >= 1: %s", optarg));
			break;
		case OPT_KINDS:
			if (!cmd_kinds_ok(optarg, &nkinds))
				return (cmd_usage_error(cmd,
				    "--kinds: expected a,b,...: %s", optarg));
			kinds = optarg;
			break;
		case OPT_FROM_EID:
			from_eid = optarg;
			break;
		default:
			if (cmd_option(cmd, ch, &status))
				return (status);
			break;
		}
	}
	if (argc - optind != 1)
		return (cmd_usage_error(cmd, "expected TRACT"));

	if ((status = cmd_connect(cmd, NULL)) != CMD_EXIT_OK)
		return (status);
	/* Each message is on stdout when it is printed, pipe or terminal. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	n += (kinds != NULL) + (from_eid != NULL);
	if ((pk = client_begin(cmd->client)) == NULL)
		return (cmd_lost(cmd, -1, NULL));
	msgpack_pack_map(pk, n);
	cmd_pack_kv(pk, "op", "sub");
	wire_pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, s.sid);
	cmd_pack_kv(pk, "tract", argv[optind]);
	wire_pack_cstr(pk, "credit");
	msgpack_pack_uint64(pk, cmd_stream_credit(&s));
	cmd_pack_kv(pk, "overflow", "block");
	if (kinds != NULL) {
		wire_pack_cstr(pk, "kinds");
		cmd_pack_kinds(pk, kinds);
	}
	if (from_eid != NULL)
		cmd_pack_kv(pk, "from_eid", from_eid);
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, s.req_id);
	if (client_send(cmd->client) == -1)
		return (cmd_lost(cmd, -1, NULL));
	return (cmd_stream(cmd, &s));
}
