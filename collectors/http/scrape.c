/*
 * scrape: the HTTP collector's scrape, as Prometheus scrapes a target.
 *
 * A GET asking for OpenMetrics first and the text format 0.0.4 next, with
 * gzip; the Content-Type of the answer picks the parser.  A page counts
 * whole or not at all: it is parsed into the target's scratch batch and
 * copied to the run's batch only once the parser reached its end without
 * an error and within sample_limit.  The run's batch may already hold the
 * probe's samples, which a failed scrape must not take away, so the page
 * is never parsed into it directly.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http_impl.h"
#include "textparse.h"
#include "xmalloc.h"

/* What Prometheus asks for, in the order it prefers. */
#define SCRAPE_ACCEPT	"Accept: application/openmetrics-text;" \
	"version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

static int
scrape_sample(void *arg, const char *name, const struct label *lbls,
    size_t n, double v, int has_ts, int64_t ts_ms)
{
	struct http_target *t = arg;

	/* The parser has checked every name; this cannot fail on its
	   output, and if it did the page would fail whole. */
	return batch_add(t->scratch, name, lbls, n,
	    t->honor_timestamps && has_ts ? ts_ms : 0, v) == 0 ? 0 : -1;
}

void
http_scrape_init(struct http_target *t)
{
	struct textparse_opts	opts;
	struct textparse_cb	cb;
	size_t			i;

	textparse_opts_default(&opts);
	opts.sample_limit = t->sample_limit;
	memset(&cb, 0, sizeof(cb));
	cb.sample = scrape_sample;
	t->tp = textparse_new(&opts, &cb, t);
	t->scratch = batch_new();
	t->scrape_headers = xcalloc(t->nheaders + 3,
	    sizeof(*t->scrape_headers));
	for (i = 0; i < t->nheaders; i++)
		t->scrape_headers[i] = t->headers[i];
	t->scrape_headers[i++] = SCRAPE_ACCEPT;
	t->scrape_headers[i] = t->timeout_header;
}

static void
http_scrape_cb(const struct hclient_resp *resp, void *arg)
{
	struct http_target *t = arg;

	t->scrape_call = NULL;		/* the client frees it after us */
	t->pending--;
	if (t->run != NULL)
		t->scrape_st = http_scrape_response(t, resp, run_batch(t->run),
		    t->scrape_err, sizeof(t->scrape_err));
	http_run_step(t);
}

void
http_scrape_start(struct http_target *t, int64_t timeout_ms)
{
	struct hclient_opts o;

	/* Lets an exporter that does expensive work give up in time. */
	snprintf(t->timeout_header, sizeof(t->timeout_header),
	    "X-Prometheus-Scrape-Timeout-Seconds: %g",
	    (double)timeout_ms / 1000.0);
	memset(&o, 0, sizeof(o));
	o.method = "GET";
	o.url = t->scrape_url;
	o.headers = t->scrape_headers;
	o.timeout_ms = timeout_ms;
	o.max_body = t->max_body;
	o.accept_gzip = 1;
	o.basic_user = t->username;
	o.basic_pass = t->password;
	o.bearer = t->bearer;
	o.ca_file = t->ca_file;
	o.cert_file = t->cert_file;
	o.key_file = t->key_file;
	o.insecure = t->insecure;
	t->scrape_call = hclient_start(t->base, t->dns, &o, http_scrape_cb, t,
	    t->scrape_err, sizeof(t->scrape_err));
	if (t->scrape_call != NULL)
		t->pending++;
	else
		t->scrape_st = RUN_ERROR;
}

enum run_status
http_scrape_response(struct http_target *t, const struct hclient_resp *resp,
    struct batch *out, char *err, size_t errlen)
{
	enum textparse_format	 fmt;
	const struct sample	*s;
	size_t			 i, n;

	if (!resp->ok) {
		snprintf(err, errlen, "%s", resp->err);
		return RUN_ERROR;
	}
	if (resp->status / 100 != 2) {
		snprintf(err, errlen, "server returned HTTP status %d",
		    resp->status);
		return RUN_ERROR;
	}
	fmt = textparse_format_for(hclient_header(resp, "Content-Type"));
	batch_reset(t->scratch);
	if (textparse_parse(t->tp, fmt, resp->body.data, resp->body.len, err,
	    errlen) != 0) {
		batch_reset(t->scratch);
		return RUN_ERROR;
	}
	n = batch_len(t->scratch);
	for (i = 0; i < n; i++) {
		s = batch_at(t->scratch, i);
		batch_add(out, s->labels[0].value, s->labels + 1,
		    s->nlabels - 1, s->t, s->v);
	}
	batch_reset(t->scratch);
	return RUN_OK;
}
