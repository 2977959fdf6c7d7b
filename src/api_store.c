/*
 * api_store: import and export endpoints, and the store's metrics (see
 * api_store.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_store.h"
#include "buf.h"
#include "expo.h"
#include "http/server.h"
#include "memtrim.h"
#include "query/parser.h"
#include "sample.h"
#include "storage/store.h"
#include "textparse.h"
#include "timeparse.h"
#include "worker.h"
#include "xmalloc.h"

/* Imports waiting for the disk at once; more answer 503. */
#define IMPORT_QUEUE	16
/* Body bytes past which an import's memory is handed back to the system
 * once imports are quiet (memtrim.h). */
#define IMPORT_TRIM	(1u << 20)

enum { M_IMPORT_REQ, M_IMPORT_SAMPLES, M_HEAP_TRIMS };

const struct metric_def api_store_metrics[] = {
	[M_IMPORT_REQ] = { "monitord_import_requests_total", METRIC_COUNTER,
	  "code",
	  "Import requests by HTTP status: 400s are bodies with bad lines, "
	  "503s a full import queue." },
	[M_IMPORT_SAMPLES] = { "monitord_import_samples_total",
	  METRIC_COUNTER, "",
	  "Samples received by the import API, stored or dropped." },
	[M_HEAP_TRIMS] = { "monitord_heap_trims_total", METRIC_COUNTER, "",
	  "Times the memory that large imports and sealing freed was handed "
	  "back to the system. This happens once they have been quiet for a "
	  "second, not after each request, so that the next body of a "
	  "backfill reuses the pages." },
	{ NULL, 0, NULL, NULL },
};

struct api_store {
	struct httpd	*httpd;
	struct store	*store;
	struct worker	*worker;
	struct memtrim	*memtrim;
	uint64_t	 import_codes[6];	/* 204 400 413 500 503 other */
	uint64_t	 import_samples;
};

struct import_ref {
	const struct label	*labels;
	size_t			 n;
};

/*
 * A body lists the same series in the same order scrape after scrape: the
 * next line is most likely of the series that came after the last one the
 * time before.  Checking that one first costs a comparison where the
 * batch's lookup hashes the line's labels and probes; when it guesses
 * wrong too often (a body in another order), it stops guessing.
 */
struct import_pred {
	char			*raw;
	size_t			 len;
	struct import_ref	 ref;
};

#define PRED_MAX	(1u << 16)	/* series followed */

struct import_job {
	struct api_store		*as;
	struct httpd_req		*req;
	struct batch			*batch;
	struct textparse		*tp;	/* while parsing */
	struct import_ref		 ref;
	struct import_pred		*pv;	/* series in first-seen order */
	size_t				 npv, pvcap, cur;
	uint32_t			*pix;	/* labels -> pv index + 1 */
	size_t				 pixcap;
	uint64_t			 hits, misses;
	int64_t				 now;
	struct store_append_stats	 stats;
	int				 rc;
	int				 big;	/* body >= IMPORT_TRIM */
	char				 err[256];
};

static void
count_code(struct api_store *as, int code)
{
	int i;

	switch (code) {
	case 204: i = 0; break;
	case 400: i = 1; break;
	case 413: i = 2; break;
	case 500: i = 3; break;
	case 503: i = 4; break;
	default: i = 5; break;
	}
	as->import_codes[i]++;
}

static size_t
pred_slot(const struct import_job *j, const struct label *l)
{
	uint64_t h = (uint64_t)(uintptr_t)l * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (j->pixcap - 1);
}

/* The position of the series with labels L in pv, plus one; 0: none. */
static size_t
pred_find(const struct import_job *j, const struct label *l)
{
	size_t k;

	if (j->pixcap == 0)
		return 0;
	for (k = pred_slot(j, l); j->pix[k] != 0; k = (k + 1) &
	    (j->pixcap - 1))
		if (j->pv[j->pix[k] - 1].ref.labels == l)
			return j->pix[k];
	return 0;
}

static void
pred_index(struct import_job *j, size_t i)
{
	size_t k;

	for (k = pred_slot(j, j->pv[i].ref.labels); j->pix[k] != 0;
	    k = (k + 1) & (j->pixcap - 1))
		;
	j->pix[k] = (uint32_t)(i + 1);
}

static void
pred_add(struct import_job *j, const char *raw, size_t len)
{
	const struct sample	*smp;
	struct import_pred	*p;

	if (j->npv >= PRED_MAX)
		return;
	if (j->npv == j->pvcap) {
		j->pvcap = j->pvcap ? j->pvcap * 2 : 256;
		j->pv = xreallocarray(j->pv, j->pvcap, sizeof(*j->pv));
	}
	smp = batch_at(j->batch, batch_len(j->batch) - 1);
	p = &j->pv[j->npv++];
	p->raw = xmalloc(len ? len : 1);
	memcpy(p->raw, raw, len);
	p->len = len;
	p->ref.labels = smp->labels;
	p->ref.n = smp->nlabels;
	j->cur = j->npv;
	if (2 * j->npv > j->pixcap) {
		size_t i;

		free(j->pix);
		j->pixcap = j->pixcap ? j->pixcap * 2 : 512;
		j->pix = xcalloc(j->pixcap, sizeof(*j->pix));
		for (i = 0; i < j->npv; i++)
			pred_index(j, i);
	} else
		pred_index(j, j->npv - 1);
}

static void
pred_free(struct import_job *j)
{
	size_t i;

	for (i = 0; i < j->npv; i++)
		free(j->pv[i].raw);
	free(j->pv);
	free(j->pix);
	j->pv = NULL;
	j->pix = NULL;
	j->npv = j->pvcap = j->pixcap = 0;
}

static int
import_sample(void *arg, const char *name, const struct label *lbls,
    size_t n, double v, int has_ts, int64_t ts)
{
	struct import_job	*j = arg;
	const char		*raw;
	size_t			 len;

	if (batch_add(j->batch, name, lbls, n, has_ts ? ts : j->now, v) == -1)
		return 1;
	if ((raw = textparse_raw(j->tp, &len)) != NULL) {
		batch_ref_set(j->batch, raw, len);
		pred_add(j, raw, len);
	}
	return 0;
}

/*
 * The next lines of a series already in the batch: its labels as parsed
 * and checked the first time.
 */
static void *
import_series_ref(void *arg, const char *raw, size_t len)
{
	struct import_job	*j = arg;
	struct import_pred	*p;
	size_t			 i;

	if (j->npv > 0 && j->misses <= j->hits / 8 + 64) {
		if (j->cur >= j->npv)
			j->cur = 0;
		p = &j->pv[j->cur];
		if (p->len == len && memcmp(p->raw, raw, len) == 0) {
			j->cur++;
			j->hits++;
			return &p->ref;
		}
	}
	j->ref.labels = batch_ref(j->batch, raw, len, &j->ref.n);
	/* A new series is no wrong guess: its line is parsed in full. */
	if (j->ref.labels == NULL)
		return NULL;
	j->misses++;
	/* Guess on from this series. */
	if ((i = pred_find(j, j->ref.labels)) != 0)
		j->cur = i;
	return &j->ref;
}

static int
import_sample_ref(void *arg, void *ref, double v, int has_ts, int64_t ts)
{
	struct import_job	*j = arg;
	struct import_ref	*r = ref;

	batch_add_ref(j->batch, r->labels, r->n, has_ts ? ts : j->now, v);
	return 0;
}

static void
import_run(void *arg)
{
	struct import_job *j = arg;

	j->rc = store_append_batch_sync(j->as->store, j->batch, &j->stats,
	    j->err, sizeof(j->err));
}

/*
 * Free a finished import.  malloc keeps what a large one freed (its body,
 * its parsed batch, the pages of the store's writes) for reuse: without a
 * trim the daemon would keep the peak of its largest import for good.
 * Not at once, though: the next body of a backfill would fault all those
 * pages in again.
 */
static void
import_job_free(struct import_job *j)
{
	if (j->big)
		memtrim_note(j->as->memtrim);
	batch_free(j->batch);
	free(j);
}

static void
import_done(void *arg)
{
	struct import_job	*j = arg;
	struct api_store	*as = j->as;
	char			 num[32];

	if (j->rc == -1) {
		count_code(as, 500);
		httpd_reply_error(j->req, 500, j->err);
	} else {
		uint64_t dropped = j->stats.out_of_order + j->stats.duplicate +
		    j->stats.too_old + j->stats.series_limit + j->stats.invalid +
		    j->stats.write_error;

		snprintf(num, sizeof(num), "%" PRIu64, j->stats.appended);
		httpd_add_header(j->req, "X-Samples-Stored", num);
		snprintf(num, sizeof(num), "%" PRIu64, dropped);
		httpd_add_header(j->req, "X-Samples-Dropped", num);
		count_code(as, 204);
		httpd_reply(j->req, 204, NULL, NULL, 0);
	}
	import_job_free(j);
}

/* extra_label=name=value, any number of them. */
static int
import_extra_labels(struct httpd_req *req, struct batch *b, char *err,
    size_t errlen)
{
	const char	*v;
	size_t		 it = 0;

	while ((v = httpd_param_next(req, "extra_label", &it)) != NULL) {
		const char	*eq = strchr(v, '=');
		char		*name;

		if (eq == NULL || eq == v) {
			snprintf(err, errlen, "extra_label \"%s\" is not "
			    "name=value", v);
			return -1;
		}
		name = xstrndup(v, (size_t)(eq - v));
		if (!label_name_valid(name) || strcmp(name, "__name__") == 0) {
			snprintf(err, errlen, "extra_label \"%s\": invalid "
			    "label name", v);
			free(name);
			return -1;
		}
		batch_set_label(b, name, eq + 1, 0);
		free(name);
	}
	return 0;
}

static void
api_import(struct httpd_req *req, void *arg)
{
	struct api_store	*as = arg;
	struct import_job	*j = xcalloc(1, sizeof(*j));
	struct textparse_cb	 cb = { .sample = import_sample,
	    .series_ref = import_series_ref, .sample_ref = import_sample_ref };
	struct textparse	*tp;
	struct timespec		 ts;
	const char		*body;
	size_t			 len, pos, total;
	char			 err[256];
	int			 rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	j->as = as;
	j->req = req;
	j->now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	j->batch = batch_new();
	tp = textparse_new(NULL, &cb, j);
	j->tp = tp;
	textparse_begin(tp, TEXTPARSE_PROM);
	for (rc = 0, pos = 0, total = 0; rc == 0 &&
	    (body = httpd_body_next(req, &pos, &len)) != NULL; total += len)
		rc = textparse_feed(tp, body, len, err, sizeof(err));
	if (rc == 0)
		rc = textparse_finish(tp, err, sizeof(err));
	j->big = total >= IMPORT_TRIM;
	httpd_body_release(req);
	if (rc == TEXTPARSE_EABORT)
		snprintf(err, sizeof(err), "line %" PRIu64 ": invalid metric "
		    "or label name", textparse_lineno(tp));
	as->import_samples += textparse_stats(tp)->samples;
	textparse_free(tp);
	j->tp = NULL;
	pred_free(j);
	if (rc == 0)
		rc = import_extra_labels(req, j->batch, err, sizeof(err));
	if (rc != 0) {
		/* Nothing of a bad body is stored: all or none. */
		count_code(as, 400);
		httpd_reply_error(req, 400, err);
		import_job_free(j);
		return;
	}
	if (worker_submit(as->worker, import_run, import_done, j) == -1) {
		count_code(as, 503);
		httpd_reply_error(req, 503, "too many imports in progress; "
		    "retry later");
		import_job_free(j);
	}
}

/* Parse match[] as a PromQL series selector into store matchers. */
static int
selector_matchers(const char *text, struct q_expr **exprp,
    struct store_matcher **out, size_t *n, char *err, size_t errlen)
{
	struct q_error	 qerr;
	struct q_expr	*e;
	size_t		 i;

	if ((e = q_parse(text, &qerr)) == NULL) {
		struct buf b = BUF_INIT;

		q_error_format(&qerr, text, strlen(text), &b);
		snprintf(err, errlen, "invalid parameter \"match[]\": %s",
		    b.data != NULL ? b.data : qerr.msg);
		buf_free(&b);
		return -1;
	}
	if (e->kind != Q_VECTOR_SELECTOR) {
		snprintf(err, errlen, "match[] \"%s\" is not a series selector",
		    text);
		q_expr_free(e);
		return -1;
	}
	*out = xcalloc(e->vs.nmatchers, sizeof(**out));
	for (i = 0; i < e->vs.nmatchers; i++) {
		const struct q_matcher *m = &e->vs.matchers[i];

		(*out)[i].name = m->name;
		(*out)[i].value = m->value;
		switch (m->type) {
		case Q_MATCH_EQUAL:	(*out)[i].op = STORE_MATCH_EQ; break;
		case Q_MATCH_NOT_EQUAL:	(*out)[i].op = STORE_MATCH_NE; break;
		case Q_MATCH_REGEX:	(*out)[i].op = STORE_MATCH_RE; break;
		default:		(*out)[i].op = STORE_MATCH_NRE; break;
		}
	}
	*n = e->vs.nmatchers;
	*exprp = e;
	return 0;
}

static void
json_string_to(struct buf *b, const char *s)
{
	const unsigned char *p;

	buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)*p);
		} else if (*p < 0x20)
			buf_printf(b, "\\u%04x", *p);
		else
			buf_addc(b, (char)*p);
	}
	buf_addc(b, '"');
}

static int
export_series(struct store *st, const struct store_set *set, size_t i,
    int64_t t0, int64_t t1, struct buf *out, char *err, size_t errlen)
{
	const struct label	*l;
	struct store_iter	*it;
	struct buf		 vals = BUF_INIT, times = BUF_INIT;
	size_t			 nl, k, npoints = 0;
	int64_t			 t;
	double			 v;
	int			 rc;

	it = store_iter_new(st, store_set_id(set, i), t0, t1, STORE_TIER_RAW);
	while ((rc = store_iter_next(it, &t, &v)) == 1) {
		if (npoints++ > 0) {
			buf_addc(&vals, ',');
			buf_addc(&times, ',');
		}
		/* JSON has no NaN or Inf: VictoriaMetrics writes them bare. */
		buf_add_double_fixed(&vals, v);
		buf_printf(&times, "%" PRId64, t);
	}
	if (rc == -1) {
		snprintf(err, errlen, "%s", store_iter_error(it));
		store_iter_free(it);
		buf_free(&vals);
		buf_free(&times);
		return -1;
	}
	store_iter_free(it);
	if (npoints > 0) {
		l = store_set_labels(set, i, &nl);
		buf_adds(out, "{\"metric\":{");
		for (k = 0; k < nl; k++) {
			if (k > 0)
				buf_addc(out, ',');
			json_string_to(out, l[k].name);
			buf_addc(out, ':');
			json_string_to(out, l[k].value);
		}
		buf_adds(out, "},\"values\":[");
		buf_add(out, vals.data, vals.len);
		buf_adds(out, "],\"timestamps\":[");
		buf_add(out, times.data, times.len);
		buf_adds(out, "]}\n");
	}
	buf_free(&vals);
	buf_free(&times);
	return 0;
}

static void
api_export(struct httpd_req *req, void *arg)
{
	struct api_store	*as = arg;
	struct buf		 out = BUF_INIT;
	const char		*m, *s;
	size_t			 it = 0;
	int64_t			 t0 = INT64_MIN, t1 = INT64_MAX;
	char			 err[512];

	if ((s = httpd_param(req, "start")) != NULL &&
	    timeparse_time(s, &t0, err, sizeof(err)) == -1)
		goto bad;
	if ((s = httpd_param(req, "end")) != NULL &&
	    timeparse_time(s, &t1, err, sizeof(err)) == -1)
		goto bad;
	if (httpd_param(req, "match[]") == NULL) {
		snprintf(err, sizeof(err), "missing match[] parameter");
		goto bad;
	}
	while ((m = httpd_param_next(req, "match[]", &it)) != NULL) {
		struct store_matcher	*sm;
		struct store_set	*set;
		struct q_expr		*e;
		size_t			 n, i;

		if (selector_matchers(m, &e, &sm, &n, err, sizeof(err)) == -1)
			goto bad;
		if (store_select(as->store, sm, n, t0, t1, STORE_TIER_RAW, &set,
		    err, sizeof(err)) == -1) {
			free(sm);
			q_expr_free(e);
			goto bad;
		}
		for (i = 0; i < store_set_len(set); i++) {
			if (export_series(as->store, set, i, t0, t1, &out, err,
			    sizeof(err)) == -1) {
				store_set_free(set);
				free(sm);
				q_expr_free(e);
				buf_free(&out);
				httpd_reply_error(req, 500, err);
				return;
			}
		}
		store_set_free(set);
		free(sm);
		q_expr_free(e);
	}
	httpd_reply_buf(req, 200, "application/stream+json", &out);
	buf_free(&out);
	return;
bad:
	buf_free(&out);
	httpd_reply_error(req, 400, err);
}

struct api_store *
api_store_new(struct httpd *httpd, struct store *store, struct worker *w,
    struct memtrim *mt)
{
	struct api_store *as = xcalloc(1, sizeof(*as));

	as->httpd = httpd;
	as->memtrim = mt;
	as->store = store;
	as->worker = w;
	httpd_route(httpd, "/api/v1/import/prometheus", HTTPD_POST |
	    HTTPD_RAW_BODY, api_import, as);
	httpd_route(httpd, "/api/v1/export", HTTPD_GET | HTTPD_POST,
	    api_export, as);
	return as;
}

void
api_store_free(struct api_store *as)
{
	free(as);
}

static void
metric1(struct buf *b, int which, double v)
{
	expo_metric1(b, &api_store_metrics[which], v);
}

void
api_store_write_metrics(struct api_store *as, struct buf *b)
{
	static const char *const codes[] = {
		"204", "400", "413", "500", "503", "other",
	};
	const struct metric_def	*m;
	struct label		 l[2];
	size_t			 i;

	store_metrics_write(as->store, b);
	m = &api_store_metrics[M_IMPORT_REQ];
	expo_help_type(b, m->name, m->type, m->help);
	for (i = 0; i < 6; i++) {
		l[0].name = "__name__";
		l[0].value = m->name;
		l[1].name = "code";
		l[1].value = codes[i];
		expo_sample(b, l, 2, (double)as->import_codes[i], 0);
	}
	metric1(b, M_IMPORT_SAMPLES, (double)as->import_samples);
	metric1(b, M_HEAP_TRIMS, (double)memtrim_count(as->memtrim));
}
