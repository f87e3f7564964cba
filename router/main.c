/*
 * callosumd: the router, in the foreground. Start-up order: configuration
 * (exit 64 on bad usage), log level, the server (event log, tracts,
 * socket), then the loop until SIGTERM or SIGINT has drained it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "router/config.h"
#include "router/log.h"
#include "router/msg.h"
#include "router/pub.h"
#include "router/server.h"
#include "synth/webhook.h"

#define EX_USAGE_CODE	64

int
main(int argc, char **argv)
{
	struct config	 cfg;
	struct server	 srv;
	char		*cause = NULL;
	int		 rc;

	switch (config_from_args(&cfg, argc, argv, &cause)) {
	case CONFIG_EXIT:
		config_free(&cfg);
		return (0);
	case CONFIG_USAGE:
		fprintf(stderr, "callosumd: %s\n", cause);
		free(cause);
		config_free(&cfg);
		return (EX_USAGE_CODE);
	case CONFIG_OK:
		break;
	}
	log_set_level(cfg.log_level);
	signal(SIGPIPE, SIG_IGN);
	/* libcurl's global set-up: once, before anything else runs. */
	if (cfg.webhook != NULL && webhook_global_init(&cause) == -1) {
		fprintf(stderr, "callosumd: %s\n", cause);
		free(cause);
		config_free(&cfg);
		return (1);
	}
	if (server_init(&srv, &cfg, NULL, &cause) == -1) {
		fprintf(stderr, "callosumd: %s\n", cause);
		free(cause);
		server_free(&srv);
		rc = EX_USAGE_CODE;
	} else {
		rc = server_run(&srv);
		server_free(&srv);
	}
	if (cfg.webhook != NULL)
		webhook_global_cleanup();
	config_free(&cfg);
	msg_pool_drain();
	pub_pool_drain();
	return (rc);
}
