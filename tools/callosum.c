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
	{ "conns", "callosum conns", cmd_conns },
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
	    "  conns   list the router's connections\n"
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
		    "replay, stats, conns or ping\n");
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

int
cmd_start_bare(struct cmd *cmd, int argc, char **argv,
    const struct option *options)
{
	int	ch, status;

	cmd->usage = "";
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (cmd_option(cmd, ch, &status))
			return (status);
	}
	if (argc != optind)
		return (cmd_usage_error(cmd, "unexpected argument: %s",
		    argv[optind]));
	return (cmd_connect(cmd, NULL));
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
	} else if (r == 0 || (r == -1 && (errno == EPIPE ||
	    errno == ECONNRESET)))
		/* A write after the close fails; it is the same news. */
		fprintf(stderr, "callosum: the router closed the connection\n");
	else
		fprintf(stderr, "callosum: %s: %s\n", cmd->socket,
		    strerror(errno));
	return (CMD_EXIT_UNAVAILABLE);
}

int
cmd_call(struct cmd *cmd, const char *op, uint64_t id, msgpack_object *reply)
{
	msgpack_packer	*pk;

	if ((pk = client_begin(cmd->client)) == NULL)
		return (-1);
	msgpack_pack_map(pk, 2);
	cmd_pack_kv(pk, "op", op);
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, id);
	return (client_call(cmd->client, id, CMD_TIMEOUT_MS, reply, NULL,
	    NULL));
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

/*
 * The length of the UTF-8 sequence at p (at most len bytes) with its code
 * point in *cp, or 0 when it is not one.
 */
static size_t
cmd_utf8_next(const unsigned char *p, size_t len, uint32_t *cp)
{
	size_t	n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return (1);
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return (0);
	if (n > len || !utf8_valid(p, n))
		return (0);
	*cp = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++)
		*cp = *cp << 6 | (p[i] & 0x3f);
	return (n);
}

/*
 * Whether a terminal would act on cp rather than show it: C0, DEL and C1
 * controls (U+009B is CSI to some terminals), and the bidirectional
 * marks, embeddings, overrides and isolates, and the line and paragraph
 * separators.
 */
static bool
cmd_cp_unsafe(uint32_t cp)
{
	return (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069));
}

/* Appends the safe form of s (cmd_text), uncut. 0 or -1. */
static int
cmd_text_safe(struct json_buf *b, const unsigned char *s, size_t len)
{
	char		esc[16];
	const char	*out;
	uint32_t	cp;
	size_t		i, n, outlen;

	for (i = 0; i < len; i += n) {
		out = (const char *)s + i;
		if ((n = cmd_utf8_next(s + i, len - i, &cp)) == 0) {
			n = 1;
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			out = esc;
		} else if (cp == '\\' || cp == '\n' || cp == '\t' ||
		    cp == '\r') {
			esc[0] = '\\';
			esc[1] = cp == '\\' ? '\\' : cp == '\n' ? 'n' :
			    cp == '\t' ? 't' : 'r';
			esc[2] = '\0';
			out = esc;
		} else if (cp < 0x80 && cmd_cp_unsafe(cp)) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)cp);
			out = esc;
		} else if (cmd_cp_unsafe(cp)) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			out = esc;
		}
		outlen = out == esc ? strlen(esc) : n;
		if (json_buf_add(b, out, outlen) == -1)
			return (-1);
	}
	return (0);
}

/* Columns of UTF-8 text: its code points, the bytes that start one. */
static size_t
cmd_text_width(const char *s, size_t len, size_t *cut, size_t at)
{
	size_t	i, w = 0;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (w == at)
			*cut = i;
		w++;
	}
	return (w);
}

int
cmd_text(struct json_buf *b, const char *s, size_t len, size_t max)
{
	size_t	start = b->len, w, cut = 0;

	if (cmd_text_safe(b, (const unsigned char *)s, len) == -1)
		goto fail;
	w = cmd_text_width(b->data + start, b->len - start, &cut,
	    max > 3 ? max - 3 : 0);
	if (max != 0 && w > max) {
		b->len = start + cut;
		if (json_buf_add(b, "...", max >= 3 ? 3 : max) == -1)
			goto fail;
		w = max;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
	return ((int)w);
fail:
	b->len = start;
	if (b->data != NULL)
		b->data[b->len] = '\0';
	return (-1);
}

void
cmd_table_init(struct cmd_table *t, const struct cmd_col *cols, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = ncols;
	json_buf_init(&t->text);
}

void
cmd_table_free(struct cmd_table *t)
{
	json_buf_free(&t->text);
	free(t->off);
	free(t->width);
	memset(t, 0, sizeof(*t));
}

/* Makes room for one more cell. 0 or -1. */
static int
cmd_table_grow(struct cmd_table *t)
{
	size_t	 cap, *off, *width;

	if (t->n < t->cap)
		return (0);
	cap = t->cap == 0 ? 64 : t->cap * 2;
	if ((off = reallocarray(t->off, cap, sizeof(*off))) == NULL)
		return (-1);
	t->off = off;
	if ((width = reallocarray(t->width, cap, sizeof(*width))) == NULL)
		return (-1);
	t->width = width;
	t->cap = cap;
	return (0);
}

/* Ends the cell begun at off, w columns wide. */
static void
cmd_table_end(struct cmd_table *t, size_t off, int w)
{
	if (w == -1 || json_buf_add(&t->text, "", 1) == -1) {
		t->text.len = off;
		t->failed = true;
		return;
	}
	t->off[t->n] = off;
	t->width[t->n] = (size_t)w;
	t->n++;
}

void
cmd_table_text(struct cmd_table *t, const char *s, size_t len)
{
	size_t	off = t->text.len;

	if (t->failed || cmd_table_grow(t) == -1) {
		t->failed = true;
		return;
	}
	cmd_table_end(t, off, cmd_text(&t->text, s, len,
	    t->cols[t->n % t->ncols].max));
}

void
cmd_table_printf(struct cmd_table *t, const char *fmt, ...)
{
	char	cell[64];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(cell, sizeof(cell), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	cmd_table_text(t, cell, (size_t)n < sizeof(cell) ? (size_t)n :
	    sizeof(cell) - 1);
}

size_t
cmd_table_rows(const struct cmd_table *t)
{
	return (t->n / t->ncols);
}

/* Prints a cell of width w in a column of width cw; the last is unpadded. */
static void
cmd_table_cell(const struct cmd_col *col, const char *s, size_t w, size_t cw,
    bool last)
{
	size_t	pad = cw > w ? cw - w : 0;

	if (!col->left)
		printf("%*s", (int)pad, "");
	fputs(s, stdout);
	if (col->left && !last)
		printf("%*s", (int)pad, "");
	fputs(last ? "\n" : "  ", stdout);
}

int
cmd_table_print(const struct cmd_table *t, size_t max_rows)
{
	size_t	cw[16], rows, r, c, i;

	if (t->failed || t->ncols > sizeof(cw) / sizeof(cw[0])) {
		errno = t->failed ? ENOMEM : EINVAL;
		return (-1);
	}
	rows = cmd_table_rows(t);
	if (rows > max_rows)
		rows = max_rows;
	for (c = 0; c < t->ncols; c++)
		cw[c] = strlen(t->cols[c].name);
	for (i = 0; i < rows * t->ncols; i++)
		if (t->width[i] > cw[i % t->ncols])
			cw[i % t->ncols] = t->width[i];
	for (c = 0; c < t->ncols; c++)
		cmd_table_cell(&t->cols[c], t->cols[c].name,
		    strlen(t->cols[c].name), cw[c], c + 1 == t->ncols);
	for (r = 0; r < rows; r++)
		for (c = 0; c < t->ncols; c++) {
			i = r * t->ncols + c;
			cmd_table_cell(&t->cols[c], t->text.data + t->off[i],
			    t->width[i], cw[c], c + 1 == t->ncols);
		}
	return (0);
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

