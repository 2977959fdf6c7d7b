/*
 * probe: the HTTP collector's probe, blackbox_exporter's HTTP probe with
 * its metric names and meanings.  One request with the configured method;
 * the probe succeeds when a whole response came with a status in
 * expect_status and, when body_regex is set, a body matching it.  A failed
 * probe is data: probe_success 0 with whatever was measured, and the reason
 * for the run.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "http_impl.h"

static void
http_probe_cb(const struct hclient_resp *resp, void *arg)
{
	struct http_target *t = arg;

	t->probe_call = NULL;		/* the client frees it after us */
	t->pending--;
	if (t->run != NULL)
		t->probe_st = http_probe_samples(t, resp, http_now() -
		    t->probe_t0, run_batch(t->run), t->probe_err,
		    sizeof(t->probe_err));
	http_run_step(t);
}

void
http_probe_start(struct http_target *t, int64_t timeout_ms)
{
	struct hclient_opts	o;
	struct hclient_resp	failed;
	char			msg[sizeof(failed.err)];

	memset(&o, 0, sizeof(o));
	o.method = t->method;
	o.url = t->probe_url;
	o.headers = (const char *const *)t->headers;
	o.timeout_ms = timeout_ms;
	o.max_body = t->max_body;
	o.basic_user = t->username;
	o.basic_pass = t->password;
	o.bearer = t->bearer;
	o.ca_file = t->ca_file;
	o.cert_file = t->cert_file;
	o.key_file = t->key_file;
	o.insecure = t->insecure;
	t->probe_t0 = http_now();
	t->probe_call = hclient_start(t->base, t->dns, &o, http_probe_cb, t,
	    msg, sizeof(msg));
	if (t->probe_call != NULL) {
		t->pending++;
		return;
	}
	/* It could not start (a CA file that does not load): a failed probe. */
	memset(&failed, 0, sizeof(failed));
	snprintf(failed.err, sizeof(failed.err), "%s", msg);
	t->probe_st = http_probe_samples(t, &failed, http_now() - t->probe_t0,
	    run_batch(t->run), t->probe_err, sizeof(t->probe_err));
}

static int
body_matches(struct http_target *t, const struct buf *body)
{
	int rc;

	rc = pcre2_match(t->body_re, (PCRE2_SPTR)(body->data ? body->data : ""),
	    body->len, 0, 0, t->body_md, NULL);
	return rc >= 0;
}

enum run_status
http_probe_samples(struct http_target *t, const struct hclient_resp *resp,
    double duration, struct batch *b, char *reason, size_t reasonlen)
{
	static const char *const phases[] = {
		"resolve", "connect", "tls", "processing", "transfer",
	};
	double		 pt[5];
	int		 ok = 0, regex_failed = 0;
	size_t		 i;

	reason[0] = '\0';
	if (!resp->ok)
		snprintf(reason, reasonlen, "%s", resp->err);
	else if (!http_status_ok(&t->expect, resp->status))
		snprintf(reason, reasonlen, "HTTP status %d, expected %s",
		    resp->status, t->expect_text);
	else if (t->body_re != NULL && !body_matches(t, &resp->body)) {
		regex_failed = 1;
		snprintf(reason, reasonlen, "body does not match body_regex");
	} else
		ok = 1;

	pt[0] = resp->t_resolve;
	pt[1] = resp->t_connect;
	pt[2] = resp->t_tls;
	pt[3] = resp->t_processing;
	pt[4] = resp->t_transfer;
	batch_addl(b, "probe_success", 0, ok ? 1.0 : 0.0, NULL);
	batch_addl(b, "probe_duration_seconds", 0, duration, NULL);
	batch_addl(b, "probe_http_status_code", 0, (double)resp->status, NULL);
	for (i = 0; i < 5; i++)
		batch_addl(b, "probe_http_duration_seconds", 0, pt[i],
		    "phase", phases[i], NULL);
	batch_addl(b, "probe_http_content_length", 0,
	    resp->ok ? (double)resp->body.len : 0.0, NULL);
	batch_addl(b, "probe_http_ssl", 0, resp->tls ? 1.0 : 0.0, NULL);
	if (resp->tls && resp->cert_expiry != 0)
		batch_addl(b, "probe_ssl_earliest_cert_expiry", 0,
		    (double)resp->cert_expiry, NULL);
	batch_addl(b, "probe_failed_due_to_regex", 0, regex_failed ? 1.0 : 0.0,
	    NULL);
	return ok ? RUN_OK : RUN_ERROR;
}
