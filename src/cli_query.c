/*
 * cli_query: the "monitord query" subcommand (see cli_query.h).
 *
 * One HTTP call on a private event loop through the daemon's own client,
 * then the JSON answer is laid out with the label column as wide as its
 * widest entry.  Nothing here is used by the daemon itself.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "buf.h"
#include "cli_query.h"
#include "http/client.h"
#include "units.h"

struct answer {
	int		done;
	int		ok;
	int		status;
	char		err[256];
	struct buf	body;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: monitord query [--server URL] [--time T] [--json] EXPR\n"
	    "       monitord query [--server URL] --start T --end T "
	    "[--step D] [--json] EXPR\n"
	    "\n"
	    "  --server URL  the monitord to ask (default "
	    "http://127.0.0.1:9330)\n"
	    "  --time T      evaluation time of an instant query (default "
	    "now)\n"
	    "  --start T, --end T, --step D\n"
	    "                a range query; the step defaults to a 250th of "
	    "the range\n"
	    "  --json        print the API's JSON answer\n"
	    "Times: Unix seconds, RFC 3339, now, now-1h.  Durations: 15s, "
	    "5m, 1h30m.\n");
}

static void
urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			buf_addc(b, (char)c);
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}

/* "now" and "now-DURATION" become Unix seconds; the rest goes as is. */
static int
time_arg(const char *s, struct buf *out)
{
	int64_t		ms = 0;
	char		err[128];
	struct timespec	ts;

	if (strncmp(s, "now", 3) != 0) {
		urlenc(out, s);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if (s[3] == '-' && units_parse_duration(s + 4, &ms, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "monitord query: \"%s\": %s\n", s, err);
		return -1;
	}
	if (s[3] != '\0' && s[3] != '-') {
		fprintf(stderr, "monitord query: bad time \"%s\"\n", s);
		return -1;
	}
	buf_printf(out, "%.3f", (double)ts.tv_sec + ts.tv_nsec / 1e9 -
	    (double)ms / 1000);
	return 0;
}

static void
on_response(const struct hclient_resp *r, void *arg)
{
	struct answer *a = arg;

	a->done = 1;
	a->ok = r->ok;
	a->status = r->status;
	snprintf(a->err, sizeof(a->err), "%s", r->err);
	if (r->ok)
		buf_add(&a->body, r->body.data ? r->body.data : "",
		    r->body.len);
}

static void
labels_text(json_t *metric, struct buf *b)
{
	const char	*k, *name;
	json_t		*v;
	int		 first = 1;

	name = json_string_value(json_object_get(metric, "__name__"));
	if (name != NULL)
		buf_adds(b, name);
	buf_addc(b, '{');
	json_object_foreach(metric, k, v) {
		if (strcmp(k, "__name__") == 0)
			continue;
		buf_printf(b, "%s%s=\"%s\"", first ? "" : ", ", k,
		    json_string_value(v));
		first = 0;
	}
	if (name != NULL && first) {
		/* A bare metric name needs no braces. */
		b->len--;
		b->data[b->len] = '\0';
	} else
		buf_addc(b, '}');
}

static void
time_text(json_t *t, char *out, size_t len)
{
	double		 v = json_number_value(t);
	time_t		 s = (time_t)v;
	struct tm	 tm;
	int		 ms = (int)((v - (double)s) * 1000 + 0.5);

	gmtime_r(&s, &tm);
	if (ms > 0)
		snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ms);
	else
		strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
print_table(json_t *data)
{
	const char	*type = json_string_value(json_object_get(data,
			    "resultType"));
	json_t		*res = json_object_get(data, "result"), *s;
	size_t		 i, k, width = 6;
	struct buf	*names;
	char		 tt[64];

	if (type == NULL || res == NULL)
		return;
	if (strcmp(type, "scalar") == 0 || strcmp(type, "string") == 0) {
		printf("%s\n", json_string_value(json_array_get(res, 1)));
		return;
	}
	if (json_array_size(res) == 0) {
		printf("(no series)\n");
		return;
	}
	names = calloc(json_array_size(res), sizeof(*names));
	json_array_foreach(res, i, s) {
		labels_text(json_object_get(s, "metric"), &names[i]);
		if (names[i].len > width)
			width = names[i].len;
	}
	if (strcmp(type, "vector") == 0) {
		printf("%-*s  VALUE\n", (int)width, "SERIES");
		json_array_foreach(res, i, s)
			printf("%-*s  %s\n", (int)width, names[i].data,
			    json_string_value(json_array_get(
			    json_object_get(s, "value"), 1)));
	} else {
		printf("%-*s  %-24s  VALUE\n", (int)width, "SERIES", "TIME");
		json_array_foreach(res, i, s) {
			json_t *p;

			json_array_foreach(json_object_get(s, "values"), k, p) {
				time_text(json_array_get(p, 0), tt, sizeof(tt));
				printf("%-*s  %-24s  %s\n", (int)width,
				    k == 0 ? names[i].data : "", tt,
				    json_string_value(json_array_get(p, 1)));
			}
		}
	}
	for (i = 0; i < json_array_size(res); i++)
		buf_free(&names[i]);
	free(names);
}

int
cli_query_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "server",	required_argument,	NULL,	's' },
		{ "time",	required_argument,	NULL,	't' },
		{ "start",	required_argument,	NULL,	'S' },
		{ "end",	required_argument,	NULL,	'E' },
		{ "step",	required_argument,	NULL,	'p' },
		{ "json",	no_argument,		NULL,	'j' },
		{ "help",	no_argument,		NULL,	'h' },
		{ NULL,		0,		NULL,	0 },
	};
	const char		*server = "http://127.0.0.1:9330";
	const char		*tm = NULL, *start = NULL, *end = NULL;
	const char		*step = NULL;
	struct hclient_opts	 ho;
	struct answer		 a;
	struct event_base	*base;
	struct buf		 url = BUF_INIT;
	json_t			*j;
	json_error_t		 jerr;
	char			 err[256];
	int			 ch, json_out = 0, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+s:t:S:E:p:jh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's': server = optarg; break;
		case 't': tm = optarg; break;
		case 'S': start = optarg; break;
		case 'E': end = optarg; break;
		case 'p': step = optarg; break;
		case 'j': json_out = 1; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || ((start == NULL) != (end == NULL)) ||
	    (tm != NULL && start != NULL) || (step != NULL && start == NULL)) {
		usage(stderr);
		return 2;
	}
	buf_adds(&url, server);
	while (url.len > 0 && url.data[url.len - 1] == '/')
		url.data[--url.len] = '\0';
	buf_adds(&url, "/api/query?query=");
	urlenc(&url, argv[optind]);
	if (tm != NULL) {
		buf_adds(&url, "&time=");
		if (time_arg(tm, &url) == -1)
			goto usage_err;
	}
	if (start != NULL) {
		buf_adds(&url, "&start=");
		if (time_arg(start, &url) == -1)
			goto usage_err;
		buf_adds(&url, "&end=");
		if (time_arg(end, &url) == -1)
			goto usage_err;
	}
	if (step != NULL) {
		buf_adds(&url, "&step=");
		urlenc(&url, step);
	}
	memset(&ho, 0, sizeof(ho));
	ho.url = url.data;
	ho.timeout_ms = 130 * 1000;
	ho.max_body = 256 * 1024 * 1024;
	ho.accept_gzip = 1;
	memset(&a, 0, sizeof(a));
	base = event_base_new();
	if (hclient_start(base, NULL, &ho, on_response, &a, err,
	    sizeof(err)) == NULL) {
		fprintf(stderr, "monitord query: %s\n", err);
		event_base_free(base);
		goto usage_err;
	}
	while (!a.done && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	event_base_free(base);
	buf_free(&url);
	if (!a.ok) {
		fprintf(stderr, "monitord query: %s: %s\n", server, a.err);
		buf_free(&a.body);
		return 2;
	}
	if (json_out) {
		fwrite(a.body.data, 1, a.body.len, stdout);
		putchar('\n');
	}
	j = json_loadb(a.body.data ? a.body.data : "", a.body.len, 0, &jerr);
	buf_free(&a.body);
	if (j == NULL) {
		fprintf(stderr, "monitord query: HTTP %d, not a query answer\n",
		    a.status);
		return 2;
	}
	rc = 0;
	if (strcmp(json_string_value(json_object_get(j, "status")) ?
	    json_string_value(json_object_get(j, "status")) : "",
	    "success") != 0) {
		fprintf(stderr, "monitord query: %s: %s\n",
		    json_string_value(json_object_get(j, "errorType")),
		    json_string_value(json_object_get(j, "error")));
		rc = 1;
	} else if (!json_out)
		print_table(json_object_get(j, "data"));
	json_decref(j);
	return rc;
usage_err:
	buf_free(&url);
	return 2;
}
