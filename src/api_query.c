/*
 * api_query: the Prometheus query API over the PromQL engine (see
 * api_query.h).
 *
 * A handler checks the parameters on the event loop (bad ones are
 * answered at once, with Prometheus's messages), then hands a job to the
 * worker thread, which evaluates and writes the whole JSON answer; the
 * completion on the loop only sends it.
 *
 * Small queries skip the worker.  Its two thread wakeups (there and back)
 * cost a query of a tenth of a millisecond a third of its time, and one
 * of half a millisecond a tenth (more when the machine has been idle and
 * its CPUs are slow to wake), so a query whose last answer
 * (same text, same length of range, same step) took the worker at most
 * SMALL_US is evaluated on the loop the next time.  The loop must never
 * wait for an expensive one, and data may have grown since: the loop's
 * engine has hard limits (series per selector, samples, time) that stop
 * any query at a bounded cost, and one that hits them, or fails in any
 * other way, is handed to the worker as usual, which answers it with the
 * ordinary limits.  A query that took the loop more than SMALL_US goes
 * back to the worker for good (until it is small again there).  A large
 * answer to compress is compressed on the worker.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_query.h"
#include "api_store.h"
#include "collectors/collector.h"
#include "collectors/target.h"
#include "buf.h"
#include "http/server.h"
#include "monotime.h"
#include "query/engine.h"
#include "query/gofmt.h"
#include "query/parser.h"
#include "query/quote.h"
#include "selfmon.h"
#include "sample.h"
#include "storage/store.h"
#include "timeparse.h"
#include "worker.h"
#include "xmalloc.h"

/* For safety, as Prometheus: at most this many points per series. */
#define MAX_POINTS	11000

/* Prometheus's minTime and maxTime as its API prints them. */
#define MIN_TIME_TEXT	"-292273086-05-16T16:47:06Z"
#define MAX_TIME_TEXT	"292277025-08-18T07:12:54.999999999Z"

/*
 * Small queries on the loop (see above).  SMALL_US is the time a query
 * took to be small; the loop's engine stops a query past INLINE_SERIES
 * series in a selector, INLINE_SAMPLES samples held or INLINE_MS of time,
 * which bounds what a query that grew costs the loop before it goes to
 * the worker.  The memo has MEMO_SLOTS entries, a query's hash picking
 * its slot: a collision only sends a query to the worker.
 */
#define SMALL_US	500
#define INLINE_SERIES	500
#define INLINE_SAMPLES	50000
#define INLINE_MS	2
#define MEMO_SLOTS	256
/* A larger answer to compress goes to the worker for that (zlib's level
 * 1 packs some 150 MB/s of JSON: 32 KB is about 0.2 ms). */
#define INLINE_GZIP_MAX	(32 * 1024)

struct api_query {
	struct httpd	*httpd;
	struct store	*store;
	struct worker	*worker;
	struct engine	*engine;
	struct engine	*inline_engine;		/* bounded, on the loop */
	uint64_t	 small[MEMO_SLOTS];	/* keys of small queries; the
						   loop's only */
};

enum job_kind {
	JOB_QUERY,
	JOB_SERIES,
	JOB_LABELS,
	JOB_VALUES,
};

struct job {
	struct api_query	*aq;
	struct httpd_req	*req;
	enum job_kind		 kind;
	char			*query;
	char			*label;
	char			**match;
	size_t			 nmatch;
	int64_t			 start, end, step, timeout;
	int			 code;
	int			 gzip;		/* wanted; then done */
	struct buf		 body;
	int64_t			 cost_us;	/* of the query's evaluation */
};

void
api_json_string(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	buf_addc(b, '"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		case '<':
		case '>':
		case '&':
			buf_adds(b, "\\u00");
			buf_addc(b, hex[*p >> 4]);
			buf_addc(b, hex[*p & 15]);
			break;
		default:
			if (*p < 0x20) {
				buf_adds(b, "\\u00");
				buf_addc(b, hex[*p >> 4]);
				buf_addc(b, hex[*p & 15]);
			} else if (*p == 0xe2 && p[1] == 0x80 &&
			    (p[2] == 0xa8 || p[2] == 0xa9)) {
				/* U+2028 and U+2029, as Go escapes them. */
				buf_adds(b, p[2] == 0xa8 ? "\\u2028" :
				    "\\u2029");
				p += 2;
			} else
				buf_addc(b, (char)*p);
		}
	}
	buf_addc(b, '"');
}

/*
 * jsonutil.MarshalTimestamp: seconds, and milliseconds when not zero,
 * into DST (at least 24 bytes); returns the length.
 */
static size_t
json_time_raw(char *dst, int64_t t)
{
	char		*p = dst;
	uint64_t	 u, frac;

	if (t < 0)
		*p++ = '-';
	u = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
	frac = u % 1000;
	p += gofmt_uint(p, u / 1000);
	if (frac != 0) {
		p[0] = '.';
		p[1] = (char)('0' + frac / 100);
		p[2] = (char)('0' + frac / 10 % 10);
		p[3] = (char)('0' + frac % 10);
		p += 4;
	}
	return (size_t)(p - dst);
}

static void
json_time(struct buf *b, int64_t t)
{
	buf_reserve(b, 24);
	b->len += json_time_raw(b->data + b->len, t);
	b->data[b->len] = '\0';
}

/*
 * The text of the timestamps of a range query's points: its series mostly
 * share one grid of steps, point k of one at the same time as point k of
 * the next, so the memo keeps the text of each position's last time and
 * a series with gaps only misses.
 */
struct time_memo {
	int64_t		t;
	unsigned char	len;
	char		text[23];
};

static size_t
memo_time(struct time_memo *m, char *dst, int64_t t)
{
	if (m->len == 0 || m->t != t) {
		m->t = t;
		m->len = (unsigned char)json_time_raw(m->text, t);
	}
	memcpy(dst, m->text, sizeof(m->text));
	return m->len;
}

/*
 * [t,"v"] and a leading comma unless FIRST: the hot loop of a range
 * query's answer, written in place with one reservation for the usual
 * case.  MEMO (the memo of this point's position) may be NULL.
 */
static void
json_point(struct buf *b, struct time_memo *memo, int first, int64_t t,
    double v)
{
	char	*p;
	size_t	 n;

	buf_reserve(b, 32 + GOFMT_FAST_MAX);
	p = b->data + b->len;
	if (!first)
		*p++ = ',';
	*p++ = '[';
	p += memo != NULL ? memo_time(memo, p, t) : json_time_raw(p, t);
	*p++ = ',';
	*p++ = '"';
	if ((n = gofmt_float_fast(p, v)) > 0) {
		p += n;
		*p++ = '"';
		*p++ = ']';
		b->len = (size_t)(p - b->data);
		b->data[b->len] = '\0';
		return;
	}
	b->len = (size_t)(p - b->data);
	gofmt_float(b, v);
	buf_add(b, "\"]", 2);
}

static void
json_labels(struct buf *b, const struct label *l, size_t n)
{
	size_t i;

	buf_addc(b, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		api_json_string(b, l[i].name);
		buf_addc(b, ':');
		api_json_string(b, l[i].value);
	}
	buf_addc(b, '}');
}

void
api_query_write_result(const struct engine_result *res, struct buf *b)
{
	struct time_memo	*memo;
	size_t			 i, k, most;

	switch (res->type) {
	case Q_TYPE_SCALAR:
		buf_adds(b, "{\"resultType\":\"scalar\",\"result\":");
		json_point(b, NULL, 1, res->t, res->scalar);
		buf_addc(b, '}');
		return;
	case Q_TYPE_STRING:
		buf_adds(b, "{\"resultType\":\"string\",\"result\":[");
		json_time(b, res->t);
		buf_addc(b, ',');
		api_json_string(b, res->string);
		buf_adds(b, "]}");
		return;
	case Q_TYPE_VECTOR:
		buf_adds(b, "{\"resultType\":\"vector\",\"result\":[");
		for (i = 0; i < res->nseries; i++) {
			const struct engine_series *s = &res->series[i];

			if (i > 0)
				buf_addc(b, ',');
			buf_adds(b, "{\"metric\":");
			json_labels(b, s->labels, s->nlabels);
			buf_adds(b, ",\"value\":");
			json_point(b, NULL, 1, s->t[0], s->v[0]);
			buf_addc(b, '}');
		}
		buf_adds(b, "]}");
		return;
	default:
		/* Room for the usual point, so the answer grows once. */
		for (i = 0, k = 0, most = 1; i < res->nseries; i++) {
			k += res->series[i].n;
			if (res->series[i].n > most)
				most = res->series[i].n;
		}
		buf_reserve(b, k * 32);
		memo = xcalloc(most, sizeof(*memo));
		buf_adds(b, "{\"resultType\":\"matrix\",\"result\":[");
		for (i = 0; i < res->nseries; i++) {
			const struct engine_series *s = &res->series[i];

			if (i > 0)
				buf_addc(b, ',');
			buf_adds(b, "{\"metric\":");
			json_labels(b, s->labels, s->nlabels);
			buf_adds(b, ",\"values\":[");
			for (k = 0; k < s->n; k++)
				json_point(b, memo + k, k == 0, s->t[k],
				    s->v[k]);
			buf_adds(b, "]}");
		}
		buf_adds(b, "]}");
		free(memo);
		return;
	}
}

static void
json_error(struct buf *b, const char *type, const char *msg)
{
	buf_reset(b);
	buf_adds(b, "{\"status\":\"error\",\"errorType\":\"");
	buf_adds(b, type);
	buf_adds(b, "\",\"error\":");
	api_json_string(b, msg);
	buf_addc(b, '}');
}

static void
reply_error(struct httpd_req *req, int code, const char *type,
    const char *msg)
{
	struct buf b = BUF_INIT;

	json_error(&b, type, msg);
	httpd_reply_buf(req, code, HTTPD_JSON, &b);
	buf_free(&b);
}

static void
job_free(struct job *j)
{
	size_t i;

	free(j->query);
	free(j->label);
	for (i = 0; i < j->nmatch; i++)
		free(j->match[i]);
	free(j->match);
	buf_free(&j->body);
	free(j);
}

/*
 * Evaluate the job's query on ENG and write the answer.  -1 if it failed
 * and QUIET: then nothing is written (the loop's attempt).
 */
static int
run_query(struct job *j, struct engine *eng, int64_t timeout, int quiet)
{
	struct engine_result	*res;
	struct engine_error	 err;
	int64_t			 t0 = monotime_us();

	if (engine_query(eng, j->query, strlen(j->query), j->start, j->end,
	    j->step, timeout, &res, &err) == -1) {
		j->cost_us = monotime_us() - t0;
		if (quiet)
			return -1;
		switch (err.kind) {
		case ENGINE_BAD_DATA: {
			char msg[1100];

			/* Prometheus 2.42 names the parameter for instant
			   queries only. */
			if (j->step == 0)
				snprintf(msg, sizeof(msg), "invalid parameter "
				    "\"query\": %s", err.msg);
			else
				snprintf(msg, sizeof(msg), "%s", err.msg);
			j->code = 400;
			json_error(&j->body, "bad_data", msg);
			break;
		}
		case ENGINE_TIMEOUT:
			j->code = 503;
			json_error(&j->body, "timeout", err.msg);
			break;
		case ENGINE_EXECUTION:
			j->code = 422;
			json_error(&j->body, "execution", err.msg);
			break;
		default:
			j->code = 500;
			json_error(&j->body, "internal", err.msg);
			break;
		}
		return -1;
	}
	j->code = 200;
	buf_adds(&j->body, "{\"status\":\"success\",\"data\":");
	api_query_write_result(res, &j->body);
	buf_addc(&j->body, '}');
	engine_result_free(res);
	j->cost_us = monotime_us() - t0;
	return 0;
}

/* The store matchers of a series selector; the tree owns the strings. */
static int
selector_parse(const char *text, struct q_expr **ep,
    struct store_matcher **mp, size_t *np, struct buf *err)
{
	struct q_error	 qerr;
	struct q_expr	*e;
	size_t		 i;

	if ((e = q_parse(text, &qerr)) == NULL) {
		q_error_format(&qerr, text, strlen(text), err);
		return -1;
	}
	if (e->kind != Q_VECTOR_SELECTOR || e->vs.offset != 0 ||
	    e->vs.at.kind != Q_AT_NONE) {
		buf_printf(err, "1:1: parse error: expected a series selector, "
		    "got %s", text);
		q_expr_free(e);
		return -1;
	}
	*mp = xcalloc(e->vs.nmatchers + 1, sizeof(**mp));
	for (i = 0; i < e->vs.nmatchers; i++) {
		const struct q_matcher *m = &e->vs.matchers[i];

		(*mp)[i].name = m->name;
		(*mp)[i].value = m->value;
		switch (m->type) {
		case Q_MATCH_EQUAL:
			(*mp)[i].op = STORE_MATCH_EQ;
			break;
		case Q_MATCH_NOT_EQUAL:
			(*mp)[i].op = STORE_MATCH_NE;
			break;
		case Q_MATCH_REGEX:
			(*mp)[i].op = STORE_MATCH_RE;
			break;
		default:
			(*mp)[i].op = STORE_MATCH_NRE;
			break;
		}
	}
	*np = e->vs.nmatchers;
	*ep = e;
	return 0;
}

struct lsref {
	const struct label	*l;
	size_t			 n;
	size_t			 set;
};

static int
lsref_cmp(const void *a, const void *b)
{
	const struct lsref	*x = a, *y = b;
	size_t			 i;
	int			 c;

	for (i = 0; i < x->n && i < y->n; i++) {
		if ((c = strcmp(x->l[i].name, y->l[i].name)) != 0)
			return c;
		if ((c = strcmp(x->l[i].value, y->l[i].value)) != 0)
			return c;
	}
	return x->n < y->n ? -1 : x->n > y->n;
}

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Store label lists are __name__-first; Prometheus sorts by bytes. */
static void
sort_labels(struct label *l, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(l[j - 1].name, l[j].name) > 0;
		    j--) {
			struct label t = l[j];

			l[j] = l[j - 1];
			l[j - 1] = t;
		}
}

static void
run_series(struct job *j)
{
	struct store_set	**sets;
	struct lsref		*refs = NULL;
	struct buf		 err = BUF_INIT;
	size_t			 i, k, nrefs = 0, cap = 0, out = 0;
	char			 msg[512];

	sets = xcalloc(j->nmatch, sizeof(*sets));
	for (i = 0; i < j->nmatch; i++) {
		struct store_matcher	*sm;
		struct q_expr		*e;
		size_t			 n;

		if (selector_parse(j->match[i], &e, &sm, &n, &err) == -1) {
			char m2[600];

			snprintf(m2, sizeof(m2), "invalid parameter "
			    "\"match[]\": %s", err.data);
			j->code = 400;
			json_error(&j->body, "bad_data", m2);
			goto out;
		}
		if (store_select(j->aq->store, sm, n, j->start, j->end,
		    STORE_TIER_ALL, &sets[i], msg, sizeof(msg)) == -1) {
			free(sm);
			q_expr_free(e);
			j->code = 422;
			json_error(&j->body, "execution", msg);
			goto out;
		}
		free(sm);
		q_expr_free(e);
		for (k = 0; k < store_set_len(sets[i]); k++) {
			if (nrefs == cap) {
				cap = cap ? cap * 2 : 64;
				refs = xreallocarray(refs, cap, sizeof(*refs));
			}
			refs[nrefs].l = store_set_labels(sets[i], k,
			    &refs[nrefs].n);
			refs[nrefs++].set = i;
		}
	}
	/* Sorted by Prometheus's label order, duplicates once. */
	for (i = 0; i < nrefs; i++) {
		struct label *copy = xreallocarray(NULL, refs[i].n + 1,
		    sizeof(*copy));

		memcpy(copy, refs[i].l, refs[i].n * sizeof(*copy));
		sort_labels(copy, refs[i].n);
		refs[i].l = copy;
	}
	if (nrefs > 1)
		qsort(refs, nrefs, sizeof(*refs), lsref_cmp);
	j->code = 200;
	buf_adds(&j->body, "{\"status\":\"success\",\"data\":[");
	for (i = 0; i < nrefs; i++) {
		if (i > 0 && lsref_cmp(&refs[i - 1], &refs[i]) == 0)
			continue;
		if (out++ > 0)
			buf_addc(&j->body, ',');
		json_labels(&j->body, refs[i].l, refs[i].n);
	}
	buf_adds(&j->body, "]}");
	for (i = 0; i < nrefs; i++)
		free((void *)refs[i].l);
out:
	free(refs);
	for (i = 0; i < j->nmatch; i++)
		store_set_free(sets[i]);
	free(sets);
	buf_free(&err);
}

/* Label names (JOB_LABELS) or one label's values (JOB_VALUES). */
static void
run_labels(struct job *j)
{
	struct store_strings	 all = { NULL, 0 };
	struct buf		 err = BUF_INIT;
	char			 msg[512];
	size_t			 i, k, n = 0;
	int			 rc;

	if (j->nmatch == 0) {
		rc = j->kind == JOB_LABELS ?
		    store_label_names(j->aq->store, NULL, 0, j->start, j->end,
		    &all, msg, sizeof(msg)) :
		    store_label_values(j->aq->store, j->label, NULL, 0,
		    j->start, j->end, &all, msg, sizeof(msg));
		if (rc == -1) {
			j->code = 422;
			json_error(&j->body, "execution", msg);
			return;
		}
	} else {
		for (i = 0; i < j->nmatch; i++) {
			struct store_strings	 one;
			struct store_matcher	*sm;
			struct q_expr		*e;
			size_t			 nm;

			if (selector_parse(j->match[i], &e, &sm, &nm,
			    &err) == -1) {
				char m2[600];

				snprintf(m2, sizeof(m2), "invalid parameter "
				    "\"match[]\": %s", err.data);
				j->code = 400;
				json_error(&j->body, "bad_data", m2);
				goto out;
			}
			rc = j->kind == JOB_LABELS ?
			    store_label_names(j->aq->store, sm, nm, j->start,
			    j->end, &one, msg, sizeof(msg)) :
			    store_label_values(j->aq->store, j->label, sm, nm,
			    j->start, j->end, &one, msg, sizeof(msg));
			free(sm);
			q_expr_free(e);
			if (rc == -1) {
				j->code = 422;
				json_error(&j->body, "execution", msg);
				goto out;
			}
			all.v = xreallocarray(all.v, all.n + one.n + 1,
			    sizeof(char *));
			for (k = 0; k < one.n; k++) {
				all.v[all.n++] = one.v[k];
				one.v[k] = NULL;
			}
			one.n = 0;
			store_strings_free(&one);
		}
	}
	if (all.n > 1)
		qsort(all.v, all.n, sizeof(char *), strp_cmp);
	j->code = 200;
	buf_adds(&j->body, "{\"status\":\"success\",\"data\":[");
	for (i = 0; i < all.n; i++) {
		if (i > 0 && strcmp(all.v[i - 1], all.v[i]) == 0)
			continue;
		if (n++ > 0)
			buf_addc(&j->body, ',');
		api_json_string(&j->body, all.v[i]);
	}
	buf_adds(&j->body, "]}");
out:
	store_strings_free(&all);
	buf_free(&err);
}

static void
job_run(void *arg)
{
	struct job *j = arg;

	switch (j->kind) {
	case JOB_QUERY:
		run_query(j, j->aq->engine, j->timeout, 0);
		break;
	case JOB_SERIES:
		run_series(j);
		break;
	default:
		run_labels(j);
		break;
	}
	/* A large answer is compressed here rather than on the loop. */
	if (j->gzip)
		j->gzip = httpd_gzip(&j->body);
}

/* An answer made on the loop, compressed on the worker. */
static void
job_gzip(void *arg)
{
	struct job *j = arg;

	j->gzip = httpd_gzip(&j->body);
}

/* The memo's slot and key of a query: its text, length of range, step. */
static uint64_t *
memo_slot(struct api_query *aq, const struct job *j, uint64_t *key)
{
	const unsigned char	*p;
	uint64_t		 h = 14695981039346656037ULL;
	uint64_t		 span = (uint64_t)(j->end - j->start);

	for (p = (const unsigned char *)j->query; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ span) * 1099511628211ULL;
	h = (h ^ (uint64_t)j->step) * 1099511628211ULL;
	*key = h != 0 ? h : 1;		/* 0 marks an empty slot */
	return &aq->small[h % MEMO_SLOTS];
}

/* Remember whether the job's query was small, after it ran. */
static void
memo_learn(struct job *j, int small)
{
	uint64_t *slot, key;

	slot = memo_slot(j->aq, j, &key);
	if (small)
		*slot = key;
	else if (*slot == key)
		*slot = 0;
}

static void
job_done(void *arg)
{
	struct job *j = arg;

	if (j->kind == JOB_QUERY)
		memo_learn(j, j->code == 200 && j->cost_us <= SMALL_US);
	if (j->gzip)
		httpd_reply_gzipped(j->req, j->code, HTTPD_JSON, &j->body);
	else
		httpd_reply_buf(j->req, j->code, HTTPD_JSON, &j->body);
	job_free(j);
}

/*
 * A query that was small last time, answered on the loop with the bounded
 * engine.  -1 if it was not (nothing sent, the memo forgets it).
 */
static int
job_inline(struct job *j)
{
	int64_t	 timeout = INLINE_MS;
	uint64_t key;

	/* A full queue answers 503 to every query, small ones too. */
	if (j->kind != JOB_QUERY || *memo_slot(j->aq, j, &key) != key ||
	    worker_full(j->aq->worker))
		return -1;
	if (j->timeout > 0 && j->timeout < timeout)
		timeout = j->timeout;
	if (run_query(j, j->aq->inline_engine, timeout, 1) == -1) {
		memo_learn(j, 0);
		return -1;
	}
	if (j->gzip && j->body.len > INLINE_GZIP_MAX &&
	    worker_submit(j->aq->worker, job_gzip, job_done, j) == 0)
		return 0;
	if (j->gzip)
		j->gzip = httpd_gzip(&j->body);
	job_done(j);
	return 0;
}

static void
job_submit(struct job *j)
{
	j->gzip = httpd_gzip_wanted(j->req);
	if (job_inline(j) == 0)
		return;
	if (worker_submit(j->aq->worker, job_run, job_done, j) == -1) {
		reply_error(j->req, 503, "unavailable", "too many queries in "
		    "progress; retry later");
		job_free(j);
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A time parameter: DEF when absent, 400 answered on error. */
static int
param_time(struct httpd_req *req, const char *name, int64_t def, int must,
    int64_t *out)
{
	const char	*s = httpd_param(req, name);
	char		 err[256], msg[400];

	if (s == NULL || (*s == '\0' && !must)) {
		if (!must) {
			*out = def;
			return 0;
		}
		s = "";
	}
	if (strcmp(s, MIN_TIME_TEXT) == 0) {
		*out = INT64_MIN / 2;
		return 0;
	}
	if (strcmp(s, MAX_TIME_TEXT) == 0) {
		*out = INT64_MAX / 2;
		return 0;
	}
	if (timeparse_time(s, out, err, sizeof(err)) == -1) {
		/* Optional times go through Prometheus's parseTimeParam,
		   which says more. */
		snprintf(msg, sizeof(msg), "invalid parameter \"%s\": %s%s%s"
		    "cannot parse \"%s\" to a valid timestamp", name,
		    must ? "" : "Invalid time value for '", must ? "" : name,
		    must ? "" : "': ", s);
		reply_error(req, 400, "bad_data", msg);
		return -1;
	}
	return 0;
}

/* A duration parameter; "step" reports non-positive values apart. */
static int
param_duration(struct httpd_req *req, const char *name, int64_t *out)
{
	const char	*s = httpd_param(req, name);
	char		 err[256], msg[400];

	if (s == NULL)
		s = "";
	if (timeparse_duration(s, out, err, sizeof(err)) == 0)
		return 0;
	if (strncmp(err, "zero or negative", 16) == 0 ||
	    strstr(err, "overflows") != NULL)
		snprintf(msg, sizeof(msg), "invalid parameter \"%s\": %s",
		    name, err);
	else
		snprintf(msg, sizeof(msg), "invalid parameter \"%s\": cannot "
		    "parse \"%s\" to a valid duration", name, s);
	reply_error(req, 400, "bad_data", msg);
	return -1;
}

static struct job *
job_new(struct api_query *aq, struct httpd_req *req, enum job_kind kind)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->aq = aq;
	j->req = req;
	j->kind = kind;
	return j;
}

/* Instant (range == 0), range (1) or either (-1, /api/query). */
static void
handle_query(struct httpd_req *req, struct api_query *aq, int range)
{
	struct job	*j;
	const char	*q = httpd_param(req, "query");
	int64_t		 start, end, step = 0, timeout = 0;

	if (range == -1)
		range = httpd_param(req, "start") != NULL ||
		    httpd_param(req, "end") != NULL;
	if (!range) {
		if (param_time(req, "time", now_ms(), 0, &start) == -1)
			return;
		end = start;
	} else {
		if (param_time(req, "start", 0, 1, &start) == -1 ||
		    param_time(req, "end", 0, 1, &end) == -1)
			return;
		if (end < start) {
			reply_error(req, 400, "bad_data", "invalid parameter "
			    "\"end\": end timestamp must not be before start "
			    "time");
			return;
		}
		if (httpd_param(req, "step") == NULL &&
		    strcmp(httpd_path(req), "/api/query") == 0) {
			step = (end - start) / 250;
			if (step < 1000)
				step = 1000;
		} else if (param_duration(req, "step", &step) == -1)
			return;
		if ((end - start) / step > MAX_POINTS) {
			reply_error(req, 400, "bad_data", "exceeded maximum "
			    "resolution of 11,000 points per timeseries. Try "
			    "decreasing the query resolution (?step=XX)");
			return;
		}
	}
	if (httpd_param(req, "timeout") != NULL &&
	    param_duration(req, "timeout", &timeout) == -1)
		return;
	j = job_new(aq, req, JOB_QUERY);
	j->query = xstrdup(q != NULL ? q : "");
	j->start = start;
	j->end = end;
	j->step = range ? step : 0;
	j->timeout = timeout;
	job_submit(j);
}

static void
api_v1_query(struct httpd_req *req, void *arg)
{
	handle_query(req, arg, 0);
}

static void
api_v1_query_range(struct httpd_req *req, void *arg)
{
	handle_query(req, arg, 1);
}

static void
api_query_any(struct httpd_req *req, void *arg)
{
	handle_query(req, arg, -1);
}

static int
collect_matches(struct httpd_req *req, struct job *j)
{
	const char	*m;
	size_t		 it = 0;

	while ((m = httpd_param_next(req, "match[]", &it)) != NULL) {
		j->match = xreallocarray(j->match, j->nmatch + 1,
		    sizeof(char *));
		j->match[j->nmatch++] = xstrdup(m);
	}
	return (int)j->nmatch;
}

static struct job *
index_job(struct httpd_req *req, struct api_query *aq, enum job_kind kind)
{
	struct job	*j;
	int64_t		 start, end;

	if (param_time(req, "start", INT64_MIN / 2, 0, &start) == -1 ||
	    param_time(req, "end", INT64_MAX / 2, 0, &end) == -1)
		return NULL;
	j = job_new(aq, req, kind);
	j->start = start;
	j->end = end;
	collect_matches(req, j);
	return j;
}

static void
api_v1_series(struct httpd_req *req, void *arg)
{
	struct job *j;

	if (httpd_param(req, "match[]") == NULL) {
		reply_error(req, 400, "bad_data", "no match[] parameter "
		    "provided");
		return;
	}
	if ((j = index_job(req, arg, JOB_SERIES)) != NULL)
		job_submit(j);
}

static void
api_v1_labels(struct httpd_req *req, void *arg)
{
	struct job *j;

	if ((j = index_job(req, arg, JOB_LABELS)) != NULL)
		job_submit(j);
}

static void
api_v1_label_values(struct httpd_req *req, void *arg)
{
	const char	*rest = httpd_path_rest(req);
	const char	*slash = strchr(rest, '/');
	struct job	*j;
	char		*name;

	if (slash == NULL || strcmp(slash, "/values") != 0) {
		reply_error(req, 404, "not_found", "not found");
		return;
	}
	name = xstrndup(rest, (size_t)(slash - rest));
	if (!label_name_valid(name)) {
		struct buf msg = BUF_INIT;

		buf_adds(&msg, "invalid label name: ");
		q_quote(&msg, name, strlen(name));
		reply_error(req, 400, "bad_data", msg.data);
		buf_free(&msg);
		free(name);
		return;
	}
	if ((j = index_job(req, arg, JOB_VALUES)) == NULL) {
		free(name);
		return;
	}
	j->label = name;
	job_submit(j);
}

struct mentry {
	const struct metric_def	*m;
	size_t			 order;		/* collectors' entries first */
};

static int
mentry_cmp(const void *a, const void *b)
{
	const struct metric_def *x = ((const struct mentry *)a)->m;
	const struct metric_def *y = ((const struct mentry *)b)->m;
	int			 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if ((c = strcmp(x->help, y->help)) == 0)
		return 0;
	/* One name, two meanings (a process group's process_* and
	   monitord's own): the collectors' comes first, as dashboards
	   show the first. */
	return ((const struct mentry *)a)->order <
	    ((const struct mentry *)b)->order ? -1 : 1;
}

static void
add_defs(struct mentry **e, size_t *n, size_t *cap,
    const struct metric_def *m, const char *only)
{
	for (; m != NULL && m->name != NULL; m++) {
		if (only != NULL && strcmp(only, m->name) != 0)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 128;
			*e = xreallocarray(*e, *cap, sizeof(**e));
		}
		(*e)[*n].m = m;
		(*e)[*n].order = *n;
		(*n)++;
	}
}

/*
 * Every metric monitord itself produces, from the catalogues (the core's,
 * each collector kind's, the daemon's own), in Prometheus's metadata
 * shape: {"name":[{"type","help","unit"}]}, names sorted as Go sorts map
 * keys.  metric=NAME keeps one; limit=N at most N names.
 */
static void
api_v1_metadata(struct httpd_req *req, void *arg)
{
	const struct metric_def *const	 fixed[] = {
		collector_core_metrics, targets_metrics, httpd_metrics,
		api_store_metrics, store_metrics, selfmon_metrics,
	};
	struct mentry			*e = NULL;
	struct buf			 b = BUF_INIT;
	const char			*only = httpd_param(req, "metric");
	const char			*ls = httpd_param(req, "limit");
	size_t				 n = 0, cap = 0, i, names = 0;
	long				 limit = -1;
	char				*end;

	(void)arg;
	if (ls != NULL && *ls != '\0') {
		limit = strtol(ls, &end, 10);
		if (*end != '\0') {
			reply_error(req, 400, "bad_data", "limit must be a "
			    "number");
			return;
		}
	}
	for (i = 0; collector_kinds[i] != NULL; i++)
		add_defs(&e, &n, &cap, collector_kinds[i]->metrics, only);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		add_defs(&e, &n, &cap, fixed[i], only);
	if (n > 1)
		qsort(e, n, sizeof(*e), mentry_cmp);
	buf_adds(&b, "{\"status\":\"success\",\"data\":{");
	for (i = 0; i < n; i++) {
		const struct metric_def *m = e[i].m;
		int			 type = m->type;

		if (i > 0 && mentry_cmp(&e[i - 1], &e[i]) == 0)
			continue;
		if (i == 0 || strcmp(e[i - 1].m->name, m->name) != 0) {
			if (limit >= 0 && (long)names >= limit)
				break;
			if (names++ > 0)
				buf_adds(&b, "]");
			if (names > 1)
				buf_addc(&b, ',');
			api_json_string(&b, m->name);
			buf_adds(&b, ":[");
		} else
			buf_addc(&b, ',');
		buf_adds(&b, "{\"type\":\"");
		buf_adds(&b, type == METRIC_UNTYPED ? "unknown" :
		    metric_type_name(m->type));
		buf_adds(&b, "\",\"help\":");
		api_json_string(&b, m->help);
		buf_adds(&b, ",\"unit\":\"\"}");
	}
	if (names > 0)
		buf_addc(&b, ']');
	buf_adds(&b, "}}");
	free(e);
	httpd_reply_buf(req, 200, HTTPD_JSON, &b);
	buf_free(&b);
}

static void
api_v1_buildinfo(struct httpd_req *req, void *arg)
{
	struct buf b = BUF_INIT;

	(void)arg;
	/* The Prometheus API level we answer as, so that clients (Grafana)
	   pick the features they use with Prometheus 2.42. */
	buf_adds(&b, "{\"status\":\"success\",\"data\":{\"version\":\"2.42.0\","
	    "\"revision\":\"monitord-" PACKAGE_VERSION "\",\"branch\":\"\","
	    "\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}}");
	httpd_reply_buf(req, 200, HTTPD_JSON, &b);
	buf_free(&b);
}

/*
 * The store keeps no exemplars, so every valid request gets none; the
 * parameters are checked as Prometheus checks them, so that a client
 * (Grafana's exemplar toggle) sees the same answers and errors.
 */
static void
api_v1_query_exemplars(struct httpd_req *req, void *arg)
{
	const char	*q = httpd_param(req, "query");
	struct q_error	 qerr;
	struct q_expr	*e;
	struct buf	 b = BUF_INIT;
	int64_t		 start, end;

	(void)arg;
	if (param_time(req, "start", INT64_MIN / 2, 0, &start) == -1 ||
	    param_time(req, "end", INT64_MAX / 2, 0, &end) == -1)
		return;
	if (end < start) {
		reply_error(req, 400, "bad_data", "end timestamp must not be "
		    "before start timestamp");
		return;
	}
	if (q == NULL)
		q = "";
	if ((e = q_parse(q, &qerr)) == NULL) {
		q_error_format(&qerr, q, strlen(q), &b);
		reply_error(req, 400, "bad_data", b.data);
		buf_free(&b);
		return;
	}
	if (!q_expr_has_selector(e)) {
		/* Prometheus answers that with no content at all. */
		q_expr_free(e);
		httpd_reply(req, 204, NULL, NULL, 0);
		return;
	}
	q_expr_free(e);
	buf_adds(&b, "{\"status\":\"success\",\"data\":[]}");
	httpd_reply_buf(req, 200, HTTPD_JSON, &b);
	buf_free(&b);
}

struct api_query *
api_query_new(struct httpd *httpd, struct store *store, struct worker *w)
{
	struct api_query	*aq = xcalloc(1, sizeof(*aq));
	struct engine_opts	 eo;

	aq->httpd = httpd;
	aq->store = store;
	aq->worker = w;
	aq->engine = engine_new(store, NULL);
	eo = *engine_get_opts(aq->engine);
	eo.threads = 1;			/* no thread starts on the loop */
	eo.max_series = INLINE_SERIES;
	eo.max_samples = INLINE_SAMPLES;
	aq->inline_engine = engine_new(store, &eo);
	httpd_route(httpd, "/api/v1/query", HTTPD_GET | HTTPD_POST,
	    api_v1_query, aq);
	httpd_route(httpd, "/api/v1/query_range", HTTPD_GET | HTTPD_POST,
	    api_v1_query_range, aq);
	httpd_route(httpd, "/api/query", HTTPD_GET | HTTPD_POST,
	    api_query_any, aq);
	httpd_route(httpd, "/api/v1/series", HTTPD_GET | HTTPD_POST,
	    api_v1_series, aq);
	httpd_route(httpd, "/api/v1/labels", HTTPD_GET | HTTPD_POST,
	    api_v1_labels, aq);
	httpd_route(httpd, "/api/v1/label/*", HTTPD_GET,
	    api_v1_label_values, aq);
	httpd_route(httpd, "/api/v1/metadata", HTTPD_GET,
	    api_v1_metadata, aq);
	httpd_route(httpd, "/api/v1/status/buildinfo", HTTPD_GET,
	    api_v1_buildinfo, aq);
	httpd_route(httpd, "/api/v1/query_exemplars", HTTPD_GET | HTTPD_POST,
	    api_v1_query_exemplars, aq);
	return aq;
}

struct engine *
api_query_engine(struct api_query *aq)
{
	return aq->engine;
}

void
api_query_free(struct api_query *aq)
{
	if (aq == NULL)
		return;
	engine_free(aq->engine);
	engine_free(aq->inline_engine);
	free(aq);
}
