/*
 * state: the rule evaluator and the alert state machine (see state.h).
 *
 * Each rule keeps its active alerts in an array sorted by (fingerprint,
 * labels).  An evaluation builds the alerts of this result sorted the same
 * way and walks both in one merge, so 1,000 series cost a sort and a pass,
 * not a lookup each.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alert/state.h"
#include "alert/template.h"
#include "buf.h"
#include "sample.h"
#include "xmalloc.h"

#define RESOLVED_RETENTION_MS	(15 * 60 * 1000LL)
#define RESEND_DELAY_MS		(60 * 1000LL)
#define DEFAULT_INTERVAL_MS	(15 * 1000LL)

/* A series written at an evaluation, for staleness markers. */
struct series_ref {
	uint64_t	 fp;
	struct lset	 labels;	/* with __name__ */
};

struct group_eval {
	int64_t		 last;
	double		 seconds;
};

struct evaluator {
	const struct ruleset	*rs;
	struct evaluator_opts	 o;
	struct rule_eval	**rules;	/* per group, per rule */
	struct group_eval	*groups;
	struct rule_result	 res;		/* evaluator_eval's */
	struct batch		*batch;
};

void
alert_vector_add(struct alert_vector *vec, const struct label *l, size_t n,
    double v)
{
	struct alert_sample	*s;

	if (vec->n == vec->cap) {
		vec->cap = vec->cap ? vec->cap * 2 : 64;
		vec->v = xreallocarray(vec->v, vec->cap, sizeof(*vec->v));
	}
	s = &vec->v[vec->n++];
	memset(s, 0, sizeof(*s));
	lset_from(&s->labels, l, n, NULL);
	s->v = v;
}

void
alert_vector_reset(struct alert_vector *vec)
{
	size_t	i;

	for (i = 0; i < vec->n; i++)
		lset_clear(&vec->v[i].labels);
	vec->n = 0;
}

void
alert_vector_free(struct alert_vector *vec)
{
	alert_vector_reset(vec);
	free(vec->v);
	vec->v = NULL;
	vec->cap = 0;
}

const char *
alert_state_name(enum alert_state s)
{
	switch (s) {
	case ALERT_PENDING:
		return "pending";
	case ALERT_FIRING:
		return "firing";
	default:
		return "inactive";
	}
}

static int64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
alert_free(struct alert *a)
{
	if (a == NULL)
		return;
	lset_clear(&a->labels);
	lset_clear(&a->annotations);
	lset_clear(&a->source);
	free(a);
}

static int
alert_order(const struct alert *a, const struct alert *b)
{
	if (a->fp != b->fp)
		return a->fp < b->fp ? -1 : 1;
	return lset_cmp(&a->labels, &b->labels);
}

static int
alert_qcmp(const void *x, const void *y)
{
	return alert_order(*(struct alert *const *)x,
	    *(struct alert *const *)y);
}

static char *
rule_key(const struct rule_group *g, const struct rule *r)
{
	char	*k;

	xasprintf(&k, "%s\x1f%s\x1f%s", g->file, g->name, r->name);
	return k;
}

struct evaluator *
evaluator_new(const struct ruleset *rs, const struct evaluator_opts *o)
{
	struct evaluator	*ev = xcalloc(1, sizeof(*ev));
	struct rule_eval	*re;
	size_t			 g, r;

	ev->rs = rs;
	ev->o = *o;
	ev->rules = xcalloc(rs->ngroups + 1, sizeof(*ev->rules));
	ev->groups = xcalloc(rs->ngroups + 1, sizeof(*ev->groups));
	for (g = 0; g < rs->ngroups; g++) {
		ev->rules[g] = xcalloc(rs->groups[g].nrules + 1,
		    sizeof(**ev->rules));
		for (r = 0; r < rs->groups[g].nrules; r++) {
			re = &ev->rules[g][r];
			re->rule = &rs->groups[g].rules[r];
			re->group = &rs->groups[g];
			re->key = rule_key(re->group, re->rule);
		}
	}
	ev->batch = batch_new();
	return ev;
}

static void
written_clear(struct rule_eval *re)
{
	size_t	i;

	for (i = 0; i < re->nwritten; i++)
		lset_clear(&re->written[i].labels);
	free(re->written);
	re->written = NULL;
	re->nwritten = 0;
}

static void
rule_eval_clear(struct rule_eval *re)
{
	size_t	i;

	for (i = 0; i < re->nalerts; i++)
		alert_free(re->alerts[i]);
	free(re->alerts);
	re->alerts = NULL;
	re->nalerts = re->cap = 0;
	written_clear(re);
	free(re->key);
}

void
evaluator_free(struct evaluator *ev)
{
	size_t	g, r;

	if (ev == NULL)
		return;
	for (g = 0; g < ev->rs->ngroups; g++) {
		for (r = 0; r < ev->rs->groups[g].nrules; r++)
			rule_eval_clear(&ev->rules[g][r]);
		free(ev->rules[g]);
	}
	free(ev->rules);
	free(ev->groups);
	rule_result_free(&ev->res);
	batch_free(ev->batch);
	free(ev);
}

const struct rule_eval *
evaluator_rule(const struct evaluator *ev, size_t g, size_t r)
{
	if (g >= ev->rs->ngroups || r >= ev->rs->groups[g].nrules)
		return NULL;
	return &ev->rules[g][r];
}

void
evaluator_group_times(const struct evaluator *ev, size_t g, int64_t *last,
    double *seconds)
{
	*last = ev->groups[g].last;
	*seconds = ev->groups[g].seconds;
}

static void
set_err(struct rule_eval *re, const char *prefix, const char *msg)
{
	re->health = RULE_HEALTH_ERR;
	snprintf(re->last_error, sizeof(re->last_error), "%s%.200s", prefix,
	    msg);
	re->failures++;
}

static json_t *
ms_json(int64_t ms)
{
	return json_integer((json_int_t)ms);
}

json_t *
alert_record_json(const struct alert *a)
{
	struct buf	 v = BUF_INIT;
	json_t		*o;

	buf_add_double(&v, a->value);
	o = json_pack("{s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
	    "s:o, s:b}",
	    "labels", lset_json(&a->labels),
	    "annotations", lset_json(&a->annotations),
	    "source", lset_json(&a->source),
	    "state", alert_state_name(a->state),
	    "value", v.data,
	    "activeAt", ms_json(a->active_at),
	    "firedAt", ms_json(a->fired_at),
	    "resolvedAt", ms_json(a->resolved_at),
	    "keepFiringSince", ms_json(a->keep_firing_since),
	    "lastSentAt", ms_json(a->last_sent_at),
	    "validUntil", ms_json(a->valid_until),
	    "held", a->held);
	buf_free(&v);
	return o;
}

static void
persist(struct evaluator *ev, struct rule_eval *re, const struct alert *a,
    int dropped)
{
	json_t	*rec;

	if (ev->o.persist == NULL)
		return;
	rec = dropped ? NULL : alert_record_json(a);
	ev->o.persist(ev->o.persist_arg, re->key, a->fp, rec);
	json_decref(rec);
}

static struct rule_eval *
find_rule(struct evaluator *ev, const char *key)
{
	size_t	g, r;

	for (g = 0; g < ev->rs->ngroups; g++)
		for (r = 0; r < ev->rs->groups[g].nrules; r++)
			if (strcmp(ev->rules[g][r].key, key) == 0)
				return &ev->rules[g][r];
	return NULL;
}

static void
rule_insert(struct rule_eval *re, struct alert *a)
{
	size_t	lo = 0, hi = re->nalerts, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (alert_order(re->alerts[mid], a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < re->nalerts && alert_order(re->alerts[lo], a) == 0) {
		alert_free(re->alerts[lo]);
		re->alerts[lo] = a;
		return;
	}
	if (re->nalerts == re->cap) {
		re->cap = re->cap ? re->cap * 2 : 16;
		re->alerts = xreallocarray(re->alerts, re->cap,
		    sizeof(*re->alerts));
	}
	memmove(re->alerts + lo + 1, re->alerts + lo,
	    (re->nalerts - lo) * sizeof(*re->alerts));
	re->alerts[lo] = a;
	re->nalerts++;
}

static int64_t
rec_ms(const json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int
evaluator_restore(struct evaluator *ev, const char *key, const json_t *rec)
{
	struct rule_eval	*re = find_rule(ev, key);
	struct alert		*a;
	const char		*st, *v;

	if (re == NULL || re->rule->type != RULE_ALERT)
		return -1;
	st = json_string_value(json_object_get(rec, "state"));
	v = json_string_value(json_object_get(rec, "value"));
	if (st == NULL || v == NULL)
		return -1;
	a = xcalloc(1, sizeof(*a));
	if (lset_from_json(&a->labels, json_object_get(rec, "labels")) ||
	    lset_from_json(&a->annotations, json_object_get(rec,
	    "annotations")) || lset_from_json(&a->source,
	    json_object_get(rec, "source"))) {
		alert_free(a);
		return -1;
	}
	if (strcmp(st, "pending") == 0)
		a->state = ALERT_PENDING;
	else if (strcmp(st, "firing") == 0)
		a->state = ALERT_FIRING;
	else if (strcmp(st, "inactive") == 0)
		a->state = ALERT_INACTIVE;
	else {
		alert_free(a);
		return -1;
	}
	a->value = strtod(v, NULL);
	a->fp = lset_fingerprint(&a->labels);
	a->source_fp = lset_fingerprint(&a->source);
	a->active_at = rec_ms(rec, "activeAt");
	a->fired_at = rec_ms(rec, "firedAt");
	a->resolved_at = rec_ms(rec, "resolvedAt");
	a->keep_firing_since = rec_ms(rec, "keepFiringSince");
	a->last_sent_at = rec_ms(rec, "lastSentAt");
	a->valid_until = rec_ms(rec, "validUntil");
	a->held = json_is_true(json_object_get(rec, "held"));
	rule_insert(re, a);
	return 0;
}

void
evaluator_take_state(struct evaluator *nev, struct evaluator *old)
{
	struct rule_eval	*o, *n;
	size_t			 g, r;

	for (g = 0; g < old->rs->ngroups; g++) {
		for (r = 0; r < old->rs->groups[g].nrules; r++) {
			o = &old->rules[g][r];
			if ((n = find_rule(nev, o->key)) == NULL ||
			    strcmp(n->rule->expr, o->rule->expr) != 0 ||
			    n->rule->type != o->rule->type)
				continue;
			n->alerts = o->alerts;
			n->nalerts = o->nalerts;
			n->cap = o->cap;
			n->written = o->written;
			n->nwritten = o->nwritten;
			n->health = o->health;
			n->last_eval = o->last_eval;
			n->eval_seconds = o->eval_seconds;
			memcpy(n->last_error, o->last_error,
			    sizeof(n->last_error));
			o->alerts = NULL;
			o->nalerts = o->cap = 0;
			o->written = NULL;
			o->nwritten = 0;
		}
	}
}

/* Expand every template of SRC into DST with the sample's data. */
static int
expand_all(struct lset *dst, const struct lset *src,
    const struct tmpl_data *d, struct rule_eval *re)
{
	struct buf	b = BUF_INIT;
	char		err[256];
	size_t		i;

	for (i = 0; i < src->n; i++) {
		buf_reset(&b);
		if (strstr(src->v[i].value, "{{") == NULL) {
			lset_set(dst, src->v[i].name, src->v[i].value);
			continue;
		}
		if (tmpl_expand(src->v[i].value, d, &b, err,
		    sizeof(err)) == -1) {
			/* As Prometheus: the error text becomes the value. */
			buf_reset(&b);
			buf_printf(&b, "<error expanding template: %s>", err);
		}
		lset_set(dst, src->v[i].name, b.data);
	}
	buf_free(&b);
	return 0;
}

struct src_val {
	uint64_t		 fp;
	const struct lset	*labels;
	double			 v;
};

static int
src_qcmp(const void *x, const void *y)
{
	const struct src_val	*a = x, *b = y;

	if (a->fp != b->fp)
		return a->fp < b->fp ? -1 : 1;
	return lset_cmp(a->labels, b->labels);
}

static const struct src_val *
src_find(const struct src_val *v, size_t n, const struct alert *a)
{
	struct src_val	key = { a->source_fp, &a->source, 0 };

	return bsearch(&key, v, n, sizeof(*v), src_qcmp);
}

static int
series_qcmp(const void *x, const void *y)
{
	const struct series_ref	*a = x, *b = y;

	if (a->fp != b->fp)
		return a->fp < b->fp ? -1 : 1;
	return lset_cmp(&a->labels, &b->labels);
}

/* A series whose set holds __name__ into the batch. */
static void
batch_add_series(struct batch *b, const struct lset *l, int64_t t, double v)
{
	struct label	 tmp[64], *x = tmp;
	const char	*name = NULL;
	size_t		 i, n = 0;

	if (l->n > 64)
		x = xcalloc(l->n, sizeof(*x));
	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, "__name__") == 0)
			name = l->v[i].value;
		else
			x[n++] = l->v[i];
	}
	if (name != NULL)
		batch_add(b, name, x, n, t, v);
	if (x != tmp)
		free(x);
}

/*
 * Write this evaluation's series (CUR, taken over) and staleness markers
 * for the previous one's that are gone, as one batch.
 */
static void
write_series(struct evaluator *ev, struct rule_eval *re,
    struct series_ref *cur, size_t ncur, const double *vals, int64_t now)
{
	union { uint64_t u; double d; } stale = { STALE_NAN_BITS };
	size_t	i, j, k;
	int	c;

	batch_reset(ev->batch);
	for (i = 0; i < ncur; i++)
		batch_add_series(ev->batch, &cur[i].labels, now, vals[i]);
	/* CUR is sorted the same way as WRITTEN: merge. */
	for (i = 0, j = 0; j < re->nwritten; ) {
		c = i < ncur ? series_qcmp(&cur[i], &re->written[j]) : 1;
		if (c < 0)
			i++;
		else if (c == 0) {
			i++;
			j++;
		} else {
			k = j++;
			batch_add_series(ev->batch, &re->written[k].labels,
			    now, stale.d);
		}
	}
	written_clear(re);
	re->written = cur;
	re->nwritten = ncur;
	if (ev->o.sink != NULL && batch_len(ev->batch) > 0)
		ev->o.sink(ev->o.sink_arg, ev->batch);
}

/* Sort CUR (and VALS alongside) by series order. */
static void
sort_series(struct series_ref *cur, double *vals, size_t n)
{
	struct pair { struct series_ref s; double v; } *p;
	size_t	i, j;

	if (n < 2)
		return;
	p = xcalloc(n, sizeof(*p));
	for (i = 0; i < n; i++) {
		p[i].s = cur[i];
		p[i].v = vals[i];
	}
	qsort(p, n, sizeof(*p), series_qcmp);
	for (j = 0; j < n; j++) {
		cur[j] = p[j].s;
		vals[j] = p[j].v;
	}
	free(p);
}

static int
eval_record(struct evaluator *ev, struct rule_eval *re,
    const struct alert_vector *vec, int64_t now)
{
	const struct rule	*r = re->rule;
	struct series_ref	*cur;
	double			*vals;
	size_t			 i, j;

	cur = xcalloc(vec->n + 1, sizeof(*cur));
	vals = xcalloc(vec->n + 1, sizeof(*vals));
	for (i = 0; i < vec->n; i++) {
		lset_copy(&cur[i].labels, &vec->v[i].labels);
		for (j = 0; j < r->labels.n; j++)
			lset_set(&cur[i].labels, r->labels.v[j].name,
			    r->labels.v[j].value);
		lset_set(&cur[i].labels, "__name__", r->name);
		cur[i].fp = lset_fingerprint(&cur[i].labels);
		vals[i] = vec->v[i].v;
	}
	sort_series(cur, vals, vec->n);
	for (i = 1; i < vec->n; i++) {
		if (series_qcmp(&cur[i - 1], &cur[i]) == 0) {
			for (j = 0; j < vec->n; j++)
				lset_clear(&cur[j].labels);
			free(cur);
			free(vals);
			set_err(re, "", "vector contains metrics with the "
			    "same labelset after applying rule labels");
			return -1;
		}
	}
	if (re->group->limit > 0 && vec->n > (size_t)re->group->limit) {
		for (j = 0; j < vec->n; j++)
			lset_clear(&cur[j].labels);
		free(cur);
		free(vals);
		re->health = RULE_HEALTH_ERR;
		snprintf(re->last_error, sizeof(re->last_error), "exceeded "
		    "limit of %d with %zu series", re->group->limit,
		    vec->n);
		re->failures++;
		return -1;
	}
	write_series(ev, re, cur, vec->n, vals, now);
	free(vals);
	return 0;
}

/* The alerts of this evaluation's result, sorted; NULL on a duplicate. */
static struct alert **
build_alerts(struct evaluator *ev, struct rule_eval *re,
    const struct alert_vector *vec, int64_t now)
{
	const struct rule	*r = re->rule;
	struct alert		**cur, *a;
	struct tmpl_data	 d;
	struct lset		 tl = LSET_INIT;
	size_t			 i, j;

	cur = xcalloc(vec->n + 1, sizeof(*cur));
	for (i = 0; i < vec->n; i++) {
		a = cur[i] = xcalloc(1, sizeof(*a));
		lset_from(&a->source, vec->v[i].labels.v,
		    vec->v[i].labels.n, "__name__");
		a->source_fp = lset_fingerprint(&a->source);
		/* Templates see the series' labels, __name__ included. */
		lset_copy(&tl, &vec->v[i].labels);
		d.labels = &tl;
		d.value = vec->v[i].v;
		d.external_url = ev->o.external_url;
		lset_copy(&a->labels, &a->source);
		expand_all(&a->labels, &r->labels, &d, re);
		lset_set(&a->labels, "alertname", r->name);
		expand_all(&a->annotations, &r->annotations, &d, re);
		a->fp = lset_fingerprint(&a->labels);
		a->value = vec->v[i].v;
		a->active_at = now;
		a->state = ALERT_PENDING;
	}
	lset_clear(&tl);
	qsort(cur, vec->n, sizeof(*cur), alert_qcmp);
	for (i = 1; i < vec->n; i++) {
		if (alert_order(cur[i - 1], cur[i]) == 0) {
			for (j = 0; j < vec->n; j++)
				alert_free(cur[j]);
			free(cur);
			set_err(re, "", "vector contains metrics with the "
			    "same labelset after applying alert labels");
			return NULL;
		}
	}
	return cur;
}

/*
 * The resolve expression's vector when a firing alert has lost its series:
 * RES's, when its queries ran it, or else asked for now (the synchronous
 * evaluator_eval, which runs it only when needed, as Prometheus would).
 */
static int
resolve_values(struct evaluator *ev, struct rule_eval *re,
    struct rule_result *res, struct alert **cur, size_t ncur, int64_t now,
    struct src_val **out, size_t *nout)
{
	struct alert_vector	*rv = &res->rvec;
	size_t			 i, j;
	int			 need = 0;

	*out = NULL;
	*nout = 0;
	if (re->rule->resolve_expr == NULL)
		return 0;
	for (i = 0, j = 0; i < re->nalerts && !need; i++) {
		while (j < ncur && alert_order(cur[j], re->alerts[i]) < 0)
			j++;
		if (re->alerts[i]->state == ALERT_FIRING && (j == ncur ||
		    alert_order(cur[j], re->alerts[i]) != 0))
			need = 1;
	}
	if (!need)
		return 0;
	if (!res->resolved) {
		alert_vector_reset(rv);
		res->rerr[0] = '\0';
		res->rfailed = ev->o.instant(ev->o.instant_arg,
		    re->rule->resolve_expr, now, rv, res->rerr,
		    sizeof(res->rerr)) == -1;
		res->resolved = 1;
	}
	if (res->rfailed) {
		set_err(re, "resolve: ", res->rerr);
		return -1;
	}
	*out = xcalloc(rv->n + 1, sizeof(**out));
	for (i = 0; i < rv->n; i++) {
		/* Compare without __name__, as the alert's source has none. */
		lset_del(&rv->v[i].labels, "__name__");
		(*out)[i].labels = &rv->v[i].labels;
		(*out)[i].fp = lset_fingerprint(&rv->v[i].labels);
		(*out)[i].v = rv->v[i].v;
	}
	qsort(*out, rv->n, sizeof(**out), src_qcmp);
	*nout = rv->n;
	return 0;
}

/*
 * What happens to an active alert that this evaluation did not return:
 * 1 keep it, 0 drop it.  Prometheus's order: a pending alert (or one
 * resolved long ago) is dropped; a firing one is held by resolve, kept
 * firing for keep_firing_for, or resolved.
 */
static int
lost_series(struct evaluator *ev, struct rule_eval *re, struct alert *a,
    const struct src_val *rv, size_t nrv, int64_t now)
{
	const struct src_val	*hit;
	int64_t			 kff = re->rule->keep_firing_for_ms;
	int			 keep_firing = 0;

	if (a->state == ALERT_FIRING && nrv > 0 &&
	    (hit = src_find(rv, nrv, a)) != NULL) {
		if (!a->held)
			persist(ev, re, a, 0);
		a->held = 1;
		a->value = hit->v;
		a->keep_firing_since = 0;
		return 1;
	}
	a->held = 0;
	if (a->state == ALERT_FIRING && kff > 0) {
		if (a->keep_firing_since == 0) {
			a->keep_firing_since = now;
			persist(ev, re, a, 0);
		}
		if (now - a->keep_firing_since < kff)
			keep_firing = 1;
	}
	if (a->state == ALERT_PENDING || (a->resolved_at != 0 &&
	    now - a->resolved_at > RESOLVED_RETENTION_MS)) {
		persist(ev, re, a, 1);
		return 0;
	}
	if (a->state != ALERT_INACTIVE && !keep_firing) {
		a->state = ALERT_INACTIVE;
		a->resolved_at = now;
		persist(ev, re, a, 0);
	}
	return 1;
}

static int
eval_alert(struct evaluator *ev, struct rule_eval *re,
    struct rule_result *res, int64_t now)
{
	struct alert		**cur, **next, *a, *c;
	struct src_val		 *rv = NULL;
	struct alert_send	 *send;
	struct series_ref	 *ser;
	double			 *vals;
	size_t			  ncur = res->vec.n, nrv = 0, i, j, n = 0;
	size_t			  nsend = 0, nser = 0;
	int64_t			  interval, resend;
	int			  cmp, fired;

	if (re->group->limit > 0 && ncur > (size_t)re->group->limit) {
		re->health = RULE_HEALTH_ERR;
		snprintf(re->last_error, sizeof(re->last_error), "exceeded "
		    "limit of %d with %zu alerts", re->group->limit, ncur);
		re->failures++;
		return -1;
	}
	if ((cur = build_alerts(ev, re, &res->vec, now)) == NULL)
		return -1;
	if (resolve_values(ev, re, res, cur, ncur, now, &rv, &nrv) == -1) {
		for (i = 0; i < ncur; i++)
			alert_free(cur[i]);
		free(cur);
		return -1;
	}
	next = xcalloc(re->nalerts + ncur + 1, sizeof(*next));
	for (i = 0, j = 0; i < re->nalerts || j < ncur; ) {
		if (i == re->nalerts)
			cmp = 1;
		else if (j == ncur)
			cmp = -1;
		else
			cmp = alert_order(re->alerts[i], cur[j]);
		if (cmp == 0 && re->alerts[i]->state != ALERT_INACTIVE) {
			a = re->alerts[i++];
			c = cur[j++];
			a->value = c->value;
			lset_clear(&a->annotations);
			a->annotations = c->annotations;
			memset(&c->annotations, 0, sizeof(c->annotations));
			if (a->keep_firing_since != 0 || a->held) {
				a->keep_firing_since = 0;
				a->held = 0;
				persist(ev, re, a, 0);
			}
			alert_free(c);
			next[n++] = a;
		} else if (cmp >= 0) {
			if (cmp == 0)	/* resolved, back: a new alert */
				alert_free(re->alerts[i++]);
			c = cur[j++];
			persist(ev, re, c, 0);
			next[n++] = c;
		} else {
			a = re->alerts[i++];
			if (lost_series(ev, re, a, rv, nrv, now))
				next[n++] = a;
			else
				alert_free(a);
		}
	}
	free(cur);
	free(rv);
	free(re->alerts);
	re->alerts = next;
	re->nalerts = n;
	re->cap = re->nalerts + ncur + 1;

	interval = re->group->interval_ms > 0 ? re->group->interval_ms :
	    DEFAULT_INTERVAL_MS;
	resend = 4 * (interval > RESEND_DELAY_MS ? interval : RESEND_DELAY_MS);
	send = xcalloc(n + 1, sizeof(*send));
	ser = xcalloc(2 * n + 1, sizeof(*ser));
	vals = xcalloc(2 * n + 1, sizeof(*vals));
	for (i = 0; i < n; i++) {
		a = next[i];
		fired = 0;
		if (a->state == ALERT_PENDING &&
		    now - a->active_at >= re->rule->for_ms) {
			a->state = ALERT_FIRING;
			a->fired_at = now;
			fired = 1;
		}
		if (a->state != ALERT_INACTIVE) {
			lset_copy(&ser[nser].labels, &a->labels);
			lset_set(&ser[nser].labels, "__name__", "ALERTS");
			lset_set(&ser[nser].labels, "alertstate",
			    alert_state_name(a->state));
			ser[nser].fp = lset_fingerprint(&ser[nser].labels);
			vals[nser++] = 1;
			lset_copy(&ser[nser].labels, &a->labels);
			lset_set(&ser[nser].labels, "__name__",
			    "ALERTS_FOR_STATE");
			ser[nser].fp = lset_fingerprint(&ser[nser].labels);
			vals[nser++] = (double)(a->active_at / 1000);
		}
		if (a->state == ALERT_PENDING)
			continue;
		if (!(a->resolved_at > a->last_sent_at ||
		    a->last_sent_at + RESEND_DELAY_MS <= now)) {
			if (fired)
				persist(ev, re, a, 0);
			continue;
		}
		a->last_sent_at = now;
		a->valid_until = now + resend;
		send[nsend].alert = a;
		send[nsend].starts_at = a->fired_at;
		send[nsend].ends_at = a->state == ALERT_INACTIVE ?
		    a->resolved_at : a->valid_until;
		nsend++;
		/* The first send of a state is persisted with it, so that a
		   restart does not send it again; resends are not. */
		if (fired || a->resolved_at == now)
			persist(ev, re, a, 0);
	}
	sort_series(ser, vals, nser);
	write_series(ev, re, ser, nser, vals, now);
	free(vals);
	if (nsend > 0 && ev->o.send != NULL)
		ev->o.send(ev->o.send_arg, re->rule, send, nsend, now);
	free(send);
	return 0;
}

void
rule_result_free(struct rule_result *res)
{
	alert_vector_free(&res->vec);
	alert_vector_free(&res->rvec);
}

void
rule_query(alert_instant_fn instant, void *arg, const char *expr,
    const char *resolve_expr, int64_t now, struct rule_result *res)
{
	int64_t	t0 = mono_ns();

	alert_vector_reset(&res->vec);
	res->err[0] = '\0';
	res->failed = instant(arg, expr, now, &res->vec, res->err,
	    sizeof(res->err)) == -1;
	res->resolved = 0;
	if (resolve_expr != NULL && !res->failed) {
		alert_vector_reset(&res->rvec);
		res->rerr[0] = '\0';
		res->rfailed = instant(arg, resolve_expr, now, &res->rvec,
		    res->rerr, sizeof(res->rerr)) == -1;
		res->resolved = 1;
	}
	res->seconds = (double)(mono_ns() - t0) / 1e9;
}

int
evaluator_wants_resolve(const struct evaluator *ev, size_t g, size_t r)
{
	const struct rule_eval	*re;
	size_t			 i;

	if ((re = evaluator_rule(ev, g, r)) == NULL ||
	    re->rule->resolve_expr == NULL)
		return 0;
	for (i = 0; i < re->nalerts; i++)
		if (re->alerts[i]->state == ALERT_FIRING)
			return 1;
	return 0;
}

int
evaluator_apply(struct evaluator *ev, size_t g, size_t r, int64_t now,
    struct rule_result *res)
{
	struct rule_eval	*re;
	int64_t			 t0 = mono_ns();
	int			 rc;

	if (g >= ev->rs->ngroups || r >= ev->rs->groups[g].nrules)
		return -1;
	re = &ev->rules[g][r];
	re->evaluations++;
	re->last_eval = now;
	if (res->failed) {
		set_err(re, "", res->err);
		rc = -1;
	} else if (re->rule->type == RULE_RECORD)
		rc = eval_record(ev, re, &res->vec, now);
	else
		rc = eval_alert(ev, re, res, now);
	if (rc == 0) {
		re->health = RULE_HEALTH_OK;
		re->last_error[0] = '\0';
	}
	re->eval_seconds = res->seconds + (double)(mono_ns() - t0) / 1e9;
	return rc;
}

int
evaluator_eval(struct evaluator *ev, size_t g, size_t r, int64_t now)
{
	const struct rule_eval	*re;
	struct rule_result	*res = &ev->res;

	if ((re = evaluator_rule(ev, g, r)) == NULL)
		return -1;
	/* The resolve expression only if this result needs it. */
	rule_query(ev->o.instant, ev->o.instant_arg, re->rule->expr, NULL,
	    now, res);
	return evaluator_apply(ev, g, r, now, res);
}

void
evaluator_set_group_times(struct evaluator *ev, size_t g, int64_t last,
    double seconds)
{
	if (g >= ev->rs->ngroups)
		return;
	ev->groups[g].last = last;
	ev->groups[g].seconds = seconds;
}
