/*
 * http_impl: the pieces of the HTTP collector shared by http.c (keys,
 * target life cycle, the run), probe.c and scrape.c, and exposed to
 * tests/check_httpcol.c.  Not for other modules: they use http.h.
 *
 * Everything runs on the event loop thread.  A struct http_target is one
 * [http] section; it holds at most one run at a time (the core never starts
 * a run before the previous one finished or was cancelled).
 */
#ifndef MONITORD_HTTP_IMPL_H
#define MONITORD_HTTP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/collector.h"
#include "http/client.h"
#include "sample.h"

struct evdns_base;
struct textparse;

#define HTTP_STATUS_LO	100
#define HTTP_STATUS_HI	599

/* The status codes a probe accepts (expect_status). */
struct http_status_set {
	unsigned char	ok[HTTP_STATUS_HI - HTTP_STATUS_LO + 1];
};

/* What a target is built from: the section's values with the secrets
 * already read (http.c), or a test's.  Strings are copied. */
struct http_opts {
	const char		*probe;		/* URL or NULL */
	const char		*scrape;	/* URL or NULL */
	const char		*method;	/* probe: GET, HEAD, POST */
	const char		*expect_status;	/* "2xx", "200,204" */
	const char		*body_regex;	/* or NULL */
	const char *const	*headers;	/* "Name: value" */
	size_t			 nheaders;
	const char		*bearer;	/* token, or NULL */
	const char		*username;	/* or NULL */
	const char		*password;	/* or NULL */
	const char		*ca_file, *cert_file, *key_file;
	int			 insecure;
	int			 honor_labels;
	int			 honor_timestamps;
	size_t			 sample_limit;	/* 0: none */
	size_t			 max_body;
};

struct http_target {
	char			*probe_url;
	char			*scrape_url;
	char			*method;
	char			*expect_text;
	struct http_status_set	 expect;
	void			*body_re;	/* pcre2_code */
	void			*body_md;	/* pcre2_match_data */
	char			**headers;	/* NULL-ended */
	size_t			 nheaders;
	char			*bearer;
	char			*username;
	char			*password;
	char			*ca_file, *cert_file, *key_file;
	int			 insecure;
	int			 honor_labels;
	int			 honor_timestamps;
	size_t			 sample_limit;
	size_t			 max_body;
	char			 instance[300];
	int			 need_dns;	/* a URL names a host */

	/* The scrape's parser and the batch a page is parsed into before it
	   is known to be whole (reused from run to run). */
	struct textparse	*tp;
	struct batch		*scratch;
	const char		**scrape_headers;	/* headers + ours */
	char			 timeout_header[64];

	/* The run in progress (run == NULL: none). */
	struct event_base	*base;
	struct evdns_base	*dns;
	struct run		*run;
	struct hclient_call	*probe_call;
	struct hclient_call	*scrape_call;
	int			 pending;	/* calls not ended yet */
	double			 probe_t0;	/* monotonic seconds */
	enum run_status		 probe_st, scrape_st;
	char			 probe_err[256];
	char			 scrape_err[512];
};

/* http.c */
extern const struct conf_key	http_keys[];
extern const struct metric_def	http_metrics[];
/* The target, or NULL with a message in ERR (no secret in it). */
struct http_target *http_target_new(const struct http_opts *, char *err,
		    size_t errlen);
void		 http_target_free(struct http_target *);
/* One call of the run ended (its result recorded): finish the run when it
   was the last. */
void		 http_run_step(struct http_target *);
/* Monotonic seconds. */
double		 http_now(void);
/*
 * "2xx,3xx" / "200, 204" into SET: 0, or -1 with a message.  Codes run from
 * 100 to 599, classes from 1xx to 5xx; at least one is required.
 */
int		 http_status_parse(const char *, struct http_status_set *,
		    char *err, size_t errlen);
int		 http_status_ok(const struct http_status_set *, int code);
/* host:port of URL ([v6]:port), the scheme's port when none: 0 or -1. */
int		 http_instance(const char *url, char *out, size_t outlen,
		    char *err, size_t errlen);
/* A "Name: value" header a user may set: 0, or -1 with a message. */
int		 http_header_check(const char *, char *err, size_t errlen);

/* probe.c */
/* Start the probe of the run; a call that cannot start ends at once. */
void		 http_probe_start(struct http_target *, int64_t timeout_ms);
/*
 * The probe's samples for a response into B (t = 0: the run's time);
 * returns RUN_OK or RUN_ERROR with the reason in REASON.
 */
enum run_status	 http_probe_samples(struct http_target *,
		    const struct hclient_resp *, double duration,
		    struct batch *, char *reason, size_t reasonlen);

/* scrape.c */
/* The parser, scratch batch and headers of a target that scrapes. */
void		 http_scrape_init(struct http_target *);
void		 http_scrape_start(struct http_target *, int64_t timeout_ms);
/*
 * A scraped response into OUT, whole or not at all: a transport error, a
 * status outside 2xx, a parse error or a sample_limit overrun add nothing
 * and return RUN_ERROR with the reason in ERR.
 */
enum run_status	 http_scrape_response(struct http_target *,
		    const struct hclient_resp *, struct batch *out,
		    char *err, size_t errlen);

#endif
