/*
 * dashboard: the page served at / by --http, router/dashboard.html compiled
 * into the binary at build time (router/embed.cmake), so the router needs
 * no files and no network to show it. The page polls stats.json and
 * healthz, relative to its own URL.
 */
#ifndef CALLOSUM_DASHBOARD_H
#define CALLOSUM_DASHBOARD_H

#include <stddef.h>

/* The page's bytes, UTF-8; a NUL follows them, not counted in the length. */
extern const unsigned char	dashboard_html[];
/* Bytes in dashboard_html, the NUL excluded. */
extern const size_t		dashboard_html_len;

#endif
