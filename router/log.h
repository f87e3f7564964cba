/*
 * log: one line per event that matters, to stderr:
 *   info 2026-11-23T20:41:07.123Z conn close conn=3 reason=eof
 * level, UTC time, the component (conn, server, tract, eventlog, http,
 * ...), the event as a short snake_case word, then key=value pairs.
 */
#ifndef CALLOSUM_LOG_H
#define CALLOSUM_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG
};

/* Lines above level are not written. */
void		 log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int		 log_level_parse(const char *s);
int		 log_enabled(enum log_level level);
/* Writes one line: level, time, component, event, fmt as key=value text. */
void		 log_msg(enum log_level level, const char *component,
		    const char *event, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

#define log_error(co, ev, ...)	log_msg(LOG_ERROR, co, ev, __VA_ARGS__)
#define log_warn(co, ev, ...)	log_msg(LOG_WARN, co, ev, __VA_ARGS__)
#define log_info(co, ev, ...)	log_msg(LOG_INFO, co, ev, __VA_ARGS__)
#define log_debug(co, ev, ...)	\
	do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, co, ev, __VA_ARGS__); } while (0)

#endif
