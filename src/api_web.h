/*
 * api_web: the dashboard.  Serves its compiled-in files (web/assets.h) at
 * / and /static/, and GET /api/services: the config's [service] sections
 * with the query behind every panel the dashboard draws for them.
 *
 * URLs and caching:
 *   /                          index.html, Cache-Control: no-cache
 *   /static/VERSION/PATH       PATH of the current build: cached for a year
 *                              (VERSION changes whenever any file does)
 *   /static/PATH, or another   the same file, no-cache (a page from before
 *   build's VERSION            an upgrade still loads)
 * Every file is sent gzip-compressed as stored, with an ETag; a matching
 * If-None-Match gets 304.
 *
 * /api/services answers, in the Prometheus API's envelope,
 *   {"status":"success","data":{"services":[{"name":"shop",
 *     "method":"red","description":"...","jobs":["shop-api"],
 *     "panels":[{"signal":"rate","expr":"...","source":"config",
 *                "unit":""}, ...]}, ...]}}
 * in file order.  Panels follow the method: red rate, errors, duration;
 * golden latency, traffic, errors, saturation; use utilization,
 * saturation, errors.  A signal the section sets has source "config" and
 * unit "" (the dashboard guesses one from the expression); any other gets
 * the default query of api_web_default (source "default") and its unit:
 * "persec", "seconds", "bytes", "percent" (0-100) or "short".
 *
 * Lifetime: the conf given must stay valid until api_web_set_conf replaces
 * it or api_web_free; the daemon calls api_web_set_conf on reload before
 * freeing the old conf.  Loop thread only.
 */
#ifndef MONITORD_API_WEB_H
#define MONITORD_API_WEB_H

struct api_web;
struct conf;
struct conf_section;
struct httpd;
struct json_t;

struct api_web	*api_web_new(struct httpd *, const struct conf *);
void		 api_web_set_conf(struct api_web *, const struct conf *);
void		 api_web_free(struct api_web *);

/* The "data" of /api/services for CONF: a new reference. */
struct json_t	*api_web_services(const struct conf *);

/*
 * The default query of SIGNAL ("rate", "latency", ...) for the [service]
 * section S of CONF, or NULL for a signal that is not one of S's method.
 * *UNIT is set to its unit.  The query depends on the method and on the
 * kind of the collector section its first job names (a [postgres] job gets
 * transactions, a [proc] job with a process match its process_* series,
 * one without the host's node_* series, a [rabbitmq] job its queues; any
 * other job, such as an [http] scrape of an application, the
 * http_requests_total and http_request_duration_seconds series that
 * Prometheus client libraries export).  Every selector matches the jobs:
 * job="a", or job=~"a|b" for several.  The caller frees the string.
 */
char		*api_web_default(const struct conf *,
		    const struct conf_section *s, const char *signal,
		    const char **unit);

#endif
