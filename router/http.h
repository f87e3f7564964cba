/*
 * http: /metrics, /stats.json, /healthz and the dashboard, served by
 * evhttp on the router's loop (--http ADDR:PORT).
 */
#ifndef CALLOSUM_HTTP_H
#define CALLOSUM_HTTP_H

struct http;
struct server;

/*
 * Listens on spec ("ADDR:PORT", "[v6]:PORT"). NULL with *cause set when
 * it cannot: a usage error (exit 64).
 */
struct http	*http_open(struct server *, const char *spec, char **cause);
/* Stops listening and drops open HTTP connections. NULL is a no-op. */
void		 http_close(struct http *);

#endif
