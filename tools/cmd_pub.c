/*
 * callosum pub: publish one message, or with --lines one per line of
 * stdin, pipelined: up to PUB_WINDOW pubs are in flight, their acks read
 * as they come, so a large input costs round trips per window rather than
 * per line.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cmd.h"

/* Unacknowledged pubs at most; bounds the router's queue of our acks. */
#define PUB_WINDOW	1024
#define PUB_READ_CHUNK	(64 * 1024)

enum {
	OPT_FROM = CMD_OPT_FIRST,
	OPT_KIND,
	OPT_PRI,
	OPT_PATTERN,
	OPT_AGENT,
	OPT_SESSION,
	OPT_MODEL,
	OPT_LINES
};

static const struct option pub_options[] = {
	CMD_COMMON_OPTIONS,
	{ "from", required_argument, NULL, OPT_FROM },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "pri", required_argument, NULL, OPT_PRI },
	{ "pattern", required_argument, NULL, OPT_PATTERN },
	{ "agent", required_argument, NULL, OPT_AGENT },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "lines", no_argument, NULL, OPT_LINES },
	{ NULL, 0, NULL, 0 }
};

/* The fields every pub of this run carries besides its body and id. */
struct pub {
	const char	*to;
	const char	*kind;
	const char	*pattern;
	bool		 has_pri;
	double		 pri;
};

/* Lines of stdin: [off, len) of buf are not yet sent. */
struct pub_lines {
	char	*buf;
	size_t	 off;
	size_t	 len;
	size_t	 cap;
	bool	 eof;
	bool	 skipping;	/* inside a line too long to send */
};

/* Packs one pub; the body goes as str when it is UTF-8, else as bin. */
static int
pub_pack(struct client *c, const struct pub *p, const char *body,
    size_t len, uint64_t id)
{
	msgpack_packer	*pk;
	size_t		 n = 4;

	n += (p->kind != NULL) + (p->pattern != NULL) + p->has_pri;
	if ((pk = client_begin(c)) == NULL)
		return (-1);
	msgpack_pack_map(pk, n);
	cmd_pack_kv(pk, "op", "pub");
	cmd_pack_kv(pk, "to", p->to);
	if (p->kind != NULL)
		cmd_pack_kv(pk, "kind", p->kind);
	if (p->pattern != NULL)
		cmd_pack_kv(pk, "pattern", p->pattern);
	if (p->has_pri) {
		wire_pack_cstr(pk, "pri");
		msgpack_pack_double(pk, p->pri);
	}
	wire_pack_cstr(pk, "body");
	if (utf8_valid(body, len))
		wire_pack_str(pk, body, len);
	else {
		msgpack_pack_bin(pk, len);
		msgpack_pack_bin_body(pk, body, len);
	}
	wire_pack_cstr(pk, "id");
	msgpack_pack_uint64(pk, id);
	return (client_end(c));
}

/* "EID STORED", or the ack as JSON. */
static void
pub_print_ack(struct cmd *cmd, const msgpack_object *ack)
{
	struct wire_str	eid, stored;

	if (cmd->json) {
		cmd_print_json(cmd, ack, cmd_omit_reply);
		return;
	}
	client_get_str(ack, "eid", &eid);
	client_get_str(ack, "stored", &stored);
	printf("%.*s %.*s\n", (int)eid.len, eid.ptr != NULL ? eid.ptr : "",
	    (int)stored.len, stored.ptr != NULL ? stored.ptr : "");
}

static int
pub_too_large(struct cmd *cmd, uint64_t line)
{
	if (line != 0)
		fprintf(stderr, "callosum: line %" PRIu64 ": ", line);
	else
		fprintf(stderr, "callosum: ");
	fprintf(stderr, "message larger than max_frame (%" PRIu64 " bytes)\n",
	    client_max_frame(cmd->client));
	return (CMD_EXIT_ERR);
}

/* All of stdin, for BODY "-"; NULL on a read error or past limit bytes. */
static char *
pub_read_all(size_t limit, size_t *lenp)
{
	char	*buf = NULL, *p;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < PUB_READ_CHUNK) {
			cap = cap == 0 ? PUB_READ_CHUNK * 2 : cap * 2;
			if ((p = realloc(buf, cap)) == NULL)
				goto fail;
			buf = p;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > limit) {
			errno = EMSGSIZE;
			goto fail;
		}
	}
	*lenp = len;
	return (buf);
fail:
	free(buf);
	return (NULL);
}

static int
pub_one(struct cmd *cmd, const struct pub *p, const char *body)
{
	msgpack_object	 reply;
	char		*in = NULL;
	size_t		 len;
	int		 r;

	if (strcmp(body, "-") == 0) {
		in = pub_read_all(client_max_frame(cmd->client), &len);
		if (in == NULL && errno == EMSGSIZE)
			return (pub_too_large(cmd, 0));
		if (in == NULL) {
			fprintf(stderr, "callosum: stdin: %s\n",
			    strerror(errno));
			return (CMD_EXIT_ERR);
		}
		body = in;
	} else
		len = strlen(body);
	r = pub_pack(cmd->client, p, body, len, 1);
	free(in);
	if (r == -1 && errno == EMSGSIZE)
		return (pub_too_large(cmd, 0));
	if (r == -1)
		return (cmd_lost(cmd, -1, NULL));

	/* client_call() sends, then skips anything that is not the reply. */
	if ((r = client_call(cmd->client, 1, CMD_TIMEOUT_MS, &reply, NULL,
	    NULL)) != 1)
		return (cmd_lost(cmd, r, NULL));
	if (client_frame_op(&reply) == WIRE_OP_ERR)
		return (cmd_print_err(NULL, &reply));
	pub_print_ack(cmd, &reply);
	return (CMD_EXIT_OK);
}

/*
 * The next complete line of stdin (without its newline), or the last one
 * when stdin ended without a newline. False when none is buffered.
 */
static bool
pub_lines_next(struct pub_lines *l, const char **line, size_t *len)
{
	char	*nl;

	if (l->off == l->len)
		return (false);
	nl = memchr(l->buf + l->off, '\n', l->len - l->off);
	if (nl == NULL && !l->eof)
		return (false);
	*line = l->buf + l->off;
	if (nl == NULL) {
		*len = l->len - l->off;
		l->off = l->len;
	} else {
		*len = (size_t)(nl - *line);
		l->off += *len + 1;
	}
	return (true);
}

/*
 * Reads what stdin has. A line longer than limit is dropped as it comes
 * (skipping) so that memory stays bounded; returns -1 on a read error,
 * else the number of lines dropped so (0 or 1).
 */
static int
pub_lines_fill(struct pub_lines *l, size_t limit)
{
	char	*p, *nl;
	size_t	 cap;
	ssize_t	 n;
	int	 dropped = 0;

	if (l->off > 0) {
		memmove(l->buf, l->buf + l->off, l->len - l->off);
		l->len -= l->off;
		l->off = 0;
	}
	if (l->cap - l->len < PUB_READ_CHUNK) {
		cap = l->cap == 0 ? PUB_READ_CHUNK * 2 : l->cap * 2;
		if ((p = realloc(l->buf, cap)) == NULL)
			return (-1);
		l->buf = p;
		l->cap = cap;
	}
	do
		n = read(STDIN_FILENO, l->buf + l->len, l->cap - l->len);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	if (n == 0) {
		l->eof = true;
		if (l->skipping)
			l->len = 0;
		return (0);
	}
	l->len += (size_t)n;
	if (l->skipping) {
		if ((nl = memchr(l->buf, '\n', l->len)) == NULL) {
			l->len = 0;
			return (0);
		}
		l->off = (size_t)(nl - l->buf) + 1;
		l->skipping = false;
	}
	if (l->len - l->off > limit &&
	    memchr(l->buf + l->off, '\n', l->len - l->off) == NULL) {
		l->len = l->off = 0;
		l->skipping = true;
		dropped = 1;
	}
	return (dropped);
}

/* Handles one reply of the --lines pipeline; -1 when it was a bye. */
static int
pub_lines_reply(struct cmd *cmd, const msgpack_object *f, int *failed)
{
	char		prefix[32];
	uint64_t	id;

	switch (client_frame_op(f)) {
	case WIRE_OP_ACK:
		pub_print_ack(cmd, f);
		return (1);
	case WIRE_OP_ERR:
		fflush(stdout);
		*failed = 1;
		if (!client_get_u64(f, "id", &id)) {
			cmd_print_err(NULL, f);
			return (0);
		}
		snprintf(prefix, sizeof(prefix), "line %" PRIu64, id);
		cmd_print_err(prefix, f);
		return (1);
	case WIRE_OP_BYE:
		return (-1);
	default:
		return (0);
	}
}

static int
pub_lines(struct cmd *cmd, const struct pub *p)
{
	struct pub_lines	 l;
	struct pollfd		 pfd[2];
	msgpack_object		 f;
	const char		*line;
	size_t			 len, limit;
	uint64_t		 id = 0, inflight = 0;
	int			 failed = 0, r, status = CMD_EXIT_OK;

	memset(&l, 0, sizeof(l));
	/* A line that cannot fit a frame is refused before it is buffered. */
	limit = client_max_frame(cmd->client);
	for (;;) {
		while (inflight < PUB_WINDOW && pub_lines_next(&l, &line,
		    &len)) {
			id++;
			if (pub_pack(cmd->client, p, line, len, id) == 0) {
				inflight++;
				continue;
			}
			if (errno != EMSGSIZE) {
				status = cmd_lost(cmd, -1, NULL);
				goto out;
			}
			fflush(stdout);
			failed = pub_too_large(cmd, id);
		}
		if (client_flush(cmd->client) == -1) {
			status = cmd_lost(cmd, -1, NULL);
			goto out;
		}
		if (l.eof && l.off == l.len && inflight == 0)
			break;

		pfd[0].fd = client_fd(cmd->client);
		pfd[0].events = POLLIN;
		pfd[1].fd = l.eof || inflight >= PUB_WINDOW ? -1 :
		    STDIN_FILENO;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			status = cmd_lost(cmd, -1, NULL);
			goto out;
		}
		if (pfd[1].revents != 0) {
			if ((r = pub_lines_fill(&l, limit)) == -1) {
				fprintf(stderr, "callosum: stdin: %s\n",
				    strerror(errno));
				status = CMD_EXIT_ERR;
				goto out;
			}
			if (r == 1) {
				fflush(stdout);
				failed = pub_too_large(cmd, ++id);
			}
		}
		if (pfd[0].revents == 0)
			continue;
		/*
		 * Drain every reply already here: nothing may stay in the
		 * client's buffer while we sleep in poll().
		 */
		while ((r = client_recv(cmd->client, 0, &f)) == 1) {
			if ((r = pub_lines_reply(cmd, &f, &failed)) == -1) {
				fflush(stdout);
				status = cmd_lost(cmd, 1, &f);
				goto out;
			}
			inflight -= (uint64_t)r;
		}
		if (r == 0 || errno != ETIMEDOUT) {
			fflush(stdout);
			status = cmd_lost(cmd, r, NULL);
			goto out;
		}
	}
	status = failed ? CMD_EXIT_ERR : CMD_EXIT_OK;
out:
	free(l.buf);
	return (status);
}

int
cmd_pub(struct cmd *cmd, int argc, char **argv)
{
	struct client_hello	 h = { CMD_AGENT_DEFAULT, NULL, NULL, NULL };
	struct pub		 p;
	char			*end;
	bool			 lines = false;
	int			 ch, status;

	cmd->usage = "[--from T] [--kind K] [--pri P] [--pattern S] "
	    "[--agent A]\n    [--session S] [--model M] [--lines] TRACT BODY";
	cmd->help =
	    "  BODY -          read the body from stdin\n"
	    "  --lines         one message per line of stdin\n"
	    "  --from T        the sending tract (hello's home tract)\n"
	    "  --pri P         priority, 0..1 (default 0.5)\n";
	memset(&p, 0, sizeof(p));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", pub_options, NULL)) != -1) {
		switch (ch) {
		case OPT_FROM:
			h.tract = optarg;
			break;
		case OPT_KIND:
			p.kind = optarg;
			break;
		case OPT_PRI:
			errno = 0;
			p.pri = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(p.pri >= 0.0 && p.pri <= 1.0))
				return (cmd_usage_error(cmd,
				    "--pri: not a number in 0..1: %s", optarg));
			p.has_pri = true;
			break;
		case OPT_PATTERN:
			p.pattern = optarg;
			break;
		case OPT_AGENT:
			h.agent = optarg;
			break;
		case OPT_SESSION:
			h.session = optarg;
			break;
		case OPT_MODEL:
			h.model = optarg;
			break;
		case OPT_LINES:
			lines = true;
			break;
		default:
			if (cmd_option(cmd, ch, &status))
				return (status);
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (lines) {
		if (argc < 1 || argc > 2 || (argc == 2 &&
		    strcmp(argv[1], "-") != 0))
			return (cmd_usage_error(cmd,
			    "--lines takes TRACT and reads stdin"));
	} else if (argc != 2)
		return (cmd_usage_error(cmd, "expected TRACT BODY"));
	p.to = argv[0];

	if ((status = cmd_connect(cmd, &h)) != CMD_EXIT_OK)
		return (status);
	if (lines) {
		/* Acks are printed as they come, for whoever reads them. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		return (pub_lines(cmd, &p));
	}
	return (pub_one(cmd, &p, argv[1]));
}
