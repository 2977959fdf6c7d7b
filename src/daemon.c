/*
 * daemon: the running instance: configuration, event loop, HTTP server,
 * collector targets, reload and shutdown (see daemon.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "alert/alerting.h"
#include "api_query.h"
#include "query/engine.h"
#include "api_store.h"
#include "api_web.h"
#include "buf.h"
#include "collectors/collector.h"
#include "daemon.h"
#include "http/server.h"
#include "log.h"
#include "memtrim.h"
#include "query/parser.h"
#include "schema.h"
#include "storage/store.h"
#include "worker.h"
#include "collectors/target.h"
#include "xmalloc.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/monitord.conf"

const char monitord_default_config[] =
    "# monitord's built-in configuration: used when no configuration file\n"
    "# exists.  It watches this host through /proc.\n"
    "[server]\n"
    "listen = 127.0.0.1:9330\n"
    "\n"
    "[proc \"host\"]\n"
    "interval = 5s\n"
    "\n"
    "# The dashboard shows this host by the USE method.\n"
    "[service \"host\"]\n"
    "method = use\n"
    "job = host\n"
    "description = This machine: CPU, memory, disks and network.\n"
    "\n"
    "# monitord's own metrics, stored like any other target's.\n"
    "[http \"monitord\"]\n"
    "scrape = http://127.0.0.1:9330/metrics?self=1\n"
    "interval = 15s\n";

struct monitord {
	struct monitord_opts		 opts;
	char				*config_path;
	char				*data_dir;
	struct event_base		*base;
	const struct conf_kind *const	*kinds;
	struct conf			*conf;
	struct targets			*targets;
	struct httpd			*httpd;
	struct api			*api;
	struct api_store		*api_store;
	struct api_query		*api_query;
	struct alerting			*alerting;
	struct store			*store;
	struct worker			*worker;	/* imports */
	struct worker			*qworker;	/* queries */
	struct memtrim			*memtrim;
	struct api_web			*web;
	struct event			*sig_hup, *sig_term, *sig_int;
	int				 stopping;
};

/* CONF_EXPR values are PromQL: refuse what Prometheus would refuse. */
int
monitord_check_expr(const char *text, char *err, size_t errlen)
{
	struct q_error	 qe;
	struct q_expr	*e;
	struct buf	 b = BUF_INIT;

	if ((e = q_parse(text, &qe)) != NULL) {
		q_expr_free(e);
		return 0;
	}
	q_error_format(&qe, text, strlen(text), &b);
	snprintf(err, errlen, "%s", b.data != NULL ? b.data : qe.msg);
	buf_free(&b);
	return -1;
}

struct conf *
monitord_load_config(const struct monitord_opts *opts,
    const struct conf_kind *const **kindsp, struct conf_errors *errs)
{
	const struct conf_kind *const	*kinds;
	const char			*path = opts->config_path;
	struct conf			*conf;
	struct stat			 st;

	kinds = schema_kinds_new(collector_kinds);
	if (path == NULL)
		path = DEFAULT_CONFIG;
	/* schema_load runs the cross-section checks even when the file has
	   other errors, so one -t run shows everything. */
	if (!opts->config_given && stat(path, &st) == -1 && errno == ENOENT)
		conf = schema_load("(built-in)", monitord_default_config, kinds,
		    monitord_check_expr, errs);
	else
		conf = schema_load(path, NULL, kinds, monitord_check_expr, errs);
	if (conf == NULL) {
		schema_kinds_free(kinds);
		kinds = NULL;
	}
	*kindsp = kinds;
	return conf;
}

/*
 * The event loop.  libevent's changelist folds the epoll_ctl calls made
 * within one loop pass into one per socket (an HTTP connection's read
 * interest dropped for a request and added back once it is answered
 * costs none); nothing here dup()s a socket, which is the case it
 * mishandles.
 */
static struct event_base *
loop_new(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static char *
resolve_data_dir(const struct monitord_opts *opts, const struct conf *conf)
{
	const struct conf_section *srv = conf_get(conf, "server");

	if (opts->data_dir != NULL)
		return xstrdup(opts->data_dir);
	if (conf_has(srv, "data_dir"))
		return xstrdup(conf_str(srv, "data_dir"));
	if (geteuid() == 0)
		return xstrdup(LOCALSTATEDIR "/lib/monitord");
	return xstrdup("monitord-data");
}

static int
mkdir_p(const char *path, char *err, size_t errlen)
{
	char	tmp[PATH_MAX];
	char	*p;

	if (strlen(path) >= sizeof(tmp)) {
		snprintf(err, errlen, "data directory path too long");
		return -1;
	}
	strcpy(tmp, path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) == -1 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(tmp, 0750) == -1 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot create data directory %s: %s", tmp,
	    strerror(errno));
	return -1;
}

static void
monitord_apply_log_level(struct monitord *md)
{
	enum log_level lvl;

	if (md->opts.log_level >= 0)
		log_set_level((enum log_level)md->opts.log_level);
	else if (log_level_parse(conf_str(conf_get(md->conf, "server"),
	    "log_level"), &lvl) == 0)
		log_set_level(lvl);
}

/* Every finished collection goes into the store (memory only: the store's
   own thread checkpoints it every flush_interval). */
static void
monitord_sink(void *arg, const struct batch *b)
{
	struct monitord			*md = arg;
	struct store_append_stats	 st;

	if (store_append_batch(md->store, b, &st) == -1)
		log_debug("store: samples lost to a store failure");
}

/* Alert rules ask the PromQL engine for an instant vector. */
static int
monitord_alert_instant(void *arg, const char *expr, int64_t t,
    struct alert_vector *out, char *err, size_t errlen)
{
	struct engine_result	*res;
	struct engine_error	 e;
	size_t			 i;

	if (engine_query(arg, expr, strlen(expr), t, t, 0, 0, &res,
	    &e) == -1) {
		snprintf(err, errlen, "%s", e.msg);
		return -1;
	}
	if (res->type == Q_TYPE_SCALAR)
		alert_vector_add(out, NULL, 0, res->scalar);
	for (i = 0; i < res->nseries; i++)
		if (res->series[i].n > 0)
			alert_vector_add(out, res->series[i].labels,
			    res->series[i].nlabels, res->series[i].v[0]);
	engine_result_free(res);
	return 0;
}

/* ALERTS, ALERTS_FOR_STATE and recording rules go into the store. */
static int
monitord_alert_sink(void *arg, const struct batch *b)
{
	return store_append_batch(arg, b, NULL);
}

static void
monitord_trim(void *arg)
{
	memtrim_note(arg);
}

static struct store *
monitord_open_store(const char *dir, const struct conf *conf,
    struct memtrim *mt, char *err, size_t errlen)
{
	const struct conf_section	*srv = conf_get(conf, "server");
	const struct conf_section	*sto = conf_get(conf, "storage");
	struct store_opts		 o;

	store_opts_default(&o);
	o.dir = dir;
	o.flush_interval_ms = conf_duration(sto, "flush_interval");
	o.maint_interval_ms = 60 * 1000;
	o.max_series = (uint64_t)conf_int(sto, "max_series");
	o.max_series_per_job = (uint64_t)conf_int(sto, "max_series_per_job");
	o.retention_ms = conf_duration(srv, "retention");
	o.retention_5m_ms = conf_duration(sto, "retention_5m");
	o.retention_1h_ms = conf_duration(sto, "retention_1h");
	o.map_size_max = conf_size(sto, "map_size");
	o.trim = monitord_trim;
	o.trim_arg = mt;
	return store_open(&o, err, errlen);
}

static struct targets *
monitord_build_targets(struct monitord *md, const struct conf *conf,
    char *err, size_t errlen)
{
	struct targets_opts	 topts;
	const struct conf_section *srv = conf_get(conf, "server");

	memset(&topts, 0, sizeof(topts));
	topts.tolerance_ms = conf_duration(srv, "timestamp_tolerance");
	topts.backoff_cap_ms = 5 * 60 * 1000;
	topts.sink = monitord_sink;
	topts.sink_arg = md;
	return targets_new(md->base, conf, &topts, err, errlen);
}

static void
monitord_reload(struct monitord *md)
{
	const struct conf_kind *const	*kinds;
	struct conf_errors		*errs = conf_errors_new();
	struct conf			*conf;
	struct targets			*targets;
	char				 err[512];
	size_t				 i;

	log_info("reloading configuration from %s", md->config_path);
	conf = monitord_load_config(&md->opts, &kinds, errs);
	if (conf == NULL) {
		for (i = 0; i < conf_errors_count(errs); i++)
			log_warnx("%s", conf_errors_at(errs, i));
		log_warnx("configuration not reloaded: %zu error%s; the old "
		    "configuration stays in use", conf_errors_count(errs),
		    conf_errors_count(errs) == 1 ? "" : "s");
		conf_errors_free(errs);
		return;
	}
	conf_errors_free(errs);
	if ((targets = monitord_build_targets(md, conf, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s", err);
		log_warnx("configuration not reloaded; the old configuration "
		    "stays in use");
		conf_free(conf);
		schema_kinds_free(kinds);
		return;
	}
	if (md->alerting != NULL && alerting_reload(md->alerting, conf, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		log_warnx("configuration not reloaded; the old configuration "
		    "stays in use");
		targets_free(targets);
		conf_free(conf);
		schema_kinds_free(kinds);
		return;
	}
	if (strcmp(conf_str(conf_get(conf, "server"), "listen"),
	    conf_str(conf_get(md->conf, "server"), "listen")) != 0)
		log_warnx("listen changed: restart monitord to apply it");

	targets_free(md->targets);
	md->targets = targets;
	api_set_targets(md->api, targets);
	conf_free(md->conf);
	schema_kinds_free(md->kinds);
	md->conf = conf;
	api_web_set_conf(md->web, conf);
	md->kinds = kinds;
	monitord_apply_log_level(md);
	targets_start(md->targets);
	log_info("configuration reloaded: %zu targets", targets_count(targets));
}

static void
monitord_signal(evutil_socket_t sig, short what, void *arg)
{
	struct monitord *md = arg;

	switch (sig) {
	case SIGHUP:
		monitord_reload(md);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("received %s, stopping", sig == SIGTERM ? "SIGTERM" :
		    "SIGINT");
		md->stopping = 1;
		event_base_loopbreak(md->base);
		break;
	}
}

struct monitord *
monitord_new(const struct monitord_opts *opts, char *err, size_t errlen)
{
	struct monitord			*md = xcalloc(1, sizeof(*md));
	struct conf_errors		*errs = conf_errors_new();
	const struct conf_section	*srv;
	struct httpd_opts		 hopts;
	size_t				 i;

	md->opts = *opts;
	md->config_path = xstrdup(opts->config_path ? opts->config_path :
	    DEFAULT_CONFIG);
	md->conf = monitord_load_config(opts, &md->kinds, errs);
	if (md->conf == NULL) {
		size_t n = conf_errors_count(errs), off = 0;

		for (i = 0; i < n && off < errlen; i++)
			off += (size_t)snprintf(err + off, errlen - off, "%s%s",
			    i ? "\n" : "", conf_errors_at(errs, i));
		conf_errors_free(errs);
		monitord_free(md);
		return NULL;
	}
	conf_errors_free(errs);
	monitord_apply_log_level(md);
	srv = conf_get(md->conf, "server");

	md->data_dir = resolve_data_dir(opts, md->conf);
	if (mkdir_p(md->data_dir, err, errlen) == -1) {
		monitord_free(md);
		return NULL;
	}

	if ((md->base = loop_new()) == NULL) {
		snprintf(err, errlen, "cannot create the event loop");
		monitord_free(md);
		return NULL;
	}
	memset(&hopts, 0, sizeof(hopts));
	hopts.listen = conf_str(srv, "listen");
	hopts.max_connections = (unsigned)conf_int(srv, "max_connections");
	hopts.request_timeout_ms = (unsigned)conf_duration(srv, "request_timeout");
	hopts.max_body_bytes = (size_t)conf_size(srv, "max_request_size");
	hopts.max_header_bytes = 64 * 1024;
	if ((md->httpd = httpd_new(md->base, &hopts, err, errlen)) == NULL) {
		monitord_free(md);
		return NULL;
	}
	if ((md->targets = monitord_build_targets(md, md->conf, err,
	    errlen)) == NULL) {
		monitord_free(md);
		return NULL;
	}
	md->api = api_new(md->httpd, md->targets);
	md->web = api_web_new(md->httpd, md->conf);

	md->sig_hup = evsignal_new(md->base, SIGHUP, monitord_signal, md);
	md->sig_term = evsignal_new(md->base, SIGTERM, monitord_signal, md);
	md->sig_int = evsignal_new(md->base, SIGINT, monitord_signal, md);
	evsignal_add(md->sig_hup, NULL);
	evsignal_add(md->sig_term, NULL);
	evsignal_add(md->sig_int, NULL);
	signal(SIGPIPE, SIG_IGN);
	return md;
}

int
monitord_detach(struct monitord *md)
{
	if (daemon(0, 0) == -1) {
		log_warn("daemon");
		return -1;
	}
	/* The child carries the parent's epoll state: renew it. */
	if (event_reinit(md->base) == -1) {
		log_warnx("event_reinit failed");
		return -1;
	}
	return 0;
}

/* Queries waiting or running at most: a dashboard asks for all its panels
 * at once, and more than this is a client to slow down (503). */
#define QUERY_QUEUE	256

static unsigned
query_threads(const struct conf *conf)
{
	int64_t		n = conf_int(conf_get(conf, "server"), "query_threads");
	long		cpus;

	if (n > 0)
		return (unsigned)n;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > 16 ? 16 : (unsigned)cpus;
}

int
monitord_run(struct monitord *md)
{
	const char	*listen = conf_str(conf_get(md->conf, "server"), "listen");
	char		 addr[300];
	char		 err[512];
	struct alerting_opts ao;

	/* Freed memory goes back to the system once writes are quiet. */
	if ((md->memtrim = memtrim_new(md->base, 1000)) == NULL) {
		log_warnx("cannot start the memory trim timer");
		return 1;
	}
	/* Threads start here, after monitord_detach's fork. */
	if ((md->store = monitord_open_store(md->data_dir, md->conf,
	    md->memtrim, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	/* Imports are written one at a time on their own thread; queries
	   have a pool of their own, so that neither waits for the other. */
	if ((md->worker = worker_new(md->base, 16, 1)) == NULL ||
	    (md->qworker = worker_new(md->base, QUERY_QUEUE,
	    query_threads(md->conf))) == NULL) {
		log_warnx("cannot start the store's worker threads");
		return 1;
	}
	md->api_store = api_store_new(md->httpd, md->store, md->worker,
	    md->memtrim);
	md->api_query = api_query_new(md->httpd, md->store, md->qworker);
	api_set_store(md->api, md->api_store, md->store);
	memset(&ao, 0, sizeof(ao));
	ao.data_dir = md->data_dir;
	ao.instant = monitord_alert_instant;
	ao.instant_arg = api_query_engine(md->api_query);
	ao.sink = monitord_alert_sink;
	ao.sink_arg = md->store;
	if ((md->alerting = alerting_new(md->base, md->conf, &ao, md->httpd,
	    err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	api_set_alerting(md->api, md->alerting);
	targets_start(md->targets);
	log_info("monitord %s started: %zu targets, data in %s",
	    PACKAGE_VERSION, targets_count(md->targets), md->data_dir);
	log_info("dashboard and API at http://%s/",
	    api_display_addr(listen, httpd_port(md->httpd), addr, sizeof(addr)));
	event_base_dispatch(md->base);
	log_info("stopped");
	return 0;
}

void
monitord_free(struct monitord *md)
{
	if (md == NULL)
		return;
	if (md->sig_hup != NULL)
		event_free(md->sig_hup);
	if (md->sig_term != NULL)
		event_free(md->sig_term);
	if (md->sig_int != NULL)
		event_free(md->sig_int);
	/* Targets first (no more runs), then the worker (its pending
	   answers go out), then the HTTP server, then the store (its last
	   checkpoint). */
	targets_free(md->targets);
	/* Rule queries use the query engine, freed below. */
	alerting_stop(md->alerting);
	worker_free(md->worker);
	worker_free(md->qworker);
	api_free(md->api);
	api_store_free(md->api_store);
	api_query_free(md->api_query);
	api_web_free(md->web);
	httpd_free(md->httpd);
	alerting_free(md->alerting);
	if (md->store != NULL) {
		char err[256];

		if (store_close(md->store, err, sizeof(err)) == -1)
			log_warnx("store: %s", err);
	}
	/* After the store: its last seal still notes what it freed. */
	memtrim_free(md->memtrim);
	if (md->base != NULL)
		event_base_free(md->base);
	conf_free(md->conf);
	schema_kinds_free(md->kinds);
	free(md->config_path);
	free(md->data_dir);
	free(md);
}
