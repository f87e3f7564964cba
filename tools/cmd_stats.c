/*
 * callosum stats and ping: one request, one reply. stats prints the
 * metrics snapshot as a table of flattened keys (nested maps joined with
 * dots), or as one JSON object; --watch repeats it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/cmd.h"

#define STATS_WATCH_MAX	86400.0		/* seconds; a day is plenty */

enum {
	OPT_WATCH = CMD_OPT_FIRST
};

static const struct option stats_options[] = {
	CMD_COMMON_OPTIONS,
	{ "watch", required_argument, NULL, OPT_WATCH },
	{ NULL, 0, NULL, 0 }
};

static const struct option ping_options[] = {
	CMD_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

/* One row of the table; both strings are owned by the table. */
struct stats_row {
	char	*key;
	char	*value;
};

struct stats_table {
	struct stats_row	*rows;
	size_t			 n;
	size_t			 cap;
	size_t			 key_width;
};

static void
stats_table_free(struct stats_table *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++) {
		free(t->rows[i].key);
		free(t->rows[i].value);
	}
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

/* Adds key (len bytes) = the text of v. */
static int
stats_table_add(struct stats_table *t, const char *key, size_t len,
    const msgpack_object *v)
{
	struct stats_row	*rows, *r;
	struct json_buf		 val;
	size_t			 cap;

	json_buf_init(&val);
	/* Text is shown bare; everything else as its JSON. */
	if (v->type == MSGPACK_OBJECT_STR &&
	    utf8_valid(v->via.str.ptr, v->via.str.size) &&
	    memchr(v->via.str.ptr, '\n', v->via.str.size) == NULL) {
		if (json_buf_add(&val, v->via.str.ptr, v->via.str.size) == -1)
			goto fail;
	} else if (json_render(&val, v) == -1)
		goto fail;
	if (t->n == t->cap) {
		cap = t->cap == 0 ? 64 : t->cap * 2;
		if ((rows = reallocarray(t->rows, cap, sizeof(*rows))) == NULL)
			goto fail;
		t->rows = rows;
		t->cap = cap;
	}
	r = &t->rows[t->n];
	if ((r->key = strndup(key, len)) == NULL)
		goto fail;
	r->value = val.data != NULL ? val.data : strdup("");
	if (r->value == NULL) {
		free(r->key);
		goto fail;
	}
	t->n++;
	if (len > t->key_width)
		t->key_width = len;
	return (0);
fail:
	json_buf_free(&val);
	return (-1);
}

/* Adds the pairs of map under prefix (path holds it), maps flattened. */
static int
stats_flatten(struct stats_table *t, struct json_buf *path,
    const msgpack_object *map)
{
	const msgpack_object_kv	*kv;
	size_t			 base = path->len;
	uint32_t		 i;
	int			 r;

	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (base == 0 && kv->key.type == MSGPACK_OBJECT_STR &&
		    ((kv->key.via.str.size == 2 &&
		    memcmp(kv->key.via.str.ptr, "op", 2) == 0) ||
		    (kv->key.via.str.size == 2 &&
		    memcmp(kv->key.via.str.ptr, "id", 2) == 0)))
			continue;
		path->len = base;
		if (base != 0 && json_buf_add(path, ".", 1) == -1)
			return (-1);
		if (kv->key.type == MSGPACK_OBJECT_STR)
			r = json_buf_add(path, kv->key.via.str.ptr,
			    kv->key.via.str.size);
		else
			r = json_render(path, &kv->key);
		if (r == -1)
			return (-1);
		if (kv->val.type == MSGPACK_OBJECT_MAP &&
		    kv->val.via.map.size != 0)
			r = stats_flatten(t, path, &kv->val);
		else
			r = stats_table_add(t, path->data, path->len, &kv->val);
		if (r == -1)
			return (-1);
	}
	path->len = base;
	return (0);
}

static int
stats_print_table(const msgpack_object *reply)
{
	struct stats_table	t;
	struct json_buf		path;
	size_t			i;
	int			r;

	memset(&t, 0, sizeof(t));
	json_buf_init(&path);
	if ((r = stats_flatten(&t, &path, reply)) == 0) {
		for (i = 0; i < t.n; i++)
			printf("%-*s  %s\n", (int)t.key_width, t.rows[i].key,
			    t.rows[i].value);
	}
	json_buf_free(&path);
	stats_table_free(&t);
	return (r);
}

static void
stats_sleep(double seconds)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
cmd_stats(struct cmd *cmd, int argc, char **argv)
{
	msgpack_packer	*pk;
	msgpack_object	 reply;
	char		*end;
	double		 watch = 0;
	uint64_t	 id;
	bool		 tty = isatty(STDOUT_FILENO);
	int		 ch, r, status;

	cmd->usage = "[--watch SECONDS]";
	cmd->help = "  --watch S       repeat every S seconds until "
	    "interrupted\n";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", stats_options,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_WATCH:
			errno = 0;
			watch = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(watch > 0 && watch <= STATS_WATCH_MAX))
				return (cmd_usage_error(cmd,
				    "--watch: not a number of seconds: %s",
				    optarg));
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
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (id = 1;; id++) {
		if ((pk = client_begin(cmd->client)) == NULL)
			return (cmd_lost(cmd, -1, NULL));
		msgpack_pack_map(pk, 2);
		cmd_pack_kv(pk, "op", "stats");
		wire_pack_cstr(pk, "id");
		msgpack_pack_uint64(pk, id);
		if ((r = client_call(cmd->client, id, CMD_TIMEOUT_MS, &reply,
		    NULL, NULL)) != 1)
			return (cmd_lost(cmd, r, NULL));
		if (client_frame_op(&reply) == WIRE_OP_ERR)
			return (cmd_print_err(NULL, &reply));

		if (cmd->json)
			cmd_print_json(cmd, &reply, cmd_omit_reply);
		else {
			/* A terminal shows the latest table in place. */
			if (watch > 0 && tty)
				fputs("\033[H\033[2J", stdout);
			else if (id > 1)
				putchar('\n');
			if (stats_print_table(&reply) == -1) {
				fprintf(stderr, "callosum: %s\n",
				    strerror(errno));
				return (CMD_EXIT_ERR);
			}
		}
		if (watch == 0)
			return (CMD_EXIT_OK);
		fflush(stdout);
		stats_sleep(watch);
	}
}

int
cmd_ping(struct cmd *cmd, int argc, char **argv)
{
	struct timespec	 t0, t1;
	msgpack_packer	*pk;
	msgpack_object	 reply;
	double		 ms;
	int		 ch, r, status;

	cmd->usage = "";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", ping_options,
	    NULL)) != -1) {
		if (cmd_option(cmd, ch, &status))
			return (status);
	}
	if (argc != optind)
		return (cmd_usage_error(cmd, "unexpected argument: %s",
		    argv[optind]));

	if ((status = cmd_connect(cmd, NULL)) != CMD_EXIT_OK)
		return (status);
	if ((pk = client_begin(cmd->client)) == NULL)
		return (cmd_lost(cmd, -1, NULL));
	msgpack_pack_map(pk, 2);
	cmd_pack_kv(pk, "op", "ping");
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = client_call(cmd->client, 1, CMD_TIMEOUT_MS, &reply, NULL,
	    NULL)) != 1)
		return (cmd_lost(cmd, r, NULL));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (client_frame_op(&reply) == WIRE_OP_ERR)
		return (cmd_print_err(NULL, &reply));
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (cmd->json)
		printf("{\"op\":\"pong\",\"rtt_ms\":%.3f}\n", ms);
	else
		printf("pong from %s in %.3f ms\n", cmd->socket, ms);
	return (CMD_EXIT_OK);
}
