/*
 * log: one line per event that matters, to stderr:
 *   2026-11-23T20:41:07.123Z info conn_open conn=3 uid=0
 * The event is a short snake_case word; the rest are key=value pairs.
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
/* Writes one line: timestamp, level, event, then fmt as key=value text. */
void		 log_msg(enum log_level level, const char *event, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

#define log_error(ev, ...)	log_msg(LOG_ERROR, ev, __VA_ARGS__)
#define log_warn(ev, ...)	log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_info(ev, ...)	log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_debug(ev, ...)	\
	do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, ev, __VA_ARGS__); } while (0)

#endif
