/*
 * fuzz_httpcol: the HTTP collector's handling of what a target sends and
 * of its own config values.  The first byte picks the Content-Type (text
 * 0.0.4 or OpenMetrics), honor_timestamps and a sample_limit; the rest is
 * the scraped body.  A scrape must add the whole page or nothing: the
 * sample already in the run's batch (as the probe's would be) stays, and a
 * failed page adds none.  The same bytes also go through the expect_status
 * and header checks.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/http/http_impl.h"
#include "textparse.h"
#include "xmalloc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_target	*t[8];
	struct http_status_set		 set;
	struct hclient_header		 h;
	struct hclient_resp		 r;
	struct batch			*b;
	char				 err[512], *s;
	unsigned			 mode;
	enum run_status			 st;

	if (size == 0)
		return 0;
	mode = data[0] & 7;
	if (t[mode] == NULL) {
		struct http_opts o;

		memset(&o, 0, sizeof(o));
		o.scrape = "http://127.0.0.1:9/metrics";
		o.honor_timestamps = mode & 2;
		o.sample_limit = mode & 4 ? 3 : 0;
		t[mode] = http_target_new(&o, err, sizeof(err));
		if (t[mode] == NULL)
			abort();
	}
	memset(&r, 0, sizeof(r));
	r.ok = 1;
	r.status = 200;
	h.name = (char *)"Content-Type";
	h.value = (char *)(mode & 1 ? "application/openmetrics-text; "
	    "version=1.0.0" : "text/plain; version=0.0.4");
	r.headers = &h;
	r.nheaders = 1;
	buf_add(&r.body, data + 1, size - 1);

	b = batch_new();
	batch_addl(b, "probe_success", 0, 1.0, NULL);
	st = http_scrape_response(t[mode], &r, b, err, sizeof(err));
	if (st != RUN_OK && batch_len(b) != 1)
		abort();
	if (st == RUN_OK && batch_len(b) != 1 +
	    textparse_stats(t[mode]->tp)->samples)
		abort();
	if (mode & 4 && batch_len(b) > 4)
		abort();
	batch_free(b);
	buf_free(&r.body);

	s = xstrndup((const char *)data + 1, size - 1);
	if (http_status_parse(s, &set, err, sizeof(err)) == 0 &&
	    http_status_ok(&set, 0))
		abort();
	http_header_check(s, err, sizeof(err));
	free(s);
	return 0;
}
