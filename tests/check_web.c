/*
 * check_web: /api/services (the panels of each [service] and their default
 * queries), If-None-Match matching and the compiled-in asset table.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tcheck.h"

#include "api_web.h"
#include "buf.h"
#include "collectors/collector.h"
#include "conf.h"
#include "http/gzip.h"
#include "http/static.h"
#include "query/parser.h"
#include "schema.h"
#include "web/assets.h"

/* Stand-ins for the collector kinds: only their names and keys matter. */
static const struct conf_key proc_keys[] = {
	{ "process", CONF_STRING, 0, NULL, NULL, 0, 0, "" },
	{ "cmdline", CONF_STRING, 0, NULL, NULL, 0, 0, "" },
	{ "pidfile", CONF_STRING, 0, NULL, NULL, 0, 0, "" },
	{ NULL }
};
static const struct conf_key any_keys[] = {
	{ "url", CONF_STRING, 0, NULL, NULL, 0, 0, "" },
	{ NULL }
};
static const struct collector_kind proc_kind = { .kind = "proc",
	.help = "", .keys = proc_keys };
static const struct collector_kind pg_kind = { .kind = "postgres",
	.help = "", .keys = any_keys };
static const struct collector_kind mq_kind = { .kind = "rabbitmq",
	.help = "", .keys = any_keys };
static const struct collector_kind http_kind = { .kind = "http",
	.help = "", .keys = any_keys };
static const struct collector_kind *const test_collectors[] = {
	&proc_kind, &pg_kind, &mq_kind, &http_kind, NULL
};

static const struct conf_kind *const *kinds;
static struct conf *conf;

static void
setup(void)
{
	kinds = schema_kinds_new_with(test_collectors, collector_common_keys);
	conf = NULL;
}

static void
teardown(void)
{
	conf_free(conf);
	schema_kinds_free(kinds);
}

static void
load(const char *text)
{
	struct conf_errors *errs = conf_errors_new();

	conf = schema_load("t.conf", text, kinds, NULL, errs);
	if (conf == NULL && conf_errors_count(errs) > 0)
		fprintf(stderr, "%s\n", conf_errors_at(errs, 0));
	ck_assert_ptr_nonnull(conf);
	conf_errors_free(errs);
}

/* The services' panels as "signal|source|unit|expr" lines. */
static char *
panels_text(size_t svc)
{
	json_t		*data = api_web_services(conf), *s, *p;
	struct buf	 b = BUF_INIT;
	size_t		 i;

	s = json_array_get(json_object_get(data, "services"), svc);
	ck_assert_ptr_nonnull(s);
	json_array_foreach(json_object_get(s, "panels"), i, p)
		buf_printf(&b, "%s|%s|%s|%s\n",
		    json_string_value(json_object_get(p, "signal")),
		    json_string_value(json_object_get(p, "source")),
		    json_string_value(json_object_get(p, "unit")),
		    json_string_value(json_object_get(p, "expr")));
	json_decref(data);
	return buf_detach(&b);
}

START_TEST(test_overrides)
{
	char *t;

	load("[service \"shop\"]\nmethod = red\njob = shop-api\n"
	    "description = The shop.\n"
	    "rate = sum(rate(a[5m]))\nerrors = sum(rate(b[5m]))\n"
	    "duration = histogram_quantile(0.9, sum by (le) "
	    "(rate(c_bucket[5m])))\n");
	t = panels_text(0);
	ck_assert_str_eq(t,
	    "rate|config||sum(rate(a[5m]))\n"
	    "errors|config||sum(rate(b[5m]))\n"
	    "duration|config||histogram_quantile(0.9, sum by (le) "
	    "(rate(c_bucket[5m])))\n");
	free(t);
}
END_TEST

START_TEST(test_service_fields)
{
	json_t	*data, *s;
	char	*dump;

	load("[service \"shop\"]\nmethod = golden\njob = a\njob = b\n"
	    "description = The shop.\n"
	    "[service \"crm\"]\nmethod = use\n");
	data = api_web_services(conf);
	s = json_array_get(json_object_get(data, "services"), 0);
	json_object_del(s, "panels");
	dump = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(dump, "{\"description\":\"The shop.\",\"jobs\":"
	    "[\"a\",\"b\"],\"method\":\"golden\",\"name\":\"shop\"}");
	free(dump);
	/* Without a job key, the job is the section's name. */
	s = json_array_get(json_object_get(data, "services"), 1);
	json_object_del(s, "panels");
	dump = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(dump, "{\"description\":\"\",\"jobs\":[\"crm\"],"
	    "\"method\":\"use\",\"name\":\"crm\"}");
	free(dump);
	json_decref(data);
}
END_TEST

START_TEST(test_no_services)
{
	json_t	*data;
	char	*dump;

	load("[server]\n");
	data = api_web_services(conf);
	dump = json_dumps(data, JSON_COMPACT);
	ck_assert_str_eq(dump, "{\"services\":[]}");
	free(dump);
	json_decref(data);
}
END_TEST

/* A job that no collector section names: an application's own metrics. */
START_TEST(test_red_default_application)
{
	char *t;

	load("[service \"shop\"]\nmethod = red\njob = shop-api\n");
	t = panels_text(0);
	ck_assert_str_eq(t,
	    "rate|default|persec|sum(rate(http_requests_total"
	    "{job=\"shop-api\"}[5m]))\n"
	    "errors|default|persec|sum(rate(http_requests_total"
	    "{job=\"shop-api\",code=~\"5..\"}[5m]))\n"
	    "duration|default|seconds|histogram_quantile(0.95, sum by (le) "
	    "(rate(http_request_duration_seconds_bucket{job=\"shop-api\"}"
	    "[5m])))\n");
	free(t);
}
END_TEST

START_TEST(test_golden_default_http)
{
	char *t;

	load("[http \"api\"]\nurl = x\n"
	    "[service \"api\"]\nmethod = golden\nerrors = sum(x)\n");
	t = panels_text(0);
	ck_assert_str_eq(t,
	    "latency|default|seconds|histogram_quantile(0.95, sum by (le) "
	    "(rate(http_request_duration_seconds_bucket{job=\"api\"}"
	    "[5m])))\n"
	    "traffic|default|persec|sum(rate(http_requests_total"
	    "{job=\"api\"}[5m]))\n"
	    "errors|config||sum(x)\n"
	    "saturation|default|short|sum(http_requests_in_flight"
	    "{job=\"api\"})\n");
	free(t);
}
END_TEST

START_TEST(test_use_default_process)
{
	char *t;

	load("[proc \"crm\"]\nprocess = crm-api\n"
	    "[service \"crm\"]\nmethod = use\n");
	t = panels_text(0);
	ck_assert_str_eq(t,
	    "utilization|default|percent|sum(rate(process_cpu_seconds_total"
	    "{job=\"crm\"}[5m])) * 100\n"
	    "saturation|default|bytes|sum(process_resident_memory_bytes"
	    "{job=\"crm\"})\n"
	    "errors|default|short|sum(changes(process_start_time_seconds"
	    "{job=\"crm\"}[1h]))\n");
	free(t);
}
END_TEST

START_TEST(test_use_default_host)
{
	char *t;

	load("[proc \"host\"]\n[service \"host\"]\nmethod = use\n");
	t = panels_text(0);
	ck_assert_str_eq(t,
	    "utilization|default|percent|(1 - avg(rate(node_cpu_seconds_total"
	    "{job=\"host\",mode=\"idle\"}[5m]))) * 100\n"
	    "saturation|default|percent|avg(rate("
	    "node_pressure_cpu_waiting_seconds_total{job=\"host\"}[5m]))"
	    " * 100\n"
	    "errors|default|persec|sum(rate(node_network_receive_errs_total"
	    "{job=\"host\"}[5m])) + sum(rate(node_network_transmit_errs_total"
	    "{job=\"host\"}[5m]))\n");
	free(t);
}
END_TEST

START_TEST(test_red_default_postgres)
{
	char *t;

	load("[postgres \"shop-db\"]\nurl = x\n"
	    "[service \"db\"]\nmethod = red\njob = shop-db\n");
	t = panels_text(0);
	ck_assert_str_eq(t,
	    "rate|default|persec|sum(rate(pg_stat_database_xact_commit"
	    "{job=\"shop-db\"}[5m]))\n"
	    "errors|default|persec|sum(rate(pg_stat_database_xact_rollback"
	    "{job=\"shop-db\"}[5m])) + sum(rate(pg_stat_database_deadlocks"
	    "{job=\"shop-db\"}[5m]))\n"
	    "duration|default|seconds|sum(rate("
	    "pg_stat_statements_seconds_total{job=\"shop-db\"}[5m])) / "
	    "sum(rate(pg_stat_statements_calls_total{job=\"shop-db\"}[5m]))\n");
	free(t);
}
END_TEST

START_TEST(test_red_default_rabbitmq)
{
	char *t;

	load("[rabbitmq \"mq\"]\nurl = x\n[service \"mq\"]\nmethod = red\n");
	t = panels_text(0);
	ck_assert_str_eq(t,
	    "rate|default|persec|sum(rate("
	    "rabbitmq_global_messages_delivered_total{job=\"mq\"}[5m]))\n"
	    "errors|default|short|sum(rabbitmq_dead_letter_queue_messages"
	    "{job=\"mq\"})\n"
	    "duration|default|seconds|max(rabbitmq_canary_round_trip_seconds"
	    "{job=\"mq\"})\n");
	free(t);
}
END_TEST

/* A process family's signal without a default of its own: the http one. */
START_TEST(test_default_falls_back)
{
	char		*q;
	const char	*unit = NULL;

	load("[proc \"crm\"]\nprocess = crm-api\n"
	    "[service \"crm\"]\nmethod = golden\n");
	q = api_web_default(conf, conf_at(conf, "service", 0), "traffic",
	    &unit);
	ck_assert_str_eq(q, "sum(rate(http_requests_total{job=\"crm\"}[5m]))");
	ck_assert_str_eq(unit, "persec");
	free(q);
	q = api_web_default(conf, conf_at(conf, "service", 0), "saturation",
	    &unit);
	ck_assert_str_eq(q, "sum(process_resident_memory_bytes{job=\"crm\"})");
	ck_assert_str_eq(unit, "bytes");
	free(q);
	/* Not a signal of the method. */
	ck_assert_ptr_null(api_web_default(conf, conf_at(conf, "service", 0),
	    "rate", &unit));
	ck_assert_ptr_null(api_web_default(conf, conf_at(conf, "service", 0),
	    "bogus", &unit));
}
END_TEST

/* The first job that names a collector section decides the family. */
START_TEST(test_several_jobs)
{
	char		*q;
	const char	*unit;

	load("[postgres \"b.c\"]\nurl = x\n"
	    "[service \"s\"]\nmethod = red\njob = a\njob = b.c\n");
	q = api_web_default(conf, conf_at(conf, "service", 0), "rate", &unit);
	ck_assert_str_eq(q, "sum(rate(pg_stat_database_xact_commit"
	    "{job=~\"a|b\\\\.c\"}[5m]))");
	free(q);
}
END_TEST

START_TEST(test_job_quoting)
{
	char		*q;
	const char	*unit;

	load("[service \"s\"]\nmethod = red\njob = \"we\\\"ird\\\\\"\n");
	q = api_web_default(conf, conf_at(conf, "service", 0), "rate", &unit);
	ck_assert_str_eq(q, "sum(rate(http_requests_total"
	    "{job=\"we\\\"ird\\\\\"}[5m]))");
	free(q);
}
END_TEST

/* Every default query of every family and method is PromQL. */
START_TEST(test_defaults_are_promql)
{
	static const char *const signals[] = { "rate", "errors", "duration",
	    "latency", "traffic", "saturation", "utilization" };
	const struct conf_section	*s;
	struct q_error			 qe;
	struct q_expr			*e;
	const char			*unit;
	char				*q;
	size_t				 i, j, n = 0;

	load("[proc \"p\"]\nprocess = x\n[proc \"h\"]\n"
	    "[postgres \"pg\"]\nurl = x\n[rabbitmq \"mq\"]\nurl = x\n"
	    "[http \"web\"]\nurl = x\n"
	    "[service \"1\"]\nmethod = red\njob = p\n"
	    "[service \"2\"]\nmethod = golden\njob = p\n"
	    "[service \"3\"]\nmethod = use\njob = p\n"
	    "[service \"4\"]\nmethod = red\njob = h\n"
	    "[service \"5\"]\nmethod = golden\njob = h\n"
	    "[service \"6\"]\nmethod = use\njob = h\n"
	    "[service \"7\"]\nmethod = red\njob = pg\n"
	    "[service \"8\"]\nmethod = golden\njob = pg\n"
	    "[service \"9\"]\nmethod = use\njob = pg\n"
	    "[service \"10\"]\nmethod = red\njob = mq\njob = x.y\n"
	    "[service \"11\"]\nmethod = golden\njob = mq\n"
	    "[service \"12\"]\nmethod = use\njob = mq\n"
	    "[service \"13\"]\nmethod = red\njob = web\n"
	    "[service \"14\"]\nmethod = golden\njob = web\n"
	    "[service \"15\"]\nmethod = use\njob = \"a\\\"b\"\n");
	for (i = 0; i < conf_count(conf, "service"); i++) {
		s = conf_at(conf, "service", i);
		for (j = 0; j < sizeof(signals) / sizeof(signals[0]); j++) {
			if ((q = api_web_default(conf, s, signals[j], &unit)) ==
			    NULL)
				continue;
			n++;
			e = q_parse(q, &qe);
			if (e == NULL)
				ck_abort_msg("%s: %s at %d", q, qe.msg, qe.pos);
			q_expr_free(e);
			ck_assert_ptr_nonnull(strstr("persec seconds bytes "
			    "percent short", unit));
			free(q);
		}
	}
	/* 5 families x (3 + 4 + 3) signals. */
	ck_assert_uint_eq(n, 50);
}
END_TEST

START_TEST(test_etag_match)
{
	const char *e = "\"0123abcd\"";

	ck_assert_int_eq(httpd_etag_match(NULL, e), 0);
	ck_assert_int_eq(httpd_etag_match("", e), 0);
	ck_assert_int_eq(httpd_etag_match("\"0123abcd\"", e), 1);
	ck_assert_int_eq(httpd_etag_match("W/\"0123abcd\"", e), 1);
	ck_assert_int_eq(httpd_etag_match("\"0123abcd\"", "W/\"0123abcd\""),
	    1);
	ck_assert_int_eq(httpd_etag_match("*", e), 1);
	ck_assert_int_eq(httpd_etag_match("\"x\", \"0123abcd\"", e), 1);
	ck_assert_int_eq(httpd_etag_match(" \"x\" ,W/\"0123abcd\" ", e), 1);
	ck_assert_int_eq(httpd_etag_match("\"x\", \"y\"", e), 0);
	ck_assert_int_eq(httpd_etag_match("\"0123abc\"", e), 0);
	ck_assert_int_eq(httpd_etag_match("\"0123abcd", e), 0);
	ck_assert_int_eq(httpd_etag_match("0123abcd", e), 0);
	/* A malformed element ends the scan: no match after it. */
	ck_assert_int_eq(httpd_etag_match("\"a\" junk, \"0123abcd\"", e), 0);
	ck_assert_int_eq(httpd_etag_match(",,,", e), 0);
}
END_TEST

START_TEST(test_assets)
{
	const struct httpd_asset	*a, *idx;
	struct buf			 raw = BUF_INIT;
	char				 err[128], want[64];
	size_t				 n = 0, i;

	for (a = web_assets; a->path != NULL; a++) {
		n++;
		/* Every asset is one gzip member of its stated length. */
		ck_assert_uint_ge(a->gzlen, 18);
		ck_assert_uint_eq(a->gz[0], 0x1f);
		ck_assert_uint_eq(a->gz[1], 0x8b);
		buf_reset(&raw);
		ck_assert_int_eq(gzip_inflate(a->gz, a->gzlen, a->len, &raw,
		    err, sizeof(err)), 0);
		ck_assert_uint_eq(raw.len, a->len);
		ck_assert_uint_eq(strlen(a->etag), 18);
		ck_assert_int_eq(a->etag[0], '"');
		ck_assert_int_eq(a->etag[17], '"');
		for (i = 1; i < 17; i++)
			ck_assert_ptr_nonnull(strchr("0123456789abcdef",
			    a->etag[i]));
	}
	ck_assert_uint_ge(n, 5);
	ck_assert_uint_eq(strlen(web_assets_version), 10);

	idx = httpd_asset_find(web_assets, "index.html");
	ck_assert_ptr_nonnull(idx);
	ck_assert_str_eq(idx->ctype, "text/html; charset=utf-8");
	buf_reset(&raw);
	ck_assert_int_eq(gzip_inflate(idx->gz, idx->gzlen, idx->len, &raw,
	    err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "/static/%s/js/app.js",
	    web_assets_version);
	ck_assert_ptr_nonnull(strstr(raw.data, want));
	ck_assert_ptr_null(strstr(raw.data, "@ASSETS_VERSION@"));
	buf_free(&raw);

	a = httpd_asset_find(web_assets, "js/app.js");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->ctype, "text/javascript; charset=utf-8");
	a = httpd_asset_find(web_assets, "app.css");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->ctype, "text/css; charset=utf-8");
	ck_assert_ptr_nonnull(httpd_asset_find(web_assets,
	    "vendor/uPlot.iife.min.js"));
	ck_assert_ptr_null(httpd_asset_find(web_assets, "js/nope.js"));
	ck_assert_ptr_null(httpd_asset_find(web_assets, ""));
}
END_TEST

static Suite *
web_suite(void)
{
	Suite	*s = suite_create("web");
	TCase	*tc = tcase_create("services");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_overrides);
	tcase_add_test(tc, test_service_fields);
	tcase_add_test(tc, test_no_services);
	tcase_add_test(tc, test_red_default_application);
	tcase_add_test(tc, test_golden_default_http);
	tcase_add_test(tc, test_use_default_process);
	tcase_add_test(tc, test_use_default_host);
	tcase_add_test(tc, test_red_default_postgres);
	tcase_add_test(tc, test_red_default_rabbitmq);
	tcase_add_test(tc, test_default_falls_back);
	tcase_add_test(tc, test_several_jobs);
	tcase_add_test(tc, test_job_quoting);
	tcase_add_test(tc, test_defaults_are_promql);
	suite_add_tcase(s, tc);

	tc = tcase_create("static");
	tcase_add_test(tc, test_etag_match);
	tcase_add_test(tc, test_assets);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(web_suite)
