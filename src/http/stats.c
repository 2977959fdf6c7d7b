/*
 * stats: counts each request by route and status code, times it into a
 * histogram with Prometheus's default buckets, and writes all of it, with
 * the connection gauges, as exposition text.  The route pattern rather than
 * the path is the handler label, so that /api/v1/label/NAME/values is one
 * series however many label names are asked for.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "expo.h"
#include "http/server.h"
#include "http/stats.h"
#include "metric.h"
#include "sample.h"
#include "xmalloc.h"

static const double bucket_le[HTTP_STATS_NBUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

const struct metric_def httpd_metrics[] = {
	{ "monitord_http_requests_total", METRIC_COUNTER, "handler code",
	  "HTTP requests answered by monitord, by route and status code: "
	  "the traffic and errors of its API and dashboard." },
	{ "monitord_http_request_duration_seconds", METRIC_HISTOGRAM, "handler",
	  "Time from a complete HTTP request to its reply, by route: "
	  "how long queries and pages make their callers wait." },
	{ "monitord_http_response_bytes_total", METRIC_COUNTER, "handler",
	  "Bytes of HTTP response bodies sent (after compression), by route: "
	  "the network cost of dashboards, federation and API clients." },
	{ "monitord_http_connections", METRIC_GAUGE, "",
	  "Open HTTP connections: saturation of the server's connection "
	  "limit." },
	{ "monitord_http_requests_in_flight", METRIC_GAUGE, "",
	  "HTTP requests being handled: work waiting on the event loop or "
	  "on slow queries." },
	{ "monitord_http_connections_rejected_total", METRIC_COUNTER, "",
	  "HTTP connections answered 503 because the connection limit was "
	  "reached: clients turned away." },
	{ NULL, 0, NULL, NULL },
};

void
stats_observe(struct http_stats *st, int code, double seconds,
    size_t bytes_out)
{
	size_t i, j;

	for (i = 0; i < st->ncodes && st->codes[i].code < code; i++)
		;
	if (i == st->ncodes || st->codes[i].code != code) {
		st->codes = xreallocarray(st->codes, st->ncodes + 1,
		    sizeof(*st->codes));
		for (j = st->ncodes; j > i; j--)
			st->codes[j] = st->codes[j - 1];
		st->codes[i].code = code;
		st->codes[i].n = 0;
		st->ncodes++;
	}
	st->codes[i].n++;
	for (i = 0; i < HTTP_STATS_NBUCKETS; i++)
		if (seconds <= bucket_le[i]) {
			st->buckets[i]++;
			break;
		}
	st->count++;
	st->sum += seconds;
	st->bytes_out += bytes_out;
}

void
stats_clear(struct http_stats *st)
{
	free(st->codes);
	st->codes = NULL;
	st->ncodes = 0;
}

static void
family(struct buf *b, size_t i)
{
	expo_help_type(b, httpd_metrics[i].name, httpd_metrics[i].type,
	    httpd_metrics[i].help);
}

void
stats_write(struct buf *b, struct http_stats *const *st, size_t n,
    const struct http_gauges *g)
{
	struct label	l[3];
	char		name[96], code[16], le[32];
	size_t		i, j;
	uint64_t	cum;

	l[0].name = "__name__";
	l[1].name = "handler";

	family(b, 0);
	l[0].value = httpd_metrics[0].name;
	l[2].name = "code";
	l[2].value = code;
	for (i = 0; i < n; i++) {
		l[1].value = st[i]->handler;
		for (j = 0; j < st[i]->ncodes; j++) {
			snprintf(code, sizeof(code), "%d",
			    st[i]->codes[j].code);
			expo_sample(b, l, 3, (double)st[i]->codes[j].n, 0);
		}
	}

	family(b, 1);
	l[0].value = name;
	l[2].name = "le";
	l[2].value = le;
	for (i = 0; i < n; i++) {
		l[1].value = st[i]->handler;
		snprintf(name, sizeof(name), "%s_bucket",
		    httpd_metrics[1].name);
		for (j = 0, cum = 0; j <= HTTP_STATS_NBUCKETS; j++) {
			struct buf lb = BUF_INIT;

			if (j < HTTP_STATS_NBUCKETS) {
				cum += st[i]->buckets[j];
				buf_add_double(&lb, bucket_le[j]);
				snprintf(le, sizeof(le), "%s", lb.data);
				buf_free(&lb);
			} else
				snprintf(le, sizeof(le), "+Inf");
			expo_sample(b, l, 3, (double)(j < HTTP_STATS_NBUCKETS ?
			    cum : st[i]->count), 0);
		}
		snprintf(name, sizeof(name), "%s_sum", httpd_metrics[1].name);
		expo_sample(b, l, 2, st[i]->sum, 0);
		snprintf(name, sizeof(name), "%s_count", httpd_metrics[1].name);
		expo_sample(b, l, 2, (double)st[i]->count, 0);
	}

	family(b, 2);
	l[0].value = httpd_metrics[2].name;
	for (i = 0; i < n; i++) {
		l[1].value = st[i]->handler;
		expo_sample(b, l, 2, (double)st[i]->bytes_out, 0);
	}

	l[0].value = httpd_metrics[3].name;
	family(b, 3);
	expo_sample(b, l, 1, (double)g->connections, 0);
	l[0].value = httpd_metrics[4].name;
	family(b, 4);
	expo_sample(b, l, 1, (double)g->in_flight, 0);
	l[0].value = httpd_metrics[5].name;
	family(b, 5);
	expo_sample(b, l, 1, (double)g->rejected, 0);
}
