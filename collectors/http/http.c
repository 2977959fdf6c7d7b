/*
 * http: the HTTP collector kind (see http.h): its keys and their checks,
 * the probe metrics' catalogue, and the callbacks that build a target from
 * a validated [http "NAME"] section and drive a run of its probe
 * (probe.c) and scrape (scrape.c) side by side.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <event2/dns.h>

#include "http.h"
#include "http_impl.h"
#include "textparse.h"
#include "xmalloc.h"

const struct conf_key http_keys[] = {
	{ "probe", CONF_URL, 0, NULL, NULL, 0, 0,
	  "URL probed as blackbox_exporter's HTTP probe does: probe_success, "
	  "the status code, phase timings and, over TLS, the certificate's "
	  "expiry. Redirects are not followed." },
	{ "scrape", CONF_URL, 0, NULL, NULL, 0, 0,
	  "URL of a page in the Prometheus text format or OpenMetrics whose "
	  "samples are stored, as Prometheus scrapes it." },
	{ "method", CONF_ENUM, 0, "GET", "GET|HEAD|POST", 0, 0,
	  "HTTP method of the probe; POST sends an empty body." },
	{ "expect_status", CONF_STRING, 0, "2xx", NULL, 0, 0,
	  "Status codes that make the probe succeed: codes and classes "
	  "separated by commas, such as 200,204 or 2xx,3xx." },
	{ "body_regex", CONF_REGEX, 0, NULL, NULL, 0, 0,
	  "The probe fails, with probe_failed_due_to_regex 1, when its "
	  "response body does not match this regex (unanchored)." },
	{ "header", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0,
	  "A header sent with the probe and the scrape, as Name: value; "
	  "repeat the key for more." },
	{ "bearer_token_file", CONF_SECRET, 0, NULL, NULL, 0, 0,
	  "A file holding a token sent as Authorization: Bearer with the "
	  "probe and the scrape." },
	{ "username", CONF_STRING, 0, NULL, NULL, 0, 0,
	  "User name for HTTP basic authentication of the probe and the "
	  "scrape." },
	{ "password_file", CONF_SECRET, 0, NULL, NULL, 0, 0,
	  "A file holding the basic authentication password of username." },
	{ "ca_file", CONF_PATH, 0, NULL, NULL, 0, 0,
	  "PEM file of the certificate authorities that verify https "
	  "servers, instead of the system's." },
	{ "cert_file", CONF_PATH, 0, NULL, NULL, 0, 0,
	  "PEM client certificate, or chain, presented to https servers." },
	{ "key_file", CONF_PATH, 0, NULL, NULL, 0, 0,
	  "PEM private key of cert_file. Default: read from cert_file." },
	{ "insecure_skip_verify", CONF_BOOL, 0, "no", NULL, 0, 0,
	  "Accept any server certificate for any host name: encryption "
	  "without authentication, for tests only." },
	{ "honor_labels", CONF_BOOL, 0, "no", NULL, 0, 0,
	  "Keep the job and instance labels a scraped page sets (federation, "
	  "a Pushgateway); otherwise they are renamed exported_job and "
	  "exported_instance." },
	{ "honor_timestamps", CONF_BOOL, 0, "yes", NULL, 0, 0,
	  "Keep the timestamps a scraped page gives; otherwise every sample "
	  "gets the time of the scrape." },
	{ "sample_limit", CONF_INT, 0, "0", NULL, 0, 1000000000,
	  "The scrape fails whole, storing nothing, when the page has more "
	  "samples than this (0: no limit), so that a target that suddenly "
	  "exports too many series cannot flood the store." },
	{ "max_body", CONF_SIZE, 0, "16MB", NULL, 1024, 1024LL * 1024 * 1024,
	  "Largest response body read, after gzip decoding, from 1KB to 1GB; "
	  "a larger one fails the probe or the scrape." },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
};

#define G	METRIC_GAUGE

const struct metric_def http_metrics[] = {
	{ "probe_success", G, "",
	  "Whether the probe succeeded: 1 when the server answered with an "
	  "expected status (and a body matching body_regex), else 0. "
	  "The availability of the service as a user sees it, from outside "
	  "the application." },
	{ "probe_duration_seconds", G, "",
	  "How long the whole probe took, from name resolution to the last "
	  "byte. "
	  "The latency a user would see; a rise before errors start is an "
	  "early warning." },
	{ "probe_http_status_code", G, "",
	  "The HTTP status code of the probe's response, 0 when none came. "
	  "Tells a server error (5xx) from a refused or timed-out "
	  "connection." },
	{ "probe_http_duration_seconds", G, "phase",
	  "Seconds the probe spent in each phase: resolve, connect, tls, "
	  "processing (waiting for the first byte) and transfer. "
	  "Shows where a slow response loses its time: DNS, the network, "
	  "the handshake or the application itself." },
	{ "probe_http_content_length", G, "",
	  "Bytes of the probe's response body. "
	  "A sudden change reveals an error page served with a success "
	  "status." },
	{ "probe_http_ssl", G, "",
	  "1 when the probe used TLS, else 0. "
	  "Catches an endpoint that is reached without encryption." },
	{ "probe_ssl_earliest_cert_expiry", G, "",
	  "When the first certificate of the server's chain expires, as Unix "
	  "time; only over TLS. "
	  "Alert on it days ahead: an expired certificate takes a service "
	  "down for every client at once." },
	{ "probe_failed_due_to_regex", G, "",
	  "1 when the probe failed because its body did not match "
	  "body_regex, else 0. "
	  "Tells a wrong page (a maintenance page, an error served with "
	  "200) from a server that did not answer." },
	{ NULL, 0, NULL, NULL },
};

double
http_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
http_status_parse(const char *spec, struct http_status_set *set, char *err,
    size_t errlen)
{
	const char	*p = spec, *tok;
	size_t		 len, n = 0;
	int		 code, i;

	memset(set, 0, sizeof(*set));
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		tok = p;
		while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		len = (size_t)(p - tok);
		while (*p == ' ' || *p == '\t')
			p++;
		if (len == 3 && tok[0] >= '1' && tok[0] <= '5' &&
		    (tok[1] == 'x' || tok[1] == 'X') &&
		    (tok[2] == 'x' || tok[2] == 'X')) {
			code = (tok[0] - '0') * 100;
			for (i = 0; i < 100; i++)
				set->ok[code + i - HTTP_STATUS_LO] = 1;
		} else if (len == 3 && isdigit((unsigned char)tok[0]) &&
		    isdigit((unsigned char)tok[1]) &&
		    isdigit((unsigned char)tok[2]) &&
		    (code = atoi(tok)) >= HTTP_STATUS_LO &&
		    code <= HTTP_STATUS_HI)
			set->ok[code - HTTP_STATUS_LO] = 1;
		else {
			snprintf(err, errlen, "invalid status \"%.*s\": use "
			    "codes from 100 to 599 or classes 1xx to 5xx, "
			    "separated by commas", (int)(len > 20 ? 20 : len),
			    tok);
			return -1;
		}
		n++;
		if (*p == '\0')
			break;
		if (*p != ',') {
			snprintf(err, errlen, "separate statuses with commas");
			return -1;
		}
		p++;
	}
	if (n == 0) {
		snprintf(err, errlen, "no status given");
		return -1;
	}
	return 0;
}

int
http_status_ok(const struct http_status_set *set, int code)
{
	if (code < HTTP_STATUS_LO || code > HTTP_STATUS_HI)
		return 0;
	return set->ok[code - HTTP_STATUS_LO];
}

int
http_instance(const char *url, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char	host[256], path[8192];
	int	tls, port, n;

	if (hclient_parse_url(url, &tls, host, sizeof(host), &port, path,
	    sizeof(path), err, errlen) == -1)
		return -1;
	n = snprintf(out, outlen, strchr(host, ':') != NULL ? "[%s]:%d" :
	    "%s:%d", host, port);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "host name too long");
		return -1;
	}
	return 0;
}

/* Headers the client writes itself, or that belong to other keys. */
static const char *const http_reserved_headers[] = {
	"Host", "Content-Length", "Transfer-Encoding", "Connection",
	"Authorization", "Accept-Encoding", "Accept", "User-Agent",
	"Upgrade", "TE", "Trailer", "Keep-Alive",
	"X-Prometheus-Scrape-Timeout-Seconds",
};

int
http_header_check(const char *h, char *err, size_t errlen)
{
	const char	*colon = strchr(h, ':'), *p;
	size_t		 n, i;

	if (colon == NULL || colon == h) {
		snprintf(err, errlen, "header must be written Name: value");
		return -1;
	}
	n = (size_t)(colon - h);
	for (p = h; p < colon; p++) {
		/* RFC 9110 token characters */
		if (!isalnum((unsigned char)*p) &&
		    strchr("!#$%&'*+-.^_`|~", *p) == NULL) {
			snprintf(err, errlen, "header name \"%.*s\" has a "
			    "character not allowed in a name",
			    (int)(n > 40 ? 40 : n), h);
			return -1;
		}
	}
	for (p = colon + 1; *p != '\0'; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
			snprintf(err, errlen, "header value has a control "
			    "character");
			return -1;
		}
	}
	for (i = 0; i < sizeof(http_reserved_headers) /
	    sizeof(http_reserved_headers[0]); i++) {
		if (strlen(http_reserved_headers[i]) == n &&
		    strncasecmp(h, http_reserved_headers[i], n) == 0) {
			snprintf(err, errlen, "header %s is set by monitord%s",
			    http_reserved_headers[i],
			    strcasecmp(http_reserved_headers[i],
			    "Authorization") == 0 ? "; use bearer_token_file "
			    "or username and password_file" : "");
			return -1;
		}
	}
	return 0;
}

static int
url_is_tls(const char *url)
{
	return url != NULL && strncasecmp(url, "https://", 8) == 0;
}

static const char *
opt(const struct conf_section *s, const char *key)
{
	return conf_has(s, key) ? conf_str(s, key) : NULL;
}

/* A key that means nothing without another: an error at the key. */
static void
check_needs(const struct conf_section *s, struct conf_errors *errs,
    const char *key, int ok, const char *why)
{
	if (conf_has(s, key) && !ok)
		conf_error(errs, s, key, "%s %s", key, why);
}

static void
http_check(const struct conf_section *s, struct conf_errors *errs)
{
	struct http_status_set	 set;
	const char		*probe = opt(s, "probe");
	const char		*scrape = opt(s, "scrape");
	char			 msg[256];
	size_t			 i, n;
	int			 tls = url_is_tls(probe) || url_is_tls(scrape);

	if (probe == NULL && scrape == NULL)
		conf_error(errs, s, NULL, "[http] needs a probe URL, a scrape "
		    "URL or both");
	if (http_status_parse(conf_str(s, "expect_status"), &set, msg,
	    sizeof(msg)) == -1)
		conf_error(errs, s, conf_has(s, "expect_status") ?
		    "expect_status" : NULL, "expect_status: %s", msg);
	check_needs(s, errs, "method", probe != NULL,
	    "applies to the probe, and there is no probe URL");
	check_needs(s, errs, "expect_status", probe != NULL,
	    "applies to the probe, and there is no probe URL");
	check_needs(s, errs, "body_regex", probe != NULL,
	    "applies to the probe, and there is no probe URL");
	check_needs(s, errs, "body_regex", !conf_has(s, "method") ||
	    strcmp(conf_str(s, "method"), "HEAD") != 0,
	    "needs a body, and a HEAD request has none");
	check_needs(s, errs, "honor_labels", scrape != NULL,
	    "applies to the scrape, and there is no scrape URL");
	check_needs(s, errs, "honor_timestamps", scrape != NULL,
	    "applies to the scrape, and there is no scrape URL");
	check_needs(s, errs, "sample_limit", scrape != NULL,
	    "applies to the scrape, and there is no scrape URL");
	check_needs(s, errs, "password_file", conf_has(s, "username"),
	    "needs username");
	check_needs(s, errs, "bearer_token_file", !conf_has(s, "username"),
	    "and username both set Authorization; keep one");
	check_needs(s, errs, "key_file", conf_has(s, "cert_file"),
	    "needs cert_file");
	check_needs(s, errs, "ca_file", tls,
	    "applies to https URLs, and neither URL is https");
	check_needs(s, errs, "cert_file", tls,
	    "applies to https URLs, and neither URL is https");
	check_needs(s, errs, "key_file", tls,
	    "applies to https URLs, and neither URL is https");
	check_needs(s, errs, "insecure_skip_verify", tls,
	    "applies to https URLs, and neither URL is https");
	n = conf_multi_count(s, "header");
	for (i = 0; i < n; i++) {
		if (http_header_check(conf_multi_at(s, "header", i), msg,
		    sizeof(msg)) == -1)
			conf_error_line(errs, s,
			    conf_multi_line(s, "header", i), "%s", msg);
	}
}

static void
strfree_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static char *
xstrdup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct http_target *
http_target_new(const struct http_opts *o, char *err, size_t errlen)
{
	struct http_target	*t = xcalloc(1, sizeof(*t));
	const char		*urls[2] = { o->probe, o->scrape };
	char			 host[256], path[8192];
	struct in6_addr		 a6;
	size_t			 i;
	int			 tls, port;

	if (o->probe == NULL && o->scrape == NULL) {
		snprintf(err, errlen, "no probe or scrape URL");
		goto fail;
	}
	for (i = 0; i < 2; i++) {
		if (urls[i] == NULL)
			continue;
		if (hclient_parse_url(urls[i], &tls, host, sizeof(host), &port,
		    path, sizeof(path), err, errlen) == -1)
			goto fail;
		if (inet_pton(AF_INET, host, &a6) != 1 &&
		    inet_pton(AF_INET6, host, &a6) != 1)
			t->need_dns = 1;
	}
	if (http_instance(o->scrape != NULL ? o->scrape : o->probe,
	    t->instance, sizeof(t->instance), err, errlen) == -1)
		goto fail;
	if (http_status_parse(o->expect_status ? o->expect_status : "2xx",
	    &t->expect, err, errlen) == -1)
		goto fail;
	t->expect_text = xstrdup(o->expect_status ? o->expect_status : "2xx");
	if (o->body_regex != NULL) {
		PCRE2_UCHAR	msg[200];
		PCRE2_SIZE	off;
		int		code;

		/* Bodies need not be valid UTF-8: match what is. */
		t->body_re = pcre2_compile((PCRE2_SPTR)o->body_regex,
		    PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
		    &code, &off, NULL);
		if (t->body_re == NULL) {
			pcre2_get_error_message(code, msg, sizeof(msg));
			snprintf(err, errlen, "body_regex: %s", (char *)msg);
			goto fail;
		}
		t->body_md = pcre2_match_data_create_from_pattern(t->body_re,
		    NULL);
	}
	for (i = 0; i < o->nheaders; i++)
		if (http_header_check(o->headers[i], err, errlen) == -1)
			goto fail;
	t->headers = xcalloc(o->nheaders + 1, sizeof(*t->headers));
	for (i = 0; i < o->nheaders; i++)
		t->headers[i] = xstrdup(o->headers[i]);
	t->nheaders = o->nheaders;
	if (o->bearer != NULL && strpbrk(o->bearer, "\r\n") != NULL) {
		snprintf(err, errlen, "bearer_token_file holds more than one "
		    "line");
		goto fail;
	}
	t->probe_url = xstrdup_opt(o->probe);
	t->scrape_url = xstrdup_opt(o->scrape);
	t->method = xstrdup(o->method ? o->method : "GET");
	t->bearer = xstrdup_opt(o->bearer);
	t->username = xstrdup_opt(o->username);
	t->password = xstrdup_opt(o->password);
	t->ca_file = xstrdup_opt(o->ca_file);
	t->cert_file = xstrdup_opt(o->cert_file);
	t->key_file = xstrdup_opt(o->key_file);
	t->insecure = o->insecure;
	t->honor_labels = o->honor_labels;
	t->honor_timestamps = o->honor_timestamps;
	t->sample_limit = o->sample_limit;
	t->max_body = o->max_body;
	if (t->scrape_url != NULL)
		http_scrape_init(t);
	return t;
fail:
	http_target_free(t);
	return NULL;
}

void
http_target_free(struct http_target *t)
{
	size_t i;

	if (t == NULL)
		return;
	hclient_cancel(t->probe_call);
	hclient_cancel(t->scrape_call);
	if (t->dns != NULL)
		evdns_base_free(t->dns, 0);
	textparse_free(t->tp);
	batch_free(t->scratch);
	free(t->scrape_headers);
	if (t->body_md != NULL)
		pcre2_match_data_free(t->body_md);
	if (t->body_re != NULL)
		pcre2_code_free(t->body_re);
	for (i = 0; t->headers != NULL && t->headers[i] != NULL; i++)
		free(t->headers[i]);
	free(t->headers);
	free(t->probe_url);
	free(t->scrape_url);
	free(t->method);
	free(t->expect_text);
	strfree_secret(t->bearer);
	free(t->username);
	strfree_secret(t->password);
	free(t->ca_file);
	free(t->cert_file);
	free(t->key_file);
	free(t);
}

static void *
http_build(const struct conf_section *s, struct event_base *base, char *err,
    size_t errlen)
{
	struct http_opts	 o;
	struct http_target	*t = NULL;
	char			*bearer = NULL, *password = NULL;
	const char		**headers;
	size_t			 i;

	memset(&o, 0, sizeof(o));
	o.probe = opt(s, "probe");
	o.scrape = opt(s, "scrape");
	o.method = conf_str(s, "method");
	o.expect_status = conf_str(s, "expect_status");
	o.body_regex = opt(s, "body_regex");
	o.nheaders = conf_multi_count(s, "header");
	headers = xcalloc(o.nheaders + 1, sizeof(*headers));
	for (i = 0; i < o.nheaders; i++)
		headers[i] = conf_multi_at(s, "header", i);
	o.headers = headers;
	o.username = opt(s, "username");
	o.ca_file = opt(s, "ca_file");
	o.cert_file = opt(s, "cert_file");
	o.key_file = opt(s, "key_file");
	o.insecure = conf_bool(s, "insecure_skip_verify");
	o.honor_labels = conf_bool(s, "honor_labels");
	o.honor_timestamps = conf_bool(s, "honor_timestamps");
	o.sample_limit = (size_t)conf_int(s, "sample_limit");
	o.max_body = (size_t)conf_size(s, "max_body");
	if (conf_has(s, "bearer_token_file") && (bearer =
	    conf_read_secret(s, "bearer_token_file", err, errlen)) == NULL)
		goto out;
	if (conf_has(s, "password_file") && (password =
	    conf_read_secret(s, "password_file", err, errlen)) == NULL)
		goto out;
	o.bearer = bearer;
	o.password = password;
	if ((t = http_target_new(&o, err, errlen)) != NULL)
		t->base = base;
out:
	strfree_secret(bearer);
	strfree_secret(password);
	free(headers);
	return t;
}

static const char *
http_instance_cb(void *priv)
{
	struct http_target *t = priv;

	return t->instance;
}

/*
 * The calls get the run's time less a margin, so that a slow server ends
 * the call with an error (and the probe's samples) before the core gives
 * the run up and drops them.
 */
static int64_t
http_call_timeout(int64_t remaining)
{
	int64_t t, margin;

	/* The few milliseconds since the run began do not change the
	   figure (it is sent to the target, see scrape.c). */
	t = (remaining + 9) / 10 * 10;
	margin = t / 10 > 500 ? 500 : t / 10;
	return t - margin > 1 ? t - margin : 1;
}

static void
http_run(void *priv, struct run *r)
{
	struct http_target	*t = priv;
	int64_t			 timeout;

	timeout = http_call_timeout(run_remaining_ms(r));
	t->run = r;
	t->pending = 0;
	t->probe_st = t->scrape_st = RUN_OK;
	t->probe_err[0] = t->scrape_err[0] = '\0';
	if (t->honor_labels)
		run_honor_labels(r);
	if (t->base == NULL)
		t->base = run_base(r);
	if (t->need_dns && t->dns == NULL)
		t->dns = evdns_base_new(t->base,
		    EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (t->probe_url != NULL)
		http_probe_start(t, timeout);
	if (t->scrape_url != NULL)
		http_scrape_start(t, timeout);
	http_run_step(t);
}

void
http_run_step(struct http_target *t)
{
	struct run	*r = t->run;
	enum run_status	 st;
	const char	*why;

	if (r == NULL || t->pending > 0)
		return;
	t->run = NULL;
	if (t->scrape_url != NULL) {
		st = t->scrape_st;
		why = t->scrape_err;
	} else {
		st = t->probe_st;
		why = t->probe_err;
	}
	if (st == RUN_OK)
		run_done(r, RUN_OK, "ok");
	else
		run_done(r, RUN_ERROR, "%s", why);
}

static void
http_cancel(void *priv, struct run *r)
{
	struct http_target *t = priv;

	hclient_cancel(t->probe_call);
	hclient_cancel(t->scrape_call);
	t->probe_call = t->scrape_call = NULL;
	t->pending = 0;
	t->run = NULL;
	if (t->scratch != NULL)
		batch_reset(t->scratch);
}

static void
http_free(void *priv)
{
	http_target_free(priv);
}

const struct collector_kind http_collector = {
	.kind = "http",
	.help = "Probes an HTTP endpoint as blackbox_exporter does and scrapes "
	    "a Prometheus /metrics page",
	.keys = http_keys,
	.metrics = http_metrics,
	.check = http_check,
	.build = http_build,
	.instance = http_instance_cb,
	.run = http_run,
	.cancel = http_cancel,
	.free = http_free,
};
