/*
 * callosum replay: stream logged events (from <= eid <= to) on sid 1 and
 * print them in order; done at "end". Memory stays bounded however long
 * the replay: cmd_stream() prints each event as it is decoded and keeps
 * at most REPLAY_WINDOW of them granted.
 */
#include <sys/time.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/cmd.h"

#define REPLAY_SID		1
#define REPLAY_ID		1
/* Credit kept granted; a replay is a bulk read, so a larger window. */
#define REPLAY_WINDOW		1024

/*
 * Progress, for a long replay into a file or a pipe: when stderr is a
 * terminal and stdout is not (on the same terminal the events show it
 * themselves, and a progress line would break theirs), one line on
 * stderr from REPLAY_PROGRESS_DELAY_MS on, every REPLAY_PROGRESS_MS,
 * rewritten in place and cleared at the end: events so far, their rate
 * over the last interval, seconds since the start. A short replay shows
 * nothing. cmd_stream() owns the loop, so a SIGALRM handler writes the
 * line: it touches only lock-free atomics and calls only clock_gettime()
 * and write(). SA_RESTART restarts stdout's writes; the client retries
 * its poll on EINTR. $CALLOSUM_PROGRESS_DELAY_MS sets the delay (tests).
 */
#define REPLAY_PROGRESS_DELAY_MS	1000
#define REPLAY_PROGRESS_MS		500
#define REPLAY_PROGRESS_LINE		96

static struct {
	_Atomic(const _Atomic uint64_t *) n;	/* the stream's received */
	_Atomic uint64_t	t0_ms;
	_Atomic uint64_t	last_ms;	/* the last line's */
	_Atomic uint64_t	last_n;
	_Atomic uint64_t	width;		/* of the line shown; 0: none */
	struct sigaction	old;
	bool			on;
} replay_progress;

static uint64_t
replay_progress_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Appends s to the line (async-signal-safe: no stdio). */
static size_t
replay_progress_put(char *line, size_t off, const char *s)
{
	while (*s != '\0' && off < REPLAY_PROGRESS_LINE)
		line[off++] = *s++;
	return (off);
}

static size_t
replay_progress_put_u64(char *line, size_t off, uint64_t v)
{
	char	digits[21];
	size_t	i = sizeof(digits) - 1;

	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return (replay_progress_put(line, off, digits + i));
}

/* "\rreplay: N events, R/s, T.T s" padded over the previous line. */
static size_t
replay_progress_format(char *line, uint64_t n, uint64_t now_ms)
{
	uint64_t	last_ms = atomic_load(&replay_progress.last_ms);
	uint64_t	last_n = atomic_load(&replay_progress.last_n);
	uint64_t	dt = now_ms > last_ms ? now_ms - last_ms : 1;
	uint64_t	el = now_ms - atomic_load(&replay_progress.t0_ms);
	uint64_t	rate = (n - last_n) * 1000 / dt;
	size_t		off, shown;

	off = replay_progress_put(line, 0, "\rreplay: ");
	off = replay_progress_put_u64(line, off, n);
	off = replay_progress_put(line, off, " events, ");
	off = replay_progress_put_u64(line, off, rate);
	off = replay_progress_put(line, off, "/s, ");
	off = replay_progress_put_u64(line, off, el / 1000);
	off = replay_progress_put(line, off, ".");
	off = replay_progress_put_u64(line, off, el % 1000 / 100);
	off = replay_progress_put(line, off, " s");
	shown = off - 1;			/* after the \r */
	while (off - 1 < atomic_load(&replay_progress.width) &&
	    off < REPLAY_PROGRESS_LINE)
		line[off++] = ' ';
	atomic_store(&replay_progress.width, shown);
	return (off);
}

static void
replay_progress_cb(int sig)
{
	char		line[REPLAY_PROGRESS_LINE];
	uint64_t	now = replay_progress_now_ms();
	uint64_t	n = atomic_load(atomic_load(&replay_progress.n));
	size_t		len;
	ssize_t		w;
	int		saved = errno;

	(void)sig;
	len = replay_progress_format(line, n, now);
	atomic_store(&replay_progress.last_ms, now);
	atomic_store(&replay_progress.last_n, n);
	w = write(STDERR_FILENO, line, len);
	(void)w;
	errno = saved;
}

/* The delay before the first line: $CALLOSUM_PROGRESS_DELAY_MS or 1 s. */
static uint64_t
replay_progress_delay_ms(void)
{
	const char	*env = getenv("CALLOSUM_PROGRESS_DELAY_MS");
	uint64_t	 v;

	if (env != NULL && cmd_parse_u64(env, 0, 3600 * 1000, &v))
		return (v > 0 ? v : 1);		/* 0 would disarm the timer */
	return (REPLAY_PROGRESS_DELAY_MS);
}

/* Arms the progress line when it is wanted (see above). */
static void
replay_progress_start(struct cmd_stream *s)
{
	struct sigaction	sa;
	struct itimerval	it;
	uint64_t		delay = replay_progress_delay_ms(), now;

	if (!isatty(STDERR_FILENO) || isatty(STDOUT_FILENO) ||
	    !atomic_is_lock_free(&s->received))
		return;
	now = replay_progress_now_ms();
	atomic_store(&replay_progress.n, &s->received);
	atomic_store(&replay_progress.t0_ms, now);
	atomic_store(&replay_progress.last_ms, now);
	atomic_store(&replay_progress.last_n, 0);
	atomic_store(&replay_progress.width, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = replay_progress_cb;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, &replay_progress.old) == -1)
		return;
	it.it_value.tv_sec = (time_t)(delay / 1000);
	it.it_value.tv_usec = (suseconds_t)(delay % 1000 * 1000);
	it.it_interval.tv_sec = 0;
	it.it_interval.tv_usec = REPLAY_PROGRESS_MS * 1000;
	if (setitimer(ITIMER_REAL, &it, NULL) == -1) {
		sigaction(SIGALRM, &replay_progress.old, NULL);
		return;
	}
	replay_progress.on = true;
}

/* Disarms it, drops a tick still pending, and clears the line. */
static void
replay_progress_stop(void)
{
	char			blank[REPLAY_PROGRESS_LINE + 2];
	struct itimerval	off;
	sigset_t		set, old;
	size_t			width;
	ssize_t			w;

	if (!replay_progress.on)
		return;
	replay_progress.on = false;
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, &old);
	memset(&off, 0, sizeof(off));
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);	/* discards a pending SIGALRM */
	sigaction(SIGALRM, &replay_progress.old, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if ((width = atomic_load(&replay_progress.width)) == 0)
		return;
	/* "\r", as many blanks as the line had, "\r". */
	memset(blank, ' ', sizeof(blank));
	blank[0] = blank[width + 1] = '\r';
	w = write(STDERR_FILENO, blank, width + 2);
	(void)w;
}

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
	replay_progress_start(&s);
	status = cmd_stream(cmd, &s);
	replay_progress_stop();
	return (status);
}
