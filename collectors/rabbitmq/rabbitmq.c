/*
 * rabbitmq: the RabbitMQ collector kind (see rabbitmq.h): its keys, the
 * target built from a [rabbitmq "NAME"] section, and the run.
 *
 * A run does, at once: the management API calls, the Prometheus plugin's
 * page (when prometheus_url is set) and the AMQP canary (when on).  The
 * management calls go in order: /api/policies, then the pages of
 * /api/queues one after the other, then for every dead-letter
 * exchange met, its type and its bindings, a few exchanges at a time.  The
 * queues are listed with their statistics (which carry the consumers and
 * the policy applied); if some queue has no counts yet (its statistics are
 * not emitted until the next statistics interval, or the broker collects
 * none), a second listing with disable_stats and enable_queue_totals gives
 * the counts, which RabbitMQ then reads straight from its queue tables.
 *
 * The run ends when all three are done.  A failed management call fails
 * the run (up 0, with the call's error); the canary and the plugin report
 * their own state as rabbitmq_canary_up and rabbitmq_prometheus_up and
 * never fail the run, as blackbox_exporter's probe_success does not.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rabbitmq.h"
#include "rabbitmq_impl.h"
#include "http/client.h"
#include "log.h"
#include "textparse.h"
#include "xmalloc.h"

#define AMQP_DEFAULT_PORT	5672
#define EXCHANGES_AT_ONCE	4
#define GLOBAL_PREFIX		"rabbitmq_global_messages_"
#define PROM_SAMPLE_LIMIT	200000	/* the plugin's page has ~1000 */

/* What is asked of /api/queues: with statistics, and counts only. */
#define COLUMNS_STATS	"name,vhost,type,messages,messages_ready," \
			"messages_unacknowledged,consumers,arguments,policy"
#define COLUMNS_TOTALS	"name,vhost,messages,messages_ready," \
			"messages_unacknowledged"

static const struct conf_key rabbitmq_keys[] = {
	{ "url", CONF_URL, CONF_REQUIRED, NULL, NULL, 0, 0,
	  "Base URL of the management API, as http://127.0.0.1:15672 (with "
	  "the path prefix, if the broker sets management.path_prefix)." },
	{ "user", CONF_STRING, 0, "guest", NULL, 0, 0,
	  "User for the management API and the canary. It needs the "
	  "monitoring tag to see every vhost's queues." },
	{ "password_file", CONF_SECRET, 0, NULL, NULL, 0, 0,
	  "File holding the user's password (mode 0600 or stricter). "
	  "Without it the password is guest." },
	{ "vhost", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0,
	  "Watch only this vhost; repeat for more. Default: every vhost "
	  "the user can see." },
	{ "prometheus_url", CONF_URL, 0, NULL, NULL, 0, 0,
	  "The RabbitMQ Prometheus plugin's page, as "
	  "http://127.0.0.1:15692/metrics, for the broker's global message "
	  "counters. Its failure does not fail the target." },
	{ "dead_letter_queue", CONF_STRING, CONF_MULTI, NULL, NULL, 0, 0,
	  "A queue to count as a dead-letter queue besides those found, as "
	  "vhost/queue or queue (in the vhost /); repeat for more." },
	{ "canary", CONF_BOOL, 0, "yes", NULL, 0, 0,
	  "Publish a message over AMQP and consume it back on each run, "
	  "timing the round trip." },
	{ "amqp", CONF_ADDR, 0, NULL, NULL, 0, 0,
	  "AMQP address of the canary. Default: the host of url, port "
	  "5672." },
	{ "canary_queue", CONF_STRING, 0, "monitord.canary", NULL, 0, 0,
	  "Name of the canary's queue: exclusive to its connection and "
	  "deleted with it; two monitords on one broker need two names." },
	{ "page_size", CONF_INT, 0, "500", NULL, 1, 500,
	  "Queues asked for per request to /api/queues (RabbitMQ allows up "
	  "to 500)." },
	{ "max_queues", CONF_INT, 0, "10000", NULL, 1, 10000000,
	  "More queues than this fail the run instead of taking the "
	  "memory and time they would." },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
};

struct rmq_target {
	char			*job;
	char			*base;		/* url without a trailing / */
	char			*user;
	char			*pass;
	char			*prom_url;
	char			**vhosts;	/* none: every vhost */
	size_t			 nvhosts;
	char			**dlq_vhost;	/* dead_letter_queue */
	char			**dlq_name;
	size_t			 ndlq;
	int			 canary_on;
	char			*amqp_host;
	int			 amqp_port;
	char			*canary_queue;
	size_t			 page_size;
	size_t			 max_queues;
	char			 instance[300];

	struct textparse	*tp;
	struct canary		*canary;	/* made at the first run */
	uint64_t		 canary_errors;
	int			 canary_state;	/* -1 unknown, 0 down, 1 up */
	int			 prom_state;
	struct rmq_run		*run;		/* the run in progress */
};

enum call_kind {
	CALL_POLICIES,
	CALL_QUEUES,
	CALL_EXCHANGE,
	CALL_BINDINGS,
	CALL_PROM,
};

struct rmq_call {
	struct rmq_run		*run;
	struct hclient_call	*hc;
	enum call_kind		 kind;
	int			 xidx;		/* CALL_EXCHANGE, CALL_BINDINGS */
	char			 xtype[64];	/* CALL_BINDINGS */
	char			*path;		/* for messages, no query */
	struct rmq_call		*prev, *next;
};

struct rmq_run {
	struct rmq_target	*t;
	struct run		*r;
	struct rmq_call		*calls;

	/* management API */
	int			 mgmt_done;
	int			 mgmt_failed;
	char			 mgmt_err[512];
	int			 policies_done;
	struct rmq_policies	 policies;
	int			 listing_done;
	int			 totals_mode;
	size_t			 vidx;
	int64_t			 page;
	struct rmq_queues	 queues;
	struct rmq_queues	 totals;
	struct dlq		*dlq;
	int			 dlq_started;
	int			 exchanges_inflight;

	/* Prometheus plugin */
	int			 prom_pending;
	int			 prom_ok;
	char			 prom_err[300];
	struct batch		*prom;

	/* canary */
	int			 canary_pending;
	int			 canary_ran;
	struct canary_result	 canary;
};

static void	mgmt_step(struct rmq_run *);
static int	prom_sample(void *, const char *, const struct label *, size_t,
		    double, int, int64_t);
static void	maybe_finish(struct rmq_run *);

static const char *
opt(const struct conf_section *s, const char *key)
{
	return conf_has(s, key) ? conf_str(s, key) : NULL;
}

/* "vhost/queue", or "queue" in "/": the vhost is what comes before the
 * first slash, "" meaning "/" (so "/q" is the queue q of "/"). */
static int
split_dlq(const char *s, char **vhost, char **name)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL) {
		*vhost = xstrdup("/");
		*name = xstrdup(s);
	} else {
		*vhost = slash == s ? xstrdup("/") :
		    xstrndup(s, (size_t)(slash - s));
		*name = xstrdup(slash + 1);
	}
	if (**name == '\0') {
		free(*vhost);
		free(*name);
		return -1;
	}
	return 0;
}

static void
rabbitmq_check(const struct conf_section *s, struct conf_errors *errs)
{
	size_t	 i, n;
	char	*v, *q;

	n = conf_has(s, "dead_letter_queue") ?
	    conf_multi_count(s, "dead_letter_queue") : 0;
	for (i = 0; i < n; i++) {
		if (split_dlq(conf_multi_at(s, "dead_letter_queue", i), &v,
		    &q) == -1) {
			conf_error_line(errs, s, conf_multi_line(s,
			    "dead_letter_queue", i), "dead_letter_queue has no "
			    "queue name (expected vhost/queue or queue)");
			continue;
		}
		free(v);
		free(q);
	}
	if (conf_has(s, "vhost"))
		for (i = 0; i < conf_multi_count(s, "vhost"); i++)
			if (*conf_multi_at(s, "vhost", i) == '\0')
				conf_error_line(errs, s, conf_multi_line(s,
				    "vhost", i), "vhost is empty");
	if (conf_has(s, "canary_queue") && *conf_str(s, "canary_queue") == '\0')
		conf_error(errs, s, "canary_queue", "canary_queue is empty");
}

/* host:port or [v6]:port, as the config checked it. */
static int
split_addr(const char *s, char **host, int *port)
{
	const char	*colon;
	char		*end;
	long		 p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		*host = xstrndup(s + 1, (size_t)(rb - s - 1));
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		*host = xstrndup(s, (size_t)(colon - s));
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535) {
		free(*host);
		return -1;
	}
	*port = (int)p;
	return 0;
}

static void
target_free(struct rmq_target *t)
{
	size_t i;

	if (t == NULL)
		return;
	canary_free(t->canary);
	textparse_free(t->tp);
	if (t->pass != NULL) {
		explicit_bzero(t->pass, strlen(t->pass));
		free(t->pass);
	}
	for (i = 0; i < t->nvhosts; i++)
		free(t->vhosts[i]);
	free(t->vhosts);
	for (i = 0; i < t->ndlq; i++) {
		free(t->dlq_vhost[i]);
		free(t->dlq_name[i]);
	}
	free(t->dlq_vhost);
	free(t->dlq_name);
	free(t->job);
	free(t->base);
	free(t->user);
	free(t->prom_url);
	free(t->amqp_host);
	free(t->canary_queue);
	free(t);
}

static void *
rabbitmq_build(const struct conf_section *s, struct event_base *base,
    char *err, size_t errlen)
{
	struct rmq_target	*t = xcalloc(1, sizeof(*t));
	char			 host[256], path[2048];
	const char		*url = conf_str(s, "url"), *name;
	struct textparse_opts	 tpo;
	struct textparse_cb	 tpcb;
	size_t			 i, len;
	int			 tls, port;

	t->canary_state = t->prom_state = -1;
	name = conf_section_name(s);
	t->job = xstrdup(name != NULL ? name : "rabbitmq");
	if (hclient_parse_url(url, &tls, host, sizeof(host), &port, path,
	    sizeof(path), err, errlen) == -1)
		goto fail;
	if (strchr(path, '?') != NULL) {
		snprintf(err, errlen, "url must not have a query");
		goto fail;
	}
	t->base = xstrdup(url);
	len = strlen(t->base);
	while (len > 0 && t->base[len - 1] == '/')
		t->base[--len] = '\0';
	if (strchr(host, ':') != NULL)
		snprintf(t->instance, sizeof(t->instance), "[%s]:%d", host,
		    port);
	else
		snprintf(t->instance, sizeof(t->instance), "%s:%d", host, port);
	t->user = xstrdup(conf_str(s, "user"));
	if (conf_has(s, "password_file")) {
		if ((t->pass = conf_read_secret(s, "password_file", err,
		    errlen)) == NULL)
			goto fail;
	} else
		t->pass = xstrdup("guest");
	t->prom_url = opt(s, "prometheus_url") != NULL ?
	    xstrdup(conf_str(s, "prometheus_url")) : NULL;
	if (conf_has(s, "vhost")) {
		t->nvhosts = conf_multi_count(s, "vhost");
		t->vhosts = xcalloc(t->nvhosts, sizeof(*t->vhosts));
		for (i = 0; i < t->nvhosts; i++)
			t->vhosts[i] = xstrdup(conf_multi_at(s, "vhost", i));
	}
	if (conf_has(s, "dead_letter_queue")) {
		size_t n = conf_multi_count(s, "dead_letter_queue");

		t->dlq_vhost = xcalloc(n, sizeof(*t->dlq_vhost));
		t->dlq_name = xcalloc(n, sizeof(*t->dlq_name));
		for (i = 0; i < n; i++) {
			if (split_dlq(conf_multi_at(s, "dead_letter_queue", i),
			    &t->dlq_vhost[t->ndlq], &t->dlq_name[t->ndlq]) ==
			    -1) {
				snprintf(err, errlen, "dead_letter_queue has no "
				    "queue name");
				goto fail;
			}
			t->ndlq++;
		}
	}
	t->canary_on = conf_bool(s, "canary");
	if (conf_has(s, "amqp")) {
		if (split_addr(conf_str(s, "amqp"), &t->amqp_host,
		    &t->amqp_port) == -1) {
			snprintf(err, errlen, "amqp is not host:port");
			goto fail;
		}
	} else {
		t->amqp_host = xstrdup(host);
		t->amqp_port = AMQP_DEFAULT_PORT;
	}
	t->canary_queue = xstrdup(conf_str(s, "canary_queue"));
	t->page_size = (size_t)conf_int(s, "page_size");
	t->max_queues = (size_t)conf_int(s, "max_queues");
	textparse_opts_default(&tpo);
	tpo.sample_limit = PROM_SAMPLE_LIMIT;
	memset(&tpcb, 0, sizeof(tpcb));
	tpcb.sample = prom_sample;
	t->tp = textparse_new(&tpo, &tpcb, t);
	return t;
fail:
	target_free(t);
	return NULL;
}

static const char *
rabbitmq_instance(void *priv)
{
	return ((struct rmq_target *)priv)->instance;
}

/* Calls */

static void	call_done(const struct hclient_resp *, void *);

static void
call_unlink(struct rmq_call *c)
{
	struct rmq_run *run = c->run;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		run->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->path);
	free(c);
}

static void
mgmt_fail(struct rmq_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mgmt_fail(struct rmq_run *run, const char *fmt, ...)
{
	struct rmq_call	*c, *next;
	va_list		 ap;

	if (run->mgmt_failed)
		return;
	run->mgmt_failed = 1;
	run->mgmt_done = 1;
	va_start(ap, fmt);
	vsnprintf(run->mgmt_err, sizeof(run->mgmt_err), fmt, ap);
	va_end(ap);
	for (c = run->calls; c != NULL; c = next) {
		next = c->next;
		if (c->kind == CALL_PROM)
			continue;
		hclient_cancel(c->hc);
		call_unlink(c);
	}
}

/* Start a GET of BASE + PATH + QUERY; PATH names the call in messages. */
static void
call_start(struct rmq_run *run, enum call_kind kind, const char *url,
    const char *path, int xidx, const char *xtype)
{
	struct rmq_target	*t = run->t;
	struct hclient_opts	 o;
	struct rmq_call		*c = xcalloc(1, sizeof(*c));
	char			 err[256];

	c->run = run;
	c->kind = kind;
	c->xidx = xidx;
	if (xtype != NULL)
		snprintf(c->xtype, sizeof(c->xtype), "%s", xtype);
	c->path = xstrdup(path);
	c->next = run->calls;
	if (run->calls != NULL)
		run->calls->prev = c;
	run->calls = c;

	memset(&o, 0, sizeof(o));
	o.url = url;
	/* A little before the run's deadline, so that a hung call is
	   reported by name rather than as the run's timeout (both timers
	   would otherwise be due together, in either order). */
	o.timeout_ms = run_remaining_ms(run->r) - RMQ_CALL_MARGIN_MS;
	if (o.timeout_ms < 1)
		o.timeout_ms = 1;
	o.max_body = RMQ_MAX_BODY;
	o.accept_gzip = 1;
	if (kind != CALL_PROM) {
		o.basic_user = t->user;
		o.basic_pass = t->pass;
	}
	c->hc = hclient_start(run_base(run->r), NULL, &o, call_done, c, err,
	    sizeof(err));
	if (c->hc != NULL)
		return;
	if (kind == CALL_PROM) {
		snprintf(run->prom_err, sizeof(run->prom_err), "%s", err);
		run->prom_pending = 0;
		call_unlink(c);
	} else {
		call_unlink(c);
		mgmt_fail(run, "management API %s: %s", path, err);
	}
}

static void
mgmt_get(struct rmq_run *run, enum call_kind kind, const struct buf *path,
    const char *query, int xidx, const char *xtype)
{
	struct buf url = BUF_INIT;

	buf_printf(&url, "%s%s%s", run->t->base, path->data,
	    query != NULL ? query : "");
	call_start(run, kind, url.data, path->data, xidx, xtype);
	buf_free(&url);
}

static void
queues_request(struct rmq_run *run)
{
	struct rmq_target	*t = run->t;
	struct buf		 path = BUF_INIT, query = BUF_INIT;

	buf_adds(&path, "/api/queues");
	if (t->nvhosts > 0) {
		buf_addc(&path, '/');
		mgmt_escape(&path, t->vhosts[run->vidx]);
	}
	buf_printf(&query, "?page=%lld&page_size=%zu&columns=%s",
	    (long long)run->page, t->page_size,
	    run->totals_mode ? COLUMNS_TOTALS : COLUMNS_STATS);
	if (run->totals_mode)
		buf_adds(&query, "&disable_stats=true&enable_queue_totals=true");
	mgmt_get(run, CALL_QUEUES, &path, query.data, -1, NULL);
	buf_free(&path);
	buf_free(&query);
}

static void
exchange_request(struct rmq_run *run, enum call_kind kind, int idx,
    const char *vhost, const char *name, const char *xtype)
{
	struct buf path = BUF_INIT;

	buf_adds(&path, "/api/exchanges/");
	mgmt_escape(&path, vhost);
	buf_addc(&path, '/');
	mgmt_escape(&path, name);
	if (kind == CALL_BINDINGS)
		buf_adds(&path, "/bindings/source");
	mgmt_get(run, kind, &path, NULL, idx, xtype);
	buf_free(&path);
}

/* The listing's counts for queues the first pass had none for. */
static void
merge_totals(struct rmq_run *run)
{
	size_t i;

	for (i = 0; i < run->totals.n; i++) {
		const struct rmq_queue	*src = &run->totals.v[i];
		struct rmq_queue	*q;

		q = rmq_queues_find(&run->queues, src->vhost, src->name);
		if (q == NULL || !isnan(q->messages))
			continue;
		q->messages = src->messages;
		q->ready = src->ready;
		q->unacked = src->unacked;
	}
	rmq_queues_clear(&run->totals);
}

static int
some_counts_missing(const struct rmq_queues *qs)
{
	size_t i;

	for (i = 0; i < qs->n; i++)
		if (isnan(qs->v[i].messages))
			return 1;
	return 0;
}

/* One page of /api/queues arrived: ask for the next, or end the pass. */
static void
queues_page(struct rmq_run *run, const struct hclient_resp *resp,
    const char *path, int out_of_range)
{
	struct rmq_target	*t = run->t;
	struct mgmt_page	 pg;
	char			 err[300];
	int64_t			 max_pages;

	if (!out_of_range) {
		if (mgmt_parse_queues(resp->body.data, resp->body.len,
		    run->totals_mode ? &run->totals : &run->queues,
		    t->max_queues, &pg, err, sizeof(err)) == -1) {
			mgmt_fail(run, "management API %s: %s", path, err);
			return;
		}
		max_pages = (int64_t)((t->max_queues + t->page_size - 1) /
		    t->page_size) + 1;
		if (pg.paged && pg.page_count > max_pages) {
			mgmt_fail(run, "management API %s: page_count %lld is "
			    "more than max_queues allows", path,
			    (long long)pg.page_count);
			return;
		}
		if (pg.paged && run->page < pg.page_count) {
			run->page++;
			queues_request(run);
			return;
		}
	}
	if (++run->vidx < t->nvhosts) {
		run->page = 1;
		queues_request(run);
		return;
	}
	if (!run->totals_mode) {
		rmq_queues_sort(&run->queues);
		if (some_counts_missing(&run->queues)) {
			run->totals_mode = 1;
			run->vidx = 0;
			run->page = 1;
			queues_request(run);
			return;
		}
	} else
		merge_totals(run);
	run->listing_done = 1;
}

static void
prom_done(struct rmq_run *run, const struct hclient_resp *resp);

static int
http_error(const struct hclient_resp *resp, char *out, size_t outlen)
{
	char reason[160];

	mgmt_error_reason(resp->body.data, resp->body.len, reason,
	    sizeof(reason));
	return snprintf(out, outlen, "HTTP %d%s%s", resp->status,
	    reason[0] != '\0' ? ": " : "", reason);
}

static void
call_done(const struct hclient_resp *resp, void *arg)
{
	struct rmq_call		*c = arg;
	struct rmq_run		*run = c->run;
	struct rmq_bindings	 b;
	enum call_kind		 kind = c->kind;
	char			 err[300], type[64], *path;
	const char		*vhost, *name;
	int			 idx = c->xidx;

	if (kind == CALL_PROM) {
		call_unlink(c);
		prom_done(run, resp);
		maybe_finish(run);
		return;
	}
	path = xstrdup(c->path);
	snprintf(type, sizeof(type), "%s", c->xtype);
	call_unlink(c);
	if (!resp->ok) {
		mgmt_fail(run, "management API %s: %s", path, resp->err);
		goto out;
	}
	if (resp->status != 200) {
		/* Queues deleted between two pages: the last page is gone. */
		if (kind == CALL_QUEUES && resp->status == 400 &&
		    run->page > 1 && strstr(resp->body.data != NULL ?
		    resp->body.data : "", "page_out_of_range") != NULL) {
			queues_page(run, resp, path, 1);
			goto step;
		}
		/* A dead-letter exchange that does not exist: RabbitMQ
		 * drops those dead letters. */
		if (kind == CALL_EXCHANGE && resp->status == 404) {
			memset(&b, 0, sizeof(b));
			run->exchanges_inflight--;
			if (dlq_set_exchange(run->dlq, idx, NULL, &b, err,
			    sizeof(err)) == -1)
				mgmt_fail(run, "%s", err);
			goto step;
		}
		http_error(resp, err, sizeof(err));
		mgmt_fail(run, "management API %s: %s", path, err);
		goto out;
	}
	switch (kind) {
	case CALL_POLICIES:
		if (mgmt_parse_policies(resp->body.data, resp->body.len,
		    &run->policies, err, sizeof(err)) == -1) {
			mgmt_fail(run, "management API %s: %s", path, err);
			goto out;
		}
		run->policies_done = 1;
		/* One after the other, so that a broker refusing both
		 * always gives the same error. */
		queues_request(run);
		break;
	case CALL_QUEUES:
		queues_page(run, resp, path, 0);
		break;
	case CALL_EXCHANGE:
		if (mgmt_parse_exchange(resp->body.data, resp->body.len, type,
		    sizeof(type), err, sizeof(err)) == -1) {
			mgmt_fail(run, "management API %s: %s", path, err);
			goto out;
		}
		dlq_exchange(run->dlq, idx, &vhost, &name);
		exchange_request(run, CALL_BINDINGS, idx, vhost, name, type);
		break;
	case CALL_BINDINGS:
		memset(&b, 0, sizeof(b));
		if (mgmt_parse_bindings(resp->body.data, resp->body.len, &b,
		    err, sizeof(err)) == -1) {
			rmq_bindings_clear(&b);
			mgmt_fail(run, "management API %s: %s", path, err);
			goto out;
		}
		run->exchanges_inflight--;
		if (dlq_set_exchange(run->dlq, idx, type, &b, err,
		    sizeof(err)) == -1) {
			rmq_bindings_clear(&b);
			mgmt_fail(run, "%s", err);
			goto out;
		}
		break;
	case CALL_PROM:
		break;
	}
step:
	mgmt_step(run);
out:
	free(path);
	maybe_finish(run);
}

/* Once the policies and every queue are in: the dead-letter exchanges,
 * a few at a time, then the dead-letter queues. */
static void
mgmt_step(struct rmq_run *run)
{
	struct rmq_target	*t = run->t;
	const char		*vhost, *name;
	size_t			 i;
	int			 idx;

	if (run->mgmt_done || !run->policies_done || !run->listing_done)
		return;
	if (!run->dlq_started) {
		run->dlq_started = 1;
		run->dlq = dlq_new();
		dlq_seed(run->dlq, &run->queues, &run->policies);
		for (i = 0; i < t->ndlq; i++)
			dlq_add_queue(run->dlq, t->dlq_vhost[i], t->dlq_name[i]);
	}
	while (!run->mgmt_failed &&
	    run->exchanges_inflight < EXCHANGES_AT_ONCE &&
	    (idx = dlq_next(run->dlq, &vhost, &name)) >= 0) {
		run->exchanges_inflight++;
		exchange_request(run, CALL_EXCHANGE, idx, vhost, name, NULL);
	}
	if (!run->mgmt_failed && run->exchanges_inflight == 0) {
		dlq_resolve(run->dlq);
		run->mgmt_done = 1;
	}
}

/* Prometheus plugin */

static int
prom_sample(void *arg, const char *name, const struct label *lbls, size_t n,
    double v, int has_ts, int64_t ts_ms)
{
	struct rmq_target *t = arg;

	if (strncmp(name, GLOBAL_PREFIX, sizeof(GLOBAL_PREFIX) - 1) != 0 ||
	    rabbitmq_metric_find(name) == NULL)
		return 0;
	/* A sample with bad labels is left out, not the page. */
	(void)batch_add(t->run->prom, name, lbls, n, 0, v);
	return 0;
}

static void
prom_done(struct rmq_run *run, const struct hclient_resp *resp)
{
	struct rmq_target	*t = run->t;
	char			 err[256];

	run->prom_pending = 0;
	if (!resp->ok) {
		snprintf(run->prom_err, sizeof(run->prom_err), "%s", resp->err);
		return;
	}
	if (resp->status != 200) {
		snprintf(run->prom_err, sizeof(run->prom_err), "HTTP %d",
		    resp->status);
		return;
	}
	if (textparse_parse(t->tp, textparse_format_for(hclient_header(resp,
	    "content-type")), resp->body.data, resp->body.len, err,
	    sizeof(err)) != 0) {
		snprintf(run->prom_err, sizeof(run->prom_err), "%s", err);
		batch_reset(run->prom);
		return;
	}
	run->prom_ok = 1;
}

/* Canary */

static void
canary_done(const struct canary_result *res, void *arg)
{
	struct rmq_run *run = arg;

	run->canary_pending = 0;
	run->canary_ran = 1;
	run->canary = *res;
	maybe_finish(run);
}

static void
canary_begin(struct rmq_run *run)
{
	struct rmq_target	*t = run->t;
	struct canary_opts	 o;
	int64_t			 left, budget;

	if (t->canary == NULL) {
		memset(&o, 0, sizeof(o));
		o.host = t->amqp_host;
		o.port = t->amqp_port;
		o.vhost = t->nvhosts > 0 ? t->vhosts[0] : "/";
		o.user = t->user;
		o.pass = t->pass;
		o.queue = t->canary_queue;
		t->canary = canary_new(run_base(run->r), &o, run->canary.err,
		    sizeof(run->canary.err));
		if (t->canary == NULL) {
			run->canary_ran = 1;
			return;
		}
	}
	if (canary_busy(t->canary)) {
		/* The last run's canary, abandoned at its deadline, is still
		 * within its own timeout: do not queue behind it. */
		run->canary_ran = 1;
		snprintf(run->canary.err, sizeof(run->canary.err), "AMQP: the "
		    "previous canary has not finished yet");
		return;
	}
	/* Leave the run time to report after the canary's own timeout. */
	left = run_remaining_ms(run->r);
	budget = left - (left / 10 > 50 ? left / 10 : 50);
	run->canary_pending = 1;
	canary_start(t->canary, budget > 0 ? budget : 1, canary_done, run);
}

/* The end of a run */

static void
run_free(struct rmq_run *run)
{
	struct rmq_call *c;

	while ((c = run->calls) != NULL) {
		hclient_cancel(c->hc);
		call_unlink(c);
	}
	if (run->canary_pending)
		canary_abandon(run->t->canary);
	rmq_policies_clear(&run->policies);
	rmq_queues_clear(&run->queues);
	rmq_queues_clear(&run->totals);
	dlq_free(run->dlq);
	batch_free(run->prom);
	run->t->run = NULL;
	free(run);
}

static void
add_queue_sample(struct batch *b, const char *metric, const char *vhost,
    const char *queue, double v)
{
	if (!isnan(v))
		batch_addl(b, metric, 0, v, "vhost", vhost, "queue", queue, NULL);
}

static void
emit(struct rmq_run *run)
{
	struct rmq_target	*t = run->t;
	struct batch		*b = run_batch(run->r);
	const struct sample	*s;
	const char		*vhost, *name;
	size_t			 i, ndlq = 0;

	if (!run->mgmt_failed) {
		for (i = 0; i < run->queues.n; i++) {
			const struct rmq_queue *q = &run->queues.v[i];

			add_queue_sample(b, "rabbitmq_queue_messages", q->vhost,
			    q->name, q->messages);
			add_queue_sample(b, "rabbitmq_queue_messages_ready",
			    q->vhost, q->name, q->ready);
			add_queue_sample(b, "rabbitmq_queue_messages_unacked",
			    q->vhost, q->name, q->unacked);
			add_queue_sample(b, "rabbitmq_queue_consumers",
			    q->vhost, q->name, q->consumers);
		}
		batch_addl(b, "rabbitmq_queues", 0, (double)run->queues.n,
		    NULL);
		for (i = 0; i < dlq_count(run->dlq); i++) {
			const struct rmq_queue *q;

			dlq_at(run->dlq, i, &vhost, &name);
			if ((q = rmq_queues_find(&run->queues, vhost, name)) ==
			    NULL)
				continue;
			ndlq++;
			add_queue_sample(b, "rabbitmq_dead_letter_queue_messages",
			    vhost, name, q->messages);
		}
		batch_addl(b, "rabbitmq_dead_letter_queues", 0, (double)ndlq,
		    NULL);
	}
	if (t->prom_url != NULL) {
		batch_addl(b, "rabbitmq_prometheus_up", 0, run->prom_ok, NULL);
		for (i = 0; run->prom_ok && i < batch_len(run->prom); i++) {
			s = batch_at(run->prom, i);
			(void)batch_add(b, s->labels[0].value, s->labels + 1,
			    s->nlabels - 1, 0, s->v);
		}
	}
	if (t->canary_on) {
		batch_addl(b, "rabbitmq_canary_up", 0, run->canary.ok, NULL);
		if (run->canary.ok)
			batch_addl(b, "rabbitmq_canary_round_trip_seconds", 0,
			    run->canary.rtt, NULL);
		batch_addl(b, "rabbitmq_canary_errors_total", 0,
		    (double)t->canary_errors, NULL);
	}
}

/* The canary and the plugin do not fail the run: their failures are
 * logged when they start and when they end, not at every run. */
static void
log_changes(struct rmq_run *run)
{
	struct rmq_target *t = run->t;

	if (t->canary_on && run->canary_ran) {
		if (!run->canary.ok) {
			t->canary_errors++;
			if (t->canary_state != 0)
				log_warnx("rabbitmq %s: canary failed: %s",
				    t->job, run->canary.err);
			t->canary_state = 0;
		} else {
			if (t->canary_state == 0)
				log_info("rabbitmq %s: canary works again",
				    t->job);
			t->canary_state = 1;
		}
	}
	if (t->prom_url != NULL) {
		if (!run->prom_ok && t->prom_state != 0)
			log_warnx("rabbitmq %s: cannot read prometheus_url: %s",
			    t->job, run->prom_err);
		else if (run->prom_ok && t->prom_state == 0)
			log_info("rabbitmq %s: prometheus_url answers again",
			    t->job);
		t->prom_state = run->prom_ok;
	}
}

static void
maybe_finish(struct rmq_run *run)
{
	struct run	*r = run->r;
	char		 err[sizeof(run->mgmt_err)];
	int		 failed;

	if (!run->mgmt_done || run->prom_pending || run->canary_pending)
		return;
	log_changes(run);
	emit(run);
	failed = run->mgmt_failed;
	snprintf(err, sizeof(err), "%s", run->mgmt_err);
	run_free(run);
	if (failed)
		run_done(r, RUN_ERROR, "%s", err);
	else
		run_done(r, RUN_OK, "%s", "ok");
}

static void
rabbitmq_run(void *priv, struct run *r)
{
	struct rmq_target	*t = priv;
	struct rmq_run		*run = xcalloc(1, sizeof(*run));
	struct buf		 path = BUF_INIT;

	run->t = t;
	run->r = r;
	run->page = 1;
	run->prom = batch_new();
	t->run = run;
	if (t->canary_on)
		canary_begin(run);
	if (t->prom_url != NULL) {
		run->prom_pending = 1;
		call_start(run, CALL_PROM, t->prom_url, "prometheus_url", -1,
		    NULL);
	}
	buf_adds(&path, "/api/policies");
	mgmt_get(run, CALL_POLICIES, &path, NULL, -1, NULL);
	buf_free(&path);
	maybe_finish(run);
}

static void
rabbitmq_cancel(void *priv, struct run *r)
{
	struct rmq_target *t = priv;

	if (t->run != NULL)
		run_free(t->run);
}

static void
rabbitmq_free(void *priv)
{
	struct rmq_target *t = priv;

	if (t == NULL)
		return;
	if (t->run != NULL)
		run_free(t->run);
	target_free(t);
}

const struct collector_kind rabbitmq_collector = {
	.kind = "rabbitmq",
	.help = "RabbitMQ queues, dead-letter queues and messages in flight "
	    "from the management API, global counters from the Prometheus "
	    "plugin, and an AMQP round-trip canary",
	.keys = rabbitmq_keys,
	.metrics = rabbitmq_metrics,
	.check = rabbitmq_check,
	.build = rabbitmq_build,
	.instance = rabbitmq_instance,
	.run = rabbitmq_run,
	.cancel = rabbitmq_cancel,
	.free = rabbitmq_free,
};
