/*
 * callosum conns: the router's connections (the conns op), one row each,
 * or the reply as one JSON object. Agents, sessions and models are what
 * each client said in its hello, so they are printed safely and cut.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tools/cmd.h"

static const struct option conns_options[] = {
	CMD_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

static const struct cmd_col conns_cols[] = {
	{ "CONN", 0, false },
	{ "AGENT", 24, true },
	{ "SESSION", 16, true },
	{ "MODEL", 20, true },
	{ "UID", 0, false },
	{ "SUBS", 0, false },
	{ "DEMAND", 0, false },
	{ "PENDING", 0, false },
	{ "OUTQ", 0, false },
};
#define CONNS_NCOLS	(sizeof(conns_cols) / sizeof(conns_cols[0]))

/* A number field as a cell; "?" when absent. */
static void
conns_u64(struct cmd_table *t, const msgpack_object *m, const char *key)
{
	uint64_t	v;

	if (client_get_u64(m, key, &v))
		cmd_table_printf(t, "%" PRIu64, v);
	else
		cmd_table_printf(t, "?");
}

/* A label as a cell; "-" when empty (the client did not give it). */
static void
conns_str(struct cmd_table *t, const msgpack_object *m, const char *key)
{
	struct wire_str	s;

	if (client_get_str(m, key, &s) && s.len != 0)
		cmd_table_text(t, s.ptr, s.len);
	else
		cmd_table_printf(t, "-");
}

static void
conns_row(struct cmd_table *t, const msgpack_object *m)
{
	conns_u64(t, m, "conn");
	conns_str(t, m, "agent");
	conns_str(t, m, "session");
	conns_str(t, m, "model");
	conns_u64(t, m, "uid");
	conns_u64(t, m, "subs");
	conns_u64(t, m, "demand");
	conns_u64(t, m, "pending");
	conns_u64(t, m, "outq");
}

static int
conns_print_table(const msgpack_object *reply)
{
	const msgpack_object	*list, *truncated;
	struct cmd_table	 t;
	uint32_t		 i;
	int			 r;

	list = wire_map_get(reply, "conns");
	cmd_table_init(&t, conns_cols, CONNS_NCOLS);
	for (i = 0; list != NULL && list->type == MSGPACK_OBJECT_ARRAY &&
	    i < list->via.array.size; i++)
		if (list->via.array.ptr[i].type == MSGPACK_OBJECT_MAP)
			conns_row(&t, &list->via.array.ptr[i]);
	r = cmd_table_print(&t, SIZE_MAX);
	cmd_table_free(&t);
	/* Stdout stays a table; the note is for the person reading it. */
	truncated = wire_map_get(reply, "truncated");
	if (r == 0 && truncated != NULL &&
	    truncated->type == MSGPACK_OBJECT_BOOLEAN &&
	    truncated->via.boolean) {
		fflush(stdout);
		fprintf(stderr, "callosum: more connections than one reply "
		    "holds; only the first are listed\n");
	}
	return (r);
}

int
cmd_conns(struct cmd *cmd, int argc, char **argv)
{
	msgpack_object	reply;
	int		r, status;

	if ((status = cmd_start_bare(cmd, argc, argv, conns_options)) != CMD_EXIT_OK)
		return (status);
	if ((r = cmd_call(cmd, "conns", 1, &reply)) != 1)
		return (cmd_lost(cmd, r, NULL));
	if (client_frame_op(&reply) == WIRE_OP_ERR)
		return (cmd_print_err(NULL, &reply));
	if (cmd->json)
		cmd_print_json(cmd, &reply, cmd_omit_reply);
	else if (conns_print_table(&reply) == -1) {
		fprintf(stderr, "callosum: %s\n", strerror(errno));
		return (CMD_EXIT_ERR);
	}
	return (CMD_EXIT_OK);
}
