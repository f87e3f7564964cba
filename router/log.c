/*
 * log: one line per event, written to stderr with a single write(2).
 *
 * The line is built in a stack buffer no larger than PIPE_BUF, so a line
 * written to a pipe or a journald stream is never interleaved with another
 * writer's, and logging allocates nothing (xmalloc logs before aborting).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "router/log.h"

/* At most PIPE_BUF (4096 on Linux): one write(2) of it is atomic. */
#define LOG_LINE_MAX	2048
#define LOG_ELLIPSIS	"..."

_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "log lines must fit one atomic write");

static enum log_level	 log_level = LOG_INFO;

static const char	*log_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug"
};

void
log_set_level(enum log_level level)
{
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	log_level = level;
}

int
log_level_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
		if (strcmp(s, log_names[i]) == 0)
			return ((int)i);
	}
	return (-1);
}

int
log_enabled(enum log_level level)
{
	return (level <= log_level);
}

void
log_msg(enum log_level level, const char *component, const char *event,
    const char *fmt, ...)
{
	char		 buf[LOG_LINE_MAX], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap;
	size_t		 len, i;
	int		 n, saved_errno;
	ssize_t		 w;

	if (!log_enabled(level))
		return;
	/* Callers log and then look at errno; logging must not change it. */
	saved_errno = errno;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		strcpy(stamp, "0000-00-00T00:00:00");
		ts.tv_nsec = 0;
	}

	/* The buffer always keeps room for the ellipsis and the newline. */
	n = snprintf(buf, sizeof buf - sizeof LOG_ELLIPSIS,
	    "%s %s.%03ldZ %s %s", log_names[level], stamp,
	    (long)(ts.tv_nsec / 1000000), component, event);
	len = n < 0 ? 0 : (size_t)n;
	if (len < sizeof buf - sizeof LOG_ELLIPSIS && fmt[0] != '\0') {
		buf[len++] = ' ';
		va_start(ap, fmt);
		n = vsnprintf(buf + len, sizeof buf - sizeof LOG_ELLIPSIS - len,
		    fmt, ap);
		va_end(ap);
		if (n <= 0)
			len--;	/* nothing after the event: no blank */
		else
			len += (size_t)n;
	}
	if (len >= sizeof buf - sizeof LOG_ELLIPSIS) {
		len = sizeof buf - sizeof LOG_ELLIPSIS - 1;
		memcpy(buf + len, LOG_ELLIPSIS, sizeof LOG_ELLIPSIS - 1);
		len += sizeof LOG_ELLIPSIS - 1;
	}

	/*
	 * One event, one line: values may come from clients (agent names,
	 * causes quoting input), so a newline or other control byte in them
	 * must not forge a second line.
	 */
	for (i = 0; i < len; i++) {
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	}
	buf[len++] = '\n';

	/* Nowhere to report a failed write to stderr; retry interrupts only. */
	do
		w = write(STDERR_FILENO, buf, len);
	while (w == -1 && errno == EINTR);

	errno = saved_errno;
}
