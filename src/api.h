/*
 * api: the daemon's own HTTP endpoints: /healthz, /metrics, /api/targets
 * and /api/targets/latest.  Registers its handlers on the httpd given at
 * creation; runs on the event loop thread.
 */
#ifndef MONITORD_API_H
#define MONITORD_API_H

#include <stddef.h>
#include <stdint.h>

struct api;
struct api_store;
struct httpd;
struct targets;

struct api	*api_new(struct httpd *, struct targets *);
struct alerting;
/* Once alerting runs: its metrics join /metrics. */
void		 api_set_alerting(struct api *, struct alerting *);
/* Once the store is open: its metrics join /metrics. */
struct store;
void		 api_set_store(struct api *, struct api_store *, struct store *);
/* After a reload: the targets to report from now on. */
void		 api_set_targets(struct api *, struct targets *);
void		 api_free(struct api *);

/* "127.0.0.1:9330" for a listen address and the bound port, into OUT. */
const char	*api_display_addr(const char *listen, int port, char *out,
		    size_t outlen);

#endif
