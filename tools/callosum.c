/*
 * callosum: the command-line client. main() picks the subcommand; this
 * file also holds what the subcommands share (cmd.h), so that each
 * cmd_*.c only parses its options and builds its request.
 */
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cmd.h"

static const struct {
	const char	*name;
	const char	*argv0;		/* getopt names itself so */
	cmd_fn		*fn;
} cmd_table[] = {
	{ "pub", "callosum pub", cmd_pub },
	{ "sub", "callosum sub", cmd_sub },
	{ "replay", "callosum replay", cmd_replay },
	{ "stats", "callosum stats", cmd_stats },
	{ "ping", "callosum ping", cmd_ping },
};

const char *const cmd_omit_reply[] = { "op", "id", NULL };

static void
usage(void)
{
	printf(
	    "usage: callosum COMMAND [--socket PATH] [--json] [--help] ...\n"
	    "commands:\n"
	    "  pub     publish a message (or one per line of stdin)\n"
	    "  sub     print the messages of a tract as they arrive\n"
	    "  replay  print logged events in order\n"
	    "  stats   print the router's metrics\n"
	    "  ping    check that the router answers\n"
	    "callosum COMMAND --help describes one command.\n");
}

/* $XDG_RUNTIME_DIR/callosum.sock, else /tmp/callosum.sock (SPEC). */
static const char *
cmd_default_socket(void)
{
	static char	 path[PATH_MAX];
	const char	*dir;

	dir = getenv("XDG_RUNTIME_DIR");
	if (dir == NULL || *dir == '\0' ||
	    (size_t)snprintf(path, sizeof(path), "%s/callosum.sock", dir) >=
	    sizeof(path))
		return ("/tmp/callosum.sock");
	return (path);
}

int
main(int argc, char **argv)
{
	struct cmd	  cmd;
	char		**args;
	size_t		  i;
	int		  status;

	if (argc < 2) {
		fprintf(stderr, "callosum: expected a command: pub, sub, "
		    "replay, stats or ping\n");
		return (CMD_EXIT_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage();
		return (CMD_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("callosum %s\n", CALLOSUM_VERSION);
		return (CMD_EXIT_OK);
	}
	for (i = 0; i < sizeof(cmd_table) / sizeof(cmd_table[0]); i++) {
		if (strcmp(argv[1], cmd_table[i].name) == 0)
			break;
	}
	if (i == sizeof(cmd_table) / sizeof(cmd_table[0])) {
		fprintf(stderr, "callosum: unknown command: %s\n", argv[1]);
		return (CMD_EXIT_USAGE);
	}

	/* The subcommand sees argv from its name on, named for getopt. */
	if ((args = calloc((size_t)argc, sizeof(*args))) == NULL) {
		fprintf(stderr, "callosum: %s\n", strerror(errno));
		return (CMD_EXIT_ERR);
	}
	args[0] = (char *)cmd_table[i].argv0;
	memcpy(args + 1, argv + 2, (size_t)(argc - 2) * sizeof(*args));

	memset(&cmd, 0, sizeof(cmd));
	cmd.name = cmd_table[i].name;
	cmd.socket = cmd_default_socket();
	json_buf_init(&cmd.out);
	status = cmd_table[i].fn(&cmd, argc - 1, args);

	if (fflush(stdout) == EOF && status == CMD_EXIT_OK) {
		fprintf(stderr, "callosum: stdout: %s\n", strerror(errno));
		status = CMD_EXIT_ERR;
	}
	client_close(cmd.client);
	json_buf_free(&cmd.out);
	free(args);
	return (status);
}

bool
cmd_option(struct cmd *cmd, int ch, int *status)
{
	switch (ch) {
	case CMD_OPT_SOCKET:
		cmd->socket = optarg;
		return (false);
	case CMD_OPT_JSON:
		cmd->json = true;
		return (false);
	case CMD_OPT_HELP:
		printf("usage: callosum %s %s\n", cmd->name, cmd->usage);
		if (cmd->help != NULL)
			fputs(cmd->help, stdout);
		fputs("  --socket PATH   the router's socket (default: "
		    "$XDG_RUNTIME_DIR/callosum.sock,\n"
		    "                  else /tmp/callosum.sock)\n"
		    "  --json          one JSON object per line\n", stdout);
		*status = CMD_EXIT_OK;
		return (true);
	default:
		/* getopt printed the reason ("unrecognized option"). */
		*status = CMD_EXIT_USAGE;
		return (true);
	}
}

int
cmd_usage_error(struct cmd *cmd, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "callosum %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return (CMD_EXIT_USAGE);
}

bool
cmd_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		return (false);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (false);
	*out = v;
	return (true);
}

bool
cmd_kinds_ok(const char *csv, uint32_t *n)
{
	const char	*p;
	size_t		 len;

	*n = 0;
	for (p = csv;; p += len + 1) {
		len = strcspn(p, ",");
		if (len == 0)
			return (false);
		(*n)++;
		if (p[len] == '\0')
			return (true);
	}
}

void
cmd_pack_kinds(msgpack_packer *pk, const char *csv)
{
	const char	*p;
	size_t		 len;
	uint32_t	 n;

	cmd_kinds_ok(csv, &n);
	msgpack_pack_array(pk, n);
	for (p = csv;; p += len + 1) {
		len = strcspn(p, ",");
		wire_pack_str(pk, p, len);
		if (p[len] == '\0')
			break;
	}
}

void
cmd_pack_kv(msgpack_packer *pk, const char *key, const char *val)
{
	wire_pack_cstr(pk, key);
	wire_pack_cstr(pk, val);
}

int
cmd_connect(struct cmd *cmd, const struct client_hello *h)
{
	struct client_hello	 dflt = { CMD_AGENT_DEFAULT, NULL, NULL, NULL };
	const char		*code;
	const char		*msg;

	if (strlen(cmd->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return (cmd_usage_error(cmd, "%s: socket path too long",
		    cmd->socket));
	if ((cmd->client = client_connect(cmd->socket)) == NULL) {
		fprintf(stderr, "callosum: %s: %s\n", cmd->socket,
		    strerror(errno));
		return (CMD_EXIT_UNAVAILABLE);
	}
	if (client_hello(cmd->client, h != NULL ? h : &dflt, CMD_TIMEOUT_MS,
	    &code) == 0)
		return (CMD_EXIT_OK);
	if (code == NULL) {
		fprintf(stderr, "callosum: %s: no welcome: %s\n", cmd->socket,
		    strerror(errno));
		return (CMD_EXIT_UNAVAILABLE);
	}
	msg = client_err_msg(cmd->client);
	fprintf(stderr, "callosum: %s%s%s\n", code, *msg != '\0' ? ": " : "",
	    msg);
	return (CMD_EXIT_ERR);
}

int
cmd_print_err(const char *prefix, const msgpack_object *err)
{
	struct wire_str	code, msg;

	if (!client_get_str(err, "code", &code)) {
		code.ptr = "internal";
		code.len = strlen(code.ptr);
	}
	fprintf(stderr, "callosum: %s%s%.*s", prefix != NULL ? prefix : "",
	    prefix != NULL ? ": " : "", (int)code.len, code.ptr);
	if (client_get_str(err, "msg", &msg) && msg.len != 0)
		fprintf(stderr, ": %.*s", (int)msg.len, msg.ptr);
	fputc('\n', stderr);
	return (CMD_EXIT_ERR);
}

int
cmd_lost(struct cmd *cmd, int r, const msgpack_object *bye)
{
	struct wire_str	reason;

	if (bye != NULL) {
		client_get_str(bye, "reason", &reason);
		fprintf(stderr, "callosum: the router said bye: %.*s\n",
		    (int)reason.len, reason.ptr != NULL ? reason.ptr : "");
	} else if (r == 0)
		fprintf(stderr, "callosum: the router closed the connection\n");
	else
		fprintf(stderr, "callosum: %s: %s\n", cmd->socket,
		    strerror(errno));
	return (CMD_EXIT_UNAVAILABLE);
}

void
cmd_print_json(struct cmd *cmd, const msgpack_object *f,
    const char *const *omit)
{
	json_buf_clear(&cmd->out);
	if (json_render_map(&cmd->out, f, omit) == -1 ||
	    json_buf_add(&cmd->out, "\n", 1) == -1) {
		fprintf(stderr, "callosum: json: %s\n", strerror(errno));
		return;
	}
	fwrite(cmd->out.data, 1, cmd->out.len, stdout);
}

/*
 * Writes s for a person on a terminal: one line, control characters and
 * backslashes escaped as in C, anything not UTF-8 as base64.
 */
static void
cmd_print_text(struct cmd *cmd, const char *s, size_t len)
{
	unsigned char	c;
	size_t		i;

	if (!utf8_valid(s, len)) {
		json_buf_clear(&cmd->out);
		if (json_put_bytes(&cmd->out, s, len) == 0)
			printf("base64:%.*s", (int)(cmd->out.len - 2),
			    cmd->out.data + 1);
		return;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/* A string field of a frame for printing; "?" when absent. */
static struct wire_str
cmd_field(const msgpack_object *f, const char *key)
{
	struct wire_str	s;

	if (!client_get_str(f, key, &s)) {
		s.ptr = "?";
		s.len = 1;
	}
	return (s);
}

/* "EID FROM->TO KIND AGENT: BODY", or the frame as JSON. */
static void
cmd_print_msg(struct cmd *cmd, const msgpack_object *f)
{
	const msgpack_object	*body;
	struct wire_str		 eid, from, to, kind, agent;

	if (cmd->json) {
		cmd_print_json(cmd, f, NULL);
		return;
	}
	eid = cmd_field(f, "eid");
	from = cmd_field(f, "from");
	to = cmd_field(f, "to");
	kind = cmd_field(f, "kind");
	agent = cmd_field(f, "agent");
	printf("%.*s %.*s->%.*s %.*s %.*s: ", (int)eid.len, eid.ptr,
	    (int)from.len, from.ptr, (int)to.len, to.ptr, (int)kind.len,
	    kind.ptr, (int)agent.len, agent.ptr);
	body = wire_map_get(f, "body");
	if (body != NULL && body->type == MSGPACK_OBJECT_STR)
		cmd_print_text(cmd, body->via.str.ptr, body->via.str.size);
	else if (body != NULL && body->type == MSGPACK_OBJECT_BIN)
		cmd_print_text(cmd, body->via.bin.ptr, body->via.bin.size);
	putchar('\n');
}

/* Dropped messages: a JSON line on stdout, or a note on stderr. */
static void
cmd_print_lag(struct cmd *cmd, const msgpack_object *f)
{
	struct wire_str	first, last;
	uint64_t	dropped = 0;

	if (cmd->json) {
		cmd_print_json(cmd, f, NULL);
		return;
	}
	client_get_u64(f, "dropped", &dropped);
	first = cmd_field(f, "first");
	last = cmd_field(f, "last");
	fflush(stdout);
	fprintf(stderr, "callosum: lag: %" PRIu64 " messages dropped "
	    "(%.*s..%.*s)\n", dropped, (int)first.len, first.ptr,
	    (int)last.len, last.ptr);
}

uint64_t
cmd_stream_credit(struct cmd_stream *s)
{
	s->granted = s->window;
	if (s->count != 0 && s->count < s->granted)
		s->granted = s->count;
	s->received = 0;
	return (s->granted);
}

/*
 * Tops the demand back up to the window once half of it has been used, so
 * the router always has credit in hand and we send one req per half
 * window rather than one per message. Never grants past s->count.
 */
static int
cmd_stream_grant(struct cmd *cmd, struct cmd_stream *s)
{
	msgpack_packer	*pk;
	uint64_t	 outstanding, n, half;

	outstanding = s->granted - s->received;
	n = s->window - outstanding;
	half = s->window / 2 != 0 ? s->window / 2 : 1;
	if (n < half)
		return (0);
	if (s->count != 0 && n > s->count - s->granted)
		n = s->count - s->granted;
	if (n == 0)
		return (0);
	if ((pk = client_begin(cmd->client)) == NULL)
		return (-1);
	msgpack_pack_map(pk, 3);
	cmd_pack_kv(pk, "op", "req");
	wire_pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, s->sid);
	wire_pack_cstr(pk, "n");
	msgpack_pack_uint64(pk, n);
	if (client_send(cmd->client) == -1)
		return (-1);
	s->granted += n;
	return (0);
}

/* Cancels the subscription; the answer is awaited but not required. */
static void
cmd_stream_unsub(struct cmd *cmd, struct cmd_stream *s)
{
	msgpack_packer	*pk;
	msgpack_object	 reply;

	if ((pk = client_begin(cmd->client)) == NULL)
		return;
	msgpack_pack_map(pk, 3);
	cmd_pack_kv(pk, "op", "unsub");
	wire_pack_cstr(pk, "sid");
	msgpack_pack_uint64(pk, s->sid);
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, s->req_id + 1);
	client_call(cmd->client, s->req_id + 1, CMD_UNSUB_TIMEOUT_MS, &reply,
	    NULL, NULL);
}

int
cmd_stream(struct cmd *cmd, struct cmd_stream *s)
{
	msgpack_object	f;
	uint64_t	v;
	int		r;

	for (;;) {
		r = client_recv(cmd->client, -1, &f);
		if (r != 1)
			return (cmd_lost(cmd, r, NULL));
		switch (client_frame_op(&f)) {
		case WIRE_OP_MSG:
			if (!client_get_u64(&f, "sid", &v) || v != s->sid)
				break;
			cmd_print_msg(cmd, &f);
			s->received++;
			if (s->count != 0 && s->received >= s->count) {
				fflush(stdout);
				cmd_stream_unsub(cmd, s);
				return (CMD_EXIT_OK);
			}
			if (cmd_stream_grant(cmd, s) == -1)
				return (cmd_lost(cmd, -1, NULL));
			break;
		case WIRE_OP_LAG:
			if (client_get_u64(&f, "sid", &v) && v == s->sid)
				cmd_print_lag(cmd, &f);
			break;
		case WIRE_OP_END:
			if (s->until_end && client_get_u64(&f, "sid", &v) &&
			    v == s->sid)
				return (CMD_EXIT_OK);
			break;
		case WIRE_OP_ERR:
			fflush(stdout);
			return (cmd_print_err(NULL, &f));
		case WIRE_OP_BYE:
			fflush(stdout);
			return (cmd_lost(cmd, 1, &f));
		default:
			/* The ack of the request; unknown ops are ignored. */
			break;
		}
	}
}

