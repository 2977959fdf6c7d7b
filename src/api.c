/*
 * api: /healthz, /metrics, /api/targets and /api/targets/latest (see
 * api.h).  The handlers answer from memory on the loop thread; none blocks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alert/alerting.h"
#include "api.h"
#include "api_store.h"
#include "buf.h"
#include "expo.h"
#include "http/server.h"
#include "selfmon.h"
#include "storage/store.h"
#include "collectors/target.h"
#include "xmalloc.h"

struct api {
	struct httpd	*httpd;
	struct targets	*targets;
	struct api_store *store;
	struct store	*tsdb;
	struct alerting	*alerting;
	int64_t		 start_ms;
};

static void
api_healthz(struct httpd_req *req, void *arg)
{
	httpd_reply(req, 200, HTTPD_TEXT, "ok\n", 3);
}

static int
api_flag(const char *v)
{
	return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void
api_metrics(struct httpd_req *req, void *arg)
{
	struct api	*api = arg;
	struct buf	 b = BUF_INIT;

	buf_reserve(&b, 64 * 1024);
	selfmon_write(&b, api->start_ms);
	httpd_write_metrics(api->httpd, &b);
	targets_write_metrics(api->targets, &b);
	if (api->store != NULL)
		api_store_write_metrics(api->store, &b);
	if (api->alerting != NULL)
		alerting_write_metrics(api->alerting, &b);
	/* This host's own series, so a Prometheus can scrape it here;
	   ?self=1 leaves them out (monitord's scrape of itself). */
	if (!api_flag(httpd_param(req, "self")))
		targets_write_latest(api->targets, "proc", NULL, &b);
	httpd_reply_buf(req, 200, EXPO_CONTENT_TYPE, &b);
	buf_free(&b);
}

/* An RFC 3339 time in UTC with milliseconds, "" for none. */
static json_t *
api_time(int64_t ms)
{
	struct tm	tm;
	time_t		sec;
	char		s[64];

	if (ms <= 0)
		return json_string("");
	sec = (time_t)(ms / 1000);
	gmtime_r(&sec, &tm);
	snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return json_string(s);
}

/*
 * The store's state beside the targets, so a full disk shows where an
 * operator looks first: health is "disk_full" while writes are refused for
 * lack of room, "error" when the last failure came after the last good
 * write of data, "ok" otherwise.
 */
static json_t *
api_store_state(struct store *st)
{
	struct store_stats	 ss;
	const char		*health = "ok";

	store_stats(st, &ss);
	if (ss.disk_full)
		health = "disk_full";
	else if (ss.last_error_time > ss.last_write_time)
		health = "error";
	return json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
	    "health", health,
	    "lastError", ss.last_error,
	    "lastErrorTime", api_time(ss.last_error_time),
	    "lastFlush", api_time(ss.last_flush_time),
	    "series", (json_int_t)ss.series,
	    "errors", (json_int_t)ss.errors,
	    "bytesOnDisk", (json_int_t)ss.bytes_on_disk,
	    "mapSize", (json_int_t)ss.map_size,
	    "mapSizeMax", (json_int_t)ss.map_size_max);
}

static void
api_targets(struct httpd_req *req, void *arg)
{
	struct api	*api = arg;
	json_t		*data = json_object();

	json_object_set_new(data, "targets", targets_json(api->targets));
	if (api->tsdb != NULL)
		json_object_set_new(data, "store", api_store_state(api->tsdb));
	httpd_reply_json(req, 200, json_pack("{s:s, s:o}", "status", "success",
	    "data", data));
}

static void
api_targets_latest(struct httpd_req *req, void *arg)
{
	struct api	*api = arg;
	struct buf	 b = BUF_INIT;

	targets_write_latest(api->targets, NULL, httpd_param(req, "job"), &b);
	httpd_reply_buf(req, 200, EXPO_CONTENT_TYPE, &b);
	buf_free(&b);
}

struct api *
api_new(struct httpd *httpd, struct targets *targets)
{
	struct api	*api = xcalloc(1, sizeof(*api));
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	api->start_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	api->httpd = httpd;
	api->targets = targets;
	httpd_route(httpd, "/healthz", HTTPD_GET, api_healthz, api);
	httpd_route(httpd, "/metrics", HTTPD_GET, api_metrics, api);
	httpd_route(httpd, "/api/targets", HTTPD_GET, api_targets, api);
	httpd_route(httpd, "/api/targets/latest", HTTPD_GET,
	    api_targets_latest, api);
	return api;
}

void
api_set_alerting(struct api *api, struct alerting *al)
{
	api->alerting = al;
}

void
api_set_store(struct api *api, struct api_store *as, struct store *st)
{
	api->store = as;
	api->tsdb = st;
}

void
api_set_targets(struct api *api, struct targets *targets)
{
	api->targets = targets;
}

void
api_free(struct api *api)
{
	free(api);
}

const char *
api_display_addr(const char *listen, int port, char *out, size_t outlen)
{
	const char	*colon = strrchr(listen, ':');
	size_t		 hostlen = colon ? (size_t)(colon - listen) : strlen(listen);

	if (hostlen == 7 && strncmp(listen, "0.0.0.0", 7) == 0)
		snprintf(out, outlen, "127.0.0.1:%d", port);
	else if (hostlen == 4 && strncmp(listen, "[::]", 4) == 0)
		snprintf(out, outlen, "[::1]:%d", port);
	else
		snprintf(out, outlen, "%.*s:%d", (int)hostlen, listen, port);
	return out;
}
