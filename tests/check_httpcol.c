/*
 * Unit tests of the HTTP collector without a network: expect_status,
 * instance and header rules, the section checks with their exact errors,
 * the scrape's whole-or-nothing rule, sample_limit, timestamps and
 * formats, the probe's samples and reasons, and the agreement of the keys
 * and the probe catalogue with monitord.conf(5) and monitord-metrics(7).
 * tests/integration/test_http.py runs the collector for real.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tcheck.h"
#include "buf.h"
#include "conf.h"
#include "http/http.h"
#include "http/http_impl.h"
#include "sample.h"
#include "schema.h"
#include "xmalloc.h"

static const char *
srcdir(void)
{
	const char *s = getenv("MONITORD_SRCDIR");

	return s != NULL && *s != '\0' ? s : ".";
}

/* The sample NAME whose labels other than __name__ are exactly the
 * NULL-terminated pairs; NULL when there is none. */
static const struct sample *
find(const struct batch *b, const char *name, ...)
{
	const char	*k[8], *v[8];
	size_t		 n = 0, i, j;
	va_list		 ap;

	va_start(ap, name);
	while (n < 8 && (k[n] = va_arg(ap, const char *)) != NULL) {
		v[n] = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	for (i = 0; i < batch_len(b); i++) {
		const struct sample *s = batch_at(b, i);

		if (strcmp(s->labels[0].value, name) != 0 ||
		    s->nlabels != n + 1)
			continue;
		for (j = 0; j < n; j++) {
			const char *got = labels_get(s->labels + 1,
			    s->nlabels - 1, k[j]);

			if (got == NULL || strcmp(got, v[j]) != 0)
				break;
		}
		if (j == n)
			return s;
	}
	return NULL;
}

static double
value(const struct batch *b, const char *name)
{
	const struct sample *s = find(b, name, NULL);

	ck_assert_msg(s != NULL, "no sample %s", name);
	return s->v;
}

START_TEST(test_status_parse)
{
	struct http_status_set	s;
	char			err[256];

	ck_assert_int_eq(http_status_parse("2xx", &s, err, sizeof(err)), 0);
	ck_assert(http_status_ok(&s, 200) && http_status_ok(&s, 299));
	ck_assert(!http_status_ok(&s, 199) && !http_status_ok(&s, 300));
	ck_assert(!http_status_ok(&s, 0) && !http_status_ok(&s, 1000));
	ck_assert_int_eq(http_status_parse(" 200 , 204,3XX", &s, err,
	    sizeof(err)), 0);
	ck_assert(http_status_ok(&s, 200) && http_status_ok(&s, 204));
	ck_assert(http_status_ok(&s, 301) && !http_status_ok(&s, 201));
	ck_assert_int_eq(http_status_parse("599,100", &s, err, sizeof(err)),
	    0);
	ck_assert(http_status_ok(&s, 599) && http_status_ok(&s, 100));

	ck_assert_int_eq(http_status_parse("20x", &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid status \"20x\": use codes from 100 "
	    "to 599 or classes 1xx to 5xx, separated by commas");
	ck_assert_int_eq(http_status_parse("600", &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid status \"600\": use codes from 100 "
	    "to 599 or classes 1xx to 5xx, separated by commas");
	ck_assert_int_eq(http_status_parse("6xx", &s, err, sizeof(err)), -1);
	ck_assert_int_eq(http_status_parse("200,", &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid status \"\": use codes from 100 "
	    "to 599 or classes 1xx to 5xx, separated by commas");
	ck_assert_int_eq(http_status_parse("200 204", &s, err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "separate statuses with commas");
	ck_assert_int_eq(http_status_parse("", &s, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_instance)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "http://127.0.0.1:8080/metrics", "127.0.0.1:8080" },
		{ "http://127.0.0.1/metrics", "127.0.0.1:80" },
		{ "https://shop.example/healthz", "shop.example:443" },
		{ "https://shop.example:8443", "shop.example:8443" },
		{ "http://[::1]:9100/metrics", "[::1]:9100" },
	};
	char	out[300], err[256];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(http_instance(cases[i].url, out, sizeof(out),
		    err, sizeof(err)), 0);
		ck_assert_str_eq(out, cases[i].want);
	}
	ck_assert_int_eq(http_instance("ftp://x", out, sizeof(out), err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "URL \"ftp://x\" must start with http:// or "
	    "https://");
}
END_TEST

START_TEST(test_header_check)
{
	char err[256];

	ck_assert_int_eq(http_header_check("X-Env: prod", err, sizeof(err)), 0);
	ck_assert_int_eq(http_header_check("X-Empty:", err, sizeof(err)), 0);
	ck_assert_int_eq(http_header_check("NoColon", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "header must be written Name: value");
	ck_assert_int_eq(http_header_check(": v", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "header must be written Name: value");
	ck_assert_int_eq(http_header_check("Bad Name: v", err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "header name \"Bad Name\" has a character not "
	    "allowed in a name");
	ck_assert_int_eq(http_header_check("X: a\001b", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "header value has a control character");
	ck_assert_int_eq(http_header_check("authorization: Basic eA==", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "header Authorization is set by monitord; use "
	    "bearer_token_file or username and password_file");
	ck_assert_int_eq(http_header_check("accept: */*", err, sizeof(err)),
	    -1);
	ck_assert_str_eq(err, "header Accept is set by monitord");
	ck_assert_int_eq(http_header_check("Host: x", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "header Host is set by monitord");
}
END_TEST

/* Load TEXT as t.conf; the errors joined by newlines ("" when none). */
static char *
load_errors(const char *text)
{
	const struct conf_kind *const	*kinds =
	    schema_kinds_new(collector_kinds);
	struct conf_errors		*errs = conf_errors_new();
	struct conf			*c;
	struct buf			 b = BUF_INIT;
	size_t				 i;

	c = conf_load("t.conf", text, kinds, errs);
	buf_adds(&b, "");
	for (i = 0; i < conf_errors_count(errs); i++)
		buf_printf(&b, "%s\n", conf_errors_at(errs, i));
	conf_free(c);
	conf_errors_free(errs);
	schema_kinds_free(kinds);
	return buf_detach(&b);
}

START_TEST(test_config_check)
{
	char *e;

	e = load_errors(
	    "[http \"ok\"]\n"				/* 1 */
	    "probe = https://127.0.0.1:8443/healthz\n"
	    "scrape = http://127.0.0.1:8080/metrics\n"
	    "method = HEAD\n"
	    "expect_status = 2xx, 301\n"		/* 5 */
	    "header = X-Env: prod\n"
	    "header = X-Team: shop\n"
	    "insecure_skip_verify = yes\n"
	    "honor_labels = yes\n"
	    "sample_limit = 5000\n"			/* 10 */
	    "max_body = 1MB\n");
	ck_assert_str_eq(e, "");
	free(e);

	e = load_errors(
	    "[http \"none\"]\n"				/* 1 */
	    "interval = 5s\n"
	    "\n"
	    "[http \"probe-only\"]\n"
	    "probe = http://127.0.0.1:8080/healthz\n"	/* 5 */
	    "expect_status = 2xx 3xx\n"
	    "sample_limit = 10\n"
	    "honor_timestamps = no\n"
	    "ca_file = /etc/ssl/ca.pem\n"
	    "header = Authorization: Bearer x\n"	/* 10 */
	    "header = X-Ok: 1\n"
	    "header = Bad Header\n"
	    "key_file = /etc/ssl/key.pem\n"
	    "\n"
	    "[http \"scrape-only\"]\n"			/* 15 */
	    "scrape = http://127.0.0.1:8080/metrics\n"
	    "method = POST\n"
	    "body_regex = ok\n"
	    "expect_status = 200\n"
	    "\n"					/* 20 */
	    "[http \"head\"]\n"
	    "probe = http://127.0.0.1:8080/\n"
	    "method = HEAD\n"
	    "body_regex = ok\n"
	    "expect_status = 700\n");			/* 25 */
	ck_assert_str_eq(e,
	    "t.conf:1: [http] needs a probe URL, a scrape URL or both\n"
	    "t.conf:6: expect_status: separate statuses with commas\n"
	    "t.conf:7: sample_limit applies to the scrape, and there is no "
	    "scrape URL\n"
	    "t.conf:8: honor_timestamps applies to the scrape, and there is "
	    "no scrape URL\n"
	    "t.conf:9: ca_file applies to https URLs, and neither URL is "
	    "https\n"
	    "t.conf:10: header Authorization is set by monitord; use "
	    "bearer_token_file or username and password_file\n"
	    "t.conf:12: header must be written Name: value\n"
	    "t.conf:13: key_file needs cert_file\n"
	    "t.conf:13: key_file applies to https URLs, and neither URL is "
	    "https\n"
	    "t.conf:17: method applies to the probe, and there is no probe "
	    "URL\n"
	    "t.conf:18: body_regex applies to the probe, and there is no "
	    "probe URL\n"
	    "t.conf:19: expect_status applies to the probe, and there is no "
	    "probe URL\n"
	    "t.conf:24: body_regex needs a body, and a HEAD request has none\n"
	    "t.conf:25: expect_status: invalid status \"700\": use codes from "
	    "100 to 599 or classes 1xx to 5xx, separated by commas\n");
	free(e);
}
END_TEST

/* A 0600 file holding TEXT; its path in PATH. */
static void
secret_file(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/check_httpcol.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, 0600);
}

START_TEST(test_config_auth)
{
	char tok[64], pass[64], text[1024], *e;

	secret_file(tok, sizeof(tok), "t0ken\n");
	secret_file(pass, sizeof(pass), "pw\n");
	snprintf(text, sizeof(text),
	    "[http \"a\"]\n"
	    "scrape = http://127.0.0.1:8080/metrics\n"
	    "bearer_token_file = %s\n"
	    "username = monitor\n"
	    "\n"
	    "[http \"b\"]\n"
	    "scrape = http://127.0.0.1:8080/metrics\n"
	    "password_file = %s\n", tok, pass);
	e = load_errors(text);
	ck_assert_str_eq(e,
	    "t.conf:3: bearer_token_file and username both set "
	    "Authorization; keep one\n"
	    "t.conf:8: password_file needs username\n");
	free(e);
	unlink(tok);
	unlink(pass);
}
END_TEST

static struct http_target *
target(const char *probe, const char *scrape, size_t limit, int honor_ts)
{
	struct http_opts	 o;
	struct http_target	*t;
	char			 err[256];

	memset(&o, 0, sizeof(o));
	o.probe = probe;
	o.scrape = scrape;
	o.sample_limit = limit;
	o.honor_timestamps = honor_ts;
	o.max_body = 1 << 20;
	t = http_target_new(&o, err, sizeof(err));
	ck_assert_msg(t != NULL, "%s", err);
	return t;
}

/* A response as the client hands it over. */
static void
resp_init(struct hclient_resp *r, int status, const char *ctype,
    const char *body)
{
	static struct hclient_header h;

	memset(r, 0, sizeof(*r));
	r->ok = 1;
	r->status = status;
	if (ctype != NULL) {
		h.name = (char *)"Content-Type";
		h.value = (char *)ctype;
		r->headers = &h;
		r->nheaders = 1;
	}
	buf_adds(&r->body, body);
}

static const char page[] =
    "# HELP http_requests_total Requests.\n"
    "# TYPE http_requests_total counter\n"
    "http_requests_total{code=\"200\"} 1027\n"
    "http_requests_total{code=\"500\"} 3 1700000000123\n"
    "http_sessions 12\n";

START_TEST(test_scrape_whole_or_nothing)
{
	struct http_target	*t = target(NULL, "http://127.0.0.1:1/m", 0, 1);
	struct batch		*b = batch_new();
	struct hclient_resp	 r;
	char			 err[512];

	/* What the probe added before: a failed scrape must keep it. */
	batch_addl(b, "probe_success", 0, 1.0, NULL);
	resp_init(&r, 200, NULL, "up_total 1\nhttp_sessions 12\n"
	    "http_sessions abc\nlater 1\n");
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_ERROR);
	ck_assert_str_eq(err, "line 3: invalid value \"abc\"");
	ck_assert_uint_eq(batch_len(b), 1);
	buf_free(&r.body);

	resp_init(&r, 200, "text/plain; version=0.0.4", page);
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_OK);
	ck_assert_uint_eq(batch_len(b), 4);
	ck_assert(find(b, "http_requests_total", "code", "200", NULL)->v ==
	    1027);
	ck_assert(find(b, "http_requests_total", "code", "200", NULL)->t == 0);
	ck_assert(find(b, "http_requests_total", "code", "500", NULL)->v == 3);
	ck_assert(find(b, "http_requests_total", "code", "500", NULL)->t ==
	    1700000000123LL);
	ck_assert(value(b, "http_sessions") == 12);
	buf_free(&r.body);

	/* An empty page is a page with no samples. */
	batch_reset(b);
	resp_init(&r, 204, NULL, "");
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_OK);
	ck_assert_uint_eq(batch_len(b), 0);
	buf_free(&r.body);

	batch_free(b);
	http_target_free(t);
}
END_TEST

START_TEST(test_scrape_errors)
{
	struct http_target	*t = target(NULL, "http://127.0.0.1:1/m", 0, 1);
	struct batch		*b = batch_new();
	struct hclient_resp	 r;
	char			 err[512];

	resp_init(&r, 500, NULL, page);
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_ERROR);
	ck_assert_str_eq(err, "server returned HTTP status 500");
	buf_free(&r.body);

	resp_init(&r, 0, NULL, "");
	r.ok = 0;
	snprintf(r.err, sizeof(r.err), "timeout waiting for the response");
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_ERROR);
	ck_assert_str_eq(err, "timeout waiting for the response");
	ck_assert_uint_eq(batch_len(b), 0);
	buf_free(&r.body);
	batch_free(b);
	http_target_free(t);
}
END_TEST

START_TEST(test_scrape_sample_limit)
{
	struct http_target	*t = target(NULL, "http://127.0.0.1:1/m", 3, 1);
	struct batch		*b = batch_new();
	struct hclient_resp	 r;
	char			 err[512];

	resp_init(&r, 200, NULL, page);
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_OK);
	ck_assert_uint_eq(batch_len(b), 3);
	buf_free(&r.body);

	batch_reset(b);
	resp_init(&r, 200, NULL, "a 1\nb 2\nc 3\nd 4\ne 5\n");
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_ERROR);
	ck_assert_str_eq(err, "line 4: sample limit of 3 exceeded");
	ck_assert_uint_eq(batch_len(b), 0);
	buf_free(&r.body);
	batch_free(b);
	http_target_free(t);
}
END_TEST

START_TEST(test_scrape_formats_timestamps)
{
	struct http_target	*t = target(NULL, "http://127.0.0.1:1/m", 0, 0);
	struct batch		*b = batch_new();
	struct hclient_resp	 r;
	char			 err[512];

	/* honor_timestamps = no: every sample gets the run's time (0). */
	resp_init(&r, 200, NULL, page);
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_OK);
	ck_assert(find(b, "http_requests_total", "code", "500", NULL)->t == 0);
	buf_free(&r.body);
	http_target_free(t);

	/* OpenMetrics by Content-Type: seconds, and # EOF required. */
	t = target(NULL, "http://127.0.0.1:1/m", 0, 1);
	batch_reset(b);
	resp_init(&r, 200, "application/openmetrics-text; version=1.0.0; "
	    "charset=utf-8", "# TYPE jobs counter\n"
	    "jobs_total 7 1700000000.5\n# EOF\n");
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_OK);
	ck_assert(find(b, "jobs_total", NULL)->v == 7);
	ck_assert(find(b, "jobs_total", NULL)->t == 1700000000500LL);
	buf_free(&r.body);

	batch_reset(b);
	resp_init(&r, 200, "application/openmetrics-text; version=1.0.0",
	    "jobs_total 7\n");
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_ERROR);
	ck_assert_str_eq(err, "line 2: missing # EOF");
	ck_assert_uint_eq(batch_len(b), 0);
	buf_free(&r.body);

	/* The same body as text 0.0.4 (no Content-Type) needs no # EOF. */
	resp_init(&r, 200, NULL, "jobs_total 7\n");
	ck_assert_int_eq(http_scrape_response(t, &r, b, err, sizeof(err)),
	    RUN_OK);
	buf_free(&r.body);
	batch_free(b);
	http_target_free(t);
}
END_TEST

START_TEST(test_probe_samples)
{
	struct http_target	*t = target("http://127.0.0.1:1/h", NULL, 0, 1);
	struct batch		*b = batch_new();
	struct hclient_resp	 r;
	char			 why[256];

	resp_init(&r, 200, NULL, "ok\n");
	r.t_resolve = 0.001;
	r.t_connect = 0.002;
	r.t_processing = 0.25;
	r.t_transfer = 0.004;
	ck_assert_int_eq(http_probe_samples(t, &r, 0.5, b, why, sizeof(why)),
	    RUN_OK);
	ck_assert_str_eq(why, "");
	ck_assert(value(b, "probe_success") == 1);
	ck_assert(value(b, "probe_duration_seconds") == 0.5);
	ck_assert(value(b, "probe_http_status_code") == 200);
	ck_assert(value(b, "probe_http_content_length") == 3);
	ck_assert(value(b, "probe_http_ssl") == 0);
	ck_assert(value(b, "probe_failed_due_to_regex") == 0);
	ck_assert(find(b, "probe_ssl_earliest_cert_expiry", NULL) == NULL);
	ck_assert(find(b, "probe_http_duration_seconds", "phase", "resolve",
	    NULL)->v == 0.001);
	ck_assert(find(b, "probe_http_duration_seconds", "phase", "connect",
	    NULL)->v == 0.002);
	ck_assert(find(b, "probe_http_duration_seconds", "phase", "tls",
	    NULL)->v == 0);
	ck_assert(find(b, "probe_http_duration_seconds", "phase",
	    "processing", NULL)->v == 0.25);
	ck_assert(find(b, "probe_http_duration_seconds", "phase", "transfer",
	    NULL)->v == 0.004);
	ck_assert_uint_eq(batch_len(b), 11);

	/* TLS: the certificate's expiry. */
	batch_reset(b);
	r.tls = 1;
	r.cert_expiry = 1900000000;
	ck_assert_int_eq(http_probe_samples(t, &r, 0.5, b, why, sizeof(why)),
	    RUN_OK);
	ck_assert(value(b, "probe_http_ssl") == 1);
	ck_assert(value(b, "probe_ssl_earliest_cert_expiry") == 1900000000);
	r.tls = 0;

	/* A status outside expect_status. */
	batch_reset(b);
	r.status = 503;
	ck_assert_int_eq(http_probe_samples(t, &r, 0.5, b, why, sizeof(why)),
	    RUN_ERROR);
	ck_assert_str_eq(why, "HTTP status 503, expected 2xx");
	ck_assert(value(b, "probe_success") == 0);
	ck_assert(value(b, "probe_http_status_code") == 503);
	buf_free(&r.body);

	/* No answer: what is known, status 0. */
	batch_reset(b);
	resp_init(&r, 0, NULL, "");
	r.ok = 0;
	r.t_connect = 0.001;
	snprintf(r.err, sizeof(r.err), "connect to 127.0.0.1:1: Connection "
	    "refused");
	ck_assert_int_eq(http_probe_samples(t, &r, 0.01, b, why, sizeof(why)),
	    RUN_ERROR);
	ck_assert_str_eq(why, "connect to 127.0.0.1:1: Connection refused");
	ck_assert(value(b, "probe_success") == 0);
	ck_assert(value(b, "probe_http_status_code") == 0);
	ck_assert(value(b, "probe_http_content_length") == 0);
	ck_assert(find(b, "probe_http_duration_seconds", "phase", "connect",
	    NULL)->v == 0.001);
	buf_free(&r.body);
	batch_free(b);
	http_target_free(t);
}
END_TEST

START_TEST(test_probe_regex_and_expect)
{
	struct http_opts	 o;
	struct http_target	*t;
	struct batch		*b = batch_new();
	struct hclient_resp	 r;
	char			 err[256], why[256];

	memset(&o, 0, sizeof(o));
	o.probe = "http://127.0.0.1:1/h";
	o.expect_status = "200,3xx";
	o.body_regex = "\"status\":\\s*\"up\"";
	t = http_target_new(&o, err, sizeof(err));
	ck_assert_ptr_nonnull(t);

	resp_init(&r, 200, NULL, "{\"status\": \"up\"}");
	ck_assert_int_eq(http_probe_samples(t, &r, 0.1, b, why, sizeof(why)),
	    RUN_OK);
	ck_assert(value(b, "probe_failed_due_to_regex") == 0);
	buf_free(&r.body);

	/* Invalid UTF-8 in a body is matched as it is, not an error. */
	batch_reset(b);
	resp_init(&r, 200, NULL, "\xff\xfe{\"status\": \"down\"}");
	ck_assert_int_eq(http_probe_samples(t, &r, 0.1, b, why, sizeof(why)),
	    RUN_ERROR);
	ck_assert_str_eq(why, "body does not match body_regex");
	ck_assert(value(b, "probe_failed_due_to_regex") == 1);
	ck_assert(value(b, "probe_success") == 0);
	buf_free(&r.body);

	batch_reset(b);
	resp_init(&r, 302, NULL, "\xff{\"status\": \"up\"}");
	ck_assert_int_eq(http_probe_samples(t, &r, 0.1, b, why, sizeof(why)),
	    RUN_OK);
	buf_free(&r.body);

	batch_reset(b);
	resp_init(&r, 204, NULL, "");
	ck_assert_int_eq(http_probe_samples(t, &r, 0.1, b, why, sizeof(why)),
	    RUN_ERROR);
	ck_assert_str_eq(why, "HTTP status 204, expected 200,3xx");
	ck_assert(value(b, "probe_failed_due_to_regex") == 0);
	buf_free(&r.body);
	batch_free(b);
	http_target_free(t);
}
END_TEST

START_TEST(test_target_new_errors)
{
	struct http_opts	o;
	char			err[256];

	memset(&o, 0, sizeof(o));
	ck_assert_ptr_null(http_target_new(&o, err, sizeof(err)));
	ck_assert_str_eq(err, "no probe or scrape URL");
	o.scrape = "http://127.0.0.1:1/m";
	o.bearer = "abc\r\nX-Injected: 1";
	ck_assert_ptr_null(http_target_new(&o, err, sizeof(err)));
	ck_assert_str_eq(err, "bearer_token_file holds more than one line");
	o.bearer = NULL;
	o.probe = "http://127.0.0.1:1/h";
	o.body_regex = "(";
	ck_assert_ptr_null(http_target_new(&o, err, sizeof(err)));
	ck_assert_str_eq(err, "body_regex: missing closing parenthesis");
	http_target_free(NULL);
}
END_TEST

static char *
slurp(const char *rel)
{
	char		 path[4096];
	struct buf	 b = BUF_INIT;
	char		 chunk[4096];
	size_t		 n;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", srcdir(), rel);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	buf_adds(&b, "");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
}

/* monitord.conf(5) lists every key of [http] in the form the core kinds
 * use, and no other. */
START_TEST(test_man_conf)
{
	char		*man = slurp("man/monitord.conf.5"), *sec, *end;
	const char	*p;
	struct buf	 line = BUF_INIT;
	size_t		 i, n = 0;

	p = strstr(man, "\n.Ss \"[http \\(dqNAME\\(dq]\\&\"\n");
	ck_assert_msg(p != NULL, "no [http] section in monitord.conf.5");
	end = strstr(p + 1, "\n.S");
	sec = xstrndup(p, end != NULL ? (size_t)(end - p + 1) : strlen(p));
	for (i = 0; http_keys[i].name != NULL; i++) {
		const struct conf_key *k = &http_keys[i];

		buf_reset(&line);
		buf_printf(&line, "\n.It Cm %s Ar %s", k->name,
		    k->type == CONF_ENUM ? k->choices :
		    conf_type_name(k->type));
		if (k->flags & CONF_MULTI)
			buf_adds(&line, " Pq repeatable");
		if (k->def != NULL)
			buf_printf(&line, " Pq default Li %s", k->def);
		buf_adds(&line, "\n");
		ck_assert_msg(strstr(sec, line.data) != NULL,
		    "monitord.conf.5 [http] lacks:%s", line.data);
	}
	for (p = sec; (p = strstr(p, "\n.It Cm ")) != NULL; p++)
		n++;
	ck_assert_uint_eq(n, i);
	buf_free(&line);
	free(sec);
	free(man);
}
END_TEST

/* monitord-metrics(7) has every probe metric with its labels and its
 * help, word for word (the help's sentences may wrap). */
START_TEST(test_man_metrics)
{
	char		*man = slurp("man/monitord-metrics.7");
	const char	*p, *l, *end;
	size_t		 i;

	for (i = 0; http_metrics[i].name != NULL; i++) {
		const struct metric_def	*m = &http_metrics[i];
		struct buf		 want = BUF_INIT, got = BUF_INIT;

		buf_printf(&want, "\n.It Sy %s Pq %s\n", m->name,
		    metric_type_name(m->type));
		p = strstr(man, want.data);
		ck_assert_msg(p != NULL, "%s missing", m->name);
		p += want.len;
		buf_reset(&want);
		if (*m->labels == '\0')
			buf_adds(&want, "No labels.\n");
		else {
			buf_adds(&want, "Labels: ");
			for (l = m->labels; *l != '\0'; l++)
				buf_adds(&want, *l == ' ' ? ", " :
				    (char[2]){ *l, '\0' });
			buf_adds(&want, ".\n");
		}
		ck_assert_msg(strncmp(p, want.data, want.len) == 0,
		    "%s: labels line differs", m->name);
		buf_adds(&got, "");
		for (p += want.len; *p != '\0' && *p != '.'; p = end + 1) {
			end = strchr(p, '\n');
			ck_assert_ptr_nonnull(end);
			if (got.len > 0)
				buf_addc(&got, ' ');
			buf_add(&got, p, (size_t)(end - p));
		}
		ck_assert_msg(strcmp(got.data, m->help) == 0,
		    "%s: help differs:\n  man: %s\n  catalogue: %s", m->name,
		    got.data, m->help);
		buf_free(&want);
		buf_free(&got);
	}
	free(man);
}
END_TEST

START_TEST(test_registered)
{
	ck_assert_ptr_eq(collector_kind_find("http"), &http_collector);
	ck_assert_str_eq(http_collector.metrics[0].name, "probe_success");
}
END_TEST

static Suite *
httpcol_suite(void)
{
	Suite	*s = suite_create("httpcol");
	TCase	*tc = tcase_create("httpcol");

	tcase_add_test(tc, test_status_parse);
	tcase_add_test(tc, test_instance);
	tcase_add_test(tc, test_header_check);
	tcase_add_test(tc, test_config_check);
	tcase_add_test(tc, test_config_auth);
	tcase_add_test(tc, test_scrape_whole_or_nothing);
	tcase_add_test(tc, test_scrape_errors);
	tcase_add_test(tc, test_scrape_sample_limit);
	tcase_add_test(tc, test_scrape_formats_timestamps);
	tcase_add_test(tc, test_probe_samples);
	tcase_add_test(tc, test_probe_regex_and_expect);
	tcase_add_test(tc, test_target_new_errors);
	tcase_add_test(tc, test_man_conf);
	tcase_add_test(tc, test_man_metrics);
	tcase_add_test(tc, test_registered);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(httpcol_suite)
