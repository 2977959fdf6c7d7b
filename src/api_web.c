/*
 * api_web: the dashboard's files and /api/services (see api_web.h).
 *
 * The default panel queries are a table keyed by the family of the first
 * job's collector section, the method and the signal, so a reader sees in
 * one place what each panel draws when the config does not say.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_web.h"
#include "buf.h"
#include "conf.h"
#include "http/server.h"
#include "http/static.h"
#include "web/assets.h"
#include "xmalloc.h"

#define CACHE_VERSIONED	"public, max-age=31536000, immutable"
#define CACHE_REVALIDATE "no-cache"

struct api_web {
	struct httpd		*httpd;
	const struct conf	*conf;
};

static const struct {
	const char	*method;
	const char	*signals[5];
} method_panels[] = {
	{ "red", { "rate", "errors", "duration", NULL } },
	{ "golden", { "latency", "traffic", "errors", "saturation", NULL } },
	{ "use", { "utilization", "saturation", "errors", NULL } },
};

/*
 * $M stands for the job matcher.  Lookup: (family, method, signal), then
 * (family, any method, signal), then the same for "http", the family of
 * any job that is not a [postgres], [proc] or [rabbitmq] section.
 */
static const struct panel_default {
	const char	*family;
	const char	*method;	/* NULL: any */
	const char	*signal;
	const char	*expr;
	const char	*unit;
} defaults[] = {
	/* An application scraped over HTTP, with a Prometheus client. */
	{ "http", NULL, "rate",
	  "sum(rate(http_requests_total{$M}[5m]))", "persec" },
	{ "http", NULL, "traffic",
	  "sum(rate(http_requests_total{$M}[5m]))", "persec" },
	{ "http", NULL, "errors",
	  "sum(rate(http_requests_total{$M,code=~\"5..\"}[5m]))", "persec" },
	{ "http", NULL, "duration",
	  "histogram_quantile(0.95, sum by (le) "
	  "(rate(http_request_duration_seconds_bucket{$M}[5m])))", "seconds" },
	{ "http", NULL, "latency",
	  "histogram_quantile(0.95, sum by (le) "
	  "(rate(http_request_duration_seconds_bucket{$M}[5m])))", "seconds" },
	{ "http", "golden", "saturation",
	  "sum(http_requests_in_flight{$M})", "short" },
	/* USE of an application: the client library's process metrics. */
	{ "http", NULL, "utilization",
	  "sum(rate(process_cpu_seconds_total{$M}[5m])) * 100", "percent" },
	{ "http", "use", "saturation",
	  "sum(process_resident_memory_bytes{$M})", "bytes" },
	{ "http", "use", "errors",
	  "sum(changes(process_start_time_seconds{$M}[1h]))", "short" },

	/* [proc] with process, cmdline or pidfile: its process group. */
	{ "process", NULL, "utilization",
	  "sum(rate(process_cpu_seconds_total{$M}[5m])) * 100", "percent" },
	{ "process", NULL, "saturation",
	  "sum(process_resident_memory_bytes{$M})", "bytes" },
	{ "process", "use", "errors",
	  "sum(changes(process_start_time_seconds{$M}[1h]))", "short" },

	/* [proc] of a host. */
	{ "host", NULL, "utilization",
	  "(1 - avg(rate(node_cpu_seconds_total{$M,mode=\"idle\"}[5m]))) * 100",
	  "percent" },
	{ "host", NULL, "saturation",
	  "avg(rate(node_pressure_cpu_waiting_seconds_total{$M}[5m])) * 100",
	  "percent" },
	{ "host", "use", "errors",
	  "sum(rate(node_network_receive_errs_total{$M}[5m])) + "
	  "sum(rate(node_network_transmit_errs_total{$M}[5m]))", "persec" },

	/* [postgres]: transactions are its requests. */
	{ "postgres", NULL, "rate",
	  "sum(rate(pg_stat_database_xact_commit{$M}[5m]))", "persec" },
	{ "postgres", NULL, "traffic",
	  "sum(rate(pg_stat_database_xact_commit{$M}[5m]))", "persec" },
	{ "postgres", NULL, "errors",
	  "sum(rate(pg_stat_database_xact_rollback{$M}[5m])) + "
	  "sum(rate(pg_stat_database_deadlocks{$M}[5m]))", "persec" },
	{ "postgres", NULL, "duration",
	  "sum(rate(pg_stat_statements_seconds_total{$M}[5m])) / "
	  "sum(rate(pg_stat_statements_calls_total{$M}[5m]))", "seconds" },
	{ "postgres", NULL, "latency",
	  "sum(rate(pg_stat_statements_seconds_total{$M}[5m])) / "
	  "sum(rate(pg_stat_statements_calls_total{$M}[5m]))", "seconds" },
	{ "postgres", NULL, "saturation",
	  "max(pg_connections_utilization_ratio{$M}) * 100", "percent" },
	{ "postgres", NULL, "utilization",
	  "sum(pg_stat_activity_count{$M,state=\"active\"})", "short" },

	/* [rabbitmq]: deliveries are its requests. */
	{ "rabbitmq", NULL, "rate",
	  "sum(rate(rabbitmq_global_messages_delivered_total{$M}[5m]))",
	  "persec" },
	{ "rabbitmq", NULL, "traffic",
	  "sum(rate(rabbitmq_global_messages_delivered_total{$M}[5m]))",
	  "persec" },
	{ "rabbitmq", NULL, "errors",
	  "sum(rabbitmq_dead_letter_queue_messages{$M})", "short" },
	{ "rabbitmq", NULL, "duration",
	  "max(rabbitmq_canary_round_trip_seconds{$M})", "seconds" },
	{ "rabbitmq", NULL, "latency",
	  "max(rabbitmq_canary_round_trip_seconds{$M})", "seconds" },
	{ "rabbitmq", NULL, "saturation",
	  "sum(rabbitmq_queue_messages_ready{$M})", "short" },
	{ "rabbitmq", NULL, "utilization",
	  "sum(rabbitmq_queue_messages_unacked{$M})", "short" },
};

static const char *const *
panels_of(const char *method)
{
	size_t	i;

	for (i = 0; i < sizeof(method_panels) / sizeof(method_panels[0]); i++)
		if (strcmp(method_panels[i].method, method) == 0)
			return method_panels[i].signals;
	return NULL;
}

static size_t
jobs_count(const struct conf_section *s)
{
	return conf_has(s, "job") ? conf_multi_count(s, "job") : 1;
}

/* Job I of the service: its job keys, else its own name. */
static const char *
job_at(const struct conf_section *s, size_t i)
{
	if (!conf_has(s, "job"))
		return conf_section_name(s);
	return conf_multi_at(s, "job", i);
}

/*
 * The family of the collector section named JOB: collector kinds are the
 * ones that share the common collector keys (schema.h).
 */
static const char *
family_of(const struct conf *conf, const char *job)
{
	const struct conf_section	*c;
	const struct conf_kind		*k;
	const char			*kind, *name;
	size_t				 i, n = conf_count(conf, NULL);

	for (i = 0; i < n; i++) {
		c = conf_at(conf, NULL, i);
		k = conf_section_kind_decl(c);
		name = conf_section_name(c);
		if (name == NULL || strcmp(name, job) != 0 || k == NULL ||
		    k->common == NULL)
			continue;
		kind = conf_section_kind(c);
		if (strcmp(kind, "proc") == 0) {
			if (conf_has(c, "process") || conf_has(c, "cmdline") ||
			    conf_has(c, "pidfile"))
				return "process";
			return "host";
		}
		if (strcmp(kind, "postgres") == 0 ||
		    strcmp(kind, "rabbitmq") == 0)
			return kind;
		return "http";
	}
	return NULL;
}

/* S inside a PromQL double-quoted string. */
static void
add_quoted_body(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(b, '\\');
		else if (*s == '\n') {
			buf_adds(b, "\\n");
			continue;
		}
		buf_addc(b, *s);
	}
}

/* job="a" or job=~"a|b" with the names' RE2 metacharacters escaped. */
static void
add_matcher(struct buf *b, const struct conf_section *s)
{
	struct buf	 re = BUF_INIT;
	const char	*j;
	size_t		 i, n = jobs_count(s);

	if (n == 1) {
		buf_adds(b, "job=\"");
		add_quoted_body(b, job_at(s, 0));
		buf_addc(b, '"');
		return;
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&re, '|');
		for (j = job_at(s, i); *j != '\0'; j++) {
			if (strchr("\\.+*?()|[]{}^$", *j) != NULL)
				buf_addc(&re, '\\');
			buf_addc(&re, *j);
		}
	}
	buf_adds(b, "job=~\"");
	add_quoted_body(b, re.data != NULL ? re.data : "");
	buf_addc(b, '"');
	buf_free(&re);
}

static const struct panel_default *
default_find(const char *family, const char *method, const char *signal)
{
	size_t	i, pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
			const struct panel_default *d = &defaults[i];

			if (strcmp(d->family, family) != 0 ||
			    strcmp(d->signal, signal) != 0)
				continue;
			if (pass == 0 ? d->method != NULL &&
			    strcmp(d->method, method) == 0 : d->method == NULL)
				return d;
		}
	}
	return NULL;
}

char *
api_web_default(const struct conf *conf, const struct conf_section *s,
    const char *signal, const char **unit)
{
	const struct panel_default	*d;
	const char			*method = conf_str(s, "method");
	const char			*const *sig, *family = NULL, *p;
	struct buf			 b = BUF_INIT, m = BUF_INIT;
	size_t				 i;

	if ((sig = panels_of(method)) == NULL)
		return NULL;
	while (*sig != NULL && strcmp(*sig, signal) != 0)
		sig++;
	if (*sig == NULL)
		return NULL;
	for (i = 0; i < jobs_count(s) && family == NULL; i++)
		family = family_of(conf, job_at(s, i));
	if (family == NULL ||
	    (d = default_find(family, method, signal)) == NULL)
		d = default_find("http", method, signal);
	if (d == NULL)		/* every signal has an "http" default */
		abort();
	add_matcher(&m, s);
	for (p = d->expr; *p != '\0'; p++) {
		if (p[0] == '$' && p[1] == 'M') {
			buf_add(&b, m.data, m.len);
			p++;
		} else
			buf_addc(&b, *p);
	}
	buf_free(&m);
	*unit = d->unit;
	return buf_detach(&b);
}

static json_t *
service_json(const struct conf *conf, const struct conf_section *s)
{
	const char	*method = conf_str(s, "method");
	const char	*const *sig;
	json_t		*jobs = json_array(), *panels = json_array();
	size_t		 i;

	for (i = 0; i < jobs_count(s); i++)
		json_array_append_new(jobs, json_string(job_at(s, i)));
	for (sig = panels_of(method); sig != NULL && *sig != NULL; sig++) {
		const char	*unit = "";
		char		*expr;
		int		 own = conf_has(s, *sig);

		expr = own ? xstrdup(conf_str(s, *sig)) :
		    api_web_default(conf, s, *sig, &unit);
		json_array_append_new(panels, json_pack("{s:s, s:s, s:s, s:s}",
		    "signal", *sig, "expr", expr, "source",
		    own ? "config" : "default", "unit", unit));
		free(expr);
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:o}",
	    "name", conf_section_name(s), "method", method,
	    "description", conf_str(s, "description"),
	    "jobs", jobs, "panels", panels);
}

json_t *
api_web_services(const struct conf *conf)
{
	json_t	*list = json_array();
	size_t	 i, n = conf_count(conf, "service");

	for (i = 0; i < n; i++)
		json_array_append_new(list,
		    service_json(conf, conf_at(conf, "service", i)));
	return json_pack("{s:o}", "services", list);
}

static void
web_services(struct httpd_req *req, void *arg)
{
	struct api_web	*w = arg;

	httpd_reply_json(req, 200, json_pack("{s:s, s:o}", "status",
	    "success", "data", api_web_services(w->conf)));
}

static void
web_index(struct httpd_req *req, void *arg)
{
	const struct httpd_asset *a = httpd_asset_find(web_assets,
	    "index.html");

	if (a == NULL) {
		httpd_reply_error(req, 404, "not found");
		return;
	}
	httpd_reply_asset(req, a, CACHE_REVALIDATE);
}

/* A path segment that looks like a build's version: ten hex digits. */
static int
is_version(const char *s, size_t len)
{
	size_t	i;

	if (len != strlen(web_assets_version))
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void
web_static(struct httpd_req *req, void *arg)
{
	const struct httpd_asset	*a;
	const char			*rest = httpd_path_rest(req);
	const char			*slash = strchr(rest, '/');
	const char			*cache = CACHE_REVALIDATE;

	if (slash != NULL && is_version(rest, (size_t)(slash - rest))) {
		if (strncmp(rest, web_assets_version, (size_t)(slash -
		    rest)) == 0)
			cache = CACHE_VERSIONED;
		rest = slash + 1;
	}
	/* index.html only at /, where it is never cached. */
	if (strcmp(rest, "index.html") == 0 ||
	    (a = httpd_asset_find(web_assets, rest)) == NULL) {
		httpd_reply_error(req, 404, "not found");
		return;
	}
	httpd_reply_asset(req, a, cache);
}

struct api_web *
api_web_new(struct httpd *httpd, const struct conf *conf)
{
	struct api_web	*w = xcalloc(1, sizeof(*w));

	w->httpd = httpd;
	w->conf = conf;
	httpd_route(httpd, "/", HTTPD_GET, web_index, w);
	httpd_route(httpd, "/static/", HTTPD_GET, web_static, w);
	httpd_route(httpd, "/api/services", HTTPD_GET, web_services, w);
	return w;
}

void
api_web_set_conf(struct api_web *w, const struct conf *conf)
{
	w->conf = conf;
}

void
api_web_free(struct api_web *w)
{
	free(w);
}
